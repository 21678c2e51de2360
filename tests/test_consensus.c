/* SPDX-License-Identifier: MIT */
/* Raft core (ut_consensus_t): named scenarios from the Raft paper (Ongaro &
 * Ousterhout, "In Search of an Understandable Consensus Algorithm", 2014) and
 * Ongaro's thesis (2014), plus the API contract: every illegal call returns
 * its error code and leaves the node unchanged. Multi-node scenarios run on
 * the in-process cluster of raft_cluster.h, whose safety checks (Election
 * Safety, Log Matching, Leader Completeness, State Machine Safety) run after
 * every processed ready; every scenario ends by asserting they held. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "raft_cluster.h"
#include "test_alloc.h"

/* ---- helpers ----------------------------------------------------------- */

#define RC_OK(c)                                                                                   \
    do {                                                                                           \
        if ((c)->failed)                                                                           \
            fail_msg("cluster invariant violated: %s", (c)->err);                                  \
    } while (0)

static const uint64_t V3[] = {1, 2, 3};

static ut_consensus_config_t cfg_base(void)
{
    ut_consensus_config_t cfg;
    assert_int_equal(ut_consensus_config_init(&cfg, UT_CONSENSUS_CONFIG_VERSION), UT_OK);
    cfg.seed = 42;
    return cfg;
}

static ut_consensus_config_t cfg3(uint64_t id)
{
    ut_consensus_config_t cfg = cfg_base();
    cfg.id = id;
    cfg.voters = V3;
    cfg.n_voters = 3;
    return cfg;
}

static ut_consensus_t *raw_new(uint64_t id)
{
    ut_consensus_config_t cfg = cfg3(id);
    ut_consensus_t *h = NULL;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
    assert_non_null(h);
    return h;
}

/* Drain a standalone node's readies; copy message headers (not entries). */
typedef struct raw_out {
    ut_msg_t msgs[64];
    size_t n_msgs;
    size_t n_committed;
    size_t n_entries;
} raw_out_t;

static void raw_drain(ut_consensus_t *h, raw_out_t *o)
{
    memset(o, 0, sizeof *o);
    for (int guard = 0; guard < 100 && ut_consensus_has_ready(h); guard++) {
        ut_consensus_ready_t rd;
        assert_int_equal(ut_consensus_ready(h, &rd), UT_OK);
        for (size_t i = 0; i < rd.n_msgs && o->n_msgs < 64; i++) {
            o->msgs[o->n_msgs] = rd.msgs[i];
            o->msgs[o->n_msgs].body.append.entries = NULL;
            o->n_msgs++;
        }
        o->n_committed += rd.n_committed;
        o->n_entries += rd.n_entries;
        (void)ut_consensus_advance(h, &rd);
    }
}

typedef struct snap {
    ut_consensus_state_t st;
    uint64_t term, vote, leader, commit, last;
    bool ready;
} snap_t;

static snap_t take(const ut_consensus_t *h)
{
    snap_t s = {ut_consensus_state(h),    ut_consensus_term(h),         ut_consensus_vote(h),
                ut_consensus_leader(h),   ut_consensus_commit_index(h), ut_consensus_last_index(h),
                ut_consensus_has_ready(h)};
    return s;
}

static void snap_check(const snap_t *a, const ut_consensus_t *h, int line)
{
    snap_t b = take(h);
    if (a->st != b.st || a->term != b.term || a->vote != b.vote || a->leader != b.leader ||
        a->commit != b.commit || a->last != b.last || a->ready != b.ready)
        fail_msg("line %d: node changed: state %d->%d term %llu->%llu vote %llu->%llu "
                 "leader %llu->%llu commit %llu->%llu last %llu->%llu ready %d->%d",
                 line, (int)a->st, (int)b.st, (unsigned long long)a->term,
                 (unsigned long long)b.term, (unsigned long long)a->vote,
                 (unsigned long long)b.vote, (unsigned long long)a->leader,
                 (unsigned long long)b.leader, (unsigned long long)a->commit,
                 (unsigned long long)b.commit, (unsigned long long)a->last,
                 (unsigned long long)b.last, (int)a->ready, (int)b.ready);
}
#define ASSERT_UNCHANGED(s, h) snap_check(&(s), (h), __LINE__)

static ut_msg_t mk_msg(ut_msg_type_t type, uint64_t from, uint64_t to, uint64_t term)
{
    ut_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.from = from;
    m.to = to;
    m.term = term;
    return m;
}

static ut_msg_t mk_vote(ut_msg_type_t type, uint64_t from, uint64_t to, uint64_t term, uint64_t lli,
                        uint64_t llt)
{
    ut_msg_t m = mk_msg(type, from, to, term);
    m.body.vote.last_log_index = lli;
    m.body.vote.last_log_term = llt;
    return m;
}

static ut_msg_t mk_append(uint64_t from, uint64_t to, uint64_t term, uint64_t pi, uint64_t pt,
                          uint64_t commit, const ut_entry_t *es, size_t n)
{
    ut_msg_t m = mk_msg(UT_MSG_APPEND, from, to, term);
    m.body.append.prev_index = pi;
    m.body.append.prev_term = pt;
    m.body.append.commit = commit;
    m.body.append.entries = es;
    m.body.append.n_entries = n;
    return m;
}

/* Entries first..first+n-1 with terms[] and the rc_payload() payload, so that
 * they are the same entries rc_set_log() builds. */
static void mk_entries(ut_entry_t *es, uint8_t (*pay)[16], uint64_t first, const uint64_t *terms,
                       size_t n)
{
    for (size_t i = 0; i < n; i++) {
        rc_payload(pay[i], terms[i], first + i);
        es[i].term = terms[i];
        es[i].index = first + i;
        es[i].type = UT_ENTRY_NORMAL;
        es[i].len = 16;
        es[i].data = pay[i];
    }
}

/* First in-flight message of a type from/to (0 = any). */
static const ut_msg_t *net_find(rc_cluster_t *c, ut_msg_type_t type, uint64_t from, uint64_t to)
{
    for (size_t i = 0; i < c->n_net; i++) {
        const ut_msg_t *m = &c->net[i].m;
        if (m->type == type && (from == 0 || m->from == from) && (to == 0 || m->to == to))
            return m;
    }
    return NULL;
}

static size_t net_count(rc_cluster_t *c, ut_msg_type_t type)
{
    size_t k = 0;
    for (size_t i = 0; i < c->n_net; i++)
        if (c->net[i].m.type == type)
            k++;
    return k;
}

static void cluster(rc_cluster_t *c, size_t voters, size_t observers,
                    const ut_consensus_config_t *cfg)
{
    assert_int_equal(rc_init(c, voters, observers, cfg), UT_OK);
}

/* Tick every node once at now (sets each node's time origin). */
static void start(rc_cluster_t *c)
{
    rc_advance(c, 0);
}

static uint64_t term_of(rc_cluster_t *c, uint64_t id)
{
    return ut_consensus_term(rc_h(c, id));
}
static ut_consensus_state_t state_of(rc_cluster_t *c, uint64_t id)
{
    return ut_consensus_state(rc_h(c, id));
}
static uint64_t commit_of(rc_cluster_t *c, uint64_t id)
{
    return ut_consensus_commit_index(rc_h(c, id));
}
static uint64_t last_of(rc_cluster_t *c, uint64_t id)
{
    return ut_consensus_last_index(rc_h(c, id));
}
static uint64_t eterm(rc_cluster_t *c, uint64_t id, uint64_t index)
{
    uint64_t t = 0;
    if (ut_consensus_entry_term(rc_h(c, id), index, &t) != UT_OK)
        return UINT64_MAX;
    return t;
}

static bool applied_payload(rc_cluster_t *c, uint64_t id, const void *p, size_t len)
{
    rc_node_t *n = rc_node(c, id);
    uint64_t h = rc_hash(p, len);
    for (size_t i = 0; i < n->n_applied; i++)
        if (n->applied[i].type == UT_ENTRY_NORMAL && n->applied[i].len == len &&
            n->applied[i].hash == h)
            return true;
    return false;
}

/* ---- configuration and construction ------------------------------------ */

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

/* ---- restore (persistent state, Figure 2) ------------------------------ */

static void test_restore_loads_state(void **state)
{
    (void)state;
    ut_consensus_t *h = raw_new(2);
    ut_entry_t es[3];
    uint8_t pay[3][16];
    static const uint64_t terms[] = {1, 1, 2};
    mk_entries(es, pay, 1, terms, 3);
    ut_consensus_hard_state_t hs = {3, 3, 2};
    assert_int_equal(ut_consensus_restore(h, &hs, es, 3), UT_OK);
    memset(pay, 0, sizeof pay); /* payloads were copied */
    assert_int_equal(ut_consensus_state(h), UT_CONSENSUS_FOLLOWER);
    assert_int_equal(ut_consensus_term(h), 3);
    assert_int_equal(ut_consensus_vote(h), 3);
    assert_int_equal(ut_consensus_commit_index(h), 2);
    assert_int_equal(ut_consensus_last_index(h), 3);
    uint64_t t = 0;
    assert_int_equal(ut_consensus_entry_term(h, 3, &t), UT_OK);
    assert_int_equal(t, 2);
    assert_int_equal(ut_consensus_entry_term(h, 4, &t), UT_ENOTFOUND);
    /* Restore only before the first input, and only once. */
    assert_int_equal(ut_consensus_restore(h, &hs, es, 0), UT_ESTATE);
    ut_consensus_free(h);

    h = raw_new(2);
    assert_int_equal(ut_consensus_tick(h, 10), UT_OK);
    snap_t s = take(h);
    assert_int_equal(ut_consensus_restore(h, &hs, NULL, 0), UT_ESTATE);
    ASSERT_UNCHANGED(s, h);
    ut_consensus_free(h);

    h = raw_new(2);
    ut_msg_t m = mk_append(1, 2, 1, 0, 0, 0, NULL, 0);
    assert_int_equal(ut_consensus_step(h, &m), UT_OK);
    s = take(h);
    assert_int_equal(ut_consensus_restore(h, &hs, NULL, 0), UT_ESTATE);
    ASSERT_UNCHANGED(s, h);
    ut_consensus_free(h);
}

/* A durable state machine tells the node what it already holds (cfg.applied,
 * like etcd's Config.Applied): only the committed entries after it are
 * handed out again; an applied index beyond the commit index is refused. */
static void test_restore_applied_skips_reapplication(void **state)
{
    (void)state;
    ut_entry_t es[4];
    uint8_t pay[4][16];
    static const uint64_t terms[] = {1, 1, 2, 2};
    mk_entries(es, pay, 1, terms, 4);
    ut_consensus_hard_state_t hs = {2, 0, 3};

    ut_consensus_config_t cfg = cfg3(2);
    cfg.applied = 2;
    ut_consensus_t *h = NULL;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
    assert_int_equal(ut_consensus_restore(h, &hs, es, 4), UT_OK);
    ut_consensus_ready_t rd;
    assert_int_equal(ut_consensus_ready(h, &rd), UT_OK);
    assert_int_equal(rd.n_committed, 1);
    assert_int_equal(rd.committed[0].index, 3);
    assert_int_equal(rd.n_entries, 0); /* already on disk */
    assert_false(rd.hard_state_changed);
    assert_int_equal(ut_consensus_advance(h, &rd), UT_OK);
    ut_consensus_free(h);

    /* Default (applied = 0): everything committed comes out again. */
    cfg.applied = 0;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
    assert_int_equal(ut_consensus_restore(h, &hs, es, 4), UT_OK);
    assert_int_equal(ut_consensus_ready(h, &rd), UT_OK);
    assert_int_equal(rd.n_committed, 3);
    assert_int_equal(rd.committed[0].index, 1);
    ut_consensus_free(h);

    /* Beyond the lazily persisted commit 3 but within the log: accepted as
     * evidence of commitment (issue 8.8); beyond the log: corrupt. */
    cfg.applied = 4;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
    assert_int_equal(ut_consensus_restore(h, &hs, es, 4), UT_OK);
    assert_int_equal(ut_consensus_commit_index(h), 4);
    ut_consensus_free(h);
    cfg.applied = 5;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
    snap_t sn = take(h);
    assert_int_equal(ut_consensus_restore(h, &hs, es, 4), UT_ECORRUPT);
    ASSERT_UNCHANGED(sn, h);
    ut_consensus_free(h);
}

static void expect_restore_corrupt(const ut_consensus_hard_state_t *hs, const ut_entry_t *es,
                                   size_t n, int line)
{
    static const uint64_t obs[] = {4};
    ut_consensus_config_t cfg = cfg3(2);
    cfg.observers = obs;
    cfg.n_observers = 1;
    ut_consensus_t *h = NULL;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
    snap_t s = take(h);
    int rc = ut_consensus_restore(h, hs, es, n);
    if (rc != UT_ECORRUPT)
        fail_msg("line %d: restore returned %s, expected UT_ECORRUPT", line, ut_err_name(rc));
    snap_check(&s, h, line);
    /* Nothing changed: the node can still be restored with a valid state. */
    ut_consensus_hard_state_t ok = {1, 0, 0};
    if (ut_consensus_restore(h, &ok, NULL, 0) != UT_OK)
        fail_msg("line %d: node not restorable after a refused restore", line);
    ut_consensus_free(h);
}
#define EXPECT_CORRUPT(hs, es, n) expect_restore_corrupt(&(hs), (es), (n), __LINE__)

static void test_restore_rejects_inconsistent_state(void **state)
{
    (void)state;
    ut_entry_t es[3];
    uint8_t pay[3][16];
    static const uint64_t t112[] = {1, 1, 2};
    static const uint64_t t21[] = {2, 1};
    ut_consensus_hard_state_t hs = {2, 0, 0};

    mk_entries(es, pay, 2, t112, 3); /* starts at index 2 */
    EXPECT_CORRUPT(hs, es, 3);
    mk_entries(es, pay, 1, t112, 3);
    es[2].index = 4; /* gap */
    EXPECT_CORRUPT(hs, es, 3);
    mk_entries(es, pay, 1, t21, 2); /* terms decreasing */
    EXPECT_CORRUPT(hs, es, 2);
    mk_entries(es, pay, 1, t112, 3);
    ut_consensus_hard_state_t low = {1, 0, 0}; /* entry term 2 > hs.term 1 */
    EXPECT_CORRUPT(low, es, 3);
    ut_consensus_hard_state_t far = {2, 0, 4}; /* commit beyond the log */
    EXPECT_CORRUPT(far, es, 3);
    ut_consensus_hard_state_t stranger = {2, 9, 0}; /* vote for a non-member */
    EXPECT_CORRUPT(stranger, es, 3);
    ut_consensus_hard_state_t observer = {2, 4, 0}; /* vote for an observer */
    EXPECT_CORRUPT(observer, es, 3);
}

/* ---- time ---------------------------------------------------------------- */

static void test_tick_backwards_is_erange(void **state)
{
    (void)state;
    ut_consensus_t *h = raw_new(1);
    assert_int_equal(ut_consensus_tick(h, 1000), UT_OK);
    snap_t s = take(h);
    assert_int_equal(ut_consensus_tick(h, 999), UT_ERANGE);
    ASSERT_UNCHANGED(s, h);
    assert_int_equal(ut_consensus_tick(h, 1000), UT_OK);
    assert_int_equal(ut_consensus_tick(h, 1001), UT_OK);
    ut_consensus_free(h);
}

/* §5.2: the election timeout is randomised in [T, 2T) and counted from the
 * node's first tick; without a leader the cluster elects one. */
static void test_election_timeout_from_first_tick(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cluster(&c, 3, 0, &cfg);
    c.now = 50000; /* a first tick far from 0 is the origin, not a timeout */
    start(&c);
    assert_int_equal(c.sent, 0);
    rc_advance(&c, cfg.election_timeout_ms - 1);
    assert_int_equal(c.sent, 0);
    for (uint64_t id = 1; id <= 3; id++)
        assert_int_equal(term_of(&c, id), 0);
    rc_advance(&c, cfg.election_timeout_ms + 1); /* now origin + 2T */
    assert_true(c.sent_type[UT_MSG_PREVOTE] > 0);
    assert_int_equal(c.sent_type[UT_MSG_VOTE], 0); /* pre-vote first */
    assert_true(rc_run_until(&c, rc_has_leader, NULL, 20 * cfg.election_timeout_ms));
    uint64_t l = rc_leader(&c);
    assert_int_equal(rc_count_leaders(&c), 1);
    assert_true(term_of(&c, l) >= 1);
    /* §5.4.2: the new leader's first entry is a no-op of its term. */
    assert_int_equal(eterm(&c, l, last_of(&c, l)), term_of(&c, l));
    rc_run(&c, 3 * cfg.heartbeat_ms);
    for (uint64_t id = 1; id <= 3; id++)
        assert_int_equal(commit_of(&c, id), last_of(&c, l));
    RC_OK(&c);
    rc_destroy(&c);
}

/* §5.2: each node draws its election timeout in [T, 2T) from the seed mixed
 * with its id, so nodes sharing a seed still time out at different moments;
 * §5.2 / Figure 2: a leader sends heartbeats every heartbeat interval. */
