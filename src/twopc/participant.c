/* SPDX-License-Identifier: MIT */
/* The two-phase commit participant.
 *
 * Sources: Gray & Lamport, "Consensus on Transaction Commit" (TODS 2006) §3:
 * a participant that votes yes is prepared and must not decide alone;
 * Mohan, Lindsay & Obermarck (TODS 1986) §2-§3: which records are forced
 * before which message, read-only votes, presumed abort/commit; Bernstein,
 * Hadzilacos & Goodman, "Concurrency Control and Recovery in Database
 * Systems" (1987) §7.4: the cooperative termination protocol. */
#include "twopc/io.h"
#include "twopc/twopc_internal.h"

#define UT__2PCP_MAGIC 0x32504350u /* "2PCP" */

typedef struct ut__2pcp_txn {
    uint64_t txid;
    uint64_t coord;
    ut_txn_state_t state;
    bool one_phase;
    bool heuristic;
    bool durable; /* the current state's record was forced */
    size_t n_peers;
    uint64_t *peers;
    uint64_t next_inquiry;
} ut__2pcp_txn_t;

struct ut_2pc_participant {
    ut__handle_t base;
    ut_2pc_participant_config_t cfg;
    uint64_t now;
    ut__2pcp_txn_t *txns;
    size_t n_txns, cap_txns;
    ut__twopc_io_t io;
    ut__tracer_t tracer;
};

static bool valid(const ut_2pc_participant_t *p)
{
    return p != NULL && ut__handle_valid(&p->base, UT__2PCP_MAGIC);
}

int ut_2pc_participant_config_init(ut_2pc_participant_config_t *cfg, unsigned version)
{
    if (cfg == NULL)
        return UT_EINVAL;
    if (version < 1 || version > UT_2PC_CONFIG_VERSION)
        return UT_EVERSION;
    memset(cfg, 0, sizeof *cfg);
    cfg->version = version;
    cfg->inquiry_timeout_ms = 500;
    cfg->cooperative = false;
    return UT_OK;
}

int ut_2pc_participant_new(ut_2pc_participant_t **out, const ut_2pc_participant_config_t *cfg)
{
    if (out == NULL || cfg == NULL)
        return UT_EINVAL;
    if (cfg->version < 1 || cfg->version > UT_2PC_CONFIG_VERSION)
        return UT_EVERSION;
    if (cfg->id == 0 || cfg->inquiry_timeout_ms == 0)
        return UT_EINVAL;
    ut_2pc_participant_t *p = ut__calloc(1, sizeof *p);
    if (p == NULL)
        return UT_ENOMEM;
    ut__handle_init(&p->base, UT__2PCP_MAGIC);
    p->cfg = *cfg;
    p->tracer.fn = cfg->trace;
    p->tracer.arg = cfg->trace_arg;
    ut__twopc_io_init(&p->io);
    *out = p;
    return UT_OK;
}

void ut_2pc_participant_free(ut_2pc_participant_t *p)
{
    if (!valid(p))
        return;
    for (size_t i = 0; i < p->n_txns; i++)
        ut__free(p->txns[i].peers);
    ut__free(p->txns);
    ut__twopc_io_destroy(&p->io);
    ut__handle_retire(&p->base);
    ut__free(p);
}

static ut__2pcp_txn_t *find(const ut_2pc_participant_t *p, uint64_t txid)
{
    for (size_t i = 0; i < p->n_txns; i++)
        if (p->txns[i].txid == txid)
            return &p->txns[i];
    return NULL;
}

static bool is_peer(const ut__2pcp_txn_t *t, uint64_t node)
{
    for (size_t i = 0; i < t->n_peers; i++)
        if (t->peers[i] == node)
            return true;
    return false;
}

/* A new entry (table grown, peers allocated) or ENOMEM with nothing changed. */
static int add_txn(ut_2pc_participant_t *p, uint64_t txid, uint64_t coord, const uint64_t *peers,
                   size_t n, ut__2pcp_txn_t **out)
{
    void *v = p->txns;
    size_t cap = p->cap_txns;
    if (ut__grow(&v, &cap, p->n_txns + 1, sizeof(ut__2pcp_txn_t)) != UT_OK)
        return UT_ENOMEM;
    p->txns = v;
    p->cap_txns = cap;
    uint64_t *copy = NULL;
    if (n > 0) {
        copy = ut__malloc(n * sizeof *copy);
        if (copy == NULL)
            return UT_ENOMEM;
        memcpy(copy, peers, n * sizeof *copy);
    }
    ut__2pcp_txn_t *t = &p->txns[p->n_txns++];
    memset(t, 0, sizeof *t);
    t->txid = txid;
    t->coord = coord;
    t->state = UT_TXN_INIT;
    t->peers = copy;
    t->n_peers = n;
    *out = t;
    return UT_OK;
}

