/* mstate_xchg_conn.h - exchanges cut between two parts (mstate_xchg.h)
 * settled in the parts' sessions themselves: `--jobs N` over the parts of
 * one capture keeps each part's struct smb_conn, where `smbscope merge`
 * has their connections[] entries (mstate_xchg_join.c patches those). */
#ifndef SMBSCOPE_MSTATE_XCHG_CONN_H
#define SMBSCOPE_MSTATE_XCHG_CONN_H

#include "session.h"
#include "session_xchg.h"

/* The late part's record of the session a SESSION_SETUP split between the
 * parts settled: mechanism, anonymous flag, the identity of the early
 * part's AUTHENTICATE, the first blob's mechanism list.  s may be NULL. */
void mstate_xchg_conn_session(struct smb_conn *s, const struct smb_conn_xchg *lx, const struct xchg_auth *early,
                              const struct xchg_auth *c, const struct xchg_session *r);

/* The early part's share of path p (as the record holds it) waiting for
 * its TREE_CONNECT response: answered; an SMB1 response's service ("" when
 * none) replaces the request's.  s may be NULL. */
void mstate_xchg_conn_share(struct smb_conn *s, const uint8_t *p, uint16_t plen, uint32_t status, uint8_t type,
                            uint32_t flags, const char *service);

#endif
