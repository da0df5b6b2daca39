#!/usr/bin/env python3
"""Compare the TCP streams smbscope writes with tshark's "follow tcp".

usage: follow_check.py --smbscope BIN CAPTURE [--keep DIR] [--verbose]

Runs `BIN --write-streams DIR CAPTURE`, then takes from the one
`tshark -n -r CAPTURE -T fields -e tcp.stream ... -z follow,tcp,raw,N ...`
that the tests share (tshark_pass.py: every frame's stream and loss marks,
and the follow of the first streams; another run only for streams beyond
those), and compares, for each direction of each connection, the bytes tshark follows
with the file smbscope wrote (NNNNNN-SRC.SPORT-DST.DPORT; a missing file means
no bytes), and where bytes are missing: tshark writes "[N bytes missing in
capture file]" in the stream, smbscope lists "OFFSET N" in the .gaps sidecar.  Connections are matched by their pair of endpoints and, when a
port pair is reused, by order of appearance.  Streams tshark itself marks as
incomplete (tcp.analysis.lost_segment / ack_lost_segment) are compared too, but a difference there is reported as
skipped, not as a failure (tshark's lost_segment also fires on mere
reordering, which both sides must still get right).  In a stream with frames
cut by the snaplen (or whose IP length runs past the frame) only the captured
bytes are compared: tshark's follow
drops the cut tails without a marker, smbscope lists them as gaps.

Exit 0 when every compared direction is equal, 1 with a summary of the
differences otherwise (or when smbscope fails), 77 when tshark is missing.
Standard library only.
"""
import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tshark_pass  # noqa: E402

BATCH = 64  # -z follow options per tshark run (at most)

OUR_NAME = re.compile(r'^(\d{6,})-(.+)\.(\d+)-(.+)\.(\d+)$')
NODE = re.compile(r'^Node ([01]): (.*):(\d+)$')
# tshark's follow puts this text, NUL-terminated, where bytes are missing
MISSING = re.compile(rb'^\[(\d+) bytes missing in capture file\]\x00?$')


def endpoint(addr, port):
    addr = addr.strip()
    if addr.startswith('[') and addr.endswith(']'):
        addr = addr[1:-1]
    return (addr, int(port))


def tshark_dissect(tshark, capture):
    """(streams, followed): the fields and the follows of the first
    tshark_pass.FOLLOW streams from the one run per capture tests share
    (tshark_pass.py); streams beyond those get runs of their own (BATCH
    each).  A follow asked for a stream tshark does not have answers empty
    and is not looked at."""
    streams = tshark_streams(tshark_pass.rows(tshark, capture))
    followed = parse_follow(tshark_pass.follow(tshark, capture))
    rest = [s for s in streams if s >= tshark_pass.FOLLOW]
    for i in range(0, len(rest), BATCH):
        followed.update(parse_follow(tshark_pass.run([tshark, '-n', '-r', capture, '-q'] +
                                                     tshark_pass.follow_args(rest[i:i + BATCH]))))
    return streams, followed


def tshark_streams(rows):
    """tcp.stream -> {'incomplete': bool, 'truncated': bool} from the fields
    of every frame (frames without TCP have no tcp.stream)."""
    streams = collections.OrderedDict()
    for r in rows:
        if not r['tcp.stream']:
            continue
        s = int(r['tcp.stream'][0])  # ICMP-quoted TCP headers add more
        info = streams.setdefault(s, {'incomplete': False, 'truncated': False})
        if r['frame.len'] and r['frame.cap_len'] and int(r['frame.cap_len'][0]) < int(r['frame.len'][0]):
            info['truncated'] = True
        # an IP length beyond the frame: the missing tail is cut like a snaplen
        expert = '|'.join(r['_ws.expert.message'])
        if 'total length exceeds packet length' in expert or 'length exceeds' in expert:
            info['truncated'] = True
        if r['tcp.analysis.lost_segment'] or r['tcp.analysis.ack_lost_segment']:
            info['incomplete'] = True
    return streams


