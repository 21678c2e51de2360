/* SPDX-License-Identifier: MIT */
/* The one checker of Raft's safety properties (Ongaro and Ousterhout, "In
 * Search of an Understandable Consensus Algorithm", 2014, Figure 3), used by
 * the in-process test cluster (tests/raft_cluster.c: test_consensus,
 * test_consensus_random and the Raft-backed lock and 2PC tests) and by
 * utsim's Raft scenario (tools/sim/scenarios/raft.c). A harness feeds it what
 * it sees after every event; it keeps what was committed, applied and stored
 * across all nodes and reports the first violation it finds:
 *
 *   election-safety       at most one leader per term, over the whole run
 *                         (§5.2)                      raft_check_leader
 *   leader-completeness   a new leader holds every entry committed so far
 *                         (§5.4)                      raft_check_leader
 *   log-matching          an (index, term) pair names one log prefix (§5.3)
 *                                                     raft_check_persisted
 *   state-machine-safety  no two nodes commit, or apply, different entries at
 *                         one index (§5.4.3)          raft_check_commit,
 *                                                     raft_check_applied
 *
 * Each call returns RAFT_CHECK_OK, RAFT_CHECK_VIOLATION (the invariant's name
 * in ck->invariant, its message in ck->detail: the words utsim prints) or
 * RAFT_CHECK_NOMEM (the checker could not grow; nothing was recorded).
 * Checks are counted into *ck->checks as utsim has always counted them: one
 * per raft_check_commit and raft_check_applied call, one per committed entry
 * a new leader is compared on; Log Matching's probes are not counted.
 *
 * Header-only (static inline) so that every executable that compiles
 * raft_cluster.c or utsim's scenarios has it without a build line of its
 * own. Memory comes from the C allocator, never the library's hook, so that a
 * test can fail the library's allocations and not the checker's. */
#ifndef UT_TEST_RAFT_CHECK_H
#define UT_TEST_RAFT_CHECK_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RAFT_CHECK_MAX_NODES 64u /* node ids 1..64 */

enum { RAFT_CHECK_NOMEM = -1, RAFT_CHECK_OK = 0, RAFT_CHECK_VIOLATION = 1 };

/* A node's log view: the term of its entry at index, false if it has none. */
typedef bool (*raft_check_term_fn)(const void *log, uint64_t index, uint64_t *term);

typedef struct raft_check_slot {
    uint64_t index, term, prefix; /* index 0 = empty slot */
} raft_check_slot_t;

typedef struct raft_check {
    uint64_t *checks;         /* counter the checks are added to, or NULL */
    uint64_t own_checks;      /* used when checks is NULL */
    uint64_t *leader_of_term; /* [term] = node id */
    size_t cap_terms;
    uint64_t *committed_term; /* [index] */
    uint64_t *applied_hash;   /* [index]: raft_check_hash of the entry, | 1 */
    size_t cap_commit;
    uint64_t max_commit;                               /* highest commit index any node reported */
    uint64_t checked_commit[RAFT_CHECK_MAX_NODES + 1]; /* per node, this life */
    raft_check_slot_t *tmap; /* Log Matching: (index, term) -> prefix hash */
    size_t cap_tmap, n_tmap;
    const char *invariant; /* of the last violation reported */
    char detail[320];
} raft_check_t;

/* checks: where to count (NULL: ck->own_checks, so that the struct may
 * be moved). */
static inline void raft_check_init(raft_check_t *ck, uint64_t *checks)
{
    memset(ck, 0, sizeof *ck);
    ck->checks = checks;
}

static inline void raft_check_count(raft_check_t *ck)
{
    if (ck->checks != NULL)
        (*ck->checks)++;
    else
        ck->own_checks++;
}

static inline void raft_check_free(raft_check_t *ck)
{
    free(ck->leader_of_term);
    free(ck->committed_term);
    free(ck->applied_hash);
    free(ck->tmap);
    ck->leader_of_term = ck->committed_term = ck->applied_hash = NULL;
    ck->tmap = NULL;
    ck->cap_terms = ck->cap_commit = ck->cap_tmap = ck->n_tmap = 0;
}

