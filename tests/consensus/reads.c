/* SPDX-License-Identifier: MIT */
/* Linearizable reads (thesis §6.4 ReadIndex, §6.4.1 leases): a new leader
 * waits for its first commit, the quorum round, a deposed leader that never
 * serves, duplicate contexts, follower and observer forwarding, lease mode
 * and its fallback, joint configurations, the bound, every error path, and
 * read states held across other calls. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "consensus_test.h"

/* Every read state handed out, with the node that handed it out. */
typedef struct got {
    struct {
        uint64_t node, index;
        char ctx[64];
        size_t len;
    } r[8192];
    size_t n;
} got_t;

static void on_read(rc_cluster_t *c, uint64_t id, const ut_consensus_read_state_t *rs, void *ud)
{
    (void)c;
    got_t *g = ud;
    assert_true(g->n < 8192);
    g->r[g->n].node = id;
    g->r[g->n].index = rs->index;
    g->r[g->n].len = rs->len;
    assert_true(rs->len < sizeof g->r[0].ctx);
    if (rs->len > 0)
        memcpy(g->r[g->n].ctx, rs->ctx, rs->len);
    g->r[g->n].ctx[rs->len] = '\0';
    g->n++;
}

static got_t *watch(rc_cluster_t *c)
{
    got_t *g = calloc(1, sizeof *g);
    assert_non_null(g);
    c->on_read = on_read;
    c->on_read_ud = g;
    return g;
}

/* A cluster (cluster_led: node 1 leads, n_props entries committed) whose
 * read states are recorded. */
static got_t *read_cluster(rc_cluster_t *c, size_t voters, size_t observers,
                           const ut_consensus_config_t *cfg, size_t n_props)
{
    cluster_led(c, voters, observers, cfg, 1, n_props);
    return watch(c);
}

/* Thesis §6.4.1: lease reads, 200 ms of clock drift allowed. */
static ut_consensus_config_t cfg_lease(void)
{
    ut_consensus_config_t cfg = cfg_base();
    cfg.read_mode = UT_CONSENSUS_READ_LEASE;
    cfg.max_clock_drift_ms = 200;
    return cfg;
}

static int rd(rc_cluster_t *c, uint64_t id, const char *ctx)
{
    return ut_consensus_read_index(rc_h(c, id), ctx, strlen(ctx));
}

/* How many read states with ctx node id handed out. */
static size_t count(const got_t *g, uint64_t id, const char *ctx)
{
    size_t k = 0;
    for (size_t i = 0; i < g->n; i++)
        if (g->r[i].node == id && strcmp(g->r[i].ctx, ctx) == 0)
            k++;
    return k;
}

static uint64_t index_of(const got_t *g, const char *ctx)
{
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->r[i].ctx, ctx) == 0)
            return g->r[i].index;
    return UINT64_MAX;
}

static bool is_vote(const ut_msg_t *m, void *ud)
{
    (void)ud;
    return m->type == UT_MSG_VOTE || m->type == UT_MSG_VOTE_RESP || m->type == UT_MSG_PREVOTE ||
           m->type == UT_MSG_PREVOTE_RESP;
}

static bool is_append_with_entries(const ut_msg_t *m, void *ud)
{
    (void)ud;
    return m->type == UT_MSG_APPEND && m->body.append.n_entries > 0;
}

/* Thesis §6.4 step 1: a new leader has not committed its no-op; a read
 * waits for it even once the quorum round is done, then takes the commit
 * index at that commit. */
