/* decode_loss.c - see decode_loss.h. */
#include "decode_loss.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>

/* One row per kind: its name and its words in the detail line; a kind
 * added later is named there only when it was seen (if_seen), so the
 * detail of every capture without it reads as before. */
static const struct {
    const char *name, *words;
    bool if_seen;
} kinds[LOSS_KIND_COUNT] = {
    [LOSS_TRUNCATED] = { "truncated", "cut inside a header", false },
    [LOSS_MALFORMED] = { "malformed", "malformed", false },
    [LOSS_FRAG_DROPPED] = { "fragment-dropped", "IP fragments dropped", false },
    [LOSS_FRAG_INCOMPLETE] = { "fragment-incomplete", "fragmented datagrams never completed", false },
    [LOSS_ROCE_ICRC] = { "roce-icrc", "RoCEv2 packets with a bad ICRC", false },
    [LOSS_IWARP_CRC] = { "iwarp-crc", "iWARP FPDUs with a bad CRC32c", false },
    [LOSS_QUIC_UNDECRYPTABLE] = { "quic-undecryptable", "QUIC packets that did not decrypt with their keys", false },
    /* A pcapng interface of a link type smbscope does not decode (a classic
     * pcap of one is refused whole): its packets could carry anything. */
    [LOSS_UNSUPPORTED_LINK] = { "unsupported-link", "packets on a link type smbscope does not decode", true },
    /* Encrypted without keys: a protected 802.11 data frame, ESP that the
     * NULL-encryption heuristic does not open (tshark's, RFC 5879).  Either
     * could carry SMB or NetBIOS unseen. */
    [LOSS_ENCRYPTED_LINK] = { "encrypted-link", "protected 802.11 data frames (no keys)", true },
    [LOSS_ENCRYPTED_ESP] = { "encrypted-esp", "encrypted IPsec ESP packets", true },
};

/* Kept as it was before the encrypted kinds (every report with another
 * loss stays the same bytes); their words in the detail say what is
 * missing: the keys, or a capture on the wired side of the access point or
 * the tunnel's end (README: Decode losses). */
const char decode_loss_how[] = "capture whole packets (tcpdump -s 0); dropped fragments: raise the reassembly limits "
                               "or capture where the datagrams are not fragmented";

const char *decode_loss_kind_name(enum decode_loss_kind k)
{
    return (unsigned)k < LOSS_KIND_COUNT ? kinds[k].name : NULL;
}

uint64_t decode_loss_total(const struct decode_losses *l)
{
    uint64_t sum = 0;
    for (int k = 0; k < LOSS_KIND_COUNT; k++)
        sum += l->n[k];
    return sum;
}

uint32_t decode_loss_undecided(const struct policy *p, const struct decode_losses *l)
{
    if (!decode_loss_total(l))
        return 0;
    uint32_t bits = 0;
    for (int r = 0; r < RULE_COUNT; r++)
        if (policy_rule_enabled(p, (enum policy_rule)r))
            bits |= 1u << r;
    return bits;
}

const char *decode_loss_detail(const struct decode_losses *l, char *buf, size_t len)
{
    if (!len)
        return buf;
    int n = snprintf(buf, len, "%" PRIu64 " packets or datagrams could not be decoded down to their ports (",
                     decode_loss_total(l));
    for (int k = 0; k < LOSS_KIND_COUNT && n >= 0 && (size_t)n < len; k++)
        if (!kinds[k].if_seen || l->n[k])
            n += snprintf(buf + n, len - (size_t)n, "%s%" PRIu64 " %s", k ? ", " : "", l->n[k], kinds[k].words);
    if (n >= 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, "): any of them could be NetBIOS or SMB");
    return buf;
}
