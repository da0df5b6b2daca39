/* report_json.h - parts of the JSON report, one file per job, and the small
 * helpers they share. */
#ifndef SMBSCOPE_REPORT_JSON_H
#define SMBSCOPE_REPORT_JSON_H

#include <stdint.h>

#include "fmt.h"
#include "hostview.h"
#include "json.h"
#include "report.h"

/* Key and address or time (null for a time of INT64_MIN or INT64_MAX);
 * inline so that json_key() sees the literal key (json.h). */
static JSON_ALWAYS_INLINE void jkaddr(struct json *j, const char *key, const struct ip_addr *a)
{
    char buf[FMT_ADDR_LEN];
    if (key)
        json_kstr(j, key, fmt_addr(a, buf));
    else
        json_str(j, fmt_addr(a, buf));
}

static JSON_ALWAYS_INLINE void jktime(struct json *j, const char *key, int64_t ts)
{
    char buf[FMT_TIME_LEN];
    json_key(j, key);
    if (ts == INT64_MAX || ts == INT64_MIN)
        json_null(j);
    else
        json_str(j, fmt_time(ts, buf));
}

/* report_json_verdict.c */
void json_verdict(struct json *j, const struct analysis *a, const struct verdict *v);
void json_findings(struct json *j, const struct verdict *v);
void json_evidence(struct json *j, const struct analysis *a);
void json_hosts(struct json *j, const struct host_views *hv, const struct verdict *v);

/* report_json_items.c: the lines of violations[] or findings[] (is_rule),
 * at most about budget bytes of them, then summary_key counting them all;
 * a remedy object; the remedies (bits of enum remedy_id) lines name. */
void json_items(struct json *j, const char *key, const char *summary_key, const GArray *lines, bool is_rule,
                uint64_t budget);
void json_remedy(struct json *j, const char *key, enum remedy_id id);
uint32_t json_items_remedies(const GArray *lines);

/* report_json_conn.c */
void json_connection(struct json *j, const struct smb_conn *s);

/* report_json_groups.c: connections_omitted, connection_groups[],
 * connection_groups_summary */
/* The connections[] array: the kept connections, then (merge) the carried entries. */
void report_json_connections(struct json *j, const struct analysis *a);
void json_connection_groups(struct json *j, const struct analysis *a);

/* report_json_quic.c: "carrier" and "quic" of a connection, stats.quic,
 * policy.allow_transport */
void json_carrier(struct json *j, const struct smb_conn *s);
void json_quic_stats(struct json *j, const struct analysis *a);
void json_allow_transport(struct json *j, const struct policy *p);

#endif
