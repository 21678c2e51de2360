/* SPDX-License-Identifier: MIT */
/* The 2pc scenario: libunitypes' two-phase commit (ut_2pc_t,
 * ut_2pc_participant_t) moving money between accounts under the world's
 * faults. Nodes 1..K keep the coordinator (--coordinators K; by default 3
 * with 5 nodes or more, else 1), nodes K+1..N are participants, each
 * holding one account.
 *
 * With K = 1, node 1 is the coordinator and persists its records to its
 * own log. With K >= 2 the coordinator's decision log is a Raft group
 * (DESIGN §5, docs/twopc.md "The Raft-backed coordinator"): nodes 1..K run
 * ut_consensus_t on the world's disks, and every committed entry is applied
 * to each replica's table of the last record of every transaction (the
 * decisions ut_consensus_t applies). The leader, once the no-op of its term
 * is committed and applied (Raft §5.4.2, §8: it then holds every committed
 * entry), creates the coordinator (id 1: the service's address, not a
 * machine's) and restores it from its table; every record of a coordinator
 * ready is proposed to the log, and the ready's messages and events are
 * held until the last forced record proposed so far is committed (what
 * "forced" means here). A presumed answer (a vote or inquiry about a
 * transaction the coordinator does not hold) waits for a barrier entry
 * proposed after it: committed, it proves the coordinator was still the
 * leader after the question arrived, so no newer leader can have decided
 * otherwise (the reason Raft §8 confirms leadership before a read). When
 * its node stops leading that term the coordinator is dropped with what it
 * held. Participants address the coordinator as node 1: the scenario sends
 * their messages to the replica they last heard a coordinator message from
 * (another one after TPC_HINT_MS without a word); a replica that does not
 * coordinate drops them.
 *
 * Workload (clients = 0: the scenario drives it from tick): the
 * coordinator begins a transaction every 20-60 ms of its clock while fewer
 * than TPC_MAX_INFLIGHT are in flight, over 1-4 random participants. With
 * two or more, the first pays the second 1..100 (both vote yes, or no 1 in
 * 10); the others vote yes, read-only or no. With one, it is a one-phase
 * commit. 1 vote in 20 is cast late (up to 800 ms, past the 300 ms vote
 * deadline). Transaction ids come from the scenario's own counter, shared
 * by every leader and surviving every crash: a shortcut a real Raft-backed
 * coordinator cannot take (it must draw ids from replicated state, e.g.
 * its term and a sequence, or the log index of a begin record; see
 * docs/twopc.md "As the simulator runs it"); the votes are the
 * application's, drawn at begin, so a participant asked again after a
 * crash votes the same.
 *
 * Persistence contract (docs/twopc.md): each participant's (and with K = 1
 * the coordinator's) records go to a log; a ready with a forced record is
 * made durable before its messages leave (under the lying-disk fault the
 * disk sometimes only pretends); at a crash the log keeps what was made
 * durable plus a random part of the unforced tail (a buffered log may have
 * written some of it). The logging protocol (presumed abort, presumed
 * commit or textbook) and cooperative termination are drawn from the seed
 * and shown as the timeline's first mark.
 *
 * Checked after every event, for every transaction the event touched
 * (every open one after a restart), by the checks shared with the unit
 * tests (tests/twopc_oracle.h): atomicity, decision-stable,
 * commit-needs-yes, coordinator-memory, coordinator-outcome, and no
 * transfer half applied; and, after every event, money conserved
 * (check_money: the participants' accounts as their applications applied
 * the outcomes they were told, plus the money in flight of transfers
 * decided COMMIT, equal the initial total). "The coordinator" is, with K >= 2, the one on the
 * leader of the highest term whose coordinator is running, together with
 * that replica's table (what it would answer); with a Raft group also
 * Raft's own invariants (tests/raft_check.h: election safety, leader
 * completeness, log matching, state machine safety). At the end of the run
 * (finish): the quiet period, in which every node that is down restarts
 * from its log and the nodes' messages are delivered in order without
 * faults (the world's own traffic still in flight is dropped) for up to
 * TPC_QUIET_MS; then every transaction must have settled (termination: no
 * participant prepared or undecided, the coordinator holds nothing) and
 * the money is conserved. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../scenario.h"
/* Raft's safety checker, shared with tests/raft_cluster.c and utsim's raft
 * scenario (header-only), run on the coordinators' Raft group. */
#include "../../../tests/raft_check.h"
/* The Raft host on the world's disk, shared with the raft scenario. */
#include "../raft_host.h"

/* The scenario's figures (sim_stat). */
enum {
    TST_OUTCOMES,
    TST_COMMITTED,
    TST_ABORTED,
    TST_TAKEOVERS, /* coordinators started on a Raft leader */
    TST_RESTORED,  /* transactions they restored from the log */
    TST_LEADERS,   /* Raft leaders elected */
    TST_CHANGES,   /* of which on another node than the last */
    TST_MAX_TERM,
    TST_LOG_COMMIT, /* highest index committed in the decision log */
    TST_BARRIERS    /* presumed answers held behind a barrier entry */
};
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
/* The coordinator's address, whichever node runs it. */
#define TPC_COORD_ID 1u
#define TPC_MAX_COORDS 7u
#define TPC_ELECTION_MS 300u
#define TPC_HEARTBEAT_MS 50u
/* A participant that has not heard from the replica it sends to for this
 * long tries the next one. */
#define TPC_HINT_MS 1000u
/* A decision-log entry: 'R' a coordinator record (txid u64, state, end,
 * forced, n, n node ids u64), 'B' a barrier (nothing to apply). */
#define TPC_ENT_RECORD 'R'
#define TPC_ENT_BARRIER 'B'
#define TPC_ENT_HDR 13u
#define TPC_ENT_MAX (TPC_ENT_HDR + 8u * TPC_MAX_MEMBERS)

/* --coordinators (0: by the node count). One run per process reads it. */
static unsigned tpc_coords_opt;

typedef struct tpc_txn {
    tpc_oracle_t orc;
    uint8_t n;                         /* members */
    uint8_t member[TPC_MAX_MEMBERS];   /* node indexes */
    uint8_t vote[TPC_MAX_MEMBERS];     /* the application's votes */
    uint16_t late_ms[TPC_MAX_MEMBERS]; /* 0: vote at once */
    int8_t payer, payee;               /* node indexes, -1 = none */
    int64_t amount;
    /* What the payer's [0] and payee's [1] applications were told
     * (TPC_SIDE_*), and the transfer's money in flight now (flight()). */
    uint8_t side[2];
    int64_t flight;
    bool marked;                          /* its decision is on the timeline */
    uint64_t decided_at[TPC_MAX_MEMBERS]; /* member's local ms + 1 when seen decided, 0 = not */
    uint64_t heard_at[TPC_MAX_MEMBERS];   /* member's local ms of its last message about it */
} tpc_txn_t;

