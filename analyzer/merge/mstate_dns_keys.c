/* mstate_dns_keys.c - DNS names past the state's cap, carried
 * (mstate_dns_keys.h). */
#include "mstate_dns_keys.h"

#include <string.h>

#include "mstate.h"
#include "mstate_zrec.h"

#define KEY_MAX 15 /* dns_netbios_key(): a NetBIOS name's 15 characters */
#define MORE_CAP (CENSUS_MAX_DNS_KEYS - MSTATE_DNS_KEYS_CAP)

void mstate_put_dns_keys_more(struct json *b, const GPtrArray *keys, guint from)
{
    if (keys->len <= from)
        return;
    struct zput *z = g_new(struct zput, 1);
    /* zlib's fastest level: sorted names share their prefixes */
    zput_begin(z, b, "dns_keys_more", keys->len - from, 1);
    for (guint i = from; i < keys->len; i++) {
        const char *k = g_ptr_array_index(keys, i);
        uint8_t rec[1 + KEY_MAX];
        size_t n = strnlen(k, KEY_MAX); /* at most 15 (census.c keys them so) */
        rec[0] = (uint8_t)n;
        memcpy(rec + 1, k, n);
        zput_bytes(z, rec, 1 + n);
    }
    zput_end(z, b);
    g_free(z);
}

struct take_keys {
    struct census *c;
    char prev[KEY_MAX + 1];
};

static int64_t take_key(void *ctx, struct jget *g, const struct jpath *ip, const uint8_t *p, size_t len)
{
    struct take_keys *t = ctx;
    if (len < 1)
        return 0;
    size_t n = p[0];
    if (n < 1 || n > KEY_MAX) {
        jget_fail(g, ip, "not a DNS name's key of 1-15 characters");
        return -1;
    }
    if (len < 1 + n)
        return 0;
    char key[KEY_MAX + 1];
    for (size_t i = 0; i < n; i++) {
        if (p[1 + i] < 0x20 || p[1 + i] > 0x7e || p[1 + i] == '.') {
            jget_fail(g, ip, "a DNS name's key: not printable ASCII without a dot");
            return -1;
        }
        key[i] = (char)p[1 + i];
    }
    key[n] = '\0';
    if (t->prev[0] && strcmp(t->prev, key) >= 0) {
        jget_fail(g, ip, "DNS names' keys not in increasing order");
        return -1;
    }
    memcpy(t->prev, key, n + 1);
    census_add_dns_key(t->c, key);
    return (int64_t)(1 + n);
}

uint64_t mstate_fold_dns_keys_more(struct jget *g, const struct jpath *cp, struct census *c, JsonObject *o)
{
    if (g->failed || !o || !json_object_has_member(o, "dns_keys_more"))
        return 0;
    struct jpath mp;
    jpath_key(&mp, cp, "dns_keys_more");
    JsonObject *m = jget_obj(g, cp, o, "dns_keys_more");
    uint64_t n = jget_u64(g, &mp, m, "n", MORE_CAP);
    /* deflate's worst case is its stored blocks: a little over the bytes */
    uint64_t raw = n * (1 + KEY_MAX), zlen = raw + raw / 64 + 64;
    const char *b64 = !g->failed ? jget_str(g, &mp, m, "zlib", (size_t)((zlen + 2) / 3 * 4), false) : NULL;
    if (g->failed || !b64)
        return 0;
    struct take_keys t = { c, "" };
    zread_records(g, &mp, b64, n, 64 * (1 + KEY_MAX), take_key, &t, "keys");
    return g->failed ? 0 : n;
}
