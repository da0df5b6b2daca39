/* rdma_iwarp.c - SMB Direct over iWARP in the session model.
 *
 * A TCP connection whose first data (no gap before it) is an MPA request
 * (RFC 5044 key "MPA ID Req Frame", on any port: MS-SMBD's 5445 or an
 * alternative one) is iWARP: each direction's MPA request/reply is read,
 * then its FPDU stream (CRC32c checked, markers removed) gives DDP
 * segments; RDMAP Sends are reassembled and handed to SMBD, whose data
 * transfer messages give whole SMB2 messages for smb_conn_message().
 * RDMA Write / Read carry bulk data: counted, never decoded.
 *
 * A connection whose MPA startup preceded the capture (mid-stream) is
 * iWARP when its first data passes iwarp_fpdu_probe(): whole FPDUs with a
 * correct CRC32c, plausible DDP/RDMAP headers, SMBD-shaped Sends (senders
 * align FPDUs with segments, RFC 5044 8).  Each direction then starts at
 * its first data, which must pass the probe too; CRC32c is assumed on.
 * Markers sit at places counted from the stream's start, which such a
 * capture did not see: a direction whose data passes the probe with
 * markers (iwarp_fpdu_probe_markers: their first place found) reads them
 * there; one that passed it without markers stays open to them until the
 * first 516 octets read without a bad CRC32c (a marker would have broken
 * one): a capture cut from a connection with markers (editcap -c/-i) is
 * read as the run over the whole capture reads it.
 *
 * A gap in a direction loses its FPDU alignment: that direction is
 * desynchronised until data after the gap passes the probe again (only
 * without markers: their places depend on the stream offset); the Send
 * or SMB2 message being assembled across the gap is dropped.
 *
 * Memory: an iWARP connection holds buffers only while a message is open
 * across chunks of its stream (an FPDU that one TCP chunk did not end, a
 * Send in several DDP segments, an SMB2 message in several SMBD messages,
 * the rest of another part's Send kept for merge), all of them under one
 * budget for every connection of the analysis (rdma_budget.h,
 * struct iwarp_shared, the session pool's): a message that finds no room is
 * dropped and counted (rdma_iwarp_over_budget(); the verdict's unknown
 * iwarp-over-budget).  FPDUs are read into one buffer the connections share;
 * only one that a chunk leaves unfinished gets a buffer of its own. */
#include "rdma.h"

#include <string.h>

#include "ddp.h"
#include "iwarp_probe.h"
#include "mpa.h"
#include "rdma_budget.h"
#include "session.h"
#include "wire.h"

enum { PROBE_UNKNOWN = 0, PROBE_NOT_IWARP, PROBE_IWARP };
enum { REST_NONE = 0, REST_OPEN, REST_OVER };

/* Data chunks after a gap tried for realignment before a direction gives up. */
#define RESYNC_TRIES 64
/* A Send in several DDP segments: its buffer starts at this and doubles up
 * to MPA_MAX_ULPDU (the most a Send was ever given). */
#define SEND_BUF_FIRST 2048u

/* Every iWARP connection of one analysis (the session pool's). */
struct iwarp_shared {
    struct rdma_budget budget;
    uint8_t *ulpdu; /* MPA_MAX_ULPDU: the FPDU being read, while one chunk holds it whole */
    /* buffers given back, for the next message (a stream cut in small
     * segments splits every FPDU, and an SMB Direct session with a small
     * MaxReceiveSize sends every message in pieces: a malloc and a free each
     * otherwise); not under the budget while spare */
    uint8_t *spare;       /* MPA_MAX_ULPDU: an FPDU's */
    uint8_t *spare_send;  /* SEND_BUF_FIRST: a Send's first size */
    uint8_t *spare_reasm; /* spare_reasm_size (at most SPARE_REASM_MAX): an SMB2 message's */
    size_t spare_reasm_size;
};
#define SPARE_REASM_MAX 65536u

/* An SMBD reassembly that must discard its message (too large, or over the
 * budget): non-NULL so rdma_smbd_message() allocates nothing, capacity 0 so
 * smbd_reasm_add() copies nothing and drops the message at its end. */
static uint8_t discard_buf[1];

