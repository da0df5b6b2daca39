#!/usr/bin/python3
"""Cut SMB test vectors out of the real sample captures.

For each (capture, frame) chosen below this writes NAME.vec holding
  - the capture and frame it came from,
  - the frame's TCP payload (4-byte transport header + one SMB message) in hex,
  - the values tshark gives for the listed fields on that frame.
The C unit tests (test_smb1.c, test_smb2.c, test_gss.c) decode the payload
and compare against those tshark values, so expectations never come from
our own decoder.

Usage: cut_vectors.py SAMPLES_DIR [OUT_DIR]
(SAMPLES_DIR holds the .pcap files, OUT_DIR defaults to this directory.)
"""
import os
import subprocess
import sys

SMB2_HDR = ["smb2.cmd", "smb2.flags.response", "smb2.sesid", "smb2.msg_id"]
SMB2_NEG_REQ = SMB2_HDR + [
    "smb2.dialect_count", "smb2.dialect", "smb2.sec_mode", "smb2.capabilities",
    "smb2.client_guid", "smb2.negotiate_context.count", "smb2.negotiate_context.type",
    "smb2.negotiate_context.hash_algorithm", "smb2.negotiate_context.salt_length",
    "smb2.negotiate_context.cipher_id", "smb2.negotiate_context.signing_id",
    "smb2.negotiate_context.comp_alg_id", "smb2.negotiate_context.netname"]
SMB2_NEG_RESP = SMB2_HDR + [
    "smb2.nt_status", "smb2.dialect", "smb2.sec_mode", "smb2.capabilities", "smb2.server_guid",
    "smb2.max_trans_size", "smb2.max_read_size", "smb2.max_write_size",
    "smb2.negotiate_context.count", "smb2.negotiate_context.type",
    "smb2.negotiate_context.hash_algorithm", "smb2.negotiate_context.salt_length",
    "smb2.negotiate_context.cipher_id", "smb2.negotiate_context.signing_id",
    "spnego.MechType"]
NTLM = ["ntlmssp.messagetype", "ntlmssp.negotiateflags", "ntlmssp.auth.username",
        "ntlmssp.auth.domain", "ntlmssp.auth.hostname", "ntlmssp.challenge.target_name",
        "ntlmssp.challenge.target_info.nb_computer_name",
        "ntlmssp.challenge.target_info.nb_domain_name",
        "ntlmssp.challenge.target_info.dns_computer_name",
        "spnego.MechType", "spnego.supportedMech"]
SMB2_SESS_REQ = SMB2_HDR + ["smb2.sec_mode", "smb2.capabilities", "smb2.previous_sesid"] + NTLM
SMB2_SESS_RESP = SMB2_HDR + ["smb2.nt_status", "smb2.session_flags"] + NTLM
SMB2_TREE_REQ = SMB2_HDR + ["smb2.tree"]
SMB2_TREE_RESP = SMB2_HDR + ["smb2.nt_status", "smb2.share_type", "smb2.share_flags", "smb2.share_caps"]
SMB2_TRANSFORM = ["smb2.header.transform.msg_size", "smb2.header.transform.flags", "smb2.sesid"]

SMB1_HDR = ["smb.flags.response", "smb.nt_status", "smb.uid", "smb.tid", "smb.mid"]
SMB1_NEG_REQ = SMB1_HDR + ["smb.dialect"]
SMB1_NEG_RESP = SMB1_HDR + ["smb.dialect.index", "smb.sm", "smb.server_cap", "smb.max_bufsize",
                            "smb.server_guid", "spnego.MechType"]
SMB1_SESS_REQ = SMB1_HDR + ["smb.server_cap", "smb.native_os", "smb.native_lanman",
                            "smb.account", "smb.primary_domain"] + NTLM
SMB1_SESS_RESP = SMB1_HDR + ["smb.native_os", "smb.native_lanman", "smb.primary_domain",
                             "smb.setup.action"] + NTLM
SMB1_TREE_REQ = SMB1_HDR + ["smb.path", "smb.service"]
SMB1_TREE_RESP = SMB1_HDR + ["smb.service", "smb.connect.support"]

