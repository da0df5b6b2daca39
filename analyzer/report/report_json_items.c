/* report_json_items.c - the lines of verdict.violations[] and findings[],
 * bounded, with a summary that counts every line.
 *
 * A line repeats the rule's words and, for both roles, the whole remedy
 * (about 700 bytes of a line's 1,200).  At 1,124 connection groups and two
 * rules broken that was 2.7 MB of the report, and the lines grow with the
 * rules a policy judges (issue 13: 8 MiB under any policy).  So, as hosts[]
 * does with fix[]: the remedy objects only on the first lines listed, on
 * every line the remedy ids (their words once in fix_catalog.remedies), and
 * the listing bounded in bytes, shared evenly by the rules present, with
 * every line counted per rule in the summary (exact at any size). */
#include "report_json.h"

#include <string.h>

#include "fmt.h"

/* Lines with remedy_client/remedy_server objects (null after them). */
#define JSON_ITEMS_REMEDY_DETAILED 250

#define KINDS ((unsigned)RULE_COUNT > (unsigned)FINDING_COUNT ? (unsigned)RULE_COUNT : (unsigned)FINDING_COUNT)

static const struct rule_info *info_of(const struct violation *x)
{
    return x->is_rule ? policy_rule_info((enum policy_rule)x->kind) : finding_info((enum finding_kind)x->kind);
}

void json_remedy(struct json *j, const char *key, enum remedy_id id)
{
    const struct remedy_info *r = remedy_info(id);
    json_key(j, key);
    if (id == REMEDY_NONE) {
        json_null(j);
        return;
    }
    json_begin_object(j);
    json_kstr(j, "id", r->id);
    json_kstr(j, "summary", r->summary);
    json_kstr(j, "windows", r->windows);
    json_kstr(j, "samba", r->samba);
    json_kstr(j, "ontap", r->ontap);
    json_end_object(j);
}

static void remedy_id(struct json *j, const char *key, enum remedy_id id)
{
    json_kstr(j, key, id == REMEDY_NONE ? NULL : remedy_info(id)->id);
}

/* A line's end: null when the line has none (a rule of the whole capture);
 * inline so that json_key() sees the literal key (json.h). */
static JSON_ALWAYS_INLINE void addr_or_null(struct json *j, const char *key, const struct ip_addr *a)
{
    json_key(j, key);
    if (a->family)
        jkaddr(j, NULL, a);
    else
        json_null(j);
}

static void item(struct json *j, const struct violation *x, bool remedy_detail)
{
    const struct rule_info *ri = info_of(x);
    json_begin_object(j);
    json_kstr(j, "rule", ri->name);
    json_kstr(j, "severity", severity_name(ri->severity));
    json_kstr(j, "title", ri->title);
    json_key(j, "detail");
    json_str_bytes(j, (const uint8_t *)x->detail, strlen(x->detail));
    jktime(j, "first_seen", x->first_seen);
    jktime(j, "last_seen", x->last_seen);
    addr_or_null(j, "client", &x->client);
    json_kuint(j, "client_port", x->client_port);
    addr_or_null(j, "server", &x->server);
    json_kuint(j, "server_port", x->server_port);
    json_key(j, "proto");
    json_str(j, x->proto == 6 ? "tcp" : x->proto == 17 ? "udp" : NULL);
    json_kstr(j, "service", x->service);
    json_kstr(j, "state", x->state);
    json_kuint(j, "flows", x->flows);
    if (x->connections)
        json_kuint(j, "connections", x->connections);
    json_kuint(j, "packets", x->packets);
    json_kstr(j, "evidence", x->evidence);
    if (remedy_detail) {
        json_remedy(j, "remedy_client", ri->remedy_client);
        json_remedy(j, "remedy_server", ri->remedy_server);
    } else {
        json_key(j, "remedy_client");
        json_null(j);
        json_key(j, "remedy_server");
        json_null(j);
    }
    remedy_id(j, "remedy_client_id", ri->remedy_client);
    remedy_id(j, "remedy_server_id", ri->remedy_server);
    json_end_object(j);
}

struct kind_count {
    uint64_t lines, listed, flows, connections, packets, bytes;
};

void json_items(struct json *j, const char *key, const char *summary_key, const GArray *lines, bool is_rule,
                uint64_t budget)
{
    struct kind_count per[KINDS];
    memset(per, 0, sizeof per);
    unsigned kinds = 0;
    for (guint i = 0; i < lines->len; i++) {
        const struct violation *x = &g_array_index(lines, struct violation, i);
        kinds += per[x->kind].lines++ == 0;
    }
    /* each rule present gets an even share, so that a rule with few lines
     * is listed whatever the lines of another (the share of one rule is not
     * handed on: which lines are listed must not depend on their bytes
     * beyond their own rule's) */
    uint64_t share = kinds ? budget / kinds : budget;
    uint64_t listed = 0, detailed = 0;
    json_key(j, key);
    json_begin_array(j);
    for (guint i = 0; i < lines->len; i++) {
        const struct violation *x = &g_array_index(lines, struct violation, i);
        struct kind_count *k = &per[x->kind];
        k->flows += x->flows;
        k->connections += x->connections;
        k->packets += x->packets;
        if (k->bytes >= share)
            continue;
        uint64_t start = json_bytes(j);
        bool detail = detailed < JSON_ITEMS_REMEDY_DETAILED;
        item(j, x, detail);
        detailed += detail;
        k->bytes += json_bytes(j) - start;
        k->listed++;
        listed++;
    }
    json_end_array(j);

    json_key(j, summary_key);
    json_begin_object(j);
    json_kuint(j, "total", lines->len);
    json_kuint(j, "listed", listed);
    json_kuint(j, "not_listed", lines->len - listed);
    json_kbool(j, "listing_capped", listed < lines->len);
    json_kuint(j, "remedies_detailed", detailed);
    json_key(j, "rules");
    json_begin_object(j);
    for (unsigned k = 0; k < KINDS; k++) {
        if (!per[k].lines)
            continue;
        const struct violation probe = { .is_rule = is_rule, .kind = (int)k };
        json_key(j, info_of(&probe)->name);
        json_begin_object(j);
        json_kuint(j, "lines", per[k].lines);
        json_kuint(j, "listed", per[k].listed);
        json_kuint(j, "flows", per[k].flows);
        json_kuint(j, "connections", per[k].connections);
        json_kuint(j, "packets", per[k].packets);
        json_end_object(j);
    }
    json_end_object(j);
    json_end_object(j);
}

_Static_assert(REMEDY_COUNT <= 32, "remedy bits in a uint32_t");

uint32_t json_items_remedies(const GArray *lines)
{
    uint32_t used = 0;
    for (guint i = 0; i < lines->len; i++) {
        const struct rule_info *ri = info_of(&g_array_index(lines, struct violation, i));
        used |= 1u << ri->remedy_client | 1u << ri->remedy_server;
    }
    return used & ~(1u << REMEDY_NONE);
}
