/* SPDX-License-Identifier: MIT */
/* Clocks (vector, dotted version vectors, HLC) and consistency-level quorum
 * arithmetic: pure functions, table-driven. Black-box. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <unitypes.h>

/* A clock from a list of (node, counter) pairs, built through the API. */
static void vc_make(ut_vclock_t *vc, const uint64_t (*pairs)[2], size_t n)
{
    assert_int_equal(ut_vclock_init(vc), UT_OK);
    for (size_t i = 0; i < n; i++)
        for (uint64_t c = 0; c < pairs[i][1]; c++)
            assert_int_equal(ut_vclock_increment(vc, pairs[i][0]), UT_OK);
}

typedef struct vc_case {
    uint64_t a[4][2];
    size_t na;
    uint64_t b[4][2];
    size_t nb;
    ut_clock_order_t order;
} vc_case_t;

static const vc_case_t vc_cases[] = {
    {{{0, 0}}, 0, {{0, 0}}, 0, UT_CLOCK_EQUAL},
    {{{1, 1}}, 1, {{0, 0}}, 0, UT_CLOCK_AFTER},
    {{{0, 0}}, 0, {{2, 3}}, 1, UT_CLOCK_BEFORE},
    {{{1, 1}, {2, 1}}, 2, {{2, 1}, {1, 1}}, 2, UT_CLOCK_EQUAL},
    {{{1, 1}}, 1, {{1, 2}}, 1, UT_CLOCK_BEFORE},
    {{{1, 2}}, 1, {{1, 1}, {3, 1}}, 2, UT_CLOCK_CONCURRENT},
    {{{1, 1}, {3, 1}}, 2, {{1, 1}, {2, 1}, {3, 1}}, 3, UT_CLOCK_BEFORE},
    {{{5, 1}}, 1, {{4, 1}}, 1, UT_CLOCK_CONCURRENT},
    {{{1, 3}, {9, 2}}, 2, {{1, 3}, {9, 1}}, 2, UT_CLOCK_AFTER},
};

static void test_vclock_compare_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vc_cases / sizeof vc_cases[0]; i++) {
        const vc_case_t *c = &vc_cases[i];
        ut_vclock_t a, b;
        vc_make(&a, c->a, c->na);
        vc_make(&b, c->b, c->nb);
        ut_clock_order_t o;
        assert_int_equal(ut_vclock_compare(&a, &b, &o), UT_OK);
        assert_int_equal(o, c->order);
        /* Symmetry: swapping the arguments swaps before and after. */
        assert_int_equal(ut_vclock_compare(&b, &a, &o), UT_OK);
        ut_clock_order_t rev = c->order == UT_CLOCK_BEFORE  ? UT_CLOCK_AFTER
                               : c->order == UT_CLOCK_AFTER ? UT_CLOCK_BEFORE
                                                            : c->order;
        assert_int_equal(o, rev);
        /* The merge is after-or-equal both, and equal to the later one. */
        ut_vclock_t m = a;
        assert_int_equal(ut_vclock_merge(&m, &b), UT_OK);
        assert_int_equal(ut_vclock_compare(&a, &m, &o), UT_OK);
        assert_true(o == UT_CLOCK_BEFORE || o == UT_CLOCK_EQUAL);
        assert_int_equal(ut_vclock_compare(&b, &m, &o), UT_OK);
        assert_true(o == UT_CLOCK_BEFORE || o == UT_CLOCK_EQUAL);
        for (size_t k = 0; k < c->na; k++)
            assert_true(ut_vclock_get(&m, c->a[k][0]) >= c->a[k][1]);
        for (size_t k = 0; k < c->nb; k++)
            assert_true(ut_vclock_get(&m, c->b[k][0]) >= c->b[k][1]);
    }
}

static void test_vclock_merge_disjoint_and_get(void **state)
{
    (void)state;
    ut_vclock_t a, b;
    static const uint64_t pa[][2] = {{2, 1}, {6, 4}, {10, 1}};
    static const uint64_t pb[][2] = {{1, 2}, {6, 5}, {11, 1}};
    vc_make(&a, pa, 3);
    vc_make(&b, pb, 3);
    assert_int_equal(ut_vclock_merge(&a, &b), UT_OK);
    assert_int_equal(a.n, 5);
    static const uint64_t want[][2] = {{1, 2}, {2, 1}, {6, 5}, {10, 1}, {11, 1}};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(a.e[i].node, want[i][0]);
        assert_int_equal(a.e[i].counter, want[i][1]);
    }
    assert_int_equal(ut_vclock_get(&a, 7), 0);
    assert_int_equal(ut_vclock_get(NULL, 1), 0);
}

