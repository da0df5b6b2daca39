/* Plain captures read on the reader thread (pump.c, SMBSCOPE_READ_THREAD)
 * must give exactly what reads in the caller and the map give: every record
 * (time, lengths, bytes, number), the bytes counted, the end (clean or the
 * error, with its offset).  The capture is several times the thread's ring
 * of chunks, with records of every size up to 70,000 bytes so that many lie
 * across two chunks; it is also cut at many offsets (inside a record's data,
 * inside its header, at and around chunk boundaries) and fed through a pipe
 * as standard input in small writes.
 *
 * Each reading is checked against the records as written (not only against
 * the other readers), so a reader that drops, repeats or shifts bytes fails
 * even when all of them do. */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"

#define NREC 400
#define MAXREC 70000u

struct rec_spec {
    uint32_t ts_s, ts_us, caplen, wirelen;
    size_t off; /* offset of its header in the file */
};

static struct rec_spec recs[NREC];
static char *dir;

static void put32(GByteArray *b, uint32_t v) { g_byte_array_append(b, (const guint8 *)&v, 4); } /* little-endian host */

/* A pcap (microseconds, Ethernet, snaplen 262144) of NREC records: most
 * small, some jumbo-sized, their bytes a function of (record, offset). */
static GByteArray *make_capture(void)
{
    GByteArray *b = g_byte_array_new();
    put32(b, 0xa1b2c3d4u);
    put32(b, 2u | (4u << 16));
    put32(b, 0);
    put32(b, 0);
    put32(b, 262144);
    put32(b, 1);
    GRand *r = g_rand_new_with_seed(13);
    guint8 *data = g_malloc(MAXREC);
    for (int i = 0; i < NREC; i++) {
        struct rec_spec *s = &recs[i];
        uint32_t k = g_rand_int_range(r, 0, 10);
        s->caplen = k < 6 ? (uint32_t)g_rand_int_range(r, 14, 1515) : (uint32_t)g_rand_int_range(r, 1, (gint32)MAXREC);
        s->wirelen = s->caplen + (k == 0 ? 100u : 0u);
        s->ts_s = 1700000000u + (uint32_t)i;
        s->ts_us = (uint32_t)g_rand_int_range(r, 0, 1000000);
        s->off = b->len;
        put32(b, s->ts_s);
        put32(b, s->ts_us);
        put32(b, s->caplen);
        put32(b, s->wirelen);
        for (uint32_t j = 0; j < s->caplen; j++)
            data[j] = (guint8)(i * 31 + j * 7 + (j >> 8));
        g_byte_array_append(b, data, s->caplen);
    }
    g_free(data);
    g_rand_free(r);
    return b;
}

struct reading {
    int n, last;
    uint64_t bytes, raw_bytes;
    char err[CAPTURE_ERRBUF_SIZE];
    char reader[16];
};

static void set_env(const char *thread, const char *reader)
{
    g_setenv("SMBSCOPE_READ_THREAD", thread, TRUE);
    g_setenv("SMBSCOPE_READER", reader, TRUE);
}

static void unset_env(void)
{
    g_unsetenv("SMBSCOPE_READ_THREAD");
    g_unsetenv("SMBSCOPE_READER");
}

/* Read path with the environment set_env() gave; every record is compared
 * with the one written (abort on the first difference). */
static struct reading read_now(const char *path)
{
    const char *thread = g_getenv("SMBSCOPE_READ_THREAD"), *reader = g_getenv("SMBSCOPE_READER");
    struct reading rd = { 0 };
    char errbuf[CAPTURE_ERRBUF_SIZE];
    struct capture *cap = capture_open(path, errbuf);
    if (!cap)
        g_error("open %s: %s", path, errbuf);
    g_strlcpy(rd.reader, capture_reader(cap), sizeof rd.reader);
    struct capture_record rec;
    while ((rd.last = capture_next(cap, &rec)) == 1) {
        g_assert_cmpint(rd.n, <, NREC);
        const struct rec_spec *s = &recs[rd.n];
        g_assert_cmpint(rec.ts_us, ==, (int64_t)s->ts_s * 1000000 + s->ts_us);
        g_assert_cmpuint(rec.caplen, ==, s->caplen);
        g_assert_cmpuint(rec.wirelen, ==, s->wirelen);
        g_assert_cmpuint(rec.frame, ==, (uint64_t)rd.n + 1);
        for (uint32_t j = 0; j < s->caplen; j++)
            if (rec.data[j] != (guint8)(rd.n * 31 + j * 7 + (j >> 8)))
                g_error("record %d byte %u differs (thread=%s reader=%s)", rd.n, j, thread, reader);
        rd.n++;
    }
    rd.bytes = capture_bytes_read(cap);
    rd.raw_bytes = capture_raw_bytes_read(cap);
    g_strlcpy(rd.err, capture_error(cap), sizeof rd.err);
    capture_close(cap);
    return rd;
}