static void test_election_timeout_range_and_heartbeats(void **state)
{
    (void)state;
    const uint64_t T = 200;
    size_t distinct_total = 0;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        uint64_t first[3];
        for (uint64_t id = 1; id <= 3; id++) {
            ut_consensus_config_t cfg = cfg3(id);
            cfg.seed = seed;
            cfg.election_timeout_ms = T;
            cfg.heartbeat_ms = 20;
            ut_consensus_t *h = NULL;
            assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
            const uint64_t origin = 1000;
            assert_int_equal(ut_consensus_tick(h, origin), UT_OK);
            uint64_t t = origin;
            while (!ut_consensus_has_ready(h) && t < origin + 3 * T)
                assert_int_equal(ut_consensus_tick(h, ++t), UT_OK);
            first[id - 1] = t - origin;
            if (first[id - 1] < T || first[id - 1] >= 2 * T)
                fail_msg("seed %llu id %llu: first campaign after %llu ms, not in [%llu, %llu)",
                         (unsigned long long)seed, (unsigned long long)id,
                         (unsigned long long)first[id - 1], (unsigned long long)T,
                         (unsigned long long)(2 * T));
            ut_consensus_free(h);
        }
        distinct_total += (first[0] != first[1]) + (first[1] != first[2]) + (first[0] != first[2]);
    }
    assert_true(distinct_total >= 30); /* ids are mixed into the draw */

    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cluster(&c, 3, 0, &cfg);
    start(&c);
    assert_true(rc_elect(&c, 1));
    rc_drain(&c, 1000);
    uint64_t sent = c.sent_type[UT_MSG_APPEND];
    c.now += cfg.heartbeat_ms - 1;
    rc_tick(&c, 1);
    assert_int_equal(c.sent_type[UT_MSG_APPEND], sent);
    c.now += 1;
    rc_tick(&c, 1);
    assert_int_equal(c.sent_type[UT_MSG_APPEND], sent + 2);
    assert_non_null(net_find(&c, UT_MSG_APPEND, 1, 2));
    assert_non_null(net_find(&c, UT_MSG_APPEND, 1, 3));
    rc_drain(&c, 1000);
    RC_OK(&c);
    rc_destroy(&c);
}

/* ---- elections (§5.2, thesis §9.6) --------------------------------------- */

/* §5.2: a one-voter cluster is its own majority; §5.4.2 / §8: the new leader
 * appends a no-op of its term; ready/advance: an entry counts as replicated on
 * the leader only once advance() confirms it is durable (Figure 2: "respond
 * after the entry is applied to stable storage"). */
static void test_single_voter_leads_at_once(void **state)
{
    (void)state;
    static const uint64_t one[] = {1};
    ut_consensus_config_t cfg = cfg_base();
    cfg.id = 1;
    cfg.voters = one;
    cfg.n_voters = 1;
    ut_consensus_t *h = NULL;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
    assert_int_equal(ut_consensus_campaign(h), UT_OK);
    assert_int_equal(ut_consensus_state(h), UT_CONSENSUS_LEADER);
    assert_int_equal(ut_consensus_term(h), 1);
    assert_int_equal(ut_consensus_vote(h), 1);
    assert_int_equal(ut_consensus_leader(h), 1);
    assert_int_equal(ut_consensus_last_index(h), 1);
    /* The no-op is not committed before it is durable (leader counts itself
     * only after advance). */
    assert_int_equal(ut_consensus_commit_index(h), 0);
    assert_true(ut_consensus_has_ready(h));
    ut_consensus_ready_t rd, rd2;
    assert_int_equal(ut_consensus_ready(h, &rd), UT_OK);
    assert_false(ut_consensus_ready_empty(&rd));
    assert_true(rd.hard_state_changed);
    assert_int_equal(rd.hard_state.term, 1);
    assert_int_equal(rd.hard_state.vote, 1);
    assert_int_equal(rd.n_entries, 1);
    assert_int_equal(rd.entries[0].index, 1);
    assert_int_equal(rd.entries[0].term, 1);
    assert_int_equal(rd.entries[0].type, UT_ENTRY_NOOP);
    assert_int_equal(rd.n_msgs, 0);
    assert_int_equal(rd.n_committed, 0);
    assert_int_equal(rd.state, UT_CONSENSUS_LEADER);
    assert_int_equal(rd.leader, 1);
    /* A second ready before advance is refused. */
    assert_int_equal(ut_consensus_ready(h, &rd2), UT_ESTATE);
    assert_int_equal(ut_consensus_commit_index(h), 0);
    /* Advancing with something that is not the outstanding ready fails. */
    rd2 = rd;
    rd2.seq_ ^= 0x5555;
    assert_int_equal(ut_consensus_advance(h, &rd2), UT_EINVAL);
    assert_int_equal(ut_consensus_advance(h, &rd), UT_OK);
    assert_int_equal(ut_consensus_commit_index(h), 1);
    assert_int_equal(ut_consensus_advance(h, &rd), UT_EINVAL); /* nothing outstanding */

    uint64_t idx = 0;
    assert_int_equal(ut_consensus_propose(h, "abc", 3, &idx), UT_OK);
    assert_int_equal(idx, 2);
    assert_int_equal(ut_consensus_commit_index(h), 1);
    size_t applied_normal = 0;
    for (int guard = 0; guard < 10 && ut_consensus_has_ready(h); guard++) {
        assert_int_equal(ut_consensus_ready(h, &rd), UT_OK);
        for (size_t i = 0; i < rd.n_committed; i++)
            if (rd.committed[i].type == UT_ENTRY_NORMAL) {
                assert_int_equal(rd.committed[i].index, 2);
                assert_int_equal(rd.committed[i].len, 3);
                assert_memory_equal(rd.committed[i].data, "abc", 3);
                applied_normal++;
            }
        assert_int_equal(ut_consensus_advance(h, &rd), UT_OK);
    }
    assert_int_equal(ut_consensus_commit_index(h), 2);
    assert_int_equal(applied_normal, 1);
    /* Campaigning as leader is an illegal transition. */
    snap_t s = take(h);
    assert_int_equal(ut_consensus_campaign(h), UT_ESTATE);
    ASSERT_UNCHANGED(s, h);
    ut_consensus_free(h);
}

/* DESIGN.md §2 and docs/architecture.md drive a handle with
 *     while (ready(h, &rd) == UT_OK && !ready_empty(&rd)) { ...; advance(h, &rd); }
 * which leaves the final, empty ready un-advanced. An empty ready used to
 * count as outstanding, so every later ready() returned UT_ESTATE and the
 * node never persisted or sent anything again. An empty ready hands nothing
 * out and must not block the next one; advancing it anyway is harmless. */
static void documented_loop(ut_consensus_t *h, raw_out_t *o)
{
    memset(o, 0, sizeof *o);
    ut_consensus_ready_t rd;
    int rc, guard = 0;
    while ((rc = ut_consensus_ready(h, &rd)) == UT_OK && !ut_consensus_ready_empty(&rd)) {
        assert_true(guard++ < 100);
        for (size_t i = 0; i < rd.n_msgs && o->n_msgs < 64; i++)
            o->msgs[o->n_msgs++] = rd.msgs[i];
        assert_int_equal(ut_consensus_advance(h, &rd), UT_OK);
    }
    assert_int_equal(rc, UT_OK);
}

static void test_empty_ready_does_not_block(void **state)
{
    (void)state;
    ut_consensus_t *h = raw_new(1);
    assert_int_equal(ut_consensus_tick(h, 0), UT_OK);
    assert_int_equal(ut_consensus_campaign(h), UT_OK);
    raw_out_t out;
    documented_loop(h, &out);
    assert_int_equal(out.n_msgs, 2); /* the two pre-vote requests */

    ut_msg_t m = mk_msg(UT_MSG_PREVOTE_RESP, 2, 1, 1);
    m.body.vote_resp.granted = true;
    assert_int_equal(ut_consensus_step(h, &m), UT_OK);
    assert_true(ut_consensus_has_ready(h));
    documented_loop(h, &out);
    assert_int_equal(out.n_msgs, 2); /* the two vote requests */
    assert_int_equal(out.msgs[0].type, UT_MSG_VOTE);

    /* Advancing an empty ready, as loops that always advance do, is fine. */
    ut_consensus_ready_t rd;
    assert_int_equal(ut_consensus_ready(h, &rd), UT_OK);
    assert_true(ut_consensus_ready_empty(&rd));
    assert_int_equal(ut_consensus_advance(h, &rd), UT_OK);
    ut_consensus_free(h);
}

/* Thesis §9.6: pre-vote changes no term or vote until a majority granted it. */
static void test_prevote_then_vote(void **state)
{
    (void)state;
    rc_cluster_t c;
    cluster(&c, 3, 0, NULL);
    start(&c);
    assert_int_equal(rc_campaign(&c, 1), UT_OK);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_FOLLOWER);
    assert_int_equal(term_of(&c, 1), 0);
    assert_int_equal(ut_consensus_vote(rc_h(&c, 1)), 0);
    assert_int_equal(net_count(&c, UT_MSG_PREVOTE), 2);
    assert_int_equal(net_count(&c, UT_MSG_VOTE), 0);
    const ut_msg_t *pv = net_find(&c, UT_MSG_PREVOTE, 1, 2);
    assert_non_null(pv);
    assert_int_equal(pv->term, 1);
    assert_int_equal(pv->body.vote.last_log_index, 0);
    assert_int_equal(pv->body.vote.last_log_term, 0);
    /* Deliver the pre-vote to 2: granted, and 2's term and vote stay. */
    assert_int_equal(rc_deliver(&c, 0), UT_OK);
    assert_int_equal(term_of(&c, 2), 0);
    assert_int_equal(ut_consensus_vote(rc_h(&c, 2)), 0);
    const ut_msg_t *pr = net_find(&c, UT_MSG_PREVOTE_RESP, 2, 1);
    assert_non_null(pr);
    assert_true(pr->body.vote_resp.granted);
    /* Majority of pre-votes: candidate in term 1, vote persisted before VOTE. */
    size_t k = 0;
    while (c.net[k].m.type != UT_MSG_PREVOTE_RESP)
        k++;
    assert_int_equal(rc_deliver(&c, k), UT_OK);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_CANDIDATE);
    assert_int_equal(term_of(&c, 1), 1);
    assert_int_equal(ut_consensus_vote(rc_h(&c, 1)), 1);
    assert_int_equal(rc_node(&c, 1)->hs.term, 1);
    assert_int_equal(rc_node(&c, 1)->hs.vote, 1);
    const ut_msg_t *v = net_find(&c, UT_MSG_VOTE, 1, 3);
    assert_non_null(v);
    assert_int_equal(v->term, 1);
    rc_drain(&c, 1000);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_LEADER);
    assert_int_equal(ut_consensus_leader(rc_h(&c, 2)), 1);
    assert_int_equal(ut_consensus_leader(rc_h(&c, 3)), 1);
    assert_int_equal(eterm(&c, 2, 1), 1);
    assert_int_equal(commit_of(&c, 1), 1);
    RC_OK(&c);
    rc_destroy(&c);

    /* Without pre-vote the campaign starts the election at once. */
    ut_consensus_config_t cfg = cfg_base();
    cfg.pre_vote = false;
    cluster(&c, 3, 0, &cfg);
    start(&c);
    assert_int_equal(rc_campaign(&c, 2), UT_OK);
    assert_int_equal(state_of(&c, 2), UT_CONSENSUS_CANDIDATE);
    assert_int_equal(term_of(&c, 2), 1);
    assert_int_equal(ut_consensus_vote(rc_h(&c, 2)), 2);
    assert_int_equal(net_count(&c, UT_MSG_VOTE), 2);
    assert_int_equal(net_count(&c, UT_MSG_PREVOTE), 0);
    /* A candidate cannot propose. */
    assert_int_equal(rc_propose(&c, 2, "x", 1, NULL), UT_ENOTLEADER);
    rc_drain(&c, 1000);
    assert_int_equal(state_of(&c, 2), UT_CONSENSUS_LEADER);
    RC_OK(&c);
    rc_destroy(&c);
}

/* §5.4.1: a vote is granted only to a candidate whose log is at least as
 * up-to-date (last term, then length), once per term. */
static void test_vote_restriction(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cfg.pre_vote = false;
    cluster(&c, 3, 0, &cfg);
    static const uint64_t t112[] = {1, 1, 2};
    assert_int_equal(rc_set_log(&c, 2, 2, 0, 0, t112, 3), UT_OK);
    start(&c);

    /* Longer log but lower last term: refused; the term is adopted. */
    ut_msg_t m = mk_vote(UT_MSG_VOTE, 1, 2, 3, 5, 1);
    assert_int_equal(rc_inject(&c, &m), UT_OK);
    assert_int_equal(term_of(&c, 2), 3);
    assert_int_equal(ut_consensus_vote(rc_h(&c, 2)), 0);
    const ut_msg_t *r = net_find(&c, UT_MSG_VOTE_RESP, 2, 1);
    assert_non_null(r);
    assert_false(r->body.vote_resp.granted);
    assert_int_equal(r->term, 3);
    while (c.n_net)
        rc_drop(&c, 0);

    /* Same last term, shorter log: refused. */
    m = mk_vote(UT_MSG_VOTE, 3, 2, 3, 2, 2);
    rc_inject(&c, &m);
    r = net_find(&c, UT_MSG_VOTE_RESP, 2, 3);
    assert_non_null(r);
    assert_false(r->body.vote_resp.granted);
    assert_int_equal(ut_consensus_vote(rc_h(&c, 2)), 0);
    while (c.n_net)
        rc_drop(&c, 0);

    /* Up to date: granted, and the vote is durable before the reply. */
    m = mk_vote(UT_MSG_VOTE, 3, 2, 3, 3, 2);
    assert_int_equal(rc_inject(&c, &m), UT_OK);
    r = net_find(&c, UT_MSG_VOTE_RESP, 2, 3);
    assert_non_null(r);
    assert_true(r->body.vote_resp.granted);
    assert_int_equal(ut_consensus_vote(rc_h(&c, 2)), 3);
    assert_int_equal(rc_node(&c, 2)->hs.term, 3);
    assert_int_equal(rc_node(&c, 2)->hs.vote, 3);
    while (c.n_net)
        rc_drop(&c, 0);

    /* One vote per term: a better candidate is refused, the same one is
     * granted again (its request was duplicated). */
    m = mk_vote(UT_MSG_VOTE, 1, 2, 3, 9, 3);
    rc_inject(&c, &m);
    r = net_find(&c, UT_MSG_VOTE_RESP, 2, 1);
    assert_non_null(r);
    assert_false(r->body.vote_resp.granted);
    assert_int_equal(ut_consensus_vote(rc_h(&c, 2)), 3);
    while (c.n_net)
        rc_drop(&c, 0);
    m = mk_vote(UT_MSG_VOTE, 3, 2, 3, 3, 2);
    rc_inject(&c, &m);
    r = net_find(&c, UT_MSG_VOTE_RESP, 2, 3);
    assert_non_null(r);
    assert_true(r->body.vote_resp.granted);
    RC_OK(&c);
    rc_destroy(&c);

    /* In a cluster: the node with the stale log cannot win, the other can. */
    cluster(&c, 3, 0, &cfg);
    static const uint64_t t11[] = {1, 1};
    assert_int_equal(rc_set_log(&c, 1, 2, 0, 0, t11, 2), UT_OK);
    assert_int_equal(rc_set_log(&c, 2, 2, 0, 0, t112, 3), UT_OK);
    assert_int_equal(rc_set_log(&c, 3, 2, 0, 0, t112, 3), UT_OK);
    start(&c);
    assert_false(rc_elect(&c, 1));
    assert_true(rc_elect(&c, 3));
    rc_run(&c, 500);
    assert_int_equal(eterm(&c, 1, 3), 2); /* repaired from the leader */
    RC_OK(&c);
    rc_destroy(&c);
}

/* Thesis §9.6: a pre-vote request never changes the receiver's term or vote. */
static void test_prevote_does_not_change_term(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cfg.check_quorum = false;
    cluster(&c, 3, 0, &cfg);
    static const uint64_t t112[] = {1, 1, 2};
    assert_int_equal(rc_set_log(&c, 2, 2, 1, 0, t112, 3), UT_OK);
    start(&c);
    snap_t s = take(rc_h(&c, 2));
    ut_msg_t m = mk_vote(UT_MSG_PREVOTE, 3, 2, 5, 3, 2);
    assert_int_equal(rc_inject(&c, &m), UT_OK);
    ASSERT_UNCHANGED(s, rc_h(&c, 2));
    const ut_msg_t *r = net_find(&c, UT_MSG_PREVOTE_RESP, 2, 3);
    assert_non_null(r);
    assert_true(r->body.vote_resp.granted);
    while (c.n_net)
        rc_drop(&c, 0);
    m = mk_vote(UT_MSG_PREVOTE, 3, 2, 5, 2, 2); /* log behind */
    rc_inject(&c, &m);
    ASSERT_UNCHANGED(s, rc_h(&c, 2));
    r = net_find(&c, UT_MSG_PREVOTE_RESP, 2, 3);
    assert_non_null(r);
    assert_false(r->body.vote_resp.granted);
    RC_OK(&c);
    rc_destroy(&c);
}

/* §5.2: with pre-vote off, two simultaneous candidates: one wins (3 nodes);
 * a split vote (4 nodes) elects nobody in that term, but randomised
 * timeouts elect exactly one leader later. */
static void test_dueling_candidates(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cfg.pre_vote = false;
    cluster(&c, 3, 0, &cfg);
    start(&c);
    assert_int_equal(rc_campaign(&c, 1), UT_OK);
    assert_int_equal(rc_campaign(&c, 2), UT_OK);
    rc_drain(&c, 1000);
    assert_int_equal(rc_count_leaders(&c), 1);
    uint64_t l = rc_leader(&c);
    assert_true(l == 1 || l == 2);
    assert_int_equal(term_of(&c, l), 1);
    for (uint64_t id = 1; id <= 3; id++)
        assert_int_equal(term_of(&c, id), 1);
    assert_int_equal(state_of(&c, l == 1 ? 2 : 1), UT_CONSENSUS_FOLLOWER);
    RC_OK(&c);
    rc_destroy(&c);
}