static void test_vclock_errors_leave_unchanged(void **state)
{
    (void)state;
    ut_vclock_t a, before;
    ut_clock_order_t o;
    assert_int_equal(ut_vclock_init(NULL), UT_EINVAL);
    assert_int_equal(ut_vclock_init(&a), UT_OK);
    assert_int_equal(ut_vclock_increment(NULL, 1), UT_EINVAL);
    assert_int_equal(ut_vclock_increment(&a, 0), UT_EINVAL);
    /* Full: 64 nodes, a 65th refused and nothing changed. */
    for (uint64_t n = 1; n <= UT_VCLOCK_MAX; n++)
        assert_int_equal(ut_vclock_increment(&a, n * 2), UT_OK);
    before = a;
    assert_int_equal(ut_vclock_increment(&a, 1), UT_EFULL);
    assert_memory_equal(&a, &before, sizeof a);
    assert_int_equal(ut_vclock_increment(&a, 2), UT_OK); /* existing node still fine */
    /* Merge that would not fit: dst unchanged. */
    ut_vclock_t b;
    assert_int_equal(ut_vclock_init(&b), UT_OK);
    assert_int_equal(ut_vclock_increment(&b, 3), UT_OK);
    before = a;
    assert_int_equal(ut_vclock_merge(&a, &b), UT_EFULL);
    assert_memory_equal(&a, &before, sizeof a);
    /* Overflow. */
    ut_vclock_t c;
    assert_int_equal(ut_vclock_init(&c), UT_OK);
    assert_int_equal(ut_vclock_increment(&c, 1), UT_OK);
    c.e[0].counter = UINT64_MAX;
    before = c;
    assert_int_equal(ut_vclock_increment(&c, 1), UT_ERANGE);
    assert_memory_equal(&c, &before, sizeof c);
    /* Malformed clocks are refused, never read out of bounds. */
    ut_vclock_t bad = c;
    bad.n = UT_VCLOCK_MAX + 1;
    assert_int_equal(ut_vclock_compare(&bad, &c, &o), UT_EINVAL);
    assert_int_equal(ut_vclock_compare(&bad, &bad, &o), UT_EINVAL); /* equal lengths, too long */
    assert_int_equal(ut_vclock_merge(&c, &bad), UT_EINVAL);
    assert_int_equal(ut_vclock_increment(&bad, 1), UT_EINVAL);
    assert_int_equal(ut_vclock_get(&bad, 1), 0);
    ut_vclock_t unsorted;
    assert_int_equal(ut_vclock_init(&unsorted), UT_OK);
    unsorted.n = 2;
    unsorted.e[0] = (ut_vclock_entry_t){5, 1};
    unsorted.e[1] = (ut_vclock_entry_t){3, 1};
    assert_int_equal(ut_vclock_compare(&unsorted, &c, &o), UT_EINVAL);
    assert_int_equal(ut_vclock_compare(&unsorted, &unsorted, &o), UT_EINVAL); /* same nodes */
    unsorted.e[1] = (ut_vclock_entry_t){7, 0};                                /* zero counter */
    assert_int_equal(ut_vclock_compare(&unsorted, &unsorted, &o), UT_EINVAL);
    assert_int_equal(ut_vclock_compare(&unsorted, &c, &o), UT_EINVAL);
    assert_int_equal(ut_vclock_compare(&c, &c, NULL), UT_EINVAL);
    assert_int_equal(ut_vclock_merge(NULL, &c), UT_EINVAL);
    assert_string_equal(ut_clock_order_name(UT_CLOCK_CONCURRENT), "concurrent");
    assert_string_equal(ut_clock_order_name(UT_CLOCK_BEFORE), "before");
    assert_string_equal(ut_clock_order_name(UT_CLOCK_AFTER), "after");
    assert_string_equal(ut_clock_order_name(UT_CLOCK_EQUAL), "equal");
    assert_string_equal(ut_clock_order_name((ut_clock_order_t)9), "?");
}

