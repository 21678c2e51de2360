/* SPDX-License-Identifier: MIT */
/* The replica scenario: node 1 is a primary running libunitypes' replica
 * set (ut_replica_set_t, include/unitypes/replica.h) under one replication
 * strategy; nodes 2..N are its replicas, which really store positions (a
 * contiguous prefix on their simulated disk), forward them as the strategy
 * says (chain: to the successor, van Renesse & Schneider, OSDI 2004, §2-3;
 * tree: to their children) and acknowledge what they hold. The world's
 * clients read and write a key-value register whose log is the primary's
 * positions (replica_request); the primary also writes from its tick: two
 * writers' dotted version vector register (Almeida et al., DAIS 2014) and
 * a hybrid logical clock stamp per write (Kulkarni et al., OPODIS 2014).
 *
 * Everything crosses the world's network as UT_MSG_REPL_* through the
 * codec, so loss, duplication, reordering, partitions, crashes and skew all
 * apply. The primary persists its last position (its log) at each write and
 * the durable position it reports at each drain; a restarted primary
 * resumes with ut_replica_set_restore. A replica persists what it stores
 * and its chain successor; one crash in eight also loses its disk (the
 * operator reports it failed, and resyncs it once it is back).
 *
 * After every event: the checks shared with the seeded cluster test
 * (tests/replica_check.h: durable held by the replicas the strategy names,
 * at every event and when it moves; status changes and degradations only
 * as events; durable never back), CRAQ clean reads held by the link that
 * serves them, bounded causal metadata, HLC timestamps strictly rising. At
 * the end: the durable position advanced, every replica converged on the
 * primary's log after the quiet phase, and the clients' history is
 * linearizable (the world's checker). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../scenario.h"

#include "../../../tests/replica_check.h"

#define PRIMARY 0u

/* The scenario's figures (sim_stat). */
enum { RST_STARTS, RST_STORED, RST_DURABLE, RST_DEGRADED, RST_RESTORED, RST_REPLICA_READS };
#define WRITE_PPM 300000u        /* a write at 3 primary ticks in 10 */
#define RETRANSMIT_TICKS 5u      /* the transport's repair, every 50 ms */
#define ANNOUNCE_TICKS 50u       /* chain membership re-announced every 500 ms */
#define REACK_TICKS 10u          /* a replica repeats its ack every 100 ms */
#define WINDOW 32u               /* positions resent at once */
#define WIPE_PPM 125000u         /* 1 replica crash in 8 loses the disk */
#define MARK_OFFLINE_PPM 500000u /* the operator notices half the other crashes */
#define WRITERS 2u               /* clients of the dotted version vector register */
#define HLC_MAX_OFFSET_MS 1000u
#define QUIET_WINDOW 128u /* positions resent at once in the quiet phase */
#define DRAIN_MS 2000u    /* the primary takes no writes in the run's last 2 s */
#define NO_CLIENT UINT32_MAX
#define AHEAD 256u /* positions a replica holds out of order */

/* A position of the primary's log: the payload that travels out of band
 * (ut_msg_repl_write_t carries positions only). The primary's own writes
 * (from its tick) change no key; a client's put or successful
 * compare-and-set writes one. */
typedef struct lentry {
    uint64_t id;     /* unique per write ever made */
    uint64_t digest; /* of the ids at positions 1..p */
    uint64_t reqid;
    int64_t value;
    uint32_t client; /* NO_CLIENT: the primary's own write */
    uint32_t key;
    uint8_t kind; /* LC_PUT or LC_CAS */
} lentry_t;

/* A client's last logged operation (the state machine's session): a
 * retried request takes effect once. */
typedef struct session {
    uint64_t reqid, pos;
    int64_t result;
    bool cas_ok;
} session_t;

/* A reply held until the durable position reaches pos. */
typedef struct pending {
    uint64_t reqid, pos;
    int64_t result;
    uint32_t client;
    bool cas_ok;
} pending_t;

typedef struct rdisk {
    uint64_t stored;    /* contiguous prefix held */
    uint64_t successor; /* chain: node id it forwards to, 0 = tail */
    uint64_t epoch;     /* highest resync epoch a write gave it; its acks carry it */
    uint64_t digest;    /* of the ids of the positions it stored (lentry_t) */
} rdisk_t;

typedef struct rnode {
    rdisk_t disk, synced; /* synced: what the lying disk really wrote */
    unsigned ticks;
    bool wiped; /* lost its disk; not yet resynced */
    /* Volatile: positions stored+1+j received out of order (bit j), stored
     * once the gap before them fills (the network reorders). */
    uint64_t ahead[AHEAD / 64];
    uint8_t role;
} rnode_t;

typedef struct pdisk {
    uint64_t last, durable;
    uint64_t starts; /* the primary's incarnation (ut_replica_set_config_t) */
    ut_dvv_t dvv;
} pdisk_t;

typedef struct replica {
    sim_world_t *w;
    ut_replica_set_config_t cfg;
    uint64_t ids[SIM_MAX_NODES]; /* replica ids, 2..N */
    size_t nrep;
    ut_replica_set_t *h; /* NULL while the primary is down */
    pdisk_t disk, synced;
    ut_vclock_t ctx[WRITERS]; /* what each writer last read */
    ut_hlc_t hlc;             /* volatile: the physical clock carries it over restarts */
    uint64_t hlc_max;
    unsigned ticks;
    rnode_t r[SIM_MAX_NODES]; /* by node index; 0 unused */
    rc_state_t rc;
    /* The register: the primary's log (positions 1..disk.last are on its
     * disk), and, volatile, rebuilt from it at each start: the keys'
     * values after the last position, the sessions, the held replies. */
    lentry_t *log;
    size_t cap_log;
    uint64_t next_id;
    int64_t kv[SIM_MAX_KEYS];
    session_t sess[SIM_MAX_CLIENTS];
    pending_t *pend;
    size_t n_pend, cap_pend;
    bool weak; /* an eventual configuration: replicas serve reads */
    /* figures */
    uint64_t writes, refused, degradations, restores, wipes, max_siblings;
} replica_t;

