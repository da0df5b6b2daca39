/* quic_sha256.c - SHA-256 (FIPS 180-4) and HMAC (RFC 2104); see quic_sha256.h. */
#include "quic_sha256.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_SHA_NI 1
#include <cpuid.h>
#include <immintrin.h>
#endif

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static const uint32_t IV[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

static uint32_t ror(uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* One round, the eight working variables named in place (no moves: the
 * caller rotates the names), w[t & 15] the schedule's word t. */
#define S0(x) (ror((x), 2) ^ ror((x), 13) ^ ror((x), 22))
#define S1(x) (ror((x), 6) ^ ror((x), 11) ^ ror((x), 25))
#define s0(x) (ror((x), 7) ^ ror((x), 18) ^ ((x) >> 3))
#define s1(x) (ror((x), 17) ^ ror((x), 19) ^ ((x) >> 10))
#define ROUND(a, b, c, d, e, f, g, h, t)                                                                          \
    do {                                                                                                          \
        if ((t) >= 16)                                                                                            \
            w[(t) & 15] += s1(w[((t) - 2) & 15]) + w[((t) - 7) & 15] + s0(w[((t) - 15) & 15]);                    \
        uint32_t t1_ = (h) + S1(e) + ((g) ^ ((e) & ((f) ^ (g)))) + K[t] + w[(t) & 15];                            \
        (d) += t1_;                                                                                               \
        (h) = t1_ + S0(a) + (((a) & (b)) | ((c) & ((a) | (b))));                                                  \
    } while (0)
#define ROUND8(t)                                                                                                 \
    do {                                                                                                          \
        ROUND(a, b, c, d, e, f, g, h, (t) + 0);                                                                   \
        ROUND(h, a, b, c, d, e, f, g, (t) + 1);                                                                   \
        ROUND(g, h, a, b, c, d, e, f, (t) + 2);                                                                   \
        ROUND(f, g, h, a, b, c, d, e, (t) + 3);                                                                   \
        ROUND(e, f, g, h, a, b, c, d, (t) + 4);                                                                   \
        ROUND(d, e, f, g, h, a, b, c, (t) + 5);                                                                   \
        ROUND(c, d, e, f, g, h, a, b, (t) + 6);                                                                   \
        ROUND(b, c, d, e, f, g, h, a, (t) + 7);                                                                   \
    } while (0)

static void compress_c(uint32_t s[8], const uint8_t *p, size_t blocks)
{
    for (; blocks; blocks--, p += 64) {
        uint32_t w[16];
        for (int t = 0; t < 16; t++)
            w[t] = be32(p + 4 * t);
        uint32_t a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
        ROUND8(0);
        ROUND8(8);
        ROUND8(16);
        ROUND8(24);
        ROUND8(32);
        ROUND8(40);
        ROUND8(48);
        ROUND8(56);
        s[0] += a;
        s[1] += b;
        s[2] += c;
        s[3] += d;
        s[4] += e;
        s[5] += f;
        s[6] += g;
        s[7] += h;
    }
}

#ifdef HAVE_SHA_NI
/* Four rounds: message words m (with the schedule's next four computed
 * from it where asked) plus their constants. */
#define ROUNDS4(m, k)                                                                                             \
    do {                                                                                                          \
        __m128i x_ = _mm_add_epi32((m), _mm_loadu_si128((const __m128i *)(const void *)&K[k]));                 \
        st1 = _mm_sha256rnds2_epu32(st1, st0, x_);                                                                \
        st0 = _mm_sha256rnds2_epu32(st0, st1, _mm_shuffle_epi32(x_, 0x0E));                                       \
    } while (0)
/* The next four schedule words into m0 (m0..m3 the last sixteen, oldest first). */
#define SCHEDULE(m0, m1, m2, m3)                                                                                  \
    (m0) = _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32((m0), (m1)), _mm_alignr_epi8((m3), (m2), 4)), \
        (m3))

__attribute__((target("sha,sse4.1,ssse3"))) static void compress_ni(uint32_t s[8], const uint8_t *p, size_t blocks)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    /* The state as the instructions want it: ABEF and CDGH. */
    __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(const void *)&s[0]), 0xB1); /* CDAB */
    __m128i st1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(const void *)&s[4]), 0x1B); /* EFGH */
    __m128i st0 = _mm_alignr_epi8(tmp, st1, 8);                                                   /* ABEF */
    st1 = _mm_blend_epi16(st1, tmp, 0xF0);                                                        /* CDGH */
    for (; blocks; blocks--, p += 64) {
        __m128i save0 = st0, save1 = st1;
        __m128i m0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 0)), bswap);
        __m128i m1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 16)), bswap);
        __m128i m2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 32)), bswap);
        __m128i m3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 48)), bswap);
        ROUNDS4(m0, 0);
        ROUNDS4(m1, 4);
        ROUNDS4(m2, 8);
        ROUNDS4(m3, 12);
        for (int k = 16; k < 64; k += 16) {
            SCHEDULE(m0, m1, m2, m3);
            ROUNDS4(m0, k);
            SCHEDULE(m1, m2, m3, m0);
            ROUNDS4(m1, k + 4);
            SCHEDULE(m2, m3, m0, m1);
            ROUNDS4(m2, k + 8);
            SCHEDULE(m3, m0, m1, m2);
            ROUNDS4(m3, k + 12);
        }
        st0 = _mm_add_epi32(st0, save0);
        st1 = _mm_add_epi32(st1, save1);
    }
    tmp = _mm_shuffle_epi32(st0, 0x1B);   /* FEBA */
    st1 = _mm_shuffle_epi32(st1, 0xB1);   /* DCHG */
    st0 = _mm_blend_epi16(tmp, st1, 0xF0); /* DCBA */
    st1 = _mm_alignr_epi8(st1, tmp, 8);    /* ABEF -> HGFE */
    _mm_storeu_si128((__m128i *)(void *)&s[0], st0);
    _mm_storeu_si128((__m128i *)(void *)&s[4], st1);
}

