/* quic_sha256.h - SHA-256 and HMAC-SHA-256 for QUIC's key derivation.
 *
 * Every QUIC connection's first flight derives its Initial keys: an
 * HKDF-Extract and about a dozen HKDF-Expand-Label steps, each one HMAC of
 * a message shorter than a block.  Through libgcrypt's md layer each HMAC
 * cost two compressions plus as much again in handle bookkeeping (reset,
 * final, the context copies, the stack wiping); here an HMAC key is its two
 * precomputed states (inner and outer pad) and an HMAC of a short message is
 * exactly two compressions.  The compression uses the CPU's SHA extensions
 * where it has them (x86-64), else portable C: the same digests either way
 * (tests compare both with libgcrypt).  Nothing secret is kept: these are
 * the public Initial keys and the key log's. */
#ifndef SMBSCOPE_QUIC_SHA256_H
#define SMBSCOPE_QUIC_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QUIC_SHA256_LEN 32

/* An HMAC-SHA-256 key: the states after its inner and outer pad blocks. */
struct quic_hmac256 {
    uint32_t inner[8], outer[8];
};

/* SHA-256 of data (tests, and keys longer than a block). */
void quic_sha256(const uint8_t *data, size_t len, uint8_t out[QUIC_SHA256_LEN]);

/* The key's states (RFC 2104: a key longer than 64 bytes is hashed first). */
void quic_hmac256_key(struct quic_hmac256 *h, const uint8_t *key, size_t len);

/* HMAC(key, a | b | c) (any of them may be empty). */
void quic_hmac256(const struct quic_hmac256 *h, const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
    const uint8_t *c, size_t c_len, uint8_t out[QUIC_SHA256_LEN]);

/* Whether the SHA extensions are in use (false: portable C).  For tests:
 * quic_sha256_force_portable(true) makes every later call use the C
 * compression, to compare both on one machine. */
bool quic_sha256_uses_extensions(void);
void quic_sha256_force_portable(bool on);

#endif