def parse_follow(out):
    """stream -> (node0, node1, bytes node0->node1, bytes node1->node0) from
    the -z follow,tcp,raw answers."""
    result = {}
    cur = None
    for line in out.splitlines():
        if line.startswith('Filter: tcp.stream eq '):
            cur = {'id': int(line.rsplit(' ', 1)[1]), 'node': [None, None],
                   'data': [bytearray(), bytearray()], 'gaps': [[], []]}
            result[cur['id']] = cur
            continue
        if cur is None or line.startswith('=') or line.startswith('Follow:'):
            continue
        m = NODE.match(line)
        if m:
            cur['node'][int(m.group(1))] = endpoint(m.group(2), m.group(3))
            continue
        text = line.strip()
        if not text:
            continue
        who = 1 if line.startswith('\t') else 0
        try:
            chunk = bytes.fromhex(text)
        except ValueError:
            continue  # not a hex line
        m = MISSING.match(chunk)
        if m:
            add_gap(cur['gaps'][who], len(cur['data'][who]), int(m.group(1)))
        else:
            cur['data'][who] += chunk
    return result


def add_gap(gaps, data_off, n):
    """Record n missing bytes after data_off captured bytes, merging neighbours.
    Gaps are kept as [captured bytes before, length]."""
    if gaps and gaps[-1][0] == data_off:
        gaps[-1][1] += n
    else:
        gaps.append([data_off, n])


def read_gaps(path):
    """Our sidecar lists STREAM offsets (gaps included); turn them into
    captured-byte offsets like add_gap's."""
    gaps = []
    before = 0
    try:
        with open(path) as fh:
            for line in fh:
                off, n = (int(x) for x in line.split())
                add_gap(gaps, off - before, n)
                before += n
    except FileNotFoundError:
        pass
    return gaps


def our_streams(directory):
    """[(index, src endpoint, dst endpoint, path, has_gaps)] sorted by index."""
    rows = []
    names = set(os.listdir(directory))
    for name in names:
        m = OUR_NAME.match(name)
        if not m:
            continue
        src = endpoint(m.group(2), m.group(3))
        dst = endpoint(m.group(4), m.group(5))
        rows.append((int(m.group(1)), src, dst, os.path.join(directory, name),
                     (name + '.gaps') in names))
    rows.sort()
    return rows


def first_difference(a, b):
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--smbscope', required=True)
    ap.add_argument('--keep', help='write the streams here and keep them')
    ap.add_argument('--verbose', action='store_true')
    ap.add_argument('--all', action='store_true',
                    help='a difference in a stream tshark marks incomplete fails too')
    ap.add_argument('capture')
    args = ap.parse_args()
    rc, lines = check(args.smbscope, args.capture, args.keep, args.verbose, args.all)
    for line in lines:
        print(line)
    return rc


