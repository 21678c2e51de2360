/* SPDX-License-Identifier: MIT */
/* In-memory Raft log: entries from any first index, with the cursors that
 * say how far they went (etcd-io/raft's raftLog + unstable, in our terms).
 *
 * Entries: headers (ut_entry_t, the form ready() and AppendEntries hand out)
 * in fixed segments of UT__CONSENSUS_LOG_SEG entries, segment k holding the
 * indexes [k * SEG, (k + 1) * SEG), found through a table of segment
 * pointers. A segment never moves or changes once written: growth adds a
 * segment (and at most grows the table of pointers, 8 bytes per segment), so
 * it never copies the log, and a pointer to an entry handed out by ready()
 * or queued in an AppendEntries stays valid, with the same contents, until
 * the caller says no pointer is out (ut__consensus_log_release()).
 * Truncation does not overwrite: the segment holding the first removed entry
 * is replaced by a copy of its surviving prefix, and it and every later
 * segment are retired (still readable) until the release. A run of entries
 * is contiguous in memory only inside one segment (ut__consensus_log_run()).
 * The first index is off + 1 (off = 0 for a log from index 1); a snapshot
 * can later replace the prefix up to off (off_term is the term of entry off;
 * no public snapshot API yet, only ut__consensus_log_init_at).
 *
 * Payloads: a chunked arena whose chunks never move while anything may point
 * into them. Truncated payloads are counted as dead and given back by
 * ut__consensus_log_compact(), which the caller runs only when no pointer
 * into the log is out (docs/memory.md states the bound).
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
 * Lookups go through a cached base address (the segment table minus the
 * first segment's number of pointers), so an index maps to its entry with a
 * shift, a load and a mask whatever the first index. */
#ifndef UT_CONSENSUS_LOG_H
#define UT_CONSENSUS_LOG_H

#include "common/outbox.h" /* ut__bytes_chunk_t */
#include "internal.h"

/* Entries per segment (a power of two): 512 headers, 16 KiB. */
#define UT__CONSENSUS_LOG_SEG_SHIFT 9u
#define UT__CONSENSUS_LOG_SEG (1u << UT__CONSENSUS_LOG_SEG_SHIFT)
#define UT__CONSENSUS_LOG_SEG_MASK ((uint64_t)UT__CONSENSUS_LOG_SEG - 1u)

typedef struct ut__consensus_log_seg {
    struct ut__consensus_log_seg *next; /* in the retired or spare list */
    ut_entry_t e[UT__CONSENSUS_LOG_SEG];
} ut__consensus_log_seg_t;

