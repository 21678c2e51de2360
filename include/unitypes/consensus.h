/* SPDX-License-Identifier: MIT */
/**
 * @file unitypes/consensus.h
 * @brief Raft consensus (ut_consensus_t): a deterministic, sans-I/O core.
 *
 * A ut_consensus_t is one Raft node. It never reads a clock, touches a
 * socket or a file, or draws randomness of its own: time comes in through
 * ut_consensus_tick(), messages through ut_consensus_step(), commands through
 * ut_consensus_propose() and ut_consensus_campaign(); randomness comes from
 * the seed in the configuration. Everything the node wants done (persist,
 * send, apply) is drained with ut_consensus_ready() and acknowledged with
 * ut_consensus_advance(). See docs/consensus.md for the contract.
 *
 * Threading: one thread at a time per handle; handles are independent.
 */
#ifndef UNITYPES_CONSENSUS_H
#define UNITYPES_CONSENSUS_H

#include "unitypes/common.h"
#include "unitypes/msg.h"
#include "unitypes/trace.h"
#include "unitypes/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief A Raft node (opaque). @since 0.1.0 */
typedef struct ut_consensus ut_consensus_t;

/**
 * @brief Current version of ut_consensus_config_t.
 *
 * Every version from 1 to this one is accepted by ut_consensus_config_init()
 * and ut_consensus_new() (since 0.2.0): a program built against an older
 * header passes its older, smaller struct, and only the fields that version
 * had are read; later fields take their defaults. Version 1 is every field
 * up to and including @c applied; version 2 (0.2.0) adds @c trace and
 * @c trace_arg; version 3 (0.3.0) adds the flow-control, snapshot,
 * membership and read fields after them.
 * @since 0.1.0
 */
#define UT_CONSENSUS_CONFIG_VERSION 3u

/**
 * @brief How a leader will confirm it is still the leader before serving a
 * read (thesis §6.4). @since 0.3.0
 */
typedef enum ut_consensus_read_mode {
    UT_CONSENSUS_READ_SAFE = 0, /**< ReadIndex: a round of heartbeats acknowledged by a quorum. */
    UT_CONSENSUS_READ_LEASE = 1 /**< Lease (thesis §6.4.1): no round while the leader's lease,
                                   kept by check-quorum, lasts; needs check_quorum. A node
                                   restored at a term above 0 ignores vote requests for one
                                   election timeout from its first tick (docs/consensus.md). */
} ut_consensus_read_mode_t;

/**
 * @brief A configuration (the cluster's members), as a snapshot carries it
 * and as ut_consensus_status() reports it. Arrays are borrowed: see the call
 * that hands one out. @since 0.3.0
 */
typedef struct ut_consensus_membership {
    const uint64_t *voters;          /**< Voters (in a joint configuration: the incoming set). */
    size_t n_voters;                 /**< Number of @c voters. */
    const uint64_t *voters_outgoing; /**< Joint consensus (thesis §4.3): the outgoing voters;
                                        NULL when not joint. */
    size_t n_voters_outgoing;        /**< Number of @c voters_outgoing; 0 when not joint. */
    const uint64_t *observers;       /**< Observers (non-voting members). */
    size_t n_observers;              /**< Number of @c observers. */
    bool auto_leave;                 /**< Joint: the leader leaves joint consensus by itself. */
} ut_consensus_membership_t;

/**
 * @brief A snapshot of the application's state machine up to @c index
 * (Raft paper §7). @since 0.3.0
 */
typedef struct ut_consensus_snapshot {
    uint64_t index;                       /**< Last log index the snapshot covers. */
    uint64_t term;                        /**< Term of that entry. */
    ut_consensus_membership_t membership; /**< The configuration as of @c index. */
    const void *data;                     /**< The application's state, @c len bytes. */
    size_t len;                           /**< Length of @c data. */
} ut_consensus_snapshot_t;

/**
 * @brief A read that may now be served (thesis §6.4): ut_consensus_ready_t::read_states.
 * @since 0.3.0
 */
typedef struct ut_consensus_read_state {
    uint64_t index;  /**< Serve the read once the state machine has applied this index. */
    const void *ctx; /**< The caller's context bytes. */
    size_t len;      /**< Length of @c ctx. */
} ut_consensus_read_state_t;

/**
 * @brief Configuration of a Raft node (libgit2-style versioned options).
 *
 * Fill with ut_consensus_config_init(), then set fields. Arrays are copied by
 * ut_consensus_new(). Fields are only ever appended.
 * @since 0.1.0
 */
