/* SPDX-License-Identifier: MIT */
#include "consensus/log.h"

/* Chunks are large enough that steady-state replication of small entries
 * allocates once per ~64 KiB of payload, not once per entry. */
#define UT__CONSENSUS_LOG_CHUNK (64u * 1024u)
/* Dead bytes below this are never worth a copy. */
#ifndef UT__CONSENSUS_LOG_COMPACT_MIN
#    define UT__CONSENSUS_LOG_COMPACT_MIN UT__CONSENSUS_LOG_CHUNK
#endif

/* The cached base address (log.h): ents as if it began at index 0. */
static void set_base(ut__consensus_log_t *log)
{
    log->base = (uintptr_t)log->ents - (uintptr_t)(log->off + 1) * sizeof(ut_entry_t);
}

void ut__consensus_log_init(ut__consensus_log_t *log)
{
    ut__consensus_log_init_at(log, 0, 0);
}

void ut__consensus_log_init_at(ut__consensus_log_t *log, uint64_t off, uint64_t off_term)
{
    memset(log, 0, sizeof *log);
    log->off = off;
    log->off_term = off == 0 ? 0 : off_term;
    log->last = log->cap_last = off;
    log->stable = log->persisted = log->commit = log->applied = off;
    set_base(log);
}

void ut__consensus_log_destroy(ut__consensus_log_t *log)
{
    ut__bytes_chunks_free(log->chunks);
    ut__free(log->ents);
    memset(log, 0, sizeof *log);
}

int ut__consensus_log_reserve_slow(ut__consensus_log_t *log, size_t n, size_t bytes)
{
    size_t held = (size_t)(log->last - log->off);
    if (n > SIZE_MAX - held || n > UINT64_MAX - log->last)
        return UT_ENOMEM;
    int rc = ut__grow((void **)&log->ents, &log->cap, held + n, sizeof(ut_entry_t));
    if (rc != UT_OK)
        return rc;
    set_base(log);
    log->cap_last = log->off + (uint64_t)log->cap;
    if (log->cap_last < log->off) /* a capacity beyond the index space */
        log->cap_last = UINT64_MAX;
    /* Each payload is padded to 8 bytes: reserve the padding as well. */
    if (bytes == 0)
        return UT_OK;
    if (bytes > SIZE_MAX / 2 || n > (SIZE_MAX / 2) / 8)
        return UT_ENOMEM;
    bytes += 8 * n;
    ut__bytes_chunk_t *c = log->chunks;
    if (c != NULL && c->cap - c->used >= bytes)
        return UT_OK;
    ut__bytes_chunk_t *nc = ut__bytes_chunk_new(
        bytes > UT__CONSENSUS_LOG_CHUNK ? bytes : UT__CONSENSUS_LOG_CHUNK, log->chunks);
    if (nc == NULL)
        return UT_ENOMEM;
    log->chunks = nc;
    return UT_OK;
}

static size_t padded(uint32_t len)
{
    return ((size_t)len + 7u) & ~(size_t)7u;
}

void ut__consensus_log_truncate(ut__consensus_log_t *log, uint64_t from)
{
    /* Payload bytes of removed entries stay in the arena for now: pointers
     * already handed out must remain valid until advance(). Counting them
     * costs a walk over the removed entries, and truncation is rare (a new
     * leader overwriting an uncommitted tail, §5.3). */
    if (from <= log->off || from > log->last)
        return;
    const ut_entry_t *e = ut__consensus_log_at(log, from);
    for (uint64_t i = from; i <= log->last; i++, e++)
        log->dead += padded(e->len);
    log->last = from - 1;
    if (from <= log->stable) {
        /* Entries already handed out for persistence go: stable storage
         * must drop them too (ready's truncate_from). */
        if (log->truncate_from == 0 || from < log->truncate_from)
            log->truncate_from = from;
        log->stable = from - 1;
    }
    if (log->persisted >= from)
        log->persisted = from - 1;
}

void ut__consensus_log_compact(ut__consensus_log_t *log)
{
    if (log->dead < UT__CONSENSUS_LOG_COMPACT_MIN)
        return;
    size_t used = 0;
    for (const ut__bytes_chunk_t *c = log->chunks; c != NULL; c = c->next)
        used += c->used;
    size_t live = used - log->dead;
    /* Copying only once the dead bytes match the live ones keeps the copy
     * cost per truncated byte constant (amortised), whatever the log size. */
    if (log->dead < live)
        return;
    ut__bytes_chunk_t *nc =
        ut__bytes_chunk_new(live > UT__CONSENSUS_LOG_CHUNK ? live : UT__CONSENSUS_LOG_CHUNK, NULL);
    if (nc == NULL)
        return;
    unsigned char *base = (unsigned char *)(nc + 1);
    for (uint64_t i = 0; i < log->last - log->off; i++) {
        ut_entry_t *e = &log->ents[i];
        if (e->len == 0)
            continue;
        memcpy(base + nc->used, e->data, e->len);
        e->data = base + nc->used;
        nc->used += padded(e->len);
    }
    ut__bytes_chunks_free(log->chunks);
    log->chunks = nc;
    log->dead = 0;
}
