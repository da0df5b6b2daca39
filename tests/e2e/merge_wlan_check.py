#!/usr/bin/python3
"""merge_wlan_check.py - `smbscope merge` of a capture cut between an 802.11
MSDU's last fragment and the retry of that fragment counts what the run
over the parts counts (issue 13, review R5).

802.11 sends an MSDU's last fragment again, with the Retry bit, when its
ACK is lost; a monitor capture holds both.  A run reads the second as a
duplicate (wlan_defrag.c's done-ring holds the MSDU it completed).  Cut
between the two, the later part began with the retry alone and counted a
lost MSDU (fragment_datagrams_lost; the verdict inconclusive) that the run
over the parts did not.  Each run's state now carries its done-ring, the
MSDUs open at its end and its lone retries (state.wlan_frags,
analyzer/merge/mstate_wlan.h), and merge takes such a loss back where the
run over the parts' ring still held the MSDU.

Captures built as tests/e2e/encap_link_check.py builds its wlan-frag cases
(samples/nbt139-nt1.pcap's 56 packets, each MSDU in three fragments, every
last fragment sent again with the Retry bit; plain 802.11 and radiotap);
tshark dissects them cleanly (no malformed or cut item, NBSS and SMB
found).  Not fragmented A-MSDUs: tshark 4.0 dissects a retried last
fragment's body alone, as LLC, malformed in 17 of 53 (smbscope's merge of
them at each retry: the run's, as here).  Checks:
  * cut in two at every packet of the plain capture: wherever the cut is
    not inside an MSDU's fragments (those stay a loss in each part: README,
    merge), merge's lost MSDUs and decode losses are the run's; at
    every cut between a last fragment and its retry, merge equals the run
    as well as the cut just after the retry does (what is left there is
    TCP's, not 802.11's);
  * radiotap: the same at each retry;
  * the done-ring's bound: the retry of the first MSDU after 15 more
    completed (the run's ring still holds it: a duplicate) and after 16
    (written over: a loss), cut after the first MSDU and after the sixth:
    merge = the run; 31 s after (past the reassembly timeout): a loss in
    both;
  * cut in three (the middle part without a retry of its own), merged in
    two steps and in the reverse order: the same bytes; a --jobs 2 report
    of a part: the same merge;
  * the reports without state.wlan_frags (an older writer's): the loss
    counted as before; forged state.wlan_frags refused (exit 2) naming it.

Usage: merge_wlan_check.py --smbscope BIN --samples DIR
"""

import argparse
import concurrent.futures
import copy
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cut_subset  # noqa: E402
import encap_link_check as link  # noqa: E402
from merge_check import first_diff, normal, redigest  # noqa: E402
from merge_frags_check import Cut, expect, failures, run, same_in_any_grouping  # noqa: E402

WLAN, RADIOTAP = 105, 127
RETRY, MORE = 0x08, 0x04


def mac(frame, linktype):
    """Offset of the 802.11 header in a frame of the link type."""
    return frame[2] | frame[3] << 8 if linktype == RADIOTAP else 0


def seq_frag(frame, linktype):
    h = mac(frame, linktype)
    sc = frame[h + 22] | frame[h + 23] << 8
    return sc >> 4, sc & 15, frame[h + 1]


def with_retries(frames, linktype):
    """Each MSDU's last fragment (a fragment number, no More Fragments) sent
    again with the Retry bit right after it (its ACK lost)."""
    out = []
    for ts, us, f, c in frames:
        out.append((ts, us, f, c))
        seq, frag, fc = seq_frag(f, linktype)
        if frag and not fc & MORE:
            g = bytearray(f)
            g[mac(f, linktype) + 1] |= RETRY
            out.append((ts, us, bytes(g), c))
    return out


def to_recs(frames):
    return [(s * 1000000 + us, f) for s, us, f, _ in frames]


def inside(frame, linktype):
    """A fragment continuing an MSDU (not its first, not a retry): a cut
    before it divides the MSDU."""
    _, frag, fc = seq_frag(frame, linktype)
    return frag > 0 and not fc & RETRY


def is_retry(frame, linktype):
    return bool(seq_frag(frame, linktype)[2] & RETRY)


def frag_facts(doc):
    """MSDUs lost, and every decode loss."""
    losses = doc["evidence"]["decode_losses"]
    return losses["fragment_datagrams_lost"], json.dumps(losses, sort_keys=True)


def write(path, linktype, recs):
    from merge_frags_check import write_pcap
    write_pcap(path, linktype, recs)


def tshark_clean(tshark, path, name):
    ts = link.tshark_sees(tshark, path, [])
    expect("%s: tshark dissects it cleanly, NBSS and SMB in the reassembled MSDUs (%r)" % (name, ts),
           ts["smb"] > 0 and ts["broken"] == 0 and ts["reassembled"] > 0)


