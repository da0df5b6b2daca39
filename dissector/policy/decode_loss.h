/* decode_loss.h - packets that could have been NetBIOS or SMB but could not
 * be read: the whole-input "decode-loss" unknown, one story for the command
 * (analyzer/model/verdict_unknowns.c) and the Wireshark plugin (plugin/loss.c).
 *
 * Each tool counts the kinds it can see; this file says what a loss of any
 * kind does to the verdict (every enabled rule is undecided: a lost packet
 * could have broken any of them, so the outcome is at best inconclusive),
 * names the kinds and writes the one-line detail both tools show. */
#ifndef SMBSCOPE_DECODE_LOSS_H
#define SMBSCOPE_DECODE_LOSS_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"

enum decode_loss_kind {
    LOSS_TRUNCATED = 0,     /* cut inside a header (snap length) */
    LOSS_MALFORMED,         /* headers that do not parse down to the ports */
    LOSS_FRAG_DROPPED,      /* IP fragments dropped (reassembly limits) */
    LOSS_FRAG_INCOMPLETE,   /* fragmented datagrams never completed */
    LOSS_ROCE_ICRC,         /* RoCEv2 packets with a bad ICRC */
    LOSS_IWARP_CRC,         /* iWARP FPDUs with a bad CRC32c */
    LOSS_QUIC_UNDECRYPTABLE,/* QUIC packets that did not decrypt with their keys */
    LOSS_UNSUPPORTED_LINK,  /* packets of a pcapng interface whose link type is not decoded */
    LOSS_ENCRYPTED_LINK,    /* protected (encrypted) 802.11 data frames: no keys */
    LOSS_ENCRYPTED_ESP,     /* IPsec ESP that is not NULL-encrypted: no keys */
    LOSS_KIND_COUNT
};

struct decode_losses {
    uint64_t n[LOSS_KIND_COUNT];
};

/* The unknown's stable id: "decode-loss". */
#define DECODE_LOSS_REASON "decode-loss"

/* Short name of a kind ("truncated", "malformed", "fragment-dropped",
 * "fragment-incomplete", "roce-icrc", "iwarp-crc", "quic-undecryptable",
 * "unsupported-link", "encrypted-link", "encrypted-esp");
 * NULL out of range. */
const char *decode_loss_kind_name(enum decode_loss_kind k);

uint64_t decode_loss_total(const struct decode_losses *l);

/* Rules a loss leaves undecided under policy p: every enabled rule when
 * anything was lost, else 0. */
uint32_t decode_loss_undecided(const struct policy *p, const struct decode_losses *l);

/* The unknown's detail ("3 packets or datagrams could not be decoded ...:
 * any of them could be NetBIOS or SMB") into buf; returns buf. */
const char *decode_loss_detail(const struct decode_losses *l, char *buf, size_t len);

/* How to get what was lost. */
extern const char decode_loss_how[];

#endif
