/* postdissector.c - protocol "smbscope": after every other dissector has
 * run, read their fields (fields.c), fold them into the conversation's state
 * on the first pass (observe.c), and show the conversation's verdicts on
 * every packet that belongs to it.
 *
 * Shown values come from the conversation state as it is when the packet is
 * dissected: on tshark's single pass that is "so far"; on a second pass
 * (tshark -2, or any re-dissection in Wireshark) it is the whole capture's
 * answer.  Expert items belong to the frame that caused them and are
 * decided once, on the first pass. */
#include "smbscope.h"

#include <epan/to_str.h>
#include <epan/expert.h>
#include <epan/proto_data.h>
#include <epan/tap.h>

#include "fields.h"
#include "observe.h"

static int proto_smbscope = -1;
int smbscope_tap_id = -1;

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
static int hf_dialect = -1;
static int hf_dialects_offered = -1;
static int hf_smb_version = -1;
static int hf_signing = -1;
static int hf_encryption = -1;
static int hf_auth = -1;
static int hf_violation = -1;

static gint ett_smbscope = -1;

static expert_field ei_netbios = EI_INIT;
static expert_field ei_refused = EI_INIT;
static expert_field ei_negative = EI_INIT;
static expert_field ei_smb1 = EI_INIT;
static expert_field ei_nbss_offport = EI_INIT;
static expert_field ei_alt_port = EI_INIT;
static expert_field ei_unprotected = EI_INIT;

static dissector_handle_t smbscope_handle;

/* Kept with each frame of interest on the first pass. */
struct frame_rec {
    struct smbscope_conv *conv;
    guint32 events;
};

int smbscope_proto_id(void)
{
    return proto_smbscope;
}

struct smbscope_conv *smbscope_conv_get(conversation_t *conv, guint32 frame, bool is_tcp)
{
    struct smbscope_conv *c = (struct smbscope_conv *)conversation_get_proto_data(conv, proto_smbscope);
    if (!c) {
        c = wmem_new0(wmem_file_scope(), struct smbscope_conv);
        c->is_tcp = is_tcp;
        c->first_frame = frame;
        clear_address(&c->client);
        clear_address(&c->udp_server);
        clear_address(&c->end_a);
        clear_address(&c->end_b);
        conversation_add_proto_data(conv, proto_smbscope, c);
    }
    return c;
}

static void add_string(proto_tree *tree, int hf, tvbuff_t *tvb, const char *s)
{
    proto_item *it = proto_tree_add_string(tree, hf, tvb, 0, 0, s);
    proto_item_set_generated(it);
}

static void add_expert(packet_info *pinfo, proto_item *ti, const struct frame_rec *rec)
{
    const struct smbscope_conv *c = rec->conv;
    guint32 ev = rec->events;
    const char *svc = smbscope_service_name(smbscope_service(c));
    if (ev & FEV_NETBIOS_FIRST)
        expert_add_info_format(pinfo, ti, &ei_netbios, "NetBIOS traffic (%s)", svc ? svc : "?");
    if (ev & FEV_REFUSED)
        expert_add_info_format(pinfo, ti, &ei_refused, "NetBIOS attempt refused (%s%s)", svc ? svc : "?",
                               (ev & FEV_ICMP_ABOUT) ? ", ICMP unreachable" : ", TCP reset");
    if (ev & FEV_NEGATIVE)
        expert_add_info(pinfo, ti, &ei_negative);
    if (ev & FEV_SMB1)
        expert_add_info_format(pinfo, ti, &ei_smb1, "SMB1 negotiated (%s)", c->smb1_dialect);
    if (ev & FEV_NBSS_OFFPORT)
        expert_add_info_format(pinfo, ti, &ei_nbss_offport, "NBSS session setup on TCP port %u (not 139)",
                               (unsigned)c->server_port);
    if (ev & FEV_ALT_PORT)
        expert_add_info_format(pinfo, ti, &ei_alt_port, "SMB on alternative TCP port %u",
                               (unsigned)c->server_port);
    if (ev & FEV_UNPROTECTED)
        expert_add_info(pinfo, ti, &ei_unprotected);
}

