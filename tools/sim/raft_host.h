/* SPDX-License-Identifier: MIT */
/* A ut_consensus_t host on the world's disk, shared by the scenarios that
 * run Raft (scenarios/raft.c, and scenarios/twopc.c's decision log):
 * header-only, so each scenario compiles its own copy.
 *
 * The layout: the hard state is the disk's state record; the log is one
 * record per entry, its meta words the entry's term, index and type and
 * the hash of the log up to and including it (raft_check_hash, chained),
 * its data the entry's. A ready's work (hard state, truncation, appends)
 * is followed by one sync, so crashes, power failures and the lying disk
 * hit the host as the world's persistence contract says (world.h).
 *
 * The persist contract of ut_consensus_t is checked on the way
 * (`persist-contract`, `monotonic-term`, `monotonic-commit`), and Log
 * Matching (Raft §5.3) through the shared checker (tests/raft_check.h). */
#ifndef UTSIM_RAFT_HOST_H
#define UTSIM_RAFT_HOST_H

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../../tests/raft_check.h"
#include "scenario.h"

/* A log entry's meta words on the world's disk. */
enum {
    RAFT_HOST_TERM = 0,
    RAFT_HOST_INDEX,
    RAFT_HOST_TYPE,
    RAFT_HOST_PREFIX /* hash of the log up to and including this entry */
};

/* The checker's verdict: a violation is the run's, out of memory stops it.
 * Returns whether the check passed. */
static inline bool raft_host_checked(sim_world_t *w, const raft_check_t *ck, int rc)
{
    if (rc == RAFT_CHECK_OK)
        return true;
    if (rc == RAFT_CHECK_VIOLATION)
        sim_violation(w, ck->invariant, "%s", ck->detail);
    else
        sim_fail(w);
    return false;
}

/* Node i's stored hard state (all zero on an empty disk). */
static inline ut_consensus_hard_state_t raft_host_hard_state(sim_world_t *w, unsigned i)
{
    ut_consensus_hard_state_t hs = {0, 0, 0};
    size_t len = 0;
    const void *p = sim_disk_state(w, i, &len);
    if (p && len >= sizeof hs) /* rsnap: a snapshot may follow it */
        memcpy(&hs, p, sizeof hs);
    return hs;
}

/* >>> rsnap: snapshots on the disk (Raft paper §7). The state record is the
 * hard state, followed when the node has one by its latest snapshot: u64
 * index, u64 term, u64 prefix (the Log Matching hash of the log up to
 * index), then the application's data. The log stays positional (record k
 * is entry k + 1): records at or below a snapshot's index are never read
 * again, and placeholders fill the gap when a follower installs a snapshot
 * beyond its log (the one at the snapshot's index carries its prefix). The
 * snapshot and the log change in the same ready, before its one sync. */
typedef struct raft_host_snap {
    uint64_t index, term, prefix;
    const void *data; /* into the disk's state record */
    size_t len;
} raft_host_snap_t;

#define RAFT_HOST_SNAP_HDR 24u

/* Node i's stored snapshot: false when it has none. */
static inline bool raft_host_snapshot(sim_world_t *w, unsigned i, raft_host_snap_t *out)
{
    size_t len = 0;
    const unsigned char *p = sim_disk_state(w, i, &len);
    size_t hs = sizeof(ut_consensus_hard_state_t);
    if (!p || len < hs + RAFT_HOST_SNAP_HDR)
        return false;
    memcpy(&out->index, p + hs, 8);
    memcpy(&out->term, p + hs + 8, 8);
    memcpy(&out->prefix, p + hs + 16, 8);
    out->len = len - hs - RAFT_HOST_SNAP_HDR;
    out->data = p + hs + RAFT_HOST_SNAP_HDR;
    return true;
}

/* Write node i's state record: hs, then the snapshot (NULL: the one stored
 * stays). 0, or -1 (out of memory). */
static inline int raft_host_write_state(sim_world_t *w, unsigned i,
                                        const ut_consensus_hard_state_t *hs,
                                        const raft_host_snap_t *snap)
{
    raft_host_snap_t old;
    if (snap == NULL && raft_host_snapshot(w, i, &old))
        snap = &old;
    if (snap == NULL)
        return sim_disk_write_state(w, i, hs, sizeof *hs);
    size_t n = sizeof *hs + RAFT_HOST_SNAP_HDR + snap->len;
    unsigned char *buf = malloc(n);
    if (!buf)
        return -1;
    memcpy(buf, hs, sizeof *hs);
    memcpy(buf + sizeof *hs, &snap->index, 8);
    memcpy(buf + sizeof *hs + 8, &snap->term, 8);
    memcpy(buf + sizeof *hs + 16, &snap->prefix, 8);
    if (snap->len)
        memcpy(buf + sizeof *hs + RAFT_HOST_SNAP_HDR, snap->data, snap->len);
    int rc = sim_disk_write_state(w, i, buf, n);
    free(buf);
    return rc;
}

