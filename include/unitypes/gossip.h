/* SPDX-License-Identifier: MIT */
/**
 * @file unitypes/gossip.h
 * @brief Gossip membership (ut_gossip_t): SWIM with Lifeguard, sans-I/O.
 *
 * A ut_gossip_t is one member of a SWIM group (Das, Gupta & Motivala 2002)
 * with the Lifeguard refinements (Dadgar, Phillips & Currey 2018): local
 * health awareness, dynamic suspicion timeouts and the buddy system. It
 * never reads a clock or touches a socket: messages come in through
 * ut_gossip_step(), time through ut_gossip_tick(), and what the member
 * wants sent and the membership events are drained with ut_gossip_ready()
 * and acknowledged with ut_gossip_advance(). Probe order comes from the
 * seed in the configuration. See docs/gossip.md.
 *
 * Threading: one thread at a time per handle; handles are independent.
 */
#ifndef UNITYPES_GOSSIP_H
#define UNITYPES_GOSSIP_H

#include "unitypes/common.h"
#include "unitypes/msg.h"
#include "unitypes/trace.h"
#include "unitypes/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief A gossip group member (opaque). @since 0.2.0 */
typedef struct ut_gossip ut_gossip_t;

/** @brief Current version of ut_gossip_config_t. @since 0.2.0 */
#define UT_GOSSIP_CONFIG_VERSION 2u

/**
 * @brief Configuration of a member (libgit2-style versioned options).
 *
 * Fill with ut_gossip_config_init(), then set fields. Arrays and metadata
 * are copied by ut_gossip_new(). Fields are only ever appended.
 * @since 0.2.0
 */
typedef struct ut_gossip_config {
    unsigned version;           /**< UT_GOSSIP_CONFIG_VERSION. */
    uint64_t id;                /**< This member's id (non-zero). */
    uint64_t seed;              /**< Seed of the probe order and target choices. */
    const uint64_t *seeds;      /**< Members to join through; none = first member. */
    size_t n_seeds;             /**< Number of @c seeds. */
    const void *meta;           /**< Initial metadata (may be NULL when @c meta_len is 0). */
    size_t meta_len;            /**< Bytes of @c meta (≤ @c max_meta). */
    uint32_t probe_interval_ms; /**< SWIM protocol period T'. Default 1000. */
    uint32_t probe_timeout_ms;  /**< Direct ack deadline (< period). Default 500. */
    uint32_t indirect_probes;   /**< k members asked to probe on a timeout. Default 3. */
    uint32_t retransmit_mult;   /**< λ: updates are sent λ·⌈log10(N+1)⌉ times. Default 4. */
    uint32_t suspicion_mult;    /**< Minimum suspicion = mult·max(1,log10 N)·period. Default 4. */
    uint32_t suspicion_max_mult; /**< Lifeguard: maximum = this × minimum. Default 6. */
    uint32_t awareness_max;      /**< Lifeguard local health multiplier bound. Default 8. */
    uint32_t max_datagram;       /**< Encoded size bound of every message but sync. Default 1400. */
    uint32_t max_meta;           /**< Metadata bound in bytes. Default 1024. */
    uint32_t push_pull_interval_ms; /**< Full-state exchange period up to 32 live members,
                                       one more such period per doubling beyond (as memberlist:
                                       6× at 1,000, 10× at 10,000); 0 = off. Default 30000. */
    bool lifeguard; /**< Local health, dynamic suspicion, buddy system. Default true. */
    uint32_t gossip_interval_ms; /**< Period of update pushes to random members; 0 = off
                                    (piggyback only, as in SWIM). Default 200. */
    uint32_t gossip_fanout;      /**< Members each push goes to. Default 3. */
    /** Version 2: forget a member this long after it was declared dead or
     * left (and its news was sent); 0 = never (what version 1 does).
     * Default 3,600,000 (1 h). Bounds memory by the live members plus those
     * gone within the window; a partition that lasts longer heals through
     * the seeds only (docs/gossip.md). */
    uint32_t reap_after_ms;
    /** Version 2: tracer (include/unitypes/trace.h), NULL = off. Module
     * "gossip"; events: membership events by their names (a = member,
     * b = incarnation; "dead" at WARN), "refute" (a = new incarnation),
     * "stall" (WARN, a = the tick gap in ms), "refused" (WARN, a = message
     * type, b = sender), "confirm" (a = member, b = confirmer), "reap"
     * (a = member), "join-done", "leave". */
    ut_trace_fn trace;
    void *trace_arg; /**< Version 2: passed to @c trace. */
} ut_gossip_config_t;

