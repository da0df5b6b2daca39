/* reader.h - what every capture reader (ours for pcap and pcapng, libpcap,
 * libwiretap) shares with capture.c: how it says where and why it stopped,
 * and libpcap's view of a link type. */
#ifndef SMBSCOPE_READER_H
#define SMBSCOPE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define READER_WHY_SIZE 512

/* Why a reader stopped early: the byte offset (of the decompressed stream)
 * of the record or block it could not read, and the reason. */
struct read_fault {
    uint64_t offset;
    bool has_offset;
    bool block;             /* a pcapng block, not a classic pcap record */
    char why[READER_WHY_SIZE];
};

/* libpcap's answers for a link type field of a file header or IDB: the
 * DLT_ value it reports, the snapshot length it uses for snaplen, and the
 * largest captured length it accepts.  Asked of libpcap itself (a header in
 * memory), so both readers agree whatever the platform's DLT_ numbering. */
struct linktype_info {
    uint32_t linktype;      /* as in the file */
    uint32_t snaplen;       /* as in the file */
    int dlt;
    uint32_t snapshot;
    uint32_t max_snaplen;
};

/* false (and why) when libpcap cannot be asked. */
bool linktype_lookup(uint32_t linktype, uint32_t snaplen, struct linktype_info *out, char *why, size_t whylen);

/* pcapng and pcap timestamps as libpcap gives them at nanosecond precision
 * (sec, nsec) -> microseconds, clamped so any two can be subtracted: 64-bit
 * timestamps can name seconds whose microseconds overflow int64, so they are
 * clamped to about +-73,000 years, and a timeout can still be added without
 * overflow downstream.  Inline: it runs once per record. */
#define READER_TS_SEC_LIMIT (INT64_MAX / 4 / 1000000)

static inline int64_t reader_ts_us(int64_t sec, int64_t nsec)
{
    if (sec > READER_TS_SEC_LIMIT)
        sec = READER_TS_SEC_LIMIT;
    else if (sec < -READER_TS_SEC_LIMIT)
        sec = -READER_TS_SEC_LIMIT;
    return sec * 1000000 + nsec / 1000;
}

#endif
