/* SMB2/3 decoder tests.
 *
 * Real PDUs: tests/unit/smb_vectors/smb2_*.vec, cut from the sample captures
 * by cut_vectors.py; expected values are tshark's fields for the same frame.
 * Malformed PDUs: built here from the layouts in MS-SMB2 2.2; expectations
 * follow the spec (sizes, offsets) and the decoder's documented contract
 * (never fatal, status set, bounded walks). */
#include <glib.h>
#include <stddef.h>
#include <string.h>

#include "smb.h"
#include "smb_test_util.h"
#include "smb2_ctx_ref.h"

static struct collector c;

static void decode(const uint8_t *m, size_t avail, uint32_t len)
{
    collector_reset(&c);
    smb_decode_message(m, avail, len, &collect_sink, &c);
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }

/* A 64-byte sync header (MS-SMB2 2.2.1.2). */
static void header(uint8_t *p, uint16_t cmd, uint32_t flags, uint32_t next, uint32_t status)
{
    memset(p, 0, 64);
    p[0] = 0xFE; p[1] = 'S'; p[2] = 'M'; p[3] = 'B';
    put16(p + 4, 64);
    put32(p + 8, status);
    put16(p + 12, cmd);
    put32(p + 16, flags);
    put32(p + 20, next);
}

static struct smb_vector vec;

static void load(const char *name)
{
    char *path = g_build_filename(SMB_VECTOR_DIR, name, NULL);
    g_assert_true(vector_load(path, &vec));
    g_free(path);
}

/* Every prefix of a NEGOTIATE response with contexts: no crash, and whenever
 * the body is reported while the context list is cut, status says so. */
static void test_negotiate_response_truncations(void)
{
    load("smb2_311_negotiate_resp.vec");
    const uint8_t *m = vec.payload + 4;
    size_t full = vec.payload_len - 4;
    for (size_t n = 0; n <= full; n++) {
        /* the transport announced the full length, fewer bytes arrived */
        decode(m, n, (uint32_t)full);
        if (n < 64) {
            /* a cut header is still reported once its flags (bytes 16..19)
             * are there, marked header_truncated */
            g_assert_cmpint(c.smb2_headers, ==, n >= 20 ? 1 : 0);
            if (n >= 20) {
                g_assert_true(c.h2[0].header_truncated);
                g_assert_true(c.h2[0].response);
                g_assert_cmphex(c.h2[0].command, ==, 0);
            }
            g_assert_cmpint(c.anomalies + c.unknowns, >=, 1);
            continue;
        }
        g_assert_false(c.h2[0].header_truncated);
        g_assert_cmpint(c.smb2_headers, ==, 1);
        g_assert_true(c.h2[0].pdu_truncated == (n < full));
        if (n < 64 + 64) {
            g_assert_cmpint(c.neg_resp, ==, 0);
            continue;
        }
        g_assert_cmpint(c.neg_resp, ==, 1);
        g_assert_true(c.ctx_seen);
        if (n < full)
            g_assert_cmpint(c.ctx.status, ==, SMB2_CTX_TRUNCATED);
        else
            g_assert_cmpint(c.ctx.status, ==, SMB2_CTX_OK);
        /* the transport itself said the message is this short: contexts
         * are missing (count mismatch), cut inside one, or the offset points
         * past the end */
        decode(m, n, (uint32_t)n);
        if (n < full && c.neg_resp)
            g_assert_true(c.ctx.status == SMB2_CTX_TRUNCATED || c.ctx.status == SMB2_CTX_BAD_OFFSET
                          || c.ctx.status == SMB2_CTX_COUNT_MISMATCH);
    }
}

