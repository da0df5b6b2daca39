/* Transport classification, policy rules and the dialect table.
 * Expected classes follow the rule order documented in dissector/transport/classify.c
 * (RFC 1002 4.3 for NBSS, MS-SMB2 2.1 for direct transport). */
#include <glib.h>
#include <string.h>

#include "classify.h"
#include "dialect.h"
#include "policy.h"

struct class_case {
    const char *name;
    struct transport_obs obs;
    enum transport_class want;
    uint32_t want_bits; /* evidence bits that must be set */
};

static const struct class_case class_cases[] = {
    { "445 direct with handshake", { .server_port = 445, .handshake_seen = true, .session_messages = 10, .smb_messages = 10 },
      TRANSPORT_DIRECT, EV_DIRECT_FRAMING },
    { "139 with session request", { .server_port = 139, .handshake_seen = true, .session_requests = 1, .positive_responses = 1, .session_messages = 8 },
      TRANSPORT_NBT, EV_NBSS_HANDSHAKE | EV_PORT_139 },
    { "139 midstream, no request seen", { .server_port = 139, .session_messages = 4, .smb_messages = 4 },
      TRANSPORT_NBT, EV_PORT_139 | EV_NO_TCP_HANDSHAKE },
    { "139 attempt with nothing but SYN: no SMB connection", { .server_port = 139, .handshake_seen = true },
      TRANSPORT_NONE, 0 },
    { "session request on 445", { .server_port = 445, .handshake_seen = true, .session_requests = 1, .positive_responses = 1, .session_messages = 4 },
      TRANSPORT_NBT_NONSTANDARD_PORT, EV_NBSS_HANDSHAKE },
    { "negative response on 8445", { .server_port = 8445, .handshake_seen = true, .session_requests = 1, .negative_responses = 1 },
      TRANSPORT_NBT_NONSTANDARD_PORT, EV_NBSS_HANDSHAKE | EV_ALT_PORT },
    { "keep-alive on 445 stays direct", { .server_port = 445, .handshake_seen = true, .session_messages = 6, .smb_messages = 6, .keepalives = 2 },
      TRANSPORT_DIRECT, EV_KEEPALIVE_ON_DIRECT },
    { "midstream on 445", { .server_port = 445, .session_messages = 3, .smb_messages = 3 },
      TRANSPORT_UNKNOWN_START, EV_NO_TCP_HANDSHAKE },
    { "alternative port direct", { .server_port = 8445, .handshake_seen = true, .session_messages = 5, .smb_messages = 5, .largest_message = 0x20000, .length_over_17bit = true },
      TRANSPORT_DIRECT, EV_ALT_PORT | EV_LENGTH_OVER_17BIT },
    { "nothing at all on 445", { .server_port = 445, .handshake_seen = true },
      TRANSPORT_NONE, 0 },
    /* SMB Direct: the carrier decides, whatever the port */
    { "iWARP on 5445", { .carrier = CARRIER_RDMA_IWARP, .server_port = 5445, .handshake_seen = true, .smb_messages = 40 },
      TRANSPORT_RDMA_IWARP, EV_RDMA_IWARP },
    { "iWARP on an alternative port", { .carrier = CARRIER_RDMA_IWARP, .server_port = 15445, .handshake_seen = true, .smb_messages = 40 },
      TRANSPORT_RDMA_IWARP, EV_RDMA_IWARP | EV_ALT_PORT },
    { "iWARP on 139 is still iWARP", { .carrier = CARRIER_RDMA_IWARP, .server_port = 139, .handshake_seen = true, .smb_messages = 2 },
      TRANSPORT_RDMA_IWARP, EV_RDMA_IWARP },
    { "RoCEv2", { .carrier = CARRIER_RDMA_ROCE, .server_port = 4791, .handshake_seen = true, .smb_messages = 41 },
      TRANSPORT_RDMA_ROCE, EV_RDMA_ROCE },
    { "iWARP that carried no SMB: not an SMB connection", { .carrier = CARRIER_RDMA_IWARP, .server_port = 4420, .handshake_seen = true },
      TRANSPORT_NONE, 0 },
    { "RoCEv2 that only negotiated SMB Direct: an SMB connection", { .carrier = CARRIER_RDMA_ROCE, .server_port = 4791, .handshake_seen = true, .smbd_negotiates = 2 },
      TRANSPORT_RDMA_ROCE, EV_RDMA_ROCE },
};

static void test_classes(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(class_cases); i++) {
        const struct class_case *c = &class_cases[i];
        struct transport_verdict v = transport_classify(&c->obs);
        if (v.cls != c->want)
            g_error("%s: got %s, want %s", c->name, transport_class_name(v.cls), transport_class_name(c->want));
        g_assert_cmphex(v.evidence & c->want_bits, ==, c->want_bits);
    }
}

