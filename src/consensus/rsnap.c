/* SPDX-License-Identifier: MIT */
/* Raft snapshots and log compaction (Raft paper §7; Ongaro's thesis §5):
 * ut_consensus_compact() (the application's state replaces a log prefix),
 * InstallSnapshot in chunks (leader: send, follower: receive and install,
 * handed out in ready.snapshot), and ut_consensus_restore_snapshot().
 *
 * The snapshot image, what travels, is the configuration followed by the
 * application's data (docs/wire-format.md, "Snapshots"), little-endian:
 *   u32 n_voters, u32 n_voters_outgoing, u32 n_observers, u32 flags
 *   (bit 0: auto_leave; the others 0), then the ids (u64 each: voters,
 *   outgoing voters, observers), then the data.
 * The node keeps its latest snapshot in one allocation (a payload chunk):
 * the public ut_consensus_snapshot_t, room for the member ids it points at,
 * and the image. A replaced snapshot is retired into the log's retired
 * chunks: ready.snapshot and chunks queued or handed out point into it, and
 * the log frees it once none can be reached (consensus/log.h). */
#include "consensus/raft.h"

#define IMG_HDR 16u
/* The public struct and the largest id arrays, before the image. */
#define SNAP_FIXED                                                                                 \
    (sizeof(ut_consensus_snapshot_t) + 3u * UT_CONSENSUS_MAX_NODES * sizeof(uint64_t))
_Static_assert(sizeof(ut_consensus_snapshot_t) % 8 == 0, "the ids after the struct are aligned");

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static ut_consensus_snapshot_t *chunk_pub(ut__bytes_chunk_t *c)
{
    return (ut_consensus_snapshot_t *)(void *)(c + 1);
}

static unsigned char *chunk_image(ut__bytes_chunk_t *c)
{
    return (unsigned char *)(c + 1) + SNAP_FIXED;
}

/* A chunk for an image of total bytes, or NULL (out of memory, or a total
 * no allocation can hold). */
static ut__bytes_chunk_t *chunk_new(uint64_t total)
{
    if (total > SIZE_MAX / 2 - SNAP_FIXED)
        return NULL;
    ut__bytes_chunk_t *c = ut__bytes_chunk_new(SNAP_FIXED + (size_t)total, NULL);
    if (c != NULL)
        c->used = c->cap;
    return c;
}

/* Read the image's configuration into the chunk's public struct (its ids
 * native, in the room before the image): UT_OK, or UT_ECORRUPT for an image
 * no node could have written. */
static int chunk_fill(ut__bytes_chunk_t *c, uint64_t total, uint64_t index, uint64_t term)
{
    const unsigned char *img = chunk_image(c);
    if (total < IMG_HDR)
        return UT_ECORRUPT;
    uint32_t nv = get32(img), no = get32(img + 4), nob = get32(img + 8), fl = get32(img + 12);
    if (nv == 0 || nv > UT_CONSENSUS_MAX_NODES || no > UT_CONSENSUS_MAX_NODES ||
        nob > UT_CONSENSUS_MAX_NODES || nv + nob > UT_CONSENSUS_MAX_NODES || (fl & ~1u) != 0)
        return UT_ECORRUPT;
    uint64_t n = (uint64_t)nv + no + nob;
    if (total - IMG_HDR < 8 * n)
        return UT_ECORRUPT;
    ut_consensus_snapshot_t *pub = chunk_pub(c);
    uint64_t *ids = (uint64_t *)(void *)(pub + 1);
    ut__consensus_get_ids(img + IMG_HDR, ids, (size_t)n);
    for (uint64_t i = 0; i < n; i++)
        if (ids[i] == 0)
            return UT_ECORRUPT;
    memset(pub, 0, sizeof *pub);
    pub->index = index;
    pub->term = term;
    pub->membership.voters = ids;
    pub->membership.n_voters = nv;
    pub->membership.voters_outgoing = no > 0 ? ids + nv : NULL;
    pub->membership.n_voters_outgoing = no;
    pub->membership.observers = nob > 0 ? ids + nv + no : NULL;
    pub->membership.n_observers = nob;
    pub->membership.auto_leave = (fl & 1u) != 0;
    pub->len = (size_t)(total - IMG_HDR - 8 * n);
    pub->data = pub->len > 0 ? img + IMG_HDR + 8 * n : NULL;
    return UT_OK;
}

