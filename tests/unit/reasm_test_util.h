/* reasm_test_util.h - the reassembly tests' fixture: a consumer that
 * records bytes, gaps and ends (and can ask for skips), one direction
 * around it, and hand-built segments. */
#ifndef SMBSCOPE_REASM_TEST_UTIL_H
#define SMBSCOPE_REASM_TEST_UTIL_H

#include <glib.h>

#include "packet.h"
#include "reasm.h"

struct gap_rec {
    uint64_t off, len;
};

struct rec {
    GByteArray *bytes;  /* data, gaps not filled */
    GArray *gaps;       /* struct gap_rec; off = stream offset */
    uint64_t off;       /* stream offset incl. gaps and skips */
    int ends;
    struct reasm_dir *d;
    /* skip plan: after the byte at stream offset skip_after, skip skip_len */
    uint64_t skip_after, skip_len;
    bool skip_armed;
};

struct fix {
    struct reasm_limits lim;
    struct reasm_budget budget;
    struct reasm_dir d;
    struct rec r;
};

extern const struct reasm_consumer rec_cb;

void fix_init(struct fix *f, uint32_t dir_cap, uint64_t total_cap);
void fix_open(struct fix *f);
void fix_done(struct fix *f);
void fix_free(struct fix *f);
void seg(struct fix *f, uint32_t seq, uint8_t flags, const void *data, uint32_t len);
void assert_bytes(struct fix *f, const void *want, size_t len);
void assert_gap(struct fix *f, guint i, uint64_t off, uint64_t len);
void pattern(uint8_t *buf, size_t n, uint32_t seed);

#endif
