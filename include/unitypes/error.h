/* SPDX-License-Identifier: MIT */
/**
 * @file unitypes/error.h
 * @brief Error codes shared by every module.
 *
 * Every fallible function returns `int`: #UT_OK (0) or one of the negative
 * codes below. Codes have fixed values; they are never renumbered or reused,
 * and new ones are appended.
 */
#ifndef UNITYPES_ERROR_H
#define UNITYPES_ERROR_H

#include "unitypes/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Error codes. @since 0.1.0 */
typedef enum ut_error {
    UT_OK = 0,           /**< Success. */
    UT_EINVAL = -1,      /**< Invalid argument (NULL, bad length, out-of-range value). */
    UT_ENOMEM = -2,      /**< The allocator failed; the object is unchanged. */
    UT_ESTATE = -3,      /**< The protocol forbids this transition in the current state. */
    UT_ENOTFOUND = -4,   /**< No such item (node, key, resource, transaction). */
    UT_EEXIST = -5,      /**< The item already exists. */
    UT_ERANGE = -6,      /**< A value or buffer is outside the accepted range / too small. */
    UT_EFULL = -7,       /**< A bounded queue or table is full. */
    UT_EBUSY = -8,       /**< The resource is busy (held, in flight); try later. */
    UT_ETIMEDOUT = -9,   /**< A deadline passed. */
    UT_ECORRUPT = -10,   /**< Malformed or inconsistent bytes or persisted state. */
    UT_EVERSION = -11,   /**< Unknown config struct version or wire format major version. */
    UT_ENOTLEADER = -12, /**< Only the leader can do this; the leader accessor names it. */
    UT_ESTALE = -13      /**< The input is from an older term/epoch and was ignored. */
} ut_error_t;

/**
 * @brief Human-readable description of an error code.
 * @param[in] code A UT_E* code (or any int).
 * @return A static string; never NULL, also for unknown codes.
 * @since 0.1.0
 */
UT_API const char *ut_strerror(int code);

/**
 * @brief Symbolic name of an error code ("UT_EINVAL").
 * @param[in] code A UT_E* code (or any int).
 * @return A static string; "UT_E?" for unknown codes; never NULL.
 * @since 0.1.0
 */
UT_API const char *ut_err_name(int code);

#ifdef __cplusplus
}
#endif

#endif /* UNITYPES_ERROR_H */
