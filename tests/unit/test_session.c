/* test_session.c - the session model's entry points for transports without
 * a TCP flow: smb_conn_new_endpoints(), smb_conn_message() and
 * smb_conn_close_endpoints().
 *
 * The messages are the SMB vectors cut from samples/ (their expected values
 * come from tshark).  Each conversation is fed twice: framed, with the
 * 4-byte transport header, through smb_conn_data(), and whole, without it,
 * through smb_conn_message(); both must give the same facts, and the facts
 * must agree with tshark's fields of the same frames. */
#include <glib.h>
#include <string.h>

#include "conn_summary.h"
#include "ctx_pool.h"
#include "verdict.h"
#include "session.h"
#include "session_priv.h"
#include "session_xchg.h"
#include "smb_test_util.h"

static const char *const smb2_conv[] = {
    "smb2_311_negotiate_req", "smb2_311_negotiate_resp", "smb2_311_session_req1", "smb2_311_session_resp1",
    "smb2_311_session_req2",  "smb2_311_session_resp2",  "smb2_311_tree_req",     "smb2_311_tree_resp",
};

static const char *const smb1_conv[] = {
    "smb1_negotiate_req",  "smb1_negotiate_resp", "smb1_session_req1", "smb1_session_resp1",
    "smb1_session_req2",   "smb1_session_resp2",  "smb1_tree_req",     "smb1_tree_resp",
};

static void load(const char *name, struct smb_vector *v)
{
    char *path = g_strdup_printf("%s/%s.vec", SMB_VECTOR_DIR, name);
    g_assert_true(vector_load(path, v));
    g_assert_cmpuint(v->payload_len, >, 4);
    g_free(path);
}

static const char *field(const struct smb_vector *v, const char *name)
{
    for (int i = 0; i < v->nfields; i++)
        if (strcmp(v->fields[i].name, name) == 0)
            return v->fields[i].value;
    return NULL;
}

/* Client 10.0.0.1:50000 (side 0), server 10.0.0.2:445. */
static struct smb_conn *open_conn(const struct session_config *cfg, int client, bool midstream)
{
    struct ip_addr addr[2];
    memset(addr, 0, sizeof addr);
    for (int d = 0; d < 2; d++) {
        addr[d].family = 4;
        addr[d].bytes[0] = 10;
        addr[d].bytes[3] = (uint8_t)(d + 1);
    }
    const uint16_t port[2] = { 50000, 445 };
    return smb_conn_new_endpoints(cfg, addr, port, client, midstream);
}

/* Feed a conversation: framed (the vector as captured) or whole messages. */
static void feed(struct smb_conn *s, const char *const *names, size_t n, bool whole)
{
    for (size_t i = 0; i < n; i++) {
        struct smb_vector v;
        load(names[i], &v);
        int dir = strstr(names[i], "_req") ? 0 : 1;
        if (whole)
            smb_conn_message(s, dir, v.payload + 4, v.payload_len - 4, (int64_t)i);
        else
            smb_conn_data(s, dir, v.payload, v.payload_len, (int64_t)i);
    }
}

static bool close_conn(struct smb_conn *s)
{
    const uint64_t bytes[2] = { 1000, 2000 }, packets[2] = { 8, 9 };
    return smb_conn_close_endpoints(s, 100, 200, bytes, packets, "end");
}

static void same_wstr(const struct wstr *a, const struct wstr *b)
{
    g_assert_cmpuint(a->len, ==, b->len);
    if (a->len)
        g_assert_cmpmem(a->p, a->len, b->p, b->len);
}

/* A session's context list is defined up to stored items and the
 * netname's NUL (session.h): those compared, byte for byte. */
static void same_ctx_list(const struct smb2_neg_ctx_list *a, const struct smb2_neg_ctx_list *b)
{
    g_assert_cmpint(a->status, ==, b->status);
    g_assert_true(a->reason == b->reason);
    g_assert_cmpuint(a->offset, ==, b->offset);
    g_assert_cmpuint(a->count, ==, b->count);
    g_assert_cmpuint(a->walked, ==, b->walked);
    g_assert_cmpuint(a->stored, ==, b->stored);
    g_assert_cmpmem(a->items, a->stored * sizeof a->items[0], b->items, b->stored * sizeof b->items[0]);
    g_assert_cmpint(a->has_netname, ==, b->has_netname);
    g_assert_cmpint(a->netname_truncated, ==, b->netname_truncated);
    g_assert_cmpstr(a->netname, ==, b->netname);
}

