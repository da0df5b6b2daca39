/* packet_ip.c - IPv4 and IPv6 headers, IPv6 extension headers and IP
 * fragment reassembly, down to the transport (packet_l4.c). */
#include "packet_priv.h"

#include "capture.h"
#include "ipfrag.h"

static enum packet_status reassemble(struct packet *pkt, struct ipfrag_table *frags, const struct ipfrag_key *key,
                                     const struct ipfrag_piece *piece, struct l4_in *in)
{
    pkt->ip_fragment = true;
    if (!frags)
        return PKT_FRAG_HELD;
    /* A fragment inside a datagram the table just reassembled (a tunnel,
     * e.g. GRE) would be copied from the table's own buffer into the table,
     * which may move or reuse that buffer: such a fragment is dropped and
     * counted, as IPv6 refuses a second fragment header. */
    if (pkt->ip_reassembled)
        return PKT_FRAG_DROPPED;
    const uint8_t *data = NULL;
    uint32_t len = 0;
    uint8_t proto = 0;
    switch (ipfrag_add(frags, key, pkt->ts_us, piece, &data, &len, &proto)) {
    case IPFRAG_HELD:
        return PKT_FRAG_HELD;
    case IPFRAG_DROPPED:
        return PKT_FRAG_DROPPED;
    case IPFRAG_COMPLETE:
        break;
    }
    pkt->ip_reassembled = true;
    pkt->ip_header = NULL; /* the datagram no longer follows its header */
    pkt->ip_header_len = 0;
    in->short_st = PKT_MALFORMED; /* the whole datagram is here */
    in->proto = proto;
    in->w = wire_make(data, len);
    in->wire_len = len;
    return PKT_OK;
}

/* Bytes the frame had on the wire beyond what was captured (snaplen). */
static size_t wire_beyond_capture(const struct packet *pkt)
{
    return pkt->wirelen > pkt->caplen ? pkt->wirelen - pkt->caplen : 0;
}

/* vj_tcp: a PPP Van Jacobson uncompressed TCP packet (RFC 1144 sec. 3.2):
 * its protocol octet holds the connection slot, the protocol is TCP (as
 * Wireshark's dissect_vjuc restores it). */
static inline enum packet_status decode_ipv4(struct packet *pkt, struct wire *w, struct ipfrag_table *frags,
                                             bool vj_tcp)
{
    size_t captured = wire_left(w);
    const uint8_t *ip_start = w->p + w->off;
    uint8_t vihl, proto;
    uint32_t total;
    uint16_t id, frag;
    const uint8_t *src, *dst;
    /* The fixed header under one bounds check when it was captured (nearly
     * every packet); field by field otherwise, which is what a cut header
     * shows (the same checks in the same order). */
    const uint8_t *h = captured >= 20 ? wire_bytes(w, 20) : NULL;
    if (h) {
        vihl = h[0];
        if ((vihl >> 4) != 4)
            return PKT_MALFORMED;
        total = load_u16be(h + 2);
        id = load_u16be(h + 4);
        frag = load_u16be(h + 6);
        pkt->ip_ttl = h[8];
        proto = h[9];
        src = h + 12;
        dst = h + 16;
    } else {
        vihl = wire_u8(w);
        if (!wire_ok(w))
            return PKT_TRUNCATED;
        if ((vihl >> 4) != 4)
            return PKT_MALFORMED;
        wire_skip(w, 1); /* DSCP/ECN */
        total = wire_u16be(w);
        id = wire_u16be(w);
        frag = wire_u16be(w);
        pkt->ip_ttl = wire_u8(w);
        proto = wire_u8(w);
        wire_skip(w, 2); /* checksum */
        src = wire_bytes(w, 4);
        dst = wire_bytes(w, 4);
        if (!wire_ok(w))
            return PKT_TRUNCATED;
    }
    if (vj_tcp)
        proto = IPPROTO_V_TCP;
    uint32_t hdr_len = (uint32_t)(vihl & 0x0F) * 4;
    put_addr(&pkt->src, 4, src);
    put_addr(&pkt->dst, 4, dst);
    pkt->ip_proto = proto;
    if (hdr_len < 20)
        return PKT_MALFORMED;
    /* Total length 0 is what TCP segmentation offload leaves in captures
     * taken on the sender: the captured length is then the best truth. */
    if (total == 0)
        total = captured > 0xFFFF ? 0xFFFF : (uint32_t)captured;
    if (total < hdr_len)
        return PKT_MALFORMED;
    /* A total length beyond the frame as it was on the wire is a lie (or a
     * fuzzer); like tshark, believe the frame.  A snaplen cut is not a lie:
     * those bytes were sent. */
    size_t on_wire = captured + wire_beyond_capture(pkt);
    if (total > on_wire) {
        total = (uint32_t)on_wire;
        pkt->ip_len_clamped = true;
        if (total < hdr_len)
            return PKT_MALFORMED;
    }
    if (!wire_skip(w, hdr_len - 20))
        return PKT_TRUNCATED;
    pkt->ip_header = ip_start;
    pkt->ip_header_len = (uint32_t)(captured < total ? captured : total);

    struct l4_in in = { .proto = proto, .v6 = false, .wire_len = total - hdr_len, .frags = frags };
    in.short_st = wire_left(w) < in.wire_len ? PKT_TRUNCATED : PKT_MALFORMED;
    in.w = wire_window(w, w->off, min_u32((uint32_t)wire_left(w), in.wire_len));

    uint32_t offset = (uint32_t)(frag & 0x1FFF) * 8;
    bool more = (frag & 0x2000) != 0;
    if (offset != 0 || more) {
        if (wire_left(&in.w) < in.wire_len) {
            pkt->ip_fragment = true;
            return PKT_TRUNCATED; /* a cut fragment can never complete a datagram */
        }
        struct ipfrag_key key = { .src = pkt->src, .dst = pkt->dst, .id = id, .proto = proto };
        struct ipfrag_piece piece = { .offset = offset, .more = more, .data = in.w.p, .len = in.wire_len,
                                      .next_proto = proto, .frame_caplen = pkt->caplen,
                                      .frame_wirelen = pkt->wirelen };
        enum packet_status st = reassemble(pkt, frags, &key, &piece, &in);
        if (st != PKT_OK)
            return st;
    }
    return pkt_decode_l4(pkt, &in);
}

