/* SPDX-License-Identifier: MIT */
/* The primary's replica set: strategies, status graph, durable position.
 * The model and its sources are in include/unitypes/replica.h; rules below
 * name their source where one applies. */
#include "internal.h"

#include "common/handle.h"
#include "common/outbox.h"
#include "common/trace.h"
#include "unitypes/replica.h"

#define UT__REPLICA_MAGIC 0x52455053u /* 'REPS' */
/* Write times remembered for lag in ms: a replica further behind than this
 * is measured from the oldest remembered write (an underestimate, and then
 * far beyond any entry bound anyway). */
#define UT__WRITE_RING 1024u

typedef struct ut__replica {
    uint64_t id;
    ut_replica_status_t status;
    uint64_t acked, applied;
    uint64_t last_sync_ms; /* last time acked == the primary's last */
    uint64_t last_heard_ms;
    bool in_chain; /* chain: a live link */
    /* Resync epoch: raised each time a failed replica is resynced (its disk
     * was rebuilt from nothing); writes to it carry it and the replica
     * echoes the highest it was given. An ack below it was sent by the old
     * disk before the resync and reports positions the new disk lacks. */
    uint64_t epoch;
} ut__replica_t;

typedef struct ut__evvec {
    ut_replica_event_t *ev;
    size_t n, cap;
} ut__evvec_t;

struct ut_replica_set {
    ut__handle_t base;
    ut__tracer_t tracer;
    ut_replica_set_config_t cfg; /* cfg.replicas is not kept */
    ut__replica_t *reps;
    size_t n;
    size_t n_in_sync; /* replicas in-sync now, kept with every status change */
    uint64_t id_base; /* ids_dense: reps[i].id == id_base + i for every i */
    bool ids_dense;
    size_t *chain; /* chain order: indices into reps, live links only */
    size_t chain_n;
    uint64_t last, durable, now;
    bool degraded;
    bool started; /* wrote or took an ack: too late to restore */
    /* Min-based strategies (sync, chain, tree): the smallest ack among the
     * holders and how many holders have it, as of the last full settle, so
     * that an ack that does not move that minimum skips the O(n) work. */
    bool min_valid;
    uint64_t min_ack;
    size_t at_min;
    /* Semi-sync: how many replicas not failed have an ack above min_ack
     * (the k-th highest), fewer than k; an ack that crosses min_ack raises
     * it, and only the one that brings it to k can move the k-th highest. */
    size_t above;
    /* No time bound and no degradable semi-sync: an ack that leaves an
     * in-sync replica in-sync can emit no event and send nothing, so it
     * needs no room reserved (ut_replica_set_step's common ack). */
    bool quiet_acks;
    uint64_t degradations;
    uint64_t resyncs; /* resync epochs handed out by this incarnation */
    uint64_t *wtime;  /* time each of the last UT__WRITE_RING positions was written */
    ut__outbox_t ob;
    ut__evvec_t evs[2];
    ut__evvec_t *live_ev, *out_ev;
    ut__readyseq_t rs;
};

/* The config's tracer (unitypes/trace.h): static strings only. */
#define UT__RS_TRACE(h, lvl, ev, why, a, b)                                                        \
    ut__trace(&(h)->tracer, (lvl), "replica", (h)->cfg.self_id, (ev), (why), (a), (b))
/* Refuse an input: trace it (event, static reason), then fail with the
 * formatted message. */
#define UT__RS_REFUSE(h, ev, why, code, ...)                                                       \
    do {                                                                                           \
        UT__RS_TRACE((h), UT_TRACE_WARN, (ev), (why), (uint64_t) - (int64_t)(code), 0);            \
        UT__FAIL(&(h)->base, (code), __VA_ARGS__);                                                 \
    } while (0)

/* The status graph (replica.h): a failed replica goes through syncing. */
static bool ut__replica_edge(ut_replica_status_t from, ut_replica_status_t to)
{
    switch (from) {
    case UT_REPLICA_SYNCING:
        return to == UT_REPLICA_IN_SYNC || to == UT_REPLICA_OFFLINE || to == UT_REPLICA_FAILED;
    case UT_REPLICA_IN_SYNC:
        return to == UT_REPLICA_LAGGING || to == UT_REPLICA_OFFLINE || to == UT_REPLICA_FAILED;
    case UT_REPLICA_LAGGING:
        return to == UT_REPLICA_IN_SYNC || to == UT_REPLICA_OFFLINE || to == UT_REPLICA_FAILED;
    case UT_REPLICA_OFFLINE:
        return to == UT_REPLICA_SYNCING || to == UT_REPLICA_FAILED;
    case UT_REPLICA_FAILED:
        return to == UT_REPLICA_SYNCING;
    }
    return false;
}

static bool ut__replica_live(const ut__replica_t *r)
{
    /* Not offline, not failed: the two highest values (types.h), so one
     * comparison. */
    _Static_assert(
        UT_REPLICA_SYNCING < UT_REPLICA_OFFLINE && UT_REPLICA_IN_SYNC < UT_REPLICA_OFFLINE &&
            UT_REPLICA_LAGGING < UT_REPLICA_OFFLINE && UT_REPLICA_OFFLINE < UT_REPLICA_FAILED,
        "offline and failed are the two highest statuses");
    return (unsigned)r->status < (unsigned)UT_REPLICA_OFFLINE;
}

/* How long position `held` + 1 has been waiting: the time since the oldest
 * write beyond `held` (Kafka measures the same: time since the follower was
 * last caught up to a position the leader had then). */
static uint64_t ut__wait_ms(const ut_replica_set_t *h, uint64_t held)
{
    if (held >= h->last)
        return 0;
    uint64_t next = held + 1;
    if (h->last - next >= UT__WRITE_RING)
        next = h->last - UT__WRITE_RING + 1;
    uint64_t t = h->wtime[next % UT__WRITE_RING];
    return h->now > t ? h->now - t : 0;
}

int ut_replica_set_config_init(ut_replica_set_config_t *cfg, unsigned version)
{
    if (cfg == NULL)
        return UT_EINVAL;
    if (version == 0 || version > UT_REPLICA_SET_CONFIG_VERSION)
        return UT_EVERSION;
    memset(cfg, 0, sizeof *cfg);
    cfg->version = version;
    cfg->strategy = UT_REPLICATION_SYNC;
    cfg->consistency = UT_CONSISTENCY_ONE;
    cfg->min_in_sync = 1;
    cfg->semi_sync_acks = 1;
    cfg->tree_fanout = 2;
    cfg->lag_bound_entries = 1024;
    return UT_OK;
}

/* Events and messages room for one operation, reserved before any change so
 * that UT_ENOMEM leaves the set as it was. */
