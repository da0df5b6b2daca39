/* stats.c - "tshark -z smbscope,tree" / Statistics > SMB transport audit:
 * connections and NetBIOS flows, not packets.
 *
 * A table of counts (value, count): a stats_tree would add rate, burst and
 * average columns that mean nothing for a count of connections.
 *
 * The tap sees every packet of a flow; each flow is counted once, under the
 * labels its latest packet carries.  On tshark's single pass a label can
 * change (a 2.x answer later renegotiated to 3.1.1, "no-answer" later
 * answered): the flow then moves from the old row to the new one, so the
 * counts at the end are the final answers either way (the old row stays,
 * with 0).  On a second pass (tshark -2, Wireshark once the file is loaded)
 * the labels are final from the first packet. */
#include "smbscope.h"

#include <epan/stat_tap_ui.h>
#include <epan/tap.h>

#define T_TRANSPORT "SMB connections by transport"
#define T_DIALECT "SMB connections by dialect"
#define T_NETBIOS "NetBIOS flows by service and state"
#define T_VERDICT "SMB connections and NetBIOS flows by verdict"
#define T_CAPTURE "Whole input (the command's outcome and decode losses)"
#define NO_DIALECT "(no negotiate seen)"

enum { COL_VALUE, COL_COUNT, N_COLS };

/* What a flow is currently counted as. */
struct counted {
    char *transport, *dialect, *netbios, *verdict;
};

/* File scope: flow state pointers are only valid while their file is open.
 * Created on the first packet, dropped by a table reset and by the file's
 * cleanup routine. */
static GHashTable *flows; /* const struct smbscope_conv * -> struct counted */
static char *capture_label; /* the whole input's verdict row, "verdict fail" ... */

static void counted_free(gpointer p)
{
    struct counted *c = (struct counted *)p;
    g_free(c->transport);
    g_free(c->dialect);
    g_free(c->netbios);
    g_free(c->verdict);
    g_free(c);
}

void smbscope_stats_forget(void)
{
    if (flows)
        g_hash_table_destroy(flows);
    flows = NULL;
    g_free(capture_label);
    capture_label = NULL;
}

static stat_tap_table *table_of(stat_tap_table_ui *ui, const char *title)
{
    stat_tap_table *t = stat_tap_find_table(ui, title);
    if (!t) {
        t = stat_tap_init_table(title, N_COLS, 0, NULL);
        stat_tap_add_table(ui, t);
    }
    return t;
}

/* Add delta to the row labelled `label`, creating it (the table owns a copy). */
static void bump(stat_tap_table *t, const char *label, int delta)
{
    for (guint i = 0; i < t->num_elements; i++) {
        stat_tap_table_item_type *v = stat_tap_get_field_data(t, i, COL_VALUE);
        if (g_strcmp0(v->value.string_value, label) == 0) {
            stat_tap_get_field_data(t, i, COL_COUNT)->value.uint_value += (guint)delta;
            return;
        }
    }
    stat_tap_table_item_type row[N_COLS];
    memset(row, 0, sizeof row);
    row[COL_VALUE].type = TABLE_ITEM_STRING;
    row[COL_VALUE].value.string_value = g_strdup(label);
    row[COL_COUNT].type = TABLE_ITEM_UINT;
    row[COL_COUNT].value.uint_value = (guint)delta;
    stat_tap_init_table_row(t, t->num_elements, N_COLS, row);
}

/* The row labelled `label` holds `value` (created when needed). */
static void set_row(stat_tap_table *t, const char *label, guint value)
{
    for (guint i = 0; i < t->num_elements; i++) {
        stat_tap_table_item_type *v = stat_tap_get_field_data(t, i, COL_VALUE);
        if (g_strcmp0(v->value.string_value, label) == 0) {
            stat_tap_get_field_data(t, i, COL_COUNT)->value.uint_value = value;
            return;
        }
    }
    if (value)
        bump(t, label, (int)value);
}

static guint row_count(stat_tap_table *t, const char *label)
{
    for (guint i = 0; i < t->num_elements; i++)
        if (g_strcmp0(stat_tap_get_field_data(t, i, COL_VALUE)->value.string_value, label) == 0)
            return stat_tap_get_field_data(t, i, COL_COUNT)->value.uint_value;
    return 0;
}

/* Move one flow from label *old to label now. */
static void relabel(stat_tap_table *t, char **old, const char *now)
{
    if (!now || g_strcmp0(*old, now) == 0)
        return;
    if (*old)
        bump(t, *old, -1);
    g_free(*old);
    *old = g_strdup(now);
    bump(t, now, +1);
}

static struct counted *counted_for(const struct smbscope_conv *conv)
{
    if (!flows)
        flows = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, counted_free);
    struct counted *c = (struct counted *)g_hash_table_lookup(flows, conv);
    if (!c) {
        c = g_new0(struct counted, 1);
        g_hash_table_insert(flows, (gpointer)(uintptr_t)conv, c);
    }
    return c;
}

