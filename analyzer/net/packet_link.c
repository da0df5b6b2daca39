/* packet_link.c - the link layers of wireless and serial sensors, down to
 * the EtherType or PPP protocol packet.c takes on from: IEEE 802.11 data
 * frames (alone, behind radiotap or behind PPI), PPP (bare, in HDLC-like
 * framing), Cisco HDLC and Linux NFLOG, decoded as tshark decodes them.
 *
 * As tshark: each subframe of an A-MSDU is a packet (packet_decode() the
 * first, packet_decode_next() each next one); fragments are reassembled
 * (wlan_defrag.h) and the MSDU decoded in the frame of the last one.
 * What cannot be read is said, never skipped: a protected 802.11 data
 * frame (no keys) is PKT_ENCRYPTED_LINK, a decode loss; an MSDU whose
 * fragments cannot complete is counted with the IP reassembly's losses.
 * Management and control frames, and data frames without data (Null, QoS
 * Null), are not IP. */
#include "packet_priv.h"

#include "ipfrag.h"
#include "wlan_defrag.h"

/* ---------------------------------------------------------------- 802.11 */

#define WLAN_HEADER 24         /* frame control, duration, 3 addresses, sequence control */
#define WLAN_ADDR4 6           /* when both ToDS and FromDS are set (a wireless bridge) */
#define WLAN_QOS_CONTROL 2
#define WLAN_HT_CONTROL 4      /* in a QoS data frame with the Order bit */
#define WLAN_TYPE_DATA 2
#define WLAN_SUBTYPE_QOS 0x8   /* in the subtype: a QoS Control field follows the addresses */
#define WLAN_SUBTYPE_NODATA 0x4 /* Null, CF-Ack/Poll without data, QoS Null */
#define WLAN_TO_DS 0x01        /* in the flags octet */
#define WLAN_FROM_DS 0x02
#define WLAN_MORE_FRAGMENTS 0x04
#define WLAN_RETRY 0x08        /* the frame is sent again */
#define WLAN_PROTECTED 0x40
#define WLAN_ORDER 0x80
#define WLAN_QOS_AMSDU 0x80    /* in QoS Control's first octet */
#define WLAN_QOS_MESH 0x01     /* in its second: Mesh Control Present (802.11s) */
#define WLAN_MESH_AE 0x03      /* Mesh Control's flags: the address extension mode */
#define WLAN_MESH_CONTROL 6    /* flags, TTL, sequence number; 6 octets more per extension address */
#define AMSDU_SUBFRAME_HEADER 14 /* DA, SA, length (big-endian) */

/* How an A-MSDU's subframes are laid out (pkt->link_mesh).  In an 802.11s
 * mesh data frame each subframe carries its own Mesh Control between its
 * header and its MSDU (IEEE 802.11-2016 9.3.2.2.2, Figure 9-66; none after
 * the MAC header), its Length the MSDU's (the standard's, Linux's); some
 * senders (older Linux mesh) counted the Mesh Control in the Length too:
 * the form whose subframes fit the frame is taken (amsdu_mesh_form()).
 * tshark 4.0 reads no Mesh Control in a subframe (it takes it for LLC). */
enum { AMSDU_PLAIN = 0, AMSDU_MESH, AMSDU_MESH_LEN_INCL };

/* The Mesh Control at p (its flags octet first: 9.2.4.7.3): its length, 0
 * when its reserved flags are set (then, as tshark reads a mesh data
 * frame, there is none: the LLC header starts there). */
static size_t mesh_control_len(uint8_t flags)
{
    return (flags & ~WLAN_MESH_AE) ? 0 : WLAN_MESH_CONTROL + (size_t)6 * (flags & WLAN_MESH_AE);
}

/* Whether the subframes from w's offset on (sent: octets sent from there,
 * an FCS may follow) fit the frame when read in form; a subframe past what
 * was captured says nothing against it. */
