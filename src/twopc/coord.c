/* SPDX-License-Identifier: MIT */
/* The two-phase commit coordinator.
 *
 * Sources: Gray & Lamport, "Consensus on Transaction Commit" (TODS 2006),
 * §3 (the protocol: PREPARE, votes, one decision, commit only if every
 * participant is prepared); Mohan, Lindsay & Obermarck, "Transaction
 * Management in the R* Distributed Database Management System" (TODS 1986),
 * §2 (the textbook protocol and its log writes), §3.1 (presumed abort),
 * §3.2 (presumed commit), §2 "read-only" and §5 one-phase optimisations. */
#include "twopc/io.h"
#include "twopc/twopc_internal.h"

#define UT__2PC_MAGIC 0x32504343u /* "2PCC" */

typedef struct ut__2pc_txn {
    uint64_t txid;
    ut_txn_state_t state;   /* what the accessor shows */
    ut_txn_state_t outcome; /* INIT until decided */
    bool one_phase;
    bool settle;    /* TIMEOUT shown until the ready with the abort is advanced */
    bool need_acks; /* decided and acknowledgements outstanding */
    bool logged;    /* a record exists, so the end needs an END record */
    bool forget;    /* finished: removed at the end of the call (or at advance) */
    size_t n;
    uint64_t *ids;
    unsigned char *vote;
    unsigned char *acked;
    unsigned char *peers_le; /* ids, little-endian, for PREPAREs */
    unsigned char *payload;
    size_t len;
    uint64_t deadline, next_resend;
} ut__2pc_txn_t;

struct ut_2pc {
    ut__handle_t base;
    ut_2pc_config_t cfg;
    uint64_t now;
    ut__2pc_txn_t *txns;
    size_t n_txns, cap_txns;
    ut__twopc_io_t io;
    ut__tracer_t tracer;
};

static bool valid(const ut_2pc_t *h)
{
    return h != NULL && ut__handle_valid(&h->base, UT__2PC_MAGIC);
}

int ut_2pc_config_init(ut_2pc_config_t *cfg, unsigned version)
{
    if (cfg == NULL)
        return UT_EINVAL;
    if (version < 1 || version > UT_2PC_CONFIG_VERSION)
        return UT_EVERSION;
    memset(cfg, 0, sizeof *cfg);
    cfg->version = version;
    cfg->presumption = UT_2PC_PRESUME_ABORT;
    cfg->vote_timeout_ms = 1000;
    cfg->resend_ms = 200;
    cfg->auto_commit = true;
    return UT_OK;
}

int ut_2pc_new(ut_2pc_t **out, const ut_2pc_config_t *cfg)
{
    if (out == NULL || cfg == NULL)
        return UT_EINVAL;
    if (cfg->version < 1 || cfg->version > UT_2PC_CONFIG_VERSION)
        return UT_EVERSION;
    if (cfg->id == 0 || cfg->vote_timeout_ms == 0 || cfg->resend_ms == 0 ||
        (unsigned)cfg->presumption > UT_2PC_PRESUME_NOTHING)
        return UT_EINVAL;
    ut_2pc_t *h = ut__calloc(1, sizeof *h);
    if (h == NULL)
        return UT_ENOMEM;
    ut__handle_init(&h->base, UT__2PC_MAGIC);
    h->cfg = *cfg;
    h->tracer.fn = cfg->trace;
    h->tracer.arg = cfg->trace_arg;
    ut__twopc_io_init(&h->io);
    *out = h;
    return UT_OK;
}

static void txn_release(ut__2pc_txn_t *t)
{
    ut__free(t->ids);
}

void ut_2pc_free(ut_2pc_t *h)
{
    if (!valid(h))
        return;
    for (size_t i = 0; i < h->n_txns; i++)
        txn_release(&h->txns[i]);
    ut__free(h->txns);
    ut__twopc_io_destroy(&h->io);
    ut__handle_retire(&h->base);
    ut__free(h);
}

static ut__2pc_txn_t *find(const ut_2pc_t *h, uint64_t txid)
{
    for (size_t i = 0; i < h->n_txns; i++)
        if (h->txns[i].txid == txid && (!h->txns[i].forget || h->txns[i].settle))
            return &h->txns[i];
    return NULL;
}

static ptrdiff_t index_of(const ut__2pc_txn_t *t, uint64_t node)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->ids[i] == node)
            return (ptrdiff_t)i;
    return -1;
}

