/* SPDX-License-Identifier: MIT */
/* G1 (../shared/BENCHMARKS.md): N gossip members on the deterministic
 * in-process network of tests/gossip_cluster.c for a simulated duration,
 * with loss, optional stalls (10% of members stop for 2 s every 30 s) and
 * a crash of a random member every 60 s (restarted 30 s later). Reports
 * wall seconds, first detection of a crash (mean and p99, in protocol
 * periods), false suspicions and false "dead" declarations, bytes sent per
 * member per second, the time for a metadata update to reach every member,
 * and library allocations per probe in steady state.
 *
 * usage: bench_gossip N loss_pct sim_seconds [mode 0|1|2] [lifeguard 0|1] [seed] [progress_s]
 *        [crashes 0|1]
 * mode 1 ("stall"): 10% of members stop for 2 s every 30 s; mode 2 ("slow"):
 * 10% of members, every 30 s, get every message 1.2 s late for 5 s while
 * they keep ticking (an overloaded receiver, the case of Lifeguard §4.1).
 * env G1_FALSE_DEAD=1: one line per false "dead" on stderr; G1_TRACE=<id>:
 * every trace event by or about member id, and every message with an
 * update about it (verbose).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../tests/gossip_cluster.h"

static long n_allocs;
static void *cnt_malloc(void *ctx, size_t n)
{
    (void)ctx;
    n_allocs++;
    return malloc(n);
}
static void *cnt_realloc(void *ctx, void *p, size_t n)
{
    (void)ctx;
    n_allocs++;
    return realloc(p, n);
}
static uint64_t allocs_so_far(void)
{
    return (uint64_t)n_allocs;
}
static void cnt_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

typedef struct spread {
    uint64_t node, inc, start, done_at;
    size_t seen, need;
} spread_t;

static void on_ev(void *ud, size_t node, const ut_gossip_event_t *ev, uint64_t now)
{
    (void)node;
    spread_t *s = ud;
    if (s->node != 0 && ev->kind == UT_GOSSIP_EVENT_UPDATED && ev->node == s->node &&
        ev->incarnation == s->inc && s->done_at == 0 && ++s->seen == s->need)
        s->done_at = now;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(
            stderr,
            "usage: %s N loss_pct sim_seconds [mode] [lifeguard] [seed] [progress_s] [crashes]\n",
            argv[0]);
        return 2;
    }
    gc_config_t c;
    gc_config_init(&c);
    c.n = (size_t)strtoul(argv[1], NULL, 10);
    c.loss_pct = (unsigned)strtoul(argv[2], NULL, 10);
    uint64_t secs = strtoull(argv[3], NULL, 10);
    int mode = argc > 4 ? atoi(argv[4]) : 0;
    bool stall = mode == 1, slow = mode == 2;
    c.lifeguard = argc > 5 ? atoi(argv[5]) != 0 : true;
    c.seed = argc > 6 ? strtoull(argv[6], NULL, 10) : 1;
    uint64_t progress = argc > 7 ? strtoull(argv[7], NULL, 10) : 0; /* report every this many s */
    bool crashes = argc > 8 ? atoi(argv[8]) != 0 : true;
    c.tick_ms = 100;
    c.check_views = false; /* the tests check them; here they would be timed */
    /* Debugging aids (docs/BENCHMARKS.md G1, how the false dead were traced). */
    c.print_false_dead = getenv("G1_FALSE_DEAD") != NULL;
    c.trace_member = getenv("G1_TRACE") != NULL ? strtoull(getenv("G1_TRACE"), NULL, 10) : 0;
    ut_allocator_t a = {NULL, cnt_malloc, cnt_realloc, cnt_free};
    ut_set_allocator(&a);

    gc_t *g = gc_new(&c);
    spread_t sp;
    memset(&sp, 0, sizeof sp);
    gc_on_event(g, on_ev, &sp);
    gc_count_allocs(g, allocs_so_far);
    gc_stats_t mark;
    memset(&mark, 0, sizeof mark);
    uint64_t rng = c.seed * 0x9e3779b97f4a7c15ull + 1;
    size_t crashed = (size_t)-1;
    long allocs_mark = 0;
    uint64_t msgs_mark = 0;
    double t0 = wall(), t_last = t0;
    for (uint64_t t = 0; t < secs * 1000; t += 1000) {
        uint64_t s = t / 1000;
        if (stall && s % 30 == 0)
            for (size_t i = 0; i < c.n / 10; i++)
                gc_stall(g, (size_t)((i * 10 + s / 30) % c.n), t + 2000);
        if (slow && s % 30 == 0)
            for (size_t i = 0; i < c.n / 10; i++)
                gc_slow(g, (size_t)((i * 10 + s / 30) % c.n), t + 5000, 1200);
        if (crashes && s % 60 == 10) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            crashed = (size_t)((rng >> 33) % c.n);
            gc_crash(g, crashed);
        }
        if (s % 60 == 40 && crashed != (size_t)-1) {
            gc_restart(g, crashed);
            crashed = (size_t)-1;
        }
        if (s == 5) { /* one metadata update, timed until every member has it */
            size_t who = 1;
            if (ut_gossip_set_meta(gc_node(g, who), "v=2", 3) == UT_OK) {
                sp.node = who + 1;
                sp.inc = ut_gossip_incarnation(gc_node(g, who));
                sp.start = t;
                sp.need = c.n - 1;
            }
        }
        if (s == 8) {
            allocs_mark = n_allocs;
            msgs_mark = gc_stats(g)->msgs;
            mark = *gc_stats(g);
        }
        gc_run_until(g, t + 1000);
        if (progress > 0 && (s + 1) % progress == 0) {
            double now = wall();
            const gc_stats_t *ps = gc_stats(g);
            fprintf(stderr,
                    "  [t=%llus] %.2f s wall for the last %llu s simulated; so far: false dead "
                    "%llu, false suspicions raised %llu, crashes dead everywhere %llu\n",
                    (unsigned long long)(s + 1), now - t_last, (unsigned long long)progress,
                    (unsigned long long)ps->false_deads, (unsigned long long)ps->origin_susp_false,
                    (unsigned long long)ps->dead_all_n);
            t_last = now;
        }
    }
    double el = wall() - t0;
    const gc_stats_t *st = gc_stats(g);
    double mean = st->detect_n ? (double)st->detect_sum_ms / (double)st->detect_n / 1000.0 : 0;
    double p99 = 0;
    if (st->detect_n > 0) {
        uint64_t *d = malloc(st->detect_n * sizeof *d);
        memcpy(d, st->detect_ms, st->detect_n * sizeof *d);
        qsort(d, st->detect_n, sizeof *d, cmp_u64);
        p99 = (double)d[(st->detect_n * 99) / 100 >= st->detect_n ? st->detect_n - 1
                                                                  : (st->detect_n * 99) / 100] /
              1000.0;
        free(d);
    }
    /* probes ~ one ping per member per period */
    double probes = (double)(secs > 8 ? secs - 8 : 1) * (double)c.n;
    printf("G1 n=%zu loss=%u%% faults=%s lifeguard=%d seed=%llu sim=%llus\n", c.n, c.loss_pct,
           stall  ? "stall"
           : slow ? "slow"
                  : "none",
           c.lifeguard, (unsigned long long)c.seed, (unsigned long long)secs);
    printf("  wall %.2f s  (%.1f s per simulated hour)\n", el, el * 3600.0 / (double)secs);
    printf("  crashes detected %llu: first detection mean %.2f periods, p99 %.2f periods\n",
           (unsigned long long)st->detect_n, mean, p99);
    printf("  crash -> dead at every live member: %llu, mean %.1f s\n",
           (unsigned long long)st->dead_all_n,
           st->dead_all_n ? (double)st->dead_all_sum_ms / (double)st->dead_all_n / 1000.0 : 0.0);
    printf("  suspicions %llu (false %llu), dead declarations %llu (false %llu)\n",
           (unsigned long long)st->suspicions, (unsigned long long)st->false_suspicions,
           (unsigned long long)st->deads, (unsigned long long)st->false_deads);
    printf("  suspicions raised by a failed probe %llu: target crashed %llu, target stalled %llu, "
           "false %llu (suspecter stalled itself: %llu)\n",
           (unsigned long long)st->origin_susp, (unsigned long long)st->origin_susp_crash,
           (unsigned long long)st->origin_susp_stalled, (unsigned long long)st->origin_susp_false,
           (unsigned long long)st->origin_susp_false_self);
    printf("  bytes/member/s %.0f  msgs/member/s %.2f  oversize %llu  lib errors %llu\n",
           (double)st->bytes / (double)c.n / (double)secs,
           (double)st->msgs / (double)c.n / (double)secs, (unsigned long long)st->oversize,
           (unsigned long long)gc_errors(g));
    if (sp.done_at)
        printf("  metadata update reached all %zu others in %.2f s\n", sp.need,
               (double)(sp.done_at - sp.start) / 1000.0);
    else
        printf("  metadata update reached %zu of %zu others\n", sp.seen, sp.need);
    printf("  library allocations after warm-up: %ld for %.0f probes (%llu messages): %.4f per "
           "probe\n",
           n_allocs - allocs_mark, probes, (unsigned long long)(st->msgs - msgs_mark),
           (double)(n_allocs - allocs_mark) / probes);
    printf("  after warm-up: %llu allocations in %llu steps and ticks of probe work (%.5f per "
           "call); %llu in %llu of full-state exchanges\n",
           (unsigned long long)(st->probe_allocs - mark.probe_allocs),
           (unsigned long long)(st->probe_calls - mark.probe_calls),
           st->probe_calls > mark.probe_calls ? (double)(st->probe_allocs - mark.probe_allocs) /
                                                    (double)(st->probe_calls - mark.probe_calls)
                                              : 0.0,
           (unsigned long long)(st->sync_allocs - mark.sync_allocs),
           (unsigned long long)(st->sync_calls - mark.sync_calls));
    gc_free(g);
    ut_set_allocator(NULL);
    return 0;
}
