/* SPDX-License-Identifier: MIT */
/**
 * @file unitypes.h
 * @brief Umbrella header: consumers write `#include <unitypes.h>`.
 */
#ifndef UNITYPES_H
#define UNITYPES_H

#include "unitypes/common.h"
#include "unitypes/version.h"
#include "unitypes/error.h"
#include "unitypes/alloc.h"
#include "unitypes/trace.h"
#include "unitypes/types.h"
#include "unitypes/msg.h"
#include "unitypes/codec.h"
#include "unitypes/consensus.h"

/* >>> lock (32-63, issue 14): #include here */
#include "unitypes/lock.h"
/* <<< lock */

/* >>> 2pc (64-95, issue 15): #include here */
#include "unitypes/twopc.h"
/* <<< 2pc */

/* >>> gossip (96-127, issue 16): #include here */
#include "unitypes/gossip.h"
/* <<< gossip */

/* >>> replica (128-159, issue 13): #include here */
#include "unitypes/clock.h"
#include "unitypes/consistency.h"
#include "unitypes/replica.h"
/* <<< replica */

/* >>> partition (issue 12): #include here */
#include "unitypes/partition.h"
/* <<< partition */

#endif /* UNITYPES_H */