static void test_negotiate_request_truncations(void)
{
    load("smb2_311_negotiate_req.vec");
    const uint8_t *m = vec.payload + 4;
    size_t full = vec.payload_len - 4;
    uint16_t count = (uint16_t)(m[64 + 2] | m[64 + 3] << 8);
    g_assert_cmpuint(count, >, 1);
    for (size_t n = 0; n <= full; n++) {
        decode(m, n, (uint32_t)full);
        /* the fixed part cut: reported as such, no body; the dialects cut:
         * those that arrived, once the anomaly said fewer came */
        if (n >= 64 && n < 64 + 36) {
            g_assert_cmpint(c.neg_req, ==, 0);
            g_assert_cmpstr(c.last_reason, ==, "NEGOTIATE request cut short");
        } else if (n >= 64 + 36) {
            g_assert_cmpint(c.neg_req, ==, 1);
            size_t have = (n - 64 - 36) / 2 < count ? (n - 64 - 36) / 2 : count;
            const char *d = collector_get(&c, "smb2.dialect");
            size_t got = d ? 1 : 0;
            for (; d && *d; d++)
                got += *d == '|';
            g_assert_cmpuint(got, ==, have);
            if (have < count)
                g_assert_cmpint(c.anomalies, >=, 1);
        }
        decode(m, n, (uint32_t)n);
        if (n >= 64 + 36 && n < full && c.neg_req && c.ctx_seen)
            g_assert_cmpint(c.ctx.status, !=, SMB2_CTX_OK);
    }
}

/* NegotiateContextCount is 3 on the wire; claiming 65535 must stop after the
 * real ones with COUNT_MISMATCH (MS-SMB2 2.2.4). */
static void test_context_count_65535(void)
{
    load("smb2_311_negotiate_resp.vec");
    uint8_t m[4096];
    size_t full = vec.payload_len - 4;
    memcpy(m, vec.payload + 4, full);
    put16(m + 64 + 6, 0xFFFF);
    decode(m, full, (uint32_t)full);
    g_assert_cmpint(c.neg_resp, ==, 1);
    g_assert_cmpint(c.ctx.status, ==, SMB2_CTX_COUNT_MISMATCH);
    g_assert_cmpint(c.ctx.walked, ==, 3);
    g_assert_cmpint(c.ctx.count, ==, 65535);
    g_assert_cmpint(c.last_anomaly, ==, SMB_ANOM_CONTEXTS);
}

/* 200 empty contexts of an unknown type, count 65535: the walk is bounded. */
static void test_context_walk_bound(void)
{
    static uint8_t m[64 + 64 + 8 * 200];
    header(m, 0, 1, 0, 0);
    uint8_t *b = m + 64;
    put16(b, 65);
    put16(b + 4, 0x0311);
    put16(b + 6, 0xFFFF);
    put32(b + 60, 128); /* NegotiateContextOffset */
    for (int i = 0; i < 200; i++)
        put16(m + 128 + 8 * i, 0x7777);
    decode(m, sizeof m, sizeof m);
    g_assert_cmpint(c.neg_resp, ==, 1);
    g_assert_cmpint(c.ctx.status, ==, SMB2_CTX_COUNT_MISMATCH);
    g_assert_cmpint(c.ctx.walked, ==, SMB2_CTX_MAX_WALK);
    g_assert_cmpint(c.ctx.stored, ==, SMB2_CTX_MAX_ITEMS);
    g_assert_cmpint(c.ctx.items[0].type, ==, 0x7777);
}

static void test_context_bad_offsets(void)
{
    load("smb2_311_negotiate_resp.vec");
    uint8_t m[4096];
    size_t full = vec.payload_len - 4;
    static const uint32_t offsets[] = { 0, 8, 64, 0x71, 0xFFFFFFF8u, 0x10000 };
    static const enum smb2_ctx_status want[] = {
        SMB2_CTX_BAD_OFFSET, SMB2_CTX_BAD_OFFSET, SMB2_CTX_BAD_OFFSET,
        SMB2_CTX_BAD_OFFSET, SMB2_CTX_BAD_OFFSET, SMB2_CTX_BAD_OFFSET,
    };
    for (size_t i = 0; i < G_N_ELEMENTS(offsets); i++) {
        memcpy(m, vec.payload + 4, full);
        put32(m + 64 + 60, offsets[i]);
        decode(m, full, (uint32_t)full);
        g_assert_cmpint(c.neg_resp, ==, 1);
        g_assert_cmpint(c.ctx.status, ==, want[i]);
        g_assert_cmpint(c.ctx.walked, ==, 0);
    }
    /* a context whose DataLength runs past the message */
    memcpy(m, vec.payload + 4, full);
    uint32_t first = 0xd0; /* NegotiateContextOffset of this response (tshark) */
    put16(m + first + 2, 0xFFF0);
    decode(m, full, (uint32_t)full);
    g_assert_cmpint(c.ctx.status, ==, SMB2_CTX_TRUNCATED);
}

