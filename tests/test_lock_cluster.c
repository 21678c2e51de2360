/* SPDX-License-Identifier: MIT */
/* A seeded lock service on Raft: 5 ut_consensus_t nodes (tests/raft_cluster
 * harness, which checks Raft's own safety properties), a ut_lock_table_t per
 * node applying the committed log, clients proposing through whichever
 * node leads (retrying through leader changes), a fenced resource server
 * reached over a lossy, reordering network, and message loss, duplication,
 * reordering, partitions and crash-restarts (a restarted node's table comes
 * back from its ut_lock_table_snapshot bytes) driven by the seed.
 *
 * Invariants, checked after every event:
 *  1. replicas agree: every node's table after applying index i has the
 *     same snapshot bytes (hash) as the first node that applied i;
 *  2. tokens strictly increase over the grants of each resource;
 *  3. an exclusive resource never has two holders;
 *  4. the resource server (ut_fence_t) never accepts a write whose token is
 *     not the one granted to the writer, or older than one it accepted;
 *  5. FIFO: a queued holder is granted only when every holder queued before
 *     it for that resource has been granted or has left the queue;
 *  6. no deadlock among waiters: the wait-for graph observed from the
 *     applied stream has no cycle (clients take A then B and B then A);
 *  7. no lost grant: at the end, after a quiet period, no one is queued.
 * Structured so it can move into a utsim scenario: world (harness), service
 * (tables), clients and the resource server are separate pieces.
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

#define NODES 5
#define CLIENTS 6
#define NRES 2
#define MAXIDX 20000
#define MAXW 64

static const char *res_name[NRES] = {"A", "B"};

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
    uint64_t hash[MAXIDX + 1];
    bool hashed[MAXIDX + 1];
    size_t first_applied; /* highest index applied by anyone */
    /* Observed model, from the first application of each index. */
    int holder[NRES][CLIENTS]; /* 1 if client holds resource */
    uint64_t hold_token[NRES][CLIENTS];
    uint64_t last_token[NRES];
    int queue[NRES][MAXW];
    size_t nq[NRES];
    int waiting_on[CLIENTS]; /* -1 or resource */
    cl_t cl[CLIENTS];
    ut_fence_t *fence;
    wr_t writes[256];
    size_t nwrites;
    uint64_t accepted_max;
    char err[256];
    bool failed;
    long grants, queued, conflicts, deadlocks, accepted, stale;
} world_t;

static long st_grants, st_queued, st_conflicts, st_deadlocks, st_accepted, st_stale, st_ran;
static size_t st_applied;

static void vfail(world_t *w, const char *fmt, ...)
{
    if (w->failed)
        return;
    w->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err, sizeof w->err, fmt, ap);
    va_end(ap);
}

static ut_lock_table_t *mk_table(void)
{
    ut_lock_table_config_t cfg;
    ut_lock_table_config_init(&cfg, UT_LOCK_TABLE_CONFIG_VERSION);
    cfg.lock_delay_ms = 50;
    ut_lock_table_t *t = NULL;
    assert_int_equal(ut_lock_table_new(&t, &cfg), UT_OK);
    return t;
}

static int client_of(const void *p, size_t n)
{
    for (int i = 0; i < CLIENTS; i++)
        if (n == 2 && memcmp(p, "c", 1) == 0 && ((const char *)p)[1] == '0' + i)
            return i;
    return -1;
}

static int res_of(const void *p, size_t n)
{
    for (int i = 0; i < NRES; i++)
        if (n == 1 && memcmp(p, res_name[i], 1) == 0)
            return i;
    return -1;
}

static void q_remove(world_t *w, int r, int c)
{
    for (size_t i = 0; i < w->nq[r]; i++)
        if (w->queue[r][i] == c) {
            memmove(&w->queue[r][i], &w->queue[r][i + 1], (w->nq[r] - i - 1) * sizeof(int));
            w->nq[r]--;
            return;
        }
}

