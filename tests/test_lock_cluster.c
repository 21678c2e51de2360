/* SPDX-License-Identifier: MIT */
/* A seeded lock service on Raft: 5 ut_consensus_t nodes (tests/raft_cluster
 * harness, which checks Raft's own safety properties), a ut_lock_table_t per
 * node applying the committed log, clients proposing through whichever
 * node leads (retrying through leader changes), a fenced resource server
 * reached over a lossy, reordering network, and message loss, duplication,
 * reordering, partitions and crash-restarts (a restarted node's table comes
 * back from its ut_lock_table_snapshot bytes) driven by the seed.
 *
 * The invariants are checked after every event by tools/sim/lock_check.c,
 * which utsim's lock scenario shares: replicas agree (same snapshot bytes
 * after the same index), mutual exclusion in the model and in every
 * node's table, tokens strictly increasing per resource, no grant inside a
 * lock-delay, FIFO grants, no
 * deadlock among waiters (clients take A then B and B then A), no lost
 * grant (after a TICK, and at the end after a quiet period nobody is
 * queued), the model agreeing with the table's counts, and the resource
 * server (ut_fence_t) accepting only tokens granted to the writer, never
 * older than an accepted one, never one token from two writers.
 *
 * Built twice: against the real library and, with UT_LOCK_EXPECT_VIOLATION,
 * against one whose queued grants reuse the last token
 * (-DUT__FAULT_LOCK_TOKEN); that run must find a violation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <unitypes.h>

#include "raft_cluster.h"
#include "sim/lock_check.h"

#define NODES 5
#define CLIENTS 6
#define NRES 2
#define LOCK_DELAY_MS 50

static const char *const res_name[NRES] = {"A", "B"};

typedef enum { C_IDLE, C_WANT, C_HOLD, C_RELEASING } cstate_t;

typedef struct cl {
    char name[8];
    cstate_t st;
    int order; /* 0: A then B; 1: B then A */
    int step;  /* which of its two resources it is after */
    uint64_t next_ms;
    uint64_t sent_ms; /* last proposal, for retry */
} cl_t;

typedef struct wr {
    uint64_t at;
    int client;
    uint64_t token;
} wr_t;

typedef struct world {
    rc_cluster_t c;
    ut_lock_table_t *tab[NODES + 1];
    unsigned char *saved[NODES + 1];
    size_t saved_len[NODES + 1];
    size_t ai[NODES + 1];
    size_t first_applied; /* highest index applied by anyone */
    /* The properties and the model built from the first application of
     * each index: shared with utsim's lock scenario (tools/sim/lock_check.h). */
    lkc_t k;
    cl_t cl[CLIENTS];
    ut_fence_t *fence;
    wr_t writes[256];
    size_t nwrites;
    long accepted, stale;
} world_t;

static long st_grants, st_queued, st_conflicts, st_deadlocks, st_accepted, st_stale, st_ran;
static size_t st_applied;

static ut_lock_table_t *mk_table(void)
{
    ut_lock_table_config_t cfg;
    ut_lock_table_config_init(&cfg, UT_LOCK_TABLE_CONFIG_VERSION);
    cfg.lock_delay_ms = LOCK_DELAY_MS;
    ut_lock_table_t *t = NULL;
    assert_int_equal(ut_lock_table_new(&t, &cfg), UT_OK);
    return t;
}

/* Service: every up node applies what its Raft node applied. */
static void apply_all(world_t *w)
{
    for (uint64_t id = 1; id <= NODES; id++) {
        rc_node_t *n = rc_node(&w->c, id);
        if (!n->up)
            continue;
        while (w->ai[id] < n->n_applied) {
            size_t i = ++w->ai[id];
            const rc_applied_t *a = &n->applied[i - 1];
            ut_lock_reply_t rp;
            bool cmd = a->type == UT_ENTRY_NORMAL && a->len > 8 && i <= n->n_log &&
                       n->log[i - 1].index == i;
            if (cmd) {
                const unsigned char *d = n->log[i - 1].data;
                uint64_t now = 0;
                for (int k = 7; k >= 0; k--)
                    now = (now << 8) | d[k];
                (void)ut_lock_table_apply(w->tab[id], d + 8, a->len - 8, now, &rp);
                size_t nev;
                const ut_lock_event_t *ev = lkc_take_events(&w->k, w->tab[id], &nev);
                if (i > w->first_applied) {
                    w->first_applied = i;
                    lkc_observe(&w->k, d + 8, a->len - 8, &rp, ut_lock_table_cycle_len(w->tab[id]),
                                ev, nev, ut_lock_table_now(w->tab[id]));
                    lkc_model_matches(&w->k, w->tab[id]);
                }
            }
            lkc_table(&w->k, id, w->tab[id]);
            lkc_replica(&w->k, id, i, w->tab[id]);
        }
    }
}

