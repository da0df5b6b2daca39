/* capture_head.h - a digest of the first records of a capture input: with
 * the counts and times of what was analysed, the identity of the capture
 * part a report describes (analyzer/report/part_id.h), so that merge can
 * refuse the same part given twice.  Only the first CAPTURE_HEAD_RECORDS
 * records are hashed (their time, lengths, link type and first
 * CAPTURE_HEAD_BYTES bytes): the per-record cost after them is one
 * comparison.  A capture hashes the first records read (capture_head(),
 * what --jobs' split analyses: all of them); a run over a file hashes
 * those it analyses (analysis_run_input(): past a filter) instead. */
#ifndef SMBSCOPE_CAPTURE_HEAD_H
#define SMBSCOPE_CAPTURE_HEAD_H

#include <stdbool.h>
#include <stdint.h>

#include "capture.h"

#define CAPTURE_HEAD_RECORDS 64u
#define CAPTURE_HEAD_BYTES 256u
#define CAPTURE_HEAD_LEN 32u /* SHA-256 */

struct capture_head {
    void *sum; /* GChecksum, NULL before the first record */
};

void capture_head_add(struct capture_head *h, const struct capture_record *rec);
/* Record number rec->frame (1-based) hashed when among the first. */
static inline void capture_head_record(struct capture_head *h, const struct capture_record *rec)
{
    if (rec->frame <= CAPTURE_HEAD_RECORDS)
        capture_head_add(h, rec);
}
/* The digest of the records hashed so far (false: none) into out. */
bool capture_head_digest(const struct capture_head *h, uint8_t out[CAPTURE_HEAD_LEN]);
void capture_head_free(struct capture_head *h);

#endif
