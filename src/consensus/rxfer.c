/* SPDX-License-Identifier: MIT */
/* Raft: leader transfer (thesis §3.10). */
#include "consensus/raft.h"
