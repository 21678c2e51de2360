/* SPDX-License-Identifier: MIT */
/* Private hooks of the gossip module for white-box tests and benchmarks. */
#ifndef UT_GOSSIP_INTERNAL_H
#define UT_GOSSIP_INTERNAL_H

#include "unitypes/gossip.h"

/* Drops every queued broadcast: a harness that hands every member the full
 * list at start (instead of a join storm) calls it so that measurements
 * start from steady state. Not a protocol operation. */
void ut__gossip_quiesce(ut_gossip_t *h);

#endif
