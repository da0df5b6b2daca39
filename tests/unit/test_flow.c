/* The TCP connection table on hand-built packets: lifecycle (RFC 9293 3.5:
 * SYN, SYN-ACK, FIN, RST), port reuse, idle timeout, IPv6 keys, eviction. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "distinct.h"
#include "write_streams.h"

#include "flow_test_util.h"

static void test_lifecycle_fin(void)
{
    struct fx f;
    fx_init(&f, NULL);
    setup_addrs();
    handshake(&f, 40000, 100, 900);
    send_pkt(&f, A, 40000, B, 445, 101, 901, TCP_ACK | TCP_PSH, "request");
    send_pkt(&f, B, 445, A, 40000, 901, 108, TCP_ACK | TCP_PSH, "response");
    send_pkt(&f, A, 40000, B, 445, 108, 909, TCP_ACK | TCP_FIN, NULL);
    send_pkt(&f, B, 445, A, 40000, 909, 109, TCP_ACK | TCP_FIN, NULL);
    send_pkt(&f, A, 40000, B, 445, 109, 910, TCP_ACK, NULL);
    struct flow_stats st = flow_table_stats(f.t);
    g_assert_cmpuint(st.conns, ==, 1);
    g_assert_cmpuint(st.current, ==, 1); /* lingers for late packets */
    flow_table_finish(f.t);
    struct conn_rec *r = conn(&f, 1);
    g_assert_true(r->closed);
    g_assert_cmpint(r->reason, ==, FLOW_CLOSE_FIN);
    g_assert_false(r->guessed);
    g_assert_false(r->midstream);
    g_assert_cmpint(r->hs, ==, FLOW_HS_ESTABLISHED);
    g_assert_true(r->fin[0] && r->fin[1]);
    g_assert_cmpuint(r->port[0], ==, 40000);
    g_assert_cmpuint(r->port[1], ==, 445);
    g_assert_cmpmem(r->stream[0]->data, r->stream[0]->len, "request", 7);
    g_assert_cmpmem(r->stream[1]->data, r->stream[1]->len, "response", 8);
    g_assert_cmpuint(r->gap_bytes[0] + r->gap_bytes[1], ==, 0);
    g_assert_cmpuint(r->packets[0], ==, 5); /* SYN, ACK, request, FIN, last ACK */
    g_assert_cmpuint(r->packets[1], ==, 3);
    g_assert_cmpuint(flow_table_stats(f.t).current, ==, 0);
    fx_free(&f);
}

static void test_rst(void)
{
    struct fx f;
    fx_init(&f, NULL);
    setup_addrs();
    /* SYN to 139 refused by RST: an attempt with no data */
    send_pkt(&f, A, 40001, B, 139, 5000, 0, TCP_SYN, NULL);
    send_pkt(&f, B, 139, A, 40001, 0, 5001, TCP_RST | TCP_ACK, NULL);
    flow_table_finish(f.t);
    struct conn_rec *r = conn(&f, 1);
    g_assert_cmpint(r->reason, ==, FLOW_CLOSE_RST);
    g_assert_true(r->rst_seen);
    g_assert_cmpuint(r->rst_dir, ==, 1);
    g_assert_cmpint(r->hs, ==, FLOW_HS_SYN);
    g_assert_cmpuint(r->stream[0]->len + r->stream[1]->len, ==, 0);
    g_assert_cmpuint(r->gap_bytes[0] + r->gap_bytes[1], ==, 0);
    fx_free(&f);
}

static void test_port_reuse(void)
{
    struct fx f;
    fx_init(&f, NULL);
    setup_addrs();
    handshake(&f, 40002, 100, 900);
    send_pkt(&f, A, 40002, B, 445, 101, 901, TCP_ACK, "one");
    send_pkt(&f, A, 40002, B, 445, 104, 901, TCP_ACK | TCP_FIN, NULL);
    send_pkt(&f, B, 445, A, 40002, 901, 105, TCP_ACK | TCP_FIN, NULL);
    /* same ports, new ISN after the close */
    handshake(&f, 40002, 7000, 8000);
    send_pkt(&f, A, 40002, B, 445, 7001, 8001, TCP_ACK, "two");
    /* same ports, yet another ISN while open: the old one is ended */
    handshake(&f, 40002, 9000, 9500);
    send_pkt(&f, A, 40002, B, 445, 9001, 9501, TCP_ACK, "three");
    /* a retransmitted SYN (same ISN) is not a new connection */
    send_pkt(&f, A, 40002, B, 445, 9000, 0, TCP_SYN, NULL);
    flow_table_finish(f.t);
    g_assert_cmpuint(f.o.conns->len, ==, 3);
    g_assert_cmpint(conn(&f, 1)->reason, ==, FLOW_CLOSE_FIN);
    g_assert_cmpint(conn(&f, 2)->reason, ==, FLOW_CLOSE_REUSED);
    g_assert_cmpint(conn(&f, 3)->reason, ==, FLOW_CLOSE_END);
    g_assert_cmpmem(conn(&f, 1)->stream[0]->data, conn(&f, 1)->stream[0]->len, "one", 3);
    g_assert_cmpmem(conn(&f, 2)->stream[0]->data, conn(&f, 2)->stream[0]->len, "two", 3);
    g_assert_cmpmem(conn(&f, 3)->stream[0]->data, conn(&f, 3)->stream[0]->len, "three", 5);
    g_assert_cmpuint(flow_table_stats(f.t).reuses, ==, 2);
    fx_free(&f);
}

static void test_idle_timeout(void)
{
    struct flow_limits lim;
    flow_limits_default(&lim);
    struct fx f;
    fx_init(&f, &lim);
    setup_addrs();
    handshake(&f, 40003, 100, 900);
    send_pkt(&f, A, 40003, B, 445, 101, 901, TCP_ACK, "abc");
    /* a half-open attempt elsewhere */
    send_pkt(&f, A, 40004, B, 139, 50, 0, TCP_SYN, NULL);
    f.now += lim.idle_half_open_us + SEC; /* past half-open, not established */
    send_pkt(&f, A, 40005, B, 445, 1, 0, TCP_SYN, NULL);
    /* the first packet after the pause only says time moved on ... */
    g_assert_false(conn(&f, 2)->closed);
    /* ... the next one confirms it */
    send_pkt(&f, A, 40006, B, 445, 1, 0, TCP_SYN, NULL);
    g_assert_true(conn(&f, 2)->closed);
    g_assert_cmpint(conn(&f, 2)->reason, ==, FLOW_CLOSE_IDLE);
    g_assert_false(conn(&f, 1)->closed);
    f.now += lim.idle_established_us + SEC;
    /* the same connection after its timeout: its own packet does not end it
     * (as tshark keeps one tcp.stream); the half-open ones are idle now */
    send_pkt(&f, A, 40003, B, 445, 104, 901, TCP_ACK, "def");
    send_pkt(&f, A, 40003, B, 445, 107, 901, TCP_ACK, "g");
    g_assert_false(conn(&f, 1)->closed);
    g_assert_true(conn(&f, 3)->closed && conn(&f, 4)->closed);
    g_assert_cmpuint(f.o.conns->len, ==, 4);
    flow_table_finish(f.t);
    struct conn_rec *r = conn(&f, 1);
    g_assert_false(r->midstream);
    g_assert_cmpint(r->reason, ==, FLOW_CLOSE_END);
    g_assert_cmpmem(r->stream[0]->data, r->stream[0]->len, "abcdefg", 7);
    g_assert_cmpuint(flow_table_stats(f.t).idle_closes, ==, 3);
    g_assert_cmpuint(flow_table_stats(f.t).time_jumps, ==, 0);
    fx_free(&f);
}

