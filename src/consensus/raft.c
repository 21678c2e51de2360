/* SPDX-License-Identifier: MIT */
/* Raft consensus core: a deterministic, sans-I/O state machine.
 *
 * References: D. Ongaro and J. Ousterhout, "In Search of an Understandable
 * Consensus Algorithm" (2014), cited as §N; D. Ongaro, "Consensus: Bridging
 * Theory and Practice" (PhD thesis, 2014), cited as "thesis §N".
 *
 * Work produced by inputs (messages to send, entries and hard state to
 * persist, entries to apply) accumulates inside the handle and is handed out
 * by ut_consensus_ready(); ut_consensus_advance() acknowledges it. Messages
 * and their entry headers are double-buffered: ready() swaps the live buffers
 * out, so inputs that arrive before advance() never move memory the caller
 * is reading.
 *
 * The core is split by type (docs/consensus.md, "Inside the module"): this
 * file holds roles, election, replication, step and tick; raft.h the handle;
 * ready.c ready/advance; log.{h,c} the entries and their cursors;
 * progress.{h,c} each follower's replication state and in-flight window;
 * quorum.{h,c} the majority rules. */
#include <stdio.h>

#include "common/rand.h"
#include "consensus/raft.h"
#include "unitypes/codec.h"

/* The public limits are the codec's frame limit seen from an AppendEntries:
 * one entry of UT_CONSENSUS_MAX_ENTRY_BYTES fills a frame exactly. The
 * overheads are checked against the codec by test_issue8_*. */
_Static_assert(UT_CONSENSUS_APPEND_OVERHEAD + UT_CONSENSUS_ENTRY_OVERHEAD +
                       (uint64_t)UT_CONSENSUS_MAX_ENTRY_BYTES ==
                   UT_MSG_MAX_FRAME,
               "UT_CONSENSUS_MAX_ENTRY_BYTES must fill one frame");
/* push_msg() clears sizeof(ut_msg_append_t) body bytes: the largest body. */
_Static_assert(sizeof(ut_msg_append_t) >= sizeof(ut_msg_append_resp_t) &&
                   sizeof(ut_msg_append_t) >= sizeof(ut_msg_vote_t) &&
                   sizeof(ut_msg_append_t) >= sizeof(ut_msg_vote_resp_t),
               "the append body must be the largest consensus body");

/* ---------------------------------------------------------------- helpers */

/* The out-of-memory exits of the public calls: every UT_ENOMEM leaves a
 * message too. Other codes pass through with the message already set. */
int ut__consensus_oom(ut_consensus_t *h, int rc, const char *context)
{
    if (rc == UT_ENOMEM)
        return ut__consensus_refuse(h, rc, "out-of-memory", context, 0, 0, "%s: out of memory",
                                    context);
    return rc;
}

int ut__consensus_refuse(ut_consensus_t *h, int code, const char *ev, const char *why, uint64_t a,
                         uint64_t b, const char *fmt, ...)
{
    UT__CONSENSUS_TRACE(h, UT_TRACE_WARN, ev, why, a, b);
    va_list ap;
    va_start(ap, fmt);
    code = ut__handle_vfail(&h->base, code, fmt, ap);
    va_end(ap);
    return code;
}

/* §5.2: election timeouts are drawn at random from [T, 2T) so that split
 * votes are rare and resolve quickly. */
static void reset_election_timer(ut_consensus_t *h)
{
    uint64_t t = h->cfg.election_timeout_ms;
    h->election_start = h->now;
    h->election_timeout = t + ut__rand_below(&h->rng, t);
}

/* The election timer counts again from now, with the timeout drawn last. */
static inline void restart_election_timer(ut_consensus_t *h)
{
    h->election_start = h->now;
}

static uint64_t last_term(const ut_consensus_t *h)
{
    return ut__consensus_log_last_term(&h->log);
}

/* ------------------------------------------------------------- outbox */

/* The growing half of ut__consensus_msgbuf_reserve(), kept out of line so that the
 * steady-state check stays small wherever it is inlined. */
UT__CONSENSUS_NOINLINE int ut__consensus_msgbuf_grow(ut__consensus_msgbuf_t *b, size_t nmsgs,
                                                     size_t nents)
{
    size_t old_cap = b->cap;
    int rc = ut__grow((void **)&b->msgs, &b->cap, b->n + nmsgs, sizeof(ut_msg_t));
    /* New slots start all zero. push_msg() clears only the body bytes the
     * Raft bodies use, and nothing ever writes the rest (the padding after
     * the type, the union beyond 40 bytes), so every byte of a handed-out
     * message stays defined at no cost per message. */
    if (b->cap > old_cap)
        memset(b->msgs + old_cap, 0, (b->cap - old_cap) * sizeof(ut_msg_t));
    if (rc == UT_OK)
        rc = ut__grow((void **)&b->off, &b->off_cap, b->n + nmsgs, sizeof(size_t));
    if (rc == UT_OK)
        rc = ut__grow((void **)&b->ents, &b->ents_cap, b->n_ents + nents, sizeof(ut_entry_t));
    return rc;
}

static void msgbuf_free(ut__consensus_msgbuf_t *b)
{
    ut__free(b->msgs);
    ut__free(b->off);
    ut__free(b->ents);
    memset(b, 0, sizeof *b);
}

/* push_msg() but for the body, which the caller writes whole (every byte
 * push_msg() would clear). Room must have been reserved. */
static UT__CONSENSUS_ALWAYS_INLINE ut_msg_t *push_msg_head(ut_consensus_t *h, ut_msg_type_t type,
                                                           uint64_t to, uint64_t term)
{
    ut__consensus_msgbuf_t *b = h->live;
    ut_msg_t *m = &b->msgs[b->n];
    m->type = type;
    m->from = h->id;
    m->to = to;
    m->term = term;
    b->off[b->n] = SIZE_MAX;
    b->n++;
    ut__consensus_pend(h, UT__CONSENSUS_PEND_MSGS);
    return m;
}

/* Room must have been reserved with ut__consensus_msgbuf_reserve(). */
static ut_msg_t *push_msg(ut_consensus_t *h, ut_msg_type_t type, uint64_t to, uint64_t term)
{
    ut_msg_t *m = push_msg_head(h, type, to, term);
    /* Clear only what the bodies use: this runs for every message. The
     * rest of the slot was zeroed when the buffer grew and is never written
     * (ut__consensus_msgbuf_reserve), so the whole message is defined (consensus.h). */
    memset(&m->body, 0, sizeof m->body.append);
    return m;
}

/* ----------------------------------------------------------- role changes */

/* Every role and term change goes through here, so Raft's edges are checked
 * in one place (§5.1, Figure 4): terms never decrease; follower -> candidate
 * and candidate -> candidate increase the term by one; candidate -> leader
 * keeps it; any role -> follower is allowed at an equal or higher term; an
 * observer (learner) never becomes anything else. */
static int check_edge(const ut_consensus_t *h, ut_consensus_state_t to, uint64_t term)
{
    if (term < h->term)
        return UT_ESTATE;
    if (!h->self_voter)
        return to == UT_CONSENSUS_OBSERVER ? UT_OK : UT_ESTATE;
    switch (to) {
    case UT_CONSENSUS_FOLLOWER:
        return UT_OK;
    case UT_CONSENSUS_CANDIDATE:
        return (h->role != UT_CONSENSUS_LEADER && term == h->term + 1) ? UT_OK : UT_ESTATE;
    case UT_CONSENSUS_LEADER:
        return (h->role == UT_CONSENSUS_CANDIDATE && term == h->term) ? UT_OK : UT_ESTATE;
    case UT_CONSENSUS_OBSERVER:
        return UT_ESTATE;
    }
    return UT_ESTATE;
}

static void clear_votes(ut_consensus_t *h)
{
    for (size_t i = 0; i < h->n_members; i++)
        h->votes[i] = UT__CONSENSUS_VOTE_PENDING;
}

/* A term change, traced (INFO "term": a = the new term, b = the old one). */
static void set_term(ut_consensus_t *h, uint64_t term, const char *why)
{
    UT__CONSENSUS_TRACE(h, UT_TRACE_INFO, "term", why, term, h->term);
    h->term = term;
    ut__consensus_pend(h, UT__CONSENSUS_PEND_TERM | UT__CONSENSUS_PEND_CHECK);
}

/* why: a static reason for the trace ("higher term", "check-quorum", ...).
 * reset_timer: false keeps the election timer running (handle_vote). */
static int step_down(ut_consensus_t *h, uint64_t term, uint64_t leader, const char *why,
                     bool reset_timer)
{
    ut_consensus_state_t to = h->self_voter ? UT_CONSENSUS_FOLLOWER : UT_CONSENSUS_OBSERVER;
    int rc = check_edge(h, to, term);
    if (rc != UT_OK)
        return rc;
    /* >>> rxfer: any step-down ends a leader transfer (thesis §3.10) */
    if (UT__UNLIKELY(h->xfer_target != 0))
        ut__consensus_transfer_end(h, why);
    /* <<< rxfer */
    if (term > h->term) {
        set_term(h, term, why);
        h->vote = 0; /* votedFor is per term (Figure 2) */
    }
    /* >>> rread: a leader that stops leading drops its reads */
    if (UT__UNLIKELY(h->role == UT_CONSENSUS_LEADER))
        ut__consensus_reads_drop(h, why);
    /* <<< rread */
    if (h->role != to || h->pre_candidate)
        UT__CONSENSUS_TRACE(h, UT_TRACE_INFO,
                            to == UT_CONSENSUS_OBSERVER ? "become-observer" : "become-follower",
                            why, term, leader);
    h->role = to;
    h->pre_candidate = false;
    h->leader = leader;
    h->unc_bytes = 0; /* >>> rstat: a former leader counts nothing <<< */
    ut__consensus_pend(h, UT__CONSENSUS_PEND_CHECK);
    if (leader != 0)
        h->leader_contact = h->now;
    if (reset_timer)
        reset_election_timer(h);
    return UT_OK;
}

static int become_follower(ut_consensus_t *h, uint64_t term, uint64_t leader, const char *why)
{
    return step_down(h, term, leader, why, true);
}

/* >>> rsnap: raft.c's own steps, for consensus/rsnap.c */
/* >>> rmemb: the role changes membership.c needs */
void ut__consensus_reset_election_timer(ut_consensus_t *h)
{
    reset_election_timer(h);
}

int ut__consensus_become_follower(ut_consensus_t *h, uint64_t term, uint64_t leader,
                                  const char *why)
{
    return become_follower(h, term, leader, why);
}

ut_msg_t *ut__consensus_push_msg(ut_consensus_t *h, ut_msg_type_t type, uint64_t to, uint64_t term)
{
    return push_msg(h, type, to, term);
}
/* <<< rsnap */
static void send_heartbeat(ut_consensus_t *h, size_t slot);

void ut__consensus_send_heartbeat(ut_consensus_t *h, size_t slot)
{
    send_heartbeat(h, slot);
}
/* <<< rmemb */

/* ------------------------------------------------------------ replication */

/* Send entries [p->next, ...] to p, batched up to the configured limits
 * (max_bytes payload bytes but for the first entry). Caller reserved one
 * message and the entries. */
/* send_append() writes every field of the body (push_msg_head): a field
 * added to ut_msg_append_t must be written there too. */
