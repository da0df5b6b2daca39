/* report_text_groups.c - the text report's view of every connection at any
 * size: the connection groups (when connections[] detail was cut), the
 * connection count per client and the dialect histogram, all from the
 * groups (conn_groups.h), so they count every connection and stay short. */
#include "report_text.h"

#include <string.h>

#include "conn_groups.h"
#include "fmt.h"

#define TEXT_GROUPS_SHOWN 100
#define TEXT_CLIENTS_SHOWN 100

static void rules_text(uint32_t bits, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int r = 0; r < RULE_COUNT && n < len; r++)
        if (bits & (1u << r))
            n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? "," : "", policy_rule_name((enum policy_rule)r));
    if (!buf[0])
        g_strlcpy(buf, "-", len);
}

void text_groups(struct text *t, const struct analysis *a)
{
    FILE *out = t->out;
    struct conn_groups_stats st = conn_groups_stats(a->groups);
    uint32_t n = conn_groups_count(a->groups);
    text_heading(t, "Connection groups");
    fprintf(out, "  all %" G_GUINT64_FORMAT " SMB connections in %u group%s (same client, server, port, transport, "
                 "dialect, signing, encryption, auth, policy outcome)\n", st.connections, n, n == 1 ? "" : "s");
    uint64_t folded = st.folded[CONN_GROUP_ANY_CLIENT] + st.folded[CONN_GROUP_ANY_HOST] + st.folded[CONN_GROUP_OTHER];
    if (folded)
        fprintf(out, "  group cap %u hit: %" G_GUINT64_FORMAT " connections folded into groups without their client "
                     "(or server) address (--max-connection-groups)\n", st.cap, folded);
    fprintf(out, "  %7s  %-40s %-13s %-7s %-8s %-3s %-9s %s\n", "COUNT", "CLIENT -> SERVER", "TRANSPORT", "DIALECT",
            "SIGNING", "ENC", "AUTH", "RULES");
    uint32_t *order = conn_groups_ranked(a->groups);
    uint32_t shown = n < TEXT_GROUPS_SHOWN ? n : TEXT_GROUPS_SHOWN;
    uint64_t shown_conns = 0;
    for (uint32_t i = 0; i < shown; i++) {
        const struct conn_group *g = conn_groups_at(a->groups, order[i]);
        const struct conn_group_key *k = &g->key;
        char c[FMT_ADDR_LEN], sv[FMT_ENDPOINT_LEN], pair[2 * FMT_ENDPOINT_LEN + 8], rules[128];
        snprintf(pair, sizeof pair, "%s -> %s", k->client.family ? fmt_addr(&k->client, c) : "*",
                 k->server.family ? fmt_endpoint(&k->server, k->server_port, sv) : "*");
        rules_text(conn_group_rules(k, &a->cfg->policy), rules, sizeof rules);
        const char *sign = conn_signing_name((enum conn_signing)k->signing);
        fprintf(out, "  %7" G_GUINT64_FORMAT "  %-40s %-13s %-7s %-8s %-3s %-9s %s\n", g->count, pair,
                transport_class_name((enum transport_class)k->transport), k->dialect_text[0] ? k->dialect_text : "?",
                sign ? sign : "?", (k->flags & CONN_F_ENCRYPTED) ? "yes" : "no",
                conn_summary_auth_text(k->auth, k->auth_mech), rules);
        shown_conns += g->count;
    }
    g_free(order);
    if (shown < n)
        fprintf(out, "  ... %u more groups with %" G_GUINT64_FORMAT " connections (--format json: connection_groups[])\n",
                n - shown, st.connections - shown_conns);
}

/* A count per key, in order of the key's earliest connection. */
struct tally {
    char key[FMT_ADDR_LEN + 8];
    uint64_t count;
    int64_t first;
};

static gint tally_order(gconstpointer pa, gconstpointer pb)
{
    const struct tally *x = pa, *y = pb;
    if (x->first != y->first)
        return x->first < y->first ? -1 : 1;
    return strcmp(x->key, y->key);
}

static GArray *tally_build(const struct analysis *a, bool by_client)
{
    GHashTable *index = g_hash_table_new(g_str_hash, g_str_equal);
    GArray *arr = g_array_new(FALSE, TRUE, sizeof(struct tally));
    for (uint32_t i = 0; i < conn_groups_count(a->groups); i++) {
        const struct conn_group *g = conn_groups_at(a->groups, i);
        struct tally t;
        memset(&t, 0, sizeof t);
        if (by_client && g->key.client.family)
            fmt_addr(&g->key.client, t.key);
        else if (by_client)
            g_strlcpy(t.key, "(not itemised)", sizeof t.key);
        else
            g_strlcpy(t.key, g->key.dialect_text[0] ? g->key.dialect_text : "unknown", sizeof t.key);
        gpointer at = g_hash_table_lookup(index, t.key);
        if (!at) {
            t.first = g->first_ts;
            g_array_append_val(arr, t);
            at = GUINT_TO_POINTER(arr->len);
            g_hash_table_insert(index, g_strdup(t.key), at);
        }
        struct tally *x = &g_array_index(arr, struct tally, GPOINTER_TO_UINT(at) - 1);
        x->count += g->count;
        if (g->first_ts < x->first)
            x->first = g->first_ts;
    }
    GList *keys = g_hash_table_get_keys(index);
    g_list_free_full(keys, g_free);
    g_hash_table_destroy(index);
    g_array_sort(arr, tally_order);
    return arr;
}

void text_per_client(struct text *t, const struct analysis *a)
{
    text_heading(t, "Connection count per client");
    GArray *arr = tally_build(a, true);
    if (!arr->len)
        fputs("  none\n", t->out);
    int w = 0;
    guint shown = arr->len < TEXT_CLIENTS_SHOWN ? arr->len : TEXT_CLIENTS_SHOWN;
    for (guint i = 0; i < shown; i++)
        w = (int)strlen(g_array_index(arr, struct tally, i).key) > w ? (int)strlen(g_array_index(arr, struct tally, i).key) : w;
    uint64_t rest = 0;
    for (guint i = 0; i < arr->len; i++) {
        const struct tally *x = &g_array_index(arr, struct tally, i);
        if (i < shown)
            fprintf(t->out, "  %-*s %" G_GUINT64_FORMAT "\n", w, x->key, x->count);
        else
            rest += x->count;
    }
    if (shown < arr->len)
        fprintf(t->out, "  ... %u more clients with %" G_GUINT64_FORMAT " connections\n", arr->len - shown, rest);
    g_array_free(arr, TRUE);
}

void text_dialect_histogram(struct text *t, const struct analysis *a)
{
    text_heading(t, "Dialects chosen");
    GArray *arr = tally_build(a, false);
    if (!arr->len)
        fputs("  none\n", t->out);
    uint64_t max = 0;
    for (guint i = 0; i < arr->len; i++)
        max = g_array_index(arr, struct tally, i).count > max ? g_array_index(arr, struct tally, i).count : max;
    for (guint i = 0; i < arr->len; i++) {
        const struct tally *x = &g_array_index(arr, struct tally, i);
        uint64_t bar = max ? (x->count * 40 + max - 1) / max : 0;
        fprintf(t->out, "  %-12s %5" G_GUINT64_FORMAT " ", x->key, x->count);
        for (uint64_t b = 0; b < bar; b++)
            fputc('#', t->out);
        fputc('\n', t->out);
    }
    g_array_free(arr, TRUE);
}
