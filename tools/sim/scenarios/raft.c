/* SPDX-License-Identifier: MIT */
/* The Raft scenario: N ut_consensus_t nodes, each persisting its hard state
 * and log to the world's disk (world.h: the persistence contract, the
 * lying-disk fault) and applying to an in-memory
 * key-value state machine with exactly-once client sessions. Checked after
 * every event: Election Safety (§5.2), Log Matching (§5.3), Leader
 * Completeness (§5.4), State Machine Safety (§5.4.3), monotonic
 * term/commit and a persistent vote across restarts (Figure 2), and the
 * library's own contracts (ready/advance, persist, codec); check-quorum
 * (thesis §6.2) and pre-vote (thesis §9.6) where configured; and in the
 * world's quiet phase, liveness: leadership settles and stays put. Ongaro
 * and Ousterhout, "In Search of an Understandable Consensus Algorithm",
 * 2014; Ongaro, "Consensus: Bridging Theory and Practice", 2014. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../scenario.h"
/* The safety checker shared with tests/raft_cluster.c (header-only). */
#include "../../../tests/raft_check.h"
#include "../raft_host.h"

#define ELECTION_MS 300u
#define HEARTBEAT_MS 50u

/* The figures the scenario reports (sim_stat), in the JSON's order. */
enum { ST_LEADERS, ST_CHANGES, ST_MAX_TERM, ST_COMMIT, ST_APPLIED };

typedef struct pending {
    bool valid;
    uint64_t reqid, index;
} pending_t;

/* >>> rutsim: a GET served by ReadIndex (--reads index|lease): the read
 * of (client, reqid) on key waits for its read state (indexed), then for
 * the state machine to apply up to index */
typedef struct pending_read {
    bool valid, indexed;
    uint32_t key;
    uint64_t reqid, index;
} pending_read_t;
/* <<< rutsim */

typedef struct session {
    uint64_t reqid;
    int64_t result;
    bool cas_ok;
} session_t;

typedef struct node {
    uint64_t id;
    ut_consensus_t *h;
    /* the disk (world's) holds the hard state and the log; here only what
     * the durability checks remember across crashes */
    uint64_t disk_max_term, disk_max_commit;
    /* volatile state machine */
    int64_t kv[SIM_MAX_KEYS];
    session_t sess[SIM_MAX_CLIENTS];
    pending_t pend[SIM_MAX_CLIENTS];
    unsigned n_pend; /* entries of pend[] that are valid */
    uint64_t applied;
    /* invariants */
    uint64_t max_term;               /* lifetime */
    uint64_t crash_term, crash_vote; /* term and vote when it last went down */
    uint64_t commit_seen;            /* this incarnation */
    uint8_t role;
    uint64_t role_term;
    uint64_t leader_since; /* check-quorum: when it became leader of role_term */
    uint64_t cq_checked;   /* check-quorum: when last checked */
    /* >>> rsnap */
    uint64_t snap_index; /* the library's offset: its last snapshot's index */
    /* <<< rsnap */
    /* >>> rsim: membership changes (--changes) */
    bool stopped;                       /* its removal committed, as it knows: shut down */
    uint64_t rejoin_at;                 /* the entry that added it back (stops after it only) */
    uint64_t cq_conf_at, cq_conf_since; /* check-quorum: its configuration, since when */
    raft_check_conf_t applied_conf;     /* the last configuration it applied */
    uint64_t snap_conf_at[2];           /* the configurations its disk's snapshots */
    raft_check_conf_t snap_conf[2];     /* record (newest first), as a host stores them */
    /* <<< rsim */
    /* >>> rutsim: reads in flight, per client (lost on a crash) */
    pending_read_t rpend[SIM_MAX_CLIENTS];
    unsigned n_rpend; /* entries of rpend[] that are valid */
    /* <<< rutsim */
} node_t;

typedef struct raft {
    sim_world_t *w;
    node_t nodes[SIM_MAX_NODES];
    uint64_t ids[SIM_MAX_NODES];
    raft_check_t ck; /* Raft's safety properties (tests/raft_check.h) */
    uint64_t last_leader;
    /* liveness: the leader (0-based index + 1) and term the cluster settled
     * on in the quiet phase; 0 = not yet looked */
    unsigned settled_leader;
    uint64_t settled_term;
    /* The protocol's configuration: the library's defaults, or drawn from
     * the seed (the default; --fixed-config keeps the library's) */
    bool pre_vote, check_quorum;
    size_t n_voters, n_observers; /* observers are the last nodes */
    size_t max_append_entries, max_append_bytes;
    unsigned max_inflight;
    /* >>> rsnap: every node compacts each compact_every applied entries (0:
     * never; --compact), with chunks of snapshot_chunk bytes; state_hash[k]
     * is the hash of the state machine after entry k, as the first node
     * that got there had it (a snapshot's state must equal it) */
    uint64_t compact_every;
    size_t snapshot_chunk;
    uint64_t *state_hash;
    size_t cap_state;
    /* <<< rsnap */
    /* >>> rsim: membership changes, every changes_ms on average (0: none;
     * --changes), drawn from a stream of their own (crng); n_spare nodes
     * (the last) start outside the configuration and join as observers of
     * themselves. conf0 is the configuration the cluster starts with,
     * confs the committed ones, tracked by the host from the entries the
     * nodes apply (tests/raft_check.h). */
    uint64_t changes_ms, next_change, crng;
    unsigned n_spare;
    raft_check_conf_t conf0;
    raft_check_confs_t confs;
    /* <<< rsim */
    /* >>> rsimx: leader transfers, every xfer_ms on average (0: none;
     * --transfers), drawn from a stream of their own (xrng). xf is the
     * transfer the host started last and has not seen end: by leader
     * (0-based) in term, to target, at sim time. */
    uint64_t xfer_ms, next_xfer, xrng;
    struct {
        bool active;
        bool aborted; /* it was aborted, and no node elected since */
        unsigned leader;
        uint64_t term, target, at;
    } xf;
    /* <<< rsimx */
} raft_t;

/* Hash of an entry (and, chained through seed, of a log prefix). */
static uint64_t entry_hash(uint64_t seed, const ut_entry_t *e)
{
    return raft_check_hash(seed, e->term, e->index, e->type, e->data, e->len);
}

/* ---- invariants ---------------------------------------------------------- */

/* A node's log view for the checker. */
static bool log_term(const void *h, uint64_t index, uint64_t *term)
{
    return ut_consensus_entry_term(h, index, term) == UT_OK;
}

/* >>> rsnap: the view of a node that compacted: its entries below the
 * snapshot are committed (a snapshot covers only applied entries), so the
 * checker takes the terms committed there; the snapshot's state is checked
 * against the state machine's history when it is installed. */
typedef struct node_view {
    const raft_t *s;
    const node_t *n;
} node_view_t;

static bool view_term(const void *v, uint64_t index, uint64_t *term)
{
    const node_view_t *nv = v;
    if (ut_consensus_entry_term(nv->n->h, index, term) == UT_OK)
        return true;
    if (index > 0 && index < nv->n->snap_index) {
        *term = raft_check_committed_term(&nv->s->ck, index);
        return *term != 0;
    }
    return false;
}
/* <<< rsnap */

/* The checker's verdict: a violation is the run's, out of memory stops it. */
static bool checked(raft_t *s, int rc)
{
    return raft_host_checked(s->w, &s->ck, rc);
}

/* Record the terms of newly committed entries and check them against what
 * other nodes committed at the same index. */
static void check_commit(raft_t *s, unsigned i)
{
    node_t *n = &s->nodes[i];
    uint64_t c = ut_consensus_commit_index(n->h);
    if (c < n->commit_seen)
        sim_violation(s->w, "monotonic-commit",
                      "node %" PRIu64 " commit index went back from %" PRIu64 " to %" PRIu64, n->id,
                      n->commit_seen, c);
    n->commit_seen = c;
    if (c > ut_consensus_last_index(n->h))
        sim_violation(s->w, "commit-beyond-log",
                      "node %" PRIu64 " commit %" PRIu64 " > last index %" PRIu64, n->id, c,
                      ut_consensus_last_index(n->h));
    /* State Machine Safety (§5.4.3), counted as one check with the two
     * above. */
    /* rsnap: through the view that knows the compacted prefix */
    node_view_t nv = {s, n};
    (void)checked(s, raft_check_commit(&s->ck, n->id, c, n->snap_index ? view_term : log_term,
                                       n->snap_index ? (const void *)&nv : (const void *)n->h));
}

/* Thesis §6.2 (check-quorum): a leader that has heard from no majority of
 * voters for an election timeout steps down. Here: a leader that got no
 * message at all from enough voters for CQ_WINDOW_MS (more than two of its
 * check rounds of ELECTION_MS, at the slowest skewed clock) must have
 * stepped down. */
#define CQ_WINDOW_MS 1000u
#define CQ_STEP_MS 50u
static void check_quorum_rule(raft_t *s, unsigned i)
{
    node_t *n = &s->nodes[i];
    uint64_t now = sim_now(s->w);
    /* Every CQ_STEP_MS is enough (the rule only gets more certain with
     * time), and keeps it off the path of every acknowledgement. */
    if (now - n->leader_since < CQ_WINDOW_MS || now - n->cq_checked < CQ_STEP_MS ||
        i >= s->n_voters)
        return;
    n->cq_checked = now;
    size_t heard = 1; /* itself */
    for (unsigned j = 0; j < s->n_voters; j++)
        if (j != i && sim_last_heard(s->w, i, j) + CQ_WINDOW_MS > now)
            heard++;
    s->w->r->stats.invariant_checks++;
    if (heard < s->n_voters / 2 + 1)
        sim_violation(s->w, "check-quorum",
                      "node %" PRIu64 " still leads term %" PRIu64
                      " after hearing from only %zu of "
                      "%zu voters for %u ms",
                      n->id, n->role_term, heard, s->n_voters, CQ_WINDOW_MS);
}

/* Liveness, in the world's settled quiet phase (no faults, every node up
 * and connected for SIM_SETTLE_MS): there is a leader, and from then on
 * every node stays in its term and follows it. */
static void check_settled(raft_t *s, unsigned i)
{
    if (!s->settled_leader) {
        uint64_t best = 0;
        for (unsigned j = 0; j < s->w->o.nodes; j++) {
            node_t *m = &s->nodes[j];
            if (ut_consensus_state(m->h) == UT_CONSENSUS_LEADER && ut_consensus_term(m->h) > best) {
                best = ut_consensus_term(m->h);
                s->settled_leader = j + 1;
            }
        }
        if (!s->settled_leader) {
            sim_violation(s->w, "liveness", "no leader %u ms into the quiet phase", SIM_SETTLE_MS);
            return;
        }
        s->settled_term = best;
    }
    node_t *n = &s->nodes[i];
    uint64_t lid = s->nodes[s->settled_leader - 1].id;
    /* >>> rsim: only the members of the leader's configuration follow it;
     * a removed node is shut down or no member */
    if (s->changes_ms) {
        ut_consensus_membership_t m;
        const node_t *ld = &s->nodes[s->settled_leader - 1];
        if (n->stopped || ut_consensus_membership(ld->h, &m, NULL) != UT_OK ||
            !(raft_check_conf_has(m.voters, m.n_voters, n->id) ||
              raft_check_conf_has(m.voters_outgoing, m.n_voters_outgoing, n->id) ||
              raft_check_conf_has(m.observers, m.n_observers, n->id)))
            return;
    }
    /* <<< rsim */
    s->w->r->stats.invariant_checks++;
    if (ut_consensus_term(n->h) != s->settled_term || ut_consensus_leader(n->h) != lid)
        sim_violation(s->w, "liveness",
                      "node %" PRIu64 " is in term %" PRIu64 " following %" PRIu64
                      " in the settled quiet phase, after node %" PRIu64 " led term %" PRIu64,
                      n->id, ut_consensus_term(n->h), ut_consensus_leader(n->h), lid,
                      s->settled_term);
}

