/* SPDX-License-Identifier: MIT */
/* CRC32C (Castagnoli). The polynomial is the one iSCSI (RFC 3720 §B.4),
 * ext4 and SCTP use; x86 computes it in hardware since SSE4.2, which is why
 * the wire format picked it over the zlib CRC32. */
#include "internal.h"
#include "msg/codec_internal.h"
#include "msg/crc32c_table.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#    define UT__CRC32C_X86 1
#    include <nmmintrin.h>

#    include "msg/crc32c_shift.h"
#endif

static inline uint32_t ut__crc32c_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Slice-by-8: eight table lookups per 8 input bytes instead of one per byte
 * (Kounavis and Berry, "Novel Table Lookup-Based Algorithms for High-
 * Performance CRC Generation", 2008). */
uint32_t ut__msg_crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
    const uint32_t(*t)[256] = ut__crc32c_table;
    const unsigned char *p = buf;
    uint32_t c = ~crc;
    if (p == NULL)
        return crc;
    while (len > 0 && ((uintptr_t)p & 7u) != 0) {
        c = t[0][(c ^ *p++) & 0xffu] ^ (c >> 8);
        len--;
    }
    while (len >= 8) {
        uint32_t lo = c ^ ut__crc32c_le32(p);
        uint32_t hi = ut__crc32c_le32(p + 4);
        c = t[7][lo & 0xffu] ^ t[6][(lo >> 8) & 0xffu] ^ t[5][(lo >> 16) & 0xffu] ^ t[4][lo >> 24] ^
            t[3][hi & 0xffu] ^ t[2][(hi >> 8) & 0xffu] ^ t[1][(hi >> 16) & 0xffu] ^ t[0][hi >> 24];
        p += 8;
        len -= 8;
    }
    while (len > 0) {
        c = t[0][(c ^ *p++) & 0xffu] ^ (c >> 8);
        len--;
    }
    return ~c;
}

#ifdef UT__CRC32C_X86

bool ut__msg_crc32c_hw_available(void)
{
    /* Asked each time rather than cached: a cache would be global mutable
     * state, and the answer is one load of a libgcc/compiler-rt variable.
     * The init call (a no-op once done) makes the answer right even when the
     * library runs from another object's constructor, before libgcc's. */
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") != 0;
}

/* The crc32 instruction has a latency of 3 cycles and a throughput of 1 per
 * cycle, so one dependent chain uses a third of it. Long inputs are cut into
 * blocks of three equal parts whose CRCs run as three independent chains and
 * are merged with the zero-shift tables: CRC(A||B) = shift(CRC(A), |B|) ^
 * CRC(B) with the second register starting at 0 (CRC is linear over GF(2)).
 * The same idea as Intel's white paper "Fast CRC Computation for iSCSI
 * Polynomial Using CRC32 Instruction" (2011). */
#    define UT__CRC32C_LONG 1024u
#    define UT__CRC32C_SHORT 128u

static inline uint32_t ut__crc32c_shift(const uint32_t (*t)[256], uint32_t c)
{
    return t[0][c & 0xffu] ^ t[1][(c >> 8) & 0xffu] ^ t[2][(c >> 16) & 0xffu] ^ t[3][c >> 24];
}

__attribute__((target("sse4.2"))) static inline uint64_t ut__crc32c_load64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8); /* x86 is little-endian: the CRC consumes bytes in order */
    return v;
}

__attribute__((target("sse4.2"))) static uint32_t ut__crc32c_hw_blocks(uint32_t c,
                                                                       const unsigned char **pp,
                                                                       size_t *plen, size_t part,
                                                                       const uint32_t (*shift)[256])
{
    const unsigned char *p = *pp;
    size_t len = *plen;
    while (len >= 3 * part) {
        uint64_t c0 = c, c1 = 0, c2 = 0;
        for (size_t i = 0; i < part; i += 8) {
            c0 = _mm_crc32_u64(c0, ut__crc32c_load64(p + i));
            c1 = _mm_crc32_u64(c1, ut__crc32c_load64(p + part + i));
            c2 = _mm_crc32_u64(c2, ut__crc32c_load64(p + 2 * part + i));
        }
        c = ut__crc32c_shift(shift, (uint32_t)c0) ^ (uint32_t)c1;
        c = ut__crc32c_shift(shift, c) ^ (uint32_t)c2;
        p += 3 * part;
        len -= 3 * part;
    }
    *pp = p;
    *plen = len;
    return c;
}

__attribute__((target("sse4.2"))) uint32_t ut__msg_crc32c_hw(uint32_t crc, const void *buf,
                                                             size_t len)
{
    const unsigned char *p = buf;
    uint32_t c = ~crc;
    if (p == NULL)
        return crc;
    while (len > 0 && ((uintptr_t)p & 7u) != 0) {
        c = _mm_crc32_u8(c, *p++);
        len--;
    }
    c = ut__crc32c_hw_blocks(c, &p, &len, UT__CRC32C_LONG, ut__crc32c_shift_1024);
    c = ut__crc32c_hw_blocks(c, &p, &len, UT__CRC32C_SHORT, ut__crc32c_shift_128);
    uint64_t c64 = c;
    while (len >= 8) {
        c64 = _mm_crc32_u64(c64, ut__crc32c_load64(p));
        p += 8;
        len -= 8;
    }
    c = (uint32_t)c64;
    while (len > 0) {
        c = _mm_crc32_u8(c, *p++);
        len--;
    }
    return ~c;
}

#else

bool ut__msg_crc32c_hw_available(void)
{
    return false;
}

uint32_t ut__msg_crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
    return ut__msg_crc32c_sw(crc, buf, len);
}

#endif

uint32_t ut_crc32c(uint32_t crc, const void *buf, size_t len)
{
    if (ut__msg_crc32c_hw_available())
        return ut__msg_crc32c_hw(crc, buf, len);
    return ut__msg_crc32c_sw(crc, buf, len);
}