static void test_new_leader_waits_for_first_commit(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cluster(&c, 3, 0, &cfg);
    got_t *g = watch(&c);
    start(&c);
    assert_int_equal(rc_campaign(&c, 1), UT_OK);
    rc_deliver_if(&c, is_vote, NULL, 1000);
    rc_process_all(&c);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_LEADER);
    /* The no-op is lost: nothing of term 1 (or any) is committed. */
    rc_drop_if(&c, is_append_with_entries, NULL);
    assert_int_equal(commit_of(&c, 1), 0);
    assert_int_equal(rd(&c, 1, "early"), UT_OK);
    rc_process(&c, 1);
    /* The round's heartbeats and their echoes, every entry lost. */
    for (int k = 0; k < 1000 && c.n_net > 0; k++) {
        rc_drop_if(&c, is_append_with_entries, NULL);
        if (c.n_net > 0)
            (void)rc_deliver(&c, 0);
    }
    RC_OK(&c);
    assert_int_equal(commit_of(&c, 1), 0);
    assert_int_equal(g->n, 0);          /* round done, but no commit of its term yet */
    rc_run(&c, 3 * c.cfg.heartbeat_ms); /* the no-op is sent again and commits */
    RC_OK(&c);
    assert_true(commit_of(&c, 1) >= 1);
    assert_int_equal(count(g, 1, "early"), 1);
    assert_int_equal(index_of(g, "early"), last_of(&c, 1));
    assert_int_equal(eterm(&c, 1, index_of(g, "early")), term_of(&c, 1));
    rc_destroy(&c);
    free(g);
}

/* Thesis §6.4 steps 2-3: the read index is the commit index when the read
 * arrives, served once a quorum echoed the round; entries committed later
 * do not raise it. */
static void test_read_after_quorum_round(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    got_t *g = read_cluster(&c, 3, 0, &cfg, 3);
    uint64_t at_request = commit_of(&c, 1);
    assert_int_equal(rd(&c, 1, "r1"), UT_OK);
    assert_int_equal(rc_propose(&c, 1, "later", 5, NULL), UT_OK);
    rc_process(&c, 1);
    assert_int_equal(g->n, 0); /* 3 voters: a round is needed */
    rc_drain(&c, 10000);
    RC_OK(&c);
    assert_int_equal(count(g, 1, "r1"), 1);
    assert_int_equal(index_of(g, "r1"), at_request);
    assert_true(commit_of(&c, 1) > at_request);
    /* A single voter is its own quorum: served at once. */
    rc_cluster_t one;
    got_t *g1 = read_cluster(&one, 1, 0, &cfg, 2);
    assert_int_equal(rd(&one, 1, "solo"), UT_OK);
    rc_process(&one, 1);
    assert_int_equal(count(g1, 1, "solo"), 1);
    assert_int_equal(index_of(g1, "solo"), commit_of(&one, 1));
    rc_destroy(&one);
    free(g1);
    rc_destroy(&c);
    free(g);
}

/* rc_run_until predicate: node 2 or 3 leads. */
static bool other_leader(rc_cluster_t *c, void *ud)
{
    (void)ud;
    return state_of(c, 2) == UT_CONSENSUS_LEADER || state_of(c, 3) == UT_CONSENSUS_LEADER;
}

/* Thesis §6.4: a leader cut off from the majority (deposed by a new one)
 * never completes a round, so it never serves a read, even with
 * check-quorum off (it keeps believing it leads). */
static void test_deposed_leader_never_serves(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cfg.check_quorum = false;
    cfg.pre_vote = false;
    got_t *g = read_cluster(&c, 3, 0, &cfg, 2);
    rc_isolate(&c, 1);
    /* Thesis §4.2.3: 2 and 3 ignore vote requests until an election
     * timeout after they last heard 1; then one of them is elected. */
    assert_true(rc_run_until(&c, other_leader, NULL, 20 * c.cfg.election_timeout_ms));
    uint64_t nl = state_of(&c, 2) == UT_CONSENSUS_LEADER ? 2 : 3;
    assert_int_equal(rc_propose(&c, nl, "new", 3, NULL), UT_OK);
    rc_run(&c, 200);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_LEADER); /* still thinks so */
    assert_true(commit_of(&c, nl) > commit_of(&c, 1));
    assert_int_equal(rd(&c, 1, "stale?"), UT_OK);
    rc_run(&c, 10 * c.cfg.election_timeout_ms);
    RC_OK(&c);
    assert_int_equal(count(g, 1, "stale?"), 0);
    /* Healed: it learns the new term, drops the read, and serves nothing. */
    rc_heal(&c);
    rc_run(&c, 5 * c.cfg.heartbeat_ms);
    RC_OK(&c);
    assert_int_not_equal(state_of(&c, 1), UT_CONSENSUS_LEADER);
    assert_int_equal(count(g, 1, "stale?"), 0);
    assert_int_equal(g->n, 0);
    rc_destroy(&c);
    free(g);
}

