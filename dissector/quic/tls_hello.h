/* tls_hello.h - TLS 1.3 ClientHello / ServerHello as QUIC carries them
 * (RFC 8446 4.1.2-4.1.3, RFC 6066 3 SNI, RFC 7301 ALPN). Pure C11. */
#ifndef SMBSCOPE_TLS_HELLO_H
#define SMBSCOPE_TLS_HELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLS_MAX_ALPN 8
#define TLS_MAX_ALPN_LEN 255
#define TLS_MAX_LIST 32

enum { TLS_CLIENT_HELLO = 1, TLS_SERVER_HELLO = 2 };

struct tls_hello {
    uint8_t msg_type;
    uint16_t legacy_version;
    uint8_t random[32];
    char sni[256];                 /* host_name, non-printables as '?' */
    uint8_t alpn_count;            /* entries kept (up to TLS_MAX_ALPN) */
    bool alpn_truncated;           /* more entries, or longer names, than kept */
    char alpn[TLS_MAX_ALPN][TLS_MAX_ALPN_LEN + 1];
    uint8_t n_versions;            /* supported_versions (ClientHello) */
    uint16_t versions[TLS_MAX_LIST];
    uint8_t n_ciphers;             /* cipher_suites (ClientHello) */
    uint16_t ciphers[TLS_MAX_LIST];
    uint16_t cipher;               /* ServerHello: chosen suite */
    uint16_t selected_version;     /* ServerHello: supported_versions */
    bool quic_transport_params;    /* extension 0x39 present */
};

/* Bytes of the handshake message at p (4-byte header + body), 0 if the
 * header itself is incomplete. */
size_t tls_handshake_len(const uint8_t *p, size_t len);

/* Parse one complete ClientHello or ServerHello (with its 4-byte header). */
bool tls_hello_parse(const uint8_t *p, size_t len, struct tls_hello *h);

/* True if the ALPN list offers proto exactly. */
bool tls_alpn_has(const struct tls_hello *h, const char *proto);

/* ALPN entries joined with ','; returns buf. */
const char *tls_alpn_join(const struct tls_hello *h, char *buf, size_t buflen);

#endif
