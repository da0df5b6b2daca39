/* report_json_conn.c - one SMB connection as a JSON object. */
#include "report_json.h"

#include <string.h>

#include "report_rdma.h"

#include "dialect.h"
#include "fmt.h"
#include "session_enc.h"
#include "smb_tables.h"

static void kwstr(struct json *j, const char *key, const struct wstr *w)
{
    json_key(j, key);
    if (w->p)
        json_str_bytes(j, w->p, w->len);
    else
        json_null(j);
}

/* Names of the bits of a bit-set table that are set, as an array. */
static void kbits(struct json *j, const char *key, const struct smb_enum_table *t, uint32_t bits)
{
    json_key(j, key);
    json_begin_array(j);
    uint32_t known = 0;
    for (size_t i = 0; i < t->count; i++) {
        uint32_t v = t->entries[i].value;
        if (v && (bits & v) == v) {
            json_str(j, t->entries[i].short_name);
            known |= v;
        }
    }
    if (bits & ~known) {
        char buf[16];
        snprintf(buf, sizeof buf, "0x%x", bits & ~known);
        json_str(j, buf);
    }
    json_end_array(j);
}

static void kenum(struct json *j, const char *key, const struct smb_enum_table *t, uint32_t v)
{
    char buf[16];
    json_kstr(j, key, smb_enum_name(t, v, buf, sizeof buf));
}

static void kguid(struct json *j, const char *key, const uint8_t g[16])
{
    /* MS-DTYP 2.3.4.2: the first three fields are little-endian.  Byte
     * order of the text, -1 for a dash (no snprintf: two GUIDs per
     * connection of a big capture). */
    static const int8_t order[] = { 3, 2, 1, 0, -1, 5, 4, -1, 7, 6, -1, 8, 9, -1, 10, 11, 12, 13, 14, 15 };
    static const char hex[] = "0123456789abcdef";
    char buf[40];
    size_t n = 0;
    for (size_t i = 0; i < sizeof order; i++) {
        if (order[i] < 0) {
            buf[n++] = '-';
            continue;
        }
        uint8_t b = g[order[i]];
        buf[n++] = hex[b >> 4];
        buf[n++] = hex[b & 15];
    }
    buf[n] = '\0';
    json_kstr(j, key, buf);
}

static void neg_ctx_list(struct json *j, const struct smb2_neg_ctx_list *l)
{
    static const char *const status_names[] = {
        [SMB2_CTX_ABSENT] = "absent", [SMB2_CTX_OK] = "ok", [SMB2_CTX_EMPTY] = "empty",
        [SMB2_CTX_TRUNCATED] = "truncated", [SMB2_CTX_BAD_OFFSET] = "bad-offset",
        [SMB2_CTX_COUNT_MISMATCH] = "count-mismatch", [SMB2_CTX_MALFORMED] = "malformed",
    };
    json_begin_object(j);
    json_kstr(j, "status", (unsigned)l->status < G_N_ELEMENTS(status_names) ? status_names[l->status] : "unknown");
    if (l->reason)
        json_kstr(j, "reason", l->reason);
    json_kuint(j, "count", l->count);
    json_key(j, "contexts");
    json_begin_array(j);
    for (uint8_t i = 0; i < l->stored; i++) {
        const struct smb2_neg_ctx *c = &l->items[i];
        json_begin_object(j);
        kenum(j, "type", &smb2_negctx_type_table, c->type);
        json_kuint(j, "type_id", c->type);
        json_kuint(j, "length", c->data_len);
        if (c->malformed)
            json_kbool(j, "malformed", true);
        const struct smb2_negctx_ids *ids = smb2_negctx_ids_lookup(c->type);
        if (ids) {
            json_key(j, ids->key);
            json_begin_array(j);
            for (uint8_t k = 0; k < c->ids_stored; k++) {
                char buf[16];
                json_str(j, smb_enum_name(ids->table, c->ids[k], buf, sizeof buf));
            }
            json_end_array(j);
        }
        if (c->type == SMB2_CTX_PREAUTH_INTEGRITY)
            json_kuint(j, "salt_length", c->salt_len);
        if (c->type == SMB2_CTX_COMPRESSION)
            kbits(j, "flags", &smb2_compression_flags_table, c->flags);
        if (c->type == SMB2_CTX_TRANSPORT)
            kbits(j, "flags", &smb2_transport_caps_table, c->flags);
        if (c->type == SMB2_CTX_NETNAME && l->has_netname) {
            json_key(j, "netname");
            json_str_bytes(j, (const uint8_t *)l->netname, strlen(l->netname));
        }
        json_end_object(j);
    }
    json_end_array(j);
    json_end_object(j);
}