typedef struct ut_consensus_config {
    unsigned version;          /**< UT_CONSENSUS_CONFIG_VERSION. */
    uint64_t id;               /**< This node's id (non-zero). */
    const uint64_t *voters;    /**< Voting members (must include @c id unless it is an observer). */
    size_t n_voters;           /**< Number of voters (1..UT_CONSENSUS_MAX_NODES). */
    const uint64_t *observers; /**< Non-voting members (Raft learners); may be NULL. */
    size_t n_observers;        /**< Number of observers. */
    uint64_t election_timeout_ms; /**< T: the timeout is drawn per term in [T, 2T). Default 1000. */
    uint64_t heartbeat_ms;        /**< Leader heartbeat interval (< T). Default 100. */
    size_t max_append_bytes;   /**< Max payload bytes per AppendEntries (≥ 1 entry always fits).
                                  Default 1 MiB. With max_append_entries it must keep every
                                  AppendEntries within UT_MSG_MAX_FRAME: see ut_consensus_new(). */
    size_t max_append_entries; /**< Max entries per AppendEntries. Default 256. */
    unsigned
        max_inflight;  /**< Max AppendEntries in flight per follower when pipelining. Default 16. */
    bool pre_vote;     /**< Run a pre-vote before campaigning (thesis §9.6). Default true. */
    bool check_quorum; /**< Leader steps down without a quorum for one election timeout (thesis
                          §6.2). Default true. */
    uint64_t seed;     /**< Seed of the election-timeout randomisation. */
    void *userdata;    /**< Opaque user pointer (the seed's `config: T`). */
    /**
     * Highest index the application's state machine already holds (from its
     * own snapshot or durable store). Used by ut_consensus_restore(): committed
     * entries up to it are not handed out again. Applied rule: it may exceed
     * the restored commit index (which may be persisted lazily) but not the
     * restored log's last index; entries up to it count as committed. Default
     * 0 (re-apply everything, as an in-memory state machine needs); ignored by
     * a node that starts empty.
     */
    uint64_t applied;
    /* Version 2 (0.2.0) appends the fields below. */
    /**
     * Tracer (include/unitypes/trace.h), or NULL (the default: no tracing,
     * at the cost of one branch per traced decision). Called, module
     * "consensus", for every role and term change ("become-follower",
     * "become-pre-candidate", "become-candidate", "become-leader",
     * "become-observer", "term" with a = new term, b = old term), every
     * refused input with its reason ("step-refused" with "stale term", "not
     * a peer", "malformed append: ..."; "vote-refused" / "pre-vote-refused"
     * with "already voted in this term", "candidate's log is behind",
     * "leader lease: a leader is alive", ...; "propose-refused", "tick-refused",
     * "restore-refused", ...; a and b are then the message's term and sender
     * for step), and fault-relevant decisions ("election-timeout",
     * "step-down" by check-quorum, "append-rejected", "log-truncated").
     * docs/consensus.md, "Tracing", lists them. The tracer must not call back
     * into this node. @since 0.2.0
     */
    ut_trace_fn trace;
    void *trace_arg; /**< Passed to @c trace as its first argument. @since 0.2.0 */
    /* Version 3 (0.3.0) appends the fields below, in this order. */
    /* >>> rstat: flow control */
    size_t max_uncommitted_bytes; /**< Leader: most payload bytes of entries appended but not yet
                                     committed; ut_consensus_propose() and
                                     ut_consensus_propose_batch() return UT_EBUSY beyond it (a
                                     proposal is always accepted when nothing is uncommitted,
                                     or when it carries no payload; a batch counts as one). The
                                     no-op of a new leader and configuration entries are not
                                     counted. 0 (the default): no limit. @since 0.3.0 */
    size_t max_inflight_bytes;    /**< Leader: most payload bytes of AppendEntries in flight to
                                     one follower (with max_inflight messages). 0 (the
                                     default): no byte limit. @since 0.3.0 */
    /* <<< rstat */
    /* >>> rsnap: snapshots */
    size_t snapshot_chunk_bytes; /**< Leader: bytes of snapshot image per InstallSnapshot chunk
                                    (one chunk in flight per follower). Default
                                    UT_CONSENSUS_SNAPSHOT_CHUNK_DEFAULT (1 MiB); 0 is UT_EINVAL,
                                    above UT_CONSENSUS_SNAPSHOT_MAX_CHUNK UT_ERANGE.
                                    @since 0.3.0 */
    /* <<< rsnap */
    /* >>> rmemb: membership */
    uint64_t promote_max_lag; /**< Leader: an observer is promoted only within this many entries
                                 of the leader's last index (0: only with every entry).
                                 Default 256. @since 0.3.0 */
    /* <<< rmemb */
    /* >>> rxfer: reads */
    ut_consensus_read_mode_t read_mode; /**< How ut_consensus_read_index() confirms leadership.
                                           Default UT_CONSENSUS_READ_SAFE; LEASE needs
                                           check_quorum. @since 0.3.0 */
    uint64_t max_clock_drift_ms;        /**< LEASE: the most the clocks of two nodes may drift
                                           apart in one election timeout; must be below
                                           election_timeout_ms. Default 0. @since 0.3.0 */
    /* <<< rxfer */
} ut_consensus_config_t;

/** @brief Most members (voters + observers) a node supports. @since 0.1.0 */
#define UT_CONSENSUS_MAX_NODES 64u

/**
 * @brief Highest term any node reaches or accepts (2^63 - 1).
 *
 * A campaign that would pass it returns UT_ERANGE; a message above it is
 * refused with UT_EINVAL.
 * @since 0.2.0
 */
#define UT_CONSENSUS_MAX_TERM UINT64_C(0x7fffffffffffffff)

/**
 * @brief The last terms (2^32) that a message may only step into one at a time.
 *
 * Term-jump rule: a message whose term is above
 * UT_CONSENSUS_MAX_TERM - UT_CONSENSUS_TERM_HEADROOM is refused with
 * UT_EINVAL (nothing changes) unless it is at most the receiver's term + 1.
 * So no single message, however corrupt, can leave a cluster with fewer than
 * 2^32 elections.
 * @since 0.2.0
 */
#define UT_CONSENSUS_TERM_HEADROOM UINT64_C(0x100000000)

/**
 * @brief Wire bytes of an AppendEntries besides its entries (frame header,
 * fields, CRC): 78 since wire format 1.1 (70 in 1.0). @since 0.2.0
 */
#define UT_CONSENSUS_APPEND_OVERHEAD 78u

/** @brief Wire bytes of each entry's header in an AppendEntries. @since 0.2.0 */
#define UT_CONSENSUS_ENTRY_OVERHEAD 24u

/**
 * @brief Largest payload ut_consensus_propose() accepts (64 MiB - 102 bytes).
 *
 * An AppendEntries carrying one entry of this size is exactly
 * UT_MSG_MAX_FRAME bytes on the wire; a larger proposal could never be sent,
 * so it is refused with UT_ERANGE.
 * @since 0.2.0
 */
#define UT_CONSENSUS_MAX_ENTRY_BYTES                                                               \
    (64u * 1024u * 1024u - UT_CONSENSUS_APPEND_OVERHEAD - UT_CONSENSUS_ENTRY_OVERHEAD)

/**
 * @brief Persistent state that must be durable before messages are sent (§5, Figure 2).
 * @since 0.1.0
 */
typedef struct ut_consensus_hard_state {
    uint64_t term;   /**< currentTerm */
    uint64_t vote;   /**< votedFor in @c term (0 = none) */
    uint64_t commit; /**< Highest index known committed (may be persisted lazily; see
                          ut_consensus_config_t::applied for restarting past it). */
} ut_consensus_hard_state_t;

/**
 * @brief Work handed to the caller by ut_consensus_ready().
 *
 * Process in this order: (0) if @c snapshot is set, install it (since
 * 0.3.0; see the field); (1) if @c hard_state_changed persist @c hard_state;
 * if @c truncate_from is non-zero delete every persisted entry with index
 * ≥ truncate_from; append @c entries durably (fsync); (2) send @c msgs;
 * (3) apply @c committed in order; then call ut_consensus_advance().
 *
 * Pointer validity (since 0.1.0; unchanged contents since 0.2.0): every
 * pointer in the ready (@c entries, @c committed, @c msgs, and each
 * message's entries and payloads) stays valid until ut_consensus_advance()
 * or ut_consensus_free() on the same handle, and what it points at does not
 * change in between: the caller may hold the ready across any other call on
 * the node (step, tick, propose, propose_batch, campaign, has_ready, the
 * accessors), including input that truncates or grows the log. Input after
 * ready() goes out in the next ready. After advance() no pointer of the
 * ready may be used. A message in @c msgs claims only
 * what this ready (or an earlier one) persists, even when input arrived
 * between ready and advance. Every byte of each ut_msg_t in @c msgs is
 * written (padding and unused body bytes are zero; since 0.2.0), so whole
 * structs may be copied or compared.
 * @since 0.1.0
 */
