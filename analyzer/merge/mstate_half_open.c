/* mstate_half_open.c - see mstate_half_open.h. */
#include "mstate_half_open.h"

#include "mstate_put.h"

void half_open_note(struct analysis *a, struct conn_summary *cs, const struct flow_conn *c)
{
    /* flow.c, class_of(): half-open is a SYN or SYN-ACK state without a
     * FIN each way or a RST (those are closed, whatever the handshake) */
    if (!c) {
        cs->half_open = cs->client_silent = false;
        return;
    }
    cs->half_open = a->finishing && cs->carrier == CONN_CARRIER_TCP &&
                    (c->hs == FLOW_HS_SYN || c->hs == FLOW_HS_SYNACK) && !c->rst_seen && !(c->fin[0] && c->fin[1]);
    /* flow.c, update_state: any packet of the client after a SYN-ACK
     * finishes the handshake */
    int d = mstate_same_end(&c->addr[0], c->port[0], &cs->client, cs->client_port) ? 0 : 1;
    cs->client_silent = cs->carrier == CONN_CARRIER_TCP && !(cs->flags & CONN_F_START_SEEN) && !c->dir[d].packets &&
                        !c->rst_seen && !(c->fin[0] && c->fin[1]);
}

static void put_places(struct json *b, const struct analysis *a, const char *k, bool (*is)(const struct conn_summary *))
{
    bool any = false;
    for (guint i = 0; a->edges && i < a->edges->len; i++) {
        if (!is(&g_array_index(a->edges, struct conn_summary, i)))
            continue;
        if (!any) {
            json_key(b, k);
            json_begin_array(b);
            any = true;
        }
        json_int(b, i);
    }
    if (any)
        json_end_array(b);
}

static bool is_half_open(const struct conn_summary *cs) { return cs->half_open; }
static bool is_client_silent(const struct conn_summary *cs) { return cs->client_silent; }

void mstate_build_edge_half_open(struct json *b, const struct analysis *a)
{
    put_places(b, a, "edge_half_open", is_half_open);
    put_places(b, a, "edge_client_silent", is_client_silent);
}

static void fold_places(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st, const char *k,
                        guint base, guint n, bool silent)
{
    if (!json_object_has_member(st, k))
        return;
    struct jpath kp;
    jpath_key(&kp, p, k);
    JsonArray *arr = jget_arr(g, p, st, k, ANALYSIS_MAX_EDGES);
    int64_t prev = -1;
    for (guint i = 0; arr && !g->failed && i < json_array_get_length(arr); i++) {
        uint64_t at = jget_elem_u64(g, &kp, arr, i, n ? n - 1 : 0);
        if (!g->failed && !jget_later_index(at, &prev, n))
            jget_fail(g, &kp, "not the places of edges, in order");
        if (g->failed)
            return;
        if (a->edges->len - base != n)
            continue; /* merge's own bound folded some */
        struct conn_summary *cs = &g_array_index(a->edges, struct conn_summary, base + at);
        if (silent)
            cs->client_silent = true;
        else
            cs->half_open = true;
    }
}

void mstate_fold_edge_half_open(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st, guint base,
                                guint n)
{
    fold_places(g, p, a, st, "edge_half_open", base, n, false);
    fold_places(g, p, a, st, "edge_client_silent", base, n, true);
}