static void emit_finding(const char *text, void *arg) { json_str(arg, text); }

/* {"client": [...], "server": [...]}: SMB2 NEGOTIATE bits of each side, or
 * the SMB1 NEGOTIATE response's when no SMB2 response was seen. */
static void negotiated_bits(struct json *j, const struct smb_conn *s, const char *key, const struct smb_enum_table *smb2,
                            const struct smb_enum_table *smb1, uint32_t client, uint32_t server, uint32_t smb1_server)
{
    json_key(j, key);
    json_begin_object(j);
    if (s->smb2_request_seen)
        kbits(j, "client", smb2, client);
    if (s->smb2_response_seen)
        kbits(j, "server", smb2, server);
    else if (s->smb1_response_seen)
        kbits(j, "server", smb1, smb1_server);
    json_end_object(j);
}

static void conn_identity(struct json *j, const struct smb_conn *s)
{
    char buf[128];
    jkaddr(j, "client", smb_conn_client(s));
    json_kuint(j, "client_port", smb_conn_client_port(s));
    jkaddr(j, "server", smb_conn_server(s));
    json_kuint(j, "server_port", smb_conn_server_port(s));
    json_kstr(j, "client_rule", client_rule_name(s->client_rule));
    jktime(j, "first_seen", s->first_ts);
    jktime(j, "last_seen", s->last_ts);
    json_kstr(j, "transport", transport_class_name(s->verdict.cls));
    json_kstr(j, "transport_evidence", transport_evidence_text(s->verdict.evidence, buf, sizeof buf));
    json_kbool(j, "alt_port", (s->verdict.evidence & EV_ALT_PORT) != 0);
    json_carrier(j, s);

}

static void conn_nbss(struct json *j, const struct smb_conn *s)
{
    json_key(j, "nbss");
    const struct transport_obs *o = &s->obs;
    if (o->session_requests || o->positive_responses || o->negative_responses || o->retarget_responses ||
        o->keepalives || s->verdict.cls == TRANSPORT_NBT || s->verdict.cls == TRANSPORT_NBT_NONSTANDARD_PORT) {
        json_begin_object(j);
        json_key(j, "types");
        json_begin_object(j);
        json_kuint(j, nbss_type_key(NBSS_SESSION_MESSAGE), o->session_messages);
        json_kuint(j, nbss_type_key(NBSS_SESSION_REQUEST), o->session_requests);
        json_kuint(j, nbss_type_key(NBSS_POSITIVE_RESPONSE), o->positive_responses);
        json_kuint(j, nbss_type_key(NBSS_NEGATIVE_RESPONSE), o->negative_responses);
        json_kuint(j, nbss_type_key(NBSS_RETARGET_RESPONSE), o->retarget_responses);
        json_kuint(j, nbss_type_key(NBSS_KEEPALIVE), o->keepalives);
        json_end_object(j);
        kwstr(j, "called_name", &s->called_name);
        kwstr(j, "calling_name", &s->calling_name);
        json_key(j, "negative_codes");
        json_begin_array(j);
        for (uint8_t i = 0; i < s->n_neg_codes; i++)
            json_uint(j, s->neg_codes[i]);
        json_end_array(j);
        json_end_object(j);
    } else {
        json_null(j);
    }
    json_kuint(j, "largest_message", o->largest_message);
    report_json_smb_direct(j, s);

}

