/* SPDX-License-Identifier: MIT */
#include "consensus/quorum.h"

uint64_t ut__consensus_quorum_commit_joint(const uint64_t *a, size_t na, const uint64_t *b,
                                           size_t nb, uint64_t floor)
{
    uint64_t x = ut__consensus_quorum_commit(a, na, floor);
    uint64_t y = ut__consensus_quorum_commit(b, nb, floor);
    return x < y ? x : y;
}

ut__consensus_vote_result_t ut__consensus_quorum_vote(const uint8_t *votes, size_t n)
{
    if (n == 0)
        return UT__CONSENSUS_VOTE_WON;
    size_t granted = 0, rejected = 0;
    for (size_t i = 0; i < n; i++) {
        granted += (votes[i] & UT__CONSENSUS_VOTE_GRANTED) != 0;
        rejected += (votes[i] & UT__CONSENSUS_VOTE_REJECTED) != 0;
    }
    size_t q = ut__consensus_quorum_size(n);
    if (granted >= q)
        return UT__CONSENSUS_VOTE_WON;
    if (rejected >= q)
        return UT__CONSENSUS_VOTE_LOST;
    return UT__CONSENSUS_VOTE_UNDECIDED;
}

ut__consensus_vote_result_t ut__consensus_quorum_vote_joint(const uint8_t *a, size_t na,
                                                            const uint8_t *b, size_t nb)
{
    ut__consensus_vote_result_t x = ut__consensus_quorum_vote(a, na);
    ut__consensus_vote_result_t y = ut__consensus_quorum_vote(b, nb);
    if (x == UT__CONSENSUS_VOTE_LOST || y == UT__CONSENSUS_VOTE_LOST)
        return UT__CONSENSUS_VOTE_LOST;
    if (x == UT__CONSENSUS_VOTE_WON && y == UT__CONSENSUS_VOTE_WON)
        return UT__CONSENSUS_VOTE_WON;
    return UT__CONSENSUS_VOTE_UNDECIDED;
}

bool ut__consensus_quorum_active(const bool *active, size_t n)
{
    if (n == 0)
        return true;
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += active[i];
#ifdef UT__FAULT_CHECK_QUORUM_OFF_BY_ONE
    /* Test-only broken variant: check-quorum keeps a leader one voter short
     * of a majority. */
    return count + 1 >= ut__consensus_quorum_size(n);
#else
    return count >= ut__consensus_quorum_size(n);
#endif
}

bool ut__consensus_quorum_active_joint(const bool *a, size_t na, const bool *b, size_t nb)
{
    return ut__consensus_quorum_active(a, na) && ut__consensus_quorum_active(b, nb);
}
