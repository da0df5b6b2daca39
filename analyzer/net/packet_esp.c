/* packet_esp.c - IPsec ESP (IP protocol 50, RFC 4303): opened where it is
 * NULL-encrypted, as tshark opens it with its preference
 * esp.enable_null_encryption_decode_heuristic (RFC 5879's heuristics); any
 * other ESP is encrypted without keys here: PKT_ENCRYPTED_ESP, a decode
 * loss, never a packet silently passed over.
 *
 * ESP is SPI (4), sequence number (4), the payload, padding, a pad length
 * octet, a next-header octet, then an integrity check value (ICV) whose
 * length only the security association knows.  The heuristic tries the
 * ICV lengths of the common integrity algorithms, smallest first (12:
 * HMAC-SHA1-96 / MD5-96, 16: SHA-256-128, 24: SHA-384-192, 32:
 * SHA-512-256); a length fits when the octet before the ICV names a
 * protocol, the pad length fits the datagram, and the padding is RFC
 * 4303's default 1, 2, 3, ...  The first that fits is taken. */
#include "packet_priv.h"

#define ESP_HEADER 8
#define ESP_TRAILER 2 /* pad length, next header */

static const uint8_t icv_lengths[] = { 12, 16, 24, 32 };

/* Next headers the heuristic takes, as tshark 4.0 takes them: the IP
 * protocols of its "ip.proto" table (`tshark -G decodes`) whose dissector
 * takes any payload, and the ones this decoder opens itself (IPv6, SCTP,
 * ICMPv6 in IPv6; the transports are checked further below).  A NULL-ESP
 * packet of one the command does not decode (OSPF, PIM, IGMP, EtherIP
 * ...) is that protocol's, as outside ESP: another IP protocol, counted,
 * not a loss.  tshark's other dissectors (hop-by-hop options, AH, VRRP,
 * EIGRP, RSVP ...) look at what they are given before they take it (a
 * zero octet names hop-by-hop options); taken blindly here they would
 * open encrypted ESP whose trailer happens to name them: those, and next
 * headers no dissector takes (59, "no next header": RFC 4303's dummy
 * packets; unassigned numbers), stay encrypted, a loss. */
static const uint8_t esp_next_headers[] = {
    1, 2, 4, 6, 17, 33, 41, 44, 47, 50, 53, 54, 80, 83, 89, 93, 97, 103, 106, 108, 113, 115, 132, 136, 137, 143, 173, 224,
};

static bool esp_next_known(uint8_t nh, bool v6)
{
    if (nh == IPPROTO_V6_ICMP)
        return v6;
    for (size_t i = 0; i < sizeof esp_next_headers; i++)
        if (esp_next_headers[i] == nh)
            return true;
    return false;
}

/* Where tshark's transport dissector would reject the payload (and the
 * heuristic go on to the next ICV length): a TCP header whose length does
 * not fit, a UDP length that is not the payload's. */
static bool esp_inner_fits(uint8_t nh, const uint8_t *p, size_t captured, size_t len)
{
    if (nh == IPPROTO_V_TCP) {
        if (len < 20 || captured < 13)
            return len >= 20;
        size_t doff = (size_t)(p[12] >> 4) * 4;
        return doff >= 20 && doff <= len;
    }
    if (nh == IPPROTO_V_UDP)
        return len >= 8 && (captured < 6 || load_u16be(p + 4) == len);
    return true;
}

enum packet_status pkt_decode_esp(struct packet *pkt, struct l4_in *in)
{
    size_t captured = min_u32((uint32_t)wire_left(&in->w), in->wire_len);
    const uint8_t *p = captured ? in->w.p + in->w.off : NULL;
    size_t len = in->wire_len;
    bool any_trailer = false;
    for (size_t i = 0; i < sizeof icv_lengths; i++) {
        size_t icv = icv_lengths[i];
        if (len < ESP_HEADER + ESP_TRAILER + icv)
            break;
        size_t at = len - icv - ESP_TRAILER; /* the pad length octet */
        if (at + ESP_TRAILER > captured)
            continue; /* not captured: tshark does not try it either */
        any_trailer = true;
        uint8_t pad = p[at], nh = p[at + 1];
        if (!esp_next_known(nh, in->v6) || ESP_HEADER + (size_t)pad > at)
            continue;
        bool padding = true;
        for (size_t j = 0; j < pad && padding; j++)
            padding = p[at - pad + j] == j + 1;
        size_t inner = at - pad - ESP_HEADER;
        if (!padding || !esp_inner_fits(nh, p + ESP_HEADER, captured - ESP_HEADER, inner))
            continue;
        /* ESP (or AH, then ESP) inside NULL ESP: a layer like a tunnel's,
         * followed MAX_TUNNEL_DEPTH deep, never as deep as the datagram allows */
        if ((nh == IPPROTO_V_ESP || nh == IPPROTO_V_AH) && !pkt_tunnel_enter(pkt))
            return PKT_MALFORMED;
        struct l4_in next = *in;
        next.proto = nh;
        next.w = wire_window(&in->w, in->w.off + ESP_HEADER, min_u32((uint32_t)(captured - ESP_HEADER), (uint32_t)inner));
        next.wire_len = (uint32_t)inner;
        return pkt_decode_l4(pkt, &next);
    }
    pkt->ip_proto = IPPROTO_V_ESP;
    pkt->l4 = L4_OTHER;
    if (!any_trailer && len >= ESP_HEADER + ESP_TRAILER + (size_t)icv_lengths[0])
        return PKT_TRUNCATED; /* cut before its trailer: whether it is NULL is unknown */
    return PKT_ENCRYPTED_ESP;
}

#define NATT_KEEPALIVE 0xFF
#define NATT_NON_ESP_MARKER 4 /* four zero octets before an IKE message */

/* RFC 3948: the UDP payload is ESP, unless it is an IKE message (behind a
 * zero non-ESP marker) or a one-octet NAT keep-alive, which stay the UDP
 * they are (tshark's udpencap decides the same way). */
enum packet_status pkt_decode_udp_esp(struct packet *pkt, struct l4_in *in)
{
    const uint8_t *p = pkt->payload;
    uint32_t n = pkt->payload_len, sent = pkt->payload_wire_len;
    if (sent == 1 && n == 1 && p[0] == NATT_KEEPALIVE)
        return PKT_OK;
    if (sent >= NATT_NON_ESP_MARKER && n < NATT_NON_ESP_MARKER)
        return PKT_TRUNCATED; /* which of the two cannot be told */
    if (sent < NATT_NON_ESP_MARKER || load_u32be(p) == 0)
        return PKT_OK;
    /* a layer like a tunnel's: ESP in UDP in NULL ESP in UDP ... is
     * followed MAX_TUNNEL_DEPTH deep, never as deep as the datagram allows */
    if (!pkt_tunnel_enter(pkt))
        return PKT_MALFORMED;
    struct l4_in esp = *in;
    esp.proto = IPPROTO_V_ESP;
    esp.w = wire_make(p, n);
    esp.wire_len = sent;
    esp.short_st = PKT_TRUNCATED;
    pkt->l4 = L4_NONE;
    pkt->sport = pkt->dport = 0;
    pkt->payload = NULL;
    pkt->payload_len = pkt->payload_wire_len = 0;
    return pkt_decode_l4(pkt, &esp);
}
