/* SPDX-License-Identifier: MIT */
/* The lock scenario: a lock service on Raft. Every node runs a
 * ut_consensus_t (with a simulated disk, as in raft.c) and applies the
 * committed log to its own ut_lock_table_t; the table's snapshot is
 * persisted every SNAP_EVERY entries and a restarted node starts from it.
 * Lock clients (the scenario's own workload: the world's key-value clients
 * are off) live on the nodes' machines, hold ut_lock_t handles, talk to the
 * leader over the world's network (retrying through leader changes, with
 * request ids that the replicated state machine deduplicates: Raft
 * dissertation §6.3), renew their leases, take one or two resources (in
 * either order, so that deadlocks are attempted) and write to a fenced
 * store (ut_fence_t) with their token, sometimes after a pause longer than
 * their lease (the client that fencing exists for: Kleppmann 2016; Chubby
 * §2.4 sequencers). The properties are tools/sim/lock_check.h, shared with
 * tests/test_lock_cluster.c, checked after every event; at the end, some
 * grants happened and every client's view is one the service granted.
 *
 * Scenario traffic is a UT_MSG_APPEND of term 0 (Raft never sends term 0):
 * prev_index = kind << 32 | client, prev_term = request id or token,
 * commit = a hint, one entry with the payload. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../lock_check.h"
#include "../scenario.h"

/* The scenario's figures (sim_stat), Raft's names for the host. */
enum { LST_LEADERS, LST_CHANGES, LST_MAX_TERM, LST_COMMIT, LST_APPLIED };

#define ELECTION_MS 300u
#define HEARTBEAT_MS 50u
#define LOCK_CLIENTS 6u
#define TTL_MS 1000u
#define LOCK_DELAY_MS 200u
#define RENEW_MS 300u     /* client: renew a held lease (or a waiter's) this often */
#define TICK_EVERY_MS 100 /* leader: propose a TICK this often */
#define ATTEMPT_MS 300u   /* client: no answer in this long, try another node */
#define SNAP_EVERY 64u    /* persist the table every this many applied entries */
#define STALL_PPM 100000u /* a write waits STALL_MIN..MAX first (10%) */
#define STALL_MIN_MS 500u
#define STALL_MAX_MS 2500u
#define ENTRY_HDR 20u /* stamp u64, client u32, request id u64 */
#define TICK_CLIENT 0xffffffffu
#define STORE_NODE 0u /* the fenced store lives on node 1's machine */
#define MAX_CMD (32u + 16u)

enum { K_REQ = 1, K_RESP, K_NOTLEADER, K_EVENT, K_WRITE };
enum { P_IDLE, P_RUN, P_DONE };

static const char *const res_names[LKC_MAX_RES] = {"A", "B", "C", "D", "E", "F", "G", "H"};

typedef struct session {
    uint64_t reqid;
    ut_lock_reply_t reply;
} session_t;

typedef struct lnode {
    uint64_t id;
    ut_consensus_t *h;
    /* disk: Raft's hard state and log, and the table's last snapshot */
    ut_consensus_hard_state_t hs, synced_hs;
    ut_entry_t *log; /* data owned */
    size_t n_log, cap_log, synced_len;
    unsigned char *snap;
    size_t snap_len, cap_snap;
    uint64_t snap_index;
    session_t snap_sess[LOCK_CLIENTS];
    /* volatile */
    ut_lock_table_t *tab;
    session_t sess[LOCK_CLIENTS];
    uint64_t applied, local;
    uint64_t lead_term, lead_base, lead_local0, last_stamp, next_tick;
    uint8_t role;
    uint64_t role_term;
} lnode_t;

typedef struct lock_sc lock_sc_t;

typedef struct lclient {
    lock_sc_t *s;
    char name[4];
    unsigned idx, host;
    ut_lock_t *lk[LKC_MAX_RES];
    uint64_t local;
    /* the one request in flight (the submit callback's) */
    bool busy, answered;
    uint64_t reqid, first_sent, attempt_at, wait_ms;
    int rq_res;
    uint8_t rq_op;
    unsigned char cmd[MAX_CMD];
    size_t cmd_len;
    unsigned target;
    ut_lock_reply_t reply;
    /* the plan: take plan[0..nplan) in order, hold, release */
    int phase, plan[2], nplan, step;
    bool tried;
    uint64_t next_at, renew_at[LKC_MAX_RES];
    /* one write to the fenced store */
    bool write_pending;
    int write_res;
    uint64_t write_at, write_token;
} lclient_t;

struct lock_sc {
    sim_world_t *w;
    unsigned nres;
    lnode_t nodes[SIM_MAX_NODES];
    uint64_t ids[SIM_MAX_NODES];
    lclient_t cl[LOCK_CLIENTS];
    lkc_t k;
    ut_fence_t *fence; /* the store's: durable, survives its host's crashes */
    uint64_t first_applied, max_commit, last_leader;
    uint64_t *leader_of_term;
    size_t cap_terms;
    bool expired_since_grant[LKC_MAX_RES];
    uint64_t lost_leases; /* client-side: ut_lock_tick said lost */
};

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- scenario traffic ------------------------------------------------------ */

static void frame(lock_sc_t *s, unsigned from, unsigned to, uint32_t kind, uint32_t client,
                  uint64_t a, uint64_t hint, const void *data, size_t len)
{
    ut_msg_t m = {.type = UT_MSG_APPEND, .from = from + 1, .to = to + 1, .term = 0};
    m.body.append.prev_index = (uint64_t)kind << 32 | client;
    m.body.append.prev_term = a;
    m.body.append.commit = hint;
    ut_entry_t e = {.term = 0,
                    .index = m.body.append.prev_index + 1,
                    .type = UT_ENTRY_NORMAL,
                    .len = (uint32_t)len,
                    .data = len ? data : ""}; /* never a NULL source for the codec's copy */
    m.body.append.n_entries = 1;
    m.body.append.entries = &e;
    sim_send(s->w, from, &m);
}

