/* remedy.c - what to change, per product: the one table every report and
 * the plugin quote. */
#include "policy.h"

static const struct remedy_info remedies[REMEDY_COUNT] = {
    [REMEDY_NONE] = { "none", "no change needed", NULL, NULL, NULL },
    [REMEDY_CLIENT_NETBT_OFF] = {
        "client-netbt-off", "turn off NetBIOS over TCP/IP on the client",
        "per adapter: HKLM\\SYSTEM\\CurrentControlSet\\Services\\NetBT\\Parameters\\Interfaces\\Tcpip_{GUID} "
        "TcpipNetbiosOptions = 2, or DHCP: Microsoft vendor option (43) 1 = 2 (\"Disable NetBIOS over TCP/IP\")",
        "smb.conf [global]: disable netbios = yes, and stop nmbd; name resolve order = host (no bcast/wins)",
        NULL },
    [REMEDY_SERVER_NETBT_OFF] = {
        "server-netbt-off", "stop the server listening on 137/138/139",
        "disable NetBIOS over TCP/IP on the server's adapter (TcpipNetbiosOptions = 2)",
        "smb.conf [global]: disable netbios = yes and smb ports = 445; stop nmbd",
        "vserver cifs options modify -vserver SVM -is-netbios-over-tcp-enabled false; "
        "vserver cifs options modify -vserver SVM -is-nbns-enabled false" },
    [REMEDY_NBSS_OFF_PORT] = {
        "nbss-off-port", "stop NBSS session requests on direct-hosting ports",
        "disable NetBIOS over TCP/IP on the client, so it speaks direct-hosted SMB on 445",
        "smb.conf: disable netbios = yes (smbd then refuses NBSS session requests)", NULL },
    [REMEDY_SMB1_OFF] = {
        "smb1-off", "turn off SMB1",
        "Set-SmbServerConfiguration -EnableSMB1Protocol $false; "
        "Disable-WindowsOptionalFeature -Online -FeatureName SMB1Protocol",
        "smb.conf: server min protocol = SMB2_02 (and client min protocol = SMB2_02)",
        "vserver cifs options modify -vserver SVM -smb1-enabled false" },
    [REMEDY_MIN_DIALECT] = {
        "min-dialect", "raise the lowest dialect the server accepts",
        "update the client; Windows Server 2025: Set-SmbServerConfiguration -Smb2DialectMin SMB300",
        "smb.conf: server min protocol = SMB3 (or SMB3_11)",
        "vserver cifs options modify -vserver SVM -smb2-enabled false (keeps SMB 3.x)" },
    [REMEDY_SIGNING] = {
        "signing", "require SMB signing",
        "Set-SmbServerConfiguration -RequireSecuritySignature $true; "
        "Set-SmbClientConfiguration -RequireSecuritySignature $true",
        "smb.conf: server signing = mandatory", "vserver cifs security modify -vserver SVM -is-signing-required true" },
    [REMEDY_ENCRYPTION] = {
        "encryption", "require SMB encryption",
        "Set-SmbServerConfiguration -EncryptData $true (or Set-SmbShare -EncryptData $true per share)",
        "smb.conf: server smb encrypt = required",
        "vserver cifs security modify -vserver SVM -is-smb-encryption-required true" },
    [REMEDY_KERBEROS] = {
        "kerberos", "use Kerberos: connect by DNS name (not IP), with a domain account and an SPN for the server",
        "join the domain, use \\\\server.fqdn; audit then block NTLM for SMB "
        "(Set-SmbClientConfiguration -BlockNTLM $true on Windows 11 24H2 / Server 2025)",
        "smb.conf: security = ads, kerberos method = secrets and keytab; ntlm auth = disabled",
        "vserver cifs security modify -vserver SVM -lm-compatibility-level krb" },
    [REMEDY_DNS_NAME] = {
        "dns-name", "publish the name in DNS (A/AAAA record) before closing UDP 137",
        "add the record in DNS; check with Resolve-DnsName NAME -DnsOnly",
        "add the record in DNS; check with host NAME", NULL },
};

const struct remedy_info *remedy_info(enum remedy_id r)
{
    return (unsigned)r < REMEDY_COUNT ? &remedies[r] : &remedies[REMEDY_NONE];
}
