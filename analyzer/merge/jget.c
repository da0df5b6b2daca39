/* jget.c - see jget.h. */
#include "jget.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

void jpath_key(struct jpath *out, const struct jpath *parent, const char *key)
{
    /* a path cut short still names where it went wrong */
    if (snprintf(out->s, sizeof out->s, "%s%s%s", parent ? parent->s : "", parent && parent->s[0] ? "." : "", key) >=
        (int)sizeof out->s)
        out->s[sizeof out->s - 2] = '~';
}

void jpath_index(struct jpath *out, const struct jpath *parent, guint i)
{
    if (snprintf(out->s, sizeof out->s, "%s[%u]", parent ? parent->s : "", i) >= (int)sizeof out->s)
        out->s[sizeof out->s - 2] = '~';
}

void jget_fail(struct jget *g, const struct jpath *p, const char *what)
{
    if (g->failed)
        return;
    g->failed = true;
    snprintf(g->err, g->errlen, "%s: %s", p && p->s[0] ? p->s : "(top)", what);
}

JsonObject *jget_object(struct jget *g, const struct jpath *p, JsonNode *n)
{
    if (g->failed)
        return NULL;
    if (!n || !JSON_NODE_HOLDS_OBJECT(n)) {
        jget_fail(g, p, "not an object");
        return NULL;
    }
    return json_node_get_object(n);
}

/* The member k of o, or an error naming it. */
static JsonNode *member(struct jget *g, const struct jpath *p, JsonObject *o, const char *k, struct jpath *kp)
{
    jpath_key(kp, p, k);
    if (g->failed || !o)
        return NULL;
    JsonNode *n = json_object_get_member(o, k);
    if (!n)
        jget_fail(g, kp, "missing");
    return n;
}

JsonObject *jget_obj(struct jget *g, const struct jpath *p, JsonObject *o, const char *k)
{
    struct jpath kp;
    JsonNode *n = member(g, p, o, k, &kp);
    return n ? jget_object(g, &kp, n) : NULL;
}

JsonArray *jget_arr(struct jget *g, const struct jpath *p, JsonObject *o, const char *k, guint max_len)
{
    struct jpath kp;
    JsonNode *n = member(g, p, o, k, &kp);
    if (!n)
        return NULL;
    if (!JSON_NODE_HOLDS_ARRAY(n)) {
        jget_fail(g, &kp, "not an array");
        return NULL;
    }
    JsonArray *a = json_node_get_array(n);
    if (json_array_get_length(a) > max_len) {
        char buf[96];
        snprintf(buf, sizeof buf, "more than %u elements", max_len);
        jget_fail(g, &kp, buf);
        return NULL;
    }
    return a;
}

static bool is_int(JsonNode *n)
{
    return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_INT64;
}

uint64_t jget_u64(struct jget *g, const struct jpath *p, JsonObject *o, const char *k, uint64_t max)
{
    struct jpath kp;
    JsonNode *n = member(g, p, o, k, &kp);
    if (!n)
        return 0;
    gint64 v = is_int(n) ? json_node_get_int(n) : -1;
    if (v < 0 || (uint64_t)v > max) {
        char buf[96];
        snprintf(buf, sizeof buf, "not an integer between 0 and %" G_GUINT64_FORMAT, max);
        jget_fail(g, &kp, buf);
        return 0;
    }
    return (uint64_t)v;
}

int64_t jget_i64(struct jget *g, const struct jpath *p, JsonObject *o, const char *k)
{
    struct jpath kp;
    JsonNode *n = member(g, p, o, k, &kp);
    if (!n)
        return 0;
    if (!is_int(n)) {
        jget_fail(g, &kp, "not an integer");
        return 0;
    }
    return json_node_get_int(n);
}

/* v as a time (or "none" when none_ok), else a failure at p. */
static int64_t as_ts(struct jget *g, const struct jpath *p, int64_t v, bool none_ok)
{
    if (g->failed)
        return 0;
    if ((v >= -JGET_TS_MAX && v <= JGET_TS_MAX) || (none_ok && (v == INT64_MAX || v == INT64_MIN)))
        return v;
    jget_fail(g, p, none_ok ? "not a capture time (microseconds within 2^62 of 1970) or none"
                            : "not a capture time (microseconds within 2^62 of 1970)");
    return 0;
}

static int64_t member_ts(struct jget *g, const struct jpath *p, JsonObject *o, const char *k, bool none_ok)
{
    struct jpath kp;
    jpath_key(&kp, p, k);
    return as_ts(g, &kp, jget_i64(g, p, o, k), none_ok);
}

int64_t jget_ts(struct jget *g, const struct jpath *p, JsonObject *o, const char *k)
{
    return member_ts(g, p, o, k, false);
}

int64_t jget_ts_or_none(struct jget *g, const struct jpath *p, JsonObject *o, const char *k)
{
    return member_ts(g, p, o, k, true);
}

bool jget_bool(struct jget *g, const struct jpath *p, JsonObject *o, const char *k)
{
    struct jpath kp;
    JsonNode *n = member(g, p, o, k, &kp);
    if (!n)
        return false;
    if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_BOOLEAN) {
        jget_fail(g, &kp, "not true or false");
        return false;
    }
    return json_node_get_boolean(n);
}

static const char *str_of(struct jget *g, const struct jpath *p, JsonNode *n, size_t max_len, bool nullable)
{
    if (JSON_NODE_HOLDS_NULL(n)) {
        if (!nullable)
            jget_fail(g, p, "null where a string is needed");
        return NULL;
    }
    if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING) {
        jget_fail(g, p, "not a string");
        return NULL;
    }
    const char *s = json_node_get_string(n);
    if (strlen(s) > max_len) {
        char buf[96];
        snprintf(buf, sizeof buf, "a string longer than %zu bytes", max_len);
        jget_fail(g, p, buf);
        return NULL;
    }
    return s;
}

