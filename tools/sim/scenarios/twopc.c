/* SPDX-License-Identifier: MIT */
/* The 2pc scenario: libunitypes' two-phase commit (ut_2pc_t,
 * ut_2pc_participant_t) moving money between accounts under the world's
 * faults. Node 1 is the coordinator (the module has no Raft-backed
 * coordinator of its own; tests/test_twopc_raft.c shows that composition),
 * nodes 2..N are participants, each holding one account.
 *
 * Workload (clients = 0: the scenario drives it from tick): the
 * coordinator begins a transaction every 20-60 ms of its clock while fewer
 * than TPC_MAX_INFLIGHT are in flight, over 1-4 random participants. With
 * two or more, the first pays the second 1..100 (both vote yes, or no 1 in
 * 10); the others vote yes, read-only or no. With one, it is a one-phase
 * commit. 1 vote in 20 is cast late (up to 800 ms, past the 300 ms vote
 * deadline). Transaction ids come from the application's own counter,
 * which survives crashes; the votes are the application's, drawn at begin,
 * so a participant asked again after a crash votes the same.
 *
 * Persistence contract (docs/twopc.md): each node's records go to a log;
 * a ready with a forced record is made durable before its messages leave
 * (under the lying-disk fault the disk sometimes only pretends); at a crash
 * the log keeps what was made durable plus a random part of the unforced
 * tail (a buffered log may have written some of it). The logging protocol
 * (presumed abort, presumed commit or textbook) and cooperative termination
 * are drawn from the seed and shown as the timeline's first mark.
 *
 * Checked after every event, for every transaction the event touched
 * (every open one after a restart), by the checks shared with the unit
 * tests (tests/twopc_oracle.h): atomicity, decision-stable,
 * commit-needs-yes, coordinator-memory, coordinator-outcome, and no
 * transfer half applied. At the end of the run (finish): the quiet period,
 * in which every node that is down restarts from its log and the nodes'
 * messages are delivered in order without faults (the world's own traffic
 * still in flight is dropped) for up to TPC_QUIET_MS; then every
 * transaction must have settled (termination: no participant prepared or
 * undecided, the coordinator holds nothing) and the money is conserved. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../scenario.h"

/* The scenario's figures (sim_stat). */
enum { TST_OUTCOMES, TST_COMMITTED, TST_ABORTED };
/* The checks of tests/twopc_world.h and this scenario, written once. */
#include "../../../tests/twopc_oracle.h"

#define TPC_BEGIN_GAP_MIN_MS 20u
#define TPC_BEGIN_GAP_MAX_MS 60u
#define TPC_MAX_INFLIGHT 6u
#define TPC_MAX_MEMBERS 4u
#define TPC_VOTE_TIMEOUT_MS 300u
#define TPC_RESEND_MS 100u
#define TPC_INQUIRY_MS 200u
#define TPC_LATE_VOTE_PPM 50000u
#define TPC_LATE_VOTE_MAX_MS 800u
/* A participant's application forgets a decided transaction once
 * TPC_FORGET_LAG later ones have been prepared there and it has heard
 * nothing about it (decision, PREPARE, inquiry answer) for TPC_FORGET_MS:
 * by then the coordinator has stopped sending about it and no message
 * about it is still in this network. A message is delayed by at most
 * ~2.5 s (the world's long detours), so the coordinator's last PREPARE
 * (sent before the vote that ended its wait arrived) lands within ~5 s
 * of our last message about it. Counting from the decision instead let a
 * one-phase PREPARE resent through a 7 s loss streak start the forgotten
 * transaction anew (seed 866, 3 nodes, after the harder world). */
#define TPC_FORGET_LAG 64u
#define TPC_FORGET_MS 6000u
#define TPC_QUIET_MS 30000u
#define TPC_BALANCE 1000
#define TPC_PAYLOAD 9u

typedef struct tpc_txn {
    tpc_oracle_t orc;
    uint8_t n;                         /* members */
    uint8_t member[TPC_MAX_MEMBERS];   /* node indexes */
    uint8_t vote[TPC_MAX_MEMBERS];     /* the application's votes */
    uint16_t late_ms[TPC_MAX_MEMBERS]; /* 0: vote at once */
    int8_t payer, payee;               /* node indexes, -1 = none */
    int64_t amount;
    bool marked;                          /* its decision is on the timeline */
    uint64_t decided_at[TPC_MAX_MEMBERS]; /* member's local ms + 1 when seen decided, 0 = not */
    uint64_t heard_at[TPC_MAX_MEMBERS];   /* member's local ms of its last message about it */
} tpc_txn_t;

typedef struct tpc_disk {
    ut_2pc_record_t *rec; /* rec[k].nodes owned */
    size_t n, cap;
    size_t durable;  /* a crash keeps at least this prefix */
    size_t believed; /* what the node was told is durable (lying disk) */
} tpc_disk_t;

typedef struct tpc_due {
    uint64_t txid, at; /* node-local ms */
    uint8_t vote;
} tpc_due_t;

typedef struct tpc_node {
    ut_2pc_t *c;             /* node 0 */
    ut_2pc_participant_t *p; /* nodes 1.. */
    tpc_disk_t disk;
    uint64_t local_ms;
    tpc_due_t *due; /* late votes (volatile) */
    size_t n_due, cap_due;
    uint64_t next_begin;       /* coordinator, node-local ms */
    uint64_t max_seen, forget; /* participant: highest PREPARE seen, next txid to forget */
} tpc_node_t;

