/* Per-direction TCP reassembly on hand-built segment sequences.  Expected
 * streams are the bytes the test itself sent (TCP semantics, RFC 9293):
 * never the reassembler's own output. */
#include <glib.h>
#include <string.h>


#include "reasm_test_util.h"

/* ---- cases ---- */

static void test_in_order(void)
{
    struct fix f;
    fix_init(&f, 0, 0);
    seg(&f, 1000, TCP_SYN, NULL, 0);
    seg(&f, 1001, TCP_ACK, "hello", 5);
    seg(&f, 1006, TCP_ACK | TCP_PSH, " world", 6);
    seg(&f, 1012, TCP_ACK | TCP_FIN, NULL, 0);
    g_assert_true(f.d.syn_seen);
    g_assert_false(f.d.midstream);
    assert_bytes(&f, "hello world", 11);
    g_assert_cmpuint(f.d.held_bytes, ==, 0);
    fix_done(&f);
    assert_bytes(&f, "hello world", 11);
    g_assert_cmpuint(f.r.gaps->len, ==, 0);
    g_assert_cmpuint(f.d.st.retransmissions, ==, 0);
    g_assert_cmpuint(f.d.st.out_of_order, ==, 0);
    fix_free(&f);
}

/* Segments of a 12-byte stream "abcdefghijkl" in chunks of 3, every order. */
static void test_reorder_permutations(void)
{
    static const char stream[] = "abcdefghijkl";
    static const int perms4[][4] = {
        { 0, 1, 2, 3 }, { 0, 1, 3, 2 }, { 0, 2, 1, 3 }, { 0, 2, 3, 1 }, { 0, 3, 1, 2 }, { 0, 3, 2, 1 },
        { 1, 0, 2, 3 }, { 1, 0, 3, 2 }, { 1, 2, 0, 3 }, { 1, 2, 3, 0 }, { 1, 3, 0, 2 }, { 1, 3, 2, 0 },
        { 2, 0, 1, 3 }, { 2, 0, 3, 1 }, { 2, 1, 0, 3 }, { 2, 1, 3, 0 }, { 2, 3, 0, 1 }, { 2, 3, 1, 0 },
        { 3, 0, 1, 2 }, { 3, 0, 2, 1 }, { 3, 1, 0, 2 }, { 3, 1, 2, 0 }, { 3, 2, 0, 1 }, { 3, 2, 1, 0 },
    };
    for (size_t p = 0; p < G_N_ELEMENTS(perms4); p++) {
        struct fix f;
        fix_init(&f, 0, 0);
        seg(&f, 99, TCP_SYN, NULL, 0);
        for (int i = 0; i < 4; i++) {
            int k = perms4[p][i];
            seg(&f, 100 + (uint32_t)k * 3, TCP_ACK, stream + k * 3, 3);
        }
        /* Everything is in before the end: no gap may be needed. */
        assert_bytes(&f, stream, 12);
        g_assert_cmpuint(f.d.held_bytes, ==, 0);
        fix_done(&f);
        g_assert_cmpuint(f.r.gaps->len, ==, 0);
        g_assert_cmpuint(f.d.st.overlap_conflicts, ==, 0);
        fix_free(&f);
    }
}

static void test_duplicates(void)
{
    struct fix f;
    fix_open(&f);
    seg(&f, 1, TCP_ACK, "abc", 3);
    seg(&f, 1, TCP_ACK, "abc", 3);       /* retransmission of delivered data */
    seg(&f, 7, TCP_ACK, "ghi", 3);       /* out of order */
    seg(&f, 7, TCP_ACK, "ghi", 3);       /* duplicate of held data */
    seg(&f, 4, TCP_ACK, "def", 3);
    seg(&f, 4, TCP_ACK, "def", 3);
    fix_done(&f);
    assert_bytes(&f, "abcdefghi", 9);
    g_assert_cmpuint(f.d.st.retransmissions, ==, 3);
    g_assert_cmpuint(f.d.st.out_of_order, ==, 1);
    g_assert_cmpuint(f.d.st.overlap_conflicts, ==, 0);
    g_assert_cmpuint(f.r.gaps->len, ==, 0);
    fix_free(&f);
}

