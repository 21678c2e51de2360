/* SPDX-License-Identifier: MIT */
/* SWIM membership (Das, Gupta & Motivala, "SWIM: Scalable Weakly-consistent
 * Infection-style Process Group Membership Protocol", DSN 2002) with the
 * Lifeguard refinements (Dadgar, Phillips & Currey, "Lifeguard: Local Health
 * Awareness for More Accurate Failure Detection", 2018). Section numbers in
 * comments refer to those papers ("SWIM §4.2", "Lifeguard §4.1").
 *
 * Storage: members live in one array sorted by id (binary search); the probe
 * order, the broadcast queue and the suspicion list hold ids. Every step and
 * tick first reserves what it may need (members, ids, events, outgoing
 * messages and bytes, metadata copies) and only then changes anything, so
 * UT_ENOMEM leaves the object as it was. */
#include <stddef.h>

#include "common/handle.h"
#include "common/outbox.h"
#include "common/rand.h"
#include "common/trace.h"
#include "gossip/gossip_internal.h"
#include "internal.h"

#define UT__GOSSIP_MAGIC 0x47535350u /* "GSSP" */
#define UT__GOSSIP_MAX_CONF 8u       /* Lifeguard confirmations tracked */
#define UT__GOSSIP_RELAYS 16u        /* ping-reqs served at once */
#define UT__GOSSIP_INC_LIMIT (UINT64_C(1) << 62)
/* Encoded size of a gossip message without updates: header 10, fields
 * length 2, fields 54, crc 4 (docs/wire-format.md). */
#define UT__GOSSIP_FRAME_BASE 70u
#define UT__GOSSIP_UPDATE_HDR 24u
/* Buffers that a full-state exchange grew beyond this many elements are
 * cut back to it once handed out: at 10,000 members each member would
 * otherwise keep about 1.6 MB of them (two update pools and two event
 * arrays of 10,000 entries) for the next exchange, minutes later. Steady
 * state (probes, acks, pushes) needs a few hundred. */
#define UT__GOSSIP_KEEP 1024u

/* ut_msg_decoder_decode grows its array from body.append.n_entries: the
 * gossip body keeps its count and array where append keeps them. */
_Static_assert(offsetof(ut_msg_gossip_t, n_updates) == offsetof(ut_msg_append_t, n_entries),
               "gossip count must alias append count");
_Static_assert(offsetof(ut_msg_gossip_t, updates) == offsetof(ut_msg_append_t, entries),
               "gossip array must alias append array");
_Static_assert(sizeof(ut_msg_gossip_t) <= 96, "message bodies are at most 96 bytes");

/* One entry of the member table: 48 bytes, since every member holds one
 * per member (10,000 members: 10^8 entries in a simulation of all of
 * them). The state of a suspicion lives in its own record (below), of
 * which there are as many as members currently suspected. */
typedef struct ut__gossip_member {
    uint64_t id;
    uint64_t inc;
    uint64_t gone_since; /* DEAD or LEAVING: since when (reaping) */
    unsigned char *meta;
    uint32_t meta_len;
    uint32_t tx_left; /* retransmissions left; > 0 iff queued */
    uint32_t si;      /* SUSPECTED: index of its record in h->susp */
    uint8_t status;   /* ALIVE, SUSPECTED, DEAD, LEAVING (= left) */
} ut__gossip_member_t;

/* A suspicion in progress (SWIM §4.2, Lifeguard §5). */
typedef struct ut__gossip_susp {
    uint64_t id;        /* the suspected member */
    uint64_t start;     /* when the suspicion began */
    uint64_t deadline;  /* when it turns into DEAD */
    uint64_t suspecter; /* who suspected first */
    uint64_t bcast_by;  /* the suspecter our broadcast names: the first one, or the latest
                           confirmation (Lifeguard §5: confirmations are gossiped as
                           suspicions of their own) */
    uint64_t conf[UT__GOSSIP_MAX_CONF];
    uint8_t nconf;
    bool probed; /* probed by us since the suspicion began */
    /* The last pings before the verdict (final_pings): the latest one's
     * sequence number and time, and whether it was answered. */
    bool final_acked;
    uint64_t final_seq, final_at;
} ut__gossip_susp_t;

/* At most this many last pings (final_pings) per probe period. */
#define UT__GOSSIP_FINALS 4u

typedef struct ut__gossip_relay {
    uint64_t origin, seq, target, deadline;
    bool used;
    bool tell; /* the request carried a stale claim about the target: the
                  forwarded ack carries the target's state first */
} ut__gossip_relay_t;

typedef struct ut__gossip_evvec {
    ut_gossip_event_t *ev;
    size_t n, cap;
} ut__gossip_evvec_t;

typedef struct ut__gossip_pool {
    ut_entry_t *e;
    size_t n, cap;
} ut__gossip_pool_t;

struct ut_gossip {
    ut__handle_t base;
    uint64_t id;
    uint64_t rng;
    uint32_t interval, timeout, k, rt_mult, susp_mult, susp_max_mult, aw_max, max_dgram, max_meta,
        pp_interval, gossip_interval, fanout;
    bool lifeguard;

    ut__gossip_member_t *m;
    size_t n, cap;
    size_t n_live;     /* ALIVE or SUSPECTED, self included */
    size_t meta_bytes; /* metadata of every member, for sync reservations */
    uint64_t *order;
    size_t order_pos;
    uint64_t *bq;
    uint32_t *bqh; /* where each queued member was in h->m when looked at last */
    size_t nbq, bq_cursor;
    ut__gossip_susp_t *susp; /* in the order suspicions began, but for swap-removals */
    size_t nsusp, susp_cap;
    uint64_t susp_due; /* no suspicion expires before this (a lower bound) */
    size_t hint;       /* apply_update: where the next update's member probably is */
    uint64_t *gone;    /* remote members DEAD or LEAVING, for reaping */
    size_t ngone;
    uint64_t reap_after; /* 0 = never */
    uint64_t reap_due;   /* no member is reaped before this (a lower bound) */
    uint64_t relay_due;  /* no relayed probe times out before this (a lower bound) */
    uint64_t *seeds;
    size_t nseeds, seed_pos;

    ut_node_status_t local;
    bool left_done;
    unsigned lhm; /* Lifeguard local health multiplier */

    uint64_t now;
    bool started;
    uint64_t next_probe, next_join, next_pp, pp_round, next_gossip;
    bool probe_active, probe_acked, ind_sent;
    bool probe_buddy; /* the probe is the extra one of a suspect (next_target) */
    /* Members whose state the ack of the current step carries first: the
     * subjects of stale or refuted claims the step received (see
     * push_dgram). Reset at every step. */
    uint64_t answer[4];
    unsigned nanswer;
    uint64_t probe_target, probe_seq, probe_sent;
    uint32_t nacks_expected, nacks_got;
    uint64_t seq;
    ut__gossip_relay_t relays[UT__GOSSIP_RELAYS];

    unsigned char **metas; /* step: pre-allocated metadata copies */
    size_t metas_cap;

    ut__tracer_t tracer;
    ut__outbox_t ob;
    ut__readyseq_t rs;
    ut__gossip_evvec_t ev[2];
    ut__gossip_pool_t pool[2];
    int live; /* index of the live ev / pool */
};

/* ---- small helpers ---------------------------------------------------- */

