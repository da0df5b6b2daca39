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
    the host total is an estimate and counts the folded ends and SYNs (the
    NetBIOS hosts past the state's records travel compact: counted exactly);
  * marked: a merged report's stats.merged names the counters that are the
    largest or the sum of the runs (peaks do not add up); a run's has none;
  * time jumps: two captures of one TCP packet each, the second two days
    later: the run over both counts one jump, and so does their merge, also
    of merged reports (the runs travel in merge_state.state.parts).

  * netbios caps: a capture of more NetBIOS flows, hosts and UDP
    conversations than the state keeps (4,200 unicast NBNS queries from as
    many clients): at most 2,048 rows (those nearest the capture's edges)
    and host records, the rest folded into the state's overflow with their
    packets (a merge keeps every NetBIOS packet counted), the conversations
    as HyperLogLog registers, the unanswered queries past the 4,096 a state
    keeps for a later part's answer; a merge names all of it in
    stats.merged.state_folded and labels the host total an estimate.

  * tails: a capture cut after its connection's last data (the next part
    holds only the ACKs and FINs): the merge of the parts equals the run
    over them (packets, end, TCP connection count), in either order.

  * state integers: a run's report whose state's integer arrays are far
    longer than a run writes (end_close_ranks of 2 Mi zeros,
    end_close_lingers, groups_past.closes and group_closes past the rows
    beside them, edge_closes past the edges): read a value at a time from
    the state's text (analyzer/merge/mstate_cut.h) or refused before the
    parse, never one json-glib tree (about 90 bytes a value: main peaked
    229 MiB on 2 Mi ranks, 347 MiB on 4 Mi, 347 MiB on 4 Mi past closes);
    each merge's peak RSS taken by getrusage() in a small process of its
    own (a generous bound, no time), the errors naming the member and the
    element.

  * sketches: 16 reports of 100 inputs each carrying a full overlap sketch
    (1,792 hashes, what a run writes at most; 2.9 M in all): merge checks
    them where the inputs hold them (analyzer/merge/part_overlap.c, a
    k-way merge), not a copy of 16 bytes a hash (main peaked 108 MiB, now
    48); one report of 800 such inputs read an input at a time (main
    100 MiB, now 46); one record shared by the first and the last input
    still named.

Usage: merge_limits_check.py --smbscope BIN --samples DIR
"""

import argparse
import base64
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import zlib

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


def tcp_frame(src, dst, sport, dport, flags=0x10):
    ip_src, ip_dst = bytes(map(int, src.split("."))), bytes(map(int, dst.split(".")))
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, flags, 65535, 0, 0)
    pseudo = ip_src + ip_dst + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0, ip_src, ip_dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00" + ip + tcp


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


def jumps_and_marks(smbscope, tmp):
    day = 86400
    caps, reports = [], []
    for k, t0 in enumerate((1_700_000_000, 1_700_000_000 + 2 * day, 1_700_000_000 + 4 * day)):
        cap = os.path.join(tmp, "jump%d.pcap" % k)
        write_pcap(cap, [tcp_frame("10.8.0.1", "10.8.0.2", 40000 + k, 8080)], t0=t0)
        rep = os.path.join(tmp, "jump%d.json" % k)
        _, out, _ = run([smbscope, "-q", "-T", "json", cap])
        open(rep, "wb").write(out)
        caps.append(cap)
        reports.append(rep)
        expect("a run's report has no stats.merged (capture %d)" % k, "merged" not in json.loads(out)["stats"])
    _, out, _ = run([smbscope, "-q", "-T", "json"] + caps)
    joint = json.loads(out)["stats"]["time_jumps"]
    expect("the joint run counts the jumps between captures", joint == 2, str(joint))
    rc, out, err = run([smbscope, "merge", "-T", "json"] + reports[::-1])
    stats = json.loads(out)["stats"] if rc != 2 else {}
    expect("merge counts the jumps between captures as the joint run", stats.get("time_jumps") == joint,
           "%s != %d %s" % (stats.get("time_jumps"), joint, err))
    m = stats.get("merged", {})
    expect("merge marks the counters that are the largest / the sum of its runs",
           m.get("runs") == 3 and "max_concurrent_connections" in m.get("largest_of_runs", [])
           and "reassembly_buffer_peak" in m.get("largest_of_runs", [])
           and m.get("sum_of_runs") == ["connections_closed_early"], str(m))
    step = os.path.join(tmp, "jump-step.json")
    _, out, _ = run([smbscope, "merge", "-T", "json", reports[2], reports[0]])
    open(step, "wb").write(out)
    rc, out, err = run([smbscope, "merge", "-T", "json", step, reports[1]])
    stats = json.loads(out)["stats"] if rc != 2 else {}
    expect("merge of a merged report counts the jumps as the joint run (runs interleaved)",
           stats.get("time_jumps") == joint and stats.get("merged", {}).get("runs") == 3, str(stats) + err)


def caps(smbscope, samples, tmp):
    """More SMB hosts and SYN pairs than the state keeps, in two captures."""
    gen = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench", "gen_capture.py")
    reports = []
    for k in range(2):
        cap = os.path.join(tmp, "many%d.pcap" % k)
        subprocess.run([sys.executable, gen, "--samples", samples, "--many", "6000", "--clients", "3000",
                        "--servers", "3", "--seed", str(11 + k), cap], check=True, stdout=subprocess.DEVNULL)
        if k:  # every seed's first packet is the same at the same time: merge would refuse the two as sharing it
            subprocess.run(["editcap", "-t", "0.000001", cap, cap + ".shifted"], check=True, stdout=subprocess.DEVNULL)
            os.replace(cap + ".shifted", cap)
        rc, out, err = run([smbscope, "-q", "-T", "json", cap])
        rep = os.path.join(tmp, "many%d.json" % k)
        open(rep, "wb").write(out)
        reports.append(rep)
        st = json.loads(out)["merge_state"]["state"]
        sh, cen = st["smb_hosts"], st["census"]
        expect("state %d: SMB host records at most the cap, the rest folded" % k,
               len(sh["records"]) == sh["cap"] and sh["folded"] > 0 and sh["folded_ends"] >= sh["folded"]
               and "all" in sh, "records %d cap %d folded %d" % (len(sh["records"]), sh["cap"], sh["folded"]))
        expect("state %d: SYN pairs at most the cap listed, the rest folded and carried (pairs_more)" % k,
               len(cen["pairs"]) == cen["pairs_cap"] and cen["pairs_folded"] > 0 and cen["pair_syns_folded"] > 0
               and cen.get("pairs_more", {}).get("n") == cen["pairs_folded"],
               "pairs %d cap %d folded %d more %r" % (len(cen["pairs"]), cen["pairs_cap"], cen["pairs_folded"],
                                                      cen.get("pairs_more", {}).get("n")))
        parts = [json.loads(out)]
    rc, out, err = run([smbscope, "merge", "-T", "json"] + reports)
    expect("merge of capped states", rc != 2, err)
    if rc == 2:
        return
    doc = json.loads(out)
    docs = [json.load(open(r)) for r in reports]
    folded_ends = sum(d["merge_state"]["state"]["smb_hosts"]["folded_ends"] for d in docs)
    race_lost = sum(d["evidence"]["caps_hit"]["race_pairs_not_tracked"] for d in docs)
    ends = sum(d["evidence"]["caps_hit"]["smb_host_ends_not_itemised"] for d in docs)
    caps_hit = doc["evidence"]["caps_hit"]
    expect("merge: the folded hosts' connection ends counted as not itemised",
           caps_hit["smb_host_ends_not_itemised"] == ends + folded_ends, str(caps_hit))
    expect("merge: the pairs past the states' 2,048 carried, no SYN counted as not tracked but the runs' own",
           caps_hit["race_pairs_not_tracked"] == race_lost and
           "syn_pairs" not in doc["stats"]["merged"].get("state_folded", {}), str(caps_hit))
    hs = doc["hosts_summary"]
    exact = 3000 + 3  # gen_capture.py --clients/--servers: the same addresses in both captures
    expect("merge: the host total is labelled an estimate, within 5%",
           hs["total_estimated"] and abs(hs["total"] - exact) <= exact * 0.05, str(hs))
    cg = doc["connection_groups_summary"]
    expect("merge: every connection still counted", cg["connections"] == sum(
        d["connection_groups_summary"]["connections"] for d in docs), str(cg))
    del parts


def tails(smbscope, samples, tmp):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import merge_check
    for name, last_data in (("smb445-list-shares.pcap", 28), ("smb445-smb3_11.pcap", None)):
        src = os.path.join(samples, name)
        lens = subprocess.run(["tshark", "-n", "-r", src, "-T", "fields", "-e", "tcp.len"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, check=True).stdout.decode().split()
        if last_data is None:  # after the last packet that carries payload
            last_data = max(i + 1 for i, v in enumerate(lens) if v and int(v) > 0)
        if last_data >= len(lens):
            expect("%s has packets without payload at its end" % name, False)
            continue
        parts = [os.path.join(tmp, "tail-%s-%d.pcap" % (name, k)) for k in range(2)]
        subprocess.run(["editcap", "-r", src, parts[0], "1-%d" % last_data], check=True)
        subprocess.run(["editcap", "-r", src, parts[1], "%d-%d" % (last_data + 1, len(lens))], check=True)
        reps = []
        for cap in parts:
            _, out, _ = run([smbscope, "-q", "-T", "json", cap])
            reps.append(cap + ".json")
            open(reps[-1], "wb").write(out)
        _, joint, _ = run([smbscope, "-q", "-T", "json"] + parts)
        for order in (reps, reps[::-1]):
            rc, merged, err = run([smbscope, "merge", "-T", "json"] + order)
            d = merge_check.first_diff(merge_check.normal(json.loads(merged)), merge_check.normal(json.loads(joint))) \
                if rc != 2 else err
            expect("%s cut after its last data (%d + %d packets): merge == joint run%s" % (
                name, last_data, len(lens) - last_data, "" if order is reps else ", reports reversed"), d is None, str(d))


def netbios_caps(smbscope, tmp):
    n = 4200
    clients = ["10.20.%d.%d" % (i // 250, 1 + i % 250) for i in range(n)]
    cap = os.path.join(tmp, "nbmany.pcap")
    write_pcap(cap, [udp_frame(c, "10.21.0.1", 137, 137, nbns_query(i & 0xFFFF, False)) for i, c in enumerate(clients)])
    rc, out, err = run([smbscope, "-q", "-T", "json", cap])
    doc = json.loads(out)
    st = doc["merge_state"]["state"]
    rows = st["netbios"]["rows"]
    expect("the state holds at most 2,048 NetBIOS rows and says how many it folded",
           len(rows) == 2048 and st["netbios"]["rows_folded"] == n - 2048, "%d rows, %r folded" % (len(rows), st["netbios"].get("rows_folded")))
    kept = {r[st["netbios"]["row_fields"].index("client")] for r in rows}  # rows are compact arrays
    edges = set(clients[:1024] + clients[-1024:])
    expect("the rows kept are those nearest the capture's first and last packet", kept == edges,
           "%d of %d" % (len(kept & edges), len(edges)))
    ov = st["netbios"]["overflow"]
    expect("the folded rows' packets are in the state's overflow", ov["packets"] == n - 2048 and ov["nbns"] == n - 2048, str(ov))
    # and carried whole beside it (a merge folds them as rows; an older one reads the overflow)
    more, ovr = st["netbios"].get("rows_more", {}), st["netbios"].get("overflow_run", {})
    expect("the rows past 2,048 carried (rows_more), the run's own overflow beside (overflow_run: none)",
           more.get("n") == n - 2048 and ovr.get("packets") == 0 and ovr.get("flows") == {"exact": []},
           "%r %r" % (more.get("n"), ovr))
    hosts = st["hosts"]
    expect("the state holds at most 2,048 NetBIOS host records, the rest compact (none folded, no estimator)",
           len(hosts["records"]) == 2048 and hosts.get("compact_v4", {}).get("n") == n + 1 - 2048 and
           "compact_v6" not in hosts and hosts["folded"] == 0 and "all" not in hosts,
           "%d records, %r" % (len(hosts["records"]), {k: v for k, v in hosts.items() if k != "records" and k != "all"}))
    udp = st["census"]["udp_convs"]
    # and their hashes beside (exact_more; still counted folded for an older smbscope)
    expect("UDP conversations past 4,096 travel as HyperLogLog registers and their hashes",
           "hll" in udp and "exact" not in udp and udp.get("exact_more", {}).get("n") == n
           and st["census"]["udp_convs_folded"] == n, str(st["census"].get("udp_convs_folded")))
    rep = os.path.join(tmp, "nbmany.json")
    open(rep, "wb").write(out)
    rc_m, mout, err = run([smbscope, "merge", "-T", "json", rep])
    if rc_m == 2:
        expect("merge of a report with NetBIOS caps hit", False, err.strip())
        return
    m = json.loads(mout)
    flows, ni = m["netbios"]["flows"], m["netbios"]["not_itemised"] or {}
    total = sum(f["packets"] for f in flows) + ni.get("packets", 0)
    joint = sum(f["packets"] for f in doc["netbios"]["flows"]) + ((doc["netbios"]["not_itemised"] or {}).get("packets", 0))
    expect("merge keeps every NetBIOS packet counted, every row itemised as in the run (rows_more)",
           len(flows) == n and total == joint == n and not ni.get("nbns"), "%d rows, %d != %d" % (len(flows), total, joint))
    folded = m["stats"]["merged"].get("state_folded")
    expect("merge names what the state folded in stats.merged.state_folded (no NetBIOS row, no UDP conversation)",
           folded == {"nbns_transactions": n - 4096}, str(folded))  # the queries waiting past the 4,096 kept
    expect("merge counts the UDP conversations as the run did: exact",
           m["evidence"]["udp_conversations"] == n and m["evidence"]["udp_conversations_estimated"] is False,
           "%r" % m["evidence"]["udp_conversations"])
    hs, hj = m["hosts_summary"], doc["hosts_summary"]
    expect("merge counts the hosts past the state's records as the run did: exact",
           hs.get("total_estimated") is False and hs["total"] == n + 1 and
           all(hs[k] == hj[k] for k in ("total", "spoke_netbios", "to_fix")), "%r != %r" % (hs, hj))
    # the compact hosts are the report's, checked as the rest: refused when not what smbscope writes
    from merge_check import redigest
    for name, change, needle in (
            ("one host more than the stream holds", lambda c: c.update(n=c["n"] + 1), "not a zlib stream of n hosts"),
            ("not base64", lambda c: c.update(zlib=c["zlib"][:-4] + "!!!!"), "not base64"),
            ("past the cap", lambda c: c.update(n=1 << 30), "compact_v4")):
        t = json.loads(json.dumps(doc))
        change(t["merge_state"]["state"]["hosts"]["compact_v4"])
        bad = os.path.join(tmp, "compact-bad.json")
        with open(bad, "w") as f:
            f.write(json.dumps(redigest(t)))
        rc_b, _, err_b = run([smbscope, "merge", bad])
        expect("compact hosts refused: " + name, rc_b == 2 and needle in err_b and "hosts.compact_v4" in err_b,
               err_b.strip()[:300])
    # the host records carried past the state's 2,048 (records_more, binary records, mstate_nb.c
    # rec_more_put(): byte 0 the family, for IPv4 5 nb_roles, 28 the first byte of first_seen)
    run_recs = {h["address"]: h for h in doc["hosts"]}
    both = [h for h in m["hosts"] if h["address"] in run_recs]
    keys = ("first_seen", "last_seen", "netbios_flows_opened", "netbios_packets_sent", "roles")
    expect("merge lists the host records past the state's 2,048 as the run (records_more)",
           "records_more" in doc["merge_state"]["state"]["hosts"] and both and
           all(all(h[k] == run_recs[h["address"]][k] for k in keys) for h in both), "%d listed by both" % len(both))

    def rewrite_recs(b64, at, value):
        raw = bytearray(zlib.decompress(base64.b64decode(b64)))
        raw[at] = value
        return base64.b64encode(zlib.compress(bytes(raw))).decode()

    for name, change, needle in (
            ("one record more than the stream holds", lambda c: c.update(n=c["n"] + 1), "not a zlib stream of n records"),
            ("not base64", lambda c: c.update(zlib=c["zlib"][:-4] + "!!!!"), "not base64"),
            ("past the cap", lambda c: c.update(n=1 << 30), "records_more"),
            ("a record of another family", lambda c: c.update(zlib=rewrite_recs(c["zlib"], 0, 5)), "records_more[0]: addr"),
            ("roles smbscope does not write", lambda c: c.update(zlib=rewrite_recs(c["zlib"], 5, 0x10)),
             "records_more[0]: nb_roles"),
            ("a time past 2^62", lambda c: c.update(zlib=rewrite_recs(c["zlib"], 28, 0x7F)),
             "records_more[0]: not a capture time")):
        t = json.loads(json.dumps(doc))
        change(t["merge_state"]["state"]["hosts"]["records_more"])
        bad = os.path.join(tmp, "records-bad.json")
        with open(bad, "w") as f:
            f.write(json.dumps(redigest(t)))
        rc_b, _, err_b = run([smbscope, "merge", bad])
        expect("host records past the state's refused: " + name, rc_b == 2 and needle in err_b, err_b.strip()[:300])
    # the rows carried past the cap likewise (binary rows, mstate_nb.c row_put(): byte 0 the
    # protocol, for IPv4 ends 32 the first byte of first_seen, 48 the flags)
    def rewrite(b64, at, value):
        raw = bytearray(zlib.decompress(base64.b64decode(b64)))
        raw[at] = value
        return base64.b64encode(zlib.compress(bytes(raw))).decode()

    for name, change, needle in (
            ("one row more than the stream holds", lambda nb: nb["rows_more"].update(n=nb["rows_more"]["n"] + 1),
             "not a zlib stream of n rows"),
            ("not base64", lambda nb: nb["rows_more"].update(zlib=nb["rows_more"]["zlib"][:-4] + "!!!!"), "not base64"),
            ("past the cap", lambda nb: nb["rows_more"].update(n=1 << 30), "rows_more"),
            ("more carried than folded", lambda nb: nb.update(rows_folded=1), "rows_folded"),
            ("a row of another protocol", lambda nb: nb["rows_more"].update(zlib=rewrite(nb["rows_more"]["zlib"], 0, 5)),
             "rows_more[0]: proto"),
            ("a row with flags smbscope does not write",
             lambda nb: nb["rows_more"].update(zlib=rewrite(nb["rows_more"]["zlib"], 48, 0x40)), "rows_more[0]: flags"),
            ("a row at a time past 2^62", lambda nb: nb["rows_more"].update(zlib=rewrite(nb["rows_more"]["zlib"], 32, 0x7F)),
             "rows_more[0]: not a capture time"),
            ("no overflow_run", lambda nb: nb.pop("overflow_run"), "overflow_run")):
        t = json.loads(json.dumps(doc))
        change(t["merge_state"]["state"]["netbios"])
        bad = os.path.join(tmp, "more-bad.json")
        with open(bad, "w") as f:
            f.write(json.dumps(redigest(t)))
        rc_b, _, err_b = run([smbscope, "merge", bad])
        expect("rows past the cap refused: " + name, rc_b == 2 and needle in err_b and "netbios" in err_b,
               err_b.strip()[:300])
    # merged again: what was folded stays counted (the merged report's own state carries it)
    rep2 = os.path.join(tmp, "nbmany-merged.json")
    open(rep2, "wb").write(mout)
    rc2, out2, err2 = run([smbscope, "merge", "-T", "json", rep2])
    f2 = json.loads(out2)["stats"]["merged"].get("state_folded") if rc2 != 2 else err2
    expect("a merged report merged again still names what was folded", f2 == folded, str(f2))


def irregular_keys(smbscope, samples, tmp):
    """A state whose keys are not as smbscope writes them -- one written with
    escapes ("\\u0069nputs": the same tree to json-glib, the same digest), or
    "groups" twice -- is refused, exit 2: read as a tree instead of a row at
    a time, a forged state of 65,536 group rows took 369 MB where the
    piecewise reading holds 19 (review)."""
    rc, out, err = run([smbscope, "-q", "-T", "json", os.path.join(samples, "smb445-list-shares.pcap")])
    text = out.decode() if isinstance(out, bytes) else out
    m = re.search(r'"state":\s*\{\s*"inputs"', text)
    variants = (("a key written with escapes", text[:m.start()] + '"state": {"\\u0069nputs"' + text[m.end():]),
                ("groups twice", text[:m.start()] + '"state": {"groups": [], "inputs"' + text[m.end():]))
    for name, body in variants:
        path = os.path.join(tmp, "irregular.json")
        with open(path, "w") as f:
            f.write(body)
        json.loads(body)  # still JSON
        rc_b, _, err_b = run([smbscope, "merge", path])
        expect("a state with %s is refused: not as smbscope writes it" % name,
               rc_b == 2 and "not as smbscope writes it" in err_b, "exit %d %s" % (rc_b, err_b.strip()[:300]))

def merge_rss(smbscope, args):
    """merge run from a small process of its own (a child's ru_maxrss starts
    from its parent's): (exit status, stderr, the merge's peak RSS in MiB)."""
    probe = ("import resource,subprocess,sys;p=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,"
             "stderr=subprocess.PIPE);sys.stdout.write('%d %d\\n' % (p.returncode,"
             "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss));sys.stderr.buffer.write(p.stderr)")
    p = subprocess.run([sys.executable, "-c", probe, smbscope, "merge", "-T", "json", "-q", "-o", os.devnull] + args,
                       capture_output=True, timeout=300)
    rc, rss = (int(x) for x in p.stdout.split())
    return rc, p.stderr.decode(errors="replace"), rss >> 10


def forged_text(doc, members):
    """doc's text with state members (name -> the text of a JSON array, or
    (outer, name) -> one inside member outer) put in, digest made again
    (forge_state.py's, without a tree of millions of values in Python)."""
    from forge_state import canonical, redigest
    d = json.loads(json.dumps(doc))
    st = d["merge_state"]["state"]
    texts = {}
    for k, text in members.items():
        mark = "@forged-%d@" % len(texts)
        if isinstance(k, tuple):
            st.setdefault(k[0], {})[k[1]] = mark
        else:
            st[k] = mark
        texts['"%s"' % mark] = text

    def put(t):
        for mark, text in texts.items():
            t = t.replace(mark, text)
        return t

    head = "smbscope-merge-state/%d\n" % d["merge_state"]["format"]
    state, conns = put(canonical(st)), canonical(d.get("connections", []))
    import hashlib
    digest = hashlib.sha256((head + state + "\n" + conns).encode()).hexdigest()
    d["merge_state"]["digest"] = "sha256:" + digest
    return put(json.dumps(d))


def state_ints(smbscope, samples, tmp):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from forge_state import redigest
    rc, out, err = run([smbscope, "-q", "-T", "json", os.path.join(samples, "smb445-list-shares.pcap")])
    doc = json.loads(out) if rc in (0, 1) else {}
    st = doc.get("merge_state", {}).get("state", {})
    expect("a run's report with numbered closes to forge", "end_close_ranks" in st and "group_closes" in st, err)
    if "end_close_ranks" not in st:
        return
    sanitized = b"__asan_init" in open(smbscope, "rb").read()
    big = (1 << 17) if sanitized else (1 << 21)  # 2 Mi ranks: main's tree 183 MB

    def ints(n, v=0, last=None):
        return "[" + ("%d," % v) * (n - 1) + "%d]" % (v if last is None else last)

    quarter = "[" + ",".join(str(i) for i in range(0, big, 4)) + "]"
    lingering = json.loads(json.dumps(doc))
    lingering["merge_state"]["state"]["fin_closes"] = lingering["merge_state"]["state"]["end_lingers"] = big // 4
    cases = (
        ("end_close_ranks of %d zeros, a quarter of them lingering" % big, lingering,
         {"end_close_ranks": ints(big), "end_close_lingers": quarter}, None, 64),
        ("end_close_ranks of %d zeros, the last past them" % big, doc, {"end_close_ranks": ints(big, 0, big)},
         "merge_state.state.end_close_ranks: a rank past the closes at the end", 64),
        ("end_close_ranks of 4 Mi + 1 zeros", doc, {"end_close_ranks": ints((1 << 22) + 1)},
         "merge_state.state.end_close_ranks: more than 4194304 elements", 64),
        ("groups_past.closes of %d numbers, no rows" % (2 * big), doc,
         {("groups_past", "groups"): "[]", ("groups_past", "closes"): ints(2 * big, 1)},
         "merge_state.state.groups_past.closes: more than 0 elements", 64),
        ("group_closes of %d numbers, one row" % (big // 2), doc, {"group_closes": ints(big // 2, 1)},
         "merge_state.state.group_closes: more than 1 elements", 48),
        ("edge_closes of %d numbers, no edge" % (big // 4), doc, {"edge_closes": ints(big // 4, 1)},
         "state.edge_closes: more values than its cap lets it hold", 32),
        ("end_close_ranks with a string", doc, {"end_close_ranks": '[0,0,"x",0]'},
         "merge_state.state.end_close_ranks[2]: not an integer", None),
        ("end_close_ranks with a fraction", doc, {"end_close_ranks": "[0,0,1.5,0]"},
         "merge_state.state.end_close_ranks[2]: not an integer", None),
    )
    for name, base, members, needle, bound in cases:
        path = os.path.join(tmp, "forged-ints.json")
        with open(path, "w") as f:
            f.write(forged_text(base, members))
        rc, err, peak = merge_rss(smbscope, [path])
        if needle:
            expect("a report's state with %s: refused, naming it" % name, rc == 2 and needle in err,
                   "exit %d, %r" % (rc, err.strip()[:300]))
        else:
            expect("a report's state with %s: merged" % name, rc in (0, 1, 3), "exit %d, %r" % (rc, err.strip()[:300]))
        if bound and not sanitized:
            expect("... peak RSS %d MiB under %d MiB" % (peak, bound), peak < bound)
        os.unlink(path)
    # read from the text, compact or indented, as the tree read them: the same merge
    perm = json.loads(json.dumps(doc))
    ps = perm["merge_state"]["state"]
    ps["end_close_ranks"] = [(7 * i) % 5000 for i in range(5000)]
    ps["end_close_lingers"] = list(range(0, 5000, 3))
    ps["fin_closes"] = ps["end_lingers"] = len(ps["end_close_lingers"])
    redigest(perm)
    outs = []
    for indent in (None, 2):
        path = os.path.join(tmp, "forged-perm-%s.json" % indent)
        with open(path, "w") as f:
            json.dump(perm, f, indent=indent)
        outs.append(run([smbscope, "merge", "-T", "json", path]))
    expect("5,000 ranks merged, compact or indented alike", outs[0][0] != 2 and outs[0][:2] == outs[1][:2],
           (outs[0][2] + outs[1][2]).strip()[:300])


def sketches(smbscope, samples, tmp):
    rc, out, err = run([smbscope, "-q", "-T", "json", os.path.join(samples, "smb445-list-shares.pcap")])
    doc = json.loads(out) if rc in (0, 1) else {}
    inputs = doc.get("merge_state", {}).get("state", {}).get("inputs", [])
    expect("a run's report with an input to copy", len(inputs) == 1 and "overlap" in inputs[0], err)
    if len(inputs) != 1:
        return
    from forge_state import redigest
    sanitized = b"__asan_init" in open(smbscope, "rb").read()
    reports, per = (4, 25) if sanitized else (16, 100)
    n = 1792  # PART_SKETCH_MAX
    paths = []
    for r in range(reports):
        d = json.loads(json.dumps(doc))
        ins = []
        for k in range(per):
            x = dict(inputs[0], path="sketch-%d-%d.pcap" % (r, k))
            x["part_id"] = "sha256:%064x" % (r * per + k + 1)
            first = (r * per + k) << 44  # a prefix of its own: no hash shared
            x["overlap"] = {"level": 3, "hashes": base64.b64encode(
                struct.pack("<%dQ" % n, *range(first, first + n * 4099, 4099))).decode()}
            ins.append(x)
        d["merge_state"]["state"]["inputs"] = ins
        paths.append(os.path.join(tmp, "sketches-%d.json" % r))
        with open(paths[-1], "w") as f:
            f.write(json.dumps(redigest(d)))
    rc, err, peak = merge_rss(smbscope, paths)
    expect("%d reports of %d inputs of %d sampled records each: merged" % (reports, per, n), rc in (0, 1, 3),
           "exit %d, %r" % (rc, err.strip()[:300]))
    if not sanitized:
        expect("... peak RSS %d MiB under 80 MiB" % peak, peak < 80)
    # one report of them all: its inputs read one at a time from the state's
    # text (mstate_cut.h), never all in one tree beside the text it was
    # parsed from (main peaked 100 MiB on 800 inputs, now 46)
    d = json.load(open(paths[0]))
    d["merge_state"]["state"]["inputs"] = [i for p in paths for i in json.load(open(p))["merge_state"]["state"]["inputs"]][:8 * per]
    one = os.path.join(tmp, "sketches-one.json")
    with open(one, "w") as f:
        f.write(json.dumps(redigest(d)))
    rc, err, peak = merge_rss(smbscope, [one])
    expect("one report of %d inputs of %d sampled records each: merged" % (8 * per, n), rc in (0, 1, 3),
           "exit %d, %r" % (rc, err.strip()[:300]))
    if not sanitized:
        expect("... peak RSS %d MiB under 72 MiB" % peak, peak < 72)
    # an input of more values than one smbscope writes: refused before it is parsed
    d = json.loads(json.dumps(doc))
    d["merge_state"]["state"]["inputs"][0]["junk"] = [0] * 200
    bad = os.path.join(tmp, "sketches-junk.json")
    with open(bad, "w") as f:
        f.write(json.dumps(redigest(d)))
    rc, err, _ = merge_rss(smbscope, [bad])
    expect("an input of more than 128 values: refused, naming it",
           rc == 2 and "merge_state.state.inputs[0]: a row of more than 128 values" in err,
           "exit %d, %r" % (rc, err.strip()[:300]))
    # the last input shares one record with the first: named
    d = json.load(open(paths[-1]))
    last = d["merge_state"]["state"]["inputs"][-1]["overlap"]
    h = base64.b64decode(last["hashes"])
    last["hashes"] = base64.b64encode(struct.pack("<Q", 4099 * 7) + h[8:]).decode()
    with open(paths[-1], "w") as f:
        f.write(json.dumps(redigest(d)))
    # (by default the first report and the last, 200 inputs: the shared
    # record is found as in all 16, a third of this test's merge time)
    rc, err, _ = merge_rss(smbscope, paths if os.environ.get("SMBSCOPE_FULL") == "1" else [paths[0], paths[-1]])
    expect("... and with the last input sharing one record with the first (%s): refused, naming both" % (
           "all %d reports" % reports if os.environ.get("SMBSCOPE_FULL") == "1" else
           "the first and the last report, SMBSCOPE_FULL=1: all %d" % reports),
           rc == 2 and "capture parts overlap: sketch-%d-%d.pcap" % (reports - 1, per - 1) in err and
           "shares 1 sampled record with sketch-0-0.pcap" in err, "exit %d, %r" % (rc, err.strip()[:400]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--samples", required=True)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        broadcast(a.smbscope, tmp)
        jumps_and_marks(a.smbscope, tmp)
        tails(a.smbscope, a.samples, tmp)
        caps(a.smbscope, a.samples, tmp)
        netbios_caps(a.smbscope, tmp)
        irregular_keys(a.smbscope, a.samples, tmp)

        state_ints(a.smbscope, a.samples, tmp)
        sketches(a.smbscope, a.samples, tmp)
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
