/* SPDX-License-Identifier: MIT */
/* In-process Raft cluster harness; see raft_cluster.h. The harness uses the
 * C allocator directly (never the library's allocator hook) so that a test
 * can fail the library's allocations without failing the harness's. */
#include "raft_cluster.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- utilities --------------------------------------------------------- */

void rc_fail(rc_cluster_t *c, const char *fmt, ...)
{
    if (c->failed)
        return;
    c->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
}

uint64_t rc_rand(rc_cluster_t *c)
{
    /* splitmix64 */
    uint64_t z = (c->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t rc_hash(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static void *xgrow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    size_t nc = *cap ? *cap : 8;
    while (nc < need)
        nc *= 2;
    void *q = realloc(p, nc * elem);
    if (q == NULL) {
        fprintf(stderr, "raft_cluster: out of memory\n");
        abort();
    }
    memset((char *)q + *cap * elem, 0, (nc - *cap) * elem);
    *cap = nc;
    return q;
}

void rc_payload(uint8_t out[16], uint64_t term, uint64_t index)
{
    for (int i = 0; i < 8; i++) {
        out[i] = (uint8_t)(term >> (8 * i));
        out[8 + i] = (uint8_t)(index >> (8 * i));
    }
}

rc_node_t *rc_node(rc_cluster_t *c, uint64_t id)
{
    if (id == 0 || id > c->n)
        return NULL;
    return &c->node[id - 1];
}

ut_consensus_t *rc_h(rc_cluster_t *c, uint64_t id)
{
    rc_node_t *n = rc_node(c, id);
    return n != NULL && n->up ? n->h : NULL;
}

/* ---- messages ---------------------------------------------------------- */

static void msg_copy(rc_msg_t *dst, const ut_msg_t *src)
{
    dst->m = *src;
    dst->buf = NULL;
    /* >>> rsnap: a chunk points into the sender's snapshot */
    if (src->type == UT_MSG_SNAPSHOT) {
        if (src->body.snapshot.len > 0) {
            dst->buf = malloc(src->body.snapshot.len);
            if (dst->buf == NULL)
                abort();
            memcpy(dst->buf, src->body.snapshot.data, src->body.snapshot.len);
            dst->m.body.snapshot.data = dst->buf;
        }
        return;
    }
    /* <<< rsnap */
    /* >>> rread: a read's context points into the sender */
    if (src->type == UT_MSG_READ_INDEX || src->type == UT_MSG_READ_INDEX_RESP) {
        if (src->body.read_index.len > 0) {
            dst->buf = malloc(src->body.read_index.len);
            if (dst->buf == NULL)
                abort();
            memcpy(dst->buf, src->body.read_index.ctx, src->body.read_index.len);
            dst->m.body.read_index.ctx = dst->buf;
        }
        return;
    }
    /* <<< rread */
    if (src->type != UT_MSG_APPEND || src->body.append.n_entries == 0)
        return;
    size_t n = src->body.append.n_entries;
    size_t bytes = n * sizeof(ut_entry_t);
    for (size_t i = 0; i < n; i++)
        bytes += src->body.append.entries[i].len;
    uint8_t *buf = malloc(bytes);
    if (buf == NULL)
        abort();
    ut_entry_t *es = (ut_entry_t *)buf;
    uint8_t *pay = buf + n * sizeof(ut_entry_t);
    for (size_t i = 0; i < n; i++) {
        es[i] = src->body.append.entries[i];
        if (es[i].len > 0) {
            memcpy(pay, es[i].data, es[i].len);
            es[i].data = pay;
            pay += es[i].len;
        } else {
            es[i].data = NULL;
        }
    }
    dst->buf = buf;
    dst->m.body.append.entries = es;
}

static void net_push(rc_cluster_t *c, const ut_msg_t *m)
{
    c->net = xgrow(c->net, &c->cap_net, c->n_net + 1, sizeof *c->net);
    msg_copy(&c->net[c->n_net++], m);
}

static void net_remove(rc_cluster_t *c, size_t k, rc_msg_t *out)
{
    *out = c->net[k];
    memmove(&c->net[k], &c->net[k + 1], (c->n_net - k - 1) * sizeof *c->net);
    c->n_net--;
}

/* ---- safety bookkeeping ------------------------------------------------ */

/* >>> rsnap: a node's log view for the checker, one that knows the node's
 * compacted prefix (it replaced the view that asked the node only): a log view that knows the
 * node's compacted prefix: those entries are committed (a snapshot covers only applied ones), so
 * the checker takes the terms committed there; the state machine a snapshot carries is checked
 * entry by entry when it is installed (install_snap). */
typedef struct rc_view {
    rc_cluster_t *c;
    rc_node_t *n;
} rc_view_t;

static bool view_term(const void *v, uint64_t index, uint64_t *term)
{
    const rc_view_t *w = v;
    if (ut_consensus_entry_term(w->n->h, index, term) == UT_OK)
        return true;
    if (index > 0 && index < w->n->lib_off) {
        *term = raft_check_committed_term(&w->c->ck, index);
        return *term != 0;
    }
    return false;
}
/* <<< rsnap */

/* The checker's verdict: the first violation fails the cluster. */
static void checked(rc_cluster_t *c, int rc)
{
    if (rc == RAFT_CHECK_VIOLATION) {
        rc_fail(c, "%s: %s", c->ck.invariant, c->ck.detail);
    } else if (rc != RAFT_CHECK_OK) {
        fprintf(stderr, "raft_cluster: out of memory\n");
        abort();
    }
}

/* Election Safety and, for a new leader, Leader Completeness. */
static void note_leader(rc_cluster_t *c, rc_node_t *n)
{
    bool elected = false;
    /* >>> rsnap */
    rc_view_t v = {c, n};
    checked(c, raft_check_leader(&c->ck, n->id, ut_consensus_term(n->h), view_term, &v, &elected));
    /* <<< rsnap */
}

/* >>> rmemb: membership checks (raft_cluster.h) */
/* The configuration committed as of index (the latest configuration entry
 * at or below it that a node applied, else the one the cluster started
 * with): what a snapshot up to index holds. */
static void committed_conf(const rc_cluster_t *c, uint64_t index, raft_check_conf_t *conf)
{
    const raft_check_conf_t *at = raft_check_confs_at(&c->confs, index);
    if (at != NULL) {
        *conf = *at;
        return;
    }
    memset(conf, 0, sizeof *conf);
    memcpy(conf->voters, c->voters, c->n_voters * sizeof(uint64_t));
    conf->n_voters = c->n_voters;
    memcpy(conf->observers, c->observers, c->n_observers * sizeof(uint64_t));
    conf->n_observers = c->n_observers;
}

/* An applied entry: a configuration one is recorded (in index order). */
static void note_applied_conf(rc_cluster_t *c, const ut_entry_t *e)
{
    if (e->type != UT_ENTRY_CONFIG)
        return;
    raft_check_conf_t conf;
    if (!raft_check_conf_decode(e->data, e->len, &conf)) {
        rc_fail(c, "configuration entry %llu does not decode", (unsigned long long)e->index);
        return;
    }
    if (raft_check_confs_note(&c->confs, e->index, &conf) < 0)
        abort();
}

static bool stored_on_disk(void *ud, uint64_t node, uint64_t index, uint64_t term)
{
    rc_cluster_t *c = ud;
    rc_node_t *n = rc_node(c, node);
    if (n == NULL || index == 0)
        return false;
    if (index <= n->disk_off) /* in its snapshot: committed */
        return raft_check_committed_term(&c->ck, index) == term;
    const rc_entry_t *e = rc_disk_at(n, index);
    return e != NULL && e->term == term;
}

/* The configuration in effect on node n by its disk: its latest
 * configuration entry, else its snapshot's, else the one it was created
 * with. */
static void disk_config(rc_cluster_t *c, const rc_node_t *n, raft_check_conf_t *conf)
{
    memset(conf, 0, sizeof *conf);
    const rc_entry_t *e = n->disk_conf != 0 ? rc_disk_at(n, n->disk_conf) : NULL;
    if (e != NULL) {
        if (!raft_check_conf_decode(e->data, e->len, conf))
            rc_fail(c, "node %llu: configuration entry %llu does not decode",
                    (unsigned long long)n->id, (unsigned long long)e->index);
        return;
    }
    if (n->has_snap) {
        committed_conf(c, n->snap_index, conf);
        return;
    }
    memcpy(conf->voters, c->voters, c->n_voters * sizeof(uint64_t));
    conf->n_voters = c->n_voters;
}

static void check_membership(rc_cluster_t *c, rc_node_t *n, ut_consensus_state_t st,
                             uint64_t commit)
{
    ut_consensus_membership_t m;
    uint64_t mi = 0;
    if (ut_consensus_membership(n->h, &m, &mi) != UT_OK) {
        rc_fail(c, "node %llu: ut_consensus_membership failed", (unsigned long long)n->id);
        return;
    }
    bool voter = raft_check_conf_has(m.voters, m.n_voters, n->id) ||
                 raft_check_conf_has(m.voters_outgoing, m.n_voters_outgoing, n->id);
    if (voter)
        n->observer = false; /* from now on it may lead */
    if (voter && st == UT_CONSENSUS_OBSERVER)
        rc_fail(c, "node %llu: a voter of its configuration in state observer",
                (unsigned long long)n->id);
    /* (A node that an uncommitted change removes still campaigns, as a
     * leader it removes still leads: thesis §4.2.2.) */
    if (!voter && mi <= commit && (st == UT_CONSENSUS_FOLLOWER || st == UT_CONSENSUS_CANDIDATE))
        rc_fail(c, "node %llu: no voter of its configuration but in state %d",
                (unsigned long long)n->id, (int)st);
    if (!voter && st == UT_CONSENSUS_LEADER && mi <= commit)
        rc_fail(c, "node %llu: still leads after the configuration %llu that removed it committed",
                (unsigned long long)n->id, (unsigned long long)mi);
    if (st != UT_CONSENSUS_LEADER)
        return;
    /* Commit counting per configuration: each commit index a leader reaches
     * in its term must be on a majority of the configuration in effect. */
    uint64_t term = ut_consensus_term(n->h);
    if (n->lead_term != term) {
        n->lead_term = term;
        n->lead_commit = commit;
        return;
    }
    if (commit <= n->lead_commit || c->no_commit_quorum_check)
        return;
    n->lead_commit = commit;
    if (commit > n->disk_off + n->n_log) {
        rc_fail(c, "node %llu: leader commit %llu beyond its disk (%llu)",
                (unsigned long long)n->id, (unsigned long long)commit,
                (unsigned long long)(n->disk_off + n->n_log));
        return;
    }
    if (commit <= n->disk_off)
        return; /* in its snapshot: committed before this term */
    raft_check_conf_t conf;
    disk_config(c, n, &conf);
    checked(c, raft_check_commit_quorum(&c->ck, n->id, commit, rc_disk_at(n, commit)->term, &conf,
                                        stored_on_disk, c));
}
/* <<< rmemb */

static void check_node(rc_cluster_t *c, rc_node_t *n)
{
    if (!n->up)
        return;
    uint64_t term = ut_consensus_term(n->h);
    if (term < n->max_term)
        rc_fail(c, "node %llu: term went back from %llu to %llu", (unsigned long long)n->id,
                (unsigned long long)n->max_term, (unsigned long long)term);
    n->max_term = term;
    uint64_t commit = ut_consensus_commit_index(n->h);
    if (commit < n->life_commit)
        rc_fail(c, "node %llu: commit went back from %llu to %llu", (unsigned long long)n->id,
                (unsigned long long)n->life_commit, (unsigned long long)commit);
    n->life_commit = commit;
    if (commit > ut_consensus_last_index(n->h))
        rc_fail(c, "node %llu: commit %llu beyond last index %llu", (unsigned long long)n->id,
                (unsigned long long)commit, (unsigned long long)ut_consensus_last_index(n->h));
    /* >>> rsnap */
    rc_view_t v = {c, n};
    checked(c, raft_check_commit(&c->ck, n->id, commit, view_term, &v));
    /* <<< rsnap */
    ut_consensus_state_t st = ut_consensus_state(n->h);
    /* >>> rmemb: roles follow the node's configuration, which changes */
    check_membership(c, n, st, commit);
    /* <<< rmemb */
    if (st == UT_CONSENSUS_LEADER)
        note_leader(c, n);
}

/* ---- disk -------------------------------------------------------------- */

static void disk_truncate(rc_node_t *n, uint64_t from)
{
    while (n->n_log > 0 && n->disk_off + n->n_log >= from) { /* rsnap: disk_off */
        free(n->log[n->n_log - 1].data);
        n->n_log--;
    }
    /* >>> rmemb */
    if (n->disk_conf > n->disk_off + n->n_log) {
        n->disk_conf = 0;
        for (size_t i = n->n_log; i > 0 && n->disk_conf == 0; i--)
            if (n->log[i - 1].type == UT_ENTRY_CONFIG)
                n->disk_conf = n->log[i - 1].index;
    }
    /* <<< rmemb */
}

static void disk_append(rc_cluster_t *c, rc_node_t *n, const ut_entry_t *e)
{
    if (e->index != n->disk_off + n->n_log + 1) { /* rsnap: disk_off */
        rc_fail(c, "node %llu: persisted entry index %llu does not follow %llu",
                (unsigned long long)n->id, (unsigned long long)e->index,
                (unsigned long long)(n->disk_off + n->n_log));
        return;
    }
    if (n->n_log > 0 && e->term < n->log[n->n_log - 1].term)
        rc_fail(c, "node %llu: persisted entry %llu has term %llu below its predecessor's",
                (unsigned long long)n->id, (unsigned long long)e->index,
                (unsigned long long)e->term);
    n->log = xgrow(n->log, &n->cap_log, n->n_log + 1, sizeof *n->log);
    rc_entry_t *d = &n->log[n->n_log++];
    d->term = e->term;
    d->index = e->index;
    d->type = e->type;
    d->len = e->len;
    d->data = NULL;
    if (e->len > 0) {
        d->data = malloc(e->len);
        if (d->data == NULL)
            abort();
        memcpy(d->data, e->data, e->len);
    }
    if (d->type == UT_ENTRY_CONFIG) /* >>> rmemb <<< */
        n->disk_conf = d->index;
    uint64_t prev = n->n_log > 1 ? n->log[n->n_log - 2].prefix : 0;
    /* >>> rsnap: after a snapshot the prefix hash starts from it */
    if (n->n_log == 1 && n->disk_off > 0)
        prev = n->snap_prefix;
    /* <<< rsnap */
    d->prefix = raft_check_hash(prev, d->term, d->index, d->type, d->data, d->len);
    checked(c, raft_check_persisted(&c->ck, n->id, d->index, d->term, d->prefix));
}

/* >>> rsnap: snapshots on the disk and in the application */
const rc_entry_t *rc_disk_at(const rc_node_t *n, uint64_t index)
{
    if (index <= n->disk_off || index > n->disk_off + n->n_log)
        return NULL;
    return &n->log[index - n->disk_off - 1];
}

/* The prefix hash Log Matching knows for (index, term), or 0. */
static uint64_t known_prefix(const raft_check_t *ck, uint64_t index, uint64_t term)
{
    if (ck->cap_tmap == 0)
        return 0;
    size_t j = raft_check_slot_of(index, term, ck->cap_tmap);
    while (ck->tmap[j].index) {
        if (ck->tmap[j].index == index && ck->tmap[j].term == term)
            return ck->tmap[j].prefix;
        j = (j + 1) & (ck->cap_tmap - 1);
    }
    return 0;
}

/* The disk keeps a snapshot up to index: the entries it covers go. */
static void disk_snapshot(rc_node_t *n, uint64_t index, uint64_t term, uint64_t prefix,
                          const void *data, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (copy == NULL)
        abort();
    if (len > 0)
        memcpy(copy, data, len);
    free(n->snap_data);
    n->snap_data = copy;
    n->snap_len = len;
    n->has_snap = true;
    n->snap_index = index;
    n->snap_term = term;
    n->snap_prefix = prefix;
    size_t drop = 0;
    while (drop < n->n_log && n->log[drop].index <= index)
        free(n->log[drop++].data);
    if (drop > 0 && n->n_log > drop)
        memmove(n->log, n->log + drop, (n->n_log - drop) * sizeof *n->log);
    n->n_log -= drop;
    n->disk_off = index;
    if (n->n_log > 0 && n->log[0].index != index + 1) {
        /* The disk's entries do not follow the snapshot: they go too. */
        for (size_t i = 0; i < n->n_log; i++)
            free(n->log[i].data);
        n->n_log = 0;
    }
    if (n->disk_conf <= index || n->n_log == 0) /* >>> rmemb <<< */
        n->disk_conf = 0;
}

/* ready.snapshot: the application's state becomes the snapshot's (its
 * records checked against what every node applied), the disk keeps it. */
static void install_snap(rc_cluster_t *c, rc_node_t *n, const ut_consensus_snapshot_t *s)
{
    n->snaps_installed++;
    if (s->len != s->index * sizeof(rc_applied_t) || (s->len > 0 && s->data == NULL)) {
        rc_fail(c, "node %llu: snapshot at %llu carries %zu bytes, not %llu records",
                (unsigned long long)n->id, (unsigned long long)s->index, s->len,
                (unsigned long long)s->index);
        return;
    }
    /* >>> rmemb: thesis §5.1, the snapshot holds the configuration as of
     * its last entry */
    raft_check_conf_t want;
    committed_conf(c, s->index, &want);
    const ut_consensus_membership_t *m = &s->membership;
    if (!raft_check_conf_same_set(m->voters, m->n_voters, want.voters, want.n_voters) ||
        !raft_check_conf_same_set(m->voters_outgoing, m->n_voters_outgoing, want.outgoing,
                                  want.n_outgoing) ||
        !raft_check_conf_same_set(m->observers, m->n_observers, want.observers, want.n_observers))
        rc_fail(c, "node %llu: snapshot at %llu lost the configuration", (unsigned long long)n->id,
                (unsigned long long)s->index);
    /* <<< rmemb */
    const rc_applied_t *recs = s->data;
    for (uint64_t i = 0; i < s->index; i++) {
        const rc_applied_t *a = &recs[i];
        if (a->index != i + 1) {
            rc_fail(c, "node %llu: snapshot record %llu has index %llu", (unsigned long long)n->id,
                    (unsigned long long)(i + 1), (unsigned long long)a->index);
            return;
        }
        if (i < n->n_applied && (n->applied[i].term != a->term || n->applied[i].hash != a->hash))
            rc_fail(c, "node %llu: snapshot entry %llu differs from what it applied",
                    (unsigned long long)n->id, (unsigned long long)(i + 1));
        checked(c, raft_check_applied(&c->ck, n->id, a->index, a->term, a->ck_hash));
    }
    n->applied = xgrow(n->applied, &n->cap_applied, s->index + 1, sizeof *n->applied);
    if (s->index > 0)
        memcpy(n->applied, recs, s->index * sizeof *n->applied);
    if (n->n_applied < s->index)
        n->n_applied = s->index;
    /* State Machine Safety: what the application held beyond the snapshot
     * stays only if it is what the snapshot's history continues with; the
     * library hands out committed entries from index + 1. */
    n->apply_next = s->index + 1;
    n->lib_off = s->index;
    disk_snapshot(n, s->index, s->term, known_prefix(&c->ck, s->index, s->term), s->data, s->len);
}

int rc_compact(rc_cluster_t *c, uint64_t id)
{
    rc_node_t *n = rc_node(c, id);
    if (n == NULL || !n->up || n->apply_next == 0)
        return UT_EINVAL;
    uint64_t index = n->apply_next - 1;
    /* The checker records committed terms through the log view: let it see
     * the entries before they go. */
    check_node(c, n);
    const rc_entry_t *d = rc_disk_at(n, index);
    uint64_t prefix = d != NULL ? d->prefix : 0;
    uint64_t term = d != NULL ? d->term : 0;
    int rc = ut_consensus_compact(n->h, index, n->applied, (size_t)index * sizeof *n->applied);
    if (rc != UT_OK)
        return rc;
    if (d == NULL)
        rc_fail(c, "node %llu: compacted at %llu, an entry not on its disk", (unsigned long long)id,
                (unsigned long long)index);
    n->compactions++;
    n->lib_off = index;
    disk_snapshot(n, index, term, prefix, n->applied, (size_t)index * sizeof *n->applied);
    return UT_OK;
}
/* <<< rsnap */

static void persist(rc_cluster_t *c, rc_node_t *n, const ut_consensus_ready_t *rd)
{
    if (rd->hard_state_changed) {
        const ut_consensus_hard_state_t *hs = &rd->hard_state;
        if (n->has_hs && hs->term < n->hs.term)
            rc_fail(c, "node %llu: persisted term goes back from %llu to %llu",
                    (unsigned long long)n->id, (unsigned long long)n->hs.term,
                    (unsigned long long)hs->term);
        if (n->has_hs && hs->term == n->hs.term && n->hs.vote != 0 && hs->vote != n->hs.vote)
            rc_fail(c, "node %llu: persisted vote in term %llu changes from %llu to %llu",
                    (unsigned long long)n->id, (unsigned long long)hs->term,
                    (unsigned long long)n->hs.vote, (unsigned long long)hs->vote);
        n->hs = *hs;
        n->has_hs = true;
    }
    if (rd->truncate_from != 0) {
        n->truncations++;
        /* rsnap: disk indexes are disk_off + 1 .. disk_off + n_log */
        if (rd->truncate_from > n->disk_off + n->n_log + 1)
            rc_fail(c, "node %llu: truncate_from %llu beyond the log (%zu)",
                    (unsigned long long)n->id, (unsigned long long)rd->truncate_from, n->n_log);
        for (uint64_t i = rd->truncate_from > n->disk_off ? rd->truncate_from : n->disk_off + 1;
             i <= n->disk_off + n->n_log; i++) {
            if (raft_check_committed_term(&c->ck, i) == rc_disk_at(n, i)->term)
                rc_fail(c, "node %llu: truncates committed entry %llu (term %llu)",
                        (unsigned long long)n->id, (unsigned long long)i,
                        (unsigned long long)rc_disk_at(n, i)->term);
            if (i <= n->life_commit)
                rc_fail(c, "node %llu: truncates entry %llu at or below its commit %llu",
                        (unsigned long long)n->id, (unsigned long long)i,
                        (unsigned long long)n->life_commit);
        }
        disk_truncate(n, rd->truncate_from);
    }
    for (size_t i = 0; i < rd->n_entries; i++)
        disk_append(c, n, &rd->entries[i]);
    if (n->has_hs && n->hs.commit > n->disk_off + n->n_log) /* rsnap: disk_off */
        rc_fail(c, "node %llu: persisted commit %llu beyond persisted log %zu",
                (unsigned long long)n->id, (unsigned long long)n->hs.commit, n->n_log);
    if (n->n_log > 0 && n->has_hs && n->log[n->n_log - 1].term > n->hs.term)
        rc_fail(c, "node %llu: persisted entry term %llu above persisted term %llu",
                (unsigned long long)n->id, (unsigned long long)n->log[n->n_log - 1].term,
                (unsigned long long)n->hs.term);
}

static void send_msgs(rc_cluster_t *c, rc_node_t *n, const ut_consensus_ready_t *rd)
{
    for (size_t i = 0; i < rd->n_msgs; i++) {
        const ut_msg_t *m = &rd->msgs[i];
        if (m->from != n->id || m->to == 0 || m->to > c->n || m->to == n->id) {
            rc_fail(c, "node %llu sent a message from %llu to %llu", (unsigned long long)n->id,
                    (unsigned long long)m->from, (unsigned long long)m->to);
            continue;
        }
        /* >>> rmemb: a node that is no voter of its current configuration
         * (an observer, a removed node) never asks for or grants a vote;
         * only a leader (or one that just stepped down) sends entries. */
        ut_consensus_membership_t mm;
        uint64_t mmi = 0;
        (void)ut_consensus_membership(n->h, &mm, &mmi);
        bool nonvoter = !rc_is_voter(c, n->id, n->id) && mmi <= ut_consensus_commit_index(n->h);
        if ((nonvoter && (m->type == UT_MSG_VOTE || m->type == UT_MSG_PREVOTE)) ||
            ((m->type == UT_MSG_APPEND || m->type == UT_MSG_SNAPSHOT /* rsnap */) && n->observer))
            /* <<< rmemb */
            rc_fail(c, "observer %llu sent %s", (unsigned long long)n->id,
                    ut_msg_type_name(m->type));
        if (m->type == UT_MSG_VOTE_RESP && m->body.vote_resp.granted && !c->no_vote_check) {
            /* §5.2: one vote per term, even across a crash. */
            n->granted = xgrow(n->granted, &n->cap_granted, m->term + 1, sizeof *n->granted);
            uint64_t *g = &n->granted[m->term];
            if (*g != 0 && *g != m->to)
                rc_fail(c, "node %llu voted for %llu and %llu in term %llu",
                        (unsigned long long)n->id, (unsigned long long)*g,
                        (unsigned long long)m->to, (unsigned long long)m->term);
            *g = m->to;
        }
        c->sent++;
        if ((unsigned)m->type < 16)
            c->sent_type[m->type]++;
        if (c->on_send != NULL)
            c->on_send(c, m, c->on_send_ud);
        if (c->record) {
            c->hist = xgrow(c->hist, &c->cap_hist, c->n_hist + 1, sizeof *c->hist);
            msg_copy(&c->hist[c->n_hist++], m);
        }
        if (c->cut[m->from][m->to]) {
            c->dropped++;
            continue;
        }
        net_push(c, m);
    }
}

static void apply(rc_cluster_t *c, rc_node_t *n, const ut_consensus_ready_t *rd)
{
    for (size_t i = 0; i < rd->n_committed; i++) {
        const ut_entry_t *e = &rd->committed[i];
        rc_applied_t a = {e->index,
                          e->term,
                          e->type,
                          e->len,
                          rc_hash(e->data, e->len),
                          raft_check_hash(0, e->term, e->index, e->type, e->data, e->len)};
        if (n->apply_next == 0) {
            /* First apply after a restart: may replay from anywhere up to
             * what the application already has. */
            if (e->index == 0 || e->index > n->n_applied + 1) {
                rc_fail(c, "node %llu: first apply after restart is index %llu, applied %zu",
                        (unsigned long long)n->id, (unsigned long long)e->index, n->n_applied);
                return;
            }
        } else if (e->index != n->apply_next) {
            rc_fail(c, "node %llu: applied index %llu, expected %llu", (unsigned long long)n->id,
                    (unsigned long long)e->index, (unsigned long long)n->apply_next);
            return;
        }
        n->apply_next = e->index + 1;
        note_applied_conf(c, e); /* rmemb */
        if (e->index > ut_consensus_commit_index(n->h))
            rc_fail(c, "node %llu: applied %llu beyond its commit %llu", (unsigned long long)n->id,
                    (unsigned long long)e->index,
                    (unsigned long long)ut_consensus_commit_index(n->h));
        /* Committed entries must be durable here before they are applied. */
        const rc_entry_t *d = rc_disk_at(n, e->index); /* rsnap */
        if (d == NULL || d->term != e->term || d->len != e->len ||
            rc_hash(d->data, e->len) != a.hash)
            rc_fail(c, "node %llu: applies entry %llu (term %llu) that is not on its disk",
                    (unsigned long long)n->id, (unsigned long long)e->index,
                    (unsigned long long)e->term);
        if (e->index <= n->n_applied) {
            const rc_applied_t *old = &n->applied[e->index - 1];
            if (old->term != a.term || old->hash != a.hash)
                rc_fail(c, "node %llu: re-applied index %llu differs from the first apply",
                        (unsigned long long)n->id, (unsigned long long)e->index);
        } else if (e->index == n->n_applied + 1) {
            n->applied = xgrow(n->applied, &n->cap_applied, n->n_applied + 1, sizeof a);
            n->applied[n->n_applied++] = a;
        }
        checked(
            c, raft_check_applied(&c->ck, n->id, e->index, e->term,
                                  raft_check_hash(0, e->term, e->index, e->type, e->data, e->len)));
    }
}

void rc_handle_ready(rc_cluster_t *c, uint64_t id, const ut_consensus_ready_t *rd)
{
    rc_node_t *n = rc_node(c, id);
    /* >>> rsnap */
    if (rd->snapshot != NULL)
        install_snap(c, n, rd->snapshot);
    /* <<< rsnap */
    persist(c, n, rd);
    send_msgs(c, n, rd);
    apply(c, n, rd);
    /* >>> rread */
    if (c->on_read != NULL)
        for (size_t i = 0; i < rd->n_read_states; i++)
            c->on_read(c, id, &rd->read_states[i], c->on_read_ud);
    /* <<< rread */
    if (rd->state == UT_CONSENSUS_LEADER)
        note_leader(c, n);
}

void rc_process(rc_cluster_t *c, uint64_t id)
{
    rc_node_t *n = rc_node(c, id);
    if (n == NULL || !n->up)
        return;
    for (int guard = 0; !c->failed && ut_consensus_has_ready(n->h); guard++) {
        if (guard > 1000) {
            rc_fail(c, "node %llu: has_ready never becomes false", (unsigned long long)id);
            return;
        }
        ut_consensus_ready_t rd;
        int rc = ut_consensus_ready(n->h, &rd);
        if (rc != UT_OK) {
            if (rc != UT_ENOMEM)
                rc_fail(c, "node %llu: ready: %s", (unsigned long long)id, ut_err_name(rc));
            return;
        }
        bool empty = ut_consensus_ready_empty(&rd);
        rc_handle_ready(c, id, &rd);
        rc = ut_consensus_advance(n->h, &rd);
        if (rc != UT_OK && !empty)
            rc_fail(c, "node %llu: advance: %s", (unsigned long long)id, ut_err_name(rc));
        /* >>> rsnap */
        if (c->compact_every != 0 && n->apply_next > 0 &&
            n->apply_next - 1 >= n->lib_off + c->compact_every)
            (void)rc_compact(c, id);
        /* <<< rsnap */
        /* An empty ready (at most a role/leader change) ends the round even
         * if has_ready() still says yes, so that a core whose has_ready()
         * over-reports (as the UT__FAULT_FORGET_VOTE build once did) cannot
         * spin the harness. */
        /* >>> rstat */
        if (empty && c->strict_has_ready)
            rc_fail(c, "node %llu: has_ready() promised work, ready() was empty",
                    (unsigned long long)id);
        /* <<< rstat */
        if (empty)
            break;
    }
    check_node(c, n);
}

void rc_process_all(rc_cluster_t *c)
{
    for (uint64_t id = 1; id <= c->n; id++)
        rc_process(c, id);
}

/* ---- life cycle -------------------------------------------------------- */

static int node_new(rc_cluster_t *c, rc_node_t *n)
{
    ut_consensus_config_t cfg = c->cfg;
    cfg.id = n->id;
    cfg.voters = c->voters;
    cfg.n_voters = c->n_voters;
    cfg.observers = c->n_observers ? c->observers : NULL;
    cfg.n_observers = c->n_observers;
    /* >>> rmemb: a joined node starts as an observer of itself */
    uint64_t obs[RC_MAX_NODES + 1];
    if (n->joined) {
        memcpy(obs, c->observers, c->n_observers * sizeof obs[0]);
        obs[c->n_observers] = n->id;
        cfg.observers = obs;
        cfg.n_observers = c->n_observers + 1;
    }
    /* <<< rmemb */
    return ut_consensus_new(&n->h, &cfg);
}

int rc_init(rc_cluster_t *c, size_t n_voters, size_t n_observers, const ut_consensus_config_t *tmpl)
{
    memset(c, 0, sizeof *c);
    if (n_voters + n_observers > RC_MAX_NODES || n_voters == 0)
        return UT_EINVAL;
    if (tmpl != NULL) {
        c->cfg = *tmpl;
    } else {
        int rc = ut_consensus_config_init(&c->cfg, UT_CONSENSUS_CONFIG_VERSION);
        if (rc != UT_OK)
            return rc;
    }
    c->tick_ms = c->cfg.heartbeat_ms > 1 ? c->cfg.heartbeat_ms / 2 : 1;
    c->rng = c->cfg.seed ^ 0x5eed;
    c->n = n_voters + n_observers;
    c->n_voters = n_voters;
    c->n_observers = n_observers;
    raft_check_init(&c->ck, NULL);
    for (size_t i = 0; i < c->n; i++) {
        if (i < n_voters)
            c->voters[i] = i + 1;
        else
            c->observers[i - n_voters] = i + 1;
    }
    for (size_t i = 0; i < c->n; i++) {
        rc_node_t *n = &c->node[i];
        n->id = i + 1;
        n->observer = i >= n_voters;
        n->apply_next = 1;
        int rc = node_new(c, n);
        if (rc != UT_OK) {
            rc_destroy(c);
            return rc;
        }
        n->up = true;
    }
    return UT_OK;
}

void rc_destroy(rc_cluster_t *c)
{
    for (size_t i = 0; i < c->n; i++) {
        rc_node_t *n = &c->node[i];
        ut_consensus_free(n->h);
        disk_truncate(n, 1);
        free(n->log);
        free(n->applied);
        free(n->snap_data); /* rsnap */
        free(n->granted);
    }
    raft_check_confs_free(&c->confs); /* rmemb */
    for (size_t i = 0; i < c->n_net; i++)
        free(c->net[i].buf);
    for (size_t i = 0; i < c->n_hist; i++)
        free(c->hist[i].buf);
    free(c->net);
    free(c->hist);
    raft_check_free(&c->ck);
    c->n = 0;
    c->net = NULL;
    c->hist = NULL;
}

int rc_set_log(rc_cluster_t *c, uint64_t id, uint64_t term, uint64_t vote, uint64_t commit,
               const uint64_t *terms, size_t n)
{
    rc_node_t *nd = rc_node(c, id);
    ut_entry_t *es = calloc(n ? n : 1, sizeof *es);
    uint8_t *pay = calloc(n ? n : 1, 16);
    if (es == NULL || pay == NULL)
        abort();
    for (size_t i = 0; i < n; i++) {
        es[i].term = terms[i];
        es[i].index = i + 1;
        es[i].type = UT_ENTRY_NORMAL;
        es[i].len = 16;
        rc_payload(pay + 16 * i, terms[i], i + 1);
        es[i].data = pay + 16 * i;
    }
    ut_consensus_hard_state_t hs = {term, vote, commit};
    int rc = ut_consensus_restore(nd->h, &hs, es, n);
    if (rc == UT_OK) {
        disk_truncate(nd, 1);
        nd->hs = hs;
        nd->has_hs = true;
        for (size_t i = 0; i < n; i++)
            disk_append(c, nd, &es[i]);
        nd->max_term = term;
        /* The application has nothing yet; restore may re-emit from 1. */
        nd->apply_next = 0;
        raft_check_restart(&c->ck, id);
        check_node(c, nd);
    }
    free(es);
    free(pay);
    return rc;
}

void rc_crash(rc_cluster_t *c, uint64_t id)
{
    rc_node_t *n = rc_node(c, id);
    if (n == NULL || !n->up)
        return;
    ut_consensus_free(n->h);
    n->h = NULL;
    n->up = false;
}

int rc_restart(rc_cluster_t *c, uint64_t id)
{
    rc_node_t *n = rc_node(c, id);
    if (n == NULL || n->up)
        return UT_EINVAL;
    int rc = node_new(c, n);
    if (rc != UT_OK)
        return rc;
    if (n->has_hs || n->n_log > 0) {
        ut_entry_t *es = calloc(n->n_log ? n->n_log : 1, sizeof *es);
        if (es == NULL)
            abort();
        for (size_t i = 0; i < n->n_log; i++) {
            es[i].term = n->log[i].term;
            es[i].index = n->log[i].index;
            es[i].type = n->log[i].type;
            es[i].len = n->log[i].len;
            es[i].data = n->log[i].data;
        }
        ut_consensus_hard_state_t hs = n->has_hs ? n->hs : (ut_consensus_hard_state_t){0, 0, 0};
        /* >>> rsnap: a disk with a snapshot restores from it */
        if (n->has_snap) {
            ut_consensus_snapshot_t sn;
            memset(&sn, 0, sizeof sn);
            sn.index = n->snap_index;
            sn.term = n->snap_term;
            raft_check_conf_t sc; /* >>> rmemb: the configuration it holds <<< */
            committed_conf(c, n->snap_index, &sc);
            sn.membership.voters = sc.voters;
            sn.membership.n_voters = sc.n_voters;
            sn.membership.voters_outgoing = sc.n_outgoing ? sc.outgoing : NULL;
            sn.membership.n_voters_outgoing = sc.n_outgoing;
            sn.membership.observers = sc.n_observers ? sc.observers : NULL;
            sn.membership.n_observers = sc.n_observers;
            sn.membership.auto_leave = sc.auto_leave;
            sn.data = n->snap_data;
            sn.len = n->snap_len;
            rc = ut_consensus_restore_snapshot(n->h, &hs, &sn, es, n->n_log);
            n->lib_off = n->snap_index;
        } else
            /* <<< rsnap */
            rc = ut_consensus_restore(n->h, &hs, es, n->n_log);
        free(es);
        if (rc != UT_OK) {
            rc_fail(c, "node %llu: restore from its own disk failed: %s (%s)",
                    (unsigned long long)id, ut_err_name(rc), ut_consensus_errmsg(n->h));
            ut_consensus_free(n->h);
            n->h = NULL;
            return rc;
        }
    }
    n->up = true;
    n->restarts++;
    n->apply_next = 0;
    n->life_commit = 0;
    raft_check_restart(&c->ck, id);
    check_node(c, n);
    rc = ut_consensus_tick(n->h, c->now);
    rc_process(c, id);
    return rc;
}

/* ---- inputs ------------------------------------------------------------ */

int rc_tick(rc_cluster_t *c, uint64_t id)
{
    ut_consensus_t *h = rc_h(c, id);
    if (h == NULL)
        return UT_EINVAL;
    int rc = ut_consensus_tick(h, c->now);
    rc_process(c, id);
    return rc;
}

void rc_advance(rc_cluster_t *c, uint64_t dt)
{
    c->now += dt;
    for (uint64_t id = 1; id <= c->n; id++)
        if (c->node[id - 1].up)
            (void)rc_tick(c, id);
}

int rc_campaign(rc_cluster_t *c, uint64_t id)
{
    ut_consensus_t *h = rc_h(c, id);
    if (h == NULL)
        return UT_EINVAL;
    int rc = ut_consensus_campaign(h);
    rc_process(c, id);
    return rc;
}

int rc_propose(rc_cluster_t *c, uint64_t id, const void *data, size_t len, uint64_t *idx)
{
    ut_consensus_t *h = rc_h(c, id);
    if (h == NULL)
        return UT_EINVAL;
    int rc = ut_consensus_propose(h, data, len, idx);
    rc_process(c, id);
    return rc;
}

int rc_inject(rc_cluster_t *c, const ut_msg_t *m)
{
    ut_consensus_t *h = rc_h(c, m->to);
    if (h == NULL)
        return 1;
    int rc = ut_consensus_step(h, m);
    c->node[m->to - 1].last_step_rc = rc;
    rc_process(c, m->to);
    return rc;
}

/* ---- network ----------------------------------------------------------- */

int rc_deliver(rc_cluster_t *c, size_t k)
{
    if (k >= c->n_net)
        return 1;
    rc_msg_t m;
    net_remove(c, k, &m);
    int rc = 1;
    if (!c->cut[m.m.from][m.m.to] && rc_h(c, m.m.to) != NULL) {
        c->delivered++;
        rc = rc_inject(c, &m.m);
    } else {
        c->dropped++;
    }
    free(m.buf);
    return rc;
}

size_t rc_drain(rc_cluster_t *c, size_t max)
{
    size_t k = 0;
    while (c->n_net > 0 && k < max && !c->failed) {
        (void)rc_deliver(c, 0);
        k++;
    }
    return k;
}

size_t rc_deliver_if(rc_cluster_t *c, rc_pred_t pred, void *ud, size_t max)
{
    size_t k = 0;
    while (k < max && !c->failed) {
        size_t i = 0;
        while (i < c->n_net && !pred(&c->net[i].m, ud))
            i++;
        if (i == c->n_net)
            break;
        (void)rc_deliver(c, i);
        k++;
    }
    return k;
}

void rc_drop(rc_cluster_t *c, size_t k)
{
    if (k >= c->n_net)
        return;
    rc_msg_t m;
    net_remove(c, k, &m);
    free(m.buf);
    c->dropped++;
}

size_t rc_drop_if(rc_cluster_t *c, rc_pred_t pred, void *ud)
{
    size_t k = 0;
    for (size_t i = 0; i < c->n_net;) {
        if (pred(&c->net[i].m, ud)) {
            rc_drop(c, i);
            k++;
        } else {
            i++;
        }
    }
    return k;
}

void rc_duplicate(rc_cluster_t *c, size_t k)
{
    if (k >= c->n_net)
        return;
    /* The entries live in c->net[k].buf, which a realloc of c->net does not
     * move, so the copy can be taken after growing. */
    c->net = xgrow(c->net, &c->cap_net, c->n_net + 1, sizeof *c->net);
    ut_msg_t m = c->net[k].m;
    msg_copy(&c->net[c->n_net++], &m);
}

void rc_cut(rc_cluster_t *c, uint64_t a, uint64_t b, bool cut)
{
    c->cut[a][b] = cut;
    c->cut[b][a] = cut;
}

void rc_isolate(rc_cluster_t *c, uint64_t id)
{
    for (uint64_t o = 1; o <= c->n; o++)
        if (o != id)
            rc_cut(c, id, o, true);
}

void rc_partition(rc_cluster_t *c, const uint64_t *side, size_t n)
{
    bool in[RC_MAX_NODES + 1] = {false};
    for (size_t i = 0; i < n; i++)
        in[side[i]] = true;
    for (uint64_t a = 1; a <= c->n; a++)
        for (uint64_t b = 1; b <= c->n; b++)
            c->cut[a][b] = in[a] != in[b];
}

void rc_heal(rc_cluster_t *c)
{
    memset(c->cut, 0, sizeof c->cut);
}

void rc_run(rc_cluster_t *c, uint64_t ms)
{
    uint64_t end = c->now + ms;
    while (c->now < end && !c->failed) {
        uint64_t dt = c->tick_ms < end - c->now ? c->tick_ms : end - c->now;
        rc_advance(c, dt);
        rc_drain(c, 100000);
    }
}

bool rc_run_until(rc_cluster_t *c, bool (*pred)(rc_cluster_t *c, void *ud), void *ud,
                  uint64_t max_ms)
{
    uint64_t end = c->now + max_ms;
    while (!pred(c, ud)) {
        if (c->now >= end || c->failed)
            return false;
        rc_advance(c, c->tick_ms);
        rc_drain(c, 100000);
    }
    return true;
}

/* ---- queries ----------------------------------------------------------- */

uint64_t rc_leader(rc_cluster_t *c)
{
    uint64_t best = 0, best_term = 0;
    for (uint64_t id = 1; id <= c->n; id++) {
        ut_consensus_t *h = rc_h(c, id);
        if (h != NULL && ut_consensus_state(h) == UT_CONSENSUS_LEADER &&
            (best == 0 || ut_consensus_term(h) > best_term)) {
            best = id;
            best_term = ut_consensus_term(h);
        }
    }
    return best;
}

size_t rc_count_leaders(rc_cluster_t *c)
{
    size_t k = 0;
    for (uint64_t id = 1; id <= c->n; id++) {
        ut_consensus_t *h = rc_h(c, id);
        if (h != NULL && ut_consensus_state(h) == UT_CONSENSUS_LEADER)
            k++;
    }
    return k;
}

bool rc_has_leader(rc_cluster_t *c, void *ud)
{
    (void)ud;
    uint64_t l = rc_leader(c);
    if (l == 0)
        return false;
    /* Every up, connected voter follows it in its term. */
    uint64_t t = ut_consensus_term(rc_h(c, l));
    for (uint64_t id = 1; id <= c->n; id++) {
        ut_consensus_t *h = rc_h(c, id);
        if (h == NULL || c->cut[l][id])
            continue;
        if (!rc_is_member(c, l, id)) /* >>> rmemb: not in the leader's configuration <<< */
            continue;
        if (ut_consensus_term(h) != t || ut_consensus_leader(h) != l)
            return false;
    }
    return true;
}

bool rc_elect(rc_cluster_t *c, uint64_t id)
{
    if (rc_campaign(c, id) != UT_OK)
        return false;
    rc_drain(c, 100000);
    ut_consensus_t *h = rc_h(c, id);
    return h != NULL && ut_consensus_state(h) == UT_CONSENSUS_LEADER;
}

bool rc_all_applied(rc_cluster_t *c, size_t n)
{
    const rc_node_t *ref = NULL;
    for (size_t i = 0; i < c->n; i++) {
        const rc_node_t *nd = &c->node[i];
        if (!nd->up)
            continue;
        if (nd->n_applied != n)
            return false;
        if (ref == NULL) {
            ref = nd;
            continue;
        }
        for (size_t k = 0; k < n; k++)
            if (nd->applied[k].term != ref->applied[k].term ||
                nd->applied[k].hash != ref->applied[k].hash)
                return false;
    }
    return true;
}

size_t rc_applied_normal(rc_cluster_t *c, uint64_t id)
{
    rc_node_t *nd = rc_node(c, id);
    size_t k = 0;
    for (size_t i = 0; i < nd->n_applied; i++)
        if (nd->applied[i].type == UT_ENTRY_NORMAL)
            k++;
    return k;
}

/* >>> rmemb: membership changes */
int rc_add_node(rc_cluster_t *c, uint64_t *id)
{
    if (c->n >= RC_MAX_NODES)
        return UT_ERANGE;
    rc_node_t *n = &c->node[c->n];
    memset(n, 0, sizeof *n);
    n->id = c->n + 1;
    n->joined = true;
    n->observer = true;
    n->apply_next = 1;
    int rc = node_new(c, n);
    if (rc != UT_OK)
        return rc;
    c->n++;
    n->up = true;
    raft_check_restart(&c->ck, n->id);
    if (id != NULL)
        *id = n->id;
    rc = ut_consensus_tick(n->h, c->now);
    rc_process(c, n->id);
    return rc;
}

int rc_change(rc_cluster_t *c, uint64_t id, const ut_consensus_change_t *ch, size_t n,
              unsigned flags, uint64_t *index)
{
    ut_consensus_t *h = rc_h(c, id);
    if (h == NULL)
        return UT_EINVAL;
    int rc = ut_consensus_propose_change(h, ch, n, flags, index);
    rc_process(c, id);
    return rc;
}

int rc_change1(rc_cluster_t *c, uint64_t id, ut_consensus_change_type_t type, uint64_t who,
               uint64_t *index)
{
    ut_consensus_change_t ch = {type, who};
    return rc_change(c, id, &ch, 1, 0, index);
}

bool rc_is_voter(rc_cluster_t *c, uint64_t id, uint64_t who)
{
    ut_consensus_membership_t m;
    ut_consensus_t *h = rc_h(c, id);
    if (h == NULL || ut_consensus_membership(h, &m, NULL) != UT_OK)
        return false;
    return raft_check_conf_has(m.voters, m.n_voters, who) ||
           raft_check_conf_has(m.voters_outgoing, m.n_voters_outgoing, who);
}

bool rc_is_member(rc_cluster_t *c, uint64_t id, uint64_t who)
{
    ut_consensus_membership_t m;
    ut_consensus_t *h = rc_h(c, id);
    if (h == NULL || ut_consensus_membership(h, &m, NULL) != UT_OK)
        return false;
    return rc_is_voter(c, id, who) || raft_check_conf_has(m.observers, m.n_observers, who);
}
/* <<< rmemb */
