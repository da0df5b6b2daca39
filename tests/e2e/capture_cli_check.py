#!/usr/bin/python3
"""capture_cli_check.py - the capture grammar on files, and the ndjson events.

The filter after -r (as tcpdump takes it) passes the packets libpcap's own
filter passes (counted by tcpdump on the same file); -F gives the same;
-c/-a stop where they say; -w writes a pcapng that tshark reads and that
smbscope reports on identically; --format ndjson writes one valid JSON object
per line whatever the capture holds, flat keys of stable types, one event per
connection, NetBIOS flow and violation of the JSON report.

Usage: capture_cli_check.py --smbscope BIN --samples DIR
"""

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

failures = []
HERE = os.path.dirname(os.path.abspath(__file__))


def expect(name, cond, detail=""):
    print("%-4s %s%s" % ("ok" if cond else "FAIL", name, "" if cond else ": " + str(detail)))
    if not cond:
        failures.append(name)


def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, **kw)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def jdoc(bin_, args):
    rc, out, err = run([bin_, "-q", "-T", "json"] + args)
    try:
        return rc, json.loads(out), err
    except ValueError:
        return rc, None, err


def tcpdump_count(path, flt):
    """Packets libpcap's filter passes, counted by tcpdump (None without it)."""
    if not shutil.which("tcpdump"):
        return None
    rc, out, _ = run(["tcpdump", "-n", "-r", path, flt])
    return len(out.splitlines()) if rc == 0 else None


def tshark_count(path):
    rc, out, err = run(["tshark", "-n", "-r", path, "-T", "fields", "-e", "frame.number"])
    return len(out.splitlines()) if rc == 0 else "tshark: " + err


def strip_run(doc):
    """The report without what names the run (paths, formats; the merge
    state holds them too, and its digest covers them)."""
    doc.pop("merge_state", None)
    for i in doc["inputs"]:
        for k in ("path", "gzip", "format", "bytes", "reader"):
            i.pop(k, None)
    return doc


