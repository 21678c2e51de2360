/* SPDX-License-Identifier: MIT */
/* The lock service's properties (lock_check.h), shared by utsim's lock
 * scenario and tests/test_lock_cluster.c. */
#include "lock_check.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Encoded command layout (docs/locks.md): version u8, op u8, flags u16,
 * limit u32, ttl u64, wait u64, resource length u16, holder length u16,
 * reserved u32, then the two names. */
#define CMD_HEADER 32u

__attribute__((format(printf, 3, 4))) static void fail(lkc_t *k, const char *inv, const char *fmt,
                                                       ...)
{
    if (k->failed)
        return;
    k->failed = true;
    k->invariant = inv;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(k->detail, sizeof k->detail, fmt, ap);
    va_end(ap);
}

int lkc_init(lkc_t *k, unsigned nres, const char *const *names, unsigned nclients,
             uint64_t lock_delay_ms)
{
    if (!k || nres == 0 || nres > LKC_MAX_RES || nclients > LKC_MAX_CLIENTS || !names)
        return -1;
    memset(k, 0, sizeof *k);
    k->nres = nres;
    k->nclients = nclients;
    k->lock_delay_ms = lock_delay_ms;
    for (unsigned r = 0; r < nres; r++) {
        k->res_name[r] = names[r];
        k->res_len[r] = strlen(names[r]);
        k->acc_client[r] = -1;
    }
    for (unsigned c = 0; c < LKC_MAX_CLIENTS; c++)
        k->waiting_on[c] = -1;
    return 0;
}

void lkc_free(lkc_t *k)
{
    if (!k)
        return;
    for (unsigned r = 0; r < LKC_MAX_RES; r++)
        free(k->grants[r]);
    free(k->hash);
    free(k->snap);
    free(k->ev);
    memset(k, 0, sizeof *k);
}

int lkc_res_of(const lkc_t *k, const void *name, size_t len)
{
    for (unsigned r = 0; r < k->nres; r++)
        if (len == k->res_len[r] && memcmp(name, k->res_name[r], len) == 0)
            return (int)r;
    return -1;
}