/* A clock that jumps: one packet ten years ahead, then back; a second
 * capture appended that starts years earlier.  Every connection stays
 * whole, and the jumps are counted. */
static void test_time_jumps(void)
{
    const int64_t years = INT64_C(10) * 365 * 86400 * SEC;
    struct fx f;
    fx_init(&f, NULL);
    setup_addrs();
    handshake(&f, 40600, 100, 900);
    send_pkt(&f, A, 40600, B, 445, 101, 901, TCP_ACK, "abc");
    handshake(&f, 40601, 300, 700);
    /* one skewed packet of the second connection */
    f.now += years;
    send_pkt(&f, A, 40601, B, 445, 301, 701, TCP_ACK, "xy");
    f.now -= years;
    send_pkt(&f, A, 40600, B, 445, 104, 901, TCP_ACK, "def");
    send_pkt(&f, A, 40601, B, 445, 303, 701, TCP_ACK, "z");
    send_pkt(&f, B, 445, A, 40600, 901, 107, TCP_ACK, "r");
    g_assert_false(conn(&f, 1)->closed || conn(&f, 2)->closed);
    /* an appended capture from years before; its connection is whole too,
     * and the connections of the first capture are not idle by its clock */
    f.now -= 3 * years;
    handshake(&f, 40602, 500, 600);
    send_pkt(&f, A, 40602, B, 445, 501, 601, TCP_ACK, "old");
    f.now += 100 * SEC;
    send_pkt(&f, A, 40602, B, 445, 504, 601, TCP_ACK, "er");
    g_assert_false(conn(&f, 1)->closed || conn(&f, 2)->closed || conn(&f, 3)->closed);
    flow_table_finish(f.t);
    g_assert_cmpuint(f.o.conns->len, ==, 3);
    g_assert_cmpmem(conn(&f, 1)->stream[0]->data, conn(&f, 1)->stream[0]->len, "abcdef", 6);
    g_assert_cmpmem(conn(&f, 2)->stream[0]->data, conn(&f, 2)->stream[0]->len, "xyz", 3);
    g_assert_cmpmem(conn(&f, 3)->stream[0]->data, conn(&f, 3)->stream[0]->len, "older", 5);
    for (guint id = 1; id <= 3; id++)
        g_assert_false(conn(&f, id)->midstream);
    /* forward 10 years, back 10 years, back 30 years */
    g_assert_cmpuint(flow_table_stats(f.t).time_jumps, ==, 3);
    g_assert_cmpuint(flow_table_stats(f.t).idle_closes, ==, 0);
    fx_free(&f);
}

/* Mid-stream: the first packet comes from the server; a SYN-ACK alone names
 * the responder. */
static void test_initiator_guess(void)
{
    struct fx f;
    fx_init(&f, NULL);
    setup_addrs();
    send_pkt(&f, B, 445, A, 40010, 900, 100, TCP_ACK, "srv");
    send_pkt(&f, A, 40010, B, 445, 100, 903, TCP_ACK, "cli");
    send_pkt(&f, B, 445, A, 40011, 5000, 77, TCP_SYN | TCP_ACK, NULL);
    send_pkt(&f, A, 40011, B, 445, 77, 5001, TCP_ACK, "x");
    send_pkt(&f, B, 445, A, 40012, 8000, 301, TCP_SYN | TCP_ACK, NULL);
    send_pkt(&f, A, 40012, B, 445, 300, 0, TCP_SYN, NULL);
    send_pkt(&f, A, 40012, B, 445, 301, 8001, TCP_ACK, "late");
    send_pkt(&f, A, 40013, B, 445, 10, 0, TCP_SYN, NULL);
    send_pkt(&f, A, 40013, B, 445, 11, 21, TCP_ACK, "q");
    send_pkt(&f, B, 445, A, 40013, 21, 12, TCP_ACK, "r");
    flow_table_finish(f.t);
    struct conn_rec *r = conn(&f, 1);
    g_assert_true(r->guessed);
    g_assert_true(r->midstream);
    g_assert_cmpuint(r->port[0], ==, 445); /* first sender taken as initiator */
    g_assert_cmpmem(r->stream[0]->data, r->stream[0]->len, "srv", 3);
    r = conn(&f, 2);
    g_assert_false(r->guessed);
    g_assert_true(r->midstream); /* no SYN seen */
    g_assert_cmpuint(r->port[0], ==, 40011);
    g_assert_cmpint(r->hs, ==, FLOW_HS_ESTABLISHED);
    g_assert_cmpmem(r->stream[0]->data, r->stream[0]->len, "x", 1);
    /* a SYN captured after its SYN-ACK joins that connection */
    r = conn(&f, 3);
    g_assert_false(r->guessed);
    g_assert_false(r->midstream);
    g_assert_cmpuint(r->port[0], ==, 40012);
    g_assert_cmpmem(r->stream[0]->data, r->stream[0]->len, "late", 4);
    g_assert_cmpuint(f.o.conns->len, ==, 4);
    /* SYN-ACK lost from the capture: data both ways means established */
    r = conn(&f, 4);
    g_assert_cmpint(r->hs, ==, FLOW_HS_ESTABLISHED);
    fx_free(&f);
}

static void test_ipv6_keys(void)
{
    struct fx f;
    fx_init(&f, NULL);
    setup_addrs();
    struct ip_addr a6 = v6(1), b6 = v6(2);
    /* IPv4 10.0.0.1 and an IPv6 address with the same first bytes differ */
    struct ip_addr a6_like_v4 = { .family = 6, .bytes = { 10, 0, 0, 1 } };
    handshake(&f, 40020, 1, 2);
    send_pkt(&f, &a6, 40020, &b6, 445, 10, 0, TCP_SYN, NULL);
    send_pkt(&f, &b6, 445, &a6, 40020, 20, 11, TCP_SYN | TCP_ACK, NULL);
    send_pkt(&f, &a6, 40020, &b6, 445, 11, 21, TCP_ACK, "v6");
    send_pkt(&f, &a6_like_v4, 40020, B, 445, 30, 0, TCP_SYN, NULL);
    send_pkt(&f, A, 40020, B, 445, 2, 3, TCP_ACK, "v4");
    flow_table_finish(f.t);
    g_assert_cmpuint(f.o.conns->len, ==, 3);
    g_assert_cmpmem(conn(&f, 1)->stream[0]->data, conn(&f, 1)->stream[0]->len, "v4", 2);
    g_assert_cmpmem(conn(&f, 2)->stream[0]->data, conn(&f, 2)->stream[0]->len, "v6", 2);
    g_assert_cmpuint(conn(&f, 2)->addr[0].family, ==, 6);
    g_assert_cmpmem(conn(&f, 2)->addr[1].bytes, 16, b6.bytes, 16);
    fx_free(&f);
}

