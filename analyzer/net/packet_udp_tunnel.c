/* packet_udp_tunnel.c - what a UDP tunnel carries: its header read past,
 * the kind of packet inside named (packet_priv.h PKT_INNER_*), as tshark
 * decodes each on its UDP port (either end of the datagram, the lower
 * first: pkt_udp_carriers()):
 *   VXLAN (4789, RFC 7348): Ethernet, whatever its flags say;
 *   VXLAN-GPE (4790): its next-protocol field (IPv4, IPv6, Ethernet, MPLS);
 *   Geneve (6081, RFC 8926): its protocol type, of any version;
 *   MPLS in UDP (6635, RFC 7510): a label stack;
 *   GTP-U (2152, 3GPP TS 29.281): a G-PDU's IPv4 or IPv6 packet;
 *   Teredo (3544, RFC 4380): IPv6, after its authentication and origin
 *     indications;
 *   L2TPv2 (1701, RFC 2661): a data message's PPP frame.
 * What a tunnel header does not say is opened (a control message, another
 * protocol inside) stays the UDP datagram it is.  Review: each of these
 * passed with NetBIOS inside while tshark and the plugin showed it. */
#include "packet_priv.h"

/* VXLAN-GPE's next protocol (0: not opened; NSH and the rest). */
static uint16_t gpe_inner(uint8_t next)
{
    static const uint16_t inner[] = { [1] = ETH_IPV4, [2] = ETH_IPV6, [3] = PKT_INNER_ETHERNET, [5] = ETH_MPLS };
    return next < sizeof inner / sizeof inner[0] ? inner[next] : 0;
}

static uint16_t open_vxlan(struct wire *w, size_t len)
{
    return wire_skip(w, 8) ? PKT_INNER_ETHERNET : 0;
}

static uint16_t open_gpe(struct wire *w, size_t len)
{
    const uint8_t *h = wire_bytes(w, 8);
    return h ? gpe_inner(h[3]) : 0;
}

static uint16_t open_geneve(struct wire *w, size_t len)
{
    const uint8_t *h = wire_bytes(w, 8);
    if (!h)
        return 0;
    uint16_t proto = load_u16be(h + 2);
    bool opened = proto == PKT_INNER_ETHERNET || proto == ETH_IPV4 || proto == ETH_IPV6 || proto == ETH_MPLS ||
                  proto == ETH_MPLS_MC;
    return opened && wire_skip(w, (size_t)(h[0] & 0x3F) * 4) ? proto : 0;
}

static uint16_t open_mpls_udp(struct wire *w, size_t len) { return wire_has(w, 4) ? ETH_MPLS : 0; }

/* An IP packet by its version (GTP-U and Teredo carry no type). */
static uint16_t ip_by_nibble(const struct wire *w)
{
    if (!wire_has(w, 1))
        return 0;
    unsigned v = wire_peek_u8(w, 0) >> 4;
    return v == 4 ? ETH_IPV4 : v == 6 ? ETH_IPV6 : 0;
}

#define GTP_VERSION_1 0x20u
#define GTP_PT 0x10u
#define GTP_OPTIONAL 0x07u /* E, S, PN: sequence number, N-PDU number, next extension type follow */
#define GTP_E 0x04u        /* the next extension type is one */
#define GTP_G_PDU 0xFF
#define GTP_MAX_EXTENSIONS 16

static uint16_t open_gtpu(struct wire *w, size_t len)
{
    const uint8_t *h = wire_bytes(w, 8);
    if (!h || (h[0] & 0xE0) != GTP_VERSION_1 || !(h[0] & GTP_PT) || h[1] != GTP_G_PDU ||
        (size_t)load_u16be(h + 2) + 8 != len)
        return 0;
    if (h[0] & GTP_OPTIONAL) {
        const uint8_t *o = wire_bytes(w, 4);
        uint8_t next = o && (h[0] & GTP_E) ? o[3] : 0;
        for (int i = 0; next && i < GTP_MAX_EXTENSIONS; i++) { /* length in 4-octet units, the next type last */
            uint8_t units = wire_u8(w);
            if (!units || !wire_skip(w, (size_t)units * 4 - 2))
                return 0;
            next = wire_u8(w);
        }
        if (!o || next || !wire_ok(w))
            return 0;
    }
    return ip_by_nibble(w);
}

