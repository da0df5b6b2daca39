/* test_env.c - see test_env.h. */
#include "test_env.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

static void absent(const char *what)
{
    if (g_strcmp0(g_getenv("CI"), "true") == 0) {
        printf("FAIL: %s (CI=true: the test cannot be skipped)\n", what);
        exit(1);
    }
    printf("SKIP: %s\n", what);
    exit(77);
}

char *test_env_corpus(void)
{
    const char *dir = g_getenv("SMBSCOPE_CORPUS");
    if (!dir || !*dir) {
        absent("SMBSCOPE_CORPUS is not set");
        return NULL;
    }
    if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
        char *why = g_strdup_printf("corpus %s absent", dir);
        absent(why);
        g_free(why);
        return NULL;
    }
    return g_strdup(dir);
}

char *test_env_tshark(void)
{
    char *real = g_find_program_in_path("tshark");
    if (!real)
        absent("tshark not installed");
    /* TSHARK: tests/e2e/tshark_cache.py (tests/meson.build), which runs
     * tshark once per capture and arguments for all the tests of a run */
    const char *env = g_getenv("TSHARK");
    char *path = env && *env ? g_find_program_in_path(env) : NULL;
    if (!path)
        return real;
    g_free(real);
    return path;
}
