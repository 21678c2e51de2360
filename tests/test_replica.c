/* SPDX-License-Identifier: MIT */
/* The replica set: strategies, status graph, degradation, chain repair,
 * ready/advance, every error path with "object unchanged", the
 * failing-allocator sweep, and the REPL wire messages. Black-box. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <unitypes.h>

#include "test_alloc.h"

#define PRIMARY 1u
#define MAXR 8

typedef struct snap {
    uint64_t durable, last, degradations;
    bool degraded;
    size_t in_sync;
    ut_replica_info_t info[MAXR];
} snap_t;

static uint64_t ids[MAXR] = {11, 12, 13, 14, 15, 16, 17, 18};

static void take_snap(const ut_replica_set_t *h, size_t n, snap_t *s)
{
    memset(s, 0, sizeof *s);
    s->durable = ut_replica_set_durable(h);
    s->last = ut_replica_set_last(h);
    s->degraded = ut_replica_set_degraded(h);
    s->degradations = ut_replica_set_degradations(h);
    s->in_sync = ut_replica_set_in_sync(h);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ut_replica_set_info(h, ids[i], &s->info[i]), UT_OK);
}

static void assert_unchanged(const ut_replica_set_t *h, size_t n, const snap_t *before)
{
    snap_t now;
    take_snap(h, n, &now);
    assert_memory_equal(&now, before, sizeof now);
}

typedef struct drained {
    ut_msg_t msgs[64];
    size_t n_msgs;
    ut_replica_event_t ev[64];
    size_t n_ev;
} drained_t;

static void drain(ut_replica_set_t *h, drained_t *d)
{
    memset(d, 0, sizeof *d);
    ut_replica_ready_t rd;
    while (ut_replica_set_ready(h, &rd) == UT_OK && !ut_replica_set_ready_empty(&rd)) {
        for (size_t i = 0; i < rd.n_msgs && d->n_msgs < 64; i++)
            d->msgs[d->n_msgs++] = rd.msgs[i];
        for (size_t i = 0; i < rd.n_events && d->n_ev < 64; i++)
            d->ev[d->n_ev++] = rd.events[i];
        assert_int_equal(ut_replica_set_advance(h, &rd), UT_OK);
    }
}

static ut_replica_set_t *make(ut_replication_t strat, size_t n,
                              void (*tweak)(ut_replica_set_config_t *))
{
    ut_replica_set_config_t cfg;
    assert_int_equal(ut_replica_set_config_init(&cfg, UT_REPLICA_SET_CONFIG_VERSION), UT_OK);
    cfg.self_id = PRIMARY;
    cfg.replicas = ids;
    cfg.n_replicas = n;
    cfg.strategy = strat;
    if (tweak)
        tweak(&cfg);
    ut_replica_set_t *h = NULL;
    assert_int_equal(ut_replica_set_new(&h, &cfg), UT_OK);
    return h;
}

static int ack(ut_replica_set_t *h, uint64_t from, uint64_t acked, uint64_t applied)
{
    ut_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = UT_MSG_REPL_ACK;
    m.from = from;
    m.to = PRIMARY;
    m.body.repl_ack.acked = acked;
    m.body.repl_ack.applied = applied;
    return ut_replica_set_step(h, &m);
}

static int ack_epoch(ut_replica_set_t *h, uint64_t from, uint64_t acked, uint64_t applied,
                     uint64_t epoch)
{
    ut_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = UT_MSG_REPL_ACK;
    m.from = from;
    m.to = PRIMARY;
    m.body.repl_ack.acked = acked;
    m.body.repl_ack.applied = applied;
    m.body.repl_ack.epoch = epoch;
    return ut_replica_set_step(h, &m);
}

static uint64_t write1(ut_replica_set_t *h)
{
    uint64_t p = 0;
    assert_int_equal(ut_replica_set_write(h, &p), UT_OK);
    return p;
}

static ut_replica_status_t status_of(const ut_replica_set_t *h, uint64_t id)
{
    ut_replica_status_t st = (ut_replica_status_t)99;
    assert_int_equal(ut_replica_set_status(h, id, &st), UT_OK);
    return st;
}

static size_t count_writes_to(const drained_t *d, uint64_t to)
{
    size_t c = 0;
    for (size_t i = 0; i < d->n_msgs; i++)
        c += d->msgs[i].type == UT_MSG_REPL_WRITE && d->msgs[i].to == to;
    return c;
}

static bool has_event(const drained_t *d, ut_replica_event_kind_t k, uint64_t id,
                      ut_replica_status_t to)
{
    for (size_t i = 0; i < d->n_ev; i++)
        if (d->ev[i].kind == k && d->ev[i].replica == id &&
            (k != UT_REPLICA_EVENT_STATUS || d->ev[i].to == to))
            return true;
    return false;
}

/* ---- configuration ---- */

static void test_config_and_new_errors(void **state)
{
    (void)state;
    ut_replica_set_config_t cfg;
    assert_int_equal(ut_replica_set_config_init(NULL, 1), UT_EINVAL);
    assert_int_equal(ut_replica_set_config_init(&cfg, 0), UT_EVERSION);
    assert_int_equal(ut_replica_set_config_init(&cfg, UT_REPLICA_SET_CONFIG_VERSION + 1),
                     UT_EVERSION);
    assert_int_equal(ut_replica_set_config_init(&cfg, 1), UT_OK);
    assert_int_equal(cfg.strategy, UT_REPLICATION_SYNC);
    assert_int_equal(cfg.min_in_sync, 1);
    assert_false(cfg.semi_sync_degrade); /* never degrade unless asked */

    ut_replica_set_t *h = (ut_replica_set_t *)&cfg; /* must stay untouched */
    ut_replica_set_t *const sentinel = h;
    uint64_t dup[3] = {11, 12, 11}, with_self[2] = {11, PRIMARY}, zero[2] = {11, 0};
    struct {
        void (*f)(ut_replica_set_config_t *);
    } dummy;
    (void)dummy;
    for (int k = 0; k < 16; k++) {
        assert_int_equal(ut_replica_set_config_init(&cfg, 1), UT_OK);
        cfg.self_id = PRIMARY;
        cfg.replicas = ids;
        cfg.n_replicas = 3;
        int want = UT_EINVAL;
        switch (k) {
        case 0:
            cfg.version = 0;
            want = UT_EVERSION;
            break;
        case 1:
            cfg.version = 99;
            want = UT_EVERSION;
            break;
        case 2:
            cfg.self_id = 0;
            break;
        case 3:
            cfg.replicas = NULL;
            break;
        case 4:
            cfg.n_replicas = 0;
            break;
        case 5:
            cfg.n_replicas = UT_REPLICA_SET_MAX + 1;
            break;
        case 6:
            cfg.replicas = dup;
            break;
        case 7:
            cfg.replicas = with_self;
            cfg.n_replicas = 2;
            break;
        case 8:
            cfg.replicas = zero;
            cfg.n_replicas = 2;
            break;
        case 9:
            cfg.strategy = (ut_replication_t)9;
            break;
        case 10:
            cfg.min_in_sync = 4;
            break;
        case 11:
            cfg.min_in_sync = 0;
            break;
        case 12:
            cfg.strategy = UT_REPLICATION_SEMI_SYNC;
            cfg.semi_sync_acks = 0;
            break;
        case 13:
            cfg.strategy = UT_REPLICATION_TREE;
            cfg.tree_fanout = 0;
            break;
        case 14:
            cfg.strategy = UT_REPLICATION_ASYNC;
            cfg.consistency = UT_CONSISTENCY_LINEARIZABLE;
            break;
        case 15:
            /* semi-sync that may degrade cannot serve strong */
            cfg.strategy = UT_REPLICATION_SEMI_SYNC;
            cfg.semi_sync_acks = 2;
            cfg.semi_sync_degrade = true;
            cfg.consistency = UT_CONSISTENCY_STRONG;
            break;
        }
        assert_int_equal(ut_replica_set_new(&h, &cfg), want);
        assert_ptr_equal(h, sentinel);
    }
    /* Semi-sync k = 1 of 3 (W = 2 of 4 copies) is not strong either. */
    cfg.semi_sync_degrade = false;
    cfg.semi_sync_acks = 1;
    assert_int_equal(ut_replica_set_new(&h, &cfg), UT_EINVAL);
    cfg.semi_sync_acks = 2; /* W = 3 of 4 */
    assert_int_equal(ut_replica_set_new(&h, &cfg), UT_OK);
    ut_replica_set_free(h);
    assert_int_equal(ut_replica_set_new(NULL, &cfg), UT_EINVAL);
    assert_int_equal(ut_replica_set_new(&h, NULL), UT_EINVAL);
    ut_replica_set_free(NULL);
    assert_string_equal(ut_replica_set_errmsg(NULL), "invalid handle");
}

