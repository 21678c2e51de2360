/* SPDX-License-Identifier: MIT */
/**
 * @file unitypes/replica.h
 * @brief A primary's view of its replicas under one replication strategy.
 *
 * ut_replica_set_t is the seed's `Replica<T>` {id, status, data, lastSync}
 * for every replica of one primary, run as a sans-I/O state machine with the
 * doors of the Raft core: ut_replica_set_write() assigns the next position
 * and emits #UT_MSG_REPL_WRITE to the replicas the strategy sends it to;
 * ut_replica_set_step() takes #UT_MSG_REPL_ACK; ut_replica_set_tick() moves
 * time; ut_replica_set_ready()/ut_replica_set_advance() drain messages and
 * events. The payload of position p travels out of band (the caller's log);
 * messages carry positions only.
 *
 * Durable position under each strategy:
 * - sync: the smallest acked position of the in-sync set; writes fail
 *   (UT_ESTATE) while that set is smaller than @c min_in_sync.
 * - semi-sync: the position at least @c semi_sync_acks replicas acked (MySQL
 *   semi-synchronous replication). When fewer replicas are reachable, or no
 *   ack came within @c semi_sync_timeout_ms, writes fail unless
 *   @c semi_sync_degrade is set; a degradation is then an event and
 *   ut_replica_set_degraded() says so, never silently.
 * - async: the primary's own last position.
 * - chain: what the tail acked (van Renesse & Schneider, "Chain Replication
 *   for Supporting High Throughput and Availability", OSDI 2004, §2–3);
 *   writes go to the head only. A failed link is removed and its
 *   predecessor relinked to its successor (#UT_MSG_REPL_LINK); the durable
 *   position never goes back, so writes the old tail acked stay durable.
 *   Reads follow CRAQ (Terrace & Freedman, USENIX ATC 2009, §2.3): any link
 *   holding the clean version serves it (ut_replica_set_read_version()).
 * - tree: replicas form a tree of fan-out @c tree_fanout under the primary,
 *   in config order (heap layout); a write is durable when every live
 *   root-to-leaf path acked it.
 *
 * Replica status (ut_replica_status_t) follows a validated graph: syncing →
 * in-sync | offline | failed; in-sync ↔ lagging; in-sync, lagging → offline |
 * failed; offline → syncing | failed; failed → syncing only (a failed
 * replica resyncs from scratch before it is in-sync again). In-sync and
 * lagging are earned by acks against the lag bound; the caller reports
 * offline, failed and the start of a resync. Each transition is an event.
 *
 * Threading: one thread at a time per handle.
 */
#ifndef UNITYPES_REPLICA_H
#define UNITYPES_REPLICA_H

#include "unitypes/common.h"
#include "unitypes/msg.h"
#include "unitypes/trace.h"
#include "unitypes/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Current version of ut_replica_set_config_t. @since 0.2.0 */
#define UT_REPLICA_SET_CONFIG_VERSION 2u
/** @brief Most replicas in one set. @since 0.2.0 */
#define UT_REPLICA_SET_MAX 64u

/** @brief Opaque replica set handle. @since 0.2.0 */
typedef struct ut_replica_set ut_replica_set_t;

/** @brief Configuration of a replica set. @since 0.2.0 */
typedef struct ut_replica_set_config {
    unsigned version; /**< UT_REPLICA_SET_CONFIG_VERSION. */
    uint64_t self_id; /**< The primary's node id, not 0. */
    const uint64_t
        *replicas; /**< Replica ids (copied), distinct, not 0 nor self_id; chain and tree order. */
    size_t n_replicas;            /**< 1 to #UT_REPLICA_SET_MAX. */
    ut_replication_t strategy;    /**< Default #UT_REPLICATION_SYNC. */
    ut_consistency_t consistency; /**< Level the set must serve; default #UT_CONSISTENCY_ONE. */
    uint32_t
        min_in_sync; /**< Sync: smallest in-sync set that accepts writes, 1 or more (default 1). */
    uint32_t semi_sync_acks; /**< Semi-sync: acks that make a write durable (default 1). */
    bool semi_sync_degrade;  /**< Semi-sync: degrade to async instead of failing writes (default
                                false). */
    uint64_t semi_sync_timeout_ms; /**< Semi-sync: degrade or fail after this long without the acks
                                      (0 = never). */
    uint32_t tree_fanout;          /**< Tree: children per node (default 2). */
    uint64_t
        lag_bound_entries; /**< In-sync while at most this many entries behind (default 1024). */
    uint64_t lag_bound_ms; /**< In-sync while behind for at most this long (0 = no time bound). */
    uint64_t
        offline_after_ms; /**< No ack for this long: offline (0 = only when the caller says). */
    ut_trace_fn
        trace;       /**< Tracer (unitypes/trace.h, module "replica"), or NULL (default). Events:
                        each status change (event: the new status's name, a = replica, b = the
                        old status), "degraded", "restored", "relink" (a, b = the link and its
                        new successor), "restore", and every refused input ("refuse-write",
                        "refuse-ack", "refuse-mark", "refuse-tick"; a = the negated UT_E* code). */
    void *trace_arg; /**< Passed to @c trace. */
    uint64_t incarnation; /**< Version 2: the primary's start count, persisted by the caller and
                             raised at every (re)start, below 2^32. Resync epochs are
                             incarnation << 32 | a count, so that a replica resynced by this
                             primary refuses no ack of its new disk and the primary refuses
                             every ack the replica sent before, even one sent to an earlier
                             incarnation (default 0; version 1: 0). */
} ut_replica_set_config_t;

