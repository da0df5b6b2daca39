#!/usr/bin/python3
"""merge_cost_inputs.py - merge_cost.sh's crafted reports, made from the
report DIR/one.json (a run's report of smb445-list-shares.pcap):

  DIR/hashNNN.json     256 reports whose census.udp_convs is 4,096 hashes
                       sharing their low 24 bits, distinct across reports
  DIR/membersN.json    an object of N member names of one g_str_hash
                       (N = 4,096 ... 32,768)

each with its digest made again (tests/e2e/merge_check.py's redigest).

Usage: merge_cost_inputs.py E2E_DIR DIR
       merge_cost_inputs.py --same A.json B.json  (same answer, merge_state aside)
"""
import itertools
import json
import sys


def same(a, b):
    def load(p):
        try:
            d = json.load(open(p))
        except (OSError, ValueError):
            return None
        d.pop("merge_state", None)
        return d
    x, y = load(a), load(b)
    return "same" if x is not None and x == y else "differ"


def main():
    if sys.argv[1] == "--same":
        print(same(sys.argv[2], sys.argv[3]))
        return
    sys.path.insert(0, sys.argv[1])
    from merge_check import redigest
    d = sys.argv[2]
    doc = json.load(open(d + "/one.json"))
    for r in range(256):
        t = json.loads(json.dumps(doc))
        t["merge_state"]["state"]["census"]["udp_convs"] = {
            "exact": ["%016x" % ((r * 4096 + i + 1) << 24) for i in range(4096)]}
        with open("%s/hash%03d.json" % (d, r), "w") as f:
            json.dump(redigest(t), f)
    # "aB" and "b!" have one g_str_hash (h * 33 + c): the 2^16 names of 16 pairs share it
    names = ["".join(p) for p in itertools.product(["aB", "b!"], repeat=16)]
    for n in (4096, 8192, 16384, 32768):
        t = json.loads(json.dumps(doc))
        t["merge_state"]["state"]["x"] = {k: 0 for k in names[:n]}
        with open("%s/members%d.json" % (d, n), "w") as f:
            json.dump(redigest(t), f)


if __name__ == "__main__":
    main()
