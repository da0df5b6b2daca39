/* mstate_join_quic_hello.h - the ServerHello of an SMB-over-QUIC connection
 * that a capture's edge cut before it: the early capture holds the client's
 * Initials (its keys come from the DCID of the latest), the later one the
 * server's Initial, which its run could not decrypt (no client Initial to
 * take the keys from: stats.quic.undecryptable_initials) nor place (a QUIC
 * tail).  The run over both reads the suite from it
 * (connections[].quic.cipher_suite).  The early run keeps the version and
 * DCID of each SMB connection open at its end without a ServerHello
 * ("quic_edge_keys": public, the client's Initial carries them in clear);
 * the later run keeps the bytes of a tail's first datagrams that did not
 * decrypt as a client Initial (a ServerHello may span two: "quic_tail_initials",
 * for at most QUIC_TAIL_INITIALS_CAP tails, at most QUIC_TAIL_INITIAL_DGRAMS
 * datagrams of at most QUIC_TAIL_INITIAL_MAX bytes each, each after its
 * length in 2 bytes); merge decrypts them with the server's Initial keys of
 * that DCID when the tail joins the connection. */
#ifndef SMBSCOPE_MSTATE_JOIN_QUIC_HELLO_H
#define SMBSCOPE_MSTATE_JOIN_QUIC_HELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quic_wire.h"

#define QUIC_TAIL_INITIALS_CAP 64u
#define QUIC_TAIL_INITIAL_MAX 2048u /* an Initial datagram is 1200 bytes or a little more */
#define QUIC_TAIL_INITIAL_DGRAMS 4u
#define QUIC_TAIL_INITIALS_MAX (QUIC_TAIL_INITIAL_DGRAMS * (2 + QUIC_TAIL_INITIAL_MAX))

/* The cipher suite of the ServerHello in the server Initial packets of
 * the datagrams p holds (each after its length, 2 bytes big-endian; their
 * packets coalesced), decrypted with the server Initial keys of dcid under
 * version; 0 when none is there or none decrypts. */
uint16_t quic_hello_server_suite(uint32_t version, const struct quic_cid *dcid, const uint8_t *p, size_t len);
/* Whether p holds 1 to QUIC_TAIL_INITIAL_DGRAMS datagrams of 1 to
 * QUIC_TAIL_INITIAL_MAX bytes, each after its length, and nothing else. */
bool quic_hello_framed(const uint8_t *p, size_t len);

#endif