static void remove_txn(ut_2pc_participant_t *p, ut__2pcp_txn_t *t)
{
    ut__free(t->peers);
    size_t i = (size_t)(t - p->txns);
    p->txns[i] = p->txns[--p->n_txns];
}

static void emit_record(ut_2pc_participant_t *p, ut__2pcp_txn_t *t, bool forced)
{
    ut_2pc_record_t *r = ut__twopc_io_record(&p->io, t->txid, t->state, forced);
    if (r == NULL)
        return;
    r->coordinator = t->coord;
    r->heuristic = t->heuristic;
    t->durable = forced;
    if (t->state == UT_TXN_PREPARED)
        ut__twopc_io_record_nodes(&p->io, t->peers, t->n_peers);
}

static void emit_outcome(ut_2pc_participant_t *p, const ut__2pcp_txn_t *t, const char *why)
{
    ut__trace(&p->tracer, UT_TRACE_INFO, "2pc", p->cfg.id, "outcome", why, t->txid,
              (uint64_t)t->state);
    ut_2pc_event_t *e = ut__twopc_io_event(&p->io, UT_2PC_EVENT_OUTCOME, t->txid, t->state);
    if (e != NULL)
        e->node = t->coord;
}

static int reserve(ut_2pc_participant_t *p, size_t msgs, size_t bytes, size_t ids)
{
    if (ut__twopc_io_reserve(&p->io, msgs, bytes, 1, 1, ids) != UT_OK)
        UT__FAIL(&p->base, UT_ENOMEM, "out of memory");
    return UT_OK;
}

static void send(ut_2pc_participant_t *p, ut_msg_type_t type, uint64_t to, uint64_t txid,
                 uint32_t code)
{
    ut__twopc_io_msg(&p->io, type, p->cfg.id, to, txid, code);
}

int ut_2pc_participant_vote(ut_2pc_participant_t *p, uint64_t txid, ut_2pc_vote_t vote)
{
    if (!valid(p))
        return UT_EINVAL;
    if (vote != UT_2PC_VOTE_YES && vote != UT_2PC_VOTE_NO && vote != UT_2PC_VOTE_READ_ONLY)
        UT__FAIL(&p->base, UT_EINVAL, "vote: bad vote %d", (int)vote);
    ut__2pcp_txn_t *t = find(p, txid);
    if (t == NULL)
        UT__FAIL(&p->base, UT_ENOTFOUND, "vote: unknown transaction %llu",
                 (unsigned long long)txid);
    if (t->state != UT_TXN_INIT)
        UT__FAIL(&p->base, UT_ESTATE, "vote: transaction %llu is already %s",
                 (unsigned long long)txid, ut_txn_state_name(t->state));
    if (reserve(p, 1, 0, t->n_peers) != UT_OK)
        return UT_ENOMEM;
    uint64_t coord = t->coord;
    ut__trace(&p->tracer, UT_TRACE_INFO, "2pc", p->cfg.id, "vote", ut_2pc_vote_name(vote), txid,
              coord);
    switch (vote) {
    case UT_2PC_VOTE_YES:
        if (t->one_phase) {
            /* One-phase commit: the vote is the decision, forced before the
             * reply (Mohan §5, "last agent" / one-phase). */
            t->state = UT_TXN_COMMITTED;
            emit_record(p, t, true);
            emit_outcome(p, t, "one-phase: its own vote");
        } else {
            /* Prepared: the vote is durable before it leaves, so that a
             * crash cannot make us forget a yes (Gray & Lamport §3). */
            t->state = UT_TXN_PREPARED;
            t->next_inquiry = p->now + p->cfg.inquiry_timeout_ms;
            emit_record(p, t, true);
        }
        break;
    case UT_2PC_VOTE_NO:
        /* A no needs no forced record: a forgotten no is an abort
         * whatever happens (Mohan §3.1). */
        t->state = UT_TXN_ABORTED;
        emit_record(p, t, false);
        emit_outcome(p, t, "voted no");
        break;
    default:
        /* Read-only: nothing to log, out of phase two (Mohan §2). */
        remove_txn(p, t);
        break;
    }
    send(p, UT_MSG_2PC_VOTE, coord, txid, (uint32_t)vote);
    return UT_OK;
}

