/* quic_test_util.c - load "name hex" vectors; see quic_test_util.h. */
#include "quic_test_util.h"

#include <string.h>

GBytes *quic_vector(const char *file, const char *name)
{
    char *path = g_build_filename(QUIC_VECTOR_DIR, file, NULL);
    char *text = NULL;
    GError *err = NULL;
    if (!g_file_get_contents(path, &text, NULL, &err))
        g_error("%s: %s", path, err->message);
    GBytes *out = NULL;
    char **lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l && !out; l++) {
        char **f = g_strsplit(*l, " ", 2);
        if (f[0] && f[1] && f[0][0] != '#' && strcmp(f[0], name) == 0) {
            const char *hex = g_strstrip(f[1]);
            size_t n = strlen(hex) / 2;
            uint8_t *buf = g_malloc(n ? n : 1);
            for (size_t i = 0; i < n; i++) {
                char b[3] = { hex[2 * i], hex[2 * i + 1], 0 };
                buf[i] = (uint8_t)strtoul(b, NULL, 16);
            }
            out = g_bytes_new_take(buf, n);
        }
        g_strfreev(f);
    }
    g_strfreev(lines);
    g_free(text);
    g_free(path);
    if (!out)
        g_error("vector %s missing from %s", name, file);
    return out;
}
