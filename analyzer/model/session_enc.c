/* session_enc.c - see session_enc.h. */
#include "session_enc.h"

#include "flow.h"
#include "session_priv.h"

static struct smb_enc_unseen *record(struct smb_conn *s)
{
    if (!s->enc_unseen)
        s->enc_unseen = g_new0(struct smb_enc_unseen, 1);
    return s->enc_unseen;
}

void session_enc_unseen_note(struct smb_conn *s, uint64_t id, uint64_t pdus, bool signed_seen)
{
    const struct smb_conn_priv *p = priv(s); /* as session_xchg.c asks: the flow learns of its SYN late */
    if (p->fc ? !p->fc->midstream : p->start_seen)
        return; /* seen from its start: no session was set up before (a message of none is the run's) */
    struct smb_enc_unseen *u = record(s);
    for (uint8_t i = 0; i < u->n; i++) {
        if (u->s[i].id == id) {
            u->s[i].pdus += pdus;
            u->s[i].signed_seen |= signed_seen;
            return;
        }
    }
    if (u->n == SESSION_ENC_UNSEEN_MAX) {
        u->folded += pdus;
        return;
    }
    u->s[u->n].id = id;
    u->s[u->n].pdus = pdus;
    u->s[u->n].signed_seen = signed_seen;
    u->n++;
}

void session_enc_unseen_forget(struct smb_conn *s, uint64_t id)
{
    struct smb_enc_unseen *u = s->enc_unseen;
    for (uint8_t i = 0; u && i < u->n; i++) {
        if (u->s[i].id == id) {
            u->s[i] = u->s[u->n - 1];
            u->n--;
            return;
        }
    }
}

void session_enc_unseen_join(struct smb_conn *early, const struct smb_conn *late)
{
    const struct smb_enc_unseen *u = late->enc_unseen;
    const struct smb_conn_priv *p = priv(early);
    if (u && !(p->fc ? !p->fc->midstream : p->start_seen))
        record(early); /* late listed (and maybe set up) sessions: the run over both lists them, if none remain */
    for (uint8_t i = 0; u && i < u->n; i++) {
        struct smb_session_rec *r = session_get(early, u->s[i].id, false);
        if (r) {
            r->encrypted_pdus += u->s[i].pdus;
            r->signed_seen |= u->s[i].signed_seen;
        } else {
            session_enc_unseen_note(early, u->s[i].id, u->s[i].pdus, u->s[i].signed_seen);
        }
    }
    if (u && u->folded)
        record(early)->folded += u->folded;
}
