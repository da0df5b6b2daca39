/* JSON writer and terminal escaping: wire bytes of any kind must give valid
 * JSON (RFC 8259) and text with no control bytes; the merge state writer's
 * canonical text and record selection. */
#include <arpa/inet.h>
#include <glib.h>
#include <string.h>

#include "fmt.h"
#include "json.h"
#include "mstate_canon.h"
#include "mstate_select.h"

static char *json_of(void (*build)(struct json *))
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct json j;
    json_init(&j, f, false);
    build(&j);
    fclose(f);
    return buf;
}

static void build_nested(struct json *j)
{
    json_begin_object(j);
    json_kstr(j, "a", "x");
    json_key(j, "list");
    json_begin_array(j);
    json_uint(j, 1);
    json_int(j, -2);
    json_bool(j, true);
    json_null(j);
    json_begin_object(j);
    json_end_object(j);
    json_end_array(j);
    json_key(j, "empty");
    json_begin_array(j);
    json_end_array(j);
    json_end_object(j);
}

static void test_json_nesting(void)
{
    char *s = json_of(build_nested);
    g_assert_cmpstr(s, ==, "{\"a\":\"x\",\"list\":[1,-2,true,null,{}],\"empty\":[]}");
    free(s);
}

static void build_hostile(struct json *j)
{
    static const uint8_t bytes[] = { 'A', '"', '\\', '\n', 0x01, 0x1b, '[', '2', 'J', 0x7f, 0xff, 0xc3, 0xa9, 0xed, 0xa0, 0x80, 0xe2, 0x82 };
    json_begin_array(j);
    json_str_bytes(j, bytes, sizeof bytes);
    json_str(j, NULL);
    json_end_array(j);
}

static void test_json_escaping(void)
{
    char *s = json_of(build_hostile);
    /* quote, backslash, newline, C0, ESC, DEL escaped; 0xff, a surrogate
     * (ed a0 80) and a cut sequence (e2 82) replaced; é (c3 a9) kept. */
    g_assert_cmpstr(s, ==, "[\"A\\\"\\\\\\n\\u0001\\u001b[2J\\u007f\\ufffd\xc3\xa9\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\",null]");
    g_assert_true(g_utf8_validate(s, -1, NULL));
    free(s);
}

/* The writer skips plain text eight bytes at a time: each byte that needs
 * care, at every position of strings of 1 to 20 bytes (in and across the
 * 8-byte steps, and in the padded last word), is still escaped exactly as
 * alone, and the plain bytes kept. */
static const uint8_t *probe_bytes;
static size_t probe_len;
static void build_probe(struct json *j) { json_str_bytes(j, probe_bytes, probe_len); }

static void test_json_escaping_positions(void)
{
    static const struct {
        uint8_t c;
        const char *out;
    } cases[] = { { 0x00, "\\u0000" }, { 0x1f, "\\u001f" }, { '"', "\\\"" }, { '\\', "\\\\" },
                  { 0x7f, "\\u007f" }, { 0x80, "\\ufffd" }, { 0xff, "\\ufffd" }, { 0x20, " " }, { 0x7e, "~" },
                  { '\n', "\\n" } };
    /* every length up to 20: the last bytes of a string are tested as one
     * padded word */
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        for (size_t len = 1; len <= 20; len++)
        for (size_t pos = 0; pos < len; pos++) {
            uint8_t in[20];
            memset(in, 'a', sizeof in);
            in[pos] = cases[k].c;
            probe_bytes = in;
            probe_len = len;
            char *got = json_of(build_probe);
            GString *want = g_string_new("\"");
            for (size_t i = 0; i < len; i++)
                g_string_append(want, i == pos ? cases[k].out : "a");
            g_string_append_c(want, '"');
            g_assert_cmpstr(got, ==, want->str);
            g_string_free(want, TRUE);
            free(got);
        }
}

/* Keys are tested whole with overlapping words (all_plain in json.c): a byte
 * that needs care at every position of keys of 1 to 70 bytes (under and
 * over the short path's 64) is escaped as in a value. */
static const char *probe_key;
static void build_key_probe(struct json *j)
{
    json_begin_object(j);
    json_kuint(j, probe_key, 1);
    json_end_object(j);
}

