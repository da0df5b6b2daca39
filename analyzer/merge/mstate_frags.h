/* mstate_frags.h - IP datagrams whose fragments a cut divides, carried in
 * the merge state and put together by merge (issue 13, F7).
 *
 * A capture cut between the fragments of one datagram (editcap -c, -i)
 * leaves its first pieces open at the end of one part and the rest at the
 * start of the next: each part counts an incomplete datagram
 * (fragment_datagrams_lost) and the datagram (an NBDS browser datagram, an
 * NBNS message) is lost, where the run over both parts reassembled it.  So
 * a run's state lists the datagrams its reassembly held incomplete
 * (ipfrag.h): those open at its end and those it dropped incomplete that
 * began within the reassembly timeout of its first fragment (only they
 * can be the rest of a datagram begun before the capture did):
 *
 *   "ip_frags": {"datagrams": [[src, dst, id, key_proto, fate, first_ts,
 *                last_ts, last_caplen, last_wirelen, proto, total,
 *                [[offset, "BASE64"], ...]], ...], "not_carried": n}
 *
 * fate 0 open at the end, 1 timed out, 2 evicted (the counter the run
 * counted it in); proto the offset-0 fragment's protocol and total the
 * datagram's fragmentable length, -1 when that fragment (the last) was not
 * seen; the runs of bytes held, in units of 8 octets (RFC 791 / 8200),
 * increasing.  At most MSTATE_FRAGS_CAP datagrams and MSTATE_FRAGS_BYTES of
 * their bytes; the rest are not carried (not_carried) and stay lost, as
 * before.  Written only when there is one: a capture without fragments
 * cut at its edges writes nothing more.
 *
 * merge walks each datagram's records in the order the run over the parts
 * reads them: one open at its part's end takes the next part's pieces of
 * the same datagram (IPv4: source, destination, protocol, id; IPv6:
 * source, destination, id) when they all came within the reassembly
 * timeout of its first fragment (the run over both would have held it so
 * long, and no longer).  Put together whole (first copy of each byte
 * wins, as ipfrag.c), the datagram is decoded as packet_decode() decodes it
 * (ipfrag_decode()) in the frame of its last fragment and counted as the
 * run counts a packet (the NetBIOS ledger, the census, UDP datagrams), and
 * the two losses are taken back; joined but still incomplete, one loss is.
 *
 * A datagram carrying TCP is put into its connection when the parts'
 * edges are joined, or labelled (mstate_frags_tcp.h); an IPv6 datagram
 * whose fragmentable part begins with other extension headers is decoded
 * past them as the run decodes it.
 *
 * Not joined (left as the parts counted them, each a loss): a datagram
 * carrying RoCEv2, pieces some of which came past the timeout, datagrams
 * past the caps above or past a run's IPFRAG_HEADS_MAX.  An older smbscope ignores the member: its
 * merge counts both losses, as before. */
#ifndef SMBSCOPE_MSTATE_FRAGS_H
#define SMBSCOPE_MSTATE_FRAGS_H

#include <json-glib/json-glib.h>

#include "analysis.h"
#include "jget.h"
#include "json.h"

#define MSTATE_FRAGS_CAP 64u
#define MSTATE_FRAGS_BYTES (256u * 1024u)

/* state.ip_frags of a run (its reassembly table) or of a merge written
 * folded (what it did not join); nothing when there is none. */
void mstate_put_frags(struct json *b, const struct analysis *a);

/* state.ip_frags of st, when there, kept for mstate_frags_join(); the
 * state's inputs are a->inputs[in_lo..] (folded just before). */
void mstate_fold_frags(struct jget *g, const struct jpath *p, struct analysis *a, JsonObject *st, guint in_lo);

/* After every report is folded: the datagrams the parts divided put
 * together, decoded and counted as the run over them would. */
void mstate_frags_join(struct analysis *a);

/* --jobs: a thread's analysis src folded into dst: its datagrams carried
 * (dst's state writes them with its own). */
void mstate_frags_fold_mem(struct analysis *dst, const struct analysis *src, guint in_lo, bool own_run);

void mstate_frags_free(struct analysis *a);

#endif
