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

#endif
