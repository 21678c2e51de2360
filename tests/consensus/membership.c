/* SPDX-License-Identifier: MIT */
/* Raft core (ut_consensus_t), membership changes (Raft paper §6; Ongaro's
 * thesis §4.1-4.3): single-server changes, observers promoted once caught
 * up, removing the leader, removed nodes, joint consensus, configurations
 * in effect on append (and reverted by truncation), recovered on restart;
 * every refusal leaves the node unchanged; allocation failures. The
 * cluster harness (raft_cluster.c) checks after every ready that each
 * leader's commit index is on a majority of its configuration (read from
 * its disk) and that roles follow configurations. A group of
 * test_consensus (tests/test_consensus.c runs every group). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "consensus_test.h"

/* ------------------------------------------------------------- helpers */

static bool in(const uint64_t *a, size_t n, uint64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] == id)
            return true;
    return false;
}

static ut_consensus_membership_t memb(rc_cluster_t *c, uint64_t id, uint64_t *index)
{
    ut_consensus_membership_t m;
    assert_int_equal(ut_consensus_membership(rc_h(c, id), &m, index), UT_OK);
    return m;
}

/* A configuration as a comparable value. */
typedef struct mview {
    uint64_t v[UT_CONSENSUS_MAX_NODES], o[UT_CONSENSUS_MAX_NODES], b[UT_CONSENSUS_MAX_NODES];
    size_t nv, no, nb;
    bool auto_leave;
    uint64_t index;
} mview_t;

static mview_t mview(const ut_consensus_t *h)
{
    mview_t w;
    memset(&w, 0, sizeof w);
    ut_consensus_membership_t m;
    assert_int_equal(ut_consensus_membership(h, &m, &w.index), UT_OK);
    w.nv = m.n_voters;
    w.no = m.n_voters_outgoing;
    w.nb = m.n_observers;
    memcpy(w.v, m.voters, m.n_voters * sizeof(uint64_t));
    if (m.n_voters_outgoing)
        memcpy(w.o, m.voters_outgoing, m.n_voters_outgoing * sizeof(uint64_t));
    if (m.n_observers)
        memcpy(w.b, m.observers, m.n_observers * sizeof(uint64_t));
    w.auto_leave = m.auto_leave;
    return w;
}

static void assert_mview_equal(const mview_t *a, const mview_t *b)
{
    assert_int_equal(a->nv, b->nv);
    assert_int_equal(a->no, b->no);
    assert_int_equal(a->nb, b->nb);
    assert_int_equal(a->index, b->index);
    assert_int_equal(a->auto_leave, b->auto_leave);
    assert_memory_equal(a->v, b->v, sizeof a->v);
    assert_memory_equal(a->o, b->o, sizeof a->o);
    assert_memory_equal(a->b, b->b, sizeof a->b);
}

/* A refused call: its code, an error message, and the node unchanged
 * (role, term, vote, leader, commit, last index, pending work, config). */
#define EXPECT_REFUSED(h, call, code)                                                              \
    do {                                                                                           \
        snap_t s_ = take(h);                                                                       \
        mview_t m_ = mview(h);                                                                     \
        uint64_t idx_ = 12345;                                                                     \
        (void)idx_;                                                                                \
        int rc_ = (call);                                                                          \
        if (rc_ != (code))                                                                         \
            fail_msg("line %d: %s returned %s, expected %s (%s)", __LINE__, #call,                 \
                     ut_err_name(rc_), ut_err_name(code), ut_consensus_errmsg(h));                 \
        ASSERT_UNCHANGED(s_, h);                                                                   \
        mview_t m2_ = mview(h);                                                                    \
        assert_mview_equal(&m_, &m2_);                                                             \
        assert_true(strlen(ut_consensus_errmsg(h)) > 0);                                           \
    } while (0)

static bool all_caught_up(rc_cluster_t *c, void *ud)
{
    (void)ud;
    uint64_t l = rc_leader(c);
    if (l == 0)
        return false;
    uint64_t ci = commit_of(c, l);
    for (uint64_t id = 1; id <= c->n; id++)
        if (rc_h(c, id) != NULL && rc_is_member(c, l, id) && !c->cut[l][id] &&
            (commit_of(c, id) != ci || last_of(c, id) != last_of(c, l)))
            return false;
    return ci == last_of(c, l);
}

/* A change proposed on the leader and committed on every connected member. */
static uint64_t change_committed(rc_cluster_t *c, uint64_t l, ut_consensus_change_type_t t,
                                 uint64_t who)
{
    uint64_t idx = 0;
    int rc = rc_change1(c, l, t, who, &idx);
    if (rc != UT_OK)
        fail_msg("change %d of %llu on %llu: %s (%s)", (int)t, (unsigned long long)who,
                 (unsigned long long)l, ut_err_name(rc), ut_consensus_errmsg(rc_h(c, l)));
    assert_true(rc_run_until(c, all_caught_up, NULL, 5000));
    assert_true(commit_of(c, rc_leader(c)) >= idx);
    return idx;
}

static ut_consensus_config_t mcfg(void)
{
    ut_consensus_config_t cfg = cfg_base();
    cfg.promote_max_lag = 4;
    return cfg;
}

/* --------------------------------------------------------------- tests */

/* Defaults and the payload format (docs/wire-format.md, "Configuration
 * entries"), decoded by the test's own reader (raft_check.h). */
static void test_config_entry_format(void **state)
{
    (void)state;
    ut_consensus_config_t cfg;
    assert_int_equal(ut_consensus_config_init(&cfg, UT_CONSENSUS_CONFIG_VERSION), UT_OK);
    assert_int_equal(cfg.promote_max_lag, 256);
    rc_cluster_t c;
    cfg = mcfg();
    cluster(&c, 3, 0, &cfg);
    elect_and_commit(&c, 1, 1);
    uint64_t id4 = 0;
    assert_int_equal(rc_add_node(&c, &id4), UT_OK);
    assert_int_equal(id4, 4);
    uint64_t idx = change_committed(&c, 1, UT_CONSENSUS_ADD_OBSERVER, 4);
    /* Every node has the entry on its disk, of type CONFIG, and applied it
     * (committed entries come out like any other: the application skips it). */
    for (uint64_t id = 1; id <= 4; id++) {
        rc_node_t *n = rc_node(&c, id);
        assert_true(n->n_log >= idx);
        const rc_entry_t *e = &n->log[idx - 1];
        assert_int_equal(e->type, UT_ENTRY_CONFIG);
        assert_int_equal(e->len, 8 + 8 * 4);
        raft_check_conf_t conf;
        memset(&conf, 0, sizeof conf);
        assert_true(raft_check_conf_decode(e->data, e->len, &conf));
        assert_int_equal(conf.n_voters, 3);
        assert_int_equal(conf.n_outgoing, 0);
        assert_int_equal(conf.n_observers, 1);
        assert_int_equal(conf.observers[0], 4);
        assert_int_equal(e->data[0], 1); /* version */
        assert_int_equal(e->data[1], 0); /* flags */
        assert_true(n->n_applied >= idx);
        assert_int_equal(n->applied[idx - 1].type, UT_ENTRY_CONFIG);
        uint64_t mi = 0;
        ut_consensus_membership_t m = memb(&c, id, &mi);
        assert_int_equal(mi, idx);
        assert_int_equal(m.n_voters, 3);
        assert_int_equal(m.n_observers, 1);
        assert_null(m.voters_outgoing);
        uint64_t ids[8];
        size_t k = 0;
        assert_int_equal(ut_consensus_nodes(rc_h(&c, id), ids, 8, &k), UT_OK);
        assert_int_equal(k, 4);
        assert_int_equal(ids[3], 4);
    }
    assert_int_equal(state_of(&c, 4), UT_CONSENSUS_OBSERVER);
    RC_OK(&c);
    rc_destroy(&c);
}

