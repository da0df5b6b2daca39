/* libFuzzer harness: capture bytes (pcap, pcapng, gzip of either) through
 * the whole smbscope pipeline to both reports.
 *
 * The input is written to a memfd and read back through its /proc/self/fd
 * path, so the capture layer runs exactly as for a file (its own fd, fstat,
 * read-ahead, gzip detection): no test-only entry point in capture.c.
 *
 * The input length picks the configuration (so seeds stay valid captures):
 * size % 4 == 1 or 3: --no-fast-path; size % 4 >= 2: tiny caps (4
 * connections, 4 KiB of out-of-order data per direction, 2 KiB PDUs), so
 * the cap paths run as often as the normal ones.
 *
 * Invariants checked on every input (abort() = a finding):
 *  - the JSON report parses (a small strict validator below), is UTF-8,
 *    and carries no raw control byte;
 *  - the text report (no colour) is UTF-8 with no control byte but '\n'
 *    (wire strings must be escaped: no ESC reaches a terminal);
 *  - size % 8 >= 4: the JSON report carries merge_state (--merge-state), and
 *    smbscope merge's reader takes it back: its digest verifies and it folds
 *    into a fresh analysis without an error (what a run writes, merge reads);
 *  - analysis_free() leaves nothing behind (LeakSanitizer). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create, open_memstream */
#endif
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <glib.h>

#include "analysis.h"
#include "distinct.h"
#include "mstate.h"
#include "options.h"
#include "report.h"
#include "verdict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* ---- a strict JSON validator (RFC 8259), depth-limited ---- */

struct jv {
    const char *p, *end;
    int depth;
};

static void jv_ws(struct jv *v)
{
    while (v->p < v->end && (*v->p == ' ' || *v->p == '\n' || *v->p == '\t' || *v->p == '\r'))
        v->p++;
}

static bool jv_lit(struct jv *v, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(v->end - v->p) < n || memcmp(v->p, lit, n) != 0)
        return false;
    v->p += n;
    return true;
}

static bool jv_string(struct jv *v)
{
    if (v->p >= v->end || *v->p != '"')
        return false;
    v->p++;
    while (v->p < v->end) {
        unsigned char c = (unsigned char)*v->p++;
        if (c == '"')
            return true;
        if (c < 0x20)
            return false;
        if (c == '\\') {
            if (v->p >= v->end)
                return false;
            char e = *v->p++;
            if (e == 'u') {
                for (int i = 0; i < 4; i++, v->p++)
                    if (v->p >= v->end || !g_ascii_isxdigit(*v->p))
                        return false;
            } else if (!strchr("\"\\/bfnrt", e) || e == '\0') {
                return false;
            }
        }
    }
    return false;
}

static bool jv_number(struct jv *v)
{
    const char *s = v->p;
    if (v->p < v->end && *v->p == '-')
        v->p++;
    if (v->p >= v->end || !g_ascii_isdigit(*v->p))
        return false;
    if (*v->p == '0')
        v->p++;
    else
        while (v->p < v->end && g_ascii_isdigit(*v->p))
            v->p++;
    if (v->p < v->end && *v->p == '.') {
        v->p++;
        if (v->p >= v->end || !g_ascii_isdigit(*v->p))
            return false;
        while (v->p < v->end && g_ascii_isdigit(*v->p))
            v->p++;
    }
    if (v->p < v->end && (*v->p == 'e' || *v->p == 'E')) {
        v->p++;
        if (v->p < v->end && (*v->p == '+' || *v->p == '-'))
            v->p++;
        if (v->p >= v->end || !g_ascii_isdigit(*v->p))
            return false;
        while (v->p < v->end && g_ascii_isdigit(*v->p))
            v->p++;
    }
    return v->p > s;
}

static bool jv_value(struct jv *v);

static bool jv_container(struct jv *v, char open, char close, bool object)
{
    if (++v->depth > 64)
        return false;
    v->p++; /* open */
    (void)open;
    jv_ws(v);
    if (v->p < v->end && *v->p == close) {
        v->p++;
        v->depth--;
        return true;
    }
    for (;;) {
        jv_ws(v);
        if (object) {
            if (!jv_string(v))
                return false;
            jv_ws(v);
            if (v->p >= v->end || *v->p++ != ':')
                return false;
        }
        if (!jv_value(v))
            return false;
        jv_ws(v);
        if (v->p >= v->end)
            return false;
        char c = *v->p++;
        if (c == close)
            break;
        if (c != ',')
            return false;
    }
    v->depth--;
    return true;
}

