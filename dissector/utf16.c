/* utf16.c - UTF-16LE / OEM to bounded UTF-8. */
#include "utf16.h"

#include "wire.h"

/* Append one code point if it fits whole; false when it does not. */
static bool put_cp(uint32_t cp, char *dst, size_t cap, size_t *n)
{
    uint8_t b[4];
    size_t k;
    if (cp < 0x80) {
        b[0] = (uint8_t)cp;
        k = 1;
    } else if (cp < 0x800) {
        b[0] = (uint8_t)(0xC0 | (cp >> 6));
        b[1] = (uint8_t)(0x80 | (cp & 0x3F));
        k = 2;
    } else if (cp < 0x10000) {
        b[0] = (uint8_t)(0xE0 | (cp >> 12));
        b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (uint8_t)(0x80 | (cp & 0x3F));
        k = 3;
    } else {
        b[0] = (uint8_t)(0xF0 | (cp >> 18));
        b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (uint8_t)(0x80 | (cp & 0x3F));
        k = 4;
    }
    if (k > cap - *n)
        return false;
    for (size_t i = 0; i < k; i++)
        dst[(*n)++] = (char)b[i];
    return true;
}

/* The next code point of w into *cp; false at the end of w or, with
 * stop_at_nul, at a NUL. */
static bool next_utf16le(struct wire *w, bool stop_at_nul, uint32_t *cp)
{
    if (!wire_left(w))
        return false;
    if (wire_left(w) < 2) {
        wire_skip(w, 1);
        *cp = 0xFFFD; /* odd trailing byte */
        return true;
    }
    uint16_t u = wire_u16le(w);
    if (u == 0 && stop_at_nul)
        return false;
    if (u >= 0xD800 && u <= 0xDBFF) {
        uint16_t v = wire_peek_u16le(w, 0); /* 0 when absent */
        if (v >= 0xDC00 && v <= 0xDFFF) {
            wire_skip(w, 2);
            *cp = 0x10000 + (((uint32_t)u - 0xD800) << 10) + ((uint32_t)v - 0xDC00);
        } else {
            *cp = 0xFFFD;
        }
    } else {
        *cp = (u >= 0xDC00 && u <= 0xDFFF) ? 0xFFFD : u;
    }
    return true;
}

static bool next_oem(struct wire *w, bool stop_at_nul, uint32_t *cp)
{
    if (!wire_left(w))
        return false;
    uint8_t c = wire_u8(w);
    *cp = c < 0x80 ? c : 0xFFFD;
    return !(c == 0 && stop_at_nul);
}

static size_t to_utf8(const uint8_t *src, size_t src_len, bool stop_at_nul, char *dst, size_t dst_size,
                      bool *truncated, bool (*next)(struct wire *, bool, uint32_t *))
{
    size_t n = 0;
    bool cut = false;
    if (truncated)
        *truncated = false;
    if (!dst || dst_size == 0)
        return 0;
    size_t cap = dst_size - 1; /* room for the NUL */
    struct wire w = wire_make(src, src_len);
    uint32_t cp;
    while (next(&w, stop_at_nul, &cp)) {
        if (!put_cp(cp, dst, cap, &n)) {
            cut = true;
            break;
        }
    }
    dst[n] = '\0';
    if (truncated)
        *truncated = cut;
    return n;
}

size_t utf16le_to_utf8(const uint8_t *src, size_t src_len, bool stop_at_nul,
                       char *dst, size_t dst_size, bool *truncated)
{
    /* ASCII first, a code unit per step (names and paths mostly are): what
     * next_utf16le() and put_cp() make of a unit below 0x80, one byte while
     * there is room; the rest, from the first other unit, the general way.
     * A NUL stops here only with stop_at_nul, as it does there. */
    if (!dst || dst_size == 0 || src_len < 2) /* src may be NULL when empty */
        return to_utf8(src, src_len, stop_at_nul, dst, dst_size, truncated, next_utf16le);
    struct wire w = wire_make(src, src_len);
    size_t units = wire_left(&w) / 2, cap = dst_size - 1, n = 0;
    const uint8_t *p = wire_bytes(&w, units * 2);
    for (; p && n < units && n < cap; n++) {
        uint16_t u = load_u16le(p + 2 * n);
        if (u >= 0x80 || (u == 0 && stop_at_nul))
            break;
        dst[n] = (char)u;
    }
    if (n == 0)
        return to_utf8(src, src_len, stop_at_nul, dst, dst_size, truncated, next_utf16le);
    return n + to_utf8(p + 2 * n, src_len - 2 * n, stop_at_nul, dst + n, dst_size - n, truncated, next_utf16le);
}

size_t oem_to_utf8(const uint8_t *src, size_t src_len, bool stop_at_nul,
                   char *dst, size_t dst_size, bool *truncated)
{
    return to_utf8(src, src_len, stop_at_nul, dst, dst_size, truncated, next_oem);
}