_Static_assert(sizeof(ut_msg_append_t) ==
                   4 * sizeof(uint64_t) + sizeof(size_t) + sizeof(const ut_entry_t *),
               "send_append() must write every field of the append body");

static void send_append(ut_consensus_t *h, size_t slot, size_t max_entries, size_t max_bytes)
{
    ut__consensus_progress_t *p = &h->prs[slot];
    uint64_t prev = p->next - 1;
    ut_msg_t *m = push_msg_head(h, UT_MSG_APPEND, h->ids[slot], h->term);
    m->body.append.prev_index = prev;
    m->body.append.prev_term = ut__consensus_log_term(&h->log, prev);
    m->body.append.commit = h->log.commit;
    m->body.append.read_round = h->read_round; /* >>> rread <<< */
    m->body.append.entries = NULL;
    size_t n = 0, bytes = 0;
    ut__consensus_msgbuf_t *b = h->live;
    if (max_entries == 0) {
        m->body.append.n_entries = 0;
        return;
    }
    /* max_entries <= entries from next to last (entries_to_send), so the
     * walk stays inside the log. A run inside one segment is sent where it
     * lies; one across segments is copied (consensus/log.h). */
    const ut_entry_t *e = ut__consensus_log_run(&h->log, p->next, max_entries);
    if (e != NULL) {
        const ut_entry_t *run = e;
        bytes = e->len; /* the first entry goes whatever its size */
        for (n = 1, e++; n < max_entries; n++, e++) {
            if (bytes + e->len > max_bytes)
                break;
            bytes += e->len;
        }
        m->body.append.entries = run;
    } else {
        b->off[b->n - 1] = b->n_ents;
        for (; n < max_entries; n++) {
            e = ut__consensus_log_at(&h->log, p->next + n);
            if (n > 0 && bytes + e->len > max_bytes)
                break;
            bytes += e->len;
            b->ents[b->n_ents++] = *e;
        }
    }
    b->n_refs++;
    m->body.append.n_entries = n;
    ut__consensus_progress_sent(p, prev + n, bytes);
}

/* Heartbeat (§5.2): an empty AppendEntries whose prev_index is the follower's
 * known match, so it succeeds without backtracking and carries the commit. */
static void send_heartbeat(ut_consensus_t *h, size_t slot)
{
    const ut__consensus_progress_t *p = &h->prs[slot];
    ut_msg_t *m = push_msg(h, UT_MSG_APPEND, h->ids[slot], h->term);
    m->body.append.prev_index = p->match;
    m->body.append.prev_term = ut__consensus_log_term(&h->log, p->match);
    m->body.append.commit = h->log.commit;
    m->body.append.read_round = h->read_round; /* >>> rread <<< */
    /* >>> rsnap: a match below the compacted prefix has no term to send:
     * prev 0 matches every log (a follower past it answers with its commit) */
    if (UT__UNLIKELY(p->match < h->log.off))
        m->body.append.prev_index = m->body.append.prev_term = 0;
    /* <<< rsnap */
}

static size_t entries_to_send(const ut_consensus_t *h, const ut__consensus_progress_t *p)
{
    uint64_t avail = h->log.last - p->next + 1;
    return avail < h->cfg.max_append_entries ? (size_t)avail : h->cfg.max_append_entries;
}

/* Leader: send whatever each peer is missing and may receive now. */
int ut__consensus_flush_appends(ut_consensus_t *h)
{
    if (h->role != UT_CONSENSUS_LEADER)
        return UT_OK;
    for (size_t i = 0; i < h->n_members; i++) {
        ut__consensus_progress_t *p = &h->prs[i];
        if (i == h->self)
            continue;
        while (ut__consensus_needs_append(h, p)) {
            /* >>> rsnap: the entries it needs are compacted (§7) */
            if (UT__UNLIKELY(p->next <= h->log.off)) {
                int src = ut__consensus_snapshot_send(h, i);
                if (src != UT_OK)
                    return src;
                break;
            }
            /* <<< rsnap */
            size_t n = entries_to_send(h, p);
            size_t max_bytes = h->cfg.max_append_bytes;
            /* >>> rstat: max_inflight_bytes (etcd-io/raft MaxInflightBytes) */
            if (UT__UNLIKELY(h->max_inflight_bytes != 0) &&
                (max_bytes = ut__consensus_flow_room(h, p, max_bytes)) == 0)
                break; /* its next entry waits for acknowledgements */
            /* <<< rstat */
            int rc = ut__consensus_msgbuf_reserve(h->live, 1, n);
            if (rc != UT_OK)
                return rc;
            send_append(h, i, n, max_bytes);
        }
    }
    return UT_OK;
}

/* >>> rperf2: the HEARD bits into prs[].heard, at the current time (before
 * h->now moves on or the bits are reset; raft.h) */
static void heard_flush(ut_consensus_t *h)
{
    for (size_t i = 0; i < h->n_members; i++)
        if (h->active[i] & UT__CONSENSUS_HEARD) {
            h->prs[i].heard = h->now + 1;
            h->active[i] &= (uint8_t)~UT__CONSENSUS_HEARD;
        }
}
/* <<< rperf2 */

static int become_leader(ut_consensus_t *h)
{
    int rc = check_edge(h, UT_CONSENSUS_LEADER, h->term);
    if (rc != UT_OK)
        return rc;
    /* Room for the no-op is reserved by every caller before it changes state. */
    UT__CONSENSUS_TRACE(h, UT_TRACE_INFO, "become-leader", NULL, h->term, 0);
    h->role = UT_CONSENSUS_LEADER;
    h->pre_candidate = false;
    h->leader = h->id;
    heard_flush(h); /* >>> rperf2 <<< */
    for (size_t i = 0; i < h->n_members; i++) {
        ut__consensus_progress_reset(&h->prs[i], h->log.last);
        h->match[i] = 0;
        h->active[i] = UT__CONSENSUS_ACTIVE;
    }
    ut__consensus_set_match(h, h->self, h->log.persisted);
    /* §5.4.2, §8: a new leader appends a no-op of its own term, so that the
     * entries of earlier terms can become committed through it. */
    ut__consensus_log_append(&h->log, h->term, UT_ENTRY_NOOP, NULL, 0);
    ut__consensus_members_become_leader(h); /* >>> rmemb <<< */
    /* >>> rstat: flow control counts from here (the no-op is not counted) */
    h->unc_bytes = 0;
    h->unc_done = h->log.last;
    /* <<< rstat */
    ut__consensus_pend(h, UT__CONSENSUS_PEND_ENTS | UT__CONSENSUS_PEND_CHECK |
                              UT__CONSENSUS_PEND_FLUSH);
    h->heartbeat_start = h->now;
    h->quorum_start = h->now;
    return UT_OK;
}

/* ---------------------------------------------------------------- election */

static ut__consensus_vote_result_t tally(const ut_consensus_t *h)
{
    /* >>> rmemb: thesis §4.3, a joint configuration elects with a majority
     * of each half (slot layout: consensus/membership.h). */
    if (UT__UNLIKELY(h->mb.joint))
        return ut__consensus_quorum_vote_joint(h->votes + h->mb.inc_lo, h->n_voters - h->mb.inc_lo,
                                               h->votes, h->mb.n_out);
    /* <<< rmemb */
    return ut__consensus_quorum_vote(h->votes, h->n_voters);
}

/* Worst-case messages one election round queues: one per member. */
static int reserve_election(ut_consensus_t *h)
{
    int rc = ut__consensus_msgbuf_reserve(h->live, h->n_members, 0);
    if (rc == UT_OK)
        rc = ut__consensus_log_reserve(&h->log, 1, 0); /* the no-op if we win at once */
    return rc;
}

static void send_vote_requests(ut_consensus_t *h, ut_msg_type_t type, uint64_t term)
{
    for (size_t i = 0; i < h->n_voters; i++) {
        if (i == h->self)
            continue;
        ut_msg_t *m = push_msg(h, type, h->ids[i], term);
        m->body.vote.last_log_index = h->log.last;
        m->body.vote.last_log_term = last_term(h);
    }
}

/* Start a (pre-)vote round: new randomised timeout, no votes but our own.
 * True when our own vote is already a majority (a single voter). */
static bool open_vote_round(ut_consensus_t *h)
{
    reset_election_timer(h);
    clear_votes(h);
    h->votes[h->self] = UT__CONSENSUS_VOTE_GRANTED;
    return tally(h) == UT__CONSENSUS_VOTE_WON;
}

/* §5.2: increment the term, vote for self, request votes. */
static int start_election(ut_consensus_t *h)
{
    int rc = check_edge(h, UT_CONSENSUS_CANDIDATE, h->term + 1);
    if (rc != UT_OK)
        return rc;
    set_term(h, h->term + 1, "campaign");
    h->vote = h->id;
    UT__CONSENSUS_TRACE(h, UT_TRACE_INFO, "become-candidate", NULL, h->term, 0);
    h->role = UT_CONSENSUS_CANDIDATE;
    h->pre_candidate = false;
    h->leader = 0;
    ut__consensus_pend(h, UT__CONSENSUS_PEND_CHECK);
    if (open_vote_round(h))
        return become_leader(h);
    send_vote_requests(h, UT_MSG_VOTE, h->term);
    return UT_OK;
}

/* Thesis §9.6: ask whether we could win before disrupting anyone with a
 * higher term. Our own term and vote stay unchanged. */
static int start_pre_vote(ut_consensus_t *h)
{
    UT__CONSENSUS_TRACE(h, UT_TRACE_INFO, "become-pre-candidate", NULL, h->term + 1, 0);
    h->pre_candidate = true;
    h->role = UT_CONSENSUS_FOLLOWER;
    h->leader = 0;
    ut__consensus_pend(h, UT__CONSENSUS_PEND_CHECK);
#ifdef UT__FAULT_PREVOTE_RAISES_TERM
    /* Test-only broken variant: the pre-vote raises the term. */
    h->term++;
    h->vote = 0;
#endif
    if (open_vote_round(h))
        return start_election(h);
    send_vote_requests(h, UT_MSG_PREVOTE, h->term + 1);
    return UT_OK;
}

static int campaign(ut_consensus_t *h)
{
    if (h->term >= UT__CONSENSUS_MAX_TERM) {
        /* Unreachable in practice (2^63 elections); never emit a term peers
         * must refuse. UT_ERANGE promises that nothing changed, so the
         * election timer (and the RNG behind it) is left alone too: every
         * later tick keeps reporting the exhausted term space. */
        return UT__CONSENSUS_REFUSE(h, UT_ERANGE, "campaign-refused", "term space exhausted",
                                    h->term, 0, "campaign: term space exhausted");
    }
    int rc = reserve_election(h);
    if (rc != UT_OK)
        return rc;
    return h->cfg.pre_vote ? start_pre_vote(h) : start_election(h);
}

/* >>> rxfer: thesis §3.10, the target of a leader transfer campaigns at
 * once, skipping pre-vote (its leader asked it to). */
int ut__consensus_start_election_now(ut_consensus_t *h)
{
    if (h->term >= UT__CONSENSUS_MAX_TERM)
        return UT__CONSENSUS_REFUSE(h, UT_ERANGE, "campaign-refused", "term space exhausted",
                                    h->term, 0, "campaign: term space exhausted");
    int rc = reserve_election(h);
    if (rc != UT_OK)
        return rc;
    return start_election(h);
}
/* <<< rxfer */

