#!/usr/bin/python3
"""iwarp_budget.py - the reassembly buffers of every SMB Direct over iWARP
connection under one 16 MiB budget (analyzer/model/rdma_iwarp.c,
rdma_budget.h).

gen_hostile.py's iwarp-open case: connections each left inside an FPDU whose
ULPDU length says 65,000 octets (60,000 sent).  Each such FPDU needs a
buffer of its own (of the largest ULPDU, 65,535 octets) until it ends; the
budget holds 16 MiB // 65,535 = 256 of them, and every further one is
dropped and counted.  Its iwarp-sends case:
connections each inside a Send of 44 DDP segments (whole FPDUs) that never
ends, whose buffer grows to 65,535 octets: the budget holds 256 of them.
Its iwarp-smbd case: connections each inside an SMB2 message in SMBD pieces
(61,000 octets, 1,000 sent): 275 of them.
 - after samples/smb445-encrypt.pcap (so that the policy has SMB to judge,
   and passes without the flood), --require-encryption: the verdict is
   inconclusive, not a pass: unknown iwarp-over-budget,
   evidence.caps_hit.iwarp_messages_over_budget = connections - 256 exactly;
   also with --jobs 2 (each thread its own budget: a cap hit, not the same
   count), and smbscope merge of the report keeps count and unknown;
 - fewer connections than the budget holds: no cap hit, no member, a pass;
 - peak RSS (from stdin: the file is not mapped) under --rss-mib (main held
   every connection's buffer: 183 MiB at 1,125 connections).
usage: iwarp_budget.py --smbscope EXE --samples DIR [--rss-mib N (0: skip)]"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BUDGET = 16 << 20
# what the budget holds at once: FPDU and Send buffers of 65,535 octets, SMBD ones of the message's size
CASES = {"iwarp-open": BUDGET // 65535, "iwarp-sends": BUDGET // 65535, "iwarp-smbd": BUDGET // 61000}
FIT = CASES["iwarp-open"]
SCALE_OVER = 0.25      # 1,125 connections (71 MB)
SCALE_UNDER = 0.04     # 180 connections
failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


def generate(path, scale, case="iwarp-open"):
    subprocess.run([sys.executable, os.path.join(HERE, "gen_hostile.py"), case, path, "--scale", str(scale)],
                   stdout=subprocess.PIPE, check=True)
    return int(4500 * scale)


def run(args, *extra):
    p = subprocess.run([args.smbscope, "-T", "json", "-q", "--require-encryption"] + list(extra),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode, json.loads(p.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--samples", required=True)
    ap.add_argument("--rss-mib", type=int, default=40, help="peak RSS bound; 0 skips (sanitizers)")
    args = ap.parse_args()
    encrypted = os.path.join(args.samples, "smb445-encrypt.pcap")
    with tempfile.TemporaryDirectory(prefix="smbscope-iwarp-budget-") as tmp:
        code, r = run(args, encrypted)
        check(code == 0 and r["verdict"]["pass"], "the encrypted sample alone passes (exit %d)" % code)

        under = os.path.join(tmp, "under.pcap")
        n = generate(under, SCALE_UNDER)
        code, r = run(args, encrypted, under)
        caps = r["evidence"]["caps_hit"]
        check(n < FIT and code == 0 and r["verdict"]["pass"] and "iwarp_messages_over_budget" not in caps,
              "%d open FPDUs fit the budget: a pass, no caps_hit member (exit %d, %r)" % (n, code, caps))

        for case, what in (("iwarp-sends", "Sends in DDP segments"), ("iwarp-smbd", "SMB2 messages in SMBD pieces")):
            cap = os.path.join(tmp, case + ".pcap")
            ns = generate(cap, SCALE_OVER, case)
            code, r = run(args, encrypted, cap)
            got = r["evidence"]["caps_hit"].get("iwarp_messages_over_budget", 0)
            reasons = [u["reason"] for u in r["verdict"]["unknowns"]]
            check(not r["verdict"]["pass"] and "iwarp-over-budget" in reasons and got == ns - CASES[case],
                  "%d open %s: %d over the budget (want %d), unknown iwarp-over-budget (exit %d, %r)"
                  % (ns, what, got, ns - CASES[case], code, reasons))
            if case == "iwarp-sends":
                sends = cap

        over = os.path.join(tmp, "over.pcap")
        n = generate(over, SCALE_OVER)
        for extra in ([], ["--jobs", "2"]):
            code, r = run(args, *extra + [encrypted, over])
            caps = r["evidence"]["caps_hit"]
            reasons = [u["reason"] for u in r["verdict"]["unknowns"]]
            got = caps.get("iwarp_messages_over_budget", 0)
            want_ok = got == n - FIT if not extra else 0 < got <= n - FIT
            check(code == 3 and not r["verdict"]["pass"] and reasons == ["iwarp-over-budget"] and want_ok,
                  "%s%d open FPDUs: %d over the budget (%s), unknown iwarp-over-budget, inconclusive (exit %d, %r)"
                  % (" ".join(extra) + " " if extra else "", n, got,
                     "want %d" % (n - FIT) if not extra else "some", code, reasons))
            text = subprocess.run([args.smbscope, "-q", "--require-encryption"] + extra + [encrypted, over],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE).stdout.decode()
            check("%d iWARP messages dropped" % got in text, "the text report names the cap hit")
            if not extra:
                rep = os.path.join(tmp, "over.json")
                with open(rep, "w") as f:
                    json.dump(r, f)
        p = subprocess.run([args.smbscope, "merge", "-T", "json", "-q", "--require-encryption", rep],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        m = json.loads(p.stdout)
        check(m["evidence"]["caps_hit"].get("iwarp_messages_over_budget") == n - FIT and not m["verdict"]["pass"] and
              "iwarp-over-budget" in [u["reason"] for u in m["verdict"]["unknowns"]],
              "merge keeps caps_hit.iwarp_messages_over_budget %r and the unknown (exit %d)"
              % (m["evidence"]["caps_hit"].get("iwarp_messages_over_budget"), p.returncode))
        for cap, what in ((over, "FPDUs of 65,000 octets"), (sends, "Sends of 61,600 octets")):
            if not args.rss_mib:
                break
            with open(cap, "rb") as f:  # from stdin: the file is not mapped
                p = subprocess.run(["/usr/bin/time", "-f", "%M", args.smbscope, "-q", "-T", "json", "-o", os.devnull,
                                    "-"], stdin=f, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            rss = int(p.stderr.decode().strip().splitlines()[-1])
            check(rss < args.rss_mib * 1024, "peak RSS %d KiB < %d MiB with %d %s open"
                  % (rss, args.rss_mib, n, what))
    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
