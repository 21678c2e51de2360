/* SPDX-License-Identifier: MIT */
/**
 * @file unitypes/lock.h
 * @brief Distributed locks: a deterministic lock table (leases, fencing
 *        tokens, FIFO queues, lock-delay, semaphores, reentrancy, deadlock
 *        detection) that a Raft log applies, a client handle, and a fence.
 *
 * The lock table ut_lock_table_t is a state machine whose commands are byte
 * strings (ut_lock_cmd_encode()), so a replicated log can carry them: every
 * replica that applies the same commands with the same @c now_ms values
 * reaches the same table, byte for byte (ut_lock_table_snapshot()). The
 * model is Chubby (Burrows, OSDI 2006): leases, sequencers (fencing
 * tokens, §2.4) and lock-delay (§2.4).
 *
 * Time is the caller's: monotonic milliseconds. In a replicated table the
 * proposer stamps @c now_ms into the log entry beside the command, so all
 * replicas apply the same time; a @c now_ms smaller than one already seen
 * is treated as the larger one (time never goes back inside the table).
 */
#ifndef UNITYPES_LOCK_H
#define UNITYPES_LOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "unitypes/common.h"
#include "unitypes/trace.h"
#include "unitypes/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Current version of ut_lock_table_config_t (2: the trace hook).
 *  @since 0.2.0 */
#define UT_LOCK_TABLE_CONFIG_VERSION 2u
/** @brief Current version of ut_lock_config_t (2: the trace hook). @since 0.2.0 */
#define UT_LOCK_CONFIG_VERSION 2u
/** @brief Current version of ut_fence_config_t (2: the trace hook). @since 0.2.0 */
#define UT_FENCE_CONFIG_VERSION 2u
/** @brief Longest resource or holder name, in bytes. @since 0.2.0 */
#define UT_LOCK_NAME_MAX 1024u

/** @brief Opaque lock table (the replicated state machine). @since 0.2.0 */
typedef struct ut_lock_table ut_lock_table_t;
/** @brief Opaque client handle for one (resource, holder, ttl). @since 0.2.0 */
typedef struct ut_lock ut_lock_t;
/** @brief Opaque fencing helper of a resource server. @since 0.2.0 */
typedef struct ut_fence ut_fence_t;

/** @brief Operation of a lock table command. @since 0.2.0 */
typedef enum ut_lock_op {
    UT_LOCK_OP_ACQUIRE = 1, /**< Take the resource or queue for it. */
    UT_LOCK_OP_RELEASE = 2, /**< Give it up (or leave its queue). */
    UT_LOCK_OP_RENEW = 3,   /**< Extend a held lease or a waiter's lease. */
    UT_LOCK_OP_TICK = 4     /**< Let time pass: expire leases and waits. */
} ut_lock_op_t;

/** @brief Acquire flag: shared mode (reader, or a semaphore permit). @since 0.2.0 */
#define UT_LOCK_F_SHARED 0x01u
/** @brief Acquire flag: a holder that holds it already counts up. @since 0.2.0 */
#define UT_LOCK_F_REENTRANT 0x02u
/** @brief Acquire flag: a resource created by this request admits shared
 *         holders (otherwise it is exclusive-only). @since 0.2.0 */
#define UT_LOCK_F_ALLOW_SHARED 0x04u

/**
 * @brief A lock table command before encoding.
 *
 * Names are borrowed byte strings (not NUL-terminated). @c ttl_ms,
 * @c wait_ms, @c limit and @c flags are read only where the operation uses
 * them (ACQUIRE: all; RENEW: ttl_ms).
 * @since 0.2.0
 */
typedef struct ut_lock_cmd {
    ut_lock_op_t op;      /**< Operation. */
    const void *resource; /**< Resource name (1..UT_LOCK_NAME_MAX bytes). */
    size_t resource_len;  /**< Its length. */
    const void *holder;   /**< Holder (session) name (1..UT_LOCK_NAME_MAX bytes). */
    size_t holder_len;    /**< Its length. */
    uint64_t ttl_ms;      /**< Lease length; must be > 0. */
    uint64_t wait_ms;     /**< 0: answer now (conflict if busy); else queue up to this long. */
    uint32_t limit;       /**< Shared resources: most holders at once (0: unbounded). */
    uint32_t flags;       /**< UT_LOCK_F_* bits. */
} ut_lock_cmd_t;

