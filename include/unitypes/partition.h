/* SPDX-License-Identifier: MIT */
/**
 * @file unitypes/partition.h
 * @brief Partitioner: key to partition (hash, range, list, composite,
 *        consistent-hash), partition to replica nodes (ring, jump, Maglev,
 *        rendezvous, bounded load), rebalance plans and a serialised map.
 *
 * Two levels. The strategy maps a key (a byte string) to a partition id,
 * a dense index 0..ut_partitioner_count()-1. The placement maps a partition
 * to the replication factor's distinct nodes, spread over distinct zones
 * while there are enough zones; the first node is the primary. Placement is
 * a pure function of the node set and the partitions, so a map rebuilt from
 * scratch on every client gives the same answer.
 *
 * Lookups (ut_partitioner_locate(), ut_partitioner_nodes()) never allocate.
 * Membership changes go through a plan (ut_partition_plan_t) that names the
 * moves and is applied explicitly; every change increments the map version.
 *
 * Threading: one partitioner is used by one thread at a time; lookups only
 * read it, so several threads may look up concurrently while nobody changes
 * it.
 */
#ifndef UNITYPES_PARTITION_H
#define UNITYPES_PARTITION_H

#include "unitypes/common.h"
#include "unitypes/trace.h"
#include "unitypes/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Current version of ut_partitioner_config_t. @since 0.2.0 */
#define UT_PARTITIONER_CONFIG_VERSION 1u

/** @brief Upper bound on the replication factor. @since 0.2.0 */
#define UT_PARTITION_MAX_REPLICAS 16u

/** @brief Placement algorithm: how a partition finds its nodes. @since 0.2.0 */
typedef enum ut_partition_algo {
    UT_PARTITION_ALGO_RING = 0,   /**< ring with virtual nodes and an O(1) bucket index */
    UT_PARTITION_ALGO_JUMP = 1,   /**< jump consistent hash (Lamping & Veach 2014) */
    UT_PARTITION_ALGO_MAGLEV = 2, /**< Maglev lookup table (Eisenbud et al., NSDI 2016) */
    UT_PARTITION_ALGO_RENDEZVOUS =
        3 /**< weighted highest random weight (Thaler & Ravishankar 1998) */
} ut_partition_algo_t;

/** @brief A node of the partitioner's node set. @since 0.2.0 */
typedef struct ut_partition_node {
    uint64_t id;     /**< node id, non-zero, unique in the set */
    uint32_t weight; /**< relative capacity, non-zero */
    uint32_t zone;   /**< zone (rack, availability zone) label */
} ut_partition_node_t;

/** @brief A byte string: range boundary or list value. @since 0.2.0 */
typedef struct ut_partition_key {
    const void *data; /**< bytes (may be NULL when len is 0) */
    size_t len;       /**< length in bytes */
} ut_partition_key_t;

/** @brief Partitioner configuration (libgit2-style options). @since 0.2.0 */
typedef struct ut_partitioner_config {
    unsigned version;                 /**< UT_PARTITIONER_CONFIG_VERSION */
    ut_partition_strategy_t strategy; /**< key to partition */
    const ut_partition_node_t *nodes; /**< node set (copied) */
    size_t n_nodes;                   /**< at least 1 */
    unsigned replicas;                /**< replication factor, 1..min(n_nodes, 16); default 1 */
    /** HASH and CONSISTENT_HASH: number of partitions; COMPOSITE: hash
     *  sub-partitions per first-level partition. 1..2^24, default 1024. */
    uint32_t partitions;
    ut_partition_algo_t algorithm; /**< CONSISTENT_HASH placement; default RING */
    unsigned vnodes;               /**< ring points per node of weight 1; default 160; 1..4096 */
    uint32_t maglev_size;          /**< Maglev table size, a prime above n_nodes; default 65537 */
    /** Bounded load (Mirrokni, Thorup, Zadimoghaddam 2018): no node is
     *  primary for more than ceil((1 + load_epsilon) * mean) partitions
     *  (weighted mean). 0 = off. */
    double load_epsilon;
    /** RANGE (and COMPOSITE over RANGE): strictly increasing boundaries
     *  (memcmp order, a prefix sorts first); n_bounds + 1 partitions,
     *  partition i holds keys in [bounds[i-1], bounds[i]). */
    const ut_partition_key_t *bounds;
    size_t n_bounds; /**< number of boundaries (0: one partition) */
    /** LIST (and COMPOSITE over LIST): values, each with its partition. */
    const ut_partition_key_t *list_values;
    const uint32_t *list_partition; /**< list_partition[i] is the partition of list_values[i] */
    size_t n_list_values;           /**< number of values */
    uint32_t n_lists;               /**< number of list partitions, each with at least one value */
    bool list_default;              /**< add a default partition (id n_lists) for other values */
    /** COMPOSITE: the first level, UT_PARTITION_RANGE or UT_PARTITION_LIST. */
    ut_partition_strategy_t first_level;
    /** Optional tracer (unitypes/trace.h), module "partition", node 0:
     *  every refused call (event "refused", the error message as the
     *  reason, a = the error code) and every map change (event
     *  "map-changed", reason "apply", "split" or "merge", a = the new
     *  version, b = the partition count). NULL: no tracing. */
    ut_trace_fn trace;
    void *trace_arg; /**< passed to trace */
} ut_partitioner_config_t;