/** @brief Kinds of membership events. @since 0.2.0 */
typedef enum ut_gossip_event_kind {
    UT_GOSSIP_EVENT_JOINED = 1,    /**< A member appeared (or came back after dead / left). */
    UT_GOSSIP_EVENT_UPDATED = 2,   /**< A member's metadata changed. */
    UT_GOSSIP_EVENT_SUSPECTED = 3, /**< A member is suspected (SWIM §4.2). */
    UT_GOSSIP_EVENT_ALIVE = 4,     /**< A suspected member refuted: alive again. */
    UT_GOSSIP_EVENT_DEAD = 5,      /**< A member was declared dead. */
    UT_GOSSIP_EVENT_LEFT = 6       /**< A member left gracefully. */
} ut_gossip_event_kind_t;

/** @brief One membership event. @since 0.2.0 */
typedef struct ut_gossip_event {
    ut_gossip_event_kind_t kind; /**< What happened. */
    uint64_t node;               /**< To whom. */
    uint64_t incarnation;        /**< The incarnation it happened at. */
} ut_gossip_event_t;

/**
 * @brief Work handed out by ut_gossip_ready(): send @c msgs, handle
 * @c events, then call ut_gossip_advance(). Pointers stay valid until
 * ut_gossip_advance() or ut_gossip_free().
 * @since 0.2.0
 */
typedef struct ut_gossip_ready {
    const ut_msg_t *msgs;            /**< Messages to send. */
    size_t n_msgs;                   /**< Number of @c msgs. */
    const ut_gossip_event_t *events; /**< Events in the order they happened. */
    size_t n_events;                 /**< Number of @c events. */
    uint64_t seq_;                   /**< Private: identifies this ready. */
    uint64_t reserved_[4];           /**< Room to grow (ABI). */
} ut_gossip_ready_t;

/**
 * @brief A member as seen by this member.
 * @since 0.2.0
 */
typedef struct ut_gossip_member {
    uint64_t id;             /**< Member id. */
    ut_node_status_t status; /**< ALIVE, SUSPECTED, DEAD or LEAVING (left); JOINING for self. */
    uint64_t incarnation;    /**< Incarnation number (also the metadata version). */
    const void *meta;        /**< Metadata, borrowed until the next mutating call. */
    size_t meta_len;         /**< Bytes of @c meta. */
} ut_gossip_member_t;

/**
 * @brief Fill @p cfg with defaults.
 * @param[out] cfg     Configuration to initialise.
 * @param[in]  version UT_GOSSIP_CONFIG_VERSION.
 * @retval UT_OK       Filled.
 * @retval UT_EINVAL   @p cfg is NULL.
 * @retval UT_EVERSION @p version is not one this library knows.
 * @since 0.2.0
 */
UT_API int ut_gossip_config_init(ut_gossip_config_t *cfg, unsigned version);

/**
 * @brief Create a member. With seeds it starts JOINING and asks the seeds
 * for their state; without, it is ALIVE as the first member.
 * @param[out] out Receives the handle.
 * @param[in]  cfg Configuration (copied).
 * @retval UT_OK       Created.
 * @retval UT_EINVAL   NULL argument, id 0, a seed equal to 0 or @c id, a zero
 *                     period, timeout ≥ period, metadata over @c max_meta, or
 *                     a datagram too small for one update.
 * @retval UT_EVERSION Unknown @c version.
 * @retval UT_ENOMEM   Allocation failed.
 * @since 0.2.0
 */
