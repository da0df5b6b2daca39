/* part_overlap.c - see part_overlap.h. */
#include "part_overlap.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "part_sketch.h"

/* Only which report each input came from: the sketches stay where the
 * inputs hold them (sorted, each hash once: part_overlap_decode()), and
 * the check walks them all at once in hash order (a k-way merge: a heap
 * of one cursor an input), never a copy of them (it was 16 bytes a hash
 * beside the inputs' 8, for a real fleet's 43 M hashes 0.7 GB more). */
struct overlap_check {
    GArray *report; /* int: the report of each input, by index */
};

struct overlap_check *overlap_check_new(void)
{
    struct overlap_check *c = g_new0(struct overlap_check, 1);
    c->report = g_array_new(FALSE, FALSE, sizeof(int));
    return c;
}

void overlap_check_add(struct overlap_check *c, const struct analysis *a, guint from, int report)
{
    for (guint i = from; i < a->inputs->len; i++)
        g_array_append_val(c->report, report);
}

/* A cursor into input `input`'s sketch: its next hash h[at]. */
struct cursor {
    uint64_t hash;
    uint32_t input, at;
};

static bool cursor_before(const struct cursor *x, const struct cursor *y)
{
    return x->hash != y->hash ? x->hash < y->hash : x->input < y->input;
}

static void sift_down(struct cursor *h, uint32_t n, uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, m = i;
        if (l < n && cursor_before(&h[l], &h[m]))
            m = l;
        if (l + 1 < n && cursor_before(&h[l + 1], &h[m]))
            m = l + 1;
        if (m == i)
            return;
        struct cursor t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* How many hashes the sorted sketches x and y share. */
static uint64_t shared_of(const struct part_overlap *x, const struct part_overlap *y)
{
    uint64_t n = 0;
    for (uint32_t i = 0, j = 0; i < x->n && j < y->n;) {
        if (x->hashes[i] == y->hashes[j]) {
            n++;
            i++;
            j++;
        } else if (x->hashes[i] < y->hashes[j]) {
            i++;
        } else {
            j++;
        }
    }
    return n;
}

static const char *name_of(const char *path) { return strcmp(path, "-") ? path : "standard input"; }

static void describe(char *buf, size_t len, const struct input_info *in)
{
    char t0[FMT_TIME_LEN], t1[FMT_TIME_LEN];
    snprintf(buf, len, "%s (%" G_GUINT64_FORMAT " packets, %s to %s)", in->path, in->packets,
             fmt_time(in->first_ts, t0), fmt_time(in->last_ts, t1));
}

/* What the two inputs' shared records are and what to do.  When their
 * times meet in one microsecond only (one ends where the other starts),
 * every record they share is of that microsecond: the mark of a capture
 * holding each packet twice at the same microsecond (a SPAN port) cut
 * between a packet's two copies (review F6), as much as of cuts that
 * overlap by a record; the sketch cannot tell them apart, and merged
 * neither equals the joint run (the later part reads the second copy as
 * new data, the joint run as a retransmission: 64 of 80 such cuts of a
 * SPAN copy of a sample differed, tests/bench/RESULTS.md), so both are
 * refused and the message says how to cut such a capture. */
static void meeting_point(char *buf, size_t len, const struct input_info *x, const struct input_info *y)
{
    int64_t lo = x->first_ts > y->first_ts ? x->first_ts : y->first_ts;
    int64_t hi = x->last_ts < y->last_ts ? x->last_ts : y->last_ts;
    char t[FMT_TIME_LEN];
    if (lo != hi) {
        snprintf(buf, len, "cuts of one capture that overlap, merged they would count the packets they share twice "
                           "(merge the reports of parts that do not overlap)");
        return;
    }
    snprintf(buf, len,
             "every record they share is of %s, the one microsecond where one part ends and the other starts: a "
             "capture holding each packet twice (a SPAN port) cut between a packet's two copies, or cuts "
             "overlapping by that microsecond; merged they would count those packets twice (the later part reads a "
             "second copy as new data, one run as a retransmission): remove the duplicates before cutting "
             "(editcap -D), or cut by time (editcap -i keeps a microsecond's records together)",
             fmt_time(lo, t));
}

/* Which pair is named: the one whose later input comes first (the first
 * report that repeats records), then its earlier input; a sketch holds a
 * hash once, so the inputs holding one hash are distinct, and of them the
 * pairs next to each other in input order are looked at (the two
 * smallest: the first two). */
bool overlap_check_done(struct overlap_check *c, const struct analysis *a, char *const *paths, int *report,
                        char *err, size_t errlen)
{
    struct cursor *h = g_new(struct cursor, a->inputs->len ? a->inputs->len : 1);
    uint32_t n = 0;
    for (guint i = 0; i < a->inputs->len && i < c->report->len; i++) {
        const struct input_info *in = g_ptr_array_index(a->inputs, i);
        if (in->overlap.n)
            h[n++] = (struct cursor){ in->overlap.hashes[0], i, 0 };
    }
    for (uint32_t i = n / 2; i-- > 0;)
        sift_down(h, n, i);
    uint32_t best_j = UINT32_MAX, best_i = UINT32_MAX;
    bool have_prev = false;
    struct cursor prev = { 0, 0, 0 };
    while (n) {
        struct cursor top = h[0];
        if (have_prev && prev.hash == top.hash && prev.input != top.input && (top.input < best_j || (top.input == best_j && prev.input < best_i))) {
            best_j = top.input;
            best_i = prev.input;
        }
        prev = top;
        have_prev = true;
        const struct part_overlap *o = &((const struct input_info *)g_ptr_array_index(a->inputs, top.input))->overlap;
        if (++h[0].at < o->n)
            h[0].hash = o->hashes[h[0].at];
        else
            h[0] = h[--n];
        sift_down(h, n, 0);
    }
    g_free(h);
    if (best_j == UINT32_MAX)
        return true;
    const struct input_info *x = g_ptr_array_index(a->inputs, best_i), *y = g_ptr_array_index(a->inputs, best_j);
    uint64_t shared = shared_of(&x->overlap, &y->overlap);
    int rx = g_array_index(c->report, int, best_i), ry = g_array_index(c->report, int, best_j);
    char dx[1024], dy[1024], why[1024];
    describe(dx, sizeof dx, x);
    describe(dy, sizeof dy, y);
    meeting_point(why, sizeof why, x, y);
    snprintf(err, errlen, "capture parts overlap: %s shares %" G_GUINT64_FORMAT " sampled record%s with %s%s%s: %s",
             dy, shared, shared == 1 ? "" : "s", dx, rx == ry ? ", both in this report" : " in ",
             rx == ry ? "" : name_of(paths[rx]), why);
    *report = ry;
    return false;
}

void overlap_check_free(struct overlap_check *c)
{
    if (!c)
        return;
    g_array_free(c->report, TRUE);
    g_free(c);
}
