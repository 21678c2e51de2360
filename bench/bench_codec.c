/* SPDX-License-Identifier: MIT */
/* Workload C1 (BENCHMARKS.md): encode + decode of an AppendEntries carrying
 * 64 entries of 16 bytes, and one carrying 1 entry of 4 KiB. Reports the
 * median of 5 runs of ns per message and MB/s (payload bytes, and frame
 * bytes), for encode+decode and for each half, and the two CRC32C paths.
 *
 *   bench_codec              full run (5 runs per figure, about 10 s)
 *   bench_codec --callgrind small|big   10000 messages of one workload, for
 *       valgrind --tool=callgrind --toggle-collect=c1_roundtrip ...
 *   (see docs/BENCHMARKS.md, "C1. Codec") */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unitypes.h>

#include "msg/codec_internal.h"

#define RUNS 5
#define SMALL_N 64
#define SMALL_LEN 16
#define BIG_LEN 4096

static unsigned char payload[SMALL_N * SMALL_LEN + BIG_LEN];
static ut_entry_t small_entries[SMALL_N];
static ut_entry_t big_entry;
static unsigned char frame[SMALL_N * (24 + SMALL_LEN) + BIG_LEN + 256];
static ut_entry_t dec_entries[SMALL_N];
static volatile uint64_t sink;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void make_msgs(ut_msg_t *small, ut_msg_t *big)
{
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (unsigned char)(i * 131u + 7u);
    memset(small, 0, sizeof *small);
    small->type = UT_MSG_APPEND;
    small->from = 1;
    small->to = 2;
    small->term = 3;
    small->body.append.prev_index = 1000;
    small->body.append.prev_term = 3;
    small->body.append.commit = 999;
    small->body.append.n_entries = SMALL_N;
    small->body.append.entries = small_entries;
    for (size_t i = 0; i < SMALL_N; i++) {
        small_entries[i].term = 3;
        small_entries[i].index = 1001 + i;
        small_entries[i].type = UT_ENTRY_NORMAL;
        small_entries[i].len = SMALL_LEN;
        small_entries[i].data = payload + i * SMALL_LEN;
    }
    *big = *small;
    big->body.append.n_entries = 1;
    big->body.append.entries = &big_entry;
    big_entry = small_entries[0];
    big_entry.len = BIG_LEN;
    big_entry.data = payload + SMALL_N * SMALL_LEN;
}

/* One message each; noinline so callgrind can --toggle-collect them. */
__attribute__((noinline)) static size_t c1_encode(const ut_msg_t *m)
{
    size_t len = 0;
    if (ut_msg_encode(m, frame, sizeof frame, &len) != UT_OK)
        abort();
    return len;
}

__attribute__((noinline)) static void c1_decode(size_t len)
{
    ut_msg_t out;
    size_t used;
    if (ut_msg_decode(&out, frame, len, dec_entries, SMALL_N, &used) != UT_OK)
        abort();
    sink += out.body.append.n_entries + used;
}

/* One encode + decode: the function callgrind's --toggle-collect names. */
__attribute__((noinline)) static void c1_roundtrip(const ut_msg_t *m)
{
    c1_decode(c1_encode(m));
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

enum { OP_ROUNDTRIP, OP_ENCODE, OP_DECODE };

static double run_ns_per_msg(const ut_msg_t *m, int op, long n)
{
    size_t len = c1_encode(m);
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        switch (op) {
        case OP_ROUNDTRIP:
            c1_roundtrip(m);
            break;
        case OP_ENCODE:
            sink += c1_encode(m);
            break;
        default:
            c1_decode(len);
            break;
        }
    }
    return (now_ns() - t0) / (double)n;
}

static double median_ns(const ut_msg_t *m, int op, long n)
{
    double r[RUNS];
    for (int k = 0; k < RUNS; k++)
        r[k] = run_ns_per_msg(m, op, n);
    qsort(r, RUNS, sizeof r[0], cmp_double);
    return r[RUNS / 2];
}

static void report(const char *name, const char *op, double ns, size_t payload_bytes,
                   size_t frame_bytes)
{
    printf("%-22s %-13s %9.1f ns/msg %9.1f MB/s payload %9.1f MB/s frame\n", name, op, ns,
           (double)payload_bytes / ns * 1e3, (double)frame_bytes / ns * 1e3);
}

static double crc_mbps(uint32_t (*f)(uint32_t, const void *, size_t), long n)
{
    double r[RUNS];
    for (int k = 0; k < RUNS; k++) {
        double t0 = now_ns();
        uint32_t c = 0;
        for (long i = 0; i < n; i++)
            c = f(c, payload, BIG_LEN);
        sink += c;
        r[k] = (double)BIG_LEN * (double)n / (now_ns() - t0) * 1e3;
    }
    qsort(r, RUNS, sizeof r[0], cmp_double);
    return r[RUNS / 2];
}

int main(int argc, char **argv)
{
    ut_msg_t small, big;
    make_msgs(&small, &big);
    int callgrind = argc > 2 && strcmp(argv[1], "--callgrind") == 0;

    size_t small_frame = c1_encode(&small), big_frame = c1_encode(&big);
    if (callgrind) {
        /* Instructions per message = Ir of c1_roundtrip / 10000. */
        int is_big = strcmp(argv[2], "big") == 0;
        for (int i = 0; i < 10000; i++)
            c1_roundtrip(is_big ? &big : &small);
        printf("callgrind mode: 10000 x c1_roundtrip of the %s message (%zu-byte frame)\n",
               is_big ? "1 x 4 KiB" : "64 x 16 B", is_big ? big_frame : small_frame);
        return 0;
    }

    printf("C1 codec: libunitypes %s, wire format %u.%u, CRC32C %s, median of %d runs\n",
           ut_version_string(), UT_MSG_WIRE_MAJOR, UT_MSG_WIRE_MINOR,
           ut__msg_crc32c_hw_available() ? "SSE4.2" : "slice-by-8", RUNS);
    const struct {
        const char *name;
        const ut_msg_t *m;
        long n;
        size_t payload;
        size_t frame;
    } w[] = {
        {"append 64 x 16 B", &small, 400000, SMALL_N * SMALL_LEN, small_frame},
        {"append 1 x 4 KiB", &big, 400000, BIG_LEN, big_frame},
    };
    static const char *ops[] = {"encode+decode", "encode", "decode"};
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        for (int op = 0; op < 3; op++)
            report(w[i].name, ops[op], median_ns(w[i].m, op, w[i].n), w[i].payload, w[i].frame);
    printf("crc32c 4 KiB buffers: SSE4.2 %.0f MB/s, slice-by-8 %.0f MB/s\n",
           ut__msg_crc32c_hw_available() ? crc_mbps(ut__msg_crc32c_hw, 200000) : 0.0,
           crc_mbps(ut__msg_crc32c_sw, 50000));
    return 0;
}
