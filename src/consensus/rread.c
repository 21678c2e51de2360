/* SPDX-License-Identifier: MIT */
/* Raft: linearizable reads: ReadIndex and leases (thesis §6.4, §6.4.1; the
 * idea of etcd-io/raft's read_only.go, written afresh).
 *
 * A leader serves a read at its commit index once it knows it was still the
 * leader at some moment after the read arrived (thesis §6.4 steps 1-3):
 *
 *   1. it has committed an entry of its own term (its no-op), so its commit
 *      index covers every entry committed before it led; a read that comes
 *      earlier waits, and takes the commit index once that entry commits;
 *   2. the read index is the commit index when the read arrived (or when
 *      step 1 completed);
 *   3. a quorum round: the read gets the leader's round number
 *      h->read_round, bumped for it (one bump serves every read that
 *      arrives while the round's heartbeats are still in the outbox). Every
 *      AppendEntries carries the round current when it was queued, and a
 *      follower echoes it in its response (append_resp.read_round). An echo
 *      of round r proves that the follower accepted this leader's term after
 *      the read arrived. Once the voters that echoed round >= r (the leader
 *      counting itself) form a quorum (both majorities in a joint
 *      configuration, thesis §4.3), no other leader can have committed
 *      anything the read index misses, and every read of round <= r is
 *      served.
 *
 * Lease mode (thesis §6.4.1) skips the round while the leader's lease
 * lasts: each heartbeat starts a round, and when a quorum has acknowledged
 * a round queued at time t, no voter of that quorum grants a vote (check-
 * quorum's lease, raft.c in_lease) nor times out before t +
 * election_timeout on its own clock, so no other leader exists before
 * t + election_timeout - max_clock_drift on ours.
 *
 * A follower (or observer) forwards a read to its leader (UT_MSG_READ_INDEX)
 * and hands out the leader's answer (UT_MSG_READ_INDEX_RESP); a node that
 * is not the leader answers a forwarded read with index 0 (refused: the
 * follower's caller retries after a timeout, as after any lost message).
 *
 * Memory: every context is copied into its own allocation, owned by the
 * queued read, then by the read state or the message that carries it until
 * the advance() of the ready that handed it out (consensus.h, the ready's
 * pointer validity). */
#include "consensus/raft.h"

/* One read the leader holds. */
struct ut__consensus_read {
    void *ctx;      /* own copy (NULL when len is 0) */
    uint32_t len;   /* bytes of ctx */
    uint64_t index; /* read index; 0: waits for the leader's first commit of its term */
    uint64_t round; /* quorum round it waits for */
    uint64_t from;  /* 0: this node's caller; else the follower that forwarded it */
};

/* One read a follower forwarded: its answer is matched against it, so a
 * duplicated or unexpected answer hands nothing out twice. */
struct ut__consensus_fwd {
    void *ctx; /* own copy (the message carries another) */
    uint32_t len;
    uint64_t term, at; /* forwarded in term, at time */
};

#define READS (&h->reads)
#define SENT_SLOTS (sizeof h->reads.sent / sizeof h->reads.sent[0])

/* ------------------------------------------------------------- helpers */

static void update_work(ut_consensus_t *h)
{
    uint8_t w = 0;
    if (READS->n != 0 || READS->n_live != 0 || READS->live_msgs != 0 || READS->round_queued)
        w |= UT__CONSENSUS_READS_READY;
    if (READS->n_out != 0 || READS->out_msgs != 0)
        w |= UT__CONSENSUS_READS_OUT;
    h->reads_work = w;
    /* Read states waiting to be handed out: work for ready(), for certain.
     * Within ready() (ut__consensus_reads_ready) the ones release() pushed
     * were moved into the ready being built first: n_live is 0 there, so
     * has_ready() promises no empty ready after it. */
    if (READS->n_live != 0)
        ut__consensus_pend(h, UT__CONSENSUS_PEND_MSGS);
}

/* A copy of ctx in its own allocation; *out NULL for len 0. */
static int copy_ctx(const void *ctx, size_t len, void **out)
{
    *out = NULL;
    if (len == 0)
        return UT_OK;
    void *p = ut__malloc(len);
    if (p == NULL)
        return UT_ENOMEM;
    memcpy(p, ctx, len);
    *out = p;
    return UT_OK;
}

