/* loss.c - the whole input: packets that could have been SMB but could not be
 * read (the command's "decode-loss" unknown), and the capture's verdict.
 *
 * What a loss does to the verdict, its kinds and its words are
 * dissector/policy/decode_loss.h's, shared with the command.  Which packets
 * are lost is decided here, on the first pass, with the command's own checks
 * where Wireshark does not make them:
 *   - iWARP: an FPDU whose CRC32c (crc32c() over the FPDU as Wireshark framed
 *     it, markers included) is not the one sent: Wireshark 4.0 says so only
 *     in a label, not in a field;
 *   - RoCEv2: a packet whose ICRC is bad (roce_icrc_check(), as the command):
 *     Wireshark 4.0 does not check it;
 *   - QUIC: a datagram of at least 1200 octets opening with an Initial, in a
 *     connection whose ClientHello was not read, that does not decrypt with
 *     the keys of its own DCID (the command's quic_session_datagram() on the
 *     same octets: such a datagram could have opened an SMB connection); and
 *     in a connection that is SMB or not yet known not to be, a packet
 *     Wireshark could not decrypt although its header protection came off
 *     (it has a packet number: the keys were there, the tag failed).  A
 *     packet whose secrets are not in the key log is no loss: without keys
 *     1-RTT is unreadable by design (the no-keys rule says so per connection).
 *   - headers: a frame whose dissection stopped, cut (Wireshark's "packet
 *     size limited during capture") or broken ("malformed packet"), inside
 *     a link, IP, TCP or UDP header (the layer it stopped in), or whose IP
 *     or TCP header Wireshark flags as bogus (version, header length, a
 *     total length below the header: the command's "malformed" checks in
 *     analyzer/net/packet_ip.c): truncated or malformed, as the command.
 *     A frame cut in its payload is no loss (the command's snaplen_cut).
 *   - encrypted without keys: a protected 802.11 data frame that carries
 *     data (encrypted-link), and ESP that Wireshark's NULL-encryption
 *     heuristic did not open (encrypted-esp; truncated when the capture cut
 *     it before any trailer the heuristic reads), as the command's
 *     analyzer/net/packet_link.c and packet_esp.c.  The plugin turns that
 *     heuristic on (esp.enable_null_encryption_decode_heuristic, as the
 *     command opens NULL ESP); a preference set to FALSE by the user wins,
 *     and every ESP packet is then a loss.
   - 802.11 fragments: the last fragment of an MSDU that did not reassemble
 *     (fragment-incomplete, as the command's wlan_defrag.c; an A-MSDU's
 *     subframes and a reassembled MSDU are packets as in the command).
 * IP fragments that never reassembled, and 802.11 MSDUs whose last fragment
 * was not captured, are counted by the command only (README: Limits).
 *
 * Packets the capture itself says it lost (a packet block's drop count)
 * make the verdict inconclusive as the command's capture-drops unknown. */
#include "smbscope.h"

#include <string.h>

#include <epan/prefs.h>
#include <wiretap/wtap.h>

#include "crc.h"
#include "fields.h"
#include "quic_session.h"
#include "quic_wire.h"
#include "roce.h"

/* File scope, reset by the init routine. */
static struct decode_losses totals;
static guint64 drops;              /* packets lost before the capture file, as its packet blocks say */
static wmem_list_t *flows;         /* every struct smbscope_conv of the file */
static bool verdict_cached;
static enum smbscope_verdict cached_verdict;

void smbscope_capture_init(void)
{
    memset(&totals, 0, sizeof totals);
    drops = 0;
    flows = wmem_list_new(wmem_file_scope());
    verdict_cached = false;
}

void smbscope_capture_cleanup(void)
{
    flows = NULL;
    verdict_cached = false;
}

void smbscope_capture_track(struct smbscope_conv *c)
{
    if (flows)
        wmem_list_append(flows, c);
}

const struct decode_losses *smbscope_capture_losses(void)
{
    return &totals;
}

/* ---- iWARP ------------------------------------------------------------------ */

/* A marker right before the FPDU's length field (the FPDU stream's first
 * octet, or any 512-octet boundary) belongs to the FPDU and its CRC. */