__attribute__((noinline)) static int ut__replica_grow(ut_replica_set_t *h, size_t msgs,
                                                      size_t events)
{
    ut__evvec_t *v = h->live_ev;
    int rc = UT_OK;
    if (v->n + events > v->cap)
        rc = ut__grow((void **)&v->ev, &v->cap, v->n + events, sizeof v->ev[0]);
    if (rc == UT_OK && h->ob.live->n + msgs > h->ob.live->cap)
        rc = ut__outbox_reserve(&h->ob, msgs, 0);
    return rc;
}

static inline int ut__replica_reserve(ut_replica_set_t *h, size_t msgs, size_t events)
{
    /* The common case at steady state: room already, no call. */
    if (h->live_ev->n + events <= h->live_ev->cap && h->ob.live->n + msgs <= h->ob.live->cap)
        return UT_OK;
    return ut__replica_grow(h, msgs, events);
}

static void ut__replica_event(ut_replica_set_t *h, ut_replica_event_kind_t kind, uint64_t id,
                              ut_replica_status_t from, ut_replica_status_t to, uint64_t succ)
{
    ut__evvec_t *v = h->live_ev;
    if (v->n == v->cap)
        return; /* unreachable: every caller reserved */
    ut_replica_event_t *e = &v->ev[v->n++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->replica = id;
    e->from = from;
    e->to = to;
    e->position = h->last;
    e->successor = succ;
}

/* *m = a zero message, every byte, padding included (ut__outbox_push's
 * contract). Not a memset: gcc compiles the memset of the whole envelope
 * to rep stos, tens of cycles per message on the RS1 machine
 * (docs/BENCHMARKS.md); vector stores of a zero register where there are
 * vectors, a copy of a static zero message elsewhere. */
#if !(defined(__SSE2__) && (defined(__GNUC__) || defined(__clang__)))
static const ut_msg_t ut__replica_msg_zero;
#endif
static inline void ut__replica_msg_clear(ut_msg_t *m)
{
#if defined(__SSE2__) && (defined(__GNUC__) || defined(__clang__))
    typedef long long ut__v16 __attribute__((vector_size(16), aligned(1), may_alias));
    ut__v16 *w = (ut__v16 *)(void *)m;
    const ut__v16 z = {0, 0};
    _Static_assert(sizeof(ut_msg_t) == 8 * sizeof(ut__v16), "eight vectors");
    w[0] = z, w[1] = z, w[2] = z, w[3] = z, w[4] = z, w[5] = z, w[6] = z, w[7] = z;
#else
    *m = ut__replica_msg_zero;
#endif
}

static inline void ut__replica_send(ut_replica_set_t *h, ut_msg_type_t type, uint64_t to,
                                    uint64_t a, uint64_t b, uint64_t epoch)
{
    /* ut__outbox_push's contract (a zeroed message in the live buffer),
     * inline for the room every caller reserved: ut__replica_msg_clear
     * instead of the push's memset (rep stos). */
    ut__msgvec_t *v = h->ob.live;
    ut_msg_t *m;
    if (v->n < v->cap) {
        m = &v->msgs[v->n++];
        ut__replica_msg_clear(m);
        m->type = type;
        m->from = h->cfg.self_id;
        m->to = to;
    } else {
        m = ut__outbox_push(&h->ob, type, h->cfg.self_id, to);
        if (m == NULL)
            return; /* unreachable: every caller reserved */
    }
    if (type == UT_MSG_REPL_WRITE) {
        m->body.repl_write.position = a;
        m->body.repl_write.durable = b;
        m->body.repl_write.epoch = epoch;
    } else {
        m->body.repl_link.successor = a;
        m->body.repl_link.position = b;
    }
}

/* ---- chain bookkeeping (van Renesse & Schneider 2004, §3) ---- */

static size_t ut__chain_pos(const ut_replica_set_t *h, size_t idx)
{
    for (size_t k = 0; k < h->chain_n; k++)
        if (h->chain[k] == idx)
            return k;
    return SIZE_MAX;
}

/* Removing a link: its predecessor (or the primary, for the head) now
 * forwards to its successor, resending what the successor lacks. Every
 * predecessor holds all a successor holds (the paper's Update Propagation
 * Invariant), so nothing acknowledged is lost; a removed tail leaves its
 * predecessor as tail, which holds at least what the old tail acked. */
static void ut__chain_remove(ut_replica_set_t *h, size_t idx)
{
    size_t k = ut__chain_pos(h, idx);
    if (k == SIZE_MAX)
        return;
    memmove(&h->chain[k], &h->chain[k + 1], (h->chain_n - k - 1) * sizeof h->chain[0]);
    h->chain_n--;
    h->reps[idx].in_chain = false;
    uint64_t succ = k < h->chain_n ? h->reps[h->chain[k]].id : 0;
    uint64_t from = k < h->chain_n ? h->reps[h->chain[k]].acked : 0;
    if (k > 0) {
        uint64_t pred = h->reps[h->chain[k - 1]].id;
        ut__replica_send(h, UT_MSG_REPL_LINK, pred, succ, from, 0);
        ut__replica_event(h, UT_REPLICA_EVENT_RELINKED, pred, 0, 0, succ);
        UT__RS_TRACE(h, UT_TRACE_INFO, "relink", "a link left the chain", pred, succ);
    } else if (succ != 0) {
        ut__replica_event(h, UT_REPLICA_EVENT_RELINKED, h->cfg.self_id, 0, 0, succ);
        UT__RS_TRACE(h, UT_TRACE_INFO, "relink", "the head left the chain", h->cfg.self_id, succ);
    }
}

/* A resynced replica joins at the end as the new tail (§3, "extending a
 * chain"): the old tail forwards to it from what it holds. */
static void ut__chain_append(ut_replica_set_t *h, size_t idx)
{
    if (h->reps[idx].in_chain)
        return;
    if (h->chain_n > 0) {
        uint64_t tail = h->reps[h->chain[h->chain_n - 1]].id;
        ut__replica_send(h, UT_MSG_REPL_LINK, tail, h->reps[idx].id, h->reps[idx].acked, 0);
        ut__replica_event(h, UT_REPLICA_EVENT_RELINKED, tail, 0, 0, h->reps[idx].id);
        UT__RS_TRACE(h, UT_TRACE_INFO, "relink", "a resynced replica joins as the tail", tail,
                     h->reps[idx].id);
    }
    h->chain[h->chain_n++] = idx;
    h->reps[idx].in_chain = true;
}

/* ---- durable position under each strategy ---- */

/* Whether some replica is live (stops at the first). */
static bool ut__any_live(const ut_replica_set_t *h)
{
    for (size_t i = 0; i < h->n; i++)
        if (ut__replica_live(&h->reps[i]))
            return true;
    return false;
}

static size_t ut__count_live(const ut_replica_set_t *h)
{
    size_t c = 0;
    for (size_t i = 0; i < h->n; i++)
        c += ut__replica_live(&h->reps[i]);
    return c;
}

/* Tree: replica i >= fanout has parent i / fanout - 1 (heap order); the
 * first fanout replicas are children of the primary. */
static bool ut__tree_top(const ut_replica_set_t *h, size_t i)
{
    /* Nearest live ancestor is the primary: it receives the primary's writes. */
    size_t f = h->cfg.tree_fanout;
    while (i >= f) { /* not a child of the primary */
        i = i / f - 1;
        if (ut__replica_live(&h->reps[i]))
            return false;
    }
    return true;
}

/* Semi-sync: the k-th highest ack among replicas whose data is intact, in
 * one pass keeping the k highest in descending order (k is small; the old
 * all-pairs count was O(n^2) per ack). Its own function so that the other
 * strategies do not pay for its stack array. */
static uint64_t ut__semi_sync_kth(const ut_replica_set_t *h)
{
    uint32_t k = h->cfg.semi_sync_acks, have = 0;
    uint64_t top[UT_REPLICA_SET_MAX];
    for (size_t i = 0; i < h->n; i++) {
        if (h->reps[i].status == UT_REPLICA_FAILED)
            continue;
        uint64_t a = h->reps[i].acked;
        if (have == k && a <= top[k - 1])
            continue;
        uint32_t j = have < k ? have++ : k - 1;
        for (; j > 0 && top[j - 1] < a; j--)
            top[j] = top[j - 1];
        top[j] = a;
    }
    return have == k ? top[k - 1] : 0;
}

static uint64_t ut__durable_now(const ut_replica_set_t *h)
{
    uint64_t d = h->last;
    switch (h->cfg.strategy) {
    case UT_REPLICATION_ASYNC:
        break;
    case UT_REPLICATION_SYNC:
        /* Every member of the in-sync set has it (Kafka's ISR high
         * watermark), and that set has at least min_in_sync members
         * (Kafka's min.insync.replicas): a set shrunk below the minimum
         * makes nothing durable, or an empty set would make everything so. */
        if (h->n_in_sync < h->cfg.min_in_sync) {
            d = h->durable;
            break;
        }
        for (size_t i = 0; i < h->n; i++)
            if (h->reps[i].status == UT_REPLICA_IN_SYNC && h->reps[i].acked < d)
                d = h->reps[i].acked;
        break;
    case UT_REPLICATION_SEMI_SYNC: {
        if (h->degraded)
            break; /* async while degraded: the event and accessor say so */
        uint64_t best = ut__semi_sync_kth(h);
        d = best < d ? best : d;
        break;
    }
    case UT_REPLICATION_CHAIN:
        /* The tail's ack (§2). Every predecessor holds at least what the
         * tail holds, so this is the smallest ack along the chain; taking
         * the minimum keeps that true when a rejoined link at the tail
         * holds writes its new predecessor has not forwarded yet. */
        if (h->chain_n == 0) {
            d = h->durable;
            break;
        }
#ifdef UT__FAULT_CHAIN_HEAD_DURABLE
        d = h->reps[h->chain[0]].acked; /* deliberately broken: the head's ack */
#else
        for (size_t k = 0; k < h->chain_n; k++)
            if (h->reps[h->chain[k]].acked < d)
                d = h->reps[h->chain[k]].acked;
#endif
        break;
    case UT_REPLICATION_TREE: {
        /* Every node of every root-to-leaf path of live nodes has it: the
         * smallest ack among live replicas. */
        bool any = false;
        for (size_t i = 0; i < h->n; i++) {
            if (!ut__replica_live(&h->reps[i]))
                continue;
            any = true;
            if (h->reps[i].acked < d)
                d = h->reps[i].acked;
        }
        if (!any)
            d = h->durable;
        break;
    }
    }
    if (d > h->last)
        d = h->last;
    return d > h->durable ? d : h->durable; /* never goes back */
}

/* ---- status changes ---- */

static void ut__replica_set_status(ut_replica_set_t *h, size_t i, ut_replica_status_t to,
                                   const char *why)
{
    ut__replica_t *r = &h->reps[i];
    ut_replica_status_t from = r->status;
    r->status = to;
    h->n_in_sync += (to == UT_REPLICA_IN_SYNC) - (from == UT_REPLICA_IN_SYNC);
    ut__replica_event(h, UT_REPLICA_EVENT_STATUS, r->id, from, to, 0);
    UT__RS_TRACE(
        h, to == UT_REPLICA_IN_SYNC || to == UT_REPLICA_SYNCING ? UT_TRACE_INFO : UT_TRACE_WARN,
        ut_replica_status_name(to), why, r->id, (uint64_t)from);
    if (h->cfg.strategy == UT_REPLICATION_CHAIN) {
        if (!ut__replica_live(r))
            ut__chain_remove(h, i);
        else if (to == UT_REPLICA_SYNCING)
            ut__chain_append(h, i);
    }
}

/* In-sync or lagging. A replica is in-sync while it holds everything
 * acknowledged so far (types.h) and is within the lag bound, in entries
 * and in time; Kafka's ISR uses the same two bounds (replica.lag.time.max.ms). */
static void ut__replica_judge(ut_replica_set_t *h, size_t i)
{
    ut__replica_t *r = &h->reps[i];
    if (!ut__replica_live(r))
        return;
    uint64_t lag = h->last - r->acked;
    bool within = lag <= h->cfg.lag_bound_entries;
    if (within && h->cfg.lag_bound_ms > 0 && ut__wait_ms(h, r->acked) > h->cfg.lag_bound_ms)
        within = false;
    if (within && r->status != UT_REPLICA_IN_SYNC && r->acked >= h->durable)
        ut__replica_set_status(h, i, UT_REPLICA_IN_SYNC,
                               "holds the durable position within the lag bounds");
    else if (!within && r->status == UT_REPLICA_IN_SYNC)
        ut__replica_set_status(h, i, UT_REPLICA_LAGGING, "beyond a lag bound");
}

/* Semi-sync degradation and its restoration: always an event (the issue's
 * complaint about MySQL: a status variable alone). */
static void ut__semi_sync_judge(ut_replica_set_t *h)
{
    if (h->cfg.strategy != UT_REPLICATION_SEMI_SYNC || !h->cfg.semi_sync_degrade)
        return;
    bool short_of_acks = ut__count_live(h) < h->cfg.semi_sync_acks;
    bool timed_out = h->cfg.semi_sync_timeout_ms > 0 && h->durable < h->last &&
                     ut__wait_ms(h, h->durable) > h->cfg.semi_sync_timeout_ms;
    if (!h->degraded && (short_of_acks || timed_out)) {
        h->degraded = true;
        h->degradations++;
        ut__replica_event(h, UT_REPLICA_EVENT_DEGRADED, 0, 0, 0, 0);
        UT__RS_TRACE(h, UT_TRACE_WARN, "degraded",
                     short_of_acks ? "too few replicas reachable" : "semi-sync timeout", h->last,
                     h->durable);
    } else if (h->degraded && !short_of_acks) {
        /* Restored once k replicas have caught up with the primary again. */
        uint32_t caught = 0;
        for (size_t i = 0; i < h->n; i++)
            caught += ut__replica_live(&h->reps[i]) && h->reps[i].acked == h->last;
        if (caught >= h->cfg.semi_sync_acks) {
            h->degraded = false;
            ut__replica_event(h, UT_REPLICA_EVENT_RESTORED, 0, 0, 0, 0);
            UT__RS_TRACE(h, UT_TRACE_INFO, "restored", "enough replicas caught up", h->last,
                         caught);
        }
    }
}

/* Whose acks the durable position is the minimum of (sync, chain, tree). */
static bool ut__replica_holder(const ut_replica_set_t *h, const ut__replica_t *r)
{
    switch (h->cfg.strategy) {
    case UT_REPLICATION_SYNC:
        return r->status == UT_REPLICA_IN_SYNC;
    case UT_REPLICATION_CHAIN:
        return r->in_chain;
    case UT_REPLICATION_TREE:
        return ut__replica_live(r);
    default:
        return false;
    }
}

__attribute__((noinline)) static void ut__replica_settle(ut_replica_set_t *h)
{
    ut__semi_sync_judge(h);
    h->min_valid = false;
    switch (h->cfg.strategy) {
    case UT_REPLICATION_ASYNC:
        h->durable = ut__durable_now(h);
        return;
    case UT_REPLICATION_SEMI_SYNC:
        if (h->degraded) {
            h->durable = ut__durable_now(h);
            return;
        }
        /* ut__durable_now's rule, keeping the k-th highest ack for
         * ut__replica_settled. */
        h->min_ack = ut__semi_sync_kth(h);
        h->min_valid = h->min_ack > 0;
        h->above = 0;
        for (size_t i = 0; i < h->n; i++)
            h->above += h->reps[i].status != UT_REPLICA_FAILED && h->reps[i].acked > h->min_ack;
        if (h->min_ack > h->durable)
            h->durable = h->min_ack < h->last ? h->min_ack : h->last;
        return;
    default:
        break;
    }
#ifdef UT__FAULT_CHAIN_HEAD_DURABLE
    h->durable = ut__durable_now(h);
#endif
    /* Sync, chain, tree: the durable position is the smallest ack of the
     * holders (ut__durable_now's rule), found in the same pass that keeps
     * the minimum and how many hold it. */
    uint64_t m = UINT64_MAX;
    size_t c = 0;
    const ut__replica_t *reps = h->reps;
    const size_t n = h->n;
    /* One loop per strategy, so that the holder test is not a switch per
     * replica (ut__replica_holder's rule each). */
#define UT__MIN_OF_HOLDERS(is_holder)                                                              \
    for (size_t i = 0; i < n; i++) {                                                               \
        const ut__replica_t *r = &reps[i];                                                         \
        if (!(is_holder))                                                                          \
            continue;                                                                              \
        if (r->acked < m) {                                                                        \
            m = r->acked;                                                                          \
            c = 0;                                                                                 \
        }                                                                                          \
        c += r->acked == m;                                                                        \
    }
    switch (h->cfg.strategy) {
    case UT_REPLICATION_SYNC:
        UT__MIN_OF_HOLDERS(r->status == UT_REPLICA_IN_SYNC);
        break;
    case UT_REPLICATION_CHAIN:
        UT__MIN_OF_HOLDERS(r->in_chain);
        break;
    default:
        UT__MIN_OF_HOLDERS(ut__replica_live(r));
        break;
    }
#undef UT__MIN_OF_HOLDERS
    h->min_valid = c > 0;
    h->min_ack = m;
    h->at_min = c;
#ifndef UT__FAULT_CHAIN_HEAD_DURABLE
    /* Sync: nothing moves while the in-sync set is below its minimum (an
     * empty set would make everything durable); chain and tree: nor with
     * no holder at all. */
    bool counts =
        h->cfg.strategy == UT_REPLICATION_SYNC ? h->n_in_sync >= h->cfg.min_in_sync : c > 0;
    if (counts) {
        uint64_t d = m < h->last ? m : h->last;
        if (d > h->durable)
            h->durable = d; /* never goes back */
    }
#endif
}

/* After an ack raised replica r from old_acked without changing its status:
 * true if the durable position cannot have moved, so settling can be
 * skipped (semi-sync: counting the crossing in `above`). The durable position is max(durable,
 * min(holders' acks, last)) and last did not change: it moves only if the minimum does. */
static inline __attribute__((always_inline)) bool
ut__replica_settled(ut_replica_set_t *h, const ut__replica_t *r, uint64_t old_acked)
{
    if (h->cfg.strategy == UT_REPLICATION_ASYNC)
        return true; /* the primary's own last: an ack does not move it */
    if (h->cfg.strategy == UT_REPLICATION_SEMI_SYNC) {
        /* The k-th highest ack K moves only if an ack crosses it: one that
         * ends at or below K, or starts above it, leaves it. (A degraded
         * set keeps no K: it settles at every ack, to notice the
         * restoration.) */
        if (!h->min_valid)
            return false;
        if (r->acked <= h->min_ack || old_acked > h->min_ack)
            return true; /* no crossing */
        /* Crossed: one more above K; K moves once k are. */
        return ++h->above < h->cfg.semi_sync_acks;
    }
    if (!h->min_valid || !ut__replica_holder(h, r))
        return h->min_valid; /* a non-holder's ack moves no minimum */
    if (old_acked == r->acked || old_acked > h->min_ack)
        return true;
    if (h->at_min > 1) { /* another holder still has the minimum */
        h->at_min--;
        return true;
    }
    return false;
}

static int ut__replica_settle_ok(ut_replica_set_t *h)
{
    ut__replica_settle(h);
    return UT_OK;
}

/* ---- constructor ---- */

int ut_replica_set_new(ut_replica_set_t **out, const ut_replica_set_config_t *cfg)
{
    if (out == NULL || cfg == NULL)
        return UT_EINVAL;
    if (cfg->version == 0 || cfg->version > UT_REPLICA_SET_CONFIG_VERSION)
        return UT_EVERSION;
    size_t n = cfg->n_replicas;
    if (cfg->self_id == 0 || cfg->replicas == NULL || n == 0 || n > UT_REPLICA_SET_MAX)
        return UT_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (cfg->replicas[i] == 0 || cfg->replicas[i] == cfg->self_id)
            return UT_EINVAL;
        for (size_t j = 0; j < i; j++)
            if (cfg->replicas[j] == cfg->replicas[i])
                return UT_EINVAL;
    }
    if ((unsigned)cfg->strategy > UT_REPLICATION_TREE ||
        (unsigned)cfg->consistency > UT_CONSISTENCY_ALL)
        return UT_EINVAL;
    if (cfg->strategy == UT_REPLICATION_SYNC && (cfg->min_in_sync == 0 || cfg->min_in_sync > n))
        return UT_EINVAL;
    if (cfg->strategy == UT_REPLICATION_SEMI_SYNC &&
        (cfg->semi_sync_acks == 0 || cfg->semi_sync_acks > n))
        return UT_EINVAL;
    if (cfg->strategy == UT_REPLICATION_TREE && cfg->tree_fanout == 0)
        return UT_EINVAL;
    /* Strong and linearizable need every acknowledged write on a quorum the
     * reads intersect (consistency.h): async never gives that, and a
     * semi-sync that may degrade gives it only until it degrades. */
    if (cfg->consistency == UT_CONSISTENCY_STRONG ||
        cfg->consistency == UT_CONSISTENCY_LINEARIZABLE) {
        if (cfg->strategy == UT_REPLICATION_ASYNC)
            return UT_EINVAL;
        if (cfg->strategy == UT_REPLICATION_SEMI_SYNC &&
            (cfg->semi_sync_degrade || 2u * (cfg->semi_sync_acks + 1u) <= n + 1u))
            return UT_EINVAL;
    }

    if (cfg->version >= 2 && cfg->incarnation >= (UINT64_C(1) << 32))
        return UT_EINVAL;

    ut_replica_set_t *h = ut__calloc(1, sizeof *h);
    if (h == NULL)
        return UT_ENOMEM;
    h->reps = ut__calloc(n, sizeof h->reps[0]);
    h->chain = ut__calloc(n, sizeof h->chain[0]);
    h->wtime = ut__calloc(UT__WRITE_RING, sizeof h->wtime[0]);
    if (h->reps == NULL || h->chain == NULL || h->wtime == NULL) {
        ut__free(h->reps);
        ut__free(h->chain);
        ut__free(h->wtime);
        ut__free(h);
        return UT_ENOMEM;
    }
    ut__handle_init(&h->base, UT__REPLICA_MAGIC);
    h->tracer.fn = cfg->trace;
    h->tracer.arg = cfg->trace_arg;
    h->cfg = *cfg;
    h->cfg.replicas = NULL;
    if (cfg->version < 2)
        h->cfg.incarnation = 0;
    h->n = n;
    for (size_t i = 0; i < n; i++) {
        h->reps[i].id = cfg->replicas[i];
        h->reps[i].status = UT_REPLICA_IN_SYNC; /* nothing written: all caught up */
        h->n_in_sync++;
        h->reps[i].in_chain = true;
        h->chain[i] = i;
    }
    h->chain_n = cfg->strategy == UT_REPLICATION_CHAIN ? n : 0;
    /* Replica ids in config order base, base + 1, ... (the usual case)
     * are found by a subtraction; any others by a search. */
    h->id_base = cfg->replicas[0];
    h->ids_dense = true;
    for (size_t i = 0; i < n; i++)
        h->ids_dense &= cfg->replicas[i] - h->id_base == i;
    h->quiet_acks = cfg->lag_bound_ms == 0 &&
                    !(cfg->strategy == UT_REPLICATION_SEMI_SYNC && cfg->semi_sync_degrade);
    ut__outbox_init(&h->ob);
    h->live_ev = &h->evs[0];
    h->out_ev = &h->evs[1];
    *out = h;
    return UT_OK;
}

