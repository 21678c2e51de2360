/* SPDX-License-Identifier: MIT */
/* Review of the lock module from outside: every promise of
 * include/unitypes/lock.h and docs/locks.md probed as a user would, at the
 * edges (NULL and wrong-kind handles, longest names, UINT64_MAX times and
 * TTLs, token exhaustion, hostile snapshots, exact lease boundaries,
 * adversarial command orders). Black-box: only the public API. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <unitypes.h>

#include "lock_test_util.h"
#include "test_alloc.h"

static int raw(ut_lock_table_t *t, ut_lock_op_t op, const void *r, size_t rl, const void *h,
               size_t hl, uint64_t ttl, uint64_t wait, uint32_t flags, uint32_t limit, uint64_t now,
               ut_lock_reply_t *rp)
{
    ut_lock_cmd_t c = {op, r, rl, h, hl, ttl, wait, limit, flags};
    static unsigned char buf[32 + 2 * UT_LOCK_NAME_MAX];
    size_t n = 0;
    int rc = ut_lock_cmd_encode(&c, buf, sizeof buf, &n);
    if (rc != UT_OK)
        return rc;
    return ut_lock_table_apply(t, buf, n, now, rp);
}

#define ACQ(t, r, w, ttl, wait, fl, now, rp)                                                       \
    raw(t, UT_LOCK_OP_ACQUIRE, r, strlen(r), w, strlen(w), ttl, wait, fl, 0, now, rp)
#define REL(t, r, w, now, rp)                                                                      \
    raw(t, UT_LOCK_OP_RELEASE, r, strlen(r), w, strlen(w), 0, 0, 0, 0, now, rp)
#define RENEW(t, r, w, ttl, now, rp)                                                               \
    raw(t, UT_LOCK_OP_RENEW, r, strlen(r), w, strlen(w), ttl, 0, 0, 0, now, rp)

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void reseal(snap_t s)
{
    put32(s.p + s.n - 4, ut_crc32c(0, s.p, s.n - 4));
}

/* ---- NULL and wrong-kind handles ----------------------------------------- */

static void test_bad_handles(void **state)
{
    (void)state;
    ut_fence_config_t fc;
    assert_int_equal(ut_fence_config_init(&fc, UT_FENCE_CONFIG_VERSION), UT_OK);
    ut_fence_t *f = NULL;
    assert_int_equal(ut_fence_new(&f, &fc), UT_OK);
    /* A fence passed where a table or client is expected: refused. */
    ut_lock_table_t *wt = (ut_lock_table_t *)(void *)f;
    ut_lock_t *wl = (ut_lock_t *)(void *)f;
    unsigned char cmd[32] = {1, UT_LOCK_OP_TICK};
    ut_lock_reply_t rp;
    assert_int_equal(ut_lock_table_apply(wt, cmd, sizeof cmd, 0, &rp), UT_EINVAL);
    assert_int_equal(rp.status, UT_EINVAL);
    assert_int_equal(rp.result, UT_LOCK_ERROR);
    assert_int_equal(ut_lock_table_apply(NULL, cmd, sizeof cmd, 0, NULL), UT_EINVAL);
    assert_int_equal(ut_lock_table_tick(wt, 1), UT_EINVAL);
    assert_int_equal(ut_lock_table_tick(NULL, 1), UT_EINVAL);
    ut_lock_event_t ev;
    assert_int_equal(ut_lock_table_next_event(wt, &ev), UT_EINVAL);
    assert_int_equal(ut_lock_table_cycle_len(wt), 0);
    assert_null(ut_lock_table_cycle_holder(wt, 0, NULL));
    assert_int_equal(ut_lock_table_active(wt), 0);
    assert_int_equal(ut_lock_table_last_token(wt), 0);
    assert_int_equal(ut_lock_table_now(NULL), 0);
    assert_int_equal(ut_lock_table_holders(wt, "r", 1), 0);
    assert_int_equal(ut_lock_table_waiters(NULL, "r", 1), 0);
    assert_int_equal(ut_lock_table_holder_info(wt, "r", 1, "a", 1, NULL, NULL, NULL), UT_EINVAL);
    size_t n = 0;
    assert_int_equal(ut_lock_table_snapshot(wt, NULL, 0, &n), UT_EINVAL);
    assert_int_equal(ut_lock_table_restore(wt, cmd, sizeof cmd), UT_EINVAL);
    assert_non_null(ut_lock_table_errmsg(wt));
    assert_non_null(ut_lock_table_errmsg(NULL));
    ut_lock_table_free(wt); /* wrong kind: a no-op */
    ut_lock_table_free(NULL);
    ut_lock_result_t res;
    assert_int_equal(ut_lock_acquire(wl, 0, 0, &res), UT_EINVAL);
    assert_int_equal(ut_lock_release(wl, 0), UT_EINVAL);
    assert_int_equal(ut_lock_renew(wl, 0), UT_EINVAL);
    assert_int_equal(ut_lock_tick(wl, 0, NULL), UT_EINVAL);
    assert_int_equal(ut_lock_on_event(wl, &ev, NULL), UT_EINVAL);
    assert_null(ut_lock_resource(wl, NULL));
    assert_null(ut_lock_holder(NULL, &n));
    assert_int_equal(ut_lock_ttl(wl), 0);
    assert_false(ut_lock_acquired(wl));
    assert_false(ut_lock_waiting(wl));
    assert_int_equal(ut_lock_token(wl), 0);
    assert_non_null(ut_lock_errmsg(wl));
    ut_lock_free(wl);
    ut_lock_free(NULL);
    /* The fence survived all of it. */
    assert_int_equal(ut_fence_check(f, "r", 1, 7), UT_OK);
    assert_int_equal(ut_fence_highest(f, "r", 1), 7);
    ut_fence_free(f);
}

