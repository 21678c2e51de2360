/* SPDX-License-Identifier: MIT */
/* Raft: status, reading entries back, flow control (issue 11, rstat).
 *
 * Flow control follows etcd-io/raft's two knobs:
 *   - MaxUncommittedEntriesSize: a leader refuses proposals (UT_EBUSY) once
 *     the payload of the entries it appended in its term and not yet
 *     committed would pass cfg.max_uncommitted_bytes, so a leader that
 *     cannot commit (no quorum) does not grow its log without bound. A
 *     proposal is always accepted when nothing is uncommitted (one entry
 *     larger than the limit still goes) or when it carries no payload. The
 *     no-op of a new leader (§5.4.2, §8) and configuration entries are not
 *     counted: a membership change (thesis §4) must never be blocked by
 *     flow control, it may be what restores the quorum.
 *   - MaxInflightBytes: the in-flight window of each follower (thesis
 *     §10.2.1, consensus/progress.h) also stops at cfg.max_inflight_bytes
 *     of payload, and each AppendEntries is cut so the window never passes
 *     it (one entry always goes when nothing is in flight).
 * The counter is kept only when the limit is set, so without it the hot
 * path pays one predictable branch in propose and in maybe_commit. */
#include "consensus/raft.h"

/* ------------------------------------------------------------ flow control */

UT__CONSENSUS_NOINLINE int ut__consensus_flow_admit(ut_consensus_t *h, uint64_t bytes,
                                                    const char *ctx)
{
    uint64_t limit = h->cfg.max_uncommitted_bytes;
    if (bytes == 0)
        return UT_OK; /* adds nothing */
    if (h->unc_bytes == 0) {
        /* Nothing counted is uncommitted: every entry up to the last holds
         * no counted byte (the release may have stopped short of them while
         * the counter was 0), so the next release starts after it. */
        h->unc_done = h->log.last;
        h->unc_bytes = bytes;
        return UT_OK;
    }
    if (h->unc_bytes >= limit || bytes > limit - h->unc_bytes)
        return UT__CONSENSUS_REFUSE(
            h, UT_EBUSY, "propose-refused", "flow control: too many uncommitted bytes",
            h->unc_bytes, bytes,
            "%s: %llu uncommitted bytes + %llu would exceed max_uncommitted_bytes %llu "
            "(retry once entries commit)",
            ctx, (unsigned long long)h->unc_bytes, (unsigned long long)bytes,
            (unsigned long long)limit);
    h->unc_bytes += bytes;
    return UT_OK;
}

UT__CONSENSUS_NOINLINE void ut__consensus_flow_release(ut_consensus_t *h)
{
#ifdef UT__FAULT_UNCOMMITTED_NO_RELEASE
    /* Test-only broken variant (tests/CMakeLists.txt): committed entries
     * never give their bytes back, so a leader ends up refusing every
     * proposal. The flow tests and the randomised test must catch it. */
    (void)h;
    return;
#endif
    uint64_t i = h->unc_done > h->log.off ? h->unc_done : h->log.off;
    uint64_t to = h->log.commit < h->log.last ? h->log.commit : h->log.last;
    /* Entries after unc_done are the leader's own of this term: its NORMAL
     * ones were counted. */
    while (i < to && h->unc_bytes != 0) {
        const ut_entry_t *e = ut__consensus_log_at(&h->log, ++i);
        if (e->type == UT_ENTRY_NORMAL)
            h->unc_bytes = e->len < h->unc_bytes ? h->unc_bytes - e->len : 0;
    }
    /* Once the counter is 0 the entries left up to the commit index hold
     * no counted byte either. */
    h->unc_done = h->unc_bytes == 0 ? (to > i ? to : i) : i;
}

UT__CONSENSUS_NOINLINE size_t ut__consensus_flow_room(const ut_consensus_t *h,
                                                      const ut__consensus_progress_t *p, size_t cap)
{
    uint64_t limit = h->max_inflight_bytes;
    const ut__consensus_inflight_t *w = &p->inflight;
    if (w->len == 0) /* nothing in flight: up to the limit, one entry always */
        return limit < cap ? (size_t)limit : cap;
    uint64_t room = w->bytes < limit ? limit - w->bytes : 0;
    if (room == 0 || ut__consensus_log_at(&h->log, p->next)->len > room)
        return 0;
    return room < cap ? (size_t)room : cap;
}

UT__CONSENSUS_NOINLINE bool ut__consensus_flow_sendable(const ut_consensus_t *h,
                                                        const ut__consensus_progress_t *p)
{
    /* The same decision as flush_appends: a follower that needs compacted
     * entries gets the snapshot (the byte window does not apply), any
     * other one an AppendEntries only when flow_room leaves room. */
    if (p->next <= h->log.off)
        return true;
    return ut__consensus_flow_room(h, p, h->cfg.max_append_bytes) != 0;
}

/* ------------------------------------------------------------------ status */

int ut_consensus_status_init(ut_consensus_status_t *st, unsigned version)
{
    if (st == NULL)
        return UT_EINVAL;
    if (version == 0 || version > UT_CONSENSUS_STATUS_VERSION)
        return UT_EVERSION;
    memset(st, 0, sizeof *st);
    st->version = version;
    return UT_OK;
}

/* Without a limit the counter is not kept: the same sum, from the log (the
 * leader's NORMAL entries of its term after the commit index). */
