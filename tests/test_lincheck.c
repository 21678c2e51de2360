/* SPDX-License-Identifier: MIT */
/* The simulator's linearizability checker (tools/sim/lincheck.c) on
 * hand-made histories with known verdicts, and on a large generated one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sim/lincheck.h"
#include "sim/rng.h"

#define INF LC_INF

static lc_op_t put(uint32_t c, uint32_t k, int64_t v, uint64_t a, uint64_t b, lc_outcome_t o)
{
    lc_op_t op = {.invoke = a,
                  .response = b,
                  .key = k,
                  .client = c,
                  .kind = LC_PUT,
                  .outcome = (uint8_t)o,
                  .value = v};
    return op;
}

static lc_op_t get(uint32_t c, uint32_t k, int64_t v, uint64_t a, uint64_t b)
{
    lc_op_t op = {.invoke = a,
                  .response = b,
                  .key = k,
                  .client = c,
                  .kind = LC_GET,
                  .outcome = LC_OK,
                  .value = v};
    return op;
}

static lc_op_t cas(uint32_t c, uint32_t k, int64_t exp, int64_t v, bool swapped, uint64_t a,
                   uint64_t b, lc_outcome_t o)
{
    lc_op_t op = {.invoke = a,
                  .response = b,
                  .key = k,
                  .client = c,
                  .kind = LC_CAS,
                  .outcome = (uint8_t)o,
                  .cas_ok = swapped,
                  .value = v,
                  .expected = exp};
    return op;
}

static lc_verdict_t verdict(const lc_op_t *h, size_t n)
{
    lc_result_t r;
    assert_int_equal(lc_check(h, n, 0, &r), 0);
    return r.verdict;
}

#define CHECK(h, v) assert_int_equal(verdict((h), sizeof(h) / sizeof((h)[0])), (v))

static void test_empty_and_sequential(void **state)
{
    (void)state;
    lc_result_t r;
    assert_int_equal(lc_check(NULL, 0, 0, &r), 0);
    assert_int_equal(r.verdict, LC_LINEARIZABLE);
    lc_op_t h[] = {
        get(1, 0, 0, 0, 5),
        put(1, 0, 7, 10, 20, LC_OK),
        get(2, 0, 7, 30, 40),
        cas(1, 0, 7, 8, true, 50, 60, LC_OK),
        cas(2, 0, 7, 9, false, 70, 80, LC_OK),
        get(1, 0, 8, 90, 95),
    };
    CHECK(h, LC_LINEARIZABLE);
}

static void test_concurrent_reads_see_old_or_new(void **state)
{
    (void)state;
    /* put(1) spans [10, 50]; reads inside may see 0 or 1, but once one read
     * sees 1 a later (non-overlapping) read cannot see 0. */
    lc_op_t ok[] = {
        put(1, 0, 1, 10, 50, LC_OK), get(2, 0, 0, 15, 20), get(3, 0, 1, 16, 25),
        get(2, 0, 0, 14, 30), /* overlaps the read of 1: may precede it */
    };
    CHECK(ok, LC_LINEARIZABLE);
    lc_op_t bad[] = {
        put(1, 0, 1, 10, 50, LC_OK),
        get(2, 0, 1, 15, 20),
        get(3, 0, 0, 25, 30),
    };
    CHECK(bad, LC_VIOLATION);
}

static void test_stale_read_is_caught(void **state)
{
    (void)state;
    lc_op_t h[] = {
        put(1, 0, 1, 0, 10, LC_OK),
        put(1, 0, 2, 20, 30, LC_OK),
        get(2, 0, 1, 40, 50),
    };
    lc_result_t r;
    assert_int_equal(lc_check(h, 3, 0, &r), 0);
    assert_int_equal(r.verdict, LC_VIOLATION);
    assert_int_equal(r.key, 0);
}

static void test_lost_write_is_caught(void **state)
{
    (void)state;
    lc_op_t h[] = {
        put(1, 3, 5, 0, 10, LC_OK),
        get(2, 3, 0, 20, 30),
    };
    CHECK(h, LC_VIOLATION);
    /* Two acknowledged increments via CAS where the second read misses one. */
    lc_op_t h2[] = {
        cas(1, 1, 0, 1, true, 0, 10, LC_OK),
        cas(2, 1, 1, 2, true, 5, 20, LC_OK),
        get(3, 1, 1, 30, 40),
    };
    CHECK(h2, LC_VIOLATION);
}

