/* mstate_join_frame.c - see mstate_join_frame.h. */
#include "mstate_join_frame.h"

#include <string.h>

#include "analysis.h"
#include "flow.h"
#include "rdma.h"
#include "mstate_detail.h"
#include "mstate_frags_tcp.h"
#include "mstate_join_name.h"
#include "mstate_join_roce.h"
#include "mstate_join_smbd.h"
#include "mstate_put.h"
#include "session.h"

#define UNKNOWN UINT64_MAX /* written as -1 */

/* [addr0, port0, addr1, port1, first_ts, left0, left1, lead0, lead1,
 * bytes0, bytes1, smbd_left0, smbd_left1, smbd_lead0, smbd_lead1,
 * smbd_flags0, smbd_flags1, end_seq0, end_seq1, start_seq0, start_seq1,
 * lead_gaps0, lead_gaps1, lead_gap0, lead_gap1]: [0] the client of its edge record; per
 * direction (0: from the client) the bytes left of the message it ended
 * inside, the bytes skipped before its first header (-1: none found), the
 * bytes framed; SMB Direct (iWARP): the bytes the SMBD message in pieces
 * at the end still expected, the first data transfer message's
 * RemainingDataLength + DataLength, and rdma.h's RDMA_LEAD_ flags; TCP:
 * the sequence number after the last byte of a connection open at the end
 * (-1: not known), and of a stream seen from its middle the sequence
 * number it started at (-1) and the gaps it began with and their bytes
 * (reasm.h: lead_gap, between the peer's ACK it started from and its
 * first data). */
enum { FF_A0, FF_P0, FF_A1, FF_P1, FF_FIRST, FF_LEFT0, FF_LEFT1, FF_LEAD0, FF_LEAD1, FF_BYTES0, FF_BYTES1,
       FF_SLEFT0, FF_SLEFT1, FF_SLEAD0, FF_SLEAD1, FF_SFLAGS0, FF_SFLAGS1,
       FF_END0, FF_END1, FF_START0, FF_START1, FF_LGAPS0, FF_LGAPS1, FF_LGAP0, FF_LGAP1, FF_N };
#define SMBD_FLAGS_MAX 31 /* RDMA_LEAD_* | RDMA_LEFT_SMB */

struct frame_rec {
    struct ip_addr addr[2];
    uint16_t port[2];
    uint8_t used; /* joined: no longer any edge's */
    uint8_t roce; /* a RoCEv2 edge's: its Sends' numbers are PSNs, their rests carry no offset */
    int64_t first_ts;
    uint64_t left[2], lead[2], bytes[2];
    uint64_t smbd_left[2], smbd_lead[2];
    uint64_t end_seq[2], start_seq[2], lead_gaps[2], lead_gap[2];
    uint8_t smbd_flags[2];
    uint8_t smbd_over[2]; /* rdma.h: smbd_over */
    uint8_t pad2[4]; /* zero: no implicit padding, sorted as bytes */
    /* the SMBD and Send bytes kept per direction (rdma.h: RDMA_KEPT_*):
     * 1 + their index in frame_recs.kept, 0: none; with the Sends' MSN and
     * MO; not sorted by (where they were kept depends on the fold order) */
    uint32_t kept[2][RDMA_KEPT_N];
    uint32_t send_head_msn[2], send_rest_msn[2], send_rest_mo[2], send_rest_drops[2];
    /* rdma.h smbd_msg_len, smbd_unkept: the message in progress at the end
     * longer than RDMA_MSG_KEEP_MAX, kept[d][RDMA_KEPT_HEAD] the octets the
     * decoder reads of it; one whose decoder reads more, not kept */
    uint32_t smbd_msg_len[2];
    uint8_t smbd_unkept[2];
};
#define REC_SORTED offsetof(struct frame_rec, kept)

/* What merge itself holds of SMBD bytes (a run: at most SMBD_KEPT_RECS
 * records of at most 2 x (RDMA_MSG_KEEP_MAX + RDMA_KEEP_MAX)): past it a message stays in
 * pieces, its counts joined. */
#define KEPT_TOTAL_MAX (64u << 20)

struct frame_recs {
    GArray *recs;       /* struct frame_rec */
    GHashTable *by_name; /* the live record of a name (mstate_join_name.h) */
    GPtrArray *kept;     /* GBytes: frame_rec.kept */
    size_t kept_total;
    guint kept_edges;    /* a run's edges that kept bytes: at most SMBD_KEPT_RECS / 2, each written as
                          * a record per direction (a run's memory: only what it writes) */
    GPtrArray *wholes;   /* GBytes: the messages the join in progress made whole, a direction octet first
                          * (frame_edge_whole_take()) */
};

static struct frame_recs *recs_of(struct analysis *a)
{
    if (!a->edge_frames) {
        a->edge_frames = g_new0(struct frame_recs, 1);
        a->edge_frames->recs = g_array_new(FALSE, TRUE, sizeof(struct frame_rec));
        a->edge_frames->by_name = mstate_name_table();
        a->edge_frames->kept = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
        a->edge_frames->wholes = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    }
    return a->edge_frames;
}

void frame_edges_free(struct analysis *a)
{
    if (!a->edge_frames)
        return;
    g_array_free(a->edge_frames->recs, TRUE);
    g_hash_table_destroy(a->edge_frames->by_name);
    g_ptr_array_free(a->edge_frames->kept, TRUE);
    g_ptr_array_free(a->edge_frames->wholes, TRUE);
    g_free(a->edge_frames);
    a->edge_frames = NULL;
}

static struct mstate_name name_of(const struct frame_rec *r)
{
    return mstate_name_of(&r->addr[0], r->port[0], &r->addr[1], r->port[1], r->first_ts);
}

/* Whether a record says anything: some direction not at a header, or a
 * sequence number or leading gaps to carry. */
static bool telling(const struct frame_rec *r)
{
    /* (smbd_over is set only with smbd_left) */
    return r->left[0] || r->left[1] || r->lead[0] || r->lead[1] || r->smbd_left[0] || r->smbd_left[1] ||
           r->smbd_lead[0] || r->smbd_lead[1] || r->end_seq[0] != UNKNOWN || r->end_seq[1] != UNKNOWN ||
           r->lead_gap[0] || r->lead_gap[1] || r->lead_gaps[0] || r->lead_gaps[1] ||
           r->kept[0][RDMA_KEPT_SEND_HEAD] || r->kept[1][RDMA_KEPT_SEND_HEAD] || r->kept[0][RDMA_KEPT_SEND_REST] ||
           r->kept[1][RDMA_KEPT_SEND_REST];
}

/* n octets kept: their frame_rec.kept value (0: none, or past the bound). */
static uint32_t keep(struct frame_recs *fr, const uint8_t *p, size_t n)
{
    if (!p || !n || n > RDMA_MSG_KEEP_MAX || fr->kept_total + n > KEPT_TOTAL_MAX)
        return 0;
    g_ptr_array_add(fr->kept, g_bytes_new(p, n));
    fr->kept_total += n;
    return fr->kept->len;
}

static bool kept_any(const struct frame_rec *r)
{
    for (int d = 0; d < 2; d++)
        for (int k = 0; k < RDMA_KEPT_N; k++)
            if (r->kept[d][k])
                return true;
    return false;
}

static const uint8_t *kept_bytes(const struct frame_recs *fr, uint32_t k, size_t *n)
{
    *n = 0;
    return k && fr && k <= fr->kept->len ? g_bytes_get_data(g_ptr_array_index(fr->kept, k - 1), n) : NULL;
}

static void put(struct analysis *a, const struct frame_rec *r)
{
    struct frame_recs *fr = recs_of(a);
    if (!telling(r) || fr->recs->len >= 16 * ANALYSIS_MAX_EDGES) /* a bound for merge itself (a run: one per edge) */
        return;
    g_array_append_val(fr->recs, *r);
    struct mstate_name k = name_of(r);
    g_hash_table_replace(fr->by_name, g_memdup2(&k, sizeof k), GUINT_TO_POINTER(fr->recs->len));
}

void frame_edge_note(struct analysis *a, const struct conn_summary *cs, const struct smb_conn *s)
{
    if (cs->carrier != CONN_CARRIER_TCP && !(cs->carrier == CONN_CARRIER_UDP && s->smbd)) /* TCP, RoCEv2 */
        return;
    struct frame_rec r;
    memset(&r, 0, sizeof r);
    r.addr[0] = cs->client;
    r.addr[1] = cs->server;
    r.port[0] = cs->client_port;
    r.port[1] = cs->server_port;
    r.first_ts = cs->first_ts;
    r.roce = cs->carrier == CONN_CARRIER_UDP;
    r.end_seq[0] = r.end_seq[1] = r.start_seq[0] = r.start_seq[1] = UNKNOWN; /* frame_edge_seqs() */
    for (int d = 0; d < 2; d++) {
        int f = d == 0 ? s->client : !s->client; /* the flow direction from the client, or to it */
        if (s->smbd) { /* iWARP: SMBD messages in pieces (its FPDUs are not framed as NBSS/direct) */
            r.smbd_left[d] = s->smbd->smbd_left[f];
            r.smbd_lead[d] = s->smbd->smbd_lead[f];
            r.smbd_flags[d] = s->smbd->smbd_edge_flags[f];
            r.smbd_over[d] = s->smbd->smbd_over[f] && s->smbd->smbd_left[f];
            for (int k = 0; k < RDMA_KEPT_N && recs_of(a)->kept_edges < SMBD_KEPT_RECS / 2; k++)
                r.kept[d][k] = keep(recs_of(a), s->smbd->smbd_kept[f][k], s->smbd->smbd_kept_len[f][k]);
            r.send_head_msn[d] = s->smbd->send_head_msn[f];
            r.send_rest_msn[d] = s->smbd->send_rest_msn[f];
            r.send_rest_mo[d] = s->smbd->send_rest_mo[f];
            r.send_rest_drops[d] = s->smbd->send_rest_drops[f];
            r.smbd_msg_len[d] = r.kept[d][RDMA_KEPT_HEAD] ? s->smbd->smbd_msg_len[f] : 0;
            r.smbd_unkept[d] = s->smbd->smbd_unkept[f] && r.smbd_left[d];
            continue;
        }
        r.left[d] = s->frame_left[f];
        r.lead[d] = s->frame_lead[f];
        r.bytes[d] = s->frame_bytes[f];
    }
    if (kept_any(&r))
        a->edge_frames->kept_edges++; /* recs_of() made it */
    put(a, &r);
}

