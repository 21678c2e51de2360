/* SPDX-License-Identifier: MIT */
/* The gossip scenario: every node runs libunitypes' SWIM + Lifeguard member
 * (ut_gossip_t, include/unitypes/gossip.h) over the world's network, so
 * loss, duplication, reordering, partitions, crash/restart and clock skew
 * all apply. The scenario drives its own membership workload (clients = 0):
 *
 *  - joins: node 1 starts alone, the others join through the seeds (every
 *    other node); a restarted node is a new instance that joins again (a
 *    member persists nothing, as in memberlist);
 *  - graceful leaves: every 10-30 s a live node leaves; once its leave is
 *    disseminated (ut_gossip_has_left) it is gone for 2-6 s, then joins
 *    again as a new instance;
 *  - stalls: every 2-10 s a node stops processing for 1-3 s (ticks skipped,
 *    messages wait in its socket buffer, at most 128; then all at once);
 *  - metadata updates every 3-10 s;
 *  - optional extra loss (--gossip-loss PCT) on top of the world's 2 %.
 *
 * After every event, on the node that handled it (docs/simulator.md, block
 * "gossip"): the rules of tests/gossip_check.h for each member in its list
 * (incarnations never go back; suspected, dead or left members come back
 * only with a higher incarnation; a live member is never forgotten), no
 * incarnation above what the member itself ever reached (SWIM §4.2: only
 * the member raises it), its own status only joining -> alive -> leaving and
 * never an event saying it is suspected or dead, every datagram within
 * max_datagram, every call's result (a correct peer's message is accepted),
 * and refutation (a member told it is suspected or dead at its incarnation
 * holds a higher one after that step, SWIM §4.2). Against the world's
 * reachability (sim_reachable_since), at every step: accuracy (a member
 * that has run unstalled and reached a majority both ways for a bound is
 * not held dead by a majority for longer than it takes to refute) and
 * merging (two members that have run unstalled and reached each other for
 * a bound have seen each other alive since), bounds from the
 * configuration (set_bounds).
 *
 * At the end (finish), the world's faults cannot be switched off, so the
 * scenario continues the surviving members on a quiet, healed network of
 * its own (no loss, no partitions, every message still through the codec)
 * for a bound computed from the configuration, after crashing one more
 * member; then: completeness (every member that is down or gone is dead or
 * left, or unknown, at every live member) and accuracy after the heal
 * (every live member sees every other live member alive and is itself
 * alive). SWIM promises no stronger accuracy than that under loss: false
 * suspicions and false "dead" declarations during the run are counted, not
 * refused (see docs/simulator.md). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/gossip_check.h"
#include "../scenario.h"

/* The scenario's figures (sim_stat). */
enum {
    GST_DEADS,
    GST_FALSE_DEADS,
    GST_SUSPICIONS,
    GST_MAX_INC,
    GST_EVENTS,
    GST_MERGES,
    GST_MAX_MERGE,
    GST_MAX_HELD
};

#define GS_PERIOD_MS 200u
#define GS_TIMEOUT_MS 80u
#define GS_PUSH_PULL_MS 2000u
#define GS_GOSSIP_MS 50u
#define GS_MAX_META 64u
#define GS_DGRAM 1400u
#define GS_STALL_QUEUE 128u
#define GS_QUIET_STEP_MS 10u
/* Dead and left members are forgotten after 10 s, so that reaping runs
 * under every fault (the library's default is an hour). */
#define GS_REAP_MS 10000u

/* Scenario options (utsim's options struct has no room for them; one run
 * per process reads them). */
static unsigned gs_loss_pct;
static bool gs_no_lifeguard;

typedef struct gs_frame {
    size_t len;
    unsigned char *buf;
    unsigned to; /* quiet tail: destination index */
} gs_frame_t;

enum { GS_LIVE = 0, GS_LEAVING, GS_OUT };

typedef struct gs_node {
    ut_gossip_t *h; /* NULL: down, or gone after leaving */
    uint64_t local_ms;
    int phase;
    uint64_t out_until; /* world ms: GS_OUT ends */
    uint64_t stall_until;
    gs_frame_t *q; /* messages waiting during a stall */
    size_t nq, capq;
    uint32_t generation;
    uint64_t inc;        /* this instance's incarnation, last seen */
    int self_rank;       /* gck_self_rank of the instance's status, last seen */
    uint64_t max_inc;    /* highest incarnation any instance ever had */
    uint64_t base_inc;   /* max_inc when this instance started */
    uint64_t calm_since; /* time (gs_time) since which the instance runs unstalled */
    bool has_base;       /* an earlier instance existed */
    gck_view_t view[SIM_MAX_NODES];
    uint32_t meta_ver;
} gs_node_t;

typedef struct gs {
    sim_world_t *w;
    gs_node_t nodes[SIM_MAX_NODES];
    unsigned susp_cnt[SIM_MAX_NODES], dead_cnt[SIM_MAX_NODES];
    uint8_t role[SIM_MAX_NODES];
    sim_rng_t rng; /* the workload's own stream */
    uint64_t next_stall, next_leave, next_meta;
    ut_msg_decoder_t *dec;
    bool quiet;
    gs_frame_t *qq; /* quiet tail: the network */
    size_t nqq, capqq;
    uint64_t suspicions, false_suspicions, deads, false_deads, events, stalls, leaves,
        left_seen_dead, quiet_ms;
    /* [observer][member]: the observer's current instance holds the member
     * alive or suspected now; else the last time it did (0: never). */
    bool live_view[SIM_MAX_NODES][SIM_MAX_NODES];
    uint64_t last_live[SIM_MAX_NODES][SIM_MAX_NODES];
    uint64_t tail_start, tail_now;             /* the quiet tail's own clock */
    uint64_t merge_ms, accuracy_ms, refute_ms; /* the bounds (merge_bound, accuracy_bound) */
    uint64_t merges, max_merge_ms, max_held_ms;
    uint64_t held_since[SIM_MAX_NODES]; /* accuracy: held dead while protected, since; 0 = not */
} gs_t;