struct iwarp_dir {
    bool startup_done, rx_ready, desync;
    bool markers_open;          /* mid-stream, read without markers so far: they may still show */
    uint16_t markers_tries;     /* data chunks checked for them */
    bool resync_wanted;         /* desynchronised by a gap; realign on a probe-passing chunk */
    uint16_t resync_tries;
    /* smbscope merge (rdma.h: RDMA_KEPT_SEND_REST): the direction's first
     * Send segments when they continue a Send whose start it did not see */
    uint8_t rest_state;         /* REST_* */
    uint32_t rest_msn, rest_mo, rest_drops;
    GByteArray *rest;
    uint8_t startup[MPA_STARTUP_HEADER + MPA_MAX_PRIVATE];
    size_t startup_len;
    struct mpa_rx rx;
    /* buffers held only while their message is open, under the budget:
     * rx.buf is the shared ULPDU buffer between FPDUs, its own while a
     * chunk left one unfinished (NULL: that FPDU is being dropped) */
    struct ddp_msg_rx sends;
    struct smbd_reasm reasm;
    size_t reasm_size;          /* reasm.buf's size (a spare one may be larger than reasm.cap) */
};

struct rdma_iwarp {
    struct iwarp_dir d[2];
    struct smb_direct_info *info; /* its connection's (s->smbd): what rdma_iwarp_free() keeps */
    const struct smb_conn *conn;  /* that connection (its --pdu-cap and decoding mode: rdma_keep_head()) */
    bool midstream;             /* recognised from FPDUs, MPA startup not captured */
    bool markers_wanted_by[2];  /* the M flag of the frame sent by direction d */
    struct iwarp_shared *sh;    /* the analysis's, or own (a connection made without a session pool) */
    struct iwarp_shared own;
};

struct iwarp_shared *rdma_iwarp_shared_new(void)
{
    struct iwarp_shared *sh = g_new0(struct iwarp_shared, 1);
    sh->budget.limit = RDMA_BUF_BUDGET;
    return sh;
}

void rdma_iwarp_shared_free(struct iwarp_shared *sh)
{
    if (!sh)
        return;
    g_free(sh->ulpdu);
    g_free(sh->spare);
    g_free(sh->spare_send);
    g_free(sh->spare_reasm);
    g_free(sh);
}

uint64_t rdma_iwarp_over_budget(struct session_pool *pool)
{
    const struct iwarp_shared *sh = session_pool_iwarp(pool, false);
    return sh ? sh->budget.over : 0;
}

void rdma_iwarp_fold_over_budget(struct session_pool *pool, uint64_t over)
{
    struct iwarp_shared *sh = over ? session_pool_iwarp(pool, true) : NULL;
    if (sh)
        sh->budget.over += over;
}

static uint8_t *shared_ulpdu(struct rdma_iwarp *w)
{
    if (!w->sh->ulpdu)
        w->sh->ulpdu = g_malloc(MPA_MAX_ULPDU);
    return w->sh->ulpdu;
}

/* Direction x's own ULPDU buffer (MPA_MAX_ULPDU octets) given back (kept as
 * the spare when there is none); the shared one from now on. */
static void ulpdu_release(struct rdma_iwarp *w, struct iwarp_dir *x)
{
    struct iwarp_shared *sh = w->sh;
    if (x->rx.buf && x->rx.buf != sh->ulpdu) {
        rdma_budget_give(&sh->budget, MPA_MAX_ULPDU);
        if (!sh->spare)
            sh->spare = x->rx.buf;
        else
            g_free(x->rx.buf);
    }
    x->rx.buf = shared_ulpdu(w);
    x->rx.cap = MPA_MAX_ULPDU;
}

/* The chunk ended inside an FPDU whose ULPDU has begun: its bytes move from
 * the shared buffer (the next chunk of this direction comes after other
 * connections') to one of their own, under the budget; without room the
 * FPDU is read to its end with nothing copied, and dropped (truncated).
 * The buffer is the largest (only the ULPDU's octets are ever written: the
 * pages past them stay untouched). */
static void ulpdu_hold(struct rdma_iwarp *w, struct iwarp_dir *x)
{
    struct mpa_rx *rx = &x->rx;
    struct iwarp_shared *sh = w->sh;
    if (!rx->in_fpdu || rx->state == MPA_RX_LENGTH || !rx->body_got || rx->buf != sh->ulpdu)
        return;
    uint8_t *own = NULL;
    if (rdma_budget_take(&sh->budget, MPA_MAX_ULPDU)) {
        own = sh->spare ? sh->spare : g_malloc(MPA_MAX_ULPDU);
        sh->spare = NULL;
        memcpy(own, rx->buf, rx->body_got);
    }
    rx->buf = own;
    rx->cap = own ? MPA_MAX_ULPDU : 0;
}