static bool cpu_has_sha(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSSE3) || !(c & bit_SSE4_1))
        return false;
    if (__get_cpuid_max(0, NULL) < 7)
        return false;
    __cpuid_count(7, 0, a, b, c, d);
    return (b & bit_SHA) != 0;
}
#endif

/* 0: not asked yet, 1: C, 2: extensions.  Asked once; any thread may ask
 * (the answer is the same). */
static int impl;
static bool portable_forced;

static int impl_now(void)
{
    int i = __atomic_load_n(&impl, __ATOMIC_RELAXED);
    if (!i) {
#ifdef HAVE_SHA_NI
        i = cpu_has_sha() ? 2 : 1;
#else
        i = 1;
#endif
        __atomic_store_n(&impl, i, __ATOMIC_RELAXED);
    }
    return __atomic_load_n(&portable_forced, __ATOMIC_RELAXED) ? 1 : i;
}

static void compress(uint32_t s[8], const uint8_t *p, size_t blocks)
{
#ifdef HAVE_SHA_NI
    if (impl_now() == 2) {
        compress_ni(s, p, blocks);
        return;
    }
#endif
    compress_c(s, p, blocks);
}

bool quic_sha256_uses_extensions(void) { return impl_now() == 2; }

void quic_sha256_force_portable(bool on) { __atomic_store_n(&portable_forced, on, __ATOMIC_RELAXED); }

/* A hash in progress: the state, the bytes of a block not yet compressed,
 * and the length so far (a pad block's 64 bytes included). */
struct ctx {
    uint32_t s[8];
    uint8_t buf[64];
    size_t fill;
    uint64_t total;
};

static void update(struct ctx *c, const uint8_t *p, size_t n)
{
    c->total += n;
    if (c->fill) {
        size_t take = 64 - c->fill < n ? 64 - c->fill : n;
        memcpy(c->buf + c->fill, p, take);
        c->fill += take;
        p += take;
        n -= take;
        if (c->fill < 64)
            return;
        compress(c->s, c->buf, 1);
        c->fill = 0;
    }
    if (n >= 64) {
        compress(c->s, p, n / 64);
        p += n - n % 64;
        n %= 64;
    }
    if (n) {
        memcpy(c->buf, p, n);
        c->fill = n;
    }
}

static void finish(struct ctx *c, uint8_t out[QUIC_SHA256_LEN])
{
    uint64_t bits = c->total * 8;
    c->buf[c->fill++] = 0x80;
    if (c->fill > 56) {
        memset(c->buf + c->fill, 0, 64 - c->fill);
        compress(c->s, c->buf, 1);
        c->fill = 0;
    }
    memset(c->buf + c->fill, 0, 56 - c->fill);
    for (int i = 0; i < 8; i++)
        c->buf[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
    compress(c->s, c->buf, 1);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(c->s[i] >> 24);
        out[4 * i + 1] = (uint8_t)(c->s[i] >> 16);
        out[4 * i + 2] = (uint8_t)(c->s[i] >> 8);
        out[4 * i + 3] = (uint8_t)c->s[i];
    }
}

void quic_sha256(const uint8_t *data, size_t len, uint8_t out[QUIC_SHA256_LEN])
{
    struct ctx c;
    memcpy(c.s, IV, sizeof c.s);
    c.fill = 0;
    c.total = 0;
    update(&c, data, len);
    finish(&c, out);
}

void quic_hmac256_key(struct quic_hmac256 *h, const uint8_t *key, size_t len)
{
    uint8_t k[64] = { 0 }, pad[64];
    if (len > 64)
        quic_sha256(key, len, k);
    else if (len)
        memcpy(k, key, len);
    for (int i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x36;
    memcpy(h->inner, IV, sizeof h->inner);
    compress(h->inner, pad, 1);
    for (int i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x5c;
    memcpy(h->outer, IV, sizeof h->outer);
    compress(h->outer, pad, 1);
}

void quic_hmac256(const struct quic_hmac256 *h, const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
    const uint8_t *c, size_t c_len, uint8_t out[QUIC_SHA256_LEN])
{
    struct ctx x;
    memcpy(x.s, h->inner, sizeof x.s);
    x.fill = 0;
    x.total = 64;
    if (a_len)
        update(&x, a, a_len);
    if (b_len)
        update(&x, b, b_len);
    if (c_len)
        update(&x, c, c_len);
    uint8_t inner[QUIC_SHA256_LEN];
    finish(&x, inner);
    memcpy(x.s, h->outer, sizeof x.s);
    x.fill = 0;
    x.total = 64;
    update(&x, inner, sizeof inner);
    finish(&x, out);
}
