/* prefs.c - the command's policy options as Wireshark preferences
 * (Edit > Preferences > Protocols > smbscope; tshark -o smbscope.NAME:VALUE).
 *
 * The preferences only fill a struct policy; the rules themselves are
 * libsmbscope's (dissector/policy), so the plugin judges a flow exactly as
 * `smbscope --allow-smb1 --min-dialect 3.0 ...` does.  Changing one makes
 * Wireshark dissect the file again, and every verdict follows. */
#include "smbscope.h"

#include <epan/prefs.h>
#include <wsutil/report_message.h>

#include "dialect.h"

static struct policy current;

static gboolean pref_allow_netbios;
static gboolean pref_allow_smb1;
static gboolean pref_require_signing;
static gboolean pref_require_encryption;
static gboolean pref_require_kerberos;
static gint pref_min_dialect; /* an SMB2 dialect code, 0 for no minimum */
static const char *pref_allow_transport = ""; /* --allow-transport's list; empty: any direct-hosted transport */

const struct policy *smbscope_policy(void)
{
    return &current;
}

static void apply(void)
{
    current = policy_default();
    current.allow_netbios = pref_allow_netbios;
    current.allow_smb1 = pref_allow_smb1;
    current.require_signing = pref_require_signing;
    current.require_encryption = pref_require_encryption;
    current.min_dialect = (uint16_t)pref_min_dialect;
    current.require_kerberos = pref_require_kerberos;
    char err[128];
    if (pref_allow_transport && *pref_allow_transport
        && !policy_parse_transports(&current, pref_allow_transport, err, sizeof err)) {
        /* The command refuses such a list; here the rule stays off and
         * the user is told why. */
        current.n_transports = 0;
        report_failure("smbscope.allow_transport: %s", err);
    }
}

/* "none" and every comparable dialect of the shared table, weakest first. */
static const enum_val_t *min_dialect_values(void)
{
    size_t n = 0;
    while (smb2_dialect_at(n))
        n++;
    enum_val_t *vals = wmem_alloc0_array(wmem_epan_scope(), enum_val_t, n + 2);
    size_t k = 0;
    vals[k].name = "none";
    vals[k].description = "No minimum";
    vals[k++].value = 0;
    for (size_t i = 0; i < n; i++) {
        const struct smb2_dialect_info *d = smb2_dialect_at(i);
        if (!d->rank)
            continue; /* the 2.x wildcard is not a dialect one can require */
        vals[k].name = d->short_name;
        vals[k].description = d->long_name;
        vals[k++].value = d->code;
    }
    return vals; /* zeroed terminator after the last row */
}

void smbscope_prefs_register(int proto)
{
    struct policy d = policy_default();
    pref_allow_netbios = d.allow_netbios;
    pref_allow_smb1 = d.allow_smb1;
    pref_require_signing = d.require_signing;
    pref_require_encryption = d.require_encryption;
    pref_min_dialect = d.min_dialect;
    pref_require_kerberos = d.require_kerberos;

    module_t *m = prefs_register_protocol(proto, apply);
    prefs_register_bool_preference(m, "allow_netbios", "Allow NetBIOS",
        "Do not count NetBIOS traffic and attempts as violations (smbscope --allow-netbios)", &pref_allow_netbios);
    prefs_register_bool_preference(m, "allow_smb1", "Allow SMB1",
        "Do not count SMB1 connections as violations (smbscope --allow-smb1)", &pref_allow_smb1);
    prefs_register_enum_preference(m, "min_dialect", "Minimum dialect",
        "Lowest SMB2/3 dialect the policy accepts (smbscope --min-dialect)", &pref_min_dialect,
        min_dialect_values(), FALSE);
    prefs_register_bool_preference(m, "require_signing", "Require signing",
        "Every SMB connection must be signed or encrypted (smbscope --require-signing)", &pref_require_signing);
    prefs_register_bool_preference(m, "require_encryption", "Require encryption",
        "Every SMB connection must be encrypted (smbscope --require-encryption)", &pref_require_encryption);
    prefs_register_bool_preference(m, "require_kerberos", "Require Kerberos",
        "Every SMB session must authenticate with Kerberos (smbscope --require-kerberos)", &pref_require_kerberos);
    prefs_register_string_preference(m, "allow_transport", "Allowed transports",
        "Transports and ports SMB may use, e.g. direct:445,quic:443 or quic:* (smbscope --allow-transport); "
        "empty: every direct-hosted transport on any port", &pref_allow_transport);
    apply();
}
