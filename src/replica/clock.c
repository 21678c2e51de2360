/* SPDX-License-Identifier: MIT */
/* Vector clocks, dotted version vectors and the hybrid logical clock.
 * Sources are named in include/unitypes/clock.h; each rule below names its
 * paper and figure. */
#include "internal.h"

#include "unitypes/clock.h"

#include "replica/vclock_fast.h"

#if UT__VC_X86
#    include <immintrin.h>
#endif

const char *ut_clock_order_name(ut_clock_order_t v)
{
    switch (v) {
    case UT_CLOCK_EQUAL:
        return "equal";
    case UT_CLOCK_BEFORE:
        return "before";
    case UT_CLOCK_AFTER:
        return "after";
    case UT_CLOCK_CONCURRENT:
        return "concurrent";
    }
    return "?";
}

/* A well-formed clock: n in range, nodes non-zero and strictly ascending,
 * counters non-zero (absent = 0, so a zero entry would have two forms). */
static bool ut__vc_ok(const ut_vclock_t *vc)
{
    if (vc == NULL || vc->n > UT_VCLOCK_MAX)
        return false;
    uint64_t prev = 0;
    for (uint32_t i = 0; i < vc->n; i++) {
        if (vc->e[i].node <= prev || vc->e[i].counter == 0)
            return false;
        prev = vc->e[i].node;
    }
    return true;
}

int ut_vclock_init(ut_vclock_t *vc)
{
    if (vc == NULL)
        return UT_EINVAL;
    memset(vc, 0, sizeof *vc);
    return UT_OK;
}

/* Index of node, or of the slot it would be inserted at (*found false). */
static uint32_t ut__vc_find(const ut_vclock_t *vc, uint64_t node, bool *found)
{
    uint32_t lo = 0, hi = vc->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (vc->e[mid].node < node)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < vc->n && vc->e[lo].node == node;
    return lo;
}

int ut_vclock_increment(ut_vclock_t *vc, uint64_t node)
{
    if (!ut__vc_ok(vc) || node == 0)
        return UT_EINVAL;
    bool found;
    uint32_t i = ut__vc_find(vc, node, &found);
    if (found) {
        if (vc->e[i].counter == UINT64_MAX)
            return UT_ERANGE;
        vc->e[i].counter++;
        return UT_OK;
    }
    if (vc->n == UT_VCLOCK_MAX)
        return UT_EFULL;
    memmove(&vc->e[i + 1], &vc->e[i], (vc->n - i) * sizeof vc->e[0]);
    vc->e[i].node = node;
    vc->e[i].counter = 1;
    vc->n++;
    return UT_OK;
}

uint64_t ut_vclock_get(const ut_vclock_t *vc, uint64_t node)
{
    if (!ut__vc_ok(vc) || node == 0)
        return 0;
    bool found;
    uint32_t i = ut__vc_find(vc, node, &found);
    return found ? vc->e[i].counter : 0;
}

int ut_vclock_merge(ut_vclock_t *dst, const ut_vclock_t *src)
{
    if (!ut__vc_ok(dst) || !ut__vc_ok(src))
        return UT_EINVAL;
    /* Count the union first, so a merge that does not fit changes nothing. */
    uint32_t i = 0, j = 0, n = 0;
    while (i < dst->n || j < src->n) {
        if (j == src->n || (i < dst->n && dst->e[i].node < src->e[j].node))
            i++;
        else if (i == dst->n || src->e[j].node < dst->e[i].node)
            j++;
        else
            i++, j++;
        n++;
    }
    if (n > UT_VCLOCK_MAX)
        return UT_EFULL;
    /* Merge from the back, in place: the result never overtakes the input. */
    int64_t a = (int64_t)dst->n - 1, b = (int64_t)src->n - 1, k = (int64_t)n - 1;
    while (b >= 0) {
        if (a >= 0 && dst->e[a].node > src->e[b].node) {
            dst->e[k--] = dst->e[a--];
        } else if (a >= 0 && dst->e[a].node == src->e[b].node) {
            if (src->e[b].counter > dst->e[a].counter)
                dst->e[a].counter = src->e[b].counter;
            dst->e[k--] = dst->e[a--];
            b--;
        } else {
            dst->e[k--] = src->e[b--];
        }
    }
    dst->n = n;
    return UT_OK;
}

