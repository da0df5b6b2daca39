/* packet_decode() against tshark over the public corpus (../shared/corpus,
 * SMBSCOPE_CORPUS): addresses, ports, TCP lengths and timestamps of every
 * frame must agree.  A meson test of its own (packet-corpus): it exits 77
 * (skipped) when the corpus or tshark is absent, fails then under CI=true. */
#include <arpa/inet.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "capture.h"
#include "ipfrag.h"
#include "packet.h"
#include "test_env.h"

/* Public captures (read-only, outside the repository) decoded by us and by
 * tshark. */
enum { TS_FRAME, TS_IP_SRC, TS_IP_DST, TS_IP6_SRC, TS_IP6_DST, TS_TCP_SPORT, TS_TCP_DPORT, TS_TCP_LEN, TS_UDP_SPORT,
       TS_UDP_DPORT, TS_TIME, TS_NFIELDS };

static const char *const tshark_fields[TS_NFIELDS] = {
    "frame.number", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport", "tcp.dstport", "tcp.len",
    "udp.srcport", "udp.dstport", "frame.time_epoch",
};

/* "1700000000.123456789" -> microseconds, truncating like capture.c does */
static int64_t epoch_to_us(const char *text)
{
    char *end = NULL;
    int64_t sec = g_ascii_strtoll(text, &end, 10);
    int64_t us = 0;
    int digits = 0;
    if (end && *end == '.')
        for (const char *q = end + 1; *q >= '0' && *q <= '9' && digits < 6; q++, digits++)
            us = us * 10 + (*q - '0');
    for (; digits < 6; digits++)
        us *= 10;
    return sec * 1000000 + us;
}

static char *tshark;

static void free_strv(gpointer p) { g_strfreev(p); }

static GPtrArray *tshark_rows(const char *path)
{
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
    const char *fixed[] = { tshark, "-n", "-r", path, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|", "-E", "separator=/t" };
    for (size_t i = 0; i < G_N_ELEMENTS(fixed); i++)
        g_ptr_array_add(argv, g_strdup(fixed[i]));
    for (int i = 0; i < TS_NFIELDS; i++) {
        g_ptr_array_add(argv, g_strdup("-e"));
        g_ptr_array_add(argv, g_strdup(tshark_fields[i]));
    }
    g_ptr_array_add(argv, NULL);
    char *out = NULL;
    int status = 0;
    GError *err = NULL;
    bool ok = g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                           &out, NULL, &status, &err);
    g_ptr_array_unref(argv);
    if (!ok) {
        g_clear_error(&err);
        return NULL;
    }
    GPtrArray *rows = g_ptr_array_new_with_free_func(free_strv);
    char **lines = g_strsplit(out, "\n", -1);
    for (char **l = lines; *l; l++) {
        if (!**l)
            continue;
        char **cols = g_strsplit(*l, "\t", TS_NFIELDS);
        if (g_strv_length(cols) == TS_NFIELDS)
            g_ptr_array_add(rows, cols);
        else
            g_strfreev(cols);
    }
    g_strfreev(lines);
    g_free(out);
    return rows;
}

/* One occurrence of a '|'-joined tshark field: the first (outer header, or
 * the ICMP error itself), or the last (the packet inside a GRE tunnel). */
static const char *occurrence(const char *list, bool last, char *buf, size_t len)
{
    const char *start = list;
    if (last) {
        const char *bar = strrchr(list, '|');
        if (bar)
            start = bar + 1;
    }
    size_t n = strcspn(start, "|");
    if (n >= len)
        n = len - 1;
    memcpy(buf, start, n);
    buf[n] = '\0';
    return buf;
}

static void addr_text(const struct ip_addr *a, char *buf, size_t len)
{
    buf[0] = '\0';
    if (a->family == 4 || a->family == 6)
        inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->bytes, buf, (socklen_t)len);
}

