#!/usr/bin/python3
"""merge_assoc_check.py - `smbscope merge` is associative and order-independent
on the parts of captures cut in the middle of connections (issue 13: "Merge is
associative and order-independent").

Each capture is cut with editcap -c and with editcap -i into 3 and into 4
parts, so that SMB exchanges (a SESSION_SETUP, a TREE_CONNECT, a NEGOTIATE),
FIN exchanges, NBSS framing, NetBIOS rows and QUIC datagrams fall in different
parts.  The reports of the parts are merged in every bracketing of the parts in
their order (every tree whose inner nodes merge two or more neighbouring
subtrees: ((a,b),c) and (a,(b,c)) for 3 parts, 10 trees for 4, e.g.
((a,b),(c,d)), (a,(b,c),d), ((a,b,c),d)), each merge given its arguments in
another order than the parts', and in every argument order of the flat merge;
each result must be the bytes of the flat merge.  Byte-equal: a merged report
is read again by the next merge, so anything that depends on the grouping (a
join one grouping makes and another does not, a list in the order of the
arguments) shows.

--noncontiguous adds every grouping of parts that are not next to each other
(merge(a,c) first, then b: the merge of a and c joins the connection the two
share, and b falls in its middle; 1 more tree for 3 parts, 15 for 4): a merged
report carries the states of the runs it merged (its leaves), so these too must
give the bytes of the flat merge (README, smbscope merge); each one that does
not is a failure, and the count of those that differ is printed.

By default each enumeration runs a deterministic share (subset()): of a
cut's argument orders and groupings a few, the next ones for the next cut,
so that every order and every tree of 3 and of 4 parts is tried by some
cut; of the generated captures' cut sizes and caps those the comments name;
and the many distinct runs of one sample (1,025 and 400) are one real run
given as many identities (distinct()).  The line "... of ... ran" says how
many; SMBSCOPE_FULL=1 runs every case, and real sensors' captures.

Usage: merge_assoc_check.py --smbscope BIN --samples DIR [--all] [--noncontiguous] [SAMPLE...]
(--all: every sample of DIR, not only the suite's list; slow)
"""

import argparse
import glob
import itertools
import os
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from merge_check import expect, failures, run  # noqa: E402
import pcap_cut  # noqa: E402  (capinfos -c, editcap -r / -c without a tool start each)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
import gen_capture  # noqa: E402
import many_conns as mcn  # noqa: E402

# Samples whose cuts join across parts: a SESSION_SETUP whose request and
# response fall in different parts (nbss-on-445/8445 by time into 4: its
# mechs_offered), TREE_CONNECTs, a NEGOTIATE, NBSS framing, FINs, NetBIOS
# names (nbdgm: a row's names in first-seen order), QUIC tails (of an SMB
# connection, and of one that is not SMB: state.quic_open), SMB Direct.
SUITE = ["smb445-list-shares.pcap", "nbss-on-445.pcap", "nbss-on-8445.pcap", "nbss-negative.pcap",
         "nbdgm-nmbd-startup.pcap", "smb445-nt1.pcap", "quic443-smb3_11.pcap", "rdma-roce-4791.pcap",
         "rdma-iwarp-5445.pcap", "mixed-nbns-139-445.pcap", "quic443-other-alpn.pcap"]


FULL = os.environ.get("SMBSCOPE_FULL") == "1"
RAN = {}  # what -> [cases run, cases in all]: printed at the end


