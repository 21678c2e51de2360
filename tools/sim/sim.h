/* SPDX-License-Identifier: MIT */
/* utsim: a deterministic cluster simulator for libunitypes' protocols.
 *
 * One seed fixes everything: network latency and faults, crashes, clock
 * skew, client workload and every node's randomness. The simulator runs N
 * nodes of a scenario (scenario.h: raft, echo) on a virtual clock driven by
 * an event queue (a binary heap keyed by (time, sequence number)) in a
 * protocol-free world (world.c), checks the scenario's invariants after
 * every event and the clients' history for linearizability at the end.
 * This header is the run-and-report API; internal to tools/ (not
 * installed, no ABI). */
#ifndef UTSIM_SIM_H
#define UTSIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lincheck.h"

/* Fault classes (bit mask). */
enum {
    SIM_F_LOSS = 1u << 0,       /* random message loss */
    SIM_F_DUP = 1u << 1,        /* random message duplication */
    SIM_F_PARTITION = 1u << 2,  /* symmetric/asymmetric partitions, isolation; heal */
    SIM_F_CRASH = 1u << 3,      /* crash (lose unpersisted state) and restart */
    SIM_F_SKEW = 1u << 4,       /* per-node clock offset and rate */
    SIM_F_LYING_DISK = 1u << 5, /* disk acknowledges writes it loses at a crash */
    SIM_F_REORDER = 1u << 6     /* occasional long delays (reordering) */
};
#define SIM_F_DEFAULT                                                                              \
    (SIM_F_LOSS | SIM_F_DUP | SIM_F_PARTITION | SIM_F_CRASH | SIM_F_SKEW | SIM_F_REORDER)

#define SIM_MAX_NODES 15u
#define SIM_MAX_CLIENTS 32u
#define SIM_MAX_KEYS 64u

typedef struct sim_options {
    const char *scenario;            /* scenario name (scenario.h); NULL = "raft" */
    const struct sim_scenario *impl; /* if set, this table instead of the
                                        named scenario (tests' stubs) */
    uint64_t seed;
    unsigned nodes;         /* 1..SIM_MAX_NODES */
    uint64_t time_ms;       /* simulated duration */
    unsigned faults;        /* SIM_F_* */
    unsigned clients;       /* 0..SIM_MAX_CLIENTS */
    unsigned keys;          /* 1..SIM_MAX_KEYS */
    bool record;            /* keep the timeline (text/HTML report) */
    uint64_t lin_budget;    /* lincheck step budget (0 = unbounded) */
    bool durability_checks; /* raft: monotonic term/commit across restarts
                               (default on; off leaves only the Raft-level
                               invariants to notice what a lying disk breaks) */
    bool vary_config;       /* raft: draw pre-vote, check-quorum, observers,
                               batching and in-flight limits from the seed
                               (default on; off: the library's defaults) */
    bool quiet;             /* end every run of 20 s or more with a quiet
                               phase (no faults, all nodes up and connected)
                               in which liveness is checked (default on) */
} sim_options_t;

void sim_options_default(sim_options_t *o);

/* "loss,dup,partition,crash,skew,lying-disk,reorder", "none", "default",
 * "all". Returns 0, or -1 with the bad word copied into bad (cap bytes). */
int sim_faults_parse(const char *s, unsigned *out, char *bad, size_t cap);
void sim_faults_format(unsigned mask, char *buf, size_t cap);

/* The command line that replays this run. */
void sim_replay_command(const sim_options_t *o, char *buf, size_t cap);

typedef enum sim_role {
    SIM_ROLE_FOLLOWER = 0,
    SIM_ROLE_CANDIDATE = 1,
    SIM_ROLE_LEADER = 2,
    SIM_ROLE_OBSERVER = 3,
    SIM_ROLE_DOWN = 4
} sim_role_t;

typedef struct sim_segment {
    uint64_t t;   /* start (ms); lasts until the next segment or the end */
    uint8_t role; /* sim_role_t */
    uint64_t term;
} sim_segment_t;

typedef enum sim_mark_kind {
    SIM_MARK_LEADER = 0, /* node became leader (a = term) */
    SIM_MARK_CRASH,      /* node crashed (a = 1 if the lying disk lost writes) */
    SIM_MARK_RESTART,
    SIM_MARK_PARTITION, /* a = bitmask of the cut-off nodes (per kind) */
    SIM_MARK_HEAL,
    SIM_MARK_VIOLATION
} sim_mark_kind_t;

typedef struct sim_mark {
    uint64_t t;
    uint8_t kind; /* sim_mark_kind_t */
    uint8_t node; /* 0-based, or 255 */
    uint64_t a;
    char text[64]; /* short description */
} sim_mark_t;

typedef struct sim_interval {
    uint64_t start, end; /* ms */
    uint64_t mask;       /* nodes affected (bit i = node i+1) */
    uint8_t kind;        /* 0 partition, 1 down */
} sim_interval_t;

/* Room for a scenario's own figures (sim_scenario_t.stats). */
#define SIM_MAX_SCENARIO_STATS 16u

