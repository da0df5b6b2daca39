"""tshark_pass.py - one canonical tshark run per sample, shared by the tests
that cross-check smbscope against tshark's plain dissection of a capture.

A tshark start costs about as much as dissecting a whole sample: tests that
each asked their own -e list or their own -z follow of the same capture paid
it once per question.  Here every such test asks the very same command line
(the union of their fields, and -z follow,tcp,raw of the first FOLLOW
streams), so tshark_cache.py answers all of them from one run; the fields of
a frame do not depend on which other fields are asked, a follow tap does not
change the dissection.  Users: report_facts_check.py (its fields),
follow_check.py (tcp.stream and the loss marks, and the follows), and the C
unit tests' questions that tshark_project.py answers from this run.  A field
a test needs is added to FIELDS (the key changes for everyone: still one
run).

Both read NAME.pcap.gz as the NAME.pcap beside it when that is the same
capture (plain_twin).

rows(tshark, capture)    -> [{field: [occurrences]}], one per frame
follow(tshark, capture)  -> the text of the -z follow answers of streams
                            0 .. FOLLOW-1 (a stream tshark does not have
                            answers empty)
"""
import gzip
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tshark_cache  # noqa: E402

FIELDS = [
    # follow_check.py
    "tcp.stream", "frame.len", "frame.cap_len", "tcp.analysis.lost_segment", "tcp.analysis.ack_lost_segment",
    "_ws.expert.message",
    # report_facts_check.py
    "frame.time_epoch", "ip.src", "ipv6.src", "ip.dst", "ipv6.dst", "tcp.srcport",
    "tcp.dstport", "tcp.len", "tcp.flags.syn", "tcp.flags.ack", "udp.srcport", "udp.dstport",
    "smb2.cmd", "smb2.flags.response", "smb2.dialect", "smb2.capabilities", "smb2.sec_mode",
    "smb2.max_read_size", "smb2.max_write_size", "smb2.negotiate_context.hash_algorithm",
    "smb2.negotiate_context.cipher_id", "smb2.negotiate_context.signing_id",
    "smb2.negotiate_context.netname", "ntlmssp.auth.username", "ntlmssp.auth.domain",
    "ntlmssp.auth.hostname", "smb2.tree", "smb2.share_type", "nbss.called_name",
    "nbss.calling_name", "nbns.name", "smb2.sesid", "_ws.col.Info",
    # unit/test_packet_tshark.c (through tshark_project.py)
    "frame.number",
    # unit/smb_test_util.c's corpus_diff() (through tshark_project.py), and
    # the fields of its display filter
    "tcp.payload", "smb2.negotiate_context.type", "smb2.negotiate_context.comp_alg_id", "smb.dialect",
    "smb.server_cap", "spnego.MechType", "spnego.supportedMech", "ntlmssp.messagetype", "smb2.session_flags",
    "kerberos.msg_type", "kerberos.realm", "kerberos.SNameString", "kerberos.error_code", "smb2.share_flags",
    "smb.primary_domain", "smb.server", "smb.native_os", "smb.native_lanman", "smb.account", "smb.service",
    "smb.cmd",
]
FOLLOW = 16  # no sample has more TCP streams; follow_check.py asks for the rest itself
# the line tshark prints before each -z follow answer (after the fields)
RULE = "=" * 67


def follow_args(ids):
    args = []
    for s in ids:
        args += ["-z", "follow,tcp,raw,%d" % s]
    return args


def run(cmd):
    """tshark's stdout as text, through tshark_cache in this process when
    TSHARK names it (the key is the one `tshark_cache.py ARGS` uses)."""
    if os.path.basename(cmd[0]) == "tshark_cache.py":
        rc, out, err = tshark_cache.run(["tshark"] + cmd[1:])
    else:
        p = subprocess.run(cmd, capture_output=True)
        rc, out, err = p.returncode, p.stdout, p.stderr
    if rc != 0:
        raise subprocess.CalledProcessError(rc, cmd, out, err)
    return out.decode("utf-8", "replace")


def plain_twin(capture):
    """NAME.pcap for NAME.pcap.gz when it holds the very bytes the .gz
    inflates to (samples/nbt139-smb3_11.pcap.gz): tshark reads the same
    capture, it is asked once; else capture itself."""
    if capture.endswith(".gz") and os.path.isfile(capture[:-3]):
        with gzip.open(capture) as z, open(capture[:-3], "rb") as f:
            if z.read() == f.read():
                return capture[:-3]
    return capture


def command(tshark, capture):
    """The canonical command line for a capture."""
    cmd = [tshark, "-n", "-r", plain_twin(capture), "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a",
           "-E", "aggregator=|"]
    for f in FIELDS:
        cmd += ["-e", f]
    return cmd + follow_args(range(FOLLOW))


def split(out):
    """(the frames' lines, the follows) of the canonical run's output."""
    cut = 0 if out.startswith(RULE + "\n") else out.find("\n" + RULE + "\n") + 1
    return (out[:cut], out[cut:]) if cut > 0 or out.startswith(RULE) else (out, "")


def _split(tshark, capture):
    return split(run(command(tshark, capture)))


def rows(tshark, capture):
    fields, _ = _split(tshark, capture)
    out = []
    for line in fields.splitlines():
        if not line:
            continue  # the empty line tshark prints before the follows (a frame's has tabs)
        v = line.split("\t") + [""] * len(FIELDS)
        out.append({f: (v[i].split("|") if v[i] else []) for i, f in enumerate(FIELDS)})
    return out


def follow(tshark, capture):
    return _split(tshark, capture)[1]
