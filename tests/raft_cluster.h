/* SPDX-License-Identifier: MIT */
/* An in-process Raft cluster for tests: N ut_consensus_t nodes, an in-memory
 * "disk" per node that holds exactly what ready() said to persist, a network
 * of deep-copied messages delivered by hand (drop, duplicate, reorder,
 * partition), crash = free the handle, restart = new handle restored from the
 * disk only, and an application per node that records what it applied.
 *
 * The harness also checks the Raft safety properties (Raft paper §5.2, §5.3,
 * §5.4, Figure 3) every time a node's ready is processed, with the checker
 * utsim uses too (raft_check.h; c->err then starts with its invariant name):
 *   - election-safety: at most one leader per term, over the whole run;
 *   - log-matching: two persisted logs with an entry of the same index and
 *     term are identical up to that index;
 *   - leader-completeness: a new leader holds every entry committed so far;
 *   - state-machine-safety: no two nodes commit or apply different entries
 *     at an index;
 * and on its own:
 *   - a node's term never decreases, it grants at most one vote per term
 *     (§5.2, across restarts) and its persisted vote never changes within a
 *     term;
 *   - persistence rules: entries appended consecutively, committed entries
 *     never truncated, committed entries durable before they are applied.
 * The first violation is recorded in c->err and c->failed is set. */
#ifndef UT_TEST_RAFT_CLUSTER_H
#define UT_TEST_RAFT_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <unitypes.h>

#include "raft_check.h"

#define RC_MAX_NODES 9

typedef struct rc_entry {
    uint64_t term, index;
    uint32_t type, len;
    uint8_t *data;
    uint64_t prefix; /* raft_check_hash of the log prefix 1..index */
} rc_entry_t;

typedef struct rc_applied {
    uint64_t index, term;
    uint32_t type, len;
    uint64_t hash; /* payload hash */
    /* >>> rsnap */
    uint64_t ck_hash; /* raft_check_hash of the entry (a snapshot's records are checked) */
    /* <<< rsnap */
} rc_applied_t;

typedef struct rc_node {
    uint64_t id;
    bool observer;
    bool up;
    ut_consensus_t *h;
    /* Disk: hard state and log, exactly as ready() asked. */
    bool has_hs;
    ut_consensus_hard_state_t hs;
    rc_entry_t *log;
    size_t n_log, cap_log;
    /* Application: applied[i] is index i+1 (survives crashes, like an
     * application that persists its state machine). */
    rc_applied_t *applied;
    size_t n_applied, cap_applied;
    uint64_t apply_next;  /* 0 after restart: next committed may re-apply */
    uint64_t max_term;    /* highest term ever seen on this node */
    uint64_t life_commit; /* commit index in this life (never decreases) */
    unsigned restarts;
    uint64_t *granted; /* granted[t]: candidate this node voted for in term t */
    size_t cap_granted;
    uint64_t truncations; /* ready.truncate_from != 0 seen */
    int last_step_rc;
    /* >>> rsnap: the disk's snapshot; the disk's log holds the indexes
     * disk_off + 1 .. disk_off + n_log (disk_off = its snapshot's index) */
    uint64_t disk_off;
    bool has_snap;
    uint64_t snap_index, snap_term, snap_prefix; /* prefix: Log Matching hash up to it */
    uint8_t *snap_data; /* the application state: snap_index rc_applied_t records */
    size_t snap_len;
    uint64_t lib_off;         /* the library's offset as this harness made it */
    uint64_t snaps_installed; /* ready.snapshot seen */
    uint64_t compactions;     /* ut_consensus_compact() calls that succeeded */
    /* <<< rsnap */
    /* >>> rmemb: membership changes */
    bool joined;          /* added by rc_add_node: created as an observer of itself */
    uint64_t disk_conf;   /* index of the latest UT_ENTRY_CONFIG on the disk, or 0 */
    uint64_t lead_term;   /* term in which the commit check below last saw it lead */
    uint64_t lead_commit; /* its commit index then (commit-quorum check) */
    /* <<< rmemb */
} rc_node_t;

typedef struct rc_msg {
    ut_msg_t m;
    void *buf; /* entries + payloads, one allocation */
} rc_msg_t;

