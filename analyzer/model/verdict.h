/* verdict.h - apply the policy (dissector/policy/policy.h) to what a run saw. */
#ifndef SMBSCOPE_VERDICT_H
#define SMBSCOPE_VERDICT_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "analysis.h"
#include "policy.h"

struct violation {
    enum policy_rule rule;
    char *detail;       /* escaped, printable */
    int64_t first_seen;
};

struct verdict {
    bool pass;          /* no violation */
    int exit_code;      /* 0 pass, 1 violated, 2 input error */
    GArray *violations; /* struct violation, sorted by first_seen */
};

/* Facts of one connection the policy rules read. */
struct policy_conn_facts verdict_conn_facts(const struct smb_conn *s);

void verdict_compute(struct verdict *v, const struct analysis *a, const struct policy *p);
void verdict_free(struct verdict *v);

/* Findings about a connection that are worth a line but are not policy
 * violations (e.g. SMB 3.1.1 over NBT, which MS-SMB2 2.1 does not allow).
 * Calls emit once per finding. */
void verdict_conn_findings(const struct smb_conn *s, void (*emit)(const char *text, void *arg), void *arg);

#endif
