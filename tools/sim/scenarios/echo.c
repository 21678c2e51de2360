/* SPDX-License-Identifier: MIT */
/* The echo scenario: a replicated key-value register with last-writer-wins
 * and no consensus, the worked example of docs/simulator.md ("Adding a
 * protocol"). It is deliberately not linearizable under partitions, to show
 * the history checker catching a protocol-level violation.
 *
 * Any node serves any request. A read answers from the node's own copy. A
 * write (put, or a compare-and-set whose comparison holds locally) takes a
 * Lamport timestamp (Lamport, "Time, Clocks, and the Ordering of Events in
 * a Distributed System", CACM 1978) per key, tie-broken by node id, applies
 * locally and is sent to every other node, which keeps it if its timestamp
 * is higher (last writer wins) and acknowledges it. The client is answered
 * when every node acknowledged, or after ECHO_ACK_MS anyway: that is the
 * availability choice that breaks linearizability when a partition keeps
 * the write from part of the cluster, whose reads then return the old value
 * after the write completed.
 *
 * On the wire (the library's codec, so the world's message path is the
 * same as Raft's): a write is a UT_MSG_APPEND with prev_index = key,
 * prev_term = the client's request id, commit = the timestamp and one entry
 * (index key + 1, term client + 1, data = the value, 8 bytes little-endian);
 * the acknowledgement is a UT_MSG_APPEND_RESP with index = request id and
 * hint_term = client + 1. The register is the node's state record on the
 * world's disk, written and synced at every write (a restarted node reads
 * it back; under the lying-disk fault it may lose acknowledged writes);
 * pending client answers are volatile. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../scenario.h"

#define ECHO_ACK_MS 100u

typedef struct echo_pending {
    bool valid;
    uint64_t reqid;
    uint64_t acks;     /* bit j: node j has the write */
    uint64_t deadline; /* node-local ms */
    int64_t result;
    bool cas_ok;
} echo_pending_t;

typedef struct echo_node {
    /* persisted (the disk's state record: val then ts, keys entries each) */
    int64_t val[SIM_MAX_KEYS];
    uint64_t ts[SIM_MAX_KEYS]; /* timestamp of val */
    echo_pending_t pend[SIM_MAX_CLIENTS];
    uint64_t local_ms;
} echo_node_t;

typedef struct echo {
    sim_world_t *w;
    echo_node_t nodes[SIM_MAX_NODES];
    uint64_t all; /* mask of every node */
} echo_t;

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int k = 0; k < 8; k++)
        p[k] = (uint8_t)(v >> (8 * k));
}

static int echo_create(sim_world_t *w, void **out)
{
    echo_t *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->w = w;
    s->all = (w->o.nodes >= 64 ? 0 : 1ull << w->o.nodes) - 1;
    *out = s;
    return 0;
}

static void echo_destroy(void *ctx)
{
    free(ctx);
}

static int echo_node_start(void *ctx, unsigned i, bool restore, uint64_t local_ms)
{
    echo_t *s = ctx;
    echo_node_t *n = &s->nodes[i];
    memset(n, 0, sizeof *n);
    size_t len = 0, k = s->w->o.keys;
    const unsigned char *p = sim_disk_state(s->w, i, &len);
    if (restore && p && len == k * (sizeof n->val[0] + sizeof n->ts[0])) {
        memcpy(n->val, p, k * sizeof n->val[0]);
        memcpy(n->ts, p + k * sizeof n->val[0], k * sizeof n->ts[0]);
    }
    n->local_ms = local_ms;
    sim_segment(s->w, i, SIM_ROLE_FOLLOWER, 0);
    return 0;
}

static bool echo_node_crash(void *ctx, unsigned i)
{
    echo_t *s = ctx;
    memset(s->nodes[i].pend, 0, sizeof s->nodes[i].pend);
    return false;
}

static void echo_tick(void *ctx, unsigned i, uint64_t local_ms)
{
    echo_t *s = ctx;
    s->nodes[i].local_ms = local_ms;
}

/* Keep (ts, value) for key if it is newer; the register's timestamp never
 * goes back (the one invariant echo has). */
static void store(echo_t *s, unsigned i, uint32_t key, uint64_t ts, int64_t value)
{
    echo_node_t *n = &s->nodes[i];
    s->w->r->stats.invariant_checks++;
    if (ts > n->ts[key]) {
        n->ts[key] = ts;
        n->val[key] = value;
        (*sim_stat(s->w, 0))++;
        /* Persist the register before anything is sent or answered. */
        unsigned char buf[SIM_MAX_KEYS * (sizeof n->val[0] + sizeof n->ts[0])];
        size_t k = s->w->o.keys;
        memcpy(buf, n->val, k * sizeof n->val[0]);
        memcpy(buf + k * sizeof n->val[0], n->ts, k * sizeof n->ts[0]);
        if (sim_disk_write_state(s->w, i, buf, k * (sizeof n->val[0] + sizeof n->ts[0])) == 0)
            sim_disk_sync(s->w, i);
    }
}