void ut_replica_set_free(ut_replica_set_t *h)
{
    if (!ut__handle_valid(h ? &h->base : NULL, UT__REPLICA_MAGIC))
        return;
    ut__outbox_destroy(&h->ob);
    ut__free(h->evs[0].ev);
    ut__free(h->evs[1].ev);
    ut__free(h->reps);
    ut__free(h->chain);
    ut__free(h->wtime);
    ut__handle_retire(&h->base);
    ut__free(h);
}

const char *ut_replica_set_errmsg(const ut_replica_set_t *h)
{
    return ut__handle_errmsg(h ? &h->base : NULL, UT__REPLICA_MAGIC);
}

static bool ut__rs_ok(const ut_replica_set_t *h)
{
    return h != NULL && ut__handle_valid(&h->base, UT__REPLICA_MAGIC);
}

static size_t ut__replica_index(const ut_replica_set_t *h, uint64_t id)
{
    if (h->ids_dense)
        return id - h->id_base < h->n ? (size_t)(id - h->id_base) : SIZE_MAX;
    for (size_t i = 0; i < h->n; i++)
        if (h->reps[i].id == id)
            return i;
    return SIZE_MAX;
}

/* ---- inputs ---- */

/* A write message, every byte set (ut__replica_send's, inline). */
static inline void ut__replica_fill_write(ut_msg_t *m, uint64_t from, uint64_t to, uint64_t p,
                                          uint64_t durable, uint64_t epoch)
{
    ut__replica_msg_clear(m);
    m->type = UT_MSG_REPL_WRITE;
    m->from = from;
    m->to = to;
    m->body.repl_write.position = p;
    m->body.repl_write.durable = durable;
    m->body.repl_write.epoch = epoch;
}

