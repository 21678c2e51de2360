/* SPDX-License-Identifier: MIT */
/* Two-phase commit: behaviour scenarios, every refused input (with the
 * object unchanged), the allocation-failure sweep and the wire codec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "test_alloc.h"
#include "twopc_world.h"

static ut_txn_state_t pstate(world_t *w, int i)
{
    ut_txn_state_t s = (ut_txn_state_t)99;
    ut_2pc_participant_state(w->p[i], W_TXID, &s);
    return s;
}

static ut_txn_state_t cstate(world_t *w)
{
    ut_txn_state_t s = (ut_txn_state_t)99;
    if (ut_2pc_state(w->c, W_TXID, &s) != UT_OK)
        return (ut_txn_state_t)98; /* forgotten */
    return s;
}

static void test_commit_all_yes(void **state)
{
    (void)state;
    world_t w;
    world_init(&w, 3, UT_2PC_PRESUME_ABORT, false);
    world_begin(&w, -2);
    assert_int_equal(w.n_net, 3);
    assert_int_equal(cstate(&w), UT_TXN_INIT);
    /* votes in, one by one */
    world_deliver(&w, 0, -2);
    world_deliver(&w, 0, -2);
    world_deliver(&w, 0, -2);
    assert_int_equal(pstate(&w, 0), UT_TXN_PREPARED);
    ut_2pc_vote_t v;
    assert_int_equal(ut_2pc_vote(w.c, W_TXID, 2, &v), UT_OK);
    assert_int_equal(v, UT_2PC_VOTE_NONE);
    world_run(&w);
    for (int i = 0; i < 3; i++)
        assert_int_equal(pstate(&w, i), UT_TXN_COMMITTED);
    assert_int_equal(ut_2pc_count(w.c), 0);
    assert_int_equal(w.orc.done, UT_TXN_COMMITTED);
    /* PA commit: coordinator forced commit + unforced end; participants
     * forced prepared + forced committed (Mohan §3.1, Table). */
    assert_int_equal(w.logs[0].n, 2);
    assert_true(w.logs[0].rec[0].forced);
    assert_true(w.logs[0].rec[1].end && !w.logs[0].rec[1].forced);
    assert_int_equal(w.logs[1].n, 2);
    assert_true(w.logs[1].rec[0].forced && w.logs[1].rec[1].forced);
    assert_false(w.violation);
    world_free(&w);
}

static void test_vote_no_aborts(void **state)
{
    (void)state;
    world_t w;
    world_init(&w, 3, UT_2PC_PRESUME_ABORT, false);
    w.votes[1] = UT_2PC_VOTE_NO;
    world_begin(&w, -2);
    world_run(&w);
    for (int i = 0; i < 3; i++)
        assert_int_equal(pstate(&w, i), UT_TXN_ABORTED);
    assert_int_equal(w.orc.done, UT_TXN_ABORTED);
    assert_int_equal(w.logs[0].n, 0); /* presumed abort: nothing logged */
    assert_int_equal(ut_2pc_count(w.c), 0);
    world_free(&w);
}

static void test_vote_timeout(void **state)
{
    (void)state;
    world_t w;
    world_init(&w, 2, UT_2PC_PRESUME_ABORT, false);
    world_begin(&w, -2);
    world_deliver(&w, 0, -2);                                        /* participant 2 votes yes */
    w_net_remove(&w, (size_t)world_find(&w, UT_MSG_2PC_PREPARE, 3)); /* lost */
    world_deliver(&w, 0, -2);                                        /* yes arrives */
    w.now += 5000;
    ut_2pc_tick(w.c, w.now);
    assert_int_equal(cstate(&w), UT_TXN_TIMEOUT); /* until the abort is handed out */
    w_drain(&w, 0, -2);
    assert_int_equal(cstate(&w), 98);
    world_run(&w);
    assert_int_equal(pstate(&w, 0), UT_TXN_ABORTED);
    assert_int_equal(w.orc.done, UT_TXN_ABORTED);
    world_free(&w);
}

static void test_read_only_and_one_phase(void **state)
{
    (void)state;
    world_t w;
    world_init(&w, 3, UT_2PC_PRESUME_ABORT, false);
    w.votes[0] = UT_2PC_VOTE_READ_ONLY;
    world_begin(&w, -2);
    world_run(&w);
    assert_int_equal(pstate(&w, 1), UT_TXN_COMMITTED);
    assert_int_equal(pstate(&w, 0), 99); /* read-only: forgotten, no log */
    assert_int_equal(w.logs[1].n, 0);
    world_free(&w);

    world_init(&w, 3, UT_2PC_PRESUME_ABORT, false);
    for (int i = 0; i < 3; i++)
        w.votes[i] = UT_2PC_VOTE_READ_ONLY;
    world_begin(&w, -2);
    world_run(&w);
    assert_int_equal(w.orc.done, UT_TXN_COMMITTED);
    assert_int_equal(w.logs[0].n, 0); /* no second phase at all */
    world_free(&w);

    world_init(&w, 1, UT_2PC_PRESUME_ABORT, false);
    world_begin(&w, -2);
    assert_int_equal(w.net[0].m.body.twopc.code, UT_2PC_FLAG_ONE_PHASE);
    world_run(&w);
    assert_int_equal(pstate(&w, 0), UT_TXN_COMMITTED);
    assert_int_equal(w.orc.done, UT_TXN_COMMITTED);
    assert_int_equal(w.logs[0].n, 0);
    assert_int_equal(w.logs[1].n, 1);
    world_free(&w);

    /* one-phase: the reply lost, the coordinator times out and asks again */
    world_init(&w, 1, UT_2PC_PRESUME_ABORT, false);
    world_begin(&w, -2);
    world_deliver(&w, 0, -2);
    w_net_remove(&w, 0);
    world_timeout(&w, 0, -2);
    assert_int_equal(cstate(&w), UT_TXN_TIMEOUT);
    world_run(&w);
    assert_int_equal(w.orc.done, UT_TXN_COMMITTED);
    world_free(&w);
}

static void test_coordinator_crashes(void **state)
{
    (void)state;
    for (int pres = 0; pres < 3; pres++) {
        /* before the decision is durable: abort */
        world_t w;
        world_init(&w, 2, (ut_2pc_presumption_t)pres, false);
        world_begin(&w, -2);
        world_deliver(&w, 0, -2);
        world_deliver(&w, 0, -2);
        world_deliver(&w, 0, -2); /* first yes at the coordinator */
        world_deliver(&w, 0, -1); /* second yes: crash before persisting */
        assert_int_equal(world_settle(&w), 1);
        assert_int_equal(pstate(&w, 0), UT_TXN_ABORTED);
        assert_int_equal(pstate(&w, 1), UT_TXN_ABORTED);
        assert_false(w.violation);
        world_free(&w);

        /* after logging, before sending; after a partial send */
        for (int k = 0; k < 2; k++) {
            world_init(&w, 2, (ut_2pc_presumption_t)pres, false);
            world_begin(&w, -2);
            world_deliver(&w, 0, -2);
            world_deliver(&w, 0, -2);
            world_deliver(&w, 0, -2);
            world_deliver(&w, 0, k);
            assert_int_equal(world_settle(&w), 1);
            assert_int_equal(pstate(&w, 0), UT_TXN_COMMITTED);
            assert_int_equal(pstate(&w, 1), UT_TXN_COMMITTED);
            assert_int_equal(ut_2pc_count(w.c), 0);
            assert_false(w.violation);
            world_free(&w);
        }
    }
}