static void send_reply(lock_sc_t *s, unsigned from, uint32_t c, uint64_t reqid,
                       const ut_lock_reply_t *rp)
{
    unsigned char b[26];
    put32(b, (uint32_t)rp->status);
    b[4] = (unsigned char)rp->result;
    b[5] = rp->queued;
    put64(b + 6, rp->token);
    put64(b + 14, rp->expires_ms);
    put32(b + 22, rp->count);
    frame(s, from, s->cl[c].host, K_RESP, c, reqid, 0, b, sizeof b);
}

static void send_event(lock_sc_t *s, unsigned from, const ut_lock_event_t *ev)
{
    int c = lkc_client_of(&s->k, ev->holder, ev->holder_len);
    if (c < 0 || ev->resource_len > 8 || ev->holder_len > 8)
        return;
    unsigned char b[19 + 16];
    b[0] = (unsigned char)ev->type;
    put64(b + 1, ev->token);
    put64(b + 9, ev->expires_ms);
    b[17] = (unsigned char)ev->resource_len;
    b[18] = (unsigned char)ev->holder_len;
    memcpy(b + 19, ev->resource, ev->resource_len);
    memcpy(b + 19 + ev->resource_len, ev->holder, ev->holder_len);
    frame(s, from, s->cl[c].host, K_EVENT, (uint32_t)c, 0, 0, b,
          19 + ev->resource_len + ev->holder_len);
}

/* ---- checks ------------------------------------------------------------------ */

static void report(lock_sc_t *s)
{
    if (s->k.oom)
        sim_fail(s->w);
    else if (s->k.failed)
        sim_violation(s->w, s->k.invariant, "%s", s->k.detail);
}

/* A client's handle says it holds r with token: the service granted it. */
static void check_view(lock_sc_t *s, lclient_t *c, int r)
{
    uint64_t t = ut_lock_token(c->lk[r]);
    s->k.checks++;
    if (ut_lock_acquired(c->lk[r]) && !lkc_was_granted(&s->k, r, (int)c->idx, t))
        sim_violation(s->w, "client-view",
                      "c%u believes it holds %s with token %" PRIu64 ", which the service never "
                      "granted to it",
                      c->idx, res_names[r], t);
}

/* ---- Raft host: disk, drain, apply -------------------------------------------- */

static void disk_truncate(lnode_t *n, size_t keep)
{
    for (size_t k = keep; k < n->n_log; k++)
        free((void *)n->log[k].data);
    if (keep < n->n_log)
        n->n_log = keep;
    if (n->synced_len > n->n_log)
        n->synced_len = n->n_log;
}

static void persist(lock_sc_t *s, lnode_t *n, const ut_consensus_ready_t *rd)
{
    bool wrote = false;
    if (rd->hard_state_changed) {
        n->hs = rd->hard_state;
        wrote = true;
    }
    if (rd->truncate_from) {
        if (rd->truncate_from - 1 > n->n_log) {
            sim_violation(s->w, "persist-contract",
                          "node %" PRIu64 " truncate_from %" PRIu64 " beyond its log (%zu)", n->id,
                          rd->truncate_from, n->n_log);
            return;
        }
        disk_truncate(n, (size_t)(rd->truncate_from - 1));
        wrote = true;
    }
    for (size_t k = 0; k < rd->n_entries; k++) {
        const ut_entry_t *e = &rd->entries[k];
        if (e->index != n->n_log + 1) {
            sim_violation(s->w, "persist-contract",
                          "node %" PRIu64 " appends entry %" PRIu64 " after a log of %zu", n->id,
                          e->index, n->n_log);
            return;
        }
        if (sim_grow((void **)&n->log, &n->cap_log, n->n_log + 1, sizeof *n->log)) {
            sim_fail(s->w);
            return;
        }
        ut_entry_t *d = &n->log[n->n_log];
        *d = *e;
        d->data = NULL;
        if (e->len) {
            void *p = malloc(e->len);
            if (!p) {
                sim_fail(s->w);
                return;
            }
            memcpy(p, e->data, e->len);
            d->data = p;
        }
        n->n_log++;
        wrote = true;
    }
    if (wrote && sim_disk_sync(s->w, (unsigned)(n - s->nodes))) {
        n->synced_hs = n->hs;
        n->synced_len = n->n_log;
    }
}

static void save_snapshot(lock_sc_t *s, lnode_t *n)
{
    size_t len = 0;
    int rc = ut_lock_table_snapshot(n->tab, n->snap, n->cap_snap, &len);
    if (rc == UT_ERANGE) {
        unsigned char *b = realloc(n->snap, len);
        if (!b) {
            sim_fail(s->w);
            return;
        }
        n->snap = b;
        n->cap_snap = len;
        rc = ut_lock_table_snapshot(n->tab, n->snap, n->cap_snap, &len);
    }
    if (rc != UT_OK) {
        sim_violation(s->w, "snapshot", "node %" PRIu64 ": ut_lock_table_snapshot: %s", n->id,
                      ut_strerror(rc));
        return;
    }
    n->snap_len = len;
    n->snap_index = n->applied;
    memcpy(n->snap_sess, n->sess, sizeof n->sess);
}

/* Marks for the timeline: every lease that ran out, and the grant after it
 * (the re-grant a reused token would spoil). */
