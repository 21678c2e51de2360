/* SPDX-License-Identifier: MIT */
/* Majority arithmetic of the Raft core, as pure functions over the voters'
 * values (etcd-io/raft's quorum/ package is the model): the commit index a
 * majority stores, the outcome of a vote tally, and whether a majority is
 * active. The joint variants are for joint consensus (thesis §4.3: during a
 * configuration change, a decision needs a majority of the old and of the
 * new configuration).
 *
 * An empty configuration (n == 0) places no constraint: its commit index is
 * UINT64_MAX, its vote is won and it is active, so that a joint result with
 * an empty second half is the result of the first. */
#ifndef UT_CONSENSUS_QUORUM_H
#define UT_CONSENSUS_QUORUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One voter's answers in the current (pre-)vote round, as bits: a voter
 * whose (duplicated, re-answered) responses disagree has both bits and is
 * counted on both sides, as the Raft core always counted it. */
enum {
    UT__CONSENSUS_VOTE_PENDING = 0,
    UT__CONSENSUS_VOTE_GRANTED = 1,
    UT__CONSENSUS_VOTE_REJECTED = 2,
};

typedef enum ut__consensus_vote_result {
    UT__CONSENSUS_VOTE_UNDECIDED = 0, /* neither side has a majority yet */
    UT__CONSENSUS_VOTE_WON,
    UT__CONSENSUS_VOTE_LOST,
} ut__consensus_vote_result_t;

/* Voters needed for a majority of n (§5.2). */
static inline size_t ut__consensus_quorum_size(size_t n)
{
    return n / 2 + 1;
}

/* The q-th largest of the n values in v (1 <= q <= n), reordering v:
 * quickselect, O(n) expected. */
uint64_t ut__consensus_quorum_select(uint64_t *v, size_t n, size_t q);

/* The general case of ut__consensus_quorum_commit (any n), out of line:
 * its copy of the matches needs a stack frame the common sizes should not
 * pay for (quorum.c). */
uint64_t ut__consensus_quorum_commit_any(const uint64_t *match, size_t n, uint64_t floor);

/* §5.3, §5.4.2: the highest index stored on a majority of the n voters
 * (match[i] is voter i's match index), or floor if that is higher. That
 * index is the q-th largest match, q = a majority: q voters hold it or more,
 * and no higher value is held by q. UINT64_MAX for n == 0. Three voters (the
 * common cluster) take the median of three, a few compares; one voter its
 * own match; larger clusters a selection over a copy, O(n), out of line
 * (ut__consensus_quorum_commit_any). Inline: it runs on every
 * acknowledgement that can move the commit index. */
static inline uint64_t ut__consensus_quorum_commit(const uint64_t *match, size_t n, uint64_t floor)
{
    uint64_t m;
    if (n == 3) {
        uint64_t a = match[0], b = match[1], c = match[2];
        uint64_t lo = a < b ? a : b, hi = a < b ? b : a;
        m = c < lo ? lo : (c > hi ? hi : c); /* median */
    } else if (n == 1) {
        m = match[0];
    } else {
        return ut__consensus_quorum_commit_any(match, n, floor);
    }
    return m > floor ? m : floor;
}

uint64_t ut__consensus_quorum_commit_joint(const uint64_t *a, size_t na, const uint64_t *b,
                                           size_t nb, uint64_t floor);

/* §5.2: votes[i] is voter i's UT__CONSENSUS_VOTE_* bits. Won with a majority of
 * grants; lost once a majority rejected (a conservative rule, kept as the
 * core has always had it: etcd concedes as soon as a majority can no longer
 * be reached, which differs from four voters up); else undecided. A won
 * tally is reported even if a majority also rejected (impossible for a
 * consistent tally). */
ut__consensus_vote_result_t ut__consensus_quorum_vote(const uint8_t *votes, size_t n);
/* Won when both halves are won, lost when either is lost. */
ut__consensus_vote_result_t ut__consensus_quorum_vote_joint(const uint8_t *a, size_t na,
                                                            const uint8_t *b, size_t nb);

/* Thesis §6.2 (check-quorum): true when a majority of the n voters is
 * active (active[i] for voter i). */
bool ut__consensus_quorum_active(const bool *active, size_t n);
bool ut__consensus_quorum_active_joint(const bool *a, size_t na, const bool *b, size_t nb);

#endif
