/* mstate_canon.c - the merge state's digest, taken over one canonical text
 * that the writer streams and the reader rebuilds from what it parsed.
 *
 * The canonical text is json.c's compact form (no blanks, members in the
 * order written).  A string goes in as valid UTF-8 without NUL (the writer
 * makes every state string valid first), so parsing it back and writing it
 * again gives the same bytes: the writer hashes what it writes, the reader
 * hashes mstate_put_node() of its tree, and a report reformatted by a JSON
 * tool still verifies.  The detail entries (connections[]) are written by
 * the report from wire strings that may not be valid UTF-8 or may hold NUL:
 * the writer hashes them in json.c's canonical mode (json.h), the text the
 * reader's parse and mstate_put_node() give, without parsing them back (a
 * parse per entry cost a third of a 20,000-connection run). */
/* fopencookie: _GNU_SOURCE comes from the build */
#include "mstate.h"

#include <stdio.h>
#include <string.h>

#include "mstate_canon.h"
#include "mstate_detail.h"
#include "report.h"
#include "report_json.h"

static ssize_t sink_write(void *cookie, const char *buf, size_t n)
{
    struct mstate_sink *s = cookie;
    if (s->hashing && s->md)
        gcry_md_write(s->md, buf, n);
    if (s->out && fwrite(buf, 1, n, s->out) != n)
        return -1;
    return (ssize_t)n;
}

FILE *mstate_sink_open(struct mstate_sink *s, FILE *out, int format)
{
    memset(s, 0, sizeof *s);
    s->out = out;
    if (gcry_md_open(&s->md, GCRY_MD_SHA256, 0) != 0)
        s->md = NULL; /* never verifies: merge refuses such a report */
    char head[64];
    int hn = snprintf(head, sizeof head, "smbscope-merge-state/%d\n", format);
    if (s->md)
        gcry_md_write(s->md, head, (size_t)hn);
    cookie_io_functions_t io = { .write = sink_write };
    FILE *f = fopencookie(s, "w", io);
    if (f)
        setvbuf(f, NULL, _IONBF, 0); /* json.c buffers; the hashing switch must take effect at once */
    return f;
}

void mstate_sink_hash(struct mstate_sink *s, const char *text, size_t n)
{
    if (s->md)
        gcry_md_write(s->md, text, n);
}

void mstate_sink_digest(struct mstate_sink *s, char out[MSTATE_DIGEST_LEN + 1])
{
    uint8_t md[32];
    if (s->md)
        memcpy(md, gcry_md_read(s->md, GCRY_MD_SHA256), sizeof md);
    else
        memset(md, 0, sizeof md);
    memcpy(out, MSTATE_DIGEST_PREFIX, sizeof MSTATE_DIGEST_PREFIX - 1);
    for (size_t i = 0; i < sizeof md; i++)
        snprintf(out + sizeof MSTATE_DIGEST_PREFIX - 1 + 2 * i, 3, "%02x", md[i]);
}

void mstate_sink_close(struct mstate_sink *s, FILE *f)
{
    if (f)
        fclose(f);
    if (s->md)
        gcry_md_close(s->md);
    s->md = NULL;
}

void mstate_put_node(struct json *w, JsonNode *n)
{
    if (!n || JSON_NODE_HOLDS_NULL(n)) {
        json_null(w);
    } else if (JSON_NODE_HOLDS_OBJECT(n)) {
        JsonObject *o = json_node_get_object(n);
        json_begin_object(w);
        GList *keys = json_object_get_members(o); /* in the order they were read */
        for (GList *k = keys; k; k = k->next) {
            json_key(w, k->data);
            mstate_put_node(w, json_object_get_member(o, k->data));
        }
        g_list_free(keys);
        json_end_object(w);
    } else if (JSON_NODE_HOLDS_ARRAY(n)) {
        JsonArray *a = json_node_get_array(n);
        json_begin_array(w);
        for (guint i = 0; i < json_array_get_length(a); i++)
            mstate_put_node(w, json_array_get_element(a, i));
        json_end_array(w);
    } else {
        GType t = json_node_get_value_type(n);
        if (t == G_TYPE_INT64) {
            json_int(w, json_node_get_int(n));
        } else if (t == G_TYPE_BOOLEAN) {
            json_bool(w, json_node_get_boolean(n));
        } else if (t == G_TYPE_STRING) {
            json_str(w, json_node_get_string(n));
        } else { /* a number smbscope never writes: hashed, so never verifies as one it wrote */
            char buf[G_ASCII_DTOSTR_BUF_SIZE];
            g_ascii_dtostr(buf, sizeof buf, json_node_get_double(n));
            json_raw(w, buf, strlen(buf));
        }
    }
}

char *mstate_node_canon(JsonNode *n, size_t *len)
{
    char *text = NULL;
    *len = 0;
    FILE *mem = open_memstream(&text, len);
    if (!mem)
        return NULL;
    struct json w;
    json_init(&w, mem, false);
    mstate_put_node(&w, n);
    json_flush(&w);
    fclose(mem);
    return text;
}

void mstate_digest(JsonNode *state, JsonNode *detail, int format, char out[MSTATE_DIGEST_LEN + 1])
{
    struct mstate_sink s;
    FILE *f = mstate_sink_open(&s, NULL, format);
    s.hashing = true;
    if (f) {
        struct json w;
        json_init(&w, f, false);
        mstate_put_node(&w, state);
        json_flush(&w);
        mstate_sink_hash(&s, "\n", 1);
        if (detail)
            mstate_put_node(&w, detail);
        else
            json_raw(&w, "[]", 2);
        json_flush(&w);
    }
    mstate_sink_digest(&s, out);
    mstate_sink_close(&s, f);
}

void mstate_put_detail(struct json *w, const struct analysis *a)
{
    GPtrArray *conns = report_sorted_conns(a);
    bool was = w->canonical;
    json_set_canonical(w, true);
    json_begin_array(w);
    for (guint i = 0; i < conns->len; i++)
        json_connection(w, g_ptr_array_index(conns, i));
    for (guint i = 0; a->conn_detail_json && i < a->conn_detail_json->len; i++)
        mstate_detail_put(w, g_ptr_array_index(a->conn_detail_json, i)); /* packed or not */
    json_end_array(w);
    json_set_canonical(w, was);
    g_ptr_array_free(conns, TRUE);
}
