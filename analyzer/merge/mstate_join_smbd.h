/* mstate_join_smbd.h - an SMB Direct (iWARP) message whose SMBD fragments
 * a cut divides, decoded whole by merge.  Neither part holds the whole SMB2
 * message (the early part its start, the late part its rest, which it
 * frames as no SMB message), so neither decodes it; the run over both
 * parts does.  A run keeps, per TCP edge and direction (rdma.h,
 * smbd_kept), the start of a SESSION_SETUP request in progress at its end
 * and the rest it began with, each at most RDMA_KEEP_MAX octets
 * ("edge_smbd_bytes", beside the edge's "edge_frames" record:
 * mstate_join_frame.c); when merge joins the parts and the late part's
 * first data message carried what the early part's message still
 * expected, it puts the two together and decodes the message with the
 * SMB decoder the run uses (smb_decode_message()): a SESSION_SETUP
 * request's security blob is the request side of the exchange the late
 * part settled (mstate_xchg.h), as the session model's auth_remember()
 * makes it (who logged on: user, domain, workstation).  An RDMA Send whose
 * DDP segments a cut divides is put together the same way (its start and
 * rest in the same records, RDMA_KEPT_SEND_*: mstate_join_frame.c's
 * join_send()), and a whole SMB2 message its SMBD data transfer message
 * carries decoded here too. */
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

/* The SMB2 message msg (n octets) that early and the part after it hold
 * in pieces: what it says applied to early's exchanges before they are
 * joined. */
void mstate_smbd_decode(struct analysis *a, const struct conn_summary *early, const uint8_t *msg, size_t n);

/* What mstate_put_hex() wrote, at most max octets, in a new buffer (NULL
 * on anything else: odd, not hex, too long). */
uint8_t *smbd_get_hex(const char *s, size_t max, size_t *n);

#endif
