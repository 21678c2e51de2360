/* SPDX-License-Identifier: MIT */
/**
 * @file unitypes/twopc.h
 * @brief Two-phase commit: a coordinator (ut_2pc_t) and participants
 * (ut_2pc_participant_t) as sans-I/O state machines.
 *
 * The protocol is the one of Gray & Lamport, "Consensus on Transaction
 * Commit" (ACM TODS 31(1), 2006, §3 "Two-Phase Commit") with the logging
 * optimisations of Mohan, Lindsay & Obermarck, "Transaction Management in
 * the R* Distributed Database Management System" (ACM TODS 11(4), 1986):
 * presumed abort (§3.1, the default), presumed commit (§3.2) and the
 * textbook protocol (§2), read-only participants and one-phase commit.
 *
 * Durability: every ready carries records. The caller appends them to its
 * log and makes the @c forced ones durable (fsync) before sending any of
 * the ready's messages; after a crash it hands the records back, in the
 * order they were written, to ut_2pc_restore() / ut_2pc_participant_restore()
 * on a fresh handle, which rebuilds and finishes every in-flight transaction.
 *
 * Threading: a handle is used by one thread at a time.
 */
#ifndef UNITYPES_TWOPC_H
#define UNITYPES_TWOPC_H

#include "unitypes/common.h"
#include "unitypes/msg.h"
#include "unitypes/trace.h"
#include "unitypes/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Current version of both config structs. @since 0.2.0 */
#define UT_2PC_CONFIG_VERSION 1u
/** @brief Most participants in one transaction. @since 0.2.0 */
#define UT_2PC_MAX_PARTICIPANTS 64u

/** @brief Flag in a PREPARE's code: one-phase commit (one participant). @since 0.2.0 */
#define UT_2PC_FLAG_ONE_PHASE 1u
/** @brief Flag in a COMMIT/ABORT's code: the receiver must acknowledge. @since 0.2.0 */
#define UT_2PC_FLAG_ACK 1u
/** @brief Flag in an ACK's code: the participant took a heuristic decision. @since 0.2.0 */
#define UT_2PC_FLAG_HEURISTIC 0x100u
/** @brief STATUS code of a peer that knows nothing useful. @since 0.2.0 */
#define UT_2PC_STATUS_UNKNOWN 0xffu

/** @brief A participant's vote. @since 0.2.0 */
typedef enum ut_2pc_vote {
    UT_2PC_VOTE_NONE = 0,     /**< Not voted (yet). */
    UT_2PC_VOTE_YES = 1,      /**< Prepared: will commit if told to. */
    UT_2PC_VOTE_NO = 2,       /**< Refuses: the transaction aborts. */
    UT_2PC_VOTE_READ_ONLY = 3 /**< Changed nothing: drops out of phase two. */
} ut_2pc_vote_t;

/** @brief Logging protocol (Mohan, Lindsay & Obermarck 1986). @since 0.2.0 */
typedef enum ut_2pc_presumption {
    UT_2PC_PRESUME_ABORT = 0,  /**< Default: aborts are not logged nor acknowledged. */
    UT_2PC_PRESUME_COMMIT = 1, /**< A forced "collecting" record; commits not acknowledged. */
    UT_2PC_PRESUME_NOTHING = 2 /**< Textbook: every decision forced and acknowledged. */
} ut_2pc_presumption_t;

/** @brief What an event reports. @since 0.2.0 */
typedef enum ut_2pc_event_kind {
    UT_2PC_EVENT_PREPARE = 1,  /**< Participant: vote on @c txid (ut_2pc_participant_vote). */
    UT_2PC_EVENT_OUTCOME = 2,  /**< Participant: apply @c state (committed or aborted). */
    UT_2PC_EVENT_DONE = 3,     /**< Coordinator: @c txid finished with @c state, forgotten. */
    UT_2PC_EVENT_HEURISTIC = 4 /**< Coordinator: @c node reported heuristic outcome @c state. */
} ut_2pc_event_kind_t;

/**
 * @brief One log record to append (and, if @c forced, make durable) before
 * the ready's messages leave. Pointers are borrowed until advance.
 * @since 0.2.0
 */
