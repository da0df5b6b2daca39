"""facts_netbios_udp.py - NetBIOS over UDP (137/138/139) for tshark_facts.py:
flows, their answers (also from other addresses than the one asked) and
their manifest rows."""

from facts_tshark import locate, num

NETBIOS_UDP = {137: "nbns", 138: "nbdgm", 139: "nbss"}


class UdpFlow:
    def __init__(self, client, server, service_port):
        self.client = client          # (addr, port)
        self.server = server          # addr
        self.service_port = service_port
        self.first_frame = None
        self.packets = 0
        self.requests = 0
        self.queries_only = True
        self.answers_from = set()
        self.icmp = None              # description of the ICMP error, if any
        self.request_missing = False  # first packet seen was an answer
        self.answer_to = None         # the address a broadcast query went to
        self.pending_ids = set()      # NBNS name-query transaction ids not answered yet


def handle_udp(row, frame, flows, order):
    loc = locate(row, "udp")
    if loc is None:
        return
    src, dst, sport, dport = loc
    if sport not in NETBIOS_UDP and dport not in NETBIOS_UDP:
        return
    is_nbns_resp = bool(row["nbns.flags.response"] and num(row["nbns.flags.response"][0]))
    # An answer: from a NetBIOS port back to the client end of a flow, either to
    # an ephemeral port or, NetBIOS port to NetBIOS port, an NBNS response.
    if sport in NETBIOS_UDP and (dport not in NETBIOS_UDP or (sport == 137 and is_nbns_resp)):
        same_end = [f for f in flows.values() if f.client == (dst, dport) and f.service_port == sport]
        # An NBNS answer answers the query with its transaction id, whichever
        # flow of this client end sent it (a broadcast query is answered from
        # the server's own address); other services: any flow of the end.
        nid = row["nbns.id"][0] if sport == 137 and row["nbns.id"] else None
        if nid is not None:
            asked = next((f for f in same_end if nid in f.pending_ids), None)
        else:
            asked = same_end[0] if same_end else None
        if asked is not None:
            asked.answers_from.add(src)
            asked.pending_ids.discard(nid)
        own = next((f for f in same_end if f.server == src), None)
        if own is not None:
            own.packets += 1
            own.answers_from.add(src)
            return
        if dport not in NETBIOS_UDP or is_nbns_resp:
            # An answer from another address than the one asked is a flow of
            # its own: the host that answers NetBIOS must show up in the
            # ledger.  With no query at all, the request was not captured.
            key = (dst, dport, src, sport)
            f = flows[key] = UdpFlow((dst, dport), src, sport)
            f.first_frame = frame
            f.request_missing = asked is None and not same_end
            if asked is not None and asked.server != src:
                f.answer_to = asked.server
            order.append(key)
            f.packets += 1
            f.answers_from.add(src)
            return
    service = dport if dport in NETBIOS_UDP else sport
    key = (src, sport, dst, service)
    f = flows.get(key)
    if f is None:
        f = flows[key] = UdpFlow((src, sport), dst, service)
        f.first_frame = frame
        order.append(key)
    f.packets += 1
    f.requests += 1
    if service == 137 and not is_nbns_resp and row["nbns.id"] and row["nbns.flags.opcode"] \
            and num(row["nbns.flags.opcode"][0]) == 0:
        f.pending_ids.add(row["nbns.id"][0])
    if service == 137:
        op = row["nbns.flags.opcode"]
        if is_nbns_resp or not op or num(op[0]) != 0:
            f.queries_only = False
    else:
        f.queries_only = False


def udp_row(name, f):
    service = NETBIOS_UDP[f.service_port]
    notes = []
    if f.request_missing:
        notes.append("request not captured")
    if f.answer_to:
        notes.append("answers a query sent to " + f.answer_to)
    if f.icmp:
        state = "refused"
        notes.append(f.icmp)
    elif f.answers_from:
        state = "datagram"
        if f.answers_from != {f.server}:
            notes.append("answered by " + ",".join(sorted(f.answers_from)))
    elif f.queries_only:
        state = "no-answer"
    else:
        state = "datagram"
        notes.append("unanswered datagrams (not queries)")
    return {
        "file": name, "kind": "udp", "client": f.client[0], "client_port": f.client[1],
        "server": f.server, "server_port": f.service_port, "transport": "-",
        "smb1_dialects_offered": "-", "dialects_offered": "-", "dialect": "-",
        "smb_version": "-", "netbios_service": service, "netbios_state": state,
        "packets": f.packets, "nbss_types": "-", "encrypted_pdus": 0, "signed_pdus": 0,
        "note": "; ".join(notes) or "-",
    }
