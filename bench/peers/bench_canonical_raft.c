/* SPDX-License-Identifier: MIT */
/* Workload R1 of BENCHMARKS.md for a peer: canonical/raft 0.15 (Debian's
 * libraft-dev), driven through its raft_io interface by a minimal in-memory
 * raft_io written here (not the library's raft_fixture, whose simulated
 * latencies and clock do not follow R1). Same rules as bench/bench_raft.c:
 *
 *   - 3 voters (ids 1, 2, 3) in one process, library defaults (election
 *     timeout 1000 ms, heartbeat 100 ms, pre-vote off) except that snapshots
 *     are off (threshold UINT_MAX): R1 has no disk, and libunitypes keeps its
 *     whole log in memory too;
 *   - one global FIFO queue; every message is deep-copied on send and freed
 *     after delivery; delivery is a direct call of the receiver's recv
 *     callback, replies are enqueued. canonical/raft takes ownership of a
 *     received AppendEntries' entry array and payload batch (raft.h, struct
 *     raft_entry), so that copy is three malloc'd blocks: the message (freed
 *     by the harness after delivery), the entry array and one batch holding
 *     every payload (both freed by the library);
 *   - storage in memory, persistence acknowledged at once: set_term/set_vote
 *     copy the value; append and send requests complete (their callbacks run)
 *     right after the library call that issued them returns, before the next
 *     message is delivered, the way bench_raft.c handles a node's ready after
 *     every delivery. Entries are acknowledged without a copy, because the
 *     library keeps its whole log in memory; the application (fsm->apply)
 *     copies each applied 16-byte payload into its own store;
 *   - node 1 wins a real election: every node starts at time 0, node 1 alone
 *     is ticked at 2T (past any timeout drawn in [T, 2T)), then the queue is
 *     drained. Not timed;
 *   - timed (r1_workload): N proposals of 16 bytes (8-byte sequence number +
 *     8 x 0xAB) in rounds of W, the queue drained to quiescence after each
 *     round, then one heartbeat round (all clocks + heartbeat timeout). A
 *     proposal is one raft_apply() of one buffer; with -b a round of W is one
 *     raft_apply() of W buffers (canonical/raft's batched submit). The payload
 *     buffer is allocated with raft_malloc(), as raft_apply() requires;
 *   - check (no figure if it fails): each node applied exactly N entries,
 *     each payload carries its sequence number, FNV-1a over the applied
 *     payloads is equal on the 3 nodes, every commit index and last applied
 *     index is base + N, base being the leader's last index after the
 *     election (the bootstrap configuration is index 1), and every
 *     raft_apply() callback reported success.
 *
 * Library-only instructions (bench/run_r1.sh): every call from the harness
 * into the library goes through one of the noinline peer_lib_* functions
 * below (one per kind of call and role), and every callback the library
 * makes into the harness is one of the noinline peer_io_*, peer_fsm_* and
 * peer_cb_* functions. Library only = the inclusive cost of the peer_lib_*
 * calls, minus their own few instructions, minus the inclusive cost of the
 * peer_io_/peer_fsm_/peer_cb_ callbacks run inside them: what the library's
 * code (and the libc it calls) executes, as the inclusive cost of the public
 * ut_* calls is for libunitypes, whose sans-I/O core calls no harness code.
 *
 * Usage: bench_canonical_raft [-n N] [-w W] [-r runs] [-b] [--callgrind]
 *   default: W = 1, W = 64 and W = 64 batched, N = 100000, 5 runs each.
 *   --callgrind: one run of N = 20000, for valgrind --toggle-collect=r1_workload.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <raft.h>

#define NODES 3
#define PAYLOAD 16
#define NOINLINE __attribute__((noinline))

enum { PEND_SEND, PEND_APPEND };

typedef struct pending {
    int kind;
    void *req; /* struct raft_io_send * or struct raft_io_append * */
} pending_t;

typedef struct bench bench_t;

typedef struct node {
    struct raft raft;
    struct raft_io io;
    struct raft_fsm fsm;
    bench_t *b;
    raft_id id;
    int is_leader; /* node 1 once elected: which peer_lib_* role to use */
    raft_io_tick_cb tick_cb;
    raft_io_recv_cb recv_cb;
    uint64_t rng;
    /* "disk" */
    raft_term term;
    raft_id vote;
    struct raft_buffer boot; /* the bootstrap configuration, encoded */
    /* requests completed after the current library call returns, FIFO */
    pending_t *pend;
    size_t pend_head, pend_tail, pend_cap;
    /* application */
    uint8_t *store;
    size_t n_applied, cap_applied;
} node_t;

