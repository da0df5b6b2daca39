/* quic_crypto.c - QUIC packet protection through libgcrypt; see quic_crypto.h. */
#include "quic_crypto.h"

#include <gcrypt.h>
#include <stdlib.h>
#include <string.h>

#include "quic_sha256.h"

bool quic_crypto_init(void)
{
    if (gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P))
        return true;
    if (!gcry_check_version(NULL))
        return false;
    gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
    gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
    return true;
}

/* One row per suite: hash for HKDF, AEAD and header-protection ciphers. */
static const struct suite_row {
    uint16_t suite;
    const char *name;
    int md;
    int aead_algo, aead_mode;
    int hp_algo, hp_mode;
    size_t key_len;
} suites[] = {
    { QUIC_SUITE_AES_128_GCM_SHA256, "TLS_AES_128_GCM_SHA256", GCRY_MD_SHA256,
      GCRY_CIPHER_AES128, GCRY_CIPHER_MODE_GCM, GCRY_CIPHER_AES128, GCRY_CIPHER_MODE_ECB, 16 },
    { QUIC_SUITE_AES_256_GCM_SHA384, "TLS_AES_256_GCM_SHA384", GCRY_MD_SHA384,
      GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_GCM, GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_ECB, 32 },
    { QUIC_SUITE_CHACHA20_POLY1305_SHA256, "TLS_CHACHA20_POLY1305_SHA256", GCRY_MD_SHA256,
      GCRY_CIPHER_CHACHA20, GCRY_CIPHER_MODE_POLY1305, GCRY_CIPHER_CHACHA20, GCRY_CIPHER_MODE_STREAM, 32 },
};

static const struct suite_row *suite_row(uint16_t suite)
{
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
        if (suites[i].suite == suite)
            return &suites[i];
    return NULL;
}

bool quic_suite_supported(uint16_t suite) { return suite_row(suite) != NULL; }

const char *quic_suite_name(uint16_t suite)
{
    const struct suite_row *r = suite_row(suite);
    return r ? r->name : NULL;
}

/* One HMAC key for several messages.  With the CPU's SHA extensions,
 * HMAC-SHA-256 (the Initial keys and two of the three suites) is
 * quic_sha256.c's: the key two precomputed states, each label's HMAC two
 * compressions, where libgcrypt's md layer cost as much again in handle
 * bookkeeping on every connection's first flight.  Without them libgcrypt's
 * vector assembly compresses faster than portable C, and it stays: its
 * keyed state is kept in the handle, and gcry_md_reset() returns to it. */
struct hmac_key {
    int md;
    size_t dlen;
    bool own;                 /* s256, not h */
    struct quic_hmac256 s256;
    gcry_md_hd_t h;
};

static bool hmac_key_open(struct hmac_key *k, int md, const uint8_t *key, size_t key_len)
{
    k->md = md;
    k->own = md == GCRY_MD_SHA256 && quic_sha256_uses_extensions();
    if (k->own) {
        k->dlen = QUIC_SHA256_LEN;
        quic_hmac256_key(&k->s256, key, key_len);
        return true;
    }
    k->dlen = gcry_md_get_algo_dlen(md);
    if (gcry_md_open(&k->h, md, GCRY_MD_FLAG_HMAC) != 0)
        return false;
    if (gcry_md_setkey(k->h, key, key_len) != 0) {
        gcry_md_close(k->h);
        return false;
    }
    return true;
}

/* An open key keyed again with another secret. */
static bool hmac_key_rekey(struct hmac_key *k, const uint8_t *key, size_t key_len)
{
    if (k->own) {
        quic_hmac256_key(&k->s256, key, key_len);
        return true;
    }
    return gcry_md_setkey(k->h, key, key_len) == 0;
}

static void hmac_key_close(struct hmac_key *k)
{
    if (!k->own)
        gcry_md_close(k->h);
}

/* HMAC(key, a | b | c) into out (k->dlen bytes). */
static bool hmac_key_mac(struct hmac_key *k, const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
    const uint8_t *c, size_t c_len, uint8_t *out)
{
    if (k->own) {
        quic_hmac256(&k->s256, a, a_len, b, b_len, c, c_len, out);
        return true;
    }
    gcry_md_reset(k->h);
    gcry_md_write(k->h, a, a_len);
    gcry_md_write(k->h, b, b_len);
    gcry_md_write(k->h, c, c_len);
    const unsigned char *d = gcry_md_read(k->h, k->md);
    if (!d)
        return false;
    memcpy(out, d, k->dlen);
    return true;
}

