/* SPDX-License-Identifier: MIT */
/**
 * @file unitypes/msg.h
 * @brief The one message envelope shared by every protocol module.
 *
 * Every message a libunitypes state machine emits or accepts is a ut_msg_t:
 * a type, the sender and receiver node ids, the sender's term (Raft; 0 for
 * modules without terms) and a typed body. One transport, one codec and one
 * simulator therefore serve every module.
 *
 * Ownership: a ut_msg_t never owns memory. Pointers inside it (entries and
 * their payloads) are borrowed: from the handle that produced it (valid until
 * that handle's next advance or free) or from the buffer it was decoded from.
 */
#ifndef UNITYPES_MSG_H
#define UNITYPES_MSG_H

#include "unitypes/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Message kinds. Values are part of the wire format: never reused.
 *
 * Ranges: 1–31 consensus (Raft), 32–63 locks, 64–95 two-phase commit,
 * 96–127 gossip membership, 128–159 replication.
 * @since 0.1.0
 */
typedef enum ut_msg_type {
    UT_MSG_NONE = 0,      /**< Invalid / empty. */
    UT_MSG_VOTE = 1,      /**< Raft RequestVote (§5.2). Body: vote. */
    UT_MSG_VOTE_RESP = 2, /**< RequestVote response. Body: vote_resp. */
    UT_MSG_PREVOTE = 3,   /**< Pre-vote request (thesis §9.6). Body: vote; term = proposed term. */
    UT_MSG_PREVOTE_RESP = 4, /**< Pre-vote response. Body: vote_resp. */
    UT_MSG_APPEND = 5,       /**< AppendEntries, heartbeats included (§5.3). Body: append. */
    UT_MSG_APPEND_RESP = 6,  /**< AppendEntries response. Body: append_resp. */
    /* >>> rsnap: messages */
    UT_MSG_SNAPSHOT = 7,      /**< InstallSnapshot, one chunk (§7). Body: snapshot. @since 0.3.0 */
    UT_MSG_SNAPSHOT_RESP = 8, /**< InstallSnapshot response. Body: snapshot_resp. @since 0.3.0 */
    /* <<< rsnap */
    /* >>> rxfer: messages */
    UT_MSG_TIMEOUT_NOW = 9, /**< Leadership transfer (thesis §3.10): the leader tells an up-to-date
                               voter to campaign at once. Body: none (common fields only; wire 1.1).
                               @since 0.3.0 */
    UT_MSG_READ_INDEX = 10, /**< A follower forwards a read to its leader (thesis §6.4). Body:
                               read_index (wire 1.1). @since 0.3.0 */
    UT_MSG_READ_INDEX_RESP =
        11, /**< The leader's answer to READ_INDEX. Body: read_index (wire 1.1).
               @since 0.3.0 */
    /* <<< rxfer */

    /* >>> lock (32-63, issue 14): add here */
    /* <<< lock */

    /* >>> 2pc (64-95, issue 15): add here */
    UT_MSG_2PC_PREPARE = 64, /**< 2PC phase one (Gray & Lamport §3). Body: twopc. */
    UT_MSG_2PC_VOTE = 65,    /**< Participant's vote; code = ut_2pc_vote_t. Body: twopc. */
    UT_MSG_2PC_COMMIT = 66,  /**< Decision commit; code = flags. Body: twopc. */
    UT_MSG_2PC_ABORT = 67,   /**< Decision abort; code = flags. Body: twopc. */
    UT_MSG_2PC_ACK = 68,     /**< Decision acknowledged; code = outcome | heuristic. Body: twopc. */
    UT_MSG_2PC_INQUIRY = 69, /**< In-doubt participant asks for the outcome. Body: twopc. */
    UT_MSG_2PC_STATUS = 70,  /**< A peer's answer to an inquiry; code = state. Body: twopc. */
    /* <<< 2pc */

    /* >>> gossip (96-127, issue 16): add here */
    UT_MSG_GOSSIP_PING = 96,     /**< SWIM ping (§4). Body: gossip. */
    UT_MSG_GOSSIP_PING_REQ = 97, /**< SWIM ping-req: probe @c target (§4). Body: gossip. */
    UT_MSG_GOSSIP_ACK = 98,      /**< SWIM ack, direct or relayed (§4). Body: gossip. */
    UT_MSG_GOSSIP_NACK = 99,     /**< Lifeguard nack from an intermediary (§4.2). Body: gossip. */
    UT_MSG_GOSSIP_SYNC = 100,    /**< Push-pull state exchange / join request. Body: gossip. */
    UT_MSG_GOSSIP_SYNC_RESP = 101, /**< Push-pull reply. Body: gossip. */
    UT_MSG_GOSSIP_PUSH = 102,      /**< Updates only, to a few random members. Body: gossip. */
    /* <<< gossip */

    /* >>> replica (128-159, issue 13): add here */
    UT_MSG_REPL_WRITE = 128, /**< Replication: position written on the primary. Body: repl_write. */
    UT_MSG_REPL_ACK = 129,   /**< Replication: a replica's acked positions. Body: repl_ack. */
    UT_MSG_REPL_LINK = 130,  /**< Chain repair: forward to a new successor. Body: repl_link. */
    /* <<< replica */
} ut_msg_type_t;

