/* decompress.h - streaming decompressors behind one call: gzip (ISA-L's
 * inflate when built with it, zlib otherwise), zstd and lz4 frames.
 *
 * Concatenated members/frames decompress to their concatenation, as
 * `gzip -dc`, `zstd -dc` and `lz4 -dc` do. */
#ifndef SMBSCOPE_DECOMPRESS_H
#define SMBSCOPE_DECOMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "source.h"

struct codec;

/* The codec whose magic starts p (n bytes known), CODEC_NONE if none. */
enum source_codec codec_sniff(const uint8_t *p, size_t n);

struct codec *codec_new(enum source_codec c, char *err, size_t errlen);
void codec_free(struct codec *z);

/* Decompress from in (in_len bytes) into out (out_len bytes).  *in_used and
 * *out_made say how much was taken and produced.  false and err on corrupt
 * data (err names the compressed byte offset base + consumed). */
bool codec_run(struct codec *z, const uint8_t *in, size_t in_len, size_t *in_used, uint8_t *out,
               size_t out_len, size_t *out_made, char *err, size_t errlen);

/* Whether the stream so far ends exactly after a whole member/frame (the
 * input may cleanly end here). */
bool codec_at_boundary(const struct codec *z);

#endif
