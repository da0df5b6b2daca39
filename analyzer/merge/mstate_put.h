/* mstate_put.h - members of the merge state as the writer streams them
 * (json.c): integers clamped to JSON's int64, strings made valid UTF-8
 * (the digest needs text that parses back to itself: mstate_canon.c). */
#ifndef SMBSCOPE_MSTATE_PUT_H
#define SMBSCOPE_MSTATE_PUT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "fmt.h"
#include "json.h"
#include "packet.h"

static inline gint64 mstate_clamp(uint64_t v) { return v > INT64_MAX ? INT64_MAX : (gint64)v; }

/* The largest count a report's connections[] entry may hold (a capture of
 * 2^62 bytes is beyond any); sums of them are held at INT64_MAX. */
#define MSTATE_COUNT_MAX ((gint64)1 << 62)

/* a + b for counts of a report's entries (each >= 0), held at INT64_MAX. */
static inline gint64 mstate_sum(gint64 a, gint64 b) { return a > INT64_MAX - b ? INT64_MAX : a + b; }

/* v added to integer member k of a report's connection entry o, when o has
 * it (the joins count what a later capture saw into the earlier entry);
 * held at INT64_MAX, as the state's counters are, whatever a report said. */
static inline void mstate_add_int(JsonObject *o, const char *k, uint64_t v)
{
    if (!o || !json_object_has_member(o, k))
        return;
    gint64 cur = json_object_get_int_member(o, k), add = mstate_clamp(v);
    json_object_set_int_member(o, k, cur > INT64_MAX - add ? INT64_MAX : cur + add);
}

/* qsort()/g_array_sort() order of uint64_t hashes (the exact sets are
 * written sorted: the same set, the same text). */
static inline int mstate_cmp_u64(const void *pa, const void *pb)
{
    uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
    return (a > b) - (a < b);
}

/* An integer element of a compact array. */
static inline void vint(struct json *b, uint64_t v) { json_int(b, mstate_clamp(v)); }

static inline void kint(struct json *b, const char *k, uint64_t v)
{
    json_key(b, k);
    vint(b, v);
}

/* An address element, null when there is none. */
static inline void vaddr(struct json *b, const struct ip_addr *a)
{
    char buf[FMT_ADDR_LEN];
    if (a->family)
        json_str(b, fmt_addr(a, buf));
    else
        json_null(b);
}

/* A connection's two ends as four elements of a compact array: address,
 * port, address, port (tails, SYN flows, QUIC tails, handshake edges). */
static inline void put_ends(struct json *b, const struct ip_addr addr[2], const uint16_t port[2])
{
    char buf[FMT_ADDR_LEN];
    for (int d = 0; d < 2; d++) {
        json_str(b, fmt_addr(&addr[d], buf));
        json_int(b, port[d]);
    }
}

/* One end of a connection as the state names them (address and port) is
 * another: what the joins (mstate_join_*.c, mstate_tails.c) match by. */
static inline bool mstate_same_end(const struct ip_addr *x, uint16_t xp, const struct ip_addr *y, uint16_t yp)
{
    return x->family == y->family && memcmp(x->bytes, y->bytes, sizeof x->bytes) == 0 && xp == yp;
}

/* A run of integer members from a table: the state's counters are many,
 * and a table keeps each one a line of name and value. */
struct kv {
    const char *k;
    uint64_t v;
};

static inline void kints(struct json *b, const struct kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++)
        kint(b, kv[i].k, kv[i].v);
}

/* An object member of integers only. */
static inline void kobj_ints(struct json *b, const char *k, const struct kv *kv, size_t n)
{
    json_key(b, k);
    json_begin_object(b);
    kints(b, kv, n);
    json_end_object(b);
}

#define KINTS(b, ...)                                             \
    do {                                                          \
        const struct kv kv_[] = { __VA_ARGS__ };                  \
        kints(b, kv_, G_N_ELEMENTS(kv_));                         \
    } while (0)
#define KOBJ_INTS(b, name, ...)                                   \
    do {                                                          \
        const struct kv kv_[] = { __VA_ARGS__ };                  \
        kobj_ints(b, name, kv_, G_N_ELEMENTS(kv_));               \
    } while (0)

/* Octets as a JSON string of lower-case hex (jget_hex() reads it back). */
static inline void mstate_put_hex(struct json *b, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *s = g_malloc(2 * n + 1);
    for (size_t i = 0; i < n; i++) {
        s[2 * i] = digits[p[i] >> 4];
        s[2 * i + 1] = digits[p[i] & 15];
    }
    s[2 * n] = 0;
    json_str(b, s);
    g_free(s);
}

static inline void kts(struct json *b, const char *k, int64_t v)
{
    json_key(b, k);
    json_int(b, v);
}

static inline void kbool(struct json *b, const char *k, bool v)
{
    json_key(b, k);
    json_bool(b, v);
}

/* Bytes of any kind as valid UTF-8 (json-glib writes strings as given). */
static inline void kstr(struct json *b, const char *k, const char *s)
{
    json_key(b, k);
    if (!s) {
        json_null(b);
        return;
    }
    char *v = g_utf8_make_valid(s, -1);
    json_str(b, v);
    g_free(v);
}

static inline void kaddr(struct json *b, const char *k, const struct ip_addr *a)
{
    char buf[FMT_ADDR_LEN];
    kstr(b, k, a->family ? fmt_addr(a, buf) : NULL);
}

#endif
