/* SPDX-License-Identifier: MIT */
/* White-box tests of src/consensus/quorum.c: table-driven, one row per case
 * (issue 9). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "consensus/quorum.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
#define G UT__CONSENSUS_VOTE_GRANTED
#define R UT__CONSENSUS_VOTE_REJECTED
#define P UT__CONSENSUS_VOTE_PENDING
#define WON UT__CONSENSUS_VOTE_WON
#define LOST UT__CONSENSUS_VOTE_LOST
#define UND UT__CONSENSUS_VOTE_UNDECIDED

static void test_quorum_size(void **state)
{
    (void)state;
    static const size_t want[] = {1, 1, 2, 2, 3, 3, 4, 4, 5};
    for (size_t n = 0; n < N_OF(want); n++)
        assert_int_equal(ut__consensus_quorum_size(n), want[n]);
}

typedef struct {
    size_t n;
    uint64_t match[7];
    uint64_t floor;
    uint64_t want;
} commit_row_t;

static void test_quorum_commit(void **state)
{
    (void)state;
    static const commit_row_t rows[] = {
        {1, {5}, 0, 5},
        {1, {5}, 7, 7}, /* floor above: floor */
        {2, {5, 3}, 0, 3},
        {3, {0, 0, 0}, 0, 0},
        {3, {5, 0, 0}, 0, 0},
        {3, {5, 4, 0}, 0, 4},
        {3, {4, 5, 6}, 0, 5},
        {3, {6, 6, 6}, 0, 6},
        {3, {9, 2, 7}, 0, 7},
        {3, {9, 2, 7}, 8, 8},
        {3, {9, 2, 7}, 7, 7},
        {4, {1, 2, 3, 4}, 0, 2},
        {4, {4, 4, 1, 1}, 0, 1},
        {5, {1, 2, 3, 4, 5}, 0, 3},
        {5, {5, 5, 1, 1, 1}, 0, 1},
        {5, {5, 5, 5, 1, 1}, 0, 5},
        {7, {7, 1, 6, 2, 5, 3, 4}, 0, 4},
        {0, {0}, 0, UINT64_MAX}, /* empty: no constraint */
    };
    for (size_t i = 0; i < N_OF(rows); i++) {
        uint64_t got = ut__consensus_quorum_commit(rows[i].match, rows[i].n, rows[i].floor);
        if (got != rows[i].want)
            fail_msg("row %zu: got %llu, want %llu", i, (unsigned long long)got,
                     (unsigned long long)rows[i].want);
    }
}

typedef struct {
    size_t na, nb;
    uint64_t a[5], b[5];
    uint64_t want;
} commit_joint_row_t;

/* The definition, by counting: the highest value c (or floor) held by a
 * majority, i.e. at least n / 2 + 1 values >= c. */
static uint64_t commit_by_counting(const uint64_t *match, size_t n, uint64_t floor)
{
    uint64_t best = floor;
    for (size_t i = 0; i < n; i++) {
        size_t count = 0;
        for (size_t j = 0; j < n; j++)
            count += match[j] >= match[i];
        if (count >= n / 2 + 1 && match[i] > best)
            best = match[i];
    }
    return best;
}

/* Issue 10: the median of three, the one-voter case and the O(n) selection
 * agree with the counting definition on every size, with duplicates, ties
 * and sorted inputs, and leave the caller's array unchanged. */
static void test_quorum_commit_matches_counting(void **state)
{
    (void)state;
    uint64_t x = 12345;
    for (int round = 0; round < 20000; round++) {
        size_t n = 1 + (size_t)(round % 64);
        uint64_t match[64], copy[64];
        int shape = round / 64 % 4;
        for (size_t i = 0; i < n; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            uint64_t r = x >> 33;
            match[i] = shape == 0   ? r % 1000
                       : shape == 1 ? r % 3  /* many ties */
                       : shape == 2 ? i      /* ascending */
                                    : n - i; /* descending */
        }
        memcpy(copy, match, sizeof match);
        uint64_t floor = (x >> 40) % 4 == 0 ? (x >> 20) % 1000 : 0;
        assert_int_equal(ut__consensus_quorum_commit(match, n, floor),
                         commit_by_counting(match, n, floor));
        assert_memory_equal(match, copy, n * sizeof match[0]);
    }
}

