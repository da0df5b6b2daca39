/* mstate_join_enc.h - encrypted messages a later part of a connection saw
 * of sessions it had no record of (connections[].encryption.unseen_sessions,
 * analyzer/model/session_enc.h) counted, when their parts are joined, in
 * the session the early part saw set up: the run over both captures counts
 * them there. */
#ifndef SMBSCOPE_MSTATE_JOIN_ENC_H
#define SMBSCOPE_MSTATE_JOIN_ENC_H

#include <json-glib/json-glib.h>

/* early, late: the two parts' connections[] entries (late's sessions
 * already merged into early's). */
void mstate_join_enc_unseen(JsonObject *early, JsonObject *late);

/* Before late's sessions are merged into early's: the late part noted
 * messages of sessions it then saw set up (its list emptied, still
 * written: session_enc_unseen_forget).  When the early part, seen from its
 * middle, set up no session, the run over both had no record of them
 * either when they came, and writes its emptied list too. */
void mstate_join_enc_emptied(JsonObject *early, JsonObject *late);

#endif