/* A 3.1.1 response with count 0 is reported as EMPTY, not fatal. */
static void test_context_empty(void)
{
    uint8_t m[128] = { 0 };
    header(m, 0, 1, 0, 0);
    put16(m + 64, 65);
    put16(m + 64 + 4, 0x0311);
    decode(m, sizeof m, sizeof m);
    g_assert_cmpint(c.neg_resp, ==, 1);
    g_assert_cmpint(c.ctx.status, ==, SMB2_CTX_EMPTY);
    g_assert_cmpint(c.last_anomaly, ==, SMB_ANOM_CONTEXTS);
}

/* Context data that does not match its type (MS-SMB2 2.2.3.1.x sizes). */
static void test_context_malformed_data(void)
{
    uint8_t m[64 + 64 + 16] = { 0 };
    header(m, 0, 1, 0, 0);
    put16(m + 64, 65);
    put16(m + 64 + 4, 0x0311);
    put16(m + 64 + 6, 1);
    put32(m + 64 + 60, 128);
    put16(m + 128, 0x0002); /* ENCRYPTION */
    put16(m + 130, 4);
    put16(m + 136, 5);      /* CipherCount 5, room for 1 */
    put16(m + 138, 2);
    decode(m, sizeof m, sizeof m);
    g_assert_cmpint(c.ctx.status, ==, SMB2_CTX_MALFORMED);
    g_assert_true(c.ctx.items[0].malformed);
    g_assert_cmpint(c.ctx.items[0].ids_stored, ==, 1);
}

/* smb2_ctx_decode() clears the list's header only (smb2_ctx.h): decoded
 * into a block full of stale bytes, what its readers read (header,
 * items[0, stored), the netname flags and text) is what a cleared block
 * gives, for the real request and response lists, every cut of them, a
 * list without a netname and an empty one. */
static void same_list(const struct smb2_neg_ctx_list *a, const struct smb2_neg_ctx_list *b)
{
    g_assert_true(memcmp(a, b, offsetof(struct smb2_neg_ctx_list, items)) == 0);
    g_assert_cmpint(a->stored, <=, SMB2_CTX_MAX_ITEMS);
    g_assert_true(memcmp(a->items, b->items, a->stored * sizeof a->items[0]) == 0);
    g_assert_cmpint(a->has_netname, ==, b->has_netname);
    g_assert_cmpint(a->netname_truncated, ==, b->netname_truncated);
    g_assert_cmpstr(a->netname, ==, b->netname);
}

static void stale_decode(const uint8_t *m, size_t avail, size_t declared, uint32_t off, uint16_t count,
                         size_t min_off)
{
    static struct smb2_neg_ctx_list clean, stale;
    memset(&clean, 0, sizeof clean);
    memset(&stale, 0xA5, sizeof stale);
    struct wire w = wire_make(m, avail);
    smb2_ctx_decode(&w, declared, off, count, min_off, &clean);
    smb2_ctx_decode(&w, declared, off, count, min_off, &stale);
    same_list(&clean, &stale);
}

static void test_context_stale_block(void)
{
    static const struct {
        const char *vec;
        size_t off_at, count_at, min_off; /* where offset (u32) and count (u16) are, from the header */
        bool netname;
    } v[] = {
        { "smb2_311_negotiate_req.vec", 64 + 28, 64 + 32, 64 + 36, true },
        { "smb2_311_negotiate_resp.vec", 64 + 60, 64 + 6, 64 + 64, false },
    };
    for (size_t k = 0; k < G_N_ELEMENTS(v); k++) {
        load(v[k].vec);
        const uint8_t *m = vec.payload + 4;
        size_t full = vec.payload_len - 4;
        const uint8_t *o = m + v[k].off_at;
        uint32_t off = (uint32_t)o[0] | (uint32_t)o[1] << 8 | (uint32_t)o[2] << 16 | (uint32_t)o[3] << 24;
        uint16_t count = (uint16_t)(m[v[k].count_at] | m[v[k].count_at + 1] << 8);
        size_t min_off = v[k].min_off;
        g_assert_cmpuint(count, >, 0);
        static struct smb2_neg_ctx_list l;
        memset(&l, 0xA5, sizeof l);
        struct wire w = wire_make(m, full);
        smb2_ctx_decode(&w, full, off, count, min_off, &l);
        g_assert_cmpint(l.status, ==, SMB2_CTX_OK);
        g_assert_cmpint(l.has_netname, ==, v[k].netname); /* both ways covered */
        for (size_t n = 0; n <= full; n++)
            stale_decode(m, n, full, off, count, min_off);
        stale_decode(m, full, full, off, 0, min_off); /* empty */
    }
}