static void gs_drain(void *ctx, unsigned i);

static unsigned count(const gs_t *s)
{
    return s->w->o.nodes;
}

/* World time; in the quiet tail (which the world's clock does not see),
 * the tail's own. */
static uint64_t gs_time(const gs_t *s)
{
    return s->quiet ? s->tail_now : sim_now(s->w);
}

static uint64_t pair_since(const gs_t *s, unsigned a, unsigned b);
static bool steady(const gs_t *s, unsigned j);

static void set_live_view(gs_t *s, unsigned i, unsigned j, bool live)
{
    if (s->live_view[i][j] && !live)
        s->last_live[i][j] = gs_time(s);
    if (!s->live_view[i][j] && live && steady(s, i) && steady(s, j)) {
        uint64_t t = pair_since(s, i, j), now = gs_time(s);
        if (t != UINT64_MAX && now > t && s->last_live[i][j] < t) {
            s->merges++;
            if (now - t > s->max_merge_ms)
                s->max_merge_ms = now - t;
        }
    }
    s->live_view[i][j] = live;
}

/* ---- timeline: the worst view the others hold of a node ---------------- */

static void gs_role(gs_t *s, unsigned j)
{
    const gs_node_t *n = &s->nodes[j];
    uint8_t role;
    if (!sim_node_up(s->w, j))
        role = SIM_ROLE_DOWN;
    else if (n->phase == GS_OUT)
        role = SIM_ROLE_OBSERVER; /* gone after a graceful leave */
    else if (s->dead_cnt[j] > 0)
        role = SIM_ROLE_LEADER; /* "L": declared dead by someone while running */
    else if (s->susp_cnt[j] > 0)
        role = SIM_ROLE_CANDIDATE; /* "c": suspected by someone */
    else
        role = SIM_ROLE_FOLLOWER; /* ".": alive in every view */
    if (role != s->role[j] && !s->quiet) {
        s->role[j] = role;
        sim_segment(s->w, j, role, n->max_inc);
    }
}

static void view_count(gs_t *s, unsigned j, const gck_view_t *v, int d)
{
    if (!v->known)
        return;
    if (v->status == UT_NODE_SUSPECTED)
        s->susp_cnt[j] += (unsigned)d;
    else if (v->status == UT_NODE_DEAD)
        s->dead_cnt[j] += (unsigned)d;
}

/* Observer i's instance is gone: its views go with it. */
static void forget_views(gs_t *s, unsigned i)
{
    for (unsigned j = 0; j < count(s); j++) {
        gck_view_t *v = &s->nodes[i].view[j];
        view_count(s, j, v, -1);
        memset(v, 0, sizeof *v);
        gs_role(s, j);
        s->live_view[i][j] = false;
        s->last_live[i][j] = 0; /* a new instance has seen nobody yet */
    }
}

/* ---- instances ------------------------------------------------------------ */

static bool new_instance(gs_t *s, unsigned i, bool first)
{
    gs_node_t *n = &s->nodes[i];
    uint64_t seeds[SIM_MAX_NODES];
    size_t ns = 0;
    /* Node 1 founds the group; every other node, and node 1 after a
     * restart, joins through the others in id order, so the first joins go
     * to the founder. (A joining member answers a join too: seeds that all
     * still join would found a second group that never meets the first;
     * seeds must name members of the group.) */
    if (!(first && i == 0))
        for (unsigned k = 0; k < count(s); k++)
            if (k != i)
                seeds[ns++] = k + 1;
    ut_gossip_config_t c;
    ut_gossip_config_init(&c, UT_GOSSIP_CONFIG_VERSION);
    c.id = i + 1;
    uint64_t x = s->w->o.seed ^ ((uint64_t)(i + 1) * 0x9e3779b97f4a7c15ull) ^
                 ((uint64_t)n->generation << 40);
    c.seed = sim_splitmix64(&x);
    c.seeds = ns ? seeds : NULL;
    c.n_seeds = ns;
    char meta[32];
    int ml = snprintf(meta, sizeof meta, "n%u.g%u", i + 1, (unsigned)n->generation);
    c.meta = meta;
    c.meta_len = (size_t)ml;
    c.max_meta = GS_MAX_META;
    c.max_datagram = GS_DGRAM;
    c.probe_interval_ms = GS_PERIOD_MS;
    c.probe_timeout_ms = GS_TIMEOUT_MS;
    c.push_pull_interval_ms = GS_PUSH_PULL_MS;
    c.gossip_interval_ms = GS_GOSSIP_MS;
    c.lifeguard = !gs_no_lifeguard;
    c.reap_after_ms = GS_REAP_MS;
    int rc = ut_gossip_new(&n->h, &c);
    if (rc != UT_OK) {
        sim_fail_msg(s->w, "ut_gossip_new: %s", ut_strerror(rc));
        return false;
    }
    n->has_base = n->generation > 0;
    n->base_inc = n->max_inc;
    n->generation++;
    n->inc = 0;
    n->self_rank = gck_self_rank(ut_gossip_status(n->h));
    n->phase = GS_LIVE;
    n->stall_until = 0;
    n->meta_ver = 0;
    n->calm_since = gs_time(s);
    return true;
}

static void free_queue(gs_node_t *n)
{
    for (size_t k = 0; k < n->nq; k++)
        free(n->q[k].buf);
    n->nq = 0;
}

static void end_instance(gs_t *s, unsigned i)
{
    gs_node_t *n = &s->nodes[i];
    ut_gossip_free(n->h);
    n->h = NULL;
    free_queue(n);
    n->stall_until = 0;
    forget_views(s, i);
}

/* ---- the bounds of the per-step checks (docs/simulator.md, "gossip") ----- */

