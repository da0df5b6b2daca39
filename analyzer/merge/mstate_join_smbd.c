/* mstate_join_smbd.c - see mstate_join_smbd.h. */
#include "mstate_join_smbd.h"

#include <stdio.h>
#include <string.h>

#include <glib.h>

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

void smbd_put_hex(struct json *b, const uint8_t *p, size_t n)
{
    char *s = g_malloc(2 * n + 1);
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        s[2 * i] = digits[p[i] >> 4];
        s[2 * i + 1] = digits[p[i] & 15];
    }
    s[2 * n] = 0;
    json_str(b, s);
    g_free(s);
}

uint8_t *smbd_get_hex(const char *s, size_t max, size_t *n)
{
    size_t len = s ? strlen(s) : 0;
    *n = 0;
    if (!s || len % 2 || len / 2 > max)
        return NULL;
    uint8_t *out = g_malloc(len / 2 + 1);
    for (size_t i = 0; i < len; i += 2) {
        int hi = g_ascii_xdigit_value(s[i]), lo = g_ascii_xdigit_value(s[i + 1]);
        if (hi < 0 || lo < 0) {
            g_free(out);
            return NULL;
        }
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    *n = len / 2;
    return out;
}
