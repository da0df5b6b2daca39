/* options.c - command line parsing (tcpdump/tshark habits: -r FILE, -o FILE,
 * -n, -q; several inputs; "-" for stdin; -i IFACE; a capture filter after
 * the options when -r or -i is given).  Every option here is in --help and
 * in smbscope.1 (tests/e2e/man_check.py holds the two together). */
#include "options.h"

#include <glib.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>

#include "dialect.h"

struct raw_options {
    gchar **read_files;
    gchar *output;
    gchar *format;
    gboolean quiet, version, numeric;
    gchar *write_streams;
    gchar *tls_keylog;
    gboolean allow_netbios, allow_smb1, require_signing, require_encryption, require_kerberos;
    gdouble race_window;
    gchar *min_dialect;
    gchar *allow_transport;
    gboolean no_fast_path;
    gint64 max_connections, max_netbios_flows, reasm_dir_cap, reasm_total_cap, pdu_cap;
    gchar *connections;
    gint64 connections_limit, max_conn_groups;
    /* capture grammar */
    gchar **interfaces, **autostop;
    gchar *filter_file, *display_filter, *drop_user, *write_file, *report_every, *observer_name;
    gboolean list_interfaces, no_promisc, verbose, merge_state, no_merge_state;
    gint jobs;
    gint64 count;
    gint snaplen, buffer_kib;
};

static bool parse_format(const char *s, enum report_format *f)
{
    static const struct { const char *name; enum report_format f; } formats[] = {
        { "text", FORMAT_TEXT }, { "json", FORMAT_JSON }, { "ndjson", FORMAT_NDJSON }, { "auto", FORMAT_AUTO },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(formats); i++)
        if (strcmp(s, formats[i].name) == 0) {
            *f = formats[i].f;
            return true;
        }
    return false;
}

static bool parse_conn_detail(const char *s, enum conn_detail *d)
{
    static const struct { const char *name; enum conn_detail d; } modes[] = {
        { "first", CONN_DETAIL_FIRST }, { "all", CONN_DETAIL_ALL },
        { "violations", CONN_DETAIL_VIOLATIONS }, { "none", CONN_DETAIL_NONE },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(modes); i++)
        if (strcmp(s, modes[i].name) == 0) {
            *d = modes[i].d;
            return true;
        }
    return false;
}

static bool nonneg(gint64 v, const char *name, char *errbuf, size_t errlen)
{
    if (v < 0) {
        snprintf(errbuf, errlen, "%s must not be negative", name);
        return false;
    }
    return true;
}

#define CAPTURE_EXAMPLES                                                                   \
    "Examples:\n"                                                                         \
    "  smbscope capture.pcapng\n"                                                         \
    "  smbscope -r capture.pcap 'host 10.0.0.5 and port 445'\n"                           \
    "  smbscope -i eth0 -a duration:600 -w proof.pcapng\n"                                \
    "  smbscope -i any -Z nobody -T ndjson 'port 137 or port 138 or port 139 or port 445'\n" \
    "  smbscope -i eth0 --report-every 1h -o smbscope.log\n"                              \
    "  smbscope -q -T json site-a.pcap > a.json   (one per capture, then:)\n"             \
    "  smbscope merge a.json b.json   (one verdict: the same as reading both captures)\n"  \
    "  (merge refuses a capture part given twice: in two reports, or in merged ones,\n"    \
    "   and parts that share packets: cuts of one capture that overlap)\n"                 \
    "See smbscope(1)."

/* Longest filter file read by -F. */
#define FILTER_FILE_MAX (64 * 1024)

/* "90", "90s", "1.5m", "2h", "1d" -> microseconds; false when malformed. */
static bool parse_duration(const char *s, int64_t *us)
{
    static const struct { const char *suffix; double mult; } units[] = {
        { "", 1e6 }, { "s", 1e6 }, { "m", 60e6 }, { "h", 3600e6 }, { "d", 86400e6 },
    };
    char *end = NULL;
    double v = g_ascii_strtod(s, &end);
    if (end == s || !(v > 0) || v > 1e9)
        return false;
    for (size_t i = 0; i < G_N_ELEMENTS(units); i++)
        if (strcmp(end, units[i].suffix) == 0) {
            *us = (int64_t)(v * units[i].mult);
            return *us > 0;
        }
    return false;
}

