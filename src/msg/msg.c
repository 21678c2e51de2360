/* SPDX-License-Identifier: MIT */
#include "internal.h"

const char *ut_msg_type_name(ut_msg_type_t type)
{
    switch (type) {
    case UT_MSG_NONE:
        return "none";
    case UT_MSG_VOTE:
        return "vote";
    case UT_MSG_VOTE_RESP:
        return "vote-resp";
    case UT_MSG_PREVOTE:
        return "prevote";
    case UT_MSG_PREVOTE_RESP:
        return "prevote-resp";
    case UT_MSG_APPEND:
        return "append";
    case UT_MSG_APPEND_RESP:
        return "append-resp";
    case UT_MSG_SNAPSHOT:
        return "snapshot";
    case UT_MSG_SNAPSHOT_RESP:
        return "snapshot-resp";
    case UT_MSG_TIMEOUT_NOW:
        return "timeout-now";
    case UT_MSG_READ_INDEX:
        return "read-index";
    case UT_MSG_READ_INDEX_RESP:
        return "read-index-resp";

        /* >>> lock (32-63, issue 14): add here */
        /* <<< lock */

        /* >>> 2pc (64-95, issue 15): add here */
    case UT_MSG_2PC_PREPARE:
        return "2pc-prepare";
    case UT_MSG_2PC_VOTE:
        return "2pc-vote";
    case UT_MSG_2PC_COMMIT:
        return "2pc-commit";
    case UT_MSG_2PC_ABORT:
        return "2pc-abort";
    case UT_MSG_2PC_ACK:
        return "2pc-ack";
    case UT_MSG_2PC_INQUIRY:
        return "2pc-inquiry";
    case UT_MSG_2PC_STATUS:
        return "2pc-status";
        /* <<< 2pc */

        /* >>> gossip (96-127, issue 16): add here */
    case UT_MSG_GOSSIP_PING:
        return "gossip-ping";
    case UT_MSG_GOSSIP_PING_REQ:
        return "gossip-ping-req";
    case UT_MSG_GOSSIP_ACK:
        return "gossip-ack";
    case UT_MSG_GOSSIP_NACK:
        return "gossip-nack";
    case UT_MSG_GOSSIP_SYNC:
        return "gossip-sync";
    case UT_MSG_GOSSIP_SYNC_RESP:
        return "gossip-sync-resp";
    case UT_MSG_GOSSIP_PUSH:
        return "gossip-push";
        /* <<< gossip */

        /* >>> replica (128-159, issue 13): add here */
    case UT_MSG_REPL_WRITE:
        return "repl-write";
    case UT_MSG_REPL_ACK:
        return "repl-ack";
    case UT_MSG_REPL_LINK:
        return "repl-link";
        /* <<< replica */
    }
    return "?";
}
