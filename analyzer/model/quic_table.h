/* quic_table.h - the QUIC connections of a capture, on any UDP port.
 *
 * A UDP datagram whose first packet is a client Initial of a known version
 * that decrypts with the keys of its Destination Connection ID starts a
 * QUIC connection (the AEAD tag is the proof: no port is trusted).  The
 * connection is then found by the connection IDs its long and short headers
 * carry (and those announced in NEW_CONNECTION_ID frames the key log opens),
 * with its UDP 4-tuple as the quick first guess.  Once the ClientHello is
 * read, a connection whose ALPN list offers "smb" becomes an SMB connection
 * (transport class quic) fed to the same session model as TCP; any other is
 * only counted, each further packet costing one header look-up.  Bounded:
 * at most max_conns connections at once, and at most QUIC_TABLE_MAX_BYTES
 * over what they hold (sessions, key sets, buffers: CRYPTO and stream
 * buffers are allocated as bytes arrive, sized by them, and freed once read;
 * a handshake waiting for its server holds about 9 KiB, a connection past
 * its first flight a few hundred bytes, one decrypted with the key log
 * about 13 KiB once 1-RTT decrypts both ways: its Initial and Handshake key
 * sets parked).  At either cap, idle connections are closed; near and at
 * the byte budget the key sets of waiting handshakes and of the least
 * recently active are parked (lossless: opened again by their next packet;
 * about 5 KiB left each); then the least recently active close (stats
 * evictions). */
#ifndef SMBSCOPE_QUIC_TABLE_H
#define SMBSCOPE_QUIC_TABLE_H

#include <glib.h>
#include <stdint.h>

#include "packet.h"
#include "quic_wire.h"
#include "session.h"

struct keylog;
struct quic_table;

struct quic_table_stats {
    uint64_t datagrams;        /* UDP datagrams offered */
    uint64_t quic_datagrams;   /* datagrams of a tracked QUIC connection */
    uint64_t conns;            /* QUIC connections recognised */
    uint64_t smb_conns;        /* ... whose ALPN offered "smb" */
    uint64_t other_conns;      /* ... with another ALPN (not SMB) */
    uint64_t evictions;        /* connections closed early to make room at the cap */
    uint64_t evictions_lost;   /* ... of them, those that could still show SMB evidence: a handshake whose
                                  ClientHello was not read yet, or an SMB connection decrypted with the key
                                  log (what it carries later is never seen: a later datagram of it is not
                                  recognised, where a TCP connection's shows as one mid-stream) */
    uint64_t decrypt_failures; /* client Initials whose keys did not open them */
    uint64_t undecryptable;    /* packets of SMB connections (or not yet known not to be) whose keys were
                                  known but did not open them: Initials always, Handshake/1-RTT with the key log */
};

/* What the table spent, for tests and benchmarks (not reported): issue 10
 * wants QUIC that is not SMB to cost one header check per datagram after
 * its first flight, i.e. retired_lookups == retired_datagrams when no
 * connection changes path. */
struct quic_table_work {
    uint64_t index_lookups;     /* path and connection-ID index look-ups, every UDP datagram */
    uint64_t session_datagrams; /* datagrams parsed and decrypted by a connection's session (first flight,
                                   or everything of an SMB connection with the key log) */
    uint64_t retired_datagrams; /* datagrams of connections past their first flight (no session kept) */
    uint64_t retired_lookups;   /* ... and the index look-ups it took to find them */
    uint64_t sweeps, sweep_visits; /* idle sweeps, and the tracks they looked at */
    uint64_t state_bytes, state_bytes_peak; /* what the connections hold in the budget's count: now, at most */
    uint64_t parks;             /* connections whose key sets were parked to stay inside the budget */
};

#define QUIC_TABLE_DEFAULT_MAX_CONNS 8192u
/* Issue 13's 64 MiB at any capture size: 16 MiB over the connections' state
 * (about 3,300 SMB handshakes waiting for their servers at once, 3,000
 * decrypted with the key log, or 8,192 connections past their first
 * flight), the indexes a few MiB more. */
#define QUIC_TABLE_MAX_BYTES (16u << 20)

/* Closed SMB connections (idle for two minutes of capture time, or at
 * quic_table_finish) go to closed(ctx, s), which owns s from then on: the
 * analysis treats them as it treats a closed TCP connection (events, report). */
/* The hash of a connection ID in the table's CID index: its len bytes
 * (never what lies past them) and the length, keyed (the table uses the
 * process's random number, distinct_process_key(): the IDs are the
 * endpoints' to pick). */
uint32_t quic_table_cid_hash(const struct quic_cid *c, uint64_t key);

struct quic_table *quic_table_new(const struct session_config *cfg, uint32_t max_conns, struct keylog *keylog,
    smb_conn_closed_fn closed, void *ctx);
/* The budget over what the connections hold (default QUIC_TABLE_MAX_BYTES;
 * --jobs: the analyses alive at once share it). */
void quic_table_set_max_bytes(struct quic_table *t, size_t max_bytes);
/* A decoded UDP packet (pkt->l4 == L4_UDP). */
void quic_table_packet(struct quic_table *t, const struct packet *pkt);
/* A connection still open: its ends ([0] the client), first and last
 * datagram, and whether it is SMB (its ALPN offered "smb"); decided: its
 * ClientHello was read (not: a client Initial without one started it, as a
 * capture cut after the connection's first flight shows its later Initials:
 * smbscope merge joins it to the connection an earlier capture left open,
 * with its datagrams and bytes, [0] the client's). */
struct quic_table_open {
    struct ip_addr addr[2];
    uint16_t port[2];
    int64_t first_ts, last_ts;
    bool smb;
    bool decided;
    uint64_t packets[2], bytes[2];
    /* Before the ServerHello was read (version 0: read, or no keys): the
     * version and the DCID the Initial keys come from, with which smbscope
     * merge reads a later capture's server Initial (mstate_join_quic_hello.h). */
    uint32_t version;
    struct quic_cid initial_dcid;
    /* What its handshake showed so far (the same merge: a capture cut inside
     * a ClientHello split over Initials): the ServerHello's suite (0:
     * none), a server Handshake packet, a client CRYPTO stream holding the
     * start of a ClientHello not yet complete. */
    uint16_t cipher;
    bool server_handshake, hello_pending;
};
/* Each connection still open, to fn (smbscope merge: the merge state lists
 * those that are not SMB, so a later capture's datagrams of them count as
 * QUIC; before quic_table_finish; not on the per-datagram path). */
void quic_table_list_open(const struct quic_table *t, void (*fn)(void *ctx, const struct quic_table_open *o),
                          void *ctx);
/* Close every connection still open. */
void quic_table_finish(struct quic_table *t);
struct quic_table_stats quic_table_stats(const struct quic_table *t);
struct quic_table_work quic_table_work(const struct quic_table *t);
/* smbscope merge: another run's counters added. */
void quic_table_fold_stats(struct quic_table *t, const struct quic_table_stats *s);
/* smbscope merge: n connections a run counted were another run's (joined). */
void quic_table_unjoin(struct quic_table *t, uint64_t n);
/* smbscope merge: what runs counted that the run over their captures does
 * not (connections another run's, an Initial whose keys only another
 * run's capture held): conns, smb_conns, other_conns and decrypt_failures
 * of s taken away (not below zero). */
void quic_table_unjoin_stats(struct quic_table *t, const struct quic_table_stats *s);
void quic_table_free(struct quic_table *t);

#endif
