/* SPDX-License-Identifier: MIT */
/* Raft core (ut_consensus_t), configuration and construction: versioned
 * configs (STYLE C), the checks of ut_consensus_new, a new node's state,
 * NULL handles and arguments, and a version-1 config. A group of
 * test_consensus (tests/test_consensus.c runs every group). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "consensus_test.h"

/* STYLE C: versioned options; defaults documented in consensus.h. */
static void test_config_init_defaults(void **state)
{
    (void)state;
    ut_consensus_config_t cfg;
    memset(&cfg, 0xA5, sizeof cfg);
    assert_int_equal(ut_consensus_config_init(&cfg, UT_CONSENSUS_CONFIG_VERSION), UT_OK);
    assert_int_equal(cfg.version, UT_CONSENSUS_CONFIG_VERSION);
    assert_int_equal(cfg.election_timeout_ms, 1000);
    assert_int_equal(cfg.heartbeat_ms, 100);
    assert_int_equal(cfg.max_append_bytes, 1u << 20);
    assert_int_equal(cfg.max_append_entries, 256);
    assert_int_equal(cfg.max_inflight, 16);
    assert_true(cfg.pre_vote);
    assert_true(cfg.check_quorum);
    assert_int_equal(cfg.id, 0);
    assert_null(cfg.voters);
    assert_null(cfg.observers);
    assert_null(cfg.userdata);
    assert_int_equal(ut_consensus_config_init(NULL, UT_CONSENSUS_CONFIG_VERSION), UT_EINVAL);
    assert_int_equal(ut_consensus_config_init(&cfg, 0), UT_EVERSION);
    assert_int_equal(ut_consensus_config_init(&cfg, UT_CONSENSUS_CONFIG_VERSION + 1), UT_EVERSION);
}

/* Each bad configuration is refused with its code and *out is untouched. */
static void expect_new_fails(const ut_consensus_config_t *cfg, int code, int line)
{
    int sentinel;
    ut_consensus_t *h = (ut_consensus_t *)(void *)&sentinel;
    int rc = ut_consensus_new(&h, cfg);
    if (rc != code)
        fail_msg("line %d: ut_consensus_new returned %s, expected %s", line, ut_err_name(rc),
                 ut_err_name(code));
    if (h != (ut_consensus_t *)(void *)&sentinel)
        fail_msg("line %d: *out was written on failure", line);
}

#define EXPECT_NEW_FAILS(cfg, code) expect_new_fails(&(cfg), (code), __LINE__)

static void test_new_rejects_bad_config(void **state)
{
    (void)state;
    ut_consensus_t *h = NULL;
    ut_consensus_config_t cfg = cfg3(1);
    assert_int_equal(ut_consensus_new(NULL, &cfg), UT_EINVAL);
    assert_int_equal(ut_consensus_new(&h, NULL), UT_EINVAL);
    assert_null(h);

    cfg = cfg3(1);
    cfg.version = UT_CONSENSUS_CONFIG_VERSION + 7;
    EXPECT_NEW_FAILS(cfg, UT_EVERSION);
    cfg.version = 0;
    EXPECT_NEW_FAILS(cfg, UT_EVERSION);

    cfg = cfg3(0); /* id 0 */
    EXPECT_NEW_FAILS(cfg, UT_EINVAL);
    cfg = cfg3(4); /* not a member */
    EXPECT_NEW_FAILS(cfg, UT_EINVAL);

    static const uint64_t dup[] = {1, 2, 2};
    cfg = cfg3(1);
    cfg.voters = dup;
    EXPECT_NEW_FAILS(cfg, UT_EINVAL);
    static const uint64_t zero[] = {1, 0, 3};
    cfg.voters = zero;
    EXPECT_NEW_FAILS(cfg, UT_EINVAL);
    cfg = cfg3(1);
    cfg.voters = NULL;
    EXPECT_NEW_FAILS(cfg, UT_EINVAL);
    cfg = cfg3(1);
    cfg.n_voters = 0;
    EXPECT_NEW_FAILS(cfg, UT_EINVAL);

    /* An observer that is also a voter; observers without voters. */
    static const uint64_t obs_dup[] = {3};
    cfg = cfg3(1);
    cfg.observers = obs_dup;
    cfg.n_observers = 1;
    EXPECT_NEW_FAILS(cfg, UT_EINVAL);
    static const uint64_t obs4[] = {4};
    cfg = cfg3(4);
    cfg.observers = obs4;
    cfg.n_observers = 1;
    cfg.voters = NULL;
    cfg.n_voters = 0;
    EXPECT_NEW_FAILS(cfg, UT_EINVAL);
    cfg = cfg3(1);
    cfg.observers = NULL;
    cfg.n_observers = 1;
    EXPECT_NEW_FAILS(cfg, UT_EINVAL);

    /* Timers: zero, and heartbeat not below the election timeout. */
    cfg = cfg3(1);
    cfg.election_timeout_ms = 0;
    EXPECT_NEW_FAILS(cfg, UT_EINVAL);
    cfg = cfg3(1);
    cfg.heartbeat_ms = 0;
    EXPECT_NEW_FAILS(cfg, UT_EINVAL);
    cfg = cfg3(1);
    cfg.heartbeat_ms = cfg.election_timeout_ms;
    EXPECT_NEW_FAILS(cfg, UT_EINVAL);
    cfg.heartbeat_ms = cfg.election_timeout_ms + 1;
    EXPECT_NEW_FAILS(cfg, UT_EINVAL);

    /* Too many members. */
    uint64_t many[UT_CONSENSUS_MAX_NODES + 1];
    for (size_t i = 0; i < UT_CONSENSUS_MAX_NODES + 1; i++)
        many[i] = i + 1;
    cfg = cfg3(1);
    cfg.voters = many;
    cfg.n_voters = UT_CONSENSUS_MAX_NODES + 1;
    EXPECT_NEW_FAILS(cfg, UT_ERANGE);
    cfg.n_voters = UT_CONSENSUS_MAX_NODES; /* exactly the limit is fine */
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
    ut_consensus_free(h);
    ut_consensus_free(NULL);
}

