/* mstate_dns_keys.h - the DNS names past the state's MSTATE_DNS_KEYS_CAP,
 * carried (census.dns_keys_more).
 *
 * A run keeps up to CENSUS_MAX_DNS_KEYS names seen in DNS, LLMNR and mDNS
 * (the NetBIOS key of each: its first label, upper case, at most 15
 * printable ASCII characters) and finds netbios-only-name for an NBNS
 * query of a name none of them carried.  The state lists the first 4,096
 * by name; the rest were folded (counted in dns_keys_folded, added to the
 * keys dropped), so a merge found netbios-only-name for names the run had
 * seen in DNS.  They now follow in one zlib stream, in name order, each
 * as a length byte and its characters; dns_keys_folded still counts them:
 * a reader that does not know dns_keys_more folds the state as before,
 * one that does takes them back out. */
#ifndef SMBSCOPE_MSTATE_DNS_KEYS_H
#define SMBSCOPE_MSTATE_DNS_KEYS_H

#include <stdint.h>

#include <glib.h>

#include "census.h"
#include "jget.h"
#include "json.h"

/* census.dns_keys_more: keys[from..] (sorted by strcmp), when any. */
void mstate_put_dns_keys_more(struct json *b, const GPtrArray *keys, guint from);

/* census.dns_keys_more of o (the census object at cp), when there, into
 * c; the keys it carried returned (0 without it).  Refused past
 * CENSUS_MAX_DNS_KEYS - MSTATE_DNS_KEYS_CAP keys, a key that is not 1-15
 * printable ASCII characters without a dot, keys out of order. */
uint64_t mstate_fold_dns_keys_more(struct jget *g, const struct jpath *cp, struct census *c, JsonObject *o);

#endif
