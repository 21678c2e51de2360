/* SPDX-License-Identifier: MIT */
/* Membership changes of the Raft core: configuration entries, single-server
 * changes (thesis §4.1), joint consensus (thesis §4.3), removed servers
 * (thesis §4.2.2, §4.2.3) and the member arrays of the handle that follow
 * the configuration. See consensus/membership.h for the rules and the slot
 * layout. */
#include <stdio.h>

#include "consensus/raft.h"

/* ------------------------------------------------------------ the codec */

static void put_u16(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u16(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static bool has_id(const uint64_t *a, size_t n, uint64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] == id)
            return true;
    return false;
}

unsigned char *ut__consensus_put_ids(unsigned char *p, const uint64_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++, p += 8)
        put_u64(p, ids[i]);
    return p;
}

const unsigned char *ut__consensus_get_ids(const unsigned char *p, uint64_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++, p += 8)
        ids[i] = get_u64(p);
    return p;
}

bool ut__consensus_conf_is_voter(const ut__consensus_conf_t *c, uint64_t id)
{
    return has_id(c->voters, c->n_voters, id) || has_id(c->outgoing, c->n_outgoing, id);
}

/* Distinct members: voters, outgoing voters not among them, observers. */
static size_t conf_members(const ut__consensus_conf_t *c)
{
    size_t n = c->n_voters + c->n_observers;
    for (size_t i = 0; i < c->n_outgoing; i++)
        n += !has_id(c->voters, c->n_voters, c->outgoing[i]);
    return n;
}

size_t ut__consensus_conf_len(const ut__consensus_conf_t *c)
{
    return UT__CONSENSUS_CONF_HDR + 8u * ((size_t)c->n_voters + c->n_outgoing + c->n_observers);
}

void ut__consensus_conf_encode(const ut__consensus_conf_t *c, unsigned char *out)
{
    out[0] = UT__CONSENSUS_CONF_VERSION;
    out[1] = (c->auto_leave && c->n_outgoing > 0) ? UT__CONSENSUS_CONF_AUTO_LEAVE : 0;
    put_u16(out + 2, c->n_voters);
    put_u16(out + 4, c->n_outgoing);
    put_u16(out + 6, c->n_observers);
    unsigned char *p = out + UT__CONSENSUS_CONF_HDR;
    p = ut__consensus_put_ids(p, c->voters, c->n_voters);
    p = ut__consensus_put_ids(p, c->outgoing, c->n_outgoing);
    ut__consensus_put_ids(p, c->observers, c->n_observers);
}

/* The rules of a configuration, wherever it comes from (an entry, a
 * snapshot, a proposal): at least one voter, ids non-zero and not repeated
 * within a set, observers in neither voter set, an outgoing set either
 * empty or with a voter, at most UT_CONSENSUS_MAX_NODES members. */
static int conf_check(const ut__consensus_conf_t *c)
{
    if (c->n_voters == 0 || c->n_voters > UT_CONSENSUS_MAX_NODES ||
        c->n_outgoing > UT_CONSENSUS_MAX_NODES || c->n_observers > UT_CONSENSUS_MAX_NODES)
        return UT_EINVAL;
    const uint64_t *sets[3] = {c->voters, c->outgoing, c->observers};
    const size_t ns[3] = {c->n_voters, c->n_outgoing, c->n_observers};
    for (int s = 0; s < 3; s++)
        for (size_t i = 0; i < ns[s]; i++) {
            if (sets[s][i] == 0 || has_id(sets[s], i, sets[s][i]))
                return UT_EINVAL;
            if (s == 2 && ut__consensus_conf_is_voter(c, sets[s][i]))
                return UT_EINVAL;
        }
    if (conf_members(c) > UT_CONSENSUS_MAX_NODES)
        return UT_EINVAL;
    return UT_OK;
}

int ut__consensus_conf_decode(const void *data, size_t len, ut__consensus_conf_t *out)
{
    const unsigned char *p = data;
    if (len < UT__CONSENSUS_CONF_HDR || data == NULL || p[0] != UT__CONSENSUS_CONF_VERSION ||
        (p[1] & ~UT__CONSENSUS_CONF_AUTO_LEAVE) != 0)
        return UT_EINVAL;
    uint32_t nv = get_u16(p + 2), no = get_u16(p + 4), nb = get_u16(p + 6);
    if (nv > UT_CONSENSUS_MAX_NODES || no > UT_CONSENSUS_MAX_NODES || nb > UT_CONSENSUS_MAX_NODES ||
        len != UT__CONSENSUS_CONF_HDR + 8u * ((size_t)nv + no + nb))
        return UT_EINVAL;
    out->n_voters = nv;
    out->n_outgoing = no;
    out->n_observers = nb;
    out->auto_leave = (p[1] & UT__CONSENSUS_CONF_AUTO_LEAVE) != 0;
    if (out->auto_leave && no == 0)
        return UT_EINVAL;
    p += UT__CONSENSUS_CONF_HDR;
    p = ut__consensus_get_ids(p, out->voters, nv);
    p = ut__consensus_get_ids(p, out->outgoing, no);
    ut__consensus_get_ids(p, out->observers, nb);
    return conf_check(out);
}