/* Figure 2: a server starts as a follower in term 0 with an empty log. */
static void test_new_node_initial_state(void **state)
{
    (void)state;
    static const uint64_t obs[] = {4};
    int user = 7;
    ut_consensus_config_t cfg = cfg3(2);
    cfg.observers = obs;
    cfg.n_observers = 1;
    cfg.userdata = &user;
    ut_consensus_t *h = NULL;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
    assert_int_equal(ut_consensus_state(h), UT_CONSENSUS_FOLLOWER);
    assert_int_equal(ut_consensus_term(h), 0);
    assert_int_equal(ut_consensus_vote(h), 0);
    assert_int_equal(ut_consensus_leader(h), 0);
    assert_int_equal(ut_consensus_commit_index(h), 0);
    assert_int_equal(ut_consensus_last_index(h), 0);
    assert_int_equal(ut_consensus_id(h), 2);
    assert_ptr_equal(ut_consensus_userdata(h), &user);
    assert_false(ut_consensus_has_ready(h));
    assert_non_null(ut_consensus_errmsg(h));
    uint64_t t = 99;
    assert_int_equal(ut_consensus_entry_term(h, 0, &t), UT_OK);
    assert_int_equal(t, 0);
    assert_int_equal(ut_consensus_entry_term(h, 1, &t), UT_ENOTFOUND);
    uint64_t ids[4];
    size_t n = 0;
    assert_int_equal(ut_consensus_nodes(h, ids, 4, &n), UT_OK);
    assert_int_equal(n, 4);
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[1], 2);
    assert_int_equal(ids[2], 3);
    assert_int_equal(ids[3], 4);
    assert_int_equal(ut_consensus_nodes(h, ids, 2, &n), UT_ERANGE);
    assert_int_equal(n, 4);
    assert_int_equal(ut_consensus_nodes(h, NULL, 0, &n), UT_ERANGE);
    assert_int_equal(ut_consensus_nodes(h, ids, 4, NULL), UT_EINVAL);
    ut_consensus_free(h);

    /* The configuration arrays are copied. */
    uint64_t voters[3] = {1, 2, 3};
    cfg = cfg3(4);
    cfg.voters = voters;
    cfg.observers = obs;
    cfg.n_observers = 1;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
    voters[1] = 77;
    assert_int_equal(ut_consensus_state(h), UT_CONSENSUS_OBSERVER);
    assert_int_equal(ut_consensus_nodes(h, ids, 4, &n), UT_OK);
    assert_int_equal(ids[1], 2);
    ut_consensus_free(h);
}

