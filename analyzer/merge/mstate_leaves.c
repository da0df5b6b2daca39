/* mstate_leaves.c - see mstate_leaves.h. */
#include "mstate_leaves.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "merge.h"
#include "mstate_canon.h"

struct mstate_leaves {
    GPtrArray *texts; /* char *: {"state":...,"connections":[...]} in canonical form */
    uint64_t bytes;
};

bool mstate_is_leaves(JsonObject *st) { return st && json_object_has_member(st, "leaves"); }

static struct mstate_leaves *leaves_of(struct analysis *a)
{
    if (!a->merge_leaves) {
        a->merge_leaves = g_new0(struct mstate_leaves, 1);
        a->merge_leaves->texts = g_ptr_array_new_with_free_func(free); /* open_memstream() texts */
    }
    return a->merge_leaves;
}

/* ---- packed leaves -------------------------------------------------------
 * A run's leaf text is JSON of few distinct shapes (compact arrays of
 * groups, hosts, hex hashes, connections[] entries of one template): zlib
 * takes it to a tenth or less (a run of 20,000 connections: 1,066,000 ->
 * 81,000 bytes), so a merged state holds ten times the runs within
 * MSTATE_LEAVES_BYTES.  The packed text is kept as it was read (a merged
 * report merged again gives its own bytes; only a leaf packed here
 * depends on this zlib's output). */
#define PACK_LEVEL 6

static char *pack(const char *text, size_t len, size_t *outlen)
{
    uLongf zlen = compressBound((uLong)len);
    Bytef *z = malloc(zlen);
    if (!z || compress2(z, &zlen, (const Bytef *)text, (uLong)len, PACK_LEVEL) != Z_OK) {
        free(z);
        return NULL;
    }
    gchar *b64 = g_base64_encode(z, zlen);
    free(z);
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);
    if (f) {
        fprintf(f, "{\"bytes\":%zu,\"zlib\":\"%s\"}", len, b64);
        fclose(f);
    }
    g_free(b64);
    *outlen = n;
    return out;
}

bool mstate_leaf_is_packed(JsonObject *o) { return o && json_object_has_member(o, "zlib"); }

#define LEAF_MAX_RATIO 256u
#define LEAF_RATIO_SLACK (1u << 20)

/* The base64 text of a zlib stream decoded and inflated a chunk at a time,
 * each chunk handed to feed as it comes out (leaf_split.h: the text is
 * never whole): a stream that passes bytes is refused there, so a bomb
 * costs at most the time to inflate its claim (itself bounded:
 * mstate_leaf_stream) and never the memory.  Accepted as uncompress() would
 * with a buffer of bytes: the stream ends (its check verified) at exactly
 * bytes; what follows its end is not read.  feed sees at most bytes bytes
 * (the one past them, which refuses the stream, is not fed). */
#define UNPACK_CHUNK (64u << 10)
_Static_assert(MERGE_MAX_REPORT_BYTES < UINT32_MAX, "a leaf's bytes fit zlib's uInt counts");

static bool inflate_leaf(const char *b64, size_t blen, size_t bytes, mstate_leaf_feed feed, void *ctx,
                         const char **why)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit(&zs) != Z_OK) {
        *why = "zlib: no memory";
        return false;
    }
    guchar in[UNPACK_CHUNK / 4 * 3 + 3];
    gint state = 0;
    guint save = 0;
    size_t at = 0;
    char *out = malloc(UNPACK_CHUNK);
    int rc = out ? Z_OK : Z_MEM_ERROR;
    while (rc == Z_OK) {
        if (!zs.avail_in && at < blen) {
            size_t take = blen - at < UNPACK_CHUNK ? blen - at : UNPACK_CHUNK;
            zs.next_in = in;
            zs.avail_in = (uInt)g_base64_decode_step(b64 + at, take, in, &state, &save);
            at += take;
            continue;
        }
        size_t before = zs.total_out;
        if (before > bytes)
            break; /* more than it claims: refused (rc Z_OK) */
        size_t room = bytes + 1 - before < UNPACK_CHUNK ? bytes + 1 - before : UNPACK_CHUNK;
        zs.next_out = (Bytef *)out;
        zs.avail_out = (uInt)room;
        rc = inflate(&zs, Z_NO_FLUSH); /* Z_BUF_ERROR: its input ended before the stream */
        size_t got = zs.total_out - before, fed = got < bytes - before ? got : bytes - before;
        if (fed)
            feed(ctx, out, fed);
    }
    size_t got = zs.total_out;
    inflateEnd(&zs);
    free(out);
    if (rc != Z_STREAM_END || got != bytes) {
        *why = rc == Z_MEM_ERROR ? "zlib: no memory" : "zlib: not a zlib stream of that many bytes";
        return false;
    }
    return true;
}