/* One queued message: the header block of the deep copy. */
typedef struct qmsg {
    raft_id from, to;
    struct raft_message m;
} qmsg_t;

struct bench {
    node_t nodes[NODES];
    qmsg_t **q;
    size_t head, tail, cap; /* ring buffer */
    raft_time now;
    uint64_t msgs_sent;
    uint64_t applies_done;
    int failed;
};

static const char *const ADDRESS[NODES] = {"1", "2", "3"};

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_canonical_raft: %s: %s\n", what, raft_strerror(rc));
    exit(2);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (p == NULL)
        die("malloc", RAFT_NOMEM);
    return p;
}

static node_t *node_of(struct raft_io *io)
{
    return io->impl;
}

static void pend_push(node_t *nd, int kind, void *req)
{
    if (nd->pend_tail - nd->pend_head == nd->pend_cap) {
        size_t ncap = nd->pend_cap ? 2 * nd->pend_cap : 64;
        pending_t *np = xmalloc(ncap * sizeof *np);
        for (size_t i = nd->pend_head; i < nd->pend_tail; i++)
            np[i - nd->pend_head] = nd->pend[i % nd->pend_cap];
        free(nd->pend);
        nd->pend = np;
        nd->pend_tail -= nd->pend_head;
        nd->pend_head = 0;
        nd->pend_cap = ncap;
    }
    nd->pend[nd->pend_tail++ % nd->pend_cap] = (pending_t){kind, req};
}

/* ---- calls into the library: each through one named function -------------- */

/* Calls counted in the timed region (printed to stderr at exit, for
 * bench/run_r1.sh); the increments are the peer_lib_* functions' own
 * instructions, which run_r1.sh does not count as the library's. */
enum {
    CALL_ALLOC,
    CALL_APPLY,
    CALL_RECV_LEADER,
    CALL_RECV_FOLLOWER,
    CALL_DONE_LEADER,
    CALL_DONE_FOLLOWER,
    CALL_TICK_LEADER,
    CALL_TICK_FOLLOWER,
    CALL_N
};
static const char *const CALL_NAME[CALL_N] = {
    "alloc",       "apply",         "recv_leader", "recv_follower",
    "done_leader", "done_follower", "tick_leader", "tick_follower",
};
static int counting;
static raft_index election_base; /* leader's last index after the election */
static unsigned long long calls[CALL_N];

static void count(int k)
{
    if (counting)
        calls[k]++;
}

NOINLINE void *peer_lib_alloc(size_t n);
NOINLINE int peer_lib_apply(struct raft *r, struct raft_apply *req, const struct raft_buffer *bufs,
                            unsigned n, raft_apply_cb cb);
NOINLINE void peer_lib_recv_leader(node_t *nd, struct raft_message *m);
NOINLINE void peer_lib_recv_follower(node_t *nd, struct raft_message *m);
NOINLINE void peer_lib_done_leader(const pending_t *p);
NOINLINE void peer_lib_done_follower(const pending_t *p);
NOINLINE void peer_lib_tick_leader(node_t *nd);
NOINLINE void peer_lib_tick_follower(node_t *nd);

/* raft_apply() takes a buffer from raft_malloc(): part of a proposal's cost. */
NOINLINE void *peer_lib_alloc(size_t n)
{
    count(CALL_ALLOC);
    return raft_malloc(n);
}

NOINLINE int peer_lib_apply(struct raft *r, struct raft_apply *req, const struct raft_buffer *bufs,
                            unsigned n, raft_apply_cb cb)
{
    count(CALL_APPLY);
    return raft_apply(r, req, bufs, n, cb);
}

NOINLINE void peer_lib_recv_leader(node_t *nd, struct raft_message *m)
{
    count(CALL_RECV_LEADER);
    nd->recv_cb(&nd->io, m);
}

NOINLINE void peer_lib_recv_follower(node_t *nd, struct raft_message *m)
{
    count(CALL_RECV_FOLLOWER);
    nd->recv_cb(&nd->io, m);
}

static void complete(const pending_t *p)
{
    if (p->kind == PEND_SEND) {
        struct raft_io_send *req = p->req;
        req->cb(req, 0);
    } else {
        struct raft_io_append *req = p->req;
        req->cb(req, 0);
    }
}

