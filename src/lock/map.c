/* SPDX-License-Identifier: MIT */
#include "lock/lock_internal.h"

#include "internal.h"

uint64_t ut__lock_hash(const void *p, size_t len)
{
    /* Eight bytes per multiply (names are short: this is on the acquire
     * path), then splitmix64's finaliser so that the low bits that pick a
     * slot depend on every byte. */
    const unsigned char *s = p;
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)len;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
        s += 8;
        len -= 8;
    }
    if (len > 0) {
        uint64_t w = 0;
        memcpy(&w, s, len);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h;
}

ut__lock_key_t *ut__lock_map_find(const ut__lock_map_t *m, uint64_t hash, const void *name,
                                  size_t len)
{
    if (m->cap == 0)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)hash & mask;; i = (i + 1) & mask) {
        ut__lock_key_t *k = m->slots[i];
        if (k == NULL)
            return NULL;
        if (k->hash == hash && k->len == len && memcmp(k->name, name, len) == 0)
            return k;
    }
}

static void map_place(ut__lock_key_t **slots, size_t cap, ut__lock_key_t *k)
{
    size_t mask = cap - 1;
    size_t i = (size_t)k->hash & mask;
    while (slots[i] != NULL)
        i = (i + 1) & mask;
    slots[i] = k;
}

int ut__lock_map_reserve(ut__lock_map_t *m)
{
    if ((m->n + 1) * 2 <= m->cap)
        return UT_OK;
    size_t cap = m->cap ? m->cap * 2 : 16;
    ut__lock_key_t **slots = ut__calloc(cap, sizeof *slots);
    if (slots == NULL)
        return UT_ENOMEM;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i] != NULL)
            map_place(slots, cap, m->slots[i]);
    ut__free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return UT_OK;
}

void ut__lock_map_insert(ut__lock_map_t *m, ut__lock_key_t *k)
{
    map_place(m->slots, m->cap, k);
    m->n++;
}

void ut__lock_map_free(ut__lock_map_t *m)
{
    ut__free(m->slots);
    m->slots = NULL;
    m->cap = m->n = 0;
}