/* One block per transaction: ids, votes, acks, little-endian ids, payload. */
static int txn_alloc(ut__2pc_txn_t *t, const uint64_t *ids, size_t n, const void *payload,
                     size_t len)
{
    memset(t, 0, sizeof *t);
    size_t size = n * 8u + 2u * n + n * 8u + len;
    unsigned char *b = ut__malloc(size == 0 ? 1 : size);
    if (b == NULL)
        return UT_ENOMEM;
    t->ids = (uint64_t *)(void *)b;
    memcpy(t->ids, ids, n * sizeof *ids);
    t->vote = b + n * 8u;
    t->acked = t->vote + n;
    t->peers_le = t->acked + n;
    t->payload = t->peers_le + n * 8u;
    memset(t->vote, 0, 2u * n);
    for (size_t i = 0; i < n; i++)
        ut__twopc_put_le(t->peers_le + 8u * i, ids[i]);
    if (len > 0)
        memcpy(t->payload, payload, len);
    t->n = n;
    t->len = len;
    return UT_OK;
}

static int table_room(ut_2pc_t *h, size_t more)
{
    void *p = h->txns;
    size_t cap = h->cap_txns;
    if (ut__grow(&p, &cap, h->n_txns + more, sizeof(ut__2pc_txn_t)) != UT_OK)
        return UT_ENOMEM;
    h->txns = p;
    h->cap_txns = cap;
    return UT_OK;
}

static void sweep(ut_2pc_t *h)
{
    size_t j = 0;
    for (size_t i = 0; i < h->n_txns; i++) {
        if (h->txns[i].forget && !h->txns[i].settle)
            txn_release(&h->txns[i]);
        else
            h->txns[j++] = h->txns[i];
    }
    h->n_txns = j;
}

/* Mohan et al. §3.1: under presumed abort only commits are acknowledged;
 * §3.2: under presumed commit only aborts; §2: the textbook acks both. */
static bool acks_needed(const ut_2pc_t *h, ut_txn_state_t outcome)
{
    switch (h->cfg.presumption) {
    case UT_2PC_PRESUME_ABORT:
        return outcome == UT_TXN_COMMITTED;
    case UT_2PC_PRESUME_COMMIT:
        return outcome == UT_TXN_ABORTED;
    default:
        return true;
    }
}

/* Forced decision records: every commit (it is the commit point, Gray &
 * Lamport §3); aborts only where the abort is not presumed (§3.1). */
static bool decision_logged(const ut_2pc_t *h, ut_txn_state_t outcome)
{
    return outcome == UT_TXN_COMMITTED || h->cfg.presumption != UT_2PC_PRESUME_ABORT;
}

/* Who hears the decision: a commit goes to the yes voters (read-only ones
 * dropped out, Mohan §2); an abort to every one that has not said no or
 * read-only (some may be prepared without our having heard). */
static bool in_phase_two(const ut__2pc_txn_t *t, size_t i, ut_txn_state_t outcome)
{
    if (outcome == UT_TXN_COMMITTED)
        return t->vote[i] == UT_2PC_VOTE_YES;
    return t->vote[i] == UT_2PC_VOTE_YES || t->vote[i] == UT_2PC_VOTE_NONE;
}

static void send_decision(ut_2pc_t *h, ut__2pc_txn_t *t, uint64_t only)
{
    ut_msg_type_t type = t->outcome == UT_TXN_COMMITTED ? UT_MSG_2PC_COMMIT : UT_MSG_2PC_ABORT;
    uint32_t flags = t->need_acks ? UT_2PC_FLAG_ACK : 0u;
    for (size_t i = 0; i < t->n; i++) {
        if (!in_phase_two(t, i, t->outcome) || t->acked[i])
            continue;
        if (only != 0 && t->ids[i] != only)
            continue;
        ut__twopc_io_msg(&h->io, type, h->cfg.id, t->ids[i], t->txid, flags);
    }
}

static void finish(ut_2pc_t *h, ut__2pc_txn_t *t)
{
    /* Presumed commit needs no end record after a commit: a forgotten
     * commit is what the presumption says (Mohan §3.2). */
    bool end = t->logged &&
               !(h->cfg.presumption == UT_2PC_PRESUME_COMMIT && t->outcome == UT_TXN_COMMITTED);
    if (end) {
        ut_2pc_record_t *r = ut__twopc_io_record(&h->io, t->txid, t->outcome, false);
        if (r != NULL)
            r->end = true;
    }
    ut__twopc_io_event(&h->io, UT_2PC_EVENT_DONE, t->txid, t->outcome);
    ut__trace(&h->tracer, UT_TRACE_DEBUG, "2pc", h->cfg.id, "forget", NULL, t->txid,
              (uint64_t)t->outcome);
    t->forget = true;
}

