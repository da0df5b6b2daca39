/* gss.c - SPNEGO / GSS-API / Kerberos / NEGOEX detection over a bounded DER
 * reader (X.690 definite-length subset: what RFC 4178 and RFC 4121 need). */
#include "gss.h"

#include <stdio.h>
#include <string.h>

#include "utf16.h"
#include "wire.h"

/* Known mechanism OIDs, as DER content octets. */
static const struct {
    enum gss_oid_id id;
    const char *name;
    uint8_t len;
    uint8_t der[10];
} known_oids[] = {
    { GSS_OID_SPNEGO, "spnego", 6, { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02 } },                       /* 1.3.6.1.5.5.2 */
    { GSS_OID_KRB5, "krb5", 9, { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02 } },        /* 1.2.840.113554.1.2.2 */
    { GSS_OID_MS_KRB5, "ms-krb5", 9, { 0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02 } },  /* 1.2.840.48018.1.2.2 */
    { GSS_OID_KRB5_U2U, "krb5-u2u", 10, { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x03 } }, /* 1.2.840.113554.1.2.2.3 */
    { GSS_OID_NTLMSSP, "ntlmssp", 10, { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a } },   /* 1.3.6.1.4.1.311.2.2.10 */
    { GSS_OID_NEGOEX, "negoex", 10, { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x1e } },    /* 1.3.6.1.4.1.311.2.2.30 */
};

/* NEGOEX messages start with the 8-byte signature "NEGOEXTS" (MS-NEGOEX 2.2.6.1). */
static const uint8_t negoex_sig[8] = { 'N', 'E', 'G', 'O', 'E', 'X', 'T', 'S' };

enum {
    DER_OID = 0x06,
    DER_OCTET_STRING = 0x04,
    DER_ENUMERATED = 0x0a,
    DER_SEQUENCE = 0x30,
    DER_APPLICATION_0 = 0x60,
    DER_CTX_0 = 0xa0,
    DER_CTX_1 = 0xa1,
    DER_CTX_2 = 0xa2,
};

const char *auth_mech_name(enum auth_mech m)
{
    static const char *const names[] = { "none", "unknown", "kerberos", "ntlm", "negoex" };
    return (unsigned)m < sizeof names / sizeof names[0] ? names[m] : "unknown";
}

const char *gss_framing_name(enum gss_framing f)
{
    static const char *const names[] = { "empty", "spnego-init", "spnego-resp", "ntlmssp", "krb5", "unknown" };
    return (unsigned)f < sizeof names / sizeof names[0] ? names[f] : "unknown";
}

const char *gss_oid_name(enum gss_oid_id id)
{
    for (size_t i = 0; i < sizeof known_oids / sizeof known_oids[0]; i++)
        if (known_oids[i].id == id)
            return known_oids[i].name;
    return NULL;
}

enum auth_mech gss_oid_mech(enum gss_oid_id id)
{
    switch (id) {
    case GSS_OID_KRB5:
    case GSS_OID_MS_KRB5:
    case GSS_OID_KRB5_U2U:
        return AUTH_MECH_KERBEROS;
    case GSS_OID_NTLMSSP:
        return AUTH_MECH_NTLM;
    case GSS_OID_NEGOEX:
        return AUTH_MECH_NEGOEX;
    default:
        return AUTH_MECH_UNKNOWN;
    }
}

static enum gss_oid_id classify_oid(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < sizeof known_oids / sizeof known_oids[0]; i++)
        if (known_oids[i].len == len && memcmp(known_oids[i].der, p, len) == 0)
            return known_oids[i].id;
    return GSS_OID_OTHER;
}

