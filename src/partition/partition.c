/* SPDX-License-Identifier: MIT */
/* The partitioner: key -> partition (strategy), partition -> nodes
 * (placement table, rebuilt on every change so that lookups are one array
 * read), plans, split/merge and the serialised map. */
#include <stdlib.h>

#include "common/handle.h"
#include "internal.h"
#include "partition/partition_internal.h"

#define UT__PARTITION_MAGIC 0x50415254u /* "PART" */
#define UT__PLAN_MAGIC 0x504c414eu      /* "PLAN" */
#define MAX_POINTS (1u << 24)
#define MAX_PARTS (1u << 24)

/* A key the map owns. pre is its first 8 bytes, big-endian, zero-padded:
 * two keys whose prefixes differ compare as their prefixes do, so a range
 * search reads the key bytes only on a prefix tie (one cache miss per step
 * instead of two). */
typedef struct bkey {
    uint64_t pre;
    uint8_t *data;
    size_t len;
} bkey_t;

static int make_samples(const bkey_t *b, size_t n, uint64_t **out, size_t *ns);

static uint64_t key_prefix(const void *d, size_t len)
{
    const uint8_t *p = d;
    uint64_t v = 0;
    for (size_t i = 0; i < 8; i++)
        v = (v << 8) | (i < len ? p[i] : 0u);
    return v;
}

struct ut_partitioner {
    ut__handle_t base;
    ut__tracer_t tracer; /* cfg.trace; base.tracer points here when set */
    ut_partition_strategy_t strategy, first_level;
    ut_partition_algo_t algo;
    unsigned replicas, vnodes;
    uint32_t hash_parts, maglev_size;
    double eps;
    uint64_t version;
    ut_partition_node_t *nodes; /* sorted by id */
    size_t n_nodes;
    bkey_t *bounds; /* RANGE first level */
    size_t n_bounds;
    uint64_t *st_bytes, *st_load; /* RANGE: n_bounds + 1 counters */
    uint64_t *sample;             /* the range index (make_samples) */
    size_t n_sample;
    bkey_t *lvals; /* LIST first level */
    uint32_t *lpart;
    size_t n_lvals;
    uint32_t n_lists;
    bool ldefault;
    uint32_t *lht; /* open addressing: value index + 1, 0 empty */
    size_t lht_mask;
    uint32_t count;
    uint64_t *owners; /* count * replicas node ids */
};

struct ut_partition_plan {
    uint32_t magic;
    const ut_partitioner_t *map;
    uint64_t base_version;
    ut_partition_node_t *nodes;
    size_t n_nodes;
    uint64_t *owners;
    uint32_t *mv_part;
    uint64_t *mv_from, *mv_to;
    size_t n_moves;
};

static void put_le32(uint8_t *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t get_le64(const uint8_t *b)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, b, 8);
    return v;
#else
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
#endif
}

