/* SPDX-License-Identifier: MIT */
/* Raft core (ut_consensus_t), flow control (issue 11, rstat; etcd-io/raft's
 * MaxUncommittedEntriesSize and MaxInflightBytes):
 *   - cfg.max_uncommitted_bytes: a leader that cannot commit refuses
 *     proposals with UT_EBUSY (node unchanged, errmsg set) instead of growing
 *     its log, and accepts again once entries commit; the documented
 *     exceptions (nothing uncommitted, zero payloads, a batch as one, the
 *     no-op and configuration entries) and the counter's resets;
 *   - cfg.max_inflight_bytes: never more payload bytes in flight to one
 *     follower than the limit (counted from the messages ready hands out),
 *     one entry always when nothing is in flight, entries larger than the
 *     window still replicate, and has_ready() does not promise an
 *     AppendEntries the window holds back.
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

static ut_consensus_config_t flow_cfg(size_t unc, size_t infl)
{
    ut_consensus_config_t cfg = cfg3(1);
    cfg.check_quorum = false; /* an unacknowledged leader keeps leading */
    cfg.max_uncommitted_bytes = unc;
    cfg.max_inflight_bytes = infl;
    return cfg;
}

static uint64_t unc_of(const ut_consensus_t *h)
{
    ut_consensus_status_t st;
    get_status(h, &st);
    return st.uncommitted_bytes;
}

static unsigned char big[1024]; /* payload bytes; contents do not matter */

/* big filled with ch: a payload told apart by its first byte. */
static const unsigned char *fill(int ch, size_t len)
{
    memset(big, ch, len);
    return big;
}

static int prop(ut_consensus_t *h, size_t len)
{
    return ut_consensus_propose(h, len > 0 ? big : NULL, len, NULL);
}

/* A refused proposal: UT_EBUSY, the node unchanged, errmsg says why. */
static void expect_busy(ut_consensus_t *h, size_t len, int line)
{
    snap_t s = take(h);
    uint64_t unc = unc_of(h);
    int rc = prop(h, len);
    if (rc != UT_EBUSY)
        fail_msg("line %d: propose(%zu) returned %s, expected UT_EBUSY", line, len,
                 ut_err_name(rc));
    snap_check(&s, h, line);
    if (unc_of(h) != unc)
        fail_msg("line %d: uncommitted bytes moved on a refusal", line);
    if (strstr(ut_consensus_errmsg(h), "max_uncommitted_bytes") == NULL)
        fail_msg("line %d: errmsg '%s'", line, ut_consensus_errmsg(h));
}

#define EXPECT_BUSY(h, len) expect_busy((h), (len), __LINE__)

static void ack(ut_consensus_t *h, uint64_t from, uint64_t index)
{
    ut_msg_t r = mk_msg(UT_MSG_APPEND_RESP, from, 1, ut_consensus_term(h));
    r.body.append_resp.success = true;
    r.body.append_resp.index = index;
    STEP_OK(h, r);
}

/* Win an election of term (the current term + 1) by hand. */
static void win(ut_consensus_t *h, const ut_consensus_config_t *cfg, uint64_t term)
{
    assert_int_equal(ut_consensus_campaign(h), UT_OK);
    if (cfg->pre_vote) {
        ut_msg_t pv = mk_msg(UT_MSG_PREVOTE_RESP, 2, 1, term);
        pv.body.vote_resp.granted = true;
        STEP_OK(h, pv);
    }
    ut_msg_t v = mk_msg(UT_MSG_VOTE_RESP, 2, 1, term);
    v.body.vote_resp.granted = true;
    STEP_OK(h, v);
    assert_int_equal(ut_consensus_state(h), UT_CONSENSUS_LEADER);
    assert_int_equal(ut_consensus_term(h), term);
}

/* ---------------------------------------------------- max_uncommitted_bytes */

