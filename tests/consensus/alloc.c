/* SPDX-License-Identifier: MIT */
/* Raft core (ut_consensus_t), allocation failures (DESIGN §2: UT_ENOMEM,
 * object unchanged): an allocation-failure sweep over new, propose, step,
 * campaign, ready and the leader's tick. A group of test_consensus
 * (tests/test_consensus.c runs every group). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "consensus_test.h"

static void test_alloc_failure_new(void **state)
{
    (void)state;
    test_alloc_t ta;
    ut_consensus_config_t cfg = cfg3(1);
    bool done = false;
    for (long k = 1; k < 500 && !done; k++) {
        int sentinel;
        ut_consensus_t *h = (ut_consensus_t *)(void *)&sentinel;
        test_alloc_install(&ta, k);
        int rc = ut_consensus_new(&h, &cfg);
        long live = ta.live, failures = ta.failures;
        test_alloc_uninstall();
        if (rc == UT_OK) {
            ut_consensus_free(h);
            done = failures == 0;
            continue;
        }
        assert_int_equal(rc, UT_ENOMEM);
        assert_ptr_equal(h, (ut_consensus_t *)(void *)&sentinel);
        assert_int_equal(live, 0); /* nothing leaked */
    }
    assert_true(done);
}

/* Run op at every k-th allocation: on UT_ENOMEM the node must be unchanged
 * and the op must then succeed without injected failure. */
typedef int (*op_fn)(rc_cluster_t *c, void *ud);

static void alloc_sweep(void (*setup)(rc_cluster_t *c), uint64_t node, op_fn op, void *ud,
                        bool must_allocate)
{
    bool done = false;
    size_t enomem = 0;
    for (long k = 1; k < 500 && !done; k++) {
        rc_cluster_t c;
        setup(&c);
        ut_consensus_t *h = rc_h(&c, node);
        snap_t s = take(h);
        test_alloc_t ta;
        test_alloc_install(&ta, k);
        int rc = op(&c, ud);
        long failures = ta.failures;
        test_alloc_uninstall();
        if (rc == UT_ENOMEM) {
            enomem++;
            ASSERT_UNCHANGED(s, h);
            /* issue 9: every out-of-memory exit leaves a message. */
            assert_non_null(strstr(ut_consensus_errmsg(h), "out of memory"));
            rc = op(&c, ud);
            if (rc != UT_OK && rc != UT_ESTALE)
                fail_msg("k=%ld: op after ENOMEM returned %s", k, ut_err_name(rc));
        } else {
            if (rc != UT_OK)
                fail_msg("k=%ld: op returned %s", k, ut_err_name(rc));
            done = failures == 0;
        }
        /* Whatever happened, the node keeps working. */
        rc_process_all(&c);
        rc_drain(&c, 10000);
        rc_run(&c, 300);
        RC_OK(&c);
        rc_destroy(&c);
    }
    assert_true(done);
    if (must_allocate)
        assert_true(enomem > 0);
}

static void setup_leader(rc_cluster_t *c)
{
    ut_consensus_config_t cfg = cfg_base();
    cfg.check_quorum = false;
    assert_int_equal(rc_init(c, 3, 0, &cfg), UT_OK);
    elect_and_commit(c, 1, 1);
}

static int op_propose(rc_cluster_t *c, void *ud)
{
    (void)ud;
    return ut_consensus_propose(rc_h(c, 1), "hello", 5, NULL);
}

/* A batch bigger than the log's free segment room and the payload chunk: its
 * reservation allocates, and every failure must leave the log unchanged. */
static int op_propose_batch(rc_cluster_t *c, void *ud)
{
    (void)ud;
    enum { N = 1500 };
    static uint8_t pay[100];
    static ut_consensus_buf_t bufs[N];
    for (size_t i = 0; i < N; i++) {
        bufs[i].data = pay;
        bufs[i].len = sizeof pay;
    }
    uint64_t first = 0;
    return ut_consensus_propose_batch(rc_h(c, 1), bufs, N, &first);
}

static void setup_fresh(rc_cluster_t *c)
{
    assert_int_equal(rc_init(c, 3, 0, NULL), UT_OK);
    start(c);
}