/* Every call is answered once, duplicates of its context included, on the
 * leader and through a follower, even when the network duplicates the
 * requests and the answers. */
static bool dup_reads(const ut_msg_t *m, void *ud)
{
    (void)ud;
    return m->type == UT_MSG_READ_INDEX || m->type == UT_MSG_READ_INDEX_RESP;
}

static void test_duplicate_contexts_answered_once(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    got_t *g = read_cluster(&c, 3, 0, &cfg, 1);
    assert_int_equal(rd(&c, 1, "x"), UT_OK);
    assert_int_equal(rd(&c, 1, "x"), UT_OK);
    assert_int_equal(rd(&c, 2, "y"), UT_OK);
    assert_int_equal(rd(&c, 2, "y"), UT_OK);
    rc_process_all(&c);
    /* Duplicate every forwarded read and every answer as it travels. */
    for (int round = 0; round < 4; round++) {
        for (size_t k = 0; k < c.n_net; k++)
            if (dup_reads(&c.net[k].m, NULL)) {
                rc_duplicate(&c, k);
                k++;
            }
        rc_deliver_if(&c, dup_reads, NULL, 100);
        rc_drain(&c, 1000);
    }
    rc_run(&c, 3 * c.cfg.heartbeat_ms);
    RC_OK(&c);
    assert_int_equal(count(g, 1, "x"), 2);
    assert_int_equal(count(g, 2, "y"), 2);
    assert_int_equal(g->n, 4);
    rc_destroy(&c);
    free(g);
}

/* Thesis §6.4: a follower and an observer forward to the leader and hand
 * out its read index; a node that is not the leader refuses with index 0. */
static void test_follower_and_observer_forward(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    got_t *g = read_cluster(&c, 3, 1, &cfg, 2);
    rc_run(&c, 2 * c.cfg.heartbeat_ms);
    uint64_t at_request = commit_of(&c, 1);
    assert_int_equal(rd(&c, 2, "f"), UT_OK);
    assert_int_equal(rd(&c, 4, "o"), UT_OK);
    uint64_t before = c.sent_type[UT_MSG_READ_INDEX];
    rc_process_all(&c);
    assert_int_equal(c.sent_type[UT_MSG_READ_INDEX], before + 2);
    rc_drain(&c, 10000);
    RC_OK(&c);
    assert_int_equal(count(g, 2, "f"), 1);
    assert_int_equal(count(g, 4, "o"), 1);
    assert_int_equal(index_of(g, "f"), at_request);
    assert_int_equal(index_of(g, "o"), at_request);
    /* A READ_INDEX at a follower: answered with index 0, no state. */
    ut_msg_t m = mk_msg(UT_MSG_READ_INDEX, 3, 2, term_of(&c, 2));
    m.body.read_index.ctx = "z";
    m.body.read_index.len = 1;
    before = c.sent_type[UT_MSG_READ_INDEX_RESP];
    assert_int_equal(rc_inject(&c, &m), UT_OK);
    rc_process(&c, 2);
    assert_int_equal(c.sent_type[UT_MSG_READ_INDEX_RESP], before + 1);
    const ut_msg_t *r = net_find(&c, UT_MSG_READ_INDEX_RESP, 2, 3);
    assert_non_null(r);
    assert_int_equal(r->body.read_index.index, 0);
    rc_drain(&c, 1000);
    assert_int_equal(g->n, 2);
    rc_destroy(&c);
    free(g);
}