static void mark_events(lock_sc_t *s, unsigned i, const ut_lock_event_t *ev, size_t nev,
                        const ut_lock_reply_t *rp, int rq_res, int rq_client)
{
    for (size_t e = 0; e < nev; e++) {
        int r = lkc_res_of(&s->k, ev[e].resource, ev[e].resource_len);
        int c = lkc_client_of(&s->k, ev[e].holder, ev[e].holder_len);
        if (r < 0 || c < 0)
            continue;
        if (ev[e].type == UT_LOCK_EV_EXPIRED) {
            s->expired_since_grant[r] = true;
            sim_mark(s->w, SIM_MARK_CRASH, i, ev[e].token,
                     "%s: c%d's lease expired (token %" PRIu64 ")", res_names[r], c, ev[e].token);
        } else if (ev[e].type == UT_LOCK_EV_GRANTED && s->expired_since_grant[r]) {
            s->expired_since_grant[r] = false;
            sim_mark(s->w, SIM_MARK_LEADER, i, ev[e].token, "%s granted to c%d (token %" PRIu64 ")",
                     res_names[r], c, ev[e].token);
        }
    }
    if (rp && rq_res >= 0 && rp->status == UT_OK && rp->result == UT_LOCK_ACQUIRED && !rp->queued &&
        rp->token && s->expired_since_grant[rq_res]) {
        s->expired_since_grant[rq_res] = false;
        sim_mark(s->w, SIM_MARK_LEADER, i, rp->token, "%s granted to c%d (token %" PRIu64 ")",
                 res_names[rq_res], rq_client, rp->token);
    }
}

static void apply(lock_sc_t *s, unsigned i, const ut_entry_t *e)
{
    lnode_t *n = &s->nodes[i];
    if (e->index <= n->applied)
        return; /* replayed after a restart: the snapshot has it */
    if (e->index != n->applied + 1) {
        sim_violation(s->w, "apply-order",
                      "node %" PRIu64 " applies index %" PRIu64 " after %" PRIu64, n->id, e->index,
                      n->applied);
        return;
    }
    n->applied = e->index;
    bool leader = ut_consensus_state(n->h) == UT_CONSENSUS_LEADER;
    if (e->type == UT_ENTRY_NORMAL && e->len >= ENTRY_HDR) {
        const unsigned char *d = e->data;
        uint64_t stamp = sim_get_u64(d);
        uint32_t c = get32(d + 8);
        uint64_t reqid = sim_get_u64(d + 12);
        const unsigned char *cmd = d + ENTRY_HDR;
        size_t len = e->len - ENTRY_HDR;
        if (c != TICK_CLIENT && c >= LOCK_CLIENTS) {
            sim_violation(s->w, "state-machine", "node %" PRIu64 " applied a command of client %u",
                          n->id, c);
            return;
        }
        ut_lock_reply_t rp = {0};
        bool fresh = c == TICK_CLIENT || reqid > n->sess[c].reqid;
        if (fresh) {
            int rc = ut_lock_table_apply(n->tab, cmd, len, stamp, &rp);
            if (rc == UT_ENOMEM) {
                sim_fail(s->w);
                return;
            }
            if (c != TICK_CLIENT) {
                n->sess[c].reqid = reqid;
                n->sess[c].reply = rp;
            }
            (*sim_stat(s->w, LST_APPLIED))++;
            size_t nev = 0;
            const ut_lock_event_t *ev = lkc_take_events(&s->k, n->tab, &nev);
            if (e->index > s->first_applied) {
                s->first_applied = e->index;
                lkc_observe(&s->k, cmd, len, &rp, ut_lock_table_cycle_len(n->tab), ev, nev,
                            ut_lock_table_now(n->tab));
                lkc_model_matches(&s->k, n->tab);
                int rq_res = -1;
                size_t rl = len >= 32 ? ((size_t)cmd[24] | (size_t)cmd[25] << 8) : 0;
                if (c != TICK_CLIENT && len >= 32 && 32 + rl <= len)
                    rq_res = lkc_res_of(&s->k, cmd + 32, rl);
                mark_events(s, i, ev, nev, &rp, rq_res, (int)c);
            }
            /* The leader tells the clients; followers stay quiet. */
            for (size_t k = 0; leader && k < nev; k++)
                send_event(s, i, &ev[k]);
        }
        if (leader && c != TICK_CLIENT && reqid == n->sess[c].reqid)
            send_reply(s, i, c, reqid, &n->sess[c].reply);
    }
    lkc_table(&s->k, n->id, n->tab);
    lkc_replica(&s->k, n->id, e->index, n->tab);
    if (n->applied % SNAP_EVERY == 0)
        save_snapshot(s, n);
    report(s);
}

/* The last stamp in the node's log: a new leader's clock starts there. */
static uint64_t log_stamp(const lnode_t *n)
{
    for (size_t k = n->n_log; k-- > 0;)
        if (n->log[k].type == UT_ENTRY_NORMAL && n->log[k].len >= ENTRY_HDR)
            return sim_get_u64(n->log[k].data);
    return 0;
}

