/* part_id.h - the identity of the capture part an input of a run was: what
 * `smbscope merge` compares to refuse the same part given twice (in two
 * reports, or twice inside merged ones), reported as the input's "part_id"
 * (JSON inputs[] and merge_state.state.inputs[]).
 *
 * "sha256:HEX" over the packets analysed, not over the file or its name:
 * the SHA-256 of the first 64 records analysed (capture_head.h: time,
 * lengths, link type and first 256 bytes, past any filter), the records
 * analysed, their wire bytes, the first and last packet's times.  Not the
 * filter's text: two filters that keep the same packets analyse the same
 * part, and a file written with -w under a filter and read again is the
 * same part (nor a pcapng's own if_filter, which libpcap's reader does not
 * tell).  So a report renamed, the same file analysed again under another
 * name, compressed, converted to pcapng or read with --jobs is the same
 * part; a part cut elsewhere (other counts or times), a filter that keeps
 * other packets, or another sensor's capture of the same traffic (other
 * times, other link headers: README, a second sensor counts twice as
 * Zeek's second worker does) is another part.  A live interface has no
 * records hashed: its name, its counts and times, and so has an input of a
 * report written before identities (merge: its counts and times).  An input
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
