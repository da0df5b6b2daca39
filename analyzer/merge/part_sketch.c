/* part_sketch.c - see part_sketch.h. */
#include "part_sketch.h"

#include <glib.h>
#include <stdlib.h>

/* A record under 32 bytes: its bytes, then zeros, and its length. */
uint64_t part_sketch_hash_short(const struct capture_record *rec)
{
    uint8_t pad[PART_SKETCH_BYTES] = { 0 };
    if (rec->data && rec->caplen)
        memcpy(pad, rec->data, rec->caplen);
    struct capture_record r = *rec;
    r.data = pad;
    r.caplen = PART_SKETCH_BYTES;
    return part_sketch_mum(part_sketch_hash(&r) ^ rec->caplen, 0x9e3779b97f4a7c15u);
}

static int u64_order(const void *pa, const void *pb)
{
    uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
    return a < b ? -1 : a > b;
}

static uint32_t sort_unique(uint64_t *h, uint32_t n)
{
    qsort(h, n, sizeof *h, u64_order);
    uint32_t u = 0;
    for (uint32_t i = 0; i < n; i++)
        if (!u || h[u - 1] != h[i])
            h[u++] = h[i];
    return u;
}

/* Past the bound, the next level: only the records of level >= L kept
 * (a record the capture repeats is kept as often: the sample is halved
 * sooner, and made each once by part_sketch_finish()).  Past the last
 * level nothing is (more than PART_SKETCH_SAMPLE records of 39 leading
 * zeros: one record repeated, or a forged capture); the edges still are. */
void part_sketch_sample(struct part_sketch *s, uint64_t h)
{
    s->sample[s->sampled++] = h;
    while (s->sampled > PART_SKETCH_SAMPLE && s->level < PART_SKETCH_LEVELS) {
        s->level++;
        uint32_t kept = 0;
        for (uint32_t i = 0; i < s->sampled; i++)
            if (part_sketch_level(s->sample[i]) >= s->level)
                s->sample[kept++] = s->sample[i];
        s->sampled = kept;
    }
}

void part_sketch_finish(const struct part_sketch *s, struct part_overlap *out)
{
    uint64_t *h = g_new(uint64_t, PART_SKETCH_MAX);
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->sampled; i++)
        h[n++] = s->sample[i];
    for (unsigned k = 0; k < PART_SKETCH_LEVELS; k++) {
        uint64_t m = s->n[k] < PART_SKETCH_EDGE ? s->n[k] : PART_SKETCH_EDGE;
        for (uint64_t i = 0; i < m; i++) {
            h[n++] = s->head[k][i];
            h[n++] = s->tail[k][i];
        }
    }
    uint32_t u = sort_unique(h, n);
    part_overlap_clear(out);
    out->level = s->level;
    out->n = u;
    out->hashes = u ? g_renew(uint64_t, h, u) : (g_free(h), NULL);
}

void part_overlap_clear(struct part_overlap *o)
{
    g_free(o->hashes);
    memset(o, 0, sizeof *o);
}

char *part_overlap_encode(const struct part_overlap *o)
{
    guchar *b = g_new(guchar, (gsize)o->n * 8 + 1);
    for (uint32_t i = 0; i < o->n; i++)
        for (int j = 0; j < 8; j++)
            b[i * 8 + (uint32_t)j] = (guchar)(o->hashes[i] >> (8 * j));
    char *t = g_base64_encode(b, (gsize)o->n * 8);
    g_free(b);
    return t;
}

bool part_overlap_decode(const char *text, uint32_t level, struct part_overlap *out, const char **err)
{
    memset(out, 0, sizeof *out);
    size_t len = strlen(text);
    *err = "not base64 of 8-octet hashes";
    if (len % 4 || len > (PART_SKETCH_MAX * 8 + 2) / 3 * 4) {
        *err = len % 4 ? *err : "more hashes than a sketch holds";
        return false;
    }
    for (size_t i = 0; i < len; i++)
        if (!g_ascii_isalnum(text[i]) && text[i] != '+' && text[i] != '/' && !(text[i] == '=' && i + 2 >= len))
            return false;
    gsize n = 0;
    guchar *b = g_base64_decode(text, &n);
    if (n % 8 || n / 8 > PART_SKETCH_MAX) {
        g_free(b);
        return false;
    }
    char *again = g_base64_encode(b, n); /* the one text of these octets */
    bool canonical = strcmp(again, text) == 0;
    g_free(again);
    if (!canonical) {
        g_free(b);
        return false;
    }
    out->n = (uint32_t)(n / 8);
    out->level = level;
    out->hashes = out->n ? g_new(uint64_t, out->n) : NULL;
    for (uint32_t i = 0; i < out->n; i++) {
        uint64_t v = 0;
        for (int j = 7; j >= 0; j--)
            v = v << 8 | b[i * 8 + (uint32_t)j];
        out->hashes[i] = v;
        if (i && out->hashes[i - 1] >= v) {
            g_free(b);
            part_overlap_clear(out);
            *err = "hashes not in order or repeated";
            return false;
        }
    }
    g_free(b);
    return true;
}
