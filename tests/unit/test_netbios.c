/* The NetBIOS ledger: states per RFC 1002 service and TCP/ICMP evidence. */
#include <glib.h>
#include <string.h>

#include "distinct.h"
#include "hosts.h"
#include "netbios.h"

static struct ip_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    struct ip_addr x = { 4, { a, b, c, d } };
    return x;
}

static struct packet tcp(struct ip_addr s, uint16_t sp, struct ip_addr d, uint16_t dp, uint8_t flags)
{
    struct packet p;
    memset(&p, 0, sizeof p);
    p.src = s; p.dst = d; p.sport = sp; p.dport = dp;
    p.l4 = L4_TCP; p.ip_proto = 6; p.tcp_flags = flags; p.wirelen = 60; p.ts_us = 1000;
    return p;
}

static struct packet udp(struct ip_addr s, uint16_t sp, struct ip_addr d, uint16_t dp, const uint8_t *pl, uint32_t n)
{
    struct packet p;
    memset(&p, 0, sizeof p);
    p.src = s; p.dst = d; p.sport = sp; p.dport = dp;
    p.l4 = L4_UDP; p.ip_proto = 17; p.payload = pl; p.payload_len = p.payload_wire_len = n; p.wirelen = 42 + n;
    return p;
}

/* NBNS header: id, flags (query 0x0110 = RD+B, response 0x8500). */
static const uint8_t nbns_query[] = { 0x12, 0x34, 0x01, 0x10, 0, 1, 0, 0, 0, 0, 0, 0 };
static const uint8_t nbns_reply[] = { 0x12, 0x34, 0x85, 0x00, 0, 0, 0, 1, 0, 0, 0, 0 };
static const uint8_t nbns_query2[] = { 0x55, 0x66, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };
/* a registration (opcode 5), broadcast, which nobody answers by design */
static const uint8_t nbns_register[] = { 0x77, 0x01, 0x29, 0x10, 0, 1, 0, 0, 0, 0, 0, 1 };

static void test_tcp_states(void)
{
    struct nb_ledger *l = nb_ledger_new(0);
    struct ip_addr c = v4(10, 0, 0, 2), s = v4(10, 0, 0, 1);
    struct packet p;

    p = tcp(c, 40001, s, 139, TCP_SYN);
    nb_ledger_packet(l, &p);
    p = tcp(s, 139, c, 40001, TCP_RST | TCP_ACK);
    struct nb_flow *refused = nb_ledger_packet(l, &p);

    p = tcp(c, 40002, s, 139, TCP_SYN);
    struct nb_flow *silent = nb_ledger_packet(l, &p);

    p = tcp(c, 40003, s, 139, TCP_SYN);
    nb_ledger_packet(l, &p);
    p = tcp(s, 139, c, 40003, TCP_SYN | TCP_ACK);
    struct nb_flow *ok = nb_ledger_packet(l, &p);

    p = tcp(c, 40004, s, 445, TCP_SYN);
    g_assert_null(nb_ledger_packet(l, &p));

    g_assert_cmpuint(nb_ledger_count(l), ==, 3);
    g_assert_cmpstr(nb_state_name(nb_flow_state(refused)), ==, "refused");
    g_assert_cmpstr(nb_state_name(nb_flow_state(silent)), ==, "no-answer");
    g_assert_cmpstr(nb_state_name(nb_flow_state(ok)), ==, "established");
    g_assert_cmpuint(refused->packets, ==, 2);
    g_assert_cmpuint(refused->client_port, ==, 40001);
    g_assert_cmpuint(refused->server_port, ==, 139);
    g_assert_cmpstr(nb_service_name(ok->service), ==, "nbss");
    g_assert_true(nb_state_is_attempt(nb_flow_state(silent)));
    nb_ledger_free(l);
}

