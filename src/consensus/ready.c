/* SPDX-License-Identifier: MIT */
/* Raft ready/advance: the work a node's inputs produced, handed out in one
 * batch (persist entries and hard state, send messages, apply committed
 * entries) and acknowledged by advance() (DESIGN §2; etcd-io/raft's Ready and
 * RawNode.Advance). One ready is outstanding at a time; an empty one is not
 * outstanding and needs no advance (consensus.md, "an empty ready"). */
#include "consensus/raft.h"

/* The 0.3.0 fields took reserved words: the struct keeps its 0.2.0 size on
 * LP64 (8 words after seq_) and only shrinks on 32-bit targets. */
_Static_assert(sizeof(void *) != 8 || offsetof(ut_consensus_ready_t, reserved_) +
                                              sizeof(((ut_consensus_ready_t *)0)->reserved_) ==
                                          offsetof(ut_consensus_ready_t, snapshot) + 8 * 8,
               "ready keeps its size");

static bool hs_equal(const ut_consensus_hard_state_t *a, const ut_consensus_hard_state_t *b)
{
    return a->term == b->term && a->vote == b->vote && a->commit == b->commit;
}

/* The n entries from index first as one array: where they lie in the log
 * when they are inside one segment (the common case: nothing is copied),
 * else copied into *dst, grown to *cap (NULL for none, or on UT_ENOMEM with
 * *rc set). The log never moves or overwrites an entry while the ready is
 * outstanding (consensus/log.h), so the pointers stay valid until advance. */
static inline const ut_entry_t *run_of(ut_entry_t **dst, size_t *cap,
                                       const ut__consensus_log_t *log, uint64_t first, size_t n,
                                       int *rc)
{
    if (n == 0)
        return NULL;
    const ut_entry_t *run = ut__consensus_log_run(log, first, n);
    if (UT__LIKELY(run != NULL))
        return run;
    *rc = ut__grow((void **)dst, cap, n, sizeof(ut_entry_t));
    if (*rc != UT_OK)
        return NULL;
    ut__consensus_log_copy(log, *dst, first, n);
    return *dst;
}

static bool pending_appends(const ut_consensus_t *h)
{
    if (h->role != UT_CONSENSUS_LEADER)
        return false;
    for (size_t i = 0; i < h->n_members; i++)
        if (i != h->self &&
            ut__consensus_needs_append(h, &h->prs[i])
            /* >>> rstat: the byte window may hold it back (flush_appends) */
            && (h->max_inflight_bytes == 0 || ut__consensus_flow_sendable(h, &h->prs[i]))
            /* <<< rstat */)
            return true;
    return false;
}

/* The full comparison with what the last ready handed out (and advance
 * acknowledged), for when the summary holds only inexact bits (raft.h,
 * UT__CONSENSUS_PEND_*). The leader's peers are scanned only when FLUSH
 * says one may have become sendable. */
static bool work_pending(const ut_consensus_t *h, uint32_t p)
{
    return h->live->n > 0 || h->log.stable < h->log.last || h->log.applied < h->log.commit ||
           h->term != h->last_hs.term || h->vote != h->last_hs.vote ||
           h->log.commit != h->last_hs.commit || h->log.truncate_from != 0 ||
           h->role != h->last_role || h->leader != h->last_leader ||
           ((p & UT__CONSENSUS_PEND_FLUSH) && pending_appends(h));
}

bool ut_consensus_has_ready(const ut_consensus_t *h)
{
    if (!ut__consensus_valid(h))
        return false;
    /* No bit: no work, whether a ready is outstanding or not (the common
     * answer, so it is tested first). */
    uint32_t p = h->pending;
    if (p == 0 || ut__readyseq_busy(&h->rseq))
        return false;
    if (p & UT__CONSENSUS_PEND_EXACT)
        return true; /* the common case with work: no comparison at all */
    return work_pending(h, p);
}

/* The 0.3.0 fields and the reserved words after them, zeroed at once (the
 * 8 words after seq_: a few vector stores instead of one store per field). */
static inline void clear_tail(ut_consensus_ready_t *rd)
{
    memset(&rd->snapshot, 0, sizeof *rd - offsetof(ut_consensus_ready_t, snapshot));
}

