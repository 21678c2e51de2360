/* SPDX-License-Identifier: MIT */
/* G1 side by side with hashicorp/memberlist (issue 16): one fault schedule,
 * written once to a text file, run by ut_gossip_t here and by memberlist in
 * bench/peers/memberlist/, and one analysis of both runs' event logs, so
 * "the same schedule" and "the same definitions" are literally true.
 *
 *   gossip_schedule gen [key=value ...] > sched.txt
 *       n=50 seed=1 secs=90 period=200 timeout=100 push_pull=30000 loss=5
 *       stall_pct=10 stall_ms=400 stall_every=6000 crash_every=10000
 *       first_crash=10000 delay_min=1 delay_max=20
 *   gossip_schedule run sched.txt events.txt [lifeguard=1] [tick=10]
 *       runs ut_gossip_t on the simulated network of tests/gossip_cluster.c
 *   gossip_schedule analyze sched.txt label events.txt [label events.txt ...]
 *       prints the side-by-side table (markdown)
 *
 * Schedule file: one directive a line ("#" comments):
 *   members N | seed S | duration_ms D | probe_interval_ms P |
 *   probe_timeout_ms T | push_pull_ms X | delay_ms MIN MAX | loss_pct L |
 *   crash MEMBER AT_MS | stall MEMBER FROM_MS TO_MS
 * Members are 0-based (ut_gossip_t id = member + 1, memberlist name
 * "n<member>"); times are milliseconds from the start of the measured run.
 *
 * Event file: "T_MS MEMBER KIND NODE" lines (KIND: suspect, dead, alive,
 * origin = the prober's own suspicion, refute), and "# key value" lines
 * (bytes = bytes sent in the measured window, suspect_total = every
 * suspect transition the peer counted itself). Events before 0 are
 * warm-up and ignored. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../tests/gossip_cluster.h"

#define MAX_N 4096

typedef struct crash {
    unsigned member;
    unsigned long at;
} crash_t;

typedef struct stall {
    unsigned member;
    unsigned long from, to;
} stall_t;

typedef struct sched {
    unsigned n;
    unsigned long long seed;
    unsigned long duration_ms, period_ms, timeout_ms, push_pull_ms;
    unsigned delay_min, delay_max, loss_pct;
    unsigned ncrash, nstall;
    crash_t crash[MAX_N];
    stall_t *stall;
    unsigned cap_stall;
    long crash_at[MAX_N]; /* per member, -1 = never */
} sched_t;