static bool vote_from_to(const ut_msg_t *m, void *ud)
{
    const uint64_t *ft = ud;
    return m->type == UT_MSG_VOTE && m->from == ft[0] && m->to == ft[1];
}

static void test_split_vote_then_one_leader(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cfg.pre_vote = false;
    cluster(&c, 4, 0, &cfg);
    start(&c);
    assert_int_equal(rc_campaign(&c, 1), UT_OK);
    assert_int_equal(rc_campaign(&c, 2), UT_OK);
    uint64_t a[2] = {1, 3}, b[2] = {2, 4};
    assert_int_equal(rc_deliver_if(&c, vote_from_to, a, 1), 1);
    assert_int_equal(rc_deliver_if(&c, vote_from_to, b, 1), 1);
    rc_drain(&c, 1000);
    /* 2 of 4 votes each: no leader in term 1. */
    assert_int_equal(rc_count_leaders(&c), 0);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_CANDIDATE);
    assert_int_equal(state_of(&c, 2), UT_CONSENSUS_CANDIDATE);
    assert_true(rc_run_until(&c, rc_has_leader, NULL, 30 * cfg.election_timeout_ms));
    assert_int_equal(rc_count_leaders(&c), 1);
    uint64_t l = rc_leader(&c);
    assert_true(term_of(&c, l) >= 2);
    RC_OK(&c);
    rc_destroy(&c);
}

/* ---- log replication (§5.3) ---------------------------------------------- */

/* Figure 7: the leader of term 8 and followers a–f. The third node holds the
 * leader's log so that the leader wins whatever the follower votes. */
static const uint64_t FIG7_LEADER[] = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6};
static const uint64_t FIG7_A[] = {1, 1, 1, 4, 4, 5, 5, 6, 6};
static const uint64_t FIG7_B[] = {1, 1, 1, 4};
static const uint64_t FIG7_C[] = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6};
static const uint64_t FIG7_D[] = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7};
static const uint64_t FIG7_E[] = {1, 1, 1, 4, 4, 4, 4};
static const uint64_t FIG7_F[] = {1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3};

typedef struct fig7_probe {
    const uint64_t *terms;
    size_t n;
    bool seen;
    uint64_t index, hint_term, hint_index;
    size_t rejections;
} fig7_probe_t;

static void fig7_hook(rc_cluster_t *c, const ut_msg_t *m, void *ud)
{
    (void)c;
    fig7_probe_t *p = ud;
    if (m->type != UT_MSG_APPEND_RESP || m->from != 2 || m->body.append_resp.success)
        return;
    p->rejections++;
    if (p->seen)
        return;
    p->seen = true;
    p->index = m->body.append_resp.index;
    p->hint_term = m->body.append_resp.hint_term;
    p->hint_index = m->body.append_resp.hint_index;
}

static void figure7_case(const uint64_t *terms, size_t n, bool conflicts)
{
    rc_cluster_t c;
    cluster(&c, 3, 0, NULL);
    const size_t nl = sizeof FIG7_LEADER / sizeof FIG7_LEADER[0];
    assert_int_equal(rc_set_log(&c, 1, 7, 0, 0, FIG7_LEADER, nl), UT_OK);
    assert_int_equal(rc_set_log(&c, 2, 7, 0, 0, terms, n), UT_OK);
    assert_int_equal(rc_set_log(&c, 3, 7, 0, 0, FIG7_LEADER, nl), UT_OK);
    fig7_probe_t p = {terms, n, false, 0, 0, 0, 0};
    c.on_send = fig7_hook;
    c.on_send_ud = &p;
    assert_true(rc_elect(&c, 1));
    assert_int_equal(term_of(&c, 1), 8);
    rc_run(&c, 500); /* heartbeats carry the commit index */
    RC_OK(&c);

    /* The follower's log now equals the leader's: entries 1..10 and the
     * term-8 no-op at 11; conflicting suffixes were deleted. */
    rc_node_t *f = rc_node(&c, 2);
    assert_int_equal(f->n_log, nl + 1);
    assert_int_equal(last_of(&c, 2), nl + 1);
    for (size_t i = 0; i < nl; i++) {
        assert_int_equal(f->log[i].term, FIG7_LEADER[i]);
        assert_int_equal(eterm(&c, 2, i + 1), FIG7_LEADER[i]);
    }
    assert_int_equal(f->log[nl].term, 8);
    assert_int_equal(f->log[nl].type, UT_ENTRY_NOOP);
    if (conflicts)
        assert_true(f->truncations > 0);
    else
        assert_int_equal(f->truncations, 0);
    for (uint64_t id = 1; id <= 3; id++)
        assert_int_equal(commit_of(&c, id), nl + 1);
    assert_true(rc_all_applied(&c, nl + 1));

    /* Fast backtracking: a rejection names the conflicting term and its first
     * index, or the follower's last index + 1 when its log is short. */
    if (p.seen) {
        uint64_t pi = p.index;
        if (pi > n) {
            assert_int_equal(p.hint_term, 0);
            assert_int_equal(p.hint_index, n + 1);
        } else {
            uint64_t t = terms[pi - 1];
            uint64_t first = pi;
            while (first > 1 && terms[first - 2] == t)
                first--;
            assert_int_equal(p.hint_term, t);
            assert_int_equal(p.hint_index, first);
        }
        /* With hints, repair takes a handful of round trips, not one per
         * entry. */
        assert_true(p.rejections <= 4);
    }
    RC_OK(&c);
    rc_destroy(&c);
}

static void test_figure7_a(void **s)
{
    (void)s;
    figure7_case(FIG7_A, 9, false);
}
static void test_figure7_b(void **s)
{
    (void)s;
    figure7_case(FIG7_B, 4, false);
}
static void test_figure7_c(void **s)
{
    (void)s;
    figure7_case(FIG7_C, 11, true);
}
static void test_figure7_d(void **s)
{
    (void)s;
    figure7_case(FIG7_D, 12, true);
}
static void test_figure7_e(void **s)
{
    (void)s;
    figure7_case(FIG7_E, 7, true);
}
static void test_figure7_f(void **s)
{
    (void)s;
    figure7_case(FIG7_F, 11, true);
}

/* Figure 8 / §5.4.2. S1..S5 after term 3: S1, S2 = [1,2], S3, S4 = [1],
 * S5 = [1,3]. S1 is elected in term 4 and replicates the term-2 entry to S3,
 * so it sits on a majority, but S1's term-4 no-op does not yet: counting
 * replicas must not commit index 2. */
static bool fig8_election(const ut_msg_t *m, void *ud)
{
    (void)ud;
    return m->type == UT_MSG_PREVOTE || m->type == UT_MSG_PREVOTE_RESP || m->type == UT_MSG_VOTE ||
           m->type == UT_MSG_VOTE_RESP;
}

static bool fig8_s123(const ut_msg_t *m, void *ud)
{
    rc_cluster_t *c = ud;
    if (m->from > 3 || m->to > 3)
        return false;
    if (m->type != UT_MSG_APPEND && m->type != UT_MSG_APPEND_RESP)
        return false;
    /* Hold back whatever would give S3 index 3 (the term-4 no-op). */
    if (m->type == UT_MSG_APPEND && m->to == 3 && m->body.append.n_entries > 0 &&
        m->body.append.prev_index + m->body.append.n_entries >= 3 &&
        m->body.append.prev_index <= last_of(c, 3))
        return false;
    return true;
}

static void figure8_setup(rc_cluster_t *c)
{
    ut_consensus_config_t cfg = cfg_base();
    cfg.max_append_entries = 1;
    cfg.check_quorum = false;
    cluster(c, 5, 0, &cfg);
    static const uint64_t s12[] = {1, 2}, s34[] = {1}, s5[] = {1, 3};
    assert_int_equal(rc_set_log(c, 1, 3, 0, 1, s12, 2), UT_OK);
    assert_int_equal(rc_set_log(c, 2, 3, 0, 1, s12, 2), UT_OK);
    assert_int_equal(rc_set_log(c, 3, 3, 0, 1, s34, 1), UT_OK);
    assert_int_equal(rc_set_log(c, 4, 3, 0, 1, s34, 1), UT_OK);
    assert_int_equal(rc_set_log(c, 5, 3, 5, 1, s5, 2), UT_OK);
    assert_int_equal(rc_campaign(c, 1), UT_OK);
    rc_deliver_if(c, fig8_election, NULL, 1000);
    assert_int_equal(state_of(c, 1), UT_CONSENSUS_LEADER);
    assert_int_equal(term_of(c, 1), 4);
    rc_deliver_if(c, fig8_s123, c, 1000);
    RC_OK(c);
    /* Index 2 (term 2) is on S1, S2, S3: a majority of 5. */
    assert_int_equal(eterm(c, 2, 2), 2);
    assert_int_equal(eterm(c, 3, 2), 2);
    assert_int_equal(last_of(c, 3), 2);
    /* ...but it is not of the current term, so it is not committed. */
    assert_int_equal(commit_of(c, 1), 1);
}

static bool to_node(const ut_msg_t *m, void *ud)
{
    return m->to == *(const uint64_t *)ud;
}
static bool any_msg(const ut_msg_t *m, void *ud)
{
    (void)m;
    (void)ud;
    return true;
}

static void test_figure8_old_term_not_committed_by_count(void **state)
{
    (void)state;
    rc_cluster_t c;
    figure8_setup(&c);
    /* (e) S1 crashes; S5 (last term 3) wins with S3, S4 and overwrites
     * index 2 everywhere. Had S1 committed it, an applied entry would be
     * lost (the harness would report State Machine Safety). */
    rc_crash(&c, 1);
    rc_drop_if(&c, any_msg, NULL);
    /* S2 and S3 just heard from S1: with pre-vote they ignore S5 until S1's
     * lease (one election timeout) has run out (thesis §9.6). */
    rc_advance(&c, 1); /* the first tick fixes the clocks' origin */
    rc_advance(&c, 1000);
    assert_true(rc_elect(&c, 5));
    assert_int_equal(term_of(&c, 5), 5);
    rc_run(&c, 500);
    for (uint64_t id = 2; id <= 5; id++) {
        assert_int_equal(eterm(&c, id, 2), 3);
        assert_true(commit_of(&c, id) >= 3);
    }
    assert_int_equal(rc_restart(&c, 1), UT_OK);
    rc_run(&c, 500);
    assert_int_equal(eterm(&c, 1, 2), 3);
    assert_true(rc_all_applied(&c, 3));
    for (uint64_t id = 1; id <= 5; id++)
        assert_int_equal(rc_node(&c, id)->applied[1].term, 3);
    RC_OK(&c);
    rc_destroy(&c);
}

static void test_figure8_current_term_commits_older(void **state)
{
    (void)state;
    rc_cluster_t c;
    figure8_setup(&c);
    /* Once the term-4 no-op reaches S3, index 3 is on a majority and commits
     * index 2 with it (§5.4.2: committed indirectly). */
    uint64_t three = 3;
    rc_deliver_if(&c, to_node, &three, 10);
    uint64_t one = 1;
    rc_deliver_if(&c, to_node, &one, 10);
    rc_drain(&c, 1000);
    assert_int_equal(commit_of(&c, 1), 3);
    RC_OK(&c);
    rc_destroy(&c);
}

/* §5.3 with ready/advance: an entry is committed when a majority has it
 * durably. The leader's own copy counts only once advance() confirms it is
 * persisted, even when a follower's acknowledgement arrives first. */
static bool append_to(const ut_msg_t *m, void *ud)
{
    return m->type == UT_MSG_APPEND && m->to == *(const uint64_t *)ud;
}
static bool append_resp_to(const ut_msg_t *m, void *ud)
{
    return m->type == UT_MSG_APPEND_RESP && m->to == *(const uint64_t *)ud;
}

static void test_leader_counts_itself_only_when_durable(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cfg.check_quorum = false;
    cluster(&c, 3, 0, &cfg);
    start(&c);
    assert_true(rc_elect(&c, 1));
    rc_run(&c, 300);
    ut_consensus_t *l = rc_h(&c, 1);
    uint64_t before = commit_of(&c, 1), idx = 0;
    assert_int_equal(ut_consensus_propose(l, "d", 1, &idx), UT_OK);
    ut_consensus_ready_t rd;
    assert_int_equal(ut_consensus_ready(l, &rd), UT_OK);
    assert_int_equal(rd.n_entries, 1);
    assert_int_equal(rd.entries[0].index, idx);
    /* The caller persists and sends, but has not called advance yet. */
    rc_handle_ready(&c, 1, &rd);
    uint64_t two = 2, one = 1;
    assert_int_equal(rc_deliver_if(&c, append_to, &two, 1), 1);
    assert_int_equal(last_of(&c, 2), idx);
    assert_int_equal(rc_deliver_if(&c, append_resp_to, &one, 1), 1);
    /* Node 2 has it durably, the leader has not confirmed its own copy. */
    assert_int_equal(commit_of(&c, 1), before);
    assert_int_equal(ut_consensus_advance(l, &rd), UT_OK);
    assert_int_equal(commit_of(&c, 1), idx);
    rc_process(&c, 1);
    rc_drain(&c, 1000);
    rc_run(&c, 300);
    assert_true(applied_payload(&c, 3, "d", 1));
    RC_OK(&c);
    rc_destroy(&c);
}

static void elect_and_commit(rc_cluster_t *c, uint64_t leader, size_t n_props);

/* consensus.h: every pointer in a ready stays valid until advance, even if
 * the node takes input (step, propose, tick) in between, including input
 * that truncates or grows the log. */
static void test_ready_pointers_valid_until_advance(void **state)
{
    (void)state;
    /* Follower: entries 1..3 of term 1 handed out, then a term-2 leader
     * overwrites them before the caller advanced. */
    ut_consensus_t *h = raw_new(2);
    assert_int_equal(ut_consensus_tick(h, 0), UT_OK);
    ut_entry_t es[3];
    uint8_t pay[3][16];
    static const uint64_t t111[] = {1, 1, 1}, t222[] = {2, 2, 2};
    mk_entries(es, pay, 1, t111, 3);
    ut_msg_t m = mk_append(1, 2, 1, 0, 0, 0, es, 3);
    assert_int_equal(ut_consensus_step(h, &m), UT_OK);
    ut_consensus_ready_t rd;
    assert_int_equal(ut_consensus_ready(h, &rd), UT_OK);
    assert_int_equal(rd.n_entries, 3);
    assert_int_equal(rd.n_msgs, 1);
    mk_entries(es, pay, 1, t222, 3);
    m = mk_append(3, 2, 2, 0, 0, 0, es, 3);
    assert_int_equal(ut_consensus_step(h, &m), UT_OK);
    assert_int_equal(ut_consensus_tick(h, 10), UT_OK);
    for (size_t i = 0; i < 3; i++) {
        uint8_t want[16];
        rc_payload(want, 1, i + 1);
        assert_int_equal(rd.entries[i].term, 1);
        assert_int_equal(rd.entries[i].index, i + 1);
        assert_int_equal(rd.entries[i].len, 16);
        assert_memory_equal(rd.entries[i].data, want, 16);
    }
    assert_int_equal(rd.msgs[0].type, UT_MSG_APPEND_RESP);
    assert_int_equal(rd.msgs[0].to, 1);
    assert_int_equal(ut_consensus_advance(h, &rd), UT_OK);
    /* The next ready replaces them. */
    assert_int_equal(ut_consensus_ready(h, &rd), UT_OK);
    assert_int_equal(rd.truncate_from, 1);
    assert_int_equal(rd.n_entries, 3);
    assert_int_equal(rd.entries[0].term, 2);
    assert_int_equal(ut_consensus_advance(h, &rd), UT_OK);
    ut_consensus_free(h);

    /* Leader: an APPEND handed out, then thousands of proposals (the log
     * and the outbox grow) before advance. */
    rc_cluster_t c;
    cluster(&c, 3, 0, NULL);
    elect_and_commit(&c, 1, 0);
    ut_consensus_t *l = rc_h(&c, 1);
    static const char first[] = "first-payload";
    assert_int_equal(ut_consensus_propose(l, first, sizeof first, NULL), UT_OK);
    assert_int_equal(ut_consensus_ready(l, &rd), UT_OK);
    assert_true(rd.n_msgs >= 1);
    static uint8_t big[3000];
    memset(big, 0x5a, sizeof big);
    for (int i = 0; i < 2000; i++)
        assert_int_equal(ut_consensus_propose(l, big, sizeof big, NULL), UT_OK);
    assert_int_equal(rd.n_entries, 1);
    assert_memory_equal(rd.entries[0].data, first, sizeof first);
    bool seen = false;
    for (size_t i = 0; i < rd.n_msgs; i++)
        if (rd.msgs[i].type == UT_MSG_APPEND && rd.msgs[i].body.append.n_entries > 0) {
            const ut_msg_append_t *a = &rd.msgs[i].body.append;
            assert_memory_equal(a->entries[a->n_entries - 1].data, first, sizeof first);
            seen = true;
        }
    assert_true(seen);
    rc_handle_ready(&c, 1, &rd);
    assert_int_equal(ut_consensus_advance(l, &rd), UT_OK);
    rc_process(&c, 1);
    rc_drain(&c, 100000);
    rc_run(&c, 300);
    assert_true(rc_all_applied(&c, 2002));
    RC_OK(&c);
    rc_destroy(&c);
}

