/* netbios.h - the NetBIOS ledger: every UDP 137/138 and TCP/UDP 139 packet,
 * and every ICMP error about one, belongs to one row per flow
 * (protocol, client, client port, server, server port). */
#ifndef SMBSCOPE_NETBIOS_H
#define SMBSCOPE_NETBIOS_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "packet.h"

enum nb_service { NB_SERVICE_NBNS, NB_SERVICE_NBDGM, NB_SERVICE_NBSS };

enum nb_state {
    NB_STATE_DATAGRAM,    /* UDP traffic, answered or one-way by nature */
    NB_STATE_ESTABLISHED, /* TCP handshake completed (or data seen) */
    NB_STATE_REFUSED,     /* RST or ICMP unreachable */
    NB_STATE_NO_ANSWER,   /* SYN or query with nothing back */
};

struct nb_flow {
    uint8_t proto; /* 6 TCP, 17 UDP */
    struct ip_addr client, server;
    uint16_t client_port, server_port;
    enum nb_service service;
    uint64_t packets, bytes;
    int64_t first_seen, last_seen;
    /* evidence for the state */
    bool syn, synack, rst_from_server, icmp_refused, server_spoke;
    bool nbss_elsewhere;         /* NBSS framing found on a port other than 139 (the
                                    connection's own rule, nbss-transport, reports it) */
    uint32_t requests, queries, responses; /* NBNS: all requests, name queries (opcode 0), responses */
    GPtrArray *names;            /* char*: decoded names, escaped, unique, capped */
    uint32_t names_dropped;
    uint32_t queries_answered;   /* NBNS queries a response (from anyone) matched */
    uint32_t queries_untracked;  /* NBNS queries past the pending-table cap */
};

/* Packets of flows beyond the ledger's row cap: counted, not itemised. */
struct nb_overflow {
    uint64_t packets, bytes;
    uint64_t by_service[3]; /* packets, by enum nb_service */
    int64_t first_seen, last_seen;
};

/* NetBIOS without IP: the NetBIOS Frames protocol over 802.2 LLC (NetBEUI,
 * SAP 0xF0/0xF1) and NetBIOS over IPX (socket 0x0455). */
struct nb_non_ip {
    uint64_t netbeui, nbipx; /* frames */
    int64_t first_seen, last_seen;
};

#define NB_DEFAULT_MAX_ROWS 16384u
/* NetBIOS hosts with a record (hosts.h); past it they are counted in the
 * host table's compact set, exactly, without per-host counts. */
#define NB_HOST_RECORDS 65536u

struct nb_ledger;

/* max_rows: flows itemised (0 = NB_DEFAULT_MAX_ROWS). */
struct nb_ledger *nb_ledger_new(uint32_t max_rows);
void nb_ledger_free(struct nb_ledger *l);

/* Offer a packet; returns the row it belongs to, or NULL when it is not
 * NetBIOS.  Cheap port test first: safe to call on every packet. */
struct nb_flow *nb_ledger_packet(struct nb_ledger *l, const struct packet *pkt);
/* nb_ledger_packet() past its first check: nearly every packet is TCP or
 * UDP away from the NetBIOS ports (137, 138, 139), and is answered by the
 * inline check before any call (the full path's frame and its walk of the
 * port table, twice, were 40 instructions a packet). */
struct nb_flow *nb_ledger_packet_full(struct nb_ledger *l, const struct packet *pkt);
static inline bool nb_near_port(uint16_t port) { return (uint16_t)(port - 137) < 3; }
static inline struct nb_flow *nb_ledger_packet_inline(struct nb_ledger *l, const struct packet *pkt)
{
    if ((pkt->l4 == L4_TCP || pkt->l4 == L4_UDP) && !nb_near_port(pkt->sport) && !nb_near_port(pkt->dport))
        return NULL;
    return nb_ledger_packet_full(l, pkt);
}

/* The row of a flow, NULL when there is none. */
struct nb_flow *nb_ledger_find(struct nb_ledger *l, uint8_t proto, const struct ip_addr *client, uint16_t client_port,
                               const struct ip_addr *server, uint16_t server_port);

/* A TCP connection on a port other than 139 that the transport classifier
 * found to carry NBSS session framing: NetBIOS too, so it gets a row. */
struct nb_flow *nb_ledger_add_nbss_conn(struct nb_ledger *l, const struct ip_addr *client, uint16_t client_port,
                                        const struct ip_addr *server, uint16_t server_port, uint64_t packets,
                                        uint64_t bytes, int64_t first_seen, int64_t last_seen, bool server_spoke);

/* Record a decoded name on a row (NBSS called/calling names, NBNS names). */
void nb_flow_add_name(struct nb_flow *f, const char *text);

