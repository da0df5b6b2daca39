/* QUIC decoders against the RFC 9001 Appendix A and RFC 9369 Appendix A
 * vectors: Initial secrets and keys, header protection, AEAD, ChaCha20
 * short headers, Retry, frames, CRYPTO reassembly and the ClientHello. */
#include <gcrypt.h>
#include <glib.h>
#include <string.h>

#include "quic_crypto.h"
#include "quic_frames.h"
#include "quic_reasm.h"
#include "quic_session.h"
#include "quic_sha256.h"
#include "quic_test_util.h"
#include "quic_wire.h"
#include "tls_hello.h"

#define VEC(name) quic_vector("rfc.txt", name)

static void assert_bytes(const uint8_t *got, size_t n, const char *vec)
{
    GBytes *want = VEC(vec);
    g_assert_cmpmem(got, n, g_bytes_get_data(want, NULL), g_bytes_get_size(want));
    g_bytes_unref(want);
}

static struct quic_cid dcid_vector(void)
{
    GBytes *b = VEC("dcid");
    struct quic_cid c = { .len = (uint8_t)g_bytes_get_size(b) };
    memcpy(c.id, g_bytes_get_data(b, NULL), c.len);
    g_bytes_unref(b);
    return c;
}

static void test_varint(void)
{
    /* RFC 9000 A.1 examples. */
    static const struct { const char *hex; uint64_t v; size_t n; } cases[] = {
        { "c2197c5eff14e88c", 151288809941952652u, 8 },
        { "9d7f3e7d", 494878333, 4 },
        { "7bbd", 15293, 2 },
        { "25", 37, 1 },
        { "4025", 37, 2 },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        uint8_t buf[8];
        size_t n = strlen(cases[i].hex) / 2;
        for (size_t j = 0; j < n; j++) {
            char b[3] = { cases[i].hex[2 * j], cases[i].hex[2 * j + 1], 0 };
            buf[j] = (uint8_t)strtoul(b, NULL, 16);
        }
        struct wire w = wire_make(buf, n);
        g_assert_cmpuint(quic_varint(&w), ==, cases[i].v);
        g_assert_cmpuint(w.off, ==, cases[i].n);
        g_assert_true(wire_ok(&w));
        struct wire cut = wire_make(buf, n - 1);
        quic_varint(&cut);
        if (n > 1)
            g_assert_false(wire_ok(&cut));
    }
}

static void test_initial_keys_v1(void)
{
    g_assert_true(quic_crypto_init());
    struct quic_cid dcid = dcid_vector();
    uint8_t c[32], s[32];
    g_assert_true(quic_initial_secrets(quic_version_lookup(QUIC_VERSION_1), &dcid, c, s));
    assert_bytes(c, 32, "v1_client_secret");
    assert_bytes(s, 32, "v1_server_secret");
    uint8_t key[16], iv[12], hp[16];
    const struct quic_version_info *v1 = quic_version_lookup(QUIC_VERSION_1);
    g_assert_true(quic_keys_material(QUIC_SUITE_AES_128_GCM_SHA256, v1, c, 32, key, 16, iv, hp, 16));
    assert_bytes(key, 16, "v1_client_key");
    assert_bytes(iv, 12, "v1_client_iv");
    assert_bytes(hp, 16, "v1_client_hp");
    g_assert_true(quic_keys_material(QUIC_SUITE_AES_128_GCM_SHA256, v1, s, 32, key, 16, iv, hp, 16));
    assert_bytes(key, 16, "v1_server_key");
    assert_bytes(iv, 12, "v1_server_iv");
    assert_bytes(hp, 16, "v1_server_hp");
}

/* Decrypt a protected Initial with keys from the DCID vector; check packet
 * number and the plaintext's start against the RFC's. */
static void check_initial(uint32_t version, const char *packet, int secret_index, uint64_t want_pn,
    const char *want_plain)
{
    const struct quic_version_info *v = quic_version_lookup(version);
    struct quic_cid dcid = dcid_vector();
    uint8_t sec[2][32];
    g_assert_true(quic_initial_secrets(v, &dcid, sec[0], sec[1]));
    struct quic_keys k = { 0 };
    g_assert_true(quic_keys_from_secret(&k, v, QUIC_SUITE_AES_128_GCM_SHA256, sec[secret_index], 32));
    GBytes *pkt = VEC(packet);
    size_t len;
    const uint8_t *p = g_bytes_get_data(pkt, &len);
    struct quic_header h;
    g_assert_true(quic_parse_header(p, len, 0, &h));
    g_assert_cmpint(h.type, ==, QUIC_PKT_INITIAL);
    g_assert_cmpuint(h.version, ==, version);
    g_assert_cmpuint(h.packet_len, ==, len);
    uint8_t *scratch = g_malloc(len);
    struct quic_plain pl;
    g_assert_cmpint(quic_unprotect(&k, p, len, h.pn_off, UINT64_MAX, scratch, len, &pl), ==, QUIC_UNPROTECT_OK);
    g_assert_cmpuint(pl.pn, ==, want_pn);
    GBytes *want = VEC(want_plain);
    g_assert_cmpuint(pl.payload_len, >=, g_bytes_get_size(want));
    g_assert_cmpmem(pl.payload, g_bytes_get_size(want), g_bytes_get_data(want, NULL), g_bytes_get_size(want));
    /* The rest of a client Initial is PADDING. */
    for (size_t i = g_bytes_get_size(want); i < pl.payload_len; i++)
        g_assert_cmpuint(pl.payload[i], ==, 0);
    /* One flipped ciphertext bit fails the tag. */
    uint8_t *bad = g_memdup2(p, len);
    bad[len - 20] ^= 1;
    g_assert_cmpint(quic_unprotect(&k, bad, len, h.pn_off, UINT64_MAX, scratch, len, &pl), ==, QUIC_UNPROTECT_AUTH);
    g_free(bad);
    g_bytes_unref(want);
    g_free(scratch);
    g_bytes_unref(pkt);
    quic_keys_clear(&k);
}

