/* SPDX-License-Identifier: MIT */
/* The scenario interface: what a protocol provides to run in utsim's world
 * (world.h). The world owns time, the network, faults, clients, the
 * timeline and the report; a scenario owns its nodes' protocol state, what
 * they persist, and the invariants it checks after every event. The world
 * calls only this table. Adding a protocol: docs/simulator.md, "Adding a
 * protocol". Internal to tools/ (not installed, no ABI). */
#ifndef UTSIM_SCENARIO_H
#define UTSIM_SCENARIO_H

#include "world.h"

/* An option of a scenario, merged into utsim's one getopt_long parse. */
typedef struct sim_scenario_option {
    const char *name; /* without the leading "--" */
    bool has_arg;
    const char *help; /* the --help text, "  --name ARG  what it does\n" */
    /* Apply it (value is NULL without an argument); 0, or -1 with a message
     * in err (cap bytes). */
    int (*set)(sim_options_t *o, const char *value, char *err, size_t cap);
    /* Append " --name value" to a replay command when not the default. */
    void (*replay)(const sim_options_t *o, char *buf, size_t cap);
} sim_scenario_option_t;

/* A figure of the scenario's own (r->stats.scen[k] for the k-th entry of
 * sim_scenario_t.stats): its JSON key, written in table order after "ok". */
typedef struct sim_stat_def {
    const char *name;
} sim_stat_def_t;

/* A row of the text summary: "  LABEL        TEXT", where every "{name}" in
 * text is replaced by the figure of that name. The same substitution
 * serves sim_scenario_t's sweep_text and seed_text. */
typedef struct sim_stat_row {
    const char *label; /* padded to 12 columns */
    const char *text;
} sim_stat_row_t;

struct sim_scenario {
    const char *name;             /* --scenario NAME */
    const char *summary;          /* one line, for --list-scenarios */
    const char *help;             /* --help: what it runs and checks, each line
                                     indented by two spaces and ending in "\n" */
    const char *title;            /* the report's heading ("Raft") */
    const char *invariants;       /* what is checked, for the summary's invariants line */
    const char *crash_point_text; /* what crash_point() marks ("right after a vote") */
    const sim_scenario_option_t *options;
    size_t n_options;
    /* The scenario's figures (at most SIM_MAX_SCENARIO_STATS), filled
     * through sim_stat(); the summary rows that print them (after the
     * first line, before "operations"); the sweep summary's fragment
     * ("{leaders_elected} leaders elected", over the sum of every seed's
     * figures) and a sweep report's per-seed column (what the roles did:
     * "{leader_changes} leader changes"). Each may be NULL/0. */
    const sim_stat_def_t *stats;
    size_t n_stats;
    const sim_stat_row_t *rows;
    size_t n_rows;
    const char *sweep_text;
    const char *seed_text;
    /* End-of-run check of the clients' history, run when no invariant was
     * violated: sets r->lin_checked, r->lin (verdict LC_LINEARIZABLE when
     * the property holds, LC_VIOLATION or LC_INCONCLUSIVE otherwise) and
     * r->lin_detail (why not). NULL: the world's linearizability check of
     * the key-value history, sim_check_linearizable(), which a scenario's
     * own check may also call. Returns 0, or -1 (internal error). */
    int (*check_history)(void *ctx, sim_result_t *r);
    /* The name of what check_history checks, for the reports
     * ("linearizable"; NULL: that). */
    const char *history_property;
    /* The scenario's own defaults for the world's options (e.g. clients = 0
     * for a protocol that drives its own workload from tick), applied after
     * sim_options_default and before the command line. May be NULL. */
    void (*defaults)(sim_options_t *o);

    /* Set up the scenario's state for a run in w; 0, or -1 (out of memory
     * or a message through sim_fail_msg). */
    int (*create)(sim_world_t *w, void **ctx);
    void (*destroy)(void *ctx);
    /* Create node i (0-based; its id is i + 1). restore: it restarts from
     * what it persisted. local_ms: its clock now. 0, or -1 (internal). */
    int (*node_start)(void *ctx, unsigned i, bool restore, uint64_t local_ms);
    /* Node i crashes: drop everything not persisted (with the lying-disk
     * fault, also what the disk only pretended to write; return true if it
     * lost any). */
    bool (*node_crash)(void *ctx, unsigned i);
    /* Node i's timer fires (local_ms: its clock). */
    void (*tick)(void *ctx, unsigned i, uint64_t local_ms);
    /* A message arrives at node i (decoded from the wire). */
    void (*deliver)(void *ctx, unsigned i, const ut_msg_t *m);
    /* After a start, tick or delivery: persist, send, apply node i's ready
     * work, then check the invariants. */
    void (*drain)(void *ctx, unsigned i);
    /* A client request arrives at node i (which is up). */
    void (*request)(void *ctx, unsigned i, const sim_cmsg_t *m);
    /* True if node i just sent m at a point where crashing it is most
     * telling (the world then sometimes crashes it right away). May be
     * NULL. */
    bool (*crash_point)(void *ctx, unsigned i, const ut_msg_t *m);
    /* The node a fault should prefer to hit (the leader); false if none.
     * May be NULL. */
    bool (*target)(void *ctx, unsigned *i);
    /* True if node i's crash costs the cluster a member of its quorums (a
     * voter): the world keeps more than half of these up, as well as more
     * than half of all nodes. May be NULL: every node counts. */
    bool (*voter)(void *ctx, unsigned i);
    /* End of the run: fill scenario figures in r->stats. May be NULL. */
    void (*finish)(void *ctx, sim_result_t *r);
};

/* The world's linearizability check of r's history (r->ops against the
 * key-value register model, lincheck.h), with r->opts.lin_budget: the
 * default check_history. 0, or -1 (out of memory). */
int sim_check_linearizable(sim_result_t *r);
/* A check_history for a scenario that drives its own clients and checks
 * their properties as the run goes and in finish (a violation there stops
 * the report at it): it records the history property as holding. Name the
 * property in history_property. Returns 0. */
int sim_check_in_run(void *ctx, sim_result_t *r);

/* The scenario r ran (its options' impl, else by name, else the default). */
const sim_scenario_t *sim_result_scenario(const sim_result_t *r);

/* Write tmpl with every "{name}" replaced by the figure of that name of
 * sc (vals: r->stats.scen, or a sweep's sums). */
void sim_stat_format(FILE *f, const sim_scenario_t *sc, const uint64_t *vals, const char *tmpl);

/* The registered scenarios (scenarios/ *.c), in --list-scenarios order. */
extern const sim_scenario_t sim_scenario_raft;
extern const sim_scenario_t sim_scenario_echo;
/* >>> lock (issue 14) */
extern const sim_scenario_t sim_scenario_lock;
/* <<< lock */
/* >>> 2pc (issue 15) */
extern const sim_scenario_t sim_scenario_twopc;
/* <<< 2pc */
/* >>> gossip (issue 16) */
extern const sim_scenario_t sim_scenario_gossip;
/* <<< gossip */
/* >>> replica (issue 13) */
extern const sim_scenario_t sim_scenario_replica;
/* <<< replica */

/* sim_options_default, then sc's defaults (sc NULL: the default scenario);
 * also sets o->scenario to sc's name. */
void sim_options_for(sim_options_t *o, const sim_scenario_t *sc);

/* By name; NULL name = the default (raft). NULL if unknown. */
const sim_scenario_t *sim_scenario_find(const char *name);
/* The i-th scenario, NULL past the end. */
const sim_scenario_t *sim_scenario_at(size_t i);

#endif