/* Figure 2, AppendEntries rule 5: commitIndex = min(leaderCommit, index of
 * the last new entry), and it never decreases. */
static void test_follower_commit_bounded_by_new_entries(void **state)
{
    (void)state;
    rc_cluster_t c;
    cluster(&c, 3, 0, NULL);
    static const uint64_t t1111[] = {1, 1, 1, 1};
    assert_int_equal(rc_set_log(&c, 2, 1, 1, 0, t1111, 4), UT_OK);
    start(&c);
    ut_entry_t es[1];
    uint8_t pay[1][16];
    static const uint64_t t1[] = {1};
    mk_entries(es, pay, 2, t1, 1);
    ut_msg_t m = mk_append(1, 2, 1, 1, 1, 4, es, 1);
    assert_int_equal(rc_inject(&c, &m), UT_OK);
    assert_int_equal(commit_of(&c, 2), 2);
    assert_int_equal(last_of(&c, 2), 4); /* matching entries are kept */
    assert_int_equal(rc_node(&c, 2)->truncations, 0);
    assert_int_equal(ut_consensus_leader(rc_h(&c, 2)), 1);
    const ut_msg_t *r = net_find(&c, UT_MSG_APPEND_RESP, 2, 1);
    assert_non_null(r);
    assert_true(r->body.append_resp.success);
    assert_int_equal(r->body.append_resp.index, 2);
    m = mk_append(1, 2, 1, 4, 1, 3, NULL, 0);
    assert_int_equal(rc_inject(&c, &m), UT_OK);
    assert_int_equal(commit_of(&c, 2), 3);
    m = mk_append(1, 2, 1, 1, 1, 4, NULL, 0); /* min(4, 1) = 1 < 3 */
    assert_int_equal(rc_inject(&c, &m), UT_OK);
    assert_int_equal(commit_of(&c, 2), 3);
    m = mk_append(1, 2, 1, 4, 1, 4, NULL, 0);
    assert_int_equal(rc_inject(&c, &m), UT_OK);
    assert_int_equal(commit_of(&c, 2), 4);
    assert_int_equal(rc_node(&c, 2)->n_applied, 4);
    RC_OK(&c);
    rc_destroy(&c);
}

static void elect_and_commit(rc_cluster_t *c, uint64_t leader, size_t n_props)
{
    start(c);
    assert_true(rc_elect(c, leader));
    for (size_t i = 0; i < n_props; i++) {
        char buf[32];
        int len = snprintf(buf, sizeof buf, "entry-%zu", i);
        assert_int_equal(rc_propose(c, leader, buf, (size_t)len, NULL), UT_OK);
        rc_drain(c, 10000);
    }
    rc_run(c, 3 * c->cfg.heartbeat_ms);
    RC_OK(c);
}

/* §5.3: AppendEntries is idempotent; stale, duplicated and reordered copies
 * change nothing on the follower (and their replies nothing on the leader). */
static void test_stale_duplicate_reordered_appends_harmless(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cfg.check_quorum = false;
    cluster(&c, 3, 0, &cfg);
    c.record = true;
    elect_and_commit(&c, 1, 5);
    c.record = false;
    assert_true(rc_all_applied(&c, 6));
    snap_t s1 = take(rc_h(&c, 1)), s2 = take(rc_h(&c, 2));
    uint64_t tr = rc_node(&c, 2)->truncations;
    size_t nh = c.n_hist;
    /* Replay every APPEND ever sent to 2, newest first, then oldest first,
     * each twice. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t k = 0; k < nh; k++) {
            size_t i = pass == 0 ? nh - 1 - k : k;
            ut_msg_t m = c.hist[i].m;
            if (m.type != UT_MSG_APPEND || m.to != 2)
                continue;
            assert_int_equal(rc_inject(&c, &m), UT_OK);
            assert_int_equal(rc_inject(&c, &m), UT_OK);
            rc_drain(&c, 1000); /* the replies reach the leader too */
            RC_OK(&c);
        }
    s2.ready = false;
    s1.ready = false;
    ASSERT_UNCHANGED(s2, rc_h(&c, 2));
    ASSERT_UNCHANGED(s1, rc_h(&c, 1));
    assert_int_equal(rc_node(&c, 2)->truncations, tr);
    assert_true(rc_all_applied(&c, 6));

    /* A new leader in term 2; the old leader's term-1 appends are stale. */
    assert_true(rc_elect(&c, 2));
    rc_drain(&c, 1000);
    uint64_t t = term_of(&c, 3);
    assert_int_equal(t, 2);
    snap_t s3 = take(rc_h(&c, 3));
    for (size_t i = 0; i < nh; i++) {
        ut_msg_t m = c.hist[i].m;
        if (m.type != UT_MSG_APPEND || m.from != 1)
            continue;
        m.to = 3;
        assert_int_equal(rc_inject(&c, &m), UT_ESTALE);
        const ut_msg_t *r = net_find(&c, UT_MSG_APPEND_RESP, 3, 1);
        assert_non_null(r);
        assert_false(r->body.append_resp.success);
        assert_int_equal(r->term, 2);
        rc_drop_if(&c, any_msg, NULL);
        ASSERT_UNCHANGED(s3, rc_h(&c, 3));
    }
    /* And the cluster still works. */
    assert_int_equal(rc_propose(&c, 2, "after", 5, NULL), UT_OK);
    rc_drain(&c, 1000);
    rc_run(&c, 300);
    assert_true(rc_all_applied(&c, 8));
    RC_OK(&c);
    rc_destroy(&c);
}

/* §5.3 / Figure 2 rule 3: an AppendEntries delayed in the network whose
 * entries the follower already has must not truncate them or lower commit. */
static void test_delayed_append_keeps_commit_and_log(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cfg.check_quorum = false;
    cluster(&c, 3, 0, &cfg);
    c.record = true;
    elect_and_commit(&c, 1, 4); /* indexes 2..5 */
    c.record = false;
    assert_int_equal(commit_of(&c, 2), 5);
    uint64_t last = last_of(&c, 2);
    uint64_t tr = rc_node(&c, 2)->truncations;
    size_t replayed = 0;
    for (size_t i = 0; i < c.n_hist; i++) {
        ut_msg_t m = c.hist[i].m;
        if (m.type != UT_MSG_APPEND || m.to != 2 || m.body.append.n_entries == 0)
            continue;
        assert_true(m.body.append.commit < 5);
        assert_int_equal(rc_inject(&c, &m), UT_OK);
        replayed++;
        assert_int_equal(commit_of(&c, 2), 5);
        assert_int_equal(last_of(&c, 2), last);
        assert_int_equal(rc_node(&c, 2)->truncations, tr);
        const ut_msg_t *r = net_find(&c, UT_MSG_APPEND_RESP, 2, 1);
        assert_non_null(r);
        assert_true(r->body.append_resp.success);
        rc_drain(&c, 100);
    }
    assert_true(replayed >= 4);
    assert_int_equal(commit_of(&c, 1), 5);
    RC_OK(&c);
    rc_destroy(&c);
}

/* ---- failures -------------------------------------------------------------- */

static bool leader_other_than(rc_cluster_t *c, void *ud)
{
    uint64_t old = *(const uint64_t *)ud;
    uint64_t l = rc_leader(c);
    return l != 0 && l != old && rc_has_leader(c, NULL);
}

/* §5.2 / §5.4: the leader crashes, a new one is elected among the others with
 * every committed entry, and the old leader rejoins as a follower. */
static void test_leader_crash_new_leader(void **state)
{
    (void)state;
    rc_cluster_t c;
    cluster(&c, 3, 0, NULL);
    start(&c);
    assert_true(rc_run_until(&c, rc_has_leader, NULL, 20000));
    uint64_t l = rc_leader(&c);
    uint64_t t = term_of(&c, l);
    assert_int_equal(rc_propose(&c, l, "a", 1, NULL), UT_OK);
    rc_run(&c, 300);
    for (uint64_t id = 1; id <= 3; id++)
        assert_true(applied_payload(&c, id, "a", 1));
    rc_crash(&c, l);
    assert_true(rc_run_until(&c, leader_other_than, &l, 20000));
    uint64_t n = rc_leader(&c);
    assert_true(term_of(&c, n) > t);
    assert_int_equal(rc_propose(&c, n, "b", 1, NULL), UT_OK);
    rc_run(&c, 300);
    for (uint64_t id = 1; id <= 3; id++)
        if (id != l)
            assert_true(applied_payload(&c, id, "b", 1));
    assert_int_equal(rc_restart(&c, l), UT_OK);
    assert_int_equal(state_of(&c, l), UT_CONSENSUS_FOLLOWER);
    rc_run(&c, 1000);
    assert_int_equal(ut_consensus_leader(rc_h(&c, l)), n);
    assert_true(applied_payload(&c, l, "b", 1));
    assert_true(rc_all_applied(&c, rc_node(&c, n)->n_applied));
    RC_OK(&c);
    rc_destroy(&c);
}

static bool majority_leader(rc_cluster_t *c, void *ud)
{
    (void)ud;
    for (uint64_t id = 3; id <= 5; id++)
        if (state_of(c, id) == UT_CONSENSUS_LEADER)
            return true;
    return false;
}

/* §5.2, §5.3, §5.4: a leader cut off with a minority cannot commit; the
 * majority elects a leader and commits; on healing the old leader steps down
 * and its uncommitted entry is overwritten. */
static void test_partition_minority_leader_cannot_commit(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cfg.check_quorum = false; /* keep the minority leader in place */
    cluster(&c, 5, 0, &cfg);
    elect_and_commit(&c, 1, 1);
    uint64_t t1 = term_of(&c, 1);
    uint64_t minority[] = {1, 2};
    rc_partition(&c, minority, 2);
    uint64_t xi = 0;
    assert_int_equal(rc_propose(&c, 1, "x", 1, &xi), UT_OK);
    rc_run(&c, 5000);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_LEADER); /* still thinks so */
    assert_true(commit_of(&c, 1) < xi);
    assert_int_equal(last_of(&c, 2), xi); /* replicated, not committed */
    assert_true(rc_run_until(&c, majority_leader, NULL, 20000));
    uint64_t m = rc_leader(&c);
    assert_true(m >= 3);
    uint64_t tm = term_of(&c, m);
    assert_true(tm > t1);
    assert_int_equal(rc_propose(&c, m, "y", 1, NULL), UT_OK);
    rc_run(&c, 500);
    for (uint64_t id = 3; id <= 5; id++)
        assert_true(applied_payload(&c, id, "y", 1));
    assert_true(commit_of(&c, 1) < xi);
    rc_heal(&c);
    rc_run(&c, 2000);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_FOLLOWER);
    assert_int_equal(rc_count_leaders(&c), 1);
    uint64_t now_leader = rc_leader(&c);
    assert_int_equal(ut_consensus_leader(rc_h(&c, 1)), now_leader);
    /* "x" was overwritten on 1 and 2 and applied nowhere. */
    assert_true(eterm(&c, 1, xi) > t1);
    assert_true(eterm(&c, 2, xi) > t1);
    for (uint64_t id = 1; id <= 5; id++) {
        assert_false(applied_payload(&c, id, "x", 1));
        assert_true(applied_payload(&c, id, "y", 1));
    }
    assert_true(rc_all_applied(&c, rc_node(&c, now_leader)->n_applied));
    RC_OK(&c);
    rc_destroy(&c);
}

/* Thesis §6.2: check-quorum. A leader that cannot reach a majority of voters
 * for an election timeout steps down (same term); without check-quorum it
 * stays leader. */
static void test_check_quorum_step_down(void **state)
{
    (void)state;
    rc_cluster_t c;
    cluster(&c, 3, 0, NULL);
    elect_and_commit(&c, 1, 0);
    uint64_t t = term_of(&c, 1);
    rc_isolate(&c, 1);
    rc_run(&c, 2 * c.cfg.election_timeout_ms + 2 * c.cfg.heartbeat_ms);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_FOLLOWER);
    assert_int_equal(term_of(&c, 1), t); /* stepping down is not a new term */
    assert_int_equal(rc_propose(&c, 1, "x", 1, NULL), UT_ENOTLEADER);
    /* The other side elected its own leader meanwhile. */
    assert_true(state_of(&c, 2) == UT_CONSENSUS_LEADER || state_of(&c, 3) == UT_CONSENSUS_LEADER);
    RC_OK(&c);
    rc_destroy(&c);

    ut_consensus_config_t cfg = cfg_base();
    cfg.check_quorum = false;
    cluster(&c, 3, 0, &cfg);
    elect_and_commit(&c, 1, 0);
    rc_isolate(&c, 1);
    rc_run(&c, 10 * cfg.election_timeout_ms);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_LEADER);
    assert_int_equal(term_of(&c, 1), t);
    RC_OK(&c);
    rc_destroy(&c);
}

/* Thesis §4.2.3: with check-quorum, a follower that heard from its leader
 * within the election timeout ignores vote and pre-vote requests. */
static void test_leader_lease_ignores_votes(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cfg.pre_vote = false;
    cluster(&c, 3, 0, &cfg);
    elect_and_commit(&c, 1, 1);
    uint64_t t = term_of(&c, 1);
    uint64_t li = last_of(&c, 2);
    snap_t s2 = take(rc_h(&c, 2));
    ut_msg_t m = mk_vote(UT_MSG_VOTE, 3, 2, t + 1, li, t);
    (void)rc_inject(&c, &m);
    ASSERT_UNCHANGED(s2, rc_h(&c, 2));
    const ut_msg_t *r = net_find(&c, UT_MSG_VOTE_RESP, 2, 3);
    assert_true(r == NULL || !r->body.vote_resp.granted);
    m = mk_vote(UT_MSG_PREVOTE, 3, 2, t + 1, li, t);
    (void)rc_inject(&c, &m);
    ASSERT_UNCHANGED(s2, rc_h(&c, 2));
    r = net_find(&c, UT_MSG_PREVOTE_RESP, 2, 3);
    assert_true(r == NULL || !r->body.vote_resp.granted);
    rc_drop_if(&c, any_msg, NULL);
    RC_OK(&c);
    rc_destroy(&c);

    /* Without check-quorum the same vote request is honoured (§5.1). */
    cfg.check_quorum = false;
    cluster(&c, 3, 0, &cfg);
    elect_and_commit(&c, 1, 1);
    t = term_of(&c, 1);
    li = last_of(&c, 2);
    m = mk_vote(UT_MSG_VOTE, 3, 2, t + 1, li, t);
    assert_int_equal(rc_inject(&c, &m), UT_OK);
    assert_int_equal(term_of(&c, 2), t + 1);
    assert_int_equal(ut_consensus_vote(rc_h(&c, 2)), 3);
    r = net_find(&c, UT_MSG_VOTE_RESP, 2, 3);
    assert_non_null(r);
    assert_true(r->body.vote_resp.granted);
    RC_OK(&c);
    rc_destroy(&c);
}

/* Thesis §9.6: a node rejoining after a partition. With pre-vote its term did
 * not grow while it was cut off and the leader keeps its term; without
 * pre-vote (and without check-quorum) it forces a new election. */
static void disruptive_rejoin(bool pre_vote)
{
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cfg.pre_vote = pre_vote;
    cfg.check_quorum = pre_vote;
    cluster(&c, 3, 0, &cfg);
    elect_and_commit(&c, 1, 1);
    uint64_t t = term_of(&c, 1);
    rc_isolate(&c, 3);
    assert_int_equal(rc_propose(&c, 1, "p", 1, NULL), UT_OK);
    rc_run(&c, 10 * cfg.election_timeout_ms);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_LEADER);
    assert_int_equal(term_of(&c, 1), t);
    if (pre_vote) {
        assert_int_equal(term_of(&c, 3), t);
        assert_int_equal(state_of(&c, 3), UT_CONSENSUS_FOLLOWER);
    } else {
        assert_true(term_of(&c, 3) > t);
    }
    rc_heal(&c);
    rc_run(&c, 3 * cfg.election_timeout_ms);
    assert_true(rc_run_until(&c, rc_has_leader, NULL, 20 * cfg.election_timeout_ms));
    uint64_t l = rc_leader(&c);
    if (pre_vote) {
        assert_int_equal(l, 1);
        assert_int_equal(term_of(&c, 1), t);
        assert_int_equal(term_of(&c, 3), t);
    } else {
        assert_true(term_of(&c, l) > t);
        assert_true(l != 3); /* its log is behind (§5.4.1) */
    }
    rc_run(&c, 500);
    assert_true(applied_payload(&c, 3, "p", 1));
    RC_OK(&c);
    rc_destroy(&c);
}

static void test_rejoin_with_prevote_not_disruptive(void **s)
{
    (void)s;
    disruptive_rejoin(true);
}
static void test_rejoin_without_prevote_disrupts(void **s)
{
    (void)s;
    disruptive_rejoin(false);
}

/* §5.1: a message from an older term is refused with a reply carrying the
 * current term; a newer term turns any node into a follower of that term. */