static void test_participant_crash_and_inquiry(void **state)
{
    (void)state;
    world_t w;
    world_init(&w, 2, UT_2PC_PRESUME_ABORT, false);
    world_begin(&w, -2);
    world_deliver(&w, 0, -2);
    world_crash(&w, 1); /* prepared, crashed: restored in doubt */
    assert_int_equal(pstate(&w, 0), UT_TXN_PREPARED);
    world_crash(&w, 1); /* repeated crashes */
    world_crash(&w, 1);
    assert_int_equal(pstate(&w, 0), UT_TXN_PREPARED);
    assert_int_equal(world_settle(&w), 1);
    assert_int_equal(pstate(&w, 0), UT_TXN_COMMITTED);
    assert_int_equal(pstate(&w, 1), UT_TXN_COMMITTED);
    world_free(&w);

    /* a prepared participant whose coordinator lost everything: inquiry,
     * and presumed abort answers */
    world_init(&w, 2, UT_2PC_PRESUME_ABORT, false);
    world_begin(&w, -2);
    world_deliver(&w, 0, -2); /* P2 prepared, yes in flight */
    while (w.n_net > 0)
        w_net_remove(&w, 0);
    world_crash(&w, 0);
    world_timeout(&w, 1, -2);
    assert_int_equal(world_find(&w, UT_MSG_2PC_INQUIRY, W_COORD), 0);
    world_run(&w);
    assert_int_equal(pstate(&w, 0), UT_TXN_ABORTED);
    world_free(&w);
}

static void test_cooperative_termination(void **state)
{
    (void)state;
    world_t w;
    world_init(&w, 2, UT_2PC_PRESUME_ABORT, true);
    world_begin(&w, -2);
    /* P2 gets PREPARE and votes yes; P3's PREPARE waits; the coordinator is
     * unreachable (its messages are dropped). */
    world_deliver(&w, (size_t)world_find(&w, UT_MSG_2PC_PREPARE, 2), -2);
    w_net_remove(&w, (size_t)world_find(&w, UT_MSG_2PC_VOTE, W_COORD));
    w.votes[1] = UT_2PC_VOTE_NONE; /* P3's application is slow to vote */
    world_deliver(&w, (size_t)world_find(&w, UT_MSG_2PC_PREPARE, 3), -2);
    assert_int_equal(pstate(&w, 1), UT_TXN_INIT);
    world_timeout(&w, 1, -2); /* P2 asks coordinator and P3 */
    w_net_remove(&w, (size_t)world_find(&w, UT_MSG_2PC_INQUIRY, W_COORD));
    world_deliver(&w, (size_t)world_find(&w, UT_MSG_2PC_INQUIRY, 3), -2);
    /* P3 had not voted: it aborts and says so; P2 adopts it */
    assert_int_equal(pstate(&w, 1), UT_TXN_ABORTED);
    world_deliver(&w, (size_t)world_find(&w, UT_MSG_2PC_STATUS, 2), -2);
    assert_int_equal(pstate(&w, 0), UT_TXN_ABORTED);
    assert_int_equal(ut_2pc_participant_vote(w.p[1], W_TXID, UT_2PC_VOTE_YES), UT_ESTATE);
    world_run(&w); /* P3's no reaches the coordinator */
    assert_int_equal(w.orc.done, UT_TXN_ABORTED);
    assert_false(w.violation);
    world_free(&w);
}

static void test_lost_dup_reordered(void **state)
{
    (void)state;
    world_t w;
    world_init(&w, 3, UT_2PC_PRESUME_ABORT, false);
    world_begin(&w, -2);
    world_duplicate(&w, 0);
    world_duplicate(&w, 1);
    world_deliver(&w, 2, -2); /* out of order */
    world_deliver(&w, 3, -2);
    world_run(&w); /* duplicated prepares re-send the yes */
    for (int i = 0; i < 3; i++)
        assert_int_equal(pstate(&w, i), UT_TXN_COMMITTED);
    world_free(&w);

    /* a lost COMMIT and a lost ACK: resent until acknowledged */
    world_init(&w, 2, UT_2PC_PRESUME_ABORT, false);
    world_begin(&w, -2);
    for (int i = 0; i < 4; i++)
        world_deliver(&w, 0, -2);
    assert_int_equal(world_find(&w, UT_MSG_2PC_COMMIT, 2), 0);
    w_net_remove(&w, 0);      /* COMMIT to 2 lost */
    world_deliver(&w, 0, -2); /* COMMIT to 3 */
    w_net_remove(&w, 0);      /* its ACK lost */
    bool acked = true;
    ut_2pc_acked(w.c, W_TXID, 3, &acked);
    assert_false(acked);
    assert_int_equal(world_settle(&w), 1);
    assert_int_equal(pstate(&w, 0), UT_TXN_COMMITTED);
    world_free(&w);
}

static void test_presumed_commit_counts(void **state)
{
    (void)state;
    world_t w;
    world_init(&w, 3, UT_2PC_PRESUME_COMMIT, false);
    world_begin(&w, -2);
    world_run(&w);
    /* PC commit: collecting + commit forced at the coordinator, no acks */
    assert_int_equal(w.logs[0].n, 2);
    assert_true(w.logs[0].rec[0].forced && w.logs[0].rec[0].state == UT_TXN_INIT);
    assert_int_equal(w.logs[1].n, 2);
    assert_false(w.logs[1].rec[1].forced);
    assert_int_equal(w.orc.done, UT_TXN_COMMITTED);
    world_free(&w);

    world_init(&w, 3, UT_2PC_PRESUME_COMMIT, false);
    w.votes[2] = UT_2PC_VOTE_NO;
    world_begin(&w, -2);
    world_run(&w);
    assert_int_equal(w.orc.done, UT_TXN_ABORTED); /* after every ack */
    assert_true(w.logs[0].rec[w.logs[0].n - 1].end);
    world_free(&w);
}

static void test_heuristic(void **state)
{
    (void)state;
    world_t w;
    world_init(&w, 2, UT_2PC_PRESUME_ABORT, false);
    world_begin(&w, -2);
    world_deliver(&w, 0, -2);
    world_deliver(&w, 0, -2);
    assert_int_equal(ut_2pc_participant_heuristic(w.p[0], W_TXID, UT_TXN_ABORTED), UT_OK);
    w_drain(&w, 1, -2);
    bool h = false;
    ut_2pc_participant_is_heuristic(w.p[0], W_TXID, &h);
    assert_true(h);
    assert_true(w.logs[1].rec[w.logs[1].n - 1].heuristic);
    world_run(&w);
    assert_int_equal(w.heuristic_events, 1); /* reported with the ack */
    assert_int_equal(pstate(&w, 1), UT_TXN_COMMITTED);
    assert_int_equal(ut_2pc_participant_heuristic(w.p[0], W_TXID, UT_TXN_COMMITTED), UT_ESTATE);
    world_free(&w);
}

/* ---- refused inputs leave the object unchanged ---- */

static void snap_c(ut_2pc_t *c, ut_txn_state_t *s, size_t *n, ut_2pc_vote_t *v)
{
    *s = (ut_txn_state_t)99;
    ut_2pc_state(c, W_TXID, s);
    *n = ut_2pc_count(c);
    *v = (ut_2pc_vote_t)9;
    ut_2pc_vote(c, W_TXID, 2, v);
}