UT_API int ut_gossip_new(ut_gossip_t **out, const ut_gossip_config_t *cfg);

/**
 * @brief Free a member (NULL is a no-op).
 * @param[in] h Handle.
 * @since 0.2.0
 */
UT_API void ut_gossip_free(ut_gossip_t *h);

/**
 * @brief Feed one received message. A refused message changes nothing.
 * @param[in] h Handle.
 * @param[in] m Message (not kept).
 * @retval UT_OK     Applied (possibly ignored as stale by the protocol).
 * @retval UT_EINVAL NULL argument, not addressed to this member, from itself,
 *                   a non-gossip type, or an update that is malformed (status
 *                   JOINING, metadata over the bound, a suspicion without its
 *                   suspecter, an incarnation ≥ 2^62).
 * @retval UT_ENOMEM Allocation failed; nothing changed.
 * @since 0.2.0
 */
UT_API int ut_gossip_step(ut_gossip_t *h, const ut_msg_t *m);

/**
 * @brief Advance time: probes, timeouts, suspicion expiry, push-pull, joins.
 * @param[in] h      Handle.
 * @param[in] now_ms Monotonic milliseconds.
 * @retval UT_OK     Done.
 * @retval UT_EINVAL NULL handle, or @p now_ms earlier than a previous tick.
 * @retval UT_ENOMEM Allocation failed; nothing changed.
 * @since 0.2.0
 */
UT_API int ut_gossip_tick(ut_gossip_t *h, uint64_t now_ms);

/**
 * @brief When the member next needs a tick.
 *
 * A caller may tick at these times only instead of at a fixed rate: a
 * tick before the deadline only moves the clock. The deadline never lies
 * more than one probe interval after the last tick (Lifeguard's stall
 * rule reads a longer gap as a pause of this member), and it can move
 * earlier after ut_gossip_step(), ut_gossip_leave() or
 * ut_gossip_set_meta(): ask again after each. A tick that is late is
 * fine; its work is done then.
 * @param[in] h Handle.
 * @return Milliseconds on the tick clock; 0 before the first tick;
 *         UINT64_MAX for NULL or once the member has left.
 * @since 0.2.0
 */
UT_API uint64_t ut_gossip_next_deadline(const ut_gossip_t *h);

/**
 * @brief Collect pending messages and events. An empty result is not
 * outstanding and needs no advance.
 * @param[in]  h   Handle.
 * @param[out] out Receives the work.
 * @retval UT_OK     Filled (possibly empty).
 * @retval UT_EINVAL NULL argument.
 * @retval UT_ESTATE A previous ready has not been advanced.
 * @since 0.2.0
 */
UT_API int ut_gossip_ready(ut_gossip_t *h, ut_gossip_ready_t *out);

/**
 * @brief True when @p rd holds no work.
 * @param[in] rd A ready (NULL counts as empty).
 * @return Whether there is nothing to send or report.
 * @since 0.2.0
 */
UT_API bool ut_gossip_ready_empty(const ut_gossip_ready_t *rd);

/**
 * @brief Acknowledge a ready: its pointers become invalid.
 * @param[in] h  Handle.
 * @param[in] rd The outstanding ready.
 * @retval UT_OK     Done.
 * @retval UT_EINVAL NULL argument, or not the outstanding ready.
 * @since 0.2.0
 */
UT_API int ut_gossip_advance(ut_gossip_t *h, const ut_gossip_ready_t *rd);