/* §5.4.2 (Figure 8): a leader commits by counting replicas only an entry of
 * its own term; earlier entries become committed through it. So wherever
 * a leader's commit index moves, it lands on an entry of its term. */
static void check_commit_rule(raft_t *s, unsigned i, uint64_t term)
{
    node_t *n = &s->nodes[i];
    uint64_t t = 0;
    s->w->r->stats.invariant_checks++;
    if (ut_consensus_entry_term(n->h, n->commit_seen, &t) == UT_OK && t != term)
        sim_violation(s->w, "commit-rule",
                      "leader %" PRIu64 " of term %" PRIu64 " moved its commit index to %" PRIu64
                      ", an entry of term %" PRIu64 ", by counting replicas",
                      n->id, term, n->commit_seen, t);
}

/* >>> rsim: membership changes (Raft paper §6; thesis §4.1-4.3). The host
 * tracks the committed configurations itself, from the configuration
 * entries the nodes apply, decoded by the checker's own decoder
 * (tests/raft_check.h, from docs/wire-format.md), not the library's. */
static uint64_t changes_opt; /* --changes MS: mean interval, 0 = off */

/* Totals over a sweep, printed at exit (stderr) when --changes is on. */
static struct {
    uint64_t seeds, kind[8], refused, committed, stopped, joined, snap_checked;
} chg_tot;
enum {
    CK_ADD_OBS,
    CK_PROMOTE,
    CK_ADD_VOTER,
    CK_REMOVE,
    CK_REMOVE_LEADER,
    CK_REMOVE_OBS,
    CK_JOINT,
    CK_LEAVE
};

static bool conf_voter(const raft_check_conf_t *c, uint64_t id)
{
    return raft_check_conf_has(c->voters, c->n_voters, id) ||
           raft_check_conf_has(c->outgoing, c->n_outgoing, id);
}

/* The configuration committed as of index: the latest configuration entry
 * at or below it that a node applied, else the one the cluster began with
 * (tests/raft_cluster.c, committed_conf). */
static const raft_check_conf_t *committed_conf(const raft_t *s, uint64_t index)
{
    const raft_check_conf_t *c = raft_check_confs_at(&s->confs, index);
    return c != NULL ? c : &s->conf0;
}

/* A configuration entry a node applied: recorded once, in index order (the
 * applied check makes every node's entry at an index the same). */
static void note_applied_conf(raft_t *s, unsigned i, const ut_entry_t *e)
{
    node_t *n = &s->nodes[i];
    raft_check_conf_t conf;
    if (!raft_check_conf_decode(e->data, e->len, &conf)) {
        sim_violation(s->w, "membership",
                      "node %" PRIu64 " applied configuration entry %" PRIu64
                      " that does not decode",
                      n->id, e->index);
        return;
    }
    n->applied_conf = conf;
    int r = raft_check_confs_note(&s->confs, e->index, &conf);
    if (r < 0) {
        sim_fail(s->w);
        return;
    }
    if (r == 0)
        return;
    chg_tot.committed++;
}

/* The configuration in effect on node i by its disk (thesis §4.1: the
 * latest configuration entry in its log, committed or not), else its
 * snapshot's (the committed one there), else the one it was created with;
 * *at: the index that set it. */
static void disk_conf(raft_t *s, unsigned i, raft_check_conf_t *conf, uint64_t *at)
{
    raft_host_snap_t sn;
    uint64_t floor = raft_host_snapshot(s->w, i, &sn) ? sn.index : 0;
    for (size_t k = sim_disk_len(s->w, i); k > floor; k--) {
        const sim_disk_rec_t *d = sim_disk_rec(s->w, i, k - 1);
        if (d->meta[RAFT_HOST_TYPE] != UT_ENTRY_CONFIG)
            continue;
        *at = k;
        if (!raft_check_conf_decode(d->data, d->len, conf))
            sim_violation(s->w, "membership",
                          "node %" PRIu64 " stored configuration entry %zu that does not decode",
                          s->nodes[i].id, k);
        return;
    }
    *at = floor;
    *conf = *committed_conf(s, floor);
}

/* Does node id hold entry (index, term) on its disk? At or below its
 * snapshot: if that is the committed entry there. */
static bool stored_on_disk(void *ud, uint64_t id, uint64_t index, uint64_t term)
{
    raft_t *s = ud;
    if (id == 0 || id > s->w->o.nodes || index == 0)
        return false;
    unsigned j = (unsigned)(id - 1);
    raft_host_snap_t sn;
    if (raft_host_snapshot(s->w, j, &sn) && index <= sn.index)
        return raft_check_committed_term(&s->ck, index) == term;
    return index <= sim_disk_len(s->w, j) &&
           sim_disk_rec(s->w, j, (size_t)(index - 1))->meta[RAFT_HOST_TERM] == term;
}

/* After every event on node i, with changes on: a leader's new commit
 * index is on a majority of the configuration in effect on it (of each
 * half when joint: thesis §4.3); a node removed by a committed
 * configuration neither wins an election nor goes on leading (thesis
 * §4.2.2); a node that knows its removal committed is shut down. */
static void check_membership(raft_t *s, unsigned i, ut_consensus_state_t st, uint64_t term,
                             uint64_t prev_commit, bool same_term, bool elected)
{
    node_t *n = &s->nodes[i];
    raft_check_conf_t conf;
    uint64_t at = 0;
    disk_conf(s, i, &conf, &at);
    bool voter = conf_voter(&conf, n->id);
    /* (Its removal committed as the node knows it: one whose commit index
     * is behind may still campaign and win, counting the votes of the new
     * configuration's voters only, as docs/consensus.md says: thesis
     * §4.2.2, else a leader crashing with the only copy of C_new would
     * leave nobody to lead. Safety does not depend on it: the voters that
     * elect it hold no entry it lacks.) */
    s->w->r->stats.invariant_checks++;
    if (st == UT_CONSENSUS_LEADER && !voter && at > 0 && at <= n->commit_seen)
        sim_violation(s->w, "removed-leader",
                      "node %" PRIu64 " %s term %" PRIu64 " after the configuration at %" PRIu64
                      " that removes it committed (its commit index %" PRIu64 ", last %" PRIu64
                      ", the cluster's %" PRIu64 ")",
                      n->id, elected ? "won" : "still leads", term, at, n->commit_seen,
                      ut_consensus_last_index(n->h), s->ck.max_commit);
    if (st == UT_CONSENSUS_LEADER && same_term && n->commit_seen > prev_commit) {
        uint64_t c = n->commit_seen;
        raft_host_snap_t sn;
        bool in_snap = raft_host_snapshot(s->w, i, &sn) && c <= sn.index;
        if (!in_snap && c <= sim_disk_len(s->w, i))
            (void)checked(s, raft_check_commit_quorum(
                                 &s->ck, n->id, c,
                                 sim_disk_rec(s->w, i, (size_t)(c - 1))->meta[RAFT_HOST_TERM],
                                 &conf, stored_on_disk, s));
        else if (!in_snap)
            sim_violation(s->w, "commit-beyond-log",
                          "leader %" PRIu64 " committed %" PRIu64 " beyond its disk (%zu)", n->id,
                          c, sim_disk_len(s->w, i));
    }
    ut_consensus_membership_t m;
    uint64_t mi = 0;
    if (!n->stopped && ut_consensus_membership(n->h, &m, &mi) == UT_OK && mi > n->rejoin_at &&
        mi <= n->commit_seen && !raft_check_conf_has(m.voters, m.n_voters, n->id) &&
        !raft_check_conf_has(m.voters_outgoing, m.n_voters_outgoing, n->id) &&
        !raft_check_conf_has(m.observers, m.n_observers, n->id)) {
        n->stopped = true; /* the host shuts it down */
        chg_tot.stopped++;
    }
}

/* Thesis §6.2 with changes: the voters of the leader's configuration, each
 * half when joint, not counting itself when it is no voter of it. */
static void check_quorum_conf(raft_t *s, unsigned i)
{
    node_t *n = &s->nodes[i];
    uint64_t now = sim_now(s->w);
    if (now - n->leader_since < CQ_WINDOW_MS || now - n->cq_checked < CQ_STEP_MS)
        return;
    n->cq_checked = now;
    raft_check_conf_t conf;
    uint64_t at = 0;
    disk_conf(s, i, &conf, &at);
    /* a configuration in effect for less than the window: its new voters
     * may not have been heard from yet */
    if (at != n->cq_conf_at) {
        n->cq_conf_at = at;
        n->cq_conf_since = now;
    }
    if (now - n->cq_conf_since < CQ_WINDOW_MS)
        return;
    const uint64_t *sets[2] = {conf.voters, conf.outgoing};
    const size_t ns[2] = {conf.n_voters, conf.n_outgoing};
    for (int k = 0; k < 2; k++) {
        if (ns[k] == 0)
            continue;
        size_t heard = 0;
        for (size_t v = 0; v < ns[k]; v++) {
            uint64_t id = sets[k][v];
            if (id == n->id)
                heard++;
            else if (id >= 1 && id <= s->w->o.nodes &&
                     sim_last_heard(s->w, i, (unsigned)(id - 1)) + CQ_WINDOW_MS > now)
                heard++;
        }
        s->w->r->stats.invariant_checks++;
        if (heard < ns[k] / 2 + 1)
            sim_violation(s->w, "check-quorum",
                          "node %" PRIu64 " still leads term %" PRIu64
                          " after hearing from only %zu of the %zu %s voters for %u ms",
                          n->id, n->role_term, heard, ns[k], k ? "outgoing" : "(incoming)",
                          CQ_WINDOW_MS);
    }
}
/* <<< rsim */

/* >>> rsimx: leader transfers (thesis §3.10; --transfers MS). The host
 * follows each transfer it starts to its end: completed (the target won a
 * later term, before any other node), superseded (another node won it),
 * aborted (the leader, still leading its term, dropped it: one election
 * timeout without the handover). */
static uint64_t transfers_opt; /* --transfers MS: mean interval, 0 = off */

/* Totals over a sweep, printed at exit (stderr) when --transfers is on. */
static struct {
    uint64_t seeds, started, repeated, completed, superseded, aborted, unresolved, refused,
        no_target, busy_proposals, timeout_now_refused, done_ms, done_max_ms, done_fast,
        won_after_abort, late_timeout_now;
} xf_tot;

/* The transfer target of node i, as ut_consensus_status() reports it. */
static uint64_t xfer_target_of(const node_t *n)
{
    ut_consensus_status_t st;
    if (ut_consensus_status_init(&st, UT_CONSENSUS_STATUS_VERSION) != UT_OK ||
        ut_consensus_status(n->h, &st) != UT_OK)
        return 0;
    return st.transfer_target;
}

/* Is node i the leader of the host's open transfer, in its term? */
static bool xfer_leading(const raft_t *s, unsigned i)
{
    const node_t *n = &s->nodes[i];
    return s->xf.active && s->xf.leader == i && ut_consensus_state(n->h) == UT_CONSENSUS_LEADER &&
           ut_consensus_term(n->h) == s->xf.term;
}