static void observe(lock_sc_t *s, unsigned i)
{
    lnode_t *n = &s->nodes[i];
    uint64_t term = ut_consensus_term(n->h);
    ut_consensus_state_t st = ut_consensus_state(n->h);
    if (term > *sim_stat(s->w, LST_MAX_TERM))
        *sim_stat(s->w, LST_MAX_TERM) = term;
    uint64_t c = ut_consensus_commit_index(n->h);
    if (c > s->max_commit)
        s->max_commit = c;
    if (st == UT_CONSENSUS_LEADER && n->lead_term != term) {
        /* Lease time on the log is the leader's clock measured from the
         * newest stamp it has: never an offset of its own (clocks are
         * skewed by up to an hour), never backwards. */
        n->lead_term = term;
        uint64_t base = log_stamp(n), now = ut_lock_table_now(n->tab);
        n->lead_base = base > now ? base : now;
        n->lead_local0 = n->local;
        n->next_tick = n->local;
        if (term >= s->cap_terms) {
            size_t old = s->cap_terms;
            if (sim_grow((void **)&s->leader_of_term, &s->cap_terms, term + 1,
                         sizeof *s->leader_of_term)) {
                sim_fail(s->w);
                return;
            }
            memset(s->leader_of_term + old, 0, (s->cap_terms - old) * sizeof *s->leader_of_term);
        }
        if (!s->leader_of_term[term]) {
            s->leader_of_term[term] = n->id;
            (*sim_stat(s->w, LST_LEADERS))++;
            if (s->last_leader && s->last_leader != n->id)
                (*sim_stat(s->w, LST_CHANGES))++;
            s->last_leader = n->id;
            sim_mark(s->w, SIM_MARK_LEADER, i, term, "n%" PRIu64 " leader t%" PRIu64, n->id, term);
        }
    }
    if ((uint8_t)st != n->role || term != n->role_term) {
        n->role = (uint8_t)st;
        n->role_term = term;
        sim_segment(s->w, i, (uint8_t)st, term);
    }
}

static void drain(lock_sc_t *s, unsigned i)
{
    lnode_t *n = &s->nodes[i];
    while (!sim_failed(s->w) && !s->w->r->violation.found && ut_consensus_has_ready(n->h)) {
        ut_consensus_ready_t rd;
        int rc = ut_consensus_ready(n->h, &rd);
        if (rc != UT_OK) {
            if (rc == UT_ENOMEM)
                sim_fail(s->w);
            else
                sim_violation(s->w, "ready-contract", "node %" PRIu64 " ready: %s", n->id,
                              ut_strerror(rc));
            return;
        }
        persist(s, n, &rd);
        for (size_t k = 0; k < rd.n_msgs; k++)
            sim_send(s->w, i, &rd.msgs[k]);
        for (size_t k = 0; k < rd.n_committed; k++)
            apply(s, i, &rd.committed[k]);
        rc = ut_consensus_advance(n->h, &rd);
        if (rc != UT_OK) {
            sim_violation(s->w, "ready-contract", "node %" PRIu64 " advance: %s", n->id,
                          ut_strerror(rc));
            return;
        }
    }
    observe(s, i);
}

/* A command into the leader's log, stamped with lease time. */
static int propose(lock_sc_t *s, unsigned i, uint32_t client, uint64_t reqid, const void *cmd,
                   size_t len)
{
    lnode_t *n = &s->nodes[i];
    if (ut_consensus_state(n->h) != UT_CONSENSUS_LEADER || len > MAX_CMD)
        return UT_ENOTLEADER;
    uint64_t stamp = n->lead_base + (n->local - n->lead_local0);
    if (stamp < n->last_stamp)
        stamp = n->last_stamp;
    n->last_stamp = stamp;
    unsigned char b[ENTRY_HDR + MAX_CMD];
    put64(b, stamp);
    put32(b + 8, client);
    put64(b + 12, reqid);
    memcpy(b + ENTRY_HDR, cmd, len);
    uint64_t index;
    int rc = ut_consensus_propose(n->h, b, ENTRY_HDR + len, &index);
    if (rc == UT_ENOMEM)
        sim_fail(s->w);
    return rc;
}

/* ---- clients -------------------------------------------------------------------- */

static void attempt(lock_sc_t *s, lclient_t *c)
{
    frame(s, c->host, c->target, K_REQ, c->idx, c->reqid, 0, c->cmd, c->cmd_len);
    c->attempt_at = c->local + ATTEMPT_MS;
}

/* ut_lock_t's transport: the first call sends the command and reports it
 * in flight (the handle keeps its state); once the answer is in, the same
 * call is made again and gets it (complete()). */
static int submit(void *ud, const void *cmd, size_t len, ut_lock_reply_t *rp)
{
    lclient_t *c = ud;
    lock_sc_t *s = c->s;
    if (c->answered && len == c->cmd_len && memcmp(cmd, c->cmd, len) == 0) {
        *rp = c->reply;
        c->busy = c->answered = false;
        s->w->r->stats.ops_ok++;
        return UT_OK;
    }
    if (c->busy || len > sizeof c->cmd)
        return UT_EBUSY;
    c->busy = true;
    c->answered = false;
    c->reqid++;
    memcpy(c->cmd, cmd, len);
    c->cmd_len = len;
    c->first_sent = c->local;
    s->w->r->stats.ops_total++;
    attempt(s, c);
    return UT_EBUSY;
}

static void start(lclient_t *c, uint8_t op, int r, uint64_t wait_ms)
{
    c->rq_op = op;
    c->rq_res = r;
    c->wait_ms = wait_ms;
    ut_lock_result_t res;
    if (op == UT_LOCK_OP_ACQUIRE)
        (void)ut_lock_acquire(c->lk[r], c->local, wait_ms, &res);
    else if (op == UT_LOCK_OP_RELEASE)
        (void)ut_lock_release(c->lk[r], c->local);
    else
        (void)ut_lock_renew(c->lk[r], c->local);
}

static void schedule_write(lock_sc_t *s, lclient_t *c, int r)
{
    if (c->write_pending)
        return;
    c->write_pending = true;
    c->write_res = r;
    c->write_token = ut_lock_token(c->lk[r]);
    /* Sometimes the client stalls between checking its lease and writing
     * (a GC pause): the write arrives with a token that may be stale. */
    c->write_at = c->local + (sim_rng_chance(sim_rng(s->w), STALL_PPM)
                                  ? sim_rng_range(sim_rng(s->w), STALL_MIN_MS, STALL_MAX_MS)
                                  : sim_rng_range(sim_rng(s->w), 0, 20));
}