static void test_quorum_commit_joint(void **state)
{
    (void)state;
    static const commit_joint_row_t rows[] = {
        {3, 0, {4, 5, 6}, {0}, 5}, /* not joint: the first half */
        {0, 3, {0}, {4, 5, 6}, 5},
        {3, 3, {4, 5, 6}, {1, 2, 3}, 2}, /* the lower majority wins */
        {3, 3, {1, 2, 3}, {9, 9, 9}, 2},
        {3, 1, {7, 7, 7}, {3}, 3},
        {1, 5, {9}, {1, 2, 3, 4, 5}, 3},
    };
    for (size_t i = 0; i < N_OF(rows); i++) {
        uint64_t got =
            ut__consensus_quorum_commit_joint(rows[i].a, rows[i].na, rows[i].b, rows[i].nb, 0);
        if (got != rows[i].want)
            fail_msg("row %zu: got %llu, want %llu", i, (unsigned long long)got,
                     (unsigned long long)rows[i].want);
    }
    uint64_t a[] = {4, 5, 6}, b[] = {1, 2, 3};
    assert_int_equal(ut__consensus_quorum_commit_joint(a, 3, b, 3, 4), 4); /* floor */
}

typedef struct {
    size_t n;
    uint8_t votes[7];
    ut__consensus_vote_result_t want;
} vote_row_t;

static void test_quorum_vote(void **state)
{
    (void)state;
    static const vote_row_t rows[] = {
        {1, {G}, WON},
        {1, {P}, UND},
        {1, {R}, LOST},
        {3, {G, P, P}, UND},
        {3, {G, G, P}, WON},
        {3, {G, R, P}, UND},
        {3, {G, R, R}, LOST},
        {3, {P, R, R}, LOST},
        {4, {G, G, P, P}, UND},
        {4, {G, G, G, P}, WON},
        {4, {G, R, R, P}, UND}, /* conservative: lost only with a rejecting majority */
        {4, {G, R, R, R}, LOST},
        {5, {G, G, G, R, R}, WON},
        {5, {G, R, R, R, P}, LOST},
        {5, {G, G | R, R, R, P}, LOST}, /* disagreeing answers count on both sides */
        {3, {G, G | R, R}, WON},        /* ... and a won tally is reported first */
        {0, {0}, WON},
    };
    for (size_t i = 0; i < N_OF(rows); i++) {
        ut__consensus_vote_result_t got = ut__consensus_quorum_vote(rows[i].votes, rows[i].n);
        if (got != rows[i].want)
            fail_msg("row %zu: got %d, want %d", i, (int)got, (int)rows[i].want);
    }
}

typedef struct {
    size_t na, nb;
    uint8_t a[5], b[5];
    ut__consensus_vote_result_t want;
} vote_joint_row_t;

static void test_quorum_vote_joint(void **state)
{
    (void)state;
    static const vote_joint_row_t rows[] = {
        {3, 0, {G, G, P}, {0}, WON},
        {3, 3, {G, G, P}, {G, P, P}, UND},
        {3, 3, {G, G, P}, {G, G, R}, WON},
        {3, 3, {G, G, G}, {R, R, P}, LOST},
        {3, 3, {R, R, P}, {G, G, G}, LOST},
        {3, 3, {R, R, P}, {P, P, P}, LOST},
        {1, 1, {G}, {P}, UND},
        {0, 0, {0}, {0}, WON},
    };
    for (size_t i = 0; i < N_OF(rows); i++) {
        ut__consensus_vote_result_t got =
            ut__consensus_quorum_vote_joint(rows[i].a, rows[i].na, rows[i].b, rows[i].nb);
        if (got != rows[i].want)
            fail_msg("row %zu: got %d, want %d", i, (int)got, (int)rows[i].want);
    }
}

typedef struct {
    size_t na, nb;
    bool a[5], b[5];
    bool want;
} active_row_t;

static void test_quorum_active(void **state)
{
    (void)state;
    static const active_row_t rows[] = {
        {1, 0, {true}, {0}, true},
        {1, 0, {false}, {0}, false},
        {3, 0, {true, false, false}, {0}, false},
        {3, 0, {true, true, false}, {0}, true},
        {4, 0, {true, true, false, false}, {0}, false},
        {4, 0, {true, true, true, false}, {0}, true},
        {5, 0, {true, false, true, false, true}, {0}, true},
        {0, 0, {0}, {0}, true},
        {3, 3, {true, true, false}, {true, true, false}, true},
        {3, 3, {true, true, false}, {true, false, false}, false},
        {3, 3, {false, false, true}, {true, true, true}, false},
    };
    for (size_t i = 0; i < N_OF(rows); i++) {
        if (rows[i].nb == 0)
            assert_int_equal(ut__consensus_quorum_active(rows[i].a, rows[i].na), rows[i].want);
        bool got = ut__consensus_quorum_active_joint(rows[i].a, rows[i].na, rows[i].b, rows[i].nb);
        if (got != rows[i].want)
            fail_msg("row %zu: got %d, want %d", i, (int)got, (int)rows[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quorum_size),
        cmocka_unit_test(test_quorum_commit),
        cmocka_unit_test(test_quorum_commit_joint),
        cmocka_unit_test(test_quorum_vote),
        cmocka_unit_test(test_quorum_commit_matches_counting),
        cmocka_unit_test(test_quorum_vote_joint),
        cmocka_unit_test(test_quorum_active),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
