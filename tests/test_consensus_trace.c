/* SPDX-License-Identifier: MIT */
/* The trace hook of ut_consensus_t (config version 2: trace, trace_arg):
 * the events of an election, a refused vote with its reason, refused
 * messages, a step-down by check-quorum; nothing is called without a tracer,
 * and a version-1 config never installs one (issue 9). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <unitypes.h>

#include "test_alloc.h"

#define N 3
#define MAX_RECS 1024

typedef struct rec {
    ut_trace_level_t level;
    uint64_t node, a, b;
    char event[40], reason[64];
} rec_t;

typedef struct recorder {
    rec_t recs[MAX_RECS];
    size_t n;
    long calls;
} recorder_t;

static recorder_t rec;

static void tracer(void *arg, const ut_trace_event_t *ev)
{
    recorder_t *r = arg;
    assert_ptr_equal(r, &rec);
    assert_string_equal(ev->module, "consensus");
    assert_non_null(ev->event);
    r->calls++;
    if (r->n == MAX_RECS)
        return;
    rec_t *x = &r->recs[r->n++];
    x->level = ev->level;
    x->node = ev->node;
    x->a = ev->a;
    x->b = ev->b;
    strncpy(x->event, ev->event, sizeof x->event - 1);
    x->event[sizeof x->event - 1] = '\0';
    strncpy(x->reason, ev->reason != NULL ? ev->reason : "", sizeof x->reason - 1);
    x->reason[sizeof x->reason - 1] = '\0';
}

/* Index of the first event of node at or after from with this name (and
 * reason, unless NULL), or -1. */
static long find(size_t from, uint64_t node, const char *event, const char *reason)
{
    for (size_t i = from; i < rec.n; i++)
        if (rec.recs[i].node == node && strcmp(rec.recs[i].event, event) == 0 &&
            (reason == NULL || strcmp(rec.recs[i].reason, reason) == 0))
            return (long)i;
    return -1;
}

static const uint64_t ids[N] = {1, 2, 3};

typedef struct cluster {
    ut_consensus_t *h[N];
} cluster_t;

static ut_consensus_t *make_node(uint64_t id, bool traced, bool pre_vote, bool check_quorum)
{
    ut_consensus_config_t cfg;
    assert_int_equal(ut_consensus_config_init(&cfg, UT_CONSENSUS_CONFIG_VERSION), UT_OK);
    assert_null(cfg.trace); /* the default: no tracer */
    cfg.id = id;
    cfg.voters = ids;
    cfg.n_voters = N;
    cfg.seed = 42;
    cfg.pre_vote = pre_vote;
    cfg.check_quorum = check_quorum;
    if (traced) {
        cfg.trace = tracer;
        cfg.trace_arg = &rec;
    }
    ut_consensus_t *h = NULL;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
    return h;
}

static void cluster_init(cluster_t *c, bool traced_all, bool pre_vote)
{
    memset(&rec, 0, sizeof rec);
    for (size_t i = 0; i < N; i++) {
        c->h[i] = make_node(ids[i], traced_all || i == 0, pre_vote, true);
        assert_int_equal(ut_consensus_tick(c->h[i], 0), UT_OK);
    }
}

static void cluster_free(cluster_t *c)
{
    for (size_t i = 0; i < N; i++)
        ut_consensus_free(c->h[i]);
}

/* Drain every node, delivering its messages at once (deliver = false: they
 * are lost), until no node has work. */
static void drain(cluster_t *c, bool deliver)
{
    for (int round = 0; round < 100; round++) {
        bool any = false;
        for (size_t i = 0; i < N; i++) {
            if (!ut_consensus_has_ready(c->h[i]))
                continue;
            any = true;
            ut_consensus_ready_t rd;
            assert_int_equal(ut_consensus_ready(c->h[i], &rd), UT_OK);
            for (size_t k = 0; deliver && k < rd.n_msgs; k++) {
                int rc = ut_consensus_step(c->h[rd.msgs[k].to - 1], &rd.msgs[k]);
                assert_true(rc == UT_OK || rc == UT_ESTALE);
            }
            assert_int_equal(ut_consensus_advance(c->h[i], &rd), UT_OK);
        }
        if (!any)
            return;
    }
    fail_msg("the cluster did not settle");
}

