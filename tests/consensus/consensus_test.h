/* SPDX-License-Identifier: MIT */
/* Fixtures shared by the Raft core's test groups (tests/consensus/<group>.c, one
 * executable: test_consensus). Include after <cmocka.h>. Standalone nodes
 * (raw_new, raw_leader, raw_drain), the "unchanged" snapshot of a node
 * (take, ASSERT_UNCHANGED), message and entry makers, the in-process cluster
 * of raft_cluster.h with its safety checks (RC_OK asserts they held), and a
 * byte-counting allocator. */
#ifndef UT_TEST_CONSENSUS_TEST_H
#define UT_TEST_CONSENSUS_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "raft_cluster.h"
#include "test_alloc.h"

/* One cmocka group per feature; each returns the number of failed tests. */
int consensus_group_config(void);
int consensus_group_election(void);
int consensus_group_figures(void);
int consensus_group_replication(void);
int consensus_group_observers(void);
int consensus_group_restore(void);
int consensus_group_ready(void);
int consensus_group_errors(void);
int consensus_group_alloc(void);
/* >>> rsnap */
int consensus_group_snapshot(void);
/* <<< rsnap */
/* >>> rmemb */
int consensus_group_membership(void);
/* <<< rmemb */
/* >>> rsim */
int consensus_group_rsim(void);
/* <<< rsim */
/* >>> rstat */
int consensus_group_flow(void);
int consensus_group_status(void);
/* <<< rstat */
/* >>> rxfer */
int consensus_group_transfer(void);
/* <<< rxfer */
/* >>> rread */
int consensus_group_reads(void);
/* <<< rread */

#define RC_OK(c)                                                                                   \
    do {                                                                                           \
        if ((c)->failed)                                                                           \
            fail_msg("cluster invariant violated: %s", (c)->err);                                  \
    } while (0)

static const uint64_t V3[] = {1, 2, 3};

static inline ut_consensus_config_t cfg_base(void)
{
    ut_consensus_config_t cfg;
    assert_int_equal(ut_consensus_config_init(&cfg, UT_CONSENSUS_CONFIG_VERSION), UT_OK);
    cfg.seed = 42;
    return cfg;
}

static inline ut_consensus_config_t cfg3(uint64_t id)
{
    ut_consensus_config_t cfg = cfg_base();
    cfg.id = id;
    cfg.voters = V3;
    cfg.n_voters = 3;
    return cfg;
}

static inline ut_consensus_t *raw_new(uint64_t id)
{
    ut_consensus_config_t cfg = cfg3(id);
    ut_consensus_t *h = NULL;
    assert_int_equal(ut_consensus_new(&h, &cfg), UT_OK);
    assert_non_null(h);
    return h;
}

/* Drain a standalone node's readies; copy message headers (not entries). */
typedef struct raw_out {
    ut_msg_t msgs[64];
    size_t n_msgs;
    size_t n_committed;
    size_t n_entries;
} raw_out_t;

static inline void raw_drain(ut_consensus_t *h, raw_out_t *o)
{
    memset(o, 0, sizeof *o);
    for (int guard = 0; guard < 100 && ut_consensus_has_ready(h); guard++) {
        ut_consensus_ready_t rd;
        assert_int_equal(ut_consensus_ready(h, &rd), UT_OK);
        for (size_t i = 0; i < rd.n_msgs && o->n_msgs < 64; i++) {
            o->msgs[o->n_msgs] = rd.msgs[i];
            o->msgs[o->n_msgs].body.append.entries = NULL;
            o->n_msgs++;
        }
        o->n_committed += rd.n_committed;
        o->n_entries += rd.n_entries;
        (void)ut_consensus_advance(h, &rd);
    }
}

typedef struct snap {
    ut_consensus_state_t st;
    uint64_t term, vote, leader, commit, last;
    bool ready;
} snap_t;

