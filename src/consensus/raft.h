/* SPDX-License-Identifier: MIT */
/* The Raft handle (private): what raft.c (roles, election, replication,
 * step, tick) and ready.c (ready/advance) share. The log and its cursors are
 * consensus/log.h, a follower's replication progress consensus/progress.h,
 * majorities consensus/quorum.h. */
#ifndef UT_CONSENSUS_RAFT_H
#define UT_CONSENSUS_RAFT_H

#include "common/handle.h"
#include "common/outbox.h"
#include "common/trace.h"
#include "consensus/log.h"
#include "consensus/progress.h"
#include "consensus/quorum.h"
/* >>> rmemb */
#include "consensus/membership.h"
/* <<< rmemb */

#define UT__CONSENSUS_MAGIC 0x52616674u /* "Raft" */
#define UT__CONSENSUS_MAX_INFLIGHT 4096u
/* Highest term a node accepts: far beyond any real cluster, and low enough
 * that term + 1 (a candidacy, a pre-vote) can never wrap to 0. */
#define UT__CONSENSUS_MAX_TERM UT_CONSENSUS_MAX_TERM
/* Committed entries handed out per ready(): bounds the copy after a restore
 * of a long log; the rest comes out of the next ready(). */
#define UT__CONSENSUS_MAX_APPLY_BATCH 4096u
/* >>> rmemb: slots */
/* Member slots: every member of the configuration (at most
 * UT_CONSENSUS_MAX_NODES), members removed by a change not yet committed
 * while there is room, and this node itself when it is no member. */
#define UT__CONSENSUS_MAX_SLOTS (UT_CONSENSUS_MAX_NODES + 1u)
/* <<< rmemb */

/* >>> rperf2: active[] bits. ACTIVE: heard from in the current
 * check-quorum round (thesis §6.2). HEARD (rstat): a response was stepped
 * from the member at the current time (h->now) that prs[].heard does not
 * record yet; set with ACTIVE by the leader's AppendEntries-response path,
 * so that path keeps no time stamp of its own. ut__consensus_heard_flush()
 * moves the bit into prs[].heard before h->now changes or the bits are
 * reset; any other response stores prs[].heard = h->now + 1 directly. */
enum { UT__CONSENSUS_ACTIVE = 1, UT__CONSENSUS_HEARD = 2 };
/* <<< rperf2 */

#if defined(__GNUC__) || defined(__clang__)
#    define UT__CONSENSUS_NOINLINE __attribute__((noinline))
#    define UT__CONSENSUS_ALWAYS_INLINE inline __attribute__((always_inline))
#    define UT__LIKELY(x) __builtin_expect(!!(x), 1)
#    define UT__UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#    define UT__CONSENSUS_NOINLINE
#    define UT__CONSENSUS_ALWAYS_INLINE inline
#    define UT__LIKELY(x) (x)
#    define UT__UNLIKELY(x) (x)
#endif

/* An AppendEntries points at its entries in the log (they never move or
 * change while a pointer is out: consensus/log.h). Only a run that spans two
 * log segments is copied, into ents; ready() then points the message at its
 * copy (ents may move while the buffer fills). */
typedef struct ut__consensus_msgbuf {
    ut_msg_t *msgs;
    size_t n, cap;
    size_t *off; /* per message: offset of its copied entries in ents, or SIZE_MAX */
    size_t off_cap;
    ut_entry_t *ents;
    size_t n_ents, ents_cap;
    size_t n_refs; /* AppendEntries with entries: pointers into the log */
} ut__consensus_msgbuf_t;

