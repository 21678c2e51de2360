/* SPDX-License-Identifier: MIT */
/* Message envelope and codec: CRC32C (both implementations), randomised
 * round trips, golden frames (1.1, written; 1.0, decode-only), truncation and
 * bit flips, backward (1.0) and forward (minor >= 2) compatibility, argument
 * checking. White-box: reaches ut__msg_crc32c_sw/hw. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "msg/codec_internal.h"
#include "msg_equal.h"
#include "test_alloc.h"

#ifndef UT_GOLDEN_DIR
#    error "UT_GOLDEN_DIR must name tests/golden"
#endif

/* ---- helpers ---------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
    /* splitmix64: one seed replays one run. */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rng_below(uint64_t *s, uint64_t n)
{
    return n ? rng_next(s) % n : 0;
}

/* Values that stress the integer encoding: small, boundary, random. */
static uint64_t rng_u64(uint64_t *s)
{
    switch (rng_below(s, 6)) {
    case 0:
        return rng_below(s, 4);
    case 1:
        return UINT64_MAX - rng_below(s, 4);
    case 2:
        return (uint64_t)1 << rng_below(s, 64);
    case 3:
        return rng_below(s, 1000);
    default:
        return rng_next(s);
    }
}

static uint64_t rng_id(uint64_t *s)
{
    uint64_t v = rng_u64(s);
    return v ? v : 1;
}

#define MAX_RAND_ENTRIES 300
static unsigned char payload_pool[8192];
static ut_entry_t rand_entries[MAX_RAND_ENTRIES];

static const ut_msg_type_t body_types[] = {
    UT_MSG_VOTE,        UT_MSG_VOTE_RESP,   UT_MSG_PREVOTE,    UT_MSG_PREVOTE_RESP,   UT_MSG_APPEND,
    UT_MSG_APPEND_RESP, UT_MSG_TIMEOUT_NOW, UT_MSG_READ_INDEX, UT_MSG_READ_INDEX_RESP};
#define N_BODY_TYPES (sizeof body_types / sizeof body_types[0])

/* Types that have a body in wire format 1.0: the others (TIMEOUT_NOW,
 * READ_INDEX, READ_INDEX_RESP) got theirs in 1.1. */
static bool in_v10(ut_msg_type_t t)
{
    return t >= UT_MSG_VOTE && t <= UT_MSG_APPEND_RESP;
}

/* What a 1.0 frame of m decodes to: m without the fields 1.1 added. */
static ut_msg_t as_v10(const ut_msg_t *m)
{
    ut_msg_t v = *m;
    if (v.type == UT_MSG_VOTE || v.type == UT_MSG_PREVOTE)
        v.body.vote.transfer = false;
    else if (v.type == UT_MSG_APPEND)
        v.body.append.read_round = 0;
    else if (v.type == UT_MSG_APPEND_RESP)
        v.body.append_resp.read_round = 0;
    return v;
}

static void rand_msg(uint64_t *s, ut_msg_t *m, ut_msg_type_t type)
{
    memset(m, 0, sizeof *m);
    m->type = type;
    m->from = rng_id(s);
    m->to = rng_id(s);
    m->term = rng_u64(s);
    switch (type) {
    case UT_MSG_VOTE:
    case UT_MSG_PREVOTE:
        m->body.vote.last_log_index = rng_u64(s);
        m->body.vote.last_log_term = rng_u64(s);
        /* A PreVote is never a transfer (wire 1.1). */
        m->body.vote.transfer = type == UT_MSG_VOTE && rng_below(s, 2) == 1;
        break;
    case UT_MSG_VOTE_RESP:
    case UT_MSG_PREVOTE_RESP:
        m->body.vote_resp.granted = rng_below(s, 2) == 1;
        break;
    case UT_MSG_APPEND_RESP:
        m->body.append_resp.success = rng_below(s, 2) == 1;
        m->body.append_resp.index = rng_u64(s);
        m->body.append_resp.hint_term = rng_u64(s);
        m->body.append_resp.hint_index = rng_u64(s);
        m->body.append_resp.read_round = rng_u64(s);
        break;
    case UT_MSG_TIMEOUT_NOW:
        break;
    case UT_MSG_READ_INDEX:
    case UT_MSG_READ_INDEX_RESP: {
        ut_msg_read_index_t *r = &m->body.read_index;
        /* A request carries index 0; an answer any index (0: refused). */
        r->index = type == UT_MSG_READ_INDEX_RESP ? rng_u64(s) : 0;
        r->len = rng_below(s, 4) == 0 ? 0u : (uint32_t)rng_below(s, 100);
        if (rng_below(s, 30) == 0)
            r->len = UT_CONSENSUS_MAX_READ_CTX - (uint32_t)rng_below(s, 2);
        size_t off = (size_t)rng_below(s, sizeof payload_pool - r->len + 1);
        r->ctx = r->len > 0 ? payload_pool + off : (rng_below(s, 2) ? payload_pool : NULL);
        break;
    }
    case UT_MSG_APPEND: {
        ut_msg_append_t *a = &m->body.append;
        size_t n = rng_below(s, 10) == 0 ? (size_t)rng_below(s, MAX_RAND_ENTRIES + 1)
                                         : (size_t)rng_below(s, 9);
        a->prev_index = rng_u64(s);
        if (a->prev_index > UINT64_MAX - n)
            a->prev_index = UINT64_MAX - n;
        a->prev_term = rng_u64(s);
        a->commit = rng_u64(s);
        a->read_round = rng_u64(s);
        a->n_entries = n;
        a->entries = n > 0 ? rand_entries : (rng_below(s, 2) ? rand_entries : NULL);
        for (size_t i = 0; i < n; i++) {
            ut_entry_t *e = &rand_entries[i];
            e->term = rng_u64(s);
            e->index = a->prev_index + 1 + i;
            e->type = rng_below(s, 4) == 0 ? (uint32_t)rng_next(s) : (uint32_t)rng_below(s, 3);
            e->len = rng_below(s, 4) == 0 ? 0u : (uint32_t)rng_below(s, 100);
            if (rng_below(s, 50) == 0)
                e->len = (uint32_t)rng_below(s, sizeof payload_pool);
            size_t off = (size_t)rng_below(s, sizeof payload_pool - e->len + 1);
            e->data = e->len > 0 ? payload_pool + off : (rng_below(s, 2) ? payload_pool : NULL);
        }
        break;
    }
    default:
        break;
    }
}

static void init_pool(void)
{
    uint64_t s = 42;
    for (size_t i = 0; i < sizeof payload_pool; i++)
        payload_pool[i] = (unsigned char)rng_next(&s);
}

/* An independent, test-side encoder with knobs for what a newer minor
 * version may add: extra field bytes, longer entry headers, a body tail. It
 * follows docs/wire-format.md and cross-checks the library's encoder. Minor
 * 0 writes the 1.0 layout (no vote.transfer, no read_round), any other minor
 * the 1.1 layout; it writes whatever it is given (no validation), so tests
 * also build refused frames with it. */
typedef struct ext {
    unsigned major, minor;
    size_t extra_fields, extra_entry_hdr, extra_tail;
} ext_t;

static void put_le(unsigned char **p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        *(*p)++ = (unsigned char)(v >> (8 * i));
}

static size_t ref_encode(const ut_msg_t *m, const ext_t *x, unsigned char *buf)
{
    unsigned char *p = buf + 10;
    size_t fields_at = 10;
    size_t known;
    bool v10 = x->minor == 0;
    p += 2;
    put_le(&p, m->from, 8);
    put_le(&p, m->to, 8);
    put_le(&p, m->term, 8);
    switch (m->type) {
    case UT_MSG_VOTE:
    case UT_MSG_PREVOTE:
        put_le(&p, m->body.vote.last_log_index, 8);
        put_le(&p, m->body.vote.last_log_term, 8);
        if (!v10)
            put_le(&p, m->body.vote.transfer, 1);
        break;
    case UT_MSG_VOTE_RESP:
    case UT_MSG_PREVOTE_RESP:
        put_le(&p, m->body.vote_resp.granted, 1);
        break;
    case UT_MSG_APPEND_RESP:
        put_le(&p, m->body.append_resp.success, 1);
        put_le(&p, m->body.append_resp.index, 8);
        put_le(&p, m->body.append_resp.hint_term, 8);
        put_le(&p, m->body.append_resp.hint_index, 8);
        if (!v10)
            put_le(&p, m->body.append_resp.read_round, 8);
        break;
    case UT_MSG_APPEND:
        put_le(&p, m->body.append.prev_index, 8);
        put_le(&p, m->body.append.prev_term, 8);
        put_le(&p, m->body.append.commit, 8);
        put_le(&p, m->body.append.n_entries, 4);
        put_le(&p, 24 + x->extra_entry_hdr, 2);
        if (!v10)
            put_le(&p, m->body.append.read_round, 8);
        break;
    case UT_MSG_READ_INDEX:
    case UT_MSG_READ_INDEX_RESP:
        put_le(&p, m->body.read_index.index, 8);
        put_le(&p, m->body.read_index.len, 4);
        break;
    default: /* TIMEOUT_NOW: the common fields only */
        break;
    }
    known = (size_t)(p - buf) - fields_at - 2;
    for (size_t i = 0; i < x->extra_fields; i++)
        *p++ = (unsigned char)(0xE0 + i);
    unsigned char *fl = buf + fields_at;
    put_le(&fl, known + x->extra_fields, 2);
    if (m->type == UT_MSG_READ_INDEX || m->type == UT_MSG_READ_INDEX_RESP) {
        if (m->body.read_index.len > 0)
            memcpy(p, m->body.read_index.ctx, m->body.read_index.len);
        p += m->body.read_index.len;
    }
    if (m->type == UT_MSG_APPEND) {
        for (size_t i = 0; i < m->body.append.n_entries; i++) {
            const ut_entry_t *e = &m->body.append.entries[i];
            put_le(&p, e->term, 8);
            put_le(&p, e->index, 8);
            put_le(&p, e->type, 4);
            put_le(&p, e->len, 4);
            for (size_t k = 0; k < x->extra_entry_hdr; k++)
                *p++ = 0xEE;
            if (e->len)
                memcpy(p, e->data, e->len);
            p += e->len;
        }
    }
    for (size_t i = 0; i < x->extra_tail; i++)
        *p++ = 0x7A;
    size_t body = (size_t)(p - buf) - 10;
    unsigned char *h = buf;
    *h++ = 'U';
    *h++ = 'T';
    *h++ = (unsigned char)x->major;
    *h++ = (unsigned char)x->minor;
    put_le(&h, (uint64_t)m->type, 2);
    put_le(&h, body, 4);
    uint32_t crc = ut__msg_crc32c_sw(0, buf, (size_t)(p - buf));
    put_le(&p, crc, 4);
    return (size_t)(p - buf);
}