static void add_smb_fields(proto_tree *st, tvbuff_t *tvb, packet_info *pinfo, const struct smbscope_conv *c,
                           struct smbscope_tap_rec *tap)
{
    struct transport_verdict v = smbscope_transport(c);
    tap->transport = transport_class_name(v.cls);
    add_string(st, hf_transport, tvb, tap->transport);
    char ev[256];
    add_string(st, hf_transport_evidence, tvb, transport_evidence_text(v.evidence, ev, sizeof ev));
    if (c->server_port != 139 && c->server_port != 445)
        proto_item_set_generated(proto_tree_add_uint(st, hf_alt_port, tvb, 0, 0, c->server_port));

    char *buf = (char *)wmem_alloc(pinfo->pool, 16);
    tap->dialect = smbscope_dialect(c, buf, 16);
    if (tap->dialect)
        add_string(st, hf_dialect, tvb, tap->dialect);
    for (unsigned i = 0; i < c->n_offered; i++)
        add_string(st, hf_dialects_offered, tvb, c->offered[i]);
    int version = smbscope_smb_version(c);
    if (version)
        proto_item_set_generated(proto_tree_add_uint(st, hf_smb_version, tvb, 0, 0, (guint32)version));
    const char *s;
    if ((s = smbscope_signing(c)) != NULL)
        add_string(st, hf_signing, tvb, s);
    if ((s = smbscope_encryption(c)) != NULL)
        add_string(st, hf_encryption, tvb, s);
    if ((s = smbscope_auth(c)) != NULL)
        add_string(st, hf_auth, tvb, s);
}

/* The flow's two ends as smbscope sees them (the command reports the same). */
static void add_endpoints(proto_tree *st, tvbuff_t *tvb, packet_info *pinfo, const struct smbscope_conv *c)
{
    if (c->dir == DIR_NONE)
        return;
    add_string(st, hf_client, tvb, address_to_str(pinfo->pool, &c->client));
    proto_item_set_generated(proto_tree_add_uint(st, hf_client_port, tvb, 0, 0, c->client_port));
    const address *server = NULL;
    if (!c->is_tcp)
        server = &c->udp_server;
    else if (addresses_equal(&c->end_a, &c->client) && c->end_a_port == c->client_port)
        server = &c->end_b;
    else
        server = &c->end_a;
    if (server->type != AT_NONE)
        add_string(st, hf_server, tvb, address_to_str(pinfo->pool, server));
    proto_item_set_generated(proto_tree_add_uint(st, hf_server_port, tvb, 0, 0, c->server_port));
}

/* A TCP frame the first pass skipped (the SYN of a connection the heuristic
 * claimed later) still belongs to its connection once that is known. */
static struct frame_rec *late_rec(packet_info *pinfo)
{
    if (pinfo->ptype != PT_TCP)
        return NULL;
    conversation_t *conv = find_conversation_pinfo(pinfo, 0);
    struct smbscope_conv *c = conv ? (struct smbscope_conv *)conversation_get_proto_data(conv, proto_smbscope) : NULL;
    if (!c)
        return NULL;
    struct frame_rec *rec = wmem_new0(pinfo->pool, struct frame_rec);
    rec->conv = c;
    return rec;
}