/* A side of a transfer at its participant's application: not told an
 * outcome yet, applied (told COMMITTED, its account changed once), or told
 * ABORTED first (nothing changed). The application's state with its
 * account, durable across its crashes (as its votes are). */
enum { TPC_SIDE_PENDING = 0, TPC_SIDE_APPLIED, TPC_SIDE_ABORTED };

typedef struct tpc_disk {
    ut_2pc_record_t *rec; /* rec[k].nodes owned */
    size_t n, cap;
    size_t durable;  /* a crash keeps at least this prefix */
    size_t believed; /* what the node was told is durable (lying disk) */
} tpc_disk_t;

/* A replica's table: the last committed record of a transaction. */
typedef struct tpc_logrec {
    bool present, end, forced;
    uint8_t state, n;
    uint64_t nodes[TPC_MAX_MEMBERS];
} tpc_logrec_t;

/* A coordinator's message (encoded) or event, held until the decision log
 * has committed index `needed`. */
typedef struct tpc_held {
    uint64_t needed;
    bool is_event;
    ut_2pc_event_kind_t kind;
    ut_txn_state_t state;
    uint64_t txid;
    unsigned char *buf;
    size_t len;
} tpc_held_t;

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
    unsigned hint;             /* participant: the replica it sends the coordinator's mail to */
    uint64_t hint_at;          /* participant: local ms it last heard from it (or moved on) */
    /* a replica of the decision log (K >= 2) */
    ut_consensus_t *h;
    uint64_t applied;
    tpc_logrec_t *tab; /* tab[txid] */
    size_t cap_tab;
    uint64_t lead_term; /* the term c runs in, 0 = no coordinator here */
    uint64_t forced_at; /* index of the last forced record c proposed */
    bool want_barrier;  /* c is answering from its presumption */
    tpc_held_t *held;   /* c's messages and events, waiting for a commit */
    size_t held_head, n_held, cap_held;
    uint8_t role;
    uint64_t role_term;
} tpc_node_t;

typedef struct tpc_frame {
    unsigned to;
    bool twopc;
    size_t len;
    unsigned char *buf;
} tpc_frame_t;

typedef struct tpc {
    sim_world_t *w;
    unsigned n_nodes;
    unsigned k; /* coordinator nodes: 0..k-1 */
    bool raft;  /* k >= 2: the decision log is a Raft group */
    uint64_t ids[SIM_MAX_NODES];
    raft_check_t ck;
    uint64_t last_leader;
    ut_msg_decoder_t *dec; /* the quiet period's */
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
    /* money: each participant's account as its application applied the
     * outcomes it was told, and the sum of every transfer's flight */
    int64_t balance[SIM_MAX_NODES];
    int64_t in_flight;
    /* the quiet period at the end */
    bool quiet;
    tpc_frame_t *q;
    size_t q_head, q_n, q_cap;
    size_t q_2pc; /* of which 2PC messages (Raft's heartbeats never stop) */
} tpc_t;

static const char *pres_name(ut_2pc_presumption_t p)
{
    return p == UT_2PC_PRESUME_ABORT    ? "presumed abort"
           : p == UT_2PC_PRESUME_COMMIT ? "presumed commit"
                                        : "textbook";
}

static bool is_up(const tpc_node_t *n)
{
    return n->c != NULL || n->p != NULL || n->h != NULL;
}

static bool is_coord(const tpc_t *s, unsigned i)
{
    return i < s->k;
}

/* The crash budget (scenario.h, voter): with the coordinator's log in a Raft
 * group, nodes 1..K are its voters, and the world keeps a majority of them
 * up as well as a majority of all nodes, so that crashes test the group's
 * recovery instead of stopping every coordinator for good. Without Raft, no
 * node is a voter of anything. */
static bool tpc_voter(void *ctx, unsigned i)
{
    const tpc_t *s = ctx;
    return s->raft && is_coord(s, i);
}

static uint64_t replica_term(tpc_t *s, unsigned i);

/* The coordinator that would answer now: node 1's, or with a Raft group
 * the one on the leader of the highest term, unless a majority of the
 * replicas has moved to a later term (then it can commit nothing, not even
 * the barrier its answers wait for, and nobody answers). NULL: none. */
