/* SPDX-License-Identifier: MIT */
/* Per-phase attribution of R1's library cost, without changing bench_raft.c.
 *
 * bench_raft_phases is bench_raft.c compiled with `-include r1_phases.h`:
 * after <unitypes.h>, the Raft calls the harness makes are redirected to
 * noinline functions named r1ph_<role>_<call>, each of which makes exactly
 * that one library call. <role> is "leader" for the handle the harness first
 * proposes on (node 1, elected before the timed region) and "follower" for
 * the others; ut_consensus_ready_empty() takes the role of the last
 * ut_consensus_ready(). Under callgrind, a wrapper's inclusive cost minus its
 * own few instructions is the library's cost in that phase (bench/run_r1.sh).
 * The library code is the same archive as bench_raft's, so the phases add up
 * to bench_raft's library-only figure; calls not wrapped here (e.g. an API
 * added later) show up in run_r1.sh as "other".
 *
 * The wrappers also count their calls from the first proposal on (the timed
 * region: the untimed election comes before it); the counts are printed to
 * stderr at exit.
 */
#ifndef UT_BENCH_R1_PHASES_H
#define UT_BENCH_R1_PHASES_H

/* Force-included ahead of bench_raft.c's own first line: the same feature
 * macro it defines (clock_gettime), before any system header. */
#ifndef _POSIX_C_SOURCE
#    define _POSIX_C_SOURCE 200809L
#endif

#include <stdio.h>
#include <stdlib.h>

#include <unitypes.h>

#define R1PH_NOINLINE __attribute__((noinline))

enum {
    R1PH_PROPOSE,
    R1PH_L_STEP,
    R1PH_L_HAS_READY,
    R1PH_L_READY,
    R1PH_L_ADVANCE,
    R1PH_L_READY_EMPTY,
    R1PH_L_TICK,
    R1PH_F_STEP,
    R1PH_F_HAS_READY,
    R1PH_F_READY,
    R1PH_F_ADVANCE,
    R1PH_F_READY_EMPTY,
    R1PH_F_TICK,
    R1PH_N
};

static const char *const r1ph_names[R1PH_N] = {
    "propose",        "leader_step",      "leader_has_ready",
    "leader_ready",   "leader_advance",   "leader_ready_empty",
    "leader_tick",    "follower_step",    "follower_has_ready",
    "follower_ready", "follower_advance", "follower_ready_empty",
    "follower_tick",
};

static const ut_consensus_t *r1ph_leader; /* set by the first proposal */
static int r1ph_last_leader;              /* role of the last ready() */
static unsigned long long r1ph_calls[R1PH_N];

static void r1ph_report(void)
{
    fprintf(stderr, "r1_phases calls:");
    for (int i = 0; i < R1PH_N; i++)
        fprintf(stderr, " %s=%llu", r1ph_names[i], r1ph_calls[i]);
    fprintf(stderr, "\n");
}

static void r1ph_count(int k)
{
    if (r1ph_leader != NULL)
        r1ph_calls[k]++;
}

R1PH_NOINLINE int r1ph_propose(ut_consensus_t *h, const void *data, size_t len, uint64_t *idx);
R1PH_NOINLINE int r1ph_leader_step(ut_consensus_t *h, const ut_msg_t *m);
R1PH_NOINLINE int r1ph_follower_step(ut_consensus_t *h, const ut_msg_t *m);
R1PH_NOINLINE bool r1ph_leader_has_ready(const ut_consensus_t *h);
R1PH_NOINLINE bool r1ph_follower_has_ready(const ut_consensus_t *h);
R1PH_NOINLINE int r1ph_leader_ready(ut_consensus_t *h, ut_consensus_ready_t *rd);
R1PH_NOINLINE int r1ph_follower_ready(ut_consensus_t *h, ut_consensus_ready_t *rd);
R1PH_NOINLINE int r1ph_leader_advance(ut_consensus_t *h, const ut_consensus_ready_t *rd);
R1PH_NOINLINE int r1ph_follower_advance(ut_consensus_t *h, const ut_consensus_ready_t *rd);
R1PH_NOINLINE bool r1ph_leader_ready_empty(const ut_consensus_ready_t *rd);
R1PH_NOINLINE bool r1ph_follower_ready_empty(const ut_consensus_ready_t *rd);
R1PH_NOINLINE int r1ph_leader_tick(ut_consensus_t *h, uint64_t now);
R1PH_NOINLINE int r1ph_follower_tick(ut_consensus_t *h, uint64_t now);