/* The table compares IPv4 ends by their first four address bytes and
 * port (flow.c match()).  An IPv6 pair built to fold to the very hash
 * words of an IPv4 pair (flow.c endpoint_word(): same hash, same chain),
 * whose first four bytes are the IPv4 addresses, is still another
 * connection. */
static uint64_t le64(const uint8_t *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | b[i];
    return v;
}

static struct ip_addr v6_folding_like(const struct ip_addr *a4, uint16_t port)
{
    uint64_t lo = le64(a4->bytes) + (((uint64_t)port << 48) ^ (UINT64_C(4) << 40)) -
                  (((uint64_t)port << 48) ^ (UINT64_C(6) << 40));
    struct ip_addr x = { .family = 6 };
    for (int i = 0; i < 8; i++)
        x.bytes[i] = (uint8_t)(lo >> (8 * i));
    return x;
}

static void test_ipv4_words_exact(void)
{
    struct fx f;
    fx_init(&f, NULL);
    setup_addrs();
    struct ip_addr x = v6_folding_like(A, 40020), y = v6_folding_like(B, 445);
    send_pkt(&f, &x, 40020, &y, 445, 10, 0, TCP_SYN, NULL);
    send_pkt(&f, &y, 445, &x, 40020, 20, 11, TCP_SYN | TCP_ACK, NULL);
    handshake(&f, 40020, 1, 2); /* a SYN of another ISN: a reuse, were it taken for the IPv6 one */
    send_pkt(&f, &x, 40020, &y, 445, 11, 21, TCP_ACK, "v6");
    send_pkt(&f, A, 40020, B, 445, 2, 3, TCP_ACK, "v4");
    send_pkt(&f, B, 445, A, 40020, 3, 4, TCP_ACK, "back");
    flow_table_finish(f.t);
    g_assert_cmpuint(f.o.conns->len, ==, 2);
    g_assert_cmpint(conn(&f, 1)->reason, ==, FLOW_CLOSE_END);
    g_assert_cmpint(conn(&f, 2)->reason, ==, FLOW_CLOSE_END);
    g_assert_cmpuint(conn(&f, 1)->addr[0].family, ==, 6);
    g_assert_cmpmem(conn(&f, 1)->stream[0]->data, conn(&f, 1)->stream[0]->len, "v6", 2);
    g_assert_cmpuint(conn(&f, 2)->addr[0].family, ==, 4);
    g_assert_cmpmem(conn(&f, 2)->stream[0]->data, conn(&f, 2)->stream[0]->len, "v4", 2);
    g_assert_cmpmem(conn(&f, 2)->stream[1]->data, conn(&f, 2)->stream[1]->len, "back", 4);
    fx_free(&f);
}

/* The activity list is least recently active first: packets in the
 * middle of it move their connection to the tail (flow.c move_to_tail),
 * and eviction then ends connections in that order. */
static void test_activity_order(void)
{
    struct flow_limits lim;
    flow_limits_default(&lim);
    lim.max_conns = 5;
    struct fx f;
    fx_init(&f, &lim);
    setup_addrs();
    for (uint16_t i = 1; i <= 5; i++)
        handshake(&f, (uint16_t)(40000 + i), 100u * i, 1000u * i);
    static const uint16_t touch[] = { 2, 4, 2, 3, 1, 1 }; /* the middle, the head, the tail */
    for (size_t k = 0; k < G_N_ELEMENTS(touch); k++)
        send_pkt(&f, A, (uint16_t)(40000 + touch[k]), B, 445, 100u * touch[k] + 1, 1000u * touch[k] + 1, TCP_ACK, NULL);
    static const guint evicted[] = { 5, 4, 2, 3, 1 }; /* by last activity: 5, 4, 2, 3, 1 */
    for (size_t k = 0; k < G_N_ELEMENTS(evicted); k++) {
        handshake(&f, (uint16_t)(41000 + k), 7, 9);
        for (guint id = 1; id <= 5; id++)
            g_assert_true(conn(&f, id)->closed == (id == evicted[k] || conn(&f, id)->closed));
        g_assert_true(conn(&f, evicted[k])->closed);
        g_assert_cmpint(conn(&f, evicted[k])->reason, ==, FLOW_CLOSE_EVICTED);
        guint closed = 0;
        for (guint id = 1; id <= 5; id++)
            closed += conn(&f, id)->closed;
        g_assert_cmpuint(closed, ==, k + 1);
    }
    flow_table_finish(f.t);
    fx_free(&f);
}

static void test_eviction(void)
{
    struct flow_limits lim;
    flow_limits_default(&lim);
    lim.max_conns = 4;
    struct fx f;
    fx_init(&f, &lim);
    setup_addrs();
    for (uint16_t i = 0; i < 6; i++)
        handshake(&f, (uint16_t)(41000 + i), 100u * i, 9000u + i);
    /* touch connection 3 so 4 is the oldest after the evictions */
    send_pkt(&f, A, 41002, B, 445, 201, 9003, TCP_ACK, "z");
    handshake(&f, 41006, 1, 2);
    struct flow_stats st = flow_table_stats(f.t);
    g_assert_cmpuint(st.evictions, ==, 3);
    g_assert_cmpuint(st.current, ==, 4);
    g_assert_cmpuint(st.max_concurrent, ==, 4);
    g_assert_cmpint(conn(&f, 1)->reason, ==, FLOW_CLOSE_EVICTED);
    g_assert_cmpint(conn(&f, 2)->reason, ==, FLOW_CLOSE_EVICTED);
    g_assert_false(conn(&f, 3)->closed);
    g_assert_cmpint(conn(&f, 4)->reason, ==, FLOW_CLOSE_EVICTED);
    flow_table_finish(f.t);
    fx_free(&f);
}

/* A lost segment and the peer's ACK past it: the observer gets a gap. */
static void test_gap_through_table(void)
{
    struct fx f;
    fx_init(&f, NULL);
    setup_addrs();
    handshake(&f, 40030, 100, 900);
    send_pkt(&f, A, 40030, B, 445, 101, 901, TCP_ACK, "aaaa");
    /* [4,8) lost in the capture */
    send_pkt(&f, A, 40030, B, 445, 109, 901, TCP_ACK, "cccc");
    send_pkt(&f, B, 445, A, 40030, 901, 113, TCP_ACK, NULL);
    send_pkt(&f, A, 40030, B, 445, 113, 901, TCP_ACK | TCP_FIN, NULL);
    flow_table_finish(f.t);
    struct conn_rec *r = conn(&f, 1);
    g_assert_cmpmem(r->stream[0]->data, r->stream[0]->len, "aaaacccc", 8);
    g_assert_cmpuint(r->gap_bytes[0], ==, 4);
    fx_free(&f);
}

