/* packet_decode() on the link types of packet_link.c (802.11 bare, behind
 * radiotap and PPI; PPP, PPP in HDLC framing, Cisco HDLC, NFLOG) and IPsec
 * ESP (packet_esp.c): frames built from the IEEE 802.11 header layout, the
 * radiotap and PPI specifications, RFC 1661/1662, libpcap's LINKTYPE_NFLOG
 * description and RFC 4303; what cannot be read is its own status, never
 * a packet passed over.  Each frame is also decoded at every truncation and
 * with random bytes (no status but a loss or not-IP from what is cut). */
#include <glib.h>
#include <pcap/dlt.h>
#include <string.h>

#include "capture.h"
#include "ipfrag.h"
#include "packet_build.h"
#include "wlan_defrag.h"

enum { LT_PPP = 9, LT_PPP_HDLC = 50, LT_C_HDLC = 104, LT_WLAN = 105, LT_RADIOTAP = 127, LT_PPI = 192,
       LT_NFLOG = 239 };

static void put16le(GByteArray *b, unsigned v) { put8(b, v & 0xFF); put8(b, v >> 8); }
static void put32le(GByteArray *b, uint32_t v) { put16le(b, v & 0xFFFF); put16le(b, v >> 16); }

static GByteArray *snap_v4(void)
{
    GByteArray *b = g_byte_array_new();
    static const uint8_t llc[] = { 0xAA, 0xAA, 0x03, 0, 0, 0, 0x08, 0x00 };
    putn(b, llc, sizeof llc);
    return cat(b, tcp_v4_packet());
}

struct wlan_opts {
    unsigned type, subtype, flags;
    bool amsdu;
    unsigned frag;
    bool mesh; /* QoS Control's Mesh Control Present (802.11s) */
};

/* An 802.11 frame: frame control, duration, addresses, sequence control,
 * QoS control (subtype bit 3), HT control (QoS with the Order bit). */
static GByteArray *wlan(struct wlan_opts o, GByteArray *body)
{
    GByteArray *b = g_byte_array_new();
    put8(b, o.subtype << 4 | o.type << 2);
    put8(b, o.flags);
    put16le(b, 44);
    for (int a = 0; a < 3; a++)
        for (int i = 0; i < 6; i++)
            put8(b, 0x02 + a * 0x10 + i);
    put16le(b, 0x120 | o.frag);
    if ((o.flags & 3) == 3)
        putz(b, 6);
    if (o.subtype & 8) {
        put8(b, o.amsdu ? 0x80 : 0);
        put8(b, o.mesh ? 0x01 : 0);
        if (o.flags & 0x80)
            putz(b, 4);
    }
    return cat(b, body);
}

static void assert_tcp(struct decoded d) { assert_tcp_v4(&d); }

static void test_wlan_data(void)
{
    /* plain data, QoS, 4 addresses + QoS + HT control */
    static const struct wlan_opts ok[] = { { 2, 0, 0x01, false, 0, false }, { 2, 8, 0x02, false, 0, false }, { 2, 8, 0x83, false, 0, false } };
    for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
        GByteArray *f = wlan(ok[i], snap_v4());
        assert_tcp(decode(LT_WLAN, f));
        g_byte_array_unref(f);
    }
}

static void test_wlan_not_data(void)
{
    /* a beacon, an ACK, a Null and a QoS Null: not data, no loss */
    static const struct wlan_opts none[] = { { 0, 8, 0, false, 0, false }, { 1, 13, 0, false, 0, false }, { 2, 4, 1, false, 0, false },
                                             { 2, 12, 1, false, 0, false } };
    for (size_t i = 0; i < G_N_ELEMENTS(none); i++) {
        GByteArray *f = wlan(none[i], snap_v4());
        g_assert_cmpint(decode(LT_WLAN, f).st, ==, PKT_NOT_IP);
        g_byte_array_unref(f);
    }
}

/* Every packet of one record: packet_decode(), then packet_decode_next()
 * while the frame holds more (an A-MSDU); their statuses into st (at most
 * max), TCP payload lengths into tcp; the count returned. */
static size_t tcp_seen; /* packets decode_all() found TCP with the payload */

static size_t decode_all(int lt, const uint8_t *bytes, size_t n, size_t uncaptured, struct ipfrag_table *frags,
                         enum packet_status *st, size_t max)
{
    uint8_t *copy = g_memdup2(bytes, n);
    struct capture_record rec = { .ts_us = 1700000000000000, .caplen = (uint32_t)n,
                                  .wirelen = (uint32_t)(n + uncaptured), .data = copy, .frame = 7 };
    struct packet pkt;
    size_t k = 0;
    enum packet_status s = packet_decode(lt, &rec, frags, &pkt);
    for (;;) {
        g_assert_cmpint(s, <, PKT_STATUS_COUNT);
        if (s == PKT_OK && pkt.l4 == L4_TCP) {
            g_assert_cmpmem(pkt.payload, pkt.payload_len, PAYLOAD, PAYLOAD_LEN);
            tcp_seen++;
        }
        if (k < max)
            st[k] = s;
        k++;
        if (!pkt.link_next)
            break;
        if (!pkt.link_reasm) /* else inside the MSDU reassembled from fragments */
            g_assert_cmpuint(pkt.link_next, <, n + uncaptured); /* inside the frame sent */
        uint32_t at = pkt.link_next;
        s = packet_decode_next(&rec, frags, &pkt);
        g_assert_true(!pkt.link_next || pkt.link_next > at); /* forward: the loop ends */
    }
    g_free(copy);
    return k;
}