struct ut_consensus {
    ut__handle_t base;   /* first member: magic and error message (common/handle.h) */
    ut__tracer_t tracer; /* cfg.trace, cfg.trace_arg (fn NULL: tracing off) */
    uint64_t id;
    ut_consensus_config_t cfg; /* copied; member arrays point into prs */
    size_t n_members, n_voters;
    size_t self; /* index of this node in prs */
    bool self_voter;
    /* Per member, by slot (voters first, then observers; self is one of
     * them): its id, the leader's replication progress, and apart from it
     * the vote tally of the current (pre-)vote round and liveness (heard
     * from since the last check-quorum round), side by side as the quorum
     * module takes them. */
    uint64_t ids[UT__CONSENSUS_MAX_SLOTS];
    /* id -> slot + 1 of every peer (self left out; 0 = empty), open
     * addressing from ut__consensus_peer_hash(): step() finds its sender in
     * O(1) instead of scanning ids. Built once by ut_consensus_new(). */
    uint8_t peer_slot[2 * UT_CONSENSUS_MAX_NODES];
    ut__consensus_progress_t prs[UT__CONSENSUS_MAX_SLOTS];
    uint8_t votes[UT__CONSENSUS_MAX_SLOTS];  /* UT__CONSENSUS_VOTE_* bits */
    uint8_t active[UT__CONSENSUS_MAX_SLOTS]; /* UT__CONSENSUS_ACTIVE_* bits */
    /* match[i] == prs[i].match (ut__consensus_set_match keeps them equal): the voters'
     * match indexes side by side, as the quorum module takes them. */
    uint64_t match[UT__CONSENSUS_MAX_SLOTS];
    ut__consensus_inflight_slot_t *rings; /* every member's in-flight window */
    /* >>> rmemb: membership (consensus/membership.c) */
    ut__consensus_members_t mb;
    /* <<< rmemb */
    /* In-flight payload bytes per follower, 0 = no limit: cfg.max_inflight_bytes
     * (rstat). */
    uint64_t max_inflight_bytes;

    /* Persistent state (§5, Figure 2; the commit index is the log's
     * cursor) and the copy last handed out. */
    uint64_t term, vote;
    ut_consensus_hard_state_t last_hs;

    /* The entries and their cursors: stable, persisted, commit, applied,
     * truncate_from (consensus/log.h). */
    ut__consensus_log_t log;

    ut_consensus_state_t role;
    bool pre_candidate; /* pre-vote phase (thesis §9.6): still a follower */
    uint64_t leader;
    ut_consensus_state_t last_role;
    uint64_t last_leader;

    /* Time (milliseconds from the caller's monotonic clock). */
    bool time_init;
    uint64_t now;
    uint64_t election_start, election_timeout;
    uint64_t heartbeat_start, quorum_start;
    uint64_t leader_contact; /* last time the current leader was heard from */
    uint64_t started;        /* the first tick: the lease-mode vote hold counts from it */
    bool restart_hold;       /* restored at a term above 0 (raft.c in_start_hold) */
    uint64_t rng;

    bool took_input, restored;

    /* live: being filled; out: handed out by ready(). ready() swaps the two
     * pointers, so handing out a batch of messages copies nothing. */
    ut__consensus_msgbuf_t bufs[2];
    ut__consensus_msgbuf_t *live, *out;
    /* The pending-work summary (UT__CONSENSUS_PEND_* bits): set where work
     * is queued, cleared by ready(). Keeps has_ready() and an empty ready()
     * to a few instructions: see ut__consensus_pend(). */
    uint32_t pending;
    ut_entry_t *rd_ents;
    size_t rd_ents_cap;
    ut_entry_t *rd_apply;
    size_t rd_apply_cap;
    ut__readyseq_t rseq; /* one outstanding ready; empty ones need no advance */
    uint64_t rd_last_entry, rd_applied;
    ut_consensus_hard_state_t rd_hs;
    /* >>> rsnap: snapshots (consensus/rsnap.c) */
    /* The latest snapshot (NULL: none): one allocation, a payload chunk
     * holding the public struct, its member ids and the image (membership
     * then data) sent to lagging followers. Replaced ones are retired into
     * log.retired_chunks, freed once no pointer handed out can reach them. */
    ut__bytes_chunk_t *snap_chunk;
    ut_consensus_snapshot_t *snap;
    const unsigned char *snap_image;
    uint64_t snap_image_len;
    /* snap_flags: with reads_work in rare_work below. */
    /* Follower: the image being received (its chunk is the future snap). */
    struct {
        ut__bytes_chunk_t *chunk; /* NULL: no transfer */
        unsigned char *image;     /* inside chunk */
        uint64_t lterm, index, term, total, got;
    } rx;
    /* Leader, per member: the snapshot being sent and the image offset the
     * follower acknowledged (the next chunk starts there). */
    struct {
        uint64_t index, term, acked;
    } snd[UT_CONSENSUS_MAX_NODES];
    /* <<< rsnap */
    /* >>> rstat: flow control (consensus/rstat.c) */
    /* Leader with cfg.max_uncommitted_bytes set (always 0 otherwise): the
     * payload bytes of the NORMAL entries it appended in its term that are
     * not committed yet (etcd-io/raft's uncommittedSize). Entries up to
     * unc_done hold no bytes still counted; the release walks the committed
     * ones after it. */
    uint64_t unc_bytes, unc_done;
    /* <<< rstat */
    /* Nonzero sends every ut_consensus_propose() to its slow path: one
     * UT__CONSENSUS_GATE_* bit per feature that must see each proposal
     * (the fast path tests this one byte, not each feature). */
    uint8_t propose_gate;

