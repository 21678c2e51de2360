/* SPDX-License-Identifier: MIT */
/* The properties of a lock service whose ut_lock_table_t replicas apply one
 * log, checked in one place for utsim's lock scenario
 * (tools/sim/scenarios/lock.c) and the seeded cluster test
 * (tests/test_lock_cluster.c). It uses only the public API, so it also
 * links against the fault builds.
 *
 * The model is built from the first application of each log index (every
 * replica that applies the index must reach the same table: checked by
 * lkc_replica), and the checks are:
 *  - replicas agree: the same snapshot bytes after the same index;
 *  - mutual exclusion: no exclusive resource has two holders, in the model
 *    and in every node's table after every application;
 *  - tokens strictly increase over the grants of a resource (Chubby §2.4);
 *  - no grant inside a resource's lock-delay after an expiry (Chubby §2.4);
 *  - FIFO: a queued holder is granted only at the head of its queue;
 *  - no deadlock among waiters (the wait-for graph of the model);
 *  - no lost grant: after a TICK no free resource (no holder, lock-delay
 *    over) still has waiters;
 *  - the model agrees with the table's own counts;
 *  - the resource server: a write is accepted only with a token that was
 *    granted to its writer for that resource, never with one older than an
 *    accepted one, and one token is never accepted from two writers.
 * Internal to tools/ and tests/ (not installed, no ABI). */
#ifndef UTSIM_LOCK_CHECK_H
#define UTSIM_LOCK_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <unitypes.h>

#define LKC_MAX_RES 8
#define LKC_MAX_CLIENTS 32
#define LKC_MAX_QUEUE 64

typedef struct lkc_grant {
    uint64_t token;
    int client;
} lkc_grant_t;

typedef struct lkc {
    /* configuration: resources by name; clients are named "c0", "c1", ... */
    unsigned nres, nclients;
    const char *res_name[LKC_MAX_RES];
    size_t res_len[LKC_MAX_RES];
    uint64_t lock_delay_ms;
    /* the model (first application of each index) */
    bool holder[LKC_MAX_RES][LKC_MAX_CLIENTS];
    uint64_t hold_token[LKC_MAX_RES][LKC_MAX_CLIENTS];
    uint64_t last_token[LKC_MAX_RES];
    uint64_t delay_until[LKC_MAX_RES];
    int queue[LKC_MAX_RES][LKC_MAX_QUEUE];
    size_t nq[LKC_MAX_RES];
    int waiting_on[LKC_MAX_CLIENTS];  /* resource, or -1 */
    lkc_grant_t *grants[LKC_MAX_RES]; /* every grant, in token order */
    size_t ngrants[LKC_MAX_RES], capgrants[LKC_MAX_RES];
    /* replicas: hash of the table after each index (0 = not yet seen) */
    uint64_t *hash;
    size_t caphash;
    unsigned char *snap;
    size_t capsnap;
    ut_lock_event_t *ev; /* lkc_take_events */
    size_t capev;
    /* the resource server: last accepted token and its writer */
    uint64_t acc_token[LKC_MAX_RES];
    int acc_client[LKC_MAX_RES];
    /* figures */
    uint64_t n_grants, n_queued, n_conflicts, n_deadlocks, n_expired, n_timeouts;
    uint64_t n_accepted, n_stale, checks;
    /* the first violation (or an internal error: oom) */
    bool failed, oom;
    const char *invariant;
    char detail[256];
} lkc_t;

/* 0, or -1 for bad arguments or no memory. names: nres resource names. */
int lkc_init(lkc_t *k, unsigned nres, const char *const *names, unsigned nclients,
             uint64_t lock_delay_ms);
void lkc_free(lkc_t *k);

/* Index of a resource / client name, or -1. */
int lkc_res_of(const lkc_t *k, const void *name, size_t len);
int lkc_client_of(const lkc_t *k, const void *name, size_t len);

/* Drain t's events (of its last mutating call) into k's buffer; *n of
 * them, valid until the next call on t or on this function. */
const ut_lock_event_t *lkc_take_events(lkc_t *k, ut_lock_table_t *t, size_t *n);
/* The first application of a log entry: the encoded command, the table's
 * reply, the length of the deadlock cycle it reported, its events, and the
 * table time after it. */
void lkc_observe(lkc_t *k, const void *cmd, size_t len, const ut_lock_reply_t *rp, size_t cycle_len,
                 const ut_lock_event_t *ev, size_t nev, uint64_t table_now);
/* Any node's table after any application: mutual exclusion. */
void lkc_table(lkc_t *k, uint64_t node, const ut_lock_table_t *t);
/* The model against the table that produced it (holders and waiters). */
void lkc_model_matches(lkc_t *k, const ut_lock_table_t *t);
/* Node `node`'s table after applying `index`: the same bytes as every other
 * replica's after that index. */
void lkc_replica(lkc_t *k, uint64_t node, uint64_t index, const ut_lock_table_t *t);
/* Whether token was granted to client c for resource r. */
bool lkc_was_granted(const lkc_t *k, int r, int c, uint64_t token);
/* The resource server judged a write of client c on resource r with token:
 * fence_rc is what ut_fence_check returned. */
void lkc_write(lkc_t *k, int r, int c, uint64_t token, int fence_rc);
/* End of a quiet period: nobody is still queued (no lost grant). */
void lkc_idle(lkc_t *k);

#endif