/* Node 1 times out (the first tick fixed time 0; a timeout is below 2T)
 * and wins. */
static void elect_node1(cluster_t *c)
{
    assert_int_equal(ut_consensus_tick(c->h[0], 2000), UT_OK);
    drain(c, true);
    assert_int_equal(ut_consensus_state(c->h[0]), UT_CONSENSUS_LEADER);
}

static void test_trace_election(void **state)
{
    (void)state;
    cluster_t c;
    cluster_init(&c, true, true);
    elect_node1(&c);
    /* Node 1: timeout, pre-vote, the new term, candidacy, leadership, in order. */
    long i = find(0, 1, "election-timeout", "no leader");
    assert_true(i >= 0);
    assert_int_equal(rec.recs[i].a, 0);
    i = find((size_t)i, 1, "become-pre-candidate", NULL);
    assert_true(i >= 0);
    assert_int_equal(rec.recs[i].a, 1); /* the proposed term */
    i = find((size_t)i, 1, "term", "campaign");
    assert_true(i >= 0);
    assert_int_equal(rec.recs[i].a, 1);
    assert_int_equal(rec.recs[i].b, 0);
    assert_int_equal(rec.recs[i].level, UT_TRACE_INFO);
    i = find((size_t)i, 1, "become-candidate", NULL);
    assert_true(i >= 0);
    i = find((size_t)i, 1, "become-leader", NULL);
    assert_true(i >= 0);
    assert_int_equal(rec.recs[i].a, 1);
    assert_int_equal(rec.recs[i].level, UT_TRACE_INFO);
    /* Followers: granted the pre-vote, moved to term 1 for the vote,
     * granted it; no role change (they stayed followers). */
    for (uint64_t id = 2; id <= 3; id++) {
        long g = find(0, id, "pre-vote-granted", NULL);
        assert_true(g >= 0);
        assert_int_equal(rec.recs[g].b, 1);
        long t = find(0, id, "term", "vote request of a higher term");
        assert_true(t > g);
        assert_int_equal(rec.recs[t].a, 1);
        assert_true(find((size_t)t, id, "vote-granted", NULL) > t);
        assert_int_equal(find(0, id, "become-follower", NULL), -1);
        assert_int_equal(find(0, id, "become-leader", NULL), -1);
    }
    cluster_free(&c);
}

static ut_msg_t vote_msg(uint64_t from, uint64_t to, uint64_t term, uint64_t last_index,
                         uint64_t last_term)
{
    ut_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = UT_MSG_VOTE;
    m.from = from;
    m.to = to;
    m.term = term;
    m.body.vote.last_log_index = last_index;
    m.body.vote.last_log_term = last_term;
    return m;
}