enum packet_status pkt_decode_ipv4(struct packet *pkt, struct wire *w, struct ipfrag_table *frags)
{
    return decode_ipv4(pkt, w, frags, false);
}

enum packet_status pkt_decode_ipv4_vj(struct packet *pkt, struct wire *w, struct ipfrag_table *frags)
{
    return decode_ipv4(pkt, w, frags, true);
}

/* Skip IPv6 extension headers starting with next header *nh; stops at the
 * first header that is not one (the transport), leaving *nh on it.  Used for
 * ICMPv6-quoted packets, where a fragment header is stepped over: a
 * non-first fragment sets *is_fragment_tail.  False when bytes run out. */
bool pkt_ipv6_ext_skip(struct wire *w, uint8_t *nh, bool *is_fragment_tail)
{
    for (int i = 0; i < MAX_IPV6_EXT; i++) {
        switch (*nh) {
        case IPPROTO_V6_HOPOPTS:
        case IPPROTO_V6_ROUTING:
        case IPPROTO_V6_DSTOPTS: {
            uint8_t next = wire_u8(w);
            uint8_t len = wire_u8(w);
            if (!wire_skip(w, (size_t)len * 8 + 6))
                return false;
            *nh = next;
            break;
        }
        case IPPROTO_V_AH: {
            uint8_t next = wire_u8(w);
            uint8_t len = wire_u8(w);
            if (!wire_skip(w, ((size_t)len + 2) * 4 - 2))
                return false;
            *nh = next;
            break;
        }
        case IPPROTO_V6_FRAGMENT: {
            uint8_t next = wire_u8(w);
            wire_skip(w, 1);
            uint16_t offlg = wire_u16be(w);
            wire_skip(w, 4);
            if (!wire_ok(w))
                return false;
            if ((offlg & 0xFFF8) != 0)
                *is_fragment_tail = true;
            *nh = next;
            break;
        }
        default:
            return wire_ok(w);
        }
    }
    return wire_ok(w);
}

enum packet_status pkt_ipv6_ext_step(struct l4_in *in, uint8_t *nh)
{
    uint8_t next = wire_u8(&in->w);
    uint8_t len = wire_u8(&in->w);
    size_t hdr = *nh == IPPROTO_V_AH ? ((size_t)len + 2) * 4 : ((size_t)len + 1) * 8;
    wire_skip(&in->w, hdr - 2);
    if (!wire_ok(&in->w))
        return in->short_st;
    if (hdr > in->wire_len)
        return PKT_MALFORMED;
    in->wire_len -= (uint32_t)hdr;
    *nh = next;
    return PKT_OK;
}