static int op_step_append(rc_cluster_t *c, void *ud)
{
    (void)ud;
    ut_entry_t es[3];
    uint8_t pay[3][16];
    static const uint64_t t111[] = {1, 1, 1};
    mk_entries(es, pay, 1, t111, 3);
    ut_msg_t m = mk_append(1, 2, 1, 0, 0, 2, es, 3);
    return ut_consensus_step(rc_h(c, 2), &m);
}

static int op_step_vote(rc_cluster_t *c, void *ud)
{
    (void)ud;
    ut_msg_t m = mk_vote(UT_MSG_VOTE, 1, 2, 1, 0, 0);
    return ut_consensus_step(rc_h(c, 2), &m);
}

static void setup_leader_pending(rc_cluster_t *c)
{
    setup_leader(c);
    assert_int_equal(rc_propose(c, 1, "p", 1, NULL), UT_OK);
    rc_drop_if(c, any_msg, NULL);
    c->no_commit_quorum_check = true; /* >>> rmemb: op_step_append_resp forges the ack <<< */
}

static int op_step_append_resp(rc_cluster_t *c, void *ud)
{
    (void)ud;
    ut_consensus_t *h = rc_h(c, 1);
    ut_msg_t m = mk_msg(UT_MSG_APPEND_RESP, 2, 1, ut_consensus_term(h));
    m.body.append_resp.success = true;
    m.body.append_resp.index = ut_consensus_last_index(h);
    return ut_consensus_step(h, &m);
}

static int op_campaign(rc_cluster_t *c, void *ud)
{
    (void)ud;
    return ut_consensus_campaign(rc_h(c, 3));
}

static void test_alloc_failure_propose(void **s)
{
    (void)s;
    alloc_sweep(setup_leader, 1, op_propose, NULL, false);
}

static void test_alloc_failure_propose_batch(void **s)
{
    (void)s;
    alloc_sweep(setup_leader, 1, op_propose_batch, NULL, true);
}

static void test_alloc_failure_step_append(void **s)
{
    (void)s;
    alloc_sweep(setup_fresh, 2, op_step_append, NULL, true);
}

static void test_alloc_failure_step_vote(void **s)
{
    (void)s;
    alloc_sweep(setup_fresh, 2, op_step_vote, NULL, true);
}

static void test_alloc_failure_step_append_resp(void **s)
{
    (void)s;
    alloc_sweep(setup_leader_pending, 1, op_step_append_resp, NULL, false);
}

static void test_alloc_failure_campaign(void **s)
{
    (void)s;
    alloc_sweep(setup_fresh, 3, op_campaign, NULL, true);
}

/* Steady-state proposals with the first allocation of each one failing: the
 * log and payload storage grow now and then, and every growth failure must
 * leave the leader unchanged and usable. */
static void test_alloc_failure_propose_growth(void **state)
{
    (void)state;
    rc_cluster_t c;
    setup_leader(&c);
    ut_consensus_t *h = rc_h(&c, 1);
    static uint8_t payload[1000];
    size_t enomem = 0;
    const size_t n = 600;
    for (size_t i = 0; i < n; i++) {
        memset(payload, (int)(i & 0xff), sizeof payload);
        snap_t s = take(h);
        test_alloc_t ta;
        test_alloc_install(&ta, 1);
        int rc = ut_consensus_propose(h, payload, sizeof payload, NULL);
        test_alloc_uninstall();
        if (rc == UT_ENOMEM) {
            enomem++;
            ASSERT_UNCHANGED(s, h);
            rc = ut_consensus_propose(h, payload, sizeof payload, NULL);
        }
        assert_int_equal(rc, UT_OK);
        rc_process(&c, 1);
        rc_drain(&c, 10000);
    }
    rc_run(&c, 300);
    assert_true(enomem > 0);
    assert_int_equal(rc_applied_normal(&c, 2), n + 1);
    assert_true(rc_all_applied(&c, rc_node(&c, 1)->n_applied));
    RC_OK(&c);
    rc_destroy(&c);
}

