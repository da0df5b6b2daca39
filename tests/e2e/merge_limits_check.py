#!/usr/bin/python3
"""merge_limits_check.py - what merge_check.py's equality leaves out: the
merge state's caps, what a merge marks as not exact, and host counting
on captures built here.

  * broadcast: an address that gets a NetBIOS packet before the capture
    shows it to be a subnet broadcast (NBNS with the B flag) is not a host:
    hosts_summary.total / not_listed leave it out, in a run and in a merge
    of the two halves;
  * caps: a capture of more SMB hosts and SYN pairs than the merge state
    keeps (generated, a few thousand connections): the state holds at most
    its caps, says how many it folded, and a merge of two such reports says
    the host total is an estimate and counts the folded ends and SYNs;
  * marked: a merged report's stats.merged names the counters that are the
    largest or the sum of the parts (peaks do not add up); a run's has none.

Usage: merge_limits_check.py --smbscope BIN --samples DIR
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
    print("%-4s %s%s" % ("ok" if cond else "FAIL", name, "" if cond else ": " + detail))
    if not cond:
        failures.append(name)


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    err = p.stderr.decode(errors="replace")
    if "Sanitizer" in err or "runtime error:" in err:
        expect("no sanitizer report from " + os.path.basename(cmd[0]), False, err[:2000])
    return p.returncode, p.stdout, err


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def udp_frame(src, dst, sport, dport, payload):
    ip_src, ip_dst = bytes(map(int, src.split("."))), bytes(map(int, dst.split(".")))
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, ip_src, ip_dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    return eth + ip + udp


def nbns_query(tid, broadcast):
    name = b"\x20" + b"EOGFGLGPCACACACACACACACACACACAAA" + b"\x00"  # NetBIOS-encoded "NTO..." padded
    flags = 0x0110 if broadcast else 0x0100  # RD, and B for a broadcast query
    return struct.pack("!HHHHHH", tid, flags, 1, 0, 0, 0) + name + struct.pack("!HH", 0x20, 1)


def write_pcap(path, frames, t0=1_700_000_000):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", t0 + i, 0, len(fr), len(fr)) + fr)


def broadcast(smbscope, tmp):
    """A unicast NBNS query to 10.9.0.255, then a broadcast one to it."""
    a = os.path.join(tmp, "bcast-a.pcap")
    b = os.path.join(tmp, "bcast-b.pcap")
    both = os.path.join(tmp, "bcast.pcap")
    first = udp_frame("10.9.0.5", "10.9.0.255", 137, 137, nbns_query(1, False))
    second = udp_frame("10.9.0.5", "10.9.0.255", 137, 137, nbns_query(2, True))
    write_pcap(both, [first, second])
    write_pcap(a, [first])
    write_pcap(b, [second], t0=1_700_000_001)
    _, out, err = run([smbscope, "-q", "-T", "json", both])
    doc = json.loads(out)
    hs = doc["hosts_summary"]
    addrs = [h["address"] for h in doc["hosts"]]
    expect("a learned broadcast is not a listed host", addrs == ["10.9.0.5"], str(addrs))
    expect("hosts_summary.total leaves a learned broadcast out", hs["total"] == 1 and hs["not_listed"] == 0, str(hs))
    ra, rb = os.path.join(tmp, "bcast-a.json"), os.path.join(tmp, "bcast-b.json")
    for cap, rep in ((a, ra), (b, rb)):
        _, o, _ = run([smbscope, "-q", "-T", "json", cap])
        open(rep, "wb").write(o)
    rc, out, err = run([smbscope, "merge", "-T", "json", ra, rb])
    hs = json.loads(out)["hosts_summary"] if rc != 2 else {}
    expect("merge: hosts_summary leaves a broadcast learned in the other part out",
           hs.get("total") == 1 and hs.get("not_listed") == 0, str(hs) + err)


def caps(smbscope, samples, tmp):
    """More SMB hosts and SYN pairs than the state keeps, in two captures."""
    gen = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench", "gen_capture.py")
    reports = []
    for k in range(2):
        cap = os.path.join(tmp, "many%d.pcap" % k)
        subprocess.run([sys.executable, gen, "--samples", samples, "--many", "6000", "--clients", "3000",
                        "--servers", "3", "--seed", str(11 + k), cap], check=True, stdout=subprocess.DEVNULL)
        rc, out, err = run([smbscope, "-q", "-T", "json", cap])
        rep = os.path.join(tmp, "many%d.json" % k)
        open(rep, "wb").write(out)
        reports.append(rep)
        st = json.loads(out)["merge_state"]["state"]
        sh, cen = st["smb_hosts"], st["census"]
        expect("state %d: SMB host records at most the cap, the rest folded" % k,
               len(sh["records"]) == sh["cap"] and sh["folded"] > 0 and sh["folded_ends"] >= sh["folded"]
               and "all" in sh, "records %d cap %d folded %d" % (len(sh["records"]), sh["cap"], sh["folded"]))
        expect("state %d: SYN pairs at most the cap, the rest folded" % k,
               len(cen["pairs"]) == cen["pairs_cap"] and cen["pairs_folded"] > 0 and cen["pair_syns_folded"] > 0,
               "pairs %d cap %d folded %d" % (len(cen["pairs"]), cen["pairs_cap"], cen["pairs_folded"]))
        parts = [json.loads(out)]
    rc, out, err = run([smbscope, "merge", "-T", "json"] + reports)
    expect("merge of capped states", rc != 2, err)
    if rc == 2:
        return
    doc = json.loads(out)
    docs = [json.load(open(r)) for r in reports]
    folded_ends = sum(d["merge_state"]["state"]["smb_hosts"]["folded_ends"] for d in docs)
    folded_syns = sum(d["merge_state"]["state"]["census"]["pair_syns_folded"] for d in docs)
    ends = sum(d["evidence"]["caps_hit"]["smb_host_ends_not_itemised"] for d in docs)
    caps_hit = doc["evidence"]["caps_hit"]
    expect("merge: the folded hosts' connection ends counted as not itemised",
           caps_hit["smb_host_ends_not_itemised"] == ends + folded_ends, str(caps_hit))
    expect("merge: the folded pairs' SYNs counted as race pairs not tracked",
           caps_hit["race_pairs_not_tracked"] >= folded_syns, str(caps_hit))
    hs = doc["hosts_summary"]
    exact = 3000 + 3  # gen_capture.py --clients/--servers: the same addresses in both captures
    expect("merge: the host total is labelled an estimate, within 5%",
           hs["total_estimated"] and abs(hs["total"] - exact) <= exact * 0.05, str(hs))
    cg = doc["connection_groups_summary"]
    expect("merge: every connection still counted", cg["connections"] == sum(
        d["connection_groups_summary"]["connections"] for d in docs), str(cg))
    del parts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--samples", required=True)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        broadcast(a.smbscope, tmp)
        caps(a.smbscope, a.samples, tmp)
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