static unsigned compare_one_file(const char *path, unsigned *frames_checked)
{
    char errbuf[CAPTURE_ERRBUF_SIZE];
    struct capture *cap = capture_open(path, errbuf);
    if (!cap)
        return 0;
    if (!packet_linktype_supported(capture_linktype(cap))) {
        capture_close(cap);
        return 0;
    }
    GPtrArray *rows = tshark_rows(path);
    if (!rows) {
        capture_close(cap);
        return 0;
    }
    struct ipfrag_table *frags = ipfrag_new(NULL);
    struct capture_record rec;
    unsigned bad = 0;
    guint row = 0;
    while (capture_next(cap, &rec) == 1 && row < rows->len) {
        char **raw = g_ptr_array_index(rows, row++);
        struct packet pkt;
        enum packet_status st = packet_decode(capture_linktype(cap), &rec, frags, &pkt);
        /* one occurrence per field: the innermost IP header after a tunnel */
        char occ[TS_NFIELDS][64];
        char *ts[TS_NFIELDS];
        for (int f = 0; f < TS_NFIELDS; f++) {
            bool inner = pkt.tunnel_depth && (f == TS_IP_SRC || f == TS_IP_DST || f == TS_IP6_SRC || f == TS_IP6_DST);
            occurrence(raw[f], inner, occ[f], sizeof occ[f]);
            ts[f] = occ[f];
        }
        g_assert_cmpuint(g_ascii_strtoull(ts[TS_FRAME], NULL, 10), ==, rec.frame);
        char why[160] = "";
        if (epoch_to_us(ts[TS_TIME]) != rec.ts_us)
            g_snprintf(why, sizeof why, "timestamp %" G_GINT64_FORMAT " us, tshark %s", rec.ts_us, ts[TS_TIME]);
        bool ts_ip = ts[TS_IP_SRC][0] || ts[TS_IP6_SRC][0];
        char src[64], dst[64];
        addr_text(&pkt.src, src, sizeof src);
        addr_text(&pkt.dst, dst, sizeof dst);
        const char *want_src = pkt.src.family == 6 ? ts[TS_IP6_SRC] : ts[TS_IP_SRC];
        const char *want_dst = pkt.src.family == 6 ? ts[TS_IP6_DST] : ts[TS_IP_DST];
        char ports[64];
        if (why[0]) {
            /* reported below */
        } else if (st == PKT_NOT_IP || st == PKT_UNSUPPORTED_LINK) {
            if (ts_ip)
                g_snprintf(why, sizeof why, "%s but tshark sees IP %s%s", packet_status_name(st), ts[TS_IP_SRC], ts[TS_IP6_SRC]);
        } else if (st == PKT_OK || st == PKT_FRAG_HELD) {
            if (!ts_ip)
                g_snprintf(why, sizeof why, "we decode IP %s, tshark does not", src);
            else if (strcmp(src, want_src) || strcmp(dst, want_dst))
                g_snprintf(why, sizeof why, "addresses %s > %s, tshark %s > %s", src, dst, want_src, want_dst);
        }
        if (!why[0] && st == PKT_OK) {
            const char *sp = "", *dp = "";
            uint16_t our_sp = pkt.sport, our_dp = pkt.dport;
            if (pkt.l4 == L4_TCP) {
                sp = ts[TS_TCP_SPORT];
                dp = ts[TS_TCP_DPORT];
                char len[16];
                g_snprintf(len, sizeof len, "%u", pkt.payload_wire_len);
                if (strcmp(len, ts[TS_TCP_LEN]))
                    g_snprintf(why, sizeof why, "tcp.len %s, tshark %s", len, ts[TS_TCP_LEN]);
            } else if (pkt.l4 == L4_UDP) {
                sp = ts[TS_UDP_SPORT];
                dp = ts[TS_UDP_DPORT];
            } else if (pkt.l4 == L4_ICMP_UNREACH && pkt.icmp.has_ports) {
                sp = pkt.icmp.proto == 6 ? ts[TS_TCP_SPORT] : ts[TS_UDP_SPORT];
                dp = pkt.icmp.proto == 6 ? ts[TS_TCP_DPORT] : ts[TS_UDP_DPORT];
                our_sp = pkt.icmp.sport;
                our_dp = pkt.icmp.dport;
            }
            g_snprintf(ports, sizeof ports, "%u", our_sp);
            if (!why[0] && sp[0] && strcmp(ports, sp))
                g_snprintf(why, sizeof why, "source port %s, tshark %s", ports, sp);
            g_snprintf(ports, sizeof ports, "%u", our_dp);
            if (!why[0] && dp[0] && strcmp(ports, dp))
                g_snprintf(why, sizeof why, "destination port %s, tshark %s", ports, dp);
            if (!why[0] && (pkt.l4 == L4_TCP || pkt.l4 == L4_UDP) && !sp[0])
                g_snprintf(why, sizeof why, "we decode %s ports, tshark has none", pkt.l4 == L4_TCP ? "TCP" : "UDP");
        }
        (*frames_checked)++;
        if (why[0]) {
            bad++;
            g_test_message("%s frame %" G_GUINT64_FORMAT " (%s): %s", path, rec.frame, packet_status_name(st), why);
        }
    }
    ipfrag_free(frags);
    g_ptr_array_unref(rows);
    capture_close(cap);
    return bad;
}

static void test_tshark_corpus(void)
{
    char *dir = test_env_corpus();
    unsigned bad = 0, frames = 0, files = 0;
    /* the corpus holds one folder per source repository; loose files count too */
    GPtrArray *dirs = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(dirs, g_strdup(dir));
    for (guint i = 0; i < dirs->len; i++) {
        const char *here = g_ptr_array_index(dirs, i);
        GDir *d = g_dir_open(here, 0, NULL);
        const char *name;
        while (d && (name = g_dir_read_name(d))) {
            char *path = g_build_filename(here, name, NULL);
            GStatBuf stb;
            if (i == 0 && g_file_test(path, G_FILE_TEST_IS_DIR)) {
                g_ptr_array_add(dirs, path);
                continue;
            }
            /* the two multi-megabyte files add time, not coverage */
            if (g_stat(path, &stb) == 0 && S_ISREG(stb.st_mode) && stb.st_size < 1000000) {
                bad += compare_one_file(path, &frames);
                files++;
            }
            g_free(path);
        }
        if (d)
            g_dir_close(d);
    }
    g_ptr_array_unref(dirs);
    g_test_message("compared %u frames of %u files with tshark: %u differ", frames, files, bad);
    g_assert_cmpuint(frames, >, 0);
    g_assert_cmpuint(bad, ==, 0);
    g_free(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    tshark = test_env_tshark();
    g_test_add_func("/packet/tshark-corpus", test_tshark_corpus);
    int status = g_test_run();
    g_free(tshark);
    return status;
}