/* A new leader of term: the end of the transfer of an earlier term. */
static void xfer_elected(raft_t *s, unsigned i, uint64_t term)
{
    if (s->xf.aborted && term > s->xf.term) {
        /* the target still won the next election (a TimeoutNow sent
         * before the abort, delivered after it, or its own timeout) */
        s->xf.aborted = false;
        xf_tot.won_after_abort += s->nodes[i].id == s->xf.target;
    }
    if (!s->xf.active || term <= s->xf.term)
        return;
    s->xf.active = false;
    if (s->nodes[i].id != s->xf.target) {
        xf_tot.superseded++;
        return;
    }
    uint64_t ms = sim_now(s->w) - s->xf.at;
    xf_tot.completed++;
    xf_tot.done_fast += ms <= ELECTION_MS; /* before the leader would abort */
    xf_tot.done_ms += ms;
    if (ms > xf_tot.done_max_ms)
        xf_tot.done_max_ms = ms;
}
/* <<< rsimx */

static void observe(raft_t *s, unsigned i)
{
    node_t *n = &s->nodes[i];
    uint64_t term = ut_consensus_term(n->h);
    ut_consensus_state_t st = ut_consensus_state(n->h);
    s->w->r->stats.invariant_checks++;
    if (term < n->max_term && s->w->o.durability_checks)
        sim_violation(s->w, "monotonic-term",
                      "node %" PRIu64 " term went back from %" PRIu64 " to %" PRIu64
                      " (incarnation %" PRIu32 ")",
                      n->id, n->max_term, term, sim_node_incarnation(s->w, i));
    if (term > n->max_term)
        n->max_term = term;
    if (term > *sim_stat(s->w, ST_MAX_TERM))
        *sim_stat(s->w, ST_MAX_TERM) = term;
    uint64_t prev_commit = n->commit_seen;
    check_commit(s, i);
    bool same_term = n->role == UT_CONSENSUS_LEADER && n->role_term == term; /* rsim */
    if (st == UT_CONSENSUS_LEADER && n->role == UT_CONSENSUS_LEADER && n->role_term == term &&
        n->commit_seen > prev_commit)
        check_commit_rule(s, i, term);
    bool was_elected = false; /* rsim */
    if (st == UT_CONSENSUS_LEADER) {
        /* Election Safety (§5.2) and, for a new leader, Leader Completeness
         * (§5.4). */
        bool elected = false;
        node_view_t nv = {s, n}; /* rsnap */
        int rc =
            raft_check_leader(&s->ck, n->id, term, n->snap_index ? view_term : log_term,
                              n->snap_index ? (const void *)&nv : (const void *)n->h, &elected);
        if (rc == RAFT_CHECK_NOMEM) {
            sim_fail(s->w);
            return;
        }
        (void)checked(s, rc);
        was_elected = elected; /* rsim */
        if (elected) {
            (*sim_stat(s->w, ST_LEADERS))++;
            if (s->last_leader && s->last_leader != n->id)
                (*sim_stat(s->w, ST_CHANGES))++;
            s->last_leader = n->id;
            if (s->xfer_ms) /* rsimx */
                xfer_elected(s, i, term);
            sim_mark(s->w, SIM_MARK_LEADER, i, term, "n%" PRIu64 " leader t%" PRIu64, n->id, term);
            sim_hint(s->w, i, SIM_HINT_LEADER);
        }
    }
    if ((uint8_t)st != n->role || term != n->role_term) {
        n->role = (uint8_t)st;
        n->role_term = term;
        n->leader_since = sim_now(s->w);
        sim_segment(s->w, i, (uint8_t)st, term);
    }
    /* >>> rsim */
    if (s->changes_ms)
        check_membership(s, i, st, term, prev_commit, same_term, was_elected);
    if (st == UT_CONSENSUS_LEADER && s->check_quorum && s->changes_ms)
        check_quorum_conf(s, i);
    else /* <<< rsim */
        if (st == UT_CONSENSUS_LEADER && s->check_quorum)
            check_quorum_rule(s, i);
    if (sim_settled(s->w))
        check_settled(s, i);
}

/* ---- disk ---------------------------------------------------------------- */

/* The ready's persistence work, on the world's disk, then one sync
 * (raft_host.h: the layout and the persist contract's checks). */
static void persist(raft_t *s, unsigned i, const ut_consensus_ready_t *rd)
{
    node_t *n = &s->nodes[i];
    raft_host_persist(s->w, &s->ck, i, n->id, rd, &n->disk_max_term, &n->disk_max_commit);
}

/* ---- state machine --------------------------------------------------------- */

/* >>> rsnap: the state machine as snapshot data: every key, then per client
 * the session (request id, result, cas flag), 8 bytes each, little-endian
 * as the host writes them */
#define SNAP_WORDS (SIM_MAX_KEYS + 3u * SIM_MAX_CLIENTS)

static void put_u64(unsigned char *p, uint64_t v)
{
    for (unsigned b = 0; b < 8; b++)
        p[b] = (unsigned char)(v >> (8 * b));
}

static void state_save(const node_t *n, uint64_t *out)
{
    for (unsigned k = 0; k < SIM_MAX_KEYS; k++)
        out[k] = (uint64_t)n->kv[k];
    for (unsigned c = 0; c < SIM_MAX_CLIENTS; c++) {
        out[SIM_MAX_KEYS + 3 * c] = n->sess[c].reqid;
        out[SIM_MAX_KEYS + 3 * c + 1] = (uint64_t)n->sess[c].result;
        out[SIM_MAX_KEYS + 3 * c + 2] = n->sess[c].cas_ok;
    }
}

static void state_load(node_t *n, const uint64_t *in)
{
    for (unsigned k = 0; k < SIM_MAX_KEYS; k++)
        n->kv[k] = (int64_t)in[k];
    for (unsigned c = 0; c < SIM_MAX_CLIENTS; c++) {
        n->sess[c].reqid = in[SIM_MAX_KEYS + 3 * c];
        n->sess[c].result = (int64_t)in[SIM_MAX_KEYS + 3 * c + 1];
        n->sess[c].cas_ok = in[SIM_MAX_KEYS + 3 * c + 2] != 0;
    }
}

static uint64_t state_hash_of(const node_t *n)
{
    uint64_t w[SNAP_WORDS];
    state_save(n, w);
    return raft_check_hash(0, 0, 0, 0, w, (uint32_t)sizeof w) | 1;
}

/* State Machine Safety for snapshots (§7): the state after entry index is
 * one, whichever node computed it, applied or installed. */
static void check_state(raft_t *s, unsigned i, uint64_t index, const char *how)
{
    node_t *n = &s->nodes[i];
    if (index >= s->cap_state) {
        size_t nc = s->cap_state ? s->cap_state : 1024;
        while (nc <= index)
            nc *= 2;
        uint64_t *a = realloc(s->state_hash, nc * sizeof *a);
        if (!a) {
            sim_fail(s->w);
            return;
        }
        memset(a + s->cap_state, 0, (nc - s->cap_state) * sizeof *a);
        s->state_hash = a;
        s->cap_state = nc;
    }
    uint64_t h = state_hash_of(n);
    s->w->r->stats.invariant_checks++;
    if (s->state_hash[index] == 0)
        s->state_hash[index] = h;
    else if (s->state_hash[index] != h)
        sim_violation(s->w, "snapshot-state",
                      "node %" PRIu64 " %s a state after index %" PRIu64
                      " that differs from the state machine's there",
                      n->id, how, index);
}

/* ready.snapshot: the state machine becomes the snapshot's. */
static void install_snapshot(raft_t *s, unsigned i, const ut_consensus_snapshot_t *sn)
{
    node_t *n = &s->nodes[i];
    /* >>> rsim: with changes, the snapshot's membership is the configuration
     * committed at its index (thesis §4.1, §5.1: a snapshot records the
     * latest configuration it covers) */
    if (s->changes_ms) {
        const raft_check_conf_t *want = committed_conf(s, sn->index);
        const ut_consensus_membership_t *m = &sn->membership;
        s->w->r->stats.invariant_checks++;
        chg_tot.snap_checked++;
        if (!raft_check_conf_same_set(m->voters, m->n_voters, want->voters, want->n_voters) ||
            !raft_check_conf_same_set(m->voters_outgoing, m->n_voters_outgoing, want->outgoing,
                                      want->n_outgoing) ||
            !raft_check_conf_same_set(m->observers, m->n_observers, want->observers,
                                      want->n_observers)) {
            sim_violation(s->w, "snapshot-config",
                          "node %" PRIu64 " got a snapshot at %" PRIu64
                          " whose membership (%zu voters, %zu outgoing, %zu observers) is not"
                          " the configuration committed there (%zu, %zu, %zu)",
                          n->id, sn->index, m->n_voters, m->n_voters_outgoing, m->n_observers,
                          want->n_voters, want->n_outgoing, want->n_observers);
            return;
        }
        raft_check_conf_t got = {.n_voters = m->n_voters,
                                 .n_outgoing = m->n_voters_outgoing,
                                 .n_observers = m->n_observers,
                                 .auto_leave = m->auto_leave};
        memcpy(got.voters, m->voters, m->n_voters * sizeof(uint64_t));
        if (m->n_voters_outgoing)
            memcpy(got.outgoing, m->voters_outgoing, m->n_voters_outgoing * sizeof(uint64_t));
        if (m->n_observers)
            memcpy(got.observers, m->observers, m->n_observers * sizeof(uint64_t));
        n->applied_conf = got;
        n->snap_conf[1] = n->snap_conf[0];
        n->snap_conf_at[1] = n->snap_conf_at[0];
        n->snap_conf[0] = got;
        n->snap_conf_at[0] = sn->index;
    }
    if (s->changes_ms ? sn->len != SNAP_WORDS * 8 : /* <<< rsim */
            (sn->len != SNAP_WORDS * 8 || sn->membership.n_voters != s->n_voters ||
             sn->membership.n_observers != s->n_observers)) {
        sim_violation(s->w, "snapshot-state",
                      "node %" PRIu64 " got a snapshot at %" PRIu64
                      " without its state or configuration",
                      n->id, sn->index);
        return;
    }
    uint64_t w[SNAP_WORDS];
    const unsigned char *p = sn->data;
    for (unsigned k = 0; k < SNAP_WORDS; k++)
        w[k] = sim_get_u64(p + 8 * k);
    state_load(n, w);
    n->applied = sn->index;
    n->snap_index = sn->index;
    /* Proposals this node made at indexes the snapshot covers are not
     * answered here (whether they committed is in the snapshot's state,
     * not in entries): the clients time out and retry, as after a crash. */
    for (uint32_t c = 0; n->n_pend && c < s->w->o.clients; c++)
        if (n->pend[c].valid && n->pend[c].index <= sn->index) {
            n->pend[c].valid = false;
            n->n_pend--;
        }
    check_state(s, i, sn->index, "installed");
}

/* Every compact_every applied entries: the state machine replaces the log
 * up to what it applied, in the library and on the disk. */
