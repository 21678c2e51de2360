/* SPDX-License-Identifier: MIT */
/* Raft core (ut_consensus_t), elections and leadership (§5.2, thesis §9.6,
 * §4.2.3, §6.2): election timers, votes and pre-votes, the vote restriction
 * (§5.4.1), split and duelling votes, leader failure, check-quorum and the
 * leader lease, disruptive rejoins, and the term rules of §5.1. A group of
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

static size_t net_count(rc_cluster_t *c, ut_msg_type_t type)
{
    size_t k = 0;
    for (size_t i = 0; i < c->n_net; i++)
        if (c->net[i].m.type == type)
            k++;
    return k;
}

/* §5.2: the election timeout is randomised in [T, 2T) and counted from the
 * node's first tick; without a leader the cluster elects one. */
static void test_election_timeout_from_first_tick(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cluster(&c, 3, 0, &cfg);
    c.now = 50000; /* a first tick far from 0 is the origin, not a timeout */
    start(&c);
    assert_int_equal(c.sent, 0);
    rc_advance(&c, cfg.election_timeout_ms - 1);
    assert_int_equal(c.sent, 0);
    for (uint64_t id = 1; id <= 3; id++)
        assert_int_equal(term_of(&c, id), 0);
    rc_advance(&c, cfg.election_timeout_ms + 1); /* now origin + 2T */
    assert_true(c.sent_type[UT_MSG_PREVOTE] > 0);
    assert_int_equal(c.sent_type[UT_MSG_VOTE], 0); /* pre-vote first */
    assert_true(rc_run_until(&c, rc_has_leader, NULL, 20 * cfg.election_timeout_ms));
    uint64_t l = rc_leader(&c);
    assert_int_equal(rc_count_leaders(&c), 1);
    assert_true(term_of(&c, l) >= 1);
    /* §5.4.2: the new leader's first entry is a no-op of its term. */
    assert_int_equal(eterm(&c, l, last_of(&c, l)), term_of(&c, l));
    rc_run(&c, 3 * cfg.heartbeat_ms);
    for (uint64_t id = 1; id <= 3; id++)
        assert_int_equal(commit_of(&c, id), last_of(&c, l));
    RC_OK(&c);
    rc_destroy(&c);
}

/* §5.2: each node draws its election timeout in [T, 2T) from the seed mixed
 * with its id, so nodes sharing a seed still time out at different moments;
 * §5.2 / Figure 2: a leader sends heartbeats every heartbeat interval. */
static void test_election_timeout_range_and_heartbeats(void **state)
{
    (void)state;
    const uint64_t T = 200;
    size_t distinct_total = 0;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        uint64_t first[3];
        for (uint64_t id = 1; id <= 3; id++) {
            ut_consensus_config_t cfg = cfg3(id);
            cfg.seed = seed;
            cfg.election_timeout_ms = T;
            cfg.heartbeat_ms = 20;
            ut_consensus_t *h = NULL;
            assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
            const uint64_t origin = 1000;
            assert_int_equal(ut_consensus_tick(h, origin), UT_OK);
            uint64_t t = origin;
            while (!ut_consensus_has_ready(h) && t < origin + 3 * T)
                assert_int_equal(ut_consensus_tick(h, ++t), UT_OK);
            first[id - 1] = t - origin;
            if (first[id - 1] < T || first[id - 1] >= 2 * T)
                fail_msg("seed %llu id %llu: first campaign after %llu ms, not in [%llu, %llu)",
                         (unsigned long long)seed, (unsigned long long)id,
                         (unsigned long long)first[id - 1], (unsigned long long)T,
                         (unsigned long long)(2 * T));
            ut_consensus_free(h);
        }
        distinct_total += (first[0] != first[1]) + (first[1] != first[2]) + (first[0] != first[2]);
    }
    assert_true(distinct_total >= 30); /* ids are mixed into the draw */

    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cluster(&c, 3, 0, &cfg);
    start(&c);
    assert_true(rc_elect(&c, 1));
    rc_drain(&c, 1000);
    uint64_t sent = c.sent_type[UT_MSG_APPEND];
    c.now += cfg.heartbeat_ms - 1;
    rc_tick(&c, 1);
    assert_int_equal(c.sent_type[UT_MSG_APPEND], sent);
    c.now += 1;
    rc_tick(&c, 1);
    assert_int_equal(c.sent_type[UT_MSG_APPEND], sent + 2);
    assert_non_null(net_find(&c, UT_MSG_APPEND, 1, 2));
    assert_non_null(net_find(&c, UT_MSG_APPEND, 1, 3));
    rc_drain(&c, 1000);
    RC_OK(&c);
    rc_destroy(&c);
}

/* §5.2: a one-voter cluster is its own majority; §5.4.2 / §8: the new leader
 * appends a no-op of its term; ready/advance: an entry counts as replicated on
 * the leader only once advance() confirms it is durable (Figure 2: "respond
 * after the entry is applied to stable storage"). */