typedef struct tpc_frame {
    unsigned to;
    size_t len;
    unsigned char *buf;
} tpc_frame_t;

typedef struct tpc {
    sim_world_t *w;
    unsigned n_nodes;
    ut_2pc_presumption_t pres;
    bool coop;
    tpc_node_t nodes[SIM_MAX_NODES];
    tpc_txn_t *tx; /* tx[txid - 1] */
    size_t n_tx, cap_tx;
    uint64_t lo; /* every transaction below lo has settled */
    uint64_t touched[64];
    size_t n_touched;
    bool touch_all;
    bool first_decision;         /* the coordinator is sending a ready's first decision */
    uint64_t committed, aborted; /* decisions seen */
    /* the quiet period at the end */
    bool quiet;
    tpc_frame_t *q;
    size_t q_head, q_n, q_cap;
} tpc_t;

static const char *pres_name(ut_2pc_presumption_t p)
{
    return p == UT_2PC_PRESUME_ABORT    ? "presumed abort"
           : p == UT_2PC_PRESUME_COMMIT ? "presumed commit"
                                        : "textbook";
}

static bool is_up(const tpc_node_t *n)
{
    return n->c != NULL || n->p != NULL;
}

static tpc_txn_t *txn(tpc_t *s, uint64_t txid)
{
    return txid >= 1 && txid <= s->n_tx ? &s->tx[txid - 1] : NULL;
}

/* UTSIM_2PC_TRACE=txid: every record, message, event, crash and forget
 * of that transaction on stderr (a debugging aid; the output is not part of
 * the report). */
static uint64_t dbg_tx(void)
{
    static bool read;
    static uint64_t v;
    if (!read) {
        const char *e = getenv("UTSIM_2PC_TRACE");
        v = e ? strtoull(e, NULL, 10) : 0;
        read = true;
    }
    return v;
}

static void touch(tpc_t *s, uint64_t txid)
{
    for (size_t k = 0; k < s->n_touched; k++)
        if (s->touched[k] == txid)
            return;
    if (s->n_touched < sizeof s->touched / sizeof s->touched[0])
        s->touched[s->n_touched++] = txid;
    else
        s->touch_all = true;
}

/* ---- the network: the world's, or the quiet period's FIFO ----------------- */

static void send(tpc_t *s, unsigned i, const ut_msg_t *m)
{
    if (!s->quiet) {
        sim_send(s->w, i, m);
        return;
    }
    size_t len = 0;
    if (ut_msg_encoded_size(m, &len) != UT_OK) {
        sim_violation(s->w, "message-validity", "node %u produced an invalid %s", i + 1,
                      ut_msg_type_name(m->type));
        return;
    }
    if (s->q_head > 0 && s->q_n == s->q_cap) {
        memmove(s->q, s->q + s->q_head, (s->q_n - s->q_head) * sizeof *s->q);
        s->q_n -= s->q_head;
        s->q_head = 0;
    }
    if (sim_grow((void **)&s->q, &s->q_cap, s->q_n + 1, sizeof *s->q)) {
        sim_fail(s->w);
        return;
    }
    tpc_frame_t *f = &s->q[s->q_n];
    f->buf = malloc(len);
    if (!f->buf || ut_msg_encode(m, f->buf, len, &f->len) != UT_OK) {
        free(f->buf);
        sim_fail(s->w);
        return;
    }
    f->to = (unsigned)m->to - 1;
    s->q_n++;
}

/* ---- the log ------------------------------------------------------------------ */

static void disk_cut(tpc_disk_t *d, size_t keep)
{
    for (size_t k = keep; k < d->n; k++)
        free((void *)d->rec[k].nodes);
    if (keep < d->n)
        d->n = keep;
    if (d->durable > d->n)
        d->durable = d->n;
    if (d->believed > d->n)
        d->believed = d->n;
}

/* Keep only the records for which keep() holds (a checkpoint). */
static void disk_filter(tpc_disk_t *d, bool (*keep)(const tpc_t *, const ut_2pc_record_t *, void *),
                        const tpc_t *s, void *arg)
{
    size_t j = 0;
    for (size_t k = 0; k < d->n; k++) {
        if (keep(s, &d->rec[k], arg))
            d->rec[j++] = d->rec[k];
        else
            free((void *)d->rec[k].nodes);
    }
    d->n = d->durable = d->believed = j;
}

static void persist(tpc_t *s, unsigned i, const ut_2pc_ready_t *rd)
{
    tpc_disk_t *d = &s->nodes[i].disk;
    bool forced = false;
    for (size_t k = 0; k < rd->n_records; k++) {
        const ut_2pc_record_t *r = &rd->records[k];
        if (sim_grow((void **)&d->rec, &d->cap, d->n + 1, sizeof *d->rec)) {
            sim_fail(s->w);
            return;
        }
        ut_2pc_record_t c = *r;
        c.nodes = NULL;
        if (r->n_nodes > 0) {
            uint64_t *ids = malloc(r->n_nodes * sizeof *ids);
            if (!ids) {
                sim_fail(s->w);
                return;
            }
            memcpy(ids, r->nodes, r->n_nodes * sizeof *ids);
            c.nodes = ids;
        }
        d->rec[d->n++] = c;
        forced |= r->forced;
        touch(s, r->txid);
    }
    /* Forced: durable before the ready's messages leave (unless the disk
     * lies); the write makes everything before it durable too. */
    if (forced) {
        d->believed = d->n;
        if (sim_disk_sync(s->w, i))
            d->durable = d->n;
    }
}