/* The Log Matching hash the checker knows for (index, term), or 0. */
static inline uint64_t raft_host_known_prefix(const raft_check_t *ck, uint64_t index, uint64_t term)
{
    if (ck->cap_tmap == 0)
        return 0;
    size_t j = raft_check_slot_of(index, term, ck->cap_tmap);
    while (ck->tmap[j].index) {
        if (ck->tmap[j].index == index && ck->tmap[j].term == term)
            return ck->tmap[j].prefix;
        j = (j + 1) & (ck->cap_tmap - 1);
    }
    return 0;
}

/* Node i keeps a snapshot up to index (its compaction, or one received):
 * the state record takes it; the log keeps its records when the one at
 * index is the snapshot's last entry, else it is cut before index and
 * filled up to it. Not synced (the caller's sync covers it). 0 or -1. */
static inline int raft_host_save_snapshot(sim_world_t *w, const raft_check_t *ck, unsigned i,
                                          uint64_t index, uint64_t term, const void *data,
                                          size_t len)
{
    size_t n_log = sim_disk_len(w, i);
    const sim_disk_rec_t *at = index <= n_log ? sim_disk_rec(w, i, (size_t)(index - 1)) : NULL;
    raft_host_snap_t sn = {index, term, 0, data, len};
    if (at && at->meta[RAFT_HOST_TERM] == term && at->meta[RAFT_HOST_INDEX] == index) {
        sn.prefix = at->meta[RAFT_HOST_PREFIX];
    } else {
        sn.prefix = raft_host_known_prefix(ck, index, term);
        if (n_log >= index)
            sim_disk_truncate(w, i, (size_t)(index - 1));
        for (uint64_t k = sim_disk_len(w, i) + 1; k <= index; k++) {
            uint64_t meta[4] = {0, k, UT_ENTRY_NOOP, k == index ? sn.prefix : 0};
            if (sim_disk_append(w, i, meta, NULL, 0) != 0)
                return -1;
        }
    }
    ut_consensus_hard_state_t hs = raft_host_hard_state(w, i);
    return raft_host_write_state(w, i, &hs, &sn);
}
/* <<< rsnap */

/* Node i's (Raft id `id`) ready's persistence work on its disk, then one
 * sync. max_term and max_commit (NULL: not kept) take the highest term and
 * commit index ever written, for the caller's checks across restarts. */
