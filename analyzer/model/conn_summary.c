/* conn_summary.c - see conn_summary.h. */
#include "conn_summary.h"

#include <stddef.h>
#include <string.h>

#include "dialect.h"
#include "fmt.h"
#include "session.h"
#include "verdict.h"

const char *conn_carrier_name(enum conn_carrier c)
{
    static const char *const names[CONN_CARRIER_COUNT] = { "tcp", "quic", "udp" };
    return (unsigned)c < CONN_CARRIER_COUNT ? names[c] : "tcp";
}

const char *conn_signing_name(enum conn_signing s)
{
    static const char *const names[] = { NULL, "disabled", "enabled", "required" };
    return (unsigned)s < G_N_ELEMENTS(names) ? names[s] : NULL;
}

const char *conn_gap_name(enum conn_gap g)
{
    static const char *const names[CONN_GAP_COUNT] = { "mid-stream", "content-lost", "negotiate-not-decoded",
                                                       "logon-not-seen", "no-keys" };
    return (unsigned)g < CONN_GAP_COUNT ? names[g] : "mid-stream";
}

const char *conn_summary_auth_text(uint8_t auth, uint8_t auth_mech)
{
    static const char *const names[CONN_AUTH_COUNT] = { "-", "anonymous", "guest", NULL, NULL, NULL };
    if (auth == CONN_AUTH_KERBEROS)
        return auth_mech_name(AUTH_MECH_KERBEROS);
    if (auth == CONN_AUTH_NTLM)
        return auth_mech_name(AUTH_MECH_NTLM);
    if (auth == CONN_AUTH_OTHER)
        return auth_mech_name((enum auth_mech)auth_mech);
    return auth < CONN_AUTH_COUNT && names[auth] ? names[auth] : "-";
}

enum conn_gap conn_summary_gap(const struct policy_conn_facts *f)
{
    if (!f->start_seen)
        return CONN_GAP_MIDSTREAM;
    if (policy_content_hidden(f))
        return CONN_GAP_NO_KEYS;
    if (f->content_lost)
        return CONN_GAP_CONTENT;
    if (!f->negotiate_seen)
        return CONN_GAP_NEGOTIATE;
    return CONN_GAP_LOGON;
}

uint8_t conn_summary_findings(const struct smb_conn *s, uint16_t *ntlm_sessions)
{
    uint32_t ntlm = 0;
    for (guint k = 0; k < s->sessions->len; k++) {
        const struct smb_session_rec *r = &g_array_index(s->sessions, struct smb_session_rec, k);
        ntlm += r->established && r->mech == AUTH_MECH_NTLM && !r->anonymous;
    }
    uint8_t bits = 0;
    if (ntlm)
        bits |= 1u << FINDING_NTLM;
    if (s->verdict.cls == TRANSPORT_NBT && s->dialect &&
        smb2_dialect_rank(s->dialect) > smb2_dialect_rank(SMB2_DIALECT_302))
        bits |= 1u << FINDING_NBT_ABOVE_302;
    /* EV_ALT_PORT: not the carrier's standard port (TCP 139/445, QUIC 443). */
    if ((s->verdict.evidence & EV_ALT_PORT) && s->verdict.cls != TRANSPORT_NONE)
        bits |= 1u << FINDING_ALT_PORT;
    if (s->verdict.evidence & EV_KEEPALIVE_ON_DIRECT)
        bits |= 1u << FINDING_KEEPALIVE_ON_DIRECT;
    if (ntlm_sessions)
        *ntlm_sessions = ntlm > UINT16_MAX ? UINT16_MAX : (uint16_t)ntlm;
    return bits;
}