static void test_duplicated_write_is_caught(void **state)
{
    (void)state;
    /* put(1) applied twice: 1 reappears after 2 overwrote it. */
    lc_op_t h[] = {
        put(1, 0, 1, 0, 10, LC_OK),
        put(2, 0, 2, 20, 30, LC_OK),
        get(3, 0, 2, 40, 50),
        get(3, 0, 1, 60, 70),
    };
    CHECK(h, LC_VIOLATION);
    /* ...but if the first put is still in flight (unknown), it may land late. */
    lc_op_t h2[] = {
        put(1, 0, 1, 0, INF, LC_UNKNOWN),
        put(2, 0, 2, 20, 30, LC_OK),
        get(3, 0, 2, 40, 50),
        get(3, 0, 1, 60, 70),
    };
    CHECK(h2, LC_LINEARIZABLE);
    /* An unknown write can land once, not twice. */
    lc_op_t h3[] = {
        put(1, 0, 1, 0, INF, LC_UNKNOWN),
        get(3, 0, 1, 10, 15),
        put(2, 0, 2, 20, 30, LC_OK),
        get(3, 0, 2, 40, 50),
        get(3, 0, 1, 60, 70),
    };
    CHECK(h3, LC_VIOLATION);
}

static void test_cas_anomalies_are_caught(void **state)
{
    (void)state;
    /* Two swaps from the same expected value cannot both succeed. */
    lc_op_t h[] = {
        cas(1, 0, 0, 1, true, 0, 100, LC_OK),
        cas(2, 0, 0, 2, true, 0, 100, LC_OK),
    };
    CHECK(h, LC_VIOLATION);
    /* A failed comparison must have seen a different value. */
    lc_op_t h2[] = {
        cas(1, 0, 0, 1, false, 0, 10, LC_OK),
    };
    CHECK(h2, LC_VIOLATION);
    /* A swap whose effect is never visible. */
    lc_op_t h3[] = {
        cas(1, 0, 0, 5, true, 0, 10, LC_OK),
        get(2, 0, 0, 20, 30),
    };
    CHECK(h3, LC_VIOLATION);
    /* Concurrent swaps that chain are fine. */
    lc_op_t ok[] = {
        cas(1, 0, 0, 1, true, 0, 100, LC_OK),
        cas(2, 0, 1, 2, true, 0, 100, LC_OK),
        cas(3, 0, 0, 9, false, 0, 100, LC_OK),
        get(4, 0, 2, 110, 120),
    };
    CHECK(ok, LC_LINEARIZABLE);
}

/* A refused compare-and-set that reports the value it saw: a stale value is
 * caught, which "not the expected value" alone could not show. */
static void test_refused_cas_seen_value(void **state)
{
    (void)state;
    lc_op_t h[] = {
        put(1, 0, 5, 0, 10, LC_OK),
        put(1, 0, 6, 20, 30, LC_OK),
        cas(2, 0, 9, 1, false, 40, 50, LC_OK),
    };
    CHECK(h, LC_LINEARIZABLE); /* saw something other than 9: fine */
    h[2].seen_known = true;
    h[2].seen = 6;
    CHECK(h, LC_LINEARIZABLE); /* saw the current value */
    h[2].seen = 5;
    CHECK(h, LC_VIOLATION); /* a stale value, after 6 was written */
    h[2].seen = 9;
    CHECK(h, LC_VIOLATION); /* saw the expected value yet refused */
    char buf[160];
    lc_op_describe(&h[2], buf, sizeof buf);
    assert_non_null(strstr(buf, "not-swapped saw 9"));
    /* What a refused CAS saw makes an unknown write that wrote it certain. */
    lc_op_t u[] = {
        put(1, 0, 7, 0, INF, LC_UNKNOWN),
        cas(2, 0, 3, 4, false, 10, 20, LC_OK),
        get(3, 0, 0, 30, 40),
    };
    u[1].seen_known = true;
    u[1].seen = 7;
    CHECK(u, LC_VIOLATION); /* 7 was there at 20, gone at 30 with no writer */
    u[2].value = 7;
    CHECK(u, LC_LINEARIZABLE);
    /* An unknown write nobody saw can be dropped even with a refused CAS
     * around, once that CAS says what it saw. */
    lc_op_t d[] = {
        put(1, 0, 7, 0, INF, LC_UNKNOWN),
        cas(2, 0, 7, 4, false, 10, 20, LC_OK),
        get(3, 0, 0, 30, 40),
    };
    d[1].seen_known = true;
    d[1].seen = 0;
    CHECK(d, LC_LINEARIZABLE);
}

