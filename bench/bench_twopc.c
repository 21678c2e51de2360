/* SPDX-License-Identifier: MIT */
/* T1 (BENCHMARKS.md): a coordinator and P participants (3 and 16) in one
 * process, a global FIFO network of deep copies, persistence acknowledged
 * at once but counted. N transactions each: all yes; one participant
 * read-only; 1 % with one participant voting no. Reports transactions/s
 * (median of RUNS runs), forced log writes and messages per transaction,
 * for presumed abort, presumed commit and the textbook protocol.
 *   bench_twopc [N [RUNS]]          every configuration (default 100000, 5)
 *   bench_twopc N P PRESUMPTION MODE [RUNS]   one configuration
 * Instructions per committed transaction: the timed loop is t1_workload,
 *   valgrind --tool=callgrind --toggle-collect=t1_workload \
 *       bench_twopc N P PRESUMPTION MODE 1
 * and divide its Ir by the committed count printed (docs/BENCHMARKS.md);
 * callgrind_annotate --inclusive=yes gives the library-only part (the
 * ut_2pc_* calls). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "twopc/twopc_internal.h"

#define MAXP 16

typedef struct qmsg {
    ut_msg_t m;
    unsigned char buf[MAXP * 8 + 16];
} qmsg_t;

static qmsg_t *q;
static size_t qh, qt, qcap;
static uint64_t n_forced_writes, n_msgs;

static void push(const ut_msg_t *m)
{
    if (qt == qcap) {
        if (qh > 0) {
            memmove(q, q + qh, (qt - qh) * sizeof *q);
            qt -= qh;
            qh = 0;
        } else {
            qcap = qcap ? 2 * qcap : 1024;
            q = realloc(q, qcap * sizeof *q);
        }
    }
    qmsg_t *x = &q[qt++];
    x->m = *m;
    size_t pl = (size_t)m->body.twopc.n_peers * 8u, dl = m->body.twopc.len;
    if (pl)
        memcpy(x->buf, m->body.twopc.peers, pl);
    if (dl)
        memcpy(x->buf + pl, m->body.twopc.data, dl);
    x->m.body.twopc.peers = pl ? x->buf : NULL;
    x->m.body.twopc.data = dl ? x->buf + pl : NULL;
    n_msgs++;
}

static void account(const ut_2pc_ready_t *rd)
{
    /* one forced write (fsync) per ready with a forced record */
    for (size_t i = 0; i < rd->n_records; i++)
        if (rd->records[i].forced) {
            n_forced_writes++;
            break;
        }
    for (size_t i = 0; i < rd->n_msgs; i++)
        push(&rd->msgs[i]);
}

/* The timed loop (callgrind: --toggle-collect=t1_workload). */
__attribute__((noinline)) static long t1_workload(ut_2pc_t *c, ut_2pc_participant_t **p,
                                                  const uint64_t *ids, int np, int mode, long n)
{
    long committed = 0;
    for (long tx = 1; tx <= n; tx++) {
        ut_2pc_begin(c, (uint64_t)tx, ids, (size_t)np, "transfer", 8);
        for (;;) {
            ut_2pc_ready_t rd;
            while (ut_2pc_ready(c, &rd) == UT_OK && !ut_2pc_ready_empty(&rd)) {
                account(&rd);
                for (size_t i = 0; i < rd.n_events; i++)
                    if (rd.events[i].kind == UT_2PC_EVENT_DONE &&
                        rd.events[i].state == UT_TXN_COMMITTED)
                        committed++;
                ut_2pc_advance(c, &rd);
            }
            if (qh == qt)
                break;
            ut_msg_t m = q[qh++].m;
            if (m.to == 1) {
                ut_2pc_step(c, &m);
                continue;
            }
            int i = (int)m.to - 2;
            ut_2pc_participant_step(p[i], &m);
            while (ut_2pc_participant_ready(p[i], &rd) == UT_OK && !ut_2pc_ready_empty(&rd)) {
                account(&rd);
                uint64_t vt = 0;
                for (size_t k = 0; k < rd.n_events; k++)
                    if (rd.events[k].kind == UT_2PC_EVENT_PREPARE)
                        vt = rd.events[k].txid;
                ut_2pc_participant_advance(p[i], &rd);
                if (vt != 0) {
                    ut_2pc_vote_t v = UT_2PC_VOTE_YES;
                    if (mode == 1 && i == 0)
                        v = UT_2PC_VOTE_READ_ONLY;
                    if (mode == 2 && i == 0 && tx % 100 == 0)
                        v = UT_2PC_VOTE_NO;
                    ut_2pc_participant_vote(p[i], vt, v);
                }
            }
        }
        /* the harness forgets finished transactions at the participants */
        for (int i = 0; i < np; i++)
            ut_2pc_participant_forget(p[i], (uint64_t)tx);
    }
    return committed;
}

