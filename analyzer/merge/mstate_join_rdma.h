/* mstate_join_rdma.h - the SMB Direct facts of two parts of one connection
 * (iWARP over TCP, or RoCEv2 over UDP 4791: a capture cut in the middle of
 * it) made one in their connections[] entry: counters added, what only
 * the start shows (the MPA exchange, the SMBD negotiate, the queue pairs)
 * from the early part unless only the late one saw it. */
#ifndef SMBSCOPE_MSTATE_JOIN_RDMA_H
#define SMBSCOPE_MSTATE_JOIN_RDMA_H

#include <json-glib/json-glib.h>

/* early, late: the parts' connections[] entries (smb_direct null: nothing). */
void mstate_join_smb_direct(JsonObject *early, JsonObject *late);

#endif