int ut__consensus_members_check_entry(const ut_entry_t *e)
{
    if (e->type != UT_ENTRY_CONFIG || (e->len > 0 && e->data == NULL))
        return UT_EINVAL;
    ut__consensus_conf_t c;
    return ut__consensus_conf_decode(e->data, e->len, &c);
}

/* ------------------------------------------------------ the member arrays */

/* Rebuild every per-member array for configuration cur (thesis §4.1: in
 * effect from now on). Members that stay keep their slot's state (progress,
 * in-flight window, match, vote, activity) in their new slot; new ones
 * start fresh (probing from the end of the log, as after an election).
 * prev (may be NULL): members it has and cur lacks stay as "leaving" slots
 * while there is room, so that a leader replicates the change to the nodes
 * it removes (they learn they are out and stop campaigning, thesis §4.2.3).
 * The rings must have room for every slot (ut__consensus_members_reserve). */
static void rebuild(ut_consensus_t *h, const ut__consensus_conf_t *cur,
                    const ut__consensus_conf_t *prev)
{
    ut__consensus_members_t *mb = &h->mb;
    uint64_t nid[UT__CONSENSUS_MAX_SLOTS];
    size_t n = 0;
    for (size_t i = 0; i < cur->n_outgoing; i++)
        if (!has_id(cur->voters, cur->n_voters, cur->outgoing[i]))
            nid[n++] = cur->outgoing[i];
    size_t inc_lo = n;
    for (size_t i = 0; i < cur->n_outgoing; i++)
        if (has_id(cur->voters, cur->n_voters, cur->outgoing[i]))
            nid[n++] = cur->outgoing[i];
    size_t n_out = n;
    for (size_t i = 0; i < cur->n_voters; i++)
        if (!has_id(cur->outgoing, cur->n_outgoing, cur->voters[i]))
            nid[n++] = cur->voters[i];
    size_t n_voters = n;
    for (size_t i = 0; i < cur->n_observers; i++)
        nid[n++] = cur->observers[i];
    size_t n_listed = n;
    if (prev != NULL) {
        const uint64_t *sets[3] = {prev->voters, prev->outgoing, prev->observers};
        const size_t ns[3] = {prev->n_voters, prev->n_outgoing, prev->n_observers};
        for (int s = 0; s < 3; s++)
            for (size_t i = 0; i < ns[s] && n < UT_CONSENSUS_MAX_NODES; i++)
                if (!has_id(nid, n, sets[s][i]))
                    nid[n++] = sets[s][i];
    }
    if (!has_id(nid, n, h->id))
        nid[n++] = h->id;

    /* The old arrays, to move each member's state to its new slot. */
    size_t old_n = h->n_members, old_self = h->self;
    ut__consensus_progress_t old_prs[UT__CONSENSUS_MAX_SLOTS];
    uint64_t old_match[UT__CONSENSUS_MAX_SLOTS];
    uint8_t old_votes[UT__CONSENSUS_MAX_SLOTS];
    uint8_t old_active[UT__CONSENSUS_MAX_SLOTS]; /* with the HEARD bits (rperf2) */
    size_t from[UT__CONSENSUS_MAX_SLOTS];
    memcpy(old_prs, h->prs, old_n * sizeof old_prs[0]);
    memcpy(old_match, h->match, old_n * sizeof old_match[0]);
    memcpy(old_votes, h->votes, old_n * sizeof old_votes[0]);
    memcpy(old_active, h->active, old_n * sizeof old_active[0]);
    bool used[UT__CONSENSUS_MAX_SLOTS] = {false};
    unsigned mi = h->cfg.max_inflight;
    for (size_t i = 0; i < n; i++) {
        size_t j = nid[i] == h->id ? old_self : (old_n > 0 ? ut__consensus_peer(h, nid[i]) : 0);
        from[i] = (old_n > 0 && j < old_n) ? j : SIZE_MAX;
        if (from[i] != SIZE_MAX)
            used[(size_t)(old_prs[j].inflight.ring - h->rings) / mi] = true;
    }
    size_t free_ring = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = from[i];
        h->ids[i] = nid[i];
        if (j != SIZE_MAX) {
            h->prs[i] = old_prs[j];
            h->match[i] = old_match[j];
            h->votes[i] = old_votes[j];
            h->active[i] = old_active[j];
            continue;
        }
        while (used[free_ring])
            free_ring++;
        used[free_ring] = true;
        memset(&h->prs[i], 0, sizeof h->prs[i]);
        ut__consensus_inflight_init(&h->prs[i].inflight, h->rings + free_ring * mi, mi,
                                    h->max_inflight_bytes);
        /* Probe from the last entry (the configuration entry itself when
         * the leader just appended it): a new node rejects it and the
         * leader backs up to what the node has (§5.3). */
        ut__consensus_progress_reset(&h->prs[i],
                                     h->log.last > h->log.off ? h->log.last - 1 : h->log.last);
        h->match[i] = 0;
        h->votes[i] = UT__CONSENSUS_VOTE_PENDING;
        h->active[i] = UT__CONSENSUS_ACTIVE; /* a new member gets one check-quorum round */
    }
    h->n_members = n;
    h->n_voters = n_voters;
    mb->inc_lo = inc_lo;
    mb->n_out = n_out;
    mb->joint = cur->n_outgoing > 0;
    mb->n_listed = n_listed;
    memset(h->peer_slot, 0, sizeof h->peer_slot);
    for (size_t i = 0; i < n; i++) {
        if (nid[i] == h->id) {
            h->self = i;
            continue;
        }
        size_t k = ut__consensus_peer_hash(nid[i]);
        while (h->peer_slot[k] != 0)
            k = (k + 1) & (2 * UT_CONSENSUS_MAX_NODES - 1);
        h->peer_slot[k] = (uint8_t)(i + 1);
    }
    /* A voter, or one that a change not yet committed removes (prev is its
     * committed configuration): as the leader keeps leading until its
     * removal commits (thesis §4.2.2), such a node still campaigns, never
     * counting itself. Else, when the leader that removed itself crashes
     * before the others hold its C_new, the one node with the entry would
     * refuse to campaign and to vote for the others' shorter logs: no
     * leader, ever (found by test_consensus_random). */
    bool voter = h->self < n_voters ||
                 (prev != NULL && h->self >= n_listed && ut__consensus_conf_is_voter(prev, h->id));
    if (old_n > 0 && voter != h->self_voter && h->role != UT_CONSENSUS_LEADER) {
        /* Thesis §4.2.3: a node that is no voter in its own configuration
         * never campaigns (it waits as an observer); one that became a voter
         * (promoted, added) starts its election timer. A leader keeps its
         * role until the change commits (thesis §4.2.2, settle). */
        UT__CONSENSUS_TRACE(h, UT_TRACE_INFO, voter ? "become-follower" : "become-observer",
                            voter ? "a voter in the new configuration"
                                  : "no voter in the new configuration",
                            h->term, h->leader);
        h->role = voter ? UT_CONSENSUS_FOLLOWER : UT_CONSENSUS_OBSERVER;
        h->pre_candidate = false;
        if (voter)
            ut__consensus_reset_election_timer(h);
        ut__consensus_pend(h, UT__CONSENSUS_PEND_CHECK);
    }
    h->self_voter = voter;
    if (h->role == UT_CONSENSUS_LEADER)
        ut__consensus_pend(h, UT__CONSENSUS_PEND_FLUSH);
}