/* ---- the checks ---------------------------------------------------------- */

static void report(tpc_t *s, uint64_t txid, const char *inv)
{
    if (inv)
        sim_violation(s->w, inv, "tx %" PRIu64 ": %s", txid, s->tx[txid - 1].orc.why);
}

static void check_txn(tpc_t *s, uint64_t txid, unsigned at)
{
    tpc_txn_t *t = txn(s, txid);
    if (!t)
        return;
    bool in_doubt = false;
    s->w->r->stats.invariant_checks++;
    for (unsigned k = 0; k < t->n; k++) {
        tpc_node_t *n = &s->nodes[t->member[k]];
        ut_txn_state_t st;
        bool heur = false;
        if (!n->p || ut_2pc_participant_state(n->p, txid, &st) != UT_OK)
            continue;
        ut_2pc_participant_is_heuristic(n->p, txid, &heur);
        in_doubt |= st == UT_TXN_PREPARED;
        bool decided = st == UT_TXN_COMMITTED || st == UT_TXN_ABORTED;
        if (!decided)
            t->decided_at[k] = 0;
        else if (t->decided_at[k] == 0)
            t->decided_at[k] = n->local_ms + 1;
        report(s, txid, tpc_oracle_participant(&t->orc, t->member[k], st, heur));
    }
    tpc_node_t *c = &s->nodes[0];
    ut_txn_state_t cs = UT_TXN_INIT;
    bool have = false;
    if (c->c) {
        have = ut_2pc_state(c->c, txid, &cs) == UT_OK;
        ut_txn_state_t presumed =
            s->pres == UT_2PC_PRESUME_COMMIT ? UT_TXN_COMMITTED : UT_TXN_ABORTED;
        report(s, txid, tpc_oracle_coordinator(&t->orc, have, cs, presumed, in_doubt));
    }
    if (t->payer >= 0 && tpc_oracle_half_applied(&t->orc, t->payer, t->payee))
        sim_violation(s->w, "money",
                      "tx %" PRIu64 ": the transfer from n%d to n%d is applied at one side and "
                      "undone at the other",
                      txid, t->payer + 1, t->payee + 1);
    if (!t->marked && t->orc.decision != 0) {
        t->marked = true;
        bool commit = t->orc.decision == UT_TXN_COMMITTED;
        if (commit)
            s->committed++;
        else
            s->aborted++;
        /* Forgotten by a coordinator while someone is in doubt: its
         * presumption decided. */
        const char *how = c->c && !have && in_doubt ? " (presumed)" : "";
        sim_mark(s->w, SIM_MARK_LEADER, at, txid, "tx %" PRIu64 " %s at n%u%s", txid,
                 commit ? "commits" : "aborts", at + 1, how);
    }
}

/* Settled: the coordinator holds nothing of it and every member is up and
 * has decided or forgotten it. */
static bool settled(tpc_t *s, uint64_t txid)
{
    tpc_txn_t *t = &s->tx[txid - 1];
    ut_txn_state_t st;
    if (!s->nodes[0].c || ut_2pc_state(s->nodes[0].c, txid, &st) == UT_OK)
        return false;
    for (unsigned k = 0; k < t->n; k++) {
        tpc_node_t *n = &s->nodes[t->member[k]];
        if (!n->p)
            return false;
        if (ut_2pc_participant_state(n->p, txid, &st) == UT_OK && st != UT_TXN_COMMITTED &&
            st != UT_TXN_ABORTED)
            return false;
    }
    return true;
}

static void observe(tpc_t *s, unsigned i)
{
    if (s->touch_all) {
        for (uint64_t x = s->lo ? s->lo : 1; x <= s->n_tx; x++)
            check_txn(s, x, i);
    }
    for (size_t k = 0; k < s->n_touched; k++)
        check_txn(s, s->touched[k], i);
    s->n_touched = 0;
    s->touch_all = false;
    if (s->lo == 0)
        s->lo = 1;
    while (s->lo <= s->n_tx && settled(s, s->lo))
        s->lo++;
}

/* ---- votes ----------------------------------------------------------------- */

static int member_index(const tpc_txn_t *t, unsigned i)
{
    for (unsigned k = 0; k < t->n; k++)
        if (t->member[k] == i)
            return (int)k;
    return -1;
}

static void cast(tpc_t *s, unsigned i, uint64_t txid, ut_2pc_vote_t v)
{
    tpc_node_t *n = &s->nodes[i];
    int rc = ut_2pc_participant_vote(n->p, txid, v);
    if (rc == UT_OK)
        tpc_oracle_vote(&s->tx[txid - 1].orc, (int)i, v);
    else if (rc == UT_ENOMEM)
        sim_fail(s->w);
    else if (rc != UT_ESTATE && rc != UT_ENOTFOUND) /* decided meanwhile, or lost in a crash */
        sim_violation(s->w, "vote", "n%u could not vote on tx %" PRIu64 ": %s (%s)", i + 1, txid,
                      ut_err_name(rc), ut_2pc_participant_errmsg(n->p));
    touch(s, txid);
}

/* A PREPARE event at participant i: vote now, or later. Returns the vote
 * to cast after advance, or NONE. */
