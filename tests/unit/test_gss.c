/* SPNEGO / GSS-API / NTLMSSP / Kerberos detection tests.
 *
 * Hand-built tokens follow RFC 4178 4.2 (NegotiationToken), RFC 2743 3.1
 * (InitialContextToken), RFC 4121 4.1 (TOK_ID), MS-NLMP 2.2.1 and X.690
 * (DER); the OID byte strings are the registered encodings.  Real tokens are
 * covered by the SMB vectors (tshark's spnego.MechType, ntlmssp.* fields) and
 * by a differential run over ../shared/corpus captures when present. */
#include <glib.h>
#include <string.h>

#include "gss.h"
#include "smb.h"
#include "smb_tables.h"
#include "smb_test_util.h"
#include "utf16.h"

static const uint8_t OID_KRB5[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02 };
static const uint8_t OID_MSKRB5[] = { 0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02 };
static const uint8_t OID_NTLM[] = { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a };
static const uint8_t OID_NEGOEX[] = { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x1e };
static const uint8_t OID_SPNEGO[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02 };

/* A growable DER builder for the tests (GByteArray). */
static GByteArray *tlv(uint8_t tag, const uint8_t *content, size_t len)
{
    GByteArray *b = g_byte_array_new();
    g_byte_array_append(b, &tag, 1);
    uint8_t l[5];
    size_t n;
    if (len < 0x80) {
        l[0] = (uint8_t)len;
        n = 1;
    } else if (len < 0x100) {
        l[0] = 0x81;
        l[1] = (uint8_t)len;
        n = 2;
    } else {
        l[0] = 0x82;
        l[1] = (uint8_t)(len >> 8);
        l[2] = (uint8_t)len;
        n = 3;
    }
    g_byte_array_append(b, l, (guint)n);
    if (len)
        g_byte_array_append(b, content, (guint)len);
    return b;
}

/* tag wrapping an existing array, consuming it */
static GByteArray *wrap(uint8_t tag, GByteArray *inner)
{
    GByteArray *b = tlv(tag, inner->data, inner->len);
    g_byte_array_unref(inner);
    return b;
}

static GByteArray *cat2(GByteArray *a, GByteArray *b)
{
    g_byte_array_append(a, b->data, b->len);
    g_byte_array_unref(b);
    return a;
}

static GByteArray *mech_list(const uint8_t *const *oids, const size_t *lens, int n)
{
    GByteArray *seq = g_byte_array_new();
    for (int i = 0; i < n; i++)
        seq = cat2(seq, tlv(0x06, oids[i], lens[i]));
    return wrap(0xa0, wrap(0x30, seq));
}

/* 0x60 { OID spnego, a0 { 30 { a0 mechTypes, a2 { 04 token } } } } */
static GByteArray *spnego_init(const uint8_t *const *oids, const size_t *lens, int n,
                               const uint8_t *token, size_t token_len)
{
    GByteArray *seq = mech_list(oids, lens, n);
    if (token)
        seq = cat2(seq, wrap(0xa2, tlv(0x04, token, token_len)));
    GByteArray *inner = wrap(0xa0, wrap(0x30, seq));
    GByteArray *body = tlv(0x06, OID_SPNEGO, sizeof OID_SPNEGO);
    body = cat2(body, inner);
    return wrap(0x60, body);
}

static GByteArray *krb5_ap_req_token(void)
{
    /* 0x60 { OID krb5, TOK_ID 01 00, AP-REQ [APPLICATION 14] ... } */
    GByteArray *body = tlv(0x06, OID_KRB5, sizeof OID_KRB5);
    static const uint8_t tok_id[2] = { 0x01, 0x00 };
    g_byte_array_append(body, tok_id, 2);
    /* AP-REQ { pvno [0] 5, ticket [3] Ticket { tkt-vno [0] 5, realm [1] "EX.ORG",
     *          sname [2] { name-type [0] 2, name-string [1] { "cifs", "srv.ex.org" } } } } */
    static const uint8_t five[] = { 0x02, 0x01, 0x05 }, two[] = { 0x02, 0x01, 0x02 };
    GByteArray *names = cat2(tlv(0x1b, (const uint8_t *)"cifs", 4), tlv(0x1b, (const uint8_t *)"srv.ex.org", 10));
    GByteArray *sname = cat2(tlv(0xa0, two, 3), wrap(0xa1, wrap(0x30, names)));
    GByteArray *ticket = tlv(0xa0, five, 3);
    ticket = cat2(ticket, wrap(0xa1, tlv(0x1b, (const uint8_t *)"EX.ORG", 6)));
    ticket = cat2(ticket, wrap(0xa2, wrap(0x30, sname)));
    GByteArray *ap = cat2(tlv(0xa0, five, 3), wrap(0xa3, wrap(0x61, wrap(0x30, ticket))));
    body = cat2(body, wrap(0x6e, wrap(0x30, ap)));
    return wrap(0x60, body);
}