void ut__consensus_members_init(ut_consensus_t *h, const ut_consensus_config_t *cfg)
{
    ut__consensus_members_t *mb = &h->mb;
    ut__consensus_conf_t *c = &mb->conf;
    memset(c, 0, sizeof *c);
    c->n_voters = (uint32_t)cfg->n_voters;
    c->n_observers = (uint32_t)cfg->n_observers;
    memcpy(c->voters, cfg->voters, cfg->n_voters * sizeof(uint64_t));
    if (cfg->n_observers > 0)
        memcpy(c->observers, cfg->observers, cfg->n_observers * sizeof(uint64_t));
    mb->committed = mb->base = *c;
    mb->rings_cap = cfg->n_voters + cfg->n_observers; /* what ut_consensus_new() allocated */
    h->n_members = 0;
    rebuild(h, c, NULL);
    h->self_voter = h->self < h->n_voters;
}

int ut__consensus_members_reserve(ut_consensus_t *h)
{
    ut__consensus_members_t *mb = &h->mb;
    if (mb->rings_cap >= UT__CONSENSUS_MAX_SLOTS)
        return UT_OK;
    size_t mi = h->cfg.max_inflight;
    ut__consensus_inflight_slot_t *r =
        ut__calloc(UT__CONSENSUS_MAX_SLOTS * mi, sizeof(ut__consensus_inflight_slot_t));
    if (r == NULL)
        return UT_ENOMEM;
    memcpy(r, h->rings, mb->rings_cap * mi * sizeof *r);
    for (size_t i = 0; i < h->n_members; i++)
        h->prs[i].inflight.ring = r + (h->prs[i].inflight.ring - h->rings);
    ut__free(h->rings);
    h->rings = r;
    mb->rings_cap = UT__CONSENSUS_MAX_SLOTS;
    return UT_OK;
}

