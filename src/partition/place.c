/* SPDX-License-Identifier: MIT */
/* Placement algorithms: a partition's (or a key's) 64-bit hash to a node
 * index. Built once per node set (allocating), looked up without
 * allocation. */
#include <stdlib.h>

#include "internal.h"
#include "partition/partition_internal.h"

static void put_le64(uint8_t *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t mix64(uint64_t x)
{
    /* SplitMix64 finaliser (Steele, Lea, Flood, OOPSLA 2014). */
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* Jump consistent hash, Lamping & Veach, "A Fast, Minimal Memory,
 * Consistent Hash Algorithm" (2014), figure 1. */
uint32_t ut__partition_jump(uint64_t key, uint32_t n)
{
    int64_t b = -1, j = 0;
    while (j < (int64_t)n) {
        b = j;
        key = key * 2862933555777941757ull + 1;
        j = (int64_t)((double)(b + 1) * ((double)(1ll << 31) / (double)((key >> 33) + 1)));
    }
    return (uint32_t)b;
}

typedef struct ring_pt {
    uint64_t hash;
    uint32_t node;
} ring_pt_t;

static int cmp_pt(const void *a, const void *b)
{
    const ring_pt_t *x = a, *y = b;
    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    return x->node < y->node ? -1 : (x->node > y->node);
}

static int build_ring(ut__partition_place_t *p, unsigned vnodes)
{
    size_t total = 0;
    for (size_t i = 0; i < p->n; i++)
        total += (size_t)vnodes * p->nodes[i].weight;
    ring_pt_t *pts = ut__malloc(total * sizeof *pts);
    if (pts == NULL)
        return UT_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < p->n; i++) {
        size_t cnt = (size_t)vnodes * p->nodes[i].weight;
        uint8_t b[16];
        put_le64(b, p->nodes[i].id);
        for (size_t v = 0; v < cnt; v++) {
            put_le64(b + 8, (uint64_t)v);
            pts[k].hash = ut_partition_hash(b, 16, UT__PARTITION_SEED_RING);
            pts[k].node = (uint32_t)i;
            k++;
        }
    }
    qsort(pts, total, sizeof *pts, cmp_pt);
    unsigned bits = 1;
    while (bits < 30 && ((size_t)1 << bits) < total)
        bits++;
    size_t nb = (size_t)1 << bits;
    p->ring_hash = ut__malloc(total * sizeof *p->ring_hash);
    p->ring_node = ut__malloc(total * sizeof *p->ring_node);
    p->ring_index = ut__malloc((nb + 1) * sizeof *p->ring_index);
    if (p->ring_hash == NULL || p->ring_node == NULL || p->ring_index == NULL) {
        ut__free(pts);
        return UT_ENOMEM; /* the caller frees the partial state */
    }
    for (size_t i = 0; i < total; i++) {
        p->ring_hash[i] = pts[i].hash;
        p->ring_node[i] = pts[i].node;
    }
    ut__free(pts);
    p->ring_n = total;
    p->ring_shift = 64 - bits;
    size_t i = 0;
    for (size_t bk = 0; bk < nb; bk++) {
        while (i < total && (p->ring_hash[i] >> p->ring_shift) < bk)
            i++;
        p->ring_index[bk] = (uint32_t)i;
    }
    p->ring_index[nb] = (uint32_t)total;
    return UT_OK;
}

/* Maglev table population, Eisenbud et al., "Maglev: A Fast and Reliable
 * Software Network Load Balancer" (NSDI 2016), §3.4 pseudocode 1; weights
 * give a node that many turns per round. */
static int build_maglev(ut__partition_place_t *p, uint32_t m)
{
    uint32_t *next = ut__calloc(p->n, sizeof *next);
    uint64_t *off = ut__malloc(p->n * 2 * sizeof *off);
    p->mg_table = ut__malloc((size_t)m * sizeof *p->mg_table);
    if (next == NULL || off == NULL || p->mg_table == NULL) {
        ut__free(next);
        ut__free(off);
        return UT_ENOMEM;
    }
    for (size_t i = 0; i < p->n; i++) {
        uint64_t h = p->node_hash[i];
        off[2 * i] = (h >> 32) % m;
        off[2 * i + 1] = (h & 0xffffffffu) % (m - 1) + 1;
    }
    for (uint32_t j = 0; j < m; j++)
        p->mg_table[j] = UINT32_MAX;
    uint32_t filled = 0;
    while (filled < m) {
        for (size_t i = 0; i < p->n && filled < m; i++) {
            for (uint32_t t = 0; t < p->nodes[i].weight && filled < m; t++) {
                uint32_t c;
                do {
                    c = (uint32_t)((off[2 * i] + (uint64_t)next[i] * off[2 * i + 1]) % m);
                    next[i]++;
                } while (p->mg_table[c] != UINT32_MAX);
                p->mg_table[c] = (uint32_t)i;
                filled++;
            }
        }
    }
    ut__free(next);
    ut__free(off);
    p->mg_size = m;
    return UT_OK;
}

void ut__partition_place_free(ut__partition_place_t *p)
{
    if (p == NULL)
        return;
    ut__free(p->node_hash);
    ut__free(p->ring_hash);
    ut__free(p->ring_node);
    ut__free(p->ring_index);
    ut__free(p->mg_table);
    memset(p, 0, sizeof *p);
}

int ut__partition_place_build(ut__partition_place_t *p, ut_partition_algo_t algo,
                              const ut_partition_node_t *nodes, size_t n, unsigned vnodes,
                              uint32_t maglev_size)
{
    memset(p, 0, sizeof *p);
    p->algo = algo;
    p->nodes = nodes;
    p->n = n;
    p->node_hash = ut__malloc(n * sizeof *p->node_hash);
    if (p->node_hash == NULL)
        return UT_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        uint8_t b[8];
        put_le64(b, nodes[i].id);
        p->node_hash[i] = ut_partition_hash(b, 8, UT__PARTITION_SEED_NODE);
    }
    int rc = UT_OK;
    if (algo == UT_PARTITION_ALGO_RING)
        rc = build_ring(p, vnodes);
    else if (algo == UT_PARTITION_ALGO_MAGLEV)
        rc = build_maglev(p, maglev_size);
    if (rc != UT_OK)
        ut__partition_place_free(p);
    return rc;
}

