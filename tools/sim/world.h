/* SPDX-License-Identifier: MIT */
/* The simulated world, as a scenario sees it: virtual clock and event heap,
 * the network (latency, loss, duplication, reordering, partitions) whose
 * wire is the library's codec, crash/restart of nodes with skewed clocks,
 * the seeded RNG, the clients (a key-value workload with retries whose
 * history is checked for linearizability), the timeline and the violation
 * record. Nothing here knows a protocol: a protocol is a scenario
 * (scenario.h) that the world drives through its table of functions.
 * Internal to tools/ (not installed, no ABI). */
#ifndef UTSIM_WORLD_H
#define UTSIM_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <unitypes.h>

#include "rng.h"
#include "sim.h"

/* Tick interval of every node (virtual ms). */
#define SIM_TICK_MS 10u
/* Length of an encoded client command. */
#define SIM_CMD_LEN 33u
/* A lying disk really syncs 1 write in 4. */
#define SIM_LYING_SYNC_PPM 250000u

typedef struct sim_scenario sim_scenario_t;
typedef struct sim_world sim_world_t;

/* A client <-> node message. A node answers a request with sim_reply():
 * SIM_CM_OK (it took effect, with its result), SIM_CM_NOTLEADER (refused
 * before it was proposed: this attempt never takes effect; leader_hint
 * names where to go; a client whose every attempt was so refused reports
 * the operation "failed"), SIM_CM_LOST (accepted, then lost: try again). A
 * scenario must answer NOTLEADER only when that is true of its protocol.
 * SIM_CM_REFUSED is the world's own answer, never a scenario's: the node was
 * down, so the request was refused unread (a closed port: connection
 * refused) and the client tries another node at once. */
enum { SIM_CM_REQ = 1, SIM_CM_OK, SIM_CM_NOTLEADER, SIM_CM_LOST, SIM_CM_REFUSED };
typedef struct sim_cmsg {
    uint32_t kind, client;
    uint64_t reqid;
    uint64_t leader_hint; /* SIM_CM_NOTLEADER: 1-based node, 0 = none */
    int64_t result;       /* SIM_CM_OK: value read / written; for a refused
                             compare-and-set the value it found (the history
                             records it and the checker holds it to it) */
    bool cas_ok;
    uint8_t op[SIM_CMD_LEN]; /* SIM_CM_REQ: encoded command (sim_cmd_decode) */
} sim_cmsg_t;

/* A client command: op(1) client(4) reqid(8) key(4) value(8) expected(8). */
typedef struct sim_cmd {
    uint8_t kind; /* LC_GET, LC_PUT, LC_CAS */
    uint32_t client, key;
    uint64_t reqid;
    int64_t value, expected;
} sim_cmd_t;

/* Written out so that the compiler merges it into one load on a
 * little-endian host (a loop is not merged): it runs for every applied
 * command. */
static inline uint64_t sim_get_u64(const uint8_t *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
           (uint64_t)p[7] << 56;
}

/* Decode SIM_CMD_LEN bytes; false if malformed. */
static inline bool sim_cmd_decode(const void *data, size_t len, sim_cmd_t *c)
{
    if (len != SIM_CMD_LEN || !data)
        return false;
    const uint8_t *b = data;
    c->kind = b[0];
    c->client = (uint32_t)b[1] | (uint32_t)b[2] << 8 | (uint32_t)b[3] << 16 | (uint32_t)b[4] << 24;
    c->reqid = sim_get_u64(b + 5);
    c->key = (uint32_t)b[13] | (uint32_t)b[14] << 8 | (uint32_t)b[15] << 16 | (uint32_t)b[16] << 24;
    c->value = (int64_t)sim_get_u64(b + 17);
    c->expected = (int64_t)sim_get_u64(b + 25);
    return c->kind <= LC_CAS;
}

/* The world's state a scenario may read. Scenarios change it only through
 * the functions below. */
typedef struct sim_disk_rec {
    uint64_t meta[4]; /* the scenario's own fields (e.g. an entry's term, index, type) */
    uint32_t len;
    const void *data; /* len bytes owned by the disk; NULL when len is 0 */
} sim_disk_rec_t;

