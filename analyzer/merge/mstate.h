/* mstate.h - the merge state: what a run's report and verdict are computed
 * from, carried in the JSON report as "merge_state" so that `smbscope merge`
 * can combine the reports of several captures, sensors or time slices and
 * judge them as if the captures had been read together.
 *
 *   "merge_state": {"format": 1, "digest": "sha256:HEX", "state": {...}}
 *
 * The digest is SHA-256 (libgcrypt) over "smbscope-merge-state/FORMAT\n"
 * and the state in json-glib's compact form, so a report reformatted by a
 * JSON tool still verifies and a changed fact does not.  The state holds
 * facts, never judgements: merge applies its own command line's policy. */
#ifndef SMBSCOPE_MSTATE_H
#define SMBSCOPE_MSTATE_H

#include <stdbool.h>
#include <stddef.h>

#include <json-glib/json-glib.h>

#include "analysis.h"
#include "hosts.h"
#include "distinct.h"
#include "jget.h"
#include "json.h"

#define MSTATE_FORMAT 8 /* 8: hosts past the records compact (hosts.folded no longer counts them: an older reader would undercount) */

/* Caps that keep the state of a run of any size small (README: merge):
 * past them records are folded, their counts kept and reported. */
#define MSTATE_PAIRS_CAP 2048u     /* census pairs (SYNs to 139 and 445 per client and server) */
#define MSTATE_SMB_HOSTS_CAP 2048u /* SMB host records, the ones the hosts view ranks first */
#define MSTATE_NB_ROWS_CAP 2048u   /* NetBIOS rows, those nearest the capture's edges (mstate_nb.c) */
#define MSTATE_HOSTS_CAP 2048u     /* NetBIOS host records, the most involved */
/* ... and past them, in one zlib stream (hosts.records_more, mstate_nb.c),
 * the rest of a run's own records (NB_HOST_RECORDS) */
#define MSTATE_HOSTS_MORE_CAP (65536u - MSTATE_HOSTS_CAP)
#define MSTATE_COMPACT_HOSTS_CAP (65536u + (1u << 21)) /* the other NetBIOS hosts, compact (mstate_nb.c):
                                                          as many as one run counts exactly (hosts.h) */
#define MSTATE_COMPACT_V6_CAP (1u << 18) /* of them IPv6 (sorted whole: 4 MiB); past it none (folded) */
#define MSTATE_DNS_KEYS_CAP 4096u  /* names seen in DNS, LLMNR, mDNS */
#define MSTATE_EXACT_CAP 4096u     /* hashes of a distinct set; past it its HyperLogLog registers */
/* Hashes of a set carried past MSTATE_EXACT_CAP (exact_more, about 7 bytes
 * each: 450 KB at most); past it the registers alone, the merge's count an
 * estimate, labelled.  Carried to a run's million, a million IPv6 NBNS
 * clients' run held 97 MiB (the 64 MiB bound) and wrote 16 MB more. */
#define MSTATE_HASHES_MORE_CAP 65536u
#define MSTATE_DIGEST_PREFIX "sha256:"
#define MSTATE_DIGEST_LEN (sizeof MSTATE_DIGEST_PREFIX - 1 + 64)

/* The merge_state member's value of a finished analysis, written to j's
 * stream as it is walked (mstate_write.c), its digest last. */
void mstate_write_member(struct json *j, const struct analysis *a);
/* That value alone onto out; false (nothing written) when its hashing
 * stream could not be opened: the member is then null. */
bool mstate_write_state(FILE *out, const struct analysis *a);
/* The same member rendered on a thread of its own while the report is
 * written (mstate_write_async.c): started before the report's first
 * member, put where mstate_write_member() would write it; the bytes are
 * the same.  The analysis must not change in between (the report only
 * reads it). */
struct mstate_render;
struct mstate_render *mstate_render_start(const struct analysis *a);
void mstate_render_put(struct mstate_render *r, struct json *j);
/* States rendered on their own thread so far (tests: the thread ran). */
unsigned mstate_render_threads(void);
/* "sha256:HEX" of a parsed state and the report's connections[] (NULL: an
 * empty array), over their canonical text (mstate_canon.c) (out:
 * MSTATE_DIGEST_LEN + 1 bytes). */
void mstate_digest(JsonNode *state, JsonNode *detail, int format, char out[MSTATE_DIGEST_LEN + 1]);
/* A node in json-glib's compact form; g_free. */
char *mstate_node_text(JsonNode *n);

/* A distinct set as {"exact": [hash hex...]} (at most exact_cap hashes; 0:
 * no cap) or {"hll": hex, "counted": n}; read back: its hashes added, or
 * its registers united into d (a count past the cap becomes an estimate). */
