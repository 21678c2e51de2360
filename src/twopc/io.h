/* SPDX-License-Identifier: MIT */
/* What coordinator and participant share: the output side (messages,
 * records, events, double-buffered like the outbox so a handed-out ready
 * stays valid until advance) and little-endian peer lists. */
#ifndef UT_TWOPC_IO_H
#define UT_TWOPC_IO_H

#include "internal.h"
#include "common/handle.h"
#include "common/outbox.h"
#include "common/trace.h"

typedef struct ut__twopc_vec {
    ut_2pc_record_t *rec;
    size_t n_rec, cap_rec;
    size_t *rec_off; /* where each record's nodes start in ids (fixed up at ready) */
    ut_2pc_event_t *ev;
    size_t n_ev, cap_ev;
    uint64_t *ids; /* node lists of the records: offsets, so growth moves nothing handed out */
    size_t n_ids, cap_ids;
} ut__twopc_vec_t;

typedef struct ut__twopc_io {
    ut__outbox_t ob;
    ut__twopc_vec_t vec[2];
    int live; /* index of the vec being filled */
    ut__readyseq_t rs;
    /* counters for benchmarks and tests */
    uint64_t n_forced, n_records, n_msgs;
} ut__twopc_io_t;

void ut__twopc_io_init(ut__twopc_io_t *io);
void ut__twopc_io_destroy(ut__twopc_io_t *io);
/* Room for the given output so that what follows cannot fail. */
int ut__twopc_io_reserve(ut__twopc_io_t *io, size_t msgs, size_t bytes, size_t recs, size_t evs,
                         size_t ids);
/* Attach a copy of n node ids to the last record (reserved). */
void ut__twopc_io_record_nodes(ut__twopc_io_t *io, const uint64_t *ids, size_t n);
/* Infallible after a reserve. */
ut_msg_t *ut__twopc_io_msg(ut__twopc_io_t *io, ut_msg_type_t type, uint64_t from, uint64_t to,
                           uint64_t txid, uint32_t code);
ut_2pc_record_t *ut__twopc_io_record(ut__twopc_io_t *io, uint64_t txid, ut_txn_state_t state,
                                     bool forced);
ut_2pc_event_t *ut__twopc_io_event(ut__twopc_io_t *io, ut_2pc_event_kind_t kind, uint64_t txid,
                                   ut_txn_state_t state);
const void *ut__twopc_io_copy(ut__twopc_io_t *io, const void *data, size_t len);
bool ut__twopc_io_pending(const ut__twopc_io_t *io);
int ut__twopc_io_ready(ut__twopc_io_t *io, ut_2pc_ready_t *rd);
/* 1: the outstanding ready was advanced; 0: empty ready; UT_EINVAL. */
int ut__twopc_io_advance(ut__twopc_io_t *io, const ut_2pc_ready_t *rd);

/* The doors both sides share, with the refusal recorded in base: the
 * checks a step starts with (a message for node self, from another node,
 * about a transaction), the check a tick starts with (time never goes
 * back from now), and ready/advance of io (advanced: the outstanding
 * ready was advanced). */
int ut__twopc_step_check(ut__handle_t *base, uint64_t self, const ut_msg_t *m);
/* A step's result: a refusal (rc != UT_OK) is traced as "refused". */
int ut__twopc_step_result(const ut__tracer_t *tr, uint64_t self, const ut_msg_t *m, int rc);
int ut__twopc_tick_check(ut__handle_t *base, uint64_t now, uint64_t now_ms);
int ut__twopc_ready(ut__handle_t *base, ut__twopc_io_t *io, ut_2pc_ready_t *rd);
int ut__twopc_advance(ut__handle_t *base, ut__twopc_io_t *io, const ut_2pc_ready_t *rd,
                      bool *advanced);

static inline void ut__twopc_put_le(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint64_t ut__twopc_get_le(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

#endif