static void test_wlan_unreadable(void)
{
    GByteArray *f = wlan((struct wlan_opts){ 2, 8, 0x41, false, 0, false }, snap_v4()); /* protected */
    struct decoded d = decode(LT_WLAN, f);
    g_assert_cmpint(d.st, ==, PKT_ENCRYPTED_LINK);
    g_assert_cmpstr(packet_status_name(d.st), ==, "encrypted-link");
    g_byte_array_unref(f);
    /* without a reassembly table a fragment is held, as an IP fragment */
    f = wlan((struct wlan_opts){ 2, 8, 0x05, false, 0, false }, snap_v4()); /* more fragments */
    g_assert_cmpint(decode(LT_WLAN, f).st, ==, PKT_FRAG_HELD);
    g_byte_array_unref(f);
    f = wlan((struct wlan_opts){ 2, 0, 0x01, false, 1, false }, snap_v4()); /* fragment 1 */
    g_assert_cmpint(decode(LT_WLAN, f).st, ==, PKT_FRAG_HELD);
    g_byte_array_unref(f);
}

/* An MSDU in fragments of step octets: the packet in the frame of the last
 * one, a repeated fragment a duplicate; one missing, or the first not
 * captured: never a packet, one MSDU lost. */
static void test_wlan_fragments(void)
{
    GByteArray *msdu = snap_v4();
    const size_t step = 24;
    size_t nfrag = (msdu->len + step - 1) / step;
    g_assert_cmpuint(nfrag, >=, 3);
    for (int skip = -1; skip < 2; skip++) { /* -1: none missing; 0: the first; 1: a middle one */
        struct ipfrag_table *t = ipfrag_new(NULL);
        enum packet_status st[2];
        size_t oks = 0;
        for (size_t i = 0; i < nfrag; i++) {
            if ((int)i == skip)
                continue;
            size_t len = i + 1 < nfrag ? step : msdu->len - i * step;
            GByteArray *piece = g_byte_array_new();
            putn(piece, msdu->data + i * step, len);
            GByteArray *f = wlan((struct wlan_opts){ 2, 8, 0x01 | (i + 1 < nfrag ? 0x04 : 0), false, (unsigned)i, false },
                                 piece);
            for (int again = 0; again < (i == 1 ? 2 : 1); again++) { /* fragment 1 retransmitted */
                g_assert_cmpuint(decode_all(LT_WLAN, f->data, f->len, 0, t, st, 2), ==, 1);
                oks += st[0] == PKT_OK;
                if (st[0] != PKT_OK)
                    g_assert_cmpint(st[0], ==, PKT_FRAG_HELD);
            }
            g_byte_array_unref(f);
        }
        const struct ipfrag_stats *s = ipfrag_stats(t);
        g_assert_cmpuint(oks, ==, skip < 0 ? 1 : 0);
        g_assert_cmpuint(s->reassembled, ==, skip < 0 ? 1 : 0);
        g_assert_cmpuint(s->dropped_malformed, ==, skip < 0 ? 0 : 1);
        g_assert_cmpuint(s->duplicates, ==, skip == 1 ? 0 : 1);
        g_assert_cmpuint(s->active, ==, 0);
        ipfrag_free(t);
    }
    g_byte_array_unref(msdu);
}

/* Bounds: an MSDU past WLAN_MSDU_MAX is lost (once); more MSDUs in flight
 * than slots evict the oldest; one left open at the end stays active (a
 * loss the report counts). */
