/* postdissector.c - protocol "smbscope": after every other dissector has
 * run, read their fields (fields.c), fold them into the conversation's state
 * on the first pass (observe.c), and show the conversation's verdicts on
 * every packet that belongs to it.
 *
 * What a packet shows is show.c's: final fields only once the capture's
 * answer is known (a second pass), "so far" fields fixed on the first pass.
 * Expert items belong to the frame that caused them and are decided once,
 * on the first pass. */
#include "smbscope.h"

#include <epan/to_str.h>
#include <epan/expert.h>
#include <epan/proto_data.h>
#include <epan/tap.h>

#include "fields.h"
#include "observe.h"

static int proto_smbscope = -1;
int smbscope_tap_id = -1;

static gint ett_smbscope = -1;

static expert_field ei_netbios = EI_INIT;
static expert_field ei_refused = EI_INIT;
static expert_field ei_negative = EI_INIT;
static expert_field ei_smb1 = EI_INIT;
static expert_field ei_nbss_offport = EI_INIT;
static expert_field ei_alt_port = EI_INIT;
static expert_field ei_unprotected = EI_INIT;
static expert_field ei_decode_loss = EI_INIT;

static dissector_handle_t smbscope_handle;

/* Kept with each frame of interest on the first pass. */
struct frame_rec {
    struct smbscope_conv *conv;    /* NULL: a lost frame of no flow */
    guint16 lost[LOSS_KIND_COUNT]; /* this frame's decode losses by kind */
    guint32 events;
    struct smbscope_so_far so_far;  /* zero: the first pass did not know the frame */
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
        smbscope_capture_track(c);
    }
    return c;
}

static void add_loss_expert(packet_info *pinfo, proto_item *ti, const struct frame_rec *rec)
{
    for (int k = 0; k < LOSS_KIND_COUNT; k++)
        if (rec->lost[k])
            expert_add_info_format(pinfo, ti, &ei_decode_loss, "Could not be decoded (%s): %u packet%s lost to the "
                                   "audit, the capture's verdict cannot be pass", decode_loss_kind_name(k),
                                   (unsigned)rec->lost[k], rec->lost[k] == 1 ? "" : "s");
}