static void test_nbns_broadcast_answered(void)
{
    struct nb_ledger *l = nb_ledger_new(0);
    struct ip_addr c = v4(10, 0, 0, 2), s = v4(10, 0, 0, 1), bc = v4(10, 0, 0, 255);
    struct packet p = udp(c, 40000, bc, 137, nbns_query, sizeof nbns_query);
    struct nb_flow *q = nb_ledger_packet(l, &p);
    g_assert_cmpstr(nb_state_name(nb_flow_state(q)), ==, "no-answer");
    p = udp(s, 137, c, 40000, nbns_reply, sizeof nbns_reply);
    struct nb_flow *r = nb_ledger_packet(l, &p);
    g_assert_true(q != r);
    g_assert_cmpstr(nb_state_name(nb_flow_state(q)), ==, "datagram");
    g_assert_cmpstr(nb_state_name(nb_flow_state(r)), ==, "datagram");
    /* the answer's row is oriented client -> server */
    g_assert_cmpuint(r->client_port, ==, 40000);
    g_assert_cmpuint(r->server_port, ==, 137);
    g_assert_cmpstr(nb_service_name(r->service), ==, "nbns");
    nb_ledger_free(l);
}

static void test_nbns_unanswered_and_icmp(void)
{
    struct nb_ledger *l = nb_ledger_new(0);
    struct ip_addr c = v4(10, 0, 0, 2), s = v4(10, 0, 0, 1);
    struct packet p = udp(c, 40010, s, 137, nbns_query2, sizeof nbns_query2);
    struct nb_flow *q = nb_ledger_packet(l, &p);
    g_assert_cmpstr(nb_state_name(nb_flow_state(q)), ==, "no-answer");
    nb_ledger_packet(l, &p); /* the retransmission, same transaction id */
    g_assert_cmpstr(nb_state_name(nb_flow_state(q)), ==, "no-answer");
    g_assert_cmpuint(q->queries, ==, 2);

    p = udp(c, 40013, v4(10, 0, 0, 255), 137, nbns_register, sizeof nbns_register);
    struct nb_flow *reg = nb_ledger_packet(l, &p);
    g_assert_cmpstr(nb_state_name(nb_flow_state(reg)), ==, "datagram");

    p = udp(c, 40011, s, 137, nbns_query2, sizeof nbns_query2);
    struct nb_flow *q2 = nb_ledger_packet(l, &p);
    struct packet icmp;
    memset(&icmp, 0, sizeof icmp);
    icmp.src = s; icmp.dst = c; icmp.l4 = L4_ICMP_UNREACH; icmp.wirelen = 70;
    icmp.icmp.type = 3; icmp.icmp.code = 3; icmp.icmp.proto = 17;
    icmp.icmp.src = c; icmp.icmp.dst = s; icmp.icmp.sport = 40011; icmp.icmp.dport = 137;
    g_assert_true(nb_ledger_packet(l, &icmp) == q2);
    g_assert_cmpstr(nb_state_name(nb_flow_state(q2)), ==, "refused");

    /* an ICMP error about a probe we never captured still makes a row */
    icmp.icmp.sport = 40012;
    icmp.icmp.proto = 6;
    icmp.icmp.dport = 139;
    struct nb_flow *ghost = nb_ledger_packet(l, &icmp);
    g_assert_nonnull(ghost);
    g_assert_cmpuint(ghost->proto, ==, 6);
    g_assert_cmpstr(nb_state_name(nb_flow_state(ghost)), ==, "refused");
    /* ICMP about port 445 is not NetBIOS */
    icmp.icmp.dport = 445;
    g_assert_null(nb_ledger_packet(l, &icmp));
    nb_ledger_free(l);
}

static void test_nmbd_to_nmbd_and_names(void)
{
    struct nb_ledger *l = nb_ledger_new(0);
    struct ip_addr a = v4(10, 0, 0, 2), b = v4(10, 0, 0, 1);
    static const uint8_t dgm[] = { 0x11, 0x02, 0, 1 };
    struct packet p = udp(a, 138, b, 138, dgm, sizeof dgm);
    struct nb_flow *f = nb_ledger_packet(l, &p);
    p = udp(b, 138, a, 138, dgm, sizeof dgm);
    g_assert_true(nb_ledger_packet(l, &p) == f); /* the reply joins the first sender's row */
    g_assert_cmpstr(nb_service_name(f->service), ==, "nbdgm");
    g_assert_cmpuint(f->packets, ==, 2);
    nb_flow_add_name(f, "WORKGROUP<1d>");
    nb_flow_add_name(f, "WORKGROUP<1d>");
    for (int i = 0; i < 100; i++) {
        char n[32];
        g_snprintf(n, sizeof n, "HOST%d<20>", i);
        nb_flow_add_name(f, n);
    }
    g_assert_cmpuint(f->names->len, ==, 32);
    g_assert_cmpuint(f->names_dropped, ==, 69);
    nb_ledger_free(l);
}