/* A snapshot chunk from a configuration and the application's data. */
static ut__bytes_chunk_t *chunk_build(uint64_t index, uint64_t term,
                                      const ut_consensus_membership_t *mb, const void *data,
                                      size_t len, uint64_t *out_total)
{
    size_t n = mb->n_voters + mb->n_voters_outgoing + mb->n_observers;
    if (len > SIZE_MAX / 2 - IMG_HDR - 8 * n)
        return NULL;
    uint64_t total = IMG_HDR + 8 * (uint64_t)n + len;
    *out_total = total;
    ut__bytes_chunk_t *c = chunk_new(total);
    if (c == NULL)
        return NULL;
    unsigned char *img = chunk_image(c);
    put32(img, (uint32_t)mb->n_voters);
    put32(img + 4, (uint32_t)mb->n_voters_outgoing);
    put32(img + 8, (uint32_t)mb->n_observers);
    put32(img + 12, mb->auto_leave ? 1u : 0u);
    unsigned char *q = img + IMG_HDR;
    q = ut__consensus_put_ids(q, mb->voters, mb->n_voters);
    q = ut__consensus_put_ids(q, mb->voters_outgoing, mb->n_voters_outgoing);
    q = ut__consensus_put_ids(q, mb->observers, mb->n_observers);
    if (len > 0)
        memcpy(q, data, len);
    if (chunk_fill(c, total, index, term) != UT_OK) {
        ut__bytes_chunks_free(c); /* a configuration no image can carry */
        return NULL;
    }
    return c;
}

/* c becomes the node's latest snapshot; the previous one is retired (still
 * readable until the log's next release). */
static void snap_set(ut_consensus_t *h, ut__bytes_chunk_t *c, uint64_t total)
{
    if (h->snap_chunk != NULL) {
        h->snap_chunk->next = h->log.retired_chunks;
        h->log.retired_chunks = h->snap_chunk;
    }
    if (h->log.retired_chunks != NULL)
        h->snap_flags |= UT__CONSENSUS_SNAP_RETIRED; /* the log's drop too */
    h->snap_chunk = c;
    h->snap = chunk_pub(c);
    h->snap_image = chunk_image(c);
    h->snap_image_len = total;
}

static void rx_drop(ut_consensus_t *h)
{
    ut__bytes_chunks_free(h->rx.chunk); /* never handed out: freed at once */
    memset(&h->rx, 0, sizeof h->rx);
}

void ut__consensus_snapshot_free(ut_consensus_t *h)
{
    ut__bytes_chunks_free(h->snap_chunk);
    h->snap_chunk = NULL;
    h->snap = NULL;
    rx_drop(h);
}

/* Nothing handed out points into the log or a retired snapshot: give their
 * memory back now rather than at the next advance. */
static void release_if_idle(ut_consensus_t *h)
{
    if (!ut__readyseq_busy(&h->rseq) && h->live->n_refs == 0) {
        ut__consensus_log_release(&h->log);
        ut__consensus_log_compact(&h->log);
    }
}

/* ------------------------------------------------- configuration hooks */

/* The configuration a snapshot up to index records (thesis §5.1: the
 * latest one as of its last included entry, committed or not: a snapshot
 * holds only committed entries, so it is committed). ids has room for
 * 3 * UT_CONSENSUS_MAX_NODES. */
void ut__consensus_snapshot_config(const ut_consensus_t *h, uint64_t index,
                                   ut_consensus_membership_t *out, uint64_t *ids)
{
    ut__consensus_conf_t c;
    ut__consensus_members_at(h, index, &c);
    memset(out, 0, sizeof *out);
    memcpy(ids, c.voters, c.n_voters * sizeof *ids);
    out->voters = ids;
    out->n_voters = c.n_voters;
    ids += c.n_voters;
    if (c.n_outgoing > 0) {
        memcpy(ids, c.outgoing, c.n_outgoing * sizeof *ids);
        out->voters_outgoing = ids;
        out->n_voters_outgoing = c.n_outgoing;
        ids += c.n_outgoing;
    }
    if (c.n_observers > 0) {
        memcpy(ids, c.observers, c.n_observers * sizeof *ids);
        out->observers = ids;
        out->n_observers = c.n_observers;
    }
    out->auto_leave = c.auto_leave;
}

/* ------------------------------------------------------------ compaction */

