/* filter_scan.c - libpcap's scanner (scanner.l) read just far enough to
 * count the primitives a filter makes and tell the words it resolves by
 * name: each word is a keyword, a number,
 * an address (dotted digits, IPv6, MAC) or a name (its ID token), and a
 * name is a host's unless the qualifiers before it say port, portrange,
 * proto or protochain, or a keyword that takes a value of its own (type,
 * subtype, on, reason ...).  Qualifiers carry over and/or/not, as libpcap
 * repeats an omitted qualifier list ("port 21 or ftp": a port). */
#include "filter_scan.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

enum ctx {
    CTX_HOST,  /* a name here is resolved: host (the default), net, gateway */
    CTX_LOCAL, /* port, portrange, proto, protochain: local tables */
    CTX_VALUE, /* a keyword whose value is its own (type mgt, on eth0, reason match) */
};

/* Keywords and what a name after them is (scanner.l's list). */
static const struct {
    const char *word;
    enum ctx ctx;
} keywords[] = {
    /* types */
    { "host", CTX_HOST }, { "net", CTX_HOST }, { "gateway", CTX_HOST },
    { "port", CTX_LOCAL }, { "portrange", CTX_LOCAL }, { "proto", CTX_LOCAL }, { "protochain", CTX_LOCAL },
    /* directions and protocols: qualifiers whose type defaults to host */
    { "src", CTX_HOST }, { "dst", CTX_HOST }, { "link", CTX_HOST }, { "ether", CTX_HOST }, { "ppp", CTX_HOST },
    { "slip", CTX_HOST }, { "fddi", CTX_HOST }, { "tr", CTX_HOST }, { "wlan", CTX_HOST }, { "arp", CTX_HOST },
    { "rarp", CTX_HOST }, { "ip", CTX_HOST }, { "sctp", CTX_HOST }, { "tcp", CTX_HOST }, { "udp", CTX_HOST },
    { "icmp", CTX_HOST }, { "igmp", CTX_HOST }, { "igrp", CTX_HOST }, { "pim", CTX_HOST }, { "vrrp", CTX_HOST },
    { "carp", CTX_HOST }, { "radio", CTX_HOST }, { "ip6", CTX_HOST }, { "icmp6", CTX_HOST }, { "ah", CTX_HOST },
    { "esp", CTX_HOST }, { "atalk", CTX_HOST }, { "aarp", CTX_HOST }, { "decnet", CTX_HOST }, { "lat", CTX_HOST },
    { "sca", CTX_HOST }, { "moprc", CTX_HOST }, { "mopdl", CTX_HOST }, { "iso", CTX_HOST }, { "esis", CTX_HOST },
    { "es-is", CTX_HOST }, { "isis", CTX_HOST }, { "is-is", CTX_HOST }, { "l1", CTX_HOST }, { "l2", CTX_HOST },
    { "iih", CTX_HOST }, { "lsp", CTX_HOST }, { "snp", CTX_HOST }, { "csnp", CTX_HOST }, { "psnp", CTX_HOST },
    { "clnp", CTX_HOST }, { "stp", CTX_HOST }, { "ipx", CTX_HOST }, { "netbeui", CTX_HOST },
    { "ra", CTX_HOST }, { "ta", CTX_HOST }, { "addr1", CTX_HOST }, { "addr2", CTX_HOST }, { "addr3", CTX_HOST },
    { "addr4", CTX_HOST }, { "address1", CTX_HOST }, { "address2", CTX_HOST }, { "address3", CTX_HOST },
    { "address4", CTX_HOST },
    /* keywords with values of their own (numbers, 802.11 names, interface names, pf words) */
    { "mask", CTX_VALUE }, { "type", CTX_VALUE }, { "subtype", CTX_VALUE }, { "dir", CTX_VALUE },
    { "direction", CTX_VALUE }, { "less", CTX_VALUE }, { "greater", CTX_VALUE }, { "byte", CTX_VALUE },
    { "broadcast", CTX_VALUE }, { "multicast", CTX_VALUE }, { "len", CTX_VALUE }, { "length", CTX_VALUE },
    { "inbound", CTX_VALUE }, { "outbound", CTX_VALUE }, { "ifindex", CTX_VALUE }, { "vlan", CTX_VALUE },
    { "mpls", CTX_VALUE }, { "pppoed", CTX_VALUE }, { "pppoes", CTX_VALUE }, { "geneve", CTX_VALUE },
    { "lane", CTX_VALUE }, { "llc", CTX_VALUE }, { "metac", CTX_VALUE }, { "bcc", CTX_VALUE }, { "oam", CTX_VALUE },
    { "oamf4", CTX_VALUE }, { "oamf4ec", CTX_VALUE }, { "oamf4sc", CTX_VALUE }, { "sc", CTX_VALUE },
    { "ilmic", CTX_VALUE }, { "vpi", CTX_VALUE }, { "vci", CTX_VALUE }, { "connectmsg", CTX_VALUE },
    { "metaconnect", CTX_VALUE }, { "on", CTX_VALUE }, { "ifname", CTX_VALUE }, { "rset", CTX_VALUE },
    { "ruleset", CTX_VALUE }, { "rnr", CTX_VALUE }, { "rulenum", CTX_VALUE }, { "srnr", CTX_VALUE },
    { "subrulenum", CTX_VALUE }, { "reason", CTX_VALUE }, { "action", CTX_VALUE }, { "fisu", CTX_VALUE },
    { "lssu", CTX_VALUE }, { "lsu", CTX_VALUE }, { "msu", CTX_VALUE }, { "hfisu", CTX_VALUE }, { "hlssu", CTX_VALUE },
    { "hmsu", CTX_VALUE }, { "sio", CTX_VALUE }, { "opc", CTX_VALUE }, { "dpc", CTX_VALUE }, { "sls", CTX_VALUE },
    { "hsio", CTX_VALUE }, { "hopc", CTX_VALUE }, { "hdpc", CTX_VALUE }, { "hsls", CTX_VALUE },
};