static bool amsdu_fits(const struct wire *w, uint64_t sent, int form)
{
    uint64_t off = 0;
    while (off < sent && sent - off > AMSDU_SUBFRAME_HEADER) { /* past the end: the last one's padding */
        if (off + AMSDU_SUBFRAME_HEADER + 1 > wire_left(w))
            return true;
        const uint8_t *sub = w->p + w->off + off;
        uint64_t len = load_u16be(sub + 12), mc = mesh_control_len(sub[AMSDU_SUBFRAME_HEADER]);
        if (form == AMSDU_MESH_LEN_INCL) {
            if (len < mc)
                return false;
            len -= mc;
        }
        uint64_t size = AMSDU_SUBFRAME_HEADER + mc + len;
        if (size > sent - off)
            return false;
        off += (size + 3) & ~(uint64_t)3;
    }
    return true;
}

static int amsdu_mesh_form(const struct wire *w, uint64_t uncaptured)
{
    uint64_t sent = wire_left(w) + uncaptured;
    if (amsdu_fits(w, sent, AMSDU_MESH) || !amsdu_fits(w, sent, AMSDU_MESH_LEN_INCL))
        return AMSDU_MESH;
    return AMSDU_MESH_LEN_INCL;
}

/* The A-MSDU subframe at w (DA, SA, length, a mesh A-MSDU's Mesh Control,
 * the MSDU, padding to 4 octets but after the last) laid out as form says:
 * its packet, and where the next one starts (pkt->link_next, 0 for the
 * last).  As tshark, a subframe follows while more than its header's 14
 * octets were sent after the padding (an FCS is 4): one cut by the capture
 * is then a truncation, not a packet passed over.  uncaptured: octets sent
 * past the end of w. */
static enum packet_status amsdu_subframe(struct packet *pkt, struct wire *w, uint64_t uncaptured, int form,
                                         struct ipfrag_table *frags)
{
    size_t start = w->off;
    const uint8_t *sub = wire_bytes(w, AMSDU_SUBFRAME_HEADER);
    if (!sub)
        return PKT_TRUNCATED;
    size_t len = load_u16be(sub + 12), mc = 0;
    if (form != AMSDU_PLAIN) {
        if (!wire_has(w, 1))
            return PKT_TRUNCATED;
        mc = mesh_control_len(wire_peek_u8(w, 0));
        if (form == AMSDU_MESH_LEN_INCL)
            len = len < mc ? 0 : len - mc;
    }
    size_t next = start + ((AMSDU_SUBFRAME_HEADER + mc + len + 3) & ~(size_t)3);
    uint64_t sent = w->len + uncaptured;
    if (next < sent && sent - next > AMSDU_SUBFRAME_HEADER && next < (1u << 29)) { /* link_next's width */
        pkt->link_next = (uint32_t)next;
        pkt->link_mesh = (uint32_t)form;
    }
    if (mc && !wire_skip(w, mc))
        return PKT_TRUNCATED;
    bool whole = len <= wire_left(w);
    struct wire msdu = wire_window(w, w->off, whole ? len : wire_left(w));
    enum packet_status st = pkt_decode_llc(pkt, &msdu, frags);
    /* a header past an MSDU captured whole: its length was short, as
     * tshark says of it (malformed), not the capture */
    return st == PKT_TRUNCATED && whole ? PKT_MALFORMED : st;
}

/* The MSDU at w, behind a mesh data frame's Mesh Control (mesh: the frame
 * says one is present, 9.2.4.7.3) as tshark reads it: also the MSDU put
 * together from fragments, whose first carried it (review: NBNS in
 * fragmented mesh frames read as not IP, PASS). */
static enum packet_status mesh_msdu(struct packet *pkt, struct wire *w, bool mesh, struct ipfrag_table *frags)
{
    if (mesh && wire_has(w, 1)) {
        size_t mc = mesh_control_len(wire_peek_u8(w, 0));
        if (mc && !wire_skip(w, mc))
            return PKT_TRUNCATED;
    }
    return pkt_decode_llc(pkt, w, frags);
}

/* An 802.11 fragment (the MSDU's number frag, more to come): held, or the
 * whole MSDU decoded from the reassembly (wlan_defrag.h) in the frame of
 * its last fragment, as tshark does.  Without a table (a thread routing
 * records) it is held, as an IP fragment is. */
