/* SPDX-License-Identifier: MIT */
/* Raft core (ut_consensus_t), restore and restart (persistent state, Figure
 * 2): loading a persisted state, refusing an inconsistent one, keeping term
 * and vote across a restart, and a refused input that must not block a later
 * restore. A group of test_consensus (tests/test_consensus.c runs every
 * group). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "consensus_test.h"

static void test_restore_loads_state(void **state)
{
    (void)state;
    ut_consensus_t *h = raw_new(2);
    ut_entry_t es[3];
    uint8_t pay[3][16];
    static const uint64_t terms[] = {1, 1, 2};
    mk_entries(es, pay, 1, terms, 3);
    ut_consensus_hard_state_t hs = {3, 3, 2};
    assert_int_equal(ut_consensus_restore(h, &hs, es, 3), UT_OK);
    memset(pay, 0, sizeof pay); /* payloads were copied */
    assert_int_equal(ut_consensus_state(h), UT_CONSENSUS_FOLLOWER);
    assert_int_equal(ut_consensus_term(h), 3);
    assert_int_equal(ut_consensus_vote(h), 3);
    assert_int_equal(ut_consensus_commit_index(h), 2);
    assert_int_equal(ut_consensus_last_index(h), 3);
    uint64_t t = 0;
    assert_int_equal(ut_consensus_entry_term(h, 3, &t), UT_OK);
    assert_int_equal(t, 2);
    assert_int_equal(ut_consensus_entry_term(h, 4, &t), UT_ENOTFOUND);
    /* Restore only before the first input, and only once. */
    assert_int_equal(ut_consensus_restore(h, &hs, es, 0), UT_ESTATE);
    ut_consensus_free(h);

    h = raw_new(2);
    assert_int_equal(ut_consensus_tick(h, 10), UT_OK);
    snap_t s = take(h);
    assert_int_equal(ut_consensus_restore(h, &hs, NULL, 0), UT_ESTATE);
    ASSERT_UNCHANGED(s, h);
    ut_consensus_free(h);

    h = raw_new(2);
    ut_msg_t m = mk_append(1, 2, 1, 0, 0, 0, NULL, 0);
    assert_int_equal(ut_consensus_step(h, &m), UT_OK);
    s = take(h);
    assert_int_equal(ut_consensus_restore(h, &hs, NULL, 0), UT_ESTATE);
    ASSERT_UNCHANGED(s, h);
    ut_consensus_free(h);
}

/* A durable state machine tells the node what it already holds (cfg.applied,
 * like etcd's Config.Applied): only the committed entries after it are
 * handed out again; an applied index beyond the commit index is refused. */
static void test_restore_applied_skips_reapplication(void **state)
{
    (void)state;
    ut_entry_t es[4];
    uint8_t pay[4][16];
    static const uint64_t terms[] = {1, 1, 2, 2};
    mk_entries(es, pay, 1, terms, 4);
    ut_consensus_hard_state_t hs = {2, 0, 3};

    ut_consensus_config_t cfg = cfg3(2);
    cfg.applied = 2;
    ut_consensus_t *h = NULL;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
    assert_int_equal(ut_consensus_restore(h, &hs, es, 4), UT_OK);
    ut_consensus_ready_t rd;
    assert_int_equal(ut_consensus_ready(h, &rd), UT_OK);
    assert_int_equal(rd.n_committed, 1);
    assert_int_equal(rd.committed[0].index, 3);
    assert_int_equal(rd.n_entries, 0); /* already on disk */
    assert_false(rd.hard_state_changed);
    assert_int_equal(ut_consensus_advance(h, &rd), UT_OK);
    ut_consensus_free(h);

    /* Default (applied = 0): everything committed comes out again. */
    cfg.applied = 0;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
    assert_int_equal(ut_consensus_restore(h, &hs, es, 4), UT_OK);
    assert_int_equal(ut_consensus_ready(h, &rd), UT_OK);
    assert_int_equal(rd.n_committed, 3);
    assert_int_equal(rd.committed[0].index, 1);
    ut_consensus_free(h);

    /* Beyond the lazily persisted commit 3 but within the log: accepted as
     * evidence of commitment (issue 8.8); beyond the log: corrupt. */
    cfg.applied = 4;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
    assert_int_equal(ut_consensus_restore(h, &hs, es, 4), UT_OK);
    assert_int_equal(ut_consensus_commit_index(h), 4);
    ut_consensus_free(h);
    cfg.applied = 5;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
    snap_t sn = take(h);
    assert_int_equal(ut_consensus_restore(h, &hs, es, 4), UT_ECORRUPT);
    ASSERT_UNCHANGED(sn, h);
    ut_consensus_free(h);
}

