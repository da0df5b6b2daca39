/* mstate_syn_rows.c - syn_starts' rows past the JSON ones, compactly
 * (mstate_syn_rows.h). */
#include "mstate_syn_rows.h"

#include <string.h>

#include "conn_groups.h"
#include "mstate_zrec.h"

/* the longest record: 28 varints of at most 10 bytes (ISN, two host ends,
 * ports, times, mask, 20 members, two lengths), a byte, two addresses, two texts */
#define ROW_MAX (28 * 10 + 1 + 2 * 17 + CONN_DIALECT_TEXT_LEN + CONN_REASON_LEN)

static uint8_t *put_varint(uint8_t *q, uint64_t v)
{
    for (; v >= 0x80; v >>= 7)
        *q++ = (uint8_t)(v | 0x80);
    *q++ = (uint8_t)v;
    return q;
}

static uint64_t zigzag(int64_t d) { return ((uint64_t)d << 1) ^ (uint64_t)(d >> 63); }
static int64_t unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

static uint8_t *put_addr(uint8_t *q, const struct ip_addr *a)
{
    size_t al = a->family == 6 ? 16 : a->family == 4 ? 4 : 0;
    *q++ = al ? a->family : 0;
    memcpy(q, a->bytes, al);
    return q + al;
}

static uint8_t *put_text(uint8_t *q, const char *s, size_t cap)
{
    char *v = g_utf8_make_valid(s, -1); /* what the JSON row writes (mstate_edges.c vstr) */
    size_t n = strlen(v);
    if (n >= cap)
        n = cap; /* too long for the reader, as the JSON row's would be */
    q = put_varint(q, n);
    memcpy(q, v, n);
    g_free(v);
    return q + n;
}

/* A host end: 0 not the latest, 1 no other start, else 2 + zigzag of the
 * difference (times within 2^62: it fits). */
static uint64_t excl_code(int64_t e, int64_t first_ts)
{
    return e == -1 ? 0 : e == -2 ? 1 : 2 + zigzag(first_ts - e);
}

/* The counts and codes of a row, in edge_fields' order, and their bounds
 * (what read_summary() takes of a JSON row). */
#define ROW_NUMS 20

static void row_nums(const struct conn_summary *cs, uint64_t *v)
{
    const uint64_t n[ROW_NUMS] = { cs->flow_id, cs->packets, cs->bytes, cs->gaps, cs->gap_bytes, cs->evidence,
                                   cs->rules, cs->undecided, cs->dialect, cs->flags, cs->ntlm_sessions, cs->transport,
                                   cs->carrier, cs->proto, cs->smb_version, cs->signing, cs->auth, cs->auth_mech,
                                   cs->gap, cs->findings };
    memcpy(v, n, sizeof n);
}

static const uint64_t row_max[ROW_NUMS] = { INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, UINT32_MAX,
                                            UINT32_MAX, UINT32_MAX, 65535, 65535, 65535, 255,
                                            CONN_CARRIER_COUNT - 1, 255, 3, CONN_SIGNING_REQUIRED,
                                            CONN_AUTH_COUNT - 1, 255, CONN_GAP_COUNT - 1, 255 };

static void row_set(struct conn_summary *cs, const uint64_t *v)
{
    cs->flow_id = v[0];
    cs->packets = v[1];
    cs->bytes = v[2];
    cs->gaps = v[3];
    cs->gap_bytes = v[4];
    cs->evidence = (uint32_t)v[5];
    cs->rules = (uint32_t)v[6];
    cs->undecided = (uint32_t)v[7];
    cs->dialect = (uint16_t)v[8];
    cs->flags = (uint16_t)v[9];
    cs->ntlm_sessions = (uint16_t)v[10];
    cs->transport = (uint8_t)v[11];
    cs->carrier = (uint8_t)v[12];
    cs->proto = (uint8_t)v[13];
    cs->smb_version = (uint8_t)v[14];
    cs->signing = (uint8_t)v[15];
    cs->auth = (uint8_t)v[16];
    cs->auth_mech = (uint8_t)v[17];
    cs->gap = (uint8_t)v[18];
    cs->findings = (uint8_t)v[19];
}

struct syn_rows_put {
    struct zput z;
    int64_t prev; /* the row before's first packet */
    uint64_t prev_nums[ROW_NUMS];
    char prev_text[2][CONN_DIALECT_TEXT_LEN > CONN_REASON_LEN ? CONN_DIALECT_TEXT_LEN : CONN_REASON_LEN];
};

struct syn_rows_put *syn_rows_put_begin(struct json *b, const char *k, uint64_t n)
{
    struct syn_rows_put *p = g_new0(struct syn_rows_put, 1);
    zput_begin(&p->z, b, k, n, Z_BEST_SPEED);
    return p;
}