static void write_all(echo_t *s, unsigned i, const sim_cmd_t *c, int64_t value, bool cas_ok)
{
    echo_node_t *n = &s->nodes[i];
    /* Lamport timestamp, node id in the low 4 bits (ids are 1..15). */
    uint64_t ts = ((n->ts[c->key] >> 4) + 1) << 4 | (i + 1);
    store(s, i, c->key, ts, value);
    sim_applied(s->w, c->client, c->reqid);
    echo_pending_t *p = &n->pend[c->client];
    p->valid = true;
    p->reqid = c->reqid;
    p->acks = 1ull << i;
    p->deadline = n->local_ms + ECHO_ACK_MS;
    p->result = value;
    p->cas_ok = cas_ok;
    uint8_t data[8];
    put_le64(data, (uint64_t)value);
    ut_entry_t e = {
        .index = (uint64_t)c->key + 1, .term = (uint64_t)c->client + 1, .data = data, .len = 8};
    for (unsigned j = 0; j < s->w->o.nodes; j++) {
        if (j == i)
            continue;
        ut_msg_t m = {.type = UT_MSG_APPEND, .from = i + 1, .to = j + 1};
        m.body.append.prev_index = c->key;
        m.body.append.prev_term = c->reqid;
        m.body.append.commit = ts;
        m.body.append.n_entries = 1;
        m.body.append.entries = &e;
        sim_send(s->w, i, &m);
    }
}

static void echo_request(void *ctx, unsigned i, const sim_cmsg_t *m)
{
    echo_t *s = ctx;
    echo_node_t *n = &s->nodes[i];
    sim_cmd_t c;
    if (!sim_cmd_decode(m->op, sizeof m->op, &c) || c.key >= s->w->o.keys ||
        c.client >= s->w->o.clients) {
        sim_violation(s->w, "client-request", "node %u got a malformed client request", i + 1);
        return;
    }
    sim_cmsg_t r = {.kind = SIM_CM_OK, .client = c.client, .reqid = c.reqid};
    switch (c.kind) {
    case LC_GET:
        r.result = n->val[c.key];
        sim_reply(s->w, i, c.client, &r);
        return;
    case LC_PUT:
        write_all(s, i, &c, c.value, false);
        return;
    default: /* LC_CAS */
        if (n->val[c.key] != c.expected) {
            r.result = n->val[c.key];
            r.cas_ok = false;
            sim_reply(s->w, i, c.client, &r);
            return;
        }
        write_all(s, i, &c, c.value, true);
        return;
    }
}

static void echo_deliver(void *ctx, unsigned i, const ut_msg_t *m)
{
    echo_t *s = ctx;
    if (m->type == UT_MSG_APPEND && m->body.append.n_entries == 1 &&
        m->body.append.prev_index < s->w->o.keys && m->body.append.entries[0].len == 8) {
        const ut_msg_append_t *a = &m->body.append;
        store(s, i, (uint32_t)a->prev_index, a->commit, (int64_t)sim_get_u64(a->entries[0].data));
        ut_msg_t ack = {.type = UT_MSG_APPEND_RESP, .from = i + 1, .to = m->from};
        ack.body.append_resp.success = true;
        ack.body.append_resp.index = a->prev_term;
        ack.body.append_resp.hint_term = a->entries[0].term;
        sim_send(s->w, i, &ack);
    } else if (m->type == UT_MSG_APPEND_RESP && m->body.append_resp.hint_term >= 1 &&
               m->body.append_resp.hint_term <= s->w->o.clients && m->from >= 1 &&
               m->from <= s->w->o.nodes) {
        echo_pending_t *p = &s->nodes[i].pend[m->body.append_resp.hint_term - 1];
        if (p->valid && p->reqid == m->body.append_resp.index)
            p->acks |= 1ull << (m->from - 1);
    } else {
        s->w->r->stats.msgs_rejected++;
        sim_violation(s->w, "message-validity", "node %u got a %s it never sends", i + 1,
                      ut_msg_type_name(m->type));
    }
}

/* Answer the writes every node acknowledged, or whose time is up. */
static void echo_drain(void *ctx, unsigned i)
{
    echo_t *s = ctx;
    echo_node_t *n = &s->nodes[i];
    for (uint32_t c = 0; c < s->w->o.clients; c++) {
        echo_pending_t *p = &n->pend[c];
        if (!p->valid || (p->acks != s->all && n->local_ms < p->deadline))
            continue;
        sim_cmsg_t r = {.kind = SIM_CM_OK,
                        .client = c,
                        .reqid = p->reqid,
                        .result = p->result,
                        .cas_ok = p->cas_ok};
        p->valid = false;
        sim_reply(s->w, i, c, &r);
    }
}

static const sim_stat_def_t echo_stats[] = {{"writes_kept"}};
static const sim_stat_row_t echo_rows[] = {{"writes", "{writes_kept} kept across nodes"}};

const sim_scenario_t sim_scenario_echo = {
    .name = "echo",
    .help = "  Any node serves any request; a write takes a Lamport timestamp, applies\n"
            "  locally, goes to every other node (last writer wins) and is answered when all\n"
            "  acknowledged or after 100 ms. Checks that a register's timestamp never goes\n"
            "  back, and at the end linearizability, which fails under partitions: the\n"
            "  worked example of docs/simulator.md (\"Adding a protocol\").\n",
    .stats = echo_stats,
    .n_stats = 1,
    .rows = echo_rows,
    .n_rows = 1,
    .sweep_text = "{writes_kept} writes kept",
    .summary = "a last-writer-wins replicated register without consensus (not linearizable "
               "under partitions)",
    .title = "echo (last-writer-wins register)",
    .invariants = "register timestamps never go back",
    .crash_point_text = "at a crash point",
    .create = echo_create,
    .destroy = echo_destroy,
    .node_start = echo_node_start,
    .node_crash = echo_node_crash,
    .tick = echo_tick,
    .deliver = echo_deliver,
    .drain = echo_drain,
    .request = echo_request,
};
