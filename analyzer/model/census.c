/* census.c - see census.h. */
#include "census.h"

#include <stdlib.h>
#include <string.h>

#include "distinct.h"
#include "hash_mix.h"
#include "dnsname.h"
#include "past_cap.h"

/* A UDP conversation: both directions of one (address, port) pair.  The
 * layout is what distinct_hash() has always hashed (merge states carry those
 * hashes), padded to whole words for the recent-key cache. */
struct conv_key {
    uint8_t family, pad;
    uint16_t lo_port, hi_port;
    uint8_t lo[16], hi[16];
};
#define CONV_HASHED_BYTES sizeof(struct conv_key)

struct conv_slot {
    struct conv_key k;
    uint8_t tail[40 - sizeof(struct conv_key)]; /* zero: the slot is 5 words */
};
_Static_assert(sizeof(struct conv_slot) == 40, "a cache slot is five words");

/* Conversations added lately, direct-mapped by a cheap hash of the key.
 * Adding a conversation's hash again changes nothing (the exact set has it,
 * the HyperLogLog register already holds its rank), so a datagram whose key
 * is here skips the byte-wise hash and the set: most UDP datagrams belong
 * to a conversation seen a few packets before (a QUIC flight, a DNS
 * exchange). */
#define CONV_CACHE_SLOTS 1024u
struct census_conv_cache {
    struct conv_slot slot[CONV_CACHE_SLOTS];
};

static uint32_t conv_slot_of(const struct conv_slot *s)
{
    uint64_t w[5];
    memcpy(w, s, sizeof w);
    uint64_t h = (w[0] * UINT64_C(0x9e3779b97f4a7c15)) ^ (w[1] + w[2] * UINT64_C(0xc2b2ae3d27d4eb4f)) ^
                 (w[3] * UINT64_C(0x165667b19e3779f9)) ^ (w[4] + (w[0] >> 17));
    h ^= h >> 29;
    h *= UINT64_C(0xbf58476d1ce4e5b9);
    return (uint32_t)(h >> 40) & (CONV_CACHE_SLOTS - 1);
}

/* census_pair_at()'s order: the pairs by first SYN, then client, then
 * server (what merge's fold sorts by, fold_mem.c), so that a report lists
 * them alike whatever the key, the order they came in and the --jobs
 * split.  Built when first asked after a change; most captures' pairs
 * came in that order already (checked in one pass, no sort). */
struct census_pair_order {
    uint32_t *at; /* index into pairs of the i-th; NULL: as they came */
    uint32_t n;
    bool fresh;
};

static void order_stale(struct census *c) { c->order->fresh = false; }

static void pair_muls_init(struct census *c);

struct census *census_new(void)
{
    struct census *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    pair_muls_init(c);
    c->order = calloc(1, sizeof *c->order);
    c->udp_convs = distinct_new(0);
    c->recent = calloc(1, sizeof *c->recent); /* without it every datagram is hashed: same counts */
    c->dns_keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    c->dns = malloc(sizeof *c->dns);
    if (!c->udp_convs || !c->dns || !c->order) {
        g_hash_table_destroy(c->dns_keys);
        distinct_free(c->udp_convs);
        free(c->recent);
        free(c->dns);
        free(c->order);
        free(c);
        return NULL;
    }
    return c;
}

void census_free(struct census *c)
{
    if (!c)
        return;
    distinct_free(c->udp_convs);
    free(c->recent);
    g_hash_table_destroy(c->dns_keys);
    free(c->dns);
    free(c->pairs);
    free(c->pair_slots);
    if (c->order)
        free(c->order->at);
    free(c->order);
    free(c);
}

static bool smb_port(const struct packet *p)
{
    if (p->l4 == L4_TCP)
        return p->sport == 139 || p->dport == 139 || p->sport == 445 || p->dport == 445;
    return p->l4 == L4_UDP && ((p->sport >= 137 && p->sport <= 139) || (p->dport >= 137 && p->dport <= 139));
}

