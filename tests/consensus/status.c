/* SPDX-License-Identifier: MIT */
/* Raft core (ut_consensus_t), status and reading entries back (issue 11,
 * rstat). A group of test_consensus. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "consensus_test.h"

static void test_status_placeholder(void **state)
{
    (void)state;
}

int consensus_group_status(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_placeholder),
    };
    return cmocka_run_group_tests_name("consensus_status", tests, NULL, NULL);
}
