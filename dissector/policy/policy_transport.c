/* policy_transport.c - --allow-transport: the list of transports and ports
 * SMB may use, parsed, printed and matched. */
#include "policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
bool policy_transport_listed(const struct policy *p, const struct policy_conn_facts *f)
{
    enum transport_class cls = f->transport == TRANSPORT_UNKNOWN_START ? TRANSPORT_DIRECT : f->transport;
    for (unsigned i = 0; i < p->n_transports; i++) {
        const struct policy_transport *t = &p->transports[i];
        if ((t->cls == TRANSPORT_CLASS_COUNT || t->cls == cls) && (!t->port || t->port == f->server_port))
            return true;
    }
    return false;
}
