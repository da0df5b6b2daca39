/* run.c - files or live interfaces through one analysis; see run.h. */
#include "run.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fmt.h"
#include "live.h"
#include "ndjson.h"
#include "packet.h"
#include "report.h"

/* The poll timeout: how late a signal or a timer may be noticed. */
#define POLL_MS 200
/* Packets taken from one interface per wake-up. */
#define POLL_BUDGET 4096

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig) { stop_signal = sig; }

int run_list_interfaces(void)
{
    char err[LIVE_ERRBUF_SIZE];
    if (!live_list_interfaces(stdout, err)) {
        fprintf(stderr, "smbscope: %s\n", err);
        return 2;
    }
    return fflush(stdout) == 0 ? 0 : 2;
}

/* -Z USER: its groups, its group, then its user id (setuid last: it takes
 * away the right to do the rest); like tcpdump's droproot(). */
static bool drop_privileges(const char *user, char *errbuf, size_t errlen)
{
    errno = 0;
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        snprintf(errbuf, errlen, "-Z %s: no such user%s%s (give an existing user, such as nobody)", user,
                 errno ? ": " : "", errno ? strerror(errno) : "");
        return false;
    }
    if (getuid() == pw->pw_uid && geteuid() == pw->pw_uid && getgid() == pw->pw_gid)
        return true; /* already that user: nothing to give up */
    if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
        snprintf(errbuf, errlen, "-Z %s: cannot become that user: %s (run as root, or with CAP_SETUID and CAP_SETGID)",
                 user, strerror(errno));
        return false;
    }
    if (pw->pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
        snprintf(errbuf, errlen, "-Z %s: root could be regained after the switch; refusing to go on", user);
        return false;
    }
    return true;
}

bool run_prepare(struct run *r, const struct config *cfg, char *errbuf, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->cfg = cfg;
    r->out = stdout;
    if (cfg->n_interfaces) {
        char err[LIVE_ERRBUF_SIZE];
        const struct live_options o = { cfg->snaplen, cfg->buffer_kib, !cfg->no_promisc, cfg->filter };
        r->live = live_open(cfg->interfaces, cfg->n_interfaces, &o, err);
        if (!r->live) {
            snprintf(errbuf, errlen, "%s", err);
            return false;
        }
        for (int i = 0; i < live_count(r->live); i++)
            if (!packet_linktype_supported(live_linktype(r->live, i))) {
                snprintf(errbuf, errlen, "interface %s: link type %s (%d) is not one smbscope decodes (capture on "
                         "an Ethernet interface, or on any)", live_name(r->live, i), live_linktype_name(r->live, i),
                         live_linktype(r->live, i));
                return false;
            }
    }
    if (cfg->drop_user && !drop_privileges(cfg->drop_user, errbuf, errlen))
        return false;
    if (cfg->output) {
        r->out = fopen(cfg->output, "w");
        if (!r->out) {
            snprintf(errbuf, errlen, "-o %s: %s (give a writable path)", cfg->output, strerror(errno));
            r->out = stdout;
            return false;
        }
    }
    r->to_tty = r->out == stdout && isatty(STDOUT_FILENO);
    /* a write(2) per 64 KiB, not per 4 KiB (an ndjson stream of many
     * connections is hundreds of MB; a live one flushes each event itself);
     * a terminal keeps its line buffering.  glibc ignores the size without
     * a buffer; one run's report at a time, so one static buffer (stdout's
     * must outlive main: it is flushed at exit). */
    static char out_buf[1u << 16];
    if (!r->to_tty)
        setvbuf(r->out, out_buf, _IOFBF, sizeof out_buf);
    if (cfg->format == FORMAT_NDJSON)
        r->ndjson = ndjson_new(r->out, cfg->observer_name, r->live != NULL);
    return true;
}

bool run_attach(struct run *r, struct analysis *a, char *errbuf, size_t errlen)
{
    if (r->ndjson)
        ndjson_attach(r->ndjson, &a->events);
    return !r->cfg->write_file || analysis_open_write(a, r->cfg->write_file, errbuf, errlen);
}

/* --- live capture -------------------------------------------------------- */

struct live_ctx {
    struct analysis *a;
    struct live *lv;
    guint idx[64]; /* analysis input of each interface */
};

static void on_live_packet(void *ctx, int i, const struct capture_record *rec)
{
    struct live_ctx *c = ctx;
    analysis_feed(c->a, c->idx[i], rec);
    if (c->a->stop)
        live_break(c->lv);
}

/* libpcap's counters into the inputs (the run's: totals so far). */
static void live_counters(struct live *lv, struct analysis *a, const guint *idx)
{
    for (int i = 0; i < live_count(lv); i++) {
        struct input_info *in = g_ptr_array_index(a->inputs, idx[i]);
        in->have_drop_stats = live_stats(lv, i, &in->if_received, &in->if_dropped, &in->if_ifdropped);
    }
}

/* A fresh analysis for the next --report-every interval, with the same
 * interfaces as inputs; no -w file, stream writer, events or limits. */