/* ---- the compare's fast path (vclock_fast.h) ----
 * For two clocks of n entries each that name the same nodes (clocks of
 * one group usually do): no branch per entry, every test the top bit of a
 * 64-bit difference. It answers only when it has proved both clocks well
 * formed and their nodes equal, and returns -1 otherwise (the exact walk
 * then decides, and refuses what is malformed). For entry i, with prev the
 * node of a's entry i-1 (0 for the first):
 *   hi:  an | x has its top bit clear: an, x < 2^63;
 *   asc: prev - an, prev - bn, 0 - x, 0 - y all have it set: an and bn in
 *        (prev, prev + 2^63], x and y in [1, 2^63], so (with an < 2^63)
 *        a's nodes ascend from 1 and no counter is 0;
 *   lt, gt: x - y, y - x; on the node: an - bn, bn - an.
 * Within those ranges every difference is smaller than 2^63 in size, so
 * its top bit is exactly its sign: the node differences say whether the
 * nodes differ, x - y < 0 that a is behind b there, y - x < 0 ahead. The
 * vector versions hold an entry in 128 bits (lane 0 the node, lane 1 the
 * counter) and do both lanes at once, prev being [node, 0]. */
static int ut__vc_order(bool lt, bool gt)
{
    return lt ? (gt ? UT_CLOCK_CONCURRENT : UT_CLOCK_BEFORE)
              : (gt ? UT_CLOCK_AFTER : UT_CLOCK_EQUAL);
}

int ut__replica_vc_same_scalar(const ut_vclock_entry_t *a, const ut_vclock_entry_t *b, uint32_t n)
{
    uint64_t hi = 0, asc = UINT64_MAX, neq = 0, lt = 0, gt = 0, prev = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t an = a[i].node, bn = b[i].node, x = a[i].counter, y = b[i].counter;
        hi |= an | x;
        asc &= (prev - an) & (prev - bn) & (0 - x) & (0 - y);
        neq |= (an - bn) | (bn - an);
        lt |= x - y;
        gt |= y - x;
        prev = an;
    }
    if (((hi | ~asc | neq) >> 63) != 0)
        return -1;
    return ut__vc_order(lt >> 63, gt >> 63);
}

#if UT__VC_X86
/* One entry: x, y its two halves, *prev = [previous node, 0]. */
static inline void ut__vc_step128(__m128i x, __m128i y, __m128i *prev, __m128i *hi, __m128i *asc,
                                  __m128i *lt, __m128i *gt)
{
    *hi = _mm_or_si128(*hi, x);
    *asc = _mm_and_si128(*asc, _mm_and_si128(_mm_sub_epi64(*prev, x), _mm_sub_epi64(*prev, y)));
    *lt = _mm_or_si128(*lt, _mm_sub_epi64(x, y));
    *gt = _mm_or_si128(*gt, _mm_sub_epi64(y, x));
    *prev = _mm_move_epi64(x);
}

static int ut__vc_finish128(__m128i hi, __m128i asc, __m128i lt, __m128i gt)
{
    int mh = _mm_movemask_pd(_mm_castsi128_pd(hi));
    int ma = _mm_movemask_pd(_mm_castsi128_pd(asc));
    int ml = _mm_movemask_pd(_mm_castsi128_pd(lt));
    int mg = _mm_movemask_pd(_mm_castsi128_pd(gt));
    if (mh != 0 || ma != 3 || ((ml | mg) & 1) != 0)
        return -1;
    return ut__vc_order((ml & 2) != 0, (mg & 2) != 0);
}