static bool parse_count(const char *s, uint64_t *n)
{
    guint64 v;
    if (!g_ascii_string_to_unsigned(s, 10, 1, G_MAXUINT64 / 1000, &v, NULL))
        return false;
    *n = v;
    return true;
}

/* tshark's -a conditions, each at most once; the smallest packet limit wins
 * over -c. */
static bool parse_autostop(struct config *cfg, gchar **conds, char *errbuf, size_t errlen)
{
    for (gchar **c = conds; c && *c; c++) {
        const char *colon = strchr(*c, ':');
        const char *val = colon ? colon + 1 : "";
        size_t klen = colon ? (size_t)(colon - *c) : strlen(*c);
        int64_t us = 0;
        uint64_t n = 0;
        if (klen == 8 && strncmp(*c, "duration", klen) == 0 && parse_duration(val, &us)) {
            cfg->stop_after_us = (uint64_t)us;
        } else if (klen == 7 && strncmp(*c, "packets", klen) == 0 && parse_count(val, &n)) {
            if (!cfg->max_packets || n < cfg->max_packets)
                cfg->max_packets = n;
        } else if (klen == 8 && strncmp(*c, "filesize", klen) == 0 && parse_count(val, &n)) {
            cfg->stop_filesize = n * 1000; /* kB, as tshark counts them */
        } else {
            snprintf(errbuf, errlen, "-a '%s': expected duration:SECONDS, packets:N or filesize:KB (positive numbers)", *c);
            return false;
        }
    }
    return true;
}

/* -F FILE: the whole file is the expression (newlines are blanks to libpcap). */
static char *read_filter_file(const char *path, char *errbuf, size_t errlen)
{
    gchar *text = NULL;
    gsize len = 0;
    GError *err = NULL;
    if (!g_file_get_contents(path, &text, &len, &err)) {
        snprintf(errbuf, errlen, "-F %s: %s (give a readable file holding a filter expression)", path, err->message);
        g_error_free(err);
        return NULL;
    }
    if (len > FILTER_FILE_MAX || strlen(text) != len) {
        snprintf(errbuf, errlen, "-F %s: not a filter expression (binary, or larger than %d bytes)", path, FILTER_FILE_MAX);
        g_free(text);
        return NULL;
    }
    /* one line: newlines and runs of blanks are one blank to libpcap, and
     * the expression is quoted in reports */
    char *w = text;
    for (const char *r = text; *r; r++) {
        bool blank = g_ascii_isspace(*r);
        if (!blank || (w > text && w[-1] != ' '))
            *w++ = blank ? ' ' : *r;
    }
    *w = '\0';
    return g_strchomp(text);
}

/* libpcap compiles a filter for a link type; the inputs' are not known yet,
 * so the syntax check accepts what any of the usual ones accepts (the real
 * compilation, per input, reports a link-type mismatch). */
static bool filter_syntax_ok(const char *expr, char *errbuf, size_t errlen)
{
    static const int dlts[] = { DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW };
    char first[PCAP_ERRBUF_SIZE] = "";
    for (size_t i = 0; i < G_N_ELEMENTS(dlts); i++) {
        pcap_t *p = pcap_open_dead(dlts[i], 262144);
        if (!p)
            break;
        struct bpf_program prog;
        int rc = pcap_compile(p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN);
        if (rc == 0)
            pcap_freecode(&prog);
        else if (!first[0])
            snprintf(first, sizeof first, "%s", pcap_geterr(p));
        pcap_close(p);
        if (rc == 0)
            return true;
    }
    snprintf(errbuf, errlen, "capture filter '%s': %s (see pcap-filter(7); quote the whole expression)", expr, first);
    return false;
}

