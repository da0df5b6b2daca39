/* jobs.c - see jobs.h.  Each worker takes the next input and runs a whole
 * analysis over it; the main thread folds the finished analyses in memory
 * (fold_mem.h) in input order.  What the analyses share is
 * locked (ctx_pool.c) or set up before the threads start (libgcrypt). */
#include "jobs.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "analysis.h"
#include "census.h"
#include "conn_groups.h"
#include "distinct.h"
#include "flow.h"
#include "quic_table.h"
#include "fold_mem.h"
#include "mem_trim.h"
#include "merge.h"
#include "mstate.h"
#include "netbios.h"
#include "quic_crypto.h"
#include "session.h"
#include "session_priv.h"
#include "smb_hosts.h"
#include "split.h"

/* Several inputs: at most this many analyses alive at once.  One whose
 * input fills the SYN-pair and SMB-host tables holds about 15 MB (pairs 4.4,
 * SMB hosts 6, connection state, read buffer), the fold about 10: ten
 * inputs of 100,000 connections peaked at 66 MiB with three at once, 54.5
 * MiB with two (four inputs of 42,500: 64-65 MiB with four, 53-55 with
 * three, 52-53 with two). */
#define JOBS_INPUTS_MAX_ALIVE 2

/* Small inputs are analysed together with the next ones in one analysis
 * (one run over them, as --jobs 1 reads several files): each analysis sets
 * up and faults in its own tables (census, NetBIOS ledger, fragments, SMB
 * hosts: 180,000 instructions and a few milliseconds of page faults), more
 * than a small input's own work.  Every file of samples/ and 40 generated
 * ones of 2,000 connections (88 inputs, 1-3 MB each): --jobs 2 took
 * 0.59-0.64 s CPU, 1.45-1.6 s wall, against --jobs 1's 0.35-0.39 s and
 * 0.79-0.99 s.  A batch holds inputs up to a share of the whole (two per
 * thread, so both threads have work) and at most this many bytes. */
#define JOBS_BATCH_BYTES (32u << 20)

struct jobs;

struct job {
    const char *const *paths; /* its inputs, analysed in one run one after another (batch()) */
    gint npaths;
    struct jobs *js;
    gint index;
    bool earlier_folded; /* inputs 0..index-1 are folded (pair_past_cap() waited for them) */
    bool lower_past_new[CONN_GROUP_LEVELS]; /* a level below the full one took all the new keys it takes
                                              (group_past_cap()) */
    struct analysis a; /* finished, waiting to be folded (done) */
    struct fold_order *order;
    bool done, ok;
    char err[512];  /* set when the analysis could not be set up */
};

/* Workers take inputs in order; the main thread folds them in input order
 * (a capped group table keeps the first groups it is given) as soon as
 * each is done: a worker starts input i only when fewer than `window`
 * inputs before it wait to be folded (memory: that many analyses). */
struct jobs {
    struct config cfg; /* the run's, each analysis with its share of the caps (window of them at once) */
    struct job *job;
    const struct analysis *fold; /* what the main thread folds into: read by a worker only while
                                    it waits for that worker's input (pair_past_cap()) */
    /* Input 0's own first-seen tables when they filled (sorted keys; set
     * once under mu, then read-only): one run's, for good (first_keys). */
    struct keyset *first_pairs, *first_groups[CONN_GROUP_LEVELS], *first_hosts;
    gint n, next, folded, window;
    pthread_mutex_t mu; /* pthread's, not GLib's bare futex: ThreadSanitizer sees it */
    pthread_cond_t cond;
};

bool jobs_applies(const struct config *cfg)
{
    return cfg->jobs > 1 && !cfg->n_interfaces && (cfg->n_inputs > 1 || split_applies(cfg));
}

/* What needs one analysis to see every packet in order, or writes as it goes. */
const char *jobs_conflict(const struct config *cfg)
{
    return cfg->format == FORMAT_NDJSON ? "-T ndjson"
           : cfg->write_file            ? "-w"
           : cfg->write_streams_dir     ? "--write-streams"
           : cfg->max_packets           ? "-c"
           : cfg->stop_after_us || cfg->stop_filesize ? "-a"
           : cfg->report_every_us       ? "--report-every"
                                        : NULL;
}

uint64_t jobs_share(uint64_t whole, unsigned n) { return whole / n + (whole % n != 0); }