/* Thesis §6.4.1: with a lease a leader serves without a round; once the
 * lease lapsed (no quorum heard from for election_timeout -
 * max_clock_drift) it falls back to a round. */
static void test_lease_serves_then_falls_back(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_lease();
    got_t *g = read_cluster(&c, 3, 0, &cfg, 2);
    rc_run(&c, 3 * c.cfg.heartbeat_ms);
    uint64_t sent = c.sent;
    assert_int_equal(rd(&c, 1, "lease"), UT_OK);
    rc_process(&c, 1);
    assert_int_equal(count(g, 1, "lease"), 1); /* at once */
    assert_int_equal(c.sent, sent);            /* no round */
    assert_int_equal(index_of(g, "lease"), commit_of(&c, 1));
    /* Cut off: after 900 ms the lease (at most 800 ms) lapsed, while
     * check-quorum (steps down after more than 1000 ms) keeps it leader. */
    rc_isolate(&c, 1);
    rc_run(&c, 900);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_LEADER);
    assert_int_equal(rd(&c, 1, "lapsed"), UT_OK);
    rc_process(&c, 1);
    rc_drain(&c, 1000);
    assert_int_equal(count(g, 1, "lapsed"), 0); /* a round, cut off */
    rc_heal(&c);
    assert_int_equal(rd(&c, 1, "after-heal"), UT_OK); /* the queued round serves both */
    rc_process(&c, 1);
    rc_drain(&c, 1000);
    RC_OK(&c);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_LEADER);
    assert_int_equal(count(g, 1, "lapsed"), 1);
    assert_int_equal(count(g, 1, "after-heal"), 1);
    rc_destroy(&c);
    free(g);
}

/* No lease read while a leader transfer is under way (thesis §3.10 with
 * §6.4.1): the target campaigns without waiting out the voters' leases, so
 * it may win inside the old leader's lease. The read takes a quorum round
 * instead; status reports the transfer and the pending read meanwhile. */
static void test_no_lease_read_during_transfer(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_lease();
    got_t *g = read_cluster(&c, 3, 0, &cfg, 2);
    rc_run(&c, 3 * c.cfg.heartbeat_ms);
    /* Node 3 cut off and behind: the transfer to it stays under way. */
    rc_isolate(&c, 3);
    assert_int_equal(rc_propose(&c, 1, "w", 1, NULL), UT_OK);
    rc_run(&c, 2 * c.cfg.heartbeat_ms);
    assert_int_equal(ut_consensus_transfer(rc_h(&c, 1), 3), UT_OK);
    rc_process(&c, 1);
    ut_consensus_status_t st;
    get_status(rc_h(&c, 1), &st);
    assert_int_equal(st.transfer_target, 3);
    uint64_t sent = c.sent;
    assert_int_equal(rd(&c, 1, "during"), UT_OK);
    rc_process(&c, 1);
    assert_int_equal(count(g, 1, "during"), 0); /* not at once: no lease */
    assert_true(c.sent > sent);                 /* a round instead */
    assert_int_equal(ut_consensus_status(rc_h(&c, 1), &st), UT_OK);
    assert_int_equal(st.pending_reads, 1);
    rc_drain(&c, 1000); /* node 2 answers the round */
    assert_int_equal(count(g, 1, "during"), 1);
    assert_int_equal(ut_consensus_status(rc_h(&c, 1), &st), UT_OK);
    assert_int_equal(st.pending_reads, 0);
    rc_heal(&c);
    rc_destroy(&c);
    free(g);
}