/* Direction x reads FPDUs from here (its counters are the caller's to carry). */
static void rx_start(struct rdma_iwarp *w, struct iwarp_dir *x, bool markers, bool crc)
{
    ulpdu_release(w, x);
    mpa_rx_init(&x->rx, markers, crc, x->rx.buf, MPA_MAX_ULPDU);
}

static void send_release(struct rdma_iwarp *w, struct ddp_msg_rx *rx)
{
    struct iwarp_shared *sh = w->sh;
    rdma_budget_give(&sh->budget, rx->cap);
    if (rx->cap == SEND_BUF_FIRST && !sh->spare_send)
        sh->spare_send = rx->buf;
    else
        g_free(rx->buf);
    rx->buf = NULL;
    rx->cap = 0;
}

/* Room for this segment of a Send in several, grown on demand up to
 * MPA_MAX_ULPDU; what ddp_msg_add() will drop (out of order, oversize) is
 * left to it.  Past the budget the buffer is not grown: ddp_msg_add()
 * drops the message (oversize). */
static void send_reserve(struct rdma_iwarp *w, struct ddp_msg_rx *rx, const struct ddp_segment *seg)
{
    if (rx->buf && !rx->active) /* complete or dropped, the buffer kept */
        send_release(w, rx);
    bool cont = rx->active && seg->msn == rx->msn && seg->mo == rx->len;
    if (!cont && (seg->mo != 0 || seg->last)) /* nothing copied: dropped, or whole in one segment */
        return;
    size_t need = (cont ? rx->len : 0) + seg->payload_len;
    if (need <= rx->cap || need > MPA_MAX_ULPDU)
        return;
    size_t cap = rx->cap ? rx->cap : SEND_BUF_FIRST;
    while (cap < need)
        cap *= 2;
    if (cap > MPA_MAX_ULPDU)
        cap = MPA_MAX_ULPDU;
    if (!rdma_budget_take(&w->sh->budget, cap - rx->cap))
        return;
    if (!rx->cap && cap == SEND_BUF_FIRST && w->sh->spare_send) {
        rx->buf = w->sh->spare_send;
        w->sh->spare_send = NULL;
    } else {
        rx->buf = g_realloc(rx->buf, cap);
    }
    rx->cap = cap;
}

static void reasm_release(struct rdma_iwarp *w, struct iwarp_dir *x)
{
    struct smbd_reasm *r = &x->reasm;
    struct iwarp_shared *sh = w->sh;
    if (r->buf && r->buf != discard_buf) {
        rdma_budget_give(&sh->budget, r->cap);
        if (x->reasm_size <= SPARE_REASM_MAX && x->reasm_size > sh->spare_reasm_size) { /* the larger kept */
            g_free(sh->spare_reasm);
            sh->spare_reasm = r->buf;
            sh->spare_reasm_size = x->reasm_size;
        } else {
            g_free(r->buf);
        }
    }
    r->buf = NULL;
    r->cap = 0;
    x->reasm_size = 0;
}

/* An SMBD data message that starts an SMB2 message in several pieces gets
 * a buffer of the message's size here, under the budget (rdma_smbd_message()
 * would take one of --pdu-cap octets otherwise); one larger than --pdu-cap
 * is dropped by smbd_reasm_add() as it was, with nothing to copy into. */
static void reasm_reserve(struct rdma_iwarp *w, struct iwarp_dir *x, uint32_t pdu_cap, const uint8_t *msg,
                          size_t len)
{
    struct smbd_reasm *r = &x->reasm;
    struct smbd_data data;
    if (r->buf && !r->active)
        reasm_release(w, x);
    /* RemainingDataLength (MS-SMBD 2.2.3) zero: a whole message, or no data message at all */
    if (r->buf || len < 12 || !load_u32le(msg + 8) || smbd_parse_data(msg, len, &data) != SMBD_OK ||
        !data.remaining_length)
        return;
    uint64_t total = (uint64_t)data.remaining_length + data.data_length;
    if (total > pdu_cap || !rdma_budget_take(&w->sh->budget, total)) {
        r->buf = discard_buf;
        r->cap = 0;
        return;
    }
    struct iwarp_shared *sh = w->sh;
    if (sh->spare_reasm && sh->spare_reasm_size >= total) {
        r->buf = sh->spare_reasm;
        x->reasm_size = sh->spare_reasm_size;
        sh->spare_reasm = NULL;
        sh->spare_reasm_size = 0;
    } else {
        r->buf = g_malloc(total);
        x->reasm_size = total;
    }
    r->cap = total; /* what smbd_reasm_add() compares with: the message's size, as a buffer of its own */
}