int ut__replica_vc_same_sse2(const ut_vclock_entry_t *a, const ut_vclock_entry_t *b, uint32_t n)
{
    __m128i hi = _mm_setzero_si128(), lt = hi, gt = hi, prev = hi, asc = _mm_set1_epi64x(-1);
    for (uint32_t i = 0; i < n; i++)
        ut__vc_step128(_mm_loadu_si128((const __m128i *)(const void *)&a[i]),
                       _mm_loadu_si128((const __m128i *)(const void *)&b[i]), &prev, &hi, &asc, &lt,
                       &gt);
    return ut__vc_finish128(hi, asc, lt, gt);
}

/* AVX2: two entries per 256-bit register (lanes 0 and 2 nodes, 1 and 3
 * counters), with signed 64-bit compares, which are exact because the same
 * compares prove every value below 2^63. For the pair at entry i, prev is
 * [node i-1, 0, node i, 0] (an unaligned load one entry back, masked; [0,
 * 0, node 0, 0] for the first pair), and
 *   ok:     x > prev and y > prev, signed, in every lane: a's nodes ascend
 *           from 1 and b's nodes exceed a's previous node, all below 2^63;
 *           every counter of both in [1, 2^63);
 *   lt, gt: x - y and y - x, whose top bit is then exactly their sign: a
 *           node lane with either set means the nodes differ; a counter
 *           lane, that a is behind (lt) or ahead (gt) there.
 * An odd n ends with the pair (n - 2, n - 1), overlapping the one before
 * (checking an entry twice changes nothing); n = 1 takes the entry in both
 * halves with prev 0. Two loads per pair, 9 operations, no branch. */
#    define UT__VC_LD256(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
__attribute__((target("avx2"))) static inline void
ut__vc_pair256(__m256i x, __m256i y, __m256i prev, __m256i *ok, __m256i *lt, __m256i *gt)
{
    *ok = _mm256_and_si256(
        *ok, _mm256_and_si256(_mm256_cmpgt_epi64(x, prev), _mm256_cmpgt_epi64(y, prev)));
    *lt = _mm256_or_si256(*lt, _mm256_sub_epi64(x, y));
    *gt = _mm256_or_si256(*gt, _mm256_sub_epi64(y, x));
}

__attribute__((target("avx2"))) static inline __attribute__((always_inline)) int
ut__vc_same256(const ut_vclock_entry_t *a, const ut_vclock_entry_t *b, uint32_t n)
{
    if (n == 0)
        return UT_CLOCK_EQUAL;
    if (n > UT_VCLOCK_MAX)
        return -1;
    const __m256i nodes = _mm256_set_epi64x(0, -1, 0, -1);
    __m256i ok = _mm256_set1_epi64x(-1), lt = _mm256_setzero_si256(), gt = lt;
    if (n == 1) {
        __m256i x = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)a));
        __m256i y = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)b));
        ut__vc_pair256(x, y, _mm256_setzero_si256(), &ok, &lt, &gt);
    } else {
        __m256i x = UT__VC_LD256(a), y = UT__VC_LD256(b);
        ut__vc_pair256(x, y, _mm256_and_si256(_mm256_permute2x128_si256(x, x, 0x08), nodes), &ok,
                       &lt, &gt);
        uint32_t i = 2;
#    if defined(__GNUC__) && !defined(__clang__)
#        pragma GCC unroll 4
#    endif
        for (; i + 2 <= n; i += 2)
            ut__vc_pair256(UT__VC_LD256(a + i), UT__VC_LD256(b + i),
                           _mm256_and_si256(UT__VC_LD256(a + i - 1), nodes), &ok, &lt, &gt);
        if (i < n) /* odd n >= 3: the last two entries */
            ut__vc_pair256(UT__VC_LD256(a + n - 2), UT__VC_LD256(b + n - 2),
                           _mm256_and_si256(UT__VC_LD256(a + n - 3), nodes), &ok, &lt, &gt);
    }
    int mo = _mm256_movemask_pd(_mm256_castsi256_pd(ok));
    int ml = _mm256_movemask_pd(_mm256_castsi256_pd(lt));
    int mg = _mm256_movemask_pd(_mm256_castsi256_pd(gt));
    if (mo != 15 || ((ml | mg) & 5) != 0)
        return -1;
    return ut__vc_order((ml & 10) != 0, (mg & 10) != 0);
}