static ut_2pc_vote_t on_prepare(tpc_t *s, unsigned i, const ut_2pc_event_t *e)
{
    tpc_node_t *n = &s->nodes[i];
    tpc_txn_t *t = txn(s, e->txid);
    int k = t ? member_index(t, i) : -1;
    if (k < 0 || e->len != TPC_PAYLOAD || e->node != 1) {
        sim_violation(s->w, "message-validity",
                      "n%u was asked to prepare tx %" PRIu64 " it is not part of", i + 1, e->txid);
        return UT_2PC_VOTE_NONE;
    }
    if (e->txid > n->max_seen)
        n->max_seen = e->txid;
    if (t->late_ms[k] == 0)
        return (ut_2pc_vote_t)t->vote[k];
    if (sim_grow((void **)&n->due, &n->cap_due, n->n_due + 1, sizeof *n->due)) {
        sim_fail(s->w);
        return UT_2PC_VOTE_NONE;
    }
    n->due[n->n_due++] = (tpc_due_t){e->txid, n->local_ms + t->late_ms[k], t->vote[k]};
    return UT_2PC_VOTE_NONE;
}

/* ---- node driver ------------------------------------------------------------ */

static void drain(tpc_t *s, unsigned i)
{
    tpc_node_t *n = &s->nodes[i];
    for (int guard = 0; guard < 1000 && !sim_failed(s->w) && is_up(n); guard++) {
        ut_2pc_ready_t rd;
        int rc = i == 0 ? ut_2pc_ready(n->c, &rd) : ut_2pc_participant_ready(n->p, &rd);
        if (rc != UT_OK) {
            sim_violation(s->w, "ready-contract", "n%u ready: %s", i + 1, ut_err_name(rc));
            return;
        }
        if (ut_2pc_ready_empty(&rd))
            break;
        if (dbg_tx()) {
            for (size_t k = 0; k < rd.n_records; k++)
                if (rd.records[k].txid == dbg_tx())
                    fprintf(stderr, "%llu n%u rec %s forced=%d end=%d\n",
                            (unsigned long long)sim_now(s->w), i + 1,
                            ut_txn_state_name(rd.records[k].state), rd.records[k].forced,
                            rd.records[k].end);
            for (size_t k = 0; k < rd.n_msgs; k++)
                if (rd.msgs[k].body.twopc.txid == dbg_tx())
                    fprintf(stderr, "%llu n%u send %s to %llu code %u\n",
                            (unsigned long long)sim_now(s->w), i + 1,
                            ut_msg_type_name(rd.msgs[k].type), (unsigned long long)rd.msgs[k].to,
                            rd.msgs[k].body.twopc.code);
            for (size_t k = 0; k < rd.n_events; k++)
                if (rd.events[k].txid == dbg_tx())
                    fprintf(stderr, "%llu n%u event %d %s\n", (unsigned long long)sim_now(s->w),
                            i + 1, rd.events[k].kind, ut_txn_state_name(rd.events[k].state));
        }
        persist(s, i, &rd); /* 1. durable */
        s->first_decision = true;
        for (size_t k = 0; k < rd.n_msgs; k++) { /* 2. send */
            touch(s, rd.msgs[k].body.twopc.txid);
            send(s, i, &rd.msgs[k]);
        }
        s->first_decision = false;
        uint64_t vote_tx[16];
        ut_2pc_vote_t vote_v[16];
        size_t n_votes = 0;
        for (size_t k = 0; k < rd.n_events; k++) { /* 3. apply */
            const ut_2pc_event_t *e = &rd.events[k];
            touch(s, e->txid);
            if (e->kind == UT_2PC_EVENT_PREPARE && i > 0) {
                ut_2pc_vote_t v = on_prepare(s, i, e);
                if (v != UT_2PC_VOTE_NONE && n_votes == 16)
                    sim_fail_msg(s->w, "n%u: more than 16 PREPAREs in one ready", i + 1);
                else if (v != UT_2PC_VOTE_NONE) {
                    vote_tx[n_votes] = e->txid;
                    vote_v[n_votes++] = v;
                }
            } else if (e->kind == UT_2PC_EVENT_OUTCOME) {
                (*sim_stat(s->w, TST_OUTCOMES))++;
            } else if (e->kind == UT_2PC_EVENT_DONE && txn(s, e->txid)) {
                report(s, e->txid, tpc_oracle_done(&s->tx[e->txid - 1].orc, e->state));
            } else if (e->kind == UT_2PC_EVENT_HEURISTIC) {
                sim_violation(s->w, "heuristic",
                              "tx %" PRIu64 ": a heuristic outcome, which no application here "
                              "forces",
                              e->txid);
            }
        }
        rc = i == 0 ? ut_2pc_advance(n->c, &rd) : ut_2pc_participant_advance(n->p, &rd);
        if (rc != UT_OK) {
            sim_violation(s->w, "ready-contract", "n%u advance: %s", i + 1, ut_err_name(rc));
            return;
        }
        for (size_t k = 0; k < n_votes; k++)
            cast(s, i, vote_tx[k], vote_v[k]);
    }
    observe(s, i);
    /* The application forgets what nobody can still ask or answer. */
    while (i > 0 && n->p && n->forget + TPC_FORGET_LAG <= n->max_seen) {
        tpc_txn_t *t = txn(s, n->forget);
        int k = t ? member_index(t, i) : -1;
        ut_txn_state_t st;
        if (k >= 0 && ut_2pc_participant_state(n->p, n->forget, &st) == UT_OK) {
            if (t->decided_at[k] == 0 || n->local_ms + 1 < t->decided_at[k] + TPC_FORGET_MS ||
                n->local_ms < t->heard_at[k] + TPC_FORGET_MS)
                break; /* undecided, or not quiet for long: kept */
            int rc = ut_2pc_participant_forget(n->p, n->forget);
            if (dbg_tx() && n->forget == dbg_tx())
                fprintf(stderr, "n%u forget rc %d\n", i + 1, rc);
            if (rc != UT_OK)
                break;
        }
        n->forget++;
    }
}