static const ext_t ext_v10 = {1, 0, 0, 0, 0};
static const ext_t ext_v11 = {1, 1, 0, 0, 0};

/* Recompute the CRC of a frame whose body was edited, so a test reaches the
 * checks behind the CRC. */
static void fix_crc(unsigned char *f, size_t len)
{
    if (len < 14)
        return;
    uint32_t c = ut__msg_crc32c_sw(0, f, len - 4);
    unsigned char *p = f + len - 4;
    put_le(&p, c, 4);
}

static void fix_len_crc(unsigned char *f, size_t len)
{
    unsigned char *p = f + 6;
    put_le(&p, len - 14, 4);
    fix_crc(f, len);
}

/* ---- CRC32C ------------------------------------------------------------ */

static uint32_t crc_bitwise(uint32_t crc, const unsigned char *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static void test_crc32c_known_vectors(void **state)
{
    (void)state;
    unsigned char z[32], ff[32], inc[32], dec[32];
    for (int i = 0; i < 32; i++) {
        z[i] = 0;
        ff[i] = 0xFF;
        inc[i] = (unsigned char)i;
        dec[i] = (unsigned char)(31 - i);
    }
    /* "123456789" is the catalogue check value; the four 32-byte vectors are
     * RFC 3720 §B.4's. */
    const struct {
        const void *p;
        size_t n;
        uint32_t crc;
    } v[] = {{"123456789", 9, 0xE3069283u}, {z, 32, 0x8A9136AAu},   {ff, 32, 0x62A8AB43u},
             {inc, 32, 0x46DD794Eu},        {dec, 32, 0x113FDB5Cu}, {"", 0, 0u}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        assert_int_equal(ut__msg_crc32c_sw(0, v[i].p, v[i].n), v[i].crc);
        assert_int_equal(ut_crc32c(0, v[i].p, v[i].n), v[i].crc);
        assert_int_equal(crc_bitwise(0, v[i].p, v[i].n), v[i].crc);
        if (ut__msg_crc32c_hw_available())
            assert_int_equal(ut__msg_crc32c_hw(0, v[i].p, v[i].n), v[i].crc);
    }
    assert_int_equal(ut_crc32c(0x1234u, NULL, 0), 0x1234u);
    assert_int_equal(ut_crc32c(0x1234u, NULL, 5), 0x1234u);
    if (!ut__msg_crc32c_hw_available())
        print_message("# SSE4.2 not available: hardware CRC path not tested\n");
}

static void test_crc32c_paths_agree(void **state)
{
    (void)state;
    /* Every length 0..300 at every alignment 0..7, plus chaining at every
     * split: both implementations equal the bitwise definition. */
    static unsigned char buf[512];
    uint64_t s = 7;
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)rng_next(&s);
    for (size_t off = 0; off < 8; off++) {
        for (size_t n = 0; n <= 300; n++) {
            uint32_t want = crc_bitwise(0, buf + off, n);
            assert_int_equal(ut__msg_crc32c_sw(0, buf + off, n), want);
            if (ut__msg_crc32c_hw_available())
                assert_int_equal(ut__msg_crc32c_hw(0, buf + off, n), want);
            size_t cut = n / 3;
            assert_int_equal(ut_crc32c(ut_crc32c(0, buf + off, cut), buf + off + cut, n - cut),
                             want);
            assert_int_equal(ut__msg_crc32c_sw(ut__msg_crc32c_sw(0xDEADBEEFu, buf + off, cut),
                                               buf + off + cut, n - cut),
                             crc_bitwise(0xDEADBEEFu, buf + off, n));
        }
    }
}

static void test_crc32c_long_inputs(void **state)
{
    (void)state;
    /* Lengths around the hardware path's block sizes (3 x 1024 and 3 x 128
     * bytes, merged with shift tables) and the codec's 4 KiB workload. */
    static unsigned char buf[3 * 1024 * 4 + 64];
    uint64_t s = 8;
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)rng_next(&s);
    static const size_t lens[] = {383,  384,  385,  767,  768,  769,  3071, 3072,
                                  3073, 3455, 3456, 3457, 4096, 4190, 6143, 6144,
                                  6145, 7000, 8191, 8192, 9999, 12288};
    for (size_t off = 0; off < 8; off += 3) {
        for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
            uint32_t want = crc_bitwise(0, buf + off, lens[i]);
            assert_int_equal(ut__msg_crc32c_sw(0, buf + off, lens[i]), want);
            if (ut__msg_crc32c_hw_available())
                assert_int_equal(ut__msg_crc32c_hw(0, buf + off, lens[i]), want);
            assert_int_equal(ut_crc32c(0x5555u, buf + off, lens[i]),
                             crc_bitwise(0x5555u, buf + off, lens[i]));
        }
    }
}

/* ---- round trips ------------------------------------------------------- */

static void roundtrip_one(const ut_msg_t *m, ut_msg_decoder_t *dec)
{
    static unsigned char buf[1 << 20], ref[1 << 20];
    static ut_entry_t ents[MAX_RAND_ENTRIES];
    size_t need = 0, len = 0, used = 0;
    assert_int_equal(ut_msg_validate(m), UT_OK);
    assert_int_equal(ut_msg_encoded_size(m, &need), UT_OK);
    assert_true(need <= sizeof buf);
    assert_int_equal(ut_msg_encode(m, buf, sizeof buf, &len), UT_OK);
    assert_int_equal(len, need);
    /* The independent encoder writes the same bytes: a 1.1 frame. */
    assert_int_equal(buf[3], 1);
    assert_int_equal(ref_encode(m, &ext_v11, ref), len);
    assert_memory_equal(ref, buf, len);

    size_t flen = 0;
    assert_int_equal(ut_msg_frame_len(&flen, buf, UT_MSG_HEADER_SIZE), UT_OK);
    assert_int_equal(flen, len);

    ut_msg_t out;
    assert_int_equal(ut_msg_decode(&out, buf, len, ents, MAX_RAND_ENTRIES, &used), UT_OK);
    assert_int_equal(used, len);
    assert_true(msg_equal(m, &out));
    assert_int_equal(ut_msg_validate(&out), UT_OK);
    if (out.type == UT_MSG_APPEND) {
        for (size_t i = 0; i < out.body.append.n_entries; i++) {
            const ut_entry_t *e = &out.body.append.entries[i];
            /* Zero-copy: payloads point into the frame. */
            if (e->len > 0)
                assert_true((const unsigned char *)e->data > buf &&
                            (const unsigned char *)e->data + e->len <= buf + len);
            else
                assert_null(e->data);
        }
    }
    ut_msg_t out2;
    used = 0;
    assert_int_equal(ut_msg_decoder_decode(dec, &out2, buf, len, &used), UT_OK);
    assert_int_equal(used, len);
    assert_true(msg_equal(m, &out2));

    /* Backward compatibility: the same message as a 1.0 frame (what a 0.2
     * peer sends) decodes to it without the 1.1 fields; a type that got its
     * body in 1.1 has no 1.0 frame. */
    size_t len10 = ref_encode(m, &ext_v10, ref);
    int rc10 = ut_msg_decode(&out, ref, len10, ents, MAX_RAND_ENTRIES, &used);
    if (in_v10(m->type)) {
        ut_msg_t want = as_v10(m);
        assert_int_equal(rc10, UT_OK);
        assert_int_equal(used, len10);
        assert_true(msg_equal(&want, &out));
        /* 1.1 is 1.0 plus 1 byte (vote) or 8 bytes (append, append_resp). */
        size_t grow = m->type == UT_MSG_VOTE || m->type == UT_MSG_PREVOTE         ? 1
                      : m->type == UT_MSG_APPEND || m->type == UT_MSG_APPEND_RESP ? 8
                                                                                  : 0;
        assert_int_equal(len10 + grow, len);
    } else {
        assert_int_equal(rc10, UT_ECORRUPT);
    }
}

static void test_roundtrip_random(void **state)
{
    (void)state;
    ut_msg_decoder_t *dec = NULL;
    assert_int_equal(ut_msg_decoder_new(&dec), UT_OK);
    uint64_t s = 0x5EED0001u;
    size_t cases = 0;
    for (size_t t = 0; t < N_BODY_TYPES; t++) {
        for (int i = 0; i < 3000; i++) {
            ut_msg_t m;
            rand_msg(&s, &m, body_types[t]);
            roundtrip_one(&m, dec);
            cases++;
        }
    }
    assert_true(cases >= 27000);
    ut_msg_decoder_free(dec);
}

/* ---- golden frames ----------------------------------------------------- */

static const unsigned char golden_payload_a[] = {'s', 'e', 't', ' ', 'x', '=', '1'};
static const ut_entry_t golden_entries[] = {
    {7, 101, UT_ENTRY_NORMAL, sizeof golden_payload_a, golden_payload_a},
    {7, 102, UT_ENTRY_NOOP, 0, NULL},
    {8, 103, UT_ENTRY_NORMAL, 3, "\x00\xff\x80"},
};

typedef struct golden {
    const char *file;
    ut_msg_t msg;
} golden_t;

/* 1.1 frames (tests/golden/<name>_v1_1.hex): the encoder writes exactly these
 * bytes. The first eight are the 1.0 goldens' messages with the 1.1 fields set
 * where a type has them; then the types and fields new in 1.1. */
#define N_GOLDENS 13
static golden_t goldens[N_GOLDENS];

/* 1.0 frames (tests/golden/<name>.hex), written by 0.1 and 0.2: decode-only
 * since this library writes 1.1, and they must decode to these messages for
 * as long as major 1 lives (backward compatibility, docs/wire-format.md §5). */
#define N_GOLDENS10 8
static golden_t goldens10[N_GOLDENS10];

static const unsigned char golden_ctx[] = {'g', 'e', 't', ' ', 'k', '7'};