static void test_term_rules(void **state)
{
    (void)state;
    rc_cluster_t c;
    cluster(&c, 3, 0, NULL);
    static const uint64_t t112[] = {1, 1, 2};
    assert_int_equal(rc_set_log(&c, 2, 5, 0, 0, t112, 3), UT_OK);
    start(&c);
    snap_t s = take(rc_h(&c, 2));
    ut_msg_t m = mk_append(1, 2, 3, 3, 2, 0, NULL, 0);
    assert_int_equal(rc_inject(&c, &m), UT_ESTALE);
    const ut_msg_t *r = net_find(&c, UT_MSG_APPEND_RESP, 2, 1);
    assert_non_null(r);
    assert_false(r->body.append_resp.success);
    assert_int_equal(r->term, 5);
    /* Only a term notice: hint_index 0, which no real rejection carries. */
    assert_int_equal(r->body.append_resp.hint_index, 0);
    assert_int_equal(r->body.append_resp.index, 0);
    ASSERT_UNCHANGED(s, rc_h(&c, 2));
    m = mk_vote(UT_MSG_VOTE, 3, 2, 4, 9, 4);
    assert_int_equal(rc_inject(&c, &m), UT_ESTALE);
    r = net_find(&c, UT_MSG_VOTE_RESP, 2, 3);
    assert_non_null(r);
    assert_false(r->body.vote_resp.granted);
    assert_int_equal(r->term, 5);
    ASSERT_UNCHANGED(s, rc_h(&c, 2));
    m = mk_vote(UT_MSG_PREVOTE, 3, 2, 4, 9, 4);
    assert_int_equal(rc_inject(&c, &m), UT_ESTALE);
    r = net_find(&c, UT_MSG_PREVOTE_RESP, 2, 3);
    assert_non_null(r);
    assert_false(r->body.vote_resp.granted);
    ASSERT_UNCHANGED(s, rc_h(&c, 2));
    /* Stale responses are ignored too. */
    m = mk_msg(UT_MSG_VOTE_RESP, 3, 2, 1);
    m.body.vote_resp.granted = true;
    assert_int_equal(rc_inject(&c, &m), UT_ESTALE);
    ASSERT_UNCHANGED(s, rc_h(&c, 2));
    RC_OK(&c);
    rc_destroy(&c);

    /* A leader that receives, in its own term, the term notice answering an
     * AppendEntries it sent in an older term ignores it: it is not a
     * rejection of its current log, even with an index beyond that log. */
    cluster(&c, 3, 0, NULL);
    elect_and_commit(&c, 1, 0);
    uint64_t t = term_of(&c, 1);
    s = take(rc_h(&c, 1));
    m = mk_msg(UT_MSG_APPEND_RESP, 2, 1, t);
    m.body.append_resp.success = false;
    m.body.append_resp.index = 1000; /* meaningless in a notice */
    assert_int_equal(rc_inject(&c, &m), UT_OK);
    ASSERT_UNCHANGED(s, rc_h(&c, 1));
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_LEADER);
    RC_OK(&c);
    rc_destroy(&c);

    /* A leader seeing a higher term in a response becomes a follower. */
    cluster(&c, 3, 0, NULL);
    elect_and_commit(&c, 1, 0);
    t = term_of(&c, 1);
    m = mk_msg(UT_MSG_VOTE_RESP, 2, 1, t + 3);
    assert_int_equal(rc_inject(&c, &m), UT_OK);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_FOLLOWER);
    assert_int_equal(term_of(&c, 1), t + 3);
    assert_int_equal(ut_consensus_vote(rc_h(&c, 1)), 0);
    assert_int_equal(rc_node(&c, 1)->hs.term, t + 3);
    RC_OK(&c);
    rc_destroy(&c);
}

/* §5.2 / Figure 2: currentTerm and votedFor survive a restart, so a node never
 * votes twice in one term. */
static void test_restart_keeps_term_and_vote(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cfg.pre_vote = false;
    cfg.check_quorum = false;
    cluster(&c, 3, 0, &cfg);
    start(&c);
    ut_msg_t m = mk_vote(UT_MSG_VOTE, 1, 3, 1, 0, 0);
    assert_int_equal(rc_inject(&c, &m), UT_OK);
    assert_int_equal(ut_consensus_vote(rc_h(&c, 3)), 1);
    rc_drop_if(&c, any_msg, NULL);
    rc_crash(&c, 3);
    assert_int_equal(rc_restart(&c, 3), UT_OK);
    assert_int_equal(term_of(&c, 3), 1);
    assert_int_equal(ut_consensus_vote(rc_h(&c, 3)), 1);
    assert_int_equal(state_of(&c, 3), UT_CONSENSUS_FOLLOWER);
    m = mk_vote(UT_MSG_VOTE, 2, 3, 1, 0, 0);
    (void)rc_inject(&c, &m);
    const ut_msg_t *r = net_find(&c, UT_MSG_VOTE_RESP, 3, 2);
    assert_true(r == NULL || !r->body.vote_resp.granted);
    assert_int_equal(ut_consensus_vote(rc_h(&c, 3)), 1);
    rc_drop_if(&c, any_msg, NULL);
    RC_OK(&c);
    rc_destroy(&c);

    /* A restarted leader comes back as a follower with its term, its vote
     * (itself) and its log, and the cluster carries on. */
    cluster(&c, 3, 0, &cfg);
    elect_and_commit(&c, 1, 3);
    uint64_t t = term_of(&c, 1), last = last_of(&c, 1);
    rc_crash(&c, 1);
    assert_int_equal(rc_restart(&c, 1), UT_OK);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_FOLLOWER);
    assert_int_equal(term_of(&c, 1), t);
    assert_int_equal(ut_consensus_vote(rc_h(&c, 1)), 1);
    assert_int_equal(last_of(&c, 1), last);
    assert_true(rc_run_until(&c, rc_has_leader, NULL, 30000));
    uint64_t l = rc_leader(&c);
    assert_true(term_of(&c, l) > t);
    assert_int_equal(rc_propose(&c, l, "z", 1, NULL), UT_OK);
    rc_run(&c, 500);
    for (uint64_t id = 1; id <= 3; id++)
        assert_true(applied_payload(&c, id, "z", 1));
    RC_OK(&c);
    rc_destroy(&c);
}

/* §5.1 / §8: only the leader accepts commands; others name the leader. */
static void test_propose_on_follower(void **state)
{
    (void)state;
    rc_cluster_t c;
    cluster(&c, 3, 0, NULL);
    elect_and_commit(&c, 2, 1);
    for (uint64_t id = 1; id <= 3; id += 2) {
        snap_t s = take(rc_h(&c, id));
        uint64_t idx = 77;
        assert_int_equal(ut_consensus_propose(rc_h(&c, id), "x", 1, &idx), UT_ENOTLEADER);
        assert_int_equal(idx, 77);
        assert_int_equal(ut_consensus_leader(rc_h(&c, id)), 2);
        ASSERT_UNCHANGED(s, rc_h(&c, id));
    }
    ut_consensus_t *h = rc_h(&c, 2);
    snap_t s = take(h);
    assert_int_equal(ut_consensus_propose(h, NULL, 1, NULL), UT_EINVAL);
    ASSERT_UNCHANGED(s, h);
#if SIZE_MAX > UINT32_MAX
    assert_int_equal(ut_consensus_propose(h, "x", (size_t)UINT32_MAX + 1, NULL), UT_ERANGE);
    ASSERT_UNCHANGED(s, h);
#endif
    uint64_t idx = 0;
    assert_int_equal(ut_consensus_propose(h, NULL, 0, &idx), UT_OK); /* empty command */
    assert_int_equal(idx, s.last + 1);
    rc_process(&c, 2);
    rc_drain(&c, 1000);
    rc_run(&c, 300);
    assert_true(rc_all_applied(&c, (size_t)idx));
    RC_OK(&c);
    rc_destroy(&c);
}

/* ---- observers (non-voting learners, thesis §4.2.1) ------------------------ */

static void test_observer_never_votes_or_counts(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cfg.check_quorum = false;
    cluster(&c, 3, 2, &cfg); /* voters 1..3, observers 4, 5 */
    start(&c);
    assert_int_equal(state_of(&c, 4), UT_CONSENSUS_OBSERVER);
    snap_t s = take(rc_h(&c, 4));
    assert_int_equal(ut_consensus_campaign(rc_h(&c, 4)), UT_ESTATE);
    ASSERT_UNCHANGED(s, rc_h(&c, 4));
    /* Observers never campaign, whatever the time (the harness fails on
     * any vote request or granted vote an observer sends). */
    for (uint64_t id = 1; id <= 5; id++)
        rc_isolate(&c, id);
    rc_run(&c, 20 * cfg.election_timeout_ms);
    assert_int_equal(term_of(&c, 4), 0);
    assert_int_equal(term_of(&c, 5), 0);
    rc_heal(&c);
    assert_true(rc_run_until(&c, rc_has_leader, NULL, 30000));
    uint64_t l = rc_leader(&c);
    assert_true(l <= 3);
    /* Observers receive and apply the log. */
    assert_int_equal(rc_propose(&c, l, "a", 1, NULL), UT_OK);
    rc_run(&c, 300);
    assert_true(applied_payload(&c, 4, "a", 1));
    assert_true(applied_payload(&c, 5, "a", 1));
    assert_int_equal(ut_consensus_leader(rc_h(&c, 4)), l);
    /* An observer asked for its vote does not give it. */
    uint64_t t = term_of(&c, l);
    ut_msg_t m = mk_vote(UT_MSG_VOTE, l, 4, t + 1, last_of(&c, l), t);
    (void)rc_inject(&c, &m);
    assert_int_equal(ut_consensus_vote(rc_h(&c, 4)), 0);
    assert_int_equal(state_of(&c, 4), UT_CONSENSUS_OBSERVER);
    rc_drop_if(&c, any_msg, NULL);
    RC_OK(&c);
    rc_destroy(&c);

    /* Observers are not counted in a quorum: the leader plus two observers
     * acknowledging is 3 of 5 members but 1 of 3 voters. */
    cluster(&c, 3, 2, &cfg);
    elect_and_commit(&c, 1, 1);
    uint64_t others[] = {2, 3};
    for (size_t i = 0; i < 2; i++)
        rc_crash(&c, others[i]);
    uint64_t xi = 0;
    assert_int_equal(rc_propose(&c, 1, "b", 1, &xi), UT_OK);
    rc_run(&c, 2000);
    assert_int_equal(last_of(&c, 4), xi);
    assert_int_equal(last_of(&c, 5), xi);
    assert_true(commit_of(&c, 1) < xi);
    assert_false(applied_payload(&c, 4, "b", 1));
    assert_int_equal(rc_restart(&c, 2), UT_OK);
    rc_run(&c, 1000);
    assert_true(commit_of(&c, 1) >= xi);
    assert_true(applied_payload(&c, 4, "b", 1));
    assert_true(applied_payload(&c, 5, "b", 1));
    RC_OK(&c);
    rc_destroy(&c);
}

/* ---- malformed input: refused, node unchanged ---------------------------- */

static void expect_step(ut_consensus_t *h, const ut_msg_t *m, int code, int line)
{
    snap_t s = take(h);
    int rc = ut_consensus_step(h, m);
    if (rc != code)
        fail_msg("line %d: step returned %s, expected %s", line, ut_err_name(rc),
                 ut_err_name(code));
    snap_check(&s, h, line);
}
#define EXPECT_STEP(h, m, code) expect_step((h), &(m), (code), __LINE__)

static void test_step_rejects_malformed_messages(void **state)
{
    (void)state;
    ut_consensus_t *h = raw_new(2);
    ut_entry_t es[3];
    uint8_t pay[3][16];
    static const uint64_t t112[] = {1, 1, 2};
    mk_entries(es, pay, 1, t112, 3);
    ut_consensus_hard_state_t hs = {2, 0, 1};
    assert_int_equal(ut_consensus_restore(h, &hs, es, 3), UT_OK);
    assert_int_equal(ut_consensus_tick(h, 0), UT_OK);
    raw_out_t out;
    raw_drain(h, &out);

    /* All carry a higher term (3): a refused message must not even bump it. */
    ut_msg_t m = mk_append(1, 3, 3, 3, 2, 0, NULL, 0); /* not for me */
    EXPECT_STEP(h, m, UT_EINVAL);
    m = mk_append(9, 2, 3, 3, 2, 0, NULL, 0); /* not a member */
    EXPECT_STEP(h, m, UT_ENOTFOUND);
    m = mk_msg(UT_MSG_NONE, 1, 2, 3);
    EXPECT_STEP(h, m, UT_EINVAL);
    m = mk_msg((ut_msg_type_t)77, 1, 2, 3);
    EXPECT_STEP(h, m, UT_EINVAL);

    ut_entry_t bad[2];
    uint8_t bpay[2][16];
    static const uint64_t t3[] = {3, 3};
    mk_entries(bad, bpay, 5, t3, 1); /* gap: prev 3, entry 5 */
    m = mk_append(1, 2, 3, 3, 2, 0, bad, 1);
    EXPECT_STEP(h, m, UT_EINVAL);
    mk_entries(bad, bpay, 4, t3, 2);
    bad[1].index = 4; /* not consecutive */
    m = mk_append(1, 2, 3, 3, 2, 0, bad, 2);
    EXPECT_STEP(h, m, UT_EINVAL);
    mk_entries(bad, bpay, 4, t3, 2);
    bad[0].term = 4; /* entry term above the message term */
    bad[1].term = 4;
    m = mk_append(1, 2, 3, 3, 2, 0, bad, 2);
    EXPECT_STEP(h, m, UT_EINVAL);
    mk_entries(bad, bpay, 4, t3, 2);
    bad[1].term = 2; /* terms decreasing */
    m = mk_append(1, 2, 3, 3, 2, 0, bad, 2);
    EXPECT_STEP(h, m, UT_EINVAL);
    m = mk_append(1, 2, 3, 3, 4, 0, NULL, 0); /* prev_term above message term */
    EXPECT_STEP(h, m, UT_EINVAL);
    m = mk_append(1, 2, 3, 3, 2, 0, NULL, 1); /* entries NULL, n 1 */
    EXPECT_STEP(h, m, UT_EINVAL);
    mk_entries(bad, bpay, 4, t3, 1);
    bad[0].data = NULL; /* payload NULL with len 16 */
    m = mk_append(1, 2, 3, 3, 2, 0, bad, 1);
    EXPECT_STEP(h, m, UT_EINVAL);
    assert_false(ut_consensus_has_ready(h));

    /* The node still works: the same append, well-formed, is accepted. */
    mk_entries(bad, bpay, 4, t3, 2);
    m = mk_append(1, 2, 3, 3, 2, 4, bad, 2);
    assert_int_equal(ut_consensus_step(h, &m), UT_OK);
    assert_int_equal(ut_consensus_term(h), 3);
    assert_int_equal(ut_consensus_last_index(h), 5);
    assert_int_equal(ut_consensus_commit_index(h), 4);
    ut_consensus_free(h);

    /* On a leader: an append-resp acknowledging an index the leader never
     * had is impossible. */
    rc_cluster_t c;
    cluster(&c, 3, 0, NULL);
    elect_and_commit(&c, 1, 1);
    ut_consensus_t *l = rc_h(&c, 1);
    uint64_t t = term_of(&c, 1);
    uint64_t ni = 0;
    assert_int_equal(ut_consensus_propose(l, "q", 1, &ni), UT_OK);
    rc_process(&c, 1);
    rc_drop_if(&c, any_msg, NULL);
    m = mk_msg(UT_MSG_APPEND_RESP, 2, 1, t);
    m.body.append_resp.success = true;
    m.body.append_resp.index = ni + 5;
    EXPECT_STEP(l, m, UT_EINVAL);
    m.body.append_resp.index = ni;
    assert_int_equal(rc_inject(&c, &m), UT_OK);
    assert_int_equal(commit_of(&c, 1), ni);
    RC_OK(&c);
    rc_destroy(&c);
}

/* Every entry has a term of at least 1 (§5.3: entries carry the term of the
 * leader that created them, and terms start at 1), so an AppendEntries whose
 * prev_index > 0 comes with prev_term 0, or a (pre-)vote request whose
 * last_log_index > 0 comes with last_log_term 0, describes a log no node can
 * have. Such a message used to be accepted: it bumped the term and, for the
 * append, installed its sender as leader. It is refused like the other
 * impossible terms, with the node unchanged. */
static void test_step_rejects_zero_term_for_nonzero_index(void **state)
{
    (void)state;
    ut_consensus_t *h = raw_new(2);
    ut_entry_t es[3];
    uint8_t pay[3][16];
    static const uint64_t t112[] = {1, 1, 2};
    mk_entries(es, pay, 1, t112, 3);
    ut_consensus_hard_state_t hs = {2, 0, 1};
    assert_int_equal(ut_consensus_restore(h, &hs, es, 3), UT_OK);
    assert_int_equal(ut_consensus_tick(h, 0), UT_OK);
    raw_out_t out;
    raw_drain(h, &out);

    ut_msg_t m = mk_append(1, 2, 3, 3, 0, 0, NULL, 0);
    EXPECT_STEP(h, m, UT_EINVAL);
    m = mk_append(1, 2, 3, 7, 0, 0, NULL, 0);
    EXPECT_STEP(h, m, UT_EINVAL);
    m = mk_vote(UT_MSG_VOTE, 1, 2, 3, 3, 0);
    EXPECT_STEP(h, m, UT_EINVAL);
    m = mk_vote(UT_MSG_PREVOTE, 1, 2, 3, 3, 0);
    EXPECT_STEP(h, m, UT_EINVAL);
    assert_false(ut_consensus_has_ready(h));

    /* The well-formed messages are still accepted. */
    m = mk_vote(UT_MSG_VOTE, 1, 2, 3, 3, 2);
    assert_int_equal(ut_consensus_step(h, &m), UT_OK);
    assert_int_equal(ut_consensus_term(h), 3);
    assert_int_equal(ut_consensus_vote(h), 1);
    m = mk_append(1, 2, 3, 3, 2, 0, NULL, 0);
    assert_int_equal(ut_consensus_step(h, &m), UT_OK);
    assert_int_equal(ut_consensus_leader(h), 1);
    ut_consensus_free(h);
}