/* clock.h: compare assumes nothing of its clocks. Clocks shaped for the
 * vector path (one length, the same nodes, 1 to 64 entries) but malformed
 * in any one entry, in a or in b, whichever chunk or lane it falls in, are
 * refused with UT_EINVAL and *out left alone; the same clocks repaired are
 * compared. */
static void test_vclock_compare_refuses_malformed_same_shape(void **state)
{
    (void)state;
    for (uint32_t n = 1; n <= UT_VCLOCK_MAX; n++) {
        ut_vclock_t a, b;
        assert_int_equal(ut_vclock_init(&a), UT_OK);
        for (uint32_t i = 0; i < n; i++)
            for (uint32_t k = 0; k <= i % 3; k++)
                assert_int_equal(ut_vclock_increment(&a, 10 * (i + 1)), UT_OK);
        b = a;
        ut_clock_order_t o = UT_CLOCK_CONCURRENT;
        assert_int_equal(ut_vclock_compare(&a, &b, &o), UT_OK);
        assert_int_equal(o, UT_CLOCK_EQUAL);
        for (uint32_t i = 0; i < n; i++) {
            for (int kind = 0; kind < 4; kind++) {
                for (int side = 0; side < 2; side++) {
                    ut_vclock_t x = a, y = b;
                    ut_vclock_t *c = side ? &y : &x;
                    switch (kind) {
                    case 0:
                        c->e[i].counter = 0;
                        break;
                    case 1: /* the node of the entry before: not ascending */
                        c->e[i].node = i > 0 ? c->e[i - 1].node : 0;
                        if (side == 0)
                            y.e[i].node = x.e[i].node; /* same nodes: the vector path */
                        else
                            x.e[i].node = y.e[i].node;
                        break;
                    case 2: /* above the next node */
                        c->e[i].node = i + 1 < n ? c->e[i + 1].node + 1 : 0;
                        if (side == 0)
                            y.e[i].node = x.e[i].node;
                        else
                            x.e[i].node = y.e[i].node;
                        break;
                    default: /* a node beyond 2^63: the next is below it (the last: counter 0) */
                        c->e[i].node = UINT64_MAX - i;
                        if (i + 1 == n)
                            c->e[i].counter = 0;
                        if (side == 0)
                            y.e[i].node = x.e[i].node;
                        else
                            x.e[i].node = y.e[i].node;
                        break;
                    }
                    o = UT_CLOCK_CONCURRENT;
                    assert_int_equal(ut_vclock_compare(&x, &y, &o), UT_EINVAL);
                    assert_int_equal(ut_vclock_compare(&y, &x, &o), UT_EINVAL);
                    assert_int_equal(o, UT_CLOCK_CONCURRENT);
                }
            }
        }
    }
}

/* The Riak scenario: two clients write one key through one coordinator,
 * each with the context of its own last read. Per-server version vectors
 * make every write a new sibling; dotted version vectors keep at most one
 * sibling per concurrent client (Almeida et al. 2014, §2). */
static void test_dvv_two_clients_one_coordinator(void **state)
{
    (void)state;
    ut_dvv_t key;
    assert_int_equal(ut_dvv_init(&key), UT_OK);
    ut_vclock_t ctx_a, ctx_b;
    assert_int_equal(ut_vclock_init(&ctx_a), UT_OK);
    assert_int_equal(ut_vclock_init(&ctx_b), UT_OK);
    for (uint64_t round = 0; round < 100; round++) {
        ut_dot_t dot;
        assert_int_equal(ut_dvv_put(&key, &ctx_a, 7, round * 2, &dot), UT_OK);
        assert_int_equal(dot.node, 7);
        ctx_a = key.past; /* client A reads back what it wrote (read-your-writes) */
        assert_int_equal(ut_dvv_put(&key, &ctx_b, 7, round * 2 + 1, NULL), UT_OK);
        ctx_b = key.past;
        assert_true(key.n <= 2);
    }
    assert_int_equal(key.n, 2); /* the two concurrent last writes */
    assert_int_equal(ut_vclock_get(&key.past, 7), 200);
    /* A read of both siblings then a write with that context resolves them. */
    ut_vclock_t ctx = key.past;
    assert_int_equal(ut_dvv_put(&key, &ctx, 7, 999, NULL), UT_OK);
    assert_int_equal(key.n, 1);
    assert_int_equal(key.s[0].value, 999);
}

