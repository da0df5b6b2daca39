/* dnsname.h - just enough of DNS (RFC 1035), LLMNR (RFC 4795, UDP 5355) and
 * mDNS (RFC 6762, UDP 5353) to know which names a host resolved: the
 * question names and the owner names of answer records.  Pure C11, every
 * byte read through wire.h, no allocation. */
#ifndef SMBSCOPE_DNSNAME_H
#define SMBSCOPE_DNSNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_NAME_MAX 256    /* dotted text, NUL included (RFC 1035 2.3.4: 255 octets) */
#define DNS_MAX_NAMES 8     /* names kept per message */
#define DNS_MAX_POINTERS 16 /* compression pointers followed per name */

enum dns_status {
    DNS_OK = 0,
    DNS_SHORT,        /* the message ends inside the header or a name */
    DNS_BAD_NAME,     /* pointer loop, label type 0x40/0x80, name over 255 octets */
};

struct dns_msg {
    uint16_t id;
    bool response;
    uint8_t opcode;
    uint16_t qdcount, ancount;
    uint8_t nnames;                 /* question names, then answer owner names */
    uint8_t nquestions;             /* of nnames, the first nquestions are questions */
    char names[DNS_MAX_NAMES][DNS_NAME_MAX]; /* dotted, as on the wire (bytes outside
                                              * printable ASCII as '?') */
    enum dns_status status;
};

/* Decode what fits; m->status says where it stopped.  Returns m->status. */
enum dns_status dns_decode(const uint8_t *p, size_t n, struct dns_msg *m);

/* The key NetBIOS would use for a DNS name: its first label, cut to 15
 * characters, upper case (a NetBIOS name is 15 characters plus a type byte;
 * Windows derives it from the host name that way).  Returns out. */
const char *dns_netbios_key(const char *dotted, char out[16]);

#endif