static unsigned long long rng_state;
static unsigned long long rnd(void)
{
    unsigned long long z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned long kv(int argc, char **argv, const char *key, unsigned long def)
{
    size_t kl = strlen(key);
    for (int i = argc - 1; i >= 0; i--) /* the last one wins: defaults first */
        if (strncmp(argv[i], key, kl) == 0 && argv[i][kl] == '=')
            return strtoul(argv[i] + kl + 1, NULL, 10);
    return def;
}

/* ---- gen ---------------------------------------------------------------- */

static int gen(int argc, char **argv)
{
    unsigned long n = kv(argc, argv, "n", 50), seed = kv(argc, argv, "seed", 1);
    unsigned long dur = kv(argc, argv, "secs", 90) * 1000;
    unsigned long period = kv(argc, argv, "period", 200);
    unsigned long timeout = kv(argc, argv, "timeout", period / 2);
    unsigned long stall_pct = kv(argc, argv, "stall_pct", 10);
    unsigned long stall_ms = kv(argc, argv, "stall_ms", 2 * period);
    unsigned long stall_every = kv(argc, argv, "stall_every", 30 * period);
    unsigned long crash_every = kv(argc, argv, "crash_every", 10000);
    unsigned long first_crash = kv(argc, argv, "first_crash", crash_every);
    if (n < 3 || n > MAX_N || period == 0 || stall_every == 0 || crash_every == 0) {
        fprintf(stderr, "gen: need 3 <= n <= %d and non-zero periods\n", MAX_N);
        return 2;
    }
    rng_state = seed * 0x2545f4914f6cdd1dull + 7;
    printf("# G1 side-by-side schedule: bench/peers/gossip_schedule.c gen");
    for (int i = 0; i < argc; i++)
        printf(" %s", argv[i]);
    printf("\nmembers %lu\nseed %lu\nduration_ms %lu\nprobe_interval_ms %lu\n", n, seed, dur,
           period);
    printf("probe_timeout_ms %lu\npush_pull_ms %lu\ndelay_ms %lu %lu\nloss_pct %lu\n", timeout,
           kv(argc, argv, "push_pull", 30000), kv(argc, argv, "delay_min", 1),
           kv(argc, argv, "delay_max", 20), kv(argc, argv, "loss", 5));
    /* Crashes: one live member every crash_every ms, none in the last 10 s
     * (time to be declared dead everywhere). */
    static long crashed_at[MAX_N];
    for (unsigned long i = 0; i < n; i++)
        crashed_at[i] = -1;
    for (unsigned long t = first_crash; t + 10000 <= dur; t += crash_every) {
        unsigned long v;
        do
            v = (unsigned long)(rnd() % n);
        while (crashed_at[v] >= 0);
        crashed_at[v] = (long)t;
        printf("crash %lu %lu\n", v, t);
    }
    /* Stalls: every stall_every ms, stall_pct % of the members not crashed
     * by then stop for stall_ms. */
    for (unsigned long t = stall_every; t + stall_ms <= dur; t += stall_every) {
        unsigned long want = n * stall_pct / 100, got = 0, tries = 0;
        static unsigned char used[MAX_N];
        memset(used, 0, sizeof used);
        while (got < want && tries++ < 100 * n) {
            unsigned long v = (unsigned long)(rnd() % n);
            if (used[v] || (crashed_at[v] >= 0 && (unsigned long)crashed_at[v] <= t + stall_ms))
                continue;
            used[v] = 1;
            got++;
            printf("stall %lu %lu %lu\n", v, t, t + stall_ms);
        }
    }
    return 0;
}

/* ---- schedule parsing --------------------------------------------------- */

static int cmp_crash(const void *a, const void *b)
{
    unsigned long x = ((const crash_t *)a)->at, y = ((const crash_t *)b)->at;
    return x < y ? -1 : x > y;
}

static int cmp_stall(const void *a, const void *b)
{
    unsigned long x = ((const stall_t *)a)->from, y = ((const stall_t *)b)->from;
    return x < y ? -1 : x > y;
}

static int load(const char *path, sched_t *s)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    memset(s, 0, sizeof *s);
    for (unsigned i = 0; i < MAX_N; i++)
        s->crash_at[i] = -1;
    char line[256];
    int rc = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        char key[32];
        unsigned long a = 0, b = 0, c = 0;
        if (line[0] == '#' || sscanf(line, "%31s", key) != 1)
            continue;
        int k = sscanf(line, "%*s %lu %lu %lu", &a, &b, &c);
        if (strcmp(key, "members") == 0 && k == 1 && a >= 1 && a <= MAX_N)
            s->n = (unsigned)a;
        else if (strcmp(key, "seed") == 0 && k == 1)
            s->seed = a;
        else if (strcmp(key, "duration_ms") == 0 && k == 1)
            s->duration_ms = a;
        else if (strcmp(key, "probe_interval_ms") == 0 && k == 1 && a > 0)
            s->period_ms = a;
        else if (strcmp(key, "probe_timeout_ms") == 0 && k == 1)
            s->timeout_ms = a;
        else if (strcmp(key, "push_pull_ms") == 0 && k == 1)
            s->push_pull_ms = a;
        else if (strcmp(key, "delay_ms") == 0 && k == 2 && a <= b)
            s->delay_min = (unsigned)a, s->delay_max = (unsigned)b;
        else if (strcmp(key, "loss_pct") == 0 && k == 1 && a <= 100)
            s->loss_pct = (unsigned)a;
        else if (strcmp(key, "crash") == 0 && k == 2 && s->n > 0 && a < s->n && s->ncrash < MAX_N &&
                 s->crash_at[a] < 0) {
            s->crash[s->ncrash].member = (unsigned)a;
            s->crash[s->ncrash++].at = b;
            s->crash_at[a] = (long)b;
        } else if (strcmp(key, "stall") == 0 && k == 3 && s->n > 0 && a < s->n && b <= c) {
            if (s->nstall == s->cap_stall) {
                s->cap_stall = s->cap_stall ? 2 * s->cap_stall : 64;
                s->stall = realloc(s->stall, s->cap_stall * sizeof *s->stall);
            }
            s->stall[s->nstall].member = (unsigned)a;
            s->stall[s->nstall].from = b;
            s->stall[s->nstall++].to = c;
        } else {
            fprintf(stderr, "%s: bad line: %s", path, line);
            rc = -1;
        }
    }
    fclose(f);
    qsort(s->crash, s->ncrash, sizeof s->crash[0], cmp_crash);
    if (s->nstall > 0)
        qsort(s->stall, s->nstall, sizeof s->stall[0], cmp_stall);
    if (rc == 0 && (s->n == 0 || s->period_ms == 0 || s->duration_ms == 0)) {
        fprintf(stderr, "%s: members, probe_interval_ms and duration_ms are required\n", path);
        rc = -1;
    }
    return rc;
}

