/* stats.c - "tshark -z smbscope,tree" / Statistics > smbscope: connections,
 * not packets.
 *
 * The tap sees every packet of a conversation; each conversation is counted
 * once, under the labels its latest packet carries.  On tshark's single pass
 * a label can change (a 2.x answer later renegotiated to 3.1.1, "no-answer"
 * later answered): the conversation then moves from the old bucket to the
 * new one, so the totals at the end are the final answers either way. */
#include "smbscope.h"

#include <epan/stats_tree.h>
#include <epan/tap.h>

#define N_TRANSPORT "SMB connections by transport"
#define N_DIALECT "SMB connections by dialect"
#define N_NETBIOS "NetBIOS flows by service and state"
#define NO_DIALECT "(no negotiate seen)"
#define NO_STATE "(unknown)"

/* What a conversation is currently counted as. */
struct counted {
    char *transport, *dialect, *service, *state;
};

struct tree_state {
    GHashTable *convs;   /* const struct smbscope_conv * -> struct counted */
    GHashTable *counts;  /* node path -> gint count */
    int transport_node, dialect_node, netbios_node;
};

/* stats_tree has no user pointer: keep ours per tree. */
static GHashTable *trees; /* stats_tree * -> struct tree_state */

static void counted_free(gpointer p)
{
    struct counted *c = (struct counted *)p;
    g_free(c->transport);
    g_free(c->dialect);
    g_free(c->service);
    g_free(c->state);
    g_free(c);
}

static void tree_state_free(gpointer p)
{
    struct tree_state *ts = (struct tree_state *)p;
    g_hash_table_destroy(ts->convs);
    g_hash_table_destroy(ts->counts);
    g_free(ts);
}

static int bump(stats_tree *st, struct tree_state *ts, const char *path_key, const char *name, int parent,
                bool with_children, int delta)
{
    gint n = GPOINTER_TO_INT(g_hash_table_lookup(ts->counts, path_key)) + delta;
    g_hash_table_insert(ts->counts, g_strdup(path_key), GINT_TO_POINTER(n));
    return set_stat_node(st, name, parent, with_children, n);
}

/* Move one conversation from label `old` to label `now` under `node`. */
static void relabel(stats_tree *st, struct tree_state *ts, int node, const char *node_key, char **old,
                    const char *now)
{
    if (g_strcmp0(*old, now) == 0)
        return;
    if (*old) {
        char *k = g_strconcat(node_key, "/", *old, NULL);
        bump(st, ts, k, *old, node, false, -1);
        g_free(k);
    }
    g_free(*old);
    *old = g_strdup(now);
    if (now) {
        char *k = g_strconcat(node_key, "/", now, NULL);
        bump(st, ts, k, now, node, false, +1);
        g_free(k);
    }
}

static void set_total(stats_tree *st, struct tree_state *ts, const char *node_name, int delta)
{
    bump(st, ts, node_name, node_name, 0, true, delta);
}

static void relabel_netbios(stats_tree *st, struct tree_state *ts, struct counted *c, const char *service,
                            const char *state)
{
    if (g_strcmp0(c->service, service) == 0 && g_strcmp0(c->state, state) == 0)
        return;
    if (c->service) {
        char *k = g_strconcat(N_NETBIOS, "/", c->service, NULL);
        int svc_node = bump(st, ts, k, c->service, ts->netbios_node, true, -1);
        char *k2 = g_strconcat(k, "/", c->state, NULL);
        bump(st, ts, k2, c->state, svc_node, false, -1);
        g_free(k2);
        g_free(k);
    } else {
        set_total(st, ts, N_NETBIOS, +1);
    }
    g_free(c->service);
    g_free(c->state);
    c->service = g_strdup(service);
    c->state = g_strdup(state ? state : NO_STATE);
    char *k = g_strconcat(N_NETBIOS, "/", c->service, NULL);
    int svc_node = bump(st, ts, k, c->service, ts->netbios_node, true, +1);
    char *k2 = g_strconcat(k, "/", c->state, NULL);
    bump(st, ts, k2, c->state, svc_node, false, +1);
    g_free(k2);
    g_free(k);
}

static void smbscope_stats_init(stats_tree *st)
{
    if (!trees)
        trees = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, tree_state_free);
    struct tree_state *ts = g_new0(struct tree_state, 1);
    ts->convs = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, counted_free);
    ts->counts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    ts->transport_node = stats_tree_create_node(st, N_TRANSPORT, 0, STAT_DT_INT, TRUE);
    ts->dialect_node = stats_tree_create_node(st, N_DIALECT, 0, STAT_DT_INT, TRUE);
    ts->netbios_node = stats_tree_create_node(st, N_NETBIOS, 0, STAT_DT_INT, TRUE);
    g_hash_table_replace(trees, st, ts); /* a reset re-runs init */
}

static void smbscope_stats_cleanup(stats_tree *st)
{
    if (trees)
        g_hash_table_remove(trees, st);
}

static tap_packet_status smbscope_stats_packet(stats_tree *st, packet_info *pinfo _U_, epan_dissect_t *edt _U_,
                                               const void *p, tap_flags_t flags _U_)
{
    const struct smbscope_tap_rec *rec = (const struct smbscope_tap_rec *)p;
    struct tree_state *ts = trees ? (struct tree_state *)g_hash_table_lookup(trees, st) : NULL;
    if (!ts || !rec || !rec->conv)
        return TAP_PACKET_DONT_REDRAW;
    struct counted *c = (struct counted *)g_hash_table_lookup(ts->convs, rec->conv);
    if (!c) {
        c = g_new0(struct counted, 1);
        g_hash_table_insert(ts->convs, (gpointer)(uintptr_t)rec->conv, c);
    }
    if (rec->transport) {
        if (!c->transport) {
            set_total(st, ts, N_TRANSPORT, +1);
            set_total(st, ts, N_DIALECT, +1);
        }
        relabel(st, ts, ts->transport_node, N_TRANSPORT, &c->transport, rec->transport);
        relabel(st, ts, ts->dialect_node, N_DIALECT, &c->dialect, rec->dialect ? rec->dialect : NO_DIALECT);
    }
    if (rec->service)
        relabel_netbios(st, ts, c, rec->service, rec->state);
    if (rec->also && rec->also_service) {
        struct counted *a = (struct counted *)g_hash_table_lookup(ts->convs, rec->also);
        if (!a) {
            a = g_new0(struct counted, 1);
            g_hash_table_insert(ts->convs, (gpointer)(uintptr_t)rec->also, a);
        }
        relabel_netbios(st, ts, a, rec->also_service, rec->also_state);
    }
    return TAP_PACKET_REDRAW;
}

void smbscope_register_stats(void)
{
    stats_tree_register_plugin("smbscope", "smbscope", "SMB transport audit (smbscope)", 0,
                               smbscope_stats_packet, smbscope_stats_init, smbscope_stats_cleanup);
}
