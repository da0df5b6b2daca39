/* gss_memo.c - see gss_memo.h. */
#include "gss_memo.h"

#include <string.h>

/* Eight bytes a step (a NegTokenInit is 70 to 200 bytes); any hash would
 * do: equality is decided by the bytes. */
uint64_t gss_memo_hash(const uint8_t *blob, size_t len)
{
    uint64_t h = UINT64_C(0x9E3779B97F4A7C15) ^ len;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, blob + i, 8);
        h = (h ^ w) * UINT64_C(0xff51afd7ed558ccd);
        h ^= h >> 29;
    }
    for (; i < len; i++)
        h = (h ^ blob[i]) * UINT64_C(0x100000001b3);
    h ^= h >> 32;
    return h;
}

const struct smb_auth *gss_decode_memo_hashed(struct gss_memo *m, uint64_t hash, const uint8_t *blob,
                                              size_t len, struct smb_auth *scratch)
{
    if (!m || len == 0 || len > GSS_MEMO_BLOB_MAX) {
        if (m)
            m->uncached++;
        gss_decode(blob, len, scratch);
        return scratch;
    }
    m->clock++;
    struct gss_memo_slot *victim = &m->slot[0];
    for (unsigned i = 0; i < GSS_MEMO_SLOTS; i++) {
        struct gss_memo_slot *s = &m->slot[i];
        if (s->len == len && s->hash == hash && memcmp(s->blob, blob, len) == 0) {
            s->used = m->clock;
            m->hits++;
            return &s->auth;
        }
        /* the first empty slot, else the least recently used (a wrapped
         * clock only picks a worse victim, never a wrong answer) */
        if (victim->len != 0 && (s->len == 0 || s->used < victim->used))
            victim = s;
    }
    m->misses++;
    victim->hash = hash;
    victim->len = (uint32_t)len;
    victim->used = m->clock;
    memcpy(victim->blob, blob, len);
    gss_decode(blob, len, &victim->auth);
    return &victim->auth;
}

const struct smb_auth *gss_decode_memo(struct gss_memo *m, const uint8_t *blob, size_t len,
                                       struct smb_auth *scratch)
{
    uint64_t h = m && len && len <= GSS_MEMO_BLOB_MAX ? gss_memo_hash(blob, len) : 0;
    return gss_decode_memo_hashed(m, h, blob, len, scratch);
}
