/* SPDX-License-Identifier: MIT */
/* A two-phase commit coordinator whose decision log is a Raft group
 * (docs/twopc.md, "The Raft-backed coordinator"; DESIGN §5).
 *
 * Three ut_consensus_t nodes (10, 11, 12) keep the coordinator's log: every
 * record of a coordinator ready is proposed to the Raft leader, and the
 * ready's messages leave only once those entries are committed, which is
 * what "forced" means here. The coordinator (id 1) runs next to the Raft
 * leader; participants 2 and 3 take a transfer. Right after the commit
 * record is committed, before any COMMIT leaves, the coordinator and the
 * Raft leader crash together. Another node is elected, and a new
 * coordinator (same id 1: the service's address, not a machine's) is
 * restored from the new leader's committed log and finishes the transfer:
 * the participants are not blocked by the crash of one machine.
 *
 * One process, FIFO queues for both networks, every message through the
 * codec. Prints "raft-backed coordinator finished the transfer" on success. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unitypes.h>

#define NRAFT 3
#define MAXQ 256
#define MAXLOG 64
#define REC_MAX (12 + 8 * 4)

/* ---- a network: a FIFO of encoded frames ---- */
typedef struct frame {
    unsigned char buf[512];
    size_t len;
} frame_t;
typedef struct queue {
    frame_t f[MAXQ];
    int head, n;
} queue_t;

static int q_push(queue_t *q, const ut_msg_t *m)
{
    if (q->n == MAXQ)
        return -1;
    frame_t *f = &q->f[(q->head + q->n) % MAXQ];
    if (ut_msg_encode(m, f->buf, sizeof f->buf, &f->len) != UT_OK)
        return -1;
    q->n++;
    return 0;
}

/* Pops into *f; decode from f->buf (the message points into it). */
static int q_pop(queue_t *q, frame_t *f)
{
    if (q->n == 0)
        return 0;
    *f = q->f[q->head];
    q->head = (q->head + 1) % MAXQ;
    q->n--;
    return 1;
}

/* ---- the Raft group: nodes with an in-memory log ---- */
typedef struct rnode {
    uint64_t id;
    ut_consensus_t *h; /* NULL: crashed */
    unsigned char data[MAXLOG][REC_MAX];
    ut_entry_t log[MAXLOG]; /* stored entries (data copied) */
    size_t n_log;
} rnode_t;

static rnode_t raft[NRAFT];
static const uint64_t voters[NRAFT] = {10, 11, 12};
static queue_t raft_net, tpc_net;

static rnode_t *rnode(uint64_t id)
{
    for (int i = 0; i < NRAFT; i++)
        if (raft[i].id == id)
            return &raft[i];
    return NULL;
}

static int raft_drain(rnode_t *n)
{
    ut_consensus_ready_t rd;
    while (n->h && ut_consensus_has_ready(n->h)) {
        if (ut_consensus_ready(n->h, &rd) != UT_OK)
            return -1;
        /* 1. persist (here: keep in memory) */
        if (rd.truncate_from > 0 && rd.truncate_from - 1 < n->n_log)
            n->n_log = (size_t)(rd.truncate_from - 1);
        for (size_t k = 0; k < rd.n_entries; k++) {
            const ut_entry_t *e = &rd.entries[k];
            if (e->index != n->n_log + 1 || n->n_log == MAXLOG || e->len > REC_MAX)
                return -1;
            n->log[n->n_log] = *e;
            if (e->len > 0)
                memcpy(n->data[n->n_log], e->data, e->len);
            n->log[n->n_log].data = n->data[n->n_log];
            n->n_log++;
        }
        /* 2. send */
        for (size_t k = 0; k < rd.n_msgs; k++)
            if (q_push(&raft_net, &rd.msgs[k]) != 0)
                return -1;
        /* 3. apply: the coordinator reads the committed log when it needs it */
        if (ut_consensus_advance(n->h, &rd) != UT_OK)
            return -1;
    }
    return 0;
}

