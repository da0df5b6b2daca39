/* part_id.h - the identity of the capture part an input of a run was: what
 * `smbscope merge` compares to refuse the same part given twice (in two
 * reports, or twice inside merged ones), reported as the input's "part_id"
 * (JSON inputs[] and merge_state.state.inputs[]).
 *
 * "sha256:HEX" over the records analysed, not over the file or its name:
 * the SHA-256 of the first 64 records read (capture_head.h: time, lengths,
 * link type and first 256 bytes), the records analysed, their wire bytes,
 * the first and last packet's times, and the capture filter they were
 * analysed under.  So a report renamed, the same file analysed again under
 * another name, compressed, converted to pcapng or read with --jobs is the
 * same part, and so are two runs whose records agree on all of that; a
 * part cut elsewhere (other counts or times), another filter, or another
 * sensor's capture of the same traffic (other times, other link headers:
 * README, a second sensor counts twice as Zeek's second worker does) is
 * another part.  A live interface has no records read ahead: its name, its
 * counts and times, and so has an input of a report written before
 * identities (merge: its counts, times and filter, no records).  An input
 * with no packet analysed has no identity (null): two empty captures add
 * nothing twice. */
#ifndef SMBSCOPE_PART_ID_H
#define SMBSCOPE_PART_ID_H

#include <stdbool.h>

#include "analysis.h"

#define PART_ID_PREFIX "sha256:"
#define PART_ID_LEN (sizeof PART_ID_PREFIX - 1 + 64)

/* in's identity into out (false: none, out ""): the one its report gave it
 * (merge), else made from what the run read. */
bool part_id_of(const struct input_info *in, char out[PART_ID_LEN + 1]);
/* Whether s has the form part_id_of() writes. */
bool part_id_valid(const char *s);

#endif
