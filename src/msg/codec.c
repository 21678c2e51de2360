/* SPDX-License-Identifier: MIT */
/* Binary wire format of ut_msg_t. docs/wire-format.md is the specification;
 * the constants below are its tables. Every read of the input is preceded by
 * a check against the bytes remaining, and every count read from the input is
 * bounded by the bytes that would have to follow it before it is used. */
#include "internal.h"
#include "msg/codec_internal.h"
#include "unitypes/consensus.h" /* UT_CONSENSUS_MAX_READ_CTX */

#define UT__MSG_MAGIC0 0x55u /* 'U' */
#define UT__MSG_MAGIC1 0x54u /* 'T' */
#define UT__MSG_CRC_SIZE 4u
#define UT__MSG_FIELDS_LEN_SIZE 2u /* u16 length of the fields section */
#define UT__MSG_COMMON_FIELDS 24u  /* from, to, term */
#define UT__MSG_ENTRY_HDR 24u      /* term, index, type, len */
#define UT__MSG_2PC_FIELDS 20u     /* txid, code, n_peers, len */

/* Size of the fields section of each type in minor version 1 (v10 false) or
 * 1.0 (v10 true: a frame of minor 0); 0 for a type without a body (unknown or
 * reserved). 1.1 appended vote.transfer and the two read_round (§5 rule 1) and
 * gave TIMEOUT_NOW and READ_INDEX(_RESP) bodies (§5 rule 4): a 1.0 frame of
 * those types is corrupt, as it was for a 1.0 decoder. */
static size_t ut__msg_fields_size(uint32_t type, bool v10)
{
    switch (type) {
    case UT_MSG_VOTE:
    case UT_MSG_PREVOTE:
        return UT__MSG_COMMON_FIELDS + 16u + (v10 ? 0u : 1u);
    case UT_MSG_VOTE_RESP:
    case UT_MSG_PREVOTE_RESP:
        return UT__MSG_COMMON_FIELDS + 1u;
    case UT_MSG_APPEND:
        return UT__MSG_COMMON_FIELDS + 24u + 4u + 2u + (v10 ? 0u : 8u);
        /* >>> rxfer: TIMEOUT_NOW: common fields only; READ_INDEX(_RESP): index, u32 len */
    case UT_MSG_TIMEOUT_NOW:
        return v10 ? 0u : UT__MSG_COMMON_FIELDS;
    case UT_MSG_READ_INDEX:
    case UT_MSG_READ_INDEX_RESP:
        return v10 ? 0u : UT__MSG_COMMON_FIELDS + 8u + 4u;
        /* <<< rxfer */
        /* >>> rsnap: index, term, offset, total, u32 len; index, term, next, done */
    case UT_MSG_SNAPSHOT:
        return UT__MSG_COMMON_FIELDS + 32u + 4u;
    case UT_MSG_SNAPSHOT_RESP:
        return UT__MSG_COMMON_FIELDS + 24u + 1u;
        /* <<< rsnap */
        /* >>> lock (32-63, issue 14): add here */
        /* <<< lock */

        /* >>> 2pc (64-95, issue 15): add here */
    case UT_MSG_2PC_PREPARE:
    case UT_MSG_2PC_VOTE:
    case UT_MSG_2PC_COMMIT:
    case UT_MSG_2PC_ABORT:
    case UT_MSG_2PC_ACK:
    case UT_MSG_2PC_INQUIRY:
    case UT_MSG_2PC_STATUS:
        return UT__MSG_COMMON_FIELDS + UT__MSG_2PC_FIELDS;
        /* <<< 2pc */

        /* >>> gossip (96-127, issue 16): add here */
    case UT_MSG_GOSSIP_PING:
    case UT_MSG_GOSSIP_PING_REQ:
    case UT_MSG_GOSSIP_ACK:
    case UT_MSG_GOSSIP_NACK:
    case UT_MSG_GOSSIP_SYNC:
    case UT_MSG_GOSSIP_SYNC_RESP:
    case UT_MSG_GOSSIP_PUSH:
        /* seq, target, origin, u32 count, u16 update-header length */
        return UT__MSG_COMMON_FIELDS + 24u + 4u + 2u;
        /* <<< gossip */

        /* >>> replica (128-159, issue 13): add here */
    case UT_MSG_REPL_WRITE:
    case UT_MSG_REPL_ACK:
        return UT__MSG_COMMON_FIELDS + 24u; /* two positions and the epoch */
    case UT_MSG_REPL_LINK:
        return UT__MSG_COMMON_FIELDS + 16u;
        /* <<< replica */

    case UT_MSG_APPEND_RESP:
        return UT__MSG_COMMON_FIELDS + 1u + 24u + (v10 ? 0u : 8u);
    default:
        return 0;
    }
}