static int dissect_smbscope(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data _U_)
{
    struct frame_rec *rec = (struct frame_rec *)p_get_proto_data(wmem_file_scope(), pinfo, proto_smbscope, 0);
    if (!rec && PINFO_FD_VISITED(pinfo))
        rec = late_rec(pinfo);
    if (!rec) {
        /* Only the first pass observes. */
        if (PINFO_FD_VISITED(pinfo) || !tree)
            return 0;
        guint32 events;
        struct smbscope_conv *c = smbscope_observe(pinfo, tree, &events);
        if (!c)
            return 0;
        rec = wmem_new0(wmem_file_scope(), struct frame_rec);
        rec->conv = c;
        rec->events = events;
        p_add_proto_data(wmem_file_scope(), pinfo, proto_smbscope, 0, rec);
    }
    const struct smbscope_conv *c = rec->conv;
    bool smb = smbscope_is_smb_conn(c);
    enum nb_service service = smbscope_service(c);
    if (service == NB_NONE && !smb)
        return 0;

    struct smbscope_tap_rec *tap = wmem_new0(pinfo->pool, struct smbscope_tap_rec);
    tap->conv = c;

    proto_item *ti = proto_tree_add_item(tree, proto_smbscope, tvb, 0, 0, ENC_NA);
    proto_item_set_generated(ti);
    proto_tree *st = proto_item_add_subtree(ti, ett_smbscope);

    add_endpoints(st, tvb, pinfo, c);
    if (service != NB_NONE) {
        proto_item_set_generated(proto_tree_add_boolean(st, hf_netbios, tvb, 0, 0, TRUE));
        tap->service = smbscope_service_name(service);
        add_string(st, hf_netbios_service, tvb, tap->service);
        tap->state = smbscope_state_name(smbscope_nb_state(c));
        if (tap->state)
            add_string(st, hf_netbios_state, tvb, tap->state);
        if (c->asked) {
            tap->also = c->asked;
            tap->also_service = smbscope_service_name(smbscope_service(c->asked));
            tap->also_state = smbscope_state_name(smbscope_nb_state(c->asked));
        }
    }
    if (smb)
        add_smb_fields(st, tvb, pinfo, c, tap);
    guint32 bits = smbscope_violations(c);
    for (int r = 0; r < RULE_COUNT; r++)
        if (bits & (1u << r))
            add_string(st, hf_violation, tvb, policy_rule_name((enum policy_rule)r));
    add_expert(pinfo, ti, rec);

    tap_queue_packet(smbscope_tap_id, pinfo, tap);
    return tvb_captured_length(tvb);
}