static void maybe_compact(raft_t *s, unsigned i)
{
    node_t *n = &s->nodes[i];
    if (n->applied < n->snap_index + s->compact_every || n->applied == 0)
        return;
    uint64_t w[SNAP_WORDS];
    state_save(n, w);
    unsigned char buf[SNAP_WORDS * 8];
    for (unsigned k = 0; k < SNAP_WORDS; k++)
        put_u64(buf + 8 * k, w[k]);
    uint64_t term = 0;
    if (ut_consensus_entry_term(n->h, n->applied, &term) != UT_OK)
        return;
    int rc = ut_consensus_compact(n->h, n->applied, buf, sizeof buf);
    if (rc == UT_ENOMEM) {
        sim_fail(s->w);
        return;
    }
    if (rc != UT_OK) {
        sim_violation(s->w, "compact", "node %" PRIu64 " compact at %" PRIu64 ": %s (%s)", n->id,
                      n->applied, ut_strerror(rc), ut_consensus_errmsg(n->h));
        return;
    }
    n->snap_index = n->applied;
    /* >>> rsim: the host stores the configuration as of the snapshot's index
     * with it: the last one it applied */
    n->snap_conf[1] = n->snap_conf[0];
    n->snap_conf_at[1] = n->snap_conf_at[0];
    n->snap_conf[0] = n->applied_conf;
    n->snap_conf_at[0] = n->applied;
    /* <<< rsim */
    if (raft_host_save_snapshot(s->w, &s->ck, i, n->applied, term, buf, sizeof buf) != 0)
        return;
    sim_disk_sync(s->w, i);
}
/* <<< rsnap */

static void apply(raft_t *s, unsigned i, const ut_entry_t *e)
{
    node_t *n = &s->nodes[i];
    if (e->index != n->applied + 1) {
        sim_violation(s->w, "apply-order",
                      "node %" PRIu64 " applies index %" PRIu64 " after %" PRIu64, n->id, e->index,
                      n->applied);
        return;
    }
    n->applied = e->index;
    /* State Machine Safety (§5.4.3): every node applies the same entry at
     * a given index. */
    if (!checked(s, raft_check_applied(&s->ck, n->id, e->index, e->term, entry_hash(0, e))))
        return;
    if (e->type == UT_ENTRY_CONFIG && s->changes_ms) /* rsim */
        note_applied_conf(s, i, e);
    if (e->type != UT_ENTRY_NORMAL) {
        if (s->compact_every) /* rsnap */
            check_state(s, i, e->index, "applied");
        return;
    }
    sim_cmd_t c;
    if (!sim_cmd_decode(e->data, e->len, &c) || c.client >= s->w->o.clients ||
        c.key >= s->w->o.keys) {
        sim_violation(s->w, "state-machine-safety",
                      "node %" PRIu64 " applied a malformed command at %" PRIu64, n->id, e->index);
        return;
    }
    (*sim_stat(s->w, ST_APPLIED))++;
    session_t *ss = &n->sess[c.client];
    /* Exactly-once: a retried request id is answered from the session. */
    if (c.reqid > ss->reqid) {
        int64_t *v = &n->kv[c.key];
        sim_applied(s->w, c.client, c.reqid);
        ss->reqid = c.reqid;
        ss->cas_ok = false;
        switch (c.kind) {
        case LC_GET:
            ss->result = *v;
            break;
        case LC_PUT:
            *v = c.value;
            ss->result = c.value;
            break;
        case LC_CAS:
            ss->cas_ok = *v == c.expected;
            if (ss->cas_ok)
                *v = c.value;
            ss->result = *v;
            break;
        }
    }
    if (s->compact_every) /* rsnap */
        check_state(s, i, e->index, "applied");
    pending_t *p = &n->pend[c.client];
    if (p->valid && p->reqid == c.reqid && c.reqid == ss->reqid) {
        sim_cmsg_t m = {.kind = SIM_CM_OK,
                        .client = c.client,
                        .reqid = c.reqid,
                        .result = ss->result,
                        .cas_ok = ss->cas_ok};
        sim_reply(s->w, i, c.client, &m);
        p->valid = false;
        n->n_pend--;
    }
}

/* An index this node proposed at was filled by another command. */
static void check_lost(raft_t *s, unsigned i, const ut_entry_t *e)
{
    node_t *n = &s->nodes[i];
    /* Nothing to do on a node with no proposal in flight: every follower,
     * and a restarted node replaying its log. */
    for (uint32_t c = 0; n->n_pend && c < s->w->o.clients; c++) {
        pending_t *p = &n->pend[c];
        if (!p->valid || p->index != e->index)
            continue;
        sim_cmd_t cd;
        if (e->type == UT_ENTRY_NORMAL && sim_cmd_decode(e->data, e->len, &cd) && cd.client == c &&
            cd.reqid == p->reqid)
            continue;
        sim_cmsg_t m = {.kind = SIM_CM_LOST, .client = c, .reqid = p->reqid};
        sim_reply(s->w, i, c, &m);
        p->valid = false;
        n->n_pend--;
    }
}

/* >>> rutsim: linearizable reads (--reads index|lease). A GET is served by
 * ut_consensus_read_index (thesis §6.4) on whatever node the client asks:
 * the context names (client, reqid); the read state that a later ready
 * hands out (on a follower, the leader's answer to its forwarded read)
 * gives the read index, and the read is answered once the node's state
 * machine has applied up to it, with the key's current value, as a GET
 * applied from the log is answered. Reads are no commands: no session,
 * no sim_applied. A node keeps them in memory only (a crash loses them:
 * the client times out and retries). */
enum { READS_LOG, READS_INDEX, READS_LEASE };
static unsigned reads_opt; /* --reads: READS_LOG (the default) */

/* Lease mode's max_clock_drift_ms, from the world's skew model
 * (tools/sim/world.c: every clock runs at 0.95 to 1.05 of real time; the
 * offsets do not matter, a lease measures durations). A leader's lease of
 * ELECTION_MS - drift local ms must end, in real time, before a voter's
 * election timeout of ELECTION_MS local ms after it acknowledged:
 * (ELECTION_MS - drift) / 0.95 <= ELECTION_MS / 1.05, so drift >=
 * ELECTION_MS * 0.1 / 1.05 = 28.6 ms; plus a tick on either side (a node's
 * clock is read at its last tick, SIM_TICK_MS = 10 ms apart, 10.5 local
 * ms at the fastest): 50 ms. A skew model beyond +-5% would make the lease
 * unsafe by design; this bound is then to be raised with it. */
#define READ_LEASE_DRIFT_MS 50u

/* Totals over a sweep, printed at exit (stderr) when --reads is not log. */
static struct {
    uint64_t seeds, asked, refused, indexed, served;
} rd_tot;

#define READ_CTX_LEN 12u /* client (4, little-endian), reqid (8) */

static void drain(raft_t *s, unsigned i);

static void read_request(raft_t *s, unsigned i, const sim_cmsg_t *m, const sim_cmd_t *c)
{
    node_t *n = &s->nodes[i];
    unsigned char ctx[READ_CTX_LEN];
    for (unsigned b = 0; b < 4; b++)
        ctx[b] = (unsigned char)(c->client >> (8 * b));
    put_u64(ctx + 4, c->reqid);
    int rc = n->stopped ? UT_ENOTLEADER : ut_consensus_read_index(n->h, ctx, sizeof ctx);
    if (rc == UT_ENOMEM) {
        sim_fail(s->w);
        return;
    }
    if (rc != UT_OK) {
        if (rc != UT_ENOTLEADER && rc != UT_EBUSY)
            sim_violation(s->w, "read-index", "node %" PRIu64 " refused a valid read: %s (%s)",
                          n->id, ut_strerror(rc), ut_consensus_errmsg(n->h));
        rd_tot.refused++;
        sim_cmsg_t r = {.kind = SIM_CM_NOTLEADER,
                        .client = m->client,
                        .reqid = m->reqid,
                        .leader_hint = ut_consensus_leader(n->h)};
        sim_reply(s->w, i, m->client, &r);
        return;
    }
    rd_tot.asked++;
    pending_read_t *p = &n->rpend[c->client];
    if (!p->valid)
        n->n_rpend++;
    *p = (pending_read_t){.valid = true, .key = c->key, .reqid = c->reqid};
    drain(s, i);
}

/* A read state of a ready: the read it answers learns its index (a
 * context this node did not send, or an answer for a read it no longer
 * waits for, is ignored: a repeated read is answered once). */