/* A one-sided capture: only the client's packets.  Its ACKs start the
 * server's direction and tell how much the server sent: a gap. */
static void test_one_sided(void)
{
    struct fx f;
    fx_init(&f, NULL);
    setup_addrs();
    send_pkt(&f, A, 40040, B, 445, 100, 0, TCP_SYN, NULL);
    send_pkt(&f, A, 40040, B, 445, 101, 901, TCP_ACK, NULL);
    send_pkt(&f, A, 40040, B, 445, 101, 901, TCP_ACK, "req");
    send_pkt(&f, A, 40040, B, 445, 104, 1401, TCP_ACK, NULL);
    send_pkt(&f, A, 40040, B, 445, 104, 1401, TCP_ACK | TCP_FIN, NULL);
    flow_table_finish(f.t);
    struct conn_rec *r = conn(&f, 1);
    g_assert_cmpint(r->hs, ==, FLOW_HS_ESTABLISHED);
    g_assert_cmpmem(r->stream[0]->data, r->stream[0]->len, "req", 3);
    g_assert_cmpuint(r->stream[1]->len, ==, 0);
    g_assert_cmpuint(r->gap_bytes[1], ==, 500);
    g_assert_cmpuint(r->gap_bytes[0], ==, 0);
    fx_free(&f);
}

/* Many connections: the table grows its hash and finds them all again. */
static void test_many_conns(void)
{
    struct fx f;
    fx_init(&f, NULL);
    setup_addrs();
    for (uint32_t i = 0; i < 5000; i++) {
        struct ip_addr c = v4(10, 1, (uint8_t)(i >> 8), (uint8_t)i);
        send_pkt(&f, &c, 50000, B, 445, i, 0, TCP_SYN, NULL);
    }
    for (uint32_t i = 0; i < 5000; i++) {
        struct ip_addr c = v4(10, 1, (uint8_t)(i >> 8), (uint8_t)i);
        send_pkt(&f, B, 445, &c, 50000, 7, i + 1, TCP_SYN | TCP_ACK, NULL);
    }
    g_assert_cmpuint(flow_table_stats(f.t).conns, ==, 5000);
    flow_table_finish(f.t);
    fx_free(&f);
}

/* flow_conn_pass(): with the table's one observer the next bytes of the
 * direction go by as one passed count, not data; with another observer too
 * (the stream writer wants every byte) the ask is refused and every byte is
 * data.  Either way the connection's counters are the same. */
static uint64_t passed_bytes[2];
static bool pass_granted;
static void p_data(void *ctx, struct flow_conn *c, void **user, int dir, const uint8_t *b, size_t n, int64_t ts)
{
    o_data(ctx, c, user, dir, b, n, ts);
    if (dir == 0 && n == 4 && memcmp(b, "head", 4) == 0)
        pass_granted = flow_conn_pass(c, dir, 9); /* "<payload>" of the next segments */
}
static void p_passed(void *ctx, struct flow_conn *c, void **user, int dir, uint64_t n, int64_t ts)
{
    passed_bytes[dir] += n;
}
static uint64_t other_bytes;
static void other_data(void *ctx, struct flow_conn *c, void **user, int dir, const uint8_t *b, size_t n, int64_t ts)
{
    other_bytes += n;
}

static void test_pass_one_observer(void)
{
    static const struct flow_observer pobs = { o_open, o_packet, p_data, o_gap, o_close, NULL, p_passed };
    static const struct flow_observer other = { .data = other_data };
    for (int observers = 1; observers <= 2; observers++) {
        struct fx f;
        f.o.conns = g_ptr_array_new_with_free_func(conn_rec_free);
        f.t = flow_table_new(NULL, &pobs, &f.o);
        other_bytes = 0;
        if (observers == 2)
            g_assert_true(flow_table_add_observer(f.t, &other, NULL));
        f.now = 0;
        setup_addrs();
        passed_bytes[0] = passed_bytes[1] = 0;
        pass_granted = false;
        handshake(&f, 40000, 100, 900);
        send_pkt(&f, A, 40000, B, 445, 101, 901, TCP_ACK, "head");
        send_pkt(&f, A, 40000, B, 445, 105, 901, TCP_ACK, "<payl");
        send_pkt(&f, A, 40000, B, 445, 110, 901, TCP_ACK, "oad>tail");
        send_pkt(&f, A, 40000, B, 445, 118, 901, TCP_ACK | TCP_FIN, NULL);
        send_pkt(&f, B, 445, A, 40000, 901, 119, TCP_ACK | TCP_FIN, NULL);
        flow_table_finish(f.t);
        struct conn_rec *r = conn(&f, 1);
        g_assert_true(r->closed);
        if (observers == 1) {
            g_assert_true(pass_granted);
            g_assert_cmpuint(passed_bytes[0], ==, 9);
            g_assert_cmpmem(r->stream[0]->data, r->stream[0]->len, "headtail", 8);
        } else {
            g_assert_false(pass_granted);
            g_assert_cmpuint(passed_bytes[0], ==, 0);
            g_assert_cmpmem(r->stream[0]->data, r->stream[0]->len, "head<payload>tail", 17);
            g_assert_cmpuint(other_bytes, ==, 17);
        }
        g_assert_cmpuint(r->gap_bytes[0], ==, 0);
        fx_free(&f);
    }
}

/* Robustness: random segments (flags, sequence numbers around a few bases
 * and anywhere, truncation, random skips by the consumer) on a small table
 * with small caps.  Invariants: memory within the caps, every stream offset
 * accounted for (checked at close), nothing held at the end. */
static GRand *robust_rnd;
static void r_data(void *ctx, struct flow_conn *c, void **user, int dir, const uint8_t *b, size_t n, int64_t ts)
{
    o_data(ctx, c, user, dir, b, n, ts);
    if (g_rand_int_range(robust_rnd, 0, 8) == 0)
        flow_conn_skip(c, dir, (uint64_t)g_rand_int_range(robust_rnd, 0, 3000));
}

