/* SMB1 decoder tests.
 *
 * Real messages: tests/unit/smb_vectors/smb1_*.vec (cut from the sample
 * captures, expected values from tshark).  Hand-made messages follow the
 * layouts of MS-CIFS 2.2.4.52-2.2.4.55. */
#include <glib.h>
#include <string.h>

#include "smb.h"
#include "smb_test_util.h"

static struct collector c;

static void decode(const uint8_t *m, size_t avail, uint32_t len)
{
    collector_reset(&c);
    smb_decode_message(m, avail, len, &collect_sink, &c);
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }

/* 32-byte header (MS-CIFS 2.2.3.1). */
static size_t header(uint8_t *p, uint8_t cmd, uint8_t flags, uint16_t flags2)
{
    memset(p, 0, 32);
    p[0] = 0xFF; p[1] = 'S'; p[2] = 'M'; p[3] = 'B';
    p[4] = cmd;
    p[9] = flags;
    put16(p + 10, flags2);
    return 32;
}

static size_t put_utf16(uint8_t *p, const char *s)
{
    size_t n = 0;
    for (; *s; s++) {
        p[n++] = (uint8_t)*s;
        p[n++] = 0;
    }
    p[n++] = 0;
    p[n++] = 0;
    return n;
}

static size_t put_str(uint8_t *p, const char *s)
{
    size_t n = strlen(s) + 1;
    memcpy(p, s, n);
    return n;
}

static struct smb_vector vec;

static void every_prefix(const char *name)
{
    char *path = g_build_filename(SMB_VECTOR_DIR, name, NULL);
    g_assert_true(vector_load(path, &vec));
    g_free(path);
    size_t full = vec.payload_len - 4;
    for (size_t n = 0; n <= full; n++) {
        decode(vec.payload + 4, n, (uint32_t)full);
        if (n < 32)
            g_assert_cmpint(c.smb1_headers, ==, 0);
        decode(vec.payload + 4, n, (uint32_t)n);
    }
}

static void test_truncations(void)
{
    every_prefix("smb1_negotiate_req.vec");
    every_prefix("smb1_negotiate_resp.vec");
    every_prefix("smb1_session_req2.vec");
    every_prefix("smb1_session_resp1.vec");
    every_prefix("smb1_tree_req.vec");
    every_prefix("smb1_tree_resp.vec");
}

/* NT LM 0.12 session setup without extended security (wct 13), Unicode:
 * the account name must start 2-byte aligned from the header (2.2.4.53.1). */
static void test_session_setup_nt_unicode(void)
{
    uint8_t m[256] = { 0 };
    size_t o = header(m, 0x73, 0x18, 0xC001);
    m[o++] = 13;
    memset(m + o, 0, 26);
    m[o] = 0xFF;
    put16(m + o + 14, 2); /* OEMPasswordLen */
    put16(m + o + 16, 0); /* UnicodePasswordLen */
    o += 26;
    size_t bc_at = o;
    o += 2;
    size_t bytes = o; /* 61: odd */
    m[o++] = 0xAA;
    m[o++] = 0xBB;   /* now at 63: one pad byte before Unicode */
    m[o++] = 0;
    o += put_utf16(m + o, "alice");
    o += put_utf16(m + o, "WORKGROUP");
    o += put_utf16(m + o, "Unix");
    o += put_utf16(m + o, "Samba");
    put16(m + bc_at, (uint16_t)(o - bytes));
    decode(m, o, (uint32_t)o);
    g_assert_cmpint(c.sess_req, ==, 1);
    g_assert_cmpint(c.anomalies, ==, 0);
    g_assert_cmpstr(collector_get(&c, "smb.account"), ==, "alice");
    g_assert_cmpstr(collector_get(&c, "smb.primary_domain"), ==, "WORKGROUP");
    g_assert_cmpstr(collector_get(&c, "smb.native_os"), ==, "Unix");
    g_assert_cmpstr(collector_get(&c, "smb.native_lanman"), ==, "Samba");
    g_assert_false(c.sess1.extended_security);
    g_assert_cmpint(c.sess1.auth.framing, ==, GSS_FRAMING_EMPTY);
}

