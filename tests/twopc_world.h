/* SPDX-License-Identifier: MIT */
/* A deterministic in-test world for two-phase commit: one coordinator (node
 * 1) and up to W_MAXP participants (nodes 2…), a durable log per node (on a
 * crash everything after the last forced record is lost, the worst a
 * buffered log allows), and a network that is a bag of messages any of
 * which may be delivered next, dropped or duplicated. The application is
 * simulated: participants vote as configured, outcomes are observed.
 *
 * Used by the scenario tests, the exhaustive schedule check and the seeded
 * cluster test; the world can be deep-copied (white-box clone hooks), so the
 * exhaustive check branches instead of replaying. Structured so that it can
 * later become a utsim scenario: the world is the network + disks, the
 * invariants are world_check() and world_settle(). */
#ifndef UT_TWOPC_WORLD_H
#define UT_TWOPC_WORLD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unitypes.h>

#include "twopc/twopc_internal.h"
#include "twopc_oracle.h"

#define W_MAXP 4
#define W_TXID 7u
#define W_COORD 1u

typedef struct wmsg {
    ut_msg_t m;
    unsigned char *buf; /* peers + data */
} wmsg_t;

typedef struct wlog {
    ut_2pc_record_t *rec;
    size_t n, cap;
} wlog_t;

typedef struct world {
    int np;
    ut_2pc_config_t ccfg;
    ut_2pc_participant_config_t pcfg;
    ut_2pc_t *c;
    ut_2pc_participant_t *p[W_MAXP];
    wlog_t logs[1 + W_MAXP];
    wmsg_t *net;
    size_t n_net, cap_net;
    ut_2pc_vote_t votes[W_MAXP];
    uint64_t now;
    tpc_oracle_t orc; /* what was observed of the transaction, and its checks */
    int heuristic_events;
    int violation;
    char why[800];
    long events;
    int crashes_left, timeouts_left, drops_left; /* budgets of the exhaustive check */
    char path[600];                              /* the schedule, for a failure report */
} world_t;

static inline void w_fail(world_t *w, const char *why)
{
    if (!w->violation) {
        w->violation = 1;
        snprintf(w->why, sizeof w->why, "%.190s after [%s]", why, w->path);
    }
}

static inline uint64_t w_id(int i)
{
    return (uint64_t)(i + 2);
}

static inline void w_log_append(wlog_t *l, const ut_2pc_record_t *r)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 8;
        l->rec = realloc(l->rec, l->cap * sizeof *l->rec);
    }
    ut_2pc_record_t c = *r;
    if (c.n_nodes > 0) {
        uint64_t *ids = malloc(c.n_nodes * sizeof *ids);
        memcpy(ids, r->nodes, c.n_nodes * sizeof *ids);
        c.nodes = ids;
    } else {
        c.nodes = NULL;
    }
    l->rec[l->n++] = c;
}

static inline void w_log_free(wlog_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free((void *)l->rec[i].nodes);
    free(l->rec);
    memset(l, 0, sizeof *l);
}

static inline void w_log_copy(wlog_t *dst, const wlog_t *src)
{
    memset(dst, 0, sizeof *dst);
    for (size_t i = 0; i < src->n; i++)
        w_log_append(dst, &src->rec[i]);
}

/* A crash loses the unforced tail. */
static inline void w_log_crash(wlog_t *l)
{
    size_t keep = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->rec[i].forced)
            keep = i + 1;
    for (size_t i = keep; i < l->n; i++)
        free((void *)l->rec[i].nodes);
    l->n = keep;
}

static inline void w_net_push(world_t *w, const ut_msg_t *m)
{
    if (w->n_net == w->cap_net) {
        w->cap_net = w->cap_net ? 2 * w->cap_net : 16;
        w->net = realloc(w->net, w->cap_net * sizeof *w->net);
    }
    wmsg_t *x = &w->net[w->n_net++];
    x->m = *m;
    size_t pl = (size_t)m->body.twopc.n_peers * 8u, dl = m->body.twopc.len;
    x->buf = NULL;
    if (pl + dl > 0) {
        x->buf = malloc(pl + dl);
        if (pl)
            memcpy(x->buf, m->body.twopc.peers, pl);
        if (dl)
            memcpy(x->buf + pl, m->body.twopc.data, dl);
        x->m.body.twopc.peers = pl ? x->buf : NULL;
        x->m.body.twopc.data = dl ? x->buf + pl : NULL;
    }
}

static inline void w_net_remove(world_t *w, size_t i)
{
    free(w->net[i].buf);
    memmove(&w->net[i], &w->net[i + 1], (w->n_net - i - 1) * sizeof *w->net);
    w->n_net--;
}

static inline void w_check(world_t *w, const char *inv)
{
    if (inv != NULL) {
        char why[sizeof w->orc.why + 48];
        snprintf(why, sizeof why, "%s: %s", inv, w->orc.why);
        w_fail(w, why);
    }
}

