/* SPDX-License-Identifier: MIT */
/* White-box hooks for tests and benchmarks (never exported). */
#ifndef UT_TWOPC_INTERNAL_H
#define UT_TWOPC_INTERNAL_H

#include "unitypes.h"

/* Deep copies of an idle handle (no output pending), for the exhaustive
 * schedule check, which branches the whole world at every choice. */
int ut__twopc_coord_clone(const ut_2pc_t *h, ut_2pc_t **out);
int ut__twopc_part_clone(const ut_2pc_participant_t *p, ut_2pc_participant_t **out);
/* Records written (forced ones apart) and messages emitted since new. */
void ut__twopc_coord_counters(const ut_2pc_t *h, uint64_t *forced, uint64_t *records,
                              uint64_t *msgs);
void ut__twopc_part_counters(const ut_2pc_participant_t *p, uint64_t *forced, uint64_t *records,
                             uint64_t *msgs);

#endif
