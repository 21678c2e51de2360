/* SPDX-License-Identifier: MIT */
/* The message outbox and the ready/advance sequence every module shares.
 *
 * Outbox: messages are pushed into a live buffer; ready() hands that buffer
 * out and starts filling the other one (a pointer swap: nothing is copied),
 * and advance() empties the handed-out one for reuse. Byte strings a message
 * points at (resource names, payloads) are copied into the buffer's own
 * chunked store, whose chunks never move, so every pointer in a handed-out
 * message stays valid until advance() or free, whatever is pushed meanwhile.
 *
 * Ready sequence: one outstanding ready at a time; an empty ready is not
 * outstanding and needs no advance (the DESIGN §2 drain loop stops at the
 * first empty ready, so an empty one that blocked the next would wedge the
 * node: consensus.md, "an empty ready"). */
#ifndef UT_COMMON_OUTBOX_H
#define UT_COMMON_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "unitypes/error.h"
#include "unitypes/msg.h"

typedef struct ut__bytes_chunk {
    struct ut__bytes_chunk *next;
    size_t cap, used;
    /* bytes follow */
} ut__bytes_chunk_t;

/* A chunk of cap bytes (used 0) linked in front of next, or NULL when out
 * of memory or cap is beyond what can be allocated. Chunks never move, so
 * pointers into them stay valid until the chunk is freed; the outbox's byte
 * store and the Raft log's payload arena are lists of them. */
ut__bytes_chunk_t *ut__bytes_chunk_new(size_t cap, ut__bytes_chunk_t *next);

/* Frees the list from c on. */
void ut__bytes_chunks_free(ut__bytes_chunk_t *c);

typedef struct ut__msgvec {
    ut_msg_t *msgs;
    size_t n, cap;
    ut__bytes_chunk_t *chunks; /* first = being filled; kept for reuse */
} ut__msgvec_t;

typedef struct ut__outbox {
    ut__msgvec_t bufs[2];
    ut__msgvec_t *live, *out;
} ut__outbox_t;

void ut__outbox_init(ut__outbox_t *ob);
void ut__outbox_destroy(ut__outbox_t *ob);

/* Room for n more messages carrying bytes bytes of strings in total, so
 * that the pushes and copies that follow cannot fail. UT_OK or UT_ENOMEM
 * (outbox unchanged). */
int ut__outbox_reserve(ut__outbox_t *ob, size_t n, size_t bytes);

/* A zeroed message in the live buffer (every byte, padding included, so a
 * whole-struct copy by the transport reads no uninitialised memory), or
 * NULL when out of memory (nothing pushed). */
ut_msg_t *ut__outbox_push(ut__outbox_t *ob, ut_msg_type_t type, uint64_t from, uint64_t to);

/* Copies len bytes into the live buffer's store; returns the copy (NULL
 * for len 0, or when out of memory). Reserve first to make it infallible. */
const void *ut__outbox_copy(ut__outbox_t *ob, const void *data, size_t len);

/* Drops the last pushed message (an error path undoing its push). */
void ut__outbox_pop(ut__outbox_t *ob);

static inline size_t ut__outbox_pending(const ut__outbox_t *ob)
{
    return ob->live->n;
}

/* Hands the live buffer out (swap) and returns its messages. */
void ut__outbox_take(ut__outbox_t *ob, ut_msg_t **msgs, size_t *n);

/* Empties the handed-out buffer (its memory is kept for reuse). */
void ut__outbox_release(ut__outbox_t *ob);

typedef struct ut__readyseq {
    uint64_t seq;
    bool outstanding;
} ut__readyseq_t;

/* Before building a ready: UT_ESTATE while one is outstanding. */
static inline bool ut__readyseq_busy(const ut__readyseq_t *r)
{
    return r->outstanding;
}

/* The sequence number of a ready being handed out: empty readies repeat
 * the current number and are not outstanding. */
static inline uint64_t ut__readyseq_hand_out(ut__readyseq_t *r, bool empty)
{
    if (empty)
        return r->seq;
    r->outstanding = true;
    return ++r->seq;
}

/* At advance: 1 = the outstanding ready, go on; 0 = an empty ready, nothing
 * to do; UT_EINVAL = not the outstanding ready (a stale or foreign one). */
static inline int ut__readyseq_advance(ut__readyseq_t *r, uint64_t seq, bool empty)
{
    if (!r->outstanding && seq == r->seq && empty)
        return 0;
    if (!r->outstanding || seq != r->seq)
        return UT_EINVAL;
    r->outstanding = false;
    return 1;
}

#endif