static struct rdma_iwarp *iwarp_new(struct smb_conn *s, int initiator)
{
    struct rdma_iwarp *w = g_new0(struct rdma_iwarp, 1);
    w->sh = session_iwarp(s);
    if (!w->sh)
        w->sh = &w->own; /* no limit */
    for (int d = 0; d < 2; d++) {
        smbd_reasm_init(&w->d[d].reasm, NULL, 0);
        ddp_msg_rx_init(&w->d[d].sends, NULL, 0);
    }
    s->smbd = g_new0(struct smb_direct_info, 1);
    s->smbd->mpa_initiator = initiator;
    w->info = s->smbd;
    w->conn = s;
    s->obs.carrier = CARRIER_RDMA_IWARP;
    return w;
}

/* smbscope merge (rdma.h, smbd_kept): n octets of direction d. */
static void keep(struct smb_direct_info *info, int d, int k, const uint8_t *p, size_t n)
{
    size_t max = k == RDMA_KEPT_HEAD || k == RDMA_KEPT_LEAD ? RDMA_MSG_KEEP_MAX : RDMA_KEEP_MAX; /* a message's, a Send's */
    if (!n || n > max || info->smbd_kept[d][k])
        return;
    info->smbd_kept[d][k] = g_memdup2(p, n);
    info->smbd_kept_len[d][k] = (uint32_t)n;
}

void rdma_info_free(struct smb_direct_info *info)
{
    if (!info)
        return;
    for (int d = 0; d < 2; d++)
        for (int k = 0; k < RDMA_KEPT_N; k++)
            g_free(info->smbd_kept[d][k]);
    g_free(info);
}

/* The SMBD message direction d was assembling when its connection closed:
 * kept when it began with an SMB protocol id (any SMB2 message: merge
 * decodes it whole, mstate_join_smbd.h), or is the message of the first
 * data message (another part's rest, or this part's whole lead), and
 * copied whole so far, at most RDMA_KEEP_MAX octets in all. */
void rdma_keep_head(const struct smb_conn *s, struct smb_direct_info *info, int d, const struct smbd_reasm *r)
{
    uint8_t flags = info->smbd_edge_flags[d];
    uint64_t total = (uint64_t)r->len + r->remaining;
    info->smbd_over[d] = r->active && total > r->cap; /* rdma.h */
    if (!r->active || !r->len || total > r->cap || !(framer_is_smb_id(r->buf, r->len) || (flags & RDMA_LEAD_OPEN)))
        return;
    if (total <= RDMA_MSG_KEEP_MAX) {
        keep(info, d, RDMA_KEPT_HEAD, r->buf, r->len);
        return;
    }
    /* Longer (--pdu-cap raised): the octets the decoder reads of it, its
     * header, when the start holds them; what it reads past that (a
     * NEGOTIATE, SESSION_SETUP, TREE_CONNECT or compound so long) is not
     * carried: the state stays bounded, merge says it did not decode it. */
    size_t want = framer_is_smb_id(r->buf, r->len) ? smb_conn_message_want(s, r->buf, r->len, total) : SIZE_MAX;
    if (want > r->len || want > RDMA_PREFIX_MAX) {
        info->smbd_unkept[d] = framer_is_smb_id(r->buf, r->len);
        return;
    }
    keep(info, d, RDMA_KEPT_HEAD, r->buf, want);
    info->smbd_msg_len[d] = info->smbd_kept[d][RDMA_KEPT_HEAD] ? (uint32_t)total : 0;
}

void rdma_iwarp_free(struct rdma_iwarp *w)
{
    if (!w)
        return;
    for (int d = 0; d < 2; d++) {
        rdma_keep_head(w->conn, w->info, d, &w->d[d].reasm);
        const struct ddp_msg_rx *rx = &w->d[d].sends;
        if (rx->active && rx->len <= rx->cap && !w->info->smbd_kept[d][RDMA_KEPT_SEND_HEAD]) {
            keep(w->info, d, RDMA_KEPT_SEND_HEAD, rx->buf, rx->len);
            w->info->send_head_msn[d] = rx->msn;
        }
        if (w->d[d].rest) {
            rdma_budget_give(&w->sh->budget, w->d[d].rest->len);
            g_byte_array_free(w->d[d].rest, TRUE);
        }
        if (w->d[d].rx.buf && w->d[d].rx.buf != w->sh->ulpdu) {
            rdma_budget_give(&w->sh->budget, MPA_MAX_ULPDU);
            g_free(w->d[d].rx.buf);
        }
        send_release(w, &w->d[d].sends);
        reasm_release(w, &w->d[d]);
    }
    g_free(w->own.ulpdu);
    g_free(w->own.spare);
    g_free(w->own.spare_send);
    g_free(w->own.spare_reasm);
    g_free(w);
}