static inline int raft_check_fail(raft_check_t *ck, const char *invariant, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline int raft_check_fail(raft_check_t *ck, const char *invariant, const char *fmt, ...)
{
    ck->invariant = invariant;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ck->detail, sizeof ck->detail, fmt, ap);
    va_end(ap);
    return RAFT_CHECK_VIOLATION;
}

static inline uint64_t raft_check_mix(uint64_t h, uint64_t v)
{
    h ^= v;
    h *= 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 29);
}

/* Hash of an entry and, chained through seed (the previous entry's value),
 * of a log prefix: eight bytes at a time, since it runs for every stored and
 * applied entry. Only ever compared with itself, never printed. */
static inline uint64_t raft_check_hash(uint64_t seed, uint64_t term, uint64_t index, uint32_t type,
                                       const void *data, uint32_t len)
{
    uint64_t h = raft_check_mix(seed ^ 0xcbf29ce484222325ull, term);
    h = raft_check_mix(h, index);
    h = raft_check_mix(h, (uint64_t)type << 32 | len);
    const unsigned char *p = data;
    size_t n = data ? len : 0;
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = raft_check_mix(h, w);
    }
    if (n) {
        /* Equal to memcpy(&w, p, n) on a little-endian host, without a call
         * to memcpy for a variable length. */
        uint64_t w = 0;
        for (size_t k = 0; k < n; k++)
            w |= (uint64_t)p[k] << (8 * k);
        h = raft_check_mix(h, w ^ (uint64_t)n << 56);
    }
    return h;
}

static inline size_t raft_check_slot_of(uint64_t index, uint64_t term, size_t cap)
{
    uint64_t x = index * 0x9e3779b97f4a7c15ull ^ term * 0xc2b2ae3d27d4eb4full;
    return (size_t)((x ^ (x >> 29)) & (cap - 1));
}

/* Log Matching (§5.3): node id stored entry (index, term) whose log prefix
 * 1..index hashes to prefix (raft_check_hash chained from 0). */
static inline int raft_check_persisted(raft_check_t *ck, uint64_t id, uint64_t index, uint64_t term,
                                       uint64_t prefix)
{
    if ((ck->n_tmap + 1) * 2 > ck->cap_tmap) {
        size_t nc = ck->cap_tmap ? ck->cap_tmap * 2 : 4096;
        raft_check_slot_t *nt = calloc(nc, sizeof *nt);
        if (!nt)
            return RAFT_CHECK_NOMEM;
        for (size_t k = 0; k < ck->cap_tmap; k++) {
            if (!ck->tmap[k].index)
                continue;
            size_t j = raft_check_slot_of(ck->tmap[k].index, ck->tmap[k].term, nc);
            while (nt[j].index)
                j = (j + 1) & (nc - 1);
            nt[j] = ck->tmap[k];
        }
        free(ck->tmap);
        ck->tmap = nt;
        ck->cap_tmap = nc;
    }
    size_t j = raft_check_slot_of(index, term, ck->cap_tmap);
    while (ck->tmap[j].index) {
        if (ck->tmap[j].index == index && ck->tmap[j].term == term) {
            if (ck->tmap[j].prefix != prefix)
                return raft_check_fail(
                    ck, "log-matching",
                    "node %" PRIu64 " stored entry %" PRIu64 " of term %" PRIu64
                    " whose log prefix differs from another node's entry %" PRIu64 "/%" PRIu64,
                    id, index, term, index, term);
            return RAFT_CHECK_OK;
        }
        j = (j + 1) & (ck->cap_tmap - 1);
    }
    ck->tmap[j].index = index;
    ck->tmap[j].term = term;
    ck->tmap[j].prefix = prefix;
    ck->n_tmap++;
    return RAFT_CHECK_OK;
}

