/* quic_facts.h - what a QUIC carrier adds to an SMB connection's report
 * (smb_conn.quic): one plain struct, no pointers, freed with the connection. */
#ifndef SMBSCOPE_QUIC_FACTS_H
#define SMBSCOPE_QUIC_FACTS_H

#include <stdbool.h>
#include <stdint.h>

#include "tls_hello.h"

struct smb_conn_quic {
    uint32_t version;              /* QUIC version of the client's Initial */
    char sni[256];                 /* ClientHello server_name, "" when absent */
    uint8_t alpn_count;
    bool alpn_truncated;
    char alpn[TLS_MAX_ALPN][TLS_MAX_ALPN_LEN + 1];
    uint16_t cipher;               /* ServerHello's suite, 0 unseen */
    bool retry;                    /* the server sent a Retry */
    bool handshake_completed;      /* server Handshake packets seen */
    bool handshake_done;           /* HANDSHAKE_DONE decrypted (key log) */
    bool decrypted;                /* 1-RTT packets decrypted with the key log */
    uint32_t client_hellos;        /* 2 after a Retry with quiche */
    uint32_t zero_rtt;             /* 0-RTT packets: counted, unreadable */
    uint32_t undecryptable;        /* packets whose keys were known but did not open them */
    uint32_t streams;              /* bidirectional streams seen (key log) */
    uint64_t stream_bytes_dropped; /* SMB stream bytes never seen: reported to the framer as gaps */
    bool crypto_capped;            /* a hello longer than the CRYPTO buffer */
};

#endif
