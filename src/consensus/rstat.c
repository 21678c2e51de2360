/* SPDX-License-Identifier: MIT */
/* Raft: status, reading entries back, flow control. */
#include "consensus/raft.h"
