/* nbns.c - NetBIOS name service messages (RFC 1002 4.2). */
#include "nbns.h"

#include <string.h>

#include "wire.h"

static void note(struct nbns_msg *m, enum nbns_status st)
{
    if (m->status == NBNS_OK)
        m->status = st;
}

/* NB rdata: a sequence of 6-byte entries (NB_FLAGS, NB_ADDRESS).  Some
 * replies (negative, WACK-less) carry none. */
static bool rdata_nb(struct nbns_msg *m, struct nbns_record *r, struct wire *rd)
{
    r->addr_first = m->naddrs;
    bool ok = wire_left(rd) % 6 == 0;
    while (wire_left(rd) >= 6) {
        uint16_t flags = wire_u16be(rd);
        uint32_t ip = wire_u32be(rd);
        if (m->naddrs < NBNS_MAX_ADDRS) {
            m->addrs[m->naddrs].flags = flags;
            m->addrs[m->naddrs].ipv4 = ip;
            m->naddrs++;
            r->addr_count++;
        } else {
            r->addrs_dropped++;
        }
    }
    return ok;
}

/* NBSTAT rdata (RFC 1002 4.2.18): NUM_NAMES, 18-byte name entries, then
 * the statistics block whose first 6 bytes are the unit id. */
static bool rdata_nbstat(struct nbns_msg *m, struct nbns_record *r, struct wire *rd)
{
    r->node_first = m->nnodes;
    r->num_names = wire_u8(rd);
    for (unsigned i = 0; i < r->num_names; i++) {
        const uint8_t *e = wire_bytes(rd, 18);
        if (!e)
            return false;
        if (m->nnodes < NBNS_MAX_NODE_NAMES) {
            struct nbns_node_name *nn = &m->nodes[m->nnodes++];
            memcpy(nn->name, e, 15);
            nn->suffix = e[15];
            nn->flags = load_u16be(e + 16);
            r->node_count++;
        } else {
            r->nodes_dropped++;
        }
    }
    const uint8_t *unit = wire_bytes(rd, 6);
    if (unit) {
        memcpy(r->unit_id, unit, 6);
        r->has_unit_id = true;
    }
    return wire_ok(rd);
}

static void decode_rdata(struct nbns_msg *m, struct nbns_record *r, struct wire rd)
{
    bool ok = true;
    switch (r->type) {
    case NBNS_TYPE_NB:
        /* a WACK carries the request's flags word in an NB record */
        if (m->opcode == NBNS_OP_WACK && r->rdlength == 2) {
            r->wack_flags = wire_u16be(&rd);
            break;
        }
        ok = rdata_nb(m, r, &rd);
        break;
    case NBNS_TYPE_NBSTAT:
        ok = rdata_nbstat(m, r, &rd);
        break;
    case NBNS_TYPE_A:
        ok = r->rdlength == 4;
        if (ok) {
            r->addr_first = m->naddrs;
            uint32_t ip = wire_u32be(&rd);
            if (m->naddrs < NBNS_MAX_ADDRS) {
                m->addrs[m->naddrs].flags = 0;
                m->addrs[m->naddrs].ipv4 = ip;
                m->naddrs++;
                r->addr_count = 1;
            } else {
                r->addrs_dropped = 1;
            }
        }
        break;
    default: /* NS, NULL and unknown types: opaque */
        break;
    }
    r->rdata_ok = ok;
    if (!ok)
        note(m, NBNS_BAD_RDATA);
}

enum nbns_status nbns_decode(const uint8_t *p, size_t n, struct nbns_msg *m)
{
    /* The entry arrays (10 KB) are not cleared: each entry is written whole
     * before its count covers it, and nothing reads past the counts.  The
     * analyzer decodes every NBNS datagram into one scratch message. */
    m->nq = m->q_dropped = m->nrr = m->rr_dropped = m->naddrs = m->nnodes = 0;
    m->status = NBNS_OK;
    m->used = 0;
    struct wire w = wire_make(p, n);
    m->id = wire_u16be(&w);
    m->flags = wire_u16be(&w);
    m->qdcount = wire_u16be(&w);
    m->ancount = wire_u16be(&w);
    m->nscount = wire_u16be(&w);
    m->arcount = wire_u16be(&w);
    m->response = (m->flags & NBNS_F_RESPONSE) != 0;
    m->opcode = (uint8_t)((m->flags >> 11) & 0x0f);
    m->rcode = (uint8_t)(m->flags & 0x0f);
    if (!wire_ok(&w)) {
        m->status = NBNS_TRUNCATED;
        m->used = n;
        return m->status;
    }

