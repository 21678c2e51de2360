/* SPDX-License-Identifier: MIT */
#include "twopc/io.h"

void ut__twopc_io_init(ut__twopc_io_t *io)
{
    memset(io, 0, sizeof *io);
    ut__outbox_init(&io->ob);
}

void ut__twopc_io_destroy(ut__twopc_io_t *io)
{
    ut__outbox_destroy(&io->ob);
    for (int i = 0; i < 2; i++) {
        ut__free(io->vec[i].rec);
        ut__free(io->vec[i].ev);
        ut__free(io->vec[i].rec_off);
        ut__free(io->vec[i].ids);
    }
}

int ut__twopc_io_reserve(ut__twopc_io_t *io, size_t msgs, size_t bytes, size_t recs, size_t evs,
                         size_t ids)
{
    ut__twopc_vec_t *v = &io->vec[io->live];
    void *p = v->rec;
    size_t cap = v->cap_rec;
    if (ut__grow(&p, &cap, v->n_rec + recs, sizeof(ut_2pc_record_t)) != UT_OK)
        return UT_ENOMEM;
    v->rec = p;
    /* rec_off always has the capacity of rec. */
    p = v->rec_off;
    size_t cap2 = v->cap_rec;
    if (ut__grow(&p, &cap2, cap, sizeof(size_t)) != UT_OK)
        return UT_ENOMEM;
    v->rec_off = p;
    v->cap_rec = cap;
    p = v->ids;
    cap = v->cap_ids;
    if (ut__grow(&p, &cap, v->n_ids + ids, sizeof(uint64_t)) != UT_OK)
        return UT_ENOMEM;
    v->ids = p;
    v->cap_ids = cap;
    p = v->ev;
    cap = v->cap_ev;
    if (ut__grow(&p, &cap, v->n_ev + evs, sizeof(ut_2pc_event_t)) != UT_OK)
        return UT_ENOMEM;
    v->ev = p;
    v->cap_ev = cap;
    return ut__outbox_reserve(&io->ob, msgs, bytes);
}

ut_msg_t *ut__twopc_io_msg(ut__twopc_io_t *io, ut_msg_type_t type, uint64_t from, uint64_t to,
                           uint64_t txid, uint32_t code)
{
    ut_msg_t *m = ut__outbox_push(&io->ob, type, from, to);
    if (m != NULL) {
        m->body.twopc.txid = txid;
        m->body.twopc.code = code;
        io->n_msgs++;
    }
    return m;
}

ut_2pc_record_t *ut__twopc_io_record(ut__twopc_io_t *io, uint64_t txid, ut_txn_state_t state,
                                     bool forced)
{
    ut__twopc_vec_t *v = &io->vec[io->live];
    if (v->n_rec == v->cap_rec)
        return NULL; /* not reserved: a bug, refused rather than written past */
    v->rec_off[v->n_rec] = v->n_ids;
    ut_2pc_record_t *r = &v->rec[v->n_rec++];
    memset(r, 0, sizeof *r);
    r->txid = txid;
    r->state = state;
    r->forced = forced;
    io->n_records++;
    if (forced)
        io->n_forced++;
    return r;
}

void ut__twopc_io_record_nodes(ut__twopc_io_t *io, const uint64_t *ids, size_t n)
{
    ut__twopc_vec_t *v = &io->vec[io->live];
    if (v->n_rec == 0 || n > v->cap_ids - v->n_ids)
        return;
    if (n > 0)
        memcpy(v->ids + v->n_ids, ids, n * sizeof *ids);
    v->n_ids += n;
    v->rec[v->n_rec - 1].n_nodes = n;
}