static void test_dvv_sync_and_errors(void **state)
{
    (void)state;
    ut_dvv_t r1, r2, before;
    ut_vclock_t empty;
    assert_int_equal(ut_vclock_init(&empty), UT_OK);
    assert_int_equal(ut_dvv_init(&r1), UT_OK);
    assert_int_equal(ut_dvv_init(&r2), UT_OK);
    assert_int_equal(ut_dvv_put(&r1, &empty, 1, 10, NULL), UT_OK);
    r2 = r1; /* replicated */
    ut_vclock_t ctx = r1.past;
    assert_int_equal(ut_dvv_put(&r1, &ctx, 1, 11, NULL), UT_OK);   /* overwrites 10 */
    assert_int_equal(ut_dvv_put(&r2, &empty, 2, 20, NULL), UT_OK); /* concurrent with all */
    assert_int_equal(ut_dvv_sync(&r1, &r2), UT_OK);
    /* 10 was overwritten on r1: gone. 11 and 20 are concurrent: both stay. */
    assert_int_equal(r1.n, 2);
    uint64_t vals = r1.s[0].value + r1.s[1].value;
    assert_int_equal(vals, 31);
    assert_int_equal(ut_dvv_sync(&r2, &r1), UT_OK);
    assert_int_equal(r2.n, 2);
    /* Sync is idempotent. */
    before = r1;
    assert_int_equal(ut_dvv_sync(&r1, &r1), UT_OK);
    assert_int_equal(r1.n, before.n);

    /* Errors leave the key unchanged. */
    before = r1;
    ut_vclock_t ahead = r1.past;
    assert_int_equal(ut_vclock_increment(&ahead, 99), UT_OK);
    assert_int_equal(ut_dvv_put(&r1, &ahead, 1, 5, NULL), UT_EINVAL);
    assert_int_equal(ut_dvv_put(&r1, &empty, 0, 5, NULL), UT_EINVAL);
    assert_int_equal(ut_dvv_put(NULL, &empty, 1, 5, NULL), UT_EINVAL);
    assert_int_equal(ut_dvv_put(&r1, NULL, 1, 5, NULL), UT_EINVAL);
    assert_memory_equal(&r1, &before, sizeof r1);
    /* Bounded: blind writes (empty context) from many coordinators fill the
     * sibling table and the next one is refused, not grown. */
    ut_dvv_t many;
    assert_int_equal(ut_dvv_init(&many), UT_OK);
    for (uint64_t i = 1; i <= UT_DVV_MAX_SIBLINGS; i++)
        assert_int_equal(ut_dvv_put(&many, &empty, i, i, NULL), UT_OK);
    before = many;
    assert_int_equal(ut_dvv_put(&many, &empty, 1, 0, NULL), UT_EFULL);
    assert_memory_equal(&many, &before, sizeof many);
    ut_dvv_t bad = r1;
    bad.s[0].dot.counter = 1000; /* outside its past */
    assert_int_equal(ut_dvv_sync(&r2, &bad), UT_EINVAL);
    assert_int_equal(ut_dvv_init(NULL), UT_EINVAL);
    assert_int_equal(ut_dvv_sync(NULL, &r1), UT_EINVAL);
}

/* HLC: (state l.c, pt, remote) -> (l'.c') per Kulkarni et al. 2014, Fig. 5. */
typedef struct hlc_case {
    uint64_t l, c, pt;
    int recv; /* 0: now(), 1: update() */
    uint64_t rl, rc;
    int rc_want;
    uint64_t l2, c2;
} hlc_case_t;

