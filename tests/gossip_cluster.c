/* SPDX-License-Identifier: MIT */
#include "gossip_cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gossip/gossip_internal.h"
#include "gossip_check.h"

/* Views are checked after every drain up to this many members (n^2 of
 * memory; the benchmark's 10,000 members skip it). */
#define GC_VIEW_CHECK_MAX 256u

/* Packet buffers of up to this size come from a free list (a datagram is
 * at most 1,400 bytes): no malloc per message. */
#define GC_BUF 1536u

typedef struct gc_pkt {
    uint64_t at, seq;
    size_t to; /* index */
    size_t len;
    unsigned char *buf;
} gc_pkt_t;

/* A member's tick, due at a point of the tick grid. */
typedef struct gc_timer {
    uint64_t at;
    size_t i;
} gc_timer_t;

typedef struct gc_freebuf {
    struct gc_freebuf *next;
} gc_freebuf_t;

typedef struct gc_member {
    ut_gossip_t *h;
    bool crashed;
    uint64_t stalled_until;
    uint64_t stall_from; /* start of the latest stall (with stalled_until, its end) */
    bool stalled_ever;
    uint64_t slow_from, slow_until; /* latest slow spell: inbound delayed by slow_lag */
    uint32_t slow_lag;
    uint64_t crashed_at;
    uint64_t crash_inc; /* incarnation of the crashed instance */
    bool was_crashed;
    bool detected;
    size_t dead_seen; /* live members that declared it dead since the crash */
    unsigned generation;
    gck_view_t *view;    /* this instance's view of each member (small n only) */
    uint64_t tick_at;    /* grid point of its pending timer entry; UINT64_MAX = none */
    uint64_t last_tick;  /* when it was last ticked */
    uint64_t first_grid; /* the first grid point this instance is ticked at */
} gc_member_t;

struct gc {
    gc_config_t cfg;
    gc_member_t *m;
    uint64_t now, rng, seq, next_tick;
    gc_pkt_t *heap;
    size_t nheap, capheap;
    gc_timer_t *timers; /* min-heap by (at, member index) */
    size_t ntimers, captimers;
    gc_freebuf_t *free_bufs;
    unsigned char *side;
    ut_msg_decoder_t *dec;
    gc_stats_t st;
    gc_event_fn fn;
    void *ud;
    uint64_t errors;
    size_t n_up;    /* members not crashed */
    bool ticking;   /* draining what a tick produced */
    bool sent_sync; /* a drain sent a full-state message */
    uint64_t (*allocs)(void);
};

static uint64_t rnd(gc_t *g)
{
    uint64_t z = (g->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void gc_config_init(gc_config_t *c)
{
    memset(c, 0, sizeof *c);
    c->n = 16;
    c->seed = 1;
    c->delay_min_ms = 1;
    c->delay_max_ms = 20;
    c->tick_ms = 50;
    c->probe_interval_ms = 1000;
    c->probe_timeout_ms = 500;
    c->push_pull_ms = 30000;
    c->lifeguard = true;
    c->bootstrap = true;
    c->check_views = true;
}

static bool pkt_less(const gc_pkt_t *a, const gc_pkt_t *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void heap_push(gc_t *g, gc_pkt_t p)
{
    if (g->nheap == g->capheap) {
        g->capheap = g->capheap ? g->capheap * 2 : 1024;
        g->heap = realloc(g->heap, g->capheap * sizeof *g->heap);
    }
    size_t i = g->nheap++;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (!pkt_less(&p, &g->heap[up]))
            break;
        g->heap[i] = g->heap[up];
        i = up;
    }
    g->heap[i] = p;
}

static gc_pkt_t heap_pop(gc_t *g)
{
    gc_pkt_t top = g->heap[0], last = g->heap[--g->nheap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= g->nheap)
            break;
        if (c + 1 < g->nheap && pkt_less(&g->heap[c + 1], &g->heap[c]))
            c++;
        if (!pkt_less(&g->heap[c], &last))
            break;
        g->heap[i] = g->heap[c];
        i = c;
    }
    if (g->nheap > 0)
        g->heap[i] = last;
    return top;
}

static bool timer_less(const gc_timer_t *a, const gc_timer_t *b)
{
    return a->at < b->at || (a->at == b->at && a->i < b->i);
}

static void timer_push(gc_t *g, gc_timer_t t)
{
    if (g->ntimers == g->captimers) {
        g->captimers = g->captimers ? g->captimers * 2 : 1024;
        g->timers = realloc(g->timers, g->captimers * sizeof *g->timers);
    }
    size_t i = g->ntimers++;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (!timer_less(&t, &g->timers[up]))
            break;
        g->timers[i] = g->timers[up];
        i = up;
    }
    g->timers[i] = t;
}