static void test_flow_limit_refuses_then_recovers(void **state)
{
    (void)state;
    /* Two voters: with the follower partitioned nothing commits. */
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cfg.check_quorum = false;
    cfg.max_uncommitted_bytes = 100;
    cluster(&c, 2, 0, &cfg);
    start(&c);
    assert_true(rc_elect(&c, 1));
    rc_run(&c, 3 * cfg.heartbeat_ms);
    ut_consensus_t *h = rc_h(&c, 1);
    assert_int_equal(commit_of(&c, 1), last_of(&c, 1)); /* the no-op committed */
    assert_int_equal(unc_of(h), 0);

    rc_isolate(&c, 2);
    assert_int_equal(rc_propose(&c, 1, fill('a', 40), 40, NULL), UT_OK);
    assert_int_equal(rc_propose(&c, 1, fill('b', 40), 40, NULL), UT_OK);
    assert_int_equal(unc_of(h), 80);
    EXPECT_BUSY(h, 40);
    EXPECT_BUSY(h, 21);
    /* 20 more fit exactly. */
    assert_int_equal(rc_propose(&c, 1, fill('c', 20), 20, NULL), UT_OK);
    assert_int_equal(unc_of(h), 100);
    EXPECT_BUSY(h, 1);
    uint64_t last = last_of(&c, 1);
    /* Time passes, heartbeats go unanswered: still refused, log unchanged. */
    rc_run(&c, 10 * cfg.heartbeat_ms);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_LEADER);
    EXPECT_BUSY(h, 1);
    assert_int_equal(last_of(&c, 1), last);
    assert_true(commit_of(&c, 1) < last);

    /* Healed: the entries commit, the bytes are released, proposals go. */
    rc_heal(&c);
    rc_run(&c, 5 * cfg.heartbeat_ms);
    assert_int_equal(commit_of(&c, 1), last);
    assert_int_equal(unc_of(h), 0);
    assert_int_equal(rc_propose(&c, 1, fill('d', 40), 40, NULL), UT_OK);
    rc_run(&c, 3 * cfg.heartbeat_ms);
    assert_int_equal(unc_of(h), 0);
    for (uint64_t id = 1; id <= 2; id++) {
        assert_true(applied_payload(&c, id, fill('a', 40), 40));
        assert_true(applied_payload(&c, id, fill('b', 40), 40));
        assert_true(applied_payload(&c, id, fill('c', 20), 20));
        assert_true(applied_payload(&c, id, fill('d', 40), 40));
    }
    RC_OK(&c);
    rc_destroy(&c);
}

static void test_flow_exceptions(void **state)
{
    (void)state;
    ut_consensus_config_t cfg = flow_cfg(10, 0);
    ut_consensus_t *h = raw_leader(&cfg);
    /* The new leader's no-op is in the log, not counted. */
    assert_int_equal(ut_consensus_last_index(h), 1);
    assert_int_equal(unc_of(h), 0);
    /* Nothing uncommitted: one proposal larger than the limit goes. */
    assert_int_equal(prop(h, 50), UT_OK);
    assert_int_equal(unc_of(h), 50);
    EXPECT_BUSY(h, 1);
    /* Zero payloads add nothing and always go. */
    assert_int_equal(ut_consensus_propose(h, NULL, 0, NULL), UT_OK);
    assert_int_equal(ut_consensus_propose(h, big, 0, NULL), UT_OK);
    ut_consensus_buf_t zeros[2] = {{NULL, 0}, {big, 0}};
    uint64_t first = 0;
    assert_int_equal(ut_consensus_propose_batch(h, zeros, 2, &first), UT_OK);
    assert_int_equal(first, 5);
    assert_int_equal(ut_consensus_last_index(h), 6);
    assert_int_equal(unc_of(h), 50);
    /* A batch with payload is refused as a whole, nothing appended. */
    ut_consensus_buf_t one[2] = {{big, 0}, {big, 1}};
    snap_t s = take(h);
    assert_int_equal(ut_consensus_propose_batch(h, one, 2, &first), UT_EBUSY);
    ASSERT_UNCHANGED(s, h);
    assert_non_null(strstr(ut_consensus_errmsg(h), "propose_batch"));
    ut_consensus_free(h);

    /* A batch counts as one proposal: accepted whole when nothing is
     * uncommitted, even above the limit. */
    h = raw_leader(&cfg);
    ut_consensus_buf_t three[3] = {{big, 8}, {big, 8}, {big, 8}};
    assert_int_equal(ut_consensus_propose_batch(h, three, 3, &first), UT_OK);
    assert_int_equal(first, 2);
    assert_int_equal(ut_consensus_last_index(h), 4);
    assert_int_equal(unc_of(h), 24);
    EXPECT_BUSY(h, 1);
    ut_consensus_free(h);

    /* The limit itself: up to it exactly. */
    cfg = flow_cfg(100, 0);
    h = raw_leader(&cfg);
    assert_int_equal(prop(h, 60), UT_OK);
    assert_int_equal(prop(h, 40), UT_OK);
    EXPECT_BUSY(h, 1);
    ut_consensus_buf_t two[2] = {{big, 0}, {big, 1}};
    assert_int_equal(ut_consensus_propose_batch(h, two, 2, NULL), UT_EBUSY);
    ut_consensus_free(h);

    /* Not a leader: UT_ENOTLEADER as before, whatever the counter. */
    h = raw_new(1);
    assert_int_equal(prop(h, 1), UT_ENOTLEADER);
    ut_consensus_free(h);
}

