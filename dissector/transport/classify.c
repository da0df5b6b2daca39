/* classify.c - transport classification as an ordered rule table.
 *
 * The first rule whose predicate holds decides the class.  The order encodes
 * the policy, written down once:
 *   1. NBSS session setup (0x81..0x84) is proof of NetBIOS framing: nbt on
 *      139, nbt-nonstandard-port anywhere else (e.g. NBSS on 445 is a finding).
 *   2. Port 139 is the NetBIOS session service by definition (RFC 1002),
 *      e.g. a 139 connection whose session request preceded the capture.
 *   3. A connection whose handshake we did not see could have had an NBSS
 *      session request before the capture began: unknown-start.
 *   0. A QUIC carrier is SMB over QUIC whatever else: it exists only
 *      because the ClientHello offered ALPN "smb" (MS-SMB2 2.1), and NBSS
 *      rules do not apply to it.
 *   0. SMB Direct decides by its carrier: the MPA/DDP/RDMAP or RoCEv2
 *      framing that delivered the messages is the proof (rdma-iwarp on any
 *      TCP port, rdma-roce on UDP 4791); NBSS cannot appear inside it.
 *   4. Otherwise direct-hosted SMB.  A bare keep-alive (0x85) does not make a
 *      connection NetBIOS: smbd sends 0x85 on idle SMB1 sessions on 445 too,
 *      and MS-SMB2's direct transport shares the 4-byte header layout; it is
 *      reported as evidence (EV_KEEPALIVE_ON_DIRECT), not as a class.
 */
#include "classify.h"

#include <stdio.h>
#include <string.h>

static bool nbss_setup_seen(const struct transport_obs *o)
{
    return o->session_requests || o->positive_responses || o->negative_responses || o->retarget_responses;
}

static bool r_quic(const struct transport_obs *o) { return o->carrier == CARRIER_QUIC; }
static bool r_setup_on_139(const struct transport_obs *o) { return nbss_setup_seen(o) && o->server_port == 139; }
static bool r_setup_elsewhere(const struct transport_obs *o) { return nbss_setup_seen(o); }
static bool r_port_139(const struct transport_obs *o) { return o->server_port == 139; }
static bool r_midstream(const struct transport_obs *o) { return !o->handshake_seen; }
static bool r_always(const struct transport_obs *o) { (void)o; return true; }
static bool r_iwarp(const struct transport_obs *o) { return o->carrier == CARRIER_RDMA_IWARP; }
static bool r_roce(const struct transport_obs *o) { return o->carrier == CARRIER_RDMA_ROCE; }

static const struct {
    bool (*holds)(const struct transport_obs *);
    enum transport_class cls;
    uint32_t evidence;
} rules[] = {
    { r_quic, TRANSPORT_QUIC, EV_QUIC_ALPN },
    { r_iwarp, TRANSPORT_RDMA_IWARP, EV_RDMA_IWARP },
    { r_roce, TRANSPORT_RDMA_ROCE, EV_RDMA_ROCE },
    { r_setup_on_139, TRANSPORT_NBT, EV_NBSS_HANDSHAKE | EV_PORT_139 },
    { r_setup_elsewhere, TRANSPORT_NBT_NONSTANDARD_PORT, EV_NBSS_HANDSHAKE },
    { r_port_139, TRANSPORT_NBT, EV_PORT_139 },
    { r_midstream, TRANSPORT_UNKNOWN_START, EV_NO_TCP_HANDSHAKE },
    { r_always, TRANSPORT_DIRECT, EV_DIRECT_FRAMING },
};

struct transport_verdict transport_classify(const struct transport_obs *o)
{
    struct transport_verdict v = { TRANSPORT_NONE, 0 };
    /* A connection that carried nothing (a refused or unanswered SYN, even
     * to 139) is not an SMB connection: the NetBIOS ledger reports it. */
    /* ALPN "smb" (QUIC) and an SMB Direct negotiate or data transfer
     * message (MS-SMBD serves only SMB2) say SMB even before an SMB
     * message. */
    bool anything = o->session_messages || o->smb_messages || o->keepalives || nbss_setup_seen(o)
        || o->carrier == CARRIER_QUIC || o->smbd_negotiates || o->smbd_data;
    if (!anything)
        return v;
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        if (rules[i].holds(o)) {
            v.cls = rules[i].cls;
            v.evidence = rules[i].evidence;
            break;
        }
    }
    /* Supporting observations, whatever the rule. */
    if (o->keepalives)
        v.evidence |= (v.cls == TRANSPORT_DIRECT) ? EV_KEEPALIVE_ON_DIRECT : EV_NBSS_KEEPALIVE;
    if (o->length_over_17bit)
        v.evidence |= EV_LENGTH_OVER_17BIT;
    if (!o->handshake_seen)
        v.evidence |= EV_NO_TCP_HANDSHAKE;
    if (o->carrier == CARRIER_TCP ? (o->server_port != 139 && o->server_port != 445)
                                  : o->server_port != transport_carrier_port(o->carrier))
        v.evidence |= EV_ALT_PORT;
    return v;
}

uint16_t transport_carrier_port(enum transport_carrier carrier)
{
    static const uint16_t ports[CARRIER_COUNT] = { [CARRIER_TCP] = 445, [CARRIER_QUIC] = 443,
                                                     [CARRIER_RDMA_IWARP] = SMBD_IWARP_PORT,
                                                     [CARRIER_RDMA_ROCE] = ROCEV2_UDP_PORT };
    return (unsigned)carrier < CARRIER_COUNT ? ports[carrier] : 0;
}

