/* flow_test_util.c - see flow_test_util.h. */
#include "flow_test_util.h"

#include <string.h>

void o_open(void *ctx, struct flow_conn *c, void **user)
{
    struct obs_rec *o = ctx;
    struct conn_rec *r = g_new0(struct conn_rec, 1);
    r->id = c->id;
    r->stream[0] = g_byte_array_new();
    r->stream[1] = g_byte_array_new();
    g_assert_cmpuint(c->id, ==, o->conns->len + 1);
    g_ptr_array_add(o->conns, r);
    *user = r;
}

void o_packet(void *ctx, struct flow_conn *c, void **user, int dir, const struct packet *p)
{
    struct conn_rec *r = *user;
    r->packets[dir]++;
}

void o_data(void *ctx, struct flow_conn *c, void **user, int dir, const uint8_t *b, size_t n, int64_t ts)
{
    struct conn_rec *r = *user;
    g_assert_false(r->closed);
    g_byte_array_append(r->stream[dir], b, (guint)n);
}

void o_gap(void *ctx, struct flow_conn *c, void **user, int dir, uint64_t n, int64_t ts)
{
    struct conn_rec *r = *user;
    r->gap_bytes[dir] += n;
}

void o_close(void *ctx, struct flow_conn *c, void **user, enum flow_close_reason why)
{
    struct conn_rec *r = *user;
    g_assert_false(r->closed);
    /* Every offset of each direction was data, gap or skip, exactly once. */
    for (int d = 0; d < 2; d++) {
        const struct reasm_dir *s = &c->stream[d];
        g_assert_cmpuint(s->next, ==, s->st.bytes + s->st.gap_bytes + s->st.skipped_bytes);
        g_assert_cmpuint(s->held_bytes, ==, 0);
    }
    r->closed = true;
    r->reason = why;
    r->guessed = c->initiator_guessed;
    r->midstream = c->midstream;
    r->rst_seen = c->rst_seen;
    r->rst_dir = c->rst_dir;
    r->fin[0] = c->fin[0];
    r->fin[1] = c->fin[1];
    r->hs = c->hs;
    memcpy(r->addr, c->addr, sizeof r->addr);
    memcpy(r->port, c->port, sizeof r->port);
}

void conn_rec_free(gpointer p)
{
    struct conn_rec *r = p;
    g_byte_array_unref(r->stream[0]);
    g_byte_array_unref(r->stream[1]);
    g_free(r);
}

const struct flow_observer rec_obs = { o_open, o_packet, o_data, o_gap, o_close, NULL, NULL };

void fx_init(struct fx *f, const struct flow_limits *lim)
{
    f->o.conns = g_ptr_array_new_with_free_func(conn_rec_free);
    f->t = flow_table_new(lim, &rec_obs, &f->o);
    g_assert_nonnull(f->t);
    f->now = 1700000000 * SEC;
}

void fx_free(struct fx *f)
{
    flow_table_free(f->t);
    g_ptr_array_unref(f->o.conns);
}

struct conn_rec *conn(struct fx *f, guint id)
{
    g_assert_cmpuint(id, >=, 1);
    g_assert_cmpuint(id, <=, f->o.conns->len);
    return g_ptr_array_index(f->o.conns, id - 1);
}

struct ip_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    struct ip_addr x = { .family = 4, .bytes = { a, b, c, d } };
    return x;
}

struct ip_addr v6(uint16_t last)
{
    struct ip_addr x = { .family = 6, .bytes = { 0xfd, 0x00, [14] = (uint8_t)(last >> 8), [15] = (uint8_t)last } };
    return x;
}

const struct ip_addr *A, *B;
struct ip_addr addr_a, addr_b;

void send_pkt(struct fx *f, const struct ip_addr *src, uint16_t sport, const struct ip_addr *dst,
                     uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, const char *data)
{
    struct packet p = { 0 };
    p.ts_us = f->now;
    p.src = *src;
    p.dst = *dst;
    p.ip_proto = 6;
    p.l4 = L4_TCP;
    p.sport = sport;
    p.dport = dport;
    p.seq = seq;
    p.ack = ack;
    p.tcp_flags = flags;
    p.payload = (const uint8_t *)data;
    p.payload_len = p.payload_wire_len = data ? (uint32_t)strlen(data) : 0;
    flow_table_packet(f->t, &p);
    f->now += 1000;
}

/* Client A:40000 -> server B:445 full lifecycle. */
void handshake(struct fx *f, uint16_t cport, uint32_t cisn, uint32_t sisn)
{
    send_pkt(f, A, cport, B, 445, cisn, 0, TCP_SYN, NULL);
    send_pkt(f, B, 445, A, cport, sisn, cisn + 1, TCP_SYN | TCP_ACK, NULL);
    send_pkt(f, A, cport, B, 445, cisn + 1, sisn + 1, TCP_ACK, NULL);
}

void setup_addrs(void)
{
    addr_a = v4(10, 0, 0, 1);
    addr_b = v4(10, 0, 0, 2);
    A = &addr_a;
    B = &addr_b;
}

