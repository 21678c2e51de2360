/* SPDX-License-Identifier: MIT */
/**
 * @file unitypes/codec.h
 * @brief Binary wire format of ut_msg_t: encode, decode, stream framing, CRC32C.
 *
 * A frame is a 10-byte header (magic "UT", major and minor format version,
 * type, body length), a body and a CRC32C of everything before it. Integers
 * are fixed-width little-endian. docs/wire-format.md gives the byte layout of
 * every message type; this header gives the C contract.
 *
 * Encoding validates the message and never allocates. Decoding validates the
 * frame completely (magic, version, CRC, every length, and the same message
 * rules encode applies) and never reads outside the input: any byte string
 * either decodes to a valid message or is refused.
 *
 * Decoding is zero-copy. A decoded UT_MSG_APPEND's entry payloads point into
 * the input buffer, and its ut_entry_t array lives in storage the caller
 * provides (ut_msg_decode()) or in a reusable decoder object
 * (ut_msg_decoder_decode()). Rationale: entries are the only part of a
 * message whose size depends on the input, payloads are usually stored or
 * applied exactly once by the caller, and a transport already owns a receive
 * buffer; copying them again would double the codec's memory traffic.
 *
 * Reading frames from a byte stream (TCP), with @c rx holding @c have bytes:
 * @code
 * size_t need;
 * int rc = ut_msg_frame_len(&need, rx, have);
 * if (rc == UT_ERANGE || (rc == UT_OK && have < need))
 *     return read_more();                 // header or body incomplete
 * if (rc != UT_OK)
 *     return close_connection(rc);        // UT_ECORRUPT / UT_EVERSION
 * ut_msg_t msg;
 * size_t used;
 * rc = ut_msg_decoder_decode(dec, &msg, rx, have, &used);
 * if (rc != UT_OK)
 *     return close_connection(rc);
 * ut_consensus_step(node, &msg);          // payloads point into rx
 * consume(used);                          // only after msg is no longer used
 * @endcode
 *
 * Threading: every function here is reentrant and may be called from several
 * threads at once, except that one ut_msg_decoder_t is used by one thread at a
 * time.
 */
#ifndef UNITYPES_CODEC_H
#define UNITYPES_CODEC_H

#include "unitypes/common.h"
#include "unitypes/msg.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Major version of the wire format this library writes and reads. @since 0.1.0 */
#define UT_MSG_WIRE_MAJOR 1u

/**
 * @brief Minor version of the wire format this library writes (1.1 since
 * 0.3.0: vote.transfer, the read_round fields; it still reads 1.0). @since 0.1.0
 */
#define UT_MSG_WIRE_MINOR 1u

/**
 * @brief Size of the fixed frame header: enough bytes for ut_msg_frame_len().
 * @since 0.1.0
 */
#define UT_MSG_HEADER_SIZE 10u

/** @brief Smallest possible frame (header, empty body, CRC). @since 0.1.0 */
#define UT_MSG_MIN_FRAME 14u

/**
 * @brief Largest frame encoded or accepted (64 MiB), header and CRC included.
 *
 * Bounds what a stream transport has to buffer for one frame whatever a peer
 * claims. A Raft leader keeps its AppendEntries well below this
 * (max_append_bytes).
 * @since 0.1.0
 */
#define UT_MSG_MAX_FRAME (64u * 1024u * 1024u)

/**
 * @brief Validate a message as encode and decode do.
 *
 * Rules: @c type has a body in this version (wire 1.1): VOTE, VOTE_RESP,
 * PREVOTE, PREVOTE_RESP, APPEND, APPEND_RESP, SNAPSHOT, SNAPSHOT_RESP,
 * TIMEOUT_NOW, READ_INDEX, READ_INDEX_RESP and the module types (two-phase
 * commit, gossip, replication); NONE and unassigned types are refused.
 * @c from and @c to are non-zero. Per type:
 * - APPEND: @c n_entries > 0 requires @c entries != NULL,
 *   entries[i].index == prev_index + 1 + i without overflow, data != NULL
 *   when len > 0.
 * - PREVOTE: @c body.vote.transfer is false (a PreVote never transfers
 *   leadership; VOTE may carry either value).
 * - READ_INDEX and READ_INDEX_RESP: @c len ≤ #UT_CONSENSUS_MAX_READ_CTX,
 *   @c ctx != NULL when len > 0; a READ_INDEX (request) has @c index 0.
 * - SNAPSHOT: @c offset ≤ @c total, @c len ≤ total - offset, data != NULL
 *   when len > 0.
 * - Two-phase commit: @c txid != 0; peers / data present when counted; only
 *   PREPARE carries peers or a payload.
 * - Gossip: @c updates != NULL when counted; each update has a non-zero
 *   member id, a status ≤ 4 and data != NULL when len > 0.
 *
 * And the frame fits in #UT_MSG_MAX_FRAME. The new 1.1 fields (vote.transfer,
 * append.read_round, append_resp.read_round) are carried by encode; a 1.0
 * frame decodes with them 0 / false.
 *
 * @param[in] msg The message.
 * @retval UT_OK     The message can be encoded.
 * @retval UT_EINVAL @p msg is NULL or breaks a rule above.
 * @since 0.1.0
 */