typedef struct ut_consensus_ready {
    bool hard_state_changed;              /**< @c hard_state differs from the last persisted one. */
    ut_consensus_hard_state_t hard_state; /**< Term, vote, commit to persist. */
    uint64_t truncate_from;               /**< 0, or first index to delete from stable storage. */
    const ut_entry_t *entries;            /**< Entries to append durably. */
    size_t n_entries;                     /**< Number of @c entries. */
    const ut_msg_t *msgs;                 /**< Messages to send once the above is durable. */
    size_t n_msgs;                        /**< Number of @c msgs. */
    const ut_entry_t *committed;          /**< Committed entries to apply, in log order. */
    size_t n_committed;                   /**< Number of @c committed. */
    bool soft_state_changed;              /**< Role or known leader changed since last ready. */
    ut_consensus_state_t state;           /**< Current role. */
    uint64_t leader;                      /**< Current known leader (0 = unknown). */
    uint64_t seq_;                        /**< Internal: matches ready to advance. */
    /* 0.3.0: the fields below took three of the eight reserved words. */
    /* >>> rsnap: ready */
    /**
     * A snapshot received from the leader (InstallSnapshot, Raft paper §7),
     * or NULL. When set, install it first: replace the state machine with
     * @c snapshot->data and persist it with its index, term and
     * membership; persisted entries up to its index may then be deleted
     * (those after it stay unless @c truncate_from says otherwise). Then
     * persist the hard state and @c entries as usual, send, and apply
     * @c committed, which then starts after the snapshot's index. Valid
     * until ut_consensus_advance(), like every pointer of the ready.
     * @since 0.3.0
     */
    const ut_consensus_snapshot_t *snapshot;
    /* <<< rsnap */
    /* >>> rxfer: ready */
    const ut_consensus_read_state_t *read_states; /**< Reads that may now be served, in the order
                                                     they were requested (ut_consensus_read_index);
                                                     NULL when none. Valid until advance.
                                                     @since 0.3.0 */
    size_t n_read_states;                         /**< Number of @c read_states. @since 0.3.0 */
    /* <<< rxfer */
    /**
     * Room to grow (since 0.2.0): always written as zero. Fields added later
     * take these words, so the struct's size and the offsets of the fields
     * above never change (on LP64; on 32-bit targets the struct only
     * shrinks), and a program built against this header keeps working with a
     * later library without setting anything. Chosen over a caller-set
     * version field because the caller only ever receives this struct: it
     * needs no initialisation, and one built against an older header must
     * not be written beyond its size.
     */
    uint64_t reserved_[5];
} ut_consensus_ready_t;

/**
 * @brief Fill @p cfg with defaults for @p version.
 * @param[out] cfg     Configuration to initialise.
 * @param[in]  version 1..UT_CONSENSUS_CONFIG_VERSION; only the fields that
 *                     version had are written (since 0.2.0).
 * @retval UT_OK       Filled.
 * @retval UT_EINVAL   @p cfg is NULL.
 * @retval UT_EVERSION @p version is not one this library knows.
 * @since 0.1.0
 */
UT_API int ut_consensus_config_init(ut_consensus_config_t *cfg, unsigned version);

/**
 * @brief Create a node as a follower (or observer) in term 0 with an empty log.
 * @param[out] out Receives the handle; untouched on failure.
 * @param[in]  cfg Validated configuration (copied).
 * @retval UT_OK       Created.
 * @retval UT_EINVAL   NULL argument, id 0, duplicate or zero member ids, @c id
 *                     not a member, no voters, timeouts 0 or heartbeat ≥ timeout.
 * @retval UT_ERANGE   More than UT_CONSENSUS_MAX_NODES members, or limits that can
 *                     build an AppendEntries larger than UT_MSG_MAX_FRAME:
 *                     UT_CONSENSUS_APPEND_OVERHEAD + UT_CONSENSUS_ENTRY_OVERHEAD ×
 *                     @c max_append_entries + @c max_append_bytes must not exceed it
 *                     (since 0.2.0).
 * @retval UT_EVERSION @c cfg->version is not in 1..UT_CONSENSUS_CONFIG_VERSION
 *                     (an older version is accepted: its fields are read,
 *                     later ones take their defaults; since 0.2.0).
 * @retval UT_ENOMEM   Allocation failed.
 * @since 0.1.0
 */
UT_API int ut_consensus_new(ut_consensus_t **out, const ut_consensus_config_t *cfg);

/**
 * @brief Free a node and everything it owns. NULL is a no-op.
 * @param[in] h Handle.
 * @since 0.1.0
 */
UT_API void ut_consensus_free(ut_consensus_t *h);

/**
 * @brief Load persisted state (hard state and log) before the first input.
 *
 * @p entries must be the whole persisted log: indexes 1..n consecutive,
 * terms non-decreasing and ≤ hs->term, payloads ≤ UT_CONSENSUS_MAX_ENTRY_BYTES;
 * hs->term ≤ UT_CONSENSUS_MAX_TERM; hs->commit ≤ n; hs->vote 0 or a voter;
 * the configuration's @c applied ≤ n. The payloads are copied. The commit
 * index becomes max(hs->commit, applied): an applied entry was committed
 * (since 0.2.0; before, applied had to be ≤ hs->commit). Committed entries
 * after @c applied come out of the next ready()s again.
 * @param[in] h       Handle, not yet ticked, stepped, proposed to or campaigned.
 * @param[in] hs      Persisted hard state.
 * @param[in] entries Persisted log (may be NULL when @p n is 0).
 * @param[in] n       Number of entries.
 * @retval UT_OK      Loaded; the node is a follower (observer) in hs->term.
 * @retval UT_EINVAL  NULL handle or hard state, or NULL entries with n > 0.
 * @retval UT_ESTATE  The node already took input (or was already restored).
 * @retval UT_ECORRUPT The state is inconsistent; nothing changed.
 * @retval UT_ENOMEM  Allocation failed; nothing changed.
 * @since 0.1.0
 */
