/* netbios.c - the NetBIOS ledger; see netbios.h.
 *
 * Who is the client of a UDP flow: the side NOT using a NetBIOS port; when
 * both use one (nmbd talking to nmbd, 137 <-> 137) the first sender.  An NBNS
 * answer to a broadcast query comes from the server's own address, so it
 * opens its own row; its transaction id still clears the broadcast query's
 * "no-answer" (matched on client address, port and id). */
#include "netbios.h"

#include <string.h>

#include "distinct.h"
#include "hosts.h"
#include "nbns.h"
#include "wire.h"
#include "past_cap.h"

#define NB_MAX_NAMES 32

struct nb_key {
    uint8_t proto, family;
    uint16_t client_port, server_port;
    uint8_t client[16], server[16];
};

/* An NBNS query waiting for its answer: the client socket and transaction id. */
struct nb_pending_key {
    uint8_t family;
    uint8_t pad;
    uint16_t port, id;
    uint8_t addr[16];
};

#define NB_MAX_PENDING 65536 /* past this, queries are not tracked (never called no-answer) */

struct nb_ledger {
    uint32_t max_rows;   /* rows itemised; beyond, packets go to `overflow` */
    struct nb_overflow overflow;
    struct nb_non_ip non_ip;
    GHashTable *by_key;  /* struct nb_key* -> struct nb_flow* (key lives in the row) */
    GPtrArray *rows;     /* struct nb_row*, first appearance order */
    GHashTable *pending; /* struct nb_pending_key* -> struct nb_flow* */
    GArray *orphans;     /* struct nb_nbns_xid: responses no query here matched (the first NB_MAX_ORPHANS) */
    uint64_t orphans_dropped; /* ... past NB_MAX_ORPHANS */
    struct nbns_msg nbns; /* decode scratch, reused for every datagram */
    struct nbds_msg nbds;
    struct host_table *hosts;      /* every address that spoke or was sent NetBIOS */
    struct distinct *overflow_flows; /* distinct flows among the overflow's packets */
    bool (*admit)(void *data, const struct nb_flow *f, uint32_t past, uint32_t cap); /* nb_ledger_admit_past_cap() */
    void *admit_data;
    bool fold_inexact; /* merge: which flows one run itemises is not known (nb_ledger_fold_inexact()) */
};

struct nb_row {
    struct nb_flow flow;
    struct nb_key key;
    /* The host records of its client and server (host_table_number() + 1;
     * 0 = not known yet), valid while the table's generation is host_gen:
     * every packet of a NetBIOS session updates both, and three look-ups
     * per packet were a good part of the ledger's cost on bulk NBT. */
    uint32_t host_c, host_s, host_gen;
};

/* FNV-1a over a key struct (memset to zero before filling: no stray padding). */
static guint fnv1a(const void *p, size_t n)
{
    const uint8_t *b = p;
    guint h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

/* Rows are looked up on every packet of a NetBIOS flow: the key by words
 * (the byte loop was a chain of 38 multiplies), never iterated, so the
 * hash decides nothing but speed. */
static guint key_hash(gconstpointer p)
{
    const struct nb_key *k = p;
    uint64_t w[4];
    memcpy(w, k->client, 16);
    memcpy(w + 2, k->server, 16);
    uint64_t h = ((uint64_t)k->proto << 40 | (uint64_t)k->family << 32 | (uint64_t)k->client_port << 16 | k->server_port)
        * UINT64_C(0x9E3779B97F4A7C15);
    h ^= w[0] * UINT64_C(0xC2B2AE3D27D4EB4F) ^ w[1] * UINT64_C(0x165667B19E3779F9);
    h ^= (w[2] + (h >> 31)) * UINT64_C(0xBF58476D1CE4E5B9) ^ w[3] * UINT64_C(0x94D049BB133111EB);
    h ^= h >> 29;
    h *= UINT64_C(0xBF58476D1CE4E5B9);
    return (guint)(h >> 32);
}
static gboolean key_equal(gconstpointer a, gconstpointer b) { return memcmp(a, b, sizeof(struct nb_key)) == 0; }
static guint pending_hash(gconstpointer p) { return fnv1a(p, sizeof(struct nb_pending_key)); }

static gboolean pending_equal(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, sizeof(struct nb_pending_key)) == 0;
}

static void row_free(gpointer p)
{
    struct nb_row *r = p;
    if (r->flow.names)
        g_ptr_array_free(r->flow.names, TRUE);
    g_free(r);
}

