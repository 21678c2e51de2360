/* SPDX-License-Identifier: MIT */
/* Raft core (ut_consensus_t), status and reading entries back (issue 11,
 * rstat): ut_consensus_status() on every role (follower, pre-candidate,
 * candidate, leader with its peers, observer), in a joint configuration and
 * after compaction; its refusals (UT_EINVAL, UT_EVERSION) and that it
 * changes nothing; ut_consensus_entry() on normal, configuration and no-op
 * entries, its UT_ENOTFOUND / UT_EINVAL cases and the documented lifetime
 * of the payload view. A group of test_consensus. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "consensus_test.h"

/* The fields every role reports, against the accessors and the membership
 * call. */
static void check_common(const ut_consensus_t *h, const ut_consensus_status_t *st)
{
    assert_int_equal(st->version, UT_CONSENSUS_STATUS_VERSION);
    assert_int_equal(st->id, ut_consensus_id(h));
    assert_int_equal(st->state, ut_consensus_state(h));
    assert_int_equal(st->term, ut_consensus_term(h));
    assert_int_equal(st->vote, ut_consensus_vote(h));
    assert_int_equal(st->leader, ut_consensus_leader(h));
    assert_int_equal(st->commit, ut_consensus_commit_index(h));
    assert_int_equal(st->last_index, ut_consensus_last_index(h));
    assert_true(st->applied <= st->commit);
    assert_int_equal(st->transfer_target, 0);
    assert_int_equal(st->pending_reads, 0);
    ut_consensus_membership_t m;
    uint64_t mi = 0;
    assert_int_equal(ut_consensus_membership(h, &m, &mi), UT_OK);
    assert_int_equal(st->membership_index, mi);
    assert_int_equal(st->membership.n_voters, m.n_voters);
    assert_int_equal(st->membership.n_voters_outgoing, m.n_voters_outgoing);
    assert_int_equal(st->membership.n_observers, m.n_observers);
    assert_int_equal(st->membership.auto_leave, m.auto_leave);
    assert_memory_equal(st->membership.voters, m.voters, m.n_voters * sizeof m.voters[0]);
    if (m.n_voters_outgoing > 0)
        assert_memory_equal(st->membership.voters_outgoing, m.voters_outgoing,
                            m.n_voters_outgoing * sizeof m.voters[0]);
    else
        assert_null(st->membership.voters_outgoing);
    if (m.n_observers > 0)
        assert_memory_equal(st->membership.observers, m.observers,
                            m.n_observers * sizeof m.observers[0]);
    /* The arrays live in the struct itself. */
    const uint64_t *lo = st->member_ids_, *hi = st->member_ids_ + 3 * UT_CONSENSUS_MAX_NODES;
    assert_true(st->membership.voters >= lo && st->membership.voters < hi);
    if (st->state != UT_CONSENSUS_LEADER)
        assert_int_equal(st->n_peers, 0);
}

static void test_status_init_refusals(void **state)
{
    (void)state;
    ut_consensus_status_t st;
    assert_int_equal(ut_consensus_status_init(NULL, UT_CONSENSUS_STATUS_VERSION), UT_EINVAL);
    memset(&st, 0xA5, sizeof st);
    assert_int_equal(ut_consensus_status_init(&st, 0), UT_EVERSION);
    assert_int_equal(ut_consensus_status_init(&st, UT_CONSENSUS_STATUS_VERSION + 1), UT_EVERSION);
    assert_int_equal(ut_consensus_status_init(&st, UINT32_MAX), UT_EVERSION);
    unsigned char a5[sizeof st];
    memset(a5, 0xA5, sizeof a5);
    assert_memory_equal(&st, a5, sizeof st); /* refused: untouched */
    assert_int_equal(ut_consensus_status_init(&st, UT_CONSENSUS_STATUS_VERSION), UT_OK);
    assert_int_equal(st.version, UT_CONSENSUS_STATUS_VERSION);
    assert_int_equal(st.term, 0);
    assert_int_equal(st.n_peers, 0);
    assert_null(st.membership.voters);
}

