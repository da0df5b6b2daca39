/* ntlmssp.h - NTLMSSP messages (MS-NLMP 2.2.1): who authenticates with NTLM.
 *
 * Decodes NEGOTIATE (1), CHALLENGE (2) and AUTHENTICATE (3) from a bounded
 * view; names are converted to UTF-8 into fixed buffers inside the struct. */
#ifndef SMBSCOPE_NTLMSSP_H
#define SMBSCOPE_NTLMSSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NTLMSSP_NAME_MAX 128 /* bytes of UTF-8 incl. NUL */

enum ntlmssp_status {
    NTLMSSP_ABSENT = 0,   /* not an NTLMSSP message */
    NTLMSSP_OK,
    NTLMSSP_TRUNCATED,    /* a field points past the end of the blob */
    NTLMSSP_MALFORMED,    /* unknown message type or impossible field */
};

enum {
    NTLMSSP_NEGOTIATE_UNICODE_FLAG = 0x00000001,
    NTLMSSP_NEGOTIATE_SIGN_FLAG = 0x00000010,
    NTLMSSP_NEGOTIATE_SEAL_FLAG = 0x00000020,
    NTLMSSP_ANONYMOUS_FLAG = 0x00000800,
    NTLMSSP_NEGOTIATE_KEY_EXCH_FLAG = 0x40000000,
};

struct ntlmssp_name {
    char text[NTLMSSP_NAME_MAX];
    bool present;    /* the field was non-empty on the wire */
    bool truncated;  /* text was cut to fit */
};

struct ntlmssp_info {
    enum ntlmssp_status status;
    uint32_t msg_type;       /* 1, 2, 3 (other values: MALFORMED) */
    uint32_t flags;          /* NegotiateFlags */
    /* AUTHENTICATE */
    struct ntlmssp_name user, domain, workstation;
    uint16_t lm_response_len, nt_response_len;
    bool anonymous;          /* MS-NLMP 3.2.5.1.2 anonymous test */
    /* CHALLENGE */
    struct ntlmssp_name target_name;
    struct ntlmssp_name nb_computer, nb_domain, dns_computer, dns_domain; /* AV pairs */
    const char *reason;      /* static text when status is not OK */
};

/* True when the bytes start with "NTLMSSP\0". */
bool ntlmssp_is(const uint8_t *p, size_t len);

/* Decode one message.  out is fully reset first. */
enum ntlmssp_status ntlmssp_decode(const uint8_t *p, size_t len, struct ntlmssp_info *out);

#endif