/* Everything the capture grammar adds: interfaces, filter, limits. */
static bool capture_options(struct config *cfg, struct raw_options *o, char *errbuf, size_t errlen)
{
    if (o->display_filter) {
        snprintf(errbuf, errlen, "-Y '%s': smbscope has no display filter; use the smbscope plugin in tshark "
                 "(tshark -2 -r FILE -Y 'smbscope.violation': its verdicts need the second pass), or a capture "
                 "filter here", o->display_filter);
        return false;
    }
    cfg->list_interfaces = o->list_interfaces;
    cfg->no_promisc = o->no_promisc;
    cfg->verbose = o->verbose;
    cfg->interfaces = o->interfaces;
    o->interfaces = NULL;
    cfg->n_interfaces = cfg->interfaces ? (int)g_strv_length(cfg->interfaces) : 0;
    cfg->drop_user = o->drop_user;
    o->drop_user = NULL;
    cfg->write_file = o->write_file;
    o->write_file = NULL;
    cfg->observer_name = o->observer_name ? o->observer_name : g_strdup(g_get_host_name());
    o->observer_name = NULL;
    if (o->snaplen < 0 || o->snaplen > 262144) {
        snprintf(errbuf, errlen, "-s %d: the snapshot length is 1 to 262144 bytes (0 for the default)", o->snaplen);
        return false;
    }
    cfg->snaplen = o->snaplen;
    if (o->buffer_kib < 0 || o->buffer_kib > 4 * 1024 * 1024) {
        snprintf(errbuf, errlen, "-B %d: the buffer is 1 to 4194304 KiB (0 for the default)", o->buffer_kib);
        return false;
    }
    cfg->buffer_kib = o->buffer_kib;
    if (o->count < 0) {
        snprintf(errbuf, errlen, "-c must not be negative");
        return false;
    }
    cfg->max_packets = (uint64_t)o->count;
    if (!parse_autostop(cfg, o->autostop, errbuf, errlen))
        return false;
    if (cfg->stop_filesize && !cfg->write_file) {
        snprintf(errbuf, errlen, "-a filesize:KB limits the file -w writes: give -w FILE too");
        return false;
    }
    if (o->report_every && !parse_duration(o->report_every, &cfg->report_every_us)) {
        snprintf(errbuf, errlen, "--report-every '%s': expected a duration such as 30s, 5m, 1h", o->report_every);
        return false;
    }
    if (cfg->report_every_us && cfg->report_every_us < 1000000) {
        snprintf(errbuf, errlen, "--report-every is at least one second");
        return false;
    }
    if (cfg->n_interfaces && o->read_files) {
        snprintf(errbuf, errlen, "-r and -i cannot be combined: analyse files or interfaces, not both in one run");
        return false;
    }
    if (cfg->write_file && strcmp(cfg->write_file, "-") == 0 && !cfg->output) {
        snprintf(errbuf, errlen, "-w - writes packets to standard output: send the report elsewhere with -o FILE");
        return false;
    }
    if (cfg->report_every_us && !cfg->n_interfaces) {
        snprintf(errbuf, errlen, "--report-every is for live capture: give -i IFACE");
        return false;
    }
    if (o->filter_file && !(cfg->filter = read_filter_file(o->filter_file, errbuf, errlen)))
        return false;
    return true;
}

/* Positional arguments: with -r or -i they are the filter expression (as
 * tcpdump takes it), otherwise capture files. */
static bool positional(struct config *cfg, GPtrArray *inputs, bool filter_mode, int argc, char **argv, char *errbuf, size_t errlen)
{
    GPtrArray *rest = g_ptr_array_new_with_free_func(g_free);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '-' && a[1] != '\0' && strcmp(a, "--") != 0) {
            snprintf(errbuf, errlen, "unknown option '%s'", a);
            g_ptr_array_free(rest, TRUE);
            return false;
        }
        if (strcmp(a, "--") != 0)
            g_ptr_array_add(rest, g_strdup(a));
    }
    if (filter_mode && rest->len) {
        if (cfg->filter) {
            snprintf(errbuf, errlen, "a filter is given both by -F and after the options: keep one");
            g_ptr_array_free(rest, TRUE);
            return false;
        }
        g_ptr_array_add(rest, NULL);
        cfg->filter = g_strjoinv(" ", (gchar **)rest->pdata);
        g_ptr_array_set_size(rest, 0);
    }
    for (guint i = 0; i < rest->len; i++)
        g_ptr_array_add(inputs, g_strdup(g_ptr_array_index(rest, i)));
    g_ptr_array_free(rest, TRUE);
    if (cfg->filter && !cfg->filter[0]) {
        g_free(cfg->filter);
        cfg->filter = NULL;
    }
    return !cfg->filter || filter_syntax_ok(cfg->filter, errbuf, errlen);
}