/** @brief Opaque partitioner. @since 0.2.0 */
typedef struct ut_partitioner ut_partitioner_t;

/** @brief Opaque rebalance plan. @since 0.2.0 */
typedef struct ut_partition_plan ut_partition_plan_t;

/** @brief What ut_partitioner_suggest() proposes. @since 0.2.0 */
typedef enum ut_partition_suggestion {
    UT_PARTITION_SUGGEST_NONE = 0,  /**< nothing to do */
    UT_PARTITION_SUGGEST_SPLIT = 1, /**< split the partition */
    UT_PARTITION_SUGGEST_MERGE = 2  /**< merge the partition with its right neighbour */
} ut_partition_suggestion_t;

/**
 * @brief The partitioner's stable 64-bit hash (part of the map format).
 *
 * Little-endian 8-byte words w of the key:
 * h = seed ^ 0x243F6A8885A308D3 ^ (len * 0x9E3779B97F4A7C15);
 * for each word (the tail zero-padded) h = rotl64(h ^ (w * 0xC2B2AE3D27D4EB4F), 31)
 * * 0x9E3779B97F4A7C15; then the MurmurHash3 fmix64 finaliser. Golden
 * vectors in tests/test_partition.c pin it.
 * @param[in] key  bytes (may be NULL when len is 0)
 * @param[in] len  length
 * @param[in] seed seed (the partitioner uses 0 for keys)
 * @return the hash
 * @since 0.2.0
 */
UT_API uint64_t ut_partition_hash(const void *key, size_t len, uint64_t seed);

/**
 * @brief Seed name of a placement algorithm ("ring", "jump", "maglev", "rendezvous").
 * @param[in] v algorithm
 * @return a static string, "?" when unknown
 * @since 0.2.0
 */
UT_API const char *ut_partition_algo_name(ut_partition_algo_t v);

/**
 * @brief Fill a config with defaults.
 * @param[out] cfg     config
 * @param[in]  version UT_PARTITIONER_CONFIG_VERSION
 * @return UT_OK
 * @retval UT_EINVAL  cfg is NULL
 * @retval UT_EVERSION unknown version
 * @since 0.2.0
 */
UT_API int ut_partitioner_config_init(ut_partitioner_config_t *cfg, unsigned version);

/**
 * @brief Build a partitioner.
 * @param[out] out new partitioner (NULL on failure)
 * @param[in]  cfg validated config; everything it points at is copied
 * @return UT_OK
 * @retval UT_EINVAL  NULL argument, empty node set, node id 0, zero weight,
 *                    bad replication factor, bad strategy/algorithm, unordered
 *                    or equal boundaries, a list partition without values or
 *                    out of range, parameters out of range (more than 2^24
 *                    partitions or 2^26 partitions x replicas)
 * @retval UT_EEXIST  duplicate node id or duplicate list value
 * @retval UT_ERANGE  replication factor above the node count
 * @retval UT_EVERSION unknown config version
 * @retval UT_ENOMEM  allocation failed
 * @since 0.2.0
 */
UT_API int ut_partitioner_new(ut_partitioner_t **out, const ut_partitioner_config_t *cfg);

/**
 * @brief Free a partitioner. NULL is a no-op.
 * @param[in] h partitioner
 * @since 0.2.0
 */