/** @brief Kinds of replica set events. @since 0.2.0 */
typedef enum ut_replica_event_kind {
    UT_REPLICA_EVENT_STATUS = 0,   /**< A replica changed status (@c from → @c to). */
    UT_REPLICA_EVENT_DEGRADED = 1, /**< Semi-sync degraded to async at @c position. */
    UT_REPLICA_EVENT_RESTORED = 2, /**< Semi-sync acks are back at @c position. */
    UT_REPLICA_EVENT_RELINKED = 3  /**< Chain: @c replica now forwards to @c successor. */
} ut_replica_event_kind_t;

/** @brief One event in a ready. @since 0.2.0 */
typedef struct ut_replica_event {
    ut_replica_event_kind_t kind; /**< What happened. */
    uint64_t replica;             /**< The replica concerned (0 for degradation events). */
    ut_replica_status_t from;     /**< STATUS: old status. */
    ut_replica_status_t to;       /**< STATUS: new status. */
    uint64_t position;            /**< The primary's last position when it happened. */
    uint64_t successor;           /**< RELINKED: new successor (0: it is the tail). */
} ut_replica_event_t;

/** @brief What a ready hands out; valid until the matching advance. @since 0.2.0 */
typedef struct ut_replica_ready {
    unsigned version;                 /**< Set by the library (1). */
    uint64_t seq;                     /**< Pass back to advance unchanged. */
    const ut_msg_t *msgs;             /**< Messages to send. */
    size_t n_msgs;                    /**< Their count. */
    const ut_replica_event_t *events; /**< Events, in order. */
    size_t n_events;                  /**< Their count. */
    uint64_t durable;                 /**< Durable position under the strategy. */
    uint64_t reserved_[4];            /**< Zero; room to grow. */
} ut_replica_ready_t;

/** @brief One replica as the primary sees it (seed: Replica). @since 0.2.0 */
typedef struct ut_replica_info {
    uint64_t id;                /**< Replica id. */
    ut_replica_status_t status; /**< Current status. */
    uint64_t acked;             /**< Highest position it acknowledged (stored). */
    uint64_t applied;           /**< Highest position it applied. */
    uint64_t lag_entries;       /**< Primary's last position − acked. */
    uint64_t lag_ms;            /**< How long the oldest write it lacks has waited (0 if none). */
    uint64_t last_sync_ms;      /**< Seed's lastSync: when it was last fully caught up. */
    uint64_t epoch;        /**< Its resync epoch: writes to it carry it, acks below it are stale. */
    uint64_t reserved_[3]; /**< Zero; room to grow. */
} ut_replica_info_t;

/**
 * @brief Fill @p cfg with defaults.
 * @param[out] cfg     Config to fill.
 * @param[in]  version #UT_REPLICA_SET_CONFIG_VERSION (or older).
 * @retval UT_OK       Filled.
 * @retval UT_EINVAL   @p cfg is NULL.
 * @retval UT_EVERSION @p version is 0 or newer than this library.
 * @since 0.2.0
 */
UT_API int ut_replica_set_config_init(ut_replica_set_config_t *cfg, unsigned version);

/**
 * @brief Create a replica set; every replica starts in-sync at position 0.
 * @param[out] out Receives the handle; untouched on failure.
 * @param[in]  cfg Validated configuration.
 * @retval UT_OK       Created.
 * @retval UT_EINVAL   NULL argument, or an invalid field (ids, counts, strategy,
 *                     or a strong/linearizable level the strategy cannot serve).
 * @retval UT_EVERSION Unknown config version.
 * @retval UT_ENOMEM   Out of memory.
 * @since 0.2.0
 */
