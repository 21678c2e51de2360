/* SPDX-License-Identifier: MIT */
/* Seeded cluster test of two-phase commit: a bank transfer (participant 2
 * pays 10 to participant 3; others are touched read-only or take part)
 * under a seeded schedule of deliveries in random order, losses,
 * duplicates, timeouts and crash-restarts at random points, with a random
 * logging protocol, participant count and vote pattern. After every event:
 * atomicity, and total money conserved (a transfer applied at one side only
 * would change the total). After the faults stop: termination, and the
 * transfer applied at both sides or at neither. One seed replays one run;
 * a failing seed is printed. Structured like a utsim scenario: world
 * (twopc_world.h), fault schedule (run_seed), invariants (check_money). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "twopc_world.h"

static uint64_t rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int balance(world_t *w, int i)
{
    ut_txn_state_t s;
    int b = 100;
    if (ut_2pc_participant_state(w->p[i], W_TXID, &s) == UT_OK && s == UT_TXN_COMMITTED)
        b += i == 0 ? -10 : i == 1 ? 10 : 0;
    return b;
}

/* Money is conserved when the debit and the credit are applied together:
 * the transfer is never applied at one side and undone at the other (the
 * total moves transiently while the credit is on its way). */
static void check_money(world_t *w)
{
    if (tpc_oracle_half_applied(&w->orc, 0, 1))
        w_fail(w, "transfer half applied");
}

static int run_seed(uint64_t seed)
{
    uint64_t s = seed;
    int np = 2 + (int)(rng(&s) % 3);
    int pres = (int)(rng(&s) % 3);
    world_t w;
    world_init(&w, np, (ut_2pc_presumption_t)pres, rng(&s) % 2 == 0);
    for (int i = 2; i < np; i++)
        if (rng(&s) % 3 == 0)
            w.votes[i] = UT_2PC_VOTE_READ_ONLY;
    if (rng(&s) % 5 == 0)
        w.votes[rng(&s) % (uint64_t)np] = UT_2PC_VOTE_NO;
    world_begin(&w, rng(&s) % 10 == 0 ? (int)(rng(&s) % 3) - 1 : -2);
    for (int step = 0; step < 200 && !w.violation; step++) {
        uint64_t r = rng(&s) % 100;
        if (w.n_net > 0 && r < 60) {
            size_t i = (size_t)(rng(&s) % w.n_net);
            int crash = rng(&s) % 15 == 0 ? (int)(rng(&s) % 4) - 1 : -2;
            world_deliver(&w, i, crash);
        } else if (w.n_net > 0 && r < 68) {
            w_net_remove(&w, (size_t)(rng(&s) % w.n_net)); /* loss */
        } else if (w.n_net > 0 && r < 75) {
            world_duplicate(&w, (size_t)(rng(&s) % w.n_net));
        } else if (r < 92) {
            world_timeout(&w, (int)(rng(&s) % (uint64_t)(np + 1)), -2);
        } else {
            world_crash(&w, (int)(rng(&s) % (uint64_t)(np + 1)));
        }
        check_money(&w);
    }
    if (!w.violation && !world_settle(&w))
        w_fail(&w, "termination: not settled once faults stopped");
    check_money(&w);
    int total = 0;
    for (int i = 0; i < np; i++)
        total += balance(&w, i);
    if (!w.violation && total != 100 * np)
        w_fail(&w, "money not conserved after settling");
    int bad = w.violation;
    if (bad)
        printf("# seed %llu: %s\n", (unsigned long long)seed, w.why);
    world_free(&w);
    return bad;
}

static void test_seeds(void **state)
{
    (void)state;
    const char *env = getenv("TWOPC_SEEDS");
    long n = env ? atol(env) : 5000;
    long bad = 0;
    for (long i = 1; i <= n; i++)
        bad += run_seed((uint64_t)i);
    printf("# twopc cluster: %ld seeds, %ld failing\n", n, bad);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_seeds)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