static struct analysis *interval_new(const struct config *icfg, struct live *lv)
{
    struct analysis *ia = g_new(struct analysis, 1);
    char err[256];
    if (!analysis_init(ia, icfg, err, sizeof err)) {
        analysis_free(ia);
        g_free(ia);
        return NULL;
    }
    ia->progress = false;
    for (int i = 0; i < live_count(lv); i++)
        analysis_add_live_input(ia, live_name(lv, i), live_linktype(lv, i), live_linktype_name(lv, i),
                                (uint32_t)live_snaplen(lv, i));
    return ia;
}

static void interval_free(struct analysis *ia)
{
    if (!ia)
        return;
    analysis_free(ia);
    g_free(ia);
}

/* One --report-every report: the interval's own verdict, and the run's so
 * far (connections still open count when they close). */
static void interval_report(struct run *r, struct analysis *a, struct analysis *ia, int64_t t0, int64_t t1)
{
    analysis_finish(ia);
    for (guint i = 0; i < ia->inputs->len; i++) {
        const struct input_info *run_in = g_ptr_array_index(a->inputs, i);
        struct input_info *in = g_ptr_array_index(ia->inputs, i);
        in->have_drop_stats = run_in->have_drop_stats;
        in->if_received = run_in->if_received - in->if_received;
        in->if_dropped = run_in->if_dropped - in->if_dropped;
        in->if_ifdropped = run_in->if_ifdropped - in->if_ifdropped;
    }
    struct verdict iv, rv;
    verdict_compute(&iv, ia, &r->cfg->policy);
    verdict_compute(&rv, a, &r->cfg->policy);
    r->intervals++;
    char s0[FMT_TIME_LEN], s1[FMT_TIME_LEN];
    fmt_time(t0, s0);
    fmt_time(t1, s1);
    if (r->ndjson) {
        ndjson_report(r->ndjson, ia, &iv, "interval", &rv);
    } else if (r->cfg->format == FORMAT_JSON) {
        fprintf(r->out, "{\"interval\": {\"index\": %d, \"start\": \"%s\", \"end\": \"%s\"},\n", r->intervals, s0, s1);
        fprintf(r->out, " \"run_so_far\": {\"pass\": %s, \"exit_code\": %d, \"violations\": %u},\n \"report\": ",
                rv.pass ? "true" : "false", rv.exit_code, rv.violations->len);
        report_json(r->out, ia, &iv);
        fputs("}\n", r->out);
    } else {
        fprintf(r->out, "=== interval %d: %s to %s ===\n", r->intervals, s0, s1);
        report_text(r->out, ia, &iv, r->to_tty);
        fprintf(r->out, "run so far: %s (%u violation%s)\n\n", rv.pass ? "PASS" : "FAIL", rv.violations->len,
                rv.violations->len == 1 ? "" : "s");
    }
    fflush(r->out);
    verdict_free(&iv);
    verdict_free(&rv);
}