static gc_timer_t timer_pop(gc_t *g)
{
    gc_timer_t top = g->timers[0], last = g->timers[--g->ntimers];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= g->ntimers)
            break;
        if (c + 1 < g->ntimers && timer_less(&g->timers[c + 1], &g->timers[c]))
            c++;
        if (!timer_less(&g->timers[c], &last))
            break;
        g->timers[i] = g->timers[c];
        i = c;
    }
    if (g->ntimers > 0)
        g->timers[i] = last;
    return top;
}

/* Member i wants a tick at t: its entry goes to the first grid point at or
 * after t that is still to come (the grid point now, if its ticks have not
 * run yet), unless an earlier entry is pending. Members are ticked on the
 * grid every tick_ms as before, but only when ut_gossip_next_deadline()
 * says a tick has work: the ticks left out did nothing. */
static void schedule(gc_t *g, size_t i, uint64_t t)
{
    gc_member_t *m = &g->m[i];
    uint64_t tk = g->cfg.tick_ms;
    uint64_t at = t <= g->next_tick ? g->next_tick : (t + tk - 1) / tk * tk;
    /* Never later than a period after the last tick: the deadline is
     * capped there (Lifeguard's stall rule), and rounding up must not
     * cross it. */
    uint64_t cap = m->last_tick + g->cfg.probe_interval_ms;
    if (at > cap && m->h != NULL && ut_gossip_next_deadline(m->h) != 0) {
        uint64_t down = cap / tk * tk;
        at = down >= g->next_tick ? down : g->next_tick;
    }
    if (at >= m->tick_at)
        return;
    m->tick_at = at;
    timer_push(g, (gc_timer_t){at, i});
}

static void reschedule(gc_t *g, size_t i)
{
    gc_member_t *m = &g->m[i];
    if (m->crashed || m->h == NULL)
        return;
    uint64_t d = ut_gossip_next_deadline(m->h);
    if (d != UINT64_MAX)
        schedule(g, i, d);
}

static unsigned char *buf_get(gc_t *g, size_t len)
{
    if (len > GC_BUF)
        return malloc(len);
    gc_freebuf_t *b = g->free_bufs;
    if (b == NULL)
        return malloc(GC_BUF);
    g->free_bufs = b->next;
    return (unsigned char *)b;
}

static void buf_put(gc_t *g, unsigned char *p, size_t len)
{
    if (p == NULL)
        return;
    if (len > GC_BUF) {
        free(p);
        return;
    }
    gc_freebuf_t *b = (gc_freebuf_t *)(void *)p;
    b->next = g->free_bufs;
    g->free_bufs = b;
}

/* gc_config_t.trace_member: every trace event by or about that member. */
static void dbg_trace(void *arg, const ut_trace_event_t *ev)
{
    gc_t *g = arg;
    uint64_t w = g->cfg.trace_member;
    if (ev->node == w || ev->a == w || (ev->b == w && strcmp(ev->event, "confirm") == 0))
        fprintf(stderr, "T %llu n%llu %s %s a=%llu b=%llu stalled=%d\n", (unsigned long long)g->now,
                (unsigned long long)ev->node, ev->event, ev->reason ? ev->reason : "",
                (unsigned long long)ev->a, (unsigned long long)ev->b,
                (int)(g->m[ev->node - 1].stalled_until > g->now));
}

