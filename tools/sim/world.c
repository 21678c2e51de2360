/* SPDX-License-Identifier: MIT */
/* The protocol-free world of the simulator (world.h, sim.h): events,
 * network, faults, clients, timeline; it drives a scenario (scenario.h)
 * through its table of functions and names no protocol. */
#include "world.h"

#include <stdatomic.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

/* ---- tunables (virtual milliseconds, parts per million) ---------------- */
#define TICK_MS SIM_TICK_MS
#define LAT_MIN_MS 1u
#define LAT_JITTER_MS 4u
#define REORDER_PPM 20000u /* 2% of messages take a long detour */
#define REORDER_MAX_MS 60u
#define LOSS_PPM 20000u /* 2% loss */
#define DUP_PPM 20000u  /* 2% duplication */
#define FAULT_GAP_MIN_MS 1000u
#define FAULT_GAP_MAX_MS 5000u
#define FAULT_LEN_MIN_MS 500u
#define FAULT_LEN_MAX_MS 6000u
#define DOWN_MIN_MS 200u
#define DOWN_MAX_MS 4000u
#define POWER_FAIL_PPM 200000u  /* lying-disk runs: 1 fault in 5 is a power failure */
#define POINT_CRASH_PPM 100000u /* crash 1 in 10 nodes at a scenario's crash point */
#define POINT_DOWN_MIN_MS 1u
#define POINT_DOWN_MAX_MS 5u
#define CLIENT_THINK_MAX_MS 20u
#define CLIENT_ATTEMPT_MS 400u
#define CLIENT_GIVEUP_MS 5000u
#define CLIENT_BACKOFF_MS 20u
/* 1 operation in 100 has a short deadline of its own (an impatient caller):
 * it often gives up while its command is still in flight and commits
 * after all, the unknown outcome a checker must get right. */
#define CLIENT_HURRY_PPM 10000u
#define CLIENT_HURRY_MIN_MS 5u
#define CLIENT_HURRY_MAX_MS 50u
/* With reorder, a few messages take so long that they arrive terms later. */
#define LONG_DELAY_PPM 3000u
#define LONG_DELAY_MIN_MS 300u
#define LONG_DELAY_MAX_MS 2500u
/* SIM_HINT_LEADER: crash a just-elected node, a few ms later, briefly. */
#define LEADER_CRASH_PPM 150000u
#define LEADER_CRASH_MAX_MS 40u
#define LEADER_DOWN_MIN_MS 1u
#define LEADER_DOWN_MAX_MS 400u
/* SIM_HINT_LEADER, else: cut a just-elected node off a few ms later, while
 * the entries it sends to repair its followers' logs are in flight. */
#define LEADER_CUT_PPM 150000u
#define LEADER_CUT_MAX_MS 30u
/* SIM_HINT_APPENDED: cut a node off right after it accepted a write. */
#define APPEND_CUT_PPM 2000u
#define APPEND_CUT_MIN_MS 300u
#define APPEND_CUT_MAX_MS 3000u
/* The quiet phase: a sixth of the run, 7 to 15 s, in runs of 20 s or more
 * (3 s or more of it settled: time for an operation to be timed out). */
#define QUIET_MIN_RUN_MS 20000u
#define QUIET_MIN_MS 7000u
#define QUIET_MAX_MS 15000u

enum {
    EV_TICK = 1,
    EV_DELIVER, /* protocol message */
    EV_CREQ,    /* client request arrives at a node */
    EV_CRESP,   /* node's reply arrives at a client */
    EV_CWAKE,   /* client starts its next op */
    EV_CTIMER,  /* client timer: resend, retry elsewhere, or give up */
    EV_FAULT,   /* fault scheduler */
    EV_HEAL,    /* end of a partition */
    EV_RESTART,
    EV_CRASH,      /* targeted crash (at a scenario's crash point) */
    EV_HINT_CRASH, /* crash after SIM_HINT_LEADER */
    EV_HINT_CUT,   /* cut off after SIM_HINT_LEADER */
    EV_QUIET       /* the quiet phase begins */
};

/* Event payloads (wire frames and client messages) are recycled through
 * per-size-class free lists instead of a malloc and a free per message. */
#define POOL_CLASSES 12 /* 64 bytes .. 128 KiB; larger blocks bypass the pool */
/* Under AddressSanitizer every payload is freed for real, so that a
 * use-after-free of a message buffer is still caught there. */
#if defined(__SANITIZE_ADDRESS__)
#    define POOL_ENABLED 0
#elif defined(__has_feature)
#    if __has_feature(address_sanitizer)
#        define POOL_ENABLED 0
#    endif
#endif
#ifndef POOL_ENABLED
#    define POOL_ENABLED 1
#endif
#define POOL_MIN_SHIFT 6
typedef struct block {
    union {
        struct block *next; /* on a free list */
        unsigned cls;       /* in use: size class, POOL_CLASSES = not pooled */
        max_align_t align;
    } h;
} block_t;

typedef struct ev {
    uint64_t time, seq;
    uint32_t type, who; /* node index or client index */
    uint64_t arg;
    void *ptr;
} ev_t;

typedef sim_cmsg_t cmsg_t;
#define CM_REQ SIM_CM_REQ
#define CM_OK SIM_CM_OK
#define CM_NOTLEADER SIM_CM_NOTLEADER
#define CM_LOST SIM_CM_LOST
#define CM_REFUSED SIM_CM_REFUSED

/* A node as the world sees it: up or down, and its clock. */
typedef struct node {
    bool up;
    uint32_t incarnation;
    uint64_t clock_offset, rate_ppm;
} node_t;

typedef struct client {
    bool busy;
    uint64_t reqid;
    size_t op_idx;       /* history index of the current op */
    uint32_t target;     /* node index */
    uint64_t attempt_at; /* resend (or time the attempt out) at this time */
    bool resend;         /* attempt_at is a back-off, not a timeout */
    uint64_t giveup_at;  /* outcome unknown from this time on */
    uint64_t timer_at;   /* time of the one live EV_CTIMER, 0 = none */
    bool maybe_proposed; /* an attempt of this op went unanswered, or was
                            accepted and then lost: it may take effect */
    uint8_t cmd[33];
    int64_t last_seen[SIM_MAX_KEYS];
    uint64_t next_value;
} client_t;

typedef struct sim {
    sim_world_t w; /* first: a sim_world_t * is a sim_t * */
    const sim_scenario_t *sc;
    void *ctx; /* the scenario's */
    uint64_t seq;
    ev_t *heap;
    size_t n_heap, cap_heap;
    node_t nodes[SIM_MAX_NODES];
    client_t clients[SIM_MAX_CLIENTS];
    bool blocked[SIM_MAX_NODES][SIM_MAX_NODES]; /* [from][to] */
    bool partition_active;
    unsigned n_down;
    size_t cap_ops, cap_marks, cap_iv, cap_seg[SIM_MAX_NODES];
    /* Per operation (history index): OPF_* flags. Per client: the history
     * index of each request id (ids are 1, 2, 3... per client). */
    uint8_t *op_flags;
    size_t *op_of[SIM_MAX_CLIENTS];
    size_t cap_op_of[SIM_MAX_CLIENTS];
    size_t open_partition_iv; /* index of the open partition interval + 1 */
    size_t open_down_iv[SIM_MAX_NODES];
    ut_msg_decoder_t *dec;
    sim_rng_t client_rng;             /* the clients' deadlines: a stream of its own */
    struct block *pool[POOL_CLASSES]; /* released event payloads, by size class */
} sim_t;