static uint32_t get_le32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline uint64_t rotl64(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

UT_API uint64_t ut_partition_hash(const void *key, size_t len, uint64_t seed)
{
    const uint8_t *p = key;
    uint64_t h = seed ^ 0x243F6A8885A308D3ull ^ ((uint64_t)len * 0x9E3779B97F4A7C15ull);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w = get_le64(p + i);
        h = rotl64(h ^ (w * 0xC2B2AE3D27D4EB4Full), 31) * 0x9E3779B97F4A7C15ull;
    }
    if (i < len) {
        uint8_t tail[8] = {0};
        memcpy(tail, p + i, len - i);
        uint64_t w = get_le64(tail);
        h = rotl64(h ^ (w * 0xC2B2AE3D27D4EB4Full), 31) * 0x9E3779B97F4A7C15ull;
    }
    /* MurmurHash3 fmix64 (Appleby). */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

UT_API const char *ut_partition_algo_name(ut_partition_algo_t v)
{
    switch (v) {
    case UT_PARTITION_ALGO_RING:
        return "ring";
    case UT_PARTITION_ALGO_JUMP:
        return "jump";
    case UT_PARTITION_ALGO_MAGLEV:
        return "maglev";
    case UT_PARTITION_ALGO_RENDEZVOUS:
        return "rendezvous";
    }
    return "?";
}

UT_API int ut_partitioner_config_init(ut_partitioner_config_t *cfg, unsigned version)
{
    if (cfg == NULL)
        return UT_EINVAL;
    if (version < 1 || version > UT_PARTITIONER_CONFIG_VERSION)
        return UT_EVERSION;
    memset(cfg, 0, sizeof *cfg);
    cfg->version = version;
    cfg->strategy = UT_PARTITION_CONSISTENT_HASH;
    cfg->replicas = 1;
    cfg->partitions = 1024;
    cfg->algorithm = UT_PARTITION_ALGO_RING;
    cfg->vnodes = 160;
    cfg->maglev_size = 65537;
    cfg->first_level = UT_PARTITION_RANGE;
    return UT_OK;
}

/* memcmp order with a prefix first. */
static int keycmp(const void *a, size_t al, const void *b, size_t bl)
{
    size_t m = al < bl ? al : bl;
    int c = m ? memcmp(a, b, m) : 0;
    if (c != 0)
        return c;
    return al < bl ? -1 : (al > bl);
}

static void free_keys(bkey_t *k, size_t n)
{
    if (k == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        ut__free(k[i].data);
    ut__free(k);
}

static int copy_keys(bkey_t **out, const ut_partition_key_t *src, size_t n)
{
    *out = NULL;
    if (n == 0)
        return UT_OK;
    bkey_t *k = ut__calloc(n, sizeof *k);
    if (k == NULL)
        return UT_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        k[i].len = src[i].len;
        k[i].data = ut__malloc(src[i].len ? src[i].len : 1);
        if (k[i].data == NULL) {
            free_keys(k, n);
            return UT_ENOMEM;
        }
        if (src[i].len)
            memcpy(k[i].data, src[i].data, src[i].len);
        k[i].pre = key_prefix(k[i].data, k[i].len);
    }
    *out = k;
    return UT_OK;
}

static int cmp_node(const void *a, const void *b)
{
    const ut_partition_node_t *x = a, *y = b;
    return x->id < y->id ? -1 : (x->id > y->id);
}

static void partitioner_destroy(ut_partitioner_t *h)
{
    ut__free(h->nodes);
    free_keys(h->bounds, h->n_bounds);
    ut__free(h->sample);
    ut__free(h->st_bytes);
    ut__free(h->st_load);
    free_keys(h->lvals, h->n_lvals);
    ut__free(h->lpart);
    ut__free(h->lht);
    ut__free(h->owners);
    ut__handle_retire(&h->base);
    ut__free(h);
}

/* --- placement table ------------------------------------------------- */

static uint32_t first_level_count(const ut_partitioner_t *h)
{
    ut_partition_strategy_t s =
        h->strategy == UT_PARTITION_COMPOSITE ? h->first_level : h->strategy;
    if (s == UT_PARTITION_RANGE)
        return (uint32_t)h->n_bounds + 1;
    return h->n_lists + (h->ldefault ? 1u : 0u);
}

static uint32_t partition_total(const ut_partitioner_t *h, size_t n_bounds)
{
    switch (h->strategy) {
    case UT_PARTITION_HASH:
    case UT_PARTITION_CONSISTENT_HASH:
        return h->hash_parts;
    case UT_PARTITION_RANGE:
        return (uint32_t)n_bounds + 1;
    case UT_PARTITION_LIST:
        return h->n_lists + (h->ldefault ? 1u : 0u);
    case UT_PARTITION_COMPOSITE:
    default:
        if (h->first_level == UT_PARTITION_RANGE)
            return (uint32_t)(n_bounds + 1) * h->hash_parts;
        return (h->n_lists + (h->ldefault ? 1u : 0u)) * h->hash_parts;
    }
}

/* The placement seed of partition p. A range partition is named by its
 * lower bound, so that a split keeps the left part where it was and a merge
 * undoes a split exactly. */
static uint64_t part_seed(const ut_partitioner_t *h, const bkey_t *bounds, uint32_t p)
{
    uint32_t f = p, sub = 0;
    if (h->strategy == UT_PARTITION_COMPOSITE) {
        f = p / h->hash_parts;
        sub = p % h->hash_parts;
    }
    ut_partition_strategy_t s =
        h->strategy == UT_PARTITION_COMPOSITE ? h->first_level : h->strategy;
    uint64_t x;
    if (s == UT_PARTITION_RANGE) {
        x = f == 0
                ? ut_partition_hash(NULL, 0, UT__PARTITION_SEED_PART)
                : ut_partition_hash(bounds[f - 1].data, bounds[f - 1].len, UT__PARTITION_SEED_PART);
    } else {
        uint8_t b[4];
        put_le32(b, f);
        x = ut_partition_hash(b, 4, UT__PARTITION_SEED_PART);
    }
    if (h->strategy == UT_PARTITION_COMPOSITE) {
        uint8_t b[12];
        put_le64(b, x);
        put_le32(b + 8, sub);
        x = ut_partition_hash(b, 12, UT__PARTITION_SEED_SUB);
    }
    return x;
}

/* owners = replica sets of `count` partitions over `nodes`. Replica rule:
 * walk the algorithm's candidate sequence, take a node whose zone is not
 * used yet while unused zones remain, defer the others and take them in
 * order once every zone holds a replica (rack-aware placement, Cassandra
 * NetworkTopologyStrategy; Dynamo §4.6 preference list). With bounded load
 * the primary is the first candidate under its capacity (Mirrokni, Thorup,
 * Zadimoghaddam, "Consistent Hashing with Bounded Loads", SODA 2018, §2). */
static int build_owners(const ut_partitioner_t *h, const ut_partition_node_t *nodes, size_t n,
                        const bkey_t *bounds, uint32_t count, uint64_t **out)
{
    ut__partition_place_t pl;
    int rc = ut__partition_place_build(&pl, h->algo, nodes, n, h->vnodes, h->maglev_size);
    if (rc != UT_OK)
        return rc;
    unsigned R = h->replicas;
    uint64_t *own = ut__malloc((size_t)count * R * sizeof *own + 1);
    uint32_t *seen = ut__calloc(n, sizeof *seen);
    uint32_t *its = ut__calloc(n, sizeof *its);
    uint32_t *zidx = ut__malloc(n * sizeof *zidx);
    uint32_t *zused = ut__calloc(n, sizeof *zused);
    uint64_t *load = ut__calloc(n, sizeof *load);
    uint64_t *cap = ut__calloc(n, sizeof *cap);
    double *scores = ut__malloc(n * sizeof *scores);
    size_t *deferred = ut__malloc(n * sizeof *deferred);
    if (own == NULL || seen == NULL || its == NULL || zidx == NULL || zused == NULL ||
        load == NULL || cap == NULL || scores == NULL || deferred == NULL) {
        rc = UT_ENOMEM;
        ut__free(own);
        goto done;
    }
    size_t nz = 0;
    for (size_t i = 0; i < n; i++) {
        size_t z = 0;
        while (z < i && nodes[z].zone != nodes[i].zone)
            z++;
        zidx[i] = z < i ? zidx[z] : (uint32_t)nz++;
    }
    if (h->eps > 0) {
        double W = 0;
        for (size_t i = 0; i < n; i++)
            W += nodes[i].weight;
        for (size_t i = 0; i < n; i++) {
            double c = (1.0 + h->eps) * (double)count * nodes[i].weight / W;
            cap[i] = (uint64_t)c + ((double)(uint64_t)c < c ? 1u : 0u);
        }
    }
    uint32_t mark = 0;
    for (uint32_t p = 0; p < count; p++) {
        uint64_t x = part_seed(h, bounds, p);
        uint64_t *row = own + (size_t)p * R;
        unsigned got = 0;
        size_t zcount = 0, nd = 0;
        uint32_t sm = ++mark;
        ut__partition_iter_t it;
        if (h->eps > 0) {
            ut__partition_iter_init(&it, &pl, x);
            uint32_t im = ++mark;
            size_t c, prim = SIZE_MAX;
            while ((c = ut__partition_iter_next(&it, scores, its, im)) != SIZE_MAX)
                if (load[c] < cap[c]) {
                    prim = c;
                    break;
                }
            for (size_t i = 0; prim == SIZE_MAX && i < n; i++)
                if (load[i] < cap[i])
                    prim = i;
            if (prim == SIZE_MAX)
                prim = 0;
            load[prim]++;
            seen[prim] = sm;
            zused[zidx[prim]] = sm;
            zcount = 1;
            row[got++] = nodes[prim].id;
        }
        ut__partition_iter_init(&it, &pl, x);
        uint32_t im = ++mark;
        size_t c;
        while (got < R && (c = ut__partition_iter_next(&it, scores, its, im)) != SIZE_MAX) {
            if (seen[c] == sm)
                continue;
            seen[c] = sm;
            if (zcount < nz && zused[zidx[c]] == sm) {
                deferred[nd++] = c;
                continue;
            }
            if (zused[zidx[c]] != sm) {
                zused[zidx[c]] = sm;
                zcount++;
            }
            row[got++] = nodes[c].id;
            if (zcount == nz)
                for (size_t d = 0; d < nd && got < R; d++)
                    row[got++] = nodes[deferred[d]].id;
            if (zcount == nz)
                nd = 0;
        }
        /* Sequence exhausted: new zones first, then the deferred, then any. */
        for (size_t i = 0; got < R && i < n; i++)
            if (seen[i] != sm && zused[zidx[i]] != sm) {
                seen[i] = sm;
                zused[zidx[i]] = sm;
                row[got++] = nodes[i].id;
            }
        for (size_t d = 0; d < nd && got < R; d++)
            row[got++] = nodes[deferred[d]].id;
        for (size_t i = 0; got < R && i < n; i++)
            if (seen[i] != sm) {
                seen[i] = sm;
                row[got++] = nodes[i].id;
            }
    }
    *out = own;
done:
    ut__free(seen);
    ut__free(its);
    ut__free(zidx);
    ut__free(zused);
    ut__free(load);
    ut__free(cap);
    ut__free(scores);
    ut__free(deferred);
    ut__partition_place_free(&pl);
    return rc;
}

/* --- validation and construction -------------------------------------- */

static bool is_prime(uint32_t m)
{
    if (m < 2)
        return false;
    for (uint32_t d = 2; (uint64_t)d * d <= m; d++)
        if (m % d == 0)
            return false;
    return true;
}

static uint64_t lv_hash(const void *d, size_t l)
{
    return ut_partition_hash(d, l, UT__PARTITION_SEED_KEY);
}

/* Build the list hash table; UT_EEXIST on a duplicate value. */
static int build_lht(bkey_t *v, size_t n, uint32_t **out, size_t *mask)
{
    size_t sz = 4;
    while (sz < 2 * n)
        sz <<= 1;
    uint32_t *t = ut__calloc(sz, sizeof *t);
    if (t == NULL)
        return UT_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        size_t s = (size_t)lv_hash(v[i].data, v[i].len) & (sz - 1);
        while (t[s] != 0) {
            const bkey_t *o = &v[t[s] - 1];
            if (keycmp(o->data, o->len, v[i].data, v[i].len) == 0) {
                ut__free(t);
                return UT_EEXIST;
            }
            s = (s + 1) & (sz - 1);
        }
        t[s] = (uint32_t)i + 1;
    }
    *out = t;
    *mask = sz - 1;
    return UT_OK;
}