    /* >>> rxfer: leader transfer (consensus/rxfer.c) */
    /* Leader: the voter leadership is being handed to (thesis §3.10), 0 for
     * none; while set, UT__CONSENSUS_GATE_XFER is set in propose_gate. */
    uint64_t xfer_target;
    uint64_t xfer_start;   /* when the transfer began (it aborts one election timeout later) */
    uint64_t xfer_sent_at; /* when TimeoutNow was last sent (valid with xfer_sent) */
    bool xfer_sent;
    /* <<< rxfer */

    /* >>> rread: reads (consensus/rread.c; thesis §6.4) */
    uint64_t read_round; /* leader: the latest ReadIndex round; every AppendEntries carries it */
    /* reads_work: with snap_flags in rare_work below. */
    struct {
        struct ut__consensus_read *q; /* leader: the reads it holds, in request order */
        size_t n, cap;
        ut_consensus_read_state_t *live, *out; /* to hand out / handed out; ctx owned */
        size_t n_live, cap_live, n_out, cap_out;
        size_t live_msgs, out_msgs;    /* READ_INDEX(_RESP) with an owned ctx in live / out */
        struct ut__consensus_fwd *fwd; /* follower: reads forwarded, not yet answered */
        size_t n_fwd, cap_fwd;
        bool round_queued; /* the current round's heartbeats are still in the live outbox */
        bool lease;        /* lease_start holds (thesis §6.4.1) */
        uint64_t lease_start;
        struct {
            uint64_t round, at; /* when each recent round was queued */
        } sent[16];
    } reads;
    /* <<< rread */

    /* >>> rperf: the rare work of ready() in one word, so that its common
     * path tests both with one compare (rare_work == 0: neither). */
    union {
        struct {
            /* rsnap: UT__CONSENSUS_SNAP_* bits, work for ready() */
            uint8_t snap_flags;
            /* rread: UT__CONSENSUS_READS_*, read work for ready() / advance() */
            uint8_t reads_work;
        };
        uint16_t rare_work;
    };
    /* <<< rperf */
};

/* Pending-work summary bits (h->pending). EXACT bits mean ready() has work
 * for certain until it runs: a message is queued (MSGS), an entry was
 * appended past stable (ENTS; a truncation is always followed by the append
 * of the conflicting entry), the commit index rose or committed entries are
 * left to apply (COMMIT), the term rose (TERM). The others only say that
 * work may be pending: CHECK after a role, leader or vote change, a
 * truncation or a restore (ready() compares with what it last handed out),
 * FLUSH when a peer may have become sendable (log grew, progress moved, a
 * probe was unpaused: ready() then scans the peers). No bit: no work. */
enum {
    UT__CONSENSUS_PEND_MSGS = 1u,
    UT__CONSENSUS_PEND_ENTS = 2u,
    UT__CONSENSUS_PEND_COMMIT = 4u,
    UT__CONSENSUS_PEND_TERM = 8u,
    UT__CONSENSUS_PEND_CHECK = 16u,
    UT__CONSENSUS_PEND_FLUSH = 32u,
};
/* The term rules of ut_consensus_step()'s envelope, for the rare message
 * types stepped out of line (raft.c): UT_OK or UT_EINVAL, refusal traced. */
int ut__consensus_check_term(ut_consensus_t *h, const ut_msg_t *m);

/* ut_consensus_t.propose_gate bits. */
enum {
    UT__CONSENSUS_GATE_FLOW = 1u, /* cfg.max_uncommitted_bytes set (rstat) */
    UT__CONSENSUS_GATE_XFER = 2u, /* a leader transfer under way (rxfer) */
};
#define UT__CONSENSUS_PEND_EXACT                                                                   \
    (UT__CONSENSUS_PEND_MSGS | UT__CONSENSUS_PEND_ENTS | UT__CONSENSUS_PEND_COMMIT |               \
     UT__CONSENSUS_PEND_TERM)

static inline void ut__consensus_pend(ut_consensus_t *h, uint32_t bits)
{
    h->pending |= bits;
}

static inline bool ut__consensus_valid(const ut_consensus_t *h)
{
    return h != NULL && ut__handle_valid(&h->base, UT__CONSENSUS_MAGIC);
}

/* Fibonacci hashing of a member id onto the peer_slot table (2 * MAX_NODES,
 * a power of two: at most half full, so probes are short and end). */