/* --strategy: the one option, kept here because sim_options_t has no room
 * for a scenario's own values; -1 = drawn per seed. */
static int g_strategy = -1;
/* --failover: a durable write on no replica is a violation too. */
static bool g_failover = false;
/* --replica-reads: under an eventual configuration the replicas serve
 * reads from what they store. */
static bool g_replica_reads = false;

static void check(replica_t *s);

static void send_msg(replica_t *s, unsigned from, ut_msg_type_t type, uint64_t to, uint64_t a,
                     uint64_t b, uint64_t epoch)
{
    ut_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.from = from + 1;
    m.to = to;
    if (type == UT_MSG_REPL_WRITE) {
        m.body.repl_write.position = a;
        m.body.repl_write.durable = b;
        m.body.repl_write.epoch = epoch;
    } else if (type == UT_MSG_REPL_ACK) {
        m.body.repl_ack.acked = a;
        m.body.repl_ack.applied = b;
        m.body.repl_ack.epoch = epoch;
    } else {
        m.body.repl_link.successor = a;
        m.body.repl_link.position = b;
    }
    sim_send(s->w, from, &m);
}

static int rep_index(const replica_t *s, uint64_t id)
{
    return id >= 2 && id <= s->nrep + 1 ? (int)(id - 2) : -1;
}

/* ---- the register ------------------------------------------------------ */

static uint64_t digest_mix(uint64_t d, uint64_t id)
{
    uint64_t x = d ^ (id * 0x9e3779b97f4a7c15ull);
    return sim_splitmix64(&x);
}

/* The digest of positions 1..p of the primary's log. */
static uint64_t log_digest(const replica_t *s, uint64_t p)
{
    return p == 0 ? 0 : s->log[p].digest;
}

/* The primary's last positions are resent in the quiet phase at a higher
 * rate, so that a replica that lost its disk catches up before the run
 * ends (the convergence check). */
static uint64_t window(const replica_t *s)
{
    return sim_quiet(s->w) ? QUIET_WINDOW : WINDOW;
}

/* The run's last DRAIN_MS of a quiet phase: no new writes, so that every
 * replica can be held to the primary's last position at the end. */
static bool draining(const replica_t *s)
{
    return sim_quiet(s->w) && sim_now(s->w) + DRAIN_MS >= sim_opts(s->w)->time_ms;
}

static void register_apply(replica_t *s, uint64_t p)
{
    const lentry_t *e = &s->log[p];
    if (e->client == NO_CLIENT)
        return;
    s->kv[e->key] = e->value;
    s->sess[e->client] = (session_t){e->reqid, p, e->value, e->kind == LC_CAS};
}

/* The value of key after positions 1..upto (a replica's read). */
static int64_t register_value_at(const replica_t *s, uint32_t key, uint64_t upto)
{
    for (uint64_t p = upto; p >= 1; p--)
        if (s->log[p].client != NO_CLIENT && s->log[p].key == key)
            return s->log[p].value;
    return 0;
}

static void reply_ok(replica_t *s, unsigned i, uint32_t client, uint64_t reqid, int64_t result,
                     bool cas_ok)
{
    sim_cmsg_t r = {
        .kind = SIM_CM_OK, .client = client, .reqid = reqid, .result = result, .cas_ok = cas_ok};
    sim_reply(s->w, i, client, &r);
}

/* Answer once position pos is durable (and the durable position persisted):
 * a write once it is, a read once everything before it is (a read index). */
static void reply_at(replica_t *s, uint32_t client, uint64_t reqid, uint64_t pos, int64_t result,
                     bool cas_ok)
{
    if (pos <= s->disk.durable) {
        reply_ok(s, PRIMARY, client, reqid, result, cas_ok);
        return;
    }
    if (sim_grow((void **)&s->pend, &s->cap_pend, s->n_pend + 1, sizeof *s->pend) != 0) {
        sim_fail(s->w);
        return;
    }
    s->pend[s->n_pend++] = (pending_t){reqid, pos, result, client, cas_ok};
}

static void replies_flush(replica_t *s)
{
    size_t k = 0;
    for (size_t j = 0; j < s->n_pend; j++) {
        const pending_t *q = &s->pend[j];
        if (q->pos <= s->disk.durable)
            reply_ok(s, PRIMARY, q->client, q->reqid, q->result, q->cas_ok);
        else
            s->pend[k++] = *q;
    }
    s->n_pend = k;
}

/* ---- the primary ------------------------------------------------------- */

static void primary_persist(replica_t *s)
{
    if (sim_disk_sync(s->w, PRIMARY))
        s->synced = s->disk;
}

static void replica_roles(replica_t *s)
{
    for (size_t k = 0; k < s->nrep; k++) {
        unsigned i = (unsigned)k + 1;
        if (!sim_node_up(s->w, i))
            continue;
        uint8_t role = s->rc.st[k] == UT_REPLICA_IN_SYNC ? SIM_ROLE_FOLLOWER : SIM_ROLE_CANDIDATE;
        if (role != s->r[i].role) {
            s->r[i].role = role;
            sim_segment(s->w, i, role, 0);
        }
    }
}

