/* observe.c - first pass: fold what Wireshark dissected in one packet into
 * the conversation's state, and note the packet's own events.
 *
 * Runs once per frame (never when the frame is re-dissected), in capture
 * order, so the state a packet sees is the state "so far". */
#include "observe.h"

#include <string.h>

#include "auth.h"
#include "dialect.h"
#include "fields.h"

enum { PORT_NBNS = 137, PORT_NBDGM = 138, PORT_NBSS = 139, PORT_SMB = 445 };

enum {
    TCPF_SYN = 0x02, TCPF_RST = 0x04, TCPF_ACK = 0x10,
    TCP_COMPLETE_SYN = 0x01, TCP_COMPLETE_SYNACK = 0x02,
};

/* SMB1 header: Protocol(4) Command(1) Status(4) Flags(1) Flags2(2) PIDHigh(2)
 * SecuritySignature(8);
 * SMB2 header: ... Status at 8, Command at 12, Flags at 16. */
enum {
    SMB1_CMD_TO_STATUS = 1, SMB1_CMD_TO_FLAGS = 5, SMB1_CMD_TO_FLAGS2 = 6, SMB1_CMD_TO_SIGNATURE = 10,
    SMB2_CMD_TO_STATUS = -4, SMB2_CMD_TO_FLAGS = 4,
    SMB1_NEGOTIATE = 0x72, SMB1_SESSION_SETUP = 0x73,
    SMB2_NEGOTIATE = 0, SMB2_SESSION_SETUP = 1,
};

/* The NetBIOS service either port of a TCP or UDP flow stands for. */
static enum nb_service service_of(bool tcp, guint32 a, guint32 b)
{
    static const struct { bool tcp; bool udp; guint16 port; enum nb_service svc; } ports[] = {
        { false, true, PORT_NBNS, NB_NBNS },
        { false, true, PORT_NBDGM, NB_NBDGM },
        { true, true, PORT_NBSS, NB_NBSS },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(ports); i++)
        if ((tcp ? ports[i].tcp : ports[i].udp) && (a == ports[i].port || b == ports[i].port))
            return ports[i].svc;
    return NB_NONE;
}

static bool well_known(guint32 port)
{
    return port == PORT_NBNS || port == PORT_NBDGM || port == PORT_NBSS || port == PORT_SMB;
}

/* Record which side is the client, unless stronger evidence already did. */
static void set_client(struct smbscope_conv *c, const address *cli, guint32 cport, guint32 sport,
                       enum dir_strength strength)
{
    if (strength <= c->dir)
        return;
    free_address_wmem(wmem_file_scope(), &c->client);
    copy_address_wmem(wmem_file_scope(), &c->client, cli);
    c->client_port = (guint16)cport;
    c->server_port = (guint16)sport;
    c->dir = strength;
}

void smbscope_client_is_src(struct smbscope_conv *c, packet_info *pinfo, enum dir_strength s)
{
    set_client(c, &pinfo->src, pinfo->srcport, pinfo->destport, s);
}

static void client_is_dst(struct smbscope_conv *c, packet_info *pinfo, enum dir_strength s)
{
    set_client(c, &pinfo->dst, pinfo->destport, pinfo->srcport, s);
}

static bool src_is_server(const struct smbscope_conv *c, packet_info *pinfo)
{
    if (c->dir == DIR_NONE)
        return pinfo->srcport == PORT_NBSS;
    return !(addresses_equal(&pinfo->src, &c->client) && pinfo->srcport == c->client_port);
}

/* Packets per end: "did the server ever answer" is a NetBIOS state. */
void smbscope_count_end(struct smbscope_conv *c, packet_info *pinfo)
{
    if (c->end_a.type == AT_NONE) {
        copy_address_wmem(wmem_file_scope(), &c->end_a, &pinfo->src);
        copy_address_wmem(wmem_file_scope(), &c->end_b, &pinfo->dst);
        c->end_a_port = (guint16)pinfo->srcport;
    }
    if (addresses_equal(&pinfo->src, &c->end_a) && pinfo->srcport == c->end_a_port)
        c->end_a_pkts++;
    else
        c->end_b_pkts++;
}

