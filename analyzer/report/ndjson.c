/* ndjson.c - one event per line; see ndjson.h.  Built on the JSON writer of
 * json.c, so every line is valid JSON whatever bytes the capture held. */
#include "ndjson.h"

#include <glib.h>
#include <string.h>

#include "dialect.h"
#include "fmt.h"
#include "conn_groups.h"
#include "classify.h"
#include "hosts.h"
#include "json.h"
#include "policy.h"
#include "report.h"

#ifndef SMBSCOPE_VERSION
#define SMBSCOPE_VERSION "unknown"
#endif

struct ndjson {
    FILE *out;
    char *observer;
    bool flush_each;
    bool failed;
    struct json j;
};

/* The ECS categorisation of each event smbscope writes: one row each.
 * Every category/type pair is one ECS lists as expected (event.category
 * network: access, allowed, connection, denied, end, info, protocol,
 * start; tests/e2e/ndjson_ecs_check.py holds ECS's whole table).  A
 * violation is an alert about SMB/NetBIOS protocol analysis ("protocol":
 * details beyond layer 4); smbscope observes, it blocks nothing, so not
 * "denied".  ECS's "indicator" belongs to category threat (threat intel),
 * which a policy violation is not.  What makes it a violation stays in
 * smbscope's own smbscope.violation and in rule.ruleset. */
enum event_id { EV_CONN, EV_CONN_END, EV_NB_FLOW, EV_NB_FLOW_END, EV_VIOLATION, EV_FINDING, EV_SUMMARY };
static const struct {
    const char *kind, *category, *type, *action, *dataset;
} events[] = {
    [EV_CONN] = { "event", "network", "start", "smb-connection", "smbscope.connection" },
    [EV_CONN_END] = { "event", "network", "end", "smb-connection-end", "smbscope.connection" },
    [EV_NB_FLOW] = { "event", "network", "start", "netbios-flow", "smbscope.netbios" },
    [EV_NB_FLOW_END] = { "event", "network", "end", "netbios-flow-end", "smbscope.netbios" },
    [EV_VIOLATION] = { "alert", "network", "protocol", "violation", "smbscope.finding" },
    [EV_FINDING] = { "event", "network", "info", "finding", "smbscope.finding" },
    [EV_SUMMARY] = { "metric", "network", "info", "summary", "smbscope.summary" },
};

/* ECS network.protocol of each NetBIOS service (IANA service names). */
static const char *const nb_protocol[] = {
    [NB_SERVICE_NBNS] = "netbios-ns", [NB_SERVICE_NBDGM] = "netbios-dgm", [NB_SERVICE_NBSS] = "netbios-ssn",
};

struct ndjson *ndjson_new(FILE *out, const char *observer_name, bool flush_each)
{
    struct ndjson *n = g_new0(struct ndjson, 1);
    n->out = out;
    n->observer = g_strdup(observer_name ? observer_name : "");
    n->flush_each = flush_each;
    json_init(&n->j, out, false);
    return n;
}

void ndjson_free(struct ndjson *n)
{
    if (!n)
        return;
    g_free(n->observer);
    g_free(n);
}

bool ndjson_failed(const struct ndjson *n) { return n->failed || ferror(n->out); }

static void ktime(struct json *j, const char *key, int64_t ts)
{
    char buf[FMT_TIME_LEN];
    if (ts != INT64_MAX && ts != INT64_MIN)
        json_kstr(j, key, fmt_time(ts, buf));
}

static void begin(struct ndjson *n, enum event_id e, int64_t ts, const char *outcome)
{
    struct json *j = &n->j;
    json_begin_object(j);
    if (ts == INT64_MAX || ts == INT64_MIN)
        ts = g_get_real_time();
    ktime(j, "@timestamp", ts);
    json_kstr(j, "event.kind", events[e].kind);
    json_kstr(j, "event.category", events[e].category);
    json_kstr(j, "event.type", events[e].type);
    json_kstr(j, "event.action", events[e].action);
    json_kstr(j, "event.outcome", outcome);
    json_kstr(j, "event.dataset", events[e].dataset);
    json_key(j, "observer.name");
    json_str_bytes(j, (const uint8_t *)n->observer, strlen(n->observer));
    json_kstr(j, "smbscope.version", SMBSCOPE_VERSION);
}