static void test_status_refusals(void **state)
{
    (void)state;
    ut_consensus_t *h = raw_new(1);
    ut_consensus_status_t st;
    assert_int_equal(ut_consensus_status_init(&st, UT_CONSENSUS_STATUS_VERSION), UT_OK);
    assert_int_equal(ut_consensus_status(NULL, &st), UT_EINVAL);
    assert_int_equal(ut_consensus_status(h, NULL), UT_EINVAL);
    unsigned char before[sizeof st];
    /* A status never initialised, or of a version this library does not
     * know: refused, not written. */
    static const unsigned bad[] = {0, UT_CONSENSUS_STATUS_VERSION + 1, 1000};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&st, 0x5A, sizeof st);
        st.version = bad[i];
        memcpy(before, &st, sizeof st);
        assert_int_equal(ut_consensus_status(h, &st), UT_EVERSION);
        assert_memory_equal(&st, before, sizeof st);
    }
    ut_consensus_free(h);
}

static void test_status_follower_and_leader(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cluster(&c, 3, 0, &cfg);
    elect_and_commit(&c, 1, 3);
    ut_consensus_status_t st;

    get_status(rc_h(&c, 2), &st);
    check_common(rc_h(&c, 2), &st);
    assert_int_equal(st.id, 2);
    assert_int_equal(st.state, UT_CONSENSUS_FOLLOWER);
    assert_false(st.pre_vote);
    assert_int_equal(st.term, 1);
    assert_int_equal(st.vote, 1);
    assert_int_equal(st.leader, 1);
    assert_int_equal(st.commit, 4); /* no-op and 3 entries */
    assert_int_equal(st.applied, 4);
    assert_int_equal(st.first_index, 1);
    assert_int_equal(st.last_index, 4);
    assert_int_equal(st.snapshot_index, 0);
    assert_int_equal(st.snapshot_term, 0);
    assert_int_equal(st.membership.n_voters, 3);
    assert_int_equal(st.membership.voters[0], 1);
    assert_int_equal(st.membership.voters[2], 3);
    assert_int_equal(st.membership.n_observers, 0);
    assert_int_equal(st.membership_index, 0);
    assert_int_equal(st.uncommitted_bytes, 0);
    assert_int_equal(st.n_peers, 0);

    ut_consensus_t *l = rc_h(&c, 1);
    get_status(l, &st);
    check_common(l, &st);
    assert_int_equal(st.state, UT_CONSENSUS_LEADER);
    assert_int_equal(st.leader, 1);
    assert_int_equal(st.n_peers, 2);
    for (uint64_t id = 2; id <= 3; id++) {
        const ut_consensus_peer_status_t *p = peer_of(&st, id);
        assert_true(p->voter);
        assert_int_equal(p->state, UT_CONSENSUS_REPL_PIPELINE);
        assert_int_equal(p->match, 4);
        assert_int_equal(p->next, 5);
        assert_int_equal(p->inflight_msgs, 0);
        assert_int_equal(p->inflight_bytes, 0);
        /* Heard within the last heartbeat round. */
        assert_true(p->last_heard_ms <= c.now);
        assert_true(p->last_heard_ms + 2 * cfg.heartbeat_ms >= c.now);
    }
    /* Uncommitted bytes are reported without a limit too. */
    rc_isolate(&c, 1);
    assert_int_equal(rc_propose(&c, 1, "0123456789", 10, NULL), UT_OK);
    assert_int_equal(rc_propose(&c, 1, "abcde", 5, NULL), UT_OK);
    get_status(l, &st);
    assert_int_equal(st.uncommitted_bytes, 15);
    uint64_t heard3 = peer_of(&st, 3)->last_heard_ms;
    /* Node 3 alone comes back: its last_heard_ms moves, 2's does not. */
    rc_cut(&c, 1, 3, false);
    uint64_t t0 = c.now;
    rc_run(&c, 5 * cfg.heartbeat_ms);
    get_status(l, &st);
    check_common(l, &st);
    assert_true(peer_of(&st, 3)->last_heard_ms > t0);
    assert_true(peer_of(&st, 3)->last_heard_ms > heard3);
    assert_true(peer_of(&st, 2)->last_heard_ms <= t0);
    assert_int_equal(peer_of(&st, 3)->match, 6);
    assert_int_equal(peer_of(&st, 2)->match, 4);
    assert_int_equal(st.commit, 6);
    assert_int_equal(st.uncommitted_bytes, 0);
    /* With check-quorum, recent_active says who answered in the current
     * round (one per election timeout): after a whole round, only 3. */
    rc_run(&c, cfg.election_timeout_ms + cfg.heartbeat_ms);
    get_status(l, &st);
    assert_int_equal(st.state, UT_CONSENSUS_LEADER);
    assert_true(peer_of(&st, 3)->recent_active);
    assert_false(peer_of(&st, 2)->recent_active);
    rc_heal(&c);
    RC_OK(&c);
    rc_destroy(&c);
}