static void test_null_handle_and_arguments(void **state)
{
    (void)state;
    ut_consensus_ready_t rd;
    ut_msg_t m = mk_msg(UT_MSG_APPEND, 1, 2, 1);
    uint64_t t, n_ids;
    size_t n;
    ut_consensus_hard_state_t hs = {1, 0, 0};
    assert_int_equal(ut_consensus_tick(NULL, 1), UT_EINVAL);
    assert_int_equal(ut_consensus_step(NULL, &m), UT_EINVAL);
    assert_int_equal(ut_consensus_propose(NULL, "x", 1, NULL), UT_EINVAL);
    assert_int_equal(ut_consensus_campaign(NULL), UT_EINVAL);
    assert_int_equal(ut_consensus_ready(NULL, &rd), UT_EINVAL);
    assert_int_equal(ut_consensus_advance(NULL, &rd), UT_EINVAL);
    assert_int_equal(ut_consensus_restore(NULL, &hs, NULL, 0), UT_EINVAL);
    assert_int_equal(ut_consensus_entry_term(NULL, 0, &t), UT_EINVAL);
    assert_int_equal(ut_consensus_nodes(NULL, &n_ids, 1, &n), UT_EINVAL);
    assert_int_equal(ut_consensus_state(NULL), UT_CONSENSUS_FOLLOWER);
    assert_int_equal(ut_consensus_term(NULL), 0);
    assert_int_equal(ut_consensus_leader(NULL), 0);
    assert_int_equal(ut_consensus_vote(NULL), 0);
    assert_int_equal(ut_consensus_id(NULL), 0);
    assert_int_equal(ut_consensus_commit_index(NULL), 0);
    assert_int_equal(ut_consensus_last_index(NULL), 0);
    assert_null(ut_consensus_userdata(NULL));
    assert_false(ut_consensus_has_ready(NULL));
    assert_true(ut_consensus_ready_empty(NULL));
    assert_non_null(ut_consensus_errmsg(NULL));

    ut_consensus_t *h = raw_new(2);
    snap_t s = take(h);
    assert_int_equal(ut_consensus_step(h, NULL), UT_EINVAL);
    assert_int_equal(ut_consensus_ready(h, NULL), UT_EINVAL);
    assert_int_equal(ut_consensus_advance(h, NULL), UT_EINVAL);
    assert_int_equal(ut_consensus_entry_term(h, 0, NULL), UT_EINVAL);
    assert_int_equal(ut_consensus_restore(h, NULL, NULL, 0), UT_EINVAL);
    assert_int_equal(ut_consensus_restore(h, &hs, NULL, 3), UT_EINVAL);
    ASSERT_UNCHANGED(s, h);
    /* The failed restores did not count as input: a valid one still works. */
    assert_int_equal(ut_consensus_restore(h, &hs, NULL, 0), UT_OK);
    assert_int_equal(ut_consensus_term(h), 1);
    ut_consensus_free(h);
}

/* A caller built against the version-1 header passes a struct that ends
 * with applied. Heap-allocated to its exact size, so that under ASan any
 * read or write beyond it fails the test. */
static void test_issue9_config_version1(void **state)
{
    (void)state;
    const size_t v1 = offsetof(ut_consensus_config_t, applied) + sizeof(uint64_t);
    unsigned char *buf = malloc(v1);
    assert_non_null(buf);
    memset(buf, 0xA5, v1);
    ut_consensus_config_t *cfg = (ut_consensus_config_t *)(void *)buf;
    assert_int_equal(ut_consensus_config_init(cfg, 1), UT_OK);
    assert_int_equal(cfg->version, 1);
    assert_int_equal(cfg->election_timeout_ms, 1000);
    assert_int_equal(cfg->max_inflight, 16);
    assert_int_equal(cfg->applied, 0);
    assert_null(cfg->userdata);
    static const uint64_t voters[] = {1, 2, 3};
    cfg->id = 2;
    cfg->voters = voters;
    cfg->n_voters = 3;
    ut_consensus_t *h = NULL;
    assert_int_equal(ut_consensus_new(&h, cfg), UT_OK);
    assert_int_equal(ut_consensus_id(h), 2);
    assert_int_equal(ut_consensus_state(h), UT_CONSENSUS_FOLLOWER);
    ut_consensus_free(h);
    /* Versions outside 1..current stay refused. */
    cfg->version = 0;
    assert_int_equal(ut_consensus_new(&h, cfg), UT_EVERSION);
    cfg->version = UT_CONSENSUS_CONFIG_VERSION + 1;
    assert_int_equal(ut_consensus_new(&h, cfg), UT_EVERSION);
    free(buf);
}

int consensus_group_config(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_init_defaults),
        cmocka_unit_test(test_new_rejects_bad_config),
        cmocka_unit_test(test_new_node_initial_state),
        cmocka_unit_test(test_null_handle_and_arguments),
        cmocka_unit_test(test_issue9_config_version1),
    };
    return cmocka_run_group_tests_name("consensus_config", tests, NULL, NULL);
}
