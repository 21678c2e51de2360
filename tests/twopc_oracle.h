/* SPDX-License-Identifier: MIT */
/* What an observer of a two-phase commit run knows about one transaction,
 * and the safety checks on it. Written once, used by every checker of the
 * module: the tests' world (twopc_world.h: the scenario tests, the
 * exhaustive schedule check and the seeded cluster test) and utsim's 2pc
 * scenario (tools/sim/scenarios/twopc.c).
 *
 * The observer feeds it the votes the participants' applications cast,
 * every state a participant shows (ut_2pc_participant_state), what the
 * coordinator would answer about the transaction (it holds it in some
 * state, or has forgotten it and its presumption answers) and the
 * coordinator's DONE event. Each feed returns NULL, or the name of the
 * invariant it breaks with a message in o->why:
 *
 * - "atomicity": never committed at one participant and aborted at
 *   another, nor a participant's outcome other than the decision (Gray &
 *   Lamport, "Consensus on Transaction Commit", TODS 2006, §2 Stability
 *   and Consistency). Read-only voters changed nothing and are left out.
 * - "decision-stable": a participant's outcome never changes, across its
 *   crashes (it may forget an unforced outcome and be in doubt again, but
 *   never learn the other one).
 * - "commit-needs-yes": nothing commits unless every participant voted yes
 *   or read-only and none voted no (Gray & Lamport §3).
 * - "coordinator-memory": while a participant is prepared and in doubt,
 *   the coordinator either still holds the transaction or has forgotten it
 *   and its presumption answers the decided outcome (Mohan, Lindsay &
 *   Obermarck, TODS 1986, §3.1-§3.2): a decision is never forgotten while
 *   someone may still ask for it.
 * - "coordinator-outcome": the coordinator never holds or reports (DONE) an
 *   outcome other than the decision.
 *
 * Participants are numbered 0..63 by the observer (bit i of the masks). */
#ifndef UT_TWOPC_ORACLE_H
#define UT_TWOPC_ORACLE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <unitypes.h>

typedef struct tpc_oracle {
    uint64_t members;            /* participants of the transaction */
    uint64_t yes, no, ro;        /* votes their applications cast */
    uint64_t committed, aborted; /* bit i: participant i ever showed it */
    int decision;                /* first outcome seen anywhere, 0 = none yet */
    int done;                    /* coordinator's DONE outcome, -1 = none */
    bool one_phase;              /* one participant: its vote decides */
    char why[160];
} tpc_oracle_t;

static inline void tpc_oracle_init(tpc_oracle_t *o, uint64_t members)
{
    *o = (tpc_oracle_t){.members = members, .done = -1};
    o->one_phase = members != 0 && (members & (members - 1)) == 0;
}

static inline const char *tpc_oracle__state(int s)
{
    return ut_txn_state_name((ut_txn_state_t)s);
}

/* Every participant voted yes or read-only, none no. */
static inline bool tpc_oracle_all_yes(const tpc_oracle_t *o)
{
    return o->no == 0 && (o->members & ~(o->yes | o->ro)) == 0;
}

/* The outcome o->decision is set or confirmed to be s (COMMITTED or
 * ABORTED), by `who` (for the message). */
static inline const char *tpc_oracle__decide(tpc_oracle_t *o, int s, const char *who,
                                             const char *inv)
{
    if (o->decision == 0) {
        o->decision = s;
    } else if (o->decision != s) {
        snprintf(o->why, sizeof o->why, "%s %s, the transaction was %s", who, tpc_oracle__state(s),
                 tpc_oracle__state(o->decision));
        return inv;
    }
    if (s == UT_TXN_COMMITTED && !tpc_oracle_all_yes(o)) {
        snprintf(o->why, sizeof o->why,
                 "%s committed without every yes vote (yes %#llx, read-only %#llx, no %#llx of "
                 "%#llx)",
                 who, (unsigned long long)o->yes, (unsigned long long)o->ro,
                 (unsigned long long)o->no, (unsigned long long)o->members);
        return "commit-needs-yes";
    }
    return NULL;
}

/* Participant i's application cast vote v. */
static inline void tpc_oracle_vote(tpc_oracle_t *o, int i, ut_2pc_vote_t v)
{
    uint64_t bit = 1ull << i;
    if (v == UT_2PC_VOTE_YES)
        o->yes |= bit;
    else if (v == UT_2PC_VOTE_NO)
        o->no |= bit;
    else if (v == UT_2PC_VOTE_READ_ONLY)
        o->ro |= bit;
}

/* Participant i shows state s (heuristic: forced by its application). */
static inline const char *tpc_oracle_participant(tpc_oracle_t *o, int i, ut_txn_state_t s,
                                                 bool heuristic)
{
    uint64_t bit = 1ull << i;
    if (heuristic || (o->ro & bit) || (s != UT_TXN_COMMITTED && s != UT_TXN_ABORTED))
        return NULL;
    uint64_t *mine = s == UT_TXN_COMMITTED ? &o->committed : &o->aborted;
    uint64_t other = s == UT_TXN_COMMITTED ? o->aborted : o->committed;
    if (other & bit) {
        snprintf(o->why, sizeof o->why, "participant %d went from %s to %s", i,
                 tpc_oracle__state(s == UT_TXN_COMMITTED ? UT_TXN_ABORTED : UT_TXN_COMMITTED),
                 tpc_oracle__state(s));
        return "decision-stable";
    }
    *mine |= bit;
    if (o->committed && o->aborted) {
        snprintf(o->why, sizeof o->why,
                 "committed at participants %#llx, aborted at participants %#llx",
                 (unsigned long long)o->committed, (unsigned long long)o->aborted);
        return "atomicity";
    }
    char who[32];
    snprintf(who, sizeof who, "participant %d", i);
    return tpc_oracle__decide(o, (int)s, who, "atomicity");
}

/* What the coordinator would answer now: it holds the transaction in state
 * s (have), or has forgotten it and answers `presumed` (COMMITTED or
 * ABORTED). in_doubt: some participant is prepared and has not learnt the
 * outcome. */
static inline const char *tpc_oracle_coordinator(tpc_oracle_t *o, bool have, ut_txn_state_t s,
                                                 ut_txn_state_t presumed, bool in_doubt)
{
    if (have) {
        /* TIMEOUT: the abort is decided, unless only the one participant
         * of a one-phase commit can decide (the coordinator asks again). */
        if (s == UT_TXN_TIMEOUT && !o->one_phase)
            s = UT_TXN_ABORTED;
        if (s != UT_TXN_COMMITTED && s != UT_TXN_ABORTED)
            return NULL;
        return tpc_oracle__decide(o, (int)s, "the coordinator holds it", "coordinator-outcome");
    }
    if (!in_doubt)
        return NULL;
    return tpc_oracle__decide(o, (int)presumed,
                              "the coordinator forgot it while a participant is in doubt; it "
                              "would answer",
                              "coordinator-memory");
}

/* The coordinator reported DONE with outcome s. */
static inline const char *tpc_oracle_done(tpc_oracle_t *o, ut_txn_state_t s)
{
    o->done = (int)s;
    return tpc_oracle__decide(o, (int)s, "the coordinator reported it done", "coordinator-outcome");
}

/* A transfer from participant `from` to participant `to` is applied at one
 * side and undone at the other. */
static inline bool tpc_oracle_half_applied(const tpc_oracle_t *o, int from, int to)
{
    uint64_t a = 1ull << from, b = 1ull << to;
    return ((o->committed & a) && (o->aborted & b)) || ((o->committed & b) && (o->aborted & a));
}

#endif