bool gss_oid_dotted(const uint8_t *der, size_t len, char *buf, size_t buflen)
{
    if (!buf || buflen == 0)
        return false;
    buf[0] = '\0';
    if (!der || len == 0)
        return false;
    struct wire w = wire_make(der, len);
    size_t used = 0;
    bool first = true;
    while (wire_left(&w)) {
        uint64_t v = 0;
        int n = 0;
        uint8_t b;
        do {
            b = wire_u8(&w);
            if (++n > 9 || (n == 1 && b == 0x80)) /* > 63 bits, or non-minimal */
                return false;
            v = (v << 7) | (b & 0x7f);
        } while ((b & 0x80) && wire_ok(&w) && wire_left(&w));
        if (b & 0x80)
            return false; /* last octet still says "more" */
        int k;
        if (first) {
            unsigned top = v < 40 ? 0 : v < 80 ? 1 : 2;
            k = snprintf(buf + used, buflen - used, "%u.%llu", top,
                         (unsigned long long)(v - 40u * top));
            first = false;
        } else {
            k = snprintf(buf + used, buflen - used, ".%llu", (unsigned long long)v);
        }
        if (k < 0 || (size_t)k >= buflen - used) {
            buf[used] = '\0';
            return false;
        }
        used += (size_t)k;
    }
    return true;
}

/* ---- DER reader ------------------------------------------------------- */

struct der_tlv {
    uint8_t tag;
    struct wire content;
};

static void fault(struct smb_auth *out, enum gss_status s, const char *why)
{
    if (out->status == GSS_OK) {
        out->status = s;
        out->reason = why;
    }
}

/* Read one TLV from w.  Single-octet tags, definite lengths of at most four
 * length octets; anything else is reported and stops the walk. */
static bool der_next(struct wire *w, struct der_tlv *t, struct smb_auth *out)
{
    if (wire_left(w) == 0)
        return false;
    t->tag = wire_u8(w);
    if ((t->tag & 0x1f) == 0x1f) {
        fault(out, GSS_MALFORMED, "DER high-tag-number form");
        return false;
    }
    uint8_t l = wire_u8(w);
    size_t len = l;
    if (l == 0x80) {
        fault(out, GSS_MALFORMED, "DER indefinite length");
        return false;
    }
    if (l > 0x80) {
        unsigned n = l & 0x7f;
        if (n > 4) {
            fault(out, GSS_MALFORMED, "DER length of more than four octets");
            return false;
        }
        len = 0;
        for (unsigned i = 0; i < n; i++)
            len = (len << 8) | wire_u8(w);
    }
    if (!wire_ok(w)) {
        fault(out, GSS_TRUNCATED, "DER header cut short");
        return false;
    }
    if (!wire_has(w, len)) {
        fault(out, GSS_TRUNCATED, "DER length runs past the blob");
        return false;
    }
    t->content = wire_sub(w, len);
    return true;
}

/* Read a TLV that must have the given tag. */
static bool der_expect(struct wire *w, uint8_t tag, struct der_tlv *t, struct smb_auth *out)
{
    if (!der_next(w, t, out))
        return false;
    if (t->tag != tag) {
        fault(out, GSS_MALFORMED, "unexpected DER tag");
        return false;
    }
    return true;
}

static void keep_oid(const struct der_tlv *t, struct gss_oid *o)
{
    size_t n = t->content.len;
    memset(o, 0, sizeof *o);
    o->id = classify_oid(t->content.p, n);
    if (n <= GSS_OID_MAX) {
        o->len = (uint8_t)n;
        if (n)
            memcpy(o->der, t->content.p, n);
    }
}

/* ---- Kerberos AP-REQ ticket names (RFC 4120 5.3, 5.5.1) ----------------- */

enum {
    DER_GENERAL_STRING = 0x1b,
    KRB_AP_REQ = 0x6e,   /* [APPLICATION 14] */
    KRB_TICKET = 0x61,   /* [APPLICATION 1] */
    KRB_ERROR = 0x7e,    /* [APPLICATION 30] */
    DER_INTEGER = 0x02,
    DER_CTX_3 = 0xa3,
    DER_CTX_6 = 0xa6,
    DER_CTX_9 = 0xa9,
    DER_CTX_10 = 0xaa,
};

/* Find the element with the given context tag inside a SEQUENCE's content. */
static bool der_field(struct wire seq, uint8_t tag, struct der_tlv *out_tlv, struct smb_auth *out)
{
    struct der_tlv t;
    while (der_next(&seq, &t, out))
        if (t.tag == tag) {
            *out_tlv = t;
            return true;
        }
    return false;
}