def sweep(cut, name, recs, linktype, every=True, keep=()):
    """Cut in two at every packet (every) or at each retry and just after
    it: the checks of the module's docstring.  By default (cut_subset) only
    at the retries numbered in keep (counted from 1) and just after them;
    SMBSCOPE_FULL=1: all."""
    retries = [k for k in range(1, len(recs)) if is_retry(recs[k][1], linktype)]
    ks = ([k for k in range(1, len(recs)) if not inside(recs[k][1], linktype)] if every else
          sorted(set(retries + [k + 1 for k in retries if k + 1 < len(recs)])))
    total = len(ks)
    every_retry, retries = retries, cut_subset.pick(retries, 0, [retries[i - 1] for i in keep])
    ks = cut_subset.pick(ks, 0, retries + [k + 1 for k in retries])
    cut_subset.note("%s: cuts in two" % name, ks, total)

    def one(k):
        d, m, j, _ = cut.compare(name, [recs[:k], recs[k:]])
        return k, d, m and frag_facts(m), j and frag_facts(j)

    with concurrent.futures.ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        got = dict((k, (d, fm, fj)) for k, d, fm, fj in pool.map(one, ks))
    # the first two records are one fragment twice in one microsecond: refused as an overlap (F6)
    between = [k for k in ks if not inside(recs[k][1], linktype) and k > 1]
    bad = ["%d: %s != %s" % (k, got[k][1], got[k][2]) for k in between if got[k][1] != got[k][2]]
    expect("%s: cut at %d places not inside an MSDU%s: merge's lost MSDUs and decode losses are the run's" %
           (name, len(between), "" if len(ks) == total else " (%d of %d)" % (len(ks), total)), not bad,
           "; ".join(bad[:4]))
    bad = ["%d: %s, after the retry: %s" % (k, got[k][0], got[k + 1][0]) for k in retries
           if k + 1 in got and got[k][0] != got[k + 1][0]]
    exact = sum(1 for k in retries if got[k][0] is None)
    expect("%s: cut at each of %d retries of a last fragment%s: merge = the run as the cut after the retry (%d equal "
           "the run exactly)" % (name, len(retries), "" if len(ks) == total else " (" + " ".join(map(str, retries)) + ")",
                                 exact), retries and not bad and exact > len(retries) // 2, "; ".join(bad[:4]))
    return every_retry


def ring_bound(cut, tmp, frames):
    """The first MSDU's last fragment retried after `later` more MSDUs (and
    `delay` us later): cut after the first MSDU and after the sixth."""
    plain = to_recs(link.fragments(frames))
    msdu_end = [k + 1 for k in range(len(plain)) if not seq_frag(plain[k][1], WLAN)[2] & MORE]
    first_last = plain[msdu_end[0] - 1]
    retry = bytearray(first_last[1])
    retry[1] |= RETRY
    for later, delay, dup in ((15, 0, True), (16, 0, False), (3, 31_000_000, False)):
        at = msdu_end[later]
        ts = plain[at - 1][0] + delay
        recs = plain[:at] + [(ts, bytes(retry))] + [(t + delay, b) for t, b in plain[at:]]
        path = os.path.join(tmp, "ring-%d-%d.pcap" % (later, delay))
        write(path, WLAN, recs)
        if later == 16:
            tshark_clean(os.environ.get("TSHARK", "tshark"), path, "a retry after 16 more MSDUs")
        rc, out, _ = run([cut.smbscope, "-q", "-T", "json", path])
        lost = frag_facts(json.loads(out))[0]
        # the retry in the later part; by default only the cut after the first
        for c in cut_subset.pick((msdu_end[0], msdu_end[min(5, later - 1)]), 1, [msdu_end[0]]):
            d, m, j, _ = cut.compare("ring", [recs[:c], recs[c:]])
            expect("the first MSDU's last fragment retried after %d more MSDUs%s (the run: %s), cut after MSDU %d: "
                   "merge = the run" % (later, " and 31 s" if delay else "", "a duplicate" if dup else "a loss",
                                        msdu_end.index(c) + 1),
                   d is None and lost == (0 if dup else 1), "%s; the run lost %s" % (d, lost))


def three_and_jobs(cut, tmp, recs, retries):
    """Cut in three at two retries, or around a retry (the middle part the
    retry alone); merged in two steps, in reverse."""
    for k1, k2, what in ((retries[2], retries[6], "at two retries"),
                         (retries[2], retries[2] + 1, "around a retry: the middle part the retry alone")):
        d, m, j, reports = cut.compare("three", [recs[:k1], recs[k1:k2], recs[k2:]])
        expect("cut in three (%s): merge = the run" % what, d is None, d or "")
    if m is None:
        return
    same_in_any_grouping(cut.smbscope, reports, cut.merged.get(tuple(reports)))
    # the later part written with --jobs 2 (802.11 is read in one run: the same state)
    d, m, j, reports = cut.compare("jobs", [recs[:k1], recs[k1:]])  # the sweep's cut at the third retry
    jobs = reports[1] + ".jobs.json"
    run([cut.smbscope, "-q", "-T", "json", "--jobs", "2", "-o", jobs, reports[1][:-len(".json")]])
    rc, out, err = run([cut.smbscope, "merge", "-T", "json", reports[0], jobs])
    d2 = first_diff(normal(json.loads(out)), normal(j)) if out else err
    expect("the later part's report written with --jobs 2: merge = the run", d is None and d2 is None, d or d2 or "")
    return reports


def older_and_forged(smbscope, tmp, reports):
    docs = [json.load(open(r)) for r in reports]
    later = docs[1]["merge_state"]["state"].get("wlan_frags")
    earlier = docs[0]["merge_state"]["state"].get("wlan_frags")
    expect("the earlier part carries its done-ring, the later its lone retry",
           earlier and len(earlier["done"]) > 0 and later and len(later["retries"]) == 1,
           "%r / %r" % (earlier, later))
    old = []
    for i, doc in enumerate(docs):
        doc = copy.deepcopy(doc)
        doc["merge_state"]["state"].pop("wlan_frags", None)
        p = os.path.join(tmp, "old%d.json" % i)
        json.dump(redigest(doc), open(p, "w"))
        old.append(p)
    rc, out, err = run([smbscope, "merge", "-T", "json"] + old)
    doc = json.loads(out) if out else None
    expect("the reports without state.wlan_frags (an older writer's): merged, the retry one lost MSDU as before",
           doc is not None and frag_facts(doc)[0] == 1, err.strip()[:300] if doc is None else repr(frag_facts(doc)))
    if not earlier or not later:
        return

    def forged(which, change):
        doc = copy.deepcopy(docs[which])
        change(doc["merge_state"]["state"]["wlan_frags"])
        p = os.path.join(tmp, "forged.json")
        json.dump(redigest(doc), open(p, "w"))
        paths = [p, reports[1]] if which == 0 else [reports[0], p]
        return run([smbscope, "merge", "-T", "json"] + paths)

    cases = [
        (0, "addresses not hex", lambda w: w["done"][0].__setitem__(0, "zz" * 12), "hex"),
        (0, "addresses of 5 octets", lambda w: w["done"][0].__setitem__(0, "00" * 5), "hex"),
        (0, "a sequence number past 12 bits", lambda w: w["done"][0].__setitem__(1, 4096), "wlan_frags"),
        (0, "17 MSDUs in the ring", lambda w: w.__setitem__("done", w["done"][:1] * 17), "wlan_frags"),
        (0, "a last fragment of number 0", lambda w: w["done"][0].__setitem__(2, 0), "number 0"),
        (0, "a member more", lambda w: w.__setitem__("more", []), "wlan_frags"),
        (1, "a retry after 16 MSDUs of its run", lambda w: w["retries"][0].__setitem__(4, 16), "wlan_frags"),
        (1, "a retry of 5 members", lambda w: w["retries"][0].pop(), "5 members"),
    ]
    for which, name, change, needle in cases:
        rc, out, err = forged(which, change)
        expect("forged wlan_frags, %s: refused (exit 2), naming it" % name,
               rc == 2 and "wlan_frags" in err and needle in err, "exit %d: %s" % (rc, err.strip()[:300]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--samples", required=True)
    args = ap.parse_args()
    tshark = os.environ.get("TSHARK", "tshark")
    frames = link.read_frames(os.path.join(args.samples, "nbt139-nt1.pcap"))
    with tempfile.TemporaryDirectory(prefix="merge-wlan-") as tmp:
        cut = Cut(args.smbscope, tmp, WLAN)
        caps = [("802.11 fragments, every last one retried", WLAN, with_retries(link.fragments(frames), WLAN), True),
                ("radiotap, the same", RADIOTAP,
                 [(s, us, link.radiotap(f), c) for s, us, f, c in with_retries(link.fragments(frames), WLAN)], False),
                ]
        retries = None
        # by default the retries 1, 3 (three_and_jobs() cuts there too), 8
        # (the one whose merge differs from the run, as the cut after it
        # does: an SMB1 NEGOTIATE response whose request the earlier part
        # holds), 14 and the last (56)
        for (name, lt, made, every), keep in zip(caps, ((1, 3, 8, 14, 56), (1, 8, 56))):
            recs = to_recs(made)
            path = os.path.join(tmp, "cap-%d.pcap" % len(recs))
            write(path, lt, recs)
            tshark_clean(tshark, path, name)
            r = sweep(Cut(args.smbscope, tmp, lt), name, recs, lt, every, keep)
            if every:
                retries, plain = r, recs
        ring_bound(cut, tmp, frames)
        reports = three_and_jobs(cut, tmp, plain, retries)
        if reports:
            older_and_forged(args.smbscope, tmp, reports)
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
