/* SPDX-License-Identifier: MIT */
/* Linearizability checker for a key-value register model (get, put,
 * compare-and-set on int64 values; every key starts at 0).
 *
 * The history is split per key (P-compositionality: a history is
 * linearizable iff each key's sub-history is, Herlihy & Wing §3.3), and each
 * sub-history is searched with the Wing & Gong algorithm as improved by Lowe
 * ("Testing for linearizability", 2017): depth-first over the minimal calls,
 * memoising every (set of linearized ops, register value) configuration so
 * that no configuration is explored twice.
 *
 * Outcomes: LC_OK (took effect, result known), LC_FAILED (definitely did not
 * take effect: ignored), LC_UNKNOWN (may or may not have taken effect; its
 * response time is treated as infinity, and it may be linearized anywhere
 * after its invocation or never). Internal to tools/. */
#ifndef UTSIM_LINCHECK_H
#define UTSIM_LINCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LC_INF UINT64_MAX

typedef enum lc_kind { LC_GET = 0, LC_PUT = 1, LC_CAS = 2 } lc_kind_t;
typedef enum lc_outcome { LC_OK = 0, LC_FAILED = 1, LC_UNKNOWN = 2 } lc_outcome_t;

typedef struct lc_op {
    uint64_t invoke;   /* invocation time (any monotonic unit) */
    uint64_t response; /* response time; ignored (infinity) for LC_UNKNOWN */
    uint32_t key;
    uint32_t client;  /* for diagnostics only */
    uint8_t kind;     /* lc_kind_t */
    uint8_t outcome;  /* lc_outcome_t */
    bool cas_ok;      /* LC_CAS with LC_OK: whether the swap happened */
    bool seen_known;  /* LC_CAS with LC_OK and !cas_ok: seen is the value the
                         refused CAS found in the register (it must then be
                         that value, not merely other than expected) */
    int64_t value;    /* PUT/CAS: value written; GET: value read */
    int64_t expected; /* CAS: expected value */
    int64_t seen;     /* see seen_known */
} lc_op_t;

typedef enum lc_verdict {
    LC_LINEARIZABLE = 0,
    LC_VIOLATION = 1,
    LC_INCONCLUSIVE = 2, /* search budget exhausted */
    LC_BADINPUT = 3      /* e.g. response before invocation, unknown kind */
} lc_verdict_t;

typedef struct lc_result {
    lc_verdict_t verdict;
    uint32_t key;   /* VIOLATION/INCONCLUSIVE/BADINPUT: the key concerned */
    size_t op;      /* VIOLATION: index (in the input) of an op that could
                       not be linearized at the deepest point reached */
    size_t depth;   /* VIOLATION: most ops linearized before getting stuck */
    size_t n_keys;  /* keys checked */
    size_t n_ops;   /* ops that constrain the search (failed ops and
                       unknown reads excluded) */
    uint64_t steps; /* search steps, all keys */
} lc_result_t;

/* Check @p ops (any order). @p max_steps bounds the search (0 = no bound).
 * Returns 0, or -1 on allocation failure. */
int lc_check(const lc_op_t *ops, size_t n, uint64_t max_steps, lc_result_t *out);

const char *lc_verdict_name(lc_verdict_t v);
const char *lc_kind_name(lc_kind_t k);
const char *lc_outcome_name(lc_outcome_t o);

/* One-line description of op @p o into buf ("c3 put(k1, 7) ok [10, 25]"). */
void lc_op_describe(const lc_op_t *o, char *buf, size_t cap);

#endif