UT_API int ut_consensus_restore(ut_consensus_t *h, const ut_consensus_hard_state_t *hs,
                                const ut_entry_t *entries, size_t n);

/**
 * @brief Advance the node's clock to @p now_ms (monotonic milliseconds).
 *
 * Drives election timeouts, heartbeats and check-quorum.
 * @param[in] h      Handle.
 * @param[in] now_ms Caller's monotonic time; must not go backwards.
 * @retval UT_OK     Done.
 * @retval UT_EINVAL NULL or freed handle.
 * @retval UT_ERANGE @p now_ms is earlier than a previous tick, or an election
 *                   is due but the term space is exhausted; nothing changed.
 * @retval UT_ENOMEM Allocation failed; state unchanged.
 * @since 0.1.0
 */
UT_API int ut_consensus_tick(ut_consensus_t *h, uint64_t now_ms);

/**
 * @brief Process one received message.
 * @param[in] h   Handle.
 * @param[in] msg Message addressed to this node (borrowed for the call).
 * @retval UT_OK       Processed (a reply may now be pending in ready).
 * @retval UT_ESTALE   From an older term: ignored, except that a reply
 *                     carrying the current term may be queued (§5.1).
 * @retval UT_EINVAL   NULL argument, wrong @c to, unknown type, impossible
 *                     indexes or terms, an entry above UT_CONSENSUS_MAX_ENTRY_BYTES,
 *                     or a term that breaks the term-jump rule
 *                     (UT_CONSENSUS_TERM_HEADROOM); nothing changed.
 * @retval UT_ENOTFOUND Sender is not a member; nothing changed. Since 0.3.0 an
 *                     AppendEntries or InstallSnapshot is processed whatever
 *                     its sender (thesis
 *                     §4.1: the leader may have been added by an entry this
 *                     node lacks), and so is a vote request once the
 *                     configuration has changed and no leader is alive.
 * @retval UT_ESTATE   A TimeoutNow (UT_MSG_TIMEOUT_NOW, since 0.3.0) that
 *                     does not come from the leader this node follows in its
 *                     term, or reaches a node that is no voter; nothing
 *                     changed (ut_consensus_transfer()).
 * @retval UT_ENOMEM   Allocation failed; nothing changed.
 * @since 0.1.0
 */
UT_API int ut_consensus_step(ut_consensus_t *h, const ut_msg_t *msg);

/**
 * @brief Append a command to the leader's log (§5.3).
 * @param[in]  h         Handle.
 * @param[in]  data      Payload (copied); may be NULL if @p len is 0.
 * @param[in]  len       Payload length (≤ UT_CONSENSUS_MAX_ENTRY_BYTES).
 * @param[out] out_index Receives the entry's index; may be NULL.
 * @retval UT_OK         Appended; committed entries come out of ready.
 * @retval UT_ENOTLEADER This node is not the leader; see ut_consensus_leader().
 * @retval UT_EBUSY      Flow control: max_uncommitted_bytes reached;
 *                       nothing appended, retry once entries commit.
 * @retval UT_EINVAL     NULL handle, or NULL data with len > 0.
 * @retval UT_ERANGE     @p len above UT_CONSENSUS_MAX_ENTRY_BYTES: no AppendEntries
 *                       could carry it; nothing appended.
 * @retval UT_ENOMEM     Allocation failed; nothing appended.
 * @since 0.1.0
 */
UT_API int ut_consensus_propose(ut_consensus_t *h, const void *data, size_t len,
                                uint64_t *out_index);

/**
 * @brief One payload of a batch for ut_consensus_propose_batch().
 * @since 0.2.0
 */
typedef struct ut_consensus_buf {
    const void *data; /**< Payload; may be NULL if @c len is 0. */
    size_t len;       /**< Payload length (≤ UT_CONSENSUS_MAX_ENTRY_BYTES). */
} ut_consensus_buf_t;

/**
 * @brief Append @p n commands to the leader's log in one call (§5.3), all or
 * nothing.
 *
 * The same as @p n calls of ut_consensus_propose() that all succeed, in
 * order (consecutive indexes from *@p first_index; the same entries, the
 * same messages), at the cost of one call: every payload is checked and the
 * room for all of them is reserved before the first is appended, so on any
 * error nothing is appended and the node is unchanged.
 * @param[in]  h           Handle.
 * @param[in]  bufs        @p n payloads (copied); may be NULL if @p n is 0.
 * @param[in]  n           Number of payloads; 0 appends nothing (UT_OK).
 * @param[out] first_index Receives the index of the first entry (for
 *                         @p n = 0, the index the next entry would get);
 *                         may be NULL.
 * @retval UT_OK         All @p n appended.
 * @retval UT_ENOTLEADER This node is not the leader; nothing appended.
 * @retval UT_EBUSY      Flow control: the batch would pass max_uncommitted_bytes;
 *                       nothing appended.
 * @retval UT_EINVAL     NULL handle, NULL @p bufs with n > 0, or a NULL
 *                       data with len > 0; nothing appended.
 * @retval UT_ERANGE     A payload above UT_CONSENSUS_MAX_ENTRY_BYTES, or
 *                       payloads that together exceed SIZE_MAX; nothing
 *                       appended.
 * @retval UT_ENOMEM     Allocation failed; nothing appended.
 * @since 0.2.0
 */
UT_API int ut_consensus_propose_batch(ut_consensus_t *h, const ut_consensus_buf_t *bufs, size_t n,
                                      uint64_t *first_index);

/**
 * @brief Start an election now (pre-vote first when enabled).
 * @param[in] h Handle.
 * @retval UT_OK     Campaign started.
 * @retval UT_ESTATE The node is a leader or an observer.
 * @retval UT_EINVAL NULL handle.
 * @retval UT_ERANGE The term space is exhausted (UT_CONSENSUS_MAX_TERM); nothing
 *                   changed, not even the election timer.
 * @retval UT_ENOMEM Allocation failed; nothing changed.
 * @since 0.1.0
 */
UT_API int ut_consensus_campaign(ut_consensus_t *h);

/**
 * @brief Collect pending work. See ut_consensus_ready_t for the order.
 *
 * An empty result (ut_consensus_ready_empty()) is not outstanding: it need not
 * be advanced (advancing it is a no-op), so a loop that stops at the first
 * empty ready never blocks the next one.
 * @param[in]  h   Handle.
 * @param[out] out Receives the work (possibly empty).
 * @retval UT_OK     @p out filled.
 * @retval UT_EINVAL NULL argument.
 * @retval UT_ESTATE A previous ready has not been advanced.
 * @retval UT_ENOMEM Allocation failed; nothing handed out.
 * @since 0.1.0
 */