def grammar(b, s, tmp):
    mixed = os.path.join(s, "mixed-nbns-139-445.pcap")
    for flt in ("port 445", "udp port 137", "tcp port 139 and host 10.213.0.1", "not port 445"):
        rc, doc, err = jdoc(b, ["-r", mixed, flt])
        want = tcpdump_count(mixed, flt)
        got = sum(i["packets"] for i in doc["inputs"]) if doc else None
        expect("-r FILE '%s' reads the %s packets tcpdump's filter passes" % (flt, want),
               doc is not None and (want is None or got == want), "got %s, rc=%d %s" % (got, rc, err))
    rc, doc, _ = jdoc(b, ["-r", mixed, "port", "445"])
    expect("a filter in several words is joined (port 445: one direct connection, no NetBIOS)",
           doc and [c["transport"] for c in doc["connections"]] == ["direct"] and not doc["netbios"]["flows"],
           "rc=%d" % rc)
    expect("a filter that hides NetBIOS makes the verdict inconclusive (3), not a pass",
           rc == 3 and doc and doc["verdict"]["outcome"] == "inconclusive"
           and "port 445" in json.dumps(doc["verdict"]), "rc=%d" % rc)
    rc, doc, _ = jdoc(b, ["-r", mixed, "port 139"])
    expect("a filter keeping 139 keeps the nbt connection and fails", rc == 1 and doc
           and [c["transport"] for c in doc["connections"]] == ["nbt"], "rc=%d" % rc)
    ffile = os.path.join(tmp, "filter.txt")
    with open(ffile, "w") as f:
        f.write("tcp port 445\n  or udp port 137\n")
    rc, d1, _ = jdoc(b, ["-F", ffile, "-r", mixed])
    rc2, d2, _ = jdoc(b, ["-r", mixed, "tcp port 445 or udp port 137"])
    expect("-F FILE filters as the same expression after the options", d1 and d2 and d1 == d2 and rc == rc2)
    rc, _, err = run([b, "-F", ffile, "-r", mixed, "port 445"])
    expect("-F and a filter after the options at once is a usage error", rc == 2 and "-F" in err, err)
    rc, _, err = run([b, "-F", os.path.join(tmp, "nonexistent"), "-r", mixed])
    expect("an unreadable -F file is a usage error naming it", rc == 2 and "nonexistent" in err, err)
    rc, doc, _ = jdoc(b, [mixed, os.path.join(s, "smb445-smb3_11.pcap")])
    expect("without -r or -i the arguments stay capture files", doc and len(doc["inputs"]) == 2, "rc=%d" % rc)
    rc, _, err = run([b, "-r", mixed, "port 445 and"])
    expect("a bad filter is a usage error (2) naming the filter", rc == 2 and "port 445 and" in err
           and "filter" in err, err)
    rc, _, err = run([b, "-r", mixed, "portt 445"])
    expect("a misspelt filter is a usage error (2)", rc == 2 and "portt" in err, err)
    sll = os.path.join(s, "smb445-any-sll.pcap")
    rc, _, err = run([b, "-q", "-r", sll, "ether host 02:00:0a:d5:00:01"])
    expect("a filter that does not apply to a file's link type is an input error naming the file",
           rc == 2 and "smb445-any-sll.pcap" in err and "LINUX_SLL" in err, err)
    if shutil.which("mergecap"):
        merged = os.path.join(tmp, "merged.pcapng")
        run(["mergecap", "-F", "pcapng", "-w", merged, sll, os.path.join(s, "nbns-unicast.pcap")])
        for flt, part in (("udp port 137", "nbns-unicast.pcap"), ("tcp port 445", "smb445-any-sll.pcap")):
            _, dm, _ = jdoc(b, ["-r", merged, flt])
            _, dp, _ = jdoc(b, ["-r", os.path.join(s, part), flt])
            expect("a pcapng of two link types (mergecap): '%s' is compiled for each and keeps %s's packets" % (flt, part),
                   dm and dp and dm["connections"] == dp["connections"] and dm["netbios"] == dp["netbios"]
                   and dm["inputs"][0]["packets"] == dp["inputs"][0]["packets"] > 0)
    rc, _, err = run([b, "-Y", "smb2", mixed])
    expect("-Y is refused with a hint at the tshark plugin", rc == 2 and "tshark" in err and "plugin" in err, err)
    for bad, what in ((["-a", "files:3"], "-a files"), (["-a", "duration:x"], "-a duration:x"),
                      (["-a", "filesize:10"], "-a filesize without -w"), (["-c", "-1"], "-c -1"),
                      (["-i", "lo", "-r", mixed], "-r with -i"), (["--report-every", "1m"], "--report-every on files"),
                      (["-T", "xml"], "-T xml"), (["-s", "999999"], "-s 999999")):
        rc, _, err = run([b] + bad + [mixed])
        expect("%s is a usage error (2)" % what, rc == 2 and err.startswith("smbscope: "), "rc=%d %s" % (rc, err))


def limits(b, s, tmp):
    bulk = os.path.join(s, "smb445-bulk.pcap")
    for args, n in ((["-c", "10"], 10), (["-a", "packets:7"], 7), (["-c", "10", "-a", "packets:4"], 4)):
        rc, doc, _ = jdoc(b, args + ["-r", bulk])
        expect("%s reads %d packets and ends cleanly" % (" ".join(args), n),
               doc and doc["inputs"][0]["packets"] == n and doc["inputs"][0]["error"] is None, doc and doc["inputs"])
    rc, out, _ = run(["tshark", "-n", "-r", bulk, "-Y", "frame.time_relative <= 0.05", "-T", "fields", "-e",
                      "frame.number"])
    want = len(out.splitlines())
    rc, doc, _ = jdoc(b, ["-a", "duration:0.05", "-r", bulk])
    expect("-a duration:0.05 on a file reads the first 50 ms of capture time (%d packets, as tshark)" % want,
           doc and doc["inputs"][0]["packets"] == want, doc and doc["inputs"][0]["packets"])
    out = os.path.join(tmp, "limit.pcapng")
    rc, doc, _ = jdoc(b, ["-w", out, "-a", "filesize:20", "-r", bulk])
    size = os.path.getsize(out) if os.path.exists(out) else 0
    expect("-a filesize:20 stops once the -w file reaches 20 kB", doc and 20000 <= size < 20000 + 70000
           and doc["inputs"][0]["packets"] < 500, "size=%d" % size)