typedef struct ut_2pc_record {
    uint64_t txid;         /**< Transaction. */
    ut_txn_state_t state;  /**< INIT (collecting), PREPARED, COMMITTED or ABORTED. */
    bool end;              /**< The transaction is finished: forget it. */
    bool forced;           /**< Must be durable before the ready's messages are sent. */
    bool heuristic;        /**< Participant: outcome forced by the application. */
    uint64_t coordinator;  /**< Participant records: the coordinator. */
    const uint64_t *nodes; /**< Coordinator: participants; participant: its peers. */
    size_t n_nodes;        /**< Number of @c nodes. */
} ut_2pc_record_t;

/** @brief Something for the application to act on. @since 0.2.0 */
typedef struct ut_2pc_event {
    ut_2pc_event_kind_t kind; /**< What happened. */
    uint64_t txid;            /**< Transaction. */
    ut_txn_state_t state;     /**< OUTCOME, DONE, HEURISTIC: the outcome. */
    uint64_t node;            /**< PREPARE: the coordinator; HEURISTIC: the participant. */
    const void *data;         /**< PREPARE: the transaction's payload (borrowed). */
    size_t len;               /**< Payload length. */
} ut_2pc_event_t;

/**
 * @brief Outputs of one ready: persist @c records, then send @c msgs, then
 * act on @c events; then call advance.
 * @since 0.2.0
 */
typedef struct ut_2pc_ready {
    const ut_2pc_record_t *records; /**< Records, in the order to write them. */
    size_t n_records;               /**< Number of @c records. */
    const ut_msg_t *msgs;           /**< Messages to send once the forced records are durable. */
    size_t n_msgs;                  /**< Number of @c msgs. */
    const ut_2pc_event_t *events;   /**< Events for the application. */
    size_t n_events;                /**< Number of @c events. */
    uint64_t seq_;                  /**< Internal: matches ready to advance. */
    uint64_t reserved_[4];          /**< Room to grow. */
} ut_2pc_ready_t;

/** @brief Coordinator configuration. @since 0.2.0 */
typedef struct ut_2pc_config {
    unsigned version;                 /**< UT_2PC_CONFIG_VERSION. */
    uint64_t id;                      /**< This coordinator's node id (not 0). */
    ut_2pc_presumption_t presumption; /**< Default UT_2PC_PRESUME_ABORT. */
    uint64_t vote_timeout_ms; /**< Votes missing this long after begin: abort. Default 1000. */
    uint64_t resend_ms;       /**< Resend unacknowledged decisions. Default 200. */
    bool auto_commit;         /**< Commit as soon as every vote is yes. Default true. */
    /** Tracer (module "2pc"): decisions with their reason (INFO), forgotten
     * transactions, resends and presumed answers (DEBUG), refused
     * messages (WARN, reason: the message type). NULL (default): off. */
    ut_trace_fn trace;
    void *trace_arg; /**< Passed to @c trace. */
} ut_2pc_config_t;

/** @brief Participant configuration. @since 0.2.0 */
typedef struct ut_2pc_participant_config {
    unsigned version;            /**< UT_2PC_CONFIG_VERSION. */
    uint64_t id;                 /**< This participant's node id (not 0). */
    uint64_t inquiry_timeout_ms; /**< In doubt this long: ask. Default 500. */
    bool cooperative;            /**< Also ask the other participants. Default false. */
    /** Tracer (module "2pc"): votes and outcomes with their source, and
     * inquiries in doubt (INFO), refused messages (WARN, reason: the
     * message type). NULL (default): off. */
    ut_trace_fn trace;
    void *trace_arg; /**< Passed to @c trace. */
} ut_2pc_participant_config_t;

/** @brief Two-phase commit coordinator. @since 0.2.0 */
typedef struct ut_2pc ut_2pc_t;
/** @brief Two-phase commit participant. @since 0.2.0 */
typedef struct ut_2pc_participant ut_2pc_participant_t;

/**
 * @brief Name of a vote ("none", "yes", "no", "read-only").
 * @param[in] v A vote.
 * @return A static string, "?" for unknown values.
 * @since 0.2.0
 */
UT_API const char *ut_2pc_vote_name(ut_2pc_vote_t v);

/**
 * @brief Whether a ready carries nothing.
 * @param[in] rd A ready filled by ut_2pc_ready() or ut_2pc_participant_ready().
 * @return true when @p rd is NULL or empty.
 * @since 0.2.0
 */
UT_API bool ut_2pc_ready_empty(const ut_2pc_ready_t *rd);

/* ---- coordinator ---- */

