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
#include <string.h>

#define JSON_MAX_DEPTH 32

#define JSON_BUF 65536 /* a write(2) per 64 KiB of a report of megabytes */

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
/* Member key inside an object; the next value call writes its value.
 * plain: the caller knows the key needs no escaping (json_key() passes it
 * for a literal it has checked at compile time). */
void json_key_n(struct json *j, const char *key, size_t n, bool plain);

void json_str(struct json *j, const char *s);                   /* NUL-terminated, may be NULL -> null */
void json_str_bytes(struct json *j, const uint8_t *s, size_t n); /* arbitrary bytes */
/* A string written in pieces (a long one never held whole): open, pieces
 * that need no escaping (printable ASCII but '"' and '\\': base64), close. */
void json_str_open(struct json *j);
void json_str_plain(struct json *j, const char *s, size_t n);
void json_str_close(struct json *j);
void json_int(struct json *j, int64_t v);
void json_uint(struct json *j, uint64_t v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);
/* A value already in JSON (the caller vouches for it). */
void json_raw(struct json *j, const char *text, size_t n);

/* Whether a key of at most 32 bytes needs no escaping, written so that the
 * compiler folds it to a constant on a literal (json_key() never runs it
 * otherwise).  Forced inline: folding needs the literal in sight. */
#define JSON_ALWAYS_INLINE inline __attribute__((always_inline))
static JSON_ALWAYS_INLINE bool json_plain_c_(unsigned char c) { return c >= 0x20 && c < 0x7F && c != '"' && c != '\\'; }
#define JSON_PLAIN_AT_(i) ((i) >= n || json_plain_c_((unsigned char)s[(i) < n ? (i) : 0]))
static JSON_ALWAYS_INLINE bool json_plain_lit_(const char *s, size_t n)
{
    return n <= 32 && JSON_PLAIN_AT_(0) && JSON_PLAIN_AT_(1) && JSON_PLAIN_AT_(2) && JSON_PLAIN_AT_(3) &&
           JSON_PLAIN_AT_(4) && JSON_PLAIN_AT_(5) && JSON_PLAIN_AT_(6) && JSON_PLAIN_AT_(7) && JSON_PLAIN_AT_(8) &&
           JSON_PLAIN_AT_(9) && JSON_PLAIN_AT_(10) && JSON_PLAIN_AT_(11) && JSON_PLAIN_AT_(12) &&
           JSON_PLAIN_AT_(13) && JSON_PLAIN_AT_(14) && JSON_PLAIN_AT_(15) && JSON_PLAIN_AT_(16) &&
           JSON_PLAIN_AT_(17) && JSON_PLAIN_AT_(18) && JSON_PLAIN_AT_(19) && JSON_PLAIN_AT_(20) &&
           JSON_PLAIN_AT_(21) && JSON_PLAIN_AT_(22) && JSON_PLAIN_AT_(23) && JSON_PLAIN_AT_(24) &&
           JSON_PLAIN_AT_(25) && JSON_PLAIN_AT_(26) && JSON_PLAIN_AT_(27) && JSON_PLAIN_AT_(28) &&
           JSON_PLAIN_AT_(29) && JSON_PLAIN_AT_(30) && JSON_PLAIN_AT_(31);
}
#undef JSON_PLAIN_AT_

/* A report writes about two keys per value, nearly all of them literals:
 * their length and plainness are taken at compile time where the compiler
 * sees the literal (a strlen and a scan per key were a third of the
 * report's writing), at run time otherwise (json_key_n checks). */
static JSON_ALWAYS_INLINE void json_key(struct json *j, const char *key)
{
    size_t n = strlen(key);
    json_key_n(j, key, n, __builtin_constant_p(n) && json_plain_lit_(key, n));
}

/* Shorthands: key + value. */
static JSON_ALWAYS_INLINE void json_kstr(struct json *j, const char *key, const char *s) { json_key(j, key); json_str(j, s); }
static JSON_ALWAYS_INLINE void json_kuint(struct json *j, const char *key, uint64_t v) { json_key(j, key); json_uint(j, v); }
static JSON_ALWAYS_INLINE void json_kint(struct json *j, const char *key, int64_t v) { json_key(j, key); json_int(j, v); }
static JSON_ALWAYS_INLINE void json_kbool(struct json *j, const char *key, bool v) { json_key(j, key); json_bool(j, v); }

#endif