static gint fpdu_start(proto_tree *tree, const field_info *length)
{
    GPtrArray *m = wf_all(tree, WF_IWARP_MARKER_PTR);
    for (guint i = 0; m && i < m->len; i++) {
        const field_info *ptr = (const field_info *)g_ptr_array_index(m, i);
        if (ptr->ds_tvb == length->ds_tvb && ptr->start + 2 == length->start)
            return length->start - 4; /* reserved (2) + FPDU pointer (2) */
    }
    return length->start;
}

static guint16 iwarp_bad_crcs(proto_tree *tree)
{
    GPtrArray *len = wf_all(tree, WF_IWARP_ULPDU_LEN), *crc = wf_all(tree, WF_IWARP_CRC_CHECK);
    guint16 bad = 0;
    for (guint i = 0; len && crc && i < len->len && i < crc->len; i++) {
        const field_info *l = (const field_info *)g_ptr_array_index(len, i);
        const field_info *k = (const field_info *)g_ptr_array_index(crc, i);
        gint start = fpdu_start(tree, l);
        if (l->ds_tvb != k->ds_tvb || k->start < start || !tvb_bytes_exist(k->ds_tvb, k->start, 4))
            continue;
        const guint8 *fpdu = tvb_get_ptr(l->ds_tvb, start, k->start - start);
        /* sent little-endian, as dissector/rdma/mpa.c reads it */
        bad += crc32c(fpdu, (size_t)(k->start - start)) != tvb_get_letohl(k->ds_tvb, k->start);
    }
    return bad;
}

/* ---- RoCEv2 ----------------------------------------------------------------- */

/* The innermost IP header in the frame and the octets captured of its
 * datagram (up to its length), as the command hands roce_icrc_check(). */
static const guint8 *ip_datagram(tvbuff_t *tvb, proto_tree *tree, size_t *len)
{
    GPtrArray *v4 = wf_all(tree, WF_IP), *v6 = wf_all(tree, WF_IPV6);
    const field_info *ip = NULL;
    guint64 total = 0;
    if (v4 && (!v6 || ((const field_info *)g_ptr_array_index(v4, v4->len - 1))->start >
                          ((const field_info *)g_ptr_array_index(v6, v6->len - 1))->start)) {
        ip = (const field_info *)g_ptr_array_index(v4, v4->len - 1);
        GPtrArray *l = wf_all(tree, WF_IP_LEN);
        total = l ? wf_uint((const field_info *)g_ptr_array_index(l, l->len - 1)) : 0;
    } else if (v6) {
        ip = (const field_info *)g_ptr_array_index(v6, v6->len - 1);
        GPtrArray *l = wf_all(tree, WF_IPV6_PLEN);
        total = l ? 40 + wf_uint((const field_info *)g_ptr_array_index(l, l->len - 1)) : 0;
    }
    if (!ip || ip->ds_tvb != tvb || !total)
        return NULL;
    gint have = tvb_captured_length_remaining(tvb, ip->start);
    if (have <= 0)
        return NULL;
    *len = (size_t)have < total ? (size_t)have : (size_t)total;
    return tvb_get_ptr(tvb, ip->start, (gint)*len);
}

static guint16 roce_bad_icrc(tvbuff_t *tvb, proto_tree *tree)
{
    size_t len;
    const guint8 *ip = wf_count(tree, WF_INFINIBAND) ? ip_datagram(tvb, tree, &len) : NULL;
    return ip && roce_icrc_check(ip, len) == ROCE_ICRC_BAD;
}

bool smbscope_roce_icrc_bad(proto_tree *tree)
{
    GPtrArray *ib = wf_all(tree, WF_INFINIBAND); /* its data source: the frame's, as the IP header's */
    return ib && roce_bad_icrc(((const field_info *)g_ptr_array_index(ib, 0))->ds_tvb, tree);
}

/* ---- QUIC -------------------------------------------------------------------- */

#define QUIC_SCRATCH 65535u

