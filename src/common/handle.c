/* SPDX-License-Identifier: MIT */
#include "common/handle.h"

#include <stdarg.h>
#include <stdio.h>

void ut__handle_init(ut__handle_t *h, uint32_t magic)
{
    h->magic = magic;
    snprintf(h->errmsg, sizeof h->errmsg, "no error");
}

void ut__handle_retire(ut__handle_t *h)
{
    h->magic = UT__HANDLE_FREED;
}

int ut__handle_vfail(ut__handle_t *h, int code, const char *fmt, va_list ap)
{
    vsnprintf(h->errmsg, sizeof h->errmsg, fmt, ap);
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