/* Issue 11: one pending change at a time. A change is pending from its
 * append until it commits; the next one is refused with UT_EBUSY, the node
 * unchanged, and accepted once it committed. */
static void test_one_pending_change_at_a_time(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = mcfg();
    cfg.check_quorum = false;
    cluster(&c, 3, 0, &cfg);
    elect_and_commit(&c, 1, 1);
    uint64_t id4 = 0, id5 = 0;
    assert_int_equal(rc_add_node(&c, &id4), UT_OK);
    assert_int_equal(rc_add_node(&c, &id5), UT_OK);
    rc_isolate(&c, 1); /* nothing the leader sends arrives: nothing commits */
    uint64_t idx = 0;
    assert_int_equal(rc_change1(&c, 1, UT_CONSENSUS_ADD_OBSERVER, 4, &idx), UT_OK);
    assert_true(idx > commit_of(&c, 1));
    ut_consensus_t *l = rc_h(&c, 1);
    ut_consensus_change_t ch = {UT_CONSENSUS_ADD_OBSERVER, 5};
    EXPECT_REFUSED(l, ut_consensus_propose_change(l, &ch, 1, 0, &idx_), UT_EBUSY);
    assert_non_null(strstr(ut_consensus_errmsg(l), "one change at a time"));
    /* Ordinary proposals are not held up. */
    assert_int_equal(rc_propose(&c, 1, "x", 1, NULL), UT_OK);
    EXPECT_REFUSED(l, ut_consensus_propose_change(l, &ch, 1, 0, &idx_), UT_EBUSY);
    rc_drop_if(&c, any_msg, NULL);
    rc_heal(&c);
    assert_true(rc_run_until(&c, all_caught_up, NULL, 5000));
    assert_true(commit_of(&c, 1) >= idx);
    assert_int_equal(rc_change1(&c, 1, UT_CONSENSUS_ADD_OBSERVER, 5, NULL), UT_OK);
    assert_true(rc_run_until(&c, all_caught_up, NULL, 5000));
    ut_consensus_membership_t m = memb(&c, 2, NULL);
    assert_int_equal(m.n_observers, 2);
    RC_OK(&c);
    rc_destroy(&c);
}

/* Issue 11: a change proposed by a new leader before its first commit is
 * refused (thesis §4.1 and the single-server bug of the 2015 raft-dev post:
 * a leader that changes the configuration before committing an entry of its
 * term can overlap an uncommitted change of an earlier leader and let two
 * leaders be elected in one term). */
static void test_new_leader_change_refused_before_first_commit(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = mcfg();
    cfg.check_quorum = false;
    cluster(&c, 3, 0, &cfg);
    elect_and_commit(&c, 1, 2);
    uint64_t id4 = 0;
    assert_int_equal(rc_add_node(&c, &id4), UT_OK);
    /* Node 2 wins term 2 but its no-op reaches nobody yet. */
    assert_int_equal(rc_campaign(&c, 2), UT_OK);
    for (int i = 0; i < 20 && state_of(&c, 2) != UT_CONSENSUS_LEADER; i++) {
        size_t k = 0;
        while (k < c.n_net && c.net[k].m.type == UT_MSG_APPEND)
            k++;
        if (k == c.n_net)
            break;
        (void)rc_deliver(&c, k);
    }
    assert_int_equal(state_of(&c, 2), UT_CONSENSUS_LEADER);
    rc_isolate(&c, 2);
    rc_drop_if(&c, any_msg, NULL);
    ut_consensus_t *l = rc_h(&c, 2);
    assert_true(commit_of(&c, 2) < last_of(&c, 2));
    ut_consensus_change_t ch = {UT_CONSENSUS_ADD_OBSERVER, 4};
    EXPECT_REFUSED(l, ut_consensus_propose_change(l, &ch, 1, 0, &idx_), UT_EBUSY);
    assert_non_null(strstr(ut_consensus_errmsg(l), "not committed an entry of its term"));
    EXPECT_REFUSED(l, ut_consensus_leave_joint(l, &idx_), UT_ESTATE);
    rc_heal(&c);
    rc_run(&c, 3 * cfg.heartbeat_ms);
    assert_int_equal(state_of(&c, 2), UT_CONSENSUS_LEADER);
    assert_int_equal(commit_of(&c, 2), last_of(&c, 2));
    assert_int_equal(rc_change1(&c, 2, UT_CONSENSUS_ADD_OBSERVER, 4, NULL), UT_OK);
    assert_true(rc_run_until(&c, all_caught_up, NULL, 5000));
    RC_OK(&c);
    rc_destroy(&c);
}

/* Issue 11: observer promotion only after catch-up (thesis §4.2.1). A new
 * node joins as an observer, is refused promotion while it lags more than
 * promote_max_lag entries, and is promoted once it caught up; from then on
 * it counts in the quorum. */