__attribute__((target("avx2"))) int ut__replica_vc_same_avx2(const ut_vclock_entry_t *a,
                                                             const ut_vclock_entry_t *b, uint32_t n)
{
    return ut__vc_same256(a, b, n);
}

/* ut_vclock_compare on a CPU with AVX2 (and not AVX-512F). */
__attribute__((target("avx2"))) static int
ut__vc_compare256(const ut_vclock_t *a, const ut_vclock_t *b, ut_clock_order_t *out)
{
    int o = a->n == b->n ? ut__vc_same256(a->e, b->e, a->n) : -1;
    if (o < 0)
        return ut__replica_vc_walk(a, b, out);
    *out = (ut_clock_order_t)o;
    return UT_OK;
}

bool ut__replica_vc_have_avx2(void)
{
    return __builtin_cpu_supports("avx2");
}

/* AVX-512F: four entries per 512-bit register (even lanes nodes, odd lanes
 * counters) and unsigned compares into mask registers, so no range needs
 * proving and nothing is declined but what is malformed or names other
 * nodes. Chunk k holds entries 4k .. 4k + 3; prev has the node of the entry
 * before each in its node lanes (0 before entry 0) and 0 in its counter
 * lanes, and for the lanes that hold entries (lm; the last chunk may be
 * partial):
 *   ok:     min(x, y) > prev: a's and b's nodes above a's previous node,
 *           both counters above 0;
 *   lt, gt: x < y, x > y: on a node lane, the nodes differ (so the ok test
 *           proved b's nodes ascending too when none does); on a counter
 *           lane, a is behind or ahead there.
 * Every load is of whole entries below UT_VCLOCK_MAX (the caller passes the
 * e arrays of two ut_vclock_t); lanes beyond n are masked out. */
__attribute__((target("avx512f"))) static inline __attribute__((always_inline)) int
ut__vc_same512(const ut_vclock_entry_t *a, const ut_vclock_entry_t *b, uint32_t n)
{
    /* Lanes of the last chunk that hold entries, by n % 4. */
    static const __mmask8 last_lanes[4] = {0xff, 0x03, 0x0f, 0x3f};
    if (n == 0)
        return UT_CLOCK_EQUAL;
    if (n > UT_VCLOCK_MAX)
        return -1;
    __mmask8 ok = 0xff, lt = 0, gt = 0, lm = last_lanes[n & 3];
    __m512i x = _mm512_loadu_si512((const void *)a), y = _mm512_loadu_si512((const void *)b);
    /* [0, 0, node 0, 0, node 1, 0, node 2, 0] */
    __m512i prev = _mm512_maskz_alignr_epi64(0x55, x, _mm512_setzero_si512(), 6);
    for (uint32_t i = 4; i < n; i += 4) { /* the chunk before i is whole */
        ok = _mm512_mask_cmpgt_epu64_mask(ok, _mm512_min_epu64(x, y), prev);
        lt = (__mmask8)(lt | _mm512_cmplt_epu64_mask(x, y));
        gt = (__mmask8)(gt | _mm512_cmpgt_epu64_mask(x, y));
        x = _mm512_loadu_si512((const void *)(a + i));
        y = _mm512_loadu_si512((const void *)(b + i));
        prev = _mm512_maskz_loadu_epi64(0x55, (const void *)(a + i - 1));
    }
    /* ok stays 0xff over the whole chunks only if each passed; the last
     * chunk passes if its lanes do. */
    __mmask8 ok_last = _mm512_mask_cmpgt_epu64_mask(lm, _mm512_min_epu64(x, y), prev);
    lt = (__mmask8)(lt | _mm512_mask_cmplt_epu64_mask(lm, x, y));
    gt = (__mmask8)(gt | _mm512_mask_cmpgt_epu64_mask(lm, x, y));
    if (ok != 0xff || ok_last != lm || ((lt | gt) & 0x55) != 0)
        return -1;
    return ut__vc_order(lt != 0, gt != 0);
}

