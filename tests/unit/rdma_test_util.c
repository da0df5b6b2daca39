#include "rdma_test_util.h"

#include <stdlib.h>
#include <string.h>

#include "wire.h"

GBytes *rdma_vector(const char *name)
{
    const char *dir = g_getenv("SMBSCOPE_RDMA_VECTORS");
    g_autofree char *path = g_build_filename(dir ? dir : "tests/unit/rdma_vectors", name, NULL);
    gchar *data = NULL;
    gsize len = 0;
    GError *err = NULL;
    if (!g_file_get_contents(path, &data, &len, &err))
        g_error("%s: %s", path, err->message);
    return g_bytes_new_take(data, len);
}

struct tsv *tsv_load(const char *name)
{
    GBytes *b = rdma_vector(name);
    gsize n;
    const char *text = g_bytes_get_data(b, &n);
    g_autofree char *copy = g_strndup(text, n);
    g_bytes_unref(b);
    char **lines = g_strsplit(copy, "\n", -1);
    struct tsv *t = g_new0(struct tsv, 1);
    t->header = g_strsplit(lines[0], "\t", -1);
    t->rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
    for (guint i = 1; lines[i]; i++)
        if (lines[i][0])
            g_ptr_array_add(t->rows, g_strsplit(lines[i], "\t", -1));
    g_strfreev(lines);
    return t;
}

void tsv_free(struct tsv *t)
{
    g_strfreev(t->header);
    g_ptr_array_unref(t->rows);
    g_free(t);
}

const char *tsv_field(const struct tsv *t, guint row, const char *field)
{
    char **r = g_ptr_array_index(t->rows, row);
    for (guint i = 0; t->header[i]; i++) {
        if (strcmp(t->header[i], field) != 0)
            continue;
        for (guint j = 0; j <= i; j++)
            if (!r[j])
                return "";
        return r[i];
    }
    g_error("no field %s in the vector", field);
    return "";
}

gint64 tsv_num(const struct tsv *t, guint row, const char *field)
{
    const char *s = tsv_field(t, row, field);
    if (!*s)
        return -1;
    if (!strcmp(s, "True"))
        return 1;
    if (!strcmp(s, "False"))
        return 0;
    return (gint64)g_ascii_strtoull(s, NULL, 0);
}

GArray *tshark_smb2_cmds(const struct tsv *t, const char *src)
{
    GArray *a = g_array_new(FALSE, FALSE, sizeof(guint16));
    for (guint i = 0; i < t->rows->len; i++) {
        if (strcmp(tsv_field(t, i, "ip.src"), src) != 0)
            continue;
        char **cmds = g_strsplit(tsv_field(t, i, "smb2.cmd"), "|", -1);
        for (guint j = 0; cmds[j]; j++) {
            if (!cmds[j][0])
                continue;
            guint16 c = (guint16)g_ascii_strtoull(cmds[j], NULL, 0);
            g_array_append_val(a, c);
        }
        g_strfreev(cmds);
    }
    return a;
}

void smbd_pipe_init(struct smbd_pipe *p)
{
    memset(p, 0, sizeof *p);
    for (int d = 0; d < 2; d++) {
        smbd_reasm_init(&p->reasm[d], p->buf[d], sizeof p->buf[d]);
        p->cmds[d] = g_array_new(FALSE, FALSE, sizeof(guint16));
        p->lens[d] = g_array_new(FALSE, FALSE, sizeof(gsize));
    }
}

void smbd_pipe_free(struct smbd_pipe *p)
{
    for (int d = 0; d < 2; d++) {
        g_array_unref(p->cmds[d]);
        g_array_unref(p->lens[d]);
    }
}

void smbd_pipe_send(struct smbd_pipe *p, int from_responder, const uint8_t *msg, size_t len)
{
    struct smbd_data data;
    if (smbd_conn_message(&p->conn, from_responder, false, msg, len, &data) != SMBD_MSG_DATA)
        return;
    p->data_messages[from_responder]++;
    const uint8_t *smb2;
    size_t n;
    if (smbd_reasm_add(&p->reasm[from_responder], &data, &smb2, &n) != SMBD_RX_DONE)
        return;
    struct wire w = wire_make(smb2, n);
    wire_skip(&w, 12);
    guint16 cmd = wire_u16le(&w);
    g_assert_true(wire_ok(&w));
    g_assert_cmphex(load_u32le(smb2), ==, 0x424D53FEu); /* \xfeSMB, no 4-byte transport header */
    g_array_append_val(p->cmds[from_responder], cmd);
    gsize l = n;
    g_array_append_val(p->lens[from_responder], l);
}
