/* smbscope.h - what the plugin's files share: the per-conversation state,
 * the per-packet observation read from Wireshark's own fields, and the
 * record the tap hands to the statistics tree.
 *
 * Parsing is Wireshark's (nbss, smb, smb2, nbns, nbdgm, icmp, tcp...);
 * judgements are libsmbscope's (transport_classify(), policy_check_*(),
 * smb2_dialect_name()), so the plugin and the command cannot disagree on
 * what a connection is. */
#ifndef SMBSCOPE_PLUGIN_H
#define SMBSCOPE_PLUGIN_H

#include <wireshark.h>
#include <epan/conversation.h>
#include <epan/packet.h>

#include "classify.h"
#include "decode_loss.h"
#include "policy.h"
#include "roce_pair.h"

/* NetBIOS service of a flow, by port (RFC 1002). */
enum nb_service { NB_NONE = 0, NB_NBNS, NB_NBDGM, NB_NBSS };

/* What is known of a NetBIOS flow. */
enum nb_state { NBST_UNKNOWN = 0, NBST_ESTABLISHED, NBST_REFUSED, NBST_NO_ANSWER, NBST_DATAGRAM };

/* How sure we are of which side is the client; stronger evidence wins. */
enum dir_strength { DIR_NONE = 0, DIR_PORT, DIR_APP, DIR_TCP_SYN };

/* smbscope.dialect's number for a connection that chose SMB1: below every
 * SMB2 code, so `smbscope.dialect < 0x0300` includes SMB1 too. */
#define SMBSCOPE_DIALECT_SMB1 0x0100

/* A flow's verdict under the policy (the command's pass / fail / inconclusive). */
enum smbscope_verdict {
    SMBSCOPE_VERDICT_NONE = 0, SMBSCOPE_VERDICT_PASS, SMBSCOPE_VERDICT_FAIL, SMBSCOPE_VERDICT_INCONCLUSIVE
};

/* The flow as known right after one packet, kept with that frame: what its
 * "so far" fields show on every dissection. */
struct smbscope_so_far {
    guint32 violations;  /* 1u << enum policy_rule */
    guint16 dialect;     /* smbscope_dialect_code(), 0 none */
    guint8 nb_state;     /* enum nb_state */
    guint8 transport;    /* enum transport_class, TRANSPORT_NONE when not SMB */
    guint8 verdict;      /* enum smbscope_verdict */
};

#define SMBSCOPE_MAX_OFFERED 24   /* dialects remembered per connection */
#define SMBSCOPE_MAX_NAME 64      /* bytes kept of one SMB1 dialect string */

/* Per-frame events, decided on the first pass and kept with the frame so a
 * re-dissection raises the same expert items. */
enum frame_event {
    FEV_NETBIOS_FIRST = 1u << 0,   /* first packet of a NetBIOS flow */
    FEV_REFUSED = 1u << 1,         /* this packet refuses a NetBIOS attempt (RST / ICMP) */
    FEV_NEGATIVE = 1u << 2,        /* NBSS negative session response */
    FEV_SMB1 = 1u << 3,            /* negotiate response choosing an SMB1 dialect */
    FEV_NBSS_OFFPORT = 1u << 4,    /* NBSS session setup on a port other than 139 */
    FEV_ALT_PORT = 1u << 5,        /* first SMB message of a connection on an alternative port */
    FEV_UNPROTECTED = 1u << 6,     /* session set up with neither signing nor encryption */
    FEV_ICMP_ABOUT = 1u << 7,      /* ICMP error quoting a packet of the flow */
};

/* What a QUIC packet's connection is to the decode-loss count (loss.c). */
enum smbscope_quic_role {
    QUIC_ROLE_UNREAD = 0,  /* no ClientHello read yet: could be SMB */
    QUIC_ROLE_SMB,         /* its ClientHello offers ALPN "smb" */
    QUIC_ROLE_NOT_SMB,     /* its ClientHello offers no "smb" */
};

struct smbscope_conv {
    bool is_tcp;
    guint32 first_frame;
    address client;
    guint16 client_port, server_port;
    enum dir_strength dir;

    /* NetBIOS flow.  UDP: one flow per client end and service, answers
     * included (udpflow.c); TCP: the connection. */
    enum nb_service udp_service;   /* UDP only; TCP derives it (smbscope_service()) */
    bool nb_icmp_refused;
    bool nb_answered;              /* UDP: something came back from the service port */
    struct smbscope_conv *asked;   /* UDP: the flow whose query this one answers (from another address) */
    bool nb_not_only_queries;      /* UDP: a datagram other than an NBNS name query */
    bool nb_synack, nb_rst_from_server;
    bool netbios_announced;        /* TCP: the expert item for it was raised */
    address udp_server;            /* UDP: where the flow's first request went */
    address end_a, end_b;          /* TCP: the first packet's sender and receiver... */
    guint16 end_a_port;
    guint32 end_a_pkts, end_b_pkts;/* ...and how many packets each end sent */

