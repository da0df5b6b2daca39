/* tls_hello.c - ClientHello/ServerHello decoding; see tls_hello.h. */
#include "tls_hello.h"

#include <stdio.h>
#include <string.h>

#include "wire.h"

enum {
    EXT_SERVER_NAME = 0x0000,
    EXT_ALPN = 0x0010,
    EXT_SUPPORTED_VERSIONS = 0x002b,
    EXT_QUIC_TP = 0x0039,
};

size_t tls_handshake_len(const uint8_t *p, size_t len)
{
    if (!p || len < 4)
        return 0;
    return 4 + (((size_t)p[1] << 16) | ((size_t)p[2] << 8) | p[3]);
}

static void copy_printable(char *dst, size_t cap, const uint8_t *src, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    for (size_t i = 0; i < n; i++)
        dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
    dst[n] = '\0';
}

static void ext_sni(struct wire *w, struct tls_hello *h)
{
    struct wire list = wire_sub(w, wire_u16be(w));
    while (wire_left(&list) && wire_ok(&list)) {
        uint8_t type = wire_u8(&list);
        uint16_t n = wire_u16be(&list);
        const uint8_t *name = wire_bytes(&list, n);
        if (name && type == 0 && !h->sni[0]) /* host_name */
            copy_printable(h->sni, sizeof h->sni, name, n);
    }
}

static void ext_alpn(struct wire *w, struct tls_hello *h)
{
    struct wire list = wire_sub(w, wire_u16be(w));
    while (wire_left(&list) && wire_ok(&list)) {
        uint8_t n = wire_u8(&list);
        const uint8_t *name = wire_bytes(&list, n);
        if (!name)
            break;
        if (h->alpn_count >= TLS_MAX_ALPN) {
            h->alpn_truncated = true;
            continue;
        }
        copy_printable(h->alpn[h->alpn_count], sizeof h->alpn[0], name, n);
        /* Keep the real bytes comparable: an entry with NULs is not "smb". */
        if (memchr(name, 0, n))
            h->alpn[h->alpn_count][0] = '?';
        h->alpn_count++;
    }
}

static void ext_versions(struct wire *w, struct tls_hello *h)
{
    if (h->msg_type == TLS_SERVER_HELLO) {
        h->selected_version = wire_u16be(w);
        return;
    }
    struct wire list = wire_sub(w, wire_u8(w));
    while (wire_left(&list) >= 2) {
        uint16_t v = wire_u16be(&list);
        if (h->n_versions < TLS_MAX_LIST)
            h->versions[h->n_versions++] = v;
    }
}

static const struct {
    uint16_t type;
    void (*parse)(struct wire *, struct tls_hello *);
} extension_parsers[] = {
    { EXT_SERVER_NAME, ext_sni },
    { EXT_ALPN, ext_alpn },
    { EXT_SUPPORTED_VERSIONS, ext_versions },
};

static void parse_extensions(struct wire *w, struct tls_hello *h)
{
    struct wire exts = wire_sub(w, wire_u16be(w));
    while (wire_left(&exts) >= 4) {
        uint16_t type = wire_u16be(&exts);
        struct wire body = wire_sub(&exts, wire_u16be(&exts));
        if (!wire_ok(&exts))
            break;
        if (type == EXT_QUIC_TP)
            h->quic_transport_params = true;
        for (size_t i = 0; i < sizeof extension_parsers / sizeof extension_parsers[0]; i++)
            if (extension_parsers[i].type == type)
                extension_parsers[i].parse(&body, h);
    }
}

bool tls_hello_parse(const uint8_t *p, size_t len, struct tls_hello *h)
{
    memset(h, 0, sizeof *h);
    struct wire w = wire_make(p, len);
    h->msg_type = wire_u8(&w);
    struct wire body = wire_sub(&w, wire_u24be(&w));
    if (!wire_ok(&w) || (h->msg_type != TLS_CLIENT_HELLO && h->msg_type != TLS_SERVER_HELLO))
        return false;
    h->legacy_version = wire_u16be(&body);
    const uint8_t *random = wire_bytes(&body, 32);
    if (random)
        memcpy(h->random, random, 32);
    wire_skip(&body, wire_u8(&body)); /* legacy_session_id */
    if (h->msg_type == TLS_CLIENT_HELLO) {
        struct wire suites = wire_sub(&body, wire_u16be(&body));
        while (wire_left(&suites) >= 2) {
            uint16_t s = wire_u16be(&suites);
            if (h->n_ciphers < TLS_MAX_LIST)
                h->ciphers[h->n_ciphers++] = s;
        }
        wire_skip(&body, wire_u8(&body)); /* compression methods */
    } else {
        h->cipher = wire_u16be(&body);
        wire_skip(&body, 1); /* compression method */
    }
    if (!wire_ok(&body))
        return false;
    if (wire_left(&body))
        parse_extensions(&body, h);
    return true;
}

bool tls_alpn_has(const struct tls_hello *h, const char *proto)
{
    for (unsigned i = 0; i < h->alpn_count; i++)
        if (strcmp(h->alpn[i], proto) == 0)
            return true;
    return false;
}

const char *tls_alpn_join(const struct tls_hello *h, char *buf, size_t buflen)
{
    if (!buf || !buflen)
        return "";
    buf[0] = '\0';
    size_t used = 0;
    for (unsigned i = 0; i < h->alpn_count; i++) {
        int n = snprintf(buf + used, buflen - used, "%s%s", i ? "," : "", h->alpn[i]);
        if (n < 0 || (size_t)n >= buflen - used)
            break;
        used += (size_t)n;
    }
    return buf;
}