static enum packet_status wlan_fragment(struct packet *pkt, struct wire *w, const uint8_t *mac, unsigned frag,
                                        bool more, bool amsdu, bool mesh, struct ipfrag_table *frags)
{
    struct wlan_defrag *d = frags ? ipfrag_wlan(frags) : NULL;
    pkt->ip_fragment = true;
    if (!d)
        return PKT_FRAG_HELD;
    struct wlan_frag_key key;
    memcpy(key.addrs, mac + 4, sizeof key.addrs); /* addr1, addr2 */
    key.seq = (uint16_t)(load_u16le(mac + 22) >> 4);
    const uint8_t *msdu;
    uint32_t len;
    bool retry = mac[1] & WLAN_RETRY;
    if (wlan_defrag_add(d, &key, frag, more, retry, w->p + w->off, (uint32_t)wire_left(w), pkt->ts_us, &msdu, &len) !=
        IPFRAG_COMPLETE)
        return PKT_FRAG_HELD;
    pkt->ip_reassembled = true;
    struct wire whole = wire_make(msdu, len);
    if (!amsdu)
        return mesh_msdu(pkt, &whole, mesh, frags);
    /* A fragmented A-MSDU (802.11's fragmentation partitions "an MSDU, an
     * A-MSDU or an MMPDU", text of 802.11n; DMG STAs send them, and HE
     * STAs' dynamic fragmentation, 802.11ax 26.3): each subframe a packet,
     * as tshark 4.0 dissects the reassembled A-MSDU; the next ones read
     * from the reassembly's buffer (pkt->link_reasm).  Review: only the
     * first was read, the others one unsupported_link loss. */
    enum packet_status st = amsdu_subframe(pkt, &whole, 0, mesh ? amsdu_mesh_form(&whole, 0) : AMSDU_PLAIN, frags);
    pkt->link_reasm = pkt->link_next != 0;
    return st;
}

enum packet_status pkt_link_amsdu_reasm_next(struct packet *pkt, uint32_t at, struct ipfrag_table *frags)
{
    const uint8_t *msdu;
    uint32_t len;
    int form = (int)pkt->link_mesh;
    pkt->link_mesh = AMSDU_PLAIN;
    pkt->ip_fragment = pkt->ip_reassembled = true;
    /* the buffer is gone only if a fragment was offered between the
     * subframes (nothing does: 802.11 is not carried inside a subframe's
     * packet): a loss said, never a packet passed over */
    if (!frags || !wlan_defrag_last(ipfrag_wlan(frags), &msdu, &len))
        return PKT_UNSUPPORTED_LINK;
    struct wire whole = wire_make(msdu, len);
    if (!wire_skip(&whole, at))
        return PKT_TRUNCATED;
    enum packet_status st = amsdu_subframe(pkt, &whole, 0, form, frags);
    pkt->link_reasm = pkt->link_next != 0;
    return st;
}

/* The 802.11 MAC header to the MSDU, then LLC/SNAP; pad4: radiotap said the
 * header is padded to a multiple of 4 octets (its DATAPAD flag). */