/* A table passed where a fence is expected: refused. */
static void test_fence_wrong_kind(void **state)
{
    (void)state;
    ut_lock_table_t *t = mk(0, 0);
    ut_fence_t *f = (ut_fence_t *)(void *)t;
    assert_int_equal(ut_fence_check(f, "r", 1, 1), UT_EINVAL);
    assert_int_equal(ut_fence_highest(f, "r", 1), 0);
    ut_fence_free(f); /* wrong kind: no-op */
    assert_int_equal(ut_lock_table_tick(t, 1), UT_OK);
    ut_lock_table_free(t);
}

/* ---- largest sizes -------------------------------------------------------- */

static void test_longest_names(void **state)
{
    (void)state;
    ut_lock_table_t *t = mk(0, 0);
    static unsigned char r[UT_LOCK_NAME_MAX + 1], h[UT_LOCK_NAME_MAX + 1];
    memset(r, 'r', sizeof r);
    memset(h, 'h', sizeof h);
    ut_lock_reply_t rp;
    assert_int_equal(
        raw(t, UT_LOCK_OP_ACQUIRE, r, UT_LOCK_NAME_MAX, h, UT_LOCK_NAME_MAX, 10, 0, 0, 0, 0, &rp),
        UT_OK);
    assert_int_equal(rp.result, UT_LOCK_ACQUIRED);
    assert_int_equal(ut_lock_table_holders(t, r, UT_LOCK_NAME_MAX), 1);
    /* One byte more: refused by the encoder. */
    assert_int_equal(raw(t, UT_LOCK_OP_ACQUIRE, r, UT_LOCK_NAME_MAX + 1, h, 1, 10, 0, 0, 0, 0, &rp),
                     UT_EINVAL);
    /* ...and by the table when the bytes are hand-made. */
    static unsigned char big[32 + UT_LOCK_NAME_MAX + 2];
    memset(big, 'x', sizeof big);
    memset(big, 0, 32);
    big[0] = 1;
    big[1] = UT_LOCK_OP_ACQUIRE;
    put64(big + 8, 10);
    big[24] = (unsigned char)((UT_LOCK_NAME_MAX + 1) & 0xff);
    big[25] = (unsigned char)((UT_LOCK_NAME_MAX + 1) >> 8);
    big[26] = 1;
    snap_t before = snap(t);
    assert_int_equal(ut_lock_table_apply(t, big, sizeof big, 0, &rp), UT_ECORRUPT);
    assert_same(t, before);
    /* Snapshot with the longest names round-trips. */
    snap_t s = snap(t);
    ut_lock_table_t *t2 = mk(0, 0);
    assert_int_equal(ut_lock_table_restore(t2, s.p, s.n), UT_OK);
    uint64_t tok = 0;
    assert_int_equal(
        ut_lock_table_holder_info(t2, r, UT_LOCK_NAME_MAX, h, UT_LOCK_NAME_MAX, &tok, NULL, NULL),
        UT_OK);
    assert_int_equal(tok, 1);
    assert_same(t2, s);
    ut_lock_table_free(t2);
    ut_lock_table_free(t);
}

/* A queued waiter with the largest TTL the table accepted must be granted
 * a lease that ends in the future, not one that wrapped round the clock. */
