/* leaf_split.c - see leaf_split.h.
 *
 * One pass over the bytes: the depth/members scan of merge.c's nesting()
 * (its offsets are the whole text's), and around it the leaf's own shape,
 * read only at depths 0 and 1 (the keys "state" and "connections", the
 * array's commas); inside a piece only the scan runs, and it counts the
 * piece's values as its commas and openings (a tree of n values is about n
 * nodes: what bounds an entry's tree is that count, not its text). */
#include "leaf_split.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum phase {
    P_OPEN,       /* before the leaf's '{' */
    P_KEY1,       /* before its first key */
    P_KEY1_IN,    /* inside it */
    P_COLON1,
    P_SVAL,       /* before S's '{' */
    P_STATE,      /* inside S */
    P_COMMA1,     /* after S */
    P_KEY2,
    P_KEY2_IN,
    P_COLON2,
    P_ARR,        /* before connections' '[' */
    P_FIRST,      /* after '[': an entry or ']' */
    P_NEXT,       /* after ',': an entry */
    P_ENTRY,      /* inside an entry */
    P_AFTER,      /* after an entry: ',' or ']' */
    P_CLOSE,      /* after ']': the leaf's '}' */
    P_DONE,       /* after it: whitespace only */
    P_STOP,       /* after a shape or JSON error: the scan only */
    P_DEAD,       /* after the scan's error: nothing */
};

static const char not_json[] = "zlib: its text is not JSON"; /* a packed leaf's (leaf_split_init()) */
static const char not_leaf[] = "not {state, connections}";

void leaf_split_init(struct leaf_split *s, leaf_piece_fn fn, void *ctx)
{
    memset(s, 0, sizeof *s);
    s->fn = fn;
    s->ctx = ctx;
    s->phase = P_OPEN;
    s->not_json = not_json;
}

void leaf_split_free(struct leaf_split *s)
{
    free(s->buf);
    s->buf = NULL;
    s->buf_len = s->buf_cap = 0;
}

static void shape_fail(struct leaf_split *s, const char *why)
{
    if (!s->shape_err[0])
        snprintf(s->shape_err, sizeof s->shape_err, "%s", why);
    s->phase = P_STOP;
    leaf_split_free(s);
}

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* One byte through the depth/members scan (nesting()); false at its error. */
static bool scan(struct leaf_split *s, char c, size_t off)
{
    if (s->in_str) {
        if (s->escaped)
            s->escaped = false;
        else if (c == '\\')
            s->escaped = true;
        else if (c == '"')
            s->in_str = false;
    } else if (c == '"') {
        s->in_str = true;
    } else if (c == '{' || c == '[') {
        if (++s->depth > MERGE_MAX_DEPTH) {
            snprintf(s->nest_err, sizeof s->nest_err, "offset %zu: nested deeper than %d: not a report smbscope writes",
                     off, MERGE_MAX_DEPTH);
            return false;
        }
        s->object[s->depth] = c == '{';
        s->members[s->depth] = 0;
    } else if (c == '}' || c == ']') {
        s->depth -= s->depth > 0;
    } else if (c == ':' && s->depth > 0 && s->object[s->depth] && ++s->members[s->depth] > MERGE_MAX_MEMBERS) {
        snprintf(s->nest_err, sizeof s->nest_err, "offset %zu: an object of more than %d members: not a report "
                 "smbscope writes", off, MERGE_MAX_MEMBERS);
        return false;
    }
    return true;
}

static void hold(struct leaf_split *s, const char *p, size_t n)
{
    if (s->buf_len + n > s->buf_cap) {
        size_t cap = s->buf_cap ? s->buf_cap : 4096;
        while (cap < s->buf_len + n)
            cap *= 2;
        char *b = realloc(s->buf, cap);
        if (!b)
            abort(); /* as g_malloc: out of memory is fatal everywhere in smbscope */
        s->buf = b;
        s->buf_cap = cap;
    }
    memcpy(s->buf + s->buf_len, p, n);
    s->buf_len += n;
}

/* The piece that ended at p[end - 1] (its first bytes held when it began in
 * an earlier chunk) to the consumer. */
static void hand_on(struct leaf_split *s, const char *p, size_t from, size_t end, enum leaf_piece kind)
{
    const char *text = p + from;
    size_t len = end - from;
    if (s->buf_len) {
        hold(s, p + from, end - from);
        text = s->buf;
        len = s->buf_len;
    }
    enum leaf_took r = s->fn(s->ctx, kind, text, len);
    s->buf_len = 0;
    if (r == LEAF_NOT_JSON)
        shape_fail(s, s->not_json);
    else if (r == LEAF_FAILED)
        s->consumer_failed = true;
}