static void udp_conv(struct census *c, const struct packet *p)
{
    struct conv_slot s;
    memset(&s, 0, sizeof s);
    struct conv_key *k = &s.k;
    k->family = p->src.family;
    int cmp = memcmp(p->src.bytes, p->dst.bytes, 16);
    bool src_lo = cmp < 0 || (cmp == 0 && p->sport <= p->dport);
    memcpy(k->lo, src_lo ? p->src.bytes : p->dst.bytes, 16);
    memcpy(k->hi, src_lo ? p->dst.bytes : p->src.bytes, 16);
    k->lo_port = src_lo ? p->sport : p->dport;
    k->hi_port = src_lo ? p->dport : p->sport;
    struct conv_slot *cached = c->recent && k->family ? &c->recent->slot[conv_slot_of(&s)] : NULL;
    if (cached && memcmp(cached, &s, sizeof s) == 0)
        return;
    distinct_add(c->udp_convs, distinct_hash(k, CONV_HASHED_BYTES));
    if (cached)
        *cached = s;
}

/* A pair's hash, keyed by the process's random number (distinct.h): the
 * addresses are the capture's (and a merged report's) to choose, and with
 * a fixed hash anyone could list clients of one slot, whose probes then
 * walk one run of the table per SYN (quadratic: 32,768 such SYN clients
 * took 48 times the CPU of as many random ones).  Multiply-shift over
 * 32-bit pieces, as conn_groups.c: the top half of m0 + sum(m_i * x_i)
 * mod 2^64 with random 64-bit m_i, universal as long as the m_i are
 * unknown.  An address is its four words and its family; a plain IPv4
 * address (bytes 4-15 zero) one word, its family's term in m0 (the same
 * value).  No output depends on the key: the table is walked in the order
 * the pairs came (census_pair_at()), never in slot order. */
enum { PM_ZERO, PM_CLIENT, PM_SERVER = PM_CLIENT + 5 };
_Static_assert(PM_SERVER + 5 == CENSUS_PAIR_MULS, "one multiplier, then five an address");

static void pair_muls_init(struct census *c)
{
    uint64_t x = distinct_process_key() ^ UINT64_C(0x63656e737573); /* not conn_groups.c's sequence */
    for (int i = 0; i < CENSUS_PAIR_MULS; i++) {
        uint64_t z = (x += UINT64_C(0x9E3779B97F4A7C15));
        z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
        c->pair_mul[i] = z ^ (z >> 31);
    }
    c->pair_mul4 = c->pair_mul[PM_ZERO] + 4 * c->pair_mul[PM_CLIENT + 4] + 4 * c->pair_mul[PM_SERVER + 4];
}

static bool ipv4_plain(const struct ip_addr *a)
{
    uint64_t x;
    uint32_t y;
    memcpy(&x, a->bytes + 4, 8);
    memcpy(&y, a->bytes + 12, 4);
    return a->family == 4 && !x && !y;
}

static uint64_t addr_terms(const uint64_t *m, const struct ip_addr *a)
{
    uint32_t w[4];
    memcpy(w, a->bytes, sizeof w);
    return m[0] * w[0] + m[1] * w[1] + m[2] * w[2] + m[3] * w[3] + m[4] * a->family;
}

static uint64_t pair_hash(const struct census *c, const struct ip_addr *a, const struct ip_addr *b)
{
    const uint64_t *m = c->pair_mul;
    if (ipv4_plain(a) && ipv4_plain(b)) {
        uint32_t x, y;
        memcpy(&x, a->bytes, 4);
        memcpy(&y, b->bytes, 4);
        return hash_spread(c->pair_mul4 + m[PM_CLIENT] * x + m[PM_SERVER] * y) >> 32; /* hash_mix.h */
    }
    return hash_spread(m[PM_ZERO] + addr_terms(m + PM_CLIENT, a) + addr_terms(m + PM_SERVER, b)) >> 32;
}

uint64_t census_pair_hash(const struct census *c, const struct ip_addr *client, const struct ip_addr *server)
{
    return pair_hash(c, client, server);
}

static bool same(const struct ip_addr *a, const struct ip_addr *b)
{
    return a->family == b->family && memcmp(a->bytes, b->bytes, 16) == 0;
}

/* A slot's tag: nonzero when used, and the hash's low 31 bits (of its 32),
 * which are all a probe sequence starts from (tables stay far below 2^31 slots:
 * CENSUS_MAX_PAIRS), so a table grows without hashing its keys again
 * (the byte-wise hash of two addresses, 156 instructions, was a third of
 * the census's cost on a capture of short connections). */
#define PAIR_TAG_USED 0x80000000u
static uint32_t pair_tag(uint64_t h) { return (uint32_t)h | PAIR_TAG_USED; }