static void test_robust_random(void)
{
    static uint8_t junk[2000];
    struct flow_limits lim;
    flow_limits_default(&lim);
    lim.max_conns = 8;
    lim.dir_buffer_cap = 4096;
    lim.total_buffer_cap = 16384;
    lim.idle_established_us = 50 * 1000;
    static const struct flow_observer robs = { o_open, o_packet, r_data, o_gap, o_close, NULL, NULL };
    for (uint32_t seed = 1; seed <= 20; seed++) {
        robust_rnd = g_rand_new_with_seed(seed);
        struct fx f;
        f.o.conns = g_ptr_array_new_with_free_func(conn_rec_free);
        f.t = flow_table_new(&lim, &robs, &f.o);
        f.now = 0;
        setup_addrs();
        uint32_t bases[4] = { 0, 0xFFFFF000u, 0x7FFFFFF0u, g_rand_int(robust_rnd) };
        for (int i = 0; i < 5000; i++) {
            struct ip_addr c = v4(10, 2, 0, (uint8_t)g_rand_int_range(robust_rnd, 0, 12));
            bool fwd = g_rand_boolean(robust_rnd);
            uint16_t cport = (uint16_t)(1000 + g_rand_int_range(robust_rnd, 0, 3));
            struct packet p = { 0 };
            p.ts_us = f.now;
            p.l4 = L4_TCP;
            p.src = fwd ? c : *B;
            p.dst = fwd ? *B : c;
            p.sport = fwd ? cport : 445;
            p.dport = fwd ? 445 : cport;
            uint32_t base = bases[g_rand_int_range(robust_rnd, 0, 4)];
            p.seq = g_rand_int_range(robust_rnd, 0, 10) ? base + (uint32_t)g_rand_int_range(robust_rnd, 0, 60000)
                                                        : g_rand_int(robust_rnd);
            p.ack = base + (uint32_t)g_rand_int_range(robust_rnd, 0, 60000);
            p.tcp_flags = (uint8_t)(g_rand_int_range(robust_rnd, 0, 20) == 0 ? g_rand_int_range(robust_rnd, 0, 64)
                                                                               : TCP_ACK);
            p.payload_wire_len = (uint32_t)g_rand_int_range(robust_rnd, 0, (gint32)sizeof junk);
            p.payload_len = g_rand_int_range(robust_rnd, 0, 5) ? p.payload_wire_len
                                                               : (uint32_t)g_rand_int_range(robust_rnd, 0, (gint32)p.payload_wire_len + 1);
            p.payload = junk;
            flow_table_packet(f.t, &p);
            struct flow_stats st = flow_table_stats(f.t);
            g_assert_cmpuint(st.buffered_bytes, <=, lim.total_buffer_cap);
            g_assert_cmpuint(st.current, <=, lim.max_conns);
            f.now += g_rand_int_range(robust_rnd, 0, 2000);
        }
        flow_table_finish(f.t);
        struct flow_stats st = flow_table_stats(f.t);
        g_assert_cmpuint(st.buffered_bytes, ==, 0);
        g_assert_cmpuint(st.buffered_peak, <=, lim.total_buffer_cap);
        for (guint i = 0; i < f.o.conns->len; i++)
            g_assert_true(((struct conn_rec *)g_ptr_array_index(f.o.conns, i))->closed);
        fx_free(&f);
        g_rand_free(robust_rnd);
    }
}

static void assert_file(const char *dir, const char *name, const void *want, gsize want_len)
{
    char *path = g_build_filename(dir, name, NULL);
    char *got = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &got, &len, NULL))
        g_error("missing %s", name);
    g_assert_cmpmem(got, len, want, want_len);
    g_free(got);
    g_remove(path);
    g_free(path);
}

/* --write-streams: names with the connection index and both endpoints
 * (IPv6 via inet_ntop), one file per direction, gaps in a sidecar and not
 * zero-filled, reused ports in distinct files. */
static void test_write_streams(void)
{
    char *dir = g_dir_make_tmp("test_flow.XXXXXX", NULL);
    g_assert_nonnull(dir);
    char err[256];
    struct write_streams *w = write_streams_new(dir, 2, err, sizeof err);
    g_assert_nonnull(w);
    struct flow_observer wobs;
    write_streams_observer(w, &wobs);
    struct fx f;
    f.o.conns = NULL;
    f.t = flow_table_new(NULL, &wobs, w);
    f.now = 0;
    setup_addrs();
    struct ip_addr a6 = v6(1), b6 = v6(0x2ab);
    handshake(&f, 40100, 100, 900);
    send_pkt(&f, A, 40100, B, 445, 101, 901, TCP_ACK, "hello");
    send_pkt(&f, A, 40100, B, 445, 110, 901, TCP_ACK, "world"); /* [5,9) lost */
    send_pkt(&f, B, 445, A, 40100, 901, 115, TCP_ACK, "resp");
    send_pkt(&f, A, 40100, B, 445, 115, 905, TCP_ACK | TCP_FIN, NULL);
    send_pkt(&f, B, 445, A, 40100, 905, 116, TCP_ACK | TCP_FIN, NULL);
    handshake(&f, 40100, 5000, 6000); /* same ports again */
    send_pkt(&f, A, 40100, B, 445, 5001, 6001, TCP_ACK, "again");
    send_pkt(&f, &a6, 40101, &b6, 445, 1, 0, TCP_SYN, NULL);
    send_pkt(&f, &b6, 445, &a6, 40101, 50, 2, TCP_SYN | TCP_ACK, NULL);
    send_pkt(&f, &a6, 40101, &b6, 445, 2, 51, TCP_ACK, "six");
    flow_table_finish(f.t);
    flow_table_free(f.t);
    g_assert_cmpint(write_streams_status(w, err, sizeof err), ==, 0);
    write_streams_free(w);

    assert_file(dir, "000001-10.0.0.1.40100-10.0.0.2.445", "helloworld", 10);
    assert_file(dir, "000001-10.0.0.1.40100-10.0.0.2.445.gaps", "5 4\n", 4);
    assert_file(dir, "000001-10.0.0.2.445-10.0.0.1.40100", "resp", 4);
    assert_file(dir, "000002-10.0.0.1.40100-10.0.0.2.445", "again", 5);
    assert_file(dir, "000003-fd00::1.40101-fd00::2ab.445", "six", 3);
    /* nothing else: no file for a direction without data */
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *left = g_dir_read_name(d);
    g_assert_null(left);
    g_dir_close(d);
    g_rmdir(dir);
    g_free(dir);
}

/* Several observers: each sees every connection with its own pointer, in
 * registration order, and the table takes no more than FLOW_MAX_OBSERVERS. */
static void test_observers(void)
{
    struct fx f;
    fx_init(&f, NULL);
    setup_addrs();
    struct obs_rec more[FLOW_MAX_OBSERVERS];
    for (int i = 0; i < FLOW_MAX_OBSERVERS; i++) {
        more[i].conns = g_ptr_array_new_with_free_func(conn_rec_free);
        g_assert_true(flow_table_add_observer(f.t, &rec_obs, &more[i]) == (i < FLOW_MAX_OBSERVERS - 1));
    }
    handshake(&f, 40500, 100, 900);
    send_pkt(&f, A, 40500, B, 445, 101, 901, TCP_ACK, "abc");
    send_pkt(&f, A, 40500, B, 445, 106, 901, TCP_ACK, "f"); /* [104,106) lost */
    flow_table_finish(f.t);
    for (int i = 0; i < FLOW_MAX_OBSERVERS - 1; i++) {
        g_assert_cmpuint(more[i].conns->len, ==, 1);
        struct conn_rec *r = g_ptr_array_index(more[i].conns, 0), *r0 = conn(&f, 1);
        g_assert_true(r != r0);
        g_assert_true(r->closed);
        g_assert_cmpmem(r->stream[0]->data, r->stream[0]->len, r0->stream[0]->data, r0->stream[0]->len);
        g_assert_cmpuint(r->gap_bytes[0], ==, 2);
        g_assert_cmpuint(r->packets[0], ==, r0->packets[0]);
    }
    g_assert_cmpuint(more[FLOW_MAX_OBSERVERS - 1].conns->len, ==, 0);
    for (int i = 0; i < FLOW_MAX_OBSERVERS; i++)
        g_ptr_array_unref(more[i].conns);
    fx_free(&f);
}