/* Thesis §6.4 step 1: the leader committed an entry of its own term. */
static bool committed_in_term(const ut_consensus_t *h)
{
    return h->log.commit != 0 && ut__consensus_log_term(&h->log, h->log.commit) == h->term;
}

/* The highest round a quorum of voters has echoed (the leader counts
 * itself): consensus/quorum.h's commit rule over the rounds instead of the
 * match indexes. */
static uint64_t quorum_round(ut_consensus_t *h)
{
    h->prs[h->self].read_acked = h->read_round;
#ifdef UT__FAULT_READ_NO_QUORUM
    /* Test-only broken variant (tests/CMakeLists.txt): a read is released
     * without waiting for its quorum round, so a deposed leader serves
     * stale reads. test_consensus_random_read_no_quorum must catch it. */
    return h->read_round;
#else
    uint64_t v[UT__CONSENSUS_MAX_SLOTS];
    for (size_t i = 0; i < h->n_voters; i++)
        v[i] = h->prs[i].read_acked;
    if (UT__UNLIKELY(h->mb.joint))
        return ut__consensus_quorum_commit_joint(v + h->mb.inc_lo, h->n_voters - h->mb.inc_lo, v,
                                                 h->mb.n_out, 0);
    return ut__consensus_quorum_commit(v, h->n_voters, 0);
#endif
}

/* The lease (thesis §6.4.1): a quorum acknowledged a round queued less than
 * election_timeout - max_clock_drift ago. */
static bool lease_valid(const ut_consensus_t *h)
{
    return READS->lease &&
           h->now - READS->lease_start < h->cfg.election_timeout_ms - h->cfg.max_clock_drift_ms;
}

/* Room to hand out `local` read states and queue `msgs` messages. */
static int reserve_out(ut_consensus_t *h, size_t local, size_t msgs)
{
    int rc = ut__grow((void **)&READS->live, &READS->cap_live, READS->n_live + local,
                      sizeof READS->live[0]);
    if (rc == UT_OK)
        rc = ut__consensus_msgbuf_reserve(h->live, msgs, 0);
    return rc;
}

/* A read state to hand out (room reserved); takes ctx. */
static void push_state(ut_consensus_t *h, uint64_t index, void *ctx, uint32_t len)
{
    ut_consensus_read_state_t *s = &READS->live[READS->n_live++];
    s->index = index;
    s->ctx = ctx;
    s->len = len;
    /* No pend here: update_work() pends at the end of each entry point;
     * one pushed from within ready() goes out in the ready being built. */
}

/* READ_INDEX_RESP to `to` (one message reserved); takes ctx. */
static void push_resp(ut_consensus_t *h, uint64_t to, uint64_t index, void *ctx, uint32_t len)
{
    ut_msg_t *m = ut__consensus_push_msg(h, UT_MSG_READ_INDEX_RESP, to, h->term);
    m->body.read_index.index = index;
    m->body.read_index.ctx = ctx;
    m->body.read_index.len = len;
    if (ctx != NULL)
        READS->live_msgs++;
}

/* A read that is confirmed: to its caller or back to its follower (room
 * reserved). */
static void answer(ut_consensus_t *h, uint64_t from, uint64_t index, void *ctx, uint32_t len)
{
    if (from == 0)
        push_state(h, index, ctx, len);
    else
        push_resp(h, from, index, ctx, len);
}

/* Leader: reads waiting for the first commit of the term take the commit
 * index (step 1-2), then every read of round <= the quorum round is served,
 * in request order. Room for every queued read reserved. */
static void release(ut_consensus_t *h)
{
    if (READS->n == 0)
        return;
    if (committed_in_term(h))
        for (size_t i = 0; i < READS->n && READS->q[i].index == 0; i++)
            READS->q[i].index = h->log.commit;
    uint64_t q = quorum_round(h);
    size_t k = 0;
    while (k < READS->n && READS->q[k].round <= q && READS->q[k].index != 0) {
        struct ut__consensus_read *r = &READS->q[k++];
        answer(h, r->from, r->index, r->ctx, r->len);
    }
    if (k == 0)
        return;
    memmove(READS->q, READS->q + k, (READS->n - k) * sizeof READS->q[0]);
    READS->n -= k;
}