/* Begin one transaction at the coordinator. */
static void begin_one(tpc_t *s)
{
    sim_rng_t *g = sim_rng(s->w);
    unsigned np = s->n_nodes - 1;
    if (sim_grow((void **)&s->tx, &s->cap_tx, s->n_tx + 1, sizeof *s->tx)) {
        sim_fail(s->w);
        return;
    }
    tpc_txn_t *t = &s->tx[s->n_tx];
    memset(t, 0, sizeof *t);
    t->n = (uint8_t)(1 + sim_rng_below(g, np < TPC_MAX_MEMBERS ? np : TPC_MAX_MEMBERS));
    uint64_t mask = 0, ids[TPC_MAX_MEMBERS];
    for (unsigned k = 0; k < t->n; k++) {
        unsigned j;
        do
            j = 1 + (unsigned)sim_rng_below(g, np);
        while (mask & (1ull << j));
        mask |= 1ull << j;
        t->member[k] = (uint8_t)j;
        ids[k] = j + 1;
    }
    t->payer = t->payee = -1;
    if (t->n >= 2) {
        t->payer = (int8_t)t->member[0];
        t->payee = (int8_t)t->member[1];
        t->amount = (int64_t)sim_rng_range(g, 1, 100);
    }
    for (unsigned k = 0; k < t->n; k++) {
        uint64_t r = sim_rng_below(g, 100);
        if (t->n == 1)
            t->vote[k] = r < 80 ? UT_2PC_VOTE_YES : r < 90 ? UT_2PC_VOTE_NO : UT_2PC_VOTE_READ_ONLY;
        else if (k < 2)
            t->vote[k] = r < 90 ? UT_2PC_VOTE_YES : UT_2PC_VOTE_NO;
        else
            t->vote[k] = r < 55 ? UT_2PC_VOTE_YES : r < 90 ? UT_2PC_VOTE_READ_ONLY : UT_2PC_VOTE_NO;
        if (sim_rng_chance(g, TPC_LATE_VOTE_PPM))
            t->late_ms[k] = (uint16_t)sim_rng_range(g, 50, TPC_LATE_VOTE_MAX_MS);
    }
    tpc_oracle_init(&t->orc, mask);
    uint64_t txid = ++s->n_tx;
    /* The payload a participant's application would apply: payer, payee
     * (node ids, 0 = none) and the amount. */
    unsigned char pl[TPC_PAYLOAD];
    pl[0] = (unsigned char)(t->payer + 1);
    pl[1] = (unsigned char)(t->payee + 1);
    for (int b = 0; b < 7; b++)
        pl[2 + b] = (unsigned char)((uint64_t)t->amount >> (8 * b));
    int rc = ut_2pc_begin(s->nodes[0].c, txid, ids, t->n, pl, sizeof pl);
    if (rc == UT_ENOMEM)
        sim_fail(s->w);
    else if (rc != UT_OK)
        sim_violation(s->w, "begin", "tx %" PRIu64 ": %s (%s)", txid, ut_err_name(rc),
                      ut_2pc_errmsg(s->nodes[0].c));
    touch(s, txid);
}

/* ---- the scenario's table -------------------------------------------------- */

static bool coord_keep(const tpc_t *s, const ut_2pc_record_t *r, void *arg)
{
    (void)s;
    /* A finished transaction's records can go: arg[txid] = it ended. */
    return !((const bool *)arg)[r->txid];
}

static bool part_keep(const tpc_t *s, const ut_2pc_record_t *r, void *arg)
{
    (void)s;
    return r->txid >= *(const uint64_t *)arg; /* below: forgotten */
}

static bool tpc_node_crash(void *ctx, unsigned i)
{
    tpc_t *s = ctx;
    tpc_node_t *n = &s->nodes[i];
    tpc_disk_t *d = &n->disk;
    if (dbg_tx())
        fprintf(stderr, "%llu n%u CRASH\n", (unsigned long long)sim_now(s->w), i + 1);
    /* What survives: the durable prefix and some of the buffered tail. */
    size_t keep = d->durable + (size_t)sim_rng_below(sim_rng(s->w), d->n - d->durable + 1);
    bool lost = keep < d->believed;
    disk_cut(d, keep);
    d->durable = d->believed = d->n;
    if (i == 0) {
        bool *ended = calloc(s->n_tx + 1, sizeof *ended);
        if (!ended) {
            sim_fail(s->w);
        } else {
            for (size_t k = 0; k < d->n; k++)
                if (d->rec[k].txid <= s->n_tx)
                    ended[d->rec[k].txid] = d->rec[k].end;
            disk_filter(d, coord_keep, s, ended);
            free(ended);
        }
        ut_2pc_free(n->c);
        n->c = NULL;
    } else {
        disk_filter(d, part_keep, s, &n->forget);
        ut_2pc_participant_free(n->p);
        n->p = NULL;
    }
    n->n_due = 0;
    return lost;
}