/* §5.4.1: grant only to a candidate whose log is at least as up-to-date. */
static bool log_up_to_date(const ut_consensus_t *h, uint64_t lterm, uint64_t lindex)
{
#ifdef UT__FAULT_LOG_INDEX_ONLY
    /* Test-only broken variant (mutation suite): logs compared by length
     * only. */
    (void)lterm;
    return lindex >= h->log.last;
#else
    uint64_t mine = last_term(h);
    return lterm > mine || (lterm == mine && lindex >= h->log.last);
#endif
}

/* Thesis §4.2.3: a node that heard from a live leader within the minimum
 * election timeout ignores requests to elect a new one (it neither adopts
 * the term nor votes), so a removed server, or a rejoining one, cannot
 * depose a healthy leader. The thesis applies the rule whatever else is on,
 * and so does this core. Applied only with check-quorum or pre-vote, as it
 * once was here, it let a removed node whose term had outrun the leader's
 * (it no longer hears the leader: the leader's messages are of a stale
 * term to it, and its answers come from a non-peer) keep campaigning with
 * both off, and members that still had it in their configuration took its
 * terms and deposed the leader again and again (utsim --changes 300
 * --compact 7 --nodes 7, seeds 11 and 34). Thesis §9.6 gives pre-vote the same rule. Normal
 * elections are not delayed: a node stands only an election timeout after it last heard a leader. A
 * leader transfer's candidacy is exempt (handle_vote). */
static bool in_lease(const ut_consensus_t *h)
{
    if (h->leader == 0)
        return false;
    /* A leader with check-quorum is its own lease: it steps down by itself
     * once it loses its majority. Without check-quorum it has no lease. */
    if (h->role == UT_CONSENSUS_LEADER)
        return h->cfg.check_quorum;
    return h->now - h->leader_contact < h->cfg.election_timeout_ms;
}

/* Lease reads (thesis §6.4.1) rest on every voter of the last quorum round
 * ignoring vote requests until the leader's lease has ended. A voter that
 * crashed and restarted has forgotten the leader it acknowledged
 * (leader_contact is not persistent), so in lease mode a restarted node
 * (ut_consensus_restore of a term above 0: a node that never stored a term
 * never acknowledged a leader) ignores vote requests for one election
 * timeout from its first tick: on its own clock
 * at least as long as any lease its acknowledgements before the restart can
 * have extended (the lease is shorter by max_clock_drift_ms). A transfer's
 * candidacy passes (its leader ended its lease when it sent TimeoutNow). */
static bool in_start_hold(const ut_consensus_t *h)
{
    return h->cfg.read_mode == UT_CONSENSUS_READ_LEASE && h->restart_hold &&
           h->role != UT_CONSENSUS_LEADER && h->now - h->started < h->cfg.election_timeout_ms;
}

/* ------------------------------------------------------------------ public */

/* ABI room (libgit2's rule): a caller built against an older header passes
 * a smaller struct with an older version. Bytes of ut_consensus_config_t each
 * version had; fields are only ever appended, so a version's fields are a
 * prefix of the current struct. Version 1 (0.1.0) ends with applied. When a
 * field is added, bump UT_CONSENSUS_CONFIG_VERSION and append its end here. */
#define UT__CONSENSUS_CONFIG_END(field)                                                            \
    (offsetof(ut_consensus_config_t, field) + sizeof(((ut_consensus_config_t *)0)->field))
static const size_t config_size[UT_CONSENSUS_CONFIG_VERSION + 1] = {
    0, UT__CONSENSUS_CONFIG_END(applied),         /* 1 */
    UT__CONSENSUS_CONFIG_END(trace_arg),          /* 2: trace, trace_arg */
    UT__CONSENSUS_CONFIG_END(max_clock_drift_ms), /* 3: flow, snapshot, membership, reads */
};
_Static_assert(sizeof config_size / sizeof config_size[0] == UT_CONSENSUS_CONFIG_VERSION + 1,
               "one size per config version");

static bool config_version_known(unsigned version)
{
    return version >= 1 && version <= UT_CONSENSUS_CONFIG_VERSION;
}

static void config_defaults(ut_consensus_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->version = UT_CONSENSUS_CONFIG_VERSION;
    cfg->election_timeout_ms = 1000;
    cfg->heartbeat_ms = 100;
    cfg->max_append_bytes = 1024 * 1024;
    cfg->max_append_entries = 256;
    cfg->max_inflight = 16;
    cfg->pre_vote = true;
    cfg->check_quorum = true;
    /* >>> rsnap */
    cfg->snapshot_chunk_bytes = UT_CONSENSUS_SNAPSHOT_CHUNK_DEFAULT;
    /* <<< rsnap */
    /* >>> rmemb: one AppendEntries of the default size catches it up */
    cfg->promote_max_lag = 256;
    /* <<< rmemb */
}

/* The caller's config of any known version as a current one: the fields its
 * version had are copied, later fields keep their defaults. Reads no byte
 * beyond what that version's struct had. */
static int config_upgrade(ut_consensus_config_t *out, const ut_consensus_config_t *cfg)
{
    if (!config_version_known(cfg->version))
        return UT_EVERSION;
    config_defaults(out);
    memcpy(out, cfg, config_size[cfg->version]);
    out->version = UT_CONSENSUS_CONFIG_VERSION;
    return UT_OK;
}

int ut_consensus_config_init(ut_consensus_config_t *cfg, unsigned version)
{
    if (cfg == NULL)
        return UT_EINVAL;
    if (!config_version_known(version))
        return UT_EVERSION;
    /* Write only the bytes a struct of that version has. */
    ut_consensus_config_t d;
    config_defaults(&d);
    d.version = version;
    memcpy(cfg, &d, config_size[version]);
    return UT_OK;
}

/* c is already upgraded to the current version (config_upgrade). */
static int validate_config(const ut_consensus_config_t *c)
{
    if (c->id == 0 || c->n_voters == 0 || c->voters == NULL ||
        (c->n_observers > 0 && c->observers == NULL))
        return UT_EINVAL;
    if (c->n_voters > UT_CONSENSUS_MAX_NODES || c->n_observers > UT_CONSENSUS_MAX_NODES ||
        c->n_voters + c->n_observers > UT_CONSENSUS_MAX_NODES)
        return UT_ERANGE;
    if (c->election_timeout_ms == 0 || c->heartbeat_ms == 0 ||
        c->heartbeat_ms >= c->election_timeout_ms || c->election_timeout_ms > UINT64_MAX / 4)
        return UT_EINVAL;
    if (c->max_append_entries == 0 || c->max_append_bytes == 0 || c->max_inflight == 0)
        return UT_EINVAL;
    if (c->max_inflight > UT__CONSENSUS_MAX_INFLIGHT)
        return UT_ERANGE;
    /* Every AppendEntries the leader can build must fit in a frame: a batch
     * of max_append_entries headers and max_append_bytes payload (a single
     * larger entry is bounded by UT_CONSENSUS_MAX_ENTRY_BYTES instead). */
    const size_t room = UT_MSG_MAX_FRAME - UT_CONSENSUS_APPEND_OVERHEAD;
    if (c->max_append_entries > room / UT_CONSENSUS_ENTRY_OVERHEAD ||
        c->max_append_bytes > room - UT_CONSENSUS_ENTRY_OVERHEAD * c->max_append_entries)
        return UT_ERANGE;
    /* >>> rsnap: every InstallSnapshot chunk fits in a frame */
    if (c->snapshot_chunk_bytes == 0)
        return UT_EINVAL;
    if (c->snapshot_chunk_bytes > UT_CONSENSUS_SNAPSHOT_MAX_CHUNK)
        return UT_ERANGE;
    /* <<< rsnap */
    /* >>> rread: read_mode, max_clock_drift_ms (thesis §6.4.1) */
    if (ut__consensus_reads_validate(c) != UT_OK)
        return UT_EINVAL;
    /* <<< rread */
    bool found = false;
    size_t n = c->n_voters + c->n_observers;
    for (size_t i = 0; i < n; i++) {
        uint64_t a = i < c->n_voters ? c->voters[i] : c->observers[i - c->n_voters];
        if (a == 0)
            return UT_EINVAL;
        if (a == c->id)
            found = true;
        for (size_t j = 0; j < i; j++) {
            uint64_t b = j < c->n_voters ? c->voters[j] : c->observers[j - c->n_voters];
            if (a == b)
                return UT_EINVAL;
        }
    }
    return found ? UT_OK : UT_EINVAL;
}

int ut_consensus_new(ut_consensus_t **out, const ut_consensus_config_t *cfg)
{
    if (out == NULL || cfg == NULL)
        return UT_EINVAL;
    ut_consensus_config_t cur;
    int rc = config_upgrade(&cur, cfg);
    if (rc != UT_OK)
        return rc;
    cfg = &cur; /* from here on, every field of the current version */
    rc = validate_config(cfg);
    if (rc != UT_OK)
        return rc;
    ut_consensus_t *h = ut__calloc(1, sizeof *h);
    if (h == NULL)
        return UT_ENOMEM;
    size_t n = cfg->n_voters + cfg->n_observers;
    h->rings = ut__calloc(n * cfg->max_inflight, sizeof(ut__consensus_inflight_slot_t));
    if (h->rings == NULL) {
        ut__free(h);
        return UT_ENOMEM;
    }
    ut__handle_init(&h->base, UT__CONSENSUS_MAGIC);
    h->tracer.fn = cfg->trace;
    h->tracer.arg = cfg->trace_arg;
    h->live = &h->bufs[0];
    h->out = &h->bufs[1];
    h->cfg = *cfg;
    h->cfg.voters = NULL; /* not kept: the caller owns them */
    h->cfg.observers = NULL;
    if (h->cfg.max_uncommitted_bytes != 0)
        h->propose_gate |= UT__CONSENSUS_GATE_FLOW;
    h->id = cfg->id;
    _Static_assert(2 * UT_CONSENSUS_MAX_NODES == 128 && UT__CONSENSUS_MAX_SLOTS < 255,
                   "peer_slot: 128 entries (ut__consensus_peer_hash) of slot + 1 in a byte");
    h->max_inflight_bytes = cfg->max_inflight_bytes; /* >>> rstat <<< (before the windows) */
    /* >>> rmemb: ids, prs, peer_slot ... from the configuration */
    ut__consensus_members_init(h, cfg);
    /* <<< rmemb */
    h->role = h->self_voter ? UT_CONSENSUS_FOLLOWER : UT_CONSENSUS_OBSERVER;
    h->last_role = h->role;
    h->rng = ut__rand_seed(cfg->seed, cfg->id);
    ut__consensus_log_init(&h->log);
    reset_election_timer(h);
    *out = h;
    return UT_OK;
}

void ut_consensus_free(ut_consensus_t *h)
{
    if (!ut__consensus_valid(h))
        return;
    /* >>> rsnap */
    ut__consensus_snapshot_free(h);
    /* <<< rsnap */
    ut__consensus_reads_free(h); /* >>> rread <<< */
    ut__consensus_log_destroy(&h->log);
    msgbuf_free(h->live);
    msgbuf_free(h->out);
    ut__free(h->rd_ents);
    ut__free(h->rd_apply);
    ut__free(h->rings);
    ut__handle_retire(&h->base);
    ut__free(h);
}