/* ---- the state's members, counted before the state is parsed ----------
 * What the reader's caps (jget_arr()) refuse is seen only after json-glib
 * has built the whole tree; the same bounds on the text come first.  Each
 * member may hold what its cap lets it: the large ones here (the reader's
 * caps times a row's values, with room for fields a row may gain), the
 * integer arrays of one number an edge or a tail at their readers' cap
 * (ANALYSIS_MAX_EDGES, plus one so that the reader's own error names the
 * count: as one json-glib tree, about 90 bytes a value, the default would
 * let each hold 46 MB), any other LEAF_STATE_MEMBER_VALUES; members the
 * reader does not know share
 * LEAF_STATE_MEMBER_VALUES in all.  (A state smbscope writes at its
 * default caps holds about 100,000 values: a 20,000-connection run.) */
static const struct {
    const char *name;
    uint64_t values;
} big_members[] = {
    { "inputs", 65536ull * 64 },                /* MAX_INPUTS (mstate_read.c) inputs of 22 values */
    { "census", 32768ull * 64 + 131072 },        /* CENSUS_MAX_PAIRS pairs of 16; DNS keys, sets */
    { "netbios", 2048ull * 256 + 16 * 4096 },    /* MSTATE_NB_ROWS_CAP rows (up to 32 names), sets */
    { "groups", (1ull << 20) * 128 },           /* MAX_GROUPS (mstate_conns.c) rows of 58 */
    { "group_closes", (1ull << 20) + 1 },
    { "groups_past", (1ull << 20) * 128 * 2 }, /* groups and their closes (mstate_groups_past.h) */
    { "end_close_ranks", (1ull << 22) + 1 },    /* MSTATE_END_CLOSES_MAX */
    { "smb_hosts", (1ull << 20) * 32 + 64 },    /* MAX_SMB_HOSTS (mstate_conns.c) records of 11 */
    { "edge_xchg", 4096ull * 2048 },            /* ANALYSIS_MAX_EDGES exchanges of up to 32 sessions */
    { "syn_starts", 4096ull * 40 },              /* 16 * SYN_STARTS_MAX rows of 33 (merged states) */
    { "edge_closes", 4096ull + 1 },              /* ANALYSIS_MAX_EDGES: one a member of "edges" */
    { "edge_fins_acked", 4096ull + 1 },          /* places of edges */
    { "edge_half_open", 4096ull + 1 },
    { "edge_client_silent", 4096ull + 1 },
    { "tail_closes", 4096ull + 1 },              /* one a member of "tails" (ANALYSIS_MAX_EDGES) */
    { "data_tail_closes", 4096ull + 1 },
    { "tail_fins_acked", 4096ull + 1 },
};

/* The members of a run's state this smbscope writes (mstate_write.c and
 * the files it calls; a sample's state has every one, some empty). */
static const char *const state_members[] = {
    "inputs", "run", "flows", "frags", "quic", "roce", "iwarp", "parts", "parts_folded", "parts_folded_jumps",
    "census", "netbios", "hosts", "policy", "group_fields", "example_fields", "groups", "group_closes", "groups_past",
    "end_closes_from", "end_close_ranks", "smb_hosts", "conns_detailed", "conns_omitted", "edges_joined",
    "edges_unjoinable", "edge_fields", "edges", "edge_closes", "edge_fins_acked", "tails", "tail_closes",
    "tail_fins_acked", "data_tails", "data_tail_closes", "syn_flows", "syn_flow_payloads", "quic_tails",
    "quic_open", "quic_heads", "quic_starts", "quic_tail_facts", "quic_edge_keys", "quic_tail_initials",
    "quic_head_facts", "edge_seqs", "edge_fins", "edge_lingers_folded", "nbns_xids", "nbns_xids_folded",
    "edge_xchg", "edge_nbss", "edge_frames", "edge_smbd_bytes", "syn_starts", "edge_half_open", "edge_client_silent", "edge_isns",
    "ip_frags", "wlan_frags",
};

static bool leaf_state_member_known(const char *name)
{
    for (size_t k = 0; k < sizeof state_members / sizeof state_members[0]; k++)
        if (strcmp(name, state_members[k]) == 0)
            return true;
    return false;
}

