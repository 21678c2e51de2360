/* SPDX-License-Identifier: MIT */
/* The replica set's durability and visibility checks, written once and used
 * by both harnesses that drive a primary's ut_replica_set_t against replicas
 * that really store positions: the seeded cluster test
 * (tests/test_replica_cluster.c) and utsim's replica scenario
 * (tools/sim/scenarios/replica.c). Header-only, no test framework: a check
 * records its first violation (a static message and two numbers) and the
 * harness reports it its own way.
 *
 * The harness keeps an rc_state_t next to the handle, feeds it every event
 * of every ready (rc_event) and calls rc_check after every event of its
 * world with what each replica really holds (its contiguous stored prefix,
 * what a failover to it would keep). Checked:
 * - status: every change is an event whose `from` is the last status told;
 *   a failed replica leaves failed only for syncing; the accessor agrees;
 * - never silent: the degradation count and flag agree with the
 *   DEGRADED/RESTORED events;
 * - the durable position never goes back and never passes the last write;
 * - at all times the replicas the strategy names hold the durable position:
 *   sync, every in-sync member; chain, every live link that is not
 *   resyncing; tree, every live node that is not resyncing;
 * - when the durable position moves, the copies the strategy promises
 *   exist: sync, at least min_in_sync in-sync members; semi-sync, at least
 *   k replicas unless degraded (which an event said); chain, every link
 *   from head to tail; tree, every live node (every root-to-leaf path);
 *   async, none;
 * - no replica that is not failed is credited with more than it holds. */
#ifndef UT_TEST_REPLICA_CHECK_H
#define UT_TEST_REPLICA_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <unitypes.h>

typedef struct rc_state {
    /* set by rc_init */
    ut_replication_t strat;
    size_t n;
    uint64_t ids[UT_REPLICA_SET_MAX];
    uint64_t self;
    uint32_t min_in_sync, semi_sync_acks;
    /* as told by the events of the current handle */
    ut_replica_status_t st[UT_REPLICA_SET_MAX];
    uint64_t degr_events;
    bool degraded;
    /* across handles (a restarted primary keeps the promise of the last) */
    uint64_t durable_seen;
    bool weak_seen; /* a durable write held by no replica: a failover would lose it */
    uint64_t checks, advances;
    /* the first violation */
    const char *why;
    uint64_t a, b;
} rc_state_t;

static inline void rc_fail(rc_state_t *s, const char *why, uint64_t a, uint64_t b)
{
    if (s->why)
        return;
    s->why = why;
    s->a = a;
    s->b = b;
}

/* A new handle whose replicas all start in `initial` (in-sync after
 * ut_replica_set_new, syncing after ut_replica_set_restore). */
static inline void rc_reset(rc_state_t *s, ut_replica_status_t initial)
{
    for (size_t i = 0; i < s->n; i++)
        s->st[i] = initial;
    s->degr_events = 0;
    s->degraded = false;
}

static inline void rc_init(rc_state_t *s, const ut_replica_set_config_t *cfg)
{
    memset(s, 0, sizeof *s);
    s->strat = cfg->strategy;
    s->n = cfg->n_replicas < UT_REPLICA_SET_MAX ? cfg->n_replicas : UT_REPLICA_SET_MAX;
    for (size_t i = 0; i < s->n; i++)
        s->ids[i] = cfg->replicas[i];
    s->self = cfg->self_id;
    s->min_in_sync = cfg->min_in_sync;
    s->semi_sync_acks = cfg->semi_sync_acks;
    rc_reset(s, UT_REPLICA_IN_SYNC);
}

static inline int rc_index(const rc_state_t *s, uint64_t id)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->ids[i] == id)
            return (int)i;
    return -1;
}

static inline bool rc_live(ut_replica_status_t st)
{
    return st != UT_REPLICA_OFFLINE && st != UT_REPLICA_FAILED;
}

/* One event of a ready, in order. */
static inline void rc_event(rc_state_t *s, const ut_replica_event_t *e)
{
    if (e->kind == UT_REPLICA_EVENT_DEGRADED) {
        s->degr_events++;
        s->degraded = true;
        return;
    }
    if (e->kind == UT_REPLICA_EVENT_RESTORED) {
        s->degraded = false;
        return;
    }
    if (e->kind != UT_REPLICA_EVENT_STATUS)
        return;
    int k = rc_index(s, e->replica);
    if (k < 0 || s->st[k] != e->from)
        rc_fail(s, "status event does not follow the last one", e->replica, e->from);
    else if (e->from == UT_REPLICA_FAILED && e->to != UT_REPLICA_SYNCING)
        rc_fail(s, "failed replica left failed other than by resync", e->replica, e->to);
    else
        s->st[k] = e->to;
}