/* Needs (reserved): t->n messages, 2 records, 1 event, t->n ids. */
static void decide(ut_2pc_t *h, ut__2pc_txn_t *t, ut_txn_state_t outcome, bool timeout,
                   const char *why)
{
    ut__trace(&h->tracer, UT_TRACE_INFO, "2pc", h->cfg.id, "decide", why, t->txid,
              (uint64_t)outcome);
    t->outcome = outcome;
    t->state = timeout ? UT_TXN_TIMEOUT : outcome;
    t->settle = timeout;
    size_t n2 = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (in_phase_two(t, i, outcome))
            n2++;
        t->acked[i] = 0;
    }
    t->need_acks = acks_needed(h, outcome) && n2 > 0;
    if (decision_logged(h, outcome) && n2 > 0) {
        /* The decision is durable before any COMMIT/ABORT leaves: it is in
         * this ready's records, which the caller persists before sending
         * (Gray & Lamport §3; Mohan §2 "force-writes a commit record"). */
        bool forced = true;
#ifdef UT__FAULT_2PC_UNFORCED_COMMIT
        /* Deliberately broken build: the COMMITs leave before the commit
         * record is durable. The exhaustive check must catch it. */
        forced = outcome != UT_TXN_COMMITTED;
#endif
        ut_2pc_record_t *r = ut__twopc_io_record(&h->io, t->txid, outcome, forced);
        uint64_t ids[UT_2PC_MAX_PARTICIPANTS];
        size_t k = 0;
        for (size_t i = 0; i < t->n; i++)
            if (in_phase_two(t, i, outcome))
                ids[k++] = t->ids[i];
        if (r != NULL)
            ut__twopc_io_record_nodes(&h->io, ids, k);
        t->logged = true;
    }
    send_decision(h, t, 0);
    t->next_resend = h->now + h->cfg.resend_ms;
    if (!t->need_acks)
        finish(h, t);
}

static bool pending_any(const ut_2pc_t *h)
{
    return ut__twopc_io_pending(&h->io) || h->io.rs.outstanding;
}

int ut_2pc_begin(ut_2pc_t *h, uint64_t txid, const uint64_t *participants, size_t n,
                 const void *payload, size_t len)
{
    if (!valid(h))
        return UT_EINVAL;
    if (txid == 0 || participants == NULL || (payload == NULL && len > 0))
        UT__FAIL(&h->base, UT_EINVAL, "begin: txid 0 or NULL argument");
    if (n == 0 || n > UT_2PC_MAX_PARTICIPANTS)
        UT__FAIL(&h->base, UT_ERANGE, "begin: %zu participants (1..%u)", n,
                 UT_2PC_MAX_PARTICIPANTS);
    if (len > UT_MSG_MAX_FRAME / 2)
        UT__FAIL(&h->base, UT_EINVAL, "begin: payload of %zu bytes too large", len);
    for (size_t i = 0; i < n; i++) {
        if (participants[i] == 0 || participants[i] == h->cfg.id)
            UT__FAIL(&h->base, UT_EINVAL, "begin: participant id %llu",
                     (unsigned long long)participants[i]);
        for (size_t j = 0; j < i; j++)
            if (participants[j] == participants[i])
                UT__FAIL(&h->base, UT_EINVAL, "begin: duplicate participant %llu",
                         (unsigned long long)participants[i]);
    }
    if (find(h, txid) != NULL)
        UT__FAIL(&h->base, UT_EEXIST, "begin: transaction %llu already in flight",
                 (unsigned long long)txid);
    if (table_room(h, 1) != UT_OK ||
        ut__twopc_io_reserve(&h->io, n, n * 8u + len, 1, 0, n) != UT_OK)
        UT__FAIL(&h->base, UT_ENOMEM, "begin: out of memory");
    ut__2pc_txn_t t;
    if (txn_alloc(&t, participants, n, payload, len) != UT_OK)
        UT__FAIL(&h->base, UT_ENOMEM, "begin: out of memory");
    t.txid = txid;
    t.state = UT_TXN_INIT;
    t.outcome = UT_TXN_INIT;
    t.one_phase = n == 1;
    t.deadline = h->now + h->cfg.vote_timeout_ms;
    /* Presumed commit (Mohan §3.2) and the textbook variant here force a
     * "collecting" record naming the participants before PREPARE leaves, so
     * that a recovering coordinator knows whom to tell "abort". Presumed
     * abort writes nothing before the decision (§3.1). One-phase commit
     * leaves the decision to the participant and logs nothing. */
    if (!t.one_phase && h->cfg.presumption != UT_2PC_PRESUME_ABORT) {
        ut__twopc_io_record(&h->io, txid, UT_TXN_INIT, true);
        ut__twopc_io_record_nodes(&h->io, participants, n);
        t.logged = true;
    }
    const void *peers = ut__twopc_io_copy(&h->io, t.peers_le, n * 8u);
    const void *data = ut__twopc_io_copy(&h->io, payload, len);
    for (size_t i = 0; i < n; i++) {
        ut_msg_t *m = ut__twopc_io_msg(&h->io, UT_MSG_2PC_PREPARE, h->cfg.id, participants[i], txid,
                                       t.one_phase ? UT_2PC_FLAG_ONE_PHASE : 0u);
        m->body.twopc.n_peers = (uint32_t)n;
        m->body.twopc.peers = peers;
        m->body.twopc.len = (uint32_t)len;
        m->body.twopc.data = data;
    }
    h->txns[h->n_txns++] = t;
    return UT_OK;
}

