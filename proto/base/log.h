/*
 * Structured logging: one JSON object per line on stderr (or any FILE*).
 *
 *   {"ts":"2026-11-28T22:23:31.123Z","level":"info","msg":"listening",
 *    "listener":"admin","address":"127.0.0.1:8081"}
 *
 * Fields are passed as key/value string pairs terminated by NULL, or as a
 * jansson object for typed values. Messages below the configured level cost
 * one comparison. The log is line-buffered and each line is written with a
 * single fwrite so that lines from several processes do not interleave.
 */
#ifndef EIM_PROTO_BASE_LOG_H
#define EIM_PROTO_BASE_LOG_H

#include <stdio.h>

#include <jansson.h>

#include "proto/base/error.h"

typedef enum {
    EIM_LOG_DEBUG = 0,
    EIM_LOG_INFO = 1,
    EIM_LOG_WARN = 2,
    EIM_LOG_ERROR = 3,
} eim_log_level_t;

/* Parses "debug"/"info"/"warn"/"error". */
eim_err_t eim_log_level_parse(const char *name, eim_log_level_t *out);
const char *eim_log_level_name(eim_log_level_t level);

void eim_log_set_level(eim_log_level_t level);
eim_log_level_t eim_log_get_level(void);
/* Where lines go (default stderr). Tests point it at a memory stream. */
void eim_log_set_stream(FILE *stream);

static inline int eim_log_enabled(eim_log_level_t level)
{
    return level >= eim_log_get_level();
}

/* Ends the field list of eim_log: a null pointer of the type the variadic
 * arguments are read as. */
#define EIM_LOG_END ((const char *)0)

/* Logs msg with string fields: key1, value1, ..., EIM_LOG_END. */
void eim_log(eim_log_level_t level, const char *msg, ...) __attribute__((sentinel));
/* Logs msg with the members of fields (borrowed; may be NULL). */
void eim_log_json(eim_log_level_t level, const char *msg, const json_t *fields);

#define eim_log_debug(...) eim_log(EIM_LOG_DEBUG, __VA_ARGS__, EIM_LOG_END)
#define eim_log_info(...)  eim_log(EIM_LOG_INFO, __VA_ARGS__, EIM_LOG_END)
#define eim_log_warn(...)  eim_log(EIM_LOG_WARN, __VA_ARGS__, EIM_LOG_END)
#define eim_log_error(...) eim_log(EIM_LOG_ERROR, __VA_ARGS__, EIM_LOG_END)

#endif
