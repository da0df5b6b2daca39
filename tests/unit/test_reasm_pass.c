/* test_reasm_pass.c - reasm_pass(): the quiet range; and the in-order
 * path of reasm_segment() against the general one.
 *
 * Two directions are fed the same segments (random order, losses, snaplen
 * cuts, duplicates, corrupted copies, acknowledgements that turn holes into
 * gaps, caps small enough to be hit): one consumer takes every byte, the
 * other asks after each callback for some bytes not to be shown.  Every
 * counter must be equal, the gaps the same, the shown bytes the same where
 * both saw them, and the passed() counts must fill exactly the asked ranges
 * less their gaps, in order, before the next callback. */
#include <glib.h>
#include <string.h>

#include "packet.h"
#include "reasm.h"

struct range {
    uint64_t off, len;
};

/* What one consumer saw, by stream offset. */
struct view {
    struct reasm_dir *d;
    uint64_t off;          /* offsets seen so far (data, gaps, passed) */
    GByteArray *at;        /* byte at each offset that came as data */
    GByteArray *kind;      /* per offset: 'd' data, 'g' gap, 'p' passed */
    GArray *gaps, *asked;  /* struct range */
    bool passing;          /* may be told of quiet bytes */
    bool auto_ask;         /* asks for quiet ranges after its callbacks */
    GRand *rnd;            /* how much to ask for */
    int ends;
};

static void mark(struct view *v, const uint8_t *b, uint64_t n, char k)
{
    g_assert_cmpuint(v->at->len, ==, v->off);
    g_byte_array_set_size(v->at, (guint)(v->off + n));
    g_byte_array_set_size(v->kind, (guint)(v->off + n));
    if (b)
        memcpy(v->at->data + v->off, b, (size_t)n);
    memset(v->kind->data + v->off, k, (size_t)n);
    v->off += n;
}

/* After a callback: sometimes ask for the next bytes to be kept quiet (a
 * later ask replaces what is left of the one before). */
static void maybe_ask(struct view *v)
{
    if (!v->auto_ask || g_rand_int_range(v->rnd, 0, 3) == 0)
        return;
    if (v->asked->len) {
        struct range *last = &g_array_index(v->asked, struct range, v->asked->len - 1);
        if (last->off + last->len > v->off)
            last->len = v->off > last->off ? v->off - last->off : 0;
    }
    struct range r = { v->off, (uint64_t)g_rand_int_range(v->rnd, 1, 6000) };
    g_array_append_val(v->asked, r);
    reasm_pass(v->d, r.len);
}

static void v_data(void *ctx, const uint8_t *b, size_t n, int64_t ts)
{
    struct view *v = ctx;
    mark(v, b, n, 'd');
    maybe_ask(v);
}

static void v_gap(void *ctx, uint64_t n, int64_t ts)
{
    struct view *v = ctx;
    struct range g = { v->off, n };
    g_array_append_val(v->gaps, g);
    mark(v, NULL, n, 'g');
    maybe_ask(v);
}

static void v_passed(void *ctx, uint64_t n, int64_t ts)
{
    struct view *v = ctx;
    g_assert_true(v->passing);
    g_assert_cmpuint(n, >, 0);
    mark(v, NULL, n, 'p');
}

static void v_end(void *ctx, int64_t ts)
{
    struct view *v = ctx;
    v->ends++;
}

static const struct reasm_consumer view_cb = { v_data, v_gap, v_end, v_passed };

static void view_init(struct view *v, struct reasm_dir *d, bool passing, uint32_t seed)
{
    memset(v, 0, sizeof *v);
    v->d = d;
    v->at = g_byte_array_new();
    v->kind = g_byte_array_new();
    v->gaps = g_array_new(FALSE, FALSE, sizeof(struct range));
    v->asked = g_array_new(FALSE, FALSE, sizeof(struct range));
    v->passing = v->auto_ask = passing;
    v->rnd = g_rand_new_with_seed(seed);
}