static void raw_options_free(struct raw_options *o)
{
    g_strfreev(o->read_files);
    g_free(o->output);
    g_free(o->format);
    g_free(o->write_streams);
    g_free(o->min_dialect);
    g_free(o->allow_transport);
    g_free(o->tls_keylog);
    g_strfreev(o->interfaces);
    g_strfreev(o->autostop);
    g_free(o->filter_file);
    g_free(o->display_filter);
    g_free(o->drop_user);
    g_free(o->write_file);
    g_free(o->report_every);
    g_free(o->observer_name);
    g_free(o->connections);
    memset(o, 0, sizeof *o);
}

bool config_parse(struct config *cfg, int *argc, char ***argv, char *errbuf, size_t errlen)
{
    struct raw_options o;
    memset(&o, 0, sizeof o);
    memset(cfg, 0, sizeof *cfg);
    cfg->policy = policy_default();

    const GOptionEntry entries[] = {
        { "read", 'r', 0, G_OPTION_ARG_FILENAME_ARRAY, &o.read_files, "Read packets from FILE (pcap, pcapng, gzip of either; - for stdin); may repeat", "FILE" },
        { "output", 'o', 0, G_OPTION_ARG_FILENAME, &o.output, "Write the report to FILE instead of standard output", "FILE" },
        { "format", 'T', 0, G_OPTION_ARG_STRING, &o.format, "Report format: text (the default), json, or ndjson (one event per line)", "text|json|ndjson" },
        { "quiet", 'q', 0, G_OPTION_ARG_NONE, &o.quiet, "No progress line on standard error", NULL },
        { "numeric", 'n', 0, G_OPTION_ARG_NONE, &o.numeric, "Do not resolve names (always the case; accepted for tcpdump habits)", NULL },
        { "version", 0, 0, G_OPTION_ARG_NONE, &o.version, "Print versions of smbscope, libpcap and zlib", NULL },
        { "write-streams", 0, 0, G_OPTION_ARG_FILENAME, &o.write_streams, "Write each direction of each TCP connection to a file in DIR (like tcpflow)", "DIR" },
        { "tls-keylog", 0, 0, G_OPTION_ARG_FILENAME, &o.tls_keylog, "TLS key log (SSLKEYLOGFILE format) to decrypt SMB over QUIC", "FILE" },
        { "allow-netbios", 0, 0, G_OPTION_ARG_NONE, &o.allow_netbios, "Policy: NetBIOS traffic and attempts are not violations", NULL },
        { "allow-smb1", 0, 0, G_OPTION_ARG_NONE, &o.allow_smb1, "Policy: SMB1 is not a violation", NULL },
        { "allow-transport", 0, 0, G_OPTION_ARG_STRING, &o.allow_transport, "Policy: transports and ports SMB may use, e.g. direct:445,quic:443 (PORT * = any); default: every direct-hosted transport", "LIST" },
        { "min-dialect", 0, 0, G_OPTION_ARG_STRING, &o.min_dialect, "Policy: lowest acceptable SMB dialect (2.0.2, 2.1, 3.0, 3.0.2, 3.1.1)", "VER" },
        { "require-signing", 0, 0, G_OPTION_ARG_NONE, &o.require_signing, "Policy: every SMB connection must sign (or encrypt)", NULL },
        { "require-encryption", 0, 0, G_OPTION_ARG_NONE, &o.require_encryption, "Policy: every SMB connection must encrypt", NULL },
        { "require-kerberos", 0, 0, G_OPTION_ARG_NONE, &o.require_kerberos, "Policy: every authenticated SMB session must use Kerberos (no NTLM, guest or anonymous)", NULL },
        { "race-window", 0, 0, G_OPTION_ARG_DOUBLE, &o.race_window, "A SYN to 139 within SECONDS of a SYN to 445 of the same server is a NetBIOS-over-TCP/IP race (default 1)", "SECONDS" },
        { "no-fast-path", 0, 0, G_OPTION_ARG_NONE, &o.no_fast_path, "Reassemble and decode every byte (for checking the fast paths)", NULL },
        { "max-connections", 0, 0, G_OPTION_ARG_INT64, &o.max_connections, "Cap on concurrently tracked TCP connections", "N" },
        { "max-netbios-flows", 0, 0, G_OPTION_ARG_INT64, &o.max_netbios_flows, "NetBIOS flows itemised in the ledger (default 16384); packets of further flows are counted, not listed (NetBIOS hosts past 65,536 likewise: counted without a record)", "N" },
        { "reassembly-cap", 0, 0, G_OPTION_ARG_INT64, &o.reasm_dir_cap, "Bytes of out-of-order data held per direction", "BYTES" },
        { "reassembly-total-cap", 0, 0, G_OPTION_ARG_INT64, &o.reasm_total_cap, "Bytes of out-of-order data held in total", "BYTES" },
        { "pdu-cap", 0, 0, G_OPTION_ARG_INT64, &o.pdu_cap, "Bytes of one SMB message buffered for decoding", "BYTES" },
        { "connections", 0, 0, G_OPTION_ARG_STRING, &o.connections, "Connections detailed in the report: first (the first --connections-limit, the default), all (every one: memory grows with them), violations (those that break a rule, up to the limit) or none; every connection is counted in the connection groups", "first|all|violations|none" },
        { "connections-limit", 0, 0, G_OPTION_ARG_INT64, &o.connections_limit, "Connections detailed with --connections first or violations (default 250)", "N" },
        { "max-connection-groups", 0, 0, G_OPTION_ARG_INT64, &o.max_conn_groups, "Connection groups with both addresses (default 1024); past it connections fold into coarser groups, still counted", "N" },
        { "interface", 'i', 0, G_OPTION_ARG_STRING_ARRAY, &o.interfaces, "Capture live on IFACE (any = every interface); may repeat", "IFACE" },
        { "list-interfaces", 'D', 0, G_OPTION_ARG_NONE, &o.list_interfaces, "List the interfaces -i can capture on, then exit", NULL },
        { "snapshot-length", 's', 0, G_OPTION_ARG_INT, &o.snaplen, "Bytes captured of each packet (default 262144)", "SNAPLEN" },
        { "buffer-size", 'B', 0, G_OPTION_ARG_INT, &o.buffer_kib, "Kernel capture buffer in KiB (default 32768)", "KIB" },
        { "no-promiscuous-mode", 'p', 0, G_OPTION_ARG_NONE, &o.no_promisc, "Do not put the interface into promiscuous mode", NULL },
        { "relinquish-privileges", 'Z', 0, G_OPTION_ARG_STRING, &o.drop_user, "Once the interfaces are open, run as USER (and its groups)", "USER" },
        { "write", 'w', 0, G_OPTION_ARG_FILENAME, &o.write_file, "Also write the packets read (after the filter) to FILE as pcapng", "FILE" },
        { "filter-file", 'F', 0, G_OPTION_ARG_FILENAME, &o.filter_file, "Read the capture filter expression from FILE", "FILE" },
        { "count", 'c', 0, G_OPTION_ARG_INT64, &o.count, "Stop after COUNT packets (that pass the filter)", "COUNT" },
        { "autostop", 'a', 0, G_OPTION_ARG_STRING_ARRAY, &o.autostop, "Stop after duration:SECONDS, packets:N or filesize:KB (of -w FILE); may repeat", "COND" },
        { "verbose", 'V', 0, G_OPTION_ARG_NONE, &o.verbose, "Text report: the detail of every connection (default: the first 50)", NULL },
        { "display-filter", 'Y', 0, G_OPTION_ARG_STRING, &o.display_filter, "Not supported: use the smbscope plugin in tshark (tshark -Y 'smbscope...')", "FILTER" },
        { "report-every", 0, 0, G_OPTION_ARG_STRING, &o.report_every, "Write a report every DURATION (30s, 5m, 1h): that interval's verdict and the run's so far", "DURATION" },
        { "jobs", 0, 0, G_OPTION_ARG_INT, &o.jobs, "Use N threads (several capture files at once, or one split by flow hash): the answer of one analysis (default 1)", "N" },
        { "merge-state", 0, 0, G_OPTION_ARG_NONE, &o.merge_state, "JSON report: carry merge_state, what smbscope merge combines reports with (the default)", NULL },
        { "no-merge-state", 0, 0, G_OPTION_ARG_NONE, &o.no_merge_state, "JSON report: leave merge_state out (such a report cannot be merged)", NULL },
        { "observer-name", 0, 0, G_OPTION_ARG_FILENAME, &o.observer_name, "observer.name of ndjson events (default: the host name)", "NAME" },
        { NULL, 0, 0, 0, NULL, NULL, NULL },
    };

    GOptionContext *ctx = g_option_context_new("[CAPTURE...] | -r CAPTURE [FILTER] | -i IFACE [FILTER]\n"
                                                "  smbscope merge [OPTION...] REPORT.json...\n\n"
                                                "Prove from the wire how SMB is carried.");
    g_option_context_set_summary(ctx,
        "Reads pcap/pcapng captures (gzip-compressed too; - for stdin) and reports every SMB\n"
        "connection's transport (direct-hosted or NetBIOS), dialects, signing, encryption,\n"
        "authentication and shares, and every bit of NetBIOS traffic.");
    g_option_context_set_description(ctx,
        "Exit status: 0 pass (the policy holds and the capture could show a violation),\n"
        "1 fail (a violation), 2 usage error or no readable input, 3 inconclusive (no\n"
        "violation, but the capture lacks what the policy needs: the report says what).\n"
        "Default policy: no NetBIOS traffic or attempts, no SMB1.\n"
        "\n" CAPTURE_EXAMPLES);
    g_option_context_add_main_entries(ctx, entries, NULL);
    GError *err = NULL;
    bool ok = g_option_context_parse(ctx, argc, argv, &err);
    g_option_context_free(ctx);
    if (!ok) {
        snprintf(errbuf, errlen, "%s", err->message);
        g_error_free(err);
        goto fail;
    }

    cfg->show_version = o.version;
    cfg->quiet = o.quiet;
    cfg->merge_state = !o.no_merge_state; /* --merge-state: the default, still accepted */
    if (o.jobs < 0 || o.jobs > 64) {
        snprintf(errbuf, errlen, "--jobs must be between 1 and 64");
        goto fail;
    }
    cfg->jobs = o.jobs ? o.jobs : 1;
    cfg->output = o.output;
    o.output = NULL;
    cfg->write_streams_dir = o.write_streams;
    o.write_streams = NULL;
    cfg->tls_keylog = o.tls_keylog;
    o.tls_keylog = NULL;
    cfg->no_fast_path = o.no_fast_path;
    cfg->conn_detail_limit = CONN_DETAIL_DEFAULT_LIMIT;
    if (o.connections && !parse_conn_detail(o.connections, &cfg->conn_detail)) {
        snprintf(errbuf, errlen, "--connections '%s': expected first, all, violations or none", o.connections);
        goto fail;
    }
    if (o.connections_limit < 0 || o.max_conn_groups < 0 || o.max_conn_groups > UINT32_MAX) {
        snprintf(errbuf, errlen, "--connections-limit and --max-connection-groups must not be negative (groups: at most %u)",
                 UINT32_MAX);
        goto fail;
    }
    if (o.connections_limit)
        cfg->conn_detail_limit = (uint64_t)o.connections_limit;
    cfg->max_conn_groups = (uint32_t)o.max_conn_groups;
    cfg->policy.allow_netbios = o.allow_netbios;
    cfg->policy.allow_smb1 = o.allow_smb1;
    cfg->policy.require_signing = o.require_signing;
    cfg->policy.require_encryption = o.require_encryption;
    cfg->policy.require_kerberos = o.require_kerberos;
    if (o.race_window < 0 || o.race_window > 3600) {
        snprintf(errbuf, errlen, "--race-window must be between 0 and 3600 seconds");
        goto fail;
    }
    if (o.race_window > 0)
        cfg->policy.race_window_ms = (uint32_t)(o.race_window * 1000 + 0.5);
    if (o.format && !parse_format(o.format, &cfg->format)) {
        snprintf(errbuf, errlen, "unknown --format '%s' (text, json or ndjson)", o.format);
        goto fail;
    }
    if (o.min_dialect && (!smb2_dialect_parse(o.min_dialect, &cfg->policy.min_dialect) ||
                          smb2_dialect_rank(cfg->policy.min_dialect) == 0)) {
        snprintf(errbuf, errlen, "unknown --min-dialect '%s' (2.0.2, 2.1, 3.0, 3.0.2 or 3.1.1)", o.min_dialect);
        goto fail;
    }
    if (o.allow_transport && !policy_parse_transports(&cfg->policy, o.allow_transport, errbuf, errlen))
        goto fail;
    if (!nonneg(o.max_connections, "--max-connections", errbuf, errlen) ||
        !nonneg(o.max_netbios_flows, "--max-netbios-flows", errbuf, errlen) ||
        !nonneg(o.reasm_dir_cap, "--reassembly-cap", errbuf, errlen) ||
        !nonneg(o.reasm_total_cap, "--reassembly-total-cap", errbuf, errlen) ||
        !nonneg(o.pdu_cap, "--pdu-cap", errbuf, errlen))
        goto fail;
    if (o.pdu_cap > (1 << 24)) {
        snprintf(errbuf, errlen, "--pdu-cap is at most 16777216");
        goto fail;
    }
    cfg->max_connections = (uint64_t)o.max_connections;
    cfg->max_netbios_flows = (uint64_t)o.max_netbios_flows;
    cfg->reasm_dir_cap = (uint64_t)o.reasm_dir_cap;
    cfg->reasm_total_cap = (uint64_t)o.reasm_total_cap;
    cfg->pdu_cap = (uint32_t)o.pdu_cap;

    if (!capture_options(cfg, &o, errbuf, errlen))
        goto fail;

    /* Inputs: -r FILE (repeatable) then positional arguments, in order. */
    GPtrArray *inputs = g_ptr_array_new();
    for (gchar **f = o.read_files; f && *f; f++)
        g_ptr_array_add(inputs, g_strdup(*f));
    bool filter_mode = o.read_files || cfg->n_interfaces;
    if (!positional(cfg, inputs, filter_mode, *argc, *argv, errbuf, errlen)) {
        g_ptr_array_add(inputs, NULL);
        g_strfreev((gchar **)g_ptr_array_free(inputs, FALSE));
        goto fail;
    }
    cfg->n_inputs = (int)inputs->len;
    g_ptr_array_add(inputs, NULL);
    cfg->inputs = (char **)g_ptr_array_free(inputs, FALSE);

    raw_options_free(&o);
    return true;

fail:
    raw_options_free(&o);
    config_free(cfg);
    return false;
}

void config_free(struct config *cfg)
{
    g_strfreev(cfg->inputs);
    g_free(cfg->output);
    g_free(cfg->write_streams_dir);
    g_free(cfg->filter);
    g_strfreev(cfg->interfaces);
    g_free(cfg->drop_user);
    g_free(cfg->write_file);
    g_free(cfg->observer_name);
    g_free(cfg->tls_keylog);
    memset(cfg, 0, sizeof *cfg);
}