static void test_unknown_and_failed_outcomes(void **state)
{
    (void)state;
    /* Unknown put never observed: fine (it may never have happened). */
    lc_op_t h[] = {
        put(1, 0, 5, 0, INF, LC_UNKNOWN),
        get(2, 0, 0, 100, 110),
    };
    CHECK(h, LC_LINEARIZABLE);
    /* Unknown put observed late: fine. */
    lc_op_t h2[] = {
        put(1, 0, 5, 0, INF, LC_UNKNOWN),
        get(2, 0, 0, 100, 110),
        get(2, 0, 5, 200, 210),
    };
    CHECK(h2, LC_LINEARIZABLE);
    /* Observed before its invocation: impossible. */
    lc_op_t h3[] = {
        get(2, 0, 5, 0, 10),
        put(1, 0, 5, 20, INF, LC_UNKNOWN),
    };
    CHECK(h3, LC_VIOLATION);
    /* A failed put did not take effect: seeing it is a violation. */
    lc_op_t h4[] = {
        put(1, 0, 9, 0, 10, LC_FAILED),
        get(2, 0, 9, 20, 30),
    };
    CHECK(h4, LC_VIOLATION);
    lc_op_t h5[] = {
        put(1, 0, 9, 0, 10, LC_FAILED),
        get(2, 0, 0, 20, 30),
    };
    CHECK(h5, LC_LINEARIZABLE);
    /* Unknown CAS may land after a later put's value was read... only if
     * its expected value held: 0 -> 7 cannot apply on top of 3. */
    lc_op_t h6[] = {
        cas(1, 0, 0, 7, false, 0, INF, LC_UNKNOWN),
        put(2, 0, 3, 10, 20, LC_OK),
        get(2, 0, 3, 30, 40),
        get(2, 0, 7, 50, 60),
    };
    CHECK(h6, LC_VIOLATION);
}

static void test_keys_are_independent(void **state)
{
    (void)state;
    lc_op_t h[] = {
        put(1, 0, 1, 0, 10, LC_OK), put(1, 1, 2, 5, 15, LC_OK), get(2, 1, 2, 20, 30),
        get(2, 0, 1, 20, 30),       get(2, 2, 0, 20, 30),
    };
    CHECK(h, LC_LINEARIZABLE);
    lc_op_t bad[] = {
        put(1, 0, 1, 0, 10, LC_OK), put(1, 1, 2, 5, 15, LC_OK),
        get(2, 1, 1, 20, 30), /* value of key 0 read from key 1 */
    };
    lc_result_t r;
    assert_int_equal(lc_check(bad, 3, 0, &r), 0);
    assert_int_equal(r.verdict, LC_VIOLATION);
    assert_int_equal(r.key, 1);
    assert_int_equal(r.op, 2);
}

static void test_bad_input(void **state)
{
    (void)state;
    lc_op_t h[] = {get(1, 0, 0, 10, 5)};
    CHECK(h, LC_BADINPUT);
    lc_op_t h2[] = {get(1, 0, 0, 1, 5)};
    h2[0].kind = 9;
    CHECK(h2, LC_BADINPUT);
    char buf[128];
    lc_op_describe(&h[0], buf, sizeof buf);
    assert_non_null(strstr(buf, "get(k0)"));
}

/* A register that really is linearizable: every op takes effect at a
 * linearization point strictly inside [invoke, response]; clients overlap. */
