/* smb_test_util.h - helpers shared by the SMB decoder unit tests: a sink that
 * renders decoded facts under tshark's field names, and the .vec loader. */
#ifndef SMBSCOPE_SMB_TEST_UTIL_H
#define SMBSCOPE_SMB_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smb.h"

#define COLLECT_MAX_FIELDS 64
#define COLLECT_VALUE_MAX 1024

struct collected_field {
    char name[64];
    char value[COLLECT_VALUE_MAX];
};

/* Everything the decoder reported for one message. */
struct collector {
    struct collected_field fields[COLLECT_MAX_FIELDS];
    int nfields;
    int smb1_headers, smb2_headers, anomalies, unknowns, encrypted, compressed;
    int neg_req, neg_resp, sess_req, sess_resp, tree_req, tree_resp;
    enum smb_anomaly_kind last_anomaly;
    const char *last_reason;
    /* copies of the last bodies for direct assertions */
    struct smb2_header_info h2[SMB_MAX_COMPOUND];
    struct smb1_header_info h1[SMB_MAX_ANDX];
    struct smb2_neg_ctx_list ctx;
    bool ctx_seen;
    struct smb2_tree_connect_request tree2;
    struct smb1_negotiate_request neg1;
    struct smb1_session_setup_request sess1;
    struct smb1_tree_connect_request tree1;
    struct smb_auth auth;
    struct smb_transform_info transform;
    struct smb_compress_info compress;
};

extern const struct smb_sink collect_sink;

void collector_reset(struct collector *c);
/* Value of a field ("a|b" for repeated ones) or NULL. */
const char *collector_get(const struct collector *c, const char *name);

/* A vector file: payload (transport header + message) and expected fields. */
struct smb_vector {
    char source[256];
    uint8_t payload[4096];
    size_t payload_len;
    struct collected_field fields[COLLECT_MAX_FIELDS];
    int nfields;
};

/* false when the file cannot be read or parsed. */
bool vector_load(const char *path, struct smb_vector *v);

/* Decode a vector and compare every tshark field it lists (GTest asserts). */
void vector_check(const char *path);

/* Register one GTest case per .vec file whose name starts with prefix. */
void vector_register(const char *test_prefix, const char *file_prefix);

/* Compare the decoder with tshark on every NEGOTIATE, SESSION_SETUP and
 * TREE_CONNECT frame of cap that holds exactly one SMB message (GTest
 * asserts).  Returns the number of messages compared. */
int corpus_diff(const char *tshark, const char *cap);

#endif