enum packet_status pkt_decode_ipv6(struct packet *pkt, struct wire *w, struct ipfrag_table *frags)
{
    if (!wire_has(w, 40))
        return wire_left(w) > 0 && (wire_peek_u8(w, 0) >> 4) != 6 ? PKT_MALFORMED : PKT_TRUNCATED;
    const uint8_t *ip_start = w->p + w->off;
    uint32_t vtf = wire_u32be(w);
    if ((vtf >> 28) != 6)
        return PKT_MALFORMED;
    uint32_t plen = wire_u16be(w);
    uint8_t nh = wire_u8(w);
    pkt->ip_ttl = wire_u8(w);
    put_addr(&pkt->src, 6, wire_bytes(w, 16));
    put_addr(&pkt->dst, 6, wire_bytes(w, 16));
    pkt->ip_proto = nh;
    /* Payload length 0: a jumbogram (RFC 2675) or offloaded segment; the
     * captured bytes are all we can go by. */
    size_t on_wire = wire_left(w) + wire_beyond_capture(pkt);
    if (plen == 0)
        plen = (uint32_t)(wire_left(w) > UINT32_MAX ? UINT32_MAX : wire_left(w));
    else if (plen > on_wire) {
        plen = (uint32_t)on_wire; /* as for IPv4: the frame on the wire wins */
        pkt->ip_len_clamped = true;
    }

    pkt->ip_header = ip_start;
    pkt->ip_header_len = (uint32_t)(40 + (wire_left(w) < plen ? wire_left(w) : plen));
    struct l4_in in = { .v6 = true, .wire_len = plen, .frags = frags };
    in.short_st = wire_left(w) < plen ? PKT_TRUNCATED : PKT_MALFORMED;
    in.w = wire_window(w, w->off, min_u32((uint32_t)wire_left(w), plen));
    bool reassembled = false;

    for (int i = 0;; i++) {
        if (i == MAX_IPV6_EXT)
            return PKT_MALFORMED;
        pkt->ip_proto = nh;
        switch (nh) {
        case IPPROTO_V6_HOPOPTS:
        case IPPROTO_V6_ROUTING:
        case IPPROTO_V6_DSTOPTS:
        case IPPROTO_V_AH: {
            enum packet_status st = pkt_ipv6_ext_step(&in, &nh);
            if (st != PKT_OK)
                return st;
            continue;
        }
        case IPPROTO_V6_FRAGMENT: {
            uint8_t next = wire_u8(&in.w);
            wire_skip(&in.w, 1);
            uint16_t offlg = wire_u16be(&in.w);
            uint32_t id = wire_u32be(&in.w);
            if (!wire_ok(&in.w))
                return in.short_st;
            if (in.wire_len < 8 || reassembled)
                return PKT_MALFORMED;
            in.wire_len -= 8;
            nh = next;
            uint32_t offset = offlg & 0xFFF8;
            bool more = (offlg & 1) != 0;
            if (offset == 0 && !more)
                continue; /* atomic fragment (RFC 6946): an ordinary packet */
            if (wire_left(&in.w) < in.wire_len) {
                pkt->ip_fragment = true;
                return PKT_TRUNCATED;
            }
            struct ipfrag_key key = { .src = pkt->src, .dst = pkt->dst, .id = id, .proto = 0 };
            struct ipfrag_piece piece = { .offset = offset, .more = more, .data = wire_window(&in.w, in.w.off, in.wire_len).p,
                                          .len = in.wire_len, .next_proto = next, .frame_caplen = pkt->caplen,
                                          .frame_wirelen = pkt->wirelen };
            pkt->ip_proto = next;
            enum packet_status st = reassemble(pkt, frags, &key, &piece, &in);
            if (st != PKT_OK)
                return st;
            nh = in.proto;
            reassembled = true;
            continue;
        }
        case IPPROTO_V6_NONE:
            pkt->l4 = L4_OTHER;
            return PKT_OK;
        default:
            break;
        }
        break;
    }
    in.proto = nh;
    return pkt_decode_l4(pkt, &in);
}