/* Every fact the reports read, framed against whole. */
static void same_facts(const struct smb_conn *a, const struct smb_conn *b)
{
    char ba[64], bb[64];
    g_assert_cmpstr(smb_conn_dialect_text(a, ba, sizeof ba), ==, smb_conn_dialect_text(b, bb, sizeof bb));
    g_assert_cmpint(smb_conn_smb_version(a), ==, smb_conn_smb_version(b));
    g_assert_cmpstr(smb_conn_signing_mode(a), ==, smb_conn_signing_mode(b));
    g_assert_cmpint(a->client, ==, b->client);
    g_assert_cmpint(a->client_rule, ==, b->client_rule);
    g_assert_cmpuint(a->obs.smb_messages, ==, b->obs.smb_messages);
    g_assert_cmpint(a->verdict.cls, ==, b->verdict.cls);
    g_assert_cmpuint(a->dialects_offered->len, ==, b->dialects_offered->len);
    g_assert_cmpmem(a->dialects_offered->data, a->dialects_offered->len * 2, b->dialects_offered->data,
                    b->dialects_offered->len * 2);
    g_assert_cmpuint(a->smb1_dialects->len, ==, b->smb1_dialects->len);
    for (guint i = 0; i < a->smb1_dialects->len; i++)
        same_wstr(&g_array_index(a->smb1_dialects, struct wstr, i), &g_array_index(b->smb1_dialects, struct wstr, i));
    g_assert_cmpint(a->smb1_chosen, ==, b->smb1_chosen);
    g_assert_cmpuint(a->server_capabilities, ==, b->server_capabilities);
    g_assert_cmpmem(a->server_guid, 16, b->server_guid, 16);
    g_assert_true((a->ctx_request == NULL) == (b->ctx_request == NULL));
    if (a->ctx_request)
        same_ctx_list(a->ctx_request, b->ctx_request);
    g_assert_cmpuint(a->signed_pdus, ==, b->signed_pdus);
    g_assert_cmpuint(a->encrypted_pdus, ==, b->encrypted_pdus);
    g_assert_cmpuint(a->decode_anomalies, ==, b->decode_anomalies);
    g_assert_cmpuint(a->sessions->len, ==, b->sessions->len);
    for (guint i = 0; i < a->sessions->len; i++) {
        const struct smb_session_rec *x = &g_array_index(a->sessions, struct smb_session_rec, i);
        const struct smb_session_rec *y = &g_array_index(b->sessions, struct smb_session_rec, i);
        g_assert_cmpuint(x->id, ==, y->id);
        g_assert_cmpint(x->mech, ==, y->mech);
        g_assert_cmpint(x->established, ==, y->established);
        same_wstr(&x->user, &y->user);
        same_wstr(&x->domain, &y->domain);
    }
    g_assert_cmpuint(a->shares->len, ==, b->shares->len);
    for (guint i = 0; i < a->shares->len; i++) {
        const struct smb_share_rec *x = &g_array_index(a->shares, struct smb_share_rec, i);
        const struct smb_share_rec *y = &g_array_index(b->shares, struct smb_share_rec, i);
        same_wstr(&x->path, &y->path);
        g_assert_cmpint(x->answered, ==, y->answered);
        g_assert_cmpuint(x->tree_id, ==, y->tree_id);
        g_assert_cmpuint(x->status, ==, y->status);
    }
}