static void test_json_key_positions(void)
{
    static const struct {
        char c;
        const char *out;
    } cases[] = { { 0x1f, "\\u001f" }, { '"', "\\\"" }, { '\\', "\\\\" }, { 0x7f, "\\u007f" },
                  { (char)0x80, "\\ufffd" }, { (char)0xff, "\\ufffd" }, { 0x20, " " }, { 0x7e, "~" },
                  { '\n', "\\n" } };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        for (size_t len = 1; len <= 70; len++)
            for (size_t pos = 0; pos < len; pos++) {
                char key[71];
                memset(key, 'k', len);
                key[len] = '\0';
                key[pos] = cases[k].c;
                probe_key = key;
                char *got = json_of(build_key_probe);
                GString *want = g_string_new("{\"");
                for (size_t i = 0; i < len; i++)
                    g_string_append(want, i == pos ? cases[k].out : "k");
                g_string_append(want, "\":1}");
                g_assert_cmpstr(got, ==, want->str);
                g_string_free(want, TRUE);
                free(got);
            }
}

/* Keys take a short path when plain; one that needs escaping still gets it. */
static void build_keys(struct json *j)
{
    json_begin_object(j);
    json_kuint(j, "plain_key", 1);
    json_kuint(j, "quo\"te", 2);
    json_kuint(j, "new\nline", 3);
    json_end_object(j);
}

static void test_json_keys(void)
{
    char *s = json_of(build_keys);
    g_assert_cmpstr(s, ==, "{\"plain_key\":1,\"quo\\\"te\":2,\"new\\nline\":3}");
    free(s);
}

static void test_escape_text(void)
{
    static const uint8_t bytes[] = { 'N', 'A', 'M', 'E', 0x1b, ']', '0', ';', 'x', 0x07, '\\', 0xc2, 0x9b, 0xc3, 0xa9 };
    char buf[128];
    fmt_escaped_buf(bytes, sizeof bytes, buf, sizeof buf);
    /* ESC, BEL and the C1 CSI (c2 9b) escaped; backslash and é kept. */
    g_assert_cmpstr(buf, ==, "NAME\\x1b]0;x\\x07\\\\xc2\\x9b\xc3\xa9");
    char tiny[6];
    fmt_escaped_buf(bytes + 4, 3, tiny, sizeof tiny);
    g_assert_cmpstr(tiny, ==, "\\x1b]"); /* never half an escape */
}

static void test_time_and_addr(void)
{
    char t[FMT_TIME_LEN];
    g_assert_cmpstr(fmt_time(0, t), ==, "1970-01-01T00:00:00.000000Z");
    g_assert_cmpstr(fmt_time(1700000000123456LL, t), ==, "2023-11-14T22:13:20.123456Z");
    g_assert_cmpstr(fmt_time(-1, t), ==, "1969-12-31T23:59:59.999999Z");
    /* the day's date is reused from the previous call: same day, the next
     * day, back again, and the last second of a day */
    g_assert_cmpstr(fmt_time(1700000000123456LL, t), ==, "2023-11-14T22:13:20.123456Z");
    g_assert_cmpstr(fmt_time(1700006399999999LL, t), ==, "2023-11-14T23:59:59.999999Z");
    g_assert_cmpstr(fmt_time(1700006400000000LL, t), ==, "2023-11-15T00:00:00.000000Z");
    g_assert_cmpstr(fmt_time(1699920000000001LL, t), ==, "2023-11-14T00:00:00.000001Z");
    g_assert_cmpstr(fmt_time(1699920000000001LL + 3723000000LL, t), ==, "2023-11-14T01:02:03.000001Z");
    char a[FMT_ADDR_LEN];
    struct ip_addr v4 = { 4, { 10, 213, 0, 1 } };
    struct ip_addr v6 = { 6, { 0xfd, 0, 2, 0x13, [15] = 1 } };
    struct ip_addr none = { 0, { 0 } };
    g_assert_cmpstr(fmt_addr(&v4, a), ==, "10.213.0.1");
    g_assert_cmpstr(fmt_addr(&v6, a), ==, "fd00:213::1");
    g_assert_cmpstr(fmt_addr(&none, a), ==, "-");
    /* IPv4 is formatted without inet_ntop: every octet value as it writes it */
    for (unsigned v = 0; v < 256; v++) {
        struct ip_addr x = { 4, { (uint8_t)v, (uint8_t)(255 - v), 0, (uint8_t)(v * 7) } };
        char want[INET_ADDRSTRLEN];
        g_assert_nonnull(inet_ntop(AF_INET, x.bytes, want, sizeof want));
        g_assert_cmpstr(fmt_addr(&x, a), ==, want);
    }
    char e[FMT_ENDPOINT_LEN];
    g_assert_cmpstr(fmt_endpoint(&v4, 445, e), ==, "10.213.0.1:445");
    g_assert_cmpstr(fmt_endpoint(&v6, 65535, e), ==, "[fd00:213::1]:65535");
    g_assert_cmpstr(fmt_endpoint(&v4, 0, e), ==, "10.213.0.1:0");
    struct ip_addr v6long = { 6, { 0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x11, 0x22,
                                   0x33, 0x44 } };
    g_assert_cmpstr(fmt_endpoint(&v6long, 8445, e), ==, "[2001:db8:1234:5678:9abc:def0:1122:3344]:8445");
}