/* ---------------------------------------------------- following the log */

/* Index of the latest configuration entry in (lower, upto] still in
 * memory, or 0. Configuration entries are rare: this walks back over the
 * entries, and runs only when the log changed at or after one. */
static uint64_t find_config(const ut_consensus_t *h, uint64_t upto, uint64_t lower)
{
    if (lower < h->log.off)
        lower = h->log.off;
    for (uint64_t i = upto; i > lower; i--)
        if (ut__consensus_log_at(&h->log, i)->type == UT_ENTRY_CONFIG)
            return i;
    return 0;
}

/* The configuration of entry index (validated when it entered the log). */
static void load_config(const ut_consensus_t *h, uint64_t index, ut__consensus_conf_t *out)
{
    const ut_entry_t *e = ut__consensus_log_at(&h->log, index);
    int rc = ut__consensus_conf_decode(e->data, e->len, out);
    (void)rc; /* UT_OK: every configuration entry was checked on its way in */
}

static void update_pending(ut_consensus_t *h)
{
    ut__consensus_members_t *mb = &h->mb;
    mb->pending = mb->committed_index != mb->conf_index || mb->last_entry != mb->conf_index ||
                  (h->role == UT_CONSENSUS_LEADER && mb->joint && mb->conf.auto_leave);
}

void ut__consensus_members_log_changed(ut_consensus_t *h, uint64_t truncated)
{
    ut__consensus_members_t *mb = &h->mb;
    uint64_t idx = find_config(h, h->log.last, mb->committed_index);
    uint64_t latest = idx != 0 ? idx : mb->committed_index;
    /* Thesis §4.1: a server always uses the latest configuration in its
     * log, committed or not, so a truncation that reached the entry in
     * effect (or the latest one, not yet in effect) undoes it. Whatever
     * stands at its index now is another entry (a new leader's, of another
     * term, maybe another configuration): reload, even when the index of
     * the latest configuration entry is the same as before (found by
     * utsim --reads lease --changes 500 --compact auto --seed 160: a
     * follower kept its truncated entry 152's voters after the leader's
     * entry 152 replaced it, then led by a wrong quorum). */
    bool undone = truncated != 0 && (truncated <= mb->conf_index || truncated <= mb->last_entry);
    mb->last_entry = latest;
#ifndef UT__FAULT_CONFIG_ON_COMMIT
    if (latest != mb->conf_index || undone) {
        if (idx != 0)
            load_config(h, idx, &mb->conf);
        else
            mb->conf = mb->committed; /* truncated: the configuration before it */
        mb->conf_index = latest;
        rebuild(h, &mb->conf, &mb->committed);
    }
#else
    /* Test-only broken variant (mutation suite): a configuration takes
     * effect when it commits, not when it is appended (settle applies it). */
    (void)undone;
    if (mb->conf_index > h->log.last) {
        mb->conf = mb->committed;
        mb->conf_index = mb->committed_index;
        rebuild(h, &mb->conf, NULL);
    }
#endif
    update_pending(h);
}

void ut__consensus_members_restored(ut_consensus_t *h)
{
    ut__consensus_members_t *mb = &h->mb;
    /* The committed configuration: the latest entry at or below commit. */
    uint64_t ci = find_config(h, h->log.commit, 0);
    if (ci != 0) {
        load_config(h, ci, &mb->committed);
        mb->committed_index = ci;
    }
    mb->conf = mb->committed;
    mb->conf_index = mb->last_entry = mb->committed_index;
    uint64_t idx = find_config(h, h->log.last, mb->committed_index);
    if (idx != 0) {
        mb->last_entry = idx;
#ifndef UT__FAULT_CONFIG_ON_COMMIT
        load_config(h, idx, &mb->conf);
        mb->conf_index = idx;
#endif
    }
    rebuild(h, &mb->conf, mb->conf_index != mb->committed_index ? &mb->committed : NULL);
    update_pending(h);
}

void ut__consensus_members_become_leader(ut_consensus_t *h)
{
    h->mb.term_start = h->log.last;
    update_pending(h);
}