static inline size_t ut__consensus_peer_hash(uint64_t id)
{
    return (size_t)((id * UINT64_C(0x9E3779B97F4A7C15)) >> 57);
}

/* The slot of peer id (never self), or n_members when it is not a peer. */
static inline size_t ut__consensus_peer(const ut_consensus_t *h, uint64_t id)
{
    size_t k = ut__consensus_peer_hash(id);
    for (;;) {
        unsigned v = h->peer_slot[k];
        if (v == 0)
            return h->n_members;
        if (h->ids[v - 1] == id)
            return v - 1;
        k = (k + 1) & (2 * UT_CONSENSUS_MAX_NODES - 1);
    }
}

static inline void ut__consensus_set_match(ut_consensus_t *h, size_t slot, uint64_t v)
{
    h->prs[slot].match = v;
    h->match[slot] = v;
}

/* Tracing (include/unitypes/trace.h): module "consensus", this node's id,
 * static strings only; one branch when no tracer is installed. */
#define UT__CONSENSUS_TRACE(h, lvl, ev, why, a, b)                                                 \
    ut__trace(&(h)->tracer, (lvl), "consensus", (h)->id, (ev), (why), (a), (b))

/* A refused input, out of line and cold so that the paths it serves cost
 * the hot ones nothing: traced (WARN, ev such as "step-refused", why a short
 * static reason, a and b numbers such as the message's term and sender),
 * then failed with the formatted message (ut__handle_fail). Returns code. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((cold, noinline, format(printf, 7, 8)))
#endif
int ut__consensus_refuse(ut_consensus_t *h, int code, const char *ev, const char *why, uint64_t a,
                         uint64_t b, const char *fmt, ...);

#define UT__CONSENSUS_REFUSE(h, code, ev, why, a, b, ...)                                          \
    ut__consensus_refuse((h), (code), (ev), (why), (uint64_t)(a), (uint64_t)(b), __VA_ARGS__)

/* The out-of-memory exits of the public calls: every UT_ENOMEM leaves a
 * message too ("context: out of memory"). Other codes pass through with the
 * message already set. */
int ut__consensus_oom(ut_consensus_t *h, int rc, const char *context);

/* The growing half of ut__consensus_msgbuf_reserve(), out of line. */
UT__CONSENSUS_NOINLINE int ut__consensus_msgbuf_grow(ut__consensus_msgbuf_t *b, size_t nmsgs,
                                                     size_t nents);

static inline int ut__consensus_msgbuf_reserve(ut__consensus_msgbuf_t *b, size_t nmsgs,
                                               size_t nents)
{
    if (b->n + nmsgs <= b->cap && b->n + nmsgs <= b->off_cap && b->n_ents + nents <= b->ents_cap)
        return UT_OK; /* the steady state: no call, no allocation */
    return ut__consensus_msgbuf_grow(b, nmsgs, nents);
}

static inline bool ut__consensus_needs_append(const ut_consensus_t *h,
                                              const ut__consensus_progress_t *p)
{
    return ut__consensus_progress_can_send(p, h->log.last);
}

/* >>> rmemb: role changes for consensus/membership.c (raft.c) */
void ut__consensus_reset_election_timer(ut_consensus_t *h);
int ut__consensus_become_follower(ut_consensus_t *h, uint64_t term, uint64_t leader,
                                  const char *why);
/* A heartbeat to slot (one message reserved). */
void ut__consensus_send_heartbeat(ut_consensus_t *h, size_t slot);
/* <<< rmemb */

/* Leader: send whatever each peer is missing and may receive now. */
int ut__consensus_flush_appends(ut_consensus_t *h);

/* >>> rsnap: snapshots and compaction (consensus/rsnap.c; Raft paper §7) */
/* raft.c's own steps, for rsnap.c. */
int ut__consensus_become_follower(ut_consensus_t *h, uint64_t term, uint64_t leader,
                                  const char *why);
ut_msg_t *ut__consensus_push_msg(ut_consensus_t *h, ut_msg_type_t type, uint64_t to, uint64_t term);
/* Leader: peer slot's next index is at or below the log's offset: send it
 * the next chunk of the snapshot (starting the transfer if need be). */
