/* SPDX-License-Identifier: MIT */
/* In-memory Raft log: entry headers in one growable array (index i lives at
 * ents[i - 1]) and payloads in a chunked arena whose chunks never move, so a
 * payload pointer handed out by ready() stays valid until the handle is
 * freed, whatever is appended or truncated in between. */
#ifndef UT_CONSENSUS_LOG_H
#define UT_CONSENSUS_LOG_H

#include "internal.h"

typedef struct ut__arena_chunk {
    struct ut__arena_chunk *next;
    size_t cap;
    size_t used;
    /* payload bytes follow */
} ut__arena_chunk_t;

typedef struct ut__log {
    ut_entry_t *ents;
    size_t cap;
    uint64_t last; /* index of the last entry; 0 = empty */
    ut__arena_chunk_t *chunks; /* newest first */
} ut__log_t;

void ut__log_init(ut__log_t *log);
void ut__log_destroy(ut__log_t *log);

/* Make room for n more entries carrying bytes payload bytes, so that the
 * appends that follow cannot fail. UT_OK or UT_ENOMEM (log unchanged). */
int ut__log_reserve(ut__log_t *log, size_t n, size_t bytes);

/* Append one entry at index last+1; room must have been reserved. */
void ut__log_append(ut__log_t *log, uint64_t term, uint32_t type, const void *data,
                    uint32_t len);

/* Delete every entry with index >= from (from >= 1). */
void ut__log_truncate(ut__log_t *log, uint64_t from);

static inline uint64_t ut__log_term(const ut__log_t *log, uint64_t index)
{
    if (index == 0 || index > log->last)
        return 0;
    return log->ents[index - 1].term;
}

static inline const ut_entry_t *ut__log_at(const ut__log_t *log, uint64_t index)
{
    return &log->ents[index - 1];
}

#endif