static uint64_t uncommitted_bytes(const ut_consensus_t *h)
{
    if (h->cfg.max_uncommitted_bytes != 0)
        return h->unc_bytes;
    uint64_t sum = 0;
    uint64_t from = h->log.commit > h->log.off ? h->log.commit : h->log.off;
    for (uint64_t i = h->log.last; i > from; i--) {
        const ut_entry_t *e = ut__consensus_log_at(&h->log, i);
        if (e->term != h->term)
            break;
        if (e->type == UT_ENTRY_NORMAL)
            sum += e->len;
    }
    return sum;
}

static ut_consensus_repl_state_t repl_state(uint8_t s)
{
    switch (s) {
    case UT__CONSENSUS_PR_PIPELINE:
        return UT_CONSENSUS_REPL_PIPELINE;
    case UT__CONSENSUS_PR_SNAPSHOT:
        return UT_CONSENSUS_REPL_SNAPSHOT;
    default:
        return UT_CONSENSUS_REPL_PROBE;
    }
}

int ut_consensus_status(const ut_consensus_t *h, ut_consensus_status_t *st)
{
    if (!ut__consensus_valid(h) || st == NULL)
        return UT_EINVAL;
    if (st->version == 0 || st->version > UT_CONSENSUS_STATUS_VERSION)
        return UT_EVERSION;
    /* Version 1: every field below. */
    st->id = h->id;
    st->state = h->role;
    st->pre_vote = h->pre_candidate;
    st->term = h->term;
    st->vote = h->vote;
    st->leader = h->leader;
    st->commit = h->log.commit;
    /* Handed out: by the outstanding ready when there is one. */
    st->applied = ut__readyseq_busy(&h->rseq) && h->rd_applied > h->log.applied ? h->rd_applied
                                                                                : h->log.applied;
    st->first_index = ut__consensus_log_first(&h->log);
    st->last_index = h->log.last;
    st->snapshot_index = h->snap != NULL ? h->snap->index : 0;
    st->snapshot_term = h->snap != NULL ? h->snap->term : 0;

    const ut__consensus_conf_t *c = &h->mb.conf;
    uint64_t *ids = st->member_ids_;
    memcpy(ids, c->voters, c->n_voters * sizeof ids[0]);
    memcpy(ids + UT_CONSENSUS_MAX_NODES, c->outgoing, c->n_outgoing * sizeof ids[0]);
    memcpy(ids + 2 * UT_CONSENSUS_MAX_NODES, c->observers, c->n_observers * sizeof ids[0]);
    st->membership.voters = ids;
    st->membership.n_voters = c->n_voters;
    st->membership.voters_outgoing = c->n_outgoing > 0 ? ids + UT_CONSENSUS_MAX_NODES : NULL;
    st->membership.n_voters_outgoing = c->n_outgoing;
    st->membership.observers = c->n_observers > 0 ? ids + 2 * UT_CONSENSUS_MAX_NODES : NULL;
    st->membership.n_observers = c->n_observers;
    st->membership.auto_leave = c->auto_leave;
    st->membership_index = h->mb.conf_index;

    bool leader = h->role == UT_CONSENSUS_LEADER;
    st->uncommitted_bytes = leader ? uncommitted_bytes(h) : 0;
    st->transfer_target = ut__consensus_transfer_target(h); /* rxfer: 0 when none */
    st->pending_reads = ut__consensus_pending_reads(h);     /* rread */

    size_t n = 0;
    if (leader) {
        /* The configuration's members (slots [0, n_listed)), self left out. */
        for (size_t i = 0; i < h->mb.n_listed && n < UT_CONSENSUS_MAX_NODES; i++) {
            if (i == h->self)
                continue;
            const ut__consensus_progress_t *p = &h->prs[i];
            ut_consensus_peer_status_t *ps = &st->peers[n++];
            ps->id = h->ids[i];
            ps->voter = i < h->n_voters;
            ps->state = repl_state(p->state);
            ps->match = p->match;
            ps->next = p->next;
            ps->inflight_msgs = p->inflight.len;
            ps->inflight_bytes = p->inflight.bytes;
            ps->recent_active = (h->active[i] & UT__CONSENSUS_ACTIVE) != 0;
            /* rperf2: HEARD, a response at the current time not in heard yet */
            ps->last_heard_ms = (h->active[i] & UT__CONSENSUS_HEARD) ? h->now
                                : p->heard != 0                      ? p->heard - 1
                                                                     : UT_CONSENSUS_NEVER;
        }
    }
    st->n_peers = n;
    for (size_t i = n; i < UT_CONSENSUS_MAX_NODES; i++)
        memset(&st->peers[i], 0, sizeof st->peers[i]);
    return UT_OK;
}

/* ------------------------------------------------------------------ entries */

int ut_consensus_entry(const ut_consensus_t *h, uint64_t index, ut_entry_t *out)
{
    if (!ut__consensus_valid(h) || out == NULL)
        return UT_EINVAL;
    /* Index 0 and the compacted prefix (at or below the snapshot's index,
     * Raft paper §7) hold no entry; nor does anything past the last. */
    if (index == 0 || index <= h->log.off || index > h->log.last)
        return UT_ENOTFOUND;
    *out = *ut__consensus_log_at(&h->log, index);
    return UT_OK;
}
