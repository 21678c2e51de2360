/* SPDX-License-Identifier: MIT */
/* A counting allocator for tests: fails the k-th allocation (1-based) from
 * the moment it is armed, so every allocation site's failure path can be
 * driven, and counts live blocks so leaks show up as a non-zero balance. */
#ifndef UT_TEST_ALLOC_H
#define UT_TEST_ALLOC_H

#include <stdlib.h>

#include <unitypes.h>

typedef struct test_alloc {
    long calls;   /* malloc + realloc calls since armed */
    long fail_at; /* 0 = never fail; otherwise fail call number fail_at */
    long live;    /* allocated - freed blocks */
    long failures;
} test_alloc_t;

static void *test_alloc_malloc(void *ctx, size_t n)
{
    test_alloc_t *t = ctx;
    t->calls++;
    if (t->fail_at != 0 && t->calls == t->fail_at) {
        t->failures++;
        return NULL;
    }
    void *p = malloc(n);
    if (p != NULL)
        t->live++;
    return p;
}

static void *test_alloc_realloc(void *ctx, void *p, size_t n)
{
    test_alloc_t *t = ctx;
    t->calls++;
    if (t->fail_at != 0 && t->calls == t->fail_at) {
        t->failures++;
        return NULL;
    }
    void *q = realloc(p, n);
    if (q != NULL && p == NULL)
        t->live++;
    return q;
}

static void test_alloc_free(void *ctx, void *p)
{
    test_alloc_t *t = ctx;
    if (p != NULL)
        t->live--;
    free(p);
}

/* Install a counting allocator that fails call number fail_at (0: never). */
static inline void test_alloc_install(test_alloc_t *t, long fail_at)
{
    t->calls = 0;
    t->fail_at = fail_at;
    t->live = 0;
    t->failures = 0;
    ut_allocator_t a = {t, test_alloc_malloc, test_alloc_realloc, test_alloc_free};
    (void)ut_set_allocator(&a);
}

static inline void test_alloc_uninstall(void)
{
    (void)ut_set_allocator(NULL);
}

#endif
