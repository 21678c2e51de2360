/* SPDX-License-Identifier: MIT */
/* The vector-clock compare's fast path (src/replica/vclock_fast.h), white
 * box: every version compiled here (scalar; SSE2 and, where the CPU has
 * them, AVX2 and AVX-512F on x86), the exact walk the fast path falls back
 * to and the public ut_vclock_compare are held to one reference on clocks built to hit the fast
 * path and on clocks mutated at the edges of its ranges (0, 2^63 - 1, 2^63, 2^63 + 1, UINT64_MAX,
 * out of order, nodes that differ). A fast version may decline (-1) but never answer otherwise than
 * the reference, and it must answer (not decline) every well-formed pair of same-node clocks whose
 * values are below 2^62, so that the speed-up is what the tests exercise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "replica/vclock_fast.h"
#include <unitypes.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The reference: clock.h's definition, written plainly. */
static bool ref_ok(const ut_vclock_t *c)
{
    if (c->n > UT_VCLOCK_MAX)
        return false;
    for (uint32_t i = 0; i < c->n; i++)
        if (c->e[i].node == 0 || c->e[i].counter == 0 ||
            (i > 0 && c->e[i].node <= c->e[i - 1].node))
            return false;
    return true;
}

static uint64_t ref_get(const ut_vclock_t *c, uint64_t node)
{
    for (uint32_t i = 0; i < c->n; i++)
        if (c->e[i].node == node)
            return c->e[i].counter;
    return 0;
}

static int ref_compare(const ut_vclock_t *a, const ut_vclock_t *b, ut_clock_order_t *out)
{
    if (!ref_ok(a) || !ref_ok(b))
        return UT_EINVAL;
    bool lt = false, gt = false;
    for (int side = 0; side < 2; side++) {
        const ut_vclock_t *c = side ? b : a;
        for (uint32_t i = 0; i < c->n; i++) {
            uint64_t x = ref_get(a, c->e[i].node), y = ref_get(b, c->e[i].node);
            lt |= x < y;
            gt |= x > y;
        }
    }
    *out =
        lt ? (gt ? UT_CLOCK_CONCURRENT : UT_CLOCK_BEFORE) : (gt ? UT_CLOCK_AFTER : UT_CLOCK_EQUAL);
    return UT_OK;
}

static bool same_nodes(const ut_vclock_t *a, const ut_vclock_t *b)
{
    if (a->n != b->n)
        return false;
    for (uint32_t i = 0; i < a->n; i++)
        if (a->e[i].node != b->e[i].node)
            return false;
    return true;
}

typedef int (*fast_fn)(const ut_vclock_entry_t *, const ut_vclock_entry_t *, uint32_t);

/* How often each order was the answer, so that a test can show it met all
 * four (a generator stuck on one order would prove little). */
static unsigned long seen[4];

static const uint64_t edges[] = {0,
                                 1,
                                 2,
                                 (UINT64_C(1) << 62) - 1,
                                 UINT64_C(1) << 62,
                                 (UINT64_C(1) << 63) - 2,
                                 (UINT64_C(1) << 63) - 1,
                                 UINT64_C(1) << 63,
                                 (UINT64_C(1) << 63) + 1,
                                 UINT64_MAX - 1,
                                 UINT64_MAX};

static uint64_t edge_or_random(void)
{
    uint64_t r = rnd();
    return r % 3 == 0 ? rnd() : edges[(r >> 8) % (sizeof edges / sizeof edges[0])];
}

/* Two same-node clocks of n entries, values below 2^62 (well formed). */
static void make_pair(ut_vclock_t *a, ut_vclock_t *b, uint32_t n)
{
    memset(a, 0, sizeof *a);
    memset(b, 0, sizeof *b);
    a->n = b->n = n;
    uint64_t node = 0;
    for (uint32_t i = 0; i < n; i++) {
        node += 1 + rnd() % (rnd() % 2 ? 3 : (UINT64_C(1) << 55));
        a->e[i].node = b->e[i].node = node;
        uint64_t c = 1 + rnd() % (rnd() % 2 ? 4 : (UINT64_C(1) << 61));
        a->e[i].counter = c;
        /* b: mostly equal, sometimes ahead or behind */
        uint64_t k = rnd() % 8;
        b->e[i].counter = k == 0 && c > 1 ? c - 1 : k == 1 ? c + 1 + rnd() % 5 : c;
    }
}

/* Hit one entry of a or b with an edge value, a swap or another node. */
static void mutate(ut_vclock_t *a, ut_vclock_t *b)
{
    ut_vclock_t *c = rnd() % 2 ? a : b;
    if (c->n == 0)
        return;
    uint32_t i = (uint32_t)(rnd() % c->n);
    switch (rnd() % 4) {
    case 0:
        c->e[i].node = edge_or_random();
        break;
    case 1:
        c->e[i].counter = edge_or_random();
        break;
    case 2:
        if (c->n > 1) {
            uint32_t j = (uint32_t)(rnd() % c->n);
            ut_vclock_entry_t t = c->e[i];
            c->e[i] = c->e[j];
            c->e[j] = t;
        }
        break;
    default:
        c->e[i].node += rnd() % 2 ? 1 : UINT64_MAX; /* a neighbour: may collide */
        break;
    }
}

