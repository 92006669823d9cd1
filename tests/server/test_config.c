/*
 * Configuration: defaults, file loading, environment overrides, and every
 * validation error path (each must name the offending key).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/config.h"
#include "tests/support/support.h"

/* Writes text to a temporary file and returns its path (static buffer). */
static const char *temp_config(const char *text)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/eimd-config-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

/* Loads text (may be NULL) with env; returns the error (EIM_OK or not). */
static eim_err_t load(const char *text, char *const *env, eim_config_t *cfg, char *error,
                      size_t size)
{
    eim_config_defaults(cfg);
    const char *path = text ? temp_config(text) : NULL;
    eim_err_t err = eim_config_load(cfg, path, env, error, size);
    if (path)
        unlink(path);
    return err;
}

static void expect_error(const char *text, char *const *env, const char *must_contain)
{
    eim_config_t cfg;
    char error[512] = "";
    assert_int_equal(load(text, env, &cfg, error, sizeof(error)), EIM_ERR_CONFIG);
    if (!strstr(error, must_contain))
        fail_msg("error \"%s\" does not mention \"%s\"", error, must_contain);
    eim_config_free(&cfg);
}

static void test_defaults(void **state)
{
    (void)state;
    eim_config_t cfg;
    eim_config_defaults(&cfg);
    assert_int_equal(cfg.log_level, EIM_LOG_INFO);
    assert_string_equal(cfg.database.dsn, "postgresql:///eimd");
    assert_int_equal(cfg.database.pool_size, 4);
    assert_false(cfg.database.migrate_on_start);
    assert_string_equal(cfg.admin.listen, "127.0.0.1:8081");
    assert_int_equal(cfg.shutdown.deadline_ms, 10000);
    assert_string_equal(cfg.eim.id, "eim.example.org");
    eim_config_free(&cfg);
}

/* config/eimd.json must hold exactly the built-in defaults. */
static void test_shipped_file_matches_defaults(void **state)
{
    (void)state;
    eim_config_t from_file, defaults;
    char error[256];
    eim_config_defaults(&from_file);
    eim_config_defaults(&defaults);
    assert_int_equal(eim_config_load(&from_file, EIMD_SOURCE_DIR "/config/eimd.json", NULL, error,
                                     sizeof(error)),
                     EIM_OK);
    assert_int_equal(from_file.database.pool_size, defaults.database.pool_size);
    assert_string_equal(from_file.database.dsn, defaults.database.dsn);
    assert_string_equal(from_file.admin.listen, defaults.admin.listen);
    assert_string_equal(from_file.keys.signing_key, defaults.keys.signing_key);
    assert_int_equal(from_file.admin.max_header_bytes, defaults.admin.max_header_bytes);
    eim_config_free(&from_file);
    eim_config_free(&defaults);
}

/* Every documented key appears in config/eimd.json and in the README. */
static void test_keys_documented(void **state)
{
    (void)state;
    char *readme = test_read_file(EIMD_SOURCE_DIR "/README.md");
    char *shipped = test_read_file(EIMD_SOURCE_DIR "/config/eimd.json");
    assert_non_null(readme);
    assert_non_null(shipped);
    const char *dotted, *env, *doc;
    size_t count = 0;
    for (size_t i = 0; eim_config_key_at(i, &dotted, &env, &doc); i++, count++) {
        char quoted[96];
        snprintf(quoted, sizeof(quoted), "`%s`", dotted);
        if (!strstr(readme, quoted))
            fail_msg("README.md does not document %s", dotted);
        if (!strstr(readme, env))
            fail_msg("README.md does not name %s", env);
        const char *key = strchr(dotted, '.') + 1;
        snprintf(quoted, sizeof(quoted), "\"%s\"", key);
        if (!strstr(shipped, quoted))
            fail_msg("config/eimd.json lacks %s", dotted);
        assert_true(strlen(doc) > 10);
    }
    assert_true(count >= 15);
    free(readme);
    free(shipped);
}

static void test_file_values_applied(void **state)
{
    (void)state;
    eim_config_t cfg;
    char error[256];
    assert_int_equal(load("{\"log\":{\"level\":\"debug\"},\"database\":{\"pool_size\":9,"
                          "\"migrate_on_start\":true},\"admin\":{\"listen\":\"[::1]:9000\"}}",
                          NULL, &cfg, error, sizeof(error)),
                     EIM_OK);
    assert_int_equal(cfg.log_level, EIM_LOG_DEBUG);
    assert_int_equal(cfg.database.pool_size, 9);
    assert_true(cfg.database.migrate_on_start);
    assert_string_equal(cfg.admin.listen, "[::1]:9000");
    eim_config_free(&cfg);
}

