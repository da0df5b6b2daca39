/* udpflow.c - NetBIOS UDP flows.
 *
 * Wireshark's UDP conversations are address/port pairs, so a broadcast name
 * query and the unicast answers to it would be different conversations.  A
 * NetBIOS flow here is what the command's ledger calls one (and what
 * samples/MANIFEST.tsv lists): the client end (address, port) and the
 * service port and the server address.  An answer from another address
 * than the one asked opens its own flow and marks the asking flow (found
 * through by_client: the first flow of that client end) answered. */
#include "smbscope.h"

struct flow_key {
    address client;
    guint32 cport;
    address server;   /* AT_NONE in the by-client map */
    guint32 service;
};

/* File scope: built by the init routine when a file is opened, gone with
 * the file's memory when it is closed (NULL in between). */
static wmem_map_t *flows;      /* exact key -> struct smbscope_conv */
static wmem_map_t *by_client;  /* key without server -> first flow */
static wmem_map_t *pending;    /* key without server, service = NBNS id -> flow that asked */

static guint key_hash(gconstpointer p)
{
    const struct flow_key *k = (const struct flow_key *)p;
    guint h = add_address_to_hash(0, &k->client);
    h = add_address_to_hash(h, &k->server);
    return h ^ (k->cport * 65599u) ^ k->service;
}

static gboolean key_equal(gconstpointer a, gconstpointer b)
{
    const struct flow_key *x = (const struct flow_key *)a;
    const struct flow_key *y = (const struct flow_key *)b;
    return x->cport == y->cport && x->service == y->service && addresses_equal(&x->client, &y->client)
        && addresses_equal(&x->server, &y->server);
}

void smbscope_udpflow_init(void)
{
    flows = wmem_map_new(wmem_file_scope(), key_hash, key_equal);
    by_client = wmem_map_new(wmem_file_scope(), key_hash, key_equal);
    pending = wmem_map_new(wmem_file_scope(), key_hash, key_equal);
}

void smbscope_udpflow_cleanup(void)
{
    /* The maps and everything in them are file-scope memory, freed right
     * after the cleanup routines: forget the pointers. */
    flows = by_client = pending = NULL;
}

guint smbscope_udpflow_tables(void)
{
    return (flows != NULL) + (by_client != NULL) + (pending != NULL);
}

static struct flow_key *key_copy(const address *client, guint32 cport, const address *server, guint32 service)
{
    struct flow_key *k = wmem_new0(wmem_file_scope(), struct flow_key);
    copy_address_wmem(wmem_file_scope(), &k->client, client);
    k->cport = cport;
    if (server)
        copy_address_wmem(wmem_file_scope(), &k->server, server);
    else
        clear_address(&k->server);
    k->service = service;
    return k;
}

struct smbscope_conv *smbscope_udpflow_get(const address *client, guint32 cport, const address *server,
                                           guint32 service, guint32 frame)
{
    struct flow_key probe = { *client, cport, *server, service };
    struct smbscope_conv *c = (struct smbscope_conv *)wmem_map_lookup(flows, &probe);
    if (c)
        return c;
    c = wmem_new0(wmem_file_scope(), struct smbscope_conv);
    c->is_tcp = false;
    c->first_frame = frame;
    smbscope_capture_track(c);
    copy_address_wmem(wmem_file_scope(), &c->client, client);
    copy_address_wmem(wmem_file_scope(), &c->udp_server, server);
    c->client_port = (guint16)cport;
    c->server_port = (guint16)service;
    c->dir = DIR_TCP_SYN; /* decided once and for all */
    wmem_map_insert(flows, key_copy(client, cport, server, service), c);
    struct flow_key first = { *client, cport, { AT_NONE, 0, NULL, NULL }, service };
    if (!wmem_map_lookup(by_client, &first))
        wmem_map_insert(by_client, key_copy(client, cport, NULL, service), c);
    return c;
}

struct smbscope_conv *smbscope_udpflow_by_client(const address *client, guint32 cport, guint32 service)
{
    struct flow_key probe = { *client, cport, { AT_NONE, 0, NULL, NULL }, service };
    return (struct smbscope_conv *)wmem_map_lookup(by_client, &probe);
}

/* NBNS name queries waiting for their answer, by client end and transaction
 * id, as the command's ledger matches them: a broadcast query is answered
 * from the server's own address, and only the answer with its id counts. */
void smbscope_udpflow_query(const address *client, guint32 cport, guint16 id, struct smbscope_conv *c)
{
    struct flow_key probe = { *client, cport, { AT_NONE, 0, NULL, NULL }, 0x10000u | id };
    if (!wmem_map_lookup(pending, &probe))
        wmem_map_insert(pending, key_copy(client, cport, NULL, 0x10000u | id), c);
}

struct smbscope_conv *smbscope_udpflow_answer(const address *client, guint32 cport, guint16 id)
{
    struct flow_key probe = { *client, cport, { AT_NONE, 0, NULL, NULL }, 0x10000u | id };
    struct smbscope_conv *c = (struct smbscope_conv *)wmem_map_lookup(pending, &probe);
    if (c)
        wmem_map_remove(pending, &probe);
    return c;
}
