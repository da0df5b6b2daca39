/* json.c - streaming JSON writer; see json.h. */
#include "json.h"

#include "utf8.h"

#include <inttypes.h>
#include <string.h>

/* The report of a big capture is tens of MB written a few bytes at a time:
 * the writer keeps its own buffer (a stdio call per token cost more than
 * the rest of the report) and formats numbers itself. */
void json_flush(struct json *j)
{
    if (j->used)
        fwrite(j->buf, 1, j->used, j->out);
    j->flushed += j->used;
    j->used = 0;
}

uint64_t json_bytes(const struct json *j) { return j->flushed + j->used; }

/* n <= 32 bytes from s to d without a call: two overlapping fixed-size
 * copies (the compiler makes them moves), never reading past s[n - 1].
 * Nearly every token of a report is this short, and a memcpy call of a
 * run-time length cost more than the rest of writing it. */
static inline void copy_short(char *d, const char *s, size_t n)
{
    if (n >= 16) {
        memcpy(d, s, 16);
        memcpy(d + n - 16, s + n - 16, 16);
    } else if (n >= 8) {
        memcpy(d, s, 8);
        memcpy(d + n - 8, s + n - 8, 8);
    } else if (n >= 4) {
        memcpy(d, s, 4);
        memcpy(d + n - 4, s + n - 4, 4);
    } else if (n) {
        d[0] = s[0];
        d[n / 2] = s[n / 2];
        d[n - 1] = s[n - 1];
    }
}

static void out_n(struct json *j, const void *p, size_t n)
{
    if (n <= 32 && n <= sizeof j->buf - j->used) {
        copy_short(j->buf + j->used, p, n);
        j->used += n;
        return;
    }
    if (n > sizeof j->buf - j->used) {
        json_flush(j);
        if (n > sizeof j->buf) {
            fwrite(p, 1, n, j->out);
            j->flushed += n;
            return;
        }
    }
    memcpy(j->buf + j->used, p, n);
    j->used += n;
}

static void out_c(struct json *j, char c)
{
    if (j->used == sizeof j->buf)
        json_flush(j);
    j->buf[j->used++] = c;
}

static void out_s(struct json *j, const char *s) { out_n(j, s, strlen(s)); }

static void out_u64(struct json *j, uint64_t v)
{
    char buf[24];
    size_t i = sizeof buf;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    out_n(j, buf + i, sizeof buf - i); /* at most 20 bytes: copy_short */
}

/* A top-level value is complete: hand it to the stream. */
static void value_done(struct json *j)
{
    if (j->depth == 0)
        json_flush(j);
}

void json_init(struct json *j, FILE *out, bool pretty)
{
    j->out = out;
    j->used = 0;
    j->flushed = 0;
    j->depth = 0;
    j->first[0] = true;
    j->pretty = pretty;
    j->after_key = false;
    j->canonical = false;
}

void json_set_canonical(struct json *j, bool on) { j->canonical = on; }

static const char indent[] = "\n                                                                ";

static size_t indent_len(const struct json *j)
{
    size_t n = 1 + 2 * (size_t)j->depth;
    return n > sizeof indent - 1 ? sizeof indent - 1 : n;
}

static void newline(struct json *j)
{
    if (!j->pretty)
        return;
    out_n(j, indent, indent_len(j));
}

/* Separator before a value; a value right after its key needs none. */
static void before_value(struct json *j)
{
    if (j->after_key) {
        j->after_key = false;
        return;
    }
    if (j->depth > 0) {
        if (!j->first[j->depth])
            out_c(j, ',');
        j->first[j->depth] = false;
        newline(j);
    }
}

static void open_container(struct json *j, char c)
{
    before_value(j);
    out_c(j, c);
    if (j->depth < JSON_MAX_DEPTH - 1)
        j->depth++;
    j->first[j->depth] = true;
}

static void close_container(struct json *j, char c)
{
    bool empty = j->first[j->depth];
    if (j->depth > 0)
        j->depth--;
    if (!empty)
        newline(j);
    out_c(j, c);
    value_done(j);
}