def subset(what, items, k, at=None):
    """k of items (all when FULL): the at-th window of k (the next cut
    takes the next ones, so that the cuts together try them all), or k
    spread evenly over them when at is None."""
    items = list(items)
    got = items if FULL or len(items) <= k else (
        [items[(at * k + j) % len(items)] for j in range(k)] if at is not None else
        [items[j * len(items) // k] for j in range(k)])
    n = RAN.setdefault(what, [0, 0])
    n[0] += len(got)
    n[1] += len(items)
    return got


packets = pcap_cut.packets


def partitions(items, contiguous):
    """Every set partition of items (a list) into blocks; contiguous: only
    blocks of consecutive items (parts next to each other in time)."""
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for p in partitions(rest, contiguous):
        for i in range(min(1, len(p)) if contiguous else len(p)):
            yield p[:i] + [[first] + p[i]] + p[i + 1:]
        yield [[first]] + p


def trees(leaves, contiguous=True):
    """Every bracketing of leaves: a leaf, or a merge (tuple) of two or
    more subtrees whose leaves partition them."""
    leaves = sorted(leaves)
    if len(leaves) == 1:
        yield leaves[0]
        return
    for p in partitions(leaves, contiguous):
        if len(p) < 2:
            continue
        for kids in itertools.product(*[list(trees(b, contiguous)) for b in p]):
            yield tuple(kids)


class Merger:
    def __init__(self, smbscope, reports, d, options=()):
        self.smbscope, self.reports, self.d, self.memo, self.n = smbscope, reports, d, {}, 0
        self.options = list(options)  # the runs' policy and caps, given to every merge

    def path(self, t):
        """The report of tree t: a part's own, or its merge written to a file."""
        if not isinstance(t, tuple):
            return self.reports[t]
        if t not in self.memo:
            args = [self.path(k) for k in t]
            # the arguments in another order than the tree's: reversed, or rotated
            args = args[::-1] if self.n % 2 else args[1:] + args[:1]
            rc, out, err = run([self.smbscope, "merge", "-T", "json"] + self.options + args)
            self.n += 1
            p = os.path.join(self.d, "m%d.json" % self.n)
            with open(p, "wb") as f:
                f.write(out)
            self.memo[t] = (p, rc, out, err)
        return self.memo[t][0]

    def result(self, t):
        self.path(t)
        return self.memo[t][1:]


CASE = {}  # parts -> the cuts in so many parts check() was given: which window of orders and trees the next takes

# Cut by time into 4 parts always: a SESSION_SETUP whose request and
# response fall in different parts (their mechs_offered, SUITE's comment).
ALWAYS = {("nbss-on-445.pcap", 4, True), ("nbss-on-8445.pcap", 4, True)}


def cuts_of(i, cap):
    """The (parts, by_time) the i-th sample is cut into: 3 and 4 parts,
    one by count and the other by time, the next sample the other way round
    (SMBSCOPE_FULL=1: all four), and ALWAYS."""
    every = [(parts, by_time) for parts in (3, 4) for by_time in (False, True)]
    got = [c for c in every if FULL or (c[0] == 3) == (c[1] == bool(i % 2)) or
           (os.path.basename(cap),) + c in ALWAYS]
    n = RAN.setdefault("samples' cuts (3 and 4 parts, by count and by time)", [0, 0])
    n[0] += len(got)
    n[1] += len(every)
    return got


def check(smbscope, capture, parts, by_time, tmp, noncontiguous):
    d = tempfile.mkdtemp(dir=tmp)
    if by_time:  # editcap -i: the span / parts
        per = "%.6f s" % (pcap_cut.duration(capture) / parts + 1e-6)
        subprocess.run(["editcap", "-i", per[:-2], capture, os.path.join(d, "p.pcap")], check=True,
                       stdout=subprocess.DEVNULL)
        files = sorted(glob.glob(os.path.join(d, "p_*.pcap")))
    else:
        per = "%d packets" % -(-packets(capture) // parts)
        files = pcap_cut.every(capture, int(per.split()[0]), os.path.join(d, "p"))
    name = "%s cut into %d parts of %s" % (os.path.basename(capture), len(files), per)
    if len(files) > 4:
        return
    if len(files) < 3:
        return
    reports = []
    for i, f in enumerate(files):
        _, out, _ = run([smbscope, "-q", "-T", "json", f])
        reports.append(os.path.join(d, "r%d.json" % i))
        with open(reports[-1], "wb") as fh:
            fh.write(out)
    rc, want, err = run([smbscope, "merge", "-T", "json"] + reports)
    if rc == 2:
        expect(name + ": merge", False, err.strip())
        return
    bad = []
    case = CASE[len(files)] = CASE.get(len(files), -1) + 1
    flat = tuple(range(len(files)))
    # (the flat order itself is the command that made want: FULL only)
    perms = subset("cuts' argument orders", [p for p in itertools.permutations(flat) if FULL or p != flat],
                   2 if len(files) == 4 else 1, case)
    for perm in perms:
        got = run([smbscope, "merge", "-T", "json"] + [reports[i] for i in perm])
        if got[:2] != (rc, want):
            bad.append("order " + "".join("abcd"[i] for i in perm))
    m = Merger(smbscope, reports, d)
    every = [t for t in trees(list(flat)) if t != flat]
    shapes = subset("cuts' bracketings", every, 2, case)
    for t in shapes:
        got_rc, got, got_err = m.result(t)
        if (got_rc, got) != (rc, want):
            bad.append(show(t) + ("" if got_rc != 2 else " (%s)" % got_err.strip()))
    expect("%s: %d bracketings and %d argument orders merge to the same bytes" %
           (name, len(shapes), len(perms)), not bad,
           "%d differ: %s" % (len(bad), ", ".join(bad[:8]) + (" ..." if len(bad) > 8 else "")))
    if noncontiguous:  # README (smbscope merge): associative in any grouping
        others = subset("cuts' groupings not next to each other",
                        [t for t in trees(list(flat), False) if t != flat and t not in every], 2, case)
        off = [show(t) for t in others if m.result(t)[:2] != (rc, want)]
        noncontiguous.append((len(others), len(off)))
        expect("%s: %d groupings of parts not next to each other merge to the same bytes" % (name, len(others)),
               not off, "%d differ: %s" % (len(off), ", ".join(off[:6]) + (" ..." if len(off) > 6 else "")))


def groups_past_cap(smbscope, samples, tmp):
    """Connection groups past their cap: which combinations keep both
    addresses depends on the order they arrive, and must not be the order of
    the reports (mstate_group_order.h).  Four samples' reports under
    --max-connection-groups 2, each within the cap, together past it: every
    argument order and every bracketing merges to the same bytes."""
    import json
    d = tempfile.mkdtemp(dir=tmp)
    cap = ["--max-connection-groups", "2"]
    names = ["smb445-smb3_02.pcap", "smb445-smb3_11.pcap", "smb8445-smb3_11.pcap", "mixed-nbns-139-445.pcap"]
    reports = []
    for i, n in enumerate(names):
        _, out, _ = run([smbscope, "-q", "-T", "json"] + cap + [os.path.join(samples, n)])
        reports.append(os.path.join(d, "g%d.json" % i))
        with open(reports[-1], "wb") as fh:
            fh.write(out)
    rc, want, err = run([smbscope, "merge", "-T", "json"] + cap + reports)
    summary = json.loads(want)["connection_groups_summary"] if rc != 2 else {}
    expect("groups past the cap: the merge of four reports is past it (test meaningful)",
           summary.get("cap_hit") and summary.get("groups", 0) > 2, err.strip() or str(summary))
    flat = tuple(range(len(reports)))
    orders = subset("groups past the cap: argument orders", [p for p in itertools.permutations(flat)
                                                             if FULL or p != flat], 6)
    bad = [p for p in orders if run([smbscope, "merge", "-T", "json"] + cap + [reports[i] for i in p])[:2] != (rc, want)]
    expect("groups past the cap: %d argument orders merge to the same bytes" % len(orders), not bad,
           "%d differ, e.g. %s" % (len(bad), " ".join("abcd"[i] for i in bad[0]) if bad else ""))
    m = Merger(smbscope, reports, d, cap)
    shapes = subset("groups past the cap: groupings", [t for t in trees(list(flat), False) if t != flat], 8)
    off = [show(t) for t in shapes if m.result(t)[:2] != (rc, want)]
    expect("groups past the cap: %d groupings merge to the same bytes" % len(shapes), not off,
           "%d differ: %s" % (len(off), ", ".join(off[:6])))
    # past the wide table (16 x the cap) the reports' order decides: said
    one = ["--max-connection-groups", "1"]
    every = []
    # (a sample cut from another, NAME.origin, shares its packets: merge refuses the two)
    for i, c in enumerate(sorted(c for c in glob.glob(os.path.join(samples, "*.pcap"))
                                 if not os.path.exists(os.path.splitext(c)[0] + ".origin"))):
        _, out, _ = run([smbscope, "-q", "-T", "json"] + one + [c])
        every.append(os.path.join(d, "s%d.json" % i))
        with open(every[-1], "wb") as fh:
            fh.write(out)
    rc, out, err = run([smbscope, "merge", "-T", "json"] + one + every)
    folded = json.loads(out)["stats"]["merged"].get("state_folded", {}) if rc != 2 else {}
    expect("groups past the wide table: stats.merged.state_folded.connection_groups counts them",
           folded.get("connection_groups", 0) > 0, err.strip() or str(folded))


def cut_reports(smbscope, whole, every, cap, d):
    """whole cut every `every` packets (editcap -c) in a new directory
    under d, and each part's report (options cap): (parts, reports)."""
    sub = tempfile.mkdtemp(dir=d)
    parts = pcap_cut.every(whole, every, os.path.join(sub, "p"))
    reports = []
    for i, part in enumerate(parts):
        _, out, _ = run([smbscope, "-q", "-T", "json"] + cap + [part])
        reports.append(os.path.join(sub, "r%d.json" % i))
        with open(reports[-1], "wb") as fh:
            fh.write(out)
    return parts, reports


def groups_past_cap_cut(smbscope, samples, tmp):
    """Connection groups past their cap, a capture cut in the middle of
    connections (mstate_group_order.h): one run over the parts admits a
    group when its first connection closes, and a connection open, or
    lingering after its FINs, at a part's end closes in a later part.  A
    generated capture of 400 connections under --max-connection-groups 150
    (64 open at once, and 100: more open across each cut, more of their
    FINs and last ACKs in the next part), cut with editcap -c at three
    places: the merge of the parts' reports is the run over the parts
    (merge_check's normal form), in either argument order, and the merge is
    past the cap."""
    import json
    from merge_check import first_diff, normal
    d = tempfile.mkdtemp(dir=tmp)
    cap = ["--max-connection-groups", "150"]
    gen = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench", "gen_capture.py")
    # base failed all 12 checks (tests/bench/RESULTS.md): by default one cut of each
    for overlap, every in subset("groups past the cap, cut: open at once x cut",
                                 itertools.product(("64", "100"), (1001, 1500, 2003)), 2, 1):
        whole = os.path.join(d, "m400-%s.pcap" % overlap)
        if not os.path.exists(whole):
            subprocess.run([sys.executable, gen, "--samples", samples, "--many", "400", "--overlap", overlap, whole],
                           check=True, stdout=subprocess.DEVNULL)
        parts, reports = cut_reports(smbscope, whole, every, cap, d)
        rc_j, joint, _ = run([smbscope, "-q", "-T", "json"] + cap + parts)
        for order in (reports, reports[::-1]):
            rc, out, err = run([smbscope, "merge", "-T", "json"] + cap + order)
            if rc == 2:
                expect("groups past the cap, cut every %d packets: merged" % every, False, err.strip())
                break
            m = json.loads(out)
            diff = first_diff(normal(m), normal(json.loads(joint)))
            expect("groups past the cap, %s open at once, cut every %d packets into %d parts%s: the merge is the "
                   "run over them" % (overlap, every, len(parts), ", reports in reverse" if order is not reports else ""),
                   diff is None and rc == rc_j and m["connection_groups_summary"].get("cap_hit"),
                   diff or "exit %d != %d, or not past the cap" % (rc, rc_j))


def edges_open_at_end(smbscope, samples, tmp):
    """Connections still open at the end of the last part, several parts:
    the run over the parts closes them at its end in the order it opened
    them (flow.c flow_table_finish()) and makes their groups then, while
    each part's run had them as edges of its own.  A generated capture of
    800 connections (200 open at once) cut short after 7,600 packets (its
    last connections left open), cut with editcap -c into 2 and 3 parts,
    under caps of the groups the last of them cross: the merge of the
    parts' reports (either argument order, and merged in two steps) is the
    run over them.  Before, merge added them in the order of their
    addresses (the lowest address is the server's: by server) and kept
    other groups than the run (mstate_edges.c joint_close_order())."""
    import json
    from merge_check import first_diff, normal
    d = tempfile.mkdtemp(dir=tmp)
    gen = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench", "gen_capture.py")
    full, whole = os.path.join(d, "m800.pcap"), os.path.join(d, "m800-cut-short.pcap")
    subprocess.run([sys.executable, gen, "--samples", samples, "--many", "800", "--overlap", "200", full],
                   check=True, stdout=subprocess.DEVNULL)
    pcap_cut.records(full, whole, 1, 7600)
    for every, groups in subset("edges open at the end: cut x cap", [(3000, 600), (3800, 700), (3000, 700),
                                                                      (3800, 600)], 2, 0):
        cap = ["--max-connection-groups", str(groups)]
        parts, reports = cut_reports(smbscope, whole, every, cap, d)
        rc_j, joint, _ = run([smbscope, "-q", "-T", "json"] + cap + parts)
        jdoc = json.loads(joint)
        name = "edges open at the end, cut every %d packets into %d parts, --max-connection-groups %d" % (
            every, len(parts), groups)
        expect(name + ": the run is past the cap and ends with connections open (test meaningful)",
               jdoc["connection_groups_summary"].get("cap_hit") and
               any(e[-1] == "end" for e in jdoc["merge_state"]["state"]["edges"]))
        step = os.path.join(os.path.dirname(reports[0]), "step.json")
        rc, out, _ = run([smbscope, "merge", "-T", "json"] + cap + reports[:2])
        with open(step, "wb") as fh:
            fh.write(out)
        for label, args in (("", reports), (", reports in reverse", reports[::-1]),
                            (", merged in two steps", [step] + reports[2:])):
            if len(args) < 2:
                continue
            rc, out, err = run([smbscope, "merge", "-T", "json"] + cap + args)
            diff = "merge failed: " + err.strip() if rc == 2 else first_diff(normal(json.loads(out)), normal(jdoc))
            expect(name + label + ": the merge is the run over them", diff is None and rc == rc_j,
                   diff or "exit %d != %d" % (rc, rc_j))


def groups_past_fold(smbscope, samples, tmp):
    """Connection groups past the cap where each part's own run folded
    otherwise than the run over the parts (state.groups_past,
    mstate_groups_past.h): 3,000 connections of 3,000 client/server pairs
    to 100 servers under --max-connection-groups 150, cut into 3 and 13
    parts; the run over them keeps the first part's pairs with both
    addresses and folds the rest by server (37 servers) or without
    addresses, where each part's run kept its own first pairs and dropped
    other servers: the merge is that run, in either argument order.  Then
    400 pairs each met about 8 times (they recur across the parts): what
    merge cannot follow is counted, exactly the connections its full level
    lacks (stats.merged.state_folded.connection_groups).  Last, forged
    members refused."""
    import json
    from merge_check import first_diff, normal, redigest
    d = tempfile.mkdtemp(dir=tmp)
    cap = ["--max-connection-groups", "150"]
    gen = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench", "gen_capture.py")

    def parts_of(whole, every):
        parts, reports = cut_reports(smbscope, whole, every, cap, d)
        rc_j, joint, _ = run([smbscope, "-q", "-T", "json"] + cap + parts)
        return parts, reports, rc_j, json.loads(joint)

    whole = os.path.join(d, "m3k.pcap")
    subprocess.run([sys.executable, gen, "--samples", samples, "--many", "3000", whole], check=True,
                   stdout=subprocess.DEVNULL)
    docs = []
    for every in (10001, 2500):
        parts, reports, rc_j, jd = parts_of(whole, every)
        docs.append(json.load(open(reports[1])))
        for order in subset("3,000 pairs: argument orders", (reports, reports[::-1]), 1 if every == 2500 else 2):
            rc, out, err = run([smbscope, "merge", "-T", "json"] + cap + order)
            diff = err.strip() if rc == 2 else first_diff(normal(json.loads(out)), normal(jd))
            expect("3,000 pairs, cap 150, cut into %d parts%s: the merge is the run over them" % (
                len(parts), ", reports in reverse" if order is not reports else ""), diff is None and rc == rc_j,
                diff or "exit %d != %d" % (rc, rc_j))
    doc = docs[0]  # the second of 3 parts: 1,000 connections, 850 folded
    st = doc["merge_state"]["state"]
    expect("a part past its cap carries state.groups_past (its connections without a server, by server)",
           st.get("groups_past", {}).get("groups"), str(st.get("groups_past"))[:200])
    recur = os.path.join(d, "r400.pcap")
    subprocess.run([sys.executable, gen, "--samples", samples, "--many", "3000", "--clients", "400", "--servers", "1",
                    recur], check=True, stdout=subprocess.DEVNULL)
    for every in subset("400 pairs that recur: cuts", (15001, 10001), 1):
        parts, reports, rc_j, jd = parts_of(recur, every)
        rc, out, err = run([smbscope, "merge", "-T", "json"] + cap + reports)
        m = json.loads(out) if rc != 2 else {}
        lack = jd["connection_groups_summary"]["connections_by_level"]["full"] - \
            m.get("connection_groups_summary", {}).get("connections_by_level", {}).get("full", 0)
        said = m.get("stats", {}).get("merged", {}).get("state_folded", {}).get("connection_groups", 0)
        expect("400 pairs that recur, cap 150, %d parts: the connections merge keeps without both addresses where "
               "the run over the parts keeps them are counted (state_folded.connection_groups)" % len(parts),
               rc != 2 and lack > 0 and said == lack, "%s; lacks %d, says %d" % (err.strip(), lack, said))
    for name, change, needle in ([] if "groups_past" not in st else [
            ("groups of other connections", lambda gp: (gp["groups"].pop(), gp["closes"].pop()),
             "groups_past.groups: not the connections"),
            ("keys not base64 of n", lambda gp: gp["keys"].update(n=gp["keys"]["n"] + 1), "groups_past.keys"),
            ("a count of 0", lambda gp: gp["keys"].update(b64="AAAAAQA=", n=1), "groups_past.keys")]):
        t = json.loads(json.dumps(doc))
        change(t["merge_state"]["state"]["groups_past"])
        bad = os.path.join(d, "bad.json")
        with open(bad, "w") as fh:
            fh.write(json.dumps(redigest(t)))
        rc, _, err = run([smbscope, "merge"] + cap + [bad])
        expect("refuses state.groups_past: " + name, rc == 2 and needle in err, "exit %d, %r" % (rc, err.strip()))


def spans(smbscope, samples, tmp):
    """A connection over three or more parts (its handshake in three or four:
    mstate_join_syn.h, mstate_join_syn_heads; many connections each over
    several parts): the flat merge is the run over the parts (merge_check's
    normal form), and every argument order and every grouping, of parts next
    to each other or not, merges to its bytes."""
    import json
    from merge_check import first_diff, normal
    SPAN = [0]

    def reports_of(parts, d, opts):
        out = []
        for i, part in enumerate(parts):
            out.append(os.path.join(d, "r%d.json" % i))
            with open(out[-1], "wb") as fh:
                fh.write(run([smbscope, "-q", "-T", "json"] + opts + [part])[1])
        return out

    def one(name, parts, d, opts, groupings):
        reports = reports_of(parts, d, opts)
        rc_j, joint, _ = run([smbscope, "-q", "-T", "json"] + opts + parts)
        rc, want, err = run([smbscope, "merge", "-T", "json"] + opts + reports)
        diff = err.strip() if rc == 2 else first_diff(normal(json.loads(want)), normal(json.loads(joint)))
        expect("%s: the merge is the run over the parts" % name, diff is None and rc == rc_j,
               diff or "exit %d != %d" % (rc, rc_j))
        orders = subset("spans: argument orders", list(itertools.permutations(range(len(parts))))[1:], 3,
                        SPAN[0]) if len(parts) <= 4 else [tuple(range(len(parts)))[::-1], (2, 0, 1) + tuple(range(3, len(parts)))]
        SPAN[0] += 1
        bad = ["order " + "".join("abcdefgh"[i] for i in o) for o in orders
               if run([smbscope, "merge", "-T", "json"] + opts + [reports[i] for i in o])[:2] != (rc, want)]
        m = Merger(smbscope, reports, d, opts)
        bad += [show(t) for t in groupings if m.result(t)[:2] != (rc, want)]
        expect("%s: %d argument orders and %d groupings merge to the same bytes" % (name, len(orders), len(groupings)),
               not bad, "%d differ: %s" % (len(bad), ", ".join(bad[:8])))

    # smb445-sign: the NEGOTIATE request (signing required) and its response
    # in different parts (state.edge_xchg[].neg_signing_required)
    for name, ks in [("smb445-list-shares.pcap", ks) for ks in ((1, 2), (2, 3), (1, 2, 3))] + \
            [("smb445-sign.pcap", ks) for ks in ((2, 4), (4, 6))]:
        cap = os.path.join(samples, name)
        n = packets(cap)
        d = tempfile.mkdtemp(dir=tmp)
        bounds = [0] + list(ks) + [n]
        parts = []
        for i in range(len(bounds) - 1):
            parts.append(os.path.join(d, "p%d.pcap" % i))
            pcap_cut.records(cap, parts[-1], bounds[i] + 1, bounds[i + 1])
        flat = tuple(range(len(parts)))
        groupings = subset("spans: groupings", [t for t in trees(list(flat), False) if t != flat], 3, SPAN[0])
        one("%s cut after packets %s" % (name, ", ".join(map(str, ks))), parts, d, [], groupings)
    # 40 connections, 20 open at once, in 6 parts: (A+B)+C, A+(B+C), C+A+B
    d = tempfile.mkdtemp(dir=tmp)
    gen = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench", "gen_capture.py")
    whole = os.path.join(d, "m40.pcap")
    subprocess.run([sys.executable, gen, "--samples", samples, "--many", "40", "--overlap", "20", whole], check=True,
                   stdout=subprocess.DEVNULL)
    parts = pcap_cut.every(whole, 70, os.path.join(d, "p"))
    groupings = [((0, 1), (2, 3), (4, 5)), (((0, 1), 2), ((3, 4), 5)), (0, (1, (2, (3, (4, 5))))),
                 ((4, 5), (0, 1, 2, 3)), ((0, 2, 4), (1, 3, 5)), ((0, 5), (1, 4), (2, 3))]
    one("40 connections, 20 open at once, cut every 70 packets into %d parts" % len(parts), parts, d,
        ["--connections", "all"], groupings)


IP, TCP = mcn.IP, mcn.TCP


def linger_frame(f, src, dst, sport, dport, seq_add=0, flags=None):
    f = bytearray(f)
    f[IP + 12:IP + 16], f[IP + 16:IP + 20] = src, dst
    struct.pack_into("!HH", f, TCP, sport, dport)
    if seq_add:
        struct.pack_into("!I", f, TCP + 4, (struct.unpack_from("!I", f, TCP + 4)[0] + seq_add) & 0xFFFFFFFF)
    if flags is not None:
        f[TCP + 13] = flags
    struct.pack_into("<H", f, IP + 10, 0)
    struct.pack_into("<H", f, IP + 10, (~mcn.onesum(bytes(f[IP:IP + 20]))) & 0xFFFF)  # many_conns: '<H' sums
    struct.pack_into("<H", f, TCP + 16, mcn.tcp_checksum(f))
    return f


def linger_capture(samples, out, n=30, m=1000):
    """A capture whose merge needs the partial ending of connections lingering
    at a part's end (mstate_group_order.c, runs_popped): part A, n SMB
    connections opened one after the other and closed (a FIN each way,
    acknowledged) in reverse order, so that the order they lingered in is not
    the order they opened in; part B, m TCP connections that are not SMB (a
    FIN each way: they enter the closed list, flow.h, max_closed 1,024), then
    an SMB connection ended early by a SYN of a new ISN on its ports (a
    reused port: a close that list does not order).  The run over both ends
    the n + m - 1,024 oldest of A's lingering connections as B's enter the
    list, before B's reused port closes, and the rest at its end.  Returns
    the number of packets of part A."""
    _, pkts = gen_capture.read_pcap(os.path.join(samples, "smb445-smb3_11.pcap"))
    tpl = mcn.cut_template(pkts)  # SYN, SYN-ACK, ACK, NEG req, ACK, NEG resp, ACK, FIN, FIN, ACK
    recs = []

    def put(t, fc, f, c, s, cp, sp, **kw):
        src, dst, spt, dpt = (c, s, cp, sp) if fc else (s, c, sp, cp)
        recs.append((t, linger_frame(f, src, dst, spt, dpt, **kw)))

    for k in range(n):  # part A
        c, s = bytes((10, 64, 0, k + 1)), bytes((10, 1, 0, k + 1))
        for j, (_, fc, f) in enumerate(tpl):
            t = k * 1000 + j * 10 if j < 7 else 100000 + (n - 1 - k) * 1000 + (j - 7) * 10
            put(t, fc, f, c, s, 40000, 445)
    a = len(recs)
    for y in range(m):  # part B: not SMB (port 80), a FIN each way
        c, s = bytes((10, 99, y // 250, 1 + y % 250)), bytes((10, 2, 0, 1))
        for j in (0, 1, 2, 7, 8, 9):
            _, fc, f = tpl[j]
            put(200000 + y * 100 + j, fc, f, c, s, 40000, 80)
    c, s = bytes((10, 64, 1, 1)), bytes((10, 1, 1, 1))
    for j in range(7):  # an SMB connection, its port reused at the end
        _, fc, f = tpl[j]
        put(150000 + j * 10, fc, f, c, s, 40000, 445)
    put(400000, True, tpl[0][2], c, s, 40000, 445, seq_add=100000)
    recs.sort(key=lambda r: r[0])
    with open(out, "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        base = 1700000000 * 1000000
        for t, f in recs:
            us = base + t
            fh.write(struct.pack("<IIII", us // 1000000, us % 1000000, len(f), len(f)) + bytes(f))
    return a


def groups_linger_partial(smbscope, samples, tmp):
    """Connection groups past their cap, a part's lingering connections
    ended partly by a later part of fewer than 1,024 connections, with a
    close that is not in the closed list's order (linger_capture): the run
    over both makes the groups of A's oldest lingering connections before
    the reused port's, the others after (state.fin_closes, end_lingers,
    end_close_lingers); the merge, in either argument order, is that run."""
    import json
    from merge_check import first_diff, normal
    d = tempfile.mkdtemp(dir=tmp)
    whole = os.path.join(d, "linger.pcap")
    a = linger_capture(samples, whole)
    n = packets(whole)
    parts = [os.path.join(d, "a.pcap"), os.path.join(d, "b.pcap")]
    pcap_cut.records(whole, parts[0], 1, a)
    pcap_cut.records(whole, parts[1], a + 1, n)
    cap = ["--max-connection-groups", "30"]
    reports = []
    for i, part in enumerate(parts):
        reports.append(os.path.join(d, "r%d.json" % i))
        with open(reports[-1], "wb") as fh:
            fh.write(run([smbscope, "-q", "-T", "json"] + cap + [part])[1])
    rc_j, joint, _ = run([smbscope, "-q", "-T", "json"] + cap + parts)
    jd = json.loads(joint)
    expect("lingering ended partly: the run over the parts is past the cap (test meaningful)",
           jd["connection_groups_summary"].get("cap_hit"), str(jd["connection_groups_summary"]))
    for order in (reports, reports[::-1]):
        rc, out, err = run([smbscope, "merge", "-T", "json"] + cap + order)
        diff = err.strip() if rc == 2 else first_diff(normal(json.loads(out)), normal(jd))
        expect("lingering ended partly by a later part of fewer than 1,024 connections%s: the merge is the run "
               "over the parts" % (", reports in reverse" if order is not reports else ""),
               diff is None and rc == rc_j, diff or "exit %d != %d" % (rc, rc_j))
    # the members that say so, forged: refused
    from merge_check import redigest
    doc = json.load(open(reports[0]))
    st = doc["merge_state"]["state"]
    expect("part A's state: its closes at the end lingered (end_close_lingers), counted (fin_closes, end_lingers)",
           len(st.get("end_close_lingers", [])) == 30 and st.get("end_lingers") == 30 and st.get("fin_closes") == 30,
           str({k: st.get(k) for k in ("fin_closes", "end_lingers")}))
    n_end = len(st.get("end_close_ranks", []))
    for name, change, needle in (
            ("a place past the closes at the end", lambda x: x.update(end_close_lingers=[n_end]),
             "end_close_lingers: not the place of a later close at the end"),
            ("places not in order", lambda x: x.update(end_close_lingers=[1, 0]), "end_close_lingers: not the place"),
            ("more lingering than fin_closes", lambda x: x.update(end_lingers=x.get("fin_closes", 0) + 1),
             "end_lingers: more than fin_closes"),
            ("more places than end_lingers", lambda x: x.update(end_lingers=1, end_close_lingers=[0, 1]),
             "end_close_lingers: more than end_lingers")):
        t = json.loads(json.dumps(doc))
        change(t["merge_state"]["state"])
        bad = os.path.join(d, "bad.json")
        with open(bad, "w") as fh:
            fh.write(json.dumps(redigest(t)))
        rc, _, err = run([smbscope, "merge"] + cap + [bad])
        expect("refuses state.end_close_lingers / end_lingers: " + name, rc == 2 and needle in err,
               "exit %d, %r" % (rc, err.strip()))


def groups_linger_touched(smbscope, samples, tmp):
    """Connection groups past their cap, parts' closed lists past
    max_closed (1,024) together: one run over the parts ends the oldest
    connections lingering after their FINs there by last packet, and a
    connection lingering at a part's end whose last ACK the next part holds
    (a tail), or whose FINs fell one in each part, is the next part's in
    that order (flow.c: each packet moves its connection to the list's
    tail; mstate_group_order.c runs_popped()).  1,900 connections, 600 open
    at once, cut with editcap -c into 3 and 5 parts under
    --max-connection-groups 300 (main: other servers keep their
    any-client groups, 14 connections more there in 5 parts).  Then 1,200
    connections at 600 a second cut 0.1 s in: the later part's run ends the
    connections the cut left open early (its closed list past max_closed),
    which merge kept lingering to the end of them all (main: other groups
    with both addresses, at the cap and at 1,024).  Each merge, in either
    argument order and merged in two steps, is the run over the parts."""
    import json
    from merge_check import first_diff, normal
    d = tempfile.mkdtemp(dir=tmp)
    gen = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench", "gen_capture.py")

    def check(name, parts, cap):
        reports = []
        for i, part in enumerate(parts):
            reports.append(part + ".json")
            with open(reports[-1], "wb") as fh:
                fh.write(run([smbscope, "-q", "-T", "json"] + cap + [part])[1])
        rc_j, joint, _ = run([smbscope, "-q", "-T", "json"] + cap + parts)
        jdoc = json.loads(joint)
        expect(name + ": the run is past the cap (test meaningful)", jdoc["connection_groups_summary"].get("cap_hit"))
        step = reports[0] + ".step.json"
        with open(step, "wb") as fh:
            fh.write(run([smbscope, "merge", "-T", "json"] + cap + reports[:2])[1])
        for label, args in (("", reports), (", reports in reverse", reports[::-1]),
                            (", merged in two steps", [step] + reports[2:])):
            if len(args) < 2 and label:
                continue
            rc, out, err = run([smbscope, "merge", "-T", "json"] + cap + args)
            diff = "merge failed: " + err.strip() if rc == 2 else first_diff(normal(json.loads(out)), normal(jdoc))
            expect(name + label + ": the merge is the run over them", diff is None and rc == rc_j,
                   diff or "exit %d != %d" % (rc, rc_j))

    whole = os.path.join(d, "m1900.pcap")
    subprocess.run([sys.executable, gen, "--samples", samples, "--many", "1900", "--overlap", "600", whole],
                   check=True, stdout=subprocess.DEVNULL)
    # (main's other groups: in 5 parts)
    for every in subset("1,900 connections: cuts", (6334, 3800), 1, 1):
        parts, _ = cut_reports(smbscope, whole, every, [], d)
        check("1,900 connections, 600 open at once, cut every %d packets into %d parts, --max-connection-groups 300" % (
            every, len(parts)), parts, ["--max-connection-groups", "300"])
    import tcp_cuts
    rate = os.path.join(d, "m1200.pcap")
    subprocess.run([sys.executable, gen, "--samples", samples, "--many", "1200", "--rate", "600", rate], check=True,
                   stdout=subprocess.DEVNULL)
    hdr, recs = tcp_cuts.read(rate)
    k = next(i for i, r in enumerate(recs) if r[0] >= recs[0][0] + 100000)
    parts = [os.path.join(d, "r0.pcap"), os.path.join(d, "r1.pcap")]
    tcp_cuts.write(parts[0], hdr, recs[:k])
    tcp_cuts.write(parts[1], hdr, recs[k:])
    for groups in ("300", "1024"):
        check("1,200 connections at 600 a second cut 0.1 s in, --max-connection-groups " + groups, parts,
              ["--max-connection-groups", groups])


def sensor_reports(smbscope, capture, d, n, args=(), name="sensor"):
    """The reports of n other sensors' captures of capture (merge_check's
    sensor_copy(): the same connections at the same times, distinct parts):
    the many reports of one shape merge once took as copies of one report,
    which it now refuses (a part given twice counts twice)."""
    from concurrent.futures import ThreadPoolExecutor
    from merge_check import sensor_copy
    if not FULL:
        return distinct(smbscope, capture, d, n, args, name)

    def one(k):
        pcap = sensor_copy(capture, os.path.join(d, "%s%d.pcap" % (name, k)), k)
        rc, data, err = run([smbscope, "-q", "-T", "json"] + list(args) + [pcap])
        os.unlink(pcap)
        out = os.path.join(d, "%s%d.json" % (name, k))
        with open(out, "wb") as f:
            f.write(data)
        return out
    with ThreadPoolExecutor(max_workers=4) as ex:
        return list(ex.map(one, range(1, n + 1)))


def distinct(smbscope, capture, d, n, args=(), name="sensor", same_path=False):
    """What sensor_reports() gives, made of one run: the report of the
    first sensor's capture, given n identities (inputs[].part_id, and the
    overlap sketch's hashes XOR a number of k, sorted again), digest made
    again; merge sees n distinct parts of the same connections at the same
    times, as it does n sensors' captures (same_path: each names its capture
    as the first does, as sensors running `smbscope capture.pcap` would).
    One smbscope run where
    sensor_reports() makes n (1,025 and 400 here: most of this test's
    time); SMBSCOPE_FULL=1 runs them."""
    import base64
    import json
    import struct
    from merge_check import redigest, sensor_copy
    pcap = sensor_copy(capture, os.path.join(d, "%s1.pcap" % name), 1)
    rc, data, err = run([smbscope, "-q", "-T", "json"] + list(args) + [pcap])
    os.unlink(pcap)
    text = data.decode()
    out = []
    for k in range(1, n + 1):
        # the path of the k-th sensor's capture, as its run names it
        t = json.loads(text if same_path else
                       text.replace(json.dumps(pcap)[1:-1], json.dumps(pcap[:-6] + "%d.pcap" % k)[1:-1]))
        pid = "sha256:" + hashlib_hex("sensor %s %d" % (name, k))
        for i in t["inputs"] + t["merge_state"]["state"]["inputs"]:
            i["part_id"] = pid
        for i in t["merge_state"]["state"]["inputs"]:
            ov = i.get("overlap")
            if ov and k > 1:
                raw = base64.b64decode(ov["hashes"])
                hs = sorted(h ^ (k << 40) for h in struct.unpack("<%dQ" % (len(raw) // 8), raw))
                ov["hashes"] = base64.b64encode(struct.pack("<%dQ" % len(hs), *hs)).decode()
        out.append(os.path.join(d, "%s%d.json" % (name, k)))
        with open(out[-1], "w") as f:
            f.write(json.dumps(redigest(t)))
    return out


def hashlib_hex(text):
    import hashlib
    return hashlib.sha256(text.encode()).hexdigest()


def compact(x):
    import json
    return json.dumps(x, separators=(",", ":"), ensure_ascii=False)


def pack_text(text):
    import base64
    import zlib
    raw = text.encode()
    return {"bytes": len(raw), "zlib": base64.b64encode(zlib.compress(raw)).decode()}


def pack(leaf):
    return pack_text(compact(leaf))


def unpack_text(x):
    import base64
    import zlib
    return zlib.decompress(base64.b64decode(x["zlib"]))


def unpack(x):
    import json
    return json.loads(unpack_text(x))


def leaves(smbscope, samples, tmp):
    """A merged report's state is its runs' states (leaves, README: smbscope
    merge): merged again alone it gives its own bytes; leaves smbscope never
    writes are refused; past MSTATE_LEAVES_CAP (1,024) runs the folded state
    is written instead."""
    from merge_check import redigest
    import json
    d = tempfile.mkdtemp(dir=tmp)
    cap = os.path.join(samples, "smb445-list-shares.pcap")
    reports = []
    for i, f in enumerate(pcap_cut.every(cap, 20, os.path.join(d, "p"))[:2]):
        reports.append(os.path.join(d, "r%d.json" % i))
        with open(reports[-1], "wb") as fh:
            fh.write(run([smbscope, "-q", "-T", "json", f])[1])
    rc, merged, err = run([smbscope, "merge", "-T", "json"] + reports)
    mpath = os.path.join(d, "m.json")
    with open(mpath, "wb") as fh:
        fh.write(merged)
    doc = json.loads(merged) if rc != 2 else {}
    st = doc.get("merge_state", {}).get("state", {})
    runs = [json.load(open(r)) for r in reports]
    packed = st.get("leaves", [])
    expect("a merged state's leaves are packed: {bytes, zlib}", packed and all(
        sorted(x) == ["bytes", "zlib"] and len(unpack_text(x)) == x["bytes"] for x in packed), str(packed)[:300])
    expect("a merged state is its runs' states and connections[], in one order (their packed text)",
           [unpack(x) for x in packed] == [{"state": r["merge_state"]["state"], "connections": r["connections"]}
                                           for r in runs] or
           [unpack(x) for x in packed[::-1]] == [{"state": r["merge_state"]["state"], "connections": r["connections"]}
                                                 for r in runs], err.strip())
    expect("the leaves in the order of their text", packed == sorted(packed, key=compact))
    again = run([smbscope, "merge", "-T", "json", mpath])
    expect("a merged report merged alone gives its own bytes", again[:2] == (rc, merged), again[2].strip())

    if "leaves" not in st:
        return
    # merge reads a merged report leaf by leaf; a reformatted one gives the
    # same; one whose state's key is written with escapes is nothing
    # smbscope (or jq, or Python's json) writes: refused, where it was read
    # as one tree (review: a forged state's rows then took 369 MB)
    alt = os.path.join(d, "alt.json")
    with open(alt, "w") as f:
        f.write(json.dumps(doc, indent=1))
    got = run([smbscope, "merge", "-T", "json", alt])
    expect("a merged report reformatted merged alone gives the same bytes", got[:2] == (rc, merged), got[2].strip())
    with open(alt, "w") as f:
        f.write(merged.decode().replace('"leaves"', '"le\\u0061ves"', 1))
    got = run([smbscope, "merge", "-T", "json", alt])
    expect("a merged report whose leaves' key is escaped is refused: not as smbscope writes it",
           got[0] == 2 and "not as smbscope writes it" in got[2], "exit %d %s" % (got[0], got[2].strip()[:300]))

    def refused(name, change, needle):
        t = json.loads(merged)
        change(t["merge_state"]["state"])
        bad = os.path.join(d, name + ".json")
        with open(bad, "w") as f:
            f.write(json.dumps(redigest(t)))
        rc, _, err = run([smbscope, "merge", reports[0], bad])
        expect("refuses " + name, rc == 2 and bad in err and needle in err, "exit %d, %r" % (rc, err.strip()))

    def inner(i, change):
        def f(s):
            leaf = unpack(s["leaves"][i])
            change(leaf)
            s["leaves"][i] = pack(leaf)
        return f

    refused("leaves inside a leaf", inner(0, lambda x: x.update(state={"leaves": []})), "leaves inside a leaf")
    refused("leaves and other members", lambda s: s.update(run={}), "leaves and other members")
    refused("a leaf of another shape", inner(0, lambda x: x.pop("connections")), "leaves[0]")
    refused("no leaf", lambda s: s.update(leaves=[]), "no run")
    refused("a leaf's state changed", inner(1, lambda x: x["state"]["run"].update(packets=-1)), "leaves[1].state.run")
    refused("a packed leaf of another length", lambda s: s["leaves"][0].update(bytes=s["leaves"][0]["bytes"] + 1),
            "leaves[0]: zlib: not a zlib stream of that many bytes")
    refused("a packed leaf not base64", lambda s: s["leaves"][0].update(zlib="!!!!" + s["leaves"][0]["zlib"][4:]),
            "leaves[0]: zlib: not base64")
    refused("a packed leaf of another member", lambda s: s["leaves"][0].update(extra=1), "not {bytes, zlib}")
    refused("a packed leaf inside a packed leaf", lambda s: s["leaves"][0].update(pack(s["leaves"][0])),
            "a packed leaf inside a packed leaf")
    refused("a packed leaf nested deeper than 64", lambda s: s["leaves"][0].update(
        pack_text("[" * 100 + "]" * 100)), "leaves[0]: offset 64: nested deeper than 64")
    # 64 MiB of one byte packs to 64 KiB (1,000:1): refused before it is unpacked
    refused("a packed leaf past 256 times its zlib stream", lambda s: s["leaves"][0].update(
        pack_text("{" + " " * (64 << 20) + "}")), "leaves[0]: bytes: more than 256 times its zlib stream")
    # A claim no stream backs costs nothing up front (the leaf is unpacked as
    # it comes): 256 times 1 MiB of incompressible zlib, 257 MiB claimed, is
    # refused for what its stream is within 192 MiB of address space, where
    # an allocation of the claim said "no memory".  (A sanitizer's shadow
    # memory does not fit such a limit: not run there.)
    if b"__asan_init" not in open(smbscope, "rb").read():
        import base64
        import random
        import resource
        import zlib
        z = zlib.compress(random.Random(1).randbytes(1 << 20))  # incompressible, the same every run
        t = json.loads(merged)
        t["merge_state"]["state"]["leaves"][0] = {"bytes": len(z) * 256 + (1 << 20),
                                                  "zlib": base64.b64encode(z).decode()}
        bad = os.path.join(d, "claim.json")
        with open(bad, "w") as f:
            f.write(json.dumps(redigest(t)))

        def limit():
            resource.setrlimit(resource.RLIMIT_AS, (192 << 20, 192 << 20))
        p = subprocess.run([smbscope, "merge", reports[0], bad], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           preexec_fn=limit, timeout=120)
        err = p.stderr.decode(errors="replace")
        expect("refuses a packed leaf claiming 256 times its stream, within 192 MiB of address space",
               p.returncode == 2 and "leaves[0]: zlib: not a zlib stream of that many bytes" in err,
               "exit %d, %r" % (p.returncode, err.strip()))
    t = json.loads(merged)
    inner(0, lambda x: x["state"]["run"].update(packets=x["state"]["run"]["packets"] + 1))(t["merge_state"]["state"])
    bad = os.path.join(d, "tampered.json")
    with open(bad, "w") as f:
        json.dump(t, f, indent=1)
    rc2, _, err = run([smbscope, "merge", bad])
    expect("refuses a merged report whose leaf was changed", rc2 == 2 and "digest does not match" in err, err.strip())
    # a leaf given as it is (format 6's form) is read, and packed again: the same bytes
    t = json.loads(merged)
    t["merge_state"]["state"]["leaves"][0] = unpack(t["merge_state"]["state"]["leaves"][0])
    alt = os.path.join(d, "unpacked.json")
    with open(alt, "w") as f:
        f.write(json.dumps(redigest(t)))
    got = run([smbscope, "merge", "-T", "json", alt])
    expect("a leaf not packed is read and packed again: the same bytes", got[:2] == (rc, merged), got[2].strip())
    # runs' reports without connections[] (many entries of one time are
    # degenerate()'s point, not this one's): 1,025 sensors' captures of one
    # sample, distinct parts (copies of one report are refused)
    runs = sensor_reports(smbscope, cap, d, 1025, ["--connections", "none"])
    for n, want in ((1024, True), (1025, False)):
        rc, out, err = run([smbscope, "merge", "-T", "json", "--connections", "none"] + runs[:n])
        st = json.loads(out)["merge_state"]["state"] if rc != 2 else {}
        expect("%d runs merged: %s" % (n, "their states kept whole" if want else "past the cap, the folded state"),
               ("leaves" in st) == want and (want or len(st.get("parts", [])) == n), err.strip())
        if not want and rc != 2:  # the folded state keeps every run's identity: a run again is refused
            ids = [i.get("part_id") for i in st.get("inputs", [])]
            expect("the folded state of %d runs keeps their %d part_ids" % (n, n), len(set(ids) - {None}) == n,
                   "%d distinct" % len(set(ids)))
            folded = os.path.join(d, "folded.json")
            with open(folded, "wb") as fh:
                fh.write(out)
            rc, _, err = run([smbscope, "merge", "-T", "json", folded, runs[7]])
            expect("a run merged again with the folded state of %d runs is refused" % n,
                   rc == 2 and runs[7] in err and folded in err and "twice" in err, err.strip()[:300])


def degenerate(smbscope, samples, tmp):
    """Inputs whose shape once made merge's cost grow with the square of
    their number (README, smbscope merge: its cost; tests/bench/merge_cost.sh
    measures it): here their answers.  Untimed."""
    import json
    from merge_check import redigest
    d = tempfile.mkdtemp(dir=tmp)

    def merged(args):
        rc, out, err = run([smbscope, "merge", "-T", "json"] + args)
        expect("merge of %d report(s) %s" % (len([x for x in args if x.endswith(".json")]), " ".join(
            x for x in args if not x.endswith(".json"))), rc != 2, err.strip()[:300])
        return out, (json.loads(out) if rc != 2 else {})

    def save(name, data):
        path = os.path.join(d, name)
        with open(path, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
        return path

    # many reports of the same connections at the same times (their entries
    # all of one time: each trim kept and sorted them all, each comparison
    # serialising two; 1,024 copies of one report at the default limit took
    # 80 s of CPU; 400 at --connections-limit 20 took 14 s there, 0.35 s
    # now): 400 sensors' captures of one sample, distinct parts (copies of
    # one report, which this once merged, are refused)
    sample = os.path.join(samples, "smb445-list-shares.pcap")
    one = save("one.json", run([smbscope, "-q", "-T", "json", sample])[1])
    doc = json.load(open(one))
    n, keep = 400, 20
    sensors = sensor_reports(smbscope, sample, d, n)
    limit = ["--connections-limit", str(keep)]
    flat, fd = merged(limit + sensors)
    expect("%d sensors' reports of a sample: the first %d of their entries, the rest omitted" % (n, keep),
           fd.get("connections") == doc["connections"] * keep and
           fd.get("connections_omitted") == n * (len(doc["connections"]) + doc["connections_omitted"]) - keep,
           "%d entries, %s omitted" % (len(fd.get("connections", [])), fd.get("connections_omitted")))
    halves = [save("half%d.json" % i, merged(limit + sensors[i * n // 2:(i + 1) * n // 2])[0]) for i in range(2)]
    again, _ = merged(limit + halves)
    expect("%d sensors' reports merged in two halves give the flat merge's bytes" % n, again == flat)

    # sensors whose captures have one name and one first packet: inputs[]
    # in the order of their parts' identities, whatever the grouping (they
    # were in the order merge met them)
    same = distinct(smbscope, sample, d, 4, name="same", same_path=True)
    flat4, _ = merged(same)
    for groups in (((0, 1), (2, 3)), ((2, 3), (0, 1)), ((3, 0), (1, 2))):
        hs = [save("same-%d%d.json" % g, merged([same[i] for i in g])[0]) for g in groups]
        again, _ = merged(hs)
        expect("4 reports of one capture name and first packet merged as %s give the flat merge's bytes" %
               " ".join("(%d,%d)" % g for g in groups), again == flat4)

    # the parts of a cut capture, 20 sensors' captures of each, at
    # --connections-limit 1 (a trim every few reports, edge entries set
    # aside): the first entry of the merge that keeps them all, the others counted
    cap = os.path.join(samples, "mixed-nbns-139-445.pcap")
    parts = pcap_cut.every(cap, 20, os.path.join(d, "cut"))
    copies = [r for i, f in enumerate(parts) for r in sensor_reports(smbscope, f, d, 20, name="cut%d-" % i)]
    every, ed = merged(["--connections", "all"] + copies)
    one_kept, od = merged(["--connections-limit", "1"] + copies)
    expect("%d reports of %d parts at --connections-limit 1: the first entry of all, the rest omitted" % (
        len(copies), len(parts)), od.get("connections") == ed.get("connections", [])[:1] and
        od.get("connections_omitted") == ed.get("connections_omitted", 0) + len(ed.get("connections", [])) - 1,
        "%s / %s" % (od.get("connections_omitted"), ed.get("connections_omitted")))
    for opt, got in ((["--connections", "all"], every), (["--connections-limit", "1"], one_kept)):
        hs = [save("cut-half%d-%s.json" % (i, opt[1]), merged(opt + copies[i::2])[0]) for i in range(2)]
        again, _ = merged(opt + hs)
        expect("those reports merged in two halves at %s give the flat merge's bytes" % " ".join(opt), again == got)

    # a distinct set's hashes are the reports' own: 8 reports of 4,096
    # hashes sharing their low 24 bits (one run of slots once)
    colliding = []
    for r in range(8):
        t = json.load(open(sensors[r]))  # of 8 distinct parts
        t["merge_state"]["state"]["census"]["udp_convs"] = {
            "exact": ["%016x" % ((r * 4096 + i + 1) << 24) for i in range(4096)]}
        colliding.append(save("coll%d.json" % r, json.dumps(redigest(t))))
    _, cd = merged(colliding)
    expect("8 reports of 4,096 UDP conversation hashes sharing their low bits: 32,768 conversations",
           cd.get("evidence", {}).get("udp_conversations") == 8 * 4096,
           str(cd.get("evidence", {}).get("udp_conversations")))

    # an object of more members than smbscope writes is refused before
    # json-glib parses it (member names of one g_str_hash: quadratic there)
    for count, refused in ((1024, False), (1025, True)):
        t = json.loads(json.dumps(doc))
        t["merge_state"]["state"]["x"] = {"k%d" % i: 0 for i in range(count)}
        bad = save("members%d.json" % count, json.dumps(redigest(t)))
        rc, _, err = run([smbscope, "merge", bad])
        said = "an object of more than 1024 members" in err
        expect("an object of %d members: %s" % (count, "refused" if refused else "not refused for its members"),
               said == refused and (rc == 2 and bad in err if refused else rc != 2), err.strip()[:300])


def show(t):
    return "abcdefgh"[t] if not isinstance(t, tuple) else "(" + ",".join(show(k) for k in t) + ")"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--samples", required=True)
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--noncontiguous", action="store_true")
    ap.add_argument("--degenerate", action="store_true", help="only the leaves and degenerate inputs' checks")
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    smbscope = os.path.abspath(a.smbscope)
    if a.all:
        caps = sorted(c for c in glob.glob(os.path.join(a.samples, "*.pcap"))
                      if not os.path.exists(os.path.splitext(c)[0] + ".origin"))
    else:
        caps = [os.path.join(a.samples, s) for s in (a.names or SUITE)]
    assert len(list(trees([0, 1, 2]))) == 3 and len(list(trees([0, 1, 2, 3]))) == 11
    assert len(list(trees([0, 1, 2], False))) == 4 and len(list(trees([0, 1, 2, 3], False))) == 26
    noncontiguous = [(0, 0)] if a.noncontiguous else []
    with tempfile.TemporaryDirectory() as tmp:
        leaves(smbscope, a.samples, tmp)
        degenerate(smbscope, a.samples, tmp)
        groups_past_cap(smbscope, a.samples, tmp)
        groups_past_cap_cut(smbscope, a.samples, tmp)
        edges_open_at_end(smbscope, a.samples, tmp)
        groups_past_fold(smbscope, a.samples, tmp)
        spans(smbscope, a.samples, tmp)
        groups_linger_partial(smbscope, a.samples, tmp)
        groups_linger_touched(smbscope, a.samples, tmp)
        if a.degenerate:
            caps = []
        for i, cap in enumerate(caps):
            for parts, by_time in cuts_of(i, cap):
                check(smbscope, cap, parts, by_time, tmp, noncontiguous)
    if noncontiguous:
        print("groupings of parts not next to each other: %d of %d differ" %
              (sum(n for _, n in noncontiguous), sum(n for n, _ in noncontiguous)))
    for what, (ran, every) in RAN.items():
        print("%s: %d of %d ran%s" % (what, ran, every, "" if FULL else " (SMBSCOPE_FULL=1: all)"))
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