static void test_observer_promotion_only_after_catch_up(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = mcfg(); /* promote_max_lag 4 */
    cfg.check_quorum = false;
    cluster(&c, 3, 0, &cfg);
    elect_and_commit(&c, 1, 3);
    uint64_t id4 = 0;
    assert_int_equal(rc_add_node(&c, &id4), UT_OK);
    rc_isolate(&c, 4);
    (void)change_committed(&c, 1, UT_CONSENSUS_ADD_OBSERVER, 4);
    for (int i = 0; i < 10; i++)
        assert_int_equal(rc_propose(&c, 1, "p", 1, NULL), UT_OK);
    rc_run(&c, 300);
    ut_consensus_t *l = rc_h(&c, 1);
    ut_consensus_change_t ch = {UT_CONSENSUS_PROMOTE, 4};
    EXPECT_REFUSED(l, ut_consensus_propose_change(l, &ch, 1, 0, &idx_), UT_EBUSY);
    assert_non_null(strstr(ut_consensus_errmsg(l), "promote_max_lag"));
    assert_int_equal(state_of(&c, 4), UT_CONSENSUS_OBSERVER);
    rc_heal(&c);
    assert_true(rc_run_until(&c, all_caught_up, NULL, 5000));
    (void)change_committed(&c, 1, UT_CONSENSUS_PROMOTE, 4);
    assert_int_equal(state_of(&c, 4), UT_CONSENSUS_FOLLOWER);
    ut_consensus_membership_t m = memb(&c, 3, NULL);
    assert_int_equal(m.n_voters, 4);
    assert_int_equal(m.n_observers, 0);
    assert_true(in(m.voters, m.n_voters, 4));
    /* Four voters: with 2 and 3 down, leader 1 and 4 are 2 of 4, no
     * majority; with 4 back in the count it takes 3 of 4. */
    rc_crash(&c, 2);
    rc_crash(&c, 3);
    uint64_t xi = 0;
    assert_int_equal(rc_propose(&c, 1, "q", 1, &xi), UT_OK);
    rc_run(&c, 500);
    assert_true(commit_of(&c, 1) < xi);
    assert_int_equal(last_of(&c, 4), xi);
    assert_int_equal(rc_restart(&c, 2), UT_OK);
    rc_run(&c, 500);
    assert_true(commit_of(&c, 1) >= xi);
    RC_OK(&c);
    rc_destroy(&c);
}

/* A voter added directly counts at once (thesis §4.2.1: the availability
 * risk that promotion avoids): 3 voters + new voter 4 that is down need 3
 * of 4 to commit. */
static void test_added_voter_counts_at_once(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = mcfg();
    cfg.check_quorum = false;
    cluster(&c, 3, 0, &cfg);
    elect_and_commit(&c, 1, 1);
    uint64_t id4 = 0;
    assert_int_equal(rc_add_node(&c, &id4), UT_OK);
    rc_crash(&c, 4);
    uint64_t idx = 0;
    assert_int_equal(rc_change1(&c, 1, UT_CONSENSUS_ADD_VOTER, 4, &idx), UT_OK);
    /* In effect on the leader at once: 4 voters. */
    ut_consensus_membership_t m = memb(&c, 1, NULL);
    assert_int_equal(m.n_voters, 4);
    rc_run(&c, 300);
    assert_true(commit_of(&c, 1) >= idx); /* 1, 2, 3 are 3 of 4 */
    rc_crash(&c, 3);
    uint64_t xi = 0;
    assert_int_equal(rc_propose(&c, 1, "r", 1, &xi), UT_OK);
    rc_run(&c, 500);
    assert_true(commit_of(&c, 1) < xi); /* 1, 2 of 4: no majority */
    assert_int_equal(rc_restart(&c, 4), UT_OK);
    assert_true(rc_run_until(&c, all_caught_up, NULL, 5000));
    assert_true(commit_of(&c, 1) >= xi);
    assert_int_equal(state_of(&c, 4), UT_CONSENSUS_FOLLOWER);
    RC_OK(&c);
    rc_destroy(&c);
}

/* Issue 11: remove the leader (thesis §4.2.2). It keeps leading without
 * counting itself until the configuration that removes it commits, then
 * steps down and never campaigns; the others elect a leader and go on. */
static void test_remove_the_leader(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = mcfg();
    cluster(&c, 3, 0, &cfg);
    elect_and_commit(&c, 1, 1);
    rc_isolate(&c, 3);
    uint64_t idx = 0;
    assert_int_equal(rc_change1(&c, 1, UT_CONSENSUS_REMOVE_VOTER, 1, &idx), UT_OK);
    rc_run(&c, 300);
    /* {2, 3} decide now: 2 alone is not a majority, and 1 does not count. */
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_LEADER);
    assert_true(commit_of(&c, 1) < idx);
    assert_int_equal(last_of(&c, 2), idx);
    uint64_t xi = 0;
    assert_int_equal(rc_propose(&c, 1, "s", 1, &xi), UT_OK);
    rc_run(&c, 100);
    assert_true(commit_of(&c, 1) < idx);
    rc_heal(&c);
    rc_run(&c, 300);
    /* Committed by 2 and 3: 1 stepped down at once, no member, and stays
     * out (2 and 3 learn the commit from the next leader). */
    assert_true(commit_of(&c, 1) >= xi);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_OBSERVER);
    uint64_t mi = 0;
    ut_consensus_membership_t m = memb(&c, 1, &mi);
    assert_int_equal(mi, idx);
    assert_false(in(m.voters, m.n_voters, 1));
    uint64_t ids[4];
    size_t k = 0;
    assert_int_equal(ut_consensus_nodes(rc_h(&c, 1), ids, 4, &k), UT_OK);
    assert_int_equal(k, 2);
    assert_true(rc_run_until(&c, rc_has_leader, NULL, 30000));
    uint64_t l = rc_leader(&c);
    assert_true(l == 2 || l == 3);
    assert_true(rc_run_until(&c, all_caught_up, NULL, 5000));
    assert_true(commit_of(&c, 2) >= xi && commit_of(&c, 3) >= xi);
    /* (The new leader told it its term while the removal was not yet
     * committed on it; the harness fails on any vote request it sends.) */
    uint64_t t1 = term_of(&c, 1);
    rc_run(&c, 20 * cfg.election_timeout_ms);
    assert_int_equal(term_of(&c, 1), t1); /* never campaigned */
    assert_int_equal(ut_consensus_campaign(rc_h(&c, 1)), UT_ESTATE);
    assert_int_equal(rc_propose(&c, l, "t", 1, &xi), UT_OK);
    rc_run(&c, 300);
    assert_true(commit_of(&c, 2) >= xi && commit_of(&c, 3) >= xi);
    assert_int_equal(rc_leader(&c), l);
    RC_OK(&c);
    rc_destroy(&c);
}

/* Issue 11: a removed node does not disrupt the cluster (thesis §4.2.3).
 * Node 3 is removed while cut off, so it never learns it: it times out and
 * campaigns, with and without pre-vote and check-quorum; the members refuse
 * its requests (it is no peer of theirs) and keep their leader and term. */