/* merge_ms: two members that run unstalled and reach each other see each
 * other alive within two dead-member push-pull rounds of every member
 * (every other round of push_pull_interval goes to a dead or left member,
 * docs/gossip.md: 4 x push_pull_interval); a verdict younger than a
 * push-pull interval merges sooner (gossip to the dead); a join (a sync
 * with a seed every period) and a rejoin after a leave take less.
 * accuracy_ms: a member is protected once it has been steady and
 * reachable both ways from a majority for merge_ms + refute_ms: whatever
 * that majority buried before has merged again, and a verdict reached just
 * before has been refuted.
 * refute_ms: a verdict any member reaches overrides all others at once
 * (SWIM §4.2 confirm), so a protected member may be held dead by a majority
 * for as long as it takes to hear of it and refute: the verdict's
 * λ·⌈log10(N+1)⌉ retransmissions, one per gossip interval, which go to the
 * buried member too (gossip to the dead), as many for its refutation to
 * come back, and one probe period. */
static void set_bounds(gs_t *s)
{
    ut_gossip_config_t c;
    ut_gossip_config_init(&c, UT_GOSSIP_CONFIG_VERSION);
    uint64_t digits = 1;
    for (uint64_t n = count(s) + 1u; n >= 10u; n /= 10u)
        digits++;
    s->merge_ms = 2u * 2u * GS_PUSH_PULL_MS;
    s->refute_ms = GS_PERIOD_MS + 2u * c.retransmit_mult * digits * GS_GOSSIP_MS;
    s->accuracy_ms = s->merge_ms + s->refute_ms;
}

/* ---- the scenario table --------------------------------------------------- */

static int gs_create(sim_world_t *w, void **out)
{
    gs_t *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->w = w;
    if (ut_msg_decoder_new(&s->dec) != UT_OK) {
        free(s);
        return -1;
    }
    sim_rng_seed(&s->rng, w->o.seed ^ 0x6055195eed5eedull);
    s->next_stall = sim_rng_range(&s->rng, 2000, 10000);
    s->next_leave = sim_rng_range(&s->rng, 10000, 30000);
    s->next_meta = sim_rng_range(&s->rng, 3000, 10000);
    for (unsigned j = 0; j < SIM_MAX_NODES; j++)
        s->role[j] = 255;
    set_bounds(s);
    *out = s;
    return 0;
}

static void gs_destroy(void *ctx)
{
    gs_t *s = ctx;
    if (!s)
        return;
    for (unsigned i = 0; i < SIM_MAX_NODES; i++) {
        ut_gossip_free(s->nodes[i].h);
        free_queue(&s->nodes[i]);
        free(s->nodes[i].q);
    }
    for (size_t k = 0; k < s->nqq; k++)
        free(s->qq[k].buf);
    free(s->qq);
    ut_msg_decoder_free(s->dec);
    free(s);
}

static int gs_node_start(void *ctx, unsigned i, bool restore, uint64_t local_ms)
{
    gs_t *s = ctx;
    (void)restore; /* nothing is persisted: a restart is a new instance */
    gs_node_t *n = &s->nodes[i];
    if (n->h)
        end_instance(s, i);
    if (!new_instance(s, i, !restore))
        return -1;
    n->local_ms = local_ms;
    int rc = ut_gossip_tick(n->h, local_ms); /* time origin */
    if (rc != UT_OK)
        sim_violation(s->w, "contract", "node %u: first tick: %s", i + 1, ut_strerror(rc));
    /* The world marks the node up once this returns. */
    s->role[i] = SIM_ROLE_FOLLOWER;
    sim_segment(s->w, i, SIM_ROLE_FOLLOWER, n->max_inc);
    return 0;
}

static bool gs_node_crash(void *ctx, unsigned i)
{
    gs_t *s = ctx;
    end_instance(s, i);
    s->nodes[i].phase = GS_LIVE; /* a restart joins again */
    s->role[i] = SIM_ROLE_DOWN;  /* the world draws the segment */
    return false;
}

/* Deliver to node i now: the extra loss, then step. */
static void step_now(gs_t *s, unsigned i, const ut_msg_t *m)
{
    gs_node_t *n = &s->nodes[i];
    /* The highest claim in m that node i is suspected, dead, or (while it
     * is not leaving) gone, at or above its incarnation. */
    uint64_t inc = ut_gossip_incarnation(n->h), claim = 0;
    bool claimed = false, leaving = ut_gossip_status(n->h) == UT_NODE_LEAVING;
    for (size_t k = 0; k < m->body.gossip.n_updates; k++) {
        const ut_entry_t *e = &m->body.gossip.updates[k];
        if (e->index == i + 1 && e->term >= inc &&
            (e->type == UT_NODE_SUSPECTED || e->type == UT_NODE_DEAD ||
             (e->type == UT_NODE_LEAVING && !leaving)) &&
            (!claimed || e->term > claim)) {
            claim = e->term;
            claimed = true;
        }
    }
    int rc = ut_gossip_step(n->h, m);
    s->w->r->stats.invariant_checks++;
    if (rc != UT_OK) {
        sim_violation(
            s->w, "contract",
            "node %u refused a %s from node %" PRIu64 " that a correct peer sent: %s (%s)", i + 1,
            ut_msg_type_name(m->type), m->from, ut_strerror(rc), ut_gossip_errmsg(n->h));
        return;
    }
    /* SWIM §4.2: a member told it is suspected (or dead, or gone) at its
     * current incarnation refutes with a higher one. */
    s->w->r->stats.invariant_checks++;
    if (claimed && ut_gossip_incarnation(n->h) <= claim)
        sim_violation(s->w, "refutation",
                      "node %u was told by node %" PRIu64 " that it is suspected or gone at "
                      "incarnation %" PRIu64 " and still has incarnation %" PRIu64,
                      i + 1, m->from, claim, ut_gossip_incarnation(n->h));
}

static bool decode_frame(gs_t *s, const gs_frame_t *f, ut_msg_t *m)
{
    size_t used = 0;
    int rc = ut_msg_decoder_decode(s->dec, m, f->buf, f->len, &used);
    if (rc == UT_ENOMEM) {
        sim_fail(s->w);
        return false;
    }
    if (rc != UT_OK || used != f->len) {
        sim_violation(s->w, "codec", "a gossip frame of %zu bytes does not decode: %s", f->len,
                      ut_err_name(rc));
        return false;
    }
    return true;
}

