"""facts_roce.py - SMB Direct over RoCEv2 (UDP 4791) for tshark_facts.py: the
queue-pair pairs that carry SMB Direct and their manifest rows."""

from facts_smb import TcpConn, smb_columns, smb_facts
from facts_tshark import locate, num

PSN_MASK = 0xFFFFFF
# How far a direction's ACKs may be from its reverse's requests (the
# requests in flight unseen when the capture began); pairs looked at for one
# packet, the oldest first.
PSN_NEAR = 0x10000
JOIN_SCAN = 16
SEND_ONLY = (0x04, 0x05, 0x17)


def psn_role(op):
    """Which sequence an RC opcode's PSN counts (IBA 9.7): a response's (ACK,
    Atomic ACK, RDMA Read Response: 0x0D-0x12) the requests it answers, a
    request's its sender's own; other opcodes neither."""
    if 0x0D <= op <= 0x12:
        return "response"
    if op <= 0x0C or op in (0x13, 0x14, 0x16, 0x17):
        return "request"
    return None


def psn_within(x, lo, hi):
    return ((x - lo) & PSN_MASK) <= ((hi - lo) & PSN_MASK)


class RoceConn(TcpConn):
    """One RC queue-pair pair of RoCEv2 (UDP 4791) between two addresses."""

    def __init__(self, key):
        TcpConn.__init__(self, key)
        self.halves = []          # (src, dst, destqp) of each direction, in order of appearance
        self.client = None        # (addr, UDP source port) of the SMBD negotiate request sender
        self.server = None
        self.requests = None      # [first, last] PSN of the first direction's requests while alone
        self.acked = None         # the last PSN its responses named

    def note(self, op, psn):
        role = psn_role(op)
        if role == "response":
            self.acked = psn
        elif role == "request":
            r = self.requests
            if r is None:
                self.requests = [psn, psn]
            elif not psn_within(psn, r[0], r[1]):
                r[1 if (psn - r[1]) & PSN_MASK < 0x800000 else 0] = psn

    def evidence(self, op, psn, negotiate):
        """+1: the PSNs say the packet (from the pair's receiver) is this
        pair's reverse, 0: nothing, -1: another's.  An SMBD negotiate request
        opens a connection: its peer sent at most the ACK of it."""
        r = self.requests
        if negotiate:
            return -1 if r is not None else 0 if self.acked is None else 1 if self.acked == psn else -1
        role = psn_role(op)
        if role == "response" and r is not None:
            if psn_within(psn, r[0], r[1]):
                return 1
            return 0 if psn_within(psn, (r[0] - PSN_NEAR) & PSN_MASK, (r[1] + PSN_NEAR) & PSN_MASK) else -1
        if role == "request" and self.acked is not None:
            return 1 if psn_within(psn, (self.acked - PSN_NEAR) & PSN_MASK, (self.acked + PSN_NEAR) & PSN_MASK) else -1
        return 0


def handle_roce(row, frame, roce):
    """A RoCEv2 frame: BTH on UDP 4791.  Without the connection manager's
    REQ/REP (not captured), a direction from B to A seen for the first time
    joins a pair only A sent to so far, the one its PSNs are for (an ACK
    names the PSNs of the requests it answers), else the oldest they say
    nothing against, among the 16 oldest; else it starts a pair (SMB Direct
    runs one QP pair per SMB connection).  A stray packet to another QP of
    B's host seen first then does not take B's direction."""
    loc = locate(row, "udp")
    if loc is None or not row["infiniband.bth.destqp"]:
        return
    src, dst, sport, dport = loc
    half = (src, dst, num(row["infiniband.bth.destqp"][0]))
    op = num(row["infiniband.bth.opcode"][0]) if row["infiniband.bth.opcode"] else 0xFF
    psn = num(row["infiniband.bth.psn"][0]) if row["infiniband.bth.psn"] else 0
    c = next((c for c in roce if half in c.halves), None)
    if c is None:
        negotiate = (op in SEND_ONLY and bool(row["smb_direct.version.min"])
                     and not row["smb_direct.version.negotiated"])
        waiting = [c for c in roce if len(c.halves) == 1 and c.halves[0][:2] == (dst, src)]
        waiting = waiting[:JOIN_SCAN] + waiting[JOIN_SCAN:][-JOIN_SCAN:]  # the 16 oldest and the 16 newest
        said = [c.evidence(op, psn, negotiate) for c in waiting]
        c = next((c for c, e in zip(waiting, said) if e > 0), None) or \
            next((c for c, e in zip(waiting, said) if e == 0), None)
        if c is None:
            c = RoceConn(len(roce))
            c.first_frame = frame
            roce.append(c)
        c.halves.append(half)
    if len(c.halves) == 1:
        c.note(op, psn)
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