static void count_netbios(stat_tap_table_ui *ui, const struct smbscope_conv *conv, const char *service,
                          const char *state)
{
    char *label = g_strdup_printf("%s %s", service, state ? state : "(unknown)");
    relabel(table_of(ui, T_NETBIOS), &counted_for(conv)->netbios, label);
    g_free(label);
}

/* The whole input: its losses so far (final at the end of the pass,
 * whichever pass runs the tap) and its verdict from the flows' verdicts
 * and the losses, as the command decides its outcome (loss.c says the
 * same on the packets). */
static void count_capture(stat_tap_table_ui *ui)
{
    stat_tap_table *t = table_of(ui, T_CAPTURE), *v = table_of(ui, T_VERDICT);
    const struct decode_losses *l = smbscope_capture_losses();
    for (int k = 0; k < LOSS_KIND_COUNT; k++) {
        char label[64];
        g_snprintf(label, sizeof label, "%s %s", DECODE_LOSS_REASON, decode_loss_kind_name((enum decode_loss_kind)k));
        set_row(t, label, (guint)l->n[k]);
    }
    guint64 drops = smbscope_capture_drops();
    set_row(t, "capture-drops", (guint)MIN(drops, G_MAXUINT));
    enum smbscope_verdict verdict = row_count(v, "fail") ? SMBSCOPE_VERDICT_FAIL
                                    : (row_count(v, "inconclusive") || decode_loss_total(l) || drops)
                                        ? SMBSCOPE_VERDICT_INCONCLUSIVE
                                        : SMBSCOPE_VERDICT_PASS;
    char *label = g_strdup_printf("verdict %s", smbscope_verdict_name(verdict));
    relabel(t, &capture_label, label);
    g_free(label);
}

static tap_packet_status stats_packet(void *tapdata, packet_info *pinfo _U_, epan_dissect_t *edt _U_,
                                      const void *data, tap_flags_t flags _U_)
{
    stat_data_t *sd = (stat_data_t *)tapdata;
    const struct smbscope_tap_rec *rec = (const struct smbscope_tap_rec *)data;
    if (!sd || !rec)
        return TAP_PACKET_DONT_REDRAW;
    stat_tap_table_ui *ui = sd->stat_tap_data;
    if (rec->conv && rec->transport) {
        struct counted *c = counted_for(rec->conv);
        relabel(table_of(ui, T_TRANSPORT), &c->transport, rec->transport);
        relabel(table_of(ui, T_DIALECT), &c->dialect, rec->dialect ? rec->dialect : NO_DIALECT);
    }
    if (rec->service)
        count_netbios(ui, rec->conv, rec->service, rec->state);
    /* The flow this packet answered (a broadcast query) changed state too. */
    if (rec->also && rec->also_service)
        count_netbios(ui, rec->also, rec->also_service, rec->also_state);
    if (rec->verdict)
        relabel(table_of(ui, T_VERDICT), &counted_for(rec->conv)->verdict, rec->verdict);
    if (rec->also && rec->also_verdict)
        relabel(table_of(ui, T_VERDICT), &counted_for(rec->also)->verdict, rec->also_verdict);
    count_capture(ui);
    return TAP_PACKET_REDRAW;
}

static void stats_init(stat_tap_table_ui *ui)
{
    /* Fixed order of the tables, whatever the capture shows first. */
    table_of(ui, T_TRANSPORT);
    table_of(ui, T_DIALECT);
    table_of(ui, T_NETBIOS);
    table_of(ui, T_VERDICT);
    /* Nothing of interest in the capture is a pass, as for the command. */
    relabel(table_of(ui, T_CAPTURE), &capture_label, "verdict pass");
}

static void stats_reset(stat_tap_table *t)
{
    for (guint i = 0; i < t->num_elements; i++)
        stat_tap_get_field_data(t, i, COL_COUNT)->value.uint_value = 0;
    /* Every table is reset together: the flows start uncounted again. */
    smbscope_stats_forget();
}

static void stats_free_item(stat_tap_table *t _U_, guint row _U_, guint column, stat_tap_table_item_type *field)
{
    if (column == COL_VALUE && field->type == TABLE_ITEM_STRING) {
        g_free((char *)(uintptr_t)field->value.string_value);
        field->value.string_value = NULL;
    }
}

static stat_tap_table_item columns[N_COLS] = {
    { TABLE_ITEM_STRING, TAP_ALIGN_LEFT, "Value", "%-36s" },
    { TABLE_ITEM_UINT, TAP_ALIGN_RIGHT, "Count", "%6u" },
};

void smbscope_register_stats(void)
{
    static stat_tap_table_ui ui = {
        REGISTER_STAT_GROUP_GENERIC,
        "SMB transport audit (smbscope)",
        "smbscope",
        "smbscope,tree",
        stats_init,
        stats_packet,
        stats_reset,
        stats_free_item,
        NULL,
        G_N_ELEMENTS(columns), columns,
        0, NULL,
        NULL,
        0,
    };
    register_stat_tap_table_ui(&ui);
}
