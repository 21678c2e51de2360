/* SPDX-License-Identifier: MIT */
/* Vector clocks, dotted version vectors and the hybrid logical clock.
 * Sources are named in include/unitypes/clock.h; each rule below names its
 * paper and figure. */
#include "internal.h"

#include "unitypes/clock.h"

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

int ut_vclock_compare(const ut_vclock_t *a, const ut_vclock_t *b, ut_clock_order_t *out)
{
    if (a == NULL || b == NULL || out == NULL || a->n > UT_VCLOCK_MAX || b->n > UT_VCLOCK_MAX)
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
