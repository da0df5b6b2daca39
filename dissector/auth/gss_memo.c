/* gss_memo.c - see gss_memo.h. */
#include "gss_memo.h"

#include <string.h>

const struct smb_auth *gss_decode_memo(struct gss_memo *m, const uint8_t *blob, size_t len,
                                       struct smb_auth *scratch)
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
        if (s->len == len && memcmp(s->blob, blob, len) == 0) {
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
    victim->len = (uint32_t)len;
    victim->used = m->clock;
    memcpy(victim->blob, blob, len);
    gss_decode(blob, len, &victim->auth);
    return &victim->auth;
}