def write_file(b, s, tmp):
    for name, flt in (("mixed-nbns-139-445.pcap", "port 445 or port 137"), ("smb445-any-sll2.pcap", None),
                      ("smb445-ipv6.pcap", None), ("nbt139-smb3_11.pcap.gz", None)):
        src = os.path.join(s, name)
        out = os.path.join(tmp, name + ".pcapng")
        args = ["-w", out, "-r", src] + ([flt] if flt else [])
        rc, d1, err = jdoc(b, args)
        expect("%s -w: written (rc %d)" % (name, rc), d1 is not None and os.path.exists(out), err)
        if d1 is None:
            continue
        n = tshark_count(out)
        expect("%s -w: tshark reads the %d packets smbscope read" % (name, d1["inputs"][0]["packets"]),
               n == d1["inputs"][0]["packets"], n)
        rc2, d2, _ = jdoc(b, ["-r", out] + ([flt] if flt else []))
        expect("%s -w: the written file gives the same report (with the same filter)" % name,
               d2 is not None and strip_run(d1) == strip_run(d2) and rc == rc2)
    merged = os.path.join(tmp, "merged.pcapng")
    if os.path.exists(merged):
        out = os.path.join(tmp, "merged-w.pcapng")
        rc, d1, _ = jdoc(b, ["-w", out, "-r", merged])
        rc2, d2, _ = jdoc(b, ["-r", out])
        expect("-w of a pcapng with two link types: one interface each, tshark reads every packet, same report",
               d1 and d2 and tshark_count(out) == d1["inputs"][0]["packets"] and strip_run(d1) == strip_run(d2))
    rc, _, err = run([b, "-w", os.path.join(tmp, "no", "such", "dir.pcapng"), os.path.join(s, "nbns-unicast.pcap")])
    expect("-w into a missing directory is an error naming the file", rc == 2 and "dir.pcapng" in err, err)


def check_lines(text, name, types):
    """Every line one flat JSON object; a key keeps one type across lines."""
    events = []
    for i, line in enumerate(text.splitlines()):
        try:
            ev = json.loads(line)
        except ValueError as e:
            expect("%s: line %d is valid JSON" % (name, i + 1), False, e)
            return None
        if not isinstance(ev, dict):
            expect("%s: line %d is an object" % (name, i + 1), False)
            return None
        for k, v in ev.items():
            if isinstance(v, dict) or (isinstance(v, list) and any(not isinstance(x, str) for x in v)):
                expect("%s: %s is flat (a scalar or an array of strings)" % (name, k), False, v)
                return None
            t = "array" if isinstance(v, list) else "bool" if isinstance(v, bool) else type(v).__name__
            if v is None:
                expect("%s: %s is never null" % (name, k), False)
                return None
            if types.setdefault(k, t) != t:
                expect("%s: %s keeps its type" % (name, k), False, "%s then %s" % (types[k], t))
                return None
        events.append(ev)
    return events