int ut_2pc_participant_heuristic(ut_2pc_participant_t *p, uint64_t txid, ut_txn_state_t outcome)
{
    if (!valid(p))
        return UT_EINVAL;
    if (outcome != UT_TXN_COMMITTED && outcome != UT_TXN_ABORTED)
        UT__FAIL(&p->base, UT_EINVAL, "heuristic: outcome must be committed or aborted");
    ut__2pcp_txn_t *t = find(p, txid);
    if (t == NULL)
        UT__FAIL(&p->base, UT_ENOTFOUND, "heuristic: unknown transaction %llu",
                 (unsigned long long)txid);
    if (t->state != UT_TXN_PREPARED)
        UT__FAIL(&p->base, UT_ESTATE, "heuristic: transaction %llu is %s, not in doubt",
                 (unsigned long long)txid, ut_txn_state_name(t->state));
    if (reserve(p, 0, 0, 0) != UT_OK)
        return UT_ENOMEM;
    t->state = outcome;
    t->heuristic = true;
    emit_record(p, t, true);
    emit_outcome(p, t, "heuristic");
    return UT_OK;
}

static int on_prepare(ut_2pc_participant_t *p, const ut_msg_t *m, ut__2pcp_txn_t *t)
{
    const ut_msg_2pc_t *b = &m->body.twopc;
    if (b->n_peers > UT_2PC_MAX_PARTICIPANTS || (b->n_peers > 0 && b->peers == NULL) ||
        (b->len > 0 && b->data == NULL) || (b->code & ~UT_2PC_FLAG_ONE_PHASE) != 0)
        UT__FAIL(&p->base, UT_EINVAL, "step: malformed prepare");
    if (t != NULL) {
        if (t->coord != m->from)
            UT__FAIL(&p->base, UT_EINVAL, "step: prepare from %llu, coordinator is %llu",
                     (unsigned long long)m->from, (unsigned long long)t->coord);
        uint32_t vote;
        if (t->state == UT_TXN_INIT || t->heuristic)
            return UT_OK; /* the application is voting; duplicate */
        /* A one-phase commit restored from its record no longer knows it
         * was one; the coordinator's one-phase flag says so (found by
         * utsim's 2pc scenario: the coordinator asked forever). */
        bool one_phase = t->one_phase || (b->code & UT_2PC_FLAG_ONE_PHASE) != 0;
        if (t->state == UT_TXN_PREPARED || (t->state == UT_TXN_COMMITTED && one_phase))
            vote = UT_2PC_VOTE_YES; /* our vote was lost: say it again */
        else if (t->state == UT_TXN_ABORTED)
            vote = UT_2PC_VOTE_NO;
        else
            return UT_OK;
        if (reserve(p, 1, 0, 0) != UT_OK)
            return UT_ENOMEM;
        send(p, UT_MSG_2PC_VOTE, t->coord, t->txid, vote);
        return UT_OK;
    }
    uint64_t peers[UT_2PC_MAX_PARTICIPANTS];
    size_t n = 0;
    for (uint32_t i = 0; i < b->n_peers; i++) {
        uint64_t id = ut__twopc_get_le((const unsigned char *)b->peers + 8u * i);
        if (id == 0)
            UT__FAIL(&p->base, UT_EINVAL, "step: peer id 0 in prepare");
        if (id != p->cfg.id && id != m->from)
            peers[n++] = id;
    }
    if (ut__twopc_io_reserve(&p->io, 0, b->len, 0, 1, 0) != UT_OK)
        UT__FAIL(&p->base, UT_ENOMEM, "step: out of memory");
    if (add_txn(p, b->txid, m->from, peers, n, &t) != UT_OK)
        UT__FAIL(&p->base, UT_ENOMEM, "step: out of memory");
    t->one_phase = (b->code & UT_2PC_FLAG_ONE_PHASE) != 0;
    ut_2pc_event_t *e = ut__twopc_io_event(&p->io, UT_2PC_EVENT_PREPARE, b->txid, UT_TXN_INIT);
    e->node = m->from;
    e->data = ut__twopc_io_copy(&p->io, b->data, b->len);
    e->len = b->len;
    return UT_OK;
}