/* The pointer walk of smb2_ctx_decode() decodes what the cursor walk
 * before it decoded (smb2_ctx_ref.c), everything its readers read: the
 * real request and response lists at every cut (declared whole and as
 * cut), with other counts, and 20,000 mutations of their bytes (types,
 * lengths, id counts, salt lengths, padding) at random cuts. */
static void walk_equal(const uint8_t *m, size_t avail, size_t declared, uint32_t off, uint16_t count, size_t min_off)
{
    static struct smb2_neg_ctx_list want, got;
    memset(&want, 0, sizeof want);
    memset(&got, 0, sizeof got);
    struct wire w = wire_make(m, avail);
    smb2_ctx_decode_ref(&w, declared, off, count, min_off, &want);
    smb2_ctx_decode(&w, declared, off, count, min_off, &got);
    /* the reasons are the same texts, not always the same pointers (two
     * files' literals are merged by the linker, not under ASan) */
    g_assert_true((want.reason == NULL) == (got.reason == NULL));
    if (want.reason)
        g_assert_cmpstr(want.reason, ==, got.reason);
    want.reason = got.reason = NULL;
    same_list(&want, &got);
}

static void test_context_walk_equal(void)
{
    static const struct {
        const char *vec;
        size_t off_at, count_at, min_off;
    } v[] = {
        { "smb2_311_negotiate_req.vec", 64 + 28, 64 + 32, 64 + 36 },
        { "smb2_311_negotiate_resp.vec", 64 + 60, 64 + 6, 64 + 64 },
    };
    GRand *r = g_rand_new_with_seed(1311);
    for (size_t k = 0; k < G_N_ELEMENTS(v); k++) {
        load(v[k].vec);
        size_t full = vec.payload_len - 4;
        uint8_t *m = g_memdup2(vec.payload + 4, full);
        const uint8_t *o = m + v[k].off_at;
        uint32_t off = (uint32_t)o[0] | (uint32_t)o[1] << 8 | (uint32_t)o[2] << 16 | (uint32_t)o[3] << 24;
        uint16_t count = (uint16_t)(m[v[k].count_at] | m[v[k].count_at + 1] << 8);
        size_t min_off = v[k].min_off;
        g_assert_cmpuint(off, <, full);
        for (size_t n = 0; n <= full; n++) {
            walk_equal(m, n, full, off, count, min_off);
            walk_equal(m, n, n, off, count, min_off);
            walk_equal(m, n, full, off, (uint16_t)(count + 3), min_off);
            walk_equal(m, n, full, off, 65535, min_off);
        }
        uint8_t *x = g_malloc(full);
        for (int i = 0; i < 10000; i++) {
            memcpy(x, m, full);
            int flips = g_rand_int_range(r, 1, 6);
            for (int f = 0; f < flips; f++) {
                size_t at = off + (size_t)g_rand_int_range(r, 0, (gint32)(full - off));
                /* small values where lengths and counts are: short data, id counts past the data */
                x[at] = g_rand_boolean(r) ? (uint8_t)g_rand_int_range(r, 0, 12) : (uint8_t)g_rand_int(r);
            }
            size_t n = (size_t)g_rand_int_range(r, (gint32)off, (gint32)full + 1);
            walk_equal(x, n, g_rand_boolean(r) ? full : n, off, count, min_off);
            walk_equal(x, full, full, off, (uint16_t)g_rand_int_range(r, 1, 20), min_off);
        }
        g_free(x);
        g_free(m);
    }
    g_rand_free(r);
}

static size_t build_chain(uint8_t *m, int n, uint32_t step)
{
    for (int i = 0; i < n; i++) {
        header(m + (size_t)i * step, 0x0D /* ECHO */, i ? 4 : 0, i + 1 < n ? step : 0, 0);
        put16(m + (size_t)i * step + 64, 4);
    }
    return (size_t)n * step;
}