/* An empty ready, every field written (no memset of the whole struct). */
static void empty_ready(ut_consensus_t *h, ut_consensus_ready_t *rd)
{
    rd->hard_state_changed = false;
    rd->hard_state = h->last_hs;
    rd->truncate_from = 0;
    rd->entries = NULL;
    rd->n_entries = 0;
    rd->msgs = NULL;
    rd->n_msgs = 0;
    rd->committed = NULL;
    rd->n_committed = 0;
    rd->soft_state_changed = false;
    rd->state = h->role;
    rd->leader = h->leader;
    rd->seq_ = ut__readyseq_hand_out(&h->rseq, true);
    clear_tail(rd);
}

/* The end of a non-empty ready(): soft state, sequence, cursors, and with
 * rare set the snapshot and read hooks (raft.h, rare_work). */
static UT__CONSENSUS_ALWAYS_INLINE void ready_finish(ut_consensus_t *h, ut_consensus_ready_t *rd,
                                                     uint64_t apply_to, bool rare)
{
    /* >>> rsnap: a received snapshot (installed before the entries), and
     * the housekeeping of snapshot messages and retired snapshots */
    if (rare && h->snap_flags != 0)
        ut__consensus_snapshot_ready(h, rd);
    /* <<< rsnap */
    rd->soft_state_changed = h->role != h->last_role || h->leader != h->last_leader;
    rd->state = h->role;
    rd->leader = h->leader;
    h->last_role = h->role;
    h->last_leader = h->leader;

    rd->seq_ = ut__readyseq_hand_out(&h->rseq, false);
    h->rd_last_entry = h->log.last;
    h->rd_applied = apply_to;
    /* Everything is handed out but committed entries beyond the batch. */
    h->pending = apply_to < h->log.commit ? UT__CONSENSUS_PEND_COMMIT : 0;
    h->log.stable = h->log.last;
    h->log.truncate_from = 0;
    /* >>> rread: read states (and the reads whose first commit came) */
    if (rare && h->reads_work != 0)
        ut__consensus_reads_ready(h, rd);
    /* <<< rread */
}

static UT__CONSENSUS_NOINLINE void ready_finish_rare(ut_consensus_t *h, ut_consensus_ready_t *rd,
                                                     uint64_t apply_to)
{
    ready_finish(h, rd, apply_to, true);
}

int ut_consensus_ready(ut_consensus_t *h, ut_consensus_ready_t *rd)
{
    if (!ut__consensus_valid(h) || rd == NULL)
        return UT_EINVAL;
    if (ut__readyseq_busy(&h->rseq))
        return UT__CONSENSUS_REFUSE(h, UT_ESTATE, "ready-refused", "previous ready not advanced", 0,
                                    0, "ready: the previous ready was not advanced");
    /* >>> rmemb: a committed configuration change settles first (its
     * leave-joint entry, a removed leader stepping down, go out now) */
    if (UT__UNLIKELY(h->mb.pending))
        ut__consensus_members_settle(h);
    /* <<< rmemb */
    uint32_t p = h->pending;
    int rc = UT_OK;
    if (p & UT__CONSENSUS_PEND_FLUSH) {
        rc = ut__consensus_flush_appends(h);
        if (rc != UT_OK)
            return ut__consensus_oom(h, rc, "ready");
        p = h->pending & ~(uint32_t)UT__CONSENSUS_PEND_FLUSH; /* the flush may queue MSGS */
    }
    if (!(p & UT__CONSENSUS_PEND_EXACT) && (p == 0 || !work_pending(h, p))) {
        /* Nothing to hand out: an empty ready is not outstanding, so the
         * documented loop (stop at the first empty ready, DESIGN §2) does not
         * block the next one. */
        h->pending = 0;
        empty_ready(h, rd);
        return UT_OK;
    }
    size_t n_ents = (size_t)(h->log.last - h->log.stable);
    uint64_t apply_to = h->log.commit;
    if (apply_to - h->log.applied > UT__CONSENSUS_MAX_APPLY_BATCH)
        apply_to = h->log.applied + UT__CONSENSUS_MAX_APPLY_BATCH;
    size_t n_apply = (size_t)(apply_to - h->log.applied);
    const ut_entry_t *ents =
        run_of(&h->rd_ents, &h->rd_ents_cap, &h->log, h->log.stable + 1, n_ents, &rc);
    const ut_entry_t *apply = rc == UT_OK ? run_of(&h->rd_apply, &h->rd_apply_cap, &h->log,
                                                   h->log.applied + 1, n_apply, &rc)
                                          : NULL;
    if (rc != UT_OK)
        return UT__CONSENSUS_REFUSE(h, rc, "ready-refused", "out of memory", 0, 0,
                                    "ready: out of memory");

    ut_consensus_hard_state_t hs = {.term = h->term, .vote = h->vote, .commit = h->log.commit};
    h->rd_hs = hs;
    rd->hard_state = hs;
    rd->hard_state_changed = !hs_equal(&hs, &h->last_hs);
#ifdef UT__FAULT_FORGET_VOTE
    /* Test-only broken variant: the vote never reaches stable storage, so a
     * restarted node can vote twice in one term. The safety tests must
     * catch this. */
    rd->hard_state.vote = 0;
#endif
    rd->truncate_from = h->log.truncate_from;
    rd->entries = ents;
    rd->n_entries = n_ents;
    rd->committed = apply;
    rd->n_committed = n_apply;

    /* Hand the live outbox over and start a fresh one. */
    ut__consensus_msgbuf_t *tmp = h->out;
    h->out = h->live;
    h->live = tmp;
    h->live->n = 0;
    h->live->n_ents = 0;
    h->live->n_refs = 0;
    /* Point the AppendEntries whose entries were copied (a run across log
     * segments) at their copies, now that ents no longer moves. */
    if (h->out->n_ents != 0)
        for (size_t i = 0; i < h->out->n; i++)
            if (h->out->off[i] != SIZE_MAX)
                h->out->msgs[i].body.append.entries = h->out->ents + h->out->off[i];
    rd->msgs = h->out->n > 0 ? h->out->msgs : NULL;
    rd->n_msgs = h->out->n;

    clear_tail(rd);
    /* Snapshot and read work: one test for both (nothing below but the
     * hooks themselves sets either). */
    if (UT__UNLIKELY(h->rare_work != 0))
        ready_finish_rare(h, rd, apply_to);
    else
        ready_finish(h, rd, apply_to, false);
    return UT_OK;
}