/* After every event: stored[i] is what replica ids[i] really holds. Returns
 * false once a violation is recorded. */
static inline bool rc_check(rc_state_t *s, const ut_replica_set_t *h, const uint64_t *stored)
{
    uint64_t d = ut_replica_set_durable(h), last = ut_replica_set_last(h);
    s->checks++;
    if (d < s->durable_seen)
        rc_fail(s, "durable went back", s->durable_seen, d);
    if (d > last)
        rc_fail(s, "durable beyond last", d, last);
    if (ut_replica_set_degradations(h) != s->degr_events)
        rc_fail(s, "a degradation without an event", ut_replica_set_degradations(h),
                s->degr_events);
    if (ut_replica_set_degraded(h) != s->degraded)
        rc_fail(s, "degraded state differs from the events", ut_replica_set_degraded(h),
                s->degraded);
    size_t in_sync = 0;
    for (size_t i = 0; i < s->n; i++) {
        ut_replica_info_t inf;
        if (ut_replica_set_info(h, s->ids[i], &inf) != UT_OK) {
            rc_fail(s, "a replica of the config is unknown", s->ids[i], 0);
            continue;
        }
        if (inf.status != s->st[i])
            rc_fail(s, "status changed without an event", s->ids[i], inf.status);
        if (inf.status != UT_REPLICA_FAILED && inf.acked > stored[i])
            rc_fail(s, "a replica is credited with more than it holds", s->ids[i], inf.acked);
        in_sync += inf.status == UT_REPLICA_IN_SYNC;
        /* The strategy's holders hold the durable position, at all times. */
        bool holder = false;
        switch (s->strat) {
        case UT_REPLICATION_SYNC:
            holder = inf.status == UT_REPLICA_IN_SYNC;
            break;
        case UT_REPLICATION_CHAIN:
        case UT_REPLICATION_TREE:
            holder = rc_live(inf.status) && inf.status != UT_REPLICA_SYNCING;
            break;
        default:
            break;
        }
        if (holder && stored[i] < d)
            rc_fail(s,
                    s->strat == UT_REPLICATION_SYNC
                        ? "sync: an in-sync replica lacks a durable write"
                    : s->strat == UT_REPLICATION_CHAIN ? "chain: a live link lacks a durable write"
                                                       : "tree: a live node lacks a durable write",
                    s->ids[i], d);
    }
    if (d > s->durable_seen) {
        /* The moment a write becomes durable: the copies promised exist. */
        size_t have = 0, need = 0;
        for (size_t i = 0; i < s->n; i++)
            have += stored[i] >= d;
        switch (s->strat) {
        case UT_REPLICATION_SYNC:
            need = s->min_in_sync;
            if (in_sync < s->min_in_sync)
                rc_fail(s, "sync: durable moved with the in-sync set below its minimum", in_sync,
                        s->min_in_sync);
            break;
        case UT_REPLICATION_SEMI_SYNC:
            need = s->degraded ? 0 : s->semi_sync_acks;
            break;
        case UT_REPLICATION_ASYNC:
            break;
        case UT_REPLICATION_CHAIN: {
            /* Every link from head to tail (van Renesse & Schneider §3). */
            uint64_t link = 0;
            size_t links = 0;
            if (ut_replica_set_successor(h, s->self, &link) != UT_OK)
                rc_fail(s, "chain: no head", 0, 0);
            while (link != 0 && links <= s->n) {
                int k = rc_index(s, link);
                if (k < 0) {
                    rc_fail(s, "chain: an unknown link", link, 0);
                    break;
                }
                if (stored[k] < d)
                    rc_fail(s, "chain: a live link lacks a durable write", link, d);
                links++;
                if (ut_replica_set_successor(h, link, &link) != UT_OK)
                    break;
            }
            need = links > 0 ? 1 : 0;
            break;
        }
        case UT_REPLICATION_TREE:
            /* Every node of every root-to-leaf path of live nodes. */
            for (size_t i = 0; i < s->n; i++)
                if (rc_live(s->st[i])) {
                    need++;
                    if (stored[i] < d)
                        rc_fail(s, "tree: a live node lacks a durable write", s->ids[i], d);
                }
            break;
        }
        if (have < need)
            rc_fail(s, "durable write on too few replicas", have, need);
        if (have == 0)
            s->weak_seen = true;
        s->durable_seen = d;
        s->advances++;
    }
    return s->why == NULL;
}

#endif