static void test_client_initial_v1(void) { check_initial(QUIC_VERSION_1, "v1_client_initial", 0, 2, "client_crypto_frame"); }
static void test_server_initial_v1(void) { check_initial(QUIC_VERSION_1, "v1_server_initial", 1, 1, "server_payload"); }
static void test_client_initial_v2(void) { check_initial(QUIC_VERSION_2, "v2_client_initial", 0, 2, "client_crypto_frame"); }
static void test_server_initial_v2(void) { check_initial(QUIC_VERSION_2, "v2_server_initial", 1, 1, "server_payload"); }

static void test_hp_mask(void)
{
    /* RFC 9001 A.2: sample d1b1c98d... gives mask 437b9aec36. */
    const struct quic_version_info *v1 = quic_version_lookup(QUIC_VERSION_1);
    struct quic_cid dcid = dcid_vector();
    uint8_t c[32], s[32];
    g_assert_true(quic_initial_secrets(v1, &dcid, c, s));
    struct quic_keys k = { 0 };
    g_assert_true(quic_keys_from_secret(&k, v1, QUIC_SUITE_AES_128_GCM_SHA256, c, 32));
    static const uint8_t sample[16] = { 0xd1, 0xb1, 0xc9, 0x8d, 0xd7, 0x68, 0x9f, 0xb8,
                                        0xec, 0x11, 0xd2, 0x42, 0xb1, 0x23, 0xdc, 0x9b };
    static const uint8_t want[5] = { 0x43, 0x7b, 0x9a, 0xec, 0x36 };
    uint8_t mask[5];
    g_assert_true(quic_hp_mask(&k, sample, mask));
    g_assert_cmpmem(mask, 5, want, 5);
    quic_keys_clear(&k);
}

/* RFC 9001 A.5 / RFC 9369 A.5: ChaCha20-Poly1305 short header, pn 654360564. */
static void check_chacha(uint32_t version, const char *packet)
{
    const struct quic_version_info *v = quic_version_lookup(version);
    GBytes *secret = VEC("chacha_secret");
    struct quic_keys k = { 0 };
    g_assert_true(quic_keys_from_secret(&k, v, QUIC_SUITE_CHACHA20_POLY1305_SHA256,
        g_bytes_get_data(secret, NULL), g_bytes_get_size(secret)));
    GBytes *pkt = VEC(packet);
    size_t len;
    const uint8_t *p = g_bytes_get_data(pkt, &len);
    struct quic_header h;
    g_assert_true(quic_parse_header(p, len, 0, &h));
    g_assert_cmpint(h.type, ==, QUIC_PKT_SHORT);
    uint8_t scratch[64];
    struct quic_plain pl;
    /* Largest received 654360563 lets the 3-byte truncated number expand. */
    g_assert_cmpint(quic_unprotect(&k, p, len, h.pn_off, 654360563u, scratch, sizeof scratch, &pl), ==,
        QUIC_UNPROTECT_OK);
    g_assert_cmpuint(pl.pn, ==, 654360564u);
    g_assert_cmpuint(pl.first, ==, 0x42);
    g_assert_cmpuint(pl.payload_len, ==, 1);
    g_assert_cmpuint(pl.payload[0], ==, 0x01); /* PING */
    quic_keys_clear(&k);
    g_bytes_unref(pkt);
    g_bytes_unref(secret);
}

static void test_chacha_v1(void) { check_chacha(QUIC_VERSION_1, "v1_chacha_packet"); }
static void test_chacha_v2(void) { check_chacha(QUIC_VERSION_2, "v2_chacha_packet"); }