static void test_status_candidate_and_pre_vote(void **state)
{
    (void)state;
    ut_consensus_config_t cfg = cfg3(1);
    cfg.pre_vote = false;
    ut_consensus_t *h = NULL;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
    assert_int_equal(ut_consensus_tick(h, 0), UT_OK);
    assert_int_equal(ut_consensus_campaign(h), UT_OK);
    ut_consensus_status_t st;
    get_status(h, &st);
    check_common(h, &st);
    assert_int_equal(st.state, UT_CONSENSUS_CANDIDATE);
    assert_false(st.pre_vote);
    assert_int_equal(st.term, 1);
    assert_int_equal(st.vote, 1);
    assert_int_equal(st.leader, 0);
    assert_int_equal(st.n_peers, 0);
    ut_consensus_free(h);

    /* Pre-vote (thesis §9.6): the term has not moved yet. */
    cfg.pre_vote = true;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
    assert_int_equal(ut_consensus_tick(h, 0), UT_OK);
    get_status(h, &st);
    assert_false(st.pre_vote);
    assert_int_equal(ut_consensus_campaign(h), UT_OK);
    get_status(h, &st);
    check_common(h, &st);
    assert_true(st.pre_vote);
    assert_int_equal(st.term, 0);
    assert_int_equal(st.vote, 0);
    assert_int_equal(st.leader, 0);
    /* The pre-vote won: a real candidacy, pre_vote over. */
    ut_msg_t pv = mk_msg(UT_MSG_PREVOTE_RESP, 2, 1, 1);
    pv.body.vote_resp.granted = true;
    STEP_OK(h, pv);
    get_status(h, &st);
    check_common(h, &st);
    assert_false(st.pre_vote);
    assert_int_equal(st.state, UT_CONSENSUS_CANDIDATE);
    assert_int_equal(st.term, 1);
    /* Elected: a leader that heard from 2 (the votes, at time 0) and never
     * from 3. */
    ut_msg_t v = mk_msg(UT_MSG_VOTE_RESP, 2, 1, 1);
    v.body.vote_resp.granted = true;
    STEP_OK(h, v);
    get_status(h, &st);
    check_common(h, &st);
    assert_int_equal(st.state, UT_CONSENSUS_LEADER);
    assert_int_equal(st.n_peers, 2);
    assert_int_equal(peer_of(&st, 2)->last_heard_ms, 0);
    assert_int_equal(peer_of(&st, 3)->last_heard_ms, UT_CONSENSUS_NEVER);
    assert_int_equal(peer_of(&st, 3)->state, UT_CONSENSUS_REPL_PROBE);
    assert_int_equal(peer_of(&st, 3)->match, 0);
    assert_int_equal(st.last_index, 1); /* the no-op */
    assert_int_equal(st.uncommitted_bytes, 0);
    ut_consensus_free(h);
}