VECTORS = [
    # name, capture, frame, fields
    ("smb2_311_negotiate_req", "smb445-smb3_11.pcap", 4, SMB2_NEG_REQ),
    ("smb2_311_negotiate_resp", "smb445-smb3_11.pcap", 6, SMB2_NEG_RESP),
    ("smb2_311_session_req1", "smb445-smb3_11.pcap", 8, SMB2_SESS_REQ),
    ("smb2_311_session_resp1", "smb445-smb3_11.pcap", 9, SMB2_SESS_RESP),
    ("smb2_311_session_req2", "smb445-smb3_11.pcap", 10, SMB2_SESS_REQ),
    ("smb2_311_session_resp2", "smb445-smb3_11.pcap", 11, SMB2_SESS_RESP),
    ("smb2_311_tree_req", "smb445-smb3_11.pcap", 12, SMB2_TREE_REQ),
    ("smb2_311_tree_resp", "smb445-smb3_11.pcap", 13, SMB2_TREE_RESP),
    ("smb2_311_tree_req_data", "smb445-smb3_11.pcap", 18, SMB2_TREE_REQ),
    ("smb2_202_negotiate_req", "smb445-smb2_02.pcap", 4, SMB2_NEG_REQ),
    ("smb2_202_negotiate_resp", "smb445-smb2_02.pcap", 6, SMB2_NEG_RESP),
    ("smb2_300_negotiate_resp", "smb445-smb3_00.pcap", 6, SMB2_NEG_RESP),
    ("smb2_sign_session_resp2", "smb445-sign.pcap", 11, SMB2_SESS_RESP),
    ("smb2_encrypt_session_resp2", "smb445-encrypt.pcap", 11, SMB2_SESS_RESP),
    ("smb2_encrypt_transform", "smb445-encrypt.pcap", 12, SMB2_TRANSFORM),
    ("smb2_share_encrypt_tree_req", "smb445-share-encrypt.pcap", 18, SMB2_TREE_REQ),
    ("smb2_share_encrypt_tree_resp", "smb445-share-encrypt.pcap", 19, SMB2_TREE_RESP),
    ("multiproto_smb1_negotiate_req", "smb445-multiproto.pcap", 4, SMB1_NEG_REQ),
    ("multiproto_smb2_wildcard_resp", "smb445-multiproto.pcap", 6, SMB2_NEG_RESP),
    ("smb1_negotiate_req", "smb445-nt1.pcap", 4, SMB1_NEG_REQ),
    ("smb1_negotiate_resp", "smb445-nt1.pcap", 6, SMB1_NEG_RESP),
    ("smb1_session_req1", "smb445-nt1.pcap", 8, SMB1_SESS_REQ),
    ("smb1_session_resp1", "smb445-nt1.pcap", 9, SMB1_SESS_RESP),
    ("smb1_session_req2", "smb445-nt1.pcap", 10, SMB1_SESS_REQ),
    ("smb1_session_resp2", "smb445-nt1.pcap", 11, SMB1_SESS_RESP),
    ("smb1_tree_req", "smb445-nt1.pcap", 12, SMB1_TREE_REQ),
    ("smb1_tree_resp", "smb445-nt1.pcap", 13, SMB1_TREE_RESP),
    ("smb1_nbt139_negotiate_req", "nbt139-nt1.pcap", 8, SMB1_NEG_REQ),
    ("smb2_logon_failure_session_resp", "smb445-logon-failure.pcap", 11, SMB2_SESS_RESP),
    ("multiproto_smb1_impacket_negotiate_req", "impacket-445.pcap", 4, SMB1_NEG_REQ),
    ("smb2_impacket_negotiate_req", "impacket-445.pcap", 8, SMB2_NEG_REQ),
    ("smb2_impacket_negotiate_resp", "impacket-445.pcap", 9, SMB2_NEG_RESP),
    ("smb2_impacket_session_req2", "impacket-445.pcap", 12, SMB2_SESS_REQ),
    ("smb2_impacket_session_resp2", "impacket-445.pcap", 13, SMB2_SESS_RESP),
]


def tshark_fields(cap, frame, fields):
    cmd = ["tshark", "-r", cap, "-Y", "frame.number == %d" % frame, "-T", "fields",
           "-E", "occurrence=a", "-E", "aggregator=|", "-e", "tcp.payload"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    lines = [l for l in out.split("\n") if l]
    if len(lines) != 1:
        raise SystemExit("%s frame %d: expected one line from tshark, got %d" % (cap, frame, len(lines)))
    return lines[0].split("\t")


def tshark_version():
    out = subprocess.run(["tshark", "--version"], check=True, capture_output=True, text=True).stdout
    return out.split("\n")[0]


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    samples = sys.argv[1]
    outdir = sys.argv[2] if len(sys.argv) > 2 else os.path.dirname(os.path.abspath(__file__))
    version = tshark_version()
    for name, capname, frame, fields in VECTORS:
        cap = os.path.join(samples, capname)
        if not os.path.exists(cap):
            print("skip %s: %s not found" % (name, capname))
            continue
        vals = tshark_fields(cap, frame, fields)
        payload = vals[0].replace(":", "")
        raw = bytes.fromhex(payload)
        # one whole SMB message per vector: 4-byte header, then exactly that many bytes
        mlen = (raw[1] << 16) | (raw[2] << 8) | raw[3]
        if raw[0] != 0 or mlen + 4 != len(raw):
            raise SystemExit("%s frame %d does not hold exactly one SMB message" % (capname, frame))
        with open(os.path.join(outdir, name + ".vec"), "w") as f:
            f.write("# source: samples/%s frame %d\n" % (capname, frame))
            f.write("# expected values: tshark -T fields -E occurrence=a -E aggregator='|' (%s)\n" % version)
            f.write("# generated by tests/unit/smb_vectors/cut_vectors.py; do not edit\n")
            f.write("payload=%s\n" % payload)
            for field, val in zip(fields, vals[1:]):
                if val != "":
                    f.write("%s=%s\n" % (field, val))
        print("wrote %s" % name)


if __name__ == "__main__":
    main()
