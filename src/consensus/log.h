/* SPDX-License-Identifier: MIT */
/* In-memory Raft log: entries from any first index, with the cursors that
 * say how far they went (etcd-io/raft's raftLog + unstable, in our terms).
 *
 * Entries: headers in one growable array, ents[k] holding index off + 1 + k,
 * so a snapshot can later replace the prefix up to off (off_term is the term
 * of entry off; no public snapshot API yet, only ut__consensus_log_init_at).
 * Payloads: a chunked arena whose chunks never move while anything may point
 * into them: a payload pointer handed out by ready() stays valid until the
 * matching advance(), whatever is appended or truncated in between.
 * Truncated payloads are counted as dead and given back by
 * ut__consensus_log_compact(), which the caller runs only when no pointer
 * into the arena is out (docs/memory.md states the bound).
 *
 * Cursors, all indexes, off <= applied <= commit <= last and
 * persisted <= stable <= last:
 *   stable    entries <= stable were handed out for persistence;
 *   persisted entries <= persisted are acknowledged durable;
 *   commit    entries <= commit are committed (§5.3, Figure 2 commitIndex);
 *   applied   committed entries <= applied were handed out to apply;
 *   truncate_from  a pending truncation of stable storage (0 = none).
 *
 * Cost rule (R1): the offset never costs an instruction on the hot path.
 * Lookups go through a cached base address (ents minus off + 1 entries), so
 * an index maps to its entry as it did when every log started at 1; loops
 * over a run of entries take ut__consensus_log_at() once and walk the
 * pointer. A first attempt that subtracted the offset in every lookup cost
 * +1.7 % on R1 (docs/BENCHMARKS.md). */
#ifndef UT_CONSENSUS_LOG_H
#define UT_CONSENSUS_LOG_H

#include "common/outbox.h" /* ut__bytes_chunk_t */
#include "internal.h"

typedef struct ut__consensus_log {
    /* ents as an address minus (off + 1) entries: entry i is at base + i *
     * sizeof(ut_entry_t), so a lookup costs what it did when every log
     * started at index 1. Kept as an integer because the pointer it stands
     * for lies outside the array (flat address space assumed, as the
     * platforms we build for have). */
    uintptr_t base;
    ut_entry_t *ents;
    uint64_t cap_last;         /* highest index the entry array has room for */
    uint64_t last;             /* index of the last entry; off = empty */
    uint64_t off;              /* index before the first entry held */
    uint64_t off_term;         /* term of entry off (0 when off == 0) */
    ut__bytes_chunk_t *chunks; /* newest first */
    size_t cap;                /* entry headers allocated */
    size_t dead;               /* padded payload bytes of truncated entries */
    uint64_t stable, persisted, commit, applied, truncate_from; /* the cursors above */
} ut__consensus_log_t;

/* An empty log starting at index 1. */
void ut__consensus_log_init(ut__consensus_log_t *log);

/* An empty log whose next entry is off + 1, entry off having term off_term
 * (what a snapshot up to off leaves); every cursor starts at off. */
void ut__consensus_log_init_at(ut__consensus_log_t *log, uint64_t off, uint64_t off_term);

void ut__consensus_log_destroy(ut__consensus_log_t *log);

/* Make room for n more entries carrying bytes payload bytes, so that the
 * appends that follow cannot fail. UT_OK or UT_ENOMEM (log unchanged). */
int ut__consensus_log_reserve_slow(ut__consensus_log_t *log, size_t n, size_t bytes);

static inline int ut__consensus_log_reserve(ut__consensus_log_t *log, size_t n, size_t bytes)
{
    /* Fast path: room in the entry array and in the newest chunk (each
     * payload is padded to 8 bytes, hence the 8 * n). cap_last spares the
     * offset subtraction here. */
    const ut__bytes_chunk_t *c = log->chunks;
    if (n <= 64 && bytes <= 65536 && log->last + n <= log->cap_last &&
        (bytes == 0 || (c != NULL && c->cap - c->used >= bytes + 8 * n)))
        return UT_OK;
    return ut__consensus_log_reserve_slow(log, n, bytes);
}

/* Index of the first entry held (last + 1 when empty). */
static inline uint64_t ut__consensus_log_first(const ut__consensus_log_t *log)
{
    return log->off + 1;
}

/* Append one entry at index last+1; room must have been reserved. */
static inline void ut__consensus_log_append(ut__consensus_log_t *log, uint64_t term, uint32_t type,
                                            const void *data, uint32_t len)
{
    ut_entry_t *e = (ut_entry_t *)(log->base + (uintptr_t)(log->last + 1) * sizeof(ut_entry_t));
    e->term = term;
    e->index = log->last + 1;
    e->type = type;
    e->len = len;
    e->data = NULL;
    if (len > 0) {
        ut__bytes_chunk_t *c = log->chunks;
        unsigned char *dst = (unsigned char *)(c + 1) + c->used;
        memcpy(dst, data, len);
        /* Keep the next payload 8-byte aligned for callers that cast. */
        c->used += ((size_t)len + 7u) & ~(size_t)7u;
        e->data = dst;
    }
    log->last++;
}

/* Delete every entry with index >= from (off < from). Their payload bytes
 * stay readable (they become dead) until ut__consensus_log_compact(). The
 * cursors follow: stable and persisted drop below from, and a truncation of
 * entries already handed out for persistence is recorded in truncate_from.
 * commit is the caller's to keep below from (§5.4: committed entries are
 * never truncated). A from outside (off, last] changes nothing. */
void ut__consensus_log_truncate(ut__consensus_log_t *log, uint64_t from);

/* Give dead payload bytes back once they reach both 64 KiB and the live
 * payload bytes: copy the live payloads into one new chunk and free the old
 * ones. Moves every payload: call only when no payload pointer is out.
 * Allocation failure leaves the log as it was (compaction is retried at the
 * next call). */
void ut__consensus_log_compact(ut__consensus_log_t *log);

/* Term of entry index: off_term for index off, 0 outside [off, last] (index
 * 0, beyond the end, or inside a replaced prefix). */
static inline uint64_t ut__consensus_log_term(const ut__consensus_log_t *log, uint64_t index)
{
    if (index > log->off && index <= log->last)
        return ((const ut_entry_t *)(log->base + (uintptr_t)index * sizeof(ut_entry_t)))->term;
    return index == log->off ? log->off_term : 0;
}

static inline uint64_t ut__consensus_log_last_term(const ut__consensus_log_t *log)
{
    return ut__consensus_log_term(log, log->last);
}

/* The entry at index, off < index <= last; the entries after it follow it
 * in memory up to last (walk the pointer rather than calling again). */
static inline const ut_entry_t *ut__consensus_log_at(const ut__consensus_log_t *log, uint64_t index)
{
    return (const ut_entry_t *)(log->base + (uintptr_t)index * sizeof(ut_entry_t));
}

#endif