static void test_single_voter_leads_at_once(void **state)
{
    (void)state;
    static const uint64_t one[] = {1};
    ut_consensus_config_t cfg = cfg_base();
    cfg.id = 1;
    cfg.voters = one;
    cfg.n_voters = 1;
    ut_consensus_t *h = NULL;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
    assert_int_equal(ut_consensus_campaign(h), UT_OK);
    assert_int_equal(ut_consensus_state(h), UT_CONSENSUS_LEADER);
    assert_int_equal(ut_consensus_term(h), 1);
    assert_int_equal(ut_consensus_vote(h), 1);
    assert_int_equal(ut_consensus_leader(h), 1);
    assert_int_equal(ut_consensus_last_index(h), 1);
    /* The no-op is not committed before it is durable (leader counts itself
     * only after advance). */
    assert_int_equal(ut_consensus_commit_index(h), 0);
    assert_true(ut_consensus_has_ready(h));
    ut_consensus_ready_t rd, rd2;
    assert_int_equal(ut_consensus_ready(h, &rd), UT_OK);
    assert_false(ut_consensus_ready_empty(&rd));
    assert_true(rd.hard_state_changed);
    assert_int_equal(rd.hard_state.term, 1);
    assert_int_equal(rd.hard_state.vote, 1);
    assert_int_equal(rd.n_entries, 1);
    assert_int_equal(rd.entries[0].index, 1);
    assert_int_equal(rd.entries[0].term, 1);
    assert_int_equal(rd.entries[0].type, UT_ENTRY_NOOP);
    assert_int_equal(rd.n_msgs, 0);
    assert_int_equal(rd.n_committed, 0);
    assert_int_equal(rd.state, UT_CONSENSUS_LEADER);
    assert_int_equal(rd.leader, 1);
    /* A second ready before advance is refused. */
    assert_int_equal(ut_consensus_ready(h, &rd2), UT_ESTATE);
    assert_int_equal(ut_consensus_commit_index(h), 0);
    /* Advancing with something that is not the outstanding ready fails. */
    rd2 = rd;
    rd2.seq_ ^= 0x5555;
    assert_int_equal(ut_consensus_advance(h, &rd2), UT_EINVAL);
    assert_int_equal(ut_consensus_advance(h, &rd), UT_OK);
    assert_int_equal(ut_consensus_commit_index(h), 1);
    assert_int_equal(ut_consensus_advance(h, &rd), UT_EINVAL); /* nothing outstanding */

    uint64_t idx = 0;
    assert_int_equal(ut_consensus_propose(h, "abc", 3, &idx), UT_OK);
    assert_int_equal(idx, 2);
    assert_int_equal(ut_consensus_commit_index(h), 1);
    size_t applied_normal = 0;
    for (int guard = 0; guard < 10 && ut_consensus_has_ready(h); guard++) {
        assert_int_equal(ut_consensus_ready(h, &rd), UT_OK);
        for (size_t i = 0; i < rd.n_committed; i++)
            if (rd.committed[i].type == UT_ENTRY_NORMAL) {
                assert_int_equal(rd.committed[i].index, 2);
                assert_int_equal(rd.committed[i].len, 3);
                assert_memory_equal(rd.committed[i].data, "abc", 3);
                applied_normal++;
            }
        assert_int_equal(ut_consensus_advance(h, &rd), UT_OK);
    }
    assert_int_equal(ut_consensus_commit_index(h), 2);
    assert_int_equal(applied_normal, 1);
    /* Campaigning as leader is an illegal transition. */
    snap_t s = take(h);
    assert_int_equal(ut_consensus_campaign(h), UT_ESTATE);
    ASSERT_UNCHANGED(s, h);
    ut_consensus_free(h);
}

/* Thesis §9.6: pre-vote changes no term or vote until a majority granted it. */
static void test_prevote_then_vote(void **state)
{
    (void)state;
    rc_cluster_t c;
    cluster(&c, 3, 0, NULL);
    start(&c);
    assert_int_equal(rc_campaign(&c, 1), UT_OK);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_FOLLOWER);
    assert_int_equal(term_of(&c, 1), 0);
    assert_int_equal(ut_consensus_vote(rc_h(&c, 1)), 0);
    assert_int_equal(net_count(&c, UT_MSG_PREVOTE), 2);
    assert_int_equal(net_count(&c, UT_MSG_VOTE), 0);
    const ut_msg_t *pv = net_find(&c, UT_MSG_PREVOTE, 1, 2);
    assert_non_null(pv);
    assert_int_equal(pv->term, 1);
    assert_int_equal(pv->body.vote.last_log_index, 0);
    assert_int_equal(pv->body.vote.last_log_term, 0);
    /* Deliver the pre-vote to 2: granted, and 2's term and vote stay. */
    assert_int_equal(rc_deliver(&c, 0), UT_OK);
    assert_int_equal(term_of(&c, 2), 0);
    assert_int_equal(ut_consensus_vote(rc_h(&c, 2)), 0);
    const ut_msg_t *pr = net_find(&c, UT_MSG_PREVOTE_RESP, 2, 1);
    assert_non_null(pr);
    assert_true(pr->body.vote_resp.granted);
    /* Majority of pre-votes: candidate in term 1, vote persisted before VOTE. */
    size_t k = 0;
    while (c.net[k].m.type != UT_MSG_PREVOTE_RESP)
        k++;
    assert_int_equal(rc_deliver(&c, k), UT_OK);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_CANDIDATE);
    assert_int_equal(term_of(&c, 1), 1);
    assert_int_equal(ut_consensus_vote(rc_h(&c, 1)), 1);
    assert_int_equal(rc_node(&c, 1)->hs.term, 1);
    assert_int_equal(rc_node(&c, 1)->hs.vote, 1);
    const ut_msg_t *v = net_find(&c, UT_MSG_VOTE, 1, 3);
    assert_non_null(v);
    assert_int_equal(v->term, 1);
    rc_drain(&c, 1000);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_LEADER);
    assert_int_equal(ut_consensus_leader(rc_h(&c, 2)), 1);
    assert_int_equal(ut_consensus_leader(rc_h(&c, 3)), 1);
    assert_int_equal(eterm(&c, 2, 1), 1);
    assert_int_equal(commit_of(&c, 1), 1);
    RC_OK(&c);
    rc_destroy(&c);

    /* Without pre-vote the campaign starts the election at once. */
    ut_consensus_config_t cfg = cfg_base();
    cfg.pre_vote = false;
    cluster(&c, 3, 0, &cfg);
    start(&c);
    assert_int_equal(rc_campaign(&c, 2), UT_OK);
    assert_int_equal(state_of(&c, 2), UT_CONSENSUS_CANDIDATE);
    assert_int_equal(term_of(&c, 2), 1);
    assert_int_equal(ut_consensus_vote(rc_h(&c, 2)), 2);
    assert_int_equal(net_count(&c, UT_MSG_VOTE), 2);
    assert_int_equal(net_count(&c, UT_MSG_PREVOTE), 0);
    /* A candidate cannot propose. */
    assert_int_equal(rc_propose(&c, 2, "x", 1, NULL), UT_ENOTLEADER);
    rc_drain(&c, 1000);
    assert_int_equal(state_of(&c, 2), UT_CONSENSUS_LEADER);
    RC_OK(&c);
    rc_destroy(&c);
}

