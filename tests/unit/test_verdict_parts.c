/* test_verdict_parts.c - the capture-filter probes (libpcap BPF against
 * probe packets per watched service), exact host counting up to a million
 * addresses, and the undecided rules of the policy. */
#include <glib.h>
#include <pcap/pcap.h>
#include <string.h>

#include "distinct.h"
#include "filter_check.h"
#include "filter_scan.h"
#include "hosts.h"
#include "policy.h"

#define NB_PROBES ((1u << PROBE_NBNS) | (1u << PROBE_NBDGM) | (1u << PROBE_NBSS_TCP) | (1u << PROBE_NBSS_UDP))

static uint32_t blinded(int dlt, const char *filter)
{
    uint32_t b = 0xFFFFFFFFu;
    char err[256];
    g_assert_true(filter_check(dlt, filter, &b, err, sizeof err));
    return b;
}

static void test_filter_445_blinds_netbios(void)
{
    static const int dlts[] = { DLT_EN10MB, DLT_RAW, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_NULL, DLT_LOOP,
                                DLT_PPP, DLT_PPP_SERIAL, DLT_C_HDLC, DLT_IEEE802_11, DLT_IEEE802_11_RADIO };
    for (size_t i = 0; i < G_N_ELEMENTS(dlts); i++) {
        g_assert_cmphex(blinded(dlts[i], "tcp port 445"), ==, NB_PROBES);
        g_assert_cmphex(blinded(dlts[i], "udp port 137"), ==, (NB_PROBES & ~(1u << PROBE_NBNS)) | (1u << PROBE_SMB_TCP));
        g_assert_cmphex(blinded(dlts[i], "port 137 or port 138 or port 139 or port 445"), ==, 0);
        g_assert_cmphex(blinded(dlts[i], ""), ==, 0);
    }
}

static void test_filter_directions_and_families(void)
{
    /* only one direction kept: the answers are lost */
    g_assert_cmphex(blinded(DLT_EN10MB, "dst port 445 or dst port 137 or dst port 138 or dst port 139") & (1u << PROBE_SMB_TCP),
                    !=, 0);
    /* IPv4 only: SMB over IPv6 hidden; NetBIOS (IPv4 only) not */
    g_assert_cmphex(blinded(DLT_EN10MB, "ip"), ==, 1u << PROBE_SMB_TCP);
    /* SYNs only */
    g_assert_cmphex(blinded(DLT_EN10MB, "udp or tcp[tcpflags] & tcp-syn != 0") & (1u << PROBE_SMB_TCP), !=, 0);
    uint32_t b;
    char err[256];
    g_assert_false(filter_check(DLT_EN10MB, "tcp port", &b, err, sizeof err));
    g_assert_nonnull(strstr(err, "compile"));
    g_assert_false(filter_check(DLT_USER0, "tcp", &b, err, sizeof err));
}

/* The length bound: at FILTER_CHECK_MAX_LEN still compiled and judged, one
 * byte more refused with the reason (libpcap's code generator is worse
 * than linear in the terms). */
static void test_filter_length_bound(void)
{
    GString *f = g_string_new("tcp port 445");
    for (int i = 1; i < FILTER_CHECK_MAX_TERMS; i++)
        g_string_append(f, " or tcp port 445");
    while (f->len < FILTER_CHECK_MAX_LEN)
        g_string_append_c(f, ' ');
    g_assert_cmpuint(f->len, ==, FILTER_CHECK_MAX_LEN);
    g_assert_cmphex(blinded(DLT_EN10MB, f->str), ==, NB_PROBES);
    g_string_append_c(f, ' ');
    uint32_t b;
    char err[256];
    g_assert_false(filter_check(DLT_EN10MB, f->str, &b, err, sizeof err));
    g_assert_nonnull(strstr(err, "4097 bytes long"));
    g_string_free(f, TRUE);
}

/* The terms bound: FILTER_CHECK_MAX_TERMS port terms still judged, one
 * more refused with the reason, far under the length bound (review,
 * 2026-12-02: 4 KiB of "port 1 or ..." took 5 s to compile). */
static void test_filter_terms_bound(void)
{
    GString *f = g_string_new("port 445");
    for (int i = 1; i < FILTER_CHECK_MAX_TERMS; i++)
        g_string_append(f, " or port 445");
    g_assert_cmphex(blinded(DLT_EN10MB, f->str), ==, NB_PROBES);
    g_string_append(f, " or host 192.0.2.1");
    uint32_t b;
    char err[256];
    g_assert_false(filter_check(DLT_EN10MB, f->str, &b, err, sizeof err));
    g_assert_nonnull(strstr(err, "65 terms"));
    g_string_free(f, TRUE);
}