static ut_gossip_t *make(gc_t *g, size_t i, bool with_seed)
{
    ut_gossip_config_t c;
    ut_gossip_config_init(&c, UT_GOSSIP_CONFIG_VERSION);
    c.id = i + 1;
    c.seed = g->cfg.seed * 7919u + g->m[i].generation;
    c.probe_interval_ms = g->cfg.probe_interval_ms;
    c.probe_timeout_ms = g->cfg.probe_timeout_ms;
    c.push_pull_interval_ms = g->cfg.push_pull_ms;
    c.lifeguard = g->cfg.lifeguard;
    c.trace = g->cfg.trace_member != 0 ? dbg_trace : NULL;
    c.trace_arg = g;
    uint64_t seed_id = 0;
    if (with_seed) {
        for (size_t j = 0; j < g->cfg.n; j++)
            if (j != i && !g->m[j].crashed) {
                seed_id = j + 1;
                break;
            }
    }
    c.seeds = &seed_id;
    c.n_seeds = seed_id != 0 ? 1 : 0;
    ut_gossip_t *h = NULL;
    if (ut_gossip_new(&h, &c) != UT_OK)
        g->errors++;
    return h;
}

gc_t *gc_new(const gc_config_t *c)
{
    gc_t *g = calloc(1, sizeof *g);
    g->cfg = *c;
    g->rng = c->seed ^ 0x5bd1e995u;
    g->m = calloc(c->n, sizeof *g->m);
    g->side = NULL;
    if (ut_msg_decoder_new(&g->dec) != UT_OK)
        g->errors++;
    g->n_up = c->n;
    g->captimers = c->n + 1024;
    g->timers = malloc(g->captimers * sizeof *g->timers);
    for (size_t i = 0; i < c->n; i++) {
        g->m[i].tick_at = UINT64_MAX;
        g->m[i].h = make(g, i, !c->bootstrap && i > 0);
        if (c->check_views && c->n <= GC_VIEW_CHECK_MAX)
            g->m[i].view = calloc(c->n, sizeof(gck_view_t));
    }
    if (c->bootstrap) {
        /* Every member receives the full list once, as if it had joined. */
        ut_entry_t *e = calloc(c->n, sizeof *e);
        for (size_t j = 0; j < c->n; j++) {
            e[j].index = j + 1;
            e[j].type = UT_NODE_ALIVE;
        }
        for (size_t i = 0; i < c->n; i++) {
            ut_msg_t msg;
            memset(&msg, 0, sizeof msg);
            msg.type = UT_MSG_GOSSIP_SYNC_RESP;
            msg.from = i == 0 ? 2 : 1;
            msg.to = i + 1;
            msg.body.gossip.n_updates = c->n;
            msg.body.gossip.updates = e;
            if (ut_gossip_step(g->m[i].h, &msg) != UT_OK)
                g->errors++;
            ut_gossip_ready_t rd;
            if (ut_gossip_ready(g->m[i].h, &rd) == UT_OK && !ut_gossip_ready_empty(&rd))
                ut_gossip_advance(g->m[i].h, &rd);
            ut__gossip_quiesce(g->m[i].h);
        }
        free(e);
    }
    for (size_t i = 0; i < c->n; i++)
        schedule(g, i, 0);
    return g;
}

void gc_free(gc_t *g)
{
    if (g == NULL)
        return;
    for (size_t i = 0; i < g->cfg.n; i++) {
        ut_gossip_free(g->m[i].h);
        free(g->m[i].view);
    }
    while (g->nheap > 0)
        free(heap_pop(g).buf);
    free(g->heap);
    free(g->timers);
    while (g->free_bufs != NULL) {
        gc_freebuf_t *b = g->free_bufs;
        g->free_bufs = b->next;
        free(b);
    }
    free(g->m);
    free(g->side);
    free(g->st.detect_ms);
    ut_msg_decoder_free(g->dec);
    free(g);
}

