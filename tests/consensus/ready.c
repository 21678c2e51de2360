/* SPDX-License-Identifier: MIT */
/* Raft core (ut_consensus_t), the ready/advance contract: an empty ready
 * needs no advance, pointers stay valid until advance, handed-out messages
 * are zeroed and the reserved words of a ready are zero. A group of
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

/* Issue 10, consensus.h "pointer validity": a caller may hold a ready across
 * other calls on the node until it advances. Here the lists are long enough
 * to span log segments (the copied form of a list), and the input in
 * between truncates and regrows the log and queues more messages: every
 * header, payload byte and message of the held ready reads as it was handed
 * out, and the next ready carries the new state. */
static void test_issue10_ready_held_across_calls(void **state)
{
    (void)state;
    enum { N = 1200, M = 300 };
    static ut_entry_t es[N], es2[M];
    static uint8_t pay[N][16], pay2[M][16];
    static uint64_t t1[N], t2[M];
    for (size_t i = 0; i < N; i++)
        t1[i] = 1;
    for (size_t i = 0; i < M; i++)
        t2[i] = 2;
    ut_consensus_t *h = raw_new(2);
    assert_int_equal(ut_consensus_tick(h, 0), UT_OK);
    mk_entries(es, pay, 1, t1, N);
    ut_msg_t m = mk_append(1, 2, 1, 0, 0, 550, es, N);
    assert_int_equal(ut_consensus_step(h, &m), UT_OK);
    ut_consensus_ready_t rd;
    assert_int_equal(ut_consensus_ready(h, &rd), UT_OK);
    assert_int_equal(rd.n_entries, N);
    assert_int_equal(rd.n_committed, 550);
    assert_int_equal(rd.n_msgs, 1);
    ut_consensus_ready_t held = rd;
    static ut_entry_t saved_e[N], saved_c[550];
    memcpy(saved_e, rd.entries, sizeof saved_e);
    memcpy(saved_c, rd.committed, sizeof saved_c);
    ut_msg_t saved_m = rd.msgs[0];
    /* Not advanced: a leader of term 2 replaces everything after 600 (above
     * the commit index), a second message is queued, time passes. */
    mk_entries(es2, pay2, 601, t2, M);
    m = mk_append(3, 2, 2, 600, 1, 560, es2, M);
    assert_int_equal(ut_consensus_step(h, &m), UT_OK);
    assert_int_equal(ut_consensus_tick(h, 10), UT_OK);
    assert_int_equal(ut_consensus_last_index(h), 600 + M);
    /* Everything held still reads as handed out. */
    assert_memory_equal(&held, &rd, sizeof rd);
    for (size_t i = 0; i < N; i++) {
        uint8_t want[16];
        rc_payload(want, 1, i + 1);
        assert_memory_equal(&rd.entries[i], &saved_e[i], sizeof saved_e[i]);
        assert_int_equal(rd.entries[i].index, i + 1);
        assert_int_equal(rd.entries[i].term, 1);
        assert_memory_equal(rd.entries[i].data, want, 16);
    }
    for (size_t i = 0; i < 550; i++) {
        assert_memory_equal(&rd.committed[i], &saved_c[i], sizeof saved_c[i]);
        assert_memory_equal(rd.committed[i].data, rd.entries[i].data, 16);
    }
    assert_memory_equal(&rd.msgs[0], &saved_m, sizeof saved_m);
    assert_int_equal(rd.msgs[0].body.append_resp.index, N);
    assert_int_equal(ut_consensus_advance(h, &rd), UT_OK);
    /* The next ready: the truncation, the new entries, the rest to apply. */
    assert_int_equal(ut_consensus_ready(h, &rd), UT_OK);
    assert_int_equal(rd.truncate_from, 601);
    assert_int_equal(rd.n_entries, M);
    for (size_t i = 0; i < M; i++) {
        assert_int_equal(rd.entries[i].index, 601 + i);
        assert_int_equal(rd.entries[i].term, 2);
        assert_memory_equal(rd.entries[i].data, pay2[i], 16);
    }
    assert_int_equal(rd.n_committed, 10); /* 551..560 */
    assert_int_equal(rd.committed[0].index, 551);
    assert_int_equal(ut_consensus_advance(h, &rd), UT_OK);
    ut_consensus_free(h);
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

int consensus_group_ready(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_ready_does_not_block),
        cmocka_unit_test(test_ready_pointers_valid_until_advance),
        cmocka_unit_test(test_issue10_ready_held_across_calls),
        cmocka_unit_test(test_issue9_ready_reserved_zero),
        cmocka_unit_test(test_issue8_handed_out_msgs_zeroed),
    };
    return cmocka_run_group_tests_name("consensus_ready", tests, NULL, NULL);
}