/* Regression (found by this suite, fixed in 2c2a00f): a member's message with
 * term UINT64_MAX used to be adopted; the next pre-vote then carried term + 1
 * = 0, which every peer refuses, and without pre-vote tick() returned the
 * undocumented UT_ESTATE. Terms that cannot be followed are now refused, and a
 * node at the highest term never emits a wrapped term (§5.1: terms only
 * grow). */
static void check_no_wrapped_terms(ut_consensus_t *h)
{
    for (int guard = 0; guard < 10 && ut_consensus_has_ready(h); guard++) {
        ut_consensus_ready_t rd;
        assert_int_equal(ut_consensus_ready(h, &rd), UT_OK);
        for (size_t i = 0; i < rd.n_msgs; i++) {
            const ut_msg_t *m = &rd.msgs[i];
            if (m->term == 0 || m->term < ut_consensus_term(h))
                fail_msg("%s with term %llu from a node in term %llu", ut_msg_type_name(m->type),
                         (unsigned long long)m->term, (unsigned long long)ut_consensus_term(h));
            if (m->type == UT_MSG_PREVOTE && m->term <= ut_consensus_term(h))
                fail_msg("pre-vote proposes term %llu, not above %llu", (unsigned long long)m->term,
                         (unsigned long long)ut_consensus_term(h));
        }
        assert_int_equal(ut_consensus_advance(h, &rd), UT_OK);
        if (ut_consensus_ready_empty(&rd))
            break;
    }
}

static void test_term_overflow_refused(void **state)
{
    (void)state;
    for (int pre_vote = 0; pre_vote < 2; pre_vote++) {
        ut_consensus_config_t cfg = cfg3(1);
        cfg.pre_vote = pre_vote != 0;
        ut_consensus_t *h = NULL;
        assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
        assert_int_equal(ut_consensus_tick(h, 0), UT_OK);
        snap_t s = take(h);
        ut_msg_t m = mk_append(2, 1, UINT64_MAX, 0, 0, 0, NULL, 0);
        EXPECT_STEP(h, m, UT_EINVAL);
        ASSERT_UNCHANGED(s, h);
        ut_consensus_free(h);

        /* A node at the highest term it accepts: campaigning must not wrap. */
        assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
        ut_consensus_hard_state_t hs = {UINT64_MAX / 2, 0, 0};
        int rc = ut_consensus_restore(h, &hs, NULL, 0);
        assert_true(rc == UT_OK || rc == UT_ECORRUPT);
        if (rc == UT_OK) {
            assert_int_equal(ut_consensus_tick(h, 0), UT_OK);
            rc = ut_consensus_campaign(h);
            assert_true(rc == UT_OK || rc == UT_ERANGE);
            check_no_wrapped_terms(h);
            rc = ut_consensus_tick(h, 5 * cfg.election_timeout_ms);
            assert_true(rc == UT_OK || rc == UT_ERANGE);
            check_no_wrapped_terms(h);
            assert_true(ut_consensus_term(h) >= UINT64_MAX / 2);
        }
        ut_consensus_free(h);
    }
}

/* DESIGN §2: illegal transitions are refused with UT_ESTATE and change
 * nothing: ready twice without advance, campaign by an observer (thesis
 * §4.2.1: learners never campaign) or by a leader (§5.2: only followers and
 * candidates start elections). */
static void test_illegal_transitions_estate(void **state)
{
    (void)state;
    /* ready twice without advance. */
    ut_consensus_t *h = raw_new(1);
    assert_int_equal(ut_consensus_tick(h, 0), UT_OK);
    assert_int_equal(ut_consensus_campaign(h), UT_OK);
    ut_consensus_ready_t rd, rd2;
    assert_int_equal(ut_consensus_ready(h, &rd), UT_OK);
    assert_true(rd.n_msgs == 2);
    snap_t s = take(h);
    assert_int_equal(ut_consensus_ready(h, &rd2), UT_ESTATE);
    ASSERT_UNCHANGED(s, h);
    assert_int_equal(ut_consensus_advance(h, &rd), UT_OK);
    ut_consensus_free(h);

    /* Observers cannot campaign. */
    static const uint64_t obs[] = {4};
    ut_consensus_config_t cfg = cfg3(4);
    cfg.observers = obs;
    cfg.n_observers = 1;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
    s = take(h);
    assert_int_equal(ut_consensus_campaign(h), UT_ESTATE);
    ASSERT_UNCHANGED(s, h);
    assert_int_equal(ut_consensus_propose(h, "x", 1, NULL), UT_ENOTLEADER);
    ut_consensus_free(h);

    /* Leaders cannot campaign. */
    rc_cluster_t c;
    cluster(&c, 3, 0, NULL);
    elect_and_commit(&c, 3, 0);
    s = take(rc_h(&c, 3));
    assert_int_equal(ut_consensus_campaign(rc_h(&c, 3)), UT_ESTATE);
    ASSERT_UNCHANGED(s, rc_h(&c, 3));
    RC_OK(&c);
    rc_destroy(&c);
}

/* An observer's (forged) granted vote is never counted: 3 voters + 2
 * observers, a candidate with two observer grants has 3 of 5 members but only
 * 1 of 3 voters. */
static void test_observer_grants_not_counted(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cfg.pre_vote = false;
    cluster(&c, 3, 2, &cfg);
    start(&c);
    assert_int_equal(rc_campaign(&c, 1), UT_OK);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_CANDIDATE);
    rc_drop_if(&c, any_msg, NULL);
    uint64_t t = term_of(&c, 1);
    for (uint64_t o = 4; o <= 5; o++) {
        ut_msg_t m = mk_msg(UT_MSG_VOTE_RESP, o, 1, t);
        m.body.vote_resp.granted = true;
        (void)rc_inject(&c, &m);
        assert_int_equal(state_of(&c, 1), UT_CONSENSUS_CANDIDATE);
    }
    /* A voter's grant does it. */
    ut_msg_t m = mk_msg(UT_MSG_VOTE_RESP, 2, 1, t);
    m.body.vote_resp.granted = true;
    assert_int_equal(rc_inject(&c, &m), UT_OK);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_LEADER);
    rc_drop_if(&c, any_msg, NULL);
    RC_OK(&c);
    rc_destroy(&c);
}

/* DESIGN §2 / STYLE D: a message from the network is caller input. Plausible
 * but random messages (random types, members, terms near the node's, indexes
 * near its log, entries well- and ill-formed) are either refused with a
 * documented code or processed; no crash (run under ASan), terms never go
 * back, commit never passes the log, commit never goes back. */
static uint64_t xrand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void test_step_survives_random_messages(void **state)
{
    (void)state;
    static const uint64_t obs[] = {4};
    ut_consensus_t *hs[4];
    uint64_t max_term[4] = {0}, max_commit[4] = {0};
    for (int i = 0; i < 4; i++) {
        ut_consensus_config_t cfg = cfg3((uint64_t)i + 1);
        cfg.observers = obs;
        cfg.n_observers = 1;
        cfg.max_append_entries = 3;
        assert_int_equal(ut_consensus_new(&hs[i], &cfg), UT_OK);
        assert_int_equal(ut_consensus_tick(hs[i], 0), UT_OK);
    }
    uint64_t seed = 0x12345678u, now = 0;
    uint8_t bytes[64];
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (uint8_t)i;
    raw_out_t out;
    for (int it = 0; it < 20000; it++) {
        int who = (int)(xrand(&seed) % 4);
        ut_consensus_t *h = hs[who];
        uint64_t r = xrand(&seed) % 100;
        if (r < 3) {
            now += xrand(&seed) % 400;
            assert_int_equal(ut_consensus_tick(h, now), UT_OK);
        } else if (r < 5) {
            int rc = ut_consensus_campaign(h);
            assert_true(rc == UT_OK || rc == UT_ESTATE);
        } else if (r < 15) {
            int rc = ut_consensus_propose(h, bytes, xrand(&seed) % 20, NULL);
            assert_true(rc == UT_OK || rc == UT_ENOTLEADER);
        } else {
            ut_msg_t m;
            memset(&m, 0, sizeof m);
            uint64_t term = ut_consensus_term(h), last = ut_consensus_last_index(h);
            m.type = (ut_msg_type_t)(xrand(&seed) % 11);
            m.from = xrand(&seed) % 6;
            m.to = xrand(&seed) % 16 ? (uint64_t)who + 1 : xrand(&seed) % 6;
            uint64_t tr = xrand(&seed) % 20;
            m.term = tr == 0                 ? term + 1 + xrand(&seed) % 2
                     : (tr == 1 && term > 1) ? term - 1
                                             : term;
            if (m.term == 0)
                m.term = xrand(&seed) % 3;
            ut_entry_t es[4];
            switch (m.type) {
            case UT_MSG_VOTE:
            case UT_MSG_PREVOTE:
                m.body.vote.last_log_index = xrand(&seed) % (last + 3);
                m.body.vote.last_log_term = xrand(&seed) % (m.term + 1);
                break;
            case UT_MSG_VOTE_RESP:
            case UT_MSG_PREVOTE_RESP:
                m.body.vote_resp.granted = xrand(&seed) % 2;
                break;
            case UT_MSG_APPEND: {
                uint64_t pi = xrand(&seed) % (last + 3);
                m.body.append.prev_index = pi;
                m.body.append.prev_term = pi == 0 ? 0 : xrand(&seed) % (m.term + 1);
                m.body.append.commit = xrand(&seed) % (last + 5);
                size_t n = (size_t)(xrand(&seed) % 5);
                uint64_t et = m.body.append.prev_term;
                for (size_t k = 0; k < n; k++) {
                    if (xrand(&seed) % 3 == 0 && et < m.term)
                        et++;
                    es[k].term = xrand(&seed) % 50 ? et : xrand(&seed) % (m.term + 2);
                    es[k].index = pi + 1 + k + (xrand(&seed) % 50 ? 0 : 1);
                    es[k].type = xrand(&seed) % 30 ? UT_ENTRY_NORMAL : (uint32_t)(xrand(&seed) % 4);
                    es[k].len = (uint32_t)(xrand(&seed) % 17);
                    es[k].data = xrand(&seed) % 50 ? (const void *)bytes : NULL;
                }
                m.body.append.n_entries = n;
                m.body.append.entries = n ? es : NULL;
                break;
            }
            case UT_MSG_APPEND_RESP:
                m.body.append_resp.success = xrand(&seed) % 2;
                m.body.append_resp.index = xrand(&seed) % (last + 3);
                m.body.append_resp.hint_term = xrand(&seed) % (m.term + 2);
                m.body.append_resp.hint_index = xrand(&seed) % (last + 3);
                break;
            default:
                break;
            }
            int rc = ut_consensus_step(h, &m);
            if (rc != UT_OK && rc != UT_EINVAL && rc != UT_ENOTFOUND && rc != UT_ESTALE)
                fail_msg("iteration %d: step returned %s", it, ut_err_name(rc));
        }
        raw_drain(h, &out);
        assert_true(ut_consensus_term(h) >= max_term[who]);
        max_term[who] = ut_consensus_term(h);
        assert_true(ut_consensus_commit_index(h) >= max_commit[who]);
        max_commit[who] = ut_consensus_commit_index(h);
        assert_true(ut_consensus_commit_index(h) <= ut_consensus_last_index(h));
        if (who == 3)
            assert_int_equal(ut_consensus_state(h), UT_CONSENSUS_OBSERVER);
    }
    for (int i = 0; i < 4; i++) {
        ut_consensus_free(hs[i]);
    }
}

/* ---- allocation failures (DESIGN §2: UT_ENOMEM, object unchanged) ---------- */

static void test_alloc_failure_new(void **state)
{
    (void)state;
    test_alloc_t ta;
    ut_consensus_config_t cfg = cfg3(1);
    bool done = false;
    for (long k = 1; k < 500 && !done; k++) {
        int sentinel;
        ut_consensus_t *h = (ut_consensus_t *)(void *)&sentinel;
        test_alloc_install(&ta, k);
        int rc = ut_consensus_new(&h, &cfg);
        long live = ta.live, failures = ta.failures;
        test_alloc_uninstall();
        if (rc == UT_OK) {
            ut_consensus_free(h);
            done = failures == 0;
            continue;
        }
        assert_int_equal(rc, UT_ENOMEM);
        assert_ptr_equal(h, (ut_consensus_t *)(void *)&sentinel);
        assert_int_equal(live, 0); /* nothing leaked */
    }
    assert_true(done);
}

/* Run op at every k-th allocation: on UT_ENOMEM the node must be unchanged
 * and the op must then succeed without injected failure. */
typedef int (*op_fn)(rc_cluster_t *c, void *ud);

static void alloc_sweep(void (*setup)(rc_cluster_t *c), uint64_t node, op_fn op, void *ud,
                        bool must_allocate)
{
    bool done = false;
    size_t enomem = 0;
    for (long k = 1; k < 500 && !done; k++) {
        rc_cluster_t c;
        setup(&c);
        ut_consensus_t *h = rc_h(&c, node);
        snap_t s = take(h);
        test_alloc_t ta;
        test_alloc_install(&ta, k);
        int rc = op(&c, ud);
        long failures = ta.failures;
        test_alloc_uninstall();
        if (rc == UT_ENOMEM) {
            enomem++;
            ASSERT_UNCHANGED(s, h);
            /* issue 9: every out-of-memory exit leaves a message. */
            assert_non_null(strstr(ut_consensus_errmsg(h), "out of memory"));
            rc = op(&c, ud);
            if (rc != UT_OK && rc != UT_ESTALE)
                fail_msg("k=%ld: op after ENOMEM returned %s", k, ut_err_name(rc));
        } else {
            if (rc != UT_OK)
                fail_msg("k=%ld: op returned %s", k, ut_err_name(rc));
            done = failures == 0;
        }
        /* Whatever happened, the node keeps working. */
        rc_process_all(&c);
        rc_drain(&c, 10000);
        rc_run(&c, 300);
        RC_OK(&c);
        rc_destroy(&c);
    }
    assert_true(done);
    if (must_allocate)
        assert_true(enomem > 0);
}

static void setup_leader(rc_cluster_t *c)
{
    ut_consensus_config_t cfg = cfg_base();
    cfg.check_quorum = false;
    assert_int_equal(rc_init(c, 3, 0, &cfg), UT_OK);
    elect_and_commit(c, 1, 1);
}

static int op_propose(rc_cluster_t *c, void *ud)
{
    (void)ud;
    return ut_consensus_propose(rc_h(c, 1), "hello", 5, NULL);
}

static void setup_fresh(rc_cluster_t *c)
{
    assert_int_equal(rc_init(c, 3, 0, NULL), UT_OK);
    start(c);
}

static int op_step_append(rc_cluster_t *c, void *ud)
{
    (void)ud;
    ut_entry_t es[3];
    uint8_t pay[3][16];
    static const uint64_t t111[] = {1, 1, 1};
    mk_entries(es, pay, 1, t111, 3);
    ut_msg_t m = mk_append(1, 2, 1, 0, 0, 2, es, 3);
    return ut_consensus_step(rc_h(c, 2), &m);
}

static int op_step_vote(rc_cluster_t *c, void *ud)
{
    (void)ud;
    ut_msg_t m = mk_vote(UT_MSG_VOTE, 1, 2, 1, 0, 0);
    return ut_consensus_step(rc_h(c, 2), &m);
}

static void setup_leader_pending(rc_cluster_t *c)
{
    setup_leader(c);
    assert_int_equal(rc_propose(c, 1, "p", 1, NULL), UT_OK);
    rc_drop_if(c, any_msg, NULL);
}

static int op_step_append_resp(rc_cluster_t *c, void *ud)
{
    (void)ud;
    ut_consensus_t *h = rc_h(c, 1);
    ut_msg_t m = mk_msg(UT_MSG_APPEND_RESP, 2, 1, ut_consensus_term(h));
    m.body.append_resp.success = true;
    m.body.append_resp.index = ut_consensus_last_index(h);
    return ut_consensus_step(h, &m);
}

static int op_campaign(rc_cluster_t *c, void *ud)
{
    (void)ud;
    return ut_consensus_campaign(rc_h(c, 3));
}

static void test_alloc_failure_propose(void **s)
{
    (void)s;
    alloc_sweep(setup_leader, 1, op_propose, NULL, false);
}
static void test_alloc_failure_step_append(void **s)
{
    (void)s;
    alloc_sweep(setup_fresh, 2, op_step_append, NULL, true);
}
static void test_alloc_failure_step_vote(void **s)
{
    (void)s;
    alloc_sweep(setup_fresh, 2, op_step_vote, NULL, true);
}
static void test_alloc_failure_step_append_resp(void **s)
{
    (void)s;
    alloc_sweep(setup_leader_pending, 1, op_step_append_resp, NULL, false);
}
static void test_alloc_failure_campaign(void **s)
{
    (void)s;
    alloc_sweep(setup_fresh, 3, op_campaign, NULL, true);
}

/* Steady-state proposals with the first allocation of each one failing: the
 * log and payload storage grow now and then, and every growth failure must
 * leave the leader unchanged and usable. */