static inline snap_t take(const ut_consensus_t *h)
{
    snap_t s = {ut_consensus_state(h),    ut_consensus_term(h),         ut_consensus_vote(h),
                ut_consensus_leader(h),   ut_consensus_commit_index(h), ut_consensus_last_index(h),
                ut_consensus_has_ready(h)};
    return s;
}

static inline void snap_check(const snap_t *a, const ut_consensus_t *h, int line)
{
    snap_t b = take(h);
    if (a->st != b.st || a->term != b.term || a->vote != b.vote || a->leader != b.leader ||
        a->commit != b.commit || a->last != b.last || a->ready != b.ready)
        fail_msg("line %d: node changed: state %d->%d term %llu->%llu vote %llu->%llu "
                 "leader %llu->%llu commit %llu->%llu last %llu->%llu ready %d->%d",
                 line, (int)a->st, (int)b.st, (unsigned long long)a->term,
                 (unsigned long long)b.term, (unsigned long long)a->vote,
                 (unsigned long long)b.vote, (unsigned long long)a->leader,
                 (unsigned long long)b.leader, (unsigned long long)a->commit,
                 (unsigned long long)b.commit, (unsigned long long)a->last,
                 (unsigned long long)b.last, (int)a->ready, (int)b.ready);
}

#define ASSERT_UNCHANGED(s, h) snap_check(&(s), (h), __LINE__)

static inline ut_msg_t mk_msg(ut_msg_type_t type, uint64_t from, uint64_t to, uint64_t term)
{
    ut_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.from = from;
    m.to = to;
    m.term = term;
    return m;
}

static inline ut_msg_t mk_vote(ut_msg_type_t type, uint64_t from, uint64_t to, uint64_t term,
                               uint64_t lli, uint64_t llt)
{
    ut_msg_t m = mk_msg(type, from, to, term);
    m.body.vote.last_log_index = lli;
    m.body.vote.last_log_term = llt;
    return m;
}

static inline ut_msg_t mk_append(uint64_t from, uint64_t to, uint64_t term, uint64_t pi,
                                 uint64_t pt, uint64_t commit, const ut_entry_t *es, size_t n)
{
    ut_msg_t m = mk_msg(UT_MSG_APPEND, from, to, term);
    m.body.append.prev_index = pi;
    m.body.append.prev_term = pt;
    m.body.append.commit = commit;
    m.body.append.entries = es;
    m.body.append.n_entries = n;
    return m;
}

/* Entries first..first+n-1 with terms[] and the rc_payload() payload, so that
 * they are the same entries rc_set_log() builds. */
static inline void mk_entries(ut_entry_t *es, uint8_t (*pay)[16], uint64_t first,
                              const uint64_t *terms, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        rc_payload(pay[i], terms[i], first + i);
        es[i].term = terms[i];
        es[i].index = first + i;
        es[i].type = UT_ENTRY_NORMAL;
        es[i].len = 16;
        es[i].data = pay[i];
    }
}

/* First in-flight message of a type from/to (0 = any). */
static inline const ut_msg_t *net_find(rc_cluster_t *c, ut_msg_type_t type, uint64_t from,
                                       uint64_t to)
{
    for (size_t i = 0; i < c->n_net; i++) {
        const ut_msg_t *m = &c->net[i].m;
        if (m->type == type && (from == 0 || m->from == from) && (to == 0 || m->to == to))
            return m;
    }
    return NULL;
}

static inline void cluster(rc_cluster_t *c, size_t voters, size_t observers,
                           const ut_consensus_config_t *cfg)
{
    assert_int_equal(rc_init(c, voters, observers, cfg), UT_OK);
}

/* Tick every node once at now (sets each node's time origin). */
static inline void start(rc_cluster_t *c)
{
    rc_advance(c, 0);
}

static inline uint64_t term_of(rc_cluster_t *c, uint64_t id)
{
    return ut_consensus_term(rc_h(c, id));
}

