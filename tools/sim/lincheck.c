/* SPDX-License-Identifier: MIT */
/* Linearizability checker: see lincheck.h for the model and the algorithm. */
#include "lincheck.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

#define LC_MAX_MEMO_BYTES ((size_t)1 << 30)

const char *lc_verdict_name(lc_verdict_t v)
{
    switch (v) {
    case LC_LINEARIZABLE:
        return "linearizable";
    case LC_VIOLATION:
        return "NOT linearizable";
    case LC_INCONCLUSIVE:
        return "inconclusive (search budget exhausted)";
    case LC_BADINPUT:
        return "bad history";
    }
    return "?";
}

const char *lc_kind_name(lc_kind_t k)
{
    switch (k) {
    case LC_GET:
        return "get";
    case LC_PUT:
        return "put";
    case LC_CAS:
        return "cas";
    }
    return "?";
}

const char *lc_outcome_name(lc_outcome_t o)
{
    switch (o) {
    case LC_OK:
        return "ok";
    case LC_FAILED:
        return "failed";
    case LC_UNKNOWN:
        return "unknown";
    }
    return "?";
}

void lc_op_describe(const lc_op_t *o, char *buf, size_t cap)
{
    char resp[32];
    if (o->outcome == LC_UNKNOWN || o->response == LC_INF)
        snprintf(resp, sizeof resp, "inf");
    else
        snprintf(resp, sizeof resp, "%" PRIu64, o->response);
    switch (o->kind) {
    case LC_GET:
        snprintf(buf, cap, "c%" PRIu32 " get(k%" PRIu32 ") -> %" PRId64 " %s [%" PRIu64 ", %s]",
                 o->client, o->key, o->value, lc_outcome_name((lc_outcome_t)o->outcome), o->invoke,
                 resp);
        break;
    case LC_PUT:
        snprintf(buf, cap, "c%" PRIu32 " put(k%" PRIu32 ", %" PRId64 ") %s [%" PRIu64 ", %s]",
                 o->client, o->key, o->value, lc_outcome_name((lc_outcome_t)o->outcome), o->invoke,
                 resp);
        break;
    case LC_CAS: {
        char saw[40] = "";
        if (o->outcome == LC_OK && !o->cas_ok && o->seen_known)
            snprintf(saw, sizeof saw, " saw %" PRId64, o->seen);
        snprintf(
            buf, cap,
            "c%" PRIu32 " cas(k%" PRIu32 ", %" PRId64 " -> %" PRId64 ") %s%s%s [%" PRIu64 ", %s]",
            o->client, o->key, o->expected, o->value, lc_outcome_name((lc_outcome_t)o->outcome),
            o->outcome == LC_OK ? (o->cas_ok ? " swapped" : " not-swapped") : "", saw, o->invoke,
            resp);
        break;
    }
    default:
        snprintf(buf, cap, "c%" PRIu32 " ?", o->client);
    }
}

/* ---- per-key search structures ---------------------------------------- */

typedef struct lc_ev {
    uint64_t time;
    uint32_t op;  /* local op id */
    uint32_t ret; /* 0 call, 1 return */
} lc_ev_t;

typedef struct lc_node {
    uint32_t prev, next;
    uint32_t op;    /* local op id */
    uint32_t ret;   /* 0 call, 1 return */
    uint32_t match; /* call: node of its return */
} lc_node_t;

typedef struct lc_slot {
    uint64_t hash; /* 0 = empty (real hashes are forced non-zero) */
    int64_t state;
    size_t off; /* word offset of the bitset in the arena */
} lc_slot_t;

typedef struct lc_cache {
    lc_slot_t *slots;
    size_t cap, used;
    uint64_t *arena;
    size_t arena_len, arena_cap;
    size_t words;
    bool exact;
} lc_cache_t;

typedef struct lc_frame {
    uint32_t node;
    bool eager; /* linearized by the read-only rule: no alternatives here */
    int64_t state;
} lc_frame_t;