static void init_goldens(void)
{
    ut_msg_t *m;
    memset(goldens10, 0, sizeof goldens10);
    goldens10[0].file = "vote.hex";
    m = &goldens10[0].msg;
    m->type = UT_MSG_VOTE, m->from = 1, m->to = 2, m->term = 5;
    m->body.vote.last_log_index = 100, m->body.vote.last_log_term = 4;

    goldens10[1].file = "vote_resp.hex";
    m = &goldens10[1].msg;
    m->type = UT_MSG_VOTE_RESP, m->from = 2, m->to = 1, m->term = 5;
    m->body.vote_resp.granted = true;

    goldens10[2].file = "prevote.hex";
    m = &goldens10[2].msg;
    m->type = UT_MSG_PREVOTE, m->from = 3, m->to = 0x0102030405060708ull, m->term = 6;
    m->body.vote.last_log_index = 0xFFFFFFFFFFFFFFFFull, m->body.vote.last_log_term = 0;

    goldens10[3].file = "prevote_resp.hex";
    m = &goldens10[3].msg;
    m->type = UT_MSG_PREVOTE_RESP, m->from = 0x0102030405060708ull, m->to = 3, m->term = 6;
    m->body.vote_resp.granted = false;

    goldens10[4].file = "append.hex";
    m = &goldens10[4].msg;
    m->type = UT_MSG_APPEND, m->from = 1, m->to = 3, m->term = 8;
    m->body.append.prev_index = 100, m->body.append.prev_term = 6, m->body.append.commit = 99;
    m->body.append.n_entries = 3, m->body.append.entries = golden_entries;

    goldens10[5].file = "append_heartbeat.hex";
    m = &goldens10[5].msg;
    m->type = UT_MSG_APPEND, m->from = 1, m->to = 2, m->term = 8;
    m->body.append.prev_index = 103, m->body.append.prev_term = 8, m->body.append.commit = 103;

    goldens10[6].file = "append_resp.hex";
    m = &goldens10[6].msg;
    m->type = UT_MSG_APPEND_RESP, m->from = 3, m->to = 1, m->term = 8;
    m->body.append_resp.success = true, m->body.append_resp.index = 103;

    goldens10[7].file = "append_resp_reject.hex";
    m = &goldens10[7].msg;
    m->type = UT_MSG_APPEND_RESP, m->from = 2, m->to = 1, m->term = 8;
    m->body.append_resp.success = false, m->body.append_resp.index = 100;
    m->body.append_resp.hint_term = 5, m->body.append_resp.hint_index = 90;

    memset(goldens, 0, sizeof goldens);
    static const char *const names11[N_GOLDENS] = {
        "vote_v1_1.hex",
        "vote_resp_v1_1.hex",
        "prevote_v1_1.hex",
        "prevote_resp_v1_1.hex",
        "append_v1_1.hex",
        "append_heartbeat_v1_1.hex",
        "append_resp_v1_1.hex",
        "append_resp_reject_v1_1.hex",
        "vote_transfer_v1_1.hex",
        "timeout_now_v1_1.hex",
        "read_index_v1_1.hex",
        "read_index_resp_v1_1.hex",
        "read_index_resp_refused_v1_1.hex",
    };
    for (size_t g = 0; g < N_GOLDENS; g++)
        goldens[g].file = names11[g];
    for (size_t g = 0; g < N_GOLDENS10; g++)
        goldens[g].msg = goldens10[g].msg;
    goldens[4].msg.body.append.read_round = 7;
    goldens[5].msg.body.append.read_round = 12;
    goldens[6].msg.body.append_resp.read_round = 7;
    /* goldens[7]: the answer to an AppendEntries without a read round (0). */

    m = &goldens[8].msg; /* a candidate campaigning on TimeoutNow (thesis §3.10) */
    m->type = UT_MSG_VOTE, m->from = 2, m->to = 3, m->term = 9;
    m->body.vote.last_log_index = 103, m->body.vote.last_log_term = 8;
    m->body.vote.transfer = true;

    m = &goldens[9].msg;
    m->type = UT_MSG_TIMEOUT_NOW, m->from = 1, m->to = 2, m->term = 8;

    m = &goldens[10].msg; /* a follower forwards a read (thesis §6.4) */
    m->type = UT_MSG_READ_INDEX, m->from = 3, m->to = 1, m->term = 8;
    m->body.read_index.ctx = golden_ctx, m->body.read_index.len = sizeof golden_ctx;

    m = &goldens[11].msg;
    m->type = UT_MSG_READ_INDEX_RESP, m->from = 1, m->to = 3, m->term = 8;
    m->body.read_index.index = 103;
    m->body.read_index.ctx = golden_ctx, m->body.read_index.len = sizeof golden_ctx;

    m = &goldens[12].msg; /* refused (no leader of this term): index 0, empty context */
    m->type = UT_MSG_READ_INDEX_RESP, m->from = 1, m->to = 3, m->term = 8;
}

/* Hex file: '#' starts a comment to the end of the line; whitespace is
 * ignored; the rest is pairs of hex digits. */
static size_t read_hex(const char *name, unsigned char *out, size_t cap)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", UT_GOLDEN_DIR, name);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    size_t n = 0;
    int c, hi = -1;
    bool comment = false;
    while ((c = fgetc(f)) != EOF) {
        if (comment) {
            comment = c != '\n';
            continue;
        }
        if (c == '#') {
            comment = true;
            continue;
        }
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
            continue;
        int v = 0;
        if (c >= '0' && c <= '9')
            v = c - '0';
        else if (c >= 'a' && c <= 'f')
            v = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v = c - 'A' + 10;
        else
            fail_msg("%s: bad character '%c'", path, c);
        if (hi < 0) {
            hi = v;
        } else {
            if (n >= cap)
                fail_msg("%s: too long", path);
            out[n++] = (unsigned char)(hi << 4 | v);
            hi = -1;
        }
    }
    fclose(f);
    if (hi >= 0)
        fail_msg("%s: odd number of hex digits", path);
    return n;
}

static void write_hex(const char *name, const ut_msg_t *m, const unsigned char *b, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", UT_GOLDEN_DIR, name);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        fail_msg("cannot write %s", path);
    fprintf(f, "# %s frame, wire format %u.%u (see docs/wire-format.md). Generated by\n",
            ut_msg_type_name(m->type), UT_MSG_WIRE_MAJOR, UT_MSG_WIRE_MINOR);
    fprintf(f, "# UT_MSG_GOLDEN_WRITE=1 test_msg; never edit or regenerate to make a test\n");
    fprintf(f, "# pass: a change here is a wire format change.\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x%s", b[i], (i % 16 == 15 || i + 1 == n) ? "\n" : " ");
    fclose(f);
}

static void test_golden_frames(void **state)
{
    (void)state;
    init_goldens();
    bool regen = getenv("UT_MSG_GOLDEN_WRITE") != NULL;
    for (size_t g = 0; g < N_GOLDENS; g++) {
        unsigned char enc[512], file[512];
        size_t len;
        const ut_msg_t *m = &goldens[g].msg;
        assert_int_equal(ut_msg_encode(m, enc, sizeof enc, &len), UT_OK);
        if (regen)
            write_hex(goldens[g].file, m, enc, len);
        size_t flen = read_hex(goldens[g].file, file, sizeof file);
        assert_int_equal(flen, len);
        assert_memory_equal(file, enc, len);
        assert_int_equal(file[3], 1);
        ut_entry_t ents[4];
        ut_msg_t out;
        size_t used;
        assert_int_equal(ut_msg_decode(&out, file, flen, ents, 4, &used), UT_OK);
        assert_int_equal(used, flen);
        assert_true(msg_equal(m, &out));
    }
}

/* Does a 1.1 body of this type differ from its 1.0 body? */
static bool grew_in_v11(ut_msg_type_t t)
{
    return t == UT_MSG_VOTE || t == UT_MSG_PREVOTE || t == UT_MSG_APPEND || t == UT_MSG_APPEND_RESP;
}

static void test_golden_v10_frames_decode(void **state)
{
    (void)state;
    init_goldens();
    for (size_t g = 0; g < N_GOLDENS10; g++) {
        unsigned char file[512];
        ut_entry_t ents[4];
        ut_msg_t out;
        size_t used = 0;
        size_t flen = read_hex(goldens10[g].file, file, sizeof file);
        assert_int_equal(file[3], 0);
        assert_int_equal(ut_msg_decode(&out, file, flen, ents, 4, &used), UT_OK);
        assert_int_equal(used, flen);
        assert_true(msg_equal(&goldens10[g].msg, &out));
        assert_false(out.type == UT_MSG_VOTE && out.body.vote.transfer);
        /* The 1.1 golden of the same message, less its 1.1 fields. */
        ut_msg_t want = as_v10(&goldens[g].msg);
        assert_true(msg_equal(&want, &out));
        /* The decoder object agrees. */
        ut_msg_decoder_t *dec;
        assert_int_equal(ut_msg_decoder_new(&dec), UT_OK);
        assert_int_equal(ut_msg_decoder_decode(dec, &out, file, flen, &used), UT_OK);
        assert_true(msg_equal(&goldens10[g].msg, &out));
        ut_msg_decoder_free(dec);
        /* Relabelled as minor 1 or newer, a 1.0-sized body lacks the 1.1
         * fields: corrupt where 1.1 added some, the same message where not. */
        for (unsigned minor = 1; minor <= 3; minor++) {
            file[3] = (unsigned char)minor;
            fix_crc(file, flen);
            int rc = ut_msg_decode(&out, file, flen, ents, 4, &used);
            if (grew_in_v11(goldens10[g].msg.type)) {
                assert_int_equal(rc, UT_ECORRUPT);
            } else {
                assert_int_equal(rc, UT_OK);
                assert_true(msg_equal(&goldens10[g].msg, &out));
            }
        }
    }
}

static void test_golden_newer_minor_frame(void **state)
{
    (void)state;
    init_goldens();
    unsigned char file[512], ref[512];
    size_t flen = read_hex("append_v1_3_ext.hex", file, sizeof file);
    ut_entry_t ents[4];
    ut_msg_t out;
    size_t used;
    assert_int_equal(file[3], 3);
    assert_int_equal(ut_msg_decode(&out, file, flen, ents, 4, &used), UT_OK);
    assert_int_equal(used, flen);
    assert_true(msg_equal(&goldens[4].msg, &out));
    /* The hand-written file and the test's encoder agree on the layout. */
    const ext_t x = {1, 3, 4, 8, 5};
    assert_int_equal(ref_encode(&goldens[4].msg, &x, ref), flen);
    assert_memory_equal(ref, file, flen);
    /* Claiming 1.1 (this library's own minor) or 1.0 with the same
     * extensions is corruption. */
    for (unsigned minor = 0; minor <= 1; minor++) {
        file[3] = (unsigned char)minor;
        fix_crc(file, flen);
        assert_int_equal(ut_msg_decode(&out, file, flen, ents, 4, &used), UT_ECORRUPT);
    }
}

/* One frame spelled out byte by byte (CRC excluded), as docs/wire-format.md's
 * worked examples. */
