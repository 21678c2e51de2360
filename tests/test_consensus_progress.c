/* SPDX-License-Identifier: MIT */
/* White-box tests of src/consensus/progress.{h,c}: the probe / pipeline
 * states of a follower's progress and the in-flight window, by messages and
 * by bytes (issue 9). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "consensus/progress.h"

#define PROBE UT__CONSENSUS_PR_PROBE
#define PIPELINE UT__CONSENSUS_PR_PIPELINE

static ut__consensus_inflight_slot_t ring[4];

static void init(ut__consensus_progress_t *p, unsigned max_msgs, uint64_t max_bytes, uint64_t last)
{
    ut__consensus_inflight_init(&p->inflight, ring, max_msgs, max_bytes);
    ut__consensus_progress_reset(p, last);
}

static void test_progress_reset_probes(void **state)
{
    (void)state;
    ut__consensus_progress_t p;
    init(&p, 4, 0, 10);
    assert_int_equal(p.state, PROBE);
    assert_int_equal(p.match, 0);
    assert_int_equal(p.next, 11);
    assert_false(p.paused);
    /* Nothing to send until the log grows past next - 1. */
    assert_false(ut__consensus_progress_can_send(&p, 10));
    assert_true(ut__consensus_progress_can_send(&p, 11));
}

static void test_progress_probe_one_at_a_time(void **state)
{
    (void)state;
    ut__consensus_progress_t p;
    init(&p, 4, 0, 10);
    ut__consensus_progress_sent(&p, 12, 30);
    assert_true(p.paused);
    assert_int_equal(p.next, 11); /* a probe does not move next */
    assert_int_equal(p.inflight.len, 0);
    assert_false(ut__consensus_progress_can_send(&p, 12));
    /* A heartbeat lets a lost probe go again. */
    ut__consensus_progress_heartbeat(&p, 12);
    assert_false(p.paused);
    assert_int_equal(p.state, PROBE);
    assert_true(ut__consensus_progress_can_send(&p, 12));
}

static void test_progress_ack_turns_pipeline(void **state)
{
    (void)state;
    ut__consensus_progress_t p;
    init(&p, 4, 0, 10);
    ut__consensus_progress_sent(&p, 12, 30);
    assert_true(ut__consensus_progress_ack(&p, 12));
    assert_int_equal(p.state, PIPELINE);
    assert_int_equal(p.match, 12);
    assert_int_equal(p.next, 13);
    assert_false(p.paused);
    /* An old acknowledgement raises nothing. */
    assert_false(ut__consensus_progress_ack(&p, 11));
    assert_int_equal(p.match, 12);
    assert_int_equal(p.state, PIPELINE);
}

static void test_progress_pipeline_window_by_messages(void **state)
{
    (void)state;
    ut__consensus_progress_t p;
    init(&p, 3, 0, 0);
    assert_true(ut__consensus_progress_ack(&p, 0) == false);
    ut__consensus_progress_become_pipeline(&p);
    for (uint64_t last = 2; last <= 6; last += 2) {
        assert_true(ut__consensus_progress_can_send(&p, 100));
        ut__consensus_progress_sent(&p, last, 0);
        assert_int_equal(p.next, last + 1); /* optimistic */
    }
    assert_int_equal(p.inflight.len, 3);
    assert_true(ut__consensus_inflight_full(&p.inflight));
    assert_false(ut__consensus_progress_can_send(&p, 100));
    /* Acknowledging 3 frees the message ending at 2 only. */
    assert_true(ut__consensus_progress_ack(&p, 3));
    assert_int_equal(p.inflight.len, 2);
    assert_true(ut__consensus_progress_can_send(&p, 100));
    /* The ring wraps. */
    ut__consensus_progress_sent(&p, 8, 0);
    assert_int_equal(p.inflight.len, 3);
    assert_true(ut__consensus_progress_ack(&p, 8));
    assert_int_equal(p.inflight.len, 0);
    assert_int_equal(p.next, 9);
}

static void test_progress_pipeline_window_by_bytes(void **state)
{
    (void)state;
    ut__consensus_progress_t p;
    init(&p, 4, 100, 0);
    ut__consensus_progress_become_pipeline(&p);
    ut__consensus_progress_sent(&p, 1, 60);
    assert_int_equal(p.inflight.bytes, 60);
    assert_true(ut__consensus_progress_can_send(&p, 10));
    ut__consensus_progress_sent(&p, 2, 50); /* may overshoot: a message is never split */
    assert_int_equal(p.inflight.bytes, 110);
    assert_int_equal(p.inflight.len, 2);
    assert_true(ut__consensus_inflight_full(&p.inflight)); /* by bytes, not messages */
    assert_false(ut__consensus_progress_can_send(&p, 10));
    assert_true(ut__consensus_progress_ack(&p, 1));
    assert_int_equal(p.inflight.bytes, 50);
    assert_true(ut__consensus_progress_can_send(&p, 10));
    /* No byte limit (0): any number of bytes, up to the message limit. */
    ut__consensus_progress_t q;
    init(&q, 2, 0, 0);
    ut__consensus_progress_become_pipeline(&q);
    ut__consensus_progress_sent(&q, 1, UINT32_MAX);
    assert_false(ut__consensus_inflight_full(&q.inflight));
    ut__consensus_progress_sent(&q, 2, UINT32_MAX);
    assert_true(ut__consensus_inflight_full(&q.inflight));
}

static void test_progress_stall_and_reject_probe(void **state)
{
    (void)state;
    ut__consensus_progress_t p;
    init(&p, 4, 1000, 0);
    ut__consensus_progress_become_pipeline(&p);
    ut__consensus_progress_sent(&p, 5, 40);
    /* A heartbeat with no progress since the last one (match_at_hb) while
     * behind the log: the pipeline lost a message and probes from match. */
    assert_int_equal(p.match_at_hb, p.match);
    ut__consensus_progress_heartbeat(&p, 5);
    assert_int_equal(p.state, PROBE);
    assert_int_equal(p.next, 1);
    assert_int_equal(p.inflight.len, 0);
    assert_int_equal(p.inflight.bytes, 0);
    /* Caught up: a heartbeat without progress is not a stall. */
    ut__consensus_progress_sent(&p, 5, 40);
    assert_true(ut__consensus_progress_ack(&p, 5));
    ut__consensus_progress_heartbeat(&p, 5);
    ut__consensus_progress_heartbeat(&p, 5);
    assert_int_equal(p.state, PIPELINE);
    /* A rejection: probe again from where the hint points. */
    ut__consensus_progress_sent(&p, 9, 40);
    ut__consensus_progress_become_probe(&p, 6);
    assert_int_equal(p.state, PROBE);
    assert_int_equal(p.next, 6);
    assert_int_equal(p.inflight.bytes, 0);
    assert_false(p.paused);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_progress_reset_probes),
        cmocka_unit_test(test_progress_probe_one_at_a_time),
        cmocka_unit_test(test_progress_ack_turns_pipeline),
        cmocka_unit_test(test_progress_pipeline_window_by_messages),
        cmocka_unit_test(test_progress_pipeline_window_by_bytes),
        cmocka_unit_test(test_progress_stall_and_reject_probe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