enum { OPF_APPLIED = 1, OPF_GAVE_UP = 2 };

/* ---- small helpers ------------------------------------------------------- */

int sim_grow(void **buf, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 16;
    while (nc < need)
        nc *= 2;
    void *nb = realloc(*buf, nc * elem);
    if (!nb)
        return -1;
    *buf = nb;
    *cap = nc;
    return 0;
}

void sim_violation(sim_world_t *w, const char *inv, const char *fmt, ...)
{
    sim_t *s = (sim_t *)w;
    sim_violation_t *v = &s->w.r->violation;
    if (v->found)
        return;
    v->found = true;
    v->step = s->w.step;
    v->t = s->w.now;
    snprintf(v->invariant, sizeof v->invariant, "%s", inv);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->detail, sizeof v->detail, fmt, ap);
    va_end(ap);
}

void sim_mark(sim_world_t *w, uint8_t kind, unsigned node, uint64_t a, const char *fmt, ...)
{
    sim_t *s = (sim_t *)w;
    if (!s->w.o.record)
        return;
    sim_result_t *r = s->w.r;
    if (sim_grow((void **)&r->marks, &s->cap_marks, r->n_marks + 1, sizeof *r->marks) != 0) {
        s->w.failed = true;
        return;
    }
    sim_mark_t *m = &r->marks[r->n_marks++];
    memset(m, 0, sizeof *m);
    m->t = s->w.now;
    m->kind = kind;
    m->node = (uint8_t)node;
    m->a = a;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->text, sizeof m->text, fmt, ap);
    va_end(ap);
}

static size_t interval_open(sim_t *s, uint8_t kind, uint64_t mask)
{
    if (!s->w.o.record)
        return 0;
    sim_result_t *r = s->w.r;
    if (sim_grow((void **)&r->intervals, &s->cap_iv, r->n_intervals + 1, sizeof *r->intervals)) {
        s->w.failed = true;
        return 0;
    }
    sim_interval_t *iv = &r->intervals[r->n_intervals++];
    iv->start = s->w.now;
    iv->end = UINT64_MAX;
    iv->mask = mask;
    iv->kind = kind;
    return r->n_intervals;
}

static void interval_close(sim_t *s, size_t *h)
{
    if (*h && s->w.o.record)
        s->w.r->intervals[*h - 1].end = s->w.now;
    *h = 0;
}

/* After every change of s->blocked: a link that was blocked and is open
 * now has been open since now; a blocked one is not open
 * (sim_reachable_since). The signal fence is a compiler barrier, no
 * instruction: without it GCC 12.2 at -O1 and above drops every call of
 * this function (reproduced: the calls vanish in the tree dce2 pass while
 * the body keeps its stores, also when the function is noinline; clang 14
 * and -O0 keep them; the cause is not identified), and test_sim's
 * test_world_reachability then sees no link ever blocked. */
static void links_changed(sim_t *s)
{
    for (unsigned a = 0; a < SIM_MAX_NODES; a++)
        for (unsigned b = 0; b < SIM_MAX_NODES; b++) {
            uint64_t *since = &s->w.link_open_since[a][b];
            if (s->blocked[a][b])
                *since = UINT64_MAX;
            else if (*since == UINT64_MAX)
                *since = s->w.now;
        }
    atomic_signal_fence(memory_order_seq_cst);
}

void sim_segment(sim_world_t *w, unsigned i, uint8_t role, uint64_t term)
{
    sim_t *s = (sim_t *)w;
    if (!s->w.o.record)
        return;
    sim_result_t *r = s->w.r;
    size_t n = r->n_seg[i];
    if (n && r->seg[i][n - 1].role == role && r->seg[i][n - 1].term == term)
        return;
    if (n && r->seg[i][n - 1].t == s->w.now) {
        r->seg[i][n - 1].role = role;
        r->seg[i][n - 1].term = term;
        return;
    }
    if (sim_grow((void **)&r->seg[i], &s->cap_seg[i], n + 1, sizeof *r->seg[i])) {
        s->w.failed = true;
        return;
    }
    r->seg[i][n].t = s->w.now;
    r->seg[i][n].role = role;
    r->seg[i][n].term = term;
    r->n_seg[i] = n + 1;
}

/* ---- payload pool ---------------------------------------------------------- */

static void *pool_alloc(sim_t *s, size_t size)
{
    unsigned cls = 0;
    while (cls < POOL_CLASSES && ((size_t)1 << (cls + POOL_MIN_SHIFT)) < size)
        cls++;
    block_t *b = cls < POOL_CLASSES ? s->pool[cls] : NULL;
    if (b) {
        s->pool[cls] = b->h.next;
    } else {
        size_t cap = cls < POOL_CLASSES ? (size_t)1 << (cls + POOL_MIN_SHIFT) : size;
        b = malloc(sizeof *b + cap);
        if (!b) {
            s->w.failed = true;
            return NULL;
        }
    }
    b->h.cls = cls;
    return b + 1;
}

static void pool_release(sim_t *s, void *p)
{
    if (!p)
        return;
    block_t *b = (block_t *)p - 1;
    unsigned cls = b->h.cls;
    if (cls >= POOL_CLASSES || !POOL_ENABLED) {
        free(b);
        return;
    }
    b->h.next = s->pool[cls];
    s->pool[cls] = b;
}

static void pool_free_all(sim_t *s)
{
    for (unsigned c = 0; c < POOL_CLASSES; c++) {
        while (s->pool[c]) {
            block_t *b = s->pool[c];
            s->pool[c] = b->h.next;
            free(b);
        }
    }
}

/* ---- event queue: binary heap on (time, seq) ---------------------------- */

static bool ev_less(const ev_t *a, const ev_t *b)
{
    return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static void push(sim_t *s, uint64_t at, uint32_t type, uint32_t who, uint64_t arg, void *ptr)
{
    if (sim_grow((void **)&s->heap, &s->cap_heap, s->n_heap + 1, sizeof *s->heap)) {
        s->w.failed = true;
        pool_release(s, ptr);
        return;
    }
    ev_t e = {.time = at, .seq = s->seq++, .type = type, .who = who, .arg = arg, .ptr = ptr};
    size_t i = s->n_heap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!ev_less(&e, &s->heap[p]))
            break;
        s->heap[i] = s->heap[p];
        i = p;
    }
    s->heap[i] = e;
}

static ev_t pop(sim_t *s)
{
    ev_t top = s->heap[0];
    ev_t last = s->heap[--s->n_heap];
    size_t i = 0, n = s->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && ev_less(&s->heap[c + 1], &s->heap[c]))
            c++;
        if (!ev_less(&s->heap[c], &last))
            break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (n)
        s->heap[i] = last;
    return top;
}

/* ---- network --------------------------------------------------------------- */

/* The one place where a message crosses the simulated wire: every message is
 * encoded with the library's codec (ut_msg_encode) when sent and decoded
 * (ut_msg_decoder_decode) when delivered, so the nodes only ever see what
 * survived the wire format, and the codec runs under every fault. */
typedef struct frame {
    size_t len;
    unsigned char bytes[];
} frame_t;

static frame_t *sim_net_encode(sim_t *s, unsigned from, const ut_msg_t *m)
{
    size_t len = 0;
    int rc = ut_msg_encoded_size(m, &len);
    if (rc == UT_OK) {
        frame_t *f = pool_alloc(s, sizeof *f + len);
        if (!f)
            return NULL;
        rc = ut_msg_encode(m, f->bytes, len, &f->len);
        if (rc == UT_OK && f->len == len) {
            s->w.r->stats.bytes_sent += len;
            return f;
        }
        pool_release(s, f);
    }
    sim_violation(&s->w, "message-validity", "node %" PRIu64 " emitted a %s the codec refuses: %s",
                  (uint64_t)from + 1, ut_msg_type_name(m->type), ut_err_name(rc));
    return NULL;
}