/**
 * @brief What one applied command did (filled by ut_lock_table_apply()).
 * @since 0.2.0
 */
typedef struct ut_lock_reply {
    int status;              /**< UT_OK or the UT_E* code the request was refused with. */
    ut_lock_result_t result; /**< ACQUIRE: ACQUIRED, CONFLICT (busy and no wait, or a
                                  deadlock), ERROR (refused). Final unless @c queued. */
    bool queued;             /**< ACQUIRE: the request waits in the FIFO queue; a
                                  GRANTED or WAIT_TIMEOUT event ends it. */
    uint64_t token;          /**< Fencing token of the grant (ACQUIRED), else 0. */
    uint64_t expires_ms;     /**< Lease end (ACQUIRE granted, RENEW). */
    uint32_t count;          /**< Reentrancy count after the command. */
    uint32_t reserved[4];    /**< Room to grow; zero. */
} ut_lock_reply_t;

/** @brief Kind of a lock table event. @since 0.2.0 */
typedef enum ut_lock_event_type {
    UT_LOCK_EV_GRANTED = 1,       /**< A waiter was granted the resource. */
    UT_LOCK_EV_EXPIRED = 2,       /**< A holder's lease expired: the lock is lost. */
    UT_LOCK_EV_WAIT_TIMEOUT = 3,  /**< A waiter's deadline passed (result "timeout"). */
    UT_LOCK_EV_WAITER_EXPIRED = 4 /**< A waiter's own lease expired; it left the queue. */
} ut_lock_event_type_t;

/**
 * @brief One event; names are borrowed until the next mutating call.
 * @since 0.2.0
 */
typedef struct ut_lock_event {
    ut_lock_event_type_t type; /**< What happened. */
    const void *resource;      /**< Resource name. */
    size_t resource_len;       /**< Its length. */
    const void *holder;        /**< Holder name. */
    size_t holder_len;         /**< Its length. */
    uint64_t token;            /**< GRANTED / EXPIRED: the grant's token. */
    uint64_t expires_ms;       /**< GRANTED: lease end. */
} ut_lock_event_t;

/** @brief Lock table configuration. @since 0.2.0 */
typedef struct ut_lock_table_config {
    unsigned version;       /**< UT_LOCK_TABLE_CONFIG_VERSION. */
    uint64_t lock_delay_ms; /**< After a lease expiry the resource stays unavailable
                                 this long (Chubby §2.4); 0 = none. */
    uint32_t max_waiters;   /**< Per resource queue bound (0 = 65536). */
    uint64_t node;          /**< (version 2) Node id in trace events (0: none). */
    ut_trace_fn trace;      /**< (version 2) Tracer (unitypes/trace.h): refused
                                 commands, refused deadlocks, lease expiries,
                                 lock-delays, grants, ends of waits; NULL: off. */
    void *trace_arg;        /**< (version 2) Passed to @c trace. */
} ut_lock_table_config_t;

/**
 * @brief Fill @p cfg with defaults.
 * @param[out] cfg Config to fill.
 * @param[in] version UT_LOCK_TABLE_CONFIG_VERSION (or an older one).
 * @return UT_OK or an error.
 * @retval UT_EINVAL @p cfg is NULL.
 * @retval UT_EVERSION @p version is 0 or newer than this library.
 * @since 0.2.0
 */
UT_API int ut_lock_table_config_init(ut_lock_table_config_t *cfg, unsigned version);

/**
 * @brief Create an empty lock table.
 * @param[out] out The new table.
 * @param[in] cfg Its configuration.
 * @return UT_OK or an error.
 * @retval UT_EINVAL @p out or @p cfg is NULL.
 * @retval UT_EVERSION Unknown config version.
 * @retval UT_ENOMEM Allocation failed.
 * @since 0.2.0
 */
UT_API int ut_lock_table_new(ut_lock_table_t **out, const ut_lock_table_config_t *cfg);