static inline void ut__put16(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static inline void ut__put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static inline void ut__put64(unsigned char *p, uint64_t v)
{
    ut__put32(p, (uint32_t)v);
    ut__put32(p + 4, (uint32_t)(v >> 32));
}

static inline uint32_t ut__get16(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static inline uint32_t ut__get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t ut__get64(const unsigned char *p)
{
    return (uint64_t)ut__get32(p) | (uint64_t)ut__get32(p + 4) << 32;
}

/* Validate and size in one pass, so encode walks the entries only twice
 * (here and when writing). Sizes are accumulated in 64 bits so that a 32-bit
 * size_t cannot wrap before the UT_MSG_MAX_FRAME check. */
/* Entry arrays: Raft's AppendEntries log slice and gossip's membership
 * updates share one layout (a u32 count, a u16 entry-header length, then
 * per entry two u64, two u32 and the payload). They differ in the order of
 * the two u64 (Raft: term, index; gossip: member id, incarnation) and in
 * what a valid entry is. */
typedef enum { UT__ENTS_RAFT, UT__ENTS_GOSSIP } ut__ents_kind_t;

/* Raft: entries are the log slice that follows prev_index (Raft §5.3).
 * Gossip: a member id is never 0 and a status is a ut_node_status_t. */
static inline bool ut__entry_ok(ut__ents_kind_t kind, const ut_entry_t *e, uint64_t base, size_t i)
{
    if (kind == UT__ENTS_RAFT)
        return e->index == base + 1u + (uint64_t)i;
    return e->index != 0 && e->type <= 4u;
}

/* Adds the entries' encoded bytes to *size; UT_EINVAL for a malformed entry
 * or a frame over the limit. */
static int ut__msg_check_entries(ut__ents_kind_t kind, const ut_entry_t *es, size_t n,
                                 uint64_t base, uint64_t *size)
{
    if ((n > 0 && es == NULL) || (uint64_t)n > UINT32_MAX)
        return UT_EINVAL;
    for (size_t i = 0; i < n; i++) {
        const ut_entry_t *e = &es[i];
        if (!ut__entry_ok(kind, e, base, i) || (e->len > 0 && e->data == NULL))
            return UT_EINVAL;
        *size += UT__MSG_ENTRY_HDR + (uint64_t)e->len;
        if (*size > UT_MSG_MAX_FRAME)
            return UT_EINVAL;
    }
    return UT_OK;
}

/* Writes the count, the entry-header length, skips the gap fields the
 * caller writes after them, then the entries (validated by
 * ut__msg_check_entries); returns the position after them. */
static unsigned char *ut__msg_put_entries(unsigned char *q, ut__ents_kind_t kind,
                                          const ut_entry_t *es, size_t n, size_t gap)
{
    ut__put32(q, (uint32_t)n);
    ut__put16(q + 4, UT__MSG_ENTRY_HDR);
    q += 6 + gap;
    for (size_t i = 0; i < n; i++) {
        const ut_entry_t *e = &es[i];
        bool raft = kind == UT__ENTS_RAFT;
        ut__put64(q, raft ? e->term : e->index);
        ut__put64(q + 8, raft ? e->index : e->term);
        ut__put32(q + 16, e->type);
        ut__put32(q + 20, e->len);
        q += UT__MSG_ENTRY_HDR;
        if (e->len > 0)
            memcpy(q, e->data, e->len);
        q += e->len;
    }
    return q;
}

/* Reads n entries of ehl-byte headers at *qp, bounded by *remp, into
 * entries[0..cap). The count was bounded by the bytes its headers need
 * before this is called. Once every entry was read, *out_n is n and *out
 * is entries, or NULL when n is 0 or does not fit (then UT_ERANGE, after
 * the whole frame was checked); a malformed entry sets neither. */
static int ut__msg_get_entries(const unsigned char **qp, size_t *remp, ut__ents_kind_t kind,
                               uint64_t base, size_t n, size_t ehl, bool newer, ut_entry_t *entries,
                               size_t cap, const ut_entry_t **out, size_t *out_n)
{
    const unsigned char *q = *qp;
    size_t rem = *remp;
    bool raft = kind == UT__ENTS_RAFT;
    for (size_t i = 0; i < n; i++) {
        if (rem < ehl)
            return UT_ECORRUPT;
        ut_entry_t e;
        e.term = ut__get64(raft ? q : q + 8);
        e.index = ut__get64(raft ? q + 8 : q);
        e.type = ut__get32(q + 16);
        e.len = ut__get32(q + 20);
        q += ehl;
        rem -= ehl;
        if (!ut__entry_ok(kind, &e, base, i) || e.len > rem)
            return UT_ECORRUPT;
        e.data = e.len > 0 ? q : NULL;
        q += e.len;
        rem -= e.len;
        if (i < cap)
            entries[i] = e;
    }
    *qp = q;
    *remp = rem;
    *out_n = n;
    if (n > cap) {
        *out = NULL;
        if (rem > 0 && !newer)
            return UT_ECORRUPT;
        return UT_ERANGE;
    }
    *out = n > 0 ? entries : NULL;
    return UT_OK;
}

static int ut__msg_check(const ut_msg_t *msg, size_t *frame_size)
{
    if (msg == NULL)
        return UT_EINVAL;
    size_t fields = ut__msg_fields_size((uint32_t)msg->type, false);
    if (fields == 0 || msg->from == 0 || msg->to == 0)
        return UT_EINVAL;
    uint64_t size = UT_MSG_HEADER_SIZE + UT__MSG_FIELDS_LEN_SIZE + fields + UT__MSG_CRC_SIZE;
    if (msg->type == UT_MSG_APPEND) {
        const ut_msg_append_t *a = &msg->body.append;
        if ((uint64_t)a->n_entries > UINT64_MAX - a->prev_index ||
            ut__msg_check_entries(UT__ENTS_RAFT, a->entries, a->n_entries, a->prev_index, &size) !=
                UT_OK)
            return UT_EINVAL;
    }
    /* >>> rxfer: a PreVote is never a transfer; a forwarded read (thesis §6.4) */
    if (msg->type == UT_MSG_PREVOTE && msg->body.vote.transfer)
        return UT_EINVAL;
    if (msg->type == UT_MSG_READ_INDEX || msg->type == UT_MSG_READ_INDEX_RESP) {
        const ut_msg_read_index_t *r = &msg->body.read_index;
        if ((r->len > 0 && r->ctx == NULL) || r->len > UT_CONSENSUS_MAX_READ_CTX ||
            (msg->type == UT_MSG_READ_INDEX && r->index != 0))
            return UT_EINVAL;
        size += r->len;
    }
    /* <<< rxfer */
    /* >>> rsnap: the chunk */
    if (msg->type == UT_MSG_SNAPSHOT) {
        const ut_msg_snapshot_t *s = &msg->body.snapshot;
        if ((s->len > 0 && s->data == NULL) || s->offset > s->total ||
            s->len > s->total - s->offset)
            return UT_EINVAL;
        size += s->len;
    }
    /* <<< rsnap */
    /* >>> 2pc (64-95, issue 15): variable part */
    if (msg->type >= UT_MSG_2PC_PREPARE && msg->type <= UT_MSG_2PC_STATUS) {
        const ut_msg_2pc_t *t = &msg->body.twopc;
        if (t->txid == 0 || (t->n_peers > 0 && t->peers == NULL) ||
            (t->len > 0 && t->data == NULL) ||
            (msg->type != UT_MSG_2PC_PREPARE && (t->n_peers != 0 || t->len != 0)))
            return UT_EINVAL;
        size += (uint64_t)t->n_peers * 8u + (uint64_t)t->len;
    }
    /* <<< 2pc */
    /* >>> gossip (96-127, issue 16): variable-length bodies are sized here */
    if (msg->type >= UT_MSG_GOSSIP_PING && msg->type <= UT_MSG_GOSSIP_PUSH) {
        const ut_msg_gossip_t *g = &msg->body.gossip;
        if (ut__msg_check_entries(UT__ENTS_GOSSIP, g->updates, g->n_updates, 0, &size) != UT_OK)
            return UT_EINVAL;
    }
    /* <<< gossip */
    if (size > UT_MSG_MAX_FRAME)
        return UT_EINVAL;
    *frame_size = (size_t)size;
    return UT_OK;
}

int ut_msg_validate(const ut_msg_t *msg)
{
    size_t size;
    return ut__msg_check(msg, &size);
}

int ut_msg_encoded_size(const ut_msg_t *msg, size_t *out)
{
    if (out == NULL)
        return UT_EINVAL;
    return ut__msg_check(msg, out);
}

int ut_msg_encode(const ut_msg_t *msg, void *buf, size_t cap, size_t *out_len)
{
    size_t size;
    if (out_len == NULL || (buf == NULL && cap > 0))
        return UT_EINVAL;
    int rc = ut__msg_check(msg, &size);
    if (rc != UT_OK)
        return rc;
    *out_len = size;
    if (cap < size)
        return UT_ERANGE;

    unsigned char *p = buf;
    size_t fields = ut__msg_fields_size((uint32_t)msg->type, false);
    p[0] = UT__MSG_MAGIC0;
    p[1] = UT__MSG_MAGIC1;
    p[2] = (unsigned char)UT_MSG_WIRE_MAJOR;
    p[3] = (unsigned char)UT_MSG_WIRE_MINOR;
    ut__put16(p + 4, (uint32_t)msg->type);
    ut__put32(p + 6, (uint32_t)(size - UT_MSG_HEADER_SIZE - UT__MSG_CRC_SIZE));
    unsigned char *q = p + UT_MSG_HEADER_SIZE;
    ut__put16(q, (uint32_t)fields);
    q += UT__MSG_FIELDS_LEN_SIZE;
    ut__put64(q, msg->from);
    ut__put64(q + 8, msg->to);
    ut__put64(q + 16, msg->term);
    q += UT__MSG_COMMON_FIELDS;

    switch (msg->type) {
    case UT_MSG_VOTE:
    case UT_MSG_PREVOTE:
        ut__put64(q, msg->body.vote.last_log_index);
        ut__put64(q + 8, msg->body.vote.last_log_term);
        q[16] = msg->body.vote.transfer ? 1u : 0u; /* >>> rxfer <<< */
        q += 17;
        break;
    case UT_MSG_VOTE_RESP:
    case UT_MSG_PREVOTE_RESP:
        *q++ = msg->body.vote_resp.granted ? 1u : 0u;
        break;
        /* >>> rxfer */
    case UT_MSG_TIMEOUT_NOW:
        break;
    case UT_MSG_READ_INDEX:
    case UT_MSG_READ_INDEX_RESP: {
        const ut_msg_read_index_t *r = &msg->body.read_index;
        ut__put64(q, r->index);
        ut__put32(q + 8, r->len);
        q += 12;
        if (r->len > 0)
            memcpy(q, r->ctx, r->len);
        q += r->len;
        break;
    }
        /* <<< rxfer */
        /* >>> rsnap */
    case UT_MSG_SNAPSHOT: {
        const ut_msg_snapshot_t *s = &msg->body.snapshot;
        ut__put64(q, s->index);
        ut__put64(q + 8, s->term);
        ut__put64(q + 16, s->offset);
        ut__put64(q + 24, s->total);
        ut__put32(q + 32, s->len);
        q += 36;
        if (s->len > 0)
            memcpy(q, s->data, s->len);
        q += s->len;
        break;
    }
    case UT_MSG_SNAPSHOT_RESP:
        ut__put64(q, msg->body.snapshot_resp.index);
        ut__put64(q + 8, msg->body.snapshot_resp.term);
        ut__put64(q + 16, msg->body.snapshot_resp.next);
        q[24] = msg->body.snapshot_resp.done ? 1u : 0u;
        q += 25;
        break;
        /* <<< rsnap */
        /* >>> lock (32-63, issue 14): add here */
        /* <<< lock */

        /* >>> 2pc (64-95, issue 15): add here */
    case UT_MSG_2PC_PREPARE:
    case UT_MSG_2PC_VOTE:
    case UT_MSG_2PC_COMMIT:
    case UT_MSG_2PC_ABORT:
    case UT_MSG_2PC_ACK:
    case UT_MSG_2PC_INQUIRY:
    case UT_MSG_2PC_STATUS: {
        const ut_msg_2pc_t *t = &msg->body.twopc;
        ut__put64(q, t->txid);
        ut__put32(q + 8, t->code);
        ut__put32(q + 12, t->n_peers);
        ut__put32(q + 16, t->len);
        q += UT__MSG_2PC_FIELDS;
        if (t->n_peers > 0)
            memcpy(q, t->peers, (size_t)t->n_peers * 8u);
        q += (size_t)t->n_peers * 8u;
        if (t->len > 0)
            memcpy(q, t->data, t->len);
        q += t->len;
        break;
    }
        /* <<< 2pc */

        /* >>> gossip (96-127, issue 16): add here */
    case UT_MSG_GOSSIP_PING:
    case UT_MSG_GOSSIP_PING_REQ:
    case UT_MSG_GOSSIP_ACK:
    case UT_MSG_GOSSIP_NACK:
    case UT_MSG_GOSSIP_SYNC:
    case UT_MSG_GOSSIP_SYNC_RESP:
    case UT_MSG_GOSSIP_PUSH: {
        const ut_msg_gossip_t *g = &msg->body.gossip;
        ut__put64(q, g->seq);
        ut__put64(q + 8, g->target);
        ut__put64(q + 16, g->origin);
        q = ut__msg_put_entries(q + 24, UT__ENTS_GOSSIP, g->updates, g->n_updates, 0);
        break;
    }
        /* <<< gossip */

        /* >>> replica (128-159, issue 13): add here */
    case UT_MSG_REPL_WRITE:
    case UT_MSG_REPL_ACK:
    case UT_MSG_REPL_LINK:
        ut__put64(q, msg->type == UT_MSG_REPL_WRITE ? msg->body.repl_write.position
                     : msg->type == UT_MSG_REPL_ACK ? msg->body.repl_ack.acked
                                                    : msg->body.repl_link.successor);
        ut__put64(q + 8, msg->type == UT_MSG_REPL_WRITE ? msg->body.repl_write.durable
                         : msg->type == UT_MSG_REPL_ACK ? msg->body.repl_ack.applied
                                                        : msg->body.repl_link.position);
        q += 16;
        if (msg->type != UT_MSG_REPL_LINK) {
            ut__put64(q, msg->type == UT_MSG_REPL_WRITE ? msg->body.repl_write.epoch
                                                        : msg->body.repl_ack.epoch);
            q += 8;
        }
        break;
        /* <<< replica */

    case UT_MSG_APPEND_RESP:
        *q++ = msg->body.append_resp.success ? 1u : 0u;
        ut__put64(q, msg->body.append_resp.index);
        ut__put64(q + 8, msg->body.append_resp.hint_term);
        ut__put64(q + 16, msg->body.append_resp.hint_index);
        ut__put64(q + 24, msg->body.append_resp.read_round);
        q += 32;
        break;
    case UT_MSG_APPEND: {
        const ut_msg_append_t *a = &msg->body.append;
        ut__put64(q, a->prev_index);
        ut__put64(q + 8, a->prev_term);
        ut__put64(q + 16, a->commit);
        /* read_round follows the count and entry-header length (1.1, §5 rule 1). */
        ut__put64(q + 30, a->read_round);
        q = ut__msg_put_entries(q + 24, UT__ENTS_RAFT, a->entries, a->n_entries, 8);
        break;
    }
    default:
        return UT_EINVAL; /* unreachable: ut__msg_check refused it */
    }
    size_t covered = (size_t)(q - p);
    ut__put32(q, ut_crc32c(0, p, covered));
    return UT_OK;
}

/* The header: magic and major, which every future major version keeps in
 * place, then (for major 1) the body length. The bytes present are judged
 * before more are asked for, so a stream that is out of sync, or speaks a
 * newer major, is recognised from its first bytes. */
static int ut__msg_header(const unsigned char *p, size_t len, size_t *frame_len)
{
    if ((len >= 1 && p[0] != UT__MSG_MAGIC0) || (len >= 2 && p[1] != UT__MSG_MAGIC1))
        return UT_ECORRUPT;
    if (len >= 3 && p[2] == 0)
        return UT_ECORRUPT;
    if (len >= 3 && p[2] > UT_MSG_WIRE_MAJOR)
        return UT_EVERSION;
    if (len < UT_MSG_HEADER_SIZE)
        return UT_ERANGE;
    uint32_t body = ut__get32(p + 6);
    if (body > UT_MSG_MAX_FRAME - UT_MSG_HEADER_SIZE - UT__MSG_CRC_SIZE)
        return UT_ECORRUPT;
    *frame_len = UT_MSG_HEADER_SIZE + (size_t)body + UT__MSG_CRC_SIZE;
    return UT_OK;
}

int ut_msg_frame_len(size_t *out, const void *buf, size_t len)
{
    if (out == NULL || (buf == NULL && len > 0))
        return UT_EINVAL;
    int rc = ut__msg_header(buf, len, out);
    if (rc == UT_ERANGE)
        *out = UT_MSG_HEADER_SIZE;
    return rc;
}

static int ut__msg_bool(const unsigned char *p, bool *out)
{
    if (*p > 1u)
        return UT_ECORRUPT;
    *out = *p == 1u;
    return UT_OK;
}

/* Decode one frame. Entries beyond cap are validated but not stored; then
 * UT_ERANGE reports the count in out->body.append.n_entries. */
static int ut__msg_parse(ut_msg_t *out, const unsigned char *p, size_t len, ut_entry_t *entries,
                         size_t cap, size_t *consumed)
{
    size_t frame_len;
    int rc = ut__msg_header(p, len, &frame_len);
    if (rc == UT_ERANGE)
        return UT_ECORRUPT; /* shorter than a header: truncated */
    if (rc != UT_OK)
        return rc;
    if (len < frame_len)
        return UT_ECORRUPT;
    size_t covered = frame_len - UT__MSG_CRC_SIZE;
    if (ut_crc32c(0, p, covered) != ut__get32(p + covered))
        return UT_ECORRUPT;

    /* A newer minor version may append fields, entry-header bytes and body
     * bytes; this version skips them. In a frame of this minor version or an
     * older one, any such byte is corruption. */
    bool newer = p[3] > UT_MSG_WIRE_MINOR;
    bool v10 = p[3] == 0; /* 1.0 sizes: no vote.transfer, no read_round */
    uint32_t type = ut__get16(p + 4);
    size_t known = ut__msg_fields_size(type, v10);
    if (known == 0)
        return UT_ECORRUPT;
    const unsigned char *q = p + UT_MSG_HEADER_SIZE;
    size_t rem = covered - UT_MSG_HEADER_SIZE;
    if (rem < UT__MSG_FIELDS_LEN_SIZE)
        return UT_ECORRUPT;
    size_t fields = ut__get16(q);
    q += UT__MSG_FIELDS_LEN_SIZE;
    rem -= UT__MSG_FIELDS_LEN_SIZE;
    if (fields < known || (fields > known && !newer) || fields > rem)
        return UT_ECORRUPT;
    const unsigned char *f = q;
    q += fields;
    rem -= fields;

    memset(out, 0, sizeof *out);
    out->type = (ut_msg_type_t)type;
    out->from = ut__get64(f);
    out->to = ut__get64(f + 8);
    out->term = ut__get64(f + 16);
    if (out->from == 0 || out->to == 0)
        return UT_ECORRUPT;
    f += UT__MSG_COMMON_FIELDS;

    switch (type) {
    case UT_MSG_VOTE:
    case UT_MSG_PREVOTE:
        out->body.vote.last_log_index = ut__get64(f);
        out->body.vote.last_log_term = ut__get64(f + 8);
        /* >>> rxfer: 1.1; a PreVote is never a transfer */
        if (!v10 && (ut__msg_bool(f + 16, &out->body.vote.transfer) != UT_OK ||
                     (type == UT_MSG_PREVOTE && out->body.vote.transfer)))
            return UT_ECORRUPT;
        /* <<< rxfer */
        break;
    case UT_MSG_VOTE_RESP:
    case UT_MSG_PREVOTE_RESP:
        if (ut__msg_bool(f, &out->body.vote_resp.granted) != UT_OK)
            return UT_ECORRUPT;
        break;
        /* >>> rxfer */
    case UT_MSG_TIMEOUT_NOW:
        break;
    case UT_MSG_READ_INDEX:
    case UT_MSG_READ_INDEX_RESP: {
        ut_msg_read_index_t *r = &out->body.read_index;
        r->index = ut__get64(f);
        r->len = ut__get32(f + 8);
        /* A request carries index 0; the context is bounded, then inside the frame. */
        if ((type == UT_MSG_READ_INDEX && r->index != 0) || r->len > UT_CONSENSUS_MAX_READ_CTX ||
            r->len > rem)
            return UT_ECORRUPT;
        r->ctx = r->len > 0 ? q : NULL;
        q += r->len;
        rem -= r->len;
        break;
    }
        /* <<< rxfer */
        /* >>> rsnap */
    case UT_MSG_SNAPSHOT: {
        ut_msg_snapshot_t *s = &out->body.snapshot;
        s->index = ut__get64(f);
        s->term = ut__get64(f + 8);
        s->offset = ut__get64(f + 16);
        s->total = ut__get64(f + 24);
        s->len = ut__get32(f + 32);
        /* Bounded by the bytes left, and inside the image. */
        if (s->len > rem || s->offset > s->total || s->len > s->total - s->offset)
            return UT_ECORRUPT;
        s->data = s->len > 0 ? q : NULL;
        q += s->len;
        rem -= s->len;
        break;
    }
    case UT_MSG_SNAPSHOT_RESP:
        out->body.snapshot_resp.index = ut__get64(f);
        out->body.snapshot_resp.term = ut__get64(f + 8);
        out->body.snapshot_resp.next = ut__get64(f + 16);
        if (ut__msg_bool(f + 24, &out->body.snapshot_resp.done) != UT_OK)
            return UT_ECORRUPT;
        break;
        /* <<< rsnap */
        /* >>> lock (32-63, issue 14): add here */
        /* <<< lock */

        /* >>> 2pc (64-95, issue 15): add here */
    case UT_MSG_2PC_PREPARE:
    case UT_MSG_2PC_VOTE:
    case UT_MSG_2PC_COMMIT:
    case UT_MSG_2PC_ABORT:
    case UT_MSG_2PC_ACK:
    case UT_MSG_2PC_INQUIRY:
    case UT_MSG_2PC_STATUS: {
        ut_msg_2pc_t *t = &out->body.twopc;
        t->txid = ut__get64(f);
        t->code = ut__get32(f + 8);
        t->n_peers = ut__get32(f + 12);
        t->len = ut__get32(f + 16);
        if (t->txid == 0 || (type != UT_MSG_2PC_PREPARE && (t->n_peers != 0 || t->len != 0)))
            return UT_ECORRUPT;
        /* Bounded by the bytes left before anything is trusted. */
        if ((uint64_t)t->n_peers * 8u > rem || t->len > rem - (size_t)t->n_peers * 8u)
            return UT_ECORRUPT;
        t->peers = t->n_peers > 0 ? q : NULL;
        q += (size_t)t->n_peers * 8u;
        t->data = t->len > 0 ? q : NULL;
        q += t->len;
        rem -= (size_t)t->n_peers * 8u + t->len;
        break;
    }
        /* <<< 2pc */

        /* >>> gossip (96-127, issue 16): add here */
    case UT_MSG_GOSSIP_PING:
    case UT_MSG_GOSSIP_PING_REQ:
    case UT_MSG_GOSSIP_ACK:
    case UT_MSG_GOSSIP_NACK:
    case UT_MSG_GOSSIP_SYNC:
    case UT_MSG_GOSSIP_SYNC_RESP:
    case UT_MSG_GOSSIP_PUSH: {
        /* n_updates sits where append's n_entries does (static assert in
         * src/gossip/gossip.c), so ut_msg_decoder_decode grows its array
         * for either body. */
        ut_msg_gossip_t *g = &out->body.gossip;
        g->seq = ut__get64(f);
        g->target = ut__get64(f + 8);
        g->origin = ut__get64(f + 16);
        size_t n = ut__get32(f + 24);
        size_t ehl = ut__get16(f + 28);
        if (ehl < UT__MSG_ENTRY_HDR || (ehl > UT__MSG_ENTRY_HDR && !newer))
            return UT_ECORRUPT;
        if (n > rem / ehl)
            return UT_ECORRUPT;
        int erc = ut__msg_get_entries(&q, &rem, UT__ENTS_GOSSIP, 0, n, ehl, newer, entries, cap,
                                      &g->updates, &g->n_updates);
        if (erc != UT_OK)
            return erc;
        break;
    }
        /* <<< gossip */

        /* >>> replica (128-159, issue 13): add here */
    case UT_MSG_REPL_WRITE:
        out->body.repl_write.position = ut__get64(f);
        out->body.repl_write.durable = ut__get64(f + 8);
        out->body.repl_write.epoch = ut__get64(f + 16);
        break;
    case UT_MSG_REPL_ACK:
        out->body.repl_ack.acked = ut__get64(f);
        out->body.repl_ack.applied = ut__get64(f + 8);
        out->body.repl_ack.epoch = ut__get64(f + 16);
        break;
    case UT_MSG_REPL_LINK:
        out->body.repl_link.successor = ut__get64(f);
        out->body.repl_link.position = ut__get64(f + 8);
        break;
        /* <<< replica */

    case UT_MSG_APPEND_RESP:
        if (ut__msg_bool(f, &out->body.append_resp.success) != UT_OK)
            return UT_ECORRUPT;
        out->body.append_resp.index = ut__get64(f + 1);
        out->body.append_resp.hint_term = ut__get64(f + 9);
        out->body.append_resp.hint_index = ut__get64(f + 17);
        if (!v10)
            out->body.append_resp.read_round = ut__get64(f + 25);
        break;
    case UT_MSG_APPEND: {
        ut_msg_append_t *a = &out->body.append;
        a->prev_index = ut__get64(f);
        a->prev_term = ut__get64(f + 8);
        a->commit = ut__get64(f + 16);
        size_t n = ut__get32(f + 24);
        size_t ehl = ut__get16(f + 28);
        if (!v10)
            a->read_round = ut__get64(f + 30);
        if (ehl < UT__MSG_ENTRY_HDR || (ehl > UT__MSG_ENTRY_HDR && !newer))
            return UT_ECORRUPT;
        /* Bound the count by the bytes its entry headers would need before
         * trusting it anywhere. */
        if (n > rem / ehl || (uint64_t)n > UINT64_MAX - a->prev_index)
            return UT_ECORRUPT;
        int erc = ut__msg_get_entries(&q, &rem, UT__ENTS_RAFT, a->prev_index, n, ehl, newer,
                                      entries, cap, &a->entries, &a->n_entries);
        if (erc != UT_OK)
            return erc;
        break;
    }
    default:
        return UT_ECORRUPT; /* unreachable: known != 0 */
    }
    if (rem > 0 && !newer)
        return UT_ECORRUPT;
    if (consumed != NULL)
        *consumed = frame_len;
    return UT_OK;
}

int ut_msg_decode(ut_msg_t *out, const void *buf, size_t len, ut_entry_t *entries,
                  size_t entries_cap, size_t *out_consumed)
{
    if (out == NULL || (buf == NULL && len > 0) || (entries == NULL && entries_cap > 0))
        return UT_EINVAL;
    if (buf == NULL)
        return UT_ECORRUPT; /* zero bytes: truncated */
    return ut__msg_parse(out, buf, len, entries, entries_cap, out_consumed);
}

struct ut_msg_decoder {
    ut_entry_t *entries;
    size_t cap;
};

int ut_msg_decoder_new(ut_msg_decoder_t **out)
{
    if (out == NULL)
        return UT_EINVAL;
    ut_msg_decoder_t *d = ut__calloc(1, sizeof *d);
    if (d == NULL)
        return UT_ENOMEM;
    *out = d;
    return UT_OK;
}

void ut_msg_decoder_free(ut_msg_decoder_t *dec)
{
    if (dec == NULL)
        return;
    ut__free(dec->entries);
    ut__free(dec);
}

int ut_msg_decoder_decode(ut_msg_decoder_t *dec, ut_msg_t *out, const void *buf, size_t len,
                          size_t *out_consumed)
{
    if (dec == NULL)
        return UT_EINVAL;
    int rc = ut_msg_decode(out, buf, len, dec->entries, dec->cap, out_consumed);
    if (rc != UT_ERANGE)
        return rc;
    /* The count was checked against the frame's size (at most len / 24
     * entries); ut__grow doubles, so the array stays below twice that. */
    void *p = dec->entries;
    size_t cap = dec->cap;
    rc = ut__grow(&p, &cap, out->body.append.n_entries, sizeof(ut_entry_t));
    if (rc != UT_OK)
        return rc;
    dec->entries = p;
    dec->cap = cap;
    return ut_msg_decode(out, buf, len, dec->entries, dec->cap, out_consumed);
}