static bool encode_frame(gs_t *s, unsigned from, const ut_msg_t *m, gs_frame_t *f)
{
    size_t len = 0;
    int rc = ut_msg_encoded_size(m, &len);
    if (rc == UT_OK) {
        f->buf = malloc(len ? len : 1);
        if (!f->buf) {
            sim_fail(s->w);
            return false;
        }
        rc = ut_msg_encode(m, f->buf, len, &f->len);
        if (rc == UT_OK)
            return true;
        free(f->buf);
        f->buf = NULL;
    }
    sim_violation(s->w, "message-validity", "node %u emitted a %s the codec refuses: %s", from + 1,
                  ut_msg_type_name(m->type), ut_err_name(rc));
    return false;
}

/* The end of a stall: what waited in the socket buffer, in order. */
static void unstall(gs_t *s, unsigned i)
{
    gs_node_t *n = &s->nodes[i];
    n->stall_until = 0;
    n->calm_since = gs_time(s);
    for (size_t k = 0; k < n->nq && n->h && !s->w->r->violation.found && !sim_failed(s->w); k++) {
        ut_msg_t m;
        if (decode_frame(s, &n->q[k], &m))
            step_now(s, i, &m);
        gs_drain(s, i);
    }
    free_queue(n);
}

static bool running(const gs_t *s, unsigned j)
{
    return sim_node_up(s->w, j) && s->nodes[j].h && s->nodes[j].phase != GS_OUT;
}

/* The workload's decisions (stalls, leaves, metadata), taken at world time
 * by whichever node ticks first. */
static void workload(gs_t *s)
{
    uint64_t now = sim_now(s->w);
    unsigned N = count(s);
    if (now >= s->next_stall) {
        s->next_stall = now + sim_rng_range(&s->rng, 2000, 10000);
        unsigned v = (unsigned)sim_rng_below(&s->rng, N);
        if (running(s, v) && s->nodes[v].stall_until == 0) {
            s->nodes[v].stall_until = now + sim_rng_range(&s->rng, 100, 700);
            s->stalls++;
        }
    }
    if (now >= s->next_leave) {
        s->next_leave = now + sim_rng_range(&s->rng, 10000, 30000);
        unsigned v = (unsigned)sim_rng_below(&s->rng, N), busy = 0;
        for (unsigned j = 0; j < N; j++)
            busy += s->nodes[j].phase != GS_LIVE;
        if (N >= 3 && busy == 0 && running(s, v) && s->nodes[v].stall_until == 0 &&
            ut_gossip_status(s->nodes[v].h) == UT_NODE_ALIVE) {
            int rc = ut_gossip_leave(s->nodes[v].h);
            if (rc != UT_OK)
                sim_violation(s->w, "contract", "node %u: leave: %s", v + 1, ut_strerror(rc));
            s->nodes[v].phase = GS_LEAVING;
            s->leaves++;
        }
    }
    if (now >= s->next_meta) {
        s->next_meta = now + sim_rng_range(&s->rng, 3000, 10000);
        unsigned v = (unsigned)sim_rng_below(&s->rng, N);
        gs_node_t *n = &s->nodes[v];
        if (running(s, v) && n->phase == GS_LIVE && n->stall_until == 0) {
            char meta[32];
            int ml = snprintf(meta, sizeof meta, "n%u.g%u.v%u", v + 1, (unsigned)n->generation,
                              (unsigned)++n->meta_ver);
            int rc = ut_gossip_set_meta(n->h, meta, (size_t)ml);
            if (rc != UT_OK)
                sim_violation(s->w, "contract", "node %u: set_meta: %s", v + 1, ut_strerror(rc));
            else
                gs_drain(s, v);
        }
    }
}

static void gs_tick(void *ctx, unsigned i, uint64_t local_ms)
{
    gs_t *s = ctx;
    gs_node_t *n = &s->nodes[i];
    if (!s->quiet)
        workload(s);
    if (n->phase == GS_OUT) {
        if (!s->quiet && sim_now(s->w) >= n->out_until) {
            if (!new_instance(s, i, false))
                return;
            n->local_ms = local_ms;
            gs_role(s, i);
        } else {
            return;
        }
    }
    if (!n->h)
        return;
    if (n->stall_until != 0) {
        if (!s->quiet && sim_now(s->w) < n->stall_until)
            return;
        unstall(s, i);
        if (!n->h)
            return;
    }
    n->local_ms = local_ms;
    int rc = ut_gossip_tick(n->h, local_ms);
    if (rc != UT_OK)
        sim_violation(s->w, "contract", "node %u: tick at %" PRIu64 ": %s (%s)", i + 1, local_ms,
                      ut_strerror(rc), ut_gossip_errmsg(n->h));
}

static void gs_deliver(void *ctx, unsigned i, const ut_msg_t *m)
{
    gs_t *s = ctx;
    gs_node_t *n = &s->nodes[i];
    if (!n->h || n->phase == GS_OUT) {
        s->w->r->stats.msgs_dropped++;
        return;
    }
    if (m->type < UT_MSG_GOSSIP_PING || m->type > UT_MSG_GOSSIP_PUSH) {
        s->w->r->stats.msgs_rejected++;
        sim_violation(s->w, "message-validity", "node %u got a %s it never sends", i + 1,
                      ut_msg_type_name(m->type));
        return;
    }
    if (!s->quiet && gs_loss_pct > 0 && sim_rng_below(&s->rng, 100) < gs_loss_pct) {
        s->w->r->stats.msgs_dropped++;
        return;
    }
    if (n->stall_until != 0) {
        if (n->nq >= GS_STALL_QUEUE) {
            s->w->r->stats.msgs_dropped++; /* the socket buffer is full */
            return;
        }
        if (sim_grow((void **)&n->q, &n->capq, n->nq + 1, sizeof *n->q) != 0) {
            sim_fail(s->w);
            return;
        }
        if (encode_frame(s, i, m, &n->q[n->nq]))
            n->nq++;
        return;
    }
    step_now(s, i, m);
}