/* LANMAN 2.1 session setup (wct 10), OEM strings. */
static void test_session_setup_lanman(void)
{
    uint8_t m[256] = { 0 };
    size_t o = header(m, 0x73, 0x08, 0x0001);
    m[o++] = 10;
    memset(m + o, 0, 20);
    m[o] = 0xFF;
    put16(m + o + 14, 1);
    o += 20;
    size_t bc_at = o;
    o += 2;
    size_t bytes = o;
    m[o++] = 0;
    o += put_str(m + o, "GUEST");
    o += put_str(m + o, "DOM");
    o += put_str(m + o, "DOS");
    o += put_str(m + o, "LM");
    put16(m + bc_at, (uint16_t)(o - bytes));
    decode(m, o, (uint32_t)o);
    g_assert_cmpint(c.sess_req, ==, 1);
    g_assert_cmpstr(c.sess1.account.text, ==, "GUEST");
    g_assert_cmpstr(c.sess1.domain.text, ==, "DOM");
    g_assert_cmpstr(c.sess1.native_os.text, ==, "DOS");
    g_assert_cmpstr(c.sess1.native_lanman.text, ==, "LM");
}

static void test_negotiate_many_dialects(void)
{
    uint8_t m[1024] = { 0 };
    size_t o = header(m, 0x72, 0, 0);
    m[o++] = 0;
    size_t bc_at = o;
    o += 2;
    size_t bytes = o;
    for (int i = 0; i < 40; i++) {
        char name[16];
        g_snprintf(name, sizeof name, "D%d", i);
        m[o++] = 2;
        o += put_str(m + o, name);
    }
    m[o++] = 2;
    m[o++] = 'X'; /* no NUL */
    put16(m + bc_at, (uint16_t)(o - bytes));
    decode(m, o, (uint32_t)o);
    g_assert_cmpint(c.neg_req, ==, 1);
    g_assert_cmpint(c.neg1.count, ==, SMB1_MAX_DIALECTS);
    g_assert_cmpint(c.neg1.extra, ==, 41 - SMB1_MAX_DIALECTS);
    g_assert_true(c.neg1.truncated);
    g_assert_cmpmem(c.neg1.dialects[31].p, c.neg1.dialects[31].len, "D31", 3);

    /* a string without buffer format 0x02 stops the walk with an anomaly */
    m[bytes] = 0x03;
    decode(m, o, (uint32_t)o);
    g_assert_cmpint(c.neg1.count, ==, 0);
    g_assert_cmpint(c.last_anomaly, ==, SMB_ANOM_BAD_STRUCTURE);
}

/* SESSION_SETUP_ANDX (wct 12) chained to TREE_CONNECT_ANDX. */
static size_t build_andx(uint8_t *m, uint16_t andx_off_override, bool override)
{
    size_t o = header(m, 0x73, 0x18, 0xC801);
    size_t words = o + 1;
    m[o++] = 12;
    memset(m + o, 0, 24);
    o += 24;
    m[o++] = 0;
    m[o++] = 0; /* ByteCount 0, no blob, no strings */
    size_t tc = o;
    m[words] = 0x75;
    put16(m + words + 2, override ? andx_off_override : (uint16_t)tc);
    m[o++] = 4;
    m[o++] = 0xFF;
    m[o++] = 0;
    put16(m + o, 0);
    o += 2;
    put16(m + o, 0); /* flags */
    o += 2;
    put16(m + o, 1); /* password length */
    o += 2;
    size_t bc_at = o;
    o += 2;
    size_t bytes = o;
    m[o++] = 0;
    if ((o & 1) != 0)
        m[o++] = 0;
    o += put_utf16(m + o, "\\\\srv\\share");
    o += put_str(m + o, "?????");
    put16(m + bc_at, (uint16_t)(o - bytes));
    return o;
}