/**
 * @brief Free a table (NULL is a no-op).
 * @param[in] t Table.
 * @since 0.2.0
 */
UT_API void ut_lock_table_free(ut_lock_table_t *t);

/**
 * @brief Detail of the last failure on @p t ("context: cause").
 * @param[in] t Table.
 * @return A string valid until the next call on @p t; never NULL.
 * @since 0.2.0
 */
UT_API const char *ut_lock_table_errmsg(const ut_lock_table_t *t);

/**
 * @brief Bytes ut_lock_cmd_encode() writes for @p cmd.
 * @param[in] cmd Command.
 * @param[out] out Size in bytes.
 * @return UT_OK or an error.
 * @retval UT_EINVAL NULL argument, unknown op, or a name longer than UT_LOCK_NAME_MAX.
 * @since 0.2.0
 */
UT_API int ut_lock_cmd_size(const ut_lock_cmd_t *cmd, size_t *out);

/**
 * @brief Encode @p cmd as the bytes ut_lock_table_apply() takes.
 *
 * Little-endian fixed-width fields (docs/locks.md gives the layout). Only
 * the shape is checked here; the table judges the request.
 * @param[in] cmd Command.
 * @param[out] buf Destination.
 * @param[in] cap Bytes available at @p buf.
 * @param[out] out Bytes written.
 * @return UT_OK or an error.
 * @retval UT_EINVAL NULL argument, unknown op, or a name longer than UT_LOCK_NAME_MAX.
 * @retval UT_ERANGE @p cap is too small (nothing written).
 * @since 0.2.0
 */
UT_API int ut_lock_cmd_encode(const ut_lock_cmd_t *cmd, void *buf, size_t cap, size_t *out);

/**
 * @brief Apply one encoded command at time @p now_ms.
 *
 * Deterministic: the same table, bytes and time give the same reply,
 * events and table on every replica. A refused request leaves the table
 * unchanged and is reported both as the return code and in
 * @c out->status. Events of this call (grants after a release) are read
 * with ut_lock_table_next_event() before the next mutating call.
 * On UT_ENOMEM nothing changed; a replica must retry the same command
 * before it applies the next one.
 * @param[in] t Table.
 * @param[in] cmd Encoded command.
 * @param[in] len Its length.
 * @param[in] now_ms Time of the command (from the log entry).
 * @param[out] out The reply (may be NULL).
 * @return UT_OK or the code the request was refused with.
 * @retval UT_EINVAL NULL table/bytes, zero TTL, empty name, unknown flags,
 *         a TTL or wait that runs past UINT64_MAX from @p now_ms, shared
 *         request on a new resource created without UT_LOCK_F_ALLOW_SHARED.
 * @retval UT_ECORRUPT The bytes are not a command.
 * @retval UT_EVERSION The command's format version is unknown.
 * @retval UT_ESTATE Releasing/renewing a lock held by someone else, a shared
 *         request on an exclusive-only resource, a mode or limit that
 *         differs from the resource's, a holder that waits already.
 * @retval UT_EEXIST ACQUIRE by the holder without UT_LOCK_F_REENTRANT.
 * @retval UT_ENOTFOUND RELEASE/RENEW of a resource nobody holds or waits for.
 * @retval UT_ETIMEDOUT RENEW (or reentrant ACQUIRE) of a lease that has
 *         already expired.
 * @retval UT_EFULL The resource's queue is full.
 * @retval UT_ERANGE A reentrancy count would overflow, or the fencing
 *         token counter is at UINT64_MAX (no grant, no queued grant either).
 * @retval UT_ENOMEM Allocation failed; nothing changed.
 * @since 0.2.0
 */
UT_API int ut_lock_table_apply(ut_lock_table_t *t, const void *cmd, size_t len, uint64_t now_ms,
                               ut_lock_reply_t *out);

/**
 * @brief Let time pass: expire leases (EXPIRED, then lock-delay), waiter
 *        deadlines (WAIT_TIMEOUT) and waiter leases (WAITER_EXPIRED), and
 *        grant what became free (GRANTED). The same as applying a TICK command.
 * @param[in] t Table.
 * @param[in] now_ms Time.
 * @return UT_OK or an error.
 * @retval UT_EINVAL @p t is NULL or not a table.
 * @retval UT_ENOMEM Allocation failed; nothing changed.
 * @since 0.2.0
 */