/** @brief Kind of a log entry. Values are part of the wire format. @since 0.1.0 */
typedef enum ut_entry_type {
    UT_ENTRY_NORMAL = 0, /**< Application command: apply its payload. */
    UT_ENTRY_NOOP = 1,   /**< Appended by a new leader (§5.4.2, §8); nothing to apply. */
    UT_ENTRY_CONFIG = 2  /**< Configuration change (payload: docs/wire-format.md, "Configuration
                            entries"); nothing to apply. Since 0.3.0. */
} ut_entry_type_t;

/**
 * @brief One replicated log entry.
 *
 * @c data points at @c len payload bytes (not NUL-terminated; may be NULL
 * when @c len is 0). It is borrowed; see the file comment.
 * @since 0.1.0
 */
typedef struct ut_entry {
    uint64_t term;    /**< Term in which a leader created the entry. */
    uint64_t index;   /**< Position in the log, from 1. */
    uint32_t type;    /**< A ut_entry_type_t value. */
    uint32_t len;     /**< Payload length in bytes. */
    const void *data; /**< Payload, @c len bytes. */
} ut_entry_t;

/** @brief Body of UT_MSG_VOTE and UT_MSG_PREVOTE (§5.2, §5.4.1). @since 0.1.0 */
typedef struct ut_msg_vote {
    uint64_t last_log_index; /**< Index of the candidate's last entry. */
    uint64_t last_log_term;  /**< Term of the candidate's last entry. */
    /* >>> rxfer: wire 1.1 */
    bool
        transfer; /**< VOTE only (false in PREVOTE): the candidate campaigns because its leader
                     handed leadership to it (TimeoutNow, thesis §3.10), so voters grant it
                     even while they hear from that leader (check-quorum's lease does not
                     refuse it). Wire format 1.1 (false after decoding a 1.0 frame). @since 0.3.0 */
    /* <<< rxfer */
} ut_msg_vote_t;

/** @brief Body of UT_MSG_VOTE_RESP and UT_MSG_PREVOTE_RESP. @since 0.1.0 */
typedef struct ut_msg_vote_resp {
    bool granted; /**< True if the vote (or pre-vote) was granted. */
} ut_msg_vote_resp_t;

/** @brief Body of UT_MSG_APPEND (§5.3). No entries = heartbeat. @since 0.1.0 */
typedef struct ut_msg_append {
    uint64_t prev_index;       /**< Index of the entry preceding @c entries. */
    uint64_t prev_term;        /**< Term of that entry (0 when prev_index is 0). */
    uint64_t commit;           /**< Leader's commit index. */
    size_t n_entries;          /**< Number of entries. */
    const ut_entry_t *entries; /**< Entries prev_index+1 … prev_index+n_entries. */
    /* >>> rxfer: wire 1.1 */
    uint64_t read_round; /**< The leader's latest ReadIndex round (thesis §6.4) when this message
                            was sent, 0 for none; the follower echoes it in its response. Wire
                            format 1.1 (0 after decoding a 1.0 frame). @since 0.3.0 */
    /* <<< rxfer */
} ut_msg_append_t;

/**
 * @brief Body of UT_MSG_APPEND_RESP.
 *
 * On success @c index is the highest index the follower now knows matches
 * the leader. On rejection @c index echoes the rejected prev_index and the
 * hint lets the leader skip a whole conflicting term at once (§5.3, "fast
 * backtracking"): @c hint_term is the term of the follower's entry at
 * prev_index (0 if its log is shorter) and @c hint_index the first index the
 * follower holds for that term above its commit index (entries up to the
 * commit index are known to match), or its last index + 1 when its log is
 * shorter than prev_index. A rejection with @c hint_index 0 is the reply to
 * an AppendEntries from an older term: it only carries the replier's term.
 * @since 0.1.0
 */