static void test_status_observer_and_joint(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cluster(&c, 3, 2, &cfg); /* observers 4, 5 */
    elect_and_commit(&c, 1, 1);
    ut_consensus_status_t st;
    get_status(rc_h(&c, 4), &st);
    check_common(rc_h(&c, 4), &st);
    assert_int_equal(st.state, UT_CONSENSUS_OBSERVER);
    assert_int_equal(st.leader, 1);
    assert_int_equal(st.membership.n_observers, 2);
    assert_int_equal(st.membership.observers[0], 4);
    assert_int_equal(st.membership.observers[1], 5);
    assert_int_equal(st.commit, commit_of(&c, 1));

    get_status(rc_h(&c, 1), &st);
    assert_int_equal(st.n_peers, 4);
    assert_true(peer_of(&st, 2)->voter);
    assert_false(peer_of(&st, 4)->voter);
    assert_false(peer_of(&st, 5)->voter);
    assert_int_equal(peer_of(&st, 5)->match, last_of(&c, 1));

    /* Joint consensus (thesis §4.3): promote 4 through C_old,new. */
    ut_consensus_change_t ch = {UT_CONSENSUS_PROMOTE, 4};
    uint64_t idx = 0;
    assert_int_equal(rc_change(&c, 1, &ch, 1, UT_CONSENSUS_CHANGE_JOINT, &idx), UT_OK);
    rc_run(&c, 3 * cfg.heartbeat_ms);
    for (uint64_t id = 1; id <= 5; id += 3) { /* the leader and node 4 */
        get_status(rc_h(&c, id), &st);
        check_common(rc_h(&c, id), &st);
        assert_int_equal(st.membership_index, idx);
        assert_int_equal(st.membership.n_voters, 4);
        assert_int_equal(st.membership.n_voters_outgoing, 3);
        assert_non_null(st.membership.voters_outgoing);
        assert_int_equal(st.membership.n_observers, 1);
        assert_int_equal(st.membership.observers[0], 5);
    }
    get_status(rc_h(&c, 1), &st);
    assert_true(peer_of(&st, 4)->voter);
    assert_false(peer_of(&st, 5)->voter);
    assert_int_equal(rc_h(&c, 4) != NULL, true);
    assert_int_equal(state_of(&c, 4), UT_CONSENSUS_FOLLOWER);
    RC_OK(&c);
    rc_destroy(&c);
}

static void test_status_after_compaction(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cluster(&c, 3, 0, &cfg);
    elect_and_commit(&c, 1, 6); /* indexes 1..7 */
    assert_int_equal(rc_compact(&c, 2), UT_OK);
    ut_consensus_status_t st;
    get_status(rc_h(&c, 2), &st);
    check_common(rc_h(&c, 2), &st);
    assert_int_equal(st.snapshot_index, 7);
    assert_int_equal(st.snapshot_term, 1);
    assert_int_equal(st.first_index, 8);
    assert_int_equal(st.last_index, 7);
    ut_entry_t e;
    assert_int_equal(ut_consensus_entry(rc_h(&c, 2), 7, &e), UT_ENOTFOUND);
    assert_int_equal(ut_consensus_entry(rc_h(&c, 2), 1, &e), UT_ENOTFOUND);
    /* New entries after the snapshot are readable. */
    assert_int_equal(rc_propose(&c, 1, "after", 5, NULL), UT_OK);
    rc_run(&c, 3 * cfg.heartbeat_ms);
    get_status(rc_h(&c, 2), &st);
    assert_int_equal(st.first_index, 8);
    assert_int_equal(st.last_index, 8);
    assert_int_equal(ut_consensus_entry(rc_h(&c, 2), 8, &e), UT_OK);
    assert_int_equal(e.len, 5);
    assert_memory_equal(e.data, "after", 5);
    /* The leader, not compacted, still has them all. */
    get_status(rc_h(&c, 1), &st);
    assert_int_equal(st.snapshot_index, 0);
    assert_int_equal(st.first_index, 1);
    RC_OK(&c);
    rc_destroy(&c);
}

/* status() changes nothing: same accessors, same pending work, same
 * errmsg, and the ready that follows is the one that would have come. */
static void test_status_changes_nothing(void **state)
{
    (void)state;
    ut_consensus_config_t cfg = cfg3(1);
    cfg.max_uncommitted_bytes = 100;
    ut_consensus_t *h = raw_leader(&cfg);
    assert_int_equal(ut_consensus_propose(h, "xyz", 3, NULL), UT_OK);
    static const char big[200];
    assert_int_equal(ut_consensus_propose(h, big, sizeof big, NULL), UT_EBUSY); /* sets errmsg */
    char err[256];
    snprintf(err, sizeof err, "%s", ut_consensus_errmsg(h));
    snap_t s = take(h);
    ut_consensus_status_t a, b;
    get_status(h, &a);
    get_status(h, &b);
    ASSERT_UNCHANGED(s, h);
    assert_string_equal(ut_consensus_errmsg(h), err);
    assert_int_equal(a.uncommitted_bytes, 3);
    assert_int_equal(b.uncommitted_bytes, 3);
    assert_int_equal(a.n_peers, b.n_peers);
    assert_memory_equal(a.peers, b.peers, sizeof a.peers);
    assert_int_equal(a.last_index, b.last_index);
    assert_int_equal(a.applied, b.applied);
    /* With a ready outstanding: applied reports what it handed out. */
    assert_true(ut_consensus_has_ready(h));
    ut_consensus_ready_t rd;
    assert_int_equal(ut_consensus_ready(h, &rd), UT_OK);
    get_status(h, &a);
    assert_int_equal(a.last_index, ut_consensus_last_index(h));
    assert_int_equal(ut_consensus_advance(h, &rd), UT_OK);
    ut_consensus_free(h);
}