int ut_consensus_compact(ut_consensus_t *h, uint64_t index, const void *data, size_t len)
{
    if (!ut__consensus_valid(h))
        return UT_EINVAL;
    if (data == NULL && len > 0)
        return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "compact-refused", "NULL data", index, len,
                                    "compact: NULL data with %zu bytes", len);
    /* §7: a snapshot holds only committed state the application applied;
     * the log before it is then redundant. */
    if (index == 0 || index > h->log.applied)
        return UT__CONSENSUS_REFUSE(h, UT_ERANGE, "compact-refused", "above the applied index",
                                    index, h->log.applied,
                                    "compact: index %llu is not applied (applied %llu)",
                                    (unsigned long long)index, (unsigned long long)h->log.applied);
    if (index <= h->log.off)
        return UT__CONSENSUS_REFUSE(h, UT_ERANGE, "compact-refused", "at or below the snapshot",
                                    index, h->log.off,
                                    "compact: index %llu is not above the snapshot at %llu",
                                    (unsigned long long)index, (unsigned long long)h->log.off);
    uint64_t ids[3 * UT_CONSENSUS_MAX_NODES];
    ut_consensus_membership_t mb;
    ut__consensus_snapshot_config(h, index, &mb, ids);
    uint64_t term = ut__consensus_log_term(&h->log, index);
    uint64_t total;
    ut__bytes_chunk_t *c = chunk_build(index, term, &mb, data, len, &total);
    if (c == NULL)
        return ut__consensus_oom(h, UT_ENOMEM, "compact");
    snap_set(h, c, total);
    ut__consensus_members_compact(h, index);
    ut__consensus_log_drop_prefix(&h->log, index, term, true);
    if (h->log.retired_chunks != NULL)
        h->snap_flags |= UT__CONSENSUS_SNAP_RETIRED;
    UT__CONSENSUS_TRACE(h, UT_TRACE_INFO, "compacted", NULL, index, term);
    /* A follower whose next entry was dropped now needs the snapshot. */
    ut__consensus_pend(h, UT__CONSENSUS_PEND_FLUSH | UT__CONSENSUS_PEND_CHECK);
    release_if_idle(h);
    return UT_OK;
}

/* ------------------------------------------------------- leader: sending */

int ut__consensus_snapshot_send(ut_consensus_t *h, size_t slot)
{
    ut__consensus_progress_t *p = &h->prs[slot];
    if (h->snap == NULL) {
        p->paused = true; /* unreachable: an offset comes with a snapshot */
        return UT_OK;
    }
    int rc = ut__consensus_msgbuf_reserve(h->live, 1, 0);
    if (rc != UT_OK)
        return rc;
    if (p->state != UT__CONSENSUS_PR_SNAPSHOT || h->snd[slot].index != h->snap->index ||
        h->snd[slot].term != h->snap->term) {
        /* §7: the follower lacks entries the log no longer holds. A new
         * transfer (a new snapshot, or a new leader) starts at offset 0. */
        UT__CONSENSUS_TRACE(h, UT_TRACE_INFO, "snapshot-send", "follower behind the log",
                            h->snap->index, h->ids[slot]);
        p->state = UT__CONSENSUS_PR_SNAPSHOT;
        ut__consensus_inflight_reset(&p->inflight);
        h->snd[slot].index = h->snap->index;
        h->snd[slot].term = h->snap->term;
        h->snd[slot].acked = 0;
    }
    uint64_t off = h->snd[slot].acked;
    uint64_t left = h->snap_image_len - off;
    uint64_t len = left < h->cfg.snapshot_chunk_bytes ? left : h->cfg.snapshot_chunk_bytes;
    ut_msg_t *m = ut__consensus_push_msg(h, UT_MSG_SNAPSHOT, h->ids[slot], h->term);
    /* The body is larger than the append body push_msg clears. */
    memset(&m->body, 0, sizeof m->body.snapshot);
    m->body.snapshot.index = h->snap->index;
    m->body.snapshot.term = h->snap->term;
    m->body.snapshot.offset = off;
    m->body.snapshot.total = h->snap_image_len;
    m->body.snapshot.len = (uint32_t)len;
    m->body.snapshot.data = len > 0 ? h->snap_image + off : NULL;
    h->live->n_refs++; /* points into the snapshot: no free before it goes out */
    h->snap_flags |= UT__CONSENSUS_SNAP_DIRTY;
    p->paused = true; /* one chunk in flight; a heartbeat re-sends a lost one */
    return UT_OK;
}