static const hlc_case_t hlc_cases[] = {
    {0, 0, 10, 0, 0, 0, UT_OK, 10, 0},        /* physical moves on: c = 0 */
    {10, 0, 10, 0, 0, 0, UT_OK, 10, 1},       /* same ms: c + 1 */
    {10, 5, 8, 0, 0, 0, UT_OK, 10, 6},        /* physical behind: keep l */
    {10, 5, 20, 1, 15, 3, UT_OK, 20, 0},      /* pt wins */
    {10, 5, 12, 1, 15, 3, UT_OK, 15, 4},      /* remote wins: cm + 1 */
    {15, 5, 12, 1, 15, 3, UT_OK, 15, 6},      /* tie l = lm: max(c, cm) + 1 */
    {15, 2, 12, 1, 15, 9, UT_OK, 15, 10},     /* tie, remote counter larger */
    {15, 2, 12, 1, 11, 9, UT_OK, 15, 3},      /* local wins: c + 1 */
    {10, 0, 10, 1, 600, 0, UT_ERANGE, 10, 0}, /* remote 590 ms ahead > 500 */
    {10, 0, 10, 1, 510, 0, UT_OK, 510, 1},    /* exactly the max offset: accepted */
    {10, 0xffff, 10, 0, 0, 0, UT_ERANGE, 10, 0xffff},
    {10, 0, 10, 1, 10, 0xffff, UT_ERANGE, 10, 0},
    {0, 0, UT_HLC_PHYSICAL_MAX + 1, 0, 0, 0, UT_ERANGE, 0, 0},
};

static void test_hlc_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof hlc_cases / sizeof hlc_cases[0]; i++) {
        const hlc_case_t *k = &hlc_cases[i];
        ut_hlc_t h;
        assert_int_equal(ut_hlc_init(&h, 500), UT_OK);
        h.l = k->l;
        h.c = (uint32_t)k->c;
        uint64_t out = 12345, remote = k->rl << 16 | k->rc;
        int rc = k->recv ? ut_hlc_update(&h, k->pt, remote, &out) : ut_hlc_now(&h, k->pt, &out);
        assert_int_equal(rc, k->rc_want);
        assert_int_equal(h.l, k->l2);
        assert_int_equal(h.c, k->c2);
        if (rc == UT_OK) {
            assert_int_equal(out, k->l2 << 16 | k->c2);
            assert_int_equal(ut_hlc_physical(out), k->l2);
            assert_int_equal(ut_hlc_logical(out), k->c2);
            if (k->recv)
                assert_true(out > remote);
        } else {
            assert_int_equal(out, 12345);
        }
    }
    ut_hlc_t h;
    uint64_t out;
    assert_int_equal(ut_hlc_init(NULL, 1), UT_EINVAL);
    assert_int_equal(ut_hlc_init(&h, 1), UT_OK);
    assert_int_equal(ut_hlc_now(NULL, 1, &out), UT_EINVAL);
    assert_int_equal(ut_hlc_now(&h, 1, NULL), UT_EINVAL);
    assert_int_equal(ut_hlc_update(NULL, 1, 0, &out), UT_EINVAL);
    assert_int_equal(ut_hlc_update(&h, 1, 0, NULL), UT_EINVAL);
    assert_int_equal(ut_hlc_update(&h, UT_HLC_PHYSICAL_MAX + 1, 0, &out), UT_ERANGE);
}

static void test_hlc_monotone_under_skew(void **state)
{
    (void)state;
    /* Two nodes, node b's clock 30 ms behind, messaging each other: every
     * timestamp exceeds the previous one at its node and the one received. */
    ut_hlc_t a, b;
    assert_int_equal(ut_hlc_init(&a, 100), UT_OK);
    assert_int_equal(ut_hlc_init(&b, 100), UT_OK);
    uint64_t last_a = 0, last_b = 0;
    for (uint64_t t = 1000; t < 1200; t++) {
        uint64_t ta, tb;
        assert_int_equal(ut_hlc_now(&a, t, &ta), UT_OK);
        assert_true(ta > last_a);
        assert_int_equal(ut_hlc_update(&b, t - 30, ta, &tb), UT_OK);
        assert_true(tb > ta && tb > last_b);
        last_b = tb;
        assert_int_equal(ut_hlc_update(&a, t, tb, &ta), UT_OK);
        assert_true(ta > tb);
        last_a = ta;
        /* HLC stays within the offset of physical time (paper, Theorem 2). */
        assert_true(ut_hlc_physical(tb) - (t - 30) <= 30);
    }
}

typedef struct cons_case {
    ut_consistency_t level;
    uint32_t r, w, n;
    int want;
} cons_case_t;