static void test_compound_chain(void)
{
    static uint8_t m[72 * 100];
    size_t len = build_chain(m, 3, 72);
    decode(m, len, (uint32_t)len);
    g_assert_cmpint(c.smb2_headers, ==, 3);
    g_assert_cmpint(c.anomalies, ==, 0);
    g_assert_cmpuint(c.h2[2].offset, ==, 144);
    g_assert_true(c.h2[1].related);
    g_assert_cmpstr(collector_get(&c, "smb2.cmd"), ==, "13|13|13");

    /* deep chains stop at the bound with an anomaly */
    len = build_chain(m, 100, 72);
    decode(m, len, (uint32_t)len);
    g_assert_cmpint(c.smb2_headers, ==, SMB_MAX_COMPOUND);
    g_assert_cmpint(c.last_anomaly, ==, SMB_ANOM_COMPOUND);

    /* NextCommand "backwards" (-64 as signed), below a header, past the end */
    static const uint32_t bad[] = { 0xFFFFFFC0u, 0, 32, 1, 72 * 3 };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        len = build_chain(m, 3, 72);
        put32(m + 20, bad[i]);
        decode(m, len, (uint32_t)len);
        g_assert_cmpint(c.smb2_headers, ==, 1);
        if (bad[i] != 0)
            g_assert_cmpint(c.last_anomaly, ==, SMB_ANOM_COMPOUND);
    }
    /* pointing into the middle of the next PDU: not an SMB2 header */
    len = build_chain(m, 3, 72);
    put32(m + 20, 80);
    decode(m, len, (uint32_t)len);
    g_assert_cmpint(c.smb2_headers, ==, 1);
    g_assert_cmpint(c.last_anomaly, ==, SMB_ANOM_COMPOUND);

    /* unaligned but valid: reported, still walked */
    len = build_chain(m, 2, 68);
    decode(m, len, (uint32_t)len);
    g_assert_cmpint(c.smb2_headers, ==, 2);
    g_assert_cmpint(c.last_anomaly, ==, SMB_ANOM_COMPOUND);

    /* chain cut by a capture gap: the second PDU is reported as truncated */
    len = build_chain(m, 2, 72);
    decode(m, 72 + 64, (uint32_t)len + 8);
    g_assert_cmpint(c.smb2_headers, ==, 2);
    g_assert_true(c.h2[1].pdu_truncated);
}

static void test_tree_connect_paths(void)
{
    uint8_t m[64 + 8 + 12] = { 0 };
    header(m, 3, 0, 0, 0);
    put16(m + 64, 9);
    put16(m + 68, 72);
    put16(m + 70, 12);
    /* "\\h\s" then U+D800 alone: unpaired surrogate -> U+FFFD */
    static const uint8_t p[12] = { '\\', 0, '\\', 0, 'h', 0, '\\', 0, 's', 0, 0x00, 0xD8 };
    memcpy(m + 72, p, 12);
    decode(m, sizeof m, sizeof m);
    g_assert_cmpint(c.tree_req, ==, 1);
    g_assert_cmpstr(c.tree2.path, ==, "\\\\h\\s\xEF\xBF\xBD");
    g_assert_false(c.tree2.path_truncated);

    /* path beyond the PDU */
    put16(m + 70, 200);
    decode(m, sizeof m, sizeof m);
    g_assert_cmpint(c.last_anomaly, ==, SMB_ANOM_BAD_OFFSET);
    g_assert_cmpstr(c.tree2.path, ==, "");

    /* path present in the declared PDU but cut by the capture */
    put16(m + 70, 12);
    decode(m, sizeof m - 4, sizeof m);
    g_assert_true(c.tree2.path_truncated);
    g_assert_cmpstr(c.tree2.path, ==, "\\\\h\\");
}

static void test_error_response(void)
{
    uint8_t m[64 + 9];
    header(m, 0, 1, 0, 0xC0000022u);
    memset(m + 64, 0, 9);
    m[64] = 9;
    decode(m, sizeof m, sizeof m);
    g_assert_cmpint(c.smb2_headers, ==, 1);
    g_assert_true(c.h2[0].is_error_response);
    g_assert_cmpint(c.neg_resp, ==, 0);
    g_assert_cmpint(c.anomalies, ==, 0);
}