static int on_decision(ut_2pc_participant_t *p, const ut_msg_t *m, ut__2pcp_txn_t *t)
{
    ut_txn_state_t outcome = m->type == UT_MSG_2PC_COMMIT ? UT_TXN_COMMITTED : UT_TXN_ABORTED;
    bool ack = (m->body.twopc.code & UT_2PC_FLAG_ACK) != 0;
    if (t == NULL) {
        /* Nothing here (read-only, the PREPARE is late or lost, or we
         * decided it and the application forgot it). An abort that asks
         * for an acknowledgement leaves a tombstone, durable before the
         * acknowledgement: otherwise a PREPARE still in the network could
         * make us prepare after the coordinator forgot, and under presumed
         * commit our inquiry would then be answered "commit" (Mohan §3.2
         * relies on ordered sessions; this network reorders). A decision
         * that asks for none changes nothing here: under presumed abort it
         * may be the coordinator's presumed answer to a stale vote or
         * inquiry of a transaction that committed here and was forgotten,
         * and a tombstone would contradict that commit; a PREPARE still in
         * the network is harmless without one, as our inquiry is then
         * answered "abort" (Mohan §3.1). Found by utsim's 2pc scenario
         * (seed 266, 3 nodes): a one-phase commit's duplicate PREPARE,
         * 2 s late, drew a yes, the coordinator (which had forgotten the
         * commit) answered ABORT, and that ABORT arrived 1.7 s later, after
         * the participant had forgotten the commit. */
        if (!ack)
            return UT_OK;
        if (outcome == UT_TXN_COMMITTED) {
            if (reserve(p, 1, 0, 0) != UT_OK)
                return UT_ENOMEM;
            send(p, UT_MSG_2PC_ACK, m->from, m->body.twopc.txid, (uint32_t)outcome);
            return UT_OK;
        }
        if (reserve(p, 1, 0, 0) != UT_OK || add_txn(p, m->body.twopc.txid, m->from, NULL, 0, &t))
            UT__FAIL(&p->base, UT_ENOMEM, "step: out of memory");
        t->state = UT_TXN_ABORTED;
        emit_record(p, t, true);
        send(p, UT_MSG_2PC_ACK, m->from, t->txid, (uint32_t)outcome);
        return UT_OK;
    }
    if (t->coord != m->from)
        UT__FAIL(&p->base, UT_EINVAL, "step: decision from %llu, coordinator is %llu",
                 (unsigned long long)m->from, (unsigned long long)t->coord);
    if (t->state == UT_TXN_INIT && outcome == UT_TXN_COMMITTED)
        UT__FAIL(&p->base, UT_ESTATE, "step: commit of %llu, which is not prepared",
                 (unsigned long long)t->txid);
    if (t->heuristic) {
        /* Report the heuristic outcome, matching or not (X/Open XA's
         * heuristic reporting; Gray & Reuter §12.5). */
        if (reserve(p, 1, 0, 0) != UT_OK)
            return UT_ENOMEM;
        send(p, UT_MSG_2PC_ACK, t->coord, t->txid, (uint32_t)t->state | UT_2PC_FLAG_HEURISTIC);
        return UT_OK;
    }
    if (t->state == UT_TXN_COMMITTED || t->state == UT_TXN_ABORTED) {
        /* Nothing leaves committed or aborted. */
        if (t->state != outcome)
            UT__FAIL(&p->base, UT_ESTATE, "step: %s for %llu, which is %s",
                     ut_msg_type_name(m->type), (unsigned long long)t->txid,
                     ut_txn_state_name(t->state));
        if (!ack)
            return UT_OK;
        if (reserve(p, 1, 0, 0) != UT_OK)
            return UT_ENOMEM;
        /* An outcome learnt without a forced record (from a peer, or an
         * unacknowledged decision) is forced now: after the ack the
         * coordinator forgets, and nobody could tell us again. */
        if (!t->durable)
            emit_record(p, t, true);
        send(p, UT_MSG_2PC_ACK, t->coord, t->txid, (uint32_t)outcome); /* idempotent */
        return UT_OK;
    }
    if (reserve(p, 1, 0, 0) != UT_OK)
        return UT_ENOMEM;
    /* The outcome is durable before the acknowledgement leaves; when no
     * acknowledgement is asked for, the presumption covers a lost record
     * (Mohan §3.1, §3.2). */
    t->state = outcome;
    emit_record(p, t, ack);
    emit_outcome(p, t, "the coordinator");
    if (ack)
        send(p, UT_MSG_2PC_ACK, t->coord, t->txid, (uint32_t)outcome);
    return UT_OK;
}

