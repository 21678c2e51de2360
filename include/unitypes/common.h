/* SPDX-License-Identifier: MIT */
/**
 * @file unitypes/common.h
 * @brief Export macro, C++ guards and the runtime version functions.
 *
 * Threading rule for the whole library: a handle is used by one thread at a
 * time; distinct handles share nothing and may live on different threads.
 * Exceptions are documented on the function concerned.
 */
#ifndef UNITYPES_COMMON_H
#define UNITYPES_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "unitypes/version.h"

/**
 * @def UT_API
 * @brief Marks a declaration as part of the exported ABI.
 *
 * The library is built with hidden visibility; only UT_API names are
 * exported from the shared object.
 */
#if defined(_WIN32) && defined(UT_SHARED)
#    if defined(UT_BUILDING)
#        define UT_API __declspec(dllexport)
#    else
#        define UT_API __declspec(dllimport)
#    endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#    define UT_API __attribute__((visibility("default")))
#else
#    define UT_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Version of the library actually linked, as UT_VERSION_NUMBER.
 * @return MAJOR*10000 + MINOR*100 + PATCH of the running library.
 * @since 0.1.0
 */
UT_API unsigned ut_version_number(void);

/**
 * @brief Version of the library actually linked, as "MAJOR.MINOR.PATCH".
 * @return A static string; never NULL.
 * @since 0.1.0
 */
UT_API const char *ut_version_string(void);

#ifdef __cplusplus
}
#endif

#endif /* UNITYPES_COMMON_H */
