/* capture_files.h - capture files written at test time for the capture
 * tests: pcap and pcapng laid out from their specifications
 * (draft-ietf-opsawg-pcap, draft-ietf-opsawg-pcapng), gzip, a temporary
 * directory, and the record-by-record check against the packets written. */
#ifndef SMBSCOPE_CAPTURE_FILES_H
#define SMBSCOPE_CAPTURE_FILES_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "capture.h"

#define NPKT 6

struct pkt_spec {
    int64_t ts_ns;
    uint32_t caplen, wirelen;
    uint8_t data[300];
};

/* The packets every file holds (make_packets() fills them). */
extern struct pkt_spec pkts[NPKT];
extern char *tmpdir;
/* byte order of the pcapng sections written by pcapng_file() and ng_block() */
extern bool ng_be;

/* A pcapng file: SHB, IDB, EPBs with an unknown block after the second one,
 * an ISB at the end.  blk_off lists every block start (+ end); epb_block[i]
 * is the block number of packet i. */
struct ng_layout {
    size_t blk_off[16];
    int nblk;
    int epb_block[NPKT];
    size_t idb_end;
};

void make_packets(void);
void put_u16(GByteArray *b, uint16_t v, bool be);
void put_u32(GByteArray *b, uint32_t v, bool be);
/* A pcap file; rec_off[i] receives the offset of record i (rec_off[NPKT] = size). */
GByteArray *pcap_file(bool nsec, bool be, uint32_t linktype, size_t *rec_off);
void ng_block(GByteArray *b, uint32_t type, const GByteArray *body);
GByteArray *pcapng_file(bool nsec, struct ng_layout *lay);
GByteArray *gzip_bytes(const uint8_t *p, size_t n);
/* Write name in tmpdir; the path (g_free it). */
char *write_file(const char *name, const uint8_t *p, size_t n);
/* Read everything; records must match pkts[0..]; returns the count, the
 * last capture_next() value in *last and the error in err (if any). */
int read_all(struct capture *cap, bool nsec, int *last, char *err, size_t errlen);
void check_whole(const char *path, bool nsec, const char *format, bool gz, size_t decompressed, size_t stored);
/* The exhaustive mode (SMBSCOPE_FULL=1: tests/run.sh --full): every cut
 * offset.  Otherwise cut_wanted() keeps the offsets where a reader's answer
 * can change: every byte of a unit's first CUT_HEAD bytes (the record
 * header or block header and its fixed fields, where each length and
 * field check sits), its last CUT_TAIL bytes (a pcapng block's trailing
 * length) and every CUT_STRIDE-th byte between (a cut inside the data). */
enum { CUT_HEAD = 36, CUT_TAIL = 5, CUT_STRIDE = 13 };
bool full_mode(void);
/* Whether to cut at offset cut of a file whose units (records or blocks)
 * start at starts[0..n-1], starts[n-1] being the file's end; every offset
 * before starts[0] (a file header) is wanted. */
bool cut_wanted(size_t cut, const size_t *starts, int n);
/* The temporary directory: made by setup_tmpdir(), emptied and removed by remove_tmpdir(). */
void setup_tmpdir(void);
void remove_tmpdir(void);

#endif
