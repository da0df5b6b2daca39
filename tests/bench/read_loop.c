/* read_loop.c - the capture reader alone: every record of each input through
 * capture.h, touching each record's first and last byte (so a map is really
 * read), no analysis.  The floor smbscope's own run stands on; bench
 * readers.sh sets it beside cat, igzip -dc and zstd -dc. */
#include <stdint.h>
#include <stdio.h>

#include "capture.h"

int main(int argc, char **argv)
{
    int status = 0;
    for (int i = 1; i < argc; i++) {
        char err[CAPTURE_ERRBUF_SIZE];
        struct capture *cap = capture_open(argv[i], err);
        if (!cap) {
            fprintf(stderr, "read_loop: %s\n", err);
            status = 2;
            continue;
        }
        struct capture_record rec;
        uint64_t n = 0, bytes = 0, sum = 0;
        int rc;
        while ((rc = capture_next(cap, &rec)) == 1) {
            n++;
            bytes += rec.caplen;
            if (rec.caplen)
                sum += (uint64_t)rec.data[0] + rec.data[rec.caplen - 1];
        }
        if (rc < 0) {
            fprintf(stderr, "read_loop: %s\n", capture_error(cap));
            status = 2;
        }
        printf("%s: %llu records, %llu bytes, reader %s, checksum %llu\n", argv[i], (unsigned long long)n,
               (unsigned long long)bytes, capture_reader(cap), (unsigned long long)sum);
        capture_close(cap);
    }
    return status;
}