/* HKDF-Expand-Label (RFC 8446 7.1) with the secret already keyed. */
static bool expand_label(struct hmac_key *k, const char *label, uint8_t *out, size_t out_len)
{
    size_t label_len = strlen(label);
    if (label_len > 249 || out_len > 0xffff || k->dlen > 64)
        return false;
    /* HkdfLabel: uint16 length, opaque label<7..255> = "tls13 " + label, empty context. */
    uint8_t info[2 + 1 + 255 + 1 + 1];
    size_t n = 0;
    info[n++] = (uint8_t)(out_len >> 8);
    info[n++] = (uint8_t)out_len;
    info[n++] = (uint8_t)(6 + label_len);
    memcpy(info + n, "tls13 ", 6);
    n += 6;
    memcpy(info + n, label, label_len);
    n += label_len;
    info[n++] = 0;
    /* HKDF-Expand (RFC 5869 2.3): T(i) = HMAC(PRK, T(i-1) | info | i). */
    uint8_t t[64];
    size_t t_len = 0, done = 0;
    for (uint8_t i = 1; done < out_len; i++) {
        if (i == 0)
            return false;
        if (!hmac_key_mac(k, t, t_len, info, n, &i, 1, t))
            return false;
        t_len = k->dlen;
        size_t take = out_len - done < k->dlen ? out_len - done : k->dlen;
        memcpy(out + done, t, take);
        done += take;
    }
    return true;
}

bool quic_hkdf_expand_label(uint16_t suite, const uint8_t *secret, size_t secret_len,
    const char *label, uint8_t *out, size_t out_len)
{
    const struct suite_row *r = suite_row(suite);
    struct hmac_key k;
    if (!r || !hmac_key_open(&k, r->md, secret, secret_len))
        return false;
    bool ok = expand_label(&k, label, out, out_len);
    hmac_key_close(&k);
    return ok;
}

#define KDF_VERSIONS 2 /* salts keyed at once: QUIC v1 and v2 */
/* Cipher handles given back by cleared keys, re-keyed by the next ones: a
 * connection's first flight opens four to six (AEAD and header protection,
 * client and server, again after a Retry), and libgcrypt's open allocates
 * and initialises a context that its close wipes and frees.  Connections
 * overlap: this many spares cover the handshakes in flight at once. */
#define KDF_SPARE_CIPHERS 32

struct kept_cipher {
    int algo, mode;
    gcry_cipher_hd_t h;
};

struct quic_kdf {
    struct {
        const struct quic_version_info *v;
        struct hmac_key salt; /* HMAC keyed with v's Initial salt */
    } extract[KDF_VERSIONS];
    unsigned n_extract;
    struct hmac_key sha256; /* re-keyed with each secret */
    bool sha256_open;
    struct kept_cipher spare[KDF_SPARE_CIPHERS];
    unsigned n_spare;
};

struct quic_kdf *quic_kdf_new(void)
{
    if (!quic_crypto_init())
        return NULL;
    struct quic_kdf *kdf = calloc(1, sizeof *kdf);
    if (!kdf)
        return NULL;
    static const uint8_t zero[32];
    kdf->sha256_open = hmac_key_open(&kdf->sha256, GCRY_MD_SHA256, zero, sizeof zero);
    return kdf;
}

void quic_kdf_free(struct quic_kdf *kdf)
{
    if (!kdf)
        return;
    while (kdf->n_spare)
        gcry_cipher_close(kdf->spare[--kdf->n_spare].h);
    for (unsigned i = 0; i < kdf->n_extract; i++)
        hmac_key_close(&kdf->extract[i].salt);
    if (kdf->sha256_open)
        hmac_key_close(&kdf->sha256);
    free(kdf);
}

/* The kdf's kept SHA-256 key keyed with secret, or NULL (no kdf, another
 * hash): then the caller opens a key of its own. */
static struct hmac_key *kdf_keyed(struct quic_kdf *kdf, int md, const uint8_t *secret, size_t len)
{
    if (!kdf || !kdf->sha256_open || md != GCRY_MD_SHA256 || !hmac_key_rekey(&kdf->sha256, secret, len))
        return NULL;
    return &kdf->sha256;
}

/* HKDF-Extract(salt, IKM) = HMAC(salt, IKM), through a key of the
 * version's salt keyed once per kdf. */
