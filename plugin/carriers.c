/* carriers.c - SMB over QUIC and SMB Direct over RoCEv2: the UDP carriers.
 *
 * As for TCP, the plugin reads what Wireshark dissected and leaves every
 * judgement to libsmbscope: Wireshark decrypts QUIC Initials by itself (and
 * the rest with its tls.keylog_file preference) and dissects InfiniBand BTH
 * and SMB Direct; this file only decides which connection a packet belongs
 * to, by the command's rules:
 *   - QUIC: Wireshark's QUIC connection (quic.connection.number, which
 *     follows the connection IDs across a migration); it is SMB when a
 *     ClientHello offers ALPN "smb" (SMB_QUIC_ALPN), its sender is the client;
 *   - RoCEv2: a queue-pair pair between two addresses; a direction (source,
 *     destination, destination QP) joins the unpaired direction the other
 *     way its PSNs are for, else the first they say nothing against: the
 *     command's decision from the command's code (roce_join_pick(),
 *     dissector/rdma/roce_pair.c, on the BTH as roce_parse() decodes it);
 *     the client sent the SMBD negotiate request.  Both are look-ups, keyed
 *     with Wireshark's seeded hash (the capture chooses addresses and QPs:
 *     it must not choose collisions), as the command's table is.
 * The SMB2 fields inside either then go through the same code as TCP's
 * (smbscope_observe_smb()). */
#include "smbscope.h"

#include <string.h>

#include "fields.h"
#include "observe.h"

enum { TLS_CLIENT_HELLO = 1, SNI_CAP = 256 };

/* ---- QUIC ------------------------------------------------------------------ */

static bool offers_smb(proto_tree *tree)
{
    GPtrArray *a = wf_all(tree, WF_TLS_ALPN);
    for (guint i = 0; a && i < a->len; i++)
        if (strcmp(wf_string((const field_info *)g_ptr_array_index(a, i)), SMB_QUIC_ALPN) == 0)
            return true;
    return false;
}

static bool has_client_hello(proto_tree *tree)
{
    GPtrArray *a = wf_all(tree, WF_TLS_HS_TYPE);
    for (guint i = 0; a && i < a->len; i++)
        if (wf_uint((const field_info *)g_ptr_array_index(a, i)) == TLS_CLIENT_HELLO)
            return true;
    return false;
}

/* The ClientHello (Wireshark reassembles one that spans several Initials
 * and shows it in the packet that completes it). */
static void client_hello(struct smbscope_conv *c, packet_info *pinfo, proto_tree *tree, guint32 *events)
{
    if (c->obs.handshake_seen)
        return; /* a second ClientHello (after a Retry) repeats the first's offer */
    smbscope_client_is_src(c, pinfo, DIR_TCP_SYN);
    c->obs.handshake_seen = true;
    GPtrArray *sni = wf_all(tree, WF_TLS_SNI);
    if (sni)
        c->sni = smbscope_strdup_bounded(wf_string((const field_info *)g_ptr_array_index(sni, 0)), SNI_CAP);
    if (offers_smb(tree)) {
        c->obs.carrier = CARRIER_QUIC;
        if (transport_is_alt_port(TRANSPORT_QUIC, c->server_port))
            *events |= FEV_ALT_PORT;
    }
}

/* File scope, from the init routine to the cleanup routine (NULL between). */
static wmem_map_t *quic_conns; /* quic.connection.number + 1 -> struct smbscope_conv */

/* The connection a QUIC packet belongs to: Wireshark's connection number,
 * which follows the connection IDs, so a client that migrated or was
 * NAT-rebound to a new address or port stays in its connection (the
 * command matches by connection ID too, analyzer/model/quic_table.c).  A
 * packet Wireshark left out of every connection (a 0-RTT packet after a
 * Retry) goes to the UDP conversation's. */
