/* json.c - streaming JSON writer; see json.h. */
#include "json.h"

#include "utf8.h"

#include <inttypes.h>
#include <string.h>

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
    fputc('\n', j->out);
    for (int i = 0; i < j->depth; i++)
        fputs("  ", j->out);
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
            fputc(',', j->out);
        j->first[j->depth] = false;
        newline(j);
    }
}

static void open_container(struct json *j, char c)
{
    before_value(j);
    fputc(c, j->out);
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
    fputc(c, j->out);
}

void json_begin_object(struct json *j) { open_container(j, '{'); }
void json_end_object(struct json *j) { close_container(j, '}'); }
void json_begin_array(struct json *j) { open_container(j, '['); }
void json_end_array(struct json *j) { close_container(j, ']'); }

/* Printable ASCII other than '"' and '\\' goes out as is. */
static bool plain_ascii(uint8_t c) { return c >= 0x20 && c < 0x7F && c != '"' && c != '\\'; }

static void write_string(FILE *out, const uint8_t *s, size_t n)
{
    fputc('"', out);
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (plain_ascii(c)) {
            /* one fwrite per run, not per character: reports of big
             * captures are tens of MB of mostly plain strings */
            size_t k = 1;
            while (i + k < n && plain_ascii(s[i + k]))
                k++;
            fwrite(s + i, 1, k, out);
            i += k;
        } else if (c == '"' || c == '\\') {
            fputc('\\', out);
            fputc(c, out);
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
                fputs("\\ufffd", out);
                i++;
            } else {
                fwrite(s + i, 1, k, out);
                i += k;
            }
        }
    }
    fputc('"', out);
}

void json_key(struct json *j, const char *key)
{
    before_value(j);
    write_string(j->out, (const uint8_t *)key, strlen(key));
    fputs(j->pretty ? ": " : ":", j->out);
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
    fprintf(j->out, "%" PRId64, v);
}

void json_uint(struct json *j, uint64_t v)
{
    before_value(j);
    fprintf(j->out, "%" PRIu64, v);
}

void json_bool(struct json *j, bool v)
{
    before_value(j);
    fputs(v ? "true" : "false", j->out);
}

void json_null(struct json *j)
{
    before_value(j);
    fputs("null", j->out);
}

void json_kstr(struct json *j, const char *key, const char *s) { json_key(j, key); json_str(j, s); }
void json_kuint(struct json *j, const char *key, uint64_t v) { json_key(j, key); json_uint(j, v); }
void json_kint(struct json *j, const char *key, int64_t v) { json_key(j, key); json_int(j, v); }
void json_kbool(struct json *j, const char *key, bool v) { json_key(j, key); json_bool(j, v); }
