#!/usr/bin/python3
"""forge_state.py - run reports whose merge state or connections[] is far
larger than a run writes, digest made again (merge_check.py's redigest):
what merge must read a row or an entry at a time (analyzer/merge/mstate_cut.h,
mstate_fold_run_text()), never as one json-glib tree (about 90 bytes a value).

  groups-zeros N   state.groups of N rows of 58 zeros (the shape of a row,
                   none a group: refused at the first row)
  groups N         state.groups of N distinct groups (row 0 with its client
                   address changed), group_closes as many: merged
  past-zeros N     state.groups_past.groups of N rows of 58 zeros
  hosts-zeros N    state.smb_hosts.records of N rows of 11 zeros (cap N)
  entries N        connections[] of N copies of entry 0 (client ports
                   changed), conns_detailed N: merged
  ranks N          state.end_close_ranks of N zeros (a rank each close at
                   the end; read a value at a time): merged
  past-closes N    state.groups_past of no rows and N close numbers
  group-closes N   state.group_closes of N close numbers (one a group row)
  edge-closes N    state.edge_closes of N close numbers (one an edge)

Usage: forge_state.py REPORT.json KIND N OUT.json (REPORT a run's report of
a capture with one SMB connection, e.g. smb445-list-shares.pcap's).
"""

import json
import os
import sys


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from merge_check import canonical, redigest  # noqa: E402,F401  (merge_limits_check takes them from here too)


def client(i):
    return "10.%d.%d.%d" % (100 + (i >> 16), (i >> 8) & 255, i & 255)


def forge(report, kind, n):
    """A copy of report (a document) forged as kind with n rows or entries."""
    doc = json.loads(json.dumps(report))
    st = doc["merge_state"]["state"]
    if kind == "groups-zeros":
        st["groups"] = [[0] * 58 for _ in range(n)]
    elif kind == "past-zeros":
        st["groups_past"] = {"groups": [[0] * 58 for _ in range(n)], "closes": list(range(1, n + 1))}
    elif kind == "hosts-zeros":
        st["smb_hosts"]["records"] = [[0] * 11 for _ in range(n)]
        st["smb_hosts"]["cap"] = n
    elif kind == "groups":
        row = st["groups"][0]
        rows = []
        for i in range(n):
            r = list(row)
            r[0] = client(i)
            rows.append(r)
        st["groups"] = rows
        if "group_closes" in st:
            st["group_closes"] = [1 + i for i in range(n)]
    elif kind == "ranks":
        st["end_close_ranks"] = [0] * n
    elif kind == "past-closes":
        st["groups_past"] = {"groups": [], "closes": [1] * n}
    elif kind == "group-closes":
        st["group_closes"] = [1] * n
    elif kind == "edge-closes":
        st["edge_closes"] = [1] * n
    elif kind == "entries":
        e = doc["connections"][0]
        doc["connections"] = [dict(e, client_port=1024 + i % 60000) for i in range(n)]
        st["conns_detailed"] = n
    else:
        raise ValueError(kind)
    return redigest(doc)


def main():
    if len(sys.argv) != 5:
        sys.stderr.write(__doc__)
        return 2
    with open(sys.argv[1]) as f:
        report = json.load(f)
    with open(sys.argv[4], "w") as f:
        f.write(json.dumps(forge(report, sys.argv[2], int(sys.argv[3]))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