int lkc_client_of(const lkc_t *k, const void *name, size_t len)
{
    const unsigned char *p = name;
    if (!p || len < 2 || len > 3 || p[0] != 'c')
        return -1;
    unsigned v = 0;
    for (size_t i = 1; i < len; i++) {
        if (p[i] < '0' || p[i] > '9' || (i == 1 && p[i] == '0' && len > 2))
            return -1;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    return v < k->nclients ? (int)v : -1;
}

const ut_lock_event_t *lkc_take_events(lkc_t *k, ut_lock_table_t *t, size_t *n)
{
    *n = 0;
    ut_lock_event_t e;
    while (ut_lock_table_next_event(t, &e) == UT_OK) {
        if (*n == k->capev) {
            size_t nc = k->capev ? 2 * k->capev : 16;
            ut_lock_event_t *b = realloc(k->ev, nc * sizeof *b);
            if (!b) {
                k->oom = true;
                return k->ev;
            }
            k->ev = b;
            k->capev = nc;
        }
        k->ev[(*n)++] = e;
    }
    return k->ev;
}

static void q_remove(lkc_t *k, int r, int c)
{
    for (size_t i = 0; i < k->nq[r]; i++)
        if (k->queue[r][i] == c) {
            memmove(&k->queue[r][i], &k->queue[r][i + 1], (k->nq[r] - i - 1) * sizeof(int));
            k->nq[r]--;
            return;
        }
}

static void note_grant(lkc_t *k, int r, int c, uint64_t token, bool from_queue, uint64_t now)
{
    k->checks++;
    /* Chubby §2.4: after a lease lapses the lock stays unavailable for the
     * lock-delay. */
    if (now < k->delay_until[r])
        fail(k, "lock-delay",
             "resource %s granted to c%d at %" PRIu64 " ms (table time), inside its lock-delay "
             "(until %" PRIu64 ")",
             k->res_name[r], c, now, k->delay_until[r]);
    /* Chubby §2.4: a sequencer names one grant; a later grant of the same
     * lock must carry a larger one, or a fenced server cannot tell them
     * apart. */
    if (token <= k->last_token[r])
        fail(k, "token-order",
             "resource %s: token %" PRIu64 " granted to c%d after token %" PRIu64
             " (not increasing)",
             k->res_name[r], token, c, k->last_token[r]);
    if (token > k->last_token[r])
        k->last_token[r] = token;
    k->n_grants++;
    if (from_queue) {
        if (k->nq[r] == 0 || k->queue[r][0] != c)
            fail(k, "fifo", "resource %s: c%d granted out of FIFO order (head c%d)", k->res_name[r],
                 c, k->nq[r] ? k->queue[r][0] : -1);
        q_remove(k, r, c);
        k->waiting_on[c] = -1;
    }
    k->holder[r][c] = true;
    k->hold_token[r][c] = token;
    int n = 0;
    for (unsigned i = 0; i < k->nclients; i++)
        n += k->holder[r][i];
    if (n > 1)
        fail(k, "mutual-exclusion", "resource %s: %d exclusive holders after c%d's grant",
             k->res_name[r], n, c);
    if (k->ngrants[r] == k->capgrants[r]) {
        size_t nc = k->capgrants[r] ? 2 * k->capgrants[r] : 64;
        lkc_grant_t *g = realloc(k->grants[r], nc * sizeof *g);
        if (!g) {
            k->oom = true;
            return;
        }
        k->grants[r] = g;
        k->capgrants[r] = nc;
    }
    k->grants[r][k->ngrants[r]++] = (lkc_grant_t){token, c};
}

/* Whether `from`, waiting, reaches `target` in the wait-for graph: a
 * waiter waits for the holders of its resource and for the waiters queued
 * before it (FIFO). */
static bool dl_reach(const lkc_t *k, int from, int target, unsigned depth)
{
    if (depth > k->nclients)
        return false;
    int r = k->waiting_on[from];
    if (r < 0)
        return false;
    for (unsigned i = 0; i < k->nclients; i++) {
        bool edge = k->holder[r][i];
        for (size_t q = 0; q < k->nq[r] && k->queue[r][q] != from; q++)
            edge = edge || k->queue[r][q] == (int)i;
        if (edge && ((int)i == target || dl_reach(k, (int)i, target, depth + 1)))
            return true;
    }
    return false;
}

void lkc_observe(lkc_t *k, const void *cmdp, size_t len, const ut_lock_reply_t *rp,
                 size_t cycle_len, const ut_lock_event_t *ev, size_t nev, uint64_t table_now)
{
    const unsigned char *cmd = cmdp;
    int op = len >= CMD_HEADER ? cmd[1] : 0;
    if (op && op != UT_LOCK_OP_TICK && rp->status == UT_OK) {
        size_t rl = (size_t)cmd[24] | ((size_t)cmd[25] << 8);
        size_t hl = (size_t)cmd[26] | ((size_t)cmd[27] << 8);
        int r = CMD_HEADER + rl + hl <= len ? lkc_res_of(k, cmd + CMD_HEADER, rl) : -1;
        int c = r >= 0 ? lkc_client_of(k, cmd + CMD_HEADER + rl, hl) : -1;
        if (r >= 0 && c >= 0) {
            if (op == UT_LOCK_OP_ACQUIRE) {
                if (rp->result == UT_LOCK_CONFLICT && !rp->queued) {
                    k->n_conflicts++;
                    k->n_deadlocks += cycle_len > 0;
                }
                if (rp->queued) {
                    k->n_queued++;
                    if (k->nq[r] < LKC_MAX_QUEUE)
                        k->queue[r][k->nq[r]++] = c;
                    else
                        k->oom = true;
                    k->waiting_on[c] = r;
                } else if (rp->result == UT_LOCK_ACQUIRED) {
                    note_grant(k, r, c, rp->token, false, table_now);
                }
            } else if (op == UT_LOCK_OP_RELEASE) {
                if (k->waiting_on[c] == r) {
                    q_remove(k, r, c);
                    k->waiting_on[c] = -1;
                } else {
                    k->holder[r][c] = false;
                }
            }
        }
    }
    for (size_t e = 0; e < nev; e++) {
        int r = lkc_res_of(k, ev[e].resource, ev[e].resource_len);
        int c = lkc_client_of(k, ev[e].holder, ev[e].holder_len);
        if (r < 0 || c < 0)
            continue;
        switch (ev[e].type) {
        case UT_LOCK_EV_GRANTED:
            note_grant(k, r, c, ev[e].token, true, table_now);
            break;
        case UT_LOCK_EV_EXPIRED:
            k->holder[r][c] = false;
            k->n_expired++;
            /* Chubby §2.4: the lock-delay counts from the lapse. */
            if (k->lock_delay_ms && ev[e].expires_ms + k->lock_delay_ms > k->delay_until[r])
                k->delay_until[r] = ev[e].expires_ms + k->lock_delay_ms;
            break;
        default:
            k->n_timeouts++;
            q_remove(k, r, c);
            k->waiting_on[c] = -1;
            break;
        }
    }
    for (unsigned c = 0; c < k->nclients; c++) {
        k->checks++;
        if (dl_reach(k, (int)c, (int)c, 0))
            fail(k, "deadlock", "c%u waits for itself through the wait-for graph", c);
    }
    /* After a TICK every wait that is over has left and every free
     * resource has been given to its head waiter. */
    if (op == UT_LOCK_OP_TICK) {
        for (unsigned r = 0; r < k->nres; r++) {
            bool held = false;
            for (unsigned c = 0; c < k->nclients; c++)
                held = held || k->holder[r][c];
            k->checks++;
            if (k->nq[r] > 0 && !held && k->delay_until[r] <= table_now)
                fail(k, "lost-grant",
                     "resource %s is free at %" PRIu64 " ms (table time) with %zu waiters",
                     k->res_name[r], table_now, k->nq[r]);
        }
    }
}

void lkc_table(lkc_t *k, uint64_t node, const ut_lock_table_t *t)
{
    for (unsigned r = 0; r < k->nres; r++) {
        k->checks++;
        size_t n = ut_lock_table_holders(t, k->res_name[r], k->res_len[r]);
        if (n > 1)
            fail(k, "mutual-exclusion", "node %" PRIu64 ": resource %s has %zu exclusive holders",
                 node, k->res_name[r], n);
    }
}

void lkc_model_matches(lkc_t *k, const ut_lock_table_t *t)
{
    for (unsigned r = 0; r < k->nres; r++) {
        size_t h = 0;
        for (unsigned c = 0; c < k->nclients; c++)
            h += k->holder[r][c];
        size_t th = ut_lock_table_holders(t, k->res_name[r], k->res_len[r]);
        size_t tw = ut_lock_table_waiters(t, k->res_name[r], k->res_len[r]);
        k->checks++;
        if (th != h || tw != k->nq[r])
            fail(k, "lock-model",
                 "resource %s: the table has %zu holders and %zu waiters, the model from its "
                 "replies and events %zu and %zu",
                 k->res_name[r], th, tw, h, k->nq[r]);
    }
}

static uint64_t hash_bytes(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull ^ n;
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ull;
        h ^= h >> 29;
    }
    for (; n; p++, n--)
        h = (h ^ *p) * 0x100000001b3ull;
    h ^= h >> 31;
    return h | 1; /* 0 marks "not seen" */
}

