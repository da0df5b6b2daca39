/* NBNS (RFC 1002 4.2) and NBDS (RFC 1002 4.4) decoders.  Real vectors
 * are UDP payloads cut from samples/ (vectors/nbns.tsv, vectors/nbds.tsv
 * hold tshark's fields for each); malformed variants are made by hand. */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "nb_test_util.h"
#include "nbns.h"

static char **split(const char *s)
{
    return *s ? g_strsplit(s, "|", -1) : g_new0(char *, 1);
}

static unsigned long num(const char *s)
{
    return strtoul(s, NULL, 0);
}

static char *ip_text(uint32_t ip)
{
    return g_strdup_printf("%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

struct row {
    char **cols;
    GBytes *data;
};

static GPtrArray *load(const char *tsv)
{
    GPtrArray *v = g_ptr_array_new();
    char *text = vector_text(tsv);
    char **lines = g_strsplit(text, "\n", -1);
    for (char **l = lines + 1; *l; l++) {
        if (!**l)
            continue;
        struct row *r = g_new0(struct row, 1);
        r->cols = g_strsplit(*l, "\t", -1);
        r->data = vector_bytes(r->cols[0]);
        g_ptr_array_add(v, r);
    }
    g_strfreev(lines);
    g_free(text);
    return v;
}

static void free_rows(GPtrArray *v)
{
    for (guint i = 0; i < v->len; i++) {
        struct row *r = g_ptr_array_index(v, i);
        g_strfreev(r->cols);
        g_bytes_unref(r->data);
        g_free(r);
    }
    g_ptr_array_free(v, TRUE);
}

/* columns of nbns.tsv */
enum { C_FILE, C_ID, C_FLAGS, C_QD, C_AN, C_NS, C_AR, C_NAME, C_TYPE, C_TTL, C_NBFLAGS, C_ADDR,
       C_NUMNAMES, C_NBNAME, C_NAMEFLAGS, C_UNIT, C_COUNT };

static void test_nbns_real(void)
{
    GPtrArray *rows = load("nbns.tsv");
    g_assert_cmpuint(rows->len, >=, 8);
    unsigned nodestatus = 0, responses = 0, registrations = 0;
    /* One message for every row, never cleared by the caller (as the
     * analyzer's scratch): the decoder initialises what its counts cover. */
    struct nbns_msg *m = g_new(struct nbns_msg, 1);
    memset(m, 0xA5, sizeof *m);
    for (guint i = 0; i < rows->len; i++) {
        struct row *r = g_ptr_array_index(rows, i);
        char **c = r->cols;
        g_assert_cmpuint(g_strv_length(c), ==, C_COUNT);
        gsize n;
        const uint8_t *d = g_bytes_get_data(r->data, &n);
        if (nbns_decode(d, n, m) != NBNS_OK)
            g_error("%s: %s", c[C_FILE], nbns_status_text(m->status));
        g_assert_cmpuint(m->used, ==, n);
        g_assert_cmphex(m->id, ==, num(c[C_ID]));
        g_assert_cmphex(m->flags, ==, num(c[C_FLAGS]));
        g_assert_cmpuint(m->qdcount, ==, num(c[C_QD]));
        g_assert_cmpuint(m->ancount, ==, num(c[C_AN]));
        g_assert_cmpuint(m->nscount, ==, num(c[C_NS]));
        g_assert_cmpuint(m->arcount, ==, num(c[C_AR]));
        responses += m->response;
        registrations += m->opcode == NBNS_OP_REGISTRATION;
        g_assert_nonnull(nbns_opcode_name(m->opcode));

        /* names and types: questions first, then records, as tshark lists them */
        char **names = split(c[C_NAME]), **types = split(c[C_TYPE]);
        g_assert_cmpuint(g_strv_length(names), ==, m->nq + m->nrr);
        g_assert_cmpuint(g_strv_length(types), ==, m->nq + m->nrr);
        for (unsigned k = 0; k < m->nq; k++) {
            assert_nbname(&m->q[k].name, names[k]);
            g_assert_cmpuint(m->q[k].type, ==, num(types[k]));
        }
        char **ttls = split(c[C_TTL]), **nbflags = split(c[C_NBFLAGS]), **addrs = split(c[C_ADDR]);
        g_assert_cmpuint(g_strv_length(ttls), ==, m->nrr);
        unsigned a = 0;
        for (unsigned k = 0; k < m->nrr; k++) {
            const struct nbns_record *rr = &m->rr[k];
            assert_nbname(&rr->name, names[m->nq + k]);
            g_assert_cmpuint(rr->type, ==, num(types[m->nq + k]));
            g_assert_cmpuint(rr->ttl, ==, num(ttls[k]));
            g_assert_true(rr->rdata_ok);
            for (unsigned e = 0; e < rr->addr_count; e++, a++) {
                const struct nbns_addr *ad = &m->addrs[rr->addr_first + e];
                g_assert_cmphex(ad->flags, ==, num(nbflags[a]));
                char *ip = ip_text(ad->ipv4);
                g_assert_cmpstr(ip, ==, addrs[a]);
                g_free(ip);
            }
            if (rr->type == NBNS_TYPE_NBSTAT) {
                nodestatus++;
                g_assert_cmpuint(rr->num_names, ==, num(c[C_NUMNAMES]));
                char **nbn = split(c[C_NBNAME]), **nf = split(c[C_NAMEFLAGS]);
                g_assert_cmpuint(g_strv_length(nbn), ==, rr->node_count);
                for (unsigned e = 0; e < rr->node_count; e++) {
                    const struct nbns_node_name *nn = &m->nodes[rr->node_first + e];
                    size_t len = 15;
                    while (len && nn->name[len - 1] == ' ')
                        len--;
                    g_assert_cmpuint(len, ==, strlen(nbn[e]));
                    g_assert_cmpint(memcmp(nn->name, nbn[e], len), ==, 0);
                    g_assert_cmphex(nn->flags, ==, num(nf[e]));
                }
                g_assert_true(rr->has_unit_id);
                char *mac = g_strdup_printf("%02x:%02x:%02x:%02x:%02x:%02x", rr->unit_id[0], rr->unit_id[1],
                                            rr->unit_id[2], rr->unit_id[3], rr->unit_id[4], rr->unit_id[5]);
                g_assert_cmpstr(mac, ==, c[C_UNIT]);
                g_free(mac);
                g_strfreev(nbn);
                g_strfreev(nf);
            }
        }
        g_assert_cmpuint(a, ==, g_strv_length(addrs));
        g_strfreev(names);
        g_strfreev(types);
        g_strfreev(ttls);
        g_strfreev(nbflags);
        g_strfreev(addrs);

        /* every truncation is an error, never OK and never a crash */
        for (size_t cut = 0; cut < n; cut++) {
            uint8_t *t = g_memdup2(d, cut);
            if (nbns_decode(t, cut, m) == NBNS_OK)
                g_error("%s cut at %zu decoded OK", c[C_FILE], cut);
            g_free(t);
        }
    }
    g_free(m);
    g_assert_cmpuint(nodestatus, >=, 1);
    g_assert_cmpuint(responses, >=, 2);
    g_assert_cmpuint(registrations, >=, 1);
    free_rows(rows);
}

enum { D_FILE, D_TYPE, D_FLAGS, D_ID, D_SRCIP, D_SRCPORT, D_LEN, D_OFF, D_SRC, D_DST, D_COUNT };

static void test_nbds_real(void)
{
    GPtrArray *rows = load("nbds.tsv");
    g_assert_cmpuint(rows->len, >=, 2);
    for (guint i = 0; i < rows->len; i++) {
        struct row *r = g_ptr_array_index(rows, i);
        char **c = r->cols;
        g_assert_cmpuint(g_strv_length(c), ==, D_COUNT);
        gsize n;
        const uint8_t *d = g_bytes_get_data(r->data, &n);
        struct nbds_msg m;
        if (nbds_decode(d, n, &m) != NBDS_OK)
            g_error("%s: %s", c[D_FILE], nbds_status_text(m.status));
        g_assert_cmpuint(m.type, ==, num(c[D_TYPE]));
        g_assert_cmphex(m.flags, ==, num(c[D_FLAGS]));
        g_assert_cmphex(m.dgm_id, ==, num(c[D_ID]));
        char *ip = ip_text(m.src_ipv4);
        g_assert_cmpstr(ip, ==, c[D_SRCIP]);
        g_free(ip);
        g_assert_cmpuint(m.src_port, ==, num(c[D_SRCPORT]));
        g_assert_cmpuint(m.dgm_length, ==, num(c[D_LEN]));
        g_assert_cmpuint(m.packet_offset, ==, num(c[D_OFF]));
        assert_nbname(&m.src, c[D_SRC]);
        assert_nbname(&m.dst, c[D_DST]);
        g_assert_nonnull(nbds_type_name(m.type));
        /* the user data is an SMB (browser) message */
        g_assert_cmpuint(m.user_len, >=, 4);
        g_assert_cmpint(memcmp(d + m.user_offset, "\xffSMB", 4), ==, 0);
        for (size_t cut = 0; cut < m.user_offset; cut++) {
            uint8_t *t = g_memdup2(d, cut);
            struct nbds_msg tm;
            g_assert_cmpint(nbds_decode(t, cut, &tm), ==, NBDS_TRUNCATED);
            g_free(t);
        }
        /* cut inside the user data: the length field no longer agrees */
        struct nbds_msg tm;
        g_assert_cmpint(nbds_decode(d, n - 1, &tm), ==, NBDS_BAD_LENGTH);
    }
    free_rows(rows);
}

/* ---- hand-made NBNS messages ------------------------------------------- */

static void put16(GByteArray *b, uint16_t v)
{
    uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };
    g_byte_array_append(b, x, 2);
}

static void put_name(GByteArray *b, const char *name, uint8_t suffix)
{
    uint8_t raw[16];
    memset(raw, ' ', 15);
    memcpy(raw, name, MIN(strlen(name), 15));
    raw[15] = suffix;
    uint8_t l = 32;
    g_byte_array_append(b, &l, 1);
    for (int i = 0; i < 16; i++) {
        uint8_t e[2] = { (uint8_t)('A' + (raw[i] >> 4)), (uint8_t)('A' + (raw[i] & 15)) };
        g_byte_array_append(b, e, 2);
    }
    l = 0;
    g_byte_array_append(b, &l, 1);
}

static GByteArray *header(uint16_t flags, uint16_t qd, uint16_t an, uint16_t ar)
{
    GByteArray *b = g_byte_array_new();
    put16(b, 0x1234);
    put16(b, flags);
    put16(b, qd);
    put16(b, an);
    put16(b, 0);
    put16(b, ar);
    return b;
}

static void test_compression(void)
{
    struct nbns_msg *m = g_new0(struct nbns_msg, 1);
    /* registration: question name, additional record by pointer to it */
    GByteArray *b = header(0x2910, 1, 0, 1);
    put_name(b, "HOST", 0x20);
    put16(b, 0x20);
    put16(b, 1);
    g_byte_array_append(b, (const uint8_t *)"\xc0\x0c", 2);
    put16(b, 0x20);
    put16(b, 1);
    put16(b, 0);
    put16(b, 300);
    put16(b, 6);
    g_byte_array_append(b, (const uint8_t *)"\x00\x00\x0a\x00\x00\x07", 6);
    g_assert_cmpint(nbns_decode(b->data, b->len, m), ==, NBNS_OK);
    g_assert_cmpuint(m->nrr, ==, 1);
    g_assert_cmpuint(m->rr[0].name.pointers, ==, 1);
    g_assert_cmpint(memcmp(m->rr[0].name.name, "HOST ", 5), ==, 0);
    g_assert_cmpuint(m->rr[0].name.suffix, ==, 0x20);
    g_assert_cmphex(m->addrs[0].ipv4, ==, 0x0a000007);
    g_assert_cmpuint(m->rr[0].ttl, ==, 300);
    g_assert_cmpuint(m->opcode, ==, NBNS_OP_REGISTRATION);
    g_assert_true(m->flags & NBNS_F_B);

    /* pointer to itself: loop */
    size_t ptr_at = 12 + 34 + 4;
    b->data[ptr_at] = 0xc0;
    b->data[ptr_at + 1] = (uint8_t)ptr_at;
    g_assert_cmpint(nbns_decode(b->data, b->len, m), ==, NBNS_BAD_NAME);
    g_assert_cmpint(m->rr[0].name_status, ==, NBNAME_BAD_POINTER);
    g_assert_cmpuint(m->nrr, ==, 1); /* the record after the bad name still decodes */
    /* pointer forward, past the end */
    b->data[ptr_at + 1] = 0xff;
    g_assert_cmpint(nbns_decode(b->data, b->len, m), ==, NBNS_BAD_NAME);
    g_assert_cmpint(m->rr[0].name_status, ==, NBNAME_BAD_POINTER);
    /* pointer into the question's first label, whose bytes then run on
     * into the pointer again: must stop (strictly decreasing targets) */
    b->data[ptr_at + 1] = 13;
    nbns_decode(b->data, b->len, m);
    g_assert_cmpint(m->rr[0].name_status, !=, NBNAME_OK);
    g_byte_array_free(b, TRUE);

    /* a label, then a pointer back to that same label: a two-step loop */
    b = header(0x2910, 1, 0, 0);
    g_byte_array_append(b, (const uint8_t *)"\x01X\xc0\x0c", 4);
    put16(b, 0x20);
    put16(b, 1);
    g_assert_cmpint(nbns_decode(b->data, b->len, m), ==, NBNS_BAD_NAME);
    g_assert_cmpint(m->q[0].name_status, ==, NBNAME_BAD_POINTER);
    g_byte_array_free(b, TRUE);

    /* chain of pointers, each strictly backwards: fine */
    b = header(0x0000, 3, 0, 0);
    put_name(b, "A", 0);
    put16(b, 0x20);
    put16(b, 1);
    g_byte_array_append(b, (const uint8_t *)"\xc0\x0c", 2);  /* -> 12 */
    put16(b, 0x20);
    put16(b, 1);
    uint8_t p2[2] = { 0xc0, (uint8_t)(12 + 34 + 4) };        /* -> previous pointer */
    g_byte_array_append(b, p2, 2);
    put16(b, 0x20);
    put16(b, 1);
    g_assert_cmpint(nbns_decode(b->data, b->len, m), ==, NBNS_OK);
    g_assert_cmpuint(m->nq, ==, 3);
    g_assert_cmpuint(m->q[2].name.pointers, ==, 2);
    g_assert_cmpuint(m->q[2].name.suffix, ==, 0);
    g_byte_array_free(b, TRUE);
    g_free(m);
}

static void test_limits(void)
{
    struct nbns_msg *m = g_new0(struct nbns_msg, 1);
    /* node status with 70 names: 64 kept, 6 counted as dropped */
    GByteArray *b = header(0x8400, 0, 1, 0);
    put_name(b, "*", 0);
    b->data[12 + 1] = 'C'; /* '*' = 0x2a -> "CK" */
    b->data[12 + 2] = 'K';
    for (int i = 3; i <= 32; i++)
        b->data[12 + i] = 'A';
    put16(b, 0x21);
    put16(b, 1);
    put16(b, 0);
    put16(b, 0);
    put16(b, (uint16_t)(1 + 70 * 18 + 46));
    uint8_t count = 70;
    g_byte_array_append(b, &count, 1);
    for (int i = 0; i < 70; i++) {
        char name[16];
        snprintf(name, sizeof name, "N%-14d", i);
        g_byte_array_append(b, (const uint8_t *)name, 15);
        uint8_t sfx = 0x20;
        g_byte_array_append(b, &sfx, 1);
        put16(b, 0x0400);
    }
    static const uint8_t stats[46] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
    g_byte_array_append(b, stats, sizeof stats);
    g_assert_cmpint(nbns_decode(b->data, b->len, m), ==, NBNS_OK);
    g_assert_cmpuint(m->nnodes, ==, NBNS_MAX_NODE_NAMES);
    g_assert_cmpuint(m->rr[0].nodes_dropped, ==, 6);
    g_assert_cmpuint(m->rr[0].unit_id[5], ==, 0x55);
    g_assert_cmpint(memcmp(m->nodes[63].name, "N63 ", 4), ==, 0);
    char text[64];
    nbname_render(&m->rr[0].name, text, sizeof text);
    g_assert_cmpstr(text, ==, "*<00>");
    /* claims more names than the rdata holds */
    b->data[12 + 34 + 10] = 0xff;
    g_assert_cmpint(nbns_decode(b->data, b->len, m), ==, NBNS_BAD_RDATA);
    g_byte_array_free(b, TRUE);

    /* 20 questions: 16 kept, 4 counted */
    b = header(0x0000, 20, 0, 0);
    for (int i = 0; i < 20; i++) {
        put_name(b, "Q", (uint8_t)i);
        put16(b, 0x20);
        put16(b, 1);
    }
    g_assert_cmpint(nbns_decode(b->data, b->len, m), ==, NBNS_OK);
    g_assert_cmpuint(m->nq, ==, NBNS_MAX_QUESTIONS);
    g_assert_cmpuint(m->q_dropped, ==, 4);
    g_byte_array_free(b, TRUE);

    /* NB rdata not a multiple of 6 */
    b = header(0x8500, 0, 1, 0);
    put_name(b, "H", 0);
    put16(b, 0x20);
    put16(b, 1);
    put16(b, 0);
    put16(b, 0);
    put16(b, 5);
    g_byte_array_append(b, (const uint8_t *)"\x00\x00\x01\x02\x03", 5);
    g_assert_cmpint(nbns_decode(b->data, b->len, m), ==, NBNS_BAD_RDATA);
    g_byte_array_free(b, TRUE);

    g_assert_cmpstr(nbns_rcode_name(3), ==, "NAM_ERR name not found");
    g_assert_cmpstr(nbns_type_name(0x21), ==, "NBSTAT");
    g_assert_cmpstr(nbns_opcode_name(7), ==, "wait for acknowledgement");
    g_free(m);
}

static void test_nbds_made(void)
{
    struct nbds_msg m;
    /* error datagram */
    const uint8_t err[] = { 0x13, 0x02, 0x00, 0x01, 10, 0, 0, 1, 0, 138, 0x82 };
    g_assert_cmpint(nbds_decode(err, sizeof err, &m), ==, NBDS_OK);
    g_assert_cmpuint(m.error_code, ==, 0x82);
    g_assert_cmpstr(nbds_error_text(0x82), ==, "destination name not present");
    g_assert_cmpint(nbds_decode(err, sizeof err - 1, &m), ==, NBDS_TRUNCATED);
    /* unknown type */
    const uint8_t unk[] = { 0x20, 0x02, 0x00, 0x01, 10, 0, 0, 1, 0, 138 };
    g_assert_cmpint(nbds_decode(unk, sizeof unk, &m), ==, NBDS_UNKNOWN_TYPE);
    /* query request with a name */
    GByteArray *b = g_byte_array_new();
    g_byte_array_append(b, (const uint8_t *)"\x14\x02\x00\x09\x0a\x00\x00\x02\x00\x8a", 10);
    put_name(b, "SERVER", 0x20);
    g_assert_cmpint(nbds_decode(b->data, b->len, &m), ==, NBDS_OK);
    g_assert_cmpuint(m.dst.suffix, ==, 0x20);
    /* names in NBDS may not use compression pointers */
    b->data[10] = 0xc0;
    b->data[11] = 0x00;
    g_assert_cmpint(nbds_decode(b->data, b->len, &m), ==, NBDS_BAD_NAME);
    g_byte_array_free(b, TRUE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/nbns/real", test_nbns_real);
    g_test_add_func("/nbns/compression", test_compression);
    g_test_add_func("/nbns/limits", test_limits);
    g_test_add_func("/nbds/real", test_nbds_real);
    g_test_add_func("/nbds/made", test_nbds_made);
    return g_test_run();
}