static void test_alloc_failure_propose_growth(void **state)
{
    (void)state;
    rc_cluster_t c;
    setup_leader(&c);
    ut_consensus_t *h = rc_h(&c, 1);
    static uint8_t payload[1000];
    size_t enomem = 0;
    const size_t n = 600;
    for (size_t i = 0; i < n; i++) {
        memset(payload, (int)(i & 0xff), sizeof payload);
        snap_t s = take(h);
        test_alloc_t ta;
        test_alloc_install(&ta, 1);
        int rc = ut_consensus_propose(h, payload, sizeof payload, NULL);
        test_alloc_uninstall();
        if (rc == UT_ENOMEM) {
            enomem++;
            ASSERT_UNCHANGED(s, h);
            rc = ut_consensus_propose(h, payload, sizeof payload, NULL);
        }
        assert_int_equal(rc, UT_OK);
        rc_process(&c, 1);
        rc_drain(&c, 10000);
    }
    rc_run(&c, 300);
    assert_true(enomem > 0);
    assert_int_equal(rc_applied_normal(&c, 2), n + 1);
    assert_true(rc_all_applied(&c, rc_node(&c, 1)->n_applied));
    RC_OK(&c);
    rc_destroy(&c);
}

/* DESIGN §2 / consensus.h: tick's UT_ENOMEM leaves the node unchanged. A
 * leader whose check-quorum round (thesis §6.2) came due in the same tick as
 * a heartbeat used to run the round (clearing every peer's activity and
 * moving the round start to the failed tick's time) before the heartbeat's
 * allocation failed; the clock was rolled back but the round was not, so a
 * later tick, still legal since the failed one changed nothing, saw the round
 * start in its future, wrapped, and stepped a healthy leader down. */
static void test_alloc_failure_leader_tick_keeps_quorum_round(void **state)
{
    (void)state;
    ut_consensus_t *h = raw_new(1);
    assert_int_equal(ut_consensus_tick(h, 0), UT_OK);
    assert_int_equal(ut_consensus_campaign(h), UT_OK);
    ut_msg_t m = mk_msg(UT_MSG_PREVOTE_RESP, 2, 1, 1);
    m.body.vote_resp.granted = true;
    assert_int_equal(ut_consensus_step(h, &m), UT_OK);
    m = mk_msg(UT_MSG_VOTE_RESP, 2, 1, 1);
    m.body.vote_resp.granted = true;
    assert_int_equal(ut_consensus_step(h, &m), UT_OK);
    assert_int_equal(ut_consensus_state(h), UT_CONSENSUS_LEADER);
    raw_out_t out;
    raw_drain(h, &out); /* the outbox now in use has never allocated */

    /* At T both the quorum check and a heartbeat are due. */
    const uint64_t T = 1000;
    snap_t s = take(h);
    test_alloc_t ta;
    test_alloc_install(&ta, 1);
    int rc = ut_consensus_tick(h, T);
    test_alloc_uninstall();
    assert_int_equal(rc, UT_ENOMEM);
    ASSERT_UNCHANGED(s, h);
    /* Nothing changed, so time T - 1 is not in the past: no quorum round is
     * due yet and the leader stays. */
    assert_int_equal(ut_consensus_tick(h, T - 1), UT_OK);
    assert_int_equal(ut_consensus_state(h), UT_CONSENSUS_LEADER);
    ut_consensus_free(h);
}

/* consensus.h: a refused step (UT_EINVAL, UT_ENOMEM) or campaign (UT_ENOMEM)
 * leaves the node unchanged. It used to mark the node as having taken input,
 * after which ut_consensus_restore() answered UT_ESTATE: a malformed packet
 * arriving before the persisted state was loaded made the node unable to load
 * it. */
static void test_refused_input_keeps_restore_possible(void **state)
{
    (void)state;
    ut_entry_t es[2];
    uint8_t pay[2][16];
    static const uint64_t t11[] = {1, 1};
    mk_entries(es, pay, 1, t11, 2);
    ut_consensus_hard_state_t hs = {1, 1, 1};

    ut_consensus_t *h = raw_new(2);
    ut_msg_t m = mk_append(1, 2, 1, 0, 0, 0, NULL, 1); /* entries NULL, n 1 */
    EXPECT_STEP(h, m, UT_EINVAL);
    assert_int_equal(ut_consensus_restore(h, &hs, es, 2), UT_OK);
    assert_int_equal(ut_consensus_last_index(h), 2);
    ut_consensus_free(h);

    h = raw_new(2);
    test_alloc_t ta;
    test_alloc_install(&ta, 1);
    m = mk_vote(UT_MSG_VOTE, 1, 2, 1, 0, 0);
    int rc = ut_consensus_step(h, &m);
    test_alloc_uninstall();
    assert_int_equal(rc, UT_ENOMEM);
    assert_int_equal(ut_consensus_restore(h, &hs, es, 2), UT_OK);
    ut_consensus_free(h);

    h = raw_new(2);
    test_alloc_install(&ta, 1);
    rc = ut_consensus_campaign(h);
    test_alloc_uninstall();
    assert_int_equal(rc, UT_ENOMEM);
    assert_int_equal(ut_consensus_restore(h, &hs, es, 2), UT_OK);
    ut_consensus_free(h);

    /* Accepted input still closes the door. */
    h = raw_new(2);
    m = mk_vote(UT_MSG_VOTE, 1, 2, 1, 0, 0);
    assert_int_equal(ut_consensus_step(h, &m), UT_OK);
    assert_int_equal(ut_consensus_restore(h, &hs, es, 2), UT_ESTATE);
    ut_consensus_free(h);
}

/* ready under allocation failure hands nothing out; the work stays. */
static void test_alloc_failure_ready(void **state)
{
    (void)state;
    bool done = false;
    for (long k = 1; k < 200 && !done; k++) {
        ut_consensus_t *h = raw_new(1);
        assert_int_equal(ut_consensus_tick(h, 0), UT_OK);
        assert_int_equal(ut_consensus_campaign(h), UT_OK);
        ut_consensus_ready_t rd;
        test_alloc_t ta;
        test_alloc_install(&ta, k);
        int rc = ut_consensus_ready(h, &rd);
        long failures = ta.failures;
        test_alloc_uninstall();
        if (rc == UT_ENOMEM) {
            assert_non_null(strstr(ut_consensus_errmsg(h), "out of memory"));
            assert_true(ut_consensus_has_ready(h));
            assert_int_equal(ut_consensus_ready(h, &rd), UT_OK);
        } else {
            assert_int_equal(rc, UT_OK);
            done = failures == 0;
        }
        assert_int_equal(rd.n_msgs, 2);
        assert_int_equal(ut_consensus_advance(h, &rd), UT_OK);
        ut_consensus_free(h);
    }
    assert_true(done);
}

/* ---- issue 9: ABI room ------------------------------------------------- */

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

static bool reserved_zero(const ut_consensus_ready_t *rd)
{
    for (size_t i = 0; i < sizeof rd->reserved_ / sizeof rd->reserved_[0]; i++)
        if (rd->reserved_[i] != 0)
            return false;
    return true;
}

/* consensus.h: the reserved words of a ready are always written as zero,
 * for an empty ready and a full one. */
static void test_issue9_ready_reserved_zero(void **state)
{
    (void)state;
    ut_consensus_t *h = raw_new(1);
    ut_consensus_ready_t rd;
    memset(&rd, 0xA5, sizeof rd);
    assert_int_equal(ut_consensus_ready(h, &rd), UT_OK);
    assert_true(ut_consensus_ready_empty(&rd));
    assert_true(reserved_zero(&rd));
    assert_int_equal(ut_consensus_tick(h, 0), UT_OK);
    assert_int_equal(ut_consensus_campaign(h), UT_OK);
    memset(&rd, 0xA5, sizeof rd);
    assert_int_equal(ut_consensus_ready(h, &rd), UT_OK);
    assert_false(ut_consensus_ready_empty(&rd));
    assert_true(reserved_zero(&rd));
    assert_int_equal(ut_consensus_advance(h, &rd), UT_OK);
    ut_consensus_free(h);
}

/* ---- issue 8: eight broken promises ------------------------------------ */

/* A byte-counting allocator that also fills every new block with 0xA5, so
 * bytes the library never writes are visible (issue 8, items 4 and 7). */
#define STEP_OK(h, m) assert_int_equal(ut_consensus_step((h), &(m)), UT_OK)

typedef struct bytes_alloc {
    size_t live, peak;
    bool fail; /* refuse every allocation while set */
} bytes_alloc_t;

#define BA_HDR 16u

static void *ba_malloc(void *ctx, size_t n)
{
    bytes_alloc_t *b = ctx;
    if (b->fail)
        return NULL;
    unsigned char *p = malloc(BA_HDR + n);
    if (p == NULL)
        return NULL;
    memcpy(p, &n, sizeof n);
    memset(p + BA_HDR, 0xA5, n);
    b->live += n;
    if (b->live > b->peak)
        b->peak = b->live;
    return p + BA_HDR;
}

static void ba_free(void *ctx, void *q)
{
    bytes_alloc_t *b = ctx;
    if (q == NULL)
        return;
    unsigned char *p = (unsigned char *)q - BA_HDR;
    size_t n;
    memcpy(&n, p, sizeof n);
    b->live -= n;
    free(p);
}

static void *ba_realloc(void *ctx, void *q, size_t n)
{
    void *r = ba_malloc(ctx, n);
    if (r == NULL || q == NULL)
        return r;
    size_t old;
    memcpy(&old, (unsigned char *)q - BA_HDR, sizeof old);
    memcpy(r, q, old < n ? old : n);
    ba_free(ctx, q);
    return r;
}

static void ba_install(bytes_alloc_t *b)
{
    memset(b, 0, sizeof *b);
    ut_allocator_t a = {b, ba_malloc, ba_realloc, ba_free};
    assert_int_equal(ut_set_allocator(&a), UT_OK);
}

/* Node 1 of {1, 2, 3} made leader of term 1 by hand (pre-vote, then vote). */
static ut_consensus_t *raw_leader(const ut_consensus_config_t *cfg)
{
    ut_consensus_t *h = NULL;
    assert_int_equal(ut_consensus_new(&h, cfg), UT_OK);
    assert_int_equal(ut_consensus_tick(h, 0), UT_OK);
    assert_int_equal(ut_consensus_campaign(h), UT_OK);
    if (cfg->pre_vote) {
        ut_msg_t pv = mk_msg(UT_MSG_PREVOTE_RESP, 2, 1, 1);
        pv.body.vote_resp.granted = true;
        assert_int_equal(ut_consensus_step(h, &pv), UT_OK);
    }
    ut_msg_t v = mk_msg(UT_MSG_VOTE_RESP, 2, 1, 1);
    v.body.vote_resp.granted = true;
    assert_int_equal(ut_consensus_step(h, &v), UT_OK);
    assert_int_equal(ut_consensus_state(h), UT_CONSENSUS_LEADER);
    return h;
}

/* Frame overheads measured through the codec itself. */
static size_t append_frame(size_t n_entries, uint32_t len)
{
    static const char dummy;
    ut_entry_t es[2] = {{1, 1, UT_ENTRY_NORMAL, len, &dummy}, {1, 2, UT_ENTRY_NORMAL, 0, NULL}};
    ut_msg_t m = mk_append(1, 2, 1, 0, 0, 0, n_entries > 0 ? es : NULL, n_entries);
    size_t sz = 0;
    assert_int_equal(ut_msg_encoded_size(&m, &sz), UT_OK);
    return sz;
}

/* Issue 8.1: a success reply queued for an old leader must not claim an
 * entry that a newer leader replaced before it was handed out: a message
 * leaves only once what it claims is durable. */
static void test_issue8_follower_acks_only_persisted(void **state)
{
    (void)state;
    ut_consensus_t *h = raw_new(2);
    assert_int_equal(ut_consensus_tick(h, 0), UT_OK);
    ut_entry_t e1 = {1, 1, UT_ENTRY_NORMAL, 1, "a"};
    ut_msg_t m = mk_append(1, 2, 1, 0, 0, 0, &e1, 1);
    STEP_OK(h, m);
    ut_consensus_ready_t held;
    assert_int_equal(ut_consensus_ready(h, &held), UT_OK);
    assert_int_equal(held.n_entries, 1);

    /* Term-1 leader sends e at index 2: appended in memory, acked in live. */
    ut_entry_t e = {1, 2, UT_ENTRY_NORMAL, 1, "e"};
    m = mk_append(1, 2, 1, 1, 1, 0, &e, 1);
    STEP_OK(h, m);
    /* Term-2 leader replaces index 2 before e was ever handed out. */
    ut_entry_t f = {2, 2, UT_ENTRY_NORMAL, 1, "f"};
    m = mk_append(3, 2, 2, 1, 1, 0, &f, 1);
    STEP_OK(h, m);
    assert_int_equal(ut_consensus_advance(h, &held), UT_OK);

    ut_consensus_ready_t rd;
    assert_int_equal(ut_consensus_ready(h, &rd), UT_OK);
    assert_int_equal(rd.truncate_from, 0);
    assert_int_equal(rd.n_entries, 1);
    assert_int_equal(rd.entries[0].term, 2);
    for (size_t i = 0; i < rd.n_msgs; i++) {
        const ut_msg_t *r = &rd.msgs[i];
        if (r->type != UT_MSG_APPEND_RESP || !r->body.append_resp.success)
            continue;
        if (r->to == 1)
            assert_true(r->body.append_resp.index <= 1); /* index 2 holds f, not e */
        else
            assert_int_equal(r->body.append_resp.index, 2);
    }
    assert_int_equal(ut_consensus_advance(h, &rd), UT_OK);
    ut_consensus_free(h);
}

/* Issue 8.2: a proposal no AppendEntries can carry is refused at propose. */
static void test_issue8_oversized_proposal_refused(void **state)
{
    (void)state;
    size_t max_len = UT_MSG_MAX_FRAME - append_frame(1, 0);
    assert_int_equal(UT_CONSENSUS_MAX_ENTRY_BYTES, max_len);
    ut_consensus_config_t cfg = cfg3(1);
    ut_consensus_t *h = raw_leader(&cfg);
    raw_out_t o;
    raw_drain(h, &o);
    for (uint64_t id = 2; id <= 3; id++) { /* acknowledge the no-op: probes unpause */
        ut_msg_t ack = mk_msg(UT_MSG_APPEND_RESP, id, 1, 1);
        ack.body.append_resp.success = true;
        ack.body.append_resp.index = 1;
        STEP_OK(h, ack);
    }
    raw_drain(h, &o);
    unsigned char *big = calloc(1, max_len + 1);
    assert_non_null(big);
    snap_t s = take(h);
    uint64_t idx = 0;
    assert_int_equal(ut_consensus_propose(h, big, max_len + 1, &idx), UT_ERANGE);
    ASSERT_UNCHANGED(s, h);
    /* The largest allowed proposal goes out as an encodable AppendEntries. */
    assert_int_equal(ut_consensus_propose(h, big, max_len, &idx), UT_OK);
    ut_consensus_ready_t rd;
    assert_int_equal(ut_consensus_ready(h, &rd), UT_OK);
    size_t appends = 0;
    for (size_t i = 0; i < rd.n_msgs; i++) {
        if (rd.msgs[i].type != UT_MSG_APPEND || rd.msgs[i].body.append.n_entries == 0)
            continue;
        assert_int_equal(ut_msg_validate(&rd.msgs[i]), UT_OK);
        appends++;
    }
    assert_true(appends > 0);
    assert_int_equal(ut_consensus_advance(h, &rd), UT_OK);
    free(big);
    ut_consensus_free(h);
}

/* Issue 8.3: a configuration that can produce an unencodable AppendEntries
 * is refused by ut_consensus_new. */
static void test_issue8_max_append_bytes_bounded(void **state)
{
    (void)state;
    size_t base = append_frame(0, 0), per = append_frame(1, 0) - base;
    assert_int_equal(base, UT_CONSENSUS_APPEND_OVERHEAD);
    assert_int_equal(per, UT_CONSENSUS_ENTRY_OVERHEAD);
    ut_consensus_config_t cfg = cfg3(1);
    ut_consensus_t *h = NULL;
    cfg.max_append_bytes = 256u * 1024u * 1024u;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_ERANGE);
    assert_null(h);
    cfg.max_append_bytes = UT_MSG_MAX_FRAME - base - per * cfg.max_append_entries + 1;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_ERANGE);
    assert_null(h);
    cfg.max_append_bytes--;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
    ut_consensus_free(h);
    h = NULL;
    cfg = cfg3(1);
    cfg.max_append_entries = SIZE_MAX / 8;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_ERANGE);
    assert_null(h);
}

/* Issue 8.4: a follower whose uncommitted tail is overwritten by a new leader
 * every round keeps bounded memory (docs/memory.md states the bound). */