static void test_queued_huge_ttl_no_wrap(void **state)
{
    (void)state;
    ut_lock_table_t *t = mk(0, 0);
    ut_lock_reply_t rp;
    assert_int_equal(ACQ(t, "r", "a", 100, 0, 0, 0, &rp), UT_OK);
    assert_int_equal(ACQ(t, "r", "b", UINT64_MAX, 5000, 0, 0, &rp), UT_OK);
    assert_true(rp.queued);
    assert_int_equal(REL(t, "r", "a", 10, &rp), UT_OK);
    ut_lock_event_t ev;
    assert_int_equal(ut_lock_table_next_event(t, &ev), UT_OK);
    assert_int_equal(ev.type, UT_LOCK_EV_GRANTED);
    assert_true(ev.expires_ms > 10);
    /* A tick right after must not expire the fresh grant. */
    assert_int_equal(ut_lock_table_tick(t, 11), UT_OK);
    assert_int_equal(ut_lock_table_next_event(t, &ev), UT_ENOTFOUND);
    assert_int_equal(ut_lock_table_holders(t, "r", 1), 1);
    ut_lock_table_free(t);
}

/* A TTL or wait that would run past the end of the clock is refused
 * (UT_EINVAL, documented), the table unchanged; at now 0 UINT64_MAX fits. */
static void test_max_ttl_and_wait(void **state)
{
    (void)state;
    ut_lock_table_t *t = mk(0, 0);
    ut_lock_reply_t rp;
    assert_int_equal(ACQ(t, "r", "a", 10, 0, 0, 1000, &rp), UT_OK);
    snap_t before = snap(t);
    assert_int_equal(ACQ(t, "q", "a", UINT64_MAX, 0, 0, 1000, &rp), UT_EINVAL);
    assert_int_equal(ACQ(t, "r", "b", 10, UINT64_MAX, 0, 1000, &rp), UT_EINVAL);
    assert_int_equal(RENEW(t, "r", "a", UINT64_MAX - 999, 1000, &rp), UT_EINVAL);
    assert_same(t, before);
    assert_int_equal(RENEW(t, "r", "a", UINT64_MAX - 1000, 1000, &rp), UT_OK);
    assert_int_equal(rp.expires_ms, UINT64_MAX);
    /* The end of time: the lease ends. */
    assert_int_equal(ut_lock_table_tick(t, UINT64_MAX), UT_OK);
    assert_int_equal(ut_lock_table_holders(t, "r", 1), 0);
    ut_lock_table_t *t0 = mk(0, 0);
    assert_int_equal(ACQ(t0, "r", "a", UINT64_MAX, 0, 0, 0, &rp), UT_OK);
    assert_int_equal(rp.expires_ms, UINT64_MAX);
    ut_lock_table_free(t0);
    ut_lock_table_free(t);
}

/* Tokens strictly increase: a table whose counter is exhausted (restored
 * from a snapshot) refuses to grant rather than wrap to 0. */
static void test_token_exhaustion(void **state)
{
    (void)state;
    ut_lock_table_t *t = mk(0, 0);
    ut_lock_reply_t rp;
    assert_int_equal(ACQ(t, "r", "a", 100, 0, 0, 0, &rp), UT_OK);
    assert_int_equal(ACQ(t, "r", "b", 100, 50, 0, 0, &rp), UT_OK);
    snap_t s = snap(t);
    put64(s.p + 16, UINT64_MAX - 1); /* last_token */
    reseal(s);
    ut_lock_table_t *t2 = mk(0, 0);
    assert_int_equal(ut_lock_table_restore(t2, s.p, s.n), UT_OK);
    free(s.p);
    assert_int_equal(ut_lock_table_last_token(t2), UINT64_MAX - 1);
    /* One more grant fits: the waiter gets UINT64_MAX. */
    assert_int_equal(REL(t2, "r", "a", 1, &rp), UT_OK);
    ut_lock_event_t ev;
    assert_int_equal(ut_lock_table_next_event(t2, &ev), UT_OK);
    assert_int_equal(ev.type, UT_LOCK_EV_GRANTED);
    assert_int_equal(ev.token, UINT64_MAX);
    /* Now nothing is left: a new grant must not carry token 0 (or any
     * token not above UINT64_MAX); it is refused. */
    assert_int_equal(ACQ(t2, "q", "c", 100, 0, 0, 2, &rp) == UT_OK && rp.result == UT_LOCK_ACQUIRED,
                     false);
    assert_int_equal(ut_lock_table_last_token(t2), UINT64_MAX);
    assert_int_equal(ut_lock_table_holders(t2, "q", 1), 0);
    /* A queued request is never granted with a wrapped token either. */
    assert_int_equal(ACQ(t2, "r", "d", 100, 50, 0, 2, &rp), UT_OK);
    assert_true(rp.queued);
    assert_int_equal(REL(t2, "r", "b", 3, &rp), UT_OK);
    while (ut_lock_table_next_event(t2, &ev) == UT_OK)
        assert_int_not_equal(ev.type, UT_LOCK_EV_GRANTED);
    uint64_t tok = 1;
    if (ut_lock_table_holder_info(t2, "r", 1, "d", 1, &tok, NULL, NULL) == UT_OK)
        assert_true(tok == UINT64_MAX && false);
    assert_int_equal(ut_lock_table_last_token(t2), UINT64_MAX);
    ut_lock_table_free(t2);
    ut_lock_table_free(t);
}