const char *jget_str(struct jget *g, const struct jpath *p, JsonObject *o, const char *k, size_t max_len,
                     bool nullable)
{
    struct jpath kp;
    JsonNode *n = member(g, p, o, k, &kp);
    return n ? str_of(g, &kp, n, max_len, nullable) : NULL;
}

bool jget_parse_addr(const char *s, struct ip_addr *out)
{
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, s, out->bytes) == 1) {
        out->family = 4;
        return true;
    }
    if (inet_pton(AF_INET6, s, out->bytes) == 1) {
        out->family = 6;
        return true;
    }
    return false;
}

void jget_place_isns(struct jget *g, const struct jpath *p, JsonObject *o, const char *k, guint max, guint n,
                     const char *what, void (*put)(void *ctx, guint place, uint32_t isn), void *ctx)
{
    if (!json_object_has_member(o, k))
        return;
    struct jpath kp, ip;
    jpath_key(&kp, p, k);
    JsonArray *arr = jget_arr(g, p, o, k, max);
    int64_t prev = -1;
    for (guint i = 0; arr && !g->failed && i < json_array_get_length(arr); i++) {
        jpath_index(&ip, &kp, i);
        JsonArray *e = jget_node_arr(json_array_get_element(arr, i));
        if (!e || json_array_get_length(e) != 2) {
            jget_fail(g, &ip, "not [place, isn]");
            return;
        }
        uint64_t at = jget_elem_u64(g, &ip, e, 0, max);
        uint32_t isn = (uint32_t)jget_elem_u64(g, &ip, e, 1, UINT32_MAX);
        if (g->failed)
            return;
        if (!jget_later_index(at, &prev, n)) {
            char why[64];
            snprintf(why, sizeof why, "not the place of a later %s", what);
            jget_fail(g, &ip, why);
            return;
        }
        put(ctx, (guint)at, isn);
    }
}

void jget_elem_ends(struct jget *g, const struct jpath *p, JsonArray *a, struct ip_addr addr[2], uint16_t port[2])
{
    for (guint d = 0; d < 2; d++) {
        const char *s = jget_elem_str(g, p, a, 2 * d, 64);
        memset(&addr[d], 0, sizeof addr[d]);
        if (s && !jget_parse_addr(s, &addr[d]))
            jget_fail(g, p, "not an address");
        port[d] = (uint16_t)jget_elem_u64(g, p, a, 2 * d + 1, 65535);
    }
}

void jget_addr(struct jget *g, const struct jpath *p, JsonObject *o, const char *k, bool nullable,
               struct ip_addr *out)
{
    memset(out, 0, sizeof *out);
    const char *s = jget_str(g, p, o, k, 64, nullable);
    if (s && !jget_parse_addr(s, out)) {
        struct jpath kp;
        jpath_key(&kp, p, k);
        jget_fail(g, &kp, "not an IPv4 or IPv6 address");
    }
}

const char *jget_elem_str(struct jget *g, const struct jpath *p, JsonArray *a, guint i, size_t max_len)
{
    struct jpath ip;
    jpath_index(&ip, p, i);
    if (g->failed)
        return NULL;
    return str_of(g, &ip, json_array_get_element(a, i), max_len, false);
}

int64_t jget_elem_i64(struct jget *g, const struct jpath *p, JsonArray *a, guint i)
{
    struct jpath ip;
    jpath_index(&ip, p, i);
    if (g->failed)
        return 0;
    JsonNode *n = json_array_get_element(a, i);
    if (!is_int(n)) {
        jget_fail(g, &ip, "not an integer");
        return 0;
    }
    return json_node_get_int(n);
}

uint64_t jget_elem_u64(struct jget *g, const struct jpath *p, JsonArray *a, guint i, uint64_t max)
{
    int64_t v = jget_elem_i64(g, p, a, i);
    if (!g->failed && (v < 0 || (uint64_t)v > max)) {
        struct jpath ip;
        jpath_index(&ip, p, i);
        jget_fail(g, &ip, "out of range");
        return 0;
    }
    return (uint64_t)v;
}

int64_t jget_elem_ts(struct jget *g, const struct jpath *p, JsonArray *a, guint i)
{
    struct jpath ip;
    jpath_index(&ip, p, i);
    return as_ts(g, &ip, jget_elem_i64(g, p, a, i), false);
}

int64_t jget_elem_ts_or_none(struct jget *g, const struct jpath *p, JsonArray *a, guint i)
{
    struct jpath ip;
    jpath_index(&ip, p, i);
    return as_ts(g, &ip, jget_elem_i64(g, p, a, i), true);
}

void jget_names(struct jget *g, const struct jpath *p, JsonObject *o, const char *k, const char *const *names,
                guint n)
{
    struct jpath fp;
    jpath_key(&fp, p, k);
    JsonArray *a = jget_arr(g, p, o, k, n);
    bool same = a && json_array_get_length(a) == n;
    for (guint i = 0; same && i < n; i++) {
        const char *v = jget_elem_str(g, &fp, a, i, 32);
        same = v && strcmp(v, names[i]) == 0;
    }
    if (!same && !g->failed)
        jget_fail(g, &fp, "not the members this smbscope writes");
}

bool jget_hex(const char *s, uint8_t *out, size_t max, size_t *n)
{
    size_t len = s ? strlen(s) : 0;
    if (!s || len % 2 || len / 2 > max)
        return false;
    for (size_t i = 0; i < len; i += 2) {
        int hi = g_ascii_xdigit_value(s[i]), lo = g_ascii_xdigit_value(s[i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    *n = len / 2;
    return true;
}