int ut_2pc_prepare(ut_2pc_t *h, uint64_t txid, bool *out)
{
    if (!valid(h))
        return UT_EINVAL;
    if (out == NULL)
        UT__FAIL(&h->base, UT_EINVAL, "prepare: NULL out");
    ut__2pc_txn_t *t = find(h, txid);
    if (t == NULL)
        UT__FAIL(&h->base, UT_ENOTFOUND, "prepare: unknown transaction %llu",
                 (unsigned long long)txid);
    bool all = true;
    for (size_t i = 0; i < t->n; i++)
        if (t->vote[i] != UT_2PC_VOTE_YES && t->vote[i] != UT_2PC_VOTE_READ_ONLY)
            all = false;
    *out = all;
    return UT_OK;
}

static int decide_checked(ut_2pc_t *h, ut__2pc_txn_t *t, ut_txn_state_t outcome)
{
    if (ut__twopc_io_reserve(&h->io, t->n, 0, 2, 1, t->n) != UT_OK)
        UT__FAIL(&h->base, UT_ENOMEM, "decide: out of memory");
    decide(h, t, outcome, false, "asked by the application");
    sweep(h);
    return UT_OK;
}

int ut_2pc_commit(ut_2pc_t *h, uint64_t txid)
{
    if (!valid(h))
        return UT_EINVAL;
    ut__2pc_txn_t *t = find(h, txid);
    if (t == NULL)
        UT__FAIL(&h->base, UT_ENOTFOUND, "commit: unknown transaction %llu",
                 (unsigned long long)txid);
    /* Gray & Lamport §3: commit only when every participant is prepared. */
    if (t->outcome != UT_TXN_INIT || t->state != UT_TXN_PREPARED || t->one_phase)
        UT__FAIL(&h->base, UT_ESTATE, "commit: transaction %llu is %s, not prepared",
                 (unsigned long long)txid, ut_txn_state_name(t->state));
    return decide_checked(h, t, UT_TXN_COMMITTED);
}

int ut_2pc_rollback(ut_2pc_t *h, uint64_t txid)
{
    if (!valid(h))
        return UT_EINVAL;
    ut__2pc_txn_t *t = find(h, txid);
    if (t == NULL)
        UT__FAIL(&h->base, UT_ENOTFOUND, "rollback: unknown transaction %llu",
                 (unsigned long long)txid);
    /* Nothing leaves a decision; a one-phase participant decides itself. */
    if (t->outcome != UT_TXN_INIT || t->one_phase)
        UT__FAIL(&h->base, UT_ESTATE, "rollback: transaction %llu is %s", (unsigned long long)txid,
                 ut_txn_state_name(t->state));
    return decide_checked(h, t, UT_TXN_ABORTED);
}