/* The oracle's checks (twopc_oracle.h) on what every node shows now; the
 * coordinator only when its output was persisted and sent (a decision
 * still in memory when it crashes was never made). */
static inline void w_observe_nodes(world_t *w, bool coordinator)
{
    bool in_doubt = false;
    for (int i = 0; i < w->np; i++) {
        ut_txn_state_t s;
        bool heur = false;
        if (ut_2pc_participant_state(w->p[i], W_TXID, &s) != UT_OK)
            continue;
        ut_2pc_participant_is_heuristic(w->p[i], W_TXID, &heur);
        in_doubt |= s == UT_TXN_PREPARED;
        w_check(w, tpc_oracle_participant(&w->orc, i, s, heur));
    }
    if (!coordinator)
        return;
    ut_txn_state_t cs = UT_TXN_INIT;
    bool have = ut_2pc_state(w->c, W_TXID, &cs) == UT_OK;
    ut_txn_state_t presumed =
        w->ccfg.presumption == UT_2PC_PRESUME_COMMIT ? UT_TXN_COMMITTED : UT_TXN_ABORTED;
    w_check(w, tpc_oracle_coordinator(&w->orc, have, cs, presumed, in_doubt));
}

static inline void w_observe(world_t *w)
{
    w_observe_nodes(w, true);
}

static inline void w_restart(world_t *w, int node);

/* Drain node's readies. crash: -2 none; -1 crash before persisting the
 * first non-trivial ready; k >= 0: persist it, send its first k messages,
 * crash. Returns 1 when the crash variant applied. */
static inline int w_drain(world_t *w, int node, int crash)
{
    int crashed = 0;
    for (int guard = 0; guard < 64; guard++) {
        ut_2pc_ready_t rd;
        int rc =
            node == 0 ? ut_2pc_ready(w->c, &rd) : ut_2pc_participant_ready(w->p[node - 1], &rd);
        if (rc != UT_OK) {
            w_fail(w, "ready failed");
            return crashed;
        }
        if (ut_2pc_ready_empty(&rd))
            break;
        bool real = rd.n_records > 0 || rd.n_msgs > 0;
        if (crash >= -1 && real && !crashed && (crash == -1 || (size_t)crash < rd.n_msgs)) {
            if (crash >= 0) {
                for (size_t i = 0; i < rd.n_records; i++)
                    w_log_append(&w->logs[node], &rd.records[i]);
                for (int i = 0; i < crash; i++)
                    w_net_push(w, &rd.msgs[i]);
            }
            w_restart(w, node);
            return 1;
        }
        for (size_t i = 0; i < rd.n_records; i++)
            w_log_append(&w->logs[node], &rd.records[i]);
        for (size_t i = 0; i < rd.n_msgs; i++)
            w_net_push(w, &rd.msgs[i]);
        uint64_t vote_tx[8];
        int n_vote = 0;
        for (size_t i = 0; i < rd.n_events; i++) {
            const ut_2pc_event_t *e = &rd.events[i];
            if (e->kind == UT_2PC_EVENT_PREPARE && n_vote < 8)
                vote_tx[n_vote++] = e->txid;
            if (e->kind == UT_2PC_EVENT_DONE)
                w_check(w, tpc_oracle_done(&w->orc, e->state));
            if (e->kind == UT_2PC_EVENT_HEURISTIC)
                w->heuristic_events++;
        }
        if (node == 0)
            ut_2pc_advance(w->c, &rd);
        else
            ut_2pc_participant_advance(w->p[node - 1], &rd);
        for (int i = 0; i < n_vote; i++)
            if (w->votes[node - 1] != UT_2PC_VOTE_NONE &&
                ut_2pc_participant_vote(w->p[node - 1], vote_tx[i], w->votes[node - 1]) == UT_OK)
                tpc_oracle_vote(&w->orc, node - 1, w->votes[node - 1]);
    }
    w_observe(w);
    return crashed;
}

static inline void w_restart(world_t *w, int node)
{
    w_log_crash(&w->logs[node]);
    w_observe_nodes(w, false);
    if (node == 0) {
        ut_2pc_free(w->c);
        ut_2pc_new(&w->c, &w->ccfg);
        if (ut_2pc_restore(w->c, w->logs[0].rec, w->logs[0].n) != UT_OK)
            w_fail(w, "coordinator restore failed");
        ut_2pc_tick(w->c, w->now);
    } else {
        ut_2pc_participant_free(w->p[node - 1]);
        w->pcfg.id = w_id(node - 1);
        ut_2pc_participant_new(&w->p[node - 1], &w->pcfg);
        if (ut_2pc_participant_restore(w->p[node - 1], w->logs[node].rec, w->logs[node].n) != UT_OK)
            w_fail(w, "participant restore failed");
        ut_2pc_participant_tick(w->p[node - 1], w->now);
    }
    w_drain(w, node, -2);
}