static int reserve_release(ut_consensus_t *h)
{
    return reserve_out(h, READS->n, READS->n);
}

/* Leader: a new round; the heartbeats that carry it follow (the caller's,
 * or send_round's). */
static void bump_round(ut_consensus_t *h)
{
    h->read_round++;
    h->prs[h->self].read_acked = h->read_round;
    READS->sent[h->read_round % SENT_SLOTS].round = h->read_round;
    READS->sent[h->read_round % SENT_SLOTS].at = h->now;
    READS->round_queued = true;
}

/* Leader: a round for a read, unless the current round's heartbeats are
 * still in the outbox (not handed out: they leave after this read arrived,
 * so an echo of them confirms it too). Room for n_voters messages reserved. */
static void send_round(ut_consensus_t *h)
{
    if (READS->round_queued)
        return;
    bump_round(h);
    for (size_t i = 0; i < h->n_voters; i++)
        if (i != h->self)
            ut__consensus_send_heartbeat(h, i);
}

/* ------------------------------------------------------------- leader */

/* A read at the leader, from its caller (from 0) or forwarded by follower
 * `from`. UT_EBUSY when the queue is full; nothing changes on an error. */
static int leader_read(ut_consensus_t *h, const void *ctx, size_t len, uint64_t from)
{
    if (READS->n + READS->n_live >= UT_CONSENSUS_MAX_PENDING_READS)
        return UT_EBUSY;
    bool committed = committed_in_term(h);
    void *copy;
    int rc;
    /* Thesis §6.4.1: within the lease, no round. */
    /* No lease while a transfer is under way: its target may be elected
     * inside this leader's lease (rxfer). */
    if (h->cfg.read_mode == UT_CONSENSUS_READ_LEASE && committed && lease_valid(h) &&
        h->xfer_target == 0) {
        rc = reserve_out(h, from == 0, from != 0);
        if (rc == UT_OK)
            rc = copy_ctx(ctx, len, &copy);
        if (rc != UT_OK)
            return rc;
        answer(h, from, h->log.commit, copy, (uint32_t)len);
        update_work(h);
        return UT_OK;
    }
    rc = ut__grow((void **)&READS->q, &READS->cap, READS->n + 1, sizeof READS->q[0]);
    if (rc == UT_OK)
        rc = reserve_out(h, READS->n + 1, READS->n + 1 + h->n_voters);
    if (rc == UT_OK)
        rc = copy_ctx(ctx, len, &copy);
    if (rc != UT_OK)
        return rc;
    send_round(h);
    struct ut__consensus_read *r = &READS->q[READS->n++];
    r->ctx = copy;
    r->len = (uint32_t)len;
    r->index = committed ? h->log.commit : 0;
    r->round = h->read_round;
    r->from = from;
    release(h); /* a single voter is its own quorum */
    update_work(h);
    return UT_OK;
}

int ut__consensus_reads_acked(ut_consensus_t *h, size_t slot, uint64_t round)
{
    if (round > h->read_round) {
        /* Never sent: a corrupt echo confirms nothing. */
        UT__CONSENSUS_TRACE(h, UT_TRACE_WARN, "read-round-ignored", "echo of a round never sent",
                            round, h->ids[slot]);
        return UT_OK;
    }
    int rc = reserve_release(h);
    if (rc != UT_OK)
        return rc;
    h->prs[slot].read_acked = round;
    uint64_t q = quorum_round(h);
    /* The lease starts when the latest round a quorum acknowledged was
     * queued (the newest recorded round at or below q: no later). */
    uint64_t best = 0, at = 0;
    for (size_t i = 0; i < SENT_SLOTS; i++) {
        uint64_t r = READS->sent[i].round;
        if (r != 0 && r <= q && r > best) {
            best = r;
            at = READS->sent[i].at;
        }
    }
    if (best != 0 && (!READS->lease || at > READS->lease_start)) {
        READS->lease = true;
        READS->lease_start = at;
    }
    release(h);
    update_work(h);
    return UT_OK;
}

void ut__consensus_reads_lease_round(ut_consensus_t *h)
{
    bump_round(h); /* tick_leader's heartbeats carry it */
    update_work(h);
}

void ut__consensus_reads_lease_end(ut_consensus_t *h)
{
    READS->lease = false;
}

