/* SPDX-License-Identifier: MIT */
/* The client handle (the seed's DistributedLock: resource, holder, ttl)
 * and the resource server's fence. The client builds table commands and
 * hands them to the caller's submit callback (a local table, or a Raft
 * proposal); it owns no socket and reads no clock. */
#include "lock/lock_internal.h"

#include "common/handle.h"
#include "common/trace.h"
#include "internal.h"

struct ut_lock {
    ut__handle_t base;
    ut__tracer_t tracer;
    uint64_t node; /* for trace events */
    unsigned char *res;
    size_t rlen;
    unsigned char *hold;
    size_t hlen;
    uint64_t ttl;
    uint32_t flags, limit;
    ut_lock_submit_fn submit;
    void *userdata;
    bool acquired, waiting;
    uint64_t token;
    uint64_t lease_end;
    /* Client time of the last request the table answered while waiting
     * (the queued ACQUIRE, a waiter's RENEW): a grant came after it, so a
     * lease counted from it never outlives the table's. */
    uint64_t wait_base;
    size_t cmdcap;
    unsigned char buf[]; /* names, then the command buffer */
};

static const size_t lock_config_size[UT_LOCK_CONFIG_VERSION + 1] = {
    0, UT__LOCK_CFG_END(ut_lock_config_t, userdata), /* 1 */
    UT__LOCK_CFG_END(ut_lock_config_t, trace_arg),   /* 2: the trace hook */
};
_Static_assert(sizeof lock_config_size / sizeof lock_config_size[0] == UT_LOCK_CONFIG_VERSION + 1,
               "one size per config version");

int ut_lock_config_init(ut_lock_config_t *cfg, unsigned version)
{
    if (cfg == NULL)
        return UT_EINVAL;
    if (version == 0 || version > UT_LOCK_CONFIG_VERSION)
        return UT_EVERSION;
    /* Write only the bytes a struct of that version has. */
    ut_lock_config_t d;
    memset(&d, 0, sizeof d);
    d.version = version;
    d.ttl_ms = 10000;
    memcpy(cfg, &d, lock_config_size[version]);
    return UT_OK;
}

int ut_lock_new(ut_lock_t **out, const ut_lock_config_t *user)
{
    if (out == NULL || user == NULL)
        return UT_EINVAL;
    if (user->version == 0 || user->version > UT_LOCK_CONFIG_VERSION)
        return UT_EVERSION;
    /* Read only the fields the caller's version has. */
    ut_lock_config_t full;
    memset(&full, 0, sizeof full);
    memcpy(&full, user, lock_config_size[user->version]);
    const ut_lock_config_t *cfg = &full;
    if (cfg->resource == NULL || cfg->resource_len == 0 || cfg->resource_len > UT_LOCK_NAME_MAX ||
        cfg->holder == NULL || cfg->holder_len == 0 || cfg->holder_len > UT_LOCK_NAME_MAX ||
        cfg->ttl_ms == 0 || cfg->submit == NULL || cfg->flags > 0xffffu)
        return UT_EINVAL;
    size_t names = cfg->resource_len + cfg->holder_len;
    size_t cmdcap = 32 + names;
    ut_lock_t *l = ut__calloc(1, sizeof *l + names + cmdcap);
    if (l == NULL)
        return UT_ENOMEM;
    ut__handle_init(&l->base, UT__LOCK_MAGIC);
    l->res = l->buf;
    l->rlen = cfg->resource_len;
    memcpy(l->res, cfg->resource, l->rlen);
    l->hold = l->buf + l->rlen;
    l->hlen = cfg->holder_len;
    memcpy(l->hold, cfg->holder, l->hlen);
    l->ttl = cfg->ttl_ms;
    l->flags = cfg->flags & ~UT_LOCK_F_REENTRANT; /* the handle holds once */
    l->limit = cfg->limit;
    l->submit = cfg->submit;
    l->userdata = cfg->userdata;
    l->cmdcap = cmdcap;
    l->node = cfg->node;
    l->tracer.fn = cfg->trace;
    l->tracer.arg = cfg->trace_arg;
    *out = l;
    return UT_OK;
}

void ut_lock_free(ut_lock_t *l)
{
    if (l == NULL || !ut__handle_valid(&l->base, UT__LOCK_MAGIC))
        return;
    ut__handle_retire(&l->base);
    ut__free(l);
}

const char *ut_lock_errmsg(const ut_lock_t *l)
{
    return ut__handle_errmsg(l ? &l->base : NULL, UT__LOCK_MAGIC);
}

static bool lvalid(const ut_lock_t *l)
{
    return l != NULL && ut__handle_valid(&l->base, UT__LOCK_MAGIC);
}