static void send_one(gs_t *s, unsigned i, const ut_msg_t *m)
{
    size_t len = 0;
    s->w->r->stats.invariant_checks++;
    if (ut_msg_encoded_size(m, &len) == UT_OK && len > GS_DGRAM)
        sim_violation(s->w, "datagram-bound",
                      "node %u sent a %s of %zu bytes (max_datagram %u, %zu updates)", i + 1,
                      ut_msg_type_name(m->type), len, GS_DGRAM, m->body.gossip.n_updates);
    if (!s->quiet) {
        sim_send(s->w, i, m);
        return;
    }
    if (m->to == 0 || m->to > count(s)) {
        sim_violation(s->w, "message-validity", "node %u sent to unknown node %" PRIu64, i + 1,
                      m->to);
        return;
    }
    if (sim_grow((void **)&s->qq, &s->capqq, s->nqq + 1, sizeof *s->qq) != 0) {
        sim_fail(s->w);
        return;
    }
    gs_frame_t *f = &s->qq[s->nqq];
    if (encode_frame(s, i, m, f)) {
        f->to = (unsigned)(m->to - 1);
        s->nqq++;
        s->w->r->stats.msgs_sent++;
        s->w->r->stats.bytes_sent += f->len;
    }
}

static void on_event(gs_t *s, unsigned i, const ut_gossip_event_t *ev)
{
    s->events++;
    (*sim_stat(s->w, GST_EVENTS))++;
    s->w->r->stats.invariant_checks++;
    if (ev->node == i + 1 &&
        (ev->kind == UT_GOSSIP_EVENT_SUSPECTED || ev->kind == UT_GOSSIP_EVENT_DEAD)) {
        sim_violation(s->w, "self-view", "node %u reported itself %s (incarnation %" PRIu64 ")",
                      i + 1, ut_gossip_event_name(ev->kind), ev->incarnation);
        return;
    }
    if (ev->node == 0 || ev->node > count(s)) {
        sim_violation(s->w, "membership", "node %u reported an event about unknown member %" PRIu64,
                      i + 1, ev->node);
        return;
    }
    unsigned j = (unsigned)(ev->node - 1);
    const gs_node_t *t = &s->nodes[j];
    bool fp = gck_false_positive(running(s, j) && t->phase == GS_LIVE, t->base_inc, t->has_base,
                                 ev->incarnation);
    if (ev->kind == UT_GOSSIP_EVENT_SUSPECTED) {
        s->suspicions++;
        s->false_suspicions += fp;
    } else if (ev->kind == UT_GOSSIP_EVENT_DEAD) {
        s->deads++;
        s->false_deads += fp;
    }
}

/* The rules of tests/gossip_check.h for node i's whole member list, its
 * own status and incarnation, and the incarnation bound. */
static void check_node(gs_t *s, unsigned i)
{
    gs_node_t *n = &s->nodes[i];
    sim_stats_t *st = &s->w->r->stats;
    ut_node_status_t self = ut_gossip_status(n->h);
    int rank = gck_self_rank(self);
    st->invariant_checks += 2;
    if (rank < 0 || rank < n->self_rank) {
        sim_violation(s->w, "self-view", "node %u's own status went from rank %d to %s", i + 1,
                      n->self_rank, ut_node_status_name(self));
        return;
    }
    n->self_rank = rank;
    uint64_t inc = ut_gossip_incarnation(n->h);
    if (inc < n->inc) {
        sim_violation(s->w, "incarnation",
                      "node %u's own incarnation went back from %" PRIu64 " to %" PRIu64, i + 1,
                      n->inc, inc);
        return;
    }
    n->inc = inc;
    bool seen[SIM_MAX_NODES] = {false};
    size_t cnt = ut_gossip_member_count(n->h);
    for (size_t k = 0; k < cnt; k++) {
        ut_gossip_member_t m;
        if (ut_gossip_member_at(n->h, k, &m) != UT_OK || m.id == 0 || m.id > count(s)) {
            sim_violation(s->w, "membership", "node %u lists an unknown member at %zu", i + 1, k);
            return;
        }
        unsigned j = (unsigned)(m.id - 1);
        seen[j] = true;
        st->invariant_checks++;
        if (j == i) {
            if (m.status != self || m.incarnation != inc)
                sim_violation(s->w, "self-view", "node %u lists itself as %s at %" PRIu64, i + 1,
                              ut_node_status_name(m.status), m.incarnation);
            continue;
        }
        if (m.incarnation > s->nodes[j].max_inc) {
            sim_violation(s->w, "incarnation",
                          "node %u holds member %u at incarnation %" PRIu64
                          ", which it never reached (its highest: %" PRIu64 ")",
                          i + 1, j + 1, m.incarnation, s->nodes[j].max_inc);
            return;
        }
        gck_view_t *v = &n->view[j];
        char why[120];
        if (!gck_transition(v, true, (uint8_t)m.status, m.incarnation, why, sizeof why)) {
            sim_violation(s->w, "view", "node %u's view of member %u: %s", i + 1, j + 1, why);
            return;
        }
        if (!v->known || v->status != m.status) {
            view_count(s, j, v, -1);
            v->known = true;
            v->status = (uint8_t)m.status;
            view_count(s, j, v, +1);
            gs_role(s, j);
        }
        v->inc = m.incarnation;
        set_live_view(s, i, j, m.status == UT_NODE_ALIVE || m.status == UT_NODE_SUSPECTED);
    }
    for (unsigned j = 0; j < count(s); j++) {
        gck_view_t *v = &n->view[j];
        if (j == i || seen[j] || !v->known)
            continue;
        char why[120];
        if (!gck_transition(v, false, 0, 0, why, sizeof why)) {
            sim_violation(s->w, "view", "node %u's view of member %u: %s", i + 1, j + 1, why);
            return;
        }
        view_count(s, j, v, -1);
        memset(v, 0, sizeof *v);
        gs_role(s, j);
        set_live_view(s, i, j, false);
    }
}

/* ---- accuracy and merging, against the world's reachability ------------- */

/* Since when members a and b have both run unstalled and reached each
 * other both ways without a break (sim_reachable_since); UINT64_MAX if
 * they do not now. The quiet tail's network is healed: every pair is
 * reachable there from the tail's start at the latest. */