static struct smb_auth a;

static void every_prefix(const GByteArray *b)
{
    for (guint n = 0; n <= b->len; n++)
        gss_decode(b->data, n, &a);
}

static void test_spnego_kerberos(void)
{
    const uint8_t *oids[] = { OID_MSKRB5, OID_KRB5, OID_NEGOEX, OID_NTLM };
    const size_t lens[] = { sizeof OID_MSKRB5, sizeof OID_KRB5, sizeof OID_NEGOEX, sizeof OID_NTLM };
    GByteArray *tok = krb5_ap_req_token();
    GByteArray *b = spnego_init(oids, lens, 4, tok->data, tok->len);
    gss_decode(b->data, b->len, &a);
    g_assert_cmpint(a.status, ==, GSS_OK);
    g_assert_cmpint(a.framing, ==, GSS_FRAMING_SPNEGO_INIT);
    g_assert_cmpint(a.mech, ==, AUTH_MECH_KERBEROS);
    g_assert_cmpint(a.mech_count, ==, 4);
    g_assert_cmpint(a.mechs[0].id, ==, GSS_OID_MS_KRB5);
    g_assert_cmpint(a.mechs[1].id, ==, GSS_OID_KRB5);
    g_assert_cmpint(a.mechs[2].id, ==, GSS_OID_NEGOEX);
    g_assert_cmpint(a.mechs[3].id, ==, GSS_OID_NTLMSSP);
    g_assert_true(a.has_mech_token);
    g_assert_true(a.krb5_ap_req);
    g_assert_cmpstr(a.krb5_realm, ==, "EX.ORG");
    g_assert_cmpstr(a.krb5_sname, ==, "cifs/srv.ex.org");
    char dotted[64];
    static const char *const want[] = { "1.2.840.48018.1.2.2", "1.2.840.113554.1.2.2",
                                        "1.3.6.1.4.1.311.2.2.30", "1.3.6.1.4.1.311.2.2.10" };
    for (int i = 0; i < 4; i++) {
        g_assert_true(gss_oid_dotted(a.mechs[i].der, a.mechs[i].len, dotted, sizeof dotted));
        g_assert_cmpstr(dotted, ==, want[i]);
    }
    g_assert_cmpstr(auth_mech_name(a.mech), ==, "kerberos");
    every_prefix(b);
    g_byte_array_unref(b);

    /* the same Kerberos token without SPNEGO */
    gss_decode(tok->data, tok->len, &a);
    g_assert_cmpint(a.framing, ==, GSS_FRAMING_KRB5);
    g_assert_cmpint(a.mech, ==, AUTH_MECH_KERBEROS);
    g_assert_true(a.krb5_ap_req);
    g_byte_array_unref(tok);
}

/* NegTokenResp carrying a Kerberos KRB-ERROR (RFC 4120 5.9.1, TOK_ID 03 00)
 * with error-code 37 (KRB_AP_ERR_SKEW), realm and sname. */
