/* gss_memo tests: a memo's answer equals gss_decode()'s for every blob,
 * whether it hits, misses, collides on the hash, evicts or cannot keep the
 * blob.  Blobs are SPNEGO NegTokenInit (RFC 4178 4.2) built here: a mech
 * list and a mechToken whose bytes and length vary. */
#include <glib.h>
#include <string.h>

#include "gss.h"
#include "gss_memo.h"

static const uint8_t OID_SPNEGO[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02 };
static const uint8_t OID_KRB5[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02 };
static const uint8_t OID_NTLM[] = { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a };

/* tag + DER length + content, appended to b (content shorter than 64 KiB) */
static void put_tlv(GByteArray *b, uint8_t tag, const uint8_t *content, size_t len)
{
    uint8_t h[4] = { tag };
    guint n = 2;
    if (len < 0x80) {
        h[1] = (uint8_t)len;
    } else if (len < 0x100) {
        h[1] = 0x81, h[2] = (uint8_t)len, n = 3;
    } else {
        h[1] = 0x82, h[2] = (uint8_t)(len >> 8), h[3] = (uint8_t)len, n = 4;
    }
    g_byte_array_append(b, h, n);
    g_byte_array_append(b, content, (guint)len);
}

static GByteArray *wrapped(uint8_t tag, GByteArray *inner)
{
    GByteArray *b = g_byte_array_new();
    put_tlv(b, tag, inner->data, inner->len);
    g_byte_array_unref(inner);
    return b;
}

/* 0x60 { spnego, a0 { 30 { a0 { 30 { krb5?, ntlm } }, a2 { 04 token } } } };
 * the token: token_len bytes of value fill */
static GByteArray *negtoken_init(bool krb5, uint8_t fill, size_t token_len)
{
    GByteArray *mechs = g_byte_array_new();
    if (krb5)
        put_tlv(mechs, 0x06, OID_KRB5, sizeof OID_KRB5);
    put_tlv(mechs, 0x06, OID_NTLM, sizeof OID_NTLM);
    GByteArray *seq = wrapped(0xa0, wrapped(0x30, mechs));
    uint8_t *token = g_malloc(token_len ? token_len : 1);
    memset(token, fill, token_len);
    GByteArray *tok = g_byte_array_new();
    put_tlv(tok, 0x04, token, token_len);
    g_free(token);
    tok = wrapped(0xa2, tok);
    g_byte_array_append(seq, tok->data, tok->len);
    g_byte_array_unref(tok);
    GByteArray *body = g_byte_array_new();
    put_tlv(body, 0x06, OID_SPNEGO, sizeof OID_SPNEGO);
    GByteArray *init = wrapped(0xa0, wrapped(0x30, seq));
    g_byte_array_append(body, init->data, init->len);
    g_byte_array_unref(init);
    return wrapped(0x60, body);
}

/* The memo's answer for b (hash forced when force), checked against gss_decode. */
static void check(struct gss_memo *m, const GByteArray *b, bool force, uint64_t hash)
{
    static struct smb_auth want, scratch;
    gss_decode(b->data, b->len, &want);
    const struct smb_auth *got = force ? gss_decode_memo_hashed(m, hash, b->data, b->len, &scratch)
                                       : gss_decode_memo(m, b->data, b->len, &scratch);
    g_assert_nonnull(got);
    g_assert_true(memcmp(got, &want, sizeof want) == 0);
}