static int validate_nodes(const ut_partition_node_t *nodes, size_t n, unsigned replicas,
                          const char **why)
{
    if (n == 0 || nodes == NULL) {
        *why = "empty node set";
        return UT_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (nodes[i].id == 0) {
            *why = "node id 0";
            return UT_EINVAL;
        }
        if (nodes[i].weight == 0) {
            *why = "zero weight";
            return UT_EINVAL;
        }
    }
    for (size_t i = 1; i < n; i++)
        if (nodes[i].id == nodes[i - 1].id) {
            *why = "duplicate node id";
            return UT_EEXIST;
        }
    if (replicas > n) {
        *why = "replication factor above the node count";
        return UT_ERANGE;
    }
    return UT_OK;
}

static int check_points(const ut_partitioner_t *h, const ut_partition_node_t *nodes, size_t n)
{
    if (h->algo == UT_PARTITION_ALGO_RING) {
        uint64_t t = 0;
        for (size_t i = 0; i < n; i++)
            t += (uint64_t)h->vnodes * nodes[i].weight;
        if (t > MAX_POINTS)
            return UT_EINVAL;
    }
    if (h->algo == UT_PARTITION_ALGO_MAGLEV && h->maglev_size < n)
        return UT_EINVAL;
    return UT_OK;
}

/* Validate cfg and build; on failure *why names the cause. */
static int build(ut_partitioner_t **out, const ut_partitioner_config_t *cfg, const char **why)
{
    *why = "out of memory";
    if (cfg->replicas < 1 || cfg->replicas > UT_PARTITION_MAX_REPLICAS) {
        *why = "replication factor must be 1..16";
        return UT_EINVAL;
    }
    if ((unsigned)cfg->strategy > UT_PARTITION_CONSISTENT_HASH ||
        (unsigned)cfg->algorithm > UT_PARTITION_ALGO_RENDEZVOUS) {
        *why = "unknown strategy or algorithm";
        return UT_EINVAL;
    }
    if (cfg->vnodes < 1 || cfg->vnodes > 4096 || !is_prime(cfg->maglev_size) ||
        cfg->maglev_size > MAX_PARTS || !(cfg->load_epsilon >= 0 && cfg->load_epsilon <= 1e6)) {
        *why = "vnodes, maglev_size (prime) or load_epsilon out of range";
        return UT_EINVAL;
    }
    bool composite = cfg->strategy == UT_PARTITION_COMPOSITE;
    ut_partition_strategy_t fl = composite ? cfg->first_level : cfg->strategy;
    if (composite && fl != UT_PARTITION_RANGE && fl != UT_PARTITION_LIST) {
        *why = "composite first level must be range or list";
        return UT_EINVAL;
    }
    bool hashed = cfg->strategy == UT_PARTITION_HASH ||
                  cfg->strategy == UT_PARTITION_CONSISTENT_HASH || composite;
    if (hashed && (cfg->partitions < 1 || cfg->partitions > MAX_PARTS)) {
        *why = "partitions must be 1..2^24";
        return UT_EINVAL;
    }
    if (fl == UT_PARTITION_RANGE) {
        if (cfg->n_bounds > MAX_PARTS || (cfg->n_bounds && cfg->bounds == NULL)) {
            *why = "bad boundaries";
            return UT_EINVAL;
        }
        for (size_t i = 0; i < cfg->n_bounds; i++) {
            if (cfg->bounds[i].len && cfg->bounds[i].data == NULL) {
                *why = "boundary with NULL data";
                return UT_EINVAL;
            }
            if (cfg->bounds[i].len == 0) {
                *why = "empty boundary";
                return UT_EINVAL;
            }
            if (i && keycmp(cfg->bounds[i - 1].data, cfg->bounds[i - 1].len, cfg->bounds[i].data,
                            cfg->bounds[i].len) >= 0) {
                *why = "boundaries overlap or are not strictly increasing";
                return UT_EINVAL;
            }
        }
    }
    if (fl == UT_PARTITION_LIST) {
        if (cfg->n_lists < 1 || cfg->n_lists > MAX_PARTS || cfg->n_list_values == 0 ||
            cfg->n_list_values > MAX_PARTS || cfg->list_values == NULL ||
            cfg->list_partition == NULL) {
            *why = "list partitions need values";
            return UT_EINVAL;
        }
        for (size_t i = 0; i < cfg->n_list_values; i++) {
            if (cfg->list_partition[i] >= cfg->n_lists ||
                (cfg->list_values[i].len && cfg->list_values[i].data == NULL)) {
                *why = "list value with a bad partition or NULL data";
                return UT_EINVAL;
            }
        }
        for (uint32_t l = 0; l < cfg->n_lists; l++) {
            size_t i = 0;
            while (i < cfg->n_list_values && cfg->list_partition[i] != l)
                i++;
            if (i == cfg->n_list_values) {
                *why = "a list partition without values";
                return UT_EINVAL;
            }
        }
    }
    if (cfg->nodes == NULL || cfg->n_nodes == 0) {
        *why = "empty node set";
        return UT_EINVAL;
    }
    ut_partitioner_t *h = ut__calloc(1, sizeof *h);
    if (h == NULL)
        return UT_ENOMEM;
    ut__handle_init(&h->base, UT__PARTITION_MAGIC);
    h->tracer.fn = cfg->trace;
    h->tracer.arg = cfg->trace_arg;
    if (cfg->trace != NULL) { /* refusals are traced by the handle base */
        h->base.tracer = &h->tracer;
        h->base.module = "partition";
    }
    h->strategy = cfg->strategy;
    h->first_level = composite ? fl : cfg->strategy;
    h->algo = cfg->algorithm;
    h->replicas = cfg->replicas;
    h->vnodes = cfg->vnodes;
    h->maglev_size = cfg->maglev_size;
    h->eps = cfg->load_epsilon;
    h->hash_parts = hashed ? cfg->partitions : 1;
    h->version = 1;
    int rc = UT_ENOMEM;
    h->nodes = ut__malloc(cfg->n_nodes * sizeof *h->nodes);
    if (h->nodes == NULL)
        goto fail;
    memcpy(h->nodes, cfg->nodes, cfg->n_nodes * sizeof *h->nodes);
    qsort(h->nodes, cfg->n_nodes, sizeof *h->nodes, cmp_node);
    h->n_nodes = cfg->n_nodes;
    rc = validate_nodes(h->nodes, h->n_nodes, h->replicas, why);
    if (rc == UT_OK && check_points(h, h->nodes, h->n_nodes) != UT_OK) {
        *why = "too many ring points or Maglev table below the node count";
        rc = UT_EINVAL;
    }
    if (rc != UT_OK)
        goto fail;
    *why = "out of memory";
    if (fl == UT_PARTITION_RANGE) {
        rc = copy_keys(&h->bounds, cfg->bounds, cfg->n_bounds);
        if (rc != UT_OK)
            goto fail;
        h->n_bounds = cfg->n_bounds;
        rc = make_samples(h->bounds, h->n_bounds, &h->sample, &h->n_sample);
        if (rc != UT_OK)
            goto fail;
        rc = UT_ENOMEM;
        if (h->strategy == UT_PARTITION_RANGE) {
            h->st_bytes = ut__calloc(h->n_bounds + 1, sizeof *h->st_bytes);
            h->st_load = ut__calloc(h->n_bounds + 1, sizeof *h->st_load);
            if (h->st_bytes == NULL || h->st_load == NULL)
                goto fail;
        }
    } else if (fl == UT_PARTITION_LIST) {
        rc = copy_keys(&h->lvals, cfg->list_values, cfg->n_list_values);
        if (rc != UT_OK)
            goto fail;
        h->n_lvals = cfg->n_list_values;
        rc = UT_ENOMEM;
        h->lpart = ut__malloc(h->n_lvals * sizeof *h->lpart);
        if (h->lpart == NULL)
            goto fail;
        memcpy(h->lpart, cfg->list_partition, h->n_lvals * sizeof *h->lpart);
        h->n_lists = cfg->n_lists;
        h->ldefault = cfg->list_default;
        rc = build_lht(h->lvals, h->n_lvals, &h->lht, &h->lht_mask);
        if (rc == UT_EEXIST)
            *why = "duplicate list value";
        if (rc != UT_OK)
            goto fail;
    }
    uint64_t total = (uint64_t)first_level_count(h) * (composite ? h->hash_parts : 1);
    if (hashed && !composite)
        total = h->hash_parts;
    if (total > MAX_PARTS) {
        *why = "more than 2^24 partitions";
        rc = UT_EINVAL;
        goto fail;
    }
    h->count = partition_total(h, h->n_bounds);
    /* Bounds the table a decoded map can make us allocate (512 MiB). */
    if ((uint64_t)h->count * h->replicas > (1u << 26)) {
        *why = "more than 2^26 replica slots";
        rc = UT_EINVAL;
        goto fail;
    }
    rc = build_owners(h, h->nodes, h->n_nodes, h->bounds, h->count, &h->owners);
    if (rc != UT_OK)
        goto fail;
    *out = h;
    return UT_OK;
fail:
    partitioner_destroy(h);
    return rc;
}