typedef struct sim_disk {
    unsigned char *state, *synced_state;
    size_t state_len, synced_state_len, state_cap;
    sim_disk_rec_t *log;
    size_t n_log, cap_log, synced_len;
    bool lost; /* the node's last crash dropped writes */
} sim_disk_t;

struct sim_world {
    sim_options_t o;
    sim_result_t *r;
    sim_rng_t rng;
    uint64_t now, step;
    bool failed; /* internal error (out of memory) */
    struct sim_disk disks[SIM_MAX_NODES];
    /* The quiet phase at the end of a run (sim_options_t.quiet): from
     * quiet_at on no faults, every node up and connected; from settle_at
     * (SIM_SETTLE_MS later) on the cluster must have settled: scenarios
     * check their liveness property, the world that every client operation
     * invoked from then on completes within SIM_LIVE_OP_MS. UINT64_MAX:
     * no quiet phase. */
    uint64_t quiet_at, settle_at;
    uint64_t heard[SIM_MAX_NODES][SIM_MAX_NODES]; /* [to][from]: time of the last delivery */
    /* [from][to]: world time since which no partition has blocked the
     * link, UINT64_MAX while one does (sim_reachable_since). */
    uint64_t link_open_since[SIM_MAX_NODES][SIM_MAX_NODES];
};

/* Settling time and the bound on an operation in the quiet phase (ms). */
#define SIM_SETTLE_MS 4000u
#define SIM_LIVE_OP_MS 1000u

/* ---- for scenarios ------------------------------------------------------ */

static inline const sim_options_t *sim_opts(const sim_world_t *w)
{
    return &w->o;
}
static inline uint64_t sim_now(const sim_world_t *w)
{
    return w->now;
}
static inline sim_rng_t *sim_rng(sim_world_t *w)
{
    return &w->rng;
}
static inline sim_stats_t *sim_stats(sim_world_t *w)
{
    return &w->r->stats;
}
/* In the quiet phase; in it and settled (see struct sim_world). */
static inline bool sim_quiet(const sim_world_t *w)
{
    return w->now >= w->quiet_at;
}
static inline bool sim_settled(const sim_world_t *w)
{
    return w->now >= w->settle_at;
}
/* Virtual time of the last message delivered to node `to` from node
 * `from` (0-based); 0 if none yet. */
static inline uint64_t sim_last_heard(const sim_world_t *w, unsigned to, unsigned from)
{
    return w->heard[to][from];
}
/* The network's partitions as they stand now (0-based nodes; says nothing
 * of loss, latency or whether the nodes are up): sim_reachable() is true
 * when a message from `from` to `to` delivered now would not be dropped by
 * a partition, an isolation or a one-way cut (a node always reaches
 * itself; an index out of range never is). sim_reachable_since() is the
 * world time since which that has been so without a break (0 from the
 * start of the run), UINT64_MAX while it is not, so that a scenario can
 * allow its protocol a bound after a heal. One direction only: ask both
 * for a two-way link. */
static inline uint64_t sim_reachable_since(const sim_world_t *w, unsigned from, unsigned to)
{
    if (from >= w->o.nodes || to >= w->o.nodes)
        return UINT64_MAX;
    return from == to ? 0 : w->link_open_since[from][to];
}
static inline bool sim_reachable(const sim_world_t *w, unsigned from, unsigned to)
{
    return sim_reachable_since(w, from, to) != UINT64_MAX;
}
/* An internal error (out of memory): the run stops, exit status 3. */
static inline void sim_fail(sim_world_t *w)
{
    w->failed = true;
}
static inline bool sim_failed(const sim_world_t *w)
{
    return w->failed;
}

/* Record the first violation of an invariant (later ones are ignored; the
 * run stops after the current event). */