/* ---- strategies ---- */

static void test_sync_durable_is_min_of_in_sync(void **state)
{
    (void)state;
    ut_replica_set_t *h = make(UT_REPLICATION_SYNC, 3, NULL);
    drained_t d;
    assert_int_equal(write1(h), 1);
    assert_int_equal(write1(h), 2);
    drain(h, &d);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(count_writes_to(&d, ids[i]), 2);
    assert_int_equal(d.msgs[0].from, PRIMARY);
    assert_int_equal(d.msgs[0].body.repl_write.position, 1);
    assert_int_equal(ut_replica_set_durable(h), 0);
    assert_int_equal(ack(h, 11, 2, 1), UT_OK);
    assert_int_equal(ack(h, 12, 2, 2), UT_OK);
    assert_int_equal(ut_replica_set_durable(h), 0);
    assert_int_equal(ack(h, 13, 1, 0), UT_OK);
    assert_int_equal(ut_replica_set_durable(h), 1);
    assert_int_equal(ack(h, 13, 2, 2), UT_OK);
    assert_int_equal(ut_replica_set_durable(h), 2);
    ut_replica_info_t inf;
    assert_int_equal(ut_replica_set_info(h, 11, &inf), UT_OK);
    assert_int_equal(inf.acked, 2);
    assert_int_equal(inf.applied, 1);
    assert_int_equal(inf.lag_entries, 0);
    /* A duplicate or reordered older ack changes nothing. */
    snap_t s;
    take_snap(h, 3, &s);
    assert_int_equal(ack(h, 11, 1, 0), UT_OK);
    assert_unchanged(h, 3, &s);
    ut_replica_set_free(h);
}

static void min2(ut_replica_set_config_t *c)
{
    c->min_in_sync = 2;
}

static void test_sync_refuses_writes_below_min_in_sync(void **state)
{
    (void)state;
    ut_replica_set_t *h = make(UT_REPLICATION_SYNC, 3, min2);
    drained_t d;
    write1(h);
    assert_int_equal(ut_replica_set_mark(h, 11, UT_REPLICA_OFFLINE), UT_OK);
    /* The offline replica leaves the in-sync set: durable follows the rest. */
    assert_int_equal(ack(h, 12, 1, 1), UT_OK);
    assert_int_equal(ack(h, 13, 1, 1), UT_OK);
    assert_int_equal(ut_replica_set_durable(h), 1);
    write1(h);
    assert_int_equal(ut_replica_set_mark(h, 12, UT_REPLICA_FAILED), UT_OK);
    drain(h, &d);
    assert_true(has_event(&d, UT_REPLICA_EVENT_STATUS, 11, UT_REPLICA_OFFLINE));
    assert_true(has_event(&d, UT_REPLICA_EVENT_STATUS, 12, UT_REPLICA_FAILED));
    snap_t s;
    take_snap(h, 3, &s);
    uint64_t p = 77;
    assert_int_equal(ut_replica_set_write(h, &p), UT_ESTATE);
    assert_int_equal(p, 77);
    assert_non_null(strstr(ut_replica_set_errmsg(h), "in-sync"));
    assert_unchanged(h, 3, &s);
    ut_replica_ready_t rd;
    assert_int_equal(ut_replica_set_ready(h, &rd), UT_OK);
    assert_true(ut_replica_set_ready_empty(&rd)); /* the refused write sent nothing */
    /* The offline one comes back and catches up: writes resume. */
    assert_int_equal(ack(h, 11, 2, 2), UT_OK);
    assert_int_equal(status_of(h, 11), UT_REPLICA_IN_SYNC);
    drain(h, &d);
    assert_true(has_event(&d, UT_REPLICA_EVENT_STATUS, 11, UT_REPLICA_SYNCING));
    assert_true(has_event(&d, UT_REPLICA_EVENT_STATUS, 11, UT_REPLICA_IN_SYNC));
    assert_int_equal(write1(h), 3);
    ut_replica_set_free(h);
}

static void test_async_durable_at_once(void **state)
{
    (void)state;
    ut_replica_set_t *h = make(UT_REPLICATION_ASYNC, 2, NULL);
    write1(h);
    write1(h);
    assert_int_equal(ut_replica_set_durable(h), 2);
    drained_t d;
    drain(h, &d);
    assert_int_equal(count_writes_to(&d, 11), 2);
    assert_int_equal(count_writes_to(&d, 12), 2);
    ut_replica_set_free(h);
}

static void semi_fail(ut_replica_set_config_t *c)
{
    c->semi_sync_acks = 2;
}

static void semi_degrade(ut_replica_set_config_t *c)
{
    c->semi_sync_acks = 2;
    c->semi_sync_degrade = true;
    c->semi_sync_timeout_ms = 100;
}

static void test_semi_sync_k_acks_and_fail_mode(void **state)
{
    (void)state;
    ut_replica_set_t *h = make(UT_REPLICATION_SEMI_SYNC, 3, semi_fail);
    write1(h);
    assert_int_equal(ack(h, 13, 1, 1), UT_OK);
    assert_int_equal(ut_replica_set_durable(h), 0);
    assert_int_equal(ack(h, 11, 1, 1), UT_OK);
    assert_int_equal(ut_replica_set_durable(h), 1); /* 2 of 3 */
    assert_int_equal(ut_replica_set_mark(h, 11, UT_REPLICA_OFFLINE), UT_OK);
    assert_int_equal(ut_replica_set_mark(h, 12, UT_REPLICA_OFFLINE), UT_OK);
    snap_t s;
    take_snap(h, 3, &s);
    uint64_t p;
    assert_int_equal(ut_replica_set_write(h, &p), UT_ESTATE);
    assert_non_null(strstr(ut_replica_set_errmsg(h), "semi-sync"));
    assert_unchanged(h, 3, &s);
    assert_false(ut_replica_set_degraded(h));
    ut_replica_set_free(h);
}

static void test_semi_sync_degradation_is_never_silent(void **state)
{
    (void)state;
    ut_replica_set_t *h = make(UT_REPLICATION_SEMI_SYNC, 3, semi_degrade);
    drained_t d;
    assert_int_equal(ut_replica_set_tick(h, 1000), UT_OK);
    write1(h);
    assert_int_equal(ut_replica_set_tick(h, 1050), UT_OK);
    assert_false(ut_replica_set_degraded(h));
    /* No acks for longer than the timeout: degrade, with an event. */
    assert_int_equal(ut_replica_set_tick(h, 1101), UT_OK);
    assert_true(ut_replica_set_degraded(h));
    assert_int_equal(ut_replica_set_degradations(h), 1);
    assert_int_equal(ut_replica_set_durable(h), 1); /* async while degraded */
    drain(h, &d);
    assert_true(has_event(&d, UT_REPLICA_EVENT_DEGRADED, 0, 0));
    write1(h);
    assert_int_equal(ut_replica_set_durable(h), 2);
    /* Two replicas catch up: restored, with an event. */
    assert_int_equal(ack(h, 11, 2, 2), UT_OK);
    assert_true(ut_replica_set_degraded(h));
    assert_int_equal(ack(h, 12, 2, 2), UT_OK);
    assert_false(ut_replica_set_degraded(h));
    drain(h, &d);
    assert_true(has_event(&d, UT_REPLICA_EVENT_RESTORED, 0, 0));
    write1(h);
    assert_int_equal(ut_replica_set_durable(h), 2); /* needs 2 acks again */
    /* Losing replicas degrades too. */
    assert_int_equal(ut_replica_set_mark(h, 11, UT_REPLICA_FAILED), UT_OK);
    assert_int_equal(ut_replica_set_mark(h, 12, UT_REPLICA_OFFLINE), UT_OK);
    assert_true(ut_replica_set_degraded(h));
    assert_int_equal(ut_replica_set_degradations(h), 2);
    drain(h, &d);
    assert_true(has_event(&d, UT_REPLICA_EVENT_DEGRADED, 0, 0));
    ut_replica_set_free(h);
}

