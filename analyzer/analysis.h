/* analysis.h - one run of smbscope: inputs in, facts out.
 *
 * capture -> packet_decode -> NetBIOS ledger (UDP 137/138, TCP/UDP 139, ICMP)
 *                          -> flow table -> reassembly -> session model
 * Every stage hands the next a small plain struct; nothing is formatted
 * before the report. */
#ifndef SMBSCOPE_ANALYSIS_H
#define SMBSCOPE_ANALYSIS_H

#include "esp_peers.h"
#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <signal.h>

#include "flow.h"
#include "netbios.h"
#include "options.h"
#include "part_sketch.h"
#include "packet.h"
#include "rdma.h"
#include "session.h"
#include "conn_groups.h"

struct capture;
#include "capture.h"

struct write_streams;
struct quic_table;
struct keylog;
struct census;
struct pcapng_out;
struct conn_groups;
struct smb_hosts;
struct conn_summary;
struct fin_recs;
struct frame_recs;
struct mstate_render;

/* Events as they happen, for the ndjson output (NULL members are skipped).
 * conn_classified comes once per SMB connection: when the negotiation was
 * answered (cls is then the classification so far; the connection's own
 * addresses are set at its end, so the flow is passed too), or at its end
 * when it never was. */
struct analysis_events {
    void (*conn_classified)(void *ctx, const struct smb_conn *s, const struct flow_conn *c, enum transport_class cls,
                            int64_t ts);
    void (*conn_end)(void *ctx, const struct smb_conn *s);
    void (*netbios_flow)(void *ctx, const struct nb_flow *f);
    void *ctx;
};

struct input_info {
    char *path;               /* as given ("-" for stdin) */
    char *link_type;          /* libpcap's name, e.g. "EN10MB" */
    int dlt;
    const char *format;       /* "pcap", "pcapng" */
    bool gzip;
    uint64_t packets;         /* records read */
    uint64_t bytes;           /* bytes of the (decompressed) capture read */
    uint64_t wire_bytes;      /* sum of original packet lengths */
    bool truncated;           /* ended in a damaged or cut record */
    bool interrupted;         /* SIGINT/SIGTERM stopped reading it before its end */
    char *error;              /* why reading stopped early, NULL when clean */
    uint64_t status[PKT_STATUS_COUNT]; /* packet_decode outcomes */
    int64_t first_ts, last_ts;
    /* Shared between input stages and the verdict (filled where known): */
    const char *reader;       /* which reader read it: "libpcap", "mmap", "wiretap", "live" */
    char *capture_filter;     /* filter the capture was taken with (pcapng if_filter), NULL unknown */
    bool live;                /* a live interface, not a file */
    bool have_drop_stats;     /* the counters below come from libpcap's pcap_stats() */
    uint64_t if_received, if_dropped, if_ifdropped;
    /* The part's identity (analyzer/report/part_id.h): its first records
     * hashed (capture_head(); have_head false: none, or live), or the
     * identity a merged report gave it (g_free; NULL in a run). */
    uint8_t head[32];
    bool have_head;
    char *part_id;
    /* A sample of its records (part_sketch.h): merge refuses two inputs
     * that share records (part_overlap.h); n 0: none (no packet, live,
     * a report written before sketches). */
    struct part_overlap overlap;
};

/* An interface of the -w file: records of one input with one link type. */
struct pcapng_if {
    guint input;
    int dlt;
    int ifid;
};

/* A TCP connection of packets without payload, first seen mid-stream; or
 * (data) one whose payload held no message header either way: the middle
 * of a message another capture began (analyzer/merge/mstate_tails.h). */
struct analysis_tail {
    struct ip_addr addr[2]; /* [0] the side the flow table took for the initiator */
    uint16_t port[2];
    int64_t first_ts, last_ts;
    uint64_t packets[2];    /* sent by addr[0], by addr[1] */
    char close_reason[24];
    bool data;
    uint64_t bytes[2], framed[2]; /* data: payload on the wire, bytes its framer was fed */
    int64_t order_run, order_at; /* its close, numbered as conn_summary's (conn_summary.h) */
    bool fins_acked;              /* a FIN each way, both acknowledged (conn_summary.h) */
    bool isn_resp_known;          /* it began with the responder's SYN-ACK: its ISN (mstate_join_syn.h) */
    uint32_t isn_resp;
};

/* a - b for capture times, held at INT64_MIN/INT64_MAX instead of
 * overflowing: a run's first and last times are INT64_MAX/INT64_MIN until
 * its first packet, and a merged report's stay so when no part had packets
 * (a hostile one may still carry records whose times are then compared). */
