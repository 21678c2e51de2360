/* SPDX-License-Identifier: MIT */
/* The lock table: a deterministic state machine over encoded commands.
 *
 * Model: Chubby (Burrows, "The Chubby lock service for loosely-coupled
 * distributed systems", OSDI 2006): a lock is held under a lease (§2.8
 * sessions and KeepAlives), each grant carries a sequencer that a resource
 * server checks (§2.4), and a lock whose holder failed stays unavailable
 * for a lock-delay (§2.4). Tokens come from one table-wide counter, like
 * etcd's revision, so they strictly increase per resource and across them.
 *
 * Determinism: the table reads no clock (time is an argument), allocates
 * only before it mutates, and walks resources in the order they became
 * active, so replicas applying the same log agree byte for byte. */
#include "lock/lock_internal.h"

#include "common/handle.h"
#include "common/trace.h"
#include "internal.h"

#define CMD_HEADER 32u
#define CMD_VERSION 1u
#define SNAP_MAGIC 0x544b4c55u /* "ULKT" */
#define SNAP_VERSION 1u
#define KNOWN_FLAGS (UT_LOCK_F_SHARED | UT_LOCK_F_REENTRANT | UT_LOCK_F_ALLOW_SHARED)
#define DEFAULT_MAX_WAITERS 65536u

typedef struct res res_t;

typedef struct sess {
    ut__lock_key_t key;
    res_t *waiting;    /* the one queue this holder waits in, or NULL */
    uint64_t dfs_mark; /* deadlock search epoch */
    struct sess *dfs_parent;
    unsigned char name[];
} sess_t;

typedef struct holder {
    sess_t *s;
    uint64_t token;
    uint64_t expires;
    uint32_t count;
    uint8_t shared;
} holder_t;

typedef struct waiter {
    sess_t *s;
    uint64_t ttl;
    uint64_t deadline;
    uint64_t lease_until;
    uint32_t flags;
} waiter_t;

struct res {
    ut__lock_key_t key;
    holder_t *h;
    size_t nh, caph;
    waiter_t *w;
    size_t nw, capw;
    uint64_t delay_until;
    uint32_t limit;
    uint8_t allow_shared;
    uint8_t active;
    res_t *aprev, *anext;
    unsigned char name[];
};

struct ut_lock_table {
    ut__handle_t base;
    ut__tracer_t tracer;
    uint64_t node; /* for trace events */
    uint64_t lock_delay;
    uint32_t max_waiters;
    uint64_t now;
    uint64_t last_token;
    ut__lock_map_t res;
    ut__lock_map_t sess;
    res_t *ahead, *atail;
    size_t nactive;
    ut_lock_event_t *ev;
    size_t nev, capev, evread;
    sess_t **stack; /* deadlock search, capacity >= sessions + 1 */
    size_t capstack;
    sess_t **cycle;
    size_t ncycle, capcycle;
    uint64_t dfs_epoch;
    /* The last resource and session a command named: repeated commands on
     * one lock (the acquire/release hot path) skip hashing. Entries are
     * never freed while the table lives, so these never dangle. */
    res_t *last_res;
    sess_t *last_sess;
};

typedef struct cmd {
    ut_lock_op_t op;
    uint32_t flags;
    uint32_t limit;
    uint64_t ttl, wait;
    const unsigned char *r;
    size_t rlen;
    const unsigned char *h;
    size_t hlen;
} cmd_t;

/* ---- config, new, free ------------------------------------------------- */

static const size_t table_config_size[UT_LOCK_TABLE_CONFIG_VERSION + 1] = {
    0, UT__LOCK_CFG_END(ut_lock_table_config_t, max_waiters), /* 1 */
    UT__LOCK_CFG_END(ut_lock_table_config_t, trace_arg),      /* 2: the trace hook */
};
_Static_assert(sizeof table_config_size / sizeof table_config_size[0] ==
                   UT_LOCK_TABLE_CONFIG_VERSION + 1,
               "one size per config version");

int ut_lock_table_config_init(ut_lock_table_config_t *cfg, unsigned version)
{
    if (cfg == NULL)
        return UT_EINVAL;
    if (version == 0 || version > UT_LOCK_TABLE_CONFIG_VERSION)
        return UT_EVERSION;
    /* Write only the bytes a struct of that version has. */
    ut_lock_table_config_t d;
    memset(&d, 0, sizeof d);
    d.version = version;
    memcpy(cfg, &d, table_config_size[version]);
    return UT_OK;
}

static void table_clear(ut_lock_table_t *t)
{
    for (size_t i = 0; i < t->res.cap; i++) {
        res_t *r = (res_t *)t->res.slots[i];
        if (r != NULL) {
            ut__free(r->h);
            ut__free(r->w);
            ut__free(r);
        }
    }
    for (size_t i = 0; i < t->sess.cap; i++)
        ut__free(t->sess.slots[i]);
    ut__lock_map_free(&t->res);
    ut__lock_map_free(&t->sess);
    ut__free(t->ev);
    ut__free(t->stack);
    ut__free(t->cycle);
}

int ut_lock_table_new(ut_lock_table_t **out, const ut_lock_table_config_t *cfg)
{
    if (out == NULL || cfg == NULL)
        return UT_EINVAL;
    if (cfg->version == 0 || cfg->version > UT_LOCK_TABLE_CONFIG_VERSION)
        return UT_EVERSION;
    /* Read only the fields the caller's version has. */
    ut_lock_table_config_t c;
    memset(&c, 0, sizeof c);
    memcpy(&c, cfg, table_config_size[cfg->version]);
    ut_lock_table_t *t = ut__calloc(1, sizeof *t);
    if (t == NULL)
        return UT_ENOMEM;
    ut__handle_init(&t->base, UT__LOCK_TABLE_MAGIC);
    t->lock_delay = c.lock_delay_ms;
    t->max_waiters = c.max_waiters ? c.max_waiters : DEFAULT_MAX_WAITERS;
    t->node = c.node;
    t->tracer.fn = c.trace;
    t->tracer.arg = c.trace_arg;
    *out = t;
    return UT_OK;
}

void ut_lock_table_free(ut_lock_table_t *t)
{
    if (!ut__handle_valid(t ? &t->base : NULL, UT__LOCK_TABLE_MAGIC))
        return;
    table_clear(t);
    ut__handle_retire(&t->base);
    ut__free(t);
}

const char *ut_lock_table_errmsg(const ut_lock_table_t *t)
{
    return ut__handle_errmsg(t ? &t->base : NULL, UT__LOCK_TABLE_MAGIC);
}

