/* fields.c - reading other dissectors' fields from the tree.
 *
 * The postdissector never parses packet bytes itself: it reads what
 * Wireshark's own dissectors put in the tree.  A postdissector only sees
 * fields it asked for (set_postdissector_wanted_hfids()), so this table is
 * also the list that is registered. */
#include "fields.h"

#include <epan/ftypes/ftypes.h>
#include <epan/proto.h>

#include <string.h>

static const char *const wf_names[WF_COUNT] = {
    [WF_TCP_FLAGS] = "tcp.flags",
    [WF_TCP_LEN] = "tcp.len",
    [WF_TCP_COMPLETENESS] = "tcp.completeness",
    [WF_TCP_LOST_SEGMENT] = "tcp.analysis.lost_segment",
    [WF_TCP_SRCPORT] = "tcp.srcport",
    [WF_TCP_DSTPORT] = "tcp.dstport",
    [WF_UDP_SRCPORT] = "udp.srcport",
    [WF_UDP_DSTPORT] = "udp.dstport",
    [WF_IP_SRC] = "ip.src",
    [WF_IP_DST] = "ip.dst",
    [WF_IPV6_SRC] = "ipv6.src",
    [WF_IPV6_DST] = "ipv6.dst",
    [WF_ICMP_TYPE] = "icmp.type",
    [WF_ICMP_CODE] = "icmp.code",
    [WF_ICMPV6_TYPE] = "icmpv6.type",
    [WF_ICMPV6_CODE] = "icmpv6.code",
    [WF_NBSS_TYPE] = "nbss.type",
    [WF_NBSS_LENGTH] = "nbss.length",
    [WF_NBNS_RESPONSE] = "nbns.flags.response",
    [WF_NBNS_OPCODE] = "nbns.flags.opcode",
    [WF_NBNS_ID] = "nbns.id",
    [WF_NBDGM_TYPE] = "nbdgm.type",
    [WF_SMB_CMD] = "smb.cmd",
    [WF_SMB_RESPONSE] = "smb.flags.response",
    [WF_SMB_NT_STATUS] = "smb.nt_status",
    [WF_SMB_SEC_SIG] = "smb.flags2.sec_sig",
    [WF_SMB_DIALECT_NAME] = "smb.dialect.name",
    [WF_SMB_DIALECT_INDEX] = "smb.dialect.index",
    [WF_SMB_SM_SIG_REQUIRED] = "smb.sm.sig_required",
    [WF_SMB_SM_SIGNATURES] = "smb.sm.signatures",
    [WF_SMB_GUEST] = "smb.setup.action.guest",
    [WF_SMB_SIGNATURE] = "smb.signature",
    [WF_SMB_SECURITY_BLOB] = "smb.security_blob",
    [WF_SMB_ANSI_PWLEN] = "smb.ansi_pwlen",
    [WF_SMB_UNICODE_PWLEN] = "smb.unicode_pwlen",
    [WF_SMB_ACCOUNT] = "smb.account",
    [WF_SMB2_SECURITY_BLOB] = "smb2.security_blob",
    [WF_SMB2_CMD] = "smb2.cmd",
    [WF_SMB2_RESPONSE] = "smb2.flags.response",
    [WF_SMB2_SIGNED] = "smb2.flags.signature",
    [WF_SMB2_NT_STATUS] = "smb2.nt_status",
    [WF_SMB2_DIALECT] = "smb2.dialect",
    [WF_SMB2_SIGN_REQUIRED] = "smb2.sec_mode.sign_required",
    [WF_SMB2_SIGN_ENABLED] = "smb2.sec_mode.sign_enabled",
    [WF_SMB2_SES_GUEST] = "smb2.ses_flags.guest",
    [WF_SMB2_SES_NULL] = "smb2.ses_flags.null",
    [WF_SMB2_SES_ENCRYPT] = "smb2.ses_flags.encrypt",
    [WF_SMB2_SHARE_ENCRYPT] = "smb2.share_flags.encrypt_data",
    [WF_SMB2_TRANSFORM] = "smb2.header.transform.msg_size",
    [WF_SMB2_COMP_TRANSFORM] = "smb2.header.comp_transform.original_size",
    [WF_NTLMSSP_TYPE] = "ntlmssp.messagetype",
    [WF_KRB_MSG_TYPE] = "kerberos.msg_type",
    /* SMB over QUIC: Wireshark decrypts the Initials by itself (keys from
     * the DCID) and the rest with tls.keylog_file, then hands ALPN "smb"
     * to NBSS, so the SMB fields above follow. */
    [WF_QUIC] = "quic",
    [WF_QUIC_VERSION] = "quic.version",
    /* Wireshark's QUIC connection, followed by its connection IDs across
     * a migration or NAT rebinding (a new UDP 4-tuple) */
    [WF_QUIC_CONN_NUMBER] = "quic.connection.number",
    [WF_TLS_HS_TYPE] = "tls.handshake.type",
    [WF_TLS_ALPN] = "tls.handshake.extensions_alpn_str",
    [WF_TLS_SNI] = "tls.handshake.extensions_server_name",
    /* SMB Direct: smb_direct hands its messages to SMB2. */
    [WF_IWARP_MPA] = "iwarp_mpa",
    [WF_INFINIBAND] = "infiniband",
    [WF_IB_DESTQP] = "infiniband.bth.destqp",
    [WF_SMBD_VERSION_MIN] = "smb_direct.version.min",
    [WF_SMBD_VERSION_NEGOTIATED] = "smb_direct.version.negotiated",
    /* Decode losses (loss.c): where the IP header and the UDP datagram
     * are, QUIC packets whose header protection came off (a packet number)
     * and those that did not decrypt, the iWARP FPDU's length and CRC. */
    [WF_IP] = "ip",
    [WF_IPV6] = "ipv6",
    [WF_IP_LEN] = "ip.len",
    [WF_IPV6_PLEN] = "ipv6.plen",
    [WF_UDP_LENGTH] = "udp.length",
    [WF_QUIC_HEADER_FORM] = "quic.header_form",
    [WF_QUIC_PACKET_NUMBER] = "quic.packet_number",
    [WF_QUIC_DECRYPTION_FAILED] = "quic.decryption_failed",
    [WF_IWARP_ULPDU_LEN] = "iwarp_mpa.ulpdulength",
    [WF_IWARP_CRC_CHECK] = "iwarp_mpa.crc_check",
    [WF_IWARP_MARKER_PTR] = "iwarp_mpa.marker_fpduptr",
    /* Headers that could not be read (loss.c): the exception items a cut
     * or broken frame gets, and the expert items of headers that do not
     * parse, with the header fields they hang on (an expert item is only
     * kept under an item that is). */
    [WF_WS_SHORT] = "_ws.short",
    [WF_WS_MALFORMED] = "_ws.malformed",
    [WF_IP_VERSION] = "ip.version",
    [WF_IP_HDR_LEN] = "ip.hdr_len",
    [WF_IPV6_VERSION] = "ipv6.version",
    [WF_TCP_HDR_LEN] = "tcp.hdr_len",
    [WF_EXP_IP_VERSION] = "ip.bogus_ip_version",
    [WF_EXP_IP_HDR_LEN] = "ip.bogus_header_length",
    [WF_EXP_IP_LEN] = "ip.bogus_ip_length",
    [WF_EXP_IPV6_VERSION] = "ipv6.bogus_ipv6_version",
    [WF_EXP_TCP_HDR_LEN] = "tcp.bogus_header_length",
    /* What Wireshark cannot open without keys (loss.c): a protected 802.11
     * data frame (decrypted with the user's keys, it has its LLC header), ESP whose NULL-encryption heuristic found no next header
     * (esp.protocol is added only when it did). */
    [WF_WLAN_FC_TYPE] = "wlan.fc.type",
    [WF_WLAN_FC_SUBTYPE] = "wlan.fc.subtype",
    [WF_WLAN_FC_PROTECTED] = "wlan.fc.protected",
    [WF_LLC] = "llc",
    [WF_ESP] = "esp",
    [WF_ESP_PROTOCOL] = "esp.protocol",
    /* an 802.11 MSDU's last fragment (More Fragments clear, a fragment
     * number) that did not reassemble: no wlan.fragment items list the
     * frames of its MSDU (loss.c) */
    [WF_WLAN_FC_MORE_FRAGS] = "wlan.fc.frag",
    [WF_WLAN_FRAG_NUMBER] = "wlan.frag",
    [WF_WLAN_FRAGMENT] = "wlan.fragment",
};

