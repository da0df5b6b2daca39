/* hash_mix.h - the bijective 64-bit mixers the hash tables finish with.
 *
 * The tables whose keys come from hostile input (a capture's addresses and
 * ports, a report's rows) hash them keyed by the process's random number
 * (distinct_process_key()), most as a multiply-shift sum: the top half of
 * m0 + sum(m_i * x_i) mod 2^64 with random m_i.  That family is universal
 * (two given keys collide with probability about 2^-31), but universality
 * says nothing about runs: the home slots of keys in arithmetic
 * progression -- consecutive ports and addresses, which captures are full
 * of -- are a Weyl sequence, and for some multipliers those bunch into a
 * few runs that linear probing then walks.  4,000 such keys in 8,192 slots
 * made a longest probe of 2,532 for about one key in 400, tens otherwise
 * (tests/unit/test_conn_groups.c).  Finishing the sum with a bijection that
 * is not linear breaks the progression up and keeps every collision-free
 * pair of sums collision-free. */
#ifndef SMBSCOPE_HASH_MIX_H
#define SMBSCOPE_HASH_MIX_H

#include <stdint.h>

/* One xorshift-multiply-xorshift round (MurmurHash3's finaliser's first
 * half): enough where every word already went through it (quic_paths.c). */
static inline uint64_t hash_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    return x;
}

/* The whole finaliser: every output bit depends on every input bit.  For
 * a multiply-shift sum before it picks a slot. */
static inline uint64_t hash_spread(uint64_t x)
{
    x = hash_mix64(x);
    x *= UINT64_C(0xc4ceb9fe1a85ec53);
    x ^= x >> 33;
    return x;
}

/* hash_spread(x) >> 32 for a table's every packet: one round, not two.
 * Only the top half is kept, which the last xorshift of a round does not
 * touch; the round's multiplication makes each of those bits depend on
 * every bit of x ^ x >> 33, itself a bijection of x that is not linear
 * (carries): progressions of x break up as under the whole finaliser
 * (tests/unit/test_flow.c /flow/index_progressions), with a
 * multiplication and two xorshifts fewer on the critical path of a flow
 * look-up (a slot's address waits for them). */
static inline uint32_t hash_top32(uint64_t x)
{
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    return (uint32_t)(x >> 32);
}

#endif
