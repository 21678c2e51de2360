/* SPDX-License-Identifier: MIT */
#include "consensus/log.h"

/* Chunks are large enough that steady-state replication of small entries
 * allocates once per ~64 KiB of payload, not once per entry. */
#define UT__CONSENSUS_LOG_CHUNK (64u * 1024u)
/* Dead bytes below this are never worth a copy. */
#ifndef UT__CONSENSUS_LOG_COMPACT_MIN
#    define UT__CONSENSUS_LOG_COMPACT_MIN UT__CONSENSUS_LOG_CHUNK
#endif

#define SHIFT UT__CONSENSUS_LOG_SEG_SHIFT

/* The cached base address (log.h): the table as if it began at segment 0. */
static void set_base(ut__consensus_log_t *log)
{
    log->base = (uintptr_t)log->segs - (uintptr_t)log->first_seg * sizeof(void *);
}

/* Highest index the n_segs segments have room for (off when there are none). */
static void set_cap_last(ut__consensus_log_t *log)
{
    if (log->n_segs == 0) {
        log->cap_last = log->off;
        return;
    }
    uint64_t end_seg = log->first_seg + (uint64_t)log->n_segs; /* one past the last */
    /* Segment numbers come from indexes >> SHIFT, so end_seg << SHIFT wraps
     * only for the segment holding UINT64_MAX. */
    log->cap_last = end_seg > (UINT64_MAX >> SHIFT) ? UINT64_MAX : (end_seg << SHIFT) - 1;
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
    log->last = off;
    log->first_seg = off == UINT64_MAX ? UINT64_MAX >> SHIFT : (off + 1) >> SHIFT;
    log->stable = log->persisted = log->commit = log->applied = off;
    set_base(log);
    set_cap_last(log);
}

static void segs_free(ut__consensus_log_seg_t *s)
{
    while (s != NULL) {
        ut__consensus_log_seg_t *next = s->next;
        ut__free(s);
        s = next;
    }
}

void ut__consensus_log_destroy(ut__consensus_log_t *log)
{
    for (size_t i = 0; i < log->n_segs; i++)
        ut__free(log->segs[i]);
    ut__free(log->segs);
    segs_free(log->retired);
    segs_free(log->spare);
    ut__bytes_chunks_free(log->chunks);
    /* >>> rsnap */
    ut__bytes_chunks_free(log->retired_chunks);
    /* <<< rsnap */
    memset(log, 0, sizeof *log);
}

void ut__consensus_log_release(ut__consensus_log_t *log)
{
    segs_free(log->retired);
    log->retired = NULL;
    /* >>> rsnap */
    ut__bytes_chunks_free(log->retired_chunks);
    log->retired_chunks = NULL;
    /* <<< rsnap */
}

/* A segment: a spare one, or a new allocation (NULL when out of memory). */
static ut__consensus_log_seg_t *seg_take(ut__consensus_log_t *log)
{
    ut__consensus_log_seg_t *s = log->spare;
    if (s != NULL) {
        log->spare = s->next;
        log->n_spare--;
        return s;
    }
    return ut__malloc(sizeof *s);
}

/* Segments (and table room) through index `upto`. Segments added before a
 * failure stay: the log holds the same entries either way. */
static int add_segs(ut__consensus_log_t *log, uint64_t upto)
{
    if (upto <= log->cap_last)
        return UT_OK;
    uint64_t need = (upto >> SHIFT) - log->first_seg + 1;
    if (need > SIZE_MAX / sizeof(void *))
        return UT_ENOMEM;
    int rc = ut__grow((void **)&log->segs, &log->segs_cap, (size_t)need, sizeof(void *));
    if (rc != UT_OK)
        return rc;
    set_base(log);
    while (log->n_segs < need) {
        ut__consensus_log_seg_t *s = seg_take(log);
        if (s == NULL) {
            set_cap_last(log);
            return UT_ENOMEM;
        }
        s->next = NULL;
        log->segs[log->n_segs++] = s;
    }
    set_cap_last(log);
    return UT_OK;
}