/* ---- lease boundaries ------------------------------------------------------ */

static void test_exact_boundaries(void **state)
{
    (void)state;
    ut_lock_table_t *t = mk(0, 0);
    ut_lock_reply_t rp;
    assert_int_equal(ACQ(t, "r", "a", 100, 0, 0, 0, &rp), UT_OK);
    assert_int_equal(rp.expires_ms, 100);
    /* One ms before the end: renewal works; at the end: it is refused. */
    assert_int_equal(RENEW(t, "r", "a", 100, 99, &rp), UT_OK);
    assert_int_equal(rp.expires_ms, 199);
    snap_t before = snap(t);
    assert_int_equal(RENEW(t, "r", "a", 100, 199, &rp), UT_ETIMEDOUT);
    assert_same(t, before);
    /* Tick one before: still held; at the end: EXPIRED. */
    assert_int_equal(ut_lock_table_tick(t, 198), UT_OK);
    assert_int_equal(ut_lock_table_holders(t, "r", 1), 1);
    assert_int_equal(ut_lock_table_tick(t, 199), UT_OK);
    ut_lock_event_t ev;
    assert_int_equal(ut_lock_table_next_event(t, &ev), UT_OK);
    assert_int_equal(ev.type, UT_LOCK_EV_EXPIRED);
    assert_int_equal(ut_lock_table_holders(t, "r", 1), 0);
    ut_lock_table_free(t);
}

/* "a renewal arriving at or after the end is refused with UT_ETIMEDOUT even
 * before a tick reports it": a reentrant acquire refreshes the lease too,
 * so it must not bring a lapsed lease back either. */
static void test_reentrant_does_not_revive_lapsed_lease(void **state)
{
    (void)state;
    ut_lock_table_t *t = mk(500, 0);
    ut_lock_reply_t rp;
    assert_int_equal(ACQ(t, "r", "a", 100, 0, UT_LOCK_F_REENTRANT, 0, &rp), UT_OK);
    snap_t before = snap(t);
    int rc = ACQ(t, "r", "a", 100, 0, UT_LOCK_F_REENTRANT, 150, &rp);
    assert_int_not_equal(rc, UT_OK);
    assert_int_equal(rp.result, UT_LOCK_ERROR);
    assert_same(t, before);
    /* The lapse is then reported and lock-delay applies. */
    assert_int_equal(ut_lock_table_tick(t, 150), UT_OK);
    ut_lock_event_t ev;
    assert_int_equal(ut_lock_table_next_event(t, &ev), UT_OK);
    assert_int_equal(ev.type, UT_LOCK_EV_EXPIRED);
    assert_int_equal(ACQ(t, "r", "b", 100, 0, 0, 599, &rp), UT_OK);
    assert_int_equal(rp.result, UT_LOCK_CONFLICT);
    assert_int_equal(ACQ(t, "r", "b", 100, 0, 0, 600, &rp), UT_OK);
    assert_int_equal(rp.result, UT_LOCK_ACQUIRED);
    ut_lock_table_free(t);
}

/* ---- hostile snapshots ------------------------------------------------------ */

static ut_lock_table_t *busy_table(void)
{
    ut_lock_table_t *t = mk(100, 0);
    ut_lock_reply_t rp;
    assert_int_equal(ACQ(t, "r1", "a", 100, 0, 0, 0, &rp), UT_OK);
    assert_int_equal(ACQ(t, "r1", "b", 100, 50, 0, 0, &rp), UT_OK);
    assert_int_equal(raw(t, UT_LOCK_OP_ACQUIRE, "s", 1, "c", 1, 100, 0,
                         UT_LOCK_F_SHARED | UT_LOCK_F_ALLOW_SHARED, 2, 0, &rp),
                     UT_OK);
    assert_int_equal(raw(t, UT_LOCK_OP_ACQUIRE, "s", 1, "d", 1, 100, 0,
                         UT_LOCK_F_SHARED | UT_LOCK_F_ALLOW_SHARED, 2, 0, &rp),
                     UT_OK);
    return t;
}