static void test_retry_and_vn(void)
{
    static const char *retries[] = { "v1_retry", "v2_retry" };
    for (size_t i = 0; i < 2; i++) {
        GBytes *pkt = VEC(retries[i]);
        size_t len;
        const uint8_t *p = g_bytes_get_data(pkt, &len);
        struct quic_header h;
        g_assert_true(quic_looks_long(p, len));
        g_assert_true(quic_parse_header(p, len, 0, &h));
        g_assert_cmpint(h.type, ==, QUIC_PKT_RETRY);
        g_assert_cmpuint(h.dcid.len, ==, 0);
        g_assert_cmpuint(h.scid.len, ==, 8);
        g_assert_cmpuint(h.token_len, ==, 5);
        g_assert_cmpmem(p + h.token_off, 5, "token", 5);
        g_bytes_unref(pkt);
    }
    /* Version Negotiation: version 0, then the versions. */
    static const uint8_t vn[] = { 0x80, 0, 0, 0, 0, 1, 0xaa, 1, 0xbb, 0, 0, 0, 1, 0x6b, 0x33, 0x43, 0xcf };
    struct quic_header h;
    g_assert_true(quic_looks_long(vn, sizeof vn));
    g_assert_true(quic_parse_header(vn, sizeof vn, 0, &h));
    g_assert_cmpint(h.type, ==, QUIC_PKT_VERSION_NEG);
    uint32_t got[4];
    g_assert_cmpuint(quic_vn_versions(vn, sizeof vn, &h, got, 4), ==, 2);
    g_assert_cmpuint(got[0], ==, QUIC_VERSION_1);
    g_assert_cmpuint(got[1], ==, QUIC_VERSION_2);
    /* Not QUIC: a DNS-like datagram, a CID length over 20, an unknown version. */
    static const uint8_t dns[] = { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };
    static const uint8_t bigcid[] = { 0xc0, 0, 0, 0, 1, 21, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
    static const uint8_t unknown[] = { 0xc0, 0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0 };
    g_assert_false(quic_looks_long(dns, sizeof dns));
    g_assert_false(quic_looks_long(bigcid, sizeof bigcid));
    g_assert_false(quic_looks_long(unknown, sizeof unknown));
}

static void test_client_hello(void)
{
    GBytes *frame = VEC("client_crypto_frame");
    size_t len;
    const uint8_t *p = g_bytes_get_data(frame, &len);
    /* Frame: 06 offset=0 len=0x40f1, then the ClientHello. */
    struct quic_frame_stats st = { 0 };
    g_assert_true(quic_frames_walk(p, len, NULL, &st));
    g_assert_cmpuint(st.crypto, ==, 1);
    struct tls_hello h;
    g_assert_true(tls_hello_parse(p + 4, len - 4, &h));
    g_assert_cmpuint(h.msg_type, ==, TLS_CLIENT_HELLO);
    g_assert_cmpstr(h.sni, ==, "example.com");
    g_assert_cmpuint(h.alpn_count, ==, 1);
    g_assert_cmpstr(h.alpn[0], ==, "alpn");
    g_assert_false(tls_alpn_has(&h, "smb"));
    g_assert_cmpuint(h.n_ciphers, ==, 2);
    g_assert_cmpuint(h.ciphers[0], ==, 0x1301);
    g_assert_cmpuint(h.ciphers[1], ==, 0x1302);
    g_assert_cmpuint(h.n_versions, ==, 1);
    g_assert_cmpuint(h.versions[0], ==, 0x0304);
    g_assert_true(h.quic_transport_params);
    /* Every truncation parses to false or to a subset, never past the end. */
    for (size_t cut = 0; cut < len - 4; cut++) {
        struct tls_hello t;
        if (tls_hello_parse(p + 4, cut, &t))
            g_assert_cmpuint(strlen(t.sni), <=, 11);
    }
    g_bytes_unref(frame);
}

static void test_server_hello(void)
{
    GBytes *pl = VEC("server_payload");
    size_t len;
    const uint8_t *p = g_bytes_get_data(pl, &len);
    struct quic_frame_stats st = { 0 };
    g_assert_true(quic_frames_walk(p, len, NULL, &st));
    g_assert_cmpuint(st.ack, ==, 1);
    g_assert_cmpuint(st.crypto, ==, 1);
    struct tls_hello h;
    g_assert_true(tls_hello_parse(p + 9, len - 9, &h)); /* ACK(5) + CRYPTO header(4) */
    g_assert_cmpuint(h.msg_type, ==, TLS_SERVER_HELLO);
    g_assert_cmpuint(h.cipher, ==, QUIC_SUITE_AES_128_GCM_SHA256);
    g_assert_cmpuint(h.selected_version, ==, 0x0304);
    g_bytes_unref(pl);
}

static void test_reasm(void)
{
    struct quic_reasm *r = g_new(struct quic_reasm, 1);
    quic_reasm_init(r, 0);
    g_assert_cmpuint(quic_reasm_storage(r), ==, 0); /* nothing arrived: no storage */
    const uint8_t a[] = "ABCDEFGH";
    g_assert_cmpuint(quic_reasm_add(r, 4, a + 4, 4), ==, 0);  /* out of order */
    g_assert_cmpuint(quic_reasm_add(r, 0, a, 4), ==, 8);
    g_assert_cmpuint(quic_reasm_add(r, 2, a + 2, 4), ==, 8);  /* duplicate */
    g_assert_cmpuint(r->duplicates, ==, 1);
    g_assert_cmpmem(r->data, 8, a, 8);
    g_assert_cmpuint(quic_reasm_storage(r), ==, QUIC_REASM_MIN + QUIC_REASM_MIN / 8); /* sized by what came */
    quic_reasm_consume(r, 3);
    g_assert_cmpuint(r->base, ==, 3);
    g_assert_cmpuint(r->contiguous, ==, 5);
    g_assert_cmpmem(r->data, 5, a + 3, 5);
    /* Beyond the cap: dropped and flagged, no write outside the buffer. */
    uint8_t big[64] = { 0 };
    quic_reasm_add(r, 3 + QUIC_REASM_CAP - 10, big, sizeof big);
    g_assert_true(r->capped);
    quic_reasm_add(r, UINT64_MAX - 2, big, 8); /* wraps */
    /* A hole that will never fill: skipped, its length returned. */
    quic_reasm_reset(r, 100);
    quic_reasm_add(r, 110, a, 5);
    g_assert_cmpuint(r->contiguous, ==, 0);
    g_assert_cmpuint(quic_reasm_skip_hole(r), ==, 10);
    g_assert_cmpuint(r->base, ==, 110);
    g_assert_cmpuint(r->contiguous, ==, 5);
    g_assert_cmpmem(r->data, 5, a, 5);
    g_assert_cmpuint(quic_reasm_skip_hole(r), ==, 0);
    /* Read to the end: the window is empty and its storage goes. */
    quic_reasm_consume(r, 5);
    g_assert_cmpuint(quic_reasm_storage(r), ==, 0);
    g_assert_false(quic_reasm_pending(r));
    /* Out of order past a hole: pending, storage sized by the offset. */
    quic_reasm_add(r, 115 + 3000, a, 8);
    g_assert_true(quic_reasm_pending(r));
    g_assert_cmpuint(quic_reasm_storage(r), ==, 4096 + 4096 / 8);
    quic_reasm_release(r);
    g_free(r);
}

/* The bitmap-byte fast path of quic_reasm_add against the plain rule, byte
 * by byte: random fragments (overlapping, out of order, unaligned, past the
 * cap) and consumes; each fragment carries its own content, so "the first
 * copy wins" is checked too. */
struct reasm_ref {
    uint64_t base;
    uint32_t contiguous, duplicates;
    bool capped;
    uint8_t data[QUIC_REASM_CAP];
    bool have[QUIC_REASM_CAP];
};

static void ref_add(struct reasm_ref *m, uint64_t off, const uint8_t *d, size_t len)
{
    uint64_t end = off + len;
    if (end <= m->base) {
        m->duplicates++;
        return;
    }
    bool fresh = false;
    uint64_t start = off < m->base ? m->base : off;
    for (uint64_t o = start; o < end; o++) {
        if (o >= m->base + QUIC_REASM_CAP) {
            m->capped = true;
            break;
        }
        size_t i = (size_t)(o - m->base);
        if (!m->have[i]) {
            m->data[i] = d[o - off];
            m->have[i] = fresh = true;
        }
    }
    if (!fresh && start < m->base + QUIC_REASM_CAP)
        m->duplicates++;
    while (m->contiguous < QUIC_REASM_CAP && m->have[m->contiguous])
        m->contiguous++;
}

static void ref_consume(struct reasm_ref *m, uint32_t n)
{
    n = n > m->contiguous ? m->contiguous : n;
    memmove(m->data, m->data + n, QUIC_REASM_CAP - n);
    memmove(m->have, m->have + n, QUIC_REASM_CAP - n);
    memset(m->have + QUIC_REASM_CAP - n, 0, n);
    m->base += n;
    m->contiguous -= n;
}

static void test_reasm_fast_path(void)
{
    struct quic_reasm *r = g_new(struct quic_reasm, 1);
    memset(r, 0xA5, sizeof *r); /* callers need not clear it: init is the initialiser */
    quic_reasm_init(r, 0);
    struct reasm_ref *m = g_new0(struct reasm_ref, 1);
    uint8_t src[3000];
    /* A fixed seed, not g_test_rand's (a new one each run unless --seed is
     * given): the operations, and so the test's answer, the same every run. */
    GRand *rnd = g_rand_new_with_seed(0x51C);
    for (int round = 0; round < 40; round++) {
        quic_reasm_reset(r, (uint64_t)(round + 1) * 1000);
        memset(m, 0, sizeof *m);
        m->base = (uint64_t)(round + 1) * 1000;
        for (int op = 0; op < 200; op++) {
            if (g_rand_int_range(rnd, 0, 8) == 0) {
                uint32_t n = (uint32_t)g_rand_int_range(rnd, 0, 2000);
                quic_reasm_consume(r, n);
                ref_consume(m, n);
            } else {
                uint64_t off = m->base + (uint64_t)g_rand_int_range(rnd, -50, (int)QUIC_REASM_CAP + 100);
                size_t len = (size_t)g_rand_int_range(rnd, 1, (int)sizeof src);
                for (size_t i = 0; i < len; i++)
                    src[i] = (uint8_t)(off + i + (uint64_t)op * 7);
                ref_add(m, off, src, len);
                g_assert_cmpuint(quic_reasm_add(r, off, src, len), ==, m->contiguous);
            }
            g_assert_cmpuint(r->base, ==, m->base);
            g_assert_cmpuint(r->contiguous, ==, m->contiguous);
            g_assert_cmpuint(r->duplicates, ==, m->duplicates);
            g_assert_cmpint(r->capped, ==, m->capped);
            for (size_t i = 0; i < QUIC_REASM_CAP; i++) {
                g_assert_cmpint(i < r->size ? (r->have[i / 8] >> (i % 8)) & 1 : 0, ==, m->have[i]);
                if (m->have[i])
                    g_assert_cmpuint(r->data[i], ==, m->data[i]);
            }
        }
    }
    g_rand_free(rnd);
    g_free(m);
    quic_reasm_release(r);
    g_free(r);
}

/* A whole session on the RFC's client and server Initials. */
static void test_session(void)
{
    struct quic_session *s = g_new0(struct quic_session, 1);
    struct quic_reasm *cr = g_new0(struct quic_reasm, 2);
    quic_session_init(s, NULL);
    s->crypto[0] = &cr[0];
    s->crypto[1] = &cr[1];
    GBytes *ci = VEC("v1_client_initial"), *si = VEC("v1_server_initial");
    size_t clen, slen;
    const uint8_t *cp = g_bytes_get_data(ci, &clen), *sp = g_bytes_get_data(si, &slen);
    uint8_t *scratch = g_malloc(2048);
    g_assert_cmpuint(quic_session_datagram(s, QUIC_FROM_CLIENT, cp, clen, scratch, 2048), ==, 1);
    g_assert_true(s->client_hello_seen);
    g_assert_cmpstr(s->client_hello.sni, ==, "example.com");
    /* The server's Initial (coalesced with 3 bytes of trailing padding). */
    uint8_t *dg = g_malloc0(slen + 3);
    memcpy(dg, sp, slen);
    g_assert_cmpuint(quic_session_datagram(s, QUIC_FROM_SERVER, dg, slen + 3, scratch, 2048), ==, 1);
    g_assert_true(s->server_hello_seen);
    g_assert_cmpuint(s->cipher, ==, 0x1301);
    g_assert_cmpuint(s->malformed, ==, 0);
    /* Duplicate client Initial: decrypts again, CRYPTO is a duplicate. */
    g_assert_cmpuint(quic_session_datagram(s, QUIC_FROM_CLIENT, cp, clen, scratch, 2048), ==, 1);
    g_assert_cmpuint(s->client_hellos, ==, 1);
    g_assert_cmpuint(s->packets[0][QUIC_PKT_INITIAL], ==, 2);
    quic_session_clear(s);
    g_free(dg);
    g_free(scratch);
    g_bytes_unref(ci);
    g_bytes_unref(si);
    quic_reasm_release(&cr[0]);
    quic_reasm_release(&cr[1]);
    g_free(cr);
    g_free(s);
}

/* Version Negotiation from the server and a 0-RTT packet from the client
 * (RFC 9000 17.2.1, 17.2.3): recorded and counted, never decrypted. */
static void test_session_vn_0rtt(void)
{
    struct quic_session *s = g_new0(struct quic_session, 1);
    quic_session_init(s, NULL);
    GBytes *ci = VEC("v1_client_initial");
    size_t clen;
    const uint8_t *cp = g_bytes_get_data(ci, &clen);
    uint8_t *scratch = g_malloc(2048);
    g_assert_cmpuint(quic_session_datagram(s, QUIC_FROM_CLIENT, cp, clen, scratch, 2048), ==, 1);
    /* 0-RTT (v1 type 1): header, length 20, then 20 bytes nobody can read. */
    uint8_t zrtt[64] = { 0xd0, 0, 0, 0, 1, 8, 0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08, 0, 20 };
    g_assert_cmpuint(quic_session_datagram(s, QUIC_FROM_CLIENT, zrtt, 16 + 20, scratch, 2048), ==, 0);
    g_assert_cmpuint(s->zero_rtt, ==, 1);
    g_assert_cmpuint(s->malformed, ==, 0);
    static const uint8_t vn[] = { 0x80, 0, 0, 0, 0, 0, 8, 0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08, 0, 0, 0, 1 };
    g_assert_cmpuint(quic_session_datagram(s, QUIC_FROM_SERVER, vn, sizeof vn, scratch, 2048), ==, 0);
    g_assert_true(s->version_negotiation);
    g_assert_cmpuint(s->packets[1][QUIC_PKT_VERSION_NEG], ==, 1);
    quic_session_clear(s);
    g_free(scratch);
    g_bytes_unref(ci);
    g_free(s);
}

/* Kept HMAC handles (quic_kdf) derive exactly what fresh ones do: Initial
 * secrets for random DCIDs of both versions in turn (each salt keyed once,
 * the secret handle re-keyed every time), the keys from them, and a
 * SHA-384 suite (not kept: its own handle). */
static void same_keys(const struct quic_keys *a, const struct quic_keys *b)
{
    g_assert_true(a->ready && b->ready);
    g_assert_cmpmem(a->iv, sizeof a->iv, b->iv, sizeof b->iv);
    g_assert_cmpmem(a->secret, a->secret_len, b->secret, b->secret_len);
    uint8_t sample[16], ma[5], mb[5];
    for (unsigned i = 0; i < sizeof sample; i++)
        sample[i] = (uint8_t)(i * 29 + 3);
    g_assert_true(quic_hp_mask(a, sample, ma) && quic_hp_mask(b, sample, mb));
    g_assert_cmpmem(ma, sizeof ma, mb, sizeof mb);
}

/* quic_sha256.c against libgcrypt: digests of every length around the
 * block edges, HMACs with keys shorter and longer than a block and the
 * message in up to three pieces, through the SHA extensions (where the CPU
 * has them) and the portable compression. */
static void test_sha256_libgcrypt(void)
{
    g_assert_true(quic_crypto_init());
    GRand *r = g_rand_new_with_seed(9);
    uint8_t data[400], key[200];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)g_rand_int_range(r, 0, 256);
    for (size_t i = 0; i < sizeof key; i++)
        key[i] = (uint8_t)g_rand_int_range(r, 0, 256);
    static const size_t key_lens[] = { 0, 1, 20, 32, 48, 63, 64, 65, 200 };
    for (int portable = 0; portable < 2; portable++) {
        quic_sha256_force_portable(portable);
        for (size_t n = 0; n <= 300; n++) {
            uint8_t got[32], want[32];
            quic_sha256(data, n, got);
            gcry_md_hash_buffer(GCRY_MD_SHA256, want, data, n);
            g_assert_cmpmem(got, 32, want, 32);
            size_t kl = key_lens[n % G_N_ELEMENTS(key_lens)];
            struct quic_hmac256 h;
            quic_hmac256_key(&h, key, kl);
            size_t a = (size_t)g_rand_int_range(r, 0, (gint32)n + 1);
            size_t b = (size_t)g_rand_int_range(r, 0, (gint32)(n - a) + 1);
            quic_hmac256(&h, data, a, data + a, b, data + a + b, n - a - b, got);
            gcry_md_hd_t md;
            g_assert_cmpint(gcry_md_open(&md, GCRY_MD_SHA256, GCRY_MD_FLAG_HMAC), ==, 0);
            g_assert_cmpint(gcry_md_setkey(md, key, kl), ==, 0);
            gcry_md_write(md, data, n);
            memcpy(want, gcry_md_read(md, GCRY_MD_SHA256), 32);
            gcry_md_close(md);
            g_assert_cmpmem(got, 32, want, 32);
        }
    }
    quic_sha256_force_portable(false);
    g_rand_free(r);
}

