/* json.h - a small streaming JSON writer.
 *
 * Strings from the wire are arbitrary bytes: json_str_bytes() emits valid
 * UTF-8 JSON whatever they hold (control bytes as \u00XX, invalid UTF-8 bytes
 * as U+FFFD), so the document stays valid for any input. */
#ifndef SMBSCOPE_JSON_H
#define SMBSCOPE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

#define JSON_BUF 16384

struct json {
    FILE *out;
    size_t used;                /* bytes of buf not yet written to out */
    uint64_t flushed;           /* bytes written to out (json_bytes()) */
    char buf[JSON_BUF];         /* flushed when full and after each top-level value */
    int depth;
    bool first[JSON_MAX_DEPTH]; /* no member written yet at this depth */
    bool pretty;
    bool after_key; /* a key was written; the next value follows it */
    bool canonical; /* json_set_canonical() */
};

void json_init(struct json *j, FILE *out, bool pretty);
/* Canonical mode (the merge state's digest text, mstate_canon.c): every
 * value as json-glib parses the normal text back and json.c writes it again,
 * so the writer needs no parse to hash what the reader will hash.  It
 * differs from the normal text only where that round trip is not the
 * identity: an invalid UTF-8 byte is U+FFFD itself (not the escape), a
 * string ends at its first NUL (json-glib's string getter stops there), and
 * an unsigned value past INT64_MAX is the int64 json-glib reads it as. */
void json_set_canonical(struct json *j, bool on);
/* Bytes of JSON written so far (flushed or buffered): what a report's
 * member costs, for members listed up to a size budget (hosts[]). */
uint64_t json_bytes(const struct json *j);
/* Write what is buffered to out (done by itself after each top-level value). */
void json_flush(struct json *j);
void json_begin_object(struct json *j);
void json_end_object(struct json *j);
void json_begin_array(struct json *j);
void json_end_array(struct json *j);
/* Member key inside an object; the next value call writes its value. */
void json_key(struct json *j, const char *key);

void json_str(struct json *j, const char *s);                   /* NUL-terminated, may be NULL -> null */
void json_str_bytes(struct json *j, const uint8_t *s, size_t n); /* arbitrary bytes */
void json_int(struct json *j, int64_t v);
void json_uint(struct json *j, uint64_t v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);
/* A value already in JSON (the caller vouches for it). */
void json_raw(struct json *j, const char *text, size_t n);
/* Shorthands: key + value. */
void json_kstr(struct json *j, const char *key, const char *s);
void json_kuint(struct json *j, const char *key, uint64_t v);
void json_kint(struct json *j, const char *key, int64_t v);
void json_kbool(struct json *j, const char *key, bool v);

#endif