static int on_vote(ut_2pc_t *h, const ut_msg_t *m, ut__2pc_txn_t *t)
{
    uint32_t v = m->body.twopc.code;
    if (v != UT_2PC_VOTE_YES && v != UT_2PC_VOTE_NO && v != UT_2PC_VOTE_READ_ONLY)
        UT__FAIL(&h->base, UT_EINVAL, "step: vote code %u", (unsigned)v);
    if (t == NULL) {
        /* Presumed abort (Mohan §3.1): no information means abort, so a yes
         * for a transaction we do not know is answered with ABORT. */
        if (h->cfg.presumption == UT_2PC_PRESUME_ABORT && v == UT_2PC_VOTE_YES) {
            if (ut__twopc_io_reserve(&h->io, 1, 0, 0, 0, 0) != UT_OK)
                UT__FAIL(&h->base, UT_ENOMEM, "step: out of memory");
            ut__twopc_io_msg(&h->io, UT_MSG_2PC_ABORT, h->cfg.id, m->from, m->body.twopc.txid, 0);
            return UT_OK;
        }
        UT__FAIL(&h->base, UT_ENOTFOUND, "step: vote for unknown transaction %llu",
                 (unsigned long long)m->body.twopc.txid);
    }
    ptrdiff_t i = index_of(t, m->from);
    if (i < 0 && t->outcome != UT_TXN_INIT && t->logged &&
        (v == UT_2PC_VOTE_READ_ONLY || (v == UT_2PC_VOTE_NO && t->outcome == UT_TXN_ABORTED)))
        return UT_OK; /* a restored decision names only phase two: a late vote from one that
                         dropped out agrees with it (found by utsim's 2pc scenario) */
    if (i < 0)
        UT__FAIL(&h->base, UT_EINVAL, "step: vote from non-participant %llu",
                 (unsigned long long)m->from);
    if (t->vote[i] != UT_2PC_VOTE_NONE && t->vote[i] != v)
        UT__FAIL(&h->base, UT_ESTATE, "step: participant %llu changed its vote",
                 (unsigned long long)m->from);
    if (t->outcome != UT_TXN_INIT) {
        /* Decided already: tell a late yes voter the outcome. */
        if (v == UT_2PC_VOTE_YES && in_phase_two(t, (size_t)i, t->outcome) && !t->acked[i]) {
            if (ut__twopc_io_reserve(&h->io, 1, 0, 0, 0, 0) != UT_OK)
                UT__FAIL(&h->base, UT_ENOMEM, "step: out of memory");
            send_decision(h, t, m->from);
        }
        return UT_OK;
    }
    if (t->vote[i] == v)
        return UT_OK; /* duplicate */
    if (ut__twopc_io_reserve(&h->io, t->n, 0, 2, 1, t->n) != UT_OK)
        UT__FAIL(&h->base, UT_ENOMEM, "step: out of memory");
    t->vote[i] = (unsigned char)v;
    if (t->one_phase) {
        /* One-phase commit: the participant's vote is its decision. */
        t->outcome = v == UT_2PC_VOTE_NO ? UT_TXN_ABORTED : UT_TXN_COMMITTED;
        t->state = t->outcome;
        ut__trace(&h->tracer, UT_TRACE_INFO, "2pc", h->cfg.id, "decide",
                  "one-phase: the participant decided", t->txid, (uint64_t)t->outcome);
        finish(h, t);
    } else if (v == UT_2PC_VOTE_NO) {
        decide(h, t, UT_TXN_ABORTED, false, "a vote no"); /* one no aborts (Gray & Lamport §3) */
    } else {
        bool all = true, all_ro = true;
        for (size_t k = 0; k < t->n; k++) {
            if (t->vote[k] == UT_2PC_VOTE_NONE)
                all = false;
            if (t->vote[k] != UT_2PC_VOTE_READ_ONLY)
                all_ro = false;
        }
        if (all && all_ro) {
            /* Every participant read-only: no second phase (Mohan §2). */
            t->outcome = UT_TXN_COMMITTED;
            t->state = UT_TXN_COMMITTED;
            ut__trace(&h->tracer, UT_TRACE_INFO, "2pc", h->cfg.id, "decide", "every vote read-only",
                      t->txid, (uint64_t)t->outcome);
            finish(h, t);
        } else if (all) {
            t->state = UT_TXN_PREPARED;
            if (h->cfg.auto_commit)
                decide(h, t, UT_TXN_COMMITTED, false, "every vote yes");
        }
    }
    sweep(h);
    return UT_OK;
}

static int on_ack(ut_2pc_t *h, const ut_msg_t *m, ut__2pc_txn_t *t)
{
    uint32_t code = m->body.twopc.code;
    bool heur = (code & UT_2PC_FLAG_HEURISTIC) != 0;
    uint32_t st = code & ~UT_2PC_FLAG_HEURISTIC;
    if (st != UT_TXN_COMMITTED && st != UT_TXN_ABORTED)
        UT__FAIL(&h->base, UT_EINVAL, "step: ack code %u", (unsigned)code);
    if (t == NULL) {
        if (!heur)
            UT__FAIL(&h->base, UT_ENOTFOUND, "step: ack for unknown transaction %llu",
                     (unsigned long long)m->body.twopc.txid);
        if (ut__twopc_io_reserve(&h->io, 0, 0, 0, 1, 0) != UT_OK)
            UT__FAIL(&h->base, UT_ENOMEM, "step: out of memory");
        ut_2pc_event_t *e = ut__twopc_io_event(&h->io, UT_2PC_EVENT_HEURISTIC, m->body.twopc.txid,
                                               (ut_txn_state_t)st);
        e->node = m->from;
        return UT_OK;
    }
    ptrdiff_t i = index_of(t, m->from);
    if (i < 0)
        UT__FAIL(&h->base, UT_EINVAL, "step: ack from non-participant %llu",
                 (unsigned long long)m->from);
    if (t->outcome == UT_TXN_INIT)
        UT__FAIL(&h->base, UT_ESTATE, "step: ack before a decision");
    if (!heur && st != (uint32_t)t->outcome)
        UT__FAIL(&h->base, UT_ESTATE, "step: ack of %s, decision was %s",
                 ut_txn_state_name((ut_txn_state_t)st), ut_txn_state_name(t->outcome));
    if (ut__twopc_io_reserve(&h->io, 0, 0, 1, 2, 0) != UT_OK)
        UT__FAIL(&h->base, UT_ENOMEM, "step: out of memory");
    if (heur) {
        ut_2pc_event_t *e =
            ut__twopc_io_event(&h->io, UT_2PC_EVENT_HEURISTIC, t->txid, (ut_txn_state_t)st);
        e->node = m->from;
    }
    if (!t->need_acks || t->acked[i])
        return UT_OK;
    t->acked[i] = 1;
    for (size_t k = 0; k < t->n; k++)
        if (in_phase_two(t, k, t->outcome) && !t->acked[k])
            return UT_OK;
    /* Every acknowledgement in: the END record need not be forced (Mohan
     * §2); the transaction is forgotten. */
    t->need_acks = false;
    finish(h, t);
    sweep(h);
    return UT_OK;
}