struct nb_ledger *nb_ledger_new(uint32_t max_rows)
{
    struct nb_ledger *l = g_new0(struct nb_ledger, 1);
    l->max_rows = max_rows ? max_rows : NB_DEFAULT_MAX_ROWS;
    l->by_key = g_hash_table_new(key_hash, key_equal);
    l->rows = g_ptr_array_new_with_free_func(row_free);
    l->pending = g_hash_table_new_full(pending_hash, pending_equal, g_free, NULL);
    l->hosts = host_table_new_compact(NB_HOST_RECORDS);
    l->overflow_flows = distinct_new(0);
    if (!l->hosts || !l->overflow_flows) {
        nb_ledger_free(l);
        return NULL;
    }
    return l;
}

void nb_ledger_free(struct nb_ledger *l)
{
    if (!l)
        return;
    g_hash_table_destroy(l->by_key);
    g_hash_table_destroy(l->pending);
    if (l->orphans)
        g_array_free(l->orphans, TRUE);
    g_ptr_array_free(l->rows, TRUE);
    host_table_free(l->hosts);
    distinct_free(l->overflow_flows);
    g_free(l);
}

static const struct {
    uint8_t proto;
    uint16_t port;
    enum nb_service service;
} nb_ports[] = { /* all within 137-139: nb_near_port() (netbios.h) tests that range first */
    { 17, 137, NB_SERVICE_NBNS },
    { 17, 138, NB_SERVICE_NBDGM },
    { 17, 139, NB_SERVICE_NBSS },
    { 6, 139, NB_SERVICE_NBSS },
};

static bool nb_port(uint8_t proto, uint16_t port, enum nb_service *svc)
{
    for (size_t i = 0; i < G_N_ELEMENTS(nb_ports); i++)
        if (nb_ports[i].proto == proto && nb_ports[i].port == port) {
            if (svc)
                *svc = nb_ports[i].service;
            return true;
        }
    return false;
}

bool nb_port_match(uint8_t proto, uint16_t sport, uint16_t dport)
{
    return nb_port(proto, sport, NULL) || nb_port(proto, dport, NULL);
}

static void make_key(struct nb_key *k, uint8_t proto, const struct ip_addr *c, uint16_t cport,
                     const struct ip_addr *s, uint16_t sport)
{
    memset(k, 0, sizeof *k);
    k->proto = proto;
    k->family = c->family;
    memcpy(k->client, c->bytes, 16);
    memcpy(k->server, s->bytes, 16);
    k->client_port = cport;
    k->server_port = sport;
}

struct nb_flow *nb_ledger_find(struct nb_ledger *l, uint8_t proto, const struct ip_addr *c, uint16_t cport,
                               const struct ip_addr *s, uint16_t sport)
{
    struct nb_key k;
    make_key(&k, proto, c, cport, s, sport);
    return g_hash_table_lookup(l->by_key, &k);
}

uint64_t nb_flow_key_hash(const struct nb_flow *f)
{
    struct nb_key k;
    make_key(&k, f->proto, &f->client, f->client_port, &f->server, f->server_port);
    return distinct_hash(&k, sizeof k);
}

/* A packet of a flow the ledger has no room for: counted, not itemised.
 * True when its flow was not seen before. */
static bool overflow_add(struct nb_ledger *l, const struct nb_key *k, enum nb_service svc, uint64_t packets,
                         uint64_t bytes, int64_t ts)
{
    struct nb_overflow *o = &l->overflow;
    if (!o->packets || ts < o->first_seen)
        o->first_seen = ts;
    if (!o->packets || ts > o->last_seen)
        o->last_seen = ts;
    o->packets += packets;
    o->bytes += bytes;
    o->by_service[svc] += packets;
    return distinct_add(l->overflow_flows, distinct_hash(k, sizeof *k));
}

/* The ledger is full: whether admit() takes a flow past the cap anyway
 * (up to PAST_CAP_CAPS caps in all). */
static bool admit_past_cap(struct nb_ledger *l, uint8_t proto, const struct ip_addr *c, uint16_t cport,
                           const struct ip_addr *s, uint16_t sport)
{
    if (!l->admit || l->rows->len >= PAST_CAP_CAPS * l->max_rows)
        return false;
    struct nb_flow f = { .proto = proto, .client = *c, .server = *s, .client_port = cport, .server_port = sport };
    return l->admit(l->admit_data, &f, l->rows->len - l->max_rows, l->max_rows);
}

/* NULL when the ledger is full (a flood of SYNs from distinct sources must
 * not grow memory without bound): the caller counts the packet in the
 * overflow instead. */