void frame_edge_seqs(struct analysis *a, const struct conn_summary *cs, const struct flow_conn *c)
{
    if (!c || cs->carrier != CONN_CARRIER_TCP)
        return;
    bool open = strcmp(cs->close_reason, "end") == 0;
    struct frame_rec r, *have = NULL;
    struct mstate_name k = mstate_name_of(&cs->client, cs->client_port, &cs->server, cs->server_port, cs->first_ts);
    guint at = a->edge_frames ? GPOINTER_TO_UINT(g_hash_table_lookup(a->edge_frames->by_name, &k)) : 0;
    if (at) {
        have = &g_array_index(a->edge_frames->recs, struct frame_rec, at - 1);
        r = *have;
    } else {
        memset(&r, 0, sizeof r);
        r.addr[0] = cs->client;
        r.addr[1] = cs->server;
        r.port[0] = cs->client_port;
        r.port[1] = cs->server_port;
        r.first_ts = cs->first_ts;
        r.end_seq[0] = r.end_seq[1] = r.start_seq[0] = r.start_seq[1] = UNKNOWN;
    }
    bool fwd = mstate_same_end(&c->addr[0], c->port[0], &cs->client, cs->client_port);
    for (int d = 0; d < 2; d++) {
        const struct reasm_dir *st = &c->stream[fwd ? d : 1 - d];
        r.end_seq[d] = open && st->started ? (uint32_t)(st->base + (uint32_t)st->next) : UNKNOWN;
        r.lead_gap[d] = st->started && st->midstream ? st->st.lead_gap : 0;
        r.lead_gaps[d] = r.lead_gap[d] ? st->st.lead_gaps : 0;
        r.start_seq[d] = r.lead_gap[d] ? st->base : UNKNOWN;
    }
    if (have)
        *have = r;
    else
        put(a, &r);
}

void frame_edges_fold_mem(struct analysis *dst, const struct analysis *src)
{
    dst->smbd_not_decoded += src->smbd_not_decoded;
    mstate_roce_tails_fold_mem(dst, src); /* RoCEv2 edges' parts of ACKs only */
    for (guint i = 0; src->edge_frames && i < src->edge_frames->recs->len; i++) {
        const struct frame_rec *r = &g_array_index(src->edge_frames->recs, struct frame_rec, i);
        if (r->used)
            continue;
        struct frame_rec c = *r;
        for (int d = 0; d < 2; d++)
            for (int k = 0; k < RDMA_KEPT_N; k++) {
                size_t n;
                const uint8_t *p = kept_bytes(src->edge_frames, r->kept[d][k], &n);
                c.kept[d][k] = keep(recs_of(dst), p, n);
            }
        put(dst, &c);
    }
}

static struct mstate_name name_at(const GArray *recs, guint i) { return name_of(&g_array_index(recs, struct frame_rec, i)); }

static gint rec_order(gconstpointer pa, gconstpointer pb) { return memcmp(pa, pb, REC_SORTED); }

static void put_count(struct json *b, uint64_t v)
{
    if (v == UNKNOWN)
        json_int(b, -1);
    else
        vint(b, v);
}

/* Direction d's start of a message in progress as edge_smbd_bytes and
 * edge_smbd_large carry it (0: none, or only what the decoder reads of a
 * longer one: edge_smbd_prefix). */
static uint32_t head_of(const struct frame_rec *r, int d)
{
    return r->smbd_msg_len[d] ? 0 : r->kept[d][RDMA_KEPT_HEAD];
}

/* "edge_smbd_bytes": [addr0, port0, addr1, port1, first_ts, d, head, lead,
 * send_head_msn, send_head, send_rest_msn, send_rest_mo, send_rest_drops,
 * send_rest] per direction d of an edge_frames record (recs, in their
 * order) that kept SMBD or Send bytes (rdma.h: smbd_kept; hex, "": none;
 * the numbers 0 without their bytes), at most
 * SMBD_KEPT_RECS; absent when none (a state without SMB Direct cut in a
 * message is as before). */
/* A direction whose SMB2 message pieces are longer than an older
 * smbscope reads in edge_smbd_bytes (RDMA_KEEP_MAX: a start and what its
 * message still expected, or a rest). */
static bool large(const struct frame_recs *fr, const struct frame_rec *r, int d)
{
    size_t hn, ln;
    kept_bytes(fr, head_of(r, d), &hn);
    kept_bytes(fr, r->kept[d][RDMA_KEPT_LEAD], &ln);
    return (hn && hn + r->smbd_left[d] > RDMA_KEEP_MAX) || ln > RDMA_KEEP_MAX;
}

/* ... and "edge_smbd_large" (big): the same for the directions whose SMB2
 * message pieces are longer than RDMA_KEEP_MAX (at most RDMA_MSG_KEEP_MAX:
 * what the run over the parts decodes at its default --pdu-cap), a member
 * of their own: an older smbscope, which refuses such pieces in
 * edge_smbd_bytes, ignores it (the message counted, not decoded, as
 * before). */
static void build_smbd_bytes(struct json *b, const struct frame_recs *fr, const GArray *recs, bool big)
{
    guint written = 0;
    for (guint i = 0; i < recs->len; i++) {
        const struct frame_rec *r = &g_array_index(recs, struct frame_rec, i);
        for (int d = 0; d < 2 && written < SMBD_KEPT_RECS; d++) {
            bool sends = !r->roce && (r->kept[d][RDMA_KEPT_SEND_HEAD] || r->kept[d][RDMA_KEPT_SEND_REST]);
            if ((!head_of(r, d) && !r->kept[d][RDMA_KEPT_LEAD] && !sends) || large(fr, r, d) != big)
                continue;
            if (!written) {
                json_key(b, big ? "edge_smbd_large" : "edge_smbd_bytes");
                json_begin_array(b);
            }
            json_begin_array(b);
            put_ends(b, r->addr, r->port);
            json_int(b, r->first_ts);
            vint(b, (uint64_t)d);
            for (int k = 0; k < RDMA_KEPT_N; k++) {
                size_t n;
                bool roce_send = r->roce && (k == RDMA_KEPT_SEND_HEAD || k == RDMA_KEPT_SEND_REST); /* below */
                const uint8_t *p = roce_send ? NULL : kept_bytes(fr, k == RDMA_KEPT_HEAD ? head_of(r, d) : r->kept[d][k], &n);
                if (roce_send)
                    n = 0;
                if (k == RDMA_KEPT_SEND_HEAD)
                    vint(b, roce_send ? 0 : r->send_head_msn[d]);
                if (k == RDMA_KEPT_SEND_REST) {
                    vint(b, roce_send ? 0 : r->send_rest_msn[d]);
                    vint(b, roce_send ? 0 : r->send_rest_mo[d]);
                    vint(b, roce_send ? 0 : r->send_rest_drops[d]);
                }
                mstate_put_hex(b, p, n);
            }
            json_end_array(b);
            written++;
        }
    }
    if (written)
        json_end_array(b);
}

/* "edge_smbd_over": [addr0, port0, addr1, port1, first_ts, d] per
 * direction d of an edge_frames record (recs, in their order) whose SMBD
 * message in progress at the end is longer than the run's --pdu-cap (the
 * run over the parts drops it: a later part's rest of it is no message,
 * merge counts it dropped: join_smbd()); absent when none.  An older
 * smbscope ignores the member (that rest counted a message of the later
 * part, as before). */
static void build_smbd_over(struct json *b, const GArray *recs)
{
    bool any = false;
    for (guint i = 0; i < recs->len; i++) {
        const struct frame_rec *r = &g_array_index(recs, struct frame_rec, i);
        for (int d = 0; d < 2; d++) {
            if (!r->smbd_over[d] || !r->smbd_left[d])
                continue;
            if (!any) {
                json_key(b, "edge_smbd_over");
                json_begin_array(b);
                any = true;
            }
            json_begin_array(b);
            put_ends(b, r->addr, r->port);
            json_int(b, r->first_ts);
            vint(b, (uint64_t)d);
            json_end_array(b);
        }
    }
    if (any)
        json_end_array(b);
}

/* "edge_smbd_prefix": [addr0, port0, addr1, port1, first_ts, d, msg_len,
 * prefix] per direction d of an edge_frames record (recs, in their order)
 * whose SMB2 message in progress at the end is longer than
 * RDMA_MSG_KEEP_MAX (a run's --pdu-cap raised past it: the run over the
 * parts decodes it): its length and the octets its decoder reads (rdma.h
 * smbd_msg_len: its header; hex, at most RDMA_PREFIX_MAX), at most
 * SMBD_KEPT_RECS; and "edge_smbd_unkept": [addr0, port0, addr1, port1,
 * first_ts, d] where the decoder reads more than that (merge counts the
 * message not decoded: stats.merged.smbd_messages_not_decoded).  Absent
 * when none.  An older smbscope ignores both (the message counted, not
 * decoded, as before). */
