/* SPDX-License-Identifier: MIT */
/* Quorum arithmetic; the rules and their sources are in
 * include/unitypes/consistency.h. */
#include "internal.h"

#include "unitypes/consistency.h"

int ut_consistency_counts(ut_consistency_t level, uint32_t n, uint32_t *r, uint32_t *w)
{
    if (r == NULL || w == NULL || n == 0)
        return UT_EINVAL;
    uint32_t q = n / 2 + 1; /* Cassandra's QUORUM */
    switch (level) {
    case UT_CONSISTENCY_ONE:
    case UT_CONSISTENCY_EVENTUAL:
    case UT_CONSISTENCY_CAUSAL:
        *r = 1;
        *w = 1;
        return UT_OK;
    case UT_CONSISTENCY_QUORUM:
    case UT_CONSISTENCY_STRONG:
    case UT_CONSISTENCY_LINEARIZABLE:
        *r = q;
        *w = q;
        return UT_OK;
    case UT_CONSISTENCY_ALL:
        *r = n;
        *w = n;
        return UT_OK;
    }
    return UT_EINVAL;
}

const char *ut_consistency_why(ut_consistency_t level, uint32_t r, uint32_t w, uint32_t n)
{
    if (n == 0)
        return "no replicas (N = 0)";
    if (r == 0 || w == 0)
        return "R and W must be at least 1";
    if (r > n || w > n)
        return "R or W exceeds N";
    uint32_t q = n / 2 + 1;
    switch (level) {
    case UT_CONSISTENCY_ONE:
    case UT_CONSISTENCY_EVENTUAL:
    case UT_CONSISTENCY_CAUSAL:
        return "ok";
    case UT_CONSISTENCY_QUORUM:
        return r >= q && w >= q ? "ok" : "quorum: R and W must each be at least floor(N/2) + 1";
    case UT_CONSISTENCY_ALL:
        return r == n && w == n ? "ok" : "all: R and W must both be N";
    case UT_CONSISTENCY_STRONG:
        /* Gifford 1979: read and write quorums intersect, and two write
         * quorums intersect so writes are ordered. */
        if (r + w <= n)
            return "strong: R + W <= N, a read may miss the last write";
        if (2 * w <= n)
            return "strong: W <= N/2, two writes may not see each other";
        return "ok";
    case UT_CONSISTENCY_LINEARIZABLE:
        if (r + w <= n)
            return "linearizable: R + W <= N, a read may miss the last write";
        /* ABD (Attiya, Bar-Noy, Dolev 1995) and Raft both need majorities;
         * a read quorum below a majority cannot write back. */
        if (r < q || w < q)
            return "linearizable: R and W must be majorities (consensus or ABD read write-back)";
        return "ok";
    }
    return "not a consistency level";
}

int ut_consistency_check(ut_consistency_t level, uint32_t r, uint32_t w, uint32_t n)
{
    const char *why = ut_consistency_why(level, r, w, n);
    return why[0] == 'o' && why[1] == 'k' && why[2] == '\0' ? UT_OK : UT_EINVAL;
}
