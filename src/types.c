/* SPDX-License-Identifier: MIT */
/* The seed's words for each enum. Tables are indexed by value; the seed's
 * strings are the only ones accepted by the parsers (exact, case-sensitive). */
#include "internal.h"

static const char *lookup_name(const char *const *names, size_t n, int v)
{
    if (v < 0 || (size_t)v >= n)
        return "?";
    return names[v];
}

static int lookup_parse(const char *const *names, size_t n, const char *s, int *v)
{
    if (s == NULL)
        return UT_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], s) == 0) {
            *v = (int)i;
            return UT_OK;
        }
    }
    return UT_EINVAL;
}

#define UT__ENUM_FUNCS(prefix, type, ...)                                                          \
    static const char *const prefix##_names[] = {__VA_ARGS__};                                     \
    const char *prefix##_name(type v)                                                              \
    {                                                                                              \
        return lookup_name(prefix##_names, sizeof prefix##_names / sizeof(char *), (int)v);        \
    }                                                                                              \
    int prefix##_parse(const char *s, type *out)                                                   \
    {                                                                                              \
        int v = 0;                                                                                 \
        if (out == NULL)                                                                           \
            return UT_EINVAL;                                                                      \
        int rc = lookup_parse(prefix##_names, sizeof prefix##_names / sizeof(char *), s, &v);      \
        if (rc == UT_OK)                                                                           \
            *out = (type)v;                                                                        \
        return rc;                                                                                 \
    }

UT__ENUM_FUNCS(ut_consensus_state, ut_consensus_state_t, "follower", "candidate", "leader",
               "observer")
UT__ENUM_FUNCS(ut_replication, ut_replication_t, "sync", "async", "semi-sync", "chain", "tree")
UT__ENUM_FUNCS(ut_partition_strategy, ut_partition_strategy_t, "hash", "range", "list", "composite",
               "consistent-hash")
UT__ENUM_FUNCS(ut_consistency, ut_consistency_t, "strong", "eventual", "causal", "linearizable",
               "quorum", "one", "all")
UT__ENUM_FUNCS(ut_lock_result, ut_lock_result_t, "acquired", "timeout", "conflict", "error")
UT__ENUM_FUNCS(ut_txn_state, ut_txn_state_t, "init", "prepared", "committed", "aborted", "timeout")
UT__ENUM_FUNCS(ut_node_status, ut_node_status_t, "alive", "suspected", "dead", "joining", "leaving")
UT__ENUM_FUNCS(ut_replica_status, ut_replica_status_t, "syncing", "in-sync", "lagging", "offline",
               "failed")