void sim_violation(sim_world_t *w, const char *invariant, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* An internal error with a message (the run stops, exit status 3). */
void sim_fail_msg(sim_world_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Send m (m->from is informational; m->to is the 1-based destination)
 * from node i through the codec, under the network's faults. */
void sim_send(sim_world_t *w, unsigned i, const ut_msg_t *m);
/* Answer client `client` from node i (the reply takes the network's
 * latency and may be lost). */
void sim_reply(sim_world_t *w, unsigned i, uint32_t client, const sim_cmsg_t *m);

/* A client's request (client, reqid from its command) took effect: call it
 * when the command is first applied (again later is harmless). The world
 * counts the operations whose client gave up on them and that took effect
 * anyway (stats.ops_unknown_applied). */
void sim_applied(sim_world_t *w, uint32_t client, uint64_t reqid);

/* Node i's state in the world. */
bool sim_node_up(const sim_world_t *w, unsigned i);
uint32_t sim_node_incarnation(const sim_world_t *w, unsigned i);

/* Hints to the fault scheduler, which decides from its own seeded draws
 * whether to strike at the moment a hint marks (only with the matching
 * fault class on, never in the quiet phase). */
typedef enum sim_hint {
    /* Node i just took charge of a new term (was elected): sometimes
     * crashed a few ms later, restarted soon after (crash storms around
     * elections; --faults crash). */
    SIM_HINT_LEADER = 1,
    /* Node i just accepted a client write into its log, not yet
     * replicated: sometimes cut off from every other node at once, while
     * clients keep writing to it (--faults partition). */
    SIM_HINT_APPENDED
} sim_hint_t;
void sim_hint(sim_world_t *w, unsigned i, sim_hint_t hint);

/* Timeline: node i's role changed (SIM_ROLE_*), a mark. */
void sim_segment(sim_world_t *w, unsigned i, uint8_t role, uint64_t term);
void sim_mark(sim_world_t *w, uint8_t kind, unsigned node, uint64_t a, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* ---- the disk -------------------------------------------------------------
 * Every node has a disk that outlives its crashes: a state record written
 * whole (e.g. a hard state) and a log of records, appended at the end
 * and truncated from a point. The persistence contract: a write is durable
 * once a sim_disk_sync() after it really synced; a crash of the node (and
 * a power failure, which crashes every node at once) puts the disk back to
 * what was durable and drops the rest. The disk always syncs truly, except
 * under the lying-disk fault (SIM_F_LYING_DISK): then only 1 sync in 4
 * (SIM_LYING_SYNC_PPM) is real and the others just acknowledge; a crash
 * that loses writes is then a lying-disk loss (stats, "disk lied" mark).
 * Truncating durable records makes them gone, durably (a simplification:
 * a real disk might still have them after the crash). */
/* Write node i's state record (len bytes from p, replacing the last one);
 * 0, or -1 (out of memory: the run stops). */
int sim_disk_write_state(sim_world_t *w, unsigned i, const void *p, size_t len);
/* Append a record of len bytes from data to node i's log; 0 or -1. */
int sim_disk_append(sim_world_t *w, unsigned i, const uint64_t meta[4], const void *data,
                    uint32_t len);
/* Keep node i's first keep records. */
void sim_disk_truncate(sim_world_t *w, unsigned i, size_t keep);
/* Sync node i's disk: true if what was written is now durable (always,
 * unless the lying-disk fault is on and the disk only pretended). */
bool sim_disk_sync(sim_world_t *w, unsigned i);

/* Read node i's disk (as the node sees it: durable or not). */
static inline const sim_disk_t *sim_disk(const sim_world_t *w, unsigned i)
{
    return &w->disks[i];
}
static inline size_t sim_disk_len(const sim_world_t *w, unsigned i)
{
    return w->disks[i].n_log;
}
/* The k-th record (0-based, k < sim_disk_len). */
static inline const sim_disk_rec_t *sim_disk_rec(const sim_world_t *w, unsigned i, size_t k)
{
    return &w->disks[i].log[k];
}
/* The state record (NULL and *len 0 if never written). */
static inline const void *sim_disk_state(const sim_world_t *w, unsigned i, size_t *len)
{
    *len = w->disks[i].state_len;
    return w->disks[i].state_len ? w->disks[i].state : NULL;
}

/* The scenario's k-th figure (sim_scenario_t.stats), to count into. */
static inline uint64_t *sim_stat(sim_world_t *w, unsigned k)
{
    return &w->r->stats.scen[k];
}

/* Grow *buf (of *cap elements of elem bytes) to hold need; 0 or -1. */
int sim_grow(void **buf, size_t *cap, size_t need, size_t elem);

#endif
