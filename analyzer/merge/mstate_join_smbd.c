/* mstate_join_smbd.c - see mstate_join_smbd.h. */
#include "mstate_join_smbd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "analysis.h"
#include "conn_summary.h"
#include "jget.h"
#include "mstate_detail.h"
#include "mstate_edges.h"
#include "mstate_frags_tcp.h"
#include "mstate_join_frame.h"
#include "mstate_xchg.h"
#include "report_json.h"
#include "session.h"

/* The entry the run writes for s (report_json_conn.c), as merge holds one. */
static JsonNode *entry_of(const struct smb_conn *s)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem)
        return NULL;
    struct json *j = g_new0(struct json, 1); /* 64 KiB of buffer */
    json_init(j, mem, false);
    json_connection(j, s);
    json_flush(j);
    g_free(j);
    fclose(mem);
    JsonNode *n = text ? json_from_string(text, NULL) : NULL;
    free(text);
    if (n && !JSON_NODE_HOLDS_OBJECT(n)) {
        json_node_unref(n);
        n = NULL;
    }
    return n;
}

struct smb_conn *mstate_middle_open(struct analysis *a, const struct conn_summary *early)
{
    const struct ip_addr addr[2] = { early->client, early->server };
    const uint16_t port[2] = { early->client_port, early->server_port };
    return smb_conn_new_endpoints(&a->session_cfg, addr, port, 0, true);
}

void mstate_middle_end(struct analysis *a, struct smb_conn *s, const struct conn_summary *early,
                       const uint64_t bytes[2], const uint64_t packets[2], const char *reason, struct conn_summary *out)
{
    int64_t first = early->first_ts > INT64_MIN ? early->first_ts - 1 : early->first_ts;
    smb_conn_close_endpoints(s, first, early->last_ts, bytes, packets, reason);
    conn_summary_from_conn(out, s, &a->cfg->policy);
    out->last_ts = early->last_ts;
    memcpy(out->close_reason, early->close_reason, sizeof out->close_reason);
    out->fins_acked = early->fins_acked;
}

/* The one message as a part of early's connection between it and late,
 * its message decoded at the late part's first packet, open at the end. */
static struct smb_conn *middle(struct analysis *a, const struct conn_summary *early, const struct conn_summary *late,
                               int d, GBytes *msg, size_t msg_len, struct conn_summary *out)
{
    struct smb_conn *s = mstate_middle_open(a, early);
    s->obs.carrier = early->carrier == CONN_CARRIER_UDP ? CARRIER_RDMA_ROCE : CARRIER_RDMA_IWARP;
    size_t n;
    const uint8_t *p = g_bytes_get_data(msg, &n);
    if (msg_len > n) /* a long message: the octets its decoder reads (rdma.h smbd_msg_len) */
        smb_conn_message_prefix(s, d, p, n, msg_len);
    else
        smb_conn_message(s, d, p, n, late->first_ts);
    const uint64_t none[2] = { 0, 0 };
    /* open at the end, as early was (mstate_edges.c continues()); a static
     * name: the session keeps the pointer, --jobs' join copies it */
    mstate_middle_end(a, s, early, none, none, early->carrier == CONN_CARRIER_UDP ? "end of capture" : "end", out);
    return s;
}

void mstate_join_middle(struct analysis *a, struct conn_summary *early, struct smb_conn *s, struct conn_summary *mid)
{
    struct conn_summary j;
    if (s->xchg)
        mstate_xchg_put(a, mid, s->xchg);
    /* detailed as early is (--jobs: its session; else its entry), joined
     * by the joins of two parts; not at all when early was only counted */
    bool detail = false;
    if (mstate_detail_conn(a, early)) {
        smb_conn_retain(s);
        g_ptr_array_add(a->conns, s); /* mstate_detail_join() frees it */
        s = NULL;
        detail = true;
    } else if (mstate_detail_entry(a, early)) {
        JsonNode *e = entry_of(s);
        if (e)
            g_ptr_array_add(a->conn_detail_json, e);
        detail = e != NULL;
    }
    mstate_xchg_join_exchanges(a, early, mid);
    mstate_join_parts(&j, early, mid, &a->cfg->policy);
    if (detail)
        mstate_detail_join(a, early, mid, &j);
    smb_conn_free(s);
    *early = j;
}

void mstate_smbd_join_wholes(struct analysis *a, struct conn_summary *early, const struct conn_summary *late)
{
    int d;
    GBytes *msg;
    size_t msg_len;
    mstate_frags_tcp_join(a, early, late); /* a TCP segment in IP fragments the cut divided (mstate_frags_tcp.h) */
    while (frame_edge_whole_take(a, &d, &msg, &msg_len)) {
        struct conn_summary mid;
        struct smb_conn *s = middle(a, early, late, d, msg, msg_len, &mid);
        g_bytes_unref(msg);
        mstate_join_middle(a, early, s, &mid);
    }
}

uint8_t *smbd_get_hex(const char *s, size_t max, size_t *n)
{
    *n = 0;
    uint8_t *out = s ? g_malloc(strlen(s) / 2 + 1) : NULL;
    if (out && !jget_hex(s, out, max, n)) {
        g_free(out);
        *n = 0;
        return NULL;
    }
    return out;
}