UT_API int ut_consensus_ready(ut_consensus_t *h, ut_consensus_ready_t *out);

/**
 * @brief True when @p rd holds no work.
 * @param[in] rd Result of ut_consensus_ready() (NULL counts as empty).
 * @return Whether there is nothing to persist, send or apply.
 * @since 0.1.0
 */
UT_API bool ut_consensus_ready_empty(const ut_consensus_ready_t *rd);

/**
 * @brief True when ut_consensus_ready() would return work.
 * @param[in] h Handle (NULL: false).
 * @return Whether work is pending.
 * @since 0.1.0
 */
UT_API bool ut_consensus_has_ready(const ut_consensus_t *h);

/**
 * @brief Tell the node that everything in @p rd was persisted, sent and applied.
 * @param[in] h  Handle.
 * @param[in] rd The value the last ut_consensus_ready() returned.
 * An empty ready (ut_consensus_ready_empty()) need not be advanced; doing so
 * is a harmless no-op.
 * @retval UT_OK     Acknowledged; the pointers in @p rd are now invalid.
 * @retval UT_EINVAL NULL argument, or @p rd is not the outstanding ready.
 * @since 0.1.0
 */
UT_API int ut_consensus_advance(ut_consensus_t *h, const ut_consensus_ready_t *rd);

/**
 * @brief Current role (seed: Consensus.state).
 * @param[in] h Handle.
 * @return The role; UT_CONSENSUS_FOLLOWER for NULL.
 * @since 0.1.0
 */
UT_API ut_consensus_state_t ut_consensus_state(const ut_consensus_t *h);

/**
 * @brief Current term (seed: Consensus.term); never decreases.
 * @param[in] h Handle.
 * @return The term; 0 for NULL.
 * @since 0.1.0
 */
UT_API uint64_t ut_consensus_term(const ut_consensus_t *h);

/**
 * @brief Known leader of the current term (seed: Consensus.leader).
 * @param[in] h Handle.
 * @return The leader's id; 0 if unknown or NULL.
 * @since 0.1.0
 */
UT_API uint64_t ut_consensus_leader(const ut_consensus_t *h);

/**
 * @brief Vote cast in the current term.
 * @param[in] h Handle.
 * @return The id voted for; 0 for none or NULL.
 * @since 0.1.0
 */
UT_API uint64_t ut_consensus_vote(const ut_consensus_t *h);

/**
 * @brief This node's id.
 * @param[in] h Handle.
 * @return The id; 0 for NULL.
 * @since 0.1.0
 */
UT_API uint64_t ut_consensus_id(const ut_consensus_t *h);

/**
 * @brief Highest index known to be committed.
 * @param[in] h Handle.
 * @return The commit index; 0 for NULL.
 * @since 0.1.0
 */
UT_API uint64_t ut_consensus_commit_index(const ut_consensus_t *h);

/**
 * @brief Index of the last entry in the log.
 * @param[in] h Handle.
 * @return The last index; 0 for an empty log or NULL.
 * @since 0.1.0
 */
UT_API uint64_t ut_consensus_last_index(const ut_consensus_t *h);

/**
 * @brief Term of the entry at @p index.
 * @param[in]  h     Handle.
 * @param[in]  index Log index (0 gives term 0).
 * @param[out] out   Receives the term.
 * @retval UT_OK       Found.
 * @retval UT_EINVAL   NULL argument.
 * @retval UT_ENOTFOUND No such entry: beyond the last index, or (since
 *                     0.3.0) below the latest snapshot's index, whose
 *                     entries were compacted (the snapshot's own index
 *                     keeps its term).
 * @since 0.1.0
 */
UT_API int ut_consensus_entry_term(const ut_consensus_t *h, uint64_t index, uint64_t *out);

/**
 * @brief Members (seed: Consensus.nodes): voters first, then observers.
 * @param[in]  h     Handle.
 * @param[out] out   Array of @p cap ids (may be NULL when @p cap is 0).
 * @param[in]  cap   Capacity of @p out.
 * @param[out] n     Receives the number of members.
 * @retval UT_OK     @p out holds all members.
 * @retval UT_ERANGE @p cap is too small; *n says how many are needed.
 * @retval UT_EINVAL NULL handle or @p n.
 * @since 0.1.0
 */
UT_API int ut_consensus_nodes(const ut_consensus_t *h, uint64_t *out, size_t cap, size_t *n);

/**
 * @brief The user pointer from the configuration (seed: Consensus.config).
 * @param[in] h Handle.
 * @return The pointer; NULL for NULL.
 * @since 0.1.0
 */
UT_API void *ut_consensus_userdata(const ut_consensus_t *h);

/**
 * @brief Detail of the last error on this handle, "context: cause".
 * @param[in] h Handle.
 * @return A string valid until the next call on @p h; never NULL.
 * @since 0.1.0
 */
UT_API const char *ut_consensus_errmsg(const ut_consensus_t *h);

/* 0.3.0 (issue 11): one block per feature, in this order. */
/* >>> rstat: status, entries, flow control */
/** @brief Current version of ut_consensus_status_t. @since 0.3.0 */
#define UT_CONSENSUS_STATUS_VERSION 1u

/** @brief A time that never came: a peer the leader never heard from. @since 0.3.0 */
#define UT_CONSENSUS_NEVER UINT64_MAX

/** @brief How the leader replicates to one peer (thesis §10.2.1). @since 0.3.0 */
typedef enum ut_consensus_repl_state {
    UT_CONSENSUS_REPL_PROBE = 0,    /**< One AppendEntries at a time, finding where logs match. */
    UT_CONSENSUS_REPL_PIPELINE = 1, /**< Streaming, up to max_inflight messages in flight. */
    UT_CONSENSUS_REPL_SNAPSHOT = 2  /**< Sending the snapshot (the peer needs compacted entries). */
} ut_consensus_repl_state_t;