static void build_smbd_long(struct json *b, const struct frame_recs *fr, const GArray *recs, bool unkept)
{
    guint written = 0;
    for (guint i = 0; i < recs->len; i++) {
        const struct frame_rec *r = &g_array_index(recs, struct frame_rec, i);
        for (int d = 0; d < 2 && (unkept || written < SMBD_KEPT_RECS); d++) {
            size_t n;
            const uint8_t *p = kept_bytes(fr, r->kept[d][RDMA_KEPT_HEAD], &n);
            if (!r->smbd_left[d] || (unkept ? !r->smbd_unkept[d] : !r->smbd_msg_len[d] || !p))
                continue;
            if (!written) {
                json_key(b, unkept ? "edge_smbd_unkept" : "edge_smbd_prefix");
                json_begin_array(b);
            }
            json_begin_array(b);
            put_ends(b, r->addr, r->port);
            json_int(b, r->first_ts);
            vint(b, (uint64_t)d);
            if (!unkept) {
                vint(b, r->smbd_msg_len[d]);
                mstate_put_hex(b, p, n);
            }
            json_end_array(b);
            written++;
        }
    }
    if (written)
        json_end_array(b);
}

/* "edge_roce_sends": [addr0, port0, addr1, port1, first_ts, d,
 * send_head_psn, send_head, send_rest_psn, send_rest] per direction d of a
 * RoCEv2 edge_frames record (recs, in their order) that kept the start of
 * a SEND in progress at its end (the PSN it expected next) or the rest of
 * one its first packets continued (the PSN it began at) (rdma_roce.c:
 * keep_sends(); hex, "": none), at most SMBD_KEPT_RECS; absent when none.
 * A member of its own, not edge_smbd_bytes: a SEND's rest carries no
 * offset, which an older smbscope's edge_smbd_bytes reader refuses; it
 * ignores this member (the SEND stays in pieces there, as before). */
static void build_roce_sends(struct json *b, const struct frame_recs *fr, const GArray *recs)
{
    guint written = 0;
    for (guint i = 0; i < recs->len; i++) {
        const struct frame_rec *r = &g_array_index(recs, struct frame_rec, i);
        for (int d = 0; r->roce && d < 2 && written < SMBD_KEPT_RECS; d++) {
            if (!r->kept[d][RDMA_KEPT_SEND_HEAD] && !r->kept[d][RDMA_KEPT_SEND_REST])
                continue;
            if (!written) {
                json_key(b, "edge_roce_sends");
                json_begin_array(b);
            }
            json_begin_array(b);
            put_ends(b, r->addr, r->port);
            json_int(b, r->first_ts);
            vint(b, (uint64_t)d);
            size_t n;
            const uint8_t *p = kept_bytes(fr, r->kept[d][RDMA_KEPT_SEND_HEAD], &n);
            vint(b, p ? r->send_head_msn[d] : 0);
            mstate_put_hex(b, p, n);
            p = kept_bytes(fr, r->kept[d][RDMA_KEPT_SEND_REST], &n);
            vint(b, p ? r->send_rest_msn[d] : 0);
            mstate_put_hex(b, p, n);
            json_end_array(b);
            written++;
        }
    }
    if (written)
        json_end_array(b);
}

void mstate_build_edge_frames(struct json *b, const struct analysis *a)
{
    json_key(b, "edge_frames");
    json_begin_array(b);
    const GArray *all = a->edge_frames ? a->edge_frames->recs : NULL;
    GArray *recs = g_array_new(FALSE, TRUE, sizeof(struct frame_rec)); /* the same state whatever the fold order */
    bool *own = a->merged_parts && all ? mstate_name_owned(all, name_at, a->edges) : NULL;
    for (guint i = 0; all && i < all->len; i++) {
        const struct frame_rec *r = &g_array_index(all, struct frame_rec, i);
        if (!r->used && (!a->merged_parts || own[i]))
            g_array_append_val(recs, *r);
    }
    g_free(own);
    g_array_sort(recs, rec_order);
    for (guint i = 0; i < recs->len; i++) {
        const struct frame_rec *r = &g_array_index(recs, struct frame_rec, i);
        json_begin_array(b);
        put_ends(b, r->addr, r->port);
        json_int(b, r->first_ts);
        for (int d = 0; d < 2; d++)
            put_count(b, r->left[d]);
        for (int d = 0; d < 2; d++)
            put_count(b, r->lead[d]);
        for (int d = 0; d < 2; d++)
            vint(b, r->bytes[d]);
        for (int d = 0; d < 2; d++)
            vint(b, r->smbd_left[d]);
        for (int d = 0; d < 2; d++)
            vint(b, r->smbd_lead[d]);
        for (int d = 0; d < 2; d++)
            vint(b, r->smbd_flags[d]);
        for (int d = 0; d < 2; d++)
            put_count(b, r->end_seq[d]);
        for (int d = 0; d < 2; d++)
            put_count(b, r->start_seq[d]);
        for (int d = 0; d < 2; d++)
            vint(b, r->lead_gaps[d]);
        for (int d = 0; d < 2; d++)
            vint(b, r->lead_gap[d]);
        json_end_array(b);
    }
    json_end_array(b);
    build_smbd_bytes(b, a->edge_frames, recs, false);
    build_smbd_bytes(b, a->edge_frames, recs, true);
    build_roce_sends(b, a->edge_frames, recs);
    build_smbd_over(b, recs);
    build_smbd_long(b, a->edge_frames, recs, false);
    build_smbd_long(b, a->edge_frames, recs, true);
    if (a->smbd_not_decoded) { /* stats.merged: carried by a merged report's state to the next merge */
        json_key(b, "smbd_messages_not_decoded");
        vint(b, a->smbd_not_decoded);
    }
    g_array_free(recs, TRUE);
    mstate_build_roce_tails(b, a); /* RoCEv2 edges' parts of ACKs only */
}

/* A count or -1 (not known). */
static uint64_t get_count(struct jget *g, const struct jpath *ip, JsonArray *e, guint i)
{
    int64_t v = jget_elem_i64(g, ip, e, i);
    if (!g->failed && v < -1) {
        struct jpath vp;
        jpath_index(&vp, ip, i);
        jget_fail(g, &vp, "not a count or -1");
    }
    return v < 0 ? UNKNOWN : (uint64_t)v;
}

enum { KB_HEAD = 6, KB_LEAD, KB_SHEAD_MSN, KB_SHEAD, KB_SREST_MSN, KB_SREST_MO, KB_SREST_DROPS, KB_SREST, KB_N };

/* The members beside edge_frames name one of this state's records (from
 * 1 + start on) and a direction: [addr0, port0, addr1, port1, first_ts, d,
 * ...].  Each element is walked by fold_beside() and handed with its
 * record to a reader of that member. */
typedef void (*beside_fn)(struct jget *g, const struct jpath *ip, struct analysis *a, struct frame_rec *r, int d,
                          JsonArray *e, size_t arg);

static void fold_beside(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st, guint start,
                        const char *key, guint max, guint n, const char *shape, beside_fn fn, size_t arg)
{
    if (g->failed || !json_object_has_member(st, key)) /* absent: none, or written before it was carried */
        return;
    struct jpath ap, ip;
    jpath_key(&ap, p, key);
    JsonArray *arr = jget_arr(g, p, st, key, max);
    struct frame_recs *fr = a->edge_frames;
    for (guint i = 0; arr && !g->failed && i < json_array_get_length(arr); i++) {
        jpath_index(&ip, &ap, i);
        JsonArray *e = jget_node_arr(json_array_get_element(arr, i));
        if (!e || json_array_get_length(e) != n) {
            jget_fail(g, &ip, shape);
            return;
        }
        struct frame_rec k;
        memset(&k, 0, sizeof k);
        jget_elem_ends(g, &ip, e, k.addr, k.port);
        k.first_ts = jget_elem_ts(g, &ip, e, 4);
        int d = (int)jget_elem_u64(g, &ip, e, 5, 1);
        if (g->failed)
            return;
        struct mstate_name name = name_of(&k);
        guint at = GPOINTER_TO_UINT(g_hash_table_lookup(fr->by_name, &name));
        if (at <= start) {
            if (fr->recs->len < 16 * ANALYSIS_MAX_EDGES) /* else its record was past merge's bound */
                jget_fail(g, &ip, "names no edge_frames record of its state");
            continue;
        }
        fn(g, &ip, a, &g_array_index(fr->recs, struct frame_rec, at - 1), d, e, arg);
    }
}

/* One "edge_smbd_bytes" (msg_max RDMA_KEEP_MAX) or "edge_smbd_large"
 * (RDMA_MSG_KEEP_MAX) element: what it says of direction d of r. */
