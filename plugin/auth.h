/* auth.h - a connection's logons, settled as the command's session table
 * settles them (auth.c). */
#ifndef SMBSCOPE_PLUGIN_AUTH_H
#define SMBSCOPE_PLUGIN_AUTH_H

#include "smbscope.h"

/* A SESSION_SETUP request (smb2: SMB2, else SMB1): remember its blob. */
void smbscope_auth_request(struct smbscope_conv *c, proto_tree *tree, bool smb2);
/* A successful SESSION_SETUP response: one established session. */
void smbscope_auth_settle(struct smbscope_conv *c, proto_tree *tree, bool smb2, bool null_session, bool guest);

#endif
