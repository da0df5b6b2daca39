/* verdict_unknowns.c - what the capture lacks for the policy to be decided,
 * each with what is missing and how to get it.  A verdict without a
 * violation is a pass only when this list is empty. */
#include "verdict.h"

#include <stdio.h>
#include <string.h>

#include "census.h"
#include "decode_loss.h"
#include "evidence.h"
#include "filter_check.h"
#include "fmt.h"

#define HOW_CAPTURE "capture on the interface that carries the SMB and NetBIOS traffic (tcpdump -i IFACE -s 0 -w FILE), " \
                    "without a capture filter that drops it"

/* filter_check()'s answer for one (link type, filter text): inputs of a
 * merge (up to 65,536, from a report a user may have been handed) or of
 * one run mostly share their filter, and each compile may cost
 * milliseconds to seconds. */
struct filter_answer {
    bool ok;
    uint32_t blinded;
    char err[256];
};

static const struct filter_answer *filter_checked(GHashTable *memo, int dlt, const char *filter)
{
    char *key = g_strdup_printf("%d:%s", dlt, filter);
    struct filter_answer *f = g_hash_table_lookup(memo, key);
    if (f) {
        g_free(key);
        return f;
    }
    f = g_new0(struct filter_answer, 1);
    f->ok = filter_check(dlt, filter, &f->blinded, f->err, sizeof f->err);
    g_hash_table_insert(memo, key, f);
    return f;
}

static void inputs(struct verdict *v, const struct analysis *a, const struct policy *p)
{
    uint64_t packets = 0;
    GHashTable *memo = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    for (guint i = 0; i < a->inputs->len; i++) {
        const struct input_info *in = g_ptr_array_index(a->inputs, i);
        packets += in->packets;
        if (in->error)
            verdict_add_unknown(v, in->truncated ? "input-damaged" : "input-error", POLICY_ALL_RULES, 1,
                                g_strdup(in->error),
                                in->truncated ? "the report covers the packets before the damage: copy or capture the "
                                                "file again to judge the rest"
                                              : "give a readable pcap or pcapng file");
        if (in->interrupted) {
            char rest[64] = "";
            if (a->inputs_not_read)
                snprintf(rest, sizeof rest, "; %u further input%s not read", a->inputs_not_read,
                         a->inputs_not_read == 1 ? "" : "s");
            verdict_add_unknown(v, "input-interrupted", POLICY_ALL_RULES, 1,
                                g_strdup_printf("%s: reading stopped by %s after %" G_GUINT64_FORMAT " packets%s", in->path,
                                                a->interrupt_signal == SIGTERM ? "SIGTERM" : "SIGINT", in->packets, rest),
                                "let smbscope read the whole capture (the report covers only the packets read before "
                                "the signal)");
        }
        if (in->have_drop_stats && (in->if_dropped || in->if_ifdropped))
            verdict_add_unknown(v, "capture-drops", POLICY_ALL_RULES, in->if_dropped + in->if_ifdropped,
                                g_strdup_printf("%s: %" G_GUINT64_FORMAT " packets dropped by libpcap, %" G_GUINT64_FORMAT
                                                " by the interface (of %" G_GUINT64_FORMAT " received)", in->path,
                                                in->if_dropped, in->if_ifdropped, in->if_received),
                                "capture with a larger buffer (tcpdump -B 65536), to a faster disk, or with a filter that "
                                "keeps only udp portrange 137-139, tcp port 139 and tcp port 445");
        if (in->capture_filter && in->capture_filter[0]) {
            char esc[512];
            fmt_escaped_buf((const uint8_t *)in->capture_filter, strlen(in->capture_filter), esc, sizeof esc);
            const struct filter_answer *fa = filter_checked(memo, in->dlt, in->capture_filter);
            const char *err = fa->err;
            uint32_t blinded = fa->blinded;
            if (!fa->ok) {
                verdict_add_unknown(v, "capture-filter", POLICY_ALL_RULES, 1,
                                    g_strdup_printf("captured with filter \"%s\", which could not be checked: %s", esc, err),
                                    "capture without a filter, or with one that keeps udp portrange 137-139, tcp port "
                                    "139 and tcp port 445");
            } else if (blinded) {
                GString *svc = g_string_new(NULL);
                for (int k = 0; k < PROBE_COUNT; k++)
                    if (blinded & (1u << k))
                        g_string_append_printf(svc, "%s%s", svc->len ? ", " : "", filter_probe_name((enum filter_probe)k));
                uint32_t rules = 0;
                if (blinded & ((1u << PROBE_NBNS) | (1u << PROBE_NBDGM) | (1u << PROBE_NBSS_TCP) | (1u << PROBE_NBSS_UDP)))
                    rules |= POLICY_NETBIOS_RULES;
                if (blinded & ((1u << PROBE_SMB_TCP) | (1u << PROBE_NBSS_TCP)))
                    rules |= POLICY_SMB_RULES;
                verdict_add_unknown(v, "capture-filter", rules & v->rules_enabled, 1,
                                    g_strdup_printf("captured with filter \"%s\", which drops %s", esc, svc->str),
                                    "capture without a filter, or with one that keeps udp portrange 137-139, tcp port "
                                    "139 and tcp port 445");
                g_string_free(svc, TRUE);
            }
        }
    }
    g_hash_table_destroy(memo);
    bool any_readable = false;
    for (guint i = 0; i < a->inputs->len; i++)
        any_readable |= !((const struct input_info *)g_ptr_array_index(a->inputs, i))->error ||
                        ((const struct input_info *)g_ptr_array_index(a->inputs, i))->truncated;
    if (!packets && any_readable)
        verdict_add_unknown(v, "no-packets", POLICY_ALL_RULES, 0, g_strdup("no packets were read: the capture holds "
                            "only its header (wrong interface, or a capture filter that matched nothing)"), HOW_CAPTURE);
    (void)p;
}

