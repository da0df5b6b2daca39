/* mstate_syn_rows.h - syn_starts' rows past the first SYN_STARTS_MAX
 * (mstate_syn_starts.h) carried compactly: state "syn_starts": {"rows_more":
 * {"n": N, "zlib": BASE64}, "until_more": T}.
 *
 * Why: a run keeps the connections it closed that began within the
 * half-open timeout of its first packet, the earliest first, for merge to
 * join a SYN an earlier part left open to the connection its retransmission
 * opened here.  256 rows as JSON (about 190 bytes each) cover half a second
 * of a capture of 500 connections a second, and a SYN is sent again after
 * one second at the soonest (RFC 6298's initial timeout): past the rows the
 * SYN was counted (stats.merged.state_folded.syn_starts), not joined.  The
 * rows past the first 256, up to SYN_STARTS_KEPT, follow in one deflated
 * stream of binary records (mstate_zrec.h), about 11 bytes a row.
 *
 * A record: the client's ISN + 1, the group's level (a byte), the two
 * host ends (0: not the latest, 1: no other start, else 2 + zigzag of the
 * host's last start before the row's first packet), then the connection
 * (mstate_edges.h's edge_fields, in that order): addresses (family 4 or 6
 * and its bytes, 0 for none), ports, the first packet as the zigzag
 * difference from the row before (rows are in first-packet order), the last
 * as the difference from the first, then a mask of the 20 counts and codes
 * and the two texts that differ from the row before's (rows of one capture
 * differ in a few: deflate then has a third of the bytes to read), and
 * those, the counts and codes as LEB128 varints, a text as a length and its
 * bytes.  The reader checks what read_summary() checks of a JSON row.
 *
 * "until" stays the bound of the JSON rows (an older smbscope reads them
 * alone, as before); "until_more" is the bound of both. */
#ifndef SMBSCOPE_MSTATE_SYN_ROWS_H
#define SMBSCOPE_MSTATE_SYN_ROWS_H

#include <stdint.h>

#include <json-glib/json-glib.h>

#include "conn_summary.h"
#include "jget.h"
#include "json.h"

struct syn_row_rec {
    struct conn_summary cs;
    int64_t isn;     /* -1: not begun with the client's SYN */
    uint8_t level;   /* conn_groups.h */
    int64_t excl[2]; /* SS_NOT_LATEST (-1), SS_NO_OTHER (-2) or a time */
};

/* The writer: member k of n records, each in turn (in first-packet order). */
struct syn_rows_put;
struct syn_rows_put *syn_rows_put_begin(struct json *b, const char *k, uint64_t n);
void syn_rows_put_one(struct syn_rows_put *p, const struct syn_row_rec *r);
void syn_rows_put_end(struct syn_rows_put *p, struct json *b);

/* The reader: member k of o ({"n", "zlib"}, at most max records), each
 * record handed to add in turn; g fails when it is not what the writer puts. */
typedef void (*syn_rows_add)(void *ctx, const struct syn_row_rec *r);
void syn_rows_read(struct jget *g, const struct jpath *p, JsonObject *o, const char *k, uint64_t max, syn_rows_add add,
                   void *ctx);

#endif