struct rc_cluster;
typedef void (*rc_send_hook_t)(struct rc_cluster *c, const ut_msg_t *m, void *ud);
typedef bool (*rc_pred_t)(const ut_msg_t *m, void *ud);

typedef struct rc_cluster {
    size_t n; /* nodes with ids 1..n; voters first, then observers */
    rc_node_t node[RC_MAX_NODES];
    uint64_t voters[RC_MAX_NODES];
    size_t n_voters;
    uint64_t observers[RC_MAX_NODES];
    size_t n_observers;
    ut_consensus_config_t cfg; /* template; id set per node */
    uint64_t now;
    uint64_t tick_ms; /* step of rc_run() */

    rc_msg_t *net; /* in flight, FIFO order */
    size_t n_net, cap_net;
    bool cut[RC_MAX_NODES + 1][RC_MAX_NODES + 1];

    bool record; /* keep a deep copy of every sent message in hist */
    rc_msg_t *hist;
    size_t n_hist, cap_hist;

    rc_send_hook_t on_send;
    void *on_send_ud;
    /* >>> rread: every read state a node's ready hands out (thesis §6.4) */
    void (*on_read)(struct rc_cluster *c, uint64_t id, const ut_consensus_read_state_t *rs,
                    void *ud);
    void *on_read_ud;
    /* <<< rread */

    uint64_t sent, dropped, delivered;
    uint64_t sent_type[16];

    /* Safety bookkeeping: what was led, committed, applied and stored. */
    raft_check_t ck;

    bool no_vote_check; /* skip the one-vote-per-term check (see random test) */
    /* >>> rsnap */
    uint64_t compact_every; /* 0: never; else every node compacts each K applied entries */
    /* <<< rsnap */
    /* >>> rmemb: skip the commit-quorum check, for tests that inject forged
     * acknowledgements (a follower "storing" what its disk lacks) */
    bool no_commit_quorum_check;
    /* Every configuration entry any node applied (committed, so the same
     * on every node), by index: what a snapshot up to an index must hold
     * (thesis §5.1), known independently of the library. */
    raft_check_confs_t confs;
    /* <<< rmemb */
    /* >>> rstat: fail when has_ready() said yes and ready() was empty (the
     * documented loop would spin on a core that over-reports) */
    bool strict_has_ready;
    /* <<< rstat */
    bool failed;
    char err[512];
    uint64_t rng;
} rc_cluster_t;

/* Create n_voters voters (ids 1..n_voters) and n_observers observers (the
 * next ids). tmpl may be NULL (library defaults); its id/voters/observers are
 * overwritten. Nodes are created but not ticked. Returns a ut error code. */
int rc_init(rc_cluster_t *c, size_t n_voters, size_t n_observers,
            const ut_consensus_config_t *tmpl);
void rc_destroy(rc_cluster_t *c);

rc_node_t *rc_node(rc_cluster_t *c, uint64_t id);
ut_consensus_t *rc_h(rc_cluster_t *c, uint64_t id);

/* Restore node id (fresh, not yet ticked) from a log described by its
 * terms (entries 1..n with payload rc_payload(term,index)), term and vote.
 * The same state is written to the node's disk. Returns restore()'s code. */
int rc_set_log(rc_cluster_t *c, uint64_t id, uint64_t term, uint64_t vote, uint64_t commit,
               const uint64_t *terms, size_t n);
/* 16-byte payload used by rc_set_log: term and index, little-endian. */
void rc_payload(uint8_t out[16], uint64_t term, uint64_t index);

/* Drain and handle every pending ready of a node (persist, send, apply,
 * advance). Called by every function below after an input. */
void rc_process(rc_cluster_t *c, uint64_t id);
void rc_process_all(rc_cluster_t *c);
/* Persist, send and apply one ready the caller obtained itself (it must
 * still call ut_consensus_advance()). */
void rc_handle_ready(rc_cluster_t *c, uint64_t id, const ut_consensus_ready_t *rd);

/* Inputs. */
int rc_tick(rc_cluster_t *c, uint64_t id);     /* tick at c->now */
void rc_advance(rc_cluster_t *c, uint64_t dt); /* now += dt, tick all up */
int rc_campaign(rc_cluster_t *c, uint64_t id);
int rc_propose(rc_cluster_t *c, uint64_t id, const void *data, size_t len, uint64_t *idx);
int rc_inject(rc_cluster_t *c, const ut_msg_t *m); /* step m at m->to */

