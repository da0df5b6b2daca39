/* observe.h - first-pass folding of one packet's dissection into state. */
#ifndef SMBSCOPE_OBSERVE_H
#define SMBSCOPE_OBSERVE_H

#include "smbscope.h"

/* The state this packet belongs to (created when the packet is NetBIOS or
 * SMB-like), updated with the packet; NULL for packets of no interest.
 * *events receives the packet's enum frame_event bits. */
struct smbscope_conv *smbscope_observe(packet_info *pinfo, proto_tree *tree, guint32 *events);

/* Helpers shared with carriers.c. */
void smbscope_client_is_src(struct smbscope_conv *c, packet_info *pinfo, enum dir_strength s);
/* Packets per end (first packet's sender = end a). */
void smbscope_count_end(struct smbscope_conv *c, packet_info *pinfo);
/* The packet's NBSS, SMB1 and SMB2 fields into the connection (any carrier). */
void smbscope_observe_smb(struct smbscope_conv *c, packet_info *pinfo, proto_tree *tree, guint32 *events);

/* The protocol id state is filed under (postdissector.c). */
int smbscope_proto_id(void);

#endif
