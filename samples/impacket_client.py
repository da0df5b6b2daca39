#!/usr/bin/python3
"""impacket_client.py - the impacket-driven clients of samples/generate.sh.

    impacket_client.py negative HOST
        NBSS session request to TCP 139 with a calling name of type 0x52:
        Samba answers with a Negative Session Response (0x83, code 0x82).
    impacket_client.py nbss-port HOST PORT USER PASS
        NBSS session request on PORT (not 139), then SMB2/3 over that NBSS
        session: negotiate, login, list the share "data", log off.
    impacket_client.py smbserver HOST USER PASS
        SMBConnection to "*SMBSERVER" on 139: impacket first asks the host's
        NetBIOS name with an NBSTAT query to UDP 137.
    impacket_client.py direct HOST USER PASS
        impacket's own negotiation on 445 (SMB1 multi-protocol negotiate
        offering SMB 2.002 / SMB 2.???), login, list, log off.

Runs with the Debian python3-impacket (0.10) under /usr/bin/python3.
Exit status 0 when the scenario behaved as expected.
"""
import sys

from impacket import nmb
from impacket.smbconnection import SMBConnection


def session_work(conn, user, password):
    conn.login(user, password, domain="SMBSCOPE")
    for entry in conn.listPath("data", "*"):
        print("  ", entry.get_longname())
    conn.logoff()
    conn.close()


def negative(host):
    try:
        nmb.NetBIOSTCPSession("SMBSCOPECLI", "SMBSCOPESRV", host, remote_type=nmb.TYPE_SERVER,
                              sess_port=139, timeout=5, local_type=0x52)
    except nmb.NetBIOSError as e:
        print("negative session response, as expected:", e)
        return 0
    print("session unexpectedly accepted")
    return 1


def nbss_port(host, port, user, password):
    # impacket sends an NBSS session request only when the port equals
    # nmb.NETBIOS_SESSION_PORT (read at call time): point it at our port.
    nmb.NETBIOS_SESSION_PORT = port
    conn = SMBConnection("SMBSCOPESRV", host, myName="SMBSCOPECLI", sess_port=port, timeout=5)
    print("NBSS session on port %d, dialect 0x%x" % (port, conn.getDialect()))
    session_work(conn, user, password)
    return 0


def smbserver(host, user, password):
    try:
        conn = SMBConnection("*SMBSERVER", host, sess_port=139, timeout=5)
        session_work(conn, user, password)
    except Exception as e:  # the NBSTAT query fails when nmbd is down: that is the point
        print("smbserver: %s" % e)
    return 0


def direct(host, user, password):
    conn = SMBConnection(host, host, sess_port=445, timeout=5)
    print("dialect 0x%x" % conn.getDialect())
    session_work(conn, user, password)
    return 0


def main(argv):
    if len(argv) >= 2 and argv[0] == "negative":
        return negative(argv[1])
    if len(argv) == 5 and argv[0] == "nbss-port":
        return nbss_port(argv[1], int(argv[2]), argv[3], argv[4])
    if len(argv) == 4 and argv[0] == "smbserver":
        return smbserver(argv[1], argv[2], argv[3])
    if len(argv) == 4 and argv[0] == "direct":
        return direct(argv[1], argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
