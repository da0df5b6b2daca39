/* mstate_join_smbd.c - see mstate_join_smbd.h. */
#include "mstate_join_smbd.h"

#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "jget.h"
#include "mstate_xchg.h"
#include "smb.h"

/* The request side of a SESSION_SETUP (session_shares.c: what
 * auth_remember() reads of it; an empty blob is none). */
static void on_setup_request(void *ctx, const struct smb2_header_info *h, const struct smb2_session_setup_request *r)
{
    (void)h;
    struct xchg_auth *out = ctx;
    if (r->auth.framing != GSS_FRAMING_EMPTY && !out->have)
        xchg_auth_of(out, &r->auth);
}

void mstate_smbd_decode(struct analysis *a, const struct conn_summary *early, const uint8_t *msg, size_t n)
{
    static const struct smb_sink sink = { .smb2_session_setup_request = on_setup_request };
    struct xchg_auth blob;
    memset(&blob, 0, sizeof blob);
    if (n > UINT32_MAX)
        return;
    smb_decode_message(msg, n, (uint32_t)n, &sink, &blob);
    if (blob.have)
        mstate_xchg_request_blob(a, early, &blob);
}

uint8_t *smbd_get_hex(const char *s, size_t max, size_t *n)
{
    *n = 0;
    uint8_t *out = s ? g_malloc(strlen(s) / 2 + 1) : NULL;
    if (out && !jget_hex(s, out, max, n)) {
        g_free(out);
        *n = 0;
        return NULL;
    }
    return out;
}
