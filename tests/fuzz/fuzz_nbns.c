/* libFuzzer harness: NBNS and NBDS decoding, then every name rendered. */
#include <stdint.h>
#include <stdlib.h>

#include "nbns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct nbns_msg msg; /* ~10 KB: static rather than on the stack */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[NBNAME_RENDER_MAX];
    nbns_decode(data, size, &msg);
    if (msg.nq > NBNS_MAX_QUESTIONS || msg.nrr > NBNS_MAX_RECORDS || msg.naddrs > NBNS_MAX_ADDRS ||
        msg.nnodes > NBNS_MAX_NODE_NAMES || msg.used > size)
        abort();
    for (unsigned i = 0; i < msg.nq; i++)
        if (nbname_render(&msg.q[i].name, text, sizeof text) >= sizeof text)
            abort();
    for (unsigned i = 0; i < msg.nrr; i++) {
        const struct nbns_record *r = &msg.rr[i];
        if (nbname_render(&r->name, text, sizeof text) >= sizeof text)
            abort();
        if (r->addr_first + r->addr_count > msg.naddrs || r->node_first + r->node_count > msg.nnodes)
            abort();
        for (unsigned k = 0; k < r->node_count; k++) {
            const struct nbns_node_name *nn = &msg.nodes[r->node_first + k];
            nbname_render_raw(nn->name, nn->suffix, text, sizeof text);
        }
        (void)nbns_type_name(r->type);
    }
    (void)nbns_opcode_name(msg.opcode);
    (void)nbns_rcode_name(msg.rcode);

    struct nbds_msg d;
    nbds_decode(data, size, &d);
    if (d.user_offset + d.user_len > size)
        abort();
    nbname_render(&d.src, text, sizeof text);
    nbname_render(&d.dst, text, sizeof text);
    (void)nbds_type_name(d.type);
    return 0;
}
