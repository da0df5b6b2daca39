/* pcapng_out.c - a minimal pcapng writer; see pcapng_out.h and
 * draft-ietf-opsawg-pcapng (block layouts cited per function). */
#include "pcapng_out.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#ifndef SMBSCOPE_VERSION
#define SMBSCOPE_VERSION "unknown"
#endif

enum {
    BT_SHB = 0x0A0D0D0A,
    BT_IDB = 0x00000001,
    BT_EPB = 0x00000006,
    OPT_END = 0,
    OPT_SHB_USERAPPL = 4,
    OPT_IF_NAME = 2,
    OPT_IF_TSRESOL = 9,
    MAX_INTERFACES = 4096,
};

struct pcapng_out {
    FILE *f;
    bool is_stdout;
    char *path;
    uint64_t bytes;
    int n_ifs;
    bool failed;
    int err;
};

/* libpcap's DLT_* values differ from the LINKTYPE_* values files carry for
 * a few link types (pcap-linktype(7)); the ones smbscope can decode. */
static uint16_t linktype_of_dlt(int dlt)
{
    static const struct { int dlt; uint16_t linktype; } map[] = {
        { DLT_RAW, 101 },
        { DLT_ATM_RFC1483, 100 },
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (map[i].dlt == dlt)
            return map[i].linktype;
    return (uint16_t)dlt;
}

static void put(struct pcapng_out *w, const void *p, size_t n)
{
    if (w->failed || n == 0)
        return;
    if (fwrite(p, 1, n, w->f) != n) {
        w->failed = true;
        w->err = errno ? errno : EIO;
        return;
    }
    w->bytes += n;
}

static void put32(struct pcapng_out *w, uint32_t v) { put(w, &v, 4); }
static void put16(struct pcapng_out *w, uint16_t v) { put(w, &v, 2); }

static void pad(struct pcapng_out *w, size_t n)
{
    static const uint8_t zero[4];
    put(w, zero, (4 - n % 4) % 4);
}

static size_t padded(size_t n) { return (n + 3) & ~(size_t)3; }

/* An option: code, length, value padded to 32 bits. */
static void put_opt(struct pcapng_out *w, uint16_t code, const void *v, uint16_t len)
{
    put16(w, code);
    put16(w, len);
    put(w, v, len);
    pad(w, len);
}

static size_t opt_size(size_t len) { return 4 + padded(len); }

/* Section Header Block: type, length, byte-order magic, version 1.0,
 * section length unknown (-1), options, length again. */
static void write_shb(struct pcapng_out *w)
{
    const char *app = "smbscope " SMBSCOPE_VERSION;
    size_t alen = strlen(app);
    uint32_t total = (uint32_t)(28 + opt_size(alen) + 4);
    put32(w, BT_SHB);
    put32(w, total);
    put32(w, 0x1A2B3C4D);
    put16(w, 1);
    put16(w, 0);
    const int64_t unknown = -1;
    put(w, &unknown, 8);
    put_opt(w, OPT_SHB_USERAPPL, app, (uint16_t)alen);
    put32(w, OPT_END);
    put32(w, total);
}

struct pcapng_out *pcapng_out_open(const char *path, char *errbuf)
{
    struct pcapng_out *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(errbuf, CAPTURE_ERRBUF_SIZE, "%s: out of memory", path);
        return NULL;
    }
    w->is_stdout = strcmp(path, "-") == 0;
    w->f = w->is_stdout ? stdout : fopen(path, "wb");
    if (!w->f) {
        snprintf(errbuf, CAPTURE_ERRBUF_SIZE, "-w %s: %s (give a writable path)", path, strerror(errno));
        free(w);
        return NULL;
    }
    w->path = strdup(path);
    write_shb(w);
    return w;
}

/* Interface Description Block: link type, reserved, snap length, options
 * (if_name; if_tsresol 6 = microseconds, the default, written for readers
 * that want it said). */
int pcapng_out_interface(struct pcapng_out *w, int dlt, uint32_t snaplen, const char *name)
{
    if (w->n_ifs >= MAX_INTERFACES)
        return -1;
    size_t nlen = name ? strlen(name) : 0;
    if (nlen > 255)
        nlen = 255;
    const uint8_t tsresol = 6;
    uint32_t total = (uint32_t)(16 + (nlen ? opt_size(nlen) : 0) + opt_size(1) + 4 + 4);
    put32(w, BT_IDB);
    put32(w, total);
    put16(w, linktype_of_dlt(dlt));
    put16(w, 0);
    put32(w, snaplen);
    if (nlen)
        put_opt(w, OPT_IF_NAME, name, (uint16_t)nlen);
    put_opt(w, OPT_IF_TSRESOL, &tsresol, 1);
    put32(w, OPT_END);
    put32(w, total);
    return w->failed ? -1 : w->n_ifs++;
}

/* Enhanced Packet Block: interface, timestamp (high, low 32 bits), captured
 * and original lengths, data padded to 32 bits, length again. */
bool pcapng_out_packet(struct pcapng_out *w, int iface, const struct capture_record *rec)
{
    if (iface < 0 || iface >= w->n_ifs)
        return false;
    uint64_t ts = (uint64_t)rec->ts_us;
    uint32_t total = (uint32_t)(32 + padded(rec->caplen));
    put32(w, BT_EPB);
    put32(w, total);
    put32(w, (uint32_t)iface);
    put32(w, (uint32_t)(ts >> 32));
    put32(w, (uint32_t)ts);
    put32(w, rec->caplen);
    put32(w, rec->wirelen);
    put(w, rec->data, rec->caplen);
    pad(w, rec->caplen);
    put32(w, total);
    return !w->failed;
}

uint64_t pcapng_out_bytes(const struct pcapng_out *w) { return w->bytes; }

bool pcapng_out_close(struct pcapng_out *w, char *errbuf)
{
    if (!w)
        return true;
    if (fflush(w->f) != 0 && !w->failed) {
        w->failed = true;
        w->err = errno;
    }
    if (!w->is_stdout && fclose(w->f) != 0 && !w->failed) {
        w->failed = true;
        w->err = errno;
    }
    bool ok = !w->failed;
    if (!ok)
        snprintf(errbuf, CAPTURE_ERRBUF_SIZE, "-w %s: %s (check the free space and the path)", w->path,
                 strerror(w->err ? w->err : EIO));
    free(w->path);
    free(w);
    return ok;
}
