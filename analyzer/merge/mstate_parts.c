/* mstate_parts.c - the runs a report stands for, in the merge state as
 * "parts": [[run_first, path, clock_first, clock_last, jumps], ...], so that
 * merge counts the time jumps of the run over all the captures: those
 * inside each run, and those between two runs read one after the other
 * (a run's clock goes on from one capture to the next: flow.h).  Exact as
 * long as the runs' captures do not interleave in time (time slices,
 * sensors one after the other); see mstate.h. */
#include "mstate.h"

#include <string.h>

#include "flow.h"
#include "mstate_put.h"

enum { PF_RUN_FIRST, PF_PATH, PF_FIRST, PF_LAST, PF_JUMPS, PF_N };

static void clear_clock(gpointer p) { g_free(((struct mstate_clock *)p)->path); }

static GArray *clocks(struct analysis *a)
{
    if (!a->part_clocks) {
        a->part_clocks = g_array_new(FALSE, FALSE, sizeof(struct mstate_clock));
        g_array_set_clear_func(a->part_clocks, clear_clock);
    }
    return a->part_clocks;
}

/* Where the run over all captures reads a run: its first packet, then its
 * first input's path (merge.c's input order). */
static gint clock_order(gconstpointer pa, gconstpointer pb)
{
    const struct mstate_clock *a = pa, *b = pb;
    if (a->run_first != b->run_first)
        return a->run_first < b->run_first ? -1 : 1;
    return strcmp(a->path, b->path);
}

/* A run's own part. */
static struct mstate_clock own_part(const struct analysis *a)
{
    struct mstate_clock c = { .run_first = a->first_ts, .path = NULL };
    const struct input_info *first = NULL;
    for (guint i = 0; i < a->inputs->len; i++) {
        const struct input_info *in = g_ptr_array_index(a->inputs, i);
        if (!first || in->first_ts < first->first_ts ||
            (in->first_ts == first->first_ts && strcmp(in->path, first->path) < 0))
            first = in;
    }
    c.path = g_strdup(first ? first->path : "");
    c.have = flow_table_clock(a->flows, &c.first, &c.last);
    c.jumps = flow_table_stats(a->flows).time_jumps;
    return c;
}

void mstate_parts_of(struct analysis *into, const struct analysis *run)
{
    GArray *dst = clocks(into);
    if (!run->part_clocks || !run->part_clocks->len) {
        struct mstate_clock c = own_part(run);
        g_array_append_val(dst, c);
        into->merged_parts++;
        return;
    }
    for (guint i = 0; i < run->part_clocks->len; i++) {
        struct mstate_clock c = g_array_index(run->part_clocks, struct mstate_clock, i);
        c.path = g_strdup(c.path);
        g_array_append_val(dst, c);
    }
    into->merged_parts += run->merged_parts;
}

static void part(struct json *b, const struct mstate_clock *c)
{
    json_begin_array(b);
    json_int(b, c->run_first);
    char *path = g_utf8_make_valid(c->path ? c->path : "", -1);
    json_str(b, path);
    g_free(path);
    if (c->have) {
        json_int(b, c->first);
        json_int(b, c->last);
    } else {
        json_null(b);
        json_null(b);
    }
    vint(b, c->jumps);
    json_end_array(b);
}

void mstate_build_parts(struct json *b, const struct analysis *a)
{
    uint64_t folded = 0, folded_jumps = 0;
    json_key(b, "parts");
    json_begin_array(b);
    if (!a->part_clocks || !a->part_clocks->len) {
        struct mstate_clock c = own_part(a);
        part(b, &c);
        g_free(c.path);
    } else {
        for (guint i = 0; i < a->part_clocks->len; i++) {
            const struct mstate_clock *c = &g_array_index(a->part_clocks, struct mstate_clock, i);
            if (i < MSTATE_PARTS_CAP) {
                part(b, c);
            } else {
                folded++;
                folded_jumps += c->jumps;
            }
        }
        folded += a->merged_parts > a->part_clocks->len ? a->merged_parts - a->part_clocks->len : 0;
    }
    json_end_array(b);
    json_key(b, "parts_folded");
    json_int(b, (gint64)folded);
    json_key(b, "parts_folded_jumps");
    vint(b, folded_jumps);
}

void mstate_fold_parts(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st)
{
    struct jpath ap, ip;
    jpath_key(&ap, p, "parts");
    JsonArray *arr = jget_arr(g, p, st, "parts", MSTATE_PARTS_CAP);
    if (arr && !g->failed && json_array_get_length(arr) == 0)
        jget_fail(g, &ap, "no run");
    for (guint i = 0; arr && !g->failed && i < json_array_get_length(arr); i++) {
        jpath_index(&ip, &ap, i);
        JsonNode *n = json_array_get_element(arr, i);
        JsonArray *e = jget_node_arr(n);
        if (!e || json_array_get_length(e) != PF_N) {
            jget_fail(g, &ip, "not [run_first, path, clock_first, clock_last, jumps]");
            return;
        }
        struct mstate_clock c = { .run_first = jget_elem_ts_or_none(g, &ip, e, PF_RUN_FIRST) };
        const char *path = jget_elem_str(g, &ip, e, PF_PATH, 4096);
        bool nul = JSON_NODE_HOLDS_NULL(json_array_get_element(e, PF_FIRST));
        if (nul != JSON_NODE_HOLDS_NULL(json_array_get_element(e, PF_LAST)))
            jget_fail(g, &ip, "a clock of one end");
        if (!nul) {
            c.first = jget_elem_ts(g, &ip, e, PF_FIRST);
            c.last = jget_elem_ts(g, &ip, e, PF_LAST);
            c.have = true;
        }
        int64_t jumps = jget_elem_i64(g, &ip, e, PF_JUMPS);
        if (jumps < 0 && !g->failed)
            jget_fail(g, &ip, "negative jumps");
        if (g->failed)
            return;
        c.jumps = (uint64_t)jumps;
        c.path = g_strdup(path);
        g_array_append_val(clocks(a), c);
        a->merged_parts++;
    }
    a->merged_parts += jget_u64(g, p, st, "parts_folded", INT64_MAX);
    struct flow_stats folded = { .time_jumps = jget_u64(g, p, st, "parts_folded_jumps", INT64_MAX) };
    flow_table_fold_stats(a->flows, &folded);
}

void mstate_clocks_finish(struct analysis *a)
{
    if (!a->part_clocks)
        return;
    g_array_sort(a->part_clocks, clock_order);
    const struct mstate_clock *prev = NULL;
    struct flow_stats jumps = { 0 };
    for (guint i = 0; i < a->part_clocks->len; i++) {
        const struct mstate_clock *c = &g_array_index(a->part_clocks, struct mstate_clock, i);
        jumps.time_jumps += c->jumps;
        if (!c->have)
            continue;
        if (prev) {
            int64_t step = c->first - prev->last;
            jumps.time_jumps += step < -FLOW_JUMP_BACK_US || step > FLOW_JUMP_FORWARD_US;
        }
        prev = c;
    }
    flow_table_fold_stats(a->flows, &jumps);
}
