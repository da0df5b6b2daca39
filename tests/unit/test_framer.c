/* Streaming framer: real TCP directions cut from the samples (expected
 * message type:length lists from tshark's NBSS dissector, see
 * vectors/stream.tsv), fed in every chunking, with gaps, mid-stream starts
 * and hand-made malformed streams (RFC 1002 4.3.1, MS-SMB2 2.1). */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "framer.h"
#include "nb_test_util.h"

/* ---- a recorder: every callback appended to one text log ------------- */

struct rec {
    GString *log;
    GString *types;      /* "81:68,00:62,..." like stream.tsv */
    size_t want_limit;   /* 0: no want callback semantics (returns msg_len) */
    bool use_want;
    unsigned cut_msgs;
    unsigned resyncs;
    unsigned anomalies[FRAMER_AN_COUNT];
};

static uint32_t fnv(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static void add_type(struct rec *r, unsigned type, unsigned len)
{
    if (r->types->len)
        g_string_append_c(r->types, ',');
    g_string_append_printf(r->types, "%02x:%u", type, len);
}

static void on_control(void *ctx, uint8_t type, const uint8_t *body, size_t n, const struct nbss_control *d)
{
    struct rec *r = ctx;
    g_string_append_printf(r->log, "C%02x:%zu:%u:%08x\n", type, n, (unsigned)d->status, fnv(body, n));
    add_type(r, type, d->length);
}

static size_t on_want(void *ctx, const uint8_t *head, size_t head_len, uint32_t msg_len)
{
    struct rec *r = ctx;
    g_assert_cmpuint(head_len, ==, MIN(msg_len, FRAMER_HEAD));
    g_string_append_printf(r->log, "W:%zu:%u:%08x\n", head_len, msg_len, fnv(head, head_len));
    return r->want_limit;
}

static void on_message(void *ctx, const uint8_t *msg, size_t avail, uint32_t msg_len, unsigned flags)
{
    struct rec *r = ctx;
    g_assert_cmpuint(avail, <=, msg_len);
    g_string_append_printf(r->log, "M:%zu:%u:%x:%08x\n", avail, msg_len, flags, fnv(msg, avail));
    if (flags & FRAMER_MSG_CUT)
        r->cut_msgs++;
    add_type(r, 0, msg_len);
}

static void on_anomaly(void *ctx, enum framer_anomaly an, uint64_t detail)
{
    struct rec *r = ctx;
    g_string_append_printf(r->log, "A:%d:%" G_GUINT64_FORMAT "\n", (int)an, detail);
    r->anomalies[an]++;
}

static void rec_init(struct rec *r, bool use_want, size_t want_limit)
{
    memset(r, 0, sizeof *r);
    r->log = g_string_new(NULL);
    r->types = g_string_new(NULL);
    r->use_want = use_want;
    r->want_limit = want_limit;
}

static void rec_free(struct rec *r)
{
    g_string_free(r->log, TRUE);
    g_string_free(r->types, TRUE);
}

static void framer_for(struct framer *f, struct rec *r, struct transport_obs *obs, bool midstream)
{
    struct framer_callbacks cb = { on_control, r->use_want ? on_want : NULL, on_message, on_anomaly };
    framer_init(f, &cb, r, obs, midstream);
}

/* Feed data in chunks: sizes from a seeded PRNG in [1, maxchunk]; maxchunk 0
 * means one chunk.  Each chunk is copied to its own heap block so ASan sees
 * any read past it. */
static void feed_chunked(struct framer *f, const uint8_t *data, size_t n, guint32 seed, size_t maxchunk)
{
    GRand *rng = g_rand_new_with_seed(seed);
    size_t off = 0;
    while (off < n) {
        size_t k = maxchunk ? (size_t)g_rand_int_range(rng, 1, (gint32)maxchunk + 1) : n;
        if (k > n - off)
            k = n - off;
        uint8_t *chunk = g_memdup2(data + off, k);
        framer_feed(f, chunk, k);
        g_free(chunk);
        off += k;
    }
    g_rand_free(rng);
}

/* ---- vectors ----------------------------------------------------------- */

struct stream_vec {
    char *file;
    char *types;  /* tshark's list */
    GBytes *data;
};

static GPtrArray *load_streams(void)
{
    GPtrArray *v = g_ptr_array_new();
    GPtrArray *rows = vector_rows("stream.tsv");
    for (guint i = 0; i < rows->len; i++) {
        char **cols = g_ptr_array_index(rows, i);
        struct stream_vec *s = g_new0(struct stream_vec, 1);
        s->file = g_strdup(cols[0]);
        s->types = g_strdup(cols[1]);
        s->data = vector_bytes(cols[0]);
        g_ptr_array_add(v, s);
    }
    g_ptr_array_unref(rows);
    g_assert_cmpuint(v->len, >=, 4);
    return v;
}

static void free_stream(gpointer p)
{
    struct stream_vec *s = p;
    g_free(s->file);
    g_free(s->types);
    g_bytes_unref(s->data);
    g_free(s);
}

static GPtrArray *streams;

/* Every chunking yields the same callbacks, and the messages are tshark's. */
static void test_real_streams_chunkings(void)
{
    static const struct {
        guint32 seed;
        size_t maxchunk;
    } chunkings[] = { { 0, 0 }, { 0, 1 }, { 1, 3 }, { 2, 7 }, { 3, 64 }, { 4, 100 }, { 5, 1500 }, { 6, 5000 } };
    static const struct {
        bool use_want;
        size_t limit;
    } modes[] = { { false, 0 }, { true, 0 }, { true, 4 }, { true, 64 }, { true, 100000 } };

    for (guint i = 0; i < streams->len; i++) {
        struct stream_vec *s = g_ptr_array_index(streams, i);
        gsize n;
        const uint8_t *d = g_bytes_get_data(s->data, &n);
        for (size_t m = 0; m < G_N_ELEMENTS(modes); m++) {
            char *reference = NULL;
            for (size_t c = 0; c < G_N_ELEMENTS(chunkings); c++) {
                struct rec r;
                rec_init(&r, modes[m].use_want, modes[m].limit);
                struct transport_obs obs = { 0 };
                struct framer f;
                framer_for(&f, &r, &obs, false);
                feed_chunked(&f, d, n, chunkings[c].seed, chunkings[c].maxchunk);
                if (g_strcmp0(r.types->str, s->types) != 0)
                    g_error("%s chunking %zu: got %s want %s", s->file, c, r.types->str, s->types);
                for (int a = 0; a < FRAMER_AN_COUNT; a++)
                    g_assert_cmpuint(r.anomalies[a], ==, 0);
                g_assert_cmpuint(framer_stats(&f)->bytes, ==, n);
                g_assert_cmpuint(obs.smb_messages, ==, obs.session_messages);
                if (!reference)
                    reference = g_strdup(r.log->str);
                else if (strcmp(reference, r.log->str) != 0)
                    g_error("%s mode %zu chunking %zu: callbacks differ", s->file, m, c);
                framer_free(&f);
                rec_free(&r);
            }
            g_free(reference);
        }
    }
}

/* transport_obs counts match tshark's list. */
static void test_real_streams_obs(void)
{
    for (guint i = 0; i < streams->len; i++) {
        struct stream_vec *s = g_ptr_array_index(streams, i);
        gsize n;
        const uint8_t *d = g_bytes_get_data(s->data, &n);
        struct transport_obs obs = { 0 };
        struct rec r;
        rec_init(&r, false, 0);
        struct framer f;
        framer_for(&f, &r, &obs, false);
        framer_feed(&f, d, n);
        unsigned want_msgs = 0, want_req = 0, want_pos = 0, want_neg = 0, largest = 0;
        char **items = g_strsplit(s->types, ",", -1);
        for (char **it = items; *it; it++) {
            unsigned t = 0, l = 0;
            g_assert_cmpint(sscanf(*it, "%x:%u", &t, &l), ==, 2);
            if (t == 0) {
                want_msgs++;
                largest = MAX(largest, l);
            }
            want_req += t == 0x81;
            want_pos += t == 0x82;
            want_neg += t == 0x83;
        }
        g_strfreev(items);
        g_assert_cmpuint(obs.session_messages, ==, want_msgs);
        g_assert_cmpuint(obs.session_requests, ==, want_req);
        g_assert_cmpuint(obs.positive_responses, ==, want_pos);
        g_assert_cmpuint(obs.negative_responses, ==, want_neg);
        g_assert_cmpuint(obs.largest_message, ==, largest);
        g_assert_false(obs.length_over_17bit);
        framer_free(&f);
        rec_free(&r);
    }
}

/* Offsets of every message start (header) in a well-formed stream, from
 * tshark's list. */
static GArray *message_offsets(const struct stream_vec *s)
{
    GArray *a = g_array_new(FALSE, FALSE, sizeof(size_t));
    size_t off = 0;
    char **items = g_strsplit(s->types, ",", -1);
    for (char **it = items; *it; it++) {
        unsigned t = 0, l = 0;
        sscanf(*it, "%x:%u", &t, &l);
        g_array_append_val(a, off);
        off += 4 + l;
    }
    g_strfreev(items);
    return a;
}

/* The tail of tshark's list from message index k on. */
static char *types_from(const struct stream_vec *s, guint k)
{
    char **items = g_strsplit(s->types, ",", -1);
    char *tail = g_strjoinv(",", items + k);
    g_strfreev(items);
    return tail;
}

/* A capture that starts at any byte of the stream: the framer finds the
 * next message start and then reports exactly tshark's remaining list. */
static void test_midstream_start(void)
{
    for (guint i = 0; i < streams->len; i++) {
        struct stream_vec *s = g_ptr_array_index(streams, i);
        gsize n;
        const uint8_t *d = g_bytes_get_data(s->data, &n);
        GArray *offs = message_offsets(s);
        size_t step = n > 4000 ? 7 : 1;
        for (size_t start = 0; start < n; start += step) {
            guint k = 0;
            while (k < offs->len && g_array_index(offs, size_t, k) < start)
                k++;
            char *want = types_from(s, k);
            for (guint32 seed = 0; seed < 2; seed++) {
                struct rec r;
                rec_init(&r, seed == 1, 64);
                struct transport_obs obs = { 0 };
                struct framer f;
                framer_for(&f, &r, &obs, true);
                feed_chunked(&f, d + start, n - start, seed, seed ? 13 : 0);
                if (g_strcmp0(r.types->str, want) != 0)
                    g_error("%s from %zu: got %s want %s", s->file, start, r.types->str, want);
                size_t skipped = k < offs->len ? g_array_index(offs, size_t, k) - start : n - start;
                /* with no header left, up to 19 trailing bytes may still be
                 * held as a candidate rather than counted as skipped */
                if (k < offs->len)
                    g_assert_cmpuint(framer_stats(&f)->skipped_bytes, ==, skipped);
                else
                    g_assert_cmpuint(framer_stats(&f)->skipped_bytes + 19, >=, skipped);
                g_assert_cmpuint(r.anomalies[FRAMER_AN_RESYNC], ==, (skipped && k < offs->len) ? 1 : 0);
                framer_free(&f);
                rec_free(&r);
            }
            g_free(want);
        }
        g_array_free(offs, TRUE);
    }
}

/* Gaps: inside an unwanted body (sync kept, nothing reported), inside a
 * message being collected (cut, then sync kept), across a boundary
 * (resync; later messages found again).  All cut one SMB 3.1.1 stream. */
struct gap_fx {
    struct stream_vec *s;
    const uint8_t *d;
    gsize n;
    GArray *offs; /* message start offsets */
    struct rec r;
    struct framer f;
};

static void gap_fx_init(struct gap_fx *g, bool use_want, size_t want_limit)
{
    g->s = NULL;
    for (guint i = 0; i < streams->len; i++) {
        struct stream_vec *c = g_ptr_array_index(streams, i);
        if (g_str_has_suffix(c->file, "smb445-smb3_11-445.bin"))
            g->s = c;
    }
    g_assert_nonnull(g->s);
    g->d = g_bytes_get_data(g->s->data, &g->n);
    g->offs = message_offsets(g->s);
    g_assert_cmpuint(g->offs->len, >, 10);
    rec_init(&g->r, use_want, want_limit);
    framer_for(&g->f, &g->r, NULL, false);
}

static void gap_fx_free(struct gap_fx *g)
{
    framer_free(&g->f);
    rec_free(&g->r);
    g_array_free(g->offs, TRUE);
}

static size_t msg_at(const struct gap_fx *g, guint k) { return g_array_index(g->offs, size_t, k); }

/* The stream with bytes [g0, g1) missing. */
static void feed_with_gap(struct gap_fx *g, size_t g0, size_t g1)
{
    framer_feed(&g->f, g->d, g0);
    framer_gap(&g->f, g1 - g0);
    framer_feed(&g->f, g->d + g1, g->n - g1);
}

/* The types reported end with tshark's list from message k on. */
static void assert_tail_from(const struct gap_fx *g, guint k)
{
    char *tail = types_from(g->s, k);
    g_assert_true(g_str_has_suffix(g->r.types->str, tail));
    g_free(tail);
}

/* 1. a gap in the unwanted rest of message 1 (261 bytes; want 8 bytes) */
static void test_gap_unwanted(void)
{
    struct gap_fx g;
    gap_fx_init(&g, true, 8);
    size_t g0 = msg_at(&g, 1) + 4 + 100;
    framer_feed(&g.f, g.d, g0);
    g_assert_cmpuint(framer_skippable(&g.f), ==, msg_at(&g, 2) - g0);
    framer_gap(&g.f, msg_at(&g, 2) - 2 - g0);
    framer_feed(&g.f, g.d + msg_at(&g, 2) - 2, g.n - (msg_at(&g, 2) - 2));
    g_assert_cmpstr(g.r.types->str, ==, g.s->types);
    g_assert_cmpuint(framer_stats(&g.f)->anomalies, ==, 0);
    gap_fx_free(&g);
}

/* 1b. the same with framer_skip(): the reassembler drops skippable bytes;
 * 1c. skipping past the skippable bytes: the excess is a gap */
static void test_gap_skip(void)
{
    struct gap_fx g;
    gap_fx_init(&g, true, 8);
    for (size_t off = 0; off < g.n;) {
        uint64_t sk = framer_skippable(&g.f);
        framer_skip(&g.f, sk);
        if (!sk)
            framer_feed(&g.f, g.d + off, 1);
        off += sk ? sk : 1;
    }
    g_assert_cmpstr(g.r.types->str, ==, g.s->types);
    g_assert_cmpuint(framer_stats(&g.f)->anomalies, ==, 0);
    g_assert_cmpuint(framer_stats(&g.f)->gap_bytes, ==, 0);
    gap_fx_free(&g);

    gap_fx_init(&g, true, 8);
    size_t g0 = msg_at(&g, 1) + 4 + 100, m2 = msg_at(&g, 2);
    framer_feed(&g.f, g.d, g0);
    uint64_t sk = framer_skippable(&g.f);
    g_assert_cmpuint(sk, ==, m2 - g0);
    framer_skip(&g.f, sk + 10);
    g_assert_cmpuint(framer_stats(&g.f)->gap_bytes, ==, 10);
    g_assert_cmpuint(g.r.anomalies[FRAMER_AN_GAP_LOST_SYNC], ==, 1);
    framer_feed(&g.f, g.d + m2 + 10, g.n - m2 - 10);
    assert_tail_from(&g, 3);
    gap_fx_free(&g);
}

/* 1d. framer_passed(): skippable bytes told by number only (a reassembler
 * kept them off its callbacks) leave the framer as feeding them does: the
 * same messages, every counter the same (bytes included), at every
 * chunking, with a gap inside a passed stretch too. */
static void test_gap_passed(void)
{
    for (uint32_t seed = 1; seed <= 30; seed++) {
        struct gap_fx fed, told;
        gap_fx_init(&fed, true, 8);
        gap_fx_init(&told, true, 8);
        GRand *rnd = g_rand_new_with_seed(seed);
        size_t g0 = msg_at(&fed, 4) + 4 + 20, g1 = g0 + 9; /* in message 4's unwanted rest */
        guint passes = 0;
        for (size_t off = 0; off < fed.n;) {
            if (off == g0) {
                framer_gap(&fed.f, g1 - g0);
                framer_gap(&told.f, g1 - g0);
                off = g1;
                continue;
            }
            size_t k = (size_t)g_rand_int_range(rnd, 1, 400);
            if (k > fed.n - off)
                k = fed.n - off;
            if (off < g0 && off + k > g0)
                k = g0 - off;
            uint64_t sk = framer_skippable(&told.f);
            if (sk && g_rand_boolean(rnd)) {
                if (k > sk)
                    k = (size_t)sk;
                framer_passed(&told.f, k);
                passes++;
            } else {
                framer_feed(&told.f, told.d + off, k);
            }
            framer_feed(&fed.f, fed.d + off, k);
            off += k;
        }
        g_assert_cmpuint(passes, >, 0);
        g_assert_cmpstr(told.r.types->str, ==, fed.r.types->str);
        g_assert_cmpstr(fed.r.types->str, ==, fed.s->types);
        g_assert_cmpmem(framer_stats(&told.f), sizeof(struct framer_stats), framer_stats(&fed.f),
                        sizeof(struct framer_stats));
        g_assert_cmpuint(framer_message_left(&told.f), ==, framer_message_left(&fed.f));
        g_rand_free(rnd);
        gap_fx_free(&fed);
        gap_fx_free(&told);
    }
}

/* 2. a gap inside message 3 while collecting it whole: delivered cut,
 *    message 4 on still framed */
static void test_gap_cut(void)
{
    struct gap_fx g;
    gap_fx_init(&g, false, 0);
    feed_with_gap(&g, msg_at(&g, 3) + 4 + 10, msg_at(&g, 3) + 4 + 30);
    g_assert_cmpstr(g.r.types->str, ==, g.s->types);
    g_assert_cmpuint(g.r.cut_msgs, ==, 1);
    g_assert_cmpuint(g.r.anomalies[FRAMER_AN_MESSAGE_CUT], ==, 1);
    g_assert_nonnull(strstr(g.r.log->str, "M:10:"));
    gap_fx_free(&g);
}

/* 3. a gap across the boundary 3|4|5 into message 5: resync finds message 6;
 * 4. a gap exactly at a boundary: alignment unknown, resync at once */
static void test_gap_resync(void)
{
    struct gap_fx g;
    gap_fx_init(&g, false, 0);
    feed_with_gap(&g, msg_at(&g, 3) + 4 + 10, msg_at(&g, 6) - 5);
    char **items = g_strsplit(g.s->types, ",", -1);
    char *head = g_strjoin(",", items[0], items[1], items[2], items[3], NULL);
    char *tail = types_from(g.s, 6);
    char *want = g_strjoin(",", head, tail, NULL);
    g_assert_cmpstr(g.r.types->str, ==, want);
    g_assert_cmpuint(g.r.anomalies[FRAMER_AN_GAP_LOST_SYNC], ==, 1);
    g_assert_cmpuint(g.r.anomalies[FRAMER_AN_RESYNC], ==, 1);
    g_assert_cmpuint(framer_stats(&g.f)->skipped_bytes, ==, 5);
    g_free(want);
    g_free(tail);
    g_free(head);
    g_strfreev(items);
    gap_fx_free(&g);

    gap_fx_init(&g, false, 0);
    framer_feed(&g.f, g.d, msg_at(&g, 4));
    framer_gap(&g.f, 100);
    framer_feed(&g.f, g.d + msg_at(&g, 6), g.n - msg_at(&g, 6));
    assert_tail_from(&g, 6);
    g_assert_cmpuint(framer_stats(&g.f)->skipped_bytes, ==, 0);
    gap_fx_free(&g);
}

/* ---- hand-made streams -------------------------------------------------- */

static void put_hdr(GByteArray *b, uint8_t type, uint32_t len)
{
    uint8_t h[4] = { type, (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len };
    g_byte_array_append(b, h, 4);
}

static void put_smb2(GByteArray *b, uint32_t len)
{
    put_hdr(b, 0, len);
    for (uint32_t i = 0; i < len; i++) {
        uint8_t c = i < 4 ? (uint8_t)"\xfeSMB"[i] : (uint8_t)(i * 7);
        g_byte_array_append(b, &c, 1);
    }
}

static void run_all_chunkings(GByteArray *b, bool midstream, struct rec *out, struct transport_obs *obs)
{
    char *reference = NULL;
    for (size_t maxchunk = 0; maxchunk < 12; maxchunk++) {
        struct rec r;
        rec_init(&r, out->use_want, out->want_limit);
        struct transport_obs o = { 0 };
        struct framer f;
        framer_for(&f, &r, &o, midstream);
        framer_set_cap(&f, 4096);
        feed_chunked(&f, b->data, b->len, (guint32)maxchunk, maxchunk);
        if (!reference) {
            reference = g_strdup(r.log->str);
            g_string_assign(out->log, r.log->str);
            g_string_assign(out->types, r.types->str);
            memcpy(out->anomalies, r.anomalies, sizeof r.anomalies);
            *obs = o;
        } else if (strcmp(reference, r.log->str) != 0) {
            g_error("chunking %zu differs:\n%s\nvs\n%s", maxchunk, r.log->str, reference);
        }
        framer_free(&f);
        rec_free(&r);
    }
    g_free(reference);
}

static void test_controls_and_lengths(void)
{
    GByteArray *b = g_byte_array_new();
    put_hdr(b, 0x85, 0);                  /* keep-alive */
    put_hdr(b, 0x82, 0);                  /* positive */
    put_hdr(b, 0x82, 1);                  /* positive with a stray byte: bad length */
    g_byte_array_append(b, (const uint8_t *)"x", 1);
    put_hdr(b, 0x83, 1);                  /* negative, called name not present */
    g_byte_array_append(b, (const uint8_t *)"\x82", 1);
    put_hdr(b, 0x84, 6);                  /* retarget 10.0.0.1:139 */
    g_byte_array_append(b, (const uint8_t *)"\x0a\x00\x00\x01\x00\x8b", 6);
    put_smb2(b, 100);
    put_smb2(b, 0x20000);                 /* over 17 bits: direct TCP only */
    put_hdr(b, 0, 0);                     /* empty session message */
    put_smb2(b, 64);

    struct rec r;
    rec_init(&r, false, 0);
    struct transport_obs obs;
    run_all_chunkings(b, false, &r, &obs);
    g_assert_cmpstr(r.types->str, ==, "85:0,82:0,82:1,83:1,84:6,00:100,00:131072,00:0,00:64");
    g_assert_cmpuint(r.anomalies[FRAMER_AN_CONTROL_LENGTH], ==, 1);
    g_assert_cmpuint(r.anomalies[FRAMER_AN_LENGTH_OVER_17BIT], ==, 1);
    g_assert_cmpuint(r.anomalies[FRAMER_AN_NOT_SMB], ==, 0);
    g_assert_cmpuint(obs.keepalives, ==, 1);
    g_assert_cmpuint(obs.positive_responses, ==, 2);
    g_assert_cmpuint(obs.negative_responses, ==, 1);
    g_assert_cmpuint(obs.retarget_responses, ==, 1);
    g_assert_cmpuint(obs.session_messages, ==, 4);
    g_assert_cmpuint(obs.smb_messages, ==, 3);
    g_assert_cmpuint(obs.largest_message, ==, 0x20000);
    g_assert_true(obs.length_over_17bit);
    /* the big message is larger than the cap (4096): delivered as a prefix */
    g_assert_nonnull(strstr(r.log->str, "M:4096:131072:a:"));
    /* the retarget decode: status ok (0) */
    g_assert_nonnull(strstr(r.log->str, "C84:6:0:"));
    g_assert_nonnull(strstr(r.log->str, "C82:1:1:"));
    rec_free(&r);
    g_byte_array_free(b, TRUE);
}

static void test_unknown_type_resync(void)
{
    GByteArray *b = g_byte_array_new();
    put_smb2(b, 70);
    g_byte_array_append(b, (const uint8_t *)"\x42\x00\x00\x10garbage-garbage", 19);
    put_smb2(b, 80);
    struct rec r;
    rec_init(&r, true, 64);
    struct transport_obs obs;
    run_all_chunkings(b, false, &r, &obs);
    g_assert_cmpstr(r.types->str, ==, "00:70,00:80");
    g_assert_cmpuint(r.anomalies[FRAMER_AN_UNKNOWN_TYPE], ==, 1);
    g_assert_cmpuint(r.anomalies[FRAMER_AN_RESYNC], ==, 1);
    g_assert_nonnull(strstr(r.log->str, "A:2:19\n"));
    rec_free(&r);
    g_byte_array_free(b, TRUE);
}

/* Mid-stream start in front of a keep-alive and a negative response. */
static void test_midstream_controls(void)
{
    GByteArray *b = g_byte_array_new();
    g_byte_array_append(b, (const uint8_t *)"\x01\x02\x03\xfeSMB", 7);
    put_hdr(b, 0x85, 0);
    put_smb2(b, 40);
    put_hdr(b, 0x83, 1);
    g_byte_array_append(b, (const uint8_t *)"\x80", 1);
    struct rec r;
    rec_init(&r, false, 0);
    struct transport_obs obs;
    run_all_chunkings(b, true, &r, &obs);
    g_assert_cmpstr(r.types->str, ==, "85:0,00:40,83:1");
    g_assert_nonnull(strstr(r.log->str, "A:2:7\n"));
    rec_free(&r);
    g_byte_array_free(b, TRUE);
}

/* A mid-stream start whose first bytes are or are almost a direct-TCP SMB
 * header (length 31/32, protocol id 0xFB/0xFC/0xFE, "SMC"), with and
 * without bytes in front: fed whole, the resync's shortcut for a header
 * at offset 0 decides; fed in small chunks, the scan over carried bytes
 * does.  Every chunking must give the same log (run_all_chunkings). */
static void test_midstream_header_edges(void)
{
    static const struct {
        uint32_t len;
        uint8_t id0;
        char id3;
    } heads[] = { { 32, 0xfe, 'B' }, { 31, 0xfe, 'B' }, { 33, 0xfc, 'B' }, { 40, 0xfb, 'B' },
                  { 40, 0xff, 'C' }, { 64, 0xfd, 'B' } };
    for (size_t k = 0; k < G_N_ELEMENTS(heads); k++) {
        for (size_t lead = 0; lead < 3; lead += 2) {
            GByteArray *b = g_byte_array_new();
            g_byte_array_append(b, (const uint8_t *)"AB", (guint)lead);
            put_hdr(b, 0, heads[k].len);
            uint8_t id[4] = { heads[k].id0, 'S', 'M', (uint8_t)heads[k].id3 };
            g_byte_array_append(b, id, 4);
            for (uint32_t i = 4; i < heads[k].len; i++) {
                uint8_t c = (uint8_t)(i * 13 + 1);
                g_byte_array_append(b, &c, 1);
            }
            put_smb2(b, 40);
            struct rec r;
            rec_init(&r, true, 64);
            struct transport_obs obs;
            run_all_chunkings(b, true, &r, &obs);
            /* the trailing message is always found */
            g_assert_nonnull(strstr(r.types->str, "00:40"));
            rec_free(&r);
            g_byte_array_free(b, TRUE);
        }
    }
}

/* A stream seen from its middle that ends with a short control message:
 * scanning trusts one only with a header after it, so it waits; at the
 * stream's end (framer_end) the last one is taken, once, and nothing else
 * is: a control message with more bytes after it, a keep-alive pattern
 * that is not the last four bytes, a stream framed from its start. */
static void test_end_control(void)
{
    static const struct {
        const char *bytes;
        size_t n;
        bool midstream;
        const char *before, *after;
    } cases[] = {
        { "\x85\x00\x00\x00", 4, true, "", "85:0" },
        { "\x82\x00\x00\x00", 4, true, "", "82:0" },
        { "\x01\x02\x85\x00\x00\x00", 6, true, "", "85:0" },
        { "\x85\x00\x00\x00\x07", 5, true, "", "" },
        { "\x85\x00\x00\x01", 4, true, "", "" },
        { "\x85\x00\x00\x00", 4, false, "85:0", "85:0" },
    };
    for (size_t k = 0; k < G_N_ELEMENTS(cases); k++) {
        struct rec r;
        rec_init(&r, false, 0);
        struct transport_obs obs;
        memset(&obs, 0, sizeof obs);
        struct framer f;
        framer_for(&f, &r, &obs, cases[k].midstream);
        framer_feed(&f, (const uint8_t *)cases[k].bytes, cases[k].n);
        g_assert_cmpstr(r.types->str, ==, cases[k].before);
        framer_end(&f);
        framer_end(&f);
        g_assert_cmpstr(r.types->str, ==, cases[k].after);
        g_assert_cmpuint(obs.keepalives + obs.positive_responses, ==, cases[k].after[0] ? 1 : 0);
        framer_free(&f);
        rec_free(&r);
    }
}

/* Nothing plausible at all: every byte is counted as skipped. */
static void test_no_sync(void)
{
    uint8_t junk[300];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(0x30 + i % 40);
    struct rec r;
    rec_init(&r, false, 0);
    struct framer f;
    framer_for(&f, &r, NULL, true);
    feed_chunked(&f, junk, sizeof junk, 9, 5);
    g_assert_cmpuint(framer_stats(&f)->skipped_bytes, ==, sizeof junk);
    g_assert_cmpuint(r.types->len, ==, 0);
    framer_reset(&f, false);
    g_assert_cmpuint(framer_stats(&f)->skipped_bytes, ==, 0);
    framer_free(&f);
    rec_free(&r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    streams = load_streams();
    g_ptr_array_set_free_func(streams, free_stream);
    g_test_add_func("/framer/real-streams/chunkings", test_real_streams_chunkings);
    g_test_add_func("/framer/real-streams/obs", test_real_streams_obs);
    g_test_add_func("/framer/real-streams/midstream-start", test_midstream_start);
    g_test_add_func("/framer/real-streams/gap-unwanted", test_gap_unwanted);
    g_test_add_func("/framer/real-streams/gap-skip", test_gap_skip);
    g_test_add_func("/framer/real-streams/gap-passed", test_gap_passed);
    g_test_add_func("/framer/real-streams/gap-cut", test_gap_cut);
    g_test_add_func("/framer/real-streams/gap-resync", test_gap_resync);
    g_test_add_func("/framer/controls-and-lengths", test_controls_and_lengths);
    g_test_add_func("/framer/unknown-type-resync", test_unknown_type_resync);
    g_test_add_func("/framer/midstream-controls", test_midstream_controls);
    g_test_add_func("/framer/no-sync", test_no_sync);
    g_test_add_func("/framer/end-control", test_end_control);
    g_test_add_func("/framer/midstream-header-edges", test_midstream_header_edges);
    int rc = g_test_run();
    g_ptr_array_free(streams, TRUE);
    return rc;
}