static bool initial_extract(struct quic_kdf *kdf, const struct quic_version_info *v, const struct quic_cid *dcid,
    uint8_t out[32])
{
    struct hmac_key *salt = NULL, own;
    for (unsigned i = 0; kdf && i < kdf->n_extract && !salt; i++)
        if (kdf->extract[i].v == v)
            salt = &kdf->extract[i].salt;
    if (!salt && kdf && kdf->n_extract < KDF_VERSIONS
        && hmac_key_open(&kdf->extract[kdf->n_extract].salt, GCRY_MD_SHA256, v->initial_salt, sizeof v->initial_salt)) {
        kdf->extract[kdf->n_extract].v = v;
        salt = &kdf->extract[kdf->n_extract++].salt;
    }
    if (salt)
        return hmac_key_mac(salt, dcid->id, dcid->len, NULL, 0, NULL, 0, out);
    if (!hmac_key_open(&own, GCRY_MD_SHA256, v->initial_salt, sizeof v->initial_salt))
        return false;
    bool ok = hmac_key_mac(&own, dcid->id, dcid->len, NULL, 0, NULL, 0, out);
    hmac_key_close(&own);
    return ok;
}

bool quic_initial_secrets_kdf(struct quic_kdf *kdf, const struct quic_version_info *v, const struct quic_cid *dcid,
    uint8_t client[32], uint8_t server[32])
{
    if (!v || !dcid)
        return false;
    uint8_t initial[32];
    if (!initial_extract(kdf, v, dcid, initial))
        return false;
    struct hmac_key *kept = kdf_keyed(kdf, GCRY_MD_SHA256, initial, sizeof initial);
    if (kept)
        return expand_label(kept, "client in", client, 32) && expand_label(kept, "server in", server, 32);
    struct hmac_key k;
    if (!hmac_key_open(&k, GCRY_MD_SHA256, initial, sizeof initial))
        return false;
    bool ok = expand_label(&k, "client in", client, 32) && expand_label(&k, "server in", server, 32);
    hmac_key_close(&k);
    return ok;
}

bool quic_initial_secrets(const struct quic_version_info *v, const struct quic_cid *dcid,
    uint8_t client[32], uint8_t server[32])
{
    return quic_initial_secrets_kdf(NULL, v, dcid, client, server);
}

static bool keys_material(struct quic_kdf *kdf, uint16_t suite, const struct quic_version_info *v,
    const uint8_t *secret, size_t secret_len, uint8_t *key, size_t key_len, uint8_t iv[12], uint8_t *hp, size_t hp_len)
{
    const struct suite_row *r = suite_row(suite);
    if (!v || !r)
        return false;
    struct hmac_key own, *k = kdf_keyed(kdf, r->md, secret, secret_len);
    if (!k) {
        if (!hmac_key_open(&own, r->md, secret, secret_len))
            return false;
        k = &own;
    }
    bool ok = expand_label(k, v->key_label, key, key_len) && expand_label(k, v->iv_label, iv, 12)
        && expand_label(k, v->hp_label, hp, hp_len);
    if (k == &own)
        hmac_key_close(&own);
    return ok;
}

bool quic_keys_material(uint16_t suite, const struct quic_version_info *v, const uint8_t *secret,
    size_t secret_len, uint8_t *key, size_t key_len, uint8_t iv[12], uint8_t *hp, size_t hp_len)
{
    return keys_material(NULL, suite, v, secret, secret_len, key, key_len, iv, hp, hp_len);
}

/* A spare handle of this algorithm and mode (its old key still in it), or NULL. */
static gcry_cipher_hd_t spare_take(struct quic_kdf *kdf, int algo, int mode)
{
    for (unsigned i = kdf ? kdf->n_spare : 0; i-- > 0;)
        if (kdf->spare[i].algo == algo && kdf->spare[i].mode == mode) {
            gcry_cipher_hd_t h = kdf->spare[i].h;
            kdf->spare[i] = kdf->spare[--kdf->n_spare];
            return h;
        }
    return NULL;
}

static void spare_give(struct quic_kdf *kdf, int algo, int mode, gcry_cipher_hd_t h)
{
    if (kdf && kdf->n_spare < KDF_SPARE_CIPHERS)
        kdf->spare[kdf->n_spare++] = (struct kept_cipher){ algo, mode, h };
    else
        gcry_cipher_close(h);
}

/* setkey replaces the whole key schedule (and, for GCM, the GHASH key);
 * every use resets and sets the IV first (aead_open, quic_hp_mask), so a
 * re-keyed spare decrypts exactly as a freshly opened handle. */