static void test_wlan_defrag_bounds(void)
{
    struct ipfrag_stats st = { 0 };
    struct wlan_defrag *d = wlan_defrag_new(&st, 30 * INT64_C(1000000));
    static uint8_t big[4096];
    const uint8_t *out;
    uint32_t len;
    struct wlan_frag_key k = { { 1 }, 7 };
    unsigned n = WLAN_MSDU_MAX / sizeof big + 2;
    for (unsigned i = 0; i < n; i++)
        g_assert_cmpint(wlan_defrag_add(d, &k, i, i + 1 < n, false, big, sizeof big, 0, &out, &len), ==, IPFRAG_HELD);
    g_assert_cmpuint(st.dropped_too_big, ==, 1);
    g_assert_cmpuint(st.dropped_malformed, ==, 0);
    for (unsigned i = 0; i < WLAN_DEFRAG_SLOTS + 3; i++) {
        k.seq = (uint16_t)(100 + i);
        int64_t ts = i + 1 < WLAN_DEFRAG_SLOTS + 3 ? (int64_t)i : 15 * INT64_C(1000000); /* the last one later */
        wlan_defrag_add(d, &k, 0, true, false, big, 16, ts, &out, &len);
    }
    g_assert_cmpuint(st.evicted, ==, 3);
    g_assert_cmpuint(st.active, ==, WLAN_DEFRAG_SLOTS);
    g_assert_cmpuint(st.bytes_allocated, <=, (size_t)WLAN_DEFRAG_SLOTS * WLAN_MSDU_MAX);
    /* the last one completes; the first ones in flight time out */
    g_assert_cmpint(wlan_defrag_add(d, &k, 1, false, false, big, 8, 40 * INT64_C(1000000), &out, &len), ==, IPFRAG_COMPLETE);
    g_assert_cmpuint(len, ==, 24);
    g_assert_cmpuint(st.timed_out, ==, WLAN_DEFRAG_SLOTS - 1);
    g_assert_cmpuint(st.active, ==, 0);
    wlan_defrag_free(d);
    g_assert_cmpuint(st.bytes_allocated, ==, 0);
}

/* An MSDU completed: its last fragment sent again with the Retry bit is a
 * duplicate; a new MSDU of the same sequence number (it came round within
 * the timeout) sent without Retry is read, not taken for a repeat. */
static void test_wlan_defrag_repeats(void)
{
    struct ipfrag_stats st = { 0 };
    struct wlan_defrag *d = wlan_defrag_new(&st, 30 * INT64_C(1000000));
    static const uint8_t a[8] = "AAAAAAAA", b[8] = "BBBBBBBB";
    const uint8_t *out;
    uint32_t len;
    struct wlan_frag_key k = { { 2 }, 9 };
    g_assert_cmpint(wlan_defrag_add(d, &k, 0, true, false, a, 8, 1, &out, &len), ==, IPFRAG_HELD);
    g_assert_cmpint(wlan_defrag_add(d, &k, 1, false, false, a, 8, 2, &out, &len), ==, IPFRAG_COMPLETE);
    g_assert_cmpint(wlan_defrag_add(d, &k, 1, false, true, a, 8, 3, &out, &len), ==, IPFRAG_HELD); /* Retry */
    g_assert_cmpuint(st.duplicates, ==, 1);
    g_assert_cmpuint(st.dropped_malformed, ==, 0);
    g_assert_cmpuint(st.active, ==, 0);
    g_assert_cmpint(wlan_defrag_add(d, &k, 0, true, false, b, 8, 4, &out, &len), ==, IPFRAG_HELD);
    g_assert_cmpint(wlan_defrag_add(d, &k, 1, false, false, b, 8, 5, &out, &len), ==, IPFRAG_COMPLETE);
    g_assert_cmpuint(len, ==, 16);
    g_assert_cmpmem(out, 8, b, 8);
    g_assert_cmpuint(st.duplicates, ==, 1);
    g_assert_cmpuint(st.reassembled, ==, 2);
    wlan_defrag_free(d);
}

static GByteArray *amsdu_sub(GByteArray *msdu)
{
    GByteArray *b = g_byte_array_new();
    putz(b, 12);
    put16(b, msdu->len);
    return cat(b, msdu);
}

static void test_wlan_amsdu(void)
{
    GByteArray *f = wlan((struct wlan_opts){ 2, 8, 0x01, true, 0, false }, amsdu_sub(snap_v4()));
    assert_tcp(decode(LT_WLAN, f));
    g_byte_array_unref(f);
    /* three subframes: three packets, as tshark dissects them; an FCS
     * after the last (4 octets) is no subframe */
    GByteArray *three = g_byte_array_new(), *one = snap_v4();
    size_t msdu_len = one->len;
    g_byte_array_unref(one);
    for (int i = 0; i < 3; i++) {
        putz(three, (4 - three->len % 4) % 4);
        three = cat(three, amsdu_sub(snap_v4()));
    }
    f = wlan((struct wlan_opts){ 2, 8, 0x01, true, 0, false }, three);
    for (int fcs = 0; fcs < 2; fcs++) {
        if (fcs)
            putz(f, 4);
        enum packet_status st[4];
        g_assert_cmpuint(decode_all(LT_WLAN, f->data, f->len, 0, NULL, st, 4), ==, 3);
        for (int i = 0; i < 3; i++)
            g_assert_cmpint(st[i], ==, PKT_OK);
    }
    /* the capture cut inside the third subframe's header (the frame was
     * sent whole): two packets and a truncation, as tshark says */
    enum packet_status st[4];
    size_t cut = f->len - 4 - msdu_len - 4;
    g_assert_cmpuint(decode_all(LT_WLAN, f->data, cut, f->len - cut, NULL, st, 4), ==, 3);
    g_assert_cmpint(st[0], ==, PKT_OK);
    g_assert_cmpint(st[1], ==, PKT_OK);
    g_assert_cmpint(st[2], ==, PKT_TRUNCATED);
    /* after the last subframe, 18 octets (padding and a subframe header of
     * length 0): a subframe whose MSDU cannot hold its LLC header, malformed
     * as tshark says; 16 are no subframe */
    for (int extra = 16; extra <= 18; extra += 2) {
        GByteArray *g = wlan((struct wlan_opts){ 2, 8, 0x01, true, 0, false }, g_byte_array_new());
        size_t body = g->len;
        for (int i = 0; i < 2; i++) {
            putz(g, (4 - (g->len - body) % 4) % 4);
            g = cat(g, amsdu_sub(snap_v4()));
        }
        size_t pad = (4 - (g->len - body) % 4) % 4;
        putz(g, (size_t)extra);
        size_t n = decode_all(LT_WLAN, g->data, g->len, 0, NULL, st, 4);
        g_assert_cmpuint(n, ==, extra - pad > 14 ? 3 : 2);
        if (n == 3)
            g_assert_cmpint(st[2], ==, PKT_MALFORMED);
        g_byte_array_unref(g);
    }
    g_byte_array_unref(f);
}