/* The Initial secrets and key material the same whichever HMAC derives
 * them (quic_sha256.c's with the SHA extensions, libgcrypt's without:
 * forced portable), through a kdf and without one. */
static void test_hmac_paths(void)
{
    if (!quic_sha256_uses_extensions()) {
        g_test_skip("no SHA extensions: libgcrypt's HMAC is the only one used");
        return;
    }
    g_assert_true(quic_crypto_init());
    const struct quic_version_info *vs[2] = { quic_version_lookup(QUIC_VERSION_1), quic_version_lookup(QUIC_VERSION_2) };
    GRand *r = g_rand_new_with_seed(11);
    for (unsigned i = 0; i < 100; i++) {
        const struct quic_version_info *v = vs[i % 2];
        struct quic_cid dcid = { .len = (uint8_t)g_rand_int_range(r, 0, QUIC_MAX_CID + 1) };
        for (unsigned k = 0; k < dcid.len; k++)
            dcid.id[k] = (uint8_t)g_rand_int_range(r, 0, 256);
        uint8_t sec[2][2][32], key[2][32], iv[2][12], hp[2][32];
        for (int portable = 0; portable < 2; portable++) {
            quic_sha256_force_portable(portable);
            struct quic_kdf *kdf = quic_kdf_new();
            g_assert_true(quic_initial_secrets_kdf(i % 3 ? kdf : NULL, v, &dcid, sec[portable][0], sec[portable][1]));
            g_assert_true(quic_keys_material(QUIC_SUITE_AES_128_GCM_SHA256, v, sec[portable][0], 32, key[portable], 16,
                iv[portable], hp[portable], 16));
            quic_kdf_free(kdf);
        }
        g_assert_cmpmem(sec[0], sizeof sec[0], sec[1], sizeof sec[1]);
        g_assert_cmpmem(key[0], 16, key[1], 16);
        g_assert_cmpmem(iv[0], 12, iv[1], 12);
        g_assert_cmpmem(hp[0], 16, hp[1], 16);
    }
    quic_sha256_force_portable(false);
    /* and the RFC's vectors through the extensions' HMAC */
    test_initial_keys_v1();
    g_rand_free(r);
}