static enum packet_status wlan_frame(struct packet *pkt, struct wire *w, bool pad4, struct ipfrag_table *frags)
{
    const uint8_t *fc = wire_bytes(w, 2);
    if (!fc)
        return PKT_TRUNCATED;
    unsigned type = (fc[0] >> 2) & 3, subtype = fc[0] >> 4, flags = fc[1];
    if (type != WLAN_TYPE_DATA || (subtype & WLAN_SUBTYPE_NODATA))
        return PKT_NOT_IP; /* management, control, extension; data frames that carry none */
    size_t hdr = WLAN_HEADER + ((flags & (WLAN_TO_DS | WLAN_FROM_DS)) == (WLAN_TO_DS | WLAN_FROM_DS) ? WLAN_ADDR4 : 0);
    bool qos = subtype & WLAN_SUBTYPE_QOS;
    if (qos)
        hdr += WLAN_QOS_CONTROL + ((flags & WLAN_ORDER) ? WLAN_HT_CONTROL : 0);
    struct wire h = wire_window(w, w->off - 2, hdr);
    if (!wire_has(&h, hdr))
        return PKT_TRUNCATED;
    if (flags & WLAN_PROTECTED) /* fragments too: whole, they would still be sealed */
        return PKT_ENCRYPTED_LINK;
    const uint8_t *mac = h.p + h.off;
    unsigned frag = mac[22] & 0x0F;
    size_t qos_at = WLAN_HEADER + ((flags & 3) == 3 ? WLAN_ADDR4 : 0);
    bool amsdu = qos && (mac[qos_at] & WLAN_QOS_AMSDU);
    /* an 802.11s mesh data frame: a Mesh Control before the LLC header, as
     * tshark reads it (four addresses, or FromDS alone as a mesh sends
     * group-addressed frames; QoS Mesh Control Present; flags naming
     * nothing but the address extension).  Review: NBNS in mesh frames,
     * four addresses or three, read as not IP, PASS. */
    bool mesh = qos && (flags & 3) >= 2 && (mac[qos_at + 1] & WLAN_QOS_MESH);
    if (!wire_skip(w, hdr - 2) || (pad4 && !wire_skip(w, (4 - hdr % 4) % 4)))
        return PKT_TRUNCATED;
    if ((flags & WLAN_MORE_FRAGMENTS) || frag)
        return wlan_fragment(pkt, w, mac, frag, flags & WLAN_MORE_FRAGMENTS, amsdu, mesh, frags);
    if (amsdu) {
        uint64_t uncaptured = pkt->wirelen > pkt->caplen ? pkt->wirelen - pkt->caplen : 0;
        return amsdu_subframe(pkt, w, uncaptured, mesh ? amsdu_mesh_form(w, uncaptured) : AMSDU_PLAIN, frags);
    }
    return mesh_msdu(pkt, w, mesh, frags);
}

enum packet_status pkt_link_wlan(struct packet *pkt, struct wire *w, struct ipfrag_table *frags)
{
    return wlan_frame(pkt, w, false, frags);
}

enum packet_status pkt_link_amsdu_next(struct packet *pkt, struct wire *w, struct ipfrag_table *frags)
{
    int form = (int)pkt->link_mesh;
    pkt->link_mesh = AMSDU_PLAIN;
    return amsdu_subframe(pkt, w, pkt->wirelen > pkt->caplen ? pkt->wirelen - pkt->caplen : 0, form, frags);
}

#define RADIOTAP_HEADER 8        /* version, pad, length (LE), first present word */
#define RADIOTAP_EXT (1u << 31)  /* another present word follows */
#define RADIOTAP_TSFT 0x01       /* 8 octets, aligned to 8 */
#define RADIOTAP_FLAGS 0x02      /* 1 octet */
#define RADIOTAP_F_FCS 0x10      /* the frame ends with its 4-octet FCS */
#define RADIOTAP_F_DATAPAD 0x20  /* the 802.11 header is padded to 32 bits */
#define WLAN_FCS 4u

/* The record's last 4 octets are the frame's FCS: as much of it as was
 * captured is left out of w (over the record, at the frame). */
static void fcs_off(const struct packet *pkt, struct wire *w)
{
    if (pkt->wirelen >= w->off + WLAN_FCS && w->len > pkt->wirelen - WLAN_FCS)
        w->len = pkt->wirelen - WLAN_FCS;
}

/* Radiotap (LINKTYPE 127): its length says where the 802.11 frame starts;
 * its Flags field whether the MAC header is padded and whether the frame
 * ends with its FCS, which is then no part of the MSDU (a whole frame's
 * network layer ends before it by its own length, but a fragment's bytes
 * are the MSDU's: review, each fragment's FCS put into the reassembled
 * MSDU made another dialect of the SMB inside). */
enum packet_status pkt_link_radiotap(struct packet *pkt, struct wire *w, struct ipfrag_table *frags)
{
    struct wire r = *w;
    uint8_t version = wire_u8(&r);
    wire_skip(&r, 1);
    uint16_t len = wire_u16le(&r);
    uint32_t present = wire_u32le(&r);
    if (!wire_ok(&r))
        return PKT_TRUNCATED;
    if (version != 0 || len < RADIOTAP_HEADER)
        return PKT_MALFORMED;
    for (uint32_t p = present; p & RADIOTAP_EXT;) /* further present words: other namespaces' */
        p = wire_u32le(&r);
    if (!wire_ok(&r) || r.off > w->off + len)
        return PKT_MALFORMED;
    bool pad4 = false, fcs = false;
    if (present & RADIOTAP_FLAGS) {
        size_t off = r.off - w->off;
        if (present & RADIOTAP_TSFT)
            off = ((off + 7) & ~(size_t)7) + 8;
        if (off >= len)
            return PKT_MALFORMED;
        pad4 = wire_peek_u8(w, off) & RADIOTAP_F_DATAPAD;
        fcs = wire_peek_u8(w, off) & RADIOTAP_F_FCS;
    }
    if (!wire_skip(w, len))
        return PKT_TRUNCATED;
    if (fcs)
        fcs_off(pkt, w);
    return wlan_frame(pkt, w, pad4, frags);
}

