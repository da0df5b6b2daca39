/* part_overlap.c - see part_overlap.h. */
#include "part_overlap.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "part_sketch.h"

struct held {
    uint64_t hash;
    uint32_t input; /* index in a->inputs */
};

struct overlap_check {
    GArray *held;   /* struct held of every input's sketch */
    GArray *report; /* int: the report of each input, by index */
};

struct overlap_check *overlap_check_new(void)
{
    struct overlap_check *c = g_new0(struct overlap_check, 1);
    c->held = g_array_new(FALSE, FALSE, sizeof(struct held));
    c->report = g_array_new(FALSE, FALSE, sizeof(int));
    return c;
}

void overlap_check_add(struct overlap_check *c, const struct analysis *a, guint from, int report)
{
    for (guint i = from; i < a->inputs->len; i++) {
        const struct input_info *in = g_ptr_array_index(a->inputs, i);
        g_array_append_val(c->report, report);
        for (uint32_t k = 0; k < in->overlap.n; k++) {
            struct held h = { in->overlap.hashes[k], i };
            g_array_append_val(c->held, h);
        }
    }
}

static int held_order(const void *pa, const void *pb)
{
    const struct held *a = pa, *b = pb;
    if (a->hash != b->hash)
        return a->hash < b->hash ? -1 : 1;
    return a->input < b->input ? -1 : a->input > b->input;
}

static const char *name_of(const char *path) { return strcmp(path, "-") ? path : "standard input"; }

static void describe(char *buf, size_t len, const struct input_info *in)
{
    char t0[FMT_TIME_LEN], t1[FMT_TIME_LEN];
    snprintf(buf, len, "%s (%" G_GUINT64_FORMAT " packets, %s to %s)", in->path, in->packets,
             fmt_time(in->first_ts, t0), fmt_time(in->last_ts, t1));
}

/* Which pair is named: the one whose later input comes first (the first
 * report that repeats records), then its earlier input; a sketch holds a
 * hash once, so a run of equal hashes names distinct inputs. */
bool overlap_check_done(struct overlap_check *c, const struct analysis *a, char *const *paths, int *report,
                        char *err, size_t errlen)
{
    struct held *h = (struct held *)(void *)c->held->data;
    guint n = c->held->len;
    if (n > 1) /* none held (inputs of no record): no array to sort */
        qsort(h, n, sizeof *h, held_order);
    uint32_t best_j = UINT32_MAX, best_i = UINT32_MAX;
    for (guint s = 0; s + 1 < n; s++)
        if (h[s].hash == h[s + 1].hash && h[s].input != h[s + 1].input &&
            (h[s + 1].input < best_j || (h[s + 1].input == best_j && h[s].input < best_i))) {
            best_j = h[s + 1].input; /* the two smallest of the run: the first two */
            best_i = h[s].input;
        }
    if (best_j == UINT32_MAX)
        return true;
    uint64_t shared = 0;
    for (guint s = 0; s < n;) {
        guint e = s;
        bool has_i = false, has_j = false;
        for (; e < n && h[e].hash == h[s].hash; e++) {
            has_i |= h[e].input == best_i;
            has_j |= h[e].input == best_j;
        }
        shared += has_i && has_j;
        s = e;
    }
    const struct input_info *x = g_ptr_array_index(a->inputs, best_i), *y = g_ptr_array_index(a->inputs, best_j);
    int rx = g_array_index(c->report, int, best_i), ry = g_array_index(c->report, int, best_j);
    char dx[1024], dy[1024];
    describe(dx, sizeof dx, x);
    describe(dy, sizeof dy, y);
    snprintf(err, errlen,
             "capture parts overlap: %s shares %" G_GUINT64_FORMAT " sampled record%s with %s%s%s: cuts of one capture "
             "that overlap, merged they would count the packets they share twice (merge the reports of parts that "
             "do not overlap)",
             dy, shared, shared == 1 ? "" : "s", dx, rx == ry ? ", both in this report" : " in ", rx == ry ? "" : name_of(paths[rx]));
    *report = ry;
    return false;
}

void overlap_check_free(struct overlap_check *c)
{
    if (!c)
        return;
    g_array_free(c->held, TRUE);
    g_array_free(c->report, TRUE);
    g_free(c);
}