static frame_t *frame_dup(sim_t *s, const frame_t *f)
{
    frame_t *c = pool_alloc(s, sizeof *c + f->len);
    if (!c)
        return NULL;
    memcpy(c, f, sizeof *c + f->len);
    return c;
}

/* Decode a delivered frame; entry payloads point into the frame, which lives
 * until the event is done. */
static bool sim_net_decode(sim_t *s, const frame_t *f, ut_msg_t *out)
{
    size_t used = 0;
    int rc = ut_msg_decoder_decode(s->dec, out, f->bytes, f->len, &used);
    if (rc == UT_ENOMEM) {
        s->w.failed = true;
        return false;
    }
    if (rc != UT_OK || used != f->len) {
        sim_violation(&s->w, "codec", "a frame of %zu bytes the codec wrote does not decode: %s",
                      f->len, ut_err_name(rc));
        return false;
    }
    return true;
}

static uint64_t latency(sim_t *s)
{
    uint64_t d = LAT_MIN_MS + sim_rng_below(&s->w.rng, LAT_JITTER_MS + 1);
    if ((s->w.o.faults & SIM_F_REORDER) && !sim_quiet(&s->w)) {
        if (sim_rng_chance(&s->w.rng, REORDER_PPM))
            d += sim_rng_range(&s->w.rng, 5, REORDER_MAX_MS);
        else if (sim_rng_chance(&s->w.rng, LONG_DELAY_PPM))
            d += sim_rng_range(&s->w.rng, LONG_DELAY_MIN_MS, LONG_DELAY_MAX_MS);
    }
    return d;
}

static bool may_crash(const sim_t *s, unsigned v);

void sim_send(sim_world_t *w, unsigned from, const ut_msg_t *m)
{
    sim_t *s = (sim_t *)w;
    s->w.r->stats.msgs_sent++;
    uint64_t to = m->to;
    if (to == 0 || to > s->w.o.nodes) {
        sim_violation(&s->w, "message-validity",
                      "node %" PRIu64 " sent a message to unknown node %" PRIu64,
                      (uint64_t)from + 1, to);
        return;
    }
    const bool faulty = !sim_quiet(&s->w);
    if ((s->w.o.faults & SIM_F_LOSS) && faulty && sim_rng_chance(&s->w.rng, LOSS_PPM)) {
        s->w.r->stats.msgs_dropped++;
        return;
    }
    /* Targeted crash: a node that just sent a message the scenario marks
     * as a crash point (e.g. a granted vote) goes down and comes back
     * quickly, while what the message committed it to is still in play. */
    if ((s->w.o.faults & SIM_F_CRASH) && faulty && s->sc->crash_point &&
        s->sc->crash_point(s->ctx, from, m) && may_crash(s, from) &&
        sim_rng_chance(&s->w.rng, POINT_CRASH_PPM))
        push(s, s->w.now, EV_CRASH, from, s->nodes[from].incarnation, NULL);
    int copies = 1;
    if ((s->w.o.faults & SIM_F_DUP) && faulty && sim_rng_chance(&s->w.rng, DUP_PPM)) {
        copies = 2;
        s->w.r->stats.msgs_duplicated++;
    }
    frame_t *f = sim_net_encode(s, from, m);
    if (!f)
        return;
    for (int k = 0; k < copies; k++) {
        frame_t *c = k + 1 < copies ? frame_dup(s, f) : f;
        if (!c) {
            pool_release(s, f);
            return;
        }
        push(s, s->w.now + latency(s), EV_DELIVER, (uint32_t)(to - 1), from, c);
    }
}

static void client_send(sim_t *s, uint64_t at, uint32_t type, uint32_t who, const cmsg_t *m)
{
    if ((s->w.o.faults & SIM_F_LOSS) && !sim_quiet(&s->w) && sim_rng_chance(&s->w.rng, LOSS_PPM))
        return;
    cmsg_t *c = pool_alloc(s, sizeof *c);
    if (!c)
        return;
    *c = *m;
    push(s, at, type, who, 0, c);
}

/* ---- commands ------------------------------------------------------------ */

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* op(1) client(4) reqid(8) key(4) value(8) expected(8) = 33 bytes */
static void cmd_encode(uint8_t *b, uint8_t kind, uint32_t client, uint64_t reqid, uint32_t key,
                       int64_t value, int64_t expected)
{
    b[0] = kind;
    for (int i = 0; i < 4; i++)
        b[1 + i] = (uint8_t)(client >> (8 * i));
    put_u64(b + 5, reqid);
    for (int i = 0; i < 4; i++)
        b[13 + i] = (uint8_t)(key >> (8 * i));
    put_u64(b + 17, (uint64_t)value);
    put_u64(b + 25, (uint64_t)expected);
}

static uint64_t local_time(const node_t *n, uint64_t now)
{
    return n->clock_offset + (now * n->rate_ppm) / 1000000u;
}

/* ---- the world's side of the scenario interface ----------------------------- */

void sim_reply(sim_world_t *w, unsigned i, uint32_t client, const sim_cmsg_t *m)
{
    sim_t *s = (sim_t *)w;
    (void)i;
    client_send(s, s->w.now + latency(s), EV_CRESP, client, m);
}

void sim_applied(sim_world_t *w, uint32_t client, uint64_t reqid)
{
    sim_t *s = (sim_t *)w;
    if (client >= s->w.o.clients || reqid == 0 || reqid > s->clients[client].reqid)
        return;
    s->op_flags[s->op_of[client][reqid - 1]] |= OPF_APPLIED;
}

bool sim_node_up(const sim_world_t *w, unsigned i)
{
    return ((const sim_t *)w)->nodes[i].up;
}

uint32_t sim_node_incarnation(const sim_world_t *w, unsigned i)
{
    return ((const sim_t *)w)->nodes[i].incarnation;
}

void sim_fail_msg(sim_world_t *w, const char *fmt, ...)
{
    sim_violation_t *v = &w->r->violation;
    w->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->detail, sizeof v->detail, fmt, ap);
    va_end(ap);
}

/* ---- disks ------------------------------------------------------------------- */

int sim_disk_write_state(sim_world_t *w, unsigned i, const void *p, size_t len)
{
    sim_disk_t *d = &w->disks[i];
    if (len > d->state_cap) {
        unsigned char *a = realloc(d->state, len);
        if (a)
            d->state = a;
        unsigned char *b = a ? realloc(d->synced_state, len) : NULL;
        if (!b) {
            w->failed = true;
            return -1;
        }
        d->synced_state = b;
        d->state_cap = len;
    }
    if (len)
        memcpy(d->state, p, len);
    d->state_len = len;
    return 0;
}

int sim_disk_append(sim_world_t *w, unsigned i, const uint64_t meta[4], const void *data,
                    uint32_t len)
{
    sim_disk_t *d = &w->disks[i];
    if (sim_grow((void **)&d->log, &d->cap_log, d->n_log + 1, sizeof *d->log)) {
        w->failed = true;
        return -1;
    }
    sim_disk_rec_t *rec = &d->log[d->n_log];
    memcpy(rec->meta, meta, sizeof rec->meta);
    rec->len = len;
    rec->data = NULL;
    if (len) {
        void *p = malloc(len);
        if (!p) {
            w->failed = true;
            return -1;
        }
        memcpy(p, data, len);
        rec->data = p;
    }
    d->n_log++;
    return 0;
}

