/* quic_crypto.h - QUIC packet protection (RFC 9001 5), through libgcrypt.
 *
 * Keys come from a TLS 1.3 traffic secret (HKDF-Expand-Label with the
 * version's "quic key"/"quic iv"/"quic hp" labels) or, for Initial packets,
 * from the client's first Destination Connection ID (RFC 9001 5.2).  AES,
 * GCM, ChaCha20, Poly1305 and HMAC-SHA-384 are libgcrypt's, HMAC-SHA-256
 * quic_sha256.c's (most of a connection's first flight: see there); this
 * file only composes them as RFC 5869/8446/9001 say.  Cipher handles are
 * opened once per key set, never per packet. */
#ifndef SMBSCOPE_QUIC_CRYPTO_H
#define SMBSCOPE_QUIC_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quic_wire.h"

struct quic_kdf;

/* TLS 1.3 cipher suites QUIC uses (RFC 9001 5.3). */
enum quic_suite {
    QUIC_SUITE_AES_128_GCM_SHA256 = 0x1301,
    QUIC_SUITE_AES_256_GCM_SHA384 = 0x1302,
    QUIC_SUITE_CHACHA20_POLY1305_SHA256 = 0x1303,
};

#define QUIC_MAX_SECRET 48

struct quic_keys {
    bool ready;
    uint16_t suite;
    void *aead;     /* gcry_cipher_hd_t; NULL while parked */
    void *hp;       /* gcry_cipher_hd_t; NULL while parked */
    uint8_t iv[12];
    uint8_t secret[QUIC_MAX_SECRET]; /* kept for key updates (RFC 9001 6) */
    size_t secret_len;
    /* The AEAD and header-protection keys the handles hold, to open them
     * again (quic_keys_resume): the handles are most of a key set's memory
     * (about 4 KiB in libgcrypt), the keys 64 bytes. */
    uint8_t key[32], hp_key[32];
    struct quic_kdf *kdf; /* where clearing gives the handles back (NULL: closed) */
};

/* Initialise libgcrypt if nobody has (the Wireshark plugin's host has). */
bool quic_crypto_init(void);

/* True for the three suites above. */
bool quic_suite_supported(uint16_t suite);
/* "TLS_AES_128_GCM_SHA256", ... or NULL. */
const char *quic_suite_name(uint16_t suite);

/* HKDF-Expand-Label (RFC 8446 7.1) with the suite's hash; out_len <= 255*hash. */
bool quic_hkdf_expand_label(uint16_t suite, const uint8_t *secret, size_t secret_len,
    const char *label, uint8_t *out, size_t out_len);

/* client_initial_secret and server_initial_secret (32 bytes each). */
bool quic_initial_secrets(const struct quic_version_info *v, const struct quic_cid *dcid,
    uint8_t client[32], uint8_t server[32]);

/* Derive key, iv, hp from a traffic secret and open the ciphers. */
bool quic_keys_from_secret(struct quic_keys *k, const struct quic_version_info *v, uint16_t suite,
    const uint8_t *secret, size_t secret_len);

/* The Initial salts' HMAC states kept from one connection to the next, and
 * spare cipher handles (libgcrypt's open allocates and initialises a
 * context, its close wipes and frees it): keys derived through a
 * kdf give their handles back to it when cleared, and the next keys re-key
 * them.  One per thread: handles are not shared; keys derived through a kdf
 * must be cleared before it is freed.  NULL
 * from quic_kdf_new() (no memory) and a NULL kdf below are fine: the
 * functions then derive as quic_initial_secrets()/quic_keys_from_secret(). */
struct quic_kdf *quic_kdf_new(void);
void quic_kdf_free(struct quic_kdf *kdf);
bool quic_initial_secrets_kdf(struct quic_kdf *kdf, const struct quic_version_info *v, const struct quic_cid *dcid,
    uint8_t client[32], uint8_t server[32]);
bool quic_keys_from_secret_kdf(struct quic_kdf *kdf, struct quic_keys *k, const struct quic_version_info *v,
    uint16_t suite, const uint8_t *secret, size_t secret_len);
/* Next generation after a key update ("quic ku"); hp stays (RFC 9001 6.1). */
bool quic_keys_update(struct quic_keys *k, const struct quic_version_info *v);
/* Back to prev, a copy of k taken before quic_keys_update() (a packet that
 * only looked like a key update): its secret, IV and AEAD key; the header
 * protection never changed.  (Deriving again from prev's secret would give
 * the header protection of that generation, not the first one's: wrong
 * after one real update.) */
bool quic_keys_restore(struct quic_keys *k, const struct quic_keys *prev);
void quic_keys_clear(struct quic_keys *k);
/* Parked keys: the cipher handles given back (to the kdf's spares, or
 * closed), the keys kept: still ready, and they decrypt exactly as before
 * once quic_keys_resume() (true: open, or not ready) has opened them again.
 * A connection that keeps key sets it rarely uses (Initial and Handshake
 * after 1-RTT, or any while it is idle) holds 64 bytes for each instead of
 * two handles. */
void quic_keys_park(struct quic_keys *k);
bool quic_keys_resume(struct quic_keys *k);
static inline bool quic_keys_open(const struct quic_keys *k) { return k->ready && k->aead; }

/* The raw bytes derived, for tests against RFC vectors. */
bool quic_keys_material(uint16_t suite, const struct quic_version_info *v, const uint8_t *secret,
    size_t secret_len, uint8_t *key, size_t key_len, uint8_t iv[12], uint8_t *hp, size_t hp_len);

enum quic_unprotect_status {
    QUIC_UNPROTECT_OK = 0,
    QUIC_UNPROTECT_SHORT,   /* too short to carry a sample or a tag */
    QUIC_UNPROTECT_NO_KEYS,
    QUIC_UNPROTECT_AUTH,    /* AEAD tag did not verify */
};

struct quic_plain {
    uint8_t first;        /* first byte, header protection removed */
    unsigned pn_len;
    uint64_t pn;          /* full packet number */
    bool key_phase;       /* short header only */
    const uint8_t *payload; /* decrypted frames, inside scratch */
    size_t payload_len;
};

/* Remove header protection and decrypt the packet pkt[0..pkt_len) whose
 * protected packet number starts at pn_off.  largest_pn is the largest packet
 * number received so far in this space (UINT64_MAX for none).  scratch must
 * hold pkt_len bytes; the plaintext is left there. */
enum quic_unprotect_status quic_unprotect(const struct quic_keys *k, const uint8_t *pkt, size_t pkt_len,
    size_t pn_off, uint64_t largest_pn, uint8_t *scratch, size_t scratch_len, struct quic_plain *out);

/* The header protection mask for a 16-byte sample (5 bytes out), for tests. */
bool quic_hp_mask(const struct quic_keys *k, const uint8_t sample[16], uint8_t mask[5]);

/* RFC 9000 A.3. */
uint64_t quic_decode_pn(uint64_t largest_pn, uint64_t truncated, unsigned pn_nbits);

#endif