static void primary_drain(replica_t *s)
{
    if (!s->h)
        return;
    ut_replica_ready_t rd;
    for (;;) {
        int rc = ut_replica_set_ready(s->h, &rd);
        if (rc != UT_OK) {
            sim_violation(s->w, "ready-contract", "primary ready: %s", ut_err_name(rc));
            return;
        }
        if (ut_replica_set_ready_empty(&rd))
            break;
        for (size_t k = 0; k < rd.n_msgs; k++)
            sim_send(s->w, PRIMARY, &rd.msgs[k]);
        for (size_t k = 0; k < rd.n_events; k++) {
            const ut_replica_event_t *e = &rd.events[k];
            rc_event(&s->rc, e);
            if (e->kind == UT_REPLICA_EVENT_DEGRADED) {
                s->degradations++;
                (*sim_stat(s->w, RST_DEGRADED))++;
                sim_mark(s->w, SIM_MARK_LEADER, PRIMARY, e->position,
                         "n1 semi-sync degraded to async at %" PRIu64, e->position);
            } else if (e->kind == UT_REPLICA_EVENT_RESTORED) {
                (*sim_stat(s->w, RST_RESTORED))++;
                sim_mark(s->w, SIM_MARK_LEADER, PRIMARY, e->position,
                         "n1 semi-sync restored at %" PRIu64, e->position);
            }
        }
        rc = ut_replica_set_advance(s->h, &rd);
        if (rc != UT_OK) {
            sim_violation(s->w, "ready-contract", "primary advance: %s", ut_err_name(rc));
            return;
        }
    }
    /* The durable position is reported (to clients) only once persisted. */
    if (rd.durable != s->disk.durable) {
        s->disk.durable = rd.durable;
        primary_persist(s);
        replies_flush(s);
    }
    replica_roles(s);
}

static void operator_mark(replica_t *s, size_t k, ut_replica_status_t st)
{
    int rc = ut_replica_set_mark(s->h, s->ids[k], st);
    if (rc == UT_ENOMEM)
        sim_fail(s->w);
    else if (rc != UT_OK)
        sim_violation(s->w, "mark", "marking replica %" PRIu64 " %s from %s: %s", s->ids[k],
                      ut_replica_status_name(st), ut_replica_status_name(s->rc.st[k]),
                      ut_err_name(rc));
}

static int primary_start(replica_t *s, bool restore, uint64_t local_ms)
{
    /* A new incarnation at every start, persisted before the set runs, so
     * that its resync epochs are above every one handed out before. */
    s->disk.starts++;
    primary_persist(s);
    s->cfg.incarnation = s->disk.starts;
    int rc = ut_replica_set_new(&s->h, &s->cfg);
    if (rc != UT_OK) {
        sim_fail_msg(s->w, "ut_replica_set_new: %s", ut_strerror(rc));
        return -1;
    }
    if (!restore)
        rc_init(&s->rc, &s->cfg);
    rc = ut_replica_set_tick(s->h, local_ms); /* time origin */
    if (rc == UT_OK && restore) {
        rc = ut_replica_set_restore(s->h, s->disk.last, s->disk.durable);
        rc_reset(&s->rc, UT_REPLICA_SYNCING);
        s->restores++;
        s->w->r->stats.invariant_checks++;
        if (rc != UT_OK)
            sim_violation(s->w, "restore",
                          "the primary refused its own log (last %" PRIu64 ", durable %" PRIu64
                          "): %s",
                          s->disk.last, s->disk.durable, ut_replica_set_errmsg(s->h));
        /* The operator tells the new primary which disks were lost. */
        for (size_t k = 0; k < s->nrep; k++)
            if (s->r[k + 1].wiped)
                operator_mark(s, k, UT_REPLICA_FAILED);
    }
    if (rc != UT_OK && !restore) {
        sim_fail_msg(s->w, "primary start: %s", ut_strerror(rc));
        return -1;
    }
    /* The register's volatile state, from the log on the disk. */
    memset(s->kv, 0, sizeof s->kv);
    memset(s->sess, 0, sizeof s->sess);
    for (uint64_t p = 1; p <= s->disk.last; p++)
        register_apply(s, p);
    s->n_pend = 0;
    memset(&s->hlc, 0, sizeof s->hlc);
    ut_hlc_init(&s->hlc, HLC_MAX_OFFSET_MS);
    (*sim_stat(s->w, RST_STARTS))++;
    sim_segment(s->w, PRIMARY, SIM_ROLE_LEADER, 0);
    if (!restore)
        sim_mark(s->w, SIM_MARK_LEADER, PRIMARY, 0, "n1 primary: %s, %s consistency%s",
                 ut_replication_name(s->cfg.strategy), ut_consistency_name(s->cfg.consistency),
                 s->weak && g_replica_reads ? ", replicas serve reads" : "");
    return 0;
}

/* Write e at the next position: 1 done (*out), 0 refused by the strategy,
 * -1 (out of memory or a violation). */
static int primary_write(replica_t *s, const lentry_t *e, uint64_t *out)
{
    uint64_t p = 0;
    int rc = ut_replica_set_write(s->h, &p);
    if (rc == UT_ESTATE) {
        s->refused++; /* the strategy's contract: refuse rather than weaken */
        return 0;
    }
    if (rc == UT_ENOMEM) {
        sim_fail(s->w);
        return -1;
    }
    if (rc != UT_OK || p != s->disk.last + 1) {
        sim_violation(s->w, "write", "write gave position %" PRIu64 " after %" PRIu64 ": %s", p,
                      s->disk.last, ut_err_name(rc));
        return -1;
    }
    if (sim_grow((void **)&s->log, &s->cap_log, (size_t)p + 1, sizeof *s->log) != 0) {
        sim_fail(s->w);
        return -1;
    }
    s->writes++;
    s->log[p] = *e;
    s->log[p].id = ++s->next_id;
    s->log[p].digest = digest_mix(log_digest(s, p - 1), s->log[p].id);
    s->disk.last = p;
    register_apply(s, p);
    /* Two clients write one key through this coordinator, each with the
     * context it last read (its own last write, not the other's): a dotted version vector keeps
     * one sibling per client at most, where per-server version vectors
     * grow one per write (the Riak sibling explosion). */
    unsigned c = (unsigned)(p % WRITERS);
    rc = ut_dvv_put(&s->disk.dvv, &s->ctx[c], 1, p, NULL);
    s->w->r->stats.invariant_checks++;
    if (rc != UT_OK)
        sim_violation(s->w, "causal-metadata", "dvv put by writer %u: %s", c, ut_err_name(rc));
    else if (s->disk.dvv.n > WRITERS || s->disk.dvv.past.n > 1)
        sim_violation(s->w, "causal-metadata",
                      "%" PRIu32 " siblings and %" PRIu32 " clock entries for %u writers through "
                      "one coordinator",
                      s->disk.dvv.n, s->disk.dvv.past.n, WRITERS);
    if (s->disk.dvv.n > s->max_siblings)
        s->max_siblings = s->disk.dvv.n;
    s->ctx[c] = s->disk.dvv.past; /* the writer reads its write back */
    primary_persist(s);
    *out = p;
    return 1;
}