/* Canonical mode (json.h) is the text json-glib's parse of the normal text
 * gives back through mstate_put_node(): the merge state's writer hashes the
 * one, merge the other, so any difference is a report merge refuses.  Wire
 * strings of every kind (NUL, controls, DEL, invalid and valid UTF-8, quote
 * and backslash) and unsigned values past INT64_MAX. */
static void canon_values(struct json *j, const uint8_t *s, size_t n, uint64_t u, int64_t i)
{
    json_begin_object(j);
    json_key(j, "s");
    json_str_bytes(j, s, n);
    json_kuint(j, "u", u);
    json_kint(j, "i", i);
    json_key(j, "a");
    json_begin_array(j);
    json_str_bytes(j, s, n);
    json_uint(j, u);
    json_end_array(j);
    json_end_object(j);
}

static char *canon_text(const uint8_t *s, size_t n, uint64_t u, int64_t i, bool canonical, bool pretty)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct json j;
    json_init(&j, f, pretty);
    json_set_canonical(&j, canonical);
    canon_values(&j, s, n, u, i);
    json_flush(&j);
    fclose(f);
    return buf;
}

static char *reparsed(const char *text)
{
    JsonParser *p = json_parser_new_immutable();
    g_assert_true(json_parser_load_from_data(p, text, -1, NULL));
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct json j;
    json_init(&j, f, false);
    mstate_put_node(&j, json_parser_get_root(p));
    json_flush(&j);
    fclose(f);
    g_object_unref(p);
    return buf;
}

static void test_json_canonical(void)
{
    static const uint8_t alphabet[] = { 0x00, 0x01, 0x08, 0x0a, 0x1f, 0x7f, '"', '\\', '/', 'a', ' ', 0x80, 0xbf, 0xc0,
                                        0xc2, 0xc3, 0xa9, 0xe0, 0xa0, 0xed, 0xef, 0xbf, 0xbd, 0xf0, 0x90, 0xf4, 0x8f,
                                        0xf5, 0xfe, 0xff };
    static const uint64_t unsigned_values[] = { 0, 1, INT64_MAX, (uint64_t)INT64_MAX + 1, 10000000000000000000u,
                                                UINT64_MAX };
    GRand *r = g_rand_new_with_seed(13);
    uint8_t s[48];
    int differ = 0;
    for (int round = 0; round < 3000; round++) {
        size_t n = (size_t)g_rand_int_range(r, 0, (gint32)sizeof s);
        for (size_t k = 0; k < n; k++)
            s[k] = g_rand_boolean(r) ? alphabet[g_rand_int_range(r, 0, (gint32)sizeof alphabet)]
                                     : (uint8_t)g_rand_int_range(r, 0, 256);
        uint64_t u = round % 2 ? unsigned_values[round / 2 % G_N_ELEMENTS(unsigned_values)]
                               : ((uint64_t)g_rand_int(r) << 32 | g_rand_int(r));
        int64_t i = (int64_t)((uint64_t)g_rand_int(r) << 32 | g_rand_int(r));
        char *normal = canon_text(s, n, u, i, false, round % 3 == 0); /* the report's text, pretty or compact */
        char *want = reparsed(normal);
        char *got = canon_text(s, n, u, i, true, false);
        g_assert_cmpstr(got, ==, want);
        differ += strcmp(normal, want) != 0 && round % 3 != 0;
        g_free(normal);
        free(want);
        free(got);
    }
    g_assert_cmpint(differ, >, 100); /* the cases where the normal text is not canonical were reached */
    g_rand_free(r);
}

/* mstate_select() keeps the set a full sort keeps (the merge state's capped
 * hosts and SYN pairs must not depend on how they were chosen): random,
 * sorted, reversed and organ-pipe orders, every k around the small-range
 * cut-over and the boundaries. */
struct sel_item {
    uint32_t key;
    uint32_t id;
};