static void test_chain_writes_to_head_durable_at_tail(void **state)
{
    (void)state;
    ut_replica_set_t *h = make(UT_REPLICATION_CHAIN, 3, NULL);
    drained_t d;
    uint64_t succ;
    assert_int_equal(ut_replica_set_successor(h, PRIMARY, &succ), UT_OK);
    assert_int_equal(succ, 11);
    assert_int_equal(ut_replica_set_successor(h, 13, &succ), UT_OK);
    assert_int_equal(succ, 0);
    write1(h);
    write1(h);
    drain(h, &d);
    assert_int_equal(count_writes_to(&d, 11), 2);
    assert_int_equal(count_writes_to(&d, 12), 0);
    assert_int_equal(ack(h, 11, 2, 2), UT_OK);
    assert_int_equal(ack(h, 12, 2, 2), UT_OK);
    assert_int_equal(ut_replica_set_durable(h), 0);
    assert_int_equal(ack(h, 13, 1, 1), UT_OK);
    assert_int_equal(ut_replica_set_durable(h), 1);
    uint64_t v;
    assert_int_equal(ut_replica_set_read_version(h, 11, &v), UT_OK); /* CRAQ: clean */
    assert_int_equal(v, 1);
    /* The tail fails: its predecessor is the new tail; what the old tail
     * acked stays durable. */
    assert_int_equal(ut_replica_set_mark(h, 13, UT_REPLICA_FAILED), UT_OK);
    assert_int_equal(ut_replica_set_durable(h), 2); /* new tail 12 holds 2 */
    drain(h, &d);
    assert_true(has_event(&d, UT_REPLICA_EVENT_RELINKED, 12, 0));
    assert_int_equal(d.msgs[0].type, UT_MSG_REPL_LINK);
    assert_int_equal(d.msgs[0].to, 12);
    assert_int_equal(d.msgs[0].body.repl_link.successor, 0);
    assert_int_equal(ut_replica_set_read_version(h, 13, &v), UT_ESTATE);
    /* A middle link fails: head relinks to 12... here 11 is head, 12 tail;
     * fail the head: the primary writes to 12 directly. */
    assert_int_equal(ut_replica_set_mark(h, 11, UT_REPLICA_OFFLINE), UT_OK);
    assert_int_equal(ut_replica_set_successor(h, PRIMARY, &succ), UT_OK);
    assert_int_equal(succ, 12);
    drain(h, &d);
    write1(h);
    drain(h, &d);
    assert_int_equal(count_writes_to(&d, 12), 1);
    assert_int_equal(count_writes_to(&d, 11), 0);
    /* The failed one resyncs and joins at the tail. */
    assert_int_equal(ut_replica_set_mark(h, 13, UT_REPLICA_SYNCING), UT_OK);
    drain(h, &d);
    assert_true(has_event(&d, UT_REPLICA_EVENT_RELINKED, 12, 0));
    assert_int_equal(d.msgs[0].type, UT_MSG_REPL_LINK);
    assert_int_equal(d.msgs[0].body.repl_link.successor, 13);
    assert_int_equal(d.msgs[0].body.repl_link.position, 0); /* rebuilt from scratch */
    assert_int_equal(ut_replica_set_successor(h, 12, &succ), UT_OK);
    assert_int_equal(succ, 13);
    assert_int_equal(ut_replica_set_durable(h), 2); /* never back */
    assert_int_equal(ack(h, 12, 3, 3), UT_OK);
    assert_int_equal(ut_replica_set_durable(h), 2); /* 13 is the tail now */
    /* The resync wrote position 1 to 13 directly, with its new epoch. */
    assert_int_equal(d.msgs[1].type, UT_MSG_REPL_WRITE);
    assert_int_equal(d.msgs[1].to, 13);
    assert_int_equal(d.msgs[1].body.repl_write.position, 1);
    assert_int_not_equal(d.msgs[1].body.repl_write.epoch, 0);
    assert_int_equal(ack(h, 13, 3, 3), UT_ESTATE); /* from before the resync */
    assert_int_equal(ack_epoch(h, 13, 3, 3, d.msgs[1].body.repl_write.epoch), UT_OK);
    assert_int_equal(ut_replica_set_durable(h), 3);
    assert_int_equal(status_of(h, 13), UT_REPLICA_IN_SYNC);
    assert_int_equal(ut_replica_set_successor(h, 11, &succ), UT_ENOTFOUND);
    assert_int_equal(ut_replica_set_read_version(h, 99, &v), UT_ENOTFOUND);
    assert_int_equal(ut_replica_set_read_version(h, 13, NULL), UT_EINVAL);
    ut_replica_set_free(h);
}

static void test_chain_middle_failure_relinks(void **state)
{
    (void)state;
    ut_replica_set_t *h = make(UT_REPLICATION_CHAIN, 3, NULL);
    drained_t d;
    write1(h);
    assert_int_equal(ack(h, 11, 1, 1), UT_OK);
    drain(h, &d);
    assert_int_equal(ut_replica_set_mark(h, 12, UT_REPLICA_FAILED), UT_OK);
    drain(h, &d);
    assert_int_equal(d.n_msgs, 1);
    assert_int_equal(d.msgs[0].type, UT_MSG_REPL_LINK);
    assert_int_equal(d.msgs[0].to, 11);
    assert_int_equal(d.msgs[0].body.repl_link.successor, 13);
    assert_int_equal(d.msgs[0].body.repl_link.position, 0);
    /* Chains reject read_version/successor on other strategies. */
    ut_replica_set_t *s = make(UT_REPLICATION_SYNC, 2, NULL);
    uint64_t v;
    assert_int_equal(ut_replica_set_read_version(s, 11, &v), UT_EINVAL);
    assert_int_equal(ut_replica_set_successor(s, 11, &v), UT_EINVAL);
    ut_replica_set_free(s);
    /* All links gone: writes refused. */
    assert_int_equal(ut_replica_set_mark(h, 11, UT_REPLICA_FAILED), UT_OK);
    assert_int_equal(ut_replica_set_mark(h, 13, UT_REPLICA_OFFLINE), UT_OK);
    uint64_t p;
    assert_int_equal(ut_replica_set_write(h, &p), UT_ESTATE);
    ut_replica_set_free(h);
}

static void fan2(ut_replica_set_config_t *c)
{
    c->tree_fanout = 2;
}

static void test_tree_fanout_and_paths(void **state)
{
    (void)state;
    /* Heap layout, fan-out 2: primary -> 11, 12; 11 -> 13, 14; 12 -> 15, 16. */
    ut_replica_set_t *h = make(UT_REPLICATION_TREE, 6, fan2);
    drained_t d;
    write1(h);
    drain(h, &d);
    assert_int_equal(d.n_msgs, 2);
    assert_int_equal(count_writes_to(&d, 11), 1);
    assert_int_equal(count_writes_to(&d, 12), 1);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(ack(h, ids[i], 1, 1), UT_OK);
    assert_int_equal(ut_replica_set_durable(h), 0); /* 16's path missing */
    assert_int_equal(ack(h, 16, 1, 1), UT_OK);
    assert_int_equal(ut_replica_set_durable(h), 1);
    /* 11 goes offline: its children now hang off the primary. */
    assert_int_equal(ut_replica_set_mark(h, 11, UT_REPLICA_OFFLINE), UT_OK);
    write1(h);
    drain(h, &d);
    assert_int_equal(count_writes_to(&d, 11), 0);
    assert_int_equal(count_writes_to(&d, 13), 1);
    assert_int_equal(count_writes_to(&d, 14), 1);
    assert_int_equal(count_writes_to(&d, 12), 1);
    assert_int_equal(count_writes_to(&d, 15), 0);
    for (size_t i = 1; i < 6; i++)
        assert_int_equal(ack(h, ids[i], 2, 2), UT_OK);
    assert_int_equal(ut_replica_set_durable(h), 2);
    for (size_t i = 1; i < 6; i++)
        assert_int_equal(ut_replica_set_mark(h, ids[i], UT_REPLICA_FAILED), UT_OK);
    uint64_t p;
    assert_int_equal(ut_replica_set_write(h, &p), UT_ESTATE);
    ut_replica_set_free(h);
}

/* ---- status graph, lag, time ---- */

static void lag2(ut_replica_set_config_t *c)
{
    c->lag_bound_entries = 2;
    c->lag_bound_ms = 500;
    c->offline_after_ms = 1000;
}