static void check_spelled(const ut_msg_t *m, const unsigned char *want, size_t n)
{
    unsigned char enc[512];
    size_t len;
    assert_int_equal(ut_msg_encode(m, enc, sizeof enc, &len), UT_OK);
    assert_int_equal(len, n + 4);
    assert_memory_equal(enc, want, n);
    uint32_t crc = ut__msg_crc32c_sw(0, want, n);
    assert_int_equal(
        enc[len - 4] | enc[len - 3] << 8 | enc[len - 2] << 16 | (uint32_t)enc[len - 1] << 24, crc);
}

static void test_golden_vote_layout(void **state)
{
    (void)state;
    static const unsigned char want11[] = {
        0x55, 0x54, 0x01, 0x01,             /* magic, 1.1 */
        0x01, 0x00,                         /* type VOTE */
        0x2b, 0x00, 0x00, 0x00,             /* body 43 bytes */
        0x29, 0x00,                         /* fields 41 bytes */
        0x01, 0,    0,    0,    0, 0, 0, 0, /* from 1 */
        0x02, 0,    0,    0,    0, 0, 0, 0, /* to 2 */
        0x05, 0,    0,    0,    0, 0, 0, 0, /* term 5 */
        0x64, 0,    0,    0,    0, 0, 0, 0, /* last_log_index 100 */
        0x04, 0,    0,    0,    0, 0, 0, 0, /* last_log_term 4 */
        0x00,                               /* transfer false */
    };
    static const unsigned char want10[] = {
        0x55, 0x54, 0x01, 0x00,             /* magic, 1.0 */
        0x01, 0x00,                         /* type VOTE */
        0x2a, 0x00, 0x00, 0x00,             /* body 42 bytes */
        0x28, 0x00,                         /* fields 40 bytes */
        0x01, 0,    0,    0,    0, 0, 0, 0, /* from 1 */
        0x02, 0,    0,    0,    0, 0, 0, 0, /* to 2 */
        0x05, 0,    0,    0,    0, 0, 0, 0, /* term 5 */
        0x64, 0,    0,    0,    0, 0, 0, 0, /* last_log_index 100 */
        0x04, 0,    0,    0,    0, 0, 0, 0, /* last_log_term 4 */
    };
    init_goldens();
    check_spelled(&goldens[0].msg, want11, sizeof want11);
    /* The 1.0 worked example is the recorded vote.hex. */
    unsigned char file[128];
    size_t flen = read_hex("vote.hex", file, sizeof file);
    assert_int_equal(flen, sizeof want10 + 4);
    assert_memory_equal(file, want10, sizeof want10);
    uint32_t crc = ut__msg_crc32c_sw(0, want10, sizeof want10);
    assert_int_equal(file[flen - 4] | file[flen - 3] << 8 | file[flen - 2] << 16 |
                         (uint32_t)file[flen - 1] << 24,
                     crc);
}

static void test_golden_v11_layouts(void **state)
{
    (void)state;
    init_goldens();
    /* APPEND heartbeat: read_round after n_entries and entry_hdr_len, so the
     * frame is UT_CONSENSUS_APPEND_OVERHEAD bytes. */
    static const unsigned char hb[] = {
        0x55, 0x54, 0x01, 0x01, 0x05, 0x00, 0x40, 0, 0, 0, /* APPEND, body 64 */
        0x3e, 0x00,                                        /* fields 62 */
        0x01, 0,    0,    0,    0,    0,    0,    0,       /* from 1 */
        0x02, 0,    0,    0,    0,    0,    0,    0,       /* to 2 */
        0x08, 0,    0,    0,    0,    0,    0,    0,       /* term 8 */
        0x67, 0,    0,    0,    0,    0,    0,    0,       /* prev_index 103 */
        0x08, 0,    0,    0,    0,    0,    0,    0,       /* prev_term 8 */
        0x67, 0,    0,    0,    0,    0,    0,    0,       /* commit 103 */
        0,    0,    0,    0,                               /* n_entries 0 */
        0x18, 0x00,                                        /* entry_hdr_len 24 */
        0x0c, 0,    0,    0,    0,    0,    0,    0,       /* read_round 12 */
    };
    check_spelled(&goldens[5].msg, hb, sizeof hb);
    assert_int_equal(sizeof hb + 4, UT_CONSENSUS_APPEND_OVERHEAD);

    static const unsigned char resp[] = {
        0x55, 0x54, 0x01, 0x01, 0x06, 0x00, 0x3b, 0, 0, 0, /* APPEND_RESP, body 59 */
        0x39, 0x00,                                        /* fields 57 */
        0x03, 0,    0,    0,    0,    0,    0,    0,       /* from 3 */
        0x01, 0,    0,    0,    0,    0,    0,    0,       /* to 1 */
        0x08, 0,    0,    0,    0,    0,    0,    0,       /* term 8 */
        0x01,                                              /* success */
        0x67, 0,    0,    0,    0,    0,    0,    0,       /* index 103 */
        0,    0,    0,    0,    0,    0,    0,    0,       /* hint_term 0 */
        0,    0,    0,    0,    0,    0,    0,    0,       /* hint_index 0 */
        0x07, 0,    0,    0,    0,    0,    0,    0,       /* read_round 7 */
    };
    check_spelled(&goldens[6].msg, resp, sizeof resp);

    static const unsigned char tn[] = {
        0x55, 0x54, 0x01, 0x01, 0x09, 0x00, 0x1a, 0, 0, 0, /* TIMEOUT_NOW, body 26 */
        0x18, 0x00,                                        /* fields 24 */
        0x01, 0,    0,    0,    0,    0,    0,    0,       /* from 1 */
        0x02, 0,    0,    0,    0,    0,    0,    0,       /* to 2 */
        0x08, 0,    0,    0,    0,    0,    0,    0,       /* term 8 */
    };
    check_spelled(&goldens[9].msg, tn, sizeof tn);

    static const unsigned char ri[] = {
        0x55, 0x54, 0x01, 0x01, 0x0b, 0x00, 0x2c, 0, 0, 0, /* READ_INDEX_RESP, body 44 */
        0x24, 0x00,                                        /* fields 36 */
        0x01, 0,    0,    0,    0,    0,    0,    0,       /* from 1 */
        0x03, 0,    0,    0,    0,    0,    0,    0,       /* to 3 */
        0x08, 0,    0,    0,    0,    0,    0,    0,       /* term 8 */
        0x67, 0,    0,    0,    0,    0,    0,    0,       /* index 103 */
        0x06, 0,    0,    0,                               /* len 6 */
        'g',  'e',  't',  ' ',  'k',  '7',                 /* ctx, after the fields */
    };
    check_spelled(&goldens[11].msg, ri, sizeof ri);
}

/* ---- damage ------------------------------------------------------------ */

/* A heap copy of exactly n bytes, so that under ASan a read past the input
 * is caught (a static buffer has valid bytes after the cut). */
static unsigned char *exact_copy(const unsigned char *b, size_t n)
{
    unsigned char *c = malloc(n ? n : 1);
    assert_non_null(c);
    if (n)
        memcpy(c, b, n);
    return c;
}

static void check_rejected_or_valid(const unsigned char *in, size_t n)
{
    static ut_entry_t ents[4096];
    ut_msg_t out;
    size_t used = 0;
    unsigned char *b = exact_copy(in, n);
    int rc = ut_msg_decode(&out, b, n, ents, 4096, &used);
    if (rc == UT_OK) {
        assert_int_equal(ut_msg_validate(&out), UT_OK);
        assert_true(used <= n);
        static unsigned char re[1 << 20];
        size_t rlen;
        assert_int_equal(ut_msg_encode(&out, re, sizeof re, &rlen), UT_OK);
    } else {
        assert_true(rc == UT_ECORRUPT || rc == UT_EVERSION || rc == UT_ERANGE);
    }
    free(b);
}

static void test_truncation_and_bit_flips(void **state)
{
    (void)state;
    uint64_t s = 0x5EED0002u;
    static unsigned char buf[1 << 16], dmg[1 << 16];
    static ut_entry_t ents[MAX_RAND_ENTRIES];
    for (size_t t = 0; t < N_BODY_TYPES; t++) {
        for (int rep = 0; rep < 4; rep++) {
            ut_msg_t m;
            rand_msg(&s, &m, body_types[t]);
            if (m.type == UT_MSG_APPEND && m.body.append.n_entries > 6)
                m.body.append.n_entries = 6; /* keep the frame short: n^2 below */
            for (size_t i = 0; i < m.body.append.n_entries && m.type == UT_MSG_APPEND; i++)
                if (rand_entries[i].len > 40)
                    rand_entries[i].len = 40;
            if ((m.type == UT_MSG_READ_INDEX || m.type == UT_MSG_READ_INDEX_RESP) &&
                m.body.read_index.len > 40)
                m.body.read_index.len = 40;
            size_t len;
            assert_int_equal(ut_msg_encode(&m, buf, sizeof buf, &len), UT_OK);
            ut_msg_t out;
            /* Every proper prefix is refused (the frame is incomplete). */
            for (size_t cut = 0; cut < len; cut++) {
                unsigned char *pre = exact_copy(buf, cut);
                assert_int_equal(
                    ut_msg_decode(&out, cut ? pre : NULL, cut, ents, MAX_RAND_ENTRIES, NULL),
                    UT_ECORRUPT);
                size_t flen;
                int frc = ut_msg_frame_len(&flen, cut ? pre : NULL, cut);
                assert_true(frc == UT_ERANGE || (frc == UT_OK && flen == len));
                free(pre);
            }
            /* CRC32C detects every single-bit error: each flip is refused. */
            for (size_t bit = 0; bit < len * 8; bit++) {
                memcpy(dmg, buf, len);
                dmg[bit / 8] ^= (unsigned char)(1u << (bit % 8));
                int rc = ut_msg_decode(&out, dmg, len, ents, MAX_RAND_ENTRIES, NULL);
                assert_true(rc == UT_ECORRUPT || rc == UT_EVERSION);
                /* Behind a recomputed CRC the parser itself must hold: refused,
                 * or a valid message. */
                fix_crc(dmg, len);
                check_rejected_or_valid(dmg, len);
            }
            /* Truncation with the length and CRC patched to match. */
            for (size_t cut = UT_MSG_MIN_FRAME; cut < len; cut++) {
                memcpy(dmg, buf, cut - 4);
                fix_len_crc(dmg, cut);
                check_rejected_or_valid(dmg, cut);
            }
        }
    }
}

