/* SPDX-License-Identifier: MIT */
/* The shared Raft safety checker (raft_check.h) on hand-made views: each
 * invariant holds on a consistent history and is reported, with the name and
 * the words utsim prints, on a broken one; checks are counted as utsim
 * counts them. Fixed logs stand in for nodes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "raft_check.h"

typedef struct view {
    const uint64_t *terms; /* terms[i] is the term of entry i + 1 */
    uint64_t n;
} view_t;

static bool view_term(const void *log, uint64_t index, uint64_t *term)
{
    const view_t *v = log;
    if (index == 0 || index > v->n)
        return false;
    *term = v->terms[index - 1];
    return true;
}

static const uint64_t T112[] = {1, 1, 2};
static const uint64_t T113[] = {1, 1, 3};

static void expect(const raft_check_t *ck, int rc, const char *inv, const char *detail)
{
    assert_int_equal(rc, RAFT_CHECK_VIOLATION);
    assert_string_equal(ck->invariant, inv);
    assert_string_equal(ck->detail, detail);
}

static void test_election_safety(void **state)
{
    (void)state;
    uint64_t checks = 0;
    raft_check_t ck;
    raft_check_init(&ck, &checks);
    view_t v = {T112, 3};
    bool elected = false;
    assert_int_equal(raft_check_leader(&ck, 1, 2, view_term, &v, &elected), RAFT_CHECK_OK);
    assert_true(elected);
    assert_int_equal(raft_check_leader(&ck, 1, 2, view_term, &v, &elected), RAFT_CHECK_OK);
    assert_false(elected);
    assert_int_equal(raft_check_leader(&ck, 3, 1000, view_term, &v, &elected), RAFT_CHECK_OK);
    assert_true(elected);
    expect(&ck, raft_check_leader(&ck, 2, 2, view_term, &v, &elected), "election-safety",
           "nodes 1 and 2 are both leaders of term 2");
    assert_false(elected);
    assert_int_equal(raft_check_leader_of(&ck, 2), 1);
    assert_int_equal(raft_check_leader_of(&ck, 5000), 0);
    assert_int_equal(raft_check_terms_led(&ck), 2);
    assert_int_equal(checks, 0); /* nothing committed: nothing to compare */
    raft_check_free(&ck);
}

static void test_leader_completeness(void **state)
{
    (void)state;
    uint64_t checks = 0;
    raft_check_t ck;
    raft_check_init(&ck, &checks);
    view_t full = {T112, 3}, shorter = {T112, 2}, other = {T113, 3};
    assert_int_equal(raft_check_commit(&ck, 1, 3, view_term, &full), RAFT_CHECK_OK);
    assert_int_equal(ck.max_commit, 3);
    assert_int_equal(raft_check_committed_term(&ck, 3), 2);
    assert_int_equal(checks, 1);
    bool elected = false;
    assert_int_equal(raft_check_leader(&ck, 1, 3, view_term, &full, &elected), RAFT_CHECK_OK);
    assert_int_equal(checks, 4); /* one per committed entry */
    expect(&ck, raft_check_leader(&ck, 2, 4, view_term, &shorter, &elected), "leader-completeness",
           "node 2 became leader of term 4 without committed entry 3 (term 2)");
    assert_true(elected);
    assert_int_equal(checks, 7);
    expect(&ck, raft_check_leader(&ck, 3, 5, view_term, &other, &elected), "leader-completeness",
           "node 3 became leader of term 5 without committed entry 3 (term 2)");
    raft_check_free(&ck);
}