static void end(struct ndjson *n)
{
    json_end_object(&n->j); /* the writer flushes a complete top-level value */
    if (fputc('\n', n->out) == EOF)
        n->failed = true;
    if (n->flush_each && fflush(n->out) != 0)
        n->failed = true;
}

/* source/destination (ECS: who sent the first packet) and client/server
 * (who asked), both the same here: the client opens SMB and NetBIOS flows. */
static void endpoints(struct json *j, const struct ip_addr *client, uint16_t cport, const struct ip_addr *server,
                      uint16_t sport, const char *transport, const char *protocol)
{
    char c[FMT_ADDR_LEN], s[FMT_ADDR_LEN];
    fmt_addr(client, c);
    fmt_addr(server, s);
    static const char *const keys[][2] = {
        { "source.ip", "source.port" }, { "destination.ip", "destination.port" },
        { "client.ip", "client.port" }, { "server.ip", "server.port" },
    };
    for (int k = 0; k < 4; k++) {
        json_kstr(j, keys[k][0], k % 2 ? s : c);
        json_kuint(j, keys[k][1], k % 2 ? sport : cport);
    }
    json_kstr(j, "network.transport", transport);
    json_kstr(j, "network.protocol", protocol);
    json_kstr(j, "network.type", client->family == 6 ? "ipv6" : "ipv4");
}

static void kwstr(struct json *j, const char *key, const struct wstr *w)
{
    if (!w->p)
        return;
    json_key(j, key);
    json_str_bytes(j, w->p, w->len);
}

/* The SMB facts known so far (or at the end) of one connection. */
static void smb_fields(struct json *j, const struct smb_conn *s, enum transport_class cls, bool alt_port)
{
    char buf[128];
    json_kstr(j, "smb.transport", transport_class_name(cls));
    json_kbool(j, "smb.alt_port", alt_port);
    const char *dialect = smb_conn_dialect_text(s, buf, sizeof buf);
    if (dialect) {
        json_key(j, "smb.dialect");
        json_str_bytes(j, (const uint8_t *)dialect, strlen(dialect));
    }
    int ver = smb_conn_smb_version(s);
    if (ver)
        json_kuint(j, "smb.version", (uint64_t)ver);
    json_key(j, "smb.dialects_offered");
    json_begin_array(j);
    for (guint i = 0; i < s->dialects_offered->len; i++) {
        char d[12];
        json_str(j, smb2_dialect_name(g_array_index(s->dialects_offered, uint16_t, i), d, sizeof d));
    }
    json_end_array(j);
    json_key(j, "smb.smb1_dialects_offered");
    json_begin_array(j);
    for (guint i = 0; i < s->smb1_dialects->len; i++) {
        const struct wstr *w = &g_array_index(s->smb1_dialects, struct wstr, i);
        json_str_bytes(j, w->p, w->len);
    }
    json_end_array(j);
    const char *signing = smb_conn_signing_mode(s);
    if (signing)
        json_kstr(j, "smb.signing", signing);
    json_kbool(j, "smb.signed", s->signed_pdus > 0);
    json_kbool(j, "smb.encryption", smb_conn_encrypted(s));
    kwstr(j, "netbios.called_name", &s->called_name);
    kwstr(j, "netbios.calling_name", &s->calling_name);
}