void sim_disk_truncate(sim_world_t *w, unsigned i, size_t keep)
{
    sim_disk_t *d = &w->disks[i];
    for (size_t k = keep; k < d->n_log; k++)
        free((void *)d->log[k].data);
    if (keep < d->n_log)
        d->n_log = keep;
    if (d->synced_len > d->n_log)
        d->synced_len = d->n_log;
}

bool sim_disk_sync(sim_world_t *w, unsigned i)
{
    if ((w->o.faults & SIM_F_LYING_DISK) && !sim_rng_chance(&w->rng, SIM_LYING_SYNC_PPM))
        return false; /* acknowledged, not durable */
    sim_disk_t *d = &w->disks[i];
    if (d->state_len)
        memcpy(d->synced_state, d->state, d->state_len);
    d->synced_state_len = d->state_len;
    d->synced_len = d->n_log;
    return true;
}

/* Node i crashed: its disk goes back to what was durable. True if that
 * lost writes under the lying-disk fault (the disk had acknowledged them). */
static bool disk_crash(sim_world_t *w, unsigned i)
{
    sim_disk_t *d = &w->disks[i];
    bool lost = d->synced_len < d->n_log || d->synced_state_len != d->state_len ||
                (d->state_len && memcmp(d->synced_state, d->state, d->state_len) != 0);
    d->lost = lost;
    if (!lost)
        return false;
    sim_disk_truncate(w, i, d->synced_len);
    if (d->synced_state_len)
        memcpy(d->state, d->synced_state, d->synced_state_len);
    d->state_len = d->synced_state_len;
    return (w->o.faults & SIM_F_LYING_DISK) != 0;
}

static void disk_free(sim_world_t *w, unsigned i)
{
    sim_disk_t *d = &w->disks[i];
    sim_disk_truncate(w, i, 0);
    free(d->log);
    free(d->state);
    free(d->synced_state);
    memset(d, 0, sizeof *d);
}

/* ---- nodes ------------------------------------------------------------------- */

static int node_start(sim_t *s, unsigned i, bool restore)
{
    node_t *n = &s->nodes[i];
    if (s->sc->node_start(s->ctx, i, restore, local_time(n, s->w.now)) != 0)
        return -1;
    n->up = true;
    push(s, s->w.now + sim_rng_range(&s->w.rng, 1, TICK_MS), EV_TICK, i, n->incarnation, NULL);
    s->sc->drain(s->ctx, i);
    return 0;
}

/* The crash budget: a crash the world injects keeps more than half of the
 * cluster up, and more than half of the voters when the scenario says which
 * nodes vote (scenario.h, voter), so that faults test recovery rather than
 * stop the cluster for good. Observers count against the first bound only. */
static bool may_crash(const sim_t *s, unsigned v)
{
    unsigned N = s->w.o.nodes;
    if (!s->nodes[v].up || s->n_down >= (N - 1) / 2)
        return false;
    if (!s->sc->voter || !s->sc->voter(s->ctx, v))
        return true;
    unsigned voters = 0, down = 0;
    for (unsigned i = 0; i < N; i++) {
        if (s->sc->voter(s->ctx, i)) {
            voters++;
            down += !s->nodes[i].up;
        }
    }
    return down + 1 <= (voters - 1) / 2;
}

static void node_crash(sim_t *s, unsigned i, uint64_t down_min, uint64_t down_max)
{
    node_t *n = &s->nodes[i];
    bool lost = s->sc->node_crash(s->ctx, i);
    lost = disk_crash(&s->w, i) || lost;
    if (lost)
        s->w.r->stats.lying_disk_losses++;
    n->up = false;
    n->incarnation++;
    s->n_down++;
    s->w.r->stats.crashes++;
    sim_segment(&s->w, i, SIM_ROLE_DOWN, 0);
    sim_mark(&s->w, SIM_MARK_CRASH, i, lost, "n%u crash%s", i + 1, lost ? " (disk lied)" : "");
    s->open_down_iv[i] = interval_open(s, 1, 1ull << i);
    push(s, s->w.now + sim_rng_range(&s->w.rng, down_min, down_max), EV_RESTART, i, n->incarnation,
         NULL);
}

static void node_restart(sim_t *s, unsigned i)
{
    s->n_down--;
    s->w.r->stats.restarts++;
    interval_close(s, &s->open_down_iv[i]);
    sim_mark(&s->w, SIM_MARK_RESTART, i, 0, "n%u restart", i + 1);
    if (node_start(s, i, true) != 0)
        s->w.failed = true;
}

/* Cut node v off from every other node (both ways) for a while. */
static void isolate(sim_t *s, unsigned v, uint64_t min_ms, uint64_t max_ms, const char *why)
{
    unsigned N = s->w.o.nodes;
    memset(s->blocked, 0, sizeof s->blocked);
    for (unsigned b = 0; b < N; b++)
        s->blocked[v][b] = s->blocked[b][v] = b != v;
    links_changed(s);
    s->w.r->stats.isolations++;
    s->partition_active = true;
    sim_mark(&s->w, SIM_MARK_PARTITION, 255, 1ull << v, "%s n%u", why, v + 1);
    s->open_partition_iv = interval_open(s, 0, 1ull << v);
    push(s, s->w.now + sim_rng_range(&s->w.rng, min_ms, max_ms), EV_HEAL, 0, 0, NULL);
}

void sim_hint(sim_world_t *w, unsigned i, sim_hint_t hint)
{
    sim_t *s = (sim_t *)w;
    if (sim_quiet(w) || i >= s->w.o.nodes || !s->nodes[i].up)
        return;
    if (hint == SIM_HINT_LEADER && (s->w.o.faults & SIM_F_CRASH) &&
        sim_rng_chance(&s->w.rng, LEADER_CRASH_PPM))
        push(s, s->w.now + sim_rng_below(&s->w.rng, LEADER_CRASH_MAX_MS + 1), EV_HINT_CRASH, i,
             s->nodes[i].incarnation, NULL);
    else if (hint == SIM_HINT_LEADER && (s->w.o.faults & SIM_F_PARTITION) && s->w.o.nodes > 1 &&
             sim_rng_chance(&s->w.rng, LEADER_CUT_PPM))
        push(s, s->w.now + sim_rng_below(&s->w.rng, LEADER_CUT_MAX_MS + 1), EV_HINT_CUT, i,
             s->nodes[i].incarnation, NULL);
    else if (hint == SIM_HINT_APPENDED && (s->w.o.faults & SIM_F_PARTITION) &&
             !s->partition_active && s->w.o.nodes > 1 && sim_rng_chance(&s->w.rng, APPEND_CUT_PPM))
        isolate(s, i, APPEND_CUT_MIN_MS, APPEND_CUT_MAX_MS, "cut off after a write:");
}

/* ---- clients --------------------------------------------------------------- */

/* Each client keeps at most one live timer event: deadlines move in the
 * client, and the event re-arms itself when it fires early. This keeps the
 * event heap small (one pending timer per client, not one per attempt). */
static void client_arm(sim_t *s, unsigned c, uint64_t at)
{
    client_t *cl = &s->clients[c];
    if (cl->timer_at && cl->timer_at <= at)
        return;
    cl->timer_at = at;
    push(s, at, EV_CTIMER, c, at, NULL);
}

/* Where a client goes next when node cur did not serve it (no answer in
 * time, or "not leader" with no one else named): any other node, drawn
 * uniformly, as a client with a list of endpoints rotates away from one that
 * failed it; never cur again, unless the cluster has one node. */