static void test_overlap_same(void)
{
    struct fix f;
    fix_open(&f);
    seg(&f, 1, TCP_ACK, "0123456789", 10);
    seg(&f, 6, TCP_ACK, "56789abcde", 10);   /* repacketised: half old, half new */
    seg(&f, 21, TCP_ACK, "klmno", 5);        /* held */
    seg(&f, 19, TCP_ACK, "ijklm", 5);        /* overlaps held, same bytes */
    seg(&f, 16, TCP_ACK, "fgh", 3);
    fix_done(&f);
    assert_bytes(&f, "0123456789abcdefghijklmno", 25);
    g_assert_cmpuint(f.d.st.overlap_conflicts, ==, 0);
    g_assert_cmpuint(f.r.gaps->len, ==, 0);
    fix_free(&f);
}

/* First copy wins, and a differing overlap is counted. */
static void test_overlap_different(void)
{
    struct fix f;
    fix_open(&f);
    seg(&f, 11, TCP_ACK, "AAAAAAAAAA", 10);  /* [10,20) held */
    seg(&f, 16, TCP_ACK, "BBBBBBBBBB", 10);  /* [15,25): [15,20) conflicts */
    g_assert_cmpuint(f.d.st.overlap_conflicts, ==, 1);
    seg(&f, 1, TCP_ACK, "ccccccccccCCCCC", 15); /* [0,15): [10,15) conflicts with held */
    g_assert_cmpuint(f.d.st.overlap_conflicts, ==, 2);
    fix_done(&f);
    assert_bytes(&f, "ccccccccccAAAAAAAAAABBBBB", 25);
    g_assert_cmpuint(f.r.gaps->len, ==, 0);
    fix_free(&f);
}

/* Against bytes already delivered: a direction that retransmitted once
 * remembers what it delivered, and a later differing copy is a conflict. */
static void test_overlap_different_delivered(void)
{
    struct fix f;
    fix_open(&f);
    seg(&f, 1, TCP_ACK, "abcdef", 6);
    seg(&f, 1, TCP_ACK, "abc", 3);          /* first retransmission: not compared */
    g_assert_cmpuint(f.d.st.retransmissions, ==, 1);
    seg(&f, 7, TCP_ACK, "ghijkl", 6);
    seg(&f, 7, TCP_ACK, "ghiXkl", 6);       /* differs from delivered bytes */
    g_assert_cmpuint(f.d.st.overlap_conflicts, ==, 1);
    seg(&f, 9, TCP_ACK, "iXklmn", 6);       /* differs, and brings [12,14) */
    g_assert_cmpuint(f.d.st.overlap_conflicts, ==, 2);
    seg(&f, 7, TCP_ACK, "ghi", 3);          /* same bytes */
    fix_done(&f);
    assert_bytes(&f, "abcdefghijklmn", 14);
    g_assert_cmpuint(f.d.st.retransmissions, ==, 2);
    g_assert_cmpuint(f.d.st.overlap_conflicts, ==, 2);
    fix_free(&f);
}

static void test_gap_at_end(void)
{
    struct fix f;
    fix_open(&f);
    seg(&f, 1, TCP_ACK, "0123456789", 10);
    seg(&f, 21, TCP_ACK, "KLMNOPQRST", 10); /* [10,20) never comes */
    assert_bytes(&f, "0123456789", 10);
    fix_done(&f);
    assert_bytes(&f, "0123456789KLMNOPQRST", 20);
    g_assert_cmpuint(f.r.gaps->len, ==, 1);
    assert_gap(&f, 0, 10, 10);
    g_assert_cmpuint(f.d.st.gap_bytes, ==, 10);
    fix_free(&f);
}

static void test_fin_beyond_data(void)
{
    struct fix f;
    fix_open(&f);
    seg(&f, 1, TCP_ACK, "0123456789", 10);
    seg(&f, 31, TCP_ACK | TCP_FIN, NULL, 0); /* FIN at offset 30: [10,30) lost */
    fix_done(&f);
    assert_bytes(&f, "0123456789", 10);
    assert_gap(&f, 0, 10, 20);
    fix_free(&f);
}

/* The peer acknowledged past a hole: after ack_lag more segments the hole is
 * a gap, before the end of the flow. */
