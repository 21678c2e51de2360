/* SPDX-License-Identifier: MIT */
/* Workload L1 (BENCHMARKS.md): uncontended acquire + release of one
 * resource by one holder through the lock table (encoded commands applied
 * with ut_lock_table_apply), 10,000,000 pairs: ns per pair (median of 5
 * runs) and allocations per pair; then 1,000,000 resources with 16 holders
 * contending through the FIFO queue: grants per second. The reference is a
 * naive hash-table lock table (chained, strdup'd names, malloc per held
 * lock), measured in the same run on the same uncontended workload.
 *
 *   bench_lock               full run
 *   bench_lock --callgrind   100000 pairs, for
 *       valgrind --tool=callgrind --toggle-collect=l1_pairs bench/bench_lock --callgrind */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unitypes.h>

#define RUNS 5
#define PAIRS 10000000L
#define NRES 1000000L
#define HOLDERS 16

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static long allocs;
static void *c_malloc(void *ctx, size_t n)
{
    (void)ctx;
    allocs++;
    return malloc(n);
}
static void *c_realloc(void *ctx, void *p, size_t n)
{
    (void)ctx;
    allocs++;
    return realloc(p, n);
}
static void c_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

static size_t enc(unsigned char *buf, ut_lock_op_t op, const char *res, size_t rlen,
                  const char *who, uint64_t ttl, uint64_t wait)
{
    ut_lock_cmd_t c = {op, res, rlen, who, strlen(who), ttl, wait, 0, 0};
    size_t n = 0;
    if (ut_lock_cmd_encode(&c, buf, 128, &n) != UT_OK)
        exit(1);
    return n;
}

static volatile uint64_t sink;

__attribute__((noinline)) void l1_pairs(ut_lock_table_t *t, const unsigned char *acq, size_t na,
                                        const unsigned char *rel, size_t nr, long pairs)
{
    ut_lock_reply_t rp;
    for (long i = 0; i < pairs; i++) {
        ut_lock_table_apply(t, acq, na, (uint64_t)i, &rp);
        sink += rp.token;
        ut_lock_table_apply(t, rel, nr, (uint64_t)i, &rp);
    }
}

/* ---- naive reference: chained hash table, malloc per held lock ---- */
typedef struct nlock {
    struct nlock *next;
    char *res, *holder;
    uint64_t token, expires;
} nlock_t;
#define NBUCKETS 4096
static nlock_t *nb[NBUCKETS];
static uint64_t ntoken;

static unsigned nhash(const char *s)
{
    unsigned h = 5381;
    while (*s)
        h = h * 33 + (unsigned char)*s++;
    return h % NBUCKETS;
}

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    memcpy(p, s, n);
    return p;
}

static int naive_acquire(const char *res, const char *holder, uint64_t now, uint64_t ttl)
{
    unsigned b = nhash(res);
    for (nlock_t *l = nb[b]; l; l = l->next)
        if (strcmp(l->res, res) == 0)
            return l->expires > now ? 2 : 0;
    nlock_t *l = malloc(sizeof *l);
    l->res = dupstr(res);
    l->holder = dupstr(holder);
    l->token = ++ntoken;
    l->expires = now + ttl;
    l->next = nb[b];
    nb[b] = l;
    return 0;
}

static int naive_release(const char *res, const char *holder)
{
    unsigned b = nhash(res);
    for (nlock_t **pp = &nb[b]; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->res, res) == 0) {
            nlock_t *l = *pp;
            if (strcmp(l->holder, holder) != 0)
                return -3;
            *pp = l->next;
            free(l->res);
            free(l->holder);
            free(l);
            return 0;
        }
    return -4;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static ut_lock_table_t *mk(void)
{
    ut_lock_table_config_t cfg;
    ut_lock_table_config_init(&cfg, UT_LOCK_TABLE_CONFIG_VERSION);
    ut_lock_table_t *t = NULL;
    if (ut_lock_table_new(&t, &cfg) != UT_OK)
        exit(1);
    return t;
}