static void test_hit(void)
{
    struct gss_memo *m = g_new0(struct gss_memo, 1);
    GByteArray *a = negtoken_init(true, 0x11, 40), *b = negtoken_init(false, 0x11, 40);
    check(m, a, false, 0);
    check(m, b, false, 0);
    check(m, a, false, 0);
    check(m, b, false, 0);
    check(m, a, false, 0);
    g_assert_cmpuint(m->misses, ==, 2);
    g_assert_cmpuint(m->hits, ==, 3);
    /* the kept result says what the blob says: Kerberos offered first, or NTLM alone */
    struct smb_auth scratch;
    g_assert_cmpint(gss_decode_memo(m, a->data, a->len, &scratch)->mechs[0].id, ==, GSS_OID_KRB5);
    g_assert_cmpint(gss_decode_memo(m, b->data, b->len, &scratch)->mechs[0].id, ==, GSS_OID_NTLMSSP);
    /* a malformed blob (cut) is kept with its status and reason */
    GByteArray *cut = negtoken_init(true, 0x22, 40);
    g_byte_array_set_size(cut, cut->len - 5);
    check(m, cut, false, 0);
    check(m, cut, false, 0);
    g_assert_cmpint(gss_decode_memo(m, cut->data, cut->len, &scratch)->status, !=, GSS_OK);
    g_byte_array_unref(a);
    g_byte_array_unref(b);
    g_byte_array_unref(cut);
    g_free(m);
}

/* Same hash, same length, other bytes: never the other blob's answer. */
static void test_collision(void)
{
    struct gss_memo *m = g_new0(struct gss_memo, 1);
    GByteArray *a = negtoken_init(true, 0x33, 60), *b = negtoken_init(true, 0x34, 60);
    GByteArray *c = negtoken_init(false, 0x33, 71); /* other mechs, same length as a */
    g_assert_cmpuint(a->len, ==, b->len);
    g_assert_cmpuint(a->len, ==, c->len);
    for (int round = 0; round < 3; round++) {
        check(m, a, true, 42);
        check(m, b, true, 42);
        check(m, c, true, 42);
    }
    g_assert_cmpuint(m->misses, ==, 3); /* each kept in its own slot, then hit */
    g_assert_cmpuint(m->hits, ==, 6);
    g_byte_array_unref(a);
    g_byte_array_unref(b);
    g_byte_array_unref(c);
    g_free(m);
}

/* More blobs than slots: the least recently used goes; blobs empty or
 * longer than the cap are decoded and never kept. */
static void test_cap(void)
{
    struct gss_memo *m = g_new0(struct gss_memo, 1);
    GByteArray *v[GSS_MEMO_SLOTS + 1];
    for (int i = 0; i <= GSS_MEMO_SLOTS; i++)
        v[i] = negtoken_init(i & 1, (uint8_t)i, 30);
    for (int i = 0; i < GSS_MEMO_SLOTS; i++)
        check(m, v[i], false, 0);
    check(m, v[0], false, 0);            /* v[0] used last: v[1] is now the oldest */
    check(m, v[GSS_MEMO_SLOTS], false, 0); /* evicts v[1] */
    g_assert_cmpuint(m->misses, ==, GSS_MEMO_SLOTS + 1);
    check(m, v[0], false, 0);
    g_assert_cmpuint(m->hits, ==, 2);
    check(m, v[1], false, 0);
    g_assert_cmpuint(m->misses, ==, GSS_MEMO_SLOTS + 2);
    /* a cycle over more blobs than slots: every answer still right */
    for (int round = 0; round < 3; round++)
        for (int i = 0; i <= GSS_MEMO_SLOTS; i++)
            check(m, v[i], false, 0);
    for (int i = 0; i <= GSS_MEMO_SLOTS; i++)
        g_byte_array_unref(v[i]);

    GByteArray *big = negtoken_init(true, 0x55, GSS_MEMO_BLOB_MAX);
    g_assert_cmpuint(big->len, >, GSS_MEMO_BLOB_MAX);
    uint64_t misses = m->misses, hits = m->hits;
    check(m, big, false, 0);
    check(m, big, false, 0);
    GByteArray *empty = g_byte_array_new();
    check(m, empty, false, 0);
    g_assert_cmpuint(m->uncached, ==, 3);
    g_assert_cmpuint(m->misses, ==, misses);
    g_assert_cmpuint(m->hits, ==, hits);
    check(NULL, big, false, 0); /* no memo: plain gss_decode */
    g_byte_array_unref(big);
    g_byte_array_unref(empty);
    g_free(m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/gss-memo/hit", test_hit);
    g_test_add_func("/gss-memo/collision", test_collision);
    g_test_add_func("/gss-memo/cap", test_cap);
    return g_test_run();
}