/* Does this datagram's first packet, an Initial, decrypt with the keys of
 * its own DCID?  The command's test for a datagram that could start a
 * connection (analyzer/model/quic_table.c), on the same code. */
static bool initial_opens(const guint8 *p, size_t n)
{
    static guint8 *scratch;
    if (!scratch)
        scratch = (guint8 *)wmem_alloc(wmem_epan_scope(), QUIC_SCRATCH);
    struct quic_session s;
    quic_session_init(&s, NULL);
    quic_session_datagram(&s, QUIC_FROM_CLIENT, p, n, scratch, QUIC_SCRATCH);
    bool ok = s.decrypted[QUIC_FROM_CLIENT][QUIC_SPACE_INITIAL] > 0;
    quic_session_clear(&s);
    return ok;
}

/* The UDP datagram carrying the frame's first QUIC packet. */
static const guint8 *quic_datagram(proto_tree *tree, size_t *len)
{
    GPtrArray *q = wf_all(tree, WF_QUIC);
    guint64 udp_len;
    if (!q || !wf_first_uint(tree, WF_UDP_LENGTH, &udp_len) || udp_len <= 8)
        return NULL;
    const field_info *fi = (const field_info *)g_ptr_array_index(q, 0);
    if (!tvb_bytes_exist(fi->ds_tvb, fi->start, (gint)(udp_len - 8)))
        return NULL;
    *len = (size_t)(udp_len - 8);
    return tvb_get_ptr(fi->ds_tvb, fi->start, (gint)*len);
}

static guint16 quic_undecryptable(packet_info *pinfo, proto_tree *tree)
{
    if (!wf_count(tree, WF_QUIC))
        return 0;
    enum smbscope_quic_role role = smbscope_quic_role(pinfo, tree);
    size_t n;
    const guint8 *p = quic_datagram(tree, &n);
    if (role == QUIC_ROLE_UNREAD && p && n >= QUIC_MIN_INITIAL_DATAGRAM && quic_looks_long(p, n)) {
        struct quic_header h;
        if (quic_parse_header(p, n, 0, &h) && h.type == QUIC_PKT_INITIAL)
            return !initial_opens(p, n);
    }
    /* A long header of a version the command does not know (a reserved
     * one that asks for Version Negotiation) is not QUIC to it, whatever
     * Wireshark tried. */
    if (role == QUIC_ROLE_NOT_SMB || (p && (p[0] & 0x80) && !quic_looks_long(p, n)))
        return 0;
    /* Failures of packets whose header protection came off (a packet
     * number): the others lacked their secrets. */
    guint fails = wf_count(tree, WF_QUIC_DECRYPTION_FAILED);
    guint packets = wf_count(tree, WF_QUIC_HEADER_FORM), numbered = wf_count(tree, WF_QUIC_PACKET_NUMBER);
    guint unkeyed = packets > numbered ? packets - numbered : 0;
    return (guint16)(fails > unkeyed ? fails - unkeyed : 0);
}

/* ---- link, IP, TCP and UDP headers ---------------------------------------------- */

/* The layers whose headers the command reads down to the ports: a frame
 * whose dissection stopped in one of them could have been SMB. */
static const char *const header_layers[] = { "eth", "ethertype", "vlan", "sll", "null", "ip", "ipv6", "tcp", "udp",
                                             "wlan", "radiotap", "ppi", "ppp", "chdlc", "nflog", "llc" };

/* The expert items of headers the command calls malformed.  Not
 * ip.bogus_ip_length: Wireshark also gives it to a total length beyond the
 * frame, which the command clamps, like tshark (ip_len_below_header() has
 * the case the command refuses); not udp.length.bad: the command believes
 * the IP payload there. */
static const enum wf bogus_headers[] = { WF_EXP_IP_VERSION, WF_EXP_IP_HDR_LEN, WF_EXP_IPV6_VERSION,
                                         WF_EXP_TCP_HDR_LEN };

/* An IPv4 total length below its header length (0 is what segmentation
 * offload leaves: the command takes the captured length then). */
