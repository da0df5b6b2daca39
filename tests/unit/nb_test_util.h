/* Shared by the NetBIOS name tests: tshark's rendering of a NetBIOS name
 * back to bytes, so decoded names can be compared with tshark's. */
#ifndef SMBSCOPE_NB_TEST_UTIL_H
#define SMBSCOPE_NB_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "nbname.h"

/* tshark renders a name as its bytes with non-printables as <xx>, the last
 * <xx> being the suffix, optionally followed by " (description)".  Parse that
 * back to 15 space-padded bytes (a wildcard "*" name is zero-padded). */
void parse_tshark_name(const char *s, uint8_t name[15], uint8_t *suffix, size_t *len);

/* Fails the test unless the decoded name equals tshark's rendering. */
void assert_nbname(const struct nbname *got, const char *tshark);

/* Vector files live in $SMBSCOPE_VECTORS (tests/unit/vectors by default).
 * Both fail the test when the file cannot be read. */
char *vector_text(const char *name);  /* g_free() it */
GBytes *vector_bytes(const char *name);
/* The rows of a tab-separated vector file after its header line, each a
 * NULL-terminated column array (the array frees them). */
GPtrArray *vector_rows(const char *name);

#endif