/* An 802.11s Mesh Control (IEEE 802.11-2016 9.2.4.7.3): flags (address
 * extension mode ae), TTL, sequence number, 6 octets per extension address. */
static GByteArray *mesh_control(unsigned ae)
{
    GByteArray *b = g_byte_array_new();
    put8(b, ae);
    put8(b, 31);
    put32le(b, 7);
    for (unsigned i = 0; i < 6 * ae; i++)
        put8(b, 0x0A + i);
    return b;
}

/* A mesh A-MSDU subframe: DA, SA, Length, its Mesh Control, the MSDU
 * (9.3.2.2.2); incl: the Length counting the Mesh Control (older Linux). */
static GByteArray *mesh_sub(unsigned ae, bool incl)
{
    GByteArray *mc = mesh_control(ae), *msdu = snap_v4(), *b = g_byte_array_new();
    putz(b, 12);
    put16(b, msdu->len + (incl ? mc->len : 0));
    return cat(cat(b, mc), msdu);
}

/* 802.11s mesh data frames whose Mesh Control is not after the MAC header:
 * one in each A-MSDU subframe (after its header; its Length the MSDU's or,
 * from older Linux, counting the Mesh Control too), and the one of a
 * fragmented MSDU, in its first fragment.  Main read the LLC header where
 * the Mesh Control is: not IP. */
static void test_wlan_mesh(void)
{
    const struct wlan_opts amsdu = { 2, 8, 0x03, true, 0, true };
    GByteArray *one = snap_v4();
    size_t snap_len = one->len;
    g_byte_array_unref(one);
    for (int incl = 0; incl < 2; incl++) {
        GByteArray *body = g_byte_array_new();
        static const unsigned ae[] = { 0, 2, 1 };
        for (int i = 0; i < 3; i++) {
            putz(body, (4 - body->len % 4) % 4);
            body = cat(body, mesh_sub(ae[i], incl));
        }
        size_t body_len = body->len;
        GByteArray *f = wlan(amsdu, body); /* body freed */
        enum packet_status st[4];
        size_t before = tcp_seen;
        g_assert_cmpuint(decode_all(LT_WLAN, f->data, f->len, 0, NULL, st, 4), ==, 3);
        for (int i = 0; i < 3; i++)
            g_assert_cmpint(st[i], ==, PKT_OK);
        g_assert_cmpuint(tcp_seen - before, ==, 3);
        if (incl) { /* cut: the form told by what the capture holds, which here is too little */
            g_byte_array_unref(f);
            continue;
        }
        /* cut inside the second subframe's Mesh Control (the frame sent whole):
         * one packet, then two truncations */
        size_t first = 14 + 6 + snap_len, cut = first + (4 - first % 4) % 4 + 14 + 3;
        size_t hdr = f->len - body_len;
        g_assert_cmpuint(decode_all(LT_WLAN, f->data, hdr + cut, f->len - hdr - cut, NULL, st, 4), ==, 3);
        g_assert_cmpint(st[0], ==, PKT_OK);
        g_assert_cmpint(st[1], ==, PKT_TRUNCATED);
        g_assert_cmpint(st[2], ==, PKT_TRUNCATED);
        g_byte_array_unref(f);
    }
    /* a fragmented mesh MSDU: the Mesh Control (with Address 5 and 6) first */
    GByteArray *msdu = cat(mesh_control(2), snap_v4());
    size_t before = tcp_seen;
    const size_t step = 24;
    size_t nfrag = (msdu->len + step - 1) / step;
    struct ipfrag_table *t = ipfrag_new(NULL);
    enum packet_status st[2];
    for (size_t i = 0; i < nfrag; i++) {
        size_t len = i + 1 < nfrag ? step : msdu->len - i * step;
        GByteArray *piece = g_byte_array_new();
        putn(piece, msdu->data + i * step, len);
        GByteArray *f = wlan((struct wlan_opts){ 2, 8, 0x03 | (i + 1 < nfrag ? 0x04 : 0), false, (unsigned)i, true },
                             piece);
        g_assert_cmpuint(decode_all(LT_WLAN, f->data, f->len, 0, t, st, 2), ==, 1);
        g_assert_cmpint(st[0], ==, i + 1 < nfrag ? PKT_FRAG_HELD : PKT_OK);
        g_byte_array_unref(f);
    }
    g_assert_cmpuint(tcp_seen - before, ==, 1);
    g_assert_cmpuint(ipfrag_stats(t)->reassembled, ==, 1);
    ipfrag_free(t);
    g_byte_array_unref(msdu);
}

