/* SPDX-License-Identifier: MIT */
/* Foundation: version, error codes, allocator hook, the seed's enums. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "test_alloc.h"

static void test_version_runtime_matches_header(void **state)
{
    (void)state;
    assert_int_equal(ut_version_number(), UT_VERSION_NUMBER);
    assert_string_equal(ut_version_string(), UT_VERSION_STRING);
    assert_int_equal(UT_VERSION_NUMBER,
                     UT_VERSION_MAJOR * 10000 + UT_VERSION_MINOR * 100 + UT_VERSION_PATCH);
    char buf[32];
    snprintf(buf, sizeof buf, "%d.%d.%d", UT_VERSION_MAJOR, UT_VERSION_MINOR, UT_VERSION_PATCH);
    assert_string_equal(buf, ut_version_string());
    assert_true(UT_VERSION_CHECK(0, 0, 0));
    assert_true(UT_VERSION_CHECK(UT_VERSION_MAJOR, UT_VERSION_MINOR, UT_VERSION_PATCH));
    assert_false(UT_VERSION_CHECK(UT_VERSION_MAJOR + 1, 0, 0));
}

static void test_error_codes_have_fixed_values(void **state)
{
    (void)state;
    /* Codes are ABI: these values must never change. */
    assert_int_equal(UT_OK, 0);
    assert_int_equal(UT_EINVAL, -1);
    assert_int_equal(UT_ENOMEM, -2);
    assert_int_equal(UT_ESTATE, -3);
    assert_int_equal(UT_ENOTFOUND, -4);
    assert_int_equal(UT_EEXIST, -5);
    assert_int_equal(UT_ERANGE, -6);
    assert_int_equal(UT_EFULL, -7);
    assert_int_equal(UT_EBUSY, -8);
    assert_int_equal(UT_ETIMEDOUT, -9);
    assert_int_equal(UT_ECORRUPT, -10);
    assert_int_equal(UT_EVERSION, -11);
    assert_int_equal(UT_ENOTLEADER, -12);
    assert_int_equal(UT_ESTALE, -13);
}

static void test_error_names_and_texts(void **state)
{
    (void)state;
    static const struct {
        int code;
        const char *name;
    } known[] = {{UT_OK, "UT_OK"},
                 {UT_EINVAL, "UT_EINVAL"},
                 {UT_ENOMEM, "UT_ENOMEM"},
                 {UT_ESTATE, "UT_ESTATE"},
                 {UT_ENOTFOUND, "UT_ENOTFOUND"},
                 {UT_EEXIST, "UT_EEXIST"},
                 {UT_ERANGE, "UT_ERANGE"},
                 {UT_EFULL, "UT_EFULL"},
                 {UT_EBUSY, "UT_EBUSY"},
                 {UT_ETIMEDOUT, "UT_ETIMEDOUT"},
                 {UT_ECORRUPT, "UT_ECORRUPT"},
                 {UT_EVERSION, "UT_EVERSION"},
                 {UT_ENOTLEADER, "UT_ENOTLEADER"},
                 {UT_ESTALE, "UT_ESTALE"}};
    const char *unknown_text = ut_strerror(-9999);
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        assert_string_equal(ut_err_name(known[i].code), known[i].name);
        assert_non_null(ut_strerror(known[i].code));
        assert_string_not_equal(ut_strerror(known[i].code), unknown_text);
        /* Distinct codes have distinct texts. */
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(ut_strerror(known[i].code), ut_strerror(known[j].code));
    }
}

static void test_error_unknown_codes_never_null(void **state)
{
    (void)state;
    const int odd[] = {1, 42, -14, -1000, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        assert_non_null(ut_strerror(odd[i]));
        assert_string_equal(ut_err_name(odd[i]), "UT_E?");
        assert_string_equal(ut_strerror(odd[i]), "unknown error");
    }
}

static void test_allocator_hook_is_used_and_restored(void **state)
{
    (void)state;
    test_alloc_t t;
    test_alloc_install(&t, 0);
    void *p = ut__malloc(16);
    assert_non_null(p);
    assert_int_equal(t.calls, 1);
    assert_int_equal(t.live, 1);
    p = ut__realloc(p, 64);
    assert_non_null(p);
    assert_int_equal(t.calls, 2);
    ut__free(p);
    assert_int_equal(t.live, 0);
    ut__free(NULL); /* NULL-safe, not passed to the hook */
    assert_int_equal(t.live, 0);
    assert_int_equal(ut_set_allocator(NULL), UT_OK);
    p = ut__malloc(8);
    assert_non_null(p);
    assert_int_equal(t.calls, 2); /* default allocator again */
    ut__free(p);
}

static void test_allocator_rejects_incomplete(void **state)
{
    (void)state;
    test_alloc_t t;
    test_alloc_install(&t, 0);
    ut_allocator_t bad = {NULL, NULL, test_alloc_realloc, test_alloc_free};
    assert_int_equal(ut_set_allocator(&bad), UT_EINVAL);
    bad = (ut_allocator_t){NULL, test_alloc_malloc, NULL, test_alloc_free};
    assert_int_equal(ut_set_allocator(&bad), UT_EINVAL);
    bad = (ut_allocator_t){NULL, test_alloc_malloc, test_alloc_realloc, NULL};
    assert_int_equal(ut_set_allocator(&bad), UT_EINVAL);
    /* The installed allocator is still the counting one. */
    void *p = ut__malloc(4);
    assert_int_equal(t.calls, 1);
    ut__free(p);
    test_alloc_uninstall();
}

