/* wiretap_reader.c - libwiretap as a capture reader.
 *
 * libwiretap opens the file by name and decompresses it itself; each record
 * carries its WTAP_ENCAP_, turned into the LINKTYPE_ of the pcap formats and
 * from there into libpcap's DLT_ (linktype_lookup), so packet decoding sees
 * the same link-type numbers whatever the reader. */
#include "wiretap_reader.h"

#include <stdio.h>
#include <string.h>

#include "wire.h"

bool pcap_lib_claims(const uint8_t *m, size_t n)
{
    static const uint32_t magics[] = { 0xa1b2c3d4u, 0xa1b23c4du, 0xa1b2cd34u, 0x0A0D0D0Au };
    if (n > 4)
        n = 4;
    for (size_t i = 0; i < sizeof magics / sizeof magics[0]; i++) {
        uint8_t be[4], le[4];
        for (int k = 0; k < 4; k++) {
            be[k] = (uint8_t)(magics[i] >> (24 - 8 * k));
            le[k] = (uint8_t)(magics[i] >> (8 * k));
        }
        if (memcmp(m, be, n) == 0 || memcmp(m, le, n) == 0)
            return true;
    }
    return false;
}

#ifdef HAVE_WIRETAP

#include <glib.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "wiretap_load.h"

#define ENCAP_CACHE 8
#define LINKTYPE_SCAN 300 /* LINKTYPE_ values assigned so far lie below */

struct wiretap_reader {
    const struct wiretap_api *w; /* the library's functions (wiretap_load.c) */
    wtap *wth;
    wtap_rec rec;
    Buffer buf;
    int64_t size;
    int first_dlt;
    bool per_packet;
    int pending;                /* 1: first holds a record read at open; 0: none */
    struct capture_record first;
    char *filter;
    struct { int encap, dlt; } cache[ENCAP_CACHE];
    unsigned ncache;
};

bool wiretap_available(void) { return true; }

/* WTAP_ENCAP_ -> LINKTYPE_ -> libpcap's DLT_ (-1 when pcap has no number). */
static int encap_dlt(struct wiretap_reader *r, int encap)
{
    if (encap == WTAP_ENCAP_UNKNOWN || encap == WTAP_ENCAP_PER_PACKET)
        return -1;
    for (unsigned i = 0; i < r->ncache; i++)
        if (r->cache[i].encap == encap)
            return r->cache[i].dlt;
    /* libwiretap 4.0 exports only the LINKTYPE_ -> WTAP_ENCAP_ direction:
     * take the lowest LINKTYPE_ that maps to this encapsulation */
    int lt = -1;
    for (int i = 0; i < LINKTYPE_SCAN && lt < 0; i++)
        if (r->w->wtap_pcap_encap_to_wtap_encap(i) == encap)
            lt = i;
    struct linktype_info li;
    char why[READER_WHY_SIZE];
    int dlt = lt >= 0 && linktype_lookup((uint32_t)lt, 0, &li, why, sizeof why) ? li.dlt : -1;
    if (r->ncache < ENCAP_CACHE) {
        r->cache[r->ncache].encap = encap;
        r->cache[r->ncache].dlt = dlt;
        r->ncache++;
    }
    return dlt;
}

static void first_filter(struct wiretap_reader *r)
{
    wtapng_iface_descriptions_t *idb = r->w->wtap_file_get_idb_info(r->wth);
    if (!idb)
        return;
    if (idb->interface_data && idb->interface_data->len > 0) {
        wtap_block_t b = g_array_index(idb->interface_data, wtap_block_t, 0);
        if_filter_opt_t v;
        if (r->w->wtap_block_get_if_filter_option_value(b, OPT_IDB_FILTER, &v) == WTAP_OPTTYPE_SUCCESS &&
            v.type == if_filter_pcap && v.data.filter_str)
            r->filter = g_strdup(v.data.filter_str);
    }
    g_free(idb);
}

struct wiretap_reader *wiretap_reader_open(const char *path, char *why, size_t whylen)
{
    const struct wiretap_api *w = wiretap_api(why, whylen);
    if (!w)
        return NULL;
    int err = 0;
    gchar *info = NULL;
    wtap *wth = w->wtap_open_offline(path, WTAP_TYPE_AUTO, &err, &info, FALSE);
    if (!wth) {
        snprintf(why, whylen, "%s%s%s", w->wtap_strerror(err), info ? ": " : "", info ? info : "");
        g_free(info);
        return NULL;
    }
    struct wiretap_reader *r = g_new0(struct wiretap_reader, 1);
    r->w = w;
    r->wth = wth;
    w->wtap_rec_init(&r->rec);
    w->ws_buffer_init(&r->buf, 2048);
    struct stat st;
    r->size = stat(path, &st) == 0 && S_ISREG(st.st_mode) ? (int64_t)st.st_size : -1;
    int encap = w->wtap_file_encap(wth);
    r->per_packet = encap == WTAP_ENCAP_PER_PACKET || encap == WTAP_ENCAP_UNKNOWN;
    r->first_dlt = r->per_packet ? -1 : encap_dlt(r, encap);
    if (r->per_packet) {
        /* the link type is the first packet's: read it now, hand it out first */
        struct read_fault f;
        r->pending = wiretap_reader_next(r, &r->first, &f);
        if (r->pending < 0) {
            snprintf(why, whylen, "%s", f.why);
            wiretap_reader_close(r);
            return NULL;
        }
        r->first_dlt = r->pending == 1 ? r->first.dlt : -1;
    }
    first_filter(r);
    return r;
}

