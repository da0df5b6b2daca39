#!/usr/bin/env python3
"""Cut unit-test vectors out of real captures, with tshark's view of them.

usage: cut_vectors.py SAMPLES_DIR OUT_DIR

Writes, for the NetBIOS samples:
  nbns/<capture>-<frame>.bin   UDP 137 payloads      + nbns.tsv  (tshark fields)
  nbds/<capture>-<frame>.bin   UDP 138 payloads      + nbds.tsv
  stream/<capture>-<port>.bin  one TCP direction's payload bytes in sequence
                               order (sender port in the name) + stream.tsv
                               (tshark's NBSS type:length list for it)
Expected values come only from tshark, never from smbscope.
Standard library only; classic pcap with Ethernet, SLL or SLL2 links.
"""
import os
import struct
import subprocess
import sys

NBNS_SAMPLES = ['nbns-unicast.pcap', 'nbns-broadcast.pcap', 'nbns-node-status.pcap',
                'nbdgm-nmbd-startup.pcap']
STREAM_SAMPLES = ['nbss-negative.pcap', 'nbt139-nt1.pcap', 'nbt139-smb3_11.pcap',
                  'smb445-smb3_11.pcap', 'smb445-nt1.pcap']


def packets(path):
    with open(path, 'rb') as f:
        data = f.read()
    magic = data[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        e = '<'
    elif magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        e = '>'
    else:
        raise SystemExit(f'{path}: not a classic pcap')
    linktype = struct.unpack(e + 'I', data[20:24])[0]
    off = 24
    frame = 0
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(e + 'IIII', data[off:off + 16])
        off += 16
        frame += 1
        yield frame, linktype, data[off:off + incl]
        off += incl


def ip_payload(linktype, pkt):
    """(proto, src, sport, dst, dport, payload, tcp_seq) or None; IPv4/IPv6."""
    if linktype == 1:
        et, l2 = struct.unpack('>H', pkt[12:14])[0], 14
        while et == 0x8100:
            et, l2 = struct.unpack('>H', pkt[l2 + 2:l2 + 4])[0], l2 + 4
    elif linktype == 113:
        et, l2 = struct.unpack('>H', pkt[14:16])[0], 16
    elif linktype == 276:
        et, l2 = struct.unpack('>H', pkt[0:2])[0], 20
    else:
        return None
    ip = pkt[l2:]
    if et == 0x0800:
        ihl = (ip[0] & 15) * 4
        total = struct.unpack('>H', ip[2:4])[0]
        proto, src, dst = ip[9], ip[12:16], ip[16:20]
        l4 = ip[ihl:total]
    elif et == 0x86dd:
        proto, src, dst = ip[6], ip[8:24], ip[24:40]
        l4 = ip[40:40 + struct.unpack('>H', ip[4:6])[0]]
    else:
        return None
    if proto == 17:
        sp, dp = struct.unpack('>HH', l4[:4])
        return 'udp', src, sp, dst, dp, l4[8:], 0
    if proto == 6:
        sp, dp, seq = struct.unpack('>HHI', l4[:8])
        doff = (l4[12] >> 4) * 4
        return 'tcp', src, sp, dst, dp, l4[doff:], seq
    return None


def tshark_fields(path, display_filter, fields):
    cmd = ['tshark', '-r', path, '-Y', display_filter, '-T', 'fields',
           '-E', 'occurrence=a', '-E', 'aggregator=|', '-e', 'frame.number']
    for fld in fields:
        cmd += ['-e', fld]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rows = {}
    for line in out.splitlines():
        cols = line.split('\t')
        rows[int(cols[0])] = cols[1:]
    return rows


NBNS_FIELDS = ['nbns.id', 'nbns.flags', 'nbns.count.queries', 'nbns.count.answers',
               'nbns.count.auth_rr', 'nbns.count.add_rr', 'nbns.name', 'nbns.type',
               'nbns.ttl', 'nbns.nb_flags', 'nbns.addr', 'nbns.number_of_names',
               'nbns.netbios_name', 'nbns.name_flags', 'nbns.unit_id']
NBDS_FIELDS = ['nbdgm.type', 'nbdgm.flags', 'nbdgm.dgram_id', 'nbdgm.src.ip', 'nbdgm.src.port',
               'nbdgm.dgram_len', 'nbdgm.pkt_offset', 'nbdgm.source_name',
               'nbdgm.destination_name']


def cut_udp(samples, out, name, port, fields):
    os.makedirs(os.path.join(out, name), exist_ok=True)
    lines = ['file\t' + '\t'.join(fields)]
    for cap in NBNS_SAMPLES:
        path = os.path.join(samples, cap)
        if not os.path.exists(path):
            continue
        rows = tshark_fields(path, name if name != 'nbds' else 'nbdgm', fields)
        base = cap.rsplit('.', 1)[0]
        for frame, lt, pkt in packets(path):
            r = ip_payload(lt, pkt)
            if not r or r[0] != 'udp' or port not in (r[2], r[4]) or frame not in rows:
                continue
            fn = f'{name}/{base}-{frame}.bin'
            with open(os.path.join(out, fn), 'wb') as f:
                f.write(r[5])
            lines.append(fn + '\t' + '\t'.join(rows[frame]))
    with open(os.path.join(out, name + '.tsv'), 'w') as f:
        f.write('\n'.join(lines) + '\n')


def cut_streams(samples, out):
    os.makedirs(os.path.join(out, 'stream'), exist_ok=True)
    lines = ['file\tnbss type:length list (tshark)\tcalled\tcalling\terror_code']
    for cap in STREAM_SAMPLES:
        path = os.path.join(samples, cap)
        if not os.path.exists(path):
            continue
        base = cap.rsplit('.', 1)[0]
        segs = {}
        for frame, lt, pkt in packets(path):
            r = ip_payload(lt, pkt)
            if not r or r[0] != 'tcp' or not r[5]:
                continue
            key = r[2]
            segs.setdefault(key, {})
            segs[key].setdefault(r[6], r[5])  # first copy of each sequence number
        rows = tshark_fields(path, 'nbss', ['tcp.srcport', 'nbss.type', 'nbss.length',
                                            'nbss.called_name', 'nbss.calling_name',
                                            'nbss.error_code'])
        for port, by_seq in sorted(segs.items()):
            seqs = sorted(by_seq)
            data = bytearray()
            expect = seqs[0]
            for s in seqs:
                if s != expect:
                    raise SystemExit(f'{cap}: hole or overlap in port {port} stream')
                data += by_seq[s]
                expect = (s + len(by_seq[s])) & 0xffffffff
            msgs, called, calling, err = [], [], [], []
            for frame in sorted(rows):
                c = rows[frame]
                if int(c[0]) != port:
                    continue
                types, lens = c[1].split('|'), c[2].split('|')
                msgs += [f'{int(t, 16):02x}:{int(n)}' for t, n in zip(types, lens)]
                called += [x for x in c[3].split('|') if x]
                calling += [x for x in c[4].split('|') if x]
                err += [x for x in c[5].split('|') if x]
            fn = f'stream/{base}-{port}.bin'
            with open(os.path.join(out, fn), 'wb') as f:
                f.write(data)
            lines.append('\t'.join([fn, ','.join(msgs), '|'.join(called), '|'.join(calling),
                                    '|'.join(err)]))
    with open(os.path.join(out, 'stream.tsv'), 'w') as f:
        f.write('\n'.join(lines) + '\n')


def main():
    samples, out = sys.argv[1], sys.argv[2]
    cut_udp(samples, out, 'nbns', 137, NBNS_FIELDS)
    cut_udp(samples, out, 'nbds', 138, NBDS_FIELDS)
    cut_streams(samples, out)


if __name__ == '__main__':
    main()