/* Events in time order. A call at the same instant as a return is taken as
 * concurrent with it (calls first): the permissive reading of a tie. */
static bool ev_before(const lc_ev_t *x, const lc_ev_t *y)
{
    if (x->time != y->time)
        return x->time < y->time;
    if (x->ret != y->ret)
        return x->ret < y->ret;
    return x->op < y->op;
}

/* Sorts a[0..n) by ev_before with tmp (n / 2 elements) as scratch: a merge
 * sort with the comparison inlined, several times cheaper than qsort with a
 * comparison callback. ev_before is a total order ((op, ret) is unique), so
 * the result is the one any correct sort gives. */
static void ev_sort(lc_ev_t *a, lc_ev_t *tmp, size_t n)
{
    if (n <= 16) {
        for (size_t i = 1; i < n; i++) {
            lc_ev_t v = a[i];
            size_t j = i;
            for (; j > 0 && ev_before(&v, &a[j - 1]); j--)
                a[j] = a[j - 1];
            a[j] = v;
        }
        return;
    }
    size_t h = n / 2;
    ev_sort(a, tmp, h);
    ev_sort(a + h, tmp, n - h);
    if (!ev_before(&a[h], &a[h - 1]))
        return; /* already in order */
    memcpy(tmp, a, h * sizeof *a);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        a[k++] = ev_before(&a[j], &tmp[i]) ? a[j++] : tmp[i++];
    while (i < h)
        a[k++] = tmp[i++];
}

static uint64_t mix64(uint64_t v)
{
    uint64_t x = v;
    return sim_splitmix64(&x);
}

static int cache_grow(lc_cache_t *c)
{
    size_t ncap = c->cap ? c->cap * 2 : 1024;
    if (ncap * sizeof(lc_slot_t) > LC_MAX_MEMO_BYTES)
        return -2;
    lc_slot_t *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return -1;
    for (size_t i = 0; i < c->cap; i++) {
        if (!c->slots[i].hash)
            continue;
        size_t j = c->slots[i].hash & (ncap - 1);
        while (ns[j].hash)
            j = (j + 1) & (ncap - 1);
        ns[j] = c->slots[i];
    }
    free(c->slots);
    c->slots = ns;
    c->cap = ncap;
    return 0;
}

/* Returns 1 if inserted (new configuration), 0 if already seen, -1 ENOMEM,
 * -2 memo full. In fingerprint mode a configuration is known by its value
 * and two independent 64-bit hashes of its set, not by the set itself: a
 * collision could only hide a path (never invent one), and a violation
 * found that way is re-checked exactly (see lc_check). */
static int cache_insert(lc_cache_t *c, uint64_t hash, uint64_t hash2, int64_t state,
                        const uint64_t *bits)
{
    if ((c->used + 1) * 2 > c->cap) {
        int g = cache_grow(c);
        if (g != 0)
            return g;
    }
    uint64_t h = hash ^ mix64((uint64_t)state);
    if (!h)
        h = 1;
    size_t j = h & (c->cap - 1);
    while (c->slots[j].hash) {
        lc_slot_t *s = &c->slots[j];
        if (s->hash == h && s->state == state &&
            (c->exact ? memcmp(c->arena + s->off, bits, c->words * sizeof *bits) == 0
                      : s->off == hash2))
            return 0;
        j = (j + 1) & (c->cap - 1);
    }
    if (!c->exact) {
        c->slots[j].hash = h;
        c->slots[j].state = state;
        c->slots[j].off = hash2;
        c->used++;
        return 1;
    }
    if (c->arena_len + c->words > c->arena_cap) {
        /* Past LC_MAX_MEMO_BYTES the search is reported as inconclusive
         * rather than exhausting memory. */
        if ((c->arena_len + c->words) * sizeof *bits > LC_MAX_MEMO_BYTES)
            return -2;
        size_t ncap = c->arena_cap ? c->arena_cap * 2 : 4096;
        while (ncap < c->arena_len + c->words)
            ncap *= 2;
        uint64_t *na = realloc(c->arena, ncap * sizeof *na);
        if (!na)
            return -1;
        c->arena = na;
        c->arena_cap = ncap;
    }
    memcpy(c->arena + c->arena_len, bits, c->words * sizeof *bits);
    c->slots[j].hash = h;
    c->slots[j].state = state;
    c->slots[j].off = c->arena_len;
    c->arena_len += c->words;
    c->used++;
    return 1;
}

