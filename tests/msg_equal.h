/* SPDX-License-Identifier: MIT */
/* Field-by-field equality of two messages, payload bytes included: shared by
 * the codec's unit tests and its fuzz target. */
#ifndef UT_TEST_MSG_EQUAL_H
#define UT_TEST_MSG_EQUAL_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <unitypes.h>

static inline bool msg_equal(const ut_msg_t *a, const ut_msg_t *b)
{
    if (a->type != b->type || a->from != b->from || a->to != b->to || a->term != b->term)
        return false;
    switch (a->type) {
    case UT_MSG_VOTE:
    case UT_MSG_PREVOTE:
        return a->body.vote.last_log_index == b->body.vote.last_log_index &&
               a->body.vote.last_log_term == b->body.vote.last_log_term &&
               a->body.vote.transfer == b->body.vote.transfer;
    case UT_MSG_VOTE_RESP:
    case UT_MSG_PREVOTE_RESP:
        return a->body.vote_resp.granted == b->body.vote_resp.granted;
    case UT_MSG_APPEND_RESP:
        return a->body.append_resp.success == b->body.append_resp.success &&
               a->body.append_resp.index == b->body.append_resp.index &&
               a->body.append_resp.hint_term == b->body.append_resp.hint_term &&
               a->body.append_resp.hint_index == b->body.append_resp.hint_index &&
               a->body.append_resp.read_round == b->body.append_resp.read_round;
    case UT_MSG_APPEND: {
        const ut_msg_append_t *x = &a->body.append, *y = &b->body.append;
        if (x->prev_index != y->prev_index || x->prev_term != y->prev_term ||
            x->commit != y->commit || x->n_entries != y->n_entries ||
            x->read_round != y->read_round)
            return false;
        for (size_t i = 0; i < x->n_entries; i++) {
            const ut_entry_t *e = &x->entries[i], *f = &y->entries[i];
            if (e->term != f->term || e->index != f->index || e->type != f->type ||
                e->len != f->len)
                return false;
            if (e->len > 0 && memcmp(e->data, f->data, e->len) != 0)
                return false;
        }
        return true;
    }
    default: {
        /* Module messages (locks, 2PC, gossip, replication): the format has
         * one encoding per message, so equal messages encode to equal bytes. */
        size_t na, nb, la, lb;
        if (ut_msg_encoded_size(a, &na) != UT_OK || ut_msg_encoded_size(b, &nb) != UT_OK ||
            na != nb)
            return false;
        unsigned char *x = malloc(na), *y = malloc(nb);
        bool eq = x != NULL && y != NULL && ut_msg_encode(a, x, na, &la) == UT_OK &&
                  ut_msg_encode(b, y, nb, &lb) == UT_OK && la == lb && memcmp(x, y, la) == 0;
        free(x);
        free(y);
        return eq;
    }
    }
}

#endif