static void test_krb5_error(void)
{
    static const uint8_t five[] = { 0x02, 0x01, 0x05 }, thirty[] = { 0x02, 0x01, 0x1e },
                         skew[] = { 0x02, 0x01, 0x25 }, one[] = { 0x02, 0x01, 0x01 };
    GByteArray *sname = cat2(tlv(0xa0, one, 3), wrap(0xa1, wrap(0x30, tlv(0x1b, (const uint8_t *)"dc$", 3))));
    GByteArray *err = cat2(tlv(0xa0, five, 3), tlv(0xa1, thirty, 3));
    err = cat2(err, tlv(0xa6, skew, 3));
    err = cat2(err, wrap(0xa9, tlv(0x1b, (const uint8_t *)"EX.ORG", 6)));
    err = cat2(err, wrap(0xaa, wrap(0x30, sname)));
    GByteArray *tok = tlv(0x06, OID_KRB5, sizeof OID_KRB5);
    static const uint8_t tok_id[2] = { 0x03, 0x00 };
    g_byte_array_append(tok, tok_id, 2);
    tok = wrap(0x60, cat2(tok, wrap(0x7e, wrap(0x30, err))));
    static const uint8_t st[] = { 0x01 };
    GByteArray *seq = wrap(0xa0, tlv(0x0a, st, 1));
    seq = cat2(seq, wrap(0xa1, tlv(0x06, OID_KRB5, sizeof OID_KRB5)));
    seq = cat2(seq, wrap(0xa2, tlv(0x04, tok->data, tok->len)));
    GByteArray *b = wrap(0xa1, wrap(0x30, seq));
    gss_decode(b->data, b->len, &a);
    g_assert_cmpint(a.status, ==, GSS_OK);
    g_assert_cmpint(a.mech, ==, AUTH_MECH_KERBEROS);
    g_assert_true(a.krb5_error);
    g_assert_false(a.krb5_ap_req);
    g_assert_cmpint(a.krb5_error_code, ==, 37);
    g_assert_cmpstr(a.krb5_realm, ==, "EX.ORG");
    g_assert_cmpstr(a.krb5_sname, ==, "dc$");
    every_prefix(b);
    g_byte_array_unref(b);
    g_byte_array_unref(tok);
}

static void test_spnego_negoex(void)
{
    const uint8_t *oids[] = { OID_NEGOEX, OID_NTLM };
    const size_t lens[] = { sizeof OID_NEGOEX, sizeof OID_NTLM };
    static const uint8_t negoex[16] = { 'N', 'E', 'G', 'O', 'E', 'X', 'T', 'S', 0, 0, 0, 0, 0, 0, 0, 0 };
    GByteArray *b = spnego_init(oids, lens, 2, negoex, sizeof negoex);
    gss_decode(b->data, b->len, &a);
    g_assert_cmpint(a.mech, ==, AUTH_MECH_NEGOEX);
    g_byte_array_unref(b);
    /* no token: the initiator's first mech counts */
    b = spnego_init(oids, lens, 2, NULL, 0);
    gss_decode(b->data, b->len, &a);
    g_assert_cmpint(a.mech, ==, AUTH_MECH_NEGOEX);
    g_assert_false(a.has_mech_token);
    g_byte_array_unref(b);
}

/* NTLMSSP AUTHENTICATE (MS-NLMP 2.2.1.3): fixed 64 bytes (no version) then payload. */
static GByteArray *ntlm_auth(uint32_t flags, const uint8_t *lm, uint16_t lm_len, uint16_t nt_len,
                             const uint8_t *user, uint16_t user_len, const uint8_t *dom, uint16_t dom_len)
{
    uint8_t m[256] = { 'N', 'T', 'L', 'M', 'S', 'S', 'P', 0, 3, 0, 0, 0 };
    uint16_t off = 64;
    struct { const uint8_t *p; uint16_t len; int at; } f[] = {
        { lm, lm_len, 12 }, { NULL, nt_len, 20 }, { dom, dom_len, 28 }, { user, user_len, 36 },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(f); i++) {
        m[f[i].at] = (uint8_t)f[i].len;
        m[f[i].at + 2] = (uint8_t)f[i].len;
        m[f[i].at + 4] = (uint8_t)off;
        if (f[i].len && f[i].p)
            memcpy(m + off, f[i].p, f[i].len);
        off = (uint16_t)(off + f[i].len);
    }
    m[60] = (uint8_t)flags;
    m[61] = (uint8_t)(flags >> 8);
    m[62] = (uint8_t)(flags >> 16);
    m[63] = (uint8_t)(flags >> 24);
    GByteArray *b = g_byte_array_new();
    g_byte_array_append(b, m, off);
    return b;
}

