"""facts_smb.py - per TCP connection facts for tshark_facts.py: the
connection's ends, handshake and NBSS messages, the SMB1/SMB2 negotiation and
PDU counts (whatever carries SMB), and the manifest row they make."""

from facts_tshark import locate, num

SMB2_DIALECTS = {  # same short names as dissector/smb/dialect.c
    0x0202: ("2.0.2", 2), 0x0210: ("2.1", 2), 0x0222: ("2.2.2", 3),
    0x0224: ("2.2.4", 3), 0x02FF: ("2.x", 2), 0x0300: ("3.0", 3),
    0x0302: ("3.0.2", 3), 0x0310: ("3.1.0", 3), 0x0311: ("3.1.1", 3),
}
SMB1_TO_SMB2 = {"SMB 2.002": 0x0202, "SMB 2.???": 0x02FF}
SMB1_TO_SMB2 = {"SMB 2.002": 0x0202, "SMB 2.???": 0x02FF}
NBSS_NAMES = {0x00: "message", 0x81: "request", 0x82: "positive", 0x83: "negative",
              0x84: "retarget", 0x85: "keepalive"}
NBSS_SETUP = (0x81, 0x82, 0x83, 0x84)
WELL_KNOWN_TCP = (139, 445)


def dialect_name(code):
    d = SMB2_DIALECTS.get(code)
    return d[0] if d else "0x%04x" % code


def dialect_version(code):
    d = SMB2_DIALECTS.get(code)
    return d[1] if d else (3 if code >= 0x0300 else 2)


class TcpConn:
    def __init__(self, stream):
        self.stream = stream
        self.first_frame = None
        self.packets = 0
        self.ends = {}            # (addr, port) -> frames sent
        self.syn_from = None      # (addr, port) of the SYN sender
        self.synack_to = None
        self.rst_from = set()
        self.icmp_refused = False
        self.nbss = {}            # type -> count
        self.nbss_negative_codes = []
        self.smb1_seen = False
        self.smb2_seen = False
        self.smb1_offer = None    # list of strings of the first SMB1 NEGOTIATE request
        self.smb1_choice = None   # string (or note) of the SMB1 NEGOTIATE response
        self.smb1_index_bad = None
        self.smb2_offer = None    # codes of the first SMB2 NEGOTIATE request
        self.smb2_choice = None   # code of the last SMB2 NEGOTIATE response
        self.smb2_choices = []
        self.encrypted = 0
        self.signed = 0
        self.notes = []
        self.iwarp = False        # an MPA request/reply or FPDU seen (SMB Direct over iWARP)


def handle_tcp(row, frame, conns):
    loc = locate(row, "tcp")
    if loc is None:
        return
    stream = num(row["tcp.stream"][-1])
    c = conns.get(stream)
    if c is None:
        c = conns[stream] = TcpConn(stream)
        c.first_frame = frame
    c.packets += 1
    src, dst, sport, dport = loc
    me = (src, sport)
    c.ends[me] = c.ends.get(me, 0) + 1
    c.ends.setdefault((dst, dport), 0)
    syn = row["tcp.flags.syn"] and num(row["tcp.flags.syn"][0])
    ack = row["tcp.flags.ack"] and num(row["tcp.flags.ack"][0])
    if syn and not ack and c.syn_from is None:
        c.syn_from = me
    if syn and ack and c.synack_to is None:
        c.synack_to = (dst, dport)
    if row["tcp.flags.reset"] and num(row["tcp.flags.reset"][0]):
        c.rst_from.add(me)

    for t in row["nbss.type"]:
        t = num(t)
        c.nbss[t] = c.nbss.get(t, 0) + 1
    for e in row["nbss.error_code"]:
        c.nbss_negative_codes.append(num(e))
    if "iwarp_mpa" in row["frame.protocols"][0].split(":"):
        c.iwarp = True
    smb_facts(row, frame, c)


def smb_facts(row, frame, c):
    """SMB1/SMB2 facts of one frame, whatever carries it (NBSS, direct TCP, SMB Direct)."""
    # SMB1: tshark shows one smb.cmd per command of an AndX chain.
    if row["smb.cmd"]:
        c.smb1_seen = True
        if 0x72 in [num(x) for x in row["smb.cmd"]]:
            resp = row["smb.flags.response"] and num(row["smb.flags.response"][0])
            if not resp and c.smb1_offer is None:
                c.smb1_offer = list(row["smb.dialect"])
            elif resp:
                if row["smb.dialect.index"]:
                    idx = num(row["smb.dialect.index"][0])
                    if c.smb1_offer is not None and 0 <= idx < len(c.smb1_offer):
                        c.smb1_choice = c.smb1_offer[idx]
                    else:
                        c.smb1_index_bad = idx
    # SMB2: a frame may carry several PDUs (compound or several NBSS messages).
    pids = [num(x) for x in row["smb2.protocol_id"]]
    c.encrypted += sum(1 for p in pids if p == 0xFD534D42)
    if any(p == 0xFE534D42 for p in pids):
        c.smb2_seen = True
    c.signed += sum(num(x) for x in row["smb2.flags.signature"])
    cmds = [num(x) for x in row["smb2.cmd"]]
    if cmds and cmds[0] == 0 and len(cmds) == 1:   # NEGOTIATE is never compounded
        resp = row["smb2.flags.response"] and num(row["smb2.flags.response"][0])
        codes = [num(x) for x in row["smb2.dialect"]]
        if not resp and c.smb2_offer is None and codes:
            c.smb2_offer = codes
        elif resp and codes:
            c.smb2_choice = codes[0]
            c.smb2_choices.append(codes[0])
        elif not codes:
            c.notes.append("frame %d: SMB2 NEGOTIATE without dialect field (truncated?)" % frame)