/* The client's lease end, saturating: now + ttl must not wrap into the
 * past (ut_lock_new accepts any TTL > 0). */
static uint64_t lease_end(uint64_t now, uint64_t ttl)
{
    return ttl > UINT64_MAX - now ? UINT64_MAX : now + ttl;
}

/* Encodes and submits; UT_OK means the table answered (in *rp). */
static int send(ut_lock_t *l, ut_lock_op_t op, uint64_t wait_ms, ut_lock_reply_t *rp)
{
    ut_lock_cmd_t c = {op, l->res, l->rlen, l->hold, l->hlen, l->ttl, wait_ms, l->limit, l->flags};
    size_t n;
    unsigned char *cmd = l->buf + l->rlen + l->hlen;
    int rc = ut_lock_cmd_encode(&c, cmd, l->cmdcap, &n);
    if (rc != UT_OK)
        UT__FAIL(&l->base, rc, "encode: %s", ut_strerror(rc));
    memset(rp, 0, sizeof *rp);
    rc = l->submit(l->userdata, cmd, n, rp);
    if (rc != UT_OK)
        ut__trace(&l->tracer, UT_TRACE_WARN, "lock", l->node, "submit-failed", ut_strerror(rc),
                  (uint64_t)op, (uint64_t) - (int64_t)rc);
    if (rc != UT_OK)
        UT__FAIL(&l->base, rc, "submit: %s (no quorum answer)", ut_strerror(rc));
    return UT_OK;
}

int ut_lock_acquire(ut_lock_t *l, uint64_t now_ms, uint64_t wait_ms, ut_lock_result_t *out)
{
    if (!lvalid(l) || out == NULL)
        return lvalid(l) ? ut__handle_fail(&l->base, UT_EINVAL, "acquire: NULL out") : UT_EINVAL;
    if (l->acquired || l->waiting)
        UT__FAIL(&l->base, UT_ESTATE, "acquire: already %s", l->acquired ? "held" : "waiting");
    ut_lock_reply_t rp;
    if (send(l, UT_LOCK_OP_ACQUIRE, wait_ms, &rp) != UT_OK) {
        /* Lost quorum / no leader: "error" (the seed's LockAcquireResult). */
        *out = UT_LOCK_ERROR;
        return UT_OK;
    }
    if (rp.status != UT_OK) {
        *out = UT_LOCK_ERROR;
        ut__trace(&l->tracer, UT_TRACE_WARN, "lock", l->node, "acquire-refused",
                  ut_strerror(rp.status), 0, (uint64_t) - (int64_t)rp.status);
        ut__handle_fail(&l->base, rp.status, "acquire: refused by the table: %s",
                        ut_strerror(rp.status));
        return UT_OK;
    }
    if (rp.queued) {
        l->waiting = true;
        l->wait_base = now_ms;
        UT__FAIL(&l->base, UT_EBUSY, "acquire: queued");
    }
    *out = rp.result;
    if (rp.result == UT_LOCK_ACQUIRED) {
        l->acquired = true;
        l->token = rp.token;
        /* The lease is counted from when the request was sent, on the
         * client's clock: never later than the table's own expiry. */
        l->lease_end = lease_end(now_ms, l->ttl);
    }
    return UT_OK;
}

int ut_lock_release(ut_lock_t *l, uint64_t now_ms)
{
    UT__UNUSED(now_ms);
    if (!lvalid(l))
        return UT_EINVAL;
    if (!l->acquired && !l->waiting)
        UT__FAIL(&l->base, UT_ESTATE, "release: neither held nor waiting");
    ut_lock_reply_t rp;
    int rc = send(l, UT_LOCK_OP_RELEASE, 0, &rp);
    if (rc != UT_OK)
        return rc;
    /* The table changed nothing on UT_ENOMEM: the lock is still held. */
    if (rp.status == UT_ENOMEM)
        UT__FAIL(&l->base, UT_ENOMEM, "release: the table is out of memory (retry)");
    l->acquired = l->waiting = false;
    l->token = 0;
    if (rp.status != UT_OK)
        UT__FAIL(&l->base, rp.status, "release: %s (the lock was already lost)",
                 ut_strerror(rp.status));
    return UT_OK;
}