bool transport_is_alt_port(enum transport_class cls, uint16_t port)
{
    if (cls == TRANSPORT_RDMA_IWARP)
        return port != SMBD_IWARP_PORT;
    if (cls == TRANSPORT_RDMA_ROCE)
        return port != ROCEV2_UDP_PORT;
    if (cls == TRANSPORT_QUIC)
        return port != transport_carrier_port(CARRIER_QUIC);
    return port != 139 && port != 445;
}

static const struct {
    enum transport_class cls;
    const char *name;
    const char *description;
} classes[] = {
    { TRANSPORT_NONE, "none", "no SMB seen" },
    { TRANSPORT_DIRECT, "direct", "direct-hosted SMB (MS-SMB2 2.1)" },
    { TRANSPORT_NBT, "nbt", "NetBIOS session service (RFC 1002 NBSS)" },
    { TRANSPORT_NBT_NONSTANDARD_PORT, "nbt-nonstandard-port", "NBSS session framing on a port other than 139" },
    { TRANSPORT_UNKNOWN_START, "unknown-start", "capture began mid-connection; session setup unseen" },
    { TRANSPORT_QUIC, "quic", "SMB over QUIC (MS-SMB2 2.1, ALPN \"smb\")" },
    { TRANSPORT_RDMA_IWARP, "rdma-iwarp", "SMB Direct (MS-SMBD) over iWARP (MPA/DDP/RDMAP on TCP)" },
    { TRANSPORT_RDMA_ROCE, "rdma-roce", "SMB Direct (MS-SMBD) over RoCEv2 (InfiniBand BTH on UDP 4791)" },
};

const char *transport_class_name(enum transport_class cls)
{
    return (unsigned)cls < TRANSPORT_CLASS_COUNT ? classes[cls].name : "none";
}

const char *transport_class_description(enum transport_class cls)
{
    return (unsigned)cls < TRANSPORT_CLASS_COUNT ? classes[cls].description : classes[0].description;
}

static const struct {
    uint32_t bit;
    const char *text;
} evidence_texts[] = {
    { EV_NBSS_HANDSHAKE, "NBSS session request/response seen" },
    { EV_NBSS_KEEPALIVE, "NBSS keep-alives seen" },
    { EV_PORT_139, "server port 139" },
    { EV_NO_TCP_HANDSHAKE, "TCP handshake not captured" },
    { EV_LENGTH_OVER_17BIT, "message length above NBSS's 17-bit limit" },
    { EV_DIRECT_FRAMING, "only direct 0x00+length framing" },
    { EV_KEEPALIVE_ON_DIRECT, "0x85 keep-alives on a direct connection" },
    /* one word for every carrier: its standard port is in classify.h */
    { EV_ALT_PORT, "alternative port (not TCP 139/445, QUIC 443 or iWARP 5445)" },
    { EV_QUIC_ALPN, "QUIC ClientHello offered ALPN \"smb\"" },
    { EV_RDMA_IWARP, "MPA FPDUs carried SMBD" },
    { EV_RDMA_ROCE, "RoCEv2 RC SENDs carried SMBD" },
};

const char *transport_evidence_text(uint32_t evidence, char *buf, size_t buflen)
{
    if (!buf || !buflen)
        return "";
    buf[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < sizeof evidence_texts / sizeof evidence_texts[0]; i++) {
        if (!(evidence & evidence_texts[i].bit))
            continue;
        int n = snprintf(buf + used, buflen - used, "%s%s", used ? ", " : "", evidence_texts[i].text);
        if (n < 0 || (size_t)n >= buflen - used)
            break;
        used += (size_t)n;
    }
    return buf;
}

/* One row per NBSS message type: its names and the transport_obs counter
 * a header of that type adds to (the command's framer and the plugin both
 * count through transport_obs_count_nbss()). */
static const struct {
    uint8_t type;
    const char *key;
    const char *name;
    size_t counter; /* offsetof(struct transport_obs, ...) */
} nbss_types[] = {
    { NBSS_SESSION_MESSAGE, "message", "session message", offsetof(struct transport_obs, session_messages) },
    { NBSS_SESSION_REQUEST, "request", "session request", offsetof(struct transport_obs, session_requests) },
    { NBSS_POSITIVE_RESPONSE, "positive", "positive session response", offsetof(struct transport_obs, positive_responses) },
    { NBSS_NEGATIVE_RESPONSE, "negative", "negative session response", offsetof(struct transport_obs, negative_responses) },
    { NBSS_RETARGET_RESPONSE, "retarget", "retarget session response", offsetof(struct transport_obs, retarget_responses) },
    { NBSS_KEEPALIVE, "keepalive", "session keep-alive", offsetof(struct transport_obs, keepalives) },
};

static int nbss_type_row(uint8_t type)
{
    for (size_t i = 0; i < sizeof nbss_types / sizeof nbss_types[0]; i++)
        if (nbss_types[i].type == type)
            return (int)i;
    return -1;
}

const char *nbss_type_name(uint8_t type)
{
    int i = nbss_type_row(type);
    return i < 0 ? NULL : nbss_types[i].name;
}

const char *nbss_type_key(uint8_t type)
{
    int i = nbss_type_row(type);
    return i < 0 ? NULL : nbss_types[i].key;
}

bool transport_obs_count_nbss(struct transport_obs *o, uint8_t type, uint32_t len)
{
    int i = nbss_type_row(type);
    if (i < 0)
        return false;
    uint32_t *counter = (uint32_t *)(void *)((char *)o + nbss_types[i].counter);
    (*counter)++;
    if (type == NBSS_SESSION_MESSAGE) {
        if (len > o->largest_message)
            o->largest_message = len;
        if (len > NBSS_MAX_LENGTH)
            o->length_over_17bit = true;
    }
    return true;
}