static void append_name(char *dst, size_t cap, const struct wire *s, bool sep, bool *truncated)
{
    size_t used = strlen(dst); /* dst is ours and always NUL-terminated */
    if (sep && used + 1 < cap) {
        dst[used++] = '/';
        dst[used] = '\0';
    } else if (sep) {
        *truncated = true;
        return;
    }
    bool cut = false;
    oem_to_utf8(s->p, s->len, false, dst + used, cap - used, &cut);
    *truncated |= cut;
}

/* realm (GeneralString) and sname (PrincipalName) fields of a SEQUENCE. */
static void krb5_names(struct wire seq, uint8_t realm_tag, uint8_t sname_tag, struct smb_auth *out)
{
    struct der_tlv realm, rs, sname, sseq, strings, list, comp;
    if (der_field(seq, realm_tag, &realm, out) && der_expect(&realm.content, DER_GENERAL_STRING, &rs, out))
        append_name(out->krb5_realm, sizeof out->krb5_realm, &rs.content, false, &out->krb5_names_truncated);
    /* PrincipalName ::= SEQUENCE { name-type [0], name-string [1] SEQUENCE OF KerberosString } */
    if (der_field(seq, sname_tag, &sname, out) && der_expect(&sname.content, DER_SEQUENCE, &sseq, out)
        && der_field(sseq.content, DER_CTX_1, &strings, out) && der_expect(&strings.content, DER_SEQUENCE, &list, out)) {
        bool first = true;
        for (int i = 0; i < 8 && der_next(&list.content, &comp, out); i++) {
            if (comp.tag != DER_GENERAL_STRING)
                break;
            append_name(out->krb5_sname, sizeof out->krb5_sname, &comp.content, !first, &out->krb5_names_truncated);
            first = false;
        }
    }
}

/* KRB-ERROR ::= [APPLICATION 30] SEQUENCE { ..., error-code [6], ..., realm [9], sname [10], ... } */
static void krb5_error_fields(struct wire w, struct smb_auth *out)
{
    struct der_tlv e, seq, code, v;
    if (!der_expect(&w, KRB_ERROR, &e, out) || !der_expect(&e.content, DER_SEQUENCE, &seq, out))
        return;
    if (der_field(seq.content, DER_CTX_6, &code, out) && der_expect(&code.content, DER_INTEGER, &v, out)
        && v.content.len >= 1 && v.content.len <= 3) {
        int n = 0;
        while (wire_left(&v.content))
            n = (n << 8) | wire_u8(&v.content);
        out->krb5_error_code = n;
    }
    krb5_names(seq.content, DER_CTX_9, DER_CTX_10, out);
}

/* AP-REQ ::= [APPLICATION 14] SEQUENCE { ..., ticket [3] Ticket, ... }
 * Ticket ::= [APPLICATION 1] SEQUENCE { tkt-vno [0], realm [1], sname [2], enc-part [3] } */
static void krb5_ap_req_names(struct wire w, struct smb_auth *out)
{
    struct der_tlv ap, seq, tf, tk, tseq;
    if (!der_expect(&w, KRB_AP_REQ, &ap, out) || !der_expect(&ap.content, DER_SEQUENCE, &seq, out))
        return;
    if (!der_field(seq.content, DER_CTX_3, &tf, out) || !der_expect(&tf.content, KRB_TICKET, &tk, out)
        || !der_expect(&tk.content, DER_SEQUENCE, &tseq, out))
        return;
    krb5_names(tseq.content, DER_CTX_1, DER_CTX_2, out);
}

/* ---- SPNEGO ----------------------------------------------------------- */

static enum auth_mech analyze_token(struct wire tok, struct smb_auth *out, int depth);
static void negotiation_token(struct wire *w, struct smb_auth *out, int depth);

