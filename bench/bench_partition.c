/* SPDX-License-Identifier: MIT */
/* P1 (../shared/BENCHMARKS.md): partition lookup and balance. For 100 and
 * 1,000 nodes and each placement algorithm: ns per lookup (median of 5),
 * peak/mean load over nodes, keys moved when a node is added and when one
 * that is not the last is removed, against the ideal. Peers in the same
 * run: a straight jump hash, a straight 160-point ring (binary search) and,
 * when built with libmemcached, its ketama (MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED
 * through memcached_generate_hash).
 *
 * usage: bench_partition [keys]            (default 1,000,000; P1 says 10M)
 *        bench_partition --range           (only the 1,000,000-range lookup)
 *        bench_partition --callgrind ALGO N [LOOKUPS]  (ALGO: ring jump maglev
 *        hrw ring160 jumppeer ketama range; default 100,000 lookups; run with
 *        LOOKUPS and with 0 under callgrind, divide the difference) */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#define _DEFAULT_SOURCE         /* mmap flags, madvise */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/mman.h>

#include "internal.h"
#include "partition/partition_internal.h"

#ifdef UT_BENCH_LIBMEMCACHED
#    include <libmemcached/memcached.h>
#endif

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static uint64_t key_hash(uint64_t i)
{
    uint8_t b[8];
    for (int k = 0; k < 8; k++)
        b[k] = (uint8_t)(i >> (8 * k));
    return ut_partition_hash(b, 8, 0);
}

/* --- peers: straight implementations ------------------------------------ */

typedef struct ring160 {
    uint64_t *h;
    uint32_t *node;
    size_t n;
} ring160_t;

static int cmp_pt(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

static void ring160_build(ring160_t *r, const ut_partition_node_t *nodes, size_t n)
{
    r->n = n * 160;
    uint64_t *pts = malloc(r->n * 2 * sizeof *pts);
    for (size_t i = 0; i < n; i++)
        for (size_t v = 0; v < 160; v++) {
            pts[2 * (i * 160 + v)] = key_hash(nodes[i].id * 1000003u + v) ^ 0x5bd1e995u;
            pts[2 * (i * 160 + v) + 1] = i;
        }
    qsort(pts, r->n, 2 * sizeof *pts, cmp_pt);
    r->h = malloc(r->n * sizeof *r->h);
    r->node = malloc(r->n * sizeof *r->node);
    for (size_t i = 0; i < r->n; i++) {
        r->h[i] = pts[2 * i];
        r->node[i] = (uint32_t)pts[2 * i + 1];
    }
    free(pts);
}

static uint32_t ring160_pick(const ring160_t *r, uint64_t h)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        if (r->h[m] < h)
            lo = m + 1;
        else
            hi = m;
    }
    return r->node[lo == r->n ? 0 : lo];
}

static void ring160_free(ring160_t *r)
{
    free(r->h);
    free(r->node);
}

/* --- one "algorithm" behind one interface -------------------------------- */

enum { A_RING, A_JUMP, A_MAGLEV, A_HRW, A_RING160, A_JUMP_PEER, A_KETAMA, A_COUNT };
static const char *names[A_COUNT] = {
    "ut ring (160 vn, O(1) index)", "ut jump",         "ut maglev (M=65537)",      "ut rendezvous",
    "peer: 160-point ring",         "peer: jump hash", "peer: libmemcached ketama"};

typedef struct algo {
    int kind;
    ut__partition_place_t pl;
    ring160_t r;
    uint32_t n;
#ifdef UT_BENCH_LIBMEMCACHED
    memcached_st *mc;
#endif
} algo_t;

static int algo_build(algo_t *a, int kind, const ut_partition_node_t *nodes, size_t n)
{
    memset(a, 0, sizeof *a);
    a->kind = kind;
    a->n = (uint32_t)n;
    switch (kind) {
    case A_RING:
        return ut__partition_place_build(&a->pl, UT_PARTITION_ALGO_RING, nodes, n, 160, 65537);
    case A_JUMP:
        return ut__partition_place_build(&a->pl, UT_PARTITION_ALGO_JUMP, nodes, n, 160, 65537);
    case A_MAGLEV:
        return ut__partition_place_build(&a->pl, UT_PARTITION_ALGO_MAGLEV, nodes, n, 160, 65537);
    case A_HRW:
        return ut__partition_place_build(&a->pl, UT_PARTITION_ALGO_RENDEZVOUS, nodes, n, 160,
                                         65537);
    case A_RING160:
        ring160_build(&a->r, nodes, n);
        return 0;
    case A_JUMP_PEER:
        return 0;
    case A_KETAMA:
#ifdef UT_BENCH_LIBMEMCACHED
        a->mc = memcached_create(NULL);
        memcached_behavior_set(a->mc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1);
        for (size_t i = 0; i < n; i++) {
            char host[64];
            snprintf(host, sizeof host, "node-%llu", (unsigned long long)nodes[i].id);
            memcached_server_add_with_weight(a->mc, host, 11211, nodes[i].weight);
        }
        return 0;
#else
        return -1;
#endif
    }
    return -1;
}

