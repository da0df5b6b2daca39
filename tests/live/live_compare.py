#!/usr/bin/python3
"""live_compare.py - the checks of live_check.sh, on the files it left.

The reference is smbscope's analysis of tcpdump's capture of the same
traffic on the same interface (ref.json); each live capture must report the
same connections (client, server, ports, transport, dialect, dialects
offered) and the same NetBIOS flows (protocol, endpoints, service, state).
"""

import argparse
import json
import os
import sys

failures = []


def expect(name, cond, detail=""):
    print("%-4s %s%s" % ("ok" if cond else "FAIL", name, "" if cond else ": " + str(detail)))
    if not cond:
        failures.append(name)


def conns_of_report(doc):
    return sorted((c["client"], c["client_port"], c["server"], c["server_port"], c["transport"], c["dialect"],
                   tuple(c["dialects_offered"])) for c in doc["connections"])


def flows_of_report(doc):
    return sorted((f["proto"], f["client"], f["client_port"], f["server"], f["server_port"], f["service"],
                   f["state"]) for f in doc["netbios"]["flows"])


def conns_of_events(events):
    return sorted((e["client.ip"], e["client.port"], e["server.ip"], e["server.port"], e["smb.transport"],
                   e.get("smb.dialect"), tuple(e["smb.dialects_offered"]))
                  for e in events if e["event.action"] == "smb-connection-end")


def flows_of_events(events):
    return sorted((e["network.transport"], e["client.ip"], e["client.port"], e["server.ip"], e["server.port"],
                   e["netbios.service"], e["netbios.state"])
                  for e in events if e["event.action"] == "netbios-flow-end" and e["smbscope.scope"] == "run")


def load(work, name):
    try:
        with open(os.path.join(work, name)) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        expect("%s is a complete JSON report" % name, False, e)
        return None