static struct nb_flow *create(struct nb_ledger *l, uint8_t proto, const struct ip_addr *c, uint16_t cport,
                              const struct ip_addr *s, uint16_t sport, enum nb_service svc, int64_t ts)
{
    if (l->rows->len >= l->max_rows && !admit_past_cap(l, proto, c, cport, s, sport))
        return NULL;
    struct nb_row *r = g_new0(struct nb_row, 1);
    make_key(&r->key, proto, c, cport, s, sport);
    r->flow.proto = proto;
    r->flow.client = *c;
    r->flow.server = *s;
    r->flow.client_port = cport;
    r->flow.server_port = sport;
    r->flow.service = svc;
    r->flow.first_seen = r->flow.last_seen = ts;
    g_hash_table_insert(l->by_key, &r->key, &r->flow);
    g_ptr_array_add(l->rows, r);
    return &r->flow;
}

/* Orient a packet: true when its source is the client of its flow. */
static bool src_is_client(struct nb_ledger *l, uint8_t proto, const struct packet *p, enum nb_service *svc)
{
    bool s_nb = nb_port(proto, p->sport, NULL), d_nb = nb_port(proto, p->dport, NULL);
    if (d_nb && !s_nb) {
        nb_port(proto, p->dport, svc);
        return true;
    }
    if (s_nb && !d_nb) {
        nb_port(proto, p->sport, svc);
        return false;
    }
    /* Both NetBIOS ports (nmbd talking to nmbd): an NBNS response comes from
     * the server; otherwise an existing row in either orientation decides. */
    nb_port(proto, p->dport, svc);
    if (proto == 17 && p->sport == 137 && p->dport == 137) {
        struct wire w = wire_make(p->payload, p->payload_len);
        if (wire_peek_u8(&w, 2) & 0x80)
            return false;
    }
    if (nb_ledger_find(l, proto, &p->dst, p->dport, &p->src, p->sport))
        return false;
    if (proto == 6 && (p->tcp_flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK))
        return false;
    return true;
}

static void add_nbname(struct nb_flow *f, const struct nbname *n, enum nbname_status st)
{
    if (st != NBNAME_OK)
        return;
    char buf[NBNAME_RENDER_MAX];
    nbname_render(n, buf, sizeof buf);
    nb_flow_add_name(f, buf);
}

/* Names a datagram carries: questions, answer records and node status
 * tables (NBNS), source and destination (NBDS). */
static void nbns_names(struct nb_flow *f, const struct nbns_msg *m)
{
    for (uint16_t i = 0; i < m->nq; i++)
        add_nbname(f, &m->q[i].name, m->q[i].name_status);
    for (uint16_t i = 0; i < m->nrr; i++)
        add_nbname(f, &m->rr[i].name, m->rr[i].name_status);
    for (uint16_t i = 0; i < m->nnodes; i++) {
        char buf[NBNAME_RENDER_MAX];
        nbname_render_raw(m->nodes[i].name, m->nodes[i].suffix, buf, sizeof buf);
        nb_flow_add_name(f, buf);
    }
}

static void nbns_track(struct nb_ledger *l, struct nb_flow *f, const struct packet *p, bool from_client)
{
    struct nbns_msg *m = &l->nbns;
    nbns_decode(p->payload, p->payload_len, m);
    if (m->used < 4)
        return; /* not even the transaction id and flags */
    nbns_names(f, m);
    const struct ip_addr *client = from_client ? &p->src : &p->dst;
    struct nb_pending_key k;
    memset(&k, 0, sizeof k);
    k.family = client->family;
    k.port = from_client ? p->sport : p->dport;
    k.id = m->id;
    memcpy(k.addr, client->bytes, 16);

    if (!m->response) {
        if (!from_client)
            return;
        f->requests++;
        if (m->opcode != NBNS_OP_QUERY)
            return; /* registrations and releases are often unanswered by design */
        f->queries++;
        /* A retransmitted query reuses its transaction id: one entry. */
        if (!g_hash_table_contains(l->pending, &k)) {
            if (g_hash_table_size(l->pending) < NB_MAX_PENDING)
                g_hash_table_insert(l->pending, g_memdup2(&k, sizeof k), f);
            else
                f->queries_untracked++;
        }
        return;
    }
    f->responses++;
    /* The answer clears the query on whichever row asked it: a broadcast
     * query is answered from the server's own address, on another row. */
    struct nb_flow *asked = g_hash_table_lookup(l->pending, &k);
    if (asked) {
        asked->queries_answered++;
        g_hash_table_remove(l->pending, &k);
        return;
    }
    if (!l->orphans)
        l->orphans = g_array_new(FALSE, TRUE, sizeof(struct nb_nbns_xid));
    if (l->orphans->len < NB_MAX_ORPHANS) {
        struct nb_nbns_xid x = { .client = *client, .port = k.port, .id = k.id, .ts = p->ts_us, .row = f };
        g_array_append_val(l->orphans, x);
    } else {
        l->orphans_dropped++;
    }
}