/* A flood of NetBIOS flows: the ledger itemises max_rows of them and counts
 * the packets of the rest, so memory stays bounded. */
static void test_row_cap(void)
{
    struct nb_ledger *l = nb_ledger_new(100);
    struct ip_addr s = v4(10, 0, 0, 1);
    for (unsigned i = 0; i < 1000; i++) {
        struct packet p = tcp(v4(10, 1, (uint8_t)(i >> 8), (uint8_t)i), 40000, s, 139, TCP_SYN);
        p.ts_us = 1000 + i;
        nb_ledger_packet(l, &p);
    }
    g_assert_cmpuint(nb_ledger_count(l), ==, 100);
    const struct nb_overflow *o = nb_ledger_overflow(l);
    g_assert_cmpuint(o->packets, ==, 900);
    g_assert_cmpuint(o->by_service[NB_SERVICE_NBSS], ==, 900);
    g_assert_cmpint(o->first_seen, ==, 1100);
    g_assert_cmpint(o->last_seen, ==, 1999);
    /* a listed flow still counts its packets */
    struct packet again = tcp(v4(10, 1, 0, 5), 40000, s, 139, TCP_SYN);
    g_assert_nonnull(nb_ledger_packet(l, &again));
    g_assert_cmpuint(o->packets, ==, 900);
    nb_ledger_free(l);
}

/* NetBIOS without IP: NetBEUI (802.2 LLC SAP 0xF0/0xF1) and IPX socket 0x0455. */
static void test_non_ip(void)
{
    struct nb_ledger *l = nb_ledger_new(0);
    struct packet p;
    memset(&p, 0, sizeof p);
    p.ts_us = 5000;
    p.llc = true;
    p.llc_dsap = 0xF0;
    g_assert_true(nb_ledger_non_ip(l, &p));
    p.llc_dsap = 0xF1; /* the NetBIOS group SAP */
    p.ts_us = 4000;
    g_assert_true(nb_ledger_non_ip(l, &p));
    p.llc_dsap = 0x42; /* spanning tree */
    g_assert_false(nb_ledger_non_ip(l, &p));
    memset(&p, 0, sizeof p);
    p.ts_us = 6000;
    p.ipx = true;
    p.ipx_dst_socket = 0x0455;
    g_assert_true(nb_ledger_non_ip(l, &p));
    p.ipx_dst_socket = 0x0452; /* SAP: IPX, but not NetBIOS */
    g_assert_false(nb_ledger_non_ip(l, &p));
    const struct nb_non_ip *n = nb_ledger_non_ip_counts(l);
    g_assert_cmpuint(n->netbeui, ==, 2);
    g_assert_cmpuint(n->nbipx, ==, 1);
    g_assert_cmpint(n->first_seen, ==, 4000);
    g_assert_cmpint(n->last_seen, ==, 6000);
    nb_ledger_free(l);
}

/* Every client and every server new: the host table grows (and moves its
 * records) while a packet's client record is held; each client still gets
 * its packet and its role (the client's pointer was used after the move). */