void syn_rows_put_one(struct syn_rows_put *p, const struct syn_row_rec *r)
{
    uint8_t buf[ROW_MAX];
    const struct conn_summary *cs = &r->cs;
    uint8_t *q = put_varint(buf, (uint64_t)(r->isn + 1));
    *q++ = r->level;
    q = put_varint(q, excl_code(r->excl[0], cs->first_ts));
    q = put_varint(q, excl_code(r->excl[1], cs->first_ts));
    q = put_addr(put_addr(q, &cs->client), &cs->server);
    q = put_varint(q, cs->client_port);
    q = put_varint(q, cs->server_port);
    q = put_varint(q, zigzag(cs->first_ts - p->prev));
    q = put_varint(q, zigzag(cs->last_ts - cs->first_ts));
    p->prev = cs->first_ts;
    uint64_t nums[ROW_NUMS];
    row_nums(cs, nums);
    /* the members that differ from the row before's, then their values */
    uint64_t mask = 0;
    for (int i = 0; i < ROW_NUMS; i++)
        mask |= (uint64_t)(nums[i] != p->prev_nums[i]) << i;
    bool texts[2] = { strcmp(cs->dialect_text, p->prev_text[0]) != 0, strcmp(cs->close_reason, p->prev_text[1]) != 0 };
    mask |= (uint64_t)texts[0] << ROW_NUMS | (uint64_t)texts[1] << (ROW_NUMS + 1);
    q = put_varint(q, mask);
    for (int i = 0; i < ROW_NUMS; i++)
        if (mask >> i & 1)
            q = put_varint(q, nums[i]);
    if (texts[0])
        q = put_text(q, cs->dialect_text, sizeof cs->dialect_text - 1);
    if (texts[1])
        q = put_text(q, cs->close_reason, sizeof cs->close_reason - 1);
    memcpy(p->prev_nums, nums, sizeof nums);
    g_strlcpy(p->prev_text[0], cs->dialect_text, sizeof p->prev_text[0]);
    g_strlcpy(p->prev_text[1], cs->close_reason, sizeof p->prev_text[1]);
    zput_bytes(&p->z, buf, (size_t)(q - buf));
}

void syn_rows_put_end(struct syn_rows_put *p, struct json *b)
{
    zput_end(&p->z, b);
    g_free(p);
}

/* ---- reading ------------------------------------------------------------- */

struct cursor {
    const uint8_t *p;
    size_t len, at;
    bool short_; /* more bytes needed */
    bool bad;
};

static uint64_t get_varint(struct cursor *c)
{
    uint64_t v = 0;
    if (c->short_ || c->bad)
        return 0;
    for (int i = 0; i < 10; i++) {
        if (c->at >= c->len) {
            c->short_ = true;
            return 0;
        }
        uint8_t b = c->p[c->at++];
        if (i == 9 && b > 1) { /* past 64 bits */
            c->bad = true;
            return 0;
        }
        v |= (uint64_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80))
            return v;
    }
    c->bad = true;
    return 0;
}

static uint64_t get_max(struct cursor *c, uint64_t max)
{
    uint64_t v = get_varint(c);
    if (v > max)
        c->bad = true;
    return v;
}

static void get_addr(struct cursor *c, struct ip_addr *a)
{
    memset(a, 0, sizeof *a);
    if (c->short_ || c->bad)
        return;
    if (c->at >= c->len) {
        c->short_ = true;
        return;
    }
    uint8_t f = c->p[c->at];
    if (f != 0 && f != 4 && f != 6) {
        c->bad = true;
        return;
    }
    size_t al = f == 6 ? 16 : f == 4 ? 4 : 0;
    if (c->at + 1 + al > c->len) {
        c->short_ = true;
        return;
    }
    a->family = f;
    memcpy(a->bytes, c->p + c->at + 1, al);
    c->at += 1 + al;
}

static void get_text(struct cursor *c, char *out, size_t cap)
{
    uint64_t n = get_max(c, cap - 1);
    if (c->short_ || c->bad)
        return;
    if (c->at + n > c->len) {
        c->short_ = true;
        return;
    }
    const char *s = (const char *)c->p + c->at;
    if (memchr(s, 0, n) || !g_utf8_validate(s, (gssize)n, NULL)) {
        c->bad = true;
        return;
    }
    memcpy(out, s, n);
    out[n] = 0;
    c->at += n;
}

