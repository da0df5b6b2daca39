/* policy.c - the verdict rules.  Each connection rule is one table row so the
 * command and the plugin apply exactly the same policy. */
#include "policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialect.h"

struct policy policy_default(void)
{
    struct policy p = { 0 };
    return p;
}

/* A class named in --allow-transport: the classifier's own names. */
static bool class_by_name(const char *name, size_t n, enum transport_class *out)
{
    for (int c = TRANSPORT_NONE + 1; c < TRANSPORT_CLASS_COUNT; c++) {
        const char *cn = transport_class_name((enum transport_class)c);
        if (strlen(cn) == n && strncmp(cn, name, n) == 0) {
            *out = (enum transport_class)c;
            return true;
        }
    }
    return false;
}

static bool add_entry(struct policy *p, const char *e, size_t n, char *errbuf, size_t errlen)
{
    const char *colon = memchr(e, ':', n);
    size_t name_len = colon ? (size_t)(colon - e) : n;
    if (p->n_transports >= POLICY_MAX_TRANSPORTS) {
        snprintf(errbuf, errlen, "--allow-transport: at most %d entries", POLICY_MAX_TRANSPORTS);
        return false;
    }
    struct policy_transport t = { TRANSPORT_NONE, 0 };
    if (name_len == 1 && e[0] == '*') {
        t.cls = TRANSPORT_CLASS_COUNT; /* any class */
    } else if (!class_by_name(e, name_len, &t.cls)) {
        snprintf(errbuf, errlen, "--allow-transport: unknown transport '%.*s' (direct, quic, nbt, ...)", (int)name_len, e);
        return false;
    }
    if (colon && !(n - name_len == 2 && colon[1] == '*')) {
        char port[8] = { 0 };
        size_t plen = n - name_len - 1;
        char *end = NULL;
        long v = plen && plen < sizeof port ? (memcpy(port, colon + 1, plen), strtol(port, &end, 10)) : -1;
        if (!end || *end || v < 1 || v > 65535) {
            snprintf(errbuf, errlen, "--allow-transport: bad port in '%.*s'", (int)n, e);
            return false;
        }
        t.port = (uint16_t)v;
    }
    p->transports[p->n_transports++] = t;
    return true;
}

bool policy_parse_transports(struct policy *p, const char *list, char *errbuf, size_t errlen)
{
    p->n_transports = 0;
    for (const char *e = list; *e;) {
        size_t n = strcspn(e, ",");
        if (!n || !add_entry(p, e, n, errbuf, errlen)) {
            if (!n)
                snprintf(errbuf, errlen, "--allow-transport: empty entry in '%s'", list);
            return false;
        }
        e += n + (e[n] == ',');
    }
    if (!p->n_transports) {
        snprintf(errbuf, errlen, "--allow-transport: empty list");
        return false;
    }
    return true;
}

const char *policy_transports_text(const struct policy *p, char *buf, size_t buflen)
{
    size_t used = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < p->n_transports && used < buflen; i++) {
        const struct policy_transport *t = &p->transports[i];
        const char *name = t->cls == TRANSPORT_CLASS_COUNT ? "*" : transport_class_name(t->cls);
        int n = t->port ? snprintf(buf + used, buflen - used, "%s%s:%u", i ? "," : "", name, t->port)
                        : snprintf(buf + used, buflen - used, "%s%s:*", i ? "," : "", name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return buf;
}

/* A connection whose start was not captured on TCP is judged as direct:
 * nothing showed NBSS, and the list speaks of where SMB may go. */
static bool transport_listed(const struct policy *p, const struct policy_conn_facts *f)
{
    enum transport_class cls = f->transport == TRANSPORT_UNKNOWN_START ? TRANSPORT_DIRECT : f->transport;
    for (unsigned i = 0; i < p->n_transports; i++) {
        const struct policy_transport *t = &p->transports[i];
        if ((t->cls == TRANSPORT_CLASS_COUNT || t->cls == cls) && (!t->port || t->port == f->server_port))
            return true;
    }
    return false;
}

static bool v_transport(const struct policy *p, const struct policy_conn_facts *f)
{
    return p->n_transports && f->transport != TRANSPORT_NONE && !transport_listed(p, f);
}

static bool v_nbss(const struct policy *p, const struct policy_conn_facts *f)
{
    /* NBSS on 139 is reported through the NetBIOS ledger (port rule); this
     * rule catches NBSS framing that hides on another port. */
    return !p->allow_netbios && f->transport == TRANSPORT_NBT_NONSTANDARD_PORT;
}

static bool v_smb1(const struct policy *p, const struct policy_conn_facts *f)
{
    return !p->allow_smb1 && f->smb_version == 1;
}

static bool v_min_dialect(const struct policy *p, const struct policy_conn_facts *f)
{
    if (!p->min_dialect)
        return false;
    if (f->smb_version == 1)
        return true;
    if (!f->dialect || f->dialect == SMB2_DIALECT_WILDCARD)
        return false; /* not known: nothing to hold against it */
    return smb2_dialect_rank(f->dialect) < smb2_dialect_rank(p->min_dialect);
}

static bool v_signing(const struct policy *p, const struct policy_conn_facts *f)
{
    /* Encryption (AEAD) protects integrity too, as MS-SMB2 3.2.4.1.1 says. */
    return p->require_signing && f->smb_version && !f->signing_required && !f->signed_seen && !f->encrypted;
}

static bool v_encryption(const struct policy *p, const struct policy_conn_facts *f)
{
    return p->require_encryption && f->smb_version && !f->encrypted;
}

static const struct {
    enum policy_rule rule;
    const char *name;
    const char *description;
    bool (*violated)(const struct policy *, const struct policy_conn_facts *);
} rules[RULE_COUNT] = {
    { RULE_NETBIOS, "netbios", "NetBIOS traffic (UDP 137/138, TCP/UDP 139)", NULL },
    { RULE_NETBIOS_ATTEMPT, "netbios-attempt", "NetBIOS attempt, refused or unanswered", NULL },
    { RULE_NBSS_TRANSPORT, "nbss-transport", "NBSS session framing on a port other than 139", v_nbss },
    { RULE_SMB1, "smb1", "SMB1 negotiated", v_smb1 },
    { RULE_MIN_DIALECT, "min-dialect", "dialect below the required minimum", v_min_dialect },
    { RULE_SIGNING, "signing", "signing neither required nor seen", v_signing },
    { RULE_ENCRYPTION, "encryption", "SMB encryption not in use", v_encryption },
    { RULE_TRANSPORT, "transport", "SMB on a transport or port --allow-transport does not list", v_transport },
};

const char *policy_rule_name(enum policy_rule rule)
{
    return (unsigned)rule < RULE_COUNT ? rules[rule].name : "unknown";
}

const char *policy_rule_description(enum policy_rule rule)
{
    return (unsigned)rule < RULE_COUNT ? rules[rule].description : "unknown rule";
}

uint32_t policy_check_connection(const struct policy *p, const struct policy_conn_facts *f)
{
    uint32_t bits = 0;
    for (unsigned i = 0; i < RULE_COUNT; i++)
        if (rules[i].violated && rules[i].violated(p, f))
            bits |= 1u << i;
    return bits;
}

enum policy_rule policy_check_netbios(const struct policy *p, bool attempt)
{
    if (p->allow_netbios)
        return RULE_COUNT;
    return attempt ? RULE_NETBIOS_ATTEMPT : RULE_NETBIOS;
}