/* Packets that could have been NetBIOS or SMB but could not be read: the
 * judgement and its words are decode_loss.h's, shared with the plugin. */
static void decode_losses(struct verdict *v, const struct analysis *a, const struct policy *p)
{
    struct evidence e;
    evidence_collect(&e, a);
    struct decode_losses l;
    evidence_decode_loss_kinds(&e, &l);
    uint32_t rules = decode_loss_undecided(p, &l);
    if (!rules)
        return;
    char detail[512];
    GString *s = g_string_new(decode_loss_detail(&l, detail, sizeof detail));
    /* who speaks the encrypted ESP (esp_peers.h): the tunnels to capture
     * inside of; only when there is any, so other details read as before */
    const struct esp_peers *ep = &a->esp_peers;
    for (uint32_t i = 0; i < ep->n; i++) {
        char x[FMT_ADDR_LEN], y[FMT_ADDR_LEN];
        g_string_append_printf(s, "%s%s and %s (%" G_GUINT64_FORMAT " packets)",
                               i ? ", " : "; encrypted ESP between ", fmt_addr(&ep->pairs[i].a, x),
                               fmt_addr(&ep->pairs[i].b, y), ep->pairs[i].packets);
    }
    if (ep->other_packets)
        g_string_append_printf(s, "%s%" G_GUINT64_FORMAT " packets between other pairs",
                               ep->n ? ", and " : "; encrypted ESP: ", ep->other_packets);
    verdict_add_unknown(v, DECODE_LOSS_REASON, rules, decode_loss_total(&l), g_string_free(s, FALSE),
                        decode_loss_how);
}

#define GAP_COUNT CONN_GAP_COUNT
#define GAP_CONTENT CONN_GAP_CONTENT
#define GAP_NEGOTIATE CONN_GAP_NEGOTIATE

