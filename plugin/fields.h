/* fields.h - the Wireshark fields the postdissector reads, and small readers
 * over them.  Every field listed here is registered as "wanted" so that
 * Wireshark fills it in even when nobody displays it. */
#ifndef SMBSCOPE_FIELDS_H
#define SMBSCOPE_FIELDS_H

#include <wireshark.h>
#include <epan/packet.h>

/* One id per field we read; -1 when this Wireshark does not know it. */
enum wf {
    WF_TCP_FLAGS, WF_TCP_LEN, WF_TCP_COMPLETENESS, WF_TCP_LOST_SEGMENT, WF_TCP_SRCPORT, WF_TCP_DSTPORT,
    WF_UDP_SRCPORT, WF_UDP_DSTPORT,
    WF_IP_SRC, WF_IP_DST, WF_IPV6_SRC, WF_IPV6_DST,
    WF_ICMP_TYPE, WF_ICMP_CODE, WF_ICMPV6_TYPE, WF_ICMPV6_CODE,
    WF_NBSS_TYPE, WF_NBSS_LENGTH,
    WF_NBNS_RESPONSE, WF_NBNS_OPCODE, WF_NBNS_ID, WF_NBDGM_TYPE,
    WF_SMB_CMD, WF_SMB_RESPONSE, WF_SMB_NT_STATUS, WF_SMB_SEC_SIG, WF_SMB_DIALECT_NAME,
    WF_SMB_DIALECT_INDEX, WF_SMB_SM_SIG_REQUIRED, WF_SMB_SM_SIGNATURES, WF_SMB_GUEST, WF_SMB_SIGNATURE,
    WF_SMB_SECURITY_BLOB, WF_SMB_ANSI_PWLEN, WF_SMB_UNICODE_PWLEN, WF_SMB_ACCOUNT, WF_SMB2_SECURITY_BLOB,
    WF_SMB2_CMD, WF_SMB2_RESPONSE, WF_SMB2_SIGNED, WF_SMB2_NT_STATUS, WF_SMB2_DIALECT,
    WF_SMB2_SIGN_REQUIRED, WF_SMB2_SIGN_ENABLED, WF_SMB2_SES_GUEST, WF_SMB2_SES_NULL, WF_SMB2_SES_ENCRYPT,
    WF_SMB2_SHARE_ENCRYPT, WF_SMB2_TRANSFORM, WF_SMB2_COMP_TRANSFORM,
    WF_NTLMSSP_TYPE, WF_KRB_MSG_TYPE,
    WF_QUIC, WF_QUIC_VERSION, WF_QUIC_CONN_NUMBER, WF_TLS_HS_TYPE, WF_TLS_ALPN, WF_TLS_SNI,
    WF_IWARP_MPA, WF_INFINIBAND, WF_IB_DESTQP, WF_SMBD_VERSION_MIN, WF_SMBD_VERSION_NEGOTIATED,
    /* decode losses (loss.c) */
    WF_IP, WF_IPV6, WF_IP_LEN, WF_IPV6_PLEN, WF_UDP_LENGTH, WF_QUIC_HEADER_FORM, WF_QUIC_PACKET_NUMBER,
    WF_QUIC_DECRYPTION_FAILED, WF_IWARP_ULPDU_LEN, WF_IWARP_CRC_CHECK, WF_IWARP_MARKER_PTR,
    WF_WS_SHORT, WF_WS_MALFORMED, WF_IP_VERSION, WF_IP_HDR_LEN, WF_IPV6_VERSION, WF_TCP_HDR_LEN,
    WF_EXP_IP_VERSION, WF_EXP_IP_HDR_LEN, WF_EXP_IP_LEN, WF_EXP_IPV6_VERSION, WF_EXP_TCP_HDR_LEN,
    WF_WLAN_FC_TYPE, WF_WLAN_FC_SUBTYPE, WF_WLAN_FC_PROTECTED, WF_LLC, WF_ESP, WF_ESP_PROTOCOL,
    WF_WLAN_FC_MORE_FRAGS, WF_WLAN_FRAG_NUMBER, WF_WLAN_FRAGMENT,
    WF_COUNT
};

/* Look the fields up by name and register them as wanted by `handle`. */
void smbscope_fields_init(dissector_handle_t handle);

/* Call before reading the fields of a new packet. */
void wf_begin_packet(void);
/* Drop the per-packet scratch arrays (when a file is closed). */
void wf_cleanup(void);
/* All occurrences of a field in this packet's tree, in dissection order;
 * NULL when none. */
GPtrArray *wf_all(proto_tree *tree, enum wf f);
guint wf_count(proto_tree *tree, enum wf f);
/* The field's value as an unsigned number (booleans: 0 or the bit). */
guint64 wf_uint(const field_info *fi);
/* First / last occurrence's value; false when absent. */
bool wf_first_uint(proto_tree *tree, enum wf f, guint64 *out);
/* True when any occurrence has a non-zero value. */
bool wf_any_true(proto_tree *tree, enum wf f);
/* The string value of an FT_STRING field ("" otherwise). */
const char *wf_string(const field_info *fi);
/* The occurrence of `f` in the same data source as `anchor` that starts
 * `delta` bytes after it (negative: before); NULL when none.  Pairs the
 * fields of one SMB header when a frame carries several. */
field_info *wf_at(proto_tree *tree, enum wf f, const field_info *anchor, int delta);

#endif
