/* gss.h - what authentication a security blob carries.
 *
 * The SMB security buffer holds SPNEGO (RFC 4178) inside GSS-API framing
 * (RFC 2743 3.1), a bare NegTokenResp, raw NTLMSSP or a bare Kerberos token.
 * gss_decode() reads it with a small DER reader (definite lengths only, depth
 * bounded) and reports the mechanism, the mech list offered, the chosen mech
 * and the NTLM identity when NTLMSSP rides inside. */
#ifndef SMBSCOPE_GSS_H
#define SMBSCOPE_GSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ntlmssp.h"

#define GSS_MAX_MECHS 8
#define GSS_MAX_DEPTH 8
#define GSS_OID_MAX 32 /* bytes of encoded OID kept */
#define GSS_KRB5_NAME_MAX 128

enum auth_mech {
    AUTH_MECH_NONE = 0,  /* empty blob */
    AUTH_MECH_UNKNOWN,
    AUTH_MECH_KERBEROS,
    AUTH_MECH_NTLM,
    AUTH_MECH_NEGOEX,
};

enum gss_oid_id {
    GSS_OID_OTHER = 0,
    GSS_OID_SPNEGO,
    GSS_OID_KRB5,
    GSS_OID_MS_KRB5,
    GSS_OID_KRB5_U2U,
    GSS_OID_NTLMSSP,
    GSS_OID_NEGOEX,
};

enum gss_framing {
    GSS_FRAMING_EMPTY = 0,
    GSS_FRAMING_SPNEGO_INIT,   /* 0x60 + SPNEGO OID + NegTokenInit (or 0xa0 bare) */
    GSS_FRAMING_SPNEGO_RESP,   /* NegTokenResp (0xa1) */
    GSS_FRAMING_NTLMSSP,       /* raw "NTLMSSP\0" */
    GSS_FRAMING_KRB5,          /* 0x60 + Kerberos OID, no SPNEGO */
    GSS_FRAMING_UNKNOWN,
};

enum gss_status {
    GSS_OK = 0,
    GSS_TRUNCATED,   /* a DER length runs past the blob */
    GSS_MALFORMED,   /* bad tag, indefinite length, too deep, bad OID */
};

struct gss_oid {
    uint8_t der[GSS_OID_MAX]; /* content octets (no tag/length) */
    uint8_t len;              /* 0 when the OID was longer than GSS_OID_MAX */
    enum gss_oid_id id;
};

struct smb_auth {
    enum gss_status status;
    const char *reason;            /* static text when status != GSS_OK */
    enum gss_framing framing;
    enum auth_mech mech;           /* the mechanism actually carried / chosen */
    struct gss_oid mechs[GSS_MAX_MECHS]; /* NegTokenInit mechTypes, wire order */
    uint8_t mech_count;            /* stored */
    uint16_t mech_total;           /* seen on the wire */
    bool has_supported_mech;       /* NegTokenResp supportedMech */
    struct gss_oid supported_mech;
    int neg_state;                 /* NegTokenResp negState, -1 when absent */
    bool has_mech_token;           /* mechToken / responseToken present */
    bool krb5_ap_req;              /* Kerberos token id 0x0100 seen */
    bool krb5_ap_rep;              /* Kerberos token id 0x0200 seen */
    bool krb5_error;               /* Kerberos token id 0x0300 seen */
    int krb5_error_code;           /* KRB-ERROR error-code (RFC 4120 7.5.9), -1 when absent */
    /* From the AP-REQ's (unencrypted) ticket, RFC 4120 5.3 / 5.5.1, or from a
     * KRB-ERROR (5.9.1): */
    char krb5_realm[GSS_KRB5_NAME_MAX];  /* "EXAMPLE.COM", "" when absent */
    char krb5_sname[GSS_KRB5_NAME_MAX];  /* service principal, components joined by '/' */
    bool krb5_names_truncated;
    struct ntlmssp_info ntlm;      /* status NTLMSSP_ABSENT unless NTLMSSP seen */
};

/* Decode a security blob.  Never fails hard: out->status says what went wrong
 * and whatever was read before the fault is kept. */
void gss_decode(const uint8_t *blob, size_t len, struct smb_auth *out);

/* Mechanism of an OID id (GSS_OID_KRB5 -> AUTH_MECH_KERBEROS, ...). */
enum auth_mech gss_oid_mech(enum gss_oid_id id);

/* Short names: "kerberos", "ntlm", "negoex", "unknown", "none". */
const char *auth_mech_name(enum auth_mech m);
/* "empty", "spnego-init", "spnego-resp", "ntlmssp", "krb5", "unknown". */
const char *gss_framing_name(enum gss_framing f);

/* "spnego", "krb5", "ms-krb5", "krb5-u2u", "ntlmssp", "negoex", NULL for OTHER. */
const char *gss_oid_name(enum gss_oid_id id);

/* Dotted form of an OID's content octets into buf (always NUL-terminated);
 * false when the encoding is invalid or too long for buf. */
bool gss_oid_dotted(const uint8_t *der, size_t len, char *buf, size_t buflen);

#endif