/* ut_consensus_new validates the read fields. */
static void test_read_config_validation(void **state)
{
    (void)state;
    ut_consensus_t *h = NULL;
    ut_consensus_config_t cfg = cfg3(1);
    cfg.read_mode = UT_CONSENSUS_READ_LEASE;
    cfg.check_quorum = false;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_EINVAL); /* lease needs check-quorum */
    assert_null(h);
    cfg.check_quorum = true;
    cfg.max_clock_drift_ms = cfg.election_timeout_ms;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_EINVAL); /* drift >= timeout */
    cfg.read_mode = UT_CONSENSUS_READ_SAFE;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_EINVAL); /* in either mode */
    cfg.max_clock_drift_ms = cfg.election_timeout_ms - 1;
    cfg.read_mode = (ut_consensus_read_mode_t)7;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_EINVAL); /* unknown mode */
    assert_null(h);
    cfg.read_mode = UT_CONSENSUS_READ_LEASE;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
    ut_consensus_free(h);
    /* Defaults: SAFE, no drift. */
    ut_consensus_config_t d;
    assert_int_equal(ut_consensus_config_init(&d, UT_CONSENSUS_CONFIG_VERSION), UT_OK);
    assert_int_equal(d.read_mode, UT_CONSENSUS_READ_SAFE);
    assert_int_equal(d.max_clock_drift_ms, 0);
}

/* UT_CONSENSUS_MAX_PENDING_READS reads held, the next one is UT_EBUSY;
 * all of them are then answered. */
static void test_bound_ebusy(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    got_t *g = read_cluster(&c, 3, 0, &cfg, 1);
    char ctx[16];
    for (unsigned i = 0; i < UT_CONSENSUS_MAX_PENDING_READS; i++) {
        int len = snprintf(ctx, sizeof ctx, "%u", i);
        assert_int_equal(ut_consensus_read_index(rc_h(&c, 1), ctx, (size_t)len), UT_OK);
    }
    snap_t s = take(rc_h(&c, 1));
    assert_int_equal(rd(&c, 1, "one-too-many"), UT_EBUSY);
    ASSERT_UNCHANGED(s, rc_h(&c, 1));
    assert_non_null(strstr(ut_consensus_errmsg(rc_h(&c, 1)), "unanswered"));
    rc_process(&c, 1);
    rc_drain(&c, 100000);
    RC_OK(&c);
    assert_int_equal(g->n, UT_CONSENSUS_MAX_PENDING_READS);
    assert_int_equal(rd(&c, 1, "room-again"), UT_OK);
    /* A follower's forwarded reads are bounded the same way. */
    for (unsigned i = 0; i < UT_CONSENSUS_MAX_PENDING_READS; i++) {
        int len = snprintf(ctx, sizeof ctx, "%u", i);
        assert_int_equal(ut_consensus_read_index(rc_h(&c, 2), ctx, (size_t)len), UT_OK);
    }
    assert_int_equal(rd(&c, 2, "one-too-many"), UT_EBUSY);
    rc_destroy(&c);
    free(g);
}