/* Append configuration c as the leader's next entry (room reserved). */
static uint64_t append_config(ut_consensus_t *h, const ut__consensus_conf_t *c, size_t len)
{
    unsigned char buf[UT__CONSENSUS_CONF_MAX_BYTES];
    ut__consensus_conf_encode(c, buf);
    ut__consensus_log_append(&h->log, h->term, UT_ENTRY_CONFIG, buf, (uint32_t)len);
    ut__consensus_members_t *mb = &h->mb;
    uint64_t index = h->log.last;
    mb->last_entry = index;
#ifndef UT__FAULT_CONFIG_ON_COMMIT
    /* Thesis §4.1: in effect as soon as it is in the log. */
    ut__consensus_conf_t prev = mb->conf;
    mb->conf = *c;
    mb->conf_index = index;
    rebuild(h, &mb->conf, &prev);
#endif
    update_pending(h);
    ut__consensus_pend(h, UT__CONSENSUS_PEND_ENTS | UT__CONSENSUS_PEND_FLUSH |
                              UT__CONSENSUS_PEND_CHECK);
    return index;
}

/* C_new of a joint configuration: its incoming voters alone. */
static void leave_conf(const ut__consensus_conf_t *joint, ut__consensus_conf_t *out)
{
    *out = *joint;
    out->n_outgoing = 0;
    out->auto_leave = false;
}

void ut__consensus_members_settle(ut_consensus_t *h)
{
    ut__consensus_members_t *mb = &h->mb;
#ifdef UT__FAULT_CONFIG_ON_COMMIT
    if (mb->last_entry != mb->conf_index && h->log.commit > mb->conf_index) {
        uint64_t idx = find_config(h, h->log.commit, mb->conf_index);
        if (idx != 0) {
            ut__consensus_conf_t prev = mb->conf;
            load_config(h, idx, &mb->conf);
            mb->conf_index = idx;
            rebuild(h, &mb->conf, &prev);
        }
    }
#endif
    bool out = !ut__consensus_conf_is_voter(&mb->conf, h->id);
    bool wait = false;
    if (h->role == UT_CONSENSUS_LEADER && !out)
        /* A leader keeps the members the change removed until each holds
         * the entry that removes it, so that the heartbeat below tells it
         * its removal committed (it then never campaigns); one cut off is
         * kept until the next change. */
        for (size_t i = mb->n_listed; i < h->n_members && !wait; i++)
            wait = i != h->self && h->match[i] < mb->conf_index;
    if (mb->conf_index <= h->log.commit && mb->committed_index != mb->conf_index && !wait) {
        if (h->role == UT_CONSENSUS_LEADER &&
            ut__consensus_msgbuf_reserve(h->live, h->n_members, 0) == UT_OK) {
            /* Tell the commit to the members the change removes (they stop
             * campaigning once they know it) and, when this leader steps
             * down, to everyone. Best effort: without room, they learn it
             * from the next leader, or campaign in vain (thesis §4.2.3). */
            for (size_t i = out ? 0 : mb->n_listed; i < h->n_members; i++)
                if (i != h->self)
                    ut__consensus_send_heartbeat(h, i);
        }
        mb->committed = mb->conf;
        mb->committed_index = mb->conf_index;
        rebuild(h, &mb->conf, NULL); /* the removed members leave */
        if (h->role == UT_CONSENSUS_LEADER && out) {
            /* Thesis §4.2.2: a leader that the committed configuration
             * removed steps down; it is no voter, so it never campaigns. */
            UT__CONSENSUS_TRACE(h, UT_TRACE_INFO, "step-down", "removed from the configuration",
                                h->term, mb->conf_index);
            (void)ut__consensus_become_follower(h, h->term, 0, "removed from the configuration");
        }
    }
    if (h->role == UT_CONSENSUS_LEADER && mb->joint && mb->conf.auto_leave && !wait &&
        mb->last_entry == mb->conf_index && mb->conf_index <= h->log.commit &&
        h->log.commit >= mb->term_start) {
        /* Thesis §4.3: once C_old,new is committed the leader appends C_new.
         * Without room now, the next ready or tick tries again. */
        ut__consensus_conf_t next;
        leave_conf(&mb->conf, &next);
        size_t len = ut__consensus_conf_len(&next);
        if (ut__consensus_log_reserve(&h->log, 1, len) == UT_OK) {
            UT__CONSENSUS_TRACE(h, UT_TRACE_INFO, "leave-joint", "auto_leave", h->term,
                                h->log.last + 1);
            (void)append_config(h, &next, len);
        }
    }
    update_pending(h);
}