ut_2pc_event_t *ut__twopc_io_event(ut__twopc_io_t *io, ut_2pc_event_kind_t kind, uint64_t txid,
                                   ut_txn_state_t state)
{
    ut__twopc_vec_t *v = &io->vec[io->live];
    if (v->n_ev == v->cap_ev)
        return NULL;
    ut_2pc_event_t *e = &v->ev[v->n_ev++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->txid = txid;
    e->state = state;
    return e;
}

const void *ut__twopc_io_copy(ut__twopc_io_t *io, const void *data, size_t len)
{
    return ut__outbox_copy(&io->ob, data, len);
}

bool ut__twopc_io_pending(const ut__twopc_io_t *io)
{
    const ut__twopc_vec_t *v = &io->vec[io->live];
    return ut__outbox_pending(&io->ob) > 0 || v->n_rec > 0 || v->n_ev > 0;
}

int ut__twopc_io_ready(ut__twopc_io_t *io, ut_2pc_ready_t *rd)
{
    if (ut__readyseq_busy(&io->rs))
        return UT_ESTATE;
    memset(rd, 0, sizeof *rd);
    bool empty = !ut__twopc_io_pending(io);
    if (!empty) {
        ut__twopc_vec_t *v = &io->vec[io->live];
        ut_msg_t *msgs;
        size_t n;
        ut__outbox_take(&io->ob, &msgs, &n);
        rd->msgs = msgs;
        rd->n_msgs = n;
        for (size_t i = 0; i < v->n_rec; i++)
            v->rec[i].nodes = v->rec[i].n_nodes > 0 ? v->ids + v->rec_off[i] : NULL;
        rd->records = v->rec;
        rd->n_records = v->n_rec;
        rd->events = v->ev;
        rd->n_events = v->n_ev;
        io->live ^= 1;
        io->vec[io->live].n_rec = 0;
        io->vec[io->live].n_ev = 0;
        io->vec[io->live].n_ids = 0;
    }
    rd->seq_ = ut__readyseq_hand_out(&io->rs, empty);
    return UT_OK;
}

int ut__twopc_io_advance(ut__twopc_io_t *io, const ut_2pc_ready_t *rd)
{
    bool empty = rd->n_msgs == 0 && rd->n_records == 0 && rd->n_events == 0;
    int rc = ut__readyseq_advance(&io->rs, rd->seq_, empty);
    if (rc == 1) {
        ut__outbox_release(&io->ob);
        io->vec[io->live ^ 1].n_rec = 0;
        io->vec[io->live ^ 1].n_ev = 0;
        io->vec[io->live ^ 1].n_ids = 0;
    }
    return rc;
}

int ut__twopc_step_check(ut__handle_t *base, uint64_t self, const ut_msg_t *m)
{
    if (m == NULL || m->to != self || m->from == 0 || m->from == self)
        UT__FAIL(base, UT_EINVAL, "step: NULL message or wrong addresses");
    if (m->body.twopc.txid == 0)
        UT__FAIL(base, UT_EINVAL, "step: txid 0");
    return UT_OK;
}

int ut__twopc_step_result(const ut__tracer_t *tr, uint64_t self, const ut_msg_t *m, int rc)
{
    if (rc != UT_OK)
        ut__trace(tr, UT_TRACE_WARN, "2pc", self, "refused",
                  m != NULL ? ut_msg_type_name(m->type) : "NULL message",
                  m != NULL ? m->body.twopc.txid : 0, (uint64_t)-rc);
    return rc;
}

int ut__twopc_tick_check(ut__handle_t *base, uint64_t now, uint64_t now_ms)
{
    if (now_ms < now)
        UT__FAIL(base, UT_EINVAL, "tick: time went backwards");
    return UT_OK;
}

int ut__twopc_ready(ut__handle_t *base, ut__twopc_io_t *io, ut_2pc_ready_t *rd)
{
    if (rd == NULL)
        UT__FAIL(base, UT_EINVAL, "ready: NULL ready");
    if (ut__twopc_io_ready(io, rd) != UT_OK)
        UT__FAIL(base, UT_ESTATE, "ready: a ready is outstanding");
    return UT_OK;
}

int ut__twopc_advance(ut__handle_t *base, ut__twopc_io_t *io, const ut_2pc_ready_t *rd,
                      bool *advanced)
{
    *advanced = false;
    if (rd == NULL)
        UT__FAIL(base, UT_EINVAL, "advance: NULL ready");
    int rc = ut__twopc_io_advance(io, rd);
    if (rc < 0)
        UT__FAIL(base, UT_EINVAL, "advance: not the outstanding ready");
    *advanced = rc == 1;
    return UT_OK;
}

const char *ut_2pc_vote_name(ut_2pc_vote_t v)
{
    switch (v) {
    case UT_2PC_VOTE_NONE:
        return "none";
    case UT_2PC_VOTE_YES:
        return "yes";
    case UT_2PC_VOTE_NO:
        return "no";
    case UT_2PC_VOTE_READ_ONLY:
        return "read-only";
    }
    return "?";
}

bool ut_2pc_ready_empty(const ut_2pc_ready_t *rd)
{
    return rd == NULL || (rd->n_msgs == 0 && rd->n_records == 0 && rd->n_events == 0);
}
