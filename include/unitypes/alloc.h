/* SPDX-License-Identifier: MIT */
/**
 * @file unitypes/alloc.h
 * @brief The allocator hook through which every library allocation goes.
 */
#ifndef UNITYPES_ALLOC_H
#define UNITYPES_ALLOC_H

#include "unitypes/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief A user-supplied allocator.
 *
 * Each function receives @c ctx first. @c realloc follows C semantics
 * (a NULL pointer allocates). @c free must accept NULL.
 * @since 0.1.0
 */
typedef struct ut_allocator {
    void *ctx;                               /**< Passed to every call. */
    void *(*malloc)(void *ctx, size_t size); /**< Allocate @p size bytes or return NULL. */
    void *(*realloc)(void *ctx, void *ptr, size_t size); /**< Resize or return NULL (ptr intact). */
    void (*free)(void *ctx, void *ptr);                  /**< Release; NULL is a no-op. */
} ut_allocator_t;

/**
 * @brief Install the allocator used by all later library allocations.
 *
 * The allocator is copied. This is the library's only global mutable state:
 * call it before creating any handle, not while handles from the previous
 * allocator are alive, and not concurrently with other library calls.
 *
 * @param[in] allocator The allocator, or NULL to restore malloc/realloc/free.
 * @retval UT_OK     Installed.
 * @retval UT_EINVAL One of the three functions is NULL; nothing changed.
 * @since 0.1.0
 */
UT_API int ut_set_allocator(const ut_allocator_t *allocator);

#ifdef __cplusplus
}
#endif

#endif /* UNITYPES_ALLOC_H */
