"""pcap_cut.py - what the merge tests ask of capinfos and editcap, done in
this process for a classic little-endian microsecond pcap (what samples/ and
the generators write): its record count (capinfos -c), its span (capinfos
-u, to the microsecond), its records first..last (editcap -r, 1-based,
inclusive) and its records in files of n (editcap -c).  The files written
are classic pcap, the source's header and records unchanged, where editcap
writes pcapng: the same packets, the same part (inputs[].part_id); another
format is handed to the tools themselves.  Each tool start costs about as
much as an smbscope run, and these tests make hundreds of cuts."""

import glob
import struct
import subprocess

MAGIC = b"\xd4\xc3\xb2\xa1"


def _records(path):
    """(header, [(offset, end)]) of a classic pcap, or None."""
    with open(path, "rb") as f:
        d = f.read()
    if d[:4] != MAGIC or len(d) < 24:
        return None
    recs, off = [], 24
    while off + 16 <= len(d):
        incl = struct.unpack_from("<I", d, off + 8)[0]
        if off + 16 + incl > len(d):
            return None  # cut short: the tools say what they make of it
        recs.append((off, off + 16 + incl))
        off += 16 + incl
    return d, recs


def packets(path):
    r = _records(path)
    if r is None:
        out = subprocess.run(["capinfos", "-Mcr", path], check=True, stdout=subprocess.PIPE).stdout.decode()
        return int(out.split()[-1])
    return len(r[1])


def duration(path):
    """Seconds from the earliest to the latest record, as capinfos -u -M prints them."""
    r = _records(path)
    if r is None:
        out = subprocess.run(["capinfos", "-u", "-M", path], capture_output=True, text=True, check=True).stdout
        return float([x for x in out.splitlines() if "duration" in x][0].split()[-2])
    d, recs = r
    ts = [struct.unpack_from("<I", d, a)[0] * 1000000 + struct.unpack_from("<I", d, a + 4)[0] for a, _ in recs]
    return (max(ts) - min(ts)) / 1e6 if ts else 0.0


def records(src, dst, first, last):
    """editcap -r src dst first-last."""
    r = _records(src)
    if r is None:
        subprocess.run(["editcap", "-r", src, dst, "%d-%d" % (first, last)], check=True, stdout=subprocess.DEVNULL)
        return dst
    d, recs = r
    with open(dst, "wb") as f:
        f.write(d[:24])
        f.writelines(d[a:b] for a, b in recs[first - 1:last])
    return dst


def every(src, n, prefix):
    """editcap -c n src PREFIX.pcap: the files PREFIX_00000.pcap, ... in order."""
    r = _records(src)
    if r is None:
        subprocess.run(["editcap", "-c", str(n), src, prefix + ".pcap"], check=True, stdout=subprocess.DEVNULL)
        return sorted(glob.glob(prefix + "_*.pcap"))
    d, recs = r
    out = []
    for i in range(0, len(recs), n):
        out.append("%s_%05d.pcap" % (prefix, len(out)))
        with open(out[-1], "wb") as f:
            f.write(d[:24])
            f.writelines(d[a:b] for a, b in recs[i:i + n])
    return out