static bool same_pair(const struct flow_conn *c, const struct packet *p)
{
    for (int d = 0; d < 2; d++)
        if (c->port[d] == p->sport && c->port[!d] == p->dport && memcmp(&c->addr[d], &p->src, sizeof p->src) == 0 &&
            memcmp(&c->addr[!d], &p->dst, sizeof p->dst) == 0)
            return true;
    return false;
}

/* Idle expiry only scans when the clock passes the earliest time a list
 * head can be idle (flow.c: idle_bound).  With a clock that never goes back
 * the lists are in time order, so after every packet no open connection but
 * the packet's own may be past its class's timeout: a bound not lowered
 * when a list gets a new head (an empty list filled, a head moved or
 * closed) leaves one open and fails here.  The timeouts differ per class
 * and the flags move connections between classes. */
struct idle_obs {
    GHashTable *open; /* struct flow_conn * of the connections open */
};

static void i_open(void *ctx, struct flow_conn *c, void **user)
{
    (void)user;
    g_hash_table_add(((struct idle_obs *)ctx)->open, c);
}

static void i_close(void *ctx, struct flow_conn *c, void **user, enum flow_close_reason why)
{
    (void)user;
    (void)why;
    g_assert_true(g_hash_table_remove(((struct idle_obs *)ctx)->open, c));
}

static int64_t idle_limit(const struct flow_limits *lim, const struct flow_conn *c)
{
    if (c->rst_seen || (c->fin[0] && c->fin[1]))
        return lim->idle_closed_us;
    if (c->hs == FLOW_HS_SYN || c->hs == FLOW_HS_SYNACK)
        return lim->idle_half_open_us;
    return lim->idle_established_us;
}

static void test_idle_bound(void)
{
    static const uint8_t flag_set[] = { TCP_SYN, TCP_SYN | TCP_ACK, TCP_ACK, TCP_ACK, TCP_ACK, TCP_ACK | TCP_FIN, TCP_RST };
    struct flow_limits lim;
    flow_limits_default(&lim);
    lim.idle_half_open_us = 3000;
    lim.idle_established_us = 40000;
    lim.idle_closed_us = 1000;
    lim.max_closed = 1000;
    static const struct flow_observer iobs = { .conn_open = i_open, .conn_close = i_close };
    setup_addrs();
    for (uint32_t seed = 1; seed <= 10; seed++) {
        GRand *r = g_rand_new_with_seed(seed);
        struct idle_obs o = { g_hash_table_new(NULL, NULL) };
        struct flow_table *t = flow_table_new(&lim, &iobs, &o);
        int64_t now = 0, prev = 0;
        uint64_t closed_idle = 0;
        for (int i = 0; i < 4000; i++) {
            struct ip_addr c = v4(10, 3, 0, (uint8_t)g_rand_int_range(r, 0, 40));
            bool fwd = g_rand_boolean(r);
            struct packet p = { 0 };
            p.ts_us = now;
            p.l4 = L4_TCP;
            p.src = fwd ? c : *B;
            p.dst = fwd ? *B : c;
            p.sport = fwd ? 2000 : 445;
            p.dport = fwd ? 445 : 2000;
            p.seq = g_rand_int(r);
            p.ack = g_rand_int(r);
            p.tcp_flags = flag_set[g_rand_int_range(r, 0, (gint32)sizeof flag_set)];
            flow_table_packet(t, &p);
            int64_t clock = now < prev ? now : prev; /* flow.h: the earlier of this packet and the one before */
            GHashTableIter it;
            gpointer k;
            g_hash_table_iter_init(&it, o.open);
            while (g_hash_table_iter_next(&it, &k, NULL)) {
                const struct flow_conn *fc = k;
                bool own = same_pair(fc, &p);
                if (!own)
                    g_assert_cmpint(clock - fc->last_ts_us, <=, idle_limit(&lim, fc));
            }
            prev = now;
            now += g_rand_int_range(r, 0, 4) == 0 ? g_rand_int_range(r, 0, 30000) : g_rand_int_range(r, 0, 300);
        }
        closed_idle = flow_table_stats(t).idle_closes;
        g_assert_cmpuint(closed_idle, >, 0); /* the test exercised expiry */
        flow_table_finish(t);
        flow_table_free(t);
        g_hash_table_destroy(o.open);
        g_rand_free(r);
    }
}


/* A clock that goes back: a connection whose last packet came from the past
 * sits behind one with a later time in the activity list.  When the first
 * moves away, the second becomes the head and the idle bound must come
 * down to it, or it outlives its timeout. */
static void test_idle_bound_past(void)
{
    struct flow_limits lim;
    flow_limits_default(&lim);
    lim.idle_established_us = 10 * SEC;
    struct fx f;
    fx_init(&f, &lim);
    struct ip_addr c1 = v4(10, 4, 0, 1), c2 = v4(10, 4, 0, 2), c3 = v4(10, 4, 0, 3);
    f.now = 1000 * SEC;
    send_pkt(&f, &c1, 3000, B, 445, 1, 1, TCP_ACK, NULL); /* conn 1 at 1000 s */
    f.now = 995 * SEC;
    send_pkt(&f, &c2, 3000, B, 445, 1, 1, TCP_ACK, NULL); /* conn 2 at 995 s, behind conn 1 */
    f.now = 1000 * SEC + 1;
    send_pkt(&f, &c1, 3000, B, 445, 1, 1, TCP_ACK, NULL); /* conn 1 to the tail: conn 2 heads */
    f.now = 1007 * SEC;
    send_pkt(&f, &c3, 3000, B, 445, 1, 1, TCP_ACK, NULL);
    f.now = 1007 * SEC;
    send_pkt(&f, &c3, 3000, B, 445, 1, 1, TCP_ACK, NULL); /* clock 1007 s: conn 2 idle 12 s, conn 1 7 s */
    g_assert_true(conn(&f, 2)->closed);
    g_assert_cmpint(conn(&f, 2)->reason, ==, FLOW_CLOSE_IDLE);
    g_assert_false(conn(&f, 1)->closed);
    g_assert_false(conn(&f, 3)->closed);
    fx_free(&f);
}

/* The hash index under connections that end in any order: 3,000 open at
 * once (the index grows twice, runs of occupied slots form), a random
 * third ended by RST (closed, then ended at once: max_closed 1), then every
 * connection still open sent another packet, in random order: each must
 * land on its own connection (a lost index entry opens a new mid-stream
 * connection instead), three rounds with new connections in the freed
 * slots. */
