/* SPDX-License-Identifier: MIT */
/* Raft core (ut_consensus_t), the Raft paper's figures: Figure 7 (followers
 * a-f brought in line with the leader of term 8) and Figure 8 (§5.4.2: an
 * entry of an older term is never committed by counting replicas). A group
 * of test_consensus (tests/test_consensus.c runs every group). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "consensus_test.h"

/* Figure 7: the leader of term 8 and followers a–f. The third node holds the
 * leader's log so that the leader wins whatever the follower votes. */
static const uint64_t FIG7_LEADER[] = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6};

static const uint64_t FIG7_A[] = {1, 1, 1, 4, 4, 5, 5, 6, 6};

static const uint64_t FIG7_B[] = {1, 1, 1, 4};

static const uint64_t FIG7_C[] = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6};

static const uint64_t FIG7_D[] = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7};

static const uint64_t FIG7_E[] = {1, 1, 1, 4, 4, 4, 4};

static const uint64_t FIG7_F[] = {1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3};

typedef struct fig7_probe {
    const uint64_t *terms;
    size_t n;
    bool seen;
    uint64_t index, hint_term, hint_index;
    size_t rejections;
} fig7_probe_t;

static void fig7_hook(rc_cluster_t *c, const ut_msg_t *m, void *ud)
{
    (void)c;
    fig7_probe_t *p = ud;
    if (m->type != UT_MSG_APPEND_RESP || m->from != 2 || m->body.append_resp.success)
        return;
    p->rejections++;
    if (p->seen)
        return;
    p->seen = true;
    p->index = m->body.append_resp.index;
    p->hint_term = m->body.append_resp.hint_term;
    p->hint_index = m->body.append_resp.hint_index;
}

static void figure7_case(const uint64_t *terms, size_t n, bool conflicts)
{
    rc_cluster_t c;
    cluster(&c, 3, 0, NULL);
    const size_t nl = sizeof FIG7_LEADER / sizeof FIG7_LEADER[0];
    assert_int_equal(rc_set_log(&c, 1, 7, 0, 0, FIG7_LEADER, nl), UT_OK);
    assert_int_equal(rc_set_log(&c, 2, 7, 0, 0, terms, n), UT_OK);
    assert_int_equal(rc_set_log(&c, 3, 7, 0, 0, FIG7_LEADER, nl), UT_OK);
    fig7_probe_t p = {terms, n, false, 0, 0, 0, 0};
    c.on_send = fig7_hook;
    c.on_send_ud = &p;
    assert_true(rc_elect(&c, 1));
    assert_int_equal(term_of(&c, 1), 8);
    rc_run(&c, 500); /* heartbeats carry the commit index */
    RC_OK(&c);

    /* The follower's log now equals the leader's: entries 1..10 and the
     * term-8 no-op at 11; conflicting suffixes were deleted. */
    rc_node_t *f = rc_node(&c, 2);
    assert_int_equal(f->n_log, nl + 1);
    assert_int_equal(last_of(&c, 2), nl + 1);
    for (size_t i = 0; i < nl; i++) {
        assert_int_equal(f->log[i].term, FIG7_LEADER[i]);
        assert_int_equal(eterm(&c, 2, i + 1), FIG7_LEADER[i]);
    }
    assert_int_equal(f->log[nl].term, 8);
    assert_int_equal(f->log[nl].type, UT_ENTRY_NOOP);
    if (conflicts)
        assert_true(f->truncations > 0);
    else
        assert_int_equal(f->truncations, 0);
    for (uint64_t id = 1; id <= 3; id++)
        assert_int_equal(commit_of(&c, id), nl + 1);
    assert_true(rc_all_applied(&c, nl + 1));

    /* Fast backtracking: a rejection names the conflicting term and its first
     * index, or the follower's last index + 1 when its log is short. */
    if (p.seen) {
        uint64_t pi = p.index;
        if (pi > n) {
            assert_int_equal(p.hint_term, 0);
            assert_int_equal(p.hint_index, n + 1);
        } else {
            uint64_t t = terms[pi - 1];
            uint64_t first = pi;
            while (first > 1 && terms[first - 2] == t)
                first--;
            assert_int_equal(p.hint_term, t);
            assert_int_equal(p.hint_index, first);
        }
        /* With hints, repair takes a handful of round trips, not one per
         * entry. */
        assert_true(p.rejections <= 4);
    }
    RC_OK(&c);
    rc_destroy(&c);
}

static void test_figure7_a(void **s)
{
    (void)s;
    figure7_case(FIG7_A, 9, false);
}

static void test_figure7_b(void **s)
{
    (void)s;
    figure7_case(FIG7_B, 4, false);
}

static void test_figure7_c(void **s)
{
    (void)s;
    figure7_case(FIG7_C, 11, true);
}

static void test_figure7_d(void **s)
{
    (void)s;
    figure7_case(FIG7_D, 12, true);
}

static void test_figure7_e(void **s)
{
    (void)s;
    figure7_case(FIG7_E, 7, true);
}

static void test_figure7_f(void **s)
{
    (void)s;
    figure7_case(FIG7_F, 11, true);
}

/* Figure 8 / §5.4.2. S1..S5 after term 3: S1, S2 = [1,2], S3, S4 = [1],
 * S5 = [1,3]. S1 is elected in term 4 and replicates the term-2 entry to S3,
 * so it sits on a majority, but S1's term-4 no-op does not yet: counting
 * replicas must not commit index 2. */
