/* SPDX-License-Identifier: MIT */
/* Workload RS1 of BENCHMARKS.md: replica set and clocks.
 *
 *   - a primary (id 1) with 4 replicas (11..14) under each strategy; each
 *     timed write is ut_replica_set_write, then one ack from every replica
 *     (in order: each replica acks every position; under chain and tree
 *     the non-targets hold it by forwarding), then one ready/advance;
 *   - figures: ns per ack (the whole loop divided by acks), allocations per
 *     ack after a 1000-write warm-up (counting allocator; must be 0);
 *   - check: durable == last == N at the end, else no figure;
 *   - clocks: HLC now and update in a loop; vector clock compare and merge
 *     at 8 and 64 entries (two clocks that differ in one entry), and each
 *     fast-path version of the compare compiled for this CPU on its own
 *     (src/replica/vclock_fast.h: what a CPU without the best one runs);
 *   - every figure: the median of the runs by the wall clock, its minimum,
 *     and the median by this thread's CPU time (on a shared machine the
 *     wall clock also counts time spent waiting for a core).
 *
 * Usage: bench_replica [-n N] [-r runs]   (default N = 10000000, 3 runs, median)
 *        bench_replica --callgrind        one run per part with N = 200000, for
 *        valgrind --tool=callgrind --toggle-collect='rs1_*'
 *        bench_replica -s NAME            one strategy only (instructions per
 *        strategy under callgrind), then the clocks
 *        bench_replica -c 8|64            the vector clocks at that size only,
 *        no HLC (instructions per compare under callgrind: 4N compares; valgrind
 *        does not run AVX-512, so there the compare takes the AVX2 version)
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unitypes.h>

#include "replica/vclock_fast.h" /* the compare's fast-path versions, timed alone */

static long g_allocs;

static void *count_malloc(void *ctx, size_t n)
{
    (void)ctx;
    g_allocs++;
    return malloc(n);
}
static void *count_realloc(void *ctx, void *p, size_t n)
{
    (void)ctx;
    g_allocs++;
    return realloc(p, n);
}
static void count_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* CPU time of this thread: on a machine shared with other busy processes
 * (the RS1 machine), the wall clock also counts the time the bench waited
 * for a core; this does not. Both are printed. */
static double cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t ids[4] = {11, 12, 13, 14};

static ut_replica_set_t *make(ut_replication_t s)
{
    ut_replica_set_config_t cfg;
    ut_replica_set_config_init(&cfg, UT_REPLICA_SET_CONFIG_VERSION);
    cfg.self_id = 1;
    cfg.replicas = ids;
    cfg.n_replicas = 4;
    cfg.strategy = s;
    cfg.semi_sync_acks = 2;
    ut_replica_set_t *h = NULL;
    if (ut_replica_set_new(&h, &cfg) != UT_OK)
        exit(1);
    return h;
}

static volatile uint64_t sink;

/* The timed part: n writes, 4 acks each. Returns 0 if the check failed. */
__attribute__((noinline)) int rs1_acks(ut_replica_set_t *h, uint64_t n)
{
    ut_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = UT_MSG_REPL_ACK;
    m.to = 1;
    uint64_t base = ut_replica_set_last(h);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t p;
        if (ut_replica_set_write(h, &p) != UT_OK)
            return 0;
        for (int r = 0; r < 4; r++) {
            m.from = ids[r];
            m.body.repl_ack.acked = p;
            m.body.repl_ack.applied = p;
            if (ut_replica_set_step(h, &m) != UT_OK)
                return 0;
        }
        ut_replica_ready_t rd;
        if (ut_replica_set_ready(h, &rd) != UT_OK)
            return 0;
        sink += rd.n_msgs;
        ut_replica_set_advance(h, &rd);
    }
    return ut_replica_set_durable(h) == base + n && ut_replica_set_last(h) == base + n;
}

__attribute__((noinline)) uint64_t rs1_hlc_now(ut_hlc_t *c, uint64_t n)
{
    uint64_t ts = 0;
    for (uint64_t i = 0; i < n; i++)
        ut_hlc_now(c, 1000000 + (i >> 4), &ts);
    return ts;
}

__attribute__((noinline)) uint64_t rs1_hlc_update(ut_hlc_t *c, uint64_t n)
{
    uint64_t ts = 0;
    for (uint64_t i = 0; i < n; i++)
        ut_hlc_update(c, 1000000 + (i >> 4), ((1000000 + (i >> 4)) << 16) | 3u, &ts);
    return ts;
}

__attribute__((noinline)) uint64_t rs1_vc_compare(const ut_vclock_t *a, const ut_vclock_t *b,
                                                  uint64_t n)
{
    uint64_t acc = 0;
    for (uint64_t i = 0; i < n; i++) {
        ut_clock_order_t o;
        ut_vclock_compare(a, b, &o);
        acc += (uint64_t)o;
    }
    return acc;
}

typedef int (*vc_fast_fn)(const ut_vclock_entry_t *, const ut_vclock_entry_t *, uint32_t);

/* One fast-path version of the compare alone (no dispatch, no walk): what
 * a CPU without the best version would run. */
__attribute__((noinline)) uint64_t rs1_vc_fast(vc_fast_fn f, const ut_vclock_t *a,
                                               const ut_vclock_t *b, uint64_t n)
{
    uint64_t acc = 0;
    for (uint64_t i = 0; i < n; i++)
        acc += (uint64_t)f(a->e, b->e, a->n);
    return acc;
}