static void removed_node_case(bool pre_vote, bool check_quorum)
{
    rc_cluster_t c;
    ut_consensus_config_t cfg = mcfg();
    cfg.pre_vote = pre_vote;
    cfg.check_quorum = check_quorum;
    cluster(&c, 3, 0, &cfg);
    elect_and_commit(&c, 1, 1);
    rc_isolate(&c, 3);
    uint64_t idx = change_committed(&c, 1, UT_CONSENSUS_REMOVE_VOTER, 3);
    /* The leader would keep node 3 until it holds its removal; the next
     * change drops it for good, so it never learns. */
    uint64_t id4 = 0;
    assert_int_equal(rc_add_node(&c, &id4), UT_OK);
    idx = change_committed(&c, 1, UT_CONSENSUS_ADD_OBSERVER, id4);
    assert_int_equal(memb(&c, 3, NULL).n_voters, 3); /* it does not know */
    rc_heal(&c);
    uint64_t t = term_of(&c, 1);
    size_t votes_before = c.sent_type[UT_MSG_VOTE] + c.sent_type[UT_MSG_PREVOTE];
    for (int i = 0; i < 20; i++) {
        rc_run(&c, cfg.election_timeout_ms);
        assert_int_equal(rc_propose(&c, 1, "u", 1, NULL), UT_OK);
    }
    /* It did campaign (its requests went out) but changed nothing. */
    assert_true(c.sent_type[UT_MSG_VOTE] + c.sent_type[UT_MSG_PREVOTE] > votes_before);
    assert_int_equal(term_of(&c, 1), t);
    assert_int_equal(term_of(&c, 2), t);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_LEADER);
    assert_int_equal(ut_consensus_leader(rc_h(&c, 2)), 1);
    assert_true(commit_of(&c, 2) > idx);
    RC_OK(&c);
    rc_destroy(&c);
}

static void test_removed_node_does_not_disrupt(void **state)
{
    (void)state;
    removed_node_case(true, true);
    removed_node_case(true, false);
    removed_node_case(false, true);
    removed_node_case(false, false);

    /* A removed node that got the entry removing it knows it is out: it
     * becomes an observer, no member, and never campaigns. */
    rc_cluster_t c;
    ut_consensus_config_t cfg = mcfg();
    cluster(&c, 3, 0, &cfg);
    elect_and_commit(&c, 1, 1);
    (void)change_committed(&c, 1, UT_CONSENSUS_REMOVE_VOTER, 3);
    assert_int_equal(state_of(&c, 3), UT_CONSENSUS_OBSERVER);
    assert_false(rc_is_member(&c, 3, 3));
    uint64_t t = term_of(&c, 3);
    size_t sent = c.sent_type[UT_MSG_VOTE] + c.sent_type[UT_MSG_PREVOTE];
    rc_run(&c, 20 * cfg.election_timeout_ms);
    assert_int_equal(term_of(&c, 3), t);
    assert_int_equal(c.sent_type[UT_MSG_VOTE] + c.sent_type[UT_MSG_PREVOTE], sent);
    /* It can come back: add it again as an observer, promote it. */
    (void)change_committed(&c, 1, UT_CONSENSUS_ADD_OBSERVER, 3);
    (void)change_committed(&c, 1, UT_CONSENSUS_PROMOTE, 3);
    assert_int_equal(state_of(&c, 3), UT_CONSENSUS_FOLLOWER);
    RC_OK(&c);
    rc_destroy(&c);
}

/* Thesis §4.1: a configuration is in effect once appended, on followers
 * too, before it commits; an AppendEntries from a leader this node does not
 * have in its configuration is processed; a configuration entry truncated
 * away gives the previous configuration back. Hand-made messages to one
 * node, the payload written from docs/wire-format.md. */
static size_t enc_conf(uint8_t *out, const uint64_t *v, uint16_t nv, const uint64_t *o, uint16_t no,
                       const uint64_t *b, uint16_t nb, bool auto_leave)
{
    out[0] = 1;
    out[1] = auto_leave ? 1 : 0;
    out[2] = (uint8_t)nv;
    out[3] = 0;
    out[4] = (uint8_t)no;
    out[5] = 0;
    out[6] = (uint8_t)nb;
    out[7] = 0;
    uint8_t *p = out + 8;
    const uint64_t *sets[3] = {v, o, b};
    const uint16_t ns[3] = {nv, no, nb};
    for (int s = 0; s < 3; s++)
        for (size_t i = 0; i < ns[s]; i++, p += 8)
            for (int k = 0; k < 8; k++)
                p[k] = (uint8_t)(sets[s][i] >> (8 * k));
    return (size_t)(p - out);
}