static void test_env_overrides_file(void **state)
{
    (void)state;
    char *env[] = {"PATH=/usr/bin",
                   "EIMD_DATABASE_POOL_SIZE=7",
                   "EIMD_LOG_LEVEL=warn",
                   "EIMD_DATABASE_MIGRATE_ON_START=1",
                   "EIMD_ADMIN_LISTEN=127.0.0.2:1",
                   "EIMD_WOLFSSL_PREFIX=/opt/x",
                   NULL};
    eim_config_t cfg;
    char error[256];
    assert_int_equal(load("{\"database\":{\"pool_size\":3}}", env, &cfg, error, sizeof(error)),
                     EIM_OK);
    assert_int_equal(cfg.database.pool_size, 7);
    assert_int_equal(cfg.log_level, EIM_LOG_WARN);
    assert_true(cfg.database.migrate_on_start);
    assert_string_equal(cfg.admin.listen, "127.0.0.2:1");
    eim_config_free(&cfg);
}

static void test_file_errors(void **state)
{
    (void)state;
    expect_error("{\"log\":{\"level\":\"debug\"", NULL, "eimd-config-"); /* syntax, with path */
    expect_error("[1,2]", NULL, "top level must be a JSON object");
    expect_error("{\"logging\":{}}", NULL, "unknown section \"logging\"");
    expect_error("{\"log\":3}", NULL, "section \"log\" must be an object");
    expect_error("{\"log\":{\"colour\":true}}", NULL, "unknown key \"log.colour\"");
    expect_error("{\"log\":{\"level\":\"loud\"}}", NULL, "log.level");
    expect_error("{\"log\":{\"level\":1}}", NULL, "log.level: expected a string");
    expect_error("{\"database\":{\"pool_size\":\"4\"}}", NULL,
                 "database.pool_size: expected an integer");
    expect_error("{\"database\":{\"pool_size\":1.5}}", NULL, "database.pool_size");
    expect_error("{\"database\":{\"pool_size\":0}}", NULL,
                 "database.pool_size: 0 is out of range [1, 64]");
    expect_error("{\"database\":{\"pool_size\":65}}", NULL, "database.pool_size: 65");
    expect_error("{\"database\":{\"migrate_on_start\":\"yes\"}}", NULL,
                 "database.migrate_on_start: expected true or false");
    expect_error("{\"database\":{\"dsn\":\"\"}}", NULL, "database.dsn: length 0");
    expect_error("{\"admin\":{\"listen\":\"localhost:80\"}}", NULL, "admin.listen");
    expect_error("{\"admin\":{\"listen\":\"127.0.0.1\"}}", NULL, "admin.listen");
    expect_error("{\"admin\":{\"listen\":\"127.0.0.1:70000\"}}", NULL, "admin.listen");
    expect_error("{\"admin\":{\"listen\":\"[::1:80\"}}", NULL, "admin.listen");
    expect_error("{\"log\":{\"level\":\"info\",\"level\":\"debug\"}}", NULL, "duplicate");
    expect_error("{\"database\":{\"reconnect_min_ms\":5000,\"reconnect_max_ms\":1000}}", NULL,
                 "database.reconnect_min_ms (5000) must not exceed");
    expect_error("{\"eim\":{\"id\":\"\"}}", NULL, "eim.id");
}

static void test_env_errors(void **state)
{
    (void)state;
    char *bad_int[] = {"EIMD_DATABASE_POOL_SIZE=four", NULL};
    expect_error(NULL, bad_int, "EIMD_DATABASE_POOL_SIZE: expected an integer");
    char *trailing[] = {"EIMD_DATABASE_POOL_SIZE=4x", NULL};
    expect_error(NULL, trailing, "EIMD_DATABASE_POOL_SIZE");
    char *range[] = {"EIMD_SHUTDOWN_DEADLINE_MS=-1", NULL};
    expect_error(NULL, range, "EIMD_SHUTDOWN_DEADLINE_MS: -1 is out of range");
    char *bad_bool[] = {"EIMD_DATABASE_MIGRATE_ON_START=maybe", NULL};
    expect_error(NULL, bad_bool, "EIMD_DATABASE_MIGRATE_ON_START");
    char *typo[] = {"EIMD_DATABASE_POOLSIZE=4", NULL};
    expect_error(NULL, typo, "unknown configuration variable EIMD_DATABASE_POOLSIZE");
    char *bad_listen[] = {"EIMD_ADMIN_LISTEN=:80", NULL};
    expect_error(NULL, bad_listen, "EIMD_ADMIN_LISTEN");
}

static void test_missing_file(void **state)
{
    (void)state;
    eim_config_t cfg;
    char error[256];
    eim_config_defaults(&cfg);
    assert_int_equal(eim_config_load(&cfg, "/nonexistent/eimd.json", NULL, error, sizeof(error)),
                     EIM_ERR_CONFIG);
    assert_non_null(strstr(error, "/nonexistent/eimd.json"));
    eim_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_shipped_file_matches_defaults),
        cmocka_unit_test(test_keys_documented),
        cmocka_unit_test(test_file_values_applied),
        cmocka_unit_test(test_env_overrides_file),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_env_errors),
        cmocka_unit_test(test_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