static void test_hosts_growth(void)
{
    struct nb_ledger *l = nb_ledger_new(0);
    enum { N = 3000 };
    /* One broadcast first (its destination gets no record): from then on
     * the table fills up, and moves, on a packet's server. */
    struct packet b = udp(v4(10, 3, 0, 1), 40000, v4(10, 255, 255, 255), 137, nbns_query, sizeof nbns_query);
    nb_ledger_packet(l, &b);
    for (unsigned i = 0; i < N; i++) {
        struct packet p = udp(v4(10, 1, (uint8_t)(i >> 8), (uint8_t)i), 40000, v4(10, 2, (uint8_t)(i >> 8), (uint8_t)i),
                              137, nbns_query2, sizeof nbns_query2);
        nb_ledger_packet(l, &p);
    }
    const struct host_table *t = nb_ledger_hosts(l);
    for (unsigned i = 0; i < N; i++) {
        struct ip_addr c = v4(10, 1, (uint8_t)(i >> 8), (uint8_t)i), s = v4(10, 2, (uint8_t)(i >> 8), (uint8_t)i);
        const struct host_rec *hc = host_table_find(t, &c), *hs = host_table_find(t, &s);
        g_assert_nonnull(hc);
        g_assert_nonnull(hs);
        g_assert_cmpuint(hc->nb_packets_sent, ==, 1);
        g_assert_cmpuint(hc->nb_flows, ==, 1);
        g_assert_true(hc->nb_roles & HOST_NB_CLIENT);
        g_assert_true(hs->nb_roles & HOST_NB_TARGET);
        g_assert_cmpuint(hs->nb_flows_served, ==, 1);
    }
    nb_ledger_free(l);
}

/* The ledger remembers each row's host records by number: the numbers must
 * follow the table when it is sorted (records move) between packets, and
 * every packet must still land on its own hosts with its own time. */
static void test_hosts_remembered(void)
{
    struct nb_ledger *l = nb_ledger_new(0);
    enum { N = 600, ROUNDS = 4 };
    for (unsigned r = 0; r < ROUNDS; r++) {
        if (r == 2) /* first-seen order is the reverse of creation order: every record moves */
            host_table_sort(nb_ledger_hosts_mut(l));
        for (unsigned i = 0; i < N; i++) {
            struct ip_addr c = v4(10, 4, (uint8_t)(i >> 8), (uint8_t)i), s = v4(10, 5, (uint8_t)(i % 7), 1);
            struct packet p = tcp(c, (uint16_t)(50000 + i), s, 139, r == 0 ? TCP_SYN : TCP_ACK);
            p.ts_us = 1000000 - (int64_t)i + (int64_t)r * 10000000;
            nb_ledger_packet(l, &p);
            struct packet q = tcp(s, 139, c, (uint16_t)(50000 + i), r == 0 ? (TCP_SYN | TCP_ACK) : TCP_ACK);
            q.ts_us = p.ts_us + 1;
            nb_ledger_packet(l, &q);
        }
    }
    const struct host_table *t = nb_ledger_hosts(l);
    g_assert_cmpuint(host_table_size(t), ==, N + 7);
    for (unsigned i = 0; i < N; i++) {
        struct ip_addr c = v4(10, 4, (uint8_t)(i >> 8), (uint8_t)i);
        const struct host_rec *hc = host_table_find(t, &c);
        g_assert_nonnull(hc);
        g_assert_cmpuint(hc->nb_packets_sent, ==, ROUNDS);
        g_assert_cmpuint(hc->nb_flows, ==, 1);
        g_assert_cmpint(hc->first_seen, ==, 1000000 - (int64_t)i);
        g_assert_cmpint(hc->last_seen, ==, 1000000 - (int64_t)i + (ROUNDS - 1) * 10000000 + 1);
        g_assert_true(hc->nb_roles == HOST_NB_CLIENT);
    }
    for (unsigned k = 0; k < 7; k++) {
        struct ip_addr s = v4(10, 5, (uint8_t)k, 1);
        const struct host_rec *hs = host_table_find(t, &s);
        g_assert_nonnull(hs);
        unsigned flows = N / 7 + (k < N % 7);
        g_assert_cmpuint(hs->nb_flows_served, ==, flows);
        g_assert_cmpuint(hs->nb_packets_sent, ==, (uint64_t)flows * ROUNDS);
        g_assert_true(hs->nb_roles == (HOST_NB_TARGET | HOST_NB_SERVER));
        g_assert_cmpuint(hs->nb_flows, ==, 0);
    }
    nb_ledger_free(l);
}

/* Past NB_HOST_RECORDS records the hosts go to the compact set (hosts.h):
 * every address counted exactly, each with the roles its packets gave it
 * and whether it opened a flow past the ledger's rows; IPv4 and IPv6. */
