/* SPDX-License-Identifier: MIT */
/* Workload R1 of BENCHMARKS.md: 3-node in-memory Raft commit.
 *
 *   - 3 voters (ids 1, 2, 3) in one process, library defaults otherwise;
 *   - one global FIFO queue; every message is deep-copied on send (header,
 *     entry headers and payload bytes in one malloc'd buffer) and freed after
 *     delivery; delivery is a direct ut_consensus_step() call and replies are
 *     enqueued;
 *   - storage in memory, persistence acknowledged at once: the hard state is
 *     copied, entries are acknowledged without a copy (the core keeps its
 *     whole log in memory, docs/consensus.md); the application copies each
 *     applied payload into its own store;
 *   - node 1 is elected through a real election (it is ticked past its
 *     election timeout, then the queue is drained): not timed;
 *   - timed (r1_workload): N proposals of 16 bytes (8-byte sequence number +
 *     8 bytes of 0xAB) in rounds of W, draining to quiescence after each
 *     round, then one heartbeat round;
 *   - check: every node applied the N entries in the same order (FNV-1a over
 *     the applied payloads, equal on all nodes, and each payload carries its
 *     sequence number) and every commit index is N + 1 (the leader's no-op
 *     is index 1). A failed check prints no figure.
 *
 * Usage: bench_raft [-n N] [-w W] [-r runs] [-b]
 *   default: W = 1 and W = 64, N = 100000, 5 runs each, median entries/s.
 *   -b: each round of W proposals is one ut_consensus_propose_batch() call.
 *   bench_raft --callgrind -w W: one run with N = 20000 for
 *     valgrind --tool=callgrind --toggle-collect=r1_workload (see run_r1.sh).
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unitypes.h>

#define NODES 3
#define PAYLOAD 16

typedef struct node {
    ut_consensus_t *h;
    ut_consensus_hard_state_t hs; /* "disk" */
    uint64_t persisted_last;      /* last persisted entry index */
    uint8_t *store;               /* application: applied payloads, in order */
    size_t n_applied, cap_applied;
} node_t;

typedef struct queue {
    ut_msg_t **q;
    size_t head, tail, cap; /* ring buffer */
} queue_t;

typedef struct bench {
    node_t nodes[NODES];
    queue_t queue;
    uint64_t now;
    uint64_t msgs_sent;
    int failed;
} bench_t;

static const uint64_t VOTERS[NODES] = {1, 2, 3};

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_raft: %s: %s\n", what, ut_strerror(rc));
    exit(2);
}

/* ---- transport ---------------------------------------------------------- */

static void enqueue(bench_t *b, const ut_msg_t *m)
{
    queue_t *q = &b->queue;
    if (q->tail - q->head == q->cap) {
        size_t ncap = q->cap ? 2 * q->cap : 64;
        ut_msg_t **nq = malloc(ncap * sizeof *nq);
        if (nq == NULL)
            die("queue", UT_ENOMEM);
        for (size_t i = q->head; i < q->tail; i++)
            nq[i - q->head] = q->q[i % q->cap];
        free(q->q);
        q->q = nq;
        q->tail -= q->head;
        q->head = 0;
        q->cap = ncap;
    }
    /* Deep copy: header, entry headers and payload bytes in one buffer. */
    size_t n = m->type == UT_MSG_APPEND ? m->body.append.n_entries : 0;
    size_t bytes = sizeof(ut_msg_t) + n * sizeof(ut_entry_t);
    for (size_t i = 0; i < n; i++)
        bytes += m->body.append.entries[i].len;
    uint8_t *buf = malloc(bytes);
    if (buf == NULL)
        die("message copy", UT_ENOMEM);
    ut_msg_t *c = (ut_msg_t *)buf;
    *c = *m;
    if (n > 0) {
        ut_entry_t *es = (ut_entry_t *)(buf + sizeof(ut_msg_t));
        uint8_t *p = (uint8_t *)(es + n);
        for (size_t i = 0; i < n; i++) {
            es[i] = m->body.append.entries[i];
            if (es[i].len > 0) {
                memcpy(p, es[i].data, es[i].len);
                es[i].data = p;
                p += es[i].len;
            }
        }
        c->body.append.entries = es;
    }
    q->q[q->tail++ % q->cap] = c;
    b->msgs_sent++;
}

/* ---- one node's ready: persist, send, apply, advance ---------------------- */

static void process(bench_t *b, node_t *nd)
{
    while (ut_consensus_has_ready(nd->h)) {
        ut_consensus_ready_t rd;
        int rc = ut_consensus_ready(nd->h, &rd);
        if (rc != UT_OK)
            die("ready", rc);
        if (rd.hard_state_changed)
            nd->hs = rd.hard_state;
        if (rd.truncate_from != 0)
            nd->persisted_last = rd.truncate_from - 1;
        if (rd.n_entries > 0)
            nd->persisted_last = rd.entries[rd.n_entries - 1].index;
        for (size_t i = 0; i < rd.n_msgs; i++)
            enqueue(b, &rd.msgs[i]);
        for (size_t i = 0; i < rd.n_committed; i++) {
            const ut_entry_t *e = &rd.committed[i];
            if (e->type != UT_ENTRY_NORMAL)
                continue;
            if (e->len != PAYLOAD || nd->n_applied == nd->cap_applied) {
                b->failed = 1;
                continue;
            }
            memcpy(nd->store + nd->n_applied * PAYLOAD, e->data, PAYLOAD);
            nd->n_applied++;
        }
        rc = ut_consensus_advance(nd->h, &rd);
        if (rc != UT_OK)
            die("advance", rc);
        if (ut_consensus_ready_empty(&rd))
            break;
    }
}