UT_API int ut_lock_table_tick(ut_lock_table_t *t, uint64_t now_ms);

/**
 * @brief Take the next event of the last mutating call.
 * @param[in] t Table.
 * @param[out] out The event.
 * @return UT_OK, or UT_ENOTFOUND when there is none left.
 * @retval UT_EINVAL NULL argument.
 * @retval UT_ENOTFOUND No more events.
 * @since 0.2.0
 */
UT_API int ut_lock_table_next_event(ut_lock_table_t *t, ut_lock_event_t *out);

/**
 * @brief Holders in the cycle that refused the last deadlocking ACQUIRE.
 *
 * Index 0 is the requester, which would wait for index 1; each waits for
 * the next, and the last waits for the requester. Reset by every apply.
 * @param[in] t Table.
 * @return The number of holders in the cycle (0: the last refusal was none).
 * @since 0.2.0
 */
UT_API size_t ut_lock_table_cycle_len(const ut_lock_table_t *t);

/**
 * @brief One holder of the last deadlock cycle.
 * @param[in] t Table.
 * @param[in] i Index below ut_lock_table_cycle_len().
 * @param[out] len Its length.
 * @return The borrowed name, or NULL for a bad index.
 * @since 0.2.0
 */
UT_API const void *ut_lock_table_cycle_holder(const ut_lock_table_t *t, size_t i, size_t *len);

/**
 * @brief Number of resources with holders, waiters or a pending lock-delay.
 * @param[in] t Table.
 * @return The count (0 for NULL).
 * @since 0.2.0
 */
UT_API size_t ut_lock_table_active(const ut_lock_table_t *t);

/**
 * @brief Highest fencing token granted so far (0: none).
 * @param[in] t Table.
 * @return The token (0 for NULL).
 * @since 0.2.0
 */
UT_API uint64_t ut_lock_table_last_token(const ut_lock_table_t *t);

/**
 * @brief Table time: the largest now_ms seen.
 * @param[in] t Table.
 * @return Milliseconds (0 for NULL).
 * @since 0.2.0
 */
UT_API uint64_t ut_lock_table_now(const ut_lock_table_t *t);

/**
 * @brief Number of holders of a resource.
 * @param[in] t Table.
 * @param[in] resource Name.
 * @param[in] len Its length.
 * @return Holders (0 for unknown resources or bad arguments).
 * @since 0.2.0
 */
UT_API size_t ut_lock_table_holders(const ut_lock_table_t *t, const void *resource, size_t len);

/**
 * @brief Number of waiters queued for a resource.
 * @param[in] t Table.
 * @param[in] resource Name.
 * @param[in] len Its length.
 * @return Waiters (0 for unknown resources or bad arguments).
 * @since 0.2.0
 */
UT_API size_t ut_lock_table_waiters(const ut_lock_table_t *t, const void *resource, size_t len);

/**
 * @brief What a holder holds of a resource.
 * @param[in] t Table.
 * @param[in] resource Resource name.
 * @param[in] rlen Its length.
 * @param[in] holder Holder name.
 * @param[in] hlen Its length.
 * @param[out] token Token of the grant (may be NULL).
 * @param[out] expires_ms Lease end (may be NULL).
 * @param[out] count Reentrancy count (may be NULL).
 * @return UT_OK or an error.
 * @retval UT_EINVAL NULL table or names.
 * @retval UT_ENOTFOUND The holder does not hold the resource.
 * @since 0.2.0
 */
UT_API int ut_lock_table_holder_info(const ut_lock_table_t *t, const void *resource, size_t rlen,
                                     const void *holder, size_t hlen, uint64_t *token,
                                     uint64_t *expires_ms, uint32_t *count);