static void test_lag_bounds_and_offline(void **state)
{
    (void)state;
    ut_replica_set_t *h = make(UT_REPLICATION_SYNC, 2, lag2);
    drained_t d;
    assert_int_equal(ut_replica_set_tick(h, 100), UT_OK);
    for (int i = 0; i < 3; i++)
        write1(h);
    assert_int_equal(status_of(h, 11), UT_REPLICA_LAGGING); /* 3 behind > 2 */
    drain(h, &d);
    assert_true(has_event(&d, UT_REPLICA_EVENT_STATUS, 11, UT_REPLICA_LAGGING));
    assert_int_equal(ack(h, 12, 3, 3), UT_OK);
    assert_int_equal(status_of(h, 12), UT_REPLICA_IN_SYNC);
    assert_int_equal(ack(h, 11, 2, 2), UT_OK); /* 1 behind, but durable is 3 */
    assert_int_equal(status_of(h, 11), UT_REPLICA_LAGGING);
    assert_int_equal(ack(h, 11, 3, 3), UT_OK);
    assert_int_equal(status_of(h, 11), UT_REPLICA_IN_SYNC);
    ut_replica_info_t inf;
    assert_int_equal(ut_replica_set_info(h, 11, &inf), UT_OK);
    assert_int_equal(inf.last_sync_ms, 100);
    assert_int_equal(inf.lag_ms, 0);
    /* Behind by one for longer than lag_bound_ms: lagging. */
    write1(h);
    assert_int_equal(ack(h, 12, 4, 4), UT_OK);
    assert_int_equal(ut_replica_set_tick(h, 400), UT_OK);
    assert_int_equal(status_of(h, 11), UT_REPLICA_IN_SYNC);
    assert_int_equal(ut_replica_set_info(h, 11, &inf), UT_OK);
    assert_int_equal(inf.lag_ms, 300);
    assert_int_equal(inf.lag_entries, 1);
    assert_int_equal(ut_replica_set_tick(h, 601), UT_OK);
    assert_int_equal(status_of(h, 11), UT_REPLICA_LAGGING);
    /* Silent for longer than offline_after_ms: offline. */
    assert_int_equal(ut_replica_set_tick(h, 1200), UT_OK);
    assert_int_equal(status_of(h, 11), UT_REPLICA_OFFLINE);
    assert_int_equal(status_of(h, 12), UT_REPLICA_IN_SYNC); /* caught up: not offline */
    /* Time does not go back. */
    snap_t s;
    take_snap(h, 2, &s);
    assert_int_equal(ut_replica_set_tick(h, 1199), UT_EINVAL);
    assert_unchanged(h, 2, &s);
    assert_int_equal(ut_replica_set_tick(NULL, 5), UT_EINVAL);
    ut_replica_set_free(h);
}

static void test_status_graph(void **state)
{
    (void)state;
    /* For each (from, to) the caller may request: allowed or UT_ESTATE. */
    static const struct {
        ut_replica_status_t from, to;
        int want;
    } cases[] = {
        {UT_REPLICA_IN_SYNC, UT_REPLICA_OFFLINE, UT_OK},
        {UT_REPLICA_IN_SYNC, UT_REPLICA_FAILED, UT_OK},
        {UT_REPLICA_IN_SYNC, UT_REPLICA_SYNCING, UT_ESTATE},
        {UT_REPLICA_OFFLINE, UT_REPLICA_OFFLINE, UT_ESTATE},
        {UT_REPLICA_OFFLINE, UT_REPLICA_SYNCING, UT_OK},
        {UT_REPLICA_OFFLINE, UT_REPLICA_FAILED, UT_OK},
        {UT_REPLICA_FAILED, UT_REPLICA_OFFLINE, UT_ESTATE},
        {UT_REPLICA_FAILED, UT_REPLICA_FAILED, UT_ESTATE},
        {UT_REPLICA_FAILED, UT_REPLICA_SYNCING, UT_OK},
        {UT_REPLICA_SYNCING, UT_REPLICA_SYNCING, UT_ESTATE},
        {UT_REPLICA_SYNCING, UT_REPLICA_OFFLINE, UT_OK},
        {UT_REPLICA_SYNCING, UT_REPLICA_FAILED, UT_OK},
        {UT_REPLICA_LAGGING, UT_REPLICA_OFFLINE, UT_OK},
        {UT_REPLICA_LAGGING, UT_REPLICA_SYNCING, UT_ESTATE},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ut_replica_set_t *h = make(UT_REPLICATION_SYNC, 2, lag2);
        write1(h);
        assert_int_equal(ack(h, 11, 1, 1), UT_OK);
        assert_int_equal(ack(h, 12, 1, 1), UT_OK);
        /* Reach the "from" status. */
        switch (cases[c].from) {
        case UT_REPLICA_IN_SYNC:
            break;
        case UT_REPLICA_LAGGING:
            write1(h);
            write1(h);
            write1(h);
            break;
        case UT_REPLICA_OFFLINE:
            assert_int_equal(ut_replica_set_mark(h, 11, UT_REPLICA_OFFLINE), UT_OK);
            break;
        case UT_REPLICA_FAILED:
            assert_int_equal(ut_replica_set_mark(h, 11, UT_REPLICA_FAILED), UT_OK);
            break;
        case UT_REPLICA_SYNCING:
            assert_int_equal(ut_replica_set_mark(h, 11, UT_REPLICA_FAILED), UT_OK);
            assert_int_equal(ut_replica_set_mark(h, 11, UT_REPLICA_SYNCING), UT_OK);
            break;
        }
        assert_int_equal(status_of(h, 11), cases[c].from);
        drained_t d;
        drain(h, &d);
        snap_t s;
        take_snap(h, 2, &s);
        assert_int_equal(ut_replica_set_mark(h, 11, cases[c].to), cases[c].want);
        if (cases[c].want != UT_OK) {
            assert_unchanged(h, 2, &s);
            ut_replica_ready_t rd;
            assert_int_equal(ut_replica_set_ready(h, &rd), UT_OK);
            assert_true(ut_replica_set_ready_empty(&rd));
        } else {
            drain(h, &d);
            assert_true(has_event(&d, UT_REPLICA_EVENT_STATUS, 11, cases[c].to));
        }
        ut_replica_set_free(h);
    }
    /* In-sync and lagging are earned, never set; unknown ids; NULL. */
    ut_replica_set_t *h = make(UT_REPLICATION_SYNC, 2, NULL);
    assert_int_equal(ut_replica_set_mark(h, 11, UT_REPLICA_IN_SYNC), UT_EINVAL);
    assert_int_equal(ut_replica_set_mark(h, 11, UT_REPLICA_LAGGING), UT_EINVAL);
    assert_int_equal(ut_replica_set_mark(h, 11, (ut_replica_status_t)77), UT_EINVAL);
    assert_int_equal(ut_replica_set_mark(h, 99, UT_REPLICA_FAILED), UT_ENOTFOUND);
    assert_int_equal(ut_replica_set_mark(NULL, 11, UT_REPLICA_FAILED), UT_EINVAL);
    ut_replica_set_free(h);
}

static void test_failed_must_resync_before_in_sync(void **state)
{
    (void)state;
    ut_replica_set_t *h = make(UT_REPLICATION_SYNC, 2, NULL);
    write1(h);
    assert_int_equal(ack(h, 11, 1, 1), UT_OK);
    assert_int_equal(ack(h, 12, 1, 1), UT_OK);
    assert_int_equal(ut_replica_set_mark(h, 11, UT_REPLICA_FAILED), UT_OK);
    snap_t s;
    take_snap(h, 2, &s);
    /* Acks from a failed replica are refused: it must be rebuilt first. */
    assert_int_equal(ack(h, 11, 1, 1), UT_ESTATE);
    assert_unchanged(h, 2, &s);
    assert_int_equal(ut_replica_set_mark(h, 11, UT_REPLICA_SYNCING), UT_OK);
    ut_replica_info_t inf;
    assert_int_equal(ut_replica_set_info(h, 11, &inf), UT_OK);
    assert_int_equal(inf.acked, 0); /* its old data does not count */
    assert_int_equal(inf.status, UT_REPLICA_SYNCING);
    assert_int_not_equal(inf.epoch, 0);
    /* Its ack of 1 sent before the failure, delayed past the resync, is
     * stale: the rebuilt disk holds nothing (before the epoch it was
     * credited, and a replica holding 0 counted as holding 1). */
    take_snap(h, 2, &s);
    assert_int_equal(ack(h, 11, 1, 1), UT_ESTATE);
    assert_unchanged(h, 2, &s);
    assert_int_equal(ut_replica_set_info(h, 11, &inf), UT_OK);
    assert_int_equal(inf.acked, 0);
    assert_int_equal(status_of(h, 11), UT_REPLICA_SYNCING);
    /* The rebuilt disk's acks carry the epoch the resync wrote to it. */
    assert_int_equal(ack_epoch(h, 11, 1, 1, inf.epoch), UT_OK);
    assert_int_equal(status_of(h, 11), UT_REPLICA_IN_SYNC);
    ut_replica_set_free(h);
}

