/* smb_tables.h - one declarative table per SMB enumeration.
 *
 * Every entry is {value, short name, long name}.  The text report, the JSON
 * report and the Wireshark plugin's value_strings all read these, so a name
 * is spelled in exactly one place.  Dialects live in dialect.h, not here.
 */
#ifndef SMBSCOPE_SMB_TABLES_H
#define SMBSCOPE_SMB_TABLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct smb_enum_entry {
    uint32_t value;
    const char *short_name; /* "AES-128-GCM": JSON keys and compact text */
    const char *long_name;  /* "AES-128-GCM (SMB2_ENCRYPTION_AES128_GCM)" */
};

struct smb_enum_table {
    const char *name;                    /* "smb2_cipher" */
    const struct smb_enum_entry *entries;
    size_t count;
    bool is_bitmask;                     /* entries are single bits (or masks) */
};

/* The words for a connection's signing and encryption, shared by the
 * command's reports and the plugin's smbscope.signing/.encryption fields.
 * Signing is the negotiated mode in MS-SMB2 2.2.3/2.2.4 SecurityMode terms
 * (MS-CIFS 2.2.4.52.2 for SMB1): "required" when either side required it,
 * else "enabled" or "disabled" by the server's answer; NULL while no
 * NEGOTIATE response was seen.  Whether PDUs were signed is a separate fact. */
const char *smb_signing_mode_word(bool negotiate_seen, bool required, bool server_enabled);
/* "encrypted" or "unencrypted". */
const char *smb_encryption_word(bool encrypted);

/* Value enumerations. */
extern const struct smb_enum_table smb2_command_table;
extern const struct smb_enum_table smb2_negctx_type_table;
extern const struct smb_enum_table smb2_cipher_table;
extern const struct smb_enum_table smb2_signing_alg_table;
extern const struct smb_enum_table smb2_compression_alg_table;
extern const struct smb_enum_table smb2_preauth_hash_table;
extern const struct smb_enum_table smb2_rdma_transform_table;
extern const struct smb_enum_table smb2_share_type_table;
extern const struct smb_enum_table smb1_command_table;
extern const struct smb_enum_table nt_status_table;
extern const struct smb_enum_table ntlmssp_msg_type_table;
extern const struct smb_enum_table ntlmssp_av_id_table;

/* Bit sets. */
extern const struct smb_enum_table smb2_header_flags_table;
extern const struct smb_enum_table smb2_capabilities_table;
extern const struct smb_enum_table smb2_security_mode_table;
extern const struct smb_enum_table smb2_session_flags_table;
extern const struct smb_enum_table smb2_session_setup_flags_table;
extern const struct smb_enum_table smb2_share_flags_table;
extern const struct smb_enum_table smb2_share_caps_table;
extern const struct smb_enum_table smb2_compression_flags_table;
extern const struct smb_enum_table smb2_transport_caps_table;
extern const struct smb_enum_table smb2_transform_flags_table;
extern const struct smb_enum_table smb1_flags_table;
extern const struct smb_enum_table smb1_flags2_table;
extern const struct smb_enum_table smb1_capabilities_table;
extern const struct smb_enum_table smb1_security_mode_table;
extern const struct smb_enum_table smb1_action_table;
extern const struct smb_enum_table ntlmssp_flags_table;

/* Negotiate contexts that carry a list of algorithm ids: which table names
 * the ids, and the report key for the list ("ciphers", "hash_algorithms"). */
struct smb2_negctx_ids {
    uint16_t type;
    const char *key;
    const struct smb_enum_table *table;
};
/* NULL for a context type without an id list. */
const struct smb2_negctx_ids *smb2_negctx_ids_lookup(uint16_t type);

/* The entry for value, or NULL. */
const struct smb_enum_entry *smb_enum_lookup(const struct smb_enum_table *t, uint32_t value);

/* Short name of value; unknown values are written "0x%x" into buf (>= 12
 * bytes) and buf is returned. */
const char *smb_enum_name(const struct smb_enum_table *t, uint32_t value, char *buf, size_t buflen);

/* For bit-set tables: write the short names of the set bits joined by sep
 * ("DFS|LEASING"), unknown leftover bits as "0x%x", into buf (always
 * NUL-terminated; cut short if buf is too small).  Returns buf. */
const char *smb_enum_bits(const struct smb_enum_table *t, uint32_t bits, const char *sep, char *buf, size_t buflen);

#endif