static void test_andx(void)
{
    uint8_t m[512] = { 0 };
    size_t n = build_andx(m, 0, false);
    decode(m, n, (uint32_t)n);
    g_assert_cmpint(c.smb1_headers, ==, 2);
    g_assert_true(c.h1[1].andx);
    g_assert_cmpint(c.h1[1].command, ==, 0x75);
    g_assert_cmpint(c.tree_req, ==, 1);
    g_assert_cmpstr(c.tree1.path, ==, "\\\\srv\\share");
    g_assert_cmpstr(c.tree1.service, ==, "?????");
    g_assert_cmpint(c.anomalies, ==, 0);

    /* AndX offset at itself, backwards, zero, past the end */
    static const uint16_t bad[] = { 32, 10, 0, 0xFFFF };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        n = build_andx(m, bad[i], true);
        decode(m, n, (uint32_t)n);
        g_assert_cmpint(c.smb1_headers, ==, 1);
        g_assert_cmpint(c.last_anomaly, ==, SMB_ANOM_ANDX);
    }
    for (size_t k = 0; k <= n; k++)
        decode(m, k, (uint32_t)n);
}

/* NT LM 0.12 NEGOTIATE response without extended security (MS-CIFS
 * 2.2.4.52.2): 8-byte challenge, then Unicode DomainName and ServerName,
 * unpadded (as Windows sends them, and as tshark reads them). */
static void test_negotiate_response_challenge(void)
{
    uint8_t m[256] = { 0 };
    size_t o = header(m, 0x72, 0x88, 0xC001);
    m[o++] = 17;
    size_t w = o;
    o += 34;
    put16(m + w, 1);         /* DialectIndex */
    m[w + 2] = 0x03;         /* SecurityMode */
    m[w + 8] = 0x04;         /* MaxBufferSize 0x400 (u32 at w+7) */
    m[w + 19] = 0x04;        /* Capabilities: UNICODE (u32 at w+19) */
    m[w + 33] = 8;           /* ChallengeLength */
    size_t bc_at = o;
    o += 2;
    size_t bytes = o;
    memset(m + o, 0x11, 8);
    o += 8; /* odd offset: no pad byte */
    o += put_utf16(m + o, "WORKGROUP");
    o += put_utf16(m + o, "SERVER");
    put16(m + bc_at, (uint16_t)(o - bytes));
    decode(m, o, (uint32_t)o);
    g_assert_cmpint(c.neg_resp, ==, 1);
    g_assert_cmpint(c.anomalies, ==, 0);
    g_assert_cmpstr(collector_get(&c, "smb.dialect.index"), ==, "1");
    g_assert_cmpstr(collector_get(&c, "smb.max_bufsize"), ==, "1024");
    g_assert_cmpstr(collector_get(&c, "smb.server_cap"), ==, "0x00000004");
    g_assert_cmpstr(collector_get(&c, "smb.primary_domain"), ==, "WORKGROUP");
    g_assert_cmpstr(collector_get(&c, "smb.server"), ==, "SERVER");
    for (size_t k = 0; k <= o; k++)
        decode(m, k, (uint32_t)o);
}

static void test_error_reply(void)
{
    uint8_t m[35] = { 0 };
    header(m, 0x73, 0x80, 0xC001);
    m[5] = 0x6D; m[6] = 0x00; m[7] = 0x00; m[8] = 0xC0; /* STATUS_LOGON_FAILURE */
    m[32] = 0; m[33] = 0; m[34] = 0;
    decode(m, sizeof m, sizeof m);
    g_assert_cmpint(c.smb1_headers, ==, 1);
    g_assert_cmpuint(c.h1[0].status, ==, 0xC000006Du);
    g_assert_cmpint(c.sess_resp, ==, 0);
    g_assert_cmpint(c.anomalies, ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    vector_register("/smb1/vector", "smb1_");
    vector_register("/smb1/vector", "multiproto_smb1");
    g_test_add_func("/smb1/truncations", test_truncations);
    g_test_add_func("/smb1/session-setup-nt-unicode", test_session_setup_nt_unicode);
    g_test_add_func("/smb1/session-setup-lanman", test_session_setup_lanman);
    g_test_add_func("/smb1/negotiate-many-dialects", test_negotiate_many_dialects);
    g_test_add_func("/smb1/andx", test_andx);
    g_test_add_func("/smb1/negotiate-response-challenge", test_negotiate_response_challenge);
    g_test_add_func("/smb1/error-reply", test_error_reply);
    return g_test_run();
}
