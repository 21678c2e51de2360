/* SPDX-License-Identifier: MIT */
/* Membership changes of the Raft core (issue 11, rmemb): the configuration
 * a node is in, how configuration entries change it, and the member arrays
 * of the handle (ids, prs, peer_slot, match, votes, active, rings) that
 * follow it. consensus/membership.c; docs/consensus.md, "Membership changes".
 *
 * Rules (Ongaro's thesis, cited as "thesis §N"; Raft paper §6):
 *   - a configuration entry (UT_ENTRY_CONFIG, payload docs/wire-format.md,
 *     "Configuration entries") takes effect as soon as it is in the log, on the leader and on
 *     every follower, committed or not (thesis §4.1); a truncated one gives
 *     the configuration back to the entry before it;
 *   - one change at a time: none is accepted while the last configuration
 *     entry is uncommitted, nor by a leader that has not committed an entry
 *     of its own term (thesis §4.1, the single-server bug of 2015);
 *   - a joint configuration C_old,new (thesis §4.3) decides commits,
 *     elections and check-quorum by a majority of each half.
 *
 * Slot layout (raft.h), for the quorum functions to take each half as one
 * array: [0, inc_lo) voters only in the outgoing half, [inc_lo, n_out) in
 * both, [n_out, n_voters) only incoming, then the observers up to n_listed,
 * then members that a change not yet committed removed ("leaving": the
 * leader keeps replicating to them so that they learn they are out), then
 * this node itself when it is none of these. Not joint: inc_lo = n_out = 0.
 * Incoming voters are [inc_lo, n_voters), outgoing [0, n_out). */
#ifndef UT_CONSENSUS_MEMBERSHIP_H
#define UT_CONSENSUS_MEMBERSHIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "unitypes/consensus.h"

/* Payload of a configuration entry: an 8-byte header, then the ids. */
#define UT__CONSENSUS_CONF_VERSION 1u
#define UT__CONSENSUS_CONF_HDR 8u
#define UT__CONSENSUS_CONF_AUTO_LEAVE 1u /* header flag bit */
#define UT__CONSENSUS_CONF_MAX_BYTES (UT__CONSENSUS_CONF_HDR + 8u * 3u * UT_CONSENSUS_MAX_NODES)

/* A configuration, decoded. voters are the incoming set when joint. */
typedef struct ut__consensus_conf {
    uint32_t n_voters, n_outgoing, n_observers;
    bool auto_leave;
    uint64_t voters[UT_CONSENSUS_MAX_NODES];
    uint64_t outgoing[UT_CONSENSUS_MAX_NODES];
    uint64_t observers[UT_CONSENSUS_MAX_NODES];
} ut__consensus_conf_t;

typedef struct ut__consensus_members {
    bool joint;      /* conf is joint (thesis §4.3): both halves decide */
    bool pending;    /* settle() has work to do (see there) */
    size_t inc_lo;   /* incoming voters: slots [inc_lo, n_voters) */
    size_t n_out;    /* outgoing voters: slots [0, n_out) */
    size_t n_listed; /* slots [0, n_listed): members of conf */
    size_t rings_cap;
    uint64_t conf_index;            /* entry that set conf (0: ut_consensus_new) */
    uint64_t last_entry;            /* latest configuration entry in the log */
    uint64_t committed_index;       /* entry that set committed (<= commit) */
    uint64_t term_start;            /* leader: index of the no-op of its term */
    ut__consensus_conf_t conf;      /* in effect: the latest in the log */
    ut__consensus_conf_t committed; /* the latest known committed */
    ut__consensus_conf_t base;      /* in effect at the log's offset (log.off) */
} ut__consensus_members_t;

struct ut_consensus;

/* Payload codec (docs/wire-format.md, "Configuration entries"). decode validates everything
 * (UT_EINVAL for any malformed payload) and fills out. */
size_t ut__consensus_conf_len(const ut__consensus_conf_t *c);
void ut__consensus_conf_encode(const ut__consensus_conf_t *c, unsigned char *out);
int ut__consensus_conf_decode(const void *data, size_t len, ut__consensus_conf_t *out);
bool ut__consensus_conf_is_voter(const ut__consensus_conf_t *c, uint64_t id);
/* n member ids as 8-byte little-endian words, the layout of configuration
 * entries and of snapshot images alike; return the end. */
unsigned char *ut__consensus_put_ids(unsigned char *p, const uint64_t *ids, size_t n);
const unsigned char *ut__consensus_get_ids(const unsigned char *p, uint64_t *ids, size_t n);

/* ut_consensus_new(): the configuration from cfg, member arrays built. */
void ut__consensus_members_init(struct ut_consensus *h, const ut_consensus_config_t *cfg);
/* Room in the in-flight rings for every slot a change can need; UT_OK or
 * UT_ENOMEM (nothing changed). Call before anything that may change the
 * configuration and cannot fail afterwards. */
int ut__consensus_members_reserve(struct ut_consensus *h);
/* The entries of the log changed at or after a configuration entry, or
 * carry one (append, truncation): the latest one takes effect. truncated:
 * the first index the log dropped before the append (0: none). */
void ut__consensus_members_log_changed(struct ut_consensus *h, uint64_t truncated);
/* After ut_consensus_restore() loaded the log: the configuration from it. */
void ut__consensus_members_restored(struct ut_consensus *h);
/* The commit index may have passed the configuration entry: record it as
 * committed (members it removed are dropped), step a leader that is no
 * voter down (thesis §4.2.2), leave a joint configuration with auto_leave.
 * Called where mb.pending says so. */
void ut__consensus_members_settle(struct ut_consensus *h);
/* become_leader(): the no-op of the term was just appended. */
void ut__consensus_members_become_leader(struct ut_consensus *h);
/* Validation of an entry whose type or payload the fast check doubted:
 * UT_OK for a well-formed configuration entry, UT_EINVAL otherwise. */
int ut__consensus_members_check_entry(const ut_entry_t *e);

/* The configuration in effect at index (log.off <= index <= log.last): the
 * latest configuration entry at or below it, or the one at the log's
 * offset (thesis §5.1: what a snapshot up to index records). */
void ut__consensus_members_at(const struct ut_consensus *h, uint64_t index,
                              ut__consensus_conf_t *out);
/* The log is about to drop its prefix up to index (compaction): remember
 * the configuration in effect there. */
void ut__consensus_members_compact(struct ut_consensus *h, uint64_t index);
/* Validation of a configuration from outside the log (a snapshot's) and
 * room for it: UT_OK, UT_EINVAL or UT_ENOMEM, nothing else changed. After
 * UT_OK, ut__consensus_set_membership() with it cannot fail. */
int ut__consensus_membership_check(struct ut_consensus *h, const ut_consensus_membership_t *m);

/* The one function that sets a configuration from outside the log (a
 * snapshot's, at index; rsnap's hook): validated (UT_EINVAL), room
 * reserved (UT_ENOMEM), then it is both in effect and committed. */
int ut__consensus_set_membership(struct ut_consensus *h, const ut_consensus_membership_t *m,
                                 uint64_t index);

#endif
