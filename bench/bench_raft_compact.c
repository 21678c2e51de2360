/* SPDX-License-Identifier: MIT */
/* Issue 11, "Done when": a leader with one follower partitioned away for
 * 1,000,000 proposals, compacting every 10,000 entries, keeps its heap
 * bounded.
 *
 *   bench_raft_compact [-n proposals] [-k compact_every] [-w batch] [--no-compact]
 *
 * Three voters in one process (library defaults but snapshot_chunk_bytes):
 * node 1 leads, node 3 is cut off (every message to or from it is dropped),
 * node 2 follows. Proposals of 16 bytes go in rounds of W (default 64), the
 * message queue drained after each round; the clock advances 1 ms per round
 * (heartbeats to node 3 keep going out and being dropped). Nodes 1 and 2
 * compact every K applied entries (default 10,000; 0 or --no-compact: never)
 * with their application state as the snapshot (a count and a running hash
 * of the applied payloads, 16 bytes). At the end the partition heals and the
 * run goes on until node 3 holds the leader's state (via InstallSnapshot
 * when the leader compacted).
 *
 * Live heap = bytes the library holds through its allocator hooks
 * (include/unitypes/alloc.h), all three nodes together; the harness's own
 * queue uses malloc directly and is not counted. Printed every 100,000
 * proposals: proposals, live bytes now, peak so far; then peak and final. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unitypes.h>

/* ---- counting allocator ---- */
typedef struct {
    size_t live, peak;
} heap_t;
static heap_t heap;
#define HDR 16u

static void *h_malloc(void *ctx, size_t n)
{
    (void)ctx;
    unsigned char *p = malloc(HDR + n);
    if (p == NULL)
        return NULL;
    memcpy(p, &n, sizeof n);
    heap.live += n;
    if (heap.live > heap.peak)
        heap.peak = heap.live;
    return p + HDR;
}

static void h_free(void *ctx, void *q)
{
    (void)ctx;
    if (q == NULL)
        return;
    unsigned char *p = (unsigned char *)q - HDR;
    size_t n;
    memcpy(&n, p, sizeof n);
    heap.live -= n;
    free(p);
}

static void *h_realloc(void *ctx, void *q, size_t n)
{
    if (q == NULL)
        return h_malloc(ctx, n);
    unsigned char *p = (unsigned char *)q - HDR;
    size_t old;
    memcpy(&old, p, sizeof old);
    unsigned char *r = realloc(p, HDR + n);
    if (r == NULL)
        return NULL;
    memcpy(r, &n, sizeof n);
    heap.live = heap.live - old + n;
    if (heap.live > heap.peak)
        heap.peak = heap.live;
    return r + HDR;
}

/* ---- cluster ---- */
typedef struct {
    ut_msg_t m;
    void *buf;
} qmsg_t;

static qmsg_t *q;
static size_t q_head, q_n, q_cap;

static ut_consensus_t *node[4];
static uint64_t applied[4], app_hash[4], last_snap[4], snaps_in[4];
static uint64_t now;
static bool cut3 = true;

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_raft_compact: %s: %s\n", what, ut_err_name(rc));
    exit(1);
}

static void push(const ut_msg_t *m)
{
    if (cut3 && (m->to == 3 || m->from == 3))
        return;
    if (q_n == q_cap) {
        size_t nc = q_cap ? 2 * q_cap : 1024;
        qmsg_t *nq = malloc(nc * sizeof *nq);
        if (nq == NULL)
            exit(1);
        for (size_t i = 0; i < q_n; i++)
            nq[i] = q[(q_head + i) % q_cap];
        free(q);
        q = nq;
        q_cap = nc;
        q_head = 0;
    }
    qmsg_t *d = &q[(q_head + q_n++) % q_cap];
    d->m = *m;
    d->buf = NULL;
    if (m->type == UT_MSG_APPEND && m->body.append.n_entries > 0) {
        size_t n = m->body.append.n_entries, bytes = n * sizeof(ut_entry_t);
        for (size_t i = 0; i < n; i++)
            bytes += m->body.append.entries[i].len;
        unsigned char *b = malloc(bytes);
        ut_entry_t *es = (ut_entry_t *)(void *)b;
        unsigned char *pay = b + n * sizeof(ut_entry_t);
        for (size_t i = 0; i < n; i++) {
            es[i] = m->body.append.entries[i];
            if (es[i].len > 0)
                memcpy(pay, es[i].data, es[i].len);
            es[i].data = pay;
            pay += es[i].len;
        }
        d->buf = b;
        d->m.body.append.entries = es;
    } else if (m->type == UT_MSG_SNAPSHOT && m->body.snapshot.len > 0) {
        d->buf = malloc(m->body.snapshot.len);
        memcpy(d->buf, m->body.snapshot.data, m->body.snapshot.len);
        d->m.body.snapshot.data = d->buf;
    }
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v;
    h *= 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 29);
}

static uint64_t compact_every = 10000;

static void process(uint64_t id)
{
    ut_consensus_t *h = node[id];
    while (ut_consensus_has_ready(h)) {
        ut_consensus_ready_t rd;
        int rc = ut_consensus_ready(h, &rd);
        if (rc != UT_OK)
            die("ready", rc);
        if (rd.snapshot != NULL) {
            /* The application's state becomes the snapshot's. */
            uint64_t st[2];
            memcpy(st, rd.snapshot->data, sizeof st);
            applied[id] = st[0];
            app_hash[id] = st[1];
            last_snap[id] = rd.snapshot->index;
            snaps_in[id]++;
        }
        for (size_t i = 0; i < rd.n_msgs; i++)
            push(&rd.msgs[i]);
        for (size_t i = 0; i < rd.n_committed; i++) {
            const ut_entry_t *e = &rd.committed[i];
            if (e->type == UT_ENTRY_NORMAL) {
                uint64_t w[2];
                memcpy(w, e->data, 16);
                app_hash[id] = mix(mix(app_hash[id], w[0]), w[1]);
                applied[id]++;
            }
        }
        uint64_t at = rd.n_committed > 0 ? rd.committed[rd.n_committed - 1].index : 0;
        rc = ut_consensus_advance(h, &rd);
        if (rc != UT_OK)
            die("advance", rc);
        if (compact_every != 0 && at >= last_snap[id] + compact_every) {
            uint64_t st[2] = {applied[id], app_hash[id]};
            rc = ut_consensus_compact(h, at, st, sizeof st);
            if (rc != UT_OK)
                die("compact", rc);
            last_snap[id] = at;
        }
    }
}