static uint32_t other_node(sim_t *s, uint32_t cur)
{
    unsigned N = s->w.o.nodes;
    if (N < 2)
        return 0;
    return (uint32_t)((cur + 1 + sim_rng_below(&s->w.rng, N - 1)) % N);
}

static void client_attempt(sim_t *s, unsigned c)
{
    client_t *cl = &s->clients[c];
    cmsg_t m = {.kind = CM_REQ, .client = c, .reqid = cl->reqid};
    memcpy(m.op, cl->cmd, sizeof m.op);
    client_send(s, s->w.now + latency(s), EV_CREQ, cl->target, &m);
    cl->attempt_at = s->w.now + CLIENT_ATTEMPT_MS;
    cl->resend = false;
    client_arm(s, c, cl->attempt_at < cl->giveup_at ? cl->attempt_at : cl->giveup_at);
}

static void client_start(sim_t *s, unsigned c)
{
    client_t *cl = &s->clients[c];
    sim_result_t *r = s->w.r;
    if (r->n_ops == s->cap_ops) {
        size_t nc = s->cap_ops ? s->cap_ops * 2 : 1024;
        lc_op_t *o = realloc(r->ops, nc * sizeof *o);
        if (o)
            r->ops = o;
        uint64_t *a = o ? realloc(r->op_invoke_ms, nc * sizeof *a) : NULL;
        if (a)
            r->op_invoke_ms = a;
        uint64_t *b = a ? realloc(r->op_response_ms, nc * sizeof *b) : NULL;
        if (b)
            r->op_response_ms = b;
        int64_t *sv = b ? realloc(r->op_seen, nc * sizeof *sv) : NULL;
        if (sv)
            r->op_seen = sv;
        uint8_t *fl = sv ? realloc(s->op_flags, nc) : NULL;
        if (!fl) {
            s->w.failed = true;
            return;
        }
        s->op_flags = fl;
        s->cap_ops = nc;
    }
    lc_op_t *o = &r->ops[r->n_ops];
    memset(o, 0, sizeof *o);
    o->client = c;
    o->key = (uint32_t)sim_rng_below(&s->w.rng, s->w.o.keys);
    uint64_t k = sim_rng_below(&s->w.rng, 10);
    o->kind = k < 4 ? LC_GET : k < 8 ? LC_PUT : LC_CAS;
    o->outcome = LC_UNKNOWN;
    o->invoke = s->w.step;
    o->response = LC_INF;
    if (o->kind == LC_PUT) {
        o->value = (int64_t)(((uint64_t)c + 1) * 1000000000ull + ++cl->next_value);
    } else if (o->kind == LC_CAS) {
        o->value = (int64_t)(((uint64_t)c + 1) * 1000000000ull + ++cl->next_value);
        o->expected = sim_rng_below(&s->w.rng, 4) ? cl->last_seen[o->key]
                                                  : (int64_t)sim_rng_below(&s->w.rng, 3);
    }
    r->op_invoke_ms[r->n_ops] = s->w.now;
    r->op_response_ms[r->n_ops] = UINT64_MAX;
    r->op_seen[r->n_ops] = 0;
    s->op_flags[r->n_ops] = 0;
    if (sim_grow((void **)&s->op_of[c], &s->cap_op_of[c], cl->reqid + 1, sizeof *s->op_of[c])) {
        s->w.failed = true;
        return;
    }
    s->op_of[c][cl->reqid] = r->n_ops; /* the request id it is about to get, minus 1 */
    cl->op_idx = r->n_ops++;
    r->stats.ops_total++;
    cl->busy = true;
    cl->reqid++;
    cmd_encode(cl->cmd, o->kind, c, cl->reqid, o->key, o->value, o->expected);
    cl->giveup_at =
        s->w.now + (sim_rng_chance(&s->client_rng, CLIENT_HURRY_PPM)
                        ? sim_rng_range(&s->client_rng, CLIENT_HURRY_MIN_MS, CLIENT_HURRY_MAX_MS)
                        : CLIENT_GIVEUP_MS);
    cl->maybe_proposed = false;
    client_attempt(s, c);
}

static void client_done(sim_t *s, unsigned c)
{
    client_t *cl = &s->clients[c];
    cl->busy = false;
    push(s, s->w.now + sim_rng_range(&s->w.rng, 0, CLIENT_THINK_MAX_MS), EV_CWAKE, c, 0, NULL);
}

static void client_response(sim_t *s, unsigned c, const cmsg_t *m)
{
    client_t *cl = &s->clients[c];
    if (!cl->busy || m->reqid != cl->reqid)
        return; /* late or duplicated reply */
    lc_op_t *o = &s->w.r->ops[cl->op_idx];
    switch (m->kind) {
    case CM_OK:
        if (s->w.r->op_invoke_ms[cl->op_idx] >= s->w.settle_at &&
            s->w.now - s->w.r->op_invoke_ms[cl->op_idx] > SIM_LIVE_OP_MS)
            sim_violation(&s->w, "liveness",
                          "client %u's operation took %" PRIu64 " ms in the settled quiet phase "
                          "(bound %u ms)",
                          c, s->w.now - s->w.r->op_invoke_ms[cl->op_idx], SIM_LIVE_OP_MS);
        o->outcome = LC_OK;
        o->response = s->w.step;
        s->w.r->op_response_ms[cl->op_idx] = s->w.now;
        s->w.r->op_seen[cl->op_idx] = m->result;
        if (o->kind == LC_GET)
            o->value = m->result;
        if (o->kind == LC_CAS) {
            o->cas_ok = m->cas_ok;
            /* A refused CAS tells what it found (sim_cmsg_t.result). */
            o->seen_known = !m->cas_ok;
            o->seen = m->cas_ok ? 0 : m->result;
        }
        cl->last_seen[o->key] = m->result;
        s->w.r->stats.ops_ok++;
        client_done(s, c);
        break;
    case CM_NOTLEADER:
        if (!cl->maybe_proposed) {
            /* Refused before it was proposed, and so was every earlier
             * attempt (each was answered, none was taken): it never takes
             * effect. The operation comes back failed; the next one goes
             * to the leader the node named, if any. */
            o->outcome = LC_FAILED;
            o->response = s->w.step;
            s->w.r->op_response_ms[cl->op_idx] = s->w.now;
            s->w.r->stats.ops_failed++;
            if (m->leader_hint >= 1 && m->leader_hint <= s->w.o.nodes)
                cl->target = (uint32_t)(m->leader_hint - 1);
            else
                cl->target = other_node(s, cl->target);
            client_done(s, c);
            break;
        }
        /* fall through */
    case CM_LOST:
        cl->maybe_proposed = true;
        s->w.r->stats.client_retries++;
        if (m->kind == CM_NOTLEADER && m->leader_hint >= 1 && m->leader_hint <= s->w.o.nodes &&
            m->leader_hint - 1 != cl->target) {
            cl->target = (uint32_t)(m->leader_hint - 1);
            client_attempt(s, c);
        } else {
            cl->target = other_node(s, cl->target);
            cl->attempt_at = s->w.now + sim_rng_range(&s->w.rng, 1, CLIENT_BACKOFF_MS);
            cl->resend = true;
            client_arm(s, c, cl->attempt_at);
        }
        break;
    case CM_REFUSED:
        /* Not taken (the node was down): whether the operation may still
         * take effect is what the earlier attempts made it. */
        s->w.r->stats.client_retries++;
        cl->target = other_node(s, cl->target);
        cl->attempt_at = s->w.now + sim_rng_range(&s->w.rng, 1, CLIENT_BACKOFF_MS);
        cl->resend = true;
        client_arm(s, c, cl->attempt_at < cl->giveup_at ? cl->attempt_at : cl->giveup_at);
        break;
    default:
        break;
    }
}