/** @brief One peer as the leader sees it (ut_consensus_status_t::peers). @since 0.3.0 */
typedef struct ut_consensus_peer_status {
    uint64_t id;                     /**< The peer's id. */
    bool voter;                      /**< A voter (in either half of a joint configuration). */
    ut_consensus_repl_state_t state; /**< Replication state. */
    uint64_t match;                  /**< Highest index known replicated on it (§5.3). */
    uint64_t next;                   /**< Next index to send it (§5.3). */
    unsigned inflight_msgs;          /**< AppendEntries in flight, not yet acknowledged. */
    uint64_t inflight_bytes;         /**< Payload bytes of those messages. */
    bool recent_active;              /**< Heard from in the current check-quorum round. */
    uint64_t last_heard_ms;          /**< Caller's time (ut_consensus_tick) of the last
                                        response stepped from it, or UT_CONSENSUS_NEVER. */
} ut_consensus_peer_status_t;

/**
 * @brief What a node is doing (like etcd-io/raft's Status): filled by
 * ut_consensus_status(). Versioned: set @c version with
 * ut_consensus_status_init(); fields are only ever appended.
 * @since 0.3.0
 */
typedef struct ut_consensus_status {
    unsigned version;                     /**< UT_CONSENSUS_STATUS_VERSION. */
    uint64_t id;                          /**< This node. */
    ut_consensus_state_t state;           /**< Role. */
    bool pre_vote;                        /**< A pre-vote (thesis §9.6) is in progress. */
    uint64_t term;                        /**< Current term. */
    uint64_t vote;                        /**< Vote in @c term (0: none). */
    uint64_t leader;                      /**< Known leader (0: unknown). */
    uint64_t commit;                      /**< Commit index. */
    uint64_t applied;                     /**< Highest index handed out to apply. */
    uint64_t first_index;                 /**< First index the log holds (after the snapshot). */
    uint64_t last_index;                  /**< Last index. */
    uint64_t snapshot_index;              /**< Index of the latest snapshot (0: none). */
    uint64_t snapshot_term;               /**< Its term. */
    ut_consensus_membership_t membership; /**< Configuration; its arrays point into
                                             @c member_ids_ of this struct. */
    uint64_t membership_index;  /**< Index of the entry that set it (as ut_consensus_membership). */
    uint64_t uncommitted_bytes; /**< Leader: payload bytes appended but not committed. */
    uint64_t transfer_target;   /**< Leader: the target of a leader transfer, 0 for none. */
    size_t pending_reads;       /**< Reads requested and not yet handed out by ready. */
    size_t n_peers;             /**< Leader: entries of @c peers (every member but itself);
                                   0 on other roles. */
    ut_consensus_peer_status_t peers[UT_CONSENSUS_MAX_NODES]; /**< Leader: per peer. */
    uint64_t member_ids_[3 * UT_CONSENSUS_MAX_NODES];         /**< Storage of @c membership. */
} ut_consensus_status_t;

/**
 * @brief Prepare @p st for ut_consensus_status().
 * @param[out] st      Status to initialise (zeroed, version set).
 * @param[in]  version UT_CONSENSUS_STATUS_VERSION (1..it).
 * @retval UT_OK       Done.
 * @retval UT_EINVAL   @p st is NULL.
 * @retval UT_EVERSION Unknown @p version.
 * @since 0.3.0
 */
UT_API int ut_consensus_status_init(ut_consensus_status_t *st, unsigned version);

/**
 * @brief Fill @p st with what the node is doing. Changes nothing on @p h.
 * @param[in]  h  Handle.
 * @param[out] st Initialised with ut_consensus_status_init(); only the fields
 *                of its version are written.
 * @retval UT_OK       Filled.
 * @retval UT_EINVAL   NULL argument.
 * @retval UT_EVERSION @p st's version is not one this library knows.
 * @since 0.3.0
 */
UT_API int ut_consensus_status(const ut_consensus_t *h, ut_consensus_status_t *st);

/**
 * @brief The log entry at @p index.
 * @param[in]  h     Handle.
 * @param[in]  index Log index.
 * @param[out] out   Receives the entry; its @c data is a view into the log,
 *                   valid until the next call on @p h other than an accessor.
 * @retval UT_OK        Filled.
 * @retval UT_EINVAL    NULL argument.
 * @retval UT_ENOTFOUND @p index is 0, compacted (at or below the snapshot's
 *                      index) or beyond the last index.
 * @since 0.3.0
 */
UT_API int ut_consensus_entry(const ut_consensus_t *h, uint64_t index, ut_entry_t *out);
/* <<< rstat */
/* >>> rsnap: snapshots and compaction */
/**
 * @brief Wire bytes of an InstallSnapshot besides its chunk (frame header,
 * fields, CRC). @since 0.3.0
 */
#define UT_CONSENSUS_SNAPSHOT_OVERHEAD 76u

/**
 * @brief Largest ut_consensus_config_t::snapshot_chunk_bytes: a chunk of
 * this size fills one frame (UT_MSG_MAX_FRAME). @since 0.3.0
 */
#define UT_CONSENSUS_SNAPSHOT_MAX_CHUNK (64u * 1024u * 1024u - UT_CONSENSUS_SNAPSHOT_OVERHEAD)

/** @brief Default ut_consensus_config_t::snapshot_chunk_bytes (1 MiB). @since 0.3.0 */
#define UT_CONSENSUS_SNAPSHOT_CHUNK_DEFAULT (1024u * 1024u)

/**
 * @brief Compact the log: the application's state at @p index replaces
 * every entry up to it (Raft paper §7, thesis §5.1).
 *
 * @p data is a snapshot of the state machine after applying every entry up
 * to @p index (handed out in ready's @c committed). The node keeps a copy
 * of it, with the term of entry @p index and the current configuration,
 * as its latest snapshot (the previous one is freed), and drops the log up
 * to @p index. A follower whose next entry is no longer in the log then
 * gets this snapshot (InstallSnapshot, in chunks of
 * ut_consensus_config_t::snapshot_chunk_bytes).
 *
 * Memory (docs/memory.md): the copy costs @p len + 16 + 8 × members bytes,
 * plus about 2 KiB; the log keeps only what follows @p index. Memory the
 * dropped entries used is given back once no ready that points at it is
 * outstanding (at the next ut_consensus_advance(), or at once).
 * Pointers of an outstanding ready stay valid until its advance.
 * @param[in] h     Handle.
 * @param[in] index Last index the snapshot covers: above the current
 *                  snapshot's index, at most the index applied so far.
 * @param[in] data  The application's state (copied); may be NULL if @p len is 0.
 * @param[in] len   Length of @p data.
 * @retval UT_OK     Compacted.
 * @retval UT_EINVAL NULL handle, or NULL @p data with @p len > 0.
 * @retval UT_ERANGE @p index is 0, above the applied index, or at or below
 *                   the current snapshot's index; nothing changed.
 * @retval UT_ENOMEM Allocation failed; nothing changed.
 * @since 0.3.0
 */
