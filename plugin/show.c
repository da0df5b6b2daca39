/* show.c - what one packet of a flow shows: its fields, the top line of the
 * smbscope tree and the Info column.
 *
 * Two kinds of fields, so a display filter never matches a packet that the
 * final answer contradicts:
 *  - final fields (smbscope.netbios.state, smbscope.transport,
 *    smbscope.violation, smbscope.verdict ...) hold the whole capture's
 *    answer and are added only when it is known: when the frame is dissected
 *    again after the first pass (tshark -2, Wireshark once the file is
 *    loaded).  A first pass (tshark without -2, a display filter given to
 *    Wireshark at load) does not see them at all;
 *  - "so far" fields (smbscope.netbios.state_so_far ...) hold what was known
 *    when this packet arrived.  They are decided on the first pass, kept with
 *    the frame and shown unchanged on every later dissection: a fact about
 *    this packet that stays true. */
#include "smbscope.h"

#include <epan/to_str.h>

#include "dialect.h"

static int hf_client = -1;
static int hf_client_port = -1;
static int hf_server = -1;
static int hf_server_port = -1;
static int hf_netbios = -1;
static int hf_netbios_service = -1;
static int hf_netbios_state = -1;
static int hf_transport = -1;
static int hf_transport_evidence = -1;
static int hf_alt_port = -1;
static int hf_quic_version = -1;
static int hf_quic_sni = -1;
static int hf_dialect = -1;
static int hf_dialect_name = -1;
static int hf_dialects_offered = -1;
static int hf_smb_version = -1;
static int hf_signing = -1;
static int hf_signed = -1;
static int hf_encryption = -1;
static int hf_auth = -1;
static int hf_violation = -1;
static int hf_verdict = -1;
static int hf_undecided = -1;
static int hf_state_so_far = -1;
static int hf_transport_so_far = -1;
static int hf_dialect_so_far = -1;
static int hf_violation_so_far = -1;
static int hf_verdict_so_far = -1;
static int hf_decode_loss = -1;
static int hf_capture_verdict = -1;
static int hf_capture_unknown = -1;
static int hf_capture_decode_losses = -1;
static int hf_capture_drops = -1;

static const char *const verdict_names[] = {
    [SMBSCOPE_VERDICT_NONE] = NULL,
    [SMBSCOPE_VERDICT_PASS] = "pass",
    [SMBSCOPE_VERDICT_FAIL] = "fail",
    [SMBSCOPE_VERDICT_INCONCLUSIVE] = "inconclusive",
};

const char *smbscope_verdict_name(enum smbscope_verdict v)
{
    return (unsigned)v < G_N_ELEMENTS(verdict_names) ? verdict_names[v] : NULL;
}

static void add_string(proto_tree *tree, int hf, tvbuff_t *tvb, const char *s)
{
    proto_item_set_generated(proto_tree_add_string(tree, hf, tvb, 0, 0, s));
}

static void add_uint(proto_tree *tree, int hf, tvbuff_t *tvb, guint32 v)
{
    proto_item_set_generated(proto_tree_add_uint(tree, hf, tvb, 0, 0, v));
}

static void add_rules(proto_tree *tree, int hf, tvbuff_t *tvb, guint32 bits)
{
    for (int r = 0; r < RULE_COUNT; r++)
        if (bits & (1u << r))
            add_string(tree, hf, tvb, policy_rule_name((enum policy_rule)r));
}

/* The flow's two ends as smbscope sees them (the command reports the same). */
static void add_endpoints(proto_tree *st, tvbuff_t *tvb, packet_info *pinfo, const struct smbscope_conv *c)
{
    if (c->dir == DIR_NONE)
        return;
    add_string(st, hf_client, tvb, address_to_str(pinfo->pool, &c->client));
    add_uint(st, hf_client_port, tvb, c->client_port);
    const address *server = smbscope_server(c);
    if (server->type != AT_NONE)
        add_string(st, hf_server, tvb, address_to_str(pinfo->pool, server));
    add_uint(st, hf_server_port, tvb, c->server_port);
}

