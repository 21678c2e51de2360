/* SPDX-License-Identifier: MIT */
/* libFuzzer target: decode arbitrary bytes. Whatever decodes must be a valid
 * message, must re-encode, and the re-encoding must decode to an equal
 * message. A frame of the minor this library writes (1.1) must re-encode to
 * exactly its own bytes (the format has one encoding per message); a 1.0
 * frame re-encodes as 1.1, without its bytes compared. Any violation aborts, which libFuzzer
 * reports as a crash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unitypes.h>

#include "../msg_equal.h"

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_msg_decode: check failed: %s (line %d)\n", #cond, __LINE__);     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void check_one(const uint8_t *data, size_t size)
{
    ut_entry_t small[8];
    ut_msg_t m;
    size_t used = 0;
    int rc = ut_msg_decode(&m, data, size, small, 8, &used);

    /* The decoder object must agree with the caller-storage decoder. */
    ut_msg_decoder_t *dec = NULL;
    FUZZ_CHECK(ut_msg_decoder_new(&dec) == UT_OK);
    ut_msg_t m2;
    size_t used2 = 0;
    int rc2 = ut_msg_decoder_decode(dec, &m2, data, size, &used2);
    if (rc == UT_ERANGE) {
        FUZZ_CHECK(m.type == UT_MSG_APPEND && m.body.append.n_entries > 8);
        FUZZ_CHECK(rc2 == UT_OK);
    } else {
        FUZZ_CHECK(rc2 == rc);
    }
    size_t flen = 0;
    int frc = ut_msg_frame_len(&flen, data, size);
    if (rc2 != UT_OK) {
        FUZZ_CHECK(rc2 == UT_ECORRUPT || rc2 == UT_EVERSION);
        ut_msg_decoder_free(dec);
        return;
    }
    FUZZ_CHECK(frc == UT_OK && flen == used2 && used2 <= size);
    if (rc == UT_OK)
        FUZZ_CHECK(used == used2 && msg_equal(&m, &m2));
    FUZZ_CHECK(ut_msg_validate(&m2) == UT_OK);

    size_t need = 0;
    FUZZ_CHECK(ut_msg_encoded_size(&m2, &need) == UT_OK);
    /* A 1.0 frame re-encodes as 1.1: at most 8 bytes longer (read_round). */
    FUZZ_CHECK(need <= used2 + (data[3] == 0 ? 8u : 0u));
    unsigned char *buf = malloc(need);
    FUZZ_CHECK(buf != NULL);
    size_t len = 0;
    FUZZ_CHECK(ut_msg_encode(&m2, buf, need, &len) == UT_OK && len == need);
    if (data[3] == UT_MSG_WIRE_MINOR)
        FUZZ_CHECK(len == used2 && memcmp(buf, data, len) == 0);

    ut_msg_decoder_t *dec2 = NULL;
    FUZZ_CHECK(ut_msg_decoder_new(&dec2) == UT_OK);
    ut_msg_t m3;
    size_t used3 = 0;
    FUZZ_CHECK(ut_msg_decoder_decode(dec2, &m3, buf, len, &used3) == UT_OK);
    FUZZ_CHECK(used3 == len && msg_equal(&m2, &m3));
    ut_msg_decoder_free(dec2);
    ut_msg_decoder_free(dec);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_one(data, size);
    /* Random mutations almost never keep the CRC right, so the parser behind
     * it would go unexplored: also run a copy whose body length and CRC are
     * patched to cover the whole input. */
    if (size >= UT_MSG_MIN_FRAME && size <= UT_MSG_MAX_FRAME) {
        uint8_t *copy = malloc(size);
        FUZZ_CHECK(copy != NULL);
        memcpy(copy, data, size);
        uint32_t body = (uint32_t)(size - UT_MSG_MIN_FRAME);
        for (int i = 0; i < 4; i++)
            copy[6 + i] = (uint8_t)(body >> (8 * i));
        uint32_t crc = ut_crc32c(0, copy, size - 4);
        for (int i = 0; i < 4; i++)
            copy[size - 4 + i] = (uint8_t)(crc >> (8 * i));
        check_one(copy, size);
        free(copy);
    }
    return 0;
}
