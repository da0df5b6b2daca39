/* mstate_join_client.c - see mstate_join_client.h. */
#include "mstate_join_client.h"

#include <stddef.h>
#include <string.h>

/* The rules a later part can replace, weakest first (session.c: the
 * transport's word and the SYN are never replaced). */
static const char *const weaker[] = { "port", "smb-request", "negotiate" };

static int rank(const char *rule)
{
    for (size_t i = 0; rule && i < sizeof weaker / sizeof weaker[0]; i++)
        if (strcmp(rule, weaker[i]) == 0)
            return (int)i;
    return -1; /* syn, transport, or not one of them */
}

void mstate_join_client_rule(JsonObject *early, JsonObject *late, bool swapped)
{
    if (!early || !late || swapped)
        return;
    const char *e = json_object_get_string_member_with_default(early, "client_rule", NULL);
    const char *l = json_object_get_string_member_with_default(late, "client_rule", NULL);
    int re = rank(e), rl = rank(l);
    if (re < 0 || rl <= re)
        return;
    json_object_set_string_member(early, "client_rule", l);
}
