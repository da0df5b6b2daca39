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

