/* SPDX-License-Identifier: MIT */
/* What utsim's raft scenario found with --reads (utsim --reads lease
 * --changes 500 --compact auto --seed 160): a configuration entry truncated
 * away and replaced by another configuration entry at the same index (a
 * new leader's, of another term) must take effect (thesis §4.1: the latest
 * configuration in the log is the one in effect). Before the fix the
 * follower kept the truncated entry's voters, since only a change of the
 * latest configuration entry's index made it reload, and once elected it
 * counted a quorum of the wrong voters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "consensus/consensus_test.h"

/* A configuration entry's payload (docs/wire-format.md): version 1, no
 * auto-leave, voters only. */
static size_t enc_voters(uint8_t *out, const uint64_t *v, uint8_t nv)
{
    memset(out, 0, 8);
    out[0] = 1;
    out[2] = nv;
    for (size_t i = 0; i < nv; i++)
        for (int k = 0; k < 8; k++)
            out[8 + 8 * i + (size_t)k] = (uint8_t)(v[i] >> (8 * k));
    return 8 + 8 * (size_t)nv;
}

static bool has_voter(const ut_consensus_t *h, uint64_t id, uint64_t *at)
{
    ut_consensus_membership_t m;
    assert_int_equal(ut_consensus_membership(h, &m, at), UT_OK);
    for (size_t i = 0; i < m.n_voters; i++)
        if (m.voters[i] == id)
            return true;
    return false;
}

static void test_config_replaced_at_same_index(void **state)
{
    (void)state;
    ut_consensus_t *h = raw_new(2); /* voters {1, 2, 3} */
    assert_int_equal(ut_consensus_tick(h, 0), UT_OK);
    static const uint64_t with4[] = {1, 2, 3, 4}, with5[] = {1, 2, 3, 5};
    uint8_t p4[64], p5[64], pn[16];
    size_t l4 = enc_voters(p4, with4, 4), l5 = enc_voters(p5, with5, 4);
    rc_payload(pn, 1, 1);
    /* Leader 1 of term 1: entry 1, then entry 2 adding voter 4 (in effect
     * on append, uncommitted). */
    ut_entry_t es[2] = {{1, 1, UT_ENTRY_NORMAL, 16, pn}, {1, 2, UT_ENTRY_CONFIG, (uint32_t)l4, p4}};
    ut_msg_t m = mk_append(1, 2, 1, 0, 0, 1, es, 2);
    STEP_OK(h, m);
    raw_out_t out;
    raw_drain(h, &out);
    uint64_t at = 0;
    assert_true(has_voter(h, 4, &at));
    assert_int_equal(at, 2);
    /* Leader 3 of term 2 replaces entry 2 by its own configuration entry 2,
     * adding voter 5 instead: that one is in effect now. */
    ut_entry_t e2 = {2, 2, UT_ENTRY_CONFIG, (uint32_t)l5, p5};
    m = mk_append(3, 2, 2, 1, 1, 1, &e2, 1);
    STEP_OK(h, m);
    raw_drain(h, &out);
    assert_true(has_voter(h, 5, &at));
    assert_int_equal(at, 2);
    assert_false(has_voter(h, 4, &at));
    uint64_t ids[8];
    size_t k = 0;
    assert_int_equal(ut_consensus_nodes(h, ids, 8, &k), UT_OK);
    assert_int_equal(k, 4);
    ut_consensus_free(h);
}

int consensus_group_rutsim(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_replaced_at_same_index),
    };
    return cmocka_run_group_tests_name("consensus_rutsim", tests, NULL, NULL);
}