/* ---- run (ut_gossip_t) -------------------------------------------------- */

static FILE *ev_out;
static uint64_t run_t0;

static void on_ev(void *ud, size_t node, const ut_gossip_event_t *ev, uint64_t now)
{
    (void)ud;
    const char *kind = ev->kind == UT_GOSSIP_EVENT_SUSPECTED ? "suspect"
                       : ev->kind == UT_GOSSIP_EVENT_DEAD    ? "dead"
                       : ev->kind == UT_GOSSIP_EVENT_ALIVE   ? "alive"
                                                             : NULL;
    if (kind != NULL && ev->node >= 1)
        fprintf(ev_out, "%.1f %zu %s %llu\n", (double)now - (double)run_t0, node, kind,
                (unsigned long long)(ev->node - 1));
}

static int run(int argc, char **argv)
{
    sched_t s;
    if (argc < 2 || load(argv[0], &s) != 0)
        return 2;
    ev_out = fopen(argv[1], "w");
    if (ev_out == NULL) {
        perror(argv[1]);
        return 2;
    }
    gc_config_t c;
    gc_config_init(&c);
    c.n = s.n;
    c.seed = s.seed;
    c.loss_pct = 0; /* the warm-up is fault-free, as memberlist's join is */
    c.delay_min_ms = s.delay_min;
    c.delay_max_ms = s.delay_max;
    c.tick_ms = (uint32_t)kv(argc, argv, "tick", 10);
    c.probe_interval_ms = (uint32_t)s.period_ms;
    c.probe_timeout_ms = (uint32_t)s.timeout_ms;
    c.push_pull_ms = (uint32_t)s.push_pull_ms;
    c.lifeguard = kv(argc, argv, "lifeguard", 1) != 0;
    c.check_views = false;
    gc_t *g = gc_new(&c);
    gc_on_event(g, on_ev, NULL);
    run_t0 = 2000; /* two seconds of warm-up, as the memberlist driver settles */
    gc_run_until(g, run_t0);
    gc_set_loss(g, s.loss_pct);
    /* Walk the schedule in time order (load() sorted it): stalls start,
     * crashes happen. */
    unsigned ci = 0, si = 0;
    for (;;) {
        unsigned long next = s.duration_ms;
        if (ci < s.ncrash && s.crash[ci].at < next)
            next = s.crash[ci].at;
        if (si < s.nstall && s.stall[si].from < next)
            next = s.stall[si].from;
        gc_run_until(g, run_t0 + next);
        int any = 0;
        for (; si < s.nstall && s.stall[si].from == next; si++, any = 1)
            if (!gc_crashed(g, s.stall[si].member))
                gc_stall(g, s.stall[si].member, run_t0 + s.stall[si].to);
        for (; ci < s.ncrash && s.crash[ci].at == next; ci++, any = 1)
            gc_crash(g, s.crash[ci].member);
        if (!any)
            break;
    }
    const gc_stats_t *st = gc_stats(g);
    fprintf(ev_out, "# bytes %llu\n# lib_errors %llu\n", (unsigned long long)st->bytes,
            (unsigned long long)gc_errors(g));
    fclose(ev_out);
    gc_free(g);
    return 0;
}