int ut__consensus_log_reserve_slow(ut__consensus_log_t *log, size_t n, size_t bytes)
{
    if (n > UINT64_MAX - log->last || n > SIZE_MAX / sizeof(ut_entry_t))
        return UT_ENOMEM;
    int rc = add_segs(log, log->last + n);
    if (rc != UT_OK)
        return rc;
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

int ut__consensus_log_prepare_truncate(ut__consensus_log_t *log, uint64_t from, uint64_t new_last)
{
    if (from <= log->off || from > log->last)
        return UT_OK; /* truncate() will change nothing */
    if (new_last < from)
        new_last = from;
    /* Fresh segments for from's segment (its surviving prefix is copied)
     * up to new_last's. */
    uint64_t want = (new_last >> SHIFT) - (from >> SHIFT) + 1;
    while (log->n_spare < want) {
        ut__consensus_log_seg_t *s = ut__malloc(sizeof *s);
        if (s == NULL)
            return UT_ENOMEM;
        s->next = log->spare;
        log->spare = s;
        log->n_spare++;
    }
    return UT_OK;
}

void ut__consensus_log_truncate(ut__consensus_log_t *log, uint64_t from)
{
    if (from <= log->off || from > log->last)
        return;
    /* Payload bytes of removed entries stay in the arena for now: pointers
     * already handed out must remain valid. Counting them costs a walk over
     * the removed entries, and truncation is rare (a new leader overwriting
     * an uncommitted tail, §5.3). */
    for (uint64_t i = from; i <= log->last; i++)
        log->dead += padded(ut__consensus_log_slot(log, i)->len);
    /* Replace from's segment by a copy of its entries below from, and retire
     * it with every later one: nothing handed out is ever overwritten. */
    size_t j = (size_t)((from >> SHIFT) - log->first_seg);
    ut__consensus_log_seg_t *copy = log->spare;
    if (copy != NULL) {
        log->spare = copy->next;
        log->n_spare--;
    } else {
        copy = ut__malloc(sizeof *copy);
    }
    if (copy != NULL) {
        ut__consensus_log_seg_t *old = log->segs[j];
        uint64_t lo = from & ~UT__CONSENSUS_LOG_SEG_MASK;
        if (lo <= log->off)
            lo = log->off + 1;
        if (lo < from) {
            size_t k = (size_t)(lo & UT__CONSENSUS_LOG_SEG_MASK);
            memcpy(&copy->e[k], &old->e[k], (size_t)(from - lo) * sizeof(ut_entry_t));
        }
        copy->next = NULL;
        for (size_t i = log->n_segs; i-- > j;) {
            log->segs[i]->next = log->retired;
            log->retired = log->segs[i];
        }
        log->segs[j] = copy;
        log->n_segs = j + 1;
        /* The prepared spares become the next segments (the table has
         * room: it held at least as many before). */
        while (log->spare != NULL && log->n_segs < log->segs_cap) {
            ut__consensus_log_seg_t *s = log->spare;
            log->spare = s->next;
            log->n_spare--;
            s->next = NULL;
            log->segs[log->n_segs++] = s;
        }
        set_cap_last(log);
    }
    /* else: out of memory without a prepare: the slots are reused in place. */
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

void ut__consensus_log_copy(const ut__consensus_log_t *log, ut_entry_t *dst, uint64_t index,
                            size_t n)
{
    while (n > 0) {
        size_t room = (size_t)(UT__CONSENSUS_LOG_SEG - (index & UT__CONSENSUS_LOG_SEG_MASK));
        size_t k = n < room ? n : room;
        memcpy(dst, ut__consensus_log_slot(log, index), k * sizeof(ut_entry_t));
        dst += k;
        index += k;
        n -= k;
    }
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
    for (uint64_t i = log->off + 1; i <= log->last; i++) {
        ut_entry_t *e = ut__consensus_log_slot(log, i);
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

/* >>> rsnap: drop a prefix (Raft paper §7) */
void ut__consensus_log_drop_prefix(ut__consensus_log_t *log, uint64_t index, uint64_t term,
                                   bool keep_suffix)
{
    if (index <= log->off)
        return;
    if (index >= log->last)
        keep_suffix = false;
    /* Segments wholly at or below index are retired (segment numbers below
     * the new first one); with no suffix kept, every segment goes. */
    uint64_t new_first = index == UINT64_MAX ? UINT64_MAX >> SHIFT : (index + 1) >> SHIFT;
    size_t k = log->n_segs;
    if (keep_suffix && new_first - log->first_seg < (uint64_t)log->n_segs)
        k = (size_t)(new_first - log->first_seg);
    for (size_t i = 0; i < k; i++) {
        log->segs[i]->next = log->retired;
        log->retired = log->segs[i];
    }
    if (k > 0 && k < log->n_segs)
        memmove(log->segs, log->segs + k, (log->n_segs - k) * sizeof *log->segs);
    log->n_segs -= k;
    /* Payload chunks: entries that stay were written in index order (a
     * truncation removes every later entry too), so every chunk older than
     * the one holding the first kept payload holds only dropped or dead
     * bytes. The list is newest first. */
    const unsigned char *first_kept = NULL;
    if (keep_suffix)
        for (uint64_t i = index + 1; i <= log->last && first_kept == NULL; i++)
            if (ut__consensus_log_slot(log, i)->len > 0)
                first_kept = ut__consensus_log_slot(log, i)->data;
    ut__bytes_chunk_t **pp = &log->chunks; /* where the retired tail starts */
    if (first_kept != NULL) {
        pp = NULL; /* not found (cannot happen): retire nothing */
        for (ut__bytes_chunk_t *c = log->chunks; c != NULL; c = c->next) {
            uintptr_t lo = (uintptr_t)(c + 1), at = (uintptr_t)first_kept;
            if (at >= lo && at < lo + c->cap) {
                pp = &c->next;
                break;
            }
        }
    }
    /* *pp and everything after it hold no kept payload. */
    if (pp != NULL && *pp != NULL) {
        ut__bytes_chunk_t *tail = *pp;
        *pp = NULL;
        ut__bytes_chunk_t *t = tail;
        while (t->next != NULL)
            t = t->next;
        t->next = log->retired_chunks;
        log->retired_chunks = tail;
    }
    /* The kept chunks' bytes of dropped entries are dead now. */
    size_t used = 0, live = 0;
    for (const ut__bytes_chunk_t *c = log->chunks; c != NULL; c = c->next)
        used += c->used;
    if (keep_suffix)
        for (uint64_t i = index + 1; i <= log->last; i++)
            live += padded(ut__consensus_log_slot(log, i)->len);
    log->dead = used - live;
    if (!keep_suffix) {
        if (log->stable > index) {
            /* Entries after index already went out for persistence and are
             * no longer in the log: stable storage must drop them. */
            if (log->truncate_from == 0 || index + 1 < log->truncate_from)
                log->truncate_from = index + 1;
        }
        log->last = index;
        log->stable = log->persisted = index;
    }
    log->off = index;
    log->off_term = term;
    log->first_seg = new_first;
    if (log->stable < index)
        log->stable = index;
    if (log->persisted < index)
        log->persisted = index;
    if (log->commit < index)
        log->commit = index;
    if (log->applied < index)
        log->applied = index;
    set_base(log);
    set_cap_last(log);
}
/* <<< rsnap */