static void view_free(struct view *v)
{
    g_byte_array_unref(v->at);
    g_byte_array_unref(v->kind);
    g_array_unref(v->gaps);
    g_array_unref(v->asked);
    g_rand_free(v->rnd);
}

/* Is offset x inside one of the asked ranges? */
static bool asked_at(const struct view *v, uint64_t x)
{
    for (guint i = 0; i < v->asked->len; i++) {
        const struct range *r = &g_array_index(v->asked, struct range, i);
        if (x >= r->off && x < r->off + r->len)
            return true;
    }
    return false;
}

struct seg {
    uint32_t off, cap, wire;
    bool corrupt;
};

static void test_pass_equals_plain(void)
{
    enum { LEN = 60000 };
    static uint8_t data[LEN], bad[LEN];
    guint passed_total = 0, quiet_gaps = 0;
    for (uint32_t seed = 1; seed <= 120; seed++) {
        GRand *rnd = g_rand_new_with_seed(seed);
        for (size_t i = 0; i < LEN; i++)
            data[i] = (uint8_t)g_rand_int(rnd);
        memcpy(bad, data, LEN);
        for (size_t i = 0; i < LEN; i += 97)
            bad[i] ^= 0x5a;
        uint32_t isn = g_rand_int(rnd);
        /* one segmentation, and retransmissions of other sizes */
        GArray *segs = g_array_new(FALSE, FALSE, sizeof(struct seg));
        for (int pass = 0; pass < 2; pass++) {
            uint32_t off = 0;
            while (off < LEN) {
                uint32_t n = (uint32_t)g_rand_int_range(rnd, 1, 1500);
                if (n > LEN - off)
                    n = LEN - off;
                struct seg s = { off, n, n, false };
                if (g_rand_int_range(rnd, 0, 25) == 0)
                    s.cap = (uint32_t)g_rand_int_range(rnd, 0, (gint32)n); /* snaplen */
                if (pass == 1)
                    s.corrupt = g_rand_int_range(rnd, 0, 3) == 0;
                bool lost = pass == 0 && g_rand_int_range(rnd, 0, 30) == 0;
                if (!lost && (pass == 0 || g_rand_int_range(rnd, 0, 6) == 0))
                    g_array_append_val(segs, s);
                off += n;
            }
        }
        for (guint i = segs->len; i > 1; i--) { /* mostly local reordering */
            guint j = (seed % 3 == 0) ? (guint)g_rand_int_range(rnd, 0, (gint32)i)
                                      : i - 1 - (guint)g_rand_int_range(rnd, 0, (gint32)MIN(i, 6u));
            struct seg t = g_array_index(segs, struct seg, i - 1);
            g_array_index(segs, struct seg, i - 1) = g_array_index(segs, struct seg, j);
            g_array_index(segs, struct seg, j) = t;
        }

        struct reasm_limits lim;
        reasm_limits_default(&lim);
        if (seed % 4 == 0)
            lim.dir_cap = 8192; /* cap hits turn holes into gaps */
        struct reasm_budget budget[2] = { { .cap = REASM_DEFAULT_TOTAL_CAP }, { .cap = REASM_DEFAULT_TOTAL_CAP } };
        struct reasm_dir d[2];
        struct view v[2];
        for (int k = 0; k < 2; k++) {
            reasm_init(&d[k], &lim, &budget[k], &view_cb, &v[k]);
            view_init(&v[k], &d[k], k == 1, seed * 7);
        }
        uint32_t acked = 0;
        for (int k = 0; k < 2; k++)
            reasm_segment(&d[k], isn, TCP_SYN, NULL, 0, 0, 0);
        for (guint i = 0; i < segs->len; i++) {
            const struct seg *s = &g_array_index(segs, struct seg, i);
            const uint8_t *p = (s->corrupt ? bad : data) + s->off;
            /* the peer acknowledges what was sent so far, now and then */
            bool ack = g_rand_int_range(rnd, 0, 8) == 0;
            if (ack && s->off + s->wire > acked)
                acked = s->off + s->wire;
            for (int k = 0; k < 2; k++) {
                reasm_segment(&d[k], isn + 1 + s->off, TCP_ACK, p, s->cap, s->wire, (int64_t)i);
                if (ack)
                    reasm_ack(&d[k], isn + 1 + acked, (int64_t)i);
            }
        }
        for (int k = 0; k < 2; k++) {
            reasm_ack(&d[k], isn + 1 + LEN, 0);
            reasm_finish(&d[k], 0);
            g_assert_cmpint(v[k].ends, ==, 1);
            g_assert_cmpuint(budget[k].used, ==, 0);
        }

        /* every counter the same, the stream as long, the gaps the same */
        g_assert_cmpmem(&d[0].st, sizeof d[0].st, &d[1].st, sizeof d[1].st);
        g_assert_cmpmem(&budget[0], sizeof budget[0], &budget[1], sizeof budget[1]);
        g_assert_cmpuint(d[0].next, ==, d[1].next);
        g_assert_cmpuint(v[0].off, ==, v[1].off);
        g_assert_cmpuint(v[0].gaps->len, ==, v[1].gaps->len);
        g_assert_cmpmem(v[0].gaps->data, v[0].gaps->len * sizeof(struct range), v[1].gaps->data,
                        v[1].gaps->len * sizeof(struct range));
        /* offset by offset: passed only where asked and where the plain
         * consumer had data; data the same bytes; never shown where asked */
        for (uint64_t x = 0; x < v[1].off; x++) {
            char k0 = (char)v[0].kind->data[x], k1 = (char)v[1].kind->data[x];
            if (k1 == 'p') {
                g_assert_cmpint(k0, ==, 'd');
                g_assert_true(asked_at(&v[1], x));
                passed_total++;
            } else {
                g_assert_cmpint(k1, ==, k0);
                if (k1 == 'd') {
                    g_assert_false(asked_at(&v[1], x));
                    g_assert_cmpuint(v[1].at->data[x], ==, v[0].at->data[x]);
                } else if (asked_at(&v[1], x)) {
                    quiet_gaps++;
                }
            }
        }
        for (int k = 0; k < 2; k++)
            view_free(&v[k]);
        g_array_unref(segs);
        g_rand_free(rnd);
    }
    /* the cases happened: bytes kept quiet, and gaps inside quiet ranges */
    g_assert_cmpuint(passed_total, >, 100000);
    g_assert_cmpuint(quiet_gaps, >, 0);
}

