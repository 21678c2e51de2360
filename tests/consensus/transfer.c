/* SPDX-License-Identifier: MIT */
/* Raft core (ut_consensus_t), leader transfer (thesis §3.10): the leader
 * stops taking proposals and membership changes, brings the target up to
 * date, sends it TimeoutNow, and the target campaigns at once (no pre-vote)
 * with RequestVotes that check-quorum's lease does not ignore; a transfer
 * that does not finish within an election timeout is aborted. Every refusal
 * of ut_consensus_transfer() and of a TimeoutNow leaves the node unchanged.
 * A group of test_consensus (tests/test_consensus.c runs every group). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "consensus_test.h"

/* Counts of the trace events this group looks for, on any node. */
typedef struct xfer_trace {
    unsigned started, timeout_now, aborted, ended;
    const char *abort_why;
} xfer_trace_t;

static void xfer_tracer(void *arg, const ut_trace_event_t *ev)
{
    xfer_trace_t *t = arg;
    if (strcmp(ev->event, "transfer-started") == 0)
        t->started++;
    else if (strcmp(ev->event, "transfer-timeout-now") == 0)
        t->timeout_now++;
    else if (strcmp(ev->event, "transfer-aborted") == 0) {
        t->aborted++;
        t->abort_why = ev->reason;
    } else if (strcmp(ev->event, "transfer-ended") == 0)
        t->ended++;
}

/* Every message sent, its type and transfer flag, through the send hook. */
typedef struct sent_log {
    size_t n_prevote, n_vote, n_vote_transfer, n_timeout_now;
    uint64_t timeout_now_to;
} sent_log_t;

static void on_send(rc_cluster_t *c, const ut_msg_t *m, void *ud)
{
    (void)c;
    sent_log_t *s = ud;
    if (m->type == UT_MSG_PREVOTE)
        s->n_prevote++;
    if (m->type == UT_MSG_VOTE) {
        s->n_vote++;
        s->n_vote_transfer += m->body.vote.transfer;
    }
    if (m->type == UT_MSG_TIMEOUT_NOW) {
        s->n_timeout_now++;
        s->timeout_now_to = m->to;
    }
}

static ut_consensus_config_t cfg_xfer(bool pre_vote, bool check_quorum, xfer_trace_t *t)
{
    ut_consensus_config_t cfg = cfg_base();
    cfg.pre_vote = pre_vote;
    cfg.check_quorum = check_quorum;
    if (t != NULL) {
        memset(t, 0, sizeof *t);
        cfg.trace = xfer_tracer;
        cfg.trace_arg = t;
    }
    return cfg;
}

/* cluster_led() on cfg_xfer(pre_vote, check_quorum, tr): `voters` voters,
 * node 1 leading with n_props entries committed. Returns its term. */
static uint64_t xfer_cluster(rc_cluster_t *c, size_t voters, bool pre_vote, bool check_quorum,
                             xfer_trace_t *tr, size_t n_props)
{
    ut_consensus_config_t cfg = cfg_xfer(pre_vote, check_quorum, tr);
    cluster_led(c, voters, 0, &cfg, 1, n_props);
    return term_of(c, 1);
}

/* The whole handover to target: the target leads the next term, the old
 * leader follows it, and a proposal on the new leader commits everywhere. */
static void expect_new_leader(rc_cluster_t *c, uint64_t old, uint64_t target, uint64_t t)
{
    rc_process_all(c);
    rc_drain(c, 10000);
    assert_int_equal(state_of(c, target), UT_CONSENSUS_LEADER);
    assert_int_equal(term_of(c, target), t + 1);
    rc_run(c, 2 * c->cfg.heartbeat_ms);
    assert_int_equal(state_of(c, old), UT_CONSENSUS_FOLLOWER);
    assert_int_equal(ut_consensus_leader(rc_h(c, old)), target);
    assert_int_equal(term_of(c, old), t + 1);
    assert_int_equal(rc_count_leaders(c), 1);
    assert_int_equal(rc_propose(c, old, "x", 1, NULL), UT_ENOTLEADER);
    uint64_t idx = 0;
    assert_int_equal(rc_propose(c, target, "after", 5, &idx), UT_OK);
    rc_run(c, 3 * c->cfg.heartbeat_ms);
    for (uint64_t id = 1; id <= c->n_voters; id++)
        assert_true(commit_of(c, id) >= idx);
    assert_true(applied_payload(c, old, "after", 5));
}

/* Thesis §3.10: the target holds every entry already, so the leader sends
 * TimeoutNow at once; the target campaigns in the next term and wins. */