static void set_signals(void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: poll() returns at once */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int64_t min_timeout(int64_t now, int64_t deadline, int64_t cur)
{
    if (deadline <= 0)
        return cur;
    int64_t left = deadline - now;
    return left < cur ? (left > 0 ? left : 0) : cur;
}

static void run_live(struct run *r, struct analysis *a)
{
    const struct config *cfg = r->cfg;
    struct live_ctx c = { .a = a, .lv = r->live };
    struct config icfg = *cfg; /* an interval's: no -w file, stream writer or limits */
    icfg.write_streams_dir = NULL;
    icfg.write_file = NULL;
    icfg.max_packets = 0;
    icfg.stop_filesize = 0;
    icfg.stop_after_us = 0;
    for (int i = 0; i < live_count(r->live); i++)
        c.idx[i] = analysis_add_live_input(a, live_name(r->live, i), live_linktype(r->live, i),
                                           live_linktype_name(r->live, i), (uint32_t)live_snaplen(r->live, i));
    if (cfg->report_every_us)
        a->interval = interval_new(&icfg, r->live);
    stop_signal = 0;
    set_signals(on_stop_signal);
    const int64_t start = g_get_monotonic_time(), wall0 = g_get_real_time();
    const int64_t stop_at = cfg->stop_after_us ? start + (int64_t)cfg->stop_after_us : 0;
    int64_t next_report = cfg->report_every_us ? start + cfg->report_every_us : 0, interval_wall = wall0;
    char err[LIVE_ERRBUF_SIZE];
    while (!stop_signal && !a->stop) {
        int64_t now = g_get_monotonic_time();
        int64_t wait = min_timeout(now, next_report, min_timeout(now, stop_at, POLL_MS * 1000));
        int rc = live_poll(r->live, (int)((wait + 999) / 1000), POLL_BUDGET, on_live_packet, &c, err);
        if (rc < 0) {
            fprintf(stderr, "smbscope: %s\n", err);
            struct input_info *in = g_ptr_array_index(a->inputs, c.idx[0]);
            if (!in->error)
                in->error = g_strdup(err);
            a->input_error = true;
            break;
        }
        now = g_get_monotonic_time();
        if (stop_at && now >= stop_at)
            break;
        if (next_report && now >= next_report && !stop_signal) {
            live_counters(r->live, a, c.idx);
            int64_t wall = g_get_real_time();
            struct analysis *ia = a->interval;
            a->interval = NULL;
            interval_report(r, a, ia, interval_wall, wall);
            interval_free(ia);
            a->interval = interval_new(&icfg, r->live);
            if (a->interval) /* its counters start from the run's */
                for (guint i = 0; i < a->inputs->len; i++) {
                    const struct input_info *run_in = g_ptr_array_index(a->inputs, i);
                    struct input_info *in = g_ptr_array_index(a->interval->inputs, i);
                    in->if_received = run_in->if_received;
                    in->if_dropped = run_in->if_dropped;
                    in->if_ifdropped = run_in->if_ifdropped;
                }
            interval_wall = wall;
            next_report += cfg->report_every_us;
        }
    }
    set_signals(SIG_DFL); /* a second Ctrl-C while reporting ends at once */
    live_counters(r->live, a, c.idx);
    interval_free(a->interval);
    a->interval = NULL;
}

/* Several files are one network's capture: read in the order of their
 * first packet (then their names), as `smbscope merge` and `--jobs` fold
 * them, so the parts of a capture cut with editcap or tcpdump -C give the
 * same answer in any order on the command line.  The first record of each
 * is peeked by opening it once more; one that cannot be read or has no
 * packet sorts last, as merge sorts it (its error is reported when it is
 * read).  Standard input, a pipe or a device cannot be read twice: with one
 * among them the order given is kept. */
struct input_first {
    int64_t ts_us;
    const char *path;
};

static int input_first_order(const void *pa, const void *pb)
{
    const struct input_first *a = pa, *b = pb;
    if (a->ts_us != b->ts_us)
        return a->ts_us < b->ts_us ? -1 : 1;
    return strcmp(a->path, b->path);
}

static struct input_first *inputs_in_time_order(const struct config *cfg)
{
    for (int i = 0; i < cfg->n_inputs; i++) {
        struct stat st;
        if (strcmp(cfg->inputs[i], "-") == 0 || (stat(cfg->inputs[i], &st) == 0 && !S_ISREG(st.st_mode)))
            return NULL;
    }
    struct input_first *order = g_new(struct input_first, (gsize)cfg->n_inputs);
    char errbuf[CAPTURE_ERRBUF_SIZE];
    for (int i = 0; i < cfg->n_inputs; i++) {
        order[i] = (struct input_first){ INT64_MAX, cfg->inputs[i] };
        struct capture *cap = capture_open(cfg->inputs[i], errbuf);
        struct capture_record rec;
        if (cap && capture_next(cap, &rec) == 1)
            order[i].ts_us = rec.ts_us;
        if (cap)
            capture_close(cap);
    }
    qsort(order, (size_t)cfg->n_inputs, sizeof *order, input_first_order);
    return order;
}

void run_inputs(struct run *r, struct analysis *a)
{
    if (r->live) {
        run_live(r, a);
        return;
    }
    /* Files end like a live capture on SIGINT/SIGTERM: reading stops (also
     * a read waiting on a slow pipe), the report and the verdict follow, and
     * the verdict says the input was not read to its end. */
    stop_signal = 0;
    set_signals(on_stop_signal);
    capture_set_interrupt(&stop_signal);
    a->interrupt = &stop_signal;
    struct input_first *order = r->cfg->n_inputs > 1 ? inputs_in_time_order(r->cfg) : NULL;
    analysis_close_thread(a); /* closed connections folded beside the packets (analysis_finish() ends it) */
    int i = 0;
    for (; i < r->cfg->n_inputs && !a->stop && !stop_signal; i++)
        analysis_run_input(a, order ? order[i].path : r->cfg->inputs[i]);
    g_free(order);
    set_signals(SIG_DFL); /* a second Ctrl-C while reporting ends at once */
    capture_set_interrupt(NULL);
    a->interrupt = NULL;
    if (stop_signal) {
        a->interrupt_signal = stop_signal;
        a->inputs_not_read = (unsigned)(r->cfg->n_inputs - i);
    }
}

bool run_report_json(const struct run *r) { return !r->ndjson && r->cfg->format == FORMAT_JSON; }

void run_report(struct run *r, const struct analysis *a, const struct verdict *v)
{
    if (r->ndjson)
        ndjson_report(r->ndjson, a, v, "run", NULL);
    else if (r->cfg->format == FORMAT_JSON)
        report_json(r->out, a, v);
    else
        report_text(r->out, a, v, r->to_tty);
}

void run_free(struct run *r)
{
    if (r->ndjson)
        ndjson_free(r->ndjson);
    if (r->out && r->out != stdout)
        fclose(r->out);
    live_close(r->live);
    memset(r, 0, sizeof *r);
}
