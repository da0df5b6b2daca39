/* gss_memo.h - gss_decode() results remembered by the blob's bytes.
 *
 * A server answers every NEGOTIATE with the same security blob (its SPNEGO
 * NegTokenInit: the mechanisms it offers), so a capture of many short
 * connections decodes the same bytes again and again.  The memo keeps the
 * decoded result of a few recent blobs; a blob whose bytes equal a kept one
 * (hash, length and every byte compared) gets its result, which equals
 * what gss_decode() gives (struct smb_auth is pointer-free but for
 * static reason texts).  Blobs carrying per-connection data (NTLM
 * challenges, Kerberos tickets) would never hit: callers use the memo only
 * where blobs repeat.
 *
 * No allocation: the caller owns the struct (about 9 KB), zeroed before
 * first use.  Not thread-safe: one memo per thread. */
#ifndef SMBSCOPE_GSS_MEMO_H
#define SMBSCOPE_GSS_MEMO_H

#include <stddef.h>
#include <stdint.h>

#include "gss.h"

#define GSS_MEMO_SLOTS 4
#define GSS_MEMO_BLOB_MAX 320 /* longer blobs are decoded, never kept */

struct gss_memo_slot {
    uint64_t hash;
    uint32_t len;            /* 0: empty slot (an empty blob is never kept) */
    uint32_t used;           /* the memo's clock at the last hit or fill */
    uint8_t blob[GSS_MEMO_BLOB_MAX];
    struct smb_auth auth;
};

struct gss_memo {
    struct gss_memo_slot slot[GSS_MEMO_SLOTS];
    uint32_t clock;
    uint64_t hits, misses, uncached; /* uncached: empty or too long to keep */
};

/* What gss_decode(blob, len, .) gives, through memo m: a kept result (valid
 * until the next call with m), or scratch decoded (m NULL, or the blob
 * empty or too long to keep). */
const struct smb_auth *gss_decode_memo(struct gss_memo *m, const uint8_t *blob, size_t len,
                                       struct smb_auth *scratch);

/* The same with the hash given (tests force collisions with it). */
const struct smb_auth *gss_decode_memo_hashed(struct gss_memo *m, uint64_t hash, const uint8_t *blob,
                                              size_t len, struct smb_auth *scratch);
uint64_t gss_memo_hash(const uint8_t *blob, size_t len);

#endif
