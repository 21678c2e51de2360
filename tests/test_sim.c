/* SPDX-License-Identifier: MIT */
/* The deterministic simulator (tools/sim) running the Raft core: a fixed
 * sweep of seeds under the default fault mix must find nothing; a lying disk
 * must be caught; a seed must replay byte for byte; reports must be
 * well-formed. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sim/scenario.h"
#include "sim/sim.h"

static unsigned env_unsigned(const char *name, unsigned dflt)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return dflt;
    char *end;
    unsigned long x = strtoul(v, &end, 10);
    return *end || x == 0 || x > 100000 ? dflt : (unsigned)x;
}

/* Run and return the summary, timeline and JSON (without wall-clock
 * figures) as one malloc'd string. */
static char *render(const sim_options_t *o, sim_result_t *r)
{
    assert_int_equal(sim_run(o, r), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    sim_print_summary(f, r);
    sim_print_timeline(f, r, 72);
    sim_write_json(f, r, 0.0, 0.0);
    fclose(f);
    return buf;
}

static void test_default_sweep_finds_nothing(void **state)
{
    (void)state;
    /* SIM_SEEDS and SIM_TIME_S are lowered under sanitizers (see
     * tests/CMakeLists.txt). */
    unsigned seeds = env_unsigned("SIM_SEEDS", 200);
    unsigned secs = env_unsigned("SIM_TIME_S", 180);
    uint64_t ops = 0, leaders = 0, crashes = 0, partitions = 0, failed = 0, late = 0;
    for (unsigned seed = 1; seed <= seeds; seed++) {
        sim_options_t o;
        sim_options_default(&o);
        o.seed = seed;
        o.time_ms = (uint64_t)secs * 1000;
        sim_result_t r;
        assert_int_equal(sim_run(&o, &r), 0);
        if (!sim_result_ok(&r))
            sim_print_violation(stderr, &r);
        assert_false(r.violation.found);
        assert_true(r.lin_checked);
        assert_int_equal(r.lin.verdict, LC_LINEARIZABLE);
        ops += r.stats.ops_ok;
        failed += r.stats.ops_failed;
        late += r.stats.ops_unknown_applied > 0;
        uint64_t le = 0;
        assert_true(sim_result_stat(&r, "leaders_elected", &le));
        leaders += le;
        crashes += r.stats.crashes;
        partitions += r.stats.partitions + r.stats.isolations;
        sim_result_free(&r);
    }
    /* The sweep exercised what it claims to. */
    assert_true(ops > 5u * secs * seeds);
    assert_true(leaders > seeds);
    assert_true(crashes > seeds);
    assert_true(partitions > seeds);
    /* Requests refused before they were proposed come back failed. */
    assert_true(failed > 0);
    /* Nearly every run has an operation whose client gave up on it and
     * that took effect anyway (all 200 default seeds do). */
    assert_true(late * 10 >= seeds * 9);
}

static void test_fault_free_run_is_quiet(void **state)
{
    (void)state;
    sim_options_t o;
    sim_options_default(&o);
    o.faults = 0;
    o.time_ms = 20000;
    sim_result_t r;
    assert_int_equal(sim_run(&o, &r), 0);
    assert_true(sim_result_ok(&r));
    uint64_t leaders = 0;
    assert_true(sim_result_stat(&r, "leaders_elected", &leaders));
    assert_int_equal(leaders, 1);
    assert_int_equal(r.stats.msgs_dropped, 0);
    /* Unknown: in flight at the end, or an impatient client's (1 op in
     * 100 has a deadline of 5-50 ms). */
    assert_true(r.stats.ops_unknown <= o.clients + r.stats.ops_total / 50);
    assert_true(r.stats.ops_ok > 100);
    sim_result_free(&r);
}

static void test_lying_disk_is_caught(void **state)
{
    (void)state;
    /* With every check on, the first seeds already show a restarted node
     * whose term or commit went back. */
    bool found = false;
    for (unsigned seed = 1; seed <= 10 && !found; seed++) {
        sim_options_t o;
        sim_options_default(&o);
        o.seed = seed;
        o.faults = SIM_F_DEFAULT | SIM_F_LYING_DISK;
        o.time_ms = 60000;
        sim_result_t r;
        assert_int_equal(sim_run(&o, &r), 0);
        found = r.violation.found;
        if (found) {
            assert_true(strncmp(r.violation.invariant, "monotonic-", 10) == 0);
            char cmd[256];
            sim_replay_command(&r.opts, cmd, sizeof cmd);
            assert_non_null(strstr(cmd, "lying-disk"));
        }
        sim_result_free(&r);
    }
    assert_true(found);

    /* Without the durability checks, Raft's own invariants still notice
     * the consequences (lost acknowledged entries) within a few seeds. */
    found = false;
    for (unsigned seed = 1; seed <= 10 && !found; seed++) {
        sim_options_t o;
        sim_options_default(&o);
        o.seed = seed;
        o.faults = SIM_F_DEFAULT | SIM_F_LYING_DISK;
        o.time_ms = 60000;
        o.durability_checks = false;
        sim_result_t r;
        assert_int_equal(sim_run(&o, &r), 0);
        found = !sim_result_ok(&r);
        if (found)
            assert_true(strncmp(r.violation.invariant, "monotonic-", 10) != 0 &&
                        strcmp(r.violation.invariant, "persistent-vote") != 0);
        sim_result_free(&r);
    }
    assert_true(found);
}

static void test_same_seed_same_bytes(void **state)
{
    (void)state;
    sim_options_t o;
    sim_options_default(&o);
    o.seed = 4242;
    o.time_ms = 60000;
    o.record = true;
    sim_result_t r1, r2, r3;
    char *a = render(&o, &r1);
    char *b = render(&o, &r2);
    assert_string_equal(a, b);
    o.seed = 4243;
    char *c = render(&o, &r3);
    assert_true(strcmp(a, c) != 0);
    free(a);
    free(b);
    free(c);
    sim_result_free(&r1);
    sim_result_free(&r2);
    sim_result_free(&r3);
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_html_report_has_timeline(void **state)
{
    (void)state;
    sim_options_t o;
    sim_options_default(&o);
    o.seed = 3;
    o.time_ms = 30000;
    o.record = true;
    sim_result_t r;
    assert_int_equal(sim_run(&o, &r), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(sim_write_html(f, &r), 0);
    fclose(f);
    assert_non_null(strstr(buf, "<!DOCTYPE html>"));
    /* The timeline, the operations per second and the latency histogram. */
    assert_int_equal(count(buf, "<svg "), 3);
    assert_int_equal(count(buf, "</svg>"), 3);
    assert_true(strstr(buf, "<svg ") < strstr(buf, "</svg>"));
    assert_non_null(strstr(buf, "aria-label=\"timeline\""));
    assert_non_null(strstr(buf, "aria-label=\"throughput\""));
    assert_non_null(strstr(buf, "aria-label=\"latency histogram\""));
    assert_true(count(buf, "class=\"tput\"") >= 20);
    assert_true(count(buf, "class=\"role leader\"") >= 1);
    assert_true(count(buf, "class=\"role follower\"") >= o.nodes);
    assert_true(count(buf, "class=\"op\"") >= 100);
    if (r.stats.crashes)
        assert_true(count(buf, "class=\"crash\"") >= 1);
    if (r.stats.partitions + r.stats.isolations)
        assert_true(count(buf, "class=\"partition\"") >= 1);
    /* Every element opened in the SVG is closed (a cheap well-formedness
     * check; the python xml parser test in tools/ does the real one). */
    size_t opens = 0, closes = 0;
    for (const char *p = strstr(buf, "<svg "); p && *p; p++) {
        if (*p != '<')
            continue;
        if (p[1] == '/')
            closes++;
        else {
            const char *gt = strchr(p, '>');
            assert_non_null(gt);
            if (gt[-1] != '/')
                opens++;
        }
        if (strncmp(p, "</svg>", 6) == 0) {
            assert_int_equal(opens, closes);
            p = strstr(p, "<svg ");
            if (!p)
                break;
            p--;
        }
    }
    assert_int_equal(opens, closes);
    free(buf);
    sim_result_free(&r);
}

static void test_options_round_trip(void **state)
{
    (void)state;
    unsigned m;
    char bad[48];
    assert_int_equal(
        sim_faults_parse("loss,dup,partition,crash,skew,lying-disk", &m, bad, sizeof bad), 0);
    assert_int_equal(m, SIM_F_LOSS | SIM_F_DUP | SIM_F_PARTITION | SIM_F_CRASH | SIM_F_SKEW |
                            SIM_F_LYING_DISK);
    char buf[128];
    sim_faults_format(m, buf, sizeof buf);
    unsigned m2;
    assert_int_equal(sim_faults_parse(buf, &m2, bad, sizeof bad), 0);
    assert_int_equal(m, m2);
    assert_int_equal(sim_faults_parse("none", &m, bad, sizeof bad), 0);
    assert_int_equal(m, 0);
    assert_int_equal(sim_faults_parse("loss,bogus", &m, bad, sizeof bad), -1);
    assert_string_equal(bad, "bogus");
    assert_int_equal(sim_faults_parse("", &m, bad, sizeof bad), -1);
    /* An empty word is refused wherever it is, the last one included. */
    assert_int_equal(sim_faults_parse("loss,,dup", &m, bad, sizeof bad), -1);
    assert_int_equal(sim_faults_parse(",loss", &m, bad, sizeof bad), -1);
    assert_int_equal(sim_faults_parse("loss,", &m, bad, sizeof bad), -1);
    sim_options_t o;
    sim_options_default(&o);
    o.seed = 99;
    sim_replay_command(&o, buf, sizeof buf);
    assert_string_equal(buf, "utsim --seed 99 --nodes 5 --time 180 --faults "
                             "loss,dup,reorder,partition,crash,skew");
    o.nodes = 0;
    sim_result_t r;
    assert_int_equal(sim_run(&o, &r), -1);
    sim_result_free(&r);
}

/* The create function of a stub scenario: a zeroed context of TYPE that
 * knows its world, also left in GLOBAL for the test to read after the run
 * (the stubs' destroy does not free it). */
#define STUB_CREATE(NAME, TYPE, GLOBAL)                                                            \
    static int NAME(sim_world_t *w, void **ctx)                                                    \
    {                                                                                              \
        TYPE *s = calloc(1, sizeof *s);                                                            \
        if (!s)                                                                                    \
            return -1;                                                                             \
        s->w = w;                                                                                  \
        GLOBAL = s;                                                                                \
        *ctx = s;                                                                                  \
        return 0;                                                                                  \
    }

/* ---- the world's network, under a stub scenario ------------------------- */

/* Every node sends a numbered message to the next node on every tick; the
 * stub counts what arrives and how often a sender's numbers go backwards. */
typedef struct stub {
    sim_world_t *w;
    uint64_t next_seq[SIM_MAX_NODES];
    uint64_t last_seen[SIM_MAX_NODES]; /* at the receiver, by sender */
    uint64_t received, inversions;
} stub_t;

static stub_t *g_stub;

STUB_CREATE(stub_create, stub_t, g_stub)

static void stub_destroy(void *ctx)
{
    (void)ctx; /* freed by the test, after it read the counts */
}

static int stub_start(void *ctx, unsigned i, bool restore, uint64_t local_ms)
{
    (void)ctx;
    (void)i;
    (void)restore;
    (void)local_ms;
    return 0;
}

static bool stub_crash(void *ctx, unsigned i)
{
    (void)ctx;
    (void)i;
    return false;
}

static void stub_tick(void *ctx, unsigned i, uint64_t local_ms)
{
    stub_t *s = ctx;
    (void)local_ms;
    ut_msg_t m = {.type = UT_MSG_APPEND_RESP, .from = i + 1, .to = (i + 1) % s->w->o.nodes + 1};
    m.body.append_resp.index = ++s->next_seq[i];
    sim_send(s->w, i, &m);
}

static void stub_deliver(void *ctx, unsigned i, const ut_msg_t *m)
{
    stub_t *s = ctx;
    assert_int_equal(m->type, UT_MSG_APPEND_RESP);
    assert_int_equal(m->to, i + 1);
    unsigned from = (unsigned)m->from - 1;
    s->received++;
    if (m->body.append_resp.index < s->last_seen[from])
        s->inversions++;
    else
        s->last_seen[from] = m->body.append_resp.index;
}

static void stub_drain(void *ctx, unsigned i)
{
    (void)ctx;
    (void)i;
}

static void stub_request(void *ctx, unsigned i, const sim_cmsg_t *m)
{
    (void)ctx;
    (void)i;
    (void)m;
    fail_msg("no clients, no requests");
}

static const sim_scenario_t stub_scenario = {
    .name = "stub",
    .summary = "test stub",
    .title = "stub",
    .invariants = "none",
    .crash_point_text = "at a crash point",
    .create = stub_create,
    .destroy = stub_destroy,
    .node_start = stub_start,
    .node_crash = stub_crash,
    .tick = stub_tick,
    .deliver = stub_deliver,
    .drain = stub_drain,
    .request = stub_request,
};

static void stub_run(unsigned faults, uint64_t seed, sim_result_t *r, stub_t *out)
{
    sim_options_t o;
    sim_options_default(&o);
    o.impl = &stub_scenario;
    o.faults = faults;
    o.seed = seed;
    o.nodes = 4;
    o.clients = 0;
    o.time_ms = 20000;
    assert_int_equal(sim_run(&o, r), 0);
    assert_true(sim_result_ok(r));
    *out = *g_stub;
    free(g_stub);
    g_stub = NULL;
}

/* Messages still on the wire when the run ends: at most a few per node. */
static void assert_accounted(uint64_t arrived, uint64_t sent)
{
    assert_true(arrived <= sent);
    assert_true(sent - arrived <= 32);
}

static void test_world_network_stub(void **state)
{
    (void)state;
    sim_result_t r;
    stub_t st;
    /* No faults: everything sent arrives, once, in order. */
    stub_run(0, 1, &r, &st);
    assert_true(r.stats.msgs_sent > 1000);
    assert_accounted(r.stats.msgs_delivered, r.stats.msgs_sent);
    assert_int_equal(st.received, r.stats.msgs_delivered);
    assert_int_equal(r.stats.msgs_dropped + r.stats.msgs_duplicated + st.inversions, 0);
    sim_result_free(&r);
    /* Loss: some are dropped, the rest arrive. */
    stub_run(SIM_F_LOSS, 1, &r, &st);
    assert_true(r.stats.msgs_dropped > 0);
    assert_accounted(r.stats.msgs_delivered + r.stats.msgs_dropped, r.stats.msgs_sent);
    assert_int_equal(r.stats.msgs_duplicated, 0);
    sim_result_free(&r);
    /* Duplication: some arrive twice. */
    stub_run(SIM_F_DUP, 1, &r, &st);
    assert_true(r.stats.msgs_duplicated > 0);
    assert_accounted(r.stats.msgs_delivered, r.stats.msgs_sent + r.stats.msgs_duplicated);
    sim_result_free(&r);
    /* Reordering: a sender's numbers sometimes arrive backwards. */
    stub_run(SIM_F_REORDER, 1, &r, &st);
    assert_true(st.inversions > 0);
    assert_accounted(r.stats.msgs_delivered, r.stats.msgs_sent);
    sim_result_free(&r);
    /* Partitions: messages across the cut are dropped at delivery. */
    stub_run(SIM_F_PARTITION, 1, &r, &st);
    assert_true(r.stats.partitions + r.stats.isolations > 0);
    assert_true(r.stats.msgs_dropped > 0);
    assert_accounted(r.stats.msgs_delivered + r.stats.msgs_dropped, r.stats.msgs_sent);
    sim_result_free(&r);
    /* Deterministic for a seed, different for another. */
    sim_result_t r2;
    stub_t st2;
    unsigned all = SIM_F_LOSS | SIM_F_DUP | SIM_F_REORDER | SIM_F_PARTITION;
    stub_run(all, 7, &r, &st);
    stub_run(all, 7, &r2, &st2);
    assert_memory_equal(&r.stats, &r2.stats, sizeof r.stats);
    assert_int_equal(st.received, st2.received);
    assert_int_equal(st.inversions, st2.inversions);
    sim_result_free(&r2);
    stub_run(all, 8, &r2, &st2);
    assert_true(memcmp(&r.stats, &r2.stats, sizeof r.stats) != 0);
    sim_result_free(&r);
    sim_result_free(&r2);
}

/* ---- the world's reachability query (sim_reachable), under a stub ------- */

/* Every node sends its send time to every other node on every tick. A
 * delivery from a to b must find a -> b reachable; a link reachable since
 * t for a while must have carried a message sent at or after t. */
typedef struct rstub {
    sim_world_t *w;
    uint64_t got[SIM_MAX_NODES][SIM_MAX_NODES]; /* [to][from]: latest send time received */
    uint64_t deliveries, blocked_seen, reopened_seen, open_checked;
    uint64_t bad_delivery, bad_open, bad_self;
} rstub_t;

static rstub_t *g_rstub;

STUB_CREATE(rstub_create, rstub_t, g_rstub)

static void rstub_tick(void *ctx, unsigned i, uint64_t local_ms)
{
    rstub_t *s = ctx;
    sim_world_t *w = s->w;
    unsigned N = w->o.nodes;
    (void)local_ms;
    uint64_t now = sim_now(w);
    if (!sim_reachable(w, i, i) || sim_reachable_since(w, i, i) != 0 || sim_reachable(w, i, N) ||
        sim_reachable(w, N, i) || sim_reachable_since(w, N, i) != UINT64_MAX)
        s->bad_self++;
    for (unsigned a = 0; a < N; a++) {
        if (a == i)
            continue;
        uint64_t since = sim_reachable_since(w, a, i);
        if (sim_reachable(w, a, i) != (since != UINT64_MAX))
            s->bad_open++;
        if (since == UINT64_MAX) {
            s->blocked_seen++;
            continue;
        }
        if (since > 0)
            s->reopened_seen++;
        /* a ticks every 10 ms and latency is at most 5 ms without
         * reordering: 30 ms after the link opened, something sent after
         * that has arrived. */
        if (now >= since + 30) {
            s->open_checked++;
            if (s->got[i][a] < since)
                s->bad_open++;
        }
        if (sim_quiet(w) && since > w->quiet_at)
            s->bad_open++; /* the quiet phase heals at its start */
    }
    for (unsigned b = 0; b < N; b++) {
        if (b == i)
            continue;
        ut_msg_t m = {.type = UT_MSG_APPEND_RESP, .from = i + 1, .to = b + 1};
        m.body.append_resp.index = now;
        sim_send(w, i, &m);
    }
}

static void rstub_deliver(void *ctx, unsigned i, const ut_msg_t *m)
{
    rstub_t *s = ctx;
    unsigned from = (unsigned)m->from - 1;
    s->deliveries++;
    if (!sim_reachable(s->w, from, i) || sim_reachable_since(s->w, from, i) > sim_now(s->w))
        s->bad_delivery++;
    if (m->body.append_resp.index > s->got[i][from])
        s->got[i][from] = m->body.append_resp.index;
}

static const sim_scenario_t rstub_scenario = {
    .name = "rstub",
    .summary = "test stub",
    .title = "rstub",
    .invariants = "none",
    .crash_point_text = "at a crash point",
    .create = rstub_create,
    .destroy = stub_destroy,
    .node_start = stub_start,
    .node_crash = stub_crash,
    .tick = rstub_tick,
    .deliver = rstub_deliver,
    .drain = stub_drain,
    .request = stub_request,
};

static void rstub_run(unsigned faults, uint64_t seed, rstub_t *out)
{
    sim_options_t o;
    sim_options_default(&o);
    o.impl = &rstub_scenario;
    o.faults = faults;
    o.seed = seed;
    o.nodes = 5;
    o.clients = 0;
    o.time_ms = 30000;
    sim_result_t r;
    assert_int_equal(sim_run(&o, &r), 0);
    assert_true(sim_result_ok(&r));
    *out = *g_rstub;
    free(g_rstub);
    g_rstub = NULL;
    if (faults & SIM_F_PARTITION)
        assert_true(r.stats.partitions + r.stats.isolations > 2);
    sim_result_free(&r);
}

static void test_world_reachability(void **state)
{
    (void)state;
    rstub_t st;
    /* No partitions: every link is reachable from the start. */
    rstub_run(SIM_F_LOSS | SIM_F_DUP, 3, &st);
    assert_true(st.deliveries > 10000);
    assert_int_equal(st.blocked_seen + st.reopened_seen, 0);
    assert_true(st.open_checked > 10000);
    assert_int_equal(st.bad_delivery + st.bad_open + st.bad_self, 0);
    /* Partitions, isolations and one-way cuts: links are seen blocked and
     * reopened; every delivery crossed a reachable link; a link reachable
     * since t carried what was sent after t. */
    for (uint64_t seed = 1; seed <= 3; seed++) {
        rstub_run(SIM_F_PARTITION, seed, &st);
        assert_true(st.blocked_seen > 0);
        assert_true(st.reopened_seen > 0);
        assert_true(st.open_checked > 10000);
        assert_int_equal(st.bad_delivery + st.bad_open + st.bad_self, 0);
    }
}

/* ---- the world's disk, under a stub scenario ----------------------------- */

/* Every tick a node writes its counter as the state record and appends a
 * record holding it; every other tick it syncs. What a restarted node
 * finds is checked against what it knew was durable. */
typedef struct dstub {
    sim_world_t *w;
    uint64_t written[SIM_MAX_NODES], durable[SIM_MAX_NODES], acked[SIM_MAX_NODES];
    uint64_t restores, mismatches, lost_acked;
} dstub_t;

static dstub_t *g_dstub;

STUB_CREATE(dstub_create, dstub_t, g_dstub)

static int dstub_start(void *ctx, unsigned i, bool restore, uint64_t local_ms)
{
    dstub_t *s = ctx;
    (void)local_ms;
    if (!restore)
        return 0;
    size_t len = 0;
    const void *p = sim_disk_state(s->w, i, &len);
    uint64_t v = 0;
    if (p && len == sizeof v)
        memcpy(&v, p, sizeof v);
    s->restores++;
    /* The log and the state record were synced together. */
    if (sim_disk_len(s->w, i) != v || (v && sim_disk_rec(s->w, i, v - 1)->meta[0] != v))
        s->mismatches++;
    /* Never less than what really synced, nor more than was written;
     * less than what was acknowledged only from a lying disk. */
    if (v < s->acked[i])
        s->lost_acked++;
    if (v < s->durable[i] || v > s->written[i] ||
        (!(s->w->o.faults & SIM_F_LYING_DISK) && v != s->acked[i]))
        s->mismatches++;
    s->written[i] = s->durable[i] = s->acked[i] = v;
    return 0;
}

static void dstub_tick(void *ctx, unsigned i, uint64_t local_ms)
{
    dstub_t *s = ctx;
    (void)local_ms;
    uint64_t v = ++s->written[i];
    uint64_t meta[4] = {v, 0, 0, 0};
    assert_int_equal(sim_disk_write_state(s->w, i, &v, sizeof v), 0);
    assert_int_equal(sim_disk_append(s->w, i, meta, &v, sizeof v), 0);
    if (v % 2 == 0) {
        s->acked[i] = v;
        if (sim_disk_sync(s->w, i))
            s->durable[i] = v;
    }
}

static const sim_scenario_t dstub_scenario = {
    .name = "disk-stub",
    .summary = "test stub",
    .title = "disk stub",
    .invariants = "none",
    .crash_point_text = "at a crash point",
    .create = dstub_create,
    .destroy = stub_destroy,
    .node_start = dstub_start,
    .node_crash = stub_crash,
    .tick = dstub_tick,
    .deliver = stub_deliver,
    .drain = stub_drain,
    .request = stub_request,
};

static void test_world_disk_stub(void **state)
{
    (void)state;
    for (int lying = 0; lying < 2; lying++) {
        sim_options_t o;
        sim_options_default(&o);
        o.impl = &dstub_scenario;
        o.faults = SIM_F_CRASH | (lying ? SIM_F_LYING_DISK : 0);
        o.nodes = 5;
        o.clients = 0;
        o.time_ms = 60000;
        sim_result_t r;
        assert_int_equal(sim_run(&o, &r), 0);
        dstub_t st = *g_dstub;
        free(g_dstub);
        g_dstub = NULL;
        assert_true(r.stats.crashes > 5);
        assert_true(st.restores > 5);
        assert_int_equal(st.mismatches, 0);
        if (lying) {
            /* Acknowledged writes were lost, and counted so; some crashes
             * were power failures. */
            assert_true(st.lost_acked > 0);
            assert_true(r.stats.lying_disk_losses > 0);
            assert_true(r.stats.power_failures > 0);
        } else {
            assert_int_equal(st.lost_acked, 0);
            assert_int_equal(r.stats.lying_disk_losses, 0);
        }
        sim_result_free(&r);
    }
}

/* ---- a scenario's own figures and history check -------------------------- */

static int g_checks;

static int fstub_check(void *ctx, sim_result_t *r)
{
    (void)ctx;
    g_checks++;
    r->lin_checked = true;
    r->lin.verdict = LC_VIOLATION;
    snprintf(r->lin_detail, sizeof r->lin_detail, "the stub never holds");
    return 0;
}

static void fstub_tick(void *ctx, unsigned i, uint64_t local_ms)
{
    stub_t *s = ctx;
    (void)local_ms;
    (*sim_stat(s->w, 1))++;
    if (i == 0)
        (*sim_stat(s->w, 0)) += 2;
}

static const sim_stat_def_t fstub_stats[] = {{"pings"}, {"ticks"}};
static const sim_stat_row_t fstub_rows[] = {{"stub", "{pings} pings, {ticks} ticks, {nope}"}};

static const sim_scenario_t fstub_scenario = {
    .name = "figure-stub",
    .summary = "test stub",
    .title = "figure stub",
    .invariants = "none",
    .crash_point_text = "at a crash point",
    .stats = fstub_stats,
    .n_stats = 2,
    .rows = fstub_rows,
    .n_rows = 1,
    .check_history = fstub_check,
    .history_property = "stub property",
    .create = stub_create,
    .destroy = stub_destroy,
    .node_start = stub_start,
    .node_crash = stub_crash,
    .tick = fstub_tick,
    .deliver = stub_deliver,
    .drain = stub_drain,
    .request = stub_request,
};

static void test_scenario_figures_and_check(void **state)
{
    (void)state;
    sim_options_t o;
    sim_options_default(&o);
    o.impl = &fstub_scenario;
    o.faults = 0;
    o.nodes = 3;
    o.clients = 0;
    o.time_ms = 1000;
    g_checks = 0;
    sim_result_t r;
    char *out = render(&o, &r);
    free(g_stub);
    g_stub = NULL;
    assert_int_equal(g_checks, 1);
    assert_false(sim_result_ok(&r));
    uint64_t pings = 0, ticks = 0, x = 1;
    assert_true(sim_result_stat(&r, "pings", &pings));
    assert_true(sim_result_stat(&r, "ticks", &ticks));
    assert_false(sim_result_stat(&r, "nope", &x));
    assert_int_equal(x, 0);
    assert_true(ticks >= 3 * 99 && ticks <= 3 * 101);
    assert_true(pings * 3 >= ticks * 2 - 6 && pings * 3 <= ticks * 2 + 6);
    /* The row, with an unknown name left as it is; the JSON keys in order;
     * the property named in the verdict. */
    char row[96];
    snprintf(row, sizeof row, "  stub         %" PRIu64 " pings, %" PRIu64 " ticks, {nope}\n",
             pings, ticks);
    assert_non_null(strstr(out, row));
    snprintf(row, sizeof row, "\"ok\":false,\"pings\":%" PRIu64 ",\"ticks\":%" PRIu64 ",", pings,
             ticks);
    assert_non_null(strstr(out, row));
    assert_non_null(strstr(out, "history      stub property: VIOLATED, the stub never holds"));
    assert_non_null(strstr(out, "(end of run): stub property: violated"));
    assert_non_null(strstr(out, "\"property\":\"stub property\""));
    free(out);
    sim_result_free(&r);
}

/* ---- the quiet phase and the world's liveness check ------------------------ */

/* A scenario that answers client requests only until the quiet phase
 * settles: its clients' operations then hang, which the world's liveness
 * check must report; before that every request is answered at once. In the
 * quiet phase no message is lost (loss is on for the run). */
static uint64_t g_mute_drops_quiet;

static void mute_request(void *ctx, unsigned i, const sim_cmsg_t *m)
{
    stub_t *s = ctx;
    if (sim_settled(s->w))
        return;
    sim_cmsg_t r = {.kind = SIM_CM_OK, .client = m->client, .reqid = m->reqid};
    sim_reply(s->w, i, m->client, &r);
}

static void mute_drain(void *ctx, unsigned i)
{
    stub_t *s = ctx;
    (void)i;
    /* From the start of the quiet phase the drop count stays put. */
    if (!sim_quiet(s->w))
        g_mute_drops_quiet = s->w->r->stats.msgs_dropped;
    else
        assert_int_equal(s->w->r->stats.msgs_dropped, g_mute_drops_quiet);
}

static const sim_scenario_t mute_scenario = {
    .name = "mute",
    .summary = "test stub: answers clients until the quiet phase settles",
    .title = "mute",
    .invariants = "none",
    .crash_point_text = "at a crash point",
    .create = stub_create,
    .destroy = stub_destroy,
    .node_start = stub_start,
    .node_crash = stub_crash,
    .tick = stub_tick,
    .deliver = stub_deliver,
    .drain = mute_drain,
    .request = mute_request,
};

static void test_quiet_phase_liveness(void **state)
{
    (void)state;
    sim_options_t o;
    sim_options_default(&o);
    o.impl = &mute_scenario;
    o.faults = SIM_F_LOSS;
    o.nodes = 3;
    o.clients = 2;
    o.time_ms = 30000; /* quiet from 23 s, settled from 27 s */
    sim_result_t r;
    assert_int_equal(sim_run(&o, &r), 0);
    free(g_stub);
    g_stub = NULL;
    assert_true(r.violation.found);
    assert_string_equal(r.violation.invariant, "liveness");
    assert_true(r.violation.t >= 27000 + SIM_LIVE_OP_MS);
    assert_true(r.stats.ops_ok > 100);
    sim_result_free(&r);
    /* Without the quiet phase nothing is checked: the hanging operations
     * end as unknown. */
    o.quiet = false;
    assert_int_equal(sim_run(&o, &r), 0);
    free(g_stub);
    g_stub = NULL;
    assert_false(r.violation.found);
    char cmd[256];
    sim_replay_command(&r.opts, cmd, sizeof cmd);
    assert_non_null(strstr(cmd, " --no-quiet"));
    sim_result_free(&r);
}

/* ---- the world's clients and crash budget, under a stub scenario ---------- */

/* Five nodes, the first three voters. One node serves every request at once,
 * a different one every 2 s; the others answer "not leader" and name no one. Recorded: how
 * many voters and nodes are ever down together, and whether a client ever
 * went straight back to the node that had just refused it. */
typedef struct cstub {
    sim_world_t *w;
    unsigned max_voters_down, max_down;
    uint64_t voter_with_observer_down; /* ticks with both a voter and an observer down */
    uint64_t served, refused, same_again, judged;
    unsigned down;    /* nodes down now */
    uint64_t crashes; /* so far */
    int last_refuser[SIM_MAX_CLIENTS];
    uint64_t crashes_at_refusal[SIM_MAX_CLIENTS];
} cstub_t;

static cstub_t *g_cstub;

static int cstub_create(sim_world_t *w, void **ctx)
{
    cstub_t *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->w = w;
    for (unsigned c = 0; c < SIM_MAX_CLIENTS; c++)
        s->last_refuser[c] = -1;
    g_cstub = s;
    *ctx = s;
    return 0;
}

static bool cstub_voter(void *ctx, unsigned i)
{
    (void)ctx;
    return i < 3;
}

static int cstub_start(void *ctx, unsigned i, bool restore, uint64_t local_ms)
{
    cstub_t *s = ctx;
    (void)i;
    (void)local_ms;
    if (restore)
        s->down--;
    return 0;
}

static bool cstub_crash(void *ctx, unsigned i)
{
    cstub_t *s = ctx;
    (void)i;
    s->down++;
    s->crashes++;
    return false;
}

static void cstub_tick(void *ctx, unsigned i, uint64_t local_ms)
{
    cstub_t *s = ctx;
    (void)i;
    (void)local_ms;
    unsigned vd = 0, od = 0;
    for (unsigned k = 0; k < s->w->o.nodes; k++)
        if (!sim_node_up(s->w, k))
            *(k < 3 ? &vd : &od) += 1;
    if (vd > s->max_voters_down)
        s->max_voters_down = vd;
    if (vd + od > s->max_down)
        s->max_down = vd + od;
    if (vd && od)
        s->voter_with_observer_down++;
}

static void cstub_request(void *ctx, unsigned i, const sim_cmsg_t *m)
{
    cstub_t *s = ctx;
    sim_cmsg_t r = {.client = m->client, .reqid = m->reqid};
    if (i == (sim_now(s->w) / 2000) % s->w->o.nodes) {
        r.kind = SIM_CM_OK;
        s->served++;
        s->last_refuser[m->client] = -1;
    } else {
        r.kind = SIM_CM_NOTLEADER; /* leader_hint 0: no one named */
        s->refused++;
        /* Judged only when no node was down since the last refusal: a
         * request to a down node is refused by the world, unseen here,
         * and may send the client back through it. */
        if (s->last_refuser[m->client] >= 0 && !s->down &&
            s->crashes_at_refusal[m->client] == s->crashes) {
            s->judged++;
            if (s->last_refuser[m->client] == (int)i)
                s->same_again++;
        }
        s->last_refuser[m->client] = s->down ? -1 : (int)i;
        s->crashes_at_refusal[m->client] = s->crashes;
    }
    sim_reply(s->w, i, m->client, &r);
}

static int cstub_check(void *ctx, sim_result_t *r)
{
    (void)ctx;
    r->lin_checked = true;
    r->lin.verdict = LC_LINEARIZABLE; /* the stub keeps no register */
    return 0;
}

static const sim_scenario_t cstub_scenario = {
    .name = "client-stub",
    .summary = "test stub: one node serves, the others refuse",
    .title = "client stub",
    .invariants = "none",
    .crash_point_text = "at a crash point",
    .check_history = cstub_check,
    .create = cstub_create,
    .destroy = stub_destroy,
    .node_start = cstub_start,
    .node_crash = cstub_crash,
    .tick = cstub_tick,
    .deliver = stub_deliver,
    .drain = stub_drain,
    .request = cstub_request,
    .voter = cstub_voter,
};

static void test_world_clients_and_crash_budget(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        sim_options_t o;
        sim_options_default(&o);
        o.impl = &cstub_scenario;
        o.faults = SIM_F_CRASH; /* no loss: every answer arrives */
        o.seed = seed;
        o.nodes = 5;
        o.clients = 4;
        o.time_ms = 120000;
        sim_result_t r;
        assert_int_equal(sim_run(&o, &r), 0);
        cstub_t st = *g_cstub;
        free(g_cstub);
        g_cstub = NULL;
        assert_true(sim_result_ok(&r));
        assert_true(r.stats.crashes > 10);
        /* The crash budget: a minority of the nodes, and of the voters: with
         * 3 voters one at most is down, though an observer may be down
         * beside it. */
        assert_int_equal(st.max_voters_down, 1);
        assert_int_equal(st.max_down, 2);
        assert_true(st.voter_with_observer_down > 0);
        /* A client does not go straight back to the node that refused it. */
        assert_true(st.refused > 100);
        assert_true(st.served > 1000);
        /* Only an impatient client (one operation in 100 gives up after
         * 5-50 ms) may miss a refusal and go back; drawing any node, the one
         * that refused included, went back one time in five. */
        assert_true(st.judged > 100);
        assert_true(st.same_again * 25 <= st.judged);
        /* A request to a down node is refused at once: every operation is
         * answered well within one attempt timeout (400 ms), since every
         * node that is up answers at once and nothing is lost. */
        uint64_t worst = 0;
        for (size_t k = 0; k < r.n_ops; k++) {
            if (r.op_response_ms[k] == UINT64_MAX)
                continue;
            uint64_t lat = r.op_response_ms[k] - r.op_invoke_ms[k];
            if (lat > worst)
                worst = lat;
        }
        assert_true(worst > 0);
        assert_true(worst < 400);
        assert_true(r.stats.ops_failed > 0); /* refused by every node tried */
        sim_result_free(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_round_trip),
        cmocka_unit_test(test_world_network_stub),
        cmocka_unit_test(test_world_reachability),
        cmocka_unit_test(test_quiet_phase_liveness),
        cmocka_unit_test(test_world_disk_stub),
        cmocka_unit_test(test_world_clients_and_crash_budget),
        cmocka_unit_test(test_scenario_figures_and_check),
        cmocka_unit_test(test_fault_free_run_is_quiet),
        cmocka_unit_test(test_same_seed_same_bytes),
        cmocka_unit_test(test_html_report_has_timeline),
        cmocka_unit_test(test_lying_disk_is_caught),
        cmocka_unit_test(test_default_sweep_finds_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