typedef struct ut_msg_append_resp {
    bool success;        /**< Consistency check passed and entries stored. */
    uint64_t index;      /**< Success: match index. Rejection: rejected prev_index. */
    uint64_t hint_term;  /**< Rejection: conflicting term, or 0. */
    uint64_t hint_index; /**< Rejection: first index of hint_term, or last index + 1. */
    /* >>> rxfer: wire 1.1 */
    uint64_t read_round; /**< The @c read_round of the AppendEntries answered. Wire format 1.1
                            (0 after decoding a 1.0 frame). @since 0.3.0 */
    /* <<< rxfer */
} ut_msg_append_resp_t;

/* >>> rsnap: bodies */
/**
 * @brief Body of UT_MSG_SNAPSHOT: one chunk of a snapshot image (Raft paper
 * §7, InstallSnapshot; thesis §5.3).
 *
 * The image is the snapshot's configuration followed by the application's
 * data (docs/wire-format.md, "Snapshots"); @c data holds its bytes
 * [@c offset, @c offset + @c len) of @c total. @since 0.3.0
 */
typedef struct ut_msg_snapshot {
    uint64_t index;   /**< Last log index the snapshot covers (lastIncludedIndex). */
    uint64_t term;    /**< Term of that entry (lastIncludedTerm). */
    uint64_t offset;  /**< Byte offset of this chunk in the image. */
    uint64_t total;   /**< Length of the whole image. */
    const void *data; /**< The chunk, @c len bytes. */
    uint32_t len;     /**< Length of @c data. */
} ut_msg_snapshot_t;

/**
 * @brief Body of UT_MSG_SNAPSHOT_RESP.
 *
 * @c next is the image offset the follower expects next (a lost, duplicate
 * or reordered chunk is answered with it, so the leader resends from there;
 * 0 asks for a restart). @c done: the follower holds the snapshot (installed
 * it, or its log already held everything it covers). A response with
 * @c index 0 only carries the replier's term (the reply to an older term's
 * chunk). @since 0.3.0
 */
typedef struct ut_msg_snapshot_resp {
    uint64_t index; /**< The snapshot's index, as in the chunk answered. */
    uint64_t term;  /**< The snapshot's term, as in the chunk answered. */
    uint64_t next;  /**< Next image offset the follower expects. */
    bool done;      /**< The follower holds the snapshot. */
} ut_msg_snapshot_resp_t;
/* <<< rsnap */

/* >>> rxfer: bodies */
/**
 * @brief Body of UT_MSG_READ_INDEX and UT_MSG_READ_INDEX_RESP (thesis
 * §6.4: a follower's read, forwarded to the leader, and its answer).
 * @c ctx is the caller's context of ut_consensus_read_index(), carried
 * as is. @since 0.3.0
 */
typedef struct ut_msg_read_index {
    uint64_t
        index; /**< RESP: the read index; 0 when the leader refused (retry later). REQUEST: 0. */
    const void *ctx; /**< The read's context, @c len bytes (may be NULL when @c len is 0). */
    uint32_t len;    /**< Length of @c ctx. */
} ut_msg_read_index_t;
/* <<< rxfer */

/* >>> lock (32-63, issue 14): add here */
/* <<< lock */

/* >>> 2pc (64-95, issue 15): add here */
/**
 * @brief Body of every two-phase commit message (UT_MSG_2PC_*).
 *
 * @c peers and @c data are used by PREPARE only (0 / NULL otherwise):
 * @c peers holds @c n_peers node ids, each 8 bytes little-endian (every
 * participant of the transaction, the receiver included, for cooperative
 * termination), @c data the payload.
 * @since 0.2.0
 */
typedef struct ut_msg_2pc {
    uint64_t txid;     /**< Transaction id (not 0). */
    uint32_t code;     /**< Per type: vote, flags, outcome or state. */
    uint32_t n_peers;  /**< PREPARE: number of peer ids. */
    const void *peers; /**< PREPARE: n_peers little-endian u64 ids. */
    uint32_t len;      /**< PREPARE: payload length. */
    const void *data;  /**< PREPARE: payload. */
} ut_msg_2pc_t;
/* <<< 2pc */

/* >>> gossip (96-127, issue 16): add here */
/**
 * @brief Body of every UT_MSG_GOSSIP_* message (SWIM §4, Lifeguard).
 *
 * The piggybacked membership updates reuse ut_entry_t, as append entries
 * do, so one decode array serves both: @c index = member id (non-zero),
 * @c term = incarnation, @c type = a ut_node_status_t (ALIVE, SUSPECTED,
 * DEAD, or LEAVING for "left"), @c data / @c len = the member's metadata for
 * ALIVE updates, and for SUSPECTED updates the 8-byte little-endian id of
 * the member that suspects (Lifeguard's independent confirmations).
 * The layout of the first five members matches ut_msg_append_t.
 * @since 0.2.0
 */