int ut__consensus_handle_snapshot_resp(ut_consensus_t *h, const ut_msg_t *m, size_t slot)
{
    const ut_msg_snapshot_resp_t *r = &m->body.snapshot_resp;
    if (h->role != UT_CONSENSUS_LEADER || r->index == 0)
        return UT_OK; /* a late answer, or a term notice */
    if (r->index > h->log.last)
        return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "step-refused",
                                    "snapshot-resp beyond the last index", m->term, m->from,
                                    "step: snapshot-resp index %llu beyond last index %llu",
                                    (unsigned long long)r->index, (unsigned long long)h->log.last);
    ut__consensus_progress_t *p = &h->prs[slot];
    bool current = p->state == UT__CONSENSUS_PR_SNAPSHOT && r->index == h->snd[slot].index &&
                   r->term == h->snd[slot].term;
    if (!r->done && current && h->snap != NULL && r->index == h->snap->index &&
        r->next > h->snap_image_len)
        return UT__CONSENSUS_REFUSE(
            h, UT_EINVAL, "step-refused", "snapshot-resp beyond the image", m->term, m->from,
            "step: snapshot-resp offset %llu beyond the image (%llu)", (unsigned long long)r->next,
            (unsigned long long)h->snap_image_len);
    h->active[slot] |= UT__CONSENSUS_ACTIVE;
    if (r->done) {
        /* The follower holds everything up to the snapshot's index (§7):
         * AppendEntries resume from index + 1. */
        if (r->index > p->match) {
            ut__consensus_set_match(h, slot, r->index);
            if (r->index > h->log.commit)
                ut__consensus_maybe_commit(h);
        }
        if (p->state == UT__CONSENSUS_PR_SNAPSHOT) {
            UT__CONSENSUS_TRACE(h, UT_TRACE_INFO, "snapshot-sent", NULL, r->index, m->from);
            ut__consensus_progress_become_probe(p, p->match + 1);
        }
        ut__consensus_pend(h, UT__CONSENSUS_PEND_FLUSH);
        return UT_OK;
    }
    if (!current)
        return UT_OK; /* about another transfer: stale */
    /* Resumable: the next chunk starts where the follower says (a lost,
     * duplicate or reordered chunk; 0 = restart). */
    h->snd[slot].acked = r->next;
    p->paused = false;
    ut__consensus_pend(h, UT__CONSENSUS_PEND_FLUSH);
    return UT_OK;
}

/* ------------------------------------------------------ follower: receiving */

/* Word from the leader of m->term (§5.1, §5.2), as handle_append() takes it:
 * a higher term or a candidate makes us its follower; the election timer
 * restarts. */
static int follower_contact(ut_consensus_t *h, const ut_msg_t *m, const char *why_higher,
                            const char *why_leader)
{
    if (m->term > h->term || (h->role != UT_CONSENSUS_FOLLOWER && h->role != UT_CONSENSUS_OBSERVER))
        return ut__consensus_become_follower(h, m->term, m->from,
                                             m->term > h->term ? why_higher : why_leader);
    if (h->pre_candidate)
        UT__CONSENSUS_TRACE(h, UT_TRACE_INFO, "become-follower", why_leader, h->term, m->from);
    h->pre_candidate = false;
    if (h->leader != m->from) {
        h->leader = m->from;
        ut__consensus_pend(h, UT__CONSENSUS_PEND_CHECK);
    }
    h->leader_contact = h->now;
    h->election_start = h->now; /* §5.2: word from the leader */
    return UT_OK;
}

static void reply(ut_consensus_t *h, const ut_msg_t *m, uint64_t next, bool done)
{
    ut_msg_t *r = ut__consensus_push_msg(h, UT_MSG_SNAPSHOT_RESP, m->from, h->term);
    r->body.snapshot_resp.index = m->body.snapshot.index;
    r->body.snapshot_resp.term = m->body.snapshot.term;
    r->body.snapshot_resp.next = next;
    r->body.snapshot_resp.done = done;
}

/* Success replies still in the live outbox that claim entries after index
 * for the leader: those entries are gone with the discarded log (as
 * raft.c's retract_acks for a truncation). */
static void retract_acks(ut_consensus_t *h, uint64_t index)
{
    ut__consensus_msgbuf_t *b = h->live;
    for (size_t i = 0; i < b->n; i++) {
        ut_msg_t *m = &b->msgs[i];
        if (m->type == UT_MSG_APPEND_RESP && m->body.append_resp.success &&
            m->body.append_resp.index > index)
            m->body.append_resp.index = index;
    }
}

