/* reasm_test_util.c - see reasm_test_util.h. */
#include "reasm_test_util.h"

#include <string.h>

static void rec_data(void *ctx, const uint8_t *b, size_t n, int64_t ts)
{
    struct rec *r = ctx;
    g_byte_array_append(r->bytes, b, (guint)n);
    r->off += n;
    if (r->skip_armed && r->off >= r->skip_after) {
        /* Skip from the end of this chunk: bytes in it past skip_after were
         * delivered already, so shorten the skip by as many. */
        uint64_t over = r->off - r->skip_after;
        g_assert_cmpuint(over, <=, r->skip_len);
        reasm_skip(r->d, r->skip_len - over);
        r->off += r->skip_len - over;
        r->skip_armed = false;
    }
}

static void rec_gap(void *ctx, uint64_t n, int64_t ts)
{
    struct rec *r = ctx;
    struct gap_rec g = { r->off, n };
    g_array_append_val(r->gaps, g);
    r->off += n;
}

static void rec_end(void *ctx, int64_t ts)
{
    struct rec *r = ctx;
    r->ends++;
}

const struct reasm_consumer rec_cb = { rec_data, rec_gap, rec_end, NULL };

void fix_init(struct fix *f, uint32_t dir_cap, uint64_t total_cap)
{
    memset(f, 0, sizeof *f);
    reasm_limits_default(&f->lim);
    if (dir_cap)
        f->lim.dir_cap = dir_cap;
    f->budget.cap = total_cap ? total_cap : REASM_DEFAULT_TOTAL_CAP;
    f->r.bytes = g_byte_array_new();
    f->r.gaps = g_array_new(FALSE, FALSE, sizeof(struct gap_rec));
    f->r.d = &f->d;
    reasm_init(&f->d, &f->lim, &f->budget, &rec_cb, &f->r);
}

/* Default caps, the stream started by a SYN at sequence 0. */
void fix_open(struct fix *f)
{
    fix_init(f, 0, 0);
    seg(f, 0, TCP_SYN, NULL, 0);
}

void fix_done(struct fix *f)
{
    reasm_finish(&f->d, 0);
    g_assert_cmpint(f->r.ends, ==, 1);
    g_assert_cmpuint(f->budget.used, ==, 0);
}

void fix_free(struct fix *f)
{
    g_byte_array_unref(f->r.bytes);
    g_array_unref(f->r.gaps);
}

void seg(struct fix *f, uint32_t seq, uint8_t flags, const void *data, uint32_t len)
{
    reasm_segment(&f->d, seq, flags, data, len, len, 0);
}

void assert_bytes(struct fix *f, const void *want, size_t len)
{
    g_assert_cmpuint(f->r.bytes->len, ==, len);
    g_assert_cmpmem(f->r.bytes->data, f->r.bytes->len, want, len);
}

void assert_gap(struct fix *f, guint i, uint64_t off, uint64_t len)
{
    g_assert_cmpuint(f->r.gaps->len, >, i);
    struct gap_rec g = g_array_index(f->r.gaps, struct gap_rec, i);
    g_assert_cmpuint(g.off, ==, off);
    g_assert_cmpuint(g.len, ==, len);
}

void pattern(uint8_t *buf, size_t n, uint32_t seed)
{
    GRand *r = g_rand_new_with_seed(seed);
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)g_rand_int(r);
    g_rand_free(r);
}