/* The first session's anonymous/guest flag or mechanism (the AUTH column). */
static void auth_of(const struct smb_conn *s, uint8_t *auth, uint8_t *mech)
{
    *auth = CONN_AUTH_NONE;
    *mech = AUTH_MECH_NONE;
    for (guint i = 0; i < s->sessions->len; i++) {
        const struct smb_session_rec *r = &g_array_index(s->sessions, struct smb_session_rec, i);
        if (!r->established)
            continue; /* a failed logon authenticated nothing */
        if (r->anonymous || r->guest) {
            *auth = r->anonymous ? CONN_AUTH_ANONYMOUS : CONN_AUTH_GUEST;
            return;
        }
        if (r->mech != AUTH_MECH_NONE) {
            *auth = r->mech == AUTH_MECH_KERBEROS ? CONN_AUTH_KERBEROS
                    : r->mech == AUTH_MECH_NTLM   ? CONN_AUTH_NTLM
                                                  : CONN_AUTH_OTHER;
            *mech = (uint8_t)r->mech;
            return;
        }
    }
}

static uint8_t signing_of(const struct smb_conn *s)
{
    const char *w = smb_conn_signing_mode(s);
    if (!w)
        return CONN_SIGNING_UNKNOWN;
    /* one of smb_signing_mode_word()'s three words: the first letter tells */
    return w[0] == 'r' ? CONN_SIGNING_REQUIRED : w[0] == 'e' ? CONN_SIGNING_ENABLED : CONN_SIGNING_DISABLED;
}

static uint16_t flags_of(const struct policy_conn_facts *f)
{
    static const struct {
        size_t off;
        uint16_t bit;
    } bools[] = {
        { offsetof(struct policy_conn_facts, signing_required), CONN_F_SIGNING_REQUIRED },
        { offsetof(struct policy_conn_facts, signed_seen), CONN_F_SIGNED_SEEN },
        { offsetof(struct policy_conn_facts, encrypted), CONN_F_ENCRYPTED },
        { offsetof(struct policy_conn_facts, negotiate_seen), CONN_F_NEGOTIATE_SEEN },
        { offsetof(struct policy_conn_facts, smb_seen), CONN_F_SMB_SEEN },
        { offsetof(struct policy_conn_facts, messages_seen), CONN_F_MESSAGES_SEEN },
        { offsetof(struct policy_conn_facts, content_lost), CONN_F_CONTENT_LOST },
        { offsetof(struct policy_conn_facts, start_seen), CONN_F_START_SEEN },
        { offsetof(struct policy_conn_facts, auth_unseen), CONN_F_AUTH_UNSEEN },
    };
    uint16_t flags = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(bools); i++)
        if (*(const bool *)((const char *)f + bools[i].off))
            flags |= bools[i].bit;
    flags |= f->sessions_kerberos ? CONN_F_KERBEROS : 0;
    flags |= f->sessions_ntlm ? CONN_F_NTLM : 0;
    flags |= f->sessions_other ? CONN_F_OTHER_AUTH : 0;
    return flags;
}

struct policy_conn_facts conn_summary_facts(const struct conn_summary *cs)
{
    uint16_t fl = cs->flags;
    struct policy_conn_facts f = {
        .transport = (enum transport_class)cs->transport,
        .server_port = cs->server_port,
        .smb_version = cs->smb_version,
        .dialect = cs->dialect,
        .signing_required = (fl & CONN_F_SIGNING_REQUIRED) != 0,
        .signed_seen = (fl & CONN_F_SIGNED_SEEN) != 0,
        .encrypted = (fl & CONN_F_ENCRYPTED) != 0,
        .negotiate_seen = (fl & CONN_F_NEGOTIATE_SEEN) != 0,
        .smb_seen = (fl & CONN_F_SMB_SEEN) != 0,
        .messages_seen = (fl & CONN_F_MESSAGES_SEEN) != 0,
        .content_lost = (fl & CONN_F_CONTENT_LOST) != 0,
        .start_seen = (fl & CONN_F_START_SEEN) != 0,
        .sessions_kerberos = (fl & CONN_F_KERBEROS) != 0,
        .sessions_ntlm = (fl & CONN_F_NTLM) != 0,
        .sessions_other = (fl & CONN_F_OTHER_AUTH) != 0,
        .auth_unseen = (fl & CONN_F_AUTH_UNSEEN) != 0,
    };
    return f;
}

