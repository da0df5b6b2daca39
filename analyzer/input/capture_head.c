/* capture_head.c - see capture_head.h. */
#include "capture_head.h"

#include <glib.h>
#include <string.h>

static void put_le(GChecksum *c, uint64_t v, int n)
{
    uint8_t b[8];
    for (int i = 0; i < n; i++, v >>= 8)
        b[i] = (uint8_t)v;
    g_checksum_update(c, b, (gssize)n);
}

void capture_head_add(struct capture_head *h, const struct capture_record *rec)
{
    if (!h->sum)
        h->sum = g_checksum_new(G_CHECKSUM_SHA256);
    GChecksum *c = h->sum;
    /* the record as any reader of the file gives it (microseconds: a
     * nanosecond pcapng of the same packets is the same part) */
    put_le(c, (uint64_t)rec->ts_us, 8);
    put_le(c, rec->caplen, 4);
    put_le(c, rec->wirelen, 4);
    put_le(c, (uint64_t)(uint32_t)rec->dlt, 4);
    uint32_t n = rec->caplen < CAPTURE_HEAD_BYTES ? rec->caplen : CAPTURE_HEAD_BYTES;
    if (n && rec->data)
        g_checksum_update(c, rec->data, (gssize)n);
}

bool capture_head_digest(const struct capture_head *h, uint8_t out[CAPTURE_HEAD_LEN])
{
    if (!h->sum)
        return false;
    GChecksum *c = g_checksum_copy(h->sum); /* a digest closes its checksum */
    gsize len = CAPTURE_HEAD_LEN;
    g_checksum_get_digest(c, out, &len);
    g_checksum_free(c);
    return len == CAPTURE_HEAD_LEN;
}

void capture_head_free(struct capture_head *h)
{
    if (h->sum)
        g_checksum_free(h->sum);
    memset(h, 0, sizeof *h);
}