void nb_ledger_each_pending(const struct nb_ledger *l, void (*fn)(void *ctx, const struct nb_nbns_xid *x), void *ctx)
{
    GHashTableIter it;
    gpointer key, val;
    g_hash_table_iter_init(&it, l->pending);
    while (g_hash_table_iter_next(&it, &key, &val)) {
        const struct nb_pending_key *k = key;
        const struct nb_flow *row = val;
        struct nb_nbns_xid x = { .port = k->port, .id = k->id, .ts = row->last_seen, .row = row };
        x.client.family = k->family;
        memcpy(x.client.bytes, k->addr, sizeof x.client.bytes);
        fn(ctx, &x);
    }
}

const struct nb_nbns_xid *nb_ledger_orphans(const struct nb_ledger *l, guint *n, uint64_t *dropped)
{
    *n = l->orphans ? l->orphans->len : 0;
    *dropped = l->orphans_dropped;
    return l->orphans ? (const struct nb_nbns_xid *)(void *)l->orphans->data : NULL;
}

static void nbds_track(struct nb_ledger *l, struct nb_flow *f, const struct packet *p)
{
    struct nbds_msg *m = &l->nbds;
    nbds_decode(p->payload, p->payload_len, m);
    if (m->type >= NBDS_DIRECT_UNIQUE && m->type <= NBDS_BROADCAST) {
        add_nbname(f, &m->src, m->src_status);
        add_nbname(f, &m->dst, m->dst_status);
    } else if (m->type >= NBDS_QUERY_REQUEST && m->type <= NBDS_NEGATIVE_QUERY) {
        add_nbname(f, &m->dst, m->dst_status);
    }
}

/* ---- hosts ----------------------------------------------------------- */

/* A NetBIOS broadcast names its destination as a broadcast address: the
 * NBNS B flag (RFC 1002 4.2.1.1), NBDS broadcast and group datagrams. */
static void learn_broadcast(struct nb_ledger *l, enum nb_service svc, const struct packet *p)
{
    struct wire w = wire_make(p->payload, p->payload_len);
    if (svc == NB_SERVICE_NBNS && p->payload_len >= 4 && !(wire_peek_u8(&w, 2) & 0x80) && (wire_peek_u8(&w, 3) & 0x10))
        host_table_learn_broadcast(l->hosts, &p->dst);
    else if (svc == NB_SERVICE_NBDGM && p->payload_len >= 1 &&
             (wire_peek_u8(&w, 0) == NBDS_DIRECT_GROUP || wire_peek_u8(&w, 0) == NBDS_BROADCAST))
        host_table_learn_broadcast(l->hosts, &p->dst);
}

/* One packet of a flow, for the hosts: the client (or broadcaster) spoke;
 * the server spoke only when it answered with something else than a refusal
 * (RST, ICMP): a server that refused or ignored an attempt is its target. */
/* host_table_get() of a, through the row's remembered record number when
 * it has one (*number; NULL: no row). */
static struct host_rec *host_of(struct nb_ledger *l, uint32_t *number, const struct ip_addr *a, int64_t ts)
{
    if (number && *number)
        return host_table_touch(l->hosts, *number - 1, ts);
    struct host_rec *r = host_table_get(l->hosts, a, ts);
    if (number && r)
        *number = host_table_number(l->hosts, r) + 1;
    return r;
}

/* note_hosts() of an end without a record (host_table_new_compact()):
 * its roles, as the record's below, and whether it opened a flow past the
 * ledger's rows. */
static void note_compact(struct nb_ledger *l, const struct host_rec *hc, const struct host_rec *hs,
                         const struct ip_addr *c, const struct ip_addr *s, bool bcast, bool from_client, bool refusal,
                         bool unlisted)
{
    if (!hc)
        host_table_compact_or(l->hosts, c,
                              (from_client ? (bcast ? HOST_NB_BROADCASTER : HOST_NB_CLIENT) : 0u) |
                                  (unlisted ? HOST_C_UNLISTED : 0u));
    if (!hs && !bcast)
        host_table_compact_or(l->hosts, s,
                              HOST_NB_TARGET | (from_client ? 0u : refusal ? HOST_C_REFUSED : HOST_NB_SERVER));
}