/* Configuration entries are not counted, and never refused by flow
 * control: a membership change may be what restores the quorum. */
static void test_flow_config_entry_not_counted(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cfg.check_quorum = false;
    cfg.max_uncommitted_bytes = 50;
    cluster(&c, 3, 1, &cfg); /* observer 4 */
    elect_and_commit(&c, 1, 0);
    ut_consensus_t *h = rc_h(&c, 1);
    rc_isolate(&c, 1);
    assert_int_equal(rc_propose(&c, 1, big, 50, NULL), UT_OK);
    EXPECT_BUSY(h, 1);
    uint64_t idx = 0;
    assert_int_equal(rc_change1(&c, 1, UT_CONSENSUS_REMOVE_OBSERVER, 4, &idx), UT_OK);
    assert_int_equal(idx, last_of(&c, 1));
    assert_int_equal(unc_of(h), 50);
    EXPECT_BUSY(h, 1);
    rc_heal(&c);
    rc_run(&c, 5 * cfg.heartbeat_ms);
    assert_int_equal(commit_of(&c, 1), idx);
    assert_false(rc_is_member(&c, 1, 4));
    assert_int_equal(unc_of(h), 0);
    assert_int_equal(rc_propose(&c, 1, big, 1, NULL), UT_OK);
    rc_run(&c, 3 * cfg.heartbeat_ms);
    assert_int_equal(unc_of(h), 0);
    RC_OK(&c);
    rc_destroy(&c);
}

/* The counter is the current leader's, for its own term: a leader that steps
 * down forgets it, a new one starts from zero (not counting entries of
 * earlier terms it holds uncommitted). */