static void add_smb(proto_tree *st, tvbuff_t *tvb, packet_info *pinfo, const struct smbscope_conv *c)
{
    struct transport_verdict v = smbscope_transport(c);
    add_string(st, hf_transport, tvb, transport_class_name(v.cls));
    char ev[256];
    add_string(st, hf_transport_evidence, tvb, transport_evidence_text(v.evidence, ev, sizeof ev));
    if (transport_is_alt_port(v.cls, c->server_port))
        add_uint(st, hf_alt_port, tvb, c->server_port);
    if (c->obs.carrier == CARRIER_QUIC) {
        if (c->quic_version)
            add_uint(st, hf_quic_version, tvb, c->quic_version);
        if (c->sni)
            add_string(st, hf_quic_sni, tvb, c->sni);
    }
    guint16 code = smbscope_dialect_code(c);
    if (code)
        add_uint(st, hf_dialect, tvb, code);
    char *buf = (char *)wmem_alloc(pinfo->pool, 16);
    const char *name = smbscope_dialect(c, buf, 16);
    if (name)
        add_string(st, hf_dialect_name, tvb, name);
    for (unsigned i = 0; i < c->n_offered; i++)
        add_string(st, hf_dialects_offered, tvb, c->offered[i]);
    int version = smbscope_smb_version(c);
    if (version)
        add_uint(st, hf_smb_version, tvb, (guint32)version);
    const char *s;
    if ((s = smbscope_signing(c)) != NULL)
        add_string(st, hf_signing, tvb, s);
    proto_item_set_generated(proto_tree_add_boolean(st, hf_signed, tvb, 0, 0, c->signed_seen));
    add_string(st, hf_encryption, tvb, smbscope_encryption(c));
    if ((s = smbscope_auth(c)) != NULL)
        add_string(st, hf_auth, tvb, s);
}

static void add_final(proto_tree *st, tvbuff_t *tvb, packet_info *pinfo, const struct smbscope_conv *c,
                      guint32 bits, enum smbscope_verdict verdict)
{
    add_endpoints(st, tvb, pinfo, c);
    enum nb_service service = smbscope_service(c);
    if (service != NB_NONE) {
        proto_item_set_generated(proto_tree_add_boolean(st, hf_netbios, tvb, 0, 0, TRUE));
        add_string(st, hf_netbios_service, tvb, smbscope_service_name(service));
        const char *state = smbscope_state_name(smbscope_nb_state(c));
        if (state)
            add_string(st, hf_netbios_state, tvb, state);
    }
    if (smbscope_is_smb_conn(c))
        add_smb(st, tvb, pinfo, c);
    add_rules(st, hf_violation, tvb, bits);
    add_rules(st, hf_undecided, tvb, smbscope_undecided(c));
    if (smbscope_verdict_name(verdict))
        add_string(st, hf_verdict, tvb, smbscope_verdict_name(verdict));
}

static void add_so_far(proto_tree *st, tvbuff_t *tvb, const struct smbscope_so_far *sf)
{
    const char *state = smbscope_state_name((enum nb_state)sf->nb_state);
    if (state)
        add_string(st, hf_state_so_far, tvb, state);
    if (sf->transport != TRANSPORT_NONE)
        add_string(st, hf_transport_so_far, tvb, transport_class_name((enum transport_class)sf->transport));
    if (sf->dialect)
        add_uint(st, hf_dialect_so_far, tvb, sf->dialect);
    add_rules(st, hf_violation_so_far, tvb, sf->violations);
    if (smbscope_verdict_name((enum smbscope_verdict)sf->verdict))
        add_string(st, hf_verdict_so_far, tvb, smbscope_verdict_name((enum smbscope_verdict)sf->verdict));
}

/* "FAIL (netbios-attempt)": the verdict and the rules behind it. */
static const char *summary(packet_info *pinfo, enum smbscope_verdict verdict, guint32 bits)
{
    wmem_strbuf_t *b = wmem_strbuf_new(pinfo->pool, "");
    const char *v = smbscope_verdict_name(verdict);
    for (const char *p = v ? v : "?"; *p; p++)
        wmem_strbuf_append_c(b, g_ascii_toupper(*p));
    const char *sep = " (";
    for (int r = 0; r < RULE_COUNT; r++)
        if (bits & (1u << r)) {
            wmem_strbuf_append_printf(b, "%s%s", sep, policy_rule_name((enum policy_rule)r));
            sep = ", ";
        }
    if (*sep == ',')
        wmem_strbuf_append_c(b, ')');
    return wmem_strbuf_get_str(b);
}

