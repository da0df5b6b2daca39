/* mstate_leaves.c - see mstate_leaves.h. */
#include "mstate_leaves.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "merge.h"
#include "mstate_canon.h"

/* ---- the leaves kept until the report is written ------------------------
 * A merged state is its runs' packed texts, one after the other: most of a
 * merged report of many parts (16 parts of a 600,000-packet capture: 5 of
 * its 9.6 MB), and up to MSTATE_LEAVES_BYTES.  Held in memory from their
 * fold to the report's end they were the one part of merge's peak that
 * grew with the report; they are written to an unlinked temporary file
 * as they come (spool), each remembered by its place, its length and its
 * first bytes, and copied from it into the report a piece at a time.  The
 * order the report lists them in (their text's) is nearly always decided
 * by the first bytes; leaves that share them are compared from the file.
 * A leaf the file could not take (no temporary file, a full disk) is held
 * in memory as before: the same report either way. */
#define LEAF_HEAD 64    /* a leaf's first bytes kept in memory: its place in the order */
#define LEAF_PIECE 65536 /* read back a piece at a time */

struct leaf_ref {
    uint64_t off; /* in the spool */
    size_t len;   /* its text's length (strlen: as the report writes it) */
    char *text;   /* held in memory when the spool could not take it, else NULL */
    char head[LEAF_HEAD];
};

struct mstate_leaves {
    GArray *refs; /* struct leaf_ref: {"state":...,"connections":[...]} packed (canonical) */
    int spool;    /* -1 until the first leaf, or when none could be made */
    bool no_spool;
    uint64_t spooled; /* bytes written to it */
    uint64_t bytes;
};

bool mstate_is_leaves(JsonObject *st) { return st && json_object_has_member(st, "leaves"); }

static struct mstate_leaves *leaves_of(struct analysis *a)
{
    if (!a->merge_leaves) {
        a->merge_leaves = g_new0(struct mstate_leaves, 1);
        a->merge_leaves->refs = g_array_new(FALSE, TRUE, sizeof(struct leaf_ref));
        a->merge_leaves->spool = -1;
    }
    return a->merge_leaves;
}

static void refs_clear(struct mstate_leaves *l)
{
    for (guint i = 0; i < l->refs->len; i++)
        free(g_array_index(l->refs, struct leaf_ref, i).text);
    g_array_set_size(l->refs, 0);
    if (l->spool >= 0) { /* nothing of it is written now: its disk back */
        close(l->spool);
        l->spool = -1;
    }
    l->spooled = 0;
}

/* A file in $TMPDIR (else /tmp) without a name: gone with the process
 * however it ends.  -1 when none can be made. */
static int spool_open(void)
{
    const char *dir = g_get_tmp_dir();
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) { /* a file system without O_TMPFILE: named a moment */
        char *path = g_build_filename(dir, "smbscope-merge-XXXXXX", NULL);
        fd = g_mkstemp_full(path, O_RDWR | O_CLOEXEC, 0600);
        if (fd >= 0)
            unlink(path);
        g_free(path);
    }
    return fd;
}

/* text (n bytes) appended to the spool: its place there, false when it
 * could not be (the caller keeps it in memory). */
static bool spool_put(struct mstate_leaves *l, const char *text, size_t n, uint64_t *off)
{
    if (l->spool < 0 && !l->no_spool) {
        l->spool = spool_open();
        l->no_spool = l->spool < 0;
    }
    if (l->spool < 0)
        return false;
    int fd = l->spool;
    for (size_t done = 0; done < n;) {
        ssize_t w = pwrite(fd, text + done, n - done, (off_t)(l->spooled + done));
        if (w <= 0)
            return false; /* the bytes past spooled are not used: the next leaf writes over them */
        done += (size_t)w;
    }
    *off = l->spooled;
    l->spooled += n;
    return true;
}

/* n bytes of leaf r from byte `at` into buf.  The spool is this process's
 * own file: a read that fails cannot be told apart from a wrong report
 * further down, so merge stops (exit 2) rather than write one. */