UT_API int ut_msg_validate(const ut_msg_t *msg);

/**
 * @brief Exact size of the frame ut_msg_encode() would write.
 * @param[in]  msg The message.
 * @param[out] out Frame size in bytes.
 * @retval UT_OK     @p *out set.
 * @retval UT_EINVAL An argument is NULL or @p msg is invalid (ut_msg_validate()).
 * @since 0.1.0
 */
UT_API int ut_msg_encoded_size(const ut_msg_t *msg, size_t *out);

/**
 * @brief Encode a message into one frame. Never allocates.
 *
 * On UT_ERANGE nothing is written to @p buf, so bytes beyond @p cap are
 * never touched; on UT_EINVAL nothing is written either.
 *
 * @param[in]  msg     The message.
 * @param[out] buf     Destination, @p cap bytes (may be NULL when @p cap is 0).
 * @param[in]  cap     Capacity of @p buf.
 * @param[out] out_len Bytes written; on UT_ERANGE, the size needed.
 * @retval UT_OK     The frame is in buf[0 .. *out_len).
 * @retval UT_ERANGE @p cap is too small; @p *out_len is the size needed.
 * @retval UT_EINVAL @p msg or @p out_len is NULL, @p buf is NULL with a
 *                   non-zero @p cap, or @p msg is invalid (ut_msg_validate()).
 * @since 0.1.0
 */
UT_API int ut_msg_encode(const ut_msg_t *msg, void *buf, size_t cap, size_t *out_len);

/**
 * @brief Length of the frame starting at @p buf, from its header alone.
 *
 * For stream transports: read until this returns UT_OK, then until @p *out
 * bytes are buffered, then ut_msg_decode(). Only the magic, the major version
 * and the body length are checked; the CRC and the body are checked by decode.
 * The bytes present are checked even when there are fewer than
 * #UT_MSG_HEADER_SIZE, so a bad magic or a newer major shows at once.
 *
 * @param[out] out Needed bytes: the whole frame on UT_OK, #UT_MSG_HEADER_SIZE
 *                 on UT_ERANGE.
 * @param[in]  buf Received bytes (may be NULL when @p len is 0).
 * @param[in]  len Number of received bytes.
 * @retval UT_OK       @p *out is the frame length (≤ #UT_MSG_MAX_FRAME).
 * @retval UT_ERANGE   Fewer than #UT_MSG_HEADER_SIZE bytes, valid so far:
 *                     read more.
 * @retval UT_ECORRUPT Bad magic, major version 0, or a frame length above
 *                     #UT_MSG_MAX_FRAME: the stream is out of sync, close it.
 * @retval UT_EVERSION The frame has a newer major version.
 * @retval UT_EINVAL   @p out is NULL, or @p buf is NULL with a non-zero @p len.
 * @since 0.1.0
 */
UT_API int ut_msg_frame_len(size_t *out, const void *buf, size_t len);

