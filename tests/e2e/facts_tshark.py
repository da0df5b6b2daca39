"""facts_tshark.py - the tshark side of tshark_facts.py: one `tshark -T fields`
pass over a capture, read as rows of field -> list of occurrences; where a
frame's innermost TCP/UDP layer is; and the source of a capture cut from
another one (NAME.origin)."""

import os
import subprocess

# Field order of the tshark run; every value is a '|'-joined list of occurrences.
FIELDS = [
    "frame.number", "frame.protocols", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
    "tcp.stream", "tcp.srcport", "tcp.dstport", "tcp.flags.syn", "tcp.flags.ack",
    "tcp.flags.reset",
    "udp.srcport", "udp.dstport",
    "icmp.type", "icmp.code", "icmpv6.type", "icmpv6.code",
    "nbss.type", "nbss.error_code",
    "smb.cmd", "smb.flags.response", "smb.dialect", "smb.dialect.index",
    "smb2.protocol_id", "smb2.cmd", "smb2.flags.response", "smb2.dialect",
    "smb2.flags.signature",
    "nbns.flags.response", "nbns.flags.opcode", "nbns.id", "nbdgm.type",
    "infiniband.bth.destqp", "smb_direct.version.min", "smb_direct.version.negotiated",
    "infiniband.bth.opcode", "infiniband.bth.psn",
]


def num(text):
    """tshark prints integers in decimal or 0x-hex; booleans as 1/0 (or True/False)."""
    if text in ("True", "true"):
        return 1
    if text in ("False", "false"):
        return 0
    return int(text, 0)


def run_tshark(tshark, capture, nbss_ports):
    # artemis claims TCP 5445 (SMB Direct's iWARP port) before iwarp_mpa's heuristic
    cmd = [tshark, "-n", "-r", capture, "--disable-protocol", "artemis", "-T", "fields",
           "-E", "occurrence=a", "-E", "aggregator=|", "-E", "separator=/t"]
    for port in nbss_ports:
        cmd += ["-d", "tcp.port==%d,nbss" % port]
    for f in FIELDS:
        cmd += ["-e", f]
    env = dict(os.environ, LC_ALL="C")
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RuntimeError("tshark failed on %s: %s" % (capture, err[-1] if err else "exit %d" % proc.returncode))
    for line in proc.stdout.decode("utf-8", "replace").split("\n"):
        if not line:
            continue
        vals = line.split("\t")
        vals += [""] * (len(FIELDS) - len(vals))
        yield {f: (v.split("|") if v != "" else []) for f, v in zip(FIELDS, vals)}


def locate(row, proto):
    """Addresses and ports of the innermost `proto` (tcp/udp) layer of a frame.

    frame.protocols gives the layer chain (e.g. eth:ethertype:ip:udp:teredo:
    ipv6:tcp:nbss:smb2, or eth:ethertype:ip:icmp:ip:udp:nbns for an ICMP error
    quoting a datagram).  The network layer that carries the transport is the
    nearest ip/ipv6 before it; its occurrence number picks the right value
    among the aggregated ip.src / ipv6.src occurrences.  Tunnels and ICMP
    quotes are thereby handled alike.  Returns (src, dst, sport, dport) or None.
    """
    chain = row["frame.protocols"][0].split(":") if row["frame.protocols"] else []
    where = [i for i, p in enumerate(chain) if p == proto]
    if not where:
        return None
    pos, t_occ = where[-1], len(where) - 1
    for j in range(pos - 1, -1, -1):
        if chain[j] in ("ip", "ipv6"):
            net, n_occ = chain[j], chain[:j].count(chain[j])
            break
    else:
        return None

    def pick(field, occ):
        vals = row[field]
        return vals[occ] if occ < len(vals) else (vals[-1] if vals else None)

    src, dst = pick(net + ".src", n_occ), pick(net + ".dst", n_occ)
    sport, dport = pick(proto + ".srcport", t_occ), pick(proto + ".dstport", t_occ)
    if None in (src, dst, sport, dport):
        return None
    return src, dst, num(sport), num(dport)


def origin_of(capture, tshark):
    """(source capture, first frame) when NAME.origin lies beside NAME.pcap: a
    capture cut from another one (editcap -r) whose facts tshark can only
    give in the source's context (a mid-stream iWARP cut: tshark's MPA
    dissector needs the MPA startup it missed).  The cut's frames must be
    the source's frames from first on, byte for byte (tshark's MD5 of each
    frame)."""
    path = os.path.splitext(capture)[0] + ".origin"
    if not os.path.exists(path):
        return None
    src, first = open(path).read().split()
    src = os.path.join(os.path.dirname(capture), src)
    first = int(first)

    def hashes(cap):
        out = subprocess.run([tshark, "-n", "-r", cap, "-o", "frame.generate_md5_hash:TRUE", "-T", "fields",
                              "-e", "frame.md5_hash"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             check=True).stdout.decode().split()
        return out
    if hashes(capture) != hashes(src)[first - 1:]:
        raise RuntimeError("%s is not frames %d.. of %s" % (capture, first, src))
    return src, first