static struct ip_addr nth(unsigned i, uint8_t net)
{
    if (i % 5 == 4) {
        struct ip_addr x = { 6, { 0xFD, 0, 0, net, 0, 0, 0, 0, 0, 0, 0, 0, (uint8_t)(i >> 24), (uint8_t)(i >> 16),
                                  (uint8_t)(i >> 8), (uint8_t)i } };
        return x;
    }
    return v4(10, (uint8_t)(net + (i >> 16)), (uint8_t)(i >> 8), (uint8_t)i);
}

static void test_hosts_compact(void)
{
    struct nb_ledger *l = nb_ledger_new(0);
    enum { N = 40000 }; /* a client and its target each: 80,000 hosts */
    for (unsigned i = 0; i < N; i++) {
        struct ip_addr c = nth(i, 1), s = nth(i, 64);
        struct packet p = udp(c, 40000, s, 137, nbns_query2, sizeof nbns_query2);
        p.ts_us = 1000 + i;
        nb_ledger_packet(l, &p);
        if (i % 3 == 0) { /* a third answer (servers); the others are targets only */
            struct packet q = udp(s, 137, c, 40000, nbns_query2, sizeof nbns_query2);
            q.ts_us = p.ts_us;
            nb_ledger_packet(l, &q);
        }
    }
    const struct host_table *t = nb_ledger_hosts(l);
    bool est = true;
    g_assert_cmpuint(host_table_total(t, &est), ==, 2 * N);
    g_assert_false(est);
    g_assert_cmpuint(host_table_size(t), ==, NB_HOST_RECORDS);
    g_assert_cmpuint(host_table_compact_count(t), ==, 2 * N - NB_HOST_RECORDS);
    uint32_t compact = 0;
    for (unsigned i = 0; i < N; i++) {
        struct ip_addr c = nth(i, 1), s = nth(i, 64);
        bool listed = i < NB_DEFAULT_MAX_ROWS; /* one flow each: the first ones itemised */
        unsigned cb = 0, sb = 0;
        const struct host_rec *hc = host_table_find(t, &c), *hs = host_table_find(t, &s);
        int64_t ci = host_table_compact_find(t, &c, &cb), si = host_table_compact_find(t, &s, &sb);
        g_assert_true((hc != NULL) != (ci >= 0)); /* a record or an entry, never both */
        g_assert_true((hs != NULL) != (si >= 0));
        unsigned want_c = HOST_NB_CLIENT | (listed ? 0 : HOST_C_UNLISTED);
        unsigned want_s = HOST_NB_TARGET | (i % 3 == 0 ? HOST_NB_SERVER : 0);
        g_assert_cmpuint(hc ? host_rec_compact_bits(hc) : cb & ~HOST_C_PRESENT, ==, want_c);
        g_assert_cmpuint(hs ? host_rec_compact_bits(hs) : sb & ~HOST_C_PRESENT, ==, want_s);
        compact += (ci >= 0) + (si >= 0);
        if (ci >= 0) {
            struct ip_addr back;
            unsigned bits;
            g_assert_true(host_table_compact_at(t, (uint32_t)ci, &back, &bits));
            g_assert_cmpmem(&back, sizeof back, &c, sizeof c);
            g_assert_cmpuint(bits, ==, cb);
        }
    }
    g_assert_cmpuint(compact, ==, 2 * N - NB_HOST_RECORDS);
    /* --jobs: another run's table folded in keeps the entries and counts
     * them once; its records of the same addresses would be or'ed */
    struct host_table *d = host_table_new_compact(NB_HOST_RECORDS);
    for (uint32_t i = 0; i < host_table_size(t); i++)
        host_table_fold(d, host_table_at(t, i));
    host_table_fold_compact(d, nb_ledger_hosts_mut(l));
    g_assert_cmpuint(host_table_total(d, &est), ==, 2 * N);
    g_assert_false(est);
    g_assert_cmpuint(host_table_compact_count(d), ==, 2 * N - NB_HOST_RECORDS);
    g_assert_cmpuint(host_table_compact_count(t), ==, 0); /* given back */
    /* a second one whose compact set meets d's records and d's entries:
     * copied, each address once, the records or'ed (and said lost) */
    struct host_table *e = host_table_new_compact(1);
    struct ip_addr one = nth(N + 7, 1), rec = nth(0, 1), ent = nth(N - 1, 1), late = nth(N + 8, 1);
    const struct ip_addr *adds[] = { &one, &rec, &ent, &late };
    for (size_t i = 0; i < G_N_ELEMENTS(adds); i++) {
        if (!host_table_get(e, adds[i], 5))
            host_table_compact_or(e, adds[i], HOST_NB_BROADCASTER);
    }
    g_assert_cmpuint(host_table_compact_count(e), ==, 3);
    g_assert_cmpuint(host_table_fold_compact(d, e), ==, 1); /* rec: d holds its record */
    g_assert_true(host_table_find(d, &rec)->nb_roles & HOST_NB_BROADCASTER);
    unsigned bits = 0;
    g_assert_cmpint(host_table_compact_find(d, &ent, &bits), >=, 0);
    g_assert_cmpuint(bits & ~HOST_C_PRESENT, ==, HOST_NB_CLIENT | HOST_C_UNLISTED | HOST_NB_BROADCASTER);
    g_assert_cmpint(host_table_compact_find(d, &late, &bits), >=, 0);
    g_assert_cmpuint(host_table_total(d, &est), ==, 2 * N + 1); /* one, recorded in e, is not folded here */
    host_table_free(e);
    host_table_free(d);
    nb_ledger_free(l);
}

