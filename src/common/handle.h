/* SPDX-License-Identifier: MIT */
/* The base every protocol handle starts with: a magic number that tells a
 * live handle of the right kind from garbage, NULL or a freed one, and the
 * per-handle error message ("context: cause") that ut_<x>_errmsg returns.
 * Every module embeds a ut__handle_t as its first member and fails through
 * UT__FAIL, so every refused input leaves a message behind. */
#ifndef UT_COMMON_HANDLE_H
#define UT_COMMON_HANDLE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/trace.h"

#define UT__HANDLE_ERRMSG_SIZE 160

/* Magic numbers, one per handle kind; a freed handle gets UT__HANDLE_FREED
 * so a use after free is refused rather than obeyed (while the memory is
 * still mapped). */
#define UT__HANDLE_FREED 0xdeadbeefu

typedef struct ut__handle {
    uint32_t magic;
    char errmsg[UT__HANDLE_ERRMSG_SIZE];
    /* Optional (NULL after init): every refusal through ut__handle_fail is
     * also traced here, at UT_TRACE_WARN, event "refused", the message as
     * the reason and a = the error code (two's complement). For modules
     * that trace no refusals of their own. */
    const ut__tracer_t *tracer;
    const char *module;
    uint64_t node;
} ut__handle_t;

void ut__handle_init(ut__handle_t *h, uint32_t magic);
void ut__handle_retire(ut__handle_t *h);

static inline bool ut__handle_valid(const ut__handle_t *h, uint32_t magic)
{
    return h != NULL && h->magic == magic;
}

/* Sets the message and returns code, so that failure paths read
 * `return ut__handle_fail(&h->base, UT_EINVAL, "step: ...")`. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 3, 4)))
#endif
int ut__handle_fail(ut__handle_t *h, int code, const char *fmt, ...);

/* ut__handle_fail with a va_list, for a module's own failure wrapper. */
int ut__handle_vfail(ut__handle_t *h, int code, const char *fmt, va_list ap);

/* The errmsg accessor of every module: "invalid handle" for NULL or a
 * handle of the wrong kind. */
const char *ut__handle_errmsg(const ut__handle_t *h, uint32_t magic);

#define UT__FAIL(hb, code, ...) return ut__handle_fail((hb), (code), __VA_ARGS__)

#endif