/* HLC stamps rise strictly, whatever the node's clock skew and restarts. */
static void primary_stamp(replica_t *s, uint64_t local_ms)
{
    uint64_t ts = 0;
    int rc = ut_hlc_now(&s->hlc, local_ms, &ts);
    if (rc != UT_OK || ts <= s->hlc_max)
        sim_violation(s->w, "hlc", "hlc stamp %" PRIu64 " after %" PRIu64 ": %s", ts, s->hlc_max,
                      ut_err_name(rc));
    s->hlc_max = ts;
}

static uint64_t acked_of(replica_t *s, uint64_t id)
{
    ut_replica_info_t inf;
    return ut_replica_set_info(s->h, id, &inf) == UT_OK ? inf.acked : 0;
}

static uint64_t epoch_of(replica_t *s, uint64_t id)
{
    ut_replica_info_t inf;
    return ut_replica_set_info(s->h, id, &inf) == UT_OK ? inf.epoch : 0;
}

/* The transport's repair: resend what a replica lacks, re-announce the
 * chain (a lost UT_MSG_REPL_LINK must not wedge it). */
static void primary_retransmit(replica_t *s, bool announce)
{
    uint64_t last = ut_replica_set_last(s->h), durable = ut_replica_set_durable(s->h);
    if (s->cfg.strategy != UT_REPLICATION_CHAIN) {
        for (size_t k = 0; k < s->nrep; k++) {
            if (s->rc.st[k] == UT_REPLICA_FAILED)
                continue;
            uint64_t a = acked_of(s, s->ids[k]), e = epoch_of(s, s->ids[k]);
            for (uint64_t p = a + 1; p <= last && p <= a + window(s); p++)
                send_msg(s, PRIMARY, UT_MSG_REPL_WRITE, s->ids[k], p, durable, e);
        }
        return;
    }
    /* A resynced replica learns its epoch from a write of the primary's
     * own: the resync sent one; repeat it while the replica resyncs, or is
     * offline for want of acks the primary can credit (a lost one must not
     * leave every later ack stale; found by the convergence check, seed 27
     * of --strategy chain --failover). */
    for (size_t k = 0; k < s->nrep; k++) {
        uint64_t e = epoch_of(s, s->ids[k]);
        if (e != 0 && (s->rc.st[k] == UT_REPLICA_SYNCING || s->rc.st[k] == UT_REPLICA_OFFLINE) &&
            last > 0)
            send_msg(s, PRIMARY, UT_MSG_REPL_WRITE, s->ids[k], 1, durable, e);
    }
    uint64_t link = 0;
    if (ut_replica_set_successor(s->h, s->cfg.self_id, &link) != UT_OK || link == 0)
        return;
    uint64_t a = acked_of(s, link);
    for (uint64_t p = a + 1; p <= last && p <= a + window(s); p++)
        send_msg(s, PRIMARY, UT_MSG_REPL_WRITE, link, p, durable, epoch_of(s, link));
    for (size_t hops = 0; link != 0 && hops < s->nrep; hops++) {
        uint64_t succ = 0;
        if (ut_replica_set_successor(s->h, link, &succ) != UT_OK)
            break;
        uint64_t sa = succ ? acked_of(s, succ) : 0;
        if (announce || (succ && sa < acked_of(s, link)))
            send_msg(s, PRIMARY, UT_MSG_REPL_LINK, link, succ, sa, 0);
        link = succ;
    }
}

static void primary_tick(replica_t *s, uint64_t local_ms)
{
    int rc = ut_replica_set_tick(s->h, local_ms);
    if (rc == UT_ENOMEM) {
        sim_fail(s->w);
        return;
    }
    if (rc != UT_OK) {
        sim_violation(s->w, "tick", "primary tick: %s", ut_replica_set_errmsg(s->h));
        return;
    }
    s->ticks++;
    /* The operator resyncs a failed replica once it is back. */
    for (size_t k = 0; k < s->nrep; k++) {
        if (s->rc.st[k] == UT_REPLICA_FAILED && sim_node_up(s->w, (unsigned)k + 1)) {
            operator_mark(s, k, UT_REPLICA_SYNCING);
            s->r[k + 1].wiped = false;
        }
    }
    uint64_t p;
    const lentry_t own = {.client = NO_CLIENT};
    if (sim_rng_chance(sim_rng(s->w), WRITE_PPM) && !draining(s) && primary_write(s, &own, &p) == 1)
        primary_stamp(s, local_ms);
    if (s->ticks % RETRANSMIT_TICKS == 0)
        primary_retransmit(s, s->ticks % ANNOUNCE_TICKS == 0);
}

