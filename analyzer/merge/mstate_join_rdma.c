/* mstate_join_rdma.c - see mstate_join_rdma.h. */
#include "mstate_join_rdma.h"

#include <stddef.h>

#include "classify.h"
#include "conn_summary.h"
#include "jget.h"
#include "mstate_put.h"

/* Counters of each object of smb_direct (NULL: smb_direct itself); the
 * members not named (flags of the start, queue pair numbers, sizes
 * negotiated) are the early part's. */
static const struct {
    const char *sub;
    const char *keys[8];
} sums[] = {
    { NULL, { "sends", "sends_dropped", "rdma_writes", "rdma_write_bytes", "rdma_read_requests" } },
    { "roce", { "packets", "acks", "psn_dropped_messages", "psn_duplicates", "icrc_bad", "icrc_unchecked" } },
    { "mpa", { "fpdus", "crc_bad", "markers", "marker_pointer_bad", "desynchronised", "resyncs" } },
    { "smbd", { "data_messages", "fragmented_messages", "dropped_messages", "invalid_messages" } },
};

static void add(JsonObject *dst, JsonObject *src, const char *k)
{
    if (!dst || !src || !json_object_has_member(dst, k) || !json_object_has_member(src, k))
        return;
    json_object_set_int_member(dst, k, mstate_sum(json_object_get_int_member(dst, k), json_object_get_int_member(src, k)));
}

/* A member the early part left null (it did not see it) taken from the late part. */
static void fill(JsonObject *dst, JsonObject *src, const char *k)
{
    JsonNode *d = dst ? json_object_get_member(dst, k) : NULL, *s = src ? json_object_get_member(src, k) : NULL;
    if (d && s && JSON_NODE_HOLDS_NULL(d) && !JSON_NODE_HOLDS_NULL(s))
        json_object_set_member(dst, k, json_node_copy(s));
}

/* A flag either part saw set (markers: set at a direction's first FPDU, by
 * the startup or, seen from the middle, by the markers found). */
static void either(JsonObject *dst, JsonObject *src, const char *k)
{
    JsonNode *d = dst ? json_object_get_member(dst, k) : NULL, *s = src ? json_object_get_member(src, k) : NULL;
    if (d && s && JSON_NODE_HOLDS_VALUE(d) && JSON_NODE_HOLDS_VALUE(s) && json_node_get_value_type(s) == G_TYPE_BOOLEAN &&
        json_node_get_boolean(s))
        json_object_set_boolean_member(dst, k, true);
}

/* A queue pair number the early part did not see (0: no RC queue pair has
 * it) taken from the late part (swapped: it named the other side client). */
static void fill_qp(JsonObject *e, JsonObject *l, const char *k, const char *lk)
{
    if (e && l && json_object_has_member(e, k) && json_object_has_member(l, lk) && !json_object_get_int_member(e, k))
        json_object_set_int_member(e, k, json_object_get_int_member(l, lk));
}

void mstate_join_smb_direct(JsonObject *early, JsonObject *late, bool swapped)
{
    JsonObject *e = jget_member_obj(early, "smb_direct"), *l = jget_member_obj(late, "smb_direct");
    if (!e || !l)
        return;
    for (size_t i = 0; i < G_N_ELEMENTS(sums); i++) {
        JsonObject *de = sums[i].sub ? jget_member_obj(e, sums[i].sub) : e, *dl = sums[i].sub ? jget_member_obj(l, sums[i].sub) : l;
        for (size_t k = 0; k < G_N_ELEMENTS(sums[i].keys) && sums[i].keys[k]; k++)
            add(de, dl, sums[i].keys[k]);
    }
    either(jget_member_obj(e, "mpa"), jget_member_obj(l, "mpa"), "markers_to_server");
    either(jget_member_obj(e, "mpa"), jget_member_obj(l, "mpa"), "markers_to_client");
    fill(jget_member_obj(e, "smbd"), jget_member_obj(l, "smbd"), "negotiate_request");
    fill(jget_member_obj(e, "smbd"), jget_member_obj(l, "smbd"), "negotiate_response");
    JsonObject *er = jget_member_obj(e, "roce"), *lr = jget_member_obj(l, "roce");
    fill_qp(er, lr, "client_qp", swapped ? "server_qp" : "client_qp");
    fill_qp(er, lr, "server_qp", swapped ? "client_qp" : "server_qp");
}

void mstate_join_roce_names(const struct conn_summary *early, struct conn_summary *late)
{
    if (late->carrier != CONN_CARRIER_UDP ||
        (late->client_port == early->client_port && late->server_port == early->server_port))
        return;
    late->evidence = (late->evidence & ~(uint32_t)EV_ALT_PORT) | (early->evidence & EV_ALT_PORT);
    late->findings = (uint8_t)((late->findings & ~(1u << FINDING_ALT_PORT)) | (early->findings & (1u << FINDING_ALT_PORT)));
}