static void fold_smbd_kept(struct jget *g, const struct jpath *ip, struct analysis *a, struct frame_rec *r, int d,
                           JsonArray *e, size_t msg_max)
{
    struct frame_recs *fr = a->edge_frames;
    const char *hex[RDMA_KEPT_N];
    static const guint at_hex[RDMA_KEPT_N] = { KB_HEAD, KB_LEAD, KB_SHEAD, KB_SREST };
    for (int i = 0; i < RDMA_KEPT_N; i++)
        hex[i] = jget_elem_str(g, ip, e, at_hex[i], 2 * (i <= RDMA_KEPT_LEAD ? msg_max : RDMA_KEEP_MAX));
    uint32_t head_msn = (uint32_t)jget_elem_u64(g, ip, e, KB_SHEAD_MSN, UINT32_MAX);
    uint32_t rest_msn = (uint32_t)jget_elem_u64(g, ip, e, KB_SREST_MSN, UINT32_MAX);
    uint32_t rest_mo = (uint32_t)jget_elem_u64(g, ip, e, KB_SREST_MO, RDMA_KEEP_MAX);
    uint32_t rest_drops = (uint32_t)jget_elem_u64(g, ip, e, KB_SREST_DROPS, RDMA_KEEP_MAX);
    if (g->failed)
        return;
    uint8_t *b[RDMA_KEPT_N];
    size_t n[RDMA_KEPT_N];
    bool hex_ok = true, any = false, twice = false;
    for (int i = 0; i < RDMA_KEPT_N; i++) {
        b[i] = smbd_get_hex(hex[i], i <= RDMA_KEPT_LEAD ? msg_max : RDMA_KEEP_MAX, &n[i]);
        hex_ok &= b[i] != NULL;
        any |= n[i] != 0;
        twice |= r->kept[d][i] != 0;
    }
    twice |= n[RDMA_KEPT_HEAD] && (r->smbd_msg_len[d] || r->smbd_unkept[d]); /* edge_smbd_prefix, _unkept */
    uint8_t f = r->smbd_flags[d];
    size_t sh = n[RDMA_KEPT_SEND_HEAD], sr = n[RDMA_KEPT_SEND_REST];
    const char *bad = !hex_ok ? (msg_max == RDMA_KEEP_MAX ? "not hex of at most 16384 octets"
                                                          : "not hex of at most 65536 octets (a Send's: 16384)")
                      : !any ? "no octets"
                      : twice ? "a direction given twice"
                      : (!sh && head_msn) || (!sr && (rest_msn || rest_mo || rest_drops)) ? "a Send's numbers without its bytes"
                      : sr && (!rest_mo || rest_mo + sr > RDMA_KEEP_MAX || !rest_drops)
                          ? "a Send's rest not after its start, past 16384 octets, or of no segment"
                      : n[0] && (!r->smbd_left[d] || n[0] + r->smbd_left[d] > msg_max ||
                                 !(f & (RDMA_LEFT_SMB | RDMA_LEAD_OPEN)))
                          ? "a start of no message in progress at the end, or of one past the member's bound "
                            "(smbd_left, smbd_flags)"
                      : n[1] && (n[1] != r->smbd_lead[d] || (f & (RDMA_LEAD_DONE | RDMA_LEAD_NOT_SMB)) !=
                                                                 (RDMA_LEAD_DONE | RDMA_LEAD_NOT_SMB))
                          ? "a rest not the first data message's message (smbd_lead, smbd_flags)"
                          : NULL;
    if (bad)
        jget_fail(g, ip, bad);
    for (int i = 0; i < RDMA_KEPT_N && !bad; i++)
        r->kept[d][i] = keep(fr, b[i], n[i]);
    if (!bad) {
        r->send_head_msn[d] = head_msn;
        r->send_rest_msn[d] = rest_msn;
        r->send_rest_mo[d] = rest_mo;
        r->send_rest_drops[d] = rest_drops;
    }
    for (int i = 0; i < RDMA_KEPT_N; i++)
        g_free(b[i]);
}

/* One "edge_smbd_over" element (build_smbd_over()). */
static void fold_smbd_over(struct jget *g, const struct jpath *ip, struct analysis *a, struct frame_rec *r, int d,
                           JsonArray *e, size_t unused)
{
    if (!r->smbd_left[d] || r->smbd_over[d])
        jget_fail(g, ip, "no message in progress at the end (smbd_left), or a direction given twice");
    else
        r->smbd_over[d] = 1;
}

enum { RS_HEAD_PSN = 6, RS_HEAD, RS_REST_PSN, RS_REST, RS_N };

/* One "edge_roce_sends" element (build_roce_sends()). */
static void fold_roce_sends(struct jget *g, const struct jpath *ip, struct analysis *a, struct frame_rec *r, int d,
                            JsonArray *e, size_t unused)
{
    struct frame_recs *fr = a->edge_frames;
    uint32_t head_psn = (uint32_t)jget_elem_u64(g, ip, e, RS_HEAD_PSN, 0xFFFFFF);
    uint32_t rest_psn = (uint32_t)jget_elem_u64(g, ip, e, RS_REST_PSN, 0xFFFFFF);
    const char *hh = jget_elem_str(g, ip, e, RS_HEAD, 2 * RDMA_KEEP_MAX);
    const char *rh = jget_elem_str(g, ip, e, RS_REST, 2 * RDMA_KEEP_MAX);
    if (g->failed)
        return;
    size_t hn, rn;
    uint8_t *hb = smbd_get_hex(hh, RDMA_KEEP_MAX, &hn), *rb = smbd_get_hex(rh, RDMA_KEEP_MAX, &rn);
    const char *bad = !hb || !rb ? "not hex of at most 16384 octets"
                      : !hn && !rn ? "no octets"
                      : r->kept[d][RDMA_KEPT_SEND_HEAD] || r->kept[d][RDMA_KEPT_SEND_REST] ? "a direction given twice"
                      : (!hn && head_psn) || (!rn && rest_psn) ? "a SEND's PSN without its bytes"
                                                                : NULL;
    if (bad) {
        jget_fail(g, ip, bad);
    } else {
        r->roce = 1;
        r->kept[d][RDMA_KEPT_SEND_HEAD] = keep(fr, hb, hn);
        r->kept[d][RDMA_KEPT_SEND_REST] = keep(fr, rb, rn);
        r->send_head_msn[d] = head_psn;
        r->send_rest_msn[d] = rest_psn;
    }
    g_free(hb);
    g_free(rb);
}

enum { SP_MSG_LEN = 6, SP_PREFIX, SP_N };

/* One "edge_smbd_prefix" element (build_smbd_prefix()). */
static void fold_smbd_prefix(struct jget *g, const struct jpath *ip, struct analysis *a, struct frame_rec *r, int d,
                             JsonArray *e, size_t unused)
{
    uint64_t len = jget_elem_u64(g, ip, e, SP_MSG_LEN, 1u << 24); /* --pdu-cap's most */
    const char *hex = jget_elem_str(g, ip, e, SP_PREFIX, 2 * RDMA_PREFIX_MAX);
    if (g->failed)
        return;
    size_t n;
    uint8_t *b = smbd_get_hex(hex, RDMA_PREFIX_MAX, &n);
    const char *bad = !b ? "not hex of at most 4096 octets"
                      : r->kept[d][RDMA_KEPT_HEAD] || r->smbd_msg_len[d] || r->smbd_unkept[d] ? "a direction given twice"
                      : len <= RDMA_MSG_KEEP_MAX ? "a message not longer than 65536 octets (edge_smbd_bytes, _large)"
                      : !framer_is_smb_id(b, n) ? "not the start of an SMB message"
                      : !r->smbd_left[d] || r->smbd_left[d] >= len || n > len - r->smbd_left[d] ||
                                !(r->smbd_flags[d] & RDMA_LEFT_SMB)
                          ? "no such message in progress at the end (smbd_left, smbd_flags), or more of it than it saw"
                          : NULL;
    if (bad) {
        jget_fail(g, ip, bad);
    } else {
        r->kept[d][RDMA_KEPT_HEAD] = keep(a->edge_frames, b, n);
        r->smbd_msg_len[d] = r->kept[d][RDMA_KEPT_HEAD] ? (uint32_t)len : 0;
    }
    g_free(b);
}

/* One "edge_smbd_unkept" element (build_smbd_unkept()). */
static void fold_smbd_unkept(struct jget *g, const struct jpath *ip, struct analysis *a, struct frame_rec *r, int d,
                             JsonArray *e, size_t unused)
{
    if (!r->smbd_left[d] || !(r->smbd_flags[d] & RDMA_LEFT_SMB) || r->smbd_unkept[d] || r->smbd_msg_len[d] ||
        r->kept[d][RDMA_KEPT_HEAD])
        jget_fail(g, ip, "no SMB message in progress at the end (smbd_left, smbd_flags), or a direction given twice");
    else
        r->smbd_unkept[d] = 1;
}

#define KB_SHAPE "not [addr, port, addr, port, first_ts, direction, head, lead, send_head_msn, send_head, " \
                 "send_rest_msn, send_rest_mo, send_rest_drops, send_rest]"