/* The register's sequential specification. */
static bool model_step(const lc_op_t *o, int64_t state, int64_t *next)
{
    switch (o->kind) {
    case LC_GET:
        *next = state;
        return state == o->value;
    case LC_PUT:
        *next = o->value;
        return true;
    case LC_CAS:
        if (o->outcome == LC_OK && !o->cas_ok) {
            /* A refused CAS read the register: the value it saw, if
             * known, and in any case not the one it expected. */
            *next = state;
            return state != o->expected && (!o->seen_known || state == o->seen);
        }
        /* A swap that happened, or an unknown one linearized here: it must
         * have seen the expected value. (An unknown CAS that saw another
         * value changed nothing, which is the same as not linearizing it.) */
        *next = o->value;
        return state == o->expected;
    }
    return false;
}

static void lift(lc_node_t *l, uint32_t c)
{
    uint32_t r = l[c].match;
    l[l[c].prev].next = l[c].next;
    l[l[c].next].prev = l[c].prev;
    l[l[r].prev].next = l[r].next;
    l[l[r].next].prev = l[r].prev;
}

static void unlift(lc_node_t *l, uint32_t c)
{
    uint32_t r = l[c].match;
    l[l[r].prev].next = r;
    l[l[r].next].prev = r;
    l[l[c].prev].next = c;
    l[l[c].next].prev = c;
}

static int i64_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : (x > y);
}

static size_t count_eq(const int64_t *v, size_t n, int64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t c = 0;
    while (lo + c < n && v[lo + c] == x)
        c++;
    return c;
}

enum { CLS_DEFINITE = 0, CLS_OPTIONAL = 1, CLS_MUST = 2, CLS_DROP = 3 };

/* Classify the unknown writes of one key, using the values they write:
 * - the value is read (or expected by a CAS that swapped) and no other op
 *   writes it: the write must have taken effect (CLS_MUST);
 * - nobody observes the value and no CAS on the key reported "not swapped":
 *   whether it took effect cannot matter, so it is dropped (removing it
 *   from any linearization leaves every other op's result valid);
 * - otherwise it stays optional. Returns -1 on allocation failure. */
static int classify(const lc_op_t *ops, const size_t *idx, size_t m, uint8_t *cls)
{
    int64_t *writes = malloc((m + 1) * sizeof *writes);
    int64_t *seen = malloc((m + 1) * sizeof *seen);
    if (!writes || !seen) {
        free(writes);
        free(seen);
        return -1;
    }
    size_t nw = 0, ns = 0;
    bool cas_refused = false;
    writes[nw++] = 0; /* the initial value */
    for (size_t j = 0; j < m; j++) {
        const lc_op_t *o = &ops[idx[j]];
        if (o->kind == LC_PUT || o->kind == LC_CAS)
            writes[nw++] = o->value;
        if (o->kind == LC_GET)
            seen[ns++] = o->value;
        else if (o->kind == LC_CAS && (o->outcome == LC_UNKNOWN || o->cas_ok))
            seen[ns++] = o->expected;
        else if (o->kind == LC_CAS && o->seen_known)
            seen[ns++] = o->seen; /* a refused CAS that reports what it saw */
    }
    qsort(writes, nw, sizeof *writes, i64_cmp);
    qsort(seen, ns, sizeof *seen, i64_cmp);
    /* A refused CAS that only says "not the expected value" constrains the
     * register if the value it expected can actually be there: dropping an
     * unobserved write could then make it wrong. One that reports the value
     * it saw is an observation like a read (above). */
    for (size_t j = 0; j < m && !cas_refused; j++) {
        const lc_op_t *o = &ops[idx[j]];
        if (o->kind == LC_CAS && o->outcome == LC_OK && !o->cas_ok && !o->seen_known &&
            count_eq(writes, nw, o->expected) > 0)
            cas_refused = true;
    }
    for (size_t j = 0; j < m; j++) {
        const lc_op_t *o = &ops[idx[j]];
        if (o->outcome != LC_UNKNOWN) {
            cls[j] = CLS_DEFINITE;
            continue;
        }
        bool observed = count_eq(seen, ns, o->value) > 0;
        if (observed && count_eq(writes, nw, o->value) == 1 && o->kind == LC_PUT)
            cls[j] = CLS_MUST;
        else if (!observed && !cas_refused)
            cls[j] = CLS_DROP;
        else
            cls[j] = CLS_OPTIONAL;
    }
    free(writes);
    free(seen);
    return 0;
}