UT_API int ut_consensus_compact(ut_consensus_t *h, uint64_t index, const void *data, size_t len);

/**
 * @brief Load persisted state from a snapshot plus the entries after it,
 * before the first input (the restart of a node that compacted or installed
 * a snapshot; ut_consensus_restore() without one).
 *
 * The rules of ut_consensus_restore(), with the log starting after the
 * snapshot: @p entries are indexes snap->index + 1 … consecutive, terms
 * non-decreasing from snap->term and ≤ hs->term; snap->index ≥ 1,
 * 1 ≤ snap->term ≤ hs->term; hs->commit and the configuration's @c applied
 * at most the last index. Entries up to snap->index count as committed and
 * applied (the application restored its state from the snapshot): the
 * commit index becomes max(hs->commit, applied, snap->index), and committed
 * entries after max(applied, snap->index) come out of the next ready()s.
 * The snapshot's membership becomes the configuration committed at
 * snap->index (thesis §5.1), the latest configuration entry among @p entries
 * the one in effect (thesis §4.1); a malformed membership is UT_ECORRUPT,
 * and the vote is not checked against it (a change since the vote may have
 * removed the node voted for). The snapshot's
 * data and the payloads are copied; the node keeps the snapshot to send to
 * lagging followers.
 * @param[in] h       Handle, not yet ticked, stepped, proposed to or campaigned.
 * @param[in] hs      Persisted hard state.
 * @param[in] snap    Persisted snapshot.
 * @param[in] entries Persisted entries after it (may be NULL when @p n is 0).
 * @param[in] n       Number of entries.
 * @retval UT_OK       Loaded; the node is a follower (observer) in hs->term.
 * @retval UT_EINVAL   NULL handle, hard state or snapshot, or NULL entries
 *                     with n > 0, or NULL snapshot data with a length.
 * @retval UT_ESTATE   The node already took input (or was already restored).
 * @retval UT_ECORRUPT The state is inconsistent; nothing changed.
 * @retval UT_ENOMEM   Allocation failed; nothing changed.
 * @since 0.3.0
 */
UT_API int ut_consensus_restore_snapshot(ut_consensus_t *h, const ut_consensus_hard_state_t *hs,
                                         const ut_consensus_snapshot_t *snap,
                                         const ut_entry_t *entries, size_t n);
/* <<< rsnap */
/* >>> rmemb: membership changes */
/**
 * @brief One change of the configuration, for ut_consensus_propose_change().
 * @since 0.3.0
 */
typedef enum ut_consensus_change_type {
    UT_CONSENSUS_ADD_VOTER = 1,       /**< Add a voter; it counts in quorums at once. */
    UT_CONSENSUS_REMOVE_VOTER = 2,    /**< Remove a voter (the leader itself too). */
    UT_CONSENSUS_ADD_OBSERVER = 3,    /**< Add an observer (non-voting member). */
    UT_CONSENSUS_REMOVE_OBSERVER = 4, /**< Remove an observer. */
    UT_CONSENSUS_PROMOTE = 5          /**< Make an observer a voter, once it has caught up
                                         (ut_consensus_config_t::promote_max_lag). */
} ut_consensus_change_type_t;

/** @brief A change: what, to which node. @since 0.3.0 */
typedef struct ut_consensus_change {
    ut_consensus_change_type_t type; /**< What to change. */
    uint64_t id;                     /**< The node it concerns (non-zero). */
} ut_consensus_change_t;

/** @brief ut_consensus_propose_change() flag: go through a joint configuration even for a
 * single voter change (thesis §4.3). @since 0.3.0 */
#define UT_CONSENSUS_CHANGE_JOINT 1u
/** @brief ut_consensus_propose_change() flag: a joint configuration is left by the leader
 * itself as soon as it commits (otherwise: ut_consensus_leave_joint()). @since 0.3.0 */
#define UT_CONSENSUS_CHANGE_AUTO_LEAVE 2u

/**
 * @brief Propose a change of the configuration (Raft paper §6; thesis §4.1–4.3).
 *
 * The leader appends one configuration entry (UT_ENTRY_CONFIG; payload in
 * docs/wire-format.md, "Configuration entries"). It takes effect on every
 * node as soon as that node has it in its log, before it commits (thesis
 * §4.1); a configuration entry that is truncated away gives the node back
 * the configuration before it. The entry comes out of ready's @c committed
 * like any other; the application has nothing to apply for it.
 *
 * What kind of change: at most one voter change (add, remove or promote a
 * voter; any number of observer changes with it) is a single-server change
 * (thesis §4.1): the new configuration replaces the old one at once, which
 * is safe because any majority of the one overlaps any majority of the other.
 * Two or more voter changes, or UT_CONSENSUS_CHANGE_JOINT, enter a joint
 * configuration C_old,new (thesis §4.3): the old voters become
 * @c voters_outgoing, and until it is left every commit, election and
 * check-quorum round needs a majority of each set. It is left by a second
 * entry (C_new), which the leader appends itself once the joint entry has
 * committed with UT_CONSENSUS_CHANGE_AUTO_LEAVE, else on
 * ut_consensus_leave_joint().
 *
 * Removing the leader: it keeps leading, replicating but no longer counting
 * itself, until the configuration that removes it commits; then it steps
 * down and becomes UT_CONSENSUS_OBSERVER, no member (thesis §4.2.2). A node
 * that is no voter in its configuration never campaigns (thesis §4.2.3). A
 * voter added directly counts in quorums at once, before it holds any entry:
 * adding one to a cluster of 3 voters needs 3 of 4 nodes to commit, so one
 * more failure stops progress until it has caught up (thesis §4.2.1). Add
 * it as an observer and promote it instead: a promotion is refused until it
 * is within ut_consensus_config_t::promote_max_lag entries of the leader.
 *
 * On any error the node is unchanged.
 * @param[in]  h       Handle.
 * @param[in]  changes @p n changes, each for a different node.
 * @param[in]  n       Number of changes (1..UT_CONSENSUS_MAX_NODES).
 * @param[in]  flags   0, or UT_CONSENSUS_CHANGE_JOINT and/or
 *                     UT_CONSENSUS_CHANGE_AUTO_LEAVE (only meaningful for a
 *                     joint change).
 * @param[out] index   Receives the configuration entry's index; may be NULL.
 * @retval UT_OK         Appended; in effect on this node.
 * @retval UT_ENOTLEADER This node is not the leader.
 * @retval UT_EBUSY      A configuration entry is not committed yet (one change
 *                       at a time), this leader has not committed an entry of
 *                       its own term yet (thesis §4.1), a joint configuration
 *                       is being left by the leader, or an observer to
 *                       promote lags more than promote_max_lag entries behind.
 * @retval UT_ESTATE     The configuration is joint: call
 *                       ut_consensus_leave_joint() first.
 * @retval UT_EINVAL     NULL handle, NULL @p changes, @p n 0, unknown flags or
 *                       change type, id 0, an id twice, adding a member,
 *                       removing or promoting a node that is not a voter
 *                       (observer), or removing the last voter.
 * @retval UT_ERANGE     More than UT_CONSENSUS_MAX_NODES members, or @p n
 *                       above UT_CONSENSUS_MAX_NODES.
 * @retval UT_ENOMEM     Allocation failed.
 * @since 0.3.0
 */