/* Collect the request/reply of direction d (at most 532 octets, octet by
 * octet: it is read once per connection); true once it is complete. */
static bool startup(struct smb_conn *s, struct rdma_iwarp *w, int d, struct wire *in)
{
    struct iwarp_dir *x = &w->d[d];
    struct smb_direct_info *info = s->smbd;
    while (wire_left(in)) {
        struct mpa_startup st;
        x->startup[x->startup_len++] = wire_u8(in);
        enum mpa_status r = mpa_parse_startup(x->startup, x->startup_len, &st);
        if (r == MPA_NEED_MORE && x->startup_len < sizeof x->startup)
            continue;
        if (r != MPA_OK) { /* not MPA after all, or the wrong frame */
            x->desync = true;
            info->desync++;
            return false;
        }
        x->startup_done = true;
        if (st.kind == MPA_REQUEST) {
            info->mpa_request_seen = true;
            info->mpa_revision = st.revision;
        } else {
            info->mpa_reply_seen = true;
        }
        info->mpa_rejected |= st.reject;
        info->mpa_crc |= st.crc;
        info->mpa_private_len[d] = st.private_len;
        w->markers_wanted_by[d] = st.markers;
        return true;
    }
    return false;
}

/* A Send segment direction d dropped as the middle of a message whose
 * start it did not see: while they are the direction's first and follow
 * one another, kept up to the Send's last segment (rdma.h). */
static void send_rest(struct rdma_iwarp *w, struct smb_direct_info *info, struct iwarp_dir *x, int d,
                      const struct ddp_segment *seg)
{
    if (x->rest_state == REST_NONE) {
        x->rest_state = REST_OPEN;
        x->rest_msn = seg->msn;
        x->rest_mo = seg->mo;
        x->rest = g_byte_array_new();
    }
    if (x->rest_state != REST_OPEN)
        return;
    bool follows = seg->msn == x->rest_msn && seg->mo == x->rest_mo + x->rest->len &&
                   (uint64_t)seg->mo + seg->payload_len <= RDMA_KEEP_MAX;
    if (follows && !rdma_budget_take(&w->sh->budget, seg->payload_len))
        follows = false; /* over the budget: not kept (merge then counts the rest, as past RDMA_KEEP_MAX) */
    if (follows) {
        g_byte_array_append(x->rest, seg->payload, (guint)seg->payload_len);
        x->rest_drops++;
    }
    if (follows && !seg->last)
        return;
    if (follows) {
        keep(info, d, RDMA_KEPT_SEND_REST, x->rest->data, x->rest->len);
        info->send_rest_msn[d] = x->rest_msn;
        info->send_rest_mo[d] = x->rest_mo;
        info->send_rest_drops[d] = x->rest_drops;
    }
    x->rest_state = REST_OVER;
    rdma_budget_give(&w->sh->budget, x->rest->len);
    g_byte_array_free(x->rest, TRUE);
    x->rest = NULL;
}

/* One complete FPDU of direction d. */
static void fpdu(struct smb_conn *s, struct rdma_iwarp *w, int d, const struct mpa_fpdu *f, int64_t ts)
{
    struct smb_direct_info *info = s->smbd;
    struct ddp_segment seg;
    if (f->truncated || !ddp_parse(f->ulpdu, f->len, &seg))
        return;
    if (seg.tagged) {
        if (seg.opcode == RDMAP_WRITE) {
            info->rdma_writes += seg.last;
            info->rdma_write_bytes += seg.payload_len;
        }
        return;
    }
    if (seg.opcode == RDMAP_READ_REQUEST)
        info->rdma_reads++;
    if (!rdmap_is_send(seg.opcode) || seg.qn != 0)
        return;
    const uint8_t *msg;
    size_t len;
    struct ddp_msg_rx *rx = &w->d[d].sends;
    bool rest = !rx->active && seg.mo != 0; /* the middle of a Send whose start this direction did not see */
    if (!rest && w->d[d].rest_state == REST_NONE)
        w->d[d].rest_state = REST_OVER; /* its first Send began here: no rest of another part's */
    send_reserve(w, rx, &seg);
    enum ddp_rx_result r = ddp_msg_add(rx, &seg, &msg, &len);
    if (r == DDP_RX_DROPPED)
        info->send_dropped++;
    if (r == DDP_RX_DROPPED && rest)
        send_rest(w, info, &w->d[d], d, &seg);
    if (r == DDP_RX_DONE) {
        struct smbd_reasm *reasm = &w->d[d].reasm;
        info->sends++;
        reasm_reserve(w, &w->d[d], s->pdu_cap, msg, len);
        rdma_smbd_message(s, reasm, d, d != info->mpa_initiator, w->midstream, msg, len, ts);
        if (reasm->buf && !reasm->active) /* the SMB2 message is complete or dropped */
            reasm_release(w, &w->d[d]);
    }
    if (rx->buf && !rx->active) /* the Send is complete or dropped */
        send_release(w, rx);
}