static void check_case(const ut_vclock_t *a, const ut_vclock_t *b, const fast_fn *fns, size_t nf,
                       bool must_answer)
{
    ut_clock_order_t want = UT_CLOCK_EQUAL, got = UT_CLOCK_EQUAL, walked = UT_CLOCK_EQUAL;
    int rc = ref_compare(a, b, &want);
    assert_int_equal(ut_vclock_compare(a, b, &got), rc);
    assert_int_equal(ut__replica_vc_walk(a, b, &walked), rc);
    if (rc == UT_OK) {
        assert_int_equal(got, want);
        assert_int_equal(walked, want);
        seen[want]++;
    }
    if (a->n != b->n || a->n > UT_VCLOCK_MAX)
        return;
    for (size_t f = 0; f < nf; f++) {
        int o = fns[f](a->e, b->e, a->n);
        if (rc != UT_OK || !same_nodes(a, b))
            assert_int_equal(o, -1); /* malformed or other nodes: never answered */
        else if (o != -1)
            assert_int_equal(o, (int)want);
        if (must_answer)
            assert_int_not_equal(o, -1);
    }
}

static size_t fast_versions(fast_fn *fns)
{
    size_t nf = 0;
    fns[nf++] = ut__replica_vc_same_scalar;
#if UT__VC_X86
    fns[nf++] = ut__replica_vc_same_sse2;
    if (ut__replica_vc_have_avx2())
        fns[nf++] = ut__replica_vc_same_avx2;
    if (ut__replica_vc_have_avx512())
        fns[nf++] = ut__replica_vc_same_avx512;
#endif
    return nf;
}

static void test_fast_path_answers_well_formed(void **state)
{
    (void)state;
    fast_fn fns[4];
    size_t nf = fast_versions(fns);
    ut_vclock_t a, b;
    memset(seen, 0, sizeof seen);
    for (int it = 0; it < 20000; it++) {
        uint32_t n = (uint32_t)(rnd() % (UT_VCLOCK_MAX + 1));
        make_pair(&a, &b, n);
        check_case(&a, &b, fns, nf, true);
        check_case(&b, &a, fns, nf, true);
    }
    for (int o = 0; o < 4; o++)
        assert_true(seen[o] > 1000);
}

static void test_fast_path_declines_what_it_cannot_prove(void **state)
{
    (void)state;
    fast_fn fns[4];
    size_t nf = fast_versions(fns);
    ut_vclock_t a, b;
    for (int it = 0; it < 200000; it++) {
        uint32_t n = (uint32_t)(rnd() % 12 == 0 ? rnd() % (UT_VCLOCK_MAX + 1) : 1 + rnd() % 9);
        make_pair(&a, &b, n);
        int hits = 1 + (int)(rnd() % 3);
        for (int k = 0; k < hits; k++)
            mutate(&a, &b);
        check_case(&a, &b, fns, nf, false);
    }
}

static void test_fast_path_edges(void **state)
{
    (void)state;
    fast_fn fns[4];
    size_t nf = fast_versions(fns);
    /* Every pair of edge values as one entry's node and counters, and as
     * the second entry after a first at (1, 1). */
    const size_t ne = sizeof edges / sizeof edges[0];
    for (size_t x = 0; x < ne; x++)
        for (size_t y = 0; y < ne; y++)
            for (size_t z = 0; z < ne; z++) {
                ut_vclock_t a, b;
                memset(&a, 0, sizeof a);
                memset(&b, 0, sizeof b);
                a.n = b.n = 1;
                a.e[0] = (ut_vclock_entry_t){edges[x], edges[y]};
                b.e[0] = (ut_vclock_entry_t){edges[x], edges[z]};
                check_case(&a, &b, fns, nf, false);
                b.e[0].node = edges[z];
                check_case(&a, &b, fns, nf, false);
                a.n = b.n = 2;
                a.e[0] = b.e[0] = (ut_vclock_entry_t){1, 1};
                a.e[1] = (ut_vclock_entry_t){edges[x], edges[y]};
                b.e[1] = (ut_vclock_entry_t){edges[x], edges[z]};
                check_case(&a, &b, fns, nf, false);
                a.e[0].node = edges[z]; /* first node against an edge */
                b.e[0].node = edges[z];
                check_case(&a, &b, fns, nf, false);
            }
}

/* Clocks built through the public functions from random events on random
 * subsets of 12 nodes: mostly different node sets and sizes (the walk),
 * sometimes the same (the fast path); every answer the reference's, and
 * all four orders met. */
static void test_compare_built_clocks(void **state)
{
    (void)state;
    fast_fn fns[4];
    size_t nf = fast_versions(fns);
    memset(seen, 0, sizeof seen);
    for (int it = 0; it < 20000; it++) {
        ut_vclock_t a, b;
        ut_vclock_init(&a);
        int events = 1 + (int)(rnd() % 16);
        for (int k = 0; k < events; k++)
            assert_int_equal(ut_vclock_increment(&a, 1 + rnd() % 12), UT_OK);
        b = a;
        /* b: a copy, then (maybe) its own events and a's later ones */
        int mine = (int)(rnd() % 3), theirs = (int)(rnd() % 3);
        for (int k = 0; k < mine; k++)
            assert_int_equal(ut_vclock_increment(&b, 1 + rnd() % 12), UT_OK);
        for (int k = 0; k < theirs; k++)
            assert_int_equal(ut_vclock_increment(&a, 1 + rnd() % 12), UT_OK);
        if (rnd() % 4 == 0)
            assert_int_equal(ut_vclock_merge(&b, &a), UT_OK);
        check_case(&a, &b, fns, nf, false);
        check_case(&b, &a, fns, nf, false);
    }
    for (int o = 0; o < 4; o++)
        assert_true(seen[o] > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fast_path_answers_well_formed),
        cmocka_unit_test(test_fast_path_declines_what_it_cannot_prove),
        cmocka_unit_test(test_fast_path_edges),
        cmocka_unit_test(test_compare_built_clocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