UT_API void ut_partitioner_free(ut_partitioner_t *h);

/**
 * @brief "context: cause" of the last failure on @p h.
 * @param[in] h partitioner
 * @return a string valid until the next call on @p h; never NULL
 * @since 0.2.0
 */
UT_API const char *ut_partitioner_errmsg(const ut_partitioner_t *h);

/**
 * @brief The partition that owns a key. Never allocates.
 * @param[in]  h   partitioner
 * @param[in]  key bytes (may be NULL when len is 0)
 * @param[in]  len length
 * @param[out] out partition id
 * @return UT_OK
 * @retval UT_EINVAL  NULL handle/out, or NULL key with len > 0
 * @retval UT_ENOTFOUND LIST: the value is in no list and there is no default
 * @since 0.2.0
 */
UT_API int ut_partitioner_locate(const ut_partitioner_t *h, const void *key, size_t len,
                                 uint32_t *out);

/**
 * @brief The nodes of a partition, primary first. Never allocates.
 * @param[in]  h   partitioner
 * @param[in]  partition_id partition
 * @param[out] out node ids (cap entries)
 * @param[in]  cap capacity of out
 * @param[out] n   number written (the replication factor)
 * @return UT_OK
 * @retval UT_EINVAL  NULL argument
 * @retval UT_ENOTFOUND no such partition
 * @retval UT_ERANGE  cap below the replication factor (*n says how many are needed)
 * @since 0.2.0
 */
UT_API int ut_partitioner_nodes(const ut_partitioner_t *h, uint32_t partition_id, uint64_t *out,
                                size_t cap, size_t *n);

/**
 * @brief Primary node of a key (locate then the first node). Never allocates.
 * @param[in]  h   partitioner
 * @param[in]  key bytes
 * @param[in]  len length
 * @param[out] out primary node id
 * @return UT_OK
 * @retval UT_EINVAL  NULL argument
 * @retval UT_ENOTFOUND LIST: no partition for the value
 * @since 0.2.0
 */
UT_API int ut_partitioner_primary(const ut_partitioner_t *h, const void *key, size_t len,
                                  uint64_t *out);

/** @brief Strategy. @param[in] h partitioner @return strategy (HASH for NULL) @since 0.2.0 */
UT_API ut_partition_strategy_t ut_partitioner_strategy(const ut_partitioner_t *h);
/** @brief Placement algorithm. @param[in] h partitioner @return algorithm @since 0.2.0 */
UT_API ut_partition_algo_t ut_partitioner_algorithm(const ut_partitioner_t *h);
/** @brief Number of partitions. @param[in] h partitioner @return count (0 for NULL) @since 0.2.0 */
UT_API uint32_t ut_partitioner_count(const ut_partitioner_t *h);
/** @brief Map version, incremented by every change. @param[in] h partitioner @return version (0 for
 * NULL) @since 0.2.0 */
UT_API uint64_t ut_partitioner_version(const ut_partitioner_t *h);
/** @brief Replication factor. @param[in] h partitioner @return factor (0 for NULL) @since 0.2.0 */
UT_API unsigned ut_partitioner_replicas(const ut_partitioner_t *h);
/** @brief Number of nodes. @param[in] h partitioner @return count (0 for NULL) @since 0.2.0 */
UT_API size_t ut_partitioner_node_count(const ut_partitioner_t *h);

/**
 * @brief The i-th node of the set (ordered by id).
 * @param[in]  h   partitioner
 * @param[in]  i   index < ut_partitioner_node_count()
 * @param[out] out node
 * @return UT_OK
 * @retval UT_EINVAL NULL argument
 * @retval UT_ENOTFOUND i out of range
 * @since 0.2.0
 */
UT_API int ut_partitioner_node_at(const ut_partitioner_t *h, size_t i, ut_partition_node_t *out);

/**
 * @brief Seed's Partition.range: the key range of a RANGE (or COMPOSITE over
 *        RANGE) partition, [lo, hi); an empty @p hi with has_hi false means
 *        unbounded above, lo of length 0 for the first partition.
 * @param[in]  h  partitioner
 * @param[in]  partition_id partition
 * @param[out] lo lower bound (borrowed until the next change)
 * @param[out] hi upper bound (borrowed)
 * @param[out] has_hi false for the last partition
 * @return UT_OK
 * @retval UT_EINVAL NULL argument
 * @retval UT_ESTATE not a range map
 * @retval UT_ENOTFOUND no such partition
 * @since 0.2.0
 */