/* NegTokenInit ::= SEQUENCE { mechTypes [0], reqFlags [1], mechToken [2], mechListMIC [3] } */
static enum auth_mech neg_token_init(struct wire seq, struct smb_auth *out, int depth)
{
    struct der_tlv t;
    enum auth_mech tok_mech = AUTH_MECH_NONE;
    while (der_next(&seq, &t, out)) {
        if (t.tag == DER_CTX_0) {
            struct der_tlv list, oid;
            if (!der_expect(&t.content, DER_SEQUENCE, &list, out))
                break;
            while (der_next(&list.content, &oid, out)) {
                if (oid.tag != DER_OID) {
                    fault(out, GSS_MALFORMED, "mechTypes element is not an OID");
                    break;
                }
                if (out->mech_total < UINT16_MAX)
                    out->mech_total++;
                if (out->mech_count < GSS_MAX_MECHS)
                    keep_oid(&oid, &out->mechs[out->mech_count++]);
            }
        } else if (t.tag == DER_CTX_2) {
            struct der_tlv os;
            if (der_expect(&t.content, DER_OCTET_STRING, &os, out)) {
                out->has_mech_token = true;
                tok_mech = analyze_token(os.content, out, depth + 1);
            }
        }
        /* reqFlags, mechListMIC and negHints (MS-SPNG) carry nothing we report */
    }
    return tok_mech;
}

/* NegTokenResp ::= SEQUENCE { negState [0], supportedMech [1], responseToken [2], mechListMIC [3] } */
static enum auth_mech neg_token_resp(struct wire seq, struct smb_auth *out, int depth)
{
    struct der_tlv t, v;
    enum auth_mech tok_mech = AUTH_MECH_NONE;
    while (der_next(&seq, &t, out)) {
        if (t.tag == DER_CTX_0) {
            if (der_expect(&t.content, DER_ENUMERATED, &v, out)) {
                int st = 0;
                for (size_t i = 0; i < v.content.len && i < 2; i++)
                    st = (st << 8) | wire_u8(&v.content);
                out->neg_state = st;
            }
        } else if (t.tag == DER_CTX_1) {
            if (der_expect(&t.content, DER_OID, &v, out)) {
                out->has_supported_mech = true;
                keep_oid(&v, &out->supported_mech);
            }
        } else if (t.tag == DER_CTX_2) {
            if (der_expect(&t.content, DER_OCTET_STRING, &v, out)) {
                out->has_mech_token = true;
                tok_mech = analyze_token(v.content, out, depth + 1);
            }
        }
    }
    return tok_mech;
}

static enum auth_mech choose(enum auth_mech tok_mech, const struct smb_auth *out)
{
    if (tok_mech != AUTH_MECH_NONE && tok_mech != AUTH_MECH_UNKNOWN)
        return tok_mech;
    if (out->has_supported_mech)
        return gss_oid_mech(out->supported_mech.id);
    if (out->mech_count)
        return gss_oid_mech(out->mechs[0].id); /* the initiator's preferred mech */
    return tok_mech == AUTH_MECH_NONE ? AUTH_MECH_UNKNOWN : tok_mech;
}

/* NegotiationToken ::= CHOICE { negTokenInit [0], negTokenResp [1] } */
static void negotiation_token(struct wire *w, struct smb_auth *out, int depth)
{
    struct der_tlv t, seq;
    if (depth > GSS_MAX_DEPTH) {
        fault(out, GSS_MALFORMED, "GSS tokens nested too deep");
        return;
    }
    if (!der_next(w, &t, out))
        return;
    if (t.tag != DER_CTX_0 && t.tag != DER_CTX_1) {
        fault(out, GSS_MALFORMED, "SPNEGO token is neither NegTokenInit nor NegTokenResp");
        return;
    }
    if (out->framing == GSS_FRAMING_EMPTY || out->framing == GSS_FRAMING_UNKNOWN)
        out->framing = t.tag == DER_CTX_0 ? GSS_FRAMING_SPNEGO_INIT : GSS_FRAMING_SPNEGO_RESP;
    if (!der_expect(&t.content, DER_SEQUENCE, &seq, out))
        return;
    enum auth_mech m = t.tag == DER_CTX_0 ? neg_token_init(seq.content, out, depth)
                                          : neg_token_resp(seq.content, out, depth);
    out->mech = choose(m, out);
}