/* Deliver Raft messages until none is left (to a crashed node: lost). */
static int raft_pump(void)
{
    frame_t f;
    ut_entry_t ents[MAXLOG];
    while (q_pop(&raft_net, &f)) {
        ut_msg_t m;
        if (ut_msg_decode(&m, f.buf, f.len, ents, MAXLOG, NULL) != UT_OK)
            return -1;
        rnode_t *n = rnode(m.to);
        if (!n || !n->h)
            continue;
        ut_consensus_step(n->h, &m);
        if (raft_drain(n) != 0)
            return -1;
    }
    return 0;
}

/* ---- coordinator records as Raft entries ---- */
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

/* The 2PC records in n's committed log, in log order. */
static size_t committed_records(const rnode_t *n, ut_2pc_record_t *out, uint64_t (*ids)[4])
{
    uint64_t commit = ut_consensus_commit_index(n->h);
    size_t k = 0;
    for (size_t i = 0; i < n->n_log && n->log[i].index <= commit; i++) {
        const ut_entry_t *e = &n->log[i];
        const unsigned char *d = e->data;
        if (e->type != UT_ENTRY_NORMAL || e->len < 12 || d[11] > 4)
            continue;
        memset(&out[k], 0, sizeof out[k]);
        memcpy(&out[k].txid, d, 8);
        out[k].state = (ut_txn_state_t)d[8];
        out[k].end = d[9];
        out[k].forced = d[10];
        out[k].n_nodes = d[11];
        if (out[k].n_nodes > 0)
            memcpy(ids[k], d + 12, out[k].n_nodes * 8);
        out[k].nodes = ids[k];
        k++;
    }
    return k;
}

static uint64_t now_ms;

/* Let time pass until a live node leads the Raft group, then have it commit
 * an entry of its own term, so that everything an earlier leader committed
 * is known committed (Raft §5.4.2). Returns the leader, or 0. */
static uint64_t raft_elect(void)
{
    for (int step = 0; step < 200; step++) {
        for (int i = 0; i < NRAFT; i++) {
            rnode_t *n = &raft[i];
            if (n->h && ut_consensus_state(n->h) == UT_CONSENSUS_LEADER) {
                uint64_t index;
                if (ut_consensus_propose(n->h, "-", 1, &index) != UT_OK || raft_drain(n) != 0 ||
                    raft_pump() != 0)
                    return 0;
                return ut_consensus_commit_index(n->h) >= index ? n->id : 0;
            }
        }
        now_ms += 100;
        for (int i = 0; i < NRAFT; i++)
            if (raft[i].h &&
                (ut_consensus_tick(raft[i].h, now_ms) != UT_OK || raft_drain(&raft[i]) != 0))
                return 0;
        if (raft_pump() != 0)
            return 0;
    }
    return 0;
}

/* ---- the participants ---- */
static ut_2pc_participant_t *part[4]; /* ids 2 and 3 */
static int balance[4] = {0, 0, 100, 100};

static void part_drain(int id)
{
    ut_2pc_ready_t rd;
    while (ut_2pc_participant_ready(part[id], &rd) == UT_OK && !ut_2pc_ready_empty(&rd)) {
        /* a real participant forces rd's records to its own log here */
        for (size_t k = 0; k < rd.n_msgs; k++)
            q_push(&tpc_net, &rd.msgs[k]);
        uint64_t vote_for = 0;
        for (size_t k = 0; k < rd.n_events; k++) {
            if (rd.events[k].kind == UT_2PC_EVENT_PREPARE)
                vote_for = rd.events[k].txid;
            if (rd.events[k].kind == UT_2PC_EVENT_OUTCOME && rd.events[k].state == UT_TXN_COMMITTED)
                balance[id] += id == 2 ? -10 : 10;
        }
        ut_2pc_participant_advance(part[id], &rd);
        if (vote_for)
            ut_2pc_participant_vote(part[id], vote_for, UT_2PC_VOTE_YES);
    }
}