/* §5.4.1: a vote is granted only to a candidate whose log is at least as
 * up-to-date (last term, then length), once per term. */
static void test_vote_restriction(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cfg.pre_vote = false;
    cluster(&c, 3, 0, &cfg);
    static const uint64_t t112[] = {1, 1, 2};
    assert_int_equal(rc_set_log(&c, 2, 2, 0, 0, t112, 3), UT_OK);
    start(&c);

    /* Longer log but lower last term: refused; the term is adopted. */
    ut_msg_t m = mk_vote(UT_MSG_VOTE, 1, 2, 3, 5, 1);
    assert_int_equal(rc_inject(&c, &m), UT_OK);
    assert_int_equal(term_of(&c, 2), 3);
    assert_int_equal(ut_consensus_vote(rc_h(&c, 2)), 0);
    const ut_msg_t *r = net_find(&c, UT_MSG_VOTE_RESP, 2, 1);
    assert_non_null(r);
    assert_false(r->body.vote_resp.granted);
    assert_int_equal(r->term, 3);
    while (c.n_net)
        rc_drop(&c, 0);

    /* Same last term, shorter log: refused. */
    m = mk_vote(UT_MSG_VOTE, 3, 2, 3, 2, 2);
    rc_inject(&c, &m);
    r = net_find(&c, UT_MSG_VOTE_RESP, 2, 3);
    assert_non_null(r);
    assert_false(r->body.vote_resp.granted);
    assert_int_equal(ut_consensus_vote(rc_h(&c, 2)), 0);
    while (c.n_net)
        rc_drop(&c, 0);

    /* Up to date: granted, and the vote is durable before the reply. */
    m = mk_vote(UT_MSG_VOTE, 3, 2, 3, 3, 2);
    assert_int_equal(rc_inject(&c, &m), UT_OK);
    r = net_find(&c, UT_MSG_VOTE_RESP, 2, 3);
    assert_non_null(r);
    assert_true(r->body.vote_resp.granted);
    assert_int_equal(ut_consensus_vote(rc_h(&c, 2)), 3);
    assert_int_equal(rc_node(&c, 2)->hs.term, 3);
    assert_int_equal(rc_node(&c, 2)->hs.vote, 3);
    while (c.n_net)
        rc_drop(&c, 0);

    /* One vote per term: a better candidate is refused, the same one is
     * granted again (its request was duplicated). */
    m = mk_vote(UT_MSG_VOTE, 1, 2, 3, 9, 3);
    rc_inject(&c, &m);
    r = net_find(&c, UT_MSG_VOTE_RESP, 2, 1);
    assert_non_null(r);
    assert_false(r->body.vote_resp.granted);
    assert_int_equal(ut_consensus_vote(rc_h(&c, 2)), 3);
    while (c.n_net)
        rc_drop(&c, 0);
    m = mk_vote(UT_MSG_VOTE, 3, 2, 3, 3, 2);
    rc_inject(&c, &m);
    r = net_find(&c, UT_MSG_VOTE_RESP, 2, 3);
    assert_non_null(r);
    assert_true(r->body.vote_resp.granted);
    RC_OK(&c);
    rc_destroy(&c);

    /* In a cluster: the node with the stale log cannot win, the other can. */
    cluster(&c, 3, 0, &cfg);
    static const uint64_t t11[] = {1, 1};
    assert_int_equal(rc_set_log(&c, 1, 2, 0, 0, t11, 2), UT_OK);
    assert_int_equal(rc_set_log(&c, 2, 2, 0, 0, t112, 3), UT_OK);
    assert_int_equal(rc_set_log(&c, 3, 2, 0, 0, t112, 3), UT_OK);
    start(&c);
    assert_false(rc_elect(&c, 1));
    assert_true(rc_elect(&c, 3));
    rc_run(&c, 500);
    assert_int_equal(eterm(&c, 1, 3), 2); /* repaired from the leader */
    RC_OK(&c);
    rc_destroy(&c);
}

/* Thesis §9.6: a pre-vote request never changes the receiver's term or vote. */
static void test_prevote_does_not_change_term(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cfg.check_quorum = false;
    cluster(&c, 3, 0, &cfg);
    static const uint64_t t112[] = {1, 1, 2};
    assert_int_equal(rc_set_log(&c, 2, 2, 1, 0, t112, 3), UT_OK);
    start(&c);
    snap_t s = take(rc_h(&c, 2));
    ut_msg_t m = mk_vote(UT_MSG_PREVOTE, 3, 2, 5, 3, 2);
    assert_int_equal(rc_inject(&c, &m), UT_OK);
    ASSERT_UNCHANGED(s, rc_h(&c, 2));
    const ut_msg_t *r = net_find(&c, UT_MSG_PREVOTE_RESP, 2, 3);
    assert_non_null(r);
    assert_true(r->body.vote_resp.granted);
    while (c.n_net)
        rc_drop(&c, 0);
    m = mk_vote(UT_MSG_PREVOTE, 3, 2, 5, 2, 2); /* log behind */
    rc_inject(&c, &m);
    ASSERT_UNCHANGED(s, rc_h(&c, 2));
    r = net_find(&c, UT_MSG_PREVOTE_RESP, 2, 3);
    assert_non_null(r);
    assert_false(r->body.vote_resp.granted);
    RC_OK(&c);
    rc_destroy(&c);
}