    for (unsigned i = 0; i < m->qdcount && wire_ok(&w); i++) {
        struct nbns_question tmp, *q = m->nq < NBNS_MAX_QUESTIONS ? &m->q[m->nq] : &tmp;
        q->name_status = nbname_decode(&w, true, &q->name);
        q->type = wire_u16be(&w);
        q->qclass = wire_u16be(&w);
        if (q->name_status != NBNAME_OK && q->name_status != NBNAME_TRUNCATED)
            note(m, NBNS_BAD_NAME);
        if (!wire_ok(&w)) {
            note(m, NBNS_TRUNCATED);
            break;
        }
        if (q == &tmp)
            m->q_dropped++;
        else
            m->nq++;
    }

    const uint16_t counts[3] = { m->ancount, m->nscount, m->arcount };
    static const uint8_t sections[3] = { NBNS_ANSWER, NBNS_AUTHORITY, NBNS_ADDITIONAL };
    for (size_t s = 0; s < 3 && wire_ok(&w); s++) {
        uint16_t count = counts[s];
        for (unsigned i = 0; i < count && wire_ok(&w); i++) {
            struct nbns_record tmp, *r = m->nrr < NBNS_MAX_RECORDS ? &m->rr[m->nrr] : &tmp;
            memset(r, 0, sizeof *r);
            r->section = sections[s];
            r->name_status = nbname_decode(&w, true, &r->name);
            r->type = wire_u16be(&w);
            r->rclass = wire_u16be(&w);
            r->ttl = wire_u32be(&w);
            r->rdlength = wire_u16be(&w);
            struct wire rd = wire_sub(&w, r->rdlength);
            if (r->name_status != NBNAME_OK && r->name_status != NBNAME_TRUNCATED)
                note(m, NBNS_BAD_NAME);
            if (!wire_ok(&w)) {
                note(m, NBNS_TRUNCATED);
                break;
            }
            if (r == &tmp) {
                /* a record that does not fit keeps no entries either */
                m->rr_dropped++;
                continue;
            }
            m->nrr++;
            decode_rdata(m, r, rd);
        }
    }
    m->used = w.off;
    return m->status;
}

static const struct {
    uint8_t op;
    const char *name;
} opcodes[] = {
    { NBNS_OP_QUERY, "query" },
    { NBNS_OP_REGISTRATION, "registration" },
    { NBNS_OP_RELEASE, "release" },
    { NBNS_OP_WACK, "wait for acknowledgement" },
    { NBNS_OP_REFRESH, "refresh" },
    { NBNS_OP_REFRESH_ALT, "refresh (alternate opcode)" },
    { NBNS_OP_MULTIHOMED, "multi-homed registration" },
};

const char *nbns_opcode_name(uint8_t opcode)
{
    for (size_t i = 0; i < sizeof opcodes / sizeof opcodes[0]; i++)
        if (opcodes[i].op == opcode)
            return opcodes[i].name;
    return NULL;
}

static const char *const rcodes[] = {
    "ok", "FMT_ERR format error", "SRV_ERR server failure", "NAM_ERR name not found",
    "IMP_ERR unsupported request", "RFS_ERR refused", "ACT_ERR name active elsewhere",
    "CFT_ERR name in conflict",
};

const char *nbns_rcode_name(uint8_t rcode)
{
    return rcode < sizeof rcodes / sizeof rcodes[0] ? rcodes[rcode] : NULL;
}

static const struct {
    uint16_t type;
    const char *name;
} rr_types[] = {
    { NBNS_TYPE_A, "A" },
    { NBNS_TYPE_NS, "NS" },
    { NBNS_TYPE_NULL, "NULL" },
    { NBNS_TYPE_NB, "NB" },
    { NBNS_TYPE_NBSTAT, "NBSTAT" },
};

const char *nbns_type_name(uint16_t type)
{
    for (size_t i = 0; i < sizeof rr_types / sizeof rr_types[0]; i++)
        if (rr_types[i].type == type)
            return rr_types[i].name;
    return NULL;
}

static const char *const status_texts[NBNS_STATUS_COUNT] = {
    [NBNS_OK] = "ok",
    [NBNS_TRUNCATED] = "message truncated",
    [NBNS_BAD_NAME] = "malformed name",
    [NBNS_BAD_RDATA] = "resource data does not fit its type",
};

const char *nbns_status_text(enum nbns_status st)
{
    return (unsigned)st < NBNS_STATUS_COUNT ? status_texts[st] : "unknown";
}