static void propose(world_t *w, ut_lock_op_t op, int r, int c, uint64_t wait)
{
    uint64_t leader = rc_leader(&w->c);
    if (leader == 0)
        return; /* no quorum: the client retries later */
    ut_lock_cmd_t cmd = {op, res_name[r], 1, w->cl[c].name, 2, 200, wait, 0, 0};
    unsigned char buf[64];
    size_t n;
    for (int k = 0; k < 8; k++)
        buf[k] = (unsigned char)(w->c.now >> (8 * k));
    if (ut_lock_cmd_encode(&cmd, buf + 8, sizeof buf - 8, &n) != UT_OK)
        return;
    uint64_t idx;
    (void)rc_propose(&w->c, leader, buf, n + 8, &idx);
}

static void tick_cmd(world_t *w)
{
    uint64_t leader = rc_leader(&w->c);
    if (leader == 0)
        return;
    unsigned char buf[8 + 32];
    ut_lock_cmd_t cmd = {UT_LOCK_OP_TICK, NULL, 0, NULL, 0, 0, 0, 0, 0};
    size_t n;
    for (int k = 0; k < 8; k++)
        buf[k] = (unsigned char)(w->c.now >> (8 * k));
    (void)ut_lock_cmd_encode(&cmd, buf + 8, 32, &n);
    uint64_t idx;
    (void)rc_propose(&w->c, leader, buf, n + 8, &idx);
}

/* Clients act on the observed model (what the service has applied). */
static void clients(world_t *w, bool quiet)
{
    for (int c = 0; c < CLIENTS; c++) {
        cl_t *k = &w->cl[c];
        int want = (k->order + k->step) % NRES;
        if (w->c.now < k->next_ms)
            continue;
        bool holds_want = w->k.holder[want][c];
        bool queued = w->k.waiting_on[c] >= 0;
        if (queued)
            continue;
        if (holds_want) {
            /* Write to the fenced resource (A), delayed by the network. */
            if (want == 0 && w->nwrites < 256) {
                wr_t *x = &w->writes[w->nwrites++];
                x->at = w->c.now + rc_rand(&w->c) % 400;
                x->client = c;
                x->token = w->k.hold_token[0][c];
            }
            if (k->step == 0 && !quiet) {
                k->step = 1; /* now the other one, still holding this */
            } else {
                for (int r = 0; r < NRES; r++)
                    if (w->k.holder[r][c])
                        propose(w, UT_LOCK_OP_RELEASE, r, c, 0);
                k->step = 0;
                k->order = (int)(rc_rand(&w->c) % 2);
            }
            k->next_ms = w->c.now + 20 + rc_rand(&w->c) % 60;
            continue;
        }
        if (quiet) {
            for (int r = 0; r < NRES; r++)
                if (w->k.holder[r][c])
                    propose(w, UT_LOCK_OP_RELEASE, r, c, 0);
            continue;
        }
        propose(w, UT_LOCK_OP_ACQUIRE, want, c, 100 + rc_rand(&w->c) % 300);
        k->next_ms = w->c.now + 40 + rc_rand(&w->c) % 80; /* retry if lost */
    }
}

static void resource_server(world_t *w)
{
    for (size_t i = 0; i < w->nwrites;) {
        wr_t *x = &w->writes[i];
        if (x->at > w->c.now) {
            i++;
            continue;
        }
        int rc = ut_fence_check(w->fence, "A", 1, x->token);
        lkc_write(&w->k, 0, x->client, x->token, rc);
        w->accepted += rc == UT_OK;
        w->stale += rc == UT_ESTALE;
        w->writes[i] = w->writes[--w->nwrites];
    }
}

static void crash_restart(world_t *w, uint64_t id)
{
    rc_node_t *n = rc_node(&w->c, id);
    if (n->up) {
        size_t len = 0;
        (void)ut_lock_table_snapshot(w->tab[id], NULL, 0, &len);
        free(w->saved[id]);
        w->saved[id] = malloc(len);
        w->saved_len[id] = len;
        assert_int_equal(ut_lock_table_snapshot(w->tab[id], w->saved[id], len, &len), UT_OK);
        ut_lock_table_free(w->tab[id]);
        w->tab[id] = NULL;
        rc_crash(&w->c, id);
    } else {
        w->tab[id] = mk_table();
        assert_int_equal(ut_lock_table_restore(w->tab[id], w->saved[id], w->saved_len[id]), UT_OK);
        (void)rc_restart(&w->c, id);
    }
}