typedef struct ut_msg_gossip {
    uint64_t seq;              /**< Probe sequence number (ping, ping-req, ack, nack). */
    uint64_t target;           /**< The probed member (ping-req, ack, nack, relayed ping). */
    uint64_t origin;           /**< Relayed ping/ack: the member that asked for the probe, or 0. */
    size_t n_updates;          /**< Number of @c updates. */
    const ut_entry_t *updates; /**< Piggybacked membership updates. */
} ut_msg_gossip_t;
/* <<< gossip */

/* >>> replica (128-159, issue 13): add here */
/** @brief Body of UT_MSG_REPL_WRITE (unitypes/replica.h). @since 0.2.0 */
typedef struct ut_msg_repl_write {
    uint64_t position; /**< Position written (payload travels out of band). */
    uint64_t durable;  /**< Primary's durable position (CRAQ: clean up to here). */
    uint64_t epoch;    /**< The receiver's resync epoch (0: none; forwarded writes). @since 0.2.0 */
} ut_msg_repl_write_t;

/** @brief Body of UT_MSG_REPL_ACK. @since 0.2.0 */
typedef struct ut_msg_repl_ack {
    uint64_t acked;   /**< Highest position stored, in order. */
    uint64_t applied; /**< Highest position applied (at most acked). */
    uint64_t epoch;   /**< Highest resync epoch the sender was given; older than the primary's:
                           stale, ignored. @since 0.2.0 */
} ut_msg_repl_ack_t;

/** @brief Body of UT_MSG_REPL_LINK (chain repair, van Renesse & Schneider 2004 §3). @since 0.2.0 */
typedef struct ut_msg_repl_link {
    uint64_t successor; /**< New successor (0: the receiver is now the tail). */
    uint64_t position;  /**< Resend to it from position + 1. */
} ut_msg_repl_link_t;
/* <<< replica */

/**
 * @brief The message envelope.
 * @since 0.1.0
 */
typedef struct ut_msg {
    ut_msg_type_t type; /**< Which body member is valid. */
    uint64_t from;      /**< Sender node id (never 0). */
    uint64_t to;        /**< Receiver node id (never 0). */
    uint64_t term;      /**< Sender's term (Raft); 0 for modules without terms. */
    /** @brief Typed body, selected by @c type. */
    union {
        ut_msg_vote_t vote;               /**< UT_MSG_VOTE, UT_MSG_PREVOTE */
        ut_msg_vote_resp_t vote_resp;     /**< UT_MSG_VOTE_RESP, UT_MSG_PREVOTE_RESP */
        ut_msg_append_t append;           /**< UT_MSG_APPEND */
        ut_msg_append_resp_t append_resp; /**< UT_MSG_APPEND_RESP */
        /* >>> rsnap: bodies */
        ut_msg_snapshot_t snapshot;           /**< UT_MSG_SNAPSHOT */
        ut_msg_snapshot_resp_t snapshot_resp; /**< UT_MSG_SNAPSHOT_RESP */
        /* <<< rsnap */
        /* >>> rxfer: bodies */
        ut_msg_read_index_t read_index; /**< UT_MSG_READ_INDEX, UT_MSG_READ_INDEX_RESP */
        /* <<< rxfer */

        /* >>> lock (32-63, issue 14): add here */
        /* <<< lock */

        /* >>> 2pc (64-95, issue 15): add here */
        ut_msg_2pc_t twopc; /**< UT_MSG_2PC_* */
        /* <<< 2pc */

        /* >>> gossip (96-127, issue 16): add here */
        ut_msg_gossip_t gossip; /**< UT_MSG_GOSSIP_* */
        /* <<< gossip */

        /* >>> replica (128-159, issue 13): add here */
        ut_msg_repl_write_t repl_write; /**< UT_MSG_REPL_WRITE */
        ut_msg_repl_ack_t repl_ack;     /**< UT_MSG_REPL_ACK */
        ut_msg_repl_link_t repl_link;   /**< UT_MSG_REPL_LINK */
        /* <<< replica */

        uint64_t reserved_[12]; /**< Fixes the size for later bodies (ABI). */
    } body;
} ut_msg_t;

/**
 * @brief Name of a message type ("append", "vote-resp" …).
 * @param[in] type A ut_msg_type_t value.
 * @return A static string; "?" for unknown values; never NULL.
 * @since 0.1.0
 */
UT_API const char *ut_msg_type_name(ut_msg_type_t type);

#ifdef __cplusplus
}
#endif

#endif /* UNITYPES_MSG_H */