/**
 * @brief Fill @p cfg with defaults.
 * @param[out] cfg     Configuration.
 * @param[in]  version UT_2PC_CONFIG_VERSION.
 * @retval UT_OK       Filled.
 * @retval UT_EINVAL   @p cfg is NULL.
 * @retval UT_EVERSION Unknown @p version.
 * @since 0.2.0
 */
UT_API int ut_2pc_config_init(ut_2pc_config_t *cfg, unsigned version);

/**
 * @brief Create a coordinator with no transactions.
 * @param[out] out Receives the handle; untouched on failure.
 * @param[in]  cfg Configuration (copied).
 * @retval UT_OK       Created.
 * @retval UT_EINVAL   NULL argument, id 0, a timeout 0, unknown presumption.
 * @retval UT_EVERSION Unknown @c cfg->version.
 * @retval UT_ENOMEM   Allocation failed.
 * @since 0.2.0
 */
UT_API int ut_2pc_new(ut_2pc_t **out, const ut_2pc_config_t *cfg);

/**
 * @brief Free a coordinator (NULL is a no-op).
 * @param[in] h Handle.
 * @since 0.2.0
 */
UT_API void ut_2pc_free(ut_2pc_t *h);

/**
 * @brief Rebuild the in-flight transactions from the records a crashed
 * incarnation persisted (in write order), on a fresh handle; undecided
 * transactions are aborted and decisions are sent again.
 * @param[in] h   Fresh handle.
 * @param[in] rec Records.
 * @param[in] n   Number of records.
 * @retval UT_OK      Restored.
 * @retval UT_EINVAL  NULL handle, or @p rec NULL with @p n > 0.
 * @retval UT_ESTATE  The handle already has transactions or output.
 * @retval UT_ECORRUPT A record is inconsistent (bad state, too many nodes).
 * @retval UT_ENOMEM  Allocation failed (handle unchanged).
 * @since 0.2.0
 */
UT_API int ut_2pc_restore(ut_2pc_t *h, const ut_2pc_record_t *rec, size_t n);

/**
 * @brief Start a transaction: PREPARE to every participant (one-phase
 * commit when there is one).
 * @param[in] h            Handle.
 * @param[in] txid         Transaction id (not 0).
 * @param[in] participants Participant ids (distinct, not 0, not the coordinator).
 * @param[in] n            1 … UT_2PC_MAX_PARTICIPANTS.
 * @param[in] payload      Bytes handed to every participant (may be NULL if @p len is 0).
 * @param[in] len          Payload length.
 * @retval UT_OK     Started.
 * @retval UT_EINVAL Bad argument.
 * @retval UT_EEXIST @p txid is in flight (a duplicate begin).
 * @retval UT_ERANGE @p n is out of range.
 * @retval UT_ENOMEM Allocation failed (handle unchanged).
 * @since 0.2.0
 */
UT_API int ut_2pc_begin(ut_2pc_t *h, uint64_t txid, const uint64_t *participants, size_t n,
                        const void *payload, size_t len);

/**
 * @brief The seed's prepare(): whether every participant is prepared.
 * @param[in]  h    Handle.
 * @param[in]  txid Transaction.
 * @param[out] out  true when every vote is yes or read-only.
 * @retval UT_OK       Answered.
 * @retval UT_EINVAL   NULL argument.
 * @retval UT_ENOTFOUND Unknown transaction.
 * @since 0.2.0
 */
UT_API int ut_2pc_prepare(ut_2pc_t *h, uint64_t txid, bool *out);

/**
 * @brief Decide commit (with auto_commit off). Only when every participant
 * is prepared (Gray & Lamport §3).
 * @param[in] h    Handle.
 * @param[in] txid Transaction.
 * @retval UT_OK        Decided; the record and the COMMITs are in the next ready.
 * @retval UT_EINVAL    NULL handle.
 * @retval UT_ENOTFOUND Unknown transaction.
 * @retval UT_ESTATE    Not every participant prepared, or already decided.
 * @retval UT_ENOMEM    Allocation failed (handle unchanged).
 * @since 0.2.0
 */
UT_API int ut_2pc_commit(ut_2pc_t *h, uint64_t txid);

/**
 * @brief Decide abort; only before a decision.
 * @param[in] h    Handle.
 * @param[in] txid Transaction.
 * @retval UT_OK        Decided.
 * @retval UT_EINVAL    NULL handle.
 * @retval UT_ENOTFOUND Unknown transaction.
 * @retval UT_ESTATE    Already decided (committed or aborted).
 * @retval UT_ENOMEM    Allocation failed (handle unchanged).
 * @since 0.2.0
 */
