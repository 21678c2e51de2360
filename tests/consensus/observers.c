/* SPDX-License-Identifier: MIT */
/* Raft core (ut_consensus_t), observers (non-voting learners, thesis
 * §4.2.1): an observer never campaigns or counts towards a quorum (it
 * answers vote requests since 0.3.0, thesis §4.1; its vote counts nowhere). A
 * group of test_consensus (tests/test_consensus.c runs every group). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "consensus_test.h"

static void test_observer_never_votes_or_counts(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cfg.check_quorum = false;
    cluster(&c, 3, 2, &cfg); /* voters 1..3, observers 4, 5 */
    start(&c);
    assert_int_equal(state_of(&c, 4), UT_CONSENSUS_OBSERVER);
    snap_t s = take(rc_h(&c, 4));
    assert_int_equal(ut_consensus_campaign(rc_h(&c, 4)), UT_ESTATE);
    ASSERT_UNCHANGED(s, rc_h(&c, 4));
    /* Observers never campaign, whatever the time (the harness fails on
     * any vote request or granted vote an observer sends). */
    for (uint64_t id = 1; id <= 5; id++)
        rc_isolate(&c, id);
    rc_run(&c, 20 * cfg.election_timeout_ms);
    assert_int_equal(term_of(&c, 4), 0);
    assert_int_equal(term_of(&c, 5), 0);
    rc_heal(&c);
    assert_true(rc_run_until(&c, rc_has_leader, NULL, 30000));
    uint64_t l = rc_leader(&c);
    assert_true(l <= 3);
    /* Observers receive and apply the log. */
    assert_int_equal(rc_propose(&c, l, "a", 1, NULL), UT_OK);
    rc_run(&c, 300);
    assert_true(applied_payload(&c, 4, "a", 1));
    assert_true(applied_payload(&c, 5, "a", 1));
    assert_int_equal(ut_consensus_leader(rc_h(&c, 4)), l);
    /* >>> rmemb: an observer asked for its vote answers by the same rules
     * as a voter (since 0.3.0, thesis §4.1: it may be a voter that has not
     * received its promotion yet): here it refuses, its leader is alive
     * (thesis §4.2.3); it stays an observer, and a vote it gives is never
     * counted (test_observer_grants_not_counted). */
    uint64_t t = term_of(&c, l);
    ut_msg_t m = mk_vote(UT_MSG_VOTE, l, 4, t + 1, last_of(&c, l), t);
    (void)rc_inject(&c, &m);
    assert_int_equal(ut_consensus_vote(rc_h(&c, 4)), 0);
    assert_int_equal(state_of(&c, 4), UT_CONSENSUS_OBSERVER);
    /* <<< rmemb */
    rc_drop_if(&c, any_msg, NULL);
    RC_OK(&c);
    rc_destroy(&c);

    /* Observers are not counted in a quorum: the leader plus two observers
     * acknowledging is 3 of 5 members but 1 of 3 voters. */
    cluster(&c, 3, 2, &cfg);
    elect_and_commit(&c, 1, 1);
    uint64_t others[] = {2, 3};
    for (size_t i = 0; i < 2; i++)
        rc_crash(&c, others[i]);
    uint64_t xi = 0;
    assert_int_equal(rc_propose(&c, 1, "b", 1, &xi), UT_OK);
    rc_run(&c, 2000);
    assert_int_equal(last_of(&c, 4), xi);
    assert_int_equal(last_of(&c, 5), xi);
    assert_true(commit_of(&c, 1) < xi);
    assert_false(applied_payload(&c, 4, "b", 1));
    assert_int_equal(rc_restart(&c, 2), UT_OK);
    rc_run(&c, 1000);
    assert_true(commit_of(&c, 1) >= xi);
    assert_true(applied_payload(&c, 4, "b", 1));
    assert_true(applied_payload(&c, 5, "b", 1));
    RC_OK(&c);
    rc_destroy(&c);
}

/* An observer's (forged) granted vote is never counted: 3 voters + 2
 * observers, a candidate with two observer grants has 3 of 5 members but only
 * 1 of 3 voters. */