__attribute__((target("avx512f"))) int
ut__replica_vc_same_avx512(const ut_vclock_entry_t *a, const ut_vclock_entry_t *b, uint32_t n)
{
    return ut__vc_same512(a, b, n);
}

/* ut_vclock_compare on a CPU with AVX-512F: the fast path, else the walk
 * (a tail call). */
__attribute__((target("avx512f"))) static int
ut__vc_compare512(const ut_vclock_t *a, const ut_vclock_t *b, ut_clock_order_t *out)
{
    int o = a->n == b->n ? ut__vc_same512(a->e, b->e, a->n) : -1;
    if (o < 0)
        return ut__replica_vc_walk(a, b, out);
    *out = (ut_clock_order_t)o;
    return UT_OK;
}

bool ut__replica_vc_have_avx512(void)
{
    return __builtin_cpu_supports("avx512f");
}
#endif

/* Every version proves both clocks well formed before it answers, so the
 * promise of clock.h (a malformed clock is refused with UT_EINVAL, never
 * read out of bounds) holds whichever runs: what a fast path cannot vouch
 * for goes to the walk, which refuses it. */
int ut_vclock_compare(const ut_vclock_t *a, const ut_vclock_t *b, ut_clock_order_t *out)
{
    if (a == NULL || b == NULL || out == NULL)
        return UT_EINVAL;
#if UT__VC_X86
    if (__builtin_cpu_supports("avx512f"))
        return ut__vc_compare512(a, b, out);
    if (__builtin_cpu_supports("avx2"))
        return ut__vc_compare256(a, b, out);
#endif
    if (a->n == b->n && a->n <= UT_VCLOCK_MAX) {
#if UT__VC_X86
        int o = ut__replica_vc_same_sse2(a->e, b->e, a->n);
#else
        int o = ut__replica_vc_same_scalar(a->e, b->e, a->n);
#endif
        if (o >= 0) {
            *out = (ut_clock_order_t)o;
            return UT_OK;
        }
    }
    return ut__replica_vc_walk(a, b, out);
}

