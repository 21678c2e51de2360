/* SPDX-License-Identifier: MIT */
/**
 * @file unitypes/clock.h
 * @brief Logical clocks: vector clocks, dotted version vectors and a hybrid
 * logical clock.
 *
 * All three are plain caller-allocated structs with no allocation and no
 * clock reads: the caller passes physical time in. Sources: Lamport,
 * "Time, Clocks, and the Ordering of Events in a Distributed System" (CACM
 * 1978); vector clocks: Fidge (1988) and Mattern (1989); dotted version
 * vectors: Preguiça, Baquero, Almeida, Fonte, Gonçalves (2010) and the
 * DVVSet of Almeida et al., "Scalable and Accurate Causality Tracking for
 * Eventually Consistent Stores" (DAIS 2014); hybrid logical clocks:
 * Kulkarni, Demirbas et al., "Logical Physical Clocks" (OPODIS 2014).
 *
 * A vector clock holds at most #UT_VCLOCK_MAX entries sorted by node id; a
 * struct that is not in that form (filled by hand, or garbage) is refused
 * with UT_EINVAL and never read out of bounds.
 */
#ifndef UNITYPES_CLOCK_H
#define UNITYPES_CLOCK_H

#include "unitypes/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Most entries a vector clock holds. @since 0.2.0 */
#define UT_VCLOCK_MAX 64
/** @brief Most siblings a dotted version vector set keeps. @since 0.2.0 */
#define UT_DVV_MAX_SIBLINGS 16
/** @brief Largest physical part of an HLC timestamp (48 bits of ms). @since 0.2.0 */
#define UT_HLC_PHYSICAL_MAX ((UINT64_C(1) << 48) - 1)
/** @brief Largest logical part of an HLC timestamp (16 bits). @since 0.2.0 */
#define UT_HLC_LOGICAL_MAX 0xffffu

/** @brief Causal order of two clocks. @since 0.2.0 */
typedef enum ut_clock_order {
    UT_CLOCK_EQUAL = 0,     /**< Same history. */
    UT_CLOCK_BEFORE = 1,    /**< The first happened before the second. */
    UT_CLOCK_AFTER = 2,     /**< The second happened before the first. */
    UT_CLOCK_CONCURRENT = 3 /**< Neither: concurrent updates. */
} ut_clock_order_t;

/** @brief One vector clock entry: a node and its event counter. @since 0.2.0 */
typedef struct ut_vclock_entry {
    uint64_t node;    /**< Node id, never 0. */
    uint64_t counter; /**< Events seen from @c node, never 0 in a stored entry. */
} ut_vclock_entry_t;

/**
 * @brief A vector clock (Fidge 1988, Mattern 1989); absent nodes count 0.
 * Fill it only through the functions below.
 * @since 0.2.0
 */
typedef struct ut_vclock {
    uint32_t n;                         /**< Entries in use. */
    uint32_t reserved_;                 /**< Zero. */
    ut_vclock_entry_t e[UT_VCLOCK_MAX]; /**< Sorted by node, ascending. */
} ut_vclock_t;

/** @brief A dot: one event, (node, counter). @since 0.2.0 */
typedef struct ut_dot {
    uint64_t node;    /**< Coordinator that created the version. */
    uint64_t counter; /**< Its counter for that event. */
} ut_dot_t;

/** @brief A sibling: a concurrent value of a key and its dot. @since 0.2.0 */
typedef struct ut_dvv_sibling {
    ut_dot_t dot;   /**< The event that wrote it. */
    uint64_t value; /**< Caller's handle of the value (the bytes stay with the caller). */
} ut_dvv_sibling_t;

/**
 * @brief The versions of one key in a store: a causal past and the
 * siblings (concurrent values) not yet overwritten (Almeida et al. 2014).
 * @since 0.2.0
 */
typedef struct ut_dvv {
    ut_vclock_t past;                        /**< Every event this key has seen. */
    uint32_t n;                              /**< Siblings in use. */
    uint32_t reserved_;                      /**< Zero. */
    ut_dvv_sibling_t s[UT_DVV_MAX_SIBLINGS]; /**< The siblings. */
} ut_dvv_t;

