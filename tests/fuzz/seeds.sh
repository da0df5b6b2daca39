#!/usr/bin/env bash
# Cut seed corpora for the libFuzzer harnesses from the real captures in samples/.
#
# usage: tests/fuzz/seeds.sh [SAMPLES_DIR] [OUT_DIR] [STAMP]
#   SAMPLES_DIR defaults to samples/, OUT_DIR to build-fuzz/fuzz-corpus;
#   STAMP, a file touched when done (the meson target of the fuzz tests).
# Writes OUT_DIR/<harness>/ for fuzz_rdma, fuzz_framer, fuzz_nbss, fuzz_nbns, fuzz_smb,
# fuzz_gss, fuzz_quic and fuzz_pipeline.  Seeds are never committed (they are cut again
# from samples/ whenever needed).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
samples=${1:-$top/samples}
out=${2:-$top/build-fuzz/fuzz-corpus}
[ -d "$samples" ] || { echo "seeds.sh: no samples directory $samples" >&2; exit 2; }
mkdir -p "$out"
/usr/bin/python3 - "$samples" "$out" "$top/tests/hostile" <<'EOF'
import glob, gzip, hashlib, os, struct, sys
samples, out, lib = sys.argv[1:4]
sys.path.insert(0, lib)
import pcapio

def put(harness, data, limit=1 << 16):
    data = data[:limit]
    if not data:
        return
    d = os.path.join(out, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)

def link_payload(dlt, frame):
    """IP packet inside a frame for the link types the samples use."""
    if dlt == 1:
        off, et = 12, None
        et = struct.unpack_from("!H", frame, off)[0]
        off += 2
        while et == 0x8100 and len(frame) >= off + 4:
            et = struct.unpack_from("!H", frame, off + 2)[0]
            off += 4
        return frame[off:]
    if dlt == 113:
        return frame[16:]
    if dlt == 276:
        return frame[20:]
    if dlt in (101, 12, 14):
        return frame
    return b""

def records(data):
    """(dlt, frame) for every packet of a pcap or single-interface pcapng."""
    fmt, _, spans = pcapio.record_spans(data)
    if fmt == "pcap":
        e = pcapio.PCAP_MAGICS[data[:4]]
        dlt = struct.unpack_from(e + "I", data, 20)[0] & 0xFFFF
        for s, end in spans:
            yield dlt, data[s + 16:end]
    else:
        e = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
        dlt, off = 1, 0
        while off + 12 <= len(data):
            bt, bl = struct.unpack_from(e + "II", data, off)
            if bl < 12:
                break
            if bt == 1:
                dlt = struct.unpack_from(e + "H", data, off + 8)[0]
            elif bt == 6:
                cap = struct.unpack_from(e + "I", data, off + 20)[0]
                yield dlt, data[off + 28:off + 28 + cap]
            off += bl

def transport(ip):
    """(proto, sport, dport, seq, payload) or None."""
    if not ip:
        return None
    v = ip[0] >> 4
    if v == 4:
        ihl = (ip[0] & 15) * 4
        tot = struct.unpack_from("!H", ip, 2)[0]
        proto = ip[9]
        l4 = ip[ihl:tot]
    elif v == 6 and len(ip) >= 40:
        proto = ip[6]
        plen = struct.unpack_from("!H", ip, 4)[0]
        l4 = ip[40:40 + plen]
    else:
        return None
    if proto == 6 and len(l4) >= 20:
        sp, dp, seq = struct.unpack_from("!HHI", l4, 0)
        doff = (l4[12] >> 4) * 4
        return 6, sp, dp, seq, l4[doff:]
    if proto == 17 and len(l4) >= 8:
        sp, dp = struct.unpack_from("!HH", l4, 0)
        return 17, sp, dp, 0, l4[8:]
    return None

