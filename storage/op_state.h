/*
 * The operation state machine (brief §8.2), in one table:
 *
 *   QUEUED --poll: counter allocated, package signed and stored--> DELIVERED
 *   DELIVERED --result (by EID + eimTransactionId)--> RESULT_OK | RESULT_ERROR
 *   DELIVERED --ecallActive(104)--> QUEUED (back-off; the counter stays burnt)
 *   RESULT_OK | RESULT_ERROR --acknowledgement sent (or nothing to ack)--> DONE
 *   DELIVERED --result whose acknowledgement is in the same response--> DONE
 *     (migrations/0003; the row carries the result; audit: RESULT_*, DONE)
 *   QUEUED | DELIVERED --expiry / operator--> EXPIRED | CANCELLED
 *
 * storage/queue.c only issues UPDATEs guarded by "WHERE state = <from>" for
 * transitions this table allows; migrations/0002 repeats the same table in
 * the op_state_guard trigger and tests/storage/test_op_state.c checks that
 * both agree pair by pair.
 */
#ifndef EIM_STORAGE_OP_STATE_H
#define EIM_STORAGE_OP_STATE_H

#include <stdbool.h>

#include "proto/base/error.h"

typedef enum {
    EIM_OP_QUEUED = 0,
    EIM_OP_DELIVERED,
    EIM_OP_RESULT_OK,
    EIM_OP_RESULT_ERROR,
    EIM_OP_DONE,
    EIM_OP_EXPIRED,
    EIM_OP_CANCELLED,
    EIM_OP_STATE_COUNT
} eim_op_state_t;

/* Why a transition happens; recorded in the audit trail. */
typedef enum {
    EIM_OP_EVENT_DELIVER = 0,   /* QUEUED -> DELIVERED */
    EIM_OP_EVENT_RESULT_OK,     /* DELIVERED -> RESULT_OK */
    EIM_OP_EVENT_RESULT_ERROR,  /* DELIVERED -> RESULT_ERROR */
    EIM_OP_EVENT_ECALL_BACKOFF, /* DELIVERED -> QUEUED */
    EIM_OP_EVENT_ACKNOWLEDGED,  /* RESULT_* -> DONE */
    EIM_OP_EVENT_EXPIRE,        /* QUEUED|DELIVERED -> EXPIRED */
    EIM_OP_EVENT_CANCEL,        /* QUEUED|DELIVERED -> CANCELLED */
    /* DELIVERED -> DONE: the result is recorded and its acknowledgement goes
     * out in the same response (one transaction; audited as both steps) */
    EIM_OP_EVENT_RESULT_ACKNOWLEDGED,
    EIM_OP_EVENT_COUNT
} eim_op_event_t;

/* "QUEUED", ...; NULL for an out-of-range value. */
const char *eim_op_state_name(eim_op_state_t state);
/* Parses a state name (as stored in operations.state). */
eim_err_t eim_op_state_parse(const char *name, eim_op_state_t *out);
/* Whether the machine has a transition from -> to. */
bool eim_op_state_allowed(eim_op_state_t from, eim_op_state_t to);
/* States an event may start from / leads to: fills to and returns true when
 * event applies in state from. */
bool eim_op_state_next(eim_op_state_t from, eim_op_event_t event, eim_op_state_t *to);
/* True for DONE, EXPIRED, CANCELLED (nothing ever leaves them). */
bool eim_op_state_final(eim_op_state_t state);
/* "deliver", "result_ok", ...: the audit's details.event. */
const char *eim_op_event_name(eim_op_event_t event);

#endif