static void test_transfer_to_up_to_date_follower(void **state)
{
    (void)state;
    rc_cluster_t c;
    xfer_trace_t tr;
    uint64_t t = xfer_cluster(&c, 3, false, false, &tr, 2);
    assert_int_equal(last_of(&c, 2), last_of(&c, 1));
    assert_int_equal(ut_consensus_transfer(rc_h(&c, 1), 2), UT_OK);
    rc_process(&c, 1);
    const ut_msg_t *tn = net_find(&c, UT_MSG_TIMEOUT_NOW, 1, 2);
    assert_non_null(tn);
    assert_int_equal(tn->term, t);
    assert_int_equal(tr.started, 1);
    assert_int_equal(tr.timeout_now, 1);
    /* Still the leader until it hears of the next term. */
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_LEADER);
    expect_new_leader(&c, 1, 2, t);
    assert_int_equal(tr.ended, 1);
    assert_int_equal(tr.aborted, 0);
    RC_OK(&c);
    rc_destroy(&c);
}

/* Thesis §3.10: a target that lacks entries is caught up first; TimeoutNow
 * goes out only once its match index is the leader's last index. */
static void test_transfer_to_lagging_follower(void **state)
{
    (void)state;
    rc_cluster_t c;
    xfer_trace_t tr;
    uint64_t t = xfer_cluster(&c, 3, true, true, &tr, 1);
    rc_cut(&c, 1, 3, true);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(rc_propose(&c, 1, "lag", 3, NULL), UT_OK);
        rc_drain(&c, 10000);
    }
    assert_true(last_of(&c, 3) < last_of(&c, 1));
    rc_cut(&c, 1, 3, false);
    assert_int_equal(ut_consensus_transfer(rc_h(&c, 1), 3), UT_OK);
    rc_process(&c, 1);
    assert_null(net_find(&c, UT_MSG_TIMEOUT_NOW, 0, 0));
    assert_int_equal(tr.timeout_now, 0);
    /* Deliver and tick until TimeoutNow appears: the target must hold the
     * leader's whole log by then. */
    int guard = 0;
    while (net_find(&c, UT_MSG_TIMEOUT_NOW, 1, 3) == NULL && guard++ < 10000) {
        if (c.n_net == 0)
            rc_advance(&c, c.tick_ms);
        else
            (void)rc_deliver(&c, 0);
    }
    assert_non_null(net_find(&c, UT_MSG_TIMEOUT_NOW, 1, 3));
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_LEADER);
    assert_int_equal(last_of(&c, 3), last_of(&c, 1));
    assert_int_equal(eterm(&c, 3, last_of(&c, 3)), t);
    expect_new_leader(&c, 1, 3, t);
    RC_OK(&c);
    rc_destroy(&c);
}

/* Thesis §3.10: a transfer that does not complete within an election
 * timeout is aborted and the leader takes proposals again. */
static void test_transfer_timeout(void **state)
{
    (void)state;
    rc_cluster_t c;
    xfer_trace_t tr;
    uint64_t t = xfer_cluster(&c, 3, true, true, &tr, 1);
    rc_isolate(&c, 3);
    uint64_t t0 = c.now;
    assert_int_equal(ut_consensus_transfer(rc_h(&c, 1), 3), UT_OK);
    rc_process(&c, 1); /* TimeoutNow at once (3 is up to date), lost on the way */
    assert_int_equal(tr.timeout_now, 1);
    while (c.now + c.tick_ms < t0 + c.cfg.election_timeout_ms) {
        rc_run(&c, c.tick_ms);
        assert_int_equal(rc_propose(&c, 1, "no", 2, NULL), UT_EBUSY);
    }
    assert_int_equal(tr.aborted, 0);
    rc_run(&c, 2 * c.tick_ms);
    assert_int_equal(tr.aborted, 1);
    assert_string_equal(tr.abort_why, "election timeout");
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_LEADER);
    assert_int_equal(term_of(&c, 1), t);
    uint64_t idx = 0;
    assert_int_equal(rc_propose(&c, 1, "yes", 3, &idx), UT_OK);
    rc_run(&c, 3 * c.cfg.heartbeat_ms);
    assert_true(commit_of(&c, 2) >= idx);
    /* And a new transfer may start. */
    assert_int_equal(ut_consensus_transfer(rc_h(&c, 1), 2), UT_OK);
    rc_heal(&c);
    expect_new_leader(&c, 1, 2, t);
    RC_OK(&c);
    rc_destroy(&c);
}