/* Every refusal, with the node unchanged. */
static void test_read_errors(void **state)
{
    (void)state;
    char big[UT_CONSENSUS_MAX_READ_CTX + 1];
    memset(big, 'b', sizeof big);
    assert_int_equal(ut_consensus_read_index(NULL, "a", 1), UT_EINVAL);
    ut_consensus_t *f = raw_new(2);
    assert_int_equal(ut_consensus_tick(f, 0), UT_OK);
    snap_t s = take(f);
    assert_int_equal(ut_consensus_read_index(f, NULL, 1), UT_EINVAL);
    assert_int_equal(ut_consensus_read_index(f, big, sizeof big), UT_ERANGE);
    assert_int_equal(ut_consensus_read_index(f, "a", 1), UT_ENOTLEADER); /* no leader known */
    assert_int_equal(ut_consensus_read_index(f, NULL, 0), UT_ENOTLEADER);
    ASSERT_UNCHANGED(s, f);
    /* A candidate. */
    ut_consensus_config_t cfg = cfg3(3);
    cfg.pre_vote = false;
    ut_consensus_t *cand = NULL;
    assert_int_equal(ut_consensus_new(&cand, &cfg), UT_OK);
    assert_int_equal(ut_consensus_tick(cand, 0), UT_OK);
    assert_int_equal(ut_consensus_campaign(cand), UT_OK);
    assert_int_equal(ut_consensus_state(cand), UT_CONSENSUS_CANDIDATE);
    assert_int_equal(ut_consensus_read_index(cand, "a", 1), UT_ENOTLEADER);
    ut_consensus_free(cand);

    /* Malformed messages from the network: refused, nothing changes. */
    ut_consensus_config_t lc = cfg3(1);
    ut_consensus_t *l = raw_leader(&lc);
    uint64_t t = ut_consensus_term(l);
    raw_out_t o;
    raw_drain(l, &o);
    s = take(l);
    ut_msg_t m = mk_msg(UT_MSG_READ_INDEX, 2, 1, t);
    m.body.read_index.len = 3; /* ctx NULL */
    expect_step(l, &m, UT_EINVAL, __LINE__);
    m.body.read_index.ctx = big;
    m.body.read_index.len = sizeof big;
    expect_step(l, &m, UT_EINVAL, __LINE__);
    m.body.read_index.len = 1;
    m.body.read_index.index = 5; /* a request carries no index */
    expect_step(l, &m, UT_EINVAL, __LINE__);
    m.type = UT_MSG_READ_INDEX_RESP;
    m.body.read_index.len = sizeof big;
    expect_step(l, &m, UT_EINVAL, __LINE__);
    m = mk_msg(UT_MSG_READ_INDEX, 9, 1, t); /* not a peer */
    expect_step(l, &m, UT_ENOTFOUND, __LINE__);
    m = mk_msg(UT_MSG_READ_INDEX, 2, 1, 0); /* term 0 */
    expect_step(l, &m, UT_EINVAL, __LINE__);
    ASSERT_UNCHANGED(s, l);
    assert_non_null(strstr(ut_consensus_errmsg(l), "read"));
    /* A RESP at a leader, and one from a node that is not the leader of a
     * follower: ignored. */
    m = mk_msg(UT_MSG_READ_INDEX_RESP, 2, 1, t);
    m.body.read_index.index = 1;
    assert_int_equal(ut_consensus_step(l, &m), UT_OK);
    ASSERT_UNCHANGED(s, l);
    ut_consensus_free(l);
    /* A stale request, and an answer nobody asked for, at a follower with
     * a leader. */
    ut_msg_t hb = mk_append(1, 2, 2, 0, 0, 0, NULL, 0);
    assert_int_equal(ut_consensus_step(f, &hb), UT_OK);
    raw_drain(f, &o);
    s = take(f);
    m = mk_msg(UT_MSG_READ_INDEX, 3, 2, 1);
    expect_step(f, &m, UT_ESTALE, __LINE__);
    m = mk_msg(UT_MSG_READ_INDEX_RESP, 1, 2, 2);
    m.body.read_index.index = 1;
    m.body.read_index.ctx = "nobody";
    m.body.read_index.len = 6;
    assert_int_equal(ut_consensus_step(f, &m), UT_OK);
    ASSERT_UNCHANGED(s, f);
    ut_consensus_free(f);
}

/* The ready contract: read states (and their ctx) stay valid until advance,
 * whatever other calls come in between. */