static inline int raft_check_commit_cap(raft_check_t *ck, uint64_t index)
{
    if (index < ck->cap_commit)
        return RAFT_CHECK_OK;
    size_t nc = ck->cap_commit ? ck->cap_commit : 1024;
    while (nc <= index)
        nc *= 2;
    uint64_t *a = realloc(ck->committed_term, nc * sizeof *a);
    if (!a)
        return RAFT_CHECK_NOMEM;
    ck->committed_term = a;
    uint64_t *b = realloc(ck->applied_hash, nc * sizeof *b);
    if (!b)
        return RAFT_CHECK_NOMEM;
    ck->applied_hash = b;
    memset(a + ck->cap_commit, 0, (nc - ck->cap_commit) * sizeof *a);
    memset(b + ck->cap_commit, 0, (nc - ck->cap_commit) * sizeof *b);
    ck->cap_commit = nc;
    return RAFT_CHECK_OK;
}

/* Node id starts a new life (created or restarted): its commit index is
 * compared from index 1 again at its next raft_check_commit. */
static inline void raft_check_restart(raft_check_t *ck, uint64_t id)
{
    if (id <= RAFT_CHECK_MAX_NODES)
        ck->checked_commit[id] = 0;
}

/* State Machine Safety (§5.4.3), on commitment: node id's commit index is
 * commit; the terms of its newly committed entries (read through its log
 * view) must be those any other node committed at the same indexes. */
static inline int raft_check_commit(raft_check_t *ck, uint64_t id, uint64_t commit,
                                    raft_check_term_fn term_of, const void *log)
{
    raft_check_count(ck);
    if (id > RAFT_CHECK_MAX_NODES)
        return RAFT_CHECK_NOMEM;
    if (commit <= ck->checked_commit[id])
        return RAFT_CHECK_OK;
    if (raft_check_commit_cap(ck, commit) != RAFT_CHECK_OK)
        return RAFT_CHECK_NOMEM;
    int rc = RAFT_CHECK_OK;
    for (uint64_t k = ck->checked_commit[id] + 1; k <= commit; k++) {
        uint64_t t = 0;
        if (!term_of(log, k, &t))
            break;
        if (ck->committed_term[k] && ck->committed_term[k] != t) {
            rc = raft_check_fail(ck, "state-machine-safety",
                                 "index %" PRIu64 " committed with term %" PRIu64
                                 " on node %" PRIu64 " but with term %" PRIu64 " elsewhere",
                                 k, t, id, ck->committed_term[k]);
            break;
        }
        ck->committed_term[k] = t;
    }
    ck->checked_commit[id] = commit;
    if (commit > ck->max_commit)
        ck->max_commit = commit;
    return rc;
}

/* Node id is leader of term (call it whenever a node is seen as leader).
 * Election Safety (§5.2): no other node led that term. The first time,
 * *elected is set and Leader Completeness (§5.4) is checked: the new leader
 * holds every entry committed so far, with its term. */
static inline int raft_check_leader(raft_check_t *ck, uint64_t id, uint64_t term,
                                    raft_check_term_fn term_of, const void *log, bool *elected)
{
    *elected = false;
    if (term >= ck->cap_terms) {
        size_t nc = ck->cap_terms ? ck->cap_terms : 8;
        while (nc < term + 1)
            nc *= 2;
        uint64_t *p = realloc(ck->leader_of_term, nc * sizeof *p);
        if (!p)
            return RAFT_CHECK_NOMEM;
        memset(p + ck->cap_terms, 0, (nc - ck->cap_terms) * sizeof *p);
        ck->leader_of_term = p;
        ck->cap_terms = nc;
    }
    uint64_t prev = ck->leader_of_term[term];
    if (prev && prev != id)
        return raft_check_fail(
            ck, "election-safety",
            "nodes %" PRIu64 " and %" PRIu64 " are both leaders of term %" PRIu64, prev, id, term);
    if (prev)
        return RAFT_CHECK_OK;
    ck->leader_of_term[term] = id;
    *elected = true;
    for (uint64_t k = 1; k <= ck->max_commit; k++) {
        uint64_t t = 0;
        raft_check_count(ck);
        if (!term_of(log, k, &t) || t != ck->committed_term[k])
            return raft_check_fail(ck, "leader-completeness",
                                   "node %" PRIu64 " became leader of term %" PRIu64
                                   " without committed entry %" PRIu64 " (term %" PRIu64 ")",
                                   id, term, k, ck->committed_term[k]);
    }
    return RAFT_CHECK_OK;
}

