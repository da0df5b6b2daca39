/* dialect.c - SMB2/3 dialect table (MS-SMB2 2.2.3). */
#include "dialect.h"

#include <stdio.h>
#include <string.h>

static const struct smb2_dialect_info dialects[] = {
    { SMB2_DIALECT_202, "2.0.2", "SMB 2.0.2", 1, 2 },
    { SMB2_DIALECT_210, "2.1", "SMB 2.1", 2, 2 },
    /* 0x0222 and 0x0224 were Windows 8 pre-release numbers for what became 3.0. */
    { SMB2_DIALECT_222, "2.2.2", "SMB 2.2.2 (pre-release 3.0)", 3, 3 },
    { SMB2_DIALECT_224, "2.2.4", "SMB 2.2.4 (pre-release 3.0)", 3, 3 },
    { SMB2_DIALECT_WILDCARD, "2.x", "SMB 2.??? (multi-protocol negotiate)", 0, 2 },
    { SMB2_DIALECT_300, "3.0", "SMB 3.0", 4, 3 },
    { SMB2_DIALECT_302, "3.0.2", "SMB 3.0.2", 5, 3 },
    /* 0x0310 was a Windows 10 pre-release number for 3.1.1. */
    { SMB2_DIALECT_310, "3.1.0", "SMB 3.1.0 (pre-release 3.1.1)", 6, 3 },
    { SMB2_DIALECT_311, "3.1.1", "SMB 3.1.1", 7, 3 },
};

/* Looked up several times per connection (version, signing, ranking): a
 * switch the compiler turns into a jump table, not a walk of the table
 * (the most common dialect, 3.1.1, is its last row). */
const struct smb2_dialect_info *smb2_dialect_lookup(uint16_t code)
{
    size_t i;
    switch (code) {
    case SMB2_DIALECT_202: i = 0; break;
    case SMB2_DIALECT_210: i = 1; break;
    case SMB2_DIALECT_222: i = 2; break;
    case SMB2_DIALECT_224: i = 3; break;
    case SMB2_DIALECT_WILDCARD: i = 4; break;
    case SMB2_DIALECT_300: i = 5; break;
    case SMB2_DIALECT_302: i = 6; break;
    case SMB2_DIALECT_310: i = 7; break;
    case SMB2_DIALECT_311: i = 8; break;
    default: return NULL;
    }
    return dialects[i].code == code ? &dialects[i] : NULL; /* the rows above, in table order */
}

const struct smb2_dialect_info *smb2_dialect_at(size_t i)
{
    return i < sizeof dialects / sizeof dialects[0] ? &dialects[i] : NULL;
}

const char *smb2_dialect_name(uint16_t code, char *buf, size_t buflen)
{
    const struct smb2_dialect_info *d = smb2_dialect_lookup(code);
    if (d)
        return d->short_name;
    if (buf && buflen) {
        snprintf(buf, buflen, "0x%04x", (unsigned)code);
        return buf;
    }
    return "unknown";
}

int smb2_dialect_rank(uint16_t code)
{
    const struct smb2_dialect_info *d = smb2_dialect_lookup(code);
    return d ? d->rank : 0;
}

static int lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

static bool eq_nocase(const char *a, const char *b)
{
    while (*a && *b)
        if (lower((unsigned char)*a++) != lower((unsigned char)*b++))
            return false;
    return *a == *b;
}

/* Samba's protocol names, so `--min-dialect SMB3_11` works like smb.conf. */
static const struct { const char *name; uint16_t code; } samba_names[] = {
    { "SMB2_02", SMB2_DIALECT_202 }, { "SMB2_10", SMB2_DIALECT_210 },
    { "SMB2", SMB2_DIALECT_210 },    { "SMB3_00", SMB2_DIALECT_300 },
    { "SMB3_02", SMB2_DIALECT_302 }, { "SMB3_11", SMB2_DIALECT_311 },
    { "SMB3", SMB2_DIALECT_311 },    { "3", SMB2_DIALECT_300 },
    { "2", SMB2_DIALECT_202 },       { "2.0", SMB2_DIALECT_202 },
    { "3.0.0", SMB2_DIALECT_300 },   { "3.1", SMB2_DIALECT_311 },
};

bool smb2_dialect_parse(const char *text, uint16_t *code)
{
    if (!text || !*text)
        return false;
    for (size_t i = 0; i < sizeof dialects / sizeof dialects[0]; i++)
        if (eq_nocase(text, dialects[i].short_name) || eq_nocase(text, dialects[i].long_name)) {
            *code = dialects[i].code;
            return true;
        }
    for (size_t i = 0; i < sizeof samba_names / sizeof samba_names[0]; i++)
        if (eq_nocase(text, samba_names[i].name)) {
            *code = samba_names[i].code;
            return true;
        }
    if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X') && text[2]) {
        unsigned v = 0;
        for (const char *p = text + 2; *p; p++) {
            int c = lower((unsigned char)*p);
            int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
            if (d < 0 || v > 0xFFF)
                return false;
            v = v * 16 + (unsigned)d;
        }
        *code = (uint16_t)v;
        return true;
    }
    return false;
}

uint16_t smb1_dialect_smb2_code(const uint8_t *s, size_t len)
{
    if (len == 9 && memcmp(s, "SMB 2.002", 9) == 0)
        return SMB2_DIALECT_202;
    if (len == 9 && memcmp(s, "SMB 2.???", 9) == 0)
        return SMB2_DIALECT_WILDCARD;
    return 0;
}