static void test_ntlm_anonymous(void)
{
    static const uint8_t z = 0;
    /* MS-NLMP 3.2.5.1.2: empty user, empty NT response, LM response Z(1) */
    GByteArray *b = ntlm_auth(0x00000801, &z, 1, 0, NULL, 0, NULL, 0);
    gss_decode(b->data, b->len, &a);
    g_assert_cmpint(a.framing, ==, GSS_FRAMING_NTLMSSP);
    g_assert_cmpint(a.mech, ==, AUTH_MECH_NTLM);
    g_assert_cmpint(a.ntlm.status, ==, NTLMSSP_OK);
    g_assert_cmpint(a.ntlm.msg_type, ==, 3);
    g_assert_true(a.ntlm.anonymous);
    g_assert_false(a.ntlm.user.present);
    every_prefix(b);
    g_byte_array_unref(b);

    /* a non-zero LM byte is not anonymous */
    static const uint8_t one = 1;
    b = ntlm_auth(0x00000001, &one, 1, 0, NULL, 0, NULL, 0);
    gss_decode(b->data, b->len, &a);
    g_assert_false(a.ntlm.anonymous);
    g_byte_array_unref(b);

    /* OEM strings when NEGOTIATE_UNICODE is clear */
    static const uint8_t bob[] = { 'b', 'o', 'b' };
    static const uint8_t dom[] = { 'D', 0xE9 };
    b = ntlm_auth(0x00000002, NULL, 0, 24, bob, 3, dom, 2);
    g_byte_array_set_size(b, b->len + 24);
    gss_decode(b->data, b->len, &a);
    g_assert_cmpstr(a.ntlm.user.text, ==, "bob");
    g_assert_cmpstr(a.ntlm.domain.text, ==, "D\xEF\xBF\xBD");
    g_assert_false(a.ntlm.anonymous);
    /* a name pointing outside the message */
    b->data[36 + 4] = 0xF0;
    gss_decode(b->data, b->len, &a);
    g_assert_cmpint(a.ntlm.status, ==, NTLMSSP_TRUNCATED);
    g_byte_array_unref(b);
}

static void test_spnego_resp(void)
{
    /* a1 { 30 { a0 { 0a 01 01 }, a1 { 06 ntlm }, a2 { 04 NTLMSSP type 2 } } } */
    uint8_t chal[48] = { 'N', 'T', 'L', 'M', 'S', 'S', 'P', 0, 2, 0, 0, 0 };
    chal[20] = 0x01; /* UNICODE */
    static const uint8_t st[] = { 0x01 };
    GByteArray *seq = wrap(0xa0, tlv(0x0a, st, 1));
    seq = cat2(seq, wrap(0xa1, tlv(0x06, OID_NTLM, sizeof OID_NTLM)));
    seq = cat2(seq, wrap(0xa2, tlv(0x04, chal, sizeof chal)));
    GByteArray *b = wrap(0xa1, wrap(0x30, seq));
    gss_decode(b->data, b->len, &a);
    g_assert_cmpint(a.status, ==, GSS_OK);
    g_assert_cmpint(a.framing, ==, GSS_FRAMING_SPNEGO_RESP);
    g_assert_cmpint(a.neg_state, ==, 1);
    g_assert_true(a.has_supported_mech);
    g_assert_cmpint(a.supported_mech.id, ==, GSS_OID_NTLMSSP);
    g_assert_cmpint(a.mech, ==, AUTH_MECH_NTLM);
    g_assert_cmpint(a.ntlm.msg_type, ==, 2);
    every_prefix(b);
    g_byte_array_unref(b);
}

/* X.690 8.19.5 example: {2 999 3} encodes as 88 37 03. */
static void test_oid_dotted(void)
{
    char buf[64];
    static const uint8_t ex[] = { 0x88, 0x37, 0x03 };
    g_assert_true(gss_oid_dotted(ex, sizeof ex, buf, sizeof buf));
    g_assert_cmpstr(buf, ==, "2.999.3");
    static const uint8_t spnego[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02 };
    g_assert_true(gss_oid_dotted(spnego, sizeof spnego, buf, sizeof buf));
    g_assert_cmpstr(buf, ==, "1.3.6.1.5.5.2");
    static const uint8_t unfinished[] = { 0x2b, 0x86 };
    g_assert_false(gss_oid_dotted(unfinished, sizeof unfinished, buf, sizeof buf));
    static const uint8_t padded[] = { 0x2b, 0x80, 0x01 };
    g_assert_false(gss_oid_dotted(padded, sizeof padded, buf, sizeof buf));
    static const uint8_t huge[] = { 0x2b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f };
    g_assert_false(gss_oid_dotted(huge, sizeof huge, buf, sizeof buf));
    g_assert_false(gss_oid_dotted(spnego, sizeof spnego, buf, 6)); /* too small: cut, false */
    g_assert_cmpuint(strlen(buf), <, 6);
}