/* §5.2: with pre-vote off, two simultaneous candidates: one wins (3 nodes);
 * a split vote (4 nodes) elects nobody in that term, but randomised
 * timeouts elect exactly one leader later. */
static void test_dueling_candidates(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cfg.pre_vote = false;
    cluster(&c, 3, 0, &cfg);
    start(&c);
    assert_int_equal(rc_campaign(&c, 1), UT_OK);
    assert_int_equal(rc_campaign(&c, 2), UT_OK);
    rc_drain(&c, 1000);
    assert_int_equal(rc_count_leaders(&c), 1);
    uint64_t l = rc_leader(&c);
    assert_true(l == 1 || l == 2);
    assert_int_equal(term_of(&c, l), 1);
    for (uint64_t id = 1; id <= 3; id++)
        assert_int_equal(term_of(&c, id), 1);
    assert_int_equal(state_of(&c, l == 1 ? 2 : 1), UT_CONSENSUS_FOLLOWER);
    RC_OK(&c);
    rc_destroy(&c);
}

static bool vote_from_to(const ut_msg_t *m, void *ud)
{
    const uint64_t *ft = ud;
    return m->type == UT_MSG_VOTE && m->from == ft[0] && m->to == ft[1];
}

static void test_split_vote_then_one_leader(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cfg.pre_vote = false;
    cluster(&c, 4, 0, &cfg);
    start(&c);
    assert_int_equal(rc_campaign(&c, 1), UT_OK);
    assert_int_equal(rc_campaign(&c, 2), UT_OK);
    uint64_t a[2] = {1, 3}, b[2] = {2, 4};
    assert_int_equal(rc_deliver_if(&c, vote_from_to, a, 1), 1);
    assert_int_equal(rc_deliver_if(&c, vote_from_to, b, 1), 1);
    rc_drain(&c, 1000);
    /* 2 of 4 votes each: no leader in term 1. */
    assert_int_equal(rc_count_leaders(&c), 0);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_CANDIDATE);
    assert_int_equal(state_of(&c, 2), UT_CONSENSUS_CANDIDATE);
    assert_true(rc_run_until(&c, rc_has_leader, NULL, 30 * cfg.election_timeout_ms));
    assert_int_equal(rc_count_leaders(&c), 1);
    uint64_t l = rc_leader(&c);
    assert_true(term_of(&c, l) >= 2);
    RC_OK(&c);
    rc_destroy(&c);
}

static bool leader_other_than(rc_cluster_t *c, void *ud)
{
    uint64_t old = *(const uint64_t *)ud;
    uint64_t l = rc_leader(c);
    return l != 0 && l != old && rc_has_leader(c, NULL);
}

/* §5.2 / §5.4: the leader crashes, a new one is elected among the others with
 * every committed entry, and the old leader rejoins as a follower. */
static void test_leader_crash_new_leader(void **state)
{
    (void)state;
    rc_cluster_t c;
    cluster(&c, 3, 0, NULL);
    start(&c);
    assert_true(rc_run_until(&c, rc_has_leader, NULL, 20000));
    uint64_t l = rc_leader(&c);
    uint64_t t = term_of(&c, l);
    assert_int_equal(rc_propose(&c, l, "a", 1, NULL), UT_OK);
    rc_run(&c, 300);
    for (uint64_t id = 1; id <= 3; id++)
        assert_true(applied_payload(&c, id, "a", 1));
    rc_crash(&c, l);
    assert_true(rc_run_until(&c, leader_other_than, &l, 20000));
    uint64_t n = rc_leader(&c);
    assert_true(term_of(&c, n) > t);
    assert_int_equal(rc_propose(&c, n, "b", 1, NULL), UT_OK);
    rc_run(&c, 300);
    for (uint64_t id = 1; id <= 3; id++)
        if (id != l)
            assert_true(applied_payload(&c, id, "b", 1));
    assert_int_equal(rc_restart(&c, l), UT_OK);
    assert_int_equal(state_of(&c, l), UT_CONSENSUS_FOLLOWER);
    rc_run(&c, 1000);
    assert_int_equal(ut_consensus_leader(rc_h(&c, l)), n);
    assert_true(applied_payload(&c, l, "b", 1));
    assert_true(rc_all_applied(&c, rc_node(&c, n)->n_applied));
    RC_OK(&c);
    rc_destroy(&c);
}

/* Thesis §6.2: check-quorum. A leader that cannot reach a majority of voters
 * for an election timeout steps down (same term); without check-quorum it
 * stays leader. */