static void test_session_buffer_offsets(void)
{
    load("smb2_311_session_req2.vec");
    uint8_t m[4096];
    size_t full = vec.payload_len - 4;
    memcpy(m, vec.payload + 4, full);
    put16(m + 64 + 12, 0xFFF0); /* SecurityBufferOffset */
    decode(m, full, (uint32_t)full);
    g_assert_cmpint(c.sess_req, ==, 1);
    g_assert_cmpint(c.auth.framing, ==, GSS_FRAMING_EMPTY);
    g_assert_cmpint(c.last_anomaly, ==, SMB_ANOM_BAD_OFFSET);
    for (size_t n = 0; n <= full; n++)
        decode(vec.payload + 4, n, (uint32_t)full);
}

static void test_transforms(void)
{
    load("smb2_encrypt_transform.vec");
    const uint8_t *m = vec.payload + 4;
    size_t full = vec.payload_len - 4;
    for (size_t n = 0; n < 52; n++) {
        decode(m, n, (uint32_t)full);
        g_assert_cmpint(c.encrypted, ==, 0);
        g_assert_cmpint(c.anomalies + c.unknowns, ==, 1);
    }
    /* COMPRESSION_TRANSFORM_HEADER (MS-SMB2 2.2.42.1), LZ4, chained */
    uint8_t z[16] = { 0xFC, 'S', 'M', 'B' };
    put32(z + 4, 4096);
    put16(z + 8, 5);
    put16(z + 10, 1);
    put32(z + 12, 100);
    decode(z, sizeof z, sizeof z);
    g_assert_cmpint(c.compressed, ==, 1);
    g_assert_cmpint(c.compress.algorithm, ==, 5);
    g_assert_true(c.compress.chained);
    g_assert_cmpuint(c.compress.original_size, ==, 4096);
    decode(z, 15, sizeof z);
    g_assert_cmpint(c.compressed, ==, 0);
    g_assert_cmpint(c.last_anomaly, ==, SMB_ANOM_TRUNCATED);
}

static void test_unknown(void)
{
    static const uint8_t junk[] = { 0xFB, 'S', 'M', 'B', 0, 0 };
    decode(junk, sizeof junk, sizeof junk);
    g_assert_cmpint(c.unknowns, ==, 1);
    decode(junk, 2, 100);
    g_assert_cmpint(c.unknowns, ==, 1);
    decode(NULL, 0, 0);
    g_assert_cmpint(c.unknowns, ==, 1);
    /* avail > msg_len: bytes past the message are not read */
    uint8_t m[64 + 64] = { 0 };
    header(m, 0x0D, 0, 0, 0);
    memset(m + 60, 0xAA, 4); /* past msg_len: must not be read */
    decode(m, sizeof m, 60);
    g_assert_cmpint(c.smb2_headers, ==, 1);
    g_assert_true(c.h2[0].header_truncated);
    g_assert_false(c.h2[0].signature_nonzero);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    vector_register("/smb2/vector", "smb2_");
    vector_register("/smb2/vector", "multiproto_smb2");
    g_test_add_func("/smb2/negotiate-response-truncations", test_negotiate_response_truncations);
    g_test_add_func("/smb2/negotiate-request-truncations", test_negotiate_request_truncations);
    g_test_add_func("/smb2/context-count-65535", test_context_count_65535);
    g_test_add_func("/smb2/context-walk-bound", test_context_walk_bound);
    g_test_add_func("/smb2/context-bad-offsets", test_context_bad_offsets);
    g_test_add_func("/smb2/context-empty", test_context_empty);
    g_test_add_func("/smb2/context-malformed-data", test_context_malformed_data);
    g_test_add_func("/smb2/context-stale-block", test_context_stale_block);
    g_test_add_func("/smb2/context-walk-equal", test_context_walk_equal);
    g_test_add_func("/smb2/compound-chain", test_compound_chain);
    g_test_add_func("/smb2/tree-connect-paths", test_tree_connect_paths);
    g_test_add_func("/smb2/error-response", test_error_response);
    g_test_add_func("/smb2/session-buffer-offsets", test_session_buffer_offsets);
    g_test_add_func("/smb2/transforms", test_transforms);
    g_test_add_func("/smb2/unknown", test_unknown);
    return g_test_run();
}