/* The slot of (cl, sv): where it is, or the empty slot where it would go.
 * The probe sequence is the hash's, the tags spare reading an entry that
 * cannot match. */
static uint32_t pair_slot(const struct census_pair *pairs, const struct census_pair_slot *slots, uint32_t n,
                          const struct ip_addr *cl, const struct ip_addr *sv, uint64_t h)
{
    uint32_t tag = pair_tag(h);
    for (uint32_t i = (uint32_t)h & (n - 1);; i = (i + 1) & (n - 1))
        if (!slots[i].tag || (slots[i].tag == tag && same(&pairs[slots[i].entry].client, cl) &&
                              same(&pairs[slots[i].entry].server, sv)))
            return i;
}

/* Twice the slots, the entries where they are (a slot names its entry). */
static bool slots_grow(struct census *c)
{
    uint32_t n = c->npairs ? c->npairs * 2 : 256;
    struct census_pair_slot *ns = calloc(n, sizeof *ns);
    if (!ns)
        return false;
    /* The same probe sequence as pair_slot(), from the tag's hash bits; the
     * keys are distinct, so the first empty slot is theirs. */
    for (uint32_t i = 0; i < c->npairs; i++)
        if (c->pair_slots[i].tag) {
            uint32_t s = c->pair_slots[i].tag & (n - 1);
            while (ns[s].tag)
                s = (s + 1) & (n - 1);
            ns[s] = c->pair_slots[i];
        }
    free(c->pair_slots);
    c->pair_slots = ns;
    c->npairs = n;
    return true;
}

static bool entries_grow(struct census *c, uint32_t cap)
{
    uint32_t n = c->pairs_room ? c->pairs_room * 2 : 128;
    if (n > cap) /* past the cap (admit_past_cap): a quarter of a table at a time, up to PAST_CAP_CAPS */
        n = c->pairs_room < cap ? cap : c->pairs_room + cap / 4 < PAST_CAP_CAPS * cap ? c->pairs_room + cap / 4 : PAST_CAP_CAPS * cap;
    struct census_pair *np = realloc(c->pairs, (size_t)n * sizeof *np);
    if (!np)
        return false;
    c->pairs = np;
    c->pairs_room = n;
    return true;
}

/* h: pair_hash(cl, sv) */
static struct census_pair *pair_get(struct census *c, const struct ip_addr *cl, const struct ip_addr *sv, uint64_t h)
{
    if (c->npairs) {
        uint32_t s = pair_slot(c->pairs, c->pair_slots, c->npairs, cl, sv, h);
        if (c->pair_slots[s].tag)
            return &c->pairs[c->pair_slots[s].entry];
    }
    if (c->keep_pair && !c->keep_pair(c->admit_data, cl, sv))
        return NULL;
    uint32_t cap = c->max_pairs ? c->max_pairs : CENSUS_MAX_PAIRS;
    if (c->pairs_used >= cap && (!c->admit_past_cap || c->pairs_used >= PAST_CAP_CAPS * cap ||
                                 !c->admit_past_cap(c->admit_data, cl, sv, c->pairs_used - cap, cap)))
        return NULL;
    if ((c->pairs_used + 1) * 2 > c->npairs && !slots_grow(c))
        return NULL;
    if (c->pairs_used == c->pairs_room && !entries_grow(c, cap))
        return NULL;
    uint32_t s = pair_slot(c->pairs, c->pair_slots, c->npairs, cl, sv, h);
    struct census_pair *p = &c->pairs[c->pairs_used];
    memset(p, 0, sizeof *p);
    p->client = *cl;
    p->server = *sv;
    c->pair_slots[s] = (struct census_pair_slot){ pair_tag(h), c->pairs_used++ };
    return p;
}

static void syn(struct census *c, const struct packet *p, uint64_t h)
{
    struct census_pair *e = pair_get(c, &p->src, &p->dst, h);
    if (!e) {
        c->pairs_dropped++;
        return;
    }
    order_stale(c);
    if (p->dport == 139) {
        if (e->syn139 < CENSUS_SYN_TIMES)
            e->t139[e->syn139] = p->ts_us;
        if (!e->syn139)
            e->port139 = p->sport;
        e->syn139++;
    } else {
        if (e->syn445 < CENSUS_SYN_TIMES)
            e->t445[e->syn445] = p->ts_us;
        e->syn445++;
    }
}

