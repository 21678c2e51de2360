/* SPDX-License-Identifier: MIT */
/* utsim: run one of libunitypes' protocols (a scenario, sim/scenario.h) in
 * a deterministic simulated cluster under network faults, crashes and clock
 * skew; check its invariants at every step and the clients' history at the
 * end. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sim/scenario.h"
#include "sim/sim.h"

/* only: with --scenario NAME before --help, that scenario's part alone. */
static void usage(FILE *f, const sim_scenario_t *only)
{
    fprintf(f,
            "usage: utsim [options]\n"
            "\n"
            "Runs a cluster of libunitypes nodes in a deterministic simulation: virtual time,\n"
            "seeded network faults, crashes and clock skew; checks the scenario's invariants\n"
            "after every event and the clients' history at the end (by default its\n"
            "linearizability). Same seed and options, same output.\n"
            "\n"
            "options:\n"
            "  --scenario NAME   protocol under test (default raft; see --list-scenarios)\n"
            "  --list-scenarios  list the scenarios and exit\n"
            "  --seed N          seed of the run (default 1)\n"
            "  --seeds A..B      sweep seeds A to B inclusive; print failures and a summary\n"
            "  --nodes N         cluster size, 1..%u (default 5)\n"
            "  --time SECONDS    simulated time per run (default 180)\n"
            "  --clients N       concurrent clients, 0..%u (default 5)\n"
            "  --keys N          keys in the replicated key-value store, 1..%u (default 5)\n"
            "  --faults LIST     comma-separated: loss,dup,reorder,partition,crash,skew,\n"
            "                    lying-disk; or none, default (all but lying-disk), all\n"
            "  --report FILE     write a self-contained HTML report: timeline, operations\n"
            "                    per second, client latency (with --seeds: a row per seed,\n"
            "                    then the first failing seed's run, else the last's)\n"
            "  --history FILE    write the clients' history, one JSON object per operation\n"
            "                    (with --seeds: of the same seed as --report)\n"
            "  --json            machine-readable results (one JSON object per run),\n"
            "                    including wall-clock speed\n"
            "  --stop-on-fail    with --seeds: stop the sweep at the first failing seed\n"
            "  --no-quiet        no quiet phase at the end of the run (by default the last\n"
            "                    sixth of a run of 20 s or more, 7..15 s, has no faults,\n"
            "                    every node up and connected, and liveness is checked)\n"
            "  --help            this text\n",
            SIM_MAX_NODES, SIM_MAX_CLIENTS, SIM_MAX_KEYS);
    for (size_t i = 0; sim_scenario_at(i); i++) {
        const sim_scenario_t *sc = sim_scenario_at(i);
        if (only && sc != only)
            continue;
        fprintf(f, "\nscenario %s%s:\n", sc->name, i == 0 ? " (default)" : "");
        if (sc->help)
            fputs(sc->help, f);
        else
            fprintf(f, "  %s\n", sc->summary);
        if (sc->n_options)
            fprintf(f, "options of scenario %s:\n", sc->name);
        for (size_t k = 0; k < sc->n_options; k++)
            fputs(sc->options[k].help, f);
    }
    fprintf(f, "\nexit status: 0 no violation, 1 violation found (also when a report or history\n"
               "could not be written), 2 bad usage, 3 internal error or an output file not\n"
               "written\n");
}

static void list_scenarios(FILE *f)
{
    for (size_t i = 0; sim_scenario_at(i); i++)
        fprintf(f, "%-8s %s\n", sim_scenario_at(i)->name, sim_scenario_at(i)->summary);
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

static int write_file(const char *path, const sim_result_t *r,
                      int (*fn)(FILE *, const sim_result_t *))
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "utsim: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = fn(f, r);
    if (fclose(f) != 0 || rc != 0) {
        fprintf(stderr, "utsim: error writing %s\n", path);
        return -1;
    }
    return 0;
}