static struct smbscope_conv *quic_conv(packet_info *pinfo, proto_tree *tree)
{
    guint64 number;
    guint32 key = quic_conns && wf_first_uint(tree, WF_QUIC_CONN_NUMBER, &number) && number < G_MAXUINT32
                      ? (guint32)number + 1 : 0;
    struct smbscope_conv *c = key ? (struct smbscope_conv *)wmem_map_lookup(quic_conns, GUINT_TO_POINTER(key)) : NULL;
    if (c)
        return c;
    conversation_t *conv = find_or_create_conversation(pinfo);
    c = smbscope_conv_get(conv, pinfo->num, false);
    if (key && c->quic_conn && c->quic_conn != key) {
        /* a later QUIC connection on the same 4-tuple: its own state, and
         * the 4-tuple's from now on */
        c = wmem_new0(wmem_file_scope(), struct smbscope_conv);
        c->first_frame = pinfo->num;
        clear_address(&c->client);
        clear_address(&c->udp_server);
        clear_address(&c->end_a);
        clear_address(&c->end_b);
        conversation_add_proto_data(conv, smbscope_proto_id(), c);
        smbscope_capture_track(c);
    }
    if (key && !c->quic_conn) {
        c->quic_conn = key;
        wmem_map_insert(quic_conns, GUINT_TO_POINTER(key), c);
    }
    return c;
}

struct smbscope_conv *smbscope_observe_quic(packet_info *pinfo, proto_tree *tree, guint32 *events)
{
    if (!wf_count(tree, WF_QUIC))
        return NULL;
    struct smbscope_conv *c = quic_conv(pinfo, tree);
    c->quic = true;
    smbscope_count_end(c, pinfo);
    guint64 version;
    /* The first long header's version (0 is Version Negotiation). */
    if (!c->quic_version && wf_first_uint(tree, WF_QUIC_VERSION, &version) && version)
        c->quic_version = (guint32)version;
    if (has_client_hello(tree))
        client_hello(c, pinfo, tree, events);
    /* QUIC that is not SMB: nothing to show, nothing kept per frame.  Before
     * the ClientHello is read, a long-header packet (an Initial carrying the
     * first part of a ClientHello that spans several) is kept: shown as SMB
     * on a second pass if the hello offers "smb", as the command counts it. */
    if (c->obs.carrier != CARRIER_QUIC)
        return !c->obs.handshake_seen && wf_count(tree, WF_QUIC_VERSION) ? c : NULL;
    smbscope_observe_smb(c, pinfo, tree, events);
    return c;
}

enum smbscope_quic_role smbscope_quic_role(packet_info *pinfo, proto_tree *tree)
{
    const struct smbscope_conv *c = quic_conv(pinfo, tree);
    if (!c->obs.handshake_seen)
        return QUIC_ROLE_UNREAD;
    return c->obs.carrier == CARRIER_QUIC ? QUIC_ROLE_SMB : QUIC_ROLE_NOT_SMB;
}

/* ---- RoCEv2 ------------------------------------------------------------------ */

/* One direction: sender, receiver and (halves) the destination QP it
 * names; (unpaired) qp 0. */
struct half_key {
    address src, dst;
    guint32 qp;
};

/* File scope, from the init routine to the cleanup routine (NULL between). */
static wmem_map_t *halves;     /* struct half_key -> struct smbscope_conv */
static wmem_map_t *unpaired;   /* struct half_key (qp 0) of a conversation's only direction ->
                                  wmem_list_t of such conversations, oldest first */

enum { HASH_ADDR_MAX = 32 };   /* octets of an address hashed (IPv6: 16); equality compares all */

static size_t hash_put(guint8 *buf, size_t n, const address *a)
{
    size_t len = a->len > 0 ? (size_t)a->len : 0;
    if (len > HASH_ADDR_MAX)
        len = HASH_ADDR_MAX;
    buf[n++] = (guint8)a->type;
    buf[n++] = (guint8)len;
    if (len)
        memcpy(buf + n, a->data, len);
    return n + len;
}

static guint half_hash(gconstpointer p)
{
    const struct half_key *k = (const struct half_key *)p;
    guint8 buf[2 * (2 + HASH_ADDR_MAX) + sizeof k->qp];
    size_t n = hash_put(buf, hash_put(buf, 0, &k->src), &k->dst);
    memcpy(buf + n, &k->qp, sizeof k->qp);
    return wmem_strong_hash(buf, n + sizeof k->qp);
}