/* State Machine Safety (§5.4.3), on application: node id applied the entry
 * (index, term) whose raft_check_hash (seed 0) is hash; every node applies
 * the same entry at an index. */
static inline int raft_check_applied(raft_check_t *ck, uint64_t id, uint64_t index, uint64_t term,
                                     uint64_t hash)
{
    if (raft_check_commit_cap(ck, index) != RAFT_CHECK_OK)
        return RAFT_CHECK_NOMEM;
    uint64_t h = hash | 1;
    raft_check_count(ck);
    if (ck->applied_hash[index] && ck->applied_hash[index] != h)
        return raft_check_fail(ck, "state-machine-safety",
                               "node %" PRIu64 " applied a different entry at index %" PRIu64
                               " (term %" PRIu64 ") than another node",
                               id, index, term);
    ck->applied_hash[index] = h;
    return RAFT_CHECK_OK;
}

/* >>> rmemb: changing membership (Raft paper §6; thesis §4.1, §4.3).
 * Election Safety, Log Matching, Leader Completeness and State Machine
 * Safety do not depend on the configuration and are checked as above. What
 * does is the commit rule: an entry is committed once stored on a majority
 * of the voters of the configuration in effect at the leader, the latest in
 * its log (thesis §4.1), of each half of a joint one (thesis §4.3). The
 * harness reads that configuration from the leader's own log with the
 * decoder below, written from docs/wire-format.md ("Configuration
 * entries"), not with the library's: a core that counts the wrong
 * configuration (one that takes effect on commit, say) is caught. */
typedef struct raft_check_conf {
    uint64_t voters[RAFT_CHECK_MAX_NODES];
    size_t n_voters;
    uint64_t outgoing[RAFT_CHECK_MAX_NODES]; /* joint: C_old's voters */
    size_t n_outgoing;
    uint64_t observers[RAFT_CHECK_MAX_NODES];
    size_t n_observers;
    bool auto_leave;
} raft_check_conf_t;

/* A UT_ENTRY_CONFIG payload: u8 version (1), u8 flags (bit 0 auto_leave),
 * u16 n_voters, u16 n_outgoing, u16 n_observers, then that many u64 ids,
 * all little-endian. False if malformed. */
static inline bool raft_check_conf_decode(const void *data, size_t len, raft_check_conf_t *out)
{
    const unsigned char *p = data;
    if (p == NULL || len < 8 || p[0] != 1 || (p[1] & ~1u) != 0)
        return false;
    size_t n[3];
    for (int k = 0; k < 3; k++) {
        n[k] = (size_t)p[2 + 2 * k] | (size_t)p[3 + 2 * k] << 8;
        if (n[k] > RAFT_CHECK_MAX_NODES)
            return false;
    }
    if (len != 8 + 8 * (n[0] + n[1] + n[2]))
        return false;
    uint64_t *dst[3] = {out->voters, out->outgoing, out->observers};
    p += 8;
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < n[k]; i++, p += 8) {
            uint64_t v = 0;
            for (int b = 7; b >= 0; b--)
                v = v << 8 | p[b];
            dst[k][i] = v;
        }
    out->n_voters = n[0];
    out->n_outgoing = n[1];
    out->n_observers = n[2];
    out->auto_leave = (((const unsigned char *)data)[1] & 1u) != 0;
    return n[0] > 0;
}