static void test_trace_refused_vote(void **state)
{
    (void)state;
    memset(&rec, 0, sizeof rec);
    /* No pre-vote, no check-quorum: no leader lease, votes are decided on
     * the term, the earlier vote and the log alone. */
    ut_consensus_t *h = make_node(2, true, false, false);
    assert_int_equal(ut_consensus_tick(h, 0), UT_OK);
    ut_msg_t m = vote_msg(1, 2, 1, 0, 0);
    assert_int_equal(ut_consensus_step(h, &m), UT_OK);
    assert_true(find(0, 2, "vote-granted", NULL) >= 0);
    m = vote_msg(3, 2, 1, 0, 0);
    assert_int_equal(ut_consensus_step(h, &m), UT_OK);
    long i = find(0, 2, "vote-refused", "already voted in this term");
    assert_true(i >= 0);
    assert_int_equal(rec.recs[i].level, UT_TRACE_WARN);
    assert_int_equal(rec.recs[i].a, 1);
    assert_int_equal(rec.recs[i].b, 3);
    ut_consensus_free(h);

    /* A voter whose log is ahead of the candidate's. */
    memset(&rec, 0, sizeof rec);
    h = make_node(2, true, false, false);
    ut_consensus_hard_state_t hs = {1, 0, 0};
    ut_entry_t e = {1, 1, UT_ENTRY_NORMAL, 1, "x"};
    assert_int_equal(ut_consensus_restore(h, &hs, &e, 1), UT_OK);
    assert_int_equal(ut_consensus_tick(h, 0), UT_OK);
    m = vote_msg(3, 2, 2, 0, 0);
    assert_int_equal(ut_consensus_step(h, &m), UT_OK);
    i = find(0, 2, "vote-refused", "candidate's log is behind");
    assert_true(i >= 0);
    assert_int_equal(rec.recs[i].a, 2);
    assert_int_equal(rec.recs[i].b, 3);
    assert_int_equal(ut_consensus_vote(h), 0);

    /* Refused messages, each with its reason: a stale term, a message
     * for another node, a sender that is not a member. */
    m = vote_msg(1, 2, 1, 1, 1);
    assert_int_equal(ut_consensus_step(h, &m), UT_ESTALE);
    i = find(0, 2, "step-refused", "stale term");
    assert_true(i >= 0);
    assert_int_equal(rec.recs[i].a, 1);
    assert_int_equal(rec.recs[i].b, 1);
    m = vote_msg(1, 3, 2, 1, 1);
    assert_int_equal(ut_consensus_step(h, &m), UT_EINVAL);
    assert_true(find(0, 2, "step-refused", "message for another node") >= 0);
    m = vote_msg(9, 2, 2, 1, 1);
    m.type = UT_MSG_VOTE_RESP; /* (a vote request is answered: thesis §4.1) */
    assert_int_equal(ut_consensus_step(h, &m), UT_ENOTFOUND);
    assert_true(find(0, 2, "step-refused", "not a peer") >= 0);
    /* Refused calls too. */
    assert_int_equal(ut_consensus_propose(h, "y", 1, NULL), UT_ENOTLEADER);
    assert_true(find(0, 2, "propose-refused", "not the leader") >= 0);
    assert_int_equal(ut_consensus_tick(h, 0), UT_OK);
    ut_consensus_free(h);
}

static void test_trace_step_down(void **state)
{
    (void)state;
    cluster_t c;
    cluster_init(&c, true, true);
    elect_node1(&c);
    size_t mark = rec.n;
    /* The followers hear nothing more from anyone: node 1's messages are
     * lost. One check-quorum round passes (everyone counted active at the
     * election), the next finds no quorum. */
    for (uint64_t t = 2100; t <= 4100; t += 100) {
        assert_int_equal(ut_consensus_tick(c.h[0], t), UT_OK);
        ut_consensus_ready_t rd;
        assert_int_equal(ut_consensus_ready(c.h[0], &rd), UT_OK);
        assert_int_equal(ut_consensus_advance(c.h[0], &rd), UT_OK);
        if (ut_consensus_state(c.h[0]) != UT_CONSENSUS_LEADER)
            break;
    }
    assert_int_equal(ut_consensus_state(c.h[0]), UT_CONSENSUS_FOLLOWER);
    long i = find(mark, 1, "step-down", "check-quorum: no quorum active");
    assert_true(i >= 0);
    assert_int_equal(rec.recs[i].level, UT_TRACE_WARN);
    assert_int_equal(rec.recs[i].a, ut_consensus_term(c.h[0]));
    i = find((size_t)i, 1, "become-follower", "check-quorum");
    assert_true(i >= 0);
    assert_int_equal(rec.recs[i].a, ut_consensus_term(c.h[0]));
    /* No term change: a step-down keeps the term. */
    assert_int_equal(find(mark, 1, "term", NULL), -1);
    cluster_free(&c);
}