/* The exact walk (vclock_fast.h): any two clocks, malformed ones refused. */
__attribute__((noinline)) int ut__replica_vc_walk(const ut_vclock_t *a, const ut_vclock_t *b,
                                                  ut_clock_order_t *out)
{
    if (a->n > UT_VCLOCK_MAX || b->n > UT_VCLOCK_MAX)
        return UT_EINVAL;
    /* a <= b iff every counter of a is <= b's (Mattern 1989, §4). The
     * well-formedness check (ascending non-zero nodes, non-zero counters)
     * is folded into the one merge walk: only n bounds the reads. */
    bool a_less = false, b_less = false; /* some entry where a < b, b < a */
    uint64_t pa = 0, pb = 0;
    uint32_t i = 0, j = 0;
    /* Fast path: the common prefix where both clocks name the same nodes
     * (clocks of one group usually do), without the three-way node test. */
    uint32_t common = a->n < b->n ? a->n : b->n;
    for (; i < common && a->e[i].node == b->e[i].node; i++) {
        uint64_t x = a->e[i].counter, y = b->e[i].counter;
        if (a->e[i].node <= pa || x == 0 || y == 0)
            return UT_EINVAL;
        a_less |= x < y;
        b_less |= x > y;
        pa = a->e[i].node;
    }
    pb = pa;
    j = i;
    while (i < a->n && j < b->n) {
        const ut_vclock_entry_t *x = &a->e[i], *y = &b->e[j];
        if (x->node == y->node) {
            if (x->node <= pa || x->counter == 0 || y->counter == 0)
                return UT_EINVAL;
            a_less |= x->counter < y->counter;
            b_less |= x->counter > y->counter;
            pa = pb = x->node;
            i++, j++;
        } else if (x->node < y->node) {
            if (x->node <= pa || x->counter == 0)
                return UT_EINVAL;
            b_less = true; /* b has 0 there */
            pa = x->node;
            i++;
        } else {
            if (y->node <= pb || y->counter == 0)
                return UT_EINVAL;
            a_less = true;
            pb = y->node;
            j++;
        }
    }
    for (; i < a->n; i++, b_less = true) {
        if (a->e[i].node <= pa || a->e[i].counter == 0)
            return UT_EINVAL;
        pa = a->e[i].node;
    }
    for (; j < b->n; j++, a_less = true) {
        if (b->e[j].node <= pb || b->e[j].counter == 0)
            return UT_EINVAL;
        pb = b->e[j].node;
    }
    *out = a_less ? (b_less ? UT_CLOCK_CONCURRENT : UT_CLOCK_BEFORE)
                  : (b_less ? UT_CLOCK_AFTER : UT_CLOCK_EQUAL);
    return UT_OK;
}

/* ---- dotted version vectors (Almeida et al. 2014, the DVVSet) ---- */

static bool ut__dvv_ok(const ut_dvv_t *d)
{
    if (d == NULL || !ut__vc_ok(&d->past) || d->n > UT_DVV_MAX_SIBLINGS)
        return false;
    /* Every sibling's dot is inside the key's past. */
    for (uint32_t i = 0; i < d->n; i++) {
        if (d->s[i].dot.node == 0 || d->s[i].dot.counter == 0 ||
            d->s[i].dot.counter > ut_vclock_get(&d->past, d->s[i].dot.node))
            return false;
    }
    return true;
}

int ut_dvv_init(ut_dvv_t *d)
{
    if (d == NULL)
        return UT_EINVAL;
    memset(d, 0, sizeof *d);
    return UT_OK;
}

static bool ut__dot_covered(const ut_vclock_t *vc, ut_dot_t dot)
{
    return dot.counter <= ut_vclock_get(vc, dot.node);
}

int ut_dvv_put(ut_dvv_t *d, const ut_vclock_t *ctx, uint64_t node, uint64_t value, ut_dot_t *out)
{
    if (!ut__dvv_ok(d) || !ut__vc_ok(ctx) || node == 0)
        return UT_EINVAL;
    /* A context is a past this key handed out, so it cannot be ahead. */
    ut_clock_order_t ord;
    (void)ut_vclock_compare(ctx, &d->past, &ord);
    if (ord == UT_CLOCK_AFTER || ord == UT_CLOCK_CONCURRENT)
        return UT_EINVAL;
    /* Siblings the client saw (dot covered by its context) are replaced;
     * the rest stay as concurrent values (DVVSet "update", §5). */
    ut_dvv_t next = *d;
    next.n = 0;
    for (uint32_t i = 0; i < d->n; i++)
        if (!ut__dot_covered(ctx, d->s[i].dot))
            next.s[next.n++] = d->s[i];
    if (next.n == UT_DVV_MAX_SIBLINGS)
        return UT_EFULL;
    int rc = ut_vclock_increment(&next.past, node);
    if (rc != UT_OK)
        return rc;
    ut_dot_t dot = {node, ut_vclock_get(&next.past, node)};
    next.s[next.n].dot = dot;
    next.s[next.n].value = value;
    next.n++;
    *d = next;
    if (out != NULL)
        *out = dot;
    return UT_OK;
}

