/* NBSS control messages (RFC 1002 4.3) and NetBIOS name decoding
 * (RFC 1001 14.1).  Real vectors: the first message of the stream files in
 * vectors/stream.tsv, expected names/codes from tshark's nbss fields;
 * malformed variants are derived from them by hand. */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "nb_test_util.h"
#include "nbss.h"

struct ctl_vec {
    char *file;
    GBytes *data;
    char *types, *called, *calling, *error;
};

static GPtrArray *load(void)
{
    GPtrArray *v = g_ptr_array_new();
    GPtrArray *rows = vector_rows("stream.tsv");
    for (guint i = 0; i < rows->len; i++) {
        char **c = g_ptr_array_index(rows, i);
        if (g_strv_length(c) >= 5 && c[1][0] == '8') { /* starts with a control message */
            struct ctl_vec *x = g_new0(struct ctl_vec, 1);
            x->file = g_strdup(c[0]);
            x->types = g_strdup(c[1]);
            x->called = g_strdup(c[2]);
            x->calling = g_strdup(c[3]);
            x->error = g_strdup(c[4]);
            x->data = vector_bytes(c[0]);
            g_ptr_array_add(v, x);
        }
    }
    g_ptr_array_unref(rows);
    return v;
}

static GPtrArray *vecs;

static void test_real_controls(void)
{
    unsigned requests = 0, negatives = 0, positives = 0;
    g_assert_cmpuint(vecs->len, >=, 4);
    for (guint i = 0; i < vecs->len; i++) {
        struct ctl_vec *x = g_ptr_array_index(vecs, i);
        gsize n;
        const uint8_t *d = g_bytes_get_data(x->data, &n);
        unsigned type, len;
        g_assert_cmpint(sscanf(x->types, "%x:%u", &type, &len), ==, 2);
        struct nbss_control c;
        enum nbss_status st = nbss_control_decode(d, 4 + len, &c);
        g_assert_cmpint(st, ==, NBSS_OK);
        g_assert_cmpuint(c.type, ==, type);
        g_assert_cmpuint(c.length, ==, len);
        if (type == NBSS_SESSION_REQUEST) {
            requests++;
            g_assert_cmpint(c.called_status, ==, NBNAME_OK);
            g_assert_cmpint(c.calling_status, ==, NBNAME_OK);
            assert_nbname(&c.called, x->called);
            assert_nbname(&c.calling, x->calling);
            /* every truncation is reported, never OK */
            for (size_t cut = 0; cut < 4 + len; cut++) {
                struct nbss_control t;
                g_assert_cmpint(nbss_control_decode(d, cut, &t), ==, NBSS_TRUNCATED);
            }
            /* one byte more than the names: bad length */
            uint8_t *big = g_malloc(4 + len + 1);
            memcpy(big, d, 4 + len);
            big[4 + len] = 0;
            big[3]++;
            g_assert_cmpint(nbss_control_decode(big, 4 + len + 1, &c), ==, NBSS_BAD_LENGTH);
            /* length one short: the calling name runs past it */
            big[3] -= 2;
            g_assert_cmpint(nbss_control_decode(big, 4 + len - 1, &c), ==, NBSS_BAD_LENGTH);
            /* a compression pointer is not allowed in NBSS */
            memcpy(big, d, 4 + len);
            big[4 + 34] = 0xc0;
            big[4 + 35] = 0x04;
            g_assert_cmpint(nbss_control_decode(big, 4 + len, &c), ==, NBSS_BAD_NAME);
            g_assert_cmpint(c.calling_status, ==, NBNAME_POINTER_NOT_ALLOWED);
            g_free(big);
        } else if (type == NBSS_NEGATIVE_RESPONSE) {
            negatives++;
            unsigned code;
            g_assert_cmpint(sscanf(x->error, "%x", &code), ==, 1);
            g_assert_cmpuint(c.error_code, ==, code);
            g_assert_nonnull(nbss_error_text(c.error_code));
        } else if (type == NBSS_POSITIVE_RESPONSE) {
            positives++;
        }
    }
    g_assert_cmpuint(requests, >=, 2);
    g_assert_cmpuint(negatives, >=, 1);
    g_assert_cmpuint(positives, >=, 1);
}

