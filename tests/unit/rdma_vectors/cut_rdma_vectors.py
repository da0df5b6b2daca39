#!/usr/bin/python3
"""Cut the SMB Direct unit-test vectors out of samples/rdma-*.pcap, with tshark's view.

usage: cut_rdma_vectors.py SAMPLES_DIR OUT_DIR

Writes
  <capture>-<sport>.stream   one TCP direction's payload in sequence order (iWARP)
  <capture>.ip               RoCEv2: every frame's IP packet, each preceded by its
                             length (4 octets, big-endian)
  <capture>.tsv              tshark's fields per frame (header line first; values
                             `|`-joined when repeated, empty when absent)
Expected values come only from tshark, never from smbscope.  Standard library
and tshark only; Ethernet pcaps as gen-rdma.py writes them.
"""
import os
import struct
import subprocess
import sys

IWARP = ["rdma-iwarp-5445.pcap", "rdma-iwarp-markers-15445.pcap"]
ROCE = ["rdma-roce-4791.pcap"]
COMMON = ["frame.number", "ip.src", "smb_direct.version.min", "smb_direct.version.max",
          "smb_direct.version.negotiated", "smb_direct.credits.requested", "smb_direct.credits.granted",
          "smb_direct.status", "smb_direct.max_read_write_size", "smb_direct.preferred_send_size",
          "smb_direct.max_receive_size", "smb_direct.max_fragmented_size", "smb_direct.flags",
          "smb_direct.remaining_length", "smb_direct.data_offset", "smb_direct.data_length", "smb2.cmd"]
IWARP_FIELDS = ["tcp.srcport", "tcp.len", "iwarp_mpa.marker_flag", "iwarp_mpa.crc_flag", "iwarp_mpa.rev",
                "iwarp_mpa.pdlength", "iwarp_mpa.ulpdulength", "iwarp_ddp.tagged_flag", "iwarp_ddp.last_flag",
                "iwarp_rdma.opcode", "iwarp_ddp.qn", "iwarp_ddp.msn", "iwarp_ddp.mo", "iwarp_rdma.inval_stag",
                "iwarp_ddp.stag"]
ROCE_FIELDS = ["udp.srcport", "infiniband.bth.opcode", "infiniband.bth.se", "infiniband.bth.padcnt",
               "infiniband.bth.destqp", "infiniband.bth.psn", "infiniband.bth.a", "infiniband.invariant.crc"]


def frames(path):
    data = open(path, "rb").read()
    e = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack(e + "I", data[off + 8:off + 12])[0]
        yield data[off + 16:off + 16 + incl]
        off += 16 + incl


def tsv(path, fields, out):
    cmd = ["tshark", "-n", "--disable-protocol", "artemis", "-r", path, "-T", "fields",
           "-E", "occurrence=a", "-E", "aggregator=|", "-E", "header=y"]
    for f in fields:
        cmd += ["-e", f]
    text = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True,
                          env=dict(os.environ, LC_ALL="C")).stdout
    open(out, "wb").write(text)


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    samples, out = sys.argv[1:]
    for name in IWARP:
        path = os.path.join(samples, name)
        streams = {}
        for f in frames(path):
            ip = f[14:]
            ihl = (ip[0] & 0x0F) * 4
            total = struct.unpack(">H", ip[2:4])[0]
            tcp = ip[ihl:total]
            sport = struct.unpack(">H", tcp[0:2])[0]
            payload = tcp[(tcp[12] >> 4) * 4:]
            streams[sport] = streams.get(sport, b"") + payload  # no loss, no reordering in these samples
        for sport, data in streams.items():
            open(os.path.join(out, "%s-%d.stream" % (name[:-5], sport)), "wb").write(data)
        tsv(path, COMMON + IWARP_FIELDS, os.path.join(out, name[:-5] + ".tsv"))
    for name in ROCE:
        path = os.path.join(samples, name)
        with open(os.path.join(out, name[:-5] + ".ip"), "wb") as o:
            for f in frames(path):
                ip = f[14:]
                total = struct.unpack(">H", ip[2:4])[0]
                o.write(struct.pack(">I", total) + ip[:total])
        tsv(path, COMMON + ROCE_FIELDS, os.path.join(out, name[:-5] + ".tsv"))


if __name__ == "__main__":
    main()
