/* quic_test_util.h - hex vectors for the QUIC unit tests (tests/unit/quic_vectors). */
#ifndef SMBSCOPE_QUIC_TEST_UTIL_H
#define SMBSCOPE_QUIC_TEST_UTIL_H

#include <glib.h>
#include <stdint.h>

/* The bytes of vector `name` in quic_vectors/FILE ("name hex" lines); the
 * test fails if it is missing. */
GBytes *quic_vector(const char *file, const char *name);

#endif
