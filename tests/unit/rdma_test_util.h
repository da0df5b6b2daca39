/* Shared by the SMB Direct tests: vectors cut by rdma_vectors/cut_rdma_vectors.py
 * (bytes from samples/rdma-*.pcap, expected values from tshark) and the
 * pipeline Send message -> SMBD -> SMB2 message. */
#ifndef SMBSCOPE_RDMA_TEST_UTIL_H
#define SMBSCOPE_RDMA_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "smbd.h"

/* A vector file from $SMBSCOPE_RDMA_VECTORS; fails the test when unreadable. */
GBytes *rdma_vector(const char *name);

/* tshark's TSV: a header line and one row per frame. */
struct tsv {
    char **header;
    GPtrArray *rows; /* of char ** (g_strfreev) */
};
struct tsv *tsv_load(const char *name);
void tsv_free(struct tsv *t);
/* The field of a row ("" when absent). */
const char *tsv_field(const struct tsv *t, guint row, const char *field);
/* The field as a number (decimal or 0x-hex; "True"/"False" as 1/0); -1 if absent. */
gint64 tsv_num(const struct tsv *t, guint row, const char *field);

/* SMB2 command codes (one per SMB2 message) tshark saw sent by `src`, in order. */
GArray *tshark_smb2_cmds(const struct tsv *t, const char *src);

/* Both directions of an SMBD connection fed Send messages; collects the
 * command code of every SMB2 message reassembled. */
struct smbd_pipe {
    struct smbd_conn conn;
    struct smbd_reasm reasm[2];
    uint8_t buf[2][65536];
    GArray *cmds[2];   /* guint16 */
    GArray *lens[2];   /* gsize: SMB2 message lengths */
    guint data_messages[2];
};
void smbd_pipe_init(struct smbd_pipe *p);
void smbd_pipe_free(struct smbd_pipe *p);
void smbd_pipe_send(struct smbd_pipe *p, int from_responder, const uint8_t *msg, size_t len);

#endif