/* Thesis §3.10, §4.2.3: with pre-vote and check-quorum the transfer still
 * succeeds: the target skips pre-vote, and its RequestVotes, marked as a
 * transfer, are not ignored by voters that hear from the leader. */
static void test_transfer_with_prevote_and_check_quorum(void **state)
{
    (void)state;
    rc_cluster_t c;
    xfer_trace_t tr;
    sent_log_t sl;
    memset(&sl, 0, sizeof sl);
    uint64_t t = xfer_cluster(&c, 5, true, true, &tr, 2);
    c.on_send = on_send;
    c.on_send_ud = &sl;
    assert_int_equal(ut_consensus_transfer(rc_h(&c, 1), 4), UT_OK);
    rc_process(&c, 1);
    expect_new_leader(&c, 1, 4, t);
    assert_int_equal(sl.n_timeout_now, 1);
    assert_int_equal(sl.timeout_now_to, 4);
    assert_int_equal(sl.n_prevote, 0);
    assert_int_equal(sl.n_vote, 4);
    assert_int_equal(sl.n_vote_transfer, 4);
    RC_OK(&c);
    rc_destroy(&c);

    /* A follower in the lease grants such a vote; the same request without
     * the flag is ignored (tests/consensus/election.c). */
    t = xfer_cluster(&c, 3, true, true, NULL, 1);
    ut_msg_t m = mk_vote(UT_MSG_VOTE, 3, 2, t + 1, last_of(&c, 2), t);
    snap_t s2 = take(rc_h(&c, 2));
    (void)rc_inject(&c, &m);
    ASSERT_UNCHANGED(s2, rc_h(&c, 2));
    m.body.vote.transfer = true;
    assert_int_equal(rc_inject(&c, &m), UT_OK);
    assert_int_equal(term_of(&c, 2), t + 1);
    assert_int_equal(ut_consensus_vote(rc_h(&c, 2)), 3);
    const ut_msg_t *r = net_find(&c, UT_MSG_VOTE_RESP, 2, 3);
    assert_non_null(r);
    assert_true(r->body.vote_resp.granted);
    /* A pre-vote never comes from a transfer: malformed. */
    ut_msg_t pv = mk_vote(UT_MSG_PREVOTE, 2, 1, t + 2, last_of(&c, 2), t);
    pv.body.vote.transfer = true;
    EXPECT_STEP(rc_h(&c, 1), pv, UT_EINVAL);
    rc_drop_if(&c, any_msg, NULL);
    RC_OK(&c);
    rc_destroy(&c);
}

/* Thesis §3.10: while leadership is handed over, proposals and membership
 * changes are refused with UT_EBUSY, the node unchanged. */
static void test_transfer_refuses_proposals_and_changes(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_xfer(true, true, NULL);
    cluster_led(&c, 3, 1, &cfg, 1, 1);
    rc_isolate(&c, 3); /* keeps the transfer under way */
    ut_consensus_t *h = rc_h(&c, 1);
    assert_int_equal(ut_consensus_transfer(h, 3), UT_OK);
    rc_process(&c, 1);
    snap_t s = take(h);
    assert_int_equal(ut_consensus_propose(h, "a", 1, NULL), UT_EBUSY);
    assert_non_null(strstr(ut_consensus_errmsg(h), "transfer"));
    ASSERT_UNCHANGED(s, h);
    assert_int_equal(ut_consensus_propose(h, NULL, 0, NULL), UT_EBUSY);
    ASSERT_UNCHANGED(s, h);
    ut_consensus_buf_t bufs[2] = {{"a", 1}, {"b", 1}};
    uint64_t first = 77;
    assert_int_equal(ut_consensus_propose_batch(h, bufs, 2, &first), UT_EBUSY);
    assert_int_equal(first, 77);
    ASSERT_UNCHANGED(s, h);
    ut_consensus_change_t ch = {UT_CONSENSUS_PROMOTE, 4};
    assert_int_equal(ut_consensus_propose_change(h, &ch, 1, 0, NULL), UT_EBUSY);
    assert_non_null(strstr(ut_consensus_errmsg(h), "transfer"));
    ASSERT_UNCHANGED(s, h);
    ch = (ut_consensus_change_t){UT_CONSENSUS_REMOVE_VOTER, 3};
    assert_int_equal(ut_consensus_propose_change(h, &ch, 1, UT_CONSENSUS_CHANGE_JOINT, NULL),
                     UT_EBUSY);
    ASSERT_UNCHANGED(s, h);
    /* The same target again: already under way, nothing changes; another
     * target: UT_EBUSY. */
    assert_int_equal(ut_consensus_transfer(h, 3), UT_OK);
    ASSERT_UNCHANGED(s, h);
    assert_int_equal(ut_consensus_transfer(h, 2), UT_EBUSY);
    ASSERT_UNCHANGED(s, h);
    /* After the abort both are accepted again. */
    rc_run(&c, cfg.election_timeout_ms + cfg.heartbeat_ms);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_LEADER);
    assert_int_equal(rc_propose(&c, 1, "a", 1, NULL), UT_OK);
    assert_int_equal(ut_consensus_propose_batch(h, bufs, 2, NULL), UT_OK);
    rc_process(&c, 1);
    rc_heal(&c);
    rc_run(&c, 3 * cfg.heartbeat_ms);
    ch = (ut_consensus_change_t){UT_CONSENSUS_PROMOTE, 4};
    assert_int_equal(rc_change(&c, 1, &ch, 1, 0, NULL), UT_OK);
    rc_run(&c, 3 * cfg.heartbeat_ms);
    assert_true(rc_is_voter(&c, 1, 4));
    RC_OK(&c);
    rc_destroy(&c);
}