    /* SMB connection */
    bool heur_claimed;             /* our TCP heuristic handed it to NBSS */
    bool mpa_key_seen;             /* TCP 5445: the stream opened with an MPA key (heur.c) */
    struct transport_obs obs;
    guint32 first_smb_frame;
    bool smb1_seen, smb2_seen;
    guint16 smb2_dialect;          /* chosen; 0 none */
    bool smb1_chosen;
    char smb1_dialect[SMBSCOPE_MAX_NAME];
    unsigned n_offered;
    const char *offered[SMBSCOPE_MAX_OFFERED]; /* file-scope copies */
    unsigned n_smb1_offer;         /* the last SMB1 NEGOTIATE request's list, in order, */
    const char *smb1_offer[SMBSCOPE_MAX_OFFERED]; /* for resolving smb.dialect.index */
    bool negotiate_seen;           /* a NEGOTIATE response was decoded */
    bool signing_required;         /* either side's security mode required it */
    bool server_sign_enabled;      /* the server's NEGOTIATE response enabled it */
    bool signed_seen;
    bool encrypted;
    bool content_lost;             /* segments not captured, or cut by the snap length */
    bool session_up;               /* a session setup succeeded */
    /* The logon in progress: what its security blobs used, settled by the
     * SESSION_SETUP response (a failed logon authenticates nobody). */
    bool pending_krb, pending_ntlm, pending_anonymous;
    guint8 pending_mech;           /* enum auth_mech of the blobs, 0 none */
    guint32 sessions_kerberos, sessions_ntlm, sessions_other; /* established, by mechanism */
    bool auth_null, auth_guest;    /* an established session was anonymous / guest */
    const char *auth_word;         /* the first established session's: "kerberos", "anonymous" ... */

    /* Carriers other than TCP (carriers.c): obs.carrier says which. */
    bool quic;                     /* a QUIC conversation (SMB or not) */
    guint32 quic_version;          /* of the client's first Initial; 0 unseen */
    guint32 quic_conn;             /* Wireshark's quic.connection.number + 1; 0 none yet */
    const char *sni;               /* the first ClientHello's server_name, file scope; NULL none */
    guint8 roce_halves;            /* RoCEv2: directions (queue pairs) joined so far, 1 or 2 */
    struct roce_psns roce_psn0;    /* RoCEv2: the first direction's PSNs while it is alone (carriers.c) */
};

/* Record passed to the "smbscope" tap (one per packet with state). */
struct smbscope_tap_rec {
    const struct smbscope_conv *conv;
    const char *transport;    /* NULL when not an SMB connection */
    const char *dialect;      /* NULL when not chosen yet */
    const char *service;      /* NULL when not NetBIOS */
    const char *state;        /* NULL when unknown */
    /* The flow this packet answered from another address (a broadcast
     * query): its state changed too, so the statistics relabel it. */
    const struct smbscope_conv *also;
    const char *also_service, *also_state;
    const char *verdict;      /* the flow's verdict now; NULL for a frame of no flow */
    const char *also_verdict;
    const guint16 *lost;      /* this frame's decode losses by kind (enum decode_loss_kind); NULL none */
};

/* state.c: names and judgements over a conversation's state. */
const char *smbscope_service_name(enum nb_service s);
enum nb_service smbscope_service(const struct smbscope_conv *c);
const char *smbscope_state_name(enum nb_state s);
enum nb_state smbscope_nb_state(const struct smbscope_conv *c);
bool smbscope_is_smb_conn(const struct smbscope_conv *c);
struct transport_verdict smbscope_transport(const struct smbscope_conv *c);
/* Chosen dialect for display; buf receives unknown codes. NULL when none. */
const char *smbscope_dialect(const struct smbscope_conv *c, char *buf, size_t buflen);
int smbscope_smb_version(const struct smbscope_conv *c);
const char *smbscope_signing(const struct smbscope_conv *c);
const char *smbscope_encryption(const struct smbscope_conv *c);
const char *smbscope_auth(const struct smbscope_conv *c);
/* What the shared policy needs to know of an SMB connection. */
struct policy_conn_facts smbscope_conn_facts(const struct smbscope_conv *c);
/* The numeric smbscope.dialect: the SMB2 code, SMBSCOPE_DIALECT_SMB1, or 0. */
guint16 smbscope_dialect_code(const struct smbscope_conv *c);
/* The server end (NetBIOS UDP: where the first request went). */
const address *smbscope_server(const struct smbscope_conv *c);
/* Bit (1u << rule) for every rule of the policy (preferences) the flow breaks. */
guint32 smbscope_violations(const struct smbscope_conv *c);
/* Bit (1u << rule) for every enabled rule the capture cannot decide for
 * this flow (policy_undecided_connection()). */
guint32 smbscope_undecided(const struct smbscope_conv *c);
/* The flow's verdict; *bits receives smbscope_violations(). */
enum smbscope_verdict smbscope_verdict(const struct smbscope_conv *c, guint32 *bits);
struct smbscope_so_far smbscope_so_far(const struct smbscope_conv *c);
void smbscope_offer(struct smbscope_conv *c, const char *name);
/* A file-scope copy of a UTF-8 string cut to fewer than `cap` bytes on a
 * character boundary (Wireshark strings must stay valid UTF-8). */
