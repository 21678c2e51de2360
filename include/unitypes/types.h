/* SPDX-License-Identifier: MIT */
/**
 * @file unitypes/types.h
 * @brief The seed's vocabulary as C enums, with name/parse functions.
 *
 * Every enum has `ut_<enum>_name(v)` returning the seed's lower-case string
 * and `ut_<enum>_parse(s, &v)` accepting exactly those strings, so
 * configuration files and logs speak the seed's words.
 */
#ifndef UNITYPES_TYPES_H
#define UNITYPES_TYPES_H

#include "unitypes/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Raft role of a consensus node (seed: ConsensusState). @since 0.1.0 */
typedef enum ut_consensus_state {
    UT_CONSENSUS_FOLLOWER = 0,  /**< "follower" */
    UT_CONSENSUS_CANDIDATE = 1, /**< "candidate" */
    UT_CONSENSUS_LEADER = 2,    /**< "leader" */
    UT_CONSENSUS_OBSERVER = 3   /**< "observer": a non-voting learner */
} ut_consensus_state_t;

/** @brief Replication strategy (seed: ReplicationStrategy). @since 0.1.0 */
typedef enum ut_replication {
    UT_REPLICATION_SYNC = 0,      /**< "sync" */
    UT_REPLICATION_ASYNC = 1,     /**< "async" */
    UT_REPLICATION_SEMI_SYNC = 2, /**< "semi-sync" */
    UT_REPLICATION_CHAIN = 3,     /**< "chain" */
    UT_REPLICATION_TREE = 4       /**< "tree" */
} ut_replication_t;

/** @brief Partitioning strategy (seed: PartitionStrategy). @since 0.1.0 */
typedef enum ut_partition_strategy {
    UT_PARTITION_HASH = 0,           /**< "hash" */
    UT_PARTITION_RANGE = 1,          /**< "range" */
    UT_PARTITION_LIST = 2,           /**< "list" */
    UT_PARTITION_COMPOSITE = 3,      /**< "composite" */
    UT_PARTITION_CONSISTENT_HASH = 4 /**< "consistent-hash" */
} ut_partition_strategy_t;

/** @brief Consistency level (seed: ConsistencyLevel). @since 0.1.0 */
typedef enum ut_consistency {
    UT_CONSISTENCY_STRONG = 0,       /**< "strong" */
    UT_CONSISTENCY_EVENTUAL = 1,     /**< "eventual" */
    UT_CONSISTENCY_CAUSAL = 2,       /**< "causal" */
    UT_CONSISTENCY_LINEARIZABLE = 3, /**< "linearizable" */
    UT_CONSISTENCY_QUORUM = 4,       /**< "quorum" */
    UT_CONSISTENCY_ONE = 5,          /**< "one" */
    UT_CONSISTENCY_ALL = 6           /**< "all" */
} ut_consistency_t;

/** @brief Result of a lock acquisition (seed: LockAcquireResult). @since 0.1.0 */
typedef enum ut_lock_result {
    UT_LOCK_ACQUIRED = 0, /**< "acquired" */
    UT_LOCK_TIMEOUT = 1,  /**< "timeout" */
    UT_LOCK_CONFLICT = 2, /**< "conflict" */
    UT_LOCK_ERROR = 3     /**< "error" */
} ut_lock_result_t;

/** @brief State of a distributed transaction (seed: TransactionState). @since 0.1.0 */
typedef enum ut_txn_state {
    UT_TXN_INIT = 0,      /**< "init" */
    UT_TXN_PREPARED = 1,  /**< "prepared" */
    UT_TXN_COMMITTED = 2, /**< "committed" */
    UT_TXN_ABORTED = 3,   /**< "aborted" */
    UT_TXN_TIMEOUT = 4    /**< "timeout" */
} ut_txn_state_t;

/** @brief Membership status of a node (seed: NodeStatusType). @since 0.1.0 */
typedef enum ut_node_status {
    UT_NODE_ALIVE = 0,     /**< "alive" */
    UT_NODE_SUSPECTED = 1, /**< "suspected" */
    UT_NODE_DEAD = 2,      /**< "dead" */
    UT_NODE_JOINING = 3,   /**< "joining" */
    UT_NODE_LEAVING = 4    /**< "leaving" */
} ut_node_status_t;

/**
 * @brief Replication status of one replica (seed: ReplicaStatus).
 *
 * The seed names the type without values; these are what a replica tracker
 * needs to decide where reads may go and which replicas need repair.
 * @since 0.1.0
 */
typedef enum ut_replica_status {
    UT_REPLICA_SYNCING = 0, /**< "syncing": catching up from scratch or a snapshot */
    UT_REPLICA_IN_SYNC = 1, /**< "in-sync": has everything acknowledged so far */
    UT_REPLICA_LAGGING = 2, /**< "lagging": reachable but behind by more than the bound */
    UT_REPLICA_OFFLINE = 3, /**< "offline": unreachable, state presumed intact */
    UT_REPLICA_FAILED = 4   /**< "failed": lost or corrupt, must be rebuilt */
} ut_replica_status_t;

/**
 * @brief Seed name of a consensus state.
 * @param[in] v A value of the enum.
 * @return A static string; "?" for values outside the enum; never NULL.
 * @since 0.1.0
 */
