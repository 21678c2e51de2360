/* SPDX-License-Identifier: MIT */
/* Reproducers of known bugs in the Raft core, one test each. This
 * executable is registered with WILL_FAIL while a bug is open (so the suite
 * stays green and the reproducer stays visible): once every bug here is
 * fixed, ctest reports this test as failing; then drop WILL_FAIL in
 * tests/CMakeLists.txt and move the tests into test_consensus.c.
 *
 * KB1 — term overflow at UINT64_MAX. A member's message may carry any term;
 * a node adopts term UINT64_MAX (§5.1: a higher term is always adopted) and
 * then, at its next election timeout:
 *   - with pre-vote it sends PREVOTE with term + 1, which wraps to 0: every
 *     receiver refuses it (UT_EINVAL, "term 0"), i.e. the library emits
 *     malformed messages;
 *   - without pre-vote ut_consensus_tick() returns UT_ESTATE, a code tick
 *     does not document (OK, EINVAL, ERANGE, ENOMEM), on every timeout.
 * Either refusing a term that cannot be followed (UT_EINVAL, node unchanged)
 * or never emitting a wrapped term and keeping tick's contract fixes it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <unitypes.h>

static const uint64_t V3[] = {1, 2, 3};

/* The node under test; freed by the teardown even when a test fails (the
 * reproducers fail by design, and a leak would abort under ASan, which
 * WILL_FAIL does not turn into a pass). */
static ut_consensus_t *g_node;

static int teardown(void **state)
{
    (void)state;
    ut_consensus_free(g_node);
    g_node = NULL;
    return 0;
}

static ut_consensus_t *node(bool pre_vote)
{
    ut_consensus_config_t cfg;
    assert_int_equal(ut_consensus_config_init(&cfg, UT_CONSENSUS_CONFIG_VERSION), UT_OK);
    cfg.id = 1;
    cfg.voters = V3;
    cfg.n_voters = 3;
    cfg.pre_vote = pre_vote;
    ut_consensus_t *h = NULL;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
    g_node = h;
    assert_int_equal(ut_consensus_tick(h, 0), UT_OK);
    return h;
}

/* Every message a node emits has a non-zero term, and a (pre-)vote request
 * proposes a term above the node's own. */
static void check_outbox(ut_consensus_t *h)
{
    for (int guard = 0; guard < 10 && ut_consensus_has_ready(h); guard++) {
        ut_consensus_ready_t rd;
        assert_int_equal(ut_consensus_ready(h, &rd), UT_OK);
        for (size_t i = 0; i < rd.n_msgs; i++) {
            const ut_msg_t *m = &rd.msgs[i];
            if (m->term == 0)
                fail_msg("node emitted %s with term 0", ut_msg_type_name(m->type));
            if (m->type == UT_MSG_PREVOTE && m->term <= ut_consensus_term(h))
                fail_msg("pre-vote proposes term %llu, not above %llu", (unsigned long long)m->term,
                         (unsigned long long)ut_consensus_term(h));
        }
        assert_int_equal(ut_consensus_advance(h, &rd), UT_OK);
        if (ut_consensus_ready_empty(&rd))
            break;
    }
}

static void max_term_case(bool pre_vote)
{
    ut_consensus_t *h = node(pre_vote);
    ut_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = UT_MSG_APPEND;
    m.from = 2;
    m.to = 1;
    m.term = UINT64_MAX;
    int rc = ut_consensus_step(h, &m);
    if (rc == UT_EINVAL) {
        /* Refused as impossible: fine, as long as nothing changed. */
        assert_int_equal(ut_consensus_term(h), 0);
        return;
    }
    assert_int_equal(rc, UT_OK);
    assert_int_equal(ut_consensus_term(h), UINT64_MAX);
    check_outbox(h);
    /* Past any election timeout (default T = 1000 ms, drawn in [T, 2T)). */
    rc = ut_consensus_tick(h, 5000);
    if (rc != UT_OK)
        fail_msg("tick returned %s (documented: OK, EINVAL, ERANGE, ENOMEM)", ut_err_name(rc));
    check_outbox(h);
    assert_true(ut_consensus_term(h) == UINT64_MAX);
}

/* KB1, with pre-vote: PREVOTE carries term UINT64_MAX + 1 = 0. */
static void test_kb1_max_term_prevote_wraps(void **state)
{
    (void)state;
    max_term_case(true);
}

/* KB1, without pre-vote: tick returns the undocumented UT_ESTATE. */
static void test_kb1_max_term_tick_estate(void **state)
{
    (void)state;
    max_term_case(false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_kb1_max_term_prevote_wraps, teardown),
        cmocka_unit_test_teardown(test_kb1_max_term_tick_estate, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