static void test_index_removals(void)
{
    struct flow_limits lim;
    flow_limits_default(&lim);
    lim.max_conns = 100000;
    lim.max_closed = 1;
    setup_addrs();
    struct fx f;
    fx_init(&f, &lim);
    enum { N = 3000 };
    GRand *r = g_rand_new_with_seed(13);
    bool open[N * 3] = { false };
    uint32_t order[N * 3];
    uint32_t made = 0, expect_open = 0;
    for (int round = 0; round < 3; round++) {
        for (uint32_t i = 0; i < N; i++, made++) {
            struct ip_addr c = v4(10, (uint8_t)(made >> 16), (uint8_t)(made >> 8), (uint8_t)made);
            send_pkt(&f, &c, (uint16_t)(1024 + made % 50000), B, 445, 100, 0, TCP_SYN, NULL);
            open[made] = true;
            expect_open++;
        }
        g_assert_cmpuint(flow_table_stats(f.t).conns, ==, made);
        for (uint32_t i = 0; i < made; i++)
            order[i] = i;
        for (uint32_t i = made; i > 1; i--) {
            uint32_t j = (uint32_t)g_rand_int_range(r, 0, (gint32)i), t = order[i - 1];
            order[i - 1] = order[j];
            order[j] = t;
        }
        for (uint32_t k = 0; k < made; k++) {
            uint32_t i = order[k];
            if (!open[i] || g_rand_int_range(r, 0, 3) != 0)
                continue;
            struct ip_addr c = v4(10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i);
            send_pkt(&f, &c, (uint16_t)(1024 + i % 50000), B, 445, 101, 0, TCP_RST, NULL);
            open[i] = false;
            expect_open--;
        }
        for (uint32_t k = 0; k < made; k++) {
            uint32_t i = order[made - 1 - k];
            if (!open[i])
                continue;
            struct ip_addr c = v4(10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i);
            send_pkt(&f, B, 445, &c, (uint16_t)(1024 + i % 50000), 500, 101, TCP_SYN | TCP_ACK, NULL);
        }
        g_assert_cmpuint(flow_table_stats(f.t).conns, ==, made); /* every packet found its connection */
        /* the last RST's connection lingers until the next packet ends it */
        g_assert_cmpuint(flow_table_stats(f.t).current, <=, expect_open + 1);
        g_assert_cmpuint(flow_table_stats(f.t).current, >=, expect_open);
    }
    uint32_t lingering = 0;
    for (uint32_t i = 0; i < made; i++) {
        if (open[i])
            g_assert_false(conn(&f, i + 1)->closed);
        else
            lingering += !conn(&f, i + 1)->closed;
    }
    g_assert_cmpuint(lingering, <=, 1);
    g_rand_free(r);
    fx_free(&f);
}

/* flow_observer.warm: after each end of a lingering closed connection past
 * max_closed, the observer hears of the ones that end after 1 and after 2
 * more, with its own user pointer, and they do end in that order. */
struct warm_obs {
    GArray *events; /* (id << 8 | ahead) for a warm call, id << 8 for a close */
};

static void w_open(void *ctx, struct flow_conn *c, void **user)
{
    (void)ctx;
    *user = GSIZE_TO_POINTER(c->id);
}

static void w_close(void *ctx, struct flow_conn *c, void **user, enum flow_close_reason why)
{
    struct warm_obs *o = ctx;
    (void)why;
    g_assert_cmpuint(GPOINTER_TO_SIZE(*user), ==, c->id);
    uint64_t e = c->id << 8;
    g_array_append_val(o->events, e);
}

static void w_warm(void *ctx, struct flow_conn *c, void **user, int ahead)
{
    struct warm_obs *o = ctx;
    g_assert_cmpuint(GPOINTER_TO_SIZE(*user), ==, c->id);
    g_assert_true(ahead == 1 || ahead == 2);
    uint64_t e = c->id << 8 | (uint64_t)ahead;
    g_array_append_val(o->events, e);
}

static void test_warm_ahead(void)
{
    struct flow_limits lim;
    flow_limits_default(&lim);
    lim.max_closed = 3;
    setup_addrs();
    static const struct flow_observer wobs = { .conn_open = w_open, .conn_close = w_close, .warm = w_warm };
    struct warm_obs o = { g_array_new(FALSE, FALSE, sizeof(uint64_t)) };
    struct flow_table *t = flow_table_new(&lim, &wobs, &o);
    enum { N = 12 };
    for (int i = 0; i < N; i++) {
        struct packet p = { 0 };
        p.ts_us = 1000 + i;
        p.l4 = L4_TCP;
        p.src = v4(10, 5, 0, (uint8_t)(i + 1));
        p.dst = *B;
        p.sport = 4000;
        p.dport = 445;
        p.tcp_flags = TCP_SYN;
        flow_table_packet(t, &p);
        p.tcp_flags = TCP_RST | TCP_ACK;
        flow_table_packet(t, &p); /* closed: lingers, the oldest ends past 3 */
    }
    /* connection j ends at the packet after the fourth closed one is
     * there (the last three linger to the end): each end is followed by
     * the hints for the connections two and one ends later */
    guint k = 0;
    for (uint64_t j = 1; j + 4 <= N; j++) {
        g_assert_cmpuint(k + 2, <, o.events->len);
        g_assert_cmpuint(g_array_index(o.events, uint64_t, k), ==, j << 8);
        uint64_t far = (j + 3) << 8 | 2, near = (j + 2) << 8 | 1;
        g_assert_cmpuint(g_array_index(o.events, uint64_t, k + 1), ==, far);
        g_assert_cmpuint(g_array_index(o.events, uint64_t, k + 2), ==, near);
        k += 3;
    }
    g_assert_cmpuint(k, ==, o.events->len);
    flow_table_finish(t);
    flow_table_free(t);
    g_array_unref(o.events);
}

/* Connections forged to share one slot under the fixed hash flow.c had
 * (mix64(lo * G ^ hi) of the two endpoint words, as a capture's author can
 * compute): N clients of one server whose hashes agree in the low 12 bits,
 * the bits a table of N connections (4,096 slots) starts its probe from, so
 * every packet walked one run of the index (quadratic).  Keyed by the
 * process's random number, the same connections spread: the longest probe
 * stays short, and each connection's packets, both ways, stay its own. */
static uint64_t old_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x *= UINT64_C(0xc4ceb9fe1a85ec53);
    x ^= x >> 33;
    return x;
}

static uint64_t old_word(const struct ip_addr *a, uint16_t port)
{
    uint64_t lo, hi;
    memcpy(&lo, a->bytes, 8);
    memcpy(&hi, a->bytes + 8, 8);
    return (lo ^ (hi << 29 | hi >> 35)) + ((uint64_t)port << 48 ^ (uint64_t)a->family << 40);
}

/* The longest probe of the index after the forged connections, under the
 * given process key (each connection's packets, both ways, its own). */