static void port_guess(struct smbscope_conv *c, packet_info *pinfo)
{
    if (well_known(pinfo->destport) || (!well_known(pinfo->srcport) && pinfo->destport <= pinfo->srcport))
        smbscope_client_is_src(c, pinfo, DIR_PORT);
    else
        client_is_dst(c, pinfo, DIR_PORT);
}

/* ---- TCP ---------------------------------------------------------------- */

static void observe_tcp_flags(struct smbscope_conv *c, packet_info *pinfo, proto_tree *tree, guint32 *events)
{
    guint64 v;
    if (!wf_first_uint(tree, WF_TCP_FLAGS, &v))
        return;
    guint32 flags = (guint32)v;
    if ((flags & TCPF_SYN) && !(flags & TCPF_ACK)) {
        smbscope_client_is_src(c, pinfo, DIR_TCP_SYN);
        c->obs.handshake_seen = true;
    } else if ((flags & TCPF_SYN) && (flags & TCPF_ACK)) {
        client_is_dst(c, pinfo, DIR_TCP_SYN);
        c->obs.handshake_seen = true;
        c->nb_synack = true;
    }
    if ((flags & TCPF_RST) && src_is_server(c, pinfo)) {
        if (!c->nb_rst_from_server && !c->nb_synack && smbscope_service(c) != NB_NONE)
            *events |= FEV_REFUSED;
        c->nb_rst_from_server = true;
    }
}

static void observe_nbss(struct smbscope_conv *c, packet_info *pinfo, proto_tree *tree, guint32 *events)
{
    GPtrArray *types = wf_all(tree, WF_NBSS_TYPE);
    GPtrArray *lens = wf_all(tree, WF_NBSS_LENGTH);
    for (guint i = 0; types && i < types->len; i++) {
        guint8 t = (guint8)wf_uint((const field_info *)g_ptr_array_index(types, i));
        /* Each NBSS header carries one type and one length, in that order. */
        guint32 len = (lens && i < lens->len) ? (guint32)wf_uint((const field_info *)g_ptr_array_index(lens, i)) : 0;
        transport_obs_count_nbss(&c->obs, t, len);
        switch (t) {
        case NBSS_SESSION_REQUEST:
            smbscope_client_is_src(c, pinfo, DIR_APP);
            break;
        case NBSS_POSITIVE_RESPONSE:
        case NBSS_RETARGET_RESPONSE:
            client_is_dst(c, pinfo, DIR_APP);
            break;
        case NBSS_NEGATIVE_RESPONSE:
            client_is_dst(c, pinfo, DIR_APP);
            *events |= FEV_NEGATIVE;
            break;
        default:
            break;
        }
        if (t >= NBSS_SESSION_REQUEST && t <= NBSS_RETARGET_RESPONSE && c->server_port != PORT_NBSS)
            *events |= FEV_NBSS_OFFPORT;
    }
}

#define STATUS_MORE_PROCESSING_REQUIRED 0xC0000016u

/* A successful SESSION_SETUP response establishes a session (MS-SMB2
 * 3.3.5.5; a failure establishes nothing and the logon's blobs stay pending,
 * as in the command's session table). */
static void session_established(struct smbscope_conv *c, proto_tree *tree, bool smb2, bool null_session, bool guest,
                                bool this_pdu_signed, bool this_pdu_encrypted, guint32 *events)
{
    if (!c->session_up && !c->signing_required && !this_pdu_signed && !this_pdu_encrypted && !c->encrypted)
        *events |= FEV_UNPROTECTED;
    c->session_up = true;
    smbscope_auth_settle(c, tree, smb2, null_session, guest);
}

/* SMB1 signing as the command counts it: the SECURITY_SIGNATURE flag with
 * a non-zero signature (a zero one only announces intent). */
static bool smb1_signed(proto_tree *tree, const field_info *cmd)
{
    const field_info *flag = wf_at(tree, WF_SMB_SEC_SIG, cmd, SMB1_CMD_TO_FLAGS2);
    const field_info *sig = wf_at(tree, WF_SMB_SIGNATURE, cmd, SMB1_CMD_TO_SIGNATURE);
    if (!flag || !wf_uint(flag) || !sig || !sig->ds_tvb || sig->length <= 0
        || tvb_captured_length_remaining(sig->ds_tvb, sig->start) < sig->length)
        return false;
    for (gint k = 0; k < sig->length; k++)
        if (tvb_get_guint8(sig->ds_tvb, sig->start + k))
            return true;
    return false;
}