/* "nbss established", "nbt 3.1.1": what the flow is, for the top line. */
static const char *what(packet_info *pinfo, const struct smbscope_conv *c)
{
    wmem_strbuf_t *b = wmem_strbuf_new(pinfo->pool, "");
    enum nb_service service = smbscope_service(c);
    if (service != NB_NONE) {
        const char *state = smbscope_state_name(smbscope_nb_state(c));
        wmem_strbuf_append_printf(b, "%s %s", smbscope_service_name(service), state ? state : "");
    }
    if (smbscope_is_smb_conn(c)) {
        char buf[16];
        const char *dialect = smbscope_dialect(c, buf, sizeof buf);
        wmem_strbuf_append_printf(b, "%s%s %s", service != NB_NONE ? ", " : "",
                                  transport_class_name(smbscope_transport(c).cls), dialect ? dialect : "");
    }
    return wmem_strbuf_get_str(b);
}

void smbscope_show(proto_item *ti, proto_tree *st, tvbuff_t *tvb, packet_info *pinfo,
                   const struct smbscope_conv *c, const struct smbscope_so_far *sf, bool final)
{
    if (final) {
        guint32 bits = 0;
        enum smbscope_verdict verdict = smbscope_verdict(c, &bits);
        add_final(st, tvb, pinfo, c, bits, verdict);
        const char *s = summary(pinfo, verdict, bits);
        proto_item_append_text(ti, ": %s, %s", s, what(pinfo, c));
        col_append_fstr(pinfo->cinfo, COL_INFO, " [smbscope %s]", s);
    } else {
        /* Only the past is known: say so wherever a person reads it. */
        const char *s = summary(pinfo, (enum smbscope_verdict)sf->verdict, sf->violations);
        proto_item_append_text(ti, " (so far): %s", s);
        col_append_fstr(pinfo->cinfo, COL_INFO, " [smbscope so far %s]", s);
    }
    add_so_far(st, tvb, sf);
}

/* The frame's own losses are facts about it, decided on the first pass:
 * shown on every pass.  The whole input's verdict is final only after it. */
void smbscope_show_losses(proto_item *ti, proto_tree *st, tvbuff_t *tvb, packet_info *pinfo,
                          const guint16 *lost, bool has_flow, bool final)
{
    const char *sep = has_flow ? "; decode-loss: " : ": decode-loss: ";
    for (int k = 0; k < LOSS_KIND_COUNT; k++)
        for (guint16 i = 0; i < lost[k]; i++) {
            add_string(st, hf_decode_loss, tvb, decode_loss_kind_name((enum decode_loss_kind)k));
            if (i == 0) {
                proto_item_append_text(ti, "%s%s", sep, decode_loss_kind_name((enum decode_loss_kind)k));
                col_append_fstr(pinfo->cinfo, COL_INFO, " [smbscope decode-loss %s]",
                                decode_loss_kind_name((enum decode_loss_kind)k));
                sep = ", ";
            }
        }
    if (!final)
        return;
    const struct decode_losses *total = smbscope_capture_losses();
    add_string(st, hf_capture_verdict, tvb, smbscope_verdict_name(smbscope_capture_verdict()));
    guint64 drops = smbscope_capture_drops();
    if (drops)
        add_string(st, hf_capture_unknown, tvb, "capture-drops");
    if (decode_loss_total(total))
        add_string(st, hf_capture_unknown, tvb, DECODE_LOSS_REASON);
    proto_item_set_generated(proto_tree_add_uint64(st, hf_capture_decode_losses, tvb, 0, 0, decode_loss_total(total)));
    if (drops) /* only when the capture says so: as the command's capture-drops unknown */
        proto_item_set_generated(proto_tree_add_uint64(st, hf_capture_drops, tvb, 0, 0, drops));
}

/* SMB2/3 dialect codes with their short names, from the shared table, plus
 * the plugin's code for SMB1 so that numeric comparisons order it first. */