static void connections(struct verdict *v, const struct analysis *a, const struct policy *p)
{
    struct {
        uint64_t count;
        uint32_t rules;
        const struct conn_group *example;
    } g[GAP_COUNT];
    memset(g, 0, sizeof g);
    bool judged[RULE_COUNT] = { false };
    for (uint32_t i = 0; i < conn_groups_count(a->groups); i++) {
        const struct conn_group *grp = conn_groups_at(a->groups, i);
        struct policy_conn_facts f = conn_group_facts(&grp->key);
        /* SMB over QUIC not decrypted is judged by its no-keys unknown */
        if (f.smb_version || f.smb_seen || f.encrypted || f.messages_seen || policy_content_hidden(&f))
            for (int r = 0; r < RULE_COUNT; r++)
                judged[r] = true;
        uint32_t bits = conn_group_undecided(&grp->key, p);
        if (!bits)
            continue;
        enum conn_gap k = grp->key.level == CONN_GROUP_OTHER ? (enum conn_gap)grp->key.gap : conn_summary_gap(&f);
        if (k >= GAP_COUNT)
            k = CONN_GAP_MIDSTREAM;
        if (!g[k].example || grp->first_ts < g[k].example->first_ts)
            g[k].example = grp;
        g[k].count += grp->count;
        g[k].rules |= bits;
    }
    static const char *const reasons[GAP_COUNT] = { "mid-stream", "content-lost", "negotiate-not-decoded", "logon-not-seen",
                                                    "no-keys" };
    static const char *const what[GAP_COUNT] = {
        "began before the capture: NBSS session request, NEGOTIATE and logon not seen",
        "lost bytes (snaplen, capture loss or a reassembly cap): what they carried is unknown",
        "had no decodable NEGOTIATE response",
        "had no captured SESSION_SETUP: the authentication is unknown",
        ("carried SMB inside QUIC's TLS, not decrypted (no --tls-keylog, or it lacks their secrets): dialect, "
         "signing, encryption and logon unknown"),
    };
    const struct census *c = a->census;
    for (int k = 0; k < GAP_COUNT; k++) {
        if (!g[k].count)
            continue;
        char ce[FMT_ENDPOINT_LEN], se[FMT_ENDPOINT_LEN];
        GString *rules = g_string_new(NULL);
        for (int r = 0; r < RULE_COUNT; r++)
            if (g[k].rules & (1u << r))
                g_string_append_printf(rules, "%s%s", rules->len ? ", " : "", policy_rule_name((enum policy_rule)r));
        char *how = NULL;
        if (k == GAP_CONTENT && c->snaplen_cut)
            how = g_strdup_printf("capture whole packets (tcpdump -s 0): %" G_GUINT64_FORMAT " packets were cut to %u "
                                  "bytes", c->snaplen_cut, c->snaplen);
        else if (k == GAP_NEGOTIATE)
            how = g_strdup_printf("raise --pdu-cap (now %u bytes) or the snaplen so the NEGOTIATE is decoded",
                                  a->session_cfg.pdu_cap ? a->session_cfg.pdu_cap : 65536u);
        static const char *const hows[GAP_COUNT] = {
            "start the capture before the clients connect, or make them reconnect (net use \\\\SERVER /delete, or "
            "restart the client's session) while capturing",
            "capture whole packets (tcpdump -s 0) without loss; raise --reassembly-cap if the report counts cap hits",
            NULL,
            "start the capture before the clients log on",
            "give the TLS key log of the client or the server (SSLKEYLOGFILE format) with --tls-keylog FILE",
        };
        /* unknowns keep static how-texts: store the dynamic one in the detail */
        verdict_add_unknown(v, reasons[k], g[k].rules, g[k].count,
                            g_strdup_printf("%" G_GUINT64_FORMAT " SMB connection%s %s (e.g. %s -> %s); undecided: %s%s%s",
                                            g[k].count, g[k].count == 1 ? "" : "s", what[k],
                                            fmt_endpoint(&g[k].example->examples[0].client,
                                                         g[k].example->examples[0].client_port, ce),
                                            fmt_endpoint(&g[k].example->examples[0].server,
                                                         g[k].example->examples[0].server_port, se),
                                            rules->str, how ? "; " : "", how ? how : ""),
                            hows[k] ? hows[k] : "raise --pdu-cap or the snaplen so the NEGOTIATE is decoded");
        g_free(how);
        g_string_free(rules, TRUE);
    }
    /* A policy that asks about SMB content with no SMB to judge. */
    static const enum policy_rule content[] = { RULE_MIN_DIALECT, RULE_SIGNING, RULE_ENCRYPTION, RULE_KERBEROS };
    uint32_t idle = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(content); i++)
        if (policy_rule_enabled(p, content[i]) && !judged[content[i]])
            idle |= 1u << content[i];
    if (idle) {
        GString *rules = g_string_new(NULL);
        for (int r = 0; r < RULE_COUNT; r++)
            if (idle & (1u << r))
                g_string_append_printf(rules, "%s%s", rules->len ? ", " : "", policy_rule_name((enum policy_rule)r));
        verdict_add_unknown(v, "nothing-to-judge", idle, 0,
                            g_strdup_printf("the policy asks about SMB sessions (%s) but the capture holds no SMB "
                                            "connection to judge", rules->str),
                            "capture while clients connect to the server (map a drive, open a share), from the start of "
                            "the connections");
        g_string_free(rules, TRUE);
    }
}

