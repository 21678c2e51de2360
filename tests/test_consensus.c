/* SPDX-License-Identifier: MIT */
/* Raft core (ut_consensus_t): named scenarios from the Raft paper (Ongaro &
 * Ousterhout, "In Search of an Understandable Consensus Algorithm", 2014) and
 * Ongaro's thesis (2014), plus the API contract: every illegal call returns
 * its error code and leaves the node unchanged. Multi-node scenarios run on
 * the in-process cluster of raft_cluster.h, whose safety checks (Election
 * Safety, Log Matching, Leader Completeness, State Machine Safety) run after
 * every processed ready; every scenario ends by asserting they held.
 *
 * The tests live by feature in tests/consensus/<group>.c, one cmocka group
 * each, with their shared fixtures in tests/consensus/consensus_test.h. This
 * program runs every group, or only those named on its command line
 * (`test_consensus election figures`). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "consensus/consensus_test.h"

static const struct {
    const char *name;
    int (*run)(void);
} groups[] = {
    {"config", consensus_group_config},
    {"restore", consensus_group_restore},
    {"election", consensus_group_election},
    {"ready", consensus_group_ready},
    {"figures", consensus_group_figures},
    {"replication", consensus_group_replication},
    {"observers", consensus_group_observers},
    {"errors", consensus_group_errors},
    {"alloc", consensus_group_alloc},
    /* >>> rsnap */
    {"snapshot", consensus_group_snapshot},
    /* <<< rsnap */
    /* >>> rmemb */
    {"membership", consensus_group_membership},
    /* <<< rmemb */
    /* >>> rsim */
    {"rsim", consensus_group_rsim},
    /* <<< rsim */
    /* >>> rstat */
    {"flow", consensus_group_flow},
    {"status", consensus_group_status},
    /* <<< rstat */
    /* >>> rxfer */
    {"transfer", consensus_group_transfer},
    /* <<< rxfer */
    /* >>> rread */
    {"reads", consensus_group_reads},
    /* <<< rread */
};

int main(int argc, char **argv)
{
    const size_t n = sizeof groups / sizeof groups[0];
    int failed = 0;
    for (int a = 1; a < argc; a++) {
        size_t g = 0;
        while (g < n && strcmp(argv[a], groups[g].name) != 0)
            g++;
        if (g == n) {
            fprintf(stderr, "test_consensus: no group '%s'; groups:", argv[a]);
            for (g = 0; g < n; g++)
                fprintf(stderr, " %s", groups[g].name);
            fprintf(stderr, "\n");
            return 2;
        }
    }
    for (size_t g = 0; g < n; g++) {
        bool run = argc == 1;
        for (int a = 1; a < argc && !run; a++)
            run = strcmp(argv[a], groups[g].name) == 0;
        if (run)
            failed += groups[g].run();
    }
    return failed != 0;
}
