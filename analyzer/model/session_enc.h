/* session_enc.h - encrypted messages (SMB2 TRANSFORM headers) and signed
 * ones naming a session the connection has no record of: its SESSION_SETUP was before
 * the capture began, as on a connection seen from its middle (a capture
 * cut by editcap -c/-i).  The run reports them per session id
 * (connections[].encryption.unseen_sessions) so that smbscope merge can
 * count them in the session the earlier capture saw set up, as the run
 * over both captures does (analyzer/merge/mstate_detail.c). */
#ifndef SMBSCOPE_SESSION_ENC_H
#define SMBSCOPE_SESSION_ENC_H

#include <stdbool.h>
#include <stdint.h>

struct smb_conn;

#define SESSION_ENC_UNSEEN_MAX 8 /* session ids listed; past them their messages are only counted */
/* Kept only on a connection seen from its middle (smb_conn.midstream). */

struct smb_enc_unseen {
    uint8_t n;
    uint64_t folded; /* messages of the session ids past SESSION_ENC_UNSEEN_MAX */
    struct {
        uint64_t id, pdus; /* pdus: encrypted messages */
        bool signed_seen;
    } s[SESSION_ENC_UNSEEN_MAX];
};

/* pdus TRANSFORM headers (or a signed message: signed_seen) of session id
 * without a record (made on the first). */
void session_enc_unseen_note(struct smb_conn *s, uint64_t id, uint64_t pdus, bool signed_seen);
/* A record of session id was made (its SESSION_SETUP settled in the
 * capture): what came before it is not counted in it, as in a run that
 * saw the connection from its start. */
void session_enc_unseen_forget(struct smb_conn *s, uint64_t id);
/* --jobs: late, the later part of early's connection (both kept in
 * memory): its messages of sessions early knows counted in them, the
 * others still unseen. */
void session_enc_unseen_join(struct smb_conn *early, const struct smb_conn *late);

#endif
