/* SPDX-License-Identifier: MIT */
/* A minimal program built against an installed (or embedded) libunitypes by
 * tests/install/run.sh: it must compile with only the flags the consumer's
 * build system got from pkg-config or CMake, link, and agree with the headers
 * it was compiled against. */
#include <stdio.h>
#include <string.h>

#include <unitypes.h>

int main(void)
{
    ut_replication_t r;

    if (ut_version_number() != UT_VERSION_NUMBER ||
        strcmp(ut_version_string(), UT_VERSION_STRING) != 0) {
        fprintf(stderr, "consumer: headers %s, library %s\n", UT_VERSION_STRING,
                ut_version_string());
        return 1;
    }
    if (ut_replication_parse("semi-sync", &r) != UT_OK || r != UT_REPLICATION_SEMI_SYNC) {
        fprintf(stderr, "consumer: ut_replication_parse failed\n");
        return 1;
    }
    if (strcmp(ut_err_name(UT_ENOMEM), "UT_ENOMEM") != 0) {
        fprintf(stderr, "consumer: ut_err_name failed\n");
        return 1;
    }
    printf("consumer: libunitypes %s ok\n", ut_version_string());
    return 0;
}
