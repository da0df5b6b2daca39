/* mstate_join_enc.c - see mstate_join_enc.h. */
#include "mstate_join_enc.h"

#include <stdbool.h>
#include <string.h>

#include "jget.h"
#include "mstate_put.h"

/* The element of a (objects) whose session_id is id. */
static JsonObject *by_id(JsonArray *a, const char *id)
{
    for (guint i = 0; a && i < json_array_get_length(a); i++) {
        JsonObject *o = jget_node_obj(json_array_get_element(a, i));
        if (o && strcmp(json_object_get_string_member_with_default(o, "session_id", ""), id) == 0)
            return o;
    }
    return NULL;
}

static void add_pdus(JsonObject *o, gint64 n)
{
    json_object_set_int_member(o, "encrypted_pdus", mstate_sum(json_object_get_int_member_with_default(o, "encrypted_pdus", 0), n));
}

void mstate_join_enc_unseen(JsonObject *early, JsonObject *late)
{
    JsonObject *ee = jget_member_obj(early, "encryption"), *le = jget_member_obj(late, "encryption");
    JsonArray *lu = jget_member_arr(le, "unseen_sessions");
    if (!ee || !le || !json_object_has_member(le, "unseen_sessions"))
        return;
    JsonArray *sessions = jget_member_arr(early, "sessions");
    /* A run that saw the connection from its start lists none (session_enc.h):
     * what no session of the whole took is not listed either. */
    JsonObject *es = jget_member_obj(early, "stream");
    bool listed = !es || json_object_get_boolean_member_with_default(es, "midstream", TRUE);
    for (guint i = 0; lu && i < json_array_get_length(lu); i++) {
        JsonNode *n = json_array_get_element(lu, i);
        JsonObject *u = jget_node_obj(n);
        const char *id = u ? json_object_get_string_member_with_default(u, "session_id", NULL) : NULL;
        if (!id)
            continue;
        gint64 pdus = json_object_get_int_member_with_default(u, "encrypted_pdus", 0);
        JsonObject *s = by_id(sessions, id);
        if (!s) /* still not set up in any part before: unseen in the whole too */
            s = by_id(jget_member_arr(ee, "unseen_sessions"), id);
        if (s) {
            add_pdus(s, pdus);
            if (json_object_get_boolean_member_with_default(u, "signed", FALSE))
                json_object_set_boolean_member(s, "signed", TRUE);
            continue;
        }
        if (!listed)
            continue;
        if (!jget_member_arr(ee, "unseen_sessions"))
            json_object_set_array_member(ee, "unseen_sessions", json_array_new());
        json_array_add_element(jget_member_arr(ee, "unseen_sessions"), json_node_copy(n));
    }
    /* The run over both writes the list only when some message was unseen;
     * an emptied one is not written.  Folded messages stay folded. */
    gint64 folded = json_object_get_int_member_with_default(le, "unseen_sessions_folded_pdus", 0);
    if (folded && listed)
        json_object_set_int_member(ee, "unseen_sessions_folded_pdus",
                                   mstate_sum(json_object_get_int_member_with_default(ee, "unseen_sessions_folded_pdus", 0),
                                              folded));
}

void mstate_join_enc_emptied(JsonObject *early, JsonObject *late)
{
    JsonObject *ee = jget_member_obj(early, "encryption"), *le = jget_member_obj(late, "encryption");
    JsonArray *lu = jget_member_arr(le, "unseen_sessions"), *es = jget_member_arr(early, "sessions");
    JsonObject *st = jget_member_obj(early, "stream");
    bool listed = !st || json_object_get_boolean_member_with_default(st, "midstream", TRUE);
    if (ee && lu && !json_array_get_length(lu) && listed && !json_object_has_member(ee, "unseen_sessions") &&
        (!es || !json_array_get_length(es)))
        json_object_set_array_member(ee, "unseen_sessions", json_array_new());
}