static void test_flow_counter_reset(void **state)
{
    (void)state;
    ut_consensus_config_t cfg = flow_cfg(100, 0);
    ut_consensus_t *h = raw_leader(&cfg);
    assert_int_equal(prop(h, 80), UT_OK);
    assert_int_equal(unc_of(h), 80);
    /* A leader of term 2 appears: step down. */
    ut_msg_t a = mk_append(2, 1, 2, 0, 0, 0, NULL, 0);
    STEP_OK(h, a);
    assert_int_equal(ut_consensus_state(h), UT_CONSENSUS_FOLLOWER);
    assert_int_equal(unc_of(h), 0);
    assert_int_equal(prop(h, 1), UT_ENOTLEADER);
    /* Leader again in term 3, its log holding the uncommitted 80 bytes of
     * term 1: they are not counted, the full limit is free. */
    win(h, &cfg, 3);
    assert_true(ut_consensus_commit_index(h) < ut_consensus_last_index(h));
    assert_int_equal(unc_of(h), 0);
    assert_int_equal(prop(h, 100), UT_OK);
    EXPECT_BUSY(h, 1);
    ut_consensus_free(h);

    /* In a cluster: the isolated leader is full; a new leader elected by the
     * others starts from zero; once healed the old one is a follower. */
    rc_cluster_t c;
    ut_consensus_config_t ccfg = cfg_base();
    ccfg.check_quorum = false;
    ccfg.max_uncommitted_bytes = 50;
    cluster(&c, 3, 0, &ccfg);
    elect_and_commit(&c, 1, 1);
    rc_isolate(&c, 1);
    assert_int_equal(rc_propose(&c, 1, big, 50, NULL), UT_OK);
    EXPECT_BUSY(rc_h(&c, 1), 1);
    rc_run(&c, 4 * ccfg.election_timeout_ms);
    uint64_t l = rc_leader(&c);
    assert_true(l == 2 || l == 3);
    assert_int_equal(unc_of(rc_h(&c, l)), 0);
    assert_int_equal(rc_propose(&c, l, "new-leader", 10, NULL), UT_OK);
    assert_int_equal(unc_of(rc_h(&c, l)), 10);
    rc_heal(&c);
    rc_run(&c, 5 * ccfg.heartbeat_ms);
    assert_int_equal(state_of(&c, 1), UT_CONSENSUS_FOLLOWER);
    assert_int_equal(unc_of(rc_h(&c, 1)), 0);
    assert_int_equal(unc_of(rc_h(&c, l)), 0);
    assert_true(applied_payload(&c, 1, "new-leader", 10));
    RC_OK(&c);
    rc_destroy(&c);
}

/* A leader without a quorum, offered proposals for a long time, keeps its
 * memory bounded: what it holds stops growing at the limit. */
static void test_flow_memory_bounded(void **state)
{
    (void)state;
    bytes_alloc_t ba;
    ba_install(&ba);
    ut_consensus_config_t cfg = flow_cfg(1000, 0);
    ut_consensus_t *h = raw_leader(&cfg);
    raw_out_t o;
    size_t accepted = 0;
    while (prop(h, 100) == UT_OK)
        accepted++;
    assert_int_equal(accepted, 10);
    uint64_t last = ut_consensus_last_index(h);
    uint64_t now = 0;
    for (int i = 0; i < 5; i++) {
        raw_drain(h, &o);
        now += cfg.heartbeat_ms;
        assert_int_equal(ut_consensus_tick(h, now), UT_OK);
    }
    raw_drain(h, &o);
    size_t base = ba.live;
    for (int i = 0; i < 5000; i++) {
        assert_int_equal(prop(h, 100), UT_EBUSY);
        if (i % 100 == 99) {
            now += cfg.heartbeat_ms;
            assert_int_equal(ut_consensus_tick(h, now), UT_OK);
            raw_drain(h, &o);
            assert_true(o.n_msgs > 0); /* heartbeats and retries go on */
        }
    }
    assert_int_equal(ut_consensus_state(h), UT_CONSENSUS_LEADER);
    assert_int_equal(ut_consensus_last_index(h), last);
    /* 5,000 accepted proposals would hold 500,000 bytes. */
    if (ba.live > base + 1024)
        fail_msg("leader memory grew from %zu to %zu bytes", base, ba.live);
    ut_consensus_free(h);
    assert_int_equal(ut_set_allocator(NULL), UT_OK);
}

/* ------------------------------------------------------- max_inflight_bytes */

/* What the leader sent each follower, from the messages in ready: the
 * entries of its AppendEntries, and what the follower acknowledged. */
typedef struct sent {
    uint64_t index[512];
    uint32_t len[512];
    size_t n;
    uint64_t acked;
    size_t msgs;         /* AppendEntries with entries in the last drain */
    uint64_t last_index; /* last entry sent */
} sent_t;

static uint64_t in_flight(const sent_t *s)
{
    uint64_t b = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->index[i] > s->acked)
            b += s->len[i];
    return b;
}

static size_t entries_in_flight(const sent_t *s)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++)
        k += s->index[i] > s->acked;
    return k;
}

/* Drain h's readies recording what went to 2 and 3 (sent[0], sent[1]);
 * after each ready, no follower has more than limit bytes in flight unless
 * it is a single entry. */
