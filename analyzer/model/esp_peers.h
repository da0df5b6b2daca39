/* esp_peers.h - who speaks encrypted IPsec ESP: the address pairs of the
 * ESP packets smbscope cannot open (PKT_ENCRYPTED_ESP, a decode loss), so
 * the report names the tunnels whose traffic is unseen (a tunnel between
 * two file servers' sites may carry SMB).
 *
 * Bounded: the first ESP_PEERS_MAX pairs met are listed with their packet
 * counts (either direction is one pair); the packets of any pair past them
 * are counted together.  Folded by --jobs and merge as one run keeps
 * them, in the order the pairs were first met. */
#ifndef SMBSCOPE_ESP_PEERS_H
#define SMBSCOPE_ESP_PEERS_H

#include <stdint.h>

#include "packet.h"

#define ESP_PEERS_MAX 16

struct esp_peer {
    struct ip_addr a, b; /* a the lower address */
    uint64_t packets;
    int64_t first_ts;
};

struct esp_peers {
    uint32_t n;
    struct esp_peer pairs[ESP_PEERS_MAX];
    uint64_t other_packets; /* of pairs past the first ESP_PEERS_MAX */
};

/* One encrypted ESP packet between pkt's addresses (its outer header). */
void esp_peers_note(struct esp_peers *p, const struct packet *pkt);

/* A pair's packets (first met at first_ts) added: what another run saw. */
void esp_peers_add(struct esp_peers *p, const struct ip_addr *a, const struct ip_addr *b, uint64_t packets,
                   int64_t first_ts);

/* src's pairs and other packets into dst (--jobs, merge). */
void esp_peers_fold(struct esp_peers *dst, const struct esp_peers *src);

#endif
