/*
 * proto/base: bounded buffers, error names, JSON-lines logging format and
 * level filtering, and Prometheus text rendering of the metrics registry.
 */
#define _GNU_SOURCE
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "proto/base/error.h"
#include "proto/base/log.h"
#include "proto/base/memory.h"
#include "proto/base/metrics.h"

static void test_buffer_is_bounded(void **state)
{
    (void)state;
    eim_buf_t buf;
    eim_buf_init(&buf, 10);
    assert_int_equal(eim_buf_append(&buf, "0123456789", 10), EIM_OK);
    assert_int_equal(eim_buf_append_byte(&buf, 'x'), EIM_ERR_LIMIT);
    assert_int_equal(buf.len, 10);
    assert_memory_equal(buf.data, "0123456789", 10);
    eim_buf_reset(&buf);
    assert_int_equal(eim_buf_printf(&buf, "%d-%s", 42, "abc"), EIM_OK);
    assert_int_equal(buf.len, 6);
    assert_memory_equal(buf.data, "42-abc", 6);
    assert_int_equal(eim_buf_printf(&buf, "%s", "too long!"), EIM_ERR_LIMIT);
    assert_int_equal(buf.len, 6);
    assert_int_equal(eim_buf_reserve(&buf, SIZE_MAX), EIM_ERR_LIMIT);
    eim_buf_free(&buf);
}

static void test_strlcpy_cuts_and_terminates(void **state)
{
    (void)state;
    char out[6];
    memset(out, 'x', sizeof(out));
    eim_strlcpy(out, "abc", sizeof(out));
    assert_string_equal(out, "abc");
    eim_strlcpy(out, "abcdefgh", sizeof(out)); /* cut to size - 1 */
    assert_string_equal(out, "abcde");
    eim_strlcpy(out, "", sizeof(out));
    assert_string_equal(out, "");
    char one[1] = {'x'};
    eim_strlcpy(one, "abc", sizeof(one));
    assert_int_equal(one[0], '\0');
}

static void test_error_names(void **state)
{
    (void)state;
    assert_string_equal(eim_strerror(EIM_OK), "ok");
    assert_string_equal(eim_strerror(EIM_ERR_DB_UNAVAILABLE), "database unavailable");
    assert_string_equal(eim_strerror((eim_err_t)-999), "unknown error");
    for (int e = 0; e >= EIM_ERR_BUFFER; e--)
        assert_string_not_equal(eim_strerror((eim_err_t)e), "unknown error");
}

/* Captures log output into a memory stream. */
typedef struct {
    char *data;
    size_t size;
    FILE *stream;
} capture_t;

static void capture_start(capture_t *c)
{
    c->stream = open_memstream(&c->data, &c->size);
    eim_log_set_stream(c->stream);
}

static void capture_stop(capture_t *c)
{
    fclose(c->stream);
    eim_log_set_stream(NULL);
}