static int tpc_node_start(void *ctx, unsigned i, bool restore, uint64_t local_ms)
{
    tpc_t *s = ctx;
    tpc_node_t *n = &s->nodes[i];
    int rc;
    if (!restore) {
        disk_cut(&n->disk, 0);
        n->forget = 1;
        n->max_seen = 0;
    }
    if (i == 0) {
        ut_2pc_config_t cfg;
        ut_2pc_config_init(&cfg, UT_2PC_CONFIG_VERSION);
        cfg.id = 1;
        cfg.presumption = s->pres;
        cfg.vote_timeout_ms = TPC_VOTE_TIMEOUT_MS;
        cfg.resend_ms = TPC_RESEND_MS;
        rc = ut_2pc_new(&n->c, &cfg);
        if (rc == UT_OK && restore) {
            rc = ut_2pc_restore(n->c, n->disk.rec, n->disk.n);
            if (rc != UT_OK)
                sim_violation(s->w, "restore", "n1 refused its own log: %s (%s)", ut_err_name(rc),
                              ut_2pc_errmsg(n->c));
        }
        if (n->c)
            ut_2pc_tick(n->c, local_ms);
    } else {
        ut_2pc_participant_config_t cfg;
        ut_2pc_participant_config_init(&cfg, UT_2PC_CONFIG_VERSION);
        cfg.id = i + 1;
        cfg.inquiry_timeout_ms = TPC_INQUIRY_MS;
        cfg.cooperative = s->coop;
        rc = ut_2pc_participant_new(&n->p, &cfg);
        if (rc == UT_OK && restore) {
            rc = ut_2pc_participant_restore(n->p, n->disk.rec, n->disk.n);
            if (rc != UT_OK)
                sim_violation(s->w, "restore", "n%u refused its own log: %s (%s)", i + 1,
                              ut_err_name(rc), ut_2pc_participant_errmsg(n->p));
        }
        if (n->p)
            ut_2pc_participant_tick(n->p, local_ms);
    }
    if (!is_up(n)) {
        sim_fail_msg(s->w, "n%u: cannot create its 2PC handle", i + 1);
        return -1;
    }
    n->local_ms = local_ms;
    n->next_begin = local_ms + TPC_BEGIN_GAP_MIN_MS;
    if (!s->quiet)
        sim_segment(s->w, i, i == 0 ? SIM_ROLE_LEADER : SIM_ROLE_FOLLOWER, 0);
    if (restore)
        s->touch_all = true;
    return 0;
}

static void tpc_tick(void *ctx, unsigned i, uint64_t local_ms)
{
    tpc_t *s = ctx;
    tpc_node_t *n = &s->nodes[i];
    n->local_ms = local_ms;
    if (i == 0) {
        int rc = ut_2pc_tick(n->c, local_ms);
        if (rc == UT_ENOMEM)
            sim_fail(s->w);
        else if (rc != UT_OK)
            sim_violation(s->w, "tick", "n1 tick: %s", ut_err_name(rc));
        if (!s->quiet && s->n_nodes > 1 && local_ms >= n->next_begin &&
            ut_2pc_count(n->c) < TPC_MAX_INFLIGHT) {
            begin_one(s);
            n->next_begin =
                local_ms + sim_rng_range(sim_rng(s->w), TPC_BEGIN_GAP_MIN_MS, TPC_BEGIN_GAP_MAX_MS);
        }
        return;
    }
    int rc = ut_2pc_participant_tick(n->p, local_ms);
    if (rc == UT_ENOMEM)
        sim_fail(s->w);
    else if (rc != UT_OK)
        sim_violation(s->w, "tick", "n%u tick: %s", i + 1, ut_err_name(rc));
    for (size_t k = 0; k < n->n_due;) {
        if (n->due[k].at > local_ms) {
            k++;
            continue;
        }
        tpc_due_t d = n->due[k];
        n->due[k] = n->due[--n->n_due];
        cast(s, i, d.txid, (ut_2pc_vote_t)d.vote);
    }
}

static void tpc_deliver(void *ctx, unsigned i, const ut_msg_t *m)
{
    tpc_t *s = ctx;
    tpc_node_t *n = &s->nodes[i];
    if (m->type < UT_MSG_2PC_PREPARE || m->type > UT_MSG_2PC_STATUS) {
        s->w->r->stats.msgs_rejected++;
        sim_violation(s->w, "message-validity", "n%u got a %s, which 2PC never sends", i + 1,
                      ut_msg_type_name(m->type));
        return;
    }
    touch(s, m->body.twopc.txid);
    tpc_txn_t *t = i > 0 ? txn(s, m->body.twopc.txid) : NULL;
    int k = t ? member_index(t, i) : -1;
    if (k >= 0)
        t->heard_at[k] = n->local_ms;
    if (dbg_tx() && m->body.twopc.txid == dbg_tx())
        fprintf(stderr, "%llu n%u recv %s from %llu code %u\n", (unsigned long long)sim_now(s->w),
                i + 1, ut_msg_type_name(m->type), (unsigned long long)m->from, m->body.twopc.code);
    int rc = i == 0 ? ut_2pc_step(n->c, m) : ut_2pc_participant_step(n->p, m);
    if (rc == UT_OK)
        return;
    if (rc == UT_ENOMEM) {
        sim_fail(s->w);
        return;
    }
    s->w->r->stats.msgs_rejected++;
    /* Refused and ignored: a stale message about a transaction this node
     * has finished or forgotten (UT_ENOTFOUND), or one that contradicts
     * what it knows (UT_ESTATE: e.g. a presumed-abort answer to the late
     * vote of a one-phase commit it already committed). A malformed or
     * misaddressed message (UT_EINVAL) is a bug of the sender. */
    if (rc == UT_EINVAL)
        sim_violation(s->w, "message-validity",
                      "n%u refused a %s (code %u) about tx %" PRIu64 " from n%" PRIu64 ": %s",
                      i + 1, ut_msg_type_name(m->type), (unsigned)m->body.twopc.code,
                      m->body.twopc.txid, m->from,
                      i == 0 ? ut_2pc_errmsg(n->c) : ut_2pc_participant_errmsg(n->p));
}