/* The member whose key ended: its bound. */
static void member_begin(struct leaf_split *s)
{
    s->st_key[s->st_key_len] = 0;
    s->st_values = 0;
    s->st_max = LEAF_STATE_MEMBER_VALUES;
    s->st_member_unknown = !s->st_key_long && !leaf_state_member_known(s->st_key);
    for (size_t k = 0; !s->st_key_long && k < sizeof big_members / sizeof big_members[0]; k++)
        if (strcmp(s->st_key, big_members[k].name) == 0)
            s->st_max = big_members[k].values;
    s->st_member_unknown |= s->st_key_long;
}

/* One more value of the state's member: false past its bound. */
static bool member_value(struct leaf_split *s, size_t off)
{
    bool over = s->st_member_unknown ? ++s->st_unknown > LEAF_STATE_MEMBER_VALUES : ++s->st_values > s->st_max;
    if (!over)
        return true;
    char why[160];
    snprintf(why, sizeof why, "offset %zu: state.%s%s: more values than %s", off,
             s->st_key_long ? "(a long key)" : s->st_key, s->st_member_unknown ? " (not a member smbscope writes)" : "",
             s->st_member_unknown ? "such members may hold" : "its cap lets it hold");
    shape_fail(s, why);
    return false;
}

/* One byte of the state (through the scan already): its keys at its own
 * level, the values inside its members. */
static bool state_byte(struct leaf_split *s, char c, bool was_str, size_t off)
{
    int level = s->piece_depth;
    if (was_str) {
        if (!s->st_in_key)
            return true;
        if (!s->in_str) { /* the key's closing quote */
            s->st_in_key = false;
            member_begin(s);
        } else if (c == '\\' || s->st_key_len + 1 >= sizeof s->st_key) {
            s->st_key_long = true;
        } else {
            s->st_key[s->st_key_len++] = c;
        }
        return true;
    }
    if (s->depth == level) {
        if (c == '"' && s->st_key_next) {
            s->st_key_next = false;
            s->st_in_key = true;
            s->st_key_len = 0;
            s->st_key_long = false;
        } else if (c == ',') {
            s->st_key_next = true;
        }
        return true;
    }
    if (s->depth > level && (c == ',' || c == '{' || c == '['))
        return member_value(s, off);
    return true;
}

/* Inside a piece from p[i]: to its end (true, *i past its last byte) or the
 * chunk's (false). */
static bool piece_bytes(struct leaf_split *s, const char *p, size_t n, size_t *i, bool entry)
{
    for (; *i < n; (*i)++) {
        char c = p[*i];
        bool was_str = s->in_str;
        if (!scan(s, c, s->at + *i)) {
            s->phase = P_DEAD;
            leaf_split_free(s);
            return false;
        }
        if (!entry) {
            if (!state_byte(s, c, was_str, s->at + *i))
                return false;
        } else if (!was_str && (c == ',' || c == '{' || c == '[') && ++s->piece_values > LEAF_ENTRY_VALUES) {
            char why[160];
            snprintf(why, sizeof why, "offset %zu: a connections[] entry of more than %u values: not one "
                     "smbscope writes", s->at + *i, LEAF_ENTRY_VALUES);
            shape_fail(s, why);
            return false;
        }
        if (!was_str && (c == '}' || c == ']') && s->depth < s->piece_depth) {
            (*i)++;
            return true;
        }
    }
    return false;
}

static void key_byte(struct leaf_split *s, char c, bool was_str)
{
    if (!was_str || s->in_str) { /* still inside the key */
        if (c == '\\' || s->key_len + 1 >= sizeof s->key)
            s->key_long = true;
        else
            s->key[s->key_len++] = c;
        return;
    }
    s->key[s->key_len] = 0;
    bool first = s->phase == P_KEY1_IN;
    const char *want = first ? "state" : "connections";
    if (!s->key_long && strcmp(s->key, want) == 0)
        s->phase = first ? P_COLON1 : P_COLON2;
    else if (first && !s->key_long && (strcmp(s->key, "bytes") == 0 || strcmp(s->key, "zlib") == 0))
        shape_fail(s, "a packed leaf inside a packed leaf");
    else
        shape_fail(s, not_leaf);
}

static void key_begin(struct leaf_split *s, int phase)
{
    s->phase = phase;
    s->key_len = 0;
    s->key_long = false;
}

static bool value_start(char c)
{
    return c == '"' || c == '[' || c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n';
}