UT_API int ut_partitioner_new(ut_partitioner_t **out, const ut_partitioner_config_t *cfg)
{
    if (out == NULL)
        return UT_EINVAL;
    *out = NULL;
    if (cfg == NULL)
        return UT_EINVAL;
    if (cfg->version < 1 || cfg->version > UT_PARTITIONER_CONFIG_VERSION)
        return UT_EVERSION;
    const char *why;
    return build(out, cfg, &why);
}

UT_API void ut_partitioner_free(ut_partitioner_t *h)
{
    if (!ut__handle_valid(h ? &h->base : NULL, UT__PARTITION_MAGIC))
        return;
    partitioner_destroy(h);
}

UT_API const char *ut_partitioner_errmsg(const ut_partitioner_t *h)
{
    return ut__handle_errmsg(h ? &h->base : NULL, UT__PARTITION_MAGIC);
}

static inline bool valid(const ut_partitioner_t *h)
{
    return h != NULL && h->base.magic == UT__PARTITION_MAGIC;
}

/* --- lookup (no allocation) ------------------------------------------- */

/* The range index: a static search tree of the boundaries' prefixes in
 * levels (a B+-tree with no pointers, fan-out IX_FAN): level 0 holds every
 * boundary's prefix in order, level k+1 every IX_FAN-th entry of level k,
 * up to a top level of at most IX_FAN entries; all levels in one array.
 * A lookup reads one aligned window of IX_FAN prefixes (two cache lines)
 * per level, finding without branches how many are below the key's prefix;
 * the upper levels stay in cache, so a lookup at 10^6 ranges misses about
 * twice instead of once per binary-search step. (Static search trees laid
 * out for the cache: Khuong & Morin, "Array Layouts for Comparison-Based
 * Searching", JEA 2017.) Only when boundaries share the key's prefix does
 * the search compare key bytes, by binary search from the first of them. */
#define IX_FAN 16u

/* The sizes of the levels over n prefixes: returns the number of levels
 * (0 when n is 0) and their sizes in m[]. */
static unsigned ix_levels(size_t n, size_t m[8])
{
    unsigned k = 0;
    if (n == 0)
        return 0;
    m[k++] = n;
    while (m[k - 1] > IX_FAN)
        m[k] = (m[k - 1] + IX_FAN - 1) / IX_FAN, k++;
    return k;
}

static int make_samples(const bkey_t *b, size_t n, uint64_t **out, size_t *ns)
{
    size_t m[8], tot = 0;
    unsigned L = ix_levels(n, m);
    for (unsigned k = 0; k < L; k++)
        tot += m[k];
    uint64_t *s = ut__malloc(tot * sizeof *s + 1);
    if (s == NULL)
        return UT_ENOMEM;
    for (size_t j = 0; j < n; j++)
        s[j] = b[j].pre;
    for (unsigned k = 1, off = 0; k < L; k++) {
        uint64_t *lo = s + off, *up = lo + m[k - 1];
        for (size_t j = 0; j < m[k]; j++)
            up[j] = lo[j * IX_FAN];
        off += (unsigned)m[k - 1];
    }
    *out = s;
    *ns = tot;
    return UT_OK;
}

static inline bool bound_le(const bkey_t *b, uint64_t kp, const void *key, size_t len)
{
    return b->pre != kp ? b->pre < kp : keycmp(b->data, b->len, key, len) <= 0;
}

static uint32_t range_find(const bkey_t *b, size_t n, const uint64_t *ix, size_t ns,
                           const void *key, size_t len)
{
    (void)ns;
    size_t m[8], off[8];
    unsigned L = ix_levels(n, m);
    if (L == 0)
        return 0;
    off[0] = 0;
    for (unsigned k = 1; k < L; k++)
        off[k] = off[k - 1] + m[k - 1];
    uint64_t kp = key_prefix(key, len);
    /* c = number of entries of the level below kp; at the top, all. */
    size_t c = 0;
    for (size_t j = 0; j < m[L - 1]; j++)
        c += ix[off[L - 1] + j] < kp;
    for (unsigned k = L - 1; k-- > 0;) {
        if (c == 0)
            break; /* the level's first entry is not below kp: none is */
        /* Entries before the window are below kp, from the window's end on
         * they are not: count inside it. */
        size_t base = (c - 1) * IX_FAN, end = base + IX_FAN < m[k] ? base + IX_FAN : m[k];
        const uint64_t *w = ix + off[k] + base, *p = w;
        size_t wn = end - base;
        while (wn > 1) { /* branchless lower bound (a conditional move) */
            size_t half = wn / 2;
            p = p[half] < kp ? p + half : p;
            wn -= half;
        }
        c = base + (size_t)(p - w) + (*p < kp);
    }
    /* c boundaries have a prefix below the key's, so they are below the
     * key; the rest are above it unless their prefix ties. */
    if (c == n || ix[c] != kp) /* level 0 (in cache now), not b[c] */
        return (uint32_t)c;
    size_t lo = c, hi = n; /* number of boundaries <= key */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (bound_le(&b[mid], kp, key, len))
            lo = mid + 1;
        else
            hi = mid;
    }
    return (uint32_t)lo;
}

static int first_level(const ut_partitioner_t *h, const void *key, size_t len, uint32_t *f)
{
    if (h->first_level == UT_PARTITION_RANGE) {
        *f = range_find(h->bounds, h->n_bounds, h->sample, h->n_sample, key, len);
        return UT_OK;
    }
    /* PostgreSQL list partitioning: a value in no list goes to the
     * default partition, or is refused (ddl-partitioning, §5.12.2). */
    size_t s = (size_t)lv_hash(key, len) & h->lht_mask;
    while (h->lht[s] != 0) {
        const bkey_t *o = &h->lvals[h->lht[s] - 1];
        if (keycmp(o->data, o->len, key, len) == 0) {
            *f = h->lpart[h->lht[s] - 1];
            return UT_OK;
        }
        s = (s + 1) & h->lht_mask;
    }
    if (!h->ldefault)
        return UT_ENOTFOUND;
    *f = h->n_lists;
    return UT_OK;
}

