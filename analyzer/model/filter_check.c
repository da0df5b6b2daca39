/* filter_check.c - build probe frames (link header + IPv4/IPv6 + UDP/TCP)
 * for the services the policy watches and ask libpcap's BPF whether the
 * filter keeps them.  Each probe is tried both ways (client to server and
 * the answer back) and, for TCP, as a SYN and as a data segment: a filter
 * that keeps only one of them still hides what the policy needs. */
#include "filter_check.h"

#include "filter_scan.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <pcap/pcap.h>

static const struct {
    uint8_t proto;
    uint16_t port;
    bool ipv6; /* NetBIOS over TCP/IP is IPv4 only (RFC 1001/1002); SMB is both */
    const char *name;
} probes[PROBE_COUNT] = {
    [PROBE_NBNS] = { 17, 137, false, "UDP 137" },
    [PROBE_NBDGM] = { 17, 138, false, "UDP 138" },
    [PROBE_NBSS_TCP] = { 6, 139, false, "TCP 139" },
    [PROBE_NBSS_UDP] = { 17, 139, false, "UDP 139" },
    [PROBE_SMB_TCP] = { 6, 445, true, "TCP 445" },
};

const char *filter_probe_name(enum filter_probe p) { return (unsigned)p < PROBE_COUNT ? probes[p].name : "?"; }

static void be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Link header for an IP packet of the given version; -1 when the link type
 * has no builder here. */
static int link_header(int dlt, bool v6, uint8_t *out)
{
    uint16_t ethertype = v6 ? 0x86DD : 0x0800;
    switch (dlt) {
    case DLT_EN10MB:
        memset(out, 0, 14);
        out[0] = 0x02, out[5] = 0x01, out[6] = 0x02, out[11] = 0x02; /* locally administered unicast MACs */
        be16(out + 12, ethertype);
        return 14;
    case DLT_RAW:
#ifdef DLT_IPV4
    case DLT_IPV4:
    case DLT_IPV6:
#endif
        return 0;
    case DLT_NULL: {
        uint32_t af = v6 ? AF_INET6 : AF_INET; /* host byte order, as BPF compiled here expects */
        memcpy(out, &af, 4);
        return 4;
    }
    case DLT_LOOP:
        memset(out, 0, 4);
        out[3] = v6 ? AF_INET6 : AF_INET;
        return 4;
    case DLT_LINUX_SLL:
        memset(out, 0, 16);
        be16(out + 2, 1);  /* ARPHRD_ETHER */
        be16(out + 4, 6);
        be16(out + 14, ethertype);
        return 16;
#ifdef DLT_LINUX_SLL2
    case DLT_LINUX_SLL2:
        memset(out, 0, 20);
        be16(out, ethertype);
        out[7] = 1;        /* ifindex 1 */
        be16(out + 8, 1);  /* ARPHRD_ETHER */
        out[11] = 6;
        return 20;
#endif
    case DLT_PPP:
    case DLT_PPP_SERIAL: /* PPP in HDLC-like framing: address, control, protocol */
        out[0] = 0xFF, out[1] = 0x03;
        be16(out + 2, v6 ? 0x0057 : 0x0021);
        return 4;
    case DLT_C_HDLC:
        out[0] = 0x0F, out[1] = 0x00;
        be16(out + 2, ethertype);
        return 4;
    case DLT_IEEE802_11_RADIO: /* an empty radiotap header, then 802.11 */
        memset(out, 0, 8);
        out[2] = 8;
        return 8 + link_header(DLT_IEEE802_11, v6, out + 8);
    case DLT_IEEE802_11: { /* a data frame to the AP, LLC/SNAP */
        static const uint8_t wlan[24 + 6] = { 0x08, 0x01, [4] = 0x02, [9] = 0x01, [10] = 0x02, [15] = 0x02,
                                              [16] = 0x02, [21] = 0x01, 0, 0, 0xAA, 0xAA, 0x03 };
        memcpy(out, wlan, sizeof wlan);
        be16(out + 30, ethertype);
        return 32;
    }
    default:
        return -1;
    }
}