static guint observe_smb1(struct smbscope_conv *c, packet_info *pinfo, proto_tree *tree, guint32 *events)
{
    GPtrArray *cmds = wf_all(tree, WF_SMB_CMD);
    guint headers = 0;
    for (guint i = 0; cmds && i < cmds->len; i++) {
        const field_info *cmd = (const field_info *)g_ptr_array_index(cmds, i);
        /* AndX chains repeat smb.cmd; only the header's has Flags 5 bytes on. */
        const field_info *resp = wf_at(tree, WF_SMB_RESPONSE, cmd, SMB1_CMD_TO_FLAGS);
        if (!resp)
            continue;
        headers++;
        bool is_response = wf_uint(resp) != 0;
        if (is_response)
            client_is_dst(c, pinfo, DIR_APP);
        else
            smbscope_client_is_src(c, pinfo, DIR_APP);
        guint8 command = (guint8)wf_uint(cmd);
        const field_info *st = wf_at(tree, WF_SMB_NT_STATUS, cmd, SMB1_CMD_TO_STATUS);
        guint32 status = st ? (guint32)wf_uint(st) : 0;

        if (command == SMB1_NEGOTIATE && !is_response) {
            GPtrArray *names = wf_all(tree, WF_SMB_DIALECT_NAME);
            c->n_smb1_offer = 0;
            for (guint k = 0; names && k < names->len; k++) {
                const char *name = wf_string((const field_info *)g_ptr_array_index(names, k));
                smbscope_offer(c, name);
                if (c->n_smb1_offer < SMBSCOPE_MAX_OFFERED)
                    c->smb1_offer[c->n_smb1_offer++] = smbscope_strdup_bounded(name, SMBSCOPE_MAX_NAME);
            }
        } else if (command == SMB1_NEGOTIATE && is_response) {
            guint64 idx;
            if (wf_first_uint(tree, WF_SMB_DIALECT_INDEX, &idx) && idx != 0xFFFF) {
                if (idx < c->n_smb1_offer)
                    smbscope_strcpy_bounded(c->smb1_dialect, c->smb1_offer[idx], sizeof c->smb1_dialect);
                else /* offer not captured: say which entry */
                    snprintf(c->smb1_dialect, sizeof c->smb1_dialect, "SMB1 dialect #%u", (unsigned)idx);
                c->smb1_chosen = true;
                *events |= FEV_SMB1;
            }
            c->negotiate_seen |= wf_count(tree, WF_SMB_DIALECT_INDEX) > 0;
            if (wf_any_true(tree, WF_SMB_SM_SIG_REQUIRED))
                c->signing_required = true;
            if (wf_any_true(tree, WF_SMB_SM_SIGNATURES))
                c->server_sign_enabled = true;
        } else if (command == SMB1_SESSION_SETUP) {
            if (!is_response)
                smbscope_auth_request(c, tree, false);
            else if (status == 0)
                session_established(c, tree, false, false, wf_any_true(tree, WF_SMB_GUEST),
                                    smb1_signed(tree, cmd), false, events);
        }
        if (smb1_signed(tree, cmd))
            c->signed_seen = true;
    }
    return headers;
}

