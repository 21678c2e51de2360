/* SPDX-License-Identifier: MIT */
/* Raft: linearizable reads: ReadIndex and leases (thesis §6.4). */
#include "consensus/raft.h"