/* The answer to the request in flight: the handle takes it (the same call
 * again, with the time the request was first sent: the lease is counted
 * from then, on the client's clock). */
static void complete(lock_sc_t *s, lclient_t *c)
{
    int r = c->rq_res;
    ut_lock_result_t res = UT_LOCK_ERROR;
    if (c->rq_op == UT_LOCK_OP_ACQUIRE)
        (void)ut_lock_acquire(c->lk[r], c->first_sent, c->wait_ms, &res);
    else if (c->rq_op == UT_LOCK_OP_RELEASE)
        (void)ut_lock_release(c->lk[r], c->first_sent);
    else
        (void)ut_lock_renew(c->lk[r], c->first_sent);
    c->busy = c->answered = false;
    check_view(s, c, r);
    c->renew_at[r] = c->first_sent + RENEW_MS;
}

static void client_tick(lock_sc_t *s, lclient_t *c, uint64_t local)
{
    c->local = local;
    for (unsigned r = 0; r < s->nres; r++) {
        bool lost = false;
        (void)ut_lock_tick(c->lk[r], local, &lost);
        s->lost_leases += lost;
    }
    if (c->write_pending && local >= c->write_at) {
        c->write_pending = false;
        frame(s, c->host, STORE_NODE, K_WRITE, c->idx, c->write_token, 0, res_names[c->write_res],
              strlen(res_names[c->write_res]));
    }
    if (c->busy) {
        if (local >= c->attempt_at) {
            /* No answer: another node, same request id. */
            s->w->r->stats.client_retries++;
            c->target = (unsigned)sim_rng_below(sim_rng(s->w), s->w->o.nodes);
            attempt(s, c);
        }
        return;
    }
    /* Keep leases (and places in queues) alive; a waiter's renewal also
     * finds a grant whose event was lost. */
    for (unsigned r = 0; r < s->nres; r++) {
        if ((ut_lock_acquired(c->lk[r]) || ut_lock_waiting(c->lk[r])) && local >= c->renew_at[r]) {
            start(c, UT_LOCK_OP_RENEW, (int)r, 0);
            return;
        }
    }
    sim_rng_t *g = sim_rng(s->w);
    if (c->phase == P_IDLE) {
        if (local < c->next_at)
            return;
        c->nplan = s->nres > 1 && sim_rng_below(g, 2) ? 2 : 1;
        c->plan[0] = (int)sim_rng_below(g, s->nres);
        c->plan[1] =
            (c->plan[0] + 1 + (int)sim_rng_below(g, s->nres - 1 ? s->nres - 1 : 1)) % (int)s->nres;
        c->step = 0;
        c->tried = false;
        c->phase = P_RUN;
    }
    if (c->phase == P_RUN) {
        for (int k = 0; k < c->step; k++)
            if (!ut_lock_acquired(c->lk[c->plan[k]]))
                c->phase = P_DONE; /* a lease was lost: give everything up */
        if (c->phase == P_RUN && c->step < c->nplan) {
            ut_lock_t *l = c->lk[c->plan[c->step]];
            if (ut_lock_acquired(l)) {
                schedule_write(s, c, c->plan[c->step]);
                c->step++;
                c->tried = false;
                c->next_at = local + sim_rng_range(g, 20, 300);
            } else if (ut_lock_waiting(l)) {
                return;
            } else if (c->tried) {
                c->phase = P_DONE; /* conflict, timeout or error */
            } else if (local >= c->next_at) {
                c->tried = true;
                uint64_t wait = sim_rng_below(g, 4) ? sim_rng_range(g, 100, 800) : 0;
                start(c, UT_LOCK_OP_ACQUIRE, c->plan[c->step], wait);
                return;
            } else {
                return;
            }
        }
        if (c->phase == P_RUN && c->step >= c->nplan && local >= c->next_at)
            c->phase = P_DONE;
    }
    if (c->phase == P_DONE) {
        for (unsigned r = 0; r < s->nres; r++)
            if (ut_lock_acquired(c->lk[r]) || ut_lock_waiting(c->lk[r])) {
                start(c, UT_LOCK_OP_RELEASE, (int)r, 0);
                return;
            }
        c->phase = P_IDLE;
        c->next_at = local + sim_rng_range(g, 10, 200);
    }
}

static void client_deliver(lock_sc_t *s, lclient_t *c, uint32_t kind, const ut_msg_append_t *a)
{
    const unsigned char *d = a->entries[0].data;
    size_t len = a->entries[0].len;
    if (kind == K_RESP && len == 26 && c->busy && !c->answered && a->prev_term == c->reqid) {
        memset(&c->reply, 0, sizeof c->reply);
        c->reply.status = (int)get32(d);
        c->reply.result = (ut_lock_result_t)d[4];
        c->reply.queued = d[5] != 0;
        c->reply.token = sim_get_u64(d + 6);
        c->reply.expires_ms = sim_get_u64(d + 14);
        c->reply.count = get32(d + 22);
        c->answered = true;
        complete(s, c);
    } else if (kind == K_NOTLEADER && c->busy && a->prev_term == c->reqid) {
        s->w->r->stats.client_retries++;
        uint64_t hint = a->commit;
        if (hint >= 1 && hint <= s->w->o.nodes && hint - 1 != c->target) {
            c->target = (unsigned)(hint - 1);
            attempt(s, c);
        } else {
            /* No leader known: back off, then another node. */
            c->target = (unsigned)sim_rng_below(sim_rng(s->w), s->w->o.nodes);
            c->attempt_at = c->local + sim_rng_range(sim_rng(s->w), 20, 60);
        }
    } else if (kind == K_EVENT && len >= 19 && len == 19u + d[17] + d[18]) {
        ut_lock_event_t ev = {.type = (ut_lock_event_type_t)d[0],
                              .token = sim_get_u64(d + 1),
                              .expires_ms = sim_get_u64(d + 9),
                              .resource = d + 19,
                              .resource_len = d[17],
                              .holder = d + 19 + d[17],
                              .holder_len = d[18]};
        int r = lkc_res_of(&s->k, ev.resource, ev.resource_len);
        if (r >= 0 && ut_lock_on_event(c->lk[r], &ev, NULL) == UT_OK) {
            check_view(s, c, r);
            c->renew_at[r] = c->local + RENEW_MS;
        }
    }
}