int ut_consensus_restore(ut_consensus_t *h, const ut_consensus_hard_state_t *hs,
                         const ut_entry_t *entries, size_t n)
{
    if (!ut__consensus_valid(h) || hs == NULL || (n > 0 && entries == NULL))
        return UT_EINVAL;
    if (h->took_input || h->restored)
        return UT__CONSENSUS_REFUSE(h, UT_ESTATE, "restore-refused", "the node already took input",
                                    0, 0, "restore: the node already took input");
    size_t bytes = 0;
    uint64_t prev_term = 0;
    bool has_cfg = false; /* >>> rmemb <<< */
    for (size_t i = 0; i < n; i++) {
        const ut_entry_t *e = &entries[i];
        if (e->index != i + 1)
            return UT__CONSENSUS_REFUSE(
                h, UT_ECORRUPT, "restore-refused", "entry index out of sequence", e->index, i,
                "restore: entry %zu has index %llu", i, (unsigned long long)e->index);
        if (e->term == 0 || e->term < prev_term || e->term > hs->term)
            return UT__CONSENSUS_REFUSE(h, UT_ECORRUPT, "restore-refused", "entry term impossible",
                                        e->index, e->term,
                                        "restore: entry %llu has impossible term %llu",
                                        (unsigned long long)e->index, (unsigned long long)e->term);
        if (e->type > UT_ENTRY_NOOP || (e->len > 0 && e->data == NULL) ||
            e->len > UT_CONSENSUS_MAX_ENTRY_BYTES) {
            /* >>> rmemb: a configuration entry with a valid payload */
            if (e->type == UT_ENTRY_CONFIG && ut__consensus_members_check_entry(e) == UT_OK) {
                has_cfg = true;
            } else /* <<< rmemb */
                return UT__CONSENSUS_REFUSE(h, UT_ECORRUPT, "restore-refused", "entry malformed",
                                            e->index, e->len, "restore: entry %llu is malformed",
                                            (unsigned long long)e->index);
        }
        if (bytes > SIZE_MAX - e->len)
            return UT__CONSENSUS_REFUSE(h, UT_ENOMEM, "restore-refused", "out of memory", n, 0,
                                        "restore: out of memory (%zu entries)", n);
        bytes += e->len;
        prev_term = e->term;
    }
    if (hs->term > UT__CONSENSUS_MAX_TERM)
        return UT__CONSENSUS_REFUSE(h, UT_ECORRUPT, "restore-refused", "term impossible", hs->term,
                                    0, "restore: impossible term %llu",
                                    (unsigned long long)hs->term);
    /* The commit index may be persisted lazily, so a durable state machine
     * may have applied beyond it; it applied only entries handed out as
     * committed, so its applied index is itself evidence of commitment
     * (§5.4: committed entries are in every later leader's log). It cannot
     * exceed the log, though: that would be another node's state. */
    if (h->cfg.applied > n)
        return UT__CONSENSUS_REFUSE(h, UT_ECORRUPT, "restore-refused", "applied beyond the log",
                                    h->cfg.applied, n,
                                    "restore: applied %llu beyond the last entry %zu",
                                    (unsigned long long)h->cfg.applied, n);
    if (hs->commit > n)
        return UT__CONSENSUS_REFUSE(h, UT_ECORRUPT, "restore-refused", "commit beyond the log",
                                    hs->commit, n, "restore: commit %llu beyond the last entry %zu",
                                    (unsigned long long)hs->commit, n);
    /* A vote is cast in a term (§5.2). Whom it went to is not checked
     * against the restored configuration: the candidate was a voter where
     * this node voted, by a configuration entry a later truncation in the
     * same term may have taken away (thesis §4.1), even from a log that
     * holds no configuration entry now (seed 6224 of the 5-voter random
     * test found one). */
    if (hs->vote != 0 && hs->term == 0)
        return UT__CONSENSUS_REFUSE(h, UT_ECORRUPT, "restore-refused", "vote without a term",
                                    hs->vote, hs->term, "restore: vote for %llu in term 0",
                                    (unsigned long long)hs->vote);
    int rc = ut__consensus_log_reserve(&h->log, n, bytes);
    /* >>> rmemb: room for the slots a configuration from the log needs */
    if (rc == UT_OK && has_cfg)
        rc = ut__consensus_members_reserve(h);
    /* <<< rmemb */
    if (rc != UT_OK)
        return UT__CONSENSUS_REFUSE(h, rc, "restore-refused", "out of memory", n, 0,
                                    "restore: out of memory");
    for (size_t i = 0; i < n; i++)
        ut__consensus_log_append(&h->log, entries[i].term, entries[i].type, entries[i].data,
                                 entries[i].len);
    h->term = hs->term;
    h->vote = hs->vote;
    h->log.commit = hs->commit > h->cfg.applied ? hs->commit : h->cfg.applied;
    h->last_hs = *hs; /* a raised commit goes out in the next hard state */
    h->log.stable = h->log.persisted = h->log.last;
    /* Committed entries the application does not hold yet are handed out
     * again: all of them for an in-memory state machine (applied = 0). */
    h->log.applied = h->cfg.applied;
    /* >>> rmemb: the configuration of the restored log (thesis §4.1) */
    if (has_cfg)
        ut__consensus_members_restored(h);
    /* <<< rmemb */
    h->restored = true;
    h->restart_hold = hs->term != 0; /* in_start_hold */
    ut__consensus_pend(h, UT__CONSENSUS_PEND_CHECK);
    return UT_OK;
}

/* ------------------------------------------------------------------ tick */

/* The leader's timers: check-quorum (thesis §6.2) and heartbeats (§5.2).
 * h->now is already the new time; old_now restores it on a refusal. */
static int tick_leader(ut_consensus_t *h, uint64_t old_now)
{
    uint64_t now_ms = h->now;
    /* Reserve the heartbeats before anything changes: UT_ENOMEM must not
     * leave a quorum round half done. */
    bool heartbeat = now_ms - h->heartbeat_start >= h->cfg.heartbeat_ms;
    if (heartbeat) {
        int rc = ut__consensus_msgbuf_reserve(h->live, h->n_members, 0);
        if (rc != UT_OK) {
            h->now = old_now;
            return ut__consensus_oom(h, rc, "tick");
        }
    }
    /* >>> rxfer: a transfer that did not finish in time is aborted (thesis §3.10) */
    if (UT__UNLIKELY(h->xfer_target != 0))
        ut__consensus_transfer_tick(h);
    /* <<< rxfer */
    /* Thesis §6.2: step down when a majority has not been heard from for
     * an election timeout, so a partitioned leader stops serving. */
    if (h->cfg.check_quorum && now_ms - h->quorum_start >= h->cfg.election_timeout_ms) {
        bool active[UT_CONSENSUS_MAX_NODES];
        for (size_t i = 0; i < h->n_members; i++) {
            if (i < h->n_voters)
                active[i] = i == h->self || (h->active[i] & UT__CONSENSUS_ACTIVE);
            h->active[i] = 0; /* no HEARD bit: flushed by ut_consensus_tick */
        }
        h->quorum_start = now_ms;
        /* >>> rmemb: joint, a majority of each half (thesis §4.3) */
        bool alive =
            UT__UNLIKELY(h->mb.joint)
                ? ut__consensus_quorum_active_joint(active + h->mb.inc_lo,
                                                    h->n_voters - h->mb.inc_lo, active, h->mb.n_out)
                : ut__consensus_quorum_active(active, h->n_voters);
        /* <<< rmemb */
        if (!alive) {
            UT__CONSENSUS_TRACE(h, UT_TRACE_WARN, "step-down", "check-quorum: no quorum active",
                                h->term, 0);
            return become_follower(h, h->term, 0, "check-quorum");
        }
    }
    if (heartbeat) {
        h->heartbeat_start = now_ms;
        /* >>> rread: in lease mode every heartbeat round renews the lease */
        if (UT__UNLIKELY(h->cfg.read_mode == UT_CONSENSUS_READ_LEASE))
            ut__consensus_reads_lease_round(h);
        /* <<< rread */
        for (size_t i = 0; i < h->n_members; i++) {
            ut__consensus_progress_t *p = &h->prs[i];
            if (i == h->self)
                continue;
            /* A stalled pipeline probes again; a lost probe is re-sent. */
            ut__consensus_progress_heartbeat(p, h->log.last);
            if (ut__consensus_needs_append(h, p))
                ut__consensus_pend(h, UT__CONSENSUS_PEND_FLUSH);
            send_heartbeat(h, i);
        }
    }
    return UT_OK;
}

/* A follower's, (pre-)candidate's election timer (§5.2); observers have
 * none. */
static int tick_election(ut_consensus_t *h, uint64_t old_now)
{
    if (!h->self_voter)
        return UT_OK; /* observers never campaign */
    if (h->now - h->election_start >= h->election_timeout) {
        UT__CONSENSUS_TRACE(h, UT_TRACE_INFO, "election-timeout",
                            h->leader != 0 ? "no word from the leader" : "no leader", h->term,
                            h->leader);
        int rc = campaign(h);
        if (rc != UT_OK)
            h->now = old_now;
        return ut__consensus_oom(h, rc, "tick");
    }
    return UT_OK;
}

int ut_consensus_tick(ut_consensus_t *h, uint64_t now_ms)
{
    if (!ut__consensus_valid(h))
        return UT_EINVAL;
    if (!h->time_init) {
        /* The first tick fixes the time origin: timers count from here. */
        h->time_init = true;
        h->took_input = true;
        /* Responses stepped before the first tick were heard at 0. */
        heard_flush(h); /* >>> rperf2 <<< */
        h->now = now_ms;
        reset_election_timer(h);
        h->heartbeat_start = h->quorum_start = h->leader_contact = h->started = now_ms;
        return UT_OK;
    }
    if (now_ms < h->now)
        return UT__CONSENSUS_REFUSE(h, UT_ERANGE, "tick-refused", "time went backwards", now_ms,
                                    h->now, "tick: time went backwards (%llu < %llu)",
                                    (unsigned long long)now_ms, (unsigned long long)h->now);
    uint64_t old_now = h->now;
    heard_flush(h); /* >>> rperf2 <<< */
    h->now = now_ms;
    /* >>> rmemb: a committed configuration change settles (thesis §4.2.2, §4.3) */
    if (UT__UNLIKELY(h->mb.pending))
        ut__consensus_members_settle(h);
    /* <<< rmemb */
    return h->role == UT_CONSENSUS_LEADER ? tick_leader(h, old_now) : tick_election(h, old_now);
}

int ut_consensus_campaign(ut_consensus_t *h)
{
    if (!ut__consensus_valid(h))
        return UT_EINVAL;
    if (h->role == UT_CONSENSUS_LEADER || !h->self_voter)
        return UT__CONSENSUS_REFUSE(h, UT_ESTATE, "campaign-refused", "not a follower or candidate",
                                    h->role, 0, "campaign: a %s cannot campaign",
                                    ut_consensus_state_name(h->role));
    int rc = campaign(h);
    if (rc == UT_OK)
        h->took_input = true; /* a refused call is no input (restore still allowed) */
    return ut__consensus_oom(h, rc, "campaign");
}