static void test_ack_beyond_hole(void)
{
    struct fix f;
    fix_open(&f);
    seg(&f, 1, TCP_ACK, "0123456789", 10);
    seg(&f, 21, TCP_ACK, "KLMNOPQRST", 10);
    reasm_ack(&f.d, 31, 0);
    for (uint32_t i = 0; i < f.lim.ack_lag; i++)
        seg(&f, 31 + i, TCP_ACK, "x", 1);
    g_assert_cmpuint(f.r.gaps->len, ==, 1);
    assert_gap(&f, 0, 10, 10);
    g_assert_cmpuint(f.d.held_bytes, ==, 0);
    /* An acknowledged tail with nothing captured: a gap at the end. */
    reasm_ack(&f.d, 31 + f.lim.ack_lag + 50, 0);
    fix_done(&f);
    g_assert_cmpuint(f.r.gaps->len, ==, 2);
    assert_gap(&f, 1, 30 + f.lim.ack_lag, 50);
    fix_free(&f);
}

/* An ACK exactly one past the data without a FIN seen acknowledges the FIN. */
static void test_ack_of_uncaptured_fin(void)
{
    struct fix f;
    fix_open(&f);
    seg(&f, 1, TCP_ACK, "abc", 3);
    reasm_ack(&f.d, 5, 0);
    fix_done(&f);
    g_assert_cmpuint(f.r.gaps->len, ==, 0);
    fix_free(&f);
}

static void test_wraparound(void)
{
    uint8_t data[300];
    pattern(data, sizeof data, 7);
    struct fix f;
    fix_init(&f, 0, 0);
    uint32_t isn = 0xFFFFFF00u; /* data crosses 2^32 after 255 bytes */
    seg(&f, isn, TCP_SYN, NULL, 0);
    seg(&f, isn + 1 + 200, TCP_ACK, data + 200, 100); /* past the wrap, out of order */
    seg(&f, isn + 1, TCP_ACK, data, 100);
    seg(&f, isn + 1 + 100, TCP_ACK, data + 100, 100); /* straddles 2^32 */
    seg(&f, isn + 1 + 300, TCP_ACK | TCP_FIN, NULL, 0);
    fix_done(&f);
    assert_bytes(&f, data, sizeof data);
    g_assert_cmpuint(f.r.gaps->len, ==, 0);
    g_assert_cmpuint(f.d.fin_off, ==, 300);
    fix_free(&f);
}

/* A stream longer than 4 GiB of sequence space, in order, wraps twice. */
static uint64_t counted;
static void count_data(void *ctx, const uint8_t *b, size_t n, int64_t ts) { counted += n; }
static void count_gap(void *ctx, uint64_t n, int64_t ts) { g_assert_not_reached(); }

static void test_wraparound_long(void)
{
    static uint8_t chunk[65536];
    static const struct reasm_consumer count_cb = { count_data, count_gap, NULL, NULL };
    struct reasm_limits lim;
    reasm_limits_default(&lim);
    struct reasm_budget budget = { .cap = REASM_DEFAULT_TOTAL_CAP };
    struct reasm_dir d;
    reasm_init(&d, &lim, &budget, &count_cb, NULL);
    counted = 0;
    reasm_segment(&d, 0x80000000u, TCP_SYN, NULL, 0, 0, 0);
    uint32_t seq = 0x80000001u;
    const uint64_t n = 2 * 65536 + 10;
    for (uint64_t i = 0; i < n; i++) {
        /* every 100th segment comes after its successor */
        if (i % 100 == 1) {
            reasm_segment(&d, seq + sizeof chunk, TCP_ACK, chunk, sizeof chunk, sizeof chunk, 0);
            reasm_segment(&d, seq, TCP_ACK, chunk, sizeof chunk, sizeof chunk, 0);
            seq += 2 * sizeof chunk;
            i++;
            continue;
        }
        reasm_segment(&d, seq, TCP_ACK, chunk, sizeof chunk, sizeof chunk, 0);
        seq += sizeof chunk;
    }
    reasm_finish(&d, 0);
    g_assert_cmpuint(counted, ==, n * sizeof chunk);
    g_assert_cmpuint(d.next, ==, n * sizeof chunk);
    g_assert_cmpuint(budget.used, ==, 0);
}