static void test_check_quorum_step_down(void **state)
{
    (void)state;
    rc_cluster_t c;
    cluster(&c, 3, 0, NULL);
    elect_and_commit(&c, 1, 0);
    uint64_t t = term_of(&c, 1);
    rc_isolate(&c, 1);
    rc_run(&c, 2 * c.cfg.election_timeout_ms + 2 * c.cfg.heartbeat_ms);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_FOLLOWER);
    assert_int_equal(term_of(&c, 1), t); /* stepping down is not a new term */
    assert_int_equal(rc_propose(&c, 1, "x", 1, NULL), UT_ENOTLEADER);
    /* The other side elected its own leader meanwhile. */
    assert_true(state_of(&c, 2) == UT_CONSENSUS_LEADER || state_of(&c, 3) == UT_CONSENSUS_LEADER);
    RC_OK(&c);
    rc_destroy(&c);

    ut_consensus_config_t cfg = cfg_base();
    cfg.check_quorum = false;
    cluster(&c, 3, 0, &cfg);
    elect_and_commit(&c, 1, 0);
    rc_isolate(&c, 1);
    rc_run(&c, 10 * cfg.election_timeout_ms);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_LEADER);
    assert_int_equal(term_of(&c, 1), t);
    RC_OK(&c);
    rc_destroy(&c);
}

/* Thesis §4.2.3: with check-quorum, a follower that heard from its leader
 * within the election timeout ignores vote and pre-vote requests. */
static void test_leader_lease_ignores_votes(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cfg.pre_vote = false;
    cluster(&c, 3, 0, &cfg);
    elect_and_commit(&c, 1, 1);
    uint64_t t = term_of(&c, 1);
    uint64_t li = last_of(&c, 2);
    snap_t s2 = take(rc_h(&c, 2));
    ut_msg_t m = mk_vote(UT_MSG_VOTE, 3, 2, t + 1, li, t);
    (void)rc_inject(&c, &m);
    ASSERT_UNCHANGED(s2, rc_h(&c, 2));
    const ut_msg_t *r = net_find(&c, UT_MSG_VOTE_RESP, 2, 3);
    assert_true(r == NULL || !r->body.vote_resp.granted);
    m = mk_vote(UT_MSG_PREVOTE, 3, 2, t + 1, li, t);
    (void)rc_inject(&c, &m);
    ASSERT_UNCHANGED(s2, rc_h(&c, 2));
    r = net_find(&c, UT_MSG_PREVOTE_RESP, 2, 3);
    assert_true(r == NULL || !r->body.vote_resp.granted);
    rc_drop_if(&c, any_msg, NULL);
    RC_OK(&c);
    rc_destroy(&c);

    /* With check-quorum (and pre-vote) off, the follower still ignores it
     * (thesis §4.2.3 applies whatever else is on); the leader,
     * which has no lease of its own without check-quorum, takes the term
     * (§5.1) and grants the vote to an up-to-date candidate. */
    cfg.check_quorum = false;
    cluster(&c, 3, 0, &cfg);
    elect_and_commit(&c, 1, 1);
    t = term_of(&c, 1);
    li = last_of(&c, 2);
    s2 = take(rc_h(&c, 2));
    m = mk_vote(UT_MSG_VOTE, 3, 2, t + 1, li, t);
    (void)rc_inject(&c, &m);
    ASSERT_UNCHANGED(s2, rc_h(&c, 2));
    assert_null(net_find(&c, UT_MSG_VOTE_RESP, 2, 3));
    m = mk_vote(UT_MSG_VOTE, 3, 1, t + 1, li, t);
    assert_int_equal(rc_inject(&c, &m), UT_OK);
    assert_int_equal(term_of(&c, 1), t + 1);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_FOLLOWER);
    assert_int_equal(ut_consensus_vote(rc_h(&c, 1)), 3);
    r = net_find(&c, UT_MSG_VOTE_RESP, 1, 3);
    assert_non_null(r);
    assert_true(r->body.vote_resp.granted);
    rc_drop_if(&c, any_msg, NULL);
    RC_OK(&c);
    rc_destroy(&c);
}

/* Thesis §9.6: a node rejoining after a partition. With pre-vote its term did
 * not grow while it was cut off and the leader keeps its term; without
 * pre-vote (and without check-quorum) it forces a new election. */
static void disruptive_rejoin(bool pre_vote)
{
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cfg.pre_vote = pre_vote;
    cfg.check_quorum = pre_vote;
    cluster(&c, 3, 0, &cfg);
    elect_and_commit(&c, 1, 1);
    uint64_t t = term_of(&c, 1);
    rc_isolate(&c, 3);
    assert_int_equal(rc_propose(&c, 1, "p", 1, NULL), UT_OK);
    rc_run(&c, 10 * cfg.election_timeout_ms);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_LEADER);
    assert_int_equal(term_of(&c, 1), t);
    if (pre_vote) {
        assert_int_equal(term_of(&c, 3), t);
        assert_int_equal(state_of(&c, 3), UT_CONSENSUS_FOLLOWER);
    } else {
        assert_true(term_of(&c, 3) > t);
    }
    rc_heal(&c);
    rc_run(&c, 3 * cfg.election_timeout_ms);
    assert_true(rc_run_until(&c, rc_has_leader, NULL, 20 * cfg.election_timeout_ms));
    uint64_t l = rc_leader(&c);
    if (pre_vote) {
        assert_int_equal(l, 1);
        assert_int_equal(term_of(&c, 1), t);
        assert_int_equal(term_of(&c, 3), t);
    } else {
        assert_true(term_of(&c, l) > t);
        assert_true(l != 3); /* its log is behind (§5.4.1) */
    }
    rc_run(&c, 500);
    assert_true(applied_payload(&c, 3, "p", 1));
    RC_OK(&c);
    rc_destroy(&c);
}

static void test_rejoin_with_prevote_not_disruptive(void **s)
{
    (void)s;
    disruptive_rejoin(true);
}

static void test_rejoin_without_prevote_disrupts(void **s)
{
    (void)s;
    disruptive_rejoin(false);
}

