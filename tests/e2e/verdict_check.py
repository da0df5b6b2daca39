#!/usr/bin/python3
"""verdict_check.py - the verdict is proof: pass only with evidence.

Outcomes (README): pass 0, fail 1, error 2 (usage, no readable input),
inconclusive 3; JSON verdict.outcome, verdict.pass true only for a pass.
Expected values come from the captures themselves (their construction, or
the samples' MANIFEST facts from tshark).

Usage: verdict_check.py --smbscope BIN --samples DIR
"""

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

failures = []


def expect(name, cond, detail=""):
    print("%-4s %s%s" % ("ok" if cond else "FAIL", name, "" if cond else ": " + str(detail)[:400]))
    if not cond:
        failures.append(name)


def run(b, args):
    p = subprocess.run([b, "-q"] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def jrun(b, args):
    rc, out, err = run(b, ["--format", "json"] + args)
    try:
        return rc, json.loads(out)
    except ValueError:
        return rc, None


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def udp4(src, dst, sport, dport, payload):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, bytes(src), bytes(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    return eth + ip + udp


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000 + i // 1000, (i % 1000) * 1000, len(fr), len(fr)))
            f.write(fr)


def nbns_query(txid, name=b"FILESRV"):
    # RFC 1002 4.2.12: name query, broadcast (B) and recursion desired
    enc = b"".join(bytes([0x41 + (c >> 4), 0x41 + (c & 15)]) for c in name.ljust(15, b" ") + b"\x20")
    return struct.pack("!HHHHHH", txid, 0x0110, 1, 0, 0, 0) + b"\x20" + enc + b"\x00" + struct.pack("!HH", 0x20, 1)


def dns_name(dotted):
    return b"".join(bytes([len(l)]) + l for l in dotted.encode().split(b".")) + b"\x00"


def dns_query(name="example.com", txid=7):
    return struct.pack("!HHHHHH", txid, 0x0100, 1, 0, 0, 0) + dns_name(name) + struct.pack("!HH", 1, 1)


def dns_answer(name, txid=8):
    """A response whose answer owner name is a compression pointer to the
    question (RFC 1035 4.1.4: 0xC00C)."""
    return (struct.pack("!HHHHHH", txid, 0x8180, 1, 1, 0, 0) + dns_name(name) + struct.pack("!HH", 1, 1) +
            b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([10, 213, 1, 1]))


def names_checks(b, tmp):
    """Names that closing UDP 137 would break: NBNS-only names per client."""
    cli, srv = [10, 213, 1, 2], [10, 213, 1, 1]
    frames = [
        udp4(cli, srv, 40001, 137, nbns_query(1, b"FILESRV")),           # also in DNS (lower case, FQDN)
        udp4(cli, srv, 40002, 53, dns_query("filesrv.corp.example", 2)),
        udp4(cli, srv, 40003, 137, nbns_query(3, b"AVERYVERYVERYLO")),   # DNS label cut to 15 characters
        udp4(srv, cli, 53, 40004, dns_answer("averyveryverylongname.corp.example", 4)),
        udp4(cli, [224, 0, 0, 251], 5353, 5353, dns_query("printer.local", 0)),   # mDNS
        udp4(cli, srv, 40005, 137, nbns_query(5, b"PRINTER")),
        udp4(cli, [224, 0, 0, 252], 40006, 5355, dns_query("nas", 6)),  # LLMNR
        udp4(cli, srv, 40007, 137, nbns_query(7, b"NAS")),
        udp4(cli, srv, 40008, 137, nbns_query(8, b"LEGACYSRV")),         # NBNS only
    ]
    path = os.path.join(tmp, "names.pcap")
    write_pcap(path, frames)
    rc, doc = jrun(b, [path])
    only = sorted(f["detail"].split(" resolved ")[1].split(" ")[0] for f in doc["findings"]
                  if f["rule"] == "netbios-only-name")
    expect("NBNS-only names: only LEGACYSRV (DNS, LLMNR, mDNS, 15-character cut, any case match)",
           only == ["LEGACYSRV"], only)
    host = [h for h in doc["hosts"] if h["address"] == "10.213.1.2"]
    expect("... listed on the client host", host and host[0]["netbios_only_names"] == ["LEGACYSRV"], host)
    expect("... named on the client with the dns-name remedy",
           host and any(x["rule"] == "netbios-only-name" and x["remedy"]["id"] == "dns-name" for x in host[0]["fix"]))
    expect("... multicast DNS/LLMNR destinations are not hosts",
           not any(h["address"] in ("224.0.0.251", "224.0.0.252") for h in doc["hosts"]))



def syn_gap(capture):
    """Smallest time between a SYN (no ACK) to 139 and one to 445, from tshark."""
    p = subprocess.run(["tshark", "-r", capture, "-Y", "tcp.flags.syn == 1 && tcp.flags.ack == 0", "-T", "fields",
                        "-e", "frame.time_epoch", "-e", "tcp.dstport"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    times = {139: [], 445: []}
    for line in p.stdout.decode().splitlines():
        t, port = line.split("\t")
        times.setdefault(int(port), []).append(float(t))
    return min(abs(a - b) for a in times[139] for b in times[445])


def race_checks(b, samples):
    """The real race captures (samples/gen-race.sh): 139 answered, refused,
    dropped; the state each time from MANIFEST.tsv (tshark)."""
    manifest = {}
    for line in open(os.path.join(samples, "MANIFEST.tsv")).read().splitlines()[1:]:
        f = line.split("\t")
        manifest[f[0]] = f
    have_tshark = subprocess.run(["which", "tshark"], stdout=subprocess.PIPE).returncode == 0
    for name in ("race-139-answered.pcap", "race-139-refused.pcap", "race-139-dropped.pcap"):
        row = manifest[name]
        rc, doc = jrun(b, [os.path.join(samples, name)])
        races = [f for f in doc["findings"] if f["rule"] == "netbt-race"]
        expect("%s: one netbt-race finding, client %s -> server %s, 139 %s" % (name, row[2], row[4], row[12]),
               len(races) == 1 and races[0]["client"] == row[2] and races[0]["server"] == row[4] and
               races[0]["state"] == row[12] and races[0]["client_port"] == int(row[3]), races)
        client = [h for h in doc["hosts"] if h["address"] == row[2]]
        expect("... the client is named with the NetBT remedy",
               client and any(x["rule"] == "netbt-race" and x["remedy"]["id"] == "client-netbt-off" and
                              "TcpipNetbiosOptions" in x["remedy"]["windows"] for x in client[0]["fix"]), client)
        server = [h for h in doc["hosts"] if h["address"] == row[4]]
        expect("... the server: %s" % ("a NetBIOS server" if row[12] == "established" else "a target only"),
               server and (("netbios-server" in server[0]["roles"]) == (row[12] == "established")) and
               server[0]["spoke_netbios"] == (row[12] == "established"), server)
        if have_tshark:
            gap = syn_gap(os.path.join(samples, name))
            expect("... the gap (%.4f s from tshark) is in the detail" % gap, ("%.3f s" % gap) in races[0]["detail"],
                   races[0]["detail"])
            if gap > 0.0001:
                rc, doc = jrun(b, ["--race-window", "%.6f" % (gap / 2), os.path.join(samples, name)])
                expect("... a window of half the gap: no race",
                       not any(f["rule"] == "netbt-race" for f in doc["findings"]))
        rc, out, _ = run(b, [os.path.join(samples, name)])
        expect("... the text names it per host", "netbt-race -> client-netbt-off" in out)
    # NTLM sessions per host: as many as tshark's NTLMSSP AUTHENTICATE messages
    if have_tshark:
        cap = os.path.join(samples, "mixed-nbns-139-445.pcap")
        p = subprocess.run(["tshark", "-r", cap, "-Y", "ntlmssp.messagetype == 3", "-T", "fields", "-e", "frame.number"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        auths = len(p.stdout.split())
        rc, doc = jrun(b, [cap])
        hosts = {h["address"]: h for h in doc["hosts"]}
        expect("NTLM sessions per host = tshark's NTLMSSP AUTHENTICATE count (%d)" % auths,
               auths > 0 and hosts["10.213.0.2"]["ntlm_sessions"] == auths and hosts["10.213.0.1"]["ntlm_sessions"] == auths,
               {k: h["ntlm_sessions"] for k, h in hosts.items()})
    # a client that only used 139 (smbclient -p 139) is not a race
    rc, doc = jrun(b, [os.path.join(samples, "nbt139-smb3_11.pcap")])
    rules = [f["rule"] for f in doc["findings"]]
    expect("nbt139-smb3_11: nbt-only, not netbt-race", "nbt-only" in rules and "netbt-race" not in rules, rules)


def pcapng_with_filter(src_pcap, dst, filt):
    """The frames of a little-endian microsecond pcap as a pcapng whose
    interface block records the capture filter (if_filter, option 11: a
    0 byte then the libpcap filter string), as dumpcap and tshark write it."""
    data = open(src_pcap, "rb").read()
    linktype, = struct.unpack("<I", data[20:24])

    def block(btype, body):
        body += b"\0" * (-len(body) % 4)
        return struct.pack("<II", btype, len(body) + 12) + body + struct.pack("<I", len(body) + 12)

    def opt(code, val):
        return struct.pack("<HH", code, len(val)) + val + b"\0" * (-len(val) % 4)

    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    out += block(1, struct.pack("<HHI", linktype, 0, 262144) + opt(11, b"\0" + filt.encode()) + opt(0, b""))
    off = 24
    while off + 16 <= len(data):
        sec, usec, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        ts = sec * 1000000 + usec
        out += block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, incl, orig) + data[off + 16:off + 16 + incl])
        off += 16 + incl
    open(dst, "wb").write(out)


def filter_checks(b, samples, tmp):
    """A capture taken with 'tcp port 445' is blind to NetBIOS: inconclusive,
    quoting the filter (when the reader passes the pcapng if_filter on)."""
    path = os.path.join(tmp, "filtered.pcapng")
    pcapng_with_filter(os.path.join(samples, "smb445-smb3_11.pcap"), path, "tcp port 445")
    rc, doc = jrun(b, [path])
    if not doc or not doc["evidence"]["capture_filters"]:
        print("skip capture filter checks: the reader does not report the pcapng if_filter")
        return
    u = [x for x in doc["verdict"]["unknowns"] if x["reason"] == "capture-filter"]
    expect("'tcp port 445' blinds the NetBIOS rules: inconclusive, filter quoted",
           rc == 3 and u and "tcp port 445" in u[0]["detail"] and {"netbios", "netbios-attempt"} <= set(u[0]["rules"]) and "signing" not in u[0]["rules"],
           (rc, u))
    pcapng_with_filter(os.path.join(samples, "smb445-smb3_11.pcap"), path, "port 137 or port 138 or port 139 or port 445")
    rc, doc = jrun(b, [path])
    expect("a filter keeping every watched port: pass", rc == 0, rc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--samples", required=True)
    a = ap.parse_args()
    b = a.smbscope

    def sample(n):
        return os.path.join(a.samples, n)

    with tempfile.TemporaryDirectory() as tmp:
        empty = os.path.join(tmp, "empty.pcap")
        open(empty, "wb").close()
        text = os.path.join(tmp, "notes.txt")
        open(text, "w").write("not a capture\n")
        hdr = os.path.join(tmp, "header-only.pcap")
        open(hdr, "wb").write(open(sample("smb445-smb3_11.pcap"), "rb").read()[:24])
        # missing, empty, text, directory: error (2), never a pass
        for label, path in (("missing file", os.path.join(tmp, "nope.pcap")), ("empty file", empty),
                            ("text file", text), ("directory", tmp)):
            rc, doc = jrun(b, [path])
            expect("%s: exit 2, outcome error, pass false" % label,
                   rc == 2 and doc and doc["verdict"]["outcome"] == "error" and doc["verdict"]["pass"] is False,
                   "rc=%d" % rc)
        rc, doc = jrun(b, [hdr])
        expect("header-only capture: inconclusive (3), no-packets",
               rc == 3 and doc["verdict"]["outcome"] == "inconclusive" and
               [u["reason"] for u in doc["verdict"]["unknowns"]] == ["no-packets"], "rc=%d" % rc)
        first_cut = os.path.join(tmp, "first-record-cut.pcap")
        open(first_cut, "wb").write(open(sample("smb445-smb3_11.pcap"), "rb").read()[:24 + 16 + 10])
        rc, doc = jrun(b, [first_cut])
        expect("a capture cut inside its first record: inconclusive (3), input-damaged",
               rc == 3 and any(u["reason"] == "input-damaged" for u in doc["verdict"]["unknowns"]), "rc=%d" % rc)
        rc, doc = jrun(b, [hdr, sample("smb445-smb3_11.pcap")])
        expect("header-only next to a good capture: pass", rc == 0 and doc["verdict"]["pass"] is True, "rc=%d" % rc)

        # a capture with neither SMB nor NetBIOS passes the default policy, and says so
        dns = os.path.join(tmp, "dns-only.pcap")
        write_pcap(dns, [udp4([10, 213, 1, 2], [10, 213, 1, 1], 40000, 53, dns_query())])
        rc, doc = jrun(b, [dns])
        expect("no SMB, no NetBIOS: default policy passes (0)", rc == 0 and doc["verdict"]["outcome"] == "pass",
               "rc=%d" % rc)
        ev = doc["evidence"]
        expect("... evidence: 1 packet, 1 UDP conversation, 0 SMB, 0 NetBIOS",
               ev["packets"] == 1 and ev["udp_conversations"] == 1 and ev["smb_connections"] == 0 and
               ev["netbios_flows"] == 0, ev)
        rc, out, _ = run(b, [dns])
        expect("... the text says so", "no SMB and no NetBIOS in this capture" in out)
        for opt in ("--require-signing", "--require-encryption", "--require-kerberos"):
            rc, doc = jrun(b, [opt, dns])
            expect("%s with nothing to judge: inconclusive" % opt,
                   rc == 3 and any(u["reason"] == "nothing-to-judge" for u in doc["verdict"]["unknowns"]), "rc=%d" % rc)

        # mid-stream: every --require-* undecidable; the default too (an NBSS
        # session request may have preceded the capture on 445)
        for opt in ([], ["--require-signing"], ["--require-encryption"], ["--require-kerberos"],
                    ["--min-dialect", "3.0"], ["--require-signing", "--require-encryption"]):
            rc, doc = jrun(b, opt + [sample("smb445-midstream.pcap")])
            reasons = [u["reason"] for u in doc["verdict"]["unknowns"]]
            expect("mid-stream %s: inconclusive (3)" % (" ".join(opt) or "default policy"),
                   rc == 3 and doc["verdict"]["pass"] is False and "mid-stream" in reasons, "rc=%d %s" % (rc, reasons))
        # snaplen 96: the NEGOTIATE and every PDU cut: encryption undecidable
        rc, doc = jrun(b, ["--require-encryption", sample("smb445-snaplen96.pcap")])
        expect("--require-encryption on a snaplen-96 capture: inconclusive",
               rc == 3 and "encryption" in doc["verdict"]["rules_undecided"], "rc=%d" % rc)
        expect("... evidence counts the snaplen cuts", doc["evidence"]["decode_losses"]["snaplen_cut"] > 0 and
               doc["evidence"]["decode_losses"]["snaplen"] == 96, doc["evidence"]["decode_losses"])
        # a cap that hides the dialect
        rc, doc = jrun(b, ["--min-dialect", "3.1.1", "--pdu-cap", "10", sample("smb445-smb3_00.pcap")])
        expect("--min-dialect 3.1.1 --pdu-cap 10 on 3.0: inconclusive, not pass",
               rc == 3 and "min-dialect" in doc["verdict"]["rules_undecided"], "rc=%d" % rc)
        rc, doc = jrun(b, ["--min-dialect", "3.1.1", sample("smb445-smb3_00.pcap")])
        expect("... and without the cap it fails", rc == 1)

        # Kerberos policy: the samples log on with NTLM (smbclient with a local user)
        rc, doc = jrun(b, ["--require-kerberos", sample("smb445-smb3_11.pcap")])
        v = doc["verdict"]["violations"]
        expect("--require-kerberos fails an NTLM session", rc == 1 and [x["rule"] for x in v] == ["kerberos"], v)
        rc, doc = jrun(b, [sample("smb445-smb3_11.pcap")])
        expect("... and the NTLM session is a finding per host without it",
               rc == 0 and any(f["rule"] == "ntlm" for f in doc["findings"]) and
               any(any(x["rule"] == "ntlm" for x in h["fix"]) for h in doc["hosts"]))

        # IPv6 endpoints in brackets when a port follows
        rc, doc = jrun(b, ["--require-encryption", sample("smb445-ipv6.pcap")])
        d = doc["verdict"]["violations"][0]["detail"] if doc["verdict"]["violations"] else ""
        expect("IPv6 endpoints as [addr]:port", "]:445" in d, d)
        rc, out, _ = run(b, ["--require-encryption", sample("smb445-ipv6.pcap")])
        expect("... in the text too", "]:445" in out.split("Evidence")[0])

        # structured violations: rule, severity, endpoints, counts, times, evidence, remedy
        rc, doc = jrun(b, [sample("netbios-refused-tcp139.pcap")])
        x = doc["verdict"]["violations"][0]
        expect("a violation is structured", x["rule"] == "netbios-attempt" and x["severity"] == "error" and
               x["server_port"] == 139 and x["proto"] == "tcp" and x["state"] == "refused" and x["packets"] == 2 and
               x["first_seen"] and x["last_seen"] and x["evidence"] == "SYN answered by RST" and
               x["remedy_client"]["id"] == "client-netbt-off", x)
        hosts = {h["address"]: h for h in doc["hosts"]}
        expect("the refusing server is a target, not a speaker",
               hosts[x["server"]]["roles"] == ["target"] and hosts[x["server"]]["spoke_netbios"] is False and
               hosts[x["client"]]["spoke_netbios"] is True, hosts)

        # 3,000 NBNS broadcasters, two flows each: a verdict that fits a
        # screen and a host count of 3,000 at any --max-netbios-flows
        frames = []
        for i in range(3000):
            src = [10, 213, 1 + i // 250, 1 + i % 250]
            frames.append(udp4(src, [10, 213, 255, 255], 137, 137, nbns_query(i)))
            frames.append(udp4(src, [10, 213, 255, 255], 50000 + i % 1000, 137, nbns_query(i + 5000)))
        flood = os.path.join(tmp, "nbns-3000.pcap")
        write_pcap(flood, frames)
        for cap in ([], ["--max-netbios-flows", "10"], ["--max-netbios-flows", "1"]):
            rc, doc = jrun(b, cap + [flood])
            hs = doc["hosts_summary"]
            expect("3,000 broadcasters %s: 3,000 hosts, 6,000 flows" % (" ".join(cap) or "(default cap)"),
                   rc == 1 and hs["total"] == 3000 and hs["spoke_netbios"] == 3000 and
                   doc["evidence"]["netbios_flows"] == 6000, (rc, hs, doc["evidence"]["netbios_flows"]))
            expect("... the broadcast address is not a host",
                   all(h["address"] != "10.213.255.255" for h in doc["hosts"]))
            rc, out, _ = run(b, cap + [flood])
            top = out.split("\nEvidence\n")[0].splitlines()
            expect("... text verdict fits a screen (%d lines <= 40)" % len(top), len(top) <= 40)
            if not cap:
                expect("... grouped: one line for all of them", any("netbios-attempt: 3000 hosts, 6000 flows" in l
                                                                    for l in top), top[:3])
            expect("... the text counts 3000 hosts",
                   "hosts that spoke or tried NetBIOS or SMB: 3000 (3000 spoke NetBIOS)" in out)

        # decode losses the JSON counts are shown in the text
        bad = os.path.join(tmp, "malformed.pcap")
        broken = bytearray(udp4([10, 213, 1, 2], [10, 213, 1, 1], 40000, 53, dns_query()))
        broken[14] = 0x41  # IHL 1: impossible
        write_pcap(bad, [bytes(broken), udp4([10, 213, 1, 2], [10, 213, 1, 1], 40000, 53, dns_query())])
        rc, doc = jrun(b, [bad])
        expect("a malformed packet makes the default policy inconclusive (it could be NetBIOS)",
               rc == 3 and doc["evidence"]["decode_losses"]["malformed"] == 1, rc)
        rc, out, _ = run(b, [bad])
        expect("... and the text shows the loss", "1 malformed" in out)

        # pass is true only for a real pass; exit_code mirrors the status
        for name in ("smb445-smb3_11.pcap", "nbns-unicast.pcap", "smb445-midstream.pcap"):
            rc, doc = jrun(b, [sample(name)])
            expect("%s: pass == (outcome == pass), exit_code == status" % name,
                   doc["verdict"]["pass"] == (doc["verdict"]["outcome"] == "pass") and doc["verdict"]["exit_code"] == rc)

    race_checks(b, a.samples)
    with tempfile.TemporaryDirectory() as tmp:
        names_checks(b, tmp)
        filter_checks(b, a.samples, tmp)
    print("%d checks failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