void json_begin_object(struct json *j) { open_container(j, '{'); }
void json_end_object(struct json *j) { close_container(j, '}'); }
void json_begin_array(struct json *j) { open_container(j, '['); }
void json_end_array(struct json *j) { close_container(j, ']'); }

/* Printable ASCII other than '"' and '\\' goes out as is (a table: this
 * test runs for every byte of a report of tens of MB). */
#define P8 1, 1, 1, 1, 1, 1, 1, 1
static const uint8_t plain_table[256] = {
    [0x20] = 1, 1, 0 /* '"' */, 1, 1, 1, 1, 1, P8, P8, P8, P8, P8, P8, 1, 1, 1, 1, /* 0x20..0x5B */
    [0x5C] = 0 /* '\\' */, 1, 1, 1, P8, P8, P8, 1, 1, 1, 1, 1, 1, 1, 0 /* 0x7F */,
};
#undef P8
static bool plain_ascii(uint8_t c) { return plain_table[c] != 0; }

#define BYTES8(b) (0x0101010101010101ull * (uint64_t)(b))

/* Length of the run of plain characters at s[0..n): eight bytes a step
 * while none of them can need escaping (a byte below 0x20, 0x7F or above,
 * '"' or '\\': the "has less than" and "has zero" tricks, which have no
 * false negatives), then byte by byte to the exact end of the run. */
static bool word_plain(uint64_t x)
{
    uint64_t q = x ^ BYTES8('"'), b = x ^ BYTES8('\\'), d = x ^ BYTES8(0x7F);
    uint64_t special = ((x - BYTES8(0x20)) & ~x) | ((q - BYTES8(1)) & ~q) | ((b - BYTES8(1)) & ~b) |
                       ((d - BYTES8(1)) & ~d) | x;
    return (special & BYTES8(0x80)) == 0;
}

static size_t plain_run(const uint8_t *s, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        if (!word_plain(x))
            break;
    }
    while (i < n && plain_ascii(s[i]))
        i++;
    return i;
}

/* Whether all of a short string (a key) is plain, with no byte loop for
 * four bytes or more: the last word overlaps the one before it, and four
 * to seven bytes are two overlapping halves of one word (a report writes
 * about two keys per value; plain_run's byte-wise tail was half of a key's
 * cost).  A word the test takes for special only sends the key to the
 * escaping writer, which writes the same bytes. */
static bool all_plain(const uint8_t *s, size_t n)
{
    uint64_t x;
    if (n >= 8) {
        for (size_t i = 0; i + 8 < n; i += 8) {
            memcpy(&x, s + i, 8);
            if (!word_plain(x))
                return false;
        }
        memcpy(&x, s + n - 8, 8);
        return word_plain(x);
    }
    if (n >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, s, 4);
        memcpy(&hi, s + n - 4, 4);
        return word_plain((uint64_t)hi << 32 | lo);
    }
    for (size_t i = 0; i < n; i++)
        if (!plain_ascii(s[i]))
            return false;
    return true;
}

static void write_string(struct json *out, const uint8_t *s, size_t n)
{
    out_c(out, '"');
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (plain_ascii(c)) {
            /* one copy per run, not per character: reports of big
             * captures are tens of MB of mostly plain strings */
            size_t k = plain_run(s + i, n - i);
            out_n(out, s + i, k);
            i += k;
        } else if (c == '"' || c == '\\') {
            out_c(out, '\\');
            out_c(out, (char)c);
            i++;
        } else if (c == 0 && out->canonical) {
            break; /* json-glib's string ends here: so does the canonical one */
        } else if (c < 0x20 || c == 0x7F) {
            static const char short_esc[] = { ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't' };
            static const char hex[] = "0123456789abcdef";
            if (c < sizeof short_esc && short_esc[c]) {
                char e[2] = { '\\', short_esc[c] };
                out_n(out, e, 2);
            } else {
                char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
                out_n(out, e, 6);
            }
            i++;
        } else {
            uint32_t cp;
            size_t k = utf8_seq(s + i, n - i, &cp);
            if (k == 0) {
                if (out->canonical)
                    out_n(out, "\xEF\xBF\xBD", 3); /* U+FFFD, as the escape reads back */
                else
                    out_s(out, "\\ufffd");
                i++;
            } else {
                out_n(out, s + i, k);
                i += k;
            }
        }
    }
    out_c(out, '"');
}