UT_API int ut_consensus_propose_change(ut_consensus_t *h, const ut_consensus_change_t *changes,
                                       size_t n, unsigned flags, uint64_t *index);

/**
 * @brief Leave a joint configuration (thesis §4.3): append C_new, the incoming
 * voters alone. Its voters decide from then on; the outgoing ones that are not
 * among them are no members any more once it commits.
 * @param[in]  h     Handle.
 * @param[out] index Receives the entry's index; may be NULL.
 * @retval UT_OK         Appended.
 * @retval UT_ENOTLEADER This node is not the leader.
 * @retval UT_ESTATE     The configuration is not joint (also once the leave
 *                       entry is appended).
 * @retval UT_EBUSY      The joint entry is not committed yet, or this leader
 *                       has not committed an entry of its term.
 * @retval UT_EINVAL     NULL handle.
 * @retval UT_ENOMEM     Allocation failed; nothing changed.
 * @since 0.3.0
 */
UT_API int ut_consensus_leave_joint(ut_consensus_t *h, uint64_t *index);

/**
 * @brief The configuration in effect on this node: that of the latest
 * configuration entry in its log, committed or not (else that of the
 * snapshot, else the one it was created with).
 * @param[in]  h     Handle.
 * @param[out] out   Receives it; its arrays point into the node and stay
 *                   valid until the next call that changes the node (step,
 *                   tick, propose*, campaign, ready, advance, restore).
 * @param[out] index Receives the index of the entry that set it (0: the
 *                   configuration the node was created with, or a snapshot's
 *                   index); the change is pending while it is above the
 *                   commit index. May be NULL.
 * @retval UT_OK     Filled.
 * @retval UT_EINVAL NULL handle or @p out.
 * @since 0.3.0
 */
UT_API int ut_consensus_membership(const ut_consensus_t *h, ut_consensus_membership_t *out,
                                   uint64_t *index);
/* <<< rmemb */
/* >>> rxfer: leader transfer and reads */
/**
 * @brief Hand leadership to voter @p target (thesis §3.10).
 *
 * The leader stops accepting proposals and membership changes (UT_EBUSY),
 * brings @p target's log up to date, then sends it TimeoutNow; the target
 * campaigns at once (no pre-vote) and voters grant it even under the
 * leader lease (thesis §4.2.3). The transfer ends when the leader steps down or is
 * aborted after one election timeout without it (proposals resume).
 * @param[in] h      Handle (the leader).
 * @param[in] target A voter of the configuration other than this node.
 * @retval UT_OK         Started (or already under way to @p target).
 * @retval UT_EINVAL     NULL handle, @p target is this node or not a voter
 *                       (an observer cannot lead).
 * @retval UT_ENOTFOUND  @p target is not a member.
 * @retval UT_ENOTLEADER This node is not the leader.
 * @retval UT_EBUSY      A transfer to another node is under way.
 * @retval UT_ENOMEM     Allocation failed; nothing changed.
 * On any error the node is unchanged.
 *
 * While the transfer is under way ut_consensus_propose(),
 * ut_consensus_propose_batch(), ut_consensus_propose_change() and
 * ut_consensus_leave_joint() return UT_EBUSY. On the target, a TimeoutNow
 * (UT_MSG_TIMEOUT_NOW) is stepped like any message: ut_consensus_step()
 * returns UT_ESTALE for an older term and UT_ESTATE (nothing changed) when
 * it does not come from the leader this node follows in its term, or this
 * node is no voter. Traced: "transfer-started", "transfer-timeout-now",
 * "transfer-ended" (the leader stepped down), "transfer-aborted" (a = the
 * target, b = the milliseconds since it started).
 * @since 0.3.0
 */
UT_API int ut_consensus_transfer(ut_consensus_t *h, uint64_t target);

/** @brief Largest context ut_consensus_read_index() accepts. @since 0.3.0 */
#define UT_CONSENSUS_MAX_READ_CTX 4096u

/** @brief Most reads a node holds unanswered (UT_EBUSY beyond). @since 0.3.0 */
#define UT_CONSENSUS_MAX_PENDING_READS 4096u

/**
 * @brief Ask for a linearizable read (ReadIndex, thesis §6.4).
 *
 * When the read may be served, a later ready() hands out a
 * ut_consensus_read_state_t with a copy of @p ctx and the read index: the
 * application serves the read once it has applied that index. Every call
 * is answered at most once, duplicates of @p ctx included. A leader answers
 * after a quorum confirms it is still leader (or, in lease mode, while its
 * lease lasts), and not before it has committed an entry of its term; a
 * follower forwards the read to its leader, and a forwarded read is lost
 * with its message or a leader change: retry after a timeout.
 * @param[in] h   Handle.
 * @param[in] ctx @p len bytes identifying the read (copied); NULL when @p len is 0.
 * @param[in] len At most UT_CONSENSUS_MAX_READ_CTX.
 * @retval UT_OK         Queued.
 * @retval UT_EINVAL     NULL handle, or NULL @p ctx with @p len > 0.
 * @retval UT_ERANGE     @p len above UT_CONSENSUS_MAX_READ_CTX.
 * @retval UT_ENOTLEADER No leader is known (and this node is not one).
 * @retval UT_EBUSY      UT_CONSENSUS_MAX_PENDING_READS reads are unanswered.
 * @retval UT_ENOMEM     Out of memory; nothing queued.
 * @since 0.3.0
 */
UT_API int ut_consensus_read_index(ut_consensus_t *h, const void *ctx, size_t len);
/* <<< rxfer */

#ifdef __cplusplus
}
#endif

#endif /* UNITYPES_CONSENSUS_H */
