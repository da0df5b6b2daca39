/* write_streams.h - a flow observer that writes each direction of each TCP
 * connection to its own file (smbscope --write-streams DIR CAPTURE).
 *
 * File names, in DIR:
 *   NNNNNN-SRCADDR.SPORT-DSTADDR.DPORT        the bytes SRC sent to DST
 *   NNNNNN-SRCADDR.SPORT-DSTADDR.DPORT.gaps   one "OFFSET LENGTH" line per gap
 * NNNNNN is the connection's 1-based opening index (so a reused port pair
 * never collides), addresses are inet_ntop() text (IPv6 keeps its ':').
 * Gaps are NOT zero-filled: the stream file holds only captured bytes, and
 * OFFSET counts stream bytes (captured plus earlier gaps), so the file offset
 * of a later byte is its stream offset minus the gap bytes before it.
 * A file is created when its direction delivers its first byte or gap.
 *
 * The observer uses flow_conn.user.  At most max_open files are kept open at
 * once (least recently written closed first, reopened for append).
 */
#ifndef SMBSCOPE_WRITE_STREAMS_H
#define SMBSCOPE_WRITE_STREAMS_H

#include <stddef.h>

#include "flow.h"

struct write_streams;

/* dir must exist.  Returns NULL and writes a reason into err on failure. */
struct write_streams *write_streams_new(const char *dir, unsigned max_open, char *err, size_t errlen);

/* Fill obs with the observer; its ctx is w. */
void write_streams_observer(struct write_streams *w, struct flow_observer *obs);

/* 0 when every write succeeded; else -1 and the first error in err. */
int write_streams_status(const struct write_streams *w, char *err, size_t errlen);

/* Call after flow_table_finish() (or flow_table_free()). */
void write_streams_free(struct write_streams *w);

#endif