/* Whether member j was stalled, or slow, at some time in [from, to]. */
static bool stalled_within(const gc_member_t *m, uint64_t from, uint64_t to)
{
    return (m->stalled_ever && m->stall_from <= to && m->stalled_until >= from) ||
           (m->slow_until > 0 && m->slow_from <= to && m->slow_until >= from);
}

/* A suspicion that member i raised itself (its own probe of j failed: a
 * SUSPECTED event out of a tick). It is justified when j had crashed, was
 * partitioned away from i, or was stalled during i's probe; else it is
 * false: caused by loss, or by i's own slowness. i's probe of j began at
 * most a probe period (interval times local health + 1) before now; the
 * window adds one more period for a health that fell meanwhile, and the
 * longest delay. */
static void classify_origin(gc_t *g, size_t i, size_t j, bool crashed)
{
    gc_member_t *t = &g->m[j];
    g->st.origin_susp++;
    if (crashed || (g->side != NULL && g->side[i] != g->side[j])) {
        g->st.origin_susp_crash++;
        return;
    }
    uint64_t lhm = g->m[i].h != NULL ? ut_gossip_health(g->m[i].h) : 0;
    uint64_t w = (lhm + 2u) * g->cfg.probe_interval_ms + g->cfg.delay_max_ms;
    uint64_t from = g->now > w ? g->now - w : 0;
    if (stalled_within(t, from, g->now)) {
        g->st.origin_susp_stalled++;
        return;
    }
    g->st.origin_susp_false++;
    if (stalled_within(&g->m[i], from, g->now))
        g->st.origin_susp_false_self++;
}

static void on_event(gc_t *g, size_t i, const ut_gossip_event_t *ev)
{
    size_t j = (size_t)(ev->node - 1);
    if (j >= g->cfg.n)
        return;
    gc_member_t *t = &g->m[j];
    /* About an instance that crashed (and has since restarted): not false. */
    bool stale = t->was_crashed && ev->incarnation <= t->crash_inc;
    if (ev->kind == UT_GOSSIP_EVENT_SUSPECTED) {
        g->st.suspicions++;
        if (g->ticking)
            classify_origin(g, i, j, t->crashed || stale);
        if (!t->crashed && !stale)
            g->st.false_suspicions++;
        else if (!t->detected) {
            t->detected = true;
            uint64_t d = g->now - t->crashed_at;
            g->st.detect_sum_ms += d;
            g->st.detect_n++;
            if (d > g->st.detect_max_ms)
                g->st.detect_max_ms = d;
            if (g->st.detect_n > g->st.detect_cap) {
                g->st.detect_cap = g->st.detect_cap ? g->st.detect_cap * 2 : 64;
                g->st.detect_ms = realloc(g->st.detect_ms, g->st.detect_cap * sizeof(uint64_t));
            }
            g->st.detect_ms[g->st.detect_n - 1] = d;
        }
    } else if (ev->kind == UT_GOSSIP_EVENT_DEAD) {
        g->st.deads++;
        if (!t->crashed && !stale) {
            g->st.false_deads++;
            if (g->cfg.print_false_dead)
                fprintf(stderr,
                        "FD t=%llu by=%zu about=%zu inc=%llu cur_inc=%llu stall=[%llu,%llu] "
                        "by_stall=[%llu,%llu] by_health=%u\n",
                        (unsigned long long)g->now, i + 1, j + 1,
                        (unsigned long long)ev->incarnation,
                        (unsigned long long)(t->h ? ut_gossip_incarnation(t->h) : 0),
                        (unsigned long long)t->stall_from, (unsigned long long)t->stalled_until,
                        (unsigned long long)g->m[i].stall_from,
                        (unsigned long long)g->m[i].stalled_until,
                        g->m[i].h ? ut_gossip_health(g->m[i].h) : 0u);
        } else {
            t->dead_seen++;
            if (t->dead_seen == g->n_up) {
                g->st.dead_all_n++;
                g->st.dead_all_sum_ms += g->now - t->crashed_at;
            }
        }
    }
    if (g->fn != NULL)
        g->fn(g->ud, i, ev, g->now);
}