int ut__consensus_snapshot_send(ut_consensus_t *h, size_t slot);
/* Follower: an InstallSnapshot chunk (m->term >= h->term, from a voter). */
int ut__consensus_handle_snapshot(ut_consensus_t *h, const ut_msg_t *m);
/* Leader: an InstallSnapshot response (m->term <= h->term). */
int ut__consensus_handle_snapshot_resp(ut_consensus_t *h, const ut_msg_t *m, size_t slot);
/* An InstallSnapshot chunk from an older term: answered with our term. */
int ut__consensus_snapshot_stale(ut_consensus_t *h, const ut_msg_t *m);
/* Follower: the reply r to an AppendEntries whose prev_index is below the
 * log's offset (every entry it could match is compacted, hence committed). */
void ut__consensus_snapshot_append_below(ut_consensus_t *h, ut_msg_t *r, const ut_msg_t *m);
/* The same for one that starts at index 1 (prev_index 0) and so conflicts
 * with the compacted entries (validated; nothing done yet). */
int ut__consensus_snapshot_append_from_0(ut_consensus_t *h, const ut_msg_t *m);
/* Free the snapshot and a transfer in progress (ut_consensus_free). */
void ut__consensus_snapshot_free(ut_consensus_t *h);
/* h->snap_flags: OUT: hand h->snap out in the next ready; DIRTY: a
 * SNAPSHOT message used a slot of a message buffer (its body is longer than
 * the bodies push_msg clears); RETIRED: log.retired_chunks holds memory to
 * give back. ready() calls ut__consensus_snapshot_ready() when any is set. */
enum {
    UT__CONSENSUS_SNAP_OUT = 1u,
    UT__CONSENSUS_SNAP_DIRTY = 2u,
    UT__CONSENSUS_SNAP_RETIRED = 4u
};
void ut__consensus_snapshot_ready(ut_consensus_t *h, ut_consensus_ready_t *rd);
/* The configuration a snapshot up to index records, and the install of a
 * received one (the hooks the membership slice wires; see rsnap.c). */
void ut__consensus_snapshot_config(const ut_consensus_t *h, uint64_t index,
                                   ut_consensus_membership_t *out, uint64_t *ids);
/* <<< rsnap */

/* >>> rstat: flow control (consensus/rstat.c; etcd-io/raft's
 * MaxUncommittedEntriesSize and MaxInflightBytes) */
/* Leader, max_uncommitted_bytes set: may bytes more payload be appended?
 * UT_OK and counted, or UT_EBUSY refused (errmsg names ctx). */
UT__CONSENSUS_NOINLINE int ut__consensus_flow_admit(ut_consensus_t *h, uint64_t bytes,
                                                    const char *ctx);
/* The commit index rose: the bytes of the entries it committed go. */
UT__CONSENSUS_NOINLINE void ut__consensus_flow_release(ut_consensus_t *h);
/* Leader, max_inflight_bytes set: the payload bytes the next AppendEntries
 * to p may carry (at most cap), or 0 when its next entry must wait for
 * acknowledgements (something is in flight and it does not fit). */
UT__CONSENSUS_NOINLINE size_t ut__consensus_flow_room(const ut_consensus_t *h,
                                                      const ut__consensus_progress_t *p,
                                                      size_t cap);
/* Leader, max_inflight_bytes set, p may be sent entries by the message
 * window (ut__consensus_needs_append): would flush_appends send it one now?
 * Keeps has_ready() from promising an AppendEntries the byte window holds
 * back (consensus/ready.c). */
UT__CONSENSUS_NOINLINE bool ut__consensus_flow_sendable(const ut_consensus_t *h,
                                                        const ut__consensus_progress_t *p);
/* <<< rstat */

/* >>> rxfer: leader transfer (consensus/rxfer.c; thesis §3.10) */
/* raft.c's own step for rxfer.c: campaign at once, without pre-vote (the
 * target of a transfer). UT_ERANGE when the term space is exhausted,
 * UT_ENOMEM; nothing changed then. */
int ut__consensus_start_election_now(ut_consensus_t *h);
/* Leader, an AppendEntries response from slot raised or confirmed its match
 * (only called while a transfer is under way): TimeoutNow once the target
 * holds the leader's last entry. */
UT__CONSENSUS_NOINLINE void ut__consensus_transfer_acked(ut_consensus_t *h, size_t slot);
/* Leader's tick while a transfer is under way: abort it after one election
 * timeout, or when the target is no voter any more. */
UT__CONSENSUS_NOINLINE void ut__consensus_transfer_tick(ut_consensus_t *h);
/* The node stops leading: the transfer (if any) ends. */
UT__CONSENSUS_NOINLINE void ut__consensus_transfer_end(ut_consensus_t *h, const char *why);
/* The refusal of a proposal or a membership change during a transfer
 * (UT_EBUSY); ev is the trace event, ctx the call. */
