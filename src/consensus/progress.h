/* SPDX-License-Identifier: MIT */
/* Replication progress of one follower as the leader sees it (etcd-io/raft's
 * tracker.Progress and tracker.Inflights, in our terms): match and next
 * (§5.3 matchIndex, nextIndex), the replication state, and the in-flight
 * window of AppendEntries sent but not yet acknowledged.
 *
 * States (thesis §10.2.1):
 *   PROBE     one AppendEntries at a time, until the follower's log is
 *             found to match (paused while it is out);
 *   PIPELINE  optimistic: next moves past what was sent, as many messages
 *             as the window allows;
 *   SNAPSHOT  the follower needs entries the log no longer holds: the
 *             leader sends its snapshot in chunks, one at a time (paused
 *             while it is out; consensus/rsnap.c), then probes again.
 *
 * The window counts messages and the bytes of payload they carry; it is full
 * at max_msgs messages, or at max_bytes bytes when max_bytes != 0 (0 = no
 * byte limit). max_bytes is public since 0.3.0: cfg.max_inflight_bytes
 * (etcd-io/raft's MaxInflightBytes), and the leader sizes each
 * AppendEntries so that bytes stays at most max_bytes (one entry always goes
 * when nothing is in flight: ut__consensus_flow_room, consensus/rstat.c).
 *
 * The vote tally and liveness (recent-active) are not here: they are the
 * handle's per-member arrays votes[] and active[], side by side as the
 * quorum module takes them (consensus/quorum.h). */
#ifndef UT_CONSENSUS_PROGRESS_H
#define UT_CONSENSUS_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum ut__consensus_pr_state {
    UT__CONSENSUS_PR_PROBE = 0,
    UT__CONSENSUS_PR_PIPELINE = 1,
    /* >>> rsnap */
    UT__CONSENSUS_PR_SNAPSHOT = 2 /* sending a snapshot (§7): one chunk in flight while paused */
    /* <<< rsnap */
} ut__consensus_pr_state_t;

typedef struct ut__consensus_inflight_slot {
    uint64_t last;  /* last index the message carried */
    uint64_t bytes; /* payload bytes it carried */
} ut__consensus_inflight_slot_t;

typedef struct ut__consensus_inflight {
    ut__consensus_inflight_slot_t *ring; /* max_msgs slots, owned by the caller */
    unsigned head, len, max_msgs;
    uint64_t bytes;     /* payload bytes in flight */
    uint64_t max_bytes; /* 0 = no byte limit */
} ut__consensus_inflight_t;

typedef struct ut__consensus_progress {
    uint64_t match;       /* highest index known replicated (§5.3 matchIndex) */
    uint64_t next;        /* next index to send (§5.3 nextIndex) */
    uint64_t match_at_hb; /* match at the previous heartbeat (stall detection) */
    ut__consensus_inflight_t inflight;
    uint8_t state; /* ut__consensus_pr_state_t */
    bool paused;   /* PROBE: a probe is out, waiting for its answer or the next heartbeat */
    /* >>> rread */
    uint64_t read_acked; /* leader: highest ReadIndex round it echoed (thesis §6.4) */
    /* <<< rread */
    /* >>> rstat: 1 + the caller's time of the last response stepped from
     * this member (0: never), for ut_consensus_status() */
    uint64_t heard;
    /* <<< rstat */
} ut__consensus_progress_t;

/* ------------------------------------------------------ in-flight window */

/* ring has max_msgs >= 1 slots. */
void ut__consensus_inflight_init(ut__consensus_inflight_t *w, ut__consensus_inflight_slot_t *ring,
                                 unsigned max_msgs, uint64_t max_bytes);

static inline void ut__consensus_inflight_reset(ut__consensus_inflight_t *w)
{
    w->head = w->len = 0;
    w->bytes = 0;
}

static inline bool ut__consensus_inflight_full(const ut__consensus_inflight_t *w)
{
    return w->len >= w->max_msgs || (w->max_bytes != 0 && w->bytes >= w->max_bytes);
}

