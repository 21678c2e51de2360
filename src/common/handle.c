/* SPDX-License-Identifier: MIT */
#include "common/handle.h"

#include <stdarg.h>
#include <stdio.h>

void ut__handle_init(ut__handle_t *h, uint32_t magic)
{
    h->magic = magic;
    snprintf(h->errmsg, sizeof h->errmsg, "no error");
    h->tracer = NULL;
    h->module = NULL;
    h->node = 0;
}

void ut__handle_retire(ut__handle_t *h)
{
    h->magic = UT__HANDLE_FREED;
}

int ut__handle_vfail(ut__handle_t *h, int code, const char *fmt, va_list ap)
{
    vsnprintf(h->errmsg, sizeof h->errmsg, fmt, ap);
    if (h->tracer)
        ut__trace(h->tracer, UT_TRACE_WARN, h->module, h->node, "refused", h->errmsg,
                  (uint64_t)(int64_t)code, 0);
    return code;
}

int ut__handle_fail(ut__handle_t *h, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    code = ut__handle_vfail(h, code, fmt, ap);
    va_end(ap);
    return code;
}

const char *ut__handle_errmsg(const ut__handle_t *h, uint32_t magic)
{
    if (!ut__handle_valid(h, magic))
        return "invalid handle";
    return h->errmsg;
}
