/* SPDX-License-Identifier: MIT */
/* Private declarations of the message codec, shared by codec.c, crc32c.c and
 * the white-box tests (tests/test_msg.c). */
#ifndef UNITYPES_CODEC_INTERNAL_H
#define UNITYPES_CODEC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Both CRC32C implementations, with ut_crc32c()'s chaining convention, so the
 * tests can check each one whatever CPU they run on. */
uint32_t ut__msg_crc32c_sw(uint32_t crc, const void *buf, size_t len);

/* True when ut__msg_crc32c_hw() may be called on this CPU. */
bool ut__msg_crc32c_hw_available(void);

/* SSE4.2 crc32 instruction; only call when ut__msg_crc32c_hw_available(). On
 * builds without x86 support this is the table version. */
uint32_t ut__msg_crc32c_hw(uint32_t crc, const void *buf, size_t len);

#endif
