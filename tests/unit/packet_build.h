/* packet_build.h - frames built byte by byte for the packet_decode() tests
 * (test_packet.c, test_packet_robust.c), and the helpers that decode them
 * and check the one TCP packet most tests wrap in some link layer. */
#ifndef PACKET_BUILD_H
#define PACKET_BUILD_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "capture.h"
#include "ipfrag.h"
#include "packet.h"

/* 192.168.7.10 -> 192.168.7.20 and fd00::a -> fd00::14 */
extern const uint8_t A4[4], B4[4], A6[16], B6[16];
/* the TCP payload of tcp_v4_packet() / tcp_v6_packet() */
#define PAYLOAD_LEN 23
extern const uint8_t PAYLOAD[PAYLOAD_LEN + 1];

void put8(GByteArray *b, unsigned v);
void put16(GByteArray *b, unsigned v);
void put32(GByteArray *b, uint32_t v);
void putn(GByteArray *b, const void *p, size_t n);
void putz(GByteArray *b, size_t n);
/* head followed by tail; tail is freed */
GByteArray *cat(GByteArray *head, GByteArray *tail);

GByteArray *tcp_seg(uint16_t sport, uint16_t dport, uint8_t flags, size_t optlen, const void *pl, size_t n);
GByteArray *udp_dgram(uint16_t sport, uint16_t dport, const void *pl, size_t n);
GByteArray *ipv4_hdr_only(uint8_t proto, const uint8_t *src, const uint8_t *dst, size_t optlen,
                          size_t payload_len, uint16_t id, uint16_t frag);
GByteArray *ipv4(uint8_t proto, const uint8_t *src, const uint8_t *dst, size_t optlen, GByteArray *l4);
GByteArray *ipv6_hdr_only(uint8_t nh, const uint8_t *src, const uint8_t *dst, size_t plen);
GByteArray *ipv6(uint8_t nh, const uint8_t *src, const uint8_t *dst, GByteArray *rest);
/* link layers around an IP packet (inner is freed) */
GByteArray *eth(uint16_t type, GByteArray *inner);
GByteArray *sll(uint16_t proto, GByteArray *inner);
GByteArray *sll2(uint16_t proto, GByteArray *inner);
GByteArray *gre(uint16_t flags, uint16_t type, size_t extra, GByteArray *inner);
GByteArray *null_hdr(uint32_t family, bool little, GByteArray *inner);

struct decoded {
    enum packet_status st;
    struct packet pkt;
};

struct decoded decode_n(int dlt, const uint8_t *bytes, size_t len, uint32_t wirelen, struct ipfrag_table *frags);
struct decoded decode(int dlt, GByteArray *frame);
void assert_addr(const struct ip_addr *a, int family, const uint8_t *bytes);

/* 49152 -> 445, PSH|ACK, PAYLOAD; over IPv4 A4 -> B4 or IPv6 A6 -> B6 */
GByteArray *tcp_v4_packet(void);
GByteArray *tcp_v6_packet(void);
void assert_tcp_v4(const struct decoded *d);
void assert_tcp_v6(const struct decoded *d);

#endif