static void test_midstream(void)
{
    struct fix f;
    fix_init(&f, 0, 0);
    seg(&f, 5000, TCP_ACK, NULL, 0);        /* a pure ACK does not start the stream */
    g_assert_false(f.d.started);
    seg(&f, 5000, TCP_ACK, "world", 5);
    g_assert_true(f.d.started);
    g_assert_true(f.d.midstream);
    seg(&f, 4994, TCP_ACK, "hello ", 6);   /* before the start: not rebased */
    seg(&f, 4997, TCP_ACK, "lo wor", 6);   /* straddles the start */
    seg(&f, 5005, TCP_ACK, "!", 1);
    fix_done(&f);
    assert_bytes(&f, "world!", 6);
    g_assert_cmpuint(f.d.st.pre_start_bytes, ==, 9);
    g_assert_cmpuint(f.r.gaps->len, ==, 0);
    fix_free(&f);
}

static void test_keepalive(void)
{
    struct fix f;
    fix_open(&f);
    seg(&f, 1, TCP_ACK, "abc", 3);
    seg(&f, 3, TCP_ACK, "\0", 1);           /* probe: seq = next - 1, 1 byte */
    seg(&f, 3, TCP_ACK, NULL, 0);           /* 0-byte probe */
    seg(&f, 4, TCP_ACK, "def", 3);
    fix_done(&f);
    assert_bytes(&f, "abcdef", 6);
    g_assert_cmpuint(f.d.st.keepalives, ==, 1);
    g_assert_cmpuint(f.d.st.retransmissions, ==, 0);
    fix_free(&f);
}

static void test_snaplen(void)
{
    uint8_t data[400];
    pattern(data, sizeof data, 3);
    struct fix f;
    fix_open(&f);
    /* in order: 100 on the wire, 40 captured */
    reasm_segment(&f.d, 1, TCP_ACK, data, 40, 100, 0);
    g_assert_cmpuint(f.r.gaps->len, ==, 1);
    assert_gap(&f, 0, 40, 60);
    /* out of order: [200,300) with 30 captured, then [100,200) complete */
    reasm_segment(&f.d, 201, TCP_ACK, data + 200, 30, 100, 0);
    reasm_segment(&f.d, 101, TCP_ACK, data + 100, 100, 100, 0);
    reasm_segment(&f.d, 301, TCP_ACK, data + 300, 100, 100, 0);
    fix_done(&f);
    g_assert_cmpuint(f.r.gaps->len, ==, 2);
    assert_gap(&f, 1, 230, 70);
    g_assert_cmpuint(f.d.st.truncated_bytes, ==, 130);
    GByteArray *want = g_byte_array_new();
    g_byte_array_append(want, data, 40);
    g_byte_array_append(want, data + 100, 130);
    g_byte_array_append(want, data + 300, 100);
    assert_bytes(&f, want->data, want->len);
    g_byte_array_unref(want);
    fix_free(&f);
}

/* A hole that never fills, with more data behind it than the direction may
 * hold: the hole becomes a gap and memory stays under the cap. */
static void test_dir_cap(void)
{
    enum { CAP = 8192, SEG = 500, N = 100 };
    static uint8_t data[SEG * N];
    pattern(data, sizeof data, 11);
    struct fix f;
    fix_init(&f, CAP, 0);
    seg(&f, 0, TCP_SYN, NULL, 0);
    seg(&f, 1, TCP_ACK, data, SEG);
    for (uint32_t i = 2; i < N; i++) { /* segment 1 is lost */
        seg(&f, 1 + i * SEG, TCP_ACK, data + i * SEG, SEG);
        g_assert_cmpuint(f.d.held_bytes, <=, CAP);
    }
    g_assert_cmpuint(f.d.st.cap_hits, >=, 1);
    g_assert_cmpuint(f.r.gaps->len, ==, 1);
    assert_gap(&f, 0, SEG, SEG);
    fix_done(&f);
    GByteArray *want = g_byte_array_new();
    g_byte_array_append(want, data, SEG);
    g_byte_array_append(want, data + 2 * SEG, (N - 2) * SEG);
    assert_bytes(&f, want->data, want->len);
    g_byte_array_unref(want);
    fix_free(&f);
}

