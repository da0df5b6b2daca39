/* smb2.h - SMB2/3 sync/async headers, compound chains and the NEGOTIATE,
 * SESSION_SETUP and TREE_CONNECT bodies (MS-SMB2 2.2). */
#ifndef SMBSCOPE_SMB2_H
#define SMBSCOPE_SMB2_H

#include "smb.h"
#include "wire.h"

#define SMB2_HEADER_LEN 64
#define SMB2_FLAGS_END 20 /* ProtocolId .. Flags: the part of a header worth a cut one */

/* msg: window over the whole message (starting at 0xFE 'SMB'). */
void smb2_decode(const struct wire *msg, const struct smb_run *run);

/* 0xFD and 0xFC transform headers. */
void smb2_decode_transform(const struct wire *msg, const struct smb_run *run);
void smb2_decode_compression(const struct wire *msg, const struct smb_run *run);

#endif