static void fault(sim_t *s)
{
    unsigned kinds[4], nk = 0;
    unsigned N = s->w.o.nodes;
    if (sim_quiet(&s->w))
        return; /* and no more faults */
    /* With lying disks, sometimes the power fails everywhere at once: the
     * correlated crash in which unsynced writes hurt most. */
    if ((s->w.o.faults & SIM_F_LYING_DISK) && (s->w.o.faults & SIM_F_CRASH) && s->n_down == 0 &&
        sim_rng_chance(&s->w.rng, POWER_FAIL_PPM)) {
        s->w.r->stats.power_failures++;
        sim_mark(&s->w, SIM_MARK_PARTITION, 255, 0, "power failure");
        for (unsigned i = 0; i < N; i++)
            node_crash(s, i, DOWN_MIN_MS, DOWN_MAX_MS);
        push(s, s->w.now + sim_rng_range(&s->w.rng, FAULT_GAP_MIN_MS, FAULT_GAP_MAX_MS), EV_FAULT,
             0, 0, NULL);
        return;
    }
    if ((s->w.o.faults & SIM_F_PARTITION) && !s->partition_active && N > 1) {
        kinds[nk++] = 0; /* symmetric split */
        kinds[nk++] = 1; /* asymmetric */
        kinds[nk++] = 2; /* isolate one */
    }
    unsigned up[SIM_MAX_NODES], nu = 0; /* the nodes a crash may hit */
    if (s->w.o.faults & SIM_F_CRASH)
        for (unsigned i = 0; i < N; i++)
            if (may_crash(s, i))
                up[nu++] = i;
    if (nu)
        kinds[nk++] = 3;
    if (nk) {
        unsigned k = kinds[sim_rng_below(&s->w.rng, nk)];
        unsigned li = 0;
        bool has_leader = s->sc->target && s->sc->target(s->ctx, &li);
        if (k == 3) {
            unsigned v = (has_leader && may_crash(s, li) && sim_rng_below(&s->w.rng, 2))
                             ? li
                             : up[sim_rng_below(&s->w.rng, nu)];
            node_crash(s, v, DOWN_MIN_MS, DOWN_MAX_MS);
        } else {
            uint64_t mask = 0;
            memset(s->blocked, 0, sizeof s->blocked);
            char desc[64];
            if (k == 0) {
                /* A random minority (1..(N-1)/2, at least 1) is cut off. */
                unsigned m = 1 + (unsigned)sim_rng_below(&s->w.rng, N / 2 > 0 ? N / 2 : 1);
                while (__builtin_popcountll(mask) < (int)m)
                    mask |= 1ull << sim_rng_below(&s->w.rng, N);
                for (unsigned a = 0; a < N; a++)
                    for (unsigned b = 0; b < N; b++)
                        if (((mask >> a) & 1) != ((mask >> b) & 1))
                            s->blocked[a][b] = true;
                snprintf(desc, sizeof desc, "split");
                s->w.r->stats.partitions++;
            } else if (k == 1) {
                /* One-way: some nodes stop hearing a chosen node (its
                 * messages out are lost; it still hears them). */
                unsigned v = has_leader && sim_rng_below(&s->w.rng, 2)
                                 ? li
                                 : (unsigned)sim_rng_below(&s->w.rng, N);
                mask = 1ull << v;
                for (unsigned b = 0; b < N; b++)
                    if (b != v && sim_rng_below(&s->w.rng, 2))
                        s->blocked[v][b] = true;
                snprintf(desc, sizeof desc, "one-way from n%u", v + 1);
                s->w.r->stats.partitions++;
            } else {
                unsigned v = has_leader && sim_rng_below(&s->w.rng, 2)
                                 ? li
                                 : (unsigned)sim_rng_below(&s->w.rng, N);
                mask = 1ull << v;
                for (unsigned b = 0; b < N; b++)
                    s->blocked[v][b] = s->blocked[b][v] = b != v;
                snprintf(desc, sizeof desc, "isolate n%u", v + 1);
                s->w.r->stats.isolations++;
            }
            links_changed(s);
            s->partition_active = true;
            sim_mark(&s->w, SIM_MARK_PARTITION, 255, mask, "%s", desc);
            s->open_partition_iv = interval_open(s, 0, mask);
            push(s, s->w.now + sim_rng_range(&s->w.rng, FAULT_LEN_MIN_MS, FAULT_LEN_MAX_MS),
                 EV_HEAL, 0, 0, NULL);
        }
    }
    push(s, s->w.now + sim_rng_range(&s->w.rng, FAULT_GAP_MIN_MS, FAULT_GAP_MAX_MS), EV_FAULT, 0, 0,
         NULL);
}

/* ---- main loop ------------------------------------------------------------- */