int ut__consensus_transfer_busy(ut_consensus_t *h, const char *ev, const char *ctx);
/* ut_consensus_step() for UT_MSG_TIMEOUT_NOW, whole (envelope included). */
UT__CONSENSUS_NOINLINE int ut__consensus_step_timeout_now(ut_consensus_t *h, const ut_msg_t *m);
/* The target of the transfer under way, 0 for none (for the status). */
uint64_t ut__consensus_transfer_target(const ut_consensus_t *h);
/* <<< rxfer */

/* >>> rread: linearizable reads (consensus/rread.c; thesis §6.4) */
enum { UT__CONSENSUS_READS_READY = 1u, UT__CONSENSUS_READS_OUT = 2u };
/* Reads this node holds unanswered (status.pending_reads): queued at the
 * leader, or forwarded by a follower and not answered yet. */
size_t ut__consensus_pending_reads(const ut_consensus_t *h);
/* Leader: slot echoed a round above the one it last echoed. */
int ut__consensus_reads_acked(ut_consensus_t *h, size_t slot, uint64_t round);
/* UT_MSG_READ_INDEX, UT_MSG_READ_INDEX_RESP (before any envelope check). */
int ut__consensus_step_read(ut_consensus_t *h, const ut_msg_t *m);
/* ready() (at its end, reads_work READY set), advance() (OUT set), free. */
void ut__consensus_reads_ready(ut_consensus_t *h, ut_consensus_ready_t *rd);
void ut__consensus_reads_advance(ut_consensus_t *h);
void ut__consensus_reads_free(ut_consensus_t *h);
/* The leader stops leading: its reads are dropped (the callers retry). */
void ut__consensus_reads_drop(ut_consensus_t *h, const char *why);
/* LEASE: tick_leader's heartbeats start a round (thesis §6.4.1). */
void ut__consensus_reads_lease_round(ut_consensus_t *h);
/* End the lease at once: a leadership transfer must call it before it sends
 * TimeoutNow (the target campaigns without waiting out the followers'
 * leases, thesis §3.10). */
void ut__consensus_reads_lease_end(ut_consensus_t *h);
/* validate_config: read_mode and max_clock_drift_ms. */
int ut__consensus_reads_validate(const ut_consensus_config_t *c);
/* <<< rread */

/* §5.3, §5.4.2 (Figure 8): the leader commits the highest index stored on a
 * majority of voters, but only if that entry is from its current term; the
 * entries before it are then committed indirectly. Voters are prs[0 ..
 * n_voters), members from the configuration's voter list first. */
static inline void ut__consensus_maybe_commit(ut_consensus_t *h)
{
#ifdef UT__FAULT_OBSERVER_QUORUM
    /* Test-only broken variant (mutation suite, tools/CMakeLists.txt):
     * observers count in the commit quorum. */
    uint64_t best = ut__consensus_quorum_commit(h->match, h->n_members, h->log.commit);
#else
    uint64_t best;
    /* >>> rmemb: thesis §4.3, a joint configuration commits with a majority
     * of the incoming voters (slots inc_lo .. n_voters) and of the outgoing
     * ones (slots 0 .. n_out); one predictable branch when not joint. */
    if (UT__UNLIKELY(h->mb.joint))
        best =
            ut__consensus_quorum_commit_joint(h->match + h->mb.inc_lo, h->n_voters - h->mb.inc_lo,
                                              h->match, h->mb.n_out, h->log.commit);
    else
        /* <<< rmemb */
        best = ut__consensus_quorum_commit(h->match, h->n_voters, h->log.commit);
#endif
#ifdef UT__FAULT_COMMIT_OLD_TERM
    /* Test-only broken variant: an entry of an earlier term is committed by
     * counting replicas (the Figure 8 bug). */
    if (best > h->log.commit) {
        h->log.commit = best;
        ut__consensus_pend(h, UT__CONSENSUS_PEND_COMMIT);
    }
#else
    if (best > h->log.commit && ut__consensus_log_term(&h->log, best) == h->term) {
        h->log.commit = best;
        ut__consensus_pend(h, UT__CONSENSUS_PEND_COMMIT);
    }
#endif
    /* >>> rstat: flow control, the committed entries' bytes are released
     * (one predictable branch: unc_bytes is 0 without a limit) */
    if (UT__UNLIKELY(h->unc_bytes != 0))
        ut__consensus_flow_release(h);
    /* <<< rstat */
}

#endif