static struct reading read_with(const char *path, const char *thread, const char *reader)
{
    set_env(thread, reader);
    struct reading rd = read_now(path);
    unset_env();
    return rd;
}

static void same_reading(const struct reading *a, const struct reading *b)
{
    g_assert_cmpint(a->n, ==, b->n);
    g_assert_cmpint(a->last, ==, b->last);
    g_assert_cmpuint(a->bytes, ==, b->bytes);
    g_assert_cmpuint(a->raw_bytes, ==, b->raw_bytes);
    g_assert_cmpstr(a->err, ==, b->err);
}

/* Records wholly before byte len of the file. */
static int whole_before(size_t len)
{
    int n = 0;
    while (n < NREC && recs[n].off + 16 + recs[n].caplen <= len)
        n++;
    return n;
}

static void check_file(const GByteArray *f, size_t len)
{
    char *path = g_build_filename(dir, "cut.pcap", NULL);
    g_assert_true(g_file_set_contents(path, (const gchar *)f->data, (gssize)len, NULL));
    struct reading thr = read_with(path, "1", "");
    struct reading plain = read_with(path, "0", "");
    struct reading map = read_with(path, "0", "mmap");
    g_assert_cmpstr(thr.reader, ==, "stream");
    g_assert_cmpstr(map.reader, ==, "mmap");
    int want = whole_before(len);
    g_assert_cmpint(thr.n, ==, want);
    bool clean = want == NREC || (len >= 24 && recs[want].off == len);
    g_assert_cmpint(thr.last, ==, clean ? 0 : -1);
    g_assert_cmpuint(thr.raw_bytes, ==, len);
    same_reading(&thr, &plain);
    thr.raw_bytes = map.raw_bytes; /* the map counts what was stepped over, not read */
    same_reading(&thr, &map);
    g_unlink(path);
    g_free(path);
}

static void test_whole(void)
{
    GByteArray *f = make_capture();
    g_assert_cmpuint(f->len, >, 4u * 1024u * 1024u); /* four times the ring (4 x 256 KiB) and more */
    check_file(f, f->len);
    g_byte_array_unref(f);
}

static void test_cuts(void)
{
    GByteArray *f = make_capture();
    size_t cuts[64];
    int nc = 0;
    for (int i = 1; i <= 6; i++) { /* around chunk boundaries */
        size_t at = (size_t)i * 256u * 1024u;
        cuts[nc++] = at - 1;
        cuts[nc++] = at;
        cuts[nc++] = at + 1;
    }
    int last = NREC - 1;
    cuts[nc++] = recs[last].off;                           /* clean end before the last record */
    cuts[nc++] = recs[last].off + 7;                       /* inside its header */
    cuts[nc++] = recs[last].off + 16 + recs[last].caplen / 2; /* inside its data */
    cuts[nc++] = f->len - 1;                               /* one byte short */
    for (int i = 0; i < 12; i++) { /* inside big records in the middle */
        int k = 37 + i * 29;
        cuts[nc++] = recs[k].off + 16 + recs[k].caplen - 1;
    }
    for (int i = 0; i < nc; i++)
        check_file(f, cuts[i]);
    g_byte_array_unref(f);
}

struct feeder {
    int fd;
    const GByteArray *bytes;
    size_t len;
};

static gpointer feed(gpointer p)
{
    struct feeder *fd = p;
    size_t off = 0;
    guint32 step = 1;
    while (off < fd->len) {
        size_t n = MIN((size_t)(step % 9000u) + 1u, fd->len - off); /* uneven writes */
        step = step * 1103515245u + 12345u;
        ssize_t w = write(fd->fd, fd->bytes->data + off, n);
        if (w < 0 && errno == EINTR)
            continue;
        g_assert_cmpint(w, >, 0);
        off += (size_t)w;
        if ((step & 63u) == 0)
            g_usleep(2000); /* now and then nothing is ready */
    }
    close(fd->fd);
    return NULL;
}