static uint64_t pair_since(const gs_t *s, unsigned a, unsigned b)
{
    uint64_t ab = sim_reachable_since(s->w, a, b), ba = sim_reachable_since(s->w, b, a);
    uint64_t t = ab > ba ? ab : ba;
    if (s->quiet && t > s->tail_start)
        t = s->tail_start;
    if (t == UINT64_MAX)
        return t;
    uint64_t ca = s->nodes[a].calm_since, cb = s->nodes[b].calm_since;
    t = ca > t ? ca : t;
    return cb > t ? cb : t;
}

/* A member that runs, is not leaving and is not stalled. */
static bool steady(const gs_t *s, unsigned j)
{
    return running(s, j) && s->nodes[j].phase == GS_LIVE && s->nodes[j].stall_until == 0;
}

/* Accuracy (Lifeguard's claim, checked at every step): a member that has
 * run unstalled, reachable both ways from a majority of the running
 * members (itself included) for longer than s->accuracy_ms, is not held
 * dead by a majority of them for longer than s->refute_ms (set_bounds). */
static void check_accuracy(gs_t *s)
{
    unsigned N = count(s), live = 0;
    uint64_t now = gs_time(s);
    for (unsigned k = 0; k < N; k++)
        live += running(s, k);
    for (unsigned j = 0; j < N; j++) {
        if (2u * s->dead_cnt[j] <= live || !steady(s, j)) {
            s->held_since[j] = 0;
            continue;
        }
        unsigned reach = 1; /* itself */
        for (unsigned k = 0; k < N; k++) {
            if (k == j || !running(s, k) || s->nodes[k].stall_until != 0)
                continue;
            uint64_t t = pair_since(s, j, k);
            reach += t != UINT64_MAX && now >= t + s->accuracy_ms;
        }
        s->w->r->stats.invariant_checks++;
        if (2u * reach <= live) {
            s->held_since[j] = 0;
            continue;
        }
        if (s->held_since[j] == 0)
            s->held_since[j] = now;
        if (now - s->held_since[j] > s->max_held_ms)
            s->max_held_ms = now - s->held_since[j];
        if (now - s->held_since[j] > s->refute_ms) {
            sim_violation(s->w, "accuracy",
                          "member %u (incarnation %" PRIu64 ") has run unstalled and reached %u of "
                          "the %u running members both ways for over %" PRIu64
                          " ms, and %u of them have held it dead for %" PRIu64 " ms (bound %" PRIu64
                          " ms)",
                          j + 1, ut_gossip_incarnation(s->nodes[j].h), reach, live, s->accuracy_ms,
                          s->dead_cnt[j], now - s->held_since[j], s->refute_ms);
            return;
        }
    }
}

/* Merging after a heal (checked at every step of observer i): once i and
 * j have both run unstalled and reached each other both ways for
 * s->merge_ms, i has held j alive (or suspected: loss may make it so
 * again at any time) at some moment since then. After a partition, a
 * stall, a restart or a rejoin alike. */
static void check_merge(gs_t *s, unsigned i)
{
    if (!steady(s, i))
        return;
    uint64_t now = gs_time(s);
    for (unsigned j = 0; j < count(s); j++) {
        if (j == i || s->live_view[i][j] || !steady(s, j))
            continue;
        uint64_t t = pair_since(s, i, j);
        s->w->r->stats.invariant_checks++;
        if (t == UINT64_MAX || now < t + s->merge_ms || s->last_live[i][j] >= t)
            continue;
        const gck_view_t *v = &s->nodes[i].view[j];
        sim_violation(s->w, "merge-after-heal",
                      "node %u has not seen member %u alive in the %" PRIu64
                      " ms since both ran unstalled and reached each other both ways "
                      "(bound %" PRIu64 " ms); it holds it %s",
                      i + 1, j + 1, now - t, s->merge_ms,
                      v->known ? ut_node_status_name((ut_node_status_t)v->status) : "unknown");
        return;
    }
}

static void gs_drain(void *ctx, unsigned i)
{
    gs_t *s = ctx;
    gs_node_t *n = &s->nodes[i];
    if (!n->h)
        return;
    /* Only the member raises its incarnation: note it before anything it
     * sends can carry it. */
    uint64_t inc = ut_gossip_incarnation(n->h);
    if (inc > n->max_inc)
        n->max_inc = inc;
    ut_gossip_ready_t rd;
    for (;;) {
        int rc = ut_gossip_ready(n->h, &rd);
        if (rc != UT_OK) {
            sim_violation(s->w, "contract", "node %u: ready: %s", i + 1, ut_strerror(rc));
            return;
        }
        if (ut_gossip_ready_empty(&rd))
            break;
        for (size_t k = 0; k < rd.n_msgs; k++)
            send_one(s, i, &rd.msgs[k]);
        for (size_t k = 0; k < rd.n_events; k++)
            on_event(s, i, &rd.events[k]);
        rc = ut_gossip_advance(n->h, &rd);
        if (rc != UT_OK) {
            sim_violation(s->w, "contract", "node %u: advance: %s", i + 1, ut_strerror(rc));
            return;
        }
    }
    check_node(s, i);
    if (!s->w->r->violation.found)
        check_merge(s, i);
    if (!s->w->r->violation.found)
        check_accuracy(s);
    if (n->phase == GS_LEAVING && ut_gossip_has_left(n->h)) {
        /* Its leave was disseminated: the process exits, and comes back
         * later as a new instance. */
        end_instance(s, i);
        n->phase = GS_OUT;
        n->out_until = sim_now(s->w) + sim_rng_range(&s->rng, 2000, 6000);
        gs_role(s, i);
    }
}

static void gs_request(void *ctx, unsigned i, const sim_cmsg_t *m)
{
    gs_t *s = ctx;
    (void)m;
    sim_violation(s->w, "client-request",
                  "node %u got a client request (the gossip scenario "
                  "runs no clients)",
                  i + 1);
}

/* ---- the quiet tail ------------------------------------------------------- */