/* Sessions and shares are complete only at the end. */
static void smb_end_fields(struct json *j, const struct smb_conn *s)
{
    const char *auth = NULL;
    json_key(j, "smb.users");
    json_begin_array(j);
    for (guint i = 0; i < s->sessions->len; i++) {
        const struct smb_session_rec *r = &g_array_index(s->sessions, struct smb_session_rec, i);
        if (!r->established)
            continue; /* a failed logon: sessions[] of the JSON report has it */
        auth = r->anonymous ? "anonymous" : r->guest ? "guest" : auth_mech_name(r->mech);
        if (r->user.p)
            json_str_bytes(j, r->user.p, r->user.len);
    }
    json_end_array(j);
    if (auth)
        json_kstr(j, "smb.auth", auth);
    json_key(j, "smb.shares");
    json_begin_array(j);
    for (guint i = 0; i < s->shares->len; i++) {
        const struct smb_share_rec *r = &g_array_index(s->shares, struct smb_share_rec, i);
        if (r->path.p)
            json_str_bytes(j, r->path.p, r->path.len);
    }
    json_end_array(j);
    json_kuint(j, "network.packets", s->packets[0] + s->packets[1]);
    json_kuint(j, "network.bytes", s->bytes[0] + s->bytes[1]);
    ktime(j, "event.start", s->first_ts);
    ktime(j, "event.end", s->last_ts);
    json_kuint(j, "smb.flow_id", s->flow_id);
    json_kstr(j, "smb.close_reason", s->close_reason ? s->close_reason : "end");
    json_kuint(j, "smb.gaps", s->gaps);
}

static const char *conn_outcome(const struct smb_conn *s)
{
    if (s->n_neg_codes)
        return "failure";
    return s->smb2_response_seen || s->smb1_response_seen ? "success" : "unknown";
}

/* network.transport of an SMB connection: what carried it. */
static const char *conn_l4(const struct smb_conn *s)
{
    return s->obs.carrier == CARRIER_QUIC || s->obs.carrier == CARRIER_RDMA_ROCE ? "udp" : "tcp";
}

static void on_conn_classified(void *ctx, const struct smb_conn *s, const struct flow_conn *c,
                               enum transport_class cls, int64_t ts)
{
    struct ndjson *n = ctx;
    struct json *j = &n->j;
    begin(n, EV_CONN, ts, conn_outcome(s));
    bool alt_port;
    if (s->fr) { /* still open: the flow knows the endpoints */
        int sv = c->initiator_guessed && c->port[0] < c->port[1] ? 0 : 1;
        endpoints(j, &c->addr[!sv], c->port[!sv], &c->addr[sv], c->port[sv], conn_l4(s), "smb");
        /* the classifier's rule (the one of the JSON's alt_port), on the
         * server port known so far */
        struct transport_obs o = s->obs;
        o.server_port = c->port[sv];
        alt_port = (transport_classify(&o).evidence & EV_ALT_PORT) != 0;
    } else {
        endpoints(j, smb_conn_client(s), smb_conn_client_port(s), smb_conn_server(s), smb_conn_server_port(s), conn_l4(s),
                  "smb");
        alt_port = (s->verdict.evidence & EV_ALT_PORT) != 0;
    }
    smb_fields(j, s, cls, alt_port);
    end(n);
}

static void emit_finding(const char *text, void *arg) { json_str(arg, text); }

static void on_conn_end(void *ctx, const struct smb_conn *s)
{
    struct ndjson *n = ctx;
    struct json *j = &n->j;
    begin(n, EV_CONN_END, s->last_ts, conn_outcome(s));
    endpoints(j, smb_conn_client(s), smb_conn_client_port(s), smb_conn_server(s), smb_conn_server_port(s), conn_l4(s),
              "smb");
    smb_fields(j, s, s->verdict.cls, (s->verdict.evidence & EV_ALT_PORT) != 0);
    char buf[160];
    json_kstr(j, "smb.transport_evidence", transport_evidence_text(s->verdict.evidence, buf, sizeof buf));
    smb_end_fields(j, s);
    json_key(j, "smb.findings");
    json_begin_array(j);
    verdict_conn_findings(s, emit_finding, j);
    json_end_array(j);
    end(n);
}

static const char *nb_outcome(enum nb_state st)
{
    return st == NB_STATE_REFUSED ? "failure" : st == NB_STATE_NO_ANSWER ? "unknown" : "success";
}

