/* mstate_quic_tails.h - the QUIC records a run keeps for merge
 * (mstate_join_quic.h), shared by the files that build, read and join them
 * (mstate_join_quic.c, mstate_join_quic_hello.c).  Not for other users. */
#ifndef SMBSCOPE_MSTATE_QUIC_TAILS_H
#define SMBSCOPE_MSTATE_QUIC_TAILS_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdint.h>

#include "mstate_join_quic.h"
#include "quic_wire.h"

/* The tails of an analysis: records in order of their first datagram, and
 * (in a run) their index by canonical 4-tuple. */
struct quic_tails {
    GArray *recs;     /* struct quic_tail */
    GHashTable *by;   /* struct quic_tail* key (its ends) -> index + 1; NULL in merge */
    GArray *open;     /* struct quic_open: QUIC connections that are not SMB, open at the end */
    GArray *keys;     /* struct quic_key_rec: SMB connections open at the end before their ServerHello */
    GPtrArray *initials; /* GByteArray*: a tail's datagrams that did not decrypt, framed
                            (mstate_join_quic_hello.h; quic_tail.initial - 1) */
};

/* A QUIC connection that is not SMB, open at its capture's end: the tails
 * of a later capture that follow it are its datagrams (stats.quic). */
struct quic_open {
    struct ip_addr addr[2]; /* [0] the client */
    uint16_t port[2];
    uint8_t pad[2]; /* zero: no implicit padding, sorted as bytes */
    int64_t last_ts;
};

/* An SMB connection's Initial keys (mstate_join_quic_hello.h), named as
 * its edge record is: client, server, their ports, first packet. */
struct quic_key_rec {
    struct ip_addr client, server;
    uint16_t client_port, server_port;
    int64_t first_ts;
    uint32_t version;
    struct quic_cid dcid;
    bool hello_pending; /* a ClientHello begun, not complete (quic_table.h) */
    uint8_t pad[7];
};

struct quic_tails *quic_tails_of(struct analysis *a);

struct json;
struct jget;
struct jpath;
struct packet;
struct quic_table_open;
struct conn_summary;

/* mstate_join_quic_hello.c: the run's side (an SMB connection open at the
 * end before its ServerHello; a tail's datagram that did not decrypt), the
 * state's members, and merge's. */
void quic_hello_note_key(struct analysis *a, const struct quic_table_open *o);
void quic_hello_note_initial(struct analysis *a, struct quic_tail *t, const struct packet *p);
void quic_hello_build(struct json *b, const struct analysis *a);
/* base: the index in recs of this state's first quic_tails record. */
void quic_hello_fold(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st, guint base);
/* Before the joins: the keys in order for their look-ups. */
void quic_hello_sort(struct analysis *a);
/* Tail t joins cs (an SMB edge): the suite of its server Initial when cs's
 * entry (or --jobs' session) has none yet. */
void quic_hello_join(struct analysis *a, const struct conn_summary *cs, const struct quic_tail *t);
/* Head t (another part's connection of cs's ends: quic_heads) joined to
 * cs: what it read of the handshake, and the ClientHello cs's part began
 * that t's part completed. */
void quic_hello_head(struct analysis *a, const struct conn_summary *cs, const struct quic_tail *t);
/* late joined into cs (mstate_join_quic_edge.h): late's keys are the
 * connection's now (the DCID after the Retry). */
void quic_hello_rename(struct analysis *a, const struct conn_summary *late, const struct conn_summary *cs);
/* After the joins: the keys of edges still in the state kept, no others. */
void quic_hello_keep(struct analysis *a);
/* --jobs: a tail copied from src's records (its datagram with it). */
void quic_hello_copy_tail(struct analysis *dst, const struct analysis *src, struct quic_tail *t);
void quic_hello_free(struct quic_tails *qt);

#endif
