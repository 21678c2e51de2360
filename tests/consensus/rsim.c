/* SPDX-License-Identifier: MIT */
/* Membership changes meeting snapshots, as utsim's raft scenario found
 * them (utsim --changes 500 --compact auto): a follower that lags behind
 * the configuration entry that promoted (or added) its leader must still
 * take that leader's InstallSnapshot, as it takes its AppendEntries (thesis
 * §4.1: the leader may be a node this one does not know as a voter yet;
 * Raft paper §7: the snapshot is how it catches up once the leader has
 * compacted). Before the fix it refused every chunk with UT_EINVAL
 * ("snapshot from observer") and never caught up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "consensus/consensus_test.h"

/* Node 1 of voters {1, 2} and observer {3} gets the first chunk of a
 * snapshot from `from` in term 2: processed, and answered. */
static void snapshot_from(uint64_t from)
{
    static const uint64_t voters[] = {1, 2}, observers[] = {3};
    ut_consensus_config_t cfg;
    ut_consensus_config_init(&cfg, UT_CONSENSUS_CONFIG_VERSION);
    cfg.id = 1;
    cfg.voters = voters;
    cfg.n_voters = 2;
    cfg.observers = observers;
    cfg.n_observers = 1;
    ut_consensus_t *h = NULL;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
    static const unsigned char chunk[16] = {1, 2, 3};
    ut_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = UT_MSG_SNAPSHOT;
    m.from = from;
    m.to = 1;
    m.term = 2;
    m.body.snapshot = (ut_msg_snapshot_t){
        .index = 10, .term = 2, .offset = 0, .total = 64, .data = chunk, .len = sizeof chunk};
    assert_int_equal(ut_consensus_step(h, &m), UT_OK);
    assert_int_equal(ut_consensus_term(h), 2);
    assert_int_equal(ut_consensus_leader(h), from);
    ut_consensus_ready_t rd;
    assert_int_equal(ut_consensus_ready(h, &rd), UT_OK);
    bool answered = false;
    for (size_t k = 0; k < rd.n_msgs; k++)
        answered |= rd.msgs[k].type == UT_MSG_SNAPSHOT_RESP && rd.msgs[k].to == from;
    assert_true(answered);
    assert_int_equal(ut_consensus_advance(h, &rd), UT_OK);
    ut_consensus_free(h);
}

static void test_snapshot_from_leader_unknown_as_voter(void **state)
{
    (void)state;
    snapshot_from(3); /* an observer here, promoted by an entry it lacks */
    snapshot_from(9); /* no member here, added by an entry it lacks */
}

int consensus_group_rsim(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot_from_leader_unknown_as_voter),
    };
    return cmocka_run_group_tests_name("consensus_rsim", tests, NULL, NULL);
}