/* Every refusal of ut_consensus_transfer(), in the documented order, with
 * its code and the node unchanged (and no transfer started: proposals are
 * accepted afterwards). */
static void test_transfer_refusals(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_xfer(true, true, NULL);
    cluster_led(&c, 3, 1, &cfg, 1, 1); /* voters 1-3, observer 4 */
    assert_int_equal(ut_consensus_transfer(NULL, 2), UT_EINVAL);
    ut_consensus_t *h = rc_h(&c, 1);
    ut_consensus_t *f = rc_h(&c, 2);
    snap_t s = take(h), sf = take(f);
    assert_int_equal(ut_consensus_transfer(h, 0), UT_EINVAL);
    ASSERT_UNCHANGED(s, h);
    assert_int_equal(ut_consensus_transfer(h, 1), UT_EINVAL); /* itself */
    assert_non_null(strstr(ut_consensus_errmsg(h), "itself"));
    ASSERT_UNCHANGED(s, h);
    assert_int_equal(ut_consensus_transfer(f, 3), UT_ENOTLEADER);
    ASSERT_UNCHANGED(sf, f);
    assert_int_equal(ut_consensus_transfer(f, 2), UT_EINVAL); /* EINVAL comes first */
    ASSERT_UNCHANGED(sf, f);
    assert_int_equal(ut_consensus_transfer(h, 9), UT_ENOTFOUND);
    assert_non_null(strstr(ut_consensus_errmsg(h), "not a member"));
    ASSERT_UNCHANGED(s, h);
    assert_int_equal(ut_consensus_transfer(h, 4), UT_EINVAL); /* an observer */
    assert_non_null(strstr(ut_consensus_errmsg(h), "observer"));
    ASSERT_UNCHANGED(s, h);
    /* None of them started anything. */
    assert_int_equal(rc_propose(&c, 1, "ok", 2, NULL), UT_OK);
    rc_run(&c, 3 * cfg.heartbeat_ms);
    /* Another transfer under way: UT_EBUSY for a different target. */
    rc_isolate(&c, 2);
    assert_int_equal(ut_consensus_transfer(h, 2), UT_OK);
    rc_process(&c, 1);
    s = take(h);
    assert_int_equal(ut_consensus_transfer(h, 3), UT_EBUSY);
    ASSERT_UNCHANGED(s, h);
    assert_int_equal(ut_consensus_transfer(h, 2), UT_OK);
    ASSERT_UNCHANGED(s, h);
    rc_drop_if(&c, any_msg, NULL);
    RC_OK(&c);
    rc_destroy(&c);
}

/* Any step-down ends the transfer: a leader deposed by a higher term (here:
 * a campaign without pre-vote or check-quorum) that leads again later takes
 * proposals; so does one whose target left the voters. */
static void test_transfer_ends_on_step_down(void **state)
{
    (void)state;
    rc_cluster_t c;
    xfer_trace_t tr;
    ut_consensus_config_t cfg = cfg_xfer(false, false, &tr);
    cluster_led(&c, 3, 0, &cfg, 1, 1);
    rc_isolate(&c, 3);
    assert_int_equal(ut_consensus_transfer(rc_h(&c, 1), 3), UT_OK);
    rc_process(&c, 1);
    assert_true(rc_elect(&c, 2));
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_FOLLOWER);
    assert_int_equal(tr.ended, 1);
    assert_true(rc_elect(&c, 1));
    assert_int_equal(rc_propose(&c, 1, "again", 5, NULL), UT_OK);
    assert_int_equal(tr.aborted, 0);
    rc_drop_if(&c, any_msg, NULL);
    RC_OK(&c);
    rc_destroy(&c);
}

