/* libFuzzer harness: the security-blob decoders (SPNEGO/GSS-API DER,
 * NTLMSSP, OID rendering, UTF-16 conversion) on arbitrary bytes.
 *
 * Build by hand (from the repository root; no meson target yet):
 *   clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -Idissector \
 *     -o fuzz tests/fuzz/fuzz_gss.c dissector/smb/smb.c dissector/smb/smb1.c dissector/smb/smb2.c \
 *     dissector/smb/smb2_ctx.c dissector/auth/gss.c dissector/auth/ntlmssp.c dissector/utf16.c \
 *     dissector/smb/smb_tables.c dissector/smb/dialect.c
 * Seeds: the payloads of the .vec files in tests/unit/smb_vectors minus their 4-byte
 * transport header.
 */
#define _POSIX_C_SOURCE 200809L /* strnlen */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gss.h"
#include "ntlmssp.h"
#include "utf16.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *s, size_t cap)
{
    if (strnlen(s, cap) >= cap)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct smb_auth a;
    static struct ntlmssp_info n;
    char buf[64];

    gss_decode(data, size, &a);
    if (a.mech_count > GSS_MAX_MECHS)
        __builtin_trap();
    for (unsigned i = 0; i < a.mech_count; i++) {
        gss_oid_dotted(a.mechs[i].der, a.mechs[i].len, buf, sizeof buf);
        check_text(buf, sizeof buf);
    }
    check_text(a.ntlm.user.text, sizeof a.ntlm.user.text);

    /* the same bytes as an NTLMSSP message body after a forged signature */
    static uint8_t m[4096];
    if (size <= sizeof m - 8) {
        memcpy(m, "NTLMSSP", 8);
        memcpy(m + 8, data, size);
        ntlmssp_decode(m, size + 8, &n);
        check_text(n.domain.text, sizeof n.domain.text);
        check_text(n.nb_domain.text, sizeof n.nb_domain.text);
    }

    gss_oid_dotted(data, size, buf, sizeof buf);
    check_text(buf, sizeof buf);
    bool cut;
    utf16le_to_utf8(data, size, size & 1, buf, (size % sizeof buf) + 1, &cut);
    check_text(buf, sizeof buf);
    oem_to_utf8(data, size, false, buf, sizeof buf, &cut);
    check_text(buf, sizeof buf);
    return 0;
}
