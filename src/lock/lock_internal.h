/* SPDX-License-Identifier: MIT */
/* Private pieces shared by the lock module's sources: little-endian helpers
 * and the byte-string hash map that the table and the fence both use. */
#ifndef UT_LOCK_INTERNAL_H
#define UT_LOCK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Bytes of a config struct of each version: a caller built against an
 * older header passes a shorter struct (STYLE.md C: fields are only ever
 * appended). */
#define UT__LOCK_CFG_END(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

#define UT__LOCK_TABLE_MAGIC 0x4c6b5462u /* "LkTb" */
#define UT__LOCK_MAGIC 0x4c6f636bu       /* "Lock" */
#define UT__FENCE_MAGIC 0x46656e63u      /* "Fenc" */

static inline void ut__lock_put16(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}
static inline void ut__lock_put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static inline void ut__lock_put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint32_t ut__lock_get16(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8);
}
static inline uint32_t ut__lock_get32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t ut__lock_get64(const unsigned char *p)
{
    return (uint64_t)ut__lock_get32(p) | ((uint64_t)ut__lock_get32(p + 4) << 32);
}

/* Every map entry starts with this key. Entries are never removed from a
 * map (a table keeps its resources and sessions; restore builds a new map),
 * so linear probing needs no tombstones. */
typedef struct ut__lock_key {
    uint64_t hash;
    uint32_t len;
    unsigned char *name;
} ut__lock_key_t;

typedef struct ut__lock_map {
    ut__lock_key_t **slots;
    size_t cap; /* power of two, or 0 */
    size_t n;
} ut__lock_map_t;

uint64_t ut__lock_hash(const void *p, size_t len);
ut__lock_key_t *ut__lock_map_find(const ut__lock_map_t *m, uint64_t hash, const void *name,
                                  size_t len);
/* Makes room for one more entry (load <= 1/2); UT_OK or UT_ENOMEM (map unchanged). */
int ut__lock_map_reserve(ut__lock_map_t *m);
/* Inserts after a successful reserve; cannot fail. */
void ut__lock_map_insert(ut__lock_map_t *m, ut__lock_key_t *k);
void ut__lock_map_free(ut__lock_map_t *m);

#endif