/* The image is complete: install it (§7, receiver rules 6-8). */
static void install(ut_consensus_t *h, const ut_msg_t *m)
{
    const ut_msg_snapshot_t *s = &m->body.snapshot;
    ut__bytes_chunk_t *c = h->rx.chunk;
    if (chunk_fill(c, h->rx.total, s->index, s->term) != UT_OK) {
        UT__CONSENSUS_TRACE(h, UT_TRACE_WARN, "snapshot-refused", "malformed image", s->index,
                            m->from);
        rx_drop(h);
        reply(h, m, 0, false); /* restart */
        return;
    }
    /* Thesis §5.1: the configuration is part of the snapshot. A malformed
     * one is refused like a malformed image; without memory for its
     * members, the leader resends. */
    int mrc = ut__consensus_membership_check(h, &chunk_pub(c)->membership);
    if (mrc != UT_OK) {
        UT__CONSENSUS_TRACE(h, UT_TRACE_WARN, "snapshot-refused",
                            mrc == UT_ENOMEM ? "out of memory" : "malformed membership", s->index,
                            m->from);
        rx_drop(h);
        reply(h, m, 0, false); /* restart */
        return;
    }
    uint64_t index = s->index;
    /* §7 rule 6: a log holding the snapshot's last entry (same index and
     * term) keeps the entries after it; rule 7: otherwise the whole log
     * goes. */
    bool keep = index <= h->log.last && ut__consensus_log_term(&h->log, index) == s->term;
#ifdef UT__FAULT_SNAPSHOT_OFF_BY_ONE
    /* Test-only broken variant (mutation suite): the follower takes the
     * snapshot as covering one entry more, so it never holds or applies
     * entry index + 1. */
    keep = false;
    index++;
#endif
    if (!keep)
        retract_acks(h, index);
    snap_set(h, c, h->rx.total);
    memset(&h->rx, 0, sizeof h->rx);
    ut__consensus_log_drop_prefix(&h->log, index, s->term, keep);
    /* Checked above: cannot fail. The snapshot's configuration is the
     * committed one; a later configuration entry the log kept (rule 6)
     * is in effect (thesis §4.1). */
    (void)ut__consensus_set_membership(h, &h->snap->membership, index);
    if (keep)
        ut__consensus_members_log_changed(h, 0);
    if (h->log.retired_chunks != NULL)
        h->snap_flags |= UT__CONSENSUS_SNAP_RETIRED;
    h->snap_flags |= UT__CONSENSUS_SNAP_OUT;
    ut__consensus_pend(h, UT__CONSENSUS_PEND_CHECK | UT__CONSENSUS_PEND_COMMIT);
    UT__CONSENSUS_TRACE(h, UT_TRACE_INFO, "snapshot-installed",
                        keep ? "log after it kept" : "log discarded", index, s->term);
    reply(h, m, s->total, true);
}

