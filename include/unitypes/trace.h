/* SPDX-License-Identifier: MIT */
/**
 * @file unitypes/trace.h
 * @brief The trace hook every protocol's config accepts: why did my node
 *        do that?
 *
 * A protocol object calls its tracer for every role and term change, every
 * input it refuses (with the reason) and every fault-relevant decision. The
 * event is handed out as static strings and numbers: nothing is formatted
 * unless the tracer formats it, and when no tracer is installed the cost is
 * one predictable branch. The tracer runs on the calling thread, inside the
 * library call that produced the event: it must not call back into the
 * object that traces (it may record, print or count). The event and its
 * strings are valid only during the call.
 */
#ifndef UNITYPES_TRACE_H
#define UNITYPES_TRACE_H

#include "unitypes/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief How much a trace event matters.
 * @since 0.2.0
 */
typedef enum ut_trace_level {
    UT_TRACE_DEBUG = 0, /**< Routine decisions (a vote granted, a timer reset). */
    UT_TRACE_INFO = 1,  /**< Role and term changes, membership changes. */
    UT_TRACE_WARN = 2   /**< Refused input, lost leadership, a peer declared dead. */
} ut_trace_level_t;

/**
 * @brief One trace event. Fields may be added at the end in later versions.
 * @since 0.2.0
 */
typedef struct ut_trace_event {
    ut_trace_level_t level; /**< How much it matters. */
    const char *module;     /**< "consensus", "lock", "2pc", "gossip", "replica", … */
    uint64_t node;          /**< The id of the node that traces. */
    const char *event;      /**< What happened, a short fixed name ("become-leader"). */
    const char *reason;     /**< Why, a short fixed phrase, or NULL. */
    uint64_t a;             /**< Event-specific number (e.g. the new term). */
    uint64_t b;             /**< Event-specific number (e.g. the peer's id). */
} ut_trace_event_t;

/**
 * @brief A tracer: called with the @c trace_arg of the config and one event.
 * @since 0.2.0
 */
typedef void (*ut_trace_fn)(void *arg, const ut_trace_event_t *ev);

#ifdef __cplusplus
}
#endif

#endif /* UNITYPES_TRACE_H */