/* Resync epochs rise across the primary's restarts: a set of a later
 * incarnation refuses an ack its predecessor's resync epoch made valid. */
static void test_resync_epoch_across_incarnations(void **state)
{
    (void)state;
    uint64_t reps[2] = {11, 12};
    ut_replica_set_config_t cfg;
    assert_int_equal(ut_replica_set_config_init(&cfg, UT_REPLICA_SET_CONFIG_VERSION), UT_OK);
    cfg.self_id = PRIMARY;
    cfg.replicas = reps;
    cfg.n_replicas = 2;
    cfg.incarnation = 1;
    ut_replica_set_t *a = NULL, *b = NULL;
    assert_int_equal(ut_replica_set_new(&a, &cfg), UT_OK);
    write1(a);
    assert_int_equal(ut_replica_set_mark(a, 11, UT_REPLICA_FAILED), UT_OK);
    assert_int_equal(ut_replica_set_mark(a, 11, UT_REPLICA_SYNCING), UT_OK);
    ut_replica_info_t ia, ib;
    assert_int_equal(ut_replica_set_info(a, 11, &ia), UT_OK);
    cfg.incarnation = 2; /* the primary restarted */
    assert_int_equal(ut_replica_set_new(&b, &cfg), UT_OK);
    assert_int_equal(ut_replica_set_restore(b, 1, 0), UT_OK);
    assert_int_equal(ut_replica_set_mark(b, 11, UT_REPLICA_FAILED), UT_OK);
    assert_int_equal(ut_replica_set_mark(b, 11, UT_REPLICA_SYNCING), UT_OK);
    assert_int_equal(ut_replica_set_info(b, 11, &ib), UT_OK);
    assert_true(ib.epoch > ia.epoch);
    assert_int_equal(ack_epoch(b, 11, 1, 1, ia.epoch), UT_ESTATE);
    assert_int_equal(ack_epoch(b, 11, 1, 1, ib.epoch), UT_OK);
    /* An incarnation of 2^32 or more is refused. */
    ut_replica_set_t *c = NULL;
    cfg.incarnation = UINT64_C(1) << 32;
    assert_int_equal(ut_replica_set_new(&c, &cfg), UT_EINVAL);
    assert_null(c);
    ut_replica_set_free(a);
    ut_replica_set_free(b);
}

/* ---- step and ready/advance errors ---- */

static void test_step_errors_leave_unchanged(void **state)
{
    (void)state;
    ut_replica_set_t *h = make(UT_REPLICATION_SYNC, 3, NULL);
    write1(h);
    drained_t d;
    drain(h, &d);
    snap_t s;
    take_snap(h, 3, &s);
    ut_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = UT_MSG_REPL_ACK;
    m.from = 11;
    m.to = PRIMARY;
    assert_int_equal(ut_replica_set_step(h, NULL), UT_EINVAL);
    assert_int_equal(ut_replica_set_step(NULL, &m), UT_EINVAL);
    m.type = UT_MSG_REPL_WRITE;
    assert_int_equal(ut_replica_set_step(h, &m), UT_EINVAL);
    m.type = UT_MSG_REPL_ACK;
    m.to = 5;
    assert_int_equal(ut_replica_set_step(h, &m), UT_EINVAL);
    m.to = PRIMARY;
    m.from = 99;
    assert_int_equal(ut_replica_set_step(h, &m), UT_ENOTFOUND);
    assert_non_null(strstr(ut_replica_set_errmsg(h), "not a replica"));
    m.from = 11;
    m.body.repl_ack.acked = 1;
    m.body.repl_ack.applied = 2;
    assert_int_equal(ut_replica_set_step(h, &m), UT_EINVAL);
    m.body.repl_ack.acked = 2; /* never written */
    m.body.repl_ack.applied = 0;
    assert_int_equal(ut_replica_set_step(h, &m), UT_EINVAL);
    assert_non_null(strstr(ut_replica_set_errmsg(h), "beyond"));
    assert_unchanged(h, 3, &s);
    ut_replica_ready_t rd;
    assert_int_equal(ut_replica_set_ready(h, &rd), UT_OK);
    assert_true(ut_replica_set_ready_empty(&rd));
    assert_int_equal(ut_replica_set_write(h, NULL), UT_EINVAL);
    assert_int_equal(ut_replica_set_write(NULL, NULL), UT_EINVAL);
    assert_unchanged(h, 3, &s);
    ut_replica_status_t st;
    ut_replica_info_t inf;
    assert_int_equal(ut_replica_set_status(h, 99, &st), UT_ENOTFOUND);
    assert_int_equal(ut_replica_set_status(h, 11, NULL), UT_EINVAL);
    assert_int_equal(ut_replica_set_info(h, 99, &inf), UT_ENOTFOUND);
    assert_int_equal(ut_replica_set_info(NULL, 11, &inf), UT_EINVAL);
    assert_int_equal(ut_replica_set_durable(NULL), 0);
    assert_int_equal(ut_replica_set_last(NULL), 0);
    assert_false(ut_replica_set_degraded(NULL));
    assert_int_equal(ut_replica_set_degradations(NULL), 0);
    assert_int_equal(ut_replica_set_in_sync(NULL), 0);
    /* A failed sender, and an ack from before a resync: refused with
     * UT_ESTATE, nothing changed. */
    assert_int_equal(ut_replica_set_mark(h, 11, UT_REPLICA_FAILED), UT_OK);
    drain(h, &d);
    take_snap(h, 3, &s);
    m.body.repl_ack.acked = 1;
    m.body.repl_ack.applied = 1;
    assert_int_equal(ut_replica_set_step(h, &m), UT_ESTATE);
    assert_non_null(strstr(ut_replica_set_errmsg(h), "failed"));
    assert_unchanged(h, 3, &s);
    assert_int_equal(ut_replica_set_mark(h, 11, UT_REPLICA_SYNCING), UT_OK);
    drain(h, &d);
    take_snap(h, 3, &s);
    assert_int_not_equal(s.info[0].epoch, 0);
    assert_int_equal(ut_replica_set_step(h, &m), UT_ESTATE); /* epoch 0: stale */
    assert_non_null(strstr(ut_replica_set_errmsg(h), "before its resync"));
    assert_unchanged(h, 3, &s);
    ut_replica_set_free(h);
}

/* Replica ids in any order and with gaps are found as well as ids
 * base, base + 1, ... (which the set finds by a subtraction). */
static void test_replica_ids_any_order(void **state)
{
    (void)state;
    static const uint64_t orders[][3] = {
        {11, 12, 13}, {13, 11, 12}, {11, 20, 15}, {UINT64_MAX, 2, 7}};
    for (size_t k = 0; k < sizeof orders / sizeof orders[0]; k++) {
        uint64_t rid[3] = {orders[k][0], orders[k][1], orders[k][2]};
        ut_replica_set_config_t cfg;
        assert_int_equal(ut_replica_set_config_init(&cfg, UT_REPLICA_SET_CONFIG_VERSION), UT_OK);
        cfg.self_id = PRIMARY;
        cfg.replicas = rid;
        cfg.n_replicas = 3;
        cfg.strategy = UT_REPLICATION_SYNC;
        cfg.min_in_sync = 3;
        ut_replica_set_t *h = NULL;
        assert_int_equal(ut_replica_set_new(&h, &cfg), UT_OK);
        uint64_t p;
        assert_int_equal(ut_replica_set_write(h, &p), UT_OK);
        /* Ids that are not replicas, next to the ones that are. */
        static const uint64_t strangers[] = {10, 14, 16, 19, 21, 0, 1, 3, UINT64_MAX - 1};
        for (size_t j = 0; j < sizeof strangers / sizeof strangers[0]; j++) {
            bool member = false;
            for (size_t i = 0; i < 3; i++)
                member |= rid[i] == strangers[j];
            if (!member)
                assert_int_equal(ack(h, strangers[j], 1, 1), UT_ENOTFOUND);
        }
        for (size_t i = 0; i < 3; i++) {
            assert_int_equal(ut_replica_set_durable(h), 0);
            assert_int_equal(ack(h, rid[i], 1, 1), UT_OK);
            ut_replica_info_t inf;
            assert_int_equal(ut_replica_set_info(h, rid[i], &inf), UT_OK);
            assert_int_equal(inf.acked, 1);
        }
        assert_int_equal(ut_replica_set_durable(h), 1); /* every one of the three */
        ut_replica_set_free(h);
    }
}