def load_lines(work, name):
    try:
        with open(os.path.join(work, name)) as f:
            return [json.loads(line) for line in f]
    except (OSError, ValueError) as e:
        expect("%s holds one JSON object per line" % name, False, e)
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--rc", action="append", default=[])
    ap.add_argument("--ndjson-before", type=int, required=True)
    a = ap.parse_args()
    rc = dict(x.split("=", 1) for x in a.rc)
    rc = {k: int(v) for k, v in rc.items()}
    w = a.work

    ref = load(w, "ref.json")
    if ref is None:
        return 1
    ref_conns, ref_flows = conns_of_report(ref), flows_of_report(ref)
    transports = {c[4] for c in ref_conns}
    dialects = {c[5] for c in ref_conns}
    expect("the reference capture holds NBT on 139 and direct SMB on 445, IPv4 and IPv6, SMB1 and 3.1.1",
           transports == {"nbt", "direct"} and "3.1.1" in dialects and any(d and not d[0].isdigit() for d in dialects)
           and any(":" in c[2] for c in ref_conns) and len(ref_conns) == 4, ref_conns)
    expect("the reference capture holds a refused NBNS query and the 139 session",
           {f[5] for f in ref_flows} == {"nbns", "nbss"} and any(f[6] == "refused" for f in ref_flows), ref_flows)
    expect("the reference fails the default policy (1)", rc["ref"] == 1, rc["ref"])

    veth = load(w, "veth.json")
    if veth:
        expect("-i VETH (as nobody): SIGINT gives the final report and the verdict's exit status 1",
               rc["veth"] == 1 and veth["verdict"]["exit_code"] == 1, rc["veth"])
        expect("-i VETH: the same connections as tcpdump's capture", conns_of_report(veth) == ref_conns,
               (conns_of_report(veth), ref_conns))
        expect("-i VETH: the same NetBIOS flows", flows_of_report(veth) == ref_flows, (flows_of_report(veth), ref_flows))
        inp = veth["inputs"][0]
        live = inp.get("live", {})
        expect("-i VETH: the input is the interface, with libpcap's counters and no drops",
               inp["path"] == "vs0" and live.get("received", 0) >= inp["packets"] > 0 and live.get("dropped") == 0
               and inp.get("reader", "live") == "live", inp)
        expect("-i VETH -w: tshark reads the file (%s)" % rc["tshark"], rc["tshark"] == 0)
        try:
            n = len(open(os.path.join(w, "veth.tshark")).read().splitlines())
        except OSError:
            n = -1
        expect("-i VETH -w: the file holds the %d packets analysed" % inp["packets"], n == inp["packets"], n)
        vfile = load(w, "veth-file.json")
        expect("-i VETH -w: the file gives the same connections and flows",
               vfile and conns_of_report(vfile) == ref_conns and flows_of_report(vfile) == ref_flows)

    anyev = load_lines(w, "any.ndjson")
    if anyev:
        expect("-i any: SIGTERM gives the summary and exit status 1",
               rc["any"] == 1 and anyev[-1]["event.action"] == "summary" and anyev[-1]["smbscope.exit_code"] == 1,
               rc["any"])
        expect("-i any: the same connections as tcpdump's capture of the veth", conns_of_events(anyev) == ref_conns,
               (conns_of_events(anyev), ref_conns))
        expect("-i any: the same NetBIOS flows", flows_of_events(anyev) == ref_flows,
               (flows_of_events(anyev), ref_flows))
        expect("-i any: each connection's event was written (flushed) before capture ended (%d of %d)"
               % (a.ndjson_before, len(ref_conns)), a.ndjson_before == len(ref_conns))
        expect("-i any: --observer-name on every event", all(e["observer.name"] == "live-test" for e in anyev))

    no139 = load(w, "no139.json")
    if no139:
        want = [c for c in ref_conns if c[3] != 139]
        expect("'not port 139': the 139 session is hidden, the rest is seen",
               conns_of_report(no139) == want and not any(f[4] == 139 for f in flows_of_report(no139))
               and any(f[5] == "nbns" for f in flows_of_report(no139)), conns_of_report(no139))
        expect("'not port 139': the filter is in the report", no139["inputs"][0].get("live", {}).get("filter")
               == "not port 139", no139["inputs"][0])
        expect("'not port 139': still fails (the NBNS query), exit 1", rc["no139"] == 1, rc["no139"])

    count = load(w, "count.json")
    if count:
        expect("-c 5 stops by itself after 5 packets with its report",
               count["inputs"][0]["packets"] == 5 and rc["count"] == count["verdict"]["exit_code"], count["inputs"][0])

    try:
        caplens = [int(x) for x in open(os.path.join(w, "count.tshark")).read().split()]
    except (OSError, ValueError):
        caplens = []
    expect("-s 96 -w: tshark reads the 5 packets, none longer than 96 bytes",
           len(caplens) == 5 and max(caplens) <= 96, caplens)

    caps = load(w, "caps.json")
    if caps:
        expect("not root, CAP_NET_RAW and CAP_NET_ADMIN only: captures (-c 3)",
               caps["inputs"][0]["packets"] == 3 and rc["caps"] == caps["verdict"]["exit_code"], caps["inputs"][0])

    every = load_lines(w, "every.ndjson")
    if every:
        sums = [e for e in every if e["event.action"] == "summary"]
        intervals = [e for e in sums if e["smbscope.scope"] == "interval"]
        expect("--report-every 1s: interval summaries with the run's verdict so far, then the run's",
               len(intervals) >= 1 and all("smbscope.run.verdict" in e for e in intervals)
               and sums[-1]["smbscope.scope"] == "run" and rc["every"] == 1, [e["smbscope.scope"] for e in sums])
        expect("-i vs0 -i lo: both interfaces are inputs", sums[-1]["smbscope.inputs"] == ["vs0", "lo"],
               sums[-1]["smbscope.inputs"])
        try:
            names = set(open(os.path.join(w, "every.tshark")).read().split())
        except OSError:
            names = set()
        efile = load(w, "every-file.json")
        expect("-i vs0 -i lo -w: tshark reads one file of both interfaces (names kept), smbscope finds the same "
               "connections in it", "vs0" in names and names <= {"vs0", "lo"} and efile
               and conns_of_report(efile) == ref_conns, (names, efile and conns_of_report(efile)))
        iv_conns = sum(e["smbscope.connections"] for e in intervals)
        # a connection across an interval boundary is in both intervals' reports
        expect("--report-every: the intervals together saw every connection, each at most all; the run all of them",
               iv_conns >= len(ref_conns) and all(e["smbscope.connections"] <= len(ref_conns) for e in intervals)
               and sums[-1]["smbscope.connections"] == len(ref_conns),
               (iv_conns, sums[-1]["smbscope.connections"]))

    try:
        text = open(os.path.join(w, "every.txt")).read()
    except OSError:
        text = ""
    n_iv = text.count("=== interval ")
    expect("--report-every -T text: interval reports, each with the run so far, then the final report (exit 1)",
           n_iv >= 1 and text.count("run so far: ") == n_iv and text.count("VERDICT: ") == n_iv + 1
           and text.rindex("VERDICT: FAIL") > text.rindex("=== interval ") and rc["etxt"] == 1, (n_iv, rc["etxt"]))
    docs = []
    try:
        raw, dec, i = open(os.path.join(w, "every.jsons")).read(), json.JSONDecoder(), 0
        while True:
            while i < len(raw) and raw[i].isspace():
                i += 1
            if i >= len(raw):
                break
            d, i = dec.raw_decode(raw, i)
            docs.append(d)
    except (OSError, ValueError) as e:
        expect("--report-every -T json: a stream of JSON documents", False, e)
    expect("--report-every -T json: interval documents (report + run_so_far), then the final report",
           len(docs) >= 2 and all("interval" in d and "report" in d and "run_so_far" in d for d in docs[:-1])
           and "verdict" in docs[-1] and [d["interval"]["index"] for d in docs[:-1]] == list(range(1, len(docs)))
           and rc["ejson"] == 1, [list(d)[:3] for d in docs])

    print("%d failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