/* What a mechToken / responseToken (or a whole blob) carries. */
static enum auth_mech analyze_token(struct wire tok, struct smb_auth *out, int depth)
{
    if (depth > GSS_MAX_DEPTH) {
        fault(out, GSS_MALFORMED, "GSS tokens nested too deep");
        return AUTH_MECH_UNKNOWN;
    }
    if (wire_left(&tok) == 0)
        return AUTH_MECH_NONE;
    if (ntlmssp_is(tok.p, tok.len)) {
        ntlmssp_decode(tok.p, tok.len, &out->ntlm);
        return AUTH_MECH_NTLM;
    }
    if (tok.len >= sizeof negoex_sig && memcmp(tok.p, negoex_sig, sizeof negoex_sig) == 0)
        return AUTH_MECH_NEGOEX;
    uint8_t first = wire_peek_u8(&tok, 0);
    if (first == DER_CTX_0 || first == DER_CTX_1) {
        /* a bare NegotiationToken nested in a token: unusual but legal framing */
        negotiation_token(&tok, out, depth + 1);
        return out->mech;
    }
    if (first != DER_APPLICATION_0)
        return AUTH_MECH_UNKNOWN;
    /* InitialContextToken ::= [APPLICATION 0] IMPLICIT SEQUENCE { thisMech OID, innerToken } */
    struct der_tlv app, oid;
    if (!der_expect(&tok, DER_APPLICATION_0, &app, out) || !der_expect(&app.content, DER_OID, &oid, out))
        return AUTH_MECH_UNKNOWN;
    enum gss_oid_id id = classify_oid(oid.content.p, oid.content.len);
    if (id == GSS_OID_SPNEGO) {
        negotiation_token(&app.content, out, depth + 1);
        return out->mech;
    }
    enum auth_mech m = gss_oid_mech(id);
    if (m == AUTH_MECH_KERBEROS) {
        /* RFC 4121 4.1: a two-octet TOK_ID follows the mech OID */
        uint16_t tok_id = wire_u16be(&app.content);
        if (wire_ok(&app.content)) {
            if (tok_id == 0x0100 && !out->krb5_ap_req)
                krb5_ap_req_names(app.content, out);
            if (tok_id == 0x0300 && !out->krb5_error)
                krb5_error_fields(app.content, out);
            out->krb5_ap_req |= tok_id == 0x0100;
            out->krb5_ap_rep |= tok_id == 0x0200;
            out->krb5_error |= tok_id == 0x0300;
        }
    } else if (m == AUTH_MECH_NTLM) {
        struct wire rest = app.content;
        size_t n = wire_left(&rest);
        const uint8_t *q = wire_bytes(&rest, n);
        if (ntlmssp_is(q, n))
            ntlmssp_decode(q, n, &out->ntlm);
    }
    return m;
}

void gss_decode(const uint8_t *blob, size_t len, struct smb_auth *out)
{
    memset(out, 0, sizeof *out);
    out->neg_state = -1;
    out->krb5_error_code = -1;
    struct wire w = wire_make(blob, len);
    if (wire_left(&w) == 0) {
        out->framing = GSS_FRAMING_EMPTY;
        out->mech = AUTH_MECH_NONE;
        return;
    }
    if (ntlmssp_is(w.p, w.len)) {
        out->framing = GSS_FRAMING_NTLMSSP;
        out->mech = AUTH_MECH_NTLM;
        ntlmssp_decode(w.p, w.len, &out->ntlm);
        return;
    }
    uint8_t first = wire_peek_u8(&w, 0);
    if (first == DER_CTX_0 || first == DER_CTX_1) {
        negotiation_token(&w, out, 0);
        return;
    }
    out->framing = GSS_FRAMING_UNKNOWN;
    enum auth_mech m = analyze_token(w, out, 0);
    if (out->framing == GSS_FRAMING_UNKNOWN && m == AUTH_MECH_KERBEROS)
        out->framing = GSS_FRAMING_KRB5;
    if (out->framing == GSS_FRAMING_UNKNOWN && m == AUTH_MECH_NTLM)
        out->framing = GSS_FRAMING_NTLMSSP;
    if (out->framing == GSS_FRAMING_UNKNOWN || out->mech == AUTH_MECH_NONE)
        out->mech = m == AUTH_MECH_NONE ? AUTH_MECH_UNKNOWN : m;
}
