/* SPDX-License-Identifier: MIT */
/* White-box tests of src/consensus/log.c: a log whose first index is not 1
 * (what a snapshot will leave), its bounds, its cursors and its failure
 * paths (issue 9). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "consensus/log.h"
#include "test_alloc.h"

#define OFF 100u
#define OFF_TERM 7u

/* Appends n entries of term `term`, payload "e<index>" (or none). */
static void append_n(ut__consensus_log_t *log, size_t n, uint64_t term, bool payload)
{
    assert_int_equal(ut__consensus_log_reserve(log, n, payload ? 8 * n : 0), UT_OK);
    for (size_t i = 0; i < n; i++) {
        char buf[8];
        uint64_t index = log->last + 1;
        buf[0] = 'e';
        buf[1] = (char)('0' + index % 10);
        ut__consensus_log_append(log, term, UT_ENTRY_NORMAL, payload ? buf : NULL,
                                 payload ? 2u : 0u);
    }
}

static void test_log_empty_at_offset(void **state)
{
    (void)state;
    ut__consensus_log_t log;
    ut__consensus_log_init_at(&log, OFF, OFF_TERM);
    assert_int_equal(ut__consensus_log_first(&log), OFF + 1);
    assert_int_equal(log.last, OFF);
    assert_int_equal(ut__consensus_log_last_term(&log), OFF_TERM);
    assert_int_equal(ut__consensus_log_term(&log, OFF), OFF_TERM);
    assert_int_equal(ut__consensus_log_term(&log, OFF - 1), 0); /* replaced prefix */
    assert_int_equal(ut__consensus_log_term(&log, 0), 0);
    assert_int_equal(ut__consensus_log_term(&log, OFF + 1), 0); /* beyond the end */
    assert_int_equal(ut__consensus_log_term(&log, UINT64_MAX), 0);
    assert_int_equal(log.stable, OFF);
    assert_int_equal(log.persisted, OFF);
    assert_int_equal(log.commit, OFF);
    assert_int_equal(log.applied, OFF);
    assert_int_equal(log.truncate_from, 0);
    ut__consensus_log_destroy(&log);
}

static void test_log_starts_at_one(void **state)
{
    (void)state;
    ut__consensus_log_t log;
    ut__consensus_log_init(&log);
    assert_int_equal(ut__consensus_log_first(&log), 1);
    assert_int_equal(ut__consensus_log_last_term(&log), 0);
    append_n(&log, 3, 2, true);
    assert_int_equal(ut__consensus_log_term(&log, 0), 0);
    assert_int_equal(ut__consensus_log_term(&log, 1), 2);
    assert_int_equal(ut__consensus_log_term(&log, 3), 2);
    assert_int_equal(ut__consensus_log_term(&log, 4), 0);
    assert_int_equal(ut__consensus_log_at(&log, 1)->index, 1);
    ut__consensus_log_destroy(&log);
}

static void test_log_append_at_offset(void **state)
{
    (void)state;
    ut__consensus_log_t log;
    ut__consensus_log_init_at(&log, OFF, OFF_TERM);
    append_n(&log, 5, 8, true);
    append_n(&log, 200, 9, false); /* grows the entry array several times */
    assert_int_equal(log.last, OFF + 205);
    assert_int_equal(ut__consensus_log_term(&log, OFF), OFF_TERM);
    assert_int_equal(ut__consensus_log_term(&log, OFF + 1), 8);
    assert_int_equal(ut__consensus_log_term(&log, OFF + 5), 8);
    assert_int_equal(ut__consensus_log_term(&log, OFF + 6), 9);
    assert_int_equal(ut__consensus_log_last_term(&log), 9);
    assert_int_equal(ut__consensus_log_term(&log, OFF + 206), 0);
    /* The entries of a run follow one another in memory. */
    const ut_entry_t *e = ut__consensus_log_at(&log, OFF + 1);
    for (uint64_t i = OFF + 1; i <= log.last; i++, e++) {
        assert_int_equal(e->index, i);
        if (i <= OFF + 5) {
            assert_int_equal(e->len, 2);
            assert_memory_equal(e->data, ((char[]){'e', (char)('0' + i % 10)}), 2);
        } else {
            assert_int_equal(e->len, 0);
            assert_null(e->data);
        }
    }
    ut__consensus_log_destroy(&log);
}