static void add_expert(packet_info *pinfo, proto_item *ti, const struct frame_rec *rec)
{
    add_loss_expert(pinfo, ti, rec);
    const struct smbscope_conv *c = rec->conv;
    if (!c)
        return;
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
        expert_add_info_format(pinfo, ti, &ei_alt_port, "SMB on alternative %s port %u (%s)",
                               c->is_tcp ? "TCP" : "UDP", (unsigned)c->server_port,
                               transport_class_name(smbscope_transport(c).cls));
    if (ev & FEV_UNPROTECTED)
        expert_add_info(pinfo, ti, &ei_unprotected);
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

/* The tap record: the flow's labels as they are now (stats.c relabels a
 * flow whose labels change during a single pass). */
static struct smbscope_tap_rec *tap_rec(packet_info *pinfo, const struct frame_rec *rec)
{
    const struct smbscope_conv *c = rec->conv;
    struct smbscope_tap_rec *tap = wmem_new0(pinfo->pool, struct smbscope_tap_rec);
    tap->lost = rec->lost;
    tap->conv = c;
    if (!c)
        return tap;
    guint32 bits;
    tap->verdict = smbscope_verdict_name(smbscope_verdict(c, &bits));
    enum nb_service service = smbscope_service(c);
    if (service != NB_NONE) {
        tap->service = smbscope_service_name(service);
        tap->state = smbscope_state_name(smbscope_nb_state(c));
        if (c->asked) {
            tap->also = c->asked;
            tap->also_service = smbscope_service_name(smbscope_service(c->asked));
            tap->also_state = smbscope_state_name(smbscope_nb_state(c->asked));
            tap->also_verdict = smbscope_verdict_name(smbscope_verdict(c->asked, &bits));
        }
    }
    if (smbscope_is_smb_conn(c)) {
        tap->transport = transport_class_name(smbscope_transport(c).cls);
        char *buf = (char *)wmem_alloc(pinfo->pool, 16);
        tap->dialect = smbscope_dialect(c, buf, 16);
    }
    return tap;
}

/* iWARP (PT_IWARP_MPA) and InfiniBand (PT_IBQP) replace the packet's port
 * type and ports with their own; the connection is the TCP or UDP one
 * underneath, whose ports are the first tcp/udp port fields. */
struct saved_ports {
    port_type ptype;
    guint32 srcport, destport;
};

static bool transport_ports(packet_info *pinfo, proto_tree *tree, struct saved_ports *saved)
{
    static const struct { port_type above; port_type ptype; enum wf src, dst; } carriers[] = {
        { PT_IWARP_MPA, PT_TCP, WF_TCP_SRCPORT, WF_TCP_DSTPORT },
        { PT_IBQP, PT_UDP, WF_UDP_SRCPORT, WF_UDP_DSTPORT },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(carriers); i++) {
        guint64 sp, dp;
        if (pinfo->ptype != carriers[i].above || !tree)
            continue;
        wf_begin_packet();
        if (!wf_first_uint(tree, carriers[i].src, &sp) || !wf_first_uint(tree, carriers[i].dst, &dp))
            return false;
        saved->ptype = pinfo->ptype;
        saved->srcport = pinfo->srcport;
        saved->destport = pinfo->destport;
        pinfo->ptype = carriers[i].ptype;
        pinfo->srcport = (guint32)sp;
        pinfo->destport = (guint32)dp;
        return true;
    }
    return false;
}

static int dissect_flow(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree);

static int dissect_smbscope(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data _U_)
{
    struct saved_ports saved = { PT_NONE, 0, 0 };
    bool swapped = transport_ports(pinfo, tree, &saved);
    int n = dissect_flow(tvb, pinfo, tree);
    if (swapped) {
        pinfo->ptype = saved.ptype;
        pinfo->srcport = saved.srcport;
        pinfo->destport = saved.destport;
    }
    return n;
}

static int dissect_flow(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree)
{
    struct frame_rec *rec = (struct frame_rec *)p_get_proto_data(wmem_file_scope(), pinfo, proto_smbscope, 0);
    if (!rec && PINFO_FD_VISITED(pinfo))
        rec = late_rec(pinfo);
    if (!rec && !PINFO_FD_VISITED(pinfo))
        smbscope_capture_frame_drops(pinfo); /* every frame's, tree or not */
    if (!rec) {
        /* Only the first pass observes. */
        if (PINFO_FD_VISITED(pinfo) || !tree)
            return 0;
        guint32 events;
        struct smbscope_conv *c = smbscope_observe(pinfo, tree, &events);
        guint16 lost[LOSS_KIND_COUNT];
        bool any_lost = smbscope_capture_frame_losses(pinfo, tvb, tree, lost);
        if (!c && !any_lost)
            return 0;
        rec = wmem_new0(wmem_file_scope(), struct frame_rec);
        rec->conv = c;
        rec->events = c ? events : 0;
        memcpy(rec->lost, lost, sizeof rec->lost);
        if (c)
            rec->so_far = smbscope_so_far(c);
        p_add_proto_data(wmem_file_scope(), pinfo, proto_smbscope, 0, rec);
    }
    const struct smbscope_conv *c = rec->conv;
    bool flow = c && (smbscope_service(c) != NB_NONE || smbscope_is_smb_conn(c));
    bool any_lost = false;
    for (int k = 0; k < LOSS_KIND_COUNT; k++)
        any_lost |= rec->lost[k] != 0;
    if (!flow && !any_lost)
        return 0;

    proto_item *ti = proto_tree_add_item(tree, proto_smbscope, tvb, 0, 0, ENC_NA);
    proto_item_set_generated(ti);
    proto_tree *st = proto_item_add_subtree(ti, ett_smbscope);
    /* A frame is dissected again only after the first pass has seen the
     * whole capture: from then on the flow's state is final. */
    if (flow)
        smbscope_show(ti, st, tvb, pinfo, c, &rec->so_far, PINFO_FD_VISITED(pinfo));
    smbscope_show_losses(ti, st, tvb, pinfo, rec->lost, flow, PINFO_FD_VISITED(pinfo));
    add_expert(pinfo, ti, rec);
    tap_queue_packet(smbscope_tap_id, pinfo, tap_rec(pinfo, rec));
    return tvb_captured_length(tvb);
}

/* File-scope tables: created when a file is opened, dropped when it is
 * closed, so nothing of one file leaks into the next one opened in the
 * same Wireshark. */
static void smbscope_init(void)
{
    smbscope_capture_init();
    smbscope_udpflow_init();
    smbscope_carriers_init();
    smbscope_heur_guard_iwarp_port();
}

static void smbscope_cleanup(void)
{
    smbscope_udpflow_cleanup();
    smbscope_carriers_cleanup();
    smbscope_capture_cleanup();
    smbscope_stats_forget();
    wf_cleanup();
}

void proto_register_smbscope(void)
{
    static gint *ett[] = { &ett_smbscope };
    static ei_register_info ei[] = {
        { &ei_netbios, { "smbscope.expert.netbios", PI_SECURITY, PI_WARN, "NetBIOS traffic", EXPFILL } },
        { &ei_refused, { "smbscope.expert.netbios_refused", PI_SECURITY, PI_NOTE, "NetBIOS attempt refused", EXPFILL } },
        { &ei_negative, { "smbscope.expert.nbss_negative", PI_SECURITY, PI_NOTE,
            "NetBIOS session request refused (negative session response)", EXPFILL } },
        { &ei_smb1, { "smbscope.expert.smb1", PI_SECURITY, PI_WARN, "SMB1 negotiated", EXPFILL } },
        { &ei_nbss_offport, { "smbscope.expert.nbss_offport", PI_SECURITY, PI_WARN,
            "NBSS session framing on a port other than 139", EXPFILL } },
        { &ei_alt_port, { "smbscope.expert.alt_port", PI_PROTOCOL, PI_NOTE, "SMB on an alternative port", EXPFILL } },
        { &ei_unprotected, { "smbscope.expert.unprotected", PI_SECURITY, PI_NOTE,
            "SMB session neither signed nor encrypted", EXPFILL } },
        { &ei_decode_loss, { "smbscope.expert.decode_loss", PI_UNDECODED, PI_WARN,
            "Could not be decoded: the capture's verdict cannot be pass (decode-loss)", EXPFILL } },
    };

    proto_smbscope = proto_register_protocol("SMB transport audit", "smbscope", "smbscope");
    smbscope_show_register(proto_smbscope);
    proto_register_subtree_array(ett, array_length(ett));
    expert_module_t *em = expert_register_protocol(proto_smbscope);
    expert_register_field_array(em, ei, array_length(ei));

    smbscope_handle = register_dissector("smbscope", dissect_smbscope, proto_smbscope);
    register_postdissector(smbscope_handle);
    smbscope_tap_id = register_tap("smbscope");
    smbscope_prefs_register(proto_smbscope);
    register_init_routine(smbscope_init);
    register_cleanup_routine(smbscope_cleanup);
    smbscope_heur_register(proto_smbscope);
}

void proto_reg_handoff_smbscope(void)
{
    smbscope_fields_init(smbscope_handle);
    smbscope_heur_handoff();
    smbscope_capture_handoff();
}