static bool valid(const ut_lock_table_t *t)
{
    return t != NULL && ut__handle_valid(&t->base, UT__LOCK_TABLE_MAGIC);
}

/* ---- commands on the wire ---------------------------------------------- */

static int cmd_check(const ut_lock_cmd_t *c)
{
    if (c == NULL || c->op < UT_LOCK_OP_ACQUIRE || c->op > UT_LOCK_OP_TICK)
        return UT_EINVAL;
    if (c->op == UT_LOCK_OP_TICK)
        return UT_OK;
    if (c->resource_len > UT_LOCK_NAME_MAX || c->holder_len > UT_LOCK_NAME_MAX)
        return UT_EINVAL;
    if ((c->resource_len && c->resource == NULL) || (c->holder_len && c->holder == NULL))
        return UT_EINVAL;
    return UT_OK;
}

int ut_lock_cmd_size(const ut_lock_cmd_t *cmd, size_t *out)
{
    if (out == NULL || cmd_check(cmd) != UT_OK)
        return UT_EINVAL;
    *out = CMD_HEADER + (cmd->op == UT_LOCK_OP_TICK ? 0 : cmd->resource_len + cmd->holder_len);
    return UT_OK;
}

int ut_lock_cmd_encode(const ut_lock_cmd_t *cmd, void *buf, size_t cap, size_t *out)
{
    size_t n;
    if (buf == NULL || ut_lock_cmd_size(cmd, &n) != UT_OK)
        return UT_EINVAL;
    if (cmd->op != UT_LOCK_OP_TICK && cmd->flags > 0xffffu)
        return UT_EINVAL; /* 16 flag bits on the wire; never drop bits silently */
    if (cap < n)
        return UT_ERANGE;
    unsigned char *p = buf;
    bool tick = cmd->op == UT_LOCK_OP_TICK;
    size_t rl = tick ? 0 : cmd->resource_len, hl = tick ? 0 : cmd->holder_len;
    p[0] = CMD_VERSION;
    p[1] = (unsigned char)cmd->op;
    ut__lock_put16(p + 2, tick ? 0 : (cmd->flags & 0xffffu));
    ut__lock_put32(p + 4, tick ? 0 : cmd->limit);
    ut__lock_put64(p + 8, tick ? 0 : cmd->ttl_ms);
    ut__lock_put64(p + 16, tick ? 0 : cmd->wait_ms);
    ut__lock_put16(p + 24, (uint32_t)rl);
    ut__lock_put16(p + 26, (uint32_t)hl);
    ut__lock_put32(p + 28, 0);
    if (rl)
        memcpy(p + CMD_HEADER, cmd->resource, rl);
    if (hl)
        memcpy(p + CMD_HEADER + rl, cmd->holder, hl);
    if (out != NULL)
        *out = n;
    return UT_OK;
}

static int cmd_decode(ut_lock_table_t *t, const unsigned char *p, size_t len, cmd_t *c)
{
    if (len < CMD_HEADER)
        UT__FAIL(&t->base, UT_ECORRUPT, "apply: %zu bytes is shorter than a command header", len);
    if (p[0] != CMD_VERSION)
        UT__FAIL(&t->base, UT_EVERSION, "apply: command format version %u is unknown",
                 (unsigned)p[0]);
    c->op = (ut_lock_op_t)p[1];
    if (p[1] < UT_LOCK_OP_ACQUIRE || p[1] > UT_LOCK_OP_TICK)
        UT__FAIL(&t->base, UT_ECORRUPT, "apply: unknown operation %u", (unsigned)p[1]);
    c->flags = ut__lock_get16(p + 2);
    c->limit = ut__lock_get32(p + 4);
    c->ttl = ut__lock_get64(p + 8);
    c->wait = ut__lock_get64(p + 16);
    c->rlen = ut__lock_get16(p + 24);
    c->hlen = ut__lock_get16(p + 26);
    if (ut__lock_get32(p + 28) != 0)
        UT__FAIL(&t->base, UT_ECORRUPT, "apply: reserved header bytes are not zero");
    if (c->rlen > UT_LOCK_NAME_MAX || c->hlen > UT_LOCK_NAME_MAX)
        UT__FAIL(&t->base, UT_ECORRUPT, "apply: name longer than %u bytes", UT_LOCK_NAME_MAX);
    if (len != CMD_HEADER + c->rlen + c->hlen)
        UT__FAIL(&t->base, UT_ECORRUPT, "apply: length %zu does not match the names", len);
    c->r = p + CMD_HEADER;
    c->h = p + CMD_HEADER + c->rlen;
    return UT_OK;
}

/* ---- lookups and small helpers ------------------------------------------ */

/* Names are short: eight bytes per compare, inline (a libc memcmp call
 * cost as much as the rest of the cache hit on the acquire path). */
static inline bool key_is(const ut__lock_key_t *k, const void *name, size_t len)
{
    if (k->len != len)
        return false;
    const unsigned char *a = k->name, *b = name;
    uint64_t x, y;
    if (len < 8) {
        for (; len > 0; a++, b++, len--)
            if (*a != *b)
                return false;
        return true;
    }
    /* Whole words, then the last eight bytes (overlapping the previous). */
    for (size_t i = 0; i + 8 < len; i += 8) {
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x != y)
            return false;
    }
    memcpy(&x, a + len - 8, 8);
    memcpy(&y, b + len - 8, 8);
    return x == y;
}

/* Look-ups of the command path: *hash is set when the name was hashed
 * (a miss of the one-entry cache), so creation can reuse it. */
static res_t *res_get_slow(ut_lock_table_t *t, const void *name, size_t len, uint64_t *hash)
{
    *hash = ut__lock_hash(name, len);
    res_t *r = (res_t *)ut__lock_map_find(&t->res, *hash, name, len);
    if (r != NULL)
        t->last_res = r;
    return r;
}

static sess_t *sess_get_slow(ut_lock_table_t *t, const void *name, size_t len, uint64_t *hash)
{
    *hash = ut__lock_hash(name, len);
    sess_t *s = (sess_t *)ut__lock_map_find(&t->sess, *hash, name, len);
    if (s != NULL)
        t->last_sess = s;
    return s;
}

/* The cache hit, inline in the command path; the miss hashes. */
static inline res_t *res_get(ut_lock_table_t *t, const void *name, size_t len, uint64_t *hash)
{
    if (t->last_res != NULL && key_is(&t->last_res->key, name, len)) {
        *hash = t->last_res->key.hash;
        return t->last_res;
    }
    return res_get_slow(t, name, len, hash);
}