static void handle(sim_t *s, ev_t *e)
{
    switch (e->type) {
    case EV_TICK: {
        node_t *n = &s->nodes[e->who];
        if (!n->up || e->arg != n->incarnation)
            return;
        s->sc->tick(s->ctx, e->who, local_time(n, s->w.now));
        s->sc->drain(s->ctx, e->who);
        push(s, s->w.now + TICK_MS, EV_TICK, e->who, n->incarnation, NULL);
        return;
    }
    case EV_DELIVER: {
        node_t *n = &s->nodes[e->who];
        unsigned from = (unsigned)e->arg;
        if (!n->up || s->blocked[from][e->who]) {
            s->w.r->stats.msgs_dropped++;
            return;
        }
        ut_msg_t msg;
        const ut_msg_t *m = &msg;
        if (!sim_net_decode(s, e->ptr, &msg))
            return;
        s->w.r->stats.msgs_delivered++;
        s->w.heard[e->who][from] = s->w.now;
        s->sc->deliver(s->ctx, e->who, m);
        if (!s->w.failed)
            s->sc->drain(s->ctx, e->who);
        return;
    }
    case EV_CREQ:
        if (s->nodes[e->who].up) {
            s->sc->request(s->ctx, e->who, e->ptr);
        } else {
            /* A crashed node's port is closed: the client learns at once
             * (one network delay) that this attempt was not taken. */
            const cmsg_t *q = e->ptr;
            cmsg_t m = {.kind = CM_REFUSED, .client = q->client, .reqid = q->reqid};
            client_send(s, s->w.now + latency(s), EV_CRESP, q->client, &m);
        }
        return;
    case EV_CRESP:
        client_response(s, e->who, e->ptr);
        return;
    case EV_CWAKE:
        if (!s->clients[e->who].busy)
            client_start(s, e->who);
        return;
    case EV_CTIMER: {
        client_t *cl = &s->clients[e->who];
        if (e->arg != cl->timer_at)
            return; /* superseded by an earlier timer */
        cl->timer_at = 0;
        if (!cl->busy)
            return;
        if (s->w.r->op_invoke_ms[cl->op_idx] >= s->w.settle_at &&
            s->w.now - s->w.r->op_invoke_ms[cl->op_idx] >= SIM_LIVE_OP_MS) {
            sim_violation(&s->w, "liveness",
                          "client %u's operation has no answer after %" PRIu64
                          " ms in the settled quiet phase (bound %u ms)",
                          e->who, s->w.now - s->w.r->op_invoke_ms[cl->op_idx], SIM_LIVE_OP_MS);
            return;
        }
        if (s->w.now >= cl->giveup_at) {
            /* The request may still commit later: its outcome is unknown. */
            s->w.r->stats.ops_unknown++;
            s->op_flags[cl->op_idx] |= OPF_GAVE_UP;
            client_done(s, e->who);
            return;
        }
        if (s->w.now < cl->attempt_at) {
            client_arm(s, e->who, cl->attempt_at < cl->giveup_at ? cl->attempt_at : cl->giveup_at);
            return;
        }
        if (!cl->resend) {
            /* No answer: try another node (the leader may have moved). The
             * node may have taken the request: from now on it may commit. */
            cl->maybe_proposed = true;
            s->w.r->stats.client_retries++;
            cl->target = other_node(s, cl->target);
        }
        client_attempt(s, e->who);
        return;
    }
    case EV_FAULT:
        fault(s);
        return;
    case EV_HEAL:
        if (!s->partition_active)
            return; /* healed already, at the start of the quiet phase */
        memset(s->blocked, 0, sizeof s->blocked);
        links_changed(s);
        s->partition_active = false;
        sim_mark(&s->w, SIM_MARK_HEAL, 255, 0, "heal");
        interval_close(s, &s->open_partition_iv);
        return;
    case EV_CRASH:
    case EV_HINT_CRASH:
        if (s->nodes[e->who].up && e->arg == s->nodes[e->who].incarnation && may_crash(s, e->who) &&
            !sim_quiet(&s->w)) {
            if (e->type == EV_CRASH) {
                s->w.r->stats.point_crashes++;
                node_crash(s, e->who, POINT_DOWN_MIN_MS, POINT_DOWN_MAX_MS);
            } else {
                node_crash(s, e->who, LEADER_DOWN_MIN_MS, LEADER_DOWN_MAX_MS);
            }
        }
        return;
    case EV_HINT_CUT:
        if (s->nodes[e->who].up && e->arg == s->nodes[e->who].incarnation && !s->partition_active &&
            !sim_quiet(&s->w))
            isolate(s, e->who, APPEND_CUT_MIN_MS, APPEND_CUT_MAX_MS, "cut off after an election:");
        return;
    case EV_RESTART:
        if (!s->nodes[e->who].up && e->arg == s->nodes[e->who].incarnation)
            node_restart(s, e->who);
        return;
    case EV_QUIET:
        /* No faults from now on: heal, bring every node back. */
        if (s->partition_active) {
            memset(s->blocked, 0, sizeof s->blocked);
            links_changed(s);
            s->partition_active = false;
            interval_close(s, &s->open_partition_iv);
        }
        sim_mark(&s->w, SIM_MARK_HEAL, 255, 0, "quiet phase");
        for (unsigned i = 0; i < s->w.o.nodes && !s->w.failed; i++)
            if (!s->nodes[i].up)
                node_restart(s, i);
        return;
    default:
        return;
    }
}

void sim_options_default(sim_options_t *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->nodes = 5;
    o->time_ms = 180000;
    o->faults = SIM_F_DEFAULT;
    o->clients = 5;
    o->keys = 5;
    o->record = false;
    o->lin_budget = 200000000ull;
    o->durability_checks = true;
    o->vary_config = true;
    o->quiet = true;
}

bool sim_result_ok(const sim_result_t *r)
{
    return !r->violation.found && (!r->lin_checked || r->lin.verdict == LC_LINEARIZABLE);
}

int sim_run(const sim_options_t *opts, sim_result_t *out)
{
    memset(out, 0, sizeof *out);
    out->opts = *opts;
    if (opts->nodes < 1 || opts->nodes > SIM_MAX_NODES || opts->clients > SIM_MAX_CLIENTS ||
        opts->keys < 1 || opts->keys > SIM_MAX_KEYS) {
        snprintf(out->violation.detail, sizeof out->violation.detail, "bad options");
        return -1;
    }
    const sim_scenario_t *sc = opts->impl ? opts->impl : sim_scenario_find(opts->scenario);
    if (!sc) {
        snprintf(out->violation.detail, sizeof out->violation.detail, "unknown scenario");
        return -1;
    }
    sim_t *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->w.o = *opts;
    s->w.r = out;
    s->sc = sc;
    s->w.quiet_at = s->w.settle_at = UINT64_MAX;
    if (opts->quiet && opts->time_ms >= QUIET_MIN_RUN_MS) {
        uint64_t q = opts->time_ms / 6;
        q = q < QUIET_MIN_MS ? QUIET_MIN_MS : q > QUIET_MAX_MS ? QUIET_MAX_MS : q;
        s->w.quiet_at = opts->time_ms - q;
        s->w.settle_at = s->w.quiet_at + SIM_SETTLE_MS;
    }
    sim_rng_seed(&s->w.rng, opts->seed);
    sim_rng_seed(&s->client_rng, opts->seed ^ 0xc11e4700deadull);
    if (ut_msg_decoder_new(&s->dec) != UT_OK) {
        free(s);
        return -1;
    }
    if (sc->create(&s->w, &s->ctx) != 0) {
        ut_msg_decoder_free(s->dec);
        free(s);
        return -1;
    }
    unsigned N = opts->nodes;
    int rc = 0;
    for (unsigned i = 0; i < N; i++) {
        node_t *n = &s->nodes[i];
        n->rate_ppm = 1000000;
        n->clock_offset = 0;
        if (opts->faults & SIM_F_SKEW) {
            /* Clocks disagree by an offset and drift up to ±5%. */
            n->clock_offset = sim_rng_below(&s->w.rng, 3600000);
            n->rate_ppm = sim_rng_range(&s->w.rng, 950000, 1050000);
            s->w.r->stats.skewed_nodes++;
        }
    }
    for (unsigned i = 0; i < N && rc == 0; i++)
        rc = node_start(s, i, false);
    for (unsigned c = 0; c < opts->clients && rc == 0; c++) {
        s->clients[c].target = (uint32_t)sim_rng_below(&s->w.rng, N);
        push(s, sim_rng_range(&s->w.rng, 100, 600), EV_CWAKE, c, 0, NULL);
    }
    if (opts->faults & (SIM_F_PARTITION | SIM_F_CRASH))
        push(s, sim_rng_range(&s->w.rng, FAULT_GAP_MIN_MS, FAULT_GAP_MAX_MS), EV_FAULT, 0, 0, NULL);
    if (s->w.quiet_at != UINT64_MAX)
        push(s, s->w.quiet_at, EV_QUIET, 0, 0, NULL);

    while (rc == 0 && s->n_heap && !s->w.failed && !out->violation.found) {
        if (s->heap[0].time > opts->time_ms)
            break;
        ev_t e = pop(s);
        s->w.now = e.time;
        s->w.step++;
        handle(s, &e);
        pool_release(s, e.ptr);
    }
    out->stats.events = s->w.step;
    out->end_ms = out->violation.found ? s->w.now : opts->time_ms;
    if (sc->finish)
        sc->finish(s->ctx, out);
    if (out->violation.found && opts->record) {
        s->w.now = out->violation.t;
        sim_mark(&s->w, SIM_MARK_VIOLATION, 255, 0, "%s", out->violation.invariant);
    }
    /* Close the timeline. */
    s->w.now = out->end_ms;
    interval_close(s, &s->open_partition_iv);
    for (unsigned i = 0; i < N; i++)
        interval_close(s, &s->open_down_iv[i]);
    /* Ops still in flight at the end are unknown. */
    for (unsigned c = 0; c < opts->clients; c++)
        if (s->clients[c].busy)
            out->stats.ops_unknown++;
    for (size_t k = 0; k < out->n_ops; k++)
        if ((s->op_flags[k] & (OPF_APPLIED | OPF_GAVE_UP)) == (OPF_APPLIED | OPF_GAVE_UP))
            out->stats.ops_unknown_applied++;
    while (s->n_heap) {
        ev_t e = pop(s);
        pool_release(s, e.ptr);
    }
    if (s->w.failed) {
        rc = -1;
        if (!out->violation.detail[0])
            snprintf(out->violation.detail, sizeof out->violation.detail, "out of memory");
    }
    if (rc == 0 && !out->violation.found) {
        if ((sc->check_history ? sc->check_history(s->ctx, out) : sim_check_linearizable(out)) != 0)
            rc = -1;
    }
    sc->destroy(s->ctx);
    for (unsigned i = 0; i < SIM_MAX_NODES; i++)
        disk_free(&s->w, i);
    ut_msg_decoder_free(s->dec);
    free(s->heap);
    free(s->op_flags);
    for (unsigned c = 0; c < SIM_MAX_CLIENTS; c++)
        free(s->op_of[c]);
    pool_free_all(s);
    free(s);
    return rc;
}