static tpc_node_t *coordinator(tpc_t *s)
{
    if (!s->raft)
        return s->nodes[0].c ? &s->nodes[0] : NULL;
    tpc_node_t *best = NULL;
    for (unsigned i = 0; i < s->k; i++)
        if (s->nodes[i].c && (!best || s->nodes[i].lead_term > best->lead_term))
            best = &s->nodes[i];
    if (!best)
        return NULL;
    unsigned later = 0;
    for (unsigned i = 0; i < s->k; i++)
        later += replica_term(s, i) > best->lead_term;
    return later > s->k / 2 ? NULL : best;
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

static bool is_2pc(const ut_msg_t *m)
{
    return m->type >= UT_MSG_2PC_PREPARE && m->type <= UT_MSG_2PC_STATUS;
}

/* With a Raft group, the replica participant i sends the coordinator's
 * mail to: the one it last heard a coordinator message from, the next one
 * after TPC_HINT_MS of silence. */
static unsigned route(tpc_t *s, unsigned i)
{
    tpc_node_t *n = &s->nodes[i];
    if (n->local_ms >= n->hint_at + TPC_HINT_MS) {
        n->hint = (n->hint + 1) % s->k;
        n->hint_at = n->local_ms;
    }
    return n->hint;
}

static void send(tpc_t *s, unsigned i, const ut_msg_t *m)
{
    ut_msg_t c;
    if (s->raft && is_2pc(m)) {
        /* The coordinator's address is TPC_COORD_ID; on the wire a
         * message names the machines, and the receiver's side of the
         * transport (tpc_deliver) puts the address back. */
        c = *m;
        if (is_coord(s, i))
            c.from = i + 1;
        else if (c.to == TPC_COORD_ID)
            c.to = route(s, i) + 1;
        m = &c;
    }
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
    f->twopc = is_2pc(m);
    s->q_2pc += f->twopc;
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

/* A transfer's money in flight: once it is decided COMMIT (the oracle's
 * decision: the first outcome anyone showed, a Raft-backed coordinator's
 * only once the log has committed it), the payee's credit while the
 * payee's application has not applied it, minus the payer's debit while
 * the payer's has not; a side told ABORTED is not in flight (its half of
 * the money will never move). Before the decision, or decided ABORT: 0. */
static int64_t flight(const tpc_txn_t *t)
{
    if (t->payer < 0 || t->orc.decision != UT_TXN_COMMITTED)
        return 0;
    return (t->side[1] == TPC_SIDE_PENDING ? t->amount : 0) -
           (t->side[0] == TPC_SIDE_PENDING ? t->amount : 0);
}

/* Participant i's application is told outcome st of txid (an OUTCOME
 * event): it applies a COMMITTED transfer's half to its account once (it
 * knows which transactions it applied: a participant that forgot an
 * unforced outcome in a crash may be told again), and records an ABORTED
 * one as told. */
static void apply_outcome(tpc_t *s, unsigned i, uint64_t txid, ut_txn_state_t st)
{
    tpc_txn_t *t = txn(s, txid);
    if (!t || t->payer < 0 || (t->payer != (int)i && t->payee != (int)i))
        return;
    int side = t->payee == (int)i;
#ifdef UTSIM_FAULT_2PC_APPLY_TWICE
    /* Deliberately broken application: it applies every COMMITTED outcome
     * it is told, including one it had applied before a crash. */
    if (st == UT_TXN_COMMITTED)
        t->side[side] = TPC_SIDE_PENDING;
#endif
    if (st == UT_TXN_COMMITTED && t->side[side] != TPC_SIDE_APPLIED) {
        t->side[side] = TPC_SIDE_APPLIED;
        s->balance[i] += side ? t->amount : -t->amount;
    } else if (st == UT_TXN_ABORTED && t->side[side] == TPC_SIDE_PENDING) {
        t->side[side] = TPC_SIDE_ABORTED;
    }
    touch(s, txid);
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
    /* What the coordinator would answer: it holds the transaction, or
     * (Raft group) its replica's committed table does, which a coordinator
     * restored there would hold; else its presumption. Nobody answers while
     * no coordinator runs. */
    tpc_node_t *c = coordinator(s);
    ut_txn_state_t cs = UT_TXN_INIT;
    bool have = false;
    if (c) {
        have = ut_2pc_state(c->c, txid, &cs) == UT_OK;
        if (s->raft && txid < c->cap_tab && c->tab[txid].present && !c->tab[txid].end) {
            have = true;
            cs = (ut_txn_state_t)c->tab[txid].state;
        } else if (s->raft && cs == UT_TXN_COMMITTED) {
            /* Its commit point is the log's commit of the record: until
             * then a new leader may abort it, and nothing has acted on it
             * (an abort, logged or not, is final: no commit record will
             * be written for it). */
            cs = UT_TXN_INIT;
        }
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
        const char *how = c && !have && in_doubt ? " (presumed)" : "";
        sim_mark(s->w, SIM_MARK_LEADER, at, txid, "tx %" PRIu64 " %s at n%u%s", txid,
                 commit ? "commits" : "aborts", at + 1, how);
    }
    int64_t f = flight(t);
    s->in_flight += f - t->flight;
    t->flight = f;
}

/* Money is conserved at every step: the participants' accounts as their
 * applications applied them, plus every transfer's money in flight
 * (flight()), equal the accounts' initial total. It fails when a side
 * applies a transfer that is not decided COMMIT, or a side is told ABORTED
 * of one that is (the other side applied it, or will). */
static void check_money(tpc_t *s)
{
    int64_t sum = s->in_flight, want = 0;
    for (unsigned i = s->k; i < s->n_nodes; i++) {
        sum += s->balance[i];
        want += TPC_BALANCE;
    }
    s->w->r->stats.invariant_checks++;
    if (sum != want)
        sim_violation(s->w, "money",
                      "the accounts hold %" PRId64 " and %" PRId64
                      " is in flight of transfers decided COMMIT: %" PRId64 " from the %" PRId64
                      " they started with",
                      sum - s->in_flight, s->in_flight, sum - want, want);
}

/* Settled: the coordinator holds nothing of it and every member is up and
 * has decided or forgotten it. */
static bool settled(tpc_t *s, uint64_t txid)
{
    tpc_txn_t *t = &s->tx[txid - 1];
    ut_txn_state_t st;
    tpc_node_t *c = coordinator(s);
    if (!c || ut_2pc_state(c->c, txid, &st) == UT_OK)
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
    check_money(s);
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

/* A coordinator's event, acted on once its records are durable. */
static void coord_event(tpc_t *s, ut_2pc_event_kind_t kind, uint64_t txid, ut_txn_state_t st)
{
    touch(s, txid);
    if (kind == UT_2PC_EVENT_DONE && txn(s, txid))
        report(s, txid, tpc_oracle_done(&s->tx[txid - 1].orc, st));
    else if (kind == UT_2PC_EVENT_HEURISTIC)
        sim_violation(s->w, "heuristic",
                      "tx %" PRIu64 ": a heuristic outcome, which no application here forces",
                      txid);
}

/* A participant, or the coordinator of a single node, with its own log. */
static void log_drain(tpc_t *s, unsigned i)
{
    tpc_node_t *n = &s->nodes[i];
    for (int guard = 0; guard < 1000 && !sim_failed(s->w) && is_up(n); guard++) {
        ut_2pc_ready_t rd;
        int rc = is_coord(s, i) ? ut_2pc_ready(n->c, &rd) : ut_2pc_participant_ready(n->p, &rd);
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
            if (e->kind == UT_2PC_EVENT_PREPARE && !is_coord(s, i)) {
                ut_2pc_vote_t v = on_prepare(s, i, e);
                if (v != UT_2PC_VOTE_NONE && n_votes == 16)
                    sim_fail_msg(s->w, "n%u: more than 16 PREPAREs in one ready", i + 1);
                else if (v != UT_2PC_VOTE_NONE) {
                    vote_tx[n_votes] = e->txid;
                    vote_v[n_votes++] = v;
                }
            } else if (e->kind == UT_2PC_EVENT_OUTCOME) {
                (*sim_stat(s->w, TST_OUTCOMES))++;
                if (!is_coord(s, i))
                    apply_outcome(s, i, e->txid, e->state);
            } else if (e->kind == UT_2PC_EVENT_DONE || e->kind == UT_2PC_EVENT_HEURISTIC) {
                coord_event(s, e->kind, e->txid, e->state);
            }
        }
        rc = is_coord(s, i) ? ut_2pc_advance(n->c, &rd) : ut_2pc_participant_advance(n->p, &rd);
        if (rc != UT_OK) {
            sim_violation(s->w, "ready-contract", "n%u advance: %s", i + 1, ut_err_name(rc));
            return;
        }
        for (size_t k = 0; k < n_votes; k++)
            cast(s, i, vote_tx[k], vote_v[k]);
    }
}

/* ---- the decision log in a Raft group (K >= 2) ------------------------------ */

static void put64(unsigned char *p, uint64_t v)
{
    for (int b = 0; b < 8; b++)
        p[b] = (unsigned char)(v >> (8 * b));
}

static bool checked(tpc_t *s, int rc)
{
    return raft_host_checked(s->w, &s->ck, rc);
}

static bool log_term(const void *h, uint64_t index, uint64_t *term)
{
    return ut_consensus_entry_term(h, index, term) == UT_OK;
}

/* Replica i's term: its handle's, or what its disk will restart it in. */
static uint64_t replica_term(tpc_t *s, unsigned i)
{
    return s->nodes[i].h ? ut_consensus_term(s->nodes[i].h) : raft_host_hard_state(s->w, i).term;
}

static tpc_logrec_t *tab_slot(tpc_t *s, tpc_node_t *n, uint64_t txid)
{
    if (txid >= n->cap_tab) {
        size_t old = n->cap_tab, cap = old ? old : 64;
        while (cap <= txid)
            cap *= 2;
        tpc_logrec_t *t = realloc(n->tab, cap * sizeof *t);
        if (!t) {
            sim_fail(s->w);
            return NULL;
        }
        memset(t + old, 0, (cap - old) * sizeof *t);
        n->tab = t;
        n->cap_tab = cap;
    }
    return &n->tab[txid];
}

/* A committed entry: the replica's table takes the record (the last record
 * of a transaction is what it reached, as in ut_2pc_restore). */
static void raft_apply(tpc_t *s, unsigned i, const ut_entry_t *e)
{
    tpc_node_t *n = &s->nodes[i];
    if (e->index != n->applied + 1) {
        sim_violation(s->w, "apply-order", "n%u applies index %" PRIu64 " after %" PRIu64, i + 1,
                      e->index, n->applied);
        return;
    }
    n->applied = e->index;
    /* State Machine Safety (§5.4.3). */
    if (!checked(
            s, raft_check_applied(&s->ck, i + 1, e->index, e->term,
                                  raft_check_hash(0, e->term, e->index, e->type, e->data, e->len))))
        return;
    if (e->type != UT_ENTRY_NORMAL)
        return;
    const unsigned char *d = e->data;
    if (e->len == 1 && d[0] == TPC_ENT_BARRIER)
        return;
    if (e->len < TPC_ENT_HDR || d[0] != TPC_ENT_RECORD || d[12] > TPC_MAX_MEMBERS ||
        e->len != TPC_ENT_HDR + 8u * d[12] || d[9] > UT_TXN_TIMEOUT) {
        sim_violation(s->w, "decision-log", "n%u applied a malformed entry at %" PRIu64, i + 1,
                      e->index);
        return;
    }
    uint64_t txid = sim_get_u64(d + 1);
    tpc_logrec_t *r = tab_slot(s, n, txid);
    if (!r)
        return;
    r->present = true;
    r->state = d[9];
    r->end = d[10] != 0;
    r->forced = d[11] != 0;
    r->n = d[12];
    for (unsigned k = 0; k < r->n; k++)
        r->nodes[k] = sim_get_u64(d + TPC_ENT_HDR + 8 * k);
    touch(s, txid);
}

static void raft_observe(tpc_t *s, unsigned i)
{
    tpc_node_t *n = &s->nodes[i];
    uint64_t term = ut_consensus_term(n->h), commit = ut_consensus_commit_index(n->h);
    ut_consensus_state_t st = ut_consensus_state(n->h);
    if (term > *sim_stat(s->w, TST_MAX_TERM))
        *sim_stat(s->w, TST_MAX_TERM) = term;
    if (commit > *sim_stat(s->w, TST_LOG_COMMIT))
        *sim_stat(s->w, TST_LOG_COMMIT) = commit;
    if (!checked(s, raft_check_commit(&s->ck, i + 1, commit, log_term, n->h)))
        return;
    if (st == UT_CONSENSUS_LEADER) {
        bool elected = false;
        /* Election Safety (§5.2), Leader Completeness (§5.4). */
        if (!checked(s, raft_check_leader(&s->ck, i + 1, term, log_term, n->h, &elected)))
            return;
        if (elected) {
            (*sim_stat(s->w, TST_LEADERS))++;
            if (s->last_leader && s->last_leader != i + 1)
                (*sim_stat(s->w, TST_CHANGES))++;
            s->last_leader = i + 1;
            if (!s->quiet)
                sim_hint(s->w, i, SIM_HINT_LEADER);
        }
    }
    if ((uint8_t)st != n->role || term != n->role_term) {
        n->role = (uint8_t)st;
        n->role_term = term;
        if (!s->quiet)
            sim_segment(s->w, i, (uint8_t)st, term);
    }
}

static void held_clear(tpc_node_t *n)
{
    for (size_t k = n->held_head; k < n->n_held; k++)
        free(n->held[k].buf);
    n->held_head = n->n_held = 0;
}

/* The coordinator on replica i stops: its node no longer leads the term it
 * started in. What it held never happened. */
static void coord_stop(tpc_t *s, unsigned i)
{
    tpc_node_t *n = &s->nodes[i];
    if (!n->c)
        return;
    if (dbg_tx())
        fprintf(stderr, "%llu n%u coordinator stops (term %llu), %zu held\n",
                (unsigned long long)sim_now(s->w), i + 1, (unsigned long long)n->lead_term,
                n->n_held - n->held_head);
    ut_2pc_free(n->c);
    n->c = NULL;
    n->lead_term = 0;
    n->forced_at = 0;
    n->want_barrier = false;
    held_clear(n);
    s->touch_all = true;
}

/* Replica i leads and has applied an entry of its own term, so its table
 * holds every committed record (§5.4.2): a coordinator starts there,
 * restored from the table. */
static void coord_start(tpc_t *s, unsigned i)
{
    tpc_node_t *n = &s->nodes[i];
    size_t live = 0;
    for (size_t x = 0; x < n->cap_tab; x++)
        live += n->tab[x].present && !n->tab[x].end;
    ut_2pc_record_t *rec = live ? calloc(live, sizeof *rec) : NULL;
    if (live && !rec) {
        sim_fail(s->w);
        return;
    }
    size_t k = 0;
    for (size_t x = 0; x < n->cap_tab; x++) {
        const tpc_logrec_t *r = &n->tab[x];
        if (!r->present || r->end)
            continue;
        rec[k++] = (ut_2pc_record_t){.txid = x,
                                     .state = (ut_txn_state_t)r->state,
                                     .forced = r->forced,
                                     .nodes = r->nodes,
                                     .n_nodes = r->n};
    }
    ut_2pc_config_t cfg;
    ut_2pc_config_init(&cfg, UT_2PC_CONFIG_VERSION);
    cfg.id = TPC_COORD_ID;
    cfg.presumption = s->pres;
    cfg.vote_timeout_ms = TPC_VOTE_TIMEOUT_MS;
    cfg.resend_ms = TPC_RESEND_MS;
    int rc = ut_2pc_new(&n->c, &cfg);
    if (rc == UT_OK) {
        rc = ut_2pc_restore(n->c, rec, live);
        if (rc != UT_OK)
            sim_violation(s->w, "restore", "n%u refused the decision log's records: %s (%s)", i + 1,
                          ut_err_name(rc), ut_2pc_errmsg(n->c));
        ut_2pc_tick(n->c, n->local_ms);
    }
    free(rec);
    if (rc == UT_ENOMEM || !n->c) {
        sim_fail(s->w);
        return;
    }
    n->lead_term = ut_consensus_term(n->h);
    n->forced_at = 0;
    n->want_barrier = false;
    n->next_begin = n->local_ms + TPC_BEGIN_GAP_MIN_MS;
    (*sim_stat(s->w, TST_TAKEOVERS))++;
    *sim_stat(s->w, TST_RESTORED) += ut_2pc_count(n->c);
    s->touch_all = true;
    sim_mark(s->w, SIM_MARK_LEADER, i, n->lead_term, "n%u coordinates (t%" PRIu64 "), %zu restored",
             i + 1, n->lead_term, ut_2pc_count(n->c));
}

/* Stop or start replica i's coordinator as its Raft role says. */
static void coord_follow(tpc_t *s, unsigned i)
{
    tpc_node_t *n = &s->nodes[i];
    bool leads = ut_consensus_state(n->h) == UT_CONSENSUS_LEADER;
    uint64_t term = ut_consensus_term(n->h), t = 0;
    if (n->c && (!leads || term != n->lead_term))
        coord_stop(s, i);
    if (!n->c && leads && n->applied == ut_consensus_commit_index(n->h) &&
        ut_consensus_entry_term(n->h, n->applied, &t) == UT_OK && t == term)
        coord_start(s, i);
}

static int hold(tpc_t *s, tpc_node_t *n, const tpc_held_t *h)
{
    if (n->held_head > 0 && n->n_held == n->cap_held) {
        memmove(n->held, n->held + n->held_head, (n->n_held - n->held_head) * sizeof *n->held);
        n->n_held -= n->held_head;
        n->held_head = 0;
    }
    if (sim_grow((void **)&n->held, &n->cap_held, n->n_held + 1, sizeof *n->held)) {
        sim_fail(s->w);
        return -1;
    }
    n->held[n->n_held++] = *h;
    return 0;
}

/* Propose one decision-log entry; 0, or -1 (the node no longer leads: its
 * coordinator stops). */
static int propose(tpc_t *s, unsigned i, const unsigned char *b, size_t len, uint64_t *index)
{
    tpc_node_t *n = &s->nodes[i];
    int rc = ut_consensus_propose(n->h, b, len, index);
    if (rc == UT_OK)
        return 0;
    if (rc == UT_ENOMEM)
        sim_fail(s->w);
    else
        coord_stop(s, i);
    return -1;
}

/* Replica i's coordinator readies: records to the log, messages and events
 * held behind the last forced record (and a barrier for presumed answers).
 * Returns whether there was any. */
static bool coord_ready(tpc_t *s, unsigned i)
{
    tpc_node_t *n = &s->nodes[i];
    bool any = false;
    for (int guard = 0; guard < 1000 && n->c && !sim_failed(s->w); guard++) {
        ut_2pc_ready_t rd;
        int rc = ut_2pc_ready(n->c, &rd);
        if (rc != UT_OK) {
            sim_violation(s->w, "ready-contract", "n%u ready: %s", i + 1, ut_err_name(rc));
            return any;
        }
        if (ut_2pc_ready_empty(&rd))
            break;
        any = true;
        for (size_t k = 0; k < rd.n_records; k++) { /* 1. to the decision log */
            const ut_2pc_record_t *r = &rd.records[k];
            if (r->n_nodes > TPC_MAX_MEMBERS) {
                sim_fail_msg(s->w, "n%u: a record naming %zu nodes", i + 1, r->n_nodes);
                return any;
            }
            unsigned char b[TPC_ENT_MAX];
            b[0] = TPC_ENT_RECORD;
            put64(b + 1, r->txid);
            b[9] = (unsigned char)r->state;
            b[10] = r->end;
            b[11] = r->forced;
            b[12] = (unsigned char)r->n_nodes;
            for (size_t j = 0; j < r->n_nodes; j++)
                put64(b + TPC_ENT_HDR + 8 * j, r->nodes[j]);
            uint64_t index = 0;
            if (propose(s, i, b, TPC_ENT_HDR + 8 * r->n_nodes, &index) != 0)
                return any;
            if (dbg_tx() && r->txid == dbg_tx())
                fprintf(stderr, "%llu n%u propose %s forced=%d end=%d at %llu\n",
                        (unsigned long long)sim_now(s->w), i + 1, ut_txn_state_name(r->state),
                        r->forced, r->end, (unsigned long long)index);
            if (r->forced) {
                n->forced_at = index;
                /* Sometimes cut the leader off right now, its decision
                 * not yet replicated. */
                if (!s->quiet)
                    sim_hint(s->w, i, SIM_HINT_APPENDED);
            }
            touch(s, r->txid);
        }
        uint64_t need = n->forced_at;
        if (n->want_barrier) {
            /* A presumed answer: only once the log proves this node still
             * led after the question came (Raft §8). */
            unsigned char b = TPC_ENT_BARRIER;
            if (propose(s, i, &b, 1, &need) != 0)
                return any;
            n->want_barrier = false;
            (*sim_stat(s->w, TST_BARRIERS))++;
        }
#ifdef UTSIM_FAULT_2PC_UNCOMMITTED_DECISION
        /* Deliberately broken composition: the coordinator acts on what it
         * proposed before the log has committed it. */
        need = 0;
#endif
        for (size_t k = 0; k < rd.n_msgs; k++) { /* 2. held until committed */
            tpc_held_t h = {.needed = need};
            touch(s, rd.msgs[k].body.twopc.txid);
            if (ut_msg_encoded_size(&rd.msgs[k], &h.len) != UT_OK) {
                sim_violation(s->w, "message-validity", "n%u produced an invalid %s", i + 1,
                              ut_msg_type_name(rd.msgs[k].type));
                return any;
            }
            h.buf = malloc(h.len);
            if (!h.buf || ut_msg_encode(&rd.msgs[k], h.buf, h.len, &h.len) != UT_OK ||
                hold(s, n, &h) != 0) {
                free(h.buf);
                sim_fail(s->w);
                return any;
            }
        }
        for (size_t k = 0; k < rd.n_events; k++) { /* 3. events too */
            tpc_held_t h = {.needed = need,
                            .is_event = true,
                            .kind = rd.events[k].kind,
                            .state = rd.events[k].state,
                            .txid = rd.events[k].txid};
            if (hold(s, n, &h) != 0)
                return any;
        }
        rc = ut_2pc_advance(n->c, &rd);
        if (rc != UT_OK) {
            sim_violation(s->w, "ready-contract", "n%u advance: %s", i + 1, ut_err_name(rc));
            return any;
        }
    }
    return any;
}

/* Send and act on what the log has committed, in order. The node still
 * leads the term its coordinator started in (coord_follow), so the
 * committed entries up to its commit index include its own proposals. */
static void release(tpc_t *s, unsigned i)
{
    tpc_node_t *n = &s->nodes[i];
    s->first_decision = true;
    while (n->c && n->held_head < n->n_held && n->held[n->held_head].needed <= n->applied &&
           !sim_failed(s->w)) {
        tpc_held_t h = n->held[n->held_head++];
        if (h.is_event) {
            coord_event(s, h.kind, h.txid, h.state);
            continue;
        }
        ut_msg_t m;
        if (ut_msg_decode(&m, h.buf, h.len, NULL, 0, NULL) != UT_OK)
            sim_violation(s->w, "codec", "n%u: a held frame does not decode", i + 1);
        else
            send(s, i, &m);
        free(h.buf);
    }
    s->first_decision = false;
    if (n->held_head == n->n_held)
        n->held_head = n->n_held = 0;
}

static void raft_drain_once(tpc_t *s, unsigned i)
{
    tpc_node_t *n = &s->nodes[i];
    while (!sim_failed(s->w) && !s->w->r->violation.found && ut_consensus_has_ready(n->h)) {
        ut_consensus_ready_t rd;
        int rc = ut_consensus_ready(n->h, &rd);
        if (rc != UT_OK) {
            if (rc == UT_ENOMEM)
                sim_fail(s->w);
            else
                sim_violation(s->w, "ready-contract", "n%u raft ready: %s", i + 1, ut_strerror(rc));
            return;
        }
        raft_host_persist(s->w, &s->ck, i, i + 1, &rd, NULL, NULL); /* 1. durable */
        for (size_t k = 0; k < rd.n_msgs; k++)                      /* 2. send */
            send(s, i, &rd.msgs[k]);
        for (size_t k = 0; k < rd.n_committed; k++) /* 3. apply */
            raft_apply(s, i, &rd.committed[k]);
        rc = ut_consensus_advance(n->h, &rd);
        if (rc != UT_OK) {
            sim_violation(s->w, "ready-contract", "n%u raft advance: %s", i + 1, ut_strerror(rc));
            return;
        }
    }
    raft_observe(s, i);
}

/* A replica: Raft's ready, the coordinator's life, its readies (which
 * propose), what is committed, until nothing moves. */
static void replica_drain(tpc_t *s, unsigned i)
{
    tpc_node_t *n = &s->nodes[i];
    for (int guard = 0; guard < 100 && n->h && !sim_failed(s->w) && !s->w->r->violation.found;
         guard++) {
        raft_drain_once(s, i);
        coord_follow(s, i);
        bool more = n->c && coord_ready(s, i);
        coord_follow(s, i);
        release(s, i);
        if (!more && !ut_consensus_has_ready(n->h))
            break;
    }
}

static void drain(tpc_t *s, unsigned i)
{
    tpc_node_t *n = &s->nodes[i];
    if (s->raft && is_coord(s, i))
        replica_drain(s, i);
    else
        log_drain(s, i);
    observe(s, i);
    /* The application forgets what nobody can still ask or answer. */
    while (!is_coord(s, i) && n->p && n->forget + TPC_FORGET_LAG <= n->max_seen) {
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
static void begin_one(tpc_t *s, unsigned at)
{
    sim_rng_t *g = sim_rng(s->w);
    unsigned np = s->n_nodes - s->k;
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
            j = s->k + (unsigned)sim_rng_below(g, np);
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
    /* Not from replicated state: the shortcut of the header comment. */
    uint64_t txid = ++s->n_tx;
    /* The payload a participant's application would apply: payer, payee
     * (node ids, 0 = none) and the amount. */
    unsigned char pl[TPC_PAYLOAD];
    pl[0] = (unsigned char)(t->payer + 1);
    pl[1] = (unsigned char)(t->payee + 1);
    for (int b = 0; b < 7; b++)
        pl[2 + b] = (unsigned char)((uint64_t)t->amount >> (8 * b));
    int rc = ut_2pc_begin(s->nodes[at].c, txid, ids, t->n, pl, sizeof pl);
    if (rc == UT_ENOMEM)
        sim_fail(s->w);
    else if (rc != UT_OK)
        sim_violation(s->w, "begin", "tx %" PRIu64 ": %s (%s)", txid, ut_err_name(rc),
                      ut_2pc_errmsg(s->nodes[at].c));
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

/* Replica i (re)starts: a new ut_consensus_t, restored from the world's
 * disk; committed entries come again from index 1 and rebuild its table. */
static int replica_start(tpc_t *s, unsigned i, bool restore, uint64_t local_ms)
{
    tpc_node_t *n = &s->nodes[i];
    ut_consensus_config_t cfg;
    ut_consensus_config_init(&cfg, UT_CONSENSUS_CONFIG_VERSION);
    cfg.id = i + 1;
    cfg.voters = s->ids;
    cfg.n_voters = s->k;
    cfg.election_timeout_ms = TPC_ELECTION_MS;
    cfg.heartbeat_ms = TPC_HEARTBEAT_MS;
    uint64_t x = s->w->o.seed ^ ((i + 1) * 0x9e3779b97f4a7c15ull) ^
                 ((uint64_t)sim_node_incarnation(s->w, i) << 40) ^ 0x2bcull;
    cfg.seed = sim_splitmix64(&x);
    int rc = ut_consensus_new(&n->h, &cfg);
    if (rc != UT_OK) {
        sim_fail_msg(s->w, "ut_consensus_new: %s", ut_strerror(rc));
        return -1;
    }
    n->applied = 0;
    n->role = 255;
    raft_check_restart(&s->ck, i + 1);
    if (restore) {
        ut_consensus_hard_state_t hs;
        if (raft_host_restore(s->w, i, n->h, &hs, &rc) != 0)
            return -1;
        if (rc != UT_OK)
            sim_violation(s->w, "restore", "n%u refused its own Raft state: %s (%s)", i + 1,
                          ut_strerror(rc), ut_consensus_errmsg(n->h));
    }
    ut_consensus_tick(n->h, local_ms);
    return 0;
}

static bool tpc_node_crash(void *ctx, unsigned i)
{
    tpc_t *s = ctx;
    tpc_node_t *n = &s->nodes[i];
    tpc_disk_t *d = &n->disk;
    if (dbg_tx())
        fprintf(stderr, "%llu n%u CRASH\n", (unsigned long long)sim_now(s->w), i + 1);
    if (s->raft && is_coord(s, i)) {
        /* A replica loses everything but the world's disk (which the
         * world puts back to what was durable). */
        coord_stop(s, i);
        ut_consensus_free(n->h);
        n->h = NULL;
        free(n->tab);
        n->tab = NULL;
        n->cap_tab = 0;
        n->applied = 0;
        return false;
    }
    /* What survives: the durable prefix and some of the buffered tail. */
    size_t keep = d->durable + (size_t)sim_rng_below(sim_rng(s->w), d->n - d->durable + 1);
    bool lost = keep < d->believed;
    disk_cut(d, keep);
    d->durable = d->believed = d->n;
    if (is_coord(s, i)) {
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
    n->local_ms = local_ms;
    n->hint = 0;
    n->hint_at = local_ms;
    if (s->raft && is_coord(s, i)) {
        if (replica_start(s, i, restore, local_ms) != 0)
            return -1;
    } else if (is_coord(s, i)) {
        ut_2pc_config_t cfg;
        ut_2pc_config_init(&cfg, UT_2PC_CONFIG_VERSION);
        cfg.id = TPC_COORD_ID;
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
    n->next_begin = local_ms + TPC_BEGIN_GAP_MIN_MS;
    if (!s->quiet && !s->raft)
        sim_segment(s->w, i, i == 0 ? SIM_ROLE_LEADER : SIM_ROLE_FOLLOWER, 0);
    else if (!s->quiet && !is_coord(s, i))
        sim_segment(s->w, i, SIM_ROLE_FOLLOWER, 0);
    if (restore)
        s->touch_all = true;
    return 0;
}

static void tpc_tick(void *ctx, unsigned i, uint64_t local_ms)
{
    tpc_t *s = ctx;
    tpc_node_t *n = &s->nodes[i];
    n->local_ms = local_ms;
    if (is_coord(s, i)) {
        int rc = UT_OK;
        if (s->raft) {
            rc = ut_consensus_tick(n->h, local_ms);
            if (rc == UT_ENOMEM)
                sim_fail(s->w);
            else if (rc != UT_OK)
                sim_violation(s->w, "tick", "n%u raft tick: %s", i + 1, ut_err_name(rc));
            if (!n->c)
                return;
        }
        rc = ut_2pc_tick(n->c, local_ms);
        if (rc == UT_ENOMEM)
            sim_fail(s->w);
        else if (rc != UT_OK)
            sim_violation(s->w, "tick", "n%u tick: %s", i + 1, ut_err_name(rc));
        if (!s->quiet && local_ms >= n->next_begin && ut_2pc_count(n->c) < TPC_MAX_INFLIGHT) {
            begin_one(s, i);
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
    if (s->raft && is_coord(s, i) && !is_2pc(m) && m->from >= 1 && m->from <= s->k) {
        int rc = ut_consensus_step(n->h, m);
        if (rc == UT_ENOMEM)
            sim_fail(s->w);
        else if (rc != UT_OK && rc != UT_ESTALE)
            sim_violation(s->w, "message-validity", "n%u refused a %s from n%" PRIu64 ": %s", i + 1,
                          ut_msg_type_name(m->type), m->from, ut_err_name(rc));
        return;
    }
    if (!is_2pc(m)) {
        s->w->r->stats.msgs_rejected++;
        sim_violation(s->w, "message-validity", "n%u got a %s, which 2PC never sends", i + 1,
                      ut_msg_type_name(m->type));
        return;
    }
    ut_msg_t c;
    if (s->raft) {
        /* The transport's side of the coordinator's address (send). */
        c = *m;
        if (is_coord(s, i)) {
            if (!n->c)
                return; /* this replica does not coordinate: dropped */
            c.to = TPC_COORD_ID;
            ut_txn_state_t st;
            if ((c.type == UT_MSG_2PC_VOTE || c.type == UT_MSG_2PC_INQUIRY) &&
                ut_2pc_state(n->c, c.body.twopc.txid, &st) == UT_ENOTFOUND)
                n->want_barrier = true; /* the presumption may answer */
        } else if (c.from >= 1 && c.from <= s->k) {
            n->hint = (unsigned)c.from - 1;
            n->hint_at = n->local_ms;
            c.from = TPC_COORD_ID;
        }
        m = &c;
    }
    touch(s, m->body.twopc.txid);
    tpc_txn_t *t = !is_coord(s, i) ? txn(s, m->body.twopc.txid) : NULL;
    int k = t ? member_index(t, i) : -1;
    if (k >= 0)
        t->heard_at[k] = n->local_ms;
    if (dbg_tx() && m->body.twopc.txid == dbg_tx())
        fprintf(stderr, "%llu n%u recv %s from %llu code %u\n", (unsigned long long)sim_now(s->w),
                i + 1, ut_msg_type_name(m->type), (unsigned long long)m->from, m->body.twopc.code);
    int rc = is_coord(s, i) ? ut_2pc_step(n->c, m) : ut_2pc_participant_step(n->p, m);
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
                      is_coord(s, i) ? ut_2pc_errmsg(n->c) : ut_2pc_participant_errmsg(n->p));
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
    if (is_coord(s, i) && (m->type == UT_MSG_2PC_COMMIT || m->type == UT_MSG_2PC_ABORT) &&
        s->first_decision) {
        s->first_decision = false;
        return sim_rng_below(sim_rng(s->w), 3) == 0;
    }
    /* A replica that just granted its vote (the raft scenario's point). */
    if (s->raft && is_coord(s, i))
        return m->type == UT_MSG_VOTE_RESP && m->body.vote_resp.granted;
    return !is_coord(s, i) && m->type == UT_MSG_2PC_VOTE && m->body.twopc.code == UT_2PC_VOTE_YES &&
           sim_rng_below(sim_rng(s->w), 20) == 0;
}

/* Faults prefer the coordinator: node 1, or the Raft leader of the highest
 * term. */
static bool tpc_target(void *ctx, unsigned *i)
{
    tpc_t *s = ctx;
    if (!s->raft) {
        *i = 0;
        return s->nodes[0].c != NULL;
    }
    uint64_t term = 0;
    bool found = false;
    for (unsigned j = 0; j < s->k; j++) {
        tpc_node_t *n = &s->nodes[j];
        if (n->h && ut_consensus_state(n->h) == UT_CONSENSUS_LEADER &&
            ut_consensus_term(n->h) >= term) {
            term = ut_consensus_term(n->h);
            *i = j;
            found = true;
        }
    }
    return found;
}

static int tpc_create(sim_world_t *w, void **out)
{
    if (w->o.nodes < 2) {
        sim_fail_msg(w, "the 2pc scenario needs at least 2 nodes (a coordinator and a "
                        "participant)");
        return -1;
    }
    unsigned k = tpc_coords_opt ? tpc_coords_opt : w->o.nodes >= 5 ? 3 : 1;
    if (k >= w->o.nodes) {
        sim_fail_msg(w, "the 2pc scenario with %u coordinators needs at least %u nodes", k, k + 1);
        return -1;
    }
    tpc_t *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->w = w;
    s->n_nodes = w->o.nodes;
    s->k = k;
    s->raft = k >= 2;
    for (unsigned i = 0; i < w->o.nodes; i++) {
        s->ids[i] = i + 1;
        s->balance[i] = i < k ? 0 : TPC_BALANCE;
    }
    raft_check_init(&s->ck, &w->r->stats.invariant_checks);
    /* Drawn from a stream of its own, so the world's streams stay as they
     * are: each seed runs one logging protocol. */
    uint64_t x = w->o.seed ^ 0x2bc2bc2bc2bc2bc2ull;
    uint64_t r = sim_splitmix64(&x);
    s->pres = (ut_2pc_presumption_t)(r % 3);
    s->coop = (r >> 8) & 1;
    s->lo = 1;
    sim_mark(w, SIM_MARK_LEADER, 0, 0, "%s%s%s", pres_name(s->pres),
             s->coop ? ", cooperative termination" : "", s->raft ? ", decisions in Raft" : "");
    *out = s;
    return 0;
}

static void tpc_destroy(void *ctx)
{
    tpc_t *s = ctx;
    if (!s)
        return;
    for (unsigned i = 0; i < SIM_MAX_NODES; i++) {
        tpc_node_t *n = &s->nodes[i];
        ut_2pc_free(n->c);
        ut_2pc_participant_free(n->p);
        ut_consensus_free(n->h);
        held_clear(n);
        free(n->held);
        free(n->tab);
        disk_cut(&n->disk, 0);
        free(n->disk.rec);
        free(n->due);
    }
    raft_check_free(&s->ck);
    ut_msg_decoder_free(s->dec);
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
    if (!s->dec && ut_msg_decoder_new(&s->dec) != UT_OK) {
        sim_fail(s->w);
        return UINT64_MAX;
    }
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
        if (s->lo > s->n_tx && s->q_2pc == 0 && !votes)
            return ms;
        for (unsigned i = 0; i < s->n_nodes; i++) {
            tpc_tick(s, i, s->nodes[i].local_ms + SIM_TICK_MS);
            drain(s, i);
        }
        for (size_t budget = 100000; s->q_head < s->q_n && budget > 0; budget--) {
            tpc_frame_t f = s->q[s->q_head++];
            s->q_2pc -= f.twopc;
            ut_msg_t m;
            size_t used = 0;
            if (ut_msg_decoder_decode(s->dec, &m, f.buf, f.len, &used) == UT_OK) {
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
    tpc_node_t *c = coordinator(s);
    if (!c)
        off += (size_t)snprintf(buf + off, cap - off, " no coordinator runs;");
    else if (ut_2pc_state(c->c, txid, &st) == UT_OK)
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
        /* And, settled, nothing is in flight: every application of a
         * transfer decided COMMIT was told so and applied it. */
        if (s->in_flight != 0 && took != UINT64_MAX && !r->violation.found)
            sim_violation(s->w, "money",
                          "all settled, %" PRId64 " still in flight of transfers decided COMMIT",
                          s->in_flight);
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

static int set_coordinators(sim_options_t *o, const char *v, char *err, size_t cap)
{
    (void)o;
    char *end = NULL;
    unsigned long k = strtoul(v, &end, 10);
    if (!*v || *end || k < 1 || k > TPC_MAX_COORDS) {
        snprintf(err, cap, "want 1..%u coordinator nodes, got '%s'", TPC_MAX_COORDS, v);
        return -1;
    }
    tpc_coords_opt = (unsigned)k;
    return 0;
}

static void replay_coordinators(const sim_options_t *o, char *buf, size_t cap)
{
    (void)o;
    if (tpc_coords_opt)
        snprintf(buf, cap, " --coordinators %u", tpc_coords_opt);
}

static const sim_scenario_option_t tpc_options[] = {
    {"coordinators", true,
     "  --coordinators K  2pc: nodes 1..K keep the coordinator (1..7; default 3 with 5\n"
     "                    nodes or more, else 1). K >= 2: its decision log is a Raft\n"
     "                    group of K ut_consensus_t replicas, the leader coordinates;\n"
     "                    K = 1: node 1 coordinates from its own log\n",
     set_coordinators, replay_coordinators},
};

static const sim_stat_def_t tpc_stats[] = {
    [TST_OUTCOMES] = {"outcomes_applied"},   /* outcomes applied by participants */
    [TST_COMMITTED] = {"committed"},         /* transactions committed */
    [TST_ABORTED] = {"aborted"},             /* transactions aborted */
    [TST_TAKEOVERS] = {"takeovers"},         /* coordinators started on a Raft leader */
    [TST_RESTORED] = {"restored"},           /* transactions they restored */
    [TST_LEADERS] = {"leaders_elected"},     /* Raft leaders of the decision log */
    [TST_CHANGES] = {"leader_changes"},      /* of which on another node */
    [TST_MAX_TERM] = {"max_term"},           /* highest Raft term */
    [TST_LOG_COMMIT] = {"log_commit_index"}, /* decision log: highest index committed */
    [TST_BARRIERS] = {"barriers"},           /* presumed answers held behind a barrier */
};

static const sim_stat_row_t tpc_rows[] = {
    {"outcomes", "{committed} committed, {aborted} aborted, {outcomes_applied} outcomes applied "
                 "by participants"},
    {"raft log", "{takeovers} takeovers ({restored} transactions restored), {leaders_elected} "
                 "leaders elected, {leader_changes} changes, highest term {max_term}, index "
                 "{log_commit_index} committed, {barriers} barriers"},
};

const sim_scenario_t sim_scenario_twopc = {
    .name = "2pc",
    .help = "  Nodes 1..K keep the coordinator (ut_2pc_t): with K >= 2 its decision log is a\n"
            "  Raft group (ut_consensus_t) and its leader coordinates, acting on a decision\n"
            "  only once the log has committed it; nodes K+1..N are participants holding\n"
            "  accounts. The coordinator starts transfers over 1-4 participants with yes,\n"
            "  no and read-only votes. After every event: atomicity, a decision never\n"
            "  changes, no commit without every yes, the coordinator never forgets what a\n"
            "  participant is in doubt about, money is conserved, and Raft's own safety; at\n"
            "  the end, after a quiet period with every node up, no participant is left in\n"
            "  doubt.\n",
    .options = tpc_options,
    .n_options = sizeof tpc_options / sizeof tpc_options[0],
    .stats = tpc_stats,
    .n_stats = sizeof tpc_stats / sizeof tpc_stats[0],
    .voter = tpc_voter,
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
                  "               coordinator-outcome, money; with a Raft group election safety,\n"
                  "               leader completeness, log matching, state machine safety;\n"
                  "               termination after a quiet period",
    .crash_point_text = "right after a decision, a yes vote or a Raft vote",
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
