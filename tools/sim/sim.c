/* SPDX-License-Identifier: MIT */
/* The deterministic cluster simulator: see sim.h. */
#include "sim.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <unitypes.h>

#include "rng.h"

/* ---- tunables (virtual milliseconds, parts per million) ---------------- */
#define TICK_MS 10u
#define ELECTION_MS 300u
#define HEARTBEAT_MS 50u
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
#define LYING_SYNC_PPM 250000u /* a lying disk really syncs 1 write in 4 */
#define POWER_FAIL_PPM 200000u /* lying-disk runs: 1 fault in 5 is a power failure */
#define VOTE_CRASH_PPM 100000u /* crash 1 in 10 voters right after a granted vote */
#define VOTE_DOWN_MIN_MS 1u
#define VOTE_DOWN_MAX_MS 5u
#define CLIENT_THINK_MAX_MS 20u
#define CLIENT_ATTEMPT_MS 400u
#define CLIENT_GIVEUP_MS 5000u
#define CLIENT_BACKOFF_MS 20u

enum {
    EV_TICK = 1,
    EV_DELIVER, /* Raft message */
    EV_CREQ,    /* client request arrives at a node */
    EV_CRESP,   /* node's reply arrives at a client */
    EV_CWAKE,   /* client starts its next op */
    EV_CTIMER,  /* client timer: resend, retry elsewhere, or give up */
    EV_FAULT,   /* fault scheduler */
    EV_HEAL,    /* end of a partition */
    EV_RESTART,
    EV_CRASH /* targeted crash (right after a node granted a vote) */
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

/* Client <-> node message. */
enum { CM_REQ = 1, CM_OK, CM_NOTLEADER, CM_LOST };
typedef struct cmsg {
    uint32_t kind, client;
    uint64_t reqid;
    uint64_t leader_hint; /* CM_NOTLEADER */
    int64_t result;       /* CM_OK: value read / written */
    bool cas_ok;
    uint8_t op[33]; /* CM_REQ: encoded command */
} cmsg_t;

typedef struct disk_entry {
    ut_entry_t e;    /* e.data owned */
    uint64_t prefix; /* hash of the log up to and including this entry */
} disk_entry_t;

typedef struct pending {
    bool valid;
    uint64_t reqid, index;
} pending_t;

typedef struct session {
    uint64_t reqid;
    int64_t result;
    bool cas_ok;
} session_t;

typedef struct node {
    uint64_t id;
    ut_consensus_t *h;
    bool up;
    uint32_t incarnation;
    /* clock */
    uint64_t clock_offset, rate_ppm;
    /* disk */
    ut_consensus_hard_state_t hs;
    disk_entry_t *log;
    size_t n_log, cap_log;
    ut_consensus_hard_state_t synced_hs; /* lying disk: what really is durable */
    size_t synced_len;
    uint64_t disk_max_term, disk_max_commit;
    /* volatile state machine */
    int64_t kv[SIM_MAX_KEYS];
    session_t sess[SIM_MAX_CLIENTS];
    pending_t pend[SIM_MAX_CLIENTS];
    unsigned n_pend; /* entries of pend[] that are valid */
    uint64_t applied;
    /* invariants */
    uint64_t max_term;               /* lifetime */
    uint64_t crash_term, crash_vote; /* term and vote when it last went down */
    uint64_t commit_seen;            /* this incarnation */
    uint64_t checked_commit;
    uint8_t role;
    uint64_t role_term;
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
    uint8_t cmd[33];
    int64_t last_seen[SIM_MAX_KEYS];
    uint64_t next_value;
} client_t;

typedef struct tkey {
    uint64_t index, term, prefix; /* index 0 = empty slot */
} tkey_t;

typedef struct sim {
    sim_options_t o;
    sim_result_t *r;
    sim_rng_t rng;
    uint64_t now, seq, step;
    ev_t *heap;
    size_t n_heap, cap_heap;
    node_t nodes[SIM_MAX_NODES];
    uint64_t ids[SIM_MAX_NODES];
    client_t clients[SIM_MAX_CLIENTS];
    bool blocked[SIM_MAX_NODES][SIM_MAX_NODES]; /* [from][to] */
    bool partition_active;
    unsigned n_down;
    /* invariants */
    uint64_t *leader_of_term; /* [term] = node id */
    size_t cap_terms;
    uint64_t *committed_term; /* [index] */
    uint64_t *applied_hash;   /* [index]: hash of (term, type, payload) */
    size_t cap_commit;
    uint64_t max_commit;
    tkey_t *tmap; /* log matching: (index, term) -> prefix hash */
    size_t cap_tmap, n_tmap;
    uint64_t last_leader;
    bool failed; /* internal error */
    size_t cap_ops, cap_marks, cap_iv, cap_seg[SIM_MAX_NODES];
    size_t open_partition_iv; /* index of the open partition interval + 1 */
    size_t open_down_iv[SIM_MAX_NODES];
    ut_msg_decoder_t *dec;
    struct block *pool[POOL_CLASSES]; /* released event payloads, by size class */
} sim_t;

/* ---- small helpers ------------------------------------------------------- */

static int grow(void **buf, size_t *cap, size_t need, size_t elem)
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

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v;
    h *= 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 29);
}

/* Hash of an entry (and, chained through seed, of a log prefix): eight
 * bytes at a time, since it runs for every persisted and applied entry. */
static uint64_t entry_hash(uint64_t seed, const ut_entry_t *e)
{
    uint64_t h = mix(seed ^ 0xcbf29ce484222325ull, e->term);
    h = mix(h, e->index);
    h = mix(h, (uint64_t)e->type << 32 | e->len);
    const unsigned char *p = e->data;
    size_t n = e->data ? e->len : 0;
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = mix(h, w);
    }
    if (n) {
        /* Equal to memcpy(&w, p, n) on a little-endian host, without a
         * call to memcpy for a variable length (the hash is only ever
         * compared with itself, never printed). */
        uint64_t w = 0;
        for (size_t k = 0; k < n; k++)
            w |= (uint64_t)p[k] << (8 * k);
        h = mix(h, w ^ (uint64_t)n << 56);
    }
    return h;
}

static void violation(sim_t *s, const char *inv, const char *fmt, ...)
{
    sim_violation_t *v = &s->r->violation;
    if (v->found)
        return;
    v->found = true;
    v->step = s->step;
    v->t = s->now;
    snprintf(v->invariant, sizeof v->invariant, "%s", inv);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->detail, sizeof v->detail, fmt, ap);
    va_end(ap);
}