void jobs_share_caps(struct config *out, const struct config *cfg, unsigned n)
{
    struct flow_limits lim;
    flow_limits_default(&lim);
    *out = *cfg;
    out->max_connections = jobs_share(cfg->max_connections ? cfg->max_connections : lim.max_conns, n);
    out->reasm_total_cap = jobs_share(cfg->reasm_total_cap ? cfg->reasm_total_cap : lim.total_buffer_cap, n);
    out->max_closed_conns = (uint32_t)jobs_share(2 * (uint64_t)lim.max_closed, n);
}

void jobs_drop_edge_tables(struct analysis *a)
{
    if (a->core_groups) {
        conn_groups_free(a->groups);
        a->groups = a->core_groups;
        a->core_groups = NULL;
    }
    if (a->core_hosts) {
        smb_hosts_free(a->smb_hosts);
        a->smb_hosts = a->core_hosts;
        a->core_hosts = NULL;
    }
}

/* census.h admit_past_cap: input k's pair table is full.  One run over
 * inputs 0..k holds the pairs of 0..k-1 kept (K), then the first new ones
 * of k up to the cap, all of which lie in k's own first C pairs, which its
 * table holds: what k's table misses is only a pair of K that comes back
 * after it filled.  So the first C/2 pairs past the cap are kept whatever
 * they are: the fold (in first-SYN order) is full before it reaches them
 * and keeps only those K holds, the others' SYNs counted as dropped, as one
 * run counts them.  Past those, wait until 0..k-1 are folded (the main
 * thread then waits for k: the fold's table stands still) and admit only
 * the pairs the fold holds (at most C more).  Input 0 is asked nothing;
 * an input waits only when it holds more than 1.5 C pairs of its own (the
 * 4 parts of the 168,839-connection capture: 42,500 connections each,
 * about 9,700 past the cap: none waits). */
/* Sorted keys of a table (compared as bytes). */
struct keyset {
    uint8_t *keys;
    size_t n, size;
};

static size_t keyset_size; /* for the comparator: qsort/bsearch take none */

static int key_cmp(const void *a, const void *b) { return memcmp(a, b, keyset_size); }

static struct keyset *keyset_new(size_t n, size_t size)
{
    struct keyset *k = g_new0(struct keyset, 1);
    k->keys = g_malloc0(n ? n * size : 1);
    k->size = size;
    return k;
}

static void keyset_sort(struct keyset *k)
{
    keyset_size = k->size; /* worker 0 only, before the set is published */
    qsort(k->keys, k->n, k->size, key_cmp);
}

