/* pump.h - the decompressor of one input, or the reads of an uncompressed
 * one, on a thread of its own.
 *
 * Decompression is the hot path of a compressed capture: a thread on the
 * second core runs it into a ring of chunks while the analysis reads the
 * chunks before them.  Without a thread (SMBSCOPE_DECOMPRESS_THREAD=0, or
 * when one cannot be started) pump_read() decompresses in the caller.
 * An uncompressed input (z NULL) may get the same thread for its read()s
 * (SMBSCOPE_READ_THREAD=1): the system calls and the kernel's copy overlap
 * the analysis when a core is free. */
#ifndef SMBSCOPE_PUMP_H
#define SMBSCOPE_PUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decompress.h"

struct pump;

/* Whether plain reads should get a thread (SMBSCOPE_READ_THREAD=1). */
bool pump_read_thread_wanted(void);

/* Start on fd; raw (raw_cap bytes, the first raw_len already read from fd)
 * and z become the pump's; z NULL (codec CODEC_NONE): plain reads, the raw
 * bytes first.  NULL on allocation failure (raw and z stay the
 * caller's). */
struct pump *pump_start(int fd, uint8_t *raw, size_t raw_cap, size_t raw_len, struct codec *z,
                        enum source_codec codec);
/* Up to n decompressed bytes into dst; 0 only at the end of the stream, when
 * pump_error() says whether it was clean ("") or not. */
size_t pump_read(struct pump *p, uint8_t *dst, size_t n);
/* Threaded only (pump_threaded()): the next chunk of decompressed bytes, in
 * place (no copy): valid until the next pump_borrow() or pump_free(), which
 * hand it back to the thread.  NULL and *len 0 at the end of the stream
 * (pump_error() says whether it was clean) or on a stop request. */
const uint8_t *pump_borrow(struct pump *p, size_t *len);
bool pump_threaded(const struct pump *p);
const char *pump_error(struct pump *p);
/* Compressed bytes taken so far. */
uint64_t pump_raw_pos(const struct pump *p);
/* Stop the thread and free everything (raw and z too). */
void pump_free(struct pump *p);

#endif