int ut_dvv_sync(ut_dvv_t *d, const ut_dvv_t *other)
{
    if (!ut__dvv_ok(d) || !ut__dvv_ok(other))
        return UT_EINVAL;
    ut_dvv_t next = *d;
    if (ut_vclock_merge(&next.past, &other->past) != UT_OK)
        return UT_EFULL;
    next.n = 0;
    /* Keep a sibling of either side unless the other side has seen its dot
     * and dropped it (it was overwritten there). */
    for (int side = 0; side < 2; side++) {
        const ut_dvv_t *mine = side == 0 ? d : other;
        const ut_dvv_t *theirs = side == 0 ? other : d;
        for (uint32_t i = 0; i < mine->n; i++) {
            ut_dot_t dot = mine->s[i].dot;
            bool held = false;
            for (uint32_t j = 0; j < theirs->n; j++)
                if (theirs->s[j].dot.node == dot.node && theirs->s[j].dot.counter == dot.counter)
                    held = true;
            if (held && side == 1)
                continue; /* already taken from d */
            if (!held && ut__dot_covered(&theirs->past, dot))
                continue;
            if (next.n == UT_DVV_MAX_SIBLINGS)
                return UT_EFULL;
            next.s[next.n++] = mine->s[i];
        }
    }
    *d = next;
    return UT_OK;
}

/* ---- hybrid logical clock (Kulkarni et al. 2014, Fig. 5) ---- */

int ut_hlc_init(ut_hlc_t *h, uint64_t max_offset_ms)
{
    if (h == NULL)
        return UT_EINVAL;
    memset(h, 0, sizeof *h);
    h->max_offset_ms = max_offset_ms;
    return UT_OK;
}

uint64_t ut_hlc_physical(uint64_t ts)
{
    return ts >> 16;
}

uint32_t ut_hlc_logical(uint64_t ts)
{
    return (uint32_t)(ts & UT_HLC_LOGICAL_MAX);
}

int ut_hlc_now(ut_hlc_t *h, uint64_t pt_ms, uint64_t *out)
{
    if (h == NULL || out == NULL)
        return UT_EINVAL;
    if (pt_ms > UT_HLC_PHYSICAL_MAX)
        return UT_ERANGE;
    /* l' := max(l, pt); c := l' == l ? c + 1 : 0. */
    uint64_t l = h->l > pt_ms ? h->l : pt_ms;
    uint32_t c = 0;
    if (l == h->l) {
        if (h->c == UT_HLC_LOGICAL_MAX)
            return UT_ERANGE; /* the paper bounds c; 16 bits is ours */
        c = h->c + 1;
    }
    h->l = l;
    h->c = c;
    *out = l << 16 | c;
    return UT_OK;
}

int ut_hlc_update(ut_hlc_t *h, uint64_t pt_ms, uint64_t remote, uint64_t *out)
{
    if (h == NULL || out == NULL)
        return UT_EINVAL;
    if (pt_ms > UT_HLC_PHYSICAL_MAX)
        return UT_ERANGE;
    uint64_t lm = ut_hlc_physical(remote);
    uint32_t cm = ut_hlc_logical(remote);
    /* A clock too far ahead would drag ours with it (§5: HLC assumes a
     * bound epsilon on clock offset; CockroachDB refuses beyond max offset). */
    if (lm > pt_ms && lm - pt_ms > h->max_offset_ms)
        return UT_ERANGE;
    uint64_t l = h->l;
    if (lm > l)
        l = lm;
    if (pt_ms > l)
        l = pt_ms;
    uint64_t c;
    if (l == h->l && l == lm)
        c = (uint64_t)(h->c > cm ? h->c : cm) + 1;
    else if (l == h->l)
        c = (uint64_t)h->c + 1;
    else if (l == lm)
        c = (uint64_t)cm + 1;
    else
        c = 0;
    if (c > UT_HLC_LOGICAL_MAX)
        return UT_ERANGE;
    h->l = l;
    h->c = (uint32_t)c;
    *out = l << 16 | c;
    return UT_OK;
}