static void mark(sim_t *s, uint8_t kind, unsigned node, uint64_t a, const char *fmt, ...)
{
    if (!s->o.record)
        return;
    sim_result_t *r = s->r;
    if (grow((void **)&r->marks, &s->cap_marks, r->n_marks + 1, sizeof *r->marks) != 0) {
        s->failed = true;
        return;
    }
    sim_mark_t *m = &r->marks[r->n_marks++];
    memset(m, 0, sizeof *m);
    m->t = s->now;
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
    if (!s->o.record)
        return 0;
    sim_result_t *r = s->r;
    if (grow((void **)&r->intervals, &s->cap_iv, r->n_intervals + 1, sizeof *r->intervals)) {
        s->failed = true;
        return 0;
    }
    sim_interval_t *iv = &r->intervals[r->n_intervals++];
    iv->start = s->now;
    iv->end = UINT64_MAX;
    iv->mask = mask;
    iv->kind = kind;
    return r->n_intervals;
}

static void interval_close(sim_t *s, size_t *h)
{
    if (*h && s->o.record)
        s->r->intervals[*h - 1].end = s->now;
    *h = 0;
}

static void segment(sim_t *s, unsigned i, uint8_t role, uint64_t term)
{
    if (!s->o.record)
        return;
    sim_result_t *r = s->r;
    size_t n = r->n_seg[i];
    if (n && r->seg[i][n - 1].role == role && r->seg[i][n - 1].term == term)
        return;
    if (n && r->seg[i][n - 1].t == s->now) {
        r->seg[i][n - 1].role = role;
        r->seg[i][n - 1].term = term;
        return;
    }
    if (grow((void **)&r->seg[i], &s->cap_seg[i], n + 1, sizeof *r->seg[i])) {
        s->failed = true;
        return;
    }
    r->seg[i][n].t = s->now;
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
            s->failed = true;
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
    if (grow((void **)&s->heap, &s->cap_heap, s->n_heap + 1, sizeof *s->heap)) {
        s->failed = true;
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
            s->r->stats.bytes_sent += len;
            return f;
        }
        pool_release(s, f);
    }
    violation(s, "message-validity", "node %" PRIu64 " emitted a %s the codec refuses: %s",
              s->nodes[from].id, ut_msg_type_name(m->type), ut_err_name(rc));
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
        s->failed = true;
        return false;
    }
    if (rc != UT_OK || used != f->len) {
        violation(s, "codec", "a frame of %zu bytes the codec wrote does not decode: %s", f->len,
                  ut_err_name(rc));
        return false;
    }
    return true;
}

static uint64_t latency(sim_t *s)
{
    uint64_t d = LAT_MIN_MS + sim_rng_below(&s->rng, LAT_JITTER_MS + 1);
    if ((s->o.faults & SIM_F_REORDER) && sim_rng_chance(&s->rng, REORDER_PPM))
        d += sim_rng_range(&s->rng, 5, REORDER_MAX_MS);
    return d;
}

static void net_send(sim_t *s, unsigned from, const ut_msg_t *m)
{
    s->r->stats.msgs_sent++;
    uint64_t to = m->to;
    if (to == 0 || to > s->o.nodes) {
        violation(s, "message-validity", "node %" PRIu64 " sent a message to unknown node %" PRIu64,
                  s->nodes[from].id, to);
        return;
    }
    if ((s->o.faults & SIM_F_LOSS) && sim_rng_chance(&s->rng, LOSS_PPM)) {
        s->r->stats.msgs_dropped++;
        return;
    }
    /* Targeted crash: a voter that just granted its vote goes down and
     * comes back quickly, while the election it voted in is still running.
     * A node that did not make its vote durable can then vote twice in one
     * term (Figure 2: votedFor is persistent state). */
    if ((s->o.faults & SIM_F_CRASH) && m->type == UT_MSG_VOTE_RESP && m->body.vote_resp.granted &&
        s->n_down < (s->o.nodes - 1) / 2 && sim_rng_chance(&s->rng, VOTE_CRASH_PPM))
        push(s, s->now, EV_CRASH, from, s->nodes[from].incarnation, NULL);
    int copies = 1;
    if ((s->o.faults & SIM_F_DUP) && sim_rng_chance(&s->rng, DUP_PPM)) {
        copies = 2;
        s->r->stats.msgs_duplicated++;
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
        push(s, s->now + latency(s), EV_DELIVER, (uint32_t)(to - 1), from, c);
    }
}