static int on_inquiry(ut_2pc_participant_t *p, const ut_msg_t *m, ut__2pcp_txn_t *t)
{
    /* Cooperative termination (Bernstein et al. §7.4): answer a peer with
     * what we know; one that has not voted may abort and say so. */
    if (t == NULL) {
        if (reserve(p, 1, 0, 0) != UT_OK)
            return UT_ENOMEM;
        send(p, UT_MSG_2PC_STATUS, m->from, m->body.twopc.txid, UT_2PC_STATUS_UNKNOWN);
        return UT_OK;
    }
    /* A tombstone, or an outcome restored from a record that names no
     * peers, does not know who the peers are: it answers any inquirer,
     * which is harmless once decided (found by utsim's 2pc scenario). */
    bool peers_known = t->n_peers > 0 || t->state == UT_TXN_INIT || t->state == UT_TXN_PREPARED;
    if (peers_known && !is_peer(t, m->from))
        UT__FAIL(&p->base, UT_EINVAL, "step: inquiry from %llu, not a peer",
                 (unsigned long long)m->from);
    if (reserve(p, 2, 0, 0) != UT_OK)
        return UT_ENOMEM;
    uint32_t status = UT_2PC_STATUS_UNKNOWN;
    if (t->state == UT_TXN_INIT && !t->one_phase) {
        t->state = UT_TXN_ABORTED;
        emit_record(p, t, true); /* we must never vote yes now */
        emit_outcome(p, t, "a peer asked before the vote");
        send(p, UT_MSG_2PC_VOTE, t->coord, t->txid, UT_2PC_VOTE_NO);
        status = UT_TXN_ABORTED;
    } else if (!t->heuristic && (t->state == UT_TXN_COMMITTED || t->state == UT_TXN_ABORTED)) {
        status = (uint32_t)t->state;
    }
    send(p, UT_MSG_2PC_STATUS, m->from, t->txid, status);
    return UT_OK;
}

static int on_status(ut_2pc_participant_t *p, const ut_msg_t *m, ut__2pcp_txn_t *t)
{
    uint32_t code = m->body.twopc.code;
    if (code != UT_TXN_COMMITTED && code != UT_TXN_ABORTED && code != UT_TXN_PREPARED &&
        code != UT_2PC_STATUS_UNKNOWN)
        UT__FAIL(&p->base, UT_EINVAL, "step: status code %u", (unsigned)code);
    if (t == NULL)
        UT__FAIL(&p->base, UT_ENOTFOUND, "step: status of unknown transaction");
    /* As for an inquiry: a decided transaction may not know its peers. */
    bool peers_known = t->n_peers > 0 || t->state == UT_TXN_INIT || t->state == UT_TXN_PREPARED;
    if (peers_known && !is_peer(t, m->from))
        UT__FAIL(&p->base, UT_EINVAL, "step: status from %llu, not a peer",
                 (unsigned long long)m->from);
    if (t->state != UT_TXN_PREPARED || (code != UT_TXN_COMMITTED && code != UT_TXN_ABORTED))
        return UT_OK;
    if (reserve(p, 0, 0, 0) != UT_OK)
        return UT_ENOMEM;
    /* A peer that knows the outcome ends our doubt (Bernstein et al. §7.4).
     * Not forced: if lost, we are in doubt again and ask again. */
    t->state = (ut_txn_state_t)code;
    emit_record(p, t, false);
    emit_outcome(p, t, "a peer");
    return UT_OK;
}

static int step(ut_2pc_participant_t *p, const ut_msg_t *m)
{
    ut__2pcp_txn_t *t = find(p, m->body.twopc.txid);
    switch (m->type) {
    case UT_MSG_2PC_PREPARE:
        return on_prepare(p, m, t);
    case UT_MSG_2PC_COMMIT:
    case UT_MSG_2PC_ABORT:
        return on_decision(p, m, t);
    case UT_MSG_2PC_INQUIRY:
        return on_inquiry(p, m, t);
    case UT_MSG_2PC_STATUS:
        return on_status(p, m, t);
    default:
        UT__FAIL(&p->base, UT_EINVAL, "step: %s is not for a participant",
                 ut_msg_type_name(m->type));
    }
}