static inline sess_t *sess_get(ut_lock_table_t *t, const void *name, size_t len, uint64_t *hash)
{
    if (t->last_sess != NULL && key_is(&t->last_sess->key, name, len)) {
        *hash = t->last_sess->key.hash;
        return t->last_sess;
    }
    return sess_get_slow(t, name, len, hash);
}

static res_t *res_find(const ut_lock_table_t *t, const void *name, size_t len)
{
    return (res_t *)ut__lock_map_find(&t->res, ut__lock_hash(name, len), name, len);
}

static sess_t *sess_find(const ut_lock_table_t *t, const void *name, size_t len)
{
    return (sess_t *)ut__lock_map_find(&t->sess, ut__lock_hash(name, len), name, len);
}

static long holder_index(const res_t *r, const sess_t *s)
{
    if (r == NULL || s == NULL)
        return -1;
    for (size_t i = 0; i < r->nh; i++)
        if (r->h[i].s == s)
            return (long)i;
    return -1;
}

static long waiter_index(const res_t *r, const sess_t *s)
{
    if (r == NULL || s == NULL || s->waiting != r)
        return -1;
    for (size_t i = 0; i < r->nw; i++)
        if (r->w[i].s == s)
            return (long)i;
    return -1;
}

/* A resource with nobody in it and no lock-delay pending is forgotten:
 * its attributes (shared, limit) are set again by the next request. */
static bool res_in_use(const res_t *r, uint64_t now)
{
    return r != NULL && (r->nh > 0 || r->nw > 0 || r->delay_until > now);
}

static void res_set_active(ut_lock_table_t *t, res_t *r, bool want)
{
    if (want && !r->active) {
        r->active = 1;
        r->anext = NULL;
        r->aprev = t->atail;
        if (t->atail)
            t->atail->anext = r;
        else
            t->ahead = r;
        t->atail = r;
        t->nactive++;
    } else if (!want && r->active) {
        /* Forgotten: a past lock-delay must not linger in the entry, or a
         * replica restored from a snapshot (which omits it) would differ. */
        r->delay_until = 0;
        r->active = 0;
        if (r->aprev)
            r->aprev->anext = r->anext;
        else
            t->ahead = r->anext;
        if (r->anext)
            r->anext->aprev = r->aprev;
        else
            t->atail = r->aprev;
        r->aprev = r->anext = NULL;
        t->nactive--;
    }
}

static inline void res_update_active(ut_lock_table_t *t, res_t *r)
{
    res_set_active(t, r, res_in_use(r, t->now));
}

static bool grantable(const res_t *r, bool shared, uint64_t now)
{
    if (r == NULL)
        return true;
    if (r->delay_until > now)
        return false; /* Chubby §2.4 lock-delay */
    if (r->nh == 0)
        return true;
    if (!shared || !r->h[0].shared)
        return false;
    return r->limit == 0 || r->nh < r->limit;
}

static int ev_reserve(ut_lock_table_t *t, size_t n)
{
    if (n <= t->capev)
        return UT_OK;
    void *buf = t->ev;
    size_t cap = t->capev;
    if (ut__grow(&buf, &cap, n, sizeof *t->ev) != UT_OK)
        return UT_ENOMEM;
    t->ev = buf;
    t->capev = cap;
    return UT_OK;
}

static void ev_push(ut_lock_table_t *t, ut_lock_event_type_t type, const res_t *r, const sess_t *s,
                    uint64_t token, uint64_t expires)
{
    ut_lock_event_t *e = &t->ev[t->nev++];
    e->type = type;
    e->resource = r->name;
    e->resource_len = r->key.len;
    e->holder = s->name;
    e->holder_len = s->key.len;
    e->token = token;
    e->expires_ms = expires;
    switch (type) {
    case UT_LOCK_EV_GRANTED:
        ut__trace(&t->tracer, UT_TRACE_DEBUG, "lock", t->node, "granted", "from the queue", token,
                  expires);
        break;
    case UT_LOCK_EV_EXPIRED:
        ut__trace(&t->tracer, UT_TRACE_WARN, "lock", t->node, "lease-expired",
                  "not renewed before its end", token, expires);
        break;
    case UT_LOCK_EV_WAIT_TIMEOUT:
        ut__trace(&t->tracer, UT_TRACE_DEBUG, "lock", t->node, "wait-timeout",
                  "the waiter's deadline passed", 0, 0);
        break;
    default:
        ut__trace(&t->tracer, UT_TRACE_WARN, "lock", t->node, "waiter-lease-expired",
                  "the waiter did not renew", 0, 0);
        break;
    }
}

/* now + d, saturating: a lease or deadline past the end of the clock ends
 * at UINT64_MAX rather than wrapping into the past. */
static uint64_t sat_add(uint64_t now, uint64_t d)
{
    return d > UINT64_MAX - now ? UINT64_MAX : now + d;
}

/* Grant queued requests in FIFO order while the head is compatible: a
 * later waiter never overtakes an earlier one (fair queue). The caller has
 * reserved one event and one holder slot per waiter. */
static void promote(ut_lock_table_t *t, res_t *r)
{
    size_t k = 0;
    /* An exhausted token counter grants nothing: tokens never wrap. */
    while (k < r->nw && t->last_token < UINT64_MAX &&
           grantable(r, (r->w[k].flags & UT_LOCK_F_SHARED) != 0, t->now)) {
        waiter_t *w = &r->w[k];
        holder_t *h = &r->h[r->nh++];
        h->s = w->s;
#ifdef UT__FAULT_LOCK_TOKEN
        /* Deliberately broken build for the cluster test: a queued grant
         * reuses the last token instead of a new one. */
        h->token = t->last_token ? t->last_token : ++t->last_token;
#else
        h->token = ++t->last_token;
#endif
        h->expires = sat_add(t->now, w->ttl); /* the TTL was checked at an earlier now */
        h->count = 1;
        h->shared = (w->flags & UT_LOCK_F_SHARED) != 0;
        w->s->waiting = NULL;
        ev_push(t, UT_LOCK_EV_GRANTED, r, h->s, h->token, h->expires);
        k++;
    }
    if (k > 0) {
        memmove(r->w, r->w + k, (r->nw - k) * sizeof *r->w);
        r->nw -= k;
    }
}

static int holders_reserve(res_t *r, size_t n)
{
    if (n <= r->caph)
        return UT_OK;
    void *b = r->h;
    size_t cap = r->caph;
    if (ut__grow(&b, &cap, n, sizeof *r->h) != UT_OK)
        return UT_ENOMEM;
    r->h = b;
    r->caph = cap;
    return UT_OK;
}

static int waiters_reserve(res_t *r, size_t n)
{
    if (n <= r->capw)
        return UT_OK;
    void *b = r->w;
    size_t cap = r->capw;
    if (ut__grow(&b, &cap, n, sizeof *r->w) != UT_OK)
        return UT_ENOMEM;
    r->w = b;
    r->capw = cap;
    return UT_OK;
}