UT_API int ut_partitioner_locate(const ut_partitioner_t *h, const void *key, size_t len,
                                 uint32_t *out)
{
    if (!valid(h) || out == NULL || (key == NULL && len > 0))
        return UT_EINVAL;
    uint64_t x;
    uint32_t f;
    int rc;
    switch (h->strategy) {
    case UT_PARTITION_HASH:
        /* Hash partitioning: partition = hash mod P. */
        *out = (uint32_t)(ut_partition_hash(key, len, UT__PARTITION_SEED_KEY) % h->hash_parts);
        return UT_OK;
    case UT_PARTITION_CONSISTENT_HASH:
        /* Token ranges: P equal slices of the 64-bit hash ring (Dynamo §6.2,
         * strategy 3), found with a multiply-shift instead of a search. */
        x = ut_partition_hash(key, len, UT__PARTITION_SEED_KEY);
        *out = (uint32_t)(((x >> 32) * h->hash_parts) >> 32);
        return UT_OK;
    case UT_PARTITION_COMPOSITE:
        rc = first_level(h, key, len, &f);
        if (rc != UT_OK)
            return rc;
        x = ut_partition_hash(key, len, UT__PARTITION_SEED_SUB);
        *out = f * h->hash_parts + (uint32_t)(((x >> 32) * h->hash_parts) >> 32);
        return UT_OK;
    default:
        return first_level(h, key, len, out);
    }
}

UT_API int ut_partitioner_nodes(const ut_partitioner_t *h, uint32_t partition_id, uint64_t *out,
                                size_t cap, size_t *n)
{
    if (!valid(h) || n == NULL || (out == NULL && cap > 0))
        return UT_EINVAL;
    if (partition_id >= h->count)
        return UT_ENOTFOUND;
    *n = h->replicas;
    if (cap < h->replicas)
        return UT_ERANGE;
    memcpy(out, h->owners + (size_t)partition_id * h->replicas, h->replicas * sizeof *out);
    return UT_OK;
}

UT_API int ut_partition_nodes(const ut_partitioner_t *h, uint32_t partition_id, uint64_t *out,
                              size_t cap, size_t *n)
{
    return ut_partitioner_nodes(h, partition_id, out, cap, n);
}

UT_API int ut_partitioner_primary(const ut_partitioner_t *h, const void *key, size_t len,
                                  uint64_t *out)
{
    if (out == NULL)
        return UT_EINVAL;
    uint32_t p;
    int rc = ut_partitioner_locate(h, key, len, &p);
    if (rc != UT_OK)
        return rc;
    *out = h->owners[(size_t)p * h->replicas];
    return UT_OK;
}

UT_API ut_partition_strategy_t ut_partitioner_strategy(const ut_partitioner_t *h)
{
    return valid(h) ? h->strategy : UT_PARTITION_HASH;
}

UT_API ut_partition_algo_t ut_partitioner_algorithm(const ut_partitioner_t *h)
{
    return valid(h) ? h->algo : UT_PARTITION_ALGO_RING;
}

UT_API uint32_t ut_partitioner_count(const ut_partitioner_t *h)
{
    return valid(h) ? h->count : 0;
}

UT_API uint64_t ut_partitioner_version(const ut_partitioner_t *h)
{
    return valid(h) ? h->version : 0;
}

UT_API unsigned ut_partitioner_replicas(const ut_partitioner_t *h)
{
    return valid(h) ? h->replicas : 0;
}

UT_API size_t ut_partitioner_node_count(const ut_partitioner_t *h)
{
    return valid(h) ? h->n_nodes : 0;
}

UT_API int ut_partitioner_node_at(const ut_partitioner_t *h, size_t i, ut_partition_node_t *out)
{
    if (!valid(h) || out == NULL)
        return UT_EINVAL;
    if (i >= h->n_nodes)
        return UT_ENOTFOUND;
    *out = h->nodes[i];
    return UT_OK;
}

UT_API int ut_partition_range(const ut_partitioner_t *h, uint32_t partition_id,
                              ut_partition_key_t *lo, ut_partition_key_t *hi, bool *has_hi)
{
    if (!valid(h) || lo == NULL || hi == NULL || has_hi == NULL)
        return UT_EINVAL;
    if (h->first_level != UT_PARTITION_RANGE)
        return UT_ESTATE;
    if (partition_id >= h->count)
        return UT_ENOTFOUND;
    uint32_t f =
        h->strategy == UT_PARTITION_COMPOSITE ? partition_id / h->hash_parts : partition_id;
    lo->data = f ? h->bounds[f - 1].data : NULL;
    lo->len = f ? h->bounds[f - 1].len : 0;
    *has_hi = f < h->n_bounds;
    hi->data = *has_hi ? h->bounds[f].data : NULL;
    hi->len = *has_hi ? h->bounds[f].len : 0;
    return UT_OK;
}

/* --- plans --------------------------------------------------------------- */

UT_API void ut_partition_plan_free(ut_partition_plan_t *plan)
{
    if (plan == NULL || plan->magic != UT__PLAN_MAGIC)
        return;
    ut__free(plan->nodes);
    ut__free(plan->owners);
    ut__free(plan->mv_part);
    ut__free(plan->mv_from);
    ut__free(plan->mv_to);
    plan->magic = 0;
    ut__free(plan);
}

static bool row_has(const uint64_t *row, unsigned r, uint64_t id)
{
    for (unsigned i = 0; i < r; i++)
        if (row[i] == id)
            return true;
    return false;
}

/* Plan the move to a new node set (owned by the plan on success). The new
 * placement is computed from scratch, so applying the plan gives exactly
 * the map the new node set gives; the moves are the replica slots whose
 * holder changes, which is minimal for the placement function. */
static int make_plan(ut_partitioner_t *h, ut_partition_node_t *nodes, size_t n,
                     ut_partition_plan_t **out, const char *what)
{
    ut_partition_plan_t *pl = ut__calloc(1, sizeof *pl);
    if (pl == NULL) {
        ut__free(nodes);
        UT__FAIL(&h->base, UT_ENOMEM, "%s: out of memory", what);
    }
    pl->magic = UT__PLAN_MAGIC;
    pl->nodes = nodes;
    pl->n_nodes = n;
    int rc = build_owners(h, nodes, n, h->bounds, h->count, &pl->owners);
    if (rc != UT_OK) {
        ut_partition_plan_free(pl);
        UT__FAIL(&h->base, rc, "%s: out of memory", what);
    }
    unsigned R = h->replicas;
    size_t moves = 0;
    for (size_t p = 0; p < h->count; p++)
        for (unsigned r = 0; r < R; r++)
            if (!row_has(h->owners + p * R, R, pl->owners[p * R + r]))
                moves++;
    pl->mv_part = ut__malloc(moves * sizeof *pl->mv_part + 1);
    pl->mv_from = ut__malloc(moves * sizeof *pl->mv_from + 1);
    pl->mv_to = ut__malloc(moves * sizeof *pl->mv_to + 1);
    if (pl->mv_part == NULL || pl->mv_from == NULL || pl->mv_to == NULL) {
        ut_partition_plan_free(pl);
        UT__FAIL(&h->base, UT_ENOMEM, "%s: out of memory", what);
    }
    for (size_t p = 0; p < h->count; p++) {
        const uint64_t *o = h->owners + p * R, *nw = pl->owners + p * R;
        unsigned fi = 0;
        for (unsigned r = 0; r < R; r++) {
            if (row_has(o, R, nw[r]))
                continue;
            while (row_has(nw, R, o[fi]))
                fi++;
            pl->mv_part[pl->n_moves] = (uint32_t)p;
            pl->mv_from[pl->n_moves] = o[fi++];
            pl->mv_to[pl->n_moves] = nw[r];
            pl->n_moves++;
        }
    }
    pl->map = h;
    pl->base_version = h->version;
    *out = pl;
    return UT_OK;
}

