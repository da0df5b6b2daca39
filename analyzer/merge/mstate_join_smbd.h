/* mstate_join_smbd.h - an SMB Direct message whose SMBD fragments a cut
 * divides, decoded whole by merge.  Neither part holds the whole SMB2
 * message (the early part its start, the late part its rest, which it
 * frames as no SMB message), so neither decodes it; the run over both
 * parts does.  A run keeps, per TCP edge and direction (rdma.h,
 * smbd_kept), the start of any SMB message in progress at its end and the
 * rest it began with, each at most RDMA_KEEP_MAX octets ("edge_smbd_bytes",
 * beside the edge's "edge_frames" record: mstate_join_frame.c); when merge
 * joins the parts and the late part's first data message carried what the
 * early part's message still expected, the frame join puts the two
 * together (frame_edge_whole_take()).  The message is then decoded by the
 * session model the run uses, in a connection of its own seen from its
 * middle, and that connection joined to the early part as a part between
 * the early and the late one, by the joins of any two parts (its record:
 * mstate_join_parts(); its exchanges: a SESSION_SETUP request's blob, a
 * TREE_CONNECT's share, answered by the late part; its entry or --jobs'
 * session): whatever the run reads in the message (a NEGOTIATE's dialect,
 * signing, cipher and capabilities, who logs on, a share, an encrypted or
 * signed PDU) the merge reads too.  An RDMA Send whose DDP segments a cut
 * divides is put together the same way (its start and rest in the same
 * records, RDMA_KEPT_SEND_*: mstate_join_frame.c's join_send()), and a
 * whole SMB2 message its SMBD data transfer message carries decoded here
 * too. */
#ifndef SMBSCOPE_MSTATE_JOIN_SMBD_H
#define SMBSCOPE_MSTATE_JOIN_SMBD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"

struct analysis;
struct conn_summary;

/* "edge_smbd_bytes" records a run writes at most (a state's bound on read). */
#define SMBD_KEPT_RECS 64

/* The messages the frame join of early and late made whole
 * (frame_edge_whole_take()), each decoded by a connection of its own and
 * joined to early as a part between early and late: early's record,
 * exchanges and detail take in what the run over both parts reads in it. */
void mstate_smbd_join_wholes(struct analysis *a, struct conn_summary *early, const struct conn_summary *late);

/* s, a connection of its own holding what the run over both parts read
 * between early and the part after it (mid: its summary, closed), joined
 * to early as a part between them: its exchanges, record and detail
 * (--jobs: s kept as early's session's part; else its entry).  s is
 * freed. */
struct smb_conn;
void mstate_join_middle(struct analysis *a, struct conn_summary *early, struct smb_conn *s, struct conn_summary *mid);
/* Such a part made: a connection of its own between early's ends, seen
 * from its middle (client: early's); the caller gives it its octets, then
 * mstate_middle_end() closes it as early is at its end (bytes, packets:
 * what it carried each way; reason: a static name), named an instant
 * before early began (no part of these ends has its name: the entry and
 * exchanges are looked up by it), its record in *out with early's last
 * packet, close reason and FINs. */
struct smb_conn *mstate_middle_open(struct analysis *a, const struct conn_summary *early);
void mstate_middle_end(struct analysis *a, struct smb_conn *s, const struct conn_summary *early,
                       const uint64_t bytes[2], const uint64_t packets[2], const char *reason, struct conn_summary *out);

/* What mstate_put_hex() wrote, at most max octets, in a new buffer (NULL
 * on anything else: odd, not hex, too long). */
uint8_t *smbd_get_hex(const char *s, size_t max, size_t *n);

#endif
