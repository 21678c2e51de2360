/* SPDX-License-Identifier: MIT */
/* The fast path of ut_vclock_compare (src/replica/clock.c): two clocks of
 * n entries each, compared without a branch per entry. a and b are the e
 * arrays of two ut_vclock_t (UT_VCLOCK_MAX entries each: the vector
 * versions may read whole entries beyond n, never beyond the array, and
 * ignore them). Each version returns the ut_clock_order_t of a and b when
 * it has proved both clocks well formed (clock.h: nodes non-zero and
 * strictly ascending, counters non-zero) and their nodes equal pairwise,
 * and -1 otherwise; -1 is never wrong, only slower (the exact walk
 * decides, and refuses what is malformed). Scalar, SSE2 and AVX2 also
 * decline values they cannot compare exactly with signed or top-bit
 * arithmetic (the scalar and SSE2 ones a's values from 2^63, the AVX2 one
 * every value from 2^63); AVX-512 compares unsigned and declines only what
 * is malformed or names other nodes. Private: exposed for the white-box
 * test (tests/test_replica_vclock.c), which holds every version compiled
 * here, and the walk, to one oracle. */
#ifndef UT_REPLICA_VCLOCK_FAST_H
#define UT_REPLICA_VCLOCK_FAST_H

#include <stdbool.h>
#include <stdint.h>

#include "unitypes/clock.h"

/* x86 with GCC or Clang: the SSE2 version (x86-64's baseline), the AVX2
 * one and the AVX-512F one, chosen at each call by __builtin_cpu_supports
 * (the best the CPU and OS run). Elsewhere: scalar. */
#if (defined(__x86_64__) || defined(__i386__)) && defined(__SSE2__) &&                             \
    (defined(__GNUC__) || defined(__clang__))
#    define UT__VC_X86 1
#else
#    define UT__VC_X86 0
#endif

int ut__replica_vc_same_scalar(const ut_vclock_entry_t *a, const ut_vclock_entry_t *b, uint32_t n);
#if UT__VC_X86
int ut__replica_vc_same_sse2(const ut_vclock_entry_t *a, const ut_vclock_entry_t *b, uint32_t n);
int ut__replica_vc_same_avx2(const ut_vclock_entry_t *a, const ut_vclock_entry_t *b, uint32_t n);
int ut__replica_vc_same_avx512(const ut_vclock_entry_t *a, const ut_vclock_entry_t *b, uint32_t n);
/* Whether this CPU (and OS) runs the AVX2 version. */
bool ut__replica_vc_have_avx2(void);
/* Whether this CPU (and OS) runs the AVX-512F version. */
bool ut__replica_vc_have_avx512(void);
#endif

/* The exact walk ut_vclock_compare falls back to: any two clocks (a, b not
 * NULL), malformed ones refused with UT_EINVAL; UT_OK and *out otherwise. */
int ut__replica_vc_walk(const ut_vclock_t *a, const ut_vclock_t *b, ut_clock_order_t *out);

#endif
