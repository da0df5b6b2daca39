/* smb_test_util.c - tshark-named rendering of decoded SMB facts.
 *
 * The renderings follow how tshark 4.0 prints each field with -T fields
 * (hex widths, GUID layout, "NULL" for empty NTLMSSP strings), so a vector's
 * expected values can be taken from tshark verbatim. */
#include "smb_test_util.h"

#include <glib.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void collector_reset(struct collector *c)
{
    memset(c, 0, sizeof *c);
}

const char *collector_get(const struct collector *c, const char *name)
{
    for (int i = 0; i < c->nfields; i++)
        if (strcmp(c->fields[i].name, name) == 0)
            return c->fields[i].value;
    return NULL;
}

static void add(struct collector *c, const char *name, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static void add(struct collector *c, const char *name, const char *fmt, ...)
{
    struct collected_field *f = NULL;
    for (int i = 0; i < c->nfields; i++)
        if (strcmp(c->fields[i].name, name) == 0)
            f = &c->fields[i];
    if (!f) {
        g_assert_cmpint(c->nfields, <, COLLECT_MAX_FIELDS);
        f = &c->fields[c->nfields++];
        g_strlcpy(f->name, name, sizeof f->name);
        f->value[0] = '\0';
    } else {
        g_strlcat(f->value, "|", sizeof f->value);
    }
    char buf[COLLECT_VALUE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    g_strlcat(f->value, buf, sizeof f->value);
}

static void add_guid(struct collector *c, const char *name, const uint8_t *g)
{
    add(c, name, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
        g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
}

/* tshark's SMB1 dissector shows the server GUID bytes in wire order */
static void add_guid_raw(struct collector *c, const char *name, const uint8_t *g)
{
    add(c, name, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
        g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
}

static void add_oid(struct collector *c, const char *name, const struct gss_oid *o)
{
    char dotted[128];
    if (o->len && gss_oid_dotted(o->der, o->len, dotted, sizeof dotted))
        add(c, name, "%s", dotted);
    else
        add(c, name, "?");
}

static void add_ntlm_name(struct collector *c, const char *name, const struct ntlmssp_name *n)
{
    add(c, name, "%s", n->present ? n->text : "NULL");
}

static void add_auth(struct collector *c, const struct smb_auth *a)
{
    c->auth = *a;
    for (unsigned i = 0; i < a->mech_count; i++)
        add_oid(c, "spnego.MechType", &a->mechs[i]);
    if (a->has_supported_mech)
        add_oid(c, "spnego.supportedMech", &a->supported_mech);
    if (a->krb5_error_code >= 0)
        add(c, "kerberos.error_code", "%d", a->krb5_error_code);
    if (a->krb5_realm[0])
        add(c, "kerberos.realm", "%s", a->krb5_realm);
    if (a->krb5_sname[0]) {
        /* tshark lists the name components; we join them with '/' */
        char *joined = g_strdelimit(g_strdup(a->krb5_sname), "/", '|');
        add(c, "kerberos.SNameString", "%s", joined);
        g_free(joined);
    }
    const struct ntlmssp_info *n = &a->ntlm;
    if (n->status == NTLMSSP_ABSENT)
        return;
    add(c, "ntlmssp.messagetype", "0x%08x", n->msg_type);
    add(c, "ntlmssp.negotiateflags", "0x%08x", n->flags);
    if (n->msg_type == 3) {
        add_ntlm_name(c, "ntlmssp.auth.username", &n->user);
        add_ntlm_name(c, "ntlmssp.auth.domain", &n->domain);
        add_ntlm_name(c, "ntlmssp.auth.hostname", &n->workstation);
    }
    if (n->msg_type == 2) {
        if (n->target_name.present)
            add(c, "ntlmssp.challenge.target_name", "%s", n->target_name.text);
        if (n->nb_computer.present)
            add(c, "ntlmssp.challenge.target_info.nb_computer_name", "%s", n->nb_computer.text);
        if (n->nb_domain.present)
            add(c, "ntlmssp.challenge.target_info.nb_domain_name", "%s", n->nb_domain.text);
        if (n->dns_computer.present)
            add(c, "ntlmssp.challenge.target_info.dns_computer_name", "%s", n->dns_computer.text);
    }
}

static void add_contexts(struct collector *c, const struct smb2_neg_ctx_list *l)
{
    c->ctx = *l;
    c->ctx_seen = true;
    add(c, "smb2.negotiate_context.count", "%u", l->count);
    if (l->status == SMB2_CTX_ABSENT)
        return;
    for (unsigned i = 0; i < l->stored; i++) {
        const struct smb2_neg_ctx *x = &l->items[i];
        add(c, "smb2.negotiate_context.type", "0x%04x", x->type);
        const char *ids = NULL;
        switch (x->type) {
        case SMB2_CTX_PREAUTH_INTEGRITY:
            ids = "smb2.negotiate_context.hash_algorithm";
            add(c, "smb2.negotiate_context.salt_length", "%u", x->salt_len);
            break;
        case SMB2_CTX_ENCRYPTION: ids = "smb2.negotiate_context.cipher_id"; break;
        case SMB2_CTX_SIGNING: ids = "smb2.negotiate_context.signing_id"; break;
        case SMB2_CTX_COMPRESSION: ids = "smb2.negotiate_context.comp_alg_id"; break;
        default: break;
        }
        for (unsigned k = 0; ids && k < x->ids_stored; k++)
            add(c, ids, "0x%04x", x->ids[k]);
    }
    if (l->has_netname)
        add(c, "smb2.negotiate_context.netname", "%s", l->netname);
}

static void on_smb2_header(void *ctx, const struct smb2_header_info *h)
{
    struct collector *c = ctx;
    if (c->smb2_headers < SMB_MAX_COMPOUND)
        c->h2[c->smb2_headers] = *h;
    c->smb2_headers++;
    add(c, "smb2.cmd", "%u", h->command);
    add(c, "smb2.flags.response", "%d", h->response ? 1 : 0);
    add(c, "smb2.sesid", "0x%016" PRIx64, h->session_id);
    add(c, "smb2.msg_id", "%" PRIu64, h->message_id);
    if (h->response)
        add(c, "smb2.nt_status", "0x%08x", h->status);
}

static void on_smb2_neg_req(void *ctx, const struct smb2_header_info *h, const struct smb2_negotiate_request *r)
{
    struct collector *c = ctx;
    c->neg_req++;
    add(c, "smb2.dialect_count", "%u", r->dialect_count);
    for (unsigned i = 0; i < r->dialects_stored; i++)
        add(c, "smb2.dialect", "0x%04x", r->dialects[i]);
    add(c, "smb2.sec_mode", "0x%02x", r->security_mode);
    add(c, "smb2.capabilities", "0x%08x", r->capabilities);
    add_guid(c, "smb2.client_guid", r->client_guid);
    add_contexts(c, &r->contexts);
}

static void on_smb2_neg_resp(void *ctx, const struct smb2_header_info *h, const struct smb2_negotiate_response *r)
{
    struct collector *c = ctx;
    c->neg_resp++;
    add(c, "smb2.dialect", "0x%04x", r->dialect);
    add(c, "smb2.sec_mode", "0x%02x", r->security_mode);
    add(c, "smb2.capabilities", "0x%08x", r->capabilities);
    add_guid(c, "smb2.server_guid", r->server_guid);
    add(c, "smb2.max_trans_size", "%u", r->max_transact);
    add(c, "smb2.max_read_size", "%u", r->max_read);
    add(c, "smb2.max_write_size", "%u", r->max_write);
    add_contexts(c, &r->contexts);
    add_auth(c, r->auth);
}

static void on_smb2_sess_req(void *ctx, const struct smb2_header_info *h, const struct smb2_session_setup_request *r)
{
    struct collector *c = ctx;
    c->sess_req++;
    add(c, "smb2.sec_mode", "0x%02x", r->security_mode);
    add(c, "smb2.capabilities", "0x%08x", r->capabilities);
    add(c, "smb2.previous_sesid", "0x%016" PRIx64, r->previous_session_id);
    add_auth(c, &r->auth);
}

static void on_smb2_sess_resp(void *ctx, const struct smb2_header_info *h, const struct smb2_session_setup_response *r)
{
    struct collector *c = ctx;
    c->sess_resp++;
    add(c, "smb2.session_flags", "0x%04x", r->session_flags);
    add_auth(c, &r->auth);
}

static void on_smb2_tree_req(void *ctx, const struct smb2_header_info *h, const struct smb2_tree_connect_request *r)
{
    struct collector *c = ctx;
    c->tree_req++;
    c->tree2 = *r;
    add(c, "smb2.tree", "%s", r->path);
}

static void on_smb2_tree_resp(void *ctx, const struct smb2_header_info *h, const struct smb2_tree_connect_response *r)
{
    struct collector *c = ctx;
    c->tree_resp++;
    add(c, "smb2.share_type", "0x%02x", r->share_type);
    add(c, "smb2.share_flags", "0x%08x", r->share_flags);
    add(c, "smb2.share_caps", "0x%08x", r->capabilities);
}

static void on_smb1_header(void *ctx, const struct smb1_header_info *h)
{
    struct collector *c = ctx;
    if (c->smb1_headers < SMB_MAX_ANDX)
        c->h1[c->smb1_headers] = *h;
    c->smb1_headers++;
    if (h->andx)
        return; /* tshark prints the header fields once per message */
    add(c, "smb.flags.response", "%d", h->response ? 1 : 0);
    add(c, "smb.nt_status", "0x%08x", h->status);
    add(c, "smb.uid", "%u", h->uid);
    add(c, "smb.tid", "%u", h->tid);
    add(c, "smb.mid", "%u", h->mid);
}

static void on_smb1_neg_req(void *ctx, const struct smb1_header_info *h, const struct smb1_negotiate_request *r)
{
    struct collector *c = ctx;
    c->neg_req++;
    c->neg1 = *r;
    for (unsigned i = 0; i < r->count; i++)
        add(c, "smb.dialect", "%.*s", (int)r->dialects[i].len, (const char *)r->dialects[i].p);
}

static void add_text(struct collector *c, const char *name, const struct smb_text *t);

static void on_smb1_neg_resp(void *ctx, const struct smb1_header_info *h, const struct smb1_negotiate_response *r)
{
    struct collector *c = ctx;
    c->neg_resp++;
    add(c, "smb.dialect.index", "%u", r->dialect_index);
    if (r->word_count >= 13) {
        add(c, "smb.sm", "0x%02x", r->security_mode);
        add(c, "smb.max_bufsize", "%u", r->max_buffer);
    }
    if (r->word_count == 17)
        add(c, "smb.server_cap", "0x%08x", r->capabilities);
    if (r->has_server_guid)
        add_guid_raw(c, "smb.server_guid", r->server_guid);
    add_text(c, "smb.primary_domain", &r->domain);
    add_text(c, "smb.server", &r->server);
    add_auth(c, &r->auth);
}

static void add_text(struct collector *c, const char *name, const struct smb_text *t)
{
    if (t->present)
        add(c, name, "%s", t->text);
}

static void on_smb1_sess_req(void *ctx, const struct smb1_header_info *h, const struct smb1_session_setup_request *r)
{
    struct collector *c = ctx;
    c->sess_req++;
    c->sess1 = *r;
    if (r->word_count >= 12)
        add(c, "smb.server_cap", "0x%08x", r->capabilities);
    add_text(c, "smb.account", &r->account);
    add_text(c, "smb.primary_domain", &r->domain);
    add_text(c, "smb.native_os", &r->native_os);
    add_text(c, "smb.native_lanman", &r->native_lanman);
    add_auth(c, &r->auth);
}

static void on_smb1_sess_resp(void *ctx, const struct smb1_header_info *h, const struct smb1_session_setup_response *r)
{
    struct collector *c = ctx;
    c->sess_resp++;
    add(c, "smb.setup.action", "0x%04x", r->action);
    add_text(c, "smb.native_os", &r->native_os);
    add_text(c, "smb.native_lanman", &r->native_lanman);
    add_text(c, "smb.primary_domain", &r->domain);
    add_auth(c, &r->auth);
}

static void on_smb1_tree_req(void *ctx, const struct smb1_header_info *h, const struct smb1_tree_connect_request *r)
{
    struct collector *c = ctx;
    c->tree_req++;
    c->tree1 = *r;
    add(c, "smb.path", "%s", r->path);
    add(c, "smb.service", "%s", r->service);
}

static void on_smb1_tree_resp(void *ctx, const struct smb1_header_info *h, const struct smb1_tree_connect_response *r)
{
    struct collector *c = ctx;
    c->tree_resp++;
    add(c, "smb.service", "%s", r->service);
    if (r->word_count >= 3)
        add(c, "smb.connect.support", "0x%04x", r->optional_support);
}

static void on_encrypted(void *ctx, const struct smb_transform_info *t)
{
    struct collector *c = ctx;
    c->encrypted++;
    c->transform = *t;
    add(c, "smb2.header.transform.msg_size", "%u", t->original_size);
    add(c, "smb2.header.transform.flags", "0x%04x", t->flags);
    add(c, "smb2.sesid", "0x%016" PRIx64, t->session_id);
}

static void on_compressed(void *ctx, const struct smb_compress_info *ci)
{
    struct collector *c = ctx;
    c->compressed++;
    c->compress = *ci;
}

static void on_unknown(void *ctx, const struct smb_unknown_info *u)
{
    struct collector *c = ctx;
    c->unknowns++;
}

static void on_anomaly(void *ctx, const struct smb_anomaly *a)
{
    struct collector *c = ctx;
    c->anomalies++;
    c->last_anomaly = a->kind;
    c->last_reason = a->reason;
}

const struct smb_sink collect_sink = {
    .smb1_header = on_smb1_header,
    .smb1_negotiate_request = on_smb1_neg_req,
    .smb1_negotiate_response = on_smb1_neg_resp,
    .smb1_session_setup_request = on_smb1_sess_req,
    .smb1_session_setup_response = on_smb1_sess_resp,
    .smb1_tree_connect_request = on_smb1_tree_req,
    .smb1_tree_connect_response = on_smb1_tree_resp,
    .smb2_header = on_smb2_header,
    .smb2_negotiate_request = on_smb2_neg_req,
    .smb2_negotiate_response = on_smb2_neg_resp,
    .smb2_session_setup_request = on_smb2_sess_req,
    .smb2_session_setup_response = on_smb2_sess_resp,
    .smb2_tree_connect_request = on_smb2_tree_req,
    .smb2_tree_connect_response = on_smb2_tree_resp,
    .encrypted = on_encrypted,
    .compressed = on_compressed,
    .unknown = on_unknown,
    .anomaly = on_anomaly,
};

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

bool vector_load(const char *path, struct smb_vector *v)
{
    gchar *text = NULL;
    memset(v, 0, sizeof *v);
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return false;
    gchar **lines = g_strsplit(text, "\n", -1);
    bool ok = true;
    for (gchar **l = lines; *l; l++) {
        const char *line = *l;
        if (g_str_has_prefix(line, "# source: "))
            g_strlcpy(v->source, line + 10, sizeof v->source);
        if (line[0] == '#' || line[0] == '\0')
            continue;
        const char *eq = strchr(line, '=');
        if (!eq) {
            ok = false;
            break;
        }
        size_t klen = (size_t)(eq - line);
        if (klen == 7 && strncmp(line, "payload", 7) == 0) {
            const char *h = eq + 1;
            size_t n = strlen(h) / 2;
            if (n > sizeof v->payload) {
                ok = false;
                break;
            }
            for (size_t i = 0; i < n; i++) {
                int hi = hexval(h[2 * i]), lo = hexval(h[2 * i + 1]);
                if (hi < 0 || lo < 0)
                    ok = false;
                v->payload[i] = (uint8_t)(hi << 4 | lo);
            }
            v->payload_len = n;
        } else if (v->nfields < COLLECT_MAX_FIELDS && klen < sizeof v->fields[0].name) {
            struct collected_field *f = &v->fields[v->nfields++];
            memcpy(f->name, line, klen);
            f->name[klen] = '\0';
            g_strlcpy(f->value, eq + 1, sizeof f->value);
        }
    }
    g_strfreev(lines);
    g_free(text);
    return ok && v->payload_len >= 4;
}

void vector_check(const char *path)
{
    static struct smb_vector v;
    static struct collector c;
    g_assert_true(vector_load(path, &v));
    g_test_message("vector %s from %s", path, v.source);
    uint32_t mlen = (uint32_t)v.payload[1] << 16 | (uint32_t)v.payload[2] << 8 | v.payload[3];
    g_assert_cmpuint(mlen + 4, ==, v.payload_len);
    collector_reset(&c);
    smb_decode_message(v.payload + 4, v.payload_len - 4, mlen, &collect_sink, &c);
    g_assert_cmpint(c.anomalies, ==, 0);
    g_assert_cmpint(c.unknowns, ==, 0);
    g_assert_cmpint(v.nfields, >, 0);
    for (int i = 0; i < v.nfields; i++) {
        const char *got = collector_get(&c, v.fields[i].name);
        if (!got || strcmp(got, v.fields[i].value) != 0)
            g_test_message("field %s: tshark '%s', decoder '%s'", v.fields[i].name, v.fields[i].value,
                           got ? got : "(absent)");
        g_assert_nonnull(got);
        g_assert_cmpstr(got, ==, v.fields[i].value);
    }
}

static void vector_case(gconstpointer data)
{
    vector_check(data);
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void vector_register(const char *test_prefix, const char *file_prefix)
{
    GDir *d = g_dir_open(SMB_VECTOR_DIR, 0, NULL);
    g_assert_nonnull(d);
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    const char *name;
    while ((name = g_dir_read_name(d)))
        if (g_str_has_prefix(name, file_prefix) && g_str_has_suffix(name, ".vec"))
            g_ptr_array_add(names, g_strdup(name));
    g_dir_close(d);
    g_ptr_array_sort(names, compare_names);
    for (guint i = 0; i < names->len; i++) {
        const char *n = g_ptr_array_index(names, i);
        /* test path and data live for the whole run (GTest keeps them) */
        char *tp = g_strdup_printf("%s/%.*s", test_prefix, (int)(strlen(n) - 4), n);
        char *fp = g_build_filename(SMB_VECTOR_DIR, n, NULL);
        g_test_add_data_func(tp, fp, vector_case);
        g_free(tp);
    }
    g_ptr_array_free(names, TRUE);
}

/* ---- differential run against tshark over a capture ------------------- */

/* One tshark run per capture: the union of the fields of the three
 * commands (a field absent from a frame prints empty and is not compared). */
static const char *const diff_fields[] = {
    "smb2.dialect", "smb2.negotiate_context.type", "smb2.negotiate_context.cipher_id",
    "smb2.negotiate_context.hash_algorithm", "smb2.negotiate_context.signing_id",
    "smb2.negotiate_context.comp_alg_id", "smb2.negotiate_context.netname",
    "smb2.capabilities", "smb.dialect", "smb.server_cap",
    "spnego.MechType", "spnego.supportedMech", "ntlmssp.messagetype", "ntlmssp.auth.username",
    "ntlmssp.auth.domain", "ntlmssp.auth.hostname", "smb2.session_flags", "kerberos.msg_type",
    "kerberos.realm", "kerberos.SNameString", "kerberos.error_code",
    "smb2.tree", "smb2.share_type", "smb2.share_flags",
    "smb.primary_domain", "smb.server", "smb.native_os", "smb.native_lanman", "smb.account",
    "smb.service", NULL,
};

static int diff_run(const char *tshark, const char *cap, const char *filter, const char *const *fields)
{
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
    const char *fixed[] = { tshark, "-r", cap, "-Y", filter, "-T", "fields", "-E", "occurrence=a",
                            "-E", "aggregator=|", "-e", "frame.number", "-e", "tcp.payload" };
    for (size_t i = 0; i < G_N_ELEMENTS(fixed); i++)
        g_ptr_array_add(argv, g_strdup(fixed[i]));
    for (size_t i = 0; fields[i]; i++) {
        g_ptr_array_add(argv, g_strdup("-e"));
        g_ptr_array_add(argv, g_strdup(fields[i]));
    }
    g_ptr_array_add(argv, NULL);
    gchar *out = NULL;
    gint status = 0;
    gboolean ran = g_spawn_sync(NULL, (gchar **)argv->pdata, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                                &out, NULL, &status, NULL);
    g_ptr_array_free(argv, TRUE);
    g_assert_true(ran);
    g_assert_true(g_spawn_check_wait_status(status, NULL)); /* a bad filter must fail the test */
    int compared = 0;
    static struct collector c;
    static uint8_t payload[65536 + 4];
    gchar **lines = g_strsplit(out, "\n", -1);
    for (gchar **l = lines; *l; l++) {
        if (!**l)
            continue;
        gchar **cols = g_strsplit(*l, "\t", -1);
        if (g_strv_length(cols) < 2) {
            g_strfreev(cols);
            continue;
        }
        const char *hex = cols[1];
        size_t n = strlen(hex) / 2;
        bool ok = n >= 8 && n <= sizeof payload;
        for (size_t i = 0; ok && i < n; i++) {
            int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
            ok = hi >= 0 && lo >= 0;
            payload[i] = (uint8_t)(hi << 4 | lo);
        }
        uint32_t mlen = ok ? ((uint32_t)payload[1] << 16 | (uint32_t)payload[2] << 8 | payload[3]) : 0;
        /* only frames holding exactly one whole message */
        if (!ok || payload[0] != 0 || mlen + 4 != n) {
            g_strfreev(cols);
            continue;
        }
        collector_reset(&c);
        smb_decode_message(payload + 4, n - 4, mlen, &collect_sink, &c);
        for (size_t f = 0; fields[f] && cols[f + 2]; f++) {
            const char *want = cols[f + 2];
            if (!*want)
                continue;
            if (strcmp(fields[f], "kerberos.msg_type") == 0) {
                /* the GSS token id says the same as tshark's first Kerberos message */
                if (g_str_has_prefix(want, "14"))
                    g_assert_true(c.auth.krb5_ap_req);
                else if (g_str_has_prefix(want, "15"))
                    g_assert_true(c.auth.krb5_ap_rep || c.auth.mech == AUTH_MECH_KERBEROS);
                continue;
            }
            const char *got = collector_get(&c, fields[f]);
            if (!got || strcmp(got, want) != 0)
                g_test_message("%s frame %s: %s tshark '%s' decoder '%s'", cap, cols[0], fields[f], want,
                               got ? got : "(absent)");
            g_assert_cmpstr(got, ==, want);
        }
        if (c.anomalies)
            g_test_message("%s frame %s: anomaly %s", cap, cols[0], c.last_reason);
        g_assert_cmpint(c.anomalies, ==, 0);
        compared++;
        g_strfreev(cols);
    }
    g_strfreev(lines);
    g_free(out);
    return compared;
}

int corpus_diff(const char *tshark, const char *cap)
{
    return diff_run(tshark, cap, "smb2.cmd in {0,1,3} || smb.cmd in {0x72,0x73,0x75}", diff_fields);
}