void mstate_fold_edge_frames(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st)
{
    if (!json_object_has_member(st, "edge_frames"))
        return; /* a report written before they were carried */
    mstate_fold_roce_tails(g, p, a, st); /* RoCEv2 edges' parts of ACKs only */
    guint start = recs_of(a)->recs->len;
    struct jpath ap, ip;
    jpath_key(&ap, p, "edge_frames");
    JsonArray *arr = jget_arr(g, p, st, "edge_frames", ANALYSIS_MAX_EDGES);
    for (guint i = 0; arr && !g->failed && i < json_array_get_length(arr); i++) {
        jpath_index(&ip, &ap, i);
        JsonNode *n = json_array_get_element(arr, i);
        JsonArray *e = jget_node_arr(n);
        if (!e || json_array_get_length(e) != FF_N) {
            jget_fail(g, &ip, "not [addr, port, addr, port, first_ts, left, left, lead, lead, bytes, bytes, "
                              "smbd_left, smbd_left, smbd_lead, smbd_lead, smbd_flags, smbd_flags, "
                              "end_seq, end_seq, start_seq, start_seq, lead_gaps, lead_gaps, lead_gap, lead_gap]");
            return;
        }
        struct frame_rec r;
        memset(&r, 0, sizeof r);
        jget_elem_ends(g, &ip, e, r.addr, r.port);
        for (int d = 0; d < 2; d++) {
            r.left[d] = get_count(g, &ip, e, FF_LEFT0 + (guint)d);
            r.lead[d] = get_count(g, &ip, e, FF_LEAD0 + (guint)d);
            r.bytes[d] = jget_elem_u64(g, &ip, e, FF_BYTES0 + (guint)d, INT64_MAX);
            r.smbd_left[d] = jget_elem_u64(g, &ip, e, FF_SLEFT0 + (guint)d, UINT32_MAX); /* RemainingDataLength */
            r.smbd_lead[d] = jget_elem_u64(g, &ip, e, FF_SLEAD0 + (guint)d, 2ull * UINT32_MAX);
            r.smbd_flags[d] = (uint8_t)jget_elem_u64(g, &ip, e, FF_SFLAGS0 + (guint)d, SMBD_FLAGS_MAX);
            r.end_seq[d] = get_count(g, &ip, e, FF_END0 + (guint)d);
            r.start_seq[d] = get_count(g, &ip, e, FF_START0 + (guint)d);
            r.lead_gaps[d] = jget_elem_u64(g, &ip, e, FF_LGAPS0 + (guint)d, INT64_MAX);
            r.lead_gap[d] = jget_elem_u64(g, &ip, e, FF_LGAP0 + (guint)d, INT64_MAX);
            if (!g->failed && (!r.lead_gaps[d]) != (!r.lead_gap[d]))
                jget_fail(g, &ip, "leading gaps without bytes, or bytes without gaps");
            if (!g->failed && ((r.end_seq[d] != UNKNOWN && r.end_seq[d] > UINT32_MAX) ||
                               (r.start_seq[d] != UNKNOWN && r.start_seq[d] > UINT32_MAX)))
                jget_fail(g, &ip, "a TCP sequence number past 32 bits");
        }
        r.first_ts = jget_elem_ts(g, &ip, e, FF_FIRST);
        if (g->failed)
            return;
        put(a, &r);
    }
    fold_beside(g, p, a, st, start, "edge_smbd_bytes", SMBD_KEPT_RECS, KB_N, KB_SHAPE, fold_smbd_kept, RDMA_KEEP_MAX);
    fold_beside(g, p, a, st, start, "edge_smbd_large", SMBD_KEPT_RECS, KB_N, KB_SHAPE, fold_smbd_kept,
                RDMA_MSG_KEEP_MAX);
    fold_beside(g, p, a, st, start, "edge_smbd_over", 2 * ANALYSIS_MAX_EDGES, 6,
                "not [addr, port, addr, port, first_ts, direction]", fold_smbd_over, 0);
    fold_beside(g, p, a, st, start, "edge_roce_sends", SMBD_KEPT_RECS, RS_N,
                "not [addr, port, addr, port, first_ts, direction, send_head_psn, send_head, send_rest_psn, send_rest]",
                fold_roce_sends, 0);
    fold_beside(g, p, a, st, start, "edge_smbd_prefix", SMBD_KEPT_RECS, SP_N,
                "not [addr, port, addr, port, first_ts, direction, msg_len, prefix]", fold_smbd_prefix, 0);
    fold_beside(g, p, a, st, start, "edge_smbd_unkept", 2 * ANALYSIS_MAX_EDGES, 6,
                "not [addr, port, addr, port, first_ts, direction]", fold_smbd_unkept, 0);
    if (!g->failed && json_object_has_member(st, "smbd_messages_not_decoded"))
        a->smbd_not_decoded += jget_u64(g, p, st, "smbd_messages_not_decoded", INT64_MAX);
}

/* ---- joining ------------------------------------------------------------ */

/* The live record of cs, marked used (NULL: none). */
static struct frame_rec *take(struct analysis *a, const struct conn_summary *cs)
{
    if (!a->edge_frames)
        return NULL;
    struct mstate_name k = mstate_name_of(&cs->client, cs->client_port, &cs->server, cs->server_port, cs->first_ts);
    guint at = GPOINTER_TO_UINT(g_hash_table_lookup(a->edge_frames->by_name, &k));
    if (!at)
        return NULL;
    g_hash_table_remove(a->edge_frames->by_name, &k);
    struct frame_rec *r = &g_array_index(a->edge_frames->recs, struct frame_rec, at - 1);
    r->used = 1;
    return r;
}

void mstate_frame_rename_to(struct analysis *a, const struct conn_summary *cs, const struct conn_summary *to)
{
    struct frame_rec *r = take(a, cs);
    if (!r)
        return;
    struct frame_rec n = *r;
    n.used = 0;
    n.first_ts = to->first_ts;
    if (to->client_port != cs->client_port || to->server_port != cs->server_port) { /* RoCEv2: by address */
        bool fwd = !memcmp(&n.addr[0], &to->client, sizeof n.addr[0]);
        n.port[0] = fwd ? to->client_port : to->server_port;
        n.port[1] = fwd ? to->server_port : to->client_port;
    }
    put(a, &n);
}

void mstate_frame_rename(struct analysis *a, const struct conn_summary *cs, int64_t first)
{
    struct conn_summary to = *cs;
    to.first_ts = first;
    mstate_frame_rename_to(a, cs, &to);
}

/* The late part's framing anomalies: n fewer (its entry, or --jobs' session). */
static void fewer_anomalies(struct analysis *a, const struct conn_summary *late, uint64_t n)
{
    JsonObject *e = mstate_detail_entry(a, late);
    JsonNode *sn = e ? json_object_get_member(e, "stream") : NULL;
    JsonObject *st = jget_node_obj(sn);
    if (st && json_object_has_member(st, "framing_anomalies")) {
        gint64 have = json_object_get_int_member(st, "framing_anomalies");
        json_object_set_int_member(st, "framing_anomalies", have > (gint64)n ? have - (gint64)n : 0);
        return;
    }
    struct smb_conn *s = e ? NULL : mstate_detail_conn(a, late);
    if (s)
        s->framer_anomalies -= n <= s->framer_anomalies ? n : s->framer_anomalies;
}

void mstate_frame_tail(struct analysis *a, const struct conn_summary *cs, uint64_t framed_c2s, uint64_t framed_s2c)
{
    struct frame_rec *r = take(a, cs);
    if (!r)
        return; /* at a header each way: a tail of a message's middle does not follow */
    struct frame_rec n = *r;
    n.used = 0;
    bool fwd = mstate_same_end(&n.addr[0], n.port[0], &cs->client, cs->client_port);
    const uint64_t framed[2] = { fwd ? framed_c2s : framed_s2c, fwd ? framed_s2c : framed_c2s };
    for (int d = 0; d < 2; d++) {
        n.left[d] = n.left[d] != UNKNOWN && n.left[d] >= framed[d] ? n.left[d] - framed[d] : UNKNOWN;
        n.bytes[d] += framed[d];
    }
    put(a, &n);
}

/* The late part's SMBD messages in pieces: n more (the whole of one it
 * saw the end of). */
static void more_fragmented(struct analysis *a, const struct conn_summary *late, uint64_t n)
{
    JsonObject *e = mstate_detail_entry(a, late);
    JsonNode *dn = e ? json_object_get_member(e, "smb_direct") : NULL;
    JsonObject *sd = jget_node_obj(dn);
    JsonNode *mn = sd ? json_object_get_member(sd, "smbd") : NULL;
    JsonObject *m = jget_node_obj(mn);
    if (m && json_object_has_member(m, "fragmented_messages")) {
        mstate_add_int(m, "fragmented_messages", n);
        return;
    }
    struct smb_conn *s = e ? NULL : mstate_detail_conn(a, late);
    if (s && s->smbd)
        s->smbd->smbd_fragmented += n;
}

/* msg (n octets) of direction d (0: from the early part's client) whole,
 * or the first n octets of a message of msg_len (0: n): for
 * mstate_join_smbd.h to decode (frame_edge_whole_take()).  Queued as the
 * direction octet, msg_len (4 octets, little-endian), the octets. */
static void whole_of(struct frame_recs *fr, int d, const uint8_t *msg, size_t n, uint32_t msg_len)
{
    uint8_t *w = g_malloc(n + 5);
    w[0] = (uint8_t)d;
    for (int i = 0; i < 4; i++)
        w[1 + i] = (uint8_t)(msg_len >> (8 * i));
    memcpy(w + 5, msg, n);
    g_ptr_array_add(fr->wholes, g_bytes_new_take(w, n + 5));
}

static void whole(struct frame_recs *fr, int d, const uint8_t *msg, size_t n) { whole_of(fr, d, msg, n, 0); }

bool frame_edge_whole_take(struct analysis *a, int *d, GBytes **msg, size_t *msg_len)
{
    struct frame_recs *fr = a->edge_frames;
    if (!fr || !fr->wholes->len)
        return false;
    GBytes *w = g_ptr_array_steal_index(fr->wholes, 0);
    size_t n;
    const uint8_t *p = g_bytes_get_data(w, &n);
    *d = p[0];
    *msg_len = (size_t)p[1] | (size_t)p[2] << 8 | (size_t)p[3] << 16 | (size_t)p[4] << 24;
    if (!*msg_len)
        *msg_len = n - 5;
    *msg = g_bytes_new_from_bytes(w, 5, n - 5);
    g_bytes_unref(w);
    return true;
}

/* A message longer than RDMA_MSG_KEEP_MAX e was in the middle of in
 * direction d ended: decoded from the octets the decoder reads of it, or
 * (its decoder reads more than a run keeps) counted not decoded. */
