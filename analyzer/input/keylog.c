/* keylog.c - SSLKEYLOGFILE reader; see keylog.h. */
#include "keylog.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>

/* A key log is text a person or a TLS library wrote; bound what we read. */
#define KEYLOG_MAX_BYTES (64u << 20)

struct keylog {
    GHashTable *secrets; /* 33-byte key (kind, random) -> GBytes secret */
    size_t used, ignored;
};

static const char *const labels[QUIC_SECRET_KIND_COUNT] = {
    [QUIC_SECRET_CLIENT_HANDSHAKE] = "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
    [QUIC_SECRET_SERVER_HANDSHAKE] = "SERVER_HANDSHAKE_TRAFFIC_SECRET",
    [QUIC_SECRET_CLIENT_TRAFFIC_0] = "CLIENT_TRAFFIC_SECRET_0",
    [QUIC_SECRET_SERVER_TRAFFIC_0] = "SERVER_TRAFFIC_SECRET_0",
};

static guint key_hash(gconstpointer p)
{
    const uint8_t *k = p;
    guint h = 2166136261u;
    for (int i = 0; i < 33; i++)
        h = (h ^ k[i]) * 16777619u;
    return h;
}

static gboolean key_equal(gconstpointer a, gconstpointer b) { return memcmp(a, b, 33) == 0; }

/* Hex text of exactly n bytes into out; false otherwise. */
static bool unhex(const char *s, size_t len, uint8_t *out, size_t n)
{
    if (len != 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        int hi = g_ascii_xdigit_value(s[2 * i]), lo = g_ascii_xdigit_value(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static void add_line(struct keylog *k, char *line)
{
    char *fields[3];
    int n = 0;
    for (char *save = NULL, *t = strtok_r(line, " \t\r", &save); t && n < 3; t = strtok_r(NULL, " \t\r", &save))
        fields[n++] = t;
    if (n == 0 || fields[0][0] == '#')
        return;
    int kind = -1;
    for (int i = 0; i < QUIC_SECRET_KIND_COUNT && n == 3; i++)
        if (strcmp(fields[0], labels[i]) == 0)
            kind = i;
    uint8_t key[33], secret[QUIC_MAX_SECRET];
    size_t slen = n == 3 ? strlen(fields[2]) / 2 : 0;
    if (kind < 0 || slen < 32 || slen > QUIC_MAX_SECRET || !unhex(fields[1], strlen(fields[1]), key + 1, 32)
        || !unhex(fields[2], strlen(fields[2]), secret, slen)) {
        k->ignored++;
        return;
    }
    key[0] = (uint8_t)kind;
    g_hash_table_replace(k->secrets, g_memdup2(key, sizeof key), g_bytes_new(secret, slen));
    k->used++;
}

struct keylog *keylog_load(const char *path, char *errbuf, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct keylog *k = g_new0(struct keylog, 1);
    k->secrets = g_hash_table_new_full(key_hash, key_equal, g_free, (GDestroyNotify)g_bytes_unref);
    char line[512];
    size_t total = 0;
    while (fgets(line, sizeof line, f) && total < KEYLOG_MAX_BYTES) {
        size_t len = strlen(line);
        total += len;
        if (len && line[len - 1] != '\n' && !feof(f)) { /* longer than any key log line: skip it */
            int c;
            while ((c = fgetc(f)) != EOF && c != '\n')
                total++;
            k->ignored++;
            continue;
        }
        line[strcspn(line, "\n")] = '\0';
        add_line(k, line);
    }
    bool err = ferror(f);
    fclose(f);
    if (err || !k->used) {
        snprintf(errbuf, errlen, "%s: %s", path, err ? "read error" : "no TLS 1.3 traffic secrets in the key log");
        keylog_free(k);
        return NULL;
    }
    return k;
}

void keylog_free(struct keylog *k)
{
    if (!k)
        return;
    g_hash_table_destroy(k->secrets);
    g_free(k);
}

size_t keylog_secrets(const struct keylog *k) { return k ? k->used : 0; }
size_t keylog_ignored(const struct keylog *k) { return k ? k->ignored : 0; }

size_t keylog_lookup(void *keylog, const uint8_t random[32], enum quic_secret_kind kind, uint8_t *out, size_t cap)
{
    struct keylog *k = keylog;
    if (!k || (unsigned)kind >= QUIC_SECRET_KIND_COUNT)
        return 0;
    uint8_t key[33];
    key[0] = (uint8_t)kind;
    memcpy(key + 1, random, 32);
    GBytes *b = g_hash_table_lookup(k->secrets, key);
    if (!b || g_bytes_get_size(b) > cap)
        return 0;
    memcpy(out, g_bytes_get_data(b, NULL), g_bytes_get_size(b));
    return g_bytes_get_size(b);
}