def check(smbscope, capture, keep=None, verbose=False, all_=False):
    """(exit status, lines to print) for one capture (follow_all.py calls
    it for each sample, in its own process)."""
    lines = []
    # TSHARK: tests/e2e/tshark_cache.py when run by meson
    tshark = shutil.which('tshark') and (os.environ.get('TSHARK') or shutil.which('tshark'))
    if not tshark:
        return 77, ['follow_check: tshark not found: skipped']

    tmp = None
    if keep:
        outdir = keep
        os.makedirs(outdir, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix='follow_check.')
        outdir = tmp.name
    try:
        # 0 or 1 (the policy verdict) both mean the capture was read to its end.
        run = subprocess.run([smbscope, '-q', '--write-streams', outdir, capture],
                             capture_output=True, text=True)
        if run.returncode not in (0, 1, 3):
            return 1, ['follow_check: %s exited %d: %s' % (smbscope, run.returncode, run.stderr.strip())]

        # our connections: index -> {(src, dst): (path, gaps)}
        ours = collections.OrderedDict()
        for idx, src, dst, path, gaps in our_streams(outdir):
            ours.setdefault(idx, {})[(src, dst)] = (path, gaps)
        streams, followed = tshark_dissect(tshark, capture)
        by_pair = collections.defaultdict(list)  # unordered endpoint pair -> [index]
        for idx, dirs in ours.items():
            (src, dst), = list(dirs.keys())[:1]
            by_pair[frozenset((src, dst))].append(idx)
        used = collections.Counter()

        compared = equal = skipped = 0
        problems = []
        for sid, info in streams.items():
            f = followed.get(sid)
            if f is None or None in f['node']:
                problems.append('stream %d: tshark printed no follow output' % sid)
                continue
            n0, n1 = f['node']
            pair = frozenset((n0, n1))
            k = used[pair]
            used[pair] += 1
            total = len(f['data'][0]) + len(f['data'][1])
            cands = by_pair.get(pair, [])
            if k >= len(cands):
                if total:
                    problems.append('stream %d %s:%d <-> %s:%d: no connection written by smbscope '
                                    '(%d bytes in tshark)' % (sid, n0[0], n0[1], n1[0], n1[1], total))
                else:
                    equal += 1  # nothing to compare: no data either way
                    compared += 1
                continue
            idx = cands[k]
            ok = True
            diffs = []
            for who, (src, dst) in enumerate(((n0, n1), (n1, n0))):
                want = bytes(f['data'][who])
                want_gaps = f['gaps'][who]
                path, gaps = ours[idx].get((src, dst), (None, False))
                got = b''
                got_gaps = []
                if path:
                    with open(path, 'rb') as fh:
                        got = fh.read()
                    got_gaps = read_gaps(path + '.gaps')
                # tshark marks only holes that data follows; a lost tail (an
                # ACK or FIN beyond the last byte) has no place in its output
                while got_gaps and got_gaps[-1][0] >= len(got):
                    got_gaps.pop()
                # nor one before the first byte it saw of a mid-stream
                # direction (we know it from the peer's ACK)
                if got_gaps and got_gaps[0][0] == 0 and not (want_gaps and want_gaps[0][0] == 0):
                    got_gaps.pop(0)
                # tshark's follow drops a snaplen-cut tail without a marker:
                # gaps are comparable only when no frame was cut.
                if got_gaps != want_gaps and not info['truncated']:
                    ok = False
                    diffs.append('stream %d (our %06d) %s:%d -> %s:%d: gaps [captured offset, length] '
                                 'smbscope %s, tshark %s' % (sid, idx, src[0], src[1], dst[0], dst[1],
                                                              got_gaps[:5], want_gaps[:5]))
                if got != want:
                    ok = False
                    off = first_difference(got, want)
                    diffs.append('stream %d (our %06d) %s:%d -> %s:%d: smbscope %d bytes%s, tshark %d bytes, '
                                    'first difference at %d' % (sid, idx, src[0], src[1], dst[0], dst[1],
                                                                len(got), ' (with gaps)' if gaps else '',
                                                                len(want), off))
            if not ok and info['incomplete'] and not all_:
                skipped += 1  # tshark itself says bytes are missing: not comparable
                if verbose:
                    lines.append('stream %d = %06d: differs, skipped (tshark: incomplete)' % (sid, idx))
                continue
            problems += diffs
            compared += 1
            if ok:
                equal += 1
                if verbose:
                    lines.append('stream %d = %06d: equal (%d + %d bytes)' % (sid, idx, len(f['data'][0]),
                                                                             len(f['data'][1])))
        lines.append('follow_check: %d streams, %d compared, %d equal, %d skipped (tshark: incomplete)' %
                     (len(streams), compared, equal, skipped))
        for p in problems:
            lines.append('  ' + p)
        return (0 if not problems else 1), lines
    finally:
        if tmp:
            tmp.cleanup()


if __name__ == '__main__':
    sys.exit(main())