/* Append one proposal, room reserved. */
static inline void propose_append(ut_consensus_t *h, const void *data, size_t len,
                                  uint64_t *out_index)
{
    h->took_input = true;
    ut__consensus_log_append(&h->log, h->term, UT_ENTRY_NORMAL, data, (uint32_t)len);
    ut__consensus_pend(h, UT__CONSENSUS_PEND_ENTS | UT__CONSENSUS_PEND_FLUSH);
    if (out_index != NULL)
        *out_index = h->log.last;
}

/* ut_consensus_propose() for every case but the common one: each check with
 * its refusal, and the reservation that may allocate. */
static UT__CONSENSUS_NOINLINE int propose_slow(ut_consensus_t *h, const void *data, size_t len,
                                               uint64_t *out_index)
{
    if (!ut__consensus_valid(h) || (data == NULL && len > 0))
        return UT_EINVAL;
    if (h->role != UT_CONSENSUS_LEADER)
        return UT__CONSENSUS_REFUSE(h, UT_ENOTLEADER, "propose-refused", "not the leader",
                                    h->leader, 0, "propose: not the leader (leader is %llu)",
                                    (unsigned long long)h->leader);
    /* >>> rxfer: thesis §3.10, no proposals while leadership is handed over */
    if (h->propose_gate & UT__CONSENSUS_GATE_XFER)
        return ut__consensus_transfer_busy(h, "propose-refused", "propose");
    /* <<< rxfer */
    /* A leader sends every entry, alone if need be: one that no frame can
     * carry would stall replication behind it for good. */
    if (len > UT_CONSENSUS_MAX_ENTRY_BYTES)
        return UT__CONSENSUS_REFUSE(
            h, UT_ERANGE, "propose-refused", "entry too large", len, 0,
            "propose: %zu bytes is more than an AppendEntries can carry (%u)", len,
            (unsigned)UT_CONSENSUS_MAX_ENTRY_BYTES);
    int rc = ut__consensus_log_reserve(&h->log, 1, len);
    if (rc != UT_OK)
        return UT__CONSENSUS_REFUSE(h, rc, "propose-refused", "out of memory", len, 0,
                                    "propose: out of memory");
    /* >>> rstat: flow control (etcd-io/raft MaxUncommittedEntriesSize);
     * after the reservation, so a refusal by either counts nothing */
    if (h->cfg.max_uncommitted_bytes != 0 &&
        (rc = ut__consensus_flow_admit(h, len, "propose")) != UT_OK)
        return rc;
    /* <<< rstat */
    propose_append(h, data, len, out_index);
    return UT_OK;
}

/* The common case (a leader with room for the entry and no gate closed:
 * flow control configured, a transfer under way) decides with one branch
 * and calls nothing, so it needs no stack frame; everything else goes to
 * propose_slow. */
int ut_consensus_propose(ut_consensus_t *h, const void *data, size_t len, uint64_t *out_index)
{
    if (UT__UNLIKELY(!ut__consensus_valid(h) || (data == NULL && len > 0) ||
                     h->role != UT_CONSENSUS_LEADER || h->propose_gate != 0 ||
                     len > UT_CONSENSUS_MAX_ENTRY_BYTES ||
                     !ut__consensus_log_has_room(&h->log, 1, len)))
        return propose_slow(h, data, len, out_index);
    propose_append(h, data, len, out_index);
    return UT_OK;
}

int ut_consensus_propose_batch(ut_consensus_t *h, const ut_consensus_buf_t *bufs, size_t n,
                               uint64_t *first_index)
{
    if (!ut__consensus_valid(h))
        return UT_EINVAL;
    if (bufs == NULL && n > 0)
        return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "propose-refused", "NULL batch", n, 0,
                                    "propose_batch: NULL bufs for %zu entries", n);
    if (h->role != UT_CONSENSUS_LEADER)
        return UT__CONSENSUS_REFUSE(h, UT_ENOTLEADER, "propose-refused", "not the leader",
                                    h->leader, 0, "propose_batch: not the leader (leader is %llu)",
                                    (unsigned long long)h->leader);
    /* >>> rxfer: thesis §3.10, no proposals while leadership is handed over */
    if (UT__UNLIKELY(h->propose_gate & UT__CONSENSUS_GATE_XFER))
        return ut__consensus_transfer_busy(h, "propose-refused", "propose_batch");
    /* <<< rxfer */
    /* All or nothing: every payload checked, all the room reserved, before
     * the first entry is appended. */
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = bufs[i].len;
        if (bufs[i].data == NULL && len > 0)
            return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "propose-refused", "NULL payload", i, len,
                                        "propose_batch: entry %zu has NULL data", i);
        if (len > UT_CONSENSUS_MAX_ENTRY_BYTES)
            return UT__CONSENSUS_REFUSE(
                h, UT_ERANGE, "propose-refused", "entry too large", i, len,
                "propose_batch: entry %zu has %zu bytes, more than an AppendEntries can carry (%u)",
                i, len, (unsigned)UT_CONSENSUS_MAX_ENTRY_BYTES);
        if (bytes > SIZE_MAX - len)
            return UT__CONSENSUS_REFUSE(h, UT_ERANGE, "propose-refused", "batch too large", n, 0,
                                        "propose_batch: %zu entries exceed SIZE_MAX bytes", n);
        bytes += len;
    }
    int rc = ut__consensus_log_reserve(&h->log, n, bytes);
    if (rc != UT_OK)
        return UT__CONSENSUS_REFUSE(h, rc, "propose-refused", "out of memory", n, bytes,
                                    "propose_batch: out of memory (%zu entries)", n);
    /* >>> rstat: flow control, the batch as a whole */
    if (UT__UNLIKELY(h->cfg.max_uncommitted_bytes != 0) &&
        (rc = ut__consensus_flow_admit(h, bytes, "propose_batch")) != UT_OK)
        return rc;
    /* <<< rstat */
    if (first_index != NULL)
        *first_index = h->log.last + 1;
    if (n == 0)
        return UT_OK;
    h->took_input = true;
    for (size_t i = 0; i < n; i++)
        ut__consensus_log_append(&h->log, h->term, UT_ENTRY_NORMAL, bufs[i].data,
                                 (uint32_t)bufs[i].len);
    ut__consensus_pend(h, UT__CONSENSUS_PEND_ENTS | UT__CONSENSUS_PEND_FLUSH);
    return UT_OK;
}

/* -------------------------------------------------------------------- step */

/* Entries >= from were just replaced in memory. A success reply still in the
 * live outbox (not handed out yet) may claim one of them for an older
 * leader; it leaves only with the ready that persists the replacement, so it
 * would claim an entry that is not on disk (§5.3 and Figure 2: reply only
 * after storing). Lower it to the prefix that is unchanged: entries below
 * from still match that leader. Runs only on a conflict, which is rare. */
static void retract_acks(ut_consensus_t *h, uint64_t from)
{
    ut__consensus_msgbuf_t *b = h->live;
    for (size_t i = 0; i < b->n; i++) {
        ut_msg_t *m = &b->msgs[i];
        if (m->type == UT_MSG_APPEND_RESP && m->body.append_resp.success &&
            m->body.append_resp.index >= from)
            m->body.append_resp.index = from - 1;
    }
}

/* >>> rmemb: an entry the fast check of handle_append doubts: anything but
 * a well-formed ordinary entry. */
static bool append_entry_doubtful(const ut_entry_t *e)
{
    return e->type > UT_ENTRY_NOOP || (e->len > 0 && e->data == NULL) ||
           e->len > UT_CONSENSUS_MAX_ENTRY_BYTES;
}

/* Every doubtful entry of m must be a valid configuration entry: UT_OK, or
 * the message is refused naming the first that is not. */
UT__CONSENSUS_NOINLINE static int append_entries_slow(ut_consensus_t *h, const ut_msg_t *m)
{
    const ut_msg_append_t *a = &m->body.append;
    for (size_t i = 0; i < a->n_entries; i++) {
        const ut_entry_t *e = &a->entries[i];
        if (append_entry_doubtful(e) &&
            (e->type != UT_ENTRY_CONFIG || e->len > UT_CONSENSUS_MAX_ENTRY_BYTES ||
             ut__consensus_members_check_entry(e) != UT_OK))
            return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "step-refused", "malformed append: entry",
                                        m->term, m->from, "step: append entry %llu is malformed",
                                        (unsigned long long)e->index);
    }
    return UT_OK;
}
/* <<< rmemb */

/* §5.3 receiver rules for AppendEntries; m->term >= h->term here. One pass
 * validates every entry (nothing is trusted before the whole message is
 * checked), finds the first entry we lack or that conflicts with our log, and
 * sums the payload bytes to reserve. */
static int handle_append_doubted(ut_consensus_t *h, const ut_msg_t *m); /* rmemb */