void proto_register_smbscope(void)
{
    static hf_register_info hf[] = {
        { &hf_client, { "Client", "smbscope.client", FT_STRING, BASE_NONE, NULL, 0x0,
            "Client address of this connection or NetBIOS flow", HFILL } },
        { &hf_client_port, { "Client port", "smbscope.client_port", FT_UINT16, BASE_DEC, NULL, 0x0,
            NULL, HFILL } },
        { &hf_server, { "Server", "smbscope.server", FT_STRING, BASE_NONE, NULL, 0x0,
            "Server address (NetBIOS UDP: where the first request went, maybe a broadcast address)", HFILL } },
        { &hf_server_port, { "Server port", "smbscope.server_port", FT_UINT16, BASE_DEC, NULL, 0x0,
            NULL, HFILL } },
        { &hf_netbios, { "NetBIOS", "smbscope.netbios", FT_BOOLEAN, BASE_NONE, NULL, 0x0,
            "UDP 137/138 or TCP/UDP 139 traffic, NBSS session setup on any port, or an ICMP error about it", HFILL } },
        { &hf_netbios_service, { "NetBIOS service", "smbscope.netbios.service", FT_STRING, BASE_NONE, NULL, 0x0,
            "nbns (name service), nbdgm (datagram service) or nbss (session service)", HFILL } },
        { &hf_netbios_state, { "NetBIOS flow state", "smbscope.netbios.state", FT_STRING, BASE_NONE, NULL, 0x0,
            "established, refused, no-answer or datagram", HFILL } },
        { &hf_transport, { "SMB transport", "smbscope.transport", FT_STRING, BASE_NONE, NULL, 0x0,
            "direct, nbt, nbt-nonstandard-port or unknown-start", HFILL } },
        { &hf_transport_evidence, { "Transport evidence", "smbscope.transport.evidence", FT_STRING, BASE_NONE,
            NULL, 0x0, "Why the transport class was chosen", HFILL } },
        { &hf_alt_port, { "Alternative SMB port", "smbscope.alt_port", FT_UINT16, BASE_DEC, NULL, 0x0,
            "Server port of an SMB connection on neither 139 nor 445", HFILL } },
        { &hf_dialect, { "Dialect", "smbscope.dialect", FT_STRING, BASE_NONE, NULL, 0x0,
            "Dialect the server chose (SMB2/3 short name, or the SMB1 dialect string)", HFILL } },
        { &hf_dialects_offered, { "Dialect offered", "smbscope.dialects_offered", FT_STRING, BASE_NONE, NULL, 0x0,
            "A dialect the client offered (one item per dialect)", HFILL } },
        { &hf_smb_version, { "SMB version", "smbscope.smb_version", FT_UINT8, BASE_DEC, NULL, 0x0,
            "1, 2 or 3", HFILL } },
        { &hf_signing, { "Signing", "smbscope.signing", FT_STRING, BASE_NONE, NULL, 0x0,
            "required, signed (used, not required) or not-signed", HFILL } },
        { &hf_encryption, { "Encryption", "smbscope.encryption", FT_STRING, BASE_NONE, NULL, 0x0,
            "encrypted or none", HFILL } },
        { &hf_auth, { "Authentication", "smbscope.auth", FT_STRING, BASE_NONE, NULL, 0x0,
            "kerberos, ntlm, guest or anonymous", HFILL } },
        { &hf_violation, { "Policy violation", "smbscope.violation", FT_STRING, BASE_NONE, NULL, 0x0,
            "Default-policy rule this conversation breaks", HFILL } },
    };
    static gint *ett[] = { &ett_smbscope };
    static ei_register_info ei[] = {
        { &ei_netbios, { "smbscope.expert.netbios", PI_SECURITY, PI_WARN, "NetBIOS traffic", EXPFILL } },
        { &ei_refused, { "smbscope.expert.netbios_refused", PI_SECURITY, PI_NOTE, "NetBIOS attempt refused", EXPFILL } },
        { &ei_negative, { "smbscope.expert.nbss_negative", PI_SECURITY, PI_NOTE,
            "NetBIOS session request refused (negative session response)", EXPFILL } },
        { &ei_smb1, { "smbscope.expert.smb1", PI_SECURITY, PI_WARN, "SMB1 negotiated", EXPFILL } },
        { &ei_nbss_offport, { "smbscope.expert.nbss_offport", PI_SECURITY, PI_WARN,
            "NBSS session framing on a port other than 139", EXPFILL } },
        { &ei_alt_port, { "smbscope.expert.alt_port", PI_PROTOCOL, PI_NOTE, "SMB on an alternative TCP port", EXPFILL } },
        { &ei_unprotected, { "smbscope.expert.unprotected", PI_SECURITY, PI_NOTE,
            "SMB session neither signed nor encrypted", EXPFILL } },
    };

    proto_smbscope = proto_register_protocol("SMB transport audit", "smbscope", "smbscope");
    proto_register_field_array(proto_smbscope, hf, array_length(hf));
    proto_register_subtree_array(ett, array_length(ett));
    expert_module_t *em = expert_register_protocol(proto_smbscope);
    expert_register_field_array(em, ei, array_length(ei));

    smbscope_handle = register_dissector("smbscope", dissect_smbscope, proto_smbscope);
    register_postdissector(smbscope_handle);
    smbscope_tap_id = register_tap("smbscope");
    smbscope_udpflow_register();
    smbscope_heur_register(proto_smbscope);
}

void proto_reg_handoff_smbscope(void)
{
    smbscope_fields_init(smbscope_handle);
    smbscope_heur_handoff();
}