static struct reading read_stdin(const GByteArray *f, size_t len, const char *thread)
{
    int p[2];
    g_assert_cmpint(pipe(p), ==, 0);
    int saved = dup(STDIN_FILENO);
    g_assert_cmpint(dup2(p[0], STDIN_FILENO), ==, STDIN_FILENO);
    close(p[0]);
    struct feeder fd = { p[1], f, len };
    set_env(thread, ""); /* before the feeder runs: setenv is not thread-safe */
    GThread *th = g_thread_new("feeder", feed, &fd);
    struct reading rd = read_now("-");
    g_thread_join(th);
    unset_env();
    g_assert_cmpint(dup2(saved, STDIN_FILENO), ==, STDIN_FILENO);
    close(saved);
    return rd;
}

static void test_stdin(void)
{
    GByteArray *f = make_capture();
    size_t lens[] = { f->len, recs[NREC - 1].off + 16 + 5 };
    for (size_t i = 0; i < G_N_ELEMENTS(lens); i++) {
        struct reading thr = read_stdin(f, lens[i], "1");
        struct reading plain = read_stdin(f, lens[i], "0");
        g_assert_cmpint(thr.n, ==, whole_before(lens[i]));
        g_assert_cmpint(thr.last, ==, i == 0 ? 0 : -1);
        g_assert_cmpuint(thr.raw_bytes, ==, lens[i]);
        same_reading(&thr, &plain);
    }
    g_byte_array_unref(f);
}


/* Threads of this process now (Linux: one directory each in /proc/self/task). */
static int thread_count(void)
{
    GDir *d = g_dir_open("/proc/self/task", 0, NULL);
    g_assert_nonnull(d);
    int n = 0;
    while (g_dir_read_name(d))
        n++;
    g_dir_close(d);
    return n;
}

/* The threads of this process once a joined thread has left /proc:
 * pthread_join() returns when the kernel clears the thread's id (in its
 * exit, before the thread is unlisted), so the listing may still hold it
 * for a moment; at most 5 s, then the count as it is. */
static int thread_count_settled(int want)
{
    int n = thread_count();
    for (int i = 0; i < 5000 && n != want; i++) {
        g_usleep(1000);
        n = thread_count();
    }
    return n;
}

/* Opening a plain capture starts the reader thread by default, not after
 * capture_set_read_thread(false) (what --jobs sets), and the environment
 * wins over both. */
static void test_switch(void)
{
    GByteArray *f = make_capture();
    char *path = g_build_filename(dir, "switch.pcap", NULL);
    g_assert_true(g_file_set_contents(path, (const gchar *)f->data, (gssize)f->len, NULL));
    static const struct {
        bool set;
        const char *env;
        int extra;
    } cases[] = { { true, NULL, 1 }, { false, NULL, 0 }, { false, "1", 1 }, { true, "0", 0 } };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        capture_set_read_thread(cases[i].set);
        if (cases[i].env)
            g_setenv("SMBSCOPE_READ_THREAD", cases[i].env, TRUE);
        int before = thread_count();
        char errbuf[CAPTURE_ERRBUF_SIZE];
        struct capture *cap = capture_open(path, errbuf);
        g_assert_nonnull(cap);
        g_assert_cmpint(thread_count() - before, ==, cases[i].extra);
        capture_close(cap);
        g_assert_cmpint(thread_count_settled(before), ==, before);
        g_unsetenv("SMBSCOPE_READ_THREAD");
    }
    capture_set_read_thread(true);
    g_unlink(path);
    g_free(path);
    g_byte_array_unref(f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    dir = g_dir_make_tmp("smbscope-rt-XXXXXX", NULL);
    g_assert_nonnull(dir);
    g_test_add_func("/read_thread/whole", test_whole);
    g_test_add_func("/read_thread/cuts", test_cuts);
    g_test_add_func("/read_thread/stdin", test_stdin);
    g_test_add_func("/read_thread/switch", test_switch);
    int rc = g_test_run();
    g_rmdir(dir);
    g_free(dir);
    return rc;
}
