/* SPDX-License-Identifier: MIT */
/* A deterministic in-process network for ut_gossip_t members: a virtual
 * clock, seeded loss, duplication and delay (hence reordering), stalled
 * members (they stop processing; messages wait), crashes and restarts, and
 * partitions. Every message goes through the codec (encoded on send,
 * decoded on delivery), so bytes are counted as they would be on a wire.
 * Shared by the cluster test and bench/bench_gossip.c; written so it can be
 * moved behind utsim's scenario interface later. */
#ifndef GOSSIP_CLUSTER_H
#define GOSSIP_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <unitypes.h>

typedef struct gc_config {
    size_t n;          /* members, ids 1..n */
    uint64_t seed;     /* network and member seeds */
    unsigned loss_pct; /* per-message loss, percent */
    unsigned dup_pct;  /* per-message duplication, percent */
    uint32_t delay_min_ms, delay_max_ms;
    uint32_t tick_ms; /* tick grid: a member is ticked at the grid points where its
                         ut_gossip_next_deadline() says a tick has work */
    uint32_t probe_interval_ms, probe_timeout_ms;
    uint32_t push_pull_ms;
    bool lifeguard;
    bool bootstrap;   /* start with every member knowing every other one */
    bool check_views; /* check every view after every drain (n <= 256; default on) */
    /* Debugging aids (stderr; default off): every trace event by or about
     * this member and every message that carries an update about it; and
     * one line per false "dead" (who, about whom, both stall windows). */
    uint64_t trace_member;
    bool print_false_dead;
} gc_config_t;

typedef struct gc_stats {
    uint64_t msgs, bytes, dropped;
    uint64_t suspicions, false_suspicions;
    uint64_t deads, false_deads;                     /* DEAD events about non-crashed members */
    uint64_t oversize;                               /* datagrams above max_datagram */
    uint64_t detect_sum_ms, detect_n, detect_max_ms; /* crash -> first suspicion */
    uint64_t dead_all_n, dead_all_sum_ms;            /* crash -> dead at every live member */
    uint64_t *detect_ms;
    size_t detect_cap; /* every first detection, ms */
    /* Suspicions raised by the suspecter's own failed probe (a SUSPECTED
     * event out of a tick), by cause: the target had crashed (or was
     * partitioned away), or was stalled or slow during the probe; or
     * neither, a false suspicion (loss, or the suspecter's own slowness:
     * _self counts those whose suspecter was stalled or slow itself within
     * the probe's window). */
    uint64_t origin_susp, origin_susp_crash, origin_susp_stalled;
    uint64_t origin_susp_false, origin_susp_false_self;
    /* With gc_count_allocs: library allocations made by steps and ticks
     * (with their drains) of probe work, and of full-state exchanges. */
    uint64_t probe_calls, probe_allocs, sync_calls, sync_allocs;
    uint64_t view_checks; /* rules of tests/gossip_check.h checked (n <= 256) */
    uint64_t view_errors; /* ... and broken (must stay 0) */
} gc_stats_t;

typedef struct gc gc_t;

void gc_config_init(gc_config_t *c);
gc_t *gc_new(const gc_config_t *c);
void gc_free(gc_t *g);
/* Runs the world until virtual time t (ms). */
void gc_run_until(gc_t *g, uint64_t t);
uint64_t gc_now(const gc_t *g);
ut_gossip_t *gc_node(gc_t *g, size_t i); /* i in 0..n-1 (id i+1); NULL if crashed */
void gc_crash(gc_t *g, size_t i);
void gc_restart(gc_t *g, size_t i); /* a new incarnation joining through a live seed */
void gc_stall(gc_t *g, size_t i, uint64_t until_ms);
/* Member i is slow until until_ms: it keeps ticking, but every message
 * sent to it meanwhile reaches it lag_ms late (an overloaded receiver, the
 * case Lifeguard's local health is for). */
void gc_slow(gc_t *g, size_t i, uint64_t until_ms, uint32_t lag_ms);
/* Members with side[i] != side[j] cannot talk; NULL heals. */
void gc_partition(gc_t *g, const unsigned char *side);
/* fn returns the number of allocations made so far (the caller's counting
 * ut_allocator_t); the stats then split them by the work that made them. */
void gc_count_allocs(gc_t *g, uint64_t (*fn)(void));
/* Change the loss rate from now on (e.g. 0: the faults stop). */
void gc_set_loss(gc_t *g, unsigned loss_pct);
bool gc_crashed(const gc_t *g, size_t i);
const gc_stats_t *gc_stats(const gc_t *g);
/* Status of member j as seen by member i (UT_NODE_DEAD if i crashed or j unknown). */
ut_node_status_t gc_view(gc_t *g, size_t i, size_t j);
/* Optional event hook. */
typedef void (*gc_event_fn)(void *ud, size_t node, const ut_gossip_event_t *ev, uint64_t now);
void gc_on_event(gc_t *g, gc_event_fn fn, void *ud);
/* Error codes returned by the library during the run (must stay 0). */
uint64_t gc_errors(const gc_t *g);

#endif
