/* SPDX-License-Identifier: MIT */
/* The coordinator's decision log kept in a Raft group (DESIGN §5): every
 * record of a coordinator ready is proposed to a 3-node ut_consensus_t
 * group and the ready's messages leave only once the records are
 * committed there. The coordinator and the Raft leader then crash together
 * right after the commit record is committed, before any COMMIT is sent; a
 * new coordinator, restored from the log of another Raft node (the new
 * leader), finishes the transaction. Participants are never blocked by the
 * coordinator's crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <unitypes.h>

#include "raft_cluster.h"

#define COORD 100u

static ut_msg_t net[64];
static unsigned char netbuf[64][256];
static int n_net;
static ut_2pc_participant_t *part[2];

static void net_push(const ut_msg_t *m)
{
    size_t len;
    assert_int_equal(ut_msg_encode(m, netbuf[n_net], sizeof netbuf[n_net], &len), UT_OK);
    assert_int_equal(ut_msg_decode(&net[n_net], netbuf[n_net], len, NULL, 0, NULL), UT_OK);
    n_net++;
}

static size_t encode_record(const ut_2pc_record_t *r, unsigned char *b)
{
    memcpy(b, &r->txid, 8);
    b[8] = (unsigned char)r->state;
    b[9] = r->end;
    b[10] = r->forced;
    b[11] = (unsigned char)r->n_nodes;
    if (r->n_nodes > 0)
        memcpy(b + 12, r->nodes, r->n_nodes * 8);
    return 12 + r->n_nodes * 8;
}

/* Committed 2PC records in a Raft node's log, in log order. */
static size_t decode_log(rc_cluster_t *rc, uint64_t id, ut_2pc_record_t *out, uint64_t (*ids)[4])
{
    rc_node_t *nd = rc_node(rc, id);
    uint64_t commit = ut_consensus_commit_index(nd->h);
    size_t n = 0;
    for (size_t i = 0; i < nd->n_log && nd->log[i].index <= commit; i++) {
        const rc_entry_t *e = &nd->log[i];
        if (e->type != UT_ENTRY_NORMAL || e->len < 12)
            continue;
        ut_2pc_record_t *r = &out[n];
        memset(r, 0, sizeof *r);
        memcpy(&r->txid, e->data, 8);
        r->state = (ut_txn_state_t)e->data[8];
        r->end = e->data[9];
        r->forced = e->data[10];
        r->n_nodes = e->data[11];
        memcpy(ids[n], e->data + 12, r->n_nodes * 8);
        r->nodes = ids[n];
        n++;
    }
    return n;
}

static void drain_part(int i)
{
    ut_2pc_ready_t rd;
    while (ut_2pc_participant_ready(part[i], &rd) == UT_OK && !ut_2pc_ready_empty(&rd)) {
        for (size_t k = 0; k < rd.n_msgs; k++)
            net_push(&rd.msgs[k]);
        uint64_t vt = 0;
        for (size_t k = 0; k < rd.n_events; k++)
            if (rd.events[k].kind == UT_2PC_EVENT_PREPARE)
                vt = rd.events[k].txid;
        ut_2pc_participant_advance(part[i], &rd);
        if (vt)
            ut_2pc_participant_vote(part[i], vt, UT_2PC_VOTE_YES);
    }
}