static void test_der_errors(void)
{
    static const uint8_t overflow[] = { 0xa0, 0x84, 0xff, 0xff, 0xff, 0xff, 0x30, 0x00 };
    gss_decode(overflow, sizeof overflow, &a);
    g_assert_cmpint(a.status, ==, GSS_TRUNCATED);
    static const uint8_t too_long[] = { 0xa1, 0x85, 0x01, 0x00, 0x00, 0x00, 0x00 };
    gss_decode(too_long, sizeof too_long, &a);
    g_assert_cmpint(a.status, ==, GSS_MALFORMED);
    static const uint8_t indefinite[] = { 0xa0, 0x80, 0x30, 0x00, 0x00, 0x00 };
    gss_decode(indefinite, sizeof indefinite, &a);
    g_assert_cmpint(a.status, ==, GSS_MALFORMED);
    static const uint8_t high_tag[] = { 0x60, 0x04, 0x1f, 0x81, 0x01, 0x00 };
    gss_decode(high_tag, sizeof high_tag, &a);
    g_assert_cmpint(a.status, ==, GSS_MALFORMED);
    static const uint8_t wrong_inner[] = { 0xa0, 0x02, 0x31, 0x00 };
    gss_decode(wrong_inner, sizeof wrong_inner, &a);
    g_assert_cmpint(a.status, ==, GSS_MALFORMED);
    static const uint8_t junk[] = { 0x42, 0x00 };
    gss_decode(junk, sizeof junk, &a);
    g_assert_cmpint(a.framing, ==, GSS_FRAMING_UNKNOWN);
    g_assert_cmpint(a.mech, ==, AUTH_MECH_UNKNOWN);
    gss_decode(NULL, 0, &a);
    g_assert_cmpint(a.framing, ==, GSS_FRAMING_EMPTY);
    g_assert_cmpint(a.mech, ==, AUTH_MECH_NONE);
}

/* mechToken holding SPNEGO holding SPNEGO ... 40 deep: bounded, reported. */
static void test_deep_nesting(void)
{
    const uint8_t *oids[] = { OID_NTLM };
    const size_t lens[] = { sizeof OID_NTLM };
    GByteArray *b = g_byte_array_new();
    static const uint8_t ntlm_neg[16] = { 'N', 'T', 'L', 'M', 'S', 'S', 'P', 0, 1, 0, 0, 0 };
    g_byte_array_append(b, ntlm_neg, sizeof ntlm_neg);
    for (int i = 0; i < 40; i++) {
        GByteArray *n = spnego_init(oids, lens, 1, b->data, b->len);
        g_byte_array_unref(b);
        b = n;
    }
    gss_decode(b->data, b->len, &a);
    g_assert_cmpint(a.status, ==, GSS_MALFORMED);
    g_assert_cmpint(a.ntlm.status, ==, NTLMSSP_ABSENT);
    every_prefix(b);
    g_byte_array_unref(b);

    /* a nesting within the bound is followed to the NTLMSSP token */
    b = g_byte_array_new();
    g_byte_array_append(b, ntlm_neg, sizeof ntlm_neg);
    for (int i = 0; i < 3; i++) {
        GByteArray *n = spnego_init(oids, lens, 1, b->data, b->len);
        g_byte_array_unref(b);
        b = n;
    }
    gss_decode(b->data, b->len, &a);
    g_assert_cmpint(a.status, ==, GSS_OK);
    g_assert_cmpint(a.ntlm.msg_type, ==, 1);
    g_byte_array_unref(b);
}

/* A mech list longer than GSS_MAX_MECHS is counted, not stored. */
static void test_many_mechs(void)
{
    const uint8_t *oids[20];
    size_t lens[20];
    for (int i = 0; i < 20; i++) {
        oids[i] = OID_KRB5;
        lens[i] = sizeof OID_KRB5;
    }
    GByteArray *b = spnego_init(oids, lens, 20, NULL, 0);
    gss_decode(b->data, b->len, &a);
    g_assert_cmpint(a.mech_count, ==, GSS_MAX_MECHS);
    g_assert_cmpint(a.mech_total, ==, 20);
    g_byte_array_unref(b);
}