/* m as a configuration, validated: UT_OK or UT_EINVAL. */
static int conf_from(const ut_consensus_membership_t *m, ut__consensus_conf_t *c)
{
    if (m == NULL || (m->n_voters > 0 && m->voters == NULL) ||
        (m->n_voters_outgoing > 0 && m->voters_outgoing == NULL) ||
        (m->n_observers > 0 && m->observers == NULL) || m->n_voters > UT_CONSENSUS_MAX_NODES ||
        m->n_voters_outgoing > UT_CONSENSUS_MAX_NODES || m->n_observers > UT_CONSENSUS_MAX_NODES)
        return UT_EINVAL;
    memset(c, 0, sizeof *c);
    c->n_voters = (uint32_t)m->n_voters;
    c->n_outgoing = (uint32_t)m->n_voters_outgoing;
    c->n_observers = (uint32_t)m->n_observers;
    c->auto_leave = m->auto_leave && m->n_voters_outgoing > 0;
    if (m->n_voters > 0)
        memcpy(c->voters, m->voters, m->n_voters * sizeof(uint64_t));
    if (m->n_voters_outgoing > 0)
        memcpy(c->outgoing, m->voters_outgoing, m->n_voters_outgoing * sizeof(uint64_t));
    if (m->n_observers > 0)
        memcpy(c->observers, m->observers, m->n_observers * sizeof(uint64_t));
    return conf_check(c);
}

int ut__consensus_membership_check(ut_consensus_t *h, const ut_consensus_membership_t *m)
{
    ut__consensus_conf_t c;
    int rc = conf_from(m, &c);
    return rc != UT_OK ? rc : ut__consensus_members_reserve(h);
}

int ut__consensus_set_membership(ut_consensus_t *h, const ut_consensus_membership_t *m,
                                 uint64_t index)
{
    ut__consensus_conf_t c;
    int rc = conf_from(m, &c);
    if (rc == UT_OK)
        rc = ut__consensus_members_reserve(h);
    if (rc != UT_OK)
        return rc;
    ut__consensus_members_t *mb = &h->mb;
    mb->conf = mb->committed = mb->base = c;
    mb->conf_index = mb->committed_index = mb->last_entry = index;
    rebuild(h, &mb->conf, NULL);
    update_pending(h);
    return UT_OK;
}

void ut__consensus_members_at(const ut_consensus_t *h, uint64_t index, ut__consensus_conf_t *out)
{
#ifndef UT__FAULT_SNAPSHOT_LOSES_CONFIG
    uint64_t idx = find_config(h, index, 0);
    if (idx != 0) {
        load_config(h, idx, out);
        return;
    }
#else
    /* Test-only broken variant (mutation suite): a snapshot records the
     * configuration at the previous one (at first, the one the node was
     * created with), losing every change since. */
    (void)index;
#endif
    *out = h->mb.base;
}

void ut__consensus_members_compact(ut_consensus_t *h, uint64_t index)
{
    ut__consensus_conf_t c;
    ut__consensus_members_at(h, index, &c);
    h->mb.base = c;
}

/* ------------------------------------------------------------ public API */

static const char *change_name(ut_consensus_change_type_t t)
{
    switch (t) {
    case UT_CONSENSUS_ADD_VOTER:
        return "add voter";
    case UT_CONSENSUS_REMOVE_VOTER:
        return "remove voter";
    case UT_CONSENSUS_ADD_OBSERVER:
        return "add observer";
    case UT_CONSENSUS_REMOVE_OBSERVER:
        return "remove observer";
    case UT_CONSENSUS_PROMOTE:
        return "promote";
    }
    return "unknown change";
}

static bool remove_id(uint64_t *a, uint32_t *n, uint64_t id)
{
    for (uint32_t i = 0; i < *n; i++)
        if (a[i] == id) {
            memmove(a + i, a + i + 1, (size_t)(*n - i - 1) * sizeof *a);
            (*n)--;
            return true;
        }
    return false;
}

/* The checks every change makes first: the leader, no change pending, an
 * entry of its own term committed (thesis §4.1). ctx names the call. */