/**
 * @brief Decode the frame at the start of @p buf (zero-copy).
 *
 * Ownership: for UT_MSG_APPEND, @c out->body.append.entries points at
 * @p entries and each entry's @c data points into @p buf; the message is valid
 * while both are. Nothing is allocated.
 *
 * Bytes after the frame are not examined (they are the next frame of a
 * stream); @p *out_consumed says where the frame ended. A datagram transport
 * should require @p *out_consumed == @p len.
 *
 * A frame of a newer minor version decodes: fields and entry-header bytes it
 * adds are skipped. On any error @p *out is unspecified, and @p entries may
 * have been written.
 *
 * @param[out] out          The decoded message.
 * @param[in]  buf          Input bytes (may be NULL when @p len is 0).
 * @param[in]  len          Number of input bytes.
 * @param[out] entries      Storage for up to @p entries_cap entries (may be
 *                          NULL when @p entries_cap is 0).
 * @param[in]  entries_cap  Capacity of @p entries.
 * @param[out] out_consumed Frame length on UT_OK (may be NULL).
 * @retval UT_OK       @p *out is a valid message (ut_msg_validate() passes).
 * @retval UT_ERANGE   The frame is valid but carries more than @p entries_cap
 *                     entries; @c out->type is UT_MSG_APPEND and
 *                     @c out->body.append.n_entries the count needed.
 * @retval UT_ECORRUPT The bytes are not a valid frame: bad magic, bad CRC,
 *                     truncated, bad lengths, unknown type, invalid message,
 *                     or unexpected bytes inside the frame.
 * @retval UT_EVERSION The frame has a newer major version.
 * @retval UT_EINVAL   @p out is NULL, or @p buf / @p entries is NULL with a
 *                     non-zero length / capacity.
 * @since 0.1.0
 */
UT_API int ut_msg_decode(ut_msg_t *out, const void *buf, size_t len, ut_entry_t *entries,
                         size_t entries_cap, size_t *out_consumed);

/**
 * @brief A reusable decoder owning a growing entry array (opaque).
 * @since 0.1.0
 */
typedef struct ut_msg_decoder ut_msg_decoder_t;

/**
 * @brief Create a decoder.
 * @param[out] out The new decoder; free with ut_msg_decoder_free().
 * @retval UT_OK     Created.
 * @retval UT_EINVAL @p out is NULL.
 * @retval UT_ENOMEM The allocator failed.
 * @since 0.1.0
 */
UT_API int ut_msg_decoder_new(ut_msg_decoder_t **out);

/**
 * @brief Free a decoder and its entry array.
 * @param[in] dec The decoder, or NULL (no-op).
 * @since 0.1.0
 */
UT_API void ut_msg_decoder_free(ut_msg_decoder_t *dec);

/**
 * @brief Decode like ut_msg_decode(), with entries stored in the decoder.
 *
 * The entry array grows through the library allocator as needed, sized from
 * the validated frame (never from an unchecked count), and is reused by later
 * calls. Ownership: @c out->body.append.entries is valid until the next
 * decode on @p dec or its free; entry payloads point into @p buf.
 *
 * @param[in]  dec          The decoder.
 * @param[out] out          The decoded message.
 * @param[in]  buf          Input bytes (may be NULL when @p len is 0).
 * @param[in]  len          Number of input bytes.
 * @param[out] out_consumed Frame length on UT_OK (may be NULL).
 * @retval UT_OK       @p *out is a valid message.
 * @retval UT_ECORRUPT The bytes are not a valid frame (see ut_msg_decode()).
 * @retval UT_EVERSION The frame has a newer major version.
 * @retval UT_ENOMEM   The allocator failed; the decoder is still usable.
 * @retval UT_EINVAL   @p dec or @p out is NULL, or @p buf is NULL with a
 *                     non-zero @p len.
 * @since 0.1.0
 */
UT_API int ut_msg_decoder_decode(ut_msg_decoder_t *dec, ut_msg_t *out, const void *buf, size_t len,
                                 size_t *out_consumed);

/**
 * @brief CRC32C (Castagnoli, reflected polynomial 0x82F63B78), chainable.
 *
 * Check value: the CRC32C of the ASCII bytes "123456789" is 0xE3069283.
 * To checksum data in pieces, pass the previous result as @p crc. Uses the
 * SSE4.2 crc32 instruction when the CPU has it (three interleaved streams),
 * a slice-by-8 table otherwise; both give the same result. A NULL @p buf
 * returns @p crc unchanged.
 *
 * @param[in] crc 0 to start, or the result for the preceding bytes.
 * @param[in] buf Data (may be NULL when @p len is 0).
 * @param[in] len Number of bytes.
 * @return The CRC32C of the bytes so far.
 * @since 0.1.0
 */
UT_API uint32_t ut_crc32c(uint32_t crc, const void *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* UNITYPES_CODEC_H */