#define PPI_HEADER 8 /* version, flags, length (LE), link type (LE) */
#define PPI_80211_COMMON 2      /* a field: TSF timer (8), flags (LE 16), rate ... */
#define PPI_COMMON_F_FCS 0x0001 /* in its flags: the frame ends with its FCS */

/* Whether the PPI header [w->off, w->off + len) holds an 802.11-Common
 * field saying the frame ends with its FCS (field headers: type, length,
 * little-endian). */
static bool ppi_fcs(const struct wire *w, uint16_t len)
{
    struct wire f = wire_window(w, w->off + PPI_HEADER, len - PPI_HEADER);
    while (wire_has(&f, 4)) {
        uint16_t type = wire_u16le(&f), flen = wire_u16le(&f);
        if (type == PPI_80211_COMMON && flen >= 10 && wire_has(&f, 10))
            return load_u16le(f.p + f.off + 8) & PPI_COMMON_F_FCS;
        if (!wire_skip(&f, flen))
            break;
    }
    return false;
}
#define LINKTYPE_IEEE802_11 105
#define LINKTYPE_PPI 192

/* PPI (LINKTYPE 192): its length, then a frame of the link type it names. */
enum packet_status pkt_link_ppi(struct packet *pkt, struct wire *w, struct ipfrag_table *frags)
{
    struct wire r = *w;
    wire_skip(&r, 2);
    uint16_t len = wire_u16le(&r);
    uint32_t dlt = wire_u32le(&r);
    if (!wire_ok(&r))
        return PKT_TRUNCATED;
    if (len < PPI_HEADER)
        return PKT_MALFORMED;
    bool fcs = dlt == LINKTYPE_IEEE802_11 && wire_has(w, len) && ppi_fcs(w, len);
    if (!wire_skip(w, len))
        return PKT_TRUNCATED;
    if (dlt == LINKTYPE_IEEE802_11) {
        if (fcs)
            fcs_off(pkt, w);
        return wlan_frame(pkt, w, false, frags);
    }
    if (dlt == LINKTYPE_PPI) /* PPI in PPI: nothing sends it */
        return PKT_MALFORMED;
    return pkt_link_by_dlt((int)dlt, pkt, w, frags);
}

/* -------------------------------------------------------------- PPP, HDLC */

#define PPP_IPV4 0x0021
#define PPP_IPX 0x002B
#define PPP_NBF 0x003F  /* NetBIOS Frames (RFC 2097): NetBEUI over PPP */
#define PPP_IPV6 0x0057
#define PPP_MPLS 0x0281
#define PPP_MPLS_MC 0x0283
#define PPP_VJ_COMP 0x002D     /* Van Jacobson compressed TCP/IP (RFC 1144) */
#define PPP_VJ_UNCOMP 0x002F   /* ... uncompressed: IPv4, the protocol octet a slot */
#define PPP_BCP 0x0031         /* bridged LAN frames (BCP, RFC 3518) */
#define PPP_MP 0x003D          /* multilink fragments (RFC 1990) */
#define PPP_CCP_LINK 0x00FB    /* compressed datagram of one link of a bundle (RFC 1962) */
#define PPP_CCP 0x00FD         /* compressed datagram (RFC 1962) */
#define LLC_SAP_NETBIOS 0xF0
#define BCP_CONTROL 0x10       /* in BCP's flags octet: a bridge control packet (spanning tree) */
#define BCP_MAC_ETHERNET 1     /* BCP's MAC type: IEEE 802.3/Ethernet */

