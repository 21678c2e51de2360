/* SPDX-License-Identifier: MIT */
/* Raft: leader transfer (thesis §3.10; docs/consensus.md, "Leader transfer").
 *
 * The leader hands its role to a voter it names:
 *   1. it stops accepting proposals and membership changes (UT_EBUSY), so
 *      its log stops growing and the target can catch up with it;
 *   2. it keeps replicating to the target; once the target's match index is
 *      the leader's last index it sends TimeoutNow;
 *   3. the target campaigns at once, without pre-vote, in the next term; its
 *      RequestVotes carry the transfer flag, and voters (the old leader
 *      included) do not ignore them for the leader lease (thesis §4.2.3
 *      makes that exception for a transfer: §3.10 would be pointless if the
 *      lease that protects a live leader stopped the leader's own handover);
 *   4. the transfer ends when the leader steps down (it hears of the new
 *      term), or is aborted after one election timeout (the target may be
 *      down or cut off); proposals are accepted again then.
 *
 * Safety is Raft's own: the target wins only with a majority's votes under
 * the usual §5.4.1 log check; a transfer only starts an election sooner. The
 * hot paths pay one predictable branch each (handle_append_resp; propose
 * through propose_gate). */
#include "consensus/raft.h"

static void xfer_clear(ut_consensus_t *h)
{
    h->xfer_target = 0;
    h->xfer_start = 0;
    h->xfer_sent = false;
    h->xfer_sent_at = 0;
    h->propose_gate = (uint8_t)(h->propose_gate & ~(unsigned)UT__CONSENSUS_GATE_XFER);
}

/* TimeoutNow to slot (thesis §3.10: "the prior leader sends it a TimeoutNow
 * request"); room for one message reserved by the caller. */
static void send_timeout_now(ut_consensus_t *h, size_t slot)
{
    /* The target campaigns without waiting out the voters' leases (its
     * VOTEs carry transfer), so a lease read is no longer safe from here
     * (thesis §6.4.1, consensus/rread.c): the lease ends now. */
    ut__consensus_reads_lease_end(h);
    (void)ut__consensus_push_msg(h, UT_MSG_TIMEOUT_NOW, h->ids[slot], h->term);
    h->xfer_sent = true;
    h->xfer_sent_at = h->now;
    UT__CONSENSUS_TRACE(h, UT_TRACE_INFO, "transfer-timeout-now", "target caught up", h->ids[slot],
                        h->match[slot]);
}

int ut_consensus_transfer(ut_consensus_t *h, uint64_t target)
{
    static const char ctx[] = "transfer";
    if (!ut__consensus_valid(h))
        return UT_EINVAL;
    if (target == 0 || target == h->id)
        return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "transfer-refused",
                                    target == 0 ? "target 0" : "target is this node", target, 0,
                                    "%s: target %llu %s", ctx, (unsigned long long)target,
                                    target == 0 ? "is no node id" : "is this node itself");
    if (h->role != UT_CONSENSUS_LEADER)
        return UT__CONSENSUS_REFUSE(h, UT_ENOTLEADER, "transfer-refused", "not the leader",
                                    h->leader, target, "%s: not the leader (leader is %llu)", ctx,
                                    (unsigned long long)h->leader);
    /* Members are slots [0, mb.n_listed) of the configuration in effect
     * (consensus/membership.h): voters first, then observers; a member that
     * an uncommitted change removed is no member. */
    size_t slot = ut__consensus_peer(h, target);
    if (slot >= h->mb.n_listed)
        return UT__CONSENSUS_REFUSE(h, UT_ENOTFOUND, "transfer-refused", "target not a member",
                                    target, 0, "%s: node %llu is not a member", ctx,
                                    (unsigned long long)target);
    if (slot >= h->n_voters)
        return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "transfer-refused", "target is an observer",
                                    target, 0, "%s: node %llu is an observer: it cannot lead", ctx,
                                    (unsigned long long)target);
    if (h->xfer_target != 0 && h->xfer_target != target)
        return UT__CONSENSUS_REFUSE(h, UT_EBUSY, "transfer-refused", "another transfer under way",
                                    h->xfer_target, target, "%s: a transfer to %llu is under way",
                                    ctx, (unsigned long long)h->xfer_target);
    if (h->xfer_target == target)
        return UT_OK; /* already under way: nothing changes */
    bool caught_up = h->match[slot] == h->log.last;
    if (caught_up) {
        int rc = ut__consensus_msgbuf_reserve(h->live, 1, 0);
        if (rc != UT_OK)
            return ut__consensus_oom(h, rc, ctx);
    }
    /* From here on nothing can fail. */
    h->xfer_target = target;
    h->xfer_start = h->now;
    h->xfer_sent = false;
    h->propose_gate = (uint8_t)(h->propose_gate | UT__CONSENSUS_GATE_XFER);
    h->took_input = true;
    UT__CONSENSUS_TRACE(h, UT_TRACE_INFO, "transfer-started", NULL, target, h->match[slot]);
    if (caught_up)
        send_timeout_now(h, slot);
    else
        /* Keep replicating: the next ready sends it what it lacks. */
        ut__consensus_pend(h, UT__CONSENSUS_PEND_FLUSH);
    return UT_OK;
}