/* A quiet range ending inside a segment: the segment's rest is shown,
 * after one passed() for the part before; and passed() comes before end(). */
static void test_pass_split_and_end(void)
{
    static uint8_t data[3000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7);
    struct reasm_limits lim;
    reasm_limits_default(&lim);
    struct reasm_budget budget = { .cap = REASM_DEFAULT_TOTAL_CAP };
    struct reasm_dir d;
    struct view v;
    reasm_init(&d, &lim, &budget, &view_cb, &v);
    view_init(&v, &d, true, 1);
    v.auto_ask = false; /* asked by hand below */
    reasm_segment(&d, 99, TCP_SYN, NULL, 0, 0, 0);
    reasm_segment(&d, 100, TCP_ACK, data, 1000, 1000, 0);
    reasm_pass(&d, 1500);
    reasm_segment(&d, 1100, TCP_ACK, data + 1000, 1000, 1000, 0); /* all quiet */
    g_assert_cmpuint(v.off, ==, 1000);
    reasm_segment(&d, 2100, TCP_ACK, data + 2000, 800, 800, 0); /* 500 quiet, 300 shown */
    g_assert_cmpuint(v.off, ==, 2800);
    static uint8_t quiet[1500];
    memset(quiet, 'p', sizeof quiet);
    g_assert_cmpmem(v.kind->data + 1000, 1500, quiet, sizeof quiet);
    g_assert_cmpmem(v.at->data + 2500, 300, data + 2500, 300);
    reasm_pass(&d, 1000);
    reasm_segment(&d, 2900, TCP_ACK | TCP_FIN, data + 2800, 200, 200, 0);
    g_assert_cmpuint(v.off, ==, 2800); /* not told yet */
    reasm_finish(&d, 0);
    g_assert_cmpuint(v.off, ==, 3000);
    g_assert_cmpint(v.ends, ==, 1);
    g_assert_cmpuint(d.st.bytes, ==, 3000);
    g_assert_cmpuint(d.st.gaps, ==, 0);
    view_free(&v);
}