static void test_log_truncate_cursors(void **state)
{
    (void)state;
    ut__consensus_log_t log;
    ut__consensus_log_init_at(&log, OFF, OFF_TERM);
    append_n(&log, 10, 8, true);
    log.stable = OFF + 8; /* handed out for persistence */
    log.persisted = OFF + 6;
    log.commit = OFF + 2;
    /* Outside (off, last]: nothing changes. */
    ut__consensus_log_truncate(&log, OFF);
    ut__consensus_log_truncate(&log, 1);
    ut__consensus_log_truncate(&log, OFF + 11);
    assert_int_equal(log.last, OFF + 10);
    assert_int_equal(log.truncate_from, 0);
    assert_int_equal(log.dead, 0);
    /* Above stable: only unstable entries go, no truncation to persist. */
    ut__consensus_log_truncate(&log, OFF + 10);
    assert_int_equal(log.last, OFF + 9);
    assert_int_equal(log.stable, OFF + 8);
    assert_int_equal(log.truncate_from, 0);
    assert_int_equal(log.dead, 8);
    /* Into stable storage: recorded, stable and persisted follow. */
    ut__consensus_log_truncate(&log, OFF + 5);
    assert_int_equal(log.last, OFF + 4);
    assert_int_equal(log.stable, OFF + 4);
    assert_int_equal(log.persisted, OFF + 4);
    assert_int_equal(log.truncate_from, OFF + 5);
    assert_int_equal(log.commit, OFF + 2);
    assert_int_equal(ut__consensus_log_term(&log, OFF + 5), 0);
    assert_int_equal(ut__consensus_log_last_term(&log), 8);
    /* A later, higher truncation keeps the lowest point. */
    append_n(&log, 4, 9, true);
    log.stable = log.last;
    ut__consensus_log_truncate(&log, OFF + 7);
    assert_int_equal(log.truncate_from, OFF + 5);
    /* Truncating everything after the offset leaves the offset's term. */
    ut__consensus_log_truncate(&log, OFF + 1);
    assert_int_equal(log.last, OFF);
    assert_int_equal(ut__consensus_log_last_term(&log), OFF_TERM);
    assert_int_equal(log.truncate_from, OFF + 1);
    append_n(&log, 1, 10, false);
    assert_int_equal(ut__consensus_log_at(&log, OFF + 1)->term, 10);
    ut__consensus_log_destroy(&log);
}

static void test_log_compact_at_offset(void **state)
{
    (void)state;
    static unsigned char big[40000];
    memset(big, 0xab, sizeof big);
    ut__consensus_log_t log;
    ut__consensus_log_init_at(&log, OFF, OFF_TERM);
    append_n(&log, 2, 8, true);
    assert_int_equal(ut__consensus_log_reserve(&log, 2, 2 * sizeof big), UT_OK);
    ut__consensus_log_append(&log, 8, UT_ENTRY_NORMAL, big, sizeof big);
    ut__consensus_log_append(&log, 8, UT_ENTRY_NORMAL, big, sizeof big);
    ut__consensus_log_truncate(&log, OFF + 3);
    ut__consensus_log_compact(&log);
    assert_int_equal(log.dead, 0);
    assert_int_equal(log.last, OFF + 2);
    const ut_entry_t *e = ut__consensus_log_at(&log, OFF + 1);
    assert_memory_equal(e[0].data, "e1", 2);
    assert_memory_equal(e[1].data, "e2", 2);
    ut__consensus_log_destroy(&log);
}

/* Every allocation reserve makes, failed in turn: UT_ENOMEM, log unchanged. */
static void test_log_reserve_enomem(void **state)
{
    (void)state;
    for (long k = 1;; k++) {
        ut__consensus_log_t log;
        ut__consensus_log_init_at(&log, OFF, OFF_TERM);
        append_n(&log, 3, 8, true);
        ut__consensus_log_t before = log;
        test_alloc_t ta;
        test_alloc_install(&ta, k);
        /* More entries and bytes than the first array and chunk hold. */
        int rc = ut__consensus_log_reserve(&log, 1000, 100000);
        test_alloc_uninstall();
        if (rc == UT_OK) {
            assert_int_equal(ta.failures, 0);
            append_n(&log, 1000, 9, false);
            assert_int_equal(ut__consensus_log_term(&log, OFF + 3), 8);
            ut__consensus_log_destroy(&log);
            assert_true(k > 1);
            break;
        }
        assert_int_equal(rc, UT_ENOMEM);
        assert_int_equal(log.last, before.last);
        assert_int_equal(log.off, before.off);
        assert_int_equal(ut__consensus_log_term(&log, OFF + 2), 8);
        assert_memory_equal(ut__consensus_log_at(&log, OFF + 2)->data, "e2", 2);
        ut__consensus_log_destroy(&log);
    }
    /* Sizes that cannot be reserved at all. */
    ut__consensus_log_t log;
    ut__consensus_log_init_at(&log, OFF, OFF_TERM);
    assert_int_equal(ut__consensus_log_reserve(&log, SIZE_MAX, 0), UT_ENOMEM);
    assert_int_equal(ut__consensus_log_reserve(&log, 1, SIZE_MAX), UT_ENOMEM);
    assert_int_equal(log.last, OFF);
    ut__consensus_log_destroy(&log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_empty_at_offset),   cmocka_unit_test(test_log_starts_at_one),
        cmocka_unit_test(test_log_append_at_offset),  cmocka_unit_test(test_log_truncate_cursors),
        cmocka_unit_test(test_log_compact_at_offset), cmocka_unit_test(test_log_reserve_enomem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