int wiretap_reader_next(struct wiretap_reader *r, struct capture_record *rec, struct read_fault *f)
{
    if (r->pending) {
        int rc = r->pending;
        r->pending = 0;
        *rec = r->first; /* its data still sits in r->buf: nothing was read since */
        return rc;
    }
    for (;;) {
        int err = 0;
        gchar *info = NULL;
        gint64 off;
        r->w->wtap_rec_reset(&r->rec);
        if (!r->w->wtap_read(r->wth, &r->rec, &r->buf, &err, &info, &off)) {
            if (err == 0)
                return 0;
            f->has_offset = false;
            f->block = false;
            snprintf(f->why, sizeof f->why, "%s%s%s", r->w->wtap_strerror(err), info ? ": " : "", info ? info : "");
            g_free(info);
            return -1;
        }
        g_free(info); /* some readers say why even when the read succeeds (libwiretap leaves it to us) */
        if (r->rec.rec_type != REC_TYPE_PACKET)
            continue; /* events, reports, custom blocks: not packets */
        const wtap_packet_header *ph = &r->rec.rec_header.packet_header;
        rec->dlt = encap_dlt(r, ph->pkt_encap);
        if (r->first_dlt == -1)
            r->first_dlt = rec->dlt;
        rec->ts_us = reader_ts_us((int64_t)r->rec.ts.secs, (int64_t)r->rec.ts.nsecs);
        rec->caplen = ph->caplen;
        rec->wirelen = ph->len;
        rec->data = ws_buffer_start_ptr(&r->buf);
        rec->frame = 0; /* capture.c numbers records */
        return 1;
    }
}

int wiretap_reader_linktype(const struct wiretap_reader *r) { return r->first_dlt; }
bool wiretap_reader_per_packet(const struct wiretap_reader *r) { return r->per_packet; }

const char *wiretap_reader_format(const struct wiretap_reader *r)
{
    return r->w->wtap_file_type_subtype_name(r->w->wtap_file_type_subtype(r->wth));
}

const char *wiretap_reader_compression(const struct wiretap_reader *r)
{
    static const char *const names[] = {
        [WTAP_UNCOMPRESSED] = "", [WTAP_GZIP_COMPRESSED] = "gzip",
        [WTAP_ZSTD_COMPRESSED] = "zstd", [WTAP_LZ4_COMPRESSED] = "lz4",
    };
    unsigned c = (unsigned)r->w->wtap_get_compression_type(r->wth);
    return c < sizeof names / sizeof names[0] && names[c] ? names[c] : "";
}

const char *wiretap_reader_filter(const struct wiretap_reader *r) { return r->filter; }
uint64_t wiretap_reader_bytes(const struct wiretap_reader *r)
{
    gint64 n = r->w->wtap_read_so_far(r->wth);
    return n > 0 ? (uint64_t)n : 0;
}
int64_t wiretap_reader_size(const struct wiretap_reader *r) { return r->size; }

void wiretap_reader_close(struct wiretap_reader *r)
{
    if (!r)
        return;
    r->w->wtap_close(r->wth);
    r->w->wtap_rec_cleanup(&r->rec);
    r->w->ws_buffer_free(&r->buf);
    g_free(r->filter);
    g_free(r);
}

#else /* built without libwiretap: other formats are refused by name */

bool wiretap_available(void) { return false; }

struct wiretap_reader *wiretap_reader_open(const char *path, char *why, size_t whylen)
{
    (void)path;
    snprintf(why, whylen, "smbscope was built without libwiretap, which reads formats other than pcap and pcapng");
    return NULL;
}

int wiretap_reader_next(struct wiretap_reader *r, struct capture_record *rec, struct read_fault *f)
{
    (void)r;
    (void)rec;
    (void)f;
    return 0;
}

int wiretap_reader_linktype(const struct wiretap_reader *r) { (void)r; return -1; }
bool wiretap_reader_per_packet(const struct wiretap_reader *r) { (void)r; return false; }
const char *wiretap_reader_format(const struct wiretap_reader *r) { (void)r; return ""; }
const char *wiretap_reader_compression(const struct wiretap_reader *r) { (void)r; return ""; }
const char *wiretap_reader_filter(const struct wiretap_reader *r) { (void)r; return NULL; }
uint64_t wiretap_reader_bytes(const struct wiretap_reader *r) { (void)r; return 0; }
int64_t wiretap_reader_size(const struct wiretap_reader *r) { (void)r; return -1; }
void wiretap_reader_close(struct wiretap_reader *r) { (void)r; }

#endif