static inline bool raft_check_conf_has(const uint64_t *ids, size_t n, uint64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

/* The same ids, in any order (each list without repeats). */
static inline bool raft_check_conf_same_set(const uint64_t *a, size_t na, const uint64_t *b,
                                            size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (!raft_check_conf_has(b, nb, a[i]))
            return false;
    return true;
}

/* Does node hold entry (index, term) durably? */
/* Committed configurations by index (thesis §5.1: what a snapshot up to an
 * index must record), tracked by a host from the configuration entries its
 * nodes apply, independently of the library: at[k] ascending, confs[k] the
 * configuration that entry at[k] set. Zero-initialise; free with
 * raft_check_confs_free. */
typedef struct raft_check_confs {
    uint64_t *at;
    raft_check_conf_t *confs;
    size_t n, cap;
} raft_check_confs_t;

/* The configuration committed as of index: the latest recorded at or below
 * it, or NULL (then the one the cluster started with). */
static inline const raft_check_conf_t *raft_check_confs_at(const raft_check_confs_t *t,
                                                           uint64_t index)
{
    size_t k = t->n;
    while (k > 0 && t->at[k - 1] > index)
        k--;
    return k > 0 ? &t->confs[k - 1] : NULL;
}

/* Record conf as set by the entry at index, once per index (another node
 * applying the same entry changes nothing: the applied check compares
 * them). 1: recorded; 0: already there; -1: out of memory (nothing
 * changed). */
static inline int raft_check_confs_note(raft_check_confs_t *t, uint64_t index,
                                        const raft_check_conf_t *conf)
{
    size_t k = t->n;
    while (k > 0 && t->at[k - 1] > index)
        k--;
    if (k > 0 && t->at[k - 1] == index)
        return 0;
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        uint64_t *at = (uint64_t *)realloc(t->at, cap * sizeof *at);
        if (at == NULL)
            return -1;
        t->at = at;
        raft_check_conf_t *cs = (raft_check_conf_t *)realloc(t->confs, cap * sizeof *cs);
        if (cs == NULL)
            return -1;
        t->confs = cs;
        t->cap = cap;
    }
    memmove(t->at + k + 1, t->at + k, (t->n - k) * sizeof *t->at);
    memmove(t->confs + k + 1, t->confs + k, (t->n - k) * sizeof *t->confs);
    t->at[k] = index;
    t->confs[k] = *conf;
    t->n++;
    return 1;
}

static inline void raft_check_confs_free(raft_check_confs_t *t)
{
    free(t->at);
    free(t->confs);
    memset(t, 0, sizeof *t);
}

typedef bool (*raft_check_stored_fn)(void *ud, uint64_t node, uint64_t index, uint64_t term);

/* Leader id reports entry (index, term) committed while conf is the
 * configuration in effect on it: a majority of conf's voters (and of its
 * outgoing voters when joint) must store it. */
static inline int raft_check_commit_quorum(raft_check_t *ck, uint64_t id, uint64_t index,
                                           uint64_t term, const raft_check_conf_t *conf,
                                           raft_check_stored_fn stored, void *ud)
{
    raft_check_count(ck);
    const uint64_t *sets[2] = {conf->voters, conf->outgoing};
    const size_t ns[2] = {conf->n_voters, conf->n_outgoing};
    for (int k = 0; k < 2; k++) {
        if (ns[k] == 0)
            continue;
        size_t have = 0;
        for (size_t i = 0; i < ns[k]; i++)
            have += stored(ud, sets[k][i], index, term);
        if (have < ns[k] / 2 + 1)
            return raft_check_fail(ck, "commit-quorum",
                                   "leader %" PRIu64 " committed index %" PRIu64 " (term %" PRIu64
                                   ") stored on %zu of the %zu %s voters of its configuration",
                                   id, index, term, have, ns[k],
                                   k == 0 ? "(incoming)" : "outgoing");
    }
    return RAFT_CHECK_OK;
}
/* <<< rmemb */

/* Queries, for harnesses and their statistics. */
static inline uint64_t raft_check_committed_term(const raft_check_t *ck, uint64_t index)
{
    return index < ck->cap_commit ? ck->committed_term[index] : 0;
}

static inline uint64_t raft_check_leader_of(const raft_check_t *ck, uint64_t term)
{
    return term < ck->cap_terms ? ck->leader_of_term[term] : 0;
}

static inline uint64_t raft_check_terms_led(const raft_check_t *ck)
{
    uint64_t n = 0;
    for (size_t t = 1; t < ck->cap_terms; t++)
        n += ck->leader_of_term[t] != 0;
    return n;
}

#endif