static size_t find_idx(const ut_gossip_t *h, uint64_t id, bool *found)
{
    size_t lo = 0, hi = h->n;
    /* One interpolation probe first: where id would be if the ids were
     * evenly spread between the first and the last (exact for dense ids
     * such as 1..N, where it saves the ~10 steps of a binary search over
     * 1,000 members on every message; otherwise it only narrows the
     * range). Only when the products fit in 64 bits. */
    if (hi > 2) {
        uint64_t first = h->m[0].id, last = h->m[hi - 1].id;
        if (id > first && id < last && last - first <= UINT32_MAX && hi - 1 <= UINT32_MAX) {
            size_t g = (size_t)((id - first) * (uint64_t)(hi - 1) / (last - first));
            if (h->m[g].id == id) {
                *found = true;
                return g;
            }
            if (h->m[g].id < id)
                lo = g + 1;
            else
                hi = g;
        }
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->m[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < h->n && h->m[lo].id == id;
    return lo;
}

/* find_idx, trying h->hint first: the updates of a full list come in id
 * order, so each is where the previous one ended (a merge instead of a
 * binary search per update). */
static size_t find_idx_hint(const ut_gossip_t *h, uint64_t id, bool *found)
{
    size_t i = h->hint;
    if (i <= h->n && (i == h->n || h->m[i].id >= id) && (i == 0 || h->m[i - 1].id < id)) {
        *found = i < h->n && h->m[i].id == id;
        return i;
    }
    return find_idx(h, id, found);
}

static ut__gossip_member_t *find(const ut_gossip_t *h, uint64_t id)
{
    bool found;
    size_t i = find_idx(h, id, &found);
    return found ? &h->m[i] : NULL;
}

static ut__gossip_member_t *self_member(const ut_gossip_t *h)
{
    return find(h, h->id);
}

static bool is_live(uint8_t st)
{
    return st == UT_NODE_ALIVE || st == UT_NODE_SUSPECTED;
}

/* The suspicion record of a SUSPECTED member. */
static ut__gossip_susp_t *susp_of(const ut_gossip_t *h, const ut__gossip_member_t *m)
{
    return &h->susp[m->si];
}

/* A suspicion deadline was set or moved earlier: the tick fast path must
 * not skip it. */
static void susp_due_at(ut_gossip_t *h, uint64_t deadline)
{
    if (deadline < h->susp_due)
        h->susp_due = deadline;
}

/* ⌈log10(N+1)⌉ for N ≥ 1: the number of decimal digits. */
static uint32_t digits(size_t n)
{
    uint32_t d = 1;
    while (n >= 10) {
        n /= 10;
        d++;
    }
    return d;
}

/* SWIM §4.1 / §5: each update is piggybacked λ·log(N) times, which spreads
 * it to every member with high probability (infection-style). */
static uint32_t retransmit_limit(const ut_gossip_t *h)
{
    return h->rt_mult * digits(h->n_live);
}

/* log2(1 + i/16)·256, rounded. */
static const uint16_t ut__gossip_log2frac[16] = {0,   22,  44,  63,  82,  100, 118, 134,
                                                 150, 165, 179, 193, 207, 220, 232, 244};

/* log10(n)·256 without floating point: log2 from the bit length and the
 * next four bits (error < 0.02), times log10(2) ≈ 77/256. */
static uint32_t log10_x256(size_t n)
{
    if (n <= 1)
        return 0;
    uint32_t e = 0;
    while (((uint64_t)n >> e) > 1u)
        e++;
    uint32_t idx = e >= 4 ? (uint32_t)(((uint64_t)n >> (e - 4)) & 15u)
                          : (uint32_t)(((uint64_t)n << (4 - e)) & 15u);
    return (uint32_t)(((uint64_t)e * 256u + ut__gossip_log2frac[idx]) * 77u / 256u);
}

/* Lifeguard §5 (dynamic suspicion): the minimum is α·max(1, log10 N)·T, as
 * in memberlist. (⌊log10 N⌋ was used before: at 32 members that made the
 * minimum 4 s instead of 6 s, and false "dead" declarations under loss and
 * stalls more likely.) */
static uint64_t susp_min(const ut_gossip_t *h)
{
    uint32_t l = log10_x256(h->n_live);
    if (l < 256)
        l = 256;
    return (uint64_t)h->susp_mult * l * h->interval / 256u;
}

/* log2(i)·256 for i = 1..9 (i = confirmations + 1 ≤ MAX_CONF + 1). */
static const uint32_t ut__gossip_log2x256[10] = {0, 0, 256, 406, 512, 594, 662, 719, 768, 811};

/* Lifeguard §5: confirmations that count, K = k (the indirect probes). */
static unsigned conf_max(const ut_gossip_t *h)
{
    return h->k < UT__GOSSIP_MAX_CONF ? h->k : UT__GOSSIP_MAX_CONF;
}

/* Lifeguard §5: timeout(C) = max(Min, Max − (Max − Min)·log(C+1)/log(K+1)),
 * so each independent confirmation shortens the suspicion. Without Lifeguard
 * the timeout is SWIM's fixed one (SWIM §4.2). */
static uint64_t susp_timeout(const ut_gossip_t *h, unsigned nconf)
{
    uint64_t mn = susp_min(h);
    if (!h->lifeguard)
        return mn;
    uint64_t mx = mn * h->susp_max_mult;
    unsigned k = h->k < UT__GOSSIP_MAX_CONF ? h->k : UT__GOSSIP_MAX_CONF;
    if (k == 0)
        return mn;
    if (nconf > k)
        nconf = k;
    uint64_t frac = (uint64_t)ut__gossip_log2x256[nconf + 1] * 1024u / ut__gossip_log2x256[k + 1];
    uint64_t t = mx - (mx - mn) * frac / 1024u;
    return t < mn ? mn : t;
}

/* The push-pull period: the configured one up to 32 live members, then
 * one more interval per doubling beyond 32 (memberlist's pushPullScale:
 * 6× at 1,000 members, 10× at 10,000). A full exchange carries the whole
 * list, so at a fixed period its cost per member grows with N, and with
 * every member starting one per period, the group's with N²: at 10,000
 * members and 30 s, 6.7 million list entries encoded, sent, decoded and
 * merged per second of the group's life. Anti-entropy is the backstop of
 * dissemination, not its path; the rejoin of healed partitions (a push-
 * pull with a dead member every other round) still happens N/period times
 * a second across the group (33 at 10,000 members). */
static uint64_t pp_period(const ut_gossip_t *h)
{
    uint64_t mult = 1;
    for (size_t c = 32; c < h->n_live && mult < 64; c *= 2)
        mult++;
    return (uint64_t)h->pp_interval * mult;
}

/* Lifeguard §4.1: probing slows and timeouts stretch by (LHM + 1). */
static uint64_t scaled(const ut_gossip_t *h, uint32_t ms)
{
    return (uint64_t)ms * (h->lifeguard ? h->lhm + 1u : 1u);
}

static void lhm_add(ut_gossip_t *h, int delta)
{
    if (!h->lifeguard)
        return;
    long v = (long)h->lhm + delta;
    if (v < 0)
        v = 0;
    if (v > (long)h->aw_max - 1)
        v = (long)h->aw_max - 1;
    h->lhm = (unsigned)v;
}

static const char *event_name(ut_gossip_event_kind_t kind);

static void push_event(ut_gossip_t *h, ut_gossip_event_kind_t kind, const ut__gossip_member_t *m)
{
    ut__trace(&h->tracer, kind == UT_GOSSIP_EVENT_DEAD ? UT_TRACE_WARN : UT_TRACE_INFO, "gossip",
              h->id, event_name(kind), NULL, m->id, m->inc);
    ut__gossip_evvec_t *v = &h->ev[h->live];
    if (v->n < v->cap) /* reserved beforehand; the check only guards */
        v->ev[v->n++] = (ut_gossip_event_t){kind, m->id, m->inc};
}

/* Queue a member's current state for dissemination (SWIM §4.1). */
static void enqueue(ut_gossip_t *h, ut__gossip_member_t *m)
{
    if (m->tx_left == 0) {
        h->bqh[h->nbq] = (uint32_t)(m - h->m);
        h->bq[h->nbq++] = m->id; /* capacity = member capacity */
    }
    m->tx_left = retransmit_limit(h);
}

static void bq_remove(ut_gossip_t *h, size_t i)
{
    h->nbq--;
    h->bq[i] = h->bq[h->nbq];
    h->bqh[i] = h->bqh[h->nbq];
}

/* The member of queue entry i: where it was when queued, unless the table
 * moved since (joins and reaps shift it), then by search. Every message
 * looks at each queued update: this saves a binary search each. */
static ut__gossip_member_t *find_queued(ut_gossip_t *h, size_t i)
{
    uint32_t at = h->bqh[i];
    if (at < h->n && h->m[at].id == h->bq[i])
        return &h->m[at];
    bool found;
    size_t idx = find_idx(h, h->bq[i], &found);
    if (!found)
        return NULL;
    h->bqh[i] = (uint32_t)idx;
    return &h->m[idx];
}

static void remove_id(uint64_t *arr, size_t *n, uint64_t id)
{
    for (size_t i = 0; i < *n; i++) {
        if (arr[i] == id) {
            arr[i] = arr[--*n];
            return;
        }
    }
}

static void set_status(ut_gossip_t *h, ut__gossip_member_t *m, uint8_t st)
{
    if (is_live(m->status) && !is_live(st))
        h->n_live--;
    else if (!is_live(m->status) && is_live(st))
        h->n_live++;
    if (m->status == UT_NODE_SUSPECTED && st != UT_NODE_SUSPECTED) {
        /* swap-remove, as the id list it replaces did (the order matters:
         * expiries and the suspect probed next go by it) */
        size_t at = m->si;
        h->susp[at] = h->susp[--h->nsusp];
        if (at < h->nsusp)
            find(h, h->susp[at].id)->si = (uint32_t)at;
    } else if (m->status != UT_NODE_SUSPECTED && st == UT_NODE_SUSPECTED) {
        /* capacity reserved beforehand (reserve_susp) */
        ut__gossip_susp_t *r = &h->susp[h->nsusp];
        memset(r, 0, sizeof *r);
        r->id = m->id;
        m->si = (uint32_t)h->nsusp++;
    }
    if (m->id != h->id) {
        bool was_gone = !is_live(m->status) && m->gone_since != UINT64_MAX;
        if (was_gone && is_live(st)) {
            remove_id(h->gone, &h->ngone, m->id);
        } else if (!is_live(st)) {
            if (!was_gone)
                h->gone[h->ngone++] = m->id; /* capacity = member capacity */
            m->gone_since = h->now;
            if (h->reap_after > 0 && h->now + h->reap_after < h->reap_due)
                h->reap_due = h->now + h->reap_after;
        }
    }
    m->status = st;
}

/* ---- reservation ------------------------------------------------------ */

/* Grows *arr to exactly cap elements of size sz. */
static int grow_exact(void **arr, size_t cap, size_t sz)
{
    if (cap > SIZE_MAX / sz)
        return UT_ENOMEM;
    void *p = ut__realloc(*arr, cap * sz);
    if (p == NULL)
        return UT_ENOMEM;
    *arr = p;
    return UT_OK;
}

/* Room for extra suspicion records. */
static int reserve_susp(ut_gossip_t *h, size_t extra)
{
    if (extra > SIZE_MAX / 4 - h->nsusp)
        return UT_ENOMEM;
    size_t need = h->nsusp + extra;
    if (need <= h->susp_cap)
        return UT_OK;
    size_t cap = h->susp_cap < 4 ? 4 : h->susp_cap * 2;
    if (cap < need)
        cap = need;
    if (grow_exact((void **)&h->susp, cap, sizeof(ut__gossip_susp_t)) != UT_OK)
        return UT_ENOMEM;
    h->susp_cap = cap;
    return UT_OK;
}

/* Room for extra members (and their ids in every id list, and as many
 * suspicion records: each may turn suspected in the same call). */
static int reserve_members(ut_gossip_t *h, size_t extra)
{
    if (extra > SIZE_MAX / 4 - h->n)
        return UT_ENOMEM;
    if (reserve_susp(h, extra) != UT_OK)
        return UT_ENOMEM;
    size_t need = h->n + extra;
    if (need <= h->cap)
        return UT_OK;
    /* Doubling, or exactly what is needed when that is more (a full list
     * received at once: 10,000 members need 10,001 entries, not 16,384). */
    size_t cap = h->cap < 4 ? 8 : h->cap * 2;
    if (cap < need)
        cap = need;
    /* Each array is grown to exactly cap; a failure after some succeeded
     * leaves bigger arrays and the old h->cap, which is harmless. */
    if (grow_exact((void **)&h->order, cap, sizeof(uint64_t)) != UT_OK ||
        grow_exact((void **)&h->bq, cap, sizeof(uint64_t)) != UT_OK ||
        grow_exact((void **)&h->bqh, cap, sizeof(uint32_t)) != UT_OK ||
        grow_exact((void **)&h->gone, cap, sizeof(uint64_t)) != UT_OK ||
        grow_exact((void **)&h->m, cap, sizeof(ut__gossip_member_t)) != UT_OK)
        return UT_ENOMEM;
    h->cap = cap;
    return UT_OK;
}

static int reserve_events(ut_gossip_t *h, size_t extra)
{
    ut__gossip_evvec_t *v = &h->ev[h->live];
    if (extra > SIZE_MAX / 2 - v->n)
        return UT_ENOMEM;
    void *p = v->ev;
    if (ut__grow(&p, &v->cap, v->n + extra, sizeof(ut_gossip_event_t)) != UT_OK)
        return UT_ENOMEM;
    v->ev = p;
    return UT_OK;
}

static int reserve_pool(ut_gossip_t *h, size_t extra)
{
    ut__gossip_pool_t *p = &h->pool[h->live];
    if (extra > SIZE_MAX / 2 - p->n)
        return UT_ENOMEM;
    void *q = p->e;
    if (ut__grow(&q, &p->cap, p->n + extra, sizeof(ut_entry_t)) != UT_OK)
        return UT_ENOMEM;
    p->e = q;
    return UT_OK;
}

/* Datagrams a tick may send: k ping-reqs, a ping, the nacks of every
 * relay, the pushes, the last pings (final_pings). */
static size_t tick_dgrams(const ut_gossip_t *h)
{
    return h->k + 1u + UT__GOSSIP_RELAYS + h->fanout + UT__GOSSIP_FINALS;
}

/* Updates one datagram can carry, and the bytes they may need. */
static size_t dgram_updates(const ut_gossip_t *h)
{
    return (h->max_dgram - UT__GOSSIP_FRAME_BASE) / UT__GOSSIP_UPDATE_HDR + 1u;
}

static size_t update_size(const ut__gossip_member_t *m);

/* The datagrams a full-state message takes (push_sync's packing). */
static size_t sync_parts(const ut_gossip_t *h)
{
    size_t parts = 1, used = 0, budget = h->max_dgram - UT__GOSSIP_FRAME_BASE;
    for (size_t i = 0; i < h->n; i++) {
        size_t sz = update_size(&h->m[i]);
        if (used + sz > budget && used > 0) {
            parts++;
            used = 0;
        }
        used += sz;
    }
    return parts;
}

/* Room for n datagrams (with piggyback) and, when sync, one full-state
 * message (in parts; extra_ups members that the current step may add could
 * each need a part of their own). */
static int reserve_out(ut_gossip_t *h, size_t n, bool sync, size_t extra_ups, size_t extra_bytes)
{
    size_t ups = n * dgram_updates(h) + extra_ups;
    size_t bytes = n * (size_t)h->max_dgram + extra_bytes;
    size_t parts = 0;
    if (sync) {
        ups += h->n;
        bytes += h->meta_bytes + 8u * h->nsusp; /* metadata, and each suspecter's id */
        parts = sync_parts(h) + extra_ups;
    }
    if (ut__outbox_reserve(&h->ob, n + parts, bytes) != UT_OK)
        return UT_ENOMEM;
    return reserve_pool(h, ups);
}

/* ---- building messages ------------------------------------------------ */

/* The wire form of a member's state; bytes go to the outbox. */
static void member_update(ut_gossip_t *h, const ut__gossip_member_t *m, ut_entry_t *e)
{
    e->index = m->id;
    e->term = m->inc;
    e->type = m->status;
    e->len = 0;
    e->data = NULL;
    if (m->status == UT_NODE_ALIVE && m->meta_len > 0) {
        e->len = m->meta_len;
        e->data = ut__outbox_copy(&h->ob, m->meta, m->meta_len);
    } else if (m->status == UT_NODE_SUSPECTED) {
        unsigned char b[8];
        for (int i = 0; i < 8; i++)
            b[i] = (unsigned char)(susp_of(h, m)->bcast_by >> (8 * i));
        e->len = 8;
        e->data = ut__outbox_copy(&h->ob, b, 8);
    }
}

static size_t update_size(const ut__gossip_member_t *m)
{
    if (m->status == UT_NODE_ALIVE)
        return UT__GOSSIP_UPDATE_HDR + m->meta_len;
    if (m->status == UT_NODE_SUSPECTED)
        return UT__GOSSIP_UPDATE_HDR + 8u;
    return UT__GOSSIP_UPDATE_HDR;
}

/* Pool offsets stand in for the array pointer until ready() fixes them up
 * (the pool may move while it grows). */
static void set_updates(ut_msg_t *msg, size_t off, size_t n)
{
    msg->body.gossip.n_updates = n;
    msg->body.gossip.updates = n > 0 ? (const ut_entry_t *)(uintptr_t)(off + 1u) : NULL;
}

/* Push a datagram with piggybacked updates (SWIM §4.1: dissemination rides
 * on ping, ping-req and ack). The buddy system (Lifeguard §4.3) puts the
 * suspicion of the receiver first, so a suspected member learns it at once. */
static ut_msg_t *push_dgram(ut_gossip_t *h, ut_msg_type_t type, uint64_t to, uint64_t seq,
                            uint64_t target, uint64_t origin)
{
    ut_msg_t *msg = ut__outbox_push(&h->ob, type, h->id, to);
    msg->body.gossip.seq = seq;
    msg->body.gossip.target = target;
    msg->body.gossip.origin = origin;
    ut__gossip_pool_t *p = &h->pool[h->live];
    size_t off = p->n, cnt = 0, max = dgram_updates(h) - 1u;
    size_t budget = h->max_dgram - UT__GOSSIP_FRAME_BASE;
    /* Lifeguard §4.3 (buddy system): a message to a member we suspect
     * carries that suspicion first; one to a member we hold dead carries
     * the verdict, so that a buried member that still talks to us (its
     * probes, our acks) hears it at once and refutes (found by utsim's
     * gossip scenario: the verdict's few retransmissions had all gone to
     * others, and the member we acked heard of it seconds later). */
    ut__gossip_member_t *dest = h->lifeguard ? find(h, to) : NULL;
    if (dest != NULL && (dest->status == UT_NODE_SUSPECTED || dest->status == UT_NODE_DEAD) &&
        update_size(dest) <= budget) {
        member_update(h, dest, &p->e[p->n++]);
        budget -= update_size(dest);
        cnt++;
    } else {
        dest = NULL; /* not carried */
    }
    /* Lifeguard §4.3 carried to indirect probes: a ping-req for a member
     * we suspect carries the suspicion, so that a helper that holds its
     * refutation can tell us with the forwarded ack (relay tell). */
    if (h->lifeguard && type == UT_MSG_GOSSIP_PING_REQ && cnt < max) {
        ut__gossip_member_t *t = find(h, target);
        if (t != NULL && t->status == UT_NODE_SUSPECTED && update_size(t) <= budget) {
            member_update(h, t, &p->e[p->n++]);
            budget -= update_size(t);
            cnt++;
        }
    }
    /* An ack answers the doubts its step received first (SWIM §4.2: the
     * newer alive overrides the suspicion): our own refutation when the
     * ping said we were suspected or dead, the newer alive of a member the
     * sender still suspects. Queued, they would wait behind up to a full
     * datagram of other updates; a suspecter that hears them only from the
     * epidemic can miss every copy (seen at 1,000 members with 5 % loss,
     * docs/BENCHMARKS.md G1). */
    for (unsigned a = 0; type == UT_MSG_GOSSIP_ACK && a < h->nanswer && cnt < max; a++) {
        ut__gossip_member_t *am = find(h, h->answer[a]);
        if (am == NULL || am == dest || update_size(am) > budget)
            continue;
        member_update(h, am, &p->e[p->n++]);
        budget -= update_size(am);
        cnt++;
    }
    size_t nfirst = cnt; /* the updates carried ahead of the queue */
    /* Each queued update is looked at once per message (a removal swaps
     * the last one in, which the remaining count still covers). */
    size_t remaining = h->nbq;
    while (remaining > 0 && h->nbq > 0 && cnt < max) {
        if (h->bq_cursor >= h->nbq)
            h->bq_cursor = 0;
        ut__gossip_member_t *m = find_queued(h, h->bq_cursor);
        remaining--;
        if (m == NULL || m->tx_left == 0) { /* cannot happen; heal the queue */
            bq_remove(h, h->bq_cursor);
            continue;
        }
        size_t sz = update_size(m);
        bool carried = m->id == to && cnt > 0 && p->e[off].index == m->id;
        for (size_t a = off; a < off + nfirst && !carried; a++)
            carried = p->e[a].index == m->id; /* an answer, above */
        if (sz > budget || carried) {
            h->bq_cursor++;
            continue;
        }
        member_update(h, m, &p->e[p->n++]);
        budget -= sz;
        cnt++;
        if (--m->tx_left == 0) {
            bq_remove(h, h->bq_cursor);
            if (m->id == h->id && h->local == UT_NODE_LEAVING)
                h->left_done = true;
        } else {
            h->bq_cursor++;
        }
    }
    set_updates(msg, off, cnt);
    return msg;
}

/* Push-pull: the whole member list (memberlist's state exchange, which it
 * sends over TCP), cut into parts that each fit max_datagram, numbered in
 * seq from 0; a receiver answers part 0 only, so one exchange gets one
 * answer. (It was one message of any size: at 1,000 members with 1 KiB of
 * metadata each, a megabyte no datagram transport carries.) */
static void push_sync(ut_gossip_t *h, ut_msg_type_t type, uint64_t to)
{
    size_t budget = h->max_dgram - UT__GOSSIP_FRAME_BASE, used = 0, cnt = 0;
    ut_msg_t *msg = ut__outbox_push(&h->ob, type, h->id, to);
    ut__gossip_pool_t *p = &h->pool[h->live];
    size_t off = p->n;
    for (size_t i = 0; i < h->n; i++) {
        size_t sz = update_size(&h->m[i]);
        if (used + sz > budget && cnt > 0) {
            set_updates(msg, off, cnt);
            uint64_t part = msg->body.gossip.seq + 1u;
            msg = ut__outbox_push(&h->ob, type, h->id, to);
            msg->body.gossip.seq = part;
            off = p->n;
            cnt = 0;
            used = 0;
        }
        member_update(h, &h->m[i], &p->e[p->n++]);
        used += sz;
        cnt++;
    }
    set_updates(msg, off, cnt);
}

/* ---- applying updates (SWIM §4.2 rules, with memberlist's handling of
 * rejoin: a higher incarnation revives a dead or left member) ----------- */

/* The ack of this step carries id's state first (push_dgram). */
static void answer(ut_gossip_t *h, uint64_t id)
{
    for (unsigned i = 0; i < h->nanswer; i++)
        if (h->answer[i] == id)
            return;
    if (h->nanswer < sizeof h->answer / sizeof h->answer[0])
        h->answer[h->nanswer++] = id;
}

static void refute(ut_gossip_t *h, uint64_t inc)
{
    ut__gossip_member_t *s = self_member(h);
#ifdef UT__FAULT_GOSSIP_NO_REFUTE
    /* Deliberately broken build (tests only): suspicions are never refuted. */
    (void)s;
    (void)inc;
    return;
#endif
    /* SWIM §4.2: only the member itself increments its incarnation; doing
     * so overrides every suspicion at the lower one. */
    s->inc = (inc > s->inc ? inc : s->inc) + 1u;
    ut__trace(&h->tracer, UT_TRACE_INFO, "gossip", h->id, "refute", NULL, s->inc, 0);
    h->left_done = false;
#ifdef UT__FAULT_GOSSIP_SILENT_REFUTE
    /* Deliberately broken build (tests only): the new incarnation is never
     * disseminated, nor sent again for a stale claim (apply_self): only
     * push-pull carries it. */
    return;
#endif
    enqueue(h, s);
}

static void apply_self(ut_gossip_t *h, const ut_entry_t *e)
{
    ut__gossip_member_t *s = self_member(h);
    if (e->term < s->inc) {
        /* A stale suspicion still in circulation: its holder missed our
         * refutation, so send it again (no new incarnation needed). This
         * is what lets the buddy system (Lifeguard §4.3) reach a member that
         * suspects us: its ping carries the suspicion, our ack the answer. */
#ifndef UT__FAULT_GOSSIP_SILENT_REFUTE
        if (e->type == UT_NODE_SUSPECTED || e->type == UT_NODE_DEAD) {
            if (s->tx_left == 0)
                enqueue(h, s);
            answer(h, h->id);
        }
#endif
        return;
    }
    switch (e->type) {
    case UT_NODE_ALIVE:
        if (e->term > s->inc)
            refute(h, e->term); /* someone holds a newer incarnation of us */
        break;
    case UT_NODE_SUSPECTED:
    case UT_NODE_DEAD:
        /* SWIM §4.2 refutation; Lifeguard §4.1: being suspected is a sign
         * that we are slow, so local health worsens. A leaving member
         * re-asserts that it left instead. */
        if (h->local != UT_NODE_LEAVING)
            lhm_add(h, 1);
        refute(h, e->term);
#ifndef UT__FAULT_GOSSIP_SILENT_REFUTE
        answer(h, h->id);
#endif
        break;
    case UT_NODE_LEAVING:
        if (h->local != UT_NODE_LEAVING)
            refute(h, e->term); /* a forged "left": we are here */
        break;
    default:
        break;
    }
}

/* A suspicion or confirm older than the alive we hold is still in
 * circulation: its holders missed the refutation, so it goes out again
 * (as apply_self does for claims about ourselves). Without this, a
 * refutation that the retransmission limit ended before it reached every
 * holder of the suspicion lets the suspicion expire there: a false "dead"
 * (seen under 5 % loss with stalled members). */
static void stale_claim(ut_gossip_t *h, ut__gossip_member_t *m)
{
    if (m->status != UT_NODE_ALIVE)
        return;
    if (m->tx_left == 0)
        enqueue(h, m);
    answer(h, m->id);
}

/* Lifeguard §5: an independent suspicion of the same incarnation is a
 * confirmation that shortens the timeout; it is gossiped on, naming its
 * confirmer, so that the others count it too. */
static void confirm(ut_gossip_t *h, ut__gossip_member_t *m, uint64_t by)
{
    ut__gossip_susp_t *r = susp_of(h, m);
    if (!h->lifeguard || by == r->suspecter)
        return;
    for (unsigned i = 0; i < r->nconf; i++)
        if (r->conf[i] == by)
            return;
    /* Past k confirmations the timeout is at its minimum: more change
     * nothing and are not gossiped again (memberlist's Confirm does the
     * same), which keeps a crash's confirmation waves to k. */
    if (r->nconf >= conf_max(h))
        return;
    r->conf[r->nconf++] = by;
    r->deadline = r->start + susp_timeout(h, r->nconf);
    susp_due_at(h, r->deadline);
    r->bcast_by = by;
    ut__trace(&h->tracer, UT_TRACE_DEBUG, "gossip", h->id, "confirm", NULL, m->id, by);
    enqueue(h, m);
}

static bool meta_equal(const ut__gossip_member_t *m, const ut_entry_t *e)
{
    return m->meta_len == e->len && (e->len == 0 || memcmp(m->meta, e->data, e->len) == 0);
}

/* Returns true when it took ownership of meta. */
static bool apply_update(ut_gossip_t *h, const ut_entry_t *e, unsigned char *meta)
{
    if (e->index == h->id) {
        apply_self(h, e);
        return false;
    }
    bool found;
    size_t idx = find_idx_hint(h, e->index, &found);
    h->hint = idx + 1u; /* after it, whether found or inserted at idx */
    if (!found) {
        if (e->type != UT_NODE_ALIVE)
            return false; /* nothing to suspect or bury: we never knew it */
        memmove(&h->m[idx + 1], &h->m[idx], (h->n - idx) * sizeof h->m[0]);
        h->n++;
        ut__gossip_member_t *m = &h->m[idx];
        memset(m, 0, sizeof *m);
        m->id = e->index;
        m->inc = e->term;
        m->status = UT_NODE_DEAD;   /* set_status counts it live */
        m->gone_since = UINT64_MAX; /* ... and not as one that was gone */
        set_status(h, m, UT_NODE_ALIVE);
        m->meta = meta;
        m->meta_len = e->len;
        h->meta_bytes += e->len;
        /* SWIM §4.3: a new member goes to a uniformly random place in the
         * probe order. */
        size_t nord = h->n - 1u, at = (size_t)ut__rand_below(&h->rng, nord + 1u);
        h->order[nord] = h->order[at]; /* O(1): the displaced id goes last */
        h->order[at] = m->id;
        push_event(h, UT_GOSSIP_EVENT_JOINED, m);
        enqueue(h, m);
        return meta != NULL;
    }
    ut__gossip_member_t *m = &h->m[idx];
    switch (e->type) {
    case UT_NODE_ALIVE: {
        /* SWIM §4.2: Alive(i) overrides Suspect(j) and Alive(j) for i > j. */
        if (e->term <= m->inc)
            return false;
        uint8_t prev = m->status;
        bool changed = !meta_equal(m, e);
        m->inc = e->term;
        set_status(h, m, UT_NODE_ALIVE);
        bool took = false;
        if (changed) {
            h->meta_bytes = h->meta_bytes - m->meta_len + e->len;
            ut__free(m->meta);
            m->meta = meta;
            m->meta_len = e->len;
            took = meta != NULL;
        }
        if (prev == UT_NODE_DEAD || prev == UT_NODE_LEAVING)
            push_event(h, UT_GOSSIP_EVENT_JOINED, m);
        else if (prev == UT_NODE_SUSPECTED)
            push_event(h, UT_GOSSIP_EVENT_ALIVE, m);
        if (changed && prev != UT_NODE_DEAD && prev != UT_NODE_LEAVING)
            push_event(h, UT_GOSSIP_EVENT_UPDATED, m);
        enqueue(h, m);
        return took;
    }
    case UT_NODE_SUSPECTED: {
        if (is_live(m->status) && e->term < m->inc) {
            stale_claim(h, m);
            return false;
        }
        if (!is_live(m->status) || e->term < m->inc)
            return false;
        uint64_t by = 0;
        for (int i = 0; i < 8; i++)
            by |= (uint64_t)((const unsigned char *)e->data)[i] << (8 * i);
        if (m->status == UT_NODE_ALIVE || e->term > m->inc) {
            /* SWIM §4.2: Suspect(i) overrides Alive(j) for i ≥ j and
             * Suspect(j) for i > j. */
            bool was_alive = m->status == UT_NODE_ALIVE;
            m->inc = e->term;
            if (was_alive)
                set_status(h, m, UT_NODE_SUSPECTED);
            ut__gossip_susp_t *r = susp_of(h, m);
            r->suspecter = by;
            r->bcast_by = by;
            r->nconf = 0;
            r->final_at = 0;
            r->final_acked = false;
            if (was_alive) {
                r->start = h->now;
                push_event(h, UT_GOSSIP_EVENT_SUSPECTED, m);
            }
            r->deadline = r->start + susp_timeout(h, 0);
            susp_due_at(h, r->deadline);
            enqueue(h, m);
            return false;
        }
        if (by != h->id)
            confirm(h, m, by);
        return false;
    }
    case UT_NODE_DEAD:
        /* SWIM §4.2: Confirm overrides everything (at the same or a newer
         * incarnation; an older one is stale). */
        if (is_live(m->status) && e->term < m->inc) {
            stale_claim(h, m);
            return false;
        }
        if (!is_live(m->status) || e->term < m->inc)
            return false;
        m->inc = e->term;
        set_status(h, m, UT_NODE_DEAD);
        push_event(h, UT_GOSSIP_EVENT_DEAD, m);
        enqueue(h, m);
        return false;
    case UT_NODE_LEAVING:
        /* A graceful leave is a confirm the member sent about itself; it is
         * kept apart from dead so callers can tell the two. */
        if (m->status == UT_NODE_LEAVING || e->term < m->inc)
            return false;
        m->inc = e->term;
        set_status(h, m, UT_NODE_LEAVING);
        push_event(h, UT_GOSSIP_EVENT_LEFT, m);
        enqueue(h, m);
        return false;
    default:
        return false;
    }
}

/* ---- public API ------------------------------------------------------- */

int ut_gossip_config_init(ut_gossip_config_t *cfg, unsigned version)
{
    if (cfg == NULL)
        return UT_EINVAL;
    if (version < 1 || version > UT_GOSSIP_CONFIG_VERSION)
        return UT_EVERSION;
    memset(cfg, 0, sizeof *cfg);
    cfg->version = version;
    cfg->probe_interval_ms = 1000;
    cfg->probe_timeout_ms = 500;
    cfg->indirect_probes = 3;
    cfg->retransmit_mult = 4;
    cfg->suspicion_mult = 4;
    cfg->suspicion_max_mult = 6;
    cfg->awareness_max = 8;
    cfg->max_datagram = 1400;
    cfg->max_meta = 1024;
    cfg->push_pull_interval_ms = 30000;
    cfg->lifeguard = true;
    cfg->gossip_interval_ms = 200;
    cfg->gossip_fanout = 3;
    if (version >= 2)
        cfg->reap_after_ms = 3600000u;
    return UT_OK;
}

static int check_config(const ut_gossip_config_t *c)
{
    if (c->version < 1 || c->version > UT_GOSSIP_CONFIG_VERSION)
        return UT_EVERSION;
    if (c->id == 0 || (c->n_seeds > 0 && c->seeds == NULL) || c->probe_interval_ms == 0 ||
        c->probe_timeout_ms == 0 || c->probe_timeout_ms >= c->probe_interval_ms ||
        c->retransmit_mult == 0 || c->suspicion_mult == 0 || c->suspicion_max_mult == 0 ||
        c->awareness_max == 0 || c->awareness_max > 1000 || c->meta_len > c->max_meta ||
        (c->meta_len > 0 && c->meta == NULL) || c->max_meta > UINT32_MAX / 2 ||
        c->indirect_probes > 64 || c->gossip_fanout > 64)
        return UT_EINVAL;
    /* One update with full metadata, or a suspicion (8 bytes), must fit a
     * datagram. */
    if ((uint64_t)c->max_datagram < (uint64_t)UT__GOSSIP_FRAME_BASE + UT__GOSSIP_UPDATE_HDR +
                                        (c->max_meta > 8 ? c->max_meta : 8))
        return UT_EINVAL;
    for (size_t i = 0; i < c->n_seeds; i++)
        if (c->seeds[i] == 0 || c->seeds[i] == c->id)
            return UT_EINVAL;
    return UT_OK;
}

int ut_gossip_new(ut_gossip_t **out, const ut_gossip_config_t *cfg)
{
    if (out == NULL || cfg == NULL)
        return UT_EINVAL;
    int rc = check_config(cfg);
    if (rc != UT_OK)
        return rc;
    ut_gossip_t *h = ut__calloc(1, sizeof *h);
    if (h == NULL)
        return UT_ENOMEM;
    ut__handle_init(&h->base, UT__GOSSIP_MAGIC);
    ut__outbox_init(&h->ob);
    h->id = cfg->id;
    h->rng = ut__rand_seed(cfg->seed, cfg->id);
    h->interval = cfg->probe_interval_ms;
    h->timeout = cfg->probe_timeout_ms;
    h->k = cfg->indirect_probes;
    h->rt_mult = cfg->retransmit_mult;
    h->susp_mult = cfg->suspicion_mult;
    h->susp_max_mult = cfg->suspicion_max_mult;
    h->aw_max = cfg->awareness_max;
    h->max_dgram = cfg->max_datagram;
    h->max_meta = cfg->max_meta;
    h->pp_interval = cfg->push_pull_interval_ms;
    h->lifeguard = cfg->lifeguard;
    h->gossip_interval = cfg->gossip_interval_ms;
    h->fanout = cfg->gossip_fanout;
    h->reap_after = cfg->version >= 2 ? cfg->reap_after_ms : 0;
    if (cfg->version >= 2) {
        h->tracer.fn = cfg->trace;
        h->tracer.arg = cfg->trace_arg;
    }
    h->local = cfg->n_seeds > 0 ? UT_NODE_JOINING : UT_NODE_ALIVE;
    unsigned char *meta = NULL;
    if (cfg->meta_len > 0) {
        meta = ut__malloc(cfg->meta_len);
        if (meta == NULL)
            goto oom;
        memcpy(meta, cfg->meta, cfg->meta_len);
    }
    if (cfg->n_seeds > 0) {
        if (cfg->n_seeds > SIZE_MAX / sizeof(uint64_t))
            goto oom;
        h->seeds = ut__malloc(cfg->n_seeds * sizeof(uint64_t));
        if (h->seeds == NULL)
            goto oom;
        memcpy(h->seeds, cfg->seeds, cfg->n_seeds * sizeof(uint64_t));
        h->nseeds = cfg->n_seeds;
    }
    if (reserve_members(h, 1) != UT_OK)
        goto oom;
    /* Steady-state room up front (both halves of the double buffers): what
     * a tick reserves, and the events of one full datagram, so that probing
     * does not grow them a step at a time later. */
    for (int i = 0; i < 2; i++) {
        h->live = i;
        if (reserve_events(h, 2 * dgram_updates(h) + 1u) != UT_OK ||
            reserve_pool(h, (h->k + 1u + UT__GOSSIP_RELAYS + h->fanout) * dgram_updates(h)) !=
                UT_OK)
            goto oom;
    }
    h->live = 0;
    ut__gossip_member_t *s = &h->m[0];
    memset(s, 0, sizeof *s);
    s->id = h->id;
    s->status = UT_NODE_ALIVE;
    s->meta = meta;
    s->meta_len = (uint32_t)cfg->meta_len;
    h->meta_bytes = cfg->meta_len;
    h->n = 1;
    h->n_live = 1;
    h->order[0] = h->id;
    *out = h;
    return UT_OK;
oom:
    ut__free(meta);
    ut_gossip_free(h);
    return UT_ENOMEM;
}

void ut_gossip_free(ut_gossip_t *h)
{
    if (h == NULL || !ut__handle_valid(&h->base, UT__GOSSIP_MAGIC))
        return;
    for (size_t i = 0; i < h->n; i++)
        ut__free(h->m[i].meta);
    ut__free(h->m);
    ut__free(h->order);
    ut__free(h->bq);
    ut__free(h->bqh);
    ut__free(h->susp);
    ut__free(h->gone);
    ut__free(h->seeds);
    ut__free(h->metas);
    for (int i = 0; i < 2; i++) {
        ut__free(h->ev[i].ev);
        ut__free(h->pool[i].e);
    }
    ut__outbox_destroy(&h->ob);
    ut__handle_retire(&h->base);
    ut__free(h);
}

static bool gossip_type(ut_msg_type_t t)
{
    return t >= UT_MSG_GOSSIP_PING && t <= UT_MSG_GOSSIP_PUSH;
}

static int check_msg(ut_gossip_t *h, const ut_msg_t *m)
{
    if (!gossip_type(m->type))
        UT__FAIL(&h->base, UT_EINVAL, "step: not a gossip message (type %d)", (int)m->type);
    if (m->to != h->id)
        UT__FAIL(&h->base, UT_EINVAL, "step: addressed to %llu", (unsigned long long)m->to);
    if (m->from == 0 || m->from == h->id)
        UT__FAIL(&h->base, UT_EINVAL, "step: bad sender %llu", (unsigned long long)m->from);
    const ut_msg_gossip_t *g = &m->body.gossip;
    if (g->n_updates > 0 && g->updates == NULL)
        UT__FAIL(&h->base, UT_EINVAL, "step: %zu updates without an array", g->n_updates);
    for (size_t i = 0; i < g->n_updates; i++) {
        const ut_entry_t *e = &g->updates[i];
        if (e->index == 0)
            UT__FAIL(&h->base, UT_EINVAL, "step: update %zu names member 0", i);
        if (e->term >= UT__GOSSIP_INC_LIMIT)
            UT__FAIL(&h->base, UT_EINVAL, "step: update %zu: incarnation too far ahead", i);
        if (e->len > 0 && e->data == NULL)
            UT__FAIL(&h->base, UT_EINVAL, "step: update %zu: data missing", i);
        switch (e->type) {
        case UT_NODE_ALIVE:
            if (e->len > h->max_meta)
                UT__FAIL(&h->base, UT_EINVAL, "step: update %zu: metadata of %u bytes", i,
                         (unsigned)e->len);
            break;
        case UT_NODE_SUSPECTED:
            if (e->len != 8)
                UT__FAIL(&h->base, UT_EINVAL, "step: update %zu: suspicion without suspecter", i);
            break;
        case UT_NODE_DEAD:
        case UT_NODE_LEAVING:
            if (e->len != 0)
                UT__FAIL(&h->base, UT_EINVAL, "step: update %zu: data on a dead/left update", i);
            break;
        default:
            UT__FAIL(&h->base, UT_EINVAL, "step: update %zu: status %u", i, (unsigned)e->type);
        }
    }
    return UT_OK;
}

/* The join is acknowledged: announce ourselves (SWIM §4.1, "joined"
 * spreads like any other update). */
static void join_done(ut_gossip_t *h)
{
    ut__trace(&h->tracer, UT_TRACE_INFO, "gossip", h->id, "join-done", NULL, 0, 0);
    h->local = UT_NODE_ALIVE;
    enqueue(h, self_member(h));
}

static ut__gossip_relay_t *relay_find(ut_gossip_t *h, uint64_t origin, uint64_t seq,
                                      uint64_t target)
{
    for (unsigned i = 0; i < UT__GOSSIP_RELAYS; i++) {
        ut__gossip_relay_t *r = &h->relays[i];
        if (r->used && r->origin == origin && r->seq == seq && r->target == target)
            return r;
    }
    return NULL;
}

/* Whether update i may end up owning a copy of its metadata (apply_update
 * takes it for a new member, or a newer incarnation whose metadata
 * differs). Most updates a member receives are news it already has (each
 * is sent λ·log N times): they get no copy, so a probe or ack that carries
 * them allocates nothing. A member named twice in the message gets a copy
 * whenever the first test passes, since the earlier update may change
 * what the later one is compared with. */
static bool needs_copy(const ut_gossip_t *h, const ut_msg_gossip_t *g, size_t i)
{
    const ut_entry_t *e = &g->updates[i];
    if (e->type != UT_NODE_ALIVE || e->len == 0 || e->index == h->id)
        return false;
    const ut__gossip_member_t *m = find(h, e->index);
    if (m == NULL)
        return true;
    if (e->term <= m->inc)
        return false; /* incarnations only grow: it stays stale */
    if (!meta_equal(m, e))
        return true;
    for (size_t k = 0; k < g->n_updates; k++)
        if (k != i && g->updates[k].index == e->index)
            return true;
    return false;
}

int ut_gossip_step(ut_gossip_t *h, const ut_msg_t *m)
{
    if (h == NULL || !ut__handle_valid(&h->base, UT__GOSSIP_MAGIC))
        return UT_EINVAL;
    if (m == NULL)
        UT__FAIL(&h->base, UT_EINVAL, "step: NULL message");
    int rc = check_msg(h, m);
    if (rc != UT_OK) {
        ut__trace(&h->tracer, UT_TRACE_WARN, "gossip", h->id, "refused", "malformed message",
                  (uint64_t)m->type, m->from);
        return rc;
    }
    const ut_msg_gossip_t *g = &m->body.gossip;
    size_t nu = g->n_updates;
    bool sync = m->type == UT_MSG_GOSSIP_SYNC && m->body.gossip.seq == 0; /* answered */

    /* Reserve everything first: nothing below can fail. */
    /* A sync reply lists the members this message adds, too. */
    size_t extra_bytes = 0;
    for (size_t i = 0; sync && i < nu; i++)
        extra_bytes += g->updates[i].len; /* new metadata, or a suspecter's id (8) */
    if (reserve_members(h, nu) != UT_OK || reserve_events(h, 2 * nu + 1) != UT_OK ||
        reserve_out(h, 1, sync, sync ? nu : 0, extra_bytes) != UT_OK)
        goto oom;
    if (nu > h->metas_cap) {
        void *p = h->metas;
        if (ut__grow(&p, &h->metas_cap, nu, sizeof(unsigned char *)) != UT_OK)
            goto oom;
        h->metas = p;
    }
    size_t got = 0;
    for (; got < nu; got++) {
        const ut_entry_t *e = &g->updates[got];
        h->metas[got] = NULL;
        if (needs_copy(h, g, got)) {
            h->metas[got] = ut__malloc(e->len);
            if (h->metas[got] == NULL)
                break;
            memcpy(h->metas[got], e->data, e->len);
        }
    }
    if (got < nu) {
        for (size_t i = 0; i < got; i++)
            ut__free(h->metas[i]);
        goto oom;
    }

    h->nanswer = 0;
    for (size_t i = 0; i < nu; i++)
        if (!apply_update(h, &g->updates[i], h->metas[i]))
            ut__free(h->metas[i]);
    if (h->metas_cap > UT__GOSSIP_KEEP) { /* a full list's worth: not kept */
        void *q = ut__realloc(h->metas, UT__GOSSIP_KEEP * sizeof(unsigned char *));
        if (q != NULL) {
            h->metas = q;
            h->metas_cap = UT__GOSSIP_KEEP;
        }
    }

    uint64_t from = m->from;
    switch (m->type) {
    case UT_MSG_GOSSIP_PING:
        if (g->target != 0 && g->target != h->id)
            break; /* a probe meant for another member */
        /* SWIM §4: answer with an ack; a relayed ping (origin set) is
         * answered to the intermediary, which forwards it. */
        push_dgram(h, UT_MSG_GOSSIP_ACK, from, g->seq, h->id, g->origin);
        break;
    case UT_MSG_GOSSIP_PING_REQ: {
        /* SWIM §4: probe the target on the requester's behalf. */
        if (g->target == 0 || g->target == from)
            break;
        if (g->target == h->id) {
            push_dgram(h, UT_MSG_GOSSIP_ACK, from, g->seq, h->id, 0);
            break;
        }
        ut__gossip_relay_t *slot = NULL;
        for (unsigned i = 0; i < UT__GOSSIP_RELAYS && slot == NULL; i++)
            if (!h->relays[i].used)
                slot = &h->relays[i];
        if (slot == NULL)
            break; /* too many at once: the requester's other helpers remain */
        /* Lifeguard §4.2: nack at 80% of the timeout if the target is silent. */
        *slot = (ut__gossip_relay_t){from, g->seq, g->target, h->now + h->timeout * 8u / 10u,
                                     true, false};
        for (unsigned a = 0; a < h->nanswer; a++)
            slot->tell = slot->tell || h->answer[a] == g->target;
        if (slot->deadline < h->relay_due)
            h->relay_due = slot->deadline;
        push_dgram(h, UT_MSG_GOSSIP_PING, g->target, g->seq, g->target, from);
        break;
    }
    case UT_MSG_GOSSIP_ACK:
        if (g->origin != 0 && g->origin != h->id) {
            ut__gossip_relay_t *r = relay_find(h, g->origin, g->seq, from);
            if (r != NULL) {
                r->used = false;
                /* The requester suspects the target at an incarnation the
                 * target has refuted: the forwarded ack says so first. */
                if (r->tell)
                    answer(h, r->target);
                push_dgram(h, UT_MSG_GOSSIP_ACK, r->origin, r->seq, r->target, 0);
            }
            break;
        }
        if (h->probe_active && !h->probe_acked && g->seq == h->probe_seq &&
            g->target == h->probe_target) {
            h->probe_acked = true;
            lhm_add(h, -1); /* Lifeguard §4.1: a timely ack is a sign of health */
        } else if (h->lifeguard) {
            /* The answer to a last ping (final_pings) that did not carry
             * the refutation: the suspicion waits, and is pinged again. */
            ut__gossip_member_t *t = find(h, g->target);
            if (t != NULL && t->status == UT_NODE_SUSPECTED && susp_of(h, t)->final_at != 0 &&
                susp_of(h, t)->final_seq == g->seq)
                susp_of(h, t)->final_acked = true;
        }
        break;
    case UT_MSG_GOSSIP_NACK:
        if (h->probe_active && g->seq == h->probe_seq && g->target == h->probe_target &&
            h->nacks_got < h->nacks_expected)
            h->nacks_got++;
        break;
    case UT_MSG_GOSSIP_SYNC:
        /* A member that pushes its list to us, with us in it, has us as a
         * member: that acknowledges the join as well as a seed's answer
         * would (else a joiner whose seeds are gone, contacted by the
         * group, would stay joining and never probe anyone). */
        if (h->local == UT_NODE_JOINING) {
            for (size_t i = 0; i < nu; i++) {
                if (g->updates[i].index == h->id) {
                    join_done(h);
                    break;
                }
            }
        }
        if (g->seq == 0)
            push_sync(h, UT_MSG_GOSSIP_SYNC_RESP, from);
        break;
    case UT_MSG_GOSSIP_SYNC_RESP:
        if (h->local == UT_NODE_JOINING)
            join_done(h);
        break;
    default:
        break;
    }
    return UT_OK;
oom:
    UT__FAIL(&h->base, UT_ENOMEM, "step: out of memory");
}

/* Lifeguard §4 (local health awareness), carried one step further: a tick
 * more than a protocol period after the previous one means this member was
 * not running (a stall, a pause), and what it did not hear meanwhile says
 * nothing about the others. So suspicion deadlines move by the gap (the
 * refutations may be waiting unread in the socket buffer), the probe in
 * flight ends without a suspicion, relayed probes that expired end without
 * a nack, and local health worsens by one. Before, a member back from a
 * stall first declared dead whoever it suspected, then read the
 * refutations. */
static void stalled(ut_gossip_t *h, uint64_t gap)
{
    ut__trace(&h->tracer, UT_TRACE_WARN, "gossip", h->id, "stall", "tick gap over a period", gap,
              0);
    for (size_t i = 0; i < h->nsusp; i++) {
        h->susp[i].start += gap;
        h->susp[i].deadline += gap;
        if (h->susp[i].final_at != 0)
            h->susp[i].final_at += gap; /* its answer may be waiting unread */
    }
    if (h->probe_active && !h->probe_acked)
        h->probe_active = false;
    for (unsigned i = 0; i < UT__GOSSIP_RELAYS; i++)
        if (h->relays[i].used && h->now >= h->relays[i].deadline)
            h->relays[i].used = false;
    lhm_add(h, 1);
}

/* Whether suspicion r waits for its last pings before the verdict
 * (final_pings). */
static bool final_wait(const ut_gossip_t *h, const ut__gossip_susp_t *r)
{
    return h->lifeguard && r->nconf < conf_max(h);
}

/* The last pings before the verdict: the buddy system (Lifeguard §4.3)
 * carried to the end of a suspicion; our addition. A suspicion that
 * expires within three probe periods with fewer than k independent
 * confirmations (Lifeguard §5: its timeout is still above the minimum, the
 * evidence thin) gets a direct ping to the suspect each probe period,
 * carrying the suspicion, so that a live suspect whose refutation missed
 * us answers with it (push_dgram: the ack carries it first); it expires
 * once the latest ping went unanswered (tick). Without them, a member that
 * missed every copy of a refutation declared the live member dead when its
 * timeout ran out: bench_gossip 1000 5 86400 1 saw 28 in 5 simulated
 * hours, each 24, 42 or 72 s after the stall (two later), i.e. with 2, 1
 * or 0 confirmations, never 3 (in one traced case 2 of 10,000 copies of the
 * refutation were sent to that member in 72 s, both lost). The buddy probe
 * at the start of a suspicion can fall inside the very stall that caused
 * it, and it is one exchange. The pings are outside the probe order, so round-robin probing
 * goes on (a partition's many suspicions would otherwise take every probe
 * slot); a suspicion with k confirmations (a crash, a partition: many
 * probers failed) expires as before, so failures are declared as fast. */
static void final_pings(ut_gossip_t *h, uint64_t now_ms)
{
    uint64_t soon = now_ms + 3u * scaled(h, h->interval);
    unsigned sent = 0;
    for (size_t i = 0; i < h->nsusp && sent < UT__GOSSIP_FINALS; i++) {
        ut__gossip_susp_t *r = &h->susp[i];
        if (!final_wait(h, r) || r->deadline > soon ||
            (r->final_at != 0 && now_ms < r->final_at + scaled(h, h->interval)))
            continue;
        r->final_seq = ++h->seq;
        r->final_at = now_ms;
        r->final_acked = false;
        susp_due_at(h, now_ms + scaled(h, h->timeout));
        push_dgram(h, UT_MSG_GOSSIP_PING, r->id, r->final_seq, r->id, 0);
        sent++;
    }
}

/* A suspicion ends in the verdict (SWIM §4.2): dead, and disseminated. */
static void declare_dead(ut_gossip_t *h, ut__gossip_member_t *m)
{
    set_status(h, m, UT_NODE_DEAD); /* removes it from susp */
    push_event(h, UT_GOSSIP_EVENT_DEAD, m);
    enqueue(h, m);
}

/* Forget members dead or left for reap_after ms (memberlist removes them
 * after GossipToTheDeadTime; it keeps none for ever): memory stays bounded
 * by the live members plus those gone within the window. One still being
 * disseminated waits until its retransmissions are done. */
static void reap(ut_gossip_t *h)
{
    if (h->now < h->reap_due)
        return; /* nobody is due yet */
    h->reap_due = UINT64_MAX;
    for (size_t i = 0; i < h->ngone;) {
        uint64_t id = h->gone[i];
        bool found;
        size_t idx = find_idx(h, id, &found);
        ut__gossip_member_t *m = found ? &h->m[idx] : NULL;
        if (m != NULL && (m->tx_left > 0 || h->now - m->gone_since < h->reap_after)) {
            /* due when its window ends; one still being sent, at every tick */
            uint64_t due = m->tx_left > 0 ? h->now : m->gone_since + h->reap_after;
            if (due < h->reap_due)
                h->reap_due = due;
            i++;
            continue;
        }
        h->gone[i] = h->gone[--h->ngone];
        if (m == NULL)
            continue; /* cannot happen; heal the list */
        for (size_t k = 0; k < h->n; k++) {
            if (h->order[k] == id) {
                memmove(&h->order[k], &h->order[k + 1], (h->n - 1 - k) * sizeof h->order[0]);
                if (k < h->order_pos)
                    h->order_pos--;
                break;
            }
        }
        ut__trace(&h->tracer, UT_TRACE_DEBUG, "gossip", h->id, "reap", NULL, id, m->inc);
        h->meta_bytes -= m->meta_len;
        ut__free(m->meta);
        memmove(&h->m[idx], &h->m[idx + 1], (h->n - 1 - idx) * sizeof h->m[0]);
        h->n--;
    }
}

/* The next member to probe: SWIM §4.3 round-robin over a list shuffled at
 * the end of every pass, skipping dead and left members. */
static uint64_t next_target(ut_gossip_t *h)
{
    h->probe_buddy = false;
    /* A suspected member is probed next, once per suspicion (the
     * round-robin position stays): the buddy system
     * (Lifeguard §4.3) tells a suspect only when it is pinged, and a live
     * suspect whose refutation missed us answers the ping with it; a
     * crashed one fails the probe, which confirms the suspicion (§5). In
     * round-robin order alone, the next probe of a suspect came after the
     * suspicion had often expired. Bounded: one extra probe per suspicion,
     * so SWIM's time-bounded completeness (§4.3) still holds. */
    if (h->lifeguard) {
        for (size_t i = 0; i < h->nsusp; i++) {
            ut__gossip_susp_t *r = &h->susp[i];
            if (!r->probed) {
                r->probed = true;
                h->probe_buddy = true;
                return r->id;
            }
        }
    }
    for (size_t tries = 0; tries <= h->n; tries++) {
        if (h->order_pos >= h->n) {
            for (size_t i = h->n; i > 1; i--) {
                size_t j = (size_t)ut__rand_below(&h->rng, i);
                uint64_t t = h->order[i - 1];
                h->order[i - 1] = h->order[j];
                h->order[j] = t;
            }
            h->order_pos = 0;
        }
        uint64_t id = h->order[h->order_pos++];
        ut__gossip_member_t *m = find(h, id);
        if (id != h->id && m != NULL && is_live(m->status))
            return id;
    }
    return 0;
}

/* want ALIVE: alive or suspected; want DEAD: dead or left (gone);
 * want GOSSIP_TO: alive, suspected, or dead for less than
 * gossip_to_dead_ms(). */
#define UT__WANT_GOSSIP_TO 255u
static uint64_t gossip_to_dead_ms(const ut_gossip_t *h)
{
    return h->pp_interval > 0 ? h->pp_interval : 30000u;
}

static bool wanted(uint8_t st, uint8_t want)
{
    if (want == UT_NODE_ALIVE)
        return is_live(st);
    if (want == UT_NODE_DEAD)
        return st == UT_NODE_DEAD || st == UT_NODE_LEAVING;
    return st == want;
}

/* A random member satisfying want (0 if none): reservoir sampling. */
/* memberlist's GossipToTheDeadTime: a member buried a moment ago still
 * gets the pushes for a while, so that it hears that it was declared dead
 * and refutes (SWIM §4.2). Without it a verdict that a member cut off by a
 * partition reached after the heal (its slowed probes had not yet told
 * the suspect) spread to every member at once, and the buried one, which
 * nobody probed or pushed to any more, heard of it only at its next
 * push-pull, seconds later (found by utsim's gossip scenario). */
static bool eligible(const ut_gossip_t *h, const ut__gossip_member_t *m, uint8_t want)
{
    if (want != UT__WANT_GOSSIP_TO)
        return wanted(m->status, want);
#ifdef UT__FAULT_GOSSIP_NO_DEAD_CONTACT
    /* Deliberately broken build (tests only): nothing goes to the dead. */
    return is_live(m->status);
#endif
    return is_live(m->status) || (m->status == UT_NODE_DEAD && m->gone_since != UINT64_MAX &&
                                  h->now - m->gone_since < gossip_to_dead_ms(h));
}

static uint64_t random_member(ut_gossip_t *h, uint8_t want, uint64_t not1, const uint64_t *skip,
                              size_t nskip)
{
    uint64_t pick = 0, seen = 0;
    /* Rejection sampling first (O(1) when most members qualify, as live
     * ones do); a scan when that keeps missing. */
    for (int tries = 0; tries < 16 && h->n > 1; tries++) {
        const ut__gossip_member_t *m = &h->m[ut__rand_below(&h->rng, h->n)];
        if (m->id == h->id || m->id == not1)
            continue;
        if (!eligible(h, m, want))
            continue;
        bool dup = false;
        for (size_t j = 0; j < nskip; j++)
            dup = dup || skip[j] == m->id;
        if (!dup)
            return m->id;
    }
    for (size_t i = 0; i < h->n; i++) {
        const ut__gossip_member_t *m = &h->m[i];
        if (m->id == h->id || m->id == not1)
            continue;
        if (!eligible(h, m, want))
            continue;
        bool dup = false;
        for (size_t j = 0; j < nskip; j++)
            dup = dup || skip[j] == m->id;
        if (dup)
            continue;
        if (ut__rand_below(&h->rng, ++seen) == 0)
            pick = m->id;
    }
    return pick;
}

/* The earliest time at which a tick has work (see ut_gossip_next_deadline;
 * the gossip slot counts only with updates queued). Lower bounds where the
 * exact time would need a scan (suspicions, reaping). */
static uint64_t next_due(const ut_gossip_t *h)
{
    if (!h->started)
        return 0;
    if (h->left_done)
        return UINT64_MAX;
    uint64_t t = h->next_probe;
    if (h->local == UT_NODE_JOINING && h->next_join < t)
        t = h->next_join;
    if (h->nsusp > 0 && h->susp_due < t)
        t = h->susp_due;
    if (h->reap_after > 0 && h->ngone > 0 && h->reap_due < t)
        t = h->reap_due;
    if (h->relay_due < t)
        t = h->relay_due;
    if (h->probe_active && !h->probe_acked && !h->ind_sent &&
        h->probe_sent + scaled(h, h->timeout) < t)
        t = h->probe_sent + scaled(h, h->timeout);
    if (h->gossip_interval > 0 && h->nbq > 0 && h->next_gossip < t)
        t = h->next_gossip;
    if (h->pp_interval > 0 && h->local != UT_NODE_JOINING && h->next_pp < t)
        t = h->next_pp;
    return t;
}

/* Gossip slots that passed with nothing queued, between the previous tick
 * and this one: a caller that ticked at each of them would have moved the
 * slot on each time (next_gossip = then + interval), so it moves in steps
 * of the interval up to now. A caller that ticks only at
 * ut_gossip_next_deadline() gets the slots one that ticks at every
 * multiple of the interval got. Not after a gap over a period (a stall:
 * nobody ticked meanwhile; the slot restarts from now, as it did). */
static void idle_gossip_slots(ut_gossip_t *h, uint64_t now_ms, uint64_t gap)
{
    if (h->gossip_interval == 0 || h->nbq > 0 || gap > h->interval || h->next_gossip >= now_ms)
        return;
    uint64_t behind = now_ms - h->next_gossip, gi = h->gossip_interval;
    h->next_gossip += (behind + gi - 1u) / gi * gi;
}

uint64_t ut_gossip_next_deadline(const ut_gossip_t *h)
{
    if (h == NULL || !ut__handle_valid(&h->base, UT__GOSSIP_MAGIC))
        return UINT64_MAX;
    if (!h->started)
        return 0;
    if (h->left_done)
        return UINT64_MAX;
    uint64_t t = next_due(h);
    /* Lifeguard's stall rule reads a tick gap over a period as a pause of
     * this member: a caller that ticks at these deadlines must not make one. */
    if (h->now + h->interval < t)
        t = h->now + h->interval;
    return t;
}

int ut_gossip_tick(ut_gossip_t *h, uint64_t now_ms)
{
    if (h == NULL || !ut__handle_valid(&h->base, UT__GOSSIP_MAGIC))
        return UT_EINVAL;
    if (h->started && now_ms < h->now)
        UT__FAIL(&h->base, UT_EINVAL, "tick: time went back from %llu to %llu",
                 (unsigned long long)h->now, (unsigned long long)now_ms);
    if (h->started) {
        /* Fast path: nothing is due (most ticks of a caller that ticks
         * often). Does what the full tick below would do then: moves time,
         * passes an empty gossip slot, and nothing else. */
        uint64_t gap = now_ms - h->now;
        if (h->left_done) {
            h->now = now_ms;
            return UT_OK;
        }
        bool stall = h->lifeguard && gap > h->interval && gap > scaled(h, h->timeout);
        idle_gossip_slots(h, now_ms, gap);
        if (!stall && now_ms < next_due(h)) {
            h->now = now_ms;
            if (h->gossip_interval > 0 && now_ms >= h->next_gossip)
                h->next_gossip = now_ms + h->gossip_interval; /* an empty slot */
            if (h->local == UT_NODE_LEAVING && h->n_live <= 1)
                h->left_done = true;
            return UT_OK;
        }
    }
    /* Worst case: k ping-reqs, a ping, the nacks due, the pushes, one sync;
     * one event per suspicion that expires. */
    /* A sync (the whole list) is reserved only in a tick that sends one:
     * reserving it every tick would keep a list-sized chunk in use. */
    bool will_sync = h->local == UT_NODE_JOINING ? (!h->started || now_ms >= h->next_join)
                                                 : (h->pp_interval > 0 && h->started &&
                                                    now_ms >= h->next_pp && !h->left_done);
    /* Every relay counts as due: a reservation that grew with the nacks due
     * made a new, bigger byte chunk each time a member first had one more
     * due than before, an allocation in the middle of steady probing. */
    if (reserve_out(h, tick_dgrams(h), will_sync, 0, 0) != UT_OK ||
        reserve_events(h, h->nsusp) != UT_OK || reserve_susp(h, 1) != UT_OK)
        UT__FAIL(&h->base, UT_ENOMEM, "tick: out of memory");
    bool was_started = h->started;
    if (!h->started) {
        h->started = true;
        h->next_probe = now_ms + h->interval;
        h->next_pp = now_ms + pp_period(h);
        h->next_join = now_ms;
        h->next_gossip = now_ms + h->gossip_interval;
    }
    uint64_t gap = was_started ? now_ms - h->now : 0;
    h->now = now_ms;
    if (h->left_done)
        return UT_OK;
    if (h->lifeguard && gap > h->interval && gap > scaled(h, h->timeout))
        stalled(h, gap);

    if (h->local == UT_NODE_JOINING) {
        /* Join through the seeds, one at a time, once per period. */
        if (now_ms >= h->next_join) {
            push_sync(h, UT_MSG_GOSSIP_SYNC, h->seeds[h->seed_pos++ % h->nseeds]);
            h->next_join = now_ms + h->interval;
        }
    }

    /* SWIM §4.2: a suspicion not refuted in time becomes a confirm. One
     * that waits for its last pings (final_pings) expires when the latest
     * went unanswered for a probe timeout, or two probe periods after the
     * deadline whatever they brought (answered without the refutation, or
     * not sent: the deadline came suddenly). */
    if (now_ms >= h->susp_due) {
        h->susp_due = UINT64_MAX;
        uint64_t wait = 2u * scaled(h, h->interval);
        for (size_t i = 0; i < h->nsusp;) {
            ut__gossip_susp_t *r = &h->susp[i];
#ifdef UT__FAULT_GOSSIP_NO_CONFIRM
            /* Deliberately broken build (tests only): suspicions never expire. */
            if (false) {
#else
            if (now_ms >= r->deadline && (!final_wait(h, r) || now_ms >= r->deadline + wait ||
                                          (r->final_at != 0 && !r->final_acked &&
                                           now_ms >= r->final_at + scaled(h, h->timeout)))) {
#endif
                declare_dead(h, find(h, r->id)); /* removes it from susp */
                continue;
            }
            uint64_t due = r->deadline;
            if (now_ms >= r->deadline) {
                due = r->deadline + wait;
                if (r->final_at != 0 && !r->final_acked &&
                    r->final_at + scaled(h, h->timeout) < due)
                    due = r->final_at + scaled(h, h->timeout);
            }
            susp_due_at(h, due);
            i++;
        }
    }

    if (h->reap_after > 0)
        reap(h);

    h->relay_due = UINT64_MAX;
    for (unsigned i = 0; i < UT__GOSSIP_RELAYS; i++) {
        ut__gossip_relay_t *r = &h->relays[i];
        if (r->used && now_ms < r->deadline && r->deadline < h->relay_due)
            h->relay_due = r->deadline;
        if (r->used && now_ms >= r->deadline) {
            r->used = false;
            /* Lifeguard §4.2: the nack tells the requester that we, its
             * helper, are fine, so its own missed ack is not its fault. */
            if (h->lifeguard)
                push_dgram(h, UT_MSG_GOSSIP_NACK, r->origin, r->seq, r->target, 0);
        }
    }

    if (h->probe_active && !h->probe_acked && !h->ind_sent &&
        now_ms >= h->probe_sent + scaled(h, h->timeout)) {
        /* SWIM §4: no direct ack in time, ask k others to probe. */
        uint64_t chosen[64];
        size_t nc = 0;
        while (nc < h->k) {
            uint64_t id = random_member(h, UT_NODE_ALIVE, h->probe_target, chosen, nc);
            if (id == 0)
                break;
            chosen[nc++] = id;
            push_dgram(h, UT_MSG_GOSSIP_PING_REQ, id, h->probe_seq, h->probe_target, 0);
        }
        h->ind_sent = true;
        h->nacks_expected = (uint32_t)nc;
        h->nacks_got = 0;
    }

    if (now_ms >= h->next_probe) {
        if (h->probe_active && !h->probe_acked) {
            /* End of the protocol period without any ack: suspect (SWIM
             * §4.2). Lifeguard §4.1: missing nacks mean we may be the slow
             * one, so local health worsens by the nacks that did not come. */
            if (h->nacks_expected > 0)
                lhm_add(h, (int)(h->nacks_expected - h->nacks_got));
            else
                lhm_add(h, 1);
            ut__gossip_member_t *t = find(h, h->probe_target);
            if (t != NULL && t->status == UT_NODE_SUSPECTED) {
                /* Our own failed probe of a member others suspect is an
                 * independent suspicion (Lifeguard §5; memberlist does the
                 * same): before, only suspicions raised before hearing of
                 * the first one counted, so the timeout stayed near its
                 * maximum and real failures took long to be declared. */
                if (!h->probe_buddy)
                    confirm(h, t, h->id);
            } else if (t != NULL && t->status == UT_NODE_ALIVE) {
                set_status(h, t, UT_NODE_SUSPECTED);
                ut__gossip_susp_t *r = susp_of(h, t);
                r->suspecter = h->id;
                r->bcast_by = h->id;
                r->start = now_ms;
                r->deadline = now_ms + susp_timeout(h, 0);
                susp_due_at(h, r->deadline);
                push_event(h, UT_GOSSIP_EVENT_SUSPECTED, t);
                enqueue(h, t);
            }
        }
        h->probe_active = false;
        uint64_t target = h->local == UT_NODE_JOINING ? 0 : next_target(h);
        if (target != 0) {
            h->probe_active = true;
            h->probe_acked = false;
            h->ind_sent = false;
            h->nacks_expected = h->nacks_got = 0;
            h->probe_target = target;
            h->probe_seq = ++h->seq;
            h->probe_sent = now_ms;
            push_dgram(h, UT_MSG_GOSSIP_PING, target, h->probe_seq, target, 0);
        }
        if (h->lifeguard && h->local != UT_NODE_JOINING)
            final_pings(h, now_ms);
        h->next_probe = now_ms + scaled(h, h->interval);
    }

    if (h->gossip_interval > 0 && now_ms >= h->next_gossip) {
        /* Dissemination beyond the probes (memberlist's gossip): queued
         * updates go to a few random members every gossip interval, so they
         * spread in O(log N) intervals rather than O(log N) periods. The
         * retransmission bound (SWIM §4.1) still ends each update. */
        h->next_gossip = now_ms + h->gossip_interval;
        uint64_t chosen[64];
        size_t nc = 0;
        while (nc < h->fanout && h->nbq > 0) {
            uint64_t id = random_member(h, UT__WANT_GOSSIP_TO, 0, chosen, nc);
            if (id == 0)
                break;
            chosen[nc++] = id;
            push_dgram(h, UT_MSG_GOSSIP_PUSH, id, 0, 0, 0);
        }
    }

    if (h->pp_interval > 0 && h->local != UT_NODE_JOINING && now_ms >= h->next_pp) {
        h->next_pp = now_ms + pp_period(h);
        /* Push-pull anti-entropy with one random member; every other round
         * with a dead or left one instead, so that the sides of a healed
         * partition find each other again (their members declared each
         * other dead, and nothing else would ever talk to a dead member;
         * a member that left may be back as a new instance, unknown to
         * the other side). A member with nobody alive to talk to goes back
         * to its seeds: the group it joined through may have moved on
         * without it (found by utsim's gossip scenario, docs/gossip.md). */
        uint64_t to = 0;
#ifndef UT__FAULT_GOSSIP_NO_DEAD_CONTACT /* broken build (tests only): never */
        if (h->pp_round++ % 2u == 1u)
            to = random_member(h, UT_NODE_DEAD, 0, NULL, 0);
#endif
        if (to == 0)
            to = random_member(h, UT_NODE_ALIVE, 0, NULL, 0);
#ifndef UT__FAULT_GOSSIP_NO_DEAD_CONTACT /* broken build (tests only): never */
        if (to == 0 && h->nseeds > 0)
            to = h->seeds[h->seed_pos++ % h->nseeds];
#endif
        if (to != 0)
            push_sync(h, UT_MSG_GOSSIP_SYNC, to);
    }
    if (h->local == UT_NODE_LEAVING && h->n_live <= 1)
        h->left_done = true; /* nobody left to tell */
    return UT_OK;
}

int ut_gossip_ready(ut_gossip_t *h, ut_gossip_ready_t *out)
{
    if (h == NULL || !ut__handle_valid(&h->base, UT__GOSSIP_MAGIC))
        return UT_EINVAL;
    if (out == NULL)
        UT__FAIL(&h->base, UT_EINVAL, "ready: NULL output");
    if (ut__readyseq_busy(&h->rs))
        UT__FAIL(&h->base, UT_ESTATE, "ready: the previous ready was not advanced");
    memset(out, 0, sizeof *out);
    bool empty = ut__outbox_pending(&h->ob) == 0 && h->ev[h->live].n == 0;
    out->seq_ = ut__readyseq_hand_out(&h->rs, empty);
    if (empty)
        return UT_OK;
    ut_msg_t *msgs;
    size_t n;
    ut__outbox_take(&h->ob, &msgs, &n);
    ut__gossip_pool_t *p = &h->pool[h->live];
    for (size_t i = 0; i < n; i++) {
        ut_msg_gossip_t *g = &msgs[i].body.gossip;
        if (g->n_updates > 0)
            g->updates = p->e + ((uintptr_t)g->updates - 1u);
    }
    out->msgs = msgs;
    out->n_msgs = n;
    out->events = h->ev[h->live].n > 0 ? h->ev[h->live].ev : NULL;
    out->n_events = h->ev[h->live].n;
    h->live ^= 1;
    h->ev[h->live].n = 0;
    h->pool[h->live].n = 0;
    return UT_OK;
}

bool ut_gossip_ready_empty(const ut_gossip_ready_t *rd)
{
    return rd == NULL || (rd->n_msgs == 0 && rd->n_events == 0);
}

/* Cuts an empty buffer pair back to UT__GOSSIP_KEEP (see there). A failed
 * realloc leaves the bigger buffer, which is harmless. */
static void trim(ut_gossip_t *h, int which)
{
    ut__gossip_pool_t *p = &h->pool[which];
    /* at least what a tick reserves, so that probing never regrows it */
    size_t keep = tick_dgrams(h) * dgram_updates(h);
    if (keep < UT__GOSSIP_KEEP)
        keep = UT__GOSSIP_KEEP;
    if (p->cap > keep) {
        void *q = ut__realloc(p->e, keep * sizeof(ut_entry_t));
        if (q != NULL) {
            p->e = q;
            p->cap = keep;
        }
    }
    ut__gossip_evvec_t *v = &h->ev[which];
    if (v->cap > UT__GOSSIP_KEEP) {
        void *q = ut__realloc(v->ev, UT__GOSSIP_KEEP * sizeof(ut_gossip_event_t));
        if (q != NULL) {
            v->ev = q;
            v->cap = UT__GOSSIP_KEEP;
        }
    }
}

int ut_gossip_advance(ut_gossip_t *h, const ut_gossip_ready_t *rd)
{
    if (h == NULL || !ut__handle_valid(&h->base, UT__GOSSIP_MAGIC))
        return UT_EINVAL;
    if (rd == NULL)
        UT__FAIL(&h->base, UT_EINVAL, "advance: NULL ready");
    int rc = ut__readyseq_advance(&h->rs, rd->seq_, ut_gossip_ready_empty(rd));
    if (rc < 0)
        UT__FAIL(&h->base, UT_EINVAL, "advance: not the outstanding ready");
    if (rc == 0)
        return UT_OK;
    ut__outbox_release(&h->ob);
    h->ev[h->live ^ 1].n = 0;
    h->pool[h->live ^ 1].n = 0;
    trim(h, h->live ^ 1);
    return UT_OK;
}

int ut_gossip_leave(ut_gossip_t *h)
{
    if (h == NULL || !ut__handle_valid(&h->base, UT__GOSSIP_MAGIC))
        return UT_EINVAL;
    if (h->local == UT_NODE_LEAVING)
        UT__FAIL(&h->base, UT_ESTATE, "leave: already leaving");
    ut__gossip_member_t *s = self_member(h);
    ut__trace(&h->tracer, UT_TRACE_INFO, "gossip", h->id, "leave", NULL, s->inc, 0);
    h->local = UT_NODE_LEAVING;
    set_status(h, s, UT_NODE_LEAVING);
    h->n_live++; /* we still count ourselves while telling the others */
    enqueue(h, s);
    h->left_done = h->n_live <= 1;
    return UT_OK;
}

int ut_gossip_set_meta(ut_gossip_t *h, const void *meta, size_t len)
{
    if (h == NULL || !ut__handle_valid(&h->base, UT__GOSSIP_MAGIC))
        return UT_EINVAL;
    if (len > 0 && meta == NULL)
        UT__FAIL(&h->base, UT_EINVAL, "set_meta: NULL data");
    if (len > h->max_meta)
        UT__FAIL(&h->base, UT_EINVAL, "set_meta: %zu bytes > %u", len, (unsigned)h->max_meta);
    if (h->local == UT_NODE_LEAVING)
        UT__FAIL(&h->base, UT_ESTATE, "set_meta: leaving");
    unsigned char *copy = NULL;
    if (len > 0) {
        copy = ut__malloc(len);
        if (copy == NULL)
            UT__FAIL(&h->base, UT_ENOMEM, "set_meta: out of memory");
        memcpy(copy, meta, len);
    }
    ut__gossip_member_t *s = self_member(h);
    h->meta_bytes = h->meta_bytes - s->meta_len + len;
    ut__free(s->meta);
    s->meta = copy;
    s->meta_len = (uint32_t)len;
    s->inc++; /* the incarnation is the metadata version */
    enqueue(h, s);
    return UT_OK;
}

ut_node_status_t ut_gossip_status(const ut_gossip_t *h)
{
    if (h == NULL || !ut__handle_valid(&h->base, UT__GOSSIP_MAGIC))
        return UT_NODE_DEAD;
    return h->local;
}

bool ut_gossip_has_left(const ut_gossip_t *h)
{
    return h != NULL && ut__handle_valid(&h->base, UT__GOSSIP_MAGIC) &&
           h->local == UT_NODE_LEAVING && h->left_done;
}

uint64_t ut_gossip_incarnation(const ut_gossip_t *h)
{
    if (h == NULL || !ut__handle_valid(&h->base, UT__GOSSIP_MAGIC))
        return 0;
    return self_member(h)->inc;
}

unsigned ut_gossip_health(const ut_gossip_t *h)
{
    if (h == NULL || !ut__handle_valid(&h->base, UT__GOSSIP_MAGIC))
        return 0;
    return h->lhm;
}

size_t ut_gossip_member_count(const ut_gossip_t *h)
{
    if (h == NULL || !ut__handle_valid(&h->base, UT__GOSSIP_MAGIC))
        return 0;
    return h->n;
}

static void fill_member(const ut_gossip_t *h, const ut__gossip_member_t *m, ut_gossip_member_t *out)
{
    out->id = m->id;
    out->status = (ut_node_status_t)m->status;
    if (m->id == h->id)
        out->status = h->local;
    out->incarnation = m->inc;
    out->meta = m->meta;
    out->meta_len = m->meta_len;
}

int ut_gossip_member_at(const ut_gossip_t *h, size_t i, ut_gossip_member_t *out)
{
    if (h == NULL || !ut__handle_valid(&h->base, UT__GOSSIP_MAGIC) || out == NULL)
        return UT_EINVAL;
    if (i >= h->n)
        return UT_ERANGE;
    fill_member(h, &h->m[i], out);
    return UT_OK;
}

int ut_gossip_member_find(const ut_gossip_t *h, uint64_t id, ut_gossip_member_t *out)
{
    if (h == NULL || !ut__handle_valid(&h->base, UT__GOSSIP_MAGIC) || out == NULL)
        return UT_EINVAL;
    const ut__gossip_member_t *m = find(h, id);
    if (m == NULL)
        return UT_ENOTFOUND;
    fill_member(h, m, out);
    return UT_OK;
}

const char *ut_gossip_errmsg(const ut_gossip_t *h)
{
    return ut__handle_errmsg(h != NULL ? &h->base : NULL, UT__GOSSIP_MAGIC);
}

const char *ut_gossip_event_name(ut_gossip_event_kind_t kind)
{
    return event_name(kind);
}

static const char *event_name(ut_gossip_event_kind_t kind)
{
    switch (kind) {
    case UT_GOSSIP_EVENT_JOINED:
        return "joined";
    case UT_GOSSIP_EVENT_UPDATED:
        return "updated";
    case UT_GOSSIP_EVENT_SUSPECTED:
        return "suspected";
    case UT_GOSSIP_EVENT_ALIVE:
        return "alive";
    case UT_GOSSIP_EVENT_DEAD:
        return "dead";
    case UT_GOSSIP_EVENT_LEFT:
        return "left";
    }
    return "?";
}

void ut__gossip_quiesce(ut_gossip_t *h)
{
    for (size_t i = 0; i < h->n; i++)
        h->m[i].tx_left = 0; /* > 0 exactly for the queued ones */
    h->nbq = 0;
}