/* Deliver FIFO until the queue is empty and no node has work. */
static void drain(bench_t *b)
{
    for (;;) {
        queue_t *q = &b->queue;
        while (q->head != q->tail) {
            ut_msg_t *m = q->q[q->head++ % q->cap];
            node_t *to = &b->nodes[m->to - 1];
            int rc = ut_consensus_step(to->h, m);
            if (rc != UT_OK && rc != UT_ESTALE)
                die("step", rc);
            free(m);
            process(b, to);
        }
        int busy = 0;
        for (int i = 0; i < NODES; i++)
            if (ut_consensus_has_ready(b->nodes[i].h)) {
                process(b, &b->nodes[i]);
                busy = 1;
            }
        if (!busy && q->head == q->tail)
            return;
    }
}

static void tick_all(bench_t *b, uint64_t now)
{
    b->now = now;
    for (int i = 0; i < NODES; i++) {
        int rc = ut_consensus_tick(b->nodes[i].h, now);
        if (rc != UT_OK)
            die("tick", rc);
        process(b, &b->nodes[i]);
    }
}

/* ---- setup: three nodes and a real election of node 1 (not timed) -------- */

static void setup(bench_t *b, size_t n)
{
    memset(b, 0, sizeof *b);
    for (int i = 0; i < NODES; i++) {
        ut_consensus_config_t cfg;
        int rc = ut_consensus_config_init(&cfg, UT_CONSENSUS_CONFIG_VERSION);
        if (rc != UT_OK)
            die("config_init", rc);
        cfg.id = (uint64_t)i + 1;
        cfg.voters = VOTERS;
        cfg.n_voters = NODES;
        cfg.seed = 1;
        rc = ut_consensus_new(&b->nodes[i].h, &cfg);
        if (rc != UT_OK)
            die("new", rc);
        b->nodes[i].store = malloc(n * PAYLOAD);
        if (b->nodes[i].store == NULL)
            die("store", UT_ENOMEM);
        b->nodes[i].cap_applied = n;
    }
    ut_consensus_config_t cfg;
    (void)ut_consensus_config_init(&cfg, UT_CONSENSUS_CONFIG_VERSION);
    tick_all(b, 0); /* time origin */
    /* Only node 1's clock passes its timeout (drawn in [T, 2T)). */
    b->now = 2 * cfg.election_timeout_ms;
    int rc = ut_consensus_tick(b->nodes[0].h, b->now);
    if (rc != UT_OK)
        die("tick", rc);
    process(b, &b->nodes[0]);
    drain(b);
    if (ut_consensus_state(b->nodes[0].h) != UT_CONSENSUS_LEADER) {
        fprintf(stderr, "bench_raft: node 1 did not win the election\n");
        exit(2);
    }
    b->msgs_sent = 0;
}

static void teardown(bench_t *b)
{
    queue_t *q = &b->queue;
    while (q->head != q->tail)
        free(q->q[q->head++ % q->cap]);
    free(q->q);
    for (int i = 0; i < NODES; i++) {
        ut_consensus_free(b->nodes[i].h);
        free(b->nodes[i].store);
    }
}

/* ---- the timed workload --------------------------------------------------- */

/* Named for valgrind --toggle-collect=r1_workload: N proposals in rounds of
 * W, drained to quiescence after each round, then one heartbeat round. */
__attribute__((noinline)) void r1_workload(bench_t *b, size_t n, size_t w);

/* -b: each round is one ut_consensus_propose_batch() call (payloads and
 * their descriptors prepared outside the timed function). */
static uint8_t *batch_pay;
static ut_consensus_buf_t *batch_bufs;