static void note_hosts(struct nb_ledger *l, struct nb_row *row, const struct ip_addr *c, const struct ip_addr *s,
                       enum nb_service svc, bool from_client, bool refusal, bool new_flow, bool unlisted, int64_t ts)
{
    if (row && row->host_gen != host_table_generation(l->hosts)) {
        row->host_c = row->host_s = 0;
        row->host_gen = host_table_generation(l->hosts);
    }
    bool bcast = host_is_broadcast(l->hosts, s);
    struct host_rec *hc = host_of(l, row ? &row->host_c : NULL, c, ts);
    struct host_rec *hs = bcast ? NULL : host_of(l, row ? &row->host_s : NULL, s, ts);
    /* Adding the server may have grown (moved) the records: the client's
     * pointer is taken again (valgrind: writes to the freed block, so a
     * client's counts were lost whenever its server was new at a growth). */
    if (hc && hs)
        hc = row ? host_table_at(l->hosts, row->host_c - 1) : host_table_find(l->hosts, c);
    /* Any packet of a flow past the rows says its client opened one (that
     * it is new is known only while the overflow counts its flows
     * exactly, to 1,048,576: past that a client's first such flow still
     * makes it one to fix). */
    if (!hc || (!hs && !bcast)) /* past the records' cap: the bits the counts need */
        note_compact(l, hc, hs, c, s, bcast, from_client, refusal, unlisted);
    if (hc && new_flow) {
        hc->nb_flows++;
        hc->nb_flows_unlisted += unlisted;
    } else if (hc && unlisted && !hc->nb_flows_unlisted) {
        hc->nb_flows_unlisted = 1;
    }
    if (hs && new_flow)
        hs->nb_flows_served++;
    if (from_client) {
        if (hc) {
            hc->nb_roles |= bcast ? HOST_NB_BROADCASTER : HOST_NB_CLIENT;
            hc->services_sent |= 1u << svc;
            hc->nb_packets_sent++;
        }
        if (hs)
            hs->nb_roles |= HOST_NB_TARGET;
    } else if (hs) {
        hs->nb_roles |= HOST_NB_TARGET;
        if (refusal) {
            hs->refused = 1;
        } else {
            hs->nb_roles |= HOST_NB_SERVER;
            hs->services_sent |= 1u << svc;
            hs->nb_packets_sent++;
        }
    }
}

const struct host_table *nb_ledger_hosts(const struct nb_ledger *l) { return l->hosts; }
uint64_t nb_ledger_overflow_flows(const struct nb_ledger *l) { return distinct_count(l->overflow_flows); }

static struct nb_flow *icmp_packet(struct nb_ledger *l, const struct packet *p)
{
    const struct icmp_embedded *e = &p->icmp;
    if (!nb_port(e->proto, e->dport, NULL) || (e->proto != 6 && e->proto != 17))
        return NULL;
    /* The embedded packet went client -> server. */
    struct nb_flow *f = nb_ledger_find(l, e->proto, &e->src, e->sport, &e->dst, e->dport);
    if (!f) {
        enum nb_service svc = NB_SERVICE_NBNS;
        nb_port(e->proto, e->dport, &svc);
        f = create(l, e->proto, &e->src, e->sport, &e->dst, e->dport, svc, p->ts_us);
        if (!f) {
            struct nb_key k;
            make_key(&k, e->proto, &e->src, e->sport, &e->dst, e->dport);
            bool fresh = overflow_add(l, &k, svc, 1, p->wirelen, p->ts_us);
            note_hosts(l, NULL, &e->src, &e->dst, svc, false, true, fresh, true, p->ts_us);
            return NULL;
        }
        note_hosts(l, NULL, &e->src, &e->dst, svc, false, true, true, false, p->ts_us);
    } else {
        note_hosts(l, NULL, &e->src, &e->dst, f->service, false, true, false, false, p->ts_us);
    }
    f->icmp_refused = true;
    f->packets++;
    f->bytes += p->wirelen;
    f->last_seen = p->ts_us;
    return f;
}

struct nb_flow *nb_ledger_packet(struct nb_ledger *l, const struct packet *p) { return nb_ledger_packet_inline(l, p); }