UT_API int ut_2pc_rollback(ut_2pc_t *h, uint64_t txid);

/**
 * @brief Feed a received message.
 * @param[in] h Handle.
 * @param[in] m Message addressed to this coordinator.
 * @retval UT_OK        Handled.
 * @retval UT_EINVAL    NULL, not for this node, not a 2PC message, a bad
 *                      field, or a sender that is not a participant.
 * @retval UT_ENOTFOUND Unknown transaction (and nothing to answer).
 * @retval UT_ESTATE    The message contradicts what this node knows.
 * @retval UT_ENOMEM    Allocation failed (handle unchanged).
 * @since 0.2.0
 */
UT_API int ut_2pc_step(ut_2pc_t *h, const ut_msg_t *m);

/**
 * @brief Advance time: vote deadlines and resends.
 * @param[in] h      Handle.
 * @param[in] now_ms Monotonic milliseconds.
 * @retval UT_OK     Done.
 * @retval UT_EINVAL NULL handle, or time going backwards.
 * @retval UT_ENOMEM Allocation failed (handle unchanged).
 * @since 0.2.0
 */
UT_API int ut_2pc_tick(ut_2pc_t *h, uint64_t now_ms);

/**
 * @brief Take the pending output.
 * @param[in]  h  Handle.
 * @param[out] rd Filled; pointers valid until advance or free.
 * @retval UT_OK     Filled (maybe empty: no advance needed).
 * @retval UT_EINVAL NULL argument.
 * @retval UT_ESTATE A ready is outstanding.
 * @since 0.2.0
 */
UT_API int ut_2pc_ready(ut_2pc_t *h, ut_2pc_ready_t *rd);

/**
 * @brief Acknowledge that @p rd was persisted, sent and applied.
 * @param[in] h  Handle.
 * @param[in] rd The outstanding ready.
 * @retval UT_OK     Done.
 * @retval UT_EINVAL NULL argument or not the outstanding ready.
 * @since 0.2.0
 */
UT_API int ut_2pc_advance(ut_2pc_t *h, const ut_2pc_ready_t *rd);

/**
 * @brief State of a transaction (TIMEOUT from a missed vote deadline until
 * the abort has been handed out and advanced).
 * @param[in]  h    Handle.
 * @param[in]  txid Transaction.
 * @param[out] out  State.
 * @retval UT_OK        Answered.
 * @retval UT_EINVAL    NULL argument.
 * @retval UT_ENOTFOUND Unknown or forgotten transaction.
 * @since 0.2.0
 */
UT_API int ut_2pc_state(const ut_2pc_t *h, uint64_t txid, ut_txn_state_t *out);

/**
 * @brief Vote received from one participant.
 * @param[in]  h           Handle.
 * @param[in]  txid        Transaction.
 * @param[in]  participant Participant id.
 * @param[out] out         Vote (NONE when not received).
 * @retval UT_OK        Answered.
 * @retval UT_EINVAL    NULL argument, or @p participant is not in the transaction.
 * @retval UT_ENOTFOUND Unknown transaction.
 * @since 0.2.0
 */
UT_API int ut_2pc_vote(const ut_2pc_t *h, uint64_t txid, uint64_t participant, ut_2pc_vote_t *out);

/**
 * @brief Whether one participant acknowledged the decision.
 * @param[in]  h           Handle.
 * @param[in]  txid        Transaction.
 * @param[in]  participant Participant id.
 * @param[out] out         true once acknowledged.
 * @retval UT_OK        Answered.
 * @retval UT_EINVAL    NULL argument, or not a participant.
 * @retval UT_ENOTFOUND Unknown transaction.
 * @since 0.2.0
 */
UT_API int ut_2pc_acked(const ut_2pc_t *h, uint64_t txid, uint64_t participant, bool *out);

/**
 * @brief The participants of a transaction.
 * @param[in]  h    Handle.
 * @param[in]  txid Transaction.
 * @param[out] ids  Borrowed array (valid until the next mutating call).
 * @param[out] n    Its length.
 * @retval UT_OK        Answered.
 * @retval UT_EINVAL    NULL argument.
 * @retval UT_ENOTFOUND Unknown transaction.
 * @since 0.2.0
 */