UT_API int ut_replica_set_new(ut_replica_set_t **out, const ut_replica_set_config_t *cfg);

/**
 * @brief Free a replica set. NULL is a no-op.
 * @param[in] h Handle.
 * @since 0.2.0
 */
UT_API void ut_replica_set_free(ut_replica_set_t *h);

/**
 * @brief The last error message of @p h ("context: cause").
 * @param[in] h Handle.
 * @return A string valid until the next call on @p h; "invalid handle" for NULL.
 * @since 0.2.0
 */
UT_API const char *ut_replica_set_errmsg(const ut_replica_set_t *h);

/**
 * @brief Write the next position: emits #UT_MSG_REPL_WRITE to the strategy's
 * targets (all for sync/semi-sync/async, the head for chain, the top of the
 * tree for tree).
 * @param[in]  h   Handle; unchanged on failure.
 * @param[out] out Receives the new position.
 * @retval UT_OK     Written.
 * @retval UT_EINVAL NULL argument.
 * @retval UT_ESTATE The strategy cannot accept writes now (sync: in-sync set below
 *                   minimum; semi-sync without degradation: too few replicas
 *                   reachable, or degraded; chain/tree: no live replica).
 * @retval UT_ERANGE The position would overflow.
 * @retval UT_ENOMEM Out of memory.
 * @since 0.2.0
 */
UT_API int ut_replica_set_write(ut_replica_set_t *h, uint64_t *out);

/**
 * @brief Resume a restarted primary: a fresh handle takes over the positions
 * its predecessor wrote (@p last, from the primary's own log) and the
 * durable position it last reported (@p durable, which it persisted).
 *
 * What the replicas hold is unknown after a restart, so every in-sync
 * replica becomes syncing (without events, as ut_replica_set_new() starts
 * them in-sync without events) and earns in-sync again by acks that reach
 * @p durable; the durable position never goes below @p durable. The
 * semi-sync timeout and the lag in ms count from the restore.
 * @param[in] h       A handle that has written nothing and taken no ack; unchanged on failure.
 * @param[in] last    Last position written before the restart.
 * @param[in] durable Durable position persisted before the restart, at most @p last.
 * @retval UT_OK     Restored.
 * @retval UT_EINVAL NULL handle, or @p durable above @p last.
 * @retval UT_ESTATE @p h has already written or been acknowledged.
 * @since 0.2.0
 */
UT_API int ut_replica_set_restore(ut_replica_set_t *h, uint64_t last, uint64_t durable);

/**
 * @brief Feed a received message (#UT_MSG_REPL_ACK).
 * @param[in] h Handle; unchanged on failure.
 * @param[in] m The message.
 * @retval UT_OK       Applied (a stale or duplicate ack is accepted and ignored).
 * @retval UT_EINVAL   NULL argument, wrong type or addressee, applied above acked,
 *                     or an ack beyond the last position written.
 * @retval UT_ENOTFOUND The sender is not a replica of this set.
 * @retval UT_ESTATE   The sender is failed and must be resynced first, or the ack's
 *                     epoch is below the sender's resync epoch (sent by the disk it
 *                     had before its last resync, delayed past it; set unchanged).
 * @retval UT_ENOMEM   Out of memory.
 * @since 0.2.0
 */
UT_API int ut_replica_set_step(ut_replica_set_t *h, const ut_msg_t *m);

/**
 * @brief Advance time (monotonic ms): lag and offline bounds, semi-sync timeout.
 * @param[in] h      Handle; unchanged on failure.
 * @param[in] now_ms Current time, never less than the last one.
 * @retval UT_OK     Done.
 * @retval UT_EINVAL NULL handle or time going backwards.
 * @retval UT_ENOMEM Out of memory.
 * @since 0.2.0
 */
UT_API int ut_replica_set_tick(ut_replica_set_t *h, uint64_t now_ms);

/**
 * @brief Report a status the primary learns from outside: #UT_REPLICA_OFFLINE,
 * #UT_REPLICA_FAILED, or #UT_REPLICA_SYNCING (a resync starts; from failed it
 * restarts from position 0).
 * @param[in] h      Handle; unchanged on failure.
 * @param[in] id     Replica id.
 * @param[in] status New status.
 * @retval UT_OK        Changed (an event is queued).
 * @retval UT_EINVAL    NULL handle, or in-sync/lagging (earned by acks only).
 * @retval UT_ENOTFOUND No such replica.
 * @retval UT_ESTATE    The transition is not in the status graph.
 * @retval UT_ENOMEM    Out of memory.
 * @since 0.2.0
 */
UT_API int ut_replica_set_mark(ut_replica_set_t *h, uint64_t id, ut_replica_status_t status);