/* ---- analyze ------------------------------------------------------------ */

typedef struct result {
    const char *label;
    unsigned crashes, first_n, dead_all_n, pairs, pairs_missing;
    double *first_susp, *first_dead, *per_member; /* ms */
    size_t n_first_susp, n_first_dead, n_per_member;
    unsigned long false_susp, false_susp_stalled, false_dead, false_origin, origins, refutes;
    unsigned long false_origin_by_stalled;
    unsigned long suspects_about_crashed;
    double bytes, suspect_total, lag[3];
    int have_lag;
    int have_origin, have_suspect_total;
} result_t;

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* A member counts as stalled at t if a stall window of its covers any of
 * [t - 1000 ms, t]: suspicions raised just after a stall are its echo. */
static int stalled_near(const sched_t *s, unsigned m, double t)
{
    for (unsigned i = 0; i < s->nstall; i++)
        if (s->stall[i].member == m && (double)s->stall[i].from <= t &&
            t <= (double)s->stall[i].to + 1000.0)
            return 1;
    return 0;
}

static int analyze_one(const sched_t *s, const char *label, const char *path, result_t *r)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    memset(r, 0, sizeof *r);
    r->label = label;
    unsigned n = s->n, nc = s->ncrash;
    /* first_at[c] over members; per (member, crash) first dead */
    double *fs = malloc(nc * sizeof *fs), *fd = malloc(nc * sizeof *fd);
    double *pm = malloc((size_t)nc * n * sizeof *pm);
    for (unsigned c = 0; c < nc; c++) {
        fs[c] = fd[c] = -1;
        for (unsigned m = 0; m < n; m++)
            pm[(size_t)c * n + m] = -1;
    }
    int crash_idx[MAX_N];
    for (unsigned m = 0; m < n; m++)
        crash_idx[m] = -1;
    for (unsigned c = 0; c < nc; c++)
        crash_idx[s->crash[c].member] = (int)c;
    char line[256];
    while (fgets(line, sizeof line, f) != NULL) {
        char k1[32], kind[32];
        double t, v;
        unsigned m, node;
        if (line[0] == '#') {
            if (sscanf(line, "# %31s %lf", k1, &v) == 2) {
                if (strcmp(k1, "bytes") == 0)
                    r->bytes = v;
                else if (strcmp(k1, "suspect_total") == 0)
                    r->suspect_total = v, r->have_suspect_total = 1;
                else if (strcmp(k1, "has_origin") == 0)
                    r->have_origin = 1;
                else if (strcmp(k1, "timer_lag_ms_p50_p99_max") == 0 &&
                         sscanf(line, "# %*s %lf %lf %lf", &r->lag[0], &r->lag[1], &r->lag[2]) == 3)
                    r->have_lag = 1;
            }
            continue;
        }
        if (sscanf(line, "%lf %u %31s %u", &t, &m, kind, &node) != 4 || m >= n || node >= n)
            continue;
        if (t < 0 || t > (double)s->duration_ms)
            continue;
        long ca = s->crash_at[node];
        int about_crashed = ca >= 0 && (double)ca <= t;
        /* an event at a member after its own crash cannot happen; skip */
        if (s->crash_at[m] >= 0 && (double)s->crash_at[m] <= t)
            continue;
        if (strcmp(kind, "suspect") == 0) {
            if (about_crashed) {
                r->suspects_about_crashed++;
                int c = crash_idx[node];
                if (fs[c] < 0 || t < fs[c])
                    fs[c] = t;
            } else {
                r->false_susp++;
                r->false_susp_stalled += (unsigned long)stalled_near(s, node, t);
            }
        } else if (strcmp(kind, "origin") == 0) {
            r->origins++;
            if (about_crashed) {
                int c = crash_idx[node];
                if (fs[c] < 0 || t < fs[c])
                    fs[c] = t;
            } else {
                r->false_origin++;
                r->false_origin_by_stalled += (unsigned long)stalled_near(s, m, t);
            }
        } else if (strcmp(kind, "dead") == 0) {
            if (about_crashed) {
                int c = crash_idx[node];
                if (fd[c] < 0 || t < fd[c])
                    fd[c] = t;
                double *p = &pm[(size_t)c * n + m];
                if (*p < 0 || t < *p)
                    *p = t;
            } else
                r->false_dead++;
        } else if (strcmp(kind, "refute") == 0)
            r->refutes++;
    }
    fclose(f);
    r->crashes = nc;
    r->first_susp = malloc((nc + 1) * sizeof(double));
    r->first_dead = malloc((nc + 1) * sizeof(double));
    r->per_member = malloc(((size_t)nc * n + 1) * sizeof(double));
    for (unsigned c = 0; c < nc; c++) {
        double at = (double)s->crash[c].at;
        if (fs[c] >= 0)
            r->first_susp[r->n_first_susp++] = fs[c] - at;
        if (fd[c] >= 0)
            r->first_dead[r->n_first_dead++] = fd[c] - at;
        int all = 1;
        for (unsigned m = 0; m < n; m++) {
            if (m == s->crash[c].member)
                continue;
            double d = pm[(size_t)c * n + m];
            long mc = s->crash_at[m];
            if (d < 0) {
                /* a member that crashed before declaring it is excused */
                if (mc >= 0 && (unsigned long)mc <= s->duration_ms)
                    continue;
                all = 0;
                r->pairs_missing++;
                continue;
            }
            r->pairs++;
            r->per_member[r->n_per_member++] = d - at;
        }
        r->dead_all_n += (unsigned)all;
    }
    qsort(r->first_susp, r->n_first_susp, sizeof(double), cmp_d);
    qsort(r->first_dead, r->n_first_dead, sizeof(double), cmp_d);
    qsort(r->per_member, r->n_per_member, sizeof(double), cmp_d);
    free(fs);
    free(fd);
    free(pm);
    return 0;
}