void ut__consensus_reads_drop(ut_consensus_t *h, const char *why)
{
    READS->lease = false;
    if (READS->n == 0)
        return;
    /* Leadership lost: no read of this term can be confirmed any more; the
     * callers retry (consensus.h). */
    UT__CONSENSUS_TRACE(h, UT_TRACE_WARN, "reads-dropped", why, READS->n, h->term);
    for (size_t i = 0; i < READS->n; i++)
        ut__free(READS->q[i].ctx);
    READS->n = 0;
    update_work(h);
}

size_t ut__consensus_pending_reads(const ut_consensus_t *h)
{
    return ut__consensus_valid(h) ? h->reads.n + h->reads.n_fwd : 0;
}

/* Follower: forwarded reads of an earlier term, or older than the longest
 * election timeout, are lost (their message or their leader was): dropped,
 * the caller retries (consensus.h). */
static void purge_fwd(ut_consensus_t *h)
{
    size_t k = 0;
    for (size_t i = 0; i < READS->n_fwd; i++) {
        struct ut__consensus_fwd *f = &READS->fwd[i];
        if (f->term != h->term || h->now - f->at >= 2 * h->cfg.election_timeout_ms)
            ut__free(f->ctx);
        else
            READS->fwd[k++] = *f;
    }
    READS->n_fwd = k;
}

/* ------------------------------------------------------- ready/advance */

void ut__consensus_reads_ready(ut_consensus_t *h, ut_consensus_ready_t *rd)
{
    /* The live outbox was just handed out: its messages are now the
     * ready's, and the round's heartbeats are on their way. */
    READS->out_msgs = READS->live_msgs;
    READS->live_msgs = 0;
    READS->round_queued = false;
    /* Reads whose first commit came (thesis §6.4 step 1) and are
     * confirmed: local ones go out in this ready, forwarded ones in the
     * next (on UT_ENOMEM they wait for a later ready). The read states
     * pend nothing (they are this ready's: has_ready() must not promise an
     * empty ready after it); the answers to followers are messages, which
     * pend (work for the next ready). */
    if (h->role == UT_CONSENSUS_LEADER && READS->n != 0 && reserve_release(h) == UT_OK)
        release(h);
    ut_consensus_read_state_t *t = READS->out;
    size_t cap = READS->cap_out;
    READS->out = READS->live;
    READS->cap_out = READS->cap_live;
    READS->n_out = READS->n_live;
    READS->live = t;
    READS->cap_live = cap;
    READS->n_live = 0;
    rd->read_states = READS->n_out != 0 ? READS->out : NULL;
    rd->n_read_states = READS->n_out;
    update_work(h);
}

static void free_msg_ctx(ut__consensus_msgbuf_t *b)
{
    for (size_t i = 0; i < b->n; i++) {
        ut_msg_t *m = &b->msgs[i];
        if (m->type == UT_MSG_READ_INDEX || m->type == UT_MSG_READ_INDEX_RESP) {
            ut__free((void *)(uintptr_t)m->body.read_index.ctx);
            m->body.read_index.ctx = NULL;
        }
    }
}

void ut__consensus_reads_advance(ut_consensus_t *h)
{
    for (size_t i = 0; i < READS->n_out; i++)
        ut__free((void *)(uintptr_t)READS->out[i].ctx);
    READS->n_out = 0;
    if (READS->out_msgs != 0)
        free_msg_ctx(h->out);
    READS->out_msgs = 0;
    update_work(h);
}

void ut__consensus_reads_free(ut_consensus_t *h)
{
    for (size_t i = 0; i < READS->n; i++)
        ut__free(READS->q[i].ctx);
    for (size_t i = 0; i < READS->n_live; i++)
        ut__free((void *)(uintptr_t)READS->live[i].ctx);
    for (size_t i = 0; i < READS->n_out; i++)
        ut__free((void *)(uintptr_t)READS->out[i].ctx);
    if (READS->live_msgs != 0)
        free_msg_ctx(h->live);
    if (READS->out_msgs != 0)
        free_msg_ctx(h->out);
    for (size_t i = 0; i < READS->n_fwd; i++)
        ut__free(READS->fwd[i].ctx);
    ut__free(READS->fwd);
    ut__free(READS->q);
    ut__free(READS->live);
    ut__free(READS->out);
    memset(READS, 0, sizeof *READS);
}