/* The framed connection against tshark's fields of the same frames. */
static void check_tshark(const struct smb_conn *s, const char *neg_resp, const char *sess_req, const char *tree_req,
                         const char *path_field)
{
    struct smb_vector v;
    load(sess_req, &v);
    g_assert_cmpuint(s->sessions->len, ==, 1);
    const struct smb_session_rec *r = &g_array_index(s->sessions, struct smb_session_rec, 0);
    g_assert_true(r->established);
    g_assert_cmpstr((const char *)r->user.p, ==, field(&v, "ntlmssp.auth.username"));
    load(tree_req, &v);
    g_assert_cmpuint(s->shares->len, ==, 1);
    const struct smb_share_rec *sh = &g_array_index(s->shares, struct smb_share_rec, 0);
    g_assert_cmpstr((const char *)sh->path.p, ==, field(&v, path_field));
    g_assert_true(sh->answered);
    load(neg_resp, &v);
    const char *dialect = field(&v, "smb2.dialect");
    if (dialect)
        g_assert_cmpuint(s->dialect, ==, g_ascii_strtoull(dialect, NULL, 16));
    else
        g_assert_cmpint(s->smb1_chosen, ==, (int)g_ascii_strtoll(field(&v, "smb.dialect.index"), NULL, 10));
}

static void run_pair(const char *const *conv, size_t n, bool fast, int client)
{
    const struct session_config cfg = { 0, !fast, NULL };
    struct smb_conn *framed = open_conn(&cfg, client, false);
    struct smb_conn *whole = open_conn(&cfg, client, false);
    feed(framed, conv, n, false);
    feed(whole, conv, n, true);
    g_assert_true(close_conn(framed));
    g_assert_true(close_conn(whole));
    /* framed messages were NBSS session messages; whole ones had no header */
    g_assert_cmpuint(framed->obs.session_messages, ==, n);
    g_assert_cmpuint(whole->obs.session_messages, ==, 0);
    g_assert_cmpuint(whole->obs.smb_messages, ==, n);
    g_assert_cmpuint(whole->bytes[1], ==, 2000);
    g_assert_cmpuint(whole->packets[0], ==, 8);
    g_assert_cmpint(whole->last_ts, ==, 200);
    g_assert_true(whole->handshake_seen);
    g_assert_cmpint(whole->verdict.cls, ==, TRANSPORT_DIRECT);
    g_assert_cmpint(whole->client, ==, client >= 0 ? client : 0);
    g_assert_cmpstr(client_rule_name(whole->client_rule), ==, client >= 0 ? "transport" : "negotiate");
    same_facts(framed, whole);
    if (conv == smb2_conv)
        check_tshark(framed, "smb2_311_negotiate_resp", "smb2_311_session_req2", "smb2_311_tree_req", "smb2.tree");
    else
        check_tshark(framed, "smb1_negotiate_resp", "smb1_session_req2", "smb1_tree_req", "smb.path");
    smb_conn_free(framed);
    smb_conn_free(whole);
}

static void test_smb2_whole_equals_framed(void)
{
    run_pair(smb2_conv, G_N_ELEMENTS(smb2_conv), true, 0);
    run_pair(smb2_conv, G_N_ELEMENTS(smb2_conv), false, 0);
}

static void test_smb1_whole_equals_framed(void)
{
    run_pair(smb1_conv, G_N_ELEMENTS(smb1_conv), true, 0);
    run_pair(smb1_conv, G_N_ELEMENTS(smb1_conv), false, 0);
}

/* Without the transport's word the client is named as for a mid-stream
 * TCP capture: the sender of the NEGOTIATE request. */
static void test_client_unknown(void) { run_pair(smb2_conv, G_N_ELEMENTS(smb2_conv), true, -1); }

/* A whole message without an SMB protocol id counts as the framer counts a
 * session message without one, and does not make the connection SMB. */
static void test_not_smb_message(void)
{
    const struct session_config cfg = { 0, false, NULL };
    struct smb_conn *s = open_conn(&cfg, 0, true);
    const uint8_t junk[] = { 0x16, 0x03, 0x01, 0x00, 0x10, 0x00 };
    smb_conn_message(s, 0, junk, sizeof junk, 1);
    g_assert_cmpuint(s->framer_anomalies, ==, 1);
    g_assert_cmpuint(s->obs.smb_messages, ==, 0);
    g_assert_false(close_conn(s));
    g_assert_true(s->midstream);
    g_assert_false(s->handshake_seen);
    /* closed: further messages are ignored */
    smb_conn_message(s, 0, junk, sizeof junk, 2);
    g_assert_cmpuint(s->framer_anomalies, ==, 1);
    smb_conn_free(s);
}

/* Equal negotiate context lists of closed connections kept for the report
 * (smb_conn_retain) are kept once, and the pool is gone with the last
 * connection; a connection only closed (folded and freed) is not pooled. */