static void primary_deliver(replica_t *s, const ut_msg_t *m)
{
    if (m->type != UT_MSG_REPL_ACK) {
        s->w->r->stats.msgs_rejected++;
        sim_violation(s->w, "message-validity", "the primary got a %s", ut_msg_type_name(m->type));
        return;
    }
    int rc = ut_replica_set_step(s->h, m);
    if (rc == UT_ENOMEM) {
        sim_fail(s->w);
        return;
    }
    /* A failed replica's late ack is refused, and so is one sent before
     * the replica's resync (an older epoch); nothing else may be. */
    int k = rep_index(s, m->from);
    bool stale = k >= 0 && (s->rc.st[k] == UT_REPLICA_FAILED ||
                            m->body.repl_ack.epoch < epoch_of(s, m->from));
    if (rc != UT_OK && !(rc == UT_ESTATE && stale)) {
        s->w->r->stats.msgs_rejected++;
        sim_violation(s->w, "ack-refused",
                      "the primary refused an ack of %" PRIu64 " from node %" PRIu64 ": %s",
                      m->body.repl_ack.acked, m->from, ut_replica_set_errmsg(s->h));
    }
}

/* ---- the replicas ------------------------------------------------------ */

static void replica_persist(replica_t *s, unsigned i)
{
    if (sim_disk_sync(s->w, i))
        s->r[i].synced = s->r[i].disk;
}

static void replica_ack(replica_t *s, unsigned i)
{
    send_msg(s, i, UT_MSG_REPL_ACK, PRIMARY + 1, s->r[i].disk.stored, s->r[i].disk.stored,
             s->r[i].disk.epoch);
}

/* Tree: replica k (0-based, config order) has children (k+1)f .. (k+1)f+f-1,
 * the heap layout of replica.h. */
static void tree_forward(replica_t *s, unsigned i, uint64_t p, uint64_t durable)
{
    size_t f = s->cfg.tree_fanout, k = i - 1;
    for (size_t c = (k + 1) * f; c < (k + 1) * f + f && c < s->nrep; c++)
        send_msg(s, i, UT_MSG_REPL_WRITE, s->ids[c], p, durable, 0);
}

static void replica_deliver(replica_t *s, unsigned i, const ut_msg_t *m)
{
    rnode_t *r = &s->r[i];
    if (m->type == UT_MSG_REPL_WRITE) {
        uint64_t p = m->body.repl_write.position;
        if (m->body.repl_write.epoch > r->disk.epoch) {
            r->disk.epoch = m->body.repl_write.epoch; /* resynced: later acks say so */
            replica_persist(s, i);
        }
        uint64_t d = p - r->disk.stored - 1; /* p > stored: its place in the buffer */
        if (p > r->disk.stored && d < AHEAD && p < s->cap_log)
            r->ahead[d / 64] |= 1ull << (d % 64);
        /* Store the contiguous run received (in memory until then). */
        while (r->ahead[0] & 1u) {
            uint64_t q = r->disk.stored + 1;
            /* The payload, out of band: the primary's log at q. */
            r->disk.digest = digest_mix(r->disk.digest, s->log[q].id);
            r->disk.stored = q; /* stored before it is acknowledged */
            replica_persist(s, i);
            (*sim_stat(s->w, RST_STORED))++;
            if (s->cfg.strategy == UT_REPLICATION_CHAIN && r->disk.successor)
                send_msg(s, i, UT_MSG_REPL_WRITE, r->disk.successor, q, m->body.repl_write.durable,
                         0);
            else if (s->cfg.strategy == UT_REPLICATION_TREE)
                tree_forward(s, i, q, m->body.repl_write.durable);
            for (size_t w = 0; w < AHEAD / 64; w++)
                r->ahead[w] = r->ahead[w] >> 1 | (w + 1 < AHEAD / 64 ? r->ahead[w + 1] << 63 : 0);
        }
        replica_ack(s, i);
    } else if (m->type == UT_MSG_REPL_LINK) {
        uint64_t succ = m->body.repl_link.successor;
        if (succ != 0 && rep_index(s, succ) < 0) {
            sim_violation(s->w, "message-validity", "node %u told to forward to %" PRIu64, i + 1,
                          succ);
            return;
        }
        r->disk.successor = succ;
        replica_persist(s, i);
        for (uint64_t p = m->body.repl_link.position + 1;
             succ && p <= r->disk.stored && p <= m->body.repl_link.position + 8 * window(s); p++)
            send_msg(s, i, UT_MSG_REPL_WRITE, succ, p, 0, 0);
    } else {
        s->w->r->stats.msgs_rejected++;
        sim_violation(s->w, "message-validity", "replica %u got a %s", i + 1,
                      ut_msg_type_name(m->type));
    }
}

/* ---- the scenario table ---------------------------------------------------- */

static void check(replica_t *s)
{
    if (!s->h)
        return;
    uint64_t stored[SIM_MAX_NODES];
    for (size_t k = 0; k < s->nrep; k++)
        stored[k] = s->r[k + 1].disk.stored;
    s->w->r->stats.invariant_checks++;
    if (!rc_check(&s->rc, s->h, stored)) {
        const char *why = s->rc.why;
        const char *inv = strstr(why, "degrad")   ? "never-silent"
                          : strstr(why, "status") ? "status-graph"
                                                  : "durability";
        sim_violation(s->w, inv, "%s (%" PRIu64 ", %" PRIu64 "), strategy %s", why, s->rc.a,
                      s->rc.b, ut_replication_name(s->cfg.strategy));
        s->rc.why = NULL; /* reported: the world stops the run */
        return;
    }
    if (g_failover && s->rc.weak_seen) {
        sim_violation(s->w, "failover-loss",
                      "position %" PRIu64 " was reported durable while no replica held it: a "
                      "failover now loses it (strategy %s%s)",
                      s->rc.durable_seen, ut_replication_name(s->cfg.strategy),
                      ut_replica_set_degraded(s->h) ? ", degraded" : "");
        s->rc.weak_seen = false;
        return;
    }
    /* CRAQ (Terrace & Freedman 2009, §2.3): a link serving the clean
     * version holds it. */
    if (s->cfg.strategy == UT_REPLICATION_CHAIN) {
        for (size_t k = 0; k < s->nrep; k++) {
            uint64_t v = 0;
            if (ut_replica_set_read_version(s->h, s->ids[k], &v) == UT_OK && stored[k] < v)
                sim_violation(s->w, "durability",
                              "CRAQ: link %" PRIu64 " serves clean version %" PRIu64
                              " holding %" PRIu64,
                              s->ids[k], v, stored[k]);
        }
    }
}