__attribute__((noinline)) void r1_workload(bench_t *b, size_t n, size_t w)
{
    ut_consensus_t *leader = b->nodes[0].h;
    uint8_t payload[PAYLOAD];
    memset(payload + 8, 0xAB, 8);
    for (size_t done = 0; done < n;) {
        size_t round = n - done < w ? n - done : w;
        if (batch_bufs != NULL) {
            for (size_t i = 0; i < round; i++) {
                uint64_t seq = done + i;
                memcpy(batch_pay + i * PAYLOAD, &seq, 8);
            }
            int rc = ut_consensus_propose_batch(leader, batch_bufs, round, NULL);
            if (rc != UT_OK)
                die("propose_batch", rc);
        }
        for (size_t i = 0; batch_bufs == NULL && i < round; i++) {
            uint64_t seq = done + i;
            memcpy(payload, &seq, 8);
            int rc = ut_consensus_propose(leader, payload, PAYLOAD, NULL);
            if (rc != UT_OK)
                die("propose", rc);
        }
        done += round;
        process(b, &b->nodes[0]);
        drain(b);
    }
    /* Final heartbeat round: carries the last commit index to followers. */
    ut_consensus_config_t cfg;
    (void)ut_consensus_config_init(&cfg, UT_CONSENSUS_CONFIG_VERSION);
    tick_all(b, b->now + cfg.heartbeat_ms);
    drain(b);
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* The R1 check. Returns 0 when it holds. */
static int check(bench_t *b, size_t n, uint64_t *sum)
{
    if (b->failed)
        return -1;
    uint64_t ref = 0;
    for (int i = 0; i < NODES; i++) {
        node_t *nd = &b->nodes[i];
        if (nd->n_applied != n) {
            fprintf(stderr, "check: node %d applied %zu of %zu\n", i + 1, nd->n_applied, n);
            return -1;
        }
        if (ut_consensus_commit_index(nd->h) != n + 1) {
            fprintf(stderr, "check: node %d commit %llu, expected %zu\n", i + 1,
                    (unsigned long long)ut_consensus_commit_index(nd->h), n + 1);
            return -1;
        }
        for (size_t k = 0; k < n; k++) {
            uint64_t seq;
            memcpy(&seq, nd->store + k * PAYLOAD, 8);
            if (seq != k || nd->store[k * PAYLOAD + 8] != 0xAB ||
                nd->store[k * PAYLOAD + 15] != 0xAB) {
                fprintf(stderr, "check: node %d entry %zu has the wrong payload\n", i + 1, k);
                return -1;
            }
        }
        uint64_t h = fnv1a(nd->store, n * PAYLOAD);
        if (i == 0)
            ref = h;
        else if (h != ref) {
            fprintf(stderr, "check: node %d checksum differs\n", i + 1);
            return -1;
        }
    }
    *sum = ref;
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One run: returns seconds, or a negative value if the check failed. */
static double run_once(size_t n, size_t w, double *msgs_per_entry, uint64_t *sum)
{
    bench_t b;
    setup(&b, n);
    double t0 = now_s();
    r1_workload(&b, n, w);
    double t1 = now_s();
    *msgs_per_entry = (double)b.msgs_sent / (double)n;
    int ok = check(&b, n, sum);
    teardown(&b);
    return ok == 0 ? t1 - t0 : -1.0;
}

int main(int argc, char **argv)
{
    size_t n = 100000, runs = 5;
    size_t ws[2] = {1, 64};
    size_t n_ws = 2;
    int callgrind = 0, batch = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--callgrind") == 0) {
            callgrind = 1;
            n = 20000;
            runs = 1;
        } else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            n = strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "-w") == 0 && i + 1 < argc) {
            ws[0] = strtoul(argv[++i], NULL, 10);
            n_ws = 1;
        } else if (strcmp(argv[i], "-b") == 0) {
            batch = 1;
        } else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc) {
            runs = strtoul(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "usage: %s [-n N] [-w W] [-r runs] [-b] [--callgrind]\n", argv[0]);
            return 2;
        }
    }
    if (n == 0 || runs == 0 || runs > 99 || ws[0] == 0) {
        fprintf(stderr, "bench_raft: N, W and runs must be positive (runs <= 99)\n");
        return 2;
    }
    if (batch) {
        size_t wmax = ws[0] > ws[n_ws - 1] ? ws[0] : ws[n_ws - 1];
        batch_pay = malloc(wmax * PAYLOAD);
        batch_bufs = malloc(wmax * sizeof *batch_bufs);
        if (batch_pay == NULL || batch_bufs == NULL)
            die("batch", UT_ENOMEM);
        for (size_t i = 0; i < wmax; i++) {
            memset(batch_pay + i * PAYLOAD + 8, 0xAB, 8);
            batch_bufs[i].data = batch_pay + i * PAYLOAD;
            batch_bufs[i].len = PAYLOAD;
        }
    }
    printf("R1 Raft 3-node in-memory commit: N = %zu entries of %d bytes, %zu run(s)%s%s\n", n,
           PAYLOAD, runs, callgrind ? " (callgrind mode)" : "",
           batch ? ", one propose_batch per round" : "");
    printf("%-4s %14s %14s %18s\n", "W", "entries/s", "msgs/entry", "checksum");
    int status = 0;
    for (size_t wi = 0; wi < n_ws; wi++) {
        size_t w = ws[wi];
        double secs[99];
        double mpe = 0;
        uint64_t sum = 0;
        int bad = 0;
        for (size_t r = 0; r < runs; r++) {
            secs[r] = run_once(n, w, &mpe, &sum);
            if (secs[r] < 0)
                bad = 1;
        }
        if (bad) {
            printf("%-4zu %14s %14s %18s\n", w, "CHECK FAILED", "-", "-");
            status = 1;
            continue;
        }
        qsort(secs, runs, sizeof secs[0], cmp_double);
        double med = secs[runs / 2];
        printf("%-4zu %14.0f %14.3f %18llx\n", w, (double)n / med, mpe, (unsigned long long)sum);
    }
    free(batch_pay);
    free(batch_bufs);
    return status;
}