static inline int64_t ts_diff(int64_t a, int64_t b)
{
    int64_t d;
    if (__builtin_sub_overflow(a, b, &d))
        return b < 0 ? INT64_MAX : INT64_MIN;
    return d;
}

struct analysis {
    const struct config *cfg;
    GPtrArray *inputs;        /* struct input_info* */
    struct nb_ledger *ledger;
    struct flow_table *flows;
    struct ipfrag_table *frags;
    struct census *census;    /* UDP conversations, snaplen cuts, SYNs to 139/445 (census.h) */
    struct write_streams *streams;
    struct session_config session_cfg;
    /* Every closed connection that carried SMB/NBSS is folded into groups
     * (conn_groups.h): the verdict, hosts, evidence and reports read those.
     * Full detail is kept only for the connections --connections selects
     * (the first --connections-limit by default); the others are freed at
     * close and counted in conns_omitted. */
    struct conn_groups *groups;
    struct mstate_group_order *group_order; /* smbscope merge only: where each group is met first
                                               (analyzer/merge/mstate_group_order.h) */
    /* A file run: its closes numbered (the merge state's group_closes,
     * edge_closes and end_close_ranks, analyzer/merge/mstate_group_order.h):
     * close_seq counts them, group_close holds each group's number (int64_t,
     * in creation order), finish_closes those made at the end, end_ranks
     * (uint32_t) their rank by last packet, from number end_from on. */
    uint64_t close_seq, end_from;
    GArray *group_close;
    GArray *finish_closes;
    GArray *end_ranks;
    GArray *close_lasts;      /* the latest last packet of the first closes (int64_t) */
    GArray *end_lingering;    /* the places (uint32_t, from end_from) of the closes at the end that lingered */
    uint64_t fin_closes, end_lingers; /* TCP connections closed after a FIN each way or a RST (flow.h: the
                                         closed that linger, max_closed), of them at the end */
    bool closes_one_run;      /* --jobs over one file: the numbers above are one run's (analyzer/merge/
                                 split_closes.h), written in the merge state as a run's are */
    struct smb_hosts *smb_hosts; /* every SMB client and server, what it broke (smb_hosts.h) */
    GPtrArray *conns;         /* struct smb_conn*: connections kept for connections[] detail */
    uint64_t conns_omitted;   /* closed connections not kept in conns */
    uint64_t conn_detail_limit; /* --connections-limit (0 in the config: the default) */
    /* Connections at a capture's edge: still open at its end, or first seen
     * mid-stream (a capture split in the middle of a connection leaves one
     * of each).  A file run keeps their records apart until
     * analysis_fold_edges(), so that its merge state can carry them for
     * smbscope merge to join, and the groups and SMB hosts without them
     * (core_*; NULL when there were none: the same as groups, smb_hosts). */
    GArray *edges;            /* struct conn_summary, at most ANALYSIS_MAX_EDGES */
    struct conn_groups *core_groups;
    struct smb_hosts *core_hosts;
    struct groups_past *groups_past; /* the connections past the groups' cap, finer (analyzer/merge/
                                        mstate_groups_past.h); merge: the states' listed combinations */
    bool edges_apart;         /* --jobs: the fold joins the edges and reads only the tables
                                 without them, so analysis_fold_edges() leaves them apart
                                 (no copy of the groups and SMB hosts per worker) */
    bool tunnel_frag_tcp;     /* a TCP packet came out of a tunnel's reassembled datagram (--jobs: split.c) */
    bool edges_close_order;   /* --jobs on one file: edges holds one run's edges in the order it closed
                                 them, order_at their rank (split.c); merge_finish() keeps that order */
    uint64_t edges_unjoinable; /* edge connections past ANALYSIS_MAX_EDGES, folded at once */
    uint64_t edges_joined;    /* smbscope merge: connections joined across captures */
    uint64_t merged_parts;    /* smbscope merge: runs whose reports were folded (0: a run) */
    uint64_t smbd_not_decoded; /* smbscope merge: SMBD messages a cut divided that the run over the parts
                                  decodes and merge only counts (mstate_join_frame.c long_whole()) */
    struct {                  /* smbscope merge: records the reports' merge states folded past their caps
                                 (analyzer/merge/mstate.h), so the merge is not exact there (stats.merged) */
        uint64_t nb_rows, hosts, smb_hosts, syn_pairs, dns_keys, udp_convs;
        uint64_t conn_groups; /* --jobs, several inputs: connections a later input put in groups below the
                                 full level while those levels filled (analyzer/merge/jobs.c) */
        uint64_t nbns_xids; /* NBNS queries and unmatched answers (analyzer/merge/mstate_join_nbns.h) */
        uint64_t fin_lingers; /* connections lingering after their FINs at a capture's end, past the cap
                                 (analyzer/merge/mstate_join_fin.h: fin_linger_note) */
        uint64_t syn_starts; /* SYNs open at a capture's end a later capture may have sent again past the
                                connections its state kept (analyzer/merge/mstate_syn_starts.h) */
    } state_folded;
    GArray *tails;            /* struct analysis_tail: TCP connections seen from their middle that carried
                                 no payload (a capture's trailing ACKs and FINs of a connection another
                                 capture holds), at most ANALYSIS_MAX_EDGES; smbscope merge joins them */
    GArray *syn_flows;        /* struct syn_flow: TCP connections opened without payload that another capture
                                 may continue, at most ANALYSIS_MAX_EDGES (analyzer/merge/mstate_join_syn.h) */
    struct syn_starts *syn_starts; /* SMB connections closed that began early in the run, for merge to join to
                                 what another capture left open (analyzer/merge/mstate_syn_starts.h) */
    GArray *edge_seqs;        /* first bytes of edge connections seen mid-stream (analyzer/merge/mstate_join_hs.h) */
    struct fin_recs *edge_fins; /* FINs of TCP edges and tails open at the end (analyzer/merge/mstate_join_fin.h) */
    GArray *nbns_xids;        /* smbscope merge: NBNS queries and answers cut apart (analyzer/merge/mstate_join_nbns.h) */
    GArray *edge_nbss;        /* session messages of edge connections showing no NBSS (analyzer/merge/mstate_join_nbss.h) */
    struct frame_recs *edge_frames; /* where each direction's framing stood at an edge connection's cut
                                 (analyzer/merge/mstate_join_frame.h), NULL when none */
    struct mstate_frags *frag_carry; /* smbscope merge: IP datagrams a cut divided (analyzer/merge/mstate_frags.h),
                                 NULL when none */
    struct mstate_wlan *wlan_carry; /* smbscope merge: 802.11 retries across a cut
                                 (analyzer/merge/mstate_wlan.h), NULL when none */
    GArray *frag_tcp;         /* smbscope merge: of them the TCP segments made whole, to place in their connections
                                 (analyzer/merge/mstate_frags_tcp.h), NULL when none */
    uint64_t frag_not_placed; /* smbscope merge: datagrams a cut divided, put together, that merge could not
                                 place in their connections (TCP, RoCEv2, QUIC: stats.merged) */
    struct quic_tails *quic_tails; /* datagrams no QUIC connection took that one of another capture may own
                                 (analyzer/merge/mstate_join_quic.h), NULL when none */
    GArray *part_clocks;      /* smbscope merge: struct mstate_clock of each report (analyzer/merge/mstate.h) */
    struct mstate_leaves *merge_leaves; /* smbscope merge: the states of the runs folded, kept whole so that
                                 the merged state carries them (analyzer/merge/mstate_leaves.h), NULL in a run */
    GPtrArray *edge_xchg;     /* struct mstate_xchg*: SMB exchanges cut by an edge connection's capture edge
                                 (analyzer/merge/mstate_xchg.h), NULL when none */
    GPtrArray *conn_detail_json; /* smbscope merge: connections[] entries carried from the reports
                                    (JsonNode*, analyzer/merge/), printed after those of conns; NULL in a run */
    struct detail_index *detail_index; /* its entries by name for merge's joins (mstate_detail.c), NULL until one */
    struct mstate_ends_ix *tails_ix; /* tails' places by their ends for merge's joins (mstate_tails.h), NULL until one */
    struct mstate_ends_ix *nbss_ix;  /* edge_nbss' likewise (mstate_join_nbss.c) */
    struct mstate_ends_ix *xchg_ix;  /* edge_xchg's by their names (mstate_xchg.c) */
    struct quic_table *quic;  /* QUIC connections on any UDP port (analyzer/model/quic_table.h) */
    struct keylog *keylog;    /* --tls-keylog, NULL without */
    struct roce_table *roce;  /* SMB Direct over RoCEv2 (UDP 4791), analyzer/model/rdma_roce.c */
    struct esp_peers esp_peers; /* who speaks the encrypted ESP counted as a decode loss */
    uint64_t iwarp_crc_bad;   /* iWARP FPDUs with a bad CRC32c, over every closed TCP connection: never read */
    bool input_error;         /* some input could not be read to its end: exit 2 */
    uint64_t packets;
    int64_t first_ts, last_ts;
    /* progress line */
    bool progress;
    int64_t started_us, last_progress_us;
    /* capture filter, -w, stop conditions, events */
    struct analysis_events events;
    struct pcapng_out *pcapng; /* -w FILE */
    GArray *pcapng_ifs;       /* struct pcapng_if: the -w file's interfaces */
    bool stop;                /* a stop condition (-c, -a) was met: read no further */
    /* Files: SIGINT/SIGTERM (run.c sets the flag) stop reading; the signal
     * and the inputs not started are kept for the verdict. */
    const volatile sig_atomic_t *interrupt;
    int interrupt_signal;
    unsigned inputs_not_read;
    uint64_t filtered_out;    /* records the capture filter rejected */
    struct analysis *interval;/* --report-every: the current interval's own analysis, fed alongside */
    bool live_run;            /* an input is a live interface */
    bool finishing;           /* analysis_finish() is closing the connections open at the end */
    /* --jobs (analyzer/merge/jobs.h): the threads that analysed the inputs
     * and how the work was divided ("inputs", or "flow-hash" for one input
     * split across them); 0 and NULL for one analysis.  jobs_requested:
     * --jobs N when fewer threads ran (the memory bound: split.h). */
    unsigned jobs_threads, jobs_requested;
    const char *jobs_split;
    uint64_t jobs_records[4]; /* "flow-hash": the records each thread analysed (split.h SPLIT_MAX_THREADS) */
    /* The merge state's render, started by main before the verdict is
     * computed (analyzer/merge/mstate.h): report_json() puts it where the
     * state goes instead of starting its own.  NULL otherwise. */
    struct mstate_render *state_render;
    /* A file run: the close thread (close_pipe.h) that folds closed
     * connections into groups, smb_hosts, groups_past, group_close and
     * syn_starts; while it runs those are its own.  NULL: folded in place.
     * pipe_ahead: its conn_groups_ahead() of item pipe_ahead_for. */
    struct close_pipe *pipe;
    struct conn_groups_ahead pipe_ahead;
    const struct close_item *pipe_ahead_for;
};