static void long_whole(struct analysis *a, const struct frame_rec *e, int d)
{
    size_t hn;
    const uint8_t *head = kept_bytes(a->edge_frames, e->kept[d][RDMA_KEPT_HEAD], &hn);
    if (e->smbd_msg_len[d] && head)
        whole_of(a->edge_frames, d, head, hn, e->smbd_msg_len[d]);
    else
        a->smbd_not_decoded++;
}

/* A message past the --pdu-cap a cut divided (rdma.h: smbd_over): the run
 * over the parts drops it at its end where the late part took its rest
 * for a message (fragmented, a framing anomaly when it held no SMB2
 * header): those undone, one dropped. */
struct over_fix {
    uint64_t fragmented, anomalies, dropped;
};

static void over_fixed(struct analysis *a, const struct conn_summary *late, const struct over_fix *o)
{
    JsonObject *e = mstate_detail_entry(a, late);
    JsonObject *m = jget_member_obj(jget_member_obj(e, "smb_direct"), "smbd");
    if (m && json_object_has_member(m, "fragmented_messages") && json_object_has_member(m, "dropped_messages")) {
        gint64 f = json_object_get_int_member(m, "fragmented_messages");
        json_object_set_int_member(m, "fragmented_messages", f > (gint64)o->fragmented ? f - (gint64)o->fragmented : 0);
        mstate_add_int(m, "dropped_messages", o->dropped);
    } else {
        struct smb_conn *s = e ? NULL : mstate_detail_conn(a, late);
        if (s && s->smbd) {
            uint64_t f = s->smbd->smbd_fragmented;
            s->smbd->smbd_fragmented -= o->fragmented <= f ? o->fragmented : f;
            s->smbd->smbd_dropped += o->dropped;
        }
    }
    if (o->anomalies)
        fewer_anomalies(a, late, o->anomalies);
}

/* The early part's start of a message (e's head kept of direction d) and
 * the late part's rest of it (l's kept k of direction ld) as one: made
 * whole (k RDMA_KEPT_LEAD), else kept as the joined record's start. */
static uint32_t smbd_whole(struct analysis *a, const struct frame_rec *e, const struct frame_rec *l, int d, int ld,
                           int k)
{
    size_t hn, rn;
    const uint8_t *head = kept_bytes(a->edge_frames, e->kept[d][RDMA_KEPT_HEAD], &hn);
    const uint8_t *rest = kept_bytes(a->edge_frames, l->kept[ld][k], &rn);
    if (!head || !rest || hn + rn > RDMA_MSG_KEEP_MAX)
        return 0;
    uint8_t *msg = g_malloc(hn + rn);
    memcpy(msg, head, hn);
    memcpy(msg + hn, rest, rn);
    uint32_t at = 0;
    if (k == RDMA_KEPT_LEAD)
        whole(a->edge_frames, d, msg, hn + rn);
    else
        at = keep(a->edge_frames, msg, hn + rn);
    g_free(msg);
    return at;
}

/* Direction d of the joined record j from early's e and late's l (ld: l's
 * index of that direction): an SMBD message in pieces the late part
 * continued (its first data message carried exactly what the early part's
 * message still expected) is one message of the whole: counted fragmented
 * once, and decoded whole (no framing anomaly; its content from the bytes
 * both parts kept: mstate_join_smbd.h). */
static void join_smbd(struct analysis *a, struct frame_rec *j,
                      const struct frame_rec *e, const struct frame_rec *l, int d, int ld, bool have_l,
                      uint64_t *fragmented, uint64_t *anomalies, struct over_fix *over)
{
    uint64_t left = e->smbd_left[d];
    uint8_t lf = l->smbd_flags[ld];
    j->smbd_lead[d] = e->smbd_lead[d];
    j->smbd_over[d] = e->smbd_over[d];
    j->smbd_flags[d] = e->smbd_flags[d] & (uint8_t)~RDMA_LEFT_SMB;
    j->kept[d][RDMA_KEPT_LEAD] = e->kept[d][RDMA_KEPT_LEAD];
    j->kept[d][RDMA_KEPT_HEAD] = e->kept[d][RDMA_KEPT_HEAD];
    j->smbd_msg_len[d] = e->smbd_msg_len[d];
    j->smbd_unkept[d] = e->smbd_unkept[d];
    if (!have_l || !l->smbd_lead[ld]) { /* no data message in the late part: still in progress */
        j->smbd_left[d] = left;
        j->smbd_flags[d] |= e->smbd_flags[d] & RDMA_LEFT_SMB;
        return;
    }
    j->smbd_left[d] = l->smbd_left[ld];
    j->smbd_flags[d] |= lf & RDMA_LEFT_SMB;
    j->kept[d][RDMA_KEPT_HEAD] = l->kept[ld][RDMA_KEPT_HEAD];
    j->smbd_msg_len[d] = l->smbd_msg_len[ld];
    j->smbd_unkept[d] = l->smbd_unkept[ld];
    j->smbd_over[d] = l->smbd_over[ld];
    if (!left || l->smbd_lead[ld] != left)
        return;
    if (e->smbd_over[d]) { /* past the --pdu-cap: the run over the parts drops it at its end */
        if (lf & RDMA_LEAD_DONE) { /* the late part took its rest for a message: no such message */
            over->fragmented += (lf & RDMA_LEAD_PARTIAL) != 0;
            over->anomalies += (lf & RDMA_LEAD_NOT_SMB) != 0;
            over->dropped++;
        } else if (lf & RDMA_LEAD_OPEN) { /* still in progress: still past the cap */
            j->smbd_over[d] = 1;
        }
        return;
    }
    if (lf & RDMA_LEAD_DONE) {
        *fragmented += !(lf & RDMA_LEAD_PARTIAL); /* the late part saw its last piece alone */
        *anomalies += (lf & RDMA_LEAD_NOT_SMB) && (e->smbd_flags[d] & RDMA_LEFT_SMB);
        bool long_msg = e->smbd_msg_len[d] || e->smbd_unkept[d];
        if ((lf & RDMA_LEAD_NOT_SMB) && (e->smbd_flags[d] & RDMA_LEFT_SMB))
            long_msg ? long_whole(a, e, d) : (void)smbd_whole(a, e, l, d, ld, RDMA_KEPT_LEAD);
    } else if (lf & RDMA_LEAD_OPEN) { /* still in progress at the late part's end: the message began early */
        j->smbd_flags[d] = (uint8_t)((j->smbd_flags[d] & ~RDMA_LEFT_SMB) | (e->smbd_flags[d] & RDMA_LEFT_SMB));
        if (e->smbd_msg_len[d] || e->smbd_unkept[d]) { /* a long message: what the decoder reads of it, its start's */
            j->kept[d][RDMA_KEPT_HEAD] = e->kept[d][RDMA_KEPT_HEAD];
            j->smbd_msg_len[d] = e->smbd_msg_len[d];
            j->smbd_unkept[d] = e->smbd_unkept[d];
        } else {
            j->kept[d][RDMA_KEPT_HEAD] = smbd_whole(a, e, l, d, ld, RDMA_KEPT_HEAD);
            j->smbd_msg_len[d] = 0;
            j->smbd_unkept[d] = 0;
        }
    }
}

/* The late part's Send the early part began (its drops segments dropped
 * there as the middle of a message), whole: one Send more, and its SMBD
 * data transfer message (its entry, or --jobs' session). */
static void send_joined(struct analysis *a, const struct conn_summary *late, uint32_t drops, int side)
{
    JsonObject *e = mstate_detail_entry(a, late);
    JsonNode *dn = e ? json_object_get_member(e, "smb_direct") : NULL;
    JsonObject *sd = jget_node_obj(dn);
    JsonNode *mn = sd ? json_object_get_member(sd, "smbd") : NULL;
    JsonObject *m = jget_node_obj(mn);
    if (m && json_object_has_member(sd, "sends") && json_object_has_member(sd, "sends_dropped") &&
        json_object_has_member(m, "data_messages")) {
        gint64 had = json_object_get_int_member(sd, "sends_dropped");
        mstate_add_int(sd, "sends", 1);
        json_object_set_int_member(sd, "sends_dropped", had > (gint64)drops ? had - (gint64)drops : 0);
        mstate_add_int(m, "data_messages", 1);
        return;
    }
    struct smb_conn *s = e ? NULL : mstate_detail_conn(a, late);
    if (!s || !s->smbd)
        return;
    s->smbd->sends++;
    s->smbd->send_dropped -= drops <= s->smbd->send_dropped ? drops : s->smbd->send_dropped;
    s->smbd->smbd.data_messages[side]++;
}

/* The SMBD data transfer message data of direction d a joined Send
 * carried, taken as the run's SMBD reassembly takes it after what e was in
 * the middle of (smbd_left, its start kept): the message it ends made whole
 * (counted fragmented when it came in pieces), or e's message in progress
 * after it (its start kept; join_smbd() then joins the late part's rest). */
