/* mstate_join_rdma.h - the SMB Direct facts of two parts of one connection
 * (iWARP over TCP, or RoCEv2 over UDP 4791: a capture cut in the middle of
 * it) made one in their connections[] entry: counters added, what only
 * the start shows (the MPA exchange, the SMBD negotiate, the queue pairs)
 * from the early part unless only the late one saw it. */
#ifndef SMBSCOPE_MSTATE_JOIN_RDMA_H
#define SMBSCOPE_MSTATE_JOIN_RDMA_H

#include <json-glib/json-glib.h>

#include <stdbool.h>

/* early, late: the parts' connections[] entries (smb_direct null: nothing;
 * swapped: late named the other side the client). */
void mstate_join_smb_direct(JsonObject *early, JsonObject *late, bool swapped);

struct conn_summary;
/* Before a RoCEv2 connection's parts are joined: a late part that first
 * saw the other side named its ports from that side's datagram (its
 * source port and 4791 the wrong way round), so its alternative-port
 * evidence and finding are not the connection's; early's stand. */
void mstate_join_roce_names(const struct conn_summary *early, struct conn_summary *late);

#endif
