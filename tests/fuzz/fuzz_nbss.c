/* libFuzzer harness: NBSS control decoding and NetBIOS name decoding. */
#include <stdint.h>
#include <stdlib.h>

#include "nbss.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nbss_control c;
    nbss_control_decode(data, size, &c);
    if ((unsigned)c.status >= NBSS_STATUS_COUNT)
        abort();
    char text[NBNAME_RENDER_MAX];
    size_t need = nbname_render(&c.called, text, sizeof text);
    if (need >= sizeof text)
        abort(); /* NBNAME_RENDER_MAX must hold any name */
    nbname_render(&c.calling, text, 8);
    (void)nbss_status_text(c.status);
    (void)nbss_error_text(c.error_code);

    /* names alone, with and without compression pointers */
    for (int allow = 0; allow < 2; allow++) {
        struct wire w = wire_make(data, size);
        while (wire_left(&w) > 0) {
            size_t before = w.off;
            struct nbname n;
            enum nbname_status st = nbname_decode(&w, allow, &n);
            if ((unsigned)st >= NBNAME_STATUS_COUNT || n.scope_len > NBNAME_SCOPE_MAX)
                abort();
            if (nbname_render(&n, text, sizeof text) >= sizeof text)
                abort();
            (void)nbname_suffix_meaning(n.suffix, allow);
            if (w.off <= before)
                break;
        }
    }
    return 0;
}