static void client_send(sim_t *s, uint64_t at, uint32_t type, uint32_t who, const cmsg_t *m)
{
    if ((s->o.faults & SIM_F_LOSS) && sim_rng_chance(&s->rng, LOSS_PPM))
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

/* Written out so that the compiler merges it into one load on a
 * little-endian host (a loop is not merged): it runs for every applied
 * command, including the replay of the whole log after every restart. */
static uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
           (uint64_t)p[7] << 56;
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

typedef struct cmd {
    uint8_t kind;
    uint32_t client, key;
    uint64_t reqid;
    int64_t value, expected;
} cmd_t;

static bool cmd_decode(const ut_entry_t *e, cmd_t *c)
{
    if (e->len != 33 || !e->data)
        return false;
    const uint8_t *b = e->data;
    c->kind = b[0];
    c->client = (uint32_t)b[1] | (uint32_t)b[2] << 8 | (uint32_t)b[3] << 16 | (uint32_t)b[4] << 24;
    c->reqid = get_u64(b + 5);
    c->key = (uint32_t)b[13] | (uint32_t)b[14] << 8 | (uint32_t)b[15] << 16 | (uint32_t)b[16] << 24;
    c->value = (int64_t)get_u64(b + 17);
    c->expected = (int64_t)get_u64(b + 25);
    return c->kind <= LC_CAS;
}

/* ---- invariants ---------------------------------------------------------- */

static uint64_t tmap_slot(uint64_t index, uint64_t term, size_t cap)
{
    uint64_t x = index * 0x9e3779b97f4a7c15ull ^ term * 0xc2b2ae3d27d4eb4full;
    return (x ^ (x >> 29)) & (cap - 1);
}

/* Log Matching (§5.3): an (index, term) pair names one log prefix. */
static void check_log_matching(sim_t *s, unsigned i, uint64_t index, uint64_t term, uint64_t prefix)
{
    if ((s->n_tmap + 1) * 2 > s->cap_tmap) {
        size_t nc = s->cap_tmap ? s->cap_tmap * 2 : 4096;
        tkey_t *nt = calloc(nc, sizeof *nt);
        if (!nt) {
            s->failed = true;
            return;
        }
        for (size_t k = 0; k < s->cap_tmap; k++) {
            if (!s->tmap[k].index)
                continue;
            size_t j = tmap_slot(s->tmap[k].index, s->tmap[k].term, nc);
            while (nt[j].index)
                j = (j + 1) & (nc - 1);
            nt[j] = s->tmap[k];
        }
        free(s->tmap);
        s->tmap = nt;
        s->cap_tmap = nc;
    }
    size_t j = tmap_slot(index, term, s->cap_tmap);
    while (s->tmap[j].index) {
        if (s->tmap[j].index == index && s->tmap[j].term == term) {
            if (s->tmap[j].prefix != prefix)
                violation(s, "log-matching",
                          "node %" PRIu64 " stored entry %" PRIu64 " of term %" PRIu64
                          " whose log prefix differs from another node's entry %" PRIu64
                          "/%" PRIu64,
                          s->nodes[i].id, index, term, index, term);
            return;
        }
        j = (j + 1) & (s->cap_tmap - 1);
    }
    s->tmap[j].index = index;
    s->tmap[j].term = term;
    s->tmap[j].prefix = prefix;
    s->n_tmap++;
}

static int ensure_commit_cap(sim_t *s, uint64_t index)
{
    if (index < s->cap_commit)
        return 0;
    size_t nc = s->cap_commit ? s->cap_commit : 1024;
    while (nc <= index)
        nc *= 2;
    uint64_t *a = realloc(s->committed_term, nc * sizeof *a);
    if (!a)
        return -1;
    s->committed_term = a;
    uint64_t *b = realloc(s->applied_hash, nc * sizeof *b);
    if (!b)
        return -1;
    s->applied_hash = b;
    memset(a + s->cap_commit, 0, (nc - s->cap_commit) * sizeof *a);
    memset(b + s->cap_commit, 0, (nc - s->cap_commit) * sizeof *b);
    s->cap_commit = nc;
    return 0;
}

/* Record the terms of newly committed entries and check them against what
 * other nodes committed at the same index. */
static void check_commit(sim_t *s, unsigned i)
{
    node_t *n = &s->nodes[i];
    uint64_t c = ut_consensus_commit_index(n->h);
    s->r->stats.invariant_checks++;
    if (c < n->commit_seen)
        violation(s, "monotonic-commit",
                  "node %" PRIu64 " commit index went back from %" PRIu64 " to %" PRIu64, n->id,
                  n->commit_seen, c);
    n->commit_seen = c;
    if (c > ut_consensus_last_index(n->h))
        violation(s, "commit-beyond-log",
                  "node %" PRIu64 " commit %" PRIu64 " > last index %" PRIu64, n->id, c,
                  ut_consensus_last_index(n->h));
    if (c <= n->checked_commit)
        return;
    if (ensure_commit_cap(s, c)) {
        s->failed = true;
        return;
    }
    for (uint64_t k = n->checked_commit + 1; k <= c; k++) {
        uint64_t t = 0;
        if (ut_consensus_entry_term(n->h, k, &t) != UT_OK)
            break;
        if (s->committed_term[k] && s->committed_term[k] != t) {
            violation(s, "state-machine-safety",
                      "index %" PRIu64 " committed with term %" PRIu64 " on node %" PRIu64
                      " but with term %" PRIu64 " elsewhere",
                      k, t, n->id, s->committed_term[k]);
            break;
        }
        s->committed_term[k] = t;
    }
    n->checked_commit = c;
    if (c > s->max_commit)
        s->max_commit = c;
}

/* Leader Completeness (§5.4): a new leader holds every committed entry. */
static void check_leader_completeness(sim_t *s, unsigned i)
{
    node_t *n = &s->nodes[i];
    for (uint64_t k = 1; k <= s->max_commit; k++) {
        uint64_t t = 0;
        s->r->stats.invariant_checks++;
        if (ut_consensus_entry_term(n->h, k, &t) != UT_OK || t != s->committed_term[k]) {
            violation(s, "leader-completeness",
                      "node %" PRIu64 " became leader of term %" PRIu64
                      " without committed entry %" PRIu64 " (term %" PRIu64 ")",
                      n->id, ut_consensus_term(n->h), k, s->committed_term[k]);
            return;
        }
    }
}

static void observe(sim_t *s, unsigned i)
{
    node_t *n = &s->nodes[i];
    uint64_t term = ut_consensus_term(n->h);
    ut_consensus_state_t st = ut_consensus_state(n->h);
    s->r->stats.invariant_checks++;
    if (term < n->max_term && s->o.durability_checks)
        violation(s, "monotonic-term",
                  "node %" PRIu64 " term went back from %" PRIu64 " to %" PRIu64
                  " (incarnation %" PRIu32 ")",
                  n->id, n->max_term, term, n->incarnation);
    if (term > n->max_term)
        n->max_term = term;
    if (term > s->r->stats.max_term)
        s->r->stats.max_term = term;
    check_commit(s, i);
    if (st == UT_CONSENSUS_LEADER) {
        if (term >= s->cap_terms) {
            size_t old = s->cap_terms;
            if (grow((void **)&s->leader_of_term, &s->cap_terms, term + 1,
                     sizeof *s->leader_of_term)) {
                s->failed = true;
                return;
            }
            memset(s->leader_of_term + old, 0, (s->cap_terms - old) * sizeof *s->leader_of_term);
        }
        uint64_t prev = s->leader_of_term[term];
        if (prev && prev != n->id) {
            /* Election Safety (§5.2): at most one leader per term. */
            violation(s, "election-safety",
                      "nodes %" PRIu64 " and %" PRIu64 " are both leaders of term %" PRIu64, prev,
                      n->id, term);
        } else if (!prev) {
            s->leader_of_term[term] = n->id;
            s->r->stats.leaders_elected++;
            if (s->last_leader && s->last_leader != n->id)
                s->r->stats.leader_changes++;
            s->last_leader = n->id;
            check_leader_completeness(s, i);
            mark(s, SIM_MARK_LEADER, i, term, "n%" PRIu64 " leader t%" PRIu64, n->id, term);
        }
    }
    if ((uint8_t)st != n->role || term != n->role_term) {
        n->role = (uint8_t)st;
        n->role_term = term;
        segment(s, i, (uint8_t)st, term);
    }
}

/* ---- disk ---------------------------------------------------------------- */

static void disk_truncate(node_t *n, size_t keep)
{
    for (size_t k = keep; k < n->n_log; k++)
        free((void *)n->log[k].e.data);
    if (keep < n->n_log)
        n->n_log = keep;
}

static void persist(sim_t *s, unsigned i, const ut_consensus_ready_t *rd)
{
    node_t *n = &s->nodes[i];
    bool wrote = false;
    if (rd->hard_state_changed) {
        if (rd->hard_state.term < n->hs.term)
            violation(s, "monotonic-term",
                      "node %" PRIu64 " persisted term %" PRIu64 " below the stored %" PRIu64,
                      n->id, rd->hard_state.term, n->hs.term);
        if (rd->hard_state.commit < n->hs.commit)
            violation(s, "monotonic-commit",
                      "node %" PRIu64 " persisted commit %" PRIu64 " below the stored %" PRIu64,
                      n->id, rd->hard_state.commit, n->hs.commit);
        n->hs = rd->hard_state;
        if (n->hs.term > n->disk_max_term)
            n->disk_max_term = n->hs.term;
        if (n->hs.commit > n->disk_max_commit)
            n->disk_max_commit = n->hs.commit;
        wrote = true;
    }
    if (rd->truncate_from) {
        if (rd->truncate_from == 0 || rd->truncate_from - 1 > n->n_log)
            violation(s, "persist-contract",
                      "node %" PRIu64 " truncate_from %" PRIu64 " beyond its stored log (%zu)",
                      n->id, rd->truncate_from, n->n_log);
        else {
            disk_truncate(n, (size_t)(rd->truncate_from - 1));
            if (n->synced_len > n->n_log)
                n->synced_len = n->n_log;
        }
        wrote = true;
    }
    for (size_t k = 0; k < rd->n_entries; k++) {
        const ut_entry_t *e = &rd->entries[k];
        if (e->index != n->n_log + 1) {
            if (e->index <= n->n_log) {
                /* Overwrite without truncate_from: treat as an implicit
                 * truncation but flag the contract breach. */
                violation(s, "persist-contract",
                          "node %" PRIu64 " asked to append entry %" PRIu64
                          " over a stored one without truncate_from",
                          n->id, e->index);
                disk_truncate(n, (size_t)(e->index - 1));
            } else {
                violation(s, "persist-contract",
                          "node %" PRIu64 " asked to append entry %" PRIu64 " after a log of %zu",
                          n->id, e->index, n->n_log);
                return;
            }
        }
        if (grow((void **)&n->log, &n->cap_log, n->n_log + 1, sizeof *n->log)) {
            s->failed = true;
            return;
        }
        disk_entry_t *d = &n->log[n->n_log];
        d->e = *e;
        d->e.data = NULL;
        if (e->len) {
            void *p = malloc(e->len);
            if (!p) {
                s->failed = true;
                return;
            }
            memcpy(p, e->data, e->len);
            d->e.data = p;
        }
        d->prefix = entry_hash(n->n_log ? n->log[n->n_log - 1].prefix : 0, e);
        n->n_log++;
        check_log_matching(s, i, e->index, e->term, d->prefix);
        wrote = true;
    }
    if (wrote && (!(s->o.faults & SIM_F_LYING_DISK) || sim_rng_chance(&s->rng, LYING_SYNC_PPM))) {
        n->synced_hs = n->hs;
        n->synced_len = n->n_log;
    }
}

/* ---- state machine --------------------------------------------------------- */

static void reply(sim_t *s, unsigned i, uint32_t client, const cmsg_t *m)
{
    (void)i;
    client_send(s, s->now + latency(s), EV_CRESP, client, m);
}

static void apply(sim_t *s, unsigned i, const ut_entry_t *e)
{
    node_t *n = &s->nodes[i];
    if (e->index != n->applied + 1) {
        violation(s, "apply-order", "node %" PRIu64 " applies index %" PRIu64 " after %" PRIu64,
                  n->id, e->index, n->applied);
        return;
    }
    n->applied = e->index;
    if (ensure_commit_cap(s, e->index)) {
        s->failed = true;
        return;
    }
    /* State Machine Safety (§5.4.3): every node applies the same entry at
     * a given index. */
    uint64_t h = entry_hash(0, e) | 1;
    s->r->stats.invariant_checks++;
    if (s->applied_hash[e->index] && s->applied_hash[e->index] != h) {
        violation(s, "state-machine-safety",
                  "node %" PRIu64 " applied a different entry at index %" PRIu64 " (term %" PRIu64
                  ") than another node",
                  n->id, e->index, e->term);
        return;
    }
    s->applied_hash[e->index] = h;
    if (e->type != UT_ENTRY_NORMAL)
        return;
    cmd_t c;
    if (!cmd_decode(e, &c) || c.client >= s->o.clients || c.key >= s->o.keys) {
        violation(s, "state-machine-safety",
                  "node %" PRIu64 " applied a malformed command at %" PRIu64, n->id, e->index);
        return;
    }
    s->r->stats.entries_applied++;
    session_t *ss = &n->sess[c.client];
    /* Exactly-once: a retried request id is answered from the session. */
    if (c.reqid > ss->reqid) {
        int64_t *v = &n->kv[c.key];
        ss->reqid = c.reqid;
        ss->cas_ok = false;
        switch (c.kind) {
        case LC_GET:
            ss->result = *v;
            break;
        case LC_PUT:
            *v = c.value;
            ss->result = c.value;
            break;
        case LC_CAS:
            ss->cas_ok = *v == c.expected;
            if (ss->cas_ok)
                *v = c.value;
            ss->result = *v;
            break;
        }
    }
    pending_t *p = &n->pend[c.client];
    if (p->valid && p->reqid == c.reqid && c.reqid == ss->reqid) {
        cmsg_t m = {.kind = CM_OK,
                    .client = c.client,
                    .reqid = c.reqid,
                    .result = ss->result,
                    .cas_ok = ss->cas_ok};
        reply(s, i, c.client, &m);
        p->valid = false;
        n->n_pend--;
    }
}

/* An index this node proposed at was filled by another command. */
static void check_lost(sim_t *s, unsigned i, const ut_entry_t *e)
{
    node_t *n = &s->nodes[i];
    /* Nothing to do on a node with no proposal in flight: every follower,
     * and a restarted node replaying its log. */
    for (uint32_t c = 0; n->n_pend && c < s->o.clients; c++) {
        pending_t *p = &n->pend[c];
        if (!p->valid || p->index != e->index)
            continue;
        cmd_t cd;
        if (e->type == UT_ENTRY_NORMAL && cmd_decode(e, &cd) && cd.client == c &&
            cd.reqid == p->reqid)
            continue;
        cmsg_t m = {.kind = CM_LOST, .client = c, .reqid = p->reqid};
        reply(s, i, c, &m);
        p->valid = false;
        n->n_pend--;
    }
}

/* ---- node driver ----------------------------------------------------------- */

static void drain(sim_t *s, unsigned i)
{
    node_t *n = &s->nodes[i];
    while (!s->failed && ut_consensus_has_ready(n->h)) {
        ut_consensus_ready_t rd;
        int rc = ut_consensus_ready(n->h, &rd);
        if (rc != UT_OK) {
            if (rc == UT_ENOMEM)
                s->failed = true;
            else
                violation(s, "ready-contract", "node %" PRIu64 " ready: %s", n->id,
                          ut_strerror(rc));
            return;
        }
        persist(s, i, &rd);                    /* 1. durable */
        for (size_t k = 0; k < rd.n_msgs; k++) /* 2. send */
            net_send(s, i, &rd.msgs[k]);
        for (size_t k = 0; k < rd.n_committed; k++) { /* 3. apply */
            const ut_entry_t *e = &rd.committed[k];
            /* After a restart committed entries come again from index 1:
             * the in-memory state machine is rebuilt. */
            check_lost(s, i, e);
            apply(s, i, e);
        }
        rc = ut_consensus_advance(n->h, &rd);
        if (rc != UT_OK) {
            violation(s, "ready-contract", "node %" PRIu64 " advance: %s", n->id, ut_strerror(rc));
            return;
        }
    }
    observe(s, i);
}

static uint64_t local_time(const node_t *n, uint64_t now)
{
    return n->clock_offset + (now * n->rate_ppm) / 1000000u;
}

static int node_start(sim_t *s, unsigned i, bool restore)
{
    node_t *n = &s->nodes[i];
    ut_consensus_config_t cfg;
    ut_consensus_config_init(&cfg, UT_CONSENSUS_CONFIG_VERSION);
    cfg.id = n->id;
    cfg.voters = s->ids;
    cfg.n_voters = s->o.nodes;
    cfg.election_timeout_ms = ELECTION_MS;
    cfg.heartbeat_ms = HEARTBEAT_MS;
    uint64_t x = s->o.seed ^ (n->id * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)n->incarnation << 40);
    cfg.seed = sim_splitmix64(&x);
    int rc = ut_consensus_new(&n->h, &cfg);
    if (rc != UT_OK) {
        snprintf(s->r->violation.detail, sizeof s->r->violation.detail, "ut_consensus_new: %s",
                 ut_strerror(rc));
        return -1;
    }
    if (restore) {
        ut_entry_t *ents = NULL;
        if (n->n_log) {
            ents = malloc(n->n_log * sizeof *ents);
            if (!ents)
                return -1;
            for (size_t k = 0; k < n->n_log; k++)
                ents[k] = n->log[k].e;
        }
        rc = ut_consensus_restore(n->h, &n->hs, ents, n->n_log);
        free(ents);
        if (rc != UT_OK)
            violation(s, "restore", "node %" PRIu64 " refused its own persisted state: %s (%s)",
                      n->id, ut_strerror(rc), ut_consensus_errmsg(n->h));
    }
    n->up = true;
    n->applied = 0;
    memset(n->kv, 0, sizeof n->kv);
    memset(n->sess, 0, sizeof n->sess);
    memset(n->pend, 0, sizeof n->pend);
    n->n_pend = 0;
    n->commit_seen = ut_consensus_commit_index(n->h);
    n->checked_commit = 0;
    n->role = 255;
    /* Monotonic term/commit across the node's lifetime (§5, Figure 2:
     * currentTerm is persistent; a restarted node must not forget it). */
    if (restore && s->o.durability_checks) {
        s->r->stats.invariant_checks++;
        if (ut_consensus_term(n->h) < n->max_term)
            violation(s, "monotonic-term",
                      "node %" PRIu64 " restarted in term %" PRIu64 " after reaching term %" PRIu64
                      " (acknowledged writes were lost)",
                      n->id, ut_consensus_term(n->h), n->max_term);
        /* votedFor is persistent too (Figure 2): forgetting it lets the
         * node vote twice in one term. */
        if (ut_consensus_term(n->h) == n->crash_term && n->crash_vote &&
            ut_consensus_vote(n->h) != n->crash_vote)
            violation(s, "persistent-vote",
                      "node %" PRIu64 " restarted in term %" PRIu64 " with vote %" PRIu64
                      " after voting for %" PRIu64 " in that term",
                      n->id, n->crash_term, ut_consensus_vote(n->h), n->crash_vote);
        if (n->hs.commit < n->disk_max_commit)
            violation(s, "monotonic-commit",
                      "node %" PRIu64 " restarted with commit %" PRIu64
                      " after persisting %" PRIu64,
                      n->id, n->hs.commit, n->disk_max_commit);
    }
    ut_consensus_tick(n->h, local_time(n, s->now)); /* time origin */
    push(s, s->now + sim_rng_range(&s->rng, 1, TICK_MS), EV_TICK, i, n->incarnation, NULL);
    drain(s, i);
    return 0;
}