struct nb_flow *nb_ledger_packet_full(struct nb_ledger *l, const struct packet *p)
{
    uint8_t proto;
    if (p->l4 == L4_TCP)
        proto = 6;
    else if (p->l4 == L4_UDP)
        proto = 17;
    else if (p->l4 == L4_ICMP_UNREACH)
        return icmp_packet(l, p);
    else
        return NULL;
    if (!nb_port_match(proto, p->sport, p->dport))
        return NULL;

    enum nb_service svc = NB_SERVICE_NBSS;
    bool from_client = src_is_client(l, proto, p, &svc);
    const struct ip_addr *c = from_client ? &p->src : &p->dst;
    const struct ip_addr *s = from_client ? &p->dst : &p->src;
    uint16_t cport = from_client ? p->sport : p->dport;
    uint16_t sport = from_client ? p->dport : p->sport;
    if (from_client && proto == 17)
        learn_broadcast(l, svc, p);
    bool refusal = !from_client && proto == 6 && (p->tcp_flags & TCP_RST);
    struct nb_flow *f = nb_ledger_find(l, proto, c, cport, s, sport);
    bool fresh = !f;
    if (!f)
        f = create(l, proto, c, cport, s, sport, svc, p->ts_us);
    if (!f) {
        struct nb_key k;
        make_key(&k, proto, c, cport, s, sport);
        fresh = overflow_add(l, &k, svc, 1, p->wirelen, p->ts_us);
        note_hosts(l, NULL, c, s, svc, from_client, refusal, fresh, true, p->ts_us);
        return NULL;
    }
    note_hosts(l, (struct nb_row *)(void *)f, c, s, svc, from_client, refusal, fresh, false, p->ts_us);
    f->packets++;
    f->bytes += p->wirelen;
    if (p->ts_us < f->first_seen)
        f->first_seen = p->ts_us;
    if (p->ts_us > f->last_seen)
        f->last_seen = p->ts_us;

    if (proto == 6) {
        uint8_t fl = p->tcp_flags;
        if (from_client && (fl & (TCP_SYN | TCP_ACK)) == TCP_SYN)
            f->syn = true;
        if (!from_client) {
            if ((fl & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK))
                f->synack = true;
            else if (fl & TCP_RST)
                f->rst_from_server = true;
            else
                f->server_spoke = true;
        }
    } else {
        if (!from_client)
            f->server_spoke = true;
        if (svc == NB_SERVICE_NBNS)
            nbns_track(l, f, p, from_client);
        else if (svc == NB_SERVICE_NBDGM)
            nbds_track(l, f, p);
    }
    return f;
}

struct nb_flow *nb_ledger_add_nbss_conn(struct nb_ledger *l, const struct ip_addr *client, uint16_t client_port,
                                        const struct ip_addr *server, uint16_t server_port, uint64_t packets,
                                        uint64_t bytes, int64_t first_seen, int64_t last_seen, bool server_spoke)
{
    struct nb_flow *f = nb_ledger_find(l, 6, client, client_port, server, server_port);
    bool fresh = !f;
    if (!f)
        f = create(l, 6, client, client_port, server, server_port, NB_SERVICE_NBSS, first_seen);
    if (!f) {
        struct nb_key k;
        make_key(&k, 6, client, client_port, server, server_port);
        fresh = overflow_add(l, &k, NB_SERVICE_NBSS, packets, bytes, first_seen);
    }
    note_hosts(l, NULL, client, server, NB_SERVICE_NBSS, true, false, fresh, !f, first_seen);
    if (server_spoke)
        note_hosts(l, NULL, client, server, NB_SERVICE_NBSS, false, false, false, !f, last_seen);
    if (!f)
        return NULL;
    f->nbss_elsewhere = true;
    f->packets += packets;
    f->bytes += bytes;
    if (first_seen < f->first_seen)
        f->first_seen = first_seen;
    if (last_seen > f->last_seen)
        f->last_seen = last_seen;
    f->server_spoke |= server_spoke;
    return f;
}

void nb_flow_add_name(struct nb_flow *f, const char *text)
{
    if (!f->names)
        f->names = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < f->names->len; i++)
        if (strcmp(g_ptr_array_index(f->names, i), text) == 0)
            return;
    if (f->names->len >= NB_MAX_NAMES) {
        f->names_dropped++;
        return;
    }
    g_ptr_array_add(f->names, g_strdup(text));
}