static bool jv_value(struct jv *v)
{
    jv_ws(v);
    if (v->p >= v->end)
        return false;
    switch (*v->p) {
    case '{': return jv_container(v, '{', '}', true);
    case '[': return jv_container(v, '[', ']', false);
    case '"': return jv_string(v);
    case 't': return jv_lit(v, "true");
    case 'f': return jv_lit(v, "false");
    case 'n': return jv_lit(v, "null");
    default: return jv_number(v);
    }
}

static void check_json(const char *buf, size_t len)
{
    if (!g_utf8_validate(buf, (gssize)len, NULL))
        abort();
    struct jv v = { buf, buf + len, 0 };
    if (!jv_value(&v))
        abort();
    jv_ws(&v);
    if (v.p != v.end)
        abort();
}

static void check_text(const char *buf, size_t len)
{
    if (!g_utf8_validate(buf, (gssize)len, NULL))
        abort();
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        if ((c < 0x20 && c != '\n') || c == 0x7f)
            abort();
    }
    /* C1 controls (U+0080..U+009F) act as escapes on some terminals too */
    for (size_t i = 0; i + 1 < len; i++)
        if ((unsigned char)buf[i] == 0xC2 && (unsigned char)buf[i + 1] >= 0x80 && (unsigned char)buf[i + 1] <= 0x9F)
            abort();
}

/* ---- the harness ---- */

static int memfd = -1;
static char memfd_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* A fixed process key (distinct.h), not one drawn per process: the
     * tables' slots, and so the paths an input takes, the same in every
     * run, so that check.sh's -seed=1 makes a repeatable run and a finding
     * replays. */
    distinct_process_key_set(UINT64_C(0x9E3779B97F4A7C15));
    memfd = memfd_create("fuzz-capture", MFD_CLOEXEC);
    if (memfd < 0)
        abort();
    snprintf(memfd_path, sizeof memfd_path, "/proc/self/fd/%d", memfd);
    return 0;
}

static void load(const uint8_t *data, size_t size)
{
    if (ftruncate(memfd, 0) != 0)
        abort();
    size_t done = 0;
    while (done < size) {
        ssize_t n = pwrite(memfd, data + done, size - done, (off_t)done);
        if (n <= 0)
            abort();
        done += (size_t)n;
    }
}

/* The merge state of a report goes back in (see the header). */
static void check_merge_state(const char *json, size_t len, const struct config *cfg)
{
    JsonParser *p = json_parser_new_immutable();
    if (!json_parser_load_from_data(p, json, (gssize)len, NULL))
        abort();
    JsonObject *top = json_node_get_object(json_parser_get_root(p));
    JsonObject *ms = json_object_get_object_member(top, "merge_state");
    if (!ms)
        abort();
    JsonNode *state = json_object_get_member(ms, "state"), *detail = json_object_get_member(top, "connections");
    char digest[MSTATE_DIGEST_LEN + 1];
    mstate_digest(state, detail, MSTATE_FORMAT, digest);
    if (strcmp(digest, json_object_get_string_member(ms, "digest")) != 0)
        abort();
    struct analysis b;
    char err[512];
    if (!analysis_init(&b, cfg, err, sizeof err) || !mstate_fold(&b, state, detail, err, sizeof err)) {
        fprintf(stderr, "merge state not read back: %s\n", err);
        abort();
    }
    analysis_free(&b);
    g_object_unref(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load(data, size);

    char *inputs[2] = { memfd_path, NULL };
    struct config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.inputs = inputs;
    cfg.n_inputs = 1;
    cfg.quiet = true;
    cfg.policy = policy_default();
    cfg.no_fast_path = (size & 1) != 0;
    cfg.merge_state = (size & 4) != 0;
    if (size & 2) {
        cfg.max_connections = 4;
        cfg.reasm_dir_cap = 4096;
        cfg.reasm_total_cap = 8192;
        cfg.pdu_cap = 2048;
    }

    struct analysis a;
    char err[256];
    if (!analysis_init(&a, &cfg, err, sizeof err))
        abort();
    analysis_run_input(&a, memfd_path);
    analysis_finish(&a);
    struct verdict v;
    verdict_compute(&v, &a, &cfg.policy);
    if (v.exit_code < 0 || v.exit_code > 3) /* 0 pass, 1 fail, 2 error, 3 inconclusive */
        abort();

    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        abort();
    report_json(m, &a, &v);
    fclose(m);
    check_json(buf, len);
    if (cfg.merge_state)
        check_merge_state(buf, len, &cfg);
    free(buf);

    m = open_memstream(&buf, &len);
    if (!m)
        abort();
    report_text(m, &a, &v, false);
    fclose(m);
    check_text(buf, len);
    free(buf);

    verdict_free(&v);
    analysis_free(&a);
    return 0;
}