static void node_crash(sim_t *s, unsigned i, uint64_t down_min, uint64_t down_max)
{
    node_t *n = &s->nodes[i];
    bool lost = false;
    if ((s->o.faults & SIM_F_LYING_DISK) &&
        (n->synced_len < n->n_log || memcmp(&n->synced_hs, &n->hs, sizeof n->hs) != 0)) {
        /* The disk had acknowledged writes it never made durable. */
        disk_truncate(n, n->synced_len);
        n->hs = n->synced_hs;
        if (n->hs.commit > n->n_log)
            n->hs.commit = n->n_log;
        lost = true;
        s->r->stats.lying_disk_losses++;
    }
    n->crash_term = ut_consensus_term(n->h);
    n->crash_vote = ut_consensus_vote(n->h);
    ut_consensus_free(n->h);
    n->h = NULL;
    n->up = false;
    n->incarnation++;
    s->n_down++;
    s->r->stats.crashes++;
    segment(s, i, SIM_ROLE_DOWN, 0);
    mark(s, SIM_MARK_CRASH, i, lost, "n%" PRIu64 " crash%s", n->id, lost ? " (disk lied)" : "");
    s->open_down_iv[i] = interval_open(s, 1, 1ull << i);
    push(s, s->now + sim_rng_range(&s->rng, down_min, down_max), EV_RESTART, i, 0, NULL);
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

static void client_attempt(sim_t *s, unsigned c)
{
    client_t *cl = &s->clients[c];
    cmsg_t m = {.kind = CM_REQ, .client = c, .reqid = cl->reqid};
    memcpy(m.op, cl->cmd, sizeof m.op);
    client_send(s, s->now + latency(s), EV_CREQ, cl->target, &m);
    cl->attempt_at = s->now + CLIENT_ATTEMPT_MS;
    cl->resend = false;
    client_arm(s, c, cl->attempt_at);
}

static void client_start(sim_t *s, unsigned c)
{
    client_t *cl = &s->clients[c];
    sim_result_t *r = s->r;
    if (r->n_ops == s->cap_ops) {
        size_t nc = s->cap_ops ? s->cap_ops * 2 : 1024;
        lc_op_t *o = realloc(r->ops, nc * sizeof *o);
        if (o)
            r->ops = o;
        uint64_t *a = o ? realloc(r->op_invoke_ms, nc * sizeof *a) : NULL;
        if (a)
            r->op_invoke_ms = a;
        uint64_t *b = a ? realloc(r->op_response_ms, nc * sizeof *b) : NULL;
        if (!b) {
            s->failed = true;
            return;
        }
        r->op_response_ms = b;
        s->cap_ops = nc;
    }
    lc_op_t *o = &r->ops[r->n_ops];
    memset(o, 0, sizeof *o);
    o->client = c;
    o->key = (uint32_t)sim_rng_below(&s->rng, s->o.keys);
    uint64_t k = sim_rng_below(&s->rng, 10);
    o->kind = k < 4 ? LC_GET : k < 8 ? LC_PUT : LC_CAS;
    o->outcome = LC_UNKNOWN;
    o->invoke = s->step;
    o->response = LC_INF;
    if (o->kind == LC_PUT) {
        o->value = (int64_t)(((uint64_t)c + 1) * 1000000000ull + ++cl->next_value);
    } else if (o->kind == LC_CAS) {
        o->value = (int64_t)(((uint64_t)c + 1) * 1000000000ull + ++cl->next_value);
        o->expected =
            sim_rng_below(&s->rng, 4) ? cl->last_seen[o->key] : (int64_t)sim_rng_below(&s->rng, 3);
    }
    r->op_invoke_ms[r->n_ops] = s->now;
    r->op_response_ms[r->n_ops] = UINT64_MAX;
    cl->op_idx = r->n_ops++;
    r->stats.ops_total++;
    cl->busy = true;
    cl->reqid++;
    cmd_encode(cl->cmd, o->kind, c, cl->reqid, o->key, o->value, o->expected);
    cl->giveup_at = s->now + CLIENT_GIVEUP_MS;
    client_attempt(s, c);
}

static void client_done(sim_t *s, unsigned c)
{
    client_t *cl = &s->clients[c];
    cl->busy = false;
    push(s, s->now + sim_rng_range(&s->rng, 0, CLIENT_THINK_MAX_MS), EV_CWAKE, c, 0, NULL);
}

static void client_response(sim_t *s, unsigned c, const cmsg_t *m)
{
    client_t *cl = &s->clients[c];
    if (!cl->busy || m->reqid != cl->reqid)
        return; /* late or duplicated reply */
    lc_op_t *o = &s->r->ops[cl->op_idx];
    switch (m->kind) {
    case CM_OK:
        o->outcome = LC_OK;
        o->response = s->step;
        s->r->op_response_ms[cl->op_idx] = s->now;
        if (o->kind == LC_GET)
            o->value = m->result;
        if (o->kind == LC_CAS)
            o->cas_ok = m->cas_ok;
        cl->last_seen[o->key] = m->result;
        s->r->stats.ops_ok++;
        client_done(s, c);
        break;
    case CM_NOTLEADER:
    case CM_LOST:
        s->r->stats.client_retries++;
        if (m->kind == CM_NOTLEADER && m->leader_hint >= 1 && m->leader_hint <= s->o.nodes &&
            m->leader_hint - 1 != cl->target) {
            cl->target = (uint32_t)(m->leader_hint - 1);
            client_attempt(s, c);
        } else {
            cl->target = (uint32_t)sim_rng_below(&s->rng, s->o.nodes);
            cl->attempt_at = s->now + sim_rng_range(&s->rng, 1, CLIENT_BACKOFF_MS);
            cl->resend = true;
            client_arm(s, c, cl->attempt_at);
        }
        break;
    default:
        break;
    }
}

static void node_request(sim_t *s, unsigned i, const cmsg_t *m)
{
    node_t *n = &s->nodes[i];
    if (!n->up)
        return;
    uint64_t index = 0;
    int rc = UT_ENOTLEADER;
    if (ut_consensus_state(n->h) == UT_CONSENSUS_LEADER)
        rc = ut_consensus_propose(n->h, m->op, sizeof m->op, &index);
    if (rc == UT_ENOMEM) {
        s->failed = true;
        return;
    }
    if (rc != UT_OK) {
        cmsg_t r = {.kind = CM_NOTLEADER,
                    .client = m->client,
                    .reqid = m->reqid,
                    .leader_hint = ut_consensus_leader(n->h)};
        reply(s, i, m->client, &r);
        return;
    }
    if (!n->pend[m->client].valid)
        n->n_pend++;
    n->pend[m->client].valid = true;
    n->pend[m->client].reqid = m->reqid;
    n->pend[m->client].index = index;
    drain(s, i);
}

/* ---- faults ---------------------------------------------------------------- */

static uint64_t current_leader(sim_t *s, unsigned *idx)
{
    uint64_t best = 0, term = 0;
    for (unsigned i = 0; i < s->o.nodes; i++) {
        node_t *n = &s->nodes[i];
        if (n->up && ut_consensus_state(n->h) == UT_CONSENSUS_LEADER &&
            ut_consensus_term(n->h) >= term) {
            term = ut_consensus_term(n->h);
            best = n->id;
            *idx = i;
        }
    }
    return best;
}

static void fault(sim_t *s)
{
    unsigned kinds[4], nk = 0;
    unsigned N = s->o.nodes;
    /* With lying disks, sometimes the power fails everywhere at once: the
     * correlated crash in which unsynced writes hurt most. */
    if ((s->o.faults & SIM_F_LYING_DISK) && (s->o.faults & SIM_F_CRASH) && s->n_down == 0 &&
        sim_rng_chance(&s->rng, POWER_FAIL_PPM)) {
        s->r->stats.power_failures++;
        mark(s, SIM_MARK_PARTITION, 255, 0, "power failure");
        for (unsigned i = 0; i < N; i++)
            node_crash(s, i, DOWN_MIN_MS, DOWN_MAX_MS);
        push(s, s->now + sim_rng_range(&s->rng, FAULT_GAP_MIN_MS, FAULT_GAP_MAX_MS), EV_FAULT, 0, 0,
             NULL);
        return;
    }
    if ((s->o.faults & SIM_F_PARTITION) && !s->partition_active && N > 1) {
        kinds[nk++] = 0; /* symmetric split */
        kinds[nk++] = 1; /* asymmetric */
        kinds[nk++] = 2; /* isolate one */
    }
    if ((s->o.faults & SIM_F_CRASH) && s->n_down < (N - 1) / 2)
        kinds[nk++] = 3;
    if (nk) {
        unsigned k = kinds[sim_rng_below(&s->rng, nk)];
        unsigned li = 0;
        bool has_leader = current_leader(s, &li) != 0;
        if (k == 3) {
            unsigned up[SIM_MAX_NODES], nu = 0;
            for (unsigned i = 0; i < N; i++)
                if (s->nodes[i].up)
                    up[nu++] = i;
            if (nu) {
                unsigned v =
                    (has_leader && sim_rng_below(&s->rng, 2)) ? li : up[sim_rng_below(&s->rng, nu)];
                node_crash(s, v, DOWN_MIN_MS, DOWN_MAX_MS);
            }
        } else {
            uint64_t mask = 0;
            memset(s->blocked, 0, sizeof s->blocked);
            char desc[64];
            if (k == 0) {
                /* A random minority (1..(N-1)/2, at least 1) is cut off. */
                unsigned m = 1 + (unsigned)sim_rng_below(&s->rng, N / 2 > 0 ? N / 2 : 1);
                while (__builtin_popcountll(mask) < (int)m)
                    mask |= 1ull << sim_rng_below(&s->rng, N);
                for (unsigned a = 0; a < N; a++)
                    for (unsigned b = 0; b < N; b++)
                        if (((mask >> a) & 1) != ((mask >> b) & 1))
                            s->blocked[a][b] = true;
                snprintf(desc, sizeof desc, "split");
                s->r->stats.partitions++;
            } else if (k == 1) {
                /* One-way: some nodes stop hearing a chosen node (its
                 * messages out are lost; it still hears them). */
                unsigned v = has_leader && sim_rng_below(&s->rng, 2)
                                 ? li
                                 : (unsigned)sim_rng_below(&s->rng, N);
                mask = 1ull << v;
                for (unsigned b = 0; b < N; b++)
                    if (b != v && sim_rng_below(&s->rng, 2))
                        s->blocked[v][b] = true;
                snprintf(desc, sizeof desc, "one-way from n%u", v + 1);
                s->r->stats.partitions++;
            } else {
                unsigned v = has_leader && sim_rng_below(&s->rng, 2)
                                 ? li
                                 : (unsigned)sim_rng_below(&s->rng, N);
                mask = 1ull << v;
                for (unsigned b = 0; b < N; b++)
                    s->blocked[v][b] = s->blocked[b][v] = b != v;
                snprintf(desc, sizeof desc, "isolate n%u", v + 1);
                s->r->stats.isolations++;
            }
            s->partition_active = true;
            mark(s, SIM_MARK_PARTITION, 255, mask, "%s", desc);
            s->open_partition_iv = interval_open(s, 0, mask);
            push(s, s->now + sim_rng_range(&s->rng, FAULT_LEN_MIN_MS, FAULT_LEN_MAX_MS), EV_HEAL, 0,
                 0, NULL);
        }
    }
    push(s, s->now + sim_rng_range(&s->rng, FAULT_GAP_MIN_MS, FAULT_GAP_MAX_MS), EV_FAULT, 0, 0,
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
        int rc = ut_consensus_tick(n->h, local_time(n, s->now));
        if (rc == UT_ENOMEM)
            s->failed = true;
        else if (rc != UT_OK)
            violation(s, "tick", "node %" PRIu64 " tick: %s", n->id, ut_strerror(rc));
        drain(s, e->who);
        push(s, s->now + TICK_MS, EV_TICK, e->who, n->incarnation, NULL);
        return;
    }
    case EV_DELIVER: {
        node_t *n = &s->nodes[e->who];
        unsigned from = (unsigned)e->arg;
        if (!n->up || s->blocked[from][e->who]) {
            s->r->stats.msgs_dropped++;
            return;
        }
        ut_msg_t msg;
        const ut_msg_t *m = &msg;
        if (!sim_net_decode(s, e->ptr, &msg))
            return;
        s->r->stats.msgs_delivered++;
        int rc = ut_consensus_step(n->h, m);
        if (rc == UT_ENOMEM) {
            s->failed = true;
            return;
        }
        if (rc != UT_OK && rc != UT_ESTALE) {
            s->r->stats.msgs_rejected++;
            violation(s, "message-validity",
                      "node %" PRIu64 " rejected a %s from node %" PRIu64 " (term %" PRIu64
                      "): %s: %s",
                      n->id, ut_msg_type_name(m->type), m->from, m->term, ut_err_name(rc),
                      ut_consensus_errmsg(n->h));
        }
        drain(s, e->who);
        return;
    }
    case EV_CREQ:
        node_request(s, e->who, e->ptr);
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
        if (s->now >= cl->giveup_at) {
            /* The request may still commit later: its outcome is unknown. */
            s->r->stats.ops_unknown++;
            client_done(s, e->who);
            return;
        }
        if (s->now < cl->attempt_at) {
            client_arm(s, e->who, cl->attempt_at < cl->giveup_at ? cl->attempt_at : cl->giveup_at);
            return;
        }
        if (!cl->resend) {
            /* No answer: try another node (the leader may have moved). */
            s->r->stats.client_retries++;
            cl->target = (uint32_t)sim_rng_below(&s->rng, s->o.nodes);
        }
        client_attempt(s, e->who);
        return;
    }
    case EV_FAULT:
        fault(s);
        return;
    case EV_HEAL:
        memset(s->blocked, 0, sizeof s->blocked);
        s->partition_active = false;
        mark(s, SIM_MARK_HEAL, 255, 0, "heal");
        interval_close(s, &s->open_partition_iv);
        return;
    case EV_CRASH:
        if (s->nodes[e->who].up && e->arg == s->nodes[e->who].incarnation &&
            s->n_down < (s->o.nodes - 1) / 2) {
            s->r->stats.vote_crashes++;
            node_crash(s, e->who, VOTE_DOWN_MIN_MS, VOTE_DOWN_MAX_MS);
        }
        return;
    case EV_RESTART: {
        node_t *n = &s->nodes[e->who];
        s->n_down--;
        s->r->stats.restarts++;
        interval_close(s, &s->open_down_iv[e->who]);
        mark(s, SIM_MARK_RESTART, e->who, 0, "n%" PRIu64 " restart", n->id);
        if (node_start(s, e->who, true) != 0)
            s->failed = true;
        return;
    }
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
    sim_t *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->o = *opts;
    s->r = out;
    sim_rng_seed(&s->rng, opts->seed);
    if (ut_msg_decoder_new(&s->dec) != UT_OK) {
        free(s);
        return -1;
    }
    unsigned N = opts->nodes;
    for (unsigned i = 0; i < N; i++)
        s->ids[i] = i + 1;
    int rc = 0;
    for (unsigned i = 0; i < N; i++) {
        node_t *n = &s->nodes[i];
        n->id = i + 1;
        n->rate_ppm = 1000000;
        n->clock_offset = 0;
        if (opts->faults & SIM_F_SKEW) {
            /* Clocks disagree by an offset and drift up to ±5%. */
            n->clock_offset = sim_rng_below(&s->rng, 3600000);
            n->rate_ppm = sim_rng_range(&s->rng, 950000, 1050000);
            s->r->stats.skewed_nodes++;
        }
    }
    for (unsigned i = 0; i < N && rc == 0; i++)
        rc = node_start(s, i, false);
    for (unsigned c = 0; c < opts->clients && rc == 0; c++) {
        s->clients[c].target = (uint32_t)sim_rng_below(&s->rng, N);
        push(s, sim_rng_range(&s->rng, 100, 600), EV_CWAKE, c, 0, NULL);
    }
    if (opts->faults & (SIM_F_PARTITION | SIM_F_CRASH))
        push(s, sim_rng_range(&s->rng, FAULT_GAP_MIN_MS, FAULT_GAP_MAX_MS), EV_FAULT, 0, 0, NULL);

    while (rc == 0 && s->n_heap && !s->failed && !out->violation.found) {
        if (s->heap[0].time > opts->time_ms)
            break;
        ev_t e = pop(s);
        s->now = e.time;
        s->step++;
        handle(s, &e);
        pool_release(s, e.ptr);
    }
    out->stats.events = s->step;
    out->end_ms = out->violation.found ? s->now : opts->time_ms;
    out->stats.commit_index = s->max_commit;
    if (out->violation.found && opts->record) {
        s->now = out->violation.t;
        mark(s, SIM_MARK_VIOLATION, 255, 0, "%s", out->violation.invariant);
    }
    /* Close the timeline. */
    s->now = out->end_ms;
    interval_close(s, &s->open_partition_iv);
    for (unsigned i = 0; i < N; i++)
        interval_close(s, &s->open_down_iv[i]);
    /* Ops still in flight at the end are unknown. */
    for (unsigned c = 0; c < opts->clients; c++)
        if (s->clients[c].busy)
            out->stats.ops_unknown++;
    while (s->n_heap) {
        ev_t e = pop(s);
        pool_release(s, e.ptr);
    }
    if (s->failed) {
        rc = -1;
        if (!out->violation.detail[0])
            snprintf(out->violation.detail, sizeof out->violation.detail, "out of memory");
    }
    if (rc == 0 && !out->violation.found) {
        if (lc_check(out->ops, out->n_ops, opts->lin_budget, &out->lin) != 0) {
            rc = -1;
        } else {
            out->lin_checked = true;
            if (out->lin.verdict == LC_VIOLATION) {
                char d[160];
                lc_op_describe(&out->ops[out->lin.op], d, sizeof d);
                snprintf(out->lin_detail, sizeof out->lin_detail,
                         "key %" PRIu32 ": cannot linearize %s after %zu ops", out->lin.key, d,
                         out->lin.depth);
            }
        }
    }
    for (unsigned i = 0; i < N; i++) {
        ut_consensus_free(s->nodes[i].h);
        disk_truncate(&s->nodes[i], 0);
        free(s->nodes[i].log);
    }
    ut_msg_decoder_free(s->dec);
    free(s->heap);
    pool_free_all(s);
    free(s->leader_of_term);
    free(s->committed_term);
    free(s->applied_hash);
    free(s->tmap);
    free(s);
    return rc;
}

void sim_result_free(sim_result_t *r)
{
    if (!r)
        return;
    free(r->ops);
    free(r->op_invoke_ms);
    free(r->op_response_ms);
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
    char f[128], extra[96] = "";
    sim_faults_format(o->faults, f, sizeof f);
    size_t off = 0;
    if (o->clients != 5)
        off += (size_t)snprintf(extra + off, sizeof extra - off, " --clients %u", o->clients);
    if (o->keys != 5 && off < sizeof extra)
        off += (size_t)snprintf(extra + off, sizeof extra - off, " --keys %u", o->keys);
    if (!o->durability_checks && off < sizeof extra)
        snprintf(extra + off, sizeof extra - off, " --no-durability-checks");
    snprintf(buf, cap, "utsim --seed %" PRIu64 " --nodes %u --time %" PRIu64 " --faults %s%s",
             o->seed, o->nodes, o->time_ms / 1000, f, extra);
}