static void test_class_names(void)
{
    g_assert_cmpstr(transport_class_name(TRANSPORT_DIRECT), ==, "direct");
    g_assert_cmpstr(transport_class_name(TRANSPORT_NBT), ==, "nbt");
    g_assert_cmpstr(transport_class_name(TRANSPORT_NBT_NONSTANDARD_PORT), ==, "nbt-nonstandard-port");
    g_assert_cmpstr(transport_class_name(TRANSPORT_UNKNOWN_START), ==, "unknown-start");
    g_assert_cmpstr(transport_class_name(TRANSPORT_RDMA_IWARP), ==, "rdma-iwarp");
    g_assert_cmpstr(transport_class_name(TRANSPORT_RDMA_ROCE), ==, "rdma-roce");
    g_assert_false(transport_is_alt_port(TRANSPORT_RDMA_IWARP, 5445));
    g_assert_true(transport_is_alt_port(TRANSPORT_RDMA_IWARP, 445));
    g_assert_false(transport_is_alt_port(TRANSPORT_RDMA_ROCE, 4791));
    g_assert_true(transport_is_alt_port(TRANSPORT_DIRECT, 5445));
    g_assert_cmpstr(transport_class_name((enum transport_class)99), ==, "none");
    char buf[256];
    transport_evidence_text(EV_NBSS_HANDSHAKE | EV_PORT_139, buf, sizeof buf);
    g_assert_cmpstr(buf, ==, "NBSS session request/response seen, server port 139");
    char tiny[8];
    transport_evidence_text(EV_NBSS_HANDSHAKE, tiny, sizeof tiny);
    g_assert_cmpuint(strlen(tiny), <, sizeof tiny);
    g_assert_cmpstr(nbss_type_key(0x85), ==, "keepalive");
    g_assert_null(nbss_type_name(0x86));
}

/* One header of each NBSS type adds one to its own counter and to no
 * other; a byte that is no NBSS type counts nothing. */
static void test_count_nbss(void)
{
    static const struct {
        uint8_t type;
        size_t counter;
    } rows[] = {
        { NBSS_SESSION_MESSAGE, offsetof(struct transport_obs, session_messages) },
        { NBSS_SESSION_REQUEST, offsetof(struct transport_obs, session_requests) },
        { NBSS_POSITIVE_RESPONSE, offsetof(struct transport_obs, positive_responses) },
        { NBSS_NEGATIVE_RESPONSE, offsetof(struct transport_obs, negative_responses) },
        { NBSS_RETARGET_RESPONSE, offsetof(struct transport_obs, retarget_responses) },
        { NBSS_KEEPALIVE, offsetof(struct transport_obs, keepalives) },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
        struct transport_obs o, before;
        memset(&o, 0, sizeof o);
        g_assert_true(transport_obs_count_nbss(&o, rows[i].type, 4));
        memcpy(&before, &o, sizeof o);
        uint32_t got;
        memcpy(&got, (const char *)&o + rows[i].counter, sizeof got);
        g_assert_cmpuint(got, ==, 1);
        /* zero the counter: everything else must be as it was (untouched) */
        memset((char *)&before + rows[i].counter, 0, sizeof got);
        before.largest_message = 0;
        struct transport_obs zero;
        memset(&zero, 0, sizeof zero);
        g_assert_cmpmem(&before, sizeof before, &zero, sizeof zero);
        g_assert_cmpuint(o.largest_message, ==, rows[i].type == NBSS_SESSION_MESSAGE ? 4 : 0);
    }
    struct transport_obs o;
    memset(&o, 0, sizeof o);
    g_assert_false(transport_obs_count_nbss(&o, 0x86, 10));
    g_assert_false(transport_obs_count_nbss(&o, 0x01, 10));
    g_assert_true(transport_obs_count_nbss(&o, NBSS_SESSION_MESSAGE, NBSS_MAX_LENGTH));
    g_assert_false(o.length_over_17bit);
    g_assert_true(transport_obs_count_nbss(&o, NBSS_SESSION_MESSAGE, NBSS_MAX_LENGTH + 1));
    g_assert_true(o.length_over_17bit);
    g_assert_cmpuint(o.largest_message, ==, NBSS_MAX_LENGTH + 1);
    g_assert_cmpuint(o.session_messages, ==, 2);
}

