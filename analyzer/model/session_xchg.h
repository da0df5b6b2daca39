/* session_xchg.h - SMB exchanges cut by a capture's edge.  A capture split
 * in the middle of a connection (editcap -c/-i) can end between a request
 * and its response: the first part saw the SESSION_SETUP request (who logs
 * on, with what) or the TREE_CONNECT request (which share), the next part
 * the response (whether it worked).  Neither part alone reports what the
 * captures read together report; smbscope merge joins them from what each
 * part keeps here (analyzer/merge/mstate_xchg.c):
 *   - a connection open at its capture's end: the request-side security
 *     blob not yet settled (struct smb_conn.pending_auth) and the
 *     TREE_CONNECT requests without a response;
 *   - a connection first seen mid-stream: its first SESSION_SETUP settled
 *     (final response) and what it knew of the request side then, the facts
 *     of every session (to judge the connection again), and the
 *     TREE_CONNECT responses whose request it did not see.
 * Made only for such connections (NULL on every other one). */
#ifndef SMBSCOPE_SESSION_XCHG_H
#define SMBSCOPE_SESSION_XCHG_H

#include <stdbool.h>
#include <stdint.h>

#include "gss.h"
#include "ntlmssp.h"

struct smb_conn;

/* Small bounds (a merge holds up to 16 x 4,096 of these): a connection
 * rarely waits for more than one TREE_CONNECT; those past the bound, and
 * longer paths, are not joined. */
#define XCHG_MAX_TREES 4
#define XCHG_MAX_SESSIONS 32 /* SESSION_MAX_SESSIONS */
#define XCHG_PATH_MAX 128

/* What session_note() (session_shares.c) reads of a request-side blob. */
struct xchg_auth {
    bool have;
    uint8_t mech;            /* enum auth_mech */
    bool krb5_ap_req;
    bool ntlm3;              /* an NTLMSSP AUTHENTICATE */
    bool anonymous;          /* its anonymous test */
    struct ntlmssp_name user, domain, workstation;
    uint8_t n_mechs;
    uint8_t mechs[GSS_MAX_MECHS]; /* enum gss_oid_id, of the first blob that listed them */
};

struct xchg_session { /* what the connection's verdict reads of a session record */
    uint8_t mech;         /* enum auth_mech */
    bool established, anonymous, guest;
};

#define XCHG_SERVICE_MAX 16 /* SMB1 services are at most 5 characters ("LPT1:", "?????") */

struct smb_conn_xchg {
    /* open at the capture's end */
    struct xchg_auth pending;
    /* an SMB2 NEGOTIATE request asked for signing (SIGNING_REQUIRED in its
     * security mode) and no SMB2 NEGOTIATE response came: the run that
     * sees the response in a later part judges signing required
     * (session_facts.c: either side's bit), the later part alone only
     * knows the server's */
    bool neg_signing_required;
    uint8_t n_trees;
    struct {
        uint64_t mid;
        uint16_t path_len;
        uint8_t path[XCHG_PATH_MAX]; /* as the share record holds it */
    } trees[XCHG_MAX_TREES];
    /* first seen mid-stream */
    bool settled;            /* a final SESSION_SETUP response was seen */
    bool noted;              /* ... and it noted a session record (session_note) */
    uint64_t session_id;     /* of that response */
    struct xchg_auth before; /* the request side seen before it (have false: none) */
    uint8_t n_sessions;      /* the session records at close, in order */
    uint8_t settled_index;   /* which of them the first settle noted */
    struct xchg_session sessions[XCHG_MAX_SESSIONS];
    uint8_t n_answers;
    struct {
        uint64_t mid;
        uint32_t status, share_flags, tree_id;
        uint8_t share_type;
        char service[XCHG_SERVICE_MAX]; /* SMB1: the response's service ("A:", "IPC"), "" on SMB2 */
    } answers[XCHG_MAX_TREES];
};

/* The auth facts of a blob (NULL: have false). */
void xchg_auth_of(struct xchg_auth *out, const struct smb_auth *a);

/* Hooks of the session model (session_shares.c, session.c); each does
 * nothing on a connection seen from its start. */
void session_xchg_settle(struct smb_conn *s, uint64_t session_id, bool noted, int index);
void session_xchg_tree_answer(struct smb_conn *s, uint64_t mid, uint32_t status, uint32_t tree_id,
                              uint8_t share_type, uint32_t share_flags, const char *service);
/* At close (before the live state and pending_auth are freed): at_end when
 * the capture ended with the connection open. */
void session_xchg_close(struct smb_conn *s, bool at_end);

#endif