int main(int argc, char **argv)
{
    unsigned char acq[128], rel[128];
    size_t na = enc(acq, UT_LOCK_OP_ACQUIRE, "orders/42", 9, "worker-7", 30000, 0);
    size_t nr = enc(rel, UT_LOCK_OP_RELEASE, "orders/42", 9, "worker-7", 0, 0);
    if (argc > 1 && strcmp(argv[1], "--callgrind") == 0) {
        ut_lock_table_t *t = mk();
        l1_pairs(t, acq, na, rel, nr, 1000); /* warm: entries exist */
        l1_pairs(t, acq, na, rel, nr, 100000);
        ut_lock_table_free(t);
        return 0;
    }
    double ours[RUNS], ref[RUNS];
    long ours_allocs = 0;
    for (int r = 0; r < RUNS; r++) {
        ut_lock_table_t *t = mk();
        l1_pairs(t, acq, na, rel, nr, 1000);
        ut_allocator_t a = {NULL, c_malloc, c_realloc, c_free};
        allocs = 0;
        ut_set_allocator(&a);
        double t0 = now_ns();
        l1_pairs(t, acq, na, rel, nr, PAIRS);
        ours[r] = (now_ns() - t0) / PAIRS;
        ut_set_allocator(NULL);
        ours_allocs += allocs;
        ut_lock_table_free(t);

        t0 = now_ns();
        for (long i = 0; i < PAIRS; i++) {
            if (naive_acquire("orders/42", "worker-7", (uint64_t)i, 30000) != 0)
                exit(1);
            sink += ntoken;
            naive_release("orders/42", "worker-7");
        }
        ref[r] = (now_ns() - t0) / PAIRS;
    }
    qsort(ours, RUNS, sizeof *ours, cmpd);
    qsort(ref, RUNS, sizeof *ref, cmpd);
    printf("L1 uncontended acquire+release (%ld pairs, median of %d runs)\n", PAIRS, RUNS);
    printf("  ut_lock_table : %6.1f ns/pair (min %.1f, max %.1f), %.3f allocations/pair\n",
           ours[RUNS / 2], ours[0], ours[RUNS - 1], (double)ours_allocs / (PAIRS * RUNS));
    printf("  naive hash    : %6.1f ns/pair (min %.1f, max %.1f)\n", ref[RUNS / 2], ref[0],
           ref[RUNS - 1]);
    printf("  ratio naive/ut: %.2f\n", ref[RUNS / 2] / ours[RUNS / 2]);

    /* Contended: 1,000,000 resources exist; in each round all 16 holders
     * ask for one resource (15 queue), then each holder releases in turn
     * and the table grants the next waiter (FIFO). */
    ut_lock_table_t *t = mk();
    char name[32];
    unsigned char buf[128];
    ut_lock_reply_t rp;
    double t0 = now_ns();
    for (long i = 0; i < NRES; i++) {
        int n = snprintf(name, sizeof name, "res/%ld", i);
        size_t l = enc(buf, UT_LOCK_OP_ACQUIRE, name, (size_t)n, "h0", 30000, 0);
        ut_lock_table_apply(t, buf, l, 0, &rp);
        l = enc(buf, UT_LOCK_OP_RELEASE, name, (size_t)n, "h0", 0, 0);
        ut_lock_table_apply(t, buf, l, 0, &rp);
    }
    double fill = (now_ns() - t0) / 1e9;
    char who[HOLDERS][8];
    for (int h = 0; h < HOLDERS; h++)
        snprintf(who[h], sizeof who[h], "h%d", h);
    uint64_t rng = 0x9e3779b97f4a7c15ull, grants = 0, now = 1;
    long rounds = 200000;
    t0 = now_ns();
    for (long k = 0; k < rounds; k++, now++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        int n = snprintf(name, sizeof name, "res/%ld", (long)(rng % NRES));
        for (int h = 0; h < HOLDERS; h++) {
            size_t l = enc(buf, UT_LOCK_OP_ACQUIRE, name, (size_t)n, who[h], 30000, 10000);
            ut_lock_table_apply(t, buf, l, now, &rp);
            if (rp.result == UT_LOCK_ACQUIRED && !rp.queued)
                grants++;
        }
        for (int h = 0; h < HOLDERS; h++) {
            size_t l = enc(buf, UT_LOCK_OP_RELEASE, name, (size_t)n, who[h], 0, 0);
            ut_lock_table_apply(t, buf, l, now, &rp);
            ut_lock_event_t ev;
            while (ut_lock_table_next_event(t, &ev) == UT_OK)
                grants += ev.type == UT_LOCK_EV_GRANTED;
        }
    }
    double secs = (now_ns() - t0) / 1e9;
    printf("L1 contended: %ld resources (created in %.2f s), %d holders, %ld rounds\n", NRES, fill,
           HOLDERS, rounds);
    printf("  %llu grants in %.2f s: %.2f M grants/s (%.0f ns per grant, incl. encode)\n",
           (unsigned long long)grants, secs, (double)grants / secs / 1e6,
           secs * 1e9 / (double)grants);
    ut_lock_table_free(t);
    return 0;
}