static int replica_create(sim_world_t *w, void **out)
{
    if (w->o.nodes < 2) {
        sim_fail_msg(w, "scenario replica: needs 2 nodes or more (a primary and a replica)");
        return -1;
    }
    replica_t *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->w = w;
    s->nrep = w->o.nodes - 1;
    for (size_t k = 0; k < s->nrep; k++)
        s->ids[k] = k + 2;
    /* The configuration, drawn from a stream of its own. */
    uint64_t x = w->o.seed ^ 0x2e91ca5e7e91ca5eull;
    uint64_t r = sim_splitmix64(&x);
    ut_replica_set_config_t *c = &s->cfg;
    ut_replica_set_config_init(c, UT_REPLICA_SET_CONFIG_VERSION);
    c->self_id = 1;
    c->replicas = s->ids;
    c->n_replicas = s->nrep;
    c->strategy = g_strategy >= 0 ? (ut_replication_t)g_strategy : (ut_replication_t)(r % 5);
    c->min_in_sync = s->nrep >= 2 ? 2 : 1;
    c->semi_sync_acks = s->nrep >= 2 ? 2 : 1;
    c->semi_sync_degrade = (r >> 8) & 1;
    c->semi_sync_timeout_ms = 300;
    c->lag_bound_entries = 16;
    c->lag_bound_ms = (r >> 9) & 1 ? 300 : 0;
    c->offline_after_ms = 500;
    c->tree_fanout = 2;
    /* The strongest level the strategy serves (consistency.h): strong for
     * the strategies that never acknowledge on fewer copies than promised,
     * eventual for async and a semi-sync that may degrade. */
    bool weak = c->strategy == UT_REPLICATION_ASYNC ||
                (c->strategy == UT_REPLICATION_SEMI_SYNC &&
                 (c->semi_sync_degrade || 2u * (c->semi_sync_acks + 1u) <= s->nrep + 1u));
    s->weak = weak;
    c->consistency = weak ? UT_CONSISTENCY_EVENTUAL
                          : ((r >> 10) & 1 ? UT_CONSISTENCY_LINEARIZABLE : UT_CONSISTENCY_STRONG);
    if (weak) {
        /* ...and the library refuses the strong level for it. */
        ut_replica_set_config_t strong = *c;
        ut_replica_set_t *h = NULL;
        strong.consistency = UT_CONSISTENCY_STRONG;
        w->r->stats.invariant_checks++;
        if (ut_replica_set_new(&h, &strong) != UT_EINVAL) {
            ut_replica_set_free(h);
            sim_violation(w, "consistency", "strong consistency accepted under %s%s",
                          ut_replication_name(c->strategy),
                          c->semi_sync_degrade ? " (degradable)" : "");
        }
    }
    ut_dvv_init(&s->disk.dvv);
    for (unsigned k = 0; k < WRITERS; k++)
        ut_vclock_init(&s->ctx[k]);
    s->synced = s->disk;
    *out = s;
    return 0;
}

static void replica_destroy(void *ctx)
{
    replica_t *s = ctx;
    if (!s)
        return;
    ut_replica_set_free(s->h);
    free(s->log);
    free(s->pend);
    free(s);
}

static int replica_node_start(void *ctx, unsigned i, bool restore, uint64_t local_ms)
{
    replica_t *s = ctx;
    if (i == PRIMARY)
        return primary_start(s, restore, local_ms);
    rnode_t *r = &s->r[i];
    if (!restore) {
        memset(r, 0, sizeof *r);
        r->disk.successor = i < s->nrep ? s->ids[i] : 0; /* config order */
        r->synced = r->disk;
    }
    r->ticks = 0;
    memset(r->ahead, 0, sizeof r->ahead);
    r->role = SIM_ROLE_FOLLOWER;
    sim_segment(s->w, i, SIM_ROLE_FOLLOWER, 0);
    return 0;
}

static bool replica_node_crash(void *ctx, unsigned i)
{
    replica_t *s = ctx;
    bool lost = false;
    if (i == PRIMARY) {
        if ((s->w->o.faults & SIM_F_LYING_DISK) && memcmp(&s->synced, &s->disk, sizeof s->disk)) {
            s->disk = s->synced;
            lost = true;
        }
        ut_replica_set_free(s->h);
        s->h = NULL;
        s->n_pend = 0; /* its held replies are lost: the clients retry */
        return lost;
    }
    rnode_t *r = &s->r[i];
    size_t k = i - 1;
    if ((s->w->o.faults & SIM_F_LYING_DISK) && memcmp(&r->synced, &r->disk, sizeof r->disk)) {
        r->disk = r->synced;
        lost = true;
    }
    if (sim_rng_chance(sim_rng(s->w), WIPE_PPM)) {
        /* The disk is gone: a new one knows nothing. The operator reports
         * it at once, so the primary stops counting its copies. */
        memset(&r->disk, 0, sizeof r->disk);
        memset(r->ahead, 0, sizeof r->ahead);
        r->synced = r->disk;
        r->wiped = true;
        s->wipes++;
        if (s->h && s->rc.st[k] != UT_REPLICA_FAILED)
            operator_mark(s, k, UT_REPLICA_FAILED);
    } else if (s->h && rc_live(s->rc.st[k]) && sim_rng_chance(sim_rng(s->w), MARK_OFFLINE_PPM)) {
        operator_mark(s, k, UT_REPLICA_OFFLINE);
    }
    primary_drain(s);
    check(s);
    return lost;
}

static void replica_tick(void *ctx, unsigned i, uint64_t local_ms)
{
    replica_t *s = ctx;
    if (i == PRIMARY) {
        primary_tick(s, local_ms);
        return;
    }
    if (++s->r[i].ticks % REACK_TICKS == 0)
        replica_ack(s, i);
}