static guint observe_smb2(struct smbscope_conv *c, packet_info *pinfo, proto_tree *tree, guint32 *events)
{
    GPtrArray *cmds = wf_all(tree, WF_SMB2_CMD);
    guint headers = 0;
    bool encrypt_flag = wf_any_true(tree, WF_SMB2_SES_ENCRYPT);
    for (guint i = 0; cmds && i < cmds->len; i++) {
        const field_info *cmd = (const field_info *)g_ptr_array_index(cmds, i);
        const field_info *resp = wf_at(tree, WF_SMB2_RESPONSE, cmd, SMB2_CMD_TO_FLAGS);
        if (!resp)
            continue;
        headers++;
        bool is_response = wf_uint(resp) != 0;
        if (is_response)
            client_is_dst(c, pinfo, DIR_APP);
        else
            smbscope_client_is_src(c, pinfo, DIR_APP);
        const field_info *sig = wf_at(tree, WF_SMB2_SIGNED, cmd, SMB2_CMD_TO_FLAGS);
        bool is_signed = sig && wf_uint(sig);
        if (is_signed)
            c->signed_seen = true;
        const field_info *st = wf_at(tree, WF_SMB2_NT_STATUS, cmd, SMB2_CMD_TO_STATUS);
        guint32 status = st ? (guint32)wf_uint(st) : 0;
        guint16 command = (guint16)wf_uint(cmd);

        if (command == SMB2_NEGOTIATE) {
            /* NEGOTIATE is never compounded: the dialects in this data
             * source after this header are this PDU's. */
            GPtrArray *ds = wf_all(tree, WF_SMB2_DIALECT);
            for (guint k = 0; ds && k < ds->len; k++) {
                const field_info *d = (const field_info *)g_ptr_array_index(ds, k);
                if (d->ds_tvb != cmd->ds_tvb || d->start < cmd->start)
                    continue;
                guint16 code = (guint16)wf_uint(d);
                /* The response's body was captured (a snap length can cut
                 * it after the header): its security mode is known. */
                c->negotiate_seen |= is_response;
                if (!is_response) {
                    char buf[16];
                    smbscope_offer(c, smb2_dialect_name(code, buf, sizeof buf));
                } else if (code != SMB2_DIALECT_WILDCARD || !c->smb2_dialect) {
                    /* 0x02FF only announces the renegotiation that follows. */
                    c->smb2_dialect = code;
                }
            }
            if (wf_any_true(tree, WF_SMB2_SIGN_REQUIRED))
                c->signing_required = true;
            if (is_response) {
                if (wf_any_true(tree, WF_SMB2_SIGN_ENABLED))
                    c->server_sign_enabled = true;
            }
        } else if (command == SMB2_SESSION_SETUP) {
            if (!is_response)
                smbscope_auth_request(c, tree, true);
            else if (status == 0)
                session_established(c, tree, true, wf_any_true(tree, WF_SMB2_SES_NULL),
                                    wf_any_true(tree, WF_SMB2_SES_GUEST), is_signed, encrypt_flag, events);
        }
    }
    if (encrypt_flag || wf_any_true(tree, WF_SMB2_SHARE_ENCRYPT))
        c->encrypted = true;
    guint transforms = wf_count(tree, WF_SMB2_TRANSFORM);
    if (transforms)
        c->encrypted = true;
    return headers + transforms + wf_count(tree, WF_SMB2_COMP_TRANSFORM);
}

/* ---- UDP ---------------------------------------------------------------- */

static bool nb_udp_port(guint32 port)
{
    return port == PORT_NBNS || port == PORT_NBDGM || port == PORT_NBSS;
}

/* Answers go from the service port back to the client end: to an ephemeral
 * port, or NBNS response 137 -> 137.  Everything else is a request. */
static struct smbscope_conv *observe_udp(packet_info *pinfo, proto_tree *tree)
{
    guint32 sport = pinfo->srcport, dport = pinfo->destport;
    if (!nb_udp_port(sport) && !nb_udp_port(dport))
        return NULL;
    guint64 v;
    bool nbns_response = wf_first_uint(tree, WF_NBNS_RESPONSE, &v) && v;
    if (nb_udp_port(sport) && (!nb_udp_port(dport) || (sport == PORT_NBNS && nbns_response))) {
        /* An answer from another address than the one asked (a broadcast
         * query answered by the server itself) marks the query answered
         * and is a flow of its own, as in the command's ledger: the host
         * that answers NetBIOS must show. */
        guint64 id;
        struct smbscope_conv *asked;
        if (sport == PORT_NBNS && wf_first_uint(tree, WF_NBNS_ID, &id))
            asked = smbscope_udpflow_answer(&pinfo->dst, dport, (guint16)id);
        else
            asked = smbscope_udpflow_by_client(&pinfo->dst, dport, sport);
        if (asked)
            asked->nb_answered = true;
        if (asked || !nb_udp_port(dport) || nbns_response) {
            struct smbscope_conv *c = smbscope_udpflow_get(&pinfo->dst, dport, &pinfo->src, sport, pinfo->num);
            c->udp_service = service_of(false, sport, 0);
            c->nb_answered = true;
            if (asked && asked != c)
                c->asked = asked;
            return c;
        }
    }
    guint32 service = nb_udp_port(dport) ? dport : sport;
    struct smbscope_conv *c = smbscope_udpflow_get(&pinfo->src, sport, &pinfo->dst, service, pinfo->num);
    c->udp_service = service_of(false, service, 0);
    guint64 opcode, id;
    if (service != PORT_NBNS || nbns_response || !wf_first_uint(tree, WF_NBNS_OPCODE, &opcode) || opcode != 0)
        c->nb_not_only_queries = true;
    else if (wf_first_uint(tree, WF_NBNS_ID, &id))
        smbscope_udpflow_query(&pinfo->src, sport, (guint16)id, c);
    return c;
}