/* Creating entries: allocate (not yet inserted), so that a later failure
 * can drop them and leave the table as it was. */
static res_t *res_alloc(const void *name, size_t len, uint64_t hash)
{
    res_t *r = ut__calloc(1, sizeof *r + len);
    if (r == NULL)
        return NULL;
    memcpy(r->name, name, len);
    r->key.hash = hash;
    r->key.len = (uint32_t)len;
    r->key.name = r->name;
    return r;
}

static sess_t *sess_alloc(const void *name, size_t len, uint64_t hash)
{
    sess_t *s = ut__calloc(1, sizeof *s + len);
    if (s == NULL)
        return NULL;
    memcpy(s->name, name, len);
    s->key.hash = hash;
    s->key.len = (uint32_t)len;
    s->key.name = s->name;
    return s;
}

static int search_reserve(ut_lock_table_t *t, size_t sessions)
{
    size_t need = sessions + 1;
    void *b;
    size_t cap;
    if (need > t->capstack) {
        b = t->stack;
        cap = t->capstack;
        if (ut__grow(&b, &cap, need, sizeof *t->stack) != UT_OK)
            return UT_ENOMEM;
        t->stack = b;
        t->capstack = cap;
    }
    if (need > t->capcycle) {
        b = t->cycle;
        cap = t->capcycle;
        if (ut__grow(&b, &cap, need, sizeof *t->cycle) != UT_OK)
            return UT_ENOMEM;
        t->cycle = b;
        t->capcycle = cap;
    }
    return UT_OK;
}

/* ---- deadlock detection --------------------------------------------------
 * The wait-for graph: a waiter in resource r waits for every holder of r
 * and every waiter ahead of it in r's FIFO queue (they are served first).
 * A request by x for r would add x -> (holders of r, all waiters of r); it
 * closes a cycle iff x is reachable from one of those (Coffman et al.,
 * "System Deadlocks", 1971: a cycle in the wait-for graph of single-unit
 * resources is a deadlock; with shared holders and semaphores it is the
 * conservative test, a cycle may be a possible deadlock only). Each holder
 * waits in at most one queue, so the walk visits each session once. */

static size_t push_edges(ut_lock_table_t *t, const res_t *r, size_t upto, sess_t *from,
                         sess_t *target, size_t sp, bool *found)
{
    for (size_t i = 0; i < r->nh + upto && !*found; i++) {
        sess_t *v = i < r->nh ? r->h[i].s : r->w[i - r->nh].s;
        if (v == target) {
            *found = true;
            target->dfs_parent = from;
            break;
        }
        if (v->dfs_mark == t->dfs_epoch)
            continue;
        v->dfs_mark = t->dfs_epoch;
        v->dfs_parent = from;
        t->stack[sp++] = v;
    }
    return sp;
}

static bool would_deadlock(ut_lock_table_t *t, sess_t *x, const res_t *r)
{
    t->dfs_epoch++;
    x->dfs_mark = t->dfs_epoch;
    bool found = false;
    size_t sp = push_edges(t, r, r->nw, x, x, 0, &found);
    while (sp > 0 && !found) {
        sess_t *u = t->stack[--sp];
        const res_t *ru = u->waiting;
        if (ru == NULL)
            continue;
        long pos = waiter_index(ru, u);
        sp = push_edges(t, ru, pos < 0 ? 0 : (size_t)pos, u, x, sp, &found);
    }
    if (!found)
        return false;
    /* x -> ... -> p -> x: walk the parents back from p, then reverse. */
    size_t n = 0;
    for (sess_t *v = x->dfs_parent; v != x; v = v->dfs_parent)
        t->cycle[n++] = v;
    t->cycle[n++] = x;
    for (size_t i = 0; i < n / 2; i++) {
        sess_t *tmp = t->cycle[i];
        t->cycle[i] = t->cycle[n - 1 - i];
        t->cycle[n - 1 - i] = tmp;
    }
    t->ncycle = n;
    return true;
}

/* ---- the operations ------------------------------------------------------ */

static void reply_init(ut_lock_reply_t *rp)
{
    memset(rp, 0, sizeof *rp);
    rp->result = UT_LOCK_ERROR;
}

