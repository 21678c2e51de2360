/* SPDX-License-Identifier: MIT */
#include "consensus/quorum.h"

uint64_t ut__consensus_quorum_select(uint64_t *v, size_t n, size_t q)
{
    /* Hoare-style partition around the middle value, descending: after each
     * round the q-th largest is known to lie in [lo, hi]. */
    size_t lo = 0, hi = n - 1, want = q - 1;
    while (lo < hi) {
        uint64_t pivot = v[lo + (hi - lo) / 2];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] > pivot)
                i++;
            while (v[j] < pivot)
                j--;
            if (i <= j) {
                uint64_t t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (want <= j)
            hi = j;
        else if (want >= i)
            lo = i;
        else
            return v[want];
    }
    return v[want];
}

uint64_t ut__consensus_quorum_commit_any(const uint64_t *match, size_t n, uint64_t floor)
{
    if (n == 0)
        return UINT64_MAX;
    uint64_t v[64]; /* UT_CONSENSUS_MAX_NODES */
    size_t k = n < 64 ? n : 64;
    for (size_t i = 0; i < k; i++)
        v[i] = match[i];
    uint64_t m = ut__consensus_quorum_select(v, k, ut__consensus_quorum_size(n));
    return m > floor ? m : floor;
}

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