static void conn_negotiate(struct json *j, const struct smb_conn *s)
{
    char buf[128];
    json_key(j, "smb1_dialects_offered");
    json_begin_array(j);
    for (guint i = 0; i < s->smb1_dialects->len; i++) {
        const struct wstr *w = &g_array_index(s->smb1_dialects, struct wstr, i);
        json_str_bytes(j, w->p, w->len);
    }
    json_end_array(j);
    json_key(j, "dialects_offered");
    json_begin_array(j);
    for (guint i = 0; i < s->dialects_offered->len; i++) {
        char d[12];
        json_str(j, smb2_dialect_name(g_array_index(s->dialects_offered, uint16_t, i), d, sizeof d));
    }
    json_end_array(j);
    json_kbool(j, "dialects_offered_from_smb1", s->dialects_from_smb1);
    json_key(j, "dialect");
    const char *dialect = smb_conn_dialect_text(s, buf, sizeof buf);
    if (dialect)
        json_str_bytes(j, (const uint8_t *)dialect, strlen(dialect));
    else
        json_null(j);
    json_key(j, "smb_version");
    int ver = smb_conn_smb_version(s);
    if (ver)
        json_int(j, ver);
    else
        json_null(j);

    negotiated_bits(j, s, "security_mode", &smb2_security_mode_table, &smb1_security_mode_table,
                    s->client_security_mode, s->server_security_mode, s->smb1_security_mode);
    negotiated_bits(j, s, "capabilities", &smb2_capabilities_table, &smb1_capabilities_table,
                    s->client_capabilities, s->server_capabilities, s->smb1_capabilities);
    if (s->smb2_request_seen)
        kguid(j, "client_guid", s->client_guid);
    if (s->smb2_response_seen) {
        kguid(j, "server_guid", s->server_guid);
        json_kuint(j, "max_read", s->max_read);
        json_kuint(j, "max_write", s->max_write);
        json_kuint(j, "max_transact", s->max_transact);
        json_kbool(j, "large_mtu", s->max_read > 65536 || s->max_write > 65536);
    }
    json_key(j, "negotiate_contexts");
    json_begin_object(j);
    if (s->ctx_request) {
        json_key(j, "request");
        neg_ctx_list(j, s->ctx_request);
    }
    if (s->ctx_response) {
        json_key(j, "response");
        neg_ctx_list(j, s->ctx_response);
    }
    json_end_object(j);

}


/* Encrypted and signed messages of sessions set up before the capture (session_enc.h):
 * only when there were any, so smbscope merge can count them in the session. */
static void conn_enc_unseen(struct json *j, const struct smb_enc_unseen *u)
{
    if (!u)
        return;
    char buf[32];
    json_key(j, "unseen_sessions");
    json_begin_array(j);
    for (uint8_t i = 0; i < u->n; i++) {
        json_begin_object(j);
        snprintf(buf, sizeof buf, "0x%016" G_GINT64_MODIFIER "x", (guint64)u->s[i].id);
        json_kstr(j, "session_id", buf);
        json_kuint(j, "encrypted_pdus", u->s[i].pdus);
        json_kbool(j, "signed", u->s[i].signed_seen);
        json_end_object(j);
    }
    json_end_array(j);
    if (u->folded)
        json_kuint(j, "unseen_sessions_folded_pdus", u->folded);
}
static void conn_security(struct json *j, const struct smb_conn *s)
{
    char buf[128];
    json_key(j, "signing");
    json_begin_object(j);
    json_kstr(j, "mode", smb_conn_signing_mode(s));
    json_kbool(j, "signed_seen", s->signed_pdus > 0);
    json_kuint(j, "signed_pdus", s->signed_pdus);
    json_end_object(j);
    json_key(j, "encryption");
    json_begin_object(j);
    json_key(j, "cipher");
    if (s->cipher_known && s->cipher)
        json_str(j, smb_enum_name(&smb2_cipher_table, s->cipher, buf, sizeof buf));
    else
        json_null(j);
    json_kbool(j, "encrypted", smb_conn_encrypted(s));
    json_kuint(j, "encrypted_pdus", s->encrypted_pdus);
    conn_enc_unseen(j, s->enc_unseen);
    json_end_object(j);
    json_kuint(j, "compressed_pdus", s->compressed_pdus);

}