/* The report and history of one run. A file that cannot be written makes
 * the exit status 3, but never hides a violation (status 1 stays 1). */
static int write_outputs(const char *report, const char *history, const sim_result_t *r, int status)
{
    int rc = 0;
    if (report && write_file(report, r, sim_write_html) != 0)
        rc = -1;
    if (history && write_file(history, r, sim_write_history) != 0)
        rc = -1;
    return rc != 0 && status == 0 ? 3 : status;
}

enum {
    OPT_SEED = 256,
    OPT_SEEDS,
    OPT_NODES,
    OPT_TIME,
    OPT_CLIENTS,
    OPT_KEYS,
    OPT_FAULTS,
    OPT_SCENARIO,
    OPT_LIST,
    OPT_REPORT,
    OPT_HISTORY,
    OPT_JSON,
    OPT_HELP,
    OPT_STOP_ON_FAIL,
    OPT_NO_QUIET,
    OPT_SCENARIO_BASE = 512 /* + index into the merged scenario options */
};

#define MAX_SC_OPTS 64

int main(int argc, char **argv)
{
    sim_options_t o;
    uint64_t seed_a = 0, seed_b = 0;
    bool sweep = false, json = false, stop_on_fail = false;
    const char *report = NULL, *history = NULL;

    /* The world's options, then every scenario's, in one getopt_long
     * table; a scenario's option is refused unless that scenario runs. */
    struct option lo[16 + MAX_SC_OPTS + 1];
    const sim_scenario_t *owner[MAX_SC_OPTS];
    const sim_scenario_option_t *sopt[MAX_SC_OPTS];
    bool used[MAX_SC_OPTS] = {false};
    static const struct option world_opts[] = {
        {"seed", required_argument, NULL, OPT_SEED},
        {"seeds", required_argument, NULL, OPT_SEEDS},
        {"nodes", required_argument, NULL, OPT_NODES},
        {"time", required_argument, NULL, OPT_TIME},
        {"clients", required_argument, NULL, OPT_CLIENTS},
        {"keys", required_argument, NULL, OPT_KEYS},
        {"faults", required_argument, NULL, OPT_FAULTS},
        {"scenario", required_argument, NULL, OPT_SCENARIO},
        {"list-scenarios", no_argument, NULL, OPT_LIST},
        {"report", required_argument, NULL, OPT_REPORT},
        {"history", required_argument, NULL, OPT_HISTORY},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, OPT_HELP},
        {"stop-on-fail", no_argument, NULL, OPT_STOP_ON_FAIL},
        {"no-quiet", no_argument, NULL, OPT_NO_QUIET},
    };
    size_t nlo = 0, nso = 0;
    for (size_t k = 0; k < sizeof world_opts / sizeof world_opts[0]; k++)
        lo[nlo++] = world_opts[k];
    for (size_t i = 0; sim_scenario_at(i); i++) {
        const sim_scenario_t *sc = sim_scenario_at(i);
        for (size_t k = 0; k < sc->n_options && nso < MAX_SC_OPTS; k++, nso++) {
            owner[nso] = sc;
            sopt[nso] = &sc->options[k];
            lo[nlo++] = (struct option){sc->options[k].name,
                                        sc->options[k].has_arg ? required_argument : no_argument,
                                        NULL, OPT_SCENARIO_BASE + (int)nso};
        }
    }
    lo[nlo] = (struct option){NULL, 0, NULL, 0};

    opterr = 0;
    int c;
    /* A first pass finds the scenario, whose defaults (scenario.h) come
     * before every other option wherever --scenario appears; errors are
     * reported by the second pass. */
    const sim_scenario_t *chosen = NULL;
    while ((c = getopt_long(argc, argv, "+:h", lo, NULL)) != -1)
        if (c == OPT_SCENARIO && optarg && sim_scenario_find(optarg))
            chosen = sim_scenario_find(optarg);
    sim_options_for(&o, chosen);
    optind = 0; /* glibc: reinitialise the scan */
    while ((c = getopt_long(argc, argv, "+:h", lo, NULL)) != -1) {
        const char *v = optarg;
        const char *a = argv[optind - 1];
        uint64_t n;
        if (c == ':')
            return bad("option %s needs a value", a);
        if (c == '?')
            return bad("unknown argument '%s'", a);
        /* A value that is itself an option ("--report --json") is a
         * missing value, not a file named "--json". */
        if (v && v[0] == '-' && v[1] == '-')
            return bad("an option's value is missing: got the option '%s' instead", v);
        switch (c) {
        case 'h':
        case OPT_HELP:
            usage(stdout, chosen);
            return 0;
        case OPT_LIST:
            list_scenarios(stdout);
            return 0;
        case OPT_JSON:
            json = true;
            break;
        case OPT_STOP_ON_FAIL:
            stop_on_fail = true;
            break;
        case OPT_NO_QUIET:
            o.quiet = false;
            break;
        case OPT_SEED:
            if (parse_u64(v, &o.seed))
                return bad("--seed: not a non-negative integer: '%s'", v);
            sweep = false;
            break;
        case OPT_SEEDS: {
            const char *dots = strstr(v, "..");
            char lo_s[32];
            if (!dots || (size_t)(dots - v) >= sizeof lo_s)
                return bad("--seeds: expected A..B, got '%s'", v);
            memcpy(lo_s, v, (size_t)(dots - v));
            lo_s[dots - v] = 0;
            if (parse_u64(lo_s, &seed_a) || parse_u64(dots + 2, &seed_b) || seed_b < seed_a)
                return bad("--seeds: expected A..B with A <= B, got '%s'", v);
            sweep = true;
            break;
        }
        case OPT_NODES:
            if (parse_u64(v, &n) || n < 1 || n > SIM_MAX_NODES)
                return bad("--nodes: expected 1..15, got '%s'", v);
            o.nodes = (unsigned)n;
            break;
        case OPT_CLIENTS:
            if (parse_u64(v, &n) || n > SIM_MAX_CLIENTS)
                return bad("--clients: expected 0..32, got '%s'", v);
            o.clients = (unsigned)n;
            break;
        case OPT_KEYS:
            if (parse_u64(v, &n) || n < 1 || n > SIM_MAX_KEYS)
                return bad("--keys: expected 1..64, got '%s'", v);
            o.keys = (unsigned)n;
            break;
        case OPT_TIME:
            if (parse_u64(v, &n) || n < 1 || n > 86400)
                return bad("--time: expected whole seconds 1..86400, got '%s'", v);
            o.time_ms = n * 1000;
            break;
        case OPT_FAULTS: {
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
            break;
        }
        case OPT_SCENARIO:
            if (!sim_scenario_find(v)) {
                fprintf(stderr, "utsim: --scenario: unknown scenario '%s' (available:", v);
                for (size_t i = 0; sim_scenario_at(i); i++)
                    fprintf(stderr, " %s", sim_scenario_at(i)->name);
                fprintf(stderr, ")\n");
                return 2;
            }
            o.scenario = sim_scenario_find(v)->name;
            break;
        case OPT_REPORT:
            report = v;
            break;
        case OPT_HISTORY:
            history = v;
            break;
        default: {
            size_t k = (size_t)(c - OPT_SCENARIO_BASE);
            char err[160] = "";
            if (c < OPT_SCENARIO_BASE || k >= nso)
                return bad("unknown argument '%s'", a);
            if (sopt[k]->set(&o, v, err, sizeof err) != 0) {
                fprintf(stderr, "utsim: --%s: %s\n", sopt[k]->name, err);
                return 2;
            }
            used[k] = true;
            break;
        }
        }
    }
    if (optind < argc)
        return bad("unknown argument '%s'", argv[optind]);
    const sim_scenario_t *sc = sim_scenario_find(o.scenario);
    for (size_t k = 0; k < nso; k++) {
        if (used[k] && owner[k] != sc) {
            fprintf(stderr, "utsim: --%s is an option of scenario %s, not %s\n", sopt[k]->name,
                    owner[k]->name, sc->name);
            return 2;
        }
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
        int status = write_outputs(report, history, &r, sim_result_ok(&r) ? 0 : 1);
        sim_result_free(&r);
        return status;
    }

    /* Sweep. */
    const bool tty = isatty(STDOUT_FILENO) && !json;
    uint64_t runs = 0, failures = 0, first_fail = 0;
    bool have_fail = false, stopped = false;
    /* With --report: a row per seed for the sweep's page. */
    sim_seed_row_t *rows = NULL;
    size_t n_rows = 0, cap_rows = 0;
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
        if (report) {
            if (sim_grow((void **)&rows, &cap_rows, n_rows + 1, sizeof *rows) != 0 ||
                sim_seed_row(&r, &rows[n_rows]) != 0) {
                fprintf(stderr, "utsim: out of memory\n");
                sim_result_free(&r);
                free(rows);
                return 3;
            }
            n_rows++;
        }
        tot.events += r.stats.events;
        tot.msgs_delivered += r.stats.msgs_delivered;
        tot.ops_total += r.stats.ops_total;
        tot.ops_ok += r.stats.ops_ok;
        tot.ops_unknown += r.stats.ops_unknown;
        for (unsigned k = 0; k < SIM_MAX_SCENARIO_STATS; k++)
            tot.scen[k] += r.stats.scen[k];
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
        if (stop_on_fail && have_fail) {
            stopped = true;
            break;
        }
    }
    double wall = wall_now() - t0;
    if (tty)
        printf("\n");
    if (!json) {
        char faults[128];
        sim_faults_format(o.faults, faults, sizeof faults);
        printf("utsim sweep: seeds %" PRIu64 "..%" PRIu64 " (%" PRIu64
               " runs%s), %u nodes, %" PRIu64 " s each, faults %s\n",
               seed_a, seed_b, runs, stopped ? ", stopped at the first failure" : "", o.nodes,
               o.time_ms / 1000, faults);
        printf("  %" PRIu64 " failing seeds; ", failures);
        if (sc->sweep_text) {
            sim_stat_format(stdout, sc, tot.scen, sc->sweep_text);
            printf(", ");
        }
        printf("%" PRIu64 " crashes, %" PRIu64 " partitions, %" PRIu64 " ops (%" PRIu64
               " ok, %" PRIu64 " unknown), %" PRIu64 " deliveries, %" PRIu64 " invariant checks\n",
               tot.crashes, tot.partitions, tot.ops_total, tot.ops_ok, tot.ops_unknown,
               tot.msgs_delivered, tot.invariant_checks);
        if (have_fail)
            printf("  first failing seed: %" PRIu64 "\n", first_fail);
    }
    if (tty)
        printf("  (wall clock: %.2f s, %.0f deliveries/s)\n", wall,
               wall > 0 ? (double)tot.msgs_delivered / wall : 0.0);
    int status = failures ? 1 : 0;
    if (report || history) {
        o.seed = have_fail ? first_fail : seed_b;
        o.record = true;
        sim_result_t r;
        if (sim_run(&o, &r) != 0) {
            status = status ? status : 3;
        } else {
            int out_rc = 0;
            if (report) {
                FILE *f = fopen(report, "w");
                if (!f || sim_write_sweep_html(f, rows, n_rows, &r) != 0)
                    out_rc = -1;
                if (f && fclose(f) != 0)
                    out_rc = -1;
                if (out_rc)
                    fprintf(stderr, "utsim: cannot write %s\n", report);
            }
            status = write_outputs(NULL, history, &r, status);
            if (out_rc && status == 0)
                status = 3;
        }
        sim_result_free(&r);
    }
    free(rows);
    return status;
}