int ut__consensus_handle_snapshot(ut_consensus_t *h, const ut_msg_t *m)
{
    const ut_msg_snapshot_t *s = &m->body.snapshot;
    if (s->index == 0 || s->term == 0 || s->term > m->term)
        return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "step-refused", "malformed snapshot: term",
                                    m->term, m->from,
                                    "step: snapshot with impossible index or term");
    if ((s->len > 0 && s->data == NULL) || s->offset > s->total || s->len > s->total - s->offset ||
        s->total < IMG_HDR)
        return UT__CONSENSUS_REFUSE(
            h, UT_EINVAL, "step-refused", "malformed snapshot: chunk", m->term, m->from,
            "step: snapshot chunk at %llu+%u outside its image of %llu",
            (unsigned long long)s->offset, (unsigned)s->len, (unsigned long long)s->total);
    if (h->role == UT_CONSENSUS_LEADER && m->term == h->term)
        return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "step-refused",
                                    "snapshot from a second leader of this term", m->term, m->from,
                                    "step: snapshot from %llu, but this node leads term %llu",
                                    (unsigned long long)m->from, (unsigned long long)h->term);
    bool have = s->index <= h->log.commit;
    bool same = h->rx.chunk != NULL && h->rx.lterm == m->term && h->rx.index == s->index &&
                h->rx.term == s->term;
    if (!have && same && s->total != h->rx.total)
        return UT__CONSENSUS_REFUSE(h, UT_EINVAL, "step-refused", "malformed snapshot: total",
                                    m->term, m->from,
                                    "step: snapshot %llu changed its length from %llu to %llu",
                                    (unsigned long long)s->index, (unsigned long long)h->rx.total,
                                    (unsigned long long)s->total);
    /* A transfer starts at offset 0 (a new snapshot, or a new leader's:
     * the key includes the leader's term). */
    bool start = !have && !same && s->offset == 0;
    ut__bytes_chunk_t *nc = NULL;
    if (start) {
        nc = chunk_new(s->total);
        if (nc == NULL)
            return UT_ENOMEM;
    }
    int rc = ut__consensus_msgbuf_reserve(h->live, 1, 0);
    if (rc == UT_OK)
        rc = follower_contact(h, m, "snapshot of a higher term", "snapshot from the leader");
    if (rc != UT_OK) {
        ut__bytes_chunks_free(nc);
        return rc;
    }
    /* From here on nothing can fail. */
    if (have) {
        /* §7: the log already covers the snapshot (and the state machine
         * may be past it): nothing to install. */
        if (same)
            rx_drop(h);
        reply(h, m, s->total, true);
        return UT_OK;
    }
    if (start) {
        rx_drop(h);
        h->rx.chunk = nc;
        h->rx.image = chunk_image(nc);
        h->rx.lterm = m->term;
        h->rx.index = s->index;
        h->rx.term = s->term;
        h->rx.total = s->total;
        h->rx.got = 0;
        same = true;
        UT__CONSENSUS_TRACE(h, UT_TRACE_INFO, "snapshot-receive", NULL, s->index, m->from);
    }
    if (!same || s->offset != h->rx.got) {
        /* Another transfer's chunk (restart: 0), or a duplicate, lost or
         * reordered one of this transfer: say where to resume. */
        UT__CONSENSUS_TRACE(h, UT_TRACE_DEBUG, "snapshot-chunk-ignored",
                            same ? "not the expected offset" : "not the transfer in progress",
                            s->offset, m->from);
        reply(h, m, same ? h->rx.got : 0, false);
        return UT_OK;
    }
    if (s->len > 0)
        memcpy(h->rx.image + s->offset, s->data, s->len);
    h->rx.got += s->len;
    if (h->rx.got < h->rx.total) {
        reply(h, m, h->rx.got, false);
        return UT_OK;
    }
    install(h, m);
    return UT_OK;
}

int ut__consensus_snapshot_stale(ut_consensus_t *h, const ut_msg_t *m)
{
    /* §5.1: a stale request is answered with our term (index 0: a term
     * notice, not an answer about a snapshot). */
    int rc = ut__consensus_msgbuf_reserve(h->live, 1, 0);
    if (rc != UT_OK)
        return rc;
    (void)ut__consensus_push_msg(h, UT_MSG_SNAPSHOT_RESP, m->from, h->term);
    return UT__CONSENSUS_REFUSE(h, UT_ESTALE, "step-refused", "stale term", m->term, m->from,
                                "step: snapshot from term %llu < %llu", (unsigned long long)m->term,
                                (unsigned long long)h->term);
}

void ut__consensus_snapshot_append_below(ut_consensus_t *h, ut_msg_t *r, const ut_msg_t *m)
{
    /* Everything up to the offset is compacted, hence committed, and the
     * committed prefix is in every later leader's log (§5.4): tell the
     * leader we hold it up to our commit, without touching the log (no
     * compacted entry is appended again). The message was validated and
     * the role taken as for any AppendEntries (raft.c handle_append). */
    UT__CONSENSUS_TRACE(h, UT_TRACE_DEBUG, "append-below-snapshot", NULL, m->body.append.prev_index,
                        m->from);
    r->body.append_resp.success = true;
    r->body.append_resp.index = h->log.commit;
}

int ut__consensus_snapshot_append_from_0(ut_consensus_t *h, const ut_msg_t *m)
{
    int rc = ut__consensus_msgbuf_reserve(h->live, 1, 0);
    if (rc == UT_OK)
        rc = follower_contact(h, m, "append of a higher term", "append from the leader");
    if (rc != UT_OK)
        return rc;
    ut__consensus_snapshot_append_below(
        h, ut__consensus_push_msg(h, UT_MSG_APPEND_RESP, m->from, h->term), m);
    return UT_OK;
}

/* --------------------------------------------------------------- restore */

