/* SPDX-License-Identifier: MIT */
/* The scenarios utsim knows (scenario.h); the first is the default. A new
 * protocol adds its table here. */
#include <string.h>

#include "../scenario.h"

static const sim_scenario_t *const scenarios[] = {&sim_scenario_raft, &sim_scenario_echo};

const sim_scenario_t *sim_scenario_at(size_t i)
{
    return i < sizeof scenarios / sizeof scenarios[0] ? scenarios[i] : NULL;
}

const sim_scenario_t *sim_scenario_find(const char *name)
{
    if (!name)
        return scenarios[0];
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
        if (strcmp(scenarios[i]->name, name) == 0)
            return scenarios[i];
    return NULL;
}