static bool open_cipher(struct quic_kdf *kdf, void **slot, int algo, int mode, const uint8_t *key, size_t key_len)
{
    gcry_cipher_hd_t h = spare_take(kdf, algo, mode);
    if (!h && gcry_cipher_open(&h, algo, mode, 0))
        return false;
    if (gcry_cipher_setkey(h, key, key_len)) {
        gcry_cipher_close(h);
        return false;
    }
    *slot = h;
    return true;
}

/* The handles go back to the kdf (or are closed); the rest stays. */
static void give_handles(struct quic_keys *k)
{
    const struct suite_row *r = suite_row(k->suite);
    if (k->aead)
        spare_give(r ? k->kdf : NULL, r ? r->aead_algo : 0, r ? r->aead_mode : 0, (gcry_cipher_hd_t)k->aead);
    if (k->hp)
        spare_give(r ? k->kdf : NULL, r ? r->hp_algo : 0, r ? r->hp_mode : 0, (gcry_cipher_hd_t)k->hp);
    k->aead = k->hp = NULL;
}

void quic_keys_clear(struct quic_keys *k)
{
    give_handles(k);
    memset(k, 0, sizeof *k);
}

void quic_keys_park(struct quic_keys *k)
{
    if (k->ready)
        give_handles(k);
}

bool quic_keys_resume(struct quic_keys *k)
{
    if (!k->ready || (k->aead && k->hp))
        return true;
    const struct suite_row *r = suite_row(k->suite);
    if (!r)
        return false;
    give_handles(k); /* one of the two: both opened again */
    if (!open_cipher(k->kdf, &k->aead, r->aead_algo, r->aead_mode, k->key, r->key_len)
        || !open_cipher(k->kdf, &k->hp, r->hp_algo, r->hp_mode, k->hp_key, r->key_len)) {
        give_handles(k);
        return false;
    }
    return true;
}

bool quic_keys_from_secret_kdf(struct quic_kdf *kdf, struct quic_keys *k, const struct quic_version_info *v,
    uint16_t suite, const uint8_t *secret, size_t secret_len)
{
    quic_keys_clear(k);
    const struct suite_row *r = suite_row(suite);
    if (!r || !v || secret_len > QUIC_MAX_SECRET || !quic_crypto_init())
        return false;
    uint8_t key[32], hp[32];
    if (!keys_material(kdf, suite, v, secret, secret_len, key, r->key_len, k->iv, hp, r->key_len))
        return false;
    k->suite = suite; /* before the handles: clearing gives them back by suite */
    k->kdf = kdf;
    if (!open_cipher(kdf, &k->aead, r->aead_algo, r->aead_mode, key, r->key_len)
        || !open_cipher(kdf, &k->hp, r->hp_algo, r->hp_mode, hp, r->key_len)) {
        quic_keys_clear(k);
        return false;
    }
    memcpy(k->secret, secret, secret_len);
    k->secret_len = secret_len;
    memcpy(k->key, key, r->key_len);
    memcpy(k->hp_key, hp, r->key_len);
    k->ready = true;
    return true;
}

bool quic_keys_from_secret(struct quic_keys *k, const struct quic_version_info *v, uint16_t suite,
    const uint8_t *secret, size_t secret_len)
{
    return quic_keys_from_secret_kdf(NULL, k, v, suite, secret, secret_len);
}

bool quic_keys_update(struct quic_keys *k, const struct quic_version_info *v)
{
    const struct suite_row *r = suite_row(k->suite);
    if (!k->ready || !r || !v)
        return false;
    uint8_t next[QUIC_MAX_SECRET], key[32];
    if (!quic_hkdf_expand_label(k->suite, k->secret, k->secret_len, v->ku_label, next, k->secret_len)
        || !quic_hkdf_expand_label(k->suite, next, k->secret_len, v->key_label, key, r->key_len)
        || !quic_hkdf_expand_label(k->suite, next, k->secret_len, v->iv_label, k->iv, 12))
        return false;
    if (!quic_keys_resume(k) || gcry_cipher_setkey((gcry_cipher_hd_t)k->aead, key, r->key_len))
        return false;
    memcpy(k->secret, next, k->secret_len);
    memcpy(k->key, key, r->key_len);
    return true;
}

bool quic_keys_restore(struct quic_keys *k, const struct quic_keys *prev)
{
    const struct suite_row *r = suite_row(prev->suite);
    if (!r || !prev->ready || k->suite != prev->suite)
        return false;
    memcpy(k->iv, prev->iv, sizeof k->iv);
    memcpy(k->secret, prev->secret, sizeof k->secret);
    k->secret_len = prev->secret_len;
    memcpy(k->key, prev->key, sizeof k->key);
    return !k->aead || gcry_cipher_setkey((gcry_cipher_hd_t)k->aead, k->key, r->key_len) == 0;
}