#define TEREDO_AUTH 0x0001
#define TEREDO_ORIGIN 0x0000
#define TEREDO_ORIGIN_LEN 8

static uint16_t open_teredo(struct wire *w, size_t len)
{
    size_t start = w->off;
    if (wire_has(w, 2) && load_u16be(w->p + w->off) == TEREDO_AUTH) { /* id and auth lengths, then nonce, confirmation */
        const uint8_t *a = wire_bytes(w, 4);
        if (!a || !wire_skip(w, (size_t)a[2] + a[3] + 8 + 1))
            return 0;
    }
    if (wire_has(w, 2) && load_u16be(w->p + w->off) == TEREDO_ORIGIN && !wire_skip(w, TEREDO_ORIGIN_LEN))
        return 0;
    /* an IPv6 header whose payload length is the rest of the datagram */
    size_t at = w->off - start;
    if (ip_by_nibble(w) != ETH_IPV6 || !wire_has(w, 6) || (size_t)load_u16be(w->p + w->off + 4) + 40 + at != len)
        return 0;
    return ETH_IPV6;
}

#define L2TP_CONTROL 0x8000u
#define L2TP_LENGTH 0x4000u
#define L2TP_SEQUENCE 0x0800u
#define L2TP_OFFSET 0x0200u
#define L2TP_VERSION_MASK 0x000Fu

static uint16_t open_l2tp(struct wire *w, size_t len)
{
    uint16_t flags = wire_u16be(w);
    if (!wire_ok(w) || (flags & L2TP_CONTROL) || (flags & L2TP_VERSION_MASK) != 2)
        return 0;
    if ((flags & L2TP_LENGTH) && wire_has(w, 2) && load_u16be(w->p + w->off) != len)
        return 0;
    size_t skip = ((flags & L2TP_LENGTH) ? 2 : 0) + 4 + ((flags & L2TP_SEQUENCE) ? 4 : 0);
    if (!wire_skip(w, skip))
        return 0;
    if (flags & L2TP_OFFSET) {
        uint16_t pad = wire_u16be(w);
        if (!wire_ok(w) || !wire_skip(w, pad))
            return 0;
    }
    return wire_has(w, 1) ? PKT_INNER_PPP : 0;
}

/* Each on its port (pkt_udp_carriers() chose it); the tunnels whose header
 * names no protocol (GTP-U, Teredo, L2TP) only when their lengths agree
 * with the datagram's (a client's ephemeral port may be one of theirs):
 * `checked`, a datagram they do not open goes to its other port, as tshark's
 * GTP and L2TP dissectors reject it and its UDP tries the next.  The others
 * take whatever comes on their port, as tshark's. */
static const struct {
    uint16_t port;
    uint16_t (*open)(struct wire *w, size_t len);
    bool checked;
} tunnels[] = {
    { VXLAN_PORT, open_vxlan, false },       { VXLAN_GPE_PORT, open_gpe, false }, { GENEVE_PORT, open_geneve, false },
    { MPLS_UDP_PORT, open_mpls_udp, false }, { GTPU_PORT, open_gtpu, true },      { TEREDO_PORT, open_teredo, true },
    { L2TP_PORT, open_l2tp, true },
};

uint16_t pkt_udp_tunnel_inner(uint16_t port, struct wire *w, size_t len, bool *declined)
{
    *declined = false;
    for (size_t i = 0; i < sizeof tunnels / sizeof tunnels[0]; i++)
        if (tunnels[i].port == port) {
            uint16_t inner = tunnels[i].open(w, len);
            *declined = !inner && tunnels[i].checked && wire_ok(w); /* not: its header cut by the snaplen */
            return inner;
        }
    return 0;
}