/**
 * @brief Leave gracefully: the member becomes LEAVING and disseminates
 * that it left; ut_gossip_has_left() turns true once that is sent.
 * @param[in] h Handle.
 * @retval UT_OK     Leaving.
 * @retval UT_EINVAL NULL handle.
 * @retval UT_ESTATE Already leaving.
 * @since 0.2.0
 */
UT_API int ut_gossip_leave(ut_gossip_t *h);

/**
 * @brief Replace this member's metadata (a new incarnation, disseminated).
 * @param[in] h    Handle.
 * @param[in] meta Bytes (may be NULL when @p len is 0).
 * @param[in] len  Length (≤ max_meta).
 * @retval UT_OK     Updated.
 * @retval UT_EINVAL NULL handle, NULL @p meta with @p len > 0, or too long.
 * @retval UT_ESTATE Leaving.
 * @retval UT_ENOMEM Allocation failed; nothing changed.
 * @since 0.2.0
 */
UT_API int ut_gossip_set_meta(ut_gossip_t *h, const void *meta, size_t len);

/**
 * @brief This member's own status (JOINING, ALIVE or LEAVING).
 * @param[in] h Handle.
 * @return The status; UT_NODE_DEAD for a NULL or invalid handle.
 * @since 0.2.0
 */
UT_API ut_node_status_t ut_gossip_status(const ut_gossip_t *h);

/**
 * @brief True once a graceful leave has been disseminated.
 * @param[in] h Handle.
 * @return Whether the member is done leaving (false for NULL).
 * @since 0.2.0
 */
UT_API bool ut_gossip_has_left(const ut_gossip_t *h);

/**
 * @brief This member's incarnation number.
 * @param[in] h Handle.
 * @return The incarnation (0 for NULL).
 * @since 0.2.0
 */
UT_API uint64_t ut_gossip_incarnation(const ut_gossip_t *h);

/**
 * @brief Lifeguard's local health multiplier (0 = healthy).
 * @param[in] h Handle.
 * @return The multiplier (0 for NULL).
 * @since 0.2.0
 */
UT_API unsigned ut_gossip_health(const ut_gossip_t *h);

/**
 * @brief Number of known members, this one included, dead and left ones too.
 * @param[in] h Handle.
 * @return The count (0 for NULL).
 * @since 0.2.0
 */
UT_API size_t ut_gossip_member_count(const ut_gossip_t *h);

/**
 * @brief The i-th known member, in id order.
 * @param[in]  h   Handle.
 * @param[in]  i   Position (< ut_gossip_member_count()).
 * @param[out] out Receives the member.
 * @retval UT_OK     Filled.
 * @retval UT_EINVAL NULL argument.
 * @retval UT_ERANGE @p i out of range.
 * @since 0.2.0
 */
UT_API int ut_gossip_member_at(const ut_gossip_t *h, size_t i, ut_gossip_member_t *out);

/**
 * @brief Look a member up by id.
 * @param[in]  h   Handle.
 * @param[in]  id  Member id.
 * @param[out] out Receives the member.
 * @retval UT_OK        Filled.
 * @retval UT_EINVAL    NULL argument.
 * @retval UT_ENOTFOUND Unknown id.
 * @since 0.2.0
 */
UT_API int ut_gossip_member_find(const ut_gossip_t *h, uint64_t id, ut_gossip_member_t *out);

/**
 * @brief Detail of the last failure ("step: cause").
 * @param[in] h Handle.
 * @return A string valid until the next call on @p h; never NULL.
 * @since 0.2.0
 */
UT_API const char *ut_gossip_errmsg(const ut_gossip_t *h);

/**
 * @brief Name of an event kind ("joined", "suspected" …).
 * @param[in] kind A ut_gossip_event_kind_t value.
 * @return A static string; "?" for unknown values; never NULL.
 * @since 0.2.0
 */
UT_API const char *ut_gossip_event_name(ut_gossip_event_kind_t kind);

#ifdef __cplusplus
}
#endif

#endif /* UNITYPES_GOSSIP_H */