enum nb_state nb_flow_state(const struct nb_flow *f)
{
    if (f->proto == 6) {
        if (f->synack || f->server_spoke)
            return NB_STATE_ESTABLISHED;
        if (f->rst_from_server || f->icmp_refused)
            return NB_STATE_REFUSED;
        return NB_STATE_NO_ANSWER; /* a SYN, or client data, with nothing back */
    }
    if (f->icmp_refused)
        return NB_STATE_REFUSED;
    /* An attempt only if all it did was ask: registrations and announcements
     * are unanswered by design and make the flow NetBIOS traffic. */
    if (f->queries && f->requests == f->queries && !f->server_spoke && !f->queries_answered && !f->queries_untracked)
        return NB_STATE_NO_ANSWER;
    return NB_STATE_DATAGRAM;
}

static const char *const state_names[] = {
    [NB_STATE_DATAGRAM] = "datagram",
    [NB_STATE_ESTABLISHED] = "established",
    [NB_STATE_REFUSED] = "refused",
    [NB_STATE_NO_ANSWER] = "no-answer",
};

static const char *const service_names[] = {
    [NB_SERVICE_NBNS] = "nbns",
    [NB_SERVICE_NBDGM] = "nbdgm",
    [NB_SERVICE_NBSS] = "nbss",
};

const char *nb_state_name(enum nb_state s) { return (unsigned)s < G_N_ELEMENTS(state_names) ? state_names[s] : "unknown"; }
const char *nb_service_name(enum nb_service s) { return (unsigned)s < G_N_ELEMENTS(service_names) ? service_names[s] : "unknown"; }
bool nb_state_is_attempt(enum nb_state s) { return s == NB_STATE_REFUSED || s == NB_STATE_NO_ANSWER; }

guint nb_ledger_count(const struct nb_ledger *l) { return l->rows->len; }

const struct nb_overflow *nb_ledger_overflow(const struct nb_ledger *l) { return &l->overflow; }

#define LLC_SAP_NETBIOS 0xF0       /* IEEE 802.2 SAP of the NetBIOS Frames protocol; 0xF1 its group */
#define IPX_SOCKET_NETBIOS 0x0455

bool nb_ledger_non_ip(struct nb_ledger *l, const struct packet *pkt)
{
    bool netbeui = pkt->llc && (pkt->llc_dsap & 0xFE) == LLC_SAP_NETBIOS;
    bool nbipx = pkt->ipx && (pkt->ipx_dst_socket == IPX_SOCKET_NETBIOS || pkt->ipx_src_socket == IPX_SOCKET_NETBIOS);
    if (!netbeui && !nbipx)
        return false;
    struct nb_non_ip *n = &l->non_ip;
    if (!n->netbeui && !n->nbipx)
        n->first_seen = n->last_seen = pkt->ts_us;
    if (pkt->ts_us < n->first_seen)
        n->first_seen = pkt->ts_us;
    if (pkt->ts_us > n->last_seen)
        n->last_seen = pkt->ts_us;
    if (netbeui)
        n->netbeui++;
    else
        n->nbipx++;
    return true;
}

const struct nb_non_ip *nb_ledger_non_ip_counts(const struct nb_ledger *l) { return &l->non_ip; }
uint32_t nb_ledger_max_rows(const struct nb_ledger *l) { return l->max_rows; }

const struct nb_flow *nb_ledger_row(const struct nb_ledger *l, guint i)
{
    return i < l->rows->len ? &((const struct nb_row *)g_ptr_array_index(l->rows, i))->flow : NULL;
}

/* ---- merge ------------------------------------------------------------ */

void nb_ledger_admit_past_cap(struct nb_ledger *l,
                              bool (*admit)(void *data, const struct nb_flow *f, uint32_t past, uint32_t cap),
                              void *data)
{
    l->admit = admit;
    l->admit_data = data;
}

bool nb_ledger_overflow_has(const struct nb_ledger *l, const struct nb_flow *f)
{
    struct nb_key k;
    make_key(&k, f->proto, &f->client, f->client_port, &f->server, f->server_port);
    return distinct_has(l->overflow_flows, distinct_hash(&k, sizeof k));
}

struct distinct *nb_ledger_overflow_set(struct nb_ledger *l) { return l->overflow_flows; }
struct host_table *nb_ledger_hosts_mut(struct nb_ledger *l) { return l->hosts; }

static void widen(int64_t *first, int64_t *last, int64_t f, int64_t t)
{
    if (f < *first)
        *first = f;
    if (t > *last)
        *last = t;
}