/* Several dissector fields may share one name (smb.cmd is registered more
 * than once): a name stands for all of them. */
#define WF_MAX_SAME_NAME 8

static int wf_ids[WF_COUNT][WF_MAX_SAME_NAME];
static guint wf_nids[WF_COUNT];

void smbscope_fields_init(dissector_handle_t handle)
{
    GArray *wanted = g_array_new(FALSE, FALSE, (guint)sizeof(int));
    for (int i = 0; i < WF_COUNT; i++) {
        wf_nids[i] = 0;
        int id = proto_registrar_get_id_byname(wf_names[i]);
        if (id <= 0)
            continue;
        header_field_info *h = proto_registrar_get_nth((guint)id);
        while (h && h->same_name_prev_id != -1)
            h = proto_registrar_get_nth((guint)h->same_name_prev_id);
        for (; h && wf_nids[i] < WF_MAX_SAME_NAME; h = h->same_name_next) {
            wf_ids[i][wf_nids[i]++] = h->id;
            g_array_append_val(wanted, h->id);
        }
    }
    /* Wireshark takes ownership of the array. */
    set_postdissector_wanted_hfids(handle, wanted);
}

/* Dissection order: protocol layer first, then position. */
static gint by_layer_then_offset(gconstpointer a, gconstpointer b)
{
    const field_info *x = *(const field_info *const *)a;
    const field_info *y = *(const field_info *const *)b;
    if (x->total_layer_num != y->total_layer_num)
        return x->total_layer_num < y->total_layer_num ? -1 : 1;
    return x->start < y->start ? -1 : (x->start > y->start);
}