static void test_ctx_shared(void)
{
    const struct session_config cfg = { 0, false, NULL };
    struct smb_conn *a = open_conn(&cfg, 0, false), *b = open_conn(&cfg, 0, false);
    feed(a, smb2_conv, G_N_ELEMENTS(smb2_conv), false);
    feed(b, smb2_conv, G_N_ELEMENTS(smb2_conv), true);
    g_assert_nonnull(a->ctx_request);
    g_assert_nonnull(a->ctx_response);
    g_assert_true(a->ctx_request != b->ctx_request); /* open: each its own */
    g_assert_cmpuint(ctx_pool_size(), ==, 0);
    close_conn(a);
    close_conn(b);
    g_assert_true(a->ctx_request != b->ctx_request); /* closed, not kept: not pooled */
    g_assert_cmpuint(ctx_pool_size(), ==, 0);
    smb_conn_retain(a);
    smb_conn_retain(b);
    smb_conn_retain(b); /* twice is once */
    g_assert_true(a->ctx_request == b->ctx_request);
    g_assert_true(a->ctx_response == b->ctx_response);
    g_assert_cmpuint(ctx_pool_size(), ==, 2);
    smb_conn_free(a);
    g_assert_cmpuint(ctx_pool_size(), ==, 2);
    g_assert_cmpuint(b->ctx_request->stored, >, 0); /* still readable */
    smb_conn_free(b);
    g_assert_cmpuint(ctx_pool_size(), ==, 0);
}

/* Past CTX_POOL_MAX distinct lists a list stays private. */
static void test_ctx_bounded(void)
{
    enum { N = CTX_POOL_MAX + 3 };
    struct smb2_neg_ctx_list **kept = g_new0(struct smb2_neg_ctx_list *, N);
    for (unsigned i = 0; i < N; i++) {
        struct smb2_neg_ctx_list *l = g_new0(struct smb2_neg_ctx_list, 1);
        l->offset = i; /* distinct */
        kept[i] = ctx_pool_keep(l);
        g_assert_true(kept[i] == l);
    }
    g_assert_cmpuint(ctx_pool_size(), ==, CTX_POOL_MAX);
    /* an equal list of a pooled one is shared, of a private one is not */
    struct smb2_neg_ctx_list *dup = g_new0(struct smb2_neg_ctx_list, 1);
    dup->offset = 7;
    g_assert_true(ctx_pool_keep(dup) == kept[7]);
    dup = g_new0(struct smb2_neg_ctx_list, 1);
    dup->offset = N - 1;
    struct smb2_neg_ctx_list *own = ctx_pool_keep(dup);
    g_assert_true(own == dup && own != kept[N - 1]);
    ctx_pool_drop(own);
    ctx_pool_drop(kept[7]);
    for (unsigned i = 0; i < N; i++)
        ctx_pool_drop(kept[i]);
    g_assert_cmpuint(ctx_pool_size(), ==, 0);
    g_free(kept);
}

/* conn_summary_from_conn() reuses the policy's last answer for equal
 * facts: one policy variable changed in place between connections, and
 * connections of other facts in between, must still get the policy's own
 * answer each time. */
static void test_summary_policy_changes(void)
{
    struct session_config cfg = { 0 };
    struct smb_conn *c[2] = { open_conn(&cfg, 0, false), open_conn(&cfg, 0, false) };
    feed(c[0], smb1_conv, G_N_ELEMENTS(smb1_conv), false);
    feed(c[1], smb2_conv, G_N_ELEMENTS(smb2_conv), false);
    for (int i = 0; i < 2; i++)
        g_assert_true(close_conn(c[i]));
    struct policy p = policy_default();
    uint32_t seen = 0;
    for (int round = 0; round < 12; round++) {
        p.allow_smb1 = round % 3 == 1;
        p.require_signing = round % 4 >= 2;
        p.min_dialect = round % 5 == 4 ? 0x0311 : 0;
        p.require_kerberos = round == 7;
        for (int k = 0; k < 4; k++) {
            const struct smb_conn *s = c[(round + k / 2) % 2];
            struct conn_summary cs;
            conn_summary_from_conn(&cs, s, &p);
            struct policy_conn_facts f = verdict_conn_facts(s);
            g_assert_cmphex(cs.rules, ==, policy_check_connection(&p, &f));
            g_assert_cmphex(cs.undecided, ==, policy_undecided_connection(&p, &f));
            seen |= cs.rules;
        }
    }
    /* the rounds broke rules and kept to them */
    g_assert_cmpuint(__builtin_popcount(seen), >=, 2);
    for (int i = 0; i < 2; i++)
        smb_conn_free(c[i]);
}