static void test_random_bytes_behind_valid_header(void **state)
{
    (void)state;
    /* Random bodies with a correct header and CRC: reaches deep parser
     * paths that bit flips rarely do. */
    uint64_t s = 0x5EED0003u;
    static unsigned char b[512];
    for (int i = 0; i < 50000; i++) {
        size_t body = (size_t)rng_below(&s, 200);
        size_t len = 14 + body;
        for (size_t k = 0; k < len; k++)
            b[k] = (unsigned char)rng_next(&s);
        b[0] = 'U', b[1] = 'T', b[2] = 1, b[3] = (unsigned char)rng_below(&s, 3);
        b[4] = (unsigned char)rng_below(&s, 13), b[5] = 0;
        if (body >= 2 && rng_below(&s, 2)) {
            size_t f = (size_t)rng_below(&s, 70);
            b[10] = (unsigned char)f, b[11] = 0;
        }
        fix_len_crc(b, len);
        check_rejected_or_valid(b, len);
    }
}

/* ---- versioning -------------------------------------------------------- */

static void test_newer_minor_with_extensions_decodes(void **state)
{
    (void)state;
    uint64_t s = 0x5EED0004u;
    static unsigned char buf[1 << 20];
    static ut_entry_t ents[MAX_RAND_ENTRIES];
    for (size_t t = 0; t < N_BODY_TYPES; t++) {
        for (int i = 0; i < 200; i++) {
            ut_msg_t m, out;
            rand_msg(&s, &m, body_types[t]);
            /* Minor 2 and newer: 1.1 layout followed by what that minor adds. */
            ext_t x = {1, 2 + (unsigned)rng_below(&s, 254), (size_t)rng_below(&s, 40),
                       (size_t)rng_below(&s, 20), (size_t)rng_below(&s, 30)};
            if (m.type != UT_MSG_APPEND)
                x.extra_entry_hdr = 0;
            size_t len = ref_encode(&m, &x, buf);
            size_t used;
            assert_int_equal(ut_msg_decode(&out, buf, len, ents, MAX_RAND_ENTRIES, &used), UT_OK);
            assert_int_equal(used, len);
            assert_true(msg_equal(&m, &out));
            assert_int_equal(ut_msg_validate(&out), UT_OK);

            /* The same extensions in a 1.1 frame (this library's minor) or
             * a 1.0 frame are corruption. */
            for (unsigned minor = 0; minor <= 1; minor++) {
                x.minor = minor;
                if (x.extra_fields + x.extra_entry_hdr + x.extra_tail > 0) {
                    len = ref_encode(&m, &x, buf);
                    assert_int_equal(ut_msg_decode(&out, buf, len, ents, MAX_RAND_ENTRIES, NULL),
                                     UT_ECORRUPT);
                }
            }
        }
    }
}

static void test_newer_major_is_eversion(void **state)
{
    (void)state;
    init_goldens();
    unsigned char buf[512];
    size_t len, flen;
    ut_msg_t out;
    ut_entry_t ents[4];
    for (unsigned major = 2; major < 256; major += 17) {
        ext_t x = {major, 0, 0, 0, 0};
        len = ref_encode(&goldens[4].msg, &x, buf);
        assert_int_equal(ut_msg_decode(&out, buf, len, ents, 4, NULL), UT_EVERSION);
        assert_int_equal(ut_msg_frame_len(&flen, buf, len), UT_EVERSION);
        /* Whatever a newer major does after the version bytes. */
        memset(buf + 4, 0xFF, 6);
        assert_int_equal(ut_msg_decode(&out, buf, len, ents, 4, NULL), UT_EVERSION);
    }
    /* Recognised from the first three bytes, before a whole header. */
    static const unsigned char v2[] = {'U', 'T', 2};
    assert_int_equal(ut_msg_decode(&out, v2, 3, ents, 4, NULL), UT_EVERSION);
    assert_int_equal(ut_msg_frame_len(&flen, v2, 3), UT_EVERSION);
    ext_t x0 = {0, 0, 0, 0, 0};
    len = ref_encode(&goldens[0].msg, &x0, buf);
    assert_int_equal(ut_msg_decode(&out, buf, len, ents, 4, NULL), UT_ECORRUPT);
}

/* ---- malformed frames, one rule at a time ------------------------------- */

static int decode_patched(unsigned char *b, size_t len)
{
    ut_msg_t out;
    ut_entry_t ents[8];
    fix_crc(b, len);
    return ut_msg_decode(&out, b, len, ents, 8, NULL);
}

static void test_malformed_frames(void **state)
{
    (void)state;
    init_goldens();
    unsigned char g[512], b[512];
    size_t len;
    assert_int_equal(ut_msg_encode(&goldens[4].msg, g, sizeof g, &len), UT_OK);
    /* Offsets in the golden 1.1 APPEND frame (docs/wire-format.md §4.4). */
    const size_t F = 12, ENT0 = F + 62;

#define PATCHED(stmt, want)                                                                        \
    do {                                                                                           \
        memcpy(b, g, len);                                                                         \
        stmt;                                                                                      \
        assert_int_equal(decode_patched(b, len), want);                                            \
    } while (0)

    PATCHED((void)0, UT_OK);
    PATCHED(b[0] = 'X', UT_ECORRUPT);                     /* magic */
    PATCHED(b[1] = 'U', UT_ECORRUPT);                     /* magic */
    PATCHED((b[4] = 12), UT_ECORRUPT);                    /* unassigned type */
    PATCHED((b[4] = 31), UT_ECORRUPT);                    /* unassigned type */
    PATCHED((b[4] = 9), UT_ECORRUPT);                     /* TIMEOUT_NOW: F 24, not 62 */
    PATCHED((b[4] = 0), UT_ECORRUPT);                     /* type NONE */
    PATCHED((b[5] = 1), UT_ECORRUPT);                     /* type 261 */
    PATCHED(memset(b + F, 0, 8), UT_ECORRUPT);            /* from 0 */
    PATCHED(memset(b + F + 8, 0, 8), UT_ECORRUPT);        /* to 0 */
    PATCHED(b[10] = 61, UT_ECORRUPT);                     /* fields too short */
    PATCHED(b[10] = 63, UT_ECORRUPT);                     /* fields too long (1.1) */
    PATCHED(b[10] = 54, UT_ECORRUPT);                     /* the 1.0 size, at minor 1 */
    PATCHED(b[11] = 0xFF, UT_ECORRUPT);                   /* fields past body */
    PATCHED(b[F + 24 + 24] = 4, UT_ECORRUPT);             /* n_entries 4, 3 present */
    PATCHED(b[F + 24 + 24] = 2, UT_ECORRUPT);             /* n_entries 2: bytes left */
    PATCHED(memset(b + F + 48, 0xFF, 4), UT_ECORRUPT);    /* n_entries huge */
    PATCHED(b[F + 52] = 23, UT_ECORRUPT);                 /* entry header < 24 */
    PATCHED(b[F + 52] = 25, UT_ECORRUPT);                 /* entry header > 24 in 1.1 */
    PATCHED(b[ENT0 + 8] = 102, UT_ECORRUPT);              /* index not prev+1 */
    PATCHED(b[ENT0 + 20] = 8, UT_ECORRUPT);               /* payload len + 1 */
    PATCHED(b[ENT0 + 20] = 6, UT_ECORRUPT);               /* payload len - 1 */
    PATCHED(memset(b + ENT0 + 20, 0xFF, 4), UT_ECORRUPT); /* payload len huge */
    PATCHED(memset(b + F + 24, 0xFF, 8), UT_ECORRUPT);    /* prev_index + n overflows */
    PATCHED(memset(b + F + 54, 0xFF, 8), UT_OK);          /* read_round: any value */
    PATCHED(b[3] = 2, UT_OK);                             /* newer minor, no extras */
    PATCHED(b[3] = 0, UT_ECORRUPT);                       /* 1.0: 8 field bytes too many */

    /* Trailing garbage inside the frame (body length and CRC patched). */
    memcpy(b, g, len - 4);
    b[len - 4] = 0;
    fix_len_crc(b, len + 1);
    assert_int_equal(decode_patched(b, len + 1), UT_ECORRUPT);
    {
        /* Corruption wins over "entry storage too small". */
        ut_msg_t out;
        ut_entry_t one[1];
        assert_int_equal(ut_msg_decode(&out, b, len + 1, one, 1, NULL), UT_ECORRUPT);
    }
    /* ... which a newer minor may carry. */
    b[3] = 2;
    assert_int_equal(decode_patched(b, len + 1), UT_OK);

    /* Bool bytes must be 0 or 1. */
    assert_int_equal(ut_msg_encode(&goldens[1].msg, g, sizeof g, &len), UT_OK);
    PATCHED(b[F + 24] = 2, UT_ECORRUPT);
    PATCHED(b[F + 24] = 0, UT_OK);
    assert_int_equal(ut_msg_encode(&goldens[6].msg, g, sizeof g, &len), UT_OK);
    PATCHED(b[F + 24] = 0x80, UT_ECORRUPT);
    PATCHED(b[F + 24] = 0, UT_OK);
    /* vote.transfer (1.1): a bool, and never true in a PreVote. */
    assert_int_equal(ut_msg_encode(&goldens[8].msg, g, sizeof g, &len), UT_OK);
    PATCHED(b[F + 40] = 2, UT_ECORRUPT);
    PATCHED(b[F + 40] = 0, UT_OK);
    PATCHED(b[4] = UT_MSG_PREVOTE, UT_ECORRUPT);
    PATCHED((b[4] = UT_MSG_PREVOTE, b[F + 40] = 0), UT_OK);
    PATCHED((b[4] = UT_MSG_PREVOTE, b[3] = 7), UT_ECORRUPT); /* in a newer minor too */

    /* Body shorter than the fields length field. */
    memcpy(b, g, 11);
    fix_len_crc(b, 15);
    assert_int_equal(decode_patched(b, 15), UT_ECORRUPT);
    memcpy(b, g, 10);
    fix_len_crc(b, 14);
    assert_int_equal(decode_patched(b, 14), UT_ECORRUPT);
#undef PATCHED
}

/* Decode-side rules of what 1.1 added (docs/wire-format.md §4.6, §4.7, §5):
 * each refused frame is UT_ECORRUPT, and ut_msg_decode()'s contract leaves
 * *out unspecified then, so only the code is checked. On UT_OK, *out is
 * usable after return for the types decoded here (no APPEND: its entries
 * would point at the local array). */