static inline void raft_host_persist(sim_world_t *w, raft_check_t *ck, unsigned i, uint64_t id,
                                     const ut_consensus_ready_t *rd, uint64_t *max_term,
                                     uint64_t *max_commit)
{
    bool wrote = false;
    /* >>> rsnap: a received snapshot first (consensus.h: install, then
     * persist the rest) */
    if (rd->snapshot != NULL) {
        if (raft_host_save_snapshot(w, ck, i, rd->snapshot->index, rd->snapshot->term,
                                    rd->snapshot->data, rd->snapshot->len) != 0)
            return;
        wrote = true;
    }
    /* <<< rsnap */
    if (rd->hard_state_changed) {
        ut_consensus_hard_state_t hs = raft_host_hard_state(w, i);
        /* currentTerm is persistent and only grows (Figure 2); so does
         * what the node has learnt is committed. */
        if (rd->hard_state.term < hs.term)
            sim_violation(w, "monotonic-term",
                          "node %" PRIu64 " persisted term %" PRIu64 " below the stored %" PRIu64,
                          id, rd->hard_state.term, hs.term);
        if (rd->hard_state.commit < hs.commit)
            sim_violation(w, "monotonic-commit",
                          "node %" PRIu64 " persisted commit %" PRIu64 " below the stored %" PRIu64,
                          id, rd->hard_state.commit, hs.commit);
        hs = rd->hard_state;
        if (raft_host_write_state(w, i, &hs, NULL) != 0) /* rsnap: keeps the snapshot */
            return;
        if (max_term && hs.term > *max_term)
            *max_term = hs.term;
        if (max_commit && hs.commit > *max_commit)
            *max_commit = hs.commit;
        wrote = true;
    }
    size_t n_log = sim_disk_len(w, i);
    if (rd->truncate_from) {
        if (rd->truncate_from == 0 || rd->truncate_from - 1 > n_log)
            sim_violation(w, "persist-contract",
                          "node %" PRIu64 " truncate_from %" PRIu64 " beyond its stored log (%zu)",
                          id, rd->truncate_from, n_log);
        else
            sim_disk_truncate(w, i, (size_t)(rd->truncate_from - 1));
        wrote = true;
    }
    for (size_t k = 0; k < rd->n_entries; k++) {
        const ut_entry_t *e = &rd->entries[k];
        n_log = sim_disk_len(w, i);
        if (e->index != n_log + 1) {
            if (e->index <= n_log) {
                /* Overwrite without truncate_from: treat as an implicit
                 * truncation but flag the contract breach. */
                sim_violation(w, "persist-contract",
                              "node %" PRIu64 " asked to append entry %" PRIu64
                              " over a stored one without truncate_from",
                              id, e->index);
                sim_disk_truncate(w, i, (size_t)(e->index - 1));
                n_log = sim_disk_len(w, i);
            } else {
                sim_violation(w, "persist-contract",
                              "node %" PRIu64 " asked to append entry %" PRIu64
                              " after a log of %zu",
                              id, e->index, n_log);
                return;
            }
        }
        uint64_t meta[4] = {e->term, e->index, e->type, 0};
        meta[RAFT_HOST_PREFIX] =
            raft_check_hash(n_log ? sim_disk_rec(w, i, n_log - 1)->meta[RAFT_HOST_PREFIX] : 0,
                            e->term, e->index, e->type, e->data, e->len);
        if (sim_disk_append(w, i, meta, e->data, e->len) != 0)
            return;
        /* Log Matching (§5.3): an (index, term) pair names one log prefix. */
        (void)raft_host_checked(
            w, ck, raft_check_persisted(ck, id, e->index, e->term, meta[RAFT_HOST_PREFIX]));
        wrote = true;
    }
    if (wrote)
        sim_disk_sync(w, i);
}

/* Restore h (new) from node i's disk: *hs is the hard state it restored
 * (the stored one, its commit index cut back to the log when the lying
 * disk lost the log's tail: Raft would refuse that state outright), *rc
 * what ut_consensus_restore returned. Returns -1 if the host failed
 * (memory, the disk's write), else 0. */
static inline int raft_host_restore_snap(sim_world_t *w, unsigned i, ut_consensus_t *h,
                                         ut_consensus_hard_state_t *hs, int *rc,
                                         const ut_consensus_membership_t *mb)
{
    *hs = raft_host_hard_state(w, i);
    size_t n_log = sim_disk_len(w, i);
    if (sim_disk(w, i)->lost && hs->commit > n_log) {
        hs->commit = n_log;
        if (raft_host_write_state(w, i, hs, NULL) != 0) /* rsnap: keeps the snapshot */
            return -1;
    }
    ut_entry_t *ents = NULL;
    if (n_log) {
        ents = malloc(n_log * sizeof *ents);
        if (!ents)
            return -1;
        for (size_t k = 0; k < n_log; k++) {
            const sim_disk_rec_t *d = sim_disk_rec(w, i, k);
            ents[k] = (ut_entry_t){.term = d->meta[RAFT_HOST_TERM],
                                   .index = d->meta[RAFT_HOST_INDEX],
                                   .type = (uint32_t)d->meta[RAFT_HOST_TYPE],
                                   .len = d->len,
                                   .data = d->data};
        }
    }
    /* >>> rsnap: a disk with a snapshot restores from it and the records
     * after it, with mb as its membership (NULL: a host that never
     * snapshots) */
    raft_host_snap_t sn;
    if (mb != NULL && raft_host_snapshot(w, i, &sn) && sn.index <= n_log) {
        ut_consensus_snapshot_t snap = {
            .index = sn.index, .term = sn.term, .membership = *mb, .data = sn.data, .len = sn.len};
        *rc = ut_consensus_restore_snapshot(h, hs, &snap, ents ? ents + sn.index : NULL,
                                            n_log - (size_t)sn.index);
        free(ents);
        return 0;
    }
    /* <<< rsnap */
    *rc = ut_consensus_restore(h, hs, ents, n_log);
    free(ents);
    return 0;
}

/* >>> rsnap */
static inline int raft_host_restore(sim_world_t *w, unsigned i, ut_consensus_t *h,
                                    ut_consensus_hard_state_t *hs, int *rc)
{
    return raft_host_restore_snap(w, i, h, hs, rc, NULL);
}
/* <<< rsnap */

#endif
