/* SMB over QUIC through the command's pipeline, on the real samples
 * (samples/quic*.pcap, made by samples/gen-quic.sh; expected values from
 * tshark, see samples/MANIFEST.tsv), plus the key-log reader, the transport
 * class and the --allow-transport rule. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "analysis.h"
#include "classify.h"
#include "keylog.h"
#include "options.h"
#include "policy.h"
#include "quic_facts.h"
#include "quic_table.h"
#include "session.h"
#include "verdict.h"

static char *sample(const char *name)
{
    return g_build_filename(g_getenv("SMBSCOPE_SAMPLES"), name, NULL);
}

/* Run one capture (with its key log or not); the caller frees. */
static struct analysis *run(const char *pcap, const char *keylog)
{
    static struct config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.policy = policy_default();
    char *kl = keylog ? sample(keylog) : NULL;
    cfg.tls_keylog = kl;
    struct analysis *a = g_new0(struct analysis, 1);
    char err[256];
    g_assert_true(analysis_init(a, &cfg, err, sizeof err));
    char *path = sample(pcap);
    analysis_run_input(a, path);
    analysis_finish(a);
    g_assert_false(a->input_error);
    g_free(path);
    g_free(kl);
    cfg.tls_keylog = NULL;
    return a;
}

static void done(struct analysis *a)
{
    analysis_free(a);
    g_free(a);
}

static void test_without_keylog(void)
{
    struct analysis *a = run("quic443-smb3_11.pcap", NULL);
    g_assert_cmpuint(a->conns->len, ==, 1);
    const struct smb_conn *s = g_ptr_array_index(a->conns, 0);
    g_assert_cmpint(s->verdict.cls, ==, TRANSPORT_QUIC);
    g_assert_cmpuint(smb_conn_server_port(s), ==, 443);
    g_assert_false(s->verdict.evidence & EV_ALT_PORT);
    g_assert_nonnull(s->quic);
    g_assert_cmpstr(s->quic->sni, ==, "files.smbscope.test");
    g_assert_cmpuint(s->quic->alpn_count, ==, 1);
    g_assert_cmpstr(s->quic->alpn[0], ==, "smb");
    g_assert_cmpuint(s->quic->version, ==, 1);
    g_assert_true(s->quic->retry);
    g_assert_true(s->quic->handshake_completed);
    g_assert_false(s->quic->decrypted);
    g_assert_cmpuint(s->quic->cipher, ==, 0x1301);
    g_assert_cmpuint(s->quic->client_hellos, ==, 2); /* quiche: a new ClientHello after the Retry */
    g_assert_cmpuint(s->packets[0] + s->packets[1], ==, 88); /* tshark: 88 frames */
    g_assert_cmpuint(s->dialect, ==, 0);                     /* encrypted: unknown without keys */
    struct quic_table_stats st = quic_table_stats(a->quic);
    g_assert_cmpuint(st.conns, ==, 1);
    g_assert_cmpuint(st.smb_conns, ==, 1);
    done(a);
}