int main(void)
{
    for (int i = 0; i < NRAFT; i++) {
        ut_consensus_config_t rc;
        ut_consensus_config_init(&rc, UT_CONSENSUS_CONFIG_VERSION);
        rc.id = voters[i];
        rc.voters = voters;
        rc.n_voters = NRAFT;
        rc.seed = (uint64_t)i + 1;
        raft[i].id = voters[i];
        if (ut_consensus_new(&raft[i].h, &rc) != UT_OK)
            return 1;
    }
    uint64_t leader = raft_elect();
    if (leader == 0)
        return 1;

    ut_2pc_config_t cc;
    ut_2pc_config_init(&cc, UT_2PC_CONFIG_VERSION);
    cc.id = 1;
    ut_2pc_t *coord;
    if (ut_2pc_new(&coord, &cc) != UT_OK)
        return 1;
    for (int id = 2; id <= 3; id++) {
        ut_2pc_participant_config_t pc;
        ut_2pc_participant_config_init(&pc, UT_2PC_CONFIG_VERSION);
        pc.id = (uint64_t)id;
        if (ut_2pc_participant_new(&part[id], &pc) != UT_OK)
            return 1;
    }
    uint64_t ids[] = {2, 3};
    if (ut_2pc_begin(coord, 42, ids, 2, "2->3:10", 7) != UT_OK)
        return 1;

    int crashed = 0;
    for (int round = 0; round < 100; round++) {
        ut_2pc_ready_t rd;
        while (ut_2pc_ready(coord, &rd) == UT_OK && !ut_2pc_ready_empty(&rd)) {
            /* 1. the records go to the Raft group and must commit there */
            rnode_t *l = rnode(leader);
            uint64_t last = 0;
            int commit_record = 0;
            for (size_t k = 0; k < rd.n_records; k++) {
                unsigned char b[REC_MAX];
                size_t len = encode_record(&rd.records[k], b);
                if (ut_consensus_propose(l->h, b, len, &last) != UT_OK)
                    return 1;
                commit_record |= rd.records[k].state == UT_TXN_COMMITTED && !rd.records[k].end;
            }
            if (last &&
                (raft_drain(l) != 0 || raft_pump() != 0 || ut_consensus_commit_index(l->h) < last))
                return 1;
            if (commit_record && !crashed) {
                /* The commit record is committed in Raft; no COMMIT has
                 * left. The coordinator and the Raft leader crash. */
                crashed = 1;
                ut_2pc_free(coord);
                ut_consensus_free(l->h);
                l->h = NULL;
                uint64_t old = leader;
                leader = raft_elect();
                if (leader == 0)
                    return 1;
                ut_2pc_record_t recs[MAXLOG];
                uint64_t nodes[MAXLOG][4];
                size_t n = committed_records(rnode(leader), recs, nodes);
                if (ut_2pc_new(&coord, &cc) != UT_OK || ut_2pc_restore(coord, recs, n) != UT_OK)
                    return 1;
                printf("coordinator and raft leader %llu crashed; restored next to the new "
                       "leader %llu from %zu committed record(s)\n",
                       (unsigned long long)old, (unsigned long long)leader, n);
                continue; /* the restored coordinator sends the COMMITs again */
            }
            /* 2. send, 3. act on events */
            for (size_t k = 0; k < rd.n_msgs; k++)
                q_push(&tpc_net, &rd.msgs[k]);
            ut_2pc_advance(coord, &rd);
        }
        for (int id = 2; id <= 3; id++)
            part_drain(id);
        frame_t f;
        if (!q_pop(&tpc_net, &f))
            break;
        ut_msg_t m;
        if (ut_msg_decode(&m, f.buf, f.len, NULL, 0, NULL) != UT_OK)
            return 1;
        if (m.to == 1)
            ut_2pc_step(coord, &m);
        else
            ut_2pc_participant_step(part[m.to], &m);
    }

    ut_txn_state_t s2, s3;
    ut_2pc_participant_state(part[2], 42, &s2);
    ut_2pc_participant_state(part[3], 42, &s3);
    printf("participant 2: %s, balance %d; participant 3: %s, balance %d\n", ut_txn_state_name(s2),
           balance[2], ut_txn_state_name(s3), balance[3]);
    int ok = crashed && s2 == UT_TXN_COMMITTED && s3 == UT_TXN_COMMITTED &&
             balance[2] + balance[3] == 200 && ut_2pc_count(coord) == 0;
    for (int id = 2; id <= 3; id++)
        ut_2pc_participant_free(part[id]);
    ut_2pc_free(coord);
    for (int i = 0; i < NRAFT; i++)
        ut_consensus_free(raft[i].h);
    if (!ok)
        return 1;
    printf("raft-backed coordinator finished the transfer\n");
    return 0;
}