static void test_utf16(void)
{
    char out[8];
    bool cut;
    /* U+1F600 as a surrogate pair, then an unpaired low surrogate */
    static const uint8_t s[] = { 'a', 0, 0x3D, 0xD8, 0x00, 0xDE, 0x00, 0xDC };
    size_t n = utf16le_to_utf8(s, sizeof s, false, out, sizeof out, &cut);
    g_assert_cmpuint(n, ==, 5);
    g_assert_true(cut); /* U+FFFD (3 bytes) does not fit after 5 bytes in 7 */
    g_assert_cmpstr(out, ==, "a\xF0\x9F\x98\x80");
    char big[32];
    utf16le_to_utf8(s, sizeof s, false, big, sizeof big, &cut);
    g_assert_false(cut);
    g_assert_cmpstr(big, ==, "a\xF0\x9F\x98\x80\xEF\xBF\xBD");
    /* odd trailing byte, and stop at NUL */
    static const uint8_t odd[] = { 'x', 0, 0, 0, 'y', 0, 'z' };
    utf16le_to_utf8(odd, sizeof odd, true, big, sizeof big, &cut);
    g_assert_cmpstr(big, ==, "x");
    utf16le_to_utf8(odd, sizeof odd, false, big, sizeof big, &cut);
    g_assert_cmpmem(big, 6, "x\0y\xEF\xBF\xBD", 6);
    utf16le_to_utf8(odd, sizeof odd, false, big, 1, &cut);
    g_assert_cmpstr(big, ==, "");
    g_assert_true(cut);
}

/* A plain reference for utf16le_to_utf8 (MS-DTYP UTF-16LE; unpaired
 * surrogates and an odd last byte become U+FFFD; whole code points only). */
static size_t ref_utf16(const uint8_t *s, size_t len, bool stop, char *dst, size_t size, bool *cut)
{
    size_t n = 0, i = 0;
    *cut = false;
    while (i < len) {
        uint32_t cp;
        if (len - i < 2) {
            cp = 0xFFFD;
            i++;
        } else {
            uint32_t u = (uint32_t)(s[i] | s[i + 1] << 8);
            i += 2;
            if (u == 0 && stop)
                break;
            if (u >= 0xD800 && u <= 0xDBFF && len - i >= 2 && (s[i + 1] & 0xFC) == 0xDC) {
                cp = 0x10000 + ((u - 0xD800) << 10) + ((uint32_t)(s[i] | s[i + 1] << 8) - 0xDC00);
                i += 2;
            } else {
                cp = u >= 0xD800 && u <= 0xDFFF ? 0xFFFD : u;
            }
        }
        char b[4];
        size_t k = g_unichar_to_utf8(cp, b);
        if (k > size - 1 - n) {
            *cut = true;
            break;
        }
        memcpy(dst + n, b, k);
        n += k;
    }
    dst[n] = 0;
    return n;
}

/* Random strings, mostly ASCII (the fast path) with NULs, two- and
 * three-byte characters, pairs and stray surrogates, odd lengths, every
 * destination size up to past the whole: equal to the reference. */
static void test_utf16_random(void)
{
    GRand *rng = g_rand_new_with_seed(13);
    static const uint16_t odd_units[] = { 0, 0x7F, 0x80, 0xE9, 0x7FF, 0x800, 0xFFFF, 0xD83D, 0xDE00, 0xDC00 };
    for (int round = 0; round < 3000; round++) {
        uint8_t s[40];
        size_t len = (size_t)g_rand_int_range(rng, 0, (gint32)sizeof s + 1);
        for (size_t i = 0; i + 1 < len; i += 2) {
            uint16_t u = g_rand_int_range(rng, 0, 4) ? (uint16_t)g_rand_int_range(rng, 1, 0x80)
                                                      : odd_units[g_rand_int_range(rng, 0, G_N_ELEMENTS(odd_units))];
            s[i] = (uint8_t)u;
            s[i + 1] = (uint8_t)(u >> 8);
        }
        if (len & 1)
            s[len - 1] = 'q';
        for (size_t size = 1; size < 2 * sizeof s; size++) {
            for (int stop = 0; stop < 2; stop++) {
                char got[2 * sizeof s], want[2 * sizeof s];
                bool gcut, wcut;
                size_t gn = utf16le_to_utf8(s, len, stop, got, size, &gcut);
                size_t wn = ref_utf16(s, len, stop, want, size, &wcut);
                g_assert_cmpuint(gn, ==, wn);
                g_assert_cmpmem(got, gn + 1, want, wn + 1);
                g_assert_cmpint(gcut, ==, wcut);
            }
        }
    }
    g_rand_free(rng);
}

