/* quic_session.h - what one QUIC connection shows on the wire, both ways.
 *
 * Fed one UDP datagram at a time with its direction, it walks coalesced
 * packets, derives the Initial keys from the client's Destination Connection
 * ID (again after a Retry), removes header protection, decrypts, reassembles
 * the CRYPTO data of the Initial space into the ClientHello and ServerHello,
 * and, when a key-log source gives the TLS secrets, decrypts Handshake and
 * 1-RTT packets and hands STREAM data to a sink.  The caller owns the memory
 * (the session and its two CRYPTO reassembly buffers): nothing here allocates
 * except libgcrypt cipher handles, opened once per key set, and the CRYPTO
 * buffers' storage (quic_reasm.h: as bytes arrive, freed once read). */
#ifndef SMBSCOPE_QUIC_SESSION_H
#define SMBSCOPE_QUIC_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quic_crypto.h"
#include "quic_frames.h"
#include "quic_reasm.h"
#include "quic_wire.h"
#include "tls_hello.h"

enum quic_dir { QUIC_FROM_CLIENT = 0, QUIC_FROM_SERVER = 1 };
enum quic_space { QUIC_SPACE_INITIAL = 0, QUIC_SPACE_HANDSHAKE, QUIC_SPACE_APP, QUIC_SPACE_COUNT };

/* SSLKEYLOGFILE labels QUIC needs (NSS key log format). */
enum quic_secret_kind {
    QUIC_SECRET_CLIENT_HANDSHAKE = 0,
    QUIC_SECRET_SERVER_HANDSHAKE,
    QUIC_SECRET_CLIENT_TRAFFIC_0,
    QUIC_SECRET_SERVER_TRAFFIC_0,
    QUIC_SECRET_KIND_COUNT
};

struct quic_session_hooks {
    void *ctx;
    /* Secret for the connection whose ClientHello had this random; returns
     * its length (0: unknown). */
    size_t (*secret)(void *ctx, const uint8_t random[32], enum quic_secret_kind kind, uint8_t *out, size_t cap);
    /* Decrypted STREAM data. */
    void (*stream)(void *ctx, enum quic_dir dir, uint64_t stream_id, uint64_t offset, const uint8_t *data,
        size_t len, bool fin);
    /* A connection ID announced in a NEW_CONNECTION_ID frame (dir = sender). */
    void (*new_cid)(void *ctx, enum quic_dir dir, const struct quic_cid *cid);
    /* HMAC handles to derive keys with (quic_kdf_new(); NULL: own ones each time). */
    struct quic_kdf *kdf;
};

struct quic_session {
    uint32_t version;
    const struct quic_version_info *vinfo;
    struct quic_cid initial_dcid;  /* DCID the current Initial keys come from */
    struct quic_cid original_dcid; /* the client's very first DCID */
    struct quic_cid client_cid;    /* client's Source CID */
    struct quic_cid server_cid;    /* server's Source CID (Retry or Initial) */
    uint32_t key_derivations;      /* bounded: a flood of DCIDs cannot cost unbounded HMACs */
    uint8_t server_initial_secret[32]; /* server Initial keys are derived when a server packet needs them */
    bool server_initial_pending;

    uint32_t packets[2][QUIC_PKT_TYPE_COUNT];
    uint32_t decrypted[2][QUIC_SPACE_COUNT];
    uint32_t undecryptable[2];     /* had keys, tag failed or packet too short */
    uint32_t malformed;            /* headers or frames that did not parse */
    uint32_t retries;
    bool retry_seen;
    bool version_negotiation;
    bool server_handshake_seen;    /* a Handshake packet from the server */
    bool handshake_done;           /* HANDSHAKE_DONE decrypted */
    uint32_t zero_rtt;             /* 0-RTT packets: counted, cannot be read */
    uint32_t client_hellos;        /* complete ClientHellos (2 after a Retry with quiche) */

    struct quic_reasm *crypto[2];  /* caller-owned Initial CRYPTO buffers; NULL: skip */
    bool client_hello_seen, server_hello_seen;
    struct tls_hello client_hello; /* the latest ClientHello */
    uint8_t first_random[32];      /* random of the first ClientHello */
    uint16_t cipher;               /* from ServerHello */
    bool crypto_capped;

    struct quic_keys keys[QUIC_SPACE_COUNT][2];
    uint8_t open_mask;             /* bit space * 2 + dir: that set's cipher handles are open */
    uint8_t open_sets;             /* how many */
    bool keys_changed;             /* a set was derived, opened or parked: open_mask is counted again */
    bool keys_tried[QUIC_SPACE_COUNT];
    bool key_phase[2];
    uint64_t largest_pn[QUIC_SPACE_COUNT][2];
    struct quic_frame_stats frames;

    struct quic_session_hooks hooks;
};

void quic_session_init(struct quic_session *s, const struct quic_session_hooks *hooks);
void quic_session_clear(struct quic_session *s); /* closes cipher handles */
/* Park the key sets (quic_crypto.h quic_keys_park): those of the Initial and
 * Handshake spaces, and with app those of 1-RTT too.  Lossless: a packet
 * that needs a parked set opens it again first. */
void quic_session_park_keys(struct quic_session *s, bool app);
/* Key sets whose cipher handles are open (what the session's keys hold). */
static inline unsigned quic_session_open_keys(const struct quic_session *s)
{
    return s->open_sets;
}
/* ... of the Initial and Handshake spaces. */
static inline bool quic_session_handshake_keys_open(const struct quic_session *s)
{
    return (s->open_mask & ((1u << (2 * QUIC_SPACE_APP)) - 1u)) != 0;
}
/* 1-RTT packets decrypted both ways: the handshake is over for the keys
 * (RFC 9001 4.9: Initial and Handshake keys are discarded by then; a late
 * retransmission of one is rare, and reopens its set). */
bool quic_session_app_confirmed(const struct quic_session *s);

/* One datagram; scratch holds the plaintext of one packet (>= len bytes).
 * Returns the number of packets that decrypted. */
unsigned quic_session_datagram(struct quic_session *s, enum quic_dir dir, const uint8_t *p, size_t len,
    uint8_t *scratch, size_t scratch_len);

/* The Destination CID a packet of this datagram carries (long or short),
 * for table look-ups by the owner; short_len is the CID length to assume. */
bool quic_datagram_dcid(const uint8_t *p, size_t len, size_t short_len, struct quic_cid *out);

#endif