static void replica_deliver_msg(void *ctx, unsigned i, const ut_msg_t *m)
{
    replica_t *s = ctx;
    if (i == PRIMARY)
        primary_deliver(s, m);
    else
        replica_deliver(s, i, m);
}

static void replica_drain(void *ctx, unsigned i)
{
    replica_t *s = ctx;
    (void)i;
    primary_drain(s);
    check(s);
}

/* A client's get, put or compare-and-set on the register. The primary
 * serves every operation: a write takes the next position and is answered
 * once that position is durable under the strategy; a read, or a
 * compare-and-set that finds another value, reads the primary's register
 * after its last position and is answered once that position is durable
 * (a read index: nothing it saw can be lost). A retried write is answered
 * from its session. A replica serves reads only under an eventual
 * configuration with --replica-reads (from the positions it stores,
 * however stale); every other request there is refused before it takes
 * effect, naming the primary. */
static void replica_request(void *ctx, unsigned i, const sim_cmsg_t *m)
{
    replica_t *s = ctx;
    sim_cmd_t c;
    if (!sim_cmd_decode(m->op, sizeof m->op, &c) || c.client != m->client ||
        c.client >= SIM_MAX_CLIENTS || c.key >= SIM_MAX_KEYS) {
        sim_violation(s->w, "client-request", "node %u got a malformed client request", i + 1);
        return;
    }
    sim_cmsg_t r = {
        .kind = SIM_CM_NOTLEADER, .client = c.client, .reqid = c.reqid, .leader_hint = PRIMARY + 1};
    if (i != PRIMARY) {
        if (s->weak && g_replica_reads && c.kind == LC_GET) {
            uint64_t upto = s->r[i].disk.stored;
            if (upto >= s->cap_log)
                upto = s->cap_log ? s->cap_log - 1 : 0;
            reply_ok(s, i, c.client, c.reqid, register_value_at(s, c.key, upto), false);
            (*sim_stat(s->w, RST_REPLICA_READS))++;
            return;
        }
        sim_reply(s->w, i, c.client, &r);
        return;
    }
    if (!s->h)
        return;
    const session_t *se = &s->sess[c.client];
    if (c.kind != LC_GET && se->pos != 0 && se->reqid == c.reqid) {
        reply_at(s, c.client, c.reqid, se->pos, se->result, se->cas_ok);
        return;
    }
    if (c.kind != LC_GET && c.reqid < se->reqid)
        return; /* a late copy of a request the client is done with */
    uint64_t last = ut_replica_set_last(s->h);
    if (c.kind == LC_GET || (c.kind == LC_CAS && s->kv[c.key] != c.expected)) {
        reply_at(s, c.client, c.reqid, last, s->kv[c.key], false);
        return;
    }
    if (draining(s)) {
        r.leader_hint = 0; /* nobody takes writes now */
        sim_reply(s->w, i, c.client, &r);
        return;
    }
    lentry_t e = {
        .client = c.client, .key = c.key, .value = c.value, .reqid = c.reqid, .kind = c.kind};
    uint64_t p = 0;
    int rc = primary_write(s, &e, &p);
    if (rc == 0) /* refused by the strategy: it never takes effect */
        sim_reply(s->w, i, c.client, &r);
    if (rc != 1)
        return;
    sim_applied(s->w, c.client, c.reqid);
    reply_at(s, c.client, c.reqid, p, c.value, c.kind == LC_CAS);
    /* The world drains only after ticks and deliveries: send the write
     * now, and check the set after it like after any other event. */
    primary_drain(s);
    check(s);
    /* A write not yet replicated: where cutting the primary off is most
     * telling. */
    sim_hint(s->w, PRIMARY, SIM_HINT_APPENDED);
}

static bool replica_target(void *ctx, unsigned *i)
{
    replica_t *s = ctx;
    *i = PRIMARY;
    return s->h != NULL;
}

static void replica_finish(void *ctx, sim_result_t *r)
{
    replica_t *s = ctx;
    uint64_t durable = s->rc.durable_seen;
    r->stats.scen[RST_DURABLE] = durable;
    if (r->opts.clients == 0) { /* else the lines are the world's clients' */
        r->stats.ops_total = s->writes + s->refused;
        r->stats.ops_failed = s->refused;
        r->stats.ops_ok = durable < s->writes ? durable : s->writes;
        r->stats.ops_unknown = s->writes - r->stats.ops_ok;
    }
    /* End of run: the set was not wedged (a run of 20 s or more without
     * faults that keep the primary away the whole time makes progress). */
    if (!r->violation.found && r->opts.time_ms >= 20000 && durable == 0)
        sim_violation(s->w, "progress", "no write became durable in %" PRIu64 " s (strategy %s)",
                      r->opts.time_ms / 1000, ut_replication_name(s->cfg.strategy));
    /* Convergence: after the quiet phase (faults healed, every node up,
     * no writes in its last DRAIN_MS) every replica holds the primary's
     * log, the same positions with the same payloads, and all of it is
     * durable. */
    if (r->violation.found || !s->h || s->w->settle_at == UINT64_MAX ||
        r->end_ms < s->w->settle_at + DRAIN_MS)
        return;
    uint64_t last = s->disk.last;
    s->w->r->stats.invariant_checks++;
    for (size_t k = 0; k < s->nrep && !r->violation.found; k++) {
        const rdisk_t *d = &s->r[k + 1].disk;
        if (d->stored != last || d->digest != log_digest(s, last))
            sim_violation(s->w, "convergence",
                          "after the quiet phase replica %" PRIu64 " holds %" PRIu64
                          " positions (%s) of the primary's %" PRIu64 " (strategy %s, %s)",
                          s->ids[k], d->stored,
                          d->digest == log_digest(s, d->stored < last ? d->stored : last)
                              ? "the same payloads"
                              : "other payloads",
                          last, ut_replication_name(s->cfg.strategy),
                          ut_replica_status_name(s->rc.st[k]));
    }
    if (!r->violation.found && ut_replica_set_durable(s->h) != last)
        sim_violation(s->w, "convergence",
                      "after the quiet phase every replica holds %" PRIu64
                      " but the durable position is %" PRIu64 " (strategy %s)",
                      last, ut_replica_set_durable(s->h), ut_replication_name(s->cfg.strategy));
}