/* How long a member crashed at the start of a quiet, healed period may take
 * to be declared dead everywhere: its next probe comes within two passes of
 * the round-robin order (SWIM §4.3: 2(N-1) - 1 probes), each period
 * stretched at most awareness_max times by the local health (Lifeguard
 * §4.1), plus the probe timeout and the longest suspicion (Lifeguard §5:
 * suspicion_max_mult x suspicion_mult x period at N < 100), a join of N
 * periods for a member still joining, and three push-pull rounds for the
 * two sides of a healed partition to find each other (every other round
 * goes to a dead member). */
static unsigned others_running(const gs_t *s, unsigned i)
{
    unsigned k = 0;
    for (unsigned j = 0; j < count(s); j++)
        k += j != i && s->nodes[j].h != NULL;
    return k;
}

static uint64_t quiet_bound(const gs_t *s)
{
    ut_gossip_config_t c;
    ut_gossip_config_init(&c, UT_GOSSIP_CONFIG_VERSION);
    uint64_t N = count(s);
    uint64_t aw = c.awareness_max;
    uint64_t probes = 2 * N + 1;
    uint64_t susp = (uint64_t)c.suspicion_max_mult * c.suspicion_mult * GS_PERIOD_MS;
    return probes * aw * GS_PERIOD_MS + aw * GS_TIMEOUT_MS + susp + N * GS_PERIOD_MS +
           6u * GS_PUSH_PULL_MS + 1000u;
}

static void quiet_tail(gs_t *s)
{
    unsigned N = count(s);
    s->tail_start = s->tail_now = sim_now(s->w);
    s->quiet = true;
    /* Stalls end; members that were leaving finish; the network is quiet
     * from here on (what was in flight in the world is lost). */
    for (unsigned i = 0; i < N; i++)
        if (s->nodes[i].h && s->nodes[i].stall_until != 0)
            unstall(s, i);
    /* One more crash, so that completeness is checked in every run. */
    unsigned up = 0, victim = N;
    for (unsigned i = 0; i < N; i++)
        up += running(s, i);
    if (N >= 3 && up >= 3) {
        unsigned start = (unsigned)sim_rng_below(&s->rng, N);
        for (unsigned k = 0; k < N && victim == N; k++)
            if (running(s, (start + k) % N) && s->nodes[(start + k) % N].phase == GS_LIVE)
                victim = (start + k) % N;
        if (victim < N) {
            end_instance(s, victim);
            s->w->r->stats.crashes++;
            s->w->r->stats.point_crashes++;
        }
    }
    uint64_t bound = quiet_bound(s);
    for (uint64_t t = 0; t < bound && !s->w->r->violation.found && !sim_failed(s->w);
         t += GS_QUIET_STEP_MS) {
        s->tail_now = s->tail_start + t + GS_QUIET_STEP_MS;
        for (unsigned i = 0; i < N; i++) {
            if (!s->nodes[i].h)
                continue;
            gs_tick(s, i, s->nodes[i].local_ms + GS_QUIET_STEP_MS);
            gs_drain(s, i);
        }
        for (size_t k = 0; k < s->nqq && !s->w->r->violation.found && !sim_failed(s->w); k++) {
            gs_frame_t f = s->qq[k]; /* the array may move while we deliver */
            s->qq[k].buf = NULL;
            gs_node_t *n = &s->nodes[f.to];
            if (n->h) {
                ut_msg_t m;
                if (decode_frame(s, &f, &m)) {
                    s->w->r->stats.msgs_delivered++;
                    step_now(s, f.to, &m);
                    gs_drain(s, f.to);
                }
            } else {
                s->w->r->stats.msgs_dropped++;
            }
            free(f.buf);
        }
        s->nqq = 0;
    }
    s->quiet_ms = bound;
    if (s->w->r->violation.found || sim_failed(s->w))
        return;
    /* Completeness (SWIM §3: every failure is detected by every non-faulty
     * member) and accuracy after the heal. */
    for (unsigned i = 0; i < N; i++) {
        gs_node_t *o = &s->nodes[i];
        if (!o->h || (ut_gossip_status(o->h) == UT_NODE_JOINING && others_running(s, i) == 0))
            continue; /* alone, a joining member rightly waits for a seed */
        s->w->r->stats.invariant_checks++;
        if (ut_gossip_status(o->h) != UT_NODE_ALIVE) {
            sim_violation(s->w, "accuracy-after-heal",
                          "node %u is still %s after a quiet period of %" PRIu64 " ms", i + 1,
                          ut_node_status_name(ut_gossip_status(o->h)), bound);
            return;
        }
        for (unsigned j = 0; j < N; j++) {
            if (j == i)
                continue;
            ut_gossip_member_t m;
            bool known = ut_gossip_member_find(o->h, j + 1, &m) == UT_OK;
            s->w->r->stats.invariant_checks++;
            if (s->nodes[j].h) {
                if (!known || m.status != UT_NODE_ALIVE) {
                    sim_violation(
                        s->w, "accuracy-after-heal",
                        "node %u sees live member %u (%s, incarnation %" PRIu64
                        ", knows %zu members) as %s after a quiet, healed period of "
                        "%" PRIu64 " ms",
                        i + 1, j + 1, ut_node_status_name(ut_gossip_status(s->nodes[j].h)),
                        ut_gossip_incarnation(s->nodes[j].h), ut_gossip_member_count(s->nodes[j].h),
                        known ? ut_node_status_name(m.status) : "unknown", bound);
                    return;
                }
            } else if (known && m.status != UT_NODE_DEAD && m.status != UT_NODE_LEAVING) {
                sim_violation(s->w, "completeness",
                              "node %u still sees member %u, which is %s, as %s after %" PRIu64
                              " quiet ms",
                              i + 1, j + 1,
                              j == victim                   ? "crashed"
                              : s->nodes[j].phase == GS_OUT ? "gone (left)"
                                                            : "down",
                              ut_node_status_name(m.status), bound);
                return;
            } else if (known && s->nodes[j].phase == GS_OUT && m.status == UT_NODE_DEAD) {
                s->left_seen_dead++; /* its leave never reached i: buried instead */
            }
        }
    }
}

