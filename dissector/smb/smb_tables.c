/* smb_tables.c - SMB enumerations (MS-SMB2 2.2, MS-CIFS 2.2, MS-SMB 2.2,
 * MS-NLMP 2.2, MS-ERREF 2.3).  Values are the protocol's; names follow the
 * documents so a reader can grep the spec for them. */
#include "smb_tables.h"

#include <stdio.h>
#include <string.h>

#define TABLE(var, label, bits, ...)                                             \
    static const struct smb_enum_entry var##_entries[] = { __VA_ARGS__ };       \
    const struct smb_enum_table var = { label, var##_entries,                   \
        sizeof var##_entries / sizeof var##_entries[0], bits }

TABLE(smb2_command_table, "smb2_command", false,
    { 0x00, "NEGOTIATE", "SMB2 NEGOTIATE" },
    { 0x01, "SESSION_SETUP", "SMB2 SESSION_SETUP" },
    { 0x02, "LOGOFF", "SMB2 LOGOFF" },
    { 0x03, "TREE_CONNECT", "SMB2 TREE_CONNECT" },
    { 0x04, "TREE_DISCONNECT", "SMB2 TREE_DISCONNECT" },
    { 0x05, "CREATE", "SMB2 CREATE" },
    { 0x06, "CLOSE", "SMB2 CLOSE" },
    { 0x07, "FLUSH", "SMB2 FLUSH" },
    { 0x08, "READ", "SMB2 READ" },
    { 0x09, "WRITE", "SMB2 WRITE" },
    { 0x0A, "LOCK", "SMB2 LOCK" },
    { 0x0B, "IOCTL", "SMB2 IOCTL" },
    { 0x0C, "CANCEL", "SMB2 CANCEL" },
    { 0x0D, "ECHO", "SMB2 ECHO" },
    { 0x0E, "QUERY_DIRECTORY", "SMB2 QUERY_DIRECTORY" },
    { 0x0F, "CHANGE_NOTIFY", "SMB2 CHANGE_NOTIFY" },
    { 0x10, "QUERY_INFO", "SMB2 QUERY_INFO" },
    { 0x11, "SET_INFO", "SMB2 SET_INFO" },
    { 0x12, "OPLOCK_BREAK", "SMB2 OPLOCK_BREAK" },
    { 0x13, "SERVER_TO_CLIENT_NOTIFICATION", "SMB2 SERVER_TO_CLIENT_NOTIFICATION" });

TABLE(smb2_negctx_type_table, "smb2_negotiate_context_type", false,
    { 0x0001, "preauth_integrity", "SMB2_PREAUTH_INTEGRITY_CAPABILITIES" },
    { 0x0002, "encryption", "SMB2_ENCRYPTION_CAPABILITIES" },
    { 0x0003, "compression", "SMB2_COMPRESSION_CAPABILITIES" },
    { 0x0005, "netname", "SMB2_NETNAME_NEGOTIATE_CONTEXT_ID" },
    { 0x0006, "transport", "SMB2_TRANSPORT_CAPABILITIES" },
    { 0x0007, "rdma_transform", "SMB2_RDMA_TRANSFORM_CAPABILITIES" },
    { 0x0008, "signing", "SMB2_SIGNING_CAPABILITIES" },
    { 0x0100, "reserved", "SMB2_CONTEXTTYPE_RESERVED" });

TABLE(smb2_cipher_table, "smb2_cipher", false,
    { 0x0000, "none", "no common cipher" },
    { 0x0001, "AES-128-CCM", "AES-128-CCM (SMB2_ENCRYPTION_AES128_CCM)" },
    { 0x0002, "AES-128-GCM", "AES-128-GCM (SMB2_ENCRYPTION_AES128_GCM)" },
    { 0x0003, "AES-256-CCM", "AES-256-CCM (SMB2_ENCRYPTION_AES256_CCM)" },
    { 0x0004, "AES-256-GCM", "AES-256-GCM (SMB2_ENCRYPTION_AES256_GCM)" });

TABLE(smb2_signing_alg_table, "smb2_signing_algorithm", false,
    { 0x0000, "HMAC-SHA256", "HMAC-SHA256" },
    { 0x0001, "AES-CMAC", "AES-CMAC" },
    { 0x0002, "AES-GMAC", "AES-GMAC" });

TABLE(smb2_compression_alg_table, "smb2_compression_algorithm", false,
    { 0x0000, "none", "NONE" },
    { 0x0001, "LZNT1", "LZNT1" },
    { 0x0002, "LZ77", "LZ77" },
    { 0x0003, "LZ77+Huffman", "LZ77+Huffman" },
    { 0x0004, "Pattern_V1", "Pattern_V1" },
    { 0x0005, "LZ4", "LZ4" });

TABLE(smb2_preauth_hash_table, "smb2_preauth_hash", false,
    { 0x0001, "SHA-512", "SHA-512" });

TABLE(smb2_rdma_transform_table, "smb2_rdma_transform", false,
    { 0x0000, "none", "SMB2_RDMA_TRANSFORM_NONE" },
    { 0x0001, "encryption", "SMB2_RDMA_TRANSFORM_ENCRYPTION" },
    { 0x0002, "signing", "SMB2_RDMA_TRANSFORM_SIGNING" });

TABLE(smb2_share_type_table, "smb2_share_type", false,
    { 0x01, "disk", "SMB2_SHARE_TYPE_DISK" },
    { 0x02, "pipe", "SMB2_SHARE_TYPE_PIPE" },
    { 0x03, "print", "SMB2_SHARE_TYPE_PRINT" });

TABLE(smb1_command_table, "smb1_command", false,
    { 0x00, "CREATE_DIRECTORY", "SMB_COM_CREATE_DIRECTORY" },
    { 0x01, "DELETE_DIRECTORY", "SMB_COM_DELETE_DIRECTORY" },
    { 0x02, "OPEN", "SMB_COM_OPEN" },
    { 0x03, "CREATE", "SMB_COM_CREATE" },
    { 0x04, "CLOSE", "SMB_COM_CLOSE" },
    { 0x05, "FLUSH", "SMB_COM_FLUSH" },
    { 0x06, "DELETE", "SMB_COM_DELETE" },
    { 0x07, "RENAME", "SMB_COM_RENAME" },
    { 0x08, "QUERY_INFORMATION", "SMB_COM_QUERY_INFORMATION" },
    { 0x09, "SET_INFORMATION", "SMB_COM_SET_INFORMATION" },
    { 0x0A, "READ", "SMB_COM_READ" },
    { 0x0B, "WRITE", "SMB_COM_WRITE" },
    { 0x10, "CHECK_DIRECTORY", "SMB_COM_CHECK_DIRECTORY" },
    { 0x1D, "WRITE_RAW", "SMB_COM_WRITE_RAW" },
    { 0x24, "LOCKING_ANDX", "SMB_COM_LOCKING_ANDX" },
    { 0x25, "TRANSACTION", "SMB_COM_TRANSACTION" },
    { 0x26, "TRANSACTION_SECONDARY", "SMB_COM_TRANSACTION_SECONDARY" },
    { 0x2B, "ECHO", "SMB_COM_ECHO" },
    { 0x2D, "OPEN_ANDX", "SMB_COM_OPEN_ANDX" },
    { 0x2E, "READ_ANDX", "SMB_COM_READ_ANDX" },
    { 0x2F, "WRITE_ANDX", "SMB_COM_WRITE_ANDX" },
    { 0x32, "TRANSACTION2", "SMB_COM_TRANSACTION2" },
    { 0x33, "TRANSACTION2_SECONDARY", "SMB_COM_TRANSACTION2_SECONDARY" },
    { 0x34, "FIND_CLOSE2", "SMB_COM_FIND_CLOSE2" },
    { 0x70, "TREE_CONNECT", "SMB_COM_TREE_CONNECT" },
    { 0x71, "TREE_DISCONNECT", "SMB_COM_TREE_DISCONNECT" },
    { 0x72, "NEGOTIATE", "SMB_COM_NEGOTIATE" },
    { 0x73, "SESSION_SETUP_ANDX", "SMB_COM_SESSION_SETUP_ANDX" },
    { 0x74, "LOGOFF_ANDX", "SMB_COM_LOGOFF_ANDX" },
    { 0x75, "TREE_CONNECT_ANDX", "SMB_COM_TREE_CONNECT_ANDX" },
    { 0x80, "QUERY_INFORMATION_DISK", "SMB_COM_QUERY_INFORMATION_DISK" },
    { 0x81, "SEARCH", "SMB_COM_SEARCH" },
    { 0xA0, "NT_TRANSACT", "SMB_COM_NT_TRANSACT" },
    { 0xA1, "NT_TRANSACT_SECONDARY", "SMB_COM_NT_TRANSACT_SECONDARY" },
    { 0xA2, "NT_CREATE_ANDX", "SMB_COM_NT_CREATE_ANDX" },
    { 0xA4, "NT_CANCEL", "SMB_COM_NT_CANCEL" },
    { 0xA5, "NT_RENAME", "SMB_COM_NT_RENAME" },
    { 0xFE, "INVALID", "SMB_COM_INVALID" },
    { 0xFF, "NO_ANDX_COMMAND", "SMB_COM_NO_ANDX_COMMAND" });

TABLE(nt_status_table, "nt_status", false,
    { 0x00000000, "STATUS_SUCCESS", "success" },
    { 0x00000103, "STATUS_PENDING", "operation pending" },
    { 0x0000010C, "STATUS_NOTIFY_ENUM_DIR", "notify enum dir" },
    { 0x80000005, "STATUS_BUFFER_OVERFLOW", "buffer overflow" },
    { 0x80000006, "STATUS_NO_MORE_FILES", "no more files" },
    { 0xC0000001, "STATUS_UNSUCCESSFUL", "unsuccessful" },
    { 0xC0000002, "STATUS_NOT_IMPLEMENTED", "not implemented" },
    { 0xC000000D, "STATUS_INVALID_PARAMETER", "invalid parameter" },
    { 0xC0000011, "STATUS_END_OF_FILE", "end of file" },
    { 0xC0000016, "STATUS_MORE_PROCESSING_REQUIRED", "more processing required" },
    { 0xC0000022, "STATUS_ACCESS_DENIED", "access denied" },
    { 0xC0000034, "STATUS_OBJECT_NAME_NOT_FOUND", "object name not found" },
    { 0xC0000035, "STATUS_OBJECT_NAME_COLLISION", "object name collision" },
    { 0xC000003A, "STATUS_OBJECT_PATH_NOT_FOUND", "object path not found" },
    { 0xC0000043, "STATUS_SHARING_VIOLATION", "sharing violation" },
    { 0xC000006A, "STATUS_WRONG_PASSWORD", "wrong password" },
    { 0xC000006D, "STATUS_LOGON_FAILURE", "logon failure" },
    { 0xC000006E, "STATUS_ACCOUNT_RESTRICTION", "account restriction" },
    { 0xC0000071, "STATUS_PASSWORD_EXPIRED", "password expired" },
    { 0xC0000072, "STATUS_ACCOUNT_DISABLED", "account disabled" },
    { 0xC00000BB, "STATUS_NOT_SUPPORTED", "not supported" },
    { 0xC00000BE, "STATUS_BAD_NETWORK_PATH", "bad network path" },
    { 0xC00000C9, "STATUS_NETWORK_NAME_DELETED", "network name deleted" },
    { 0xC00000CC, "STATUS_BAD_NETWORK_NAME", "bad network name" },
    { 0xC0000120, "STATUS_CANCELLED", "cancelled" },
    { 0xC0000184, "STATUS_INVALID_DEVICE_STATE", "invalid device state" },
    { 0xC0000203, "STATUS_USER_SESSION_DELETED", "user session deleted" },
    { 0xC0000225, "STATUS_NOT_FOUND", "not found" },
    { 0xC000035C, "STATUS_NETWORK_SESSION_EXPIRED", "network session expired" },
    { 0xC0000388, "STATUS_DOWNGRADE_DETECTED", "downgrade detected" },
    { 0xC00000CA, "STATUS_NETWORK_ACCESS_DENIED", "network access denied" },
    { 0xC0000192, "STATUS_NETLOGON_NOT_STARTED", "netlogon not started" },
    { 0xC000015B, "STATUS_LOGON_TYPE_NOT_GRANTED", "logon type not granted" },
    { 0xC0000193, "STATUS_ACCOUNT_EXPIRED", "account expired" },
    { 0xC0000224, "STATUS_PASSWORD_MUST_CHANGE", "password must change" },
    { 0xC0000234, "STATUS_ACCOUNT_LOCKED_OUT", "account locked out" });

TABLE(ntlmssp_msg_type_table, "ntlmssp_message_type", false,
    { 1, "NEGOTIATE", "NTLMSSP_NEGOTIATE (type 1)" },
    { 2, "CHALLENGE", "NTLMSSP_CHALLENGE (type 2)" },
    { 3, "AUTHENTICATE", "NTLMSSP_AUTH (type 3)" });

TABLE(ntlmssp_av_id_table, "ntlmssp_av_id", false,
    { 0, "EOL", "MsvAvEOL" },
    { 1, "NbComputerName", "MsvAvNbComputerName" },
    { 2, "NbDomainName", "MsvAvNbDomainName" },
    { 3, "DnsComputerName", "MsvAvDnsComputerName" },
    { 4, "DnsDomainName", "MsvAvDnsDomainName" },
    { 5, "DnsTreeName", "MsvAvDnsTreeName" },
    { 6, "Flags", "MsvAvFlags" },
    { 7, "Timestamp", "MsvAvTimestamp" },
    { 8, "SingleHost", "MsvAvSingleHost" },
    { 9, "TargetName", "MsvAvTargetName" },
    { 10, "ChannelBindings", "MsvAvChannelBindings" });

TABLE(smb2_header_flags_table, "smb2_header_flags", true,
    { 0x00000001, "RESPONSE", "SMB2_FLAGS_SERVER_TO_REDIR" },
    { 0x00000002, "ASYNC", "SMB2_FLAGS_ASYNC_COMMAND" },
    { 0x00000004, "RELATED", "SMB2_FLAGS_RELATED_OPERATIONS" },
    { 0x00000008, "SIGNED", "SMB2_FLAGS_SIGNED" },
    { 0x00000070, "PRIORITY", "SMB2_FLAGS_PRIORITY_MASK" },
    { 0x10000000, "DFS", "SMB2_FLAGS_DFS_OPERATIONS" },
    { 0x20000000, "REPLAY", "SMB2_FLAGS_REPLAY_OPERATION" });

TABLE(smb2_capabilities_table, "smb2_capabilities", true,
    { 0x01, "DFS", "SMB2_GLOBAL_CAP_DFS" },
    { 0x02, "LEASING", "SMB2_GLOBAL_CAP_LEASING" },
    { 0x04, "LARGE_MTU", "SMB2_GLOBAL_CAP_LARGE_MTU" },
    { 0x08, "MULTI_CHANNEL", "SMB2_GLOBAL_CAP_MULTI_CHANNEL" },
    { 0x10, "PERSISTENT_HANDLES", "SMB2_GLOBAL_CAP_PERSISTENT_HANDLES" },
    { 0x20, "DIRECTORY_LEASING", "SMB2_GLOBAL_CAP_DIRECTORY_LEASING" },
    { 0x40, "ENCRYPTION", "SMB2_GLOBAL_CAP_ENCRYPTION" },
    { 0x80, "NOTIFICATIONS", "SMB2_GLOBAL_CAP_NOTIFICATIONS" });

TABLE(smb2_security_mode_table, "smb2_security_mode", true,
    { 0x01, "SIGNING_ENABLED", "SMB2_NEGOTIATE_SIGNING_ENABLED" },
    { 0x02, "SIGNING_REQUIRED", "SMB2_NEGOTIATE_SIGNING_REQUIRED" });

TABLE(smb2_session_flags_table, "smb2_session_flags", true,
    { 0x0001, "IS_GUEST", "SMB2_SESSION_FLAG_IS_GUEST" },
    { 0x0002, "IS_NULL", "SMB2_SESSION_FLAG_IS_NULL" },
    { 0x0004, "ENCRYPT_DATA", "SMB2_SESSION_FLAG_ENCRYPT_DATA" });

TABLE(smb2_session_setup_flags_table, "smb2_session_setup_flags", true,
    { 0x01, "BINDING", "SMB2_SESSION_FLAG_BINDING" });

TABLE(smb2_share_flags_table, "smb2_share_flags", true,
    { 0x00000001, "DFS", "SMB2_SHAREFLAG_DFS" },
    { 0x00000002, "DFS_ROOT", "SMB2_SHAREFLAG_DFS_ROOT" },
    /* bits 4-5 are a 2-bit caching-policy field; 0 = manual caching */
    { 0x00000030, "CACHING", "SMB2_SHAREFLAG_*_CACHING (mask)" },
    { 0x00000100, "RESTRICT_EXCLUSIVE_OPENS", "SMB2_SHAREFLAG_RESTRICT_EXCLUSIVE_OPENS" },
    { 0x00000200, "FORCE_SHARED_DELETE", "SMB2_SHAREFLAG_FORCE_SHARED_DELETE" },
    { 0x00000400, "ALLOW_NAMESPACE_CACHING", "SMB2_SHAREFLAG_ALLOW_NAMESPACE_CACHING" },
    { 0x00000800, "ACCESS_BASED_DIRECTORY_ENUM", "SMB2_SHAREFLAG_ACCESS_BASED_DIRECTORY_ENUM" },
    { 0x00001000, "FORCE_LEVELII_OPLOCK", "SMB2_SHAREFLAG_FORCE_LEVELII_OPLOCK" },
    { 0x00002000, "ENABLE_HASH_V1", "SMB2_SHAREFLAG_ENABLE_HASH_V1" },
    { 0x00004000, "ENABLE_HASH_V2", "SMB2_SHAREFLAG_ENABLE_HASH_V2" },
    { 0x00008000, "ENCRYPT_DATA", "SMB2_SHAREFLAG_ENCRYPT_DATA" },
    { 0x00040000, "IDENTITY_REMOTING", "SMB2_SHAREFLAG_IDENTITY_REMOTING" },
    { 0x00100000, "COMPRESS_DATA", "SMB2_SHAREFLAG_COMPRESS_DATA" },
    { 0x00200000, "ISOLATED_TRANSPORT", "SMB2_SHAREFLAG_ISOLATED_TRANSPORT" });

TABLE(smb2_share_caps_table, "smb2_share_capabilities", true,
    { 0x0008, "DFS", "SMB2_SHARE_CAP_DFS" },
    { 0x0010, "CONTINUOUS_AVAILABILITY", "SMB2_SHARE_CAP_CONTINUOUS_AVAILABILITY" },
    { 0x0020, "SCALEOUT", "SMB2_SHARE_CAP_SCALEOUT" },
    { 0x0040, "CLUSTER", "SMB2_SHARE_CAP_CLUSTER" },
    { 0x0080, "ASYMMETRIC", "SMB2_SHARE_CAP_ASYMMETRIC" },
    { 0x0100, "REDIRECT_TO_OWNER", "SMB2_SHARE_CAP_REDIRECT_TO_OWNER" });

TABLE(smb2_compression_flags_table, "smb2_compression_flags", true,
    { 0x00000001, "CHAINED", "SMB2_COMPRESSION_CAPABILITIES_FLAG_CHAINED" });

TABLE(smb2_transport_caps_table, "smb2_transport_capabilities", true,
    { 0x00000001, "ACCEPT_TRANSPORT_LEVEL_SECURITY", "SMB2_ACCEPT_TRANSPORT_LEVEL_SECURITY" });

TABLE(smb2_transform_flags_table, "smb2_transform_flags", true,
    { 0x0001, "ENCRYPTED", "SMB2_TRANSFORM_HEADER_FLAG_ENCRYPTED" });

TABLE(smb1_flags_table, "smb1_flags", true,
    { 0x01, "LOCK_AND_READ_OK", "SMB_FLAGS_LOCK_AND_READ_OK" },
    { 0x02, "BUF_AVAIL", "SMB_FLAGS_SEND_NO_ACK" },
    { 0x08, "CASE_INSENSITIVE", "SMB_FLAGS_CASE_INSENSITIVE" },
    { 0x10, "CANONICALIZED_PATHS", "SMB_FLAGS_CANONICALIZED_PATHS" },
    { 0x20, "OPLOCK", "SMB_FLAGS_OPLOCK" },
    { 0x40, "OPBATCH", "SMB_FLAGS_OPBATCH" },
    { 0x80, "REPLY", "SMB_FLAGS_REPLY" });

TABLE(smb1_flags2_table, "smb1_flags2", true,
    { 0x0001, "LONG_NAMES", "SMB_FLAGS2_LONG_NAMES" },
    { 0x0002, "EAS", "SMB_FLAGS2_EAS" },
    { 0x0004, "SECURITY_SIGNATURE", "SMB_FLAGS2_SMB_SECURITY_SIGNATURE" },
    { 0x0010, "SECURITY_SIGNATURE_REQUIRED", "SMB_FLAGS2_SECURITY_SIGNATURE_REQUIRED" },
    { 0x0040, "IS_LONG_NAME", "SMB_FLAGS2_IS_LONG_NAME" },
    { 0x0400, "REPARSE_PATH", "SMB_FLAGS2_REPARSE_PATH" },
    { 0x0800, "EXTENDED_SECURITY", "SMB_FLAGS2_EXTENDED_SECURITY" },
    { 0x1000, "DFS", "SMB_FLAGS2_DFS" },
    { 0x2000, "PAGING_IO", "SMB_FLAGS2_PAGING_IO" },
    { 0x4000, "NT_STATUS", "SMB_FLAGS2_NT_STATUS" },
    { 0x8000, "UNICODE", "SMB_FLAGS2_UNICODE" });

TABLE(smb1_capabilities_table, "smb1_capabilities", true,
    { 0x00000001, "RAW_MODE", "CAP_RAW_MODE" },
    { 0x00000002, "MPX_MODE", "CAP_MPX_MODE" },
    { 0x00000004, "UNICODE", "CAP_UNICODE" },
    { 0x00000008, "LARGE_FILES", "CAP_LARGE_FILES" },
    { 0x00000010, "NT_SMBS", "CAP_NT_SMBS" },
    { 0x00000020, "RPC_REMOTE_APIS", "CAP_RPC_REMOTE_APIS" },
    { 0x00000040, "STATUS32", "CAP_STATUS32" },
    { 0x00000080, "LEVEL_II_OPLOCKS", "CAP_LEVEL_II_OPLOCKS" },
    { 0x00000100, "LOCK_AND_READ", "CAP_LOCK_AND_READ" },
    { 0x00000200, "NT_FIND", "CAP_NT_FIND" },
    { 0x00001000, "DFS", "CAP_DFS" },
    { 0x00002000, "INFOLEVEL_PASSTHRU", "CAP_INFOLEVEL_PASSTHRU" },
    { 0x00004000, "LARGE_READX", "CAP_LARGE_READX" },
    { 0x00008000, "LARGE_WRITEX", "CAP_LARGE_WRITEX" },
    { 0x00010000, "LWIO", "CAP_LWIO" },
    { 0x00800000, "UNIX", "CAP_UNIX" },
    { 0x02000000, "COMPRESSED_DATA", "CAP_COMPRESSED_DATA" },
    { 0x20000000, "DYNAMIC_REAUTH", "CAP_DYNAMIC_REAUTH" },
    { 0x40000000, "PERSISTENT_HANDLES", "CAP_PERSISTENT_HANDLES" },
    { 0x80000000, "EXTENDED_SECURITY", "CAP_EXTENDED_SECURITY" });

TABLE(smb1_security_mode_table, "smb1_security_mode", true,
    { 0x01, "USER_SECURITY", "NEGOTIATE_USER_SECURITY" },
    { 0x02, "ENCRYPT_PASSWORDS", "NEGOTIATE_ENCRYPT_PASSWORDS" },
    { 0x04, "SIGNATURES_ENABLED", "NEGOTIATE_SECURITY_SIGNATURES_ENABLED" },
    { 0x08, "SIGNATURES_REQUIRED", "NEGOTIATE_SECURITY_SIGNATURES_REQUIRED" });

TABLE(smb1_action_table, "smb1_session_action", true,
    { 0x0001, "GUEST", "SMB_SETUP_GUEST" },
    { 0x0002, "USE_LANMAN_KEY", "SMB_SETUP_USE_LANMAN_KEY" });

TABLE(ntlmssp_flags_table, "ntlmssp_flags", true,
    { 0x00000001, "UNICODE", "NTLMSSP_NEGOTIATE_UNICODE" },
    { 0x00000002, "OEM", "NTLM_NEGOTIATE_OEM" },
    { 0x00000004, "REQUEST_TARGET", "NTLMSSP_REQUEST_TARGET" },
    { 0x00000010, "SIGN", "NTLMSSP_NEGOTIATE_SIGN" },
    { 0x00000020, "SEAL", "NTLMSSP_NEGOTIATE_SEAL" },
    { 0x00000040, "DATAGRAM", "NTLMSSP_NEGOTIATE_DATAGRAM" },
    { 0x00000080, "LM_KEY", "NTLMSSP_NEGOTIATE_LM_KEY" },
    { 0x00000200, "NTLM", "NTLMSSP_NEGOTIATE_NTLM" },
    { 0x00000800, "ANONYMOUS", "NTLMSSP_ANONYMOUS" },
    { 0x00001000, "OEM_DOMAIN_SUPPLIED", "NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED" },
    { 0x00002000, "OEM_WORKSTATION_SUPPLIED", "NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED" },
    { 0x00008000, "ALWAYS_SIGN", "NTLMSSP_NEGOTIATE_ALWAYS_SIGN" },
    { 0x00010000, "TARGET_TYPE_DOMAIN", "NTLMSSP_TARGET_TYPE_DOMAIN" },
    { 0x00020000, "TARGET_TYPE_SERVER", "NTLMSSP_TARGET_TYPE_SERVER" },
    { 0x00080000, "EXTENDED_SESSIONSECURITY", "NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY" },
    { 0x00100000, "IDENTIFY", "NTLMSSP_NEGOTIATE_IDENTIFY" },
    { 0x00400000, "NON_NT_SESSION_KEY", "NTLMSSP_REQUEST_NON_NT_SESSION_KEY" },
    { 0x00800000, "TARGET_INFO", "NTLMSSP_NEGOTIATE_TARGET_INFO" },
    { 0x02000000, "VERSION", "NTLMSSP_NEGOTIATE_VERSION" },
    { 0x20000000, "128", "NTLMSSP_NEGOTIATE_128" },
    { 0x40000000, "KEY_EXCH", "NTLMSSP_NEGOTIATE_KEY_EXCH" },
    { 0x80000000, "56", "NTLMSSP_NEGOTIATE_56" });

const struct smb_enum_entry *smb_enum_lookup(const struct smb_enum_table *t, uint32_t value)
{
    for (size_t i = 0; i < t->count; i++)
        if (t->entries[i].value == value)
            return &t->entries[i];
    return NULL;
}

const char *smb_enum_name(const struct smb_enum_table *t, uint32_t value, char *buf, size_t buflen)
{
    const struct smb_enum_entry *e = smb_enum_lookup(t, value);
    if (e)
        return e->short_name;
    if (buf && buflen) {
        snprintf(buf, buflen, "0x%x", (unsigned)value);
        return buf;
    }
    return "unknown";
}

/* Append s to buf at *used, never overflowing and always NUL-terminating. */
static void append(char *buf, size_t buflen, size_t *used, const char *s)
{
    size_t n = strlen(s);
    if (*used >= buflen)
        return;
    size_t room = buflen - 1 - *used;
    if (n > room)
        n = room;
    memcpy(buf + *used, s, n);
    *used += n;
    buf[*used] = '\0';
}

const char *smb_enum_bits(const struct smb_enum_table *t, uint32_t bits, const char *sep, char *buf, size_t buflen)
{
    size_t used = 0;
    uint32_t left = bits;
    if (!buf || !buflen)
        return "";
    buf[0] = '\0';
    for (size_t i = 0; i < t->count; i++) {
        uint32_t m = t->entries[i].value;
        if (m == 0 || (bits & m) == 0)
            continue;
        if (used)
            append(buf, buflen, &used, sep);
        append(buf, buflen, &used, t->entries[i].short_name);
        left &= ~m;
    }
    if (left) {
        char hex[16];
        snprintf(hex, sizeof hex, "0x%x", (unsigned)left);
        if (used)
            append(buf, buflen, &used, sep);
        append(buf, buflen, &used, hex);
    }
    return buf;
}

static const struct smb2_negctx_ids negctx_ids[] = {
    { 0x0001, "hash_algorithms", &smb2_preauth_hash_table },
    { 0x0002, "ciphers", &smb2_cipher_table },
    { 0x0003, "algorithms", &smb2_compression_alg_table },
    { 0x0007, "transforms", &smb2_rdma_transform_table },
    { 0x0008, "algorithms", &smb2_signing_alg_table },
};

const struct smb2_negctx_ids *smb2_negctx_ids_lookup(uint16_t type)
{
    for (size_t i = 0; i < sizeof negctx_ids / sizeof negctx_ids[0]; i++)
        if (negctx_ids[i].type == type)
            return &negctx_ids[i];
    return NULL;
}

const char *smb_signing_mode_word(bool negotiate_seen, bool required, bool server_enabled)
{
    if (!negotiate_seen)
        return NULL;
    return required ? "required" : server_enabled ? "enabled" : "disabled";
}

const char *smb_encryption_word(bool encrypted)
{
    return encrypted ? "encrypted" : "unencrypted";
}