/* A BCP bridged frame: flags, MAC type, then the LAN frame.  An Ethernet
 * frame is read as any other (its FCS, when the F flag says one follows,
 * lies past what the network layer's own length claims); a frame of
 * another LAN (token ring, FDDI) is not decoded here, a decode loss. */
static enum packet_status ppp_bcp(struct packet *pkt, struct wire *w, struct ipfrag_table *frags)
{
    uint8_t flags = wire_u8(w);
    if (!wire_ok(w))
        return PKT_TRUNCATED;
    if (flags & BCP_CONTROL)
        return PKT_NOT_IP;
    uint8_t mac = wire_u8(w);
    if (!wire_ok(w))
        return PKT_TRUNCATED;
    if (mac != BCP_MAC_ETHERNET)
        return PKT_UNSUPPORTED_LINK;
    if (!pkt_tunnel_enter(pkt)) /* a frame in PPP(oE) in a frame ...: bounded as tunnels are */
        return PKT_MALFORMED;
    return pkt_link_ethernet(pkt, w, frags);
}

/* PPP's protocol field (one octet when compressed: an odd first octet) and
 * what it carries (RFC 1661); PPPoE ends here too. */
enum packet_status pkt_decode_ppp(struct packet *pkt, struct wire *w, struct ipfrag_table *frags)
{
    if (!wire_has(w, 1))
        return PKT_TRUNCATED;
    uint16_t proto = wire_u8(w);
    if (!(proto & 1))
        proto = (uint16_t)(proto << 8 | wire_u8(w));
    if (!wire_ok(w))
        return PKT_TRUNCATED;
    switch (proto) {
    case PPP_IPV4:
        return pkt_decode_ipv4(pkt, w, frags);
    case PPP_IPV6:
        return pkt_decode_ipv6(pkt, w, frags);
    case PPP_MPLS:
        return pkt_decode_ethertype(pkt, w, ETH_MPLS, frags);
    case PPP_MPLS_MC:
        return pkt_decode_ethertype(pkt, w, ETH_MPLS_MC, frags);
    case PPP_IPX:
        return pkt_decode_ethertype(pkt, w, ETH_IPX, frags);
    case PPP_NBF: /* NetBIOS Frames: counted as NetBEUI by the NetBIOS ledger */
        pkt->llc = true;
        pkt->llc_dsap = LLC_SAP_NETBIOS;
        return PKT_NOT_IP;
    case PPP_VJ_UNCOMP:
        return pkt_decode_ipv4_vj(pkt, w, frags);
    case PPP_BCP:
        return ppp_bcp(pkt, w, frags);
    case PPP_VJ_COMP: /* headers against state not kept here */
    case PPP_MP:      /* fragments of a bundle's packets, not reassembled */
    case PPP_CCP:     /* compressed, the dictionary not kept */
    case PPP_CCP_LINK:
        return PKT_UNSUPPORTED_LINK; /* packets that cannot be read: a decode loss, never "not IP" */
    default:
        /* LCP, IPCP, CHAP ... (0x8000 and up, 0xC021 ...): PPP's own
         * control; other network protocols (AppleTalk, DECnet ...) carry
         * no IP */
        return PKT_NOT_IP;
    }
}

#define HDLC_ALL_STATIONS 0xFF /* PPP in HDLC-like framing (RFC 1662): address, then control 0x03 */
#define HDLC_UI 0x03
#define CHDLC_UNICAST 0x0F
#define CHDLC_BROADCAST 0x8F

/* Cisco HDLC (LINKTYPE 104): address, control, an EtherType. */
enum packet_status pkt_link_chdlc(struct packet *pkt, struct wire *w, struct ipfrag_table *frags)
{
    wire_skip(w, 2);
    uint16_t type = wire_u16be(w);
    if (!wire_ok(w))
        return PKT_TRUNCATED;
    return pkt_decode_ethertype(pkt, w, type, frags);
}

/* PPP (LINKTYPE 9) and PPP in HDLC framing (50): the address and control
 * octets when present, then PPP; 50 also carries Cisco HDLC (RFC 1547
 * 4.3.1), told by its address octet, as libpcap and tshark tell it. */
