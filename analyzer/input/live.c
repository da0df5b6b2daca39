/* live.c - live capture through libpcap; see live.h. */
#include "live.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

struct live_if {
    pcap_t *p;
    char *name;
    int dlt;
    int snaplen;
    int fd;
    /* pcap_stats() counters are 32-bit and wrap on a long run: kept as
     * 64-bit sums of their deltas. */
    uint32_t last[3];
    uint64_t total[3];
};

struct live {
    struct live_if *ifs;
    int n;
    struct pollfd *pfd;
    /* during live_poll: the callback and the interface being read */
    live_packet_fn fn;
    void *ctx;
    int cur;
    uint64_t frame[64];
};

static void set_err(char *errbuf, const char *iface, const char *what, const char *why, const char *todo)
{
    snprintf(errbuf, LIVE_ERRBUF_SIZE, "interface %s: %s: %s%s%s", iface, what, why, todo ? " (" : "", todo ? todo : "");
    if (todo)
        strncat(errbuf, ")", LIVE_ERRBUF_SIZE - strlen(errbuf) - 1);
}

/* What to do about pcap_activate()'s complaint. */
static const char *activate_hint(int rc)
{
    switch (rc) {
    case PCAP_ERROR_NO_SUCH_DEVICE: return "smbscope -D lists the interfaces";
    case PCAP_ERROR_PERM_DENIED: return "run as root, or give smbscope CAP_NET_RAW and CAP_NET_ADMIN";
    case PCAP_ERROR_IFACE_NOT_UP: return "bring the interface up first";
    case PCAP_ERROR_PROMISC_PERM_DENIED: return "use -p, or capture with more privileges";
    default: return NULL;
    }
}