int ut_lock_renew(ut_lock_t *l, uint64_t now_ms)
{
    if (!lvalid(l))
        return UT_EINVAL;
    if (!l->acquired && !l->waiting)
        UT__FAIL(&l->base, UT_ESTATE, "renew: neither held nor waiting");
    ut_lock_reply_t rp;
    int rc = send(l, UT_LOCK_OP_RENEW, 0, &rp);
    if (rc != UT_OK)
        return rc;
    if (rp.status == UT_ENOMEM)
        UT__FAIL(&l->base, UT_ENOMEM, "renew: the table is out of memory (retry)");
    if (rp.status != UT_OK) {
        ut__trace(&l->tracer, UT_TRACE_WARN, "lock", l->node, "lease-lost",
                  "the table refused the renewal", l->token, (uint64_t) - (int64_t)rp.status);
        l->acquired = l->waiting = false;
        l->token = 0;
        UT__FAIL(&l->base, rp.status, "renew: %s (the lock is lost)", ut_strerror(rp.status));
    }
    if (l->waiting && rp.token != 0) {
        /* The table says it holds the lock: the GRANTED event was lost
         * (or came before the ACQUIRE's answer). */
        l->waiting = false;
        l->acquired = true;
        l->token = rp.token;
        ut__trace(&l->tracer, UT_TRACE_INFO, "lock", l->node, "grant-found",
                  "a waiter's renewal found the lock granted", rp.token, 0);
    }
    if (l->acquired)
        l->lease_end = lease_end(now_ms, l->ttl);
    else
        l->wait_base = now_ms;
    return UT_OK;
}

static bool mine(const ut_lock_t *l, const ut_lock_event_t *ev)
{
    return ev->resource_len == l->rlen && ev->holder_len == l->hlen &&
           memcmp(ev->resource, l->res, l->rlen) == 0 && memcmp(ev->holder, l->hold, l->hlen) == 0;
}

int ut_lock_on_event(ut_lock_t *l, const ut_lock_event_t *ev, ut_lock_result_t *out)
{
    if (!lvalid(l) || ev == NULL || (ev->resource == NULL && ev->resource_len) ||
        (ev->holder == NULL && ev->holder_len))
        return UT_EINVAL;
    if (!mine(l, ev))
        return UT_ENOTFOUND;
    switch (ev->type) {
    case UT_LOCK_EV_GRANTED:
        if (!l->waiting)
            return UT_ENOTFOUND;
        l->waiting = false;
        l->acquired = true;
        l->token = ev->token;
        /* The event's expires_ms is table time, which need not be the
         * client's clock: count the lease on the client's clock from the
         * last request answered while waiting (the grant came later). */
        l->lease_end = lease_end(l->wait_base, l->ttl);
        if (out)
            *out = UT_LOCK_ACQUIRED;
        return UT_OK;
    case UT_LOCK_EV_WAIT_TIMEOUT:
    case UT_LOCK_EV_WAITER_EXPIRED:
        if (!l->waiting)
            return UT_ENOTFOUND;
        l->waiting = false;
        if (out)
            *out = ev->type == UT_LOCK_EV_WAIT_TIMEOUT ? UT_LOCK_TIMEOUT : UT_LOCK_ERROR;
        return UT_OK;
    case UT_LOCK_EV_EXPIRED:
        if (!l->acquired || ev->token != l->token)
            return UT_ENOTFOUND;
        ut__trace(&l->tracer, UT_TRACE_WARN, "lock", l->node, "lease-lost",
                  "the table expired the lease", l->token, 0);
        l->acquired = false;
        l->token = 0;
        return UT_OK;
    default:
        return UT_EINVAL;
    }
}

int ut_lock_tick(ut_lock_t *l, uint64_t now_ms, bool *lost)
{
    if (!lvalid(l))
        return UT_EINVAL;
    bool gone = l->acquired && now_ms >= l->lease_end;
    if (gone) {
        ut__trace(&l->tracer, UT_TRACE_WARN, "lock", l->node, "lease-lost",
                  "the lease ran out on the client's clock", l->token, l->lease_end);
        l->acquired = false;
        l->token = 0;
    }
    if (lost)
        *lost = gone;
    return UT_OK;
}

const void *ut_lock_resource(const ut_lock_t *l, size_t *len)
{
    if (!lvalid(l))
        return NULL;
    if (len)
        *len = l->rlen;
    return l->res;
}

const void *ut_lock_holder(const ut_lock_t *l, size_t *len)
{
    if (!lvalid(l))
        return NULL;
    if (len)
        *len = l->hlen;
    return l->hold;
}

uint64_t ut_lock_ttl(const ut_lock_t *l)
{
    return lvalid(l) ? l->ttl : 0;
}

bool ut_lock_acquired(const ut_lock_t *l)
{
    return lvalid(l) && l->acquired;
}

uint64_t ut_lock_token(const ut_lock_t *l)
{
    return lvalid(l) && l->acquired ? l->token : 0;
}

bool ut_lock_waiting(const ut_lock_t *l)
{
    return lvalid(l) && l->waiting;
}