static void tpc_drain(void *ctx, unsigned i)
{
    drain(ctx, i);
}

static void tpc_request(void *ctx, unsigned i, const sim_cmsg_t *m)
{
    /* With --clients > 0 the world's key-value clients find no service. */
    tpc_t *s = ctx;
    sim_cmsg_t r = {.kind = SIM_CM_LOST, .client = m->client, .reqid = m->reqid};
    sim_reply(s->w, i, m->client, &r);
}

/* Crashing the coordinator right after it sent a decision, or a
 * participant right after it voted yes, finds a record that was not
 * durable before the message left. */
static bool tpc_crash_point(void *ctx, unsigned i, const ut_msg_t *m)
{
    tpc_t *s = ctx;
    if (i == 0 && (m->type == UT_MSG_2PC_COMMIT || m->type == UT_MSG_2PC_ABORT) &&
        s->first_decision) {
        s->first_decision = false;
        return sim_rng_below(sim_rng(s->w), 3) == 0;
    }
    return i > 0 && m->type == UT_MSG_2PC_VOTE && m->body.twopc.code == UT_2PC_VOTE_YES &&
           sim_rng_below(sim_rng(s->w), 20) == 0;
}

static bool tpc_target(void *ctx, unsigned *i)
{
    tpc_t *s = ctx;
    *i = 0;
    return s->nodes[0].c != NULL;
}

static int tpc_create(sim_world_t *w, void **out)
{
    if (w->o.nodes < 2) {
        sim_fail_msg(w, "the 2pc scenario needs at least 2 nodes (a coordinator and a "
                        "participant)");
        return -1;
    }
    tpc_t *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->w = w;
    s->n_nodes = w->o.nodes;
    /* Drawn from a stream of its own, so the world's streams stay as they
     * are: each seed runs one logging protocol. */
    uint64_t x = w->o.seed ^ 0x2bc2bc2bc2bc2bc2ull;
    uint64_t r = sim_splitmix64(&x);
    s->pres = (ut_2pc_presumption_t)(r % 3);
    s->coop = (r >> 8) & 1;
    s->lo = 1;
    sim_mark(w, SIM_MARK_LEADER, 0, 0, "%s%s", pres_name(s->pres),
             s->coop ? ", cooperative termination" : "");
    *out = s;
    return 0;
}

static void tpc_destroy(void *ctx)
{
    tpc_t *s = ctx;
    if (!s)
        return;
    for (unsigned i = 0; i < SIM_MAX_NODES; i++) {
        ut_2pc_free(s->nodes[i].c);
        ut_2pc_participant_free(s->nodes[i].p);
        disk_cut(&s->nodes[i].disk, 0);
        free(s->nodes[i].disk.rec);
        free(s->nodes[i].due);
    }
    for (size_t k = s->q_head; k < s->q_n; k++)
        free(s->q[k].buf);
    free(s->q);
    free(s->tx);
    free(s);
}

/* The quiet period: restart what is down, then deliver every message in
 * order, with the nodes' clocks moving SIM_TICK_MS per round, until every
 * transaction has settled or TPC_QUIET_MS have passed. Returns the ms it
 * took, or UINT64_MAX if it did not settle. */
static uint64_t quiet_period(tpc_t *s)
{
    s->quiet = true;
    for (unsigned i = 0; i < s->n_nodes; i++) {
        if (!is_up(&s->nodes[i])) {
            if (tpc_node_start(s, i, true, s->nodes[i].local_ms + 1) != 0)
                return UINT64_MAX;
            drain(s, i);
        }
    }
    for (uint64_t ms = 0; ms <= TPC_QUIET_MS; ms += SIM_TICK_MS) {
        if (s->w->r->violation.found || sim_failed(s->w))
            return UINT64_MAX;
        bool votes = false;
        for (unsigned i = 0; i < s->n_nodes; i++)
            votes |= s->nodes[i].n_due > 0;
        if (s->lo > s->n_tx && s->q_head == s->q_n && !votes)
            return ms;
        for (unsigned i = 0; i < s->n_nodes; i++) {
            tpc_tick(s, i, s->nodes[i].local_ms + SIM_TICK_MS);
            drain(s, i);
        }
        for (size_t budget = 100000; s->q_head < s->q_n && budget > 0; budget--) {
            tpc_frame_t f = s->q[s->q_head++];
            ut_msg_t m;
            if (ut_msg_decode(&m, f.buf, f.len, NULL, 0, NULL) == UT_OK) {
                s->w->r->stats.msgs_delivered++;
                tpc_deliver(s, f.to, &m);
                drain(s, f.to);
            }
            free(f.buf);
        }
    }
    return UINT64_MAX;
}

