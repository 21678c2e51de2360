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
#include "unitypes/types.h"
#include "unitypes/msg.h"
#include "unitypes/codec.h"
#include "unitypes/consensus.h"

#endif /* UNITYPES_H */