static inline size_t ring_succ(const ut__partition_place_t *p, uint64_t h)
{
    size_t b = (size_t)(h >> p->ring_shift);
    size_t i = p->ring_index[b], end = p->ring_index[b + 1];
    while (i < end && p->ring_hash[i] < h)
        i++;
    return i == p->ring_n ? 0 : i;
}

/* Natural logarithm of x in (0, 1], without libm (the library links
 * nothing but libc) and the same on every platform: x = m * 2^e with m in
 * [sqrt(1/2), sqrt(2)), ln m = 2 atanh((m - 1) / (m + 1)) by its series. */
static double ln01(double x)
{
    int e = 0;
    while (x < 0.70710678118654752) {
        x *= 2.0;
        e--;
    }
    double s = (x - 1.0) / (x + 1.0), s2 = s * s, t = s, sum = 0.0;
    for (int k = 1; k <= 19; k += 2) {
        sum += t / k;
        t *= s2;
    }
    return 2.0 * sum + e * 0.69314718055994531;
}

/* Weighted rendezvous score (Schindelhauer & Schomaker, "Weighted
 * distributed hash tables", SPAA 2005): w / -ln(u), u uniform in (0,1). */
static inline double hrw_score(const ut__partition_place_t *p, size_t i, uint64_t h)
{
    uint64_t x = mix64(h ^ p->node_hash[i]);
    double u = ((double)(x >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    return (double)p->nodes[i].weight / -ln01(u);
}

uint32_t ut__partition_place_pick(const ut__partition_place_t *p, uint64_t h)
{
    switch (p->algo) {
    case UT_PARTITION_ALGO_RING:
        return p->ring_node[ring_succ(p, h)];
    case UT_PARTITION_ALGO_JUMP:
        return ut__partition_jump(h, (uint32_t)p->n);
    case UT_PARTITION_ALGO_MAGLEV:
        return p->mg_table[(uint32_t)(((h >> 32) * p->mg_size) >> 32)];
    case UT_PARTITION_ALGO_RENDEZVOUS:
    default: {
        size_t best = 0;
        double bs = -1.0;
        for (size_t i = 0; i < p->n; i++) {
            double s = hrw_score(p, i, h);
            if (s > bs) {
                bs = s;
                best = i;
            }
        }
        return (uint32_t)best;
    }
    }
}

void ut__partition_iter_init(ut__partition_iter_t *it, const ut__partition_place_t *p, uint64_t h)
{
    it->p = p;
    it->h = h;
    it->step = 0;
    it->pos = 0;
}

size_t ut__partition_iter_next(ut__partition_iter_t *it, double *scores, uint32_t *stamp,
                               uint32_t mark)
{
    const ut__partition_place_t *p = it->p;
    switch (p->algo) {
    case UT_PARTITION_ALGO_RING:
        /* Successors clockwise (Karger et al., STOC 1997; Dynamo §4.3). */
        if (it->step >= p->ring_n)
            return SIZE_MAX;
        if (it->step == 0)
            it->pos = ring_succ(p, it->h);
        else
            it->pos = it->pos + 1 == p->ring_n ? 0 : it->pos + 1;
        it->step++;
        return p->ring_node[it->pos];
    case UT_PARTITION_ALGO_MAGLEV:
        if (it->step >= p->mg_size)
            return SIZE_MAX;
        if (it->step == 0)
            it->pos = (uint32_t)(((it->h >> 32) * p->mg_size) >> 32);
        else
            it->pos = it->pos + 1 == p->mg_size ? 0 : it->pos + 1;
        it->step++;
        return p->mg_table[it->pos];
    case UT_PARTITION_ALGO_JUMP:
        /* Replica k is jump(mix(h + k)); bounded, then the caller scans. */
        if (it->step >= 64 + 4 * p->n)
            return SIZE_MAX;
        it->step++;
        return ut__partition_jump(it->step == 1 ? it->h : mix64(it->h + it->step), (uint32_t)p->n);
    case UT_PARTITION_ALGO_RENDEZVOUS:
    default: {
        /* Nodes by decreasing score (Thaler & Ravishankar 1998, §3). */
        if (it->step >= p->n)
            return SIZE_MAX;
        if (it->step == 0)
            for (size_t i = 0; i < p->n; i++)
                scores[i] = hrw_score(p, i, it->h);
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < p->n; i++)
            if (stamp[i] != mark && (best == SIZE_MAX || scores[i] > scores[best]))
                best = i;
        stamp[best] = mark;
        it->step++;
        return best;
    }
    }
}