/* Every callback, in order, as bytes: a log two runs can be compared by. */
struct logged {
    GByteArray *log;
    struct reasm_dir *d;
    GRand *rnd; /* asks for quiet ranges now and then */
};

static void log_put(struct logged *l, char tag, uint64_t n, const uint8_t *b, int64_t ts)
{
    g_byte_array_append(l->log, (const guint8 *)&tag, 1);
    g_byte_array_append(l->log, (const guint8 *)&n, sizeof n);
    g_byte_array_append(l->log, (const guint8 *)&ts, sizeof ts);
    if (b)
        g_byte_array_append(l->log, b, (guint)n);
}

static void l_data(void *ctx, const uint8_t *b, size_t n, int64_t ts)
{
    struct logged *l = ctx;
    log_put(l, 'd', n, b, ts);
    if (g_rand_int_range(l->rnd, 0, 5) == 0)
        reasm_pass(l->d, (uint64_t)g_rand_int_range(l->rnd, 1, 4000));
}
static void l_gap(void *ctx, uint64_t n, int64_t ts) { log_put(ctx, 'g', n, NULL, ts); }
static void l_end(void *ctx, int64_t ts) { log_put(ctx, 'e', 0, NULL, ts); }
static void l_passed(void *ctx, uint64_t n, int64_t ts) { log_put(ctx, 'p', n, NULL, ts); }
static const struct reasm_consumer log_cb = { l_data, l_gap, l_end, l_passed };

/* reasm_segment()'s in-order path (a bulk transfer's segments) does what
 * the general path does: random streams (SYN or mid-stream start, losses,
 * reordering, snaplen cuts, keep-alives, acknowledgements ahead of the
 * data, skips pending when a segment comes, quiet ranges, a FIN) fed to a
 * direction with the path and one without give the same callbacks and the
 * same state. */