static void defaults(sim_options_t *o)
{
    (void)o; /* the world's clients, on the register (replica_request) */
}

static int set_strategy(sim_options_t *o, const char *v, char *err, size_t cap)
{
    (void)o;
    ut_replication_t st;
    if (v && strcmp(v, "mixed") == 0) {
        g_strategy = -1;
        return 0;
    }
    if (!v || ut_replication_parse(v, &st) != UT_OK) {
        snprintf(err, cap, "--strategy: '%s' is not sync, semi-sync, async, chain, tree or mixed",
                 v ? v : "");
        return -1;
    }
    g_strategy = (int)st;
    return 0;
}

static void replay_strategy(const sim_options_t *o, char *buf, size_t cap)
{
    (void)o;
    if (g_strategy >= 0)
        snprintf(buf, cap, " --strategy %s", ut_replication_name((ut_replication_t)g_strategy));
}

static int set_failover(sim_options_t *o, const char *v, char *err, size_t cap)
{
    (void)o;
    (void)v;
    (void)err;
    (void)cap;
    g_failover = true;
    return 0;
}

static void replay_failover(const sim_options_t *o, char *buf, size_t cap)
{
    (void)o;
    if (g_failover)
        snprintf(buf, cap, " --failover");
}

static int set_replica_reads(sim_options_t *o, const char *v, char *err, size_t cap)
{
    (void)o;
    (void)v;
    (void)err;
    (void)cap;
    g_replica_reads = true;
    return 0;
}

static void replay_replica_reads(const sim_options_t *o, char *buf, size_t cap)
{
    (void)o;
    if (g_replica_reads)
        snprintf(buf, cap, " --replica-reads");
}

static const sim_scenario_option_t replica_options[] = {
    {"strategy", true,
     "  --strategy NAME   replica: sync, semi-sync, async, chain, tree, or mixed (the\n"
     "                    default: one drawn per seed)\n",
     set_strategy, replay_strategy},
    {"failover", false,
     "  --failover        replica: also a violation: a write reported durable while no\n"
     "                    replica holds it (a failover would lose it; async does this)\n",
     set_failover, replay_failover},
    {"replica-reads", false,
     "  --replica-reads   replica: under an eventual configuration (async, degradable\n"
     "                    semi-sync) the replicas serve reads from what they store\n",
     set_replica_reads, replay_replica_reads},
};

static const sim_stat_def_t replica_stats[] = {
    [RST_STARTS] = {"primary_starts"},           /* the primary's starts and restarts */
    [RST_STORED] = {"writes_stored"},            /* writes stored by replicas, all replicas */
    [RST_DURABLE] = {"durable_position"},        /* highest position reported durable */
    [RST_DEGRADED] = {"semi_sync_degradations"}, /* DEGRADED events, all primary starts */
    [RST_RESTORED] = {"semi_sync_restorations"}, /* RESTORED events */
    [RST_REPLICA_READS] = {"replica_reads"},     /* reads served by a replica */
};

static const sim_stat_row_t replica_rows[] = {
    {"primary", "{primary_starts} starts, position {durable_position} durable"},
    {"replicas", "{writes_stored} writes stored across replicas, {replica_reads} reads served"},
    {"semi-sync", "{semi_sync_degradations} degradations to async, {semi_sync_restorations} "
                  "restorations (each an event and a timeline mark)"},
};

const sim_scenario_t sim_scenario_replica = {
    .name = "replica",
    .help = "  Node 1 runs a primary's ut_replica_set_t, nodes 2..N replicas that store each\n"
            "  write before acknowledging it, under the strategy of --strategy (or one drawn\n"
            "  per seed). After every event: the durable position is held by the replicas\n"
            "  the strategy names, never goes back, status changes and degradations happen\n"
            "  only as events, dotted version vectors stay bounded, HLC stamps rise. The\n"
            "  world's clients read and write a register on it: the primary answers once\n"
            "  durable, and the history must be linearizable (with --replica-reads an\n"
            "  eventual configuration's replicas serve reads, and it need not be). After\n"
            "  the quiet phase every replica holds the primary's log.\n",
    .stats = replica_stats,
    .n_stats = sizeof replica_stats / sizeof replica_stats[0],
    .rows = replica_rows,
    .n_rows = sizeof replica_rows / sizeof replica_rows[0],
    .sweep_text = "{durable_position} positions durable, {semi_sync_degradations} semi-sync "
                  "degradations",
    .seed_text = "{primary_starts} primary starts, durable {durable_position}, "
                 "{semi_sync_degradations} degradations",
    .check_history = NULL, /* the world's linearizability check of the register */
    .summary = "libunitypes' replica set (ut_replica_set_t): a primary and its replicas under "
               "each replication strategy",
    .title = "replica set",
    .invariants = "durable held by the strategy's replicas, status and degradation\n"
                  "               only as events, causal metadata bounded, HLC rising,\n"
                  "               replicas converge after the quiet phase",
    .crash_point_text = "at a crash point",
    .options = replica_options,
    .n_options = sizeof replica_options / sizeof replica_options[0],
    .defaults = defaults,
    .create = replica_create,
    .destroy = replica_destroy,
    .node_start = replica_node_start,
    .node_crash = replica_node_crash,
    .tick = replica_tick,
    .deliver = replica_deliver_msg,
    .drain = replica_drain,
    .request = replica_request,
    .target = replica_target,
    .finish = replica_finish,
};
