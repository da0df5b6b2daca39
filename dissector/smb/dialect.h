/* dialect.h - the SMB2/3 dialect table and the SMB1 dialect strings that
 * announce SMB2.  One table, used by the command's reports, the policy and
 * the Wireshark plugin alike. */
#ifndef SMBSCOPE_DIALECT_H
#define SMBSCOPE_DIALECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    SMB2_DIALECT_202 = 0x0202,
    SMB2_DIALECT_210 = 0x0210,
    SMB2_DIALECT_222 = 0x0222,
    SMB2_DIALECT_224 = 0x0224,
    SMB2_DIALECT_WILDCARD = 0x02FF, /* "2.x": multi-protocol negotiate answer */
    SMB2_DIALECT_300 = 0x0300,
    SMB2_DIALECT_302 = 0x0302,
    SMB2_DIALECT_310 = 0x0310,
    SMB2_DIALECT_311 = 0x0311,
};

struct smb2_dialect_info {
    uint16_t code;
    const char *short_name; /* "3.1.1": JSON, text report, plugin field */
    const char *long_name;  /* "SMB 3.1.1" */
    int rank;               /* order of strength for --min-dialect; 0 = not comparable */
    int smb_version;        /* 2 or 3 */
};

/* NULL for a code not in the table. */
const struct smb2_dialect_info *smb2_dialect_lookup(uint16_t code);

/* The table's i-th row in code order, NULL past its end: for consumers that
 * build their own lists from it (the plugin's value_string and preference). */
const struct smb2_dialect_info *smb2_dialect_at(size_t i);

/* Short name of a dialect code; unknown codes are written as "0x%04x" into
 * buf (at least 8 bytes) and buf is returned. */
const char *smb2_dialect_name(uint16_t code, char *buf, size_t buflen);

/* Parse "3.1.1", "3.0", "2.1", "2.0.2", "0x0302" (case-insensitive hex) or
 * "SMB3_11"-style names; false when not understood. */
bool smb2_dialect_parse(const char *text, uint16_t *code);

/* rank of a dialect for comparisons (0 for unknown / the 2.x wildcard). */
int smb2_dialect_rank(uint16_t code);

/* The SMB2 dialect code an SMB1 NEGOTIATE dialect string stands for:
 * "SMB 2.002" -> 0x0202, "SMB 2.???" -> 0x02FF; 0 for anything else.
 * s need not be NUL-terminated. */
uint16_t smb1_dialect_smb2_code(const uint8_t *s, size_t len);

#endif