static void test_raft_backed_coordinator(void **state)
{
    (void)state;
    rc_cluster_t rc;
    assert_int_equal(rc_init(&rc, 3, 0, NULL), UT_OK);
    assert_true(rc_elect(&rc, 1));
    uint64_t leader = 1;

    ut_2pc_config_t cc;
    ut_2pc_config_init(&cc, UT_2PC_CONFIG_VERSION);
    cc.id = COORD;
    ut_2pc_t *coord;
    assert_int_equal(ut_2pc_new(&coord, &cc), UT_OK);
    for (int i = 0; i < 2; i++) {
        ut_2pc_participant_config_t pc;
        ut_2pc_participant_config_init(&pc, UT_2PC_CONFIG_VERSION);
        pc.id = COORD + 1 + (uint64_t)i;
        assert_int_equal(ut_2pc_participant_new(&part[i], &pc), UT_OK);
    }
    uint64_t ids[] = {COORD + 1, COORD + 2};
    assert_int_equal(ut_2pc_begin(coord, 9, ids, 2, "t", 1), UT_OK);
    bool crashed = false;
    for (int round = 0; round < 200; round++) {
        ut_2pc_ready_t rd;
        while (ut_2pc_ready(coord, &rd) == UT_OK && !ut_2pc_ready_empty(&rd)) {
            bool commit_rec = false;
            uint64_t last = 0;
            for (size_t k = 0; k < rd.n_records; k++) {
                unsigned char b[12 + 64 * 8];
                size_t len = encode_record(&rd.records[k], b);
                assert_int_equal(rc_propose(&rc, leader, b, len, &last), UT_OK);
                commit_rec |= rd.records[k].state == UT_TXN_COMMITTED && !rd.records[k].end;
            }
            if (last != 0) {
                rc_drain(&rc, 100000); /* replicated and committed */
                assert_true(ut_consensus_commit_index(rc_h(&rc, leader)) >= last);
            }
            if (commit_rec && !crashed) {
                /* coordinator and Raft leader fail together, no COMMIT sent */
                crashed = true;
                ut_2pc_free(coord);
                rc_crash(&rc, leader);
                assert_true(rc_run_until(&rc, rc_has_leader, NULL, 20000));
                leader = rc_leader(&rc);
                assert_true(leader != 0 && leader != 1);
                ut_2pc_record_t recs[16];
                uint64_t nodes[16][4];
                size_t n = decode_log(&rc, leader, recs, nodes);
                assert_true(n >= 1);
                assert_int_equal(ut_2pc_new(&coord, &cc), UT_OK);
                assert_int_equal(ut_2pc_restore(coord, recs, n), UT_OK);
                ut_txn_state_t s;
                assert_int_equal(ut_2pc_state(coord, 9, &s), UT_OK);
                assert_int_equal(s, UT_TXN_COMMITTED);
                continue;
            }
            for (size_t k = 0; k < rd.n_msgs; k++)
                net_push(&rd.msgs[k]);
            ut_2pc_advance(coord, &rd);
        }
        for (int i = 0; i < 2; i++)
            drain_part(i);
        if (n_net == 0)
            break;
        ut_msg_t m = net[0];
        unsigned char frame[256];
        memcpy(frame, netbuf[0], sizeof frame);
        memmove(net, net + 1, (size_t)(n_net - 1) * sizeof net[0]);
        memmove(netbuf, netbuf + 1, (size_t)(n_net - 1) * sizeof netbuf[0]);
        n_net--;
        /* re-point the borrowed bytes at the copy */
        if (m.body.twopc.n_peers > 0 || m.body.twopc.len > 0) {
            size_t len;
            assert_int_equal(ut_msg_encoded_size(&m, &len), UT_OK);
            assert_int_equal(ut_msg_decode(&m, frame, len, NULL, 0, NULL), UT_OK);
        }
        if (m.to == COORD)
            ut_2pc_step(coord, &m);
        else
            ut_2pc_participant_step(part[m.to - COORD - 1], &m);
    }
    assert_true(crashed);
    for (int i = 0; i < 2; i++) {
        ut_txn_state_t s;
        assert_int_equal(ut_2pc_participant_state(part[i], 9, &s), UT_OK);
        assert_int_equal(s, UT_TXN_COMMITTED);
        ut_2pc_participant_free(part[i]);
    }
    assert_int_equal(ut_2pc_count(coord), 0);
    ut_2pc_free(coord);
    assert_false(rc.failed);
    rc_destroy(&rc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_raft_backed_coordinator)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