#if defined(__GNUC__) || defined(__clang__)
__attribute__((always_inline))
#endif
static inline int
append_impl(ut_consensus_t *h, const ut_msg_t *m, bool cfg_checked)
{
    const ut_msg_append_t *a = &m->body.append;
    if (a->n_entries > 0 && a->entries == NULL)
        return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "step-refused", "malformed append: entries NULL",
                                    m->term, m->from, "step: append with entries == NULL");
    if (a->prev_index > UINT64_MAX - a->n_entries)
        return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "step-refused",
                                    "malformed append: indexes overflow", m->term, m->from,
                                    "step: append indexes overflow");
    if (a->prev_term > m->term || (a->prev_index == 0) != (a->prev_term == 0))
        return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "step-refused", "malformed append: prev_term",
                                    m->term, m->from, "step: append has impossible prev_term");
    if (h->role == UT_CONSENSUS_LEADER && m->term == h->term)
        return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "step-refused",
                                    "append from a second leader of this term", m->term, m->from,
                                    "step: append from %llu, but this node leads term %llu",
                                    (unsigned long long)m->from, (unsigned long long)h->term);

    bool ok = a->prev_index <= h->log.last &&
              ut__consensus_log_term(&h->log, a->prev_index) == a->prev_term;
    uint64_t conflict = 0, t = a->prev_term;
    size_t skip = a->n_entries, bytes = 0;
    for (size_t i = 0; i < a->n_entries; i++) {
        const ut_entry_t *e = &a->entries[i];
        if (e->index != a->prev_index + 1 + i)
            return UT__CONSENSUS_REFUSE(
                h, UT_EINVAL, "step-refused", "malformed append: entry index", m->term, m->from,
                "step: append entry %zu has index %llu, want %llu", i, (unsigned long long)e->index,
                (unsigned long long)(a->prev_index + 1 + i));
        if (e->term < t || e->term == 0 || e->term > m->term)
            return UT__CONSENSUS_REFUSE(
                h, UT_EINVAL, "step-refused", "malformed append: entry term", m->term, m->from,
                "step: append entry %llu has impossible term", (unsigned long long)e->index);
        /* >>> rmemb: a configuration entry is checked out of line, and the
         * message is then handled again with the check done */
        if (!cfg_checked && UT__UNLIKELY(append_entry_doubtful(e)))
            return handle_append_doubted(h, m);
        /* <<< rmemb */
        t = e->term;
        if (skip == a->n_entries) {
            if (e->index > h->log.last) {
                skip = i;
            } else if (ut__consensus_log_term(&h->log, e->index) != e->term) {
                skip = i;
                conflict = e->index;
            }
        }
        if (skip != a->n_entries)
            bytes += e->len;
    }
    int rc;
    if (ok) {
        /* Leader Completeness (§5.4) makes a conflict at or below our commit
         * impossible from a legitimate leader: refuse rather than lose
         * committed entries. */
        if (conflict != 0 && conflict <= h->log.commit) {
            /* >>> rsnap: a prev index 0 after compaction "conflicts" with
             * the compacted entries: answered below, without touching the
             * log */
            if (a->prev_index < h->log.off)
                return ut__consensus_snapshot_append_from_0(h, m);
            /* <<< rsnap */
            return UT__CONSENSUS_REFUSE(
                h, UT_EINVAL, "step-refused", "append would overwrite a committed entry", m->term,
                m->from, "step: append would overwrite committed entry %llu",
                (unsigned long long)conflict);
        }
        rc = ut__consensus_log_reserve(&h->log, a->n_entries - skip, bytes);
        if (rc == UT_OK && conflict != 0)
            rc =
                ut__consensus_log_prepare_truncate(&h->log, conflict, a->prev_index + a->n_entries);
        /* >>> rmemb: a configuration may come in or be truncated away */
        if (rc == UT_OK && UT__UNLIKELY(cfg_checked || conflict != 0))
            rc = ut__consensus_members_reserve(h);
        /* <<< rmemb */
        if (rc != UT_OK)
            return rc;
    }
    rc = ut__consensus_msgbuf_reserve(h->live, 1, 0);
    if (rc != UT_OK)
        return rc;

    /* From here on nothing can fail. */
    if (m->term > h->term ||
        (h->role != UT_CONSENSUS_FOLLOWER && h->role != UT_CONSENSUS_OBSERVER)) {
        /* §5.1 newer term, or §5.2 a candidate meets the term's leader. */
        rc = become_follower(h, m->term, m->from,
                             m->term > h->term ? "append of a higher term"
                                               : "append from the leader");
        if (rc != UT_OK)
            return rc;
    } else {
        if (h->pre_candidate)
            UT__CONSENSUS_TRACE(h, UT_TRACE_INFO, "become-follower", "append from the leader",
                                h->term, m->from);
        h->pre_candidate = false;
        if (h->leader != m->from) {
            h->leader = m->from;
            ut__consensus_pend(h, UT__CONSENSUS_PEND_CHECK);
        }
        h->leader_contact = h->now;
#ifndef UT__FAULT_NO_TIMER_RESET /* test-only: a follower keeps its election timer */
        /* §5.2: word from the leader restarts the election timer. The
         * timeout itself was drawn when this node last became a follower,
         * granted a vote or campaigned (once per term at most, as
         * consensus.h says): no random draw per AppendEntries. */
        restart_election_timer(h);
#endif
    }

    /* push_msg(), inlined: the answer to every AppendEntries */
    ut_msg_t *r = push_msg_head(h, UT_MSG_APPEND_RESP, m->from, h->term);
    memset(&r->body, 0, sizeof r->body.append);
    r->body.append_resp.read_round = a->read_round; /* >>> rread: thesis §6.4 echo <<< */
    if (!ok) {
        /* >>> rsnap */
        if (UT__UNLIKELY(a->prev_index < h->log.off)) {
            ut__consensus_snapshot_append_below(h, r, m);
            return UT_OK;
        }
        /* <<< rsnap */
        /* Consistency check failed: tell the leader where our log diverges
         * so it can skip a whole term per round trip. */
        UT__CONSENSUS_TRACE(h, UT_TRACE_DEBUG, "append-rejected", "log mismatch", a->prev_index,
                            m->from);
        r->body.append_resp.success = false;
        r->body.append_resp.index = a->prev_index;
        if (a->prev_index > h->log.last) {
            r->body.append_resp.hint_term = 0;
            r->body.append_resp.hint_index = h->log.last + 1;
        } else {
            uint64_t ct = ut__consensus_log_term(&h->log, a->prev_index);
            uint64_t first = a->prev_index;
            while (first > h->log.commit + 1 && first > 1 &&
                   ut__consensus_log_term(&h->log, first - 1) == ct)
                first--;
            r->body.append_resp.hint_term = ct;
            r->body.append_resp.hint_index = first;
        }
        return UT_OK;
    }
    if (conflict != 0) {
        UT__CONSENSUS_TRACE(h, UT_TRACE_INFO, "log-truncated", "conflict with the leader", conflict,
                            m->from);
        ut__consensus_log_truncate(&h->log, conflict); /* and stable, persisted */
        ut__consensus_pend(h, UT__CONSENSUS_PEND_CHECK);
        retract_acks(h, conflict);
    }
    for (size_t i = skip; i < a->n_entries; i++) {
        const ut_entry_t *e = &a->entries[i];
        ut__consensus_log_append(&h->log, e->term, e->type, e->data, e->len);
    }
    if (skip < a->n_entries)
        ut__consensus_pend(h, UT__CONSENSUS_PEND_ENTS);
    /* >>> rmemb: thesis §4.1, a configuration entry takes effect once in the
     * log; one truncated away gives back the configuration before it. */
    if (UT__UNLIKELY(cfg_checked || (conflict != 0 && conflict <= h->mb.last_entry))) {
        ut__consensus_members_log_changed(h, conflict);
    }
    /* <<< rmemb */
    uint64_t last_new = a->prev_index + a->n_entries;
    /* §5.3: commitIndex = min(leaderCommit, index of last new entry); never
     * lowered, so a delayed AppendEntries cannot move it back. */
    uint64_t c = a->commit < last_new ? a->commit : last_new;
#ifdef UT__FAULT_COMMIT_PAST_NEW
    /* Test-only broken variant: the follower's commit is capped by its own
     * last index, not by the last entry this message vouched for. */
    c = a->commit < h->log.last ? a->commit : h->log.last;
#endif
    if (c > h->log.commit) {
        h->log.commit = c;
        ut__consensus_pend(h, UT__CONSENSUS_PEND_COMMIT);
    }
    r->body.append_resp.success = true;
    r->body.append_resp.index = last_new;
    return UT_OK;
}

/* >>> rmemb: an AppendEntries with an entry the fast check doubted: every
 * doubtful entry must be a valid configuration entry (or the message is
 * refused); then it is handled as usual, with cfg_checked set (the log's
 * configuration is looked at again). Out of line, so that the common path
 * keeps the loop it had before configuration entries existed: a call in
 * the loop would cost every entry of every AppendEntries. */
UT__CONSENSUS_NOINLINE static int handle_append_doubted(ut_consensus_t *h, const ut_msg_t *m)
{
    int rc = append_entries_slow(h, m);
    return rc != UT_OK ? rc : append_impl(h, m, true);
}
/* <<< rmemb */

static int handle_append(ut_consensus_t *h, const ut_msg_t *m)
{
    return append_impl(h, m, false);
}

/* handle_append_resp() past its checks and the read-round echo (inlined
 * in both callers: the common one stays a leaf of ut_consensus_step). */
/* >>> rperf2: only this peer's progress moved: it alone may have become
 * sendable (each path of handle_append_resp ends here on a leader) */
static UT__CONSENSUS_ALWAYS_INLINE void append_resp_pend(ut_consensus_t *h, size_t slot)
{
    if (h->role == UT_CONSENSUS_LEADER && ut__consensus_needs_append(h, &h->prs[slot]))
        ut__consensus_pend(h, UT__CONSENSUS_PEND_FLUSH);
}
/* <<< rperf2 */

static UT__CONSENSUS_ALWAYS_INLINE int append_resp_apply_body(ut_consensus_t *h, const ut_msg_t *m,
                                                              size_t slot)
{
    ut__consensus_progress_t *p = &h->prs[slot];
    const ut_msg_append_resp_t *r = &m->body.append_resp;
    /* >>> rperf2: live for check-quorum, and heard now (rstat; raft.h) */
    h->active[slot] = UT__CONSENSUS_ACTIVE | UT__CONSENSUS_HEARD;
    /* <<< rperf2 */
    if (r->success) {
        if (ut__consensus_progress_ack(p, r->index)) {
            h->match[slot] = r->index;
            /* The majority commit looks only at matches above the commit
             * index (its floor), so a match raised to at most that changes
             * nothing (the second acknowledgement of a 3-node cluster). */
            if (r->index > h->log.commit)
                ut__consensus_maybe_commit(h);
        }
        /* >>> rxfer: the transfer's target may now be caught up (thesis §3.10) */
        if (UT__UNLIKELY(h->xfer_target != 0))
            ut__consensus_transfer_acked(h, slot);
        /* <<< rxfer */
        return UT_OK;
    }
    /* >>> rsnap: the snapshot decides where this follower resumes */
    if (p->state == UT__CONSENSUS_PR_SNAPSHOT)
        return UT_OK;
    /* <<< rsnap */
    /* Rejection (§5.3): ignore stale ones, then back up next using the hint. */
    if (r->index < p->match || (p->state == UT__CONSENSUS_PR_PROBE && r->index + 1 != p->next))
        return UT_OK;
    uint64_t next;
    if (r->hint_term == 0) {
        next = r->hint_index;
    } else {
        /* Skip to just past our last entry of the follower's conflicting
         * term, or past the follower's whole term if we have none of it. */
        uint64_t i = r->index;
        while (i > p->match && ut__consensus_log_term(&h->log, i) > r->hint_term)
            i--;
        next = (ut__consensus_log_term(&h->log, i) == r->hint_term && i > p->match) ? i + 1
                                                                                    : r->hint_index;
    }
    if (next > r->index)
        next = r->index;
    if (next < p->match + 1)
        next = p->match + 1;
    ut__consensus_progress_become_probe(p, next);
    return UT_OK;
}

/* >>> rperf2 */
static UT__CONSENSUS_ALWAYS_INLINE int append_resp_apply(ut_consensus_t *h, const ut_msg_t *m,
                                                         size_t slot)
{
    int rc = append_resp_apply_body(h, m, slot);
    append_resp_pend(h, slot);
    return rc;
}
/* <<< rperf2 */

/* >>> rread: the echo of a newer ReadIndex round (thesis §6.4), out of line
 * and reached by a tail call, so the common answer saves no register for it */
static UT__CONSENSUS_NOINLINE int append_resp_read(ut_consensus_t *h, const ut_msg_t *m,
                                                   size_t slot)
{
    int rc = ut__consensus_reads_acked(h, slot, m->body.append_resp.read_round);
    if (rc != UT_OK) {
        /* >>> rperf2 */
        h->prs[slot].heard = h->now + 1; /* rstat */
        append_resp_pend(h, slot);
        /* <<< rperf2 */
        return rc;
    }
    return append_resp_apply(h, m, slot);
}
/* <<< rread */