/* bsearch without the global (read by other threads). */
static bool keyset_has(const struct keyset *k, const void *key)
{
    size_t lo = 0, hi = k->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(k->keys + mid * k->size, key, k->size);
        if (!c)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static void keyset_free(struct keyset *k)
{
    if (k) {
        g_free(k->keys);
        g_free(k);
    }
}

struct pair_key {
    struct ip_addr client, server;
};

/* The keys as the sets hold them (compared as bytes: every byte set). */
static struct pair_key pair_key(const struct ip_addr *client, const struct ip_addr *server)
{
    struct pair_key k;
    memset(&k, 0, sizeof k);
    k.client = *client;
    k.server = *server;
    return k;
}

static struct ip_addr host_key(const struct ip_addr *a)
{
    struct ip_addr k;
    memset(&k, 0, sizeof k);
    k.family = a->family;
    memcpy(k.bytes, a->bytes, sizeof k.bytes);
    return k;
}

/* Input 0's table as it filled, published once. */
static void publish(struct jobs *js, struct keyset **at, struct keyset *k)
{
    keyset_sort(k);
    pthread_mutex_lock(&js->mu);
    *at = k;
    pthread_mutex_unlock(&js->mu);
}

static const struct keyset *published(struct jobs *js, struct keyset *const *at)
{
    pthread_mutex_lock(&js->mu);
    const struct keyset *k = *at;
    pthread_mutex_unlock(&js->mu);
    return k;
}

/* Whether input j keeps key (the *_keep hooks): input 0 always, a later
 * input while input 0's set at is not published, or when key is in it. */
static bool keep_key(struct job *j, struct keyset *const *at, const void *key)
{
    if (j->index == 0)
        return true;
    const struct keyset *first = published(j->js, at);
    return !first || keyset_has(first, key);
}

/* The fold of inputs 0..k-1, waited for (the main thread then waits for k:
 * its tables stand still). */
static const struct analysis *earlier_folded(struct job *j)
{
    struct jobs *js = j->js;
    if (!j->earlier_folded) {
        pthread_mutex_lock(&js->mu);
        while (js->folded < j->index)
            pthread_cond_wait(&js->cond, &js->mu);
        pthread_mutex_unlock(&js->mu);
        j->earlier_folded = true;
    }
    return js->fold;
}

static bool pair_past_cap(void *data, const struct ip_addr *client, const struct ip_addr *server, uint32_t past,
                          uint32_t cap)
{
    struct job *j = data;
    struct jobs *js = j->js;
    if (j->index == 0) { /* one run's table over input 0: full for good */
        if (past == 0 && !js->first_pairs) {
            const struct census *c = j->a.census;
            struct keyset *k = keyset_new(c->pairs_used, sizeof(struct pair_key));
            for (uint32_t i = 0; i < c->pairs_used; i++)
                ((struct pair_key *)k->keys)[k->n++] = pair_key(&c->pairs[i].client, &c->pairs[i].server);
            publish(js, &js->first_pairs, k);
        }
        return false;
    }
    const struct keyset *first = published(js, &js->first_pairs);
    if (first) {
        struct pair_key key = pair_key(client, server);
        return keyset_has(first, &key);
    }
    return past < cap / 2 || census_has_pair(earlier_folded(j)->census, client, server);
}

/* Once input 0's pair table filled, one run holds only its pairs: a later
 * input need not make others, below its cap either (their SYNs are dropped,
 * as one run drops them; those it made before are so at the fold). */
static bool pair_keep(void *data, const struct ip_addr *client, const struct ip_addr *server)
{
    struct job *j = data;
    struct pair_key key = pair_key(client, server);
    return keep_key(j, &j->js->first_pairs, &key);
}

/* The connection groups (conn_groups.h), made as connections close: input
 * k's groups are folded in the order it made them (fold_order_as_made()),
 * the order one run makes them in, and a group the fold's level has no room
 * for goes to the next level, as one run's connections of it do.  The fold
 * gives one run's answer when k's groups are finer than one run's: each of
 * k's groups holds connections one run puts in one group.
 *
 * The full level as the SYN pairs above (input 0's keys once published,
 * else the next half cap of new keys, then the fold's): k's full level
 * holds every key one run's does, and more.
 *
 * The levels below: k's own first keys there are not one run's first new
 * ones, as they are at the full level, because the stream a lower level is
 * fed is not one run's: one run's full level turns away more keys than k's
 * does (k also holds its own first full keys), so a lower key one run
 * meets first through a connection k keeps at the full level reaches k's
 * lower level only later, after k's own lower keys filled it (4 parts
 * whose first holds 30 clients, groups at 64: 112 connections one run
 * groups per server went to k's any-host group).  So they take the next
 * two full caps' worth of new keys whatever they are (kept apart, folded
 * down at the fold where one run would), then the same as the full level:
 * input 0's keys once its level filled, else the fold's.  Past the new
 * keys, that is one run's answer only where one run's level was full before
 * k (its keys are then one run's for good); else the fold says so
 * (fold_all()). */
static bool group_past_cap(void *data, const struct conn_group_key *key, uint32_t past, uint32_t cap)
{
    struct job *j = data;
    struct jobs *js = j->js;
    int l = key->level;
    if (j->index == 0) {
        if (past == 0 && !js->first_groups[l]) {
            const struct conn_groups *g = j->a.groups;
            struct keyset *k = keyset_new(cap, sizeof *key);
            for (uint32_t i = 0; i < conn_groups_count(g); i++) {
                const struct conn_group *grp = conn_groups_at(g, i);
                if (grp->key.level == l && k->n < cap)
                    memcpy(k->keys + k->n++ * k->size, &grp->key, sizeof *key);
            }
            publish(js, &js->first_groups[l], k);
        }
        return false;
    }
    const struct keyset *first = published(js, &js->first_groups[l]);
    if (first)
        return keyset_has(first, key);
    uint32_t any = l == CONN_GROUP_FULL ? cap / 2 : 2 * conn_groups_stats(j->a.groups).cap;
    if (past < any)
        return true;
    j->lower_past_new[l] = l != CONN_GROUP_FULL;
    return conn_groups_has(earlier_folded(j)->groups, key);
}

/* netbios.h's rows: input k's ledger is full.  A flow one run itemises or
 * counts before k (the fold's rows and overflow) and that comes back in k
 * after its rows filled must have a row in k: the fold joins it (rows) or
 * counts it once (overflow), where k's own overflow would count its packets
 * and its client's flows again, inseparably.  So, as for the SYN pairs:
 * the next half cap of new flows whatever they are (one run's rows are
 * full by then: the fold counts the others in the overflow), then, after
 * waiting for the fold of inputs 0..k-1, the flows it holds.  Input 0
 * never asks. */
static bool nb_row_past_cap(void *data, const struct nb_flow *f, uint32_t past, uint32_t cap)
{
    struct job *j = data;
    if (j->index == 0)
        return false;
    if (past < cap / 2)
        return true;
    struct nb_ledger *l = earlier_folded(j)->ledger;
    return nb_ledger_find(l, f->proto, &f->client, f->client_port, &f->server, f->server_port) ||
           nb_ledger_overflow_has(l, f);
}

/* smb_hosts.h's records: input k's table is full.  The same as the SYN
 * pairs: input 0's addresses once its table filled (one run's for good),
 * else the next half table of new addresses whatever they are (the fold,
 * full by then, counts those it has no record for as one run does), then,
 * after waiting for the fold of inputs 0..k-1, the addresses it holds. */
static bool smb_host_past_cap(void *data, const struct ip_addr *a, uint32_t past, uint32_t cap)
{
    struct job *j = data;
    struct jobs *js = j->js;
    if (j->index == 0) {
        if (past == 0 && !js->first_hosts) {
            const struct smb_hosts *h = j->a.smb_hosts;
            struct keyset *k = keyset_new(smb_hosts_size(h), sizeof(struct ip_addr));
            for (uint32_t i = 0; i < smb_hosts_size(h); i++) {
                const struct host_rec *r;
                smb_hosts_at(h, i, &r);
                ((struct ip_addr *)(void *)k->keys)[k->n++] = host_key(&r->addr);
            }
            publish(js, &js->first_hosts, k);
        }
        return false;
    }
    struct ip_addr key = host_key(a);
    const struct keyset *first = published(js, &js->first_hosts);
    if (first)
        return keyset_has(first, &key);
    return past < cap / 2 || smb_hosts_find(earlier_folded(j)->smb_hosts, a) >= 0;
}

/* Once input 0's table filled, one run records only its addresses: a
 * later input need not record others, below its cap either (they are
 * counted as past it, as one run counts them; those it recorded before are
 * counted so at the fold).  Its table then holds no more than one run's. */
static bool smb_host_keep(void *data, const struct ip_addr *a)
{
    struct job *j = data;
    struct ip_addr key = host_key(a);
    return keep_key(j, &j->js->first_hosts, &key);
}

/* One input's analysis, made ready to fold on this thread (its SYN pairs
 * packed, sorted with its groups and SMB hosts: fold_mem_order()). */
static void run_one(const struct config *cfg, struct job *j)
{
    if (!analysis_init(&j->a, cfg, j->err, sizeof j->err)) {
        if (!j->err[0])
            snprintf(j->err, sizeof j->err, "the analysis could not be set up");
        return;
    }
    j->a.progress = false; /* several at once would overwrite each other's line */
    j->a.edges_apart = true; /* what jobs_drop_edge_tables() would keep, without the copies */
    j->a.census->admit_past_cap = pair_past_cap; /* the SYN pairs and groups one run keeps */
    j->a.census->keep_pair = pair_keep;
    j->a.census->admit_data = j;
    conn_groups_admit_past_cap(j->a.groups, group_past_cap, j);
    nb_ledger_admit_past_cap(j->a.ledger, nb_row_past_cap, j);
    smb_hosts_admit_past_cap(j->a.smb_hosts, smb_host_past_cap, smb_host_keep, j);
    for (gint i = 0; i < j->npaths; i++)
        analysis_run_input(&j->a, j->paths[i]);
    analysis_finish(&j->a);
    jobs_drop_edge_tables(&j->a);
    j->order = fold_mem_order(&j->a);
    fold_order_as_made(j->order);
    mem_trim(); /* every connection's state back before the fold */
    j->ok = true;
}

static gpointer worker(gpointer data)
{
    struct jobs *js = data;
    for (;;) {
        pthread_mutex_lock(&js->mu);
        while (js->next < js->n && js->next >= js->folded + js->window)
            pthread_cond_wait(&js->cond, &js->mu);
        gint i = js->next < js->n ? js->next++ : -1;
        pthread_mutex_unlock(&js->mu);
        if (i < 0)
            return NULL;
        run_one(&js->cfg, &js->job[i]);
        pthread_mutex_lock(&js->mu);
        js->job[i].done = true;
        pthread_cond_broadcast(&js->cond);
        pthread_mutex_unlock(&js->mu);
    }
}

/* Fold every analysis into a in input order as each is done; false
 * (message printed) on the first that could not be set up. */
static bool fold_all(struct analysis *a, struct jobs *js)
{
    bool ok = true;
    for (gint i = 0; i < js->n; i++) {
        struct job *j = &js->job[i];
        pthread_mutex_lock(&js->mu);
        while (!j->done)
            pthread_cond_wait(&js->cond, &js->mu);
        pthread_mutex_unlock(&js->mu);
        if (!j->ok && ok)
            fprintf(stderr, "smbscope: %s\n", j->err);
        ok = ok && j->ok;
        if (ok) {
            mstate_parts_of(a, &j->a); /* one run after another: merge counts the time jumps between them */
            struct analysis *src = &j->a;
            fold_mem_mark_caps(a, src); /* where this input's own first-seen tables filled */
            bool past_new = false; /* a lower level of its own past its new keys, one run's not full */
            for (int l = CONN_GROUP_ANY_CLIENT; l < CONN_GROUP_OTHER; l++)
                past_new = past_new || (j->lower_past_new[l] && !conn_groups_level_full(a->groups, l));
            if (past_new) { /* its groups may not be finer than one run's: said (group_past_cap()) */
                struct conn_groups_stats gs = conn_groups_stats(src->groups);
                a->state_folded.conn_groups += gs.connections - gs.folded[CONN_GROUP_FULL];
            }
            fold_mem_many(a, &src, &j->order, 1, false);
            const struct smb_hosts *sh = src->core_hosts ? src->core_hosts : src->smb_hosts;
            if (smb_hosts_unrecorded(sh)) /* an address it had no record for: one run's table filled too, and
                                             counts every address by the same estimate */
                smb_hosts_fold_estimate(a->smb_hosts, distinct_hll(smb_hosts_addresses(sh)));
        }
        fold_order_free(j->order);
        j->order = NULL;
        if (j->a.inputs)
            analysis_free(&j->a);
        pthread_mutex_lock(&js->mu);
        js->folded = i + 1;
        pthread_cond_broadcast(&js->cond);
        pthread_mutex_unlock(&js->mu);
    }
    return ok;
}

/* As many kept connections as --connections keeps, first seen first (a
 * run keeps the first to close: the same ones unless more than the limit
 * were kept in all); the rest are counted as omitted. */
static gint first_seen_order(gconstpointer pa, gconstpointer pb)
{
    const struct smb_conn *a = *(const struct smb_conn *const *)pa, *b = *(const struct smb_conn *const *)pb;
    return (a->first_ts > b->first_ts) - (a->first_ts < b->first_ts);
}

static void keep_limit(struct analysis *a)
{
    if (a->cfg->conn_detail == CONN_DETAIL_ALL || a->conns->len <= a->conn_detail_limit)
        return;
    g_ptr_array_sort(a->conns, first_seen_order);
    a->conns_omitted += a->conns->len - a->conn_detail_limit;
    g_ptr_array_set_size(a->conns, (guint)a->conn_detail_limit);
}

/* The inputs in batches of consecutive small ones (JOBS_BATCH_BYTES), in
 * the order given: job i gets the inputs from start[i] to start[i + 1].
 * One whose size is unknown (a pipe, standard input) is a batch alone; so
 * is every input when there are at most four per thread (their fixed cost
 * is small beside the whole, and the threads keep their work). */
static gint batch(const struct config *cfg, int threads, gint *start)
{
    off_t *size = g_new(off_t, (gsize)cfg->n_inputs);
    off_t total = 0;
    for (int i = 0; i < cfg->n_inputs; i++) {
        struct stat st;
        size[i] = strcmp(cfg->inputs[i], "-") && stat(cfg->inputs[i], &st) == 0 && S_ISREG(st.st_mode) ? st.st_size
                                                                                                       : -1;
        total += size[i] > 0 ? size[i] : 0;
    }
    off_t most = total / (2 * threads);
    if (most > (off_t)JOBS_BATCH_BYTES)
        most = JOBS_BATCH_BYTES;
    gint n = 0;
    off_t in = 0;
    for (int i = 0; i < cfg->n_inputs; i++) {
        bool alone = size[i] < 0 || (i > 0 && size[i - 1] < 0) || cfg->n_inputs <= 4 * threads;
        if (i == 0 || alone || in + size[i] > most) {
            start[n++] = i;
            in = 0;
        }
        in += size[i] > 0 ? size[i] : 0;
    }
    start[n] = cfg->n_inputs;
    g_free(size);
    return n;
}

int jobs_main(const struct config *cfg)
{
    if (cfg->n_inputs == 1)
        return split_main(cfg);
    const char *c = jobs_conflict(cfg);
    if (c) {
        fprintf(stderr, "smbscope: --jobs %d cannot be used with %s (one analysis must see every packet in order)\n"
                        "Try 'smbscope --help' for more information.\n", cfg->jobs, c);
        return 2;
    }
    if (!quic_crypto_init()) { /* once, before the threads: libgcrypt's own set-up is not thread-safe */
        fprintf(stderr, "smbscope: libgcrypt could not be initialised (QUIC)\n");
        return 2;
    }
    /* the empty array every connection shares, made before the threads:
     * GLib's g_once inside it is invisible to ThreadSanitizer */
    session_empty_array();
    mem_map_large(); /* each worker's tables given back when its analysis is folded */
    int status = 2;
    struct analysis a;
    char err[512];
    if (!analysis_init(&a, cfg, err, sizeof err)) {
        fprintf(stderr, "smbscope: %s\n", err);
        if (a.inputs)
            analysis_free(&a);
        return 2;
    }
    int nthreads = cfg->jobs < cfg->n_inputs ? cfg->jobs : cfg->n_inputs;
    if (nthreads > JOBS_INPUTS_MAX_ALIVE)
        nthreads = JOBS_INPUTS_MAX_ALIVE;
    gint *start = g_new(gint, (gsize)cfg->n_inputs + 1);
    gint njobs = batch(cfg, nthreads, start);
    if (nthreads > njobs)
        nthreads = njobs;
    /* no finished analysis waits beside the running ones: each holds its
     * SYN pairs and SMB hosts until folded */
    struct jobs js = { .job = g_new0(struct job, (gsize)njobs), .fold = &a, .n = njobs, .window = nthreads };
    jobs_share_caps(&js.cfg, cfg, (unsigned)js.window); /* the analyses alive at once (the folded one tracks none) */
    js.cfg.quic_state_cap = jobs_share(cfg->quic_state_cap ? cfg->quic_state_cap : QUIC_TABLE_MAX_BYTES,
                                       (unsigned)js.window);
    pthread_mutex_init(&js.mu, NULL);
    pthread_cond_init(&js.cond, NULL);
    for (gint i = 0; i < js.n; i++)
        js.job[i] = (struct job){ .paths = (const char *const *)cfg->inputs + start[i], .npaths = start[i + 1] - start[i],
                                  .js = &js, .index = i };
    g_free(start);
    GThread *th[JOBS_MAX];
    for (int t = 0; t < nthreads; t++)
        th[t] = g_thread_new("smbscope-job", worker, &js);
    bool ok = fold_all(&a, &js);
    for (int t = 0; t < nthreads; t++)
        g_thread_join(th[t]);
    if (ok) {
        merge_finish(&a);
        keep_limit(&a);
        a.jobs_threads = (unsigned)nthreads;
        a.jobs_requested = (unsigned)cfg->jobs < (unsigned)cfg->n_inputs ? (unsigned)cfg->jobs : (unsigned)cfg->n_inputs;
        a.jobs_split = "inputs";
        status = merge_report(cfg, &a);
    }
    analysis_free(&a);
    keyset_free(js.first_pairs);
    keyset_free(js.first_hosts);
    for (int l = 0; l < CONN_GROUP_LEVELS; l++)
        keyset_free(js.first_groups[l]);
    pthread_mutex_destroy(&js.mu);
    pthread_cond_destroy(&js.cond);
    g_free(js.job);
    return status;
}