#define ASSERT_C_UNCHANGED(w, call, rc)                                                            \
    do {                                                                                           \
        ut_txn_state_t s0, s1;                                                                     \
        size_t n0, n1;                                                                             \
        ut_2pc_vote_t v0, v1;                                                                      \
        snap_c((w)->c, &s0, &n0, &v0);                                                             \
        assert_int_equal((call), (rc));                                                            \
        snap_c((w)->c, &s1, &n1, &v1);                                                             \
        assert_int_equal(s0, s1);                                                                  \
        assert_int_equal(n0, n1);                                                                  \
        assert_int_equal(v0, v1);                                                                  \
        ut_2pc_ready_t rd_;                                                                        \
        assert_int_equal(ut_2pc_ready((w)->c, &rd_), UT_OK);                                       \
        assert_true(ut_2pc_ready_empty(&rd_));                                                     \
    } while (0)

static ut_msg_t mk(ut_msg_type_t t, uint64_t from, uint64_t to, uint64_t txid, uint32_t code)
{
    ut_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = t;
    m.from = from;
    m.to = to;
    m.body.twopc.txid = txid;
    m.body.twopc.code = code;
    return m;
}

static void test_coordinator_errors(void **state)
{
    (void)state;
    ut_2pc_config_t cfg;
    assert_int_equal(ut_2pc_config_init(NULL, 1), UT_EINVAL);
    assert_int_equal(ut_2pc_config_init(&cfg, 0), UT_EVERSION);
    assert_int_equal(ut_2pc_config_init(&cfg, 2), UT_EVERSION);
    ut_2pc_config_init(&cfg, 1);
    ut_2pc_t *c = NULL;
    assert_int_equal(ut_2pc_new(&c, &cfg), UT_EINVAL); /* id 0 */
    cfg.id = 1;
    cfg.vote_timeout_ms = 0;
    assert_int_equal(ut_2pc_new(&c, &cfg), UT_EINVAL);
    cfg.vote_timeout_ms = 10;
    cfg.presumption = (ut_2pc_presumption_t)7;
    assert_int_equal(ut_2pc_new(&c, &cfg), UT_EINVAL);
    cfg.presumption = UT_2PC_PRESUME_ABORT;
    cfg.version = 9;
    assert_int_equal(ut_2pc_new(&c, &cfg), UT_EVERSION);
    assert_null(c);
    assert_int_equal(ut_2pc_new(NULL, &cfg), UT_EINVAL);
    ut_2pc_free(NULL);
    assert_int_equal(ut_2pc_begin(NULL, 1, NULL, 0, NULL, 0), UT_EINVAL);
    assert_string_equal(ut_2pc_errmsg(NULL), "invalid handle");
    assert_int_equal(ut_2pc_coordinator(NULL), 0);

    world_t w;
    world_init(&w, 2, UT_2PC_PRESUME_ABORT, false);
    w.ccfg.auto_commit = false;
    ut_2pc_free(w.c);
    ut_2pc_new(&w.c, &w.ccfg);
    uint64_t ids[] = {2, 3}, dup[] = {2, 2}, self[] = {1, 2}, zero[] = {0};
    ASSERT_C_UNCHANGED(&w, ut_2pc_begin(w.c, 0, ids, 2, NULL, 0), UT_EINVAL);
    ASSERT_C_UNCHANGED(&w, ut_2pc_begin(w.c, 7, NULL, 2, NULL, 0), UT_EINVAL);
    ASSERT_C_UNCHANGED(&w, ut_2pc_begin(w.c, 7, ids, 0, NULL, 0), UT_ERANGE);
    ASSERT_C_UNCHANGED(&w, ut_2pc_begin(w.c, 7, ids, 65, NULL, 0), UT_ERANGE);
    ASSERT_C_UNCHANGED(&w, ut_2pc_begin(w.c, 7, ids, 2, NULL, 3), UT_EINVAL);
    ASSERT_C_UNCHANGED(&w, ut_2pc_begin(w.c, 7, dup, 2, NULL, 0), UT_EINVAL);
    ASSERT_C_UNCHANGED(&w, ut_2pc_begin(w.c, 7, self, 2, NULL, 0), UT_EINVAL);
    ASSERT_C_UNCHANGED(&w, ut_2pc_begin(w.c, 7, zero, 1, NULL, 0), UT_EINVAL);
    assert_string_not_equal(ut_2pc_errmsg(w.c), "");
    ASSERT_C_UNCHANGED(&w, ut_2pc_commit(w.c, 7), UT_ENOTFOUND);
    ASSERT_C_UNCHANGED(&w, ut_2pc_rollback(w.c, 7), UT_ENOTFOUND);
    bool prepared;
    assert_int_equal(ut_2pc_prepare(w.c, 7, &prepared), UT_ENOTFOUND);
    world_begin(&w, -2);
    assert_int_equal(ut_2pc_coordinator(w.c), 1);
    ASSERT_C_UNCHANGED(&w, ut_2pc_begin(w.c, 7, ids, 2, NULL, 0), UT_EEXIST);
    /* commit without every participant prepared: refused */
    ASSERT_C_UNCHANGED(&w, ut_2pc_commit(w.c, 7), UT_ESTATE);
    assert_int_equal(ut_2pc_prepare(w.c, 7, &prepared), UT_OK);
    assert_false(prepared);
    assert_int_equal(ut_2pc_prepare(w.c, 7, NULL), UT_EINVAL);
    /* network input */
    ut_msg_t m = mk(UT_MSG_2PC_VOTE, 9, 1, 7, UT_2PC_VOTE_YES);
    ASSERT_C_UNCHANGED(&w, ut_2pc_step(w.c, &m), UT_EINVAL); /* non-participant */
    m = mk(UT_MSG_2PC_VOTE, 2, 1, 7, 42);
    ASSERT_C_UNCHANGED(&w, ut_2pc_step(w.c, &m), UT_EINVAL); /* bad vote */
    m = mk(UT_MSG_2PC_VOTE, 2, 5, 7, UT_2PC_VOTE_YES);
    ASSERT_C_UNCHANGED(&w, ut_2pc_step(w.c, &m), UT_EINVAL); /* not for us */
    m = mk(UT_MSG_2PC_VOTE, 2, 1, 0, UT_2PC_VOTE_YES);
    ASSERT_C_UNCHANGED(&w, ut_2pc_step(w.c, &m), UT_EINVAL);
    m = mk(UT_MSG_2PC_PREPARE, 2, 1, 7, 0);
    ASSERT_C_UNCHANGED(&w, ut_2pc_step(w.c, &m), UT_EINVAL); /* wrong kind */
    m = mk(UT_MSG_2PC_ACK, 2, 1, 7, UT_TXN_COMMITTED);
    ASSERT_C_UNCHANGED(&w, ut_2pc_step(w.c, &m), UT_ESTATE); /* ack before decision */
    m = mk(UT_MSG_2PC_ACK, 2, 1, 7, 77);
    ASSERT_C_UNCHANGED(&w, ut_2pc_step(w.c, &m), UT_EINVAL);
    m = mk(UT_MSG_2PC_ACK, 2, 1, 8, UT_TXN_COMMITTED);
    ASSERT_C_UNCHANGED(&w, ut_2pc_step(w.c, &m), UT_ENOTFOUND);
    m = mk(UT_MSG_2PC_VOTE, 2, 1, 8, UT_2PC_VOTE_NO);
    ASSERT_C_UNCHANGED(&w, ut_2pc_step(w.c, &m), UT_ENOTFOUND);
    m = mk(UT_MSG_2PC_INQUIRY, 9, 1, 7, 0);
    ASSERT_C_UNCHANGED(&w, ut_2pc_step(w.c, &m), UT_EINVAL);
    ASSERT_C_UNCHANGED(&w, ut_2pc_step(w.c, NULL), UT_EINVAL);
    ut_2pc_vote_t v;
    assert_int_equal(ut_2pc_vote(w.c, 7, 9, &v), UT_EINVAL);
    assert_int_equal(ut_2pc_vote(w.c, 8, 2, &v), UT_ENOTFOUND);
    bool a;
    assert_int_equal(ut_2pc_acked(w.c, 7, 9, &a), UT_EINVAL);
    assert_int_equal(ut_2pc_acked(w.c, 8, 2, &a), UT_ENOTFOUND);
    const uint64_t *pids;
    size_t np;
    assert_int_equal(ut_2pc_participants(w.c, 7, &pids, &np), UT_OK);
    assert_int_equal(np, 2);
    assert_int_equal(ut_2pc_participants(w.c, 8, &pids, &np), UT_ENOTFOUND);
    ut_2pc_record_t r = {0};
    ASSERT_C_UNCHANGED(&w, ut_2pc_restore(w.c, &r, 1), UT_ESTATE); /* not fresh */
    ASSERT_C_UNCHANGED(&w, ut_2pc_tick(w.c, 5), UT_OK);
    ASSERT_C_UNCHANGED(&w, ut_2pc_tick(w.c, 4), UT_EINVAL); /* backwards */
    /* every vote yes, auto_commit off: PREPARED; a changed vote refused */
    world_run(&w);
    assert_int_equal(cstate(&w), UT_TXN_PREPARED);
    m = mk(UT_MSG_2PC_VOTE, 2, 1, 7, UT_2PC_VOTE_NO);
    ASSERT_C_UNCHANGED(&w, ut_2pc_step(w.c, &m), UT_ESTATE);
    assert_int_equal(ut_2pc_prepare(w.c, 7, &prepared), UT_OK);
    assert_true(prepared);
    assert_int_equal(ut_2pc_commit(w.c, 7), UT_OK);

    ut_2pc_ready_t rd, rd2;
    assert_int_equal(ut_2pc_ready(w.c, &rd), UT_OK);
    assert_int_equal(ut_2pc_ready(w.c, &rd2), UT_ESTATE);
    assert_int_equal(ut_2pc_advance(w.c, NULL), UT_EINVAL);
    rd2 = rd;
    rd2.seq_ += 5;
    assert_int_equal(ut_2pc_advance(w.c, &rd2), UT_EINVAL);
    for (size_t i = 0; i < rd.n_msgs; i++)
        w_net_push(&w, &rd.msgs[i]);
    assert_int_equal(ut_2pc_advance(w.c, &rd), UT_OK);
    /* nothing leaves committed */
    assert_int_equal(ut_2pc_rollback(w.c, 7), UT_ESTATE);
    assert_int_equal(ut_2pc_commit(w.c, 7), UT_ESTATE);
    m = mk(UT_MSG_2PC_ACK, 2, 1, 7, UT_TXN_ABORTED);
    ASSERT_C_UNCHANGED(&w, ut_2pc_step(w.c, &m), UT_ESTATE);
    world_run(&w);
    assert_int_equal(w.orc.done, UT_TXN_COMMITTED);
    world_free(&w);

    /* rollback before a decision */
    world_init(&w, 2, UT_2PC_PRESUME_ABORT, false);
    world_begin(&w, -2);
    assert_int_equal(ut_2pc_rollback(w.c, 7), UT_OK);
    w_drain(&w, 0, -2);
    world_run(&w);
    assert_int_equal(pstate(&w, 0), UT_TXN_ABORTED);
    world_free(&w);

    /* restore: corrupt records refused */
    ut_2pc_t *f;
    cfg.version = UT_2PC_CONFIG_VERSION;
    assert_int_equal(ut_2pc_new(&f, &cfg), UT_OK);
    ut_2pc_record_t bad = {.txid = 7, .state = UT_TXN_PREPARED};
    assert_int_equal(ut_2pc_restore(f, &bad, 1), UT_ECORRUPT);
    bad.state = UT_TXN_COMMITTED;
    bad.n_nodes = 3;
    assert_int_equal(ut_2pc_restore(f, &bad, 1), UT_ECORRUPT);
    assert_int_equal(ut_2pc_restore(f, NULL, 1), UT_EINVAL);
    assert_int_equal(ut_2pc_count(f), 0);
    ut_2pc_free(f);
}