UT_API int ut_partition_range(const ut_partitioner_t *h, uint32_t partition_id,
                              ut_partition_key_t *lo, ut_partition_key_t *hi, bool *has_hi);

/**
 * @brief Seed's Partition.nodes (alias of ut_partitioner_nodes()).
 * @param[in]  h   partitioner
 * @param[in]  partition_id partition
 * @param[out] out node ids
 * @param[in]  cap capacity
 * @param[out] n   number written
 * @return as ut_partitioner_nodes()
 * @retval UT_EINVAL NULL argument
 * @retval UT_ENOTFOUND no such partition
 * @retval UT_ERANGE cap too small
 * @since 0.2.0
 */
UT_API int ut_partition_nodes(const ut_partitioner_t *h, uint32_t partition_id, uint64_t *out,
                              size_t cap, size_t *n);

/**
 * @brief Plan the addition of a node.
 * @param[in]  h    partitioner (unchanged)
 * @param[in]  node the new node
 * @param[out] out  the plan; free it with ut_partition_plan_free()
 * @return UT_OK
 * @retval UT_EINVAL NULL argument, id 0 or weight 0
 * @retval UT_EEXIST the id is already in the set
 * @retval UT_ENOMEM allocation failed
 * @since 0.2.0
 */
UT_API int ut_partitioner_plan_add(ut_partitioner_t *h, const ut_partition_node_t *node,
                                   ut_partition_plan_t **out);

/**
 * @brief Plan the removal of a node (any node, not only the last).
 * @param[in]  h   partitioner (unchanged)
 * @param[in]  id  node id
 * @param[out] out the plan
 * @return UT_OK
 * @retval UT_EINVAL NULL argument
 * @retval UT_ENOTFOUND no such node
 * @retval UT_ERANGE the set would fall below the replication factor
 * @retval UT_ENOMEM allocation failed
 * @since 0.2.0
 */
UT_API int ut_partitioner_plan_remove(ut_partitioner_t *h, uint64_t id, ut_partition_plan_t **out);

/**
 * @brief Plan a new weight for a node.
 * @param[in]  h      partitioner (unchanged)
 * @param[in]  id     node id
 * @param[in]  weight new weight, non-zero
 * @param[out] out    the plan
 * @return UT_OK
 * @retval UT_EINVAL NULL argument or weight 0
 * @retval UT_ENOTFOUND no such node
 * @retval UT_ENOMEM allocation failed
 * @since 0.2.0
 */
UT_API int ut_partitioner_plan_reweight(ut_partitioner_t *h, uint64_t id, uint32_t weight,
                                        ut_partition_plan_t **out);

/**
 * @brief Apply a plan made against the current map. Never fails halfway.
 * @param[in] h    partitioner
 * @param[in] plan plan (stays owned by the caller; empty after a success)
 * @return UT_OK
 * @retval UT_EINVAL NULL argument, a plan already applied, or made for another map
 * @retval UT_ESTALE the plan was made against an older version
 * @since 0.2.0
 */
UT_API int ut_partitioner_apply(ut_partitioner_t *h, ut_partition_plan_t *plan);

/** @brief Free a plan. NULL is a no-op. @param[in] plan plan @since 0.2.0 */
UT_API void ut_partition_plan_free(ut_partition_plan_t *plan);

/** @brief Number of moves. @param[in] plan plan @return count (0 for NULL) @since 0.2.0 */
UT_API size_t ut_partition_plan_count(const ut_partition_plan_t *plan);

/** @brief Map version the plan was made against. @param[in] plan plan @return version @since 0.2.0
 */
UT_API uint64_t ut_partition_plan_base_version(const ut_partition_plan_t *plan);

/**
 * @brief The i-th move: a copy of @p partition_id held by @p from moves to @p to.
 * @param[in]  plan plan
 * @param[in]  i    index < ut_partition_plan_count()
 * @param[out] partition_id partition
 * @param[out] from node giving the copy up
 * @param[out] to   node receiving it
 * @return UT_OK
 * @retval UT_EINVAL NULL argument
 * @retval UT_ENOTFOUND i out of range
 * @since 0.2.0
 */
