/* smbd.c - MS-SMBD negotiate and data transfer messages, SMB2 reassembly. */
#include "smbd.h"

#include <string.h>

#include "wire.h"

enum smbd_status smbd_parse_negotiate_request(const uint8_t *p, size_t n, struct smbd_negotiate_request *o)
{
    memset(o, 0, sizeof *o);
    struct wire w = wire_make(p, n);
    o->min_version = wire_u16le(&w);
    o->max_version = wire_u16le(&w);
    uint16_t reserved = wire_u16le(&w);
    o->credits_requested = wire_u16le(&w);
    o->preferred_send_size = wire_u32le(&w);
    o->max_receive_size = wire_u32le(&w);
    o->max_fragmented_size = wire_u32le(&w);
    if (!wire_ok(&w))
        return SMBD_SHORT;
    /* MS-SMBD 3.1.5.6: the versions bracket 0x0100 and Reserved is 0 */
    if (reserved || o->min_version > SMBD_VERSION_1 || o->max_version < SMBD_VERSION_1)
        return SMBD_BAD;
    return SMBD_OK;
}

enum smbd_status smbd_parse_negotiate_response(const uint8_t *p, size_t n, struct smbd_negotiate_response *o)
{
    memset(o, 0, sizeof *o);
    struct wire w = wire_make(p, n);
    o->min_version = wire_u16le(&w);
    o->max_version = wire_u16le(&w);
    o->negotiated_version = wire_u16le(&w);
    uint16_t reserved = wire_u16le(&w);
    o->credits_requested = wire_u16le(&w);
    o->credits_granted = wire_u16le(&w);
    o->status = wire_u32le(&w);
    o->max_read_write_size = wire_u32le(&w);
    o->preferred_send_size = wire_u32le(&w);
    o->max_receive_size = wire_u32le(&w);
    o->max_fragmented_size = wire_u32le(&w);
    if (!wire_ok(&w))
        return SMBD_SHORT;
    return reserved ? SMBD_BAD : SMBD_OK;
}

enum smbd_status smbd_parse_data(const uint8_t *p, size_t n, struct smbd_data *o)
{
    memset(o, 0, sizeof *o);
    struct wire w = wire_make(p, n);
    o->credits_requested = wire_u16le(&w);
    o->credits_granted = wire_u16le(&w);
    o->flags = wire_u16le(&w);
    uint16_t reserved = wire_u16le(&w);
    o->remaining_length = wire_u32le(&w);
    o->data_offset = wire_u32le(&w);
    o->data_length = wire_u32le(&w);
    if (!wire_ok(&w))
        return SMBD_SHORT;
    if (reserved)
        return SMBD_BAD;
    if (o->data_length == 0)
        return SMBD_OK;
    if (o->data_offset < SMBD_DATA_HEADER_LEN)
        return SMBD_BAD;
    struct wire d = wire_window(&w, o->data_offset, o->data_length);
    if (!wire_ok(&d))
        return SMBD_BAD;
    o->data = wire_bytes(&d, o->data_length);
    return SMBD_OK;
}

void smbd_reasm_init(struct smbd_reasm *r, uint8_t *buf, size_t cap)
{
    memset(r, 0, sizeof *r);
    r->buf = buf;
    r->cap = buf ? cap : 0;
}