/**
 * @brief Serialize the whole table (for a Raft snapshot).
 *
 * Call with @p buf NULL (or too small) to learn the size in @p out.
 * @param[in] t Table.
 * @param[out] buf Destination, or NULL.
 * @param[in] cap Bytes available at @p buf.
 * @param[out] out Size of the snapshot.
 * @return UT_OK or an error.
 * @retval UT_EINVAL NULL table or @p out.
 * @retval UT_ERANGE @p buf is NULL or @p cap is too small (@p out holds the size).
 * @since 0.2.0
 */
UT_API int ut_lock_table_snapshot(const ut_lock_table_t *t, void *buf, size_t cap, size_t *out);

/**
 * @brief Replace the table's contents with a snapshot.
 * @param[in] t Table.
 * @param[in] buf Snapshot bytes.
 * @param[in] len Their length.
 * @return UT_OK or an error; on error the table is unchanged.
 * @retval UT_EINVAL NULL argument.
 * @retval UT_ECORRUPT Malformed, inconsistent or checksum-failing bytes.
 * @retval UT_EVERSION Unknown snapshot format version.
 * @retval UT_ENOMEM Allocation failed.
 * @since 0.2.0
 */
UT_API int ut_lock_table_restore(ut_lock_table_t *t, const void *buf, size_t len);

/* ---- client ---------------------------------------------------------- */

/**
 * @brief How a client's commands reach the table: apply @p cmd and fill
 *        @p reply (a local table, or a Raft proposal the caller waits on).
 *
 * Return UT_OK when the command was applied (even if refused, with
 * @c reply->status set); any other code (UT_ENOTLEADER, UT_ETIMEDOUT…)
 * means it did not reach a quorum, and the client reports "error".
 * @since 0.2.0
 */
typedef int (*ut_lock_submit_fn)(void *userdata, const void *cmd, size_t len,
                                 ut_lock_reply_t *reply);

/** @brief Client configuration. @since 0.2.0 */
typedef struct ut_lock_config {
    unsigned version;         /**< UT_LOCK_CONFIG_VERSION. */
    const void *resource;     /**< Resource name (copied). */
    size_t resource_len;      /**< Its length. */
    const void *holder;       /**< Holder name (copied). */
    size_t holder_len;        /**< Its length. */
    uint64_t ttl_ms;          /**< Lease length (> 0). */
    uint32_t flags;           /**< UT_LOCK_F_* for its ACQUIRE commands. */
    uint32_t limit;           /**< Shared limit for its ACQUIRE commands. */
    ut_lock_submit_fn submit; /**< Transport to the table (required). */
    void *userdata;           /**< Passed to @c submit. */
    uint64_t node;            /**< (version 2) Node id in trace events (0: none). */
    ut_trace_fn trace;        /**< (version 2) Tracer: submit failures, refusals by
                                   the table, lost leases; NULL: off. */
    void *trace_arg;          /**< (version 2) Passed to @c trace. */
} ut_lock_config_t;

/**
 * @brief Fill @p cfg with defaults.
 * @param[out] cfg Config.
 * @param[in] version UT_LOCK_CONFIG_VERSION.
 * @return UT_OK or an error.
 * @retval UT_EINVAL @p cfg is NULL.
 * @retval UT_EVERSION Unknown version.
 * @since 0.2.0
 */
UT_API int ut_lock_config_init(ut_lock_config_t *cfg, unsigned version);

/**
 * @brief Create a client (the seed's DistributedLock).
 * @param[out] out The client.
 * @param[in] cfg Configuration.
 * @return UT_OK or an error.
 * @retval UT_EINVAL NULL argument, empty or too long name, zero TTL, no submit.
 * @retval UT_EVERSION Unknown config version.
 * @retval UT_ENOMEM Allocation failed.
 * @since 0.2.0
 */
UT_API int ut_lock_new(ut_lock_t **out, const ut_lock_config_t *cfg);

/**
 * @brief Free a client (NULL is a no-op). It does not release the lock.
 * @param[in] l Client.
 * @since 0.2.0
 */
UT_API void ut_lock_free(ut_lock_t *l);

/**
 * @brief Detail of the last failure on @p l.
 * @param[in] l Client.
 * @return A string; never NULL.
 * @since 0.2.0
 */
UT_API const char *ut_lock_errmsg(const ut_lock_t *l);

