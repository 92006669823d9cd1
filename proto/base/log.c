/*
 * Structured JSON-lines logging. See log.h for the line format.
 */
#include "proto/base/log.h"

#include <stdarg.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static eim_log_level_t current_level = EIM_LOG_INFO;
static FILE *log_stream;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

eim_err_t eim_log_level_parse(const char *name, eim_log_level_t *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (eim_log_level_t)i;
            return EIM_OK;
        }
    }
    return EIM_ERR_INVALID_ARG;
}

const char *eim_log_level_name(eim_log_level_t level)
{
    if ((unsigned)level < sizeof(level_names) / sizeof(level_names[0]))
        return level_names[level];
    return "unknown";
}

void eim_log_set_level(eim_log_level_t level)
{
    current_level = level;
}

eim_log_level_t eim_log_get_level(void)
{
    return current_level;
}

void eim_log_set_stream(FILE *stream)
{
    log_stream = stream;
}

static void format_timestamp(char *out, size_t size)
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, size - n, ".%03dZ", (int)(tv.tv_usec / 1000));
}

static void emit(eim_log_level_t level, const char *msg, json_t *line)
{
    char ts[40];
    format_timestamp(ts, sizeof(ts));
    /* ts, level and msg come first; fields cannot overwrite them. */
    json_t *out = json_pack("{s:s, s:s, s:s}", "ts", ts, "level", eim_log_level_name(level), "msg",
                            msg ? msg : "");
    if (!out)
        return;
    const char *key;
    json_t *value;
    json_object_foreach(line, key, value)
    {
        if (!json_object_get(out, key))
            json_object_set(out, key, value);
    }
    char *text = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    json_decref(out);
    if (!text)
        return;
    size_t len = strlen(text);
    text[len] = '\n'; /* replace the terminator: one fwrite per line */
    FILE *stream = log_stream ? log_stream : stderr;
    fwrite(text, 1, len + 1, stream);
    fflush(stream);
    free(text);
}

void eim_log(eim_log_level_t level, const char *msg, ...)
{
    if (!eim_log_enabled(level))
        return;
    json_t *fields = json_object();
    va_list ap;
    va_start(ap, msg);
    for (;;) {
        const char *key = va_arg(ap, const char *);
        if (!key)
            break;
        const char *value = va_arg(ap, const char *);
        json_t *text = value ? json_string(value) : json_null();
        /* a value from the wire may not be UTF-8: say so instead of dropping it */
        json_object_set_new(fields, key, text ? text : json_string("(invalid UTF-8)"));
    }
    va_end(ap);
    emit(level, msg, fields);
    json_decref(fields);
}

void eim_log_json(eim_log_level_t level, const char *msg, const json_t *fields)
{
    if (!eim_log_enabled(level))
        return;
    emit(level, msg, (json_t *)fields);
}