static void stats(const double *v, size_t n, double *mean, double *p99, double *max)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    *mean = n ? sum / (double)n : NAN;
    size_t k = n ? (size_t)ceil(0.99 * (double)n) - 1 : 0;
    *p99 = n ? v[k] : NAN;
    *max = n ? v[n - 1] : NAN;
}

static void row_times(const sched_t *s, const char *what, result_t *r, int nr, int which)
{
    printf("| %s |", what);
    for (int i = 0; i < nr; i++) {
        const double *v = which == 0   ? r[i].first_susp
                          : which == 1 ? r[i].first_dead
                                       : r[i].per_member;
        size_t n = which == 0   ? r[i].n_first_susp
                   : which == 1 ? r[i].n_first_dead
                                : r[i].n_per_member;
        double mean, p99, max, P = (double)s->period_ms;
        stats(v, n, &mean, &p99, &max);
        if (n == 0)
            printf(" none |");
        else
            printf(" %.0f / %.0f / %.0f ms = %.2f / %.2f / %.2f periods (%zu) |", mean, p99, max,
                   mean / P, p99 / P, max / P, n);
    }
    printf("\n");
}

static int analyze(int argc, char **argv)
{
    sched_t s;
    if (argc < 3 || (argc - 1) % 2 != 0 || load(argv[0], &s) != 0) {
        fprintf(stderr, "analyze: sched.txt label events.txt [label events.txt ...]\n");
        return 2;
    }
    int nr = (argc - 1) / 2;
    result_t *r = calloc((size_t)nr, sizeof *r);
    for (int i = 0; i < nr; i++)
        if (analyze_one(&s, argv[1 + 2 * i], argv[2 + 2 * i], &r[i]) != 0)
            return 2;
    printf("%u members, %.0f s measured, period %lu ms (timeout %lu ms), loss %u %%, delay "
           "%u-%u ms, %u crashes, %u stall windows\n\n",
           s.n, (double)s.duration_ms / 1000.0, s.period_ms, s.timeout_ms, s.loss_pct, s.delay_min,
           s.delay_max, s.ncrash, s.nstall);
    printf("| measure (mean / p99 / max) |");
    for (int i = 0; i < nr; i++)
        printf(" %s |", r[i].label);
    printf("\n|---|");
    for (int i = 0; i < nr; i++)
        printf("---|");
    printf("\n");
    row_times(&s, "crash -> first suspicion anywhere", r, nr, 0);
    row_times(&s, "crash -> first dead declaration anywhere", r, nr, 1);
    row_times(&s, "crash -> dead at each live member (member x crash pairs)", r, nr, 2);
    printf("| crashes declared dead by every live member |");
    for (int i = 0; i < nr; i++)
        printf(" %u of %u (%u member x crash pairs missing) |", r[i].dead_all_n, r[i].crashes,
               r[i].pairs_missing);
    printf("\n| false suspicions (suspect transitions about live members, all members) |");
    for (int i = 0; i < nr; i++)
        printf(" %lu (%lu about a member stalled then or < 1 s before) |", r[i].false_susp,
               r[i].false_susp_stalled);
    printf("\n| suspect transitions counted by the peer itself (all, incl. crashed) |");
    for (int i = 0; i < nr; i++) {
        if (r[i].have_suspect_total)
            printf(" %.0f (mirror: %lu false + %lu about crashed) |", r[i].suspect_total,
                   r[i].false_susp, r[i].suspects_about_crashed);
        else
            printf(" = events: %lu |", r[i].false_susp + r[i].suspects_about_crashed);
    }
    printf("\n| suspicions raised by a prober about a live member |");
    for (int i = 0; i < nr; i++) {
        if (r[i].have_origin)
            printf(" %lu of %lu (%lu by a prober stalled then or < 1 s before) |",
                   r[i].false_origin, r[i].origins, r[i].false_origin_by_stalled);
        else
            printf(" not recorded |");
    }
    printf("\n| false dead declarations (about live members, all members) |");
    for (int i = 0; i < nr; i++)
        printf(" **%lu** |", r[i].false_dead);
    printf("\n| bytes sent per member per second |");
    for (int i = 0; i < nr; i++)
        printf(" %.0f |", r[i].bytes / (double)s.n / ((double)s.duration_ms / 1000.0));
    printf("\n| timer lateness of the process, 10 ms sleeps (p50 / p99 / max) |");
    for (int i = 0; i < nr; i++) {
        if (r[i].have_lag)
            printf(" %.1f / %.1f / %.1f ms |", r[i].lag[0], r[i].lag[1], r[i].lag[2]);
        else
            printf(" none (simulated time) |");
    }
    printf("\n");
    for (int i = 0; i < nr; i++) {
        free(r[i].first_susp);
        free(r[i].first_dead);
        free(r[i].per_member);
    }
    free(r);
    free(s.stall);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "gen") == 0)
        return gen(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "run") == 0)
        return run(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "analyze") == 0)
        return analyze(argc - 2, argv + 2);
    fprintf(stderr,
            "usage: %s gen [k=v ...] | run sched events [lifeguard=1] [tick=10] | "
            "analyze sched label events [label events ...]\n",
            argv[0]);
    return 2;
}