/* §5.1: a message from an older term is refused with a reply carrying the
 * current term; a newer term turns any node into a follower of that term. */
static void test_term_rules(void **state)
{
    (void)state;
    rc_cluster_t c;
    cluster(&c, 3, 0, NULL);
    static const uint64_t t112[] = {1, 1, 2};
    assert_int_equal(rc_set_log(&c, 2, 5, 0, 0, t112, 3), UT_OK);
    start(&c);
    snap_t s = take(rc_h(&c, 2));
    ut_msg_t m = mk_append(1, 2, 3, 3, 2, 0, NULL, 0);
    assert_int_equal(rc_inject(&c, &m), UT_ESTALE);
    const ut_msg_t *r = net_find(&c, UT_MSG_APPEND_RESP, 2, 1);
    assert_non_null(r);
    assert_false(r->body.append_resp.success);
    assert_int_equal(r->term, 5);
    /* Only a term notice: hint_index 0, which no real rejection carries. */
    assert_int_equal(r->body.append_resp.hint_index, 0);
    assert_int_equal(r->body.append_resp.index, 0);
    ASSERT_UNCHANGED(s, rc_h(&c, 2));
    m = mk_vote(UT_MSG_VOTE, 3, 2, 4, 9, 4);
    assert_int_equal(rc_inject(&c, &m), UT_ESTALE);
    r = net_find(&c, UT_MSG_VOTE_RESP, 2, 3);
    assert_non_null(r);
    assert_false(r->body.vote_resp.granted);
    assert_int_equal(r->term, 5);
    ASSERT_UNCHANGED(s, rc_h(&c, 2));
    m = mk_vote(UT_MSG_PREVOTE, 3, 2, 4, 9, 4);
    assert_int_equal(rc_inject(&c, &m), UT_ESTALE);
    r = net_find(&c, UT_MSG_PREVOTE_RESP, 2, 3);
    assert_non_null(r);
    assert_false(r->body.vote_resp.granted);
    ASSERT_UNCHANGED(s, rc_h(&c, 2));
    /* Stale responses are ignored too. */
    m = mk_msg(UT_MSG_VOTE_RESP, 3, 2, 1);
    m.body.vote_resp.granted = true;
    assert_int_equal(rc_inject(&c, &m), UT_ESTALE);
    ASSERT_UNCHANGED(s, rc_h(&c, 2));
    RC_OK(&c);
    rc_destroy(&c);

    /* A leader that receives, in its own term, the term notice answering an
     * AppendEntries it sent in an older term ignores it: it is not a
     * rejection of its current log, even with an index beyond that log. */
    cluster(&c, 3, 0, NULL);
    elect_and_commit(&c, 1, 0);
    uint64_t t = term_of(&c, 1);
    s = take(rc_h(&c, 1));
    m = mk_msg(UT_MSG_APPEND_RESP, 2, 1, t);
    m.body.append_resp.success = false;
    m.body.append_resp.index = 1000; /* meaningless in a notice */
    assert_int_equal(rc_inject(&c, &m), UT_OK);
    ASSERT_UNCHANGED(s, rc_h(&c, 1));
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_LEADER);
    RC_OK(&c);
    rc_destroy(&c);

    /* A leader seeing a higher term in a response becomes a follower. */
    cluster(&c, 3, 0, NULL);
    elect_and_commit(&c, 1, 0);
    t = term_of(&c, 1);
    m = mk_msg(UT_MSG_VOTE_RESP, 2, 1, t + 3);
    assert_int_equal(rc_inject(&c, &m), UT_OK);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_FOLLOWER);
    assert_int_equal(term_of(&c, 1), t + 3);
    assert_int_equal(ut_consensus_vote(rc_h(&c, 1)), 0);
    assert_int_equal(rc_node(&c, 1)->hs.term, t + 3);
    RC_OK(&c);
    rc_destroy(&c);
}

/* The node of raw_new(2) with pre-vote and check-quorum off, ticked at 0 and
 * given two entries of term 1 by leader 1 at 0 (which starts its election
 * timer), then ticked every millisecond up to until. */
static ut_consensus_t *timer_node(uint64_t until)
{
    ut_consensus_config_t cfg = cfg3(2);
    cfg.pre_vote = false;
    cfg.check_quorum = false;
    ut_consensus_t *h = NULL;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
    raw_out_t o;
    assert_int_equal(ut_consensus_tick(h, 0), UT_OK);
    ut_entry_t es[2];
    uint8_t pay[2][16];
    const uint64_t terms[] = {1, 1};
    mk_entries(es, pay, 1, terms, 2);
    ut_msg_t m = mk_append(1, 2, 1, 0, 0, 0, es, 2);
    assert_int_equal(ut_consensus_step(h, &m), UT_OK);
    raw_drain(h, &o);
    for (uint64_t t = 1; t <= until; t++) {
        assert_int_equal(ut_consensus_tick(h, t), UT_OK);
        raw_drain(h, &o);
    }
    return h;
}

/* Figure 2 (Rules for Servers, Followers): the election timer restarts on
 * word from the current leader and on a granted vote, not on a vote request
 * that is refused. A follower asked for its vote by a candidate of a higher
 * term with a shorter log adopts the term, refuses, and still times out when
 * it would have: otherwise candidates that cannot win, campaigning in turn,
 * keep the only nodes that could win from ever standing (utsim seed 62). */