static int on_inquiry(ut_2pc_t *h, const ut_msg_t *m, ut__2pc_txn_t *t)
{
    if (t == NULL) {
        /* No record: the presumption answers (Mohan §3.1, §3.2). */
        ut_msg_type_t type =
            h->cfg.presumption == UT_2PC_PRESUME_COMMIT ? UT_MSG_2PC_COMMIT : UT_MSG_2PC_ABORT;
        if (ut__twopc_io_reserve(&h->io, 1, 0, 0, 0, 0) != UT_OK)
            UT__FAIL(&h->base, UT_ENOMEM, "step: out of memory");
        ut__twopc_io_msg(&h->io, type, h->cfg.id, m->from, m->body.twopc.txid, 0);
        ut__trace(&h->tracer, UT_TRACE_DEBUG, "2pc", h->cfg.id, "presumed-answer",
                  ut_msg_type_name(type), m->body.twopc.txid, m->from);
        return UT_OK;
    }
    ptrdiff_t i = index_of(t, m->from);
    if (i < 0)
        UT__FAIL(&h->base, UT_EINVAL, "step: inquiry from non-participant %llu",
                 (unsigned long long)m->from);
    if (t->outcome == UT_TXN_INIT)
        return UT_OK; /* undecided: the answer comes with the decision */
    if (ut__twopc_io_reserve(&h->io, 1, 0, 0, 0, 0) != UT_OK)
        UT__FAIL(&h->base, UT_ENOMEM, "step: out of memory");
    if (!in_phase_two(t, (size_t)i, t->outcome) || t->acked[i]) {
        ut__twopc_io_msg(&h->io,
                         t->outcome == UT_TXN_COMMITTED ? UT_MSG_2PC_COMMIT : UT_MSG_2PC_ABORT,
                         h->cfg.id, m->from, t->txid, 0);
        return UT_OK;
    }
    send_decision(h, t, m->from);
    return UT_OK;
}

static int step(ut_2pc_t *h, const ut_msg_t *m)
{
    ut__2pc_txn_t *t = find(h, m->body.twopc.txid);
    switch (m->type) {
    case UT_MSG_2PC_VOTE:
        return on_vote(h, m, t);
    case UT_MSG_2PC_ACK:
        return on_ack(h, m, t);
    case UT_MSG_2PC_INQUIRY:
        return on_inquiry(h, m, t);
    default:
        UT__FAIL(&h->base, UT_EINVAL, "step: %s is not for a coordinator",
                 ut_msg_type_name(m->type));
    }
}

int ut_2pc_step(ut_2pc_t *h, const ut_msg_t *m)
{
    if (!valid(h))
        return UT_EINVAL;
    int rc = ut__twopc_step_check(&h->base, h->cfg.id, m);
    if (rc == UT_OK)
        rc = step(h, m);
    return ut__twopc_step_result(&h->tracer, h->cfg.id, m, rc);
}

int ut_2pc_tick(ut_2pc_t *h, uint64_t now_ms)
{
    if (!valid(h))
        return UT_EINVAL;
    if (ut__twopc_tick_check(&h->base, h->now, now_ms) != UT_OK)
        return UT_EINVAL;
    size_t msgs = 0, bytes = 0, recs = 0, evs = 0, ids = 0;
    for (size_t i = 0; i < h->n_txns; i++) {
        const ut__2pc_txn_t *t = &h->txns[i];
        if (t->outcome == UT_TXN_INIT && t->state != UT_TXN_PREPARED && now_ms >= t->deadline) {
            msgs += t->n;
            bytes += t->n * 8u + t->len;
            recs += 2;
            evs += 1;
            ids += t->n;
        } else if (t->need_acks && now_ms >= t->next_resend) {
            msgs += t->n;
        }
    }
    if (msgs + recs + evs > 0 && ut__twopc_io_reserve(&h->io, msgs, bytes, recs, evs, ids) != UT_OK)
        UT__FAIL(&h->base, UT_ENOMEM, "tick: out of memory");
    h->now = now_ms;
    for (size_t i = 0; i < h->n_txns; i++) {
        ut__2pc_txn_t *t = &h->txns[i];
        if (t->outcome == UT_TXN_INIT && t->state != UT_TXN_PREPARED && now_ms >= t->deadline) {
            if (t->one_phase) {
                /* The participant decides in one-phase commit: the
                 * coordinator may not abort on its own; it shows TIMEOUT
                 * and asks again. */
                t->state = UT_TXN_TIMEOUT;
                t->deadline = now_ms + h->cfg.vote_timeout_ms;
                const void *peers = ut__twopc_io_copy(&h->io, t->peers_le, 8u);
                const void *data = ut__twopc_io_copy(&h->io, t->payload, t->len);
                ut_msg_t *m = ut__twopc_io_msg(&h->io, UT_MSG_2PC_PREPARE, h->cfg.id, t->ids[0],
                                               t->txid, UT_2PC_FLAG_ONE_PHASE);
                m->body.twopc.n_peers = 1;
                m->body.twopc.peers = peers;
                m->body.twopc.len = (uint32_t)t->len;
                m->body.twopc.data = data;
            } else {
                /* No vote by the deadline: abort (Gray & Lamport §3). */
                decide(h, t, UT_TXN_ABORTED, true, "vote deadline");
            }
        } else if (t->need_acks && now_ms >= t->next_resend) {
            send_decision(h, t, 0); /* until every participant acknowledges */
            ut__trace(&h->tracer, UT_TRACE_DEBUG, "2pc", h->cfg.id, "resend-decision", NULL,
                      t->txid, (uint64_t)t->outcome);
            t->next_resend = now_ms + h->cfg.resend_ms;
        }
    }
    sweep(h);
    return UT_OK;
}

