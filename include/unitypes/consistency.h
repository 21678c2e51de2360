/* SPDX-License-Identifier: MIT */
/**
 * @file unitypes/consistency.h
 * @brief Quorum arithmetic for consistency levels.
 *
 * For N replicas, a read waits for R answers and a write for W
 * acknowledgements. One, quorum and all follow Cassandra (quorum =
 * floor(N/2) + 1). Read and write quorums intersect when R + W > N (Gifford,
 * "Weighted Voting for Replicated Data", SOSP 1979; Dynamo, DeCandia et al.
 * SOSP 2007, §4.5), which strong consistency needs; linearizability further
 * needs majorities on both sides, as a consensus protocol or ABD's read
 * write-back uses them (Attiya, Bar-Noy, Dolev, JACM 1995). Eventual and
 * causal consistency are served by any counts (causal by the clocks of
 * unitypes/clock.h, not by counting).
 */
#ifndef UNITYPES_CONSISTENCY_H
#define UNITYPES_CONSISTENCY_H

#include "unitypes/common.h"
#include "unitypes/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Read and write acknowledgement counts that give @p level on
 * @p n replicas: one: 1/1; quorum, strong, linearizable: majority/majority;
 * all: N/N; eventual, causal: 1/1.
 * @param[in]  level The consistency level.
 * @param[in]  n     Replica count, 1 or more.
 * @param[out] r     Receives R.
 * @param[out] w     Receives W.
 * @retval UT_OK     Computed.
 * @retval UT_EINVAL A pointer is NULL, @p n is 0 or @p level is not a level.
 * @since 0.2.0
 */
UT_API int ut_consistency_counts(ut_consistency_t level, uint32_t n, uint32_t *r, uint32_t *w);

/**
 * @brief Whether (R, W, N) gives @p level.
 * @param[in] level The requested level.
 * @param[in] r     Read acknowledgements waited for.
 * @param[in] w     Write acknowledgements waited for.
 * @param[in] n     Replicas.
 * @retval UT_OK     It does.
 * @retval UT_EINVAL It does not, or the counts are impossible (0, or above
 *                   @p n), or @p level is not a level; ut_consistency_why()
 *                   says which.
 * @since 0.2.0
 */
UT_API int ut_consistency_check(ut_consistency_t level, uint32_t r, uint32_t w, uint32_t n);

/**
 * @brief The reason ut_consistency_check() gives for (R, W, N).
 * @param[in] level The requested level.
 * @param[in] r     Read acknowledgements.
 * @param[in] w     Write acknowledgements.
 * @param[in] n     Replicas.
 * @return A static string: "ok", or "strong: R + W <= N, a read may miss the
 *         last write" and the like; never NULL.
 * @since 0.2.0
 */
UT_API const char *ut_consistency_why(ut_consistency_t level, uint32_t r, uint32_t w, uint32_t n);

#ifdef __cplusplus
}
#endif

#endif /* UNITYPES_CONSISTENCY_H */
