/* SPDX-License-Identifier: MIT */
/* Private declarations shared by the library's translation units.
 * Non-static private symbols are named ut__<module>_<name> and are never
 * exported (the library is built with hidden visibility). */
#ifndef UNITYPES_INTERNAL_H
#define UNITYPES_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "unitypes.h"

/* Every allocation in the library goes through these (see alloc.c). */
void *ut__malloc(size_t size);
void *ut__calloc(size_t n, size_t size);
void *ut__realloc(void *ptr, size_t size);
void ut__free(void *ptr);

/* Grow *buf (of *cap elements of elem_size) to hold at least need elements,
 * doubling. Returns UT_OK or UT_ENOMEM (buffer untouched). */
int ut__grow(void **buf, size_t *cap, size_t need, size_t elem_size);

#define UT__UNUSED(x) ((void)(x))

#endif