static gboolean half_equal(gconstpointer a, gconstpointer b)
{
    const struct half_key *x = (const struct half_key *)a;
    const struct half_key *y = (const struct half_key *)b;
    return x->qp == y->qp && addresses_equal(&x->src, &y->src) && addresses_equal(&x->dst, &y->dst);
}

void smbscope_carriers_init(void)
{
    halves = wmem_map_new(wmem_file_scope(), half_hash, half_equal);
    unpaired = wmem_map_new(wmem_file_scope(), half_hash, half_equal);
    quic_conns = wmem_map_new(wmem_file_scope(), g_direct_hash, g_direct_equal);
}

void smbscope_carriers_cleanup(void)
{
    halves = NULL; /* file-scope memory, freed right after */
    unpaired = NULL;
    quic_conns = NULL;
}

/* What the pairing reads of this frame (roce_pair.h): its BTH decoded as
 * the command decodes it, roce_parse() over the UDP payload Wireshark
 * handed InfiniBand (the innermost).  False when that does not decode: the
 * command counts such a packet not decoded and pairs nothing with it. */
static bool pair_pkt(proto_tree *tree, struct roce_pair_pkt *p)
{
    GPtrArray *ib = wf_all(tree, WF_INFINIBAND);
    const field_info *fi = ib ? (const field_info *)g_ptr_array_index(ib, ib->len - 1) : NULL;
    if (!fi || !fi->ds_tvb || fi->length <= 0 || !tvb_bytes_exist(fi->ds_tvb, fi->start, fi->length))
        return false;
    struct roce_bth b;
    if (!roce_parse(tvb_get_ptr(fi->ds_tvb, fi->start, fi->length), (size_t)fi->length, &b))
        return false;
    roce_pair_pkt_from_bth(p, &b);
    return true;
}

/* The unpaired conversation whose only direction runs dst -> src (its
 * end_a -> end_b) that this frame joins, taken out of its queue: the
 * command's decision, roce_join_pick() over the oldest ROCE_JOIN_SCAN_MAX
 * and as many newest (the first the PSNs are for, else the first they say
 * nothing against).
 * NULL: none, the frame starts a conversation.  Made once, on the first
 * pass; the frames keep its answer (postdissector.c). */
static struct smbscope_conv *pair_for(packet_info *pinfo, const struct roce_pair_pkt *p)
{
    struct half_key probe = { pinfo->dst, pinfo->src, 0 };
    wmem_list_t *q = (wmem_list_t *)wmem_map_lookup(unpaired, &probe);
    wmem_list_frame_t *frames[ROCE_JOIN_CANDIDATES_MAX];
    const struct roce_psns *psns[ROCE_JOIN_CANDIDATES_MAX];
    size_t len = q ? wmem_list_count(q) : 0, n = 0;
    size_t old = len < ROCE_JOIN_SCAN_MAX ? len : ROCE_JOIN_SCAN_MAX;
    size_t young = len - old < ROCE_JOIN_SCAN_MAX ? len - old : ROCE_JOIN_SCAN_MAX;
    for (wmem_list_frame_t *f = q ? wmem_list_head(q) : NULL; n < old; f = wmem_list_frame_next(f))
        frames[n++] = f;
    wmem_list_frame_t *f = q ? wmem_list_tail(q) : NULL;
    for (size_t i = 1; i < young; i++)
        f = wmem_list_frame_prev(f);
    for (; n < old + young; f = wmem_list_frame_next(f))
        frames[n++] = f;
    for (size_t i = 0; i < n; i++)
        psns[i] = &((const struct smbscope_conv *)wmem_list_frame_data(frames[i]))->roce_psn0;
    int i = roce_join_pick(psns, n, p);
    if (i < 0)
        return NULL;
    struct smbscope_conv *c = (struct smbscope_conv *)wmem_list_frame_data(frames[i]);
    wmem_list_remove_frame(q, frames[i]);
    return c;
}

/* A new conversation, whose only direction runs src -> dst so far, queued
 * for the reverse direction's first packet. */