static void algo_free(algo_t *a)
{
    ut__partition_place_free(&a->pl);
    ring160_free(&a->r);
#ifdef UT_BENCH_LIBMEMCACHED
    if (a->mc != NULL)
        memcached_free(a->mc);
#endif
}

/* Node *id* of key i (ids, not indexes, so that sets can be compared). */
static inline uint64_t algo_pick(const algo_t *a, const ut_partition_node_t *nodes, uint64_t i)
{
    switch (a->kind) {
    case A_RING160:
        return nodes[ring160_pick(&a->r, key_hash(i))].id;
    case A_JUMP_PEER: { /* Lamping & Veach, figure 1, as users paste it */
        uint64_t key = key_hash(i);
        int64_t b = -1, j = 0;
        while (j < (int64_t)a->n) {
            b = j;
            key = key * 2862933555777941757ull + 1;
            j = (int64_t)((double)(b + 1) * ((double)(1ll << 31) / (double)((key >> 33) + 1)));
        }
        return nodes[b].id;
    }
#ifdef UT_BENCH_LIBMEMCACHED
    case A_KETAMA: {
        uint8_t b[8];
        for (int k = 0; k < 8; k++)
            b[k] = (uint8_t)(i >> (8 * k));
        return nodes[memcached_generate_hash(a->mc, (const char *)b, 8)].id;
    }
#endif
    default:
        return nodes[ut__partition_place_pick(&a->pl, key_hash(i))].id;
    }
}

static volatile uint64_t sink;

static double time_lookups(const algo_t *a, const ut_partition_node_t *nodes, uint64_t m)
{
    double runs[5];
    for (int r = 0; r < 5; r++) {
        uint64_t acc = 0;
        double t0 = now_ns();
        for (uint64_t i = 0; i < m; i++)
            acc += algo_pick(a, nodes, i * 7919u + (uint64_t)r);
        runs[r] = (now_ns() - t0) / (double)m;
        sink += acc;
    }
    qsort(runs, 5, sizeof runs[0], cmp_d);
    return runs[2];
}

static size_t find(const ut_partition_node_t *nodes, size_t n, uint64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (nodes[i].id == id)
            return i;
    return n;
}

/* The product path: CONSISTENT_HASH with P token ranges placed on the ring
 * with bounded load, looked up with ut_partitioner_primary(); membership
 * through plans. */
static ut_partitioner_t *ch_map(const ut_partition_node_t *nodes, size_t n, uint32_t parts)
{
    ut_partitioner_config_t c;
    ut_partitioner_config_init(&c, UT_PARTITIONER_CONFIG_VERSION);
    c.strategy = UT_PARTITION_CONSISTENT_HASH;
    c.algorithm = UT_PARTITION_ALGO_RING;
    c.partitions = parts;
    c.load_epsilon = 0.05;
    c.nodes = nodes;
    c.n_nodes = n;
    ut_partitioner_t *h = NULL;
    if (ut_partitioner_new(&h, &c) != UT_OK)
        return NULL;
    return h;
}

static uint64_t pmap(const ut_partitioner_t *h, uint64_t i)
{
    uint8_t b[8];
    for (int k = 0; k < 8; k++)
        b[k] = (uint8_t)(i >> (8 * k));
    uint64_t o = 0;
    ut_partitioner_primary(h, b, 8, &o);
    return o;
}