static void expect_restore_corrupt(const ut_consensus_hard_state_t *hs, const ut_entry_t *es,
                                   size_t n, int line)
{
    ut_consensus_config_t cfg = cfg3_observer(2, 4);
    ut_consensus_t *h = raw_make(&cfg);
    snap_t s = take(h);
    int rc = ut_consensus_restore(h, hs, es, n);
    if (rc != UT_ECORRUPT)
        fail_msg("line %d: restore returned %s, expected UT_ECORRUPT", line, ut_err_name(rc));
    snap_check(&s, h, line);
    /* Nothing changed: the node can still be restored with a valid state. */
    ut_consensus_hard_state_t ok = {1, 0, 0};
    if (ut_consensus_restore(h, &ok, NULL, 0) != UT_OK)
        fail_msg("line %d: node not restorable after a refused restore", line);
    ut_consensus_free(h);
}

#define EXPECT_CORRUPT(hs, es, n) expect_restore_corrupt(&(hs), (es), (n), __LINE__)

static void test_restore_rejects_inconsistent_state(void **state)
{
    (void)state;
    ut_entry_t es[3];
    uint8_t pay[3][16];
    static const uint64_t t112[] = {1, 1, 2};
    static const uint64_t t21[] = {2, 1};
    ut_consensus_hard_state_t hs = {2, 0, 0};

    mk_entries(es, pay, 2, t112, 3); /* starts at index 2 */
    EXPECT_CORRUPT(hs, es, 3);
    mk_entries(es, pay, 1, t112, 3);
    es[2].index = 4; /* gap */
    EXPECT_CORRUPT(hs, es, 3);
    mk_entries(es, pay, 1, t21, 2); /* terms decreasing */
    EXPECT_CORRUPT(hs, es, 2);
    mk_entries(es, pay, 1, t112, 3);
    ut_consensus_hard_state_t low = {1, 0, 0}; /* entry term 2 > hs.term 1 */
    EXPECT_CORRUPT(low, es, 3);
    ut_consensus_hard_state_t far = {2, 0, 4}; /* commit beyond the log */
    EXPECT_CORRUPT(far, es, 3);
    ut_consensus_hard_state_t termless = {0, 3, 0}; /* a vote is cast in a term */
    EXPECT_CORRUPT(termless, NULL, 0);
}

/* Thesis §4.1: a node may have voted for a candidate that was a voter only
 * by a configuration entry a truncation in the same term has since taken
 * away, even from a log that holds no configuration entry now. Such a vote
 * restores (it is not corruption) and still binds the node for that term
 * (§5.2: at most one vote per term). */
static void test_restore_keeps_vote_for_a_non_voter(void **state)
{
    (void)state;
    static const uint64_t votes[] = {9 /* no member */, 4 /* an observer */};
    for (size_t i = 0; i < 2; i++) {
        ut_consensus_config_t cfg = cfg3_observer(2, 4);
        cfg.pre_vote = false;
        cfg.check_quorum = false;
        ut_consensus_t *h = raw_make(&cfg);
        ut_consensus_hard_state_t hs = {2, votes[i], 0};
        assert_int_equal(ut_consensus_restore(h, &hs, NULL, 0), UT_OK);
        assert_int_equal(ut_consensus_term(h), 2);
        assert_int_equal(ut_consensus_vote(h), votes[i]);
        /* Another candidate of term 2 does not get a second vote. */
        ut_msg_t m = mk_vote(UT_MSG_VOTE, 3, 2, 2, 0, 0);
        assert_int_equal(ut_consensus_step(h, &m), UT_OK);
        assert_int_equal(ut_consensus_vote(h), votes[i]);
        ut_consensus_free(h);
    }
}

/* §5.2 / Figure 2: currentTerm and votedFor survive a restart, so a node never
 * votes twice in one term. */