static void test_fixed_lengths(void)
{
    static const struct {
        const char *bytes;
        size_t n;
        enum nbss_status want;
    } cases[] = {
        { "\x85\x00\x00\x00", 4, NBSS_OK },
        { "\x85\x00\x00\x01\x00", 5, NBSS_BAD_LENGTH },
        { "\x82\x00\x00\x00", 4, NBSS_OK },
        { "\x82\x00\x00\x01\x00", 5, NBSS_BAD_LENGTH },
        { "\x82\x01\x00\x00", 4, NBSS_BAD_LENGTH },      /* E bit: length 65536 */
        { "\x82\x02\x00\x00", 4, NBSS_RESERVED_FLAGS },
        { "\x83\x00\x00\x01\x80", 5, NBSS_OK },
        { "\x83\x00\x00\x01", 4, NBSS_TRUNCATED },
        { "\x83\x00\x00\x00", 4, NBSS_BAD_LENGTH },
        { "\x83\x00\x00\x02\x80\x00", 6, NBSS_BAD_LENGTH },
        { "\x84\x00\x00\x06\xc0\xa8\x01\x02\x01\xbd", 10, NBSS_OK },
        { "\x84\x00\x00\x05\xc0\xa8\x01\x02\x01", 9, NBSS_BAD_LENGTH },
        { "\x84\x00\x00\x06\xc0\xa8", 6, NBSS_TRUNCATED },
        { "\x00\x00\x00\x00", 4, NBSS_NOT_CONTROL },
        { "\x86\x00\x00\x00", 4, NBSS_NOT_CONTROL },
        { "\x85\x00", 2, NBSS_TRUNCATED },
        { "", 0, NBSS_TRUNCATED },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        struct nbss_control c;
        enum nbss_status st = nbss_control_decode((const uint8_t *)cases[i].bytes, cases[i].n, &c);
        if (st != cases[i].want)
            g_error("case %zu: got %s want %s", i, nbss_status_text(st), nbss_status_text(cases[i].want));
    }
    struct nbss_control c;
    nbss_control_decode((const uint8_t *)"\x84\x00\x00\x06\xc0\xa8\x01\x02\x01\xbd", 10, &c);
    g_assert_cmphex(c.retarget_ipv4, ==, 0xc0a80102);
    g_assert_cmpuint(c.retarget_port, ==, 445);
    for (unsigned code = 0x80; code <= 0x83; code++)
        g_assert_nonnull(nbss_error_text((uint8_t)code));
    g_assert_cmpstr(nbss_error_text(0x82), ==, "called name not present");
    g_assert_null(nbss_error_text(0x42));
    g_assert_cmpint(nbss_control_fixed_length(0x84), ==, 6);
    g_assert_cmpint(nbss_control_fixed_length(0x81), ==, -1);
}

/* First-level encoding per RFC 1001 14.1: "FRED" + spaces, suffix 0x20. */
static GByteArray *encode_name(const char *name, uint8_t suffix, const char *scope)
{
    GByteArray *b = g_byte_array_new();
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
    if (scope) {
        char **labels = g_strsplit(scope, ".", -1);
        for (char **x = labels; *x; x++) {
            uint8_t ll = (uint8_t)strlen(*x);
            g_byte_array_append(b, &ll, 1);
            g_byte_array_append(b, (const uint8_t *)*x, ll);
        }
        g_strfreev(labels);
    }
    uint8_t z = 0;
    g_byte_array_append(b, &z, 1);
    return b;
}

static void test_names_and_rendering(void)
{
    /* RFC 1001 14.1 example: FRED -> EGFCEFEE... */
    GByteArray *b = encode_name("FRED", 0x20, NULL);
    g_assert_cmpint(memcmp(b->data + 1, "EGFCEFEECACACACACACACACACACACACA", 32), ==, 0);
    struct wire w = wire_make(b->data, b->len);
    struct nbname n;
    g_assert_cmpint(nbname_decode(&w, false, &n), ==, NBNAME_OK);
    g_assert_cmpuint(w.off, ==, 34);
    char text[NBNAME_RENDER_MAX];
    g_assert_cmpuint(nbname_render(&n, text, sizeof text), ==, 8);
    g_assert_cmpstr(text, ==, "FRED<20>");
    /* truncated buffers still NUL-terminate and report the needed size */
    char small[5];
    g_assert_cmpuint(nbname_render(&n, small, sizeof small), ==, 8);
    g_assert_cmpstr(small, ==, "FRED");
    g_byte_array_free(b, TRUE);

    /* scope */
    b = encode_name("WORKGROUP", 0x1c, "NETBIOS.COM");
    w = wire_make(b->data, b->len);
    g_assert_cmpint(nbname_decode(&w, false, &n), ==, NBNAME_OK);
    nbname_render(&n, text, sizeof text);
    g_assert_cmpstr(text, ==, "WORKGROUP<1c>.NETBIOS.COM");
    g_byte_array_free(b, TRUE);

    /* non-printable bytes escaped: \x01\x02__MSBROWSE__\x02<01> */
    b = encode_name("\x01\x02__MSBROWSE__\x02", 0x01, NULL);
    w = wire_make(b->data, b->len);
    g_assert_cmpint(nbname_decode(&w, false, &n), ==, NBNAME_OK);
    nbname_render(&n, text, sizeof text);
    g_assert_cmpstr(text, ==, "\\x01\\x02__MSBROWSE__\\x02<01>");
    g_byte_array_free(b, TRUE);

    /* wildcard */
    uint8_t wild[15] = { '*' };
    nbname_render_raw(wild, 0, text, sizeof text);
    g_assert_cmpstr(text, ==, "*<00>");

    /* suffix table */
    g_assert_cmpstr(nbname_suffix_meaning(0x20, false), ==, "file server");
    g_assert_cmpstr(nbname_suffix_meaning(0x1b, false), ==, "domain master browser");
    g_assert_cmpstr(nbname_suffix_meaning(0x1c, true), ==, "domain controllers");
    g_assert_cmpstr(nbname_suffix_meaning(0x1d, false), ==, "master browser");
    g_assert_cmpstr(nbname_suffix_meaning(0x1e, true), ==, "browser election");
    g_assert_cmpstr(nbname_suffix_meaning(0x00, false), ==, "workstation");
    g_assert_cmpstr(nbname_suffix_meaning(0x00, true), ==, "domain/workgroup name");
    g_assert_null(nbname_suffix_meaning(0x99, false));
}

