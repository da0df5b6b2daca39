/* heur.c - recognise SMB on any TCP port without "Decode As".
 *
 * Wireshark binds NBSS (which also decodes direct-hosted SMB) to ports 139
 * and 445 only.  This heuristic looks at the first payload of an unclaimed
 * TCP conversation for either
 *   - direct-hosted SMB (MS-SMB2 2.1): 0x00, a 24-bit length, then an SMB
 *     protocol id (0xFF/0xFE/0xFD/0xFC 'S' 'M' 'B'), or
 *   - an NBSS session request (RFC 1002 4.3.2): 0x81, flags with only the
 *     length-extension bit, then a first-level-encoded called name
 *     (length 0x20 and 32 letters 'A'..'P'),
 * and hands the conversation to Wireshark's own NBSS dissector, which then
 * calls the SMB and SMB2 dissectors as on 139/445.  Only the header bytes
 * are inspected; decoding stays Wireshark's. */
#include "smbscope.h"

static dissector_handle_t nbss_handle;
static int heur_proto = -1;

/* Smallest message each SMB protocol id can start (header size). */
static const struct {
    guint8 id;
    guint32 min_len;
} smb_ids[] = {
    { 0xFF, 32 }, /* SMB1 header (MS-CIFS 2.2.3.1) */
    { 0xFE, 64 }, /* SMB2 header (MS-SMB2 2.2.1) */
    { 0xFD, 52 }, /* SMB2 TRANSFORM_HEADER (MS-SMB2 2.2.41) */
    { 0xFC, 16 }, /* SMB2 COMPRESSION_TRANSFORM_HEADER (MS-SMB2 2.2.42) */
};

static bool looks_direct_smb(tvbuff_t *tvb)
{
    if (tvb_captured_length(tvb) < 8 || tvb_get_guint8(tvb, 0) != 0x00)
        return false;
    guint32 len = tvb_get_ntoh24(tvb, 1);
    guint8 id = tvb_get_guint8(tvb, 4);
    if (tvb_memeql(tvb, 5, (const guint8 *)"SMB", 3) != 0)
        return false;
    for (size_t i = 0; i < G_N_ELEMENTS(smb_ids); i++)
        if (smb_ids[i].id == id)
            return len >= smb_ids[i].min_len;
    return false;
}

enum { NB_ENCODED_NAME_LEN = 32 };

static bool looks_session_request(tvbuff_t *tvb)
{
    const int name_at = 5;
    if (tvb_captured_length(tvb) < (guint)(name_at + NB_ENCODED_NAME_LEN))
        return false;
    if (tvb_get_guint8(tvb, 0) != 0x81 || (tvb_get_guint8(tvb, 1) & 0xFE) != 0)
        return false;
    /* Two encoded names of at least 34 bytes each follow the header. */
    guint32 len = ((guint32)(tvb_get_guint8(tvb, 1) & 1) << 16) | tvb_get_ntohs(tvb, 2);
    if (len < 2 * (NB_ENCODED_NAME_LEN + 2) || tvb_get_guint8(tvb, 4) != NB_ENCODED_NAME_LEN)
        return false;
    for (int i = 0; i < NB_ENCODED_NAME_LEN; i++) {
        guint8 ch = tvb_get_guint8(tvb, name_at + i);
        if (ch < 'A' || ch > 'P')
            return false;
    }
    return true;
}

static gboolean heur_smb_tcp(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data)
{
    if (!nbss_handle || (!looks_direct_smb(tvb) && !looks_session_request(tvb)))
        return FALSE;
    conversation_t *conv = find_or_create_conversation(pinfo);
    conversation_set_dissector(conv, nbss_handle);
    smbscope_conv_get(conv, pinfo->num, true)->heur_claimed = true;
    /* Being called through the heuristic list cost NBSS one level of
     * desegmentation; give it back so long PDUs are reassembled. */
    guint16 saved = pinfo->can_desegment;
    pinfo->can_desegment = pinfo->saved_can_desegment;
    call_dissector_with_data(nbss_handle, tvb, pinfo, tree, data);
    pinfo->can_desegment = saved;
    return TRUE;
}

/* SMB Direct's own port, TCP 5445 (MS-SMBD), is bound in Wireshark 4.0 to
 * another protocol (artemis), which takes every byte before the iWARP MPA
 * heuristic could see the MPA startup: SMB Direct there showed nothing
 * without --disable-protocol artemis.  The guard sits on 5445 in its place:
 * a connection that opens with an MPA key (RFC 5044 7.1) is left to the
 * heuristics (returning 0 makes TCP try them), anything else goes on to the
 * dissector that had the port. */
static dissector_handle_t port_5445_prev;

static const char *const mpa_keys[] = { "MPA ID Req Frame", "MPA ID Rep Frame" };
enum { MPA_KEY_LEN = 16 };

static int guard_5445(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data)
{
    /* State only for MPA streams: the port's other traffic costs a look-up. */
    conversation_t *conv = find_conversation_pinfo(pinfo, 0);
    struct smbscope_conv *c = conv ? (struct smbscope_conv *)conversation_get_proto_data(conv, heur_proto) : NULL;
    bool mpa = c && c->mpa_key_seen;
    for (size_t i = 0; !mpa && i < G_N_ELEMENTS(mpa_keys); i++)
        if (tvb_captured_length(tvb) >= MPA_KEY_LEN && tvb_memeql(tvb, 0, (const guint8 *)mpa_keys[i], MPA_KEY_LEN) == 0) {
            smbscope_conv_get(find_or_create_conversation(pinfo), pinfo->num, true)->mpa_key_seen = true;
            mpa = true;
        }
    if (mpa || !port_5445_prev)
        return 0;
    return call_dissector_only(port_5445_prev, tvb, pinfo, tree, data);
}

static dissector_handle_t guard_handle;

/* Called when a file is opened: preferences (applied after the handoffs)
 * re-register the port's owner, so the guard is put back in place then. */
void smbscope_heur_guard_iwarp_port(void)
{
    dissector_table_t ports = find_dissector_table("tcp.port");
    dissector_handle_t cur = ports ? dissector_get_uint_handle(ports, SMBD_IWARP_PORT) : NULL;
    if (!cur || cur == guard_handle)
        return; /* nobody took the port (the MPA heuristic sees it), or guarded */
    port_5445_prev = cur;
    if (!guard_handle)
        guard_handle = create_dissector_handle(guard_5445, heur_proto);
    dissector_change_uint("tcp.port", SMBD_IWARP_PORT, guard_handle);
}

void smbscope_heur_register(int proto)
{
    heur_proto = proto;
}

/* Wireshark 4.0 does not register NBSS by name: take the handle it binds to
 * TCP port 139, provided it is NBSS's. */
static dissector_handle_t find_nbss(void)
{
    dissector_handle_t h = find_dissector("nbss");
    if (h)
        return h;
    dissector_table_t ports = find_dissector_table("tcp.port");
    h = ports ? dissector_get_uint_handle(ports, 139) : NULL;
    if (!h || dissector_handle_get_protocol_index(h) != proto_get_id_by_filter_name("nbss"))
        return NULL;
    return h;
}

void smbscope_heur_handoff(void)
{
    nbss_handle = find_nbss();
    heur_dissector_add("tcp", heur_smb_tcp, "SMB / NBSS on any TCP port (smbscope)", "smbscope_tcp",
                       heur_proto, HEURISTIC_ENABLE);
}
