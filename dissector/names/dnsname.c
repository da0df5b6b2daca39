/* dnsname.c - see dnsname.h. */
#include "dnsname.h"

#include <string.h>

#include "wire.h"

/* Read a possibly compressed name at the cursor (RFC 1035 4.1.4) into out;
 * the cursor moves past the name as it appears at its own place. */
static enum dns_status read_name(struct wire *w, const struct wire *msg, char out[DNS_NAME_MAX])
{
    size_t len = 0, octets = 0;
    int pointers = 0;
    struct wire cur = *w;
    bool jumped = false;
    out[0] = '\0';
    for (;;) {
        uint8_t l = wire_u8(&cur);
        if (!wire_ok(&cur))
            return DNS_SHORT;
        if (l == 0)
            break;
        if ((l & 0xC0) == 0xC0) {
            uint8_t lo = wire_u8(&cur);
            if (!wire_ok(&cur))
                return DNS_SHORT;
            if (!jumped)
                *w = cur;
            jumped = true;
            if (++pointers > DNS_MAX_POINTERS)
                return DNS_BAD_NAME;
            cur = *msg;
            if (!wire_seek(&cur, (size_t)(l & 0x3F) << 8 | lo))
                return DNS_SHORT;
            continue;
        }
        if (l & 0xC0)
            return DNS_BAD_NAME; /* extended label types: not names to match */
        octets += 1u + l;
        if (octets > 255)
            return DNS_BAD_NAME;
        const uint8_t *label = wire_bytes(&cur, l);
        if (!label)
            return DNS_SHORT;
        if (len)
            out[len++] = '.';
        for (uint8_t i = 0; i < l; i++)
            out[len++] = label[i] > 0x20 && label[i] < 0x7F ? (char)label[i] : '?';
        out[len] = '\0';
    }
    if (!jumped)
        *w = cur;
    return DNS_OK;
}

enum dns_status dns_decode(const uint8_t *p, size_t n, struct dns_msg *m)
{
    memset(m, 0, offsetof(struct dns_msg, names));
    struct wire msg = wire_make(p, n), w = msg;
    m->id = wire_u16be(&w);
    uint16_t flags = wire_u16be(&w);
    m->qdcount = wire_u16be(&w);
    m->ancount = wire_u16be(&w);
    wire_skip(&w, 4); /* NSCOUNT, ARCOUNT */
    if (!wire_ok(&w))
        return m->status = DNS_SHORT;
    m->response = flags & 0x8000;
    m->opcode = (flags >> 11) & 15;
    for (uint16_t i = 0; i < m->qdcount; i++) {
        char name[DNS_NAME_MAX];
        enum dns_status st = read_name(&w, &msg, name);
        if (st != DNS_OK)
            return m->status = st;
        if (!wire_skip(&w, 4) || !wire_ok(&w)) /* QTYPE, QCLASS */
            return m->status = DNS_SHORT;
        if (m->nnames < DNS_MAX_NAMES) {
            memcpy(m->names[m->nnames++], name, sizeof name);
            m->nquestions++;
        }
    }
    for (uint16_t i = 0; i < m->ancount; i++) {
        char name[DNS_NAME_MAX];
        enum dns_status st = read_name(&w, &msg, name);
        if (st != DNS_OK)
            return m->status = st;
        wire_skip(&w, 8); /* TYPE, CLASS, TTL */
        uint16_t rdlen = wire_u16be(&w);
        if (!wire_skip(&w, rdlen) || !wire_ok(&w))
            return m->status = DNS_SHORT;
        if (m->nnames < DNS_MAX_NAMES)
            memcpy(m->names[m->nnames++], name, sizeof name);
    }
    return m->status = DNS_OK;
}

const char *dns_netbios_key(const char *dotted, char out[16])
{
    size_t i = 0;
    for (; dotted[i] && dotted[i] != '.' && i < 15; i++)
        out[i] = dotted[i] >= 'a' && dotted[i] <= 'z' ? (char)(dotted[i] - 'a' + 'A') : dotted[i];
    out[i] = '\0';
    return out;
}
