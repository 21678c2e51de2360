/* SPDX-License-Identifier: MIT */
/* The scenarios utsim knows (scenario.h); the first is the default. A new
 * protocol adds its table here. */
#include <string.h>

#include "../scenario.h"

static const sim_scenario_t *const scenarios[] = {
    &sim_scenario_raft, &sim_scenario_echo,
    /* >>> lock (issue 14) */
    &sim_scenario_lock,
    /* <<< lock */
    /* >>> 2pc (issue 15) */
    &sim_scenario_twopc,
    /* <<< 2pc */
    /* >>> gossip (issue 16) */
    &sim_scenario_gossip,
    /* <<< gossip */
    /* >>> replica (issue 13) */
    &sim_scenario_replica,
    /* <<< replica */
};

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

void sim_options_for(sim_options_t *o, const sim_scenario_t *sc)
{
    if (!sc)
        sc = scenarios[0];
    sim_options_default(o);
    if (sc->defaults)
        sc->defaults(o);
    o->scenario = sc->name;
}