/* The words scanner.l itself reads as numbers (ICMP and ICMPv6 types, TCP
 * flags), spelt out: any other word, "tcp-leak.example" say, is an ID that
 * libpcap resolves (review F1: a prefix match let such names through). */
static bool number_word(const char *w, size_t n)
{
    static const char *const words[] = {
        "icmptype", "icmpcode", "icmp-echoreply", "icmp-unreach", "icmp-sourcequench", "icmp-redirect",
        "icmp-echo", "icmp-routeradvert", "icmp-routersolicit", "icmp-timxceed", "icmp-paramprob",
        "icmp-tstamp", "icmp-tstampreply", "icmp-ireq", "icmp-ireqreply", "icmp-maskreq", "icmp-maskreply",
        "icmp6type", "icmp6code", "icmp6-destinationunreach", "icmp6-packettoobig", "icmp6-timeexceeded",
        "icmp6-parameterproblem", "icmp6-echo", "icmp6-echoreply", "icmp6-multicastlistenerquery",
        "icmp6-multicastlistenerreportv1", "icmp6-multicastlistenerdone", "icmp6-routersolicit",
        "icmp6-routeradvert", "icmp6-neighborsolicit", "icmp6-neighboradvert", "icmp6-redirect",
        "icmp6-routerrenum", "icmp6-nodeinformationquery", "icmp6-nodeinformationresponse",
        "icmp6-ineighbordiscoverysolicit", "icmp6-ineighbordiscoveryadvert", "icmp6-multicastlistenerreportv2",
        "icmp6-homeagentdiscoveryrequest", "icmp6-homeagentdiscoveryreply", "icmp6-mobileprefixsolicit",
        "icmp6-mobileprefixadvert", "icmp6-certpathsolicit", "icmp6-certpathadvert",
        "icmp6-multicastrouteradvert", "icmp6-multicastroutersolicit", "icmp6-multicastrouterterm",
        "tcpflags", "tcp-fin", "tcp-syn", "tcp-rst", "tcp-push", "tcp-ack", "tcp-urg", "tcp-ece", "tcp-cwr",
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (n == strlen(words[i]) && !strncmp(w, words[i], n))
            return true;
    return false;
}

static bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* One of scanner.l's N: decimal (or octal) digits, or 0x and hex digits. */
static bool number(const char *w, size_t n)
{
    size_t i = 0;
    bool hex = n > 2 && w[0] == '0' && (w[1] == 'x' || w[1] == 'X');
    if (hex)
        i = 2;
    if (i == n)
        return false;
    for (; i < n; i++)
        if (!(hex ? is_hex(w[i]) : is_digit(w[i])))
            return false;
    return true;
}

/* A number, or two to four of them joined by single dots (scanner.l's HID:
 * an IPv4 address or a prefix of one).  Anything else made of digits and
 * dots ("1.2.3.4.5", "10.0.0.1.") is an ID, and libpcap resolves it. */
static bool numeric(const char *w, size_t n)
{
    size_t parts = 0, start = 0;
    for (size_t i = 0; i <= n; i++)
        if (i == n || w[i] == '.') {
            if (!number(w + start, i - start))
                return false;
            parts++;
            start = i + 1;
        }
    return parts <= 4;
}

/* An IPv6 address as the scanner's V6 patterns take one: whatever
 * inet_pton() reads (a word with ':' that is neither this nor a MAC address
 * is split by the scanner into pieces, some of them names). */
static bool ipv6(const char *w, size_t n)
{
    char text[INET6_ADDRSTRLEN + 1];
    struct in6_addr a;
    if (n >= sizeof text)
        return false;
    memcpy(text, w, n);
    text[n] = '\0';
    return inet_pton(AF_INET6, text, &a) == 1;
}

/* A MAC address as the scanner takes one: six groups of one or two hex
 * digits split by ':', '-' or '.'; three of four split by '.'; twelve. */
static bool mac(const char *w, size_t n)
{
    if (n == 12) {
        for (size_t i = 0; i < n; i++)
            if (!is_hex(w[i]))
                return false;
        return true;
    }
    char sep = 0;
    size_t groups = 0, len = 0, widest = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || !is_hex(w[i])) {
            if (len == 0 || (i < n && sep && w[i] != sep) || (i < n && w[i] != ':' && w[i] != '-' && w[i] != '.'))
                return false;
            if (i < n)
                sep = w[i];
            groups++;
            widest = len > widest ? len : widest;
            len = 0;
        } else {
            len++;
        }
    }
    return (groups == 6 && widest <= 2) || (groups == 3 && sep == '.' && widest == 4 && n == 14);
}

