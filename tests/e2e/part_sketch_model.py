"""A model of analyzer/merge/part_sketch.{h,c}: the hashes a capture
part's sketch keeps (merge_state.state.inputs[].overlap), record for
record as smbscope keeps them: overlap_bound_check.py checks that it is,
then says which parts inside a larger one merge refuses (README, smbscope
merge: what the sketch catches)."""
import struct
M64 = (1 << 64) - 1
EDGE, LEVELS, SAMPLE = 16, 40, 512

def mum(a, b):
    r = (a & M64) * (b & M64)
    return (r ^ (r >> 64)) & M64

def le(p, o):
    return struct.unpack_from("<Q", p, o)[0]

def h_long(data, caplen, ts, wirelen):
    q = min(caplen, 64) - 32
    even = le(data, 0) ^ le(data, 16) ^ le(data, q) ^ le(data, q + 16)
    odd = le(data, 8) ^ le(data, 24) ^ le(data, q + 8) ^ le(data, q + 24)
    return mum(even ^ (ts & M64) ^ 0xa0761d6478bd642f, odd ^ wirelen ^ 0xe7037ed1a0b428db)

def rec_hash(ts, data, wirelen):
    caplen = len(data)
    if caplen < 32:
        pad = data + bytes(64 - caplen)
        return mum(h_long(pad, 64, ts, wirelen) ^ caplen, 0x9e3779b97f4a7c15)
    return h_long(data, caplen, ts, wirelen)

def level(h):
    h |= 1
    k = 64 - h.bit_length()
    return min(k, LEVELS - 1)

def sketch(hashes):
    """The hashes kept (a set) and the sample's level."""
    n = [0] * LEVELS
    head = [[] for _ in range(LEVELS)]
    tail = [[None] * EDGE for _ in range(LEVELS)]
    sample, L = [], 0
    for h in hashes:
        k = level(h)
        i = n[k]; n[k] += 1
        tail[k][i % EDGE] = h
        if i < EDGE:
            head[k].append(h)
        if k >= L:
            sample.append(h)
            while len(sample) > SAMPLE and L < LEVELS:
                L += 1
                sample = [x for x in sample if level(x) >= L]
    out = set(sample)
    for k in range(LEVELS):
        m = min(n[k], EDGE)
        out.update(head[k][:m])
        out.update(tail[k][:m])
    return out, L

def read_pcap(path):
    """The hashes of a classic pcap's records, in order."""
    d = open(path, "rb").read()
    magic = struct.unpack("<I", d[:4])[0]
    nano = magic == 0xA1B23C4D
    off, out = 24, []
    while off + 16 <= len(d):
        s, f, cl, wl = struct.unpack_from("<IIII", d, off)
        ts = s * 1000000 + (f // 1000 if nano else f)
        out.append(rec_hash(ts, d[off + 16:off + 16 + cl], wl))
        off += 16 + cl
    return out