static size_t node_find(const ut_partition_node_t *nodes, size_t n, uint64_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (nodes[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

UT_API int ut_partitioner_plan_add(ut_partitioner_t *h, const ut_partition_node_t *node,
                                   ut_partition_plan_t **out)
{
    if (!valid(h))
        return UT_EINVAL;
    if (node == NULL || out == NULL)
        UT__FAIL(&h->base, UT_EINVAL, "plan_add: NULL argument");
    *out = NULL;
    if (node->id == 0 || node->weight == 0)
        UT__FAIL(&h->base, UT_EINVAL, "plan_add: node id 0 or zero weight");
    size_t at = node_find(h->nodes, h->n_nodes, node->id);
    if (at < h->n_nodes && h->nodes[at].id == node->id)
        UT__FAIL(&h->base, UT_EEXIST, "plan_add: node %llu already in the set",
                 (unsigned long long)node->id);
    if (check_points(h, h->nodes, h->n_nodes) != UT_OK ||
        (h->algo == UT_PARTITION_ALGO_RING && (uint64_t)h->vnodes * node->weight > MAX_POINTS) ||
        (h->algo == UT_PARTITION_ALGO_MAGLEV && h->maglev_size < h->n_nodes + 1))
        UT__FAIL(&h->base, UT_EINVAL, "plan_add: too many ring points or nodes for the table");
    ut_partition_node_t *nn = ut__malloc((h->n_nodes + 1) * sizeof *nn);
    if (nn == NULL)
        UT__FAIL(&h->base, UT_ENOMEM, "plan_add: out of memory");
    memcpy(nn, h->nodes, at * sizeof *nn);
    nn[at] = *node;
    memcpy(nn + at + 1, h->nodes + at, (h->n_nodes - at) * sizeof *nn);
    if (check_points(h, nn, h->n_nodes + 1) != UT_OK) {
        ut__free(nn);
        UT__FAIL(&h->base, UT_EINVAL, "plan_add: too many ring points");
    }
    return make_plan(h, nn, h->n_nodes + 1, out, "plan_add");
}

UT_API int ut_partitioner_plan_remove(ut_partitioner_t *h, uint64_t id, ut_partition_plan_t **out)
{
    if (!valid(h))
        return UT_EINVAL;
    if (out == NULL)
        UT__FAIL(&h->base, UT_EINVAL, "plan_remove: NULL argument");
    *out = NULL;
    size_t at = node_find(h->nodes, h->n_nodes, id);
    if (at == h->n_nodes || h->nodes[at].id != id)
        UT__FAIL(&h->base, UT_ENOTFOUND, "plan_remove: no node %llu", (unsigned long long)id);
    if (h->n_nodes - 1 < h->replicas || h->n_nodes == 1)
        UT__FAIL(&h->base, UT_ERANGE, "plan_remove: fewer nodes than the replication factor");
    ut_partition_node_t *nn = ut__malloc((h->n_nodes - 1) * sizeof *nn);
    if (nn == NULL)
        UT__FAIL(&h->base, UT_ENOMEM, "plan_remove: out of memory");
    memcpy(nn, h->nodes, at * sizeof *nn);
    memcpy(nn + at, h->nodes + at + 1, (h->n_nodes - at - 1) * sizeof *nn);
    return make_plan(h, nn, h->n_nodes - 1, out, "plan_remove");
}

UT_API int ut_partitioner_plan_reweight(ut_partitioner_t *h, uint64_t id, uint32_t weight,
                                        ut_partition_plan_t **out)
{
    if (!valid(h))
        return UT_EINVAL;
    if (out == NULL)
        UT__FAIL(&h->base, UT_EINVAL, "plan_reweight: NULL argument");
    *out = NULL;
    if (weight == 0)
        UT__FAIL(&h->base, UT_EINVAL, "plan_reweight: zero weight");
    size_t at = node_find(h->nodes, h->n_nodes, id);
    if (at == h->n_nodes || h->nodes[at].id != id)
        UT__FAIL(&h->base, UT_ENOTFOUND, "plan_reweight: no node %llu", (unsigned long long)id);
    ut_partition_node_t *nn = ut__malloc(h->n_nodes * sizeof *nn);
    if (nn == NULL)
        UT__FAIL(&h->base, UT_ENOMEM, "plan_reweight: out of memory");
    memcpy(nn, h->nodes, h->n_nodes * sizeof *nn);
    nn[at].weight = weight;
    if (check_points(h, nn, h->n_nodes) != UT_OK) {
        ut__free(nn);
        UT__FAIL(&h->base, UT_EINVAL, "plan_reweight: too many ring points");
    }
    return make_plan(h, nn, h->n_nodes, out, "plan_reweight");
}

UT_API int ut_partitioner_apply(ut_partitioner_t *h, ut_partition_plan_t *plan)
{
    if (!valid(h))
        return UT_EINVAL;
    if (plan == NULL || plan->magic != UT__PLAN_MAGIC || plan->nodes == NULL || plan->map != h)
        UT__FAIL(&h->base, UT_EINVAL, "apply: not a pending plan for this map");
    if (plan->base_version != h->version)
        UT__FAIL(&h->base, UT_ESTALE, "apply: plan made against version %llu, map is at %llu",
                 (unsigned long long)plan->base_version, (unsigned long long)h->version);
    ut__free(h->nodes);
    ut__free(h->owners);
    h->nodes = plan->nodes;
    h->n_nodes = plan->n_nodes;
    h->owners = plan->owners;
    plan->nodes = NULL;
    plan->owners = NULL;
    h->version++;
    ut__trace(&h->tracer, UT_TRACE_INFO, "partition", 0, "map-changed", "apply", h->version,
              h->count);
    return UT_OK;
}

UT_API size_t ut_partition_plan_count(const ut_partition_plan_t *plan)
{
    return plan != NULL && plan->magic == UT__PLAN_MAGIC ? plan->n_moves : 0;
}

UT_API uint64_t ut_partition_plan_base_version(const ut_partition_plan_t *plan)
{
    return plan != NULL && plan->magic == UT__PLAN_MAGIC ? plan->base_version : 0;
}

UT_API int ut_partition_plan_move(const ut_partition_plan_t *plan, size_t i, uint32_t *partition_id,
                                  uint64_t *from, uint64_t *to)
{
    if (plan == NULL || plan->magic != UT__PLAN_MAGIC || partition_id == NULL || from == NULL ||
        to == NULL)
        return UT_EINVAL;
    if (i >= plan->n_moves)
        return UT_ENOTFOUND;
    *partition_id = plan->mv_part[i];
    *from = plan->mv_from[i];
    *to = plan->mv_to[i];
    return UT_OK;
}

/* --- range split / merge / suggestions ---------------------------------- */

/* Replace the boundaries (and counters, owners) in one step once every
 * allocation has succeeded. */
static int range_replace(ut_partitioner_t *h, bkey_t *nb, size_t n_nb, uint64_t *sb, uint64_t *sl,
                         const char *what)
{
    uint64_t *own, *smp;
    size_t ns;
    int rc = make_samples(nb, n_nb, &smp, &ns);
    if (rc == UT_OK) {
        rc = build_owners(h, h->nodes, h->n_nodes, nb, (uint32_t)n_nb + 1, &own);
        if (rc != UT_OK)
            ut__free(smp);
    }
    if (rc != UT_OK) {
        ut__free(sb);
        ut__free(sl);
        return ut__handle_fail(&h->base, rc, "%s: out of memory", what);
    }
    ut__free(h->sample);
    h->sample = smp;
    h->n_sample = ns;
    ut__free(h->bounds);
    ut__free(h->st_bytes);
    ut__free(h->st_load);
    ut__free(h->owners);
    h->bounds = nb;
    h->n_bounds = n_nb;
    h->st_bytes = sb;
    h->st_load = sl;
    h->owners = own;
    h->count = (uint32_t)n_nb + 1;
    h->version++;
    ut__trace(&h->tracer, UT_TRACE_INFO, "partition", 0, "map-changed", what, h->version, h->count);
    return UT_OK;
}

UT_API int ut_partitioner_split(ut_partitioner_t *h, const void *key, size_t len)
{
    if (!valid(h))
        return UT_EINVAL;
    if (key == NULL && len > 0)
        UT__FAIL(&h->base, UT_EINVAL, "split: NULL key");
    if (h->strategy != UT_PARTITION_RANGE)
        UT__FAIL(&h->base, UT_ESTATE, "split: not a range map");
    if (len == 0)
        UT__FAIL(&h->base, UT_EEXIST, "split: the empty key starts the first partition");
    uint32_t at = range_find(h->bounds, h->n_bounds, h->sample, h->n_sample, key, len);
    if (at > 0 && keycmp(h->bounds[at - 1].data, h->bounds[at - 1].len, key, len) == 0)
        UT__FAIL(&h->base, UT_EEXIST, "split: key is already a boundary");
    if (h->n_bounds + 1 >= MAX_PARTS)
        UT__FAIL(&h->base, UT_EINVAL, "split: too many partitions");
    size_t n = h->n_bounds + 1;
    bkey_t *nb = ut__malloc(n * sizeof *nb);
    uint8_t *kd = ut__malloc(len);
    uint64_t *sb = ut__calloc(n + 1, sizeof *sb);
    uint64_t *sl = ut__calloc(n + 1, sizeof *sl);
    if (nb == NULL || kd == NULL || sb == NULL || sl == NULL) {
        ut__free(nb);
        ut__free(kd);
        ut__free(sb);
        ut__free(sl);
        UT__FAIL(&h->base, UT_ENOMEM, "split: out of memory");
    }
    memcpy(kd, key, len);
    memcpy(nb, h->bounds, at * sizeof *nb);
    nb[at].data = kd;
    nb[at].len = len;
    nb[at].pre = key_prefix(kd, len);
    memcpy(nb + at + 1, h->bounds + at, (h->n_bounds - at) * sizeof *nb);
    /* Counters: the halves share the parent's until the caller reports. */
    for (size_t i = 0, j = 0; i <= h->n_bounds; i++, j++) {
        if (i == at) {
            sb[j] = h->st_bytes[i] / 2;
            sl[j] = h->st_load[i] / 2;
            j++;
            sb[j] = h->st_bytes[i] - h->st_bytes[i] / 2;
            sl[j] = h->st_load[i] - h->st_load[i] / 2;
        } else {
            sb[j] = h->st_bytes[i];
            sl[j] = h->st_load[i];
        }
    }
    int rc = range_replace(h, nb, n, sb, sl, "split");
    if (rc != UT_OK) {
        ut__free(nb);
        ut__free(kd);
    }
    return rc;
}

UT_API int ut_partitioner_merge(ut_partitioner_t *h, uint32_t partition_id)
{
    if (!valid(h))
        return UT_EINVAL;
    if (h->strategy != UT_PARTITION_RANGE)
        UT__FAIL(&h->base, UT_ESTATE, "merge: not a range map");
    if ((size_t)partition_id >= h->n_bounds)
        UT__FAIL(&h->base, UT_ENOTFOUND, "merge: partition %u has no right neighbour",
                 (unsigned)partition_id);
    size_t n = h->n_bounds - 1;
    bkey_t *nb = ut__malloc(n * sizeof *nb + 1);
    uint64_t *sb = ut__calloc(n + 1, sizeof *sb);
    uint64_t *sl = ut__calloc(n + 1, sizeof *sl);
    if (nb == NULL || sb == NULL || sl == NULL) {
        ut__free(nb);
        ut__free(sb);
        ut__free(sl);
        UT__FAIL(&h->base, UT_ENOMEM, "merge: out of memory");
    }
    memcpy(nb, h->bounds, partition_id * sizeof *nb);
    memcpy(nb + partition_id, h->bounds + partition_id + 1,
           (h->n_bounds - partition_id - 1) * sizeof *nb);
    for (size_t i = 0, j = 0; i <= h->n_bounds; i++) {
        sb[j] += h->st_bytes[i];
        sl[j] += h->st_load[i];
        if (i != partition_id)
            j++;
    }
    uint8_t *gone = h->bounds[partition_id].data;
    int rc = range_replace(h, nb, n, sb, sl, "merge");
    if (rc != UT_OK) {
        ut__free(nb);
        return rc;
    }
    ut__free(gone);
    return UT_OK;
}

UT_API int ut_partitioner_report(ut_partitioner_t *h, uint32_t partition_id, uint64_t bytes,
                                 uint64_t load)
{
    if (!valid(h))
        return UT_EINVAL;
    if (h->strategy != UT_PARTITION_RANGE)
        UT__FAIL(&h->base, UT_ESTATE, "report: not a range map");
    if (partition_id >= h->count)
        UT__FAIL(&h->base, UT_ENOTFOUND, "report: no partition %u", (unsigned)partition_id);
    h->st_bytes[partition_id] = bytes;
    h->st_load[partition_id] = load;
    return UT_OK;
}

UT_API int ut_partitioner_suggest(const ut_partitioner_t *h, uint64_t split_bytes,
                                  uint64_t split_load, ut_partition_suggestion_t *kind,
                                  uint32_t *partition_id)
{
    if (!valid(h) || kind == NULL || partition_id == NULL || split_bytes == 0 || split_load == 0)
        return UT_EINVAL;
    if (h->strategy != UT_PARTITION_RANGE)
        return UT_ESTATE;
    *kind = UT_PARTITION_SUGGEST_NONE;
    *partition_id = 0;
    /* Hysteresis (as in HBase/CockroachDB range split and merge queues):
     * merge only below a quarter of the split thresholds, so the merged
     * partition is at most half a split threshold and the halves of a
     * split (half a threshold each, together one) are never merged back. */
    for (uint32_t i = 0; i < h->count; i++)
        if (h->st_bytes[i] > split_bytes || h->st_load[i] > split_load) {
            *kind = UT_PARTITION_SUGGEST_SPLIT;
            *partition_id = i;
            return UT_OK;
        }
    for (uint32_t i = 0; i + 1 < h->count; i++)
        if (h->st_bytes[i] + h->st_bytes[i + 1] < split_bytes / 4 &&
            h->st_load[i] + h->st_load[i + 1] < split_load / 4) {
            *kind = UT_PARTITION_SUGGEST_MERGE;
            *partition_id = i;
            return UT_OK;
        }
    return UT_OK;
}

/* --- serialisation ----------------------------------------------------- */

#define MAP_MAGIC "UTPM"
#define MAP_FORMAT 1u
#define MAP_HDR 52u

static size_t encoded_size(const ut_partitioner_t *h)
{
    size_t s = MAP_HDR + h->n_nodes * 16 + 4;
    for (size_t i = 0; i < h->n_bounds; i++)
        s += 4 + h->bounds[i].len;
    s += 8;
    for (size_t i = 0; i < h->n_lvals; i++)
        s += 8 + h->lvals[i].len;
    return s + 4;
}

UT_API int ut_partitioner_encode(const ut_partitioner_t *h, void *buf, size_t cap, size_t *len)
{
    if (!valid(h) || len == NULL || (buf == NULL && cap > 0))
        return UT_EINVAL;
    size_t need = encoded_size(h);
    *len = need;
    if (cap < need)
        return UT_ERANGE;
    uint8_t *b = buf, *p = buf;
    memcpy(p, MAP_MAGIC, 4);
    p[4] = MAP_FORMAT & 0xff;
    p[5] = 0;
    p[6] = 0; /* minor */
    p[7] = 0;
    put_le64(p + 8, h->version);
    p[16] = (uint8_t)h->strategy;
    p[17] = (uint8_t)h->algo;
    p[18] = (uint8_t)h->first_level;
    p[19] = h->ldefault ? 1 : 0;
    put_le32(p + 20, h->replicas);
    put_le32(p + 24, h->hash_parts);
    put_le32(p + 28, h->vnodes);
    put_le32(p + 32, h->maglev_size);
    uint64_t eb;
    memcpy(&eb, &h->eps, 8);
    put_le64(p + 36, eb);
    put_le32(p + 44, h->n_lists);
    put_le32(p + 48, (uint32_t)h->n_nodes);
    p += MAP_HDR;
    for (size_t i = 0; i < h->n_nodes; i++, p += 16) {
        put_le64(p, h->nodes[i].id);
        put_le32(p + 8, h->nodes[i].weight);
        put_le32(p + 12, h->nodes[i].zone);
    }
    put_le32(p, (uint32_t)h->n_bounds);
    p += 4;
    for (size_t i = 0; i < h->n_bounds; i++) {
        put_le32(p, (uint32_t)h->bounds[i].len);
        memcpy(p + 4, h->bounds[i].data, h->bounds[i].len);
        p += 4 + h->bounds[i].len;
    }
    put_le32(p, (uint32_t)h->n_lvals);
    put_le32(p + 4, 0);
    p += 8;
    for (size_t i = 0; i < h->n_lvals; i++) {
        put_le32(p, h->lpart[i]);
        put_le32(p + 4, (uint32_t)h->lvals[i].len);
        memcpy(p + 8, h->lvals[i].data, h->lvals[i].len);
        p += 8 + h->lvals[i].len;
    }
    put_le32(p, ut_crc32c(0, b, (size_t)(p - b)));
    return UT_OK;
}

UT_API int ut_partitioner_decode(ut_partitioner_t **out, const void *buf, size_t len)
{
    if (out == NULL)
        return UT_EINVAL;
    *out = NULL;
    if (buf == NULL)
        return UT_EINVAL;
    const uint8_t *b = buf;
    if (len < MAP_HDR + 12 + 4 || memcmp(b, MAP_MAGIC, 4) != 0)
        return UT_ECORRUPT;
    if (get_le32(b + len - 4) != ut_crc32c(0, b, len - 4))
        return UT_ECORRUPT;
    if ((b[4] | b[5] << 8) != MAP_FORMAT)
        return UT_EVERSION;
    ut_partitioner_config_t cfg;
    ut_partitioner_config_init(&cfg, UT_PARTITIONER_CONFIG_VERSION);
    uint64_t version = get_le64(b + 8);
    cfg.strategy = (ut_partition_strategy_t)b[16];
    cfg.algorithm = (ut_partition_algo_t)b[17];
    cfg.first_level = (ut_partition_strategy_t)b[18];
    if (b[19] > 1 || version == 0)
        return UT_ECORRUPT;
    cfg.list_default = b[19] == 1;
    cfg.replicas = get_le32(b + 20);
    cfg.partitions = get_le32(b + 24);
    cfg.vnodes = get_le32(b + 28);
    cfg.maglev_size = get_le32(b + 32);
    uint64_t eb = get_le64(b + 36);
    memcpy(&cfg.load_epsilon, &eb, 8);
    cfg.n_lists = get_le32(b + 44);
    size_t nn = get_le32(b + 48);
    const uint8_t *p = b + MAP_HDR, *end = b + len - 4;
    if (nn == 0 || nn > (size_t)(end - p) / 16)
        return UT_ECORRUPT;
    int rc = UT_ENOMEM;
    ut_partition_node_t *nodes = ut__malloc(nn * sizeof *nodes);
    ut_partition_key_t *keys = NULL;
    uint32_t *lp = NULL;
    if (nodes == NULL)
        return UT_ENOMEM;
    for (size_t i = 0; i < nn; i++, p += 16) {
        nodes[i].id = get_le64(p);
        nodes[i].weight = get_le32(p + 8);
        nodes[i].zone = get_le32(p + 12);
    }
    rc = UT_ECORRUPT;
    if (end - p < 4)
        goto out;
    size_t nbnd = get_le32(p);
    p += 4;
    if (nbnd > (size_t)(end - p) / 4)
        goto out;
    rc = UT_ENOMEM;
    keys = ut__malloc((nbnd ? nbnd : 1) * sizeof *keys);
    if (keys == NULL)
        goto out;
    rc = UT_ECORRUPT;
    for (size_t i = 0; i < nbnd; i++) {
        if (end - p < 4)
            goto out;
        size_t kl = get_le32(p);
        if (kl > (size_t)(end - p) - 4)
            goto out;
        keys[i].data = p + 4;
        keys[i].len = kl;
        p += 4 + kl;
    }
    if (end - p < 8)
        goto out;
    size_t nlv = get_le32(p);
    p += 8;
    if (nlv > (size_t)(end - p) / 8)
        goto out;
    ut_partition_key_t *lv = NULL;
    if (nlv) {
        rc = UT_ENOMEM;
        lv = ut__malloc(nlv * sizeof *lv);
        lp = ut__malloc(nlv * sizeof *lp);
        if (lv == NULL || lp == NULL) {
            ut__free(lv);
            goto out;
        }
        rc = UT_ECORRUPT;
        for (size_t i = 0; i < nlv; i++) {
            if (end - p < 8) {
                ut__free(lv);
                goto out;
            }
            lp[i] = get_le32(p);
            size_t kl = get_le32(p + 4);
            if (kl > (size_t)(end - p) - 8) {
                ut__free(lv);
                goto out;
            }
            lv[i].data = p + 8;
            lv[i].len = kl;
            p += 8 + kl;
        }
    }
    if (p != end) {
        ut__free(lv);
        goto out;
    }
    cfg.nodes = nodes;
    cfg.n_nodes = nn;
    cfg.bounds = keys;
    cfg.n_bounds = nbnd;
    cfg.list_values = lv;
    cfg.list_partition = lp;
    cfg.n_list_values = nlv;
    const char *why;
    ut_partitioner_t *h = NULL;
    rc = build(&h, &cfg, &why);
    ut__free(lv);
    if (rc == UT_EINVAL)
        rc = UT_ECORRUPT;
    if (rc == UT_OK) {
        h->version = version;
        *out = h;
    }
out:
    ut__free(nodes);
    ut__free(keys);
    ut__free(lp);
    return rc;
}