int ut_2pc_ready(ut_2pc_t *h, ut_2pc_ready_t *rd)
{
    if (!valid(h))
        return UT_EINVAL;
    return ut__twopc_ready(&h->base, &h->io, rd);
}

int ut_2pc_advance(ut_2pc_t *h, const ut_2pc_ready_t *rd)
{
    if (!valid(h))
        return UT_EINVAL;
    bool advanced;
    int rc = ut__twopc_advance(&h->base, &h->io, rd, &advanced);
    if (rc != UT_OK)
        return rc;
    if (advanced) {
        /* The abort after a timeout is decided once handed out. */
        for (size_t i = 0; i < h->n_txns; i++) {
            if (h->txns[i].settle) {
                h->txns[i].settle = false;
                h->txns[i].state = h->txns[i].outcome;
            }
        }
        sweep(h);
    }
    return UT_OK;
}

int ut_2pc_restore(ut_2pc_t *h, const ut_2pc_record_t *rec, size_t n)
{
    if (!valid(h))
        return UT_EINVAL;
    if (rec == NULL && n > 0)
        UT__FAIL(&h->base, UT_EINVAL, "restore: NULL records");
    if (h->n_txns > 0 || pending_any(h))
        UT__FAIL(&h->base, UT_ESTATE, "restore: the handle is not fresh");
    for (size_t i = 0; i < n; i++) {
        const ut_2pc_record_t *r = &rec[i];
        bool ok =
            r->txid != 0 && r->n_nodes <= UT_2PC_MAX_PARTICIPANTS &&
            (r->n_nodes == 0 || r->nodes != NULL) &&
            (r->state == UT_TXN_INIT || r->state == UT_TXN_COMMITTED || r->state == UT_TXN_ABORTED);
        if (!ok)
            UT__FAIL(&h->base, UT_ECORRUPT, "restore: record %zu is not a coordinator record", i);
    }
    /* The last record of each transaction is what it reached. */
    size_t live = 0, msgs = 0, ids = 0;
    for (size_t i = 0; i < n; i++) {
        bool last = true;
        for (size_t j = i + 1; j < n && last; j++)
            if (rec[j].txid == rec[i].txid)
                last = false;
        if (last && !rec[i].end) {
            live++;
            msgs += rec[i].n_nodes;
            ids += rec[i].n_nodes;
        }
    }
    if (table_room(h, live) != UT_OK ||
        ut__twopc_io_reserve(&h->io, msgs, 0, 2 * live, live, ids) != UT_OK)
        UT__FAIL(&h->base, UT_ENOMEM, "restore: out of memory");
    for (size_t i = 0; i < n; i++) {
        bool last = true;
        for (size_t j = i + 1; j < n && last; j++)
            if (rec[j].txid == rec[i].txid)
                last = false;
        if (!last || rec[i].end)
            continue;
        ut__2pc_txn_t t;
        if (txn_alloc(&t, rec[i].nodes, rec[i].n_nodes, NULL, 0) != UT_OK) {
            for (size_t k = 0; k < h->n_txns; k++)
                txn_release(&h->txns[k]);
            h->n_txns = 0;
            UT__FAIL(&h->base, UT_ENOMEM, "restore: out of memory");
        }
        t.txid = rec[i].txid;
        t.state = rec[i].state;
        t.outcome = UT_TXN_INIT;
        t.logged = true;
        /* A decision record names the participants of phase two. */
        if (rec[i].state == UT_TXN_COMMITTED)
            memset(t.vote, UT_2PC_VOTE_YES, t.n);
        h->txns[h->n_txns++] = t;
    }
    ut__trace(&h->tracer, UT_TRACE_INFO, "2pc", h->cfg.id, "restore", NULL, h->n_txns, n);
    for (size_t i = 0; i < h->n_txns; i++) {
        ut__2pc_txn_t *t = &h->txns[i];
        ut_txn_state_t s = t->state;
        if (s == UT_TXN_INIT) {
            /* Collecting, no decision: abort (Mohan §3.2: the recovering
             * coordinator aborts and tells every participant). */
            decide(h, t, UT_TXN_ABORTED, false, "restored undecided");
        } else {
            /* Decided: send it again until acknowledged (Gray & Lamport §3). */
            t->outcome = s;
            t->need_acks = acks_needed(h, s) && t->n > 0;
            send_decision(h, t, 0);
            t->next_resend = h->now + h->cfg.resend_ms;
            if (!t->need_acks)
                finish(h, t);
        }
    }
    sweep(h);
    return UT_OK;
}