static void test_ready_advance_rules(void **state)
{
    (void)state;
    ut_replica_set_t *h = make(UT_REPLICATION_SYNC, 2, NULL);
    ut_replica_ready_t rd, rd2;
    assert_int_equal(ut_replica_set_ready(h, &rd), UT_OK);
    assert_true(ut_replica_set_ready_empty(&rd));
    assert_int_equal(ut_replica_set_advance(h, &rd), UT_OK); /* empty: no-op */
    write1(h);
    assert_int_equal(ut_replica_set_ready(h, &rd), UT_OK);
    assert_int_equal(rd.n_msgs, 2);
    assert_int_equal(rd.version, 1);
    /* Pointers stay valid while more is pushed. */
    write1(h);
    assert_int_equal(rd.msgs[1].body.repl_write.position, 1);
    assert_int_equal(ut_replica_set_ready(h, &rd2), UT_ESTATE);
    ut_replica_ready_t stale = rd;
    stale.seq += 5;
    assert_int_equal(ut_replica_set_advance(h, &stale), UT_EINVAL);
    assert_int_equal(ut_replica_set_advance(h, NULL), UT_EINVAL);
    assert_int_equal(ut_replica_set_ready(h, NULL), UT_EINVAL);
    assert_int_equal(ut_replica_set_advance(h, &rd), UT_OK);
    assert_int_equal(ut_replica_set_advance(h, &rd), UT_EINVAL); /* twice */
    assert_int_equal(ut_replica_set_ready(h, &rd), UT_OK);
    assert_int_equal(rd.n_msgs, 2);
    assert_int_equal(rd.msgs[0].body.repl_write.position, 2);
    assert_int_equal(ut_replica_set_advance(h, &rd), UT_OK);
    assert_int_equal(ut_replica_set_ready(NULL, &rd), UT_EINVAL);
    assert_int_equal(ut_replica_set_advance(NULL, &rd), UT_EINVAL);
    assert_true(ut_replica_set_ready_empty(NULL));
    ut_replica_set_free(h);
}

/* ---- allocation failure ---- */

/* One scenario per strategy; every call either succeeds or fails with
 * UT_ENOMEM leaving the set unchanged, and nothing leaks. */
static int run_alloc_scenario(ut_replication_t strat)
{
    ut_replica_set_config_t cfg;
    ut_replica_set_config_init(&cfg, 1);
    cfg.self_id = PRIMARY;
    cfg.replicas = ids;
    cfg.n_replicas = 4;
    cfg.strategy = strat;
    cfg.semi_sync_acks = 2;
    cfg.semi_sync_degrade = true;
    cfg.lag_bound_entries = 1;
    cfg.offline_after_ms = 50;
    ut_replica_set_t *h = NULL;
    int rc = ut_replica_set_new(&h, &cfg);
    if (rc == UT_ENOMEM) {
        assert_null(h);
        return rc;
    }
    assert_int_equal(rc, UT_OK);
    int fails = 0;
    for (int step = 0; step < 40; step++) {
        snap_t s;
        take_snap(h, 4, &s);
        uint64_t p;
        switch (step % 6) {
        case 0:
        case 3:
            rc = ut_replica_set_write(h, &p);
            break;
        case 1:
            rc = ack(h, ids[step % 4], ut_replica_set_last(h), ut_replica_set_last(h));
            break;
        case 2:
            rc = ut_replica_set_tick(h, (uint64_t)step * 20);
            break;
        case 4:
            rc = ut_replica_set_mark(h, ids[(step / 6) % 4], UT_REPLICA_FAILED);
            if (rc == UT_ESTATE)
                rc = ut_replica_set_mark(h, ids[(step / 6) % 4], UT_REPLICA_SYNCING);
            break;
        default: {
            ut_replica_ready_t rd;
            rc = ut_replica_set_ready(h, &rd);
            if (rc == UT_OK)
                rc = ut_replica_set_advance(h, &rd);
            break;
        }
        }
        if (rc == UT_ENOMEM) {
            fails++;
            assert_unchanged(h, 4, &s);
        } else {
            assert_true(rc == UT_OK || rc == UT_ESTATE || rc == UT_EINVAL);
        }
    }
    ut_replica_set_free(h);
    return fails > 0 ? UT_ENOMEM : UT_OK;
}

static void test_alloc_failure_sweep(void **state)
{
    (void)state;
    for (int strat = UT_REPLICATION_SYNC; strat <= UT_REPLICATION_TREE; strat++) {
        test_alloc_t t;
        long k;
        for (k = 1; k < 400; k++) {
            test_alloc_install(&t, k);
            int rc = run_alloc_scenario((ut_replication_t)strat);
            long failures = t.failures, live = t.live;
            test_alloc_uninstall();
            assert_int_equal(live, 0);
            if (failures == 0) {
                assert_int_equal(rc, UT_OK);
                break;
            }
        }
        assert_true(k > 1 && k < 400);
    }
}

static void test_no_allocation_per_ack_at_steady_state(void **state)
{
    (void)state;
    test_alloc_t t;
    test_alloc_install(&t, 0);
    ut_replica_set_t *h = make(UT_REPLICATION_SEMI_SYNC, 4, semi_fail);
    for (int round = 0; round < 200; round++) {
        if (round == 100)
            t.calls = 0; /* warmed up */
        uint64_t p = write1(h);
        for (size_t i = 0; i < 4; i++)
            assert_int_equal(ack(h, ids[i], p, p), UT_OK);
        drained_t d;
        drain(h, &d);
    }
    assert_int_equal(t.calls, 0);
    ut_replica_set_free(h);
    test_alloc_uninstall();
    assert_int_equal(t.live, 0);
}

/* ---- the durable position, kept incrementally, against a recount ---- */

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* replica.h's rule, recounted from the accessors: the durable position the
 * set must report after an operation that started from durable `prev`. */
static uint64_t recount(const ut_replica_set_t *h, ut_replication_t strat, size_t n, uint32_t k,
                        uint32_t min_in_sync, uint64_t prev)
{
    uint64_t last = ut_replica_set_last(h), d = last;
    ut_replica_info_t in[MAXR];
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ut_replica_set_info(h, ids[i], &in[i]), UT_OK);
    bool any = false;
    switch (strat) {
    case UT_REPLICATION_ASYNC:
        break;
    case UT_REPLICATION_SYNC: {
        size_t isr = 0;
        for (size_t i = 0; i < n; i++)
            if (in[i].status == UT_REPLICA_IN_SYNC) {
                isr++;
                d = in[i].acked < d ? in[i].acked : d;
            }
        if (isr < min_in_sync)
            d = prev;
        break;
    }
    case UT_REPLICATION_SEMI_SYNC: {
        /* the k-th highest ack among replicas not failed */
        uint64_t best = 0;
        for (size_t i = 0; i < n; i++) {
            if (in[i].status == UT_REPLICA_FAILED)
                continue;
            uint32_t higher_or_equal = 0;
            for (size_t j = 0; j < n; j++)
                higher_or_equal += in[j].status != UT_REPLICA_FAILED && in[j].acked >= in[i].acked;
            if (higher_or_equal >= k && in[i].acked > best)
                best = in[i].acked;
        }
        d = best < d ? best : d;
        break;
    }
    default: /* chain (its links are its live replicas here), tree */
        for (size_t i = 0; i < n; i++)
            if (in[i].status != UT_REPLICA_OFFLINE && in[i].status != UT_REPLICA_FAILED) {
                any = true;
                d = in[i].acked < d ? in[i].acked : d;
            }
        if (!any)
            d = prev;
        break;
    }
    return d > prev ? d : prev;
}