static void test_refused_vote_keeps_election_timer(void **state)
{
    (void)state;
    /* When the untouched node stands: x. */
    ut_consensus_t *b = timer_node(0);
    uint64_t x = 0;
    for (uint64_t t = 1; t <= 3000 && x == 0; t++) {
        assert_int_equal(ut_consensus_tick(b, t), UT_OK);
        if (ut_consensus_state(b) == UT_CONSENSUS_CANDIDATE)
            x = t;
        raw_out_t o;
        raw_drain(b, &o);
    }
    ut_consensus_free(b);
    assert_true(x >= 1000 && x < 2000); /* §5.2: [T, 2T) */

    /* Refused at x - 1 (candidate 3 has one entry, we have two): the term is
     * adopted, no vote is recorded, the node still stands at x. */
    ut_consensus_t *a = timer_node(x - 1);
    ut_msg_t v = mk_vote(UT_MSG_VOTE, 3, 2, 2, 1, 1);
    assert_int_equal(ut_consensus_step(a, &v), UT_OK);
    raw_out_t o;
    raw_drain(a, &o);
    assert_int_equal(o.n_msgs, 1);
    assert_int_equal(o.msgs[0].type, UT_MSG_VOTE_RESP);
    assert_false(o.msgs[0].body.vote_resp.granted);
    assert_int_equal(ut_consensus_term(a), 2);
    assert_int_equal(ut_consensus_vote(a), 0);
    assert_int_equal(ut_consensus_state(a), UT_CONSENSUS_FOLLOWER);
    assert_int_equal(ut_consensus_tick(a, x), UT_OK);
    assert_int_equal(ut_consensus_state(a), UT_CONSENSUS_CANDIDATE);
    assert_int_equal(ut_consensus_term(a), 3);
    ut_consensus_free(a);

    /* Granted at x - 1 (candidate 3's log is as long): the timer restarts,
     * the node does not stand at x, and stands an election timeout later. */
    a = timer_node(x - 1);
    v = mk_vote(UT_MSG_VOTE, 3, 2, 2, 2, 1);
    assert_int_equal(ut_consensus_step(a, &v), UT_OK);
    raw_drain(a, &o);
    assert_int_equal(o.n_msgs, 1);
    assert_true(o.msgs[0].body.vote_resp.granted);
    assert_int_equal(ut_consensus_vote(a), 3);
    assert_int_equal(ut_consensus_tick(a, x), UT_OK);
    assert_int_equal(ut_consensus_state(a), UT_CONSENSUS_FOLLOWER);
    assert_int_equal(ut_consensus_tick(a, x - 1 + 999), UT_OK);
    assert_int_equal(ut_consensus_state(a), UT_CONSENSUS_FOLLOWER);
    assert_int_equal(ut_consensus_tick(a, x - 1 + 2000), UT_OK);
    assert_int_equal(ut_consensus_state(a), UT_CONSENSUS_CANDIDATE);
    ut_consensus_free(a);
}

/* The same rule for a candidate (Figure 2: a candidate that discovers a
 * higher term becomes a follower; its timer runs on): a candidate of term 2
 * that refuses a vote request of term 3 still stands again at the moment its
 * own campaign's timeout ends. */
static void test_refused_vote_keeps_candidate_timer(void **state)
{
    (void)state;
    /* The untouched node: first candidacy at x1 (term 2), second at x2. */
    ut_consensus_t *b = timer_node(0);
    uint64_t x1 = 0, x2 = 0;
    for (uint64_t t = 1; t <= 6000 && x2 == 0; t++) {
        assert_int_equal(ut_consensus_tick(b, t), UT_OK);
        if (x1 == 0 && ut_consensus_state(b) == UT_CONSENSUS_CANDIDATE)
            x1 = t;
        else if (x1 != 0 && ut_consensus_term(b) == 3)
            x2 = t;
        raw_out_t o;
        raw_drain(b, &o);
    }
    ut_consensus_free(b);
    assert_true(x1 != 0 && x2 > x1 + 1);
    ut_consensus_t *a = timer_node(x2 - 1);
    assert_int_equal(ut_consensus_state(a), UT_CONSENSUS_CANDIDATE);
    assert_int_equal(ut_consensus_term(a), 2);
    ut_msg_t v = mk_vote(UT_MSG_VOTE, 3, 2, 3, 1, 1); /* one entry: behind */
    assert_int_equal(ut_consensus_step(a, &v), UT_OK);
    raw_out_t o;
    raw_drain(a, &o);
    assert_int_equal(ut_consensus_state(a), UT_CONSENSUS_FOLLOWER);
    assert_int_equal(ut_consensus_term(a), 3);
    assert_int_equal(ut_consensus_vote(a), 0);
    assert_int_equal(ut_consensus_tick(a, x2), UT_OK);
    assert_int_equal(ut_consensus_state(a), UT_CONSENSUS_CANDIDATE);
    assert_int_equal(ut_consensus_term(a), 4);
    ut_consensus_free(a);
}

/* A node of cfg3(2) in the given read mode, restored at term 3 (or new when
 * term is 0), first ticked at 5000. */
static ut_consensus_t *hold_node(ut_consensus_read_mode_t mode, uint64_t term)
{
    ut_consensus_config_t cfg = cfg3(2);
    cfg.read_mode = mode;
    ut_consensus_t *h = NULL;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
    if (term != 0) {
        ut_consensus_hard_state_t hs = {.term = term, .vote = 0, .commit = 0};
        assert_int_equal(ut_consensus_restore(h, &hs, NULL, 0), UT_OK);
    }
    assert_int_equal(ut_consensus_tick(h, 5000), UT_OK);
    raw_out_t o;
    raw_drain(h, &o);
    return h;
}

/* Step a vote request of term 4 from 3 (last log entry lli of term llt) and
 * report whether it was answered with a grant (false: refused or ignored,
 * no answer). */
