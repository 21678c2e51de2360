/* SPDX-License-Identifier: MIT */
#include "consensus/progress.h"

void ut__consensus_inflight_init(ut__consensus_inflight_t *w, ut__consensus_inflight_slot_t *ring,
                                 unsigned max_msgs, uint64_t max_bytes)
{
    w->ring = ring;
    w->max_msgs = max_msgs;
    w->max_bytes = max_bytes;
    ut__consensus_inflight_reset(w);
}

void ut__consensus_progress_reset(ut__consensus_progress_t *p, uint64_t last)
{
    p->match = 0;
    p->match_at_hb = 0;
    ut__consensus_progress_become_probe(p, last + 1);
}