static void test_state_machine_safety(void **state)
{
    (void)state;
    raft_check_t ck;
    raft_check_init(&ck, NULL);
    view_t a = {T112, 3}, b = {T113, 3};
    assert_int_equal(raft_check_commit(&ck, 1, 3, view_term, &a), RAFT_CHECK_OK);
    /* Node 2 commits index 2 first (agrees), then index 3 (differs). */
    assert_int_equal(raft_check_commit(&ck, 2, 2, view_term, &b), RAFT_CHECK_OK);
    expect(&ck, raft_check_commit(&ck, 2, 3, view_term, &b), "state-machine-safety",
           "index 3 committed with term 3 on node 2 but with term 2 elsewhere");
    /* Compared from index 1 again after a restart, not before. */
    assert_int_equal(raft_check_commit(&ck, 2, 3, view_term, &b), RAFT_CHECK_OK);
    raft_check_restart(&ck, 2);
    assert_int_equal(raft_check_commit(&ck, 2, 3, view_term, &b), RAFT_CHECK_VIOLATION);
    assert_int_equal(ck.own_checks, 5);

    uint64_t h1 = raft_check_hash(0, 1, 1, 0, "x", 1), h2 = raft_check_hash(0, 1, 1, 0, "y", 1);
    assert_true(h1 != h2);
    assert_int_equal(raft_check_applied(&ck, 1, 1, 1, h1), RAFT_CHECK_OK);
    assert_int_equal(raft_check_applied(&ck, 2, 1, 1, h1), RAFT_CHECK_OK);
    expect(&ck, raft_check_applied(&ck, 3, 1, 1, h2), "state-machine-safety",
           "node 3 applied a different entry at index 1 (term 1) than another node");
    assert_int_equal(ck.own_checks, 8);
    /* Beyond the arrays' first size. */
    assert_int_equal(raft_check_applied(&ck, 1, 100000, 9, h1), RAFT_CHECK_OK);
    raft_check_free(&ck);
}

static void test_log_matching(void **state)
{
    (void)state;
    raft_check_t ck;
    raft_check_init(&ck, NULL);
    uint64_t p1 = raft_check_hash(0, 1, 1, 0, "a", 1);
    uint64_t p2 = raft_check_hash(p1, 1, 2, 0, "b", 1);
    uint64_t q1 = raft_check_hash(0, 1, 1, 0, "z", 1);
    uint64_t q2 = raft_check_hash(q1, 1, 2, 0, "b", 1);
    assert_true(p2 != q2);
    assert_int_equal(raft_check_persisted(&ck, 1, 1, 1, p1), RAFT_CHECK_OK);
    assert_int_equal(raft_check_persisted(&ck, 1, 2, 1, p2), RAFT_CHECK_OK);
    assert_int_equal(raft_check_persisted(&ck, 2, 2, 1, p2), RAFT_CHECK_OK);
    expect(&ck, raft_check_persisted(&ck, 3, 2, 1, q2), "log-matching",
           "node 3 stored entry 2 of term 1 whose log prefix differs from another node's entry "
           "2/1");
    /* Enough entries to grow the table several times; all still found. */
    uint64_t prev = 0;
    for (uint64_t i = 1; i <= 20000; i++) {
        prev = raft_check_hash(prev, 7, i, 0, NULL, 0);
        assert_int_equal(raft_check_persisted(&ck, 1, i, 7, prev), RAFT_CHECK_OK);
    }
    assert_int_equal(raft_check_persisted(&ck, 2, 20000, 7, prev), RAFT_CHECK_OK);
    assert_int_equal(raft_check_persisted(&ck, 2, 20000, 7, prev + 1), RAFT_CHECK_VIOLATION);
    assert_int_equal(ck.own_checks, 0); /* Log Matching is not counted */
    raft_check_free(&ck);
}

/* The entry hash reads every byte, in any length, and the fields. */
static void test_hash(void **state)
{
    (void)state;
    unsigned char buf[19];
    memset(buf, 7, sizeof buf);
    for (uint32_t len = 0; len <= sizeof buf; len++) {
        uint64_t h = raft_check_hash(0, 1, 2, 0, buf, len);
        for (uint32_t k = 0; k < len; k++) {
            buf[k] ^= 1;
            assert_true(raft_check_hash(0, 1, 2, 0, buf, len) != h);
            buf[k] ^= 1;
        }
        if (len > 0)
            assert_true(raft_check_hash(0, 1, 2, 0, buf, len - 1) != h);
    }
    uint64_t h = raft_check_hash(0, 1, 2, 0, buf, 4);
    assert_true(raft_check_hash(0, 2, 2, 0, buf, 4) != h);
    assert_true(raft_check_hash(0, 1, 3, 0, buf, 4) != h);
    assert_true(raft_check_hash(0, 1, 2, 1, buf, 4) != h);
    assert_true(raft_check_hash(1, 1, 2, 0, buf, 4) != h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_election_safety),
        cmocka_unit_test(test_leader_completeness),
        cmocka_unit_test(test_state_machine_safety),
        cmocka_unit_test(test_log_matching),
        cmocka_unit_test(test_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