UT_API int ut_partition_plan_move(const ut_partition_plan_t *plan, size_t i, uint32_t *partition_id,
                                  uint64_t *from, uint64_t *to);

/**
 * @brief Split a RANGE partition at a key: the partition holding @p key
 *        becomes [lo, key) and [key, hi). Partition ids above it shift by one.
 * @param[in] h   partitioner
 * @param[in] key split key (not an existing boundary, not the empty key)
 * @param[in] len length
 * @return UT_OK
 * @retval UT_EINVAL NULL argument
 * @retval UT_ESTATE not a RANGE map
 * @retval UT_EEXIST key is already a boundary (or empty)
 * @retval UT_ENOMEM allocation failed
 * @since 0.2.0
 */
UT_API int ut_partitioner_split(ut_partitioner_t *h, const void *key, size_t len);

/**
 * @brief Merge RANGE partition @p partition_id with its right neighbour.
 * @param[in] h partitioner
 * @param[in] partition_id left partition
 * @return UT_OK
 * @retval UT_EINVAL NULL handle
 * @retval UT_ESTATE not a RANGE map
 * @retval UT_ENOTFOUND no such partition or no right neighbour
 * @retval UT_ENOMEM allocation failed
 * @since 0.2.0
 */
UT_API int ut_partitioner_merge(ut_partitioner_t *h, uint32_t partition_id);

/**
 * @brief Report a RANGE partition's size and load (caller's counters).
 * @param[in] h partitioner
 * @param[in] partition_id partition
 * @param[in] bytes size
 * @param[in] load  requests per second (or any load unit)
 * @return UT_OK
 * @retval UT_EINVAL NULL handle
 * @retval UT_ESTATE not a RANGE map
 * @retval UT_ENOTFOUND no such partition
 * @since 0.2.0
 */
UT_API int ut_partitioner_report(ut_partitioner_t *h, uint32_t partition_id, uint64_t bytes,
                                 uint64_t load);

/**
 * @brief Suggest a split or a merge from the reported counters.
 *
 * Split when bytes > split_bytes or load > split_load; merge two neighbours
 * when their sum is below a quarter of both thresholds, so that the merged
 * partition is far from the split threshold and the halves of a split are
 * far above the merge threshold (hysteresis: no flapping).
 * @param[in]  h           partitioner
 * @param[in]  split_bytes size threshold (non-zero)
 * @param[in]  split_load  load threshold (non-zero)
 * @param[out] kind        suggestion
 * @param[out] partition_id partition (the left one for a merge)
 * @return UT_OK
 * @retval UT_EINVAL NULL argument or zero threshold
 * @retval UT_ESTATE not a RANGE map
 * @since 0.2.0
 */
UT_API int ut_partitioner_suggest(const ut_partitioner_t *h, uint64_t split_bytes,
                                  uint64_t split_load, ut_partition_suggestion_t *kind,
                                  uint32_t *partition_id);

/**
 * @brief Serialise the whole map: "UTPM", format 1, version, config,
 *        node set, boundaries and lists, CRC32C (docs/partition.md).
 * @param[in]  h   partitioner
 * @param[out] buf destination (may be NULL when cap is 0)
 * @param[in]  cap capacity
 * @param[out] len bytes needed / written
 * @return UT_OK
 * @retval UT_EINVAL NULL handle or len
 * @retval UT_ERANGE cap too small (*len says how much is needed)
 * @since 0.2.0
 */
UT_API int ut_partitioner_encode(const ut_partitioner_t *h, void *buf, size_t cap, size_t *len);

/**
 * @brief Rebuild a partitioner from ut_partitioner_encode() bytes.
 * @param[out] out new partitioner, same map and version
 * @param[in]  buf bytes
 * @param[in]  len length
 * @return UT_OK
 * @retval UT_EINVAL NULL argument
 * @retval UT_ECORRUPT bad magic, checksum, length or content
 * @retval UT_EVERSION unknown format version
 * @retval UT_EEXIST duplicate node or list value in the bytes
 * @retval UT_ERANGE replication factor above the node count in the bytes
 * @retval UT_ENOMEM allocation failed
 * @since 0.2.0
 */
UT_API int ut_partitioner_decode(ut_partitioner_t **out, const void *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
