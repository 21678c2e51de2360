/* SPDX-License-Identifier: MIT */
/* The seeded generator every module draws from (DESIGN §1: no rand(), one
 * seed replays one run). splitmix64: one 64-bit word of state, passes
 * BigCrush, and is cheap enough for per-message use. */
#ifndef UT_COMMON_RAND_H
#define UT_COMMON_RAND_H

#include <stdint.h>

/* State for a node: the seed mixed with the node id, so that nodes given
 * the same seed draw different streams. */
static inline uint64_t ut__rand_seed(uint64_t seed, uint64_t id)
{
    return seed ^ (id * 0xd6e8feb86659fd93ull);
}

static inline uint64_t ut__rand_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* In [0, n) for n > 0 (modulo: the bias is below n / 2^64, nothing for
 * the small n used here). Returns 0 for n == 0. */
static inline uint64_t ut__rand_below(uint64_t *state, uint64_t n)
{
    return n == 0 ? 0 : ut__rand_next(state) % n;
}

#endif