/* An A-MSDU of three subframes (mesh: an 802.11s mesh A-MSDU, a Mesh
 * Control in each) sent in fragments of 24 octets: in the frame of the
 * last fragment, three packets, as tshark 4.0 dissects the reassembled
 * A-MSDU (review: main read none, one unsupported_link loss).  A
 * fragment offered between the subframes takes the reassembly's buffer:
 * the rest is a loss, never another MSDU's bytes read as it. */
static void test_wlan_amsdu_fragments(void)
{
    for (int mode = 0; mode < 3; mode++) { /* plain, mesh, a fragment between */
        bool mesh = mode == 1;
        GByteArray *body = g_byte_array_new();
        static const unsigned ae[] = { 0, 2, 1 };
        for (int i = 0; i < 3; i++) {
            putz(body, (4 - body->len % 4) % 4);
            body = cat(body, mesh ? mesh_sub(ae[i], false) : amsdu_sub(snap_v4()));
        }
        const size_t step = 24;
        size_t nfrag = (body->len + step - 1) / step;
        struct ipfrag_table *t = ipfrag_new(NULL);
        size_t before = tcp_seen;
        unsigned base = mesh ? 0x03 : 0x01;
        for (size_t i = 0; i < nfrag; i++) {
            size_t len = i + 1 < nfrag ? step : body->len - i * step;
            GByteArray *piece = g_byte_array_new();
            putn(piece, body->data + i * step, len);
            GByteArray *f = wlan((struct wlan_opts){ 2, 8, base | (i + 1 < nfrag ? 0x04 : 0), true, (unsigned)i, mesh },
                                 piece);
            enum packet_status st[4];
            if (i + 1 < nfrag) {
                g_assert_cmpuint(decode_all(LT_WLAN, f->data, f->len, 0, t, st, 4), ==, 1);
                g_assert_cmpint(st[0], ==, PKT_FRAG_HELD);
            } else if (mode < 2) {
                g_assert_cmpuint(decode_all(LT_WLAN, f->data, f->len, 0, t, st, 4), ==, 3);
                for (int k = 0; k < 3; k++)
                    g_assert_cmpint(st[k], ==, PKT_OK);
                g_assert_cmpuint(tcp_seen - before, ==, 3);
            } else {
                struct capture_record rec = { .ts_us = 1700000000000000, .caplen = f->len, .wirelen = f->len,
                                              .data = f->data, .frame = 8 };
                struct packet pkt;
                g_assert_cmpint(packet_decode(LT_WLAN, &rec, t, &pkt), ==, PKT_OK);
                g_assert_true(pkt.link_next && pkt.link_reasm);
                struct packet other;
                GByteArray *g = wlan((struct wlan_opts){ 2, 8, 0x05, false, 0, false }, snap_v4()); /* another MSDU's */
                struct capture_record rec2 = { .ts_us = 1700000000000001, .caplen = g->len, .wirelen = g->len,
                                               .data = g->data, .frame = 9 };
                g_assert_cmpint(packet_decode(LT_WLAN, &rec2, t, &other), ==, PKT_FRAG_HELD);
                g_assert_cmpint(packet_decode_next(&rec, t, &pkt), ==, PKT_UNSUPPORTED_LINK);
                g_assert_false(pkt.link_next);
                g_byte_array_unref(g);
            }
            g_byte_array_unref(f);
        }
        g_assert_cmpuint(ipfrag_stats(t)->reassembled, ==, 1);
        ipfrag_free(t);
        g_byte_array_unref(body);
    }
}

/* radiotap: present words (extended), TSFT aligned to 8, Flags with DATAPAD:
 * the 26-octet QoS header padded to 28. */
static GByteArray *radiotap(bool ext, bool datapad, GByteArray *frame)
{
    GByteArray *b = g_byte_array_new();
    put8(b, 0);
    put8(b, 0);
    size_t len = 8 + (ext ? 4 : 0);
    len = (len + 7) / 8 * 8 + 8 + 1;
    put16le(b, (unsigned)len);
    put32le(b, 0x03 | (ext ? 0x80000000u : 0));
    if (ext)
        put32le(b, 0);
    while (b->len % 8)
        put8(b, 0);
    putz(b, 8);
    put8(b, datapad ? 0x20 : 0);
    if (datapad) {
        GByteArray *p = g_byte_array_new();
        putn(p, frame->data, 26);
        putz(p, 2);
        putn(p, frame->data + 26, frame->len - 26);
        g_byte_array_unref(frame);
        frame = p;
    }
    return cat(b, frame);
}

