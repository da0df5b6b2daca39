/* flow_test_util.h - the flow table tests' fixture: a recording observer
 * (every connection's bytes, gaps, packets and close facts), a table around
 * it, and hand-built TCP packets. */
#ifndef SMBSCOPE_FLOW_TEST_UTIL_H
#define SMBSCOPE_FLOW_TEST_UTIL_H

#include <glib.h>

#include "flow.h"

#define SEC INT64_C(1000000)

struct conn_rec {
    uint64_t id;
    GByteArray *stream[2];
    uint64_t gap_bytes[2];
    uint64_t packets[2];
    bool closed;
    enum flow_close_reason reason;
    /* copies at close time */
    bool guessed, midstream, rst_seen, fin[2];
    uint8_t rst_dir;
    enum flow_hs_state hs;
    struct ip_addr addr[2];
    uint16_t port[2];
};

struct obs_rec {
    GPtrArray *conns; /* struct conn_rec *, index id-1 */
};

struct fx {
    struct obs_rec o;
    struct flow_table *t;
    int64_t now;
};

extern const struct flow_observer rec_obs;
extern const struct ip_addr *A, *B;
extern struct ip_addr addr_a, addr_b;

void o_open(void *ctx, struct flow_conn *c, void **user);
void o_packet(void *ctx, struct flow_conn *c, void **user, int dir, const struct packet *p);
void o_data(void *ctx, struct flow_conn *c, void **user, int dir, const uint8_t *b, size_t n, int64_t ts);
void o_gap(void *ctx, struct flow_conn *c, void **user, int dir, uint64_t n, int64_t ts);
void o_close(void *ctx, struct flow_conn *c, void **user, enum flow_close_reason why);
void conn_rec_free(gpointer p);
void fx_init(struct fx *f, const struct flow_limits *lim);
void fx_free(struct fx *f);
struct ip_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d);
struct ip_addr v6(uint16_t last);
struct conn_rec *conn(struct fx *f, guint id);
void send_pkt(struct fx *f, const struct ip_addr *src, uint16_t sport, const struct ip_addr *dst, uint16_t dport,
              uint32_t seq, uint32_t ack, uint8_t flags, const char *data);
void handshake(struct fx *f, uint16_t cport, uint32_t cisn, uint32_t sisn);
void setup_addrs(void);

#endif