static void note_grant(world_t *w, int r, int c, uint64_t token, bool from_queue)
{
    if (token <= w->last_token[r])
        vfail(w, "resource %s: token %llu granted after %llu (not increasing)", res_name[r],
              (unsigned long long)token, (unsigned long long)w->last_token[r]);
    w->last_token[r] = token;
    w->grants++;
    if (from_queue) {
        if (w->nq[r] == 0 || w->queue[r][0] != c)
            vfail(w, "resource %s: c%d granted out of FIFO order", res_name[r], c);
        q_remove(w, r, c);
        w->waiting_on[c] = -1;
    }
    w->holder[r][c] = 1;
    w->hold_token[r][c] = token;
    int n = 0;
    for (int i = 0; i < CLIENTS; i++)
        n += w->holder[r][i];
    if (n > 1)
        vfail(w, "resource %s: %d exclusive holders", res_name[r], n);
}

static bool dl_reach(const world_t *w, int from, int target, int depth)
{
    if (depth > CLIENTS)
        return false;
    int r = w->waiting_on[from];
    if (r < 0)
        return false;
    for (int i = 0; i < CLIENTS; i++) {
        bool edge = w->holder[r][i] != 0;
        for (size_t k = 0; k < w->nq[r] && w->queue[r][k] != from; k++)
            edge = edge || w->queue[r][k] == i;
        if (edge && (i == target || dl_reach(w, i, target, depth + 1)))
            return true;
    }
    return false;
}

/* Model update from the first application of one entry. */
static void observe(world_t *w, const unsigned char *cmd, size_t len, const ut_lock_reply_t *rp,
                    ut_lock_table_t *t)
{
    if (len >= 32 && cmd[1] != UT_LOCK_OP_TICK && rp->status == UT_OK) {
        size_t rl = (size_t)cmd[24] | ((size_t)cmd[25] << 8);
        int r = res_of(cmd + 32, rl), c = client_of(cmd + 32 + rl, len - 32 - rl);
        if (r >= 0 && c >= 0) {
            if (cmd[1] == UT_LOCK_OP_ACQUIRE) {
                if (rp->result == UT_LOCK_CONFLICT && !rp->queued) {
                    w->conflicts++;
                    w->deadlocks += ut_lock_table_cycle_len(t) > 0;
                }
                if (rp->queued) {
                    w->queued++;
                    w->queue[r][w->nq[r]++] = c;
                    w->waiting_on[c] = r;
                } else if (rp->result == UT_LOCK_ACQUIRED) {
                    note_grant(w, r, c, rp->token, false);
                }
            } else if (cmd[1] == UT_LOCK_OP_RELEASE) {
                if (w->waiting_on[c] == r) {
                    q_remove(w, r, c);
                    w->waiting_on[c] = -1;
                } else {
                    w->holder[r][c] = 0;
                }
            }
        }
    }
    ut_lock_event_t ev;
    while (ut_lock_table_next_event(t, &ev) == UT_OK) {
        int r = res_of(ev.resource, ev.resource_len), c = client_of(ev.holder, ev.holder_len);
        if (r < 0 || c < 0)
            continue;
        switch (ev.type) {
        case UT_LOCK_EV_GRANTED:
            note_grant(w, r, c, ev.token, true);
            break;
        case UT_LOCK_EV_EXPIRED:
            w->holder[r][c] = 0;
            break;
        default:
            q_remove(w, r, c);
            w->waiting_on[c] = -1;
            break;
        }
    }
    for (int c = 0; c < CLIENTS; c++)
        if (dl_reach(w, c, c, 0))
            vfail(w, "deadlock: c%d waits for itself", c);
}

static unsigned char **dbg_keep;
static size_t *dbg_keepn;

static uint64_t table_hash(ut_lock_table_t *t)
{
    static unsigned char buf[1 << 16];
    size_t n = 0;
    if (ut_lock_table_snapshot(t, buf, sizeof buf, &n) != UT_OK)
        return 0;
    return rc_hash(buf, n);
}

