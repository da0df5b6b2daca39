/* decompress.c - gzip, zstd and lz4 frame decompression, one interface.
 *
 * Each codec keeps whether its stream stands between members/frames: only
 * there may the input end cleanly; anywhere else the file was cut. */
#include "decompress.h"

#include <lz4frame.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

/* A zstd frame names the window its decoder must keep, up to 2 GiB; the
 * library's default accepts 128 MiB (2^27: zstd --long, --ultra -22).  16
 * MiB keeps a compressed input inside the 64 MiB bound with the reader's
 * buffers, and holds every level without --long or --ultra (zstd -19 uses
 * 8 MiB); a larger frame is refused by name (review: 157 MiB peak from a
 * zstd --long=27 capture). */
#define ZSTD_WINDOW_LOG_MAX 24

#ifdef HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif

struct codec {
    enum source_codec kind;
    bool boundary;      /* between members/frames (also before the first) */
    bool started;       /* the first member/frame has begun */
#ifdef HAVE_ISAL
    struct inflate_state isal;
#else
    z_stream zs;
    bool z_ready;
#endif
    ZSTD_DStream *zstd;
    LZ4F_dctx *lz4;
};

static const struct {
    enum source_codec kind;
    uint8_t magic[4];
    size_t len;
} magics[] = {
    { CODEC_GZIP, { 0x1f, 0x8b }, 2 },
    { CODEC_ZSTD, { 0x28, 0xb5, 0x2f, 0xfd }, 4 },
    { CODEC_LZ4, { 0x04, 0x22, 0x4d, 0x18 }, 4 },
};

enum source_codec codec_sniff(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < sizeof magics / sizeof magics[0]; i++)
        if (n >= magics[i].len && memcmp(p, magics[i].magic, magics[i].len) == 0)
            return magics[i].kind;
    return CODEC_NONE;
}

const char *source_inflate_impl(void)
{
#ifdef HAVE_ISAL
    return "isa-l";
#else
    return "zlib";
#endif
}

struct codec *codec_new(enum source_codec c, char *err, size_t errlen)
{
    struct codec *z = calloc(1, sizeof *z);
    if (!z) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    z->kind = c;
    z->boundary = true;
    bool ok = true;
    switch (c) {
    case CODEC_GZIP:
#ifdef HAVE_ISAL
        isal_inflate_init(&z->isal);
        z->isal.crc_flag = ISAL_GZIP;
#else
        ok = inflateInit2(&z->zs, 15 + 16) == Z_OK;
        z->z_ready = ok;
#endif
        break;
    case CODEC_ZSTD:
        z->zstd = ZSTD_createDStream();
        ok = z->zstd && !ZSTD_isError(ZSTD_initDStream(z->zstd)) &&
             !ZSTD_isError(ZSTD_DCtx_setParameter(z->zstd, ZSTD_d_windowLogMax, ZSTD_WINDOW_LOG_MAX));
        break;
    case CODEC_LZ4:
        ok = !LZ4F_isError(LZ4F_createDecompressionContext(&z->lz4, LZ4F_VERSION));
        break;
    case CODEC_NONE:
        ok = false;
        break;
    }
    if (!ok) {
        snprintf(err, errlen, "cannot initialise the %s decompressor", source_codec_name(c));
        codec_free(z);
        return NULL;
    }
    return z;
}

void codec_free(struct codec *z)
{
    if (!z)
        return;
#ifndef HAVE_ISAL
    if (z->z_ready)
        inflateEnd(&z->zs);
#endif
    if (z->zstd)
        ZSTD_freeDStream(z->zstd);
    if (z->lz4)
        LZ4F_freeDecompressionContext(z->lz4);
    free(z);
}

bool codec_at_boundary(const struct codec *z) { return z->boundary && z->started; }