static inline void world_init(world_t *w, int np, ut_2pc_presumption_t pres, bool cooperative)
{
    memset(w, 0, sizeof *w);
    w->np = np;
    tpc_oracle_init(&w->orc, (1ull << np) - 1);
    ut_2pc_config_init(&w->ccfg, UT_2PC_CONFIG_VERSION);
    w->ccfg.id = W_COORD;
    w->ccfg.presumption = pres;
    ut_2pc_new(&w->c, &w->ccfg);
    ut_2pc_participant_config_init(&w->pcfg, UT_2PC_CONFIG_VERSION);
    w->pcfg.cooperative = cooperative;
    for (int i = 0; i < np; i++) {
        w->pcfg.id = w_id(i);
        ut_2pc_participant_new(&w->p[i], &w->pcfg);
        w->votes[i] = UT_2PC_VOTE_YES;
    }
}

static inline void world_free(world_t *w)
{
    ut_2pc_free(w->c);
    for (int i = 0; i < w->np; i++)
        ut_2pc_participant_free(w->p[i]);
    for (int i = 0; i <= w->np; i++)
        w_log_free(&w->logs[i]);
    while (w->n_net > 0)
        w_net_remove(w, w->n_net - 1);
    free(w->net);
}

static inline void world_clone(world_t *dst, const world_t *src)
{
    *dst = *src;
    ut__twopc_coord_clone(src->c, &dst->c);
    for (int i = 0; i < src->np; i++)
        ut__twopc_part_clone(src->p[i], &dst->p[i]);
    for (int i = 0; i <= src->np; i++)
        w_log_copy(&dst->logs[i], &src->logs[i]);
    dst->net = NULL;
    dst->n_net = dst->cap_net = 0;
    for (size_t i = 0; i < src->n_net; i++)
        w_net_push(dst, &src->net[i].m);
}

/* Begin the transaction at the coordinator (crash variant as w_drain). */
static inline int world_begin(world_t *w, int crash)
{
    uint64_t ids[W_MAXP];
    for (int i = 0; i < w->np; i++)
        ids[i] = w_id(i);
    if (ut_2pc_begin(w->c, W_TXID, ids, (size_t)w->np, "xfer", 4) != UT_OK)
        w_fail(w, "begin failed");
    return w_drain(w, 0, crash);
}

static inline int w_node_of(uint64_t id)
{
    return (int)id - 1; /* 1 -> 0 (coordinator), 2 -> 1 (participant 0) */
}

static inline int world_deliver(world_t *w, size_t i, int crash)
{
    ut_msg_t m = w->net[i].m;
    unsigned char *buf = w->net[i].buf;
    w->net[i].buf = NULL;
    w_net_remove(w, i);
    int node = w_node_of(m.to);
    if (node == 0)
        ut_2pc_step(w->c, &m);
    else
        ut_2pc_participant_step(w->p[node - 1], &m);
    free(buf);
    w->events++;
    return w_drain(w, node, crash);
}

static inline void world_duplicate(world_t *w, size_t i)
{
    ut_msg_t m = w->net[i].m;
    w_net_push(w, &m);
}

static inline int world_timeout(world_t *w, int node, int crash)
{
    w->now += 100000;
    if (node == 0)
        ut_2pc_tick(w->c, w->now);
    else
        ut_2pc_participant_tick(w->p[node - 1], w->now);
    w->events++;
    return w_drain(w, node, crash);
}

static inline void world_crash(world_t *w, int node)
{
    w_restart(w, node);
}

static inline long world_find(const world_t *w, ut_msg_type_t type, uint64_t to)
{
    for (size_t i = 0; i < w->n_net; i++)
        if (w->net[i].m.type == type && w->net[i].m.to == to)
            return (long)i;
    return -1;
}

/* Deliver everything in order, no faults. */
static inline void world_run(world_t *w)
{
    for (int guard = 0; guard < 10000 && w->n_net > 0; guard++)
        world_deliver(w, 0, -2);
}

/* Termination once faults stop: FIFO delivery and timeouts everywhere until
 * nothing is in flight, the coordinator has forgotten the transaction and
 * no participant is in doubt. Returns 1 when that is reached. */
static inline int world_settle(world_t *w)
{
    for (int round = 0; round < 40; round++) {
        world_run(w);
        bool open = ut_2pc_count(w->c) > 0;
        for (int i = 0; i < w->np; i++) {
            ut_txn_state_t s;
            if (ut_2pc_participant_state(w->p[i], W_TXID, &s) == UT_OK &&
                (s == UT_TXN_PREPARED || s == UT_TXN_INIT))
                open = true;
        }
        if (!open && w->n_net == 0)
            return 1;
        for (int n = 0; n <= w->np; n++)
            world_timeout(w, n, -2);
    }
    return 0;
}

#endif