static void test_participant_errors(void **state)
{
    (void)state;
    ut_2pc_participant_config_t cfg;
    assert_int_equal(ut_2pc_participant_config_init(NULL, 1), UT_EINVAL);
    assert_int_equal(ut_2pc_participant_config_init(&cfg, 3), UT_EVERSION);
    ut_2pc_participant_config_init(&cfg, 1);
    ut_2pc_participant_t *p = NULL;
    assert_int_equal(ut_2pc_participant_new(&p, &cfg), UT_EINVAL);
    cfg.id = 2;
    cfg.inquiry_timeout_ms = 0;
    assert_int_equal(ut_2pc_participant_new(&p, &cfg), UT_EINVAL);
    cfg.inquiry_timeout_ms = 5;
    cfg.version = 0;
    assert_int_equal(ut_2pc_participant_new(&p, &cfg), UT_EVERSION);
    assert_null(p);
    ut_2pc_participant_free(NULL);
    assert_string_equal(ut_2pc_participant_errmsg(NULL), "invalid handle");
    assert_int_equal(ut_2pc_participant_id(NULL), 0);
    cfg.version = 1;
    assert_int_equal(ut_2pc_participant_new(&p, &cfg), UT_OK);
    assert_int_equal(ut_2pc_participant_id(p), 2);
    ut_txn_state_t s;
    assert_int_equal(ut_2pc_participant_vote(p, 7, UT_2PC_VOTE_YES), UT_ENOTFOUND);
    assert_int_equal(ut_2pc_participant_vote(p, 7, (ut_2pc_vote_t)9), UT_EINVAL);
    assert_int_equal(ut_2pc_participant_heuristic(p, 7, UT_TXN_COMMITTED), UT_ENOTFOUND);
    assert_int_equal(ut_2pc_participant_heuristic(p, 7, UT_TXN_INIT), UT_EINVAL);
    assert_int_equal(ut_2pc_participant_state(p, 7, &s), UT_ENOTFOUND);
    ut_msg_t m = mk(UT_MSG_2PC_VOTE, 1, 2, 7, 1);
    assert_int_equal(ut_2pc_participant_step(p, &m), UT_EINVAL); /* wrong kind */
    m = mk(UT_MSG_2PC_PREPARE, 1, 3, 7, 0);
    assert_int_equal(ut_2pc_participant_step(p, &m), UT_EINVAL); /* not for us */
    m = mk(UT_MSG_2PC_PREPARE, 1, 2, 7, 0);
    m.body.twopc.n_peers = 2; /* peers NULL */
    assert_int_equal(ut_2pc_participant_step(p, &m), UT_EINVAL);
    m.body.twopc.n_peers = 0;
    m.body.twopc.len = 3;
    assert_int_equal(ut_2pc_participant_step(p, &m), UT_EINVAL);
    m.body.twopc.len = 0;
    m.body.twopc.code = 8;
    assert_int_equal(ut_2pc_participant_step(p, &m), UT_EINVAL);
    unsigned char zero_peer[8] = {0};
    m.body.twopc.code = 0;
    m.body.twopc.n_peers = 1;
    m.body.twopc.peers = zero_peer;
    assert_int_equal(ut_2pc_participant_step(p, &m), UT_EINVAL);
    assert_int_equal(ut_2pc_participant_state(p, 7, &s), UT_ENOTFOUND);
    m = mk(UT_MSG_2PC_STATUS, 3, 2, 7, 42);
    assert_int_equal(ut_2pc_participant_step(p, &m), UT_EINVAL);
    m = mk(UT_MSG_2PC_STATUS, 3, 2, 7, UT_TXN_COMMITTED);
    assert_int_equal(ut_2pc_participant_step(p, &m), UT_ENOTFOUND);
    ut_2pc_ready_t rd;
    assert_int_equal(ut_2pc_participant_ready(p, &rd), UT_OK);
    assert_true(ut_2pc_ready_empty(&rd));
    /* a real PREPARE */
    m = mk(UT_MSG_2PC_PREPARE, 1, 2, 7, 0);
    assert_int_equal(ut_2pc_participant_step(p, &m), UT_OK);
    assert_int_equal(ut_2pc_participant_state(p, 7, &s), UT_OK);
    assert_int_equal(s, UT_TXN_INIT);
    m = mk(UT_MSG_2PC_PREPARE, 9, 2, 7, 0);
    assert_int_equal(ut_2pc_participant_step(p, &m), UT_EINVAL); /* other coordinator */
    m = mk(UT_MSG_2PC_COMMIT, 1, 2, 7, UT_2PC_FLAG_ACK);
    assert_int_equal(ut_2pc_participant_step(p, &m), UT_ESTATE); /* commit while not prepared */
    m = mk(UT_MSG_2PC_COMMIT, 9, 2, 7, 0);
    assert_int_equal(ut_2pc_participant_step(p, &m), UT_EINVAL);
    assert_int_equal(ut_2pc_participant_heuristic(p, 7, UT_TXN_COMMITTED), UT_ESTATE);
    m = mk(UT_MSG_2PC_INQUIRY, 9, 2, 7, 0);
    assert_int_equal(ut_2pc_participant_step(p, &m), UT_EINVAL); /* not a peer */
    assert_int_equal(ut_2pc_participant_state(p, 7, &s), UT_OK);
    assert_int_equal(s, UT_TXN_INIT);
    assert_int_equal(ut_2pc_participant_forget(p, 7), UT_ESTATE); /* undecided */
    assert_int_equal(ut_2pc_participant_vote(p, 7, UT_2PC_VOTE_YES), UT_OK);
    assert_int_equal(ut_2pc_participant_vote(p, 7, UT_2PC_VOTE_NO), UT_ESTATE);
    assert_int_equal(ut_2pc_participant_forget(p, 7), UT_ESTATE); /* in doubt */
    ut_2pc_ready_t rd2;
    assert_int_equal(ut_2pc_participant_ready(p, &rd), UT_OK);
    assert_int_equal(rd.n_records, 1);
    assert_true(rd.records[0].forced); /* the yes is durable before it leaves */
    assert_int_equal(rd.n_msgs, 1);
    assert_int_equal(ut_2pc_participant_ready(p, &rd2), UT_ESTATE);
    assert_int_equal(ut_2pc_participant_advance(p, NULL), UT_EINVAL);
    assert_int_equal(ut_2pc_participant_advance(p, &rd), UT_OK);
    m = mk(UT_MSG_2PC_ABORT, 1, 2, 7, 0);
    assert_int_equal(ut_2pc_participant_step(p, &m), UT_OK);
    m = mk(UT_MSG_2PC_COMMIT, 1, 2, 7, UT_2PC_FLAG_ACK);
    assert_int_equal(ut_2pc_participant_step(p, &m), UT_ESTATE); /* nothing leaves aborted */
    assert_int_equal(ut_2pc_participant_state(p, 7, &s), UT_OK);
    assert_int_equal(s, UT_TXN_ABORTED);
    assert_int_equal(ut_2pc_participant_forget(p, 8), UT_ENOTFOUND);
    assert_int_equal(ut_2pc_participant_forget(NULL, 7), UT_EINVAL);
    assert_int_equal(ut_2pc_participant_tick(p, 10), UT_OK);
    assert_int_equal(ut_2pc_participant_tick(p, 9), UT_EINVAL);
    ut_2pc_record_t r = {.txid = 1, .coordinator = 1, .state = UT_TXN_PREPARED};
    assert_int_equal(ut_2pc_participant_restore(p, &r, 1), UT_ESTATE);
    assert_int_equal(ut_2pc_participant_forget(p, 7), UT_OK);
    assert_int_equal(ut_2pc_participant_state(p, 7, &s), UT_ENOTFOUND);
    ut_2pc_participant_free(p);
    ut_2pc_participant_new(&p, &cfg);
    r.state = UT_TXN_INIT;
    assert_int_equal(ut_2pc_participant_restore(p, &r, 1), UT_ECORRUPT);
    r.state = UT_TXN_PREPARED;
    r.coordinator = 0;
    assert_int_equal(ut_2pc_participant_restore(p, &r, 1), UT_ECORRUPT);
    assert_int_equal(ut_2pc_participant_restore(p, NULL, 2), UT_EINVAL);
    ut_2pc_participant_free(p);
    assert_string_equal(ut_2pc_vote_name(UT_2PC_VOTE_READ_ONLY), "read-only");
    assert_string_equal(ut_2pc_vote_name((ut_2pc_vote_t)9), "?");
}