/* Terms libpcap makes of an omitted qualifier count too (review: 4 KiB of
 * "port 1 or 2 or ..." named port once and took 105 s to compile):
 * FILTER_CHECK_MAX_TERMS judged, one more refused; "&&" and "||" as the
 * words. */
static void test_filter_implied_terms_bound(void)
{
    GString *f = g_string_new("port 1");
    for (int i = 2; i <= FILTER_CHECK_MAX_TERMS; i++)
        g_string_append_printf(f, i % 2 ? " or %d" : " || %d", i);
    uint32_t b;
    char err[256];
    g_assert_true(filter_check(DLT_EN10MB, f->str, &b, err, sizeof err));
    g_string_append(f, " or 65");
    g_assert_false(filter_check(DLT_EN10MB, f->str, &b, err, sizeof err));
    g_assert_nonnull(strstr(err, "65 terms"));
    g_string_assign(f, "src 10.0.0.1");
    for (int i = 2; i <= FILTER_CHECK_MAX_TERMS + 1; i++)
        g_string_append_printf(f, " or 10.0.0.%d", i);
    g_assert_false(filter_check(DLT_EN10MB, f->str, &b, err, sizeof err));
    g_assert_nonnull(strstr(err, "65 terms"));
    g_string_free(f, TRUE);
}

/* Names libpcap would look up (DNS) are refused before it compiles the
 * filter (review: a host name in a capture's if_filter made smbscope
 * query DNS, reading the capture and merging its report); port, protocol
 * and 802.11 type names, numbers and addresses are compiled. */
static void test_filter_names(void)
{
    static const char *const named[] = {
        "host fileserver", "src fileserver.example.com", "fileserver", "port 21 or src files",
        "vlan 100 and host x1", "tcp port 445 or host 10.0.0.1 or files", "net corpnet", "ether host cafe.beef",
        "gateway gw", "not \\host",
        /* review F1: words libpcap reads as IDs although they start like a
         * number word, an address or an IPv6 address */
        "host tcp-leak.example", "host icmp-leak.example", "host icmp6-leak.example", "host 1.2.3.4.5",
        "host 10.0.0.1.", "host leak.example:", "host leak.example:1", "host ab:cd:ef:01:23:45.leak.example",
        "host 0x0a.leak",
    };
    static const char *const plain[] = {
        "tcp port 445 or udp portrange 137-139", "port 445 or netbios-ssn", "ip proto 6 or ip proto \\udp",
        "host 10.0.0.1 or 10.0.0.2", "ether host 00:11:22:33:44:55", "ether host aabb.ccdd.eeff",
        "ether src 001122334455", "host fe80::1 or ::1", "ip6 and not host 2001:db8::1", "net 10.0.0.0/8",
        "net 10.0.0.0 mask 255.0.0.0", "tcp[tcpflags] & tcp-syn != 0", "icmp[icmptype] == icmp-echo",
        "not host 10.1.1.1 and tcp port 445", "port 21 or ftp-data", "ip[0] & 0xf = 5", "less 100 or greater 0x40",
        "icmp6[icmp6type] == icmp6-echo", "tcp[tcpflags] & (tcp-syn|tcp-fin) != 0", "host ::ffff:10.0.0.1",
        "net 10.0.0", "ether host de.ad.be.ef.00.ca",
    };
    uint32_t b;
    char err[256];
    struct filter_scan scan;
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        filter_scan(named[i], &scan);
        if (!scan.host_name[0])
            g_error("%s: no name found", named[i]);
        g_assert_false(filter_check(DLT_EN10MB, named[i], &b, err, sizeof err));
        g_assert_nonnull(strstr(err, "does not look up names"));
    }
    filter_scan("port 21 or src files", &scan);
    g_assert_cmpstr(scan.host_name, ==, "files");
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        filter_scan(plain[i], &scan);
        if (scan.host_name[0])
            g_error("%s: %s taken for a host name", plain[i], scan.host_name);
        if (!filter_check(DLT_EN10MB, plain[i], &b, err, sizeof err))
            g_error("%s: %s", plain[i], err);
    }
}