/* Sessions made from a pool: blocks given back by one connection are
 * handed to the next (zeroed: the facts equal those of a connection made
 * without a pool, whichever conversation came before), and a retained
 * connection outlives its pool (freed after it: ASan catches a block
 * given back to the freed pool). */
static void test_pool_reuse(void)
{
    const struct session_config plain = { 0, false, NULL };
    struct session_config cfg = { 0, false, session_pool_new() };
    struct smb_conn *kept = NULL;
    for (int round = 0; round < 6; round++) {
        const char *const *conv = round % 2 ? smb1_conv : smb2_conv;
        size_t n = round % 2 ? G_N_ELEMENTS(smb1_conv) : G_N_ELEMENTS(smb2_conv);
        struct smb_conn *a = open_conn(&cfg, 0, false), *b = open_conn(&plain, 0, false);
        feed(a, conv, n, false);
        feed(b, conv, n, false);
        g_assert_true(close_conn(a));
        g_assert_true(close_conn(b));
        same_facts(a, b);
        g_assert_cmpuint(a->signed_pdus, ==, b->signed_pdus);
        g_assert_cmpint(a->announced, ==, false);
        if (round == 2) {
            smb_conn_retain(a);
            kept = a;
        } else {
            a->announced = true; /* dirty the block: the next one must come back zeroed */
            smb_conn_free(a);
        }
        smb_conn_free(b);
    }
    session_pool_free(cfg.pool);
    g_assert_nonnull(kept->ctx_request);
    smb_conn_free(kept);
}

/* session_ctx_list_put() copies what a list's readers read into a
 * pooled block that still holds another connection's list: the copy reads
 * as the original (items, netname), and the context pool, which compares
 * what is defined, takes two such copies for one list. */
static void test_ctx_list_put_stale(void)
{
    struct smb2_neg_ctx_list src;
    memset(&src, 0, sizeof src);
    src.status = SMB2_CTX_OK;
    src.count = src.walked = src.stored = 2;
    src.items[0].type = SMB2_CTX_ENCRYPTION;
    src.items[0].ids_stored = 1;
    src.items[0].ids[0] = 2;
    src.items[1].type = SMB2_CTX_NETNAME;
    src.has_netname = true;
    strcpy(src.netname, "srv");
    struct smb2_neg_ctx_list *a = g_new(struct smb2_neg_ctx_list, 1), *b = g_new(struct smb2_neg_ctx_list, 1);
    memset(a, 0xAB, sizeof *a); /* another connection's longer list */
    memset(b, 0x5C, sizeof *b);
    session_ctx_list_put(a, &src);
    session_ctx_list_put(b, &src);
    same_ctx_list(a, &src);
    same_ctx_list(b, &src);
    g_assert_true(smb2_ctx_find(a, SMB2_CTX_NETNAME) == &a->items[1]);
    g_assert_null(smb2_ctx_find(a, SMB2_CTX_SIGNING));
    struct smb2_neg_ctx_list *ka = ctx_pool_keep(a), *kb = ctx_pool_keep(b);
    g_assert_true(ka == a && kb == a); /* b was equal: freed, a shared */
    ctx_pool_drop(ka);
    ctx_pool_drop(kb);
    g_assert_cmpuint(ctx_pool_size(), ==, 0);
}

/* Equal context lists of one pool's connections are one shared block
 * (session_ctx_list_set()), read only: SESSION_CTX_MEMO (4) of them at a
 * time, a list past them is the connection's own copy, an entry no
 * connection points to any more takes the next new list, a later response
 * replaces a shared list without writing it, and a retained connection
 * takes its own copy (it outlives the pool: ASan). */