static int change_allowed(ut_consensus_t *h, const char *ctx)
{
    ut__consensus_members_t *mb = &h->mb;
    if (h->role != UT_CONSENSUS_LEADER)
        return UT__CONSENSUS_REFUSE(h, UT_ENOTLEADER, "change-refused", "not the leader", h->leader,
                                    0, "%s: not the leader (leader is %llu)", ctx,
                                    (unsigned long long)h->leader);
    /* >>> rxfer: no change while leadership is handed over (thesis §3.10) */
    if (UT__UNLIKELY(h->xfer_target != 0))
        return ut__consensus_transfer_busy(h, "change-refused", ctx);
    /* <<< rxfer */
    if (mb->pending)
        ut__consensus_members_settle(h);
    if (mb->last_entry > h->log.commit)
        return UT__CONSENSUS_REFUSE(
            h, UT_EBUSY, "change-refused", "a change is pending", mb->last_entry, h->log.commit,
            "%s: the configuration entry at index %llu is not committed "
            "yet (commit %llu): one change at a time",
            ctx, (unsigned long long)mb->last_entry, (unsigned long long)h->log.commit);
    if (h->log.commit < mb->term_start)
        return UT__CONSENSUS_REFUSE(
            h, UT_EBUSY, "change-refused", "no entry of this term committed yet", mb->term_start,
            h->log.commit,
            "%s: this leader has not committed an entry of its term yet (index %llu, commit "
            "%llu; thesis §4.1)",
            ctx, (unsigned long long)mb->term_start, (unsigned long long)h->log.commit);
    return UT_OK;
}

/* Reserve, append, report: the common tail of both calls. */
static int append_change(ut_consensus_t *h, const ut__consensus_conf_t *c, uint64_t *index,
                         const char *ctx)
{
    size_t len = ut__consensus_conf_len(c);
    int rc = ut__consensus_log_reserve(&h->log, 1, len);
    if (rc == UT_OK)
        rc = ut__consensus_members_reserve(h);
    if (rc != UT_OK)
        return ut__consensus_oom(h, rc, ctx);
    h->took_input = true;
    uint64_t i = append_config(h, c, len);
    if (index != NULL)
        *index = i;
    return UT_OK;
}