/* hosts: the run's host table (its learned broadcast addresses), for the
 * final line only.  netbios.server_answered and netbios.broadcast are what a
 * query over the events of many captures needs to name the hosts that must
 * fix a NetBIOS violation as the joint analysis does (hostview.c): the server
 * of a flow is one when it answered NetBIOS in any flow, never a broadcast. */
static void netbios_line(struct ndjson *n, const struct nb_flow *f, bool final, const char *scope,
                         const struct host_table *hosts)
{
    struct json *j = &n->j;
    enum nb_state st = nb_flow_state(f);
    begin(n, final ? EV_NB_FLOW_END : EV_NB_FLOW, final ? f->last_seen : f->first_seen,
          final ? nb_outcome(st) : "unknown");
    endpoints(j, &f->client, f->client_port, &f->server, f->server_port, f->proto == 6 ? "tcp" : "udp",
              nb_protocol[f->service]);
    json_kstr(j, "netbios.service", nb_service_name(f->service));
    if (final) {
        json_kstr(j, "netbios.state", nb_state_name(st));
        json_kbool(j, "netbios.attempt", nb_state_is_attempt(st));
        json_kuint(j, "network.packets", f->packets);
        json_kuint(j, "network.bytes", f->bytes);
        ktime(j, "event.start", f->first_seen);
        ktime(j, "event.end", f->last_seen);
        json_kuint(j, "netbios.requests", f->requests);
        json_kuint(j, "netbios.queries", f->queries);
        json_kuint(j, "netbios.responses", f->responses);
        json_kbool(j, "netbios.nbss_elsewhere", f->nbss_elsewhere);
        json_kbool(j, "netbios.server_answered", f->synack || f->server_spoke);
        json_kbool(j, "netbios.broadcast", host_is_broadcast(hosts, &f->server));
        json_kstr(j, "smbscope.scope", scope);
    }
    json_key(j, "netbios.name");
    json_begin_array(j);
    for (guint i = 0; f->names && i < f->names->len; i++) {
        const char *name = g_ptr_array_index(f->names, i);
        json_str_bytes(j, (const uint8_t *)name, strlen(name));
    }
    json_end_array(j);
    end(n);
}

static void on_netbios_flow(void *ctx, const struct nb_flow *f) { netbios_line(ctx, f, false, NULL, NULL); }

void ndjson_attach(struct ndjson *n, struct analysis_events *ev)
{
    ev->conn_classified = on_conn_classified;
    ev->conn_end = on_conn_end;
    ev->netbios_flow = on_netbios_flow;
    ev->ctx = n;
}

static void summary(struct ndjson *n, const struct analysis *a, const struct verdict *v, const char *scope,
                    const struct verdict *run_v)
{
    struct json *j = &n->j;
    begin(n, EV_SUMMARY, g_get_real_time(),
          v->outcome == OUTCOME_PASS ? "success" : v->outcome == OUTCOME_FAIL ? "failure" : "unknown");
    json_kstr(j, "smbscope.scope", scope);
    json_kstr(j, "smbscope.verdict", outcome_name(v->outcome));
    json_kuint(j, "smbscope.exit_code", (uint64_t)v->exit_code);
    json_kuint(j, "smbscope.violations", v->violations->len);
    json_kuint(j, "smbscope.findings", v->findings->len);
    json_key(j, "smbscope.unknowns");
    json_begin_array(j);
    for (guint i = 0; i < v->unknowns->len; i++)
        json_str(j, g_array_index(v->unknowns, struct unknown, i).reason);
    json_end_array(j);
    if (run_v) {
        json_kstr(j, "smbscope.run.verdict", outcome_name(run_v->outcome));
        json_kuint(j, "smbscope.run.violations", run_v->violations->len);
    }
    ktime(j, "event.start", a->first_ts);
    ktime(j, "event.end", a->last_ts);
    uint64_t packets = 0, received = 0, dropped = 0, ifdropped = 0;
    bool drops = false;
    json_key(j, "smbscope.inputs");
    json_begin_array(j);
    for (guint i = 0; i < a->inputs->len; i++) {
        const struct input_info *in = g_ptr_array_index(a->inputs, i);
        json_str_bytes(j, (const uint8_t *)in->path, strlen(in->path));
        packets += in->packets;
        if (in->have_drop_stats) {
            drops = true;
            received += in->if_received;
            dropped += in->if_dropped;
            ifdropped += in->if_ifdropped;
        }
    }
    json_end_array(j);
    json_kuint(j, "network.packets", packets);
    json_kuint(j, "smbscope.connections", conn_groups_stats(a->groups).connections);
    json_kuint(j, "smbscope.netbios_flows", nb_ledger_count(a->ledger));
    if (a->cfg->filter)
        json_kstr(j, "smbscope.filter", a->cfg->filter);
    json_kuint(j, "smbscope.filtered_out", a->filtered_out);
    if (drops) {
        json_kuint(j, "smbscope.capture.received", received);
        json_kuint(j, "smbscope.capture.dropped", dropped);
        json_kuint(j, "smbscope.capture.ifdropped", ifdropped);
    }
    end(n);
}