/* ---- the scenario table ------------------------------------------------------------ */

static void store_deliver(lock_sc_t *s, uint32_t c, const ut_msg_append_t *a)
{
    const ut_entry_t *e = &a->entries[0];
    int r = lkc_res_of(&s->k, e->data, e->len);
    if (r < 0 || c >= LOCK_CLIENTS)
        return;
    int rc = ut_fence_check(s->fence, e->data, e->len, a->prev_term);
    if (rc == UT_ENOMEM) {
        sim_fail(s->w);
        return;
    }
    lkc_write(&s->k, r, (int)c, a->prev_term, rc);
    report(s);
}

static void server_request(lock_sc_t *s, unsigned i, uint32_t c, const ut_msg_append_t *a)
{
    lnode_t *n = &s->nodes[i];
    if (c >= LOCK_CLIENTS)
        return;
    if (ut_consensus_state(n->h) == UT_CONSENSUS_LEADER && a->prev_term == n->sess[c].reqid) {
        send_reply(s, i, c, a->prev_term, &n->sess[c].reply); /* applied already */
        return;
    }
    if (a->prev_term < n->sess[c].reqid)
        return; /* an old retry */
    const ut_entry_t *e = &a->entries[0];
    int rc = propose(s, i, c, a->prev_term, e->data, e->len);
    if (rc == UT_OK)
        drain(s, i);
    else if (!sim_failed(s->w))
        frame(s, i, s->cl[c].host, K_NOTLEADER, c, a->prev_term, ut_consensus_leader(n->h), NULL,
              0);
}

static void lock_deliver(void *ctx, unsigned i, const ut_msg_t *m)
{
    lock_sc_t *s = ctx;
    lnode_t *n = &s->nodes[i];
    if (m->type == UT_MSG_APPEND && m->term == 0) {
        const ut_msg_append_t *a = &m->body.append;
        if (a->n_entries != 1)
            return;
        uint32_t kind = (uint32_t)(a->prev_index >> 32), c = (uint32_t)a->prev_index;
        if (kind == K_REQ)
            server_request(s, i, c, a);
        else if (kind == K_WRITE && i == STORE_NODE)
            store_deliver(s, c, a);
        else if (c < LOCK_CLIENTS && s->cl[c].host == i)
            client_deliver(s, &s->cl[c], kind, a);
        return;
    }
    int rc = ut_consensus_step(n->h, m);
    if (rc == UT_ENOMEM)
        sim_fail(s->w);
    else if (rc != UT_OK && rc != UT_ESTALE)
        sim_violation(s->w, "message-validity",
                      "node %" PRIu64 " rejected a %s from node %" PRIu64 ": %s", n->id,
                      ut_msg_type_name(m->type), m->from, ut_err_name(rc));
}

static void lock_tick(void *ctx, unsigned i, uint64_t local_ms)
{
    lock_sc_t *s = ctx;
    lnode_t *n = &s->nodes[i];
    n->local = local_ms;
    int rc = ut_consensus_tick(n->h, local_ms);
    if (rc == UT_ENOMEM) {
        sim_fail(s->w);
        return;
    }
    if (ut_consensus_state(n->h) == UT_CONSENSUS_LEADER &&
        n->lead_term == ut_consensus_term(n->h) && local_ms >= n->next_tick) {
        unsigned char cmd[32];
        size_t len;
        ut_lock_cmd_t tc = {.op = UT_LOCK_OP_TICK};
        if (ut_lock_cmd_encode(&tc, cmd, sizeof cmd, &len) == UT_OK)
            (void)propose(s, i, TICK_CLIENT, 0, cmd, len);
        n->next_tick = local_ms + TICK_EVERY_MS;
    }
    for (unsigned c = 0; c < LOCK_CLIENTS && !sim_failed(s->w); c++)
        if (s->cl[c].host == i)
            client_tick(s, &s->cl[c], local_ms);
}

static void lock_drain(void *ctx, unsigned i)
{
    drain(ctx, i);
}

static void lock_request(void *ctx, unsigned i, const sim_cmsg_t *m)
{
    /* The world's key-value clients are off (defaults: clients = 0); one
     * given with --clients is told to go elsewhere, forever. */
    lock_sc_t *s = ctx;
    sim_cmsg_t r = {.kind = SIM_CM_NOTLEADER, .client = m->client, .reqid = m->reqid};
    sim_reply(s->w, i, m->client, &r);
}

static ut_lock_table_t *new_table(void)
{
    ut_lock_table_config_t cfg;
    ut_lock_table_config_init(&cfg, UT_LOCK_TABLE_CONFIG_VERSION);
    cfg.lock_delay_ms = LOCK_DELAY_MS;
    ut_lock_table_t *t = NULL;
    return ut_lock_table_new(&t, &cfg) == UT_OK ? t : NULL;
}

