/* SPDX-License-Identifier: MIT */
/* Calling a config's tracer (include/unitypes/trace.h) at no cost when none
 * is installed: the event is built only behind the NULL check, and carries
 * static strings, never formatted text. */
#ifndef UT_COMMON_TRACE_H
#define UT_COMMON_TRACE_H

#include "unitypes/trace.h"

typedef struct ut__tracer {
    ut_trace_fn fn; /* NULL: tracing off */
    void *arg;
} ut__tracer_t;

#if defined(__GNUC__) || defined(__clang__)
#    define UT__TRACE_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#    define UT__TRACE_UNLIKELY(x) (x)
#endif

/* ut__trace(&h->tracer, UT_TRACE_INFO, "consensus", id, "become-leader", NULL, term, 0) */
#define ut__trace(tr, lvl, mod, id, ev, why, va, vb)                                               \
    do {                                                                                           \
        const ut__tracer_t *ut__tr_ = (tr);                                                        \
        if (UT__TRACE_UNLIKELY(ut__tr_->fn != NULL)) {                                             \
            ut_trace_event_t ut__ev_ = {(lvl), (mod), (id), (ev), (why), (va), (vb)};              \
            ut__tr_->fn(ut__tr_->arg, &ut__ev_);                                                   \
        }                                                                                          \
    } while (0)

#endif