static int do_acquire(ut_lock_table_t *t, const cmd_t *c, uint64_t now, ut_lock_reply_t *rp)
{
    bool shared = (c->flags & UT_LOCK_F_SHARED) != 0;
    if (c->flags & ~KNOWN_FLAGS)
        UT__FAIL(&t->base, UT_EINVAL, "acquire: unknown flags 0x%x", (unsigned)c->flags);
    if (c->rlen == 0)
        UT__FAIL(&t->base, UT_EINVAL, "acquire: empty resource name");
    if (c->hlen == 0)
        UT__FAIL(&t->base, UT_EINVAL, "acquire: empty holder name");
    if (c->ttl == 0)
        UT__FAIL(&t->base, UT_EINVAL, "acquire: zero TTL");
    if (c->ttl > UINT64_MAX - now || c->wait > UINT64_MAX - now)
        UT__FAIL(&t->base, UT_EINVAL, "acquire: TTL or wait overflows the clock");
    uint64_t rh, sh;
    res_t *r = res_get(t, c->r, c->rlen, &rh);
    sess_t *s = sess_get(t, c->h, c->hlen, &sh);
    bool in_use = res_in_use(r, now);
    if (in_use) {
        if (shared && !r->allow_shared)
            UT__FAIL(&t->base, UT_ESTATE, "acquire: shared request on exclusive-only resource");
        if (shared && c->limit != r->limit)
            UT__FAIL(&t->base, UT_ESTATE, "acquire: limit %u differs from the resource's %u",
                     (unsigned)c->limit, (unsigned)r->limit);
    } else if (shared && !(c->flags & UT_LOCK_F_ALLOW_SHARED)) {
        UT__FAIL(&t->base, UT_EINVAL,
                 "acquire: shared request for a new resource without ALLOW_SHARED");
    }
    long hi = holder_index(r, s);
    if (hi >= 0) {
        holder_t *h = &r->h[hi];
        if (!(c->flags & UT_LOCK_F_REENTRANT))
            UT__FAIL(&t->base, UT_EEXIST, "acquire: holder already holds it (not reentrant)");
        if ((h->shared != 0) != shared)
            UT__FAIL(&t->base, UT_ESTATE, "acquire: reentrant request in another mode");
        /* Refreshing the lease is a renewal: a lapsed one is gone even
         * before a tick reports it (as in do_renew, Chubby §2.8). */
        if (h->expires <= now)
            UT__FAIL(&t->base, UT_ETIMEDOUT, "acquire: lease expired at %llu",
                     (unsigned long long)h->expires);
        if (h->count == UINT32_MAX)
            UT__FAIL(&t->base, UT_ERANGE, "acquire: reentrancy count overflow");
        h->count++;
        h->expires = now + c->ttl;
        t->now = now;
        rp->result = UT_LOCK_ACQUIRED;
        rp->token = h->token;
        rp->expires_ms = h->expires;
        rp->count = h->count;
        return UT_OK;
    }
    if (s != NULL && s->waiting != NULL)
        UT__FAIL(&t->base, UT_ESTATE, "acquire: holder already waits in a queue");
    bool grant = grantable(in_use ? r : NULL, shared, now) && (!in_use || r->nw == 0);
    if (grant && t->last_token == UINT64_MAX)
        UT__FAIL(&t->base, UT_ERANGE, "acquire: fencing tokens exhausted");
    bool deadlock = false;
    if (!grant && c->wait > 0) {
        if (r->nw >= t->max_waiters)
            UT__FAIL(&t->base, UT_EFULL, "acquire: queue full (%zu waiters)", r->nw);
        /* A new holder holds nothing and cannot close a cycle. */
        if (s != NULL)
            deadlock = would_deadlock(t, s, r);
    }
    if (!grant && (c->wait == 0 || deadlock)) {
        /* Unchanged table: only the reply says CONFLICT. */
        if (deadlock)
            ut__trace(&t->tracer, UT_TRACE_WARN, "lock", t->node, "deadlock-refused",
                      "the request would close a wait-for cycle", t->ncycle, 0);
        rp->result = UT_LOCK_CONFLICT;
        return UT_OK;
    }
    /* Allocate everything first; nothing is visible until all succeeded. */
    res_t *nr = NULL;
    sess_t *ns = NULL;
    if (r == NULL && ut__lock_map_reserve(&t->res) != UT_OK)
        goto nomem;
    if (s == NULL && ut__lock_map_reserve(&t->sess) != UT_OK)
        goto nomem;
    if (r == NULL && (nr = res_alloc(c->r, c->rlen, rh)) == NULL)
        goto nomem;
    if (s == NULL && (ns = sess_alloc(c->h, c->hlen, sh)) == NULL)
        goto nomem;
    res_t *rr = r ? r : nr;
    if (grant ? holders_reserve(rr, rr->nh + 1) : waiters_reserve(rr, rr->nw + 1))
        goto nomem;
    /* Each waiter may be granted later: keep a holder slot for it now, so
     * the grant itself (in release or tick) cannot fail. */
    if (holders_reserve(rr, rr->nh + rr->nw + 1) != UT_OK)
        goto nomem;
    /* The deadlock search's stack holds every session: it grows with a new
     * one (a known session's room was made when it was created). */
    if (ns != NULL && search_reserve(t, t->sess.n + 1) != UT_OK)
        goto nomem;
    if (nr != NULL)
        ut__lock_map_insert(&t->res, &nr->key);
    if (ns != NULL)
        ut__lock_map_insert(&t->sess, &ns->key);
    sess_t *ss = s ? s : ns;
    t->now = now;
    if (!in_use) {
        rr->allow_shared = (c->flags & UT_LOCK_F_ALLOW_SHARED) != 0;
        rr->limit = rr->allow_shared ? c->limit : 0;
    }
    if (grant) {
        holder_t *h = &rr->h[rr->nh++];
        h->s = ss;
        h->token = ++t->last_token; /* Chubby §2.4 sequencer */
        h->expires = now + c->ttl;
        h->count = 1;
        h->shared = shared;
        rp->result = UT_LOCK_ACQUIRED;
        rp->token = h->token;
        rp->expires_ms = h->expires;
        rp->count = 1;
        ut__trace(&t->tracer, UT_TRACE_DEBUG, "lock", t->node, "granted", "free at the request",
                  h->token, h->expires);
    } else {
        waiter_t *w = &rr->w[rr->nw++];
        w->s = ss;
        w->ttl = c->ttl;
        w->deadline = now + c->wait;
        w->lease_until = now + c->ttl;
        w->flags = c->flags & (UT_LOCK_F_SHARED | UT_LOCK_F_REENTRANT);
        ss->waiting = rr;
        rp->result = UT_LOCK_CONFLICT;
        rp->queued = true;
    }
    res_update_active(t, rr);
    return UT_OK;
nomem:
    if (nr != NULL) {
        ut__free(nr->h);
        ut__free(nr->w);
    }
    ut__free(nr);
    ut__free(ns);
    UT__FAIL(&t->base, UT_ENOMEM, "acquire: out of memory");
}

static void drop_stale_waiters(ut_lock_table_t *t, res_t *r, uint64_t now);

static int do_release(ut_lock_table_t *t, const cmd_t *c, uint64_t now, ut_lock_reply_t *rp)
{
    if (c->rlen == 0 || c->hlen == 0)
        UT__FAIL(&t->base, UT_EINVAL, "release: empty resource or holder name");
    uint64_t rh, sh;
    res_t *r = res_get(t, c->r, c->rlen, &rh);
    sess_t *s = sess_get(t, c->h, c->hlen, &sh);
    long hi = holder_index(r, s), wi = waiter_index(r, s);
    if (hi < 0 && wi < 0) {
        if (r != NULL && r->nh > 0)
            UT__FAIL(&t->base, UT_ESTATE, "release: held by another holder");
        UT__FAIL(&t->base, UT_ENOTFOUND, "release: the holder neither holds nor waits for it");
    }
    if (ev_reserve(t, r->nw) != UT_OK)
        UT__FAIL(&t->base, UT_ENOMEM, "release: out of memory");
    t->now = now;
    rp->result = UT_LOCK_ACQUIRED;
    if (hi >= 0) {
        holder_t *h = &r->h[hi];
        if (h->count > 1) {
            h->count--;
            rp->count = h->count;
            rp->token = h->token;
            rp->expires_ms = h->expires;
            return UT_OK;
        }
        if ((size_t)hi + 1 < r->nh)
            memmove(r->h + hi, r->h + hi + 1, (r->nh - (size_t)hi - 1) * sizeof *r->h);
        r->nh--;
    } else {
        memmove(r->w + wi, r->w + wi + 1, (r->nw - (size_t)wi - 1) * sizeof *r->w);
        r->nw--;
        s->waiting = NULL;
    }
    if (r->nw > 0) {
        drop_stale_waiters(t, r, now);
        promote(t, r);
    }
    res_update_active(t, r);
    return UT_OK;
}