enum smbd_rx_result smbd_reasm_add(struct smbd_reasm *r, const struct smbd_data *d, const uint8_t **msg, size_t *len)
{
    *msg = NULL;
    *len = 0;
    if (d->data_length == 0) {
        r->keepalives++;
        return SMBD_RX_NONE;
    }
    if (r->active && (uint64_t)d->remaining_length + d->data_length != r->remaining) {
        r->active = false; /* RemainingDataLength does not count down: lost or forged */
        r->dropped++;
        return SMBD_RX_DROPPED;
    }
    if (!r->active) {
        if (d->remaining_length == 0) { /* a whole message: no copy */
            r->messages++;
            *msg = d->data;
            *len = d->data_length;
            return SMBD_RX_DONE;
        }
        r->active = true;
        r->len = 0;
        if ((uint64_t)d->remaining_length + d->data_length > r->cap)
            r->oversize++;
    }
    r->remaining = d->remaining_length;
    bool fits = r->len <= r->cap && d->data_length <= r->cap - r->len;
    bool discarding = (uint64_t)r->len + d->data_length + d->remaining_length > r->cap;
    if (fits && !discarding)
        memcpy(r->buf + r->len, d->data, d->data_length);
    r->len += d->data_length;
    if (d->remaining_length)
        return SMBD_RX_MORE;
    r->active = false;
    if (discarding || !fits) {
        r->dropped++;
        return SMBD_RX_DROPPED;
    }
    r->messages++;
    r->fragmented++;
    *msg = r->buf;
    *len = r->len;
    return SMBD_RX_DONE;
}

/* Without the connection's start, a negotiate message is known by its
 * shape, whoever sent it: exactly its length, its version fields, and not a
 * valid data transfer message (there its Reserved field holds the
 * negotiate's credits or status).  The request names the initiator. */
static enum smbd_msg_kind midstream_negotiate(struct smbd_conn *c, const uint8_t *p, size_t n,
                                              struct smbd_data *scratch)
{
    if (smbd_parse_data(p, n, scratch) == SMBD_OK) {
        memset(scratch, 0, sizeof *scratch);
        return SMBD_MSG_INVALID;
    }
    memset(scratch, 0, sizeof *scratch);
    struct smbd_negotiate_request q;
    struct smbd_negotiate_response r;
    if (n == SMBD_NEGOTIATE_REQUEST_LEN && !c->negotiated[0] && smbd_parse_negotiate_request(p, n, &q) == SMBD_OK) {
        c->negotiated[0] = c->request_seen = true;
        c->request = q;
        return SMBD_MSG_NEGOTIATE_REQUEST;
    }
    if (n == SMBD_NEGOTIATE_RESPONSE_LEN && !c->negotiated[1] && smbd_parse_negotiate_response(p, n, &r) == SMBD_OK &&
        r.negotiated_version == SMBD_VERSION_1) {
        c->negotiated[1] = c->response_seen = true;
        c->response = r;
        return SMBD_MSG_NEGOTIATE_RESPONSE;
    }
    return SMBD_MSG_INVALID;
}

enum smbd_msg_kind smbd_conn_message(struct smbd_conn *c, int from_responder, bool midstream, const uint8_t *p,
                                     size_t n, struct smbd_data *data)
{
    int side = from_responder ? 1 : 0;
    memset(data, 0, sizeof *data);
    if (!midstream && !c->negotiated[side]) {
        c->negotiated[side] = true;
        if (side == 0 && smbd_parse_negotiate_request(p, n, &c->request) == SMBD_OK) {
            c->request_seen = true;
            return SMBD_MSG_NEGOTIATE_REQUEST;
        }
        if (side == 1 && smbd_parse_negotiate_response(p, n, &c->response) == SMBD_OK) {
            c->response_seen = true;
            return SMBD_MSG_NEGOTIATE_RESPONSE;
        }
        c->invalid++;
        return SMBD_MSG_INVALID;
    }
    enum smbd_msg_kind neg = midstream ? midstream_negotiate(c, p, n, data) : SMBD_MSG_INVALID;
    if (neg != SMBD_MSG_INVALID)
        return neg;
    if (smbd_parse_data(p, n, data) != SMBD_OK) {
        c->invalid++;
        return SMBD_MSG_INVALID;
    }
    c->data_messages[side]++;
    return SMBD_MSG_DATA;
}

const char *smbd_msg_kind_name(enum smbd_msg_kind kind)
{
    static const char *const names[] = { "invalid", "negotiate request", "negotiate response", "data transfer" };
    return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : names[0];
}