static void send_data(struct analysis *a, struct frame_rec *e, int d, const struct smbd_data *data,
                      uint64_t *fragmented, struct over_fix *over)
{
    struct frame_recs *fr = a->edge_frames;
    uint64_t left = e->smbd_left[d];
    if (left && (e->smbd_msg_len[d] || e->smbd_unkept[d]) && !e->smbd_over[d]) { /* a piece of a long message */
        if (data->remaining_length) {
            e->smbd_left[d] = data->remaining_length;
            return;
        }
        (*fragmented)++;
        long_whole(a, e, d);
        e->smbd_left[d] = 0;
        e->kept[d][RDMA_KEPT_HEAD] = 0;
        e->smbd_msg_len[d] = 0;
        e->smbd_unkept[d] = 0;
        e->smbd_flags[d] &= (uint8_t)~RDMA_LEFT_SMB;
        return;
    }
    size_t hn = 0;
    const uint8_t *head = left ? kept_bytes(fr, e->kept[d][RDMA_KEPT_HEAD], &hn) : NULL;
    size_t n = hn + data->data_length;
    uint8_t *m = (!left || head) && n && n <= RDMA_MSG_KEEP_MAX ? g_malloc(n) : NULL; /* the message so far */
    if (m) {
        if (hn)
            memcpy(m, head, hn);
        memcpy(m + hn, data->data, data->data_length);
    }
    bool smb = m && framer_is_smb_id(m, n);
    if (!data->remaining_length) {
        if (left && e->smbd_over[d]) /* past the --pdu-cap: dropped at its end */
            over->dropped++;
        else
            *fragmented += left != 0;
        if (m && !(left && e->smbd_over[d]))
            whole(fr, d, m, n);
        e->smbd_over[d] = 0;
        e->smbd_left[d] = 0;
        e->kept[d][RDMA_KEPT_HEAD] = 0;
        e->smbd_flags[d] &= (uint8_t)~RDMA_LEFT_SMB;
    } else {
        /* the start of a message longer than RDMA_MSG_KEEP_MAX: what its
         * decoder reads depends on the run's --pdu-cap and mode, which
         * merge does not know: counted, not decoded, when it ends */
        bool long_msg = !left && smb && n + data->remaining_length > RDMA_MSG_KEEP_MAX;
        e->smbd_left[d] = data->remaining_length;
        e->kept[d][RDMA_KEPT_HEAD] = m && (left || smb) && !long_msg ? keep(fr, m, n) : 0;
        e->smbd_msg_len[d] = 0;
        e->smbd_unkept[d] = long_msg;
        e->smbd_flags[d] = (uint8_t)((e->smbd_flags[d] & ~RDMA_LEFT_SMB) | (smb ? RDMA_LEFT_SMB : 0));
    }
    g_free(m);
}

/* Direction d's Sends (rdma.h: RDMA_KEPT_SEND_*): the early part's Send in
 * progress at its end and the late part's rest of it (the same MSN, the
 * rest from where the start ended) are one Send of the whole, whose SMBD
 * data transfer message (a whole SMB2 message, or a piece of one that
 * continues e's message in progress or begins one: send_data()) is taken
 * as the run takes it; e is then where the early part's SMBD reassembly
 * stands after the Send. */
static void join_send(struct analysis *a, const struct conn_summary *late, struct frame_rec *j, struct frame_rec *e,
                      const struct frame_rec *l, int d, int ld, bool have_l, uint64_t *fragmented,
                      struct over_fix *over)
{
    /* RoCEv2 (rdma_roce.c keep_sends()): the rest follows the start when
     * its first PSN is the one the start expected next (a SEND's Middle
     * and Last carry no offset; none of them was counted dropped) */
    bool roce = j->roce;
    j->kept[d][RDMA_KEPT_SEND_REST] = e->kept[d][RDMA_KEPT_SEND_REST];
    j->send_rest_msn[d] = e->send_rest_msn[d];
    j->send_rest_mo[d] = e->send_rest_mo[d];
    j->send_rest_drops[d] = e->send_rest_drops[d];
    bool late_sent = have_l && (l->kept[ld][RDMA_KEPT_SEND_HEAD] || l->kept[ld][RDMA_KEPT_SEND_REST] || l->smbd_lead[ld]);
    j->kept[d][RDMA_KEPT_SEND_HEAD] = late_sent ? l->kept[ld][RDMA_KEPT_SEND_HEAD] : e->kept[d][RDMA_KEPT_SEND_HEAD];
    j->send_head_msn[d] = late_sent ? l->send_head_msn[ld] : e->send_head_msn[d];
    size_t hn, rn;
    const uint8_t *head = kept_bytes(a->edge_frames, e->kept[d][RDMA_KEPT_SEND_HEAD], &hn);
    const uint8_t *rest = have_l ? kept_bytes(a->edge_frames, l->kept[ld][RDMA_KEPT_SEND_REST], &rn) : NULL;
    if (!head || !rest || e->send_head_msn[d] != l->send_rest_msn[ld] || (!roce && hn != l->send_rest_mo[ld]) ||
        hn + rn > RDMA_KEEP_MAX)
        return;
    uint8_t *msg = g_malloc(hn + rn);
    memcpy(msg, head, hn);
    memcpy(msg + hn, rest, rn);
    struct smbd_data data;
    uint64_t left = e->smbd_left[d];
    if (smbd_parse_data(msg, hn + rn, &data) == SMBD_OK &&
        (!left || (uint64_t)data.remaining_length + data.data_length == left)) {
        send_joined(a, late, roce ? 0 : l->send_rest_drops[ld], d);
        send_data(a, e, d, &data, fragmented, over);
    }
    g_free(msg);
}

void mstate_frame_roce_tail(struct analysis *a, const struct conn_summary *cur, const struct roce_tail *t, bool fwd)
{
    if (!t->rest[0] && !t->rest[1] && !t->head[0] && !t->head[1])
        return;
    struct frame_recs *fr = recs_of(a);
    struct frame_rec *er = take(a, cur), e, l;
    if (er) {
        e = *er;
    } else {
        memset(&e, 0, sizeof e);
        e.addr[0] = cur->client;
        e.addr[1] = cur->server;
        e.port[0] = cur->client_port;
        e.port[1] = cur->server_port;
        e.first_ts = cur->first_ts;
        e.end_seq[0] = e.end_seq[1] = e.start_seq[0] = e.start_seq[1] = UNKNOWN;
    }
    e.used = 0;
    e.roce = 1;
    memset(&l, 0, sizeof l);
    struct frame_rec j = e;
    uint64_t fragmented = 0;
    struct over_fix over = { 0, 0, 0 };
    for (int d = 0; d < 2; d++) { /* d: from cur's client */
        int side = fwd ? d : !d;
        if (t->rest[side] && !t->rest_done[side]) { /* the middle of cur's SEND: its start grows */
            size_t hn, rn = t->rest_len[side];
            const uint8_t *h = kept_bytes(fr, e.kept[d][RDMA_KEPT_SEND_HEAD], &hn);
            j.kept[d][RDMA_KEPT_SEND_HEAD] = 0; /* else lost in the run over both parts too */
            j.send_head_msn[d] = 0;
            if (h && e.send_head_msn[d] == t->rest_psn[side] && hn + rn <= RDMA_KEEP_MAX) {
                uint8_t *m = g_malloc(hn + rn);
                memcpy(m, h, hn);
                memcpy(m + hn, t->rest[side], rn);
                j.kept[d][RDMA_KEPT_SEND_HEAD] = keep(fr, m, hn + rn);
                j.send_head_msn[d] = j.kept[d][RDMA_KEPT_SEND_HEAD] ? t->rest_next[side] : 0;
                g_free(m);
            }
            continue;
        }
        if (t->rest[side]) {
            l.kept[d][RDMA_KEPT_SEND_REST] = keep(fr, t->rest[side], t->rest_len[side]);
            l.send_rest_msn[d] = t->rest_psn[side];
        }
        if (t->head[side]) {
            l.kept[d][RDMA_KEPT_SEND_HEAD] = keep(fr, t->head[side], t->head_len[side]);
            l.send_head_msn[d] = t->head_psn[side];
        }
        if (!t->rest[side] && !t->head[side])
            continue;
        struct frame_rec ep = e; /* where cur's SMBD reassembly stands after the SEND the tail ended */
        join_send(a, cur, &j, &ep, &l, d, d, true, &fragmented, &over);
        j.smbd_over[d] = ep.smbd_over[d];
        j.smbd_left[d] = ep.smbd_left[d];
        j.smbd_flags[d] = ep.smbd_flags[d];
        j.kept[d][RDMA_KEPT_HEAD] = ep.kept[d][RDMA_KEPT_HEAD];
        j.smbd_msg_len[d] = ep.smbd_msg_len[d];
        j.smbd_unkept[d] = ep.smbd_unkept[d];
    }
    if (fragmented)
        more_fragmented(a, cur, fragmented);
    if (over.dropped)
        over_fixed(a, cur, &over);
    put(a, &j);
}

/* Whether msg (n octets), a RoCEv2 pair's first whole SEND, made it an SMB
 * Direct connection as an SMBD data transfer message with data
 * (rdma_roce.c maybe_smb(): a keep-alive decides nothing and is not
 * counted; anything else a connection seen from its middle does not begin
 * with, not taken). */
static bool roce_first_data(const uint8_t *msg, size_t n)
{
    struct smbd_data data;
    return smbd_parse_data(msg, n, &data) == SMBD_OK && data.data_length;
}

