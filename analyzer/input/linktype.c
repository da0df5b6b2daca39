/* linktype.c - libpcap's mapping of a file's link type and snapshot length.
 *
 * libpcap maps LINKTYPE_ values to the platform's DLT_ values and adjusts the
 * snapshot length (0 or too large: the link type's maximum) with functions it
 * does not export.  Our own reader must give the same answers, so it asks
 * libpcap: a 24-byte pcap file header held in memory, opened by libpcap. */
#include "reader.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>

static bool ask(uint32_t linktype, uint32_t snaplen, int *dlt, uint32_t *snapshot, char *why, size_t whylen)
{
    uint8_t hdr[24];
    const uint32_t magic = 0xa1b2c3d4u;
    const uint16_t major = 2, minor = 4;
    const uint32_t zero = 0;
    /* host byte order: libpcap reads it unswapped */
    memcpy(hdr, &magic, 4);
    memcpy(hdr + 4, &major, 2);
    memcpy(hdr + 6, &minor, 2);
    memcpy(hdr + 8, &zero, 4);
    memcpy(hdr + 12, &zero, 4);
    memcpy(hdr + 16, &snaplen, 4);
    memcpy(hdr + 20, &linktype, 4);
    FILE *fp = fmemopen(hdr, sizeof hdr, "r");
    if (!fp) {
        snprintf(why, whylen, "cannot ask libpcap about link type %u", linktype);
        return false;
    }
    char err[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_fopen_offline(fp, err);
    if (!p) {
        fclose(fp);
        snprintf(why, whylen, "libpcap refuses link type %u: %s", linktype, err);
        return false;
    }
    *dlt = pcap_datalink(p);
    int snap = pcap_snapshot(p);
    *snapshot = snap > 0 ? (uint32_t)snap : 0;
    pcap_close(p); /* closes fp */
    return true;
}

bool linktype_lookup(uint32_t linktype, uint32_t snaplen, struct linktype_info *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof *out);
    out->linktype = linktype;
    out->snaplen = snaplen;
    int dlt_max;
    return ask(linktype, snaplen, &out->dlt, &out->snapshot, why, whylen) &&
           ask(linktype, 0, &dlt_max, &out->max_snaplen, why, whylen);
}