static size_t gen_history(lc_op_t *ops, size_t n, uint64_t seed, uint32_t clients, uint32_t keys)
{
    sim_rng_t rng;
    sim_rng_seed(&rng, seed);
    typedef struct {
        uint64_t lin;
        size_t op;
    } lp_t;
    lp_t *lp = calloc(n, sizeof *lp);
    uint64_t *busy_until = calloc(clients, sizeof *busy_until);
    assert_non_null(lp);
    assert_non_null(busy_until);
    int64_t next_val = 1;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = (uint32_t)(i % clients);
        uint64_t inv = busy_until[c] + sim_rng_range(&rng, 1, 5);
        uint64_t lin = inv + sim_rng_range(&rng, 0, 20);
        uint64_t resp = lin + sim_rng_range(&rng, 0, 20);
        busy_until[c] = resp;
        lc_op_t *o = &ops[i];
        memset(o, 0, sizeof *o);
        o->client = c;
        o->key = (uint32_t)sim_rng_below(&rng, keys);
        /* Times are scaled so that linearization points are distinct. */
        o->invoke = inv * 64;
        o->response = resp * 64 + 63;
        lp[i].lin = lin * 64 + c;
        lp[i].op = i;
        uint64_t r = sim_rng_below(&rng, 10);
        o->kind = r < 4 ? LC_GET : r < 8 ? LC_PUT : LC_CAS;
        o->outcome = LC_OK;
        if (o->kind != LC_GET && sim_rng_below(&rng, 50) == 0)
            o->outcome = sim_rng_below(&rng, 2) ? LC_UNKNOWN : LC_FAILED;
        o->value = next_val++;
    }
    /* Sort by linearization point (insertion sort on nearly-sorted data is
     * too slow for 10k; use qsort via a small comparator). */
    for (size_t i = 1; i < n; i++) { /* shell-ish: data is generated per client in order */
        lp_t x = lp[i];
        size_t j = i;
        while (j > 0 && lp[j - 1].lin > x.lin) {
            lp[j] = lp[j - 1];
            j--;
        }
        lp[j] = x;
    }
    int64_t *reg = calloc(keys, sizeof *reg);
    assert_non_null(reg);
    for (size_t i = 0; i < n; i++) {
        lc_op_t *o = &ops[lp[i].op];
        bool applies =
            o->outcome == LC_OK || (o->outcome == LC_UNKNOWN && sim_rng_below(&rng, 2) == 0);
        switch (o->kind) {
        case LC_GET:
            o->value = reg[o->key];
            break;
        case LC_PUT:
            if (applies)
                reg[o->key] = o->value;
            break;
        case LC_CAS:
            /* Expect the current value half of the time. */
            o->expected = sim_rng_below(&rng, 2) ? reg[o->key] : reg[o->key] + 1000000;
            o->cas_ok = o->expected == reg[o->key];
            if (applies && o->cas_ok)
                reg[o->key] = o->value;
            break;
        }
        if (o->outcome == LC_UNKNOWN)
            o->response = LC_INF;
    }
    free(reg);
    free(lp);
    free(busy_until);
    return n;
}

static void test_large_generated_history(void **state)
{
    (void)state;
    const size_t n = 10000;
    lc_op_t *ops = calloc(n, sizeof *ops);
    assert_non_null(ops);
    for (uint64_t seed = 1; seed <= 3; seed++) {
        gen_history(ops, n, seed, 8, 5);
        lc_result_t r;
        assert_int_equal(lc_check(ops, n, 0, &r), 0);
        assert_int_equal(r.verdict, LC_LINEARIZABLE);
        assert_int_equal(r.n_keys, 5);
        /* Now corrupt one late read: the checker must notice. */
        for (size_t i = n / 2; i < n; i++) {
            if (ops[i].kind == LC_GET) {
                ops[i].value = 987654321;
                break;
            }
        }
        assert_int_equal(lc_check(ops, n, 0, &r), 0);
        assert_int_equal(r.verdict, LC_VIOLATION);
    }
    /* One key, eight and sixteen overlapping clients. */
    gen_history(ops, n, 42, 8, 1);
    lc_result_t r;
    assert_int_equal(lc_check(ops, n, 0, &r), 0);
    assert_int_equal(r.verdict, LC_LINEARIZABLE);
    gen_history(ops, n, 43, 16, 1);
    assert_int_equal(lc_check(ops, n, 0, &r), 0);
    assert_int_equal(r.verdict, LC_LINEARIZABLE);
    free(ops);
}

/* Brute force: every order of the ops that respects real time, each unknown
 * op either linearized somewhere or never. Only for tiny histories. */
static bool bf_model(const lc_op_t *o, int64_t st, int64_t *next)
{
    switch (o->kind) {
    case LC_GET:
        *next = st;
        return st == o->value;
    case LC_PUT:
        *next = o->value;
        return true;
    default:
        if (o->outcome == LC_OK && !o->cas_ok) {
            *next = st;
            return st != o->expected && (!o->seen_known || st == o->seen);
        }
        *next = o->value;
        return st == o->expected;
    }
}