/* ---- allocation failure: every allocation site fails once; the call
 * reports UT_ENOMEM, and a retry then completes the protocol ---- */

static int run_with_alloc(long fail_at, int pres)
{
    test_alloc_t ta;
    world_t w;
    world_init(&w, 2, (ut_2pc_presumption_t)pres, true);
    test_alloc_install(&ta, fail_at);
    uint64_t ids[] = {2, 3};
    int rc;
    while ((rc = ut_2pc_begin(w.c, W_TXID, ids, 2, "ab", 2)) == UT_ENOMEM)
        ;
    assert_int_equal(rc, UT_OK);
    /* drive by hand so every call's ENOMEM is retried */
    for (int round = 0; round < 60; round++) {
        for (int n = 0; n <= w.np; n++) {
            for (;;) {
                ut_2pc_ready_t rd;
                rc = n == 0 ? ut_2pc_ready(w.c, &rd) : ut_2pc_participant_ready(w.p[n - 1], &rd);
                assert_int_equal(rc, UT_OK);
                if (ut_2pc_ready_empty(&rd))
                    break;
                for (size_t i = 0; i < rd.n_records; i++)
                    w_log_append(&w.logs[n], &rd.records[i]);
                for (size_t i = 0; i < rd.n_msgs; i++)
                    w_net_push(&w, &rd.msgs[i]);
                uint64_t vt = 0;
                for (size_t i = 0; i < rd.n_events; i++)
                    if (rd.events[i].kind == UT_2PC_EVENT_PREPARE)
                        vt = rd.events[i].txid;
                if (n == 0)
                    ut_2pc_advance(w.c, &rd);
                else
                    ut_2pc_participant_advance(w.p[n - 1], &rd);
                if (vt != 0)
                    while (ut_2pc_participant_vote(w.p[n - 1], vt, UT_2PC_VOTE_YES) == UT_ENOMEM)
                        ;
            }
        }
        if (w.n_net == 0) {
            w.now += 1000;
            while (ut_2pc_tick(w.c, w.now) == UT_ENOMEM)
                ;
            for (int i = 0; i < w.np; i++)
                while (ut_2pc_participant_tick(w.p[i], w.now) == UT_ENOMEM)
                    ;
            if (ut_2pc_count(w.c) == 0)
                break;
            continue;
        }
        ut_msg_t m = w.net[0].m;
        unsigned char *buf = w.net[0].buf;
        w.net[0].buf = NULL;
        w_net_remove(&w, 0);
        int node = w_node_of(m.to);
        do
            rc = node == 0 ? ut_2pc_step(w.c, &m) : ut_2pc_participant_step(w.p[node - 1], &m);
        while (rc == UT_ENOMEM);
        free(buf);
    }
    long calls = ta.calls;
    long failures = ta.failures;
    test_alloc_uninstall();
    ut_txn_state_t s0 = 0, s1 = 0;
    ut_2pc_participant_state(w.p[0], W_TXID, &s0);
    ut_2pc_participant_state(w.p[1], W_TXID, &s1);
    assert_int_equal(s0, UT_TXN_COMMITTED);
    assert_int_equal(s1, UT_TXN_COMMITTED);
    assert_int_equal(ut_2pc_count(w.c), 0);
    world_free(&w);
    (void)failures;
    return fail_at > calls ? 0 : 1;
}