static void test_allocator_failure_paths(void **state)
{
    (void)state;
    test_alloc_t t;
    test_alloc_install(&t, 2);
    void *a = ut__malloc(8);
    assert_non_null(a);
    assert_null(ut__malloc(8)); /* 2nd call fails */
    assert_int_equal(t.failures, 1);
    ut__free(a);
    assert_int_equal(t.live, 0);
    /* A failing grow leaves the buffer and capacity as they were. */
    test_alloc_install(&t, 1);
    size_t cap = 0;
    void *buf = NULL;
    assert_int_equal(ut__grow(&buf, &cap, 10, 4), UT_ENOMEM);
    assert_null(buf);
    assert_int_equal(cap, 0);
    assert_int_equal(ut__grow(&buf, &cap, 10, 4), UT_OK);
    assert_true(cap >= 10);
    size_t old = cap;
    t.fail_at = t.calls + 1;
    assert_int_equal(ut__grow(&buf, &cap, old * 4, 4), UT_ENOMEM);
    assert_int_equal(cap, old);
    assert_int_equal(ut__grow(&buf, &cap, SIZE_MAX / 2, 4), UT_ENOMEM);
    assert_int_equal(cap, old);
    ut__free(buf);
    assert_int_equal(t.live, 0);
    /* calloc overflow is refused before reaching the allocator. */
    long before = t.calls;
    assert_null(ut__calloc(SIZE_MAX / 2, 4));
    assert_int_equal(t.calls, before);
    test_alloc_uninstall();
}

/* Round-trip every value of every enum through _name/_parse, and refuse
 * anything else. */
#define CHECK_ENUM(prefix, type, ...)                                                              \
    do {                                                                                           \
        static const char *const names[] = {__VA_ARGS__};                                          \
        const size_t n = sizeof names / sizeof names[0];                                           \
        for (size_t i = 0; i < n; i++) {                                                           \
            type v = (type)99;                                                                     \
            assert_string_equal(prefix##_name((type)i), names[i]);                                 \
            assert_int_equal(prefix##_parse(names[i], &v), UT_OK);                                 \
            assert_int_equal((int)v, (int)i);                                                      \
            assert_string_equal(prefix##_name(v), names[i]);                                       \
        }                                                                                          \
        type keep = (type)1;                                                                       \
        assert_int_equal(prefix##_parse("no-such-value", &keep), UT_EINVAL);                       \
        assert_int_equal(prefix##_parse("", &keep), UT_EINVAL);                                    \
        assert_int_equal(prefix##_parse(NULL, &keep), UT_EINVAL);                                  \
        assert_int_equal(prefix##_parse(names[0], NULL), UT_EINVAL);                               \
        assert_int_equal((int)keep, 1); /* untouched on failure */                                 \
        char upper[64];                                                                            \
        snprintf(upper, sizeof upper, "%s", names[0]);                                             \
        upper[0] = (char)(upper[0] - 'a' + 'A');                                                   \
        assert_int_equal(prefix##_parse(upper, &keep), UT_EINVAL); /* case matters */              \
        assert_string_equal(prefix##_name((type)n), "?");                                          \
        assert_string_equal(prefix##_name((type)-1), "?");                                         \
    } while (0)

static void test_enums_round_trip(void **state)
{
    (void)state;
    CHECK_ENUM(ut_consensus_state, ut_consensus_state_t, "follower", "candidate", "leader",
               "observer");
    CHECK_ENUM(ut_replication, ut_replication_t, "sync", "async", "semi-sync", "chain", "tree");
    CHECK_ENUM(ut_partition_strategy, ut_partition_strategy_t, "hash", "range", "list", "composite",
               "consistent-hash");
    CHECK_ENUM(ut_consistency, ut_consistency_t, "strong", "eventual", "causal", "linearizable",
               "quorum", "one", "all");
    CHECK_ENUM(ut_lock_result, ut_lock_result_t, "acquired", "timeout", "conflict", "error");
    CHECK_ENUM(ut_txn_state, ut_txn_state_t, "init", "prepared", "committed", "aborted", "timeout");
    CHECK_ENUM(ut_node_status, ut_node_status_t, "alive", "suspected", "dead", "joining",
               "leaving");
    CHECK_ENUM(ut_replica_status, ut_replica_status_t, "syncing", "in-sync", "lagging", "offline",
               "failed");
}

static void test_enum_constants_match_names(void **state)
{
    (void)state;
    assert_string_equal(ut_consensus_state_name(UT_CONSENSUS_LEADER), "leader");
    assert_string_equal(ut_consensus_state_name(UT_CONSENSUS_OBSERVER), "observer");
    assert_string_equal(ut_replication_name(UT_REPLICATION_SEMI_SYNC), "semi-sync");
    assert_string_equal(ut_partition_strategy_name(UT_PARTITION_CONSISTENT_HASH),
                        "consistent-hash");
    assert_string_equal(ut_consistency_name(UT_CONSISTENCY_LINEARIZABLE), "linearizable");
    assert_string_equal(ut_lock_result_name(UT_LOCK_CONFLICT), "conflict");
    assert_string_equal(ut_txn_state_name(UT_TXN_TIMEOUT), "timeout");
    assert_string_equal(ut_node_status_name(UT_NODE_SUSPECTED), "suspected");
    assert_string_equal(ut_replica_status_name(UT_REPLICA_IN_SYNC), "in-sync");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_runtime_matches_header),
        cmocka_unit_test(test_error_codes_have_fixed_values),
        cmocka_unit_test(test_error_names_and_texts),
        cmocka_unit_test(test_error_unknown_codes_never_null),
        cmocka_unit_test(test_allocator_hook_is_used_and_restored),
        cmocka_unit_test(test_allocator_rejects_incomplete),
        cmocka_unit_test(test_allocator_failure_paths),
        cmocka_unit_test(test_enums_round_trip),
        cmocka_unit_test(test_enum_constants_match_names),
    };
    return cmocka_run_group_tests_name("common", tests, NULL, NULL);
}