/* ------------------------------------------------------------- config */

int ut__consensus_reads_validate(const ut_consensus_config_t *c)
{
    if (c->read_mode != UT_CONSENSUS_READ_SAFE && c->read_mode != UT_CONSENSUS_READ_LEASE)
        return UT_EINVAL;
    /* Thesis §6.4.1: the lease rests on check-quorum's (followers ignore
     * vote requests while their leader is alive) and on the clocks drifting
     * less than one election timeout. */
    if (c->read_mode == UT_CONSENSUS_READ_LEASE && !c->check_quorum)
        return UT_EINVAL;
    if (c->max_clock_drift_ms >= c->election_timeout_ms)
        return UT_EINVAL;
    return UT_OK;
}

/* --------------------------------------------------------------- public */

int ut_consensus_read_index(ut_consensus_t *h, const void *ctx, size_t len)
{
    if (!ut__consensus_valid(h))
        return UT_EINVAL;
    if (ctx == NULL && len > 0)
        return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "read-refused", "NULL context", len, 0,
                                    "read_index: NULL ctx with len %zu", len);
    if (len > UT_CONSENSUS_MAX_READ_CTX)
        return UT__CONSENSUS_REFUSE(h, UT_ERANGE, "read-refused", "context too large", len, 0,
                                    "read_index: %zu context bytes, at most %u", len,
                                    (unsigned)UT_CONSENSUS_MAX_READ_CTX);
    int rc;
    if (h->role == UT_CONSENSUS_LEADER) {
        rc = leader_read(h, ctx, len, 0);
    } else if (h->role == UT_CONSENSUS_CANDIDATE || h->leader == 0) {
        return UT__CONSENSUS_REFUSE(h, UT_ENOTLEADER, "read-refused", "no leader known", h->role, 0,
                                    "read_index: no leader known");
    } else if ((purge_fwd(h), READS->n_fwd + READS->n_live >= UT_CONSENSUS_MAX_PENDING_READS)) {
        rc = UT_EBUSY;
    } else {
        /* Thesis §6.4: a follower (or observer) asks its leader. */
        void *copy = NULL, *keep = NULL;
        rc = ut__consensus_msgbuf_reserve(h->live, 1, 0);
        if (rc == UT_OK)
            rc = ut__grow((void **)&READS->fwd, &READS->cap_fwd, READS->n_fwd + 1,
                          sizeof READS->fwd[0]);
        if (rc == UT_OK)
            rc = copy_ctx(ctx, len, &keep);
        if (rc == UT_OK) {
            rc = copy_ctx(ctx, len, &copy);
            if (rc != UT_OK)
                ut__free(keep);
        }
        if (rc == UT_OK) {
            struct ut__consensus_fwd *f = &READS->fwd[READS->n_fwd++];
            f->ctx = keep;
            f->len = (uint32_t)len;
            f->term = h->term;
            f->at = h->now;
            ut_msg_t *m = ut__consensus_push_msg(h, UT_MSG_READ_INDEX, h->leader, h->term);
            m->body.read_index.index = 0;
            m->body.read_index.ctx = copy;
            m->body.read_index.len = (uint32_t)len;
            if (copy != NULL)
                READS->live_msgs++;
            update_work(h);
        }
    }
    if (rc == UT_EBUSY)
        return UT__CONSENSUS_REFUSE(
            h, UT_EBUSY, "read-refused", "too many pending reads", READS->n + READS->n_live, 0,
            "read_index: %u reads are unanswered", (unsigned)UT_CONSENSUS_MAX_PENDING_READS);
    if (rc == UT_OK)
        h->took_input = true;
    return ut__consensus_oom(h, rc, "read_index");
}

/* ------------------------------------------------------------- network */

/* A forwarded read, m->term == h->term. */
static int handle_read(ut_consensus_t *h, const ut_msg_t *m)
{
    const ut_msg_read_index_t *b = &m->body.read_index;
    int rc = UT_EBUSY;
    if (h->role == UT_CONSENSUS_LEADER)
        rc = leader_read(h, b->ctx, b->len, m->from);
    if (rc != UT_EBUSY)
        return rc;
    /* Not the leader (any more), or full: refused, index 0; the
     * follower's caller retries. */
    rc = ut__consensus_msgbuf_reserve(h->live, 1, 0);
    if (rc != UT_OK)
        return rc;
    UT__CONSENSUS_TRACE(h, UT_TRACE_DEBUG, "read-refused",
                        h->role == UT_CONSENSUS_LEADER ? "too many pending reads"
                                                       : "not the leader",
                        m->term, m->from);
    push_resp(h, m->from, 0, NULL, 0);
    return UT_OK;
}