static void test_hosts_exact_million(void)
{
    struct host_table *t = host_table_new(0);
    struct ip_addr a;
    memset(&a, 0, sizeof a);
    a.family = 6;
    a.bytes[0] = 0xfd;
    for (uint32_t i = 0; i < 1000000; i++) {
        memcpy(a.bytes + 12, &i, 4);
        g_assert_nonnull(host_table_get(t, &a, i));
    }
    for (uint32_t i = 0; i < 1000000; i += 997) { /* again: no double counting */
        memcpy(a.bytes + 12, &i, 4);
        host_table_get(t, &a, i);
    }
    bool est = true;
    g_assert_cmpuint(host_table_total(t, &est), ==, 1000000);
    g_assert_false(est);
    g_assert_cmpuint(host_table_size(t), ==, 1000000);
    host_table_free(t);
}

static void test_hosts_estimate_past_cap(void)
{
    struct host_table *t = host_table_new(1000);
    struct ip_addr a;
    memset(&a, 0, sizeof a);
    a.family = 4;
    for (uint32_t i = 0; i < 200000; i++) {
        memcpy(a.bytes, &i, 4);
        host_table_get(t, &a, 0);
    }
    bool est = false;
    uint64_t n = host_table_total(t, &est);
    g_assert_true(est);
    g_assert_cmpuint(host_table_size(t), ==, 1000); /* records capped */
    g_assert_cmpfloat((double)n, >, 200000 * 0.95);  /* HyperLogLog, 2^14 registers: ~0.8 % error */
    g_assert_cmpfloat((double)n, <, 200000 * 1.05);
    host_table_free(t);
}

/* The index's slots hold a tag of the address beside the record number
 * (hosts.c: num_mask): every address found at its own record before and
 * after the index grows, after a sort, and once records past the tag's
 * room (a table of cap 4 taken past it) turned the tags off; addresses
 * never added are not found; the warm hint names a record or none. */
static void check_found(struct host_table *t, uint32_t n, uint32_t salt)
{
    struct ip_addr a;
    for (uint32_t i = 0; i < n + 50; i++) {
        memset(&a, 0, sizeof a);
        a.family = i % 3 ? 4 : 6;
        uint32_t v = i * 2654435761u ^ salt;
        memcpy(a.bytes, &v, 4);
        struct host_rec *r = host_table_find(t, &a);
        if (i < n) {
            g_assert_nonnull(r);
            g_assert_true(memcmp(&r->addr, &a, sizeof a) == 0);
        } else {
            g_assert_null(r);
        }
        uint32_t w = host_table_warm(t, &a, 1);
        g_assert_cmpuint(w, <=, host_table_size(t));
    }
}

static void add_n(struct host_table *t, uint32_t n, uint32_t salt, uint32_t bound)
{
    struct ip_addr a;
    for (uint32_t i = 0; i < n; i++) {
        memset(&a, 0, sizeof a);
        a.family = i % 3 ? 4 : 6;
        uint32_t v = i * 2654435761u ^ salt;
        memcpy(a.bytes, &v, 4);
        struct host_rec *r = bound ? host_table_get_past_cap(t, &a, (int64_t)(n - i), bound)
                                   : host_table_get(t, &a, (int64_t)(n - i));
        g_assert_nonnull(r);
    }
}

static void test_hosts_tagged_index(void)
{
    struct host_table *t = host_table_new(65536);
    add_n(t, 50000, 7, 0);
    check_found(t, 50000, 7);
    host_table_sort(t); /* records renumbered: first seen is the last added */
    check_found(t, 50000, 7);
    host_table_free(t);
    t = host_table_new(4); /* room for 3 caps: tags on, then off past them */
    add_n(t, 100, 9, 200);
    g_assert_cmpuint(host_table_size(t), ==, 100);
    check_found(t, 100, 9);
    host_table_sort(t);
    check_found(t, 100, 9);
    host_table_free(t);
}

static void test_broadcasts_are_not_hosts(void)
{
    struct host_table *t = host_table_new(0);
    struct ip_addr a = { 4, { 255, 255, 255, 255 } }, m = { 4, { 224, 0, 0, 251 } }, s = { 4, { 10, 213, 1, 255 } };
    struct ip_addr v6 = { 6, { 0xff, 0x02, [15] = 0xfb } };
    g_assert_true(host_is_broadcast(t, &a));
    g_assert_true(host_is_broadcast(t, &m));
    g_assert_true(host_is_broadcast(t, &v6));
    g_assert_false(host_is_broadcast(t, &s));
    host_table_learn_broadcast(t, &s);
    g_assert_true(host_is_broadcast(t, &s));
    host_table_free(t);
}