/* Write p's messages: to every replica not failed (sync, async,
 * semi-sync), the chain's head only (van Renesse & Schneider 2004, §2), or
 * the tree's live nodes whose nearest live ancestor is the primary. Into
 * the room the caller reserved (h->n messages), with what the loop reads
 * held in locals: the message stores may alias the set's fields, so the
 * compiler would otherwise reload them after each. */
static void ut__replica_send_writes(ut_replica_set_t *h, uint64_t p)
{
    ut__msgvec_t *v = h->ob.live;
    ut_msg_t *m = v->msgs + v->n;
    const ut__replica_t *reps = h->reps;
    const size_t n = h->n;
    const uint64_t self = h->cfg.self_id, durable = h->durable;
    size_t k = 0;
    switch (h->cfg.strategy) {
    case UT_REPLICATION_CHAIN: {
        const ut__replica_t *r = &reps[h->chain[0]];
        ut__replica_fill_write(&m[k++], self, r->id, p, durable, r->epoch);
        break;
    }
    case UT_REPLICATION_TREE:
        for (size_t i = 0; i < n; i++)
            if (ut__replica_live(&reps[i]) && ut__tree_top(h, i))
                ut__replica_fill_write(&m[k++], self, reps[i].id, p, durable, reps[i].epoch);
        break;
    default:
        for (size_t i = 0; i < n; i++)
            if (reps[i].status != UT_REPLICA_FAILED)
                ut__replica_fill_write(&m[k++], self, reps[i].id, p, durable, reps[i].epoch);
        break;
    }
    v->n += k;
}

