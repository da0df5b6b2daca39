/* jget.h - typed, bounded reads of a parsed JSON document (json-glib) that
 * say where a value was wrong: "netbios.rows[3].packets: not an integer
 * between 0 and 18446744073709551615".  The first error sticks; later reads
 * return zero values, so a reader can go on and test ok once. */
#ifndef SMBSCOPE_JGET_H
#define SMBSCOPE_JGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-glib/json-glib.h>

#include "packet.h"

#define JGET_PATH_MAX 160

struct jget {
    bool failed;
    char *err;
    size_t errlen;
};

/* A member path for messages: parent "." key, or parent "[" i "]". */
struct jpath {
    char s[JGET_PATH_MAX];
};
void jpath_key(struct jpath *out, const struct jpath *parent, const char *key);
void jpath_index(struct jpath *out, const struct jpath *parent, guint i);

void jget_fail(struct jget *g, const struct jpath *p, const char *what);

JsonObject *jget_object(struct jget *g, const struct jpath *p, JsonNode *n);
/* What may be absent, no error: n as an object, or NULL (n NULL or not an
 * object); member k of o as an object, or NULL (o NULL, k missing or not an
 * object). */
static inline JsonObject *jget_node_obj(JsonNode *n)
{
    return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}
static inline JsonObject *jget_member_obj(JsonObject *o, const char *k)
{
    return o ? jget_node_obj(json_object_get_member(o, k)) : NULL;
}
/* The same for an array. */
static inline JsonArray *jget_node_arr(JsonNode *n)
{
    return n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
}
static inline JsonArray *jget_member_arr(JsonObject *o, const char *k)
{
    return o ? jget_node_arr(json_object_get_member(o, k)) : NULL;
}
/* The length of member k of o as an array: 0 when o is NULL, k missing or
 * not an array (a sibling array's records index into it). */
static inline guint jget_member_len(JsonObject *o, const char *k)
{
    JsonArray *a = jget_member_arr(o, k);
    return a ? json_array_get_length(a) : 0;
}
/* A record naming, by index, a record of the array beside it (n long):
 * true, and *prev = at, when at is below n and past the last one named. */
static inline bool jget_later_index(uint64_t at, int64_t *prev, guint n)
{
    if ((int64_t)at <= *prev || at >= n)
        return false;
    *prev = (int64_t)at;
    return true;
}
/* o's member k (absent: nothing), an array of at most max [place, isn]
 * rows naming records of the n beside it, places increasing: put(ctx,
 * place, isn) for each; a row otherwise is an error ("not the place of a
 * later <what>").  The ISNs a state carries of its edges and tails. */
void jget_place_isns(struct jget *g, const struct jpath *p, JsonObject *o, const char *k, guint max, guint n,
                     const char *what, void (*put)(void *ctx, guint place, uint32_t isn), void *ctx);
/* Members of o (missing or of the wrong type: an error). */
JsonObject *jget_obj(struct jget *g, const struct jpath *p, JsonObject *o, const char *k);
JsonArray *jget_arr(struct jget *g, const struct jpath *p, JsonObject *o, const char *k, guint max_len);
uint64_t jget_u64(struct jget *g, const struct jpath *p, JsonObject *o, const char *k, uint64_t max);
int64_t jget_i64(struct jget *g, const struct jpath *p, JsonObject *o, const char *k);
bool jget_bool(struct jget *g, const struct jpath *p, JsonObject *o, const char *k);
/* A capture time in microseconds, within +-JGET_TS_MAX: any two such times
 * subtract without overflow (a report may carry any int64, and merge takes
 * differences of times everywhere).  The readers clamp a packet's time to
 * about +-2^61 us (reader.h, READER_TS_SEC_LIMIT, plus its fraction: a
 * fuzzed pcapng reaches it), so a run never writes one past 2^62 - 1.
 * jget_ts_or_none also takes INT64_MAX and INT64_MIN, what a run or input
 * without packets writes for its first and last time. */
#define JGET_TS_MAX (((int64_t)1 << 62) - 1)
int64_t jget_ts(struct jget *g, const struct jpath *p, JsonObject *o, const char *k);
int64_t jget_ts_or_none(struct jget *g, const struct jpath *p, JsonObject *o, const char *k);
/* A string of at most max_len bytes; NULL when null and nullable. */
const char *jget_str(struct jget *g, const struct jpath *p, JsonObject *o, const char *k, size_t max_len,
                     bool nullable);
/* An address in text ("10.0.0.1", "fe80::1"); family 0 when null and nullable. */
void jget_addr(struct jget *g, const struct jpath *p, JsonObject *o, const char *k, bool nullable,
               struct ip_addr *out);
bool jget_parse_addr(const char *s, struct ip_addr *out);
/* A connection's two ends from elements 0-3 of a compact array: address,
 * port, address, port (what mstate_put.h's put_ends() writes). */
void jget_elem_ends(struct jget *g, const struct jpath *p, JsonArray *a, struct ip_addr addr[2], uint16_t port[2]);
/* The member names of a compact array ("group_fields", "row_fields", ...):
 * member k of o, exactly names[0..n-1] (else an error). */
void jget_names(struct jget *g, const struct jpath *p, JsonObject *o, const char *k, const char *const *names,
                guint n);
/* Element i of an array as a string / integer. */
const char *jget_elem_str(struct jget *g, const struct jpath *p, JsonArray *a, guint i, size_t max_len);
int64_t jget_elem_i64(struct jget *g, const struct jpath *p, JsonArray *a, guint i);
/* Element i as a capture time (jget_ts), or also "none" (jget_ts_or_none). */
int64_t jget_elem_ts(struct jget *g, const struct jpath *p, JsonArray *a, guint i);
int64_t jget_elem_ts_or_none(struct jget *g, const struct jpath *p, JsonArray *a, guint i);
/* Element i as an unsigned integer at most max (compact arrays of the merge state). */
uint64_t jget_elem_u64(struct jget *g, const struct jpath *p, JsonArray *a, guint i, uint64_t max);

/* Hex of at most max octets (an even number of hex digits, either case)
 * into out, *n its octets; false when s is not that (out then undefined). */
bool jget_hex(const char *s, uint8_t *out, size_t max, size_t *n);

#endif