R1PH_NOINLINE int r1ph_propose(ut_consensus_t *h, const void *data, size_t len, uint64_t *idx)
{
    if (r1ph_leader == NULL) {
        r1ph_leader = h;
        atexit(r1ph_report);
    }
    r1ph_count(R1PH_PROPOSE);
    return ut_consensus_propose(h, data, len, idx);
}

#define R1PH_WRAP(ret, name, k, call, ...)                                                         \
    R1PH_NOINLINE ret name(__VA_ARGS__)                                                            \
    {                                                                                              \
        r1ph_count(k);                                                                             \
        return call;                                                                               \
    }

R1PH_WRAP(int, r1ph_leader_step, R1PH_L_STEP, ut_consensus_step(h, m), ut_consensus_t *h,
          const ut_msg_t *m)
R1PH_WRAP(int, r1ph_follower_step, R1PH_F_STEP, ut_consensus_step(h, m), ut_consensus_t *h,
          const ut_msg_t *m)
R1PH_WRAP(bool, r1ph_leader_has_ready, R1PH_L_HAS_READY, ut_consensus_has_ready(h),
          const ut_consensus_t *h)
R1PH_WRAP(bool, r1ph_follower_has_ready, R1PH_F_HAS_READY, ut_consensus_has_ready(h),
          const ut_consensus_t *h)
R1PH_WRAP(int, r1ph_leader_ready, R1PH_L_READY, ut_consensus_ready(h, rd), ut_consensus_t *h,
          ut_consensus_ready_t *rd)
R1PH_WRAP(int, r1ph_follower_ready, R1PH_F_READY, ut_consensus_ready(h, rd), ut_consensus_t *h,
          ut_consensus_ready_t *rd)
R1PH_WRAP(int, r1ph_leader_advance, R1PH_L_ADVANCE, ut_consensus_advance(h, rd), ut_consensus_t *h,
          const ut_consensus_ready_t *rd)
R1PH_WRAP(int, r1ph_follower_advance, R1PH_F_ADVANCE, ut_consensus_advance(h, rd),
          ut_consensus_t *h, const ut_consensus_ready_t *rd)
R1PH_WRAP(bool, r1ph_leader_ready_empty, R1PH_L_READY_EMPTY, ut_consensus_ready_empty(rd),
          const ut_consensus_ready_t *rd)
R1PH_WRAP(bool, r1ph_follower_ready_empty, R1PH_F_READY_EMPTY, ut_consensus_ready_empty(rd),
          const ut_consensus_ready_t *rd)
R1PH_WRAP(int, r1ph_leader_tick, R1PH_L_TICK, ut_consensus_tick(h, now), ut_consensus_t *h,
          uint64_t now)
R1PH_WRAP(int, r1ph_follower_tick, R1PH_F_TICK, ut_consensus_tick(h, now), ut_consensus_t *h,
          uint64_t now)

#undef R1PH_WRAP

static inline int r1ph_is_leader(const ut_consensus_t *h)
{
    return h != NULL && h == r1ph_leader;
}

static inline int r1ph_ready(ut_consensus_t *h, ut_consensus_ready_t *rd)
{
    r1ph_last_leader = r1ph_is_leader(h);
    return r1ph_last_leader ? r1ph_leader_ready(h, rd) : r1ph_follower_ready(h, rd);
}

/* From here on, bench_raft.c's calls go through the wrappers. */
#define ut_consensus_propose(h, d, l, i) r1ph_propose((h), (d), (l), (i))
#define ut_consensus_step(h, m)                                                                    \
    (r1ph_is_leader(h) ? r1ph_leader_step((h), (m)) : r1ph_follower_step((h), (m)))
#define ut_consensus_has_ready(h)                                                                  \
    (r1ph_is_leader(h) ? r1ph_leader_has_ready(h) : r1ph_follower_has_ready(h))
#define ut_consensus_ready(h, rd) r1ph_ready((h), (rd))
#define ut_consensus_advance(h, rd)                                                                \
    (r1ph_is_leader(h) ? r1ph_leader_advance((h), (rd)) : r1ph_follower_advance((h), (rd)))
#define ut_consensus_ready_empty(rd)                                                               \
    (r1ph_last_leader ? r1ph_leader_ready_empty(rd) : r1ph_follower_ready_empty(rd))
#define ut_consensus_tick(h, now)                                                                  \
    (r1ph_is_leader(h) ? r1ph_leader_tick((h), (now)) : r1ph_follower_tick((h), (now)))

#endif /* UT_BENCH_R1_PHASES_H */
