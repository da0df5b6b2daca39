/* libFuzzer harness for the streaming framer.
 *
 * The first 4 input bytes choose the configuration (mid-stream start, a
 * want() limit, a cap) and seed the chunking; the rest is the stream.  The
 * stream is framed twice, in one chunk and in pseudo-random chunks, and the
 * callback logs must be identical (chunking must never change the result);
 * a third run adds gaps and framer_skip() calls for robustness only. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "framer.h"

struct log {
    uint64_t hash;
    uint64_t events;
    size_t want_limit;
    const struct framer *f;
};

static void mix(struct log *l, uint64_t v)
{
    l->hash = (l->hash ^ v) * 0x100000001b3ull;
    l->events++;
}

static void mix_bytes(struct log *l, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mix(l, p[i]);
}

static void on_control(void *ctx, uint8_t type, const uint8_t *body, size_t n, const struct nbss_control *d)
{
    struct log *l = ctx;
    if (n > FRAMER_CONTROL_MAX)
        abort();
    mix(l, 0xc0 | type);
    mix(l, n);
    mix(l, d->status);
    mix_bytes(l, body, n);
    char text[NBNAME_RENDER_MAX];
    if (type == NBSS_SESSION_REQUEST) {
        nbname_render(&d->called, text, sizeof text);
        nbname_render(&d->calling, text, sizeof text);
    }
}

static size_t on_want(void *ctx, const uint8_t *head, size_t head_len, uint32_t msg_len)
{
    struct log *l = ctx;
    if (head_len != (msg_len < FRAMER_HEAD ? msg_len : FRAMER_HEAD))
        abort();
    mix(l, 0x100 + head_len);
    mix_bytes(l, head, head_len);
    return l->want_limit;
}

static void on_message(void *ctx, const uint8_t *msg, size_t avail, uint32_t msg_len, unsigned flags)
{
    struct log *l = ctx;
    if (avail > msg_len)
        abort();
    mix(l, 0x200);
    mix(l, avail);
    mix(l, msg_len);
    mix(l, flags);
    mix_bytes(l, msg, avail);
}

static void on_anomaly(void *ctx, enum framer_anomaly an, uint64_t detail)
{
    struct log *l = ctx;
    if ((unsigned)an >= FRAMER_AN_COUNT)
        abort();
    mix(l, 0x300 + (uint64_t)an);
    mix(l, detail);
}

static uint32_t next(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void setup(struct framer *f, struct log *l, struct transport_obs *obs, uint8_t cfg, uint8_t lim)
{
    static const size_t limits[] = { 0, 4, 64, 72, 100, 5000, 70000, (size_t)-1 };
    memset(l, 0, sizeof *l);
    l->hash = 0xcbf29ce484222325ull;
    l->want_limit = limits[lim & 7];
    struct framer_callbacks cb = { on_control, (cfg & 2) ? on_want : NULL, on_message, on_anomaly };
    framer_init(f, &cb, l, obs, cfg & 1);
    if (cfg & 4)
        framer_set_cap(f, 2048);
    l->f = f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    uint8_t cfg = data[0], lim = data[1];
    uint32_t seed = ((uint32_t)data[2] << 8 | data[3]) + 1;
    const uint8_t *s = data + 4;
    size_t n = size - 4;

    struct framer f;
    struct log a, b;
    struct transport_obs oa = { 0 }, ob = { 0 };

    setup(&f, &a, &oa, cfg, lim);
    framer_feed(&f, s, n);
    framer_free(&f);

    setup(&f, &b, &ob, cfg, lim);
    uint32_t st = seed;
    size_t off = 0;
    while (off < n) {
        size_t k = 1 + next(&st) % ((cfg & 0x10) ? 3 : 300);
        if (k > n - off)
            k = n - off;
        uint8_t *chunk = malloc(k); /* own block: ASan sees reads past it */
        memcpy(chunk, s + off, k);
        framer_feed(&f, chunk, k);
        free(chunk);
        off += k;
    }
    framer_free(&f);
    if (a.hash != b.hash || a.events != b.events || memcmp(&oa, &ob, sizeof oa) != 0)
        abort();

    /* gaps and skips anywhere */
    setup(&f, &b, &ob, cfg, lim);
    st = seed;
    off = 0;
    while (off < n) {
        uint32_t r = next(&st);
        size_t k = 1 + r % 200;
        if (k > n - off)
            k = n - off;
        if ((r >> 24) < 20) {
            framer_gap(&f, k);
        } else if ((r >> 24) < 60 && framer_skippable(&f)) {
            uint64_t sk = framer_skippable(&f);
            if (sk > n - off)
                sk = n - off;
            framer_skip(&f, sk);
            k = (size_t)sk;
        } else if ((r >> 24) < 100 && framer_skippable(&f)) {
            /* told by number, as reassembly's reasm_pass() tells them */
            uint64_t sk = framer_skippable(&f);
            if (sk > k)
                sk = k;
            framer_passed(&f, sk);
            k = (size_t)sk;
        } else {
            framer_feed(&f, s + off, k);
        }
        off += k;
    }
    framer_reset(&f, cfg & 8);
    framer_feed(&f, s, n);
    framer_free(&f);
    return 0;
}
