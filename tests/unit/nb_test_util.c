/* nb_test_util.c - see nb_test_util.h. */
#include "nb_test_util.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

void parse_tshark_name(const char *s, uint8_t name[15], uint8_t *suffix, size_t *len)
{
    uint8_t bytes[64];
    size_t n = 0;
    while (*s && *s != ' ' && n < sizeof bytes) {
        unsigned v;
        if (s[0] == '<' && strlen(s) >= 4 && s[3] == '>' && sscanf(s + 1, "%2x", &v) == 1) {
            bytes[n++] = (uint8_t)v;
            s += 4;
        } else {
            bytes[n++] = (uint8_t)*s++;
        }
    }
    if (n == 0 || n > sizeof bytes)
        g_error("cannot parse tshark name %s", s);
    n--;
    *suffix = bytes[n];
    memset(name, ' ', 15);
    if (n && bytes[0] == '*')
        memset(name, 0, 15);
    memcpy(name, bytes, MIN(n, 15));
    *len = n;
}


void assert_nbname(const struct nbname *got, const char *tshark)
{
    uint8_t name[15], suffix;
    size_t len;
    parse_tshark_name(tshark, name, &suffix, &len);
    char text[NBNAME_RENDER_MAX];
    nbname_render(got, text, sizeof text);
    if (memcmp(got->name, name, 15) != 0 || got->suffix != suffix)
        g_error("decoded %s, tshark says %s", text, tshark);
}

static char *vector_path(const char *name)
{
    const char *d = g_getenv("SMBSCOPE_VECTORS");
    return g_build_filename(d ? d : "tests/unit/vectors", name, NULL);
}

char *vector_text(const char *name)
{
    char *path = vector_path(name), *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        g_error("cannot read %s", path);
    g_free(path);
    return text;
}

GBytes *vector_bytes(const char *name)
{
    char *path = vector_path(name), *data = NULL;
    gsize n = 0;
    if (!g_file_get_contents(path, &data, &n, NULL))
        g_error("cannot read %s", path);
    g_free(path);
    return g_bytes_new_take(data, n);
}

GPtrArray *vector_rows(const char *name)
{
    GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
    char *text = vector_text(name);
    char **lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++)
        if (l != lines && **l)
            g_ptr_array_add(rows, g_strsplit(*l, "\t", -1));
    g_strfreev(lines);
    g_free(text);
    return rows;
}
