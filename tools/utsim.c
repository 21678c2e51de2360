/* SPDX-License-Identifier: MIT */
/* utsim: run libunitypes' Raft core in a deterministic simulated cluster
 * under network faults, crashes and clock skew; check safety invariants at
 * every step and the clients' history for linearizability. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sim/sim.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: utsim [options]\n"
            "\n"
            "Runs a Raft cluster of libunitypes nodes in a deterministic simulation: virtual\n"
            "time, seeded network faults, crashes and clock skew; checks election safety,\n"
            "log matching, leader completeness, state machine safety and monotonic\n"
            "term/commit after every event, and linearizability of the clients' history.\n"
            "Same seed and options, same output.\n"
            "\n"
            "options:\n"
            "  --seed N          seed of the run (default 1)\n"
            "  --seeds A..B      sweep seeds A to B inclusive; print failures and a summary\n"
            "  --nodes N         cluster size, 1..%u (default 5)\n"
            "  --time SECONDS    simulated time per run (default 180)\n"
            "  --clients N       concurrent clients, 0..%u (default 5)\n"
            "  --keys N          keys in the replicated key-value store, 1..%u (default 5)\n"
            "  --faults LIST     comma-separated: loss,dup,reorder,partition,crash,skew,\n"
            "                    lying-disk; or none, default (all but lying-disk), all\n"
            "  --scenario NAME   protocol under test: raft (the only one so far)\n"
            "  --report FILE     write a self-contained HTML report with an SVG timeline\n"
            "                    (with --seeds: of the first failing seed, else the last)\n"
            "  --no-durability-checks\n"
            "                    do not check that a node's term and commit survive its\n"
            "                    restarts; only Raft's own invariants then catch a lying disk\n"
            "  --json            machine-readable results (one JSON object per run),\n"
            "                    including wall-clock speed\n"
            "  --help            this text\n"
            "\n"
            "exit status: 0 no violation, 1 violation found, 2 bad usage, 3 internal error\n",
            SIM_MAX_NODES, SIM_MAX_CLIENTS, SIM_MAX_KEYS);
}

static int parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s)
        return -1;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_now(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

static double cpu_now(void)
{
    return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

static int bad(const char *fmt, const char *arg)
{
    fprintf(stderr, "utsim: ");
    fprintf(stderr, fmt, arg ? arg : "");
    fprintf(stderr, "\nTry 'utsim --help'.\n");
    return 2;
}

static int write_report(const char *path, const sim_result_t *r)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "utsim: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = sim_write_html(f, r);
    if (fclose(f) != 0 || rc != 0) {
        fprintf(stderr, "utsim: error writing %s\n", path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    sim_options_t o;
    sim_options_default(&o);
    uint64_t seed_a = 0, seed_b = 0;
    bool sweep = false, json = false;
    const char *report = NULL;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t n;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--json") == 0) {
            json = true;
            continue;
        } else if (strcmp(a, "--no-durability-checks") == 0) {
            o.durability_checks = false;
            continue;
        }
        if (a[0] == '-' && a[1] == '-' && !v &&
            (strcmp(a, "--seed") == 0 || strcmp(a, "--seeds") == 0 || strcmp(a, "--nodes") == 0 ||
             strcmp(a, "--time") == 0 || strcmp(a, "--faults") == 0 ||
             strcmp(a, "--scenario") == 0 || strcmp(a, "--report") == 0 ||
             strcmp(a, "--clients") == 0 || strcmp(a, "--keys") == 0))
            return bad("option %s needs a value", a);
        if (strcmp(a, "--seed") == 0) {
            if (parse_u64(v, &o.seed))
                return bad("--seed: not a non-negative integer: '%s'", v);
            sweep = false;
        } else if (strcmp(a, "--seeds") == 0) {
            const char *dots = strstr(v, "..");
            char lo[32];
            if (!dots || (size_t)(dots - v) >= sizeof lo)
                return bad("--seeds: expected A..B, got '%s'", v);
            memcpy(lo, v, (size_t)(dots - v));
            lo[dots - v] = 0;
            if (parse_u64(lo, &seed_a) || parse_u64(dots + 2, &seed_b) || seed_b < seed_a)
                return bad("--seeds: expected A..B with A <= B, got '%s'", v);
            sweep = true;
        } else if (strcmp(a, "--nodes") == 0) {
            if (parse_u64(v, &n) || n < 1 || n > SIM_MAX_NODES)
                return bad("--nodes: expected 1..15, got '%s'", v);
            o.nodes = (unsigned)n;
        } else if (strcmp(a, "--clients") == 0) {
            if (parse_u64(v, &n) || n > SIM_MAX_CLIENTS)
                return bad("--clients: expected 0..32, got '%s'", v);
            o.clients = (unsigned)n;
        } else if (strcmp(a, "--keys") == 0) {
            if (parse_u64(v, &n) || n < 1 || n > SIM_MAX_KEYS)
                return bad("--keys: expected 1..64, got '%s'", v);
            o.keys = (unsigned)n;
        } else if (strcmp(a, "--time") == 0) {
            if (parse_u64(v, &n) || n < 1 || n > 86400)
                return bad("--time: expected whole seconds 1..86400, got '%s'", v);
            o.time_ms = n * 1000;
        } else if (strcmp(a, "--faults") == 0) {
            char badw[48];
            unsigned mask;
            if (sim_faults_parse(v, &mask, badw, sizeof badw) != 0) {
                fprintf(stderr,
                        "utsim: --faults: unknown fault '%s' (known: loss, dup, reorder, "
                        "partition, crash, skew, lying-disk, none, default, all)\n",
                        badw);
                return 2;
            }
            o.faults = mask;
        } else if (strcmp(a, "--scenario") == 0) {
            if (strcmp(v, "raft") != 0) {
                fprintf(stderr, "utsim: --scenario: unknown scenario '%s' (available: raft)\n", v);
                return 2;
            }
        } else if (strcmp(a, "--report") == 0) {
            report = v;
        } else {
            return bad("unknown argument '%s'", a);
        }
        i++;
    }

    if (!sweep) {
        o.record = true;
        sim_result_t r;
        double t0 = wall_now(), c0 = cpu_now();
        int rc = sim_run(&o, &r);
        double wall = wall_now() - t0, cpu = cpu_now() - c0;
        if (rc != 0) {
            fprintf(stderr, "utsim: internal error: %s\n", r.violation.detail);
            sim_result_free(&r);
            return 3;
        }
        if (json) {
            sim_write_json(stdout, &r, wall, cpu);
        } else {
            sim_print_summary(stdout, &r);
            sim_print_timeline(stdout, &r, 72);
        }
        int status = sim_result_ok(&r) ? 0 : 1;
        if (report && write_report(report, &r) != 0)
            status = 3;
        sim_result_free(&r);
        return status;
    }

    /* Sweep. */
    const bool tty = isatty(STDOUT_FILENO) && !json;
    uint64_t runs = 0, failures = 0, first_fail = 0;
    bool have_fail = false;
    sim_stats_t tot;
    memset(&tot, 0, sizeof tot);
    double t0 = wall_now();
    for (uint64_t seed = seed_a;; seed++) {
        o.seed = seed;
        sim_result_t r;
        double t1 = wall_now(), c1 = cpu_now();
        if (sim_run(&o, &r) != 0) {
            fprintf(stderr, "utsim: internal error at seed %" PRIu64 ": %s\n", seed,
                    r.violation.detail);
            sim_result_free(&r);
            return 3;
        }
        runs++;
        tot.events += r.stats.events;
        tot.msgs_delivered += r.stats.msgs_delivered;
        tot.ops_total += r.stats.ops_total;
        tot.ops_ok += r.stats.ops_ok;
        tot.ops_unknown += r.stats.ops_unknown;
        tot.leaders_elected += r.stats.leaders_elected;
        tot.crashes += r.stats.crashes;
        tot.partitions += r.stats.partitions + r.stats.isolations;
        tot.invariant_checks += r.stats.invariant_checks;
        if (json)
            sim_write_json(stdout, &r, wall_now() - t1, cpu_now() - c1);
        if (!sim_result_ok(&r)) {
            failures++;
            if (!have_fail) {
                have_fail = true;
                first_fail = seed;
            }
            if (tty)
                printf("\r%*s\r", 60, "");
            if (!json)
                sim_print_violation(stdout, &r);
        }
        sim_result_free(&r);
        if (tty) {
            /* The seed count is span + 1, which is 2^64 for 0..UINT64_MAX:
             * it does not fit in 64 bits (it would wrap to 0). */
            uint64_t done = seed - seed_a + 1, span = seed_b - seed_a;
            int bar = (int)(40.0 * (double)done / ((double)span + 1.0));
            char all[24];
            if (span == UINT64_MAX)
                snprintf(all, sizeof all, "18446744073709551616");
            else
                snprintf(all, sizeof all, "%" PRIu64, span + 1);
            printf("\r[%.*s%*s] %" PRIu64 "/%s seeds, %" PRIu64 " failing", bar,
                   "########################################", 40 - bar, "", done, all, failures);
            fflush(stdout);
        }
        if (seed == seed_b)
            break;
    }
    double wall = wall_now() - t0;
    if (tty)
        printf("\n");
    if (!json) {
        char faults[128];
        sim_faults_format(o.faults, faults, sizeof faults);
        printf("utsim sweep: seeds %" PRIu64 "..%" PRIu64 " (%" PRIu64 " runs), %u nodes, %" PRIu64
               " s each, faults %s\n",
               seed_a, seed_b, runs, o.nodes, o.time_ms / 1000, faults);
        printf("  %" PRIu64 " failing seeds; %" PRIu64 " leaders elected, %" PRIu64
               " crashes, %" PRIu64 " partitions, %" PRIu64 " ops (%" PRIu64 " ok, %" PRIu64
               " unknown), %" PRIu64 " deliveries, %" PRIu64 " invariant checks\n",
               failures, tot.leaders_elected, tot.crashes, tot.partitions, tot.ops_total,
               tot.ops_ok, tot.ops_unknown, tot.msgs_delivered, tot.invariant_checks);
        if (have_fail)
            printf("  first failing seed: %" PRIu64 "\n", first_fail);
    }
    if (tty)
        printf("  (wall clock: %.2f s, %.0f deliveries/s)\n", wall,
               wall > 0 ? (double)tot.msgs_delivered / wall : 0.0);
    int status = failures ? 1 : 0;
    if (report) {
        o.seed = have_fail ? first_fail : seed_b;
        o.record = true;
        sim_result_t r;
        if (sim_run(&o, &r) != 0 || write_report(report, &r) != 0)
            status = 3;
        sim_result_free(&r);
    }
    return status;
}
