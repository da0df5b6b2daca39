/* smb2_ctx_ref.h - the reference NEGOTIATE context walk (smb2_ctx_ref.c). */
#ifndef SMBSCOPE_SMB2_CTX_REF_H
#define SMBSCOPE_SMB2_CTX_REF_H

#include "smb2_ctx.h"

void smb2_ctx_decode_ref(const struct wire *pdu, size_t declared_len, uint32_t offset, uint16_t count,
                         size_t min_offset, struct smb2_neg_ctx_list *out);

#endif