enum nb_state nb_flow_state(const struct nb_flow *f);
const char *nb_state_name(enum nb_state s);
const char *nb_service_name(enum nb_service s);
bool nb_state_is_attempt(enum nb_state s);

const struct nb_overflow *nb_ledger_overflow(const struct nb_ledger *l);

/* Offer a frame that is not IP (packet_decode said PKT_NOT_IP); true when
 * it was NetBIOS and was counted. */
bool nb_ledger_non_ip(struct nb_ledger *l, const struct packet *pkt);
const struct nb_non_ip *nb_ledger_non_ip_counts(const struct nb_ledger *l);
uint32_t nb_ledger_max_rows(const struct nb_ledger *l);

/* Rows in order of first appearance. */
guint nb_ledger_count(const struct nb_ledger *l);
const struct nb_flow *nb_ledger_row(const struct nb_ledger *l, guint i);

struct host_table;
struct distinct;
/* Every address that spoke NetBIOS or was sent it (hosts.h). */
const struct host_table *nb_ledger_hosts(const struct nb_ledger *l);
/* Distinct flows among the packets counted in the overflow. */
uint64_t nb_ledger_overflow_flows(const struct nb_ledger *l);

/* --jobs over several inputs (analyzer/merge/jobs.c): asked, when every
 * row is taken, whether a flow with none gets one past the cap (past: rows
 * past it; at most two caps more); NULL: counted in the overflow. */
void nb_ledger_admit_past_cap(struct nb_ledger *l,
                              bool (*admit)(void *data, const struct nb_flow *f, uint32_t past, uint32_t cap),
                              void *data);
/* Whether the overflow counted a flow (its proto, ends and ports): exact
 * while the overflow counts its flows exactly, false after. */
bool nb_ledger_overflow_has(const struct nb_ledger *l, const struct nb_flow *f);

/* smbscope merge (analyzer/merge/): another run's row folded into this
 * ledger.  The same flow key means the same flow seen by both runs (a
 * capture split in its middle): packets and bytes added, times widened,
 * evidence and names united; *joined says so.  A row past the cap goes to
 * the overflow. */
void nb_ledger_fold_row(struct nb_ledger *l, const struct nb_flow *f, bool *joined);
/* smbscope merge: whether the ledger's rows may not be those one run over
 * the captures itemises (a row folded past the cap, or a state's marks of
 * its folded rows not taken back): the host counts that rest on rows are
 * then estimates (hostview.c); marked by the fold. */
void nb_ledger_mark_fold_inexact(struct nb_ledger *l);
bool nb_ledger_fold_inexact(const struct nb_ledger *l);
/* Another run's overflow and non-IP counters (its overflow flows are
 * united with distinct.h's functions on nb_ledger_overflow_set()). */
void nb_ledger_fold_counts(struct nb_ledger *l, const struct nb_overflow *o, const struct nb_non_ip *n);
struct distinct *nb_ledger_overflow_set(struct nb_ledger *l);
/* The hash the overflow's distinct flows are counted by (a merge state
 * that folds a row into its overflow counts it as the ledger would). */
uint64_t nb_flow_key_hash(const struct nb_flow *f);
/* Rows in first-seen order, ties by flow key: the order a run gives them,
 * whatever the order the runs were folded in. */
void nb_ledger_sort_rows(struct nb_ledger *l);
/* Rows in the order cmp (two const struct nb_flow *, data) gives, its ties
 * as nb_ledger_sort_rows() (--jobs on one file: the order one run made them). */
void nb_ledger_sort_rows_by(struct nb_ledger *l, GCompareDataFunc cmp, gpointer data);
struct host_table *nb_ledger_hosts_mut(struct nb_ledger *l);

/* smbscope merge (analyzer/merge/mstate_join_nbns.h): an NBNS transaction
 * cut by a capture's edge, the query in one capture and its answer (a
 * broadcast query is answered from the server's own address) in the next.
 * The queries still waiting at the end (ts: their row's last packet, row:
 * the row that asked), and the responses no query matched (ts: the
 * response's; the first NB_MAX_ORPHANS). */
struct nb_nbns_xid {
    struct ip_addr client; /* the asker */
    uint16_t port, id;     /* its port, the transaction id */
    int64_t ts;
    const struct nb_flow *row;
};
#define NB_MAX_ORPHANS 4096u
void nb_ledger_each_pending(const struct nb_ledger *l, void (*fn)(void *ctx, const struct nb_nbns_xid *x), void *ctx);
const struct nb_nbns_xid *nb_ledger_orphans(const struct nb_ledger *l, guint *n, uint64_t *dropped);

/* True when either port is a NetBIOS port for this protocol. */
bool nb_port_match(uint8_t proto, uint16_t sport, uint16_t dport);

#endif