/* The receiving side: TimeoutNow is only taken from the leader this node
 * follows in its own term, and only by a voter; stale, misdirected or
 * forged ones change nothing. */
static void test_timeout_now_refusals(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_xfer(false, false, NULL);
    cluster(&c, 3, 1, &cfg); /* observer 4 */
    start(&c);
    assert_true(rc_elect(&c, 2));
    assert_true(rc_elect(&c, 1)); /* term 2, leader 1 */
    rc_run(&c, 3 * cfg.heartbeat_ms);
    uint64_t t = term_of(&c, 1);
    assert_int_equal(t, 2);
    assert_int_equal(ut_consensus_leader(rc_h(&c, 2)), 1);
    assert_int_equal(ut_consensus_leader(rc_h(&c, 4)), 1);
    ut_consensus_t *f = rc_h(&c, 2);
    /* Stale: the leader of term 1. */
    ut_msg_t m = mk_msg(UT_MSG_TIMEOUT_NOW, 2, 3, t - 1);
    EXPECT_STEP(rc_h(&c, 3), m, UT_ESTALE);
    m = mk_msg(UT_MSG_TIMEOUT_NOW, 1, 2, t - 1);
    EXPECT_STEP(f, m, UT_ESTALE);
    /* From a follower of this term, not the leader. */
    m = mk_msg(UT_MSG_TIMEOUT_NOW, 3, 2, t);
    EXPECT_STEP(f, m, UT_ESTATE);
    assert_non_null(strstr(ut_consensus_errmsg(f), "leader"));
    /* A higher term whose leader this node has not heard from. */
    m = mk_msg(UT_MSG_TIMEOUT_NOW, 1, 2, t + 1);
    EXPECT_STEP(f, m, UT_ESTATE);
    /* No peer; impossible term; the leader itself. */
    m = mk_msg(UT_MSG_TIMEOUT_NOW, 9, 2, t);
    EXPECT_STEP(f, m, UT_ENOTFOUND);
    m = mk_msg(UT_MSG_TIMEOUT_NOW, 1, 2, 0);
    EXPECT_STEP(f, m, UT_EINVAL);
    m = mk_msg(UT_MSG_TIMEOUT_NOW, 2, 1, t);
    EXPECT_STEP(rc_h(&c, 1), m, UT_ESTATE);
    /* To an observer, from its leader: it cannot lead. */
    m = mk_msg(UT_MSG_TIMEOUT_NOW, 1, 4, t);
    EXPECT_STEP(rc_h(&c, 4), m, UT_ESTATE);
    assert_int_equal(state_of(&c, 4), UT_CONSENSUS_OBSERVER);
    /* For another node. */
    m = mk_msg(UT_MSG_TIMEOUT_NOW, 1, 3, t);
    EXPECT_STEP(f, m, UT_EINVAL);
    assert_int_equal(rc_count_leaders(&c), 1);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_LEADER);
    /* The real one: from the leader of this term, to a voter. */
    m = mk_msg(UT_MSG_TIMEOUT_NOW, 1, 2, t);
    assert_int_equal(rc_inject(&c, &m), UT_OK);
    assert_int_equal(state_of(&c, 2), UT_CONSENSUS_CANDIDATE);
    assert_int_equal(term_of(&c, 2), t + 1);
    const ut_msg_t *v = net_find(&c, UT_MSG_VOTE, 2, 3);
    assert_non_null(v);
    assert_true(v->body.vote.transfer);
    rc_drain(&c, 10000);
    assert_int_equal(state_of(&c, 2), UT_CONSENSUS_LEADER);
    RC_OK(&c);
    rc_destroy(&c);
}

int consensus_group_transfer(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transfer_to_up_to_date_follower),
        cmocka_unit_test(test_transfer_to_lagging_follower),
        cmocka_unit_test(test_transfer_timeout),
        cmocka_unit_test(test_transfer_with_prevote_and_check_quorum),
        cmocka_unit_test(test_transfer_refuses_proposals_and_changes),
        cmocka_unit_test(test_transfer_refusals),
        cmocka_unit_test(test_transfer_ends_on_step_down),
        cmocka_unit_test(test_timeout_now_refusals),
    };
    return cmocka_run_group_tests_name("consensus_transfer", tests, NULL, NULL);
}