NOINLINE void peer_lib_done_leader(const pending_t *p)
{
    count(CALL_DONE_LEADER);
    complete(p);
}

NOINLINE void peer_lib_done_follower(const pending_t *p)
{
    count(CALL_DONE_FOLLOWER);
    complete(p);
}

NOINLINE void peer_lib_tick_leader(node_t *nd)
{
    count(CALL_TICK_LEADER);
    nd->tick_cb(&nd->io);
}

NOINLINE void peer_lib_tick_follower(node_t *nd)
{
    count(CALL_TICK_FOLLOWER);
    nd->tick_cb(&nd->io);
}

/* ---- the in-memory raft_io: callbacks the library makes -------------------- */

NOINLINE int peer_io_init(struct raft_io *io, raft_id id, const char *address);
NOINLINE void peer_io_close(struct raft_io *io, raft_io_close_cb cb);
NOINLINE int peer_io_load(struct raft_io *io, raft_term *term, raft_id *voted_for,
                          struct raft_snapshot **snapshot, raft_index *start_index,
                          struct raft_entry *entries[], size_t *n_entries);
NOINLINE int peer_io_start(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick,
                           raft_io_recv_cb recv);
NOINLINE int peer_io_bootstrap(struct raft_io *io, const struct raft_configuration *conf);
NOINLINE int peer_io_recover(struct raft_io *io, const struct raft_configuration *conf);
NOINLINE int peer_io_set_term(struct raft_io *io, raft_term term);
NOINLINE int peer_io_set_vote(struct raft_io *io, raft_id server_id);
NOINLINE int peer_io_send(struct raft_io *io, struct raft_io_send *req,
                          const struct raft_message *message, raft_io_send_cb cb);
NOINLINE int peer_io_append(struct raft_io *io, struct raft_io_append *req,
                            const struct raft_entry entries[], unsigned n, raft_io_append_cb cb);
NOINLINE int peer_io_truncate(struct raft_io *io, raft_index index);
NOINLINE int peer_io_snapshot_put(struct raft_io *io, unsigned trailing,
                                  struct raft_io_snapshot_put *req,
                                  const struct raft_snapshot *snapshot, raft_io_snapshot_put_cb cb);
NOINLINE int peer_io_snapshot_get(struct raft_io *io, struct raft_io_snapshot_get *req,
                                  raft_io_snapshot_get_cb cb);
NOINLINE raft_time peer_io_time(struct raft_io *io);
NOINLINE int peer_io_random(struct raft_io *io, int min, int max);
NOINLINE int peer_fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result);
NOINLINE int peer_fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs);
NOINLINE int peer_fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf);
NOINLINE void peer_cb_apply(struct raft_apply *req, int status, void *result);

NOINLINE int peer_io_init(struct raft_io *io, raft_id id, const char *address)
{
    (void)address;
    return node_of(io)->id == id ? 0 : RAFT_BADID;
}

NOINLINE void peer_io_close(struct raft_io *io, raft_io_close_cb cb)
{
    if (cb != NULL)
        cb(io);
}

NOINLINE int peer_io_load(struct raft_io *io, raft_term *term, raft_id *voted_for,
                          struct raft_snapshot **snapshot, raft_index *start_index,
                          struct raft_entry *entries[], size_t *n_entries)
{
    node_t *nd = node_of(io);
    *term = nd->term;
    *voted_for = nd->vote;
    *snapshot = NULL;
    *start_index = 1;
    *entries = NULL;
    *n_entries = 0;
    if (nd->boot.base == NULL)
        return 0;
    struct raft_entry *e = raft_malloc(sizeof *e);
    void *data = raft_malloc(nd->boot.len);
    if (e == NULL || data == NULL)
        return RAFT_NOMEM;
    memcpy(data, nd->boot.base, nd->boot.len);
    e->term = 1;
    e->type = RAFT_CHANGE;
    e->buf.base = data;
    e->buf.len = nd->boot.len;
    e->batch = data;
    *entries = e;
    *n_entries = 1;
    return 0;
}

NOINLINE int peer_io_start(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick,
                           raft_io_recv_cb recv)
{
    (void)msecs; /* the harness ticks explicitly */
    node_t *nd = node_of(io);
    nd->tick_cb = tick;
    nd->recv_cb = recv;
    return 0;
}

