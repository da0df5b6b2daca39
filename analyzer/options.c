/* options.c - command line parsing (tcpdump/tshark habits: -r FILE, -o FILE,
 * -n, -q; several inputs; "-" for stdin). */
#include "options.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "dialect.h"

struct raw_options {
    gchar **read_files;
    gchar *output;
    gchar *format;
    gboolean quiet, version, numeric;
    gchar *write_streams;
    gboolean allow_netbios, allow_smb1, require_signing, require_encryption, require_kerberos;
    gdouble race_window;
    gchar *min_dialect;
    gboolean no_fast_path;
    gint64 max_connections, max_netbios_flows, reasm_dir_cap, reasm_total_cap, pdu_cap;
};

static bool parse_format(const char *s, enum report_format *f)
{
    static const struct { const char *name; enum report_format f; } formats[] = {
        { "text", FORMAT_TEXT }, { "json", FORMAT_JSON }, { "auto", FORMAT_AUTO },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(formats); i++)
        if (strcmp(s, formats[i].name) == 0) {
            *f = formats[i].f;
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

bool config_parse(struct config *cfg, int *argc, char ***argv, char *errbuf, size_t errlen)
{
    struct raw_options o;
    memset(&o, 0, sizeof o);
    memset(cfg, 0, sizeof *cfg);
    cfg->policy = policy_default();

    const GOptionEntry entries[] = {
        { "read", 'r', 0, G_OPTION_ARG_FILENAME_ARRAY, &o.read_files, "Read packets from FILE (pcap, pcapng, gzip of either; - for stdin); may repeat", "FILE" },
        { "output", 'o', 0, G_OPTION_ARG_FILENAME, &o.output, "Write the report to FILE instead of standard output", "FILE" },
        { "format", 0, 0, G_OPTION_ARG_STRING, &o.format, "Report format: text (default on a terminal) or json", "text|json" },
        { "quiet", 'q', 0, G_OPTION_ARG_NONE, &o.quiet, "No progress line on standard error", NULL },
        { "numeric", 'n', 0, G_OPTION_ARG_NONE, &o.numeric, "Do not resolve names (always the case; accepted for tcpdump habits)", NULL },
        { "version", 0, 0, G_OPTION_ARG_NONE, &o.version, "Print versions of smbscope, libpcap and zlib", NULL },
        { "write-streams", 0, 0, G_OPTION_ARG_FILENAME, &o.write_streams, "Write each direction of each TCP connection to a file in DIR (like tcpflow)", "DIR" },
        { "allow-netbios", 0, 0, G_OPTION_ARG_NONE, &o.allow_netbios, "Policy: NetBIOS traffic and attempts are not violations", NULL },
        { "allow-smb1", 0, 0, G_OPTION_ARG_NONE, &o.allow_smb1, "Policy: SMB1 is not a violation", NULL },
        { "min-dialect", 0, 0, G_OPTION_ARG_STRING, &o.min_dialect, "Policy: lowest acceptable SMB dialect (2.0.2, 2.1, 3.0, 3.0.2, 3.1.1)", "VER" },
        { "require-signing", 0, 0, G_OPTION_ARG_NONE, &o.require_signing, "Policy: every SMB connection must sign (or encrypt)", NULL },
        { "require-encryption", 0, 0, G_OPTION_ARG_NONE, &o.require_encryption, "Policy: every SMB connection must encrypt", NULL },
        { "require-kerberos", 0, 0, G_OPTION_ARG_NONE, &o.require_kerberos, "Policy: every authenticated SMB session must use Kerberos (no NTLM, guest or anonymous)", NULL },
        { "race-window", 0, 0, G_OPTION_ARG_DOUBLE, &o.race_window, "A SYN to 139 within SECONDS of a SYN to 445 of the same server is a NetBIOS-over-TCP/IP race (default 1)", "SECONDS" },
        { "no-fast-path", 0, 0, G_OPTION_ARG_NONE, &o.no_fast_path, "Reassemble and decode every byte (for checking the fast paths)", NULL },
        { "max-connections", 0, 0, G_OPTION_ARG_INT64, &o.max_connections, "Cap on concurrently tracked TCP connections", "N" },
        { "max-netbios-flows", 0, 0, G_OPTION_ARG_INT64, &o.max_netbios_flows, "NetBIOS flows itemised in the ledger; packets of further flows are counted, not listed", "N" },
        { "reassembly-cap", 0, 0, G_OPTION_ARG_INT64, &o.reasm_dir_cap, "Bytes of out-of-order data held per direction", "BYTES" },
        { "reassembly-total-cap", 0, 0, G_OPTION_ARG_INT64, &o.reasm_total_cap, "Bytes of out-of-order data held in total", "BYTES" },
        { "pdu-cap", 0, 0, G_OPTION_ARG_INT64, &o.pdu_cap, "Bytes of one SMB message buffered for decoding", "BYTES" },
        { NULL, 0, 0, 0, NULL, NULL, NULL },
    };

    GOptionContext *ctx = g_option_context_new("[CAPTURE...] - prove from the wire how SMB is carried");
    g_option_context_set_summary(ctx,
        "Reads pcap/pcapng captures (gzip-compressed too; - for stdin) and reports every SMB\n"
        "connection's transport (direct-hosted or NetBIOS), dialects, signing, encryption,\n"
        "authentication and shares, and every bit of NetBIOS traffic.");
    g_option_context_set_description(ctx,
        "Exit status: 0 pass (the policy holds and the capture could show a violation),\n"
        "1 fail (a violation), 2 usage error or no readable input, 3 inconclusive (no\n"
        "violation, but the capture lacks what the policy needs: the report says what).\n"
        "Default policy: no NetBIOS traffic or attempts, no SMB1.");
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
    cfg->output = o.output;
    o.output = NULL;
    cfg->write_streams_dir = o.write_streams;
    o.write_streams = NULL;
    cfg->no_fast_path = o.no_fast_path;
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
        snprintf(errbuf, errlen, "unknown --format '%s' (text or json)", o.format);
        goto fail;
    }
    if (o.min_dialect && (!smb2_dialect_parse(o.min_dialect, &cfg->policy.min_dialect) ||
                          smb2_dialect_rank(cfg->policy.min_dialect) == 0)) {
        snprintf(errbuf, errlen, "unknown --min-dialect '%s' (2.0.2, 2.1, 3.0, 3.0.2 or 3.1.1)", o.min_dialect);
        goto fail;
    }
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

    /* Inputs: -r FILE (repeatable) then positional arguments, in order. */
    GPtrArray *inputs = g_ptr_array_new();
    for (gchar **f = o.read_files; f && *f; f++)
        g_ptr_array_add(inputs, g_strdup(*f));
    for (int i = 1; i < *argc; i++) {
        const char *a = (*argv)[i];
        if (a[0] == '-' && a[1] != '\0' && strcmp(a, "--") != 0) {
            snprintf(errbuf, errlen, "unknown option '%s'", a);
            g_ptr_array_free(inputs, TRUE);
            goto fail;
        }
        if (strcmp(a, "--") != 0)
            g_ptr_array_add(inputs, g_strdup(a));
    }
    cfg->n_inputs = (int)inputs->len;
    g_ptr_array_add(inputs, NULL);
    cfg->inputs = (char **)g_ptr_array_free(inputs, FALSE);

    g_strfreev(o.read_files);
    g_free(o.format);
    g_free(o.min_dialect);
    return true;

fail:
    g_strfreev(o.read_files);
    g_free(o.output);
    g_free(o.format);
    g_free(o.write_streams);
    g_free(o.min_dialect);
    config_free(cfg);
    return false;
}

void config_free(struct config *cfg)
{
    g_strfreev(cfg->inputs);
    g_free(cfg->output);
    g_free(cfg->write_streams_dir);
    memset(cfg, 0, sizeof *cfg);
}