static void unpaired_add(packet_info *pinfo, struct smbscope_conv *c)
{
    struct half_key probe = { pinfo->src, pinfo->dst, 0 };
    wmem_list_t *q = (wmem_list_t *)wmem_map_lookup(unpaired, &probe);
    if (!q) {
        struct half_key *k = wmem_new0(wmem_file_scope(), struct half_key);
        copy_address_wmem(wmem_file_scope(), &k->src, &pinfo->src);
        copy_address_wmem(wmem_file_scope(), &k->dst, &pinfo->dst);
        q = wmem_list_new(wmem_file_scope());
        wmem_map_insert(unpaired, k, q);
    }
    wmem_list_append(q, c);
}

/* The conversation of this frame's direction (sender, receiver,
 * destination QP); a direction not seen before joins or starts one as the
 * command's table does (analyzer/model/rdma_roce.c find()): only a frame
 * whose BTH decodes and whose ICRC is not bad (p non-NULL) may, and while a
 * conversation has one direction its frames' PSNs are noted for the
 * decision.  NULL: a frame of a new direction that may not. */
static struct smbscope_conv *roce_conv(packet_info *pinfo, guint32 qp, const struct roce_pair_pkt *p)
{
    struct half_key probe = { pinfo->src, pinfo->dst, qp };
    struct smbscope_conv *c = (struct smbscope_conv *)wmem_map_lookup(halves, &probe);
    if (c || !p) {
        if (c && p && c->roce_halves == 1)
            roce_psns_note(&c->roce_psn0, p->opcode, p->psn);
        return c;
    }
    c = pair_for(pinfo, p);
    if (!c) {
        c = wmem_new0(wmem_file_scope(), struct smbscope_conv);
        c->first_frame = pinfo->num;
        clear_address(&c->client);
        clear_address(&c->udp_server);
        clear_address(&c->end_a);
        clear_address(&c->end_b);
        smbscope_capture_track(c);
        c->obs.carrier = CARRIER_RDMA_ROCE;
        unpaired_add(pinfo, c);
    }
    c->roce_halves++;
    struct half_key *k = wmem_new0(wmem_file_scope(), struct half_key);
    copy_address_wmem(wmem_file_scope(), &k->src, &pinfo->src);
    copy_address_wmem(wmem_file_scope(), &k->dst, &pinfo->dst);
    k->qp = qp;
    wmem_map_insert(halves, k, c);
    if (c->roce_halves == 1) /* the frame that starts it: the first of its PSNs */
        roce_psns_note(&c->roce_psn0, p->opcode, p->psn);
    return c;
}

struct smbscope_conv *smbscope_observe_roce(packet_info *pinfo, proto_tree *tree, guint32 *events)
{
    guint64 qp;
    if (!halves || pinfo->destport != ROCEV2_UDP_PORT || !wf_count(tree, WF_INFINIBAND)
        || !wf_first_uint(tree, WF_IB_DESTQP, &qp))
        return NULL;
    struct roce_pair_pkt p;
    bool pairs = pair_pkt(tree, &p) && !smbscope_roce_icrc_bad(tree);
    struct smbscope_conv *c = roce_conv(pinfo, (guint32)qp, pairs ? &p : NULL);
    if (!c)
        return NULL;
    smbscope_count_end(c, pinfo);
    /* A negotiate (request or response; MinVersion in both) makes the pair
     * an SMB connection before any SMB2 message, as in the command. */
    if (wf_count(tree, WF_SMBD_VERSION_MIN))
        c->obs.smbd_negotiates++;
    /* The SMBD negotiate request (versions offered, none negotiated yet)
     * names the client; until then the first sender is. */
    if (wf_count(tree, WF_SMBD_VERSION_MIN) && !wf_count(tree, WF_SMBD_VERSION_NEGOTIATED)) {
        smbscope_client_is_src(c, pinfo, DIR_TCP_SYN);
        c->obs.handshake_seen = true;
    } else if (c->dir == DIR_NONE) {
        smbscope_client_is_src(c, pinfo, DIR_PORT);
    }
    smbscope_observe_smb(c, pinfo, tree, events);
    return c;
}