bool ut_consensus_ready_empty(const ut_consensus_ready_t *rd)
{
    /* The field most often set first (messages: every ready of R1 but the
     * leader's commit), then the rest. */
    return rd == NULL ||
           (rd->n_msgs == 0 && !rd->hard_state_changed && rd->n_entries == 0 &&
            rd->n_committed == 0 && rd->truncate_from == 0 && !rd->soft_state_changed &&
            rd->snapshot == NULL /* rsnap */ && rd->n_read_states == 0 /* rread */);
}

int ut_consensus_advance(ut_consensus_t *h, const ut_consensus_ready_t *rd)
{
    if (!ut__consensus_valid(h) || rd == NULL)
        return UT_EINVAL;
    /* Whether rd is empty matters only while no ready is outstanding: the
     * check is skipped on the common path (it cost 51 instr./entry on R1). */
    bool empty = !ut__readyseq_busy(&h->rseq) && ut_consensus_ready_empty(rd);
    int seq = ut__readyseq_advance(&h->rseq, rd->seq_, empty);
    if (seq == 0)
        return UT_OK; /* an empty ready: nothing to acknowledge */
    if (seq != 1)
        return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "advance-refused", "not the outstanding ready",
                                    rd->seq_, 0, "advance: not the outstanding ready");
    /* >>> rread: the read states and contexts handed out */
    if (UT__UNLIKELY(h->reads_work & UT__CONSENSUS_READS_OUT))
        ut__consensus_reads_advance(h);
    /* <<< rread */
    /* A truncation that arrived after ready() lowered stable: only what is
     * still in the log counts as durable. */
    uint64_t durable = h->rd_last_entry < h->log.stable ? h->rd_last_entry : h->log.stable;
    if (durable > h->log.persisted)
        h->log.persisted = durable;
    h->last_hs = h->rd_hs;
    if (h->rd_applied > h->log.applied)
        h->log.applied = h->rd_applied;
    h->out->n = 0;
    h->out->n_ents = 0;
    h->out->n_refs = 0;
    /* Nothing handed out points into the log any more; queued appends (a
     * former leader's) still do, so wait for them to go out. */
    if ((h->log.retired != NULL || h->log.dead != 0) && h->live->n_refs == 0) {
        ut__consensus_log_release(&h->log);
        ut__consensus_log_compact(&h->log);
    }
    if (h->role == UT_CONSENSUS_LEADER) {
        /* The leader counts itself only for entries on its own disk. */
        if (h->log.persisted > h->match[h->self]) { /* == prs[self].match */
            ut__consensus_set_match(h, h->self, h->log.persisted);
            ut__consensus_maybe_commit(h); /* marks COMMIT if it moved */
        }
    }
    return UT_OK;
}

/* --------------------------------------------------------------- accessors */