int ut_consensus_restore_snapshot(ut_consensus_t *h, const ut_consensus_hard_state_t *hs,
                                  const ut_consensus_snapshot_t *snap, const ut_entry_t *entries,
                                  size_t n)
{
    if (!ut__consensus_valid(h) || hs == NULL || snap == NULL || (n > 0 && entries == NULL) ||
        (snap->len > 0 && snap->data == NULL))
        return UT_EINVAL;
    const ut_consensus_membership_t *mb = &snap->membership;
    if ((mb->n_voters > 0 && mb->voters == NULL) ||
        (mb->n_voters_outgoing > 0 && mb->voters_outgoing == NULL) ||
        (mb->n_observers > 0 && mb->observers == NULL))
        return UT_EINVAL;
    if (h->took_input || h->restored)
        return UT__CONSENSUS_REFUSE(h, UT_ESTATE, "restore-refused", "the node already took input",
                                    0, 0, "restore: the node already took input");
    if (hs->term > UT__CONSENSUS_MAX_TERM)
        return UT__CONSENSUS_REFUSE(h, UT_ECORRUPT, "restore-refused", "term impossible", hs->term,
                                    0, "restore: impossible term %llu",
                                    (unsigned long long)hs->term);
    if (snap->index == 0 || snap->term == 0 || snap->term > hs->term ||
        snap->index >= UINT64_MAX - n)
        return UT__CONSENSUS_REFUSE(
            h, UT_ECORRUPT, "restore-refused", "snapshot impossible", snap->index, snap->term,
            "restore: snapshot at %llu with impossible term %llu", (unsigned long long)snap->index,
            (unsigned long long)snap->term);
    size_t bytes = 0;
    uint64_t prev_term = snap->term;
    for (size_t i = 0; i < n; i++) {
        const ut_entry_t *e = &entries[i];
        if (e->index != snap->index + 1 + i)
            return UT__CONSENSUS_REFUSE(
                h, UT_ECORRUPT, "restore-refused", "entry index out of sequence", e->index, i,
                "restore: entry %zu has index %llu, want %llu", i, (unsigned long long)e->index,
                (unsigned long long)(snap->index + 1 + i));
        if (e->term == 0 || e->term < prev_term || e->term > hs->term)
            return UT__CONSENSUS_REFUSE(h, UT_ECORRUPT, "restore-refused", "entry term impossible",
                                        e->index, e->term,
                                        "restore: entry %llu has impossible term %llu",
                                        (unsigned long long)e->index, (unsigned long long)e->term);
        if ((e->type > UT_ENTRY_NOOP || (e->len > 0 && e->data == NULL) ||
             e->len > UT_CONSENSUS_MAX_ENTRY_BYTES) &&
            !(e->type == UT_ENTRY_CONFIG && ut__consensus_members_check_entry(e) == UT_OK))
            return UT__CONSENSUS_REFUSE(h, UT_ECORRUPT, "restore-refused", "entry malformed",
                                        e->index, e->len, "restore: entry %llu is malformed",
                                        (unsigned long long)e->index);
        if (bytes > SIZE_MAX - e->len)
            return UT__CONSENSUS_REFUSE(h, UT_ENOMEM, "restore-refused", "out of memory", n, 0,
                                        "restore: out of memory (%zu entries)", n);
        bytes += e->len;
        prev_term = e->term;
    }
    uint64_t last = snap->index + n;
    if (h->cfg.applied > last)
        return UT__CONSENSUS_REFUSE(h, UT_ECORRUPT, "restore-refused", "applied beyond the log",
                                    h->cfg.applied, last,
                                    "restore: applied %llu beyond the last entry %llu",
                                    (unsigned long long)h->cfg.applied, (unsigned long long)last);
    if (hs->commit > last)
        return UT__CONSENSUS_REFUSE(h, UT_ECORRUPT, "restore-refused", "commit beyond the log",
                                    hs->commit, last,
                                    "restore: commit %llu beyond the last entry %llu",
                                    (unsigned long long)hs->commit, (unsigned long long)last);
    /* The vote went to a voter of the configuration in effect when it was
     * cast, which the snapshot's may no longer hold (a change since then
     * removed it): only a vote without a term is impossible. */
    if (hs->vote != 0 && hs->term == 0)
        return UT__CONSENSUS_REFUSE(h, UT_ECORRUPT, "restore-refused", "vote without a term",
                                    hs->vote, hs->term, "restore: vote for %llu in term 0",
                                    (unsigned long long)hs->vote);
    int mrc = ut__consensus_membership_check(h, mb);
    if (mrc != UT_OK)
        return UT__CONSENSUS_REFUSE(
            h, mrc == UT_ENOMEM ? UT_ENOMEM : UT_ECORRUPT, "restore-refused",
            mrc == UT_ENOMEM ? "out of memory" : "snapshot membership malformed", snap->index,
            mb->n_voters, "restore: the snapshot's membership is %s",
            mrc == UT_ENOMEM ? "too large for memory" : "malformed");
    uint64_t total;
    ut__bytes_chunk_t *c = chunk_build(snap->index, snap->term, mb, snap->data, snap->len, &total);
    if (c == NULL)
        return UT__CONSENSUS_REFUSE(h, UT_ENOMEM, "restore-refused", "out of memory", n, 0,
                                    "restore: out of memory");
    ut__consensus_log_t nl;
    ut__consensus_log_init_at(&nl, snap->index, snap->term);
    int rc = ut__consensus_log_reserve(&nl, n, bytes);
    if (rc != UT_OK) {
        ut__consensus_log_destroy(&nl);
        ut__bytes_chunks_free(c);
        return UT__CONSENSUS_REFUSE(h, rc, "restore-refused", "out of memory", n, 0,
                                    "restore: out of memory");
    }
    for (size_t i = 0; i < n; i++)
        ut__consensus_log_append(&nl, entries[i].term, entries[i].type, entries[i].data,
                                 entries[i].len);
    ut__consensus_log_destroy(&h->log);
    h->log = nl;
    snap_set(h, c, total);
    h->term = hs->term;
    h->vote = hs->vote;
    /* The application restored its state from the snapshot: it holds
     * everything up to snap->index (committed, §7), at least. */
    uint64_t applied = h->cfg.applied > snap->index ? h->cfg.applied : snap->index;
    h->log.commit = hs->commit > applied ? hs->commit : applied;
    h->log.applied = applied;
    h->last_hs = *hs;
    h->log.stable = h->log.persisted = h->log.last;
    /* Checked above: cannot fail. The snapshot's configuration, then the
     * latest configuration entry after it (thesis §4.1). */
    (void)ut__consensus_set_membership(h, mb, snap->index);
    ut__consensus_members_restored(h);
    h->restored = true;
    h->restart_hold = hs->term != 0; /* raft.c in_start_hold */
    ut__consensus_pend(h, UT__CONSENSUS_PEND_CHECK);
    return UT_OK;
}