/**
 * @brief Acquire the lock, waiting in the queue up to @p wait_ms.
 *
 * Result mapping: ACQUIRED (granted), CONFLICT (held by another and
 * @p wait_ms is 0, or a deadlock would form), ERROR (refused request or
 * lost quorum: the submit callback failed). When the request is queued the
 * call returns UT_EBUSY and the answer (ACQUIRED or TIMEOUT) comes from
 * ut_lock_on_event().
 * @param[in] l Client.
 * @param[in] now_ms Client time.
 * @param[in] wait_ms How long to wait (0: do not).
 * @param[out] out The result.
 * @return UT_OK when @p out holds the result, UT_EBUSY when queued.
 * @retval UT_EINVAL NULL argument.
 * @retval UT_ESTATE Already held or already waiting.
 * @retval UT_EBUSY Queued; wait for an event.
 * @retval UT_ENOMEM Allocation failed.
 * @since 0.2.0
 */
UT_API int ut_lock_acquire(ut_lock_t *l, uint64_t now_ms, uint64_t wait_ms, ut_lock_result_t *out);

/**
 * @brief Release the lock (or leave the queue).
 * @param[in] l Client.
 * @param[in] now_ms Client time.
 * @return UT_OK or an error.
 * @retval UT_EINVAL NULL client.
 * @retval UT_ESTATE Neither held nor waiting.
 * @retval UT_ENOTLEADER Or any other submit failure: the state is kept.
 * @retval UT_ENOTFOUND The table no longer has it (lease lost); the client
 *         now reports not acquired.
 * @retval UT_ENOMEM The table could not apply it (nothing changed): the
 *         state is kept; retry.
 * @since 0.2.0
 */
UT_API int ut_lock_release(ut_lock_t *l, uint64_t now_ms);

/**
 * @brief Renew the lease for another TTL (a held lock, or a queued
 *        request's own lease, which must be renewed to keep its place).
 *
 * A waiter whose renewal finds that the table already granted it the lock
 * (the GRANTED event was lost, or arrived before the ACQUIRE's answer)
 * becomes the holder, with the grant's token.
 * @param[in] l Client.
 * @param[in] now_ms Client time.
 * @return UT_OK or an error.
 * @retval UT_EINVAL NULL client.
 * @retval UT_ESTATE Neither held nor waiting.
 * @retval UT_ETIMEDOUT The lease had expired: the lock (or the place in the
 *         queue) is lost.
 * @retval UT_ENOMEM The table could not apply it: the state is kept.
 * @retval UT_ENOTLEADER Or any other submit failure.
 * @since 0.2.0
 */
UT_API int ut_lock_renew(ut_lock_t *l, uint64_t now_ms);

/**
 * @brief Feed a table event; events for other resources/holders are ignored.
 *
 * On GRANTED the client's lease is counted on the client's clock from the
 * last request the table answered while it waited (the queued ACQUIRE or
 * a waiter's RENEW), not from the event's @c expires_ms, which is table
 * time: the two clocks need not agree.
 * @param[in] l Client.
 * @param[in] ev Event from ut_lock_table_next_event().
 * @param[out] out Result when the event ends a wait (ACQUIRED / TIMEOUT /
 *             ERROR for a waiter that lost its lease); may be NULL.
 * @return UT_OK if the event changed this client, UT_ENOTFOUND if not for it.
 * @retval UT_EINVAL NULL argument.
 * @retval UT_ENOTFOUND Not an event of this client.
 * @since 0.2.0
 */
UT_API int ut_lock_on_event(ut_lock_t *l, const ut_lock_event_t *ev, ut_lock_result_t *out);

/**
 * @brief Client-side lease check: a held lock whose lease ran out on the
 *        client's clock is reported lost.
 * @param[in] l Client.
 * @param[in] now_ms Client time.
 * @param[out] lost True if the lock was lost at this tick (may be NULL).
 * @return UT_OK or UT_EINVAL.
 * @retval UT_EINVAL NULL client.
 * @since 0.2.0
 */
UT_API int ut_lock_tick(ut_lock_t *l, uint64_t now_ms, bool *lost);

/**
 * @brief Resource name. @param[in] l Client. @param[out] len Its length (may be NULL).
 * @return Borrowed bytes, NULL for a bad handle. @since 0.2.0
 */