static void drain(void)
{
    while (q_n > 0) {
        qmsg_t m = q[q_head];
        q_head = (q_head + 1) % q_cap;
        q_n--;
        if (!(cut3 && (m.m.to == 3 || m.m.from == 3))) {
            int rc = ut_consensus_step(node[m.m.to], &m.m);
            if (rc != UT_OK && rc != UT_ESTALE)
                die("step", rc);
            process(m.m.to);
        }
        free(m.buf);
    }
}

static void tick_all(void)
{
    for (uint64_t id = 1; id <= 3; id++) {
        int rc = ut_consensus_tick(node[id], now);
        if (rc != UT_OK)
            die("tick", rc);
        process(id);
    }
    drain();
}

int main(int argc, char **argv)
{
    uint64_t n = 1000000, w = 64;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            n = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "-k") == 0 && i + 1 < argc)
            compact_every = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "-w") == 0 && i + 1 < argc)
            w = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--no-compact") == 0)
            compact_every = 0;
        else {
            fprintf(stderr, "usage: %s [-n N] [-k K] [-w W] [--no-compact]\n", argv[0]);
            return 2;
        }
    }
    if (w == 0)
        w = 1;
    ut_allocator_t a = {NULL, h_malloc, h_realloc, h_free};
    if (ut_set_allocator(&a) != UT_OK)
        return 1;
    static const uint64_t voters[] = {1, 2, 3};
    for (uint64_t id = 1; id <= 3; id++) {
        ut_consensus_config_t cfg;
        ut_consensus_config_init(&cfg, UT_CONSENSUS_CONFIG_VERSION);
        cfg.id = id;
        cfg.voters = voters;
        cfg.n_voters = 3;
        cfg.seed = 11;
        int rc = ut_consensus_new(&node[id], &cfg);
        if (rc != UT_OK)
            die("new", rc);
        if ((rc = ut_consensus_tick(node[id], 0)) != UT_OK)
            die("tick", rc);
    }
    /* Node 1 wins an election (node 3 is already cut off). */
    now = 2000;
    if (ut_consensus_tick(node[1], now) != UT_OK)
        return 1;
    process(1);
    drain();
    if (ut_consensus_state(node[1]) != UT_CONSENSUS_LEADER) {
        fprintf(stderr, "bench_raft_compact: node 1 did not win\n");
        return 1;
    }
    printf("# bench_raft_compact: N = %" PRIu64 ", compact every %" PRIu64
           " (0 = never), W = %" PRIu64 ", node 3 partitioned\n",
           n, compact_every, w);
    printf("| proposals | live heap (bytes) | peak so far (bytes) | leader last index | leader "
           "snapshot |\n");
    printf("|-----------|-------------------|---------------------|-------------------|------------"
           "-----|\n");
    uint64_t seq = 0;
    while (seq < n) {
        uint64_t k = n - seq < w ? n - seq : w;
        for (uint64_t i = 0; i < k; i++) {
            uint64_t p[2] = {++seq, 0xABABABABABABABABull};
            int rc = ut_consensus_propose(node[1], p, sizeof p, NULL);
            if (rc != UT_OK)
                die("propose", rc);
        }
        process(1);
        drain();
        now += 1;
        tick_all();
        if (seq / 100000 != (seq - k) / 100000 || seq == n)
            printf("| %9" PRIu64 " | %17zu | %19zu | %17" PRIu64 " | %15" PRIu64 " |\n", seq,
                   heap.live, heap.peak, ut_consensus_last_index(node[1]), last_snap[1]);
    }
    size_t peak_partitioned = heap.peak, live_partitioned = heap.live;
    /* Heal: node 3 catches up (a snapshot when the leader compacted). */
    cut3 = false;
    for (int i = 0; i < 100000 && applied[3] != applied[1]; i++) {
        now += 10;
        tick_all();
    }
    if (applied[1] != n || applied[2] != n || applied[3] != n || app_hash[1] != app_hash[2] ||
        app_hash[1] != app_hash[3]) {
        fprintf(stderr,
                "bench_raft_compact: check failed: applied %" PRIu64 "/%" PRIu64 "/%" PRIu64
                ", hashes %s\n",
                applied[1], applied[2], applied[3],
                app_hash[1] == app_hash[2] && app_hash[1] == app_hash[3] ? "equal" : "differ");
        return 1;
    }
    printf("\npartitioned: peak live heap %zu bytes, live at the end %zu bytes\n", peak_partitioned,
           live_partitioned);
    printf("healed: node 3 applied %" PRIu64 " (snapshots installed: %" PRIu64
           "), state equal on all 3; live heap %zu bytes, peak %zu bytes\n",
           applied[3], snaps_in[3], heap.live, heap.peak);
    for (uint64_t id = 1; id <= 3; id++)
        ut_consensus_free(node[id]);
    printf("after free: live heap %zu bytes\n", heap.live);
    free(q);
    return heap.live == 0 ? 0 : 1;
}