/* Service: every up node applies what its Raft node applied. */
static void apply_all(world_t *w)
{
    for (uint64_t id = 1; id <= NODES; id++) {
        rc_node_t *n = rc_node(&w->c, id);
        if (!n->up)
            continue;
        while (w->ai[id] < n->n_applied && w->ai[id] < MAXIDX) {
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
                if (i > w->first_applied) {
                    w->first_applied = i;
                    observe(w, d + 8, a->len - 8, &rp, w->tab[id]);
                }
            }
            uint64_t h = table_hash(w->tab[id]);
            if (!w->hashed[i]) {
                if (getenv("LOCK_DEBUG")) {
                    static unsigned char *keep[MAXIDX + 1];
                    static size_t keepn[MAXIDX + 1];
                    size_t kn = 0;
                    ut_lock_table_snapshot(w->tab[id], NULL, 0, &kn);
                    free(keep[i]);
                    keep[i] = malloc(kn);
                    ut_lock_table_snapshot(w->tab[id], keep[i], kn, &kn);
                    keepn[i] = kn;
                    dbg_keep = keep;
                    dbg_keepn = keepn;
                }
                w->hashed[i] = true;
                w->hash[i] = h;
            } else if (w->hash[i] != h) {
                if (getenv("LOCK_DEBUG")) {
                    unsigned char b1[4096];
                    size_t n1 = 0;
                    ut_lock_table_snapshot(w->tab[id], b1, sizeof b1, &n1);
                    fprintf(stderr, "node %d idx %zu len %zu op %d:", (int)id, i, n1,
                            cmd ? n->log[i - 1].data[9] : -1);
                    for (size_t q = 0; q < n1; q++)
                        fprintf(stderr, "%02x", b1[q]);
                    fprintf(stderr, "\n");
                    fprintf(stderr, "first applier:");
                    for (size_t q = 0; q < dbg_keepn[i]; q++)
                        fprintf(stderr, "%02x", dbg_keep[i][q]);
                    fprintf(stderr, "\n");
                    for (uint64_t o = 1; o <= NODES; o++)
                        if (w->ai[o] >= i && o != id)
                            fprintf(stderr, "other node %d ai %zu\n", (int)o, w->ai[o]);
                }
                vfail(w, "node %llu: table after index %zu differs from another replica's",
                      (unsigned long long)id, i);
            }
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
        bool holds_want = w->holder[want][c] != 0;
        bool queued = w->waiting_on[c] >= 0;
        if (queued)
            continue;
        if (holds_want) {
            /* Write to the fenced resource (A), delayed by the network. */
            if (want == 0 && w->nwrites < 256) {
                wr_t *x = &w->writes[w->nwrites++];
                x->at = w->c.now + rc_rand(&w->c) % 400;
                x->client = c;
                x->token = w->hold_token[0][c];
            }
            if (k->step == 0 && !quiet) {
                k->step = 1; /* now the other one, still holding this */
            } else {
                for (int r = 0; r < NRES; r++)
                    if (w->holder[r][c])
                        propose(w, UT_LOCK_OP_RELEASE, r, c, 0);
                k->step = 0;
                k->order = (int)(rc_rand(&w->c) % 2);
            }
            k->next_ms = w->c.now + 20 + rc_rand(&w->c) % 60;
            continue;
        }
        if (quiet) {
            for (int r = 0; r < NRES; r++)
                if (w->holder[r][c])
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
        if (rc == UT_OK) {
            if (x->token < w->accepted_max)
                vfail(w, "fence accepted token %llu after %llu", (unsigned long long)x->token,
                      (unsigned long long)w->accepted_max);
            w->accepted_max = x->token;
            w->accepted++;
        } else if (rc == UT_ESTALE) {
            w->stale++;
        } else if (rc != UT_ESTALE) {
            vfail(w, "fence: %d", rc);
        }
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
    for (int c = 0; c < CLIENTS; c++) {
        snprintf(w->cl[c].name, sizeof w->cl[c].name, "c%d", c);
        w->waiting_on[c] = -1;
        w->cl[c].order = c % 2;
    }
    const uint64_t busy = 6000, end = 9000;
    int down = 0;
    bool parted = false;
    while (w->c.now < end && !w->failed && !w->c.failed) {
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
    for (int r = 0; r < NRES && !w->failed && !w->c.failed; r++)
        if (w->nq[r] != 0)
            vfail(w, "resource %s: %zu still queued after the quiet period (lost grant)",
                  res_name[r], w->nq[r]);
    bool ok = !w->failed && !w->c.failed;
    st_grants += w->grants;
    st_queued += w->queued;
    st_conflicts += w->conflicts;
    st_deadlocks += w->deadlocks;
    st_ran++;
    st_accepted += w->accepted;
    st_stale += w->stale;
    st_applied += w->first_applied;
    if (!ok)
        snprintf(why, whylen, "%s", w->failed ? w->err : w->c.err);
    for (int i = 1; i <= NODES; i++) {
        ut_lock_table_free(w->tab[i]);
        free(w->saved[i]);
    }
    ut_fence_free(w->fence);
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