/* Take one participant ready; the message of type t it holds, or NULL. */
static const ut_msg_t *ready_msg(ut_2pc_participant_t *p, ut_2pc_ready_t *rd, ut_msg_type_t t)
{
    assert_int_equal(ut_2pc_participant_ready(p, rd), UT_OK);
    for (size_t i = 0; i < rd->n_msgs; i++)
        if (rd->msgs[i].type == t)
            return &rd->msgs[i];
    return NULL;
}

/* Regressions found by utsim's 2pc scenario (each failed before its fix). */
static void test_found_by_utsim(void **state)
{
    (void)state;
    ut_2pc_participant_config_t pc;
    ut_2pc_participant_config_init(&pc, UT_2PC_CONFIG_VERSION);
    pc.id = 2;
    ut_2pc_participant_t *p;
    assert_int_equal(ut_2pc_participant_new(&p, &pc), UT_OK);
    /* 1. An ABORT before the PREPARE leaves a tombstone that knows no
     * peers; a peer in doubt asks it: it answers its outcome (was: refused
     * as "not a peer"), and a late STATUS to it is ignored, not refused. */
    ut_msg_t m = mk(UT_MSG_2PC_ABORT, 1, 2, 7, UT_2PC_FLAG_ACK);
    assert_int_equal(ut_2pc_participant_step(p, &m), UT_OK);
    ut_2pc_ready_t rd;
    assert_non_null(ready_msg(p, &rd, UT_MSG_2PC_ACK));
    assert_int_equal(ut_2pc_participant_advance(p, &rd), UT_OK);
    m = mk(UT_MSG_2PC_INQUIRY, 3, 2, 7, 0);
    assert_int_equal(ut_2pc_participant_step(p, &m), UT_OK);
    const ut_msg_t *st = ready_msg(p, &rd, UT_MSG_2PC_STATUS);
    assert_non_null(st);
    assert_int_equal(st->to, 3);
    assert_int_equal(st->body.twopc.code, UT_TXN_ABORTED);
    assert_int_equal(ut_2pc_participant_advance(p, &rd), UT_OK);
    m = mk(UT_MSG_2PC_STATUS, 3, 2, 7, UT_TXN_ABORTED);
    assert_int_equal(ut_2pc_participant_step(p, &m), UT_OK);
    ut_txn_state_t s;
    assert_int_equal(ut_2pc_participant_state(p, 7, &s), UT_OK);
    assert_int_equal(s, UT_TXN_ABORTED);
    /* A prepared participant knows its peers: a stranger is still refused,
     * the object unchanged. */
    unsigned char peers[16];
    for (int i = 0; i < 8; i++) {
        peers[i] = (unsigned char)(i == 0 ? 2 : 0);
        peers[8 + i] = (unsigned char)(i == 0 ? 3 : 0);
    }
    m = mk(UT_MSG_2PC_PREPARE, 1, 2, 8, 0);
    m.body.twopc.n_peers = 2;
    m.body.twopc.peers = peers;
    assert_int_equal(ut_2pc_participant_step(p, &m), UT_OK);
    ut_2pc_participant_ready(p, &rd);
    ut_2pc_participant_advance(p, &rd);
    assert_int_equal(ut_2pc_participant_vote(p, 8, UT_2PC_VOTE_YES), UT_OK);
    ut_2pc_participant_ready(p, &rd);
    ut_2pc_participant_advance(p, &rd);
    m = mk(UT_MSG_2PC_INQUIRY, 4, 2, 8, 0);
    assert_int_equal(ut_2pc_participant_step(p, &m), UT_EINVAL);
    m = mk(UT_MSG_2PC_STATUS, 4, 2, 8, UT_TXN_ABORTED);
    assert_int_equal(ut_2pc_participant_step(p, &m), UT_EINVAL);
    assert_int_equal(ut_2pc_participant_state(p, 8, &s), UT_OK);
    assert_int_equal(s, UT_TXN_PREPARED);
    assert_int_equal(ut_2pc_participant_ready(p, &rd), UT_OK);
    assert_true(ut_2pc_ready_empty(&rd));
    ut_2pc_participant_free(p);

    /* 2. A one-phase commit restored from its record answers the
     * coordinator's repeated one-phase PREPARE (was: silence, and the
     * coordinator asked forever). */
    ut_2pc_record_t rec = {.txid = 9, .state = UT_TXN_COMMITTED, .forced = true, .coordinator = 1};
    assert_int_equal(ut_2pc_participant_new(&p, &pc), UT_OK);
    assert_int_equal(ut_2pc_participant_restore(p, &rec, 1), UT_OK);
    m = mk(UT_MSG_2PC_PREPARE, 1, 2, 9, UT_2PC_FLAG_ONE_PHASE);
    m.body.twopc.n_peers = 1;
    m.body.twopc.peers = peers;
    assert_int_equal(ut_2pc_participant_step(p, &m), UT_OK);
    const ut_msg_t *v = ready_msg(p, &rd, UT_MSG_2PC_VOTE);
    assert_non_null(v);
    assert_int_equal(v->body.twopc.code, UT_2PC_VOTE_YES);
    ut_2pc_participant_advance(p, &rd);
    ut_2pc_participant_free(p);

    /* 3. A coordinator restored from an abort record, which names only
     * phase two (here node 2), takes a late no or read-only vote from one
     * that dropped out (node 3) quietly (was: "vote from non-participant");
     * a yes from it is still refused, the object unchanged. */
    ut_2pc_config_t cc;
    ut_2pc_config_init(&cc, UT_2PC_CONFIG_VERSION);
    cc.id = 1;
    cc.presumption = UT_2PC_PRESUME_NOTHING;
    ut_2pc_t *c;
    assert_int_equal(ut_2pc_new(&c, &cc), UT_OK);
    uint64_t two = 2;
    rec = (ut_2pc_record_t){
        .txid = 5, .state = UT_TXN_ABORTED, .forced = true, .nodes = &two, .n_nodes = 1};
    assert_int_equal(ut_2pc_restore(c, &rec, 1), UT_OK);
    ut_2pc_ready_t cr;
    assert_int_equal(ut_2pc_ready(c, &cr), UT_OK);
    assert_int_equal(cr.n_msgs, 1);
    assert_int_equal(ut_2pc_advance(c, &cr), UT_OK);
    m = mk(UT_MSG_2PC_VOTE, 3, 1, 5, UT_2PC_VOTE_NO);
    assert_int_equal(ut_2pc_step(c, &m), UT_OK);
    m = mk(UT_MSG_2PC_VOTE, 3, 1, 5, UT_2PC_VOTE_READ_ONLY);
    assert_int_equal(ut_2pc_step(c, &m), UT_OK);
    m = mk(UT_MSG_2PC_VOTE, 3, 1, 5, UT_2PC_VOTE_YES);
    assert_int_equal(ut_2pc_step(c, &m), UT_EINVAL);
    assert_int_equal(ut_2pc_state(c, 5, &s), UT_OK);
    assert_int_equal(s, UT_TXN_ABORTED);
    assert_int_equal(ut_2pc_ready(c, &cr), UT_OK);
    assert_true(ut_2pc_ready_empty(&cr));
    ut_2pc_free(c);
}

