/* session_join.h - one connection cut between two inputs of a --jobs run
 * (the parts of one capture, each analysed by its own thread) made one
 * session again: e saw the connection's start, l its continuation. */
#ifndef SMBSCOPE_SESSION_JOIN_H
#define SMBSCOPE_SESSION_JOIN_H

#include "session.h"

/* The late part's counters added to e, its NEGOTIATE sides, sessions,
 * shares and SMB Direct facts joined; what l owned and e took is taken
 * from l (l is then only freed).  The transport verdict is the caller's:
 * it knows the joined connection's summary. */
void smb_conn_join(struct smb_conn *e, struct smb_conn *l);

#endif