/**
 * @brief A hybrid logical clock (Kulkarni et al. 2014, Fig. 5).
 *
 * A timestamp is one uint64_t: the physical part @c l (ms, 48 bits) in the
 * high bits and the logical counter @c c (16 bits) in the low bits, as in
 * the HLC paper (§4.1) and CockroachDB; timestamps compare as integers.
 * @since 0.2.0
 */
typedef struct ut_hlc {
    uint64_t l;             /**< Largest physical time seen (ms). */
    uint32_t c;             /**< Logical counter within @c l. */
    uint32_t reserved_;     /**< Zero. */
    uint64_t max_offset_ms; /**< Remote clocks further ahead than this are refused. */
} ut_hlc_t;

/**
 * @brief Name of a clock order ("equal", "before", "after", "concurrent").
 * @param[in] v A value of the enum.
 * @return A static string; "?" for other values; never NULL.
 * @since 0.2.0
 */
UT_API const char *ut_clock_order_name(ut_clock_order_t v);

/**
 * @brief Empty a vector clock (every counter 0).
 * @param[out] vc The clock.
 * @retval UT_OK     Done.
 * @retval UT_EINVAL @p vc is NULL.
 * @since 0.2.0
 */
UT_API int ut_vclock_init(ut_vclock_t *vc);

/**
 * @brief Record a local event of @p node (Mattern 1989, rule 1).
 * @param[in,out] vc   The clock; unchanged on failure.
 * @param[in]     node Node id, not 0.
 * @retval UT_OK     Incremented.
 * @retval UT_EINVAL @p vc is NULL or malformed, or @p node is 0.
 * @retval UT_EFULL  @p node is new and the clock holds #UT_VCLOCK_MAX nodes.
 * @retval UT_ERANGE The counter would overflow.
 * @since 0.2.0
 */
UT_API int ut_vclock_increment(ut_vclock_t *vc, uint64_t node);

/**
 * @brief Counter of @p node in @p vc.
 * @param[in] vc   The clock.
 * @param[in] node Node id.
 * @return The counter; 0 when absent or when @p vc is NULL or malformed.
 * @since 0.2.0
 */
UT_API uint64_t ut_vclock_get(const ut_vclock_t *vc, uint64_t node);

/**
 * @brief Pointwise maximum: @p dst becomes the merge of @p dst and @p src
 * (Mattern 1989, rule 2 without the increment).
 * @param[in,out] dst The clock merged into; unchanged on failure.
 * @param[in]     src The clock merged from.
 * @retval UT_OK     Merged.
 * @retval UT_EINVAL A pointer is NULL or a clock malformed.
 * @retval UT_EFULL  The merge would hold more than #UT_VCLOCK_MAX nodes.
 * @since 0.2.0
 */
UT_API int ut_vclock_merge(ut_vclock_t *dst, const ut_vclock_t *src);

/**
 * @brief Causal order of @p a and @p b.
 *
 * Assumes nothing of the clocks: each call proves both well formed (@c n at
 * most #UT_VCLOCK_MAX, nodes non-zero and strictly ascending, counters
 * non-zero) before it answers, reads no entry beyond @c e, and refuses a
 * clock that is not with UT_EINVAL. Clocks of one length naming the same
 * nodes take a vector path (AVX-512F, AVX2 or SSE2, whichever the CPU
 * runs); its answer and its refusals are those of the plain walk.
 * @param[in]  a   First clock.
 * @param[in]  b   Second clock.
 * @param[out] out #UT_CLOCK_BEFORE when a < b, and so on; unchanged on failure.
 * @retval UT_OK     Compared.
 * @retval UT_EINVAL A pointer is NULL or a clock malformed.
 * @since 0.2.0
 */
UT_API int ut_vclock_compare(const ut_vclock_t *a, const ut_vclock_t *b, ut_clock_order_t *out);

/**
 * @brief An empty key: no past, no siblings.
 * @param[out] d The key's versions.
 * @retval UT_OK     Done.
 * @retval UT_EINVAL @p d is NULL.
 * @since 0.2.0
 */
UT_API int ut_dvv_init(ut_dvv_t *d);

