/* json.c - streaming JSON writer; see json.h. */
#include "json.h"

#include "utf8.h"

#include <inttypes.h>
#include <string.h>

/* The report of a big capture is tens of MB written a few bytes at a time:
 * unlocked stdio (the writer is single-threaded) and no printf for
 * numbers keep it a small share of the run. */
static void out_c(FILE *out, char c) { putc_unlocked(c, out); }
static void out_n(FILE *out, const void *p, size_t n) { fwrite_unlocked(p, 1, n, out); }
static void out_s(FILE *out, const char *s) { out_n(out, s, strlen(s)); }

static void out_u64(FILE *out, uint64_t v)
{
    char buf[24];
    size_t i = sizeof buf;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    out_n(out, buf + i, sizeof buf - i);
}

void json_init(struct json *j, FILE *out, bool pretty)
{
    j->out = out;
    j->depth = 0;
    j->first[0] = true;
    j->pretty = pretty;
    j->after_key = false;
}

static void newline(struct json *j)
{
    if (!j->pretty)
        return;
    static const char indent[] = "\n                                                                ";
    size_t n = 1 + 2 * (size_t)j->depth;
    if (n > sizeof indent - 1)
        n = sizeof indent - 1;
    out_n(j->out, indent, n);
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
            out_c(j->out, ',');
        j->first[j->depth] = false;
        newline(j);
    }
}

static void open_container(struct json *j, char c)
{
    before_value(j);
    out_c(j->out, c);
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
    out_c(j->out, c);
}

void json_begin_object(struct json *j) { open_container(j, '{'); }
void json_end_object(struct json *j) { close_container(j, '}'); }
void json_begin_array(struct json *j) { open_container(j, '['); }
void json_end_array(struct json *j) { close_container(j, ']'); }

/* Printable ASCII other than '"' and '\\' goes out as is. */
static bool plain_ascii(uint8_t c) { return c >= 0x20 && c < 0x7F && c != '"' && c != '\\'; }

static void write_string(FILE *out, const uint8_t *s, size_t n)
{
    out_c(out, '"');
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (plain_ascii(c)) {
            /* one fwrite per run, not per character: reports of big
             * captures are tens of MB of mostly plain strings */
            size_t k = 1;
            while (i + k < n && plain_ascii(s[i + k]))
                k++;
            out_n(out, s + i, k);
            i += k;
        } else if (c == '"' || c == '\\') {
            out_c(out, '\\');
            out_c(out, (char)c);
            i++;
        } else if (c < 0x20 || c == 0x7F) {
            static const char short_esc[] = { ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't' };
            if (c < sizeof short_esc && short_esc[c])
                fprintf(out, "\\%c", short_esc[c]);
            else
                fprintf(out, "\\u%04x", c);
            i++;
        } else {
            uint32_t cp;
            size_t k = utf8_seq(s + i, n - i, &cp);
            if (k == 0) {
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

void json_key(struct json *j, const char *key)
{
    before_value(j);
    write_string(j->out, (const uint8_t *)key, strlen(key));
    out_s(j->out, j->pretty ? ": " : ":");
    j->after_key = true;
}

void json_str_bytes(struct json *j, const uint8_t *s, size_t n)
{
    before_value(j);
    write_string(j->out, s, n);
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
        out_c(j->out, '-');
        out_u64(j->out, (uint64_t)0 - (uint64_t)v);
    } else {
        out_u64(j->out, (uint64_t)v);
    }
}

void json_uint(struct json *j, uint64_t v)
{
    before_value(j);
    out_u64(j->out, v);
}

void json_bool(struct json *j, bool v)
{
    before_value(j);
    out_s(j->out, v ? "true" : "false");
}

void json_null(struct json *j)
{
    before_value(j);
    out_s(j->out, "null");
}

void json_kstr(struct json *j, const char *key, const char *s) { json_key(j, key); json_str(j, s); }
void json_kuint(struct json *j, const char *key, uint64_t v) { json_key(j, key); json_uint(j, v); }
void json_kint(struct json *j, const char *key, int64_t v) { json_key(j, key); json_int(j, v); }
void json_kbool(struct json *j, const char *key, bool v) { json_key(j, key); json_bool(j, v); }