/* ------------------------------------------------------------------- entry */

static void test_entry_kinds_and_errors(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cluster(&c, 3, 1, &cfg);
    elect_and_commit(&c, 1, 2); /* 1: no-op, 2: entry-0, 3: entry-1 */
    uint64_t idx = 0;
    assert_int_equal(rc_change1(&c, 1, UT_CONSENSUS_REMOVE_OBSERVER, 4, &idx), UT_OK);
    assert_int_equal(idx, 4);
    rc_run(&c, 3 * cfg.heartbeat_ms);
    for (uint64_t id = 1; id <= 3; id++) {
        ut_consensus_t *h = rc_h(&c, id);
        ut_entry_t e;
        assert_int_equal(ut_consensus_entry(h, 1, &e), UT_OK);
        assert_int_equal(e.type, UT_ENTRY_NOOP);
        assert_int_equal(e.index, 1);
        assert_int_equal(e.term, 1);
        assert_int_equal(e.len, 0);
        assert_int_equal(ut_consensus_entry(h, 2, &e), UT_OK);
        assert_int_equal(e.type, UT_ENTRY_NORMAL);
        assert_int_equal(e.index, 2);
        assert_int_equal(e.term, 1);
        assert_int_equal(e.len, 7);
        assert_memory_equal(e.data, "entry-0", 7);
        assert_int_equal(ut_consensus_entry(h, 3, &e), UT_OK);
        assert_memory_equal(e.data, "entry-1", 7);
        assert_int_equal(ut_consensus_entry(h, 4, &e), UT_OK);
        assert_int_equal(e.type, UT_ENTRY_CONFIG);
        assert_int_equal(e.index, 4);
        assert_int_equal(e.term, 1);
        assert_true(e.len > 0);
        assert_non_null(e.data);

        /* Refusals leave *out alone. */
        ut_entry_t keep;
        memset(&keep, 0x3C, sizeof keep);
        e = keep;
        assert_int_equal(ut_consensus_entry(h, 0, &e), UT_ENOTFOUND);
        assert_int_equal(ut_consensus_entry(h, 5, &e), UT_ENOTFOUND);
        assert_int_equal(ut_consensus_entry(h, UINT64_MAX, &e), UT_ENOTFOUND);
        assert_memory_equal(&e, &keep, sizeof e);
        assert_int_equal(ut_consensus_entry(NULL, 1, &e), UT_EINVAL);
        assert_int_equal(ut_consensus_entry(h, 1, NULL), UT_EINVAL);
        snap_t s = take(h);
        assert_int_equal(ut_consensus_entry(h, 2, &e), UT_OK);
        ASSERT_UNCHANGED(s, h);
    }
    /* Compacted entries are gone. */
    assert_int_equal(rc_compact(&c, 3), UT_OK);
    ut_entry_t e;
    assert_int_equal(ut_consensus_entry(rc_h(&c, 3), 2, &e), UT_ENOTFOUND);
    assert_int_equal(ut_consensus_entry(rc_h(&c, 3), 4, &e), UT_ENOTFOUND);
    assert_int_equal(ut_consensus_entry(rc_h(&c, 1), 4, &e), UT_OK);
    RC_OK(&c);
    rc_destroy(&c);
}

/* The documented promise: the payload view stays valid until the next call
 * on the handle other than an accessor (status, has_ready, entry,
 * entry_term, membership, ... are accessors). Under ASan a dangling view
 * would be reported. */
