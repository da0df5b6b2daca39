/* test_notsmb.c - the "clearly not SMB" rule of the session model
 * (analyzer/model/session.c): both directions seen from their start began with a
 * byte that is no NBSS type (RFC 1002 4.3.1: 0x00, 0x81..0x85) and nothing
 * SMB-like was seen -> the connection's bytes are ignored from then on. */
#include <string.h>

#include <glib.h>

#include "flow.h"
#include "session.h"

static const char http_req[] = "GET /index.html HTTP/1.1\r\nHost: example\r\n\r\n";
static const char http_resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
/* TLS ClientHello record header (content type 0x16 is no NBSS type) */
static const uint8_t tls_hello[] = { 0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x03 };

/* Direct-TCP header (0x00 + 24-bit length) and the first bytes of an SMB2
 * header (MS-SMB2 2.2.1: 0xFE 'S' 'M' 'B', StructureSize 64). */
static void smb2_message(uint8_t *buf, size_t *len)
{
    memset(buf, 0, 68);
    buf[3] = 64;
    buf[4] = 0xFE;
    buf[5] = 'S';
    buf[6] = 'M';
    buf[7] = 'B';
    buf[8] = 64;
    *len = 68;
}

static struct smb_conn *conn(bool midstream, struct flow_conn *fc)
{
    memset(fc, 0, sizeof *fc);
    fc->midstream = midstream;
    fc->port[0] = 40000;
    fc->port[1] = 443;
    struct session_config cfg = { 0, false, NULL };
    return smb_conn_new(&cfg, fc, midstream);
}

static void test_http_both_ways(void)
{
    struct flow_conn fc;
    struct smb_conn *s = conn(false, &fc);
    smb_conn_data(s, 0, (const uint8_t *)http_req, sizeof http_req - 1, 1);
    g_assert_false(smb_conn_not_smb(s)); /* one direction is not enough */
    smb_conn_data(s, 1, (const uint8_t *)http_resp, sizeof http_resp - 1, 2);
    g_assert_true(smb_conn_not_smb(s));
    /* later SMB-looking bytes are ignored: the connection stays out of the report */
    uint8_t m[68];
    size_t n;
    smb2_message(m, &n);
    smb_conn_data(s, 1, m, n, 3);
    g_assert_false(smb_conn_close(s, &fc, "fin"));
    smb_conn_free(s);
}

static void test_tls_then_tls(void)
{
    struct flow_conn fc;
    struct smb_conn *s = conn(false, &fc);
    smb_conn_data(s, 0, tls_hello, sizeof tls_hello, 1);
    smb_conn_data(s, 1, tls_hello, sizeof tls_hello, 2);
    g_assert_true(smb_conn_not_smb(s));
    smb_conn_free(s);
}

static void test_smb_answer_keeps_it(void)
{
    struct flow_conn fc;
    struct smb_conn *s = conn(false, &fc);
    uint8_t m[68];
    size_t n;
    smb2_message(m, &n);
    smb_conn_data(s, 0, m, n, 1);
    smb_conn_data(s, 1, (const uint8_t *)http_resp, sizeof http_resp - 1, 2);
    g_assert_false(smb_conn_not_smb(s));
    g_assert_true(smb_conn_close(s, &fc, "fin"));
    smb_conn_free(s);
}

/* The flow table opens the session when it creates the flow, before the
 * flow knows it saw the SYN (flow.c creates every flow mid-stream and clears
 * that at the SYN): the rule must ask the flow when data comes, not take
 * the flag at creation (it once did, and never applied). */
static void test_flow_learns_syn_after_open(void)
{
    struct flow_conn fc;
    struct smb_conn *s = conn(true, &fc);
    fc.midstream = false; /* the SYN, as update_state() sees it */
    smb_conn_data(s, 0, (const uint8_t *)http_req, sizeof http_req - 1, 1);
    smb_conn_data(s, 1, (const uint8_t *)http_resp, sizeof http_resp - 1, 2);
    g_assert_true(smb_conn_not_smb(s));
    g_assert_false(smb_conn_close(s, &fc, "fin"));
    smb_conn_free(s);
}

static void test_midstream_never(void)
{
    struct flow_conn fc;
    struct smb_conn *s = conn(true, &fc);
    smb_conn_data(s, 0, (const uint8_t *)http_req, sizeof http_req - 1, 1);
    smb_conn_data(s, 1, (const uint8_t *)http_resp, sizeof http_resp - 1, 2);
    g_assert_false(smb_conn_not_smb(s)); /* a capture started inside a READ resyncs */
    smb_conn_free(s);
}

static void test_gap_first_never(void)
{
    struct flow_conn fc;
    struct smb_conn *s = conn(false, &fc);
    smb_conn_gap(s, 0, 100, 1); /* the first bytes were lost: alignment unknown */
    smb_conn_data(s, 0, (const uint8_t *)http_req, sizeof http_req - 1, 2);
    smb_conn_data(s, 1, (const uint8_t *)http_resp, sizeof http_resp - 1, 3);
    g_assert_false(smb_conn_not_smb(s));
    smb_conn_free(s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/notsmb/http-both-ways", test_http_both_ways);
    g_test_add_func("/notsmb/tls", test_tls_then_tls);
    g_test_add_func("/notsmb/smb-answer-keeps-it", test_smb_answer_keeps_it);
    g_test_add_func("/notsmb/flow-learns-syn-after-open", test_flow_learns_syn_after_open);
    g_test_add_func("/notsmb/midstream-never", test_midstream_never);
    g_test_add_func("/notsmb/gap-first-never", test_gap_first_never);
    return g_test_run();
}
