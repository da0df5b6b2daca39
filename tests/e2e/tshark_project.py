"""tshark_project.py - a `tshark -T fields` question answered from the
canonical run of the same capture (tshark_pass.py), when it can be.

The C unit tests (test_packet_tshark.c, test_gss_tshark.c via
smb_test_util.c) ask tshark through tshark_cache.py with fixed command
lines of their own: packet-corpus a field list per frame, gss-samples and
gss-corpus a field list of the frames a display filter keeps.  Each is a
tshark start per capture, on captures other tests dissect too.  Every field
they ask is in tshark_pass.FIELDS, so their answer is a projection of the
canonical run: its columns in the order asked and, for the display filter
below (the only one answered here), its frames where the filter holds,
evaluated on its own fields (smb2.cmd, smb.cmd, every occurrence).

answer(cmd, run) -> (returncode, stdout, stderr), or None when cmd is not
such a question (it then runs as it is).  run(cmd) runs a command through
the cache.  The answer is the canonical run's only when that run's output
splits cleanly (every frame line has every column): a value with a tab or a
newline in it makes it None too.  Proven equal, byte for byte, to tshark's
own answers to these command lines on every sample and every capture of the
corpus these tests read (see tests/bench/RESULTS.md, branch cutshark).
"""

# the filter of smb_test_util.c's corpus_diff(), and how to evaluate it
GSS_FILTER = "smb2.cmd in {0,1,3} || smb.cmd in {0x72,0x73,0x75}"


def _gss_keeps(col):
    return (any(v in ("0", "1", "3") for v in col("smb2.cmd")) or
            any(int(v, 16) in (0x72, 0x73, 0x75) for v in col("smb.cmd")))


# fixed option lists (after "-r FILE") -> frame filter (None: every frame)
FORMS = (
    (["-Y", GSS_FILTER, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|"], _gss_keeps),
)
# test_packet_tshark.c's: "-n" before "-r FILE", a tab separator
PACKET_FORM = ["-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|", "-E", "separator=/t"]


def parse(cmd):
    """(file, frame filter or None, [fields]) of a question answered here, else None."""
    if not cmd or cmd[0] != "tshark":
        return None
    args = cmd[1:]
    if args[:1] == ["-n"] and args[3:3 + len(PACKET_FORM)] == PACKET_FORM and args[1] == "-r":
        path, rest, keep = args[2], args[3 + len(PACKET_FORM):], None
    elif args[:1] == ["-r"] and len(args) > 2:
        path, rest = args[1], None
        for opts, keep in FORMS:
            if args[2:2 + len(opts)] == opts:
                rest = args[2 + len(opts):]
                break
        if rest is None:
            return None
    else:
        return None
    if not rest or len(rest) % 2 or any(rest[i] != "-e" for i in range(0, len(rest), 2)):
        return None
    return path, keep, rest[1::2]


def answer(cmd, run):
    q = parse(cmd)
    if q is None:
        return None
    import tshark_pass  # here: it imports tshark_cache, which imports this module
    path, keep, fields = q
    if any(f not in tshark_pass.FIELDS for f in fields):
        return None
    rc, out, err = run(tshark_pass.command("tshark", path))
    if rc != 0:
        return None
    text, _ = tshark_pass.split(out.decode("utf-8", "surrogateescape"))
    at = {f: i for i, f in enumerate(tshark_pass.FIELDS)}
    lines = []
    for line in text.split("\n"):
        if not line:
            continue
        v = line.split("\t")
        if len(v) != len(tshark_pass.FIELDS):
            return None  # a value with a tab or a newline: not a clean projection

        def col(f):
            s = v[at[f]]
            return s.split("|") if s else []
        if keep is None or keep(col):
            lines.append("\t".join(v[at[f]] for f in fields) + "\n")
    return rc, "".join(lines).encode("utf-8", "surrogateescape"), err