typedef struct ut__consensus_log {
    /* The segment table as an address minus ((off + 1) >> SHIFT) pointers:
     * the segment of index i is *(base + (i >> SHIFT) * sizeof pointer).
     * Kept as an integer because the pointer it stands for lies outside the
     * table (flat address space assumed, as the platforms we build for have). */
    uintptr_t base;
    ut__consensus_log_seg_t **segs; /* table: segs[j] is segment first_seg + j */
    size_t n_segs, segs_cap;
    uint64_t first_seg;               /* (off + 1) >> SHIFT */
    uint64_t cap_last;                /* highest index the segments have room for */
    uint64_t last;                    /* index of the last entry; off = empty */
    uint64_t off;                     /* index before the first entry held */
    uint64_t off_term;                /* term of entry off (0 when off == 0) */
    ut__bytes_chunk_t *chunks;        /* newest first */
    size_t dead;                      /* padded payload bytes of truncated entries */
    ut__consensus_log_seg_t *retired; /* replaced by a truncation, freed at release */
    ut__consensus_log_seg_t *spare;   /* allocated ahead (truncation), reused first */
    size_t n_spare;
    uint64_t stable, persisted, commit, applied, truncate_from; /* the cursors above */
    /* >>> rsnap: payload chunks that only held dropped entries, and
     * replaced snapshots: freed at release, or by ready() once nothing
     * handed out can point into them (consensus/rsnap.c) */
    ut__bytes_chunk_t *retired_chunks;
    /* <<< rsnap */
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

/* Is there room for n more entries carrying bytes payload bytes without
 * allocating: in the segments and in the newest chunk (each payload is
 * padded to 8 bytes, hence the 8 * n)? cap_last spares the offset
 * subtraction here. */
static inline bool ut__consensus_log_has_room(const ut__consensus_log_t *log, size_t n,
                                              size_t bytes)
{
    const ut__bytes_chunk_t *c = log->chunks;
    return n <= 64 && bytes <= 65536 && log->last + n <= log->cap_last &&
           (bytes == 0 || (c != NULL && c->cap - c->used >= bytes + 8 * n));
}

static inline int ut__consensus_log_reserve(ut__consensus_log_t *log, size_t n, size_t bytes)
{
    if (ut__consensus_log_has_room(log, n, bytes))
        return UT_OK; /* the fast path: no call */
    return ut__consensus_log_reserve_slow(log, n, bytes);
}

/* The slot of index (its segment must exist: off < index <= cap_last). */
static inline ut_entry_t *ut__consensus_log_slot(const ut__consensus_log_t *log, uint64_t index)
{
    ut__consensus_log_seg_t *s =
        *(ut__consensus_log_seg_t *const *)(log->base +
                                            (uintptr_t)(index >> UT__CONSENSUS_LOG_SEG_SHIFT) *
                                                sizeof(void *));
    return &s->e[index & UT__CONSENSUS_LOG_SEG_MASK];
}

/* Index of the first entry held (last + 1 when empty). */
static inline uint64_t ut__consensus_log_first(const ut__consensus_log_t *log)
{
    return log->off + 1;
}

/* Copy a payload into the arena, where its slot is padded to 8 bytes. Small
 * payloads (the common case of replicated commands) are copied inline with
 * two overlapping fixed-size moves instead of a call to memcpy: a call and
 * its size dispatch cost more than the copy itself (R1, 16-byte entries). */
static inline void ut__consensus_copy_payload(unsigned char *dst, const void *data, uint32_t len)
{
    const unsigned char *src = (const unsigned char *)data;
    if (len >= 8 && len <= 16) {
        uint64_t a, b;
        memcpy(&a, src, 8);
        memcpy(&b, src + len - 8, 8);
        memcpy(dst, &a, 8);
        memcpy(dst + len - 8, &b, 8);
    } else {
        memcpy(dst, src, len);
    }
}

/* Append one entry at index last+1; room must have been reserved. */
static inline void ut__consensus_log_append(ut__consensus_log_t *log, uint64_t term, uint32_t type,
                                            const void *data, uint32_t len)
{
    ut_entry_t *e = ut__consensus_log_slot(log, log->last + 1);
    e->term = term;
    e->index = log->last + 1;
    e->type = type;
    e->len = len;
    e->data = NULL;
    if (len > 0) {
        ut__bytes_chunk_t *c = log->chunks;
        unsigned char *dst = (unsigned char *)(c + 1) + c->used;
        ut__consensus_copy_payload(dst, data, len);
        /* Keep the next payload 8-byte aligned for callers that cast. */
        c->used += ((size_t)len + 7u) & ~(size_t)7u;
        e->data = dst;
    }
    log->last++;
}

/* Make truncate(from) followed by appends up to index new_last unable to
 * fail: truncation replaces segments rather than overwriting them, so it
 * takes fresh ones, allocated here. UT_OK or UT_ENOMEM (log unchanged but
 * for spare segments kept for later). */
int ut__consensus_log_prepare_truncate(ut__consensus_log_t *log, uint64_t from, uint64_t new_last);

/* Delete every entry with index >= from (off < from). Entries already
 * written are never overwritten: the segment of from is replaced by a copy
 * of its entries below from, and it and the later segments stay readable
 * (retired) until ut__consensus_log_release(); so do the payload bytes
 * (they become dead) until ut__consensus_log_compact(). After a
 * ut__consensus_log_prepare_truncate() for from, the appends it prepared
 * cannot fail; without one, an allocation failure falls back to reusing the
 * slots in place. The cursors follow: stable and persisted drop below from,
 * and a truncation of entries already handed out for persistence is
 * recorded in truncate_from. commit is the caller's to keep below from
 * (§5.4: committed entries are never truncated). A from outside (off, last]
 * changes nothing. */
void ut__consensus_log_truncate(ut__consensus_log_t *log, uint64_t from);

/* No pointer into the log is out any more: free the retired segments. */
void ut__consensus_log_release(ut__consensus_log_t *log);

/* Give dead payload bytes back once they reach both 64 KiB and the live
 * payload bytes: copy the live payloads into one new chunk and free the old
 * ones. Moves every payload: call only when no pointer into the log is out,
 * after ut__consensus_log_release().
 * Allocation failure leaves the log as it was (compaction is retried at the
 * next call). */
void ut__consensus_log_compact(ut__consensus_log_t *log);

/* >>> rsnap: drop a prefix (Raft paper §7, thesis §5: a snapshot replaces it) */
/* The log after a snapshot up to index (term: the term of entry index).
 * keep_suffix (the entry at index is held with that term, §7 "retain log
 * entries following it"): entries (index, last] stay and the prefix up to
 * index goes. Otherwise (a follower whose log does not hold the snapshot's
 * last entry) every entry goes and the log ends at index. Whole segments and
 * payload chunks that held only dropped entries are retired, not freed: a
 * pointer handed out in a ready or queued in an AppendEntries stays valid
 * until ut__consensus_log_release(). Payload bytes of dropped entries left
 * in a chunk that is kept count as dead (ut__consensus_log_compact() gives
 * them back). Cursors: commit and applied rise to index; stable and
 * persisted rise to index too, and a dropped suffix already handed out for
 * persistence is recorded in truncate_from (index + 1). Cannot fail. index
 * must be above off (and, with keep_suffix, at most last). */
void ut__consensus_log_drop_prefix(ut__consensus_log_t *log, uint64_t index, uint64_t term,
                                   bool keep_suffix);
/* <<< rsnap */

/* Term of entry index: off_term for index off, 0 outside [off, last] (index
 * 0, beyond the end, or inside a replaced prefix). */
static inline uint64_t ut__consensus_log_term(const ut__consensus_log_t *log, uint64_t index)
{
    if (index > log->off && index <= log->last)
        return ut__consensus_log_slot(log, index)->term;
    return index == log->off ? log->off_term : 0;
}

static inline uint64_t ut__consensus_log_last_term(const ut__consensus_log_t *log)
{
    return ut__consensus_log_term(log, log->last);
}

/* The entry at index, off < index <= last. The entries after it follow it in
 * memory only up to the end of its segment: walk a run with
 * ut__consensus_log_run(), or copy it with ut__consensus_log_copy(). */
static inline const ut_entry_t *ut__consensus_log_at(const ut__consensus_log_t *log, uint64_t index)
{
    return ut__consensus_log_slot(log, index);
}

/* The n >= 1 entries from index (all in the log) as one array, or NULL when
 * they span two segments. */
static inline const ut_entry_t *ut__consensus_log_run(const ut__consensus_log_t *log,
                                                      uint64_t index, size_t n)
{
    if (((index ^ (index + n - 1)) >> UT__CONSENSUS_LOG_SEG_SHIFT) != 0)
        return NULL;
    return ut__consensus_log_slot(log, index);
}

/* Copy the n headers from index (all in the log) into dst, across segments. */
void ut__consensus_log_copy(const ut__consensus_log_t *log, ut_entry_t *dst, uint64_t index,
                            size_t n);

#endif