__attribute__((noinline)) uint64_t rs1_vc_merge(ut_vclock_t *a, const ut_vclock_t *b, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        ut_vclock_merge(a, b);
    return a->n;
}

static int cmp_d(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], cmp_d);
    return v[n / 2];
}

int main(int argc, char **argv)
{
    uint64_t n = 10000000;
    int runs = 3;
    int callgrind = 0;
    int only = -1;
    int vc_only = 0;
    for (int i = 1; i < argc; i++) {
        ut_replication_t st;
        if (strcmp(argv[i], "-s") == 0 && i + 1 < argc &&
            ut_replication_parse(argv[i + 1], &st) == UT_OK) {
            only = (int)st;
            i++;
            continue;
        }
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            n = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
            vc_only = atoi(argv[++i]);
        else if (strcmp(argv[i], "--callgrind") == 0)
            callgrind = 1;
    }
    if (callgrind) {
        n = 200000;
        runs = 1;
    }
    if (runs < 1 || runs > 15)
        runs = 3;
    ut_allocator_t a = {NULL, count_malloc, count_realloc, count_free};
    ut_set_allocator(&a);

    printf("RS1 replica set: 4 replicas, N = %llu writes, 4 acks each, median of %d\n",
           (unsigned long long)n, runs);
    for (int s = UT_REPLICATION_SYNC; s <= UT_REPLICATION_TREE; s++) {
        if (only >= 0 && s != only)
            continue;
        double t[15], c[15];
        long allocs = 0;
        for (int r = 0; r < runs; r++) {
            ut_replica_set_t *h = make((ut_replication_t)s);
            if (!rs1_acks(h, 1000)) { /* warm-up: buffers reach their size */
                printf("%s: check failed\n", ut_replication_name((ut_replication_t)s));
                return 1;
            }
            g_allocs = 0;
            double t0 = now_ns(), c0 = cpu_ns();
            int ok = rs1_acks(h, n);
            c[r] = (cpu_ns() - c0) / ((double)n * 4.0);
            t[r] = (now_ns() - t0) / ((double)n * 4.0);
            allocs = g_allocs;
            ut_replica_set_free(h);
            if (!ok) {
                printf("%s: check failed\n", ut_replication_name((ut_replication_t)s));
                return 1;
            }
        }
        double med = median(t, runs);
        printf("  %-9s %6.1f ns/ack (min %.1f; cpu %.1f) (write + 4 acks + ready, per ack)  "
               "allocations/ack %.6f\n",
               ut_replication_name((ut_replication_t)s), med, t[0], median(c, runs),
               (double)allocs / ((double)n * 4.0));
    }

    uint64_t m = n * 4;
    double t[15], c[15];
/* Runs the statement `runs` times; t and c get ns per operation (wall, cpu). */
#define RS1_TIME(stmt)                                                                             \
    for (int r = 0; r < runs; r++) {                                                               \
        double t0 = now_ns(), c0 = cpu_ns();                                                       \
        stmt;                                                                                      \
        c[r] = (cpu_ns() - c0) / (double)m;                                                        \
        t[r] = (now_ns() - t0) / (double)m;                                                        \
    }
#define RS1_PRINT(fmt, ...)                                                                        \
    do {                                                                                           \
        double med = median(t, runs);                                                              \
        printf(fmt " %6.2f ns (min %.2f; cpu %.2f)\n", __VA_ARGS__, med, t[0], median(c, runs));   \
    } while (0)
    if (vc_only == 0) {
        ut_hlc_t hc;
        RS1_TIME(ut_hlc_init(&hc, 500); sink += rs1_hlc_now(&hc, m));
        RS1_PRINT("%s", "HLC now     ");
        RS1_TIME(ut_hlc_init(&hc, 500); sink += rs1_hlc_update(&hc, m));
        RS1_PRINT("%s", "HLC update  ");
    }
    for (int size = 8; size <= 64; size *= 8) {
        if (vc_only != 0 && size != vc_only)
            continue;
        ut_vclock_t x, y;
        ut_vclock_init(&x);
        for (int i = 1; i <= size; i++)
            ut_vclock_increment(&x, (uint64_t)i * 3);
        y = x;
        ut_vclock_increment(&y, 3); /* y after x */
        RS1_TIME(sink += rs1_vc_compare(&x, &y, m));
        RS1_PRINT("vclock compare %2d entries", size);
        {
            struct {
                const char *name;
                vc_fast_fn f;
            } fv[4];
            int nf = 0;
            fv[nf].name = "scalar", fv[nf++].f = ut__replica_vc_same_scalar;
#if UT__VC_X86
            fv[nf].name = "sse2", fv[nf++].f = ut__replica_vc_same_sse2;
            if (ut__replica_vc_have_avx2())
                fv[nf].name = "avx2", fv[nf++].f = ut__replica_vc_same_avx2;
            if (ut__replica_vc_have_avx512())
                fv[nf].name = "avx512", fv[nf++].f = ut__replica_vc_same_avx512;
#endif
            for (int k = 0; k < nf; k++) {
                RS1_TIME(sink += rs1_vc_fast(fv[k].f, &x, &y, m));
                RS1_PRINT("  fast path alone, %-6s", fv[k].name);
            }
        }
        ut_vclock_t z;
        RS1_TIME(z = x; sink += rs1_vc_merge(&z, &y, m));
        RS1_PRINT("vclock merge   %2d entries", size);
    }
    ut_set_allocator(NULL);
    return 0;
}