static long run(int np, int pres, int mode, long n, double *secs)
{
    ut_2pc_config_t cc;
    ut_2pc_config_init(&cc, UT_2PC_CONFIG_VERSION);
    cc.id = 1;
    cc.presumption = (ut_2pc_presumption_t)pres;
    ut_2pc_t *c;
    ut_2pc_new(&c, &cc);
    ut_2pc_participant_t *p[MAXP];
    uint64_t ids[MAXP];
    for (int i = 0; i < np; i++) {
        ut_2pc_participant_config_t pc;
        ut_2pc_participant_config_init(&pc, UT_2PC_CONFIG_VERSION);
        pc.id = (uint64_t)(i + 2);
        ids[i] = pc.id;
        ut_2pc_participant_new(&p[i], &pc);
    }
    n_forced_writes = n_msgs = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long committed = t1_workload(c, p, ids, np, mode, n);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    *secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    for (int i = 0; i < np; i++)
        ut_2pc_participant_free(p[i]);
    ut_2pc_free(c);
    return committed;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median transactions/s of `runs` runs; the counts are the same in each. */
static double median_tps(int np, int pres, int mode, long n, int runs, long *committed)
{
    double tps[16];
    if (runs < 1)
        runs = 1;
    if (runs > 16)
        runs = 16;
    for (int r = 0; r < runs; r++) {
        double secs;
        *committed = run(np, pres, mode, n, &secs);
        tps[r] = (double)n / secs;
    }
    qsort(tps, (size_t)runs, sizeof *tps, cmp_double);
    return tps[runs / 2];
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    if (argc > 4) { /* one configuration: N P PRESUMPTION MODE [RUNS] */
        long committed;
        double tps = median_tps(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), n,
                                argc > 5 ? atoi(argv[5]) : 5, &committed);
        printf("committed %ld forced/tx %.2f msgs/tx %.2f tx/s %.0f (median)\n", committed,
               (double)n_forced_writes / (double)n, (double)n_msgs / (double)n, tps);
        free(q);
        return 0;
    }
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    static const char *pn[] = {"presumed-abort", "presumed-commit", "textbook"};
    static const char *mn[] = {"all-yes", "one-read-only", "1%-no"};
    printf("%-16s %-14s %3s %10s %12s %14s %12s   (tx/s: median of %d runs)\n", "protocol", "votes",
           "P", "tx/s", "committed", "forced/tx", "msgs/tx", runs);
    for (int np = 3; np <= 16; np += 13)
        for (int pres = 0; pres < 3; pres++)
            for (int mode = 0; mode < 3; mode++) {
                long committed;
                double tps = median_tps(np, pres, mode, n, runs, &committed);
                printf("%-16s %-14s %3d %10.0f %12ld %14.2f %12.2f\n", pn[pres], mn[mode], np, tps,
                       committed, (double)n_forced_writes / (double)n, (double)n_msgs / (double)n);
            }
    free(q);
    return 0;
}