static void run_partitioner(const ut_partition_node_t *nodes, size_t n, uint64_t keys,
                            uint32_t *count, uint32_t parts)
{
    ut_partitioner_t *h = ch_map(nodes, n, parts), *add = ch_map(nodes, n, parts),
                     *rm = ch_map(nodes, n, parts);
    ut_partition_plan_t *pl;
    ut_partitioner_plan_add(add, &nodes[n], &pl);
    ut_partitioner_apply(add, pl);
    ut_partition_plan_free(pl);
    ut_partitioner_plan_remove(rm, nodes[n / 2].id, &pl);
    ut_partitioner_apply(rm, pl);
    ut_partition_plan_free(pl);
    double runs[5];
    for (int r = 0; r < 5; r++) {
        uint64_t acc = 0;
        double t0 = now_ns();
        for (uint64_t i = 0; i < 1000000; i++)
            acc += pmap(h, i * 7919u + (uint64_t)r);
        runs[r] = (now_ns() - t0) / 1e6;
        sink += acc;
    }
    qsort(runs, 5, sizeof runs[0], cmp_d);
    memset(count, 0, (n + 1) * sizeof *count);
    uint64_t mv_add = 0, mv_rm = 0;
    for (uint64_t i = 0; i < keys; i++) {
        uint64_t o = pmap(h, i);
        count[o - 1]++;
        mv_add += pmap(add, i) != o;
        mv_rm += pmap(rm, i) != o;
    }
    uint32_t peak = 0;
    for (size_t i = 0; i < n; i++)
        peak = count[i] > peak ? count[i] : peak;
    char name[64];
    snprintf(name, sizeof name, "ut partitioner P=%u eps=.05", (unsigned)parts);
    printf("%-30s %9.1f %9.3f %13.3f %13.3f\n", name, runs[2], peak / ((double)keys / (double)n),
           (double)mv_add / ((double)keys / (double)(n + 1)),
           (double)mv_rm / ((double)keys / (double)n));
    ut_partitioner_free(h);
    ut_partitioner_free(add);
    ut_partitioner_free(rm);
}

static void run(size_t n, uint64_t keys)
{
    ut_partition_node_t *nodes = malloc((n + 1) * sizeof *nodes);
    ut_partition_node_t *minus = malloc(n * sizeof *nodes);
    for (size_t i = 0; i < n + 1; i++) {
        nodes[i].id = 1 + i;
        nodes[i].weight = 1;
        nodes[i].zone = 0;
    }
    size_t gone = n / 2; /* not the last */
    for (size_t i = 0, k = 0; i < n; i++)
        if (i != gone)
            minus[k++] = nodes[i];
    uint32_t *count = malloc((n + 1) * sizeof *count);
    printf("\n%zu nodes, %llu keys (8-byte LE 0..N-1, ut_partition_hash):\n", n,
           (unsigned long long)keys);
    printf("%-30s %9s %9s %13s %13s\n", "algorithm", "ns/lookup", "peak/mean", "moved add/ideal",
           "moved rm/ideal");
    double ring_ns = 0, ns_by[A_COUNT] = {0};
    for (int kind = 0; kind < A_COUNT; kind++) {
        algo_t a, add, rm;
        /* libmemcached's continuum holds MEMCACHED_CONTINUUM_SIZE points:
         * 100 servers at most (it asserts beyond). */
        if (kind == A_KETAMA && n > 100) {
            printf("%-30s n/a: libmemcached's ketama continuum holds at most 100 servers\n",
                   names[kind]);
            continue;
        }
        bool no_add = kind == A_KETAMA && n + 1 > 100;
        if (algo_build(&a, kind, nodes, n) != 0) {
            printf("%-30s not built in (libmemcached-dev not found at configure time)\n",
                   names[kind]);
            continue;
        }
        if (no_add)
            algo_build(&add, kind, nodes, n);
        else
            algo_build(&add, kind, nodes, n + 1);
        algo_build(&rm, kind, minus, n - 1);
        /* Rendezvous is O(n) per lookup: sample fewer keys for it. */
        uint64_t k = keys;
        if (kind == A_HRW && n >= 1000)
            k = keys / 10;
        uint64_t tm = kind == A_HRW ? 20000 : 1000000;
        double ns = time_lookups(&a, nodes, tm);
        ns_by[kind] = ns;
        if (kind == A_RING)
            ring_ns = ns;
        memset(count, 0, (n + 1) * sizeof *count);
        uint64_t mv_add = 0, mv_rm = 0;
        for (uint64_t i = 0; i < k; i++) {
            uint64_t o = algo_pick(&a, nodes, i);
            count[find(nodes, n, o)]++;
            mv_add += algo_pick(&add, nodes, i) != o;
            mv_rm += algo_pick(&rm, minus, i) != o;
        }
        uint32_t peak = 0;
        for (size_t i = 0; i < n; i++)
            peak = count[i] > peak ? count[i] : peak;
        double mean = (double)k / (double)n;
        double ideal_add = (double)k / (double)(n + 1), ideal_rm = (double)k / (double)n;
        if (no_add)
            printf("%-30s %9.1f %9.3f %13s %13.3f  (101 servers: over its limit)\n", names[kind],
                   ns, peak / mean, "n/a", (double)mv_rm / ideal_rm);
        else
            printf("%-30s %9.1f %9.3f %13.3f %13.3f%s\n", names[kind], ns, peak / mean,
                   (double)mv_add / ideal_add, (double)mv_rm / ideal_rm,
                   k != keys ? "  (keys/10)" : "");
        algo_free(&a);
        algo_free(&add);
        algo_free(&rm);
    }
    run_partitioner(nodes, n, keys, count, 65536);
    printf("ratios: peer 160-point ring / ut ring = %.2f", ns_by[A_RING160] / ring_ns);
    printf(", peer jump / ut jump = %.2f", ns_by[A_JUMP_PEER] / ns_by[A_JUMP]);
    if (ns_by[A_KETAMA] > 0)
        printf(", ketama / ut ring = %.2f", ns_by[A_KETAMA] / ring_ns);
    printf("\n");
    free(nodes);
    free(minus);
    free(count);
}