/* A message carrying entries up to last, bytes payload bytes; not full. */
static inline void ut__consensus_inflight_add(ut__consensus_inflight_t *w, uint64_t last,
                                              uint64_t bytes)
{
    unsigned slot = w->head + w->len; /* < 2 * max_msgs: a compare, not a division */
    if (slot >= w->max_msgs)
        slot -= w->max_msgs;
    w->ring[slot].last = last;
    w->ring[slot].bytes = bytes;
    w->len++;
    w->bytes += bytes;
}

/* The follower holds everything up to index: its messages are no longer in
 * flight. */
static inline void ut__consensus_inflight_free_to(ut__consensus_inflight_t *w, uint64_t index)
{
    while (w->len > 0 && w->ring[w->head].last <= index) {
        w->bytes -= w->ring[w->head].bytes;
        if (++w->head == w->max_msgs)
            w->head = 0;
        w->len--;
    }
}

/* ------------------------------------------------------------- progress */

/* A new leader's view of a follower whose log ends (it hopes) at last:
 * nothing known to match, probing from last + 1 (§5.3). */
void ut__consensus_progress_reset(ut__consensus_progress_t *p, uint64_t last);

/* Probe again from next (a rejection, or a pipeline that stalled). */
static inline void ut__consensus_progress_become_probe(ut__consensus_progress_t *p, uint64_t next)
{
    p->state = UT__CONSENSUS_PR_PROBE;
    p->next = next;
    p->paused = false;
    ut__consensus_inflight_reset(&p->inflight);
}

/* The follower's log matches up to match: stream from match + 1. */
static inline void ut__consensus_progress_become_pipeline(ut__consensus_progress_t *p)
{
    p->state = UT__CONSENSUS_PR_PIPELINE;
    p->next = p->match + 1;
    ut__consensus_inflight_reset(&p->inflight);
}

/* May an AppendEntries with entries go to this follower now (the leader's
 * log ends at last)? */
static inline bool ut__consensus_progress_can_send(const ut__consensus_progress_t *p, uint64_t last)
{
    if (p->next > last)
        return false;
    if (p->state != UT__CONSENSUS_PR_PIPELINE) /* PROBE, and SNAPSHOT (rsnap) */
        return !p->paused;
    return !ut__consensus_inflight_full(&p->inflight);
}

/* An AppendEntries with entries up to last (bytes payload bytes) was sent. */
static inline void ut__consensus_progress_sent(ut__consensus_progress_t *p, uint64_t last,
                                               uint64_t bytes)
{
    if (p->state == UT__CONSENSUS_PR_PIPELINE) {
        /* Optimistically advance next so the pipeline keeps flowing (thesis §10.2.1). */
        p->next = last + 1;
        ut__consensus_inflight_add(&p->inflight, last, bytes);
    } else {
        p->paused = true;
    }
}

/* A successful AppendEntries reply for index. True when match rose (the
 * caller may then commit). A first success turns a probe into a pipeline. */
static inline bool ut__consensus_progress_ack(ut__consensus_progress_t *p, uint64_t index)
{
    bool raised = index > p->match;
    if (raised) {
        p->match = index;
        if (p->state == UT__CONSENSUS_PR_PROBE)
            ut__consensus_progress_become_pipeline(p);
        else if (p->next <= p->match) { /* rare in a pipeline */
            /* >>> rsnap: a follower sent a snapshot (next at or below the
             * snapshot) acknowledged entries past next: it holds them, so
             * the transfer is abandoned and probing resumes after them */
            if (p->state == UT__CONSENSUS_PR_SNAPSHOT)
                ut__consensus_progress_become_probe(p, p->match + 1);
            else
                /* <<< rsnap */
                p->next = p->match + 1;
        }
    }
    ut__consensus_inflight_free_to(&p->inflight, index);
    p->paused = false;
    return raised;
}

/* At a heartbeat, with the leader's log ending at last: a pipeline that made
 * no progress for a whole heartbeat lost a message and falls back to probing
 * from its match; a paused probe may be sent again. */
static inline void ut__consensus_progress_heartbeat(ut__consensus_progress_t *p, uint64_t last)
{
    if (p->state == UT__CONSENSUS_PR_PIPELINE && p->match == p->match_at_hb && p->match < last)
        ut__consensus_progress_become_probe(p, p->match + 1);
    p->match_at_hb = p->match;
    p->paused = false; /* re-send a lost probe */
}

#endif