/* Random writes, acks from random replicas at random positions (stale,
 * duplicated, out of order, ahead), and now and then a replica failed and
 * resynced or taken offline and back: after every operation the durable
 * position the set keeps incrementally (the minimum and how many hold it;
 * semi-sync's k-th highest and how many are above it) equals a recount
 * from scratch, for every strategy, set size and semi-sync k. */
static void test_durable_matches_a_recount(void **state)
{
    (void)state;
    for (int strat = UT_REPLICATION_SYNC; strat <= UT_REPLICATION_TREE; strat++) {
        for (size_t n = 1; n <= 6; n++) {
            for (uint32_t k = 1; k <= (strat == UT_REPLICATION_SEMI_SYNC ? n : 1); k++) {
                ut_replica_set_config_t cfg;
                ut_replica_set_config_init(&cfg, UT_REPLICA_SET_CONFIG_VERSION);
                cfg.self_id = PRIMARY;
                cfg.replicas = ids;
                cfg.n_replicas = n;
                cfg.strategy = (ut_replication_t)strat;
                cfg.semi_sync_acks = k;
                cfg.min_in_sync = 1;
                ut_replica_set_t *h = NULL;
                assert_int_equal(ut_replica_set_new(&h, &cfg), UT_OK);
                for (int op = 0; op < 3000; op++) {
                    uint64_t prev = ut_replica_set_durable(h), last = ut_replica_set_last(h);
                    uint64_t r = rnd() % 100, who = ids[rnd() % n];
                    if (r < 25) {
                        uint64_t p;
                        int rc = ut_replica_set_write(h, &p);
                        assert_true(rc == UT_OK || rc == UT_ESTATE);
                    } else if (r < 97) {
                        ut_replica_info_t in;
                        assert_int_equal(ut_replica_set_info(h, who, &in), UT_OK);
                        /* mostly forward to a random position, sometimes stale */
                        uint64_t a = rnd() % 4 == 0 ? rnd() % (last + 1)
                                                    : in.acked + rnd() % (last - in.acked + 1);
                        int rc = ack_epoch(h, who, a, a - rnd() % (a + 1), in.epoch);
                        assert_true(rc == UT_OK || rc == UT_ESTATE);
                    } else if (r < 98) {
                        (void)ut_replica_set_mark(h, who, UT_REPLICA_FAILED);
                    } else if (r < 99) {
                        (void)ut_replica_set_mark(h, who, UT_REPLICA_OFFLINE);
                    } else {
                        (void)ut_replica_set_mark(h, who, UT_REPLICA_SYNCING);
                    }
                    assert_int_equal(ut_replica_set_durable(h),
                                     recount(h, (ut_replication_t)strat, n, k, 1, prev));
                    drained_t d;
                    if (op % 7 == 0)
                        drain(h, &d);
                }
                ut_replica_set_free(h);
            }
        }
    }
}

/* ---- a restarted primary ---- */

static void semi_timeout(ut_replica_set_config_t *c)
{
    c->semi_sync_acks = 2;
    c->semi_sync_timeout_ms = 100;
}

static void test_restore_resumes_and_resyncs(void **state)
{
    (void)state;
    /* Sync, in-sync minimum 2: nothing is in-sync after the restart, so
     * writes wait until two replicas proved they hold the durable position. */
    ut_replica_set_t *h = make(UT_REPLICATION_SYNC, 3, min2);
    assert_int_equal(ut_replica_set_tick(h, 1000), UT_OK);
    assert_int_equal(ut_replica_set_restore(h, 10, 7), UT_OK);
    assert_int_equal(ut_replica_set_last(h), 10);
    assert_int_equal(ut_replica_set_durable(h), 7);
    assert_int_equal(ut_replica_set_in_sync(h), 0);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(status_of(h, ids[i]), UT_REPLICA_SYNCING);
    drained_t d;
    drain(h, &d);
    assert_int_equal(d.n_ev, 0); /* as new() starts them in-sync without events */
    uint64_t p = 0;
    assert_int_equal(ut_replica_set_write(h, &p), UT_ESTATE);
    assert_int_equal(ack(h, ids[0], 6, 6), UT_OK); /* below durable: still syncing */
    assert_int_equal(status_of(h, ids[0]), UT_REPLICA_SYNCING);
    assert_int_equal(ack(h, ids[0], 10, 10), UT_OK);
    assert_int_equal(ack(h, ids[1], 8, 8), UT_OK);
    assert_int_equal(ut_replica_set_in_sync(h), 2);
    assert_int_equal(ut_replica_set_durable(h), 8);
    assert_int_equal(write1(h), 11);
    drain(h, &d);
    assert_true(has_event(&d, UT_REPLICA_EVENT_STATUS, ids[0], UT_REPLICA_IN_SYNC));
    /* Restoring again is refused: the set has written. */
    snap_t s;
    take_snap(h, 3, &s);
    assert_int_equal(ut_replica_set_restore(h, 20, 20), UT_ESTATE);
    assert_non_null(strstr(ut_replica_set_errmsg(h), "already"));
    assert_unchanged(h, 3, &s);
    ut_replica_set_free(h);

    /* Async: the primary's log is the durable copy. */
    h = make(UT_REPLICATION_ASYNC, 2, NULL);
    assert_int_equal(ut_replica_set_restore(h, 10, 7), UT_OK);
    assert_int_equal(ut_replica_set_durable(h), 10);
    ut_replica_set_free(h);

    /* Chain: the tail's ack still decides, from the restored position on. */
    h = make(UT_REPLICATION_CHAIN, 3, NULL);
    assert_int_equal(ut_replica_set_restore(h, 5, 3), UT_OK);
    assert_int_equal(ack(h, ids[0], 5, 5), UT_OK);
    assert_int_equal(ack(h, ids[1], 5, 5), UT_OK);
    assert_int_equal(ut_replica_set_durable(h), 3);
    assert_int_equal(ack(h, ids[2], 4, 4), UT_OK);
    assert_int_equal(ut_replica_set_durable(h), 4);
    ut_replica_set_free(h);

    /* Semi-sync: the timeout counts from the restore, not from time 0. */
    h = make(UT_REPLICATION_SEMI_SYNC, 3, semi_timeout);
    assert_int_equal(ut_replica_set_tick(h, 5000), UT_OK);
    assert_int_equal(ut_replica_set_restore(h, 4, 2), UT_OK);
    assert_int_equal(ut_replica_set_write(h, &p), UT_OK);
    assert_int_equal(ut_replica_set_tick(h, 5200), UT_OK);
    assert_int_equal(ut_replica_set_write(h, &p), UT_ESTATE); /* now it timed out */
    ut_replica_set_free(h);
}

static void test_restore_errors_leave_unchanged(void **state)
{
    (void)state;
    assert_int_equal(ut_replica_set_restore(NULL, 1, 1), UT_EINVAL);
    ut_replica_set_t *h = make(UT_REPLICATION_SYNC, 3, NULL);
    snap_t s;
    take_snap(h, 3, &s);
    assert_int_equal(ut_replica_set_restore(h, 3, 4), UT_EINVAL);
    assert_non_null(strstr(ut_replica_set_errmsg(h), "above"));
    assert_unchanged(h, 3, &s);
    /* An ack, even of nothing, means the set is running: too late. */
    assert_int_equal(ack(h, ids[0], 0, 0), UT_OK);
    take_snap(h, 3, &s);
    assert_int_equal(ut_replica_set_restore(h, 3, 3), UT_ESTATE);
    assert_unchanged(h, 3, &s);
    ut_replica_set_free(h);
}