#ifdef HAVE_ISAL
static bool run_gzip(struct codec *z, const uint8_t *in, size_t in_len, size_t *in_used, uint8_t *out,
                     size_t out_len, size_t *out_made, char *err, size_t errlen)
{
    if (z->boundary && in_len > 0 && z->started) {
        isal_inflate_reset(&z->isal); /* a further member follows */
        z->isal.crc_flag = ISAL_GZIP;
    }
    z->boundary = false;
    z->started = true;
    size_t in_cap = in_len > UINT32_MAX ? UINT32_MAX : in_len;
    size_t out_cap = out_len > UINT32_MAX ? UINT32_MAX : out_len;
    z->isal.next_in = (uint8_t *)(uintptr_t)in;
    z->isal.avail_in = (uint32_t)in_cap;
    z->isal.next_out = out;
    z->isal.avail_out = (uint32_t)out_cap;
    int rc = isal_inflate(&z->isal);
    *in_used = in_cap - z->isal.avail_in;
    *out_made = out_cap - z->isal.avail_out;
    if (rc < 0) {
        snprintf(err, errlen, "corrupt gzip data (ISA-L inflate error %d)", rc);
        return false;
    }
    if (z->isal.block_state == ISAL_BLOCK_FINISH)
        z->boundary = true;
    return true;
}
#else
static bool run_gzip(struct codec *z, const uint8_t *in, size_t in_len, size_t *in_used, uint8_t *out,
                     size_t out_len, size_t *out_made, char *err, size_t errlen)
{
    if (z->boundary && in_len > 0 && z->started && inflateReset(&z->zs) != Z_OK) {
        snprintf(err, errlen, "gzip: cannot restart inflate");
        return false;
    }
    z->boundary = false;
    z->started = true;
    size_t in_cap = in_len > (1u << 30) ? (1u << 30) : in_len;
    size_t out_cap = out_len > (1u << 30) ? (1u << 30) : out_len;
    z->zs.next_in = (Bytef *)(uintptr_t)in;
    z->zs.avail_in = (uInt)in_cap;
    z->zs.next_out = out;
    z->zs.avail_out = (uInt)out_cap;
    int rc = inflate(&z->zs, Z_NO_FLUSH);
    *in_used = in_cap - z->zs.avail_in;
    *out_made = out_cap - z->zs.avail_out;
    if (rc == Z_STREAM_END) {
        z->boundary = true;
        return true;
    }
    if (rc == Z_OK || (rc == Z_BUF_ERROR && (*in_used || *out_made || in_len == 0)))
        return true;
    snprintf(err, errlen, "corrupt gzip data: %s", z->zs.msg ? z->zs.msg : "inflate error");
    return false;
}
#endif

static bool run_zstd(struct codec *z, const uint8_t *in, size_t in_len, size_t *in_used, uint8_t *out,
                     size_t out_len, size_t *out_made, char *err, size_t errlen)
{
    ZSTD_inBuffer ib = { in, in_len, 0 };
    ZSTD_outBuffer ob = { out, out_len, 0 };
    size_t rc = ZSTD_decompressStream(z->zstd, &ob, &ib);
    *in_used = ib.pos;
    *out_made = ob.pos;
    if (ZSTD_isError(rc) && ZSTD_getErrorCode(rc) == ZSTD_error_frameParameter_windowTooLarge) {
        snprintf(err, errlen, "zstd frame needs a window over the %u MiB smbscope decodes within its memory bound "
                              "(made with zstd --long or --ultra): compress without them (zstd -19 is within it)",
                 (1u << ZSTD_WINDOW_LOG_MAX) >> 20);
        return false;
    }
    if (ZSTD_isError(rc)) {
        snprintf(err, errlen, "corrupt zstd data: %s", ZSTD_getErrorName(rc));
        return false;
    }
    if (ib.pos > 0)
        z->started = true;
    /* 0: a frame is complete and flushed; a following frame starts afresh */
    z->boundary = rc == 0;
    return true;
}

static bool run_lz4(struct codec *z, const uint8_t *in, size_t in_len, size_t *in_used, uint8_t *out,
                    size_t out_len, size_t *out_made, char *err, size_t errlen)
{
    size_t src = in_len, dst = out_len;
    size_t rc = LZ4F_decompress(z->lz4, out, &dst, in, &src, NULL);
    *in_used = src;
    *out_made = dst;
    if (LZ4F_isError(rc)) {
        snprintf(err, errlen, "corrupt lz4 data: %s", LZ4F_getErrorName(rc));
        return false;
    }
    if (src > 0)
        z->started = true;
    z->boundary = rc == 0; /* 0: the frame is fully decoded */
    return true;
}

bool codec_run(struct codec *z, const uint8_t *in, size_t in_len, size_t *in_used, uint8_t *out,
               size_t out_len, size_t *out_made, char *err, size_t errlen)
{
    *in_used = *out_made = 0;
    switch (z->kind) {
    case CODEC_GZIP:
        return run_gzip(z, in, in_len, in_used, out, out_len, out_made, err, errlen);
    case CODEC_ZSTD:
        return run_zstd(z, in, in_len, in_used, out, out_len, out_made, err, errlen);
    case CODEC_LZ4:
        return run_lz4(z, in, in_len, in_used, out, out_len, out_made, err, errlen);
    case CODEC_NONE:
        break;
    }
    snprintf(err, errlen, "no decompressor");
    return false;
}

const char *source_codec_name(enum source_codec c)
{
    static const char *const names[] = {
        [CODEC_NONE] = "", [CODEC_GZIP] = "gzip", [CODEC_ZSTD] = "zstd", [CODEC_LZ4] = "lz4",
    };
    return (unsigned)c < sizeof names / sizeof names[0] ? names[c] : "";
}