static void test_observer_grants_not_counted(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cfg.pre_vote = false;
    cluster(&c, 3, 2, &cfg);
    start(&c);
    assert_int_equal(rc_campaign(&c, 1), UT_OK);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_CANDIDATE);
    rc_drop_if(&c, any_msg, NULL);
    uint64_t t = term_of(&c, 1);
    for (uint64_t o = 4; o <= 5; o++) {
        ut_msg_t m = mk_msg(UT_MSG_VOTE_RESP, o, 1, t);
        m.body.vote_resp.granted = true;
        (void)rc_inject(&c, &m);
        assert_int_equal(state_of(&c, 1), UT_CONSENSUS_CANDIDATE);
    }
    /* A voter's grant does it. */
    ut_msg_t m = mk_msg(UT_MSG_VOTE_RESP, 2, 1, t);
    m.body.vote_resp.granted = true;
    assert_int_equal(rc_inject(&c, &m), UT_OK);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_LEADER);
    rc_drop_if(&c, any_msg, NULL);
    RC_OK(&c);
    rc_destroy(&c);
}

/* Thesis §4.1: a node answers a vote request from a candidate it does not
 * know, even in the configuration it was created with: an observer may have
 * been promoted, and the candidate added, by entries it never received, and
 * its vote may be the one the candidate needs (the random test's seed 14911:
 * voters {4, 5}, 5 an observer of {1, 2, 3} with an empty log, 4 unknown to
 * it). Thesis §4.2.3: not while a leader is alive, so a removed or stranger
 * node cannot disrupt it. */
static void test_vote_from_unknown_candidate(void **state)
{
    (void)state;
    ut_consensus_config_t cfg = cfg3_observer(5, 5);
    cfg.pre_vote = true;
    cfg.check_quorum = true;
    ut_consensus_t *h = raw_make(&cfg);
    assert_int_equal(ut_consensus_tick(h, 0), UT_OK);
    raw_out_t out;
    /* No leader known: a pre-vote, then a vote, from 4 are answered. */
    ut_msg_t m = mk_vote(UT_MSG_PREVOTE, 4, 5, 1, 0, 0);
    assert_int_equal(ut_consensus_step(h, &m), UT_OK);
    raw_drain(h, &out);
    assert_int_equal(out.n_msgs, 1);
    assert_int_equal(out.msgs[0].type, UT_MSG_PREVOTE_RESP);
    assert_int_equal(out.msgs[0].to, 4);
    assert_true(out.msgs[0].body.vote_resp.granted);
    assert_int_equal(ut_consensus_term(h), 0); /* a pre-vote changes nothing */
    m = mk_vote(UT_MSG_VOTE, 4, 5, 1, 0, 0);
    assert_int_equal(ut_consensus_step(h, &m), UT_OK);
    raw_drain(h, &out);
    assert_int_equal(out.n_msgs, 1);
    assert_int_equal(out.msgs[0].type, UT_MSG_VOTE_RESP);
    assert_true(out.msgs[0].body.vote_resp.granted);
    assert_int_equal(ut_consensus_term(h), 1);
    assert_int_equal(ut_consensus_vote(h), 4);
    /* A leader alive (an AppendEntries of term 1 from 1): a stranger's
     * request of a higher term is refused and changes nothing. */
    m = mk_append(1, 5, 1, 0, 0, 0, NULL, 0);
    assert_int_equal(ut_consensus_step(h, &m), UT_OK);
    raw_drain(h, &out);
    assert_int_equal(ut_consensus_leader(h), 1);
    snap_t s = take(h);
    m = mk_vote(UT_MSG_VOTE, 9, 5, 2, 0, 0);
    EXPECT_STEP(h, m, UT_ENOTFOUND);
    ASSERT_UNCHANGED(s, h);
    m = mk_vote(UT_MSG_PREVOTE, 9, 5, 2, 0, 0);
    EXPECT_STEP(h, m, UT_ENOTFOUND);
    ASSERT_UNCHANGED(s, h);
    ut_consensus_free(h);
}

int consensus_group_observers(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_observer_never_votes_or_counts),
        cmocka_unit_test(test_observer_grants_not_counted),
        cmocka_unit_test(test_vote_from_unknown_candidate),
    };
    return cmocka_run_group_tests_name("consensus_observers", tests, NULL, NULL);
}