static void conn_sessions(struct json *j, const struct smb_conn *s)
{
    char buf[128];
    json_key(j, "sessions");
    json_begin_array(j);
    for (guint i = 0; i < s->sessions->len; i++) {
        const struct smb_session_rec *r = &g_array_index(s->sessions, struct smb_session_rec, i);
        const char *auth = r->anonymous ? "anonymous" : r->guest ? "guest" : auth_mech_name(r->mech);
        if (r->mech == AUTH_MECH_NONE && !r->anonymous && !r->guest)
            auth = "unknown";
        if (!r->established)
            auth = "failed"; /* the logon was refused: it amounted to nothing */
        json_begin_object(j);
        snprintf(buf, sizeof buf, "0x%016" G_GINT64_MODIFIER "x", (guint64)r->id);
        json_kstr(j, "session_id", buf);
        json_kstr(j, "auth", auth);
        json_kstr(j, "mechanism", auth_mech_name(r->mech));
        kwstr(j, "user", &r->user);
        kwstr(j, "domain", &r->domain);
        kwstr(j, "workstation", &r->workstation);
        json_kbool(j, "anonymous", r->anonymous);
        json_kbool(j, "guest", r->guest);
        json_kbool(j, "established", r->established);
        kenum(j, "status", &nt_status_table, r->status);
        json_kbool(j, "encrypt_data", r->encrypt_data);
        json_kbool(j, "signed", r->signed_seen);
        json_kuint(j, "encrypted_pdus", r->encrypted_pdus);
        json_key(j, "mechs_offered");
        json_begin_array(j);
        for (uint8_t m = 0; m < r->n_mechs_offered; m++)
            json_str(j, gss_oid_name(r->mechs_offered[m]) ? gss_oid_name(r->mechs_offered[m]) : "other");
        json_end_array(j);
        json_end_object(j);
    }
    json_end_array(j);
    if (s->sessions_dropped)
        json_kuint(j, "sessions_not_listed", s->sessions_dropped);

}

static void conn_shares(struct json *j, const struct smb_conn *s)
{
    char buf[128];
    json_key(j, "shares");
    json_begin_array(j);
    for (guint i = 0; i < s->shares->len; i++) {
        const struct smb_share_rec *r = &g_array_index(s->shares, struct smb_share_rec, i);
        json_begin_object(j);
        kwstr(j, "path", &r->path);
        if (r->service.p)
            kwstr(j, "service", &r->service);
        if (r->share_type)
            kenum(j, "type", &smb2_share_type_table, r->share_type);
        json_kbool(j, "answered", r->answered);
        if (r->answered) {
            snprintf(buf, sizeof buf, "0x%08x", r->status);
            json_kstr(j, "status", buf);
        }
        json_kbool(j, "encrypt_data", r->encrypt_data);
        json_end_object(j);
    }
    json_end_array(j);
    if (s->shares_dropped)
        json_kuint(j, "shares_not_listed", s->shares_dropped);

}

static void conn_stream(struct json *j, const struct smb_conn *s)
{
    int c = s->client, sv = !s->client;
    json_key(j, "stream");
    json_begin_object(j);
    json_kuint(j, "bytes_c2s", s->bytes[c]);
    json_kuint(j, "bytes_s2c", s->bytes[sv]);
    json_kuint(j, "packets_c2s", s->packets[c]);
    json_kuint(j, "packets_s2c", s->packets[sv]);
    json_kuint(j, "gaps", s->gaps);
    json_kuint(j, "gap_bytes", s->gap_bytes);
    json_kuint(j, "overlap_conflicts", s->overlap_conflicts);
    json_kuint(j, "retransmissions", s->retransmissions);
    json_kbool(j, "midstream", s->midstream);
    json_kuint(j, "resyncs", s->resyncs);
    json_kuint(j, "resync_skipped_bytes", s->skipped_bytes);
    json_kuint(j, "framing_anomalies", s->framer_anomalies);
    json_kuint(j, "decode_anomalies", s->decode_anomalies);
    json_kstr(j, "end", s->close_reason);
    json_end_object(j);

}

void json_connection(struct json *j, const struct smb_conn *s)
{
    json_begin_object(j);
    conn_identity(j, s);
    conn_nbss(j, s);
    conn_negotiate(j, s);
    conn_security(j, s);
    conn_sessions(j, s);
    conn_shares(j, s);
    conn_stream(j, s);
    json_key(j, "findings");
    json_begin_array(j);
    verdict_conn_findings(s, emit_finding, j);
    json_end_array(j);
    json_end_object(j);
}