/* ---- fence ---------------------------------------------------------------- */

typedef struct fence_ent {
    ut__lock_key_t key;
    uint64_t highest;
    unsigned char name[];
} fence_ent_t;

struct ut_fence {
    ut__handle_t base;
    ut__tracer_t tracer;
    uint64_t node;
    ut__lock_map_t map;
};

static const size_t fence_config_size[UT_FENCE_CONFIG_VERSION + 1] = {
    0, UT__LOCK_CFG_END(ut_fence_config_t, version), /* 1 */
    UT__LOCK_CFG_END(ut_fence_config_t, trace_arg),  /* 2: the trace hook */
};
_Static_assert(sizeof fence_config_size / sizeof fence_config_size[0] ==
                   UT_FENCE_CONFIG_VERSION + 1,
               "one size per config version");

int ut_fence_config_init(ut_fence_config_t *cfg, unsigned version)
{
    if (cfg == NULL)
        return UT_EINVAL;
    if (version == 0 || version > UT_FENCE_CONFIG_VERSION)
        return UT_EVERSION;
    ut_fence_config_t d;
    memset(&d, 0, sizeof d);
    d.version = version;
    memcpy(cfg, &d, fence_config_size[version]);
    return UT_OK;
}

int ut_fence_new(ut_fence_t **out, const ut_fence_config_t *cfg)
{
    if (out == NULL || cfg == NULL)
        return UT_EINVAL;
    if (cfg->version == 0 || cfg->version > UT_FENCE_CONFIG_VERSION)
        return UT_EVERSION;
    ut_fence_config_t c;
    memset(&c, 0, sizeof c);
    memcpy(&c, cfg, fence_config_size[cfg->version]);
    ut_fence_t *f = ut__calloc(1, sizeof *f);
    if (f == NULL)
        return UT_ENOMEM;
    ut__handle_init(&f->base, UT__FENCE_MAGIC);
    f->node = c.node;
    f->tracer.fn = c.trace;
    f->tracer.arg = c.trace_arg;
    *out = f;
    return UT_OK;
}

void ut_fence_free(ut_fence_t *f)
{
    if (f == NULL || !ut__handle_valid(&f->base, UT__FENCE_MAGIC))
        return;
    for (size_t i = 0; i < f->map.cap; i++)
        ut__free(f->map.slots[i]);
    ut__lock_map_free(&f->map);
    ut__handle_retire(&f->base);
    ut__free(f);
}

const char *ut_fence_errmsg(const ut_fence_t *f)
{
    return ut__handle_errmsg(f ? &f->base : NULL, UT__FENCE_MAGIC);
}

int ut_fence_check(ut_fence_t *f, const void *resource, size_t len, uint64_t token)
{
    if (f == NULL || !ut__handle_valid(&f->base, UT__FENCE_MAGIC))
        return UT_EINVAL;
    if (resource == NULL || len == 0 || len > UT_LOCK_NAME_MAX || token == 0)
        UT__FAIL(&f->base, UT_EINVAL, "check: empty or too long name, or token 0");
    uint64_t h = ut__lock_hash(resource, len);
    fence_ent_t *e = (fence_ent_t *)ut__lock_map_find(&f->map, h, resource, len);
    if (e != NULL) {
        /* Chubby §2.4: a server rejects a request whose sequencer is older
         * than the newest it has seen for that lock. */
        if (token < e->highest)
            ut__trace(&f->tracer, UT_TRACE_WARN, "lock", f->node, "stale-token-refused",
                      "older than the newest token seen (Chubby 2.4)", token, e->highest);
        if (token < e->highest)
            UT__FAIL(&f->base, UT_ESTALE, "check: token %llu is older than %llu",
                     (unsigned long long)token, (unsigned long long)e->highest);
        e->highest = token;
        return UT_OK;
    }
    if (ut__lock_map_reserve(&f->map) != UT_OK || (e = ut__calloc(1, sizeof *e + len)) == NULL)
        UT__FAIL(&f->base, UT_ENOMEM, "check: out of memory");
    memcpy(e->name, resource, len);
    e->key.hash = h;
    e->key.len = (uint32_t)len;
    e->key.name = e->name;
    e->highest = token;
    ut__lock_map_insert(&f->map, &e->key);
    return UT_OK;
}

uint64_t ut_fence_highest(const ut_fence_t *f, const void *resource, size_t len)
{
    if (f == NULL || !ut__handle_valid(&f->base, UT__FENCE_MAGIC) || resource == NULL)
        return 0;
    fence_ent_t *e =
        (fence_ent_t *)ut__lock_map_find(&f->map, ut__lock_hash(resource, len), resource, len);
    return e ? e->highest : 0;
}