/* Two tables alike: the same records (fields), the same compact entries
 * (addresses and bits, whatever their slots), the same total and label. */
static void assert_tables_equal(const struct host_table *a, const struct host_table *b)
{
    g_assert_cmpuint(host_table_size(a), ==, host_table_size(b));
    for (uint32_t i = 0; i < host_table_size(a); i++) {
        const struct host_rec *x = host_table_at(a, i), *y = host_table_at(b, i);
        g_assert_cmpmem(&x->addr, sizeof x->addr, &y->addr, sizeof y->addr);
        g_assert_cmpuint(x->nb_roles, ==, y->nb_roles);
        g_assert_cmpuint(x->refused, ==, y->refused);
        g_assert_cmpuint(x->nb_flows_unlisted, ==, y->nb_flows_unlisted);
        g_assert_cmpint(x->first_seen, ==, y->first_seen);
        g_assert_cmpint(x->last_seen, ==, y->last_seen);
    }
    g_assert_cmpuint(host_table_compact_count(a), ==, host_table_compact_count(b));
    for (uint32_t s = 0; s < host_table_compact_slots(a); s++) {
        struct ip_addr x;
        unsigned bits, other = 0;
        if (!host_table_compact_at(a, s, &x, &bits))
            continue;
        g_assert_cmpint(host_table_compact_find(b, &x, &other), >=, 0);
        g_assert_cmpuint(bits, ==, other);
    }
    bool ea = false, eb = false;
    g_assert_cmpuint(host_table_total(a, &ea), ==, host_table_total(b, &eb));
    g_assert_true(ea == eb);
}

/* An address of family 4 or 6 numbered i in net (sorted by i). */
static struct ip_addr fam(unsigned i, uint8_t net, bool six)
{
    if (six) {
        struct ip_addr x = { 6, { 0xFD, 0, 0, net, 0, 0, 0, 0, 0, 0, 0, 0, (uint8_t)(i >> 24), (uint8_t)(i >> 16),
                                  (uint8_t)(i >> 8), (uint8_t)i } };
        return x;
    }
    return v4(net, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i);
}

static const uint8_t fold_bits_values[] = { HOST_NB_CLIENT, HOST_NB_TARGET | HOST_C_REFUSED, HOST_NB_SERVER,
                                            HOST_NB_BROADCASTER | HOST_C_UNLISTED, 0, HOST_NB_CLIENT | HOST_C_UNLISTED };

/* host_table_fold_bits_many() is n calls of host_table_fold_bits(): fed
 * the same sorted addresses (some with a record already, some in the
 * compact set, most new; chunks of any size, across the records' cap),
 * the two tables are alike; also where the compact set fills (its IPv6
 * cap, 262,144) part way through a chunk. */