static void test_config_on_append_and_truncation_revert(void **state)
{
    (void)state;
    ut_consensus_t *h = raw_new(2);
    assert_int_equal(ut_consensus_tick(h, 0), UT_OK);
    static const uint64_t v4[] = {1, 2, 3, 4}, v13[] = {1, 3};
    uint8_t p1[64], p2[64], pn[16];
    size_t l1 = enc_conf(p1, v4, 4, NULL, 0, NULL, 0, false);
    size_t l2 = enc_conf(p2, v13, 2, NULL, 0, NULL, 0, false);
    rc_payload(pn, 1, 1);
    ut_entry_t es[3] = {{1, 1, UT_ENTRY_NORMAL, 16, pn},
                        {1, 2, UT_ENTRY_CONFIG, (uint32_t)l1, p1},
                        {1, 3, UT_ENTRY_CONFIG, (uint32_t)l2, p2}};
    ut_msg_t m = mk_append(1, 2, 1, 0, 0, 1, es, 2);
    STEP_OK(h, m);
    raw_out_t out;
    raw_drain(h, &out);
    mview_t w = mview(h);
    assert_int_equal(w.index, 2); /* uncommitted (commit 1), in effect */
    assert_int_equal(ut_consensus_commit_index(h), 1);
    assert_int_equal(w.nv, 4);
    assert_int_equal(w.v[3], 4);
    uint64_t ids[8];
    size_t k = 0;
    assert_int_equal(ut_consensus_nodes(h, ids, 8, &k), UT_OK);
    assert_int_equal(k, 4);
    /* Node 4, now a voter, may lead: its AppendEntries are taken. Entry 3
     * removes this node, in effect at once: it is no member of {1, 3}; as
     * long as the removal is not committed it may still campaign (as a
     * removed leader still leads, thesis §4.2.2), never counting itself. */
    m = mk_append(4, 2, 1, 2, 1, 1, &es[2], 1);
    STEP_OK(h, m);
    raw_drain(h, &out);
    assert_int_equal(ut_consensus_leader(h), 4);
    w = mview(h);
    assert_int_equal(w.index, 3);
    assert_int_equal(w.nv, 2);
    assert_false(in(w.v, w.nv, 2));
    assert_int_equal(ut_consensus_state(h), UT_CONSENSUS_FOLLOWER);
    /* A node not in any configuration that leads term 2 (thesis §4.1:
     * requests are processed without consulting the configuration)
     * replaces entries 2 and 3: the configuration goes back to the initial
     * one, this node a follower again. */
    static const uint64_t t2[] = {2, 2};
    ut_entry_t ne[2];
    uint8_t npay[2][16];
    mk_entries(ne, npay, 2, t2, 2);
    m = mk_append(9, 2, 2, 1, 1, 1, ne, 2);
    STEP_OK(h, m);
    raw_drain(h, &out);
    w = mview(h);
    assert_int_equal(w.index, 0);
    assert_int_equal(w.nv, 3);
    assert_int_equal(ut_consensus_state(h), UT_CONSENSUS_FOLLOWER);
    assert_int_equal(ut_consensus_leader(h), 9);
    /* A vote request from a non-member is still refused. */
    m = mk_vote(UT_MSG_VOTE, 9, 2, 3, 5, 2);
    EXPECT_STEP(h, m, UT_ENOTFOUND);
    /* Only the entry above the kept one is truncated: a configuration at
     * index 4 truncated at 5 stays. */
    l1 = enc_conf(p1, v4, 4, NULL, 0, NULL, 0, false);
    ut_entry_t e4[2] = {{2, 4, UT_ENTRY_CONFIG, (uint32_t)l1, p1},
                        {2, 5, UT_ENTRY_NORMAL, 0, NULL}};
    m = mk_append(1, 2, 2, 3, 2, 3, e4, 2);
    STEP_OK(h, m);
    ut_entry_t e5 = {3, 5, UT_ENTRY_NORMAL, 0, NULL};
    m = mk_append(3, 2, 3, 4, 2, 3, &e5, 1);
    STEP_OK(h, m);
    raw_drain(h, &out);
    w = mview(h);
    assert_int_equal(w.index, 4);
    assert_int_equal(w.nv, 4);
    /* Malformed configuration payloads are refused, nothing changes. */
    uint8_t bad[64];
    memcpy(bad, p1, l1);
    bad[0] = 2; /* unknown version */
    ut_entry_t eb = {3, 6, UT_ENTRY_CONFIG, (uint32_t)l1, bad};
    m = mk_append(3, 2, 3, 5, 3, 3, &eb, 1);
    EXPECT_STEP(h, m, UT_EINVAL);
    memcpy(bad, p1, l1);
    eb.len = (uint32_t)l1 - 8; /* counts that do not match the length */
    EXPECT_STEP(h, m, UT_EINVAL);
    static const uint64_t dup[] = {1, 1};
    eb.len = (uint32_t)enc_conf(bad, dup, 2, NULL, 0, NULL, 0, false);
    EXPECT_STEP(h, m, UT_EINVAL);
    static const uint64_t none[] = {0};
    eb.len = (uint32_t)enc_conf(bad, none, 0, NULL, 0, v4, 1, false); /* no voter */
    EXPECT_STEP(h, m, UT_EINVAL);
    eb.len = (uint32_t)enc_conf(bad, v4, 2, NULL, 0, v4, 1, false); /* observer is a voter */
    EXPECT_STEP(h, m, UT_EINVAL);
    eb.len = (uint32_t)enc_conf(bad, v4, 2, NULL, 0, NULL, 0, true); /* auto_leave, not joint */
    EXPECT_STEP(h, m, UT_EINVAL);
    ut_consensus_free(h);
}

/* Thesis §4.1 (a server always uses the latest configuration in its log,
 * committed or not): a configuration entry truncated away and replaced by
 * another configuration entry at the same index (a new leader's, of
 * another term) takes effect. Found by utsim (--reads lease --changes 500
 * --compact auto --seed 160): the follower kept the truncated entry's
 * voters, since only a change of the latest configuration entry's index
 * made it reload, and once elected it counted a quorum of the wrong
 * voters. */
static void test_config_replaced_at_same_index(void **state)
{
    (void)state;
    ut_consensus_t *h = raw_new(2); /* voters {1, 2, 3} */
    assert_int_equal(ut_consensus_tick(h, 0), UT_OK);
    static const uint64_t with4[] = {1, 2, 3, 4}, with5[] = {1, 2, 3, 5};
    uint8_t p4[64], p5[64], pn[16];
    size_t l4 = enc_conf(p4, with4, 4, NULL, 0, NULL, 0, false);
    size_t l5 = enc_conf(p5, with5, 4, NULL, 0, NULL, 0, false);
    rc_payload(pn, 1, 1);
    /* Leader 1 of term 1: entry 1, then entry 2 adding voter 4 (in effect
     * on append, uncommitted). */
    ut_entry_t es[2] = {{1, 1, UT_ENTRY_NORMAL, 16, pn}, {1, 2, UT_ENTRY_CONFIG, (uint32_t)l4, p4}};
    ut_msg_t m = mk_append(1, 2, 1, 0, 0, 1, es, 2);
    STEP_OK(h, m);
    raw_out_t out;
    raw_drain(h, &out);
    mview_t w = mview(h);
    assert_true(in(w.v, w.nv, 4));
    assert_int_equal(w.index, 2);
    /* Leader 3 of term 2 replaces entry 2 by its own configuration entry 2,
     * adding voter 5 instead: that one is in effect now. */
    ut_entry_t e2 = {2, 2, UT_ENTRY_CONFIG, (uint32_t)l5, p5};
    m = mk_append(3, 2, 2, 1, 1, 1, &e2, 1);
    STEP_OK(h, m);
    raw_drain(h, &out);
    w = mview(h);
    assert_true(in(w.v, w.nv, 5));
    assert_int_equal(w.index, 2);
    assert_false(in(w.v, w.nv, 4));
    uint64_t ids[8];
    size_t k = 0;
    assert_int_equal(ut_consensus_nodes(h, ids, 8, &k), UT_OK);
    assert_int_equal(k, 4);
    ut_consensus_free(h);
}

/* Restart: the configuration comes back from the configuration entries of
 * the restored log (ut_consensus_restore), committed or not. */