static bool bf_search(const lc_op_t *h, size_t n, unsigned used, int64_t st)
{
    bool all = true;
    for (size_t i = 0; i < n; i++)
        if (!(used & (1u << i)) && h[i].outcome == LC_OK)
            all = false;
    if (all)
        return true;
    for (size_t i = 0; i < n; i++) {
        if (used & (1u << i))
            continue;
        bool minimal = true;
        for (size_t k = 0; k < n; k++)
            if (k != i && !(used & (1u << k)) && h[k].outcome == LC_OK &&
                h[k].response < h[i].invoke)
                minimal = false;
        int64_t next;
        if (minimal && bf_model(&h[i], st, &next) && bf_search(h, n, used | (1u << i), next))
            return true;
    }
    return false;
}

static bool brute_force(const lc_op_t *ops, size_t n)
{
    lc_op_t h[16];
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (ops[i].outcome == LC_FAILED || (ops[i].outcome == LC_UNKNOWN && ops[i].kind == LC_GET))
            continue;
        h[m++] = ops[i];
    }
    return bf_search(h, m, 0, 0);
}

static void test_agrees_with_brute_force(void **state)
{
    (void)state;
    sim_rng_t rng;
    sim_rng_seed(&rng, 2026);
    unsigned lin = 0, nonlin = 0;
    for (int iter = 0; iter < 20000; iter++) {
        lc_op_t h[8];
        size_t n = 2 + (size_t)sim_rng_below(&rng, 6);
        for (size_t i = 0; i < n; i++) {
            lc_op_t *o = &h[i];
            memset(o, 0, sizeof *o);
            o->client = (uint32_t)i;
            o->kind = (uint8_t)sim_rng_below(&rng, 3);
            o->invoke = sim_rng_below(&rng, 20);
            o->response = o->invoke + sim_rng_below(&rng, 12);
            uint64_t oc = sim_rng_below(&rng, 10);
            o->outcome = oc < 7 ? LC_OK : oc < 9 ? LC_UNKNOWN : LC_FAILED;
            if (o->outcome == LC_UNKNOWN)
                o->response = LC_INF;
            o->value = (int64_t)sim_rng_below(&rng, 3);
            o->expected = (int64_t)sim_rng_below(&rng, 3);
            o->cas_ok = sim_rng_below(&rng, 2);
            /* Half the refused CASes report the value they saw. */
            o->seen_known = sim_rng_below(&rng, 2);
            o->seen = (int64_t)sim_rng_below(&rng, 3);
        }
        lc_result_t r;
        assert_int_equal(lc_check(h, n, 0, &r), 0);
        bool want = brute_force(h, n);
        if (want != (r.verdict == LC_LINEARIZABLE)) {
            for (size_t i = 0; i < n; i++) {
                char buf[160];
                lc_op_describe(&h[i], buf, sizeof buf);
                fprintf(stderr, "  %s\n", buf);
            }
            fprintf(stderr, "brute force says %d, checker says %s\n", want,
                    lc_verdict_name(r.verdict));
        }
        assert_int_equal(want, r.verdict == LC_LINEARIZABLE);
        if (want)
            lin++;
        else
            nonlin++;
    }
    /* Both verdicts were exercised. */
    assert_true(lin > 1000);
    assert_true(nonlin > 1000);
}

static void test_budget_gives_inconclusive(void **state)
{
    (void)state;
    const size_t n = 2000;
    lc_op_t *ops = calloc(n, sizeof *ops);
    assert_non_null(ops);
    gen_history(ops, n, 7, 8, 1);
    lc_result_t r;
    assert_int_equal(lc_check(ops, n, 10, &r), 0);
    assert_int_equal(r.verdict, LC_INCONCLUSIVE);
    free(ops);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_and_sequential),
        cmocka_unit_test(test_concurrent_reads_see_old_or_new),
        cmocka_unit_test(test_stale_read_is_caught),
        cmocka_unit_test(test_lost_write_is_caught),
        cmocka_unit_test(test_duplicated_write_is_caught),
        cmocka_unit_test(test_cas_anomalies_are_caught),
        cmocka_unit_test(test_unknown_and_failed_outcomes),
        cmocka_unit_test(test_refused_cas_seen_value),
        cmocka_unit_test(test_keys_are_independent),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_large_generated_history),
        cmocka_unit_test(test_agrees_with_brute_force),
        cmocka_unit_test(test_budget_gives_inconclusive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