def ndjson(b, s, tmp):
    types = {}
    protos = set()
    files = sorted(glob.glob(os.path.join(s, "*.pcap")) + glob.glob(os.path.join(s, "*.pcapng")))
    hostile = sorted(glob.glob(os.path.join(HERE, "..", "fuzz", "regressions", "*.pcap*")))
    ok_all = True
    for path in files + hostile:
        name = os.path.basename(path)
        rc, out, err = run([b, "-q", "-T", "ndjson", "--observer-name", b"probe-\x01\xff", path])
        events = check_lines(out.decode("utf-8", errors="strict") if rc in (0, 1, 2, 3) else "", name, types)
        if events is None:
            ok_all = False
            continue
        rcj, doc, _ = jdoc(b, [path])
        if not events or doc is None:
            if not (rc == 2 and rcj == 2):
                expect("%s: no events and no report only for an unreadable input (2)" % name, False, (rc, rcj))
                ok_all = False
            continue
        acts = [e["event.action"] for e in events]
        protos.update(e["network.protocol"] for e in events if "network.protocol" in e)
        conns = len(doc["connections"])
        ok = (acts.count("smb-connection") == conns and acts.count("smb-connection-end") == conns
              and acts.count("netbios-flow-end") == len(doc["netbios"]["flows"])
              and acts.count("netbios-flow") == len(doc["netbios"]["flows"])
              and acts.count("violation") == len(doc["verdict"]["violations"])
              and acts.count("finding") == len(doc.get("findings", []))
              and acts[-1] == "summary" and events[-1]["smbscope.exit_code"] == rc == rcj
              and all(e["observer.name"] == "probe-\x01\ufffd" for e in events))
        if not ok:
            expect("%s: one event per connection, NetBIOS flow and violation, then the summary" % name, False, acts)
            ok_all = False
        ends = [e for e in events if e["event.action"] == "smb-connection-end"]
        for e, c in zip(sorted(ends, key=lambda e: (e["event.start"], e["client.port"])), doc["connections"]):
            if (e["smb.transport"], e.get("smb.dialect"), e["client.ip"], e["server.port"]) != \
                    (c["transport"], c["dialect"], c["client"], c["server_port"]):
                expect("%s: smb-connection-end matches the JSON report's connection" % name, False, (e, c))
                ok_all = False
    expect("ndjson on every sample and fuzz regression: valid flat JSON lines of stable types, events matching "
           "the JSON report", ok_all)
    for k in ("@timestamp", "event.kind", "event.action", "event.dataset", "source.ip", "destination.port",
              "client.ip", "server.port", "network.transport", "network.protocol", "network.type", "rule.name",
              "observer.name", "smbscope.version", "smb.transport", "smb.dialect", "smb.signing", "smb.encryption",
              "netbios.service", "netbios.state", "netbios.name"):
        expect("ndjson key %s is written" % k, k in types)
    expect("ndjson network.protocol is smb, netbios-ns, netbios-dgm or netbios-ssn, and all of them occur",
           protos == {"smb", "netbios-ns", "netbios-dgm", "netbios-ssn"}, protos)


def many_connections(src, dst, copies):
    """src (Ethernet, IPv4, one TCP connection) repeated `copies` times, each
    copy one second later with its own client port: as many connections."""
    import struct
    data = open(src, "rb").read()
    head, off, recs = data[:24], 24, []
    while off + 16 <= len(data):
        sec, usec, incl, orig = struct.unpack_from("<IIII", data, off)
        recs.append((sec, usec, orig, bytearray(data[off + 16:off + 16 + incl])))
        off += 16 + incl
    ports = [struct.unpack_from(">HH", r[3], 14 + (r[3][14] & 15) * 4) for r in recs if r[3][23] == 6]
    client = next(p[0] if p[1] == 445 else p[1] for p in ports)
    with open(dst, "wb") as f:
        f.write(head)
        for k in range(copies):
            for sec, usec, orig, pkt in recs:
                pkt = bytearray(pkt)
                if pkt[23] == 6:
                    l4 = 14 + (pkt[14] & 15) * 4
                    for o in (l4, l4 + 2):
                        if struct.unpack_from(">H", pkt, o)[0] == client:
                            struct.pack_into(">H", pkt, o, 20000 + k)
                f.write(struct.pack("<IIII", sec + k, usec, len(pkt), orig) + pkt)


def verbose(b, s, tmp):
    many = os.path.join(tmp, "many.pcap")
    many_connections(os.path.join(s, "smb445-smb3_11.pcap"), many, 60)
    rc, doc, _ = jdoc(b, [many])
    expect("60 copies of a connection are 60 connections", doc and len(doc["connections"]) == 60,
           doc and len(doc["connections"]))
    rc, out, _ = run([b, "-q", "-T", "text", many])
    text = out.decode()
    rcv, outv, _ = run([b, "-q", "-V", "-T", "text", many])
    textv = outv.decode()
    expect("text without -V: 50 connection details, then a pointer to -V",
           "10 more connections: -V shows every connection's detail" in text, text[-400:])
    expect("-V: every connection's detail", "more connections: -V" not in textv and
           textv.count("20059") > text.count("20059") and rcv == rc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--samples", required=True)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="smbscope-cli-") as tmp:
        grammar(a.smbscope, a.samples, tmp)
        limits(a.smbscope, a.samples, tmp)
        write_file(a.smbscope, a.samples, tmp)
        ndjson(a.smbscope, a.samples, tmp)
        verbose(a.smbscope, a.samples, tmp)
    print("%d failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
