/* write_streams.c - one file per TCP direction, gaps in a sidecar. */
#include "write_streams.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlist.h"

struct ws_file {
    FILE *fp;
    struct ws_file *prev, *next; /* open-file list, least recently written first */
    bool created;                /* the file exists (reopen for append) */
    bool gaps_created;
    uint64_t offset;             /* stream offset of the next byte */
    char name[160];              /* relative to the directory */
};

struct ws_conn {
    struct ws_file dir[2];
    struct ws_conn *prev, *next; /* all live connections */
};

struct write_streams {
    char *dir;
    unsigned max_open, open_count;
    struct ws_file *lru_head, *lru_tail;
    struct ws_conn *conns, *conns_tail;
    char err[256];
    bool failed;
};

static void fail(struct write_streams *w, const char *what, const char *name)
{
    if (w->failed)
        return;
    w->failed = true;
    snprintf(w->err, sizeof w->err, "%s %s: %s", what, name, strerror(errno));
}

struct write_streams *write_streams_new(const char *dir, unsigned max_open, char *err, size_t errlen)
{
    struct write_streams *w = calloc(1, sizeof *w);
    if (w)
        w->dir = strdup(dir);
    if (!w || !w->dir) {
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        free(w);
        return NULL;
    }
    w->max_open = max_open ? max_open : 64;
    return w;
}

static void lru_unlink(struct write_streams *w, struct ws_file *f) { DLIST_REMOVE(w->lru_head, w->lru_tail, f, prev, next); }
static void lru_append(struct write_streams *w, struct ws_file *f) { DLIST_APPEND(w->lru_head, w->lru_tail, f, prev, next); }

static void file_close(struct write_streams *w, struct ws_file *f)
{
    if (!f->fp)
        return;
    lru_unlink(w, f);
    if (fclose(f->fp) != 0)
        fail(w, "closing", f->name);
    f->fp = NULL;
    w->open_count--;
}

static FILE *open_in_dir(struct write_streams *w, const char *name, const char *suffix, const char *mode)
{
    size_t n = strlen(w->dir) + strlen(name) + strlen(suffix) + 2;
    char *path = malloc(n);
    if (!path)
        return NULL;
    snprintf(path, n, "%s/%s%s", w->dir, name, suffix);
    FILE *fp = fopen(path, mode);
    free(path);
    return fp;
}

/* The open FILE of a direction, opening (and closing an older one) as needed. */
static FILE *file_get(struct write_streams *w, struct ws_file *f)
{
    if (f->fp) {
        lru_unlink(w, f);
        lru_append(w, f);
        return f->fp;
    }
    if (w->open_count >= w->max_open && w->lru_head)
        file_close(w, w->lru_head);
    f->fp = open_in_dir(w, f->name, "", f->created ? "ab" : "wb");
    if (!f->fp) {
        fail(w, "creating", f->name);
        return NULL;
    }
    f->created = true;
    w->open_count++;
    lru_append(w, f);
    return f->fp;
}

static void endpoint_text(const struct ip_addr *a, char *buf, size_t len)
{
    if (!inet_ntop(a->family == 6 ? AF_INET6 : AF_INET, a->bytes, buf, (socklen_t)len))
        snprintf(buf, len, "?");
}

static void ws_open(void *ctx, struct flow_conn *c, void **user)
{
    struct write_streams *w = ctx;
    struct ws_conn *wc = calloc(1, sizeof *wc);
    if (!wc) {
        errno = ENOMEM;
        fail(w, "tracking", "connection");
        return;
    }
    char a[2][INET6_ADDRSTRLEN];
    endpoint_text(&c->addr[0], a[0], sizeof a[0]);
    endpoint_text(&c->addr[1], a[1], sizeof a[1]);
    for (int d = 0; d < 2; d++)
        snprintf(wc->dir[d].name, sizeof wc->dir[d].name, "%06" PRIu64 "-%s.%u-%s.%u", c->id, a[d],
                 (unsigned)c->port[d], a[!d], (unsigned)c->port[!d]);
    DLIST_APPEND(w->conns, w->conns_tail, wc, prev, next);
    *user = wc;
}

static void ws_data(void *ctx, struct flow_conn *c, void **user, int dir, const uint8_t *bytes, size_t len, int64_t ts)
{
    struct write_streams *w = ctx;
    struct ws_conn *wc = *user;
    if (!wc)
        return;
    struct ws_file *f = &wc->dir[dir];
    FILE *fp = file_get(w, f);
    if (fp && fwrite(bytes, 1, len, fp) != len)
        fail(w, "writing", f->name);
    f->offset += len;
}

static void ws_gap(void *ctx, struct flow_conn *c, void **user, int dir, uint64_t len, int64_t ts)
{
    struct write_streams *w = ctx;
    struct ws_conn *wc = *user;
    if (!wc)
        return;
    struct ws_file *f = &wc->dir[dir];
    file_get(w, f); /* the stream file exists even if it holds no byte */
    FILE *g = open_in_dir(w, f->name, ".gaps", f->gaps_created ? "a" : "w");
    if (!g) {
        fail(w, "creating gaps file for", f->name);
    } else {
        f->gaps_created = true;
        fprintf(g, "%" PRIu64 " %" PRIu64 "\n", f->offset, len);
        if (fclose(g) != 0)
            fail(w, "writing gaps file for", f->name);
    }
    f->offset += len;
}

static void conn_forget(struct write_streams *w, struct ws_conn *wc)
{
    file_close(w, &wc->dir[0]);
    file_close(w, &wc->dir[1]);
    DLIST_REMOVE(w->conns, w->conns_tail, wc, prev, next);
    free(wc);
}

static void ws_close(void *ctx, struct flow_conn *c, void **user, enum flow_close_reason r)
{
    struct write_streams *w = ctx;
    if (*user)
        conn_forget(w, *user);
    *user = NULL;
}

void write_streams_observer(struct write_streams *w, struct flow_observer *obs)
{
    memset(obs, 0, sizeof *obs);
    obs->conn_open = ws_open;
    obs->data = ws_data;
    obs->gap = ws_gap;
    obs->conn_close = ws_close;
    (void)w;
}

int write_streams_status(const struct write_streams *w, char *err, size_t errlen)
{
    if (!w->failed)
        return 0;
    if (err && errlen)
        snprintf(err, errlen, "%s", w->err);
    return -1;
}

void write_streams_free(struct write_streams *w)
{
    if (!w)
        return;
    while (w->conns)
        conn_forget(w, w->conns);
    free(w->dir);
    free(w);
}
