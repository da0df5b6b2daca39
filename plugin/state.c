/* state.c - judgements over one conversation's accumulated state.
 *
 * Every verdict is delegated to libsmbscope (transport_classify(),
 * policy_check_connection(), policy_check_netbios(), the dialect table):
 * this file only maps the plugin's observations onto those inputs. */
#include "smbscope.h"

#include <string.h>

#include "dialect.h"
#include "smb_tables.h"

static const char *const service_names[] = {
    [NB_NONE] = NULL, [NB_NBNS] = "nbns", [NB_NBDGM] = "nbdgm", [NB_NBSS] = "nbss",
};

static const char *const state_names[] = {
    [NBST_UNKNOWN] = NULL,
    [NBST_ESTABLISHED] = "established",
    [NBST_REFUSED] = "refused",
    [NBST_NO_ANSWER] = "no-answer",
    [NBST_DATAGRAM] = "datagram",
};

const char *smbscope_service_name(enum nb_service s)
{
    return (unsigned)s < G_N_ELEMENTS(service_names) ? service_names[s] : NULL;
}

const char *smbscope_state_name(enum nb_state s)
{
    return (unsigned)s < G_N_ELEMENTS(state_names) ? state_names[s] : NULL;
}

static bool nbss_setup(const struct transport_obs *o)
{
    return o->session_requests || o->positive_responses || o->negative_responses || o->retarget_responses;
}

enum nb_service smbscope_service(const struct smbscope_conv *c)
{
    if (!c->is_tcp)
        return c->udp_service;
    /* The session service: port 139, or its session setup on any port. */
    return (c->server_port == 139 || nbss_setup(&c->obs)) ? NB_NBSS : NB_NONE;
}

static guint32 server_packets(const struct smbscope_conv *c)
{
    bool a_is_client = addresses_equal(&c->end_a, &c->client) && c->end_a_port == c->client_port;
    return a_is_client ? c->end_b_pkts : c->end_a_pkts;
}

static guint32 client_packets(const struct smbscope_conv *c)
{
    return c->end_a_pkts + c->end_b_pkts - server_packets(c);
}

enum nb_state smbscope_nb_state(const struct smbscope_conv *c)
{
    if (smbscope_service(c) == NB_NONE)
        return NBST_UNKNOWN;
    if (!c->is_tcp) {
        if (c->nb_icmp_refused)
            return NBST_REFUSED;
        if (c->nb_answered || c->nb_not_only_queries)
            return NBST_DATAGRAM;
        return NBST_NO_ANSWER; /* only name queries, nothing back (so far) */
    }
    /* The session service answered: SYN-ACK, or both ends talking in a
     * connection whose start was not captured. */
    if (c->nb_synack || (!c->obs.handshake_seen && server_packets(c) && client_packets(c)))
        return NBST_ESTABLISHED;
    if (c->nb_rst_from_server || c->nb_icmp_refused)
        return NBST_REFUSED;
    return NBST_NO_ANSWER; /* so far: one pass cannot know more */
}

bool smbscope_is_smb_conn(const struct smbscope_conv *c)
{
    /* The classifier decides (TRANSPORT_NONE: nothing carried, e.g. a
     * refused SYN to 139, which only the NetBIOS flow reports). */
    return (c->is_tcp || c->obs.carrier != CARRIER_TCP) && smbscope_transport(c).cls != TRANSPORT_NONE;
}

struct transport_verdict smbscope_transport(const struct smbscope_conv *c)
{
    struct transport_obs o = c->obs;
    o.server_port = c->server_port;
    return transport_classify(&o);
}

const char *smbscope_dialect(const struct smbscope_conv *c, char *buf, size_t buflen)
{
    if (c->smb2_dialect)
        return smb2_dialect_name(c->smb2_dialect, buf, buflen);
    if (c->smb1_chosen)
        return c->smb1_dialect;
    return NULL;
}

int smbscope_smb_version(const struct smbscope_conv *c)
{
    if (c->smb2_dialect) {
        const struct smb2_dialect_info *d = smb2_dialect_lookup(c->smb2_dialect);
        return d ? d->smb_version : (c->smb2_dialect >= 0x0300 ? 3 : 2);
    }
    /* SMB1 headers alone say SMB1 even when the negotiate was not captured. */
    return (c->smb1_chosen || (c->smb1_seen && !c->smb2_seen)) ? 1 : 0;
}

const char *smbscope_signing(const struct smbscope_conv *c)
{
    return smb_signing_mode_word(c->negotiate_seen, c->signing_required, c->server_sign_enabled);
}

const char *smbscope_encryption(const struct smbscope_conv *c)
{
    return smb_encryption_word(c->encrypted);
}

const char *smbscope_auth(const struct smbscope_conv *c)
{
    return c->auth_word;
}