/* DESIGN §2 / consensus.h: tick's UT_ENOMEM leaves the node unchanged. A
 * leader whose check-quorum round (thesis §6.2) came due in the same tick as
 * a heartbeat used to run the round (clearing every peer's activity and
 * moving the round start to the failed tick's time) before the heartbeat's
 * allocation failed; the clock was rolled back but the round was not, so a
 * later tick, still legal since the failed one changed nothing, saw the round
 * start in its future, wrapped, and stepped a healthy leader down. */
static void test_alloc_failure_leader_tick_keeps_quorum_round(void **state)
{
    (void)state;
    ut_consensus_t *h = raw_new(1);
    assert_int_equal(ut_consensus_tick(h, 0), UT_OK);
    assert_int_equal(ut_consensus_campaign(h), UT_OK);
    ut_msg_t m = mk_msg(UT_MSG_PREVOTE_RESP, 2, 1, 1);
    m.body.vote_resp.granted = true;
    assert_int_equal(ut_consensus_step(h, &m), UT_OK);
    m = mk_msg(UT_MSG_VOTE_RESP, 2, 1, 1);
    m.body.vote_resp.granted = true;
    assert_int_equal(ut_consensus_step(h, &m), UT_OK);
    assert_int_equal(ut_consensus_state(h), UT_CONSENSUS_LEADER);
    raw_out_t out;
    raw_drain(h, &out); /* the outbox now in use has never allocated */

    /* At T both the quorum check and a heartbeat are due. */
    const uint64_t T = 1000;
    snap_t s = take(h);
    test_alloc_t ta;
    test_alloc_install(&ta, 1);
    int rc = ut_consensus_tick(h, T);
    test_alloc_uninstall();
    assert_int_equal(rc, UT_ENOMEM);
    ASSERT_UNCHANGED(s, h);
    /* Nothing changed, so time T - 1 is not in the past: no quorum round is
     * due yet and the leader stays. */
    assert_int_equal(ut_consensus_tick(h, T - 1), UT_OK);
    assert_int_equal(ut_consensus_state(h), UT_CONSENSUS_LEADER);
    ut_consensus_free(h);
}

/* ready under allocation failure hands nothing out; the work stays. */
static void test_alloc_failure_ready(void **state)
{
    (void)state;
    bool done = false;
    for (long k = 1; k < 200 && !done; k++) {
        ut_consensus_t *h = raw_new(1);
        assert_int_equal(ut_consensus_tick(h, 0), UT_OK);
        assert_int_equal(ut_consensus_campaign(h), UT_OK);
        ut_consensus_ready_t rd;
        test_alloc_t ta;
        test_alloc_install(&ta, k);
        int rc = ut_consensus_ready(h, &rd);
        long failures = ta.failures;
        test_alloc_uninstall();
        if (rc == UT_ENOMEM) {
            assert_non_null(strstr(ut_consensus_errmsg(h), "out of memory"));
            assert_true(ut_consensus_has_ready(h));
            assert_int_equal(ut_consensus_ready(h, &rd), UT_OK);
        } else {
            assert_int_equal(rc, UT_OK);
            done = failures == 0;
        }
        assert_int_equal(rd.n_msgs, 2);
        assert_int_equal(ut_consensus_advance(h, &rd), UT_OK);
        ut_consensus_free(h);
    }
    assert_true(done);
}

int consensus_group_alloc(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_failure_new),
        cmocka_unit_test(test_alloc_failure_propose),
        cmocka_unit_test(test_alloc_failure_propose_batch),
        cmocka_unit_test(test_alloc_failure_step_append),
        cmocka_unit_test(test_alloc_failure_step_vote),
        cmocka_unit_test(test_alloc_failure_step_append_resp),
        cmocka_unit_test(test_alloc_failure_campaign),
        cmocka_unit_test(test_alloc_failure_propose_growth),
        cmocka_unit_test(test_alloc_failure_ready),
        cmocka_unit_test(test_alloc_failure_leader_tick_keeps_quorum_round),
    };
    return cmocka_run_group_tests_name("consensus_alloc", tests, NULL, NULL);
}