static bool keyword(const char *w, size_t n, enum ctx *out)
{
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (strlen(keywords[i].word) == n && !strncmp(w, keywords[i].word, n)) {
            *out = keywords[i].ctx;
            return true;
        }
    return false;
}

static bool word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '.' || c == '_' || c == '-' ||
           c == ':';
}

static bool type_word(const char *w, size_t n)
{
    static const char *const words[] = { "port", "portrange", "host", "net" };
    for (size_t k = 0; k < sizeof words / sizeof words[0]; k++)
        if (strlen(words[k]) == n && !strncmp(w, words[k], n))
            return true;
    return false;
}

void filter_scan(const char *filter, struct filter_scan *out)
{
    enum ctx ctx = CTX_HOST; /* a bare name is a host */
    unsigned named = 0, joins = 0;
    out->host_name[0] = '\0';
    for (const char *q = filter; *q;) {
        bool escaped = q[0] == '\\' && q[1] && q[1] != ' ';
        if ((q[0] == '&' && q[1] == '&') || (q[0] == '|' && q[1] == '|')) {
            joins++;
            q += 2;
            continue;
        }
        if (escaped) {
            q++; /* "\name": a name whatever it spells */
        } else if (!word_char(*q) || *q == '-' || *q == '.') { /* ':' starts "::1" */
            q++;
            continue;
        }
        const char *e = q;
        while (*e && (escaped ? (*e != ' ' && *e != '!' && *e != '(' && *e != ')' && *e != '\t' && *e != '\n')
                              : word_char(*e)))
            e++;
        size_t n = (size_t)(e - q);
        enum ctx kw;
        if (!escaped && ((n == 3 && !strncmp(q, "and", 3)) || (n == 2 && !strncmp(q, "or", 2)))) {
            joins++; /* the qualifiers before carry over */
        } else if (!escaped && n == 3 && !strncmp(q, "not", 3)) {
            /* so do they over not */
        } else if (!escaped && keyword(q, n, &kw)) {
            named += type_word(q, n);
            ctx = kw;
        } else if (escaped || !(numeric(q, n) || ipv6(q, n) || mac(q, n) || number_word(q, n))) {
            if (ctx == CTX_HOST && !out->host_name[0])
                snprintf(out->host_name, sizeof out->host_name, "%.*s", (int)(n < 63 ? n : 63), q);
        }
        q = e;
    }
    out->terms = named > joins + 1 ? named : joins + 1;
}