static void test_hostile_snapshots(void **state)
{
    (void)state;
    ut_lock_table_t *src = busy_table();
    snap_t s = snap(src);
    ut_lock_table_t *t = busy_table();
    ut_lock_reply_t rp;
    assert_int_equal(ACQ(t, "other", "z", 100, 0, 0, 0, &rp), UT_OK);
    snap_t mine = snap(t);
    /* Every truncation. */
    for (size_t n = 0; n < s.n; n++) {
        int rc = ut_lock_table_restore(t, s.p, n);
        assert_true(rc == UT_ECORRUPT || rc == UT_EVERSION);
    }
    /* Every single bit flip. */
    for (size_t i = 0; i < s.n; i++)
        for (int b = 0; b < 8; b++) {
            s.p[i] ^= (unsigned char)(1u << b);
            int rc = ut_lock_table_restore(t, s.p, s.n);
            assert_true(rc == UT_ECORRUPT || rc == UT_EVERSION);
            s.p[i] ^= (unsigned char)(1u << b);
        }
    /* Resealed (valid CRC) but with hostile fields: every byte set to
     * 0x00, 0xff and 0x80 in turn must be refused or give a table whose
     * own snapshot restores again (no inconsistent state accepted). */
    static const unsigned char vals[] = {0x00, 0xff, 0x80, 0x01, 0x02};
    for (size_t i = 0; i + 4 < s.n; i++)
        for (size_t v = 0; v < sizeof vals; v++) {
            unsigned char keep = s.p[i];
            s.p[i] = vals[v];
            reseal(s);
            ut_lock_table_t *x = mk(100, 0);
            int rc = ut_lock_table_restore(x, s.p, s.n);
            if (rc == UT_OK) {
                snap_t y = snap(x);
                ut_lock_table_t *z = mk(100, 0);
                assert_int_equal(ut_lock_table_restore(z, y.p, y.n), UT_OK);
                /* Drive it: tick to the end of time, nothing may crash. */
                assert_int_equal(ut_lock_table_tick(z, 1000), UT_OK);
                (void)ACQ(z, "r1", "b", 10, 0, 0, 1001, &rp);
                assert_int_equal(ut_lock_table_tick(z, UINT64_MAX), UT_OK);
                free(y.p);
                ut_lock_table_free(z);
            } else {
                assert_true(rc == UT_ECORRUPT || rc == UT_EVERSION);
            }
            ut_lock_table_free(x);
            s.p[i] = keep;
        }
    reseal(s);
    /* Huge counts with a valid CRC. */
    unsigned char head[32];
    memcpy(head, s.p, 28);
    put32(head + 24, UINT32_MAX);
    put32(head + 28, ut_crc32c(0, head, 28));
    assert_int_equal(ut_lock_table_restore(t, head, sizeof head), UT_ECORRUPT);
    assert_int_equal(ut_lock_table_restore(t, NULL, 10), UT_EINVAL);
    assert_same(t, mine);
    assert_int_equal(ut_lock_table_restore(t, s.p, s.n), UT_OK);
    assert_same(t, s);
    ut_lock_table_free(t);
    ut_lock_table_free(src);
}

/* ---- mutual exclusion and fencing under adversarial orders ------------------ */