void json_key_n(struct json *j, const char *key, size_t n, bool plain)
{
    if (!j->after_key && j->depth > 0 && n <= 64 && (plain || all_plain((const uint8_t *)key, n))) {
        /* a member's separator, indentation and short plain key written
         * straight into the buffer after one room check (a report writes
         * about two keys per value); the whole indentation string is
         * copied (a fixed size) and only its needed part kept */
        size_t ind = j->pretty ? indent_len(j) : 0;
        if (1 + sizeof indent + n + 4 > sizeof j->buf - j->used)
            json_flush(j);
        char *p = j->buf + j->used;
        if (!j->first[j->depth])
            *p++ = ',';
        j->first[j->depth] = false;
        memcpy(p, indent, sizeof indent);
        p += ind;
        *p++ = '"';
        if (n <= 32)
            copy_short(p, key, n);
        else
            memcpy(p, key, n);
        p += n;
        *p++ = '"';
        *p++ = ':';
        if (j->pretty)
            *p++ = ' ';
        j->used = (size_t)(p - j->buf);
        j->after_key = true;
        return;
    }
    before_value(j);
    const size_t sep = j->pretty ? 2 : 1;
    /* the usual key (short, plain): quotes, key and separator in one go;
     * a report writes about two keys per value */
    if (n + 2 + sep <= sizeof j->buf && (plain || all_plain((const uint8_t *)key, n))) {
        if (n + 2 + sep > sizeof j->buf - j->used)
            json_flush(j);
        char *p = j->buf + j->used;
        *p++ = '"';
        memcpy(p, key, n);
        p += n;
        *p++ = '"';
        *p++ = ':';
        if (sep == 2)
            *p++ = ' ';
        j->used = (size_t)(p - j->buf);
    } else {
        write_string(j, (const uint8_t *)key, n);
        out_s(j, j->pretty ? ": " : ":");
    }
    j->after_key = true;
}

void json_str_bytes(struct json *j, const uint8_t *s, size_t n)
{
    before_value(j);
    write_string(j, s, n);
    value_done(j);
}

void json_str_open(struct json *j)
{
    before_value(j);
    out_c(j, '"');
}

void json_str_plain(struct json *j, const char *s, size_t n) { out_n(j, s, n); }

void json_str_close(struct json *j)
{
    out_c(j, '"');
    value_done(j);
}

void json_str(struct json *j, const char *s)
{
    if (!s) {
        json_null(j);
        return;
    }
    json_str_bytes(j, (const uint8_t *)s, strlen(s));
}

void json_int(struct json *j, int64_t v)
{
    before_value(j);
    if (v < 0) {
        out_c(j, '-');
        out_u64(j, (uint64_t)0 - (uint64_t)v);
    } else {
        out_u64(j, (uint64_t)v);
    }
    value_done(j);
}

void json_uint(struct json *j, uint64_t v)
{
    if (j->canonical && v > INT64_MAX) { /* json-glib keeps the low 64 bits as a gint64 */
        json_int(j, (int64_t)v);
        return;
    }
    before_value(j);
    out_u64(j, v);
    value_done(j);
}

void json_bool(struct json *j, bool v)
{
    before_value(j);
    out_n(j, v ? "true" : "false", v ? 4 : 5); /* no strlen of a choice of literals */
    value_done(j);
}

void json_null(struct json *j)
{
    before_value(j);
    out_s(j, "null");
    value_done(j);
}


void json_raw(struct json *j, const char *text, size_t n)
{
    before_value(j);
    out_n(j, text, n);
    value_done(j);
}