/* Network. Returns the step code, or 1 when the message was dropped. */
int rc_deliver(rc_cluster_t *c, size_t k);
size_t rc_drain(rc_cluster_t *c, size_t max); /* FIFO until empty/max */
size_t rc_deliver_if(rc_cluster_t *c, rc_pred_t pred, void *ud, size_t max);
size_t rc_drop_if(rc_cluster_t *c, rc_pred_t pred, void *ud);
void rc_drop(rc_cluster_t *c, size_t k);
void rc_duplicate(rc_cluster_t *c, size_t k);
void rc_cut(rc_cluster_t *c, uint64_t a, uint64_t b, bool cut);
void rc_isolate(rc_cluster_t *c, uint64_t id);
void rc_partition(rc_cluster_t *c, const uint64_t *side, size_t n);
void rc_heal(rc_cluster_t *c);

/* Time: advance by c->tick_ms and drain, until ms have passed. */
void rc_run(rc_cluster_t *c, uint64_t ms);
/* Same, stopping as soon as pred(c) holds; returns whether it held. */
bool rc_run_until(rc_cluster_t *c, bool (*pred)(rc_cluster_t *c, void *ud), void *ud,
                  uint64_t max_ms);

/* Crash: free the handle (the disk and the application survive). */
void rc_crash(rc_cluster_t *c, uint64_t id);
/* Restart from the disk only: new + restore + tick at c->now. */
int rc_restart(rc_cluster_t *c, uint64_t id);

/* Queries. */
uint64_t rc_leader(rc_cluster_t *c); /* the up leader of the highest term, or 0 */
size_t rc_count_leaders(rc_cluster_t *c);
bool rc_has_leader(rc_cluster_t *c, void *ud); /* predicate for rc_run_until */
/* Campaign on id and drain; true if id is then leader. */
bool rc_elect(rc_cluster_t *c, uint64_t id);
/* Every up node applied exactly n entries with identical content. */
bool rc_all_applied(rc_cluster_t *c, size_t n);
/* >>> rmemb: membership changes (thesis §4.1-4.3). After every processed
 * ready the harness also checks, per node: a voter of its own configuration
 * is never an observer, a non-voter never a follower or candidate, a leader
 * no voter only while its configuration is uncommitted; and per leader, that
 * each commit index it reaches is stored on a majority of the configuration
 * in effect on it, read from its disk (raft_check_commit_quorum). */
/* Start a fresh node (the next id, not yet a member anywhere): created as
 * an observer of itself with the cluster's initial voters, ticked at now,
 * ready to be added by a change on the leader. *id receives its id. */
int rc_add_node(rc_cluster_t *c, uint64_t *id);
/* ut_consensus_propose_change on node id, then process it. */
int rc_change(rc_cluster_t *c, uint64_t id, const ut_consensus_change_t *ch, size_t n,
              unsigned flags, uint64_t *index);
/* One change. */
int rc_change1(rc_cluster_t *c, uint64_t id, ut_consensus_change_type_t type, uint64_t who,
               uint64_t *index);
/* Is who a voter (either half) / a member of node id's configuration? */
bool rc_is_voter(rc_cluster_t *c, uint64_t id, uint64_t who);
bool rc_is_member(rc_cluster_t *c, uint64_t id, uint64_t who);
/* <<< rmemb */
/* Number of NORMAL entries applied by node id. */
size_t rc_applied_normal(rc_cluster_t *c, uint64_t id);

/* >>> rsnap */
/* Compact node id's log at the index it applied in this life (the
 * application's state, its rc_applied_t records, as the snapshot data; the
 * disk keeps the snapshot and drops the entries it covers). Returns
 * ut_consensus_compact()'s code (UT_ERANGE: nothing new to compact). */
int rc_compact(rc_cluster_t *c, uint64_t id);
/* The disk entry of index, or NULL (compacted or beyond the log). */
const rc_entry_t *rc_disk_at(const rc_node_t *n, uint64_t index);
/* <<< rsnap */

void rc_fail(rc_cluster_t *c, const char *fmt, ...);
uint64_t rc_rand(rc_cluster_t *c);
uint64_t rc_hash(const void *p, size_t n);

#endif