static int lock_node_start(void *ctx, unsigned i, bool restore, uint64_t local_ms)
{
    lock_sc_t *s = ctx;
    lnode_t *n = &s->nodes[i];
    ut_consensus_config_t cfg;
    ut_consensus_config_init(&cfg, UT_CONSENSUS_CONFIG_VERSION);
    cfg.id = n->id;
    cfg.voters = s->ids;
    cfg.n_voters = s->w->o.nodes;
    cfg.election_timeout_ms = ELECTION_MS;
    cfg.heartbeat_ms = HEARTBEAT_MS;
    uint64_t x = s->w->o.seed ^ (n->id * 0x9e3779b97f4a7c15ull) ^
                 ((uint64_t)sim_node_incarnation(s->w, i) << 40) ^ 0x10c4ull;
    cfg.seed = sim_splitmix64(&x);
    int rc = ut_consensus_new(&n->h, &cfg);
    if (rc != UT_OK) {
        sim_fail_msg(s->w, "ut_consensus_new: %s", ut_strerror(rc));
        return -1;
    }
    n->tab = new_table();
    if (!n->tab)
        return -1;
    memset(n->sess, 0, sizeof n->sess);
    n->applied = 0;
    if (restore) {
        rc = ut_consensus_restore(n->h, &n->hs, n->log, n->n_log);
        if (rc != UT_OK)
            sim_violation(s->w, "restore", "node %" PRIu64 " refused its own persisted state: %s",
                          n->id, ut_strerror(rc));
        if (n->snap_len) {
            /* The table comes back from its snapshot; the log replays the
             * rest. */
            rc = ut_lock_table_restore(n->tab, n->snap, n->snap_len);
            if (rc != UT_OK)
                sim_violation(s->w, "snapshot",
                              "node %" PRIu64 " refused its own table snapshot: %s (%s)", n->id,
                              ut_strerror(rc), ut_lock_table_errmsg(n->tab));
            memcpy(n->sess, n->snap_sess, sizeof n->sess);
            n->applied = n->snap_index;
        }
    }
    n->local = local_ms;
    n->lead_term = 0;
    n->last_stamp = 0;
    n->role = 255;
    ut_consensus_tick(n->h, local_ms);
    return 0;
}

static bool lock_node_crash(void *ctx, unsigned i)
{
    lock_sc_t *s = ctx;
    lnode_t *n = &s->nodes[i];
    bool lost = false;
    if ((s->w->o.faults & SIM_F_LYING_DISK) &&
        (n->synced_len < n->n_log || memcmp(&n->synced_hs, &n->hs, sizeof n->hs) != 0)) {
        disk_truncate(n, n->synced_len);
        n->hs = n->synced_hs;
        if (n->hs.commit > n->n_log)
            n->hs.commit = n->n_log;
        lost = true;
    }
    if (n->snap_index > n->hs.commit) {
        n->snap_len = 0; /* a snapshot beyond what the disk kept */
        n->snap_index = 0;
    }
    ut_consensus_free(n->h);
    n->h = NULL;
    ut_lock_table_free(n->tab);
    n->tab = NULL;
    return lost;
}

static bool lock_target(void *ctx, unsigned *idx)
{
    lock_sc_t *s = ctx;
    uint64_t term = 0;
    bool found = false;
    for (unsigned i = 0; i < s->w->o.nodes; i++) {
        lnode_t *n = &s->nodes[i];
        if (sim_node_up(s->w, i) && ut_consensus_state(n->h) == UT_CONSENSUS_LEADER &&
            ut_consensus_term(n->h) >= term) {
            term = ut_consensus_term(n->h);
            *idx = i;
            found = true;
        }
    }
    return found;
}

/* The leader just told a client that it holds a lock: crashing it now
 * makes the next leader honour a grant it did not hand out itself. */
static bool lock_crash_point(void *ctx, unsigned i, const ut_msg_t *m)
{
    (void)ctx;
    (void)i;
    if (m->type != UT_MSG_APPEND || m->term != 0 || m->body.append.n_entries != 1 ||
        m->body.append.prev_index >> 32 != K_RESP || m->body.append.entries[0].len != 26)
        return false;
    const unsigned char *d = m->body.append.entries[0].data;
    return get32(d) == 0 && d[4] == UT_LOCK_ACQUIRED && sim_get_u64(d + 6) != 0;
}

static int lock_create(sim_world_t *w, void **out)
{
    lock_sc_t *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->w = w;
    s->nres = w->o.keys < LKC_MAX_RES ? w->o.keys : LKC_MAX_RES;
    if (lkc_init(&s->k, s->nres, res_names, LOCK_CLIENTS, LOCK_DELAY_MS) != 0) {
        free(s);
        return -1;
    }
    ut_fence_config_t fc;
    ut_fence_config_init(&fc, UT_FENCE_CONFIG_VERSION);
    if (ut_fence_new(&s->fence, &fc) != UT_OK) {
        lkc_free(&s->k);
        free(s);
        return -1;
    }
    for (unsigned i = 0; i < w->o.nodes; i++) {
        s->ids[i] = i + 1;
        s->nodes[i].id = i + 1;
    }
    for (unsigned c = 0; c < LOCK_CLIENTS; c++) {
        lclient_t *cl = &s->cl[c];
        snprintf(cl->name, sizeof cl->name, "c%u", c);
        cl->s = s;
        cl->idx = c;
        cl->host = c % w->o.nodes;
        cl->target = (unsigned)sim_rng_below(&w->rng, w->o.nodes);
        cl->next_at = 0;
        for (unsigned r = 0; r < s->nres; r++) {
            ut_lock_config_t lc;
            ut_lock_config_init(&lc, UT_LOCK_CONFIG_VERSION);
            lc.resource = res_names[r];
            lc.resource_len = strlen(res_names[r]);
            lc.holder = cl->name;
            lc.holder_len = strlen(cl->name);
            lc.ttl_ms = TTL_MS;
            lc.submit = submit;
            lc.userdata = cl;
            if (ut_lock_new(&cl->lk[r], &lc) != UT_OK) {
                *out = s;
                return -1;
            }
        }
    }
    *out = s;
    return 0;
}

