/* smb_hosts.c - see smb_hosts.h: hosts.h's bounded address table for the
 * addresses, one parallel array for the SMB facts. */
#include "smb_hosts.h"
#include "past_cap.h"

#include <stdlib.h>
#include <string.h>

#include <glib.h>

struct smb_hosts {
    struct host_table *t;
    struct smb_host *acc;   /* indexed like the table's records */
    uint32_t alloc;
    uint64_t unrecorded;
    bool (*admit)(void *data, const struct ip_addr *a, uint32_t past, uint32_t cap); /* smb_hosts_admit_past_cap() */
    bool (*keep)(void *data, const struct ip_addr *a);                               /* ... and keep */
    void *admit_data;
};

void smb_hosts_admit_past_cap(struct smb_hosts *h, bool (*admit)(void *data, const struct ip_addr *a, uint32_t past,
                                                                   uint32_t cap),
                              bool (*keep)(void *data, const struct ip_addr *a), void *data)
{
    h->admit = admit;
    h->keep = keep;
    h->admit_data = data;
}

struct smb_hosts *smb_hosts_new(uint32_t cap)
{
    struct smb_hosts *h = g_new0(struct smb_hosts, 1);
    h->t = host_table_new(cap ? cap : SMB_HOSTS_DEFAULT_CAP);
    return h;
}

void smb_hosts_free(struct smb_hosts *h)
{
    if (!h)
        return;
    host_table_free(h->t);
    g_free(h->acc);
    g_free(h);
}

static struct smb_host *get(struct smb_hosts *h, const struct ip_addr *a, int64_t ts)
{
    if (!a->family)
        return NULL;
    if (h->keep && h->t && !host_table_find(h->t, a) && !h->keep(h->admit_data, a)) {
        host_table_count_only(h->t, a);
        return NULL;
    }
    struct host_rec *r = h->t ? host_table_get(h->t, a, ts) : NULL;
    if (!r && h->t && h->admit) { /* full: taken past the cap if admit() says so, up to PAST_CAP_CAPS caps */
        uint32_t n = host_table_size(h->t), cap = host_table_cap(h->t);
        if (n < PAST_CAP_CAPS * cap && h->admit(h->admit_data, a, n - cap, cap))
            r = host_table_get_past_cap(h->t, a, ts, PAST_CAP_CAPS * cap);
    }
    if (!r)
        return NULL;
    uint32_t i = (uint32_t)(r - host_table_at(h->t, 0));
    if (i >= h->alloc) {
        uint32_t cap = host_table_cap(h->t), n = h->alloc ? h->alloc * 2 : 256;
        while (n <= i)
            n *= 2;
        if (i >= cap) /* past the cap (admit()): a quarter cap at a time, as the table grows */
            n = i + 1 + (cap / 4 ? cap / 4 : 1);
        h->acc = g_realloc_n(h->acc, n, sizeof *h->acc);
        memset(h->acc + h->alloc, 0, (size_t)(n - h->alloc) * sizeof *h->acc);
        h->alloc = n;
    }
    return &h->acc[i];
}

void smb_hosts_warm(const struct smb_hosts *h, const struct ip_addr *a, int ahead)
{
    if (!h->t)
        return;
    uint32_t n = host_table_warm(h->t, a, ahead);
    if (n && n - 1 < h->alloc)
        __builtin_prefetch(&h->acc[n - 1], 1);
}

/* Bits set, one step per bit: rules and findings are mostly 0 or one bit,
 * and __builtin_popcount is a libgcc call on the baseline x86-64 target. */
static uint32_t bits_set(uint32_t x)
{
    uint32_t n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
}

static uint32_t sat_add(uint32_t a, uint64_t b) { return a + b > UINT32_MAX ? UINT32_MAX : (uint32_t)(a + b); }

void smb_hosts_add(struct smb_hosts *h, const struct conn_summary *cs)
{
    /* Who must fix what (as hostview.c names the ends of a violation):
     * SMB rules both ends; NTLM and SMB 3.1.1 over NBT both; an
     * alternative port the server; keep-alives on 445 the client. */
    const uint32_t server_findings = (1u << FINDING_NTLM) | (1u << FINDING_NBT_ABOVE_302) | (1u << FINDING_ALT_PORT);
    const uint32_t client_findings = (1u << FINDING_NTLM) | (1u << FINDING_NBT_ABOVE_302) |
                                     (1u << FINDING_KEEPALIVE_ON_DIRECT);
    for (int side = 0; side < 2; side++) {
        struct smb_host *x = get(h, side ? &cs->server : &cs->client, cs->first_ts);
        if (!x) {
            h->unrecorded++;
            continue;
        }
        uint32_t findings = cs->findings & (side ? server_findings : client_findings);
        if (side)
            x->server_conns = sat_add(x->server_conns, 1);
        else
            x->client_conns = sat_add(x->client_conns, 1);
        x->rules |= cs->rules;
        x->findings |= findings;
        x->violations = sat_add(x->violations, bits_set(cs->rules));
        x->finding_count = sat_add(x->finding_count, bits_set(findings));
        if (findings & (1u << FINDING_NTLM))
            x->ntlm_sessions = sat_add(x->ntlm_sessions, cs->ntlm_sessions);
    }
}