static bool ip_len_below_header(proto_tree *tree)
{
    guint64 total, hdr;
    return wf_count(tree, WF_EXP_IP_LEN) && wf_first_uint(tree, WF_IP_LEN, &total) &&
           wf_first_uint(tree, WF_IP_HDR_LEN, &hdr) && total != 0 && total < hdr;
}

/* The last layer dissected before this postdissector: where an exception
 * stopped the frame. */
static bool stopped_in_header(packet_info *pinfo)
{
    const char *name = NULL;
    for (wmem_list_frame_t *f = wmem_list_head(pinfo->layers); f; f = wmem_list_frame_next(f)) {
        const char *n = proto_get_protocol_filter_name(GPOINTER_TO_INT(wmem_list_frame_data(f)));
        if (n && strcmp(n, "smbscope") != 0)
            name = n;
    }
    for (size_t i = 0; name && i < G_N_ELEMENTS(header_layers); i++)
        if (strcmp(name, header_layers[i]) == 0)
            return true;
    return false;
}

static enum decode_loss_kind header_loss(packet_info *pinfo, proto_tree *tree)
{
    for (size_t i = 0; i < G_N_ELEMENTS(bogus_headers); i++)
        if (wf_count(tree, bogus_headers[i]))
            return LOSS_MALFORMED;
    if (ip_len_below_header(tree))
        return LOSS_MALFORMED;
    bool cut = wf_count(tree, WF_WS_SHORT) > 0, broken = wf_count(tree, WF_WS_MALFORMED) > 0;
    if ((cut || broken) && stopped_in_header(pinfo))
        return cut ? LOSS_TRUNCATED : LOSS_MALFORMED;
    return LOSS_KIND_COUNT;
}

/* ---- encrypted without keys ------------------------------------------------------ */

#define WLAN_TYPE_DATA 2
#define WLAN_SUBTYPE_NODATA 0x4 /* Null, QoS Null ...: a data frame without data */
#define ESP_MAX_ICV 32          /* the largest ICV the heuristic tries (packet_esp.c) */

void smbscope_capture_handoff(void)
{
    char pref[] = "esp.enable_null_encryption_decode_heuristic:TRUE";
    char *err = NULL;
    prefs_set_pref(pref, &err);
    g_free(err);
}

/* A protected 802.11 data frame Wireshark did not decrypt (with the user's
 * keys it would have: its LLC header follows; the command has no keys, and
 * is then inconclusive where the plugin sees the traffic). */
static bool wlan_protected_data(proto_tree *tree)
{
    guint64 type, subtype;
    return wf_any_true(tree, WF_WLAN_FC_PROTECTED) && !wf_count(tree, WF_LLC) &&
           wf_first_uint(tree, WF_WLAN_FC_TYPE, &type) &&
           type == WLAN_TYPE_DATA && wf_first_uint(tree, WF_WLAN_FC_SUBTYPE, &subtype) &&
           !(subtype & WLAN_SUBTYPE_NODATA);
}

/* The last fragment of an 802.11 MSDU (More Fragments clear, fragment
 * number > 0) that did not reassemble (a fragment before it was not
 * captured: Wireshark lists the frames of a reassembled MSDU in
 * wlan.fragment items): the command's wlan_defrag.c loses that MSDU too
 * (fragment-incomplete).  One whose last fragment was never captured is
 * counted by the command only, as IP fragments are. */
static bool wlan_msdu_incomplete(proto_tree *tree)
{
    guint64 frag;
    return !wf_any_true(tree, WF_WLAN_FC_MORE_FRAGS) && wf_first_uint(tree, WF_WLAN_FRAG_NUMBER, &frag) && frag > 0 &&
           !wf_count(tree, WF_WLAN_FRAGMENT) && !wf_any_true(tree, WF_WLAN_FC_PROTECTED);
}

/* ESP not opened: encrypted, or cut before the trailer the heuristic reads. */
static enum decode_loss_kind esp_sealed(proto_tree *tree)
{
    GPtrArray *esp = wf_all(tree, WF_ESP);
    if (!esp || wf_count(tree, WF_ESP_PROTOCOL))
        return LOSS_KIND_COUNT;
    const field_info *fi = (const field_info *)g_ptr_array_index(esp, esp->len - 1);
    gint sent = tvb_reported_length_remaining(fi->ds_tvb, fi->start);
    gint have = tvb_captured_length_remaining(fi->ds_tvb, fi->start);
    return have < sent - ESP_MAX_ICV ? LOSS_TRUNCATED : LOSS_ENCRYPTED_ESP;
}