/* The total cap shared by two directions. */
static void test_total_cap(void)
{
    enum { TOTAL = 6000, SEG = 1000 };
    static uint8_t data[SEG * 20];
    pattern(data, sizeof data, 5);
    struct reasm_limits lim;
    reasm_limits_default(&lim);
    struct reasm_budget budget = { .cap = TOTAL };
    struct rec r[2];
    struct reasm_dir d[2];
    for (int k = 0; k < 2; k++) {
        memset(&r[k], 0, sizeof r[k]);
        r[k].bytes = g_byte_array_new();
        r[k].gaps = g_array_new(FALSE, FALSE, sizeof(struct gap_rec));
        r[k].d = &d[k];
        reasm_init(&d[k], &lim, &budget, &rec_cb, &r[k]);
        reasm_segment(&d[k], 0, TCP_SYN, NULL, 0, 0, 0);
    }
    /* Both directions lose their first segment, then send 19 more. */
    for (uint32_t i = 1; i < 20; i++)
        for (int k = 0; k < 2; k++) {
            reasm_segment(&d[k], 1 + i * SEG, TCP_ACK, data + i * SEG, SEG, SEG, 0);
            g_assert_cmpuint(budget.used, <=, TOTAL);
        }
    g_assert_cmpuint(budget.cap_hits, >=, 1);
    g_assert_cmpuint(budget.peak, <=, TOTAL);
    for (int k = 0; k < 2; k++) {
        reasm_finish(&d[k], 0);
        g_assert_cmpuint(r[k].gaps->len, ==, 1);
        struct gap_rec g = g_array_index(r[k].gaps, struct gap_rec, 0);
        g_assert_cmpuint(g.off, ==, 0);
        g_assert_cmpuint(g.len, ==, SEG);
        g_assert_cmpmem(r[k].bytes->data, r[k].bytes->len, data + SEG, 19 * SEG);
        g_byte_array_unref(r[k].bytes);
        g_array_unref(r[k].gaps);
    }
    g_assert_cmpuint(budget.used, ==, 0);
}

/* The consumer skips 1000 bytes after the first 10. */
static void test_skip_in_order(void)
{
    uint8_t data[2000];
    pattern(data, sizeof data, 13);
    struct fix f;
    fix_init(&f, 0, 0);
    f.r.skip_after = 10;
    f.r.skip_len = 1000;
    f.r.skip_armed = true;
    seg(&f, 0, TCP_SYN, NULL, 0);
    seg(&f, 1, TCP_ACK, data, 10);
    seg(&f, 11, TCP_ACK, data + 10, 500);    /* wholly skipped: never delivered */
    seg(&f, 511, TCP_ACK, data + 510, 600);  /* [510,1010) skipped, [1010,1110) data */
    seg(&f, 1111, TCP_ACK, data + 1110, 890);
    fix_done(&f);
    GByteArray *want = g_byte_array_new();
    g_byte_array_append(want, data, 10);
    g_byte_array_append(want, data + 1010, 990);
    assert_bytes(&f, want->data, want->len);
    g_byte_array_unref(want);
    g_assert_cmpuint(f.d.st.skipped_bytes, ==, 1000);
    g_assert_cmpuint(f.r.gaps->len, ==, 0);
    fix_free(&f);
}

/* Out-of-order segments inside a skipped range are not buffered, and a hole
 * inside the skipped range is not a gap. */
static void test_skip_out_of_order(void)
{
    uint8_t data[3000];
    pattern(data, sizeof data, 17);
    struct fix f;
    fix_open(&f);
    seg(&f, 1, TCP_ACK, data, 100);
    reasm_skip(&f.d, 2000); /* the consumer does not need [100,2100) */
    seg(&f, 501, TCP_ACK, data + 500, 500);  /* inside the skip, out of order */
    g_assert_cmpuint(f.d.held_bytes, ==, 0);
    seg(&f, 2001, TCP_ACK, data + 2000, 500); /* straddles the skip end */
    seg(&f, 2501, TCP_ACK, data + 2500, 500);
    /* [100,500) and [1000,2000) never came: skipped, not gaps */
    fix_done(&f);
    GByteArray *want = g_byte_array_new();
    g_byte_array_append(want, data, 100);
    g_byte_array_append(want, data + 2100, 900);
    assert_bytes(&f, want->data, want->len);
    g_byte_array_unref(want);
    g_assert_cmpuint(f.r.gaps->len, ==, 0);
    g_assert_cmpuint(f.d.st.out_of_order, ==, 0);
    fix_free(&f);
}

/* Property: random segmentations of a random stream, delivered in a random
 * order with duplicates and re-segmented retransmissions, reassemble to the
 * original bytes. */