static void test_restart_recovers_configuration(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = mcfg();
    cfg.check_quorum = false;
    cluster(&c, 3, 0, &cfg);
    elect_and_commit(&c, 1, 1);
    uint64_t id4 = 0;
    assert_int_equal(rc_add_node(&c, &id4), UT_OK);
    (void)change_committed(&c, 1, UT_CONSENSUS_ADD_OBSERVER, 4);
    (void)change_committed(&c, 1, UT_CONSENSUS_PROMOTE, 4);
    (void)change_committed(&c, 1, UT_CONSENSUS_REMOVE_VOTER, 3);
    /* An uncommitted one on the leader and node 2. */
    rc_isolate(&c, 4);
    uint64_t id5 = 0;
    assert_int_equal(rc_add_node(&c, &id5), UT_OK);
    rc_isolate(&c, 5);
    uint64_t pend = 0;
    assert_int_equal(rc_change1(&c, 1, UT_CONSENSUS_ADD_VOTER, 5, &pend), UT_OK);
    rc_drain(&c, 1000);
    assert_int_equal(last_of(&c, 2), pend);
    assert_true(commit_of(&c, 1) < pend); /* 1, 2 of {1, 2, 4, 5} */
    for (uint64_t id = 1; id <= 4; id++) {
        mview_t before = mview(rc_h(&c, id));
        ut_consensus_state_t st = state_of(&c, id);
        rc_crash(&c, id);
        assert_int_equal(rc_restart(&c, id), UT_OK);
        mview_t after = mview(rc_h(&c, id));
        assert_mview_equal(&before, &after);
        if (st != UT_CONSENSUS_LEADER)
            assert_int_equal(state_of(&c, id), st);
    }
    assert_int_equal(mview(rc_h(&c, 2)).index, pend);
    assert_int_equal(state_of(&c, 3), UT_CONSENSUS_OBSERVER); /* removed */
    assert_int_equal(state_of(&c, 4), UT_CONSENSUS_FOLLOWER); /* promoted */
    rc_heal(&c);
    assert_true(rc_run_until(&c, all_caught_up, NULL, 30000));
    uint64_t l = rc_leader(&c);
    assert_true(commit_of(&c, l) >= pend);
    assert_true(rc_is_voter(&c, l, 5));
    RC_OK(&c);
    rc_destroy(&c);
}

/* Issue 11: joint-consensus safety (thesis §4.3): no two disjoint
 * majorities elect leaders in one term while joint. {1, 2, 3} is replaced
 * by {4, 5, 6} at once: while joint, {1, 2} (a majority of the old voters)
 * and {4, 5, 6} (all the new ones) are disjoint and neither can elect or
 * commit alone; a majority of each can. Then the joint configuration is
 * left, explicitly and automatically. */
static void test_joint_consensus_safety(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = mcfg();
    cluster(&c, 3, 0, &cfg);
    elect_and_commit(&c, 1, 1);
    for (int i = 0; i < 3; i++) {
        uint64_t id = 0;
        assert_int_equal(rc_add_node(&c, &id), UT_OK);
        (void)change_committed(&c, 1, UT_CONSENSUS_ADD_OBSERVER, id);
    }
    ut_consensus_change_t ch[6] = {{UT_CONSENSUS_PROMOTE, 4},      {UT_CONSENSUS_PROMOTE, 5},
                                   {UT_CONSENSUS_PROMOTE, 6},      {UT_CONSENSUS_REMOVE_VOTER, 1},
                                   {UT_CONSENSUS_REMOVE_VOTER, 2}, {UT_CONSENSUS_REMOVE_VOTER, 3}};
    uint64_t jidx = 0;
    assert_int_equal(rc_change(&c, 1, ch, 6, 0, &jidx), UT_OK);
    ut_consensus_membership_t m = memb(&c, 1, NULL);
    assert_int_equal(m.n_voters, 3);
    assert_int_equal(m.n_voters_outgoing, 3);
    assert_true(in(m.voters, 3, 4) && in(m.voters_outgoing, 3, 1));
    assert_true(rc_run_until(&c, all_caught_up, NULL, 5000));
    assert_true(commit_of(&c, 1) >= jidx);
    ut_consensus_t *l = rc_h(&c, 1);
    EXPECT_REFUSED(l, ut_consensus_propose_change(l, ch, 1, 0, &idx_), UT_ESTATE);

    /* A commit needs both: without 4, 5, 6 nothing commits. */
    uint64_t side[3] = {1, 2, 3};
    rc_partition(&c, side, 3);
    uint64_t xi = 0;
    assert_int_equal(rc_propose(&c, 1, "j", 1, &xi), UT_OK);
    rc_run(&c, 3 * cfg.heartbeat_ms);
    assert_true(commit_of(&c, 1) < xi);
    rc_heal(&c);
    assert_true(rc_run_until(&c, all_caught_up, NULL, 5000));

    /* Elections: crash the leader; {2, 3} (old majority) cut from {4, 5, 6}
     * (new majority): no leader on either side, for many timeouts, though
     * each side alone is a majority of one configuration. */
    rc_crash(&c, 1);
    uint64_t a[2] = {2, 3};
    rc_partition(&c, a, 2);
    rc_run(&c, 30 * cfg.election_timeout_ms);
    assert_int_equal(rc_count_leaders(&c), 0);
    /* A majority of each ({2, 3} and {4, 5}) elects. */
    uint64_t b[4] = {2, 3, 4, 5};
    rc_partition(&c, b, 4);
    assert_true(rc_run_until(&c, rc_has_leader, NULL, 30000));
    uint64_t l2 = rc_leader(&c);
    assert_true(l2 >= 2 && l2 <= 5);
    rc_heal(&c);
    assert_int_equal(rc_restart(&c, 1), UT_OK);
    assert_true(rc_run_until(&c, all_caught_up, NULL, 30000));
    l2 = rc_leader(&c);

    /* Leave joint explicitly: C_new = {4, 5, 6}; 1, 2, 3 are out. */
    l = rc_h(&c, l2);
    uint64_t lidx = 0;
    assert_int_equal(ut_consensus_leave_joint(l, &lidx), UT_OK);
    rc_process(&c, l2);
    assert_int_equal(memb(&c, l2, NULL).n_voters_outgoing, 0);
    EXPECT_REFUSED(l, ut_consensus_leave_joint(l, &idx_), UT_ESTATE);
    assert_true(rc_run_until(&c, all_caught_up, NULL, 30000));
    assert_true(rc_run_until(&c, rc_has_leader, NULL, 30000));
    uint64_t l3 = rc_leader(&c);
    assert_true(l3 >= 4 && l3 <= 6);
    for (uint64_t id = 1; id <= 3; id++)
        assert_false(rc_is_member(&c, l3, id));
    rc_crash(&c, 1);
    rc_crash(&c, 2);
    rc_crash(&c, 3);
    assert_int_equal(rc_propose(&c, l3, "k", 1, &xi), UT_OK);
    rc_run(&c, 300);
    assert_true(commit_of(&c, l3) >= xi);

    /* Auto-leave: back to {1, 2, 3} in one joint change the leader leaves
     * by itself once it commits. */
    for (uint64_t id = 1; id <= 3; id++)
        assert_int_equal(rc_restart(&c, id), UT_OK);
    for (uint64_t id = 1; id <= 3; id++)
        (void)change_committed(&c, l3, UT_CONSENSUS_ADD_OBSERVER, id);
    ut_consensus_change_t back[6] = {
        {UT_CONSENSUS_PROMOTE, 1},      {UT_CONSENSUS_PROMOTE, 2},
        {UT_CONSENSUS_PROMOTE, 3},      {UT_CONSENSUS_REMOVE_VOTER, 4},
        {UT_CONSENSUS_REMOVE_VOTER, 5}, {UT_CONSENSUS_REMOVE_VOTER, 6}};
    assert_true(rc_run_until(&c, all_caught_up, NULL, 5000));
    assert_int_equal(rc_change(&c, l3, back, 6, UT_CONSENSUS_CHANGE_AUTO_LEAVE, &jidx), UT_OK);
    assert_true(memb(&c, l3, NULL).auto_leave);
    assert_true(rc_run_until(&c, rc_has_leader, NULL, 30000));
    assert_true(rc_run_until(&c, all_caught_up, NULL, 30000));
    uint64_t l4 = rc_leader(&c);
    assert_true(l4 >= 1 && l4 <= 3);
    uint64_t mi = 0;
    m = memb(&c, l4, &mi);
    assert_true(mi > jidx); /* the leave entry */
    assert_int_equal(m.n_voters_outgoing, 0);
    assert_int_equal(m.n_voters, 3);
    assert_true(in(m.voters, 3, 1) && in(m.voters, 3, 2) && in(m.voters, 3, 3));
    RC_OK(&c);
    rc_destroy(&c);
}