typedef struct trace_log {
    ut_trace_event_t ev[32];
    int n;
} trace_log_t;

/* utsim 2pc seed 266 (3 nodes, long reordering delays): a participant
 * commits a one-phase transaction, the application forgets it, and the
 * coordinator's presumed-abort answer to a stale yes arrives afterwards.
 * An ABORT that asks for no acknowledgement must leave nothing (was: an
 * ABORTED tombstone, "committed" then "aborted" for the same txid); one
 * that asks for an acknowledgement still leaves its durable tombstone. */
static void test_stale_presumed_abort(void **state)
{
    (void)state;
    ut_2pc_participant_config_t pc;
    ut_2pc_participant_config_init(&pc, UT_2PC_CONFIG_VERSION);
    pc.id = 2;
    ut_2pc_participant_t *p;
    assert_int_equal(ut_2pc_participant_new(&p, &pc), UT_OK);
    unsigned char peers[8] = {2};
    ut_msg_t m = mk(UT_MSG_2PC_PREPARE, 1, 2, 402, UT_2PC_FLAG_ONE_PHASE);
    m.body.twopc.n_peers = 1;
    m.body.twopc.peers = peers;
    assert_int_equal(ut_2pc_participant_step(p, &m), UT_OK);
    ut_2pc_ready_t rd;
    assert_int_equal(ut_2pc_participant_ready(p, &rd), UT_OK);
    assert_int_equal(ut_2pc_participant_advance(p, &rd), UT_OK);
    assert_int_equal(ut_2pc_participant_vote(p, 402, UT_2PC_VOTE_YES), UT_OK);
    assert_int_equal(ut_2pc_participant_ready(p, &rd), UT_OK);
    assert_int_equal(ut_2pc_participant_advance(p, &rd), UT_OK);
    ut_txn_state_t s;
    assert_int_equal(ut_2pc_participant_state(p, 402, &s), UT_OK);
    assert_int_equal(s, UT_TXN_COMMITTED);
    /* While it is held, the stale ABORT is refused and changes nothing. */
    m = mk(UT_MSG_2PC_ABORT, 1, 2, 402, 0);
    assert_int_equal(ut_2pc_participant_step(p, &m), UT_ESTATE);
    assert_int_equal(ut_2pc_participant_forget(p, 402), UT_OK);
    /* Forgotten: a second copy of it arrives. */
    assert_int_equal(ut_2pc_participant_step(p, &m), UT_OK);
    assert_int_equal(ut_2pc_participant_state(p, 402, &s), UT_ENOTFOUND);
    assert_int_equal(ut_2pc_participant_ready(p, &rd), UT_OK);
    assert_true(ut_2pc_ready_empty(&rd));
    assert_int_equal(ut_2pc_participant_advance(p, &rd), UT_OK);
    /* An unacknowledged COMMIT for an unknown transaction: nothing either. */
    m = mk(UT_MSG_2PC_COMMIT, 1, 2, 403, 0);
    assert_int_equal(ut_2pc_participant_step(p, &m), UT_OK);
    assert_int_equal(ut_2pc_participant_state(p, 403, &s), UT_ENOTFOUND);
    /* An acknowledged ABORT (presumed commit, textbook): the tombstone,
     * forced, then the acknowledgement. */
    m = mk(UT_MSG_2PC_ABORT, 1, 2, 404, UT_2PC_FLAG_ACK);
    assert_int_equal(ut_2pc_participant_step(p, &m), UT_OK);
    assert_int_equal(ut_2pc_participant_state(p, 404, &s), UT_OK);
    assert_int_equal(s, UT_TXN_ABORTED);
    assert_int_equal(ut_2pc_participant_ready(p, &rd), UT_OK);
    assert_int_equal(rd.n_records, 1);
    assert_true(rd.records[0].forced);
    assert_int_equal(rd.n_msgs, 1);
    assert_int_equal(rd.msgs[0].type, UT_MSG_2PC_ACK);
    assert_int_equal(ut_2pc_participant_advance(p, &rd), UT_OK);
    ut_2pc_participant_free(p);
}

static void record_trace(void *arg, const ut_trace_event_t *ev)
{
    trace_log_t *l = arg;
    if (l->n < 32)
        l->ev[l->n++] = *ev;
}

static const ut_trace_event_t *traced(const trace_log_t *l, const char *event, const char *reason)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->ev[i].event, event) == 0 &&
            (reason == NULL || (l->ev[i].reason && strcmp(l->ev[i].reason, reason) == 0)))
            return &l->ev[i];
    return NULL;
}

/* The trace hook: decisions and outcomes with their reason, refused
 * messages; off by default. */