/* Range lookup at 1,000,000 ranges through the public API. */
static ut_partitioner_t *range_map(uint32_t ranges)
{
    ut_partition_key_t *b = malloc(ranges * sizeof *b);
    uint8_t *kb = malloc((size_t)ranges * 8);
    for (uint32_t i = 0; i < ranges; i++) {
        uint64_t v = (uint64_t)(i + 1) * 1000;
        for (int k = 0; k < 8; k++)
            kb[(size_t)i * 8 + (size_t)k] = (uint8_t)(v >> (56 - 8 * k)); /* big-endian */
        b[i].data = kb + (size_t)i * 8;
        b[i].len = 8;
    }
    ut_partition_node_t nodes[3] = {{1, 1, 0}, {2, 1, 1}, {3, 1, 2}};
    ut_partitioner_config_t c;
    ut_partitioner_config_init(&c, UT_PARTITIONER_CONFIG_VERSION);
    c.strategy = UT_PARTITION_RANGE;
    c.nodes = nodes;
    c.n_nodes = 3;
    c.bounds = b;
    c.n_bounds = ranges - 1;
    ut_partitioner_t *h = NULL;
    if (ut_partitioner_new(&h, &c) != UT_OK)
        h = NULL;
    free(b);
    free(kb);
    return h;
}

static double range_bench(const ut_partitioner_t *h, uint64_t m)
{
    double runs[5];
    for (int r = 0; r < 5; r++) {
        uint64_t acc = 0;
        double t0 = now_ns();
        for (uint64_t i = 0; i < m; i++) {
            uint64_t v = key_hash(i + (uint64_t)r) % 1000000000ull;
            uint8_t k[8];
            for (int j = 0; j < 8; j++)
                k[j] = (uint8_t)(v >> (56 - 8 * j));
            uint32_t p = 0;
            ut_partitioner_locate(h, k, 8, &p);
            acc += p;
        }
        runs[r] = (now_ns() - t0) / (double)m;
        sink += acc;
    }
    qsort(runs, 5, sizeof runs[0], cmp_d);
    return runs[2];
}