/* The leader's answer, m->term == h->term. */
static int handle_read_resp(ut_consensus_t *h, const ut_msg_t *m)
{
    const ut_msg_read_index_t *b = &m->body.read_index;
    if (b->index == 0) {
        UT__CONSENSUS_TRACE(h, UT_TRACE_DEBUG, "read-refused", "the leader refused", m->term,
                            m->from);
        return UT_OK;
    }
    if (h->role == UT_CONSENSUS_LEADER || h->role == UT_CONSENSUS_CANDIDATE ||
        m->from != h->leader) {
        UT__CONSENSUS_TRACE(h, UT_TRACE_DEBUG, "read-ignored", "not from this node's leader",
                            m->term, m->from);
        return UT_OK;
    }
    /* The oldest forwarded read of this term with these bytes (each call
     * is answered at most once, duplicates of its ctx included). */
    purge_fwd(h);
    size_t k = 0;
    while (k < READS->n_fwd && (READS->fwd[k].len != b->len ||
                                (b->len > 0 && memcmp(READS->fwd[k].ctx, b->ctx, b->len) != 0)))
        k++;
    if (k == READS->n_fwd) {
        UT__CONSENSUS_TRACE(h, UT_TRACE_DEBUG, "read-ignored", "no such read forwarded", m->term,
                            m->from);
        update_work(h);
        return UT_OK;
    }
    int rc = reserve_out(h, 1, 0);
    if (rc != UT_OK)
        return rc;
    void *ctx = READS->fwd[k].ctx;
    memmove(READS->fwd + k, READS->fwd + k + 1, (READS->n_fwd - k - 1) * sizeof READS->fwd[0]);
    READS->n_fwd--;
    push_state(h, b->index, ctx, b->len);
    update_work(h);
    return UT_OK;
}

int ut__consensus_step_read(ut_consensus_t *h, const ut_msg_t *m)
{
    const ut_msg_read_index_t *b = &m->body.read_index;
    if (b->len > UT_CONSENSUS_MAX_READ_CTX || (b->ctx == NULL && b->len > 0) ||
        (m->type == UT_MSG_READ_INDEX && b->index != 0))
        return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "step-refused", "malformed read", m->term,
                                    m->from, "step: malformed %s (index %llu, %u context bytes)",
                                    ut_msg_type_name(m->type), (unsigned long long)b->index,
                                    (unsigned)b->len);
    int trc = ut__consensus_check_term(h, m);
    if (trc != UT_OK)
        return trc;
    /* An answer may come from a leader this node's configuration does not
     * hold yet (thesis §4.1: it may have been added by an entry this node
     * lacks), as its AppendEntries do: known as the leader, it is heard. */
    if (ut__consensus_peer(h, m->from) == h->n_members &&
        !(m->type == UT_MSG_READ_INDEX_RESP && m->from == h->leader && m->from != 0))
        return UT__CONSENSUS_REFUSE(h, UT_ENOTFOUND, "step-refused", "not a peer", m->term, m->from,
                                    "step: %s from %llu, not a peer", ut_msg_type_name(m->type),
                                    (unsigned long long)m->from);
    if (m->term < h->term)
        return UT__CONSENSUS_REFUSE(h, UT_ESTALE, "step-refused", "stale term", m->term, m->from,
                                    "step: %s from term %llu < %llu", ut_msg_type_name(m->type),
                                    (unsigned long long)m->term, (unsigned long long)h->term);
    int rc = ut__consensus_msgbuf_reserve(h->live, 1, 0);
    if (rc == UT_OK && m->term > h->term) /* §5.1 */
        rc = ut__consensus_become_follower(h, m->term, 0, "read of a higher term");
    if (rc == UT_OK)
        rc = m->type == UT_MSG_READ_INDEX ? handle_read(h, m) : handle_read_resp(h, m);
    if (rc == UT_OK)
        h->took_input = true;
    return ut__consensus_oom(h, rc, "step");
}