UT_API int ut_2pc_participants(const ut_2pc_t *h, uint64_t txid, const uint64_t **ids, size_t *n);

/**
 * @brief The coordinator's node id.
 * @param[in] h Handle.
 * @return The id; 0 for an invalid handle.
 * @since 0.2.0
 */
UT_API uint64_t ut_2pc_coordinator(const ut_2pc_t *h);

/**
 * @brief Number of transactions in flight (not yet forgotten).
 * @param[in] h Handle.
 * @return The count; 0 for an invalid handle.
 * @since 0.2.0
 */
UT_API size_t ut_2pc_count(const ut_2pc_t *h);

/**
 * @brief Detail of the last failure ("context: cause").
 * @param[in] h Handle.
 * @return A string, never NULL.
 * @since 0.2.0
 */
UT_API const char *ut_2pc_errmsg(const ut_2pc_t *h);

/* ---- participant ---- */

/**
 * @brief Fill @p cfg with defaults.
 * @param[out] cfg     Configuration.
 * @param[in]  version UT_2PC_CONFIG_VERSION.
 * @retval UT_OK       Filled.
 * @retval UT_EINVAL   @p cfg is NULL.
 * @retval UT_EVERSION Unknown @p version.
 * @since 0.2.0
 */
UT_API int ut_2pc_participant_config_init(ut_2pc_participant_config_t *cfg, unsigned version);

/**
 * @brief Create a participant.
 * @param[out] out Receives the handle; untouched on failure.
 * @param[in]  cfg Configuration (copied).
 * @retval UT_OK       Created.
 * @retval UT_EINVAL   NULL argument, id 0 or timeout 0.
 * @retval UT_EVERSION Unknown @c cfg->version.
 * @retval UT_ENOMEM   Allocation failed.
 * @since 0.2.0
 */
UT_API int ut_2pc_participant_new(ut_2pc_participant_t **out,
                                  const ut_2pc_participant_config_t *cfg);

/**
 * @brief Free a participant (NULL is a no-op).
 * @param[in] p Handle.
 * @since 0.2.0
 */
UT_API void ut_2pc_participant_free(ut_2pc_participant_t *p);

/**
 * @brief Rebuild from persisted records (write order) on a fresh handle;
 * prepared transactions are in doubt and inquire at the first tick.
 * @param[in] p   Fresh handle.
 * @param[in] rec Records.
 * @param[in] n   Number of records.
 * @retval UT_OK       Restored.
 * @retval UT_EINVAL   NULL handle, or @p rec NULL with @p n > 0.
 * @retval UT_ESTATE   The handle already has transactions or output.
 * @retval UT_ECORRUPT A record is inconsistent.
 * @retval UT_ENOMEM   Allocation failed (handle unchanged).
 * @since 0.2.0
 */
UT_API int ut_2pc_participant_restore(ut_2pc_participant_t *p, const ut_2pc_record_t *rec,
                                      size_t n);

/**
 * @brief Vote on a transaction announced by a PREPARE event. Yes is
 * persisted (forced) before the vote leaves (Gray & Lamport §3).
 * @param[in] p    Handle.
 * @param[in] txid Transaction.
 * @param[in] vote YES, NO or READ_ONLY.
 * @retval UT_OK        Voted.
 * @retval UT_EINVAL    NULL handle or bad vote.
 * @retval UT_ENOTFOUND Unknown transaction.
 * @retval UT_ESTATE    Already voted or decided.
 * @retval UT_ENOMEM    Allocation failed (handle unchanged).
 * @since 0.2.0
 */
UT_API int ut_2pc_participant_vote(ut_2pc_participant_t *p, uint64_t txid, ut_2pc_vote_t vote);

/**
 * @brief Force a heuristic outcome on a prepared (in-doubt) transaction;
 * recorded, and reported to the coordinator with the acknowledgement.
 * @param[in] p       Handle.
 * @param[in] txid    Transaction.
 * @param[in] outcome UT_TXN_COMMITTED or UT_TXN_ABORTED.
 * @retval UT_OK        Recorded.
 * @retval UT_EINVAL    NULL handle or bad outcome.
 * @retval UT_ENOTFOUND Unknown transaction.
 * @retval UT_ESTATE    Not prepared.
 * @retval UT_ENOMEM    Allocation failed (handle unchanged).
 * @since 0.2.0
 */