/* One byte outside the pieces (p[i] already through the scan). */
static void shape_byte(struct leaf_split *s, char c, bool was_str)
{
    if (s->phase == P_KEY1_IN || s->phase == P_KEY2_IN) {
        key_byte(s, c, was_str);
        return;
    }
    if (is_ws(c))
        return;
    switch (s->phase) {
    case P_OPEN:
        if (c == '{')
            s->phase = P_KEY1;
        else
            shape_fail(s, value_start(c) ? not_leaf : s->not_json);
        break;
    case P_KEY1:
        if (c == '"')
            key_begin(s, P_KEY1_IN);
        else
            shape_fail(s, c == '}' ? not_leaf : s->not_json);
        break;
    case P_COLON1:
    case P_COLON2:
        if (c == ':')
            s->phase = s->phase == P_COLON1 ? P_SVAL : P_ARR;
        else
            shape_fail(s, s->not_json);
        break;
    case P_SVAL:
        if (c == '{') {
            s->phase = P_STATE;
            s->piece_depth = s->depth;
            s->st_key_next = true;
        } else {
            shape_fail(s, value_start(c) ? "state: not an object" : s->not_json);
        }
        break;
    case P_COMMA1:
        if (c == ',')
            s->phase = P_KEY2;
        else
            shape_fail(s, c == '}' ? not_leaf : s->not_json);
        break;
    case P_KEY2:
        if (c == '"')
            key_begin(s, P_KEY2_IN);
        else
            shape_fail(s, s->not_json);
        break;
    case P_ARR:
        if (c == '[')
            s->phase = P_FIRST;
        else
            shape_fail(s, value_start(c) || c == '{' ? not_leaf : s->not_json);
        break;
    case P_FIRST:
    case P_NEXT:
        if (c == '{') {
            s->phase = P_ENTRY;
            s->piece_depth = s->depth;
            s->piece_values = 1;
        } else if (c == ']' && s->phase == P_FIRST) {
            s->phase = P_CLOSE;
        } else {
            shape_fail(s, value_start(c) ? "connections[]: an entry that is not an object" : s->not_json);
        }
        break;
    case P_AFTER:
        if (c == ',')
            s->phase = P_NEXT;
        else if (c == ']')
            s->phase = P_CLOSE;
        else
            shape_fail(s, s->not_json);
        break;
    case P_CLOSE:
        if (c == '}')
            s->phase = P_DONE;
        else
            shape_fail(s, c == ',' ? not_leaf : s->not_json);
        break;
    default: /* P_DONE */
        shape_fail(s, s->not_json);
        break;
    }
}

static bool in_piece(const struct leaf_split *s) { return s->phase == P_STATE || s->phase == P_ENTRY; }

void leaf_split_feed(struct leaf_split *s, const char *p, size_t n)
{
    size_t i = 0, from = 0; /* from: where the piece's bytes in this chunk begin */
    while (i < n && s->phase != P_DEAD) {
        if (in_piece(s)) {
            bool entry = s->phase == P_ENTRY;
            if (piece_bytes(s, p, n, &i, entry)) {
                s->phase = entry ? P_AFTER : P_COMMA1;
                hand_on(s, p, from, i, entry ? LEAF_PIECE_ENTRY : LEAF_PIECE_STATE);
            } else if (in_piece(s)) {
                hold(s, p + from, n - from); /* the chunk ended inside the piece */
            }
            continue;
        }
        char c = p[i];
        bool was_str = s->in_str;
        if (!scan(s, c, s->at + i)) {
            s->phase = P_DEAD;
            leaf_split_free(s);
            break;
        }
        if (s->phase != P_STOP) {
            shape_byte(s, c, was_str);
            if (in_piece(s)) {
                from = i++; /* its '{' */
                if (i == n)
                    hold(s, p + from, 1);
                continue;
            }
        }
        i++;
    }
    s->at += n;
}

int leaf_split_end(struct leaf_split *s, char *err, size_t errlen)
{
    if (!s->nest_err[0] && !s->shape_err[0] && s->phase != P_DONE && s->phase != P_STOP)
        snprintf(s->shape_err, sizeof s->shape_err, "%s", s->not_json);
    leaf_split_free(s);
    if (s->nest_err[0] || s->shape_err[0]) {
        snprintf(err, errlen, "%s", s->nest_err[0] ? s->nest_err : s->shape_err);
        return 1;
    }
    return s->consumer_failed ? 2 : 0;
}