static int decode_exact(const unsigned char *f, size_t n, ut_msg_t *out)
{
    /* An exact heap copy, so ASan sees any read past the frame. */
    unsigned char *c = exact_copy(f, n);
    ut_entry_t ents[1];
    size_t used = 0;
    int rc = ut_msg_decode(out, c, n, ents, 1, &used);
    if (rc == UT_OK) {
        assert_int_equal(used, n);
        assert_int_equal(ut_msg_validate(out), UT_OK);
        if (out->type == UT_MSG_READ_INDEX || out->type == UT_MSG_READ_INDEX_RESP) {
            /* Zero-copy: the context points into the frame. */
            const ut_msg_read_index_t *r = &out->body.read_index;
            if (r->len > 0)
                assert_true((const unsigned char *)r->ctx > c &&
                            (const unsigned char *)r->ctx + r->len <= c + n);
            else
                assert_null(r->ctx);
            /* The copy is freed below: point the context at a copy that
             * outlives it, so callers may compare *out (ASan caught the
             * use after free). */
            static unsigned char kept[UT_CONSENSUS_MAX_READ_CTX];
            if (r->len > 0) {
                memcpy(kept, r->ctx, r->len);
                out->body.read_index.ctx = kept;
            }
        }
    }
    free(c);
    return rc;
}

static void test_malformed_v11_bodies(void **state)
{
    (void)state;
    init_goldens();
    static unsigned char big[UT_CONSENSUS_MAX_READ_CTX + 1];
    static unsigned char g[UT_CONSENSUS_MAX_READ_CTX + 256], b[UT_CONSENSUS_MAX_READ_CTX + 256];
    const ext_t x2 = {1, 2, 0, 0, 0};
    const size_t F = 12; /* fields section, as in every frame */
    ut_msg_t m, out;
    size_t len;
    memset(big, 0x5A, sizeof big);

    /* READ_INDEX: a request carries index 0 (any minor); an answer any index. */
    m = goldens[10].msg;
    m.body.read_index.index = 5;
    assert_int_equal(decode_exact(b, ref_encode(&m, &ext_v11, b), &out), UT_ECORRUPT);
    assert_int_equal(decode_exact(b, ref_encode(&m, &x2, b), &out), UT_ECORRUPT);
    m.type = UT_MSG_READ_INDEX_RESP;
    m.body.read_index.index = UINT64_MAX;
    assert_int_equal(decode_exact(b, ref_encode(&m, &ext_v11, b), &out), UT_OK);
    assert_true(msg_equal(&m, &out));

    /* The context is at most UT_CONSENSUS_MAX_READ_CTX bytes, even when the
     * frame holds more. */
    for (size_t t = 10; t <= 11; t++) {
        m = goldens[t].msg;
        m.body.read_index.ctx = big;
        m.body.read_index.len = UT_CONSENSUS_MAX_READ_CTX;
        assert_int_equal(decode_exact(b, ref_encode(&m, &ext_v11, b), &out), UT_OK);
        assert_true(msg_equal(&m, &out));
        m.body.read_index.len++;
        assert_int_equal(decode_exact(b, ref_encode(&m, &ext_v11, b), &out), UT_ECORRUPT);
        assert_int_equal(decode_exact(b, ref_encode(&m, &x2, b), &out), UT_ECORRUPT);
    }

    /* len against the bytes after the fields (golden READ_INDEX_RESP, 6 bytes
     * of context at F + 36; len at F + 32). */
    assert_int_equal(ut_msg_encode(&goldens[11].msg, g, sizeof g, &len), UT_OK);
#define RI_PATCHED(stmt, want)                                                                     \
    do {                                                                                           \
        memcpy(b, g, len);                                                                         \
        stmt;                                                                                      \
        fix_crc(b, len);                                                                           \
        assert_int_equal(decode_exact(b, len, &out), want);                                        \
    } while (0)
    RI_PATCHED((void)0, UT_OK);
    RI_PATCHED(b[F + 32] = 7, UT_ECORRUPT);               /* one byte past the body */
    RI_PATCHED(b[F + 32] = 5, UT_ECORRUPT);               /* one byte left over (1.1) */
    RI_PATCHED((b[F + 32] = 5, b[3] = 2), UT_OK);         /* ... a newer minor's tail */
    RI_PATCHED(b[F + 32] = 0, UT_ECORRUPT);               /* six bytes left over */
    RI_PATCHED(memset(b + F + 32, 0xFF, 4), UT_ECORRUPT); /* len huge */
    RI_PATCHED(b[F + 33] = 0x10, UT_ECORRUPT);            /* len 4102: over the cap */
    RI_PATCHED(b[10] = 35, UT_ECORRUPT);                  /* fields too short */
    RI_PATCHED(b[10] = 37, UT_ECORRUPT);                  /* fields too long (1.1) */
    RI_PATCHED((b[10] = 37, b[3] = 2), UT_ECORRUPT);      /* ... the context then overruns */
    RI_PATCHED(b[3] = 0, UT_ECORRUPT);                    /* no READ_INDEX_RESP in 1.0 */
    RI_PATCHED(b[4] = UT_MSG_READ_INDEX, UT_ECORRUPT);    /* a request with index 103 */
    RI_PATCHED(memset(b + F, 0, 8), UT_ECORRUPT);         /* from 0 */
    RI_PATCHED((b[5] = 1, b[3] = 2), UT_ECORRUPT);        /* type 267 */
    RI_PATCHED((b[F + 32] = 5, b[3] = 2), UT_OK);
    assert_int_equal(out.body.read_index.len, 5);
    assert_memory_equal(out.body.read_index.ctx, golden_ctx, 5);
#undef RI_PATCHED

    /* Truncated bodies (length and CRC patched to the cut): every cut of the
     * new types' frames is refused, inside the fields or inside the context. */
    for (size_t t = 8; t < N_GOLDENS; t++) {
        assert_int_equal(ut_msg_encode(&goldens[t].msg, g, sizeof g, &len), UT_OK);
        for (size_t cut = UT_MSG_MIN_FRAME; cut < len; cut++) {
            memcpy(b, g, cut - 4);
            fix_len_crc(b, cut);
            assert_int_equal(decode_exact(b, cut, &out), UT_ECORRUPT);
        }
        /* ... and so is every cut without patching. */
        for (size_t cut = 0; cut < len; cut++)
            assert_int_equal(decode_exact(g, cut, &out), UT_ECORRUPT);
    }

    /* TIMEOUT_NOW: the common fields only. */
    m = goldens[9].msg;
    for (unsigned minor = 0; minor <= 4; minor++) {
        ext_t xf = {1, minor, 1, 0, 0}, xt = {1, minor, 0, 0, 3}, x0 = {1, minor, 0, 0, 0};
        int want_ext = minor >= 2 ? UT_OK : UT_ECORRUPT; /* extensions: newer minors only */
        int want = minor >= 1 ? UT_OK : UT_ECORRUPT;     /* no TIMEOUT_NOW in 1.0 */
        assert_int_equal(decode_exact(b, ref_encode(&m, &x0, b), &out), want);
        assert_int_equal(decode_exact(b, ref_encode(&m, &xf, b), &out), want_ext);
        assert_int_equal(decode_exact(b, ref_encode(&m, &xt, b), &out), want_ext);
        if (minor >= 2)
            assert_true(msg_equal(&m, &out));
    }
    assert_int_equal(ut_msg_encode(&m, g, sizeof g, &len), UT_OK);
    memcpy(b, g, len);
    b[10] = 23; /* fields too short */
    fix_crc(b, len);
    assert_int_equal(decode_exact(b, len, &out), UT_ECORRUPT);
    memcpy(b, g, len);
    memset(b + F + 8, 0, 8); /* to 0 */
    fix_crc(b, len);
    assert_int_equal(decode_exact(b, len, &out), UT_ECORRUPT);
}

static void test_frame_len(void **state)
{
    (void)state;
    init_goldens();
    unsigned char g[512];
    size_t len, n = 0;
    assert_int_equal(ut_msg_encode(&goldens[4].msg, g, sizeof g, &len), UT_OK);
    for (size_t k = 0; k < UT_MSG_HEADER_SIZE; k++) {
        n = 0;
        assert_int_equal(ut_msg_frame_len(&n, k ? g : NULL, k), UT_ERANGE);
        assert_int_equal(n, UT_MSG_HEADER_SIZE);
    }
    for (size_t k = UT_MSG_HEADER_SIZE; k <= len; k++) {
        assert_int_equal(ut_msg_frame_len(&n, g, k), UT_OK);
        assert_int_equal(n, len);
    }
    unsigned char h[UT_MSG_HEADER_SIZE];
    memcpy(h, g, sizeof h);
    h[6] = 0xFF, h[7] = 0xFF, h[8] = 0xFF, h[9] = 0x03; /* body 64 MiB - 1 */
    assert_int_equal(ut_msg_frame_len(&n, h, sizeof h), UT_ECORRUPT);
    h[6] = 0xF2, h[7] = 0xFF, h[8] = 0xFF, h[9] = 0x03; /* frame exactly 64 MiB */
    assert_int_equal(ut_msg_frame_len(&n, h, sizeof h), UT_OK);
    assert_int_equal(n, UT_MSG_MAX_FRAME);
    h[6] = 0xF3;
    assert_int_equal(ut_msg_frame_len(&n, h, sizeof h), UT_ECORRUPT);
    h[0] = 0;
    assert_int_equal(ut_msg_frame_len(&n, h, sizeof h), UT_ECORRUPT);
    /* A stream out of sync is refused from its first wrong byte. */
    assert_int_equal(ut_msg_frame_len(&n, "X", 1), UT_ECORRUPT);
    assert_int_equal(ut_msg_frame_len(&n, "UX", 2), UT_ECORRUPT);
    assert_int_equal(ut_msg_frame_len(&n, "UT\0", 3), UT_ECORRUPT);
    assert_int_equal(ut_msg_frame_len(&n, "UT\1", 3), UT_ERANGE);
    assert_int_equal(n, UT_MSG_HEADER_SIZE);
    assert_int_equal(ut_msg_frame_len(NULL, g, len), UT_EINVAL);
    assert_int_equal(ut_msg_frame_len(&n, NULL, 3), UT_EINVAL);
}

static void test_stream_of_frames(void **state)
{
    (void)state;
    init_goldens();
    static unsigned char stream[4096];
    size_t at = 0, n;
    for (size_t g = 0; g < N_GOLDENS; g++) {
        assert_int_equal(ut_msg_encode(&goldens[g].msg, stream + at, sizeof stream - at, &n),
                         UT_OK);
        at += n;
    }
    size_t pos = 0;
    ut_entry_t ents[4];
    for (size_t g = 0; g < N_GOLDENS; g++) {
        size_t flen, used;
        ut_msg_t out;
        assert_int_equal(ut_msg_frame_len(&flen, stream + pos, at - pos), UT_OK);
        assert_int_equal(ut_msg_decode(&out, stream + pos, at - pos, ents, 4, &used), UT_OK);
        assert_int_equal(used, flen);
        assert_true(msg_equal(&goldens[g].msg, &out));
        pos += used;
    }
    assert_int_equal(pos, at);
}

/* ---- encode-side validation and buffer handling ------------------------- */