/**
 * @brief Hand out pending messages and events.
 * @param[in]  h  Handle.
 * @param[out] rd Filled; an empty ready needs no advance.
 * @retval UT_OK     Filled.
 * @retval UT_EINVAL NULL argument.
 * @retval UT_ESTATE A ready is outstanding.
 * @since 0.2.0
 */
UT_API int ut_replica_set_ready(ut_replica_set_t *h, ut_replica_ready_t *rd);

/**
 * @brief Release what @p rd handed out.
 * @param[in] h  Handle.
 * @param[in] rd The outstanding ready.
 * @retval UT_OK     Released.
 * @retval UT_EINVAL NULL argument, or not the outstanding ready.
 * @since 0.2.0
 */
UT_API int ut_replica_set_advance(ut_replica_set_t *h, const ut_replica_ready_t *rd);

/**
 * @brief Whether @p rd carries nothing.
 * @param[in] rd A ready (NULL counts as empty).
 * @return true when there are no messages and no events.
 * @since 0.2.0
 */
UT_API bool ut_replica_set_ready_empty(const ut_replica_ready_t *rd);

/**
 * @brief Durable position under the strategy (never decreases).
 * @param[in] h Handle.
 * @return The position; 0 for NULL.
 * @since 0.2.0
 */
UT_API uint64_t ut_replica_set_durable(const ut_replica_set_t *h);

/**
 * @brief The primary's last written position.
 * @param[in] h Handle.
 * @return The position; 0 for NULL.
 * @since 0.2.0
 */
UT_API uint64_t ut_replica_set_last(const ut_replica_set_t *h);

/**
 * @brief Whether semi-sync is degraded to async now.
 * @param[in] h Handle.
 * @return true while degraded; false otherwise or for NULL.
 * @since 0.2.0
 */
UT_API bool ut_replica_set_degraded(const ut_replica_set_t *h);

/**
 * @brief Number of degradations since creation.
 * @param[in] h Handle.
 * @return The count; 0 for NULL.
 * @since 0.2.0
 */
UT_API uint64_t ut_replica_set_degradations(const ut_replica_set_t *h);

/**
 * @brief Number of replicas currently in-sync.
 * @param[in] h Handle.
 * @return The count; 0 for NULL.
 * @since 0.2.0
 */
UT_API size_t ut_replica_set_in_sync(const ut_replica_set_t *h);

/**
 * @brief Status of one replica.
 * @param[in]  h   Handle.
 * @param[in]  id  Replica id.
 * @param[out] out Receives the status.
 * @retval UT_OK        Found.
 * @retval UT_EINVAL    NULL argument.
 * @retval UT_ENOTFOUND No such replica.
 * @since 0.2.0
 */
UT_API int ut_replica_set_status(const ut_replica_set_t *h, uint64_t id, ut_replica_status_t *out);

/**
 * @brief Everything the primary knows of one replica.
 * @param[in]  h   Handle.
 * @param[in]  id  Replica id.
 * @param[out] out Receives the snapshot.
 * @retval UT_OK        Found.
 * @retval UT_EINVAL    NULL argument.
 * @retval UT_ENOTFOUND No such replica.
 * @since 0.2.0
 */
UT_API int ut_replica_set_info(const ut_replica_set_t *h, uint64_t id, ut_replica_info_t *out);

/**
 * @brief Chain (CRAQ §2.3): the version link @p id serves to a read: the clean
 * (durable) version, which every live link holds.
 * @param[in]  h   Handle.
 * @param[in]  id  A chain link.
 * @param[out] out Receives the position to read.
 * @retval UT_OK        Found.
 * @retval UT_EINVAL    NULL argument, or the strategy is not chain.
 * @retval UT_ENOTFOUND No such replica.
 * @retval UT_ESTATE    @p id is not a live link holding the clean version.
 * @since 0.2.0
 */
UT_API int ut_replica_set_read_version(const ut_replica_set_t *h, uint64_t id, uint64_t *out);

/**
 * @brief Chain: successor of @p id (0 for the tail), or the head for @p id = self.
 * @param[in]  h   Handle.
 * @param[in]  id  A link or the primary's id.
 * @param[out] out Receives the successor id.
 * @retval UT_OK        Found.
 * @retval UT_EINVAL    NULL argument, or the strategy is not chain.
 * @retval UT_ENOTFOUND @p id is not a live link.
 * @since 0.2.0
 */
UT_API int ut_replica_set_successor(const ut_replica_set_t *h, uint64_t id, uint64_t *out);

#ifdef __cplusplus
}
#endif

#endif /* UNITYPES_REPLICA_H */