enum packet_status pkt_link_ppp(struct packet *pkt, struct wire *w, struct ipfrag_table *frags)
{
    if (!wire_has(w, 2))
        return PKT_TRUNCATED;
    uint8_t a = wire_peek_u8(w, 0);
    if (a == CHDLC_UNICAST || a == CHDLC_BROADCAST)
        return pkt_link_chdlc(pkt, w, frags);
    if (a == HDLC_ALL_STATIONS && wire_peek_u8(w, 1) == HDLC_UI)
        wire_skip(w, 2);
    return pkt_decode_ppp(pkt, w, frags);
}

/* ------------------------------------------------------------------ NFLOG */

#define NFLOG_HEADER 4          /* address family, version, resource id */
#define NFLOG_TLV_HEADER 4      /* length (with this header), type; both in the writer's byte order */
#define NFULA_PACKET_HDR 1     /* hw_protocol (big-endian EtherType), hook, pad */
#define NFULA_PAYLOAD 9
#define NFLOG_TYPE_MASK 0x7FFF  /* the top bit marks a nested attribute */
#define NFLOG_AF_INET 2
#define NFLOG_AF_INET6 10

/* The payload attribute of an NFLOG record, its TLVs read in one byte
 * order; false when they do not walk to the end in it. */
static bool nflog_payload(const struct wire *w, bool be, struct wire *payload, bool *found, int *hw_protocol)
{
    struct wire t = *w;
    *found = false;
    *hw_protocol = -1;
    while (wire_left(&t) >= NFLOG_TLV_HEADER) {
        const uint8_t *h = wire_bytes(&t, NFLOG_TLV_HEADER);
        size_t len = be ? load_u16be(h) : load_u16le(h);
        unsigned type = (be ? load_u16be(h + 2) : load_u16le(h + 2)) & NFLOG_TYPE_MASK;
        if (len < NFLOG_TLV_HEADER)
            return false;
        size_t body = len - NFLOG_TLV_HEADER;
        if (type == NFULA_PACKET_HDR && body >= 2 && wire_left(&t) >= 2)
            *hw_protocol = load_u16be(t.p + t.off); /* network order whatever the TLVs' */
        if (type == NFULA_PAYLOAD) {
            *payload = wire_window(&t, t.off, body < wire_left(&t) ? body : wire_left(&t));
            *found = true;
            return true; /* the capture may end inside it (snaplen) */
        }
        size_t padded = (len + 3) / 4 * 4 - NFLOG_TLV_HEADER; /* the last one may come unpadded */
        if (!wire_skip(&t, wire_left(&t) >= padded ? padded : body))
            return false;
    }
    return wire_left(&t) == 0;
}

/* Linux NFLOG (LINKTYPE 239): the IP packet is the payload TLV.  The TLVs
 * are in the byte order of the host that wrote them: little-endian first,
 * big-endian when that does not walk.  A family other than IPv4/IPv6
 * (bridge 7, netdev 5: nftables' and ebtables' `log group`) logs what its
 * packet header's hw_protocol names, an EtherType, as tshark decodes it
 * (review: a bridge's NBNS was "not IP" and passed). */
enum packet_status pkt_link_nflog(struct packet *pkt, struct wire *w, struct ipfrag_table *frags)
{
    uint8_t family = wire_u8(w);
    if (!wire_skip(w, NFLOG_HEADER - 1))
        return PKT_TRUNCATED;
    struct wire payload;
    bool found;
    int hw_protocol;
    if (!nflog_payload(w, false, &payload, &found, &hw_protocol) &&
        !nflog_payload(w, true, &payload, &found, &hw_protocol))
        return wire_left(w) < NFLOG_TLV_HEADER ? PKT_TRUNCATED : PKT_MALFORMED;
    if (!found)
        return PKT_NOT_IP; /* a record without the packet (metadata only) */
    if (family == NFLOG_AF_INET)
        return pkt_decode_ipv4(pkt, &payload, frags);
    if (family == NFLOG_AF_INET6)
        return pkt_decode_ipv6(pkt, &payload, frags);
    if (hw_protocol < 0) /* nothing says what the packet is: a loss, never "not IP" */
        return PKT_UNSUPPORTED_LINK;
    return pkt_decode_ethertype(pkt, &payload, (uint16_t)hw_protocol, frags); /* ARP stays not IP by its type */
}