static void test_hosts_fold_many(void)
{
    GRand *rnd = g_rand_new_with_seed(13);
    for (int round = 0; round < 6; round++) {
        bool six = round & 1, full = round >= 4;
        uint32_t cap = round < 2 ? 300 : 40;
        struct host_table *one = host_table_new_compact(cap), *many = host_table_new_compact(cap);
        /* what an earlier state left: records, and (past them) entries */
        uint32_t before = full ? HOST_COMPACT_V6_CAP - 50 + cap : round < 2 ? cap / 2 : cap + 500;
        uint8_t *pre = g_malloc(before);
        struct ip_addr *pa = g_new(struct ip_addr, before);
        for (uint32_t i = 0; i < before; i++) {
            pa[i] = fam(full ? i : i * 3, 10, six || full);
            pre[i] = fold_bits_values[g_rand_int_range(rnd, 0, G_N_ELEMENTS(fold_bits_values))];
        }
        host_table_fold_bits_many(one, pa, pre, before, 7);
        host_table_fold_bits_many(many, pa, pre, before, 7);
        /* the next state's: every third the same address, the rest new */
        uint32_t n = full ? 200 : 3000;
        struct ip_addr *a = g_new(struct ip_addr, n);
        uint8_t *bits = g_malloc(n);
        for (uint32_t i = 0; i < n; i++) {
            a[i] = full ? fam(before + i, 10, true) : fam(i * 2, 10, six);
            bits[i] = fold_bits_values[g_rand_int_range(rnd, 0, G_N_ELEMENTS(fold_bits_values))];
        }
        if (round < 2) /* records made by this fold too: the first new addresses in order */
            g_assert_cmpuint(host_table_size(one), <, cap);
        for (uint32_t i = 0; i < n; i++)
            host_table_fold_bits(one, &a[i], bits[i], 9);
        for (uint32_t i = 0; i < n;) {
            uint32_t k = (uint32_t)g_rand_int_range(rnd, 1, 700);
            k = k < n - i ? k : n - i;
            host_table_fold_bits_many(many, a + i, bits + i, k, 9);
            i += k;
        }
        assert_tables_equal(one, many);
        if (full) { /* the set filled: the rest counted in the estimate */
            bool est = false;
            host_table_total(many, &est);
            g_assert_true(est);
            g_assert_cmpuint(host_table_compact_count(many), ==, HOST_COMPACT_V6_CAP);
        }
        g_free(a);
        g_free(bits);
        g_free(pa);
        g_free(pre);
        host_table_free(one);
        host_table_free(many);
    }
    g_rand_free(rnd);
}

/* The counts by bits of the compact entries (hostview.c's counts by
 * role): every entry once, but those skipped and the broadcast addresses
 * (by range, and learned ones, found in the set). */
static void test_hosts_compact_tally(void)
{
    struct host_table *t = host_table_new_compact(2);
    struct ip_addr addrs[] = { v4(10, 0, 0, 1), v4(10, 0, 0, 2), v4(10, 0, 0, 3), v4(10, 0, 0, 4), v4(224, 0, 0, 9),
                               v4(10, 0, 0, 255), fam(5, 1, true), fam(6, 1, true), v4(10, 0, 0, 6) };
    for (size_t i = 0; i < G_N_ELEMENTS(addrs); i++)
        host_table_fold_bits(t, &addrs[i], i % 2 ? HOST_NB_CLIENT : HOST_NB_SERVER, 1);
    struct ip_addr learned = v4(10, 0, 0, 255), learned6 = fam(6, 1, true), absent = v4(10, 9, 9, 255);
    host_table_learn_broadcast(t, &absent);
    host_table_learn_broadcast(t, &learned6);
    host_table_learn_broadcast(t, &learned);
    uint64_t tally[256], bc = 0;
    host_table_compact_tally(t, NULL, tally, &bc);
    g_assert_cmpuint(bc, ==, 3); /* 224.0.0.9, 10.0.0.255, fd00:1::6 */
    uint64_t want[256] = { 0 }, seen = 0;
    for (uint32_t s = 0; s < host_table_compact_slots(t); s++) {
        struct ip_addr x;
        unsigned bits;
        if (host_table_compact_at(t, s, &x, &bits) && !host_is_broadcast(t, &x))
            want[bits]++, seen++;
    }
    g_assert_cmpuint(seen, ==, G_N_ELEMENTS(addrs) - 2 - 3);
    g_assert_cmpmem(tally, sizeof tally, want, sizeof want);
    /* a skipped slot is not counted */
    uint8_t *skip = g_new0(uint8_t, host_table_compact_slots(t) / 8 + 1);
    unsigned bits = 0;
    int64_t s = host_table_compact_find(t, &addrs[8], &bits);
    g_assert_cmpint(s, >=, 0);
    skip[s >> 3] |= (uint8_t)(1u << (s & 7));
    host_table_compact_tally(t, skip, tally, &bc);
    want[bits]--;
    g_assert_cmpmem(tally, sizeof tally, want, sizeof want);
    g_free(skip);
    host_table_free(t);
}

