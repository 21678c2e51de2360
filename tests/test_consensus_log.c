/* SPDX-License-Identifier: MIT */
/* White-box tests of src/consensus/log.c: a log whose first index is not 1
 * (what a snapshot will leave), its bounds, its cursors and its failure
 * paths (issue 9). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

/* A payload naming its index and term: "i<index>t<term>" in 16 bytes. */
static void named(char *buf, uint64_t index, uint64_t term)
{
    memset(buf, 0, 16);
    snprintf(buf, 16, "i%llut%llu", (unsigned long long)index, (unsigned long long)term);
}

static void append_named(ut__consensus_log_t *log, size_t n, uint64_t term)
{
    assert_int_equal(ut__consensus_log_reserve(log, n, 16 * n), UT_OK);
    for (size_t i = 0; i < n; i++) {
        char buf[16];
        named(buf, log->last + 1, term);
        ut__consensus_log_append(log, term, UT_ENTRY_NORMAL, buf, 16);
    }
}

/* Segments (issue 10): every index finds its entry across segment
 * boundaries, a run is one array only inside a segment, and a copy of a run
 * across segments equals the entries one by one. */
static void test_log_segments(void **state)
{
    (void)state;
    const size_t n = 3 * UT__CONSENSUS_LOG_SEG + 7;
    ut__consensus_log_t log;
    ut__consensus_log_init_at(&log, OFF, OFF_TERM);
    for (size_t k = 0; k < n; k += 50) /* in small reservations, as proposals come */
        append_named(&log, n - k < 50 ? n - k : 50, 8);
    assert_int_equal(log.last, OFF + n);
    for (uint64_t i = OFF + 1; i <= log.last; i++) {
        char want[16];
        named(want, i, 8);
        const ut_entry_t *e = ut__consensus_log_at(&log, i);
        assert_int_equal(e->index, i);
        assert_int_equal(e->term, 8);
        assert_memory_equal(e->data, want, 16);
    }
    uint64_t b = UT__CONSENSUS_LOG_SEG; /* first index of segment 1 */
    assert_non_null(ut__consensus_log_run(&log, OFF + 1, (size_t)(b - OFF - 1)));
    assert_null(ut__consensus_log_run(&log, b - 1, 2));
    assert_ptr_equal(ut__consensus_log_run(&log, b, 5), ut__consensus_log_at(&log, b));
    ut_entry_t copy[40];
    ut__consensus_log_copy(&log, copy, b - 20, 40);
    for (size_t k = 0; k < 40; k++)
        assert_memory_equal(&copy[k], ut__consensus_log_at(&log, b - 20 + k), sizeof copy[k]);
    ut__consensus_log_destroy(&log);
}

/* Truncation never overwrites an entry already written: a pointer taken
 * before it (what a ready or an AppendEntries holds) reads the same headers
 * and payloads after the truncation and the appends that replace the tail,
 * until release(); the log itself reads the new entries. */
static void test_log_truncate_keeps_pointers(void **state)
{
    (void)state;
    const size_t n = UT__CONSENSUS_LOG_SEG + 100;
    ut__consensus_log_t log;
    ut__consensus_log_init(&log);
    append_named(&log, n, 3);
    log.stable = log.last;
    /* Held: a run in segment 0 and one in segment 1, both to be truncated. */
    uint64_t from = UT__CONSENSUS_LOG_SEG - 50;
    const ut_entry_t *held0 = ut__consensus_log_run(&log, from - 10, 60);
    const ut_entry_t *held1 = ut__consensus_log_run(&log, UT__CONSENSUS_LOG_SEG, 100);
    assert_non_null(held0);
    assert_non_null(held1);
    ut_entry_t saved0[60], saved1[100];
    memcpy(saved0, held0, sizeof saved0);
    memcpy(saved1, held1, sizeof saved1);
    uint64_t new_last = from + 2 * UT__CONSENSUS_LOG_SEG;
    assert_int_equal(ut__consensus_log_prepare_truncate(&log, from, new_last), UT_OK);
    ut__consensus_log_truncate(&log, from);
    assert_int_equal(log.last, from - 1);
    assert_int_equal(log.truncate_from, from);
    /* The prepared appends need no allocation. */
    test_alloc_t ta;
    test_alloc_install(&ta, 1);
    size_t more = (size_t)(new_last - from + 1);
    assert_true(log.last + more <= log.cap_last);
    test_alloc_uninstall();
    append_named(&log, more, 4);
    assert_int_equal(ta.failures, 0);
    for (size_t k = 0; k < 60; k++) {
        assert_memory_equal(&held0[k], &saved0[k], sizeof saved0[k]);
        char want[16];
        named(want, from - 10 + k, 3);
        assert_memory_equal(held0[k].data, want, 16);
    }
    for (size_t k = 0; k < 100; k++)
        assert_memory_equal(&held1[k], &saved1[k], sizeof saved1[k]);
    for (uint64_t i = 1; i <= log.last; i++) {
        char want[16];
        uint64_t t = i < from ? 3 : 4;
        named(want, i, t);
        assert_int_equal(ut__consensus_log_term(&log, i), t);
        assert_memory_equal(ut__consensus_log_at(&log, i)->data, want, 16);
    }
    assert_non_null(log.retired);
    ut__consensus_log_release(&log);
    assert_null(log.retired);
    ut__consensus_log_destroy(&log);
}

/* prepare_truncate out of memory: UT_ENOMEM and the log unchanged. */
static void test_log_prepare_truncate_enomem(void **state)
{
    (void)state;
    ut__consensus_log_t log;
    ut__consensus_log_init(&log);
    append_named(&log, 10, 3);
    test_alloc_t ta;
    test_alloc_install(&ta, 1);
    int rc = ut__consensus_log_prepare_truncate(&log, 5, 5 + 3 * UT__CONSENSUS_LOG_SEG);
    test_alloc_uninstall();
    assert_int_equal(rc, UT_ENOMEM);
    assert_int_equal(log.last, 10);
    assert_int_equal(ut__consensus_log_term(&log, 10), 3);
    /* Outside (off, last]: nothing to prepare. */
    assert_int_equal(ut__consensus_log_prepare_truncate(&log, 11, 20), UT_OK);
    assert_int_equal(log.n_spare, 0);
    ut__consensus_log_destroy(&log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_empty_at_offset),
        cmocka_unit_test(test_log_starts_at_one),
        cmocka_unit_test(test_log_append_at_offset),
        cmocka_unit_test(test_log_truncate_cursors),
        cmocka_unit_test(test_log_compact_at_offset),
        cmocka_unit_test(test_log_reserve_enomem),
        cmocka_unit_test(test_log_segments),
        cmocka_unit_test(test_log_truncate_keeps_pointers),
        cmocka_unit_test(test_log_prepare_truncate_enomem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
