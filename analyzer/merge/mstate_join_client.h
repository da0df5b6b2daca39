/* mstate_join_client.h - which rule named a joined connection's client
 * (connections[].client_rule).  A run names the client by the transport
 * (the SYN, QUIC, RoCEv2) when it can, else by the first NEGOTIATE, else by
 * the first SMB request, else by the higher port (session.c: name_client).
 * An early part that saw neither a NEGOTIATE nor a request (rule "port":
 * an SMB Direct startup alone) leaves the naming to what the later part saw,
 * as the run over both does; an early "smb-request" gives way to a
 * NEGOTIATE the later part saw. */
#ifndef SMBSCOPE_MSTATE_JOIN_CLIENT_H
#define SMBSCOPE_MSTATE_JOIN_CLIENT_H

#include <stdbool.h>

#include <json-glib/json-glib.h>

/* early, late: the parts' connections[] entries; swapped: late named the
 * other side the client (then the early naming stands: the whole would
 * name the other side, which a rule alone cannot say). */
void mstate_join_client_rule(JsonObject *early, JsonObject *late, bool swapped);

#endif