static void test_radiotap_ppi(void)
{
    for (int ext = 0; ext < 2; ext++)
        for (int pad = 0; pad < 2; pad++) {
            GByteArray *f = radiotap(ext, pad, wlan((struct wlan_opts){ 2, 8, 0x01, false, 0, false }, snap_v4()));
            assert_tcp(decode(LT_RADIOTAP, f));
            g_byte_array_unref(f);
        }
    GByteArray *f = g_byte_array_new();
    put8(f, 0);
    put8(f, 0);
    put16le(f, 8);
    put32le(f, LT_WLAN);
    f = cat(f, wlan((struct wlan_opts){ 2, 8, 0x02, false, 0, false }, snap_v4()));
    assert_tcp(decode(LT_PPI, f));
    g_byte_array_unref(f);
}

static void test_ppp_hdlc(void)
{
    static const uint8_t framed[] = { 0xFF, 0x03, 0x00, 0x21 }, bare[] = { 0x21 }, chdlc[] = { 0x0F, 0x00, 0x08, 0x00 };
    struct { int lt; const uint8_t *h; size_t n; } cases[] = {
        { LT_PPP, framed, 4 }, { LT_PPP, bare, 1 }, { LT_PPP_HDLC, framed, 4 }, { LT_PPP_HDLC, chdlc, 4 },
        { LT_C_HDLC, chdlc, 4 },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        GByteArray *f = g_byte_array_new();
        putn(f, cases[i].h, cases[i].n);
        f = cat(f, tcp_v4_packet());
        assert_tcp(decode(cases[i].lt, f));
        g_byte_array_unref(f);
    }
    /* NetBIOS Frames over PPP: NetBEUI, not IP */
    GByteArray *f = g_byte_array_new();
    static const uint8_t nbf[] = { 0xFF, 0x03, 0x00, 0x3F, 0xF0, 0xF0 };
    putn(f, nbf, sizeof nbf);
    struct decoded d = decode(LT_PPP, f);
    g_assert_cmpint(d.st, ==, PKT_NOT_IP);
    g_assert_true(d.pkt.llc);
    g_assert_cmphex(d.pkt.llc_dsap, ==, 0xF0);
    g_byte_array_unref(f);
}

static GByteArray *nflog(bool be, bool payload)
{
    GByteArray *ip = tcp_v4_packet(), *b = g_byte_array_new();
    put8(b, 2);
    put8(b, 0);
    put16(b, 7);
    struct { unsigned type; size_t n; const uint8_t *v; } tlvs[] = {
        { 10, 5, (const uint8_t *)"smb\0\0" }, { 9, ip->len, ip->data },
    };
    for (size_t t = 0; t < (payload ? 2u : 1u); t++) {
        unsigned len = (unsigned)(4 + tlvs[t].n);
        if (be) {
            put16(b, len);
            put16(b, tlvs[t].type);
        } else {
            put16le(b, len);
            put16le(b, tlvs[t].type);
        }
        putn(b, tlvs[t].v, tlvs[t].n);
        putz(b, (4 - len % 4) % 4);
    }
    g_byte_array_unref(ip);
    return b;
}

static void test_nflog(void)
{
    for (int be = 0; be < 2; be++) {
        GByteArray *f = nflog(be, true);
        assert_tcp(decode(LT_NFLOG, f));
        g_byte_array_unref(f);
    }
    GByteArray *f = nflog(false, false);
    g_assert_cmpint(decode(LT_NFLOG, f).st, ==, PKT_NOT_IP);
    g_byte_array_unref(f);
}

/* ESP around a TCP segment: SPI, sequence, the segment, padding 1, 2, ...
 * (bad: 0, 0, ...), pad length, next header 6, an ICV. */
static GByteArray *esp(size_t icv, bool bad_pad, bool v6)
{
    GByteArray *seg = tcp_seg(49152, 445, 0x18, 0, PAYLOAD, PAYLOAD_LEN), *e = g_byte_array_new();
    put32(e, 0x1001);
    put32(e, 1);
    size_t pad = (4 - (seg->len + 2) % 4) % 4 + 4;
    e = cat(e, seg);
    for (size_t i = 0; i < pad; i++)
        put8(e, bad_pad ? 0 : (unsigned)(i + 1));
    put8(e, (unsigned)pad);
    put8(e, 6);
    for (size_t i = 0; i < icv; i++)
        put8(e, 0xCC);
    return eth(v6 ? 0x86DD : 0x0800, v6 ? ipv6(50, A6, B6, e) : ipv4(50, A4, B4, 0, e));
}