typedef struct sim_stats {
    uint64_t events; /* events processed (= steps) */
    /* The scenario's figures, in the order of its sim_scenario_t.stats
     * (raft: leaders elected, leader changes, highest term, ...); the
     * reports print them where the scenario's rows say. */
    uint64_t scen[SIM_MAX_SCENARIO_STATS];
    uint64_t ops_total, ops_ok, ops_failed, ops_unknown;
    uint64_t ops_unknown_applied; /* of the unknown: given up mid-run, yet applied */
    uint64_t client_retries;
    uint64_t msgs_sent, msgs_delivered, msgs_dropped, msgs_duplicated, msgs_rejected;
    uint64_t bytes_sent; /* encoded frames (ut_msg_encode), copies not counted */
    uint64_t crashes, restarts, partitions, isolations, skewed_nodes, lying_disk_losses;
    uint64_t point_crashes;  /* of the crashes: at a scenario's crash point
                                (JSON "vote_crashes", its first use) */
    uint64_t power_failures; /* lying-disk runs: every node crashed at once */
    uint64_t invariant_checks;
} sim_stats_t;

typedef struct sim_violation {
    bool found;
    uint64_t step; /* event number */
    uint64_t t;    /* virtual ms */
    char invariant[48];
    char detail[320];
} sim_violation_t;

typedef struct sim_result {
    sim_options_t opts;
    sim_stats_t stats;
    sim_violation_t violation; /* first invariant violation */
    bool lin_checked;
    lc_result_t lin;
    char lin_detail[200];
    /* History (for the report): ops[i] with display times in ms. */
    lc_op_t *ops;
    uint64_t *op_invoke_ms, *op_response_ms; /* response UINT64_MAX = none */
    int64_t *op_seen;                        /* ok ops: the value the node returned (a CAS: the
                                                register's value after it, the one it compared
                                                against when refused) */
    size_t n_ops;
    /* Timeline (only when opts.record). */
    sim_segment_t *seg[SIM_MAX_NODES];
    size_t n_seg[SIM_MAX_NODES];
    sim_mark_t *marks;
    size_t n_marks;
    sim_interval_t *intervals;
    size_t n_intervals;
    uint64_t end_ms;
} sim_result_t;

/* Run one simulation. Returns 0 when the run completed (check
 * out->violation.found and out->lin.verdict), -1 on an internal error (out
 * of memory or bad options; message in out->violation.detail). Free with
 * sim_result_free(). */
int sim_run(const sim_options_t *opts, sim_result_t *out);
void sim_result_free(sim_result_t *r);

/* True if the run found no violation and the history is linearizable. */
bool sim_result_ok(const sim_result_t *r);

/* The scenario's figure called name (its JSON key) in r->stats.scen; false
 * if the scenario has no such figure (*out is then 0). */
bool sim_result_stat(const sim_result_t *r, const char *name, uint64_t *out);

/* Reports (report.c). Output is a function of the result only: same seed,
 * same bytes. */
void sim_print_summary(FILE *f, const sim_result_t *r);
void sim_print_timeline(FILE *f, const sim_result_t *r, unsigned width);
void sim_print_violation(FILE *f, const sim_result_t *r);
int sim_write_html(FILE *f, const sim_result_t *r);
/* Client latency of r's completed operations (ok and failed: invocation to
 * response, virtual ms): nearest-rank p50/p99, max, and a histogram whose
 * bin b holds [2^(b-1), 2^b) ms (bin 0: under 1 ms; the last bin is open).
 * 0, or -1 (out of memory). */
#define SIM_LAT_BINS 15u
typedef struct sim_latency {
    size_t n;
    uint64_t p50, p99, max;
    uint64_t hist[SIM_LAT_BINS];
} sim_latency_t;
int sim_latency(const sim_result_t *r, sim_latency_t *out);
void sim_latency_bin(unsigned b, uint64_t *lo, uint64_t *hi); /* hi UINT64_MAX: open */

/* A sweep report's row for one seed (sim_seed_row: 0, or -1 out of memory),
 * and the sweep's one page: a row per seed (failing seeds stand out), then
 * the full report of detail (the first failing seed, else the last). */
typedef struct sim_seed_row {
    uint64_t seed;
    bool ok;
    char verdict[64]; /* "ok", or the invariant / history property broken */
    char roles[96];   /* the scenario's seed_text */
    uint64_t ops_total, ops_ok, ops_failed, ops_unknown;
    uint64_t ops_unknown_applied; /* of the unknown: given up mid-run, yet applied */
    uint64_t p50, p99, max;
    char replay[256];
} sim_seed_row_t;
int sim_seed_row(const sim_result_t *r, sim_seed_row_t *out);
int sim_write_sweep_html(FILE *f, const sim_seed_row_t *rows, size_t n, const sim_result_t *detail);
/* wall_s <= 0: speed figures omitted. cpu_s: process CPU time of the run. */
void sim_write_json(FILE *f, const sim_result_t *r, double wall_s, double cpu_s);
/* The clients' history, one JSON object per line and operation, in
 * invocation order: {"client","op" (get/put/cas),"key","value" (put/cas:
 * written; get: read, null unless ok),"expected" (cas),"cas_ok" and
 * "seen" (cas, ok only: the register's value after it),"invoke_ms","response_ms" (null without a
 * response),"invoke_step", "response_step","outcome" (ok/failed/unknown)}. Returns 0, or -1 on a
 * write error. */
int sim_write_history(FILE *f, const sim_result_t *r);

#endif
