/* SPDX-License-Identifier: MIT */
/* The membership rules an observer's view of one member must follow, shared
 * by the seeded cluster test (tests/gossip_cluster.c) and utsim's gossip
 * scenario (tools/sim/scenarios/gossip.c), so both check the same thing.
 * Header-only; depends on the public API only. */
#ifndef GOSSIP_CHECK_H
#define GOSSIP_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <unitypes.h>

/* What one observer last saw of one member. */
typedef struct gck_view {
    bool known;
    uint8_t status; /* ut_node_status_t */
    uint64_t inc;
} gck_view_t;

/* Is the step from *prev to (status, inc) one the protocol allows? Returns
 * true if so; else false with the reason in why (cap bytes).
 *  - an incarnation never goes back (SWIM §4.2: only the member raises it,
 *    and every rule keeps the higher one);
 *  - a suspected, dead or left member is alive (or suspected) again only at
 *    a higher incarnation: a refutation needs a new incarnation (SWIM §4.2),
 *    and a member that left or died comes back only as a newer incarnation
 *    (never "returns alive with the same incarnation");
 *  - a member is forgotten only once dead or left (reaping), never while
 *    alive or suspected. */
static inline bool gck_transition(const gck_view_t *prev, bool known, uint8_t status, uint64_t inc,
                                  char *why, size_t cap)
{
    if (!prev->known)
        return true;
    bool prev_gone = prev->status == UT_NODE_DEAD || prev->status == UT_NODE_LEAVING;
    if (!known) {
        if (prev_gone)
            return true;
        snprintf(why, cap, "forgotten while %s",
                 ut_node_status_name((ut_node_status_t)prev->status));
        return false;
    }
    if (inc < prev->inc) {
        snprintf(why, cap, "incarnation went back from %llu to %llu", (unsigned long long)prev->inc,
                 (unsigned long long)inc);
        return false;
    }
    bool now_live = status == UT_NODE_ALIVE || status == UT_NODE_SUSPECTED;
    if (inc == prev->inc && ((prev_gone && now_live) ||
                             (prev->status == UT_NODE_SUSPECTED && status == UT_NODE_ALIVE))) {
        snprintf(why, cap, "%s again at the same incarnation %llu after %s",
                 ut_node_status_name((ut_node_status_t)status), (unsigned long long)inc,
                 ut_node_status_name((ut_node_status_t)prev->status));
        return false;
    }
    return true;
}

/* A member's own status: it never believes itself suspected or dead, and
 * goes only forward, joining -> alive -> leaving, within one instance. */
static inline int gck_self_rank(ut_node_status_t st)
{
    switch (st) {
    case UT_NODE_JOINING:
        return 0;
    case UT_NODE_ALIVE:
        return 1;
    case UT_NODE_LEAVING:
        return 2;
    default:
        return -1;
    }
}

/* Is a SUSPECTED or DEAD event about a member at incarnation ev_inc a
 * false positive? The member's current instance is running (not crashed,
 * not gone after a graceful leave) and the incarnation is one only that
 * instance had (above base_inc, the highest any earlier instance reached;
 * a restarted member starts again at 0, so lower ones are ambiguous and
 * are counted as about the crashed instance). */
static inline bool gck_false_positive(bool instance_running, uint64_t base_inc, bool has_base,
                                      uint64_t ev_inc)
{
    return instance_running && (!has_base || ev_inc > base_inc);
}

#endif