static int do_renew(ut_lock_table_t *t, const cmd_t *c, uint64_t now, ut_lock_reply_t *rp)
{
    if (c->rlen == 0 || c->hlen == 0)
        UT__FAIL(&t->base, UT_EINVAL, "renew: empty resource or holder name");
    if (c->ttl == 0)
        UT__FAIL(&t->base, UT_EINVAL, "renew: zero TTL");
    if (c->ttl > UINT64_MAX - now)
        UT__FAIL(&t->base, UT_EINVAL, "renew: TTL overflows the clock");
    uint64_t rh, sh;
    res_t *r = res_get(t, c->r, c->rlen, &rh);
    sess_t *s = sess_get(t, c->h, c->hlen, &sh);
    long hi = holder_index(r, s), wi = waiter_index(r, s);
    if (hi >= 0) {
        holder_t *h = &r->h[hi];
        /* An expired lease is gone even before a tick reports it (Chubby
         * §2.8: the master does not extend a lease it considers lapsed). */
        if (h->expires <= now)
            UT__FAIL(&t->base, UT_ETIMEDOUT, "renew: lease expired at %llu",
                     (unsigned long long)h->expires);
        h->expires = now + c->ttl;
        rp->token = h->token;
        rp->expires_ms = h->expires;
        rp->count = h->count;
    } else if (wi >= 0) {
        waiter_t *w = &r->w[wi];
        if (w->lease_until <= now)
            UT__FAIL(&t->base, UT_ETIMEDOUT, "renew: waiter lease expired at %llu",
                     (unsigned long long)w->lease_until);
        w->lease_until = now + c->ttl;
        rp->expires_ms = w->lease_until;
    } else if (r != NULL && r->nh > 0) {
        UT__FAIL(&t->base, UT_ESTATE, "renew: held by another holder");
    } else {
        UT__FAIL(&t->base, UT_ENOTFOUND, "renew: the holder neither holds nor waits for it");
    }
    t->now = now;
    rp->result = UT_LOCK_ACQUIRED;
    return UT_OK;
}

/* Removes the waiters whose deadline or own lease has passed (one event
 * each; the caller reserved them), so that no grant goes to a wait that is
 * over even when no tick came in between. */
static void drop_stale_waiters(ut_lock_table_t *t, res_t *r, uint64_t now)
{
    size_t k = 0;
    for (size_t i = 0; i < r->nw; i++) {
        waiter_t *w = &r->w[i];
        /* Whichever ended first; a tie is the wait's timeout. */
        if (w->deadline <= now && w->deadline <= w->lease_until) {
            w->s->waiting = NULL;
            ev_push(t, UT_LOCK_EV_WAIT_TIMEOUT, r, w->s, 0, 0);
        } else if (w->lease_until <= now) {
            w->s->waiting = NULL;
            ev_push(t, UT_LOCK_EV_WAITER_EXPIRED, r, w->s, 0, 0);
        } else {
            r->w[k++] = *w;
        }
    }
    r->nw = k;
}