static void test_adversarial_fencing(void **state)
{
    (void)state;
    ut_lock_table_t *t = mk(0, 2);
    ut_fence_config_t fc;
    assert_int_equal(ut_fence_config_init(&fc, UT_FENCE_CONFIG_VERSION), UT_OK);
    ut_fence_t *f = NULL;
    assert_int_equal(ut_fence_new(&f, &fc), UT_OK);
    ut_lock_reply_t rp;
    uint64_t prev = 0;
    const char *who[] = {"a", "b", "c", "d"};
    uint64_t now = 0;
    uint32_t seed = 12345;
    for (int step = 0; step < 4000; step++) {
        seed = seed * 1103515245u + 12345u;
        unsigned k = (seed >> 16) % 7;
        const char *w = who[(seed >> 8) % 4];
        now += (seed >> 4) % 40;
        switch (k) {
        case 0:
        case 1:
        case 4:
            if (k == 4)
                (void)ACQ(t, "r", w, 60, 0, UT_LOCK_F_REENTRANT, now >= 30 ? now - 30 : 0, &rp);
            else
                (void)ACQ(t, "r", w, 60, (seed >> 3) % 2 ? 100 : 0, 0, now, &rp);
            if (rp.status == UT_OK && rp.result == UT_LOCK_ACQUIRED && rp.count > 1)
                break;
            if (rp.status == UT_OK && rp.result == UT_LOCK_ACQUIRED) {
                assert_true(rp.token > prev);
                prev = rp.token;
                assert_int_equal(ut_fence_check(f, "r", 1, rp.token), UT_OK);
            }
            break;
        case 2:
            (void)REL(t, "r", w, now, &rp);
            break;
        case 3:
            (void)RENEW(t, "r", w, 60, now, &rp);
            break;
        default:
            assert_int_equal(ut_lock_table_tick(t, now), UT_OK);
            break;
        }
        assert_true(ut_lock_table_holders(t, "r", 1) <= 1);
        assert_true(ut_lock_table_waiters(t, "r", 1) <= 2);
        ut_lock_event_t ev;
        while (ut_lock_table_next_event(t, &ev) == UT_OK)
            if (ev.type == UT_LOCK_EV_GRANTED) {
                assert_true(ev.token > prev);
                assert_true(ev.expires_ms > now);
                prev = ev.token;
                assert_int_equal(ut_fence_check(f, "r", 1, ev.token), UT_OK);
            }
        /* The holder, if any, holds a lease that has not wrapped. */
        for (int i = 0; i < 4; i++) {
            uint64_t tok, exp;
            if (ut_lock_table_holder_info(t, "r", 1, who[i], 1, &tok, &exp, NULL) == UT_OK) {
                assert_true(tok <= prev);
                assert_true(tok > 0);
            }
        }
        /* Older tokens stay fenced off. */
        if (prev > 1)
            assert_int_equal(ut_fence_check(f, "r", 1, prev - 1), UT_ESTALE);
    }
    assert_true(prev > 10);
    ut_fence_free(f);
    ut_lock_table_free(t);
}

/* ---- client edges ------------------------------------------------------------ */

typedef struct tr {
    ut_lock_table_t *t;
    uint64_t now;
    int fail;
} tr_t;

static int submit(void *ud, const void *cmd, size_t len, ut_lock_reply_t *reply)
{
    tr_t *x = ud;
    if (x->fail)
        return x->fail;
    (void)ut_lock_table_apply(x->t, cmd, len, x->now, reply);
    return UT_OK;
}

static void test_client_huge_ttl(void **state)
{
    (void)state;
    tr_t x = {mk(0, 0), 0, 0};
    ut_lock_config_t cfg;
    assert_int_equal(ut_lock_config_init(&cfg, UT_LOCK_CONFIG_VERSION), UT_OK);
    static unsigned char r[UT_LOCK_NAME_MAX];
    memset(r, 'r', sizeof r);
    cfg.resource = r;
    cfg.resource_len = sizeof r;
    cfg.holder = "h";
    cfg.holder_len = 1;
    cfg.ttl_ms = UINT64_MAX;
    cfg.submit = submit;
    cfg.userdata = &x;
    ut_lock_t *l = NULL;
    assert_int_equal(ut_lock_new(&l, &cfg), UT_OK);
    ut_lock_result_t res;
    assert_int_equal(ut_lock_acquire(l, 5, 0, &res), UT_OK);
    assert_int_equal(res, UT_LOCK_ACQUIRED);
    /* The client's own lease count must not wrap and give up at once. */
    bool lost = true;
    assert_int_equal(ut_lock_tick(l, 6, &lost), UT_OK);
    assert_false(lost);
    assert_true(ut_lock_acquired(l));
    /* Submit failure on release keeps the state. */
    x.fail = UT_ENOTLEADER;
    assert_int_equal(ut_lock_release(l, 7), UT_ENOTLEADER);
    assert_true(ut_lock_acquired(l));
    x.fail = 0;
    assert_int_equal(ut_lock_release(l, 7), UT_OK);
    assert_false(ut_lock_acquired(l));
    assert_int_equal(ut_lock_table_active(x.t), 0);
    ut_lock_free(l);
    ut_lock_table_free(x.t);
}

/* "On UT_ENOMEM nothing changed": a client whose RELEASE the table could not
 * apply for lack of memory still holds the lock, and must say so (and be
 * able to retry), not report it released while the table keeps it. */