static void test_entry_view_valid_across_accessors(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cluster(&c, 3, 0, &cfg);
    elect_and_commit(&c, 1, 3);
    /* Entries proposed but not sent yet: has_ready has work. */
    assert_int_equal(rc_propose(&c, 1, "pending-payload", 15, NULL), UT_OK);
    ut_consensus_t *h = rc_h(&c, 1);
    ut_entry_t e, f;
    assert_int_equal(ut_consensus_entry(h, 2, &e), UT_OK);
    assert_int_equal(ut_consensus_entry(h, 5, &f), UT_OK);
    const void *ep = e.data, *fp = f.data;
    ut_consensus_status_t st;
    for (int i = 0; i < 3; i++) {
        get_status(h, &st);
        (void)ut_consensus_has_ready(h);
        uint64_t t;
        assert_int_equal(ut_consensus_entry_term(h, 3, &t), UT_OK);
        ut_entry_t g;
        assert_int_equal(ut_consensus_entry(h, 3, &g), UT_OK);
        ut_consensus_membership_t m;
        assert_int_equal(ut_consensus_membership(h, &m, NULL), UT_OK);
        uint64_t ids[8];
        size_t n = 0;
        assert_int_equal(ut_consensus_nodes(h, ids, 8, &n), UT_OK);
        (void)ut_consensus_commit_index(h);
        (void)ut_consensus_last_index(h);
        (void)ut_consensus_errmsg(h);
    }
    assert_ptr_equal(e.data, ep);
    assert_memory_equal(e.data, "entry-0", 7);
    assert_ptr_equal(f.data, fp);
    assert_memory_equal(f.data, "pending-payload", 15);
    /* The same view again. */
    ut_entry_t again;
    assert_int_equal(ut_consensus_entry(h, 5, &again), UT_OK);
    assert_ptr_equal(again.data, fp);
    rc_run(&c, 3 * cfg.heartbeat_ms);
    RC_OK(&c);
    rc_destroy(&c);
}

/* last_heard_ms is the time of the node's last tick when the response was
 * stepped, exactly: for an AppendEntries response stepped before the first
 * tick (heard at 0), one stepped between two ticks, and across the leader's
 * later ticks. */
static void test_last_heard_exact(void **state)
{
    (void)state;
    ut_consensus_config_t cfg = cfg3(1);
    cfg.pre_vote = false;
    ut_consensus_t *h = NULL;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
    assert_int_equal(ut_consensus_campaign(h), UT_OK);
    ut_msg_t m = mk_msg(UT_MSG_VOTE_RESP, 2, 1, 1);
    m.body.vote_resp.granted = true;
    assert_int_equal(ut_consensus_step(h, &m), UT_OK);
    assert_int_equal(ut_consensus_state(h), UT_CONSENSUS_LEADER);
    m = mk_msg(UT_MSG_APPEND_RESP, 3, 1, 1);
    m.body.append_resp.success = true;
    m.body.append_resp.index = 1;
    assert_int_equal(ut_consensus_step(h, &m), UT_OK);
    assert_int_equal(ut_consensus_tick(h, 100), UT_OK); /* the first tick */
    ut_consensus_status_t st;
    get_status(h, &st);
    assert_int_equal(peer_of(&st, 2)->last_heard_ms, 0); /* the vote */
    assert_int_equal(peer_of(&st, 3)->last_heard_ms, 0);
    assert_int_equal(ut_consensus_tick(h, 150), UT_OK);
    m = mk_msg(UT_MSG_APPEND_RESP, 2, 1, 1);
    m.body.append_resp.success = true;
    m.body.append_resp.index = 1;
    assert_int_equal(ut_consensus_step(h, &m), UT_OK);
    get_status(h, &st);
    assert_int_equal(peer_of(&st, 2)->last_heard_ms, 150);
    assert_int_equal(ut_consensus_tick(h, 170), UT_OK);
    assert_int_equal(ut_consensus_tick(h, 420), UT_OK);
    get_status(h, &st);
    assert_int_equal(peer_of(&st, 2)->last_heard_ms, 150);
    assert_int_equal(peer_of(&st, 3)->last_heard_ms, 0);
    ut_consensus_free(h);
}

int consensus_group_status(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_init_refusals),
        cmocka_unit_test(test_status_refusals),
        cmocka_unit_test(test_status_follower_and_leader),
        cmocka_unit_test(test_status_candidate_and_pre_vote),
        cmocka_unit_test(test_status_observer_and_joint),
        cmocka_unit_test(test_status_after_compaction),
        cmocka_unit_test(test_status_changes_nothing),
        cmocka_unit_test(test_entry_kinds_and_errors),
        cmocka_unit_test(test_entry_view_valid_across_accessors),
        cmocka_unit_test(test_last_heard_exact),
    };
    return cmocka_run_group_tests_name("consensus_status", tests, NULL, NULL);
}