static const value_string *dialect_values(void)
{
    size_t n = 0;
    while (smb2_dialect_at(n))
        n++;
    value_string *vs = wmem_alloc0_array(wmem_epan_scope(), value_string, n + 2);
    vs[0].value = SMBSCOPE_DIALECT_SMB1;
    vs[0].strptr = "SMB1";
    for (size_t i = 0; i < n; i++) {
        vs[i + 1].value = smb2_dialect_at(i)->code;
        vs[i + 1].strptr = smb2_dialect_at(i)->short_name;
    }
    return vs; /* zeroed terminator */
}

void smbscope_show_register(int proto)
{
    const value_string *dialects = dialect_values();
    static hf_register_info hf[] = {
        { &hf_client, { "Client", "smbscope.client", FT_STRING, BASE_NONE, NULL, 0x0,
            "Client address of this connection or NetBIOS flow", HFILL } },
        { &hf_client_port, { "Client port", "smbscope.client_port", FT_UINT16, BASE_DEC, NULL, 0x0, NULL, HFILL } },
        { &hf_server, { "Server", "smbscope.server", FT_STRING, BASE_NONE, NULL, 0x0,
            "Server address (NetBIOS UDP: where the first request went, maybe a broadcast address)", HFILL } },
        { &hf_server_port, { "Server port", "smbscope.server_port", FT_UINT16, BASE_DEC, NULL, 0x0, NULL, HFILL } },
        { &hf_netbios, { "NetBIOS", "smbscope.netbios", FT_BOOLEAN, BASE_NONE, NULL, 0x0,
            "UDP 137/138 or TCP/UDP 139 traffic, NBSS session setup on any port, or an ICMP error about it", HFILL } },
        { &hf_netbios_service, { "NetBIOS service", "smbscope.netbios.service", FT_STRING, BASE_NONE, NULL, 0x0,
            "nbns (name service), nbdgm (datagram service) or nbss (session service)", HFILL } },
        { &hf_netbios_state, { "NetBIOS flow state", "smbscope.netbios.state", FT_STRING, BASE_NONE, NULL, 0x0,
            "The flow's final state: established, refused, no-answer or datagram", HFILL } },
        { &hf_transport, { "SMB transport", "smbscope.transport", FT_STRING, BASE_NONE, NULL, 0x0,
            "direct, nbt, nbt-nonstandard-port, unknown-start, quic, rdma-iwarp or rdma-roce", HFILL } },
        { &hf_transport_evidence, { "Transport evidence", "smbscope.transport.evidence", FT_STRING, BASE_NONE,
            NULL, 0x0, "Why the transport class was chosen", HFILL } },
        { &hf_alt_port, { "Alternative SMB port", "smbscope.alt_port", FT_UINT16, BASE_DEC, NULL, 0x0,
            "Server port of an SMB connection off its transport's standard port (TCP 139/445, QUIC 443, iWARP 5445)",
            HFILL } },
        { &hf_quic_version, { "QUIC version", "smbscope.quic.version", FT_UINT32, BASE_HEX, NULL, 0x0,
            "QUIC version of the client's first Initial (SMB over QUIC)", HFILL } },
        { &hf_quic_sni, { "QUIC server name", "smbscope.quic.sni", FT_STRING, BASE_NONE, NULL, 0x0,
            "The ClientHello's server_name (SNI) of an SMB over QUIC connection", HFILL } },
        { &hf_dialect, { "Dialect", "smbscope.dialect", FT_UINT16, BASE_HEX, NULL, 0x0,
            "Dialect the server chose: the SMB2/3 dialect code (0x0311 = 3.1.1), 0x0100 for SMB1", HFILL } },
        { &hf_dialect_name, { "Dialect name", "smbscope.dialect_name", FT_STRING, BASE_NONE, NULL, 0x0,
            "Dialect the server chose (SMB2/3 short name, or the SMB1 dialect string)", HFILL } },
        { &hf_dialects_offered, { "Dialect offered", "smbscope.dialects_offered", FT_STRING, BASE_NONE, NULL, 0x0,
            "A dialect the client offered (one item per dialect)", HFILL } },
        { &hf_smb_version, { "SMB version", "smbscope.smb_version", FT_UINT8, BASE_DEC, NULL, 0x0, "1, 2 or 3", HFILL } },
        { &hf_signing, { "Signing", "smbscope.signing", FT_STRING, BASE_NONE, NULL, 0x0,
            "Negotiated signing: required, enabled or disabled (the command's signing.mode)", HFILL } },
        { &hf_signed, { "Signed PDUs seen", "smbscope.signed", FT_BOOLEAN, BASE_NONE, NULL, 0x0,
            "A signed SMB message was seen (the command's signing.signed_seen)", HFILL } },
        { &hf_encryption, { "Encryption", "smbscope.encryption", FT_STRING, BASE_NONE, NULL, 0x0,
            "encrypted (transform headers, or session/share encryption) or unencrypted", HFILL } },
        { &hf_auth, { "Authentication", "smbscope.auth", FT_STRING, BASE_NONE, NULL, 0x0,
            "Mechanism of an established session: kerberos, ntlm, guest or anonymous", HFILL } },
        { &hf_violation, { "Policy violation", "smbscope.violation", FT_STRING, BASE_NONE, NULL, 0x0,
            "Rule of the policy (preferences) this flow breaks", HFILL } },
        { &hf_undecided, { "Undecided rule", "smbscope.undecided", FT_STRING, BASE_NONE, NULL, 0x0,
            "Rule of the policy the capture cannot decide for this flow (its answer was not captured)", HFILL } },
        { &hf_verdict, { "Verdict", "smbscope.verdict", FT_STRING, BASE_NONE, NULL, 0x0,
            "The flow's verdict under the policy: pass, fail or inconclusive", HFILL } },
        { &hf_state_so_far, { "NetBIOS flow state so far", "smbscope.netbios.state_so_far", FT_STRING, BASE_NONE,
            NULL, 0x0, "The flow's state as known when this packet arrived", HFILL } },
        { &hf_transport_so_far, { "SMB transport so far", "smbscope.transport_so_far", FT_STRING, BASE_NONE,
            NULL, 0x0, "The transport class as known when this packet arrived", HFILL } },
        { &hf_dialect_so_far, { "Dialect so far", "smbscope.dialect_so_far", FT_UINT16, BASE_HEX, NULL,
            0x0, "The dialect chosen by the time this packet arrived", HFILL } },
        { &hf_violation_so_far, { "Policy violation so far", "smbscope.violation_so_far", FT_STRING, BASE_NONE,
            NULL, 0x0, "A rule the flow had broken by the time this packet arrived", HFILL } },
        { &hf_decode_loss, { "Decode loss", "smbscope.decode_loss", FT_STRING, BASE_NONE, NULL, 0x0,
            "A packet of this frame that could have been SMB but could not be read (one item per packet): "
            "iwarp-crc, roce-icrc, quic-undecryptable", HFILL } },
        { &hf_capture_verdict, { "Capture verdict", "smbscope.capture.verdict", FT_STRING, BASE_NONE, NULL, 0x0,
            "The whole input's verdict, the command's outcome: fail (a flow breaks a rule), inconclusive (a flow "
            "is undecided or packets were lost), pass", HFILL } },
        { &hf_capture_unknown, { "Capture unknown", "smbscope.capture.unknown", FT_STRING, BASE_NONE, NULL, 0x0,
            "Why the whole input cannot pass for want of evidence, the command's verdict.unknowns reason "
            "(capture-drops, decode-loss)", HFILL } },
        { &hf_capture_drops, { "Packets dropped before the capture", "smbscope.capture.drops", FT_UINT64, BASE_DEC,
            NULL, 0x0, "Packets the capture file says were lost (pcapng packet blocks' drop counts, "
            "frame.drop_count): the command's capture-drops unknown", HFILL } },
        { &hf_capture_decode_losses, { "Decode losses in the capture", "smbscope.capture.decode_losses", FT_UINT64,
            BASE_DEC, NULL, 0x0, "Packets of the whole input that could have been SMB but could not be read (the "
            "command's decode-loss count)", HFILL } },
        { &hf_verdict_so_far, { "Verdict so far", "smbscope.verdict_so_far", FT_STRING, BASE_NONE, NULL, 0x0,
            "The flow's verdict as known when this packet arrived", HFILL } },
    };
    /* VALS() of a table built at run time: fill in before registering. */
    for (size_t i = 0; i < G_N_ELEMENTS(hf); i++)
        if (hf[i].p_id == &hf_dialect || hf[i].p_id == &hf_dialect_so_far)
            hf[i].hfinfo.strings = dialects;
    proto_register_field_array(proto, hf, array_length(hf));
}
