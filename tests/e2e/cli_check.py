#!/usr/bin/python3
"""cli_check.py - the command's contract: exit codes, policy options, inputs.

Exit codes (README): 0 pass, 1 fail, 2 usage error or no readable input,
3 inconclusive; precedence 2 > 1 > 3 > 0.  A truncated capture still gets
its report: 1 when what was read shows a violation, else 3.

Usage: cli_check.py --smbscope BIN --samples DIR
"""

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile

failures = []


def run(bin_, args, stdin=None):
    p = subprocess.run([bin_] + args, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def expect(name, cond, detail=""):
    print("%-4s %s%s" % ("ok" if cond else "FAIL", name, "" if cond else ": " + detail))
    if not cond:
        failures.append(name)


def jrun(bin_, args, stdin=None):
    rc, out, err = run(bin_, ["--format", "json", "-q"] + args, stdin)
    try:
        return rc, json.loads(out), err
    except ValueError:
        return rc, None, err


def strip_paths(doc):
    for i in doc["inputs"]:
        i.pop("path", None)
        i.pop("gzip", None)
    return doc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--samples", required=True)
    a = ap.parse_args()
    b, s = a.smbscope, a.samples

    def sample(name):
        return os.path.join(s, name)

    # A NetBIOS-free SMB3 sample passes.
    rc, doc, _ = jrun(b, [sample("smb445-smb3_11.pcap")])
    expect("clean SMB 3.1.1 on 445 passes with 0", rc == 0 and doc["verdict"]["pass"] is True, "rc=%d" % rc)
    expect("verdict.exit_code mirrors the exit status", doc and doc["verdict"]["exit_code"] == rc)

    # Each NetBIOS sample fails, naming the flow; --allow-netbios flips it.
    for name in ("nbns-unicast.pcap", "nbns-broadcast.pcap", "nbt139-smb3_11.pcap", "netbios-refused-tcp139.pcap",
                 "netbios-refused-udp137.pcap", "netbios-noanswer-tcp139.pcap", "netbios-noanswer-udp137.pcap"):
        rc, doc, _ = jrun(b, [sample(name)])
        rules = {v["rule"] for v in doc["verdict"]["violations"]} if doc else set()
        named = doc and all(any(f["server"] in v["detail"] and str(f["server_port"]) in v["detail"]
                                for v in doc["verdict"]["violations"]) for f in doc["netbios"]["flows"])
        expect("%s fails with 1 naming every NetBIOS flow" % name,
               rc == 1 and rules & {"netbios", "netbios-attempt"} and named, "rc=%d rules=%s" % (rc, rules))
        rc2, doc2, _ = jrun(b, ["--allow-netbios", sample(name)])
        rules2 = {v["rule"] for v in doc2["verdict"]["violations"]} if doc2 else {"?"}
        expect("%s with --allow-netbios has no NetBIOS violation" % name,
               not rules2 & {"netbios", "netbios-attempt", "nbss-transport"}, "rules=%s" % rules2)
    rc, doc, _ = jrun(b, ["--allow-netbios", sample("nbns-unicast.pcap")])
    expect("--allow-netbios flips a NetBIOS-only sample to 0", rc == 0, "rc=%d" % rc)
    rc, doc, _ = jrun(b, [sample("netbios-refused-tcp139.pcap")])
    expect("a refused SYN to 139 is a netbios-attempt", doc and [v["rule"] for v in doc["verdict"]["violations"]] == ["netbios-attempt"])

    # SMB1 and dialect policy.
    rc, doc, _ = jrun(b, [sample("smb445-nt1.pcap")])
    expect("SMB1 on 445 fails (smb1)", rc == 1 and any(v["rule"] == "smb1" for v in doc["verdict"]["violations"]))
    rc, _, _ = jrun(b, ["--allow-smb1", sample("smb445-nt1.pcap")])
    expect("--allow-smb1 accepts it", rc == 0, "rc=%d" % rc)
    rc, doc, _ = jrun(b, ["--min-dialect", "3.1.1", sample("smb445-smb3_00.pcap")])
    expect("--min-dialect 3.1.1 fails an SMB3_00 sample",
           rc == 1 and [v["rule"] for v in doc["verdict"]["violations"]] == ["min-dialect"], "rc=%d" % rc)
    rc, _, _ = jrun(b, ["--min-dialect", "3.0", sample("smb445-smb3_00.pcap")])
    expect("--min-dialect 3.0 accepts it", rc == 0, "rc=%d" % rc)
    rc, _, _ = jrun(b, ["--require-encryption", sample("smb445-encrypt.pcap")])
    expect("--require-encryption accepts an encrypted session", rc == 0, "rc=%d" % rc)
    rc, doc, _ = jrun(b, ["--require-encryption", sample("smb445-smb3_11.pcap")])
    expect("--require-encryption fails a plain one", rc == 1 and doc["verdict"]["violations"][0]["rule"] == "encryption")
    rc, _, _ = jrun(b, ["--require-signing", sample("smb445-sign.pcap")])
    expect("--require-signing accepts a signed session", rc == 0, "rc=%d" % rc)

    # Usage and input errors.
    rc, _, err = run(b, ["--no-such-option", sample("smb445-smb3_11.pcap")])
    expect("unknown option gives 2", rc == 2 and "no-such-option" in err, err)
    rc, _, err = run(b, ["--min-dialect", "9.9", sample("smb445-smb3_11.pcap")])
    expect("bad --min-dialect gives 2", rc == 2, err)
    rc, _, err = run(b, [])
    expect("no input gives 2", rc == 2, err)
    rc, _, err = run(b, [os.path.join(s, "does-not-exist.pcap")])
    expect("unreadable file gives 2 naming it", rc == 2 and "does-not-exist.pcap" in err, err)
    rc, out, _ = run(b, ["--version"])
    expect("--version names libpcap and zlib", rc == 0 and b"libpcap" in out and b"zlib" in out)
    rc, out, _ = run(b, ["--help"])
    expect("--help lists the policy options", rc == 0 and b"--min-dialect" in out and b"--allow-netbios" in out)

    with tempfile.TemporaryDirectory() as tmp:
        src = open(sample("mixed-nbns-139-445.pcap"), "rb").read()
        rc, full, _ = jrun(b, [sample("mixed-nbns-139-445.pcap")])
        # Truncated: cut inside the last record; report of what was read, exit 2.
        cut = os.path.join(tmp, "cut.pcap")
        open(cut, "wb").write(src[:len(src) - 10])
        rc, doc, err = jrun(b, [cut])
        expect("a truncated capture that shows a violation fails with 1 (2 > 1 > 3 > 0)", rc == 1 and
               doc["verdict"]["outcome"] == "fail", "rc=%d %s" % (rc, err))
        expect("... and names the damage", doc is not None and
               any(u["reason"] == "input-damaged" for u in doc["verdict"]["unknowns"]))
        expect("... still reports what was read", doc is not None and doc["inputs"][0]["truncated"] is True
               and doc["inputs"][0]["packets"] == full["inputs"][0]["packets"] - 1
               and len(doc["connections"]) == len(full["connections"]))
        expect("... and names the file and offset", "cut.pcap" in err and "offset" in err, err)
        rc, out, _ = run(b, [cut])
        expect("... the text report says so too", b"NOT CAPTURED (input-damaged)" in out)
        clean = open(sample("smb445-smb3_11.pcap"), "rb").read()
        cut2 = os.path.join(tmp, "cut2.pcap")
        open(cut2, "wb").write(clean[:len(clean) - 10])
        rc, doc, _ = jrun(b, [cut2])
        expect("a truncated capture without a violation is inconclusive (3)", rc == 3 and doc and
               doc["verdict"]["outcome"] == "inconclusive" and doc["verdict"]["pass"] is False, "rc=%d" % rc)
        # gzip and stdin give the same report as the plain file.
        gz = os.path.join(tmp, "x.pcap.data")  # no .gz suffix: detected by magic
        open(gz, "wb").write(gzip.compress(src))
        rc, doc, _ = jrun(b, [gz])
        expect("gzip input detected by magic", rc == full["verdict"]["exit_code"] and
               doc["connections"] == full["connections"])
        rc, doc, _ = jrun(b, ["-"], stdin=gzip.compress(src))
        expect("gzip on stdin (-)", doc is not None and doc["connections"] == full["connections"])
        # with -r, the arguments after the options are a capture filter (as tcpdump
        # takes them): several inputs are -r FILE -r FILE, or positional only
        rc, doc, _ = jrun(b, ["-r", sample("smb445-smb3_11.pcap"), "-r", sample("nbns-unicast.pcap")])
        rc2, doc2, _ = jrun(b, [sample("smb445-smb3_11.pcap"), sample("nbns-unicast.pcap")])
        expect("several inputs in one run (-r -r, or positional)", doc is not None and len(doc["inputs"]) == 2
               and doc2 is not None and len(doc2["inputs"]) == 2
               and rc == 1 and len(doc["connections"]) == 1)
        out_file = os.path.join(tmp, "report.json")
        rc, _, _ = run(b, ["--format", "json", "-o", out_file, sample("smb445-smb3_11.pcap")])
        expect("-o writes the report to a file", rc == 0 and json.load(open(out_file))["verdict"]["pass"])

    print("%d checks failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