NOINLINE int peer_io_bootstrap(struct raft_io *io, const struct raft_configuration *conf)
{
    node_t *nd = node_of(io);
    if (nd->term != 0 || nd->boot.base != NULL)
        return RAFT_CANTBOOTSTRAP;
    int rc = raft_configuration_encode(conf, &nd->boot);
    if (rc != 0)
        return rc;
    nd->term = 1;
    nd->vote = 0;
    return 0;
}

NOINLINE int peer_io_recover(struct raft_io *io, const struct raft_configuration *conf)
{
    (void)io;
    (void)conf;
    return RAFT_INVALID;
}

NOINLINE int peer_io_set_term(struct raft_io *io, raft_term term)
{
    node_t *nd = node_of(io);
    nd->term = term;
    nd->vote = 0;
    return 0;
}

NOINLINE int peer_io_set_vote(struct raft_io *io, raft_id server_id)
{
    node_of(io)->vote = server_id;
    return 0;
}

/* Deep copy into the global FIFO queue; the request completes after the
 * library call that issued it returns. */
NOINLINE int peer_io_send(struct raft_io *io, struct raft_io_send *req,
                          const struct raft_message *message, raft_io_send_cb cb)
{
    node_t *nd = node_of(io);
    bench_t *b = nd->b;
    if (message->server_id < 1 || message->server_id > NODES)
        return RAFT_NOCONNECTION;
    if (b->tail - b->head == b->cap) {
        size_t ncap = b->cap ? 2 * b->cap : 64;
        qmsg_t **nq = xmalloc(ncap * sizeof *nq);
        for (size_t i = b->head; i < b->tail; i++)
            nq[i - b->head] = b->q[i % b->cap];
        free(b->q);
        b->q = nq;
        b->tail -= b->head;
        b->head = 0;
        b->cap = ncap;
    }
    qmsg_t *c = xmalloc(sizeof *c);
    c->from = nd->id;
    c->to = message->server_id;
    c->m = *message;
    if (message->type == RAFT_IO_APPEND_ENTRIES && message->append_entries.n_entries > 0) {
        const struct raft_append_entries *ae = &message->append_entries;
        size_t bytes = 0;
        for (unsigned i = 0; i < ae->n_entries; i++)
            bytes += ae->entries[i].buf.len;
        struct raft_entry *es = xmalloc(ae->n_entries * sizeof *es);
        uint8_t *batch = xmalloc(bytes > 0 ? bytes : 1);
        uint8_t *p = batch;
        for (unsigned i = 0; i < ae->n_entries; i++) {
            es[i] = ae->entries[i];
            if (es[i].buf.len > 0)
                memcpy(p, es[i].buf.base, es[i].buf.len);
            es[i].buf.base = p;
            es[i].batch = batch;
            p += es[i].buf.len;
        }
        c->m.append_entries.entries = es;
    }
    b->q[b->tail++ % b->cap] = c;
    b->msgs_sent++;
    req->cb = cb;
    pend_push(nd, PEND_SEND, req);
    return 0;
}

/* Persistence acknowledged at once, without a copy (the log is in memory). */
NOINLINE int peer_io_append(struct raft_io *io, struct raft_io_append *req,
                            const struct raft_entry entries[], unsigned n, raft_io_append_cb cb)
{
    (void)entries;
    (void)n;
    req->cb = cb;
    pend_push(node_of(io), PEND_APPEND, req);
    return 0;
}

NOINLINE int peer_io_truncate(struct raft_io *io, raft_index index)
{
    (void)io;
    (void)index;
    return 0;
}

NOINLINE int peer_io_snapshot_put(struct raft_io *io, unsigned trailing,
                                  struct raft_io_snapshot_put *req,
                                  const struct raft_snapshot *snapshot, raft_io_snapshot_put_cb cb)
{
    (void)io;
    (void)trailing;
    (void)req;
    (void)snapshot;
    (void)cb;
    return RAFT_IOERR; /* snapshots are off */
}

NOINLINE int peer_io_snapshot_get(struct raft_io *io, struct raft_io_snapshot_get *req,
                                  raft_io_snapshot_get_cb cb)
{
    (void)io;
    (void)req;
    (void)cb;
    return RAFT_IOERR;
}

NOINLINE raft_time peer_io_time(struct raft_io *io)
{
    return node_of(io)->b->now;
}

