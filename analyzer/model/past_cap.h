/* past_cap.h - how far a first-seen table grows past its cap when --jobs
 * asks it to (admit_past_cap: the SYN-pair census, the connection groups'
 * full level, the NetBIOS rows, the SMB and NetBIOS host records).
 *
 * One run keeps a table's first C keys.  An analysis of one of several
 * inputs (analyzer/merge/jobs.c) keeps its own first C, then past them
 * the next C/2 new keys whatever they are, then only the keys the fold of
 * the earlier inputs holds (at most C more): 2.5 C, within three caps.
 * A thread of one split file (split.c) keeps the keys of its connection
 * groups apart to the same bound, for the fold to decide in one run's
 * order.  Past the bound a key is counted as past the cap, as before
 * --jobs asked. */
#ifndef SMBSCOPE_PAST_CAP_H
#define SMBSCOPE_PAST_CAP_H

#define PAST_CAP_CAPS 3u /* a table holds at most this many caps in all */

#endif