static bool fig8_election(const ut_msg_t *m, void *ud)
{
    (void)ud;
    return m->type == UT_MSG_PREVOTE || m->type == UT_MSG_PREVOTE_RESP || m->type == UT_MSG_VOTE ||
           m->type == UT_MSG_VOTE_RESP;
}

static bool fig8_s123(const ut_msg_t *m, void *ud)
{
    rc_cluster_t *c = ud;
    if (m->from > 3 || m->to > 3)
        return false;
    if (m->type != UT_MSG_APPEND && m->type != UT_MSG_APPEND_RESP)
        return false;
    /* Hold back whatever would give S3 index 3 (the term-4 no-op). */
    if (m->type == UT_MSG_APPEND && m->to == 3 && m->body.append.n_entries > 0 &&
        m->body.append.prev_index + m->body.append.n_entries >= 3 &&
        m->body.append.prev_index <= last_of(c, 3))
        return false;
    return true;
}

static void figure8_setup(rc_cluster_t *c)
{
    ut_consensus_config_t cfg = cfg_base();
    cfg.max_append_entries = 1;
    cfg.check_quorum = false;
    cluster(c, 5, 0, &cfg);
    static const uint64_t s12[] = {1, 2}, s34[] = {1}, s5[] = {1, 3};
    assert_int_equal(rc_set_log(c, 1, 3, 0, 1, s12, 2), UT_OK);
    assert_int_equal(rc_set_log(c, 2, 3, 0, 1, s12, 2), UT_OK);
    assert_int_equal(rc_set_log(c, 3, 3, 0, 1, s34, 1), UT_OK);
    assert_int_equal(rc_set_log(c, 4, 3, 0, 1, s34, 1), UT_OK);
    assert_int_equal(rc_set_log(c, 5, 3, 5, 1, s5, 2), UT_OK);
    assert_int_equal(rc_campaign(c, 1), UT_OK);
    rc_deliver_if(c, fig8_election, NULL, 1000);
    assert_int_equal(state_of(c, 1), UT_CONSENSUS_LEADER);
    assert_int_equal(term_of(c, 1), 4);
    rc_deliver_if(c, fig8_s123, c, 1000);
    RC_OK(c);
    /* Index 2 (term 2) is on S1, S2, S3: a majority of 5. */
    assert_int_equal(eterm(c, 2, 2), 2);
    assert_int_equal(eterm(c, 3, 2), 2);
    assert_int_equal(last_of(c, 3), 2);
    /* ...but it is not of the current term, so it is not committed. */
    assert_int_equal(commit_of(c, 1), 1);
}

static bool to_node(const ut_msg_t *m, void *ud)
{
    return m->to == *(const uint64_t *)ud;
}

static void test_figure8_old_term_not_committed_by_count(void **state)
{
    (void)state;
    rc_cluster_t c;
    figure8_setup(&c);
    /* (e) S1 crashes; S5 (last term 3) wins with S3, S4 and overwrites
     * index 2 everywhere. Had S1 committed it, an applied entry would be
     * lost (the harness would report State Machine Safety). */
    rc_crash(&c, 1);
    rc_drop_if(&c, any_msg, NULL);
    /* S2 and S3 just heard from S1: with pre-vote they ignore S5 until S1's
     * lease (one election timeout) has run out (thesis §9.6). */
    rc_advance(&c, 1); /* the first tick fixes the clocks' origin */
    rc_advance(&c, 1000);
    assert_true(rc_elect(&c, 5));
    assert_int_equal(term_of(&c, 5), 5);
    rc_run(&c, 500);
    for (uint64_t id = 2; id <= 5; id++) {
        assert_int_equal(eterm(&c, id, 2), 3);
        assert_true(commit_of(&c, id) >= 3);
    }
    assert_int_equal(rc_restart(&c, 1), UT_OK);
    rc_run(&c, 500);
    assert_int_equal(eterm(&c, 1, 2), 3);
    assert_true(rc_all_applied(&c, 3));
    for (uint64_t id = 1; id <= 5; id++)
        assert_int_equal(rc_node(&c, id)->applied[1].term, 3);
    RC_OK(&c);
    rc_destroy(&c);
}

static void test_figure8_current_term_commits_older(void **state)
{
    (void)state;
    rc_cluster_t c;
    figure8_setup(&c);
    /* Once the term-4 no-op reaches S3, index 3 is on a majority and commits
     * index 2 with it (§5.4.2: committed indirectly). */
    uint64_t three = 3;
    rc_deliver_if(&c, to_node, &three, 10);
    uint64_t one = 1;
    rc_deliver_if(&c, to_node, &one, 10);
    rc_drain(&c, 1000);
    assert_int_equal(commit_of(&c, 1), 3);
    RC_OK(&c);
    rc_destroy(&c);
}

int consensus_group_figures(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_figure7_a),
        cmocka_unit_test(test_figure7_b),
        cmocka_unit_test(test_figure7_c),
        cmocka_unit_test(test_figure7_d),
        cmocka_unit_test(test_figure7_e),
        cmocka_unit_test(test_figure7_f),
        cmocka_unit_test(test_figure8_old_term_not_committed_by_count),
        cmocka_unit_test(test_figure8_current_term_commits_older),
    };
    return cmocka_run_group_tests_name("consensus_figures", tests, NULL, NULL);
}