static void test_in_order_path_equals_general(void)
{
    enum { LEN = 30000 };
    static uint8_t data[LEN];
    guint fast_segments = 0;
    for (uint32_t seed = 1; seed <= 150; seed++) {
        GRand *rnd = g_rand_new_with_seed(seed * 31);
        for (size_t i = 0; i < LEN; i++)
            data[i] = (uint8_t)g_rand_int(rnd);
        struct reasm_limits lim;
        reasm_limits_default(&lim);
        lim.ack_lag = (uint32_t)g_rand_int_range(rnd, 1, 5);
        struct reasm_budget budget[2] = { { .cap = REASM_DEFAULT_TOTAL_CAP }, { .cap = REASM_DEFAULT_TOTAL_CAP } };
        struct reasm_dir d[2];
        struct logged l[2];
        for (int k = 0; k < 2; k++) {
            l[k].log = g_byte_array_new();
            l[k].d = &d[k];
            l[k].rnd = g_rand_new_with_seed(seed);
            reasm_init(&d[k], &lim, &budget[k], &log_cb, &l[k]);
        }
        uint32_t isn = g_rand_int(rnd);
        bool syn = g_rand_boolean(rnd);
        uint32_t off = 0, held_back = UINT32_MAX, held_len = 0;
        int64_t ts = 0;
        /* one op at a time, the same to both directions */
#define BOTH(call)                                                                                 \
    do {                                                                                           \
        for (int k_ = 0; k_ < 2; k_++) {                                                           \
            reasm_set_in_order_path(k_ == 0);                                                      \
            struct reasm_dir *dd = &d[k_];                                                         \
            call;                                                                                  \
        }                                                                                          \
        reasm_set_in_order_path(true);                                                             \
    } while (0)
        if (syn)
            BOTH(reasm_segment(dd, isn, TCP_SYN, NULL, 0, 0, ts));
        while (off < LEN) {
            ts++;
            uint32_t n = (uint32_t)g_rand_int_range(rnd, 1, 1400);
            if (n > LEN - off)
                n = LEN - off;
            uint32_t r = (uint32_t)g_rand_int_range(rnd, 0, 100);
            uint32_t seq = isn + 1 + off, cap = n;
            uint8_t flags = TCP_ACK;
            if (r < 4) { /* lost for now: sent later, or never */
                if (held_back == UINT32_MAX && r < 2) {
                    held_back = off;
                    held_len = n;
                }
                off += n;
                continue;
            }
            if (r < 8)
                cap = (uint32_t)g_rand_int_range(rnd, 0, (gint32)n); /* snaplen */
            if (r >= 8 && r < 11 && off > 0) /* keep-alive */
                BOTH(reasm_segment(dd, seq - 1, TCP_ACK, data + off - 1, 1, 1, ts));
            uint32_t ahead = (uint32_t)g_rand_int_range(rnd, 0, 5000), skip = (uint32_t)g_rand_int_range(rnd, 0, 700);
            if (r >= 11 && r < 16) /* the peer acknowledges ahead */
                BOTH(reasm_ack(dd, seq + ahead, ts));
            if (r >= 16 && r < 19) /* a skip pending when the next segment comes */
                BOTH(reasm_skip(dd, skip));
            if (r >= 19 && r < 22 && held_back != UINT32_MAX) { /* the lost one, late */
                BOTH(reasm_segment(dd, isn + 1 + held_back, TCP_ACK, data + held_back, held_len, held_len, ts));
                held_back = UINT32_MAX;
            }
            if (off + n == LEN && g_rand_boolean(rnd))
                flags |= TCP_FIN;
            BOTH(reasm_segment(dd, seq, flags, data + off, cap, n, ts));
            if (r >= 22 && r < 26) /* a copy */
                BOTH(reasm_segment(dd, seq, TCP_ACK, data + off, n, n, ts));
            off += n;
            fast_segments++;
        }
        BOTH(reasm_ack(dd, isn + 1 + LEN, ts));
        BOTH(reasm_finish(dd, ts + 1));
#undef BOTH
        g_assert_cmpmem(l[0].log->data, l[0].log->len, l[1].log->data, l[1].log->len);
        g_assert_cmpmem(&d[0].st, sizeof d[0].st, &d[1].st, sizeof d[1].st);
        g_assert_cmpuint(d[0].next, ==, d[1].next);
        g_assert_cmpuint(d[0].seen_end, ==, d[1].seen_end);
        g_assert_cmpuint(d[0].acked_end, ==, d[1].acked_end);
        g_assert_cmpuint(d[0].ack_mark, ==, d[1].ack_mark);
        g_assert_cmpuint(d[0].ack_age, ==, d[1].ack_age);
        g_assert_cmpmem(&budget[0], sizeof budget[0], &budget[1], sizeof budget[1]);
        for (int k = 0; k < 2; k++) {
            g_byte_array_unref(l[k].log);
            g_rand_free(l[k].rnd);
        }
        g_rand_free(rnd);
    }
    g_assert_cmpuint(fast_segments, >, 5000);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/reasm/pass-equals-plain", test_pass_equals_plain);
    g_test_add_func("/reasm/pass-split-and-end", test_pass_split_and_end);
    g_test_add_func("/reasm/in-order-path-equals-general", test_in_order_path_equals_general);
    return g_test_run();
}