static void test_reads_held_across_calls(void **state)
{
    (void)state;
    ut_consensus_config_t cfg = cfg_base();
    static const uint64_t one[] = {1};
    cfg.id = 1;
    cfg.voters = one;
    cfg.n_voters = 1;
    ut_consensus_t *h = NULL;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
    assert_int_equal(ut_consensus_tick(h, 0), UT_OK);
    assert_int_equal(ut_consensus_campaign(h), UT_OK);
    raw_out_t o;
    raw_drain(h, &o); /* the no-op commits */
    assert_true(ut_consensus_commit_index(h) >= 1);
    char ctx[8] = "held";
    assert_int_equal(ut_consensus_read_index(h, ctx, 4), UT_OK);
    memset(ctx, 'X', sizeof ctx); /* copied */
    ut_consensus_ready_t r;
    assert_int_equal(ut_consensus_ready(h, &r), UT_OK);
    assert_false(ut_consensus_ready_empty(&r));
    assert_int_equal(r.n_read_states, 1);
    const ut_consensus_read_state_t *rs = r.read_states;
    const void *p = rs->ctx;
    /* Other calls while the ready is out. */
    assert_int_equal(ut_consensus_propose(h, "p", 1, NULL), UT_OK);
    assert_int_equal(ut_consensus_read_index(h, "again", 5), UT_OK);
    assert_int_equal(ut_consensus_tick(h, 500), UT_OK);
    assert_true(ut_consensus_has_ready(h) || true);
    assert_int_equal(rs->len, 4);
    assert_ptr_equal(rs->ctx, p);
    assert_memory_equal(rs->ctx, "held", 4);
    assert_int_equal(ut_consensus_advance(h, &r), UT_OK);
    /* The second read goes out in the next ready. */
    size_t n = 0;
    for (int guard = 0; guard < 10 && ut_consensus_has_ready(h); guard++) {
        assert_int_equal(ut_consensus_ready(h, &r), UT_OK);
        for (size_t i = 0; i < r.n_read_states; i++) {
            assert_int_equal(r.read_states[i].len, 5);
            assert_memory_equal(r.read_states[i].ctx, "again", 5);
            n++;
        }
        assert_int_equal(ut_consensus_advance(h, &r), UT_OK);
    }
    assert_int_equal(n, 1);
    /* Freed with reads and a ready outstanding: no leak (ASan). */
    assert_int_equal(ut_consensus_read_index(h, "left", 4), UT_OK);
    assert_int_equal(ut_consensus_ready(h, &r), UT_OK);
    ut_consensus_free(h);
}

/* Thesis §4.3 with §6.4: in a joint configuration a round needs a majority
 * of the outgoing and of the incoming voters. */
static void test_joint_needs_both_majorities(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    got_t *g = read_cluster(&c, 3, 2, &cfg, 2); /* voters 1 2 3, observers 4 5 */
    rc_run(&c, 2 * c.cfg.heartbeat_ms);
    ut_consensus_change_t ch[] = {{UT_CONSENSUS_PROMOTE, 4},
                                  {UT_CONSENSUS_PROMOTE, 5},
                                  {UT_CONSENSUS_REMOVE_VOTER, 2},
                                  {UT_CONSENSUS_REMOVE_VOTER, 3}};
    assert_int_equal(rc_change(&c, 1, ch, 4, UT_CONSENSUS_CHANGE_JOINT, NULL), UT_OK);
    rc_run(&c, 3 * c.cfg.heartbeat_ms);
    RC_OK(&c);
    ut_consensus_membership_t mb;
    assert_int_equal(ut_consensus_membership(rc_h(&c, 1), &mb, NULL), UT_OK);
    assert_int_equal(mb.n_voters_outgoing, 3); /* joint: old {1,2,3}, new {1,4,5} */
    /* Only the incoming majority reachable: not served. */
    rc_cut(&c, 1, 2, true);
    rc_cut(&c, 1, 3, true);
    assert_int_equal(rd(&c, 1, "joint"), UT_OK);
    rc_process(&c, 1);
    rc_drain(&c, 1000);
    assert_int_equal(count(g, 1, "joint"), 0);
    /* One outgoing voter back: both majorities. */
    rc_cut(&c, 1, 2, false);
    rc_run(&c, 2 * c.cfg.heartbeat_ms);
    RC_OK(&c);
    assert_int_equal(count(g, 1, "joint"), 1);
    /* Only the outgoing majority reachable: not served either. */
    rc_cut(&c, 1, 4, true);
    rc_cut(&c, 1, 5, true);
    assert_int_equal(rd(&c, 1, "joint2"), UT_OK);
    rc_process(&c, 1);
    rc_drain(&c, 1000);
    assert_int_equal(count(g, 1, "joint2"), 0);
    rc_cut(&c, 1, 5, false);
    rc_run(&c, 2 * c.cfg.heartbeat_ms);
    RC_OK(&c);
    assert_int_equal(count(g, 1, "joint2"), 1);
    rc_destroy(&c);
    free(g);
}

