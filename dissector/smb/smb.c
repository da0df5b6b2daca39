/* smb.c - top-level dispatch on the protocol id (MS-SMB2 2.2.1, 2.2.41,
 * 2.2.42; MS-CIFS 2.2.3.1). */
#include "smb.h"

#include <string.h>

#include "smb1.h"
#include "smb2.h"
#include "wire.h"

const char *smb_anomaly_kind_name(enum smb_anomaly_kind k)
{
    static const char *const names[] = { "none", "truncated", "bad-offset", "bad-structure", "compound",
                                         "contexts", "auth", "andx" };
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "unknown";
}

void smb_anomaly_emit(const struct smb_run *run, enum smb_anomaly_kind kind, size_t offset, const char *reason)
{
    if (!run->sink || !run->sink->anomaly)
        return;
    struct smb_anomaly a = { kind, (uint32_t)offset, reason };
    run->sink->anomaly(run->ctx, &a);
}

void smb_decode_message(const uint8_t *msg, size_t avail, uint32_t msg_len,
                        const struct smb_sink *sink, void *ctx)
{
    static const struct smb_sink no_sink;
    struct smb_run run = { sink ? sink : &no_sink, ctx, msg_len };
    /* bytes beyond msg_len belong to the next message, never to this one */
    size_t n = avail < msg_len ? avail : msg_len;
    struct wire w = wire_make(msg, n);

    uint8_t id0 = wire_peek_u8(&w, 0);
    bool smb_tag = wire_has(&w, 4) && wire_peek_u8(&w, 1) == 'S' && wire_peek_u8(&w, 2) == 'M'
                   && wire_peek_u8(&w, 3) == 'B';
    if (smb_tag) {
        switch (id0) {
        case 0xFF:
            smb1_decode(&w, &run);
            return;
        case 0xFE:
            smb2_decode(&w, &run);
            return;
        case 0xFD:
            smb2_decode_transform(&w, &run);
            return;
        case 0xFC:
            smb2_decode_compression(&w, &run);
            return;
        default:
            break;
        }
    }
    if (run.sink->unknown) {
        struct smb_unknown_info u;
        memset(&u, 0, sizeof u);
        for (size_t i = 0; i < 4; i++)
            u.protocol_id[i] = wire_peek_u8(&w, i);
        u.avail = n;
        run.sink->unknown(run.ctx, &u);
    }
}