void mstate_put_distinct(struct json *b, const char *k, const struct distinct *d, uint32_t exact_cap);
/* The same, and past exact_cap, a set that holds its hashes carries them
 * too (exact_more, mstate_hashes.h); read back by
 * mstate_get_distinct_carried(). */
void mstate_put_distinct_carried(struct json *b, const char *k, const struct distinct *d, uint32_t exact_cap);
/* The same as registers and a count (the second form), for a set written
 * without being held (mstate_nb.c: the overflow's flows and the rows folded
 * into it, counted exactly without a copy of the set). */
void mstate_put_hll(struct json *b, const char *k, const uint8_t *regs, uint64_t counted);
/* The members of a NetBIOS row and of a NetBIOS host record, in the
 * order of their compact arrays. */
#define MSTATE_NB_ROW_FIELDS 23
#define MSTATE_HOST_FIELDS 10
extern const char *const mstate_nb_row_fields[MSTATE_NB_ROW_FIELDS];
extern const char *const mstate_host_fields[MSTATE_HOST_FIELDS];
/* The NetBIOS rows, overflow, non-IP counts and hosts (mstate_nb.c). */
void mstate_build_netbios(struct json *b, const struct analysis *a);
/* The NetBIOS rows a state carries past its MSTATE_NB_ROWS_CAP
 * (netbios.rows_more, mstate_nb.c), when there are at most this many
 * (all of a run's own itemised rows: NB_DEFAULT_MAX_ROWS): folded as its
 * rows, the state's marks of them (overflow, hosts' flows not itemised)
 * taken back.  Also folds the state's hosts past their records
 * (hosts.compact_v4 / compact_v6, first seen ts: the run's first packet),
 * after its host records; returns the rows it carried (mstate_read.c
 * subtracts them from its rows_folded). */
#define MSTATE_NB_MORE_CAP (16384u - MSTATE_NB_ROWS_CAP)
uint64_t mstate_fold_nb_past(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st, int64_t ts,
                             const GArray *more_records);
/* hosts.records_more (the host records past MSTATE_HOSTS_CAP, at most
 * MSTATE_HOSTS_MORE_CAP) folded as the state's records are; their
 * addresses (struct ip_addr) returned for mstate_fold_nb_past(), NULL
 * when the state carries none.  Before the compact hosts, which name
 * those hosts again for an older reader (their bits or'ed in). */
GArray *mstate_fold_records_more(struct jget *g, const struct jpath *hp, struct host_table *t, JsonObject *ho);
/* A state's row into merge's ledger as one run counts it: joined to the
 * same flow of another state, or past the ledger's cap a flow not
 * itemised of its client (and the counts that rest on rows estimates). */
void mstate_nb_fold_row(struct nb_ledger *l, const struct nb_flow *f);
void mstate_get_distinct(struct jget *g, const struct jpath *p, JsonObject *parent, const char *k,
                         struct distinct *d);
/* The same, and a set's exact_more taken for its registers (the set stays
 * exact): the hashes it carried returned, 0 when none. */
uint64_t mstate_get_distinct_carried(struct jget *g, const struct jpath *p, JsonObject *parent, const char *k,
                                     struct distinct *d);
/* The "hll" member of o into regs (DISTINCT_HLL_REGS bytes); false when
 * missing or malformed (then g has failed). */
bool mstate_get_hll(struct jget *g, const struct jpath *p, JsonObject *o, uint8_t *regs);

/* One run among the reports merged (a run's report holds one, a merged
 * report one per run it merged, at most MSTATE_PARTS_CAP): where the run
 * over all captures reads it (its first packet, then its first input's
 * path), its TCP clock (the first and the last packet its flow table was
 * given; have: any) and the time jumps inside it. */
struct mstate_clock {
    int64_t run_first, first, last;
    uint64_t jumps;
    bool have;
    char *path;
};
#define MSTATE_PARTS_CAP 4096u
/* After every report is folded: the time jumps of the run over all the
 * captures, as it counts them (flow.h: packet to packet, back more than a
 * second or forward more than a day): those inside each run, and those
 * between runs read one after the other. */
void mstate_clocks_finish(struct analysis *a);
/* The state's "parts" (mstate_parts.c), and the parts of a finished run
 * (its own, or those it merged) added to another analysis in memory. */
void mstate_build_parts(struct json *b, const struct analysis *a);
void mstate_fold_parts(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st);
void mstate_parts_of(struct analysis *into, const struct analysis *run);

/* Fold a verified state into the analysis (mstate_read.c): false and errbuf
 * (the JSON path of what was wrong) when the state is not one smbscope
 * writes. */
bool mstate_fold(struct analysis *a, JsonNode *state, JsonNode *detail, char *errbuf, size_t errlen);

#endif