static void test_log_line_format(void **state)
{
    (void)state;
    capture_t c;
    eim_log_set_level(EIM_LOG_INFO);
    capture_start(&c);
    eim_log_warn("database connection lost", "reason", "server closed \"it\"\n", "msg", "ignored",
                 "ts", "ignored");
    capture_stop(&c);
    /* exactly one line */
    assert_true(c.size > 0);
    assert_int_equal(c.data[c.size - 1], '\n');
    assert_null(memchr(c.data, '\n', c.size - 1));
    json_error_t jerr;
    json_t *line = json_loads(c.data, 0, &jerr);
    assert_non_null(line);
    assert_string_equal(json_string_value(json_object_get(line, "level")), "warn");
    assert_string_equal(json_string_value(json_object_get(line, "msg")),
                        "database connection lost");
    assert_string_equal(json_string_value(json_object_get(line, "reason")),
                        "server closed \"it\"\n");
    const char *ts = json_string_value(json_object_get(line, "ts"));
    regex_t re;
    assert_int_equal(regcomp(&re,
                             "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\."
                             "[0-9]{3}Z$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    assert_int_equal(regexec(&re, ts, 0, NULL, 0), 0);
    regfree(&re);
    /* ts, level, msg come first */
    assert_true(strncmp(c.data, "{\"ts\":", 6) == 0);
    assert_non_null(strstr(c.data, "\",\"level\":\"warn\",\"msg\":"));
    json_decref(line);
    free(c.data);
}

static void test_log_level_filter(void **state)
{
    (void)state;
    capture_t c;
    eim_log_set_level(EIM_LOG_WARN);
    capture_start(&c);
    eim_log_debug("hidden");
    eim_log_info("hidden");
    eim_log_error("shown", "k", "v");
    eim_log_warn("bytes", "sni", "\xff\xfe");
    json_t *fields = json_pack("{s:i, s:b}", "count", 3, "ok", 1);
    eim_log_json(EIM_LOG_WARN, "typed", fields);
    json_decref(fields);
    capture_stop(&c);
    eim_log_set_level(EIM_LOG_INFO);
    assert_null(strstr(c.data, "hidden"));
    assert_non_null(strstr(c.data, "\"level\":\"error\",\"msg\":\"shown\",\"k\":\"v\"}\n"));
    assert_non_null(strstr(c.data, "\"msg\":\"bytes\",\"sni\":\"(invalid UTF-8)\"}\n"));
    assert_non_null(strstr(c.data, "\"msg\":\"typed\",\"count\":3,\"ok\":true}\n"));
    free(c.data);

    eim_log_level_t level;
    assert_int_equal(eim_log_level_parse("debug", &level), EIM_OK);
    assert_int_equal(level, EIM_LOG_DEBUG);
    assert_int_equal(eim_log_level_parse("verbose", &level), EIM_ERR_INVALID_ARG);
}

static double fixed_value(void *ctx)
{
    return *(double *)ctx;
}

static void test_metrics_rendering(void **state)
{
    (void)state;
    eim_metrics_t *m = eim_metrics_new();
    eim_counter_t *ok =
        eim_metrics_counter(m, "eimd_requests_total", "Requests.\nBy code.", "code=\"200\"");
    eim_counter_t *bad =
        eim_metrics_counter(m, "eimd_requests_total", "Requests.\nBy code.", "code=\"500\"");
    eim_counter_add(ok, 41);
    eim_counter_inc(ok);
    eim_counter_inc(bad);
    assert_ptr_equal(eim_metrics_counter(m, "eimd_requests_total", "x", "code=\"200\""), ok);
    eim_gauge_t *g = eim_metrics_gauge(m, "eimd_sessions", "Sessions.", NULL);
    eim_gauge_set(g, 2.5);
    eim_gauge_add(g, -1);
    double value = 0.125;
    eim_metrics_gauge_fn(m, "eimd_ratio", "Ratio.", NULL, fixed_value, &value);
    static const double bounds[] = {0.1, 1};
    eim_histogram_t *h =
        eim_metrics_histogram(m, "eimd_latency_seconds", "Latency.", "route=\"/x\"", bounds, 2);
    eim_histogram_observe(h, 0.05);
    eim_histogram_observe(h, 0.5);
    eim_histogram_observe(h, 7);
    eim_buf_t out;
    eim_buf_init(&out, 1 << 20);
    assert_int_equal(eim_metrics_render(m, &out), EIM_OK);
    eim_buf_append_byte(&out, 0);
    const char *expected = "# HELP eimd_requests_total Requests.\\nBy code.\n"
                           "# TYPE eimd_requests_total counter\n"
                           "eimd_requests_total{code=\"200\"} 42\n"
                           "eimd_requests_total{code=\"500\"} 1\n"
                           "# HELP eimd_sessions Sessions.\n"
                           "# TYPE eimd_sessions gauge\n"
                           "eimd_sessions 1.5\n"
                           "# HELP eimd_ratio Ratio.\n"
                           "# TYPE eimd_ratio gauge\n"
                           "eimd_ratio 0.125\n"
                           "# HELP eimd_latency_seconds Latency.\n"
                           "# TYPE eimd_latency_seconds histogram\n"
                           "eimd_latency_seconds_bucket{route=\"/x\",le=\"0.1\"} 1\n"
                           "eimd_latency_seconds_bucket{route=\"/x\",le=\"1\"} 2\n"
                           "eimd_latency_seconds_bucket{route=\"/x\",le=\"+Inf\"} 3\n"
                           "eimd_latency_seconds_sum{route=\"/x\"} 7.55\n"
                           "eimd_latency_seconds_count{route=\"/x\"} 3\n";
    assert_string_equal((const char *)out.data, expected);
    eim_buf_free(&out);

    eim_buf_t escaped;
    eim_buf_init(&escaped, 64);
    assert_int_equal(eim_metrics_label_escape("a\"b\\c\nd", &escaped), EIM_OK);
    assert_int_equal(escaped.len, 10);
    assert_memory_equal(escaped.data, "a\\\"b\\\\c\\nd", 10);
    eim_buf_free(&escaped);
    eim_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buffer_is_bounded),
        cmocka_unit_test(test_strlcpy_cuts_and_terminates),
        cmocka_unit_test(test_error_names),
        cmocka_unit_test(test_log_line_format),
        cmocka_unit_test(test_log_level_filter),
        cmocka_unit_test(test_metrics_rendering),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