int sim_check_linearizable(sim_result_t *out)
{
    if (lc_check(out->ops, out->n_ops, out->opts.lin_budget, &out->lin) != 0)
        return -1;
    out->lin_checked = true;
    if (out->lin.verdict == LC_VIOLATION) {
        char d[160];
        lc_op_describe(&out->ops[out->lin.op], d, sizeof d);
        snprintf(out->lin_detail, sizeof out->lin_detail,
                 "key %" PRIu32 ": cannot linearize %s after %zu ops", out->lin.key, d,
                 out->lin.depth);
    }
    return 0;
}

int sim_check_in_run(void *ctx, sim_result_t *r)
{
    (void)ctx;
    r->lin_checked = true;
    r->lin.verdict = LC_LINEARIZABLE;
    return 0;
}

const sim_scenario_t *sim_result_scenario(const sim_result_t *r)
{
    const sim_scenario_t *sc = r->opts.impl ? r->opts.impl : sim_scenario_find(r->opts.scenario);
    return sc ? sc : sim_scenario_at(0);
}

bool sim_result_stat(const sim_result_t *r, const char *name, uint64_t *out)
{
    const sim_scenario_t *sc = sim_result_scenario(r);
    *out = 0;
    for (size_t k = 0; k < sc->n_stats && k < SIM_MAX_SCENARIO_STATS; k++) {
        if (strcmp(sc->stats[k].name, name) == 0) {
            *out = r->stats.scen[k];
            return true;
        }
    }
    return false;
}

void sim_stat_format(FILE *f, const sim_scenario_t *sc, const uint64_t *vals, const char *tmpl)
{
    for (const char *p = tmpl; *p;) {
        const char *q = *p == '{' ? strchr(p, '}') : NULL;
        size_t k = 0;
        if (q) {
            for (; k < sc->n_stats && k < SIM_MAX_SCENARIO_STATS; k++)
                if (strlen(sc->stats[k].name) == (size_t)(q - p - 1) &&
                    strncmp(sc->stats[k].name, p + 1, (size_t)(q - p - 1)) == 0)
                    break;
        }
        if (q && k < sc->n_stats && k < SIM_MAX_SCENARIO_STATS) {
            fprintf(f, "%" PRIu64, vals[k]);
            p = q + 1;
        } else {
            fputc(*p++, f);
        }
    }
}

void sim_result_free(sim_result_t *r)
{
    if (!r)
        return;
    free(r->ops);
    free(r->op_invoke_ms);
    free(r->op_response_ms);
    free(r->op_seen);
    for (unsigned i = 0; i < SIM_MAX_NODES; i++)
        free(r->seg[i]);
    free(r->marks);
    free(r->intervals);
    memset(r, 0, sizeof *r);
}

static const struct {
    const char *name;
    unsigned bit;
} fault_names[] = {
    {"loss", SIM_F_LOSS},
    {"dup", SIM_F_DUP},
    {"reorder", SIM_F_REORDER},
    {"partition", SIM_F_PARTITION},
    {"crash", SIM_F_CRASH},
    {"skew", SIM_F_SKEW},
    {"lying-disk", SIM_F_LYING_DISK},
};

int sim_faults_parse(const char *str, unsigned *out, char *bad, size_t cap)
{
    unsigned mask = 0;
    const char *p = str;
    if (!str || !*str) {
        snprintf(bad, cap, "(empty)");
        return -1;
    }
    while (*p) {
        const char *q = strchr(p, ',');
        size_t len = q ? (size_t)(q - p) : strlen(p);
        bool found = false;
        if (len == 4 && strncmp(p, "none", 4) == 0) {
            found = true;
        } else if (len == 7 && strncmp(p, "default", 7) == 0) {
            mask |= SIM_F_DEFAULT;
            found = true;
        } else if (len == 3 && strncmp(p, "all", 3) == 0) {
            mask |= SIM_F_DEFAULT | SIM_F_LYING_DISK;
            found = true;
        } else {
            for (size_t k = 0; k < sizeof fault_names / sizeof fault_names[0]; k++) {
                if (strlen(fault_names[k].name) == len &&
                    strncmp(p, fault_names[k].name, len) == 0) {
                    mask |= fault_names[k].bit;
                    found = true;
                }
            }
        }
        if (!found) {
            snprintf(bad, cap, "%.*s", (int)(len > 40 ? 40 : len), p);
            return -1;
        }
        p += len;
        if (*p == ',' && !*++p) {
            snprintf(bad, cap, "(empty)"); /* a trailing comma: an empty last word */
            return -1;
        }
    }
    *out = mask;
    return 0;
}

void sim_faults_format(unsigned mask, char *buf, size_t cap)
{
    size_t off = 0;
    buf[0] = 0;
    if (!mask) {
        snprintf(buf, cap, "none");
        return;
    }
    for (size_t k = 0; k < sizeof fault_names / sizeof fault_names[0]; k++) {
        if (!(mask & fault_names[k].bit))
            continue;
        int w = snprintf(buf + off, off < cap ? cap - off : 0, "%s%s", off ? "," : "",
                         fault_names[k].name);
        if (w > 0)
            off += (size_t)w;
    }
}

void sim_replay_command(const sim_options_t *o, char *buf, size_t cap)
{
    char f[128], extra[256] = "";
    sim_faults_format(o->faults, f, sizeof f);
    size_t off = 0;
    if (o->clients != 5)
        off += (size_t)snprintf(extra + off, sizeof extra - off, " --clients %u", o->clients);
    if (o->keys != 5 && off < sizeof extra)
        off += (size_t)snprintf(extra + off, sizeof extra - off, " --keys %u", o->keys);
    if (!o->quiet && off < sizeof extra)
        off += (size_t)snprintf(extra + off, sizeof extra - off, " --no-quiet");
    const sim_scenario_t *sc = o->impl ? o->impl : sim_scenario_find(o->scenario);
    if (sc && sc != sim_scenario_at(0) && off < sizeof extra)
        off += (size_t)snprintf(extra + off, sizeof extra - off, " --scenario %s", sc->name);
    for (size_t k = 0; sc && k < sc->n_options && off < sizeof extra; k++) {
        if (!sc->options[k].replay)
            continue;
        sc->options[k].replay(o, extra + off, sizeof extra - off);
        off += strlen(extra + off);
    }
    snprintf(buf, cap, "utsim --seed %" PRIu64 " --nodes %u --time %" PRIu64 " --faults %s%s",
             o->seed, o->nodes, o->time_ms / 1000, f, extra);
}