/* ---- per frame and whole input --------------------------------------------------- */

bool smbscope_capture_frame_losses(packet_info *pinfo, tvbuff_t *tvb, proto_tree *tree,
                                   guint16 lost[LOSS_KIND_COUNT])
{
    memset(lost, 0, sizeof(guint16) * LOSS_KIND_COUNT);
    enum decode_loss_kind header = header_loss(pinfo, tree);
    enum decode_loss_kind esp = LOSS_KIND_COUNT;
    if (header != LOSS_KIND_COUNT)
        lost[header] = 1; /* the command reads nothing past a header it cannot */
    else if (wlan_protected_data(tree))
        lost[LOSS_ENCRYPTED_LINK] = 1;
    else if (wlan_msdu_incomplete(tree))
        lost[LOSS_FRAG_INCOMPLETE] = 1;
    else if ((esp = esp_sealed(tree)) != LOSS_KIND_COUNT)
        lost[esp] = 1;
    else if (pinfo->ptype == PT_TCP)
        lost[LOSS_IWARP_CRC] = iwarp_bad_crcs(tree);
    else if (pinfo->ptype == PT_UDP) {
        lost[LOSS_ROCE_ICRC] = roce_bad_icrc(tvb, tree);
        if (!lost[LOSS_ROCE_ICRC])
            lost[LOSS_QUIC_UNDECRYPTABLE] = quic_undecryptable(pinfo, tree);
    }
    bool any = false;
    for (int k = 0; k < LOSS_KIND_COUNT; k++) {
        totals.n[k] += lost[k];
        any |= lost[k] != 0;
    }
    verdict_cached = false;
    return any;
}

/* ---- capture drops --------------------------------------------------------------- */

/* A pcapng Enhanced Packet Block's epb_dropcount, or an obsolete Packet
 * Block's drops count (wiretap gives both as OPT_PKT_DROPCOUNT; tshark's
 * frame.drop_count): the packets lost since the one before, the command's
 * capture_drops (analyzer/input/pcapng_native.c) and its capture-drops
 * unknown.  The Interface Statistics Blocks the command also reads do not
 * reach a dissector in Wireshark 4.0. */
void smbscope_capture_frame_drops(packet_info *pinfo)
{
    guint64 n;
    if (pinfo->rec && pinfo->rec->rec_type == REC_TYPE_PACKET && pinfo->rec->block &&
        wtap_block_get_uint64_option_value(pinfo->rec->block, OPT_PKT_DROPCOUNT, &n) == WTAP_OPTTYPE_SUCCESS) {
        drops = n > G_MAXUINT64 - drops ? G_MAXUINT64 : drops + n; /* saturating, as the command */
        verdict_cached = false;
    }
}

guint64 smbscope_capture_drops(void)
{
    return drops;
}

enum smbscope_verdict smbscope_capture_verdict(void)
{
    if (verdict_cached)
        return cached_verdict;
    bool fail = false, unsure = decode_loss_total(&totals) > 0 || drops > 0;
    for (wmem_list_frame_t *f = flows ? wmem_list_head(flows) : NULL; f; f = wmem_list_frame_next(f)) {
        guint32 bits;
        enum smbscope_verdict v = smbscope_verdict((const struct smbscope_conv *)wmem_list_frame_data(f), &bits);
        fail |= v == SMBSCOPE_VERDICT_FAIL;
        unsure |= v == SMBSCOPE_VERDICT_INCONCLUSIVE;
    }
    /* the command's precedence: fail > inconclusive > pass */
    cached_verdict = fail ? SMBSCOPE_VERDICT_FAIL : unsure ? SMBSCOPE_VERDICT_INCONCLUSIVE : SMBSCOPE_VERDICT_PASS;
    verdict_cached = true;
    return cached_verdict;
}
