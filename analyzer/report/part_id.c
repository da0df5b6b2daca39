/* part_id.c - see part_id.h. */
#include "part_id.h"

#include <glib.h>
#include <string.h>

bool part_id_valid(const char *s)
{
    size_t pre = sizeof PART_ID_PREFIX - 1;
    if (!s || strlen(s) != PART_ID_LEN || strncmp(s, PART_ID_PREFIX, pre) != 0)
        return false;
    for (s += pre; *s; s++)
        if (!g_ascii_isxdigit(*s) || g_ascii_isupper(*s))
            return false;
    return true;
}

bool part_id_of(const struct input_info *in, char out[PART_ID_LEN + 1])
{
    out[0] = '\0';
    if (in->part_id) { /* folded from a report (mstate_read.c checked its form) */
        g_strlcpy(out, in->part_id, PART_ID_LEN + 1);
        return true;
    }
    if (!in->packets)
        return false;
    GString *t = g_string_new("smbscope-part/1\nhead ");
    if (in->have_head)
        for (int i = 0; i < 32; i++)
            g_string_append_printf(t, "%02x", in->head[i]);
    else
        g_string_append_c(t, '-');
    g_string_append_printf(t, "\npackets %" G_GUINT64_FORMAT "\nwire_bytes %" G_GUINT64_FORMAT "\nfirst %" G_GINT64_FORMAT
                           "\nlast %" G_GINT64_FORMAT "\nlive %s\n",
                           in->packets, in->wire_bytes, in->first_ts, in->last_ts,
                           in->live ? in->path : "-"); /* an interface's name: what else it has */
    char *hex = g_compute_checksum_for_string(G_CHECKSUM_SHA256, t->str, (gssize)t->len);
    g_string_free(t, TRUE);
    g_snprintf(out, PART_ID_LEN + 1, "%s%s", PART_ID_PREFIX, hex);
    g_free(hex);
    return true;
}