int ut_replica_set_write(ut_replica_set_t *h, uint64_t *out)
{
    if (!ut__rs_ok(h))
        return UT_EINVAL;
    if (out == NULL)
        UT__FAIL(&h->base, UT_EINVAL, "write: out is NULL");
    if (h->last == UINT64_MAX)
        UT__RS_REFUSE(h, "refuse-write", "position would overflow", UT_ERANGE,
                      "write: position would overflow");
    switch (h->cfg.strategy) {
    case UT_REPLICATION_SYNC: {
        size_t isr = h->n_in_sync;
        if (isr < h->cfg.min_in_sync)
            UT__RS_REFUSE(h, "refuse-write", "in-sync set below its minimum", UT_ESTATE,
                          "write: sync: %zu in-sync replicas, minimum %u", isr, h->cfg.min_in_sync);
        break;
    }
    case UT_REPLICATION_SEMI_SYNC:
        if (!h->cfg.semi_sync_degrade) {
            size_t live = ut__count_live(h);
            if (live < h->cfg.semi_sync_acks)
                UT__RS_REFUSE(h, "refuse-write", "too few replicas reachable", UT_ESTATE,
                              "write: semi-sync: %zu replicas reachable, %u acks needed", live,
                              h->cfg.semi_sync_acks);
            if (h->cfg.semi_sync_timeout_ms > 0 && h->durable < h->last &&
                ut__wait_ms(h, h->durable) > h->cfg.semi_sync_timeout_ms)
                UT__RS_REFUSE(h, "refuse-write", "semi-sync timeout", UT_ESTATE,
                              "write: semi-sync: no acks for %llu ms",
                              (unsigned long long)ut__wait_ms(h, h->durable));
        }
        break;
    case UT_REPLICATION_CHAIN:
        if (h->chain_n == 0)
            UT__RS_REFUSE(h, "refuse-write", "no live link", UT_ESTATE,
                          "write: chain: no live link");
        break;
    case UT_REPLICATION_TREE:
    case UT_REPLICATION_ASYNC:
        if (h->cfg.strategy == UT_REPLICATION_TREE && !ut__any_live(h))
            UT__RS_REFUSE(h, "refuse-write", "no live replica", UT_ESTATE,
                          "write: tree: no live replica");
        break;
    }
    if (ut__replica_reserve(h, h->n, 2 * h->n + 1) != UT_OK)
        UT__FAIL(&h->base, UT_ENOMEM, "write: out of memory");

    h->started = true;
    uint64_t p = ++h->last;
    h->wtime[p % UT__WRITE_RING] = h->now;
    ut__replica_send_writes(h, p);
    /* One more write can only push an in-sync replica over a bound: skip
     * the ones well within the entry bound when there is no time bound. */
    size_t events = h->live_ev->n;
    if (h->cfg.lag_bound_ms > 0) {
        for (size_t i = 0; i < h->n; i++)
            ut__replica_judge(h, i);
    } else {
        /* reps and n are fixed for the set's life: locals, not reloaded. */
        const ut__replica_t *reps = h->reps;
        const size_t n = h->n;
        const uint64_t bound = h->cfg.lag_bound_entries;
        for (size_t i = 0; i < n; i++)
            if (reps[i].status != UT_REPLICA_IN_SYNC || p - reps[i].acked > bound)
                ut__replica_judge(h, i);
    }
    /* A write moves the durable position only where it is the primary's
     * own last (async). With no status change, the holders' acks and the
     * k-th highest ack are as they were (all at most the old last), so
     * sync, chain, tree and a semi-sync that cannot degrade skip the
     * settle; a degradable semi-sync settles, to judge its timeout now. */
    if (h->live_ev->n != events ||
        (h->cfg.strategy == UT_REPLICATION_SEMI_SYNC && h->cfg.semi_sync_degrade))
        ut__replica_settle(h);
    else if (h->cfg.strategy == UT_REPLICATION_ASYNC)
        h->durable = p;
    *out = p;
    return UT_OK;
}