static inline ut_consensus_state_t state_of(rc_cluster_t *c, uint64_t id)
{
    return ut_consensus_state(rc_h(c, id));
}

static inline uint64_t commit_of(rc_cluster_t *c, uint64_t id)
{
    return ut_consensus_commit_index(rc_h(c, id));
}

static inline uint64_t last_of(rc_cluster_t *c, uint64_t id)
{
    return ut_consensus_last_index(rc_h(c, id));
}

static inline uint64_t eterm(rc_cluster_t *c, uint64_t id, uint64_t index)
{
    uint64_t t = 0;
    if (ut_consensus_entry_term(rc_h(c, id), index, &t) != UT_OK)
        return UINT64_MAX;
    return t;
}

static inline bool applied_payload(rc_cluster_t *c, uint64_t id, const void *p, size_t len)
{
    rc_node_t *n = rc_node(c, id);
    uint64_t h = rc_hash(p, len);
    for (size_t i = 0; i < n->n_applied; i++)
        if (n->applied[i].type == UT_ENTRY_NORMAL && n->applied[i].len == len &&
            n->applied[i].hash == h)
            return true;
    return false;
}

static inline bool any_msg(const ut_msg_t *m, void *ud)
{
    (void)m;
    (void)ud;
    return true;
}

static inline void elect_and_commit(rc_cluster_t *c, uint64_t leader, size_t n_props)
{
    start(c);
    assert_true(rc_elect(c, leader));
    for (size_t i = 0; i < n_props; i++) {
        char buf[32];
        int len = snprintf(buf, sizeof buf, "entry-%zu", i);
        assert_int_equal(rc_propose(c, leader, buf, (size_t)len, NULL), UT_OK);
        rc_drain(c, 10000);
    }
    rc_run(c, 3 * c->cfg.heartbeat_ms);
    RC_OK(c);
}

/* >>> rmend: setups and helpers the groups had repeated */
/* A cluster of `voters` voters and `observers` observers on cfg, node
 * `leader` elected and n_props entries committed (elect_and_commit). */
static inline void cluster_led(rc_cluster_t *c, size_t voters, size_t observers,
                               const ut_consensus_config_t *cfg, uint64_t leader, size_t n_props)
{
    cluster(c, voters, observers, cfg);
    elect_and_commit(c, leader, n_props);
}