UT_API const char *ut_consensus_state_name(ut_consensus_state_t v);
/**
 * @brief Parse a seed name ("leader", "follower", "candidate", "observer").
 * @param[in]  s   NUL-terminated string.
 * @param[out] out Receives the value on success; untouched on failure.
 * @retval UT_OK     Parsed.
 * @retval UT_EINVAL @p s or @p out is NULL, or @p s is not a seed name.
 * @since 0.1.0
 */
UT_API int ut_consensus_state_parse(const char *s, ut_consensus_state_t *out);

/**
 * @brief Seed name of a replication strategy.
 * @param[in] v A value of the enum.
 * @return A static string; "?" for values outside the enum; never NULL.
 * @since 0.1.0
 */
UT_API const char *ut_replication_name(ut_replication_t v);
/**
 * @brief Parse "sync", "async", "semi-sync", "chain" or "tree".
 * @param[in]  s   NUL-terminated string.
 * @param[out] out Receives the value on success; untouched on failure.
 * @retval UT_OK     Parsed.
 * @retval UT_EINVAL @p s or @p out is NULL, or @p s is not a seed name.
 * @since 0.1.0
 */
UT_API int ut_replication_parse(const char *s, ut_replication_t *out);

/**
 * @brief Seed name of a partition strategy.
 * @param[in] v A value of the enum.
 * @return A static string; "?" for values outside the enum; never NULL.
 * @since 0.1.0
 */
UT_API const char *ut_partition_strategy_name(ut_partition_strategy_t v);
/**
 * @brief Parse "hash", "range", "list", "composite" or "consistent-hash".
 * @param[in]  s   NUL-terminated string.
 * @param[out] out Receives the value on success; untouched on failure.
 * @retval UT_OK     Parsed.
 * @retval UT_EINVAL @p s or @p out is NULL, or @p s is not a seed name.
 * @since 0.1.0
 */
UT_API int ut_partition_strategy_parse(const char *s, ut_partition_strategy_t *out);

/**
 * @brief Seed name of a consistency level.
 * @param[in] v A value of the enum.
 * @return A static string; "?" for values outside the enum; never NULL.
 * @since 0.1.0
 */
UT_API const char *ut_consistency_name(ut_consistency_t v);
/**
 * @brief Parse "strong", "eventual", "causal", "linearizable", "quorum", "one" or "all".
 * @param[in]  s   NUL-terminated string.
 * @param[out] out Receives the value on success; untouched on failure.
 * @retval UT_OK     Parsed.
 * @retval UT_EINVAL @p s or @p out is NULL, or @p s is not a seed name.
 * @since 0.1.0
 */
UT_API int ut_consistency_parse(const char *s, ut_consistency_t *out);

/**
 * @brief Seed name of a lock acquisition result.
 * @param[in] v A value of the enum.
 * @return A static string; "?" for values outside the enum; never NULL.
 * @since 0.1.0
 */
UT_API const char *ut_lock_result_name(ut_lock_result_t v);
/**
 * @brief Parse "acquired", "timeout", "conflict" or "error".
 * @param[in]  s   NUL-terminated string.
 * @param[out] out Receives the value on success; untouched on failure.
 * @retval UT_OK     Parsed.
 * @retval UT_EINVAL @p s or @p out is NULL, or @p s is not a seed name.
 * @since 0.1.0
 */
UT_API int ut_lock_result_parse(const char *s, ut_lock_result_t *out);

/**
 * @brief Seed name of a transaction state.
 * @param[in] v A value of the enum.
 * @return A static string; "?" for values outside the enum; never NULL.
 * @since 0.1.0
 */
UT_API const char *ut_txn_state_name(ut_txn_state_t v);
/**
 * @brief Parse "init", "prepared", "committed", "aborted" or "timeout".
 * @param[in]  s   NUL-terminated string.
 * @param[out] out Receives the value on success; untouched on failure.
 * @retval UT_OK     Parsed.
 * @retval UT_EINVAL @p s or @p out is NULL, or @p s is not a seed name.
 * @since 0.1.0
 */
UT_API int ut_txn_state_parse(const char *s, ut_txn_state_t *out);

/**
 * @brief Seed name of a node status.
 * @param[in] v A value of the enum.
 * @return A static string; "?" for values outside the enum; never NULL.
 * @since 0.1.0
 */
UT_API const char *ut_node_status_name(ut_node_status_t v);
/**
 * @brief Parse "alive", "suspected", "dead", "joining" or "leaving".
 * @param[in]  s   NUL-terminated string.
 * @param[out] out Receives the value on success; untouched on failure.
 * @retval UT_OK     Parsed.
 * @retval UT_EINVAL @p s or @p out is NULL, or @p s is not a seed name.
 * @since 0.1.0
 */
UT_API int ut_node_status_parse(const char *s, ut_node_status_t *out);

/**
 * @brief Name of a replica status.
 * @param[in] v A value of the enum.
 * @return A static string; "?" for values outside the enum; never NULL.
 * @since 0.1.0
 */
UT_API const char *ut_replica_status_name(ut_replica_status_t v);
/**
 * @brief Parse "syncing", "in-sync", "lagging", "offline" or "failed".
 * @param[in]  s   NUL-terminated string.
 * @param[out] out Receives the value on success; untouched on failure.
 * @retval UT_OK     Parsed.
 * @retval UT_EINVAL @p s or @p out is NULL, or @p s is not a known name.
 * @since 0.1.0
 */
UT_API int ut_replica_status_parse(const char *s, ut_replica_status_t *out);

#ifdef __cplusplus
}
#endif

#endif /* UNITYPES_TYPES_H */
