/* conn_summary.h - what the verdict, the hosts, the evidence and the
 * connection groups need of one closed SMB connection, in one fixed-size,
 * pointer-free record built once when the connection closes.  The full
 * struct smb_conn (sessions, shares, negotiate contexts, names) is freed at
 * close unless a report keeps it for connections[] detail; everything that
 * must stay exact at any capture size reads these records (or the groups
 * they fold into, conn_groups.h), never the kept connections.
 *
 * Pointer-free on purpose: a record can be copied, hashed, written to a file
 * and read back (smbscope merge) as it is. */
#ifndef SMBSCOPE_CONN_SUMMARY_H
#define SMBSCOPE_CONN_SUMMARY_H

#include <stdbool.h>
#include <stdint.h>

#include "packet.h"
#include "policy.h"

struct smb_conn;

/* What carries the SMB messages (JSON connections[].carrier). */
enum conn_carrier { CONN_CARRIER_TCP = 0, CONN_CARRIER_QUIC, CONN_CARRIER_UDP, CONN_CARRIER_COUNT };
const char *conn_carrier_name(enum conn_carrier c); /* "tcp", "quic", "udp" */

/* Signing as negotiated (smb_conn_signing_mode()). */
enum conn_signing { CONN_SIGNING_UNKNOWN = 0, CONN_SIGNING_DISABLED, CONN_SIGNING_ENABLED, CONN_SIGNING_REQUIRED };
const char *conn_signing_name(enum conn_signing s); /* NULL, "disabled", "enabled", "required" */

/* The authentication the text report's AUTH column shows: the first
 * session's anonymous/guest flag or mechanism. */
enum conn_auth {
    CONN_AUTH_NONE = 0, /* no session seen */
    CONN_AUTH_ANONYMOUS,
    CONN_AUTH_GUEST,
    CONN_AUTH_KERBEROS,
    CONN_AUTH_NTLM,
    CONN_AUTH_OTHER,   /* another mechanism (auth_mech_name of it in auth_mech) */
    CONN_AUTH_COUNT
};

/* Why the policy could not decide a connection (verdict.unknowns reason). */
enum conn_gap { CONN_GAP_MIDSTREAM = 0, CONN_GAP_CONTENT, CONN_GAP_NEGOTIATE, CONN_GAP_LOGON, CONN_GAP_NO_KEYS, CONN_GAP_COUNT };
/* "mid-stream", "content-lost", "negotiate-not-decoded", "logon-not-seen" */
const char *conn_gap_name(enum conn_gap g);

/* Bits of conn_summary.flags: the booleans of struct policy_conn_facts,
 * and what the evidence counts. */
enum conn_flag {
    CONN_F_SIGNING_REQUIRED = 1u << 0,
    CONN_F_SIGNED_SEEN = 1u << 1,
    CONN_F_ENCRYPTED = 1u << 2,
    CONN_F_NEGOTIATE_SEEN = 1u << 3,
    CONN_F_SMB_SEEN = 1u << 4,
    CONN_F_MESSAGES_SEEN = 1u << 5,
    CONN_F_CONTENT_LOST = 1u << 6,
    CONN_F_START_SEEN = 1u << 7,     /* handshake seen and not mid-stream (evidence "from their start") */
    CONN_F_AUTH_UNSEEN = 1u << 8,
    CONN_F_KERBEROS = 1u << 9,       /* an authenticated Kerberos session */
    CONN_F_NTLM = 1u << 10,          /* an authenticated NTLM session (policy: sessions_ntlm) */
    CONN_F_OTHER_AUTH = 1u << 11,    /* anonymous, guest or another mechanism (policy: sessions_other) */
};

#define CONN_DIALECT_TEXT_LEN 32 /* escaped, NUL-terminated; longer SMB1 strings are cut */
#define CONN_REASON_LEN 24

struct conn_summary {
    struct ip_addr client, server;
    uint16_t client_port, server_port;
    int64_t first_ts, last_ts;
    uint64_t flow_id;            /* the flow table's id (orders connections of one timestamp) */
    uint64_t packets, bytes;     /* both directions */
    uint64_t gaps, gap_bytes;    /* stream gaps */
    uint32_t evidence;           /* enum transport_evidence_bit */
    uint32_t rules;              /* policy_check_connection() under the run's policy */
    uint32_t undecided;          /* policy_undecided_connection() under the run's policy */
    uint16_t dialect;            /* chosen SMB2/3 dialect (response seen), 0 none or SMB1 */
    uint16_t flags;              /* enum conn_flag */
    uint16_t ntlm_sessions;      /* non-anonymous NTLM sessions (FINDING_NTLM), saturating */
    uint8_t transport;           /* enum transport_class */
    uint8_t carrier;             /* enum conn_carrier */
    uint8_t proto;               /* 6 (TCP) or 17 (UDP: QUIC, RoCEv2) */
    uint8_t smb_version;         /* 0 unknown, 1, 2, 3 */
    uint8_t signing;             /* enum conn_signing */
    uint8_t auth;                /* enum conn_auth */
    uint8_t auth_mech;           /* enum auth_mech of CONN_AUTH_OTHER */
    uint8_t gap;                 /* enum conn_gap, meaningful when undecided != 0 */
    uint8_t findings;            /* bits of enum finding_kind of the connection alone
                                    (NTLM, NBT_ABOVE_302, ALT_PORT, KEEPALIVE_ON_DIRECT) */
    char dialect_text[CONN_DIALECT_TEXT_LEN]; /* "3.1.1", "NT LM 0.12", "" unknown; escaped */
    char close_reason[CONN_REASON_LEN];       /* "fin", "rst", "end of capture", ... */
    /* smbscope merge: where one run over the captures closes it, as the
     * run that closed it numbered its closes (analyzer/merge/
     * mstate_group_order.h); 0: not known.  order_run: that run's first
     * packet (set by merge). */
    int64_t order_run, order_at;
    bool half_open;  /* a file run: open at its end without a finished handshake (analyzer/merge/
                        mstate_half_open.h: it goes idle after the half-open timeout) */
    bool syn_isn_known; /* a file run: an edge begun with its client's SYN, of this ISN (analyzer/merge/
                           mstate_syn_starts.h: an earlier capture may hold that SYN sent first) */
    uint32_t syn_isn;
    bool client_silent; /* a file run: seen from its middle, nothing from its client (a handshake an
                           earlier capture began stays unfinished) */
    bool fins_acked; /* a file run: closed at its end after a FIN each way, both acknowledged (what may
                        follow is a retransmission: one run over more parts ends it, no edge) */
};

/* The record of a closed connection (smb_conn_close() returned true);
 * rules/undecided under policy p. */
void conn_summary_from_conn(struct conn_summary *out, const struct smb_conn *s, const struct policy *p);
/* The policy facts the record holds (session counts as 0 or 1). */
struct policy_conn_facts conn_summary_facts(const struct conn_summary *cs);
/* enum conn_gap of facts that leave a rule undecided. */
enum conn_gap conn_summary_gap(const struct policy_conn_facts *f);
/* The AUTH column: "anonymous", "guest", "kerberos", "ntlm", another
 * mechanism's name, or "-". */
const char *conn_summary_auth_text(uint8_t auth, uint8_t auth_mech);
/* The findings bits of one connection's facts (shared with the JSON's
 * connections[].findings). */
uint8_t conn_summary_findings(const struct smb_conn *s, uint16_t *ntlm_sessions);

#endif