static void test_property_permutations(void)
{
    enum { LEN = 20000 };
    static uint8_t data[LEN];
    for (uint32_t seed = 1; seed <= 40; seed++) {
        GRand *rnd = g_rand_new_with_seed(seed);
        pattern(data, LEN, seed * 101);
        uint32_t isn = g_rand_int(rnd);
        GArray *segs = g_array_new(FALSE, FALSE, sizeof(uint32_t) * 2);
        /* two independent segmentations: the second plays retransmissions */
        for (int pass = 0; pass < 2; pass++) {
            uint32_t off = 0;
            while (off < LEN) {
                uint32_t n = (uint32_t)g_rand_int_range(rnd, 1, 1500);
                if (n > LEN - off)
                    n = LEN - off;
                uint32_t s[2] = { off, n };
                if (pass == 0 || g_rand_int_range(rnd, 0, 4) == 0)
                    g_array_append_val(segs, s);
                off += n;
            }
        }
        /* shuffle, keeping the order loosely local half the time */
        for (guint i = segs->len; i > 1; i--) {
            guint j = (seed & 1) ? (guint)g_rand_int_range(rnd, 0, (gint32)i)
                                 : i - 1 - (guint)g_rand_int_range(rnd, 0, (gint32)MIN(i, 8u));
            uint32_t *a = &g_array_index(segs, uint32_t, (i - 1) * 2);
            uint32_t *b = &g_array_index(segs, uint32_t, j * 2);
            uint32_t t0 = a[0], t1 = a[1];
            a[0] = b[0], a[1] = b[1];
            b[0] = t0, b[1] = t1;
        }
        struct fix f;
        fix_init(&f, 0, 0);
        seg(&f, isn, TCP_SYN, NULL, 0);
        for (guint i = 0; i < segs->len; i++) {
            uint32_t *s = &g_array_index(segs, uint32_t, i * 2);
            seg(&f, isn + 1 + s[0], TCP_ACK, data + s[0], s[1]);
            if (g_rand_int_range(rnd, 0, 10) == 0) /* plain duplicate */
                seg(&f, isn + 1 + s[0], TCP_ACK, data + s[0], s[1]);
        }
        assert_bytes(&f, data, LEN); /* complete before the end */
        g_assert_cmpuint(f.d.st.overlap_conflicts, ==, 0);
        /* a corrupted copy of recent bytes (across the history ring's wrap) */
        if (f.d.st.retransmissions > 0) {
            static uint8_t bad[1000];
            memcpy(bad, data + LEN - 1000, 1000);
            bad[g_rand_int_range(rnd, 0, 1000)] ^= 0x5a;
            seg(&f, isn + 1 + LEN - 1000, TCP_ACK, bad, 1000);
            g_assert_cmpuint(f.d.st.overlap_conflicts, ==, 1);
        }
        fix_done(&f);
        g_assert_cmpuint(f.r.gaps->len, ==, 0);
        fix_free(&f);
        g_array_unref(segs);
        g_rand_free(rnd);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/reasm/in_order", test_in_order);
    g_test_add_func("/reasm/reorder_permutations", test_reorder_permutations);
    g_test_add_func("/reasm/duplicates", test_duplicates);
    g_test_add_func("/reasm/overlap_same", test_overlap_same);
    g_test_add_func("/reasm/overlap_different", test_overlap_different);
    g_test_add_func("/reasm/overlap_different_delivered", test_overlap_different_delivered);
    g_test_add_func("/reasm/gap_at_end", test_gap_at_end);
    g_test_add_func("/reasm/fin_beyond_data", test_fin_beyond_data);
    g_test_add_func("/reasm/ack_beyond_hole", test_ack_beyond_hole);
    g_test_add_func("/reasm/ack_of_uncaptured_fin", test_ack_of_uncaptured_fin);
    g_test_add_func("/reasm/wraparound", test_wraparound);
    g_test_add_func("/reasm/wraparound_long", test_wraparound_long);
    g_test_add_func("/reasm/midstream", test_midstream);
    g_test_add_func("/reasm/keepalive", test_keepalive);
    g_test_add_func("/reasm/snaplen", test_snaplen);
    g_test_add_func("/reasm/dir_cap", test_dir_cap);
    g_test_add_func("/reasm/total_cap", test_total_cap);
    g_test_add_func("/reasm/skip_in_order", test_skip_in_order);
    g_test_add_func("/reasm/skip_out_of_order", test_skip_out_of_order);
    g_test_add_func("/reasm/property_permutations", test_property_permutations);
    return g_test_run();
}