/* Search one key. idx[0..m) are input indexes of this key's ops. Returns 0
 * with *verdict set, or -1 on allocation failure. */
static int check_key(const lc_op_t *ops, const size_t *idx, size_t m, bool exact,
                     uint64_t max_steps, uint64_t *steps, lc_result_t *res)
{
    int rc = -1;
    uint8_t *cls0 = malloc(m ? m : 1);
    size_t *kept = malloc((m ? m : 1) * sizeof *kept);
    uint8_t *cls = malloc(m ? m : 1);
    if (!cls0 || !kept || !cls || classify(ops, idx, m, cls0) != 0) {
        free(cls0);
        free(kept);
        free(cls);
        return -1;
    }
    size_t mk = 0;
    for (size_t j = 0; j < m; j++) {
        if (cls0[j] == CLS_DROP)
            continue;
        cls[mk] = cls0[j];
        kept[mk++] = idx[j];
    }
    free(cls0);
    idx = kept;
    m = mk;
    lc_ev_t *ev = malloc(2 * m * sizeof *ev + 1);
    lc_ev_t *ev_tmp = malloc(m * sizeof *ev_tmp + 1);
    lc_node_t *l = malloc((2 * m + 1) * sizeof *l);
    uint64_t *z = malloc(m * sizeof *z + 1);
    uint64_t *z2 = malloc(m * sizeof *z2 + 1);
    lc_frame_t *stack = malloc(m * sizeof *stack + 1);
    size_t words = (m + 63) / 64;
    uint64_t *bits = calloc(words + 1, sizeof *bits);
    uint32_t *call_node = malloc(m * sizeof *call_node + 1);
    lc_cache_t cache = {0};
    cache.words = words;
    cache.exact = exact;
    if (!ev || !ev_tmp || !l || !z || !z2 || !stack || !bits || !call_node)
        goto out;

    size_t remaining = 0;
    for (size_t j = 0; j < m; j++) {
        const lc_op_t *o = &ops[idx[j]];
        bool unknown = cls[j] != CLS_DEFINITE;
        ev[2 * j].time = o->invoke;
        ev[2 * j].op = (uint32_t)j;
        ev[2 * j].ret = 0;
        ev[2 * j + 1].time = unknown ? LC_INF : o->response;
        ev[2 * j + 1].op = (uint32_t)j;
        ev[2 * j + 1].ret = 1;
        z[j] = mix64(0x5eed0000ull + j) | 1;
        z2[j] = mix64(0xfeed00000000ull + j) | 1;
        if (cls[j] != CLS_OPTIONAL)
            remaining++;
    }
    ev_sort(ev, ev_tmp, 2 * m);
    const uint32_t head = (uint32_t)(2 * m);
    for (uint32_t i = 0; i < 2 * m; i++) {
        l[i].op = ev[i].op;
        l[i].ret = ev[i].ret;
        l[i].prev = i == 0 ? head : i - 1;
        l[i].next = i + 1 == 2 * m ? head : i + 1;
        if (!ev[i].ret)
            call_node[ev[i].op] = i;
        else
            l[call_node[ev[i].op]].match = i;
    }
    l[head].next = m ? 0 : head;
    l[head].prev = m ? (uint32_t)(2 * m - 1) : head;

    size_t sp = 0, best = 0;
    size_t best_op = m ? idx[0] : 0;
    int64_t state = 0;
    uint64_t hash = 0, hash2 = 0;
    uint32_t e = l[head].next;
    /* Each configuration first tries the minimal calls that definitely took
     * effect (phase 0), then the unknown ones (phase 1): an unknown write is
     * only linearized when nothing else works, which keeps the memoised
     * sets from enumerating subsets of pending unknown writes. */
    int phase = 0;
    /* Partial-order reduction: at a new configuration, a minimal definite
     * op that does not change the register (a read, a refused CAS) and
     * agrees with its value can be linearized at once without trying the
     * alternatives: moving a read-only op earlier, to a point where all its
     * real-time predecessors are linearized and its result holds, keeps any
     * linearization valid. */
    bool fresh = true;
    bool dead = false; /* the current configuration has no way forward */
    while (remaining > 0) {
        if (++*steps > max_steps && max_steps) {
            res->verdict = LC_INCONCLUSIVE;
            rc = 0;
            goto out;
        }
        if (fresh) {
            fresh = false;
            for (uint32_t f = l[head].next; f != head && !l[f].ret; f = l[f].next) {
                uint32_t j = l[f].op;
                const lc_op_t *o = &ops[idx[j]];
                int64_t next;
                if (cls[j] != CLS_DEFINITE || o->kind == LC_PUT ||
                    (o->kind == LC_CAS && o->cas_ok) || !model_step(o, state, &next))
                    continue;
                bits[j / 64] |= 1ull << (j % 64);
                hash ^= z[j];
                hash2 ^= z2[j];
                int ins = cache_insert(&cache, hash, hash2, next, bits);
                if (ins == -2) {
                    res->verdict = LC_INCONCLUSIVE;
                    rc = 0;
                    goto out;
                }
                if (ins < 0)
                    goto out;
                if (!ins) {
                    /* Seen and failed: so does this configuration. */
                    bits[j / 64] &= ~(1ull << (j % 64));
                    hash ^= z[j];
                    hash2 ^= z2[j];
                    dead = true;
                    break;
                }
                stack[sp].node = f;
                stack[sp].eager = true;
                stack[sp].state = state;
                sp++;
                lift(l, f);
                remaining--;
                fresh = true;
                break;
            }
            if (fresh)
                continue;
            e = l[head].next;
            phase = 0;
        }
        if (!dead && e != head && !l[e].ret) {
            uint32_t j = l[e].op;
            const lc_op_t *o = &ops[idx[j]];
            int64_t next;
            if ((cls[j] != CLS_DEFINITE) == (phase == 1) && model_step(o, state, &next)) {
                bits[j / 64] |= 1ull << (j % 64);
                hash ^= z[j];
                hash2 ^= z2[j];
                int ins = cache_insert(&cache, hash, hash2, next, bits);
                if (ins == -2) {
                    res->verdict = LC_INCONCLUSIVE;
                    rc = 0;
                    goto out;
                }
                if (ins < 0)
                    goto out;
                if (ins) {
                    stack[sp].node = e;
                    stack[sp].eager = false;
                    stack[sp].state = state;
                    sp++;
                    state = next;
                    lift(l, e);
                    if (cls[j] != CLS_OPTIONAL)
                        remaining--;
                    fresh = true;
                    continue;
                }
                bits[j / 64] &= ~(1ull << (j % 64));
                hash ^= z[j];
                hash2 ^= z2[j];
            }
            e = l[e].next;
            continue;
        }
        /* A return (or the end): the op it closes was not linearized in
         * time on this path. Try the unknown calls, then backtrack. */
        if (!dead && phase == 0) {
            phase = 1;
            e = l[head].next;
            continue;
        }
        if (!dead && e != head && sp >= best) {
            best = sp;
            best_op = idx[l[e].op];
        }
        dead = false;
        bool eager;
        do {
            if (sp == 0) {
                res->verdict = LC_VIOLATION;
                res->op = best_op;
                res->depth = best;
                rc = 0;
                goto out;
            }
            sp--;
            e = stack[sp].node;
            eager = stack[sp].eager;
            state = stack[sp].state;
            uint32_t j = l[e].op;
            bits[j / 64] &= ~(1ull << (j % 64));
            hash ^= z[j];
            hash2 ^= z2[j];
            if (cls[j] != CLS_OPTIONAL)
                remaining++;
            phase = cls[j] != CLS_DEFINITE;
            unlift(l, e);
        } while (eager);
        e = l[e].next;
    }
    res->verdict = LC_LINEARIZABLE;
    rc = 0;
out:
    free(ev);
    free(ev_tmp);
    free(l);
    free(z);
    free(z2);
    free(stack);
    free(bits);
    free(call_node);
    free(kept);
    free(cls);
    free(cache.slots);
    free(cache.arena);
    return rc;
}