static void test_client_release_enomem_keeps_state(void **state)
{
    (void)state;
    tr_t x = {mk(0, 0), 0, 0};
    ut_lock_config_t cfg;
    assert_int_equal(ut_lock_config_init(&cfg, UT_LOCK_CONFIG_VERSION), UT_OK);
    cfg.resource = "r";
    cfg.resource_len = 1;
    cfg.holder = "a";
    cfg.holder_len = 1;
    cfg.ttl_ms = 100;
    cfg.submit = submit;
    cfg.userdata = &x;
    ut_lock_t *l = NULL;
    assert_int_equal(ut_lock_new(&l, &cfg), UT_OK);
    ut_lock_result_t res;
    assert_int_equal(ut_lock_acquire(l, 0, 0, &res), UT_OK);
    assert_int_equal(res, UT_LOCK_ACQUIRED);
    ut_lock_reply_t rp;
    assert_int_equal(ACQ(x.t, "r", "b", 100, 50, 0, 0, &rp), UT_OK);
    assert_true(rp.queued);
    int rc = UT_ENOMEM;
    test_alloc_t al;
    for (long k = 1; k < 10 && rc == UT_ENOMEM; k++) {
        test_alloc_install(&al, k);
        rc = ut_lock_release(l, 1);
        test_alloc_uninstall();
        if (rc == UT_ENOMEM) {
            assert_int_equal(ut_lock_table_holders(x.t, "r", 1), 1);
            assert_true(ut_lock_acquired(l));
            assert_int_not_equal(ut_lock_token(l), 0);
        }
    }
    assert_int_equal(rc, UT_OK);
    assert_false(ut_lock_acquired(l));
    assert_int_equal(ut_lock_table_holders(x.t, "r", 1), 1); /* b now */
    ut_lock_free(l);
    ut_lock_table_free(x.t);
}

/* Deadlock: the cycle names the holders in order, the refusal changes
 * nothing, and the next apply resets it. */
static void test_deadlock_cycle_contract(void **state)
{
    (void)state;
    ut_lock_table_t *t = mk(0, 0);
    ut_lock_reply_t rp;
    assert_int_equal(ACQ(t, "r1", "a", 100, 0, 0, 0, &rp), UT_OK);
    assert_int_equal(ACQ(t, "r2", "b", 100, 0, 0, 0, &rp), UT_OK);
    assert_int_equal(ACQ(t, "r3", "c", 100, 0, 0, 0, &rp), UT_OK);
    assert_int_equal(ACQ(t, "r2", "a", 100, 50, 0, 0, &rp), UT_OK); /* a -> b */
    assert_int_equal(ACQ(t, "r3", "b", 100, 50, 0, 0, &rp), UT_OK); /* b -> c */
    snap_t before = snap(t);
    assert_int_equal(ACQ(t, "r1", "c", 100, 50, 0, 0, &rp), UT_OK); /* c -> a: cycle */
    assert_int_equal(rp.result, UT_LOCK_CONFLICT);
    assert_false(rp.queued);
    assert_same(t, before);
    assert_int_equal(ut_lock_table_cycle_len(t), 3);
    const char *want[] = {"c", "a", "b"};
    for (size_t i = 0; i < 3; i++) {
        size_t n = 0;
        const void *h = ut_lock_table_cycle_holder(t, i, &n);
        assert_non_null(h);
        assert_int_equal(n, 1);
        assert_memory_equal(h, want[i], 1);
    }
    assert_null(ut_lock_table_cycle_holder(t, 3, NULL));
    /* Without waiting, no cycle is formed: plain conflict. */
    assert_int_equal(ACQ(t, "r1", "c", 100, 0, 0, 0, &rp), UT_OK);
    assert_int_equal(rp.result, UT_LOCK_CONFLICT);
    assert_int_equal(ut_lock_table_cycle_len(t), 0);
    ut_lock_table_free(t);
}

/* "Each waiter has a deadline and its own lease; whichever ends first
 * removes it": a release after a waiter's deadline (before any tick) must
 * not grant the lock to that waiter, nor to one whose own lease ran out. */