int ut_2pc_participant_step(ut_2pc_participant_t *p, const ut_msg_t *m)
{
    if (!valid(p))
        return UT_EINVAL;
    int rc = ut__twopc_step_check(&p->base, p->cfg.id, m);
    if (rc == UT_OK)
        rc = step(p, m);
    return ut__twopc_step_result(&p->tracer, p->cfg.id, m, rc);
}

int ut_2pc_participant_tick(ut_2pc_participant_t *p, uint64_t now_ms)
{
    if (!valid(p))
        return UT_EINVAL;
    if (ut__twopc_tick_check(&p->base, p->now, now_ms) != UT_OK)
        return UT_EINVAL;
    size_t msgs = 0;
    for (size_t i = 0; i < p->n_txns; i++) {
        const ut__2pcp_txn_t *t = &p->txns[i];
        if (t->state == UT_TXN_PREPARED && now_ms >= t->next_inquiry)
            msgs += 1 + (p->cfg.cooperative ? t->n_peers : 0);
    }
    if (msgs > 0 && ut__twopc_io_reserve(&p->io, msgs, 0, 0, 0, 0) != UT_OK)
        UT__FAIL(&p->base, UT_ENOMEM, "tick: out of memory");
    p->now = now_ms;
    for (size_t i = 0; i < p->n_txns; i++) {
        ut__2pcp_txn_t *t = &p->txns[i];
        if (t->state != UT_TXN_PREPARED || now_ms < t->next_inquiry)
            continue;
        /* In doubt: ask, never decide alone (Gray & Lamport §3). */
        ut__trace(&p->tracer, UT_TRACE_INFO, "2pc", p->cfg.id, "in-doubt-inquiry",
                  p->cfg.cooperative ? "coordinator and peers" : "coordinator", t->txid, t->coord);
        send(p, UT_MSG_2PC_INQUIRY, t->coord, t->txid, 0);
        if (p->cfg.cooperative)
            for (size_t k = 0; k < t->n_peers; k++)
                send(p, UT_MSG_2PC_INQUIRY, t->peers[k], t->txid, 0);
        t->next_inquiry = now_ms + p->cfg.inquiry_timeout_ms;
    }
    return UT_OK;
}

int ut_2pc_participant_ready(ut_2pc_participant_t *p, ut_2pc_ready_t *rd)
{
    if (!valid(p))
        return UT_EINVAL;
    return ut__twopc_ready(&p->base, &p->io, rd);
}

int ut_2pc_participant_advance(ut_2pc_participant_t *p, const ut_2pc_ready_t *rd)
{
    if (!valid(p))
        return UT_EINVAL;
    bool advanced;
    return ut__twopc_advance(&p->base, &p->io, rd, &advanced);
}

int ut_2pc_participant_restore(ut_2pc_participant_t *p, const ut_2pc_record_t *rec, size_t n)
{
    if (!valid(p))
        return UT_EINVAL;
    if (rec == NULL && n > 0)
        UT__FAIL(&p->base, UT_EINVAL, "restore: NULL records");
    if (p->n_txns > 0 || ut__twopc_io_pending(&p->io) || p->io.rs.outstanding)
        UT__FAIL(&p->base, UT_ESTATE, "restore: the handle is not fresh");
    for (size_t i = 0; i < n; i++) {
        const ut_2pc_record_t *r = &rec[i];
        bool ok = r->txid != 0 && r->coordinator != 0 && r->n_nodes <= UT_2PC_MAX_PARTICIPANTS &&
                  (r->n_nodes == 0 || r->nodes != NULL) &&
                  (r->state == UT_TXN_PREPARED || r->state == UT_TXN_COMMITTED ||
                   r->state == UT_TXN_ABORTED);
        if (!ok)
            UT__FAIL(&p->base, UT_ECORRUPT, "restore: record %zu is not a participant record", i);
    }
    for (size_t i = 0; i < n; i++) {
        bool last = true;
        for (size_t j = i + 1; j < n && last; j++)
            if (rec[j].txid == rec[i].txid)
                last = false;
        if (!last)
            continue;
        /* The peers are in the PREPARED record; a later record of the same
         * transaction carries none. */
        const ut_2pc_record_t *prep = &rec[i];
        for (size_t j = 0; j < i; j++)
            if (rec[j].txid == rec[i].txid && rec[j].state == UT_TXN_PREPARED)
                prep = &rec[j];
        ut__2pcp_txn_t *t;
        if (add_txn(p, rec[i].txid, rec[i].coordinator, prep->nodes, prep->n_nodes, &t) != UT_OK) {
            for (size_t k = 0; k < p->n_txns; k++)
                ut__free(p->txns[k].peers);
            p->n_txns = 0;
            UT__FAIL(&p->base, UT_ENOMEM, "restore: out of memory");
        }
        t->state = rec[i].state;
        t->heuristic = rec[i].heuristic;
        t->durable = true;
        t->next_inquiry = 0; /* in doubt: ask at the first tick */
    }
    ut__trace(&p->tracer, UT_TRACE_INFO, "2pc", p->cfg.id, "restore", NULL, p->n_txns, n);
    return UT_OK;
}