static void test_dialects(void)
{
    char buf[16];
    g_assert_cmpstr(smb2_dialect_name(0x0311, buf, sizeof buf), ==, "3.1.1");
    g_assert_cmpstr(smb2_dialect_name(0x02FF, buf, sizeof buf), ==, "2.x");
    g_assert_cmpstr(smb2_dialect_name(0x0abc, buf, sizeof buf), ==, "0x0abc");
    uint16_t code = 0;
    g_assert_true(smb2_dialect_parse("3.0", &code));
    g_assert_cmphex(code, ==, 0x0300);
    g_assert_true(smb2_dialect_parse("smb3_11", &code));
    g_assert_cmphex(code, ==, 0x0311);
    g_assert_true(smb2_dialect_parse("0x0302", &code));
    g_assert_cmphex(code, ==, 0x0302);
    g_assert_false(smb2_dialect_parse("0x12345", &code));
    g_assert_false(smb2_dialect_parse("4.0", &code));
    g_assert_cmpint(smb2_dialect_rank(0x0300), <, smb2_dialect_rank(0x0311));
    g_assert_cmpint(smb2_dialect_rank(0x0210), <, smb2_dialect_rank(0x0300));
    g_assert_cmphex(smb1_dialect_smb2_code((const uint8_t *)"SMB 2.???", 9), ==, 0x02FF);
    g_assert_cmphex(smb1_dialect_smb2_code((const uint8_t *)"SMB 2.002", 9), ==, 0x0202);
    g_assert_cmphex(smb1_dialect_smb2_code((const uint8_t *)"NT LM 0.12", 10), ==, 0);
    /* every row is found by its code (the lookup is a switch beside the table) */
    size_t rows = 0;
    for (const struct smb2_dialect_info *d; (d = smb2_dialect_at(rows)); rows++)
        g_assert_true(smb2_dialect_lookup(d->code) == d);
    g_assert_cmpuint(rows, ==, 9);
    g_assert_null(smb2_dialect_lookup(0x0312));
    g_assert_null(smb2_dialect_lookup(0));
}

static void test_policy(void)
{
    struct policy p = policy_default();
    struct policy_conn_facts smb1 = { .transport = TRANSPORT_DIRECT, .smb_version = 1 };
    /* Seen from the start with the negotiate decoded: every rule is decidable. */
    struct policy_conn_facts smb300 = { .transport = TRANSPORT_DIRECT, .smb_version = 3, .dialect = 0x0300,
                                        .negotiate_seen = true, .smb_seen = true, .messages_seen = true,
                                        .start_seen = true };
    /* The same connection seen mid-stream, negotiate unseen: signing and
     * encryption cannot be decided, so they are undecided, not violated. */
    struct policy_conn_facts mid = { .transport = TRANSPORT_UNKNOWN_START, .smb_version = 3, .smb_seen = true,
                                     .messages_seen = true };
    struct policy_conn_facts nb445 = { .transport = TRANSPORT_NBT_NONSTANDARD_PORT, .smb_version = 2, .dialect = 0x0210 };
    struct policy_conn_facts enc = { .transport = TRANSPORT_DIRECT, .smb_version = 3, .dialect = 0x0311, .encrypted = true };

    g_assert_cmphex(policy_check_connection(&p, &smb1), ==, 1u << RULE_SMB1);
    g_assert_cmphex(policy_check_connection(&p, &smb300), ==, 0);
    g_assert_cmphex(policy_check_connection(&p, &nb445), ==, 1u << RULE_NBSS_TRANSPORT);
    g_assert_cmpint(policy_check_netbios(&p, true), ==, RULE_NETBIOS_ATTEMPT);
    g_assert_cmpint(policy_check_netbios(&p, false), ==, RULE_NETBIOS);

    p.min_dialect = 0x0311;
    g_assert_cmphex(policy_check_connection(&p, &smb300), ==, 1u << RULE_MIN_DIALECT);
    g_assert_cmphex(policy_check_connection(&p, &enc), ==, 0);
    p.require_signing = true;
    p.require_encryption = true;
    g_assert_cmphex(policy_check_connection(&p, &smb300), ==,
                    (1u << RULE_MIN_DIALECT) | (1u << RULE_SIGNING) | (1u << RULE_ENCRYPTION));
    g_assert_cmphex(policy_check_connection(&p, &enc), ==, 0);
    g_assert_cmphex(policy_check_connection(&p, &mid) & ((1u << RULE_SIGNING) | (1u << RULE_ENCRYPTION)), ==, 0);
    g_assert_cmphex(policy_undecided_connection(&p, &mid) & ((1u << RULE_SIGNING) | (1u << RULE_ENCRYPTION)), ==,
                    (1u << RULE_SIGNING) | (1u << RULE_ENCRYPTION));
    g_assert_cmphex(policy_undecided_connection(&p, &smb300), ==, 0);

    p = policy_default();
    p.allow_netbios = true;
    p.allow_smb1 = true;
    g_assert_cmphex(policy_check_connection(&p, &smb1), ==, 0);
    g_assert_cmphex(policy_check_connection(&p, &nb445), ==, 0);
    g_assert_cmpint(policy_check_netbios(&p, true), ==, RULE_COUNT);
    g_assert_cmpstr(policy_rule_name(RULE_MIN_DIALECT), ==, "min-dialect");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/classify/classes", test_classes);
    g_test_add_func("/classify/names", test_class_names);
    g_test_add_func("/classify/count-nbss", test_count_nbss);
    g_test_add_func("/dialect/table", test_dialects);
    g_test_add_func("/policy/rules", test_policy);
    return g_test_run();
}