static void test_trace(void **state)
{
    (void)state;
    trace_log_t cl = {0}, pl = {0};
    ut_2pc_config_t cc;
    ut_2pc_config_init(&cc, UT_2PC_CONFIG_VERSION);
    assert_null(cc.trace);
    cc.id = 1;
    cc.trace = record_trace;
    cc.trace_arg = &cl;
    ut_2pc_t *c;
    assert_int_equal(ut_2pc_new(&c, &cc), UT_OK);
    uint64_t ids[] = {2, 3};
    assert_int_equal(ut_2pc_begin(c, 4, ids, 2, NULL, 0), UT_OK);
    ut_msg_t m = mk(UT_MSG_2PC_VOTE, 2, 1, 4, UT_2PC_VOTE_YES);
    assert_int_equal(ut_2pc_step(c, &m), UT_OK);
    m = mk(UT_MSG_2PC_VOTE, 9, 1, 4, UT_2PC_VOTE_YES);
    assert_int_equal(ut_2pc_step(c, &m), UT_EINVAL);
    const ut_trace_event_t *e = traced(&cl, "refused", "2pc-vote");
    assert_non_null(e);
    assert_int_equal(e->level, UT_TRACE_WARN);
    assert_string_equal(e->module, "2pc");
    assert_int_equal(e->node, 1);
    assert_int_equal(e->a, 4);
    assert_int_equal(e->b, (uint64_t)-UT_EINVAL);
    m = mk(UT_MSG_2PC_VOTE, 3, 1, 4, UT_2PC_VOTE_YES);
    assert_int_equal(ut_2pc_step(c, &m), UT_OK);
    e = traced(&cl, "decide", "every vote yes");
    assert_non_null(e);
    assert_int_equal(e->level, UT_TRACE_INFO);
    assert_int_equal(e->a, 4);
    assert_int_equal(e->b, UT_TXN_COMMITTED);
    assert_int_equal(ut_2pc_begin(c, 5, ids, 2, NULL, 0), UT_OK);
    assert_int_equal(ut_2pc_tick(c, 5000), UT_OK);
    assert_non_null(traced(&cl, "decide", "vote deadline"));
    ut_2pc_free(c);

    ut_2pc_participant_config_t pc;
    ut_2pc_participant_config_init(&pc, UT_2PC_CONFIG_VERSION);
    assert_null(pc.trace);
    pc.id = 2;
    pc.trace = record_trace;
    pc.trace_arg = &pl;
    ut_2pc_participant_t *p;
    assert_int_equal(ut_2pc_participant_new(&p, &pc), UT_OK);
    m = mk(UT_MSG_2PC_PREPARE, 1, 2, 4, 0);
    assert_int_equal(ut_2pc_participant_step(p, &m), UT_OK);
    assert_int_equal(ut_2pc_participant_vote(p, 4, UT_2PC_VOTE_YES), UT_OK);
    assert_non_null(traced(&pl, "vote", "yes"));
    assert_int_equal(ut_2pc_participant_tick(p, 1000), UT_OK);
    e = traced(&pl, "in-doubt-inquiry", "coordinator");
    assert_non_null(e);
    assert_int_equal(e->a, 4);
    m = mk(UT_MSG_2PC_COMMIT, 1, 2, 4, UT_2PC_FLAG_ACK);
    assert_int_equal(ut_2pc_participant_step(p, &m), UT_OK);
    e = traced(&pl, "outcome", "the coordinator");
    assert_non_null(e);
    assert_int_equal(e->b, UT_TXN_COMMITTED);
    m = mk(UT_MSG_2PC_ABORT, 1, 2, 4, 0);
    assert_int_equal(ut_2pc_participant_step(p, &m), UT_ESTATE);
    e = traced(&pl, "refused", "2pc-abort");
    assert_non_null(e);
    assert_int_equal(e->b, (uint64_t)-UT_ESTATE);
    assert_int_equal(ut_2pc_participant_step(p, NULL), UT_EINVAL);
    assert_non_null(traced(&pl, "refused", "NULL message"));
    ut_2pc_participant_free(p);
}

static void test_alloc_sweep(void **state)
{
    (void)state;
    for (int pres = 0; pres < 3; pres++)
        for (long k = 1; k < 400; k++)
            if (!run_with_alloc(k, pres))
                break;
    /* new fails cleanly too */
    test_alloc_t ta;
    for (long k = 1; k < 5; k++) {
        test_alloc_install(&ta, k);
        ut_2pc_config_t cfg;
        ut_2pc_config_init(&cfg, 1);
        cfg.id = 1;
        ut_2pc_t *c = NULL;
        int rc = ut_2pc_new(&c, &cfg);
        ut_2pc_participant_config_t pc;
        ut_2pc_participant_config_init(&pc, 1);
        pc.id = 2;
        ut_2pc_participant_t *p = NULL;
        int rc2 = ut_2pc_participant_new(&p, &pc);
        ut_2pc_free(c);
        ut_2pc_participant_free(p);
        assert_int_equal(ta.live, 0);
        test_alloc_uninstall();
        assert_true(rc == UT_OK || rc == UT_ENOMEM);
        assert_true(rc2 == UT_OK || rc2 == UT_ENOMEM);
    }
}

/* ---- wire ---- */

static void put_le(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void test_codec(void **state)
{
    (void)state;
    unsigned char peers[16], buf[256];
    put_le(peers, 2);
    put_le(peers + 8, 3);
    for (int t = UT_MSG_2PC_PREPARE; t <= UT_MSG_2PC_STATUS; t++) {
        ut_msg_t m = mk((ut_msg_type_t)t, 1, 2, 0x1122334455667788ull, 0x101);
        if (t == UT_MSG_2PC_PREPARE) {
            m.body.twopc.n_peers = 2;
            m.body.twopc.peers = peers;
            m.body.twopc.len = 5;
            m.body.twopc.data = "hello";
        }
        size_t len;
        assert_int_equal(ut_msg_encode(&m, buf, sizeof buf, &len), UT_OK);
        ut_msg_t d;
        size_t used;
        assert_int_equal(ut_msg_decode(&d, buf, len, NULL, 0, &used), UT_OK);
        assert_int_equal(used, len);
        assert_int_equal(d.type, t);
        assert_int_equal(d.body.twopc.txid, m.body.twopc.txid);
        assert_int_equal(d.body.twopc.code, 0x101);
        assert_int_equal(d.body.twopc.n_peers, m.body.twopc.n_peers);
        assert_int_equal(d.body.twopc.len, m.body.twopc.len);
        if (t == UT_MSG_2PC_PREPARE) {
            assert_memory_equal(d.body.twopc.peers, peers, 16);
            assert_memory_equal(d.body.twopc.data, "hello", 5);
        }
        for (size_t cut = 0; cut < len; cut++)
            assert_int_not_equal(ut_msg_decode(&d, buf, cut, NULL, 0, &used), UT_OK);
        assert_string_not_equal(ut_msg_type_name((ut_msg_type_t)t), "?");
    }
    ut_msg_t m = mk(UT_MSG_2PC_VOTE, 1, 2, 0, 1);
    size_t len;
    assert_int_equal(ut_msg_encode(&m, buf, sizeof buf, &len), UT_EINVAL); /* txid 0 */
    m = mk(UT_MSG_2PC_VOTE, 1, 2, 5, 1);
    m.body.twopc.len = 1;
    m.body.twopc.data = "x";
    assert_int_equal(ut_msg_encode(&m, buf, sizeof buf, &len), UT_EINVAL); /* data on a vote */
    m = mk(UT_MSG_2PC_PREPARE, 1, 2, 5, 0);
    m.body.twopc.n_peers = 1;
    assert_int_equal(ut_msg_encode(&m, buf, sizeof buf, &len), UT_EINVAL); /* NULL peers */
    assert_true(sizeof(ut_msg_2pc_t) <= 96);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_all_yes),
        cmocka_unit_test(test_vote_no_aborts),
        cmocka_unit_test(test_vote_timeout),
        cmocka_unit_test(test_read_only_and_one_phase),
        cmocka_unit_test(test_coordinator_crashes),
        cmocka_unit_test(test_participant_crash_and_inquiry),
        cmocka_unit_test(test_cooperative_termination),
        cmocka_unit_test(test_lost_dup_reordered),
        cmocka_unit_test(test_presumed_commit_counts),
        cmocka_unit_test(test_heuristic),
        cmocka_unit_test(test_coordinator_errors),
        cmocka_unit_test(test_participant_errors),
        cmocka_unit_test(test_found_by_utsim),
        cmocka_unit_test(test_stale_presumed_abort),
        cmocka_unit_test(test_trace),
        cmocka_unit_test(test_alloc_sweep),
        cmocka_unit_test(test_codec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