static uint64_t forged_longest(uint64_t key, const struct ip_addr *cl, uint32_t n, const struct ip_addr *sv)
{
    distinct_process_key_set(key);
    struct flow_table *t = flow_table_new(NULL, NULL, NULL);
    for (int round = 0; round < 3; round++)
        for (uint32_t i = 0; i < n; i++) {
            bool back = round == 1; /* the server's SYN-ACKs: the same connections */
            struct packet p = { 0 };
            p.ts_us = round * n + i;
            p.l4 = L4_TCP;
            p.src = back ? *sv : cl[i];
            p.dst = back ? cl[i] : *sv;
            p.sport = back ? 445 : 40000;
            p.dport = back ? 40000 : 445;
            p.seq = back ? 9000 : 1000;
            p.ack = back ? 1001 : round ? 9001 : 0;
            p.tcp_flags = round == 0 ? TCP_SYN : round == 1 ? TCP_SYN | TCP_ACK : TCP_ACK;
            flow_table_packet(t, &p);
        }
    struct flow_stats st = flow_table_stats(t);
    g_assert_cmpuint(st.conns, ==, n);
    g_assert_cmpuint(st.current, ==, n);
    g_assert_cmpuint(st.reuses, ==, 0);
    uint64_t longest = flow_table_longest_probe(t);
    flow_table_finish(t);
    flow_table_free(t);
    return longest;
}

/* One slot: N - 1; spread over 4,096 slots at half full: tens.  Under a
 * fixed spread of process keys, not the process's own random one: a bound
 * on a random quantity is a test whose answer can change from run to run
 * (test_conn_groups.c's longest probe failed CI that way). */
static void test_index_forged_collisions(void)
{
    enum { N = 2000, MASK = 4095 };
    const struct ip_addr sv = v4(192, 168, 0, 1);
    const uint64_t s = old_word(&sv, 445);
    struct ip_addr *cl = g_new0(struct ip_addr, N);
    uint32_t found = 0;
    for (uint32_t x = 1; found < N; x++) {
        g_assert_cmpuint(x, <, 1u << 24);
        struct ip_addr a = v4(10, (uint8_t)(x >> 16), (uint8_t)(x >> 8), (uint8_t)x);
        uint64_t c = old_word(&a, 40000), lo = c < s ? c : s, hi = c < s ? s : c;
        if ((old_mix64(lo * UINT64_C(0x9E3779B97F4A7C15) ^ hi) & MASK) == 0x5EE)
            cl[found++] = a;
    }
    uint64_t worst = 0, x = UINT64_C(0xF0A6ED);
    for (int i = 0; i < 64; i++) {
        x += UINT64_C(0x9E3779B97F4A7C15);
        worst = MAX(worst, forged_longest(x * UINT64_C(0xBF58476D1CE4E5B9) ^ x >> 29, cl, N, &sv));
    }
    g_test_message("longest probe over 64 keys: %" G_GUINT64_FORMAT, worst);
    g_assert_cmpuint(worst, <, 100);
    g_free(cl);
}

/* Keys as captures make them: one client's consecutive ports to one
 * server, then consecutive client addresses (a scan, a generated load), an
 * arithmetic progression either way.  A multiply-shift sum's own top half
 * put their home slots on a Weyl sequence, which for some process keys
 * bunches into runs linear probing walks; hash_spread() (hash_mix.h)
 * breaks the progression.  Returns the table's longest probe. */
static uint64_t progression_longest(uint64_t key, bool by_port)
{
    enum { N = 2000 };
    distinct_process_key_set(key);
    struct flow_table *t = flow_table_new(NULL, NULL, NULL);
    const struct ip_addr sv = v4(192, 168, 0, 1);
    for (uint32_t i = 0; i < N; i++) {
        struct packet p = { 0 };
        p.ts_us = i;
        p.l4 = L4_TCP;
        p.src = by_port ? v4(10, 0, 0, 7) : v4(10, 1, (uint8_t)(i >> 8), (uint8_t)i);
        p.dst = sv;
        p.sport = by_port ? (uint16_t)(32768 + i) : 50000;
        p.dport = 445;
        p.seq = 1000;
        p.tcp_flags = TCP_SYN;
        flow_table_packet(t, &p);
    }
    g_assert_cmpuint(flow_table_stats(t).conns, ==, N);
    uint64_t longest = flow_table_longest_probe(t);
    flow_table_finish(t);
    flow_table_free(t);
    return longest;
}

static void test_index_progressions(void)
{
    static const struct {
        uint64_t key;
        bool by_port;
    } crowded[] = { /* 1,999, 998, 399; 805, 563 under the sum's top half */
                    { UINT64_C(0x446df12e859d3075), true },
                    { UINT64_C(0x1bc6d169aaf195d7), true },
                    { UINT64_C(0x8f9e2f1ced94519d), true },
                    { UINT64_C(0xb62b105608bb0039), false },
                    { UINT64_C(0x64701438b1e8f389), false } };
    uint64_t worst = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(crowded); i++)
        worst = MAX(worst, progression_longest(crowded[i].key, crowded[i].by_port));
    uint64_t x = UINT64_C(0xF10F10);
    for (int i = 0; i < 128; i++) {
        x += UINT64_C(0x9E3779B97F4A7C15);
        uint64_t k = x * UINT64_C(0xBF58476D1CE4E5B9) ^ x >> 29;
        worst = MAX(worst, progression_longest(k, true));
        worst = MAX(worst, progression_longest(k, false));
    }
    g_test_message("longest probe over %zu tables: %" G_GUINT64_FORMAT, G_N_ELEMENTS(crowded) + 256, worst);
    g_assert_cmpuint(worst, <, 100);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/flow/lifecycle_fin", test_lifecycle_fin);
    g_test_add_func("/flow/rst", test_rst);
    g_test_add_func("/flow/port_reuse", test_port_reuse);
    g_test_add_func("/flow/idle_timeout", test_idle_timeout);
    g_test_add_func("/flow/time_jumps", test_time_jumps);
    g_test_add_func("/flow/idle_bound", test_idle_bound);
    g_test_add_func("/flow/idle_bound_past", test_idle_bound_past);
    g_test_add_func("/flow/initiator_guess", test_initiator_guess);
    g_test_add_func("/flow/ipv6_keys", test_ipv6_keys);
    g_test_add_func("/flow/ipv4_words_exact", test_ipv4_words_exact);
    g_test_add_func("/flow/eviction", test_eviction);
    g_test_add_func("/flow/activity_order", test_activity_order);
    g_test_add_func("/flow/gap_through_table", test_gap_through_table);
    g_test_add_func("/flow/one_sided", test_one_sided);
    g_test_add_func("/flow/many_conns", test_many_conns);
    g_test_add_func("/flow/robust_random", test_robust_random);
    g_test_add_func("/flow/write_streams", test_write_streams);
    g_test_add_func("/flow/observers", test_observers);
    g_test_add_func("/flow/index_removals", test_index_removals);
    g_test_add_func("/flow/warm_ahead", test_warm_ahead);
    g_test_add_func("/flow/pass_one_observer", test_pass_one_observer);
    g_test_add_func("/flow/index_forged_collisions", test_index_forged_collisions);
    g_test_add_func("/flow/index_progressions", test_index_progressions);
    return g_test_run();
}