static void lock_destroy(void *ctx)
{
    lock_sc_t *s = ctx;
    if (!s)
        return;
    for (unsigned i = 0; i < SIM_MAX_NODES; i++) {
        lnode_t *n = &s->nodes[i];
        ut_consensus_free(n->h);
        ut_lock_table_free(n->tab);
        disk_truncate(n, 0);
        free(n->log);
        free(n->snap);
    }
    for (unsigned c = 0; c < LOCK_CLIENTS; c++)
        for (unsigned r = 0; r < LKC_MAX_RES; r++)
            ut_lock_free(s->cl[c].lk[r]);
    ut_fence_free(s->fence);
    lkc_free(&s->k);
    free(s->leader_of_term);
    free(s);
}

static void lock_finish(void *ctx, sim_result_t *r)
{
    lock_sc_t *s = ctx;
    r->stats.scen[LST_COMMIT] = s->max_commit;
    for (unsigned c = 0; c < LOCK_CLIENTS; c++)
        r->stats.ops_unknown += s->cl[c].busy;
    if (!r->violation.found && !sim_failed(s->w)) {
        /* Every client's view at the end: what it believes it holds was
         * granted to it, and no two clients believe they hold one grant. */
        for (unsigned c = 0; c < LOCK_CLIENTS; c++)
            for (unsigned q = 0; q < s->nres; q++) {
                check_view(s, &s->cl[c], (int)q);
                for (unsigned d = 0; d < c; d++)
                    if (ut_lock_acquired(s->cl[c].lk[q]) && ut_lock_acquired(s->cl[d].lk[q]) &&
                        ut_lock_token(s->cl[c].lk[q]) == ut_lock_token(s->cl[d].lk[q]))
                        sim_violation(s->w, "client-view",
                                      "c%u and c%u both believe they hold %s with token %" PRIu64,
                                      d, c, res_names[q], ut_lock_token(s->cl[c].lk[q]));
            }
        /* Progress: a run long enough for elections and leases grants. */
        if (s->k.n_grants == 0 && s->w->o.time_ms >= 10000)
            sim_violation(s->w, "progress", "no lock was granted in %" PRIu64 " s",
                          s->w->o.time_ms / 1000);
    }
    r->stats.invariant_checks += s->k.checks;
    /* Figures the summary has no line for, on request. */
    if (getenv("UTSIM_LOCK_STATS"))
        fprintf(stderr,
                "lock: %" PRIu64 " grants, %" PRIu64 " queued, %" PRIu64 " conflicts (%" PRIu64
                " deadlocks refused), %" PRIu64 " expired, %" PRIu64 " wait ends, writes %" PRIu64
                " accepted %" PRIu64 " stale, %" PRIu64 " leases lost client-side\n",
                s->k.n_grants, s->k.n_queued, s->k.n_conflicts, s->k.n_deadlocks, s->k.n_expired,
                s->k.n_timeouts, s->k.n_accepted, s->k.n_stale, s->lost_leases);
}

static void lock_defaults(sim_options_t *o)
{
    o->clients = 0; /* the scenario drives its own lock clients */
    o->keys = 2;    /* resources */
}

static const sim_stat_def_t lock_stats[] = {
    [LST_LEADERS] = {"leaders_elected"}, [LST_CHANGES] = {"leader_changes"},
    [LST_MAX_TERM] = {"max_term"},       [LST_COMMIT] = {"commit_index"},
    [LST_APPLIED] = {"entries_applied"}, /* lock commands applied, all nodes */
};

static const sim_stat_row_t lock_rows[] = {
    {"leaders", "{leaders_elected} elected, {leader_changes} leader changes, highest term "
                "{max_term}"},
    {"commits", "index {commit_index} committed, {entries_applied} lock commands applied across "
                "nodes"},
};

const sim_scenario_t sim_scenario_lock = {
    .name = "lock",
    .help = "  N nodes of ut_consensus_t replicate a ut_lock_table_t; lock clients (ut_lock_t)\n"
            "  acquire, renew and release leases on --keys resources and write to a fenced\n"
            "  store with their tokens. After every event: replica agreement, mutual\n"
            "  exclusion, strictly increasing tokens, lock-delay, FIFO, no deadlock, no lost\n"
            "  grant, fenced writes never stale; at the end, progress and client views.\n",
    .stats = lock_stats,
    .n_stats = sizeof lock_stats / sizeof lock_stats[0],
    .rows = lock_rows,
    .n_rows = sizeof lock_rows / sizeof lock_rows[0],
    .sweep_text = "{leaders_elected} leaders elected",
    .seed_text = "{leaders_elected} leaders, {leader_changes} changes, term {max_term}",
    .check_history = sim_check_in_run,
    .history_property = "client views and progress (checked in the run)",
    .summary = "a lock service on Raft: ut_lock_table_t replicated by ut_consensus_t, "
               "ut_lock_t clients, a fenced store",
    .title = "Lock service on Raft",
    .invariants = "replica agreement, mutual exclusion, token order, FIFO, no deadlock,\n"
                  "               no lost grant, fenced writes, client views, progress",
    .crash_point_text = "right after a grant",
    .defaults = lock_defaults,
    .create = lock_create,
    .destroy = lock_destroy,
    .node_start = lock_node_start,
    .node_crash = lock_node_crash,
    .tick = lock_tick,
    .deliver = lock_deliver,
    .drain = lock_drain,
    .request = lock_request,
    .crash_point = lock_crash_point,
    .target = lock_target,
    .finish = lock_finish,
};