/* Deterministic: a draw in [min, max). */
NOINLINE int peer_io_random(struct raft_io *io, int min, int max)
{
    node_t *nd = node_of(io);
    nd->rng = nd->rng * 6364136223846793005ull + 1442695040888963407ull;
    if (max <= min)
        return min;
    return min + (int)((nd->rng >> 33) % (uint64_t)(max - min));
}

/* The application: its own copy of each applied payload. */
NOINLINE int peer_fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    node_t *nd = fsm->data;
    *result = NULL;
    if (buf->len != PAYLOAD || nd->n_applied == nd->cap_applied) {
        nd->b->failed = 1;
        return 0;
    }
    memcpy(nd->store + nd->n_applied * PAYLOAD, buf->base, PAYLOAD);
    nd->n_applied++;
    return 0;
}

NOINLINE int peer_fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    (void)fsm;
    (void)bufs;
    (void)n_bufs;
    return RAFT_IOERR; /* snapshots are off */
}

NOINLINE int peer_fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    (void)fsm;
    (void)buf;
    return RAFT_IOERR;
}

NOINLINE void peer_cb_apply(struct raft_apply *req, int status, void *result)
{
    bench_t *b = req->data;
    (void)result;
    if (status != 0)
        b->failed = 1;
    b->applies_done++;
}

/* ---- driving: completions, delivery, ticks ------------------------------- */

/* Complete the node's outstanding requests (they may issue more). */
static void flush(node_t *nd)
{
    while (nd->pend_head != nd->pend_tail) {
        pending_t p = nd->pend[nd->pend_head++ % nd->pend_cap];
        if (nd->is_leader)
            peer_lib_done_leader(&p);
        else
            peer_lib_done_follower(&p);
    }
}

static void drain(bench_t *b)
{
    for (;;) {
        while (b->head != b->tail) {
            qmsg_t *c = b->q[b->head++ % b->cap];
            node_t *to = &b->nodes[c->to - 1];
            c->m.server_id = c->from;
            c->m.server_address = ADDRESS[c->from - 1];
            if (to->is_leader)
                peer_lib_recv_leader(to, &c->m);
            else
                peer_lib_recv_follower(to, &c->m);
            free(c); /* entries and batch now belong to the library */
            flush(to);
        }
        int busy = 0;
        for (int i = 0; i < NODES; i++)
            if (b->nodes[i].pend_head != b->nodes[i].pend_tail) {
                flush(&b->nodes[i]);
                busy = 1;
            }
        if (!busy && b->head == b->tail)
            return;
    }
}

static void tick_all(bench_t *b, raft_time now)
{
    b->now = now;
    for (int i = 0; i < NODES; i++) {
        node_t *nd = &b->nodes[i];
        if (nd->is_leader)
            peer_lib_tick_leader(nd);
        else
            peer_lib_tick_follower(nd);
        flush(nd);
    }
}

/* ---- setup: three nodes and a real election of node 1 (not timed) -------- */

static raft_index setup(bench_t *b, size_t n)
{
    memset(b, 0, sizeof *b);
    struct raft_configuration conf;
    raft_configuration_init(&conf);
    for (int i = 0; i < NODES; i++) {
        int rc = raft_configuration_add(&conf, (raft_id)i + 1, ADDRESS[i], RAFT_VOTER);
        if (rc != 0)
            die("configuration_add", rc);
    }
    for (int i = 0; i < NODES; i++) {
        node_t *nd = &b->nodes[i];
        nd->b = b;
        nd->id = (raft_id)i + 1;
        nd->rng = 1 + (uint64_t)i;
        nd->io = (struct raft_io){
            .version = 1,
            .impl = nd,
            .init = peer_io_init,
            .close = peer_io_close,
            .load = peer_io_load,
            .start = peer_io_start,
            .bootstrap = peer_io_bootstrap,
            .recover = peer_io_recover,
            .set_term = peer_io_set_term,
            .set_vote = peer_io_set_vote,
            .send = peer_io_send,
            .append = peer_io_append,
            .truncate = peer_io_truncate,
            .snapshot_put = peer_io_snapshot_put,
            .snapshot_get = peer_io_snapshot_get,
            .time = peer_io_time,
            .random = peer_io_random,
        };
        nd->fsm = (struct raft_fsm){
            .version = 1,
            .data = nd,
            .apply = peer_fsm_apply,
            .snapshot = peer_fsm_snapshot,
            .restore = peer_fsm_restore,
        };
        nd->store = xmalloc(n * PAYLOAD);
        nd->cap_applied = n;
        int rc = raft_init(&nd->raft, &nd->io, &nd->fsm, nd->id, ADDRESS[i]);
        if (rc != 0)
            die("raft_init", rc);
        raft_set_snapshot_threshold(&nd->raft, UINT_MAX);
        rc = raft_bootstrap(&nd->raft, &conf);
        if (rc != 0)
            die("raft_bootstrap", rc);
    }
    raft_configuration_close(&conf);
    b->now = 0; /* time origin */
    for (int i = 0; i < NODES; i++) {
        int rc = raft_start(&b->nodes[i].raft);
        if (rc != 0)
            die("raft_start", rc);
        flush(&b->nodes[i]);
    }
    /* Only node 1's clock passes its timeout (drawn in [T, 2T)). */
    node_t *n1 = &b->nodes[0];
    b->now = 2 * (raft_time)n1->raft.election_timeout;
    peer_lib_tick_follower(n1);
    flush(n1);
    drain(b);
    if (raft_state(&n1->raft) != RAFT_LEADER) {
        fprintf(stderr, "bench_canonical_raft: node 1 did not win the election\n");
        exit(2);
    }
    n1->is_leader = 1;
    b->msgs_sent = 0;
    return raft_last_index(&n1->raft);
}