static void test_restart_keeps_term_and_vote(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cfg.pre_vote = false;
    cfg.check_quorum = false;
    cluster(&c, 3, 0, &cfg);
    start(&c);
    ut_msg_t m = mk_vote(UT_MSG_VOTE, 1, 3, 1, 0, 0);
    assert_int_equal(rc_inject(&c, &m), UT_OK);
    assert_int_equal(ut_consensus_vote(rc_h(&c, 3)), 1);
    rc_drop_if(&c, any_msg, NULL);
    rc_crash(&c, 3);
    assert_int_equal(rc_restart(&c, 3), UT_OK);
    assert_int_equal(term_of(&c, 3), 1);
    assert_int_equal(ut_consensus_vote(rc_h(&c, 3)), 1);
    assert_int_equal(state_of(&c, 3), UT_CONSENSUS_FOLLOWER);
    m = mk_vote(UT_MSG_VOTE, 2, 3, 1, 0, 0);
    (void)rc_inject(&c, &m);
    const ut_msg_t *r = net_find(&c, UT_MSG_VOTE_RESP, 3, 2);
    assert_true(r == NULL || !r->body.vote_resp.granted);
    assert_int_equal(ut_consensus_vote(rc_h(&c, 3)), 1);
    rc_drop_if(&c, any_msg, NULL);
    RC_OK(&c);
    rc_destroy(&c);

    /* A restarted leader comes back as a follower with its term, its vote
     * (itself) and its log, and the cluster carries on. */
    cluster(&c, 3, 0, &cfg);
    elect_and_commit(&c, 1, 3);
    uint64_t t = term_of(&c, 1), last = last_of(&c, 1);
    rc_crash(&c, 1);
    assert_int_equal(rc_restart(&c, 1), UT_OK);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_FOLLOWER);
    assert_int_equal(term_of(&c, 1), t);
    assert_int_equal(ut_consensus_vote(rc_h(&c, 1)), 1);
    assert_int_equal(last_of(&c, 1), last);
    assert_true(rc_run_until(&c, rc_has_leader, NULL, 30000));
    uint64_t l = rc_leader(&c);
    assert_true(term_of(&c, l) > t);
    assert_int_equal(rc_propose(&c, l, "z", 1, NULL), UT_OK);
    rc_run(&c, 500);
    for (uint64_t id = 1; id <= 3; id++)
        assert_true(applied_payload(&c, id, "z", 1));
    RC_OK(&c);
    rc_destroy(&c);
}

/* consensus.h: a refused step (UT_EINVAL, UT_ENOMEM) or campaign (UT_ENOMEM)
 * leaves the node unchanged. It used to mark the node as having taken input,
 * after which ut_consensus_restore() answered UT_ESTATE: a malformed packet
 * arriving before the persisted state was loaded made the node unable to load
 * it. */
static void test_refused_input_keeps_restore_possible(void **state)
{
    (void)state;
    ut_entry_t es[2];
    uint8_t pay[2][16];
    static const uint64_t t11[] = {1, 1};
    mk_entries(es, pay, 1, t11, 2);
    ut_consensus_hard_state_t hs = {1, 1, 1};

    ut_consensus_t *h = raw_new(2);
    ut_msg_t m = mk_append(1, 2, 1, 0, 0, 0, NULL, 1); /* entries NULL, n 1 */
    EXPECT_STEP(h, m, UT_EINVAL);
    assert_int_equal(ut_consensus_restore(h, &hs, es, 2), UT_OK);
    assert_int_equal(ut_consensus_last_index(h), 2);
    ut_consensus_free(h);

    h = raw_new(2);
    test_alloc_t ta;
    test_alloc_install(&ta, 1);
    m = mk_vote(UT_MSG_VOTE, 1, 2, 1, 0, 0);
    int rc = ut_consensus_step(h, &m);
    test_alloc_uninstall();
    assert_int_equal(rc, UT_ENOMEM);
    assert_int_equal(ut_consensus_restore(h, &hs, es, 2), UT_OK);
    ut_consensus_free(h);

    h = raw_new(2);
    test_alloc_install(&ta, 1);
    rc = ut_consensus_campaign(h);
    test_alloc_uninstall();
    assert_int_equal(rc, UT_ENOMEM);
    assert_int_equal(ut_consensus_restore(h, &hs, es, 2), UT_OK);
    ut_consensus_free(h);

    /* Accepted input still closes the door. */
    h = raw_new(2);
    m = mk_vote(UT_MSG_VOTE, 1, 2, 1, 0, 0);
    assert_int_equal(ut_consensus_step(h, &m), UT_OK);
    assert_int_equal(ut_consensus_restore(h, &hs, es, 2), UT_ESTATE);
    ut_consensus_free(h);
}

int consensus_group_restore(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restore_loads_state),
        cmocka_unit_test(test_restore_applied_skips_reapplication),
        cmocka_unit_test(test_restore_rejects_inconsistent_state),
        cmocka_unit_test(test_restore_keeps_vote_for_a_non_voter),
        cmocka_unit_test(test_restart_keeps_term_and_vote),
        cmocka_unit_test(test_refused_input_keeps_restore_possible),
    };
    return cmocka_run_group_tests_name("consensus_restore", tests, NULL, NULL);
}