static void test_malformed_names(void)
{
    struct nbname n;
    struct wire w;
    /* every truncation of a scoped name */
    GByteArray *b = encode_name("HOST", 0x00, "A.BB.CCC");
    for (size_t cut = 0; cut < b->len; cut++) {
        w = wire_make(b->data, cut);
        g_assert_cmpint(nbname_decode(&w, false, &n), ==, NBNAME_TRUNCATED);
        g_assert_false(wire_ok(&w));
    }
    g_byte_array_free(b, TRUE);

    /* bad encoding: 'Z' in the first label, decoded anyway and flagged */
    b = encode_name("HOST", 0x00, NULL);
    b->data[5] = 'Z';
    w = wire_make(b->data, b->len);
    g_assert_cmpint(nbname_decode(&w, false, &n), ==, NBNAME_BAD_ENCODING);
    g_assert_cmpuint(w.off, ==, 34);
    g_byte_array_free(b, TRUE);

    /* first label of 31 bytes */
    uint8_t odd[33] = { 31 };
    memset(odd + 1, 'A', 31);
    odd[32] = 0;
    w = wire_make(odd, sizeof odd);
    g_assert_cmpint(nbname_decode(&w, false, &n), ==, NBNAME_BAD_LENGTH);
    g_assert_cmpuint(w.off, ==, 33);

    /* scope making the name longer than 255 bytes */
    GString *scope = g_string_new(NULL);
    for (int i = 0; i < 5; i++)
        g_string_append(scope, i ? ".0123456789012345678901234567890123456789012345" : "0123456789012345678901234567890123456789012345");
    b = encode_name("HOST", 0x00, scope->str); /* 34 + 5*47 + 1 = 270 */
    w = wire_make(b->data, b->len);
    g_assert_cmpint(nbname_decode(&w, false, &n), ==, NBNAME_TOO_LONG);
    g_byte_array_free(b, TRUE);
    g_string_free(scope, TRUE);

    /* reserved label types 0x40 and 0x80 */
    b = encode_name("HOST", 0x00, "X");
    b->data[33] = 0x41;
    w = wire_make(b->data, b->len);
    g_assert_cmpint(nbname_decode(&w, false, &n), ==, NBNAME_BAD_LABEL_TYPE);
    b->data[33] = 0x81;
    w = wire_make(b->data, b->len);
    g_assert_cmpint(nbname_decode(&w, false, &n), ==, NBNAME_BAD_LABEL_TYPE);
    g_byte_array_free(b, TRUE);

    /* empty name */
    w = wire_make((const uint8_t *)"", 1);
    g_assert_cmpint(nbname_decode(&w, false, &n), ==, NBNAME_BAD_LENGTH);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    vecs = load();
    g_test_add_func("/nbss/real-controls", test_real_controls);
    g_test_add_func("/nbss/fixed-lengths", test_fixed_lengths);
    g_test_add_func("/nbname/names-and-rendering", test_names_and_rendering);
    g_test_add_func("/nbname/malformed", test_malformed_names);
    int rc = g_test_run();
    for (guint i = 0; i < vecs->len; i++) {
        struct ctl_vec *x = g_ptr_array_index(vecs, i);
        g_free(x->file);
        g_free(x->types);
        g_free(x->called);
        g_free(x->calling);
        g_free(x->error);
        g_bytes_unref(x->data);
        g_free(x);
    }
    g_ptr_array_free(vecs, TRUE);
    return rc;
}