static void send_all(gc_t *g, size_t i, const ut_gossip_ready_t *rd)
{
    for (size_t k = 0; k < rd->n_msgs; k++) {
        const ut_msg_t *msg = &rd->msgs[k];
        size_t len;
        if (ut_msg_encoded_size(msg, &len) != UT_OK) {
            g->errors++;
            continue;
        }
        if (msg->type == UT_MSG_GOSSIP_SYNC || msg->type == UT_MSG_GOSSIP_SYNC_RESP)
            g->sent_sync = true;
        if (len > 1400) /* push-pull parts included */
            g->st.oversize++;
        g->st.msgs++;
        g->st.bytes += len;
        size_t to = (size_t)(msg->to - 1);
        for (size_t u = 0; g->cfg.trace_member != 0 && u < msg->body.gossip.n_updates; u++)
            if (msg->body.gossip.updates[u].index == g->cfg.trace_member)
                fprintf(stderr, "S %llu from=%zu to=%llu type=%d st=%u inc=%llu\n",
                        (unsigned long long)g->now, i + 1, (unsigned long long)msg->to,
                        (int)msg->type, (unsigned)msg->body.gossip.updates[u].type,
                        (unsigned long long)msg->body.gossip.updates[u].term);
        if (to >= g->cfg.n || (g->side != NULL && g->side[to] != g->side[i]) ||
            rnd(g) % 100 < g->cfg.loss_pct) {
            g->st.dropped++;
            continue;
        }
        unsigned copies = rnd(g) % 100 < g->cfg.dup_pct ? 2 : 1;
        unsigned char *first = NULL;
        size_t first_len = 0;
        for (unsigned c = 0; c < copies; c++) {
            gc_pkt_t p;
            p.buf = buf_get(g, len);
            if (first == NULL) {
                if (ut_msg_encode(msg, p.buf, len, &p.len) != UT_OK)
                    g->errors++;
                first = p.buf;
                first_len = p.len;
            } else {
                memcpy(p.buf, first, first_len); /* a duplicate: the same bytes */
                p.len = first_len;
            }
            uint32_t span = g->cfg.delay_max_ms - g->cfg.delay_min_ms + 1;
            p.at = g->now + g->cfg.delay_min_ms + rnd(g) % span;
            if (g->m[to].slow_until > g->now)
                p.at += g->m[to].slow_lag; /* the receiver is slow to read it */
            p.seq = g->seq++;
            p.to = to;
            heap_push(g, p);
        }
    }
    for (size_t k = 0; k < rd->n_events; k++)
        on_event(g, i, &rd->events[k]);
}

/* The rules of gossip_check.h over member i's whole list (the same checks
 * as utsim's gossip scenario). */
static void check_views(gc_t *g, size_t i)
{
    gc_member_t *o = &g->m[i];
    if (o->view == NULL)
        return;
    size_t cnt = ut_gossip_member_count(o->h);
    size_t k = 0;
    for (size_t j = 0; j < g->cfg.n; j++) {
        ut_gossip_member_t mm;
        bool known = k < cnt && ut_gossip_member_at(o->h, k, &mm) == UT_OK && mm.id == j + 1;
        if (known)
            k++;
        g->st.view_checks++;
        char why[120];
        if (j == i) {
            if (!known || gck_self_rank(mm.status) < 0)
                g->st.view_errors++;
            continue;
        }
        if (!gck_transition(&o->view[j], known, (uint8_t)(known ? mm.status : 0),
                            known ? mm.incarnation : 0, why, sizeof why))
            g->st.view_errors++;
        o->view[j].known = known;
        o->view[j].status = (uint8_t)(known ? mm.status : 0);
        o->view[j].inc = known ? mm.incarnation : 0;
    }
}