static void test_kdf_kept_handles(void)
{
    struct quic_kdf *kdf = quic_kdf_new();
    g_assert_nonnull(kdf);
    const struct quic_version_info *vs[2] = { quic_version_lookup(QUIC_VERSION_1), quic_version_lookup(QUIC_VERSION_2) };
    GRand *r = g_rand_new_with_seed(5);
    for (unsigned i = 0; i < 200; i++) {
        const struct quic_version_info *v = vs[g_rand_int_range(r, 0, 2)];
        struct quic_cid dcid = { .len = (uint8_t)g_rand_int_range(r, 0, QUIC_MAX_CID + 1) };
        for (unsigned k = 0; k < dcid.len; k++)
            dcid.id[k] = (uint8_t)g_rand_int_range(r, 0, 256);
        uint8_t c1[32], s1[32], c2[32], s2[32];
        g_assert_true(quic_initial_secrets(v, &dcid, c1, s1));
        g_assert_true(quic_initial_secrets_kdf(kdf, v, &dcid, c2, s2));
        g_assert_cmpmem(c1, 32, c2, 32);
        g_assert_cmpmem(s1, 32, s2, 32);
        struct quic_keys a = { 0 }, b = { 0 };
        g_assert_true(quic_keys_from_secret(&a, v, QUIC_SUITE_AES_128_GCM_SHA256, s1, 32));
        g_assert_true(quic_keys_from_secret_kdf(kdf, &b, v, QUIC_SUITE_AES_128_GCM_SHA256, s2, 32));
        same_keys(&a, &b);
        uint8_t secret48[48];
        for (unsigned k = 0; k < sizeof secret48; k++)
            secret48[k] = (uint8_t)g_rand_int_range(r, 0, 256);
        g_assert_true(quic_keys_from_secret(&a, v, QUIC_SUITE_AES_256_GCM_SHA384, secret48, 48));
        g_assert_true(quic_keys_from_secret_kdf(kdf, &b, v, QUIC_SUITE_AES_256_GCM_SHA384, secret48, 48));
        same_keys(&a, &b);
        quic_keys_clear(&a);
        quic_keys_clear(&b);
    }
    /* RFC 9001 A.1 through the kept handles too */
    struct quic_cid dcid = { .len = 8, .id = { 0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08 } };
    uint8_t c[32], s[32];
    g_assert_true(quic_initial_secrets_kdf(kdf, vs[0], &dcid, c, s));
    static const uint8_t want_c[8] = { 0xc0, 0x0c, 0xf1, 0x51, 0xca, 0x5b, 0xe0, 0x75 };
    g_assert_cmpmem(c, 8, want_c, 8);
    g_rand_free(r);
    quic_kdf_free(kdf);
    quic_kdf_free(NULL);
}

