/* SPDX-License-Identifier: MIT */
/* In-memory Raft log: entry headers in one growable array (index i lives at
 * ents[i - 1]) and payloads in a chunked arena whose chunks never move while
 * anything may point into them: a payload pointer handed out by ready()
 * stays valid until the matching advance(), whatever is appended or
 * truncated in between. Truncated payloads are counted as dead and given
 * back by ut__consensus_log_compact(), which the caller runs only when no pointer into
 * the arena is out (docs/memory.md states the bound). */
#ifndef UT_CONSENSUS_LOG_H
#define UT_CONSENSUS_LOG_H

#include "internal.h"

typedef struct ut__consensus_log_chunk {
    struct ut__consensus_log_chunk *next;
    size_t cap;
    size_t used;
    /* payload bytes follow */
} ut__consensus_log_chunk_t;

typedef struct ut__consensus_log {
    ut_entry_t *ents;
    size_t cap;
    uint64_t last;                     /* index of the last entry; 0 = empty */
    ut__consensus_log_chunk_t *chunks; /* newest first */
    size_t dead;                       /* padded payload bytes of truncated entries */
} ut__consensus_log_t;

void ut__consensus_log_init(ut__consensus_log_t *log);
void ut__consensus_log_destroy(ut__consensus_log_t *log);

/* Make room for n more entries carrying bytes payload bytes, so that the
 * appends that follow cannot fail. UT_OK or UT_ENOMEM (log unchanged). */
int ut__consensus_log_reserve_slow(ut__consensus_log_t *log, size_t n, size_t bytes);

static inline int ut__consensus_log_reserve(ut__consensus_log_t *log, size_t n, size_t bytes)
{
    /* Fast path: room in the entry array and in the newest chunk (each
     * payload is padded to 8 bytes, hence the 8 * n). */
    const ut__consensus_log_chunk_t *c = log->chunks;
    if (n <= 64 && bytes <= 65536 && (size_t)log->last + n <= log->cap &&
        (bytes == 0 || (c != NULL && c->cap - c->used >= bytes + 8 * n)))
        return UT_OK;
    return ut__consensus_log_reserve_slow(log, n, bytes);
}

/* Append one entry at index last+1; room must have been reserved. */
static inline void ut__consensus_log_append(ut__consensus_log_t *log, uint64_t term, uint32_t type,
                                            const void *data, uint32_t len)
{
    ut_entry_t *e = &log->ents[log->last];
    e->term = term;
    e->index = log->last + 1;
    e->type = type;
    e->len = len;
    e->data = NULL;
    if (len > 0) {
        ut__consensus_log_chunk_t *c = log->chunks;
        unsigned char *dst = (unsigned char *)(c + 1) + c->used;
        memcpy(dst, data, len);
        /* Keep the next payload 8-byte aligned for callers that cast. */
        c->used += ((size_t)len + 7u) & ~(size_t)7u;
        e->data = dst;
    }
    log->last++;
}

/* Delete every entry with index >= from (from >= 1). Their payload bytes
 * stay readable (they become dead) until ut__consensus_log_compact(). */
void ut__consensus_log_truncate(ut__consensus_log_t *log, uint64_t from);

/* Give dead payload bytes back once they reach both 64 KiB and the live
 * payload bytes: copy the live payloads into one new chunk and free the old
 * ones. Moves every payload: call only when no payload pointer is out.
 * Allocation failure leaves the log as it was (compaction is retried at the
 * next call). */
void ut__consensus_log_compact(ut__consensus_log_t *log);

static inline uint64_t ut__consensus_log_term(const ut__consensus_log_t *log, uint64_t index)
{
    if (index == 0 || index > log->last)
        return 0;
    return log->ents[index - 1].term;
}

static inline const ut_entry_t *ut__consensus_log_at(const ut__consensus_log_t *log, uint64_t index)
{
    return &log->ents[index - 1];
}

#endif
