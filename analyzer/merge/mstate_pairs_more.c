/* mstate_pairs_more.c - census pairs past the state's cap, carried
 * (mstate_pairs_more.h). */
#include "mstate_pairs_more.h"

#include <string.h>

#include "mstate.h"
#include "mstate_zrec.h"

/* A pair in binary: client and server (family, then 4 bytes for IPv4, 16
 * for IPv6), then as LEB128 varints syn139, syn445, port139 (when syn139),
 * and the first CENSUS_SYN_TIMES times of the SYNs to 139, then to 445,
 * each zigzag-encoded as the difference from the time before it (the first
 * of a pair from the previous pair's first).  Stored, not deflated: at
 * 20,000 pairs deflate cost 7% of the whole analysis of `--many 20000`
 * (38 M instructions) for a stream of a few bytes a pair. */
#define PAIR_MAX (2 * 17 + 3 * 5 + 2 * CENSUS_SYN_TIMES * 10)

static uint64_t zigzag(int64_t d) { return ((uint64_t)d << 1) ^ (uint64_t)(d >> 63); }
static int64_t unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

static uint8_t *put_addr(uint8_t *q, const struct ip_addr *a)
{
    size_t al = a->family == 6 ? 16 : 4;
    *q++ = a->family;
    memcpy(q, a->bytes, al);
    return q + al;
}

/* prev: the previous pair's first time (updated) */
static size_t pair_put(uint8_t *p, const struct census_pair *e, int64_t *prev)
{
    uint8_t *q = put_addr(put_addr(p, &e->client), &e->server);
    q = zrec_put_varint(q, e->syn139);
    q = zrec_put_varint(q, e->syn445);
    if (e->syn139)
        q = zrec_put_varint(q, e->port139);
    int64_t last = *prev;
    bool first = true;
    for (int k = 0; k < 2; k++) {
        const int64_t *t = k ? e->t445 : e->t139;
        uint32_t n = k ? e->syn445 : e->syn139;
        for (uint32_t i = 0; i < n && i < CENSUS_SYN_TIMES; i++) {
            /* times within 2^62 of 1970 (the reader's bound): no overflow */
            q = zrec_put_varint(q, zigzag(t[i] - last));
            last = t[i];
            if (first)
                *prev = t[i], first = false;
        }
    }
    return (size_t)(q - p);
}

void mstate_put_pairs_more(struct json *b, const struct census *c, const uint32_t *slots, uint32_t n)
{
    struct zput *z = g_new(struct zput, 1);
    zput_begin(z, b, "pairs_more", n, Z_NO_COMPRESSION);
    int64_t prev = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t e[PAIR_MAX];
        zput_bytes(z, e, pair_put(e, census_pair_at(c, slots[i]), &prev));
    }
    zput_end(z, b);
    g_free(z);
}

/* The address at p (len bytes there): its size, 0 when more are needed,
 * -1 when its family is not 4 or 6. */
static int addr_get(const uint8_t *p, size_t len, struct ip_addr *a)
{
    if (len < 1)
        return 0;
    if (p[0] != 4 && p[0] != 6)
        return -1;
    size_t al = p[0] == 6 ? 16 : 4;
    if (len < 1 + al)
        return 0;
    memset(a, 0, sizeof *a);
    a->family = p[0];
    memcpy(a->bytes, p + 1, al);
    return (int)(1 + al);
}

struct more_pairs {
    struct census *c;
    uint64_t syns;
    int64_t prev; /* the previous pair's first time */
};

/* A count or port: a varint within max (false, the reason in g, when not). */
static int get_bounded(struct jget *g, const struct jpath *ip, const uint8_t *p, size_t len, uint64_t max,
                       uint64_t *v)
{
    int used = zrec_get_varint(p, len, v);
    if (used < 0 || (used > 0 && *v > max)) {
        jget_fail(g, ip, "a count, port or time out of range");
        return -1;
    }
    return used;
}

static int64_t take_pair(void *ctx, struct jget *g, const struct jpath *ip, const uint8_t *p, size_t len)
{
    struct more_pairs *m = ctx;
    struct census_pair e;
    memset(&e, 0, sizeof e);
    int ac = addr_get(p, len, &e.client);
    int as = ac > 0 ? addr_get(p + ac, len - (size_t)ac, &e.server) : ac;
    if (ac < 0 || as < 0) {
        jget_fail(g, ip, "client or server: not an IPv4 or IPv6 address");
        return -1;
    }
    if (!ac || !as)
        return 0;
    size_t at = (size_t)ac + (size_t)as;
    uint64_t v[3] = { 0, 0, 0 };
    const uint64_t max[3] = { UINT32_MAX, UINT32_MAX, 65535 };
    for (int i = 0; i < 3; i++) {
        if (i == 2 && !v[0])
            break; /* port139 only with a SYN to 139 */
        int used = get_bounded(g, ip, p + at, len - at, max[i], &v[i]);
        if (used <= 0)
            return used;
        at += (size_t)used;
    }
    e.syn139 = (uint32_t)v[0];
    e.syn445 = (uint32_t)v[1];
    e.port139 = (uint16_t)v[2];
    if (!e.syn139 && !e.syn445) { /* what the writer puts: a pair has a SYN */
        jget_fail(g, ip, "a pair without a SYN");
        return -1;
    }
    int64_t last = m->prev, first_time = 0;
    for (int k = 0; k < 2; k++) {
        int64_t *t = k ? e.t445 : e.t139;
        uint32_t n = k ? e.syn445 : e.syn139;
        for (uint32_t i = 0; i < n && i < CENSUS_SYN_TIMES; i++) {
            uint64_t d;
            int used = get_bounded(g, ip, p + at, len - at, UINT64_MAX, &d);
            if (used <= 0)
                return used;
            at += (size_t)used;
            int64_t dt = unzigzag(d);
            /* a capture time, within 2^62 of 1970 (its times are in the
             * order the packets came, not sorted: a clock may step back) */
            if (dt > JGET_TS_MAX || dt < -JGET_TS_MAX || last + dt > JGET_TS_MAX || last + dt < -JGET_TS_MAX) {
                jget_fail(g, ip, "not a capture time (microseconds within 2^62 of 1970)");
                return -1;
            }
            t[i] = last = last + dt;
            if (k == 0 ? i == 0 : (i == 0 && !e.syn139))
                first_time = t[i];
        }
    }
    m->prev = first_time;
    m->syns += (uint64_t)e.syn139 + e.syn445;
    census_fold_pair(m->c, &e);
    return (int64_t)at;
}

void mstate_fold_pairs_more(struct jget *g, const struct jpath *cp, struct census *c, JsonObject *o, uint64_t *pairs,
                            uint64_t *syns)
{
    *pairs = *syns = 0;
    if (g->failed || !o || !json_object_has_member(o, "pairs_more"))
        return;
    struct jpath mp;
    jpath_key(&mp, cp, "pairs_more");
    JsonObject *m = jget_obj(g, cp, o, "pairs_more");
    uint64_t n = jget_u64(g, &mp, m, "n", CENSUS_MAX_PAIRS);
    const char *b64 = m ? jget_str(g, &mp, m, "zlib", (size_t)CENSUS_MAX_PAIRS * PAIR_MAX / 3 * 4 + 64, false) : NULL;
    if (g->failed || !b64)
        return;
    struct more_pairs mp_ = { c, 0, 0 };
    zread_records(g, &mp, b64, n, 64 * PAIR_MAX, take_pair, &mp_, "pairs");
    *pairs = n;
    *syns = mp_.syns;
}