UT__CONSENSUS_NOINLINE void ut__consensus_transfer_acked(ut_consensus_t *h, size_t slot)
{
    if (h->ids[slot] != h->xfer_target || h->match[slot] != h->log.last)
        return;
    /* Sent again at most once a heartbeat interval while the target keeps
     * acknowledging (a TimeoutNow may be lost; the abort bounds it all). */
    if (h->xfer_sent && h->now - h->xfer_sent_at < h->cfg.heartbeat_ms)
        return;
    /* Best effort: without room, the next acknowledgement tries again. */
    if (ut__consensus_msgbuf_reserve(h->live, 1, 0) != UT_OK)
        return;
    send_timeout_now(h, slot);
}

static void xfer_abort(ut_consensus_t *h, const char *why)
{
    UT__CONSENSUS_TRACE(h, UT_TRACE_WARN, "transfer-aborted", why, h->xfer_target,
                        h->now - h->xfer_start);
    xfer_clear(h);
}

UT__CONSENSUS_NOINLINE void ut__consensus_transfer_tick(ut_consensus_t *h)
{
    /* Thesis §3.10: "If the transfer does not complete within an election
     * timeout, the prior leader aborts the transfer and resumes accepting
     * client requests." A target that a change made no voter cannot win. */
    if (ut__consensus_peer(h, h->xfer_target) >= h->n_voters)
        xfer_abort(h, "target no voter any more");
    else if (h->now - h->xfer_start >= h->cfg.election_timeout_ms)
        xfer_abort(h, "election timeout");
}

UT__CONSENSUS_NOINLINE void ut__consensus_transfer_end(ut_consensus_t *h, const char *why)
{
    UT__CONSENSUS_TRACE(h, UT_TRACE_INFO, "transfer-ended", why, h->xfer_target, h->term);
    xfer_clear(h);
}

int ut__consensus_transfer_busy(ut_consensus_t *h, const char *ev, const char *ctx)
{
    return UT__CONSENSUS_REFUSE(h, UT_EBUSY, ev, "leader transfer under way", h->xfer_target, 0,
                                "%s: a leader transfer to %llu is under way", ctx,
                                (unsigned long long)h->xfer_target);
}

uint64_t ut__consensus_transfer_target(const ut_consensus_t *h)
{
    return h->xfer_target;
}

/* The target's side: TimeoutNow from the leader of its term (thesis §3.10).
 * Checked first as ut_consensus_step() checks every message (its term,
 * the term-jump rule, the sender); then it must come from the leader this
 * node follows in that very term, and this node must be a voter. */
UT__CONSENSUS_NOINLINE int ut__consensus_step_timeout_now(ut_consensus_t *h, const ut_msg_t *m)
{
    int trc = ut__consensus_check_term(h, m);
    if (trc != UT_OK)
        return trc;
    if (ut__consensus_peer(h, m->from) == h->n_members)
        return UT__CONSENSUS_REFUSE(h, UT_ENOTFOUND, "step-refused", "not a peer", m->term, m->from,
                                    "step: %s from %llu, not a peer", ut_msg_type_name(m->type),
                                    (unsigned long long)m->from);
    int rc;
    if (m->term < h->term) {
        /* §5.1: stale; a stale TimeoutNow has no reply to carry our term
         * (its sender learns it from the other messages). */
        rc = UT__CONSENSUS_REFUSE(h, UT_ESTALE, "step-refused", "stale term", m->term, m->from,
                                  "step: %s from term %llu < %llu", ut_msg_type_name(m->type),
                                  (unsigned long long)m->term, (unsigned long long)h->term);
    } else if (m->term != h->term || m->from != h->leader) {
        /* Only the leader of this node's term may hand it leadership: from
         * anyone else (or of a term whose leader it has not heard from) it
         * would be a campaign at another node's whim. */
        rc = UT__CONSENSUS_REFUSE(
            h, UT_ESTATE, "step-refused", "timeout-now not from the leader", m->term, m->from,
            "step: %s from %llu in term %llu, but the leader of term %llu "
            "is %llu",
            ut_msg_type_name(m->type), (unsigned long long)m->from, (unsigned long long)m->term,
            (unsigned long long)h->term, (unsigned long long)h->leader);
    } else if (!h->self_voter) {
        /* Thesis §4.2.3: a node that is no voter of its configuration never
         * campaigns. */
        rc = UT__CONSENSUS_REFUSE(h, UT_ESTATE, "step-refused", "timeout-now to a non-voter",
                                  m->term, m->from, "step: %s to %s %llu, which cannot lead",
                                  ut_msg_type_name(m->type), ut_consensus_state_name(h->role),
                                  (unsigned long long)h->id);
    } else {
        UT__CONSENSUS_TRACE(h, UT_TRACE_INFO, "election-timeout", "timeout-now from the leader",
                            h->term, m->from);
        size_t first = h->live->n;
        rc = ut__consensus_start_election_now(h);
        if (rc == UT_OK) {
            /* The RequestVotes of this candidacy say it was asked for. */
            ut__consensus_msgbuf_t *b = h->live;
            for (size_t i = first; i < b->n; i++)
                if (b->msgs[i].type == UT_MSG_VOTE)
                    b->msgs[i].body.vote.transfer = true;
        }
    }
    if (rc == UT_OK || rc == UT_ESTALE)
        h->took_input = true;
    else if (rc == UT_ENOMEM)
        rc = ut__consensus_oom(h, rc, "step");
    return rc;
}