static bool open_one(struct live_if *lf, const char *name, const struct live_options *o, char *errbuf)
{
    char pe[PCAP_ERRBUF_SIZE] = "";
    lf->name = strdup(name);
    lf->fd = -1;
    lf->p = pcap_create(name, pe);
    if (!lf->p) {
        set_err(errbuf, name, "cannot open", pe, "smbscope -D lists the interfaces");
        return false;
    }
    int snap = o->snaplen > 0 ? o->snaplen : LIVE_DEFAULT_SNAPLEN;
    int kib = o->buffer_kib > 0 ? o->buffer_kib : LIVE_DEFAULT_BUFFER_KIB;
    /* Immediate mode: events and the final report must not wait for a
     * buffer to fill; a larger kernel buffer absorbs bursts instead. */
    if (pcap_set_snaplen(lf->p, snap) != 0 || pcap_set_promisc(lf->p, o->promisc) != 0 ||
        pcap_set_immediate_mode(lf->p, 1) != 0 || pcap_set_buffer_size(lf->p, kib * 1024) != 0 ||
        pcap_set_timeout(lf->p, 100) != 0) {
        set_err(errbuf, name, "cannot configure", pcap_geterr(lf->p), NULL);
        return false;
    }
    int rc = pcap_activate(lf->p);
    if (rc < 0) {
        const char *why = rc == PCAP_ERROR ? pcap_geterr(lf->p) : pcap_statustostr(rc);
        if (rc != PCAP_ERROR && pcap_geterr(lf->p)[0])
            why = pcap_geterr(lf->p);
        set_err(errbuf, name, "cannot capture", why, activate_hint(rc));
        return false;
    }
    lf->dlt = pcap_datalink(lf->p);
    lf->snaplen = pcap_snapshot(lf->p);
    if (o->filter) {
        struct bpf_program prog;
        if (pcap_compile(lf->p, &prog, o->filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
            char why[PCAP_ERRBUF_SIZE + 64];
            snprintf(why, sizeof why, "'%s': %s", o->filter, pcap_geterr(lf->p));
            set_err(errbuf, name, "capture filter", why, "see pcap-filter(7)");
            return false;
        }
        rc = pcap_setfilter(lf->p, &prog);
        pcap_freecode(&prog);
        if (rc != 0) {
            set_err(errbuf, name, "cannot set the capture filter", pcap_geterr(lf->p), NULL);
            return false;
        }
    }
    if (pcap_setnonblock(lf->p, 1, pe) != 0) {
        set_err(errbuf, name, "cannot read without blocking", pe, NULL);
        return false;
    }
    lf->fd = pcap_get_selectable_fd(lf->p);
    if (lf->fd < 0) {
        set_err(errbuf, name, "no descriptor to wait on", "libpcap gives none for this interface", NULL);
        return false;
    }
    return true;
}

struct live *live_open(char *const *ifaces, int n, const struct live_options *o, char *errbuf)
{
    if (n <= 0 || n > 64) {
        snprintf(errbuf, LIVE_ERRBUF_SIZE, "between 1 and 64 interfaces (-i), not %d", n);
        return NULL;
    }
    struct live *lv = calloc(1, sizeof *lv);
    if (!lv)
        goto oom;
    lv->ifs = calloc((size_t)n, sizeof *lv->ifs);
    lv->pfd = calloc((size_t)n, sizeof *lv->pfd);
    if (!lv->ifs || !lv->pfd)
        goto oom;
    for (int i = 0; i < n; i++) {
        lv->n = i + 1;
        if (!open_one(&lv->ifs[i], ifaces[i], o, errbuf)) {
            live_close(lv);
            return NULL;
        }
        lv->pfd[i].fd = lv->ifs[i].fd;
        lv->pfd[i].events = POLLIN;
    }
    return lv;
oom:
    snprintf(errbuf, LIVE_ERRBUF_SIZE, "out of memory");
    live_close(lv);
    return NULL;
}

void live_close(struct live *lv)
{
    if (!lv)
        return;
    for (int i = 0; i < lv->n; i++) {
        if (lv->ifs[i].p)
            pcap_close(lv->ifs[i].p);
        free(lv->ifs[i].name);
    }
    free(lv->ifs);
    free(lv->pfd);
    free(lv);
}

int live_count(const struct live *lv) { return lv->n; }
const char *live_name(const struct live *lv, int i) { return lv->ifs[i].name; }
int live_linktype(const struct live *lv, int i) { return lv->ifs[i].dlt; }
int live_snaplen(const struct live *lv, int i) { return lv->ifs[i].snaplen; }

const char *live_linktype_name(const struct live *lv, int i)
{
    const char *n = pcap_datalink_val_to_name(lv->ifs[i].dlt);
    return n ? n : "unknown";
}

static void on_pcap(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
    struct live *lv = (struct live *)user;
    struct capture_record rec = {
        .ts_us = (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec,
        .caplen = h->caplen,
        .wirelen = h->len,
        .data = bytes,
        .frame = ++lv->frame[lv->cur],
        .dlt = lv->ifs[lv->cur].dlt,
    };
    lv->fn(lv->ctx, lv->cur, &rec);
}

int live_poll(struct live *lv, int timeout_ms, int budget, live_packet_fn fn, void *ctx, char *errbuf)
{
    int rc = poll(lv->pfd, (nfds_t)lv->n, timeout_ms);
    if (rc < 0) {
        if (errno == EINTR)
            return 0;
        snprintf(errbuf, LIVE_ERRBUF_SIZE, "waiting for packets: %s", strerror(errno));
        return -1;
    }
    if (rc == 0)
        return 0;
    lv->fn = fn;
    lv->ctx = ctx;
    int total = 0;
    for (int i = 0; i < lv->n; i++) {
        if (!(lv->pfd[i].revents & (POLLIN | POLLERR | POLLHUP)))
            continue;
        lv->cur = i;
        int got = pcap_dispatch(lv->ifs[i].p, budget, on_pcap, (u_char *)lv);
        if (got == PCAP_ERROR) {
            set_err(errbuf, lv->ifs[i].name, "capture failed", pcap_geterr(lv->ifs[i].p),
                    "the interface may have gone down");
            return -1;
        }
        if (got == PCAP_ERROR_BREAK)
            break;
        total += got;
    }
    return total;
}

void live_break(struct live *lv)
{
    pcap_breakloop(lv->ifs[lv->cur].p);
}

bool live_stats(struct live *lv, int i, uint64_t *received, uint64_t *dropped, uint64_t *ifdropped)
{
    struct live_if *lf = &lv->ifs[i];
    struct pcap_stat st;
    if (pcap_stats(lf->p, &st) != 0)
        return false;
    const uint32_t now[3] = { st.ps_recv, st.ps_drop, st.ps_ifdrop };
    for (int k = 0; k < 3; k++) {
        lf->total[k] += (uint32_t)(now[k] - lf->last[k]);
        lf->last[k] = now[k];
    }
    *received = lf->total[0];
    *dropped = lf->total[1];
    *ifdropped = lf->total[2];
    return true;
}

bool live_list_interfaces(FILE *out, char *errbuf)
{
    pcap_if_t *all = NULL;
    char pe[PCAP_ERRBUF_SIZE] = "";
    if (pcap_findalldevs(&all, pe) != 0) {
        snprintf(errbuf, LIVE_ERRBUF_SIZE, "cannot list interfaces: %s", pe);
        return false;
    }
    int n = 0;
    for (pcap_if_t *d = all; d; d = d->next) {
        fprintf(out, "%d.%s", ++n, d->name);
        if (d->description)
            fprintf(out, " (%s)", d->description);
        const char *up = (d->flags & PCAP_IF_UP) ? "Up" : "Down";
        const char *run = (d->flags & PCAP_IF_RUNNING) ? ", Running" : "";
        const char *lo = (d->flags & PCAP_IF_LOOPBACK) ? ", Loopback" : "";
        fprintf(out, " [%s%s%s]\n", up, run, lo);
    }
    pcap_freealldevs(all);
    if (!n) {
        snprintf(errbuf, LIVE_ERRBUF_SIZE, "no interface to capture on (run as root, or with CAP_NET_RAW)");
        return false;
    }
    return true;
}
