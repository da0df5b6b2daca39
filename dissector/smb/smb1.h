/* smb1.h - SMB1 / CIFS header and the commands that tell how a connection
 * was set up: NEGOTIATE, SESSION_SETUP_ANDX, TREE_CONNECT_ANDX (MS-CIFS, MS-SMB). */
#ifndef SMBSCOPE_SMB1_H
#define SMBSCOPE_SMB1_H

#include "smb.h"
#include "wire.h"

#define SMB1_HEADER_LEN 32

/* msg: window over the whole message (starting at 0xFF 'SMB'). */
void smb1_decode(const struct wire *msg, const struct smb_run *run);

#endif