int ut_replica_set_restore(ut_replica_set_t *h, uint64_t last, uint64_t durable)
{
    if (!ut__rs_ok(h))
        return UT_EINVAL;
    if (durable > last)
        UT__FAIL(&h->base, UT_EINVAL, "restore: durable %llu above last %llu",
                 (unsigned long long)durable, (unsigned long long)last);
    if (h->started || h->last != 0)
        UT__FAIL(&h->base, UT_ESTATE, "restore: the set has already written or taken acks");
    h->last = last;
    h->durable = durable;
    /* Lag and the semi-sync timeout count from now: when the restored
     * positions were written is not known. */
    for (size_t k = 0; k < UT__WRITE_RING; k++)
        h->wtime[k] = h->now;
    for (size_t i = 0; i < h->n; i++) {
        if (h->reps[i].status == UT_REPLICA_IN_SYNC) {
            h->reps[i].status = UT_REPLICA_SYNCING;
            h->n_in_sync--;
        }
        h->reps[i].last_heard_ms = h->now;
    }
    /* Async: the primary's own log is the durable copy. */
    h->durable = ut__durable_now(h);
    h->min_valid = false;
    UT__RS_TRACE(h, UT_TRACE_INFO, "restore", "the primary restarted", last, h->durable);
    return UT_OK;
}

/* The rest of an ack (out of line): an offline replica is back, a replica
 * not in-sync or under a time bound is judged, and the durable position
 * settled if a status changed or the ack can move it. */
__attribute__((noinline)) static int ut__replica_step_judge(ut_replica_set_t *h, size_t i,
                                                            uint64_t old_acked)
{
    ut__replica_t *r = &h->reps[i];
    ut_replica_status_t old_status = r->status;
    if (r->status == UT_REPLICA_OFFLINE)
        ut__replica_set_status(h, i, UT_REPLICA_SYNCING,
                               "an ack from an offline replica"); /* back: catch up first */
    ut__replica_judge(h, i);
    if (r->status != old_status || !ut__replica_settled(h, r, old_acked))
        ut__replica_settle(h);
    return UT_OK;
}

/* Why ut_replica_set_step refuses m (the cold path, out of line so that
 * the common ack keeps its registers): the checks in order, each with its
 * trace and message. Called only when one of them fails. */