int ut_consensus_propose_change(ut_consensus_t *h, const ut_consensus_change_t *changes, size_t n,
                                unsigned flags, uint64_t *index)
{
    static const char ctx[] = "propose_change";
    if (!ut__consensus_valid(h))
        return UT_EINVAL;
    if (changes == NULL || n == 0)
        return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "change-refused", "no changes", n, 0,
                                    "%s: no changes (changes %s, n %zu)", ctx,
                                    changes == NULL ? "NULL" : "set", n);
    if (n > UT_CONSENSUS_MAX_NODES)
        return UT__CONSENSUS_REFUSE(h, UT_ERANGE, "change-refused", "too many changes", n, 0,
                                    "%s: %zu changes, at most %u", ctx, n,
                                    (unsigned)UT_CONSENSUS_MAX_NODES);
    if ((flags & ~(unsigned)(UT_CONSENSUS_CHANGE_JOINT | UT_CONSENSUS_CHANGE_AUTO_LEAVE)) != 0)
        return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "change-refused", "unknown flags", flags, 0,
                                    "%s: unknown flags 0x%x", ctx, flags);
    int rc = change_allowed(h, ctx);
    if (rc != UT_OK)
        return rc;
    const ut__consensus_conf_t *old = &h->mb.conf;
    if (h->mb.joint)
        return UT__CONSENSUS_REFUSE(h, UT_ESTATE, "change-refused", "joint configuration",
                                    h->mb.conf_index, 0,
                                    "%s: the configuration is joint: leave it first "
                                    "(ut_consensus_leave_joint)",
                                    ctx);
    ut__consensus_conf_t c = *old;
    size_t voter_changes = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t id = changes[i].id;
        ut_consensus_change_type_t t = changes[i].type;
        if (id == 0)
            return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "change-refused", "id 0", i, 0,
                                        "%s: change %zu has id 0", ctx, i);
        for (size_t j = 0; j < i; j++)
            if (changes[j].id == id)
                return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "change-refused", "id twice", id, i,
                                            "%s: node %llu appears in changes %zu and %zu", ctx,
                                            (unsigned long long)id, j, i);
        bool voter = has_id(old->voters, old->n_voters, id);
        bool observer = has_id(old->observers, old->n_observers, id);
        switch (t) {
        case UT_CONSENSUS_ADD_VOTER:
        case UT_CONSENSUS_ADD_OBSERVER:
            if (voter || observer)
                return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "change-refused", "already a member", id,
                                            i, "%s: %s %llu: already a %s", ctx, change_name(t),
                                            (unsigned long long)id, voter ? "voter" : "observer");
            if (conf_members(&c) >= UT_CONSENSUS_MAX_NODES)
                return UT__CONSENSUS_REFUSE(h, UT_ERANGE, "change-refused", "too many members", id,
                                            i, "%s: %s %llu: more than %u members", ctx,
                                            change_name(t), (unsigned long long)id,
                                            (unsigned)UT_CONSENSUS_MAX_NODES);
            if (t == UT_CONSENSUS_ADD_VOTER) {
                c.voters[c.n_voters++] = id;
                voter_changes++;
            } else {
                c.observers[c.n_observers++] = id;
            }
            break;
        case UT_CONSENSUS_REMOVE_VOTER:
            if (!voter)
                return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "change-refused", "not a voter", id, i,
                                            "%s: remove voter %llu: not a voter", ctx,
                                            (unsigned long long)id);
            (void)remove_id(c.voters, &c.n_voters, id);
            voter_changes++;
            break;
        case UT_CONSENSUS_REMOVE_OBSERVER:
            if (!observer)
                return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "change-refused", "not an observer", id,
                                            i, "%s: remove observer %llu: not an observer", ctx,
                                            (unsigned long long)id);
            (void)remove_id(c.observers, &c.n_observers, id);
            break;
        case UT_CONSENSUS_PROMOTE: {
            if (!observer)
                return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "change-refused", "not an observer", id,
                                            i, "%s: promote %llu: not an observer", ctx,
                                            (unsigned long long)id);
            /* Thesis §4.2.1: a new voter must have caught up first, or it
             * holds back every commit that needs it. */
            size_t slot = ut__consensus_peer(h, id);
            uint64_t match = slot < h->n_members ? h->match[slot] : 0;
            uint64_t lag = h->log.last - match;
            if (lag > h->cfg.promote_max_lag)
                return UT__CONSENSUS_REFUSE(
                    h, UT_EBUSY, "change-refused", "observer not caught up", id, lag,
                    "%s: promote %llu: %llu entries behind the leader's last index %llu "
                    "(promote_max_lag %llu)",
                    ctx, (unsigned long long)id, (unsigned long long)lag,
                    (unsigned long long)h->log.last, (unsigned long long)h->cfg.promote_max_lag);
            (void)remove_id(c.observers, &c.n_observers, id);
            c.voters[c.n_voters++] = id;
            voter_changes++;
            break;
        }
        default:
            return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "change-refused", "unknown change type",
                                        (uint64_t)t, i, "%s: change %zu has unknown type %d", ctx,
                                        i, (int)t);
        }
    }
    if (c.n_voters == 0)
        return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "change-refused", "no voter left", n, 0,
                                    "%s: the change would remove the last voter", ctx);
    if (voter_changes > 1 || (flags & UT_CONSENSUS_CHANGE_JOINT) != 0) {
        /* Thesis §4.3: C_old,new, the old voters as the outgoing half. */
        memcpy(c.outgoing, old->voters, old->n_voters * sizeof(uint64_t));
        c.n_outgoing = old->n_voters;
        c.auto_leave = (flags & UT_CONSENSUS_CHANGE_AUTO_LEAVE) != 0;
    }
    if (conf_members(&c) > UT_CONSENSUS_MAX_NODES)
        return UT__CONSENSUS_REFUSE(h, UT_ERANGE, "change-refused", "too many members", n, 0,
                                    "%s: more than %u members", ctx,
                                    (unsigned)UT_CONSENSUS_MAX_NODES);
    return append_change(h, &c, index, ctx);
}

int ut_consensus_leave_joint(ut_consensus_t *h, uint64_t *index)
{
    static const char ctx[] = "leave_joint";
    if (!ut__consensus_valid(h))
        return UT_EINVAL;
    if (h->role == UT_CONSENSUS_LEADER && h->mb.pending)
        ut__consensus_members_settle(h);
    if (h->role == UT_CONSENSUS_LEADER && !h->mb.joint)
        return UT__CONSENSUS_REFUSE(h, UT_ESTATE, "change-refused", "not joint", 0, 0,
                                    "%s: the configuration is not joint", ctx);
    int rc = change_allowed(h, ctx);
    if (rc != UT_OK)
        return rc;
    ut__consensus_conf_t c;
    leave_conf(&h->mb.conf, &c);
    return append_change(h, &c, index, ctx);
}

int ut_consensus_membership(const ut_consensus_t *h, ut_consensus_membership_t *out,
                            uint64_t *index)
{
    if (!ut__consensus_valid(h) || out == NULL)
        return UT_EINVAL;
    const ut__consensus_conf_t *c = &h->mb.conf;
    out->voters = c->voters;
    out->n_voters = c->n_voters;
    out->voters_outgoing = c->n_outgoing > 0 ? c->outgoing : NULL;
    out->n_voters_outgoing = c->n_outgoing;
    out->observers = c->n_observers > 0 ? c->observers : NULL;
    out->n_observers = c->n_observers;
    out->auto_leave = c->auto_leave;
    if (index != NULL)
        *index = h->mb.conf_index;
    return UT_OK;
}