static void note_read_state(raft_t *s, unsigned i, const ut_consensus_read_state_t *r)
{
    node_t *n = &s->nodes[i];
    if (r->len != READ_CTX_LEN) {
        sim_violation(s->w, "read-index",
                      "node %" PRIu64 " handed out a read of %zu context bytes, not %u", n->id,
                      (size_t)r->len, READ_CTX_LEN);
        return;
    }
    const unsigned char *p = r->ctx;
    uint32_t client =
        (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    uint64_t reqid = sim_get_u64(p + 4);
    if (client >= s->w->o.clients)
        return;
    pending_read_t *q = &n->rpend[client];
    if (!q->valid || q->indexed || q->reqid != reqid)
        return;
    q->indexed = true;
    q->index = r->index;
    rd_tot.indexed++;
}

/* Answer the reads whose index the state machine has applied. */
static void serve_reads(raft_t *s, unsigned i)
{
    node_t *n = &s->nodes[i];
    for (uint32_t c = 0; n->n_rpend && c < s->w->o.clients; c++) {
        pending_read_t *p = &n->rpend[c];
        if (!p->valid || !p->indexed || n->applied < p->index)
            continue;
        sim_cmsg_t m = {.kind = SIM_CM_OK, .client = c, .reqid = p->reqid, .result = n->kv[p->key]};
        sim_reply(s->w, i, c, &m);
        p->valid = false;
        n->n_rpend--;
        rd_tot.served++;
    }
}
/* <<< rutsim */

/* ---- node driver ----------------------------------------------------------- */

static void drain(raft_t *s, unsigned i)
{
    node_t *n = &s->nodes[i];
    while (!sim_failed(s->w) && ut_consensus_has_ready(n->h)) {
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
        if (rd.snapshot != NULL) /* 0. install (rsnap) */
            install_snapshot(s, i, rd.snapshot);
        persist(s, i, &rd);                    /* 1. durable */
        for (size_t k = 0; k < rd.n_msgs; k++) /* 2. send */
            sim_send(s->w, i, &rd.msgs[k]);
        for (size_t k = 0; k < rd.n_committed; k++) { /* 3. apply */
            const ut_entry_t *e = &rd.committed[k];
            /* After a restart committed entries come again from index 1:
             * the in-memory state machine is rebuilt. */
            check_lost(s, i, e);
            apply(s, i, e);
        }
        /* >>> rutsim: 4. reads: note their indexes, serve those applied */
        for (size_t k = 0; k < rd.n_read_states; k++)
            note_read_state(s, i, &rd.read_states[k]);
        if (n->n_rpend)
            serve_reads(s, i);
        /* <<< rutsim */
        rc = ut_consensus_advance(n->h, &rd);
        if (rc != UT_OK) {
            sim_violation(s->w, "ready-contract", "node %" PRIu64 " advance: %s", n->id,
                          ut_strerror(rc));
            return;
        }
        /* >>> rsnap */
        if (s->compact_every) {
            observe(s, i); /* the checker sees the entries before they go */
            maybe_compact(s, i);
        }
        /* <<< rsnap */
    }
    observe(s, i);
}

/* --trace NODE: that node's trace events (ut_consensus_config_t::trace),
 * one line each on stderr, stamped with the world's time; 0 = off. The
 * option lives here, not in sim_options_t, so the world is untouched. */
static uint64_t trace_node;

/* >>> rsnap: --compact K (every K applied entries), auto (drawn from the
 * seed: half the seeds), 0 = never (the default) */
static uint64_t compact_opt;
/* <<< rsnap */

static void print_trace(void *arg, const ut_trace_event_t *ev)
{
    static const char *const level[] = {"debug", "info", "warn"};
    const raft_t *s = arg;
    fprintf(
        stderr, "trace t=%" PRIu64 " node=%" PRIu64 " %s %s%s%s%s a=%" PRIu64 " b=%" PRIu64 "\n",
        sim_now(s->w), ev->node, (unsigned)ev->level < 3 ? level[ev->level] : "?", ev->event,
        ev->reason ? " (" : "", ev->reason ? ev->reason : "", ev->reason ? ")" : "", ev->a, ev->b);
}

static int raft_node_start(void *ctx, unsigned i, bool restore, uint64_t local_ms)
{
    raft_t *s = ctx;
    node_t *n = &s->nodes[i];
    ut_consensus_config_t cfg;
    ut_consensus_config_init(&cfg, UT_CONSENSUS_CONFIG_VERSION);
    cfg.id = n->id;
    cfg.voters = s->ids;
    cfg.n_voters = s->n_voters;
    cfg.observers = s->n_observers ? s->ids + s->n_voters : NULL;
    cfg.n_observers = s->n_observers;
    /* >>> rsim: a spare node is created with the cluster's voters and itself
     * as an observer (docs/consensus.md, "Membership changes"); it follows
     * the configuration entries it receives (so does a restarted node: its
     * log and snapshot hold its configuration) */
    if (i >= s->n_voters + s->n_observers) {
        cfg.observers = s->ids + s->n_voters;
        cfg.n_observers = s->n_observers + 1;
    }
    /* <<< rsim */
    cfg.pre_vote = s->pre_vote;
    cfg.check_quorum = s->check_quorum;
    cfg.max_append_entries = s->max_append_entries;
    cfg.max_append_bytes = s->max_append_bytes;
    cfg.max_inflight = s->max_inflight;
    cfg.election_timeout_ms = ELECTION_MS;
    cfg.heartbeat_ms = HEARTBEAT_MS;
    if (s->compact_every) /* rsnap */
        cfg.snapshot_chunk_bytes = s->snapshot_chunk;
    if (reads_opt == READS_LEASE) { /* rutsim: check_quorum is forced on (raft_create) */
        cfg.read_mode = UT_CONSENSUS_READ_LEASE;
        cfg.max_clock_drift_ms = READ_LEASE_DRIFT_MS;
    }
    uint64_t x = s->w->o.seed ^ (n->id * 0x9e3779b97f4a7c15ull) ^
                 ((uint64_t)sim_node_incarnation(s->w, i) << 40);
    cfg.seed = sim_splitmix64(&x);
    if (trace_node != 0 && n->id == trace_node) {
        cfg.trace = print_trace;
        cfg.trace_arg = s;
    }
    int rc = ut_consensus_new(&n->h, &cfg);
    if (rc != UT_OK) {
        sim_fail_msg(s->w, "ut_consensus_new: %s", ut_strerror(rc));
        return -1;
    }
    ut_consensus_hard_state_t hs = raft_host_hard_state(s->w, i);
    /* >>> rsnap: the configuration a snapshot on the disk records */
    ut_consensus_membership_t mb = {.voters = s->ids,
                                    .n_voters = s->n_voters,
                                    .observers = s->n_observers ? s->ids + s->n_voters : NULL,
                                    .n_observers = s->n_observers};
    raft_host_snap_t disk_snap;
    bool has_snap = restore && s->compact_every && raft_host_snapshot(s->w, i, &disk_snap);
    /* <<< rsnap */
    /* >>> rsim: the membership stored with the disk's snapshot */
    n->applied_conf = s->conf0;
    if (has_snap && s->changes_ms) {
        const raft_check_conf_t *sc = n->snap_conf_at[0] == disk_snap.index ? &n->snap_conf[0]
                                      : n->snap_conf_at[1] == disk_snap.index
                                          ? &n->snap_conf[1]
                                          : committed_conf(s, disk_snap.index);
        n->applied_conf = *sc;
        mb = (ut_consensus_membership_t){
            .voters = n->applied_conf.voters,
            .n_voters = n->applied_conf.n_voters,
            .voters_outgoing = n->applied_conf.n_outgoing ? n->applied_conf.outgoing : NULL,
            .n_voters_outgoing = n->applied_conf.n_outgoing,
            .observers = n->applied_conf.n_observers ? n->applied_conf.observers : NULL,
            .n_observers = n->applied_conf.n_observers,
            .auto_leave = n->applied_conf.auto_leave};
    }
    /* <<< rsim */
    if (restore) {
        if (raft_host_restore_snap(s->w, i, n->h, &hs, &rc, s->compact_every ? &mb : NULL) != 0)
            return -1;
        if (rc != UT_OK)
            sim_violation(s->w, "restore",
                          "node %" PRIu64 " refused its own persisted state: %s (%s)", n->id,
                          ut_strerror(rc), ut_consensus_errmsg(n->h));
    }
    n->applied = 0;
    memset(n->kv, 0, sizeof n->kv);
    memset(n->sess, 0, sizeof n->sess);
    memset(n->pend, 0, sizeof n->pend);
    n->n_pend = 0;
    memset(n->rpend, 0, sizeof n->rpend); /* rutsim: reads are lost on a crash */
    n->n_rpend = 0;
    /* >>> rsnap: the state machine restarts from the disk's snapshot */
    n->snap_index = 0;
    if (has_snap && rc == UT_OK && disk_snap.len == SNAP_WORDS * 8) {
        uint64_t w[SNAP_WORDS];
        for (unsigned k = 0; k < SNAP_WORDS; k++)
            w[k] = sim_get_u64((const unsigned char *)disk_snap.data + 8 * k);
        state_load(n, w);
        n->applied = n->snap_index = disk_snap.index;
        check_state(s, i, disk_snap.index, "restored");
    }
    /* <<< rsnap */
    n->commit_seen = ut_consensus_commit_index(n->h);
    raft_check_restart(&s->ck, n->id);
    n->role = 255;
    n->leader_since = sim_now(s->w);
    /* Monotonic term/commit across the node's lifetime (§5, Figure 2:
     * currentTerm is persistent; a restarted node must not forget it). */
    if (restore && s->w->o.durability_checks) {
        s->w->r->stats.invariant_checks++;
        if (ut_consensus_term(n->h) < n->max_term)
            sim_violation(s->w, "monotonic-term",
                          "node %" PRIu64 " restarted in term %" PRIu64
                          " after reaching term %" PRIu64 " (acknowledged writes were lost)",
                          n->id, ut_consensus_term(n->h), n->max_term);
        /* votedFor is persistent too (Figure 2): forgetting it lets the
         * node vote twice in one term. */
        if (ut_consensus_term(n->h) == n->crash_term && n->crash_vote &&
            ut_consensus_vote(n->h) != n->crash_vote)
            sim_violation(s->w, "persistent-vote",
                          "node %" PRIu64 " restarted in term %" PRIu64 " with vote %" PRIu64
                          " after voting for %" PRIu64 " in that term",
                          n->id, n->crash_term, ut_consensus_vote(n->h), n->crash_vote);
        if (hs.commit < n->disk_max_commit)
            sim_violation(s->w, "monotonic-commit",
                          "node %" PRIu64 " restarted with commit %" PRIu64
                          " after persisting %" PRIu64,
                          n->id, hs.commit, n->disk_max_commit);
    }
    ut_consensus_tick(n->h, local_ms); /* time origin */
    return 0;
}

static bool raft_node_crash(void *ctx, unsigned i)
{
    raft_t *s = ctx;
    node_t *n = &s->nodes[i];
    /* The world puts the disk back to what was durable. */
    n->crash_term = ut_consensus_term(n->h);
    n->crash_vote = ut_consensus_vote(n->h);
    ut_consensus_free(n->h);
    n->h = NULL;
    return false;
}

static void raft_request(void *ctx, unsigned i, const sim_cmsg_t *m)
{
    raft_t *s = ctx;
    node_t *n = &s->nodes[i];
    uint64_t index = 0;
    int rc = UT_ENOTLEADER;
    /* >>> rutsim: with --reads index|lease a GET is no log command */
    sim_cmd_t rc_cmd;
    if (reads_opt != READS_LOG && sim_cmd_decode(m->op, sizeof m->op, &rc_cmd) &&
        rc_cmd.kind == LC_GET && rc_cmd.client < s->w->o.clients && rc_cmd.key < s->w->o.keys) {
        read_request(s, i, m, &rc_cmd);
        return;
    }
    /* <<< rutsim */
    /* >>> rsimx: while its transfer is under way the leader refuses
     * proposals with UT_EBUSY (thesis §3.10), answered as "not leader" (not
     * proposed: the client retries elsewhere or later), never lost */
    uint64_t xt = s->xfer_ms && xfer_leading(s, i) ? xfer_target_of(n) : 0;
    /* <<< rsimx */
    if (ut_consensus_state(n->h) == UT_CONSENSUS_LEADER && !n->stopped) /* rsim */
        rc = ut_consensus_propose(n->h, m->op, sizeof m->op, &index);
    /* >>> rsimx */
    if (xt != 0) {
        s->w->r->stats.invariant_checks++;
        if (rc == UT_OK)
            sim_violation(s->w, "transfer-gate",
                          "leader %" PRIu64 " accepted a proposal at %" PRIu64
                          " while transferring to %" PRIu64,
                          n->id, index, xt);
        else if (rc == UT_EBUSY)
            xf_tot.busy_proposals++;
    }
    /* <<< rsimx */
    if (rc == UT_ENOMEM) {
        sim_fail(s->w);
        return;
    }
    if (rc != UT_OK) {
        sim_cmsg_t r = {.kind = SIM_CM_NOTLEADER,
                        .client = m->client,
                        .reqid = m->reqid,
                        .leader_hint = ut_consensus_leader(n->h)};
        sim_reply(s->w, i, m->client, &r);
        return;
    }
    if (!n->pend[m->client].valid)
        n->n_pend++;
    n->pend[m->client].valid = true;
    n->pend[m->client].reqid = m->reqid;
    n->pend[m->client].index = index;
    sim_hint(s->w, i, SIM_HINT_APPENDED);
    drain(s, i);
}

/* >>> rsim: the workload's membership changes, proposed by the leader about
 * every changes_ms (uniform in [changes_ms/2, 3*changes_ms/2)), outside the
 * quiet phase: add an observer (a spare or removed node), promote one, add
 * a voter directly, remove a voter, remove the leader itself, remove an
 * observer, replace one or two voters at once through a joint
 * configuration (with UT_CONSENSUS_CHANGE_AUTO_LEAVE or, on a later turn,
 * ut_consensus_leave_joint). Voters stay at least min(3, initial). */
static uint64_t chg_draw(raft_t *s)
{
    return sim_splitmix64(&s->crng);
}

static void maybe_change(raft_t *s, unsigned i)
{
    node_t *n = &s->nodes[i];
    uint64_t now = sim_now(s->w);
    if (now < s->next_change || sim_quiet(s->w) || ut_consensus_state(n->h) != UT_CONSENSUS_LEADER)
        return;
    s->next_change = now + s->changes_ms / 2 + chg_draw(s) % s->changes_ms;
    ut_consensus_membership_t m;
    uint64_t mi = 0;
    if (ut_consensus_membership(n->h, &m, &mi) != UT_OK)
        return;
    int rc;
    unsigned kind;
    uint64_t at = 0;
    ut_consensus_change_t ch[4];
    size_t nch = 0;
    unsigned flags = 0;
    if (m.n_voters_outgoing) {
        if (m.auto_leave)
            return;
        kind = CK_LEAVE;
        rc = ut_consensus_leave_joint(n->h, NULL);
    } else {
        uint64_t non[SIM_MAX_NODES], obs[SIM_MAX_NODES], vot[SIM_MAX_NODES];
        size_t nn = 0, no = 0, nv = 0;
        for (unsigned j = 0; j < s->w->o.nodes; j++) {
            uint64_t id = s->nodes[j].id;
            if (raft_check_conf_has(m.voters, m.n_voters, id)) {
                if (id != n->id)
                    vot[nv++] = id;
            } else if (raft_check_conf_has(m.observers, m.n_observers, id))
                obs[no++] = id;
            else
                non[nn++] = id;
        }
        size_t min = s->n_voters < 3 ? s->n_voters : 3;
        bool leads = raft_check_conf_has(m.voters, m.n_voters, n->id);
        size_t total = nv + leads;
        unsigned first = (unsigned)(chg_draw(s) % 7);
        for (unsigned t = 0; t < 7 && nch == 0; t++) {
            kind = (first + t) % 7;
            switch (kind) {
            case CK_ADD_OBS:
                if (nn)
                    ch[nch++] =
                        (ut_consensus_change_t){UT_CONSENSUS_ADD_OBSERVER, non[chg_draw(s) % nn]};
                break;
            case CK_PROMOTE:
                if (no)
                    ch[nch++] =
                        (ut_consensus_change_t){UT_CONSENSUS_PROMOTE, obs[chg_draw(s) % no]};
                break;
            case CK_ADD_VOTER:
                if (nn)
                    ch[nch++] =
                        (ut_consensus_change_t){UT_CONSENSUS_ADD_VOTER, non[chg_draw(s) % nn]};
                break;
            case CK_REMOVE:
                if (nv && total > min)
                    ch[nch++] =
                        (ut_consensus_change_t){UT_CONSENSUS_REMOVE_VOTER, vot[chg_draw(s) % nv]};
                break;
            case CK_REMOVE_LEADER:
                if (leads && total > min)
                    ch[nch++] = (ut_consensus_change_t){UT_CONSENSUS_REMOVE_VOTER, n->id};
                break;
            case CK_REMOVE_OBS:
                if (no)
                    ch[nch++] = (ut_consensus_change_t){UT_CONSENSUS_REMOVE_OBSERVER,
                                                        obs[chg_draw(s) % no]};
                break;
            case CK_JOINT: {
                /* out: k voters (the leader among them on some turns), in:
                 * k nodes, observers promoted or outsiders added */
                size_t k = 1 + chg_draw(s) % 2;
                if (k > nn + no)
                    k = nn + no;
                if (k > total)
                    k = total;
                if (k == 0)
                    break;
                size_t out = 0;
                if (leads && chg_draw(s) % 3 == 0) {
                    ch[nch++] = (ut_consensus_change_t){UT_CONSENSUS_REMOVE_VOTER, n->id};
                    out++;
                }
                size_t off = nv ? chg_draw(s) % nv : 0;
                for (size_t v = 0; v < nv && out < k; v++, out++)
                    ch[nch++] =
                        (ut_consensus_change_t){UT_CONSENSUS_REMOVE_VOTER, vot[(off + v) % nv]};
                for (size_t a = 0; a < out; a++)
                    ch[nch++] = a < no
                                    ? (ut_consensus_change_t){UT_CONSENSUS_PROMOTE, obs[a]}
                                    : (ut_consensus_change_t){UT_CONSENSUS_ADD_VOTER, non[a - no]};
                flags = UT_CONSENSUS_CHANGE_JOINT |
                        (chg_draw(s) & 1 ? UT_CONSENSUS_CHANGE_AUTO_LEAVE : 0u);
                break;
            }
            }
        }
        if (nch == 0)
            return;
        rc = ut_consensus_propose_change(n->h, ch, nch, flags, &at);
    }
    if (rc == UT_ENOMEM) {
        sim_fail(s->w);
        return;
    }
    if (rc == UT_EBUSY || rc == UT_ENOTLEADER) {
        chg_tot.refused++; /* pending change, new leader, lagging observer */
        return;
    }
    if (rc != UT_OK) {
        sim_violation(s->w, "membership",
                      "leader %" PRIu64 " refused a valid change (kind %u, %zu changes): %s (%s)",
                      n->id, kind, nch, ut_strerror(rc), ut_consensus_errmsg(n->h));
        return;
    }
    chg_tot.kind[kind]++;
    /* A node added back starts again (the host had shut it down) */
    for (size_t k = 0; k < nch; k++)
        if (ch[k].type == UT_CONSENSUS_ADD_OBSERVER || ch[k].type == UT_CONSENSUS_ADD_VOTER) {
            node_t *a = &s->nodes[ch[k].id - 1];
            if (a->stopped)
                chg_tot.joined++;
            a->stopped = false;
            a->rejoin_at = at;
        }
    sim_hint(s->w, i, SIM_HINT_APPENDED);
    drain(s, i);
}
/* <<< rsim */

/* >>> rsimx: the workload's leader transfers, started about every xfer_ms
 * (uniform in [xfer_ms/2, 3*xfer_ms/2)) outside the quiet phase by the
 * leader of the highest term among the running nodes, to a voter of its
 * configuration drawn at random (either half when joint).
 *
 * Thesis §3.10: a leader that has not handed over within an election
 * timeout aborts and accepts proposals again. Checked on its ticks: still
 * leading its term, it holds a transfer at most XFER_ABORT_MS (300 local ms
 * at the slowest clock, 0.95 of real time, is 316 ms, plus a tick: twice
 * the election timeout leaves room) and, while it holds one, it refuses
 * proposals (raft_request). */
#define XFER_ABORT_MS (2u * ELECTION_MS)

static void maybe_transfer(raft_t *s, unsigned i)
{
    node_t *n = &s->nodes[i];
    if (ut_consensus_state(n->h) != UT_CONSENSUS_LEADER)
        return;
    uint64_t now = sim_now(s->w);
    uint64_t term = ut_consensus_term(n->h);
    if (xfer_leading(s, i)) {
        uint64_t t = xfer_target_of(n);
        s->w->r->stats.invariant_checks++;
        if (t == 0) {
            xf_tot.aborted++; /* still leading, the transfer dropped (timed
                               * out, or its target left the configuration) */
            s->xf.active = false;
            s->xf.aborted = true;
        } else if (now - s->xf.at > XFER_ABORT_MS) {
            sim_violation(s->w, "transfer-abort",
                          "leader %" PRIu64 " of term %" PRIu64 " still transfers to %" PRIu64
                          " %" PRIu64 " ms after it started (it aborts after one election "
                          "timeout, %u ms)",
                          n->id, term, t, now - s->xf.at, ELECTION_MS);
            return;
        }
    }
    if (now < s->next_xfer || sim_quiet(s->w))
        return;
    /* The current leader: the highest term's among the running nodes. */
    for (unsigned j = 0; j < s->w->o.nodes; j++) {
        const node_t *o = &s->nodes[j];
        if (j != i && sim_node_up(s->w, j) && !o->stopped &&
            ut_consensus_state(o->h) == UT_CONSENSUS_LEADER && ut_consensus_term(o->h) > term)
            return;
    }
    /* One transfer followed at a time: another leader's (down, or of
     * another term) ends with the next election. */
    if (s->xf.active && !xfer_leading(s, i))
        return;
    s->next_xfer = now + s->xfer_ms / 2 + sim_splitmix64(&s->xrng) % s->xfer_ms;
    ut_consensus_membership_t m;
    if (ut_consensus_membership(n->h, &m, NULL) != UT_OK)
        return;
    uint64_t cand[2 * UT_CONSENSUS_MAX_NODES];
    size_t nc = 0;
    for (size_t k = 0; k < m.n_voters + m.n_voters_outgoing; k++) {
        uint64_t id = k < m.n_voters ? m.voters[k] : m.voters_outgoing[k - m.n_voters];
        if (id != n->id && !raft_check_conf_has(cand, nc, id))
            cand[nc++] = id;
    }
    if (nc == 0) {
        xf_tot.no_target++; /* the only voter */
        return;
    }
    uint64_t target = cand[sim_splitmix64(&s->xrng) % nc];
    uint64_t before = xfer_target_of(n);
    int rc = ut_consensus_transfer(n->h, target);
    if (rc == UT_ENOMEM) {
        sim_fail(s->w);
        return;
    }
    if (rc == UT_EBUSY || rc == UT_ENOTLEADER) {
        xf_tot.refused++; /* another transfer under way */
        return;
    }
    if (rc != UT_OK) {
        sim_violation(s->w, "transfer",
                      "leader %" PRIu64 " of term %" PRIu64 " refused a transfer to %" PRIu64
                      ", a voter of its configuration: %s (%s)",
                      n->id, term, target, ut_strerror(rc), ut_consensus_errmsg(n->h));
        return;
    }
    if (before == target) {
        xf_tot.repeated++; /* already under way to it: nothing changes */
        return;
    }
    if (s->xf.active)
        xf_tot.unresolved++; /* the host missed its end: every end it can
                              * see clears xf.active, so this stays 0 */
    s->xf.active = true;
    s->xf.aborted = false;
    s->xf.leader = i;
    s->xf.term = term;
    s->xf.target = target;
    s->xf.at = now;
    xf_tot.started++;
    drain(s, i);
}
/* <<< rsimx */

/* The fault scheduler's preferred victim: the leader of the highest term. */
/* Observers are the last nodes (create): only voters make quorums. */
static bool raft_voter(void *ctx, unsigned i)
{
    const raft_t *s = ctx;
    if (s->changes_ms) /* rsim: the voters of the latest committed configuration */
        return conf_voter(committed_conf(s, UINT64_MAX), s->nodes[i].id);
    return i < s->n_voters;
}

static bool raft_target(void *ctx, unsigned *idx)
{
    raft_t *s = ctx;
    uint64_t best = 0, term = 0;
    for (unsigned i = 0; i < s->w->o.nodes; i++) {
        node_t *n = &s->nodes[i];
        if (sim_node_up(s->w, i) && ut_consensus_state(n->h) == UT_CONSENSUS_LEADER &&
            ut_consensus_term(n->h) >= term) {
            term = ut_consensus_term(n->h);
            best = n->id;
            *idx = i;
        }
    }
    return best != 0;
}

static void raft_tick(void *ctx, unsigned i, uint64_t local_ms)
{
    raft_t *s = ctx;
    node_t *n = &s->nodes[i];
    if (n->stopped) /* rsim: shut down */
        return;
    uint64_t term = ut_consensus_term(n->h);
    int rc = ut_consensus_tick(n->h, local_ms);
    if (rc == UT_ENOMEM)
        sim_fail(s->w);
    else if (rc != UT_OK)
        sim_violation(s->w, "tick", "node %" PRIu64 " tick: %s", n->id, ut_strerror(rc));
    /* A timer raises the term only by starting an election (§5.2): the node
     * is then a candidate (or the leader, alone). A pre-vote round (thesis
     * §9.6) leaves the term as it is. */
    s->w->r->stats.invariant_checks++;
    if (ut_consensus_term(n->h) != term && ut_consensus_state(n->h) != UT_CONSENSUS_CANDIDATE &&
        ut_consensus_state(n->h) != UT_CONSENSUS_LEADER)
        sim_violation(s->w, "term-without-election",
                      "node %" PRIu64 " moved from term %" PRIu64 " to %" PRIu64
                      " on a timer without becoming a candidate",
                      n->id, term, ut_consensus_term(n->h));
    if (s->changes_ms) /* rsim */
        maybe_change(s, i);
    if (s->xfer_ms) /* rsimx */
        maybe_transfer(s, i);
}

static void raft_deliver(void *ctx, unsigned i, const ut_msg_t *m)
{
    raft_t *s = ctx;
    node_t *n = &s->nodes[i];
    if (n->stopped) /* rsim: shut down, the message is lost */
        return;
    int rc = ut_consensus_step(n->h, m);
    if (rc == UT_ENOMEM) {
        sim_fail(s->w);
        return;
    }
    /* >>> rsim: a message from a node that is no member of this node's
     * configuration (one removed, or one not added yet here) is refused
     * with UT_ENOTFOUND, and a (pre-)vote request from one that is no voter
     * here while a leader is alive with UT_EINVAL (consensus.h,
     * ut_consensus_step; docs/consensus.md, "Membership changes": thesis
     * §4.2.3, a removed node cannot disrupt) */
    bool vote_req = m->type == UT_MSG_VOTE || m->type == UT_MSG_PREVOTE;
    if ((rc == UT_ENOTFOUND || (rc == UT_EINVAL && vote_req)) && s->changes_ms) {
        ut_consensus_membership_t mb;
        if (ut_consensus_membership(n->h, &mb, NULL) == UT_OK &&
            !raft_check_conf_has(mb.voters, mb.n_voters, m->from) &&
            !raft_check_conf_has(mb.voters_outgoing, mb.n_voters_outgoing, m->from) &&
            (rc == UT_EINVAL || !raft_check_conf_has(mb.observers, mb.n_observers, m->from))) {
            s->w->r->stats.msgs_rejected++;
            return;
        }
    }
    /* <<< rsim */
    /* >>> rsimx: a TimeoutNow that reaches a node that does not follow its
     * sender in that term (restarted since, so it knows no leader) or is no
     * voter: refused with UT_ESTATE, nothing changed (consensus.h,
     * ut_consensus_transfer) */
    if (rc == UT_ESTATE && m->type == UT_MSG_TIMEOUT_NOW && s->xfer_ms) {
        xf_tot.timeout_now_refused++;
        s->w->r->stats.msgs_rejected++;
        return;
    }
    /* a TimeoutNow of an aborted transfer that the target still acts on
     * (sent before the abort, delivered after it) */
    if (rc == UT_OK && m->type == UT_MSG_TIMEOUT_NOW && s->xf.aborted && n->id == s->xf.target &&
        m->term == s->xf.term && m->from == s->nodes[s->xf.leader].id)
        xf_tot.late_timeout_now++;
    /* <<< rsimx */
    if (rc != UT_OK && rc != UT_ESTALE) {
        s->w->r->stats.msgs_rejected++;
        sim_violation(s->w, "message-validity",
                      "node %" PRIu64 " rejected a %s from node %" PRIu64 " (term %" PRIu64
                      "): %s: %s",
                      n->id, ut_msg_type_name(m->type), m->from, m->term, ut_err_name(rc),
                      ut_consensus_errmsg(n->h));
    }
}

static void raft_drain(void *ctx, unsigned i)
{
    drain(ctx, i);
}

/* A voter that just granted its vote: crashing it now, while the election
 * it voted in still runs, finds a vote that never reached the disk
 * (Figure 2: votedFor is persistent state). */
static bool raft_crash_point(void *ctx, unsigned i, const ut_msg_t *m)
{
    (void)ctx;
    (void)i;
    return m->type == UT_MSG_VOTE_RESP && m->body.vote_resp.granted;
}

static int raft_create(sim_world_t *w, void **out)
{
    raft_t *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->w = w;
    raft_check_init(&s->ck, &w->r->stats.invariant_checks);
    for (unsigned i = 0; i < w->o.nodes; i++) {
        s->ids[i] = i + 1;
        s->nodes[i].id = i + 1;
    }
    ut_consensus_config_t def;
    ut_consensus_config_init(&def, UT_CONSENSUS_CONFIG_VERSION);
    s->pre_vote = def.pre_vote;
    s->check_quorum = def.check_quorum;
    s->n_observers = 0;
    s->n_voters = w->o.nodes;
    s->max_append_entries = def.max_append_entries;
    s->max_append_bytes = def.max_append_bytes;
    s->max_inflight = def.max_inflight;
    if (w->o.vary_config) {
        /* Drawn from a stream of its own, so that the world's streams (and
         * with them the fault schedule of a seed) do not depend on it. The
         * settings the unit random test varies: a path a setting guards
         * (pre-vote, check-quorum, observers, batching) is then exercised
         * by some seeds. Observers: none for half the seeds, else 1 or up
         * to (nodes - 1) / 2, the most that leaves the voters a majority of
         * the cluster (a commit quorum that counted observers could then
         * be all observers but the leader). */
        uint64_t x = w->o.seed ^ 0x5eed5eed5eed5eedull;
        uint64_t r = sim_splitmix64(&x);
        static const size_t entries[] = {1, 4, 256};
        static const size_t bytes[] = {64, 4096, 1u << 20};
        static const unsigned inflight[] = {1, 2, 16};
        unsigned most = (w->o.nodes - 1) / 2;
        unsigned k = (unsigned)((r >> 2) & 3);
        s->pre_vote = r & 1;
        s->check_quorum = (r >> 1) & 1;
        s->n_observers = k < 2 ? 0 : k == 2 ? (most ? 1 : 0) : most;
        s->n_voters = w->o.nodes - s->n_observers;
        s->max_append_entries = entries[(r >> 8) % 3];
        s->max_append_bytes = bytes[(r >> 16) % 3];
        s->max_inflight = inflight[(r >> 24) % 3];
    }
    /* >>> rsnap: --compact K, or --compact auto: half the seeds compact
     * every 3..24 applied entries with chunks of 16..271 bytes, drawn from
     * a stream of their own */
    if (compact_opt != 0) {
        uint64_t x = w->o.seed ^ 0xc0a1e5ceull;
        uint64_t r = sim_splitmix64(&x);
        s->compact_every = compact_opt != UINT64_MAX ? compact_opt
                           : (r & 1)                 ? 3 + (r >> 1) % 22
                                                     : 0;
        s->snapshot_chunk = 16 + (size_t)((r >> 8) % 256);
    }
    /* <<< rsnap */
    /* >>> rsim: with --changes the last node (of 4 or more) starts as a
     * spare, outside the configuration (an observer place, else a voter's) */
    s->changes_ms = changes_opt;
    s->crng = w->o.seed ^ 0xc4a9e5c4a9e5ull;
    if (s->changes_ms && w->o.nodes >= 4) {
        s->n_spare = 1;
        if (s->n_observers)
            s->n_observers--;
        else
            s->n_voters--;
    }
    s->next_change =
        s->changes_ms ? s->changes_ms / 2 + sim_splitmix64(&s->crng) % s->changes_ms : UINT64_MAX;
    s->conf0.n_voters = s->n_voters;
    memcpy(s->conf0.voters, s->ids, s->n_voters * sizeof(uint64_t));
    s->conf0.n_observers = s->n_observers;
    memcpy(s->conf0.observers, s->ids + s->n_voters, s->n_observers * sizeof(uint64_t));
    /* <<< rsim */
    /* >>> rsimx: transfers from a stream of their own */
    s->xfer_ms = transfers_opt;
    s->xrng = w->o.seed ^ 0x7a4f5e7a4f5eull;
    s->next_xfer = s->xfer_ms ? s->xfer_ms / 2 + sim_splitmix64(&s->xrng) % s->xfer_ms : UINT64_MAX;
    /* <<< rsimx */
    /* >>> rutsim: a lease rests on check-quorum (docs/consensus.md, "Leases"):
     * --reads lease forces it on for every seed, so that every seed reads
     * by lease (the rest of the drawn configuration is kept) */
    if (reads_opt == READS_LEASE)
        s->check_quorum = true;
    /* <<< rutsim */
    *out = s;
    return 0;
}

static void raft_destroy(void *ctx)
{
    raft_t *s = ctx;
    if (!s)
        return;
    for (unsigned i = 0; i < SIM_MAX_NODES; i++) {
        ut_consensus_free(s->nodes[i].h);
    }
    raft_check_free(&s->ck);
    free(s->state_hash);              /* rsnap */
    raft_check_confs_free(&s->confs); /* rsim */
    free(s);
}

static void raft_finish(void *ctx, sim_result_t *r)
{
    raft_t *s = ctx;
    r->stats.scen[ST_COMMIT] = s->ck.max_commit;
    chg_tot.seeds += s->changes_ms != 0;    /* rsim */
    rd_tot.seeds += reads_opt != READS_LOG; /* rutsim */
    /* >>> rsimx */
    xf_tot.seeds += s->xfer_ms != 0;
    if (s->xf.active)
        xf_tot.unresolved++;
    /* <<< rsimx */
}

static int set_no_durability(sim_options_t *o, const char *v, char *err, size_t cap)
{
    (void)v;
    (void)err;
    (void)cap;
    o->durability_checks = false;
    return 0;
}

static void replay_no_durability(const sim_options_t *o, char *buf, size_t cap)
{
    if (!o->durability_checks)
        snprintf(buf, cap, " --no-durability-checks");
}

static int set_vary_config(sim_options_t *o, const char *v, char *err, size_t cap)
{
    (void)v;
    (void)err;
    (void)cap;
    o->vary_config = true;
    return 0;
}

static int set_fixed_config(sim_options_t *o, const char *v, char *err, size_t cap)
{
    (void)v;
    (void)err;
    (void)cap;
    o->vary_config = false;
    return 0;
}

static void replay_fixed_config(const sim_options_t *o, char *buf, size_t cap)
{
    if (!o->vary_config)
        snprintf(buf, cap, " --fixed-config");
}

static int set_trace(sim_options_t *o, const char *v, char *err, size_t cap)
{
    (void)o;
    char *end = NULL;
    unsigned long long id = v ? strtoull(v, &end, 10) : 0;
    if (!v || end == v || *end != '\0' || id == 0 || id > SIM_MAX_NODES) {
        snprintf(err, cap, "want a node id from 1 to %u, got '%s'", SIM_MAX_NODES, v ? v : "");
        return -1;
    }
    trace_node = id;
    return 0;
}

static void replay_trace(const sim_options_t *o, char *buf, size_t cap)
{
    (void)o;
    if (trace_node != 0)
        snprintf(buf, cap, " --trace %" PRIu64, trace_node);
}

/* >>> rsnap */
static int set_compact(sim_options_t *o, const char *v, char *err, size_t cap)
{
    (void)o;
    if (v && strcmp(v, "auto") == 0) {
        compact_opt = UINT64_MAX;
        return 0;
    }
    char *end = NULL;
    unsigned long long k = v ? strtoull(v, &end, 10) : 0;
    if (!v || end == v || *end != '\0' || k > 1000000) {
        snprintf(err, cap, "want auto or a count of entries up to 1000000, got '%s'", v ? v : "");
        return -1;
    }
    compact_opt = k;
    return 0;
}

static void replay_compact(const sim_options_t *o, char *buf, size_t cap)
{
    (void)o;
    if (compact_opt == UINT64_MAX)
        snprintf(buf, cap, " --compact auto");
    else if (compact_opt != 0)
        snprintf(buf, cap, " --compact %" PRIu64, compact_opt);
}
/* <<< rsnap */

/* >>> rsim */
static void print_change_totals(void)
{
    if (chg_tot.seeds == 0)
        return;
    fprintf(stderr,
            "raft --changes: %" PRIu64 " seeds, changes made: %" PRIu64 " add-observer, %" PRIu64
            " promote, %" PRIu64 " add-voter, %" PRIu64 " remove-voter, %" PRIu64
            " remove-leader, %" PRIu64 " remove-observer, %" PRIu64 " joint, %" PRIu64
            " leave-joint; %" PRIu64 " refused (busy), %" PRIu64
            " configurations committed, %" PRIu64 " removed nodes shut down, %" PRIu64
            " rejoined, %" PRIu64 " snapshots' membership checked\n",
            chg_tot.seeds, chg_tot.kind[CK_ADD_OBS], chg_tot.kind[CK_PROMOTE],
            chg_tot.kind[CK_ADD_VOTER], chg_tot.kind[CK_REMOVE], chg_tot.kind[CK_REMOVE_LEADER],
            chg_tot.kind[CK_REMOVE_OBS], chg_tot.kind[CK_JOINT], chg_tot.kind[CK_LEAVE],
            chg_tot.refused, chg_tot.committed, chg_tot.stopped, chg_tot.joined,
            chg_tot.snap_checked);
}

/* A mean interval option (--changes, --transfers): 0 (off) or 2 to
 * 3600000 ms. */
static int parse_interval_ms(const char *v, uint64_t *out, char *err, size_t cap)
{
    char *end = NULL;
    unsigned long long ms = v ? strtoull(v, &end, 10) : 0;
    if (!v || end == v || *end != '\0' || (ms != 0 && ms < 2) || ms > 3600000) {
        snprintf(err, cap, "want a mean interval in ms from 2 to 3600000 (0: none), got '%s'",
                 v ? v : "");
        return -1;
    }
    *out = ms;
    return 0;
}

static int set_changes(sim_options_t *o, const char *v, char *err, size_t cap)
{
    (void)o;
    uint64_t ms;
    if (parse_interval_ms(v, &ms, err, cap) != 0)
        return -1;
    if (ms && !changes_opt)
        atexit(print_change_totals);
    changes_opt = ms;
    return 0;
}

static void replay_changes(const sim_options_t *o, char *buf, size_t cap)
{
    (void)o;
    if (changes_opt != 0)
        snprintf(buf, cap, " --changes %" PRIu64, changes_opt);
}
/* <<< rsim */

/* >>> rutsim */
static void print_read_totals(void)
{
    if (rd_tot.seeds == 0)
        return;
    fflush(stdout); /* after the sweep's summary */
    fprintf(stderr,
            "raft --reads %s: %" PRIu64 " seeds, reads: %" PRIu64 " queued, %" PRIu64
            " refused (no leader known, busy), %" PRIu64 " given an index, %" PRIu64 " served\n",
            reads_opt == READS_LEASE ? "lease" : "index", rd_tot.seeds, rd_tot.asked,
            rd_tot.refused, rd_tot.indexed, rd_tot.served);
}

static int set_reads(sim_options_t *o, const char *v, char *err, size_t cap)
{
    (void)o;
    unsigned mode;
    if (v && strcmp(v, "log") == 0)
        mode = READS_LOG;
    else if (v && strcmp(v, "index") == 0)
        mode = READS_INDEX;
    else if (v && strcmp(v, "lease") == 0)
        mode = READS_LEASE;
    else {
        snprintf(err, cap, "want log, index or lease, got '%s'", v ? v : "");
        return -1;
    }
    if (mode != READS_LOG && reads_opt == READS_LOG)
        atexit(print_read_totals);
    reads_opt = mode;
    return 0;
}

static void replay_reads(const sim_options_t *o, char *buf, size_t cap)
{
    (void)o;
    if (reads_opt != READS_LOG)
        snprintf(buf, cap, " --reads %s", reads_opt == READS_LEASE ? "lease" : "index");
}
/* <<< rutsim */

/* >>> rsimx */
static void print_transfer_totals(void)
{
    if (xf_tot.seeds == 0)
        return;
    fflush(stdout); /* after the sweep's summary */
    fprintf(stderr,
            "raft --transfers: %" PRIu64 " seeds, transfers: %" PRIu64 " started, %" PRIu64
            " completed (%" PRIu64 " within %u ms; mean %" PRIu64 " ms, max %" PRIu64
            " ms), %" PRIu64 " superseded (another node won), %" PRIu64
            " aborted (election timeout; %" PRIu64 " targets won the next election anyway, %" PRIu64
            " acted on a TimeoutNow after the abort), %" PRIu64 " unresolved, %" PRIu64
            " refused (busy, not leader), %" PRIu64 " already under way, %" PRIu64
            " without a target; %" PRIu64 " proposals refused (busy), %" PRIu64
            " TimeoutNow refused (not following)\n",
            xf_tot.seeds, xf_tot.started, xf_tot.completed, xf_tot.done_fast, ELECTION_MS,
            xf_tot.completed ? xf_tot.done_ms / xf_tot.completed : 0, xf_tot.done_max_ms,
            xf_tot.superseded, xf_tot.aborted, xf_tot.won_after_abort, xf_tot.late_timeout_now,
            xf_tot.unresolved, xf_tot.refused, xf_tot.repeated, xf_tot.no_target,
            xf_tot.busy_proposals, xf_tot.timeout_now_refused);
}

static int set_transfers(sim_options_t *o, const char *v, char *err, size_t cap)
{
    (void)o;
    uint64_t ms;
    if (parse_interval_ms(v, &ms, err, cap) != 0)
        return -1;
    if (ms && !transfers_opt)
        atexit(print_transfer_totals);
    transfers_opt = ms;
    return 0;
}

static void replay_transfers(const sim_options_t *o, char *buf, size_t cap)
{
    (void)o;
    if (transfers_opt != 0)
        snprintf(buf, cap, " --transfers %" PRIu64, transfers_opt);
}
/* <<< rsimx */

static const sim_scenario_option_t raft_options[] = {
    {"no-durability-checks", false,
     "  --no-durability-checks\n"
     "                    raft: do not check that a node's term and commit survive its\n"
     "                    restarts; only Raft's own invariants then catch a lying disk\n",
     set_no_durability, replay_no_durability},
    {"fixed-config", false,
     "  --fixed-config    raft: run every seed with the library's default configuration\n"
     "                    (pre-vote and check-quorum on, no observers); by default the\n"
     "                    configuration is drawn from the seed: pre-vote and check-quorum\n"
     "                    on or off, up to (nodes-1)/2 observers, batching (entries,\n"
     "                    bytes per AppendEntries) and in-flight limits\n",
     set_fixed_config, replay_fixed_config},
    {"vary-config", false,
     "  --vary-config     raft: draw the configuration from the seed (the default)\n",
     set_vary_config, NULL},
    {"trace", true,
     "  --trace NODE      raft: print node NODE's trace events (role and term changes,\n"
     "                    refused input with its reason, step-downs, timeouts) to stderr\n",
     set_trace, replay_trace},
    /* >>> rsnap */
    {"compact", true,
     "  --compact K|auto  raft: every node compacts its log each K applied entries (its\n"
     "                    state machine as the snapshot, on its disk), so lagging and\n"
     "                    restarted nodes get InstallSnapshot; auto: half the seeds, K and\n"
     "                    the chunk size drawn from the seed; default never\n",
     set_compact, replay_compact},
    /* <<< rsnap */
    /* >>> rsim */
    {"changes", true,
     "  --changes MS      raft: membership changes about every MS ms (0: none, the\n"
     "                    default): the leader adds and removes voters and observers,\n"
     "                    promotes observers, removes itself, replaces voters through\n"
     "                    joint configurations; the last node (of 4 or more) starts\n"
     "                    outside the cluster; removed nodes are shut down\n",
     set_changes, replay_changes},
    /* <<< rsim */
    /* >>> rutsim */
    {"reads", true,
     "  --reads MODE      raft: how GETs are served: log (the default: proposed and\n"
     "                    applied like writes), index (ReadIndex, ut_consensus_read_index,\n"
     "                    on the node the client asks: a follower forwards to its\n"
     "                    leader; answered once the node applied the read index) or\n"
     "                    lease (the same with the leader's lease; check-quorum forced\n"
     "                    on, max_clock_drift_ms 50, from the +-5% clock rates of skew)\n",
     set_reads, replay_reads},
    /* <<< rutsim */
    /* >>> rsimx */
    {"transfers", true,
     "  --transfers MS    raft: leader transfers about every MS ms (0: none, the\n"
     "                    default): the leader calls ut_consensus_transfer to a voter\n"
     "                    of its configuration drawn at random (proposals get UT_EBUSY\n"
     "                    meanwhile: answered as not leader); none in the quiet phase\n",
     set_transfers, replay_transfers},
    /* <<< rsimx */
};

static const sim_stat_def_t raft_stats[] = {
    [ST_LEADERS] = {"leaders_elected"}, /* terms that had a leader */
    [ST_CHANGES] = {"leader_changes"},  /* times the newest leader was another node */
    [ST_MAX_TERM] = {"max_term"},
    [ST_COMMIT] = {"commit_index"},     /* highest committed index in the cluster */
    [ST_APPLIED] = {"entries_applied"}, /* normal entries applied, all nodes */
};

static const sim_stat_row_t raft_rows[] = {
    {"leaders", "{leaders_elected} elected, {leader_changes} leader changes, highest term "
                "{max_term}"},
    {"commits", "index {commit_index} committed, {entries_applied} commands applied across nodes"},
};

const sim_scenario_t sim_scenario_raft = {
    .name = "raft",
    .summary = "libunitypes' Raft core (ut_consensus_t) with a replicated key-value store",
    .help = "  N nodes of ut_consensus_t (election timeout 300 ms, heartbeat 50 ms) replicate\n"
            "  the clients' key-value commands; each node persists its hard state and log to\n"
            "  the world's disk and applies committed commands to an in-memory store with\n"
            "  exactly-once sessions. After every event: election safety, log matching,\n"
            "  leader completeness, state machine safety (Raft paper 5.2-5.4), term, vote\n"
            "  and commit surviving restarts, and the library's ready/persist/codec\n"
            "  contracts; at the end, linearizability of the history.\n",
    .title = "Raft",
    .stats = raft_stats,
    .n_stats = sizeof raft_stats / sizeof raft_stats[0],
    .rows = raft_rows,
    .n_rows = sizeof raft_rows / sizeof raft_rows[0],
    .sweep_text = "{leaders_elected} leaders elected",
    .seed_text = "{leaders_elected} leaders, {leader_changes} changes, term {max_term}",
    .invariants = "election safety, log matching, leader completeness,\n"
                  "               state machine safety, persistent term, vote and commit,\n"
                  "               commit rule, term without election, check-quorum, liveness",
    .crash_point_text = "right after a vote",
    .options = raft_options,
    .n_options = sizeof raft_options / sizeof raft_options[0],
    .create = raft_create,
    .destroy = raft_destroy,
    .node_start = raft_node_start,
    .node_crash = raft_node_crash,
    .tick = raft_tick,
    .deliver = raft_deliver,
    .drain = raft_drain,
    .request = raft_request,
    .crash_point = raft_crash_point,
    .target = raft_target,
    .voter = raft_voter,
    .finish = raft_finish,
};
