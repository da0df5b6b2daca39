"""facts_roce.py - SMB Direct over RoCEv2 (UDP 4791) for tshark_facts.py: the
queue-pair pairs that carry SMB Direct and their manifest rows."""

from facts_smb import TcpConn, smb_columns, smb_facts
from facts_tshark import locate, num

class RoceConn(TcpConn):
    """One RC queue-pair pair of RoCEv2 (UDP 4791) between two addresses."""

    def __init__(self, key):
        TcpConn.__init__(self, key)
        self.halves = []          # (src, dst, destqp) of each direction, in order of appearance
        self.client = None        # (addr, UDP source port) of the SMBD negotiate request sender
        self.server = None


def handle_roce(row, frame, roce):
    """A RoCEv2 frame: BTH on UDP 4791.  Without the connection manager's
    REQ/REP (not captured), the two directions of a queue-pair pair are
    joined in order of appearance: the first direction from B to A joins the
    first unpaired direction from A to B (SMB Direct runs one QP pair per
    SMB connection)."""
    loc = locate(row, "udp")
    if loc is None or not row["infiniband.bth.destqp"]:
        return
    src, dst, sport, dport = loc
    half = (src, dst, num(row["infiniband.bth.destqp"][0]))
    c = next((c for c in roce if half in c.halves), None)
    if c is None:
        c = next((c for c in roce if len(c.halves) == 1 and c.halves[0][:2] == (dst, src)), None)
        if c is None:
            c = RoceConn(len(roce))
            c.first_frame = frame
            roce.append(c)
        c.halves.append(half)
    c.packets += 1
    c.ends[(src, sport)] = c.ends.get((src, sport), 0) + 1
    if (row["smb_direct.version.min"] and not row["smb_direct.version.negotiated"]
            and c.client is None):
        c.client, c.server = (src, sport), (dst, dport)
    smb_facts(row, frame, c)


def roce_row(name, c):
    if not (c.smb1_seen or c.smb2_seen or c.encrypted or c.client):
        return None
    notes = []
    if c.client is None:
        notes.append("SMBD negotiate request not captured: client guessed as the first sender")
        (src, dst, _), sport = c.halves[0], next(p for (a, p) in c.ends if a == c.halves[0][0])
        c.client, c.server = (src, sport), (dst, 4791)
    cols = smb_columns(c, notes)
    return dict(cols, **{
        "file": name, "kind": "udp", "client": c.client[0], "client_port": c.client[1],
        "server": c.server[0], "server_port": c.server[1], "transport": "rdma-roce",
        "netbios_service": "-", "netbios_state": "-", "packets": c.packets, "nbss_types": "-",
        "note": "; ".join(notes) or "-",
    })