static void test_encode_buffer_too_small(void **state)
{
    (void)state;
    init_goldens();
    for (size_t g = 0; g < N_GOLDENS; g++) {
        size_t need;
        assert_int_equal(ut_msg_encoded_size(&goldens[g].msg, &need), UT_OK);
        unsigned char buf[512];
        for (size_t cap = 0; cap < need; cap++) {
            memset(buf, 0xA5, sizeof buf);
            size_t out_len = 0;
            assert_int_equal(ut_msg_encode(&goldens[g].msg, cap ? buf : NULL, cap, &out_len),
                             UT_ERANGE);
            assert_int_equal(out_len, need);
            for (size_t k = 0; k < sizeof buf; k++)
                assert_int_equal(buf[k], 0xA5);
        }
        memset(buf, 0xA5, sizeof buf);
        size_t out_len = 0;
        assert_int_equal(ut_msg_encode(&goldens[g].msg, buf, need, &out_len), UT_OK);
        assert_int_equal(out_len, need);
        for (size_t k = need; k < sizeof buf; k++)
            assert_int_equal(buf[k], 0xA5);
    }
}

static void test_encode_rejects_invalid(void **state)
{
    (void)state;
    init_goldens();
    unsigned char buf[512];
    size_t n;
    ut_msg_t m;
    /* >>> rsnap: SNAPSHOT and SNAPSHOT_RESP have bodies since 0.3.0 */
    /* (TIMEOUT_NOW and READ_INDEX(_RESP) have bodies since wire 1.1.) */
    static const ut_msg_type_t bad_types[] = {UT_MSG_NONE, (ut_msg_type_t)12, (ut_msg_type_t)31,
                                              (ut_msg_type_t)200};
    /* <<< rsnap */
    for (size_t i = 0; i < sizeof bad_types / sizeof bad_types[0]; i++) {
        m = goldens[0].msg;
        m.type = bad_types[i];
        assert_int_equal(ut_msg_encode(&m, buf, sizeof buf, &n), UT_EINVAL);
        assert_int_equal(ut_msg_validate(&m), UT_EINVAL);
        assert_int_equal(ut_msg_encoded_size(&m, &n), UT_EINVAL);
    }
    for (size_t g = 0; g < N_GOLDENS; g++) {
        m = goldens[g].msg;
        m.from = 0;
        assert_int_equal(ut_msg_encode(&m, buf, sizeof buf, &n), UT_EINVAL);
        m = goldens[g].msg;
        m.to = 0;
        assert_int_equal(ut_msg_encode(&m, buf, sizeof buf, &n), UT_EINVAL);
    }
    ut_entry_t e[3];
    memcpy(e, golden_entries, sizeof e);
    m = goldens[4].msg;
    m.body.append.entries = e;
    assert_int_equal(ut_msg_validate(&m), UT_OK);
    m.body.append.entries = NULL;
    assert_int_equal(ut_msg_encode(&m, buf, sizeof buf, &n), UT_EINVAL);
    m.body.append.entries = e;
    e[1].index = 103; /* gap */
    assert_int_equal(ut_msg_encode(&m, buf, sizeof buf, &n), UT_EINVAL);
    e[1].index = 101; /* repeat */
    assert_int_equal(ut_msg_encode(&m, buf, sizeof buf, &n), UT_EINVAL);
    e[1].index = 102;
    e[0].data = NULL; /* len 7, no data */
    assert_int_equal(ut_msg_encode(&m, buf, sizeof buf, &n), UT_EINVAL);
    e[0].data = golden_payload_a;
    m.body.append.prev_index = UINT64_MAX - 2; /* indexes would wrap */
    e[0].index = UINT64_MAX - 1, e[1].index = UINT64_MAX, e[2].index = 0;
    assert_int_equal(ut_msg_encode(&m, buf, sizeof buf, &n), UT_EINVAL);
    m.body.append.n_entries = 2; /* ... but fit exactly with two */
    assert_int_equal(ut_msg_encode(&m, buf, sizeof buf, &n), UT_OK);

    /* Over UT_MSG_MAX_FRAME: refused before any byte is read or written. */
    ut_entry_t big = {1, 1, 0, UT_MSG_MAX_FRAME, golden_payload_a};
    m = goldens[5].msg;
    m.body.append.prev_index = 0;
    m.body.append.n_entries = 1;
    m.body.append.entries = &big;
    assert_int_equal(ut_msg_encode(&m, buf, sizeof buf, &n), UT_EINVAL);
    assert_int_equal(ut_msg_encoded_size(&m, &n), UT_EINVAL);
    /* The largest frame that fits is accepted by encoded_size. */
    big.len = UT_MSG_MAX_FRAME - 14 - 2 - 62 - 24;
    assert_int_equal(big.len, UT_CONSENSUS_MAX_ENTRY_BYTES);
    assert_int_equal(ut_msg_encoded_size(&m, &n), UT_OK);
    assert_int_equal(n, UT_MSG_MAX_FRAME);
    big.len++;
    assert_int_equal(ut_msg_encoded_size(&m, &n), UT_EINVAL);
}

/* Refused with UT_EINVAL by validate, encoded_size and encode, and encode
 * writes nothing (codec.h: "on UT_EINVAL nothing is written either"). */
static void expect_refused(const ut_msg_t *m)
{
    static unsigned char buf[UT_CONSENSUS_MAX_READ_CTX + 256];
    memset(buf, 0xA5, sizeof buf);
    size_t n = 0;
    assert_int_equal(ut_msg_validate(m), UT_EINVAL);
    assert_int_equal(ut_msg_encoded_size(m, &n), UT_EINVAL);
    assert_int_equal(ut_msg_encode(m, buf, sizeof buf, &n), UT_EINVAL);
    for (size_t k = 0; k < sizeof buf; k++)
        assert_int_equal(buf[k], 0xA5);
}

static void test_encode_rejects_invalid_v11(void **state)
{
    (void)state;
    init_goldens();
    static unsigned char big[UT_CONSENSUS_MAX_READ_CTX + 1];
    size_t n;
    ut_msg_t m;

    /* A PreVote is never a transfer; a Vote may be. */
    m = goldens[2].msg;
    m.body.vote.transfer = true;
    expect_refused(&m);
    m.type = UT_MSG_VOTE;
    assert_int_equal(ut_msg_validate(&m), UT_OK);

    /* READ_INDEX: index 0 in a request. */
    m = goldens[10].msg;
    m.body.read_index.index = 1;
    expect_refused(&m);
    m.body.read_index.index = UINT64_MAX;
    expect_refused(&m);
    m.type = UT_MSG_READ_INDEX_RESP;
    assert_int_equal(ut_msg_validate(&m), UT_OK);

    for (size_t t = 10; t <= 12; t++) {
        /* The context: present when len > 0, at most UT_CONSENSUS_MAX_READ_CTX. */
        m = goldens[t].msg;
        m.body.read_index.ctx = NULL;
        m.body.read_index.len = 3;
        expect_refused(&m);
        m.body.read_index.len = 0;
        assert_int_equal(ut_msg_validate(&m), UT_OK);
        m.body.read_index.ctx = big;
        m.body.read_index.len = UT_CONSENSUS_MAX_READ_CTX + 1;
        expect_refused(&m);
        m.body.read_index.len = UINT32_MAX;
        expect_refused(&m);
        m.body.read_index.len = UT_CONSENSUS_MAX_READ_CTX;
        assert_int_equal(ut_msg_encoded_size(&m, &n), UT_OK);
        assert_int_equal(n, 14 + 2 + 36 + UT_CONSENSUS_MAX_READ_CTX);
    }
    /* TIMEOUT_NOW: only the common rules. */
    m = goldens[9].msg;
    assert_int_equal(ut_msg_encoded_size(&m, &n), UT_OK);
    assert_int_equal(n, 40);
    m.from = 0;
    expect_refused(&m);
    m = goldens[9].msg;
    m.to = 0;
    expect_refused(&m);
}

static void test_null_arguments(void **state)
{
    (void)state;
    init_goldens();
    unsigned char buf[512];
    size_t n, len;
    ut_msg_t out;
    ut_entry_t ents[4];
    assert_int_equal(ut_msg_encode(&goldens[4].msg, buf, sizeof buf, &len), UT_OK);

    assert_int_equal(ut_msg_validate(NULL), UT_EINVAL);
    assert_int_equal(ut_msg_encoded_size(NULL, &n), UT_EINVAL);
    assert_int_equal(ut_msg_encoded_size(&goldens[0].msg, NULL), UT_EINVAL);
    assert_int_equal(ut_msg_encode(NULL, buf, sizeof buf, &n), UT_EINVAL);
    assert_int_equal(ut_msg_encode(&goldens[0].msg, buf, sizeof buf, NULL), UT_EINVAL);
    assert_int_equal(ut_msg_encode(&goldens[0].msg, NULL, 10, &n), UT_EINVAL);
    assert_int_equal(ut_msg_decode(NULL, buf, len, ents, 4, NULL), UT_EINVAL);
    assert_int_equal(ut_msg_decode(&out, NULL, len, ents, 4, NULL), UT_EINVAL);
    assert_int_equal(ut_msg_decode(&out, buf, len, NULL, 4, NULL), UT_EINVAL);
    assert_int_equal(ut_msg_decode(&out, NULL, 0, ents, 4, NULL), UT_ECORRUPT);
    /* No entry storage: fine for bodies without entries, UT_ERANGE for
     * entries, with the count needed. */
    assert_int_equal(ut_msg_decode(&out, buf, len, NULL, 0, NULL), UT_ERANGE);
    assert_int_equal(out.type, UT_MSG_APPEND);
    assert_int_equal(out.body.append.n_entries, 3);
    assert_int_equal(ut_msg_decode(&out, buf, len, ents, 2, NULL), UT_ERANGE);
    assert_int_equal(out.body.append.n_entries, 3);
    assert_int_equal(ut_msg_decode(&out, buf, len, ents, 3, NULL), UT_OK);
    assert_int_equal(ut_msg_encode(&goldens[5].msg, buf, sizeof buf, &len), UT_OK);
    assert_int_equal(ut_msg_decode(&out, buf, len, NULL, 0, NULL), UT_OK);
    assert_int_equal(out.body.append.n_entries, 0);
    assert_null(out.body.append.entries);

    ut_msg_decoder_t *dec;
    assert_int_equal(ut_msg_decoder_new(NULL), UT_EINVAL);
    assert_int_equal(ut_msg_decoder_new(&dec), UT_OK);
    assert_int_equal(ut_msg_decoder_decode(NULL, &out, buf, len, NULL), UT_EINVAL);
    assert_int_equal(ut_msg_decoder_decode(dec, NULL, buf, len, NULL), UT_EINVAL);
    assert_int_equal(ut_msg_decoder_decode(dec, &out, NULL, len, NULL), UT_EINVAL);
    assert_int_equal(ut_msg_decoder_decode(dec, &out, buf, len, NULL), UT_OK);
    ut_msg_decoder_free(dec);
    ut_msg_decoder_free(NULL);
}