void mstate_frame_roce_lead(struct analysis *a, const struct conn_summary *cur, const struct conn_summary *to,
                            const struct roce_tail *t, bool fwd)
{
    if (!t->head[0] && !t->head[1] && !t->rest[0] && !t->rest[1]) {
        mstate_frame_rename_to(a, cur, to);
        return;
    }
    struct frame_recs *fr = recs_of(a);
    struct frame_rec *lr = take(a, cur), l, j;
    memset(&l, 0, sizeof l);
    if (lr) {
        l = *lr;
    } else {
        l.addr[0] = cur->client;
        l.addr[1] = cur->server;
        l.end_seq[0] = l.end_seq[1] = l.start_seq[0] = l.start_seq[1] = UNKNOWN;
    }
    bool swap = lr && memcmp(&l.addr[0], &cur->client, sizeof l.addr[0]) != 0; /* l's [0]: cur's server */
    j = l;
    j.used = 0;
    j.roce = 1;
    j.addr[0] = to->client;
    j.addr[1] = to->server;
    j.port[0] = to->client_port;
    j.port[1] = to->server_port;
    j.first_ts = to->first_ts;
    uint64_t fragmented = 0, anomalies = 0;
    struct over_fix over = { 0, 0, 0 };
    for (int d = 0; d < 2; d++) { /* d: from cur's client */
        int side = fwd ? d : !d, ld = swap ? !d : d;
        if (swap) { /* j's direction d is l's ld */
            for (int k = 0; k < RDMA_KEPT_N; k++)
                j.kept[d][k] = l.kept[ld][k];
            j.smbd_left[d] = l.smbd_left[ld];
            j.smbd_lead[d] = l.smbd_lead[ld];
            j.smbd_flags[d] = l.smbd_flags[ld];
            j.smbd_over[d] = l.smbd_over[ld];
            j.send_head_msn[d] = l.send_head_msn[ld];
            j.send_rest_msn[d] = l.send_rest_msn[ld];
        }
        size_t rn;
        const uint8_t *rest = kept_bytes(fr, l.kept[ld][RDMA_KEPT_SEND_REST], &rn);
        if (t->rest[side] && !t->rest_done[side] && rest && t->rest_next[side] == l.send_rest_msn[ld] &&
            t->rest_len[side] + rn <= RDMA_KEEP_MAX) {
            /* the tail held only the middle of a SEND cur's first packets
             * ended: cur's rest of it begins earlier (a tail before it may
             * hold the start) */
            uint8_t *m = g_malloc(t->rest_len[side] + rn);
            memcpy(m, t->rest[side], t->rest_len[side]);
            memcpy(m + t->rest_len[side], rest, rn);
            j.kept[d][RDMA_KEPT_SEND_REST] = keep(fr, m, t->rest_len[side] + rn);
            j.send_rest_msn[d] = j.kept[d][RDMA_KEPT_SEND_REST] ? t->rest_psn[side] : 0;
            g_free(m);
            continue;
        }
        if (t->rest[side] && t->rest_done[side]) {
            /* a SEND's rest that opened the tail's direction: the whole's
             * first packets now (a tail before it may hold the start) */
            uint32_t k = keep(fr, t->rest[side], t->rest_len[side]);
            j.kept[d][RDMA_KEPT_SEND_REST] = k;
            j.send_rest_msn[d] = k ? t->rest_psn[side] : 0;
        }
        if (!t->head[side] || !rest || t->head_len[side] + rn > RDMA_KEEP_MAX)
            continue;
        uint8_t *m = g_malloc(t->head_len[side] + rn);
        memcpy(m, t->head[side], t->head_len[side]);
        memcpy(m + t->head_len[side], rest, rn);
        bool data = roce_first_data(m, t->head_len[side] + rn);
        g_free(m);
        if (!data)
            continue;
        /* the tail's SEND in progress as the start of an early part's
         * (nothing before it in progress), cur's rest of it as a late part's */
        struct frame_rec e;
        memset(&e, 0, sizeof e);
        e.roce = 1;
        e.kept[d][RDMA_KEPT_SEND_HEAD] = keep(fr, t->head[side], t->head_len[side]);
        e.send_head_msn[d] = t->head_psn[side];
        struct frame_rec ep = e;
        uint32_t opened = j.kept[d][RDMA_KEPT_SEND_REST], opened_psn = j.send_rest_msn[d];
        join_send(a, cur, &j, &ep, &l, d, ld, true, &fragmented, &over);
        j.kept[d][RDMA_KEPT_SEND_REST] = opened; /* (join_send() leaves e's: none) */
        j.send_rest_msn[d] = opened_psn;
        if (ep.smbd_left[d]) /* the SEND began an SMB2 message in pieces: cur's first data message continued it */
            join_smbd(a, &j, &ep, &l, d, ld, true, &fragmented, &anomalies, &over);
    }
    if (anomalies)
        fewer_anomalies(a, cur, anomalies);
    if (over.dropped)
        over_fixed(a, cur, &over);
    if (fragmented)
        more_fragmented(a, cur, fragmented);
    put(a, &j);
}

/* The late part's gaps: n fewer, of bytes in all (its record, entry or
 * --jobs' session): the early part held those bytes. */
static void fewer_gaps(struct analysis *a, struct conn_summary *late, uint64_t n, uint64_t bytes)
{
    JsonObject *e = mstate_detail_entry(a, late);
    JsonNode *sn = e ? json_object_get_member(e, "stream") : NULL;
    JsonObject *st = jget_node_obj(sn);
    if (st && json_object_has_member(st, "gaps") && json_object_has_member(st, "gap_bytes")) {
        gint64 g = json_object_get_int_member(st, "gaps"), gb = json_object_get_int_member(st, "gap_bytes");
        json_object_set_int_member(st, "gaps", g > (gint64)n ? g - (gint64)n : 0);
        json_object_set_int_member(st, "gap_bytes", gb > (gint64)bytes ? gb - (gint64)bytes : 0);
    } else {
        struct smb_conn *s = e ? NULL : mstate_detail_conn(a, late);
        if (s) {
            s->gaps -= n <= s->gaps ? n : s->gaps;
            s->gap_bytes -= bytes <= s->gap_bytes ? bytes : s->gap_bytes;
        }
    }
    late->gaps -= n <= late->gaps ? n : late->gaps;
    late->gap_bytes -= bytes <= late->gap_bytes ? bytes : late->gap_bytes;
}

void mstate_join_frame(struct analysis *a, const struct conn_summary *early, struct conn_summary *late)
{
    if (early->carrier != CONN_CARRIER_TCP && early->carrier != CONN_CARRIER_UDP) /* TCP, RoCEv2 */
        return;
    struct frame_rec *er = take(a, early), *lr = take(a, late);
    if (!er && !lr)
        return;
    struct frame_rec e, l;
    memset(&e, 0, sizeof e);
    memset(&l, 0, sizeof l);
    if (er)
        e = *er;
    if (lr)
        l = *lr;
    /* the late record's [0] is its own client: the early one's or the other side */
    /* (RoCEv2: a part names its ports by the side it saw first, mstate_edges.c) */
    bool swap = lr && (early->carrier == CONN_CARRIER_UDP
                           ? memcmp(&l.addr[0], &early->client, sizeof l.addr[0]) != 0
                           : !mstate_same_end(&l.addr[0], l.port[0], &early->client, early->client_port));
    struct frame_rec j = e;
    j.used = 0;
    j.addr[0] = early->client;
    j.addr[1] = early->server;
    j.port[0] = early->client_port;
    j.port[1] = early->server_port;
    j.first_ts = early->first_ts;
    j.roce = early->carrier == CONN_CARRIER_UDP;
    uint64_t aligned = 0, fragmented = 0, gaps = 0, gap_bytes = 0;
    uint64_t ends[2], lefts[2], leads[2], lbytes[2]; /* for a TCP segment in IP fragments the cut divided */
    struct over_fix over = { 0, 0, 0 };
    for (int d = 0; d < 2; d++) {
        int ld = swap ? 1 - d : d;
        /* the late part began this direction at the peer's ACK, its data later: the bytes between are the
         * early part's when its stream reached where the late part's data began */
        uint64_t es = er ? e.end_seq[d] : UNKNOWN, lg = lr ? l.lead_gap[ld] : 0, ls = lr ? l.start_seq[ld] : UNKNOWN;
        uint32_t covered = (uint32_t)es - (uint32_t)ls;
        if (es != UNKNOWN && ls != UNKNOWN && lg && lg <= INT32_MAX && covered <= INT32_MAX && covered >= lg) {
            gaps += l.lead_gaps[ld];
            gap_bytes += lg;
        }
        j.end_seq[d] = lr ? l.end_seq[ld] : UNKNOWN;
        struct frame_rec ep = e; /* the early part's SMBD reassembly after a Send the cut divided */
        join_send(a, late, &j, &ep, &l, d, ld, lr != NULL, &fragmented, &over);
        join_smbd(a, &j, &ep, &l, d, ld, lr != NULL, &fragmented, &aligned, &over);
        uint64_t left = er ? e.left[d] : 0, lead = lr ? l.lead[ld] : 0;
        ends[d] = es;
        lefts[d] = left;
        leads[d] = lead;
        lbytes[d] = lr ? l.bytes[ld] : 0;
        if (left && left != UNKNOWN && lead == left)
            aligned++; /* the late part skipped the early part's message rest: no resync in the whole */
        j.lead[d] = er ? e.lead[d] : 0;
        j.bytes[d] = e.bytes[d] + l.bytes[ld];
        if (lr && l.lead[ld] == UNKNOWN) /* the late part found no header: all of it the message's rest */
            j.left[d] = left != UNKNOWN && left >= l.bytes[ld] ? left - l.bytes[ld] : UNKNOWN;
        else
            j.left[d] = lr ? l.left[ld] : 0;
    }
    if (gaps)
        fewer_gaps(a, late, gaps, gap_bytes);
    if (aligned)
        fewer_anomalies(a, late, aligned);
    if (over.dropped)
        over_fixed(a, late, &over);
    if (fragmented)
        more_fragmented(a, late, fragmented);
    mstate_frags_tcp_edge(a, early, late, ends, lefts, leads, lbytes); /* mstate_frags_tcp.h */
    put(a, &j);
}