static void test_with_keylog(void)
{
    static const char *caps[][2] = {
        { "quic443-smb3_11.pcap", "quic443-smb3_11.keylog" },
        { "quic8443-smb3_11.pcap", "quic8443-smb3_11.keylog" },
        { "quic443-split-hello.pcap", "quic443-split-hello.keylog" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(caps); i++) {
        struct analysis *a = run(caps[i][0], caps[i][1]);
        g_assert_cmpuint(a->conns->len, ==, 1);
        const struct smb_conn *s = g_ptr_array_index(a->conns, 0);
        g_assert_cmpint(s->verdict.cls, ==, TRANSPORT_QUIC);
        g_assert_true(s->quic->decrypted);
        g_assert_true(s->quic->handshake_done);
        g_assert_cmpuint(s->dialect, ==, 0x0311);          /* tshark: 3.1.1 */
        g_assert_cmpuint(s->dialects_offered->len, ==, 5); /* 2.0.2 2.1 3.0 3.0.2 3.1.1 */
        g_assert_cmpuint(s->signed_pdus, ==, 5);           /* tshark: 5 signed */
        g_assert_cmpuint(s->shares->len, ==, 2);           /* IPC$ and data */
        g_assert_cmpuint(s->obs.session_messages, ==, 38); /* tshark nbss 0x00:38 */
        g_assert_cmpuint(s->quic->undecryptable, ==, 0);
        gboolean alt = (s->verdict.evidence & EV_ALT_PORT) != 0;
        g_assert_cmpint(alt, ==, smb_conn_server_port(s) != 443);
        done(a);
    }
}

/* A resumed session with one 0-RTT packet (samples/quic443-0rtt.pcap; tshark:
 * one client packet of long type 0-RTT, sent after the server's Retry): it is
 * counted with or without keys and never read; its data (stream 4) was
 * discarded with the Retry, so the SMB stream (stream 0) has no hole. */
static void test_zero_rtt(void)
{
    for (int keys = 0; keys < 2; keys++) {
        struct analysis *a = run("quic443-0rtt.pcap", keys ? "quic443-0rtt.keylog" : NULL);
        g_assert_cmpuint(a->conns->len, ==, 1);
        const struct smb_conn *s = g_ptr_array_index(a->conns, 0);
        g_assert_cmpuint(s->quic->zero_rtt, ==, 1);
        g_assert_true(s->quic->retry);
        g_assert_cmpuint(s->packets[0] + s->packets[1], ==, 89); /* tshark: 89 frames, the 0-RTT one included */
        g_assert_cmpuint(s->gaps, ==, 0);
        g_assert_cmpuint(s->quic->stream_bytes_dropped, ==, 0);
        g_assert_cmpuint(s->dialect, ==, keys ? 0x0311 : 0); /* tshark with the key log: 3.1.1 */
        done(a);
    }
}

/* The ClientHello of the split sample spans two Initials (tshark: CRYPTO
 * offset 1133 in the second): all seven ALPN entries are read. */
static void test_split_hello(void)
{
    struct analysis *a = run("quic443-split-hello.pcap", NULL);
    const struct smb_conn *s = g_ptr_array_index(a->conns, 0);
    g_assert_cmpuint(s->quic->alpn_count, ==, 7);
    g_assert_cmpstr(s->quic->alpn[0], ==, "smb");
    g_assert_cmpuint(strlen(s->quic->alpn[6]), ==, 201);
    g_assert_false(s->quic->alpn_truncated);
    done(a);
}

static void test_other_alpn(void)
{
    struct analysis *a = run("quic443-other-alpn.pcap", "quic443-other-alpn.keylog");
    g_assert_cmpuint(a->conns->len, ==, 0);
    struct quic_table_stats st = quic_table_stats(a->quic);
    g_assert_cmpuint(st.conns, ==, 1);
    g_assert_cmpuint(st.other_conns, ==, 1);
    g_assert_cmpuint(st.smb_conns, ==, 0);
    g_assert_cmpuint(st.quic_datagrams, ==, 16); /* tshark: 16 frames */
    done(a);
}

static void count_open(void *ctx, const struct quic_table_open *o)
{
    GArray *seen = ctx;
    g_array_append_val(seen, *o);
}

/* quic_table_list_open(): the connections still open before the table
 * closes them (the merge state's quic_open), none after. */
static void check_open(const char *pcap, const char *keylog, bool smb, uint16_t client_port)
{
    static struct config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.policy = policy_default();
    char *kl = sample(keylog);
    cfg.tls_keylog = kl;
    struct analysis *a = g_new0(struct analysis, 1);
    char err[256];
    g_assert_true(analysis_init(a, &cfg, err, sizeof err));
    char *path = sample(pcap);
    analysis_run_input(a, path);
    GArray *seen = g_array_new(FALSE, TRUE, sizeof(struct quic_table_open));
    quic_table_list_open(a->quic, count_open, seen);
    g_assert_cmpuint(seen->len, ==, 1);
    const struct quic_table_open *o = &g_array_index(seen, struct quic_table_open, 0);
    g_assert_true(o->smb == smb);
    g_assert_cmpuint(o->port[0], ==, client_port); /* [0] the client */
    g_assert_cmpuint(o->port[1], ==, 443);
    g_assert_cmpint(o->first_ts, <, o->last_ts);
    g_assert_cmpint(o->last_ts, ==, a->last_ts); /* the capture's last packet is the connection's */
    analysis_finish(a);
    g_array_set_size(seen, 0);
    quic_table_list_open(a->quic, count_open, seen);
    g_assert_cmpuint(seen->len, ==, 0);
    g_array_free(seen, TRUE);
    g_free(path);
    g_free(kl);
    cfg.tls_keylog = NULL;
    done(a);
}

static void test_list_open(void)
{
    check_open("quic443-other-alpn.pcap", "quic443-other-alpn.keylog", false, 57259);
    check_open("quic443-smb3_11.pcap", "quic443-smb3_11.keylog", true, 54160);
}

/* Issue 10: QUIC that is not SMB costs one header check per datagram after
 * its first flight.  The table's work counters: past the first flight a
 * connection keeps no session (no parsing, no decryption), and each of its
 * datagrams took exactly one index look-up. */
static void check_one_lookup(const char *pcap, uint64_t want_datagrams, uint64_t want_first_flight)
{
    struct analysis *a = run(pcap, NULL);
    struct quic_table_stats st = quic_table_stats(a->quic);
    struct quic_table_work w = quic_table_work(a->quic);
    g_assert_cmpuint(st.quic_datagrams, ==, want_datagrams);
    g_assert_cmpuint(w.session_datagrams, ==, want_first_flight);
    g_assert_cmpuint(w.retired_datagrams, ==, want_datagrams - want_first_flight);
    g_assert_cmpuint(w.retired_lookups, ==, w.retired_datagrams);
    /* One per UDP datagram, none by connection ID; the first datagram found
     * the index empty (its port filter said so) and started the connection. */
    g_assert_cmpuint(w.index_lookups, ==, st.datagrams - 1);
    done(a);
}

/* The table's byte budget counts what a connection holds (quic_table.h):
 * a handshake's session, key sets and SMB records, its CRYPTO buffers only
 * while a hello is incomplete (allocated as bytes arrive: 18 KiB fixed
 * before), and everything is given back when the connections close. */
static void check_state_bytes(const char *pcap, uint64_t lo, uint64_t hi)
{
    struct analysis *a = run(pcap, NULL);
    struct quic_table_work w = quic_table_work(a->quic);
    g_assert_cmpuint(w.state_bytes, ==, 0);
    g_assert_cmpuint(w.state_bytes_peak, >=, lo);
    g_assert_cmpuint(w.state_bytes_peak, <=, hi);
    done(a);
}

static void test_state_bytes(void)
{
    /* The ClientHello whole in one Initial: read in place, no buffer; at
     * most the track, the session, one key set and the SMB records (9,120
     * bytes; the server's keys come when the CRYPTO buffers are gone; the
     * QUIC facts' copy, 2,352 bytes, when the session retires). */
    check_state_bytes("quic443-smb3_11.pcap", 8 * 1024, 10 * 1024);
    /* A ClientHello over two Initials (a 201-byte ALPN): its first part
     * buffered, in storage sized by it, until the second comes. */
    check_state_bytes("quic443-split-hello.pcap", 10 * 1024, 16 * 1024);
}

/* A connection decrypted with the key log, past its handshake: what it
 * holds while its SMB goes on (the capture read, the connection still
 * open), and at most during its handshake. */
static void keylogged_bytes(const char *pcap, const char *keylog, uint64_t *now, uint64_t *peak)
{
    static struct config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.policy = policy_default();
    char *kl = sample(keylog), *path = sample(pcap);
    cfg.tls_keylog = kl;
    struct analysis *a = g_new0(struct analysis, 1);
    char err[256];
    g_assert_true(analysis_init(a, &cfg, err, sizeof err));
    analysis_run_input(a, path);
    struct quic_table_work w = quic_table_work(a->quic);
    *now = w.state_bytes;
    *peak = w.state_bytes_peak;
    g_test_message("%s with its key log: %" G_GUINT64_FORMAT " bytes open, %" G_GUINT64_FORMAT " at most", pcap,
                   *now, *peak);
    analysis_finish(a);
    g_assert_cmpuint(quic_table_work(a->quic).state_bytes, ==, 0);
    g_free(path);
    g_free(kl);
    cfg.tls_keylog = NULL;
    done(a);
}

static void test_state_bytes_keylog(void)
{
    /* Six key sets of about 4 KiB each were open for the connection's
     * life (31,568 bytes: about 530 fit the 16 MiB budget); once 1-RTT
     * decrypts both ways the Initial and Handshake sets are parked (their
     * keys kept, 64 bytes each): two open, and the QUIC facts' copy not
     * made until it closes: 13,216 bytes.  All six are open for a moment
     * during the handshake. */
    uint64_t now, peak;
    keylogged_bytes("quic443-smb3_11.pcap", "quic443-smb3_11.keylog", &now, &peak);
    g_assert_cmpuint(now, >=, 12 * 1024);
    g_assert_cmpuint(now, <=, 14 * 1024);
    g_assert_cmpuint(peak, <=, 30 * 1024);
    /* The same for the 0-RTT sample (0-RTT packets counted, never read). */
    keylogged_bytes("quic443-0rtt.pcap", "quic443-0rtt.keylog", &now, &peak);
    g_assert_cmpuint(now, <=, 14 * 1024);
}

static void test_one_check_after_first_flight(void)
{
    /* Not SMB (tshark: 16 UDP frames): judged on frame 1, the client's
     * Initial with the whole ClientHello. */
    check_one_lookup("quic443-other-alpn.pcap", 16, 1);
    /* SMB without the key log (tshark: 88 UDP frames): read until the
     * server's Handshake packets, frames 1-4 (client Initial, Retry, the
     * client's Initial again, the server's Initial + Handshake). */
    check_one_lookup("quic443-smb3_11.pcap", 88, 4);
}

static void test_keylog(void)
{
    char *path = NULL;
    int fd = g_file_open_tmp("sq-keylog-XXXXXX", &path, NULL);
    g_assert_cmpint(fd, >=, 0);
    const char *text =
        "# comment\n"
        "CLIENT_RANDOM 00 11\n"
        "SERVER_TRAFFIC_SECRET_0 0101010101010101010101010101010101010101010101010101010101010101 "
        "a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0\n"
        "CLIENT_TRAFFIC_SECRET_0 zz01010101010101010101010101010101010101010101010101010101010101 00\n";
    g_assert_cmpint(write(fd, text, strlen(text)), ==, (gssize)strlen(text));
    close(fd);
    char err[256];
    struct keylog *k = keylog_load(path, err, sizeof err);
    g_assert_nonnull(k);
    g_assert_cmpuint(keylog_secrets(k), ==, 1);
    g_assert_cmpuint(keylog_ignored(k), ==, 2);
    uint8_t r[32], out[48];
    memset(r, 1, sizeof r);
    g_assert_cmpuint(keylog_lookup(k, r, QUIC_SECRET_SERVER_TRAFFIC_0, out, sizeof out), ==, 32);
    g_assert_cmpuint(out[0], ==, 0xa1);
    g_assert_cmpuint(keylog_lookup(k, r, QUIC_SECRET_CLIENT_TRAFFIC_0, out, sizeof out), ==, 0);
    keylog_free(k);
    g_assert_null(keylog_load("/nonexistent/keylog", err, sizeof err));
    g_unlink(path);
    g_free(path);
}

static void test_allow_transport(void)
{
    struct policy p = policy_default();
    char err[128], buf[128];
    struct policy_conn_facts quic443 = { .transport = TRANSPORT_QUIC, .server_port = 443, .smb_version = 3 };
    struct policy_conn_facts direct445 = { .transport = TRANSPORT_DIRECT, .server_port = 445, .smb_version = 3 };
    struct policy_conn_facts direct8445 = { .transport = TRANSPORT_DIRECT, .server_port = 8445, .smb_version = 3 };
    /* Default: every direct-hosted transport, any port. */
    g_assert_cmpuint(policy_check_connection(&p, &quic443), ==, 0);
    g_assert_cmpuint(policy_check_connection(&p, &direct8445), ==, 0);
    g_assert_true(policy_parse_transports(&p, "direct:445,quic:443", err, sizeof err));
    g_assert_cmpstr(policy_transports_text(&p, buf, sizeof buf), ==, "direct:445,quic:443");
    g_assert_cmpuint(policy_check_connection(&p, &quic443), ==, 0);
    g_assert_cmpuint(policy_check_connection(&p, &direct445), ==, 0);
    g_assert_cmpuint(policy_check_connection(&p, &direct8445), ==, 1u << RULE_TRANSPORT);
    g_assert_true(policy_parse_transports(&p, "direct:445", err, sizeof err));
    g_assert_cmpuint(policy_check_connection(&p, &quic443), ==, 1u << RULE_TRANSPORT);
    g_assert_true(policy_parse_transports(&p, "direct:*", err, sizeof err));
    g_assert_cmpuint(policy_check_connection(&p, &direct8445), ==, 0);
    g_assert_true(policy_parse_transports(&p, "*", err, sizeof err));
    g_assert_cmpuint(policy_check_connection(&p, &quic443), ==, 0);
    g_assert_false(policy_parse_transports(&p, "smtp:25", err, sizeof err));
    g_assert_false(policy_parse_transports(&p, "quic:0", err, sizeof err));
    g_assert_false(policy_parse_transports(&p, "quic:44x", err, sizeof err));
    g_assert_false(policy_parse_transports(&p, "direct:445,,quic", err, sizeof err));
    g_assert_cmpstr(policy_rule_name(RULE_TRANSPORT), ==, "transport");
}

static void test_classify_quic(void)
{
    struct transport_obs o = { .carrier = CARRIER_QUIC, .server_port = 443, .handshake_seen = true };
    struct transport_verdict v = transport_classify(&o);
    g_assert_cmpint(v.cls, ==, TRANSPORT_QUIC);
    g_assert_true(v.evidence & EV_QUIC_ALPN);
    g_assert_false(v.evidence & EV_ALT_PORT);
    o.server_port = 445; /* 445 is an alternative port for QUIC */
    v = transport_classify(&o);
    g_assert_true(v.evidence & EV_ALT_PORT);
    g_assert_cmpstr(transport_class_name(TRANSPORT_QUIC), ==, "quic");
    /* NBSS messages inside QUIC do not make it NetBIOS. */
    o.session_requests = 1;
    g_assert_cmpint(transport_classify(&o).cls, ==, TRANSPORT_QUIC);
}

/* The CID index's hash: keyed (another key, another hash, for every ID
 * here), equal IDs equal whatever lies past their length, the length in
 * it (a prefix of zeros is another ID). */
static void test_cid_hash_keyed(void)
{
    unsigned differ = 0;
    for (unsigned i = 0; i < 500; i++) {
        struct quic_cid a, b;
        memset(&a, 0xAA, sizeof a);
        memset(&b, 0x55, sizeof b);
        a.len = b.len = (uint8_t)(i % (QUIC_MAX_CID + 1));
        for (unsigned k = 0; k < a.len; k++)
            a.id[k] = b.id[k] = (uint8_t)(i * 31 + k);
        g_assert_cmpuint(quic_table_cid_hash(&a, 7), ==, quic_table_cid_hash(&b, 7));
        differ += quic_table_cid_hash(&a, 7) != quic_table_cid_hash(&a, 9);
        if (a.len < QUIC_MAX_CID) {
            b.id[b.len] = 0;
            b.len++;
            g_assert_cmpuint(quic_table_cid_hash(&a, 7), !=, quic_table_cid_hash(&b, 7));
        }
    }
    g_assert_cmpuint(differ, ==, 500);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/quic-analyzer/without-keylog", test_without_keylog);
    g_test_add_func("/quic-analyzer/with-keylog", test_with_keylog);
    g_test_add_func("/quic-analyzer/split-hello", test_split_hello);
    g_test_add_func("/quic-analyzer/state-bytes", test_state_bytes);
    g_test_add_func("/quic-analyzer/state-bytes-keylog", test_state_bytes_keylog);
    g_test_add_func("/quic-analyzer/zero-rtt", test_zero_rtt);
    g_test_add_func("/quic-analyzer/other-alpn", test_other_alpn);
    g_test_add_func("/quic-analyzer/list-open", test_list_open);
    g_test_add_func("/quic-analyzer/one-check-after-first-flight", test_one_check_after_first_flight);
    g_test_add_func("/quic-analyzer/keylog", test_keylog);
    g_test_add_func("/quic-analyzer/allow-transport", test_allow_transport);
    g_test_add_func("/quic-analyzer/classify", test_classify_quic);
    g_test_add_func("/quic-analyzer/cid-hash-keyed", test_cid_hash_keyed);
    return g_test_run();
}