/* >>> rperf2: handle_append_resp()'s refusals, out of line */
static UT__CONSENSUS_NOINLINE int append_resp_ignored(ut_consensus_t *h, const ut_msg_t *m,
                                                      size_t slot)
{
    const ut_msg_append_resp_t *r = &m->body.append_resp;
    h->prs[slot].heard = h->now + 1; /* rstat */
    if (h->role != UT_CONSENSUS_LEADER)
        return UT_OK; /* a late answer to a former leader */
    append_resp_pend(h, slot);
    if (!r->success && r->hint_index == 0)
        return UT_OK; /* a term notice for an older request, not a rejection */
    return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "step-refused", "append-resp beyond the last index",
                                m->term, m->from,
                                "step: append-resp index %llu beyond last index %llu",
                                (unsigned long long)r->index, (unsigned long long)h->log.last);
}
/* <<< rperf2 */

static int handle_append_resp(ut_consensus_t *h, const ut_msg_t *m, size_t slot)
{
    ut__consensus_progress_t *p = &h->prs[slot];
    const ut_msg_append_resp_t *r = &m->body.append_resp;
    /* >>> rperf2: the paths that do not reach append_resp_apply stamp the
     * time of the response themselves (rstat) */
    if (UT__UNLIKELY(h->role != UT_CONSENSUS_LEADER || (!r->success && r->hint_index == 0) ||
                     r->index > h->log.last))
        return append_resp_ignored(h, m, slot);
    /* <<< rperf2 */
    /* >>> rread */
    if (UT__UNLIKELY(r->read_round > p->read_acked))
        return append_resp_read(h, m, slot);
    /* <<< rread */
    return append_resp_apply(h, m, slot);
}

/* The outcome of a (pre-)vote request, with the reason of a refusal (only
 * called with a tracer installed: it re-derives the reason). */
static void trace_vote(const ut_consensus_t *h, const ut_msg_t *m, bool grant)
{
    bool pre = m->type == UT_MSG_PREVOTE;
    const ut_msg_vote_t *v = &m->body.vote;
    if (grant) {
        UT__CONSENSUS_TRACE(h, UT_TRACE_DEBUG, pre ? "pre-vote-granted" : "vote-granted", NULL,
                            m->term, m->from);
        return;
    }
    const char *why;
    if (pre && m->term <= h->term)
        why = "proposed term not ahead";
    else if (!pre && m->term != h->term)
        why = "not this term";
    else if (!pre && h->vote != 0 && h->vote != m->from)
        why = "already voted in this term";
    else if (!log_up_to_date(h, v->last_log_term, v->last_log_index))
        why = "candidate's log is behind";
    else
        why = "refused";
    UT__CONSENSUS_TRACE(h, UT_TRACE_WARN, pre ? "pre-vote-refused" : "vote-refused", why, m->term,
                        m->from);
}

static int handle_vote(ut_consensus_t *h, const ut_msg_t *m)
{
    bool pre = m->type == UT_MSG_PREVOTE;
    const ut_msg_vote_t *v = &m->body.vote;
    if (v->last_log_term > m->term || (v->last_log_index == 0) != (v->last_log_term == 0))
        return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "step-refused",
                                    "malformed vote request: last log term", m->term, m->from,
                                    "step: vote request with impossible last log term");
    /* >>> rxfer: only a real candidacy comes from a transfer (thesis §3.10) */
    if (UT__UNLIKELY(pre && v->transfer))
        return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "step-refused",
                                    "malformed pre-vote request: transfer flag", m->term, m->from,
                                    "step: pre-vote request with the transfer flag set");
    /* <<< rxfer */
    int rc = ut__consensus_msgbuf_reserve(h->live, 1, 0);
    if (rc != UT_OK)
        return rc;
    /* Thesis §3.10: a candidacy its leader asked for (v->transfer) is not
     * ignored for that leader's lease. */
    if (m->term > h->term && !v->transfer /* >>> rxfer <<< */) {
        const char *lease = NULL;
        if (in_lease(h))
            lease = "leader lease: a leader is alive"; /* thesis §4.2.3: ignore */
        else if (in_start_hold(h))
            lease = "lease mode: an election timeout after start";
        if (lease != NULL) {
            UT__CONSENSUS_TRACE(h, UT_TRACE_WARN, pre ? "pre-vote-refused" : "vote-refused", lease,
                                m->term, m->from);
            return UT_OK;
        }
    }
    if (!pre && m->term > h->term) {
        /* Figure 2 (Rules for Servers, Followers): the election timer
         * restarts only on word from the current leader or on a granted
         * vote (below), not on a request it refuses. Restarting it here let
         * candidates with a shorter log, campaigning in turn, keep the only
         * nodes that could win from ever timing out (utsim seed 62, see
         * docs/simulator.md). A leader has no election timer running: it
         * starts one. */
        rc = step_down(h, m->term, 0, "vote request of a higher term",
                       h->role == UT_CONSENSUS_LEADER);
        if (rc != UT_OK)
            return rc;
    }
    bool grant;
    /* >>> rmemb: thesis §4.1, a vote is answered whatever this node is in
     * its own configuration: an observer may be a voter whose promotion it
     * has not received yet, and without its vote a configuration that needs
     * it could never elect a leader again. The candidate counts only the
     * voters of its configuration, so a vote from a non-voter counts
     * nowhere else (tests/consensus/observers.c). */
    if (pre) {
        /* <<< rmemb */
        /* Thesis §9.6: grant if the candidate could win: its proposed term
         * is ahead of ours and its log is up to date. Nothing is recorded. */
        grant = m->term > h->term && log_up_to_date(h, v->last_log_term, v->last_log_index);
    } else {
        /* §5.2, §5.4.1: one vote per term, only for an up-to-date log. */
        grant = m->term == h->term && (h->vote == 0 || h->vote == m->from) &&
                log_up_to_date(h, v->last_log_term, v->last_log_index);
#ifdef UT__FAULT_VOTE_ANY_LOG
        /* Test-only broken variant: the vote skips the §5.4.1 check. */
        grant = m->term == h->term && (h->vote == 0 || h->vote == m->from);
#endif
#ifdef UT__FAULT_VOTE_TWICE
        /* Test-only broken variant: a second vote in the same term. */
        grant = m->term == h->term && log_up_to_date(h, v->last_log_term, v->last_log_index);
#endif
        if (grant) {
            h->vote = m->from;
            ut__consensus_pend(h, UT__CONSENSUS_PEND_CHECK);
            reset_election_timer(h);
        }
    }
    if (UT__TRACE_UNLIKELY(h->tracer.fn != NULL))
        trace_vote(h, m, grant);
    ut_msg_t *r = push_msg(h, pre ? UT_MSG_PREVOTE_RESP : UT_MSG_VOTE_RESP, m->from,
                           (pre && grant) ? m->term : h->term);
    r->body.vote_resp.granted = grant;
    return UT_OK;
}

static int handle_vote_resp(ut_consensus_t *h, const ut_msg_t *m, size_t slot)
{
    bool pre = m->type == UT_MSG_PREVOTE_RESP;
    if (pre) {
        if (!h->pre_candidate || m->term != h->term + 1)
            return UT_OK; /* not for this round */
    } else if (h->role != UT_CONSENSUS_CANDIDATE || m->term != h->term) {
        return UT_OK;
    }
    int rc = reserve_election(h);
    if (rc != UT_OK)
        return rc;
    h->votes[slot] |=
        m->body.vote_resp.granted ? UT__CONSENSUS_VOTE_GRANTED : UT__CONSENSUS_VOTE_REJECTED;
    switch (tally(h)) {
    case UT__CONSENSUS_VOTE_WON:
        return pre ? start_election(h) : become_leader(h);
    case UT__CONSENSUS_VOTE_LOST:
        return become_follower(h, h->term, 0, pre ? "pre-vote lost" : "vote lost");
    case UT__CONSENSUS_VOTE_UNDECIDED:
        break;
    }
    return UT_OK;
}

static int step_member(ut_consensus_t *h, const ut_msg_t *m, size_t slot);

/* The envelope checks of ut_consensus_step() that the common message skips
 * with one combined test, out of line: a refusal's code, or UT_OK for a
 * message that only looked suspicious (a term in the last 2^32 that obeys
 * the term-jump rule). */
UT__CONSENSUS_NOINLINE static int step_envelope(ut_consensus_t *h, const ut_msg_t *m)
{
    if (m == NULL)
        return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "step-refused", "NULL message", 0, 0,
                                    "step: NULL message");
    if (m->to != h->id)
        return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "step-refused", "message for another node", m->to,
                                    m->from, "step: message for node %llu delivered to node %llu",
                                    (unsigned long long)m->to, (unsigned long long)h->id);
    if (m->type < UT_MSG_VOTE || m->type > UT_MSG_APPEND_RESP)
        return UT__CONSENSUS_REFUSE(
            h, UT_EINVAL, "step-refused", "not a consensus message", (uint64_t)m->type, m->from,
            "step: message type %d is not a consensus message", (int)m->type);
    if (m->term == 0 || m->term > UT__CONSENSUS_MAX_TERM)
        return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "step-refused", "impossible term", m->term,
                                    m->from, "step: %s with impossible term %llu",
                                    ut_msg_type_name(m->type), (unsigned long long)m->term);
    /* Term-jump rule (consensus.h, UT_CONSENSUS_TERM_HEADROOM): the last
     * 2^32 terms are entered one term at a time, as elections do, so one
     * corrupt or buggy message cannot use up the term space (which would
     * leave every later campaign with UT_ERANGE: no leader, ever). */
    if (m->term > h->term + 1)
        return UT__CONSENSUS_REFUSE(
            h, UT_EINVAL, "step-refused", "term jump in the last 2^32 terms", m->term, m->from,
            "step: %s jumps from term %llu to %llu, in the last 2^32 terms",
            ut_msg_type_name(m->type), (unsigned long long)h->term, (unsigned long long)m->term);
    return UT_OK;
}

/* A sender that is no peer, or an observer sending a request only voters
 * send (RequestVote, pre-vote, AppendEntries), out of line. slot >= n_voters. */
UT__CONSENSUS_NOINLINE static int step_sender(ut_consensus_t *h, const ut_msg_t *m, size_t slot)
{
    /* >>> rmemb: thesis §4.1, an AppendEntries is processed whatever the
     * sender is in this node's configuration: the leader may be a node this
     * one does not know yet (added by an entry it has not received), and a
     * new node must accept the entries before the one that adds it. So is
     * an InstallSnapshot, the other request only a leader sends (rsnap). */
    if ((m->type == UT_MSG_APPEND || m->type == UT_MSG_SNAPSHOT) && m->from != 0 &&
        m->from != h->id)
        return UT_OK;
    /* Thesis §4.1 too: a (pre-)vote request from a node that is no voter
     * here is answered, for it may be a voter by an entry this node lacks
     * (and its vote be needed: else no leader, ever); but thesis §4.2.3: not
     * while a leader is alive, so a removed node cannot disrupt the cluster.
     * This holds in the configuration a node was created with too: an
     * observer promoted, or a voter that missed the entry adding the
     * candidate, knows no change happened (0.3.0 before this fix answered
     * only once a configuration entry had been seen; the random test found
     * a promoted observer with an empty log whose vote the only other voter
     * needed, seed 14911). */
    if ((m->type == UT_MSG_VOTE || m->type == UT_MSG_PREVOTE) && m->from != 0 && m->from != h->id &&
        h->role != UT_CONSENSUS_LEADER &&
        (h->leader == 0 || h->now - h->leader_contact >= h->cfg.election_timeout_ms))
        return UT_OK;
    /* <<< rmemb */
    if (slot == h->n_members)
        return UT__CONSENSUS_REFUSE(h, UT_ENOTFOUND, "step-refused", "not a peer", m->term, m->from,
                                    "step: %s from %llu, not a peer", ut_msg_type_name(m->type),
                                    (unsigned long long)m->from);
    if (m->type == UT_MSG_VOTE || m->type == UT_MSG_PREVOTE || m->type == UT_MSG_APPEND ||
        m->type == UT_MSG_SNAPSHOT /* rsnap */)
        return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "step-refused", "request from an observer",
                                    m->term, m->from, "step: %s from observer %llu",
                                    ut_msg_type_name(m->type), (unsigned long long)m->from);
    return UT_OK;
}