static void fdrain(ut_consensus_t *h, sent_t *sent, uint64_t limit)
{
    sent[0].msgs = sent[1].msgs = 0;
    for (int guard = 0; guard < 100 && ut_consensus_has_ready(h); guard++) {
        ut_consensus_ready_t rd;
        assert_int_equal(ut_consensus_ready(h, &rd), UT_OK);
        assert_false(ut_consensus_ready_empty(&rd)); /* has_ready promised work */
        for (size_t i = 0; i < rd.n_msgs; i++) {
            const ut_msg_t *m = &rd.msgs[i];
            if (m->type != UT_MSG_APPEND || m->body.append.n_entries == 0)
                continue;
            assert_true(m->to == 2 || m->to == 3);
            sent_t *s = &sent[m->to - 2];
            s->msgs++;
            for (size_t k = 0; k < m->body.append.n_entries; k++) {
                assert_true(s->n < 512);
                s->index[s->n] = m->body.append.entries[k].index;
                s->len[s->n] = m->body.append.entries[k].len;
                s->last_index = s->index[s->n];
                s->n++;
            }
        }
        assert_int_equal(ut_consensus_advance(h, &rd), UT_OK);
        for (int f = 0; f < 2; f++)
            if (entries_in_flight(&sent[f]) > 1 && in_flight(&sent[f]) > limit)
                fail_msg("%llu payload bytes in flight to node %d (limit %llu)",
                         (unsigned long long)in_flight(&sent[f]), f + 2, (unsigned long long)limit);
    }
}

static void fack(ut_consensus_t *h, sent_t *sent, uint64_t from, uint64_t index)
{
    sent[from - 2].acked = index;
    ack(h, from, index);
}

/* A raw leader whose followers 2 and 3 are both in pipeline (the no-op
 * acknowledged), nothing in flight. */
static ut_consensus_t *pipelined(const ut_consensus_config_t *cfg, sent_t *sent)
{
    memset(sent, 0, 2 * sizeof *sent);
    ut_consensus_t *h = raw_leader(cfg);
    fdrain(h, sent, UINT64_MAX);
    fack(h, sent, 2, 1);
    fack(h, sent, 3, 1);
    fdrain(h, sent, UINT64_MAX);
    assert_int_equal(ut_consensus_commit_index(h), 1);
    ut_consensus_status_t st;
    get_status(h, &st);
    assert_int_equal(peer_of(&st, 3)->state, UT_CONSENSUS_REPL_PIPELINE);
    sent[0].n = sent[1].n = 0; /* the no-op is acknowledged */
    return h;
}

static void test_flow_inflight_window(void **state)
{
    (void)state;
    static sent_t sent[2];
    ut_consensus_config_t cfg = flow_cfg(0, 100);
    ut_consensus_t *h = pipelined(&cfg, sent);
    /* Node 2 answers everything, node 3 nothing (slow). */
    for (int k = 0; k < 10; k++) {
        assert_int_equal(prop(h, 30), UT_OK);
        fdrain(h, sent, 100);
        fack(h, sent, 2, sent[0].last_index);
        fdrain(h, sent, 100);
    }
    assert_int_equal(ut_consensus_commit_index(h), 11);
    assert_int_equal(in_flight(&sent[1]), 90); /* 3 entries of 30, the 4th does not fit */
    ut_consensus_status_t st;
    get_status(h, &st);
    const ut_consensus_peer_status_t *p3 = peer_of(&st, 3);
    assert_int_equal(p3->inflight_bytes, 90);
    assert_int_equal(p3->inflight_msgs, 3);
    assert_int_equal(p3->match, 1);
    assert_int_equal(p3->next, 5);
    assert_int_equal(peer_of(&st, 2)->match, 11);
    assert_int_equal(peer_of(&st, 2)->inflight_bytes, 0);
    /* Node 3 acknowledges two of its messages: 60 bytes free, two entries
     * go, in one message. */
    fack(h, sent, 3, 3);
    fdrain(h, sent, 100);
    assert_int_equal(sent[1].msgs, 1);
    assert_int_equal(sent[1].last_index, 6);
    assert_int_equal(in_flight(&sent[1]), 90);
    /* All of it acknowledged: the rest goes, 3 entries (90 bytes) at most
     * per window. */
    while (sent[1].last_index < 11) {
        fack(h, sent, 3, sent[1].last_index);
        fdrain(h, sent, 100);
    }
    fack(h, sent, 3, 11);
    fdrain(h, sent, 100);
    assert_int_equal(ut_consensus_status(h, &st), UT_OK);
    assert_int_equal(peer_of(&st, 3)->match, 11);
    assert_int_equal(peer_of(&st, 3)->inflight_bytes, 0);
    ut_consensus_free(h);
}