/* A time within +-JGET_TS_MAX: base + d (both checked, no overflow). */
static int64_t get_time(struct cursor *c, int64_t base)
{
    int64_t d = unzigzag(get_varint(c));
    if (d > JGET_TS_MAX || d < -JGET_TS_MAX || base + d > JGET_TS_MAX || base + d < -JGET_TS_MAX) {
        c->bad = true;
        return 0;
    }
    return base + d;
}

struct reader {
    syn_rows_add add;
    void *ctx;
    int64_t prev; /* the row before's first packet, members and texts */
    uint64_t prev_nums[ROW_NUMS];
    char prev_text[2][CONN_DIALECT_TEXT_LEN > CONN_REASON_LEN ? CONN_DIALECT_TEXT_LEN : CONN_REASON_LEN];
};

static int64_t take_row(void *ctx, struct jget *g, const struct jpath *ip, const uint8_t *p, size_t len)
{
    struct reader *rd = ctx;
    struct cursor c = { p, len, 0, false, false };
    struct syn_row_rec r;
    memset(&r, 0, sizeof r);
    struct conn_summary *cs = &r.cs;
    r.isn = (int64_t)get_max(&c, (uint64_t)UINT32_MAX + 1) - 1;
    if (!c.short_ && !c.bad) {
        if (c.at >= c.len)
            c.short_ = true;
        else if ((r.level = c.p[c.at++]) > CONN_GROUP_OTHER)
            c.bad = true;
    }
    uint64_t ex[2];
    ex[0] = get_varint(&c); /* in turn: an initializer's are not sequenced */
    ex[1] = get_varint(&c);
    get_addr(&c, &cs->client);
    get_addr(&c, &cs->server);
    cs->client_port = (uint16_t)get_max(&c, 65535);
    cs->server_port = (uint16_t)get_max(&c, 65535);
    cs->first_ts = get_time(&c, rd->prev);
    cs->last_ts = get_time(&c, cs->first_ts);
    uint64_t mask = get_max(&c, (UINT64_C(1) << (ROW_NUMS + 2)) - 1);
    uint64_t nums[ROW_NUMS];
    memcpy(nums, rd->prev_nums, sizeof nums);
    for (int i = 0; i < ROW_NUMS; i++)
        if (mask >> i & 1)
            nums[i] = get_max(&c, row_max[i]);
    row_set(cs, nums);
    g_strlcpy(cs->dialect_text, rd->prev_text[0], sizeof cs->dialect_text);
    g_strlcpy(cs->close_reason, rd->prev_text[1], sizeof cs->close_reason);
    if (mask >> ROW_NUMS & 1)
        get_text(&c, cs->dialect_text, sizeof cs->dialect_text);
    if (mask >> (ROW_NUMS + 1) & 1)
        get_text(&c, cs->close_reason, sizeof cs->close_reason);
    for (int d = 0; d < 2 && !c.short_ && !c.bad; d++) {
        if (ex[d] < 2) {
            r.excl[d] = ex[d] ? -2 : -1;
            continue;
        }
        int64_t diff = unzigzag(ex[d] - 2); /* first_ts - excl */
        if (diff > JGET_TS_MAX || diff < -JGET_TS_MAX || cs->first_ts - diff > JGET_TS_MAX ||
            cs->first_ts - diff < -JGET_TS_MAX)
            c.bad = true;
        else
            r.excl[d] = cs->first_ts - diff;
    }
    if (c.bad) {
        jget_fail(g, ip, "not a row smbscope writes (a value out of range)");
        return -1;
    }
    if (c.short_)
        return 0;
    rd->prev = cs->first_ts;
    memcpy(rd->prev_nums, nums, sizeof nums);
    g_strlcpy(rd->prev_text[0], cs->dialect_text, sizeof rd->prev_text[0]);
    g_strlcpy(rd->prev_text[1], cs->close_reason, sizeof rd->prev_text[1]);
    rd->add(rd->ctx, &r);
    return (int64_t)c.at;
}

void syn_rows_read(struct jget *g, const struct jpath *p, JsonObject *o, const char *k, uint64_t max, syn_rows_add add,
                   void *ctx)
{
    if (g->failed || !o || !json_object_has_member(o, k))
        return;
    struct jpath mp;
    jpath_key(&mp, p, k);
    JsonObject *m = jget_obj(g, p, o, k);
    uint64_t n = m ? jget_u64(g, &mp, m, "n", max) : 0;
    const char *b64 = m ? jget_str(g, &mp, m, "zlib", (size_t)max * ROW_MAX / 3 * 4 + 64, false) : NULL;
    if (g->failed || !b64)
        return;
    struct reader rd;
    memset(&rd, 0, sizeof rd);
    rd.add = add;
    rd.ctx = ctx;
    zread_records(g, &mp, b64, n, 16 * ROW_MAX, take_row, &rd, "rows");
}