bool mstate_leaf_stream(JsonObject *o, mstate_leaf_feed feed, void *ctx, const char **why)
{
    JsonNode *bn = json_object_get_member(o, "bytes"), *zn = json_object_get_member(o, "zlib");
    if (json_object_get_size(o) != 2 || !bn || !zn || !JSON_NODE_HOLDS_VALUE(bn) || !JSON_NODE_HOLDS_VALUE(zn) ||
        json_node_get_value_type(bn) != G_TYPE_INT64 || json_node_get_value_type(zn) != G_TYPE_STRING) {
        *why = "not {bytes, zlib}";
        return false;
    }
    gint64 bytes = json_node_get_int(bn);
    const char *b64 = json_node_get_string(zn);
    size_t blen = strlen(b64);
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t body = strspn(b64, alphabet), pad = strspn(b64 + body, "=");
    if (bytes <= 0 || bytes > MERGE_MAX_REPORT_BYTES) {
        *why = "bytes: out of range";
        return false;
    }
    if (!blen || blen % 4 || body + pad != blen || pad > 2) { /* g_base64_decode() skips what is not base64 */
        *why = "zlib: not base64";
        return false;
    }
    uint64_t zlen = (uint64_t)blen / 4 * 3 - pad; /* what the base64 decodes to */
    /* What a leaf may unpack to grows with what it packs: zlib reaches
     * about 1,000:1 on repeated bytes, so a 111 KB report claiming 64 MiB
     * leaves, with its digest made again, cost 7.5 GB and 85 s before its
     * shape was refused.  smbscope's own leaves pack 13:1 (a 20,000-connection
     * run), 65:1 with --connections all.  (The memory is no longer the
     * text's, which is never whole, but the time to inflate it is.) */
    if ((uint64_t)bytes > zlen * LEAF_MAX_RATIO + LEAF_RATIO_SLACK) {
        *why = "bytes: more than 256 times its zlib stream";
        return false;
    }
    return inflate_leaf(b64, blen, (size_t)bytes, feed, ctx, why);
}

void mstate_leaves_keep_packed(struct analysis *a, char *packed, size_t len)
{
    struct mstate_leaves *l = leaves_of(a);
    if (!packed || l->bytes == UINT64_MAX) { /* past the caps: the folded state is written */
        free(packed);
        l->bytes = UINT64_MAX;
        return;
    }
    g_ptr_array_add(l->texts, packed);
    l->bytes += len;
    if (l->texts->len > MSTATE_LEAVES_CAP || l->bytes > MSTATE_LEAVES_BYTES) { /* whatever the order: the totals */
        g_ptr_array_set_size(l->texts, 0);
        l->bytes = UINT64_MAX;
    }
}

void mstate_leaves_keep_text(struct analysis *a, char *text, size_t len)
{
    if (!text || leaves_of(a)->bytes == UINT64_MAX) {
        mstate_leaves_keep_packed(a, text, len); /* NULL or past the caps: dropped */
        return;
    }
    size_t plen = 0;
    char *packed = pack(text, len, &plen);
    free(text);
    mstate_leaves_keep_packed(a, packed, plen);
}

/* {"state":S,"connections":D} onto a stream that hashes S, "\n" and D as
 * mstate_digest() does (json.c buffers: flushed before each switch). */
static void leaf_walk(struct mstate_sink *s, FILE *f, JsonNode *state, JsonNode *detail)
{
    struct json w;
    json_init(&w, f, false);
    json_begin_object(&w);
    json_key(&w, "state");
    json_flush(&w);
    s->hashing = true;
    mstate_put_node(&w, state);
    json_flush(&w);
    s->hashing = false;
    mstate_sink_hash(s, "\n", 1);
    json_key(&w, "connections");
    json_flush(&w);
    s->hashing = true;
    if (detail) {
        mstate_put_node(&w, detail);
    } else {
        json_begin_array(&w);
        json_end_array(&w);
    }
    json_flush(&w);
    s->hashing = false;
    json_end_object(&w);
    json_flush(&w);
}

void mstate_leaf_digest(JsonNode *state, JsonNode *detail, char out[MSTATE_DIGEST_LEN + 1], char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    FILE *mem = open_memstream(text, len);
    struct mstate_sink s;
    FILE *f = mstate_sink_open(&s, mem, MSTATE_FORMAT);
    if (f)
        leaf_walk(&s, f, state, detail);
    mstate_sink_digest(&s, out);
    mstate_sink_close(&s, f);
    if (mem)
        fclose(mem);
    if (!mem || !f) { /* no text: the leaf cannot be kept (the caps' answer: the folded state) */
        free(*text);
        *text = NULL;
    }
}

void mstate_leaves_keep(struct analysis *a, JsonNode *state, JsonNode *detail)
{
    if (leaves_of(a)->bytes == UINT64_MAX)
        return;
    char *text = NULL, digest[MSTATE_DIGEST_LEN + 1];
    size_t len = 0;
    mstate_leaf_digest(state, detail, digest, &text, &len);
    mstate_leaves_keep_text(a, text, len);
}

static gint text_order(gconstpointer pa, gconstpointer pb)
{
    return strcmp(*(const char *const *)pa, *(const char *const *)pb);
}

void mstate_leaves_sort(struct analysis *a)
{
    if (a->merge_leaves)
        g_ptr_array_sort(a->merge_leaves->texts, text_order);
}

bool mstate_leaves_fit(const struct analysis *a)
{
    const struct mstate_leaves *l = a->merge_leaves;
    return l && l->texts->len && l->bytes != UINT64_MAX;
}

void mstate_leaves_put(struct json *b, const struct analysis *a)
{
    const struct mstate_leaves *l = a->merge_leaves;
    json_begin_object(b);
    json_key(b, "leaves");
    json_begin_array(b);
    for (guint i = 0; i < l->texts->len; i++) {
        const char *t = g_ptr_array_index(l->texts, i);
        json_raw(b, t, strlen(t));
    }
    json_end_array(b);
    json_end_object(b);
}

void mstate_leaves_free(struct analysis *a)
{
    if (!a->merge_leaves)
        return;
    g_ptr_array_free(a->merge_leaves->texts, TRUE);
    g_free(a->merge_leaves);
    a->merge_leaves = NULL;
}
