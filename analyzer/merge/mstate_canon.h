/* mstate_canon.h - the canonical text the merge state's digest is taken
 * over (mstate_canon.c), and a stream that hashes what is written to it. */
#ifndef SMBSCOPE_MSTATE_CANON_H
#define SMBSCOPE_MSTATE_CANON_H

#include <stdbool.h>
#include <stdio.h>

#include <gcrypt.h>
#include <json-glib/json-glib.h>

#include "analysis.h"
#include "json.h"
#include "mstate.h"

/* A stream (unbuffered) onto out (NULL: hash only); what is written while
 * hashing is true goes into SHA-256 after "smbscope-merge-state/FORMAT\n". */
struct mstate_sink {
    FILE *out;
    gcry_md_hd_t md;
    bool hashing;
};
FILE *mstate_sink_open(struct mstate_sink *s, FILE *out, int format);
void mstate_sink_hash(struct mstate_sink *s, const char *text, size_t n);
/* "sha256:HEX" of what was hashed so far (gcry_md_read: nothing more
 * can be hashed after); then the stream closed (f may be NULL). */
void mstate_sink_digest(struct mstate_sink *s, char out[MSTATE_DIGEST_LEN + 1]);
void mstate_sink_close(struct mstate_sink *s, FILE *f);

/* A parsed node in canonical form. */
void mstate_put_node(struct json *w, JsonNode *n);
/* That text on its own (free(); NULL when it could not be made). */
char *mstate_node_canon(JsonNode *n, size_t *len);
/* The run's connections[] in canonical form (json_set_canonical()): the
 * text the reader rebuilds from its parse of them. */
void mstate_put_detail(struct json *w, const struct analysis *a);

#endif