static void leaf_read(const struct mstate_leaves *l, const struct leaf_ref *r, size_t at, char *buf, size_t n)
{
    if (r->text) {
        memcpy(buf, r->text + at, n);
        return;
    }
    for (size_t done = 0; done < n;) {
        ssize_t got = pread(l->spool, buf + done, n - done, (off_t)(r->off + at + done));
        if (got <= 0) {
            fprintf(stderr, "smbscope: merge: the merged state's temporary file could not be read back\n");
            exit(2);
        }
        done += (size_t)got;
    }
}

/* strcmp() of two leaves' texts (they hold no NUL). */
static gint leaf_order(gconstpointer pa, gconstpointer pb, gpointer leaves)
{
    const struct leaf_ref *x = pa, *y = pb;
    size_t common = x->len < y->len ? x->len : y->len;
    size_t h = common < LEAF_HEAD ? common : LEAF_HEAD;
    int c = memcmp(x->head, y->head, h);
    if (c)
        return c;
    static char bx[LEAF_PIECE], by[LEAF_PIECE]; /* merge sorts on one thread */
    for (size_t at = h; at < common; at += LEAF_PIECE) {
        size_t n = common - at < LEAF_PIECE ? common - at : LEAF_PIECE;
        leaf_read(leaves, x, at, bx, n);
        leaf_read(leaves, y, at, by, n);
        if ((c = memcmp(bx, by, n)) != 0)
            return c;
    }
    return (x->len > y->len) - (x->len < y->len);
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

/* pack() of a text written a piece at a time (a run's report read a piece
 * at a time: its leaf text is never whole).  zlib's output does not depend
 * on how its input is cut (no flush before the end), nor base64's: the
 * same bytes as pack() of the whole text. */
struct mstate_packer {
    z_stream zs;
    GString *b64;
    gint state, save;
    size_t bytes;
    bool failed;
    Bytef out[16384];
    char enc[(16384 / 3 + 1) * 4 + 4]; /* g_base64_encode_step()'s bound for out */
};

/* deflate() until it wants more input (Z_NO_FLUSH) or its stream ended
 * (Z_FINISH), what it gave onto the base64 text */
static void packer_drain(struct mstate_packer *pk, int flush)
{
    for (;;) {
        pk->zs.next_out = pk->out;
        pk->zs.avail_out = sizeof pk->out;
        int rc = deflate(&pk->zs, flush);
        if (rc == Z_STREAM_ERROR) {
            pk->failed = true;
            return;
        }
        size_t got = sizeof pk->out - pk->zs.avail_out;
        size_t e = g_base64_encode_step(pk->out, got, FALSE, pk->enc, &pk->state, &pk->save);
        g_string_append_len(pk->b64, pk->enc, (gssize)e);
        if (flush == Z_FINISH ? rc == Z_STREAM_END : pk->zs.avail_out != 0)
            return;
    }
}

static ssize_t packer_write(void *cookie, const char *buf, size_t n)
{
    struct mstate_packer *pk = cookie;
    if (pk->failed)
        return -1;
    pk->bytes += n;
    for (size_t at = 0; at < n;) { /* uInt counts */
        size_t take = n - at < (1u << 30) ? n - at : (1u << 30);
        pk->zs.next_in = (Bytef *)(uintptr_t)(buf + at);
        pk->zs.avail_in = (uInt)take;
        packer_drain(pk, Z_NO_FLUSH);
        at += take;
    }
    return pk->failed ? -1 : (ssize_t)n;
}

FILE *mstate_packer_open(struct mstate_packer **out)
{
    struct mstate_packer *pk = g_new0(struct mstate_packer, 1);
    if (deflateInit(&pk->zs, PACK_LEVEL) != Z_OK) {
        g_free(pk);
        *out = NULL;
        return NULL;
    }
    pk->b64 = g_string_new(NULL);
    cookie_io_functions_t io = { .write = packer_write };
    FILE *f = fopencookie(pk, "w", io);
    if (!f) {
        deflateEnd(&pk->zs);
        g_string_free(pk->b64, TRUE);
        g_free(pk);
        pk = NULL;
    }
    *out = pk;
    return f;
}

char *mstate_packer_close(struct mstate_packer *pk, FILE *f, size_t *outlen)
{
    *outlen = 0;
    if (!pk)
        return NULL;
    bool ok = fclose(f) == 0 && !pk->failed;
    char *out = NULL;
    if (ok) {
        pk->zs.next_in = NULL;
        pk->zs.avail_in = 0;
        packer_drain(pk, Z_FINISH);
        size_t e = g_base64_encode_close(FALSE, pk->enc, &pk->state, &pk->save);
        g_string_append_len(pk->b64, pk->enc, (gssize)e);
    }
    if (ok && !pk->failed) { /* its size exactly (a memory stream grew by doubling beside the text) */
        char head[64];
        int h = snprintf(head, sizeof head, "{\"bytes\":%zu,\"zlib\":\"", pk->bytes);
        size_t n = (size_t)h + pk->b64->len + 2;
        out = malloc(n + 1);
        if (out) {
            memcpy(out, head, (size_t)h);
            memcpy(out + h, pk->b64->str, pk->b64->len);
            memcpy(out + h + pk->b64->len, "\"}", 3);
            *outlen = n;
        }
    }
    deflateEnd(&pk->zs);
    g_string_free(pk->b64, TRUE);
    g_free(pk);
    return out;
}

bool mstate_leaves_full(struct analysis *a) { return leaves_of(a)->bytes == UINT64_MAX; }

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
    struct leaf_ref r;
    memset(&r, 0, sizeof r);
    r.len = strlen(packed);
    memcpy(r.head, packed, r.len < LEAF_HEAD ? r.len : LEAF_HEAD);
    if (spool_put(l, packed, r.len, &r.off))
        free(packed);
    else
        r.text = packed;
    g_array_append_val(l->refs, r);
    l->bytes += len;
    if (l->refs->len > MSTATE_LEAVES_CAP || l->bytes > MSTATE_LEAVES_BYTES) { /* whatever the order: the totals */
        refs_clear(l);
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

void mstate_leaves_sort(struct analysis *a)
{
    if (a->merge_leaves)
        g_array_sort_with_data(a->merge_leaves->refs, leaf_order, a->merge_leaves);
}

bool mstate_leaves_fit(const struct analysis *a)
{
    const struct mstate_leaves *l = a->merge_leaves;
    return l && l->refs->len && l->bytes != UINT64_MAX;
}

void mstate_leaves_put(struct json *b, const struct analysis *a)
{
    const struct mstate_leaves *l = a->merge_leaves;
    json_begin_object(b);
    json_key(b, "leaves");
    json_begin_array(b);
    char *piece = g_malloc(LEAF_PIECE);
    for (guint i = 0; i < l->refs->len; i++) {
        const struct leaf_ref *r = &g_array_index(l->refs, struct leaf_ref, i);
        if (r->text) {
            json_raw(b, r->text, r->len);
            continue;
        }
        /* its first piece a value of the array (the comma before it), the
         * rest straight after it onto the same stream */
        size_t n = r->len < LEAF_PIECE ? r->len : LEAF_PIECE;
        leaf_read(l, r, 0, piece, n);
        json_raw(b, piece, n);
        json_flush(b);
        for (size_t at = n; at < r->len; at += n) {
            n = r->len - at < LEAF_PIECE ? r->len - at : LEAF_PIECE;
            leaf_read(l, r, at, piece, n);
            fwrite(piece, 1, n, b->out); /* a failure is the stream's: reported at its end */
            b->flushed += n;
        }
    }
    g_free(piece);
    json_end_array(b);
    json_end_object(b);
}

void mstate_leaves_free(struct analysis *a)
{
    if (!a->merge_leaves)
        return;
    refs_clear(a->merge_leaves);
    g_array_free(a->merge_leaves->refs, TRUE);
    g_free(a->merge_leaves);
    a->merge_leaves = NULL;
}