/* ---- ICMP errors ---------------------------------------------------------- */

/* The last occurrence of an address field: the quoted (inner) header. */
static bool last_address(proto_tree *tree, enum wf f, address *out, guint8 *buf, address_type type, int len)
{
    GPtrArray *a = wf_all(tree, f);
    if (!a)
        return false;
    const field_info *fi = (const field_info *)g_ptr_array_index(a, a->len - 1);
    if (fi->length != len || !fi->ds_tvb || tvb_captured_length_remaining(fi->ds_tvb, fi->start) < len)
        return false;
    tvb_memcpy(fi->ds_tvb, buf, fi->start, (size_t)len);
    set_address(out, type, len, buf);
    return true;
}

static bool last_port(proto_tree *tree, enum wf f, guint32 *port)
{
    GPtrArray *a = wf_all(tree, f);
    if (!a)
        return false;
    *port = (guint32)wf_uint((const field_info *)g_ptr_array_index(a, a->len - 1));
    return true;
}

/* An ICMP(v6) destination-unreachable quoting a NetBIOS packet refuses that
 * flow.  Returns the flow's state, NULL when the packet is not such an error. */
static struct smbscope_conv *observe_icmp_error(packet_info *pinfo, proto_tree *tree, guint32 *events)
{
    guint64 type;
    bool v4 = wf_first_uint(tree, WF_ICMP_TYPE, &type) && type == 3;
    bool v6 = !v4 && wf_first_uint(tree, WF_ICMPV6_TYPE, &type) && type == 1;
    if (!v4 && !v6)
        return NULL;
    guint8 sbuf[16], dbuf[16];
    address src, dst;
    bool ok = v4 ? last_address(tree, WF_IP_SRC, &src, sbuf, AT_IPv4, 4) && last_address(tree, WF_IP_DST, &dst, dbuf, AT_IPv4, 4)
                 : last_address(tree, WF_IPV6_SRC, &src, sbuf, AT_IPv6, 16) && last_address(tree, WF_IPV6_DST, &dst, dbuf, AT_IPv6, 16);
    if (!ok)
        return NULL;
    guint32 sport, dport;
    bool tcp = false;
    if (last_port(tree, WF_UDP_SRCPORT, &sport) && last_port(tree, WF_UDP_DSTPORT, &dport))
        tcp = false;
    else if (last_port(tree, WF_TCP_SRCPORT, &sport) && last_port(tree, WF_TCP_DSTPORT, &dport))
        tcp = true;
    else
        return NULL;
    if (service_of(tcp, sport, dport) == NB_NONE)
        return NULL;
    struct smbscope_conv *c;
    if (tcp) {
        /* The quoted packet went from the client to the server. */
        conversation_t *conv = find_conversation(pinfo->num, &src, &dst, CONVERSATION_TCP, sport, dport, 0);
        if (!conv)
            return NULL;
        c = smbscope_conv_get(conv, pinfo->num, true);
        set_client(c, &src, sport, dport, DIR_APP);
    } else {
        c = smbscope_udpflow_by_client(&src, sport, dport);
        if (!c)
            return NULL; /* no flow to refuse: its request was not captured */
    }
    if (!c->nb_icmp_refused)
        *events |= FEV_REFUSED;
    c->nb_icmp_refused = true;
    *events |= FEV_ICMP_ABOUT;
    return c;
}

/* ---- entry ---------------------------------------------------------------- */

static bool tcp_interesting(packet_info *pinfo, proto_tree *tree)
{
    return pinfo->srcport == PORT_NBSS || pinfo->destport == PORT_NBSS || pinfo->srcport == PORT_SMB
        || pinfo->destport == PORT_SMB || wf_count(tree, WF_NBSS_TYPE) || wf_count(tree, WF_SMB2_CMD)
        || wf_count(tree, WF_SMB_CMD) || wf_count(tree, WF_SMB2_TRANSFORM) || wf_count(tree, WF_IWARP_MPA);
}