/* The envelope's term rules for the messages that take their own
 * out-of-line step path (InstallSnapshot, TimeoutNow, ReadIndex): an
 * impossible term, and the term-jump rule in the last 2^32 terms
 * (consensus.h, UT_CONSENSUS_TERM_HEADROOM), each UT_EINVAL. */
UT__CONSENSUS_NOINLINE int ut__consensus_check_term(ut_consensus_t *h, const ut_msg_t *m)
{
    if (m->term == 0 || m->term > UT__CONSENSUS_MAX_TERM)
        return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "step-refused", "impossible term", m->term,
                                    m->from, "step: %s with impossible term %llu",
                                    ut_msg_type_name(m->type), (unsigned long long)m->term);
    if (m->term > UT__CONSENSUS_MAX_TERM - UT_CONSENSUS_TERM_HEADROOM && m->term > h->term + 1)
        return UT__CONSENSUS_REFUSE(
            h, UT_EINVAL, "step-refused", "term jump in the last 2^32 terms", m->term, m->from,
            "step: %s jumps from term %llu to %llu, in the last 2^32 terms",
            ut_msg_type_name(m->type), (unsigned long long)h->term, (unsigned long long)m->term);
    return UT_OK;
}

/* >>> rsnap: ut_consensus_step() for UT_MSG_SNAPSHOT and SNAPSHOT_RESP
 * (past the envelope checks), apart from the hot path: the sender, §5.1's
 * term rules as step_member() applies them, then consensus/rsnap.c. */
UT__CONSENSUS_NOINLINE static int step_snapshot(ut_consensus_t *h, const ut_msg_t *m)
{
    /* The envelope's term rules (step_envelope), for these two types. */
    int trc = ut__consensus_check_term(h, m);
    if (trc != UT_OK)
        return trc;
    size_t slot = ut__consensus_peer(h, m->from);
    int rc = slot >= h->n_voters ? step_sender(h, m, slot) : UT_OK;
    if (rc == UT_OK) {
        if (m->term < h->term) {
            if (m->type == UT_MSG_SNAPSHOT)
                rc = ut__consensus_snapshot_stale(h, m); /* answered with our term */
            else
                rc = UT__CONSENSUS_REFUSE(h, UT_ESTALE, "step-refused", "stale term", m->term,
                                          m->from, "step: %s from term %llu < %llu",
                                          ut_msg_type_name(m->type), (unsigned long long)m->term,
                                          (unsigned long long)h->term);
        } else if (m->type == UT_MSG_SNAPSHOT) {
            rc = ut__consensus_handle_snapshot(h, m);
        } else if (m->term > h->term) {
            rc = become_follower(h, m->term, 0, "response of a higher term");
        } else {
            h->prs[slot].heard = h->now + 1; /* >>> rstat <<< */
            rc = ut__consensus_handle_snapshot_resp(h, m, slot);
        }
    }
    if (rc == UT_OK || rc == UT_ESTALE)
        h->took_input = true;
    else
        rc = ut__consensus_oom(h, rc, "step");
    return rc;
}
/* <<< rsnap */

int ut_consensus_step(ut_consensus_t *h, const ut_msg_t *m)
{
    if (!ut__consensus_valid(h))
        return UT_EINVAL;
    /* One test for the whole envelope of the common message: addressed to
     * us, a consensus type, and a term from 1 up to the term-jump line (0
     * wraps to the top). Anything else is sorted out of line. */
    if (UT__UNLIKELY(m == NULL || m->to != h->id ||
                     (unsigned)m->type - UT_MSG_VOTE > UT_MSG_APPEND_RESP - UT_MSG_VOTE ||
                     m->term - 1 >= UT__CONSENSUS_MAX_TERM - UT_CONSENSUS_TERM_HEADROOM)) {
        /* >>> rsnap: InstallSnapshot takes the out-of-line path whole */
        if (m != NULL && m->to == h->id &&
            (m->type == UT_MSG_SNAPSHOT || m->type == UT_MSG_SNAPSHOT_RESP))
            return step_snapshot(h, m);
        /* <<< rsnap */
        /* >>> rread: forwarded reads take the out-of-line path whole */
        if (m != NULL && m->to == h->id &&
            (m->type == UT_MSG_READ_INDEX || m->type == UT_MSG_READ_INDEX_RESP))
            return ut__consensus_step_read(h, m);
        /* <<< rread */
        /* >>> rxfer: TimeoutNow takes the out-of-line path whole */
        if (m != NULL && m->to == h->id && m->type == UT_MSG_TIMEOUT_NOW)
            return ut__consensus_step_timeout_now(h, m);
        /* <<< rxfer */
        int rc = step_envelope(h, m);
        if (rc != UT_OK)
            return rc;
    }
    /* The sender's slot in O(1) (peer_slot never holds self). */
    size_t slot = ut__consensus_peer(h, m->from);
    if (UT__UNLIKELY(slot >= h->n_voters)) {
        int rc = step_sender(h, m, slot);
        if (rc != UT_OK)
            return rc;
    }
    int rc = step_member(h, m, slot);
    /* A refused message (UT_EINVAL, UT_ENOMEM, UT_ESTATE) changed nothing,
     * so it does not count as input either: restore() stays possible. */
    if (UT__LIKELY(rc == UT_OK || rc == UT_ESTALE))
        h->took_input = true;
    else
        rc = ut__consensus_oom(h, rc, "step");
    return rc;
}

/* ut_consensus_step() once the message passed the envelope checks. */
static int step_member(ut_consensus_t *h, const ut_msg_t *m, size_t slot)
{
    if (m->term < h->term) {
        /* §5.1: a stale request is answered with our term so that its sender
         * learns it is behind; stale responses are dropped. A pre-vote for
         * our own term is the one "lower" message that is not stale. */
        if (m->type == UT_MSG_APPEND || m->type == UT_MSG_VOTE || m->type == UT_MSG_PREVOTE) {
            int rc = ut__consensus_msgbuf_reserve(h->live, 1, 0);
            if (rc != UT_OK)
                return rc;
            ut_msg_type_t rt = m->type == UT_MSG_APPEND ? UT_MSG_APPEND_RESP
                               : m->type == UT_MSG_VOTE ? UT_MSG_VOTE_RESP
                                                        : UT_MSG_PREVOTE_RESP;
            /* An AppendEntries reply here only carries our term: index and
             * hint_index stay 0, which no real rejection has (hint_index is
             * at least 1), so a sender that meanwhile leads this very term
             * does not mistake it for a rejection of its current log. */
            (void)push_msg(h, rt, m->from, h->term);
        }
        return UT__CONSENSUS_REFUSE(h, UT_ESTALE, "step-refused", "stale term", m->term, m->from,
                                    "step: %s from term %llu < %llu", ut_msg_type_name(m->type),
                                    (unsigned long long)m->term, (unsigned long long)h->term);
    }

    switch (m->type) {
    case UT_MSG_VOTE:
    case UT_MSG_PREVOTE:
        return handle_vote(h, m);
    case UT_MSG_APPEND:
        return handle_append(h, m);
    default:
        break;
    }
    /* Responses. A higher term in a response means we are behind (§5.1);
     * a granted pre-vote carries the proposed term and is not one. */
    if (m->term > h->term && !(m->type == UT_MSG_PREVOTE_RESP && m->body.vote_resp.granted)) {
        /* >>> rstat: a response from a member (rperf2: each path stamps
         * its own; an AppendEntries response in handle_append_resp) */
        h->prs[slot].heard = h->now + 1;
        /* <<< rstat */
#ifdef UT__FAULT_IGNORE_HIGHER_TERM_RESP
        /* Test-only broken variant: a leader ignores a higher term in a
         * response. */
        if (h->role == UT_CONSENSUS_LEADER)
            return UT_OK;
#endif
        return become_follower(h, m->term, 0, "response of a higher term");
    }
    if (m->type == UT_MSG_APPEND_RESP) {
        return handle_append_resp(h, m, slot); /* rperf2: marks FLUSH itself */
    }
    h->prs[slot].heard = h->now + 1; /* >>> rstat: a (pre-)vote response <<< */
    return handle_vote_resp(h, m, slot);
}

ut_consensus_state_t ut_consensus_state(const ut_consensus_t *h)
{
    return ut__consensus_valid(h) ? h->role : UT_CONSENSUS_FOLLOWER;
}

uint64_t ut_consensus_term(const ut_consensus_t *h)
{
    return ut__consensus_valid(h) ? h->term : 0;
}

uint64_t ut_consensus_leader(const ut_consensus_t *h)
{
    return ut__consensus_valid(h) ? h->leader : 0;
}

uint64_t ut_consensus_vote(const ut_consensus_t *h)
{
    return ut__consensus_valid(h) ? h->vote : 0;
}

uint64_t ut_consensus_id(const ut_consensus_t *h)
{
    return ut__consensus_valid(h) ? h->id : 0;
}

uint64_t ut_consensus_commit_index(const ut_consensus_t *h)
{
    return ut__consensus_valid(h) ? h->log.commit : 0;
}

uint64_t ut_consensus_last_index(const ut_consensus_t *h)
{
    return ut__consensus_valid(h) ? h->log.last : 0;
}

int ut_consensus_entry_term(const ut_consensus_t *h, uint64_t index, uint64_t *out)
{
    if (!ut__consensus_valid(h) || out == NULL)
        return UT_EINVAL;
    if (index > h->log.last)
        return UT_ENOTFOUND;
    /* >>> rsnap: compacted entries are gone (the offset's term is kept) */
    if (index != 0 && index < h->log.off)
        return UT_ENOTFOUND;
    /* <<< rsnap */
    *out = ut__consensus_log_term(&h->log, index);
    return UT_OK;
}

int ut_consensus_nodes(const ut_consensus_t *h, uint64_t *out, size_t cap, size_t *n)
{
    if (!ut__consensus_valid(h) || n == NULL || (out == NULL && cap > 0))
        return UT_EINVAL;
    /* >>> rmemb: the configuration's members (slots [0, n_listed)) */
    size_t k = h->mb.n_listed;
    /* <<< rmemb */
    *n = k;
    if (cap < k)
        return UT_ERANGE;
    for (size_t i = 0; i < k; i++)
        out[i] = h->ids[i];
    return UT_OK;
}

void *ut_consensus_userdata(const ut_consensus_t *h)
{
    return ut__consensus_valid(h) ? h->cfg.userdata : NULL;
}

const char *ut_consensus_errmsg(const ut_consensus_t *h)
{
    if (h == NULL)
        return "NULL handle";
    if (!ut__consensus_valid(h))
        return "invalid or freed handle";
    return h->base.errmsg;
}