static const cons_case_t cons_cases[] = {
    {UT_CONSISTENCY_ONE, 1, 1, 3, UT_OK},
    {UT_CONSISTENCY_QUORUM, 2, 2, 3, UT_OK},
    {UT_CONSISTENCY_QUORUM, 1, 2, 3, UT_EINVAL},
    {UT_CONSISTENCY_QUORUM, 2, 2, 4, UT_EINVAL}, /* floor(4/2)+1 = 3 */
    {UT_CONSISTENCY_QUORUM, 3, 3, 4, UT_OK},
    {UT_CONSISTENCY_ALL, 3, 3, 3, UT_OK},
    {UT_CONSISTENCY_ALL, 3, 2, 3, UT_EINVAL},
    {UT_CONSISTENCY_STRONG, 1, 3, 3, UT_OK},     /* read one, write all */
    {UT_CONSISTENCY_STRONG, 2, 1, 3, UT_EINVAL}, /* R + W = N */
    {UT_CONSISTENCY_STRONG, 3, 1, 3, UT_EINVAL}, /* W <= N/2 */
    {UT_CONSISTENCY_STRONG, 2, 2, 3, UT_OK},
    {UT_CONSISTENCY_LINEARIZABLE, 2, 2, 3, UT_OK},
    {UT_CONSISTENCY_LINEARIZABLE, 1, 3, 3, UT_EINVAL}, /* R not a majority */
    {UT_CONSISTENCY_LINEARIZABLE, 1, 1, 3, UT_EINVAL},
    {UT_CONSISTENCY_EVENTUAL, 1, 1, 5, UT_OK},
    {UT_CONSISTENCY_CAUSAL, 1, 1, 5, UT_OK},
    {UT_CONSISTENCY_ONE, 0, 1, 3, UT_EINVAL},
    {UT_CONSISTENCY_ONE, 1, 4, 3, UT_EINVAL},
    {UT_CONSISTENCY_ONE, 1, 1, 0, UT_EINVAL},
    {(ut_consistency_t)42, 1, 1, 3, UT_EINVAL},
};

static void test_consistency_check_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cons_cases / sizeof cons_cases[0]; i++) {
        const cons_case_t *c = &cons_cases[i];
        assert_int_equal(ut_consistency_check(c->level, c->r, c->w, c->n), c->want);
        const char *why = ut_consistency_why(c->level, c->r, c->w, c->n);
        assert_non_null(why);
        assert_int_equal(strcmp(why, "ok") == 0, c->want == UT_OK);
    }
    assert_string_equal(ut_consistency_why(UT_CONSISTENCY_STRONG, 1, 1, 3),
                        "strong: R + W <= N, a read may miss the last write");
}

static void test_consistency_counts(void **state)
{
    (void)state;
    /* The counts each level asks for give that level, for N = 1..9. */
    for (uint32_t n = 1; n <= 9; n++) {
        for (int l = UT_CONSISTENCY_STRONG; l <= UT_CONSISTENCY_ALL; l++) {
            uint32_t r = 0, w = 0;
            assert_int_equal(ut_consistency_counts((ut_consistency_t)l, n, &r, &w), UT_OK);
            assert_int_equal(ut_consistency_check((ut_consistency_t)l, r, w, n), UT_OK);
        }
    }
    uint32_t r = 7, w = 7;
    assert_int_equal(ut_consistency_counts(UT_CONSISTENCY_QUORUM, 5, &r, &w), UT_OK);
    assert_int_equal(r, 3);
    assert_int_equal(w, 3);
    assert_int_equal(ut_consistency_counts(UT_CONSISTENCY_ALL, 5, &r, &w), UT_OK);
    assert_int_equal(r, 5);
    r = w = 7;
    assert_int_equal(ut_consistency_counts(UT_CONSISTENCY_ONE, 0, &r, &w), UT_EINVAL);
    assert_int_equal(ut_consistency_counts((ut_consistency_t)99, 3, &r, &w), UT_EINVAL);
    assert_int_equal(ut_consistency_counts(UT_CONSISTENCY_ONE, 3, NULL, &w), UT_EINVAL);
    assert_int_equal(r, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vclock_compare_table),
        cmocka_unit_test(test_vclock_merge_disjoint_and_get),
        cmocka_unit_test(test_vclock_errors_leave_unchanged),
        cmocka_unit_test(test_vclock_compare_refuses_malformed_same_shape),
        cmocka_unit_test(test_dvv_two_clients_one_coordinator),
        cmocka_unit_test(test_dvv_sync_and_errors),
        cmocka_unit_test(test_hlc_table),
        cmocka_unit_test(test_hlc_monotone_under_skew),
        cmocka_unit_test(test_consistency_check_table),
        cmocka_unit_test(test_consistency_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
