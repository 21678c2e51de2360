/* SPDX-License-Identifier: MIT */
#include "internal.h"

#include <stdlib.h>

unsigned ut_version_number(void)
{
    return UT_VERSION_NUMBER;
}

const char *ut_version_string(void)
{
    return UT_VERSION_STRING;
}

/* One table keeps names, descriptions and values together, so a code added
 * at the end cannot be forgotten by one of the two lookups. */
static const struct {
    int code;
    const char *name;
    const char *text;
} ut__errors[] = {
    {UT_OK, "UT_OK", "success"},
    {UT_EINVAL, "UT_EINVAL", "invalid argument"},
    {UT_ENOMEM, "UT_ENOMEM", "out of memory"},
    {UT_ESTATE, "UT_ESTATE", "transition not allowed in the current state"},
    {UT_ENOTFOUND, "UT_ENOTFOUND", "not found"},
    {UT_EEXIST, "UT_EEXIST", "already exists"},
    {UT_ERANGE, "UT_ERANGE", "value or buffer out of range"},
    {UT_EFULL, "UT_EFULL", "full"},
    {UT_EBUSY, "UT_EBUSY", "busy"},
    {UT_ETIMEDOUT, "UT_ETIMEDOUT", "timed out"},
    {UT_ECORRUPT, "UT_ECORRUPT", "malformed or inconsistent data"},
    {UT_EVERSION, "UT_EVERSION", "unsupported version"},
    {UT_ENOTLEADER, "UT_ENOTLEADER", "not the leader"},
    {UT_ESTALE, "UT_ESTALE", "stale input from an older term"},
};

const char *ut_strerror(int code)
{
    for (size_t i = 0; i < sizeof ut__errors / sizeof ut__errors[0]; i++)
        if (ut__errors[i].code == code)
            return ut__errors[i].text;
    return "unknown error";
}

const char *ut_err_name(int code)
{
    for (size_t i = 0; i < sizeof ut__errors / sizeof ut__errors[0]; i++)
        if (ut__errors[i].code == code)
            return ut__errors[i].name;
    return "UT_E?";
}

static void *ut__default_malloc(void *ctx, size_t n)
{
    (void)ctx;
    return malloc(n);
}

static void *ut__default_realloc(void *ctx, void *p, size_t n)
{
    (void)ctx;
    return realloc(p, n);
}

static void ut__default_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

static ut_allocator_t ut__allocator = {NULL, ut__default_malloc, ut__default_realloc,
                                       ut__default_free};

int ut_set_allocator(const ut_allocator_t *a)
{
    if (a == NULL) {
        ut__allocator.ctx = NULL;
        ut__allocator.malloc = ut__default_malloc;
        ut__allocator.realloc = ut__default_realloc;
        ut__allocator.free = ut__default_free;
        return UT_OK;
    }
    if (a->malloc == NULL || a->realloc == NULL || a->free == NULL)
        return UT_EINVAL;
    ut__allocator = *a;
    return UT_OK;
}

void *ut__malloc(size_t size)
{
    return ut__allocator.malloc(ut__allocator.ctx, size ? size : 1);
}

void *ut__calloc(size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    void *p = ut__malloc(n * size);
    if (p != NULL)
        memset(p, 0, (n * size) != 0 ? n * size : 1);
    return p;
}

void *ut__realloc(void *ptr, size_t size)
{
    return ut__allocator.realloc(ut__allocator.ctx, ptr, size ? size : 1);
}

void ut__free(void *ptr)
{
    if (ptr != NULL)
        ut__allocator.free(ut__allocator.ctx, ptr);
}

int ut__grow(void **buf, size_t *cap, size_t need, size_t elem_size)
{
    if (need <= *cap)
        return UT_OK;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return UT_ENOMEM;
        ncap *= 2;
    }
    if (elem_size != 0 && ncap > SIZE_MAX / elem_size)
        return UT_ENOMEM;
    void *p = ut__realloc(*buf, ncap * elem_size);
    if (p == NULL)
        return UT_ENOMEM;
    *buf = p;
    *cap = ncap;
    return UT_OK;
}