__attribute__((noinline, cold)) static int ut__replica_step_refuse(ut_replica_set_t *h,
                                                                   const ut_msg_t *m)
{
    if (m == NULL)
        UT__FAIL(&h->base, UT_EINVAL, "step: message is NULL");
    if (m->type != UT_MSG_REPL_ACK)
        UT__RS_REFUSE(h, "refuse-ack", "unexpected message type", UT_EINVAL,
                      "step: unexpected message type %d", (int)m->type);
    if (m->to != h->cfg.self_id)
        UT__RS_REFUSE(h, "refuse-ack", "addressed to another node", UT_EINVAL,
                      "step: addressed to %llu, not %llu", (unsigned long long)m->to,
                      (unsigned long long)h->cfg.self_id);
    size_t i = ut__replica_index(h, m->from);
    if (i == SIZE_MAX)
        UT__RS_REFUSE(h, "refuse-ack", "sender is not a replica", UT_ENOTFOUND,
                      "step: %llu is not a replica", (unsigned long long)m->from);
    const ut_msg_repl_ack_t *a = &m->body.repl_ack;
    if (a->applied > a->acked)
        UT__RS_REFUSE(h, "refuse-ack", "applied above acked", UT_EINVAL,
                      "step: applied %llu above acked %llu", (unsigned long long)a->applied,
                      (unsigned long long)a->acked);
    if (a->acked > h->last)
        UT__RS_REFUSE(h, "refuse-ack", "ack beyond the last position", UT_EINVAL,
                      "step: ack of %llu beyond last position %llu", (unsigned long long)a->acked,
                      (unsigned long long)h->last);
    const ut__replica_t *r = &h->reps[i];
    if (r->status == UT_REPLICA_FAILED)
        UT__RS_REFUSE(h, "refuse-ack", "sender is failed", UT_ESTATE,
                      "step: replica %llu is failed; resync it first", (unsigned long long)r->id);
    /* An ack from before the replica's last resync: the network delayed it
     * past the resync, and the positions it reports were on the disk that
     * was lost (the stale-incarnation rule of Viewstamped Replication
     * Revisited, Liskov & Cowling 2012, §4.3 recovery: a replica's old
     * messages must not count once it has restarted empty). */
    if (a->epoch < r->epoch)
        UT__RS_REFUSE(h, "refuse-ack", "from before the replica's resync", UT_ESTATE,
                      "step: ack of %llu from replica %llu has epoch %llu, before its resync "
                      "(epoch %llu)",
                      (unsigned long long)a->acked, (unsigned long long)r->id,
                      (unsigned long long)a->epoch, (unsigned long long)r->epoch);
    UT__FAIL(&h->base, UT_ENOMEM, "step: out of memory");
}

/* An ack that needs more than ut_replica_set_step's common path (out of
 * line): room for what it may emit, then the positions, and the judging. */
__attribute__((noinline)) static int ut__replica_step_slow(ut_replica_set_t *h, size_t i,
                                                           const ut_msg_t *m)
{
    if (ut__replica_reserve(h, h->n, h->n + 4) != UT_OK)
        return ut__replica_step_refuse(h, m); /* the last refusal: out of memory */
    const ut_msg_repl_ack_t *a = &m->body.repl_ack;
    ut__replica_t *r = &h->reps[i];
    h->started = true;
    uint64_t old_acked = r->acked;
    r->last_heard_ms = h->now;
    /* Acks may be reordered or duplicated by the network: positions only
     * move forward. */
    if (a->acked > r->acked)
        r->acked = a->acked;
    if (a->applied > r->applied)
        r->applied = a->applied;
    if (r->applied > r->acked)
        r->applied = r->acked;
    if (r->acked == h->last)
        r->last_sync_ms = h->now;
    return ut__replica_step_judge(h, i, old_acked);
}

int ut_replica_set_step(ut_replica_set_t *h, const ut_msg_t *m)
{
    if (!ut__rs_ok(h))
        return UT_EINVAL;
    /* Every refusal of ut__replica_step_refuse, tested at once. */
    if (m == NULL || m->type != UT_MSG_REPL_ACK || m->to != h->cfg.self_id)
        return ut__replica_step_refuse(h, m);
    size_t i = ut__replica_index(h, m->from);
    if (i == SIZE_MAX)
        return ut__replica_step_refuse(h, m);
    const ut_msg_repl_ack_t *a = &m->body.repl_ack;
    ut__replica_t *r = &h->reps[i];
    uint64_t acked = a->acked, applied = a->applied;
    if (applied > acked || acked > h->last || r->status == UT_REPLICA_FAILED || a->epoch < r->epoch)
        return ut__replica_step_refuse(h, m);

    /* The common ack: an in-sync replica that stays within the entry bound,
     * with no time bound and no degradable semi-sync, stays in-sync and
     * emits nothing (so needs no room); the durable position is recomputed
     * only if this ack can move it. Positions only move forward (acks may
     * be reordered or duplicated by the network); applied <= acked holds
     * already (refused above, and kept by every earlier ack). */
    uint64_t old_acked = r->acked;
    uint64_t na = acked > old_acked ? acked : old_acked;
    if (r->status != UT_REPLICA_IN_SYNC || !h->quiet_acks ||
        h->last - na > h->cfg.lag_bound_entries)
        return ut__replica_step_slow(h, i, m);
    h->started = true;
    r->last_heard_ms = h->now;
    r->acked = na;
    if (applied > r->applied)
        r->applied = applied;
    if (na == h->last)
        r->last_sync_ms = h->now;
    if (ut__replica_settled(h, r, old_acked))
        return UT_OK;
    return ut__replica_settle_ok(h);
}

int ut_replica_set_tick(ut_replica_set_t *h, uint64_t now_ms)
{
    if (!ut__rs_ok(h))
        return UT_EINVAL;
    if (now_ms < h->now)
        UT__RS_REFUSE(h, "refuse-tick", "time went back", UT_EINVAL,
                      "tick: time went back from %llu to %llu", (unsigned long long)h->now,
                      (unsigned long long)now_ms);
    if (ut__replica_reserve(h, 2 * h->n, 3 * h->n + 2) != UT_OK)
        UT__FAIL(&h->base, UT_ENOMEM, "tick: out of memory");
    h->now = now_ms;
    for (size_t i = 0; i < h->n; i++) {
        ut__replica_t *r = &h->reps[i];
        if (h->cfg.offline_after_ms > 0 && ut__replica_live(r) && r->acked < h->last &&
            now_ms - r->last_heard_ms > h->cfg.offline_after_ms)
            ut__replica_set_status(h, i, UT_REPLICA_OFFLINE, "no ack within offline_after_ms");
        ut__replica_judge(h, i);
    }
    ut__replica_settle(h);
    return UT_OK;
}