/* Cleared keys give their cipher handles back to the kdf and the next keys
 * re-key them: the RFC 9001 A.2 client Initial decrypts through a handle
 * that held another key before, and a ChaCha20 suite never takes an AES one. */
static void test_kdf_spare_ciphers(void)
{
    struct quic_kdf *kdf = quic_kdf_new();
    g_assert_nonnull(kdf);
    const struct quic_version_info *v = quic_version_lookup(QUIC_VERSION_1);
    struct quic_cid dcid = dcid_vector();
    uint8_t c[32], s[32], other[32];
    memset(other, 0x5a, sizeof other);
    g_assert_true(quic_initial_secrets_kdf(kdf, v, &dcid, c, s));
    struct quic_keys k = { 0 }, fresh = { 0 };
    g_assert_true(quic_keys_from_secret_kdf(kdf, &k, v, QUIC_SUITE_AES_128_GCM_SHA256, other, 32));
    void *aead = k.aead, *hp = k.hp;
    quic_keys_clear(&k);
    g_assert_null(k.aead);
    g_assert_true(quic_keys_from_secret_kdf(kdf, &k, v, QUIC_SUITE_AES_128_GCM_SHA256, c, 32));
    g_assert_true(k.aead == aead && k.hp == hp); /* the same handles, re-keyed */
    g_assert_true(quic_keys_from_secret(&fresh, v, QUIC_SUITE_AES_128_GCM_SHA256, c, 32));
    same_keys(&k, &fresh);
    GBytes *pkt = VEC("v1_client_initial");
    size_t len;
    const uint8_t *p = g_bytes_get_data(pkt, &len);
    struct quic_header h;
    g_assert_true(quic_parse_header(p, len, 0, &h));
    uint8_t *scratch = g_malloc(len);
    struct quic_plain pl;
    g_assert_cmpint(quic_unprotect(&k, p, len, h.pn_off, UINT64_MAX, scratch, len, &pl), ==, QUIC_UNPROTECT_OK);
    g_assert_cmpuint(pl.pn, ==, 2);
    GBytes *want = VEC("client_crypto_frame");
    g_assert_cmpmem(pl.payload, g_bytes_get_size(want), g_bytes_get_data(want, NULL), g_bytes_get_size(want));
    /* Twice through the same handle: the GCM state of the first is gone. */
    g_assert_cmpint(quic_unprotect(&k, p, len, h.pn_off, UINT64_MAX, scratch, len, &pl), ==, QUIC_UNPROTECT_OK);
    quic_keys_clear(&k);
    quic_keys_clear(&fresh);
    struct quic_keys ch = { 0 };
    g_assert_true(quic_keys_from_secret_kdf(kdf, &ch, v, QUIC_SUITE_CHACHA20_POLY1305_SHA256, other, 32));
    g_assert_true(ch.aead != aead && ch.hp != hp && ch.aead != hp && ch.hp != aead);
    g_assert_true(quic_keys_from_secret(&fresh, v, QUIC_SUITE_CHACHA20_POLY1305_SHA256, other, 32));
    same_keys(&ch, &fresh);
    quic_keys_clear(&ch);
    quic_keys_clear(&fresh);
    g_bytes_unref(want);
    g_bytes_unref(pkt);
    g_free(scratch);
    quic_kdf_free(kdf); /* closes the spares (valgrind/ASan: no leak) */
}