/* ECS network.protocol of a violation's service, NULL when it has none. */
static const char *service_protocol(const char *service)
{
    static const char *const map[][2] = {
        { "nbns", "netbios-ns" }, { "nbdgm", "netbios-dgm" }, { "nbss", "netbios-ssn" }, { "smb", "smb" },
    };
    for (size_t i = 0; service && i < G_N_ELEMENTS(map); i++)
        if (strcmp(service, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

/* A violation (alert) or a finding of the verdict, with its endpoints when
 * it is about one pair of hosts. */
static void verdict_line(struct ndjson *n, const struct violation *x, const char *scope)
{
    struct json *j = &n->j;
    const struct rule_info *ri = x->is_rule ? policy_rule_info(x->rule) : finding_info((enum finding_kind)x->kind);
    begin(n, x->is_rule ? EV_VIOLATION : EV_FINDING, x->first_seen, x->is_rule ? "failure" : "unknown");
    const char *proto = service_protocol(x->service);
    if (x->client.family && proto && (x->proto == 6 || x->proto == 17))
        endpoints(j, &x->client, x->client_port, &x->server, x->server_port, x->proto == 6 ? "tcp" : "udp", proto);
    json_kstr(j, "rule.name", ri->name);
    json_kstr(j, "rule.description", ri->title);
    json_kstr(j, "rule.ruleset", x->is_rule ? "smbscope-policy" : "smbscope-findings");
    json_kbool(j, "smbscope.violation", x->is_rule);
    json_kstr(j, "smbscope.severity", severity_name(ri->severity));
    json_key(j, "message");
    json_str_bytes(j, (const uint8_t *)x->detail, strlen(x->detail));
    if (x->evidence) {
        json_key(j, "smbscope.evidence");
        json_str_bytes(j, (const uint8_t *)x->evidence, strlen(x->evidence));
    }
    if (x->state)
        json_kstr(j, "smbscope.state", x->state);
    json_kuint(j, "smbscope.flows", x->flows);
    json_kuint(j, "network.packets", x->packets);
    ktime(j, "event.start", x->first_seen);
    ktime(j, "event.end", x->last_seen);
    json_kstr(j, "smbscope.scope", scope);
    end(n);
}

void ndjson_report(struct ndjson *n, const struct analysis *a, const struct verdict *v, const char *scope,
                   const struct verdict *run_v)
{
    for (guint i = 0; i < nb_ledger_count(a->ledger); i++)
        netbios_line(n, nb_ledger_row(a->ledger, i), true, scope, nb_ledger_hosts(a->ledger));
    for (guint i = 0; i < v->violations->len; i++)
        verdict_line(n, &g_array_index(v->violations, struct violation, i), scope);
    for (guint i = 0; i < v->findings->len; i++)
        verdict_line(n, &g_array_index(v->findings, struct violation, i), scope);
    summary(n, a, v, scope, run_v);
}