static void test_esp(void)
{
    static const size_t icvs[] = { 12, 16, 24, 32 };
    for (size_t i = 0; i < G_N_ELEMENTS(icvs); i++) {
        GByteArray *f = esp(icvs[i], false, false);
        struct decoded d = decode(DLT_EN10MB, f);
        g_assert_cmpint(d.st, ==, PKT_OK);
        g_assert_cmpint(d.pkt.l4, ==, L4_TCP);
        g_assert_cmpuint(d.pkt.dport, ==, 445);
        g_assert_cmpuint(d.pkt.payload_len, ==, PAYLOAD_LEN);
        g_assert_cmpmem(d.pkt.payload, PAYLOAD_LEN, PAYLOAD, PAYLOAD_LEN);
        g_byte_array_unref(f);
    }
    GByteArray *f = esp(12, false, true);
    struct decoded d = decode(DLT_EN10MB, f);
    g_assert_cmpint(d.st, ==, PKT_OK);
    g_assert_cmpuint(d.pkt.payload_len, ==, PAYLOAD_LEN);
    g_byte_array_unref(f);
    /* padding that is not 1, 2, 3 ...: encrypted, a loss of its own */
    f = esp(12, true, false);
    d = decode(DLT_EN10MB, f);
    g_assert_cmpint(d.st, ==, PKT_ENCRYPTED_ESP);
    g_assert_cmpstr(packet_status_name(d.st), ==, "encrypted-esp");
    g_assert_cmpuint(d.pkt.ip_proto, ==, 50);
    /* cut before the trailer: not known to be NULL, a truncation */
    d = decode_n(DLT_EN10MB, f->data, f->len - 40, f->len, NULL);
    g_assert_cmpint(d.st, ==, PKT_TRUNCATED);
    g_byte_array_unref(f);
}

/* UDP 4500 (RFC 3948): ESP, an IKE message behind its zero marker, a NAT
 * keep-alive; the fast path leaves them to the layered one. */
static void test_esp_in_udp(void)
{
    GByteArray *e = esp(12, false, false); /* Ethernet, IPv4, ESP: its ESP part re-wrapped in UDP */
    GByteArray *body = g_byte_array_new();
    putn(body, e->data + 14 + 20, e->len - 14 - 20);
    g_byte_array_unref(e);
    GByteArray *f = eth(0x0800, ipv4(17, A4, B4, 0, udp_dgram(4500, 4500, body->data, body->len)));
    struct decoded d = decode(DLT_EN10MB, f);
    g_assert_cmpint(d.st, ==, PKT_OK);
    g_assert_cmpint(d.pkt.l4, ==, L4_TCP);
    g_assert_cmpuint(d.pkt.dport, ==, 445);
    g_byte_array_unref(f);
    body->data[20] ^= 0x55; /* the inner TCP data offset: no ICV length fits any more */
    f = eth(0x0800, ipv4(17, A4, B4, 0, udp_dgram(33000, 4500, body->data, body->len)));
    g_assert_cmpint(decode(DLT_EN10MB, f).st, ==, PKT_ENCRYPTED_ESP);
    g_byte_array_unref(f);
    g_byte_array_unref(body);
    static const uint8_t ike[] = { 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8 }, keepalive[] = { 0xFF };
    f = eth(0x0800, ipv4(17, A4, B4, 0, udp_dgram(4500, 33000, ike, sizeof ike)));
    d = decode(DLT_EN10MB, f);
    g_assert_cmpint(d.st, ==, PKT_OK);
    g_assert_cmpint(d.pkt.l4, ==, L4_UDP);
    g_assert_cmpuint(d.pkt.payload_len, ==, sizeof ike);
    g_byte_array_unref(f);
    f = eth(0x0800, ipv4(17, A4, B4, 0, udp_dgram(33000, 4500, keepalive, 1)));
    d = decode(DLT_EN10MB, f);
    g_assert_cmpint(d.st, ==, PKT_OK);
    g_assert_cmpint(d.pkt.l4, ==, L4_UDP);
    g_byte_array_unref(f);
}

/* NULL ESP whose next header is UDP to 4500 again, n deep around a TCP
 * segment: followed as tunnels are, MAX_TUNNEL_DEPTH (4) deep. */
static GByteArray *esp_wrap(GByteArray *inner, uint8_t nh)
{
    GByteArray *e = g_byte_array_new();
    put32(e, 0x2002);
    put32(e, 7);
    size_t pad = (4 - (inner->len + 2) % 4) % 4;
    e = cat(e, inner);
    for (size_t i = 0; i < pad; i++)
        put8(e, (unsigned)(i + 1));
    put8(e, (unsigned)pad);
    put8(e, nh);
    putz(e, 12);
    return e;
}