int ut_2pc_participant_forget(ut_2pc_participant_t *p, uint64_t txid)
{
    if (!valid(p))
        return UT_EINVAL;
    ut__2pcp_txn_t *t = find(p, txid);
    if (t == NULL)
        UT__FAIL(&p->base, UT_ENOTFOUND, "forget: unknown transaction %llu",
                 (unsigned long long)txid);
    if (t->state != UT_TXN_COMMITTED && t->state != UT_TXN_ABORTED)
        UT__FAIL(&p->base, UT_ESTATE, "forget: transaction %llu is %s", (unsigned long long)txid,
                 ut_txn_state_name(t->state));
    remove_txn(p, t);
    return UT_OK;
}

/* The lookup of the per-transaction accessors. */
static int lookup(const ut_2pc_participant_t *p, uint64_t txid, const void *out,
                  const ut__2pcp_txn_t **t)
{
    if (!valid(p) || out == NULL)
        return UT_EINVAL;
    *t = find(p, txid);
    return *t == NULL ? UT_ENOTFOUND : UT_OK;
}

int ut_2pc_participant_state(const ut_2pc_participant_t *p, uint64_t txid, ut_txn_state_t *out)
{
    const ut__2pcp_txn_t *t;
    int rc = lookup(p, txid, out, &t);
    if (rc == UT_OK)
        *out = t->state;
    return rc;
}

int ut_2pc_participant_is_heuristic(const ut_2pc_participant_t *p, uint64_t txid, bool *out)
{
    const ut__2pcp_txn_t *t;
    int rc = lookup(p, txid, out, &t);
    if (rc == UT_OK)
        *out = t->heuristic;
    return rc;
}

uint64_t ut_2pc_participant_id(const ut_2pc_participant_t *p)
{
    return valid(p) ? p->cfg.id : 0;
}

const char *ut_2pc_participant_errmsg(const ut_2pc_participant_t *p)
{
    return ut__handle_errmsg(p == NULL ? NULL : &p->base, UT__2PCP_MAGIC);
}

void ut__twopc_part_counters(const ut_2pc_participant_t *p, uint64_t *forced, uint64_t *records,
                             uint64_t *msgs)
{
    *forced = p->io.n_forced;
    *records = p->io.n_records;
    *msgs = p->io.n_msgs;
}

int ut__twopc_part_clone(const ut_2pc_participant_t *p, ut_2pc_participant_t **out)
{
    if (!valid(p) || ut__twopc_io_pending(&p->io) || p->io.rs.outstanding)
        return UT_ESTATE;
    ut_2pc_participant_t *c;
    int rc = ut_2pc_participant_new(&c, &p->cfg);
    if (rc != UT_OK)
        return rc;
    c->now = p->now;
    for (size_t i = 0; i < p->n_txns; i++) {
        const ut__2pcp_txn_t *s = &p->txns[i];
        ut__2pcp_txn_t *t;
        if (add_txn(c, s->txid, s->coord, s->peers, s->n_peers, &t) != UT_OK) {
            ut_2pc_participant_free(c);
            return UT_ENOMEM;
        }
        uint64_t *peers = t->peers;
        *t = *s;
        t->peers = peers;
    }
    *out = c;
    return UT_OK;
}