/* A single voter change with UT_CONSENSUS_CHANGE_JOINT goes through a joint
 * configuration too; observer-only changes are applied at once. */
static void test_joint_flag_and_observer_changes(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = mcfg();
    cluster(&c, 3, 0, &cfg);
    elect_and_commit(&c, 1, 1);
    uint64_t id4 = 0, id5 = 0;
    assert_int_equal(rc_add_node(&c, &id4), UT_OK);
    assert_int_equal(rc_add_node(&c, &id5), UT_OK);
    ut_consensus_change_t two[2] = {{UT_CONSENSUS_ADD_OBSERVER, 4}, {UT_CONSENSUS_ADD_OBSERVER, 5}};
    uint64_t idx = 0;
    assert_int_equal(rc_change(&c, 1, two, 2, 0, &idx), UT_OK);
    assert_int_equal(memb(&c, 1, NULL).n_voters_outgoing, 0);
    assert_true(rc_run_until(&c, all_caught_up, NULL, 5000));
    ut_consensus_change_t one = {UT_CONSENSUS_PROMOTE, 4};
    assert_int_equal(
        rc_change(&c, 1, &one, 1, UT_CONSENSUS_CHANGE_JOINT | UT_CONSENSUS_CHANGE_AUTO_LEAVE, &idx),
        UT_OK);
    ut_consensus_membership_t m = memb(&c, 1, NULL);
    assert_int_equal(m.n_voters_outgoing, 3);
    assert_int_equal(m.n_voters, 4);
    assert_true(rc_run_until(&c, all_caught_up, NULL, 5000));
    uint64_t mi = 0;
    m = memb(&c, 2, &mi);
    assert_true(mi > idx);
    assert_int_equal(m.n_voters_outgoing, 0);
    assert_int_equal(m.n_voters, 4);
    assert_int_equal(m.n_observers, 1);
    RC_OK(&c);
    rc_destroy(&c);
}

/* Every refusal: its code, a message, the node unchanged (configuration
 * included). */
static void test_change_refusals_leave_node_unchanged(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = mcfg();
    cluster(&c, 3, 1, &cfg); /* voters 1..3, observer 4 */
    elect_and_commit(&c, 1, 1);
    ut_consensus_t *l = rc_h(&c, 1), *f = rc_h(&c, 2);
    ut_consensus_change_t ch = {UT_CONSENSUS_ADD_OBSERVER, 7};
    EXPECT_REFUSED(f, ut_consensus_propose_change(f, &ch, 1, 0, &idx_), UT_ENOTLEADER);
    EXPECT_REFUSED(f, ut_consensus_leave_joint(f, &idx_), UT_ENOTLEADER);
    EXPECT_REFUSED(l, ut_consensus_propose_change(l, NULL, 1, 0, &idx_), UT_EINVAL);
    EXPECT_REFUSED(l, ut_consensus_propose_change(l, &ch, 0, 0, &idx_), UT_EINVAL);
    EXPECT_REFUSED(l, ut_consensus_propose_change(l, &ch, 1, 0x80, &idx_), UT_EINVAL);
    EXPECT_REFUSED(l, ut_consensus_propose_change(l, &ch, UT_CONSENSUS_MAX_NODES + 1, 0, &idx_),
                   UT_ERANGE);
    static const struct {
        ut_consensus_change_type_t t;
        uint64_t id;
    } bad[] = {
        {UT_CONSENSUS_ADD_VOTER, 2},       /* already a voter */
        {UT_CONSENSUS_ADD_OBSERVER, 4},    /* already an observer */
        {UT_CONSENSUS_ADD_VOTER, 4},       /* an observer: promote it instead */
        {UT_CONSENSUS_REMOVE_VOTER, 9},    /* unknown */
        {UT_CONSENSUS_REMOVE_VOTER, 4},    /* an observer, not a voter */
        {UT_CONSENSUS_REMOVE_OBSERVER, 2}, /* a voter, not an observer */
        {UT_CONSENSUS_PROMOTE, 3},         /* a voter */
        {UT_CONSENSUS_PROMOTE, 9},         /* unknown */
        {UT_CONSENSUS_ADD_VOTER, 0},       /* id 0 */
        {(ut_consensus_change_type_t)0, 5}, {(ut_consensus_change_type_t)6, 5},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ut_consensus_change_t b = {bad[i].t, bad[i].id};
        EXPECT_REFUSED(l, ut_consensus_propose_change(l, &b, 1, 0, &idx_), UT_EINVAL);
    }
    ut_consensus_change_t dupe[2] = {{UT_CONSENSUS_ADD_OBSERVER, 7},
                                     {UT_CONSENSUS_REMOVE_OBSERVER, 7}};
    EXPECT_REFUSED(l, ut_consensus_propose_change(l, dupe, 2, 0, &idx_), UT_EINVAL);
    assert_non_null(strstr(ut_consensus_errmsg(l), "appears in changes"));
    ut_consensus_change_t all[3] = {{UT_CONSENSUS_REMOVE_VOTER, 1},
                                    {UT_CONSENSUS_REMOVE_VOTER, 2},
                                    {UT_CONSENSUS_REMOVE_VOTER, 3}};
    EXPECT_REFUSED(l, ut_consensus_propose_change(l, all, 3, 0, &idx_), UT_EINVAL);
    assert_non_null(strstr(ut_consensus_errmsg(l), "last voter"));
    EXPECT_REFUSED(l, ut_consensus_leave_joint(l, &idx_), UT_ESTATE);
    assert_int_equal(ut_consensus_propose_change(NULL, &ch, 1, 0, NULL), UT_EINVAL);
    assert_int_equal(ut_consensus_leave_joint(NULL, NULL), UT_EINVAL);
    ut_consensus_membership_t m;
    assert_int_equal(ut_consensus_membership(NULL, &m, NULL), UT_EINVAL);
    assert_int_equal(ut_consensus_membership(l, NULL, NULL), UT_EINVAL);
    RC_OK(&c);
    rc_destroy(&c);

    /* More than UT_CONSENSUS_MAX_NODES members: a single voter with 63
     * observers (nodes that need not exist) may add none. */
    uint64_t obs[UT_CONSENSUS_MAX_NODES - 1];
    for (size_t i = 0; i < UT_CONSENSUS_MAX_NODES - 1; i++)
        obs[i] = 100 + i;
    static const uint64_t one[] = {1};
    cfg = cfg_base();
    cfg.id = 1;
    cfg.voters = one;
    cfg.n_voters = 1;
    cfg.observers = obs;
    cfg.n_observers = UT_CONSENSUS_MAX_NODES - 1;
    ut_consensus_t *h = NULL;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
    assert_int_equal(ut_consensus_tick(h, 0), UT_OK);
    assert_int_equal(ut_consensus_campaign(h), UT_OK);
    raw_out_t out;
    raw_drain(h, &out);
    assert_int_equal(ut_consensus_state(h), UT_CONSENSUS_LEADER);
    assert_int_equal(ut_consensus_commit_index(h), 1);
    ch.id = 99;
    EXPECT_REFUSED(h, ut_consensus_propose_change(h, &ch, 1, 0, &idx_), UT_ERANGE);
    ch.type = UT_CONSENSUS_ADD_VOTER;
    EXPECT_REFUSED(h, ut_consensus_propose_change(h, &ch, 1, 0, &idx_), UT_ERANGE);
    /* The last voter cannot go. */
    ch.type = UT_CONSENSUS_REMOVE_VOTER;
    ch.id = 1;
    EXPECT_REFUSED(h, ut_consensus_propose_change(h, &ch, 1, 0, &idx_), UT_EINVAL);
    /* A single voter commits its own change at once (after its ready). */
    ch.type = UT_CONSENSUS_REMOVE_OBSERVER;
    ch.id = 100;
    uint64_t idx = 0;
    assert_int_equal(ut_consensus_propose_change(h, &ch, 1, 0, &idx), UT_OK);
    raw_drain(h, &out);
    assert_int_equal(ut_consensus_commit_index(h), idx);
    size_t k = 0;
    assert_int_equal(ut_consensus_nodes(h, NULL, 0, &k), UT_ERANGE);
    assert_int_equal(k, UT_CONSENSUS_MAX_NODES - 1);
    ut_consensus_free(h);
}

