/* report_rdma.h - the SMB Direct members of a connection in both reports
 * (null / absent for SMB over TCP). */
#ifndef SMBSCOPE_REPORT_RDMA_H
#define SMBSCOPE_REPORT_RDMA_H

#include <stdio.h>

#include "json.h"
#include "session.h"

/* "ip_proto": "tcp" | "udp" and "smb_direct": {...} | null. */
void report_json_smb_direct(struct json *j, const struct smb_conn *s);
/* Detail lines ("SMB Direct", "RDMA Transfers") when the connection is SMB
 * Direct; label_width aligns them with the other fields. */
void report_text_smb_direct(FILE *out, const struct smb_conn *s, int label_width);

#endif