static bool run_seed(uint64_t seed, char *why, size_t whylen)
{
    world_t *w = calloc(1, sizeof *w);
    ut_consensus_config_t cfg;
    ut_consensus_config_init(&cfg, UT_CONSENSUS_CONFIG_VERSION);
    cfg.seed = seed;
    cfg.election_timeout_ms = 100;
    cfg.heartbeat_ms = 20;
    assert_int_equal(rc_init(&w->c, NODES, 0, &cfg), UT_OK);
    for (int i = 1; i <= NODES; i++)
        w->tab[i] = mk_table();
    ut_fence_config_t fc;
    ut_fence_config_init(&fc, UT_FENCE_CONFIG_VERSION);
    assert_int_equal(ut_fence_new(&w->fence, &fc), UT_OK);
    assert_int_equal(lkc_init(&w->k, NRES, res_name, CLIENTS, LOCK_DELAY_MS), 0);
    for (int c = 0; c < CLIENTS; c++) {
        snprintf(w->cl[c].name, sizeof w->cl[c].name, "c%d", c);
        w->cl[c].order = c % 2;
    }
    const uint64_t busy = 6000, end = 9000;
    int down = 0;
    bool parted = false;
    while (w->c.now < end && !w->k.failed && !w->c.failed) {
        bool quiet = w->c.now >= busy;
        uint64_t roll = rc_rand(&w->c) % 1000;
        if (!quiet && roll < 4) {
            uint64_t id = 1 + rc_rand(&w->c) % NODES;
            bool up = rc_node(&w->c, id)->up;
            if (!up || down < 2) {
                down += up ? 1 : -1;
                crash_restart(w, id);
            }
        } else if (!quiet && roll < 7 && !parted) {
            uint64_t side[2] = {1 + rc_rand(&w->c) % NODES, 1 + rc_rand(&w->c) % NODES};
            rc_partition(&w->c, side, 2);
            parted = true;
        } else if (roll < 15 && parted) {
            rc_heal(&w->c);
            parted = false;
        }
        if (quiet && parted) {
            rc_heal(&w->c);
            parted = false;
        }
        if (quiet && down > 0) {
            for (uint64_t id = 1; id <= NODES; id++)
                if (!rc_node(&w->c, id)->up)
                    crash_restart(w, id);
            down = 0;
        }
        /* Network faults on what is in flight. */
        for (int k = 0; k < 3 && w->c.n_net > 0 && !quiet; k++) {
            size_t m = rc_rand(&w->c) % w->c.n_net;
            uint64_t f = rc_rand(&w->c) % 100;
            if (f < 5)
                rc_drop(&w->c, m);
            else if (f < 8)
                rc_duplicate(&w->c, m);
            else if (f < 30)
                (void)rc_deliver(&w->c, m); /* out of order */
        }
        w->c.now += 5;
        for (uint64_t id = 1; id <= NODES; id++)
            if (rc_node(&w->c, id)->up)
                (void)rc_tick(&w->c, id);
        (void)rc_drain(&w->c, 200);
        apply_all(w);
        if (w->c.now % 25 == 0)
            tick_cmd(w);
        clients(w, quiet);
        resource_server(w);
    }
    if (!w->c.failed)
        lkc_idle(&w->k);
    assert_false(w->k.oom);
    bool ok = !w->k.failed && !w->c.failed;
    st_grants += (long)w->k.n_grants;
    st_queued += (long)w->k.n_queued;
    st_conflicts += (long)w->k.n_conflicts;
    st_deadlocks += (long)w->k.n_deadlocks;
    st_ran++;
    st_accepted += w->accepted;
    st_stale += w->stale;
    st_applied += w->first_applied;
    if (!ok)
        snprintf(why, whylen, "%s", w->k.failed ? w->k.detail : w->c.err);
    for (int i = 1; i <= NODES; i++) {
        ut_lock_table_free(w->tab[i]);
        free(w->saved[i]);
    }
    ut_fence_free(w->fence);
    lkc_free(&w->k);
    rc_destroy(&w->c);
    free(w);
    return ok;
}

static void test_lock_cluster_seeds(void **state)
{
    (void)state;
    const char *e = getenv("LOCK_SEEDS");
    long seeds = e ? atol(e) : 200;
    long bad = 0;
    char why[1024] = "";
    for (long s = 1; s <= seeds; s++) {
        char w[600];
        if (!run_seed((uint64_t)s, w, sizeof w)) {
            bad++;
            if (why[0] == 0)
                snprintf(why, sizeof why, "seed %ld: %s", s, w);
#ifdef UT_LOCK_EXPECT_VIOLATION
            break;
#endif
        }
    }
    print_message("# %ld seeds: %zu entries applied, %ld grants, %ld queued, %ld conflicts "
                  "(%ld deadlocks refused), fence accepted %ld, refused stale %ld\n",
                  st_ran, st_applied, st_grants, st_queued, st_conflicts, st_deadlocks, st_accepted,
                  st_stale);
#ifdef UT_LOCK_EXPECT_VIOLATION
    print_message("# broken build caught: %s\n", why);
    assert_true(bad > 0);
#else
    if (bad)
        print_message("# %s\n", why);
    assert_int_equal(bad, 0);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_lock_cluster_seeds)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