/* One entry always goes when nothing is in flight, however large: such
 * entries replicate one message at a time. */
static void test_flow_inflight_large_entry(void **state)
{
    (void)state;
    static sent_t sent[2];
    ut_consensus_config_t cfg = flow_cfg(0, 100);
    ut_consensus_t *h = pipelined(&cfg, sent);
    assert_int_equal(prop(h, 250), UT_OK);
    assert_int_equal(prop(h, 10), UT_OK);
    fdrain(h, sent, 100);
    for (int f = 0; f < 2; f++) {
        assert_int_equal(sent[f].msgs, 1);
        assert_int_equal(sent[f].n, 1);
        assert_int_equal(sent[f].len[0], 250);
        assert_int_equal(sent[f].last_index, 2);
    }
    /* The window is over-full: nothing more until an acknowledgement, and
     * has_ready() does not claim otherwise. */
    assert_false(ut_consensus_has_ready(h));
    fack(h, sent, 2, 2);
    fdrain(h, sent, 100);
    assert_int_equal(sent[0].msgs, 1);
    assert_int_equal(sent[0].last_index, 3);
    assert_int_equal(sent[1].msgs, 0);
    assert_int_equal(ut_consensus_commit_index(h), 2);
    ut_consensus_free(h);

    /* In a cluster, entries four times the window replicate everywhere. */
    rc_cluster_t c;
    ut_consensus_config_t ccfg = cfg_base();
    ccfg.max_inflight_bytes = 50;
    cluster(&c, 3, 0, &ccfg);
    start(&c);
    assert_true(rc_elect(&c, 1));
    for (int k = 0; k < 5; k++) {
        memset(big, 'a' + k, 200);
        assert_int_equal(rc_propose(&c, 1, big, 200, NULL), UT_OK);
    }
    rc_run(&c, 5 * ccfg.heartbeat_ms);
    for (int k = 0; k < 5; k++) {
        memset(big, 'a' + k, 200);
        for (uint64_t id = 1; id <= 3; id++)
            assert_true(applied_payload(&c, id, big, 200));
    }
    RC_OK(&c);
    rc_destroy(&c);
}

/* The suspected bug: an acknowledgement frees part of the byte window, not
 * enough for the next entry. The message window is not full, so the peer
 * looked sendable and has_ready() said yes, while ready() (flush_appends
 * asks the byte window) gave an empty ready. Fixed: has_ready() asks the
 * byte window too (ut__consensus_flow_sendable). */
static void test_flow_has_ready_matches_ready(void **state)
{
    (void)state;
    static sent_t sent[2];
    ut_consensus_config_t cfg = flow_cfg(0, 100);
    ut_consensus_t *h = pipelined(&cfg, sent);
    assert_int_equal(prop(h, 40), UT_OK); /* 2 */
    fdrain(h, sent, 100);
    assert_int_equal(prop(h, 40), UT_OK); /* 3 */
    fdrain(h, sent, 100);
    assert_int_equal(prop(h, 70), UT_OK); /* 4: does not fit behind 80 bytes */
    fdrain(h, sent, 100);
    assert_int_equal(sent[0].last_index, 3);
    assert_int_equal(sent[1].last_index, 3);
    /* Node 3 takes everything: 2..4 commit. */
    fack(h, sent, 3, 3);
    fdrain(h, sent, 100);
    assert_int_equal(sent[1].last_index, 4);
    fack(h, sent, 3, 4);
    fdrain(h, sent, 100);
    assert_int_equal(ut_consensus_commit_index(h), 4);
    /* Node 2 acknowledges entry 2 alone: 40 bytes left in flight, 60 free,
     * entry 4 (70) still waits. No work, and has_ready() knows it. */
    fack(h, sent, 2, 2);
    assert_false(ut_consensus_has_ready(h));
    ut_consensus_ready_t rd;
    assert_int_equal(ut_consensus_ready(h, &rd), UT_OK);
    assert_true(ut_consensus_ready_empty(&rd));
    assert_false(ut_consensus_has_ready(h));
    /* Entry 3 acknowledged: the window is empty, entry 4 goes. */
    fack(h, sent, 2, 3);
    assert_true(ut_consensus_has_ready(h));
    fdrain(h, sent, 100);
    assert_int_equal(sent[0].msgs, 1);
    assert_int_equal(sent[0].last_index, 4);
    ut_consensus_free(h);
}