static struct smbscope_conv *observe_tcp(packet_info *pinfo, proto_tree *tree, guint32 *events)
{
    conversation_t *conv = find_conversation_pinfo(pinfo, 0);
    struct smbscope_conv *c = conv ? (struct smbscope_conv *)conversation_get_proto_data(conv, smbscope_proto_id()) : NULL;
    if (!c) {
        if (!tcp_interesting(pinfo, tree))
            return NULL;
        if (!conv)
            conv = find_or_create_conversation(pinfo);
        c = smbscope_conv_get(conv, pinfo->num, true);
    }
    /* Tracking may start after the SYN (the heuristic claims a connection
     * on its first payload): TCP's completeness flags remember the SYN. */
    guint64 compl;
    if (!c->nb_synack && wf_first_uint(tree, WF_TCP_COMPLETENESS, &compl)) {
        if (compl & (TCP_COMPLETE_SYN | TCP_COMPLETE_SYNACK))
            c->obs.handshake_seen = true;
        if (compl & TCP_COMPLETE_SYNACK)
            c->nb_synack = true;
    }
    if (c->dir == DIR_NONE)
        port_guess(c, pinfo);
    smbscope_count_end(c, pinfo);
    /* Bytes the command's reassembly would miss: a segment not captured, or
     * one cut by the snap length. */
    guint64 tcp_len;
    if (wf_count(tree, WF_TCP_LOST_SEGMENT)
        || (pinfo->fd->cap_len < pinfo->fd->pkt_len && wf_first_uint(tree, WF_TCP_LEN, &tcp_len) && tcp_len))
        c->content_lost = true;
    observe_tcp_flags(c, pinfo, tree, events);
    /* SMB Direct over iWARP: Wireshark's MPA heuristic recognised the
     * stream's MPA request/reply (any port), as the command does by the MPA
     * key at the start of the stream. */
    if (wf_count(tree, WF_IWARP_MPA))
        c->obs.carrier = CARRIER_RDMA_IWARP;
    if (c->obs.carrier == CARRIER_RDMA_IWARP && wf_count(tree, WF_SMBD_VERSION_MIN))
        c->obs.smbd_negotiates++; /* as for RoCEv2 (carriers.c) */
    smbscope_observe_smb(c, pinfo, tree, events);
    return c;
}

void smbscope_observe_smb(struct smbscope_conv *c, packet_info *pinfo, proto_tree *tree, guint32 *events)
{
    observe_nbss(c, pinfo, tree, events);
    guint smb1 = observe_smb1(c, pinfo, tree, events);
    guint smb2 = observe_smb2(c, pinfo, tree, events);
    c->smb1_seen |= smb1 > 0;
    c->smb2_seen |= smb2 > 0;
    c->obs.smb_messages += smb1 + smb2;
    if (smb1 + smb2 && !c->first_smb_frame) {
        c->first_smb_frame = pinfo->num;
        /* QUIC says so at its ClientHello (carriers.c). */
        if (c->obs.carrier != CARRIER_QUIC && transport_is_alt_port(smbscope_transport(c).cls, c->server_port))
            *events |= FEV_ALT_PORT;
    }
}

struct smbscope_conv *smbscope_observe(packet_info *pinfo, proto_tree *tree, guint32 *events)
{
    *events = 0;
    wf_begin_packet();
    struct smbscope_conv *c = observe_icmp_error(pinfo, tree, events);
    if (c)
        return c;
    if (pinfo->ptype == PT_TCP) {
        c = observe_tcp(pinfo, tree, events);
        /* Becoming NetBIOS can happen late: NBSS session setup on 8445. */
        if (c && smbscope_service(c) != NB_NONE && !c->netbios_announced) {
            c->netbios_announced = true;
            *events |= FEV_NETBIOS_FIRST;
        }
    } else if (pinfo->ptype == PT_UDP) {
        c = smbscope_observe_roce(pinfo, tree, events);
        if (!c)
            c = smbscope_observe_quic(pinfo, tree, events);
        if (c)
            return c;
        c = observe_udp(pinfo, tree);
        if (c && c->first_frame == pinfo->num)
            *events |= FEV_NETBIOS_FIRST;
    }
    return c;
}