/* ---------------------------------------------------------- ready hooks */

void ut__consensus_snapshot_ready(ut_consensus_t *h, ut_consensus_ready_t *rd)
{
    /* Called by ready() after the swap: h->out is what this ready hands
     * out, h->live the buffer the last advance acknowledged. */
    uint8_t f = h->snap_flags;
    if (f & UT__CONSENSUS_SNAP_OUT)
        rd->snapshot = h->snap;
    f &= (uint8_t)~UT__CONSENSUS_SNAP_OUT;
    if (f & UT__CONSENSUS_SNAP_DIRTY) {
        /* The acknowledged buffer's slots are about to be reused: clear the
         * snapshot bodies (48 bytes, where push_msg clears the append
         * body's 40), so that every byte of every message stays defined
         * (consensus.h). */
        ut__consensus_msgbuf_t *b = h->live;
        for (size_t i = 0; i < b->cap; i++)
            if (b->msgs[i].type == UT_MSG_SNAPSHOT)
                memset(&b->msgs[i], 0, sizeof b->msgs[i]);
        f &= (uint8_t)~UT__CONSENSUS_SNAP_DIRTY;
        for (size_t i = 0; i < h->out->n; i++)
            if (h->out->msgs[i].type == UT_MSG_SNAPSHOT)
                f |= UT__CONSENSUS_SNAP_DIRTY;
    }
    if ((f & UT__CONSENSUS_SNAP_RETIRED) && h->out->n_refs == 0) {
        /* The last ready was advanced and nothing handed out now points
         * into a retired snapshot or a dropped payload chunk (this ready's
         * entries all follow the snapshot). */
        ut__bytes_chunks_free(h->log.retired_chunks);
        h->log.retired_chunks = NULL;
        f &= (uint8_t)~UT__CONSENSUS_SNAP_RETIRED;
    }
    h->snap_flags = f;
}
