/* mstate_pairs_more.c - census pairs past the state's cap, carried
 * (mstate_pairs_more.h). */
#include "mstate_pairs_more.h"

#include <string.h>

#include "mstate.h"
#include "mstate_zrec.h"

/* A pair in binary: client and server (family, then 4 bytes for IPv4, 16
 * for IPv6), syn139, syn445 (4 each), port139 (2), then the first
 * CENSUS_SYN_TIMES times of the SYNs to 139 and to 445 each holds (8 each,
 * int64), big-endian. */
#define PAIR_MAX (2 * 17 + 10 + 2 * CENSUS_SYN_TIMES * 8)

static uint8_t *put_addr(uint8_t *q, const struct ip_addr *a)
{
    size_t al = a->family == 6 ? 16 : 4;
    *q++ = a->family;
    memcpy(q, a->bytes, al);
    return q + al;
}

static size_t pair_put(uint8_t *p, const struct census_pair *e)
{
    uint8_t *q = put_addr(put_addr(p, &e->client), &e->server);
    mstate_put_be(q, e->syn139, 4), q += 4;
    mstate_put_be(q, e->syn445, 4), q += 4;
    mstate_put_be(q, e->port139, 2), q += 2;
    for (uint32_t i = 0; i < e->syn139 && i < CENSUS_SYN_TIMES; i++)
        mstate_put_be(q, (uint64_t)e->t139[i], 8), q += 8;
    for (uint32_t i = 0; i < e->syn445 && i < CENSUS_SYN_TIMES; i++)
        mstate_put_be(q, (uint64_t)e->t445[i], 8), q += 8;
    return (size_t)(q - p);
}

void mstate_put_pairs_more(struct json *b, const struct census *c, const uint32_t *slots, uint32_t n)
{
    struct zput *z = g_new(struct zput, 1);
    zput_begin(z, b, "pairs_more", n, 1);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t e[PAIR_MAX];
        zput_bytes(z, e, pair_put(e, census_pair_at(c, slots[i])));
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

static bool times_ok(const int64_t *t, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (t[i] < -JGET_TS_MAX || t[i] > JGET_TS_MAX)
            return false;
    return true;
}

struct more_pairs {
    struct census *c;
    uint64_t syns;
};

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
    size_t at = (size_t)ac + (size_t)as;
    if (!ac || !as || len < at + 10)
        return 0;
    e.syn139 = (uint32_t)mstate_get_be(p + at, 4);
    e.syn445 = (uint32_t)mstate_get_be(p + at + 4, 4);
    e.port139 = (uint16_t)mstate_get_be(p + at + 8, 2);
    at += 10;
    uint32_t n139 = e.syn139 < CENSUS_SYN_TIMES ? e.syn139 : CENSUS_SYN_TIMES;
    uint32_t n445 = e.syn445 < CENSUS_SYN_TIMES ? e.syn445 : CENSUS_SYN_TIMES;
    if (len < at + 8 * (size_t)(n139 + n445))
        return 0;
    for (uint32_t i = 0; i < n139; i++, at += 8)
        e.t139[i] = (int64_t)mstate_get_be(p + at, 8);
    for (uint32_t i = 0; i < n445; i++, at += 8)
        e.t445[i] = (int64_t)mstate_get_be(p + at, 8);
    /* what the writer puts: a pair has a SYN (its times are in the order
     * the packets came, not sorted: a capture's clock may step back) */
    if (!e.syn139 && !e.syn445) {
        jget_fail(g, ip, "a pair without a SYN");
        return -1;
    }
    if (!times_ok(e.t139, n139) || !times_ok(e.t445, n445)) {
        jget_fail(g, ip, "not a capture time (microseconds within 2^62 of 1970)");
        return -1;
    }
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
    struct more_pairs mp_ = { c, 0 };
    zread_records(g, &mp, b64, n, 64 * PAIR_MAX, take_pair, &mp_, "pairs");
    *pairs = n;
    *syns = mp_.syns;
}