/* A partitioned follower: whatever the leader sends it (the pipeline, then
 * probes after a heartbeat without progress) never carries more than the
 * window; it catches up after the heal. */
typedef struct window_hook {
    uint64_t limit, max_msg_bytes, msgs;
} window_hook_t;

static void on_send_window(rc_cluster_t *c, const ut_msg_t *m, void *ud)
{
    window_hook_t *w = ud;
    (void)c;
    if (m->type != UT_MSG_APPEND || m->to != 3 || m->body.append.n_entries == 0)
        return;
    uint64_t b = 0;
    for (size_t i = 0; i < m->body.append.n_entries; i++)
        b += m->body.append.entries[i].len;
    if (b > w->max_msg_bytes)
        w->max_msg_bytes = b;
    w->msgs++;
    ut_consensus_status_t st;
    get_status(rc_h(c, 1), &st);
    const ut_consensus_peer_status_t *p = peer_of(&st, 3);
    if (p->inflight_msgs > 1 && p->inflight_bytes > w->limit)
        fail_msg("%llu bytes in flight to node 3", (unsigned long long)p->inflight_bytes);
}

static void test_flow_inflight_partitioned_follower(void **state)
{
    (void)state;
    rc_cluster_t c;
    ut_consensus_config_t cfg = cfg_base();
    cfg.max_inflight_bytes = 64;
    cluster(&c, 3, 0, &cfg);
    elect_and_commit(&c, 1, 1);
    window_hook_t w = {64, 0, 0};
    c.on_send = on_send_window;
    c.on_send_ud = &w;
    rc_isolate(&c, 3);
    for (int k = 0; k < 30; k++) {
        char buf[32];
        snprintf(buf, sizeof buf, "entry-%02d-of-20-bytes", k);
        assert_int_equal(rc_propose(&c, 1, buf, 20, NULL), UT_OK);
        rc_run(&c, cfg.heartbeat_ms / 2);
    }
    assert_true(w.msgs > 0);
    assert_true(w.max_msg_bytes <= 64);
    rc_heal(&c);
    rc_run(&c, 20 * cfg.heartbeat_ms);
    assert_true(w.max_msg_bytes <= 64);
    assert_int_equal(commit_of(&c, 3), commit_of(&c, 1));
    assert_true(applied_payload(&c, 3, "entry-29-of-20-bytes", 20));
    c.on_send = NULL;
    RC_OK(&c);
    rc_destroy(&c);
}

int consensus_group_flow(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flow_limit_refuses_then_recovers),
        cmocka_unit_test(test_flow_exceptions),
        cmocka_unit_test(test_flow_config_entry_not_counted),
        cmocka_unit_test(test_flow_counter_reset),
        cmocka_unit_test(test_flow_memory_bounded),
        cmocka_unit_test(test_flow_inflight_window),
        cmocka_unit_test(test_flow_inflight_large_entry),
        cmocka_unit_test(test_flow_has_ready_matches_ready),
        cmocka_unit_test(test_flow_inflight_partitioned_follower),
    };
    return cmocka_run_group_tests_name("consensus_flow", tests, NULL, NULL);
}