static void close_cb(struct raft *r)
{
    (void)r;
}

static void teardown(bench_t *b)
{
    for (int i = 0; i < NODES; i++)
        raft_close(&b->nodes[i].raft, close_cb);
    for (int i = 0; i < NODES; i++)
        flush(&b->nodes[i]);
    while (b->head != b->tail) {
        qmsg_t *c = b->q[b->head++ % b->cap];
        if (c->m.type == RAFT_IO_APPEND_ENTRIES && c->m.append_entries.n_entries > 0) {
            free(c->m.append_entries.entries[0].batch);
            free(c->m.append_entries.entries);
        }
        free(c);
    }
    free(b->q);
    for (int i = 0; i < NODES; i++) {
        node_t *nd = &b->nodes[i];
        raft_free(nd->boot.base);
        free(nd->pend);
        free(nd->store);
    }
}

/* ---- the timed workload --------------------------------------------------- */

/* Named for valgrind --toggle-collect=r1_workload. */
NOINLINE void r1_workload(bench_t *b, size_t n, size_t w, int batched, struct raft_apply *reqs,
                          struct raft_buffer *bufs);

NOINLINE void r1_workload(bench_t *b, size_t n, size_t w, int batched, struct raft_apply *reqs,
                          struct raft_buffer *bufs)
{
    node_t *leader = &b->nodes[0];
    uint8_t payload[PAYLOAD];
    memset(payload + 8, 0xAB, 8);
    for (size_t done = 0; done < n;) {
        size_t round = n - done < w ? n - done : w;
        for (size_t i = 0; i < round; i++) {
            uint64_t seq = done + i;
            memcpy(payload, &seq, 8);
            void *p = peer_lib_alloc(PAYLOAD);
            if (p == NULL)
                die("raft_malloc", RAFT_NOMEM);
            memcpy(p, payload, PAYLOAD);
            bufs[i] = (struct raft_buffer){p, PAYLOAD};
            if (!batched) {
                reqs[i].data = b;
                int rc = peer_lib_apply(&leader->raft, &reqs[i], &bufs[i], 1, peer_cb_apply);
                if (rc != 0)
                    die("raft_apply", rc);
            }
        }
        if (batched) {
            reqs[0].data = b;
            int rc = peer_lib_apply(&leader->raft, &reqs[0], bufs, (unsigned)round, peer_cb_apply);
            if (rc != 0)
                die("raft_apply", rc);
        }
        done += round;
        flush(leader);
        drain(b);
    }
    /* Final heartbeat round: carries the last commit index to followers. */
    tick_all(b, b->now + leader->raft.heartbeat_timeout);
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
static int check(bench_t *b, size_t n, raft_index base, uint64_t applies_expected, uint64_t *sum)
{
    if (b->failed)
        return -1;
    if (b->applies_done != applies_expected) {
        fprintf(stderr, "check: %llu raft_apply callbacks, expected %llu\n",
                (unsigned long long)b->applies_done, (unsigned long long)applies_expected);
        return -1;
    }
    uint64_t ref = 0;
    for (int i = 0; i < NODES; i++) {
        node_t *nd = &b->nodes[i];
        if (nd->n_applied != n) {
            fprintf(stderr, "check: node %d applied %zu of %zu\n", i + 1, nd->n_applied, n);
            return -1;
        }
        if (nd->raft.commit_index != base + n || raft_last_applied(&nd->raft) != base + n) {
            fprintf(stderr, "check: node %d commit %llu applied %llu, expected %llu\n", i + 1,
                    nd->raft.commit_index, raft_last_applied(&nd->raft), base + n);
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
static double run_once(size_t n, size_t w, int batched, double *msgs_per_entry, uint64_t *sum)
{
    bench_t *b = xmalloc(sizeof *b);
    struct raft_apply *reqs = xmalloc(w * sizeof *reqs);
    struct raft_buffer *bufs = xmalloc(w * sizeof *bufs);
    raft_index base = setup(b, n);
    election_base = base;
    counting = 1;
    double t0 = now_s();
    r1_workload(b, n, w, batched, reqs, bufs);
    double t1 = now_s();
    counting = 0;
    *msgs_per_entry = (double)b->msgs_sent / (double)n;
    uint64_t expected = batched ? (n + w - 1) / w : n;
    int ok = check(b, n, base, expected, sum);
    teardown(b);
    free(bufs);
    free(reqs);
    free(b);
    return ok == 0 ? t1 - t0 : -1.0;
}

int main(int argc, char **argv)
{
    size_t n = 100000, runs = 5;
    struct {
        size_t w;
        int batched;
    } cfg[3] = {{1, 0}, {64, 0}, {64, 1}};
    size_t n_cfg = 3;
    int callgrind = 0, batched = 0;
    size_t w_arg = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--callgrind") == 0) {
            callgrind = 1;
            n = 20000;
            runs = 1;
        } else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            n = strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "-w") == 0 && i + 1 < argc) {
            w_arg = strtoul(argv[++i], NULL, 10);
            if (w_arg == 0) {
                fprintf(stderr, "bench_canonical_raft: W must be positive\n");
                return 2;
            }
        } else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc) {
            runs = strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "-b") == 0) {
            batched = 1;
        } else {
            fprintf(stderr, "usage: %s [-n N] [-w W] [-r runs] [-b] [--callgrind]\n", argv[0]);
            return 2;
        }
    }
    if (w_arg != 0 || batched) {
        cfg[0].w = w_arg != 0 ? w_arg : 64;
        cfg[0].batched = batched;
        n_cfg = 1;
    }
    if (n == 0 || runs == 0 || runs > 99 || n > UINT_MAX) {
        fprintf(stderr, "bench_canonical_raft: N and runs must be positive (runs <= 99)\n");
        return 2;
    }
    printf("R1 canonical/raft 0.15 3-node in-memory commit: N = %zu entries of %d bytes, "
           "%zu run(s)%s\n",
           n, PAYLOAD, runs, callgrind ? " (callgrind mode)" : "");
    printf("%-4s %-6s %14s %14s %18s\n", "W", "submit", "entries/s", "msgs/entry", "checksum");
    int status = 0;
    for (size_t ci = 0; ci < n_cfg; ci++) {
        size_t w = cfg[ci].w;
        const char *mode = cfg[ci].batched ? "batch" : "single";
        double secs[99];
        double mpe = 0;
        uint64_t sum = 0;
        int bad = 0;
        for (size_t r = 0; r < runs; r++) {
            secs[r] = run_once(n, w, cfg[ci].batched, &mpe, &sum);
            if (secs[r] < 0)
                bad = 1;
        }
        if (bad) {
            printf("%-4zu %-6s %14s %14s %18s\n", w, mode, "CHECK FAILED", "-", "-");
            status = 1;
            continue;
        }
        qsort(secs, runs, sizeof secs[0], cmp_double);
        double med = secs[runs / 2];
        printf("%-4zu %-6s %14.0f %14.3f %18llx\n", w, mode, (double)n / med, mpe,
               (unsigned long long)sum);
    }
    printf("leader's last index after the election: %llu (expected commit index: that + N)\n",
           election_base);
    if (callgrind) {
        fprintf(stderr, "peer calls:");
        for (int k = 0; k < CALL_N; k++)
            fprintf(stderr, " %s=%llu", CALL_NAME[k], calls[k]);
        fprintf(stderr, "\n");
    }
    return status;
}
