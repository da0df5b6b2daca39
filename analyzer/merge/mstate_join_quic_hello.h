/* mstate_join_quic_hello.h - the ServerHello of an SMB-over-QUIC connection
 * that a capture's edge cut before it: the early capture holds the client's
 * Initials (its keys come from the DCID of the latest), the later one the
 * server's Initial, which its run could not decrypt (no client Initial to
 * take the keys from: stats.quic.undecryptable_initials) nor place (a QUIC
 * tail).  The run over both reads the suite from it
 * (connections[].quic.cipher_suite).  The early run keeps the version and
 * DCID of each SMB connection open at its end without a ServerHello
 * ("quic_edge_keys": public, the client's Initial carries them in clear);
 * the later run keeps the bytes of a tail's first datagram that did not
 * decrypt as a client Initial ("quic_tail_initials", at most
 * QUIC_TAIL_INITIALS_CAP of at most QUIC_TAIL_INITIAL_MAX bytes); merge
 * decrypts it with the server's Initial keys of that DCID when the tail
 * joins the connection. */
#ifndef SMBSCOPE_MSTATE_JOIN_QUIC_HELLO_H
#define SMBSCOPE_MSTATE_JOIN_QUIC_HELLO_H

#include <stddef.h>
#include <stdint.h>

#include "quic_wire.h"

#define QUIC_TAIL_INITIALS_CAP 64u
#define QUIC_TAIL_INITIAL_MAX 2048u /* an Initial datagram is 1200 bytes or a little more */

/* The cipher suite of the ServerHello in the server Initial packets of
 * datagram p (coalesced with others), decrypted with the server Initial
 * keys of dcid under version; 0 when none is there or none decrypts. */
uint16_t quic_hello_server_suite(uint32_t version, const struct quic_cid *dcid, const uint8_t *p, size_t len);

#endif