uint32_t smb_hosts_size(const struct smb_hosts *h) { return h->t ? host_table_size(h->t) : 0; }
uint32_t smb_hosts_cap(const struct smb_hosts *h) { return h->t ? host_table_cap(h->t) : 0; }

int64_t smb_hosts_find(const struct smb_hosts *h, const struct ip_addr *a)
{
    const struct host_rec *r = h->t ? host_table_find(h->t, a) : NULL;
    return r ? r - host_table_at(h->t, 0) : -1;
}

const struct smb_host *smb_hosts_at(const struct smb_hosts *h, uint32_t i, const struct host_rec **rec)
{
    *rec = host_table_at(h->t, i);
    return *rec && i < h->alloc ? &h->acc[i] : NULL;
}

uint64_t smb_hosts_total(const struct smb_hosts *h, bool *estimate)
{
    if (!h->t) {
        *estimate = false;
        return 0;
    }
    return host_table_total(h->t, estimate);
}

uint64_t smb_hosts_unrecorded(const struct smb_hosts *h) { return h->unrecorded; }

void smb_hosts_fold(struct smb_hosts *h, const struct host_rec *rec, const struct smb_host *x)
{
    struct smb_host *d = get(h, &rec->addr, rec->first_seen);
    if (!d) {
        h->unrecorded += (uint64_t)x->client_conns + x->server_conns;
        return;
    }
    host_table_touch(h->t, (uint32_t)(d - h->acc), rec->last_seen); /* the record get() found or made: no second lookup */
    d->client_conns = sat_add(d->client_conns, x->client_conns);
    d->server_conns = sat_add(d->server_conns, x->server_conns);
    d->violations = sat_add(d->violations, x->violations);
    d->finding_count = sat_add(d->finding_count, x->finding_count);
    d->ntlm_sessions = sat_add(d->ntlm_sessions, x->ntlm_sessions);
    d->rules |= x->rules;
    d->findings |= x->findings;
}

void smb_hosts_fold_unrecorded(struct smb_hosts *h, uint64_t n) { h->unrecorded += n; }

void smb_hosts_seen(struct smb_hosts *h, const struct ip_addr *a, int64_t ts)
{
    struct host_rec *r = h->t ? host_table_find(h->t, a) : NULL;
    if (r)
        host_table_touch(h->t, (uint32_t)(r - host_table_at(h->t, 0)), ts);
}

struct host_pair {
    struct host_rec rec;
    struct smb_host x;
};

static int rec_order(const struct host_rec *a, const struct host_rec *b)
{
    if (a->first_seen != b->first_seen)
        return a->first_seen < b->first_seen ? -1 : 1;
    if (a->addr.family != b->addr.family)
        return a->addr.family < b->addr.family ? -1 : 1;
    return memcmp(a->addr.bytes, b->addr.bytes, sizeof a->addr.bytes);
}

static int pair_order(const void *pa, const void *pb)
{
    return rec_order(&((const struct host_pair *)pa)->rec, &((const struct host_pair *)pb)->rec);
}

/* Records already in first-seen order (ties by address): what the fold of
 * --jobs on one file leaves (fold_mem.c merges the workers' tables in that
 * order), where a sort of 50,000 records cost 33 M instructions. */
static bool in_order(const struct smb_hosts *h, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++)
        if (rec_order(host_table_at(h->t, i - 1), host_table_at(h->t, i)) >= 0)
            return false;
    return true;
}

void smb_hosts_sort(struct smb_hosts *h)
{
    uint32_t n = smb_hosts_size(h);
    if (n < 2 || in_order(h, n))
        return;
    struct host_pair *v = g_new(struct host_pair, n);
    for (uint32_t i = 0; i < n; i++) {
        v[i].rec = *host_table_at(h->t, i);
        v[i].x = i < h->alloc ? h->acc[i] : (struct smb_host){ 0 };
    }
    qsort(v, n, sizeof *v, pair_order);
    host_table_sort(h->t);
    for (uint32_t i = 0; i < n; i++)
        if (i < h->alloc)
            h->acc[i] = v[i].x;
    g_free(v);
}

struct smb_hosts *smb_hosts_copy(const struct smb_hosts *h)
{
    struct smb_hosts *c = g_new0(struct smb_hosts, 1);
    c->t = host_table_new(h->t ? host_table_cap(h->t) : SMB_HOSTS_DEFAULT_CAP);
    c->unrecorded = h->unrecorded;
    for (uint32_t i = 0; i < smb_hosts_size(h); i++) {
        const struct host_rec *r;
        const struct smb_host *x = smb_hosts_at(h, i, &r);
        if (r && x)
            smb_hosts_fold(c, r, x);
    }
    return c;
}

const struct distinct *smb_hosts_addresses(const struct smb_hosts *h) { return h->t ? host_table_all(h->t) : NULL; }

void smb_hosts_fold_estimate(struct smb_hosts *h, const uint8_t *regs)
{
    if (h->t)
        host_table_fold_estimate(h->t, regs);
}