/* Parked keys give their handles back and keep their keys: opened again,
 * the RFC 9001 A.2 client Initial decrypts as before, also after a key
 * update made while parked (the new AEAD key is the one kept). */
static void test_keys_park(void)
{
    struct quic_kdf *kdf = quic_kdf_new();
    const struct quic_version_info *v = quic_version_lookup(QUIC_VERSION_1);
    struct quic_cid dcid = dcid_vector();
    uint8_t c[32], s[32];
    g_assert_true(quic_initial_secrets_kdf(kdf, v, &dcid, c, s));
    struct quic_keys k = { 0 }, upd = { 0 }, fresh = { 0 };
    g_assert_true(quic_keys_from_secret_kdf(kdf, &k, v, QUIC_SUITE_AES_128_GCM_SHA256, c, 32));
    GBytes *pkt = VEC("v1_client_initial");
    size_t len;
    const uint8_t *p = g_bytes_get_data(pkt, &len);
    struct quic_header h;
    g_assert_true(quic_parse_header(p, len, 0, &h));
    uint8_t *scratch = g_malloc(len);
    struct quic_plain pl;
    quic_keys_park(&k);
    g_assert_true(k.ready && !quic_keys_open(&k) && !k.aead && !k.hp);
    /* parked: no handle to decrypt with until opened again */
    g_assert_cmpint(quic_unprotect(&k, p, len, h.pn_off, UINT64_MAX, scratch, len, &pl), ==, QUIC_UNPROTECT_NO_KEYS);
    g_assert_true(quic_keys_resume(&k) && quic_keys_open(&k));
    g_assert_cmpint(quic_unprotect(&k, p, len, h.pn_off, UINT64_MAX, scratch, len, &pl), ==, QUIC_UNPROTECT_OK);
    g_assert_cmpuint(pl.pn, ==, 2);
    GBytes *want = VEC("client_crypto_frame");
    g_assert_cmpmem(pl.payload, g_bytes_get_size(want), g_bytes_get_data(want, NULL), g_bytes_get_size(want));
    /* A key update of a parked set, against one never parked. */
    g_assert_true(quic_keys_from_secret_kdf(kdf, &upd, v, QUIC_SUITE_AES_128_GCM_SHA256, s, 32));
    g_assert_true(quic_keys_from_secret(&fresh, v, QUIC_SUITE_AES_128_GCM_SHA256, s, 32));
    quic_keys_park(&upd);
    g_assert_true(quic_keys_update(&upd, v) && quic_keys_update(&fresh, v));
    quic_keys_park(&upd);
    g_assert_true(quic_keys_resume(&upd));
    same_keys(&upd, &fresh);
    g_assert_cmpmem(upd.key, 16, fresh.key, 16);
    g_assert_cmpmem(upd.hp_key, 16, fresh.hp_key, 16);
    quic_keys_park(&upd); /* cleared while parked: nothing to give back twice */
    quic_keys_clear(&upd);
    g_assert_false(upd.ready);
    g_assert_true(quic_keys_resume(&upd)); /* not ready: nothing to open */
    g_assert_null(upd.aead);
    quic_keys_clear(&fresh);
    quic_keys_clear(&k);
    g_bytes_unref(want);
    g_bytes_unref(pkt);
    g_free(scratch);
    quic_kdf_free(kdf);
}