static void drain(gc_t *g, size_t i)
{
    ut_gossip_t *h = g->m[i].h;
    ut_gossip_ready_t rd;
    while (ut_gossip_ready(h, &rd) == UT_OK && !ut_gossip_ready_empty(&rd)) {
        send_all(g, i, &rd);
        if (ut_gossip_advance(h, &rd) != UT_OK)
            g->errors++;
    }
    check_views(g, i);
}

/* A member's step reads the time of its last tick, and Lifeguard's stall
 * rule the gap since then. Every member used to be ticked at every grid
 * point; the ticks that had nothing to do are left out now, so the last of
 * them is made here, before a step or a stall (it has nothing to do either:
 * only the clock moves). */
static void catch_up(gc_t *g, size_t i)
{
    gc_member_t *m = &g->m[i];
    uint64_t tk = g->cfg.tick_ms;
    if (m->crashed || m->h == NULL || g->next_tick < tk)
        return;
    uint64_t glast = g->next_tick - tk;
    if (glast > m->last_tick && glast >= m->first_grid && m->stalled_until <= glast) {
        if (ut_gossip_tick(m->h, glast) != UT_OK)
            g->errors++;
        m->last_tick = glast;
    }
}

/* Library allocations of one step or tick and the drain after it, as
 * probe work (probes, acks, indirect probes, nacks, pushes) or as a
 * full-state exchange (a step of one, or a tick that sent one). */
static void account(gc_t *g, uint64_t a0, bool sync)
{
    if (g->allocs == NULL)
        return;
    uint64_t d = g->allocs() - a0;
    if (sync || g->sent_sync) {
        g->st.sync_calls++;
        g->st.sync_allocs += d;
    } else {
        g->st.probe_calls++;
        g->st.probe_allocs += d;
    }
    g->sent_sync = false;
}

static void deliver(gc_t *g, gc_pkt_t *p)
{
    gc_member_t *m = &g->m[p->to];
    if (m->crashed || m->h == NULL)
        return;
    ut_msg_t msg;
    if (ut_msg_decoder_decode(g->dec, &msg, p->buf, p->len, NULL) != UT_OK) {
        g->errors++;
        return;
    }
    catch_up(g, p->to);
    uint64_t a0 = g->allocs != NULL ? g->allocs() : 0;
    bool sync = msg.type == UT_MSG_GOSSIP_SYNC || msg.type == UT_MSG_GOSSIP_SYNC_RESP;
    int rc = ut_gossip_step(m->h, &msg);
    if (rc != UT_OK)
        g->errors++;
    drain(g, p->to);
    account(g, a0, sync);
    reschedule(g, p->to);
}

void gc_run_until(gc_t *g, uint64_t t)
{
    /* Calls made on members between runs (set_meta, leave) may have
     * brought their deadlines forward. */
    for (size_t i = 0; i < g->cfg.n; i++)
        reschedule(g, i);
    while (g->now < t) {
        uint64_t next = g->next_tick;
        if (g->nheap > 0 && g->heap[0].at < next)
            next = g->heap[0].at;
        if (next > t) {
            g->now = t;
            break;
        }
        g->now = next;
        if (g->nheap > 0 && g->heap[0].at == next) {
            gc_pkt_t p = heap_pop(g);
            gc_member_t *m = &g->m[p.to];
            if (!m->crashed && m->stalled_until > g->now) {
                p.at = m->stalled_until; /* waits in the socket buffer */
                heap_push(g, p);
                continue;
            }
            deliver(g, &p);
            buf_put(g, p.buf, p.len);
            continue;
        }
        /* The grid point's ticks, in member order (as when every member
         * was ticked here). */
        while (g->ntimers > 0 && g->timers[0].at == g->now) {
            gc_timer_t tm = timer_pop(g);
            gc_member_t *m = &g->m[tm.i];
            if (m->tick_at != tm.at)
                continue; /* superseded by an earlier entry */
            m->tick_at = UINT64_MAX;
            if (m->crashed || m->h == NULL)
                continue;
            if (m->stalled_until > g->now) {
                g->next_tick += g->cfg.tick_ms; /* not this grid point */
                schedule(g, tm.i, m->stalled_until);
                g->next_tick -= g->cfg.tick_ms;
                continue;
            }
            uint64_t a0 = g->allocs != NULL ? g->allocs() : 0;
            g->sent_sync = false;
            if (ut_gossip_tick(m->h, g->now) != UT_OK)
                g->errors++;
            m->last_tick = g->now;
            g->ticking = true;
            drain(g, tm.i);
            g->ticking = false;
            account(g, a0, false);
            g->next_tick += g->cfg.tick_ms; /* the next tick is a later grid point */
            reschedule(g, tm.i);
            g->next_tick -= g->cfg.tick_ms;
        }
        g->next_tick += g->cfg.tick_ms;
    }
}