/* Past the overflow's exact count (distinct.h: 1,048,576 flows) whether a
 * flow is new is not known; a client whose first flow past the rows comes
 * then still opened one: it must fix NetBIOS (hostview.c). */
static void test_unlisted_past_estimate(void)
{
    struct nb_ledger *l = nb_ledger_new(1);
    struct ip_addr a = v4(10, 6, 0, 1), late = v4(10, 6, 0, 2);
    uint64_t flows = 0;
    for (unsigned s = 0; flows < DISTINCT_DEFAULT_CAP + 2; s++) /* one row, then past the cap */
        for (unsigned port = 1024; port < 65535 && flows < DISTINCT_DEFAULT_CAP + 2; port++, flows++) {
            struct packet p = tcp(a, (uint16_t)port, v4(10, 7, 0, (uint8_t)s), 139, TCP_SYN);
            nb_ledger_packet(l, &p);
        }
    g_assert_true(distinct_is_estimate(nb_ledger_overflow_set(l)));
    struct packet p = tcp(late, 40000, v4(10, 7, 0, 0), 139, TCP_SYN);
    nb_ledger_packet(l, &p);
    const struct host_rec *r = host_table_find(nb_ledger_hosts(l), &late);
    g_assert_nonnull(r);
    g_assert_cmpuint(r->nb_flows_unlisted, ==, 1);
    nb_ledger_free(l);
}

/* nb_ledger_packet() answers TCP and UDP packets outside 137-139 inline,
 * before the port table: every port the table knows must be in that range. */
static void test_near_ports(void)
{
    for (unsigned port = 0; port <= 0xFFFF; port++)
        for (int proto = 6; proto <= 17; proto += 11)
            if (nb_port_match((uint8_t)proto, (uint16_t)port, 0) || nb_port_match((uint8_t)proto, 0, (uint16_t)port))
                g_assert_true(nb_near_port((uint16_t)port));
    g_assert_true(nb_port_match(6, 139, 0) && nb_port_match(17, 0, 137) && nb_port_match(17, 138, 0));
    g_assert_false(nb_near_port(136) || nb_near_port(140) || nb_near_port(445));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/netbios/near-ports", test_near_ports);
    g_test_add_func("/netbios/tcp-states", test_tcp_states);
    g_test_add_func("/netbios/nbns-broadcast", test_nbns_broadcast_answered);
    g_test_add_func("/netbios/nbns-unanswered-icmp", test_nbns_unanswered_and_icmp);
    g_test_add_func("/netbios/nmbd-names", test_nmbd_to_nmbd_and_names);
    g_test_add_func("/netbios/row-cap", test_row_cap);
    g_test_add_func("/netbios/non-ip", test_non_ip);
    g_test_add_func("/netbios/hosts-growth", test_hosts_growth);
    g_test_add_func("/netbios/hosts-remembered", test_hosts_remembered);
    g_test_add_func("/netbios/hosts-compact", test_hosts_compact);
    g_test_add_func("/netbios/unlisted-past-estimate", test_unlisted_past_estimate);
    g_test_add_func("/netbios/hosts-fold-many", test_hosts_fold_many);
    g_test_add_func("/netbios/hosts-compact-tally", test_hosts_compact_tally);
    return g_test_run();
}