/* QUIC connections the table closed early at its caps while they could
 * still show SMB evidence (quic_table.h, evictions_lost): unlike a TCP
 * connection's, their later datagrams are never recognised (not even as a
 * connection mid-stream), so what they carried is unknown: a ClientHello not
 * read yet (SMB or not), or the key-logged SMB messages after the close. */
static void quic_evictions(struct verdict *v, const struct analysis *a)
{
    struct evidence e;
    evidence_collect(&e, a);
    uint32_t rules = ((1u << RULE_MIN_DIALECT) | (1u << RULE_SIGNING) | (1u << RULE_ENCRYPTION) |
                      (1u << RULE_KERBEROS) | (1u << RULE_TRANSPORT)) & v->rules_enabled;
    if (!e.quic_evictions_lost || !rules)
        return;
    verdict_add_unknown(v, "quic-evicted", rules, e.quic_evictions_lost,
                        g_strdup_printf("%" G_GUINT64_FORMAT " QUIC connection%s closed early at the QUIC table's caps "
                                        "(connections at once, bytes of state) before %s could show all of "
                                        "its SMB (a ClientHello not read yet, or key-logged SMB messages after it)",
                                        e.quic_evictions_lost, e.quic_evictions_lost == 1 ? " was" : "s were",
                                        e.quic_evictions_lost == 1 ? "it" : "each"),
                        "analyse fewer QUIC clients at once (split the capture by client address, e.g. tcpdump -r "
                        "FILE -w PART net 10.1.0.0/16) and merge the reports (smbscope merge)");
}

/* RoCEv2 packets of queue-pair pairs the RoCE table had no room for (every
 * pair in it SMB or not yet known not to be, rdma_roce.c): an SMB Direct
 * connection among them would be neither judged nor seen. */
static void roce_untracked(struct verdict *v, const struct analysis *a)
{
    struct evidence e;
    evidence_collect(&e, a);
    uint32_t rules = (POLICY_SMB_RULES | (1u << RULE_TRANSPORT)) & v->rules_enabled;
    if (!rules)
        return;
    if (e.roce_over_budget)
        verdict_add_unknown(v, "roce-over-budget", rules, e.roce_over_budget,
                            g_strdup_printf("%" G_GUINT64_FORMAT " RoCEv2 message%s of SMB or undecided queue-pair "
                                            "pairs dropped: the reassembly buffers were at their 16 MiB; what %s "
                                            "carried is unknown", e.roce_over_budget, e.roce_over_budget == 1 ? "" : "s",
                                            e.roce_over_budget == 1 ? "it" : "they"),
                            "analyse fewer RDMA hosts at once (split the capture by address, e.g. tcpdump -r FILE "
                            "-w PART net 10.1.0.0/16) and merge the reports (smbscope merge)");
    if (e.iwarp_over_budget)
        verdict_add_unknown(v, "iwarp-over-budget", rules, e.iwarp_over_budget,
                            g_strdup_printf("%" G_GUINT64_FORMAT " iWARP message%s (FPDUs, Sends or SMB2 messages in "
                                            "pieces) dropped: the reassembly buffers of the iWARP connections were "
                                            "at their 16 MiB; what %s carried is unknown", e.iwarp_over_budget,
                                            e.iwarp_over_budget == 1 ? "" : "s", e.iwarp_over_budget == 1 ? "it" : "they"),
                            "analyse fewer RDMA hosts at once (split the capture by address, e.g. tcpdump -r FILE "
                            "-w PART net 10.1.0.0/16) and merge the reports (smbscope merge)");
    if (!e.roce_untracked)
        return;
    verdict_add_unknown(v, "roce-untracked", rules, e.roce_untracked,
                        g_strdup_printf("%" G_GUINT64_FORMAT " RoCEv2 packet%s of queue-pair pairs past the RoCE "
                                        "table's 4,096 (all SMB or undecided) %s not tracked: an SMB Direct "
                                        "connection among them is not judged", e.roce_untracked,
                                        e.roce_untracked == 1 ? "" : "s", e.roce_untracked == 1 ? "was" : "were"),
                        "analyse fewer RDMA hosts at once (split the capture by address, e.g. tcpdump -r FILE -w PART "
                        "net 10.1.0.0/16) and merge the reports (smbscope merge)");
}

void verdict_unknowns(struct verdict *v, const struct analysis *a, const struct policy *p)
{
    inputs(v, a, p);
    decode_losses(v, a, p);
    connections(v, a, p);
    quic_evictions(v, a);
    roce_untracked(v, a);
}
