/* SPDX-License-Identifier: MIT */
#include "consensus/log.h"

/* Chunks are large enough that steady-state replication of small entries
 * allocates once per ~64 KiB of payload, not once per entry. */
#define UT__ARENA_CHUNK (64u * 1024u)

void ut__log_init(ut__log_t *log)
{
    memset(log, 0, sizeof *log);
}

void ut__log_destroy(ut__log_t *log)
{
    ut__arena_chunk_t *c = log->chunks;
    while (c != NULL) {
        ut__arena_chunk_t *next = c->next;
        ut__free(c);
        c = next;
    }
    ut__free(log->ents);
    memset(log, 0, sizeof *log);
}

int ut__log_reserve_slow(ut__log_t *log, size_t n, size_t bytes)
{
    if (n > SIZE_MAX - (size_t)log->last)
        return UT_ENOMEM;
    int rc = ut__grow((void **)&log->ents, &log->cap, (size_t)log->last + n, sizeof(ut_entry_t));
    if (rc != UT_OK)
        return rc;
    /* Each payload is padded to 8 bytes: reserve the padding as well. */
    if (bytes == 0)
        return UT_OK;
    if (bytes > SIZE_MAX / 2 || n > (SIZE_MAX / 2) / 8)
        return UT_ENOMEM;
    bytes += 8 * n;
    ut__arena_chunk_t *c = log->chunks;
    if (c != NULL && c->cap - c->used >= bytes)
        return UT_OK;
    size_t cap = bytes > UT__ARENA_CHUNK ? bytes : UT__ARENA_CHUNK;
    if (cap > SIZE_MAX - sizeof(ut__arena_chunk_t))
        return UT_ENOMEM;
    ut__arena_chunk_t *nc = ut__malloc(sizeof *nc + cap);
    if (nc == NULL)
        return UT_ENOMEM;
    nc->cap = cap;
    nc->used = 0;
    nc->next = log->chunks;
    log->chunks = nc;
    return UT_OK;
}

void ut__log_truncate(ut__log_t *log, uint64_t from)
{
    /* Payload bytes of removed entries stay in the arena: pointers already
     * handed out must remain valid, and truncation is rare (a new leader
     * overwriting an uncommitted tail, §5.3). */
    if (from >= 1 && from <= log->last)
        log->last = from - 1;
}
