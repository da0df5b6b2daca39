/* mstate_detail.h - connections[] entries of joined parts (mstate_edges.c). */
#ifndef SMBSCOPE_MSTATE_DETAIL_H
#define SMBSCOPE_MSTATE_DETAIL_H

#include "analysis.h"
#include "conn_summary.h"
#include "json.h"

#include <json-glib/json-glib.h>

/* early and late were joined into joined: their entries in
 * a->conn_detail_json become one (the late one removed), or when the late
 * part was not detailed, one connection less is counted as omitted. */
void mstate_detail_join(struct analysis *a, const struct conn_summary *early, const struct conn_summary *late,
                        const struct conn_summary *joined);

/* The entry of cs (when detailed) now ends for reason (stream.end). */
void mstate_detail_set_end(struct analysis *a, const struct conn_summary *cs, const char *reason);

/* A tail (mstate_tails.h) joined to early: its entry's last time, packets
 * each way (c2s: from early's client), end, and the bytes each way (from
 * early's client) of a data tail (NULL: none); or the same in --jobs'
 * session of early. */
void mstate_detail_tail(struct analysis *a, const struct conn_summary *early, const struct conn_summary *joined,
                        uint64_t c2s, uint64_t s2c, const uint64_t *bytes);

/* cs (closed in its part) began at first_ts with c2s and s2c packets more
 * (analyzer/merge/mstate_syn_starts.h): its entry's first time and packets. */
void mstate_detail_restart(struct analysis *a, const struct conn_summary *cs, int64_t first_ts, uint64_t c2s,
                           uint64_t s2c);
/* cs now goes by to's first packet time and ports (a RoCEv2 part before
 * it: mstate_join_roce.h): its entry, or --jobs' session, renamed. */
void mstate_detail_rename(struct analysis *a, const struct conn_summary *cs, const struct conn_summary *to);

/* The connections[] entry of cs carried from a report, NULL when it was
 * not detailed there. */
JsonObject *mstate_detail_entry(struct analysis *a, const struct conn_summary *cs);

/* The session of cs kept in memory (--jobs over several inputs keeps the
 * parts' struct smb_conn, not their JSON), NULL when there is none. */
struct smb_conn *mstate_detail_conn(struct analysis *a, const struct conn_summary *cs);

/* The index of a->conn_detail_json's entries the joins look them up by
 * (built on the first look-up) freed: analysis_free(). */
void mstate_detail_free(struct analysis *a);

/* Entries are kept as their text (json-glib's compact form, the text the
 * report writes) until a join looks one up: a tree costs about 90 bytes a
 * value, 20 to 40 times its text, and merge keeps every entry of an edge
 * connection to the end (forged: up to 4,096 values each), and every entry
 * with --connections all.  A kept (packed) entry is a string node; a join's
 * look-up (mstate_detail_entry() and the others here) turns the entry it
 * finds back into its object in place (the same node).  Entries are always
 * objects (mstate_detail_entry_check()), so a string node is a packed one. */
JsonNode *mstate_detail_pack(JsonNode *entry);
bool mstate_detail_is_packed(JsonNode *n);
/* The object of entry n, packed or not (a packed one parsed by *scratch,
 * made when NULL, the caller's to unref; valid until its next use). */
JsonObject *mstate_detail_view(JsonNode *n, JsonParser **scratch);
/* What the look-ups, trims and sorts read of an entry: its first seen, its
 * ends (NULL or -1: absent or null, as json-glib's getters with those
 * defaults give them).  A packed entry's is read from its text without a
 * parse (the compact text json-glib's generator wrote: its top-level
 * members scanned, nested values skipped): with --connections all every
 * kept entry was parsed again by the index, the sort and each trim.  A
 * string written with escapes is read by a parse (*scratch, as
 * mstate_detail_view()). */
struct mstate_detail_head {
    const char *first_seen, *client, *server;
    gint64 client_port, server_port;
    char buf[3][128];
};
void mstate_detail_head(JsonNode *n, struct mstate_detail_head *h, JsonParser **scratch);
/* Every entry of a->conn_detail_json packed (those a join turned back). */
void mstate_detail_pack_all(struct analysis *a);
/* Entry n's text as the report writes it (g_free). */
char *mstate_detail_text(JsonNode *n);
/* Entry n in canonical form (mstate_put_node()): a packed entry's text as
 * it is when it holds nothing json-glib's generator and json.c write apart
 * (no escape, no byte past 0x7e: the same compact text), else parsed. */
void mstate_detail_put(struct json *w, JsonNode *n);

/* A report's connections[] entry e as smbscope writes it, before any join
 * adds to it: every number an integer in [0, MSTATE_COUNT_MAX], and the
 * members the joins read (counters, times, ports, session ids, flags) of
 * the JSON type the writer gives them.  NULL when it is; else what is not
 * (review: counters near INT64_MAX overflowed when two parts were added,
 * and a counter forged as an array reached json-glib's typed getters). */
const char *mstate_detail_entry_check(JsonNode *e);

#endif