/* Merged arrays for same-name fields, built at most once per packet. */
static GPtrArray *merged[WF_COUNT];
static bool merged_valid[WF_COUNT];

void wf_begin_packet(void)
{
    memset(merged_valid, 0, sizeof merged_valid);
}

void wf_cleanup(void)
{
    for (int i = 0; i < WF_COUNT; i++) {
        if (merged[i])
            g_ptr_array_free(merged[i], TRUE);
        merged[i] = NULL;
        merged_valid[i] = false;
    }
}

GPtrArray *wf_all(proto_tree *tree, enum wf f)
{
    if (!tree || !wf_nids[f])
        return NULL;
    if (wf_nids[f] == 1) {
        GPtrArray *a = proto_get_finfo_ptr_array(tree, wf_ids[f][0]);
        return (a && a->len) ? a : NULL;
    }
    if (!merged_valid[f]) {
        if (!merged[f])
            merged[f] = g_ptr_array_new();
        g_ptr_array_set_size(merged[f], 0);
        for (guint k = 0; k < wf_nids[f]; k++) {
            GPtrArray *a = proto_get_finfo_ptr_array(tree, wf_ids[f][k]);
            for (guint i = 0; a && i < a->len; i++)
                g_ptr_array_add(merged[f], g_ptr_array_index(a, i));
        }
        g_ptr_array_sort(merged[f], by_layer_then_offset);
        merged_valid[f] = true;
    }
    return merged[f]->len ? merged[f] : NULL;
}

guint wf_count(proto_tree *tree, enum wf f)
{
    GPtrArray *a = wf_all(tree, f);
    return a ? a->len : 0;
}

guint64 wf_uint(const field_info *fi)
{
    /* fvalue_get_*() take a non-const pointer but do not write. */
    fvalue_t *v = (fvalue_t *)(uintptr_t)&fi->value;
    switch (fi->hfinfo->type) {
    case FT_BOOLEAN:
    case FT_UINT40:
    case FT_UINT48:
    case FT_UINT56:
    case FT_UINT64:
        return fvalue_get_uinteger64(v);
    case FT_INT8:
    case FT_INT16:
    case FT_INT24:
    case FT_INT32:
        return (guint64)(gint64)fvalue_get_sinteger(v);
    case FT_UINT8:
    case FT_UINT16:
    case FT_UINT24:
    case FT_UINT32:
        return fvalue_get_uinteger(v);
    default:
        return 0;
    }
}

bool wf_first_uint(proto_tree *tree, enum wf f, guint64 *out)
{
    GPtrArray *a = wf_all(tree, f);
    if (!a)
        return false;
    *out = wf_uint((const field_info *)g_ptr_array_index(a, 0));
    return true;
}

bool wf_any_true(proto_tree *tree, enum wf f)
{
    GPtrArray *a = wf_all(tree, f);
    for (guint i = 0; a && i < a->len; i++)
        if (wf_uint((const field_info *)g_ptr_array_index(a, i)))
            return true;
    return false;
}

const char *wf_string(const field_info *fi)
{
    if (fi->hfinfo->type != FT_STRING && fi->hfinfo->type != FT_STRINGZ)
        return "";
    const char *s = fvalue_get_string((fvalue_t *)(uintptr_t)&fi->value);
    return s ? s : "";
}

field_info *wf_at(proto_tree *tree, enum wf f, const field_info *anchor, int delta)
{
    GPtrArray *a = wf_all(tree, f);
    for (guint i = 0; a && i < a->len; i++) {
        field_info *fi = (field_info *)g_ptr_array_index(a, i);
        if (fi->ds_tvb == anchor->ds_tvb && fi->start == anchor->start + delta)
            return fi;
    }
    return NULL;
}
