/* utf8.h - strict UTF-8 sequence check (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), shared by the JSON and text writers. */
#ifndef SMBSCOPE_UTF8_H
#define SMBSCOPE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length of the valid sequence at s (1..4) and its code point, or 0. */
static inline size_t utf8_seq(const uint8_t *s, size_t n, uint32_t *cp_out)
{
    if (n == 0)
        return 0;
    uint8_t c = s[0];
    size_t need;
    uint32_t min, cp;
    if (c < 0x80) {
        *cp_out = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2; min = 0x80; cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3; min = 0x800; cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4; min = 0x10000; cp = c & 0x07u;
    } else {
        return 0;
    }
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    *cp_out = cp;
    return need;
}

#endif
