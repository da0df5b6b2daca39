/* mstate_detail.h - connections[] entries of joined parts (mstate_edges.c). */
#ifndef SMBSCOPE_MSTATE_DETAIL_H
#define SMBSCOPE_MSTATE_DETAIL_H

#include "analysis.h"
#include "conn_summary.h"

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

/* The connections[] entry of cs carried from a report, NULL when it was
 * not detailed there. */
JsonObject *mstate_detail_entry(struct analysis *a, const struct conn_summary *cs);

/* The session of cs kept in memory (--jobs over several inputs keeps the
 * parts' struct smb_conn, not their JSON), NULL when there is none. */
struct smb_conn *mstate_detail_conn(struct analysis *a, const struct conn_summary *cs);

/* The index of a->conn_detail_json's entries the joins look them up by
 * (built on the first look-up) freed: analysis_free(). */
void mstate_detail_free(struct analysis *a);

/* A report's connections[] entry e as smbscope writes it, before any join
 * adds to it: every number an integer in [0, MSTATE_COUNT_MAX], and the
 * members the joins read (counters, times, ports, session ids, flags) of
 * the JSON type the writer gives them.  NULL when it is; else what is not
 * (review: counters near INT64_MAX overflowed when two parts were added,
 * and a counter forged as an array reached json-glib's typed getters). */
const char *mstate_detail_entry_check(JsonNode *e);

#endif
