/* smb_hosts.h - every address seen as a client or server of a closed SMB
 * connection, with what its connections broke, accumulated as they close
 * (so the hosts view is exact whatever was kept for the report's detail):
 * records exactly up to a cap (hosts.h's table: then the number of hosts
 * is an estimate and the connections of the hosts past it are counted). */
#ifndef SMBSCOPE_SMB_HOSTS_H
#define SMBSCOPE_SMB_HOSTS_H

#include <stdbool.h>
#include <stdint.h>

#include "conn_summary.h"
#include "hosts.h"

#define SMB_HOSTS_DEFAULT_CAP 65536u

/* One host's SMB side.  Rules and findings are counted once per connection
 * and bit, as the verdict lists them for a connection of its own. */
struct smb_host {
    uint32_t client_conns, server_conns;
    uint32_t violations;        /* rules broken, summed over its connections */
    uint32_t finding_count;     /* findings it must fix, summed over its connections */
    uint32_t ntlm_sessions;
    uint32_t rules;             /* bits of enum policy_rule */
    uint32_t findings;          /* bits of enum finding_kind */
};

struct smb_hosts;

struct smb_hosts *smb_hosts_new(uint32_t cap); /* 0 = SMB_HOSTS_DEFAULT_CAP */
void smb_hosts_free(struct smb_hosts *h);
void smb_hosts_add(struct smb_hosts *h, const struct conn_summary *cs);
/* A hint that smb_hosts_add() of a connection with end a comes soon
 * (host_table_warm(); ahead 1 also fetches the end's SMB facts). */
void smb_hosts_warm(const struct smb_hosts *h, const struct ip_addr *a, int ahead);

/* --jobs over several inputs (analyzer/merge/jobs.c): admit() is asked,
 * when the table is full, whether an address without a record gets one
 * past the cap (past: records past it; at most two caps more); keep()
 * (NULL: always) before that, whether it may get one at all (else it is
 * counted as past the cap). */
void smb_hosts_admit_past_cap(struct smb_hosts *h, bool (*admit)(void *data, const struct ip_addr *a, uint32_t past,
                                                                   uint32_t cap),
                              bool (*keep)(void *data, const struct ip_addr *a), void *data);
/* Records in first-seen order: the address and first/last connection
 * start in rec, the SMB facts in the returned struct. */
uint32_t smb_hosts_size(const struct smb_hosts *h);
uint32_t smb_hosts_cap(const struct smb_hosts *h);
/* The index (for smb_hosts_at) of address a, or -1 when it has no record. */
int64_t smb_hosts_find(const struct smb_hosts *h, const struct ip_addr *a);
const struct smb_host *smb_hosts_at(const struct smb_hosts *h, uint32_t i, const struct host_rec **rec);
/* Distinct addresses; *estimate when past the cap. */
uint64_t smb_hosts_total(const struct smb_hosts *h, bool *estimate);
/* Connections whose client or server had no record (past the cap). */
uint64_t smb_hosts_unrecorded(const struct smb_hosts *h);

/* smbscope merge: another run's record folded in (counts added, bits
 * united, times widened), and the records put in first-seen order (ties
 * by address) whatever the order the runs were folded in. */
void smb_hosts_fold(struct smb_hosts *h, const struct host_rec *rec, const struct smb_host *x);
void smb_hosts_fold_unrecorded(struct smb_hosts *h, uint64_t n);
/* A recorded host seen at ts too (first/last seen widened); else nothing. */
void smb_hosts_seen(struct smb_hosts *h, const struct ip_addr *a, int64_t ts);
void smb_hosts_sort(struct smb_hosts *h);
/* Every address the table was given (an estimator: distinct.h), and the
 * union with another run's registers (the total estimated from then on). */
const struct distinct *smb_hosts_addresses(const struct smb_hosts *h);
void smb_hosts_fold_estimate(struct smb_hosts *h, const uint8_t *regs);
/* A table with the same records (same cap). */
struct smb_hosts *smb_hosts_copy(const struct smb_hosts *h);

#endif