/**
 * @brief A coordinator writes @p value given the causal context @p ctx the
 * client read (the @c past of an earlier read, or an empty clock).
 *
 * Siblings whose dot @p ctx covers are overwritten; the new value gets the
 * dot (node, past[node] + 1), so two clients writing through one
 * coordinator leave at most one sibling each, not one per write (the Riak
 * sibling explosion that plain per-server version vectors cause; Almeida et
 * al. 2014, §2–3).
 * @param[in,out] d     The key's versions; unchanged on failure.
 * @param[in]     ctx   Context from the client's read.
 * @param[in]     node  Coordinator id, not 0.
 * @param[in]     value Caller's handle of the new value.
 * @param[out]    out   Receives the new dot; may be NULL.
 * @retval UT_OK     Written.
 * @retval UT_EINVAL A pointer is NULL, a clock malformed, @p node is 0, or
 *                   @p ctx has seen events @p d never had.
 * @retval UT_EFULL  More than #UT_DVV_MAX_SIBLINGS siblings or #UT_VCLOCK_MAX nodes.
 * @retval UT_ERANGE The coordinator's counter would overflow.
 * @since 0.2.0
 */
UT_API int ut_dvv_put(ut_dvv_t *d, const ut_vclock_t *ctx, uint64_t node, uint64_t value,
                      ut_dot_t *out);

/**
 * @brief Merge another replica's versions of the same key into @p d
 * (anti-entropy): a sibling survives unless the other side's past covers it
 * and the other side no longer holds it.
 * @param[in,out] d     The key's versions; unchanged on failure.
 * @param[in]     other The other replica's versions.
 * @retval UT_OK     Merged.
 * @retval UT_EINVAL A pointer is NULL or a clock malformed.
 * @retval UT_EFULL  The result would exceed a bound.
 * @since 0.2.0
 */
UT_API int ut_dvv_sync(ut_dvv_t *d, const ut_dvv_t *other);

/**
 * @brief Set up a hybrid logical clock at time 0.
 * @param[out] h             The clock.
 * @param[in]  max_offset_ms Largest accepted lead of a remote clock (ms).
 * @retval UT_OK     Done.
 * @retval UT_EINVAL @p h is NULL.
 * @since 0.2.0
 */
UT_API int ut_hlc_init(ut_hlc_t *h, uint64_t max_offset_ms);

/**
 * @brief Timestamp a local or send event (Kulkarni et al. 2014, Fig. 5,
 * "send or local event").
 * @param[in,out] h     The clock; unchanged on failure.
 * @param[in]     pt_ms Physical time now (ms).
 * @param[out]    out   Receives the timestamp.
 * @retval UT_OK     Timestamped; strictly greater than every earlier one.
 * @retval UT_EINVAL @p h or @p out is NULL.
 * @retval UT_ERANGE @p pt_ms exceeds 48 bits or the logical part would overflow.
 * @since 0.2.0
 */
UT_API int ut_hlc_now(ut_hlc_t *h, uint64_t pt_ms, uint64_t *out);

/**
 * @brief Timestamp the receipt of a message stamped @p remote (Fig. 5,
 * "receive event of message m").
 * @param[in,out] h      The clock; unchanged on failure.
 * @param[in]     pt_ms  Physical time now (ms).
 * @param[in]     remote The message's timestamp.
 * @param[out]    out    Receives the timestamp, greater than @p remote and every earlier one.
 * @retval UT_OK     Updated.
 * @retval UT_EINVAL @p h or @p out is NULL.
 * @retval UT_ERANGE The remote physical time is more than @c max_offset_ms ahead of
 *                   @p pt_ms (CockroachDB's max offset), @p pt_ms exceeds 48 bits, or
 *                   the logical part would overflow.
 * @since 0.2.0
 */
UT_API int ut_hlc_update(ut_hlc_t *h, uint64_t pt_ms, uint64_t remote, uint64_t *out);

/**
 * @brief Physical part (ms) of a timestamp: @p ts >> 16.
 * @param[in] ts A timestamp.
 * @return The physical part.
 * @since 0.2.0
 */
UT_API uint64_t ut_hlc_physical(uint64_t ts);

/**
 * @brief Logical part of a timestamp: @p ts & 0xffff.
 * @param[in] ts A timestamp.
 * @return The logical part.
 * @since 0.2.0
 */
UT_API uint32_t ut_hlc_logical(uint64_t ts);

#ifdef __cplusplus
}
#endif

#endif /* UNITYPES_CLOCK_H */