static int do_tick(ut_lock_table_t *t, uint64_t now)
{
    size_t need = 0;
    for (res_t *r = t->ahead; r != NULL; r = r->anext)
        need += r->nh + r->nw;
    if (ev_reserve(t, need) != UT_OK)
        UT__FAIL(&t->base, UT_ENOMEM, "tick: out of memory");
    t->now = now;
    res_t *next;
    for (res_t *r = t->ahead; r != NULL; r = next) {
        next = r->anext;
        size_t k = 0;
        for (size_t i = 0; i < r->nh; i++) {
            holder_t *h = &r->h[i];
            if (h->expires <= now) {
                ev_push(t, UT_LOCK_EV_EXPIRED, r, h->s, h->token, h->expires);
                /* Chubby §2.4: after a holder fails, its locks stay
                 * unavailable for the lock-delay, counted from the lapse. */
#ifdef UT__FAULT_LOCK_NO_DELAY
                /* Deliberately broken build for utsim: the lock-delay is
                 * never started. */
                if (0) {
#else
                if (t->lock_delay > 0) {
#endif
                    uint64_t until = h->expires + t->lock_delay;
                    if (until < h->expires)
                        until = UINT64_MAX;
                    if (until > r->delay_until)
                        r->delay_until = until;
                    ut__trace(&t->tracer, UT_TRACE_INFO, "lock", t->node, "lock-delay",
                              "a lease expired (Chubby 2.4)", until, h->token);
                }
            } else {
                r->h[k++] = *h;
            }
        }
        r->nh = k;
        drop_stale_waiters(t, r, now);
        promote(t, r);
        res_update_active(t, r);
    }
    return UT_OK;
}

static void events_reset(ut_lock_table_t *t)
{
    t->nev = 0;
    t->evread = 0;
}

int ut_lock_table_apply(ut_lock_table_t *t, const void *cmd, size_t len, uint64_t now_ms,
                        ut_lock_reply_t *out)
{
    ut_lock_reply_t local;
    ut_lock_reply_t *rp = out ? out : &local;
    reply_init(rp);
    if (!valid(t)) {
        rp->status = UT_EINVAL;
        return UT_EINVAL;
    }
    if (cmd == NULL) {
        rp->status = ut__handle_fail(&t->base, UT_EINVAL, "apply: NULL command");
        return rp->status;
    }
    events_reset(t);
    t->ncycle = 0;
    uint64_t now = now_ms > t->now ? now_ms : t->now;
    cmd_t c;
    memset(&c, 0, sizeof c);
    int rc = cmd_decode(t, cmd, len, &c);
    if (rc == UT_OK) {
        switch (c.op) {
        case UT_LOCK_OP_ACQUIRE:
            rc = do_acquire(t, &c, now, rp);
            break;
        case UT_LOCK_OP_RELEASE:
            rc = do_release(t, &c, now, rp);
            break;
        case UT_LOCK_OP_RENEW:
            rc = do_renew(t, &c, now, rp);
            break;
        default:
            rc = do_tick(t, now);
            if (rc == UT_OK)
                rp->result = UT_LOCK_ACQUIRED;
            break;
        }
    }
    rp->status = rc;
    if (rc != UT_OK) {
        static const char *const refused[] = {"command-refused", "acquire-refused",
                                              "release-refused", "renew-refused",
                                              "command-refused"};
        unsigned op = len >= 2 && ((const unsigned char *)cmd)[1] <= UT_LOCK_OP_TICK
                          ? ((const unsigned char *)cmd)[1]
                          : 0;
        ut__trace(&t->tracer, UT_TRACE_WARN, "lock", t->node, refused[op], ut_strerror(rc), op,
                  (uint64_t) - (int64_t)rc);
        rp->result = UT_LOCK_ERROR;
        rp->queued = false;
        rp->token = rp->expires_ms = 0;
        rp->count = 0;
    }
    return rc;
}

int ut_lock_table_tick(ut_lock_table_t *t, uint64_t now_ms)
{
    if (!valid(t))
        return UT_EINVAL;
    events_reset(t);
    t->ncycle = 0;
    return do_tick(t, now_ms > t->now ? now_ms : t->now);
}

int ut_lock_table_next_event(ut_lock_table_t *t, ut_lock_event_t *out)
{
    if (!valid(t) || out == NULL)
        return UT_EINVAL;
    if (t->evread >= t->nev)
        return UT_ENOTFOUND;
    *out = t->ev[t->evread++];
    return UT_OK;
}

/* ---- accessors ----------------------------------------------------------- */

size_t ut_lock_table_cycle_len(const ut_lock_table_t *t)
{
    return valid(t) ? t->ncycle : 0;
}

const void *ut_lock_table_cycle_holder(const ut_lock_table_t *t, size_t i, size_t *len)
{
    if (!valid(t) || i >= t->ncycle)
        return NULL;
    if (len != NULL)
        *len = t->cycle[i]->key.len;
    return t->cycle[i]->name;
}

size_t ut_lock_table_active(const ut_lock_table_t *t)
{
    return valid(t) ? t->nactive : 0;
}

uint64_t ut_lock_table_last_token(const ut_lock_table_t *t)
{
    return valid(t) ? t->last_token : 0;
}

uint64_t ut_lock_table_now(const ut_lock_table_t *t)
{
    return valid(t) ? t->now : 0;
}

size_t ut_lock_table_holders(const ut_lock_table_t *t, const void *resource, size_t len)
{
    if (!valid(t) || resource == NULL)
        return 0;
    res_t *r = res_find(t, resource, len);
    return r ? r->nh : 0;
}

size_t ut_lock_table_waiters(const ut_lock_table_t *t, const void *resource, size_t len)
{
    if (!valid(t) || resource == NULL)
        return 0;
    res_t *r = res_find(t, resource, len);
    return r ? r->nw : 0;
}

int ut_lock_table_holder_info(const ut_lock_table_t *t, const void *resource, size_t rlen,
                              const void *holder, size_t hlen, uint64_t *token,
                              uint64_t *expires_ms, uint32_t *count)
{
    if (!valid(t) || resource == NULL || holder == NULL)
        return UT_EINVAL;
    res_t *r = res_find(t, resource, rlen);
    long i = holder_index(r, sess_find(t, holder, hlen));
    if (i < 0)
        return UT_ENOTFOUND;
    if (token)
        *token = r->h[i].token;
    if (expires_ms)
        *expires_ms = r->h[i].expires;
    if (count)
        *count = r->h[i].count;
    return UT_OK;
}

/* ---- snapshot / restore ---------------------------------------------------
 * Layout (little-endian): magic u32 "ULKT", version u16, reserved u16,
 * now u64, last_token u64, resource count u32, then per active resource in
 * activation order: name (u16 len + bytes), allow_shared u8, limit u32,
 * delay_until u64, nh u32, nw u32, holders (name, shared u8, count u32,
 * token u64, expires u64), waiters (name, flags u8, ttl u64, deadline u64,
 * lease_until u64); last a CRC32C of everything before it. */

#define SNAP_HEAD 28u
#define SNAP_RES 21u
#define SNAP_HOLDER 21u
#define SNAP_WAITER 25u

static size_t snap_size(const ut_lock_table_t *t)
{
    size_t n = SNAP_HEAD + 4;
    for (const res_t *r = t->ahead; r != NULL; r = r->anext) {
        n += 2 + r->key.len + SNAP_RES;
        for (size_t i = 0; i < r->nh; i++)
            n += 2 + r->h[i].s->key.len + SNAP_HOLDER;
        for (size_t i = 0; i < r->nw; i++)
            n += 2 + r->w[i].s->key.len + SNAP_WAITER;
    }
    return n;
}

static unsigned char *put_name(unsigned char *p, const ut__lock_key_t *k)
{
    ut__lock_put16(p, k->len);
    memcpy(p + 2, k->name, k->len);
    return p + 2 + k->len;
}

int ut_lock_table_snapshot(const ut_lock_table_t *t, void *buf, size_t cap, size_t *out)
{
    if (!valid(t) || out == NULL)
        return UT_EINVAL;
    size_t n = snap_size(t);
    *out = n;
    if (buf == NULL || cap < n)
        return UT_ERANGE;
    unsigned char *p = buf;
    ut__lock_put32(p, SNAP_MAGIC);
    ut__lock_put16(p + 4, SNAP_VERSION);
    ut__lock_put16(p + 6, 0);
    ut__lock_put64(p + 8, t->now);
    ut__lock_put64(p + 16, t->last_token);
    ut__lock_put32(p + 24, (uint32_t)t->nactive);
    p += SNAP_HEAD;
    for (const res_t *r = t->ahead; r != NULL; r = r->anext) {
        p = put_name(p, &r->key);
        p[0] = r->allow_shared;
        ut__lock_put32(p + 1, r->limit);
        ut__lock_put64(p + 5, r->delay_until);
        ut__lock_put32(p + 13, (uint32_t)r->nh);
        ut__lock_put32(p + 17, (uint32_t)r->nw);
        p += SNAP_RES;
        for (size_t i = 0; i < r->nh; i++) {
            const holder_t *h = &r->h[i];
            p = put_name(p, &h->s->key);
            p[0] = h->shared;
            ut__lock_put32(p + 1, h->count);
            ut__lock_put64(p + 5, h->token);
            ut__lock_put64(p + 13, h->expires);
            p += SNAP_HOLDER;
        }
        for (size_t i = 0; i < r->nw; i++) {
            const waiter_t *w = &r->w[i];
            p = put_name(p, &w->s->key);
            p[0] = (unsigned char)w->flags;
            ut__lock_put64(p + 1, w->ttl);
            ut__lock_put64(p + 9, w->deadline);
            ut__lock_put64(p + 17, w->lease_until);
            p += SNAP_WAITER;
        }
    }
    ut__lock_put32(p, ut_crc32c(0, buf, n - 4));
    return UT_OK;
}

typedef struct rd {
    const unsigned char *p;
    size_t left;
} rd_t;

static bool rd_name(rd_t *r, const unsigned char **name, size_t *len)
{
    if (r->left < 2)
        return false;
    size_t n = ut__lock_get16(r->p);
    if (n == 0 || n > UT_LOCK_NAME_MAX || r->left - 2 < n)
        return false;
    *name = r->p + 2;
    *len = n;
    r->p += 2 + n;
    r->left -= 2 + n;
    return true;
}

static bool rd_take(rd_t *r, size_t n, const unsigned char **out)
{
    if (r->left < n)
        return false;
    *out = r->p;
    r->p += n;
    r->left -= n;
    return true;
}

/* Finds or creates the session called name in t (which is being built). */
static sess_t *load_sess(ut_lock_table_t *t, const unsigned char *name, size_t len, int *rc)
{
    uint64_t hsh = ut__lock_hash(name, len);
    sess_t *s = (sess_t *)ut__lock_map_find(&t->sess, hsh, name, len);
    if (s != NULL)
        return s;
    if (ut__lock_map_reserve(&t->sess) != UT_OK || (s = sess_alloc(name, len, hsh)) == NULL) {
        *rc = UT_ENOMEM;
        return NULL;
    }
    ut__lock_map_insert(&t->sess, &s->key);
    return s;
}

static int load(ut_lock_table_t *t, const unsigned char *buf, size_t len)
{
    const unsigned char *q;
    if (len < SNAP_HEAD + 4 || ut__lock_get32(buf) != SNAP_MAGIC)
        return UT_ECORRUPT;
    if (ut__lock_get16(buf + 4) != SNAP_VERSION)
        return UT_EVERSION;
    if (ut_crc32c(0, buf, len - 4) != ut__lock_get32(buf + len - 4))
        return UT_ECORRUPT;
    t->now = ut__lock_get64(buf + 8);
    t->last_token = ut__lock_get64(buf + 16);
    uint32_t nres = ut__lock_get32(buf + 24);
    rd_t r = {buf + SNAP_HEAD, len - SNAP_HEAD - 4};
    int rc = UT_OK;
    for (uint32_t i = 0; i < nres; i++) {
        const unsigned char *name;
        size_t nl;
        if (!rd_name(&r, &name, &nl) || !rd_take(&r, SNAP_RES, &q))
            return UT_ECORRUPT;
        uint64_t hsh = ut__lock_hash(name, nl);
        if (ut__lock_map_find(&t->res, hsh, name, nl) != NULL || q[0] > 1)
            return UT_ECORRUPT;
        size_t nh = ut__lock_get32(q + 13), nw = ut__lock_get32(q + 17);
        /* Each entry takes at least 23 bytes: bounds the counts before
         * anything is allocated for them. */
        if (nh > r.left / (3 + SNAP_HOLDER) || nw > r.left / (3 + SNAP_WAITER) ||
            nw > t->max_waiters)
            return UT_ECORRUPT;
        if (ut__lock_map_reserve(&t->res) != UT_OK)
            return UT_ENOMEM;
        res_t *res = res_alloc(name, nl, hsh);
        if (res == NULL)
            return UT_ENOMEM;
        ut__lock_map_insert(&t->res, &res->key);
        res->allow_shared = q[0];
        res->limit = ut__lock_get32(q + 1);
        res->delay_until = ut__lock_get64(q + 5);
        if (holders_reserve(res, nh + nw) != UT_OK || waiters_reserve(res, nw) != UT_OK)
            return UT_ENOMEM;
        for (size_t k = 0; k < nh; k++) {
            if (!rd_name(&r, &name, &nl) || !rd_take(&r, SNAP_HOLDER, &q))
                return UT_ECORRUPT;
            sess_t *s = load_sess(t, name, nl, &rc);
            if (s == NULL)
                return rc;
            holder_t *h = &res->h[k];
            h->s = s;
            h->shared = q[0];
            h->count = ut__lock_get32(q + 1);
            h->token = ut__lock_get64(q + 5);
            h->expires = ut__lock_get64(q + 13);
            if (q[0] > 1 || h->count == 0 || h->token == 0 || h->token > t->last_token ||
                holder_index(res, s) >= 0)
                return UT_ECORRUPT;
            if ((h->shared && !res->allow_shared) || (!h->shared && nh != 1))
                return UT_ECORRUPT;
            res->nh = k + 1;
        }
        if (res->limit != 0 && nh > res->limit)
            return UT_ECORRUPT;
        for (size_t k = 0; k < nw; k++) {
            if (!rd_name(&r, &name, &nl) || !rd_take(&r, SNAP_WAITER, &q))
                return UT_ECORRUPT;
            sess_t *s = load_sess(t, name, nl, &rc);
            if (s == NULL)
                return rc;
            waiter_t *w = &res->w[k];
            w->s = s;
            w->flags = q[0];
            w->ttl = ut__lock_get64(q + 1);
            w->deadline = ut__lock_get64(q + 9);
            w->lease_until = ut__lock_get64(q + 17);
            if ((w->flags & ~(UT_LOCK_F_SHARED | UT_LOCK_F_REENTRANT)) || w->ttl == 0 ||
                s->waiting != NULL || holder_index(res, s) >= 0 ||
                ((w->flags & UT_LOCK_F_SHARED) && !res->allow_shared))
                return UT_ECORRUPT;
            s->waiting = res;
            res->nw = k + 1;
        }
        /* A resource whose lock-delay has run out stays listed until the
         * next tick walks it; it is restored exactly as it was listed. */
        if (nh == 0 && nw == 0 && res->delay_until == 0)
            return UT_ECORRUPT;
        res_set_active(t, res, true);
    }
    if (r.left != 0)
        return UT_ECORRUPT;
    return search_reserve(t, t->sess.n) == UT_OK ? UT_OK : UT_ENOMEM;
}

int ut_lock_table_restore(ut_lock_table_t *t, const void *buf, size_t len)
{
    if (!valid(t))
        return UT_EINVAL;
    if (buf == NULL)
        UT__FAIL(&t->base, UT_EINVAL, "restore: NULL buffer");
    ut_lock_table_t tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.lock_delay = t->lock_delay;
    tmp.max_waiters = t->max_waiters;
    tmp.node = t->node;
    tmp.tracer = t->tracer;
    int rc = load(&tmp, buf, len);
    if (rc != UT_OK) {
        table_clear(&tmp);
        ut__trace(&t->tracer, UT_TRACE_WARN, "lock", t->node, "restore-refused", ut_strerror(rc),
                  len, 0);
        UT__FAIL(&t->base, rc, "restore: %s",
                 rc == UT_ENOMEM     ? "out of memory"
                 : rc == UT_EVERSION ? "unknown snapshot version"
                                     : "malformed snapshot");
    }
    table_clear(t);
    tmp.base = t->base;
    *t = tmp;
    return UT_OK;
}