uint64_t gc_now(const gc_t *g)
{
    return g->now;
}

ut_gossip_t *gc_node(gc_t *g, size_t i)
{
    return g->m[i].crashed ? NULL : g->m[i].h;
}

void gc_crash(gc_t *g, size_t i)
{
    gc_member_t *m = &g->m[i];
    if (m->crashed)
        return;
    m->crashed = true;
    g->n_up--;
    m->crashed_at = g->now;
    m->crash_inc = ut_gossip_incarnation(m->h);
    m->was_crashed = true;
    m->detected = false;
    m->dead_seen = 0;
    ut_gossip_free(m->h);
    m->h = NULL;
    if (m->view != NULL)
        memset(m->view, 0, g->cfg.n * sizeof(gck_view_t)); /* a new instance sees anew */
}

void gc_restart(gc_t *g, size_t i)
{
    gc_member_t *m = &g->m[i];
    if (!m->crashed)
        return;
    m->generation++;
    m->h = make(g, i, true);
    m->crashed = false;
    g->n_up++;
    m->last_tick = g->now;
    m->first_grid = g->next_tick;
    schedule(g, i, 0);
}

void gc_stall(gc_t *g, size_t i, uint64_t until_ms)
{
    catch_up(g, i);
    if (g->m[i].stalled_until <= g->now)
        g->m[i].stall_from = g->now;
    g->m[i].stalled_ever = true;
    g->m[i].stalled_until = until_ms;
    schedule(g, i, until_ms > g->now ? until_ms : g->now);
}

void gc_partition(gc_t *g, const unsigned char *side)
{
    free(g->side);
    g->side = NULL;
    if (side != NULL) {
        g->side = malloc(g->cfg.n);
        memcpy(g->side, side, g->cfg.n);
    }
}

void gc_slow(gc_t *g, size_t i, uint64_t until_ms, uint32_t lag_ms)
{
    g->m[i].slow_from = g->now;
    g->m[i].slow_until = until_ms;
    g->m[i].slow_lag = lag_ms;
}

void gc_count_allocs(gc_t *g, uint64_t (*fn)(void))
{
    g->allocs = fn;
}

void gc_set_loss(gc_t *g, unsigned loss_pct)
{
    g->cfg.loss_pct = loss_pct;
}

bool gc_crashed(const gc_t *g, size_t i)
{
    return g->m[i].crashed;
}

const gc_stats_t *gc_stats(const gc_t *g)
{
    return &g->st;
}

ut_node_status_t gc_view(gc_t *g, size_t i, size_t j)
{
    ut_gossip_member_t mm;
    if (g->m[i].crashed || ut_gossip_member_find(g->m[i].h, j + 1, &mm) != UT_OK)
        return UT_NODE_DEAD;
    return mm.status;
}

void gc_on_event(gc_t *g, gc_event_fn fn, void *ud)
{
    g->fn = fn;
    g->ud = ud;
}

uint64_t gc_errors(const gc_t *g)
{
    return g->errors;
}