static int sel_cmp(const void *pa, const void *pb)
{
    const struct sel_item *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

/* 1 sorted, 2 reversed, 3 organ pipe */
static uint32_t shape_key(int shape, size_t i, size_t n)
{
    return (uint32_t)(shape == 1 ? i : shape == 2 ? n - i : i < n / 2 ? i : n - i);
}

static void test_mstate_select(void)
{
    GRand *r = g_rand_new_with_seed(2026);
    const size_t sizes[] = { 0, 1, 2, 17, 100, 5000 };
    for (size_t si = 0; si < G_N_ELEMENTS(sizes); si++) {
        size_t n = sizes[si];
        struct sel_item *v = g_new(struct sel_item, n + 1), *sorted = g_new(struct sel_item, n + 1);
        for (int shape = 0; shape < 4; shape++) {
            for (size_t i = 0; i < n; i++) {
                uint32_t key = shape == 0 ? (uint32_t)g_rand_int_range(r, 0, 50) /* many equal keys */
                                          : shape_key(shape, i, n);
                sorted[i] = (struct sel_item){ key, (uint32_t)i };
            }
            qsort(sorted, n, sizeof *sorted, sel_cmp);
            const size_t ks[] = { 0, 1, 15, 16, 17, n / 3, n / 2, n > 0 ? n - 1 : 0, n, n + 1 };
            for (size_t ki = 0; ki < G_N_ELEMENTS(ks); ki++) {
                size_t k = ks[ki];
                for (size_t i = 0; i < n; i++) /* the shape's order; shape 0 shuffled */
                    v[i] = shape == 0 ? sorted[i] : (struct sel_item){ shape_key(shape, i, n), (uint32_t)i };
                for (size_t i = n; shape == 0 && i > 1; i--) {
                    size_t j = (size_t)g_rand_int_range(r, 0, (gint32)i);
                    struct sel_item t = v[i - 1];
                    v[i - 1] = v[j];
                    v[j] = t;
                }
                mstate_select(v, n, sizeof *v, k, sel_cmp);
                size_t kept = k < n ? k : n;
                qsort(v, kept, sizeof *v, sel_cmp);
                g_assert_cmpmem(v, kept * sizeof *v, sorted, kept * sizeof *v);
                qsort(v + kept, n - kept, sizeof *v, sel_cmp); /* the rest is the rest */
                g_assert_cmpmem(v + kept, (n - kept) * sizeof *v, sorted + kept, (n - kept) * sizeof *v);
            }
        }
        g_free(v);
        g_free(sorted);
    }
    g_rand_free(r);
}

/* mstate_select()'s work is linear on the orders real input has (sorted,
 * reversed, organ pipe, shuffled, and each of them after a first
 * selection): a pivot chosen badly round after round ran out of rounds and
 * sorted half of 20,100 host views.  Counted in comparisons, not timed. */
static unsigned long sel_compares;

static int sel_cmp_counted(const void *pa, const void *pb)
{
    sel_compares++;
    return sel_cmp(pa, pb);
}

static void test_mstate_select_linear(void)
{
    const size_t n = 20100;
    struct sel_item *v = g_new(struct sel_item, n);
    GRand *r = g_rand_new_with_seed(13);
    for (int shape = 0; shape < 4; shape++) {
        const size_t ks[] = { 2048, n / 2, n - 100 };
        for (size_t ki = 0; ki < G_N_ELEMENTS(ks); ki++) {
            for (size_t i = 0; i < n; i++)
                v[i] = (struct sel_item){ shape == 0 ? (uint32_t)g_rand_int(r) : shape_key(shape, i, n), (uint32_t)i };
            for (int again = 0; again < 2; again++) { /* the second on the order the first left */
                sel_compares = 0;
                mstate_select(v, n, sizeof *v, ks[ki], sel_cmp_counted);
                if (sel_compares > 6 * n)
                    g_error("shape %d k %zu round %d: %lu comparisons for %zu records", shape, ks[ki], again,
                            sel_compares, n);
            }
        }
    }
    g_rand_free(r);
    g_free(v);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/json/nesting", test_json_nesting);
    g_test_add_func("/mstate/select-linear", test_mstate_select_linear);
    g_test_add_func("/json/escaping", test_json_escaping);
    g_test_add_func("/json/escaping-positions", test_json_escaping_positions);
    g_test_add_func("/json/keys", test_json_keys);
    g_test_add_func("/json/key-positions", test_json_key_positions);
    g_test_add_func("/json/canonical", test_json_canonical);
    g_test_add_func("/mstate/select", test_mstate_select);
    g_test_add_func("/fmt/escape", test_escape_text);
    g_test_add_func("/fmt/time-addr", test_time_and_addr);
    return g_test_run();
}