UT_API const void *ut_lock_resource(const ut_lock_t *l, size_t *len);
/**
 * @brief Holder name. @param[in] l Client. @param[out] len Its length (may be NULL).
 * @return Borrowed bytes, NULL for a bad handle. @since 0.2.0
 */
UT_API const void *ut_lock_holder(const ut_lock_t *l, size_t *len);
/**
 * @brief Lease length. @param[in] l Client. @return TTL in ms (0 for NULL). @since 0.2.0
 */
UT_API uint64_t ut_lock_ttl(const ut_lock_t *l);
/**
 * @brief Whether the client holds the lock. @param[in] l Client.
 * @return True while held (false for NULL). @since 0.2.0
 */
UT_API bool ut_lock_acquired(const ut_lock_t *l);
/**
 * @brief Fencing token of the current grant. @param[in] l Client.
 * @return The token, 0 when not held. @since 0.2.0
 */
UT_API uint64_t ut_lock_token(const ut_lock_t *l);
/**
 * @brief Whether the client waits in the queue. @param[in] l Client.
 * @return True while queued. @since 0.2.0
 */
UT_API bool ut_lock_waiting(const ut_lock_t *l);

/* ---- fence ------------------------------------------------------------ */

/** @brief Fence configuration. @since 0.2.0 */
typedef struct ut_fence_config {
    unsigned version;  /**< UT_FENCE_CONFIG_VERSION. */
    uint64_t node;     /**< (version 2) Node id in trace events (0: none). */
    ut_trace_fn trace; /**< (version 2) Tracer: stale tokens refused; NULL: off. */
    void *trace_arg;   /**< (version 2) Passed to @c trace. */
} ut_fence_config_t;

/**
 * @brief Fill @p cfg with defaults.
 * @param[out] cfg Config. @param[in] version UT_FENCE_CONFIG_VERSION.
 * @return UT_OK or an error.
 * @retval UT_EINVAL @p cfg is NULL.
 * @retval UT_EVERSION Unknown version.
 * @since 0.2.0
 */
UT_API int ut_fence_config_init(ut_fence_config_t *cfg, unsigned version);

/**
 * @brief Create a fence.
 * @param[out] out The fence. @param[in] cfg Configuration.
 * @return UT_OK or an error.
 * @retval UT_EINVAL NULL argument.
 * @retval UT_EVERSION Unknown version.
 * @retval UT_ENOMEM Allocation failed.
 * @since 0.2.0
 */
UT_API int ut_fence_new(ut_fence_t **out, const ut_fence_config_t *cfg);

/**
 * @brief Free a fence (NULL is a no-op). @param[in] f Fence. @since 0.2.0
 */
UT_API void ut_fence_free(ut_fence_t *f);

/**
 * @brief Detail of the last failure. @param[in] f Fence.
 * @return A string; never NULL. @since 0.2.0
 */
UT_API const char *ut_fence_errmsg(const ut_fence_t *f);

/**
 * @brief Admit an operation on @p resource carrying @p token: accepted when
 *        the token is at least the highest seen for that resource, which it
 *        then becomes (Chubby §2.4 sequencers, Kleppmann's fencing tokens).
 * @param[in] f Fence.
 * @param[in] resource Name. @param[in] len Its length.
 * @param[in] token The operation's fencing token (> 0).
 * @return UT_OK when accepted.
 * @retval UT_EINVAL NULL argument, empty name, token 0.
 * @retval UT_ESTALE The token is older than one already seen: refuse the operation.
 * @retval UT_ENOMEM Allocation failed (first token of a resource); refuse it.
 * @since 0.2.0
 */
UT_API int ut_fence_check(ut_fence_t *f, const void *resource, size_t len, uint64_t token);

/**
 * @brief Highest token seen for a resource.
 * @param[in] f Fence. @param[in] resource Name. @param[in] len Its length.
 * @return The token, 0 if none. @since 0.2.0
 */
UT_API uint64_t ut_fence_highest(const ut_fence_t *f, const void *resource, size_t len);

#ifdef __cplusplus
}
#endif

#endif