def smb_messages(stream):
    """Split a direction's bytes into NBSS/direct-TCP messages (4-byte header)."""
    off = 0
    while off + 4 <= len(stream):
        typ = stream[off]
        n = int.from_bytes(stream[off + 1:off + 4], "big")
        body = stream[off + 4:off + 4 + n]
        yield typ, stream[off:off + 4 + n], body
        off += 4 + n

def gss_blobs(msg):
    """SPNEGO/NTLMSSP blobs inside SMB2 SESSION_SETUP and SMB1 messages."""
    found = []
    for marker in (b"\x60", b"\xa1", b"NTLMSSP\x00"):
        i = msg.find(marker)
        while i >= 0 and len(found) < 8:
            if marker != b"\x60" or (i + 1 < len(msg) and msg[i + 1] in (0x81, 0x82, 0x48, 0x4a, 0x40)):
                found.append(msg[i:])
            i = msg.find(marker, i + 1)
    return found

for path in sorted(glob.glob(os.path.join(samples, "*.pcap*"))):
    raw = open(path, "rb").read()
    data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    # pipeline: the capture itself (heads of big ones), gzip included as stored
    put("fuzz_pipeline", raw, 1 << 15)
    try:
        recs = list(records(data))
    except ValueError:
        continue
    streams = {}
    roce = b""
    quic = b""  # fuzz_quic mode 0: [direction][length:2][datagram]...
    quic_client = None
    for dlt, frame in recs:
        ip = link_payload(dlt, frame)
        t = transport(ip)
        if not t:
            continue
        proto, sp, dp, seq, payload = t
        if proto == 17 and (sp in (137, 138) or dp in (137, 138)):
            put("fuzz_nbns", payload)
        elif proto == 17 and payload and (payload[0] & 0xC0) in (0xC0, 0x40) and len(quic) < 16000:
            if quic_client is None:
                quic_client = sp
            quic += bytes([0 if sp == quic_client else 1]) + len(payload).to_bytes(2, "big") + payload
        if proto == 17 and dp == 4791 and ip[0] >> 4 == 4:
            # fuzz_rdma's RoCEv2 records: 2-octet length, the IPv4 packet
            tot = struct.unpack_from("!H", ip, 2)[0]
            roce += struct.pack("!H", tot) + ip[:tot]
        if proto == 6 and payload:
            segs = streams.setdefault((sp, dp), {})
            segs.setdefault(seq, payload)
    if quic:
        put("fuzz_quic", b"\x00" + quic, 1 << 15)
        put("fuzz_quic", b"\x01" + len(quic).to_bytes(2, "big"))  # mode 1: a cut RFC Initial
    if roce:
        put("fuzz_rdma", b"\x01\x00" + roce)
    for (sp, dp), segs in streams.items():
        base = min(segs)
        # sequence order; naive about wraparound (samples are short)
        stream = b"".join(segs[s] for s in sorted(segs))
        if stream.startswith(b"MPA ID Re"):
            # fuzz_rdma's iWARP: carrier 0, options CRC (+ markers for the markers sample)
            put("fuzz_rdma", (b"\x00\x03" if "markers" in path else b"\x00\x02") + stream)
        for cfg in (b"\x00\x02\x01\x01", b"\x03\x02\x01\x01", b"\x13\x02\x01\x01"):
            put("fuzz_framer", cfg + stream, 6000)
        n = 0
        for typ, whole, body in smb_messages(stream):
            if typ != 0:
                put("fuzz_nbss", whole, 512)
            elif n < 40 and body[:4] in (b"\xfeSMB", b"\xffSMB", b"\xfdSMB", b"\xfcSMB"):
                put("fuzz_smb", body, 8192)
                for blob in gss_blobs(body):
                    put("fuzz_gss", blob, 4096)
                n += 1
EOF
for d in "$out"/*/; do
  printf '%-16s %5d seeds\n' "$(basename "$d")" "$(ls "$d" | wc -l)"
done
[ -z "${3:-}" ] || touch "$3"
