/* nbname.c - NetBIOS name decoding and rendering.
 *
 * Why a pointer must point strictly before every offset already visited:
 * a pointer that only points "backwards" from itself can still jump to a
 * label that runs forward into the same pointer again.  Requiring each
 * target to be below the lowest offset seen so far makes the walk strictly
 * decreasing, so it ends whatever the bytes say (the pointer cap is a second
 * belt). */
#include "nbname.h"

#include <string.h>

bool nbname_decode_label(const uint8_t enc[NBNAME_ENCODED_LEN], uint8_t out16[16])
{
    bool ok = true;
    for (size_t i = 0; i < 16; i++) {
        uint8_t hi = enc[2 * i], lo = enc[2 * i + 1];
        if (hi < 'A' || hi > 'P' || lo < 'A' || lo > 'P')
            ok = false;
        out16[i] = (uint8_t)((((unsigned)(hi - 'A') & 0x0f) << 4) | ((unsigned)(lo - 'A') & 0x0f));
    }
    return ok;
}

/* Append one scope label to out->scope, '.'-separated. */
static void scope_append(struct nbname *out, const uint8_t *label, size_t n)
{
    if (out->scope_len && out->scope_len < NBNAME_SCOPE_MAX)
        out->scope[out->scope_len++] = '.';
    size_t room = NBNAME_SCOPE_MAX - out->scope_len;
    if (n > room)
        n = room;
    memcpy(out->scope + out->scope_len, label, n);
    out->scope_len = (uint8_t)(out->scope_len + n);
}

enum nbname_status nbname_decode(struct wire *w, bool allow_pointers, struct nbname *out)
{
    memset(out, 0, sizeof *out);
    enum nbname_status st = NBNAME_OK;
    struct wire cur = *w;          /* where labels are read from now */
    struct wire *outer = w;        /* advanced until the first pointer */
    bool jumped = false;
    size_t lowest = w->off;        /* lowest message offset visited */
    size_t total = 0;              /* encoded bytes, length octets included */
    bool first = true;
    size_t begin_off = w->off;

    for (;;) {
        uint8_t len = wire_u8(&cur);
        if (!wire_ok(&cur)) {
            st = NBNAME_TRUNCATED;
            break;
        }
        if ((len & 0xc0) == 0xc0) {
            uint8_t low = wire_u8(&cur);
            if (!wire_ok(&cur)) {
                st = NBNAME_TRUNCATED;
                break;
            }
            if (!jumped) {
                *outer = cur;
                jumped = true;
            }
            if (!allow_pointers) {
                st = NBNAME_POINTER_NOT_ALLOWED;
                break;
            }
            if (out->pointers >= NBNAME_MAX_POINTERS) {
                st = NBNAME_TOO_MANY_POINTERS;
                break;
            }
            out->pointers++;
            size_t target = ((size_t)(len & 0x3f) << 8) | low;
            if (target >= lowest) {
                st = NBNAME_BAD_POINTER;
                break;
            }
            lowest = target;
            wire_seek(&cur, target);
            continue;
        }
        if (len & 0xc0) {
            st = NBNAME_BAD_LABEL_TYPE;
            break;
        }
        total += 1u + len;
        if (len == 0)
            break;
        if (total + 1 > NBNAME_MAX_WIRE) {
            st = NBNAME_TOO_LONG;
            break;
        }
        const uint8_t *label = wire_bytes(&cur, len);
        if (!label) {
            st = NBNAME_TRUNCATED;
            break;
        }
        if (first) {
            first = false;
            if (len != NBNAME_ENCODED_LEN) {
                st = NBNAME_BAD_LENGTH;
                /* keep walking so the caller's cursor lands after the name */
                continue;
            }
            uint8_t dec[16];
            if (!nbname_decode_label(label, dec))
                st = NBNAME_BAD_ENCODING;
            memcpy(out->name, dec, 15);
            out->suffix = dec[15];
        } else {
            scope_append(out, label, len);
        }
    }

    if (first && st == NBNAME_OK)
        st = NBNAME_BAD_LENGTH; /* empty name: no first label at all */
    if (!jumped)
        *outer = cur;
    if (st == NBNAME_TRUNCATED || st == NBNAME_TOO_LONG || st == NBNAME_BAD_LABEL_TYPE) {
        if (!jumped)
            wire_fail(w);
    }
    out->wire_len = (uint16_t)(w->off >= begin_off ? w->off - begin_off : 0);
    return st;
}

/* --- rendering ------------------------------------------------------- */

struct textbuf {
    char *buf;
    size_t cap, len;
};

