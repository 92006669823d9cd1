/*
 * The operation state machine: see op_state.h. One table of
 * (from, event, to); everything else derives from it.
 */
#include "storage/op_state.h"

#include <stddef.h>
#include <string.h>

typedef struct {
    eim_op_state_t from;
    eim_op_event_t event;
    eim_op_state_t to;
} transition_t;

static const transition_t transitions[] = {
    {EIM_OP_QUEUED, EIM_OP_EVENT_DELIVER, EIM_OP_DELIVERED},
    {EIM_OP_QUEUED, EIM_OP_EVENT_EXPIRE, EIM_OP_EXPIRED},
    {EIM_OP_QUEUED, EIM_OP_EVENT_CANCEL, EIM_OP_CANCELLED},
    {EIM_OP_DELIVERED, EIM_OP_EVENT_RESULT_OK, EIM_OP_RESULT_OK},
    {EIM_OP_DELIVERED, EIM_OP_EVENT_RESULT_ERROR, EIM_OP_RESULT_ERROR},
    {EIM_OP_DELIVERED, EIM_OP_EVENT_ECALL_BACKOFF, EIM_OP_QUEUED},
    {EIM_OP_DELIVERED, EIM_OP_EVENT_EXPIRE, EIM_OP_EXPIRED},
    {EIM_OP_DELIVERED, EIM_OP_EVENT_CANCEL, EIM_OP_CANCELLED},
    {EIM_OP_DELIVERED, EIM_OP_EVENT_RESULT_ACKNOWLEDGED, EIM_OP_DONE},
    {EIM_OP_RESULT_OK, EIM_OP_EVENT_ACKNOWLEDGED, EIM_OP_DONE},
    {EIM_OP_RESULT_ERROR, EIM_OP_EVENT_ACKNOWLEDGED, EIM_OP_DONE},
};

static const char *const state_names[EIM_OP_STATE_COUNT] = {
    "QUEUED", "DELIVERED", "RESULT_OK", "RESULT_ERROR", "DONE", "EXPIRED", "CANCELLED",
};

static const char *const event_names[EIM_OP_EVENT_COUNT] = {
    "deliver",      "result_ok", "result_error", "ecall_backoff",
    "acknowledged", "expire",    "cancel",       "result_acknowledged",
};

const char *eim_op_state_name(eim_op_state_t state)
{
    if ((int)state < 0 || state >= EIM_OP_STATE_COUNT)
        return NULL;
    return state_names[state];
}

eim_err_t eim_op_state_parse(const char *name, eim_op_state_t *out)
{
    if (!name)
        return EIM_ERR_INVALID_ARG;
    for (int i = 0; i < EIM_OP_STATE_COUNT; i++) {
        if (strcmp(name, state_names[i]) == 0) {
            *out = (eim_op_state_t)i;
            return EIM_OK;
        }
    }
    return EIM_ERR_INVALID_ARG;
}

bool eim_op_state_allowed(eim_op_state_t from, eim_op_state_t to)
{
    for (size_t i = 0; i < sizeof(transitions) / sizeof(transitions[0]); i++)
        if (transitions[i].from == from && transitions[i].to == to)
            return true;
    return false;
}

bool eim_op_state_next(eim_op_state_t from, eim_op_event_t event, eim_op_state_t *to)
{
    for (size_t i = 0; i < sizeof(transitions) / sizeof(transitions[0]); i++) {
        if (transitions[i].from == from && transitions[i].event == event) {
            *to = transitions[i].to;
            return true;
        }
    }
    return false;
}

bool eim_op_state_final(eim_op_state_t state)
{
    for (size_t i = 0; i < sizeof(transitions) / sizeof(transitions[0]); i++)
        if (transitions[i].from == state)
            return false;
    return true;
}

const char *eim_op_event_name(eim_op_event_t event)
{
    if ((int)event < 0 || event >= EIM_OP_EVENT_COUNT)
        return NULL;
    return event_names[event];
}