int ut_replica_set_mark(ut_replica_set_t *h, uint64_t id, ut_replica_status_t status)
{
    if (!ut__rs_ok(h))
        return UT_EINVAL;
    if (status != UT_REPLICA_OFFLINE && status != UT_REPLICA_FAILED && status != UT_REPLICA_SYNCING)
        UT__FAIL(&h->base, UT_EINVAL, "mark: %s is earned by acks, not set",
                 ut_replica_status_name(status));
    size_t i = ut__replica_index(h, id);
    if (i == SIZE_MAX)
        UT__FAIL(&h->base, UT_ENOTFOUND, "mark: %llu is not a replica", (unsigned long long)id);
    ut__replica_t *r = &h->reps[i];
    if (!ut__replica_edge(r->status, status))
        UT__RS_REFUSE(h, "refuse-mark", "not in the status graph", UT_ESTATE,
                      "mark: %llu: %s -> %s is not allowed", (unsigned long long)id,
                      ut_replica_status_name(r->status), ut_replica_status_name(status));
    if (ut__replica_reserve(h, h->n + 1, h->n + 4) != UT_OK)
        UT__FAIL(&h->base, UT_ENOMEM, "mark: out of memory");
    bool was_failed = r->status == UT_REPLICA_FAILED;
    if (status == UT_REPLICA_SYNCING && was_failed) {
        if ((h->resyncs & UINT64_C(0xffffffff)) == UINT64_C(0xffffffff))
            UT__RS_REFUSE(h, "refuse-mark", "resync epochs exhausted", UT_ERANGE,
                          "mark: %llu: this incarnation has no resync epoch left",
                          (unsigned long long)id);
        /* Rebuilt from scratch: what it held is gone, and so is every ack
         * it sent before: a new epoch, above any an earlier incarnation of
         * the primary handed out, tells them apart. */
        r->acked = 0;
        r->applied = 0;
        r->epoch = (h->cfg.incarnation << 32) | ++h->resyncs;
    }
    if (status == UT_REPLICA_SYNCING)
        r->last_heard_ms = h->now;
    ut__replica_set_status(h, i, status, "reported by the caller");
    /* The resynced replica learns its epoch from a write sent to it
     * directly (in chain and tree it gets no other write from the
     * primary): position 1, which a rebuilt disk stores first. */
    if (status == UT_REPLICA_SYNCING && was_failed && h->last > 0)
        ut__replica_send(h, UT_MSG_REPL_WRITE, r->id, 1, h->durable, r->epoch);
    ut__replica_judge(h, i);
    ut__replica_settle(h);
    return UT_OK;
}

/* ---- outputs ---- */

int ut_replica_set_ready(ut_replica_set_t *h, ut_replica_ready_t *rd)
{
    if (!ut__rs_ok(h))
        return UT_EINVAL;
    if (rd == NULL)
        UT__FAIL(&h->base, UT_EINVAL, "ready: rd is NULL");
    if (ut__readyseq_busy(&h->rs))
        UT__FAIL(&h->base, UT_ESTATE, "ready: the previous ready was not advanced");
    static const ut_replica_ready_t zero; /* a copy, not a memset: see ut__replica_send */
    *rd = zero;
    rd->version = 1;
    rd->durable = h->durable;
    bool empty = ut__outbox_pending(&h->ob) == 0 && h->live_ev->n == 0;
    if (!empty) {
        ut_msg_t *msgs;
        ut__outbox_take(&h->ob, &msgs, &rd->n_msgs);
        rd->msgs = msgs;
        ut__evvec_t *t = h->live_ev;
        h->live_ev = h->out_ev;
        h->out_ev = t;
        rd->events = t->ev;
        rd->n_events = t->n;
    }
    rd->seq = ut__readyseq_hand_out(&h->rs, empty);
    return UT_OK;
}

int ut_replica_set_advance(ut_replica_set_t *h, const ut_replica_ready_t *rd)
{
    if (!ut__rs_ok(h))
        return UT_EINVAL;
    if (rd == NULL)
        UT__FAIL(&h->base, UT_EINVAL, "advance: rd is NULL");
    /* ut_replica_set_ready_empty's test, inline (a call to an exported
     * function may not be inlined where it can be interposed). */
    int rc = ut__readyseq_advance(&h->rs, rd->seq, rd->n_msgs == 0 && rd->n_events == 0);
    if (rc < 0)
        UT__FAIL(&h->base, UT_EINVAL, "advance: not the outstanding ready");
    if (rc == 1) {
        ut__outbox_release(&h->ob);
        h->out_ev->n = 0;
    }
    return UT_OK;
}

bool ut_replica_set_ready_empty(const ut_replica_ready_t *rd)
{
    return rd == NULL || (rd->n_msgs == 0 && rd->n_events == 0);
}

/* ---- accessors ---- */

uint64_t ut_replica_set_durable(const ut_replica_set_t *h)
{
    return ut__rs_ok(h) ? h->durable : 0;
}

uint64_t ut_replica_set_last(const ut_replica_set_t *h)
{
    return ut__rs_ok(h) ? h->last : 0;
}

bool ut_replica_set_degraded(const ut_replica_set_t *h)
{
    return ut__rs_ok(h) && h->degraded;
}

uint64_t ut_replica_set_degradations(const ut_replica_set_t *h)
{
    return ut__rs_ok(h) ? h->degradations : 0;
}

size_t ut_replica_set_in_sync(const ut_replica_set_t *h)
{
    return ut__rs_ok(h) ? h->n_in_sync : 0;
}

int ut_replica_set_status(const ut_replica_set_t *h, uint64_t id, ut_replica_status_t *out)
{
    if (!ut__rs_ok(h) || out == NULL)
        return UT_EINVAL;
    size_t i = ut__replica_index(h, id);
    if (i == SIZE_MAX)
        return UT_ENOTFOUND;
    *out = h->reps[i].status;
    return UT_OK;
}

int ut_replica_set_info(const ut_replica_set_t *h, uint64_t id, ut_replica_info_t *out)
{
    if (!ut__rs_ok(h) || out == NULL)
        return UT_EINVAL;
    size_t i = ut__replica_index(h, id);
    if (i == SIZE_MAX)
        return UT_ENOTFOUND;
    const ut__replica_t *r = &h->reps[i];
    memset(out, 0, sizeof *out);
    out->id = r->id;
    out->status = r->status;
    out->acked = r->acked;
    out->applied = r->applied;
    out->lag_entries = h->last - r->acked;
    out->lag_ms = ut__wait_ms(h, r->acked);
    out->last_sync_ms = r->last_sync_ms;
    out->epoch = r->epoch;
    return UT_OK;
}

int ut_replica_set_read_version(const ut_replica_set_t *h, uint64_t id, uint64_t *out)
{
    if (!ut__rs_ok(h) || out == NULL || h->cfg.strategy != UT_REPLICATION_CHAIN)
        return UT_EINVAL;
    size_t i = ut__replica_index(h, id);
    if (i == SIZE_MAX)
        return UT_ENOTFOUND;
    /* CRAQ §2.3: a link serves the clean version; versions above it are
     * dirty until the tail's ack comes back. */
    if (!h->reps[i].in_chain || h->reps[i].acked < h->durable)
        return UT_ESTATE;
    *out = h->durable;
    return UT_OK;
}

int ut_replica_set_successor(const ut_replica_set_t *h, uint64_t id, uint64_t *out)
{
    if (!ut__rs_ok(h) || out == NULL || h->cfg.strategy != UT_REPLICATION_CHAIN)
        return UT_EINVAL;
    if (id == h->cfg.self_id) {
        *out = h->chain_n > 0 ? h->reps[h->chain[0]].id : 0;
        return UT_OK;
    }
    size_t i = ut__replica_index(h, id);
    size_t k = i == SIZE_MAX ? SIZE_MAX : ut__chain_pos(h, i);
    if (k == SIZE_MAX)
        return UT_ENOTFOUND;
    *out = k + 1 < h->chain_n ? h->reps[h->chain[k + 1]].id : 0;
    return UT_OK;
}
