/* smbd.h - SMB Direct (MS-SMBD 2.2): the negotiate request and response and
 * the data transfer message, and the reassembly of SMB2 messages that were
 * split over several data transfer messages (RemainingDataLength).
 *
 * An SMB Direct connection starts with the initiator's Negotiate Request
 * (20 octets) and the responder's Negotiate Response (32 octets): which one a
 * message is follows from its place on the connection, not from its bytes.
 * Every later message is a data transfer message (20 octets, or 24 + data):
 * CreditsRequested, CreditsGranted, Flags, Reserved, RemainingDataLength,
 * DataOffset, DataLength, then padding and the data.  The SMB2 messages it
 * carries have no 4-byte transport header (MS-SMB2 2.1). */
#ifndef SMBSCOPE_SMBD_H
#define SMBSCOPE_SMBD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMBD_NEGOTIATE_REQUEST_LEN 20
#define SMBD_NEGOTIATE_RESPONSE_LEN 32
#define SMBD_DATA_HEADER_LEN 20
#define SMBD_VERSION_1 0x0100
#define SMBD_FLAG_RESPONSE_REQUESTED 0x0001

struct smbd_negotiate_request {
    uint16_t min_version, max_version;
    uint16_t credits_requested;
    uint32_t preferred_send_size, max_receive_size, max_fragmented_size;
};

struct smbd_negotiate_response {
    uint16_t min_version, max_version, negotiated_version;
    uint16_t credits_requested, credits_granted;
    uint32_t status; /* NTSTATUS; 0 = success */
    uint32_t max_read_write_size, preferred_send_size, max_receive_size, max_fragmented_size;
};

struct smbd_data {
    uint16_t credits_requested, credits_granted, flags;
    uint32_t remaining_length, data_offset, data_length;
    const uint8_t *data; /* DataLength octets at DataOffset; NULL when DataLength is 0 */
};

enum smbd_status { SMBD_OK = 0, SMBD_SHORT, SMBD_BAD };

enum smbd_status smbd_parse_negotiate_request(const uint8_t *p, size_t n, struct smbd_negotiate_request *out);
enum smbd_status smbd_parse_negotiate_response(const uint8_t *p, size_t n, struct smbd_negotiate_response *out);
/* SMBD_BAD when DataOffset/DataLength point outside the message or into the
 * header (MS-SMBD 3.1.5.2: DataOffset is 8-byte aligned, at least 24). */
enum smbd_status smbd_parse_data(const uint8_t *p, size_t n, struct smbd_data *out);

/* SMB2 messages of one direction from data transfer messages. */
struct smbd_reasm {
    uint8_t *buf;
    size_t cap;
    size_t len;
    uint32_t remaining;  /* what the last fragment said was still to come */
    bool active;
    uint64_t messages, fragmented, dropped, oversize, keepalives;
};

enum smbd_rx_result {
    SMBD_RX_NONE = 0, /* no data: a credit grant or keep-alive */
    SMBD_RX_MORE,     /* a fragment; more to come */
    SMBD_RX_DONE,     /* a whole SMB2 message */
    SMBD_RX_DROPPED,  /* inconsistent RemainingDataLength, or over the buffer */
};

void smbd_reasm_init(struct smbd_reasm *r, uint8_t *buf, size_t cap);
/* Add one data transfer message; on SMBD_RX_DONE *msg and *len is the SMB2
 * message (valid until the next call). */
enum smbd_rx_result smbd_reasm_add(struct smbd_reasm *r, const struct smbd_data *d, const uint8_t **msg, size_t *len);

/* The SMBD messages of one connection, in both directions: decides what
 * each message is by its place (the first from the initiator is the
 * negotiate request, the first from the responder the response). */
enum smbd_msg_kind { SMBD_MSG_INVALID = 0, SMBD_MSG_NEGOTIATE_REQUEST, SMBD_MSG_NEGOTIATE_RESPONSE, SMBD_MSG_DATA };

struct smbd_conn {
    bool negotiated[2];    /* [0] initiator, [1] responder: its negotiate message seen */
    bool request_seen, response_seen;
    struct smbd_negotiate_request request;
    struct smbd_negotiate_response response;
    uint64_t data_messages[2], invalid;
};

/* Classify and decode one Send message; *data filled for SMBD_MSG_DATA.
 * `midstream` says the connection start was not captured: then a message
 * is a negotiate request/response only by its exact shape (length, version
 * fields, not a valid data transfer message), else a data transfer message. */
enum smbd_msg_kind smbd_conn_message(struct smbd_conn *c, int from_responder, bool midstream, const uint8_t *p,
                                     size_t n, struct smbd_data *data);

const char *smbd_msg_kind_name(enum smbd_msg_kind kind);

#endif
