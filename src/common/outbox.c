/* SPDX-License-Identifier: MIT */
#include "common/outbox.h"

#include "internal.h"

#define UT__OUTBOX_CHUNK 4096u

void ut__outbox_init(ut__outbox_t *ob)
{
    memset(ob, 0, sizeof *ob);
    ob->live = &ob->bufs[0];
    ob->out = &ob->bufs[1];
}

ut__bytes_chunk_t *ut__bytes_chunk_new(size_t cap, ut__bytes_chunk_t *next)
{
    if (cap > SIZE_MAX - sizeof(ut__bytes_chunk_t))
        return NULL;
    ut__bytes_chunk_t *c = ut__malloc(sizeof *c + cap);
    if (c == NULL)
        return NULL;
    c->cap = cap;
    c->used = 0;
    c->next = next;
    return c;
}

void ut__bytes_chunks_free(ut__bytes_chunk_t *c)
{
    while (c != NULL) {
        ut__bytes_chunk_t *next = c->next;
        ut__free(c);
        c = next;
    }
}

static void msgvec_destroy(ut__msgvec_t *v)
{
    ut__free(v->msgs);
    ut__bytes_chunks_free(v->chunks);
    memset(v, 0, sizeof *v);
}

void ut__outbox_destroy(ut__outbox_t *ob)
{
    if (ob->live == NULL)
        return;
    msgvec_destroy(&ob->bufs[0]);
    msgvec_destroy(&ob->bufs[1]);
    ob->live = ob->out = NULL;
}

/* Free bytes in the chunks from the one being filled onwards (chunks after
 * the first are empty spares kept from earlier rounds). */
static bool have_bytes(const ut__msgvec_t *v, size_t bytes)
{
    for (const ut__bytes_chunk_t *c = v->chunks; c != NULL; c = c->next)
        if (c->cap - c->used >= bytes)
            return true;
    return false;
}

int ut__outbox_reserve(ut__outbox_t *ob, size_t n, size_t bytes)
{
    ut__msgvec_t *v = ob->live;
    if (n > SIZE_MAX - v->n)
        return UT_ENOMEM;
    if (v->n + n > v->cap) {
        int rc = ut__grow((void **)&v->msgs, &v->cap, v->n + n, sizeof(ut_msg_t));
        if (rc != UT_OK)
            return rc;
    }
    if (bytes == 0 || have_bytes(v, bytes))
        return UT_OK;
    if (bytes > SIZE_MAX - sizeof(ut__bytes_chunk_t) - UT__OUTBOX_CHUNK)
        return UT_ENOMEM;
    /* The new chunk is filled first; the old first one keeps what it holds. */
    ut__bytes_chunk_t *c =
        ut__bytes_chunk_new(bytes > UT__OUTBOX_CHUNK ? bytes : UT__OUTBOX_CHUNK, v->chunks);
    if (c == NULL)
        return UT_ENOMEM;
    v->chunks = c;
    return UT_OK;
}

ut_msg_t *ut__outbox_push(ut__outbox_t *ob, ut_msg_type_t type, uint64_t from, uint64_t to)
{
    if (ut__outbox_reserve(ob, 1, 0) != UT_OK)
        return NULL;
    ut__msgvec_t *v = ob->live;
    ut_msg_t *m = &v->msgs[v->n++];
    memset(m, 0, sizeof *m);
    m->type = type;
    m->from = from;
    m->to = to;
    return m;
}

void ut__outbox_pop(ut__outbox_t *ob)
{
    if (ob->live->n > 0)
        ob->live->n--;
}

const void *ut__outbox_copy(ut__outbox_t *ob, const void *data, size_t len)
{
    if (len == 0)
        return NULL;
    if (ut__outbox_reserve(ob, 0, len) != UT_OK)
        return NULL;
    for (ut__bytes_chunk_t *c = ob->live->chunks; c != NULL; c = c->next) {
        if (c->cap - c->used >= len) {
            unsigned char *p = (unsigned char *)(c + 1) + c->used;
            memcpy(p, data, len);
            c->used += len;
            return p;
        }
    }
    return NULL; /* unreachable: reserve found or made room */
}

void ut__outbox_take(ut__outbox_t *ob, ut_msg_t **msgs, size_t *n)
{
    ut__msgvec_t *tmp = ob->out;
    ob->out = ob->live;
    ob->live = tmp;
    ob->live->n = 0;
    for (ut__bytes_chunk_t *c = ob->live->chunks; c != NULL; c = c->next)
        c->used = 0;
    *msgs = ob->out->n > 0 ? ob->out->msgs : NULL;
    *n = ob->out->n;
}

void ut__outbox_release(ut__outbox_t *ob)
{
    ob->out->n = 0;
    for (ut__bytes_chunk_t *c = ob->out->chunks; c != NULL; c = c->next)
        c->used = 0;
}
