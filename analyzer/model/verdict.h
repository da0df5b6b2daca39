/* verdict.h - apply the policy (dissector/policy/policy.h) to what a run saw,
 * and say whether the capture could show it at all.
 *
 * Outcomes, one meaning everywhere (exit status, JSON verdict.outcome):
 *   pass (0)         the policy holds and the capture could have shown a violation
 *   fail (1)         at least one violation (whatever else is missing)
 *   error (2)        usage error, or no input could be read at all
 *   inconclusive (3) no violation, but something the policy needs was not
 *                    captured (verdict.unknowns says what and how to get it)
 * Precedence 2 > 1 > 3 > 0. */
#ifndef SMBSCOPE_VERDICT_H
#define SMBSCOPE_VERDICT_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "analysis.h"
#include "conn_groups.h"
#include "policy.h"

enum outcome { OUTCOME_PASS = 0, OUTCOME_FAIL, OUTCOME_ERROR, OUTCOME_INCONCLUSIVE };
const char *outcome_name(enum outcome o);  /* "pass", "fail", "error", "inconclusive" */
int outcome_exit_code(enum outcome o);     /* 0, 1, 2, 3 */

/* A violation (is_rule: kind is an enum policy_rule) or a finding (kind is
 * an enum finding_kind), structured: one flow or connection, or an aggregate
 * (flows > 1, endpoints of the first). */
struct violation {
    bool is_rule;
    int kind;
    enum policy_rule rule;      /* == kind when is_rule (kept for existing callers) */
    struct ip_addr client, server; /* family 0: not about one pair of hosts */
    uint16_t client_port, server_port;
    uint8_t proto;              /* 6, 17, or 0 */
    const char *service;        /* "nbns", "nbdgm", "nbss", "smb", "netbeui", ... */
    const char *state;          /* NetBIOS state or transport class */
    uint64_t flows, packets;
    uint64_t connections;       /* SMB connections it stands for (a group's count); 0 when not about connections */
    int64_t first_seen, last_seen;
    char *detail;               /* one line, escaped, printable */
    char *evidence;             /* what in the capture shows it */
    char *subject;              /* what it is about, when not a flow: the name of a netbios-only-name finding */
};

/* Something the policy needed that the capture does not hold. */
struct unknown {
    const char *reason;         /* stable id: "no-packets", "mid-stream", ... */
    uint32_t rules;             /* bits of the rules it leaves undecided */
    uint64_t count;             /* connections, packets, inputs ... it concerns */
    char *detail;               /* what is missing, escaped */
    const char *how;            /* how to get it */
};

struct verdict {
    enum outcome outcome;
    bool pass;                  /* outcome == OUTCOME_PASS: a real pass only */
    int exit_code;
    GArray *violations;         /* struct violation (is_rule), sorted by first_seen */
    GArray *findings;           /* struct violation (!is_rule), sorted by first_seen */
    GArray *unknowns;           /* struct unknown */
    uint32_t rules_enabled;     /* bits of the rules the policy judges */
    uint32_t rules_undecided;   /* bits left undecided somewhere */
    int64_t race_window_us;
};

/* Facts of one connection the policy rules read. */
struct policy_conn_facts verdict_conn_facts(const struct smb_conn *s);

void verdict_compute(struct verdict *v, const struct analysis *a, const struct policy *p);
void verdict_free(struct verdict *v);

/* A group's endpoints for a one-line text (see verdict.c); returns buf. */
const char *verdict_group_endpoints(const struct conn_group *g, char *buf, size_t len);
/* Lines a group of connections gets in violations[]/findings[]: one per
 * connection while all are examples, else one; line i's endpoints (text
 * into ends) and structured members (client ... last_seen, flows,
 * connections, packets) into x. */
uint32_t verdict_group_lines(const struct conn_group *g);
void verdict_group_line(struct violation *x, const struct conn_group *g, uint32_t i, char *ends, size_t len);

/* Findings about a connection that are worth a line but are not policy
 * violations (e.g. SMB 3.1.1 over NBT, which MS-SMB2 2.1 does not allow).
 * Calls emit once per finding. */
void verdict_conn_findings(const struct smb_conn *s, void (*emit)(const char *text, void *arg), void *arg);
/* The same from a connection's facts (smbscope merge renders a connection
 * joined from two parts with it): transport class, evidence bits, chosen
 * SMB2 dialect, server port, stream gaps, SMB version. */
void verdict_conn_findings_of(int cls, uint32_t evidence, uint16_t dialect, uint16_t server_port, uint64_t gaps,
                              int smb_version, void (*emit)(const char *text, void *arg), void *arg);

/* verdict_unknowns.c: what the capture lacks (fills v->unknowns). */
void verdict_unknowns(struct verdict *v, const struct analysis *a, const struct policy *p);
/* verdict_findings.c: races, NBT-only clients, NTLM sessions, names (fills v->findings). */
void verdict_findings(struct verdict *v, const struct analysis *a, const struct policy *p);

/* Internal: append to an array of struct violation / struct unknown. */
struct violation *verdict_add(GArray *arr, bool is_rule, int kind, int64_t first_seen, char *detail);
void verdict_add_unknown(struct verdict *v, const char *reason, uint32_t rules, uint64_t count, char *detail,
                         const char *how);

#endif