static void gs_finish(void *ctx, sim_result_t *r)
{
    gs_t *s = ctx;
    if (!r->violation.found && !sim_failed(s->w))
        quiet_tail(s);
    r->stats.scen[GST_DEADS] = s->deads;
    r->stats.scen[GST_FALSE_DEADS] = s->false_deads;
    r->stats.scen[GST_SUSPICIONS] = s->suspicions;
    uint64_t mx = 0;
    for (unsigned j = 0; j < count(s); j++)
        mx = s->nodes[j].max_inc > mx ? s->nodes[j].max_inc : mx;
    r->stats.scen[GST_MAX_INC] = mx;
    r->stats.scen[GST_MERGES] = s->merges;
    r->stats.scen[GST_MAX_MERGE] = s->max_merge_ms;
    r->stats.scen[GST_MAX_HELD] = s->max_held_ms;
}

/* ---- options ---------------------------------------------------------------- */

static int set_loss(sim_options_t *o, const char *v, char *err, size_t cap)
{
    (void)o;
    char *end = NULL;
    unsigned long p = strtoul(v, &end, 10);
    if (!*v || *end || p > 50) {
        snprintf(err, cap, "want a percentage 0..50, got '%s'", v);
        return -1;
    }
    gs_loss_pct = (unsigned)p;
    return 0;
}

static void replay_loss(const sim_options_t *o, char *buf, size_t cap)
{
    (void)o;
    if (gs_loss_pct)
        snprintf(buf, cap, " --gossip-loss %u", gs_loss_pct);
}

static int set_no_lifeguard(sim_options_t *o, const char *v, char *err, size_t cap)
{
    (void)o;
    (void)v;
    (void)err;
    (void)cap;
    gs_no_lifeguard = true;
    return 0;
}

static void replay_no_lifeguard(const sim_options_t *o, char *buf, size_t cap)
{
    (void)o;
    if (gs_no_lifeguard)
        snprintf(buf, cap, " --no-lifeguard");
}

static void gs_defaults(sim_options_t *o)
{
    o->clients = 0;
    o->nodes = 8;
    o->time_ms = 60000;
}

static const sim_scenario_option_t gs_options[] = {
    {"gossip-loss", true,
     "  --gossip-loss PCT gossip: drop PCT % more of the messages (0..50) on top of the\n"
     "                    world's loss\n",
     set_loss, replay_loss},
    {"no-lifeguard", false,
     "  --no-lifeguard    gossip: plain SWIM (no local health, fixed suspicion timeout,\n"
     "                    no buddy system)\n",
     set_no_lifeguard, replay_no_lifeguard},
};

static const sim_stat_def_t gs_stats[] = {
    [GST_DEADS] = {"dead_declarations"},    /* members declared dead, all views */
    [GST_FALSE_DEADS] = {"false_dead"},     /* of them, of a member that was alive */
    [GST_SUSPICIONS] = {"suspicions"},      /* suspicion events, all views */
    [GST_MAX_INC] = {"max_incarnation"},    /* highest incarnation seen */
    [GST_EVENTS] = {"membership_events"},   /* membership events, all nodes */
    [GST_MERGES] = {"merges"},              /* pairs that (re)merged after a heal, stall or join */
    [GST_MAX_MERGE] = {"slowest_merge_ms"}, /* the slowest of them (a run's figure) */
    [GST_MAX_HELD] = {"longest_held_dead_ms"}, /* accuracy: longest a majority held a
                                                  protected member dead (a run's figure) */
};

static const sim_stat_row_t gs_rows[] = {
    {"members", "{dead_declarations} declared dead ({false_dead} of a live member), "
                "{suspicions} suspicions, highest incarnation {max_incarnation}"},
    {"events", "{membership_events} membership events across nodes"},
    {"merging", "{merges} merges after heals, stalls and joins, the slowest {slowest_merge_ms} ms; "
                "a protected member held dead by a majority for at most {longest_held_dead_ms} ms"},
};

const sim_scenario_t sim_scenario_gossip = {
    .name = "gossip",
    .help = "  N nodes run ut_gossip_t (SWIM with Lifeguard) over the world's network, with\n"
            "  joins, graceful leaves and rejoins, stalls and metadata updates. After every\n"
            "  event: incarnations only rise, a member never believes itself suspect or\n"
            "  dead, suspicions are refuted, datagrams stay within their bound, a member\n"
            "  steady and reachable from a majority is not held dead by a majority beyond\n"
            "  a refutation bound, members that reach each other merge within a bound after\n"
            "  heals, stalls and restarts (the world's reachability); at the end,\n"
            "  after a quiet healed tail, completeness (every crashed member dead in every\n"
            "  live view) and accuracy (false dead declarations counted).\n",
    .stats = gs_stats,
    .n_stats = sizeof gs_stats / sizeof gs_stats[0],
    .rows = gs_rows,
    .n_rows = sizeof gs_rows / sizeof gs_rows[0],
    .sweep_text = "{dead_declarations} dead declarations ({false_dead} false)",
    .seed_text = "{dead_declarations} dead, {false_dead} false, {suspicions} suspicions",
    .check_history = sim_check_in_run,
    .history_property = "completeness after the quiet tail (checked in the run)",
    .summary = "libunitypes' SWIM + Lifeguard membership (ut_gossip_t): joins, leaves, stalls",
    .title = "gossip membership (SWIM + Lifeguard)",
    .invariants = "incarnations, refutation, self view, datagrams, accuracy and merging\n"
                  "               (reachability); completeness, accuracy after a quiet tail",
    .crash_point_text = "at the quiet tail",
    .options = gs_options,
    .n_options = sizeof gs_options / sizeof gs_options[0],
    .defaults = gs_defaults,
    .create = gs_create,
    .destroy = gs_destroy,
    .node_start = gs_node_start,
    .node_crash = gs_node_crash,
    .tick = gs_tick,
    .deliver = gs_deliver,
    .drain = gs_drain,
    .request = gs_request,
    .finish = gs_finish,
};