static void make_list(struct smb2_neg_ctx_list *l, uint16_t k)
{
    memset(l, 0, sizeof *l);
    l->status = SMB2_CTX_OK;
    l->offset = 112;
    l->count = l->walked = l->stored = 2;
    l->items[0].type = SMB2_CTX_PREAUTH_INTEGRITY;
    l->items[0].ids_stored = 1;
    l->items[0].ids[0] = (uint16_t)(k + 1); /* the lists differ here */
    l->items[1].type = SMB2_CTX_NETNAME;
    l->has_netname = true;
    strcpy(l->netname, "srv");
}

static void test_ctx_memo(void)
{
    struct session_config cfg = { 0, false, session_pool_new() };
    struct smb2_neg_ctx_list l[6];
    for (uint16_t k = 0; k < 6; k++)
        make_list(&l[k], k);
    struct smb_conn *c[8];
    for (int i = 0; i < 8; i++)
        c[i] = open_conn(&cfg, 0, false);
    session_ctx_list_set(c[0], false, &l[0]);
    session_ctx_list_set(c[1], false, &l[0]);
    g_assert_true(c[0]->ctx_request == c[1]->ctx_request); /* shared */
    for (int i = 2; i < 5; i++) /* lists 1..3: the four entries taken */
        session_ctx_list_set(c[i], false, &l[i - 1]);
    session_ctx_list_set(c[5], false, &l[4]); /* none free: its own */
    for (int i = 0; i < 5; i++)
        g_assert_true(c[5]->ctx_request != c[i]->ctx_request);
    same_ctx_list(c[5]->ctx_request, &l[4]);
    /* a later response replaces the shared one, which still reads as before */
    session_ctx_list_set(c[0], true, &l[1]);
    g_assert_true(c[0]->ctx_response == c[2]->ctx_request);
    session_ctx_list_set(c[0], true, &l[5]);
    same_ctx_list(c[0]->ctx_response, &l[5]);
    same_ctx_list(c[2]->ctx_request, &l[1]);
    /* list 0's entry freed by its last connection: list 4 takes it */
    smb_conn_free(c[0]);
    smb_conn_free(c[1]);
    session_ctx_list_set(c[6], false, &l[4]);
    session_ctx_list_set(c[7], false, &l[4]);
    g_assert_true(c[6]->ctx_request == c[7]->ctx_request);
    same_ctx_list(c[6]->ctx_request, &l[4]);
    for (int i = 2; i < 5; i++)
        same_ctx_list(c[i]->ctx_request, &l[i - 1]);
    /* retained: its own copy, kept by ctx_pool past the session pool */
    smb_conn_retain(c[6]);
    g_assert_true(c[6]->ctx_request != c[7]->ctx_request);
    same_ctx_list(c[6]->ctx_request, &l[4]);
    for (int i = 2; i < 8; i++)
        if (i != 6)
            smb_conn_free(c[i]);
    session_pool_free(cfg.pool);
    same_ctx_list(c[6]->ctx_request, &l[4]);
    smb_conn_free(c[6]);
    g_assert_cmpuint(ctx_pool_size(), ==, 0);
}

/* A NEGOTIATE request's dialects, as its context lists: equal lists of
 * one pool's connections are one shared array (session_dialects_set()),
 * read only; one to append to (an SMB1 offer) becomes its own copy, the
 * shared one unchanged; past the four entries in use a list is the
 * connection's own; a retained connection takes its own copy. */
static void same_dialects(const struct smb_conn *s, const uint16_t *d, guint n)
{
    g_assert_cmpuint(s->dialects_offered->len, ==, n);
    if (n)
        g_assert_cmpmem(s->dialects_offered->data, n * sizeof *d, d, n * sizeof *d);
}