void nb_ledger_fold_row(struct nb_ledger *l, const struct nb_flow *f, bool *joined)
{
    struct nb_flow *r = nb_ledger_find(l, f->proto, &f->client, f->client_port, &f->server, f->server_port);
    *joined = r != NULL;
    if (!r)
        r = create(l, f->proto, &f->client, f->client_port, &f->server, f->server_port, f->service, f->first_seen);
    if (!r) {
        struct nb_key k;
        make_key(&k, f->proto, &f->client, f->client_port, &f->server, f->server_port);
        overflow_add(l, &k, f->service, f->packets, f->bytes, f->first_seen);
        widen(&l->overflow.first_seen, &l->overflow.last_seen, f->first_seen, f->last_seen);
        return;
    }
    /* The names in the order the run over both captures saw them: a row of
     * an earlier capture folded after a later one's puts its names first
     * (the same list whatever order merge reads the reports in). */
    bool earlier = f->first_seen < r->first_seen && f->names && f->names->len && r->names && r->names->len;
    if (earlier) {
        GPtrArray *later = r->names;
        r->names = NULL;
        for (guint i = 0; i < f->names->len; i++)
            nb_flow_add_name(r, g_ptr_array_index(f->names, i));
        for (guint i = 0; i < later->len; i++)
            nb_flow_add_name(r, g_ptr_array_index(later, i));
        g_ptr_array_free(later, TRUE);
    }
    r->packets += f->packets;
    r->bytes += f->bytes;
    widen(&r->first_seen, &r->last_seen, f->first_seen, f->last_seen);
    r->syn |= f->syn;
    r->synack |= f->synack;
    r->rst_from_server |= f->rst_from_server;
    r->icmp_refused |= f->icmp_refused;
    r->server_spoke |= f->server_spoke;
    r->nbss_elsewhere |= f->nbss_elsewhere;
    r->requests += f->requests;
    r->queries += f->queries;
    r->responses += f->responses;
    r->queries_answered += f->queries_answered;
    r->queries_untracked += f->queries_untracked;
    r->names_dropped += f->names_dropped;
    for (guint i = 0; !earlier && f->names && i < f->names->len; i++)
        nb_flow_add_name(r, g_ptr_array_index(f->names, i));
}

void nb_ledger_mark_fold_inexact(struct nb_ledger *l) { l->fold_inexact = true; }
bool nb_ledger_fold_inexact(const struct nb_ledger *l) { return l->fold_inexact; }

void nb_ledger_fold_counts(struct nb_ledger *l, const struct nb_overflow *o, const struct nb_non_ip *n)
{
    struct nb_overflow *lo = &l->overflow;
    if (o->packets) {
        if (!lo->packets) {
            lo->first_seen = o->first_seen;
            lo->last_seen = o->last_seen;
        }
        widen(&lo->first_seen, &lo->last_seen, o->first_seen, o->last_seen);
        lo->packets += o->packets;
        lo->bytes += o->bytes;
        for (int i = 0; i < 3; i++)
            lo->by_service[i] += o->by_service[i];
    }
    if (n->netbeui || n->nbipx) {
        if (!l->non_ip.netbeui && !l->non_ip.nbipx) {
            l->non_ip.first_seen = n->first_seen;
            l->non_ip.last_seen = n->last_seen;
        }
        widen(&l->non_ip.first_seen, &l->non_ip.last_seen, n->first_seen, n->last_seen);
        l->non_ip.netbeui += n->netbeui;
        l->non_ip.nbipx += n->nbipx;
    }
}

static gint row_order(gconstpointer pa, gconstpointer pb)
{
    const struct nb_row *a = *(const struct nb_row *const *)pa, *b = *(const struct nb_row *const *)pb;
    if (a->flow.first_seen != b->flow.first_seen)
        return a->flow.first_seen < b->flow.first_seen ? -1 : 1;
    return memcmp(&a->key, &b->key, sizeof a->key);
}

void nb_ledger_sort_rows(struct nb_ledger *l) { g_ptr_array_sort(l->rows, row_order); }

struct rows_by {
    GCompareDataFunc cmp;
    gpointer data;
};

static gint row_order_by(gconstpointer pa, gconstpointer pb, gpointer data)
{
    const struct rows_by *by = data;
    const struct nb_row *a = *(const struct nb_row *const *)pa, *b = *(const struct nb_row *const *)pb;
    gint r = by->cmp(&a->flow, &b->flow, by->data);
    return r ? r : row_order(pa, pb);
}

void nb_ledger_sort_rows_by(struct nb_ledger *l, GCompareDataFunc cmp, gpointer data)
{
    struct rows_by by = { cmp, data };
    g_ptr_array_sort_with_data(l->rows, row_order_by, &by);
}