static bool dns_port(uint16_t port) { return port == 53 || port == 5353 || port == 5355; }

static void dns_names(struct census *c, const struct packet *p)
{
    struct dns_msg *m = c->dns;
    dns_decode(p->payload, p->payload_len, m);
    c->dns_messages++;
    for (uint8_t i = 0; i < m->nnames; i++) {
        char key[16];
        dns_netbios_key(m->names[i], key);
        if (!key[0] || g_hash_table_contains(c->dns_keys, key))
            continue;
        if (g_hash_table_size(c->dns_keys) >= CENSUS_MAX_DNS_KEYS) {
            c->dns_keys_dropped++;
            continue;
        }
        g_hash_table_add(c->dns_keys, g_strdup(key));
    }
}

bool census_dns_has(const struct census *c, const char *netbios_name)
{
    char key[16];
    dns_netbios_key(netbios_name, key);
    return g_hash_table_contains(c->dns_keys, key);
}

/* Keep in step with census_packet_early() (census.h), which answers for
 * the packets this does nothing with. */
static bool syn_pair(const struct packet *p)
{
    return p->l4 == L4_TCP && (p->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN && (p->dport == 139 || p->dport == 445);
}

uint64_t census_pair_prefetch(const struct census *c, const struct packet *p)
{
    if (!syn_pair(p))
        return 0;
    uint64_t h = pair_hash(c, &p->src, &p->dst);
    if (c->npairs)
        __builtin_prefetch(&c->pair_slots[(uint32_t)h & (c->npairs - 1)]);
    return h;
}

void census_packet(struct census *c, const struct packet *p)
{
    census_packet_late(c, p, syn_pair(p) ? pair_hash(c, &p->src, &p->dst) : 0);
}

void census_packet_late(struct census *c, const struct packet *p, uint64_t h)
{
    if (p->caplen < p->wirelen) {
        c->snaplen_cut++;
        if (p->caplen > c->snaplen)
            c->snaplen = p->caplen;
        if (smb_port(p))
            c->snaplen_cut_smb++;
    }
    if (p->l4 == L4_UDP) {
        udp_conv(c, p);
        if (dns_port(p->sport) || dns_port(p->dport))
            dns_names(c, p);
    }
    else if (syn_pair(p))
        syn(c, p, h);
}

uint64_t census_udp_conversations(const struct census *c, bool *estimate)
{
    if (estimate)
        *estimate = distinct_is_estimate(c->udp_convs);
    return distinct_count(c->udp_convs);
}

static int64_t first_syn(const struct census_pair *p)
{
    int64_t t = INT64_MAX;
    if (p->syn139 && p->t139[0] < t)
        t = p->t139[0];
    if (p->syn445 && p->t445[0] < t)
        t = p->t445[0];
    return t;
}

int census_pair_cmp(const struct census_pair *a, const struct census_pair *b)
{
    int64_t x = first_syn(a), y = first_syn(b);
    if (x != y)
        return x < y ? -1 : 1;
    int d = memcmp(&a->client, &b->client, sizeof a->client);
    return d ? d : memcmp(&a->server, &b->server, sizeof a->server);
}

static int at_cmp(const void *pa, const void *pb, void *pairs)
{
    const struct census_pair *e = pairs;
    return census_pair_cmp(&e[*(const uint32_t *)pa], &e[*(const uint32_t *)pb]);
}

static const uint32_t *order_of(const struct census *c)
{
    struct census_pair_order *o = c->order;
    if (o->fresh && o->n == c->pairs_used)
        return o->at;
    o->fresh = true;
    o->n = c->pairs_used;
    free(o->at);
    o->at = NULL;
    bool sorted = true;
    for (uint32_t i = 1; i < c->pairs_used && sorted; i++)
        sorted = census_pair_cmp(&c->pairs[i - 1], &c->pairs[i]) < 0;
    if (sorted)
        return NULL;
    o->at = malloc((size_t)c->pairs_used * sizeof *o->at);
    if (!o->at) { /* as they came: still the key's no matter */
        o->fresh = false;
        return NULL;
    }
    for (uint32_t i = 0; i < c->pairs_used; i++)
        o->at[i] = i;
    qsort_r(o->at, c->pairs_used, sizeof *o->at, at_cmp, c->pairs);
    return o->at;
}

uint32_t census_pair_slots(const struct census *c) { return c->npairs; }

size_t census_pair_table_bytes(const struct census *c)
{
    return (size_t)c->npairs * sizeof *c->pair_slots + (size_t)c->pairs_room * sizeof *c->pairs;
}

struct census_pair *census_take_pairs(struct census *c, uint32_t *n)
{
    struct census_pair *out = g_new(struct census_pair, c->pairs_used ? c->pairs_used : 1);
    *n = 0;
    const uint32_t *at = order_of(c);
    for (uint32_t i = 0; i < c->pairs_used; i++)
        out[i] = c->pairs[at ? at[i] : i];
    *n = c->pairs_used;
    free(c->pairs);
    free(c->pair_slots);
    c->pairs = NULL;
    c->pair_slots = NULL;
    c->npairs = c->pairs_used = c->pairs_room = 0;
    order_stale(c);
    return out;
}

void census_pair_order_build(const struct census *c) { (void)order_of(c); }

const struct census_pair *census_pair_at(const struct census *c, uint32_t i)
{
    if (i >= c->pairs_used)
        return NULL;
    const uint32_t *at = order_of(c);
    return &c->pairs[at ? at[i] : i];
}

bool census_has_pair(const struct census *c, const struct ip_addr *cl, const struct ip_addr *sv)
{
    return c->npairs && c->pair_slots[pair_slot(c->pairs, c->pair_slots, c->npairs, cl, sv, pair_hash(c, cl, sv))].tag;
}

int64_t census_pair_closest(const struct census_pair *p)
{
    int64_t best = INT64_MAX;
    uint32_t n139 = p->syn139 < CENSUS_SYN_TIMES ? p->syn139 : CENSUS_SYN_TIMES;
    uint32_t n445 = p->syn445 < CENSUS_SYN_TIMES ? p->syn445 : CENSUS_SYN_TIMES;
    for (uint32_t i = 0; i < n139; i++)
        for (uint32_t k = 0; k < n445; k++) {
            int64_t d = p->t139[i] - p->t445[k];
            d = d < 0 ? -d : d;
            if (d < best)
                best = d;
        }
    return best;
}

/* The earliest CENSUS_SYN_TIMES of two lists of first times. */
static void merge_times(int64_t *dst, uint32_t nd, const int64_t *src, uint32_t ns)
{
    int64_t all[2 * CENSUS_SYN_TIMES];
    uint32_t n = 0;
    for (uint32_t i = 0; i < nd && i < CENSUS_SYN_TIMES; i++)
        all[n++] = dst[i];
    for (uint32_t i = 0; i < ns && i < CENSUS_SYN_TIMES; i++)
        all[n++] = src[i];
    for (uint32_t i = 1; i < n; i++) /* insertion sort: at most 8 */
        for (uint32_t k = i; k > 0 && all[k] < all[k - 1]; k--) {
            int64_t t = all[k];
            all[k] = all[k - 1];
            all[k - 1] = t;
        }
    for (uint32_t i = 0; i < n && i < CENSUS_SYN_TIMES; i++)
        dst[i] = all[i];
}

void census_fold_pair(struct census *c, const struct census_pair *p)
{
    struct census_pair *e = pair_get(c, &p->client, &p->server, pair_hash(c, &p->client, &p->server));
    if (!e) {
        c->pairs_dropped += p->syn139 + p->syn445;
        return;
    }
    order_stale(c);
    if (p->syn139 && (!e->syn139 || p->t139[0] < e->t139[0]))
        e->port139 = p->port139;
    merge_times(e->t139, e->syn139, p->t139, p->syn139);
    merge_times(e->t445, e->syn445, p->t445, p->syn445);
    e->syn139 += p->syn139;
    e->syn445 += p->syn445;
}

void census_add_dns_key(struct census *c, const char *key)
{
    if (g_hash_table_contains(c->dns_keys, key))
        return;
    if (g_hash_table_size(c->dns_keys) >= CENSUS_MAX_DNS_KEYS) {
        c->dns_keys_dropped++;
        return;
    }
    g_hash_table_add(c->dns_keys, g_strdup(key));
}

uint32_t census_pair_longest_probe(const struct census *c)
{
    uint32_t longest = 0;
    for (uint32_t i = 0; i < c->npairs; i++)
        if (c->pair_slots[i].tag) {
            uint32_t d = (i - c->pair_slots[i].tag) & (c->npairs - 1);
            longest = d > longest ? d : longest;
        }
    return longest;
}