/* Out of memory is a refusal with a reason too, and leaves the leader as it
 * was. */
static void test_trace_out_of_memory(void **state)
{
    (void)state;
    cluster_t c;
    cluster_init(&c, true, true);
    elect_node1(&c);
    uint64_t last = ut_consensus_last_index(c.h[0]);
    static unsigned char big[70000]; /* more than the log's current payload chunk */
    size_t mark = rec.n;
    test_alloc_t ta;
    test_alloc_install(&ta, 1);
    int rc = ut_consensus_propose(c.h[0], big, sizeof big, NULL);
    test_alloc_uninstall();
    assert_int_equal(rc, UT_ENOMEM);
    assert_int_equal(ta.failures, 1);
    assert_int_equal(ut_consensus_last_index(c.h[0]), last);
    long i = find(mark, 1, "propose-refused", "out of memory");
    assert_true(i >= 0);
    assert_int_equal(rec.recs[i].a, sizeof big);
    cluster_free(&c);
}

static void test_trace_only_where_installed(void **state)
{
    (void)state;
    cluster_t c;
    cluster_init(&c, false, true); /* a tracer on node 1 only */
    elect_node1(&c);
    ut_msg_t m = vote_msg(3, 2, 1, 0, 0);
    assert_int_equal(ut_consensus_step(c.h[1], &m), UT_OK); /* refused: already voted */
    assert_true(rec.n > 0);
    for (size_t i = 0; i < rec.n; i++)
        assert_int_equal(rec.recs[i].node, 1);
    cluster_free(&c);
}

static void test_trace_none_installed(void **state)
{
    (void)state;
    memset(&rec, 0, sizeof rec);
    /* Version 2 without a tracer, and a version-1 config (which has no
     * trace fields: whatever lies beyond its bytes is never read) with a
     * tracer behind it: neither node ever calls it. */
    ut_consensus_config_t cfg;
    assert_int_equal(ut_consensus_config_init(&cfg, 1), UT_OK);
    cfg.id = 2;
    cfg.voters = ids;
    cfg.n_voters = N;
    cfg.pre_vote = false;
    cfg.check_quorum = false;
    cfg.trace = tracer;
    cfg.trace_arg = &rec;
    assert_int_equal(cfg.version, 1);
    ut_consensus_t *v1 = NULL;
    assert_int_equal(ut_consensus_new(&v1, &cfg), UT_OK);
    ut_consensus_t *v2 = make_node(2, false, false, false);
    ut_consensus_t *nodes[2] = {v1, v2};
    for (size_t k = 0; k < 2; k++) {
        ut_consensus_t *h = nodes[k];
        assert_int_equal(ut_consensus_tick(h, 0), UT_OK);
        ut_msg_t m = vote_msg(1, 2, 1, 0, 0);
        assert_int_equal(ut_consensus_step(h, &m), UT_OK);
        m = vote_msg(3, 2, 1, 0, 0);
        assert_int_equal(ut_consensus_step(h, &m), UT_OK); /* refused */
        m = vote_msg(1, 2, 1, 0, 0);
        m.to = 3;
        assert_int_equal(ut_consensus_step(h, &m), UT_EINVAL);
        assert_int_equal(ut_consensus_tick(h, 5000), UT_OK); /* election timeout */
        assert_int_equal(ut_consensus_state(h), UT_CONSENSUS_CANDIDATE);
        ut_consensus_free(h);
    }
    assert_int_equal(rec.calls, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_election),
        cmocka_unit_test(test_trace_refused_vote),
        cmocka_unit_test(test_trace_step_down),
        cmocka_unit_test(test_trace_out_of_memory),
        cmocka_unit_test(test_trace_only_where_installed),
        cmocka_unit_test(test_trace_none_installed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
