/* SPDX-License-Identifier: MIT */
/* Helpers shared by the lock table's cmocka tests (include after
 * <cmocka.h> and <unitypes.h>): a table with the given lock-delay and queue
 * bound, and the "unchanged" check: the snapshot bytes are the whole table,
 * so equal snapshots before and after a refused call mean nothing changed. */
#ifndef UT_TEST_LOCK_UTIL_H
#define UT_TEST_LOCK_UTIL_H

#include <stdlib.h>

static inline ut_lock_table_t *mk(uint64_t delay, uint32_t max_waiters)
{
    ut_lock_table_config_t cfg;
    assert_int_equal(ut_lock_table_config_init(&cfg, UT_LOCK_TABLE_CONFIG_VERSION), UT_OK);
    cfg.lock_delay_ms = delay;
    cfg.max_waiters = max_waiters;
    ut_lock_table_t *t = NULL;
    assert_int_equal(ut_lock_table_new(&t, &cfg), UT_OK);
    return t;
}

typedef struct snap {
    unsigned char *p;
    size_t n;
} snap_t;

static inline snap_t snap(const ut_lock_table_t *t)
{
    snap_t s = {NULL, 0};
    assert_int_equal(ut_lock_table_snapshot(t, NULL, 0, &s.n), UT_ERANGE);
    s.p = malloc(s.n);
    assert_non_null(s.p);
    size_t n2 = 0;
    assert_int_equal(ut_lock_table_snapshot(t, s.p, s.n, &n2), UT_OK);
    assert_int_equal(n2, s.n);
    return s;
}

/* Frees both snapshots. */
static inline void assert_same(const ut_lock_table_t *t, snap_t before)
{
    snap_t now = snap(t);
    assert_int_equal(now.n, before.n);
    assert_memory_equal(now.p, before.p, now.n);
    free(now.p);
    free(before.p);
}

#endif