static void full_operation(struct smb_conn *s, struct rdma_iwarp *w, int d, struct wire *in, int64_t ts)
{
    struct iwarp_dir *x = &w->d[d];
    struct smb_direct_info *info = s->smbd;
    while (wire_left(in)) {
        struct mpa_fpdu f;
        bool got;
        size_t used = mpa_rx_feed(&x->rx, in->p + in->off, wire_left(in), &f, &got);
        wire_skip(in, used);
        if (!got) {
            ulpdu_hold(w, x); /* the chunk ended inside an FPDU */
            break;
        }
        fpdu(s, w, d, &f, ts);
        if (x->rx.buf != w->sh->ulpdu) /* one that had its own buffer (or none: dropped) */
            ulpdu_release(w, x);
    }
    info->fpdus = w->d[0].rx.fpdus + w->d[1].rx.fpdus;
    info->crc_bad = w->d[0].rx.crc_bad + w->d[1].rx.crc_bad;
    info->markers = w->d[0].rx.markers_seen + w->d[1].rx.markers_seen;
    info->marker_ptr_bad = w->d[0].rx.marker_ptr_bad + w->d[1].rx.marker_ptr_bad;
}

/* Is a connection whose first data this is iWARP?  An MPA request says so
 * (RFC 5044 startup); without the startup (the capture began later), whole
 * FPDUs that pass iwarp_fpdu_probe() do: each direction then starts
 * realigned at its own first data. */
static bool recognise(struct smb_conn *s, struct rdma_iwarp **state, uint8_t *probe, bool first_data, bool midstream,
                      int dir, const uint8_t *p, size_t n)
{
    enum mpa_frame_kind kind;
    *probe = PROBE_NOT_IWARP;
    if (!first_data) /* only a connection's first data can start iWARP */
        return false;
    bool key = mpa_key_match(p, n, &kind) == MPA_OK;
    if (key && kind == MPA_REQUEST) {
        *probe = PROBE_IWARP;
        *state = iwarp_new(s, dir);
        return true;
    }
    /* mid-stream: the reply (a capture cut between the request and it:
     * editcap -c/-i), or FPDUs */
    bool reply = key && kind == MPA_REPLY;
    uint32_t m;
    if (!midstream ||
        (!reply && iwarp_fpdu_probe(p, n) == IWARP_PROBE_NO && iwarp_fpdu_probe_markers(p, n, &m) == IWARP_PROBE_NO))
        return false;
    *probe = PROBE_IWARP;
    /* the initiator: the reply's peer, or the SMBD negotiate request's sender, if seen */
    struct rdma_iwarp *w = iwarp_new(s, reply ? !dir : -1);
    w->midstream = true;
    s->smbd->mpa_midstream = true;
    s->smbd->mpa_crc = true; /* the probe proved it (realign(): every direction's first FPDUs) */
    for (int d = 0; d < 2; d++) {
        w->d[d].startup_done = true;
        w->d[d].desync = w->d[d].resync_wanted = true; /* aligned by realign() at its first data */
    }
    if (reply) { /* read first, then realigned as mid-stream: its markers follow the request, unseen */
        w->d[dir].startup_done = false;
        w->d[dir].desync = w->d[dir].resync_wanted = false;
    }
    *state = w;
    return true;
}

/* Read direction x's FPDUs from here with markers, the first at offset
 * first_marker of the next data (mid-stream: iwarp_fpdu_probe_markers);
 * the counters carry on. */
