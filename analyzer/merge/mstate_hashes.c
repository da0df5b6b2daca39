/* mstate_hashes.c - a distinct set's hashes carried in a merge state
 * (mstate_hashes.h). */
#include "mstate_hashes.h"

#include <string.h>

#include "mstate.h"
#include "mstate_zrec.h"

unsigned mstate_hashes_low_bytes(uint64_t n)
{
    unsigned bits = 0;
    for (uint64_t v = n; v; v >>= 1)
        bits++;
    return (64 - bits) / 8;
}

/* The most bytes of a difference's high part (a varint of 64 - 8 * low
 * bits), and of a record. */
static unsigned high_max(unsigned low) { return low >= 8 ? 1 : (64 - 8 * low + 6) / 7; }
static unsigned rec_max(unsigned low) { return high_max(low) + low; }

/* Sorted in place (LSD radix, a byte a pass; a pass whose byte is the same
 * in every hash skipped): the state thread sorts up to a million hashes,
 * where qsort's compares through a pointer cost twenty times as much. */
static void sort_hashes(uint64_t *v, size_t n)
{
    uint64_t *tmp = g_new(uint64_t, n), *from = v, *to = tmp;
    for (int shift = 0; shift < 64; shift += 8) {
        size_t count[256] = { 0 };
        for (size_t i = 0; i < n; i++)
            count[(from[i] >> shift) & 255]++;
        if (count[(from[0] >> shift) & 255] == n)
            continue;
        size_t at = 0;
        for (int k = 0; k < 256; k++) {
            size_t c = count[k];
            count[k] = at;
            at += c;
        }
        for (size_t i = 0; i < n; i++)
            to[count[(from[i] >> shift) & 255]++] = from[i];
        uint64_t *t = from;
        from = to;
        to = t;
    }
    if (from != v)
        memcpy(v, from, n * sizeof *v);
    g_free(tmp);
}

void mstate_put_hashes_more(struct json *b, const struct distinct *d)
{
    uint64_t n = distinct_count(d);
    uint32_t nslots;
    const uint64_t *slots = distinct_slots(d, &nslots);
    if (distinct_is_estimate(d) || !slots || n <= MSTATE_EXACT_CAP || n > MSTATE_HASHES_MORE_CAP)
        return;
    uint64_t *v = g_new(uint64_t, n);
    uint64_t m = 0;
    for (uint32_t i = 0; i < nslots && m < n; i++)
        if (slots[i])
            v[m++] = slots[i];
    if (m != n) { /* some counted without their hashes (distinct_fold_disjoint()): registers only */
        g_free(v);
        return;
    }
    sort_hashes(v, n);
    unsigned low = mstate_hashes_low_bytes(n);
    struct zput *z = g_new(struct zput, 1);
    zput_begin(z, b, "exact_more", n, Z_NO_COMPRESSION);
    uint64_t prev = 0;
    uint8_t buf[4096], *q = buf; /* records handed on a buffer at a time */
    for (uint64_t i = 0; i < n; i++) {
        if (q + 10 + 8 > buf + sizeof buf) {
            zput_bytes(z, buf, (size_t)(q - buf));
            q = buf;
        }
        uint64_t dv = v[i] - prev;
        q = zrec_put_varint(q, low >= 8 ? 0 : dv >> (8 * low));
        mstate_put_be(q, dv, (int)low);
        q += low;
        prev = v[i];
    }
    zput_bytes(z, buf, (size_t)(q - buf));
    zput_end(z, b);
    g_free(z);
    g_free(v);
}

struct take_hashes {
    struct distinct *d;
    unsigned low;
    uint64_t prev;
};

static int64_t take_hash(void *ctx, struct jget *g, const struct jpath *ip, const uint8_t *p, size_t len)
{
    struct take_hashes *t = ctx;
    uint64_t hi;
    int used = zrec_get_varint(p, len, &hi);
    if (used == 0)
        return 0;
    if (used < 0 || (unsigned)used > high_max(t->low) || (t->low < 8 && hi > UINT64_MAX >> (8 * t->low)) ||
        (t->low >= 8 && hi)) {
        jget_fail(g, ip, "not a hash's difference (its high part out of range)");
        return -1;
    }
    if (len < (size_t)used + t->low)
        return 0;
    uint64_t dv = (t->low >= 8 ? 0 : hi << (8 * t->low)) | mstate_get_be(p + used, (int)t->low);
    if (!dv || dv > UINT64_MAX - t->prev) {
        jget_fail(g, ip, "hashes not strictly increasing");
        return -1;
    }
    t->prev += dv;
    distinct_add(t->d, t->prev);
    return used + (int64_t)t->low;
}

uint64_t mstate_get_hashes_more(struct jget *g, const struct jpath *p, JsonObject *o, struct distinct *d)
{
    if (g->failed || !o || !json_object_has_member(o, "exact_more"))
        return 0;
    struct jpath mp;
    jpath_key(&mp, p, "exact_more");
    JsonObject *m = jget_obj(g, p, o, "exact_more");
    uint64_t n = jget_u64(g, &mp, m, "n", MSTATE_HASHES_MORE_CAP);
    uint64_t counted = jget_u64(g, p, o, "counted", INT64_MAX);
    if (!g->failed && n != counted)
        jget_fail(g, &mp, "n: not the set's count (counted)");
    unsigned low = mstate_hashes_low_bytes(n);
    /* base64 of n records of the most bytes each, in stored blocks (5
     * bytes a block, the header and the check): what is read is bounded
     * by n, n by what one run counts exactly */
    uint64_t raw = n * rec_max(low), zlen = raw + raw / 64 + 64;
    const char *b64 = !g->failed ? jget_str(g, &mp, m, "zlib", (size_t)((zlen + 2) / 3 * 4), false) : NULL;
    if (g->failed || !b64)
        return 0;
    struct take_hashes t = { d, low, 0 };
    zread_records(g, &mp, b64, n, 64 * (size_t)rec_max(low), take_hash, &t, "hashes");
    return g->failed ? 0 : n;
}