static int callgrind(const char *an, size_t n, uint64_t m)
{
    const char *ks[] = {"ring", "jump", "maglev", "hrw", "ring160", "jumppeer", "ketama"};
    if (strcmp(an, "partitioner") == 0) {
        ut_partition_node_t *nd = malloc((n + 1) * sizeof *nd);
        for (size_t i = 0; i <= n; i++)
            nd[i] = (ut_partition_node_t){1 + i, 1, 0};
        ut_partitioner_t *h = ch_map(nd, n, 65536);
        uint64_t acc = 0;
        for (uint64_t i = 0; i < m; i++)
            acc += pmap(h, i);
        sink = acc;
        ut_partitioner_free(h);
        free(nd);
        return 0;
    }
    if (strcmp(an, "range") == 0) {
        ut_partitioner_t *h = range_map(1000000);
        range_bench(h, m / 5 + 1);
        ut_partitioner_free(h);
        return 0;
    }
    int kind = -1;
    for (int i = 0; i < A_COUNT; i++)
        if (strcmp(an, ks[i]) == 0)
            kind = i;
    ut_partition_node_t *nodes = malloc(n * sizeof *nodes);
    for (size_t i = 0; i < n; i++)
        nodes[i] = (ut_partition_node_t){1 + i, 1, 0};
    algo_t a;
    if (kind < 0 || algo_build(&a, kind, nodes, n) != 0)
        return 2;
    uint64_t acc = 0;
    for (uint64_t i = 0; i < m; i++)
        acc += algo_pick(&a, nodes, i);
    sink = acc;
    algo_free(&a);
    free(nodes);
    return 0;
}

/* A user allocator that backs large blocks with transparent huge pages
 * (mmap + madvise(MADV_HUGEPAGE); this machine's THP setting is
 * "madvise"), through the library's allocator hook: what a server that
 * holds a 10^6-range map would install to take the TLB misses out of the
 * lookup. Small blocks go to malloc; a 64-byte header says which. */
#define HP_MIN (1u << 21)
typedef struct hp_hdr {
    size_t size; /* usable bytes */
    int mapped;
    char pad[64 - sizeof(size_t) - sizeof(int)];
} hp_hdr_t;

static void *hp_malloc(void *ctx, size_t n)
{
    (void)ctx;
    hp_hdr_t *h;
    if (n + sizeof *h >= HP_MIN) {
        size_t len = (n + sizeof *h + HP_MIN - 1) & ~(size_t)(HP_MIN - 1);
        void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return NULL;
        madvise(p, len, MADV_HUGEPAGE);
        h = p;
        h->mapped = 1;
    } else {
        h = malloc(n + sizeof *h);
        if (h == NULL)
            return NULL;
        h->mapped = 0;
    }
    h->size = n;
    return h + 1;
}

static void hp_free(void *ctx, void *p)
{
    (void)ctx;
    if (p == NULL)
        return;
    hp_hdr_t *h = (hp_hdr_t *)p - 1;
    if (h->mapped)
        munmap(h, (h->size + sizeof *h + HP_MIN - 1) & ~(size_t)(HP_MIN - 1));
    else
        free(h);
}

static void *hp_realloc(void *ctx, void *p, size_t n)
{
    if (p == NULL)
        return hp_malloc(ctx, n);
    hp_hdr_t *h = (hp_hdr_t *)p - 1;
    void *q = hp_malloc(ctx, n);
    if (q == NULL)
        return NULL;
    memcpy(q, p, h->size < n ? h->size : n);
    hp_free(ctx, p);
    return q;
}

int main(int argc, char **argv)
{
    /* --callgrind ALGO N [LOOKUPS]: run twice (LOOKUPS and 0) and divide
     * the difference of the totals by LOOKUPS for instructions per lookup. */
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "--callgrind") == 0)
        return callgrind(argv[2], (size_t)strtoul(argv[3], NULL, 10),
                         argc == 5 ? strtoull(argv[4], NULL, 10) : 100000);
    bool range_only = argc > 1 && strcmp(argv[1], "--range") == 0;
    uint64_t keys = argc > 1 && !range_only ? strtoull(argv[1], NULL, 10) : 1000000;
#ifndef UT_BENCH_LIBMEMCACHED
    printf("libmemcached-dev not found at configure time: ketama is not measured\n");
#endif
    if (!range_only) {
        run(100, keys);
        run(1000, keys);
    }
    ut_partitioner_t *h = range_map(1000000);
    if (h != NULL) {
        printf("\nrange: 1,000,000 ranges, ut_partitioner_locate: %.1f ns/lookup (median of 5)\n",
               range_bench(h, 1000000));
        ut_partitioner_free(h);
    }
    ut_allocator_t hpa = {NULL, hp_malloc, hp_realloc, hp_free};
    if (ut_set_allocator(&hpa) == UT_OK && (h = range_map(1000000)) != NULL) {
        printf("range: the same with a huge-page allocator (ut_set_allocator): %.1f ns/lookup\n",
               range_bench(h, 1000000));
        ut_partitioner_free(h);
    }
    ut_set_allocator(NULL);
    return 0;
}