UT_API int ut_2pc_participant_heuristic(ut_2pc_participant_t *p, uint64_t txid,
                                        ut_txn_state_t outcome);

/**
 * @brief Feed a received message.
 * @param[in] p Handle.
 * @param[in] m Message addressed to this participant.
 * @retval UT_OK     Handled.
 * @retval UT_EINVAL NULL, not for this node, not a 2PC message, or a bad field.
 * @retval UT_ESTATE The message contradicts this participant's state (a
 *                   COMMIT while not prepared, a decision against its own).
 * @retval UT_ENOMEM Allocation failed (handle unchanged).
 * @since 0.2.0
 */
UT_API int ut_2pc_participant_step(ut_2pc_participant_t *p, const ut_msg_t *m);

/**
 * @brief Advance time: inquiries for in-doubt transactions.
 * @param[in] p      Handle.
 * @param[in] now_ms Monotonic milliseconds.
 * @retval UT_OK     Done.
 * @retval UT_EINVAL NULL handle, or time going backwards.
 * @retval UT_ENOMEM Allocation failed (handle unchanged).
 * @since 0.2.0
 */
UT_API int ut_2pc_participant_tick(ut_2pc_participant_t *p, uint64_t now_ms);

/**
 * @brief Take the pending output.
 * @param[in]  p  Handle.
 * @param[out] rd Filled; pointers valid until advance or free.
 * @retval UT_OK     Filled (maybe empty).
 * @retval UT_EINVAL NULL argument.
 * @retval UT_ESTATE A ready is outstanding.
 * @since 0.2.0
 */
UT_API int ut_2pc_participant_ready(ut_2pc_participant_t *p, ut_2pc_ready_t *rd);

/**
 * @brief Acknowledge the outstanding ready.
 * @param[in] p  Handle.
 * @param[in] rd The outstanding ready.
 * @retval UT_OK     Done.
 * @retval UT_EINVAL NULL argument or not the outstanding ready.
 * @since 0.2.0
 */
UT_API int ut_2pc_participant_advance(ut_2pc_participant_t *p, const ut_2pc_ready_t *rd);

/**
 * @brief Drop a decided transaction from the participant's table (its
 * outcome is the application's from now on). Call it only once the
 * coordinator can no longer ask about it (for example below a txid
 * watermark): a later PREPARE for the id would start it anew.
 * @param[in] p    Handle.
 * @param[in] txid Transaction.
 * @retval UT_OK        Forgotten.
 * @retval UT_EINVAL    NULL handle.
 * @retval UT_ENOTFOUND Unknown transaction.
 * @retval UT_ESTATE    Not decided yet (init or prepared).
 * @since 0.2.0
 */
UT_API int ut_2pc_participant_forget(ut_2pc_participant_t *p, uint64_t txid);

/**
 * @brief State of a transaction at this participant.
 * @param[in]  p    Handle.
 * @param[in]  txid Transaction.
 * @param[out] out  INIT (asked, not voted), PREPARED, COMMITTED or ABORTED.
 * @retval UT_OK        Answered.
 * @retval UT_EINVAL    NULL argument.
 * @retval UT_ENOTFOUND Unknown transaction.
 * @since 0.2.0
 */
UT_API int ut_2pc_participant_state(const ut_2pc_participant_t *p, uint64_t txid,
                                    ut_txn_state_t *out);

/**
 * @brief Whether the transaction's outcome here was forced heuristically.
 * @param[in]  p    Handle.
 * @param[in]  txid Transaction.
 * @param[out] out  true for a heuristic outcome.
 * @retval UT_OK        Answered.
 * @retval UT_EINVAL    NULL argument.
 * @retval UT_ENOTFOUND Unknown transaction.
 * @since 0.2.0
 */
UT_API int ut_2pc_participant_is_heuristic(const ut_2pc_participant_t *p, uint64_t txid, bool *out);

/**
 * @brief This participant's node id.
 * @param[in] p Handle.
 * @return The id; 0 for an invalid handle.
 * @since 0.2.0
 */
UT_API uint64_t ut_2pc_participant_id(const ut_2pc_participant_t *p);

/**
 * @brief Detail of the last failure.
 * @param[in] p Handle.
 * @return A string, never NULL.
 * @since 0.2.0
 */
UT_API const char *ut_2pc_participant_errmsg(const ut_2pc_participant_t *p);

#ifdef __cplusplus
}
#endif

#endif /* UNITYPES_TWOPC_H */