char *smbscope_strdup_bounded(const char *s, size_t cap);
/* The same into a fixed buffer of `cap` bytes. */
void smbscope_strcpy_bounded(char *dst, const char *s, size_t cap);

/* prefs.c: the policy options as preferences. */
void smbscope_prefs_register(int proto);
const struct policy *smbscope_policy(void);

/* show.c: the fields, the tree's top line and the Info column. */
void smbscope_show_register(int proto);
const char *smbscope_verdict_name(enum smbscope_verdict v);
/* final: the frame is dissected after the first pass, the flow's state is
 * the whole capture's; otherwise only `sf` (this packet's past) is shown. */
void smbscope_show(proto_item *ti, proto_tree *st, tvbuff_t *tvb, packet_info *pinfo,
                   const struct smbscope_conv *c, const struct smbscope_so_far *sf, bool final);
/* The frame's own decode losses (decided on the first pass, shown on every
 * pass) and, when final, the whole input's verdict and losses. */
void smbscope_show_losses(proto_item *ti, proto_tree *st, tvbuff_t *tvb, packet_info *pinfo,
                          const guint16 *lost, bool has_flow, bool final);

/* stats.c */
void smbscope_register_stats(void);
/* Drop the statistics' per-flow bookkeeping (the file is being closed). */
void smbscope_stats_forget(void);

/* heur.c */
void smbscope_heur_register(int proto);
void smbscope_heur_handoff(void);
/* Put the iWARP guard on TCP 5445 (at each file's init routine). */
void smbscope_heur_guard_iwarp_port(void);

/* udpflow.c: NetBIOS UDP flows, keyed like the command's ledger; the
 * tables live from a file's init routine to its cleanup routine. */
void smbscope_udpflow_init(void);
void smbscope_udpflow_cleanup(void);
/* Number of live tables: 0 between files, 3 while one is open. */
guint smbscope_udpflow_tables(void);
/* The flow a request from client:cport to server:service belongs to. */
struct smbscope_conv *smbscope_udpflow_get(const address *client, guint32 cport, const address *server,
                                           guint32 service, guint32 frame);
/* The first flow of client:cport to `service`, whatever the server; NULL if none. */
struct smbscope_conv *smbscope_udpflow_by_client(const address *client, guint32 cport, guint32 service);
void smbscope_udpflow_query(const address *client, guint32 cport, guint16 id, struct smbscope_conv *c);
/* The flow whose query has this id (and forget it), or NULL. */
struct smbscope_conv *smbscope_udpflow_answer(const address *client, guint32 cport, guint16 id);

/* carriers.c: SMB over QUIC (UDP conversations whose ClientHello offers
 * ALPN "smb") and SMB Direct over RoCEv2 (UDP 4791 queue-pair pairs), read
 * from Wireshark's quic, tls, infiniband and smb_direct fields.  NULL when
 * the packet is neither. */
struct smbscope_conv *smbscope_observe_quic(packet_info *pinfo, proto_tree *tree, guint32 *events);
struct smbscope_conv *smbscope_observe_roce(packet_info *pinfo, proto_tree *tree, guint32 *events);
void smbscope_carriers_init(void);
void smbscope_carriers_cleanup(void);

/* loss.c: the whole input's decode losses and verdict (file scope, from
 * the init routine to the cleanup routine). */
/* At handoff: Wireshark's ESP NULL-encryption heuristic on (loss.c). */
void smbscope_capture_handoff(void);
void smbscope_capture_init(void);
void smbscope_capture_cleanup(void);
/* Every flow state, when it is created (for the capture's verdict). */
void smbscope_capture_track(struct smbscope_conv *c);
/* Whether this RoCEv2 frame's ICRC is bad (roce_icrc_check(), as the
 * command checks it; a frame it cannot check is not bad). */
bool smbscope_roce_icrc_bad(proto_tree *tree);
/* First pass: this frame's losses by kind into lost[], added to the
 * totals; true when any. */
bool smbscope_capture_frame_losses(packet_info *pinfo, tvbuff_t *tvb, proto_tree *tree,
                                   guint16 lost[LOSS_KIND_COUNT]);
const struct decode_losses *smbscope_capture_losses(void);
/* First pass: the packets this frame's packet block says were lost before
 * it (pcapng epb_dropcount), added to the whole input's; and that sum. */
void smbscope_capture_frame_drops(packet_info *pinfo);
guint64 smbscope_capture_drops(void);
/* The whole input's verdict (the command's outcome): fail when a flow
 * breaks a rule, else inconclusive when a flow is undecided, a packet was
 * lost or the capture dropped packets, else pass.  Final once the first pass is over. */
enum smbscope_verdict smbscope_capture_verdict(void);
/* carriers.c: the role of the QUIC connection of this packet (observed). */
enum smbscope_quic_role smbscope_quic_role(packet_info *pinfo, proto_tree *tree);

/* postdissector.c */
void proto_register_smbscope(void);
void proto_reg_handoff_smbscope(void);
struct smbscope_conv *smbscope_conv_get(conversation_t *conv, guint32 frame, bool is_tcp);
extern int smbscope_tap_id;

#endif