/* A leader that steps down drops what it holds; the trace says so. */
typedef struct tr {
    int dropped;
} tr_t;

static void trace_fn(void *arg, const ut_trace_event_t *ev)
{
    tr_t *t = arg;
    if (strcmp(ev->event, "reads-dropped") == 0)
        t->dropped += (int)ev->a;
}

static void test_step_down_drops_reads(void **state)
{
    (void)state;
    tr_t t = {0};
    ut_consensus_config_t cfg = cfg3(1);
    cfg.trace = trace_fn;
    cfg.trace_arg = &t;
    ut_consensus_t *l = raw_leader(&cfg);
    raw_out_t o;
    raw_drain(l, &o);
    assert_int_equal(ut_consensus_read_index(l, "a", 1), UT_OK);
    assert_int_equal(ut_consensus_read_index(l, "b", 1), UT_OK);
    ut_msg_t hb = mk_append(2, 1, ut_consensus_term(l) + 1, 0, 0, 0, NULL, 0);
    assert_int_equal(ut_consensus_step(l, &hb), UT_OK);
    assert_int_equal(ut_consensus_state(l), UT_CONSENSUS_FOLLOWER);
    assert_int_equal(t.dropped, 2);
    size_t n = 0;
    for (int guard = 0; guard < 10 && ut_consensus_has_ready(l); guard++) {
        ut_consensus_ready_t r;
        assert_int_equal(ut_consensus_ready(l, &r), UT_OK);
        n += r.n_read_states;
        assert_int_equal(ut_consensus_advance(l, &r), UT_OK);
    }
    assert_int_equal(n, 0);
    ut_consensus_free(l);
}

/* Allocation failures: UT_ENOMEM, nothing queued; the next call works. */
static void test_read_alloc_failures(void **state)
{
    (void)state;
    ut_consensus_config_t cfg = cfg3(1);
    ut_consensus_t *l = raw_leader(&cfg);
    raw_out_t o;
    raw_drain(l, &o);
    bool failed = false;
    for (long k = 0; k < 8; k++) {
        test_alloc_t ta;
        test_alloc_install(&ta, k);
        int rc = ut_consensus_read_index(l, "ctx", 3);
        test_alloc_uninstall();
        if (rc == UT_ENOMEM)
            failed = true;
        else
            assert_int_equal(rc, UT_OK);
    }
    assert_true(failed);
    raw_drain(l, &o);
    ut_consensus_free(l);
}

int consensus_group_reads(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_leader_waits_for_first_commit),
        cmocka_unit_test(test_read_after_quorum_round),
        cmocka_unit_test(test_deposed_leader_never_serves),
        cmocka_unit_test(test_duplicate_contexts_answered_once),
        cmocka_unit_test(test_follower_and_observer_forward),
        cmocka_unit_test(test_lease_serves_then_falls_back),
        cmocka_unit_test(test_no_lease_read_during_transfer),
        cmocka_unit_test(test_read_config_validation),
        cmocka_unit_test(test_bound_ebusy),
        cmocka_unit_test(test_read_errors),
        cmocka_unit_test(test_reads_held_across_calls),
        cmocka_unit_test(test_joint_needs_both_majorities),
        cmocka_unit_test(test_step_down_drops_reads),
        cmocka_unit_test(test_read_alloc_failures),
    };
    return cmocka_run_group_tests_name("reads", tests, NULL, NULL);
}