static void test_issue8_truncated_entries_memory_bounded(void **state)
{
    (void)state;
    enum { N = 100, LEN = 1024, ROUNDS = 500 };
    bytes_alloc_t ba;
    ba_install(&ba);
    static unsigned char payload[LEN + N];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (unsigned char)(i * 7u);
    ut_entry_t es[N];
    ut_consensus_t *h = raw_new(2);
    assert_int_equal(ut_consensus_tick(h, 0), UT_OK);
    size_t after_first = 0, max_live = 0;
    for (uint64_t r = 1; r <= ROUNDS; r++) {
        for (size_t i = 0; i < N; i++) {
            es[i].term = r;
            es[i].index = i + 1;
            es[i].type = UT_ENTRY_NORMAL;
            es[i].len = LEN;
            es[i].data = payload + i;
        }
        ut_msg_t m = mk_append(r % 2 ? 1 : 3, 2, r, 0, 0, 0, es, N);
        STEP_OK(h, m);
        raw_out_t o;
        if (r == 10) {
            /* Compaction that cannot allocate is put off; nothing breaks. */
            ut_consensus_ready_t rd;
            assert_int_equal(ut_consensus_ready(h, &rd), UT_OK);
            ba.fail = true;
            assert_int_equal(ut_consensus_advance(h, &rd), UT_OK);
            ba.fail = false;
        }
        raw_drain(h, &o);
        assert_int_equal(ut_consensus_last_index(h), N);
        if (r == 1)
            after_first = ba.live;
        if (ba.live > max_live)
            max_live = ba.live;
    }
    /* docs/memory.md: payload memory stays within 2 x (live payload + 64 KiB)
     * + a fixed part; without reuse it grew to 500 x 100 KiB. */
    print_message("issue 8.4: %d rounds, live bytes after round 1: %zu, highest: %zu\n", ROUNDS,
                  after_first, max_live);
    assert_true(max_live <= after_first + 2 * ((size_t)N * LEN + 64 * 1024));
    /* The payloads that survived every compaction are intact. */
    ut_msg_t m = mk_append(1, 2, ROUNDS, N, ROUNDS, N, NULL, 0);
    STEP_OK(h, m);
    ut_consensus_ready_t rd;
    assert_int_equal(ut_consensus_ready(h, &rd), UT_OK);
    assert_int_equal(rd.n_committed, N);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(rd.committed[i].len, LEN);
        assert_memory_equal(rd.committed[i].data, payload + i, LEN);
    }
    assert_int_equal(ut_consensus_advance(h, &rd), UT_OK);
    ut_consensus_free(h);
    assert_int_equal(ba.live, 0);
    test_alloc_uninstall();
}

/* Issue 8.5: UT_ERANGE from an exhausted term space changes nothing: a node
 * given the refused campaign behaves like its twin in every later tick. */
static void test_issue8_exhausted_term_erange_changes_nothing(void **state)
{
    (void)state;
    ut_consensus_config_t cfg = cfg3(1);
    ut_consensus_t *a = NULL, *b = NULL;
    assert_int_equal(ut_consensus_new(&a, &cfg), UT_OK);
    assert_int_equal(ut_consensus_new(&b, &cfg), UT_OK);
    ut_consensus_hard_state_t hs = {UT_CONSENSUS_MAX_TERM, 0, 0};
    assert_int_equal(ut_consensus_restore(a, &hs, NULL, 0), UT_OK);
    assert_int_equal(ut_consensus_restore(b, &hs, NULL, 0), UT_OK);
    assert_int_equal(ut_consensus_tick(a, 0), UT_OK);
    assert_int_equal(ut_consensus_tick(b, 0), UT_OK);
    snap_t s = take(a);
    assert_int_equal(ut_consensus_campaign(a), UT_ERANGE);
    ASSERT_UNCHANGED(s, a);
    for (uint64_t t = 1; t <= 3 * cfg.election_timeout_ms; t++) {
        int ra = ut_consensus_tick(a, t), rb = ut_consensus_tick(b, t);
        if (ra != rb)
            fail_msg("tick %llu: %d vs %d: the refused campaign changed the node",
                     (unsigned long long)t, ra, rb);
    }
    /* A leader heard from: both reset their timers identically. */
    ut_msg_t hb = mk_append(2, 1, UT_CONSENSUS_MAX_TERM, 0, 0, 0, NULL, 0);
    assert_int_equal(ut_consensus_step(a, &hb), UT_OK);
    assert_int_equal(ut_consensus_step(b, &hb), UT_OK);
    for (uint64_t t = 3 * cfg.election_timeout_ms + 1; t <= 6 * cfg.election_timeout_ms; t++) {
        int ra = ut_consensus_tick(a, t), rb = ut_consensus_tick(b, t);
        if (ra != rb)
            fail_msg("tick %llu: %d vs %d after a heartbeat", (unsigned long long)t, ra, rb);
    }
    ut_consensus_free(a);
    ut_consensus_free(b);
}

/* Issue 8.6: one message cannot end the cluster. The term-jump rule: a
 * message may move a node into the last UT_CONSENSUS_TERM_HEADROOM terms
 * only one term at a time; and with pre-vote alone (no check-quorum), a
 * follower with a live leader ignores a higher-term vote request (thesis
 * §9.6, §4.2.3). */
static void test_issue8_term_jump_cannot_end_cluster(void **state)
{
    (void)state;
    for (int pre_vote = 0; pre_vote < 2; pre_vote++) {
        ut_consensus_config_t cfg = cfg3(2);
        cfg.pre_vote = pre_vote != 0;
        cfg.check_quorum = false;
        ut_consensus_t *h = NULL;
        assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
        assert_int_equal(ut_consensus_tick(h, 0), UT_OK);
        snap_t s = take(h);
        ut_msg_t v = mk_vote(UT_MSG_VOTE, 3, 2, UT_CONSENSUS_MAX_TERM, 0, 0);
        EXPECT_STEP(h, v, UT_EINVAL);
        ASSERT_UNCHANGED(s, h);
        v = mk_vote(UT_MSG_VOTE, 3, 2, UT_CONSENSUS_MAX_TERM - UT_CONSENSUS_TERM_HEADROOM + 1, 0,
                    0);
        EXPECT_STEP(h, v, UT_EINVAL);
        ASSERT_UNCHANGED(s, h);
        /* The last term below the headroom is still an ordinary term. */
        v = mk_vote(UT_MSG_VOTE, 3, 2, UT_CONSENSUS_MAX_TERM - UT_CONSENSUS_TERM_HEADROOM, 0, 0);
        STEP_OK(h, v);
        uint64_t t = ut_consensus_term(h);
        assert_int_equal(t, UT_CONSENSUS_MAX_TERM - UT_CONSENSUS_TERM_HEADROOM);
        /* Inside the headroom, one term at a time. */
        v = mk_vote(UT_MSG_VOTE, 1, 2, t + 1, 0, 0);
        STEP_OK(h, v);
        assert_int_equal(ut_consensus_term(h), t + 1);
        v = mk_vote(UT_MSG_VOTE, 1, 2, t + 3, 0, 0);
        EXPECT_STEP(h, v, UT_EINVAL);
        assert_int_equal(ut_consensus_term(h), t + 1);
        ut_consensus_free(h);
    }
    /* Pre-vote without check-quorum: a follower hearing from its leader
     * ignores a vote request of a higher term. */
    ut_consensus_config_t cfg = cfg3(2);
    cfg.check_quorum = false;
    ut_consensus_t *h = NULL;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
    assert_int_equal(ut_consensus_tick(h, 0), UT_OK);
    ut_msg_t hb = mk_append(1, 2, 1, 0, 0, 0, NULL, 0);
    STEP_OK(h, hb);
    raw_out_t o;
    raw_drain(h, &o);
    snap_t s = take(h);
    ut_msg_t v = mk_vote(UT_MSG_VOTE, 3, 2, 1000, 0, 0);
    STEP_OK(h, v);
    ASSERT_UNCHANGED(s, h);
    /* Once the leader is silent for an election timeout, it is not ignored. */
    assert_int_equal(ut_consensus_tick(h, cfg.election_timeout_ms - 1), UT_OK);
    hb = mk_append(1, 2, 1, 0, 0, 0, NULL, 0);
    STEP_OK(h, hb);
    raw_drain(h, &o);
    assert_int_equal(ut_consensus_tick(h, 2 * cfg.election_timeout_ms - 1), UT_OK);
    STEP_OK(h, v);
    assert_int_equal(ut_consensus_term(h), 1000);
    ut_consensus_free(h);
}

/* Every byte of a handed-out message is written: expected = zeroed message
 * with the fields of its type copied over. */
static void check_msg_initialised(const ut_msg_t *m)
{
    ut_msg_t z;
    memset(&z, 0, sizeof z);
    z.type = m->type;
    z.from = m->from;
    z.to = m->to;
    z.term = m->term;
    switch (m->type) {
    case UT_MSG_VOTE:
    case UT_MSG_PREVOTE:
        z.body.vote.last_log_index = m->body.vote.last_log_index;
        z.body.vote.last_log_term = m->body.vote.last_log_term;
        break;
    case UT_MSG_VOTE_RESP:
    case UT_MSG_PREVOTE_RESP:
        z.body.vote_resp.granted = m->body.vote_resp.granted;
        break;
    case UT_MSG_APPEND:
        z.body.append.prev_index = m->body.append.prev_index;
        z.body.append.prev_term = m->body.append.prev_term;
        z.body.append.commit = m->body.append.commit;
        z.body.append.n_entries = m->body.append.n_entries;
        z.body.append.entries = m->body.append.entries;
        break;
    case UT_MSG_APPEND_RESP:
        z.body.append_resp.success = m->body.append_resp.success;
        z.body.append_resp.index = m->body.append_resp.index;
        z.body.append_resp.hint_term = m->body.append_resp.hint_term;
        z.body.append_resp.hint_index = m->body.append_resp.hint_index;
        break;
    default:
        fail_msg("unexpected message type %d", (int)m->type);
    }
    if (memcmp(&z, m, sizeof z) != 0) {
        const unsigned char *p = (const unsigned char *)m, *q = (const unsigned char *)&z;
        size_t i = 0;
        while (p[i] == q[i])
            i++;
        fail_msg("%s message: byte %zu is 0x%02x, never written", ut_msg_type_name(m->type), i,
                 p[i]);
    }
}

static void drain_checked(ut_consensus_t *h, ut_msg_t *out, size_t *n_out, size_t cap)
{
    for (int guard = 0; guard < 100 && ut_consensus_has_ready(h); guard++) {
        ut_consensus_ready_t rd;
        assert_int_equal(ut_consensus_ready(h, &rd), UT_OK);
        for (size_t i = 0; i < rd.n_msgs; i++) {
            check_msg_initialised(&rd.msgs[i]);
            if (out != NULL && *n_out < cap)
                out[(*n_out)++] = rd.msgs[i];
        }
        assert_int_equal(ut_consensus_advance(h, &rd), UT_OK);
    }
}

/* Issue 8.7: messages handed out by ready carry no uninitialised bytes, so a
 * whole-struct copy or compare reads only what the library wrote. */
static void test_issue8_handed_out_msgs_zeroed(void **state)
{
    (void)state;
    bytes_alloc_t ba;
    ba_install(&ba);
    ut_consensus_config_t cfg = cfg3(1);
    ut_consensus_t *l = raw_leader(&cfg);
    ut_consensus_t *f = raw_new(2);
    assert_int_equal(ut_consensus_tick(f, 0), UT_OK);
    uint64_t idx;
    assert_int_equal(ut_consensus_propose(l, "x", 1, &idx), UT_OK);
    ut_msg_t ms[64];
    size_t n = 0;
    drain_checked(l, ms, &n, 64);
    /* Deliver the leader's messages to node 2 and check its replies. */
    for (size_t i = 0; i < n; i++)
        if (ms[i].to == 2)
            (void)ut_consensus_step(f, &ms[i]);
    size_t nr = 0;
    ut_msg_t rs[64];
    drain_checked(f, rs, &nr, 64);
    assert_true(nr > 0);
    for (size_t i = 0; i < nr; i++)
        (void)ut_consensus_step(l, &rs[i]);
    /* A rejection, a stale reply, vote replies. */
    ut_msg_t m = mk_append(1, 2, 1, 9, 1, 0, NULL, 0);
    (void)ut_consensus_step(f, &m);
    m = mk_vote(UT_MSG_PREVOTE, 3, 2, 2, 0, 0);
    (void)ut_consensus_step(f, &m);
    m = mk_vote(UT_MSG_VOTE, 3, 2, 5, 9, 1);
    (void)ut_consensus_step(f, &m);
    m = mk_append(1, 2, 1, 0, 0, 0, NULL, 0);
    (void)ut_consensus_step(f, &m);
    drain_checked(f, NULL, NULL, 0);
    assert_int_equal(ut_consensus_tick(l, 10 * cfg.heartbeat_ms), UT_OK);
    drain_checked(l, NULL, NULL, 0);
    ut_consensus_free(l);
    ut_consensus_free(f);
    test_alloc_uninstall();
}

/* Issue 8.8: a durable state machine that applied beyond a lazily persisted
 * commit index can restart: cfg.applied up to the restored log's end is
 * evidence that those entries were committed. */
static void test_issue8_applied_beyond_lazy_commit(void **state)
{
    (void)state;
    ut_entry_t es[3] = {{1, 1, UT_ENTRY_NOOP, 0, NULL},
                        {1, 2, UT_ENTRY_NORMAL, 1, "a"},
                        {1, 3, UT_ENTRY_NORMAL, 1, "b"}};
    ut_consensus_hard_state_t hs = {1, 0, 1};
    ut_consensus_config_t cfg = cfg3(2);
    cfg.applied = 3;
    ut_consensus_t *h = NULL;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
    assert_int_equal(ut_consensus_restore(h, &hs, es, 3), UT_OK);
    assert_int_equal(ut_consensus_commit_index(h), 3);
    raw_out_t o;
    raw_drain(h, &o);
    assert_int_equal(o.n_committed, 0); /* nothing handed out again */
    ut_consensus_free(h);

    /* Beyond the log's end is still corrupt, and changes nothing. */
    cfg.applied = 4;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
    snap_t s = take(h);
    assert_int_equal(ut_consensus_restore(h, &hs, es, 3), UT_ECORRUPT);
    ASSERT_UNCHANGED(s, h);
    ut_consensus_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_init_defaults),
        cmocka_unit_test(test_new_rejects_bad_config),
        cmocka_unit_test(test_new_node_initial_state),
        cmocka_unit_test(test_null_handle_and_arguments),
        cmocka_unit_test(test_restore_loads_state),
        cmocka_unit_test(test_restore_applied_skips_reapplication),
        cmocka_unit_test(test_restore_rejects_inconsistent_state),
        cmocka_unit_test(test_tick_backwards_is_erange),
        cmocka_unit_test(test_election_timeout_from_first_tick),
        cmocka_unit_test(test_election_timeout_range_and_heartbeats),
        cmocka_unit_test(test_single_voter_leads_at_once),
        cmocka_unit_test(test_empty_ready_does_not_block),
        cmocka_unit_test(test_prevote_then_vote),
        cmocka_unit_test(test_vote_restriction),
        cmocka_unit_test(test_prevote_does_not_change_term),
        cmocka_unit_test(test_dueling_candidates),
        cmocka_unit_test(test_split_vote_then_one_leader),
        cmocka_unit_test(test_figure7_a),
        cmocka_unit_test(test_figure7_b),
        cmocka_unit_test(test_figure7_c),
        cmocka_unit_test(test_figure7_d),
        cmocka_unit_test(test_figure7_e),
        cmocka_unit_test(test_figure7_f),
        cmocka_unit_test(test_figure8_old_term_not_committed_by_count),
        cmocka_unit_test(test_figure8_current_term_commits_older),
        cmocka_unit_test(test_follower_commit_bounded_by_new_entries),
        cmocka_unit_test(test_leader_counts_itself_only_when_durable),
        cmocka_unit_test(test_ready_pointers_valid_until_advance),
        cmocka_unit_test(test_stale_duplicate_reordered_appends_harmless),
        cmocka_unit_test(test_delayed_append_keeps_commit_and_log),
        cmocka_unit_test(test_leader_crash_new_leader),
        cmocka_unit_test(test_partition_minority_leader_cannot_commit),
        cmocka_unit_test(test_check_quorum_step_down),
        cmocka_unit_test(test_leader_lease_ignores_votes),
        cmocka_unit_test(test_rejoin_with_prevote_not_disruptive),
        cmocka_unit_test(test_rejoin_without_prevote_disrupts),
        cmocka_unit_test(test_term_rules),
        cmocka_unit_test(test_restart_keeps_term_and_vote),
        cmocka_unit_test(test_propose_on_follower),
        cmocka_unit_test(test_observer_never_votes_or_counts),
        cmocka_unit_test(test_step_rejects_malformed_messages),
        cmocka_unit_test(test_step_rejects_zero_term_for_nonzero_index),
        cmocka_unit_test(test_illegal_transitions_estate),
        cmocka_unit_test(test_term_overflow_refused),
        cmocka_unit_test(test_observer_grants_not_counted),
        cmocka_unit_test(test_step_survives_random_messages),
        cmocka_unit_test(test_alloc_failure_new),
        cmocka_unit_test(test_alloc_failure_propose),
        cmocka_unit_test(test_alloc_failure_step_append),
        cmocka_unit_test(test_alloc_failure_step_vote),
        cmocka_unit_test(test_alloc_failure_step_append_resp),
        cmocka_unit_test(test_alloc_failure_campaign),
        cmocka_unit_test(test_alloc_failure_propose_growth),
        cmocka_unit_test(test_alloc_failure_ready),
        cmocka_unit_test(test_issue9_config_version1),
        cmocka_unit_test(test_issue9_ready_reserved_zero),
        cmocka_unit_test(test_alloc_failure_leader_tick_keeps_quorum_round),
        cmocka_unit_test(test_refused_input_keeps_restore_possible),
        cmocka_unit_test(test_issue8_follower_acks_only_persisted),
        cmocka_unit_test(test_issue8_oversized_proposal_refused),
        cmocka_unit_test(test_issue8_max_append_bytes_bounded),
        cmocka_unit_test(test_issue8_truncated_entries_memory_bounded),
        cmocka_unit_test(test_issue8_exhausted_term_erange_changes_nothing),
        cmocka_unit_test(test_issue8_term_jump_cannot_end_cluster),
        cmocka_unit_test(test_issue8_handed_out_msgs_zeroed),
        cmocka_unit_test(test_issue8_applied_beyond_lazy_commit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