static void test_decoder_allocation_failure(void **state)
{
    (void)state;
    init_goldens();
    unsigned char buf[512];
    size_t len;
    assert_int_equal(ut_msg_encode(&goldens[4].msg, buf, sizeof buf, &len), UT_OK);
    test_alloc_t ta;
    for (long k = 1; k <= 3; k++) {
        test_alloc_install(&ta, k);
        ut_msg_decoder_t *dec = NULL;
        int rc = ut_msg_decoder_new(&dec);
        if (rc == UT_ENOMEM) {
            assert_null(dec);
        } else {
            assert_int_equal(rc, UT_OK);
            ut_msg_t out;
            rc = ut_msg_decoder_decode(dec, &out, buf, len, NULL);
            if (rc == UT_ENOMEM) /* still usable afterwards */
                rc = ut_msg_decoder_decode(dec, &out, buf, len, NULL);
            assert_int_equal(rc, UT_OK);
            assert_true(msg_equal(&goldens[4].msg, &out));
            ut_msg_decoder_free(dec);
        }
        assert_int_equal(ta.live, 0);
        test_alloc_uninstall();
    }
}

/* Largest block the decoder object asks the allocator for. */
static size_t largest_request;

static void *largest_malloc(void *ctx, size_t n)
{
    (void)ctx;
    if (n > largest_request)
        largest_request = n;
    return malloc(n);
}

static void *largest_realloc(void *ctx, void *p, size_t n)
{
    (void)ctx;
    if (n > largest_request)
        largest_request = n;
    return realloc(p, n);
}

static void largest_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

static void test_decoder_capacity_bound(void **state)
{
    (void)state;
    /* docs/wire-format.md §7: the entry array is sized from the validated
     * count and grows by doubling, so its capacity is below twice the count
     * (one more entry than a power of two is the worst case). */
    static ut_entry_t e[1025];
    static unsigned char buf[1 << 16];
    ut_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = UT_MSG_APPEND, m.from = 1, m.to = 2, m.term = 1;
    for (size_t n = 1; n <= 1025; n = n < 8 ? n + 1 : n == 8 ? 9 : 2 * n - 1) {
        for (size_t i = 0; i < n; i++)
            e[i] = (ut_entry_t){1, i + 1, UT_ENTRY_NORMAL, 0, NULL};
        m.body.append.n_entries = n, m.body.append.entries = e;
        size_t len;
        assert_int_equal(ut_msg_encode(&m, buf, sizeof buf, &len), UT_OK);
        ut_allocator_t a = {NULL, largest_malloc, largest_realloc, largest_free};
        assert_int_equal(ut_set_allocator(&a), UT_OK);
        ut_msg_decoder_t *dec = NULL;
        assert_int_equal(ut_msg_decoder_new(&dec), UT_OK);
        largest_request = 0;
        ut_msg_t out;
        assert_int_equal(ut_msg_decoder_decode(dec, &out, buf, len, NULL), UT_OK);
        assert_int_equal(out.body.append.n_entries, n);
        size_t cap = largest_request / sizeof(ut_entry_t);
        assert_true(cap >= n);
        assert_true(cap <= 8 || cap < 2 * n);
        ut_msg_decoder_free(dec);
        (void)ut_set_allocator(NULL);
    }
}

/* ---- the codec as the transport of a Raft cluster ----------------------- */

#define RAFT_NODES 3
#define RAFT_QCAP 4096

typedef struct raft_net {
    ut_consensus_t *nodes[RAFT_NODES];
    unsigned char *frames[RAFT_QCAP];
    size_t lens[RAFT_QCAP];
    size_t head, tail, sent;
    uint64_t applied_sum[RAFT_NODES];
    size_t applied[RAFT_NODES];
    ut_msg_decoder_t *dec;
} raft_net_t;

/* Send = encode into a fresh frame; the message must round-trip at once. */
static void raft_send(raft_net_t *net, const ut_msg_t *m)
{
    size_t need = 0, len = 0;
    assert_int_equal(ut_msg_validate(m), UT_OK);
    assert_int_equal(ut_msg_encoded_size(m, &need), UT_OK);
    unsigned char *f = malloc(need);
    assert_non_null(f);
    assert_int_equal(ut_msg_encode(m, f, need, &len), UT_OK);
    assert_int_equal(len, need);
    ut_msg_t back;
    assert_int_equal(ut_msg_decoder_decode(net->dec, &back, f, len, NULL), UT_OK);
    assert_true(msg_equal(m, &back));
    assert_true(net->tail < RAFT_QCAP);
    net->frames[net->tail] = f;
    net->lens[net->tail++] = len;
    net->sent++;
}

static void raft_process(raft_net_t *net, int i)
{
    while (ut_consensus_has_ready(net->nodes[i])) {
        ut_consensus_ready_t rd;
        assert_int_equal(ut_consensus_ready(net->nodes[i], &rd), UT_OK);
        for (size_t k = 0; k < rd.n_msgs; k++)
            raft_send(net, &rd.msgs[k]);
        for (size_t k = 0; k < rd.n_committed; k++) {
            const ut_entry_t *e = &rd.committed[k];
            if (e->type != UT_ENTRY_NORMAL)
                continue;
            net->applied[i]++;
            net->applied_sum[i] = net->applied_sum[i] * 1000003u + e->index * 31u + e->len;
            for (uint32_t b = 0; b < e->len; b++)
                net->applied_sum[i] += ((const unsigned char *)e->data)[b];
        }
        assert_int_equal(ut_consensus_advance(net->nodes[i], &rd), UT_OK);
    }
}

/* Deliver = decode the frame with the decoder object and step the node. */
static void raft_run(raft_net_t *net)
{
    for (int i = 0; i < RAFT_NODES; i++)
        raft_process(net, i);
    while (net->head < net->tail) {
        unsigned char *f = net->frames[net->head];
        size_t len = net->lens[net->head++];
        ut_msg_t m;
        size_t used = 0;
        assert_int_equal(ut_msg_decoder_decode(net->dec, &m, f, len, &used), UT_OK);
        assert_int_equal(used, len);
        assert_true(m.to >= 1 && m.to <= RAFT_NODES);
        int to = (int)m.to - 1;
        int rc = ut_consensus_step(net->nodes[to], &m);
        assert_true(rc == UT_OK || rc == UT_ESTALE);
        free(f); /* the node copied what it keeps */
        raft_process(net, to);
    }
    net->head = net->tail = 0;
}

static void test_codec_carries_a_raft_cluster(void **state)
{
    (void)state;
    static raft_net_t net;
    memset(&net, 0, sizeof net);
    assert_int_equal(ut_msg_decoder_new(&net.dec), UT_OK);
    const uint64_t ids[RAFT_NODES] = {1, 2, 3};
    for (int i = 0; i < RAFT_NODES; i++) {
        ut_consensus_config_t cfg;
        assert_int_equal(ut_consensus_config_init(&cfg, UT_CONSENSUS_CONFIG_VERSION), UT_OK);
        cfg.id = ids[i];
        cfg.voters = ids;
        cfg.n_voters = RAFT_NODES;
        cfg.seed = 4;
        assert_int_equal(ut_consensus_new(&net.nodes[i], &cfg), UT_OK);
        assert_int_equal(ut_consensus_tick(net.nodes[i], 0), UT_OK);
    }
    assert_int_equal(ut_consensus_campaign(net.nodes[0]), UT_OK);
    raft_run(&net);
    assert_int_equal(ut_consensus_state(net.nodes[0]), UT_CONSENSUS_LEADER);

    /* 300 proposals of 1..97 bytes in rounds of 7: batched AppendEntries. */
    const size_t n = 300;
    for (size_t k = 0; k < n; k += 7) {
        for (size_t j = k; j < k + 7 && j < n; j++) {
            uint64_t idx;
            size_t len = 1 + (j * 37) % 97;
            assert_int_equal(ut_consensus_propose(net.nodes[0], payload_pool + j, len, &idx),
                             UT_OK);
        }
        raft_run(&net);
    }
    /* Heartbeats carry the final commit index to the followers. */
    assert_int_equal(ut_consensus_tick(net.nodes[0], 150), UT_OK);
    raft_run(&net);
    assert_int_equal(ut_consensus_tick(net.nodes[0], 300), UT_OK);
    raft_run(&net);
    for (int i = 0; i < RAFT_NODES; i++) {
        assert_int_equal(net.applied[i], n);
        assert_int_equal(net.applied_sum[i], net.applied_sum[0]);
        ut_consensus_free(net.nodes[i]);
    }
    assert_true(net.sent > 100);
    ut_msg_decoder_free(net.dec);
}

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(ut_msg_type_name(UT_MSG_APPEND), "append");
    assert_string_equal(ut_msg_type_name(UT_MSG_VOTE_RESP), "vote-resp");
    assert_string_equal(ut_msg_type_name((ut_msg_type_t)77), "?");
}

int main(void)
{
    init_pool();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_known_vectors),
        cmocka_unit_test(test_crc32c_paths_agree),
        cmocka_unit_test(test_crc32c_long_inputs),
        cmocka_unit_test(test_roundtrip_random),
        cmocka_unit_test(test_golden_frames),
        cmocka_unit_test(test_golden_v10_frames_decode),
        cmocka_unit_test(test_golden_newer_minor_frame),
        cmocka_unit_test(test_golden_vote_layout),
        cmocka_unit_test(test_golden_v11_layouts),
        cmocka_unit_test(test_truncation_and_bit_flips),
        cmocka_unit_test(test_random_bytes_behind_valid_header),
        cmocka_unit_test(test_newer_minor_with_extensions_decodes),
        cmocka_unit_test(test_newer_major_is_eversion),
        cmocka_unit_test(test_malformed_frames),
        cmocka_unit_test(test_malformed_v11_bodies),
        cmocka_unit_test(test_frame_len),
        cmocka_unit_test(test_stream_of_frames),
        cmocka_unit_test(test_encode_buffer_too_small),
        cmocka_unit_test(test_encode_rejects_invalid),
        cmocka_unit_test(test_encode_rejects_invalid_v11),
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_decoder_allocation_failure),
        cmocka_unit_test(test_decoder_capacity_bound),
        cmocka_unit_test(test_codec_carries_a_raft_cluster),
        cmocka_unit_test(test_type_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