static void test_esp_in_udp_depth(void)
{
    for (unsigned depth = 1; depth <= 6; depth++) {
        GByteArray *x = esp_wrap(tcp_seg(49152, 445, 0x18, 0, PAYLOAD, PAYLOAD_LEN), 6);
        for (unsigned i = 1; i < depth; i++) {
            GByteArray *u = udp_dgram(4500, 4500, x->data, x->len);
            g_byte_array_unref(x);
            x = esp_wrap(u, 17);
        }
        GByteArray *f = eth(0x0800, ipv4(17, A4, B4, 0, udp_dgram(4500, 4500, x->data, x->len)));
        g_byte_array_unref(x);
        struct decoded d = decode(DLT_EN10MB, f);
        if (depth <= 4) {
            g_assert_cmpint(d.st, ==, PKT_OK);
            g_assert_cmpint(d.pkt.l4, ==, L4_TCP);
            g_assert_cmpuint(d.pkt.tunnel_depth, ==, depth);
        } else {
            g_assert_cmpint(d.st, ==, PKT_MALFORMED);
        }
        g_byte_array_unref(f);
    }
}

/* Every prefix and random bytes of every link type: a status in range, no
 * read past the frame (ASan, valgrind), and never ok from a frame cut
 * before its TCP header. */
static void test_cuts_and_noise(void)
{
    struct { int lt; GByteArray *f; } cases[] = {
        { LT_WLAN, wlan((struct wlan_opts){ 2, 8, 0x83, false, 0, false }, snap_v4()) },
        { LT_WLAN, wlan((struct wlan_opts){ 2, 8, 0x01, true, 0, false }, amsdu_sub(snap_v4())) },
        { LT_RADIOTAP, radiotap(true, true, wlan((struct wlan_opts){ 2, 8, 0x01, false, 0, false }, snap_v4())) },
        { LT_NFLOG, nflog(false, true) },
        { DLT_EN10MB, esp(16, false, false) },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        GByteArray *f = cases[i].f;
        for (size_t n = 0; n < f->len; n++) {
            uint8_t *copy = g_memdup2(f->data, n);
            struct decoded d = decode_n(cases[i].lt, copy, n, f->len, NULL);
            g_assert_cmpint(d.st, <, PKT_STATUS_COUNT);
            if (cases[i].lt != DLT_EN10MB && n + 20 + PAYLOAD_LEN < f->len)
                g_assert_cmpint(d.st, !=, PKT_OK);
            g_free(copy);
        }
        g_byte_array_unref(f);
    }
    static const int lts[] = { LT_PPP, LT_PPP_HDLC, LT_C_HDLC, LT_WLAN, LT_RADIOTAP, LT_PPI, LT_NFLOG };
    GRand *r = g_rand_new_with_seed(239);
    struct ipfrag_table *frags = ipfrag_new(NULL);
    uint8_t buf[256];
    for (int iter = 0; iter < 60000; iter++) {
        size_t n = (size_t)g_rand_int_range(r, 0, sizeof buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)g_rand_int(r);
        if (n > 4 && iter % 3 == 0)
            buf[0] = 0, buf[2] = (uint8_t)(n / 2), buf[3] = 0; /* a plausible radiotap / PPI length */
        uint8_t *copy = g_memdup2(buf, n);
        struct decoded d = decode_n(lts[iter % G_N_ELEMENTS(lts)], copy, n, (uint32_t)n, NULL);
        g_assert_cmpint(d.st, <, PKT_STATUS_COUNT);
        g_free(copy);
        /* every packet of the frame (A-MSDU subframes), with a reassembly
         * table (802.11 fragments held and joined) */
        enum packet_status st[1];
        decode_all(lts[iter % G_N_ELEMENTS(lts)], buf, n, (size_t)(iter % 7), frags, st, 1);
    }
    const struct ipfrag_stats *fs = ipfrag_stats(frags);
    g_assert_cmpuint(fs->active, <=, WLAN_DEFRAG_SLOTS + 256);
    ipfrag_free(frags);
    g_rand_free(r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/packet-link/wlan-data", test_wlan_data);
    g_test_add_func("/packet-link/wlan-not-data", test_wlan_not_data);
    g_test_add_func("/packet-link/wlan-unreadable", test_wlan_unreadable);
    g_test_add_func("/packet-link/wlan-amsdu", test_wlan_amsdu);
    g_test_add_func("/packet-link/wlan-fragments", test_wlan_fragments);
    g_test_add_func("/packet-link/wlan-mesh", test_wlan_mesh);
    g_test_add_func("/packet-link/wlan-amsdu-fragments", test_wlan_amsdu_fragments);
    g_test_add_func("/packet-link/wlan-defrag-bounds", test_wlan_defrag_bounds);
    g_test_add_func("/packet-link/wlan-defrag-repeats", test_wlan_defrag_repeats);
    g_test_add_func("/packet-link/radiotap-ppi", test_radiotap_ppi);
    g_test_add_func("/packet-link/ppp-hdlc", test_ppp_hdlc);
    g_test_add_func("/packet-link/nflog", test_nflog);
    g_test_add_func("/packet-link/esp", test_esp);
    g_test_add_func("/packet-link/esp-in-udp", test_esp_in_udp);
    g_test_add_func("/packet-link/esp-in-udp-depth", test_esp_in_udp_depth);
    g_test_add_func("/packet-link/cuts-and-noise", test_cuts_and_noise);
    return g_test_run();
}