int ut_2pc_state(const ut_2pc_t *h, uint64_t txid, ut_txn_state_t *out)
{
    if (!valid(h) || out == NULL)
        return UT_EINVAL;
    const ut__2pc_txn_t *t = find(h, txid);
    if (t == NULL)
        return UT_ENOTFOUND;
    *out = t->state;
    return UT_OK;
}

/* The lookup of the per-participant accessors: transaction and index. */
static int member(const ut_2pc_t *h, uint64_t txid, uint64_t participant, const void *out,
                  const ut__2pc_txn_t **t, size_t *i)
{
    if (!valid(h) || out == NULL)
        return UT_EINVAL;
    *t = find(h, txid);
    if (*t == NULL)
        return UT_ENOTFOUND;
    ptrdiff_t k = index_of(*t, participant);
    if (k < 0)
        return UT_EINVAL;
    *i = (size_t)k;
    return UT_OK;
}

int ut_2pc_vote(const ut_2pc_t *h, uint64_t txid, uint64_t participant, ut_2pc_vote_t *out)
{
    const ut__2pc_txn_t *t;
    size_t i;
    int rc = member(h, txid, participant, out, &t, &i);
    if (rc == UT_OK)
        *out = (ut_2pc_vote_t)t->vote[i];
    return rc;
}

int ut_2pc_acked(const ut_2pc_t *h, uint64_t txid, uint64_t participant, bool *out)
{
    const ut__2pc_txn_t *t;
    size_t i;
    int rc = member(h, txid, participant, out, &t, &i);
    if (rc == UT_OK)
        *out = t->acked[i] != 0 && t->outcome != UT_TXN_INIT;
    return rc;
}

int ut_2pc_participants(const ut_2pc_t *h, uint64_t txid, const uint64_t **ids, size_t *n)
{
    if (!valid(h) || ids == NULL || n == NULL)
        return UT_EINVAL;
    const ut__2pc_txn_t *t = find(h, txid);
    if (t == NULL)
        return UT_ENOTFOUND;
    *ids = t->ids;
    *n = t->n;
    return UT_OK;
}

uint64_t ut_2pc_coordinator(const ut_2pc_t *h)
{
    return valid(h) ? h->cfg.id : 0;
}

size_t ut_2pc_count(const ut_2pc_t *h)
{
    if (!valid(h))
        return 0;
    size_t c = 0;
    for (size_t i = 0; i < h->n_txns; i++)
        if (!h->txns[i].forget || h->txns[i].settle)
            c++;
    return c;
}

const char *ut_2pc_errmsg(const ut_2pc_t *h)
{
    return ut__handle_errmsg(h == NULL ? NULL : &h->base, UT__2PC_MAGIC);
}

void ut__twopc_coord_counters(const ut_2pc_t *h, uint64_t *forced, uint64_t *records,
                              uint64_t *msgs)
{
    *forced = h->io.n_forced;
    *records = h->io.n_records;
    *msgs = h->io.n_msgs;
}

int ut__twopc_coord_clone(const ut_2pc_t *h, ut_2pc_t **out)
{
    if (!valid(h) || pending_any(h))
        return UT_ESTATE;
    ut_2pc_t *c;
    int rc = ut_2pc_new(&c, &h->cfg);
    if (rc != UT_OK)
        return rc;
    c->now = h->now;
    if (table_room(c, h->n_txns) != UT_OK) {
        ut_2pc_free(c);
        return UT_ENOMEM;
    }
    for (size_t i = 0; i < h->n_txns; i++) {
        const ut__2pc_txn_t *s = &h->txns[i];
        ut__2pc_txn_t t;
        if (txn_alloc(&t, s->ids, s->n, s->payload, s->len) != UT_OK) {
            ut_2pc_free(c);
            return UT_ENOMEM;
        }
        unsigned char *ids = (unsigned char *)t.ids, *vote = t.vote, *acked = t.acked,
                      *pl = t.peers_le, *pay = t.payload;
        t = *s;
        t.ids = (uint64_t *)(void *)ids;
        t.vote = vote;
        t.acked = acked;
        t.peers_le = pl;
        t.payload = pay;
        memcpy(t.vote, s->vote, s->n);
        memcpy(t.acked, s->acked, s->n);
        c->txns[c->n_txns++] = t;
    }
    *out = c;
    return UT_OK;
}
