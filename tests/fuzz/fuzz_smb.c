/* libFuzzer harness: smb_decode_message() on arbitrary messages.
 *
 * Every callback reads every byte its struct points at, so ASan sees any view
 * that escapes msg.  Each input is decoded twice: as a whole message, and as
 * the prefix of a longer one (the transport announced more than arrived),
 * which exercises the truncated paths.
 *
 * Build by hand (from the repository root; no meson target yet):
 *   clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -Idissector \
 *     -o fuzz tests/fuzz/fuzz_smb.c dissector/smb/smb.c dissector/smb/smb1.c dissector/smb/smb2.c \
 *     dissector/smb/smb2_ctx.c dissector/auth/gss.c dissector/auth/ntlmssp.c dissector/utf16.c \
 *     dissector/smb/smb_tables.c dissector/smb/dialect.c dissector/auth/gss_memo.c
 * Seeds: the payloads of the .vec files in tests/unit/smb_vectors minus their 4-byte
 * transport header.
 */
#define _POSIX_C_SOURCE 200809L /* strnlen */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gss_memo.h"
#include "smb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned sink_sum;

static void touch(const uint8_t *p, size_t n)
{
    unsigned s = 0;
    for (size_t i = 0; p && i < n; i++)
        s += p[i];
    sink_sum += s;
}

static void touch_text(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    if (n >= cap)
        __builtin_trap(); /* every text buffer must be NUL-terminated */
    touch((const uint8_t *)s, n);
}

static void touch_auth(const struct smb_auth *a)
{
    touch_text(a->ntlm.user.text, sizeof a->ntlm.user.text);
    touch_text(a->ntlm.domain.text, sizeof a->ntlm.domain.text);
    touch_text(a->ntlm.workstation.text, sizeof a->ntlm.workstation.text);
    touch_text(a->ntlm.target_name.text, sizeof a->ntlm.target_name.text);
    touch_text(a->ntlm.dns_computer.text, sizeof a->ntlm.dns_computer.text);
    for (unsigned i = 0; i < a->mech_count; i++) {
        char dotted[128];
        gss_oid_dotted(a->mechs[i].der, a->mechs[i].len, dotted, sizeof dotted);
        touch_text(dotted, sizeof dotted);
    }
}

static void touch_ctx(const struct smb2_neg_ctx_list *l)
{
    if (l->stored > SMB2_CTX_MAX_ITEMS || strnlen(l->netname, sizeof l->netname) >= sizeof l->netname)
        __builtin_trap(); /* the netname is always a string (smb2_ctx.h) */
    if (l->has_netname)
        touch_text(l->netname, sizeof l->netname);
}

static void on_neg1(void *c, const struct smb1_header_info *h, const struct smb1_negotiate_request *r)
{
    for (unsigned i = 0; i < r->count; i++)
        touch(r->dialects[i].p, r->dialects[i].len);
}
static void on_negr1(void *c, const struct smb1_header_info *h, const struct smb1_negotiate_response *r)
{
    touch(r->security_blob.p, r->security_blob.len);
    touch_auth(&r->auth);
}
static void on_ss1(void *c, const struct smb1_header_info *h, const struct smb1_session_setup_request *r)
{
    touch(r->security_blob.p, r->security_blob.len);
    touch_auth(&r->auth);
    touch_text(r->account.text, sizeof r->account.text);
    touch_text(r->native_lanman.text, sizeof r->native_lanman.text);
}
static void on_ssr1(void *c, const struct smb1_header_info *h, const struct smb1_session_setup_response *r)
{
    touch(r->security_blob.p, r->security_blob.len);
    touch_auth(&r->auth);
    touch_text(r->domain.text, sizeof r->domain.text);
}
static void on_tc1(void *c, const struct smb1_header_info *h, const struct smb1_tree_connect_request *r)
{
    touch_text(r->path, sizeof r->path);
    touch_text(r->service, sizeof r->service);
}
static void on_tcr1(void *c, const struct smb1_header_info *h, const struct smb1_tree_connect_response *r)
{
    touch_text(r->service, sizeof r->service);
    touch_text(r->native_fs.text, sizeof r->native_fs.text);
}
static void on_neg2(void *c, const struct smb2_header_info *h, const struct smb2_negotiate_request *r)
{
    if (r->dialects_stored > SMB2_MAX_DIALECTS)
        __builtin_trap();
    touch_ctx(&r->contexts);
}
static void on_negr2(void *c, const struct smb2_header_info *h, const struct smb2_negotiate_response *r)
{
    touch(r->security_buffer.p, r->security_buffer.len);
    touch_auth(r->auth);
    touch_ctx(&r->contexts);
}
static void on_ss2(void *c, const struct smb2_header_info *h, const struct smb2_session_setup_request *r)
{
    touch(r->security_buffer.p, r->security_buffer.len);
    touch_auth(&r->auth);
}
static void on_ssr2(void *c, const struct smb2_header_info *h, const struct smb2_session_setup_response *r)
{
    touch(r->security_buffer.p, r->security_buffer.len);
    touch_auth(&r->auth);
}
static void on_tc2(void *c, const struct smb2_header_info *h, const struct smb2_tree_connect_request *r)
{
    touch_text(r->path, sizeof r->path);
}
static void on_anomaly(void *c, const struct smb_anomaly *a)
{
    touch_text(a->reason, 256);
}

/* The NEGOTIATE response's blobs go through a memo, emptied per input (so
 * a crash replays from its input alone): the whole message fills it, the
 * prefix decode may hit it. */
static struct gss_memo memo;
static struct gss_memo *on_memo(void *c)
{
    (void)c;
    return &memo;
}

static const struct smb_sink sink = {
    .smb1_negotiate_request = on_neg1,
    .smb1_negotiate_response = on_negr1,
    .smb1_session_setup_request = on_ss1,
    .smb1_session_setup_response = on_ssr1,
    .smb1_tree_connect_request = on_tc1,
    .smb1_tree_connect_response = on_tcr1,
    .smb2_negotiate_request = on_neg2,
    .smb2_negotiate_response = on_negr2,
    .smb2_session_setup_request = on_ss2,
    .smb2_session_setup_response = on_ssr2,
    .smb2_tree_connect_request = on_tc2,
    .anomaly = on_anomaly,
    .negotiate_memo = on_memo,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 0x00FFFFFF)
        return 0;
    memset(&memo, 0, sizeof memo);
    smb_decode_message(data, size, (uint32_t)size, &sink, NULL);
    uint32_t more = size ? (uint32_t)data[size - 1] * 61u + 1u : 1u;
    smb_decode_message(data, size, (uint32_t)size + more, &sink, NULL);
    return 0;
}