void lkc_replica(lkc_t *k, uint64_t node, uint64_t index, const ut_lock_table_t *t)
{
    size_t n = 0;
    int rc = ut_lock_table_snapshot(t, k->snap, k->capsnap, &n);
    if (rc == UT_ERANGE) {
        unsigned char *b = realloc(k->snap, n);
        if (!b) {
            k->oom = true;
            return;
        }
        k->snap = b;
        k->capsnap = n;
        rc = ut_lock_table_snapshot(t, k->snap, k->capsnap, &n);
    }
    if (rc != UT_OK) {
        fail(k, "snapshot", "node %" PRIu64 ": snapshot after index %" PRIu64 ": %s", node, index,
             ut_strerror(rc));
        return;
    }
    if (index >= k->caphash) {
        size_t nc = k->caphash ? k->caphash : 1024;
        while (nc <= index)
            nc *= 2;
        uint64_t *a = realloc(k->hash, nc * sizeof *a);
        if (!a) {
            k->oom = true;
            return;
        }
        memset(a + k->caphash, 0, (nc - k->caphash) * sizeof *a);
        k->hash = a;
        k->caphash = nc;
    }
    uint64_t h = hash_bytes(k->snap, n);
    k->checks++;
    if (k->hash[index] == 0)
        k->hash[index] = h;
    else if (k->hash[index] != h)
        fail(k, "replica-agreement",
             "node %" PRIu64 ": table after index %" PRIu64 " differs from another replica's", node,
             index);
}

bool lkc_was_granted(const lkc_t *k, int r, int c, uint64_t token)
{
    if (r < 0 || r >= (int)k->nres)
        return false;
    /* Tokens increase per resource (checked), so the grants are sorted. */
    size_t lo = 0, hi = k->ngrants[r];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (k->grants[r][mid].token < token)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < k->ngrants[r] && k->grants[r][lo].token == token; lo++)
        if (k->grants[r][lo].client == c)
            return true;
    return false;
}

void lkc_write(lkc_t *k, int r, int c, uint64_t token, int fence_rc)
{
    k->checks++;
    if (fence_rc == UT_ESTALE) {
        k->n_stale++;
        if (token >= k->acc_token[r])
            fail(k, "fence",
                 "resource %s: the fence refused c%d's token %" PRIu64
                 " though the newest accepted is %" PRIu64,
                 k->res_name[r], c, token, k->acc_token[r]);
        return;
    }
    if (fence_rc != UT_OK) {
        fail(k, "fence", "resource %s: ut_fence_check: %s", k->res_name[r], ut_strerror(fence_rc));
        return;
    }
    k->n_accepted++;
    /* Mutual exclusion as the resource sees it (Kleppmann's fencing): the
     * writes it accepts carry tokens in grant order, each the writer's own. */
    if (!lkc_was_granted(k, r, c, token))
        fail(k, "fenced-write", "resource %s accepted c%d's token %" PRIu64 ", never granted to it",
             k->res_name[r], c, token);
    else if (token < k->acc_token[r])
        fail(k, "fenced-write",
             "resource %s accepted c%d's stale token %" PRIu64 " after token %" PRIu64,
             k->res_name[r], c, token, k->acc_token[r]);
    else if (token == k->acc_token[r] && c != k->acc_client[r])
        fail(k, "fenced-write",
             "resource %s accepted token %" PRIu64 " from c%d and from c%d: two holders of one "
             "grant",
             k->res_name[r], token, k->acc_client[r], c);
    if (token >= k->acc_token[r]) {
        k->acc_token[r] = token;
        k->acc_client[r] = c;
    }
}

void lkc_idle(lkc_t *k)
{
    for (unsigned r = 0; r < k->nres; r++) {
        k->checks++;
        if (k->nq[r] != 0)
            fail(k, "lost-grant", "resource %s: %zu still queued after the quiet period",
                 k->res_name[r], k->nq[r]);
    }
}