/* The policy's answer for facts f.  Both functions are pure, and the
 * connections of a busy capture mostly share their facts: the last answer
 * (per thread: --jobs runs analyses in threads) is reused when policy and
 * facts are byte for byte the same (padding that differs only costs a
 * recomputation, never a wrong answer).  A third of the close path. */
static void judge(const struct policy *p, const struct policy_conn_facts *f, uint32_t *rules, uint32_t *undecided)
{
    static _Thread_local struct {
        bool valid;
        struct policy p;
        struct policy_conn_facts f;
        uint32_t rules, undecided;
    } last;
    if (!last.valid || memcmp(&last.f, f, sizeof *f) != 0 || memcmp(&last.p, p, sizeof *p) != 0) {
        memcpy(&last.p, p, sizeof *p);
        memcpy(&last.f, f, sizeof *f);
        last.rules = policy_check_connection(p, f);
        last.undecided = policy_undecided_connection(p, f);
        last.valid = true;
    }
    *rules = last.rules;
    *undecided = last.undecided;
}

/* g_strlcpy() into dst, whose bytes past the text are zero already: the
 * short texts of every connection (a dialect, a close reason) copied
 * without the library call's length pass over the whole source. */
static void copy_text(char *dst, size_t n, const char *src)
{
    size_t i = 0;
    for (; i + 1 < n && src[i]; i++)
        dst[i] = src[i];
    dst[i] = '\0';
}

void conn_summary_from_conn(struct conn_summary *out, const struct smb_conn *s, const struct policy *p)
{
    memset(out, 0, sizeof *out);
    out->client = *smb_conn_client(s);
    out->server = *smb_conn_server(s);
    out->client_port = smb_conn_client_port(s);
    out->server_port = smb_conn_server_port(s);
    out->first_ts = s->first_ts;
    out->last_ts = s->last_ts;
    out->flow_id = s->flow_id;
    out->packets = s->packets[0] + s->packets[1];
    out->bytes = s->bytes[0] + s->bytes[1];
    out->gaps = s->gaps;
    out->gap_bytes = s->gap_bytes;
    out->evidence = s->verdict.evidence;
    out->transport = (uint8_t)s->verdict.cls;
    out->carrier = s->quic ? CONN_CARRIER_QUIC : s->obs.carrier == CARRIER_RDMA_ROCE ? CONN_CARRIER_UDP : CONN_CARRIER_TCP;
    out->proto = out->carrier == CONN_CARRIER_TCP ? 6 : 17;
    out->smb_version = (uint8_t)smb_conn_smb_version(s);
    out->dialect = s->smb2_response_seen ? s->dialect : 0;
    out->signing = signing_of(s);
    auth_of(s, &out->auth, &out->auth_mech);
    struct policy_conn_facts f = verdict_conn_facts(s);
    out->flags = flags_of(&f);
    judge(p, &f, &out->rules, &out->undecided);
    out->gap = (uint8_t)conn_summary_gap(&f);
    out->findings = conn_summary_findings(s, &out->ntlm_sessions);
    char buf[64];
    const char *d;
    if (out->dialect) /* a table name or "0x%04x": printable ASCII, escaping changes nothing */
        copy_text(out->dialect_text, sizeof out->dialect_text, smb2_dialect_name(out->dialect, buf, sizeof buf));
    else if ((d = smb_conn_dialect_text(s, buf, sizeof buf)))
        fmt_escaped_buf((const uint8_t *)d, strlen(d), out->dialect_text, sizeof out->dialect_text);
    if (s->close_reason)
        copy_text(out->close_reason, sizeof out->close_reason, s->close_reason);
}