/* A packet that only looks like a key update, after a real one: the keys
 * come back as they were, header protection included (the first
 * generation's).  Deriving them again from the restored generation's
 * secret, as before, gave that generation's header protection: wrong, and
 * every later packet of the direction undecryptable. */
static void test_keys_restore(void)
{
    struct quic_kdf *kdf = quic_kdf_new();
    const struct quic_version_info *v = quic_version_lookup(QUIC_VERSION_1);
    uint8_t secret[32];
    memset(secret, 0x3c, sizeof secret);
    struct quic_keys k = { 0 }, fresh = { 0 }, rederived = { 0 };
    g_assert_true(quic_keys_from_secret_kdf(kdf, &k, v, QUIC_SUITE_AES_128_GCM_SHA256, secret, 32));
    g_assert_true(quic_keys_from_secret(&fresh, v, QUIC_SUITE_AES_128_GCM_SHA256, secret, 32));
    g_assert_true(quic_keys_update(&k, v) && quic_keys_update(&fresh, v)); /* a real update */
    struct quic_keys prev = k;
    g_assert_true(quic_keys_update(&k, v)); /* one that was not */
    g_assert_true(quic_keys_restore(&k, &prev));
    same_keys(&k, &fresh);
    g_assert_cmpmem(k.key, 16, fresh.key, 16);
    /* the old way: keys derived again from the restored secret */
    g_assert_true(quic_keys_from_secret(&rederived, v, QUIC_SUITE_AES_128_GCM_SHA256, prev.secret, prev.secret_len));
    uint8_t sample[16] = { 1, 2, 3 }, ma[5], mb[5];
    g_assert_true(quic_hp_mask(&rederived, sample, ma) && quic_hp_mask(&fresh, sample, mb));
    g_assert_true(memcmp(ma, mb, sizeof ma) != 0);
    quic_keys_clear(&rederived);
    quic_keys_clear(&fresh);
    quic_keys_clear(&k);
    quic_kdf_free(kdf);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/quic/varint", test_varint);
    g_test_add_func("/quic/keys-park", test_keys_park);
    g_test_add_func("/quic/keys-restore", test_keys_restore);
    g_test_add_func("/quic/initial-keys-v1", test_initial_keys_v1);
    g_test_add_func("/quic/sha256-libgcrypt", test_sha256_libgcrypt);
    g_test_add_func("/quic/hmac-paths", test_hmac_paths);
    g_test_add_func("/quic/hp-mask", test_hp_mask);
    g_test_add_func("/quic/client-initial-v1", test_client_initial_v1);
    g_test_add_func("/quic/server-initial-v1", test_server_initial_v1);
    g_test_add_func("/quic/client-initial-v2", test_client_initial_v2);
    g_test_add_func("/quic/server-initial-v2", test_server_initial_v2);
    g_test_add_func("/quic/chacha-v1", test_chacha_v1);
    g_test_add_func("/quic/chacha-v2", test_chacha_v2);
    g_test_add_func("/quic/retry-vn", test_retry_and_vn);
    g_test_add_func("/quic/client-hello", test_client_hello);
    g_test_add_func("/quic/server-hello", test_server_hello);
    g_test_add_func("/quic/reasm", test_reasm);
    g_test_add_func("/quic/reasm-fast-path", test_reasm_fast_path);
    g_test_add_func("/quic/session", test_session);
    g_test_add_func("/quic/kdf-kept-handles", test_kdf_kept_handles);
    g_test_add_func("/quic/kdf-spare-ciphers", test_kdf_spare_ciphers);
    g_test_add_func("/quic/session-vn-0rtt", test_session_vn_0rtt);
    return g_test_run();
}
