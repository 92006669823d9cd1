/*
 * eimd configuration: a JSON file plus EIMD_<SECTION>_<KEY> environment
 * overrides, validated as a whole before anything starts.
 *
 * Every key is described once, in the table in config.c (type, bounds,
 * default, one-line documentation); config/eimd.json and the README list the
 * same keys, and a unit test keeps the three in step. An unknown key, a value
 * of the wrong type or out of range stops start-up with a message naming the
 * key (file keys as "section.key", environment overrides by variable name).
 */
#ifndef EIM_SERVER_CONFIG_H
#define EIM_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/base/error.h"
#include "proto/base/log.h"

typedef struct {
    eim_log_level_t log_level;
    struct {
        char *dsn;
        int pool_size;
        int connect_timeout_ms;
        int reconnect_min_ms;
        int reconnect_max_ms;
        int health_interval_ms;
        bool migrate_on_start;
    } database;
    struct {
        char *listen;
        int max_connections;
        int idle_timeout_ms;
        int max_header_bytes;
    } admin;
    struct {
        bool enabled;
        char *listen;
        int max_connections;
        int idle_timeout_ms;
        int handshake_timeout_ms;
        int max_header_bytes;
        int max_body_bytes;
        bool raw_public_key;
        int ticket_rotation_ms;
    } https;
    struct {
        bool enabled;
        char *listen;
        char *listen_ipv6;
        bool dtls13;
        bool raw_public_key;
        int mtu;
        int receive_buffer_bytes;
        int max_sessions;
        int max_handshakes;
        int handshake_rate_per_prefix;
        int handshake_timeout_ms;
        int park_after_ms;
        int lifetime_s;
        int cookie_rotation_ms;
        char *park_key;
    } coaps;
    struct {
        bool enabled;
        char *listen;
        bool tls;
        int max_connections;
        int idle_timeout_ms;
        int handshake_timeout_ms;
        int max_header_bytes;
        int max_body_bytes;
        int max_batch;
        int default_page_size;
        int max_page_size;
        int retry_after_s;
    } api;
    struct {
        int deadline_ms;
    } shutdown;
    struct {
        char *id;
    } eim;
    struct {
        char *ci_roots;
        bool apply_unverified_results;
        int retry_after_s;
        int key_cache_size;
        int polls_per_minute;
        int poll_burst;
    } esipa;
    struct {
        char *signing_key;
        char *tls_ca_certificate;
        char *tls_ca_key;
        char *tls_certificate_chain;
        char *tls_private_key;
        char *tls_raw_public_key;
    } keys;
} eim_config_t;

/* Fills cfg with the built-in defaults (what config/eimd.json also says). */
void eim_config_defaults(eim_config_t *cfg);

/*
 * Loads path (NULL: defaults only), then applies overrides from env (a
 * NULL-terminated "NAME=value" array such as environ; may be NULL). On
 * failure returns EIM_ERR_CONFIG and writes a one-line reason to error.
 * cfg must come from eim_config_defaults.
 */
eim_err_t eim_config_load(eim_config_t *cfg, const char *path, char *const *env, char *error,
                          size_t error_size);

void eim_config_free(eim_config_t *cfg);

/* Iterates over the documented keys ("section.key" and env name); for the
 * drift test and `eimd config-keys`. Returns false past the end. */
bool eim_config_key_at(size_t index, const char **dotted, const char **env_name, const char **doc);

#endif
