/* SPDX-License-Identifier: MIT */
/* Placement algorithms of the partitioner, shared by partition.c and the
 * benchmark (which measures each algorithm's key lookup directly). */
#ifndef UT_PARTITION_INTERNAL_H
#define UT_PARTITION_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "unitypes.h"

/* Seeds of ut_partition_hash(), part of the map format. */
#define UT__PARTITION_SEED_KEY 0u
#define UT__PARTITION_SEED_SUB 0x5355424b455953ull    /* composite sub-level */
#define UT__PARTITION_SEED_RING 0x52494e47504f494eull /* ring points */
#define UT__PARTITION_SEED_NODE 0x4e4f444548415348ull /* per-node hash */
#define UT__PARTITION_SEED_PART 0x5041525449544e53ull /* partition seeds */

/* Built placement state for one node set (nodes sorted by id, borrowed). */
typedef struct ut__partition_place {
    ut_partition_algo_t algo;
    const ut_partition_node_t *nodes;
    size_t n;
    uint64_t *node_hash; /* per-node hash (Maglev, rendezvous) */
    /* ring */
    uint64_t *ring_hash;
    uint32_t *ring_node;
    size_t ring_n;
    uint32_t *ring_index; /* (1 << ring_bits) + 1 entries */
    unsigned ring_shift;  /* 64 - ring_bits */
    /* Maglev */
    uint32_t *mg_table;
    uint32_t mg_size;
} ut__partition_place_t;

int ut__partition_place_build(ut__partition_place_t *p, ut_partition_algo_t algo,
                              const ut_partition_node_t *nodes, size_t n, unsigned vnodes,
                              uint32_t maglev_size);
void ut__partition_place_free(ut__partition_place_t *p);

/* Primary node index for a 64-bit hash; never allocates. */
uint32_t ut__partition_place_pick(const ut__partition_place_t *p, uint64_t h);

/* Candidate sequence for replica selection, restartable. */
typedef struct ut__partition_iter {
    const ut__partition_place_t *p;
    uint64_t h;
    size_t step;
    size_t pos;
} ut__partition_iter_t;

void ut__partition_iter_init(ut__partition_iter_t *it, const ut__partition_place_t *p, uint64_t h);
/* Next candidate node index, or SIZE_MAX when the sequence is exhausted
 * (callers then fall back to a scan of the node set). May repeat nodes.
 * scores: scratch of p->n doubles for rendezvous (NULL otherwise allowed). */
size_t ut__partition_iter_next(ut__partition_iter_t *it, double *scores, uint32_t *stamp,
                               uint32_t mark);

uint32_t ut__partition_jump(uint64_t key, uint32_t n);

#endif