static void describe_open(tpc_t *s, uint64_t txid, char *buf, size_t cap)
{
    tpc_txn_t *t = &s->tx[txid - 1];
    ut_txn_state_t st;
    size_t off = 0;
    if (ut_2pc_state(s->nodes[0].c, txid, &st) == UT_OK)
        off += (size_t)snprintf(buf + off, cap - off, " the coordinator holds it (%s);",
                                ut_txn_state_name(st));
    for (unsigned k = 0; k < t->n && off < cap; k++) {
        tpc_node_t *n = &s->nodes[t->member[k]];
        if (ut_2pc_participant_state(n->p, txid, &st) == UT_OK)
            off += (size_t)snprintf(buf + off, cap - off, " n%u %s;", t->member[k] + 1,
                                    ut_txn_state_name(st));
    }
}

static void tpc_finish(void *ctx, sim_result_t *r)
{
    tpc_t *s = ctx;
    if (!r->violation.found && !sim_failed(s->w)) {
        uint64_t took = quiet_period(s);
        if (took == UINT64_MAX && !r->violation.found && !sim_failed(s->w)) {
            char open[200] = "";
            if (s->lo <= s->n_tx)
                describe_open(s, s->lo, open, sizeof open);
            sim_violation(s->w, "termination",
                          "%u s without faults after the run, tx %" PRIu64 " has not settled:%s",
                          TPC_QUIET_MS / 1000, s->lo, open);
        } else if (took != UINT64_MAX) {
            sim_mark(s->w, SIM_MARK_HEAL, 255, took,
                     "quiet period: all %zu transactions settled in %" PRIu64 " ms", s->n_tx, took);
        }
        /* Money is conserved: every transfer applied at both sides or at
         * neither, once all have settled. */
        int64_t total = 0;
        for (size_t k = 0; k < s->n_tx && !r->violation.found; k++) {
            const tpc_txn_t *t = &s->tx[k];
            if (t->payer < 0)
                continue;
            bool out = (t->orc.committed >> t->payer) & 1, in = (t->orc.committed >> t->payee) & 1;
            total += (in ? t->amount : 0) - (out ? t->amount : 0);
            if (out != in && took != UINT64_MAX)
                sim_violation(s->w, "money",
                              "tx %zu: the transfer from n%d to n%d is applied at %s only", k + 1,
                              t->payer + 1, t->payee + 1, out ? "the payer" : "the payee");
        }
        if (total != 0 && took != UINT64_MAX && !r->violation.found)
            sim_violation(s->w, "money",
                          "the accounts hold %" PRId64 " more than they started with", total);
    }
    r->stats.ops_total = s->n_tx;
    r->stats.ops_ok = s->committed;
    r->stats.ops_failed = s->aborted;
    r->stats.ops_unknown = s->n_tx - s->committed - s->aborted;
    r->stats.scen[TST_COMMITTED] = s->committed;
    r->stats.scen[TST_ABORTED] = s->aborted;
}

static void tpc_defaults(sim_options_t *o)
{
    o->clients = 0;
}

static const sim_stat_def_t tpc_stats[] = {
    [TST_OUTCOMES] = {"outcomes_applied"}, /* outcomes applied by participants */
    [TST_COMMITTED] = {"committed"},       /* transactions committed */
    [TST_ABORTED] = {"aborted"},           /* transactions aborted */
};

static const sim_stat_row_t tpc_rows[] = {
    {"outcomes", "{committed} committed, {aborted} aborted, {outcomes_applied} outcomes applied "
                 "by participants"},
};

const sim_scenario_t sim_scenario_twopc = {
    .name = "2pc",
    .help = "  Node 1 coordinates (ut_2pc_t), nodes 2..N are participants holding accounts;\n"
            "  the coordinator starts transfers over 1-4 participants with yes, no and\n"
            "  read-only votes. After every event: atomicity, a decision never changes, no\n"
            "  commit without every yes, the coordinator never forgets what a participant\n"
            "  is in doubt about, money is conserved; at the end, after a quiet period with\n"
            "  every node up, no participant is left in doubt.\n",
    .stats = tpc_stats,
    .n_stats = sizeof tpc_stats / sizeof tpc_stats[0],
    .rows = tpc_rows,
    .n_rows = sizeof tpc_rows / sizeof tpc_rows[0],
    .sweep_text = "{committed} committed",
    .seed_text = "{committed} committed, {aborted} aborted",
    .check_history = sim_check_in_run,
    .history_property = "termination after the quiet period (checked in the run)",
    .summary = "libunitypes' two-phase commit (ut_2pc_t, ut_2pc_participant_t) moving money "
               "between accounts",
    .title = "two-phase commit",
    .invariants = "atomicity, decision-stable, commit-needs-yes, coordinator-memory,\n"
                  "               coordinator-outcome, money; termination after a quiet period",
    .crash_point_text = "right after a decision or a yes vote",
    .defaults = tpc_defaults,
    .create = tpc_create,
    .destroy = tpc_destroy,
    .node_start = tpc_node_start,
    .node_crash = tpc_node_crash,
    .tick = tpc_tick,
    .deliver = tpc_deliver,
    .drain = tpc_drain,
    .request = tpc_request,
    .crash_point = tpc_crash_point,
    .target = tpc_target,
    .finish = tpc_finish,
};