def tcp_row(name, c):
    ports = [p for (_, p) in c.ends]
    has_smb = c.smb1_seen or c.smb2_seen or c.encrypted
    has_nbss_setup = any(t in c.nbss for t in NBSS_SETUP) or 0x85 in c.nbss
    if not (has_smb or has_nbss_setup or 139 in ports):
        return None
    notes = list(c.notes)
    # Who is the client.
    if c.syn_from is not None:
        client = c.syn_from
    elif c.synack_to is not None:
        client = c.synack_to
    else:
        ends = list(c.ends)
        known = [e for e in ends if e[1] in WELL_KNOWN_TCP]
        server_guess = known[0] if known else min(ends, key=lambda e: e[1])
        client = [e for e in ends if e != server_guess][0] if len(ends) > 1 else ends[0]
        notes.append("client guessed from ports (no SYN/SYN-ACK)")
    others = [e for e in c.ends if e != client]
    server = others[0] if others else ("-", 0)
    handshake = c.syn_from is not None or c.synack_to is not None

    setup_seen = any(t in c.nbss for t in NBSS_SETUP)
    carried = bool(c.nbss) or c.smb1_seen or c.smb2_seen
    if not carried:
        transport = "-"  # a SYN refused or unanswered, or no payload: no SMB connection
    elif c.iwarp:
        transport = "rdma-iwarp"  # SMB Direct: MPA/DDP/RDMAP carry SMBD, no NBSS framing at all
    elif setup_seen:
        transport = "nbt" if server[1] == 139 else "nbt-nonstandard-port"
    elif server[1] == 139:
        transport = "nbt"
    elif not handshake:
        transport = "unknown-start"
    else:
        transport = "direct"
    if 0x85 in c.nbss and transport == "direct":
        notes.append("NBSS keep-alive on a direct connection")

    netbios_service = "nbss" if (server[1] == 139 or setup_seen) else "-"
    netbios_state = "-"
    if netbios_service == "nbss":
        server_sent = c.ends.get(server, 0)
        if c.synack_to is not None or (not handshake and server_sent and c.ends.get(client, 0)):
            netbios_state = "established"
        elif server in c.rst_from or c.icmp_refused:
            netbios_state = "refused"
        elif server_sent == 0:
            netbios_state = "no-answer"
        else:
            netbios_state = "refused" if server in c.rst_from else "no-answer"
    if 0x83 in c.nbss:
        codes = ",".join("0x%02x" % x for x in c.nbss_negative_codes) or "?"
        notes.append("NBSS negative session response, error code %s" % codes)

    cols = smb_columns(c, notes)
    nbss_types = "|".join("0x%02x:%d" % (t, c.nbss[t]) for t in sorted(c.nbss)) or "-"
    return dict(cols, **{
        "file": name, "kind": "tcp", "client": client[0], "client_port": client[1],
        "server": server[0], "server_port": server[1], "transport": transport,
        "netbios_service": netbios_service, "netbios_state": netbios_state,
        "packets": c.packets, "nbss_types": nbss_types,
        "note": "; ".join(notes) or "-",
    })


def smb_columns(c, notes):
    """The dialect, version and PDU-count columns of a connection (appends to notes)."""
    smb1_offer = "|".join(c.smb1_offer) if c.smb1_offer else "-"
    if c.smb2_offer:
        offered = "|".join(dialect_name(x) for x in c.smb2_offer)
    elif c.smb1_offer and any(s in SMB1_TO_SMB2 for s in c.smb1_offer):
        offered = "|".join(dialect_name(SMB1_TO_SMB2[s]) for s in c.smb1_offer if s in SMB1_TO_SMB2)
    else:
        offered = "-"
    if c.smb2_choice is not None:
        dialect = dialect_name(c.smb2_choice)
        version = str(dialect_version(c.smb2_choice))
        if len(c.smb2_choices) > 1:
            notes.append("renegotiated: " + " -> ".join(dialect_name(x) for x in c.smb2_choices))
    elif c.smb1_choice is not None:
        dialect = c.smb1_choice
        version = "1"
    else:
        dialect = "-"
        version = "1" if c.smb1_seen and not c.smb2_seen else "-"
        if c.smb1_index_bad is not None:
            notes.append("SMB1 DialectIndex %d not in the offer" % c.smb1_index_bad)
        if c.smb2_seen and not c.encrypted:
            notes.append("SMB2 seen but no NEGOTIATE response dialect")
        elif c.encrypted and not c.smb2_seen:
            notes.append("only SMB2 TRANSFORM headers seen")
    if c.smb1_choice is not None and c.smb2_choice is not None:
        notes.append("SMB1 negotiate answered with SMB1 dialect %s, then SMB2" % c.smb1_choice)
    elif c.smb1_offer and c.smb2_choice is not None:
        notes.append("SMB1 negotiate upgraded to SMB2")

    return {
        "smb1_dialects_offered": smb1_offer, "dialects_offered": offered,
        "dialect": dialect, "smb_version": version,
        "encrypted_pdus": c.encrypted, "signed_pdus": c.signed,
    }