static void tb_putc(struct textbuf *t, char c)
{
    if (t->len + 1 < t->cap)
        t->buf[t->len] = c;
    t->len++;
}

static void tb_hex2(struct textbuf *t, uint8_t b)
{
    static const char hex[] = "0123456789abcdef";
    tb_putc(t, hex[b >> 4]);
    tb_putc(t, hex[b & 15]);
}

static void tb_escaped(struct textbuf *t, uint8_t b)
{
    if (b >= 0x21 && b <= 0x7e && b != '\\') {
        tb_putc(t, (char)b);
    } else {
        tb_putc(t, '\\');
        tb_putc(t, 'x');
        tb_hex2(t, b);
    }
}

static void tb_finish(struct textbuf *t)
{
    if (t->cap)
        t->buf[t->len < t->cap ? t->len : t->cap - 1] = '\0';
}

static void render_core(struct textbuf *t, const uint8_t name15[15], uint8_t suffix)
{
    size_t n = 15;
    bool wildcard = name15[0] == '*';
    for (size_t i = 1; i < 15 && wildcard; i++)
        wildcard = name15[i] == 0;
    if (wildcard) {
        n = 1;
    } else {
        while (n > 0 && name15[n - 1] == ' ')
            n--;
    }
    for (size_t i = 0; i < n; i++) {
        /* a space inside the name is kept as is: only trailing padding goes */
        if (name15[i] == ' ')
            tb_putc(t, ' ');
        else
            tb_escaped(t, name15[i]);
    }
    tb_putc(t, '<');
    tb_hex2(t, suffix);
    tb_putc(t, '>');
}

size_t nbname_render_raw(const uint8_t name15[15], uint8_t suffix, char *buf, size_t buflen)
{
    struct textbuf t = { buf, buflen, 0 };
    render_core(&t, name15, suffix);
    tb_finish(&t);
    return t.len;
}

size_t nbname_render(const struct nbname *n, char *buf, size_t buflen)
{
    struct textbuf t = { buf, buflen, 0 };
    render_core(&t, n->name, n->suffix);
    if (n->scope_len) {
        tb_putc(&t, '.');
        for (size_t i = 0; i < n->scope_len; i++)
            tb_escaped(&t, n->scope[i]);
    }
    tb_finish(&t);
    return t.len;
}

/* --- suffixes ---------------------------------------------------------- */

/* One table: the 16th byte as used by Microsoft networking.  A NULL group
 * meaning means the unique meaning holds for both. */
static const struct {
    uint8_t suffix;
    const char *unique;
    const char *group;
} suffixes[] = {
    { 0x00, "workstation", "domain/workgroup name" },
    { 0x01, "messenger", "master browser" },      /* group: \x01\x02__MSBROWSE__\x02<01> */
    { 0x03, "messenger service", NULL },
    { 0x06, "RAS server", NULL },
    { 0x1b, "domain master browser", NULL },
    { 0x1c, "domain controllers", "domain controllers" },
    { 0x1d, "master browser", NULL },
    { 0x1e, "browser election", "browser election" },
    { 0x1f, "NetDDE", NULL },
    { 0x20, "file server", NULL },
    { 0x21, "RAS client", NULL },
    { 0x22, "Exchange interchange", NULL },
    { 0x23, "Exchange store", NULL },
    { 0x24, "Exchange directory", NULL },
    { 0x87, "Exchange MTA", NULL },
    { 0xbe, "network monitor agent", NULL },
    { 0xbf, "network monitor application", NULL },
};

const char *nbname_suffix_meaning(uint8_t suffix, bool group)
{
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        if (suffixes[i].suffix == suffix)
            return (group && suffixes[i].group) ? suffixes[i].group : suffixes[i].unique;
    }
    return NULL;
}

static const char *const status_texts[NBNAME_STATUS_COUNT] = {
    [NBNAME_OK] = "ok",
    [NBNAME_TRUNCATED] = "name truncated",
    [NBNAME_BAD_LENGTH] = "first label is not 32 bytes",
    [NBNAME_BAD_ENCODING] = "first label has characters outside A..P",
    [NBNAME_TOO_LONG] = "encoded name longer than 255 bytes",
    [NBNAME_BAD_LABEL_TYPE] = "reserved label type",
    [NBNAME_POINTER_NOT_ALLOWED] = "compression pointer not allowed here",
    [NBNAME_BAD_POINTER] = "compression pointer loops or points outside the message",
    [NBNAME_TOO_MANY_POINTERS] = "too many compression pointers",
};

const char *nbname_status_text(enum nbname_status st)
{
    return (unsigned)st < NBNAME_STATUS_COUNT ? status_texts[st] : "unknown";
}
