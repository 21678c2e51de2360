/* SPDX-License-Identifier: MIT */
/* The fast path of ut_vclock_compare (src/replica/clock.c): two clocks of
 * n entries each, compared without a branch per entry. Each version
 * returns the ut_clock_order_t of a and b when it has proved both clocks
 * well formed (nodes ascending and in [1, 2^63), counters in [1, 2^63])
 * and their nodes equal pairwise, and -1 otherwise; -1 is never wrong,
 * only slower (the exact walk decides). Private: exposed for the white-box
 * test (tests/test_replica_vclock.c), which holds every version compiled
 * here to one oracle. */
#ifndef UT_REPLICA_VCLOCK_FAST_H
#define UT_REPLICA_VCLOCK_FAST_H

#include <stdbool.h>
#include <stdint.h>

#include "unitypes/clock.h"

/* x86 with GCC or Clang: the SSE2 version (x86-64's baseline) and the AVX2
 * one, chosen at each call by __builtin_cpu_supports. Elsewhere: scalar. */
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
/* Whether this CPU (and OS) runs the AVX2 version. */
bool ut__replica_vc_have_avx2(void);
#endif

#endif