#define ANALYSIS_MAX_EDGES 4096u /* past this, edge connections are folded at once (not joinable; counted) */

/* false (and errbuf) when a component could not be set up (e.g. the
 * --write-streams directory). */
bool analysis_init(struct analysis *a, const struct config *cfg, char *errbuf, size_t errlen);
/* Read one input to its end.  Errors are recorded in the input_info and
 * printed to stderr as "smbscope: FILE: reason". */
void analysis_run_input(struct analysis *a, const char *path);
/* in's capture_filter: the file's (capture_filter()) and the command's
 * (-r F EXPRESSION) as one, either NULL. */
/* Whether a run samples its records (part_sketch.h): only a JSON report
 * that carries its merge state writes the sample. */
bool analysis_sketches(const struct config *cfg);
void analysis_input_filter(struct input_info *in, const char *file_filter, const char *cfg_filter);
/* What a file says only once read to its end, into in: every interface's
 * filter (a later pcapng interface may add one) and its drop counters
 * (pcapng Interface Statistics Blocks). */
void analysis_input_end(struct input_info *in, const struct capture *cap, const char *cfg_filter);
/* -w FILE: also write every packet fed from now on as pcapng (closed by
 * analysis_finish(), which reports a write error as an input error). */
bool analysis_open_write(struct analysis *a, const char *path, char *errbuf, size_t errlen);
/* A live interface as an input; returns its index for analysis_feed(). */
guint analysis_add_live_input(struct analysis *a, const char *name, int dlt, const char *link_type, uint32_t snaplen);
/* One packet of input idx (already filtered, by the kernel when live). */
void analysis_feed(struct analysis *a, guint idx, const struct capture_record *rec);

/* A file run (not live, no --report-every): closed connections folded on
 * a thread of their own from now until analysis_finish() (close_pipe.h;
 * SMBSCOPE_CLOSE_THREAD=0, or no thread: in place). */
void analysis_close_thread(struct analysis *a);
/* End of all inputs: close every connection. */
void analysis_finish(struct analysis *a);
void analysis_free(struct analysis *a);
/* The edge connections into the groups and SMB hosts, after keeping
 * copies of those without them (analysis_finish does it; smbscope merge
 * after joining the edges of its reports). */
void analysis_fold_edges(struct analysis *a);
/* A tail of connection c (struct analysis_tail: its ends, packets, times and
 * reason set, the rest zero) appended to a->tails; NULL past
 * ANALYSIS_MAX_EDGES. */
struct analysis_tail *analysis_tail_add(struct analysis *a, const struct flow_conn *c, const char *reason);
/* Whether a closed connection is at its capture's edge. */
bool analysis_is_edge(const struct conn_summary *cs);

#endif