/* An empty name may come as a NULL buffer (a zero-length field at the end
 * of a message): no arithmetic on it (UBSan: zero offset to null pointer;
 * found by fuzz_smb in TREE_CONNECT). */
static void test_utf16_empty_null(void)
{
    char out[8] = "x";
    bool cut = true;
    g_assert_cmpuint(utf16le_to_utf8(NULL, 0, true, out, sizeof out, &cut), ==, 0);
    g_assert_cmpstr(out, ==, "");
    g_assert_false(cut);
    static const uint8_t one[] = { 'a' };
    char want[8];
    bool wcut;
    size_t wn = ref_utf16(one, 1, false, want, sizeof want, &wcut); /* a lone byte: as the general path says */
    g_assert_cmpuint(utf16le_to_utf8(one, 1, false, out, sizeof out, &cut), ==, wn);
    g_assert_cmpmem(out, wn + 1, want, wn + 1);
}

static void test_tables(void)
{
    char buf[64];
    g_assert_cmpstr(smb_enum_name(&smb2_cipher_table, 2, buf, sizeof buf), ==, "AES-128-GCM");
    g_assert_cmpstr(smb_enum_name(&smb2_cipher_table, 9, buf, sizeof buf), ==, "0x9");
    g_assert_cmpstr(smb_enum_name(&smb2_signing_alg_table, 2, buf, sizeof buf), ==, "AES-GMAC");
    g_assert_cmpstr(smb_enum_bits(&smb2_capabilities_table, 0x45, "|", buf, sizeof buf), ==,
                    "DFS|LARGE_MTU|ENCRYPTION");
    g_assert_cmpstr(smb_enum_bits(&smb2_session_flags_table, 0x0C, "|", buf, sizeof buf), ==, "ENCRYPT_DATA|0x8");
    g_assert_cmpstr(smb_enum_bits(&smb2_capabilities_table, 0xFF, ",", buf, 10), ==, "DFS,LEASI");
    g_assert_cmpstr(smb_enum_name(&smb2_command_table, 0x0B, buf, sizeof buf), ==, "IOCTL");
    g_assert_cmpstr(smb_enum_name(&smb1_command_table, 0x72, buf, sizeof buf), ==, "NEGOTIATE");
    g_assert_cmpstr(smb2_ctx_status_name(SMB2_CTX_COUNT_MISMATCH), ==, "count-mismatch");
    g_assert_cmpstr(gss_framing_name(GSS_FRAMING_SPNEGO_RESP), ==, "spnego-resp");
    g_assert_cmpstr(smb_anomaly_kind_name(SMB_ANOM_ANDX), ==, "andx");
    g_assert_cmpstr(auth_mech_name(AUTH_MECH_NEGOEX), ==, "negoex");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/gss/spnego-kerberos", test_spnego_kerberos);
    g_test_add_func("/gss/spnego-negoex", test_spnego_negoex);
    g_test_add_func("/gss/krb5-error", test_krb5_error);
    g_test_add_func("/gss/spnego-resp", test_spnego_resp);
    g_test_add_func("/gss/ntlm-anonymous", test_ntlm_anonymous);
    g_test_add_func("/gss/oid-dotted", test_oid_dotted);
    g_test_add_func("/gss/der-errors", test_der_errors);
    g_test_add_func("/gss/deep-nesting", test_deep_nesting);
    g_test_add_func("/gss/many-mechs", test_many_mechs);
    g_test_add_func("/gss/utf16", test_utf16);
    g_test_add_func("/gss/utf16-random", test_utf16_random);
    g_test_add_func("/gss/utf16-empty-null", test_utf16_empty_null);
    g_test_add_func("/gss/tables", test_tables);
    return g_test_run();
}