static void test_dialects_memo(void)
{
    struct session_config cfg = { 0, false, session_pool_new() };
    static const uint16_t d[6][3] = { { 0x202, 0x210, 0x311 }, { 0x202 }, { 0x210 }, { 0x300 }, { 0x302 }, { 0x311 } };
    struct smb_conn *c[8];
    for (int i = 0; i < 8; i++)
        c[i] = open_conn(&cfg, 0, false);
    session_dialects_set(c[0], d[0], 3);
    session_dialects_set(c[1], d[0], 3);
    g_assert_true(c[0]->dialects_offered == c[1]->dialects_offered); /* shared */
    same_dialects(c[1], d[0], 3);
    /* appended to: its own copy first */
    const uint16_t more = 0x2FF;
    g_array_append_val(session_dialects_array(c[1]), more);
    g_assert_true(c[0]->dialects_offered != c[1]->dialects_offered);
    same_dialects(c[0], d[0], 3);
    const uint16_t four[] = { 0x202, 0x210, 0x311, 0x2FF };
    same_dialects(c[1], four, 4);
    for (int i = 2; i < 5; i++) /* dialects 1..3: the four entries in use */
        session_dialects_set(c[i], d[i - 1], 1);
    session_dialects_set(c[5], d[4], 1); /* none free: its own */
    for (int i = 0; i < 5; i++)
        g_assert_true(c[5]->dialects_offered != c[i]->dialects_offered);
    same_dialects(c[5], d[4], 1);
    /* set again (a second request is ignored by the session, not here): replaced */
    session_dialects_set(c[2], d[5], 1);
    same_dialects(c[2], d[5], 1);
    same_dialects(c[0], d[0], 3);
    session_dialects_set(c[3], NULL, 0);
    same_dialects(c[3], NULL, 0);
    /* retained: its own copy, past the pool */
    smb_conn_retain(c[0]);
    session_dialects_set(c[6], d[0], 3);
    g_assert_true(c[0]->dialects_offered != c[6]->dialects_offered);
    same_dialects(c[0], d[0], 3);
    for (int i = 1; i < 8; i++)
        smb_conn_free(c[i]);
    session_pool_free(cfg.pool);
    same_dialects(c[0], d[0], 3);
    smb_conn_free(c[0]);
}

/* A TREE_CONNECT still unanswered at the capture's end is kept for a merge
 * (session_xchg.h); the live block that holds the waiting ones is pooled,
 * and a block taken again keeps its old ring (only the bits that say which
 * slots hold one are cleared): a connection made from it reports what one
 * made without a pool reports, with or without a request waiting, after a
 * connection that left one waiting. */
static void test_pool_pending_trees(void)
{
    const struct session_config plain = { 0, false, NULL };
    struct session_config cfg = { 0, false, session_pool_new() };
    const size_t whole = G_N_ELEMENTS(smb2_conv), unanswered = whole - 1;
    const size_t lens[] = { unanswered, whole, unanswered, unanswered, whole };
    for (size_t round = 0; round < G_N_ELEMENTS(lens); round++) {
        struct smb_conn *a = open_conn(&cfg, 0, false), *b = open_conn(&plain, 0, false);
        feed(a, smb2_conv, lens[round], false);
        feed(b, smb2_conv, lens[round], false);
        g_assert_true(close_conn(a));
        g_assert_true(close_conn(b));
        unsigned na = a->xchg ? a->xchg->n_trees : 0, nb = b->xchg ? b->xchg->n_trees : 0;
        g_assert_cmpuint(na, ==, nb);
        g_assert_cmpuint(na, ==, lens[round] == unanswered ? 1 : 0);
        if (na)
            g_assert_cmpuint(a->xchg->trees[0].mid, ==, b->xchg->trees[0].mid);
        smb_conn_free(a);
        smb_conn_free(b);
    }
    session_pool_free(cfg.pool);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/session/ctx-list-put-stale", test_ctx_list_put_stale);
    g_test_add_func("/session/ctx-memo", test_ctx_memo);
    g_test_add_func("/session/dialects-memo", test_dialects_memo);
    g_test_add_func("/session/smb2-whole-equals-framed", test_smb2_whole_equals_framed);
    g_test_add_func("/session/smb1-whole-equals-framed", test_smb1_whole_equals_framed);
    g_test_add_func("/session/client-unknown", test_client_unknown);
    g_test_add_func("/session/not-smb-message", test_not_smb_message);
    g_test_add_func("/session/ctx-shared", test_ctx_shared);
    g_test_add_func("/session/ctx-bounded", test_ctx_bounded);
    g_test_add_func("/session/summary-policy-changes", test_summary_policy_changes);
    g_test_add_func("/session/pool-reuse", test_pool_reuse);
    g_test_add_func("/session/pool-pending-trees", test_pool_pending_trees);
    return g_test_run();
}