static void test_release_does_not_grant_stale_waiter(void **state)
{
    (void)state;
    ut_lock_table_t *t = mk(0, 0);
    ut_lock_reply_t rp;
    assert_int_equal(ACQ(t, "r", "a", 1000, 0, 0, 0, &rp), UT_OK);
    assert_int_equal(ACQ(t, "r", "b", 1000, 50, 0, 0, &rp), UT_OK); /* wait ends at 50 */
    assert_int_equal(ACQ(t, "r", "c", 60, 500, 0, 0, &rp), UT_OK);  /* lease ends at 60 */
    assert_int_equal(ACQ(t, "r", "d", 1000, 500, 0, 0, &rp), UT_OK);
    assert_int_equal(REL(t, "r", "a", 100, &rp), UT_OK);
    ut_lock_event_t ev;
    int granted = 0;
    while (ut_lock_table_next_event(t, &ev) == UT_OK) {
        if (ev.type == UT_LOCK_EV_GRANTED) {
            granted++;
            assert_int_equal(ev.holder_len, 1);
            assert_memory_equal(ev.holder, "d", 1);
        }
        if (ev.type == UT_LOCK_EV_WAIT_TIMEOUT)
            assert_memory_equal(ev.holder, "b", 1);
        if (ev.type == UT_LOCK_EV_WAITER_EXPIRED)
            assert_memory_equal(ev.holder, "c", 1);
    }
    assert_int_equal(granted, 1);
    assert_int_equal(ut_lock_table_holder_info(t, "r", 1, "d", 1, NULL, NULL, NULL), UT_OK);
    assert_int_equal(ut_lock_table_waiters(t, "r", 1), 0);
    ut_lock_table_free(t);
}

/* Borrowed pointers: event and cycle names stay valid across non-mutating
 * calls; the client's name accessors across its own commands. */
static void test_borrowed_pointers(void **state)
{
    (void)state;
    tr_t x = {mk(0, 0), 0, 0};
    ut_lock_config_t cfg;
    assert_int_equal(ut_lock_config_init(&cfg, UT_LOCK_CONFIG_VERSION), UT_OK);
    char rname[] = "res", hname[] = "me";
    cfg.resource = rname;
    cfg.resource_len = 3;
    cfg.holder = hname;
    cfg.holder_len = 2;
    cfg.submit = submit;
    cfg.userdata = &x;
    ut_lock_t *l = NULL;
    assert_int_equal(ut_lock_new(&l, &cfg), UT_OK);
    memset(rname, 0, sizeof rname); /* names were copied */
    memset(hname, 0, sizeof hname);
    size_t n = 0;
    const void *rp0 = ut_lock_resource(l, &n);
    assert_int_equal(n, 3);
    ut_lock_result_t res;
    ut_lock_reply_t rp;
    assert_int_equal(ACQ(x.t, "res", "other", 100, 0, 0, 0, &rp), UT_OK);
    assert_int_equal(ut_lock_acquire(l, 0, 100, &res), UT_EBUSY);
    assert_true(ut_lock_waiting(l));
    assert_int_equal(REL(x.t, "res", "other", 1, &rp), UT_OK);
    ut_lock_event_t ev;
    assert_int_equal(ut_lock_table_next_event(x.t, &ev), UT_OK);
    snap_t s = snap(x.t);
    free(s.p);
    assert_int_equal(ut_lock_table_holders(x.t, "res", 3), 1);
    assert_int_equal(ut_lock_table_holder_info(x.t, "res", 3, "me", 2, NULL, NULL, NULL), UT_OK);
    assert_memory_equal(ev.resource, "res", 3);
    assert_memory_equal(ev.holder, "me", 2);
    assert_int_equal(ut_lock_on_event(l, &ev, &res), UT_OK);
    assert_int_equal(res, UT_LOCK_ACQUIRED);
    assert_int_equal(ut_lock_token(l), ev.token);
    /* The same event again: no longer for a waiting client. */
    assert_int_equal(ut_lock_on_event(l, &ev, &res), UT_ENOTFOUND);
    assert_int_equal(ut_lock_release(l, 2), UT_OK);
    assert_ptr_equal(ut_lock_resource(l, NULL), rp0);
    assert_memory_equal(rp0, "res", 3);
    assert_memory_equal(ut_lock_holder(l, NULL), "me", 2);
    ut_lock_free(l);
    ut_lock_table_free(x.t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_handles),
        cmocka_unit_test(test_fence_wrong_kind),
        cmocka_unit_test(test_longest_names),
        cmocka_unit_test(test_queued_huge_ttl_no_wrap),
        cmocka_unit_test(test_max_ttl_and_wait),
        cmocka_unit_test(test_token_exhaustion),
        cmocka_unit_test(test_exact_boundaries),
        cmocka_unit_test(test_reentrant_does_not_revive_lapsed_lease),
        cmocka_unit_test(test_hostile_snapshots),
        cmocka_unit_test(test_adversarial_fencing),
        cmocka_unit_test(test_client_huge_ttl),
        cmocka_unit_test(test_client_release_enomem_keeps_state),
        cmocka_unit_test(test_deadlock_cycle_contract),
        cmocka_unit_test(test_release_does_not_grant_stale_waiter),
        cmocka_unit_test(test_borrowed_pointers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