static void test_policy_undecided(void)
{
    struct policy p = policy_default();
    p.require_signing = p.require_encryption = p.require_kerberos = true;
    p.min_dialect = 0x0311;
    struct policy_conn_facts f;
    memset(&f, 0, sizeof f);
    /* mid-stream SMB2 with nothing negotiated seen: nothing can be decided */
    f.transport = TRANSPORT_UNKNOWN_START;
    f.smb_seen = f.messages_seen = true;
    f.auth_unseen = true;
    g_assert_cmphex(policy_check_connection(&p, &f), ==, 0);
    g_assert_cmphex(policy_undecided_connection(&p, &f), ==,
                    (1u << RULE_NBSS_TRANSPORT) | (1u << RULE_MIN_DIALECT) | (1u << RULE_SIGNING) |
                        (1u << RULE_ENCRYPTION) | (1u << RULE_KERBEROS));
    /* the whole negotiate seen, unsigned, unencrypted, NTLM: all decided, all broken */
    memset(&f, 0, sizeof f);
    f.transport = TRANSPORT_DIRECT;
    f.smb_version = 3;
    f.dialect = 0x0300;
    f.negotiate_seen = f.smb_seen = f.messages_seen = f.start_seen = true;
    f.sessions_ntlm = 1;
    g_assert_cmphex(policy_check_connection(&p, &f), ==,
                    (1u << RULE_MIN_DIALECT) | (1u << RULE_SIGNING) | (1u << RULE_ENCRYPTION) | (1u << RULE_KERBEROS));
    g_assert_cmphex(policy_undecided_connection(&p, &f), ==, 0);
    /* a gap could hide a signed or encrypted PDU: undecided, not a pass */
    f.content_lost = true;
    g_assert_cmphex(policy_undecided_connection(&p, &f), ==, (1u << RULE_SIGNING) | (1u << RULE_ENCRYPTION));
    /* SMB over QUIC read without its keys: the content rules are undecided,
     * NBSS and SMB1 are ruled out by ALPN "smb"; decrypted, it is judged */
    memset(&f, 0, sizeof f);
    f.transport = TRANSPORT_QUIC;
    f.start_seen = true;
    g_assert_true(policy_content_hidden(&f));
    g_assert_cmphex(policy_check_connection(&p, &f), ==, 0);
    g_assert_cmphex(policy_undecided_connection(&p, &f), ==,
                    (1u << RULE_MIN_DIALECT) | (1u << RULE_SIGNING) | (1u << RULE_ENCRYPTION) | (1u << RULE_KERBEROS));
    struct policy dflt = policy_default(); /* no NetBIOS, no SMB1: passes */
    g_assert_cmphex(policy_undecided_connection(&dflt, &f), ==, 0);
    f.smb_version = 3;
    f.dialect = 0x0311;
    f.negotiate_seen = f.smb_seen = f.messages_seen = f.signed_seen = true;
    f.sessions_kerberos = 1;
    g_assert_false(policy_content_hidden(&f));
    g_assert_cmphex(policy_undecided_connection(&p, &f), ==, 0);
    /* every rule and finding has words and a remedy table row */
    for (int r = 0; r < RULE_COUNT; r++)
        g_assert_nonnull(policy_rule_info((enum policy_rule)r)->name);
    for (int k = 0; k < FINDING_COUNT; k++)
        g_assert_nonnull(finding_info((enum finding_kind)k)->title);
    for (int r = 1; r < REMEDY_COUNT; r++)
        g_assert_nonnull(remedy_info((enum remedy_id)r)->summary);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/filter/445-blinds-netbios", test_filter_445_blinds_netbios);
    g_test_add_func("/filter/directions-families", test_filter_directions_and_families);
    g_test_add_func("/filter/length-bound", test_filter_length_bound);
    g_test_add_func("/filter/terms-bound", test_filter_terms_bound);
    g_test_add_func("/filter/implied-terms-bound", test_filter_implied_terms_bound);
    g_test_add_func("/filter/names", test_filter_names);
    g_test_add_func("/hosts/exact-million", test_hosts_exact_million);
    g_test_add_func("/hosts/estimate-past-cap", test_hosts_estimate_past_cap);
    g_test_add_func("/hosts/broadcasts", test_broadcasts_are_not_hosts);
    g_test_add_func("/hosts/tagged-index", test_hosts_tagged_index);
    g_test_add_func("/policy/undecided", test_policy_undecided);
    return g_test_run();
}