/* Allocation failures (DESIGN §2): propose_change and an AppendEntries
 * carrying a configuration entry either succeed or fail with UT_ENOMEM and
 * leave the node unchanged, and succeed when retried. */
static void change_sweep(bool follower)
{
    bool done = false;
    size_t enomem = 0;
    for (long k = 1; k < 200 && !done; k++) {
        rc_cluster_t c;
        ut_consensus_config_t cfg = mcfg();
        cfg.check_quorum = false;
        assert_int_equal(rc_init(&c, 3, 0, &cfg), UT_OK);
        elect_and_commit(&c, 1, 1);
        uint64_t id4 = 0;
        assert_int_equal(rc_add_node(&c, &id4), UT_OK);
        ut_msg_t m;
        memset(&m, 0, sizeof m);
        rc_msg_t held = {0};
        if (follower) {
            assert_int_equal(rc_change1(&c, 1, UT_CONSENSUS_ADD_VOTER, 4, NULL), UT_OK);
            size_t i = 0;
            while (i < c.n_net && !(c.net[i].m.to == 2 && c.net[i].m.type == UT_MSG_APPEND &&
                                    c.net[i].m.body.append.n_entries > 0))
                i++;
            assert_true(i < c.n_net);
            held = c.net[i];
            memmove(&c.net[i], &c.net[i + 1], (c.n_net - i - 1) * sizeof c.net[0]);
            c.n_net--;
            m = held.m;
        }
        uint64_t node = follower ? 2 : 1;
        ut_consensus_t *h = rc_h(&c, node);
        snap_t s = take(h);
        mview_t w = mview(h);
        ut_consensus_change_t ch = {UT_CONSENSUS_ADD_VOTER, 4};
        test_alloc_t ta;
        test_alloc_install(&ta, k);
        int rc =
            follower ? ut_consensus_step(h, &m) : ut_consensus_propose_change(h, &ch, 1, 0, NULL);
        long failures = ta.failures;
        test_alloc_uninstall();
        if (rc == UT_ENOMEM) {
            enomem++;
            ASSERT_UNCHANGED(s, h);
            mview_t w2 = mview(h);
            assert_mview_equal(&w, &w2);
            assert_non_null(strstr(ut_consensus_errmsg(h), "out of memory"));
            rc = follower ? ut_consensus_step(h, &m)
                          : ut_consensus_propose_change(h, &ch, 1, 0, NULL);
        } else {
            done = failures == 0;
        }
        assert_int_equal(rc, UT_OK);
        assert_int_equal(mview(h).nv, 4);
        free(held.buf);
        rc_process_all(&c);
        assert_true(rc_run_until(&c, all_caught_up, NULL, 5000));
        assert_int_equal(state_of(&c, 4), UT_CONSENSUS_FOLLOWER);
        RC_OK(&c);
        rc_destroy(&c);
    }
    assert_true(done);
    assert_true(enomem > 0);
}

static void test_alloc_failure_propose_change(void **state)
{
    (void)state;
    change_sweep(false);
    change_sweep(true);
}

int consensus_group_membership(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_entry_format),
        cmocka_unit_test(test_one_pending_change_at_a_time),
        cmocka_unit_test(test_new_leader_change_refused_before_first_commit),
        cmocka_unit_test(test_observer_promotion_only_after_catch_up),
        cmocka_unit_test(test_added_voter_counts_at_once),
        cmocka_unit_test(test_remove_the_leader),
        cmocka_unit_test(test_removed_node_does_not_disrupt),
        cmocka_unit_test(test_config_on_append_and_truncation_revert),
        cmocka_unit_test(test_config_replaced_at_same_index),
        cmocka_unit_test(test_restart_recovers_configuration),
        cmocka_unit_test(test_joint_consensus_safety),
        cmocka_unit_test(test_joint_flag_and_observer_changes),
        cmocka_unit_test(test_change_refusals_leave_node_unchanged),
        cmocka_unit_test(test_alloc_failure_propose_change),
    };
    return cmocka_run_group_tests_name("consensus_membership", tests, NULL, NULL);
}