static bool vote_granted_at(ut_consensus_t *h, ut_msg_type_t type, bool transfer, uint64_t lli,
                            uint64_t llt)
{
    ut_msg_t v = mk_vote(type, 3, 2, 4, lli, llt);
    v.body.vote.transfer = transfer;
    assert_int_equal(ut_consensus_step(h, &v), UT_OK);
    raw_out_t o;
    raw_drain(h, &o);
    for (size_t i = 0; i < o.n_msgs; i++)
        if (o.msgs[i].type == UT_MSG_VOTE_RESP || o.msgs[i].type == UT_MSG_PREVOTE_RESP)
            return o.msgs[i].body.vote_resp.granted;
    return false;
}

static bool vote_granted(ut_consensus_t *h, ut_msg_type_t type, bool transfer)
{
    return vote_granted_at(h, type, transfer, 0, 0);
}

/* Thesis §6.4.1 with §4.2.3: a lease read is safe only while every voter
 * of the round ignores vote requests. A voter restarted inside the lease has
 * forgotten its leader, so in lease mode a restarted node (restored at a
 * term above 0) ignores (pre-)vote requests for one election timeout from
 * its first tick. A transfer's candidacy passes; ReadIndex mode, and a node
 * that never stored a term, vote at once. */
static void test_lease_mode_restart_holds_votes(void **state)
{
    (void)state;
    ut_consensus_t *h = hold_node(UT_CONSENSUS_READ_LEASE, 3);
    snap_t s = take(h);
    assert_int_equal(ut_consensus_tick(h, 5000 + 999), UT_OK);
    assert_false(vote_granted(h, UT_MSG_PREVOTE, false));
    assert_false(vote_granted(h, UT_MSG_VOTE, false));
    ASSERT_UNCHANGED(s, h); /* ignored: term 3, no vote */
    assert_int_equal(ut_consensus_tick(h, 5000 + 1000), UT_OK);
    assert_true(vote_granted(h, UT_MSG_PREVOTE, false));
    assert_true(vote_granted(h, UT_MSG_VOTE, false));
    assert_int_equal(ut_consensus_term(h), 4);
    assert_int_equal(ut_consensus_vote(h), 3);
    ut_consensus_free(h);

    /* Restarted from a snapshot (index 10, term 1): the same hold. */
    ut_consensus_config_t cfg = cfg3(2);
    cfg.read_mode = UT_CONSENSUS_READ_LEASE;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
    ut_consensus_snapshot_t sn;
    memset(&sn, 0, sizeof sn);
    sn.index = 10;
    sn.term = 1;
    sn.membership.voters = V3;
    sn.membership.n_voters = 3;
    ut_consensus_hard_state_t hs = {.term = 3, .vote = 0, .commit = 10};
    assert_int_equal(ut_consensus_restore_snapshot(h, &hs, &sn, NULL, 0), UT_OK);
    assert_int_equal(ut_consensus_tick(h, 5000), UT_OK);
    assert_int_equal(ut_consensus_tick(h, 5000 + 999), UT_OK);
    assert_false(vote_granted_at(h, UT_MSG_VOTE, false, 10, 1));
    assert_int_equal(ut_consensus_term(h), 3);
    assert_int_equal(ut_consensus_tick(h, 5000 + 1000), UT_OK);
    assert_true(vote_granted_at(h, UT_MSG_VOTE, false, 10, 1));
    ut_consensus_free(h);

    h = hold_node(UT_CONSENSUS_READ_LEASE, 3); /* a transfer passes */
    assert_true(vote_granted(h, UT_MSG_VOTE, true));
    assert_int_equal(ut_consensus_vote(h), 3);
    ut_consensus_free(h);

    h = hold_node(UT_CONSENSUS_READ_SAFE, 3); /* ReadIndex: no hold */
    assert_true(vote_granted(h, UT_MSG_VOTE, false));
    ut_consensus_free(h);

    h = hold_node(UT_CONSENSUS_READ_LEASE, 0); /* never stored a term */
    assert_true(vote_granted(h, UT_MSG_VOTE, false));
    ut_consensus_free(h);

    /* Restored from a disk that holds term 0: no hold either. */
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
    ut_consensus_hard_state_t hs0 = {.term = 0, .vote = 0, .commit = 0};
    assert_int_equal(ut_consensus_restore(h, &hs0, NULL, 0), UT_OK);
    assert_int_equal(ut_consensus_tick(h, 5000), UT_OK);
    assert_true(vote_granted(h, UT_MSG_VOTE, false));
    ut_consensus_free(h);
}

int consensus_group_election(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_election_timeout_from_first_tick),
        cmocka_unit_test(test_election_timeout_range_and_heartbeats),
        cmocka_unit_test(test_single_voter_leads_at_once),
        cmocka_unit_test(test_prevote_then_vote),
        cmocka_unit_test(test_vote_restriction),
        cmocka_unit_test(test_prevote_does_not_change_term),
        cmocka_unit_test(test_dueling_candidates),
        cmocka_unit_test(test_split_vote_then_one_leader),
        cmocka_unit_test(test_leader_crash_new_leader),
        cmocka_unit_test(test_check_quorum_step_down),
        cmocka_unit_test(test_leader_lease_ignores_votes),
        cmocka_unit_test(test_rejoin_with_prevote_not_disruptive),
        cmocka_unit_test(test_rejoin_without_prevote_disrupts),
        cmocka_unit_test(test_term_rules),
        cmocka_unit_test(test_refused_vote_keeps_election_timer),
        cmocka_unit_test(test_refused_vote_keeps_candidate_timer),
        cmocka_unit_test(test_lease_mode_restart_holds_votes),
    };
    return cmocka_run_group_tests_name("consensus_election", tests, NULL, NULL);
}