typedef struct lc_keyidx {
    uint32_t key;
    size_t idx;
} lc_keyidx_t;

static int keyidx_cmp(const void *a, const void *b)
{
    const lc_keyidx_t *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

int lc_check(const lc_op_t *ops, size_t n, uint64_t max_steps, lc_result_t *out)
{
    memset(out, 0, sizeof *out);
    out->verdict = LC_LINEARIZABLE;
    if (n == 0)
        return 0;
    if (!ops)
        return -1;
    lc_keyidx_t *ki = malloc(n * sizeof *ki);
    size_t *idx = malloc(n * sizeof *idx);
    if (!ki || !idx) {
        free(ki);
        free(idx);
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const lc_op_t *o = &ops[i];
        if (o->kind > LC_CAS || o->outcome > LC_UNKNOWN ||
            (o->outcome == LC_OK && o->response < o->invoke)) {
            out->verdict = LC_BADINPUT;
            out->key = o->key;
            out->op = i;
            free(ki);
            free(idx);
            return 0;
        }
        /* Failed ops never took effect; an unknown read constrains nothing. */
        if (o->outcome == LC_FAILED || (o->outcome == LC_UNKNOWN && o->kind == LC_GET))
            continue;
        ki[k].key = o->key;
        ki[k].idx = i;
        k++;
    }
    if (k > UINT32_MAX / 2 - 1) {
        out->verdict = LC_BADINPUT;
        free(ki);
        free(idx);
        return 0;
    }
    out->n_ops = k;
    qsort(ki, k, sizeof *ki, keyidx_cmp);
    int rc = 0;
    for (size_t a = 0; a < k;) {
        size_t b = a;
        while (b < k && ki[b].key == ki[a].key) {
            idx[b - a] = ki[b].idx;
            b++;
        }
        out->n_keys++;
        lc_result_t r = {0};
        if (check_key(ops, idx, b - a, false, max_steps, &out->steps, &r) != 0) {
            rc = -1;
            break;
        }
        if (r.verdict == LC_VIOLATION) {
            /* Confirm with exact sets: a fingerprint collision could have
             * pruned the one path that works. If memory runs out first,
             * the fingerprint verdict stands (collision odds ~2^-100). */
            lc_result_t x = {0};
            uint64_t xsteps = 0;
            if (check_key(ops, idx, b - a, true, max_steps, &xsteps, &x) != 0) {
                rc = -1;
                break;
            }
            if (x.verdict != LC_INCONCLUSIVE)
                r = x;
        }
        if (r.verdict != LC_LINEARIZABLE) {
            out->verdict = r.verdict;
            out->key = ki[a].key;
            out->op = r.op;
            out->depth = r.depth;
            break;
        }
        a = b;
    }
    free(ki);
    free(idx);
    return rc;
}
