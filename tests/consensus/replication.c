/* SPDX-License-Identifier: MIT */
/* Raft core (ut_consensus_t), log replication and commitment (§5.3, §5.4):
 * commit rules on leader and follower, stale, duplicated, reordered and
 * delayed AppendEntries, a minority leader under partition, proposals on
 * followers, batching limits and what a follower may acknowledge. A group of
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

/* Issue 10: ut_consensus_propose_batch() appends the same entries, at the
 * same indexes, as one propose per payload, and the cluster replicates and
 * applies them the same way; an empty batch appends nothing. */
static void test_propose_batch_same_as_singles(void **state)
{
    (void)state;
    enum { N = 700 }; /* more than one log segment and one AppendEntries */
    static uint8_t pay[N][24];
    ut_consensus_buf_t bufs[N];
    for (size_t i = 0; i < N; i++) {
        memset(pay[i], (int)(i * 7 + 1), sizeof pay[i]);
        memcpy(pay[i], &i, sizeof i);
        bufs[i].data = pay[i];
        bufs[i].len = i % 5 == 4 ? 0 : 1 + i % sizeof pay[i]; /* empty ones too */
    }
    rc_cluster_t a, b;
    cluster(&a, 3, 0, NULL);
    cluster(&b, 3, 0, NULL);
    elect_and_commit(&a, 1, 0);
    elect_and_commit(&b, 1, 0);
    uint64_t last = ut_consensus_last_index(rc_h(&a, 1));
    uint64_t first = 0;
    assert_int_equal(ut_consensus_propose_batch(rc_h(&a, 1), bufs, 0, &first), UT_OK);
    assert_int_equal(first, last + 1);
    assert_int_equal(ut_consensus_last_index(rc_h(&a, 1)), last);
    assert_int_equal(ut_consensus_propose_batch(rc_h(&a, 1), bufs, N, &first), UT_OK);
    assert_int_equal(first, last + 1);
    assert_int_equal(ut_consensus_last_index(rc_h(&a, 1)), last + N);
    for (size_t i = 0; i < N; i++) {
        uint64_t idx = 0;
        assert_int_equal(rc_propose(&b, 1, bufs[i].data, bufs[i].len, &idx), UT_OK);
        assert_int_equal(idx, last + 1 + i);
    }
    rc_process_all(&a);
    rc_process_all(&b);
    rc_drain(&a, 100000);
    rc_drain(&b, 100000);
    rc_run(&a, 300);
    rc_run(&b, 300);
    assert_true(rc_all_applied(&a, (size_t)(last + N)));
    assert_true(rc_all_applied(&b, (size_t)(last + N)));
    for (uint64_t id = 1; id <= 3; id++) {
        rc_node_t *x = rc_node(&a, id), *y = rc_node(&b, id);
        assert_int_equal(x->n_applied, y->n_applied);
        for (size_t k = 0; k < x->n_applied; k++) {
            assert_int_equal(x->applied[k].index, y->applied[k].index);
            assert_int_equal(x->applied[k].term, y->applied[k].term);
            assert_int_equal(x->applied[k].type, y->applied[k].type);
            assert_int_equal(x->applied[k].len, y->applied[k].len);
            assert_int_equal(x->applied[k].hash, y->applied[k].hash);
        }
    }
    for (size_t i = 0; i < N; i++) {
        const rc_applied_t *e = &rc_node(&a, 2)->applied[last + i];
        assert_int_equal(e->index, last + 1 + i);
        assert_int_equal(e->len, bufs[i].len);
        assert_int_equal(e->hash, rc_hash(bufs[i].data, bufs[i].len));
    }
    RC_OK(&a);
    RC_OK(&b);
    rc_destroy(&a);
    rc_destroy(&b);
}

/* Issue 10: a batch is all or nothing: not the leader, a NULL array, a NULL
 * payload, or one payload over UT_CONSENSUS_MAX_ENTRY_BYTES anywhere in it
 * appends nothing and leaves the node unchanged (and *first_index
 * untouched). */
static void test_propose_batch_refusals(void **state)
{
    (void)state;
    rc_cluster_t c;
    cluster(&c, 3, 0, NULL);
    elect_and_commit(&c, 1, 1);
    ut_consensus_t *l = rc_h(&c, 1), *f = rc_h(&c, 2);
    static const char x[] = "x";
    ut_consensus_buf_t ok2[2] = {{x, 1}, {x, 1}};
    uint64_t first = 12345;
    assert_int_equal(ut_consensus_propose_batch(NULL, ok2, 2, &first), UT_EINVAL);
    snap_t sf = take(f);
    assert_int_equal(ut_consensus_propose_batch(f, ok2, 2, &first), UT_ENOTLEADER);
    ASSERT_UNCHANGED(sf, f);
    snap_t s = take(l);
    assert_int_equal(ut_consensus_propose_batch(l, NULL, 2, &first), UT_EINVAL);
    ASSERT_UNCHANGED(s, l);
    ut_consensus_buf_t nul[3] = {{x, 1}, {NULL, 4}, {x, 1}};
    assert_int_equal(ut_consensus_propose_batch(l, nul, 3, &first), UT_EINVAL);
    ASSERT_UNCHANGED(s, l);
    /* Over the limit: the length alone is checked (no byte is read). */
    ut_consensus_buf_t big[3] = {{x, 1}, {x, 1}, {x, (size_t)UT_CONSENSUS_MAX_ENTRY_BYTES + 1}};
    assert_int_equal(ut_consensus_propose_batch(l, big, 3, &first), UT_ERANGE);
    ASSERT_UNCHANGED(s, l);
    assert_non_null(strstr(ut_consensus_errmsg(l), "entry 2"));
    ut_consensus_buf_t huge[2] = {{x, SIZE_MAX}, {x, 1}};
    assert_int_equal(ut_consensus_propose_batch(l, huge, 2, &first), UT_ERANGE);
    ASSERT_UNCHANGED(s, l);
    assert_int_equal(first, 12345);
    /* The node still works: the same batch without the bad entry goes in. */
    assert_int_equal(ut_consensus_propose_batch(l, big, 2, &first), UT_OK);
    assert_int_equal(first, s.last + 1);
    assert_int_equal(ut_consensus_last_index(l), s.last + 2);
    rc_process_all(&c);
    rc_drain(&c, 10000);
    rc_run(&c, 300);
    assert_true(rc_all_applied(&c, (size_t)(s.last + 2)));
    RC_OK(&c);
    rc_destroy(&c);
}

int consensus_group_replication(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_follower_commit_bounded_by_new_entries),
        cmocka_unit_test(test_leader_counts_itself_only_when_durable),
        cmocka_unit_test(test_stale_duplicate_reordered_appends_harmless),
        cmocka_unit_test(test_delayed_append_keeps_commit_and_log),
        cmocka_unit_test(test_partition_minority_leader_cannot_commit),
        cmocka_unit_test(test_propose_on_follower),
        cmocka_unit_test(test_issue8_follower_acks_only_persisted),
        cmocka_unit_test(test_issue8_max_append_bytes_bounded),
        cmocka_unit_test(test_issue8_applied_beyond_lazy_commit),
        cmocka_unit_test(test_propose_batch_same_as_singles),
        cmocka_unit_test(test_propose_batch_refusals),
    };
    return cmocka_run_group_tests_name("consensus_replication", tests, NULL, NULL);
}