static void test_write_refusals_leave_unchanged(void **state)
{
    (void)state;
    uint64_t p = 7;
    snap_t s;
    ut_replica_ready_t rd;
    /* The position would overflow (reachable through a restore). */
    ut_replica_set_t *h = make(UT_REPLICATION_SYNC, 2, NULL);
    assert_int_equal(ut_replica_set_restore(h, UINT64_MAX, 5), UT_OK);
    take_snap(h, 2, &s);
    assert_int_equal(ut_replica_set_write(h, &p), UT_ERANGE);
    assert_non_null(strstr(ut_replica_set_errmsg(h), "overflow"));
    assert_int_equal(p, 7);
    assert_unchanged(h, 2, &s);
    ut_replica_set_free(h);
    /* Chain and tree with every replica failed: nowhere to write. */
    for (int strat = UT_REPLICATION_CHAIN; strat <= UT_REPLICATION_TREE; strat++) {
        h = make((ut_replication_t)strat, 3, NULL);
        write1(h);
        for (size_t i = 0; i < 3; i++)
            assert_int_equal(ut_replica_set_mark(h, ids[i], UT_REPLICA_FAILED), UT_OK);
        drained_t d;
        drain(h, &d);
        take_snap(h, 3, &s);
        assert_int_equal(ut_replica_set_write(h, &p), UT_ESTATE);
        assert_non_null(strstr(ut_replica_set_errmsg(h), "no live"));
        assert_unchanged(h, 3, &s);
        assert_int_equal(ut_replica_set_ready(h, &rd), UT_OK);
        assert_true(ut_replica_set_ready_empty(&rd)); /* nothing was queued */
        /* Time going back is refused the same way. */
        assert_int_equal(ut_replica_set_tick(h, 500), UT_OK);
        drain(h, &d);
        take_snap(h, 3, &s);
        assert_int_equal(ut_replica_set_tick(h, 499), UT_EINVAL);
        assert_unchanged(h, 3, &s);
        ut_replica_set_free(h);
    }
}

/* ---- trace hook ---- */

typedef struct trace_log {
    size_t n;
    ut_trace_event_t ev[64];
} trace_log_t;

static void record(void *arg, const ut_trace_event_t *ev)
{
    trace_log_t *t = arg;
    if (t->n < 64)
        t->ev[t->n++] = *ev;
}

static const ut_trace_event_t *traced(const trace_log_t *t, const char *event, const char *why)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->ev[i].event, event) == 0 && (!why || strcmp(t->ev[i].reason, why) == 0))
            return &t->ev[i];
    return NULL;
}

static trace_log_t g_trace;

static void with_tracer(ut_replica_set_config_t *c)
{
    c->semi_sync_acks = 2;
    c->semi_sync_degrade = true;
    c->trace = record;
    c->trace_arg = &g_trace;
}

static void test_trace_hook(void **state)
{
    (void)state;
    memset(&g_trace, 0, sizeof g_trace);
    ut_replica_set_t *h = make(UT_REPLICATION_SEMI_SYNC, 3, with_tracer);
    uint64_t p = write1(h);
    assert_int_equal(g_trace.n, 0); /* routine work is not traced */
    /* A refused ack: the reason and the code. */
    assert_int_equal(ack(h, 99, p, p), UT_ENOTFOUND);
    const ut_trace_event_t *e = traced(&g_trace, "refuse-ack", "sender is not a replica");
    assert_non_null(e);
    assert_int_equal(e->level, UT_TRACE_WARN);
    assert_string_equal(e->module, "replica");
    assert_int_equal(e->node, PRIMARY);
    assert_int_equal(e->a, (uint64_t) - (int64_t)UT_ENOTFOUND);
    /* A status change and the degradation it causes. */
    assert_int_equal(ut_replica_set_mark(h, ids[0], UT_REPLICA_FAILED), UT_OK);
    assert_int_equal(ut_replica_set_mark(h, ids[1], UT_REPLICA_OFFLINE), UT_OK);
    e = traced(&g_trace, "failed", "reported by the caller");
    assert_non_null(e);
    assert_int_equal(e->a, ids[0]);
    assert_int_equal(e->b, UT_REPLICA_IN_SYNC);
    e = traced(&g_trace, "degraded", "too few replicas reachable");
    assert_non_null(e);
    assert_int_equal(e->level, UT_TRACE_WARN);
    /* A refused transition. */
    assert_int_equal(ut_replica_set_mark(h, ids[0], UT_REPLICA_OFFLINE), UT_ESTATE);
    assert_non_null(traced(&g_trace, "refuse-mark", "not in the status graph"));
    ut_replica_set_free(h);
    /* Without a tracer nothing is called (the default config has none). */
    ut_replica_set_config_t cfg;
    assert_int_equal(ut_replica_set_config_init(&cfg, UT_REPLICA_SET_CONFIG_VERSION), UT_OK);
    assert_null(cfg.trace);
    assert_null(cfg.trace_arg);
}

/* ---- wire ---- */

static void test_wire_round_trip_and_truncation(void **state)
{
    (void)state;
    ut_msg_t ms[3];
    memset(ms, 0, sizeof ms);
    ms[0].type = UT_MSG_REPL_WRITE;
    ms[0].body.repl_write.position = 0x0102030405060708ull;
    ms[0].body.repl_write.durable = 7;
    ms[0].body.repl_write.epoch = (UINT64_C(3) << 32) | 5;
    ms[1].type = UT_MSG_REPL_ACK;
    ms[1].body.repl_ack.acked = 99;
    ms[1].body.repl_ack.applied = 98;
    ms[1].body.repl_ack.epoch = UINT64_MAX;
    ms[2].type = UT_MSG_REPL_LINK;
    ms[2].body.repl_link.successor = 13;
    ms[2].body.repl_link.position = UINT64_MAX;
    for (size_t i = 0; i < 3; i++) {
        ms[i].from = 1;
        ms[i].to = 2 + i;
        unsigned char buf[256];
        size_t len = 0, used = 0, sz = 0;
        assert_int_equal(ut_msg_encoded_size(&ms[i], &sz), UT_OK);
        assert_int_equal(ut_msg_encode(&ms[i], buf, sizeof buf, &len), UT_OK);
        assert_int_equal(len, sz);
        assert_int_equal(len, i < 2 ? 64 : 56); /* docs/wire-format.md §10 */
        assert_int_equal(buf[4], 128 + i);
        assert_int_equal(buf[5], 0);
        ut_msg_t out;
        assert_int_equal(ut_msg_decode(&out, buf, len, NULL, 0, &used), UT_OK);
        assert_int_equal(used, len);
        assert_int_equal(out.type, ms[i].type);
        assert_int_equal(out.from, ms[i].from);
        assert_int_equal(out.to, ms[i].to);
        assert_memory_equal(&out.body.repl_write, &ms[i].body.repl_write, i < 2 ? 24 : 16);
        /* Every truncation is refused. */
        for (size_t cut = 0; cut < len; cut++)
            assert_int_not_equal(ut_msg_decode(&out, buf, cut, NULL, 0, &used), UT_OK);
        /* Every single-bit flip is refused or decodes to a valid message. */
        for (size_t bit = 0; bit < len * 8; bit++) {
            buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
            int rc = ut_msg_decode(&out, buf, len, NULL, 0, &used);
            if (rc == UT_OK)
                assert_int_equal(ut_msg_validate(&out), UT_OK);
            buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        }
        const char *nm = ut_msg_type_name(ms[i].type);
        assert_string_equal(nm, i == 0 ? "repl-write" : i == 1 ? "repl-ack" : "repl-link");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_and_new_errors),
        cmocka_unit_test(test_sync_durable_is_min_of_in_sync),
        cmocka_unit_test(test_sync_refuses_writes_below_min_in_sync),
        cmocka_unit_test(test_async_durable_at_once),
        cmocka_unit_test(test_semi_sync_k_acks_and_fail_mode),
        cmocka_unit_test(test_semi_sync_degradation_is_never_silent),
        cmocka_unit_test(test_chain_writes_to_head_durable_at_tail),
        cmocka_unit_test(test_chain_middle_failure_relinks),
        cmocka_unit_test(test_tree_fanout_and_paths),
        cmocka_unit_test(test_lag_bounds_and_offline),
        cmocka_unit_test(test_status_graph),
        cmocka_unit_test(test_failed_must_resync_before_in_sync),
        cmocka_unit_test(test_step_errors_leave_unchanged),
        cmocka_unit_test(test_replica_ids_any_order),
        cmocka_unit_test(test_ready_advance_rules),
        cmocka_unit_test(test_alloc_failure_sweep),
        cmocka_unit_test(test_no_allocation_per_ack_at_steady_state),
        cmocka_unit_test(test_durable_matches_a_recount),
        cmocka_unit_test(test_restore_resumes_and_resyncs),
        cmocka_unit_test(test_trace_hook),
        cmocka_unit_test(test_write_refusals_leave_unchanged),
        cmocka_unit_test(test_restore_errors_leave_unchanged),
        cmocka_unit_test(test_wire_round_trip_and_truncation),
        cmocka_unit_test(test_resync_epoch_across_incarnations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
