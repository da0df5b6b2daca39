/* esp_peers.c - see esp_peers.h. */
#include "esp_peers.h"

#include <string.h>

static int addr_cmp(const struct ip_addr *x, const struct ip_addr *y)
{
    if (x->family != y->family)
        return x->family < y->family ? -1 : 1;
    return memcmp(x->bytes, y->bytes, sizeof x->bytes);
}

void esp_peers_add(struct esp_peers *p, const struct ip_addr *a, const struct ip_addr *b, uint64_t packets,
                   int64_t first_ts)
{
    if (addr_cmp(a, b) > 0) {
        const struct ip_addr *t = a;
        a = b;
        b = t;
    }
    for (uint32_t i = 0; i < p->n; i++) {
        struct esp_peer *e = &p->pairs[i];
        if (addr_cmp(&e->a, a) == 0 && addr_cmp(&e->b, b) == 0) {
            e->packets += packets;
            if (first_ts < e->first_ts)
                e->first_ts = first_ts;
            return;
        }
    }
    if (p->n == ESP_PEERS_MAX) {
        p->other_packets += packets;
        return;
    }
    struct esp_peer *e = &p->pairs[p->n++];
    e->a = *a;
    e->b = *b;
    e->packets = packets;
    e->first_ts = first_ts;
}

void esp_peers_note(struct esp_peers *p, const struct packet *pkt)
{
    esp_peers_add(p, &pkt->src, &pkt->dst, 1, pkt->ts_us);
}

/* The pairs of both in the order one run met them (first packet's time;
 * dst's first at equal times): past ESP_PEERS_MAX a pair's packets are
 * the other packets, as one run counts them when the parts do not overlap
 * in time. */
void esp_peers_fold(struct esp_peers *dst, const struct esp_peers *src)
{
    struct esp_peers out = { 0 };
    out.other_packets = dst->other_packets + src->other_packets;
    uint32_t i = 0, j = 0;
    while (i < dst->n || j < src->n) {
        const struct esp_peer *e =
            j >= src->n || (i < dst->n && dst->pairs[i].first_ts <= src->pairs[j].first_ts) ? &dst->pairs[i++]
                                                                                              : &src->pairs[j++];
        esp_peers_add(&out, &e->a, &e->b, e->packets, e->first_ts);
    }
    *dst = out;
}