bool quic_hp_mask(const struct quic_keys *k, const uint8_t sample[16], uint8_t mask[5])
{
    if (!quic_keys_open(k) || !k->hp)
        return false; /* not ready, or parked: quic_keys_resume() first */
    gcry_cipher_hd_t h = (gcry_cipher_hd_t)k->hp;
    if (k->suite == QUIC_SUITE_CHACHA20_POLY1305_SHA256) {
        /* RFC 9001 5.4.4: counter = sample[0..3] LE, nonce = sample[4..15];
         * libgcrypt's 16-byte ChaCha20 IV is exactly that layout. */
        static const uint8_t zeros[5];
        return gcry_cipher_setiv(h, sample, 16) == 0 && gcry_cipher_encrypt(h, mask, 5, zeros, 5) == 0;
    }
    uint8_t block[16];
    if (gcry_cipher_encrypt(h, block, 16, sample, 16))
        return false;
    memcpy(mask, block, 5);
    return true;
}

uint64_t quic_decode_pn(uint64_t largest_pn, uint64_t truncated, unsigned pn_nbits)
{
    uint64_t expected = largest_pn == UINT64_MAX ? 0 : largest_pn + 1;
    uint64_t win = (uint64_t)1 << pn_nbits, hwin = win / 2, mask = win - 1;
    uint64_t candidate = (expected & ~mask) | truncated;
    if (candidate + hwin <= expected && candidate < ((uint64_t)1 << 62) - win)
        return candidate + win;
    if (candidate > expected + hwin && candidate >= win)
        return candidate - win;
    return candidate;
}

static bool aead_open(const struct quic_keys *k, uint64_t pn, const uint8_t *aad, size_t aad_len,
    uint8_t *buf, size_t len)
{
    gcry_cipher_hd_t h = (gcry_cipher_hd_t)k->aead;
    uint8_t nonce[12];
    memcpy(nonce, k->iv, 12);
    for (int i = 0; i < 8; i++)
        nonce[11 - i] ^= (uint8_t)(pn >> (8 * i));
    size_t ct_len = len - 16;
    if (gcry_cipher_reset(h) || gcry_cipher_setiv(h, nonce, 12) || gcry_cipher_authenticate(h, aad, aad_len))
        return false;
    if (gcry_cipher_final(h) || gcry_cipher_decrypt(h, buf, ct_len, NULL, 0))
        return false;
    return gcry_cipher_checktag(h, buf + ct_len, 16) == 0;
}

enum quic_unprotect_status quic_unprotect(const struct quic_keys *k, const uint8_t *pkt, size_t pkt_len,
    size_t pn_off, uint64_t largest_pn, uint8_t *scratch, size_t scratch_len, struct quic_plain *out)
{
    memset(out, 0, sizeof *out);
    if (!k || !k->ready)
        return QUIC_UNPROTECT_NO_KEYS;
    /* The sample starts 4 bytes after the packet number's first byte. */
    if (pn_off > pkt_len || pkt_len - pn_off < 4 + 16 || pkt_len > scratch_len)
        return QUIC_UNPROTECT_SHORT;
    uint8_t mask[5];
    if (!quic_hp_mask(k, pkt + pn_off + 4, mask))
        return QUIC_UNPROTECT_NO_KEYS;
    memcpy(scratch, pkt, pkt_len);
    bool long_form = (pkt[0] & 0x80) != 0;
    scratch[0] ^= mask[0] & (long_form ? 0x0f : 0x1f);
    unsigned pn_len = (scratch[0] & 3) + 1;
    uint64_t truncated = 0;
    for (unsigned i = 0; i < pn_len; i++) {
        scratch[pn_off + i] ^= mask[1 + i];
        truncated = (truncated << 8) | scratch[pn_off + i];
    }
    size_t hdr_len = pn_off + pn_len;
    if (pkt_len - hdr_len < 16)
        return QUIC_UNPROTECT_SHORT;
    out->first = scratch[0];
    out->pn_len = pn_len;
    out->pn = quic_decode_pn(largest_pn, truncated, pn_len * 8);
    out->key_phase = !long_form && (scratch[0] & 0x04);
    if (!aead_open(k, out->pn, scratch, hdr_len, scratch + hdr_len, pkt_len - hdr_len))
        return QUIC_UNPROTECT_AUTH;
    out->payload = scratch + hdr_len;
    out->payload_len = pkt_len - hdr_len - 16;
    return QUIC_UNPROTECT_OK;
}