/* One probe frame; returns its length. */
static size_t build(uint8_t *buf, int link_len, bool v6, uint8_t proto, uint16_t sport, uint16_t dport, bool syn)
{
    static const uint8_t a4[2][4] = { { 10, 0, 0, 2 }, { 10, 0, 0, 1 } };
    static const uint8_t a6[2][16] = { { 0xfd, 0, [15] = 2 }, { 0xfd, 0, [15] = 1 } };
    bool from_client = dport < sport;
    uint8_t *ip = buf + link_len;
    size_t l4_len = proto == 6 ? 20 : 8, payload = syn ? 0 : 8, ip_len = v6 ? 40 : 20;
    memset(ip, 0, ip_len + l4_len + payload);
    if (v6) {
        ip[0] = 0x60;
        be16(ip + 4, (uint16_t)(l4_len + payload));
        ip[6] = proto;
        ip[7] = 64;
        memcpy(ip + 8, a6[!from_client], 16);
        memcpy(ip + 24, a6[from_client], 16);
    } else {
        ip[0] = 0x45;
        be16(ip + 2, (uint16_t)(ip_len + l4_len + payload));
        ip[8] = 64;
        ip[9] = proto;
        memcpy(ip + 12, a4[!from_client], 4);
        memcpy(ip + 16, a4[from_client], 4);
    }
    uint8_t *l4 = ip + ip_len;
    be16(l4, sport);
    be16(l4 + 2, dport);
    if (proto == 6) {
        l4[12] = 0x50;
        l4[13] = syn ? (from_client ? 0x02 : 0x12) : 0x18; /* SYN, SYN|ACK, or PSH|ACK */
        be16(l4 + 14, 65535);
    } else {
        be16(l4 + 4, (uint16_t)(l4_len + payload));
    }
    return (size_t)link_len + ip_len + l4_len + payload;
}

bool filter_check(int dlt, const char *filter, uint32_t *blinded, char *errbuf, size_t errlen)
{
    *blinded = 0;
    size_t len = strlen(filter);
    if (len > FILTER_CHECK_MAX_LEN) {
        snprintf(errbuf, errlen, "%zu bytes long, more than the %d smbscope compiles", len, FILTER_CHECK_MAX_LEN);
        return false;
    }
    struct filter_scan scan;
    filter_scan(filter, &scan);
    unsigned terms = scan.terms;
    if (terms > FILTER_CHECK_MAX_TERMS) {
        snprintf(errbuf, errlen, "%u terms (host, net, port, or joined by and/or), more than the %d smbscope compiles", terms,
                 FILTER_CHECK_MAX_TERMS);
        return false;
    }
    if (scan.host_name[0]) {
        snprintf(errbuf, errlen, "it names a host, net or gateway (\"%s\"): smbscope does not look up names a capture gives",
                 scan.host_name);
        return false;
    }
    uint8_t hdr[64];
    if (link_header(dlt, false, hdr) < 0) {
        snprintf(errbuf, errlen, "no probe packets for link type %s", pcap_datalink_val_to_name(dlt) ? pcap_datalink_val_to_name(dlt) : "?");
        return false;
    }
    pcap_t *p = pcap_open_dead(dlt, 65535);
    if (!p) {
        snprintf(errbuf, errlen, "libpcap cannot open link type %d", dlt);
        return false;
    }
    /* Not optimised: the probes need the program's answers, not its speed,
     * and libpcap's optimiser is the costly part (a filter of 400 "host"
     * terms: 22 s optimised, 2.5 s not, on a loaded machine). */
    struct bpf_program prog;
    if (pcap_compile(p, &prog, filter, 0, PCAP_NETMASK_UNKNOWN) != 0) {
        snprintf(errbuf, errlen, "libpcap cannot compile it: %s", pcap_geterr(p));
        pcap_close(p);
        return false;
    }
    for (int i = 0; i < PROBE_COUNT; i++) {
        for (int v6 = 0; v6 <= (probes[i].ipv6 ? 1 : 0); v6++) {
            for (int k = 0; k < 4; k++) {
                bool to_server = k < 2, syn = (k & 1) && probes[i].proto == 6;
                if ((k & 1) && probes[i].proto != 6)
                    continue;
                uint8_t frame[128];
                int ll = link_header(dlt, v6, frame);
                uint16_t ephemeral = 50000;
                size_t n = build(frame, ll, v6, probes[i].proto, to_server ? ephemeral : probes[i].port,
                                 to_server ? probes[i].port : ephemeral, syn);
                struct pcap_pkthdr h;
                memset(&h, 0, sizeof h);
                h.caplen = h.len = (bpf_u_int32)n;
                if (!pcap_offline_filter(&prog, &h, frame))
                    *blinded |= 1u << i;
            }
        }
    }
    pcap_freecode(&prog);
    pcap_close(p);
    return true;
}