struct policy_conn_facts smbscope_conn_facts(const struct smbscope_conv *c)
{
    struct policy_conn_facts f;
    memset(&f, 0, sizeof f);
    f.transport = smbscope_transport(c).cls;
    f.server_port = c->server_port;
    f.smb_version = smbscope_smb_version(c);
    f.dialect = c->smb2_dialect;
    f.signing_required = c->signing_required;
    f.signed_seen = c->signed_seen;
    f.encrypted = c->encrypted;
    f.negotiate_seen = c->negotiate_seen;
    f.smb_seen = c->smb1_seen || c->smb2_seen;
    f.messages_seen = c->obs.smb_messages > 0;
    f.content_lost = c->content_lost;
    f.start_seen = c->obs.handshake_seen;
    f.sessions_kerberos = c->sessions_kerberos;
    f.sessions_ntlm = c->sessions_ntlm;
    f.sessions_other = c->sessions_other;
    bool known = c->sessions_kerberos || c->sessions_ntlm || c->sessions_other;
    f.auth_unseen = !known && (!f.start_seen || f.content_lost);
    return f;
}

guint16 smbscope_dialect_code(const struct smbscope_conv *c)
{
    if (c->smb2_dialect)
        return c->smb2_dialect;
    return c->smb1_chosen ? SMBSCOPE_DIALECT_SMB1 : 0;
}

const address *smbscope_server(const struct smbscope_conv *c)
{
    if (!c->is_tcp && c->obs.carrier == CARRIER_TCP && !c->quic)
        return &c->udp_server; /* a NetBIOS UDP flow */
    if (addresses_equal(&c->end_a, &c->client) && c->end_a_port == c->client_port)
        return &c->end_b;
    return &c->end_a;
}

guint32 smbscope_violations(const struct smbscope_conv *c)
{
    const struct policy *p = smbscope_policy();
    guint32 bits = 0;
    bool smb = smbscope_is_smb_conn(c);
    if (smbscope_service(c) != NB_NONE) {
        enum nb_state st = smbscope_nb_state(c);
        bool off_139 = smb && smbscope_transport(c).cls == TRANSPORT_NBT_NONSTANDARD_PORT;
        enum policy_rule r = policy_check_netbios_flow(p, st == NBST_REFUSED || st == NBST_NO_ANSWER, off_139);
        if (r != RULE_COUNT)
            bits |= 1u << r;
    }
    if (smb) {
        struct policy_conn_facts f = smbscope_conn_facts(c);
        bits |= policy_check_connection(p, &f);
    }
    return bits;
}

guint32 smbscope_undecided(const struct smbscope_conv *c)
{
    if (!smbscope_is_smb_conn(c))
        return 0;
    struct policy_conn_facts f = smbscope_conn_facts(c);
    return policy_undecided_connection(smbscope_policy(), &f);
}

enum smbscope_verdict smbscope_verdict(const struct smbscope_conv *c, guint32 *bits)
{
    *bits = smbscope_violations(c);
    if (smbscope_service(c) == NB_NONE && !smbscope_is_smb_conn(c))
        return SMBSCOPE_VERDICT_NONE;
    if (*bits)
        return SMBSCOPE_VERDICT_FAIL;
    /* A rule the capture could not decide (its answer was not captured)
     * is no pass: the command's inconclusive. */
    return smbscope_undecided(c) ? SMBSCOPE_VERDICT_INCONCLUSIVE : SMBSCOPE_VERDICT_PASS;
}

struct smbscope_so_far smbscope_so_far(const struct smbscope_conv *c)
{
    struct smbscope_so_far sf;
    memset(&sf, 0, sizeof sf);
    sf.verdict = (guint8)smbscope_verdict(c, &sf.violations);
    sf.dialect = smbscope_dialect_code(c);
    sf.nb_state = (guint8)smbscope_nb_state(c);
    sf.transport = (guint8)(smbscope_is_smb_conn(c) ? smbscope_transport(c).cls : TRANSPORT_NONE);
    return sf;
}

static size_t utf8_cut(const char *s, size_t cap)
{
    size_t n = strlen(s);
    if (n < cap)
        return n;
    n = cap - 1;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) /* continuation byte */
        n--;
    return n;
}

char *smbscope_strdup_bounded(const char *s, size_t cap)
{
    return wmem_strndup(wmem_file_scope(), s, utf8_cut(s, cap));
}

void smbscope_strcpy_bounded(char *dst, const char *s, size_t cap)
{
    size_t n = utf8_cut(s, cap);
    memcpy(dst, s, n);
    dst[n] = '\0';
}

void smbscope_offer(struct smbscope_conv *c, const char *name)
{
    for (unsigned i = 0; i < c->n_offered; i++)
        if (strncmp(c->offered[i], name, SMBSCOPE_MAX_NAME - 1) == 0)
            return;
    if (c->n_offered < SMBSCOPE_MAX_OFFERED)
        c->offered[c->n_offered++] = smbscope_strdup_bounded(name, SMBSCOPE_MAX_NAME);
}
