/* mstate_zrec.c - zlib streams of binary records in the merge state
 * (mstate_zrec.h). */
#include "mstate_zrec.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

void zput_begin(struct zput *z, struct json *b, const char *k, uint64_t n, int level)
{
    memset(z, 0, sizeof *z);
    z->b = b;
    json_key(b, k);
    json_begin_object(b);
    json_key(b, "n");
    json_uint(b, n);
    json_key(b, "zlib");
    json_str_open(b);
    if (deflateInit(&z->zs, level) != Z_OK)
        z->b = NULL; /* no memory: an empty stream, which merge refuses */
}

static void zput_run(struct zput *z, int flush)
{
    z->zs.next_in = z->buf;
    z->zs.avail_in = (uInt)z->used;
    int rc;
    do { /* zlib's loop: until it leaves room in the output */
        uint8_t chunk[32768];
        char text[sizeof chunk / 3 * 4 + 8];
        z->zs.next_out = chunk;
        z->zs.avail_out = sizeof chunk;
        rc = deflate(&z->zs, flush);
        gsize tn = g_base64_encode_step(chunk, sizeof chunk - z->zs.avail_out, FALSE, text, &z->state, &z->save);
        json_str_plain(z->b, text, tn);
    } while (rc != Z_STREAM_ERROR && z->zs.avail_out == 0);
    z->used = 0;
}

void zput_bytes(struct zput *z, const uint8_t *p, size_t n)
{
    while (z->b && n) { /* in pieces: a row's line may be longer than buf */
        if (z->used == sizeof z->buf || (z->used && z->used + n > sizeof z->buf))
            zput_run(z, Z_NO_FLUSH);
        size_t k = n < sizeof z->buf - z->used ? n : sizeof z->buf - z->used;
        memcpy(z->buf + z->used, p, k);
        z->used += k;
        p += k;
        n -= k;
    }
}

void zput_end(struct zput *z, struct json *b)
{
    if (z->b) {
        zput_run(z, Z_FINISH);
        deflateEnd(&z->zs);
        char text[8];
        json_str_plain(b, text, g_base64_encode_close(FALSE, text, &z->state, &z->save));
    }
    json_str_close(b);
    json_end_object(b);
}

bool zrec_b64_ok(struct jget *g, const struct jpath *p, const char *b64)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t blen = strlen(b64), body = strspn(b64, alphabet), pad = strspn(b64 + body, "=");
    if (!blen || blen % 4 || body + pad != blen || pad > 2) {
        jget_fail(g, p, "zlib: not base64");
        return false;
    }
    return true;
}

/* mp[i] into ip, whose first plen bytes hold mp already: jpath_index()'s
 * text without its snprintf() of the whole path (about 1,000 instructions a
 * record, where a hash's record costs 300 to take). */
static void index_path(struct jpath *ip, const struct jpath *mp, size_t plen, uint64_t i)
{
    if (plen + 24 > sizeof ip->s) {
        jpath_index(ip, mp, (guint)i);
        return;
    }
    char digits[20];
    int nd = 0;
    do
        digits[nd++] = (char)('0' + i % 10);
    while ((i /= 10) && nd < (int)sizeof digits);
    char *q = ip->s + plen;
    *q++ = '[';
    while (nd)
        *q++ = digits[--nd];
    *q++ = ']';
    *q = '\0';
}

void zread_records(struct jget *g, const struct jpath *mp, const char *b64, uint64_t n, size_t window,
                          zrec_take take, void *ctx, const char *what)
{
    if (!zrec_b64_ok(g, mp, b64))
        return;
    gsize zlen = 0;
    guchar *z = g_base64_decode(b64, &zlen);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    bool ok = inflateInit(&zs) == Z_OK;
    zs.next_in = z;
    zs.avail_in = (uInt)zlen;
    uint8_t *buf = g_malloc(window);
    size_t have = 0;
    uint64_t taken = 0;
    int rc = Z_OK;
    struct jpath ip;
    size_t plen = strnlen(mp->s, sizeof mp->s);
    memcpy(ip.s, mp->s, plen);
    while (ok && !g->failed && rc != Z_STREAM_END) {
        zs.next_out = buf + have;
        zs.avail_out = (uInt)(window - have);
        rc = inflate(&zs, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END) {
            ok = false;
            break;
        }
        have = window - zs.avail_out;
        size_t at = 0;
        while (ok) {
            if (taken >= n) { /* longer than n records */
                ok = at == have;
                break;
            }
            index_path(&ip, mp, plen, taken);
            int64_t used = take(ctx, g, &ip, buf + at, have - at);
            if (used <= 0)
                break;
            at += (size_t)used;
            taken++;
        }
        memmove(buf, buf + at, have - at);
        have -= at;
    }
    inflateEnd(&zs);
    g_free(z);
    g_free(buf);
    if (!g->failed && (!ok || rc != Z_STREAM_END || have || taken != n)) {
        char why[64];
        snprintf(why, sizeof why, "zlib: not a zlib stream of n %s", what);
        jget_fail(g, mp, why);
    }
}