static void markers_from(struct smb_conn *s, struct rdma_iwarp *w, struct iwarp_dir *x, int dir, uint32_t first_marker)
{
    struct mpa_rx old = x->rx;
    rx_start(w, x, true, true);
    x->rx.pos = (MPA_MARKER_INTERVAL - first_marker) % MPA_MARKER_INTERVAL;
    x->rx.fpdus = old.fpdus;
    x->rx.crc_bad = old.crc_bad;
    x->rx.markers_seen = old.markers_seen;
    x->rx.marker_ptr_bad = old.marker_ptr_bad;
    x->rx.truncated = old.truncated;
    s->smbd->mpa_markers[dir] = true;
    x->markers_open = false;
}

/* A mid-stream direction read without markers: data that fails the probe
 * without them but passes it with them shows where they are; 516 octets
 * read without a bad CRC32c show there are none (as RESYNC_TRIES chunks
 * checked bound the work). */
static void markers_check(struct smb_conn *s, struct rdma_iwarp *w, struct iwarp_dir *x, int dir, const uint8_t *p,
                          size_t n)
{
    if ((x->rx.crc_bad == 0 && x->rx.pos >= MPA_MARKER_INTERVAL + 4) || ++x->markers_tries > RESYNC_TRIES) {
        x->markers_open = false;
        return;
    }
    uint32_t m;
    if (iwarp_fpdu_probe(p, n) == IWARP_PROBE_NO && iwarp_fpdu_probe_markers(p, n, &m) != IWARP_PROBE_NO)
        markers_from(s, w, x, dir, m);
}

/* A desynchronised direction: realign at a chunk that passes the probe
 * (whole FPDUs with good CRC32c from its first octet).  What was being
 * assembled across the gap is dropped; the FPDU counters carry on. */
static bool realign(struct smb_conn *s, struct rdma_iwarp *w, int dir, const uint8_t *p, size_t n)
{
    struct iwarp_dir *x = &w->d[dir];
    struct smb_direct_info *info = s->smbd;
    if (!x->resync_wanted)
        return false;
    if (++x->resync_tries > RESYNC_TRIES) {
        x->resync_wanted = false;
        return false;
    }
    uint32_t m = 0;
    bool markers = false;
    if (iwarp_fpdu_probe(p, n) == IWARP_PROBE_NO) {
        if (!w->midstream || iwarp_fpdu_probe_markers(p, n, &m) == IWARP_PROBE_NO)
            return false;
        markers = true; /* mid-stream: markers (their places from the stream's start unseen) */
    }
    bool first = !x->rx_ready;
    struct mpa_rx old = x->rx;
    rx_start(w, x, false, true);
    x->markers_open = w->midstream && first && !markers;
    if (markers)
        markers_from(s, w, x, dir, m);
    if (!first) {
        x->rx.fpdus = old.fpdus;
        x->rx.crc_bad = old.crc_bad;
        x->rx.markers_seen = old.markers_seen;
        x->rx.marker_ptr_bad = old.marker_ptr_bad;
        x->rx.truncated = old.truncated;
        info->resyncs++;
    }
    info->send_dropped += x->sends.active;
    x->sends.active = false;
    info->smbd_dropped += x->reasm.active;
    x->reasm.active = false;
    x->rx_ready = true;
    x->desync = x->resync_wanted = false;
    x->resync_tries = 0;
    return true;
}

bool rdma_iwarp_data(struct smb_conn *s, struct rdma_iwarp **state, uint8_t *probe, bool first_data, bool midstream,
                     int dir, const uint8_t *p, size_t n, int64_t ts_us)
{
    if (*probe == PROBE_NOT_IWARP || n == 0)
        return *probe == PROBE_IWARP;
    if (*probe == PROBE_UNKNOWN && !recognise(s, state, probe, first_data, midstream, dir, p, n))
        return false;
    struct rdma_iwarp *w = *state;
    struct iwarp_dir *x = &w->d[dir];
    bool realigned = x->desync;
    if (x->desync && !realign(s, w, dir, p, n))
        return true;
    if (x->markers_open && !realigned)
        markers_check(s, w, x, dir, p, n);
    struct wire in = wire_make(p, n);
    if (!x->startup_done && !startup(s, w, dir, &in))
        return true;
    if (w->midstream && !x->rx_ready && !x->desync) { /* the reply read (recognise()): FPDUs from a probe */
        x->desync = x->resync_wanted = true;
        if (!wire_left(&in) || !realign(s, w, dir, in.p + in.off, wire_left(&in)))
            return true;
    }
    if (!x->rx_ready && wire_left(&in)) {
        /* markers in this direction when the peer's frame asked for them;
         * by the first FPDU the peer's frame has come (the initiator sends
         * none before the reply) */
        x->rx_ready = true;
        bool markers = w->markers_wanted_by[!dir];
        s->smbd->mpa_markers[dir] = markers;
        rx_start(w, x, markers, s->smbd->mpa_crc);
    }
    full_operation(s, w, dir, &in, ts_us);
    return true;
}