/* cfg3(id) with one observer, node `observer` (4 to 9). */
static inline ut_consensus_config_t cfg3_observer(uint64_t id, uint64_t observer)
{
    static const uint64_t ids[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    assert_true(observer > 3 && observer <= sizeof ids / sizeof ids[0]);
    ut_consensus_config_t cfg = cfg3(id);
    cfg.observers = &ids[observer - 1];
    cfg.n_observers = 1;
    return cfg;
}

/* A standalone node on cfg (not ticked yet). */
static inline ut_consensus_t *raw_make(const ut_consensus_config_t *cfg)
{
    ut_consensus_t *h = NULL;
    assert_int_equal(ut_consensus_new(&h, cfg), UT_OK);
    assert_non_null(h);
    return h;
}

/* ut_consensus_status() into st, initialised first. */
static inline void get_status(const ut_consensus_t *h, ut_consensus_status_t *st)
{
    assert_int_equal(ut_consensus_status_init(st, UT_CONSENSUS_STATUS_VERSION), UT_OK);
    assert_int_equal(ut_consensus_status(h, st), UT_OK);
}

/* The entry of peer id in a status (fails the test if it has none). */
static inline const ut_consensus_peer_status_t *peer_of(const ut_consensus_status_t *st,
                                                        uint64_t id)
{
    for (size_t i = 0; i < st->n_peers; i++)
        if (st->peers[i].id == id)
            return &st->peers[i];
    fail_msg("no peer %llu in the status", (unsigned long long)id);
    return NULL;
}
/* <<< rmend */

static inline void expect_step(ut_consensus_t *h, const ut_msg_t *m, int code, int line)
{
    snap_t s = take(h);
    int rc = ut_consensus_step(h, m);
    if (rc != code)
        fail_msg("line %d: step returned %s, expected %s", line, ut_err_name(rc),
                 ut_err_name(code));
    snap_check(&s, h, line);
}

#define EXPECT_STEP(h, m, code) expect_step((h), &(m), (code), __LINE__)

#define STEP_OK(h, m) assert_int_equal(ut_consensus_step((h), &(m)), UT_OK)

/* A byte-counting allocator that also fills every new block with 0xA5, so
 * bytes the library never writes are visible (issue 8, items 4 and 7). */
typedef struct bytes_alloc {
    size_t live, peak;
    bool fail; /* refuse every allocation while set */
} bytes_alloc_t;

#define BA_HDR 16u

static inline void *ba_malloc(void *ctx, size_t n)
{
    bytes_alloc_t *b = ctx;
    if (b->fail)
        return NULL;
    unsigned char *p = malloc(BA_HDR + n);
    if (p == NULL)
        return NULL;
    memcpy(p, &n, sizeof n);
    memset(p + BA_HDR, 0xA5, n);
    b->live += n;
    if (b->live > b->peak)
        b->peak = b->live;
    return p + BA_HDR;
}

static inline void ba_free(void *ctx, void *q)
{
    bytes_alloc_t *b = ctx;
    if (q == NULL)
        return;
    unsigned char *p = (unsigned char *)q - BA_HDR;
    size_t n;
    memcpy(&n, p, sizeof n);
    b->live -= n;
    free(p);
}

static inline void *ba_realloc(void *ctx, void *q, size_t n)
{
    void *r = ba_malloc(ctx, n);
    if (r == NULL || q == NULL)
        return r;
    size_t old;
    memcpy(&old, (unsigned char *)q - BA_HDR, sizeof old);
    memcpy(r, q, old < n ? old : n);
    ba_free(ctx, q);
    return r;
}

static inline void ba_install(bytes_alloc_t *b)
{
    memset(b, 0, sizeof *b);
    ut_allocator_t a = {b, ba_malloc, ba_realloc, ba_free};
    assert_int_equal(ut_set_allocator(&a), UT_OK);
}

/* Node 1 of {1, 2, 3} made leader of term 1 by hand (pre-vote, then vote). */
static inline ut_consensus_t *raw_leader(const ut_consensus_config_t *cfg)
{
    ut_consensus_t *h = NULL;
    assert_int_equal(ut_consensus_new(&h, cfg), UT_OK);
    assert_int_equal(ut_consensus_tick(h, 0), UT_OK);
    assert_int_equal(ut_consensus_campaign(h), UT_OK);
    if (cfg->pre_vote) {
        ut_msg_t pv = mk_msg(UT_MSG_PREVOTE_RESP, 2, 1, 1);
        pv.body.vote_resp.granted = true;
        assert_int_equal(ut_consensus_step(h, &pv), UT_OK);
    }
    ut_msg_t v = mk_msg(UT_MSG_VOTE_RESP, 2, 1, 1);
    v.body.vote_resp.granted = true;
    assert_int_equal(ut_consensus_step(h, &v), UT_OK);
    assert_int_equal(ut_consensus_state(h), UT_CONSENSUS_LEADER);
    return h;
}

/* Frame overheads measured through the codec itself. */
static inline size_t append_frame(size_t n_entries, uint32_t len)
{
    static const char dummy;
    ut_entry_t es[2] = {{1, 1, UT_ENTRY_NORMAL, len, &dummy}, {1, 2, UT_ENTRY_NORMAL, 0, NULL}};
    ut_msg_t m = mk_append(1, 2, 1, 0, 0, 0, n_entries > 0 ? es : NULL, n_entries);
    size_t sz = 0;
    assert_int_equal(ut_msg_encoded_size(&m, &sz), UT_OK);
    return sz;
}

#endif