bool rdma_iwarp_gap(struct smb_conn *s, struct rdma_iwarp *w, int dir, uint64_t n)
{
    (void)n;
    if (!w)
        return false;
    struct iwarp_dir *x = &w->d[dir];
    if (!x->desync) {
        x->desync = true;
        s->smbd->desync++;
    }
    if (x->rx_ready) /* the FPDU in progress is lost: its buffer goes (realign() starts afresh) */
        ulpdu_release(w, x);
    /* realignment needs the CRC32c as proof and no markers (whose places
     * follow the stream offset); a gap inside the MPA startup is final */
    x->resync_wanted = s->smbd->mpa_crc && !s->smbd->mpa_markers[dir] && (x->rx_ready || w->midstream);
    x->resync_tries = 0;
    return true;
}

void rdma_smbd_message(struct smb_conn *s, struct smbd_reasm *reasm, int dir, bool from_responder, bool midstream,
                       const uint8_t *msg, size_t len, int64_t ts_us)
{
    struct smb_direct_info *info = s->smbd;
    struct smbd_data data;
    enum smbd_msg_kind kind = smbd_conn_message(&info->smbd, from_responder, midstream, msg, len, &data);
    if (kind == SMBD_MSG_NEGOTIATE_REQUEST && info->mpa_initiator < 0)
        info->mpa_initiator = dir; /* mid-stream iWARP: its sender initiated */
    if (kind == SMBD_MSG_NEGOTIATE_REQUEST || kind == SMBD_MSG_NEGOTIATE_RESPONSE)
        s->obs.smbd_negotiates++; /* SMB Direct: an SMB connection even if no SMB2 message follows */
    if (kind != SMBD_MSG_DATA)
        return;
    /* SMB Direct as a negotiate is: a part of a capture holding only the
     * middle of a message in pieces is one of the connection's (merge joins it) */
    s->obs.smbd_data += data.data_length != 0;
    uint8_t *edge = &info->smbd_edge_flags[dir];
    if (!info->smbd_lead[dir] && data.data_length) { /* smbscope merge: where this direction came in */
        info->smbd_lead[dir] = (uint64_t)data.remaining_length + data.data_length;
        *edge = (uint8_t)(RDMA_LEAD_OPEN | (data.remaining_length ? RDMA_LEAD_PARTIAL : 0));
    }
    if (data.remaining_length && !reasm->buf) { /* the first SMB2 message in several pieces */
        reasm->buf = g_malloc(s->pdu_cap);
        reasm->cap = s->pdu_cap;
    }
    const uint8_t *smb2;
    size_t n;
    enum smbd_rx_result rx = smbd_reasm_add(reasm, &data, &smb2, &n);
    if ((*edge & RDMA_LEAD_OPEN) && (rx == SMBD_RX_DONE || rx == SMBD_RX_DROPPED)) {
        bool smb = rx == SMBD_RX_DONE && framer_is_smb_id(smb2, n);
        *edge = (uint8_t)((*edge & ~RDMA_LEAD_OPEN) | (rx == SMBD_RX_DONE ? RDMA_LEAD_DONE | (smb ? 0 : RDMA_LEAD_NOT_SMB) : 0));
        if (rx == SMBD_RX_DONE && !smb) /* another part's rest: merged whole */
            keep(info, dir, RDMA_KEPT_LEAD, smb2, n);
    }
    info->smbd_left[dir] = reasm->active ? reasm->remaining : 0;
    if (reasm->active && reasm->len >= 4 && (uint64_t)reasm->len + reasm->remaining <= reasm->cap && /* copied */
        framer_is_smb_id(reasm->buf, reasm->len))
        *edge |= RDMA_LEFT_SMB;
    else
        *edge &= (uint8_t)~RDMA_LEFT_SMB;
    switch (rx) {
    case SMBD_RX_DONE:
        info->smbd_fragmented += smb2 == reasm->buf; /* came from several data transfer messages */
        smb_conn_message(s, dir, smb2, n, ts_us);
        break;
    case SMBD_RX_DROPPED:
        info->smbd_dropped++;
        break;
    case SMBD_RX_NONE:
        info->smbd_credit_only++;
        break;
    case SMBD_RX_MORE:
        break;
    }
}
