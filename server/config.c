/*
 * eimd configuration: table of keys, JSON file loading, environment
 * overrides, validation. See config.h.
 */
#include "server/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uv.h>

#include "proto/base/memory.h"
#include "server/net_address.h"

typedef enum { TYPE_STRING, TYPE_INT, TYPE_BOOL, TYPE_LEVEL, TYPE_LISTEN } key_type_t;

typedef struct {
    const char *section;
    const char *key;
    const char *env; /* EIMD_SECTION_KEY */
    key_type_t type;
    size_t offset;
    long min, max;        /* TYPE_INT bounds; TYPE_STRING length bounds */
    const char *fallback; /* default, as text */
    const char *doc;
} key_spec_t;

#define KEY(sec, k, ENV, t, field, lo, hi, def, text)                                              \
    {                                                                                              \
        sec, k, "EIMD_" ENV, t, offsetof(eim_config_t, field), lo, hi, def, text                   \
    }

static const key_spec_t keys[] = {
    KEY("log", "level", "LOG_LEVEL", TYPE_LEVEL, log_level, 0, 0, "info",
        "Lowest level written to stderr: debug, info, warn or error."),
    KEY("database", "dsn", "DATABASE_DSN", TYPE_STRING, database.dsn, 1, 4096, "postgresql:///eimd",
        "libpq connection string or URI of the eimd database."),
    KEY("database", "pool_size", "DATABASE_POOL_SIZE", TYPE_INT, database.pool_size, 1, 64, "4",
        "Number of PostgreSQL connections kept open."),
    KEY("database", "connect_timeout_ms", "DATABASE_CONNECT_TIMEOUT_MS", TYPE_INT,
        database.connect_timeout_ms, 100, 600000, "5000",
        "Give up on a connection attempt after this long."),
    KEY("database", "reconnect_min_ms", "DATABASE_RECONNECT_MIN_MS", TYPE_INT,
        database.reconnect_min_ms, 10, 600000, "100",
        "First delay before reconnecting a lost connection; doubles per failure."),
    KEY("database", "reconnect_max_ms", "DATABASE_RECONNECT_MAX_MS", TYPE_INT,
        database.reconnect_max_ms, 10, 3600000, "10000", "Upper bound of the reconnect delay."),
    KEY("database", "health_interval_ms", "DATABASE_HEALTH_INTERVAL_MS", TYPE_INT,
        database.health_interval_ms, 100, 600000, "2000",
        "How often an idle connection is probed (and the schema version read) for /readyz."),
    KEY("database", "migrate_on_start", "DATABASE_MIGRATE_ON_START", TYPE_BOOL,
        database.migrate_on_start, 0, 0, "false",
        "Apply pending migrations when `serve` starts instead of refusing an old schema."),
    KEY("admin", "listen", "ADMIN_LISTEN", TYPE_LISTEN, admin.listen, 0, 0, "127.0.0.1:8081",
        "Address of the admin HTTP listener (/livez, /readyz, /metrics)."),
    KEY("admin", "max_connections", "ADMIN_MAX_CONNECTIONS", TYPE_INT, admin.max_connections, 1,
        100000, "64", "Connections beyond this are closed on accept."),
    KEY("admin", "idle_timeout_ms", "ADMIN_IDLE_TIMEOUT_MS", TYPE_INT, admin.idle_timeout_ms, 100,
        3600000, "30000", "Close a connection that sends nothing for this long."),
    KEY("admin", "max_header_bytes", "ADMIN_MAX_HEADER_BYTES", TYPE_INT, admin.max_header_bytes,
        512, 1048576, "8192", "Largest request head (request line and headers) accepted."),
    KEY("https", "enabled", "HTTPS_ENABLED", TYPE_BOOL, https.enabled, 0, 0, "false",
        "Open the HTTPS listener (device-facing ESipa and REST, mounted by later work)."),
    KEY("https", "listen", "HTTPS_LISTEN", TYPE_LISTEN, https.listen, 0, 0, "127.0.0.1:8443",
        "Address of the HTTPS listener."),
    KEY("https", "max_connections", "HTTPS_MAX_CONNECTIONS", TYPE_INT, https.max_connections, 1,
        1000000, "10000", "HTTPS connections beyond this are closed on accept."),
    KEY("https", "idle_timeout_ms", "HTTPS_IDLE_TIMEOUT_MS", TYPE_INT, https.idle_timeout_ms, 100,
        3600000, "30000", "Close an HTTPS connection (or an incomplete request) idle this long."),
    KEY("https", "handshake_timeout_ms", "HTTPS_HANDSHAKE_TIMEOUT_MS", TYPE_INT,
        https.handshake_timeout_ms, 100, 600000, "10000",
        "Close a connection whose TLS handshake is not complete after this long."),
    KEY("https", "max_header_bytes", "HTTPS_MAX_HEADER_BYTES", TYPE_INT, https.max_header_bytes,
        512, 1048576, "8192", "Largest HTTPS request head accepted."),
    KEY("https", "max_body_bytes", "HTTPS_MAX_BODY_BYTES", TYPE_INT, https.max_body_bytes, 0,
        67108864, "1048576", "Largest HTTPS request body accepted."),
    KEY("https", "raw_public_key", "HTTPS_RAW_PUBLIC_KEY", TYPE_BOOL, https.raw_public_key, 0, 0,
        "true", "Also serve RFC 7250 raw-public-key clients (keys.tls_raw_public_key)."),
    KEY("https", "ticket_rotation_ms", "HTTPS_TICKET_ROTATION_MS", TYPE_INT,
        https.ticket_rotation_ms, 1000, 604800000, "3600000",
        "Session ticket key lifetime; tickets resume for one to two periods."),
    KEY("coaps", "enabled", "COAPS_ENABLED", TYPE_BOOL, coaps.enabled, 0, 0, "false",
        "Open the CoAP-over-DTLS listeners (DTLS 1.2/1.3 with Connection ID, keys.tls_*)."),
    KEY("coaps", "listen", "COAPS_LISTEN", TYPE_LISTEN, coaps.listen, 0, 0, "127.0.0.1:5684",
        "UDP address of the DTLS listener, `ipv4:port` or `[ipv6]:port`."),
    KEY("coaps", "listen_ipv6", "COAPS_LISTEN_IPV6", TYPE_STRING, coaps.listen_ipv6, 0, 128, "",
        "A second UDP address (e.g. `[::]:5684`); empty: none."),
    KEY("coaps", "dtls13", "COAPS_DTLS13", TYPE_BOOL, coaps.dtls13, 0, 0, "true",
        "Offer DTLS 1.3 besides 1.2 (1.3 sessions cannot be parked and stay live)."),
    KEY("coaps", "raw_public_key", "COAPS_RAW_PUBLIC_KEY", TYPE_BOOL, coaps.raw_public_key, 0, 0,
        "true", "Also serve RFC 7250 raw-public-key clients (chosen per ClientHello)."),
    KEY("coaps", "mtu", "COAPS_MTU", TYPE_INT, coaps.mtu, 256, 1500, "1152",
        "Largest DTLS datagram the server sends; the handshake flight is grouped into it."),
    KEY("coaps", "receive_buffer_bytes", "COAPS_RECEIVE_BUFFER_BYTES", TYPE_INT,
        coaps.receive_buffer_bytes, 0, 1073741824, "8388608",
        "SO_RCVBUF asked for each UDP socket (capped by net.core.rmem_max)."),
    KEY("coaps", "max_sessions", "COAPS_MAX_SESSIONS", TYPE_INT, coaps.max_sessions, 1, 10000000,
        "200000", "Live plus parked sessions; beyond, the oldest idle one is evicted."),
    KEY("coaps", "max_handshakes", "COAPS_MAX_HANDSHAKES", TYPE_INT, coaps.max_handshakes, 1,
        1000000, "2000", "Handshakes in progress at once; further ClientHellos are dropped."),
    KEY("coaps", "handshake_rate_per_prefix", "COAPS_HANDSHAKE_RATE_PER_PREFIX", TYPE_INT,
        coaps.handshake_rate_per_prefix, 0, 1000000, "200",
        "New handshakes per second per source /24 (IPv4) or /56 (IPv6); 0: unlimited."),
    KEY("coaps", "handshake_timeout_ms", "COAPS_HANDSHAKE_TIMEOUT_MS", TYPE_INT,
        coaps.handshake_timeout_ms, 100, 600000, "30000",
        "Drop a handshake not finished after this long."),
    KEY("coaps", "park_after_ms", "COAPS_PARK_AFTER_MS", TYPE_INT, coaps.park_after_ms, 0, 86400000,
        "30000", "Park a DTLS 1.2 session idle this long (sealed export, persisted); 0: never."),
    KEY("coaps", "lifetime_s", "COAPS_LIFETIME_S", TYPE_INT, coaps.lifetime_s, 60, 31536000,
        "604800",
        "A session idle this long (live or parked) expires; the device handshakes again."),
    KEY("coaps", "cookie_rotation_ms", "COAPS_COOKIE_ROTATION_MS", TYPE_INT,
        coaps.cookie_rotation_ms, 1000, 86400000, "300000",
        "Cookie secret lifetime; cookies under the previous secret are still accepted."),
    KEY("coaps", "park_key", "COAPS_PARK_KEY", TYPE_STRING, coaps.park_key, 0, 4096, "",
        "File with 64 hex characters: the AES-256 key sealing parked sessions, shared by the "
        "instances on one database; empty: random per process (no resumption after a restart)."),
    KEY("api", "enabled", "API_ENABLED", TYPE_BOOL, api.enabled, 0, 0, "false",
        "Open the operators' REST API listener (/api/v1, /openapi.json)."),
    KEY("api", "listen", "API_LISTEN", TYPE_LISTEN, api.listen, 0, 0, "127.0.0.1:8080",
        "Address of the REST API listener (keep plain HTTP on a private interface)."),
    KEY("api", "tls", "API_TLS", TYPE_BOOL, api.tls, 0, 0, "false",
        "Serve the REST API over HTTPS with keys.tls_certificate_chain and keys.tls_private_key."),
    KEY("api", "max_connections", "API_MAX_CONNECTIONS", TYPE_INT, api.max_connections, 1, 100000,
        "256", "REST API connections beyond this are closed on accept."),
    KEY("api", "idle_timeout_ms", "API_IDLE_TIMEOUT_MS", TYPE_INT, api.idle_timeout_ms, 100,
        3600000, "30000", "Close a REST API connection (or an incomplete request) idle this long."),
    KEY("api", "handshake_timeout_ms", "API_HANDSHAKE_TIMEOUT_MS", TYPE_INT,
        api.handshake_timeout_ms, 100, 600000, "10000",
        "With api.tls: close a connection whose TLS handshake is not complete after this long."),
    KEY("api", "max_header_bytes", "API_MAX_HEADER_BYTES", TYPE_INT, api.max_header_bytes, 512,
        1048576, "8192", "Largest REST API request head accepted (431 beyond)."),
    KEY("api", "max_body_bytes", "API_MAX_BODY_BYTES", TYPE_INT, api.max_body_bytes, 1024, 67108864,
        "8388608", "Largest REST API request body accepted (413 beyond)."),
    KEY("api", "max_batch", "API_MAX_BATCH", TYPE_INT, api.max_batch, 1, 10000, "10000",
        "Most eUICCs per import and EIDs per campaign (413 beyond)."),
    KEY("api", "default_page_size", "API_DEFAULT_PAGE_SIZE", TYPE_INT, api.default_page_size, 1,
        1000, "100", "Items per list page when the request gives no limit."),
    KEY("api", "max_page_size", "API_MAX_PAGE_SIZE", TYPE_INT, api.max_page_size, 1, 1000, "1000",
        "Largest limit a list request may ask for (400 beyond)."),
    KEY("api", "retry_after_s", "API_RETRY_AFTER_S", TYPE_INT, api.retry_after_s, 1, 3600, "5",
        "Retry-After of the 503 answered while the database is unavailable."),
    KEY("shutdown", "deadline_ms", "SHUTDOWN_DEADLINE_MS", TYPE_INT, shutdown.deadline_ms, 0,
        600000, "10000", "On SIGTERM/SIGINT, wait this long for in-flight work before exiting."),
    KEY("eim", "id", "EIM_ID", TYPE_STRING, eim.id, 1, 128, "eim.example.org",
        "eimId of this eIM (SGP.32 EimConfigurationData.eimId, 1..128 characters)."),
    KEY("esipa", "ci_roots", "ESIPA_CI_ROOTS", TYPE_STRING, esipa.ci_roots, 0, 8192, "",
        "GSMA CI root certificates (PEM or DER files, separated by ':') that eUICC certificate "
        "chains must lead to; empty: keys are never learned from certificates."),
    KEY("esipa", "apply_unverified_results", "ESIPA_APPLY_UNVERIFIED_RESULTS", TYPE_BOOL,
        esipa.apply_unverified_results, 0, 0, "false",
        "Lab setting: apply results of eUICCs whose key is unknown without verifying them."),
    KEY("esipa", "retry_after_s", "ESIPA_RETRY_AFTER_S", TYPE_INT, esipa.retry_after_s, 1, 86400,
        "30", "Retry-After sent to IPAs when the database is unavailable."),
    KEY("esipa", "key_cache_size", "ESIPA_KEY_CACHE_SIZE", TYPE_INT, esipa.key_cache_size, 16,
        10000000, "4096", "Verified eUICC public keys kept in memory."),
    KEY("esipa", "polls_per_minute", "ESIPA_POLLS_PER_MINUTE", TYPE_INT, esipa.polls_per_minute, 0,
        100000, "60",
        "GetEimPackage polls allowed per EID and minute (429 / CoAP 4.29 beyond); 0: unlimited."),
    KEY("esipa", "poll_burst", "ESIPA_POLL_BURST", TYPE_INT, esipa.poll_burst, 1, 10000, "10",
        "Polls an EID may make at once before the per-minute rate applies."),
    KEY("keys", "signing_key", "KEYS_SIGNING_KEY", TYPE_STRING, keys.signing_key, 1, 4096,
        "var/keys/eim-signing.key.pem", "eUICC Package signing key (PEM, P-256)."),
    KEY("keys", "tls_ca_certificate", "KEYS_TLS_CA_CERTIFICATE", TYPE_STRING,
        keys.tls_ca_certificate, 1, 4096, "var/keys/eim-tls-ca.pem",
        "CA certificate that issued the TLS/DTLS certificate (what full-chain IPAs trust)."),
    KEY("keys", "tls_ca_key", "KEYS_TLS_CA_KEY", TYPE_STRING, keys.tls_ca_key, 1, 4096,
        "var/keys/eim-tls-ca.key.pem", "Private key of that CA (used by `keygen` only)."),
    KEY("keys", "tls_certificate_chain", "KEYS_TLS_CERTIFICATE_CHAIN", TYPE_STRING,
        keys.tls_certificate_chain, 1, 4096, "var/keys/eim-tls-chain.pem",
        "TLS/DTLS server certificate followed by its CA certificate (PEM)."),
    KEY("keys", "tls_private_key", "KEYS_TLS_PRIVATE_KEY", TYPE_STRING, keys.tls_private_key, 1,
        4096, "var/keys/eim-tls.key.pem", "Private key of the TLS/DTLS certificate (PEM)."),
    KEY("keys", "tls_raw_public_key", "KEYS_TLS_RAW_PUBLIC_KEY", TYPE_STRING,
        keys.tls_raw_public_key, 1, 4096, "var/keys/eim-tls.spki.der",
        "SubjectPublicKeyInfo (DER) of the TLS key, for RFC 7250 raw-public-key IPAs."),
};
#define KEY_COUNT (sizeof(keys) / sizeof(keys[0]))

static void fail(char *error, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(char *error, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error, size, fmt, ap);
    va_end(ap);
}

bool eim_config_key_at(size_t index, const char **dotted, const char **env_name, const char **doc)
{
    static char names[KEY_COUNT][64];
    if (index >= KEY_COUNT)
        return false;
    snprintf(names[index], sizeof(names[index]), "%s.%s", keys[index].section, keys[index].key);
    *dotted = names[index];
    *env_name = keys[index].env;
    *doc = keys[index].doc;
    return true;
}

/* Stores text into the field of spec, validating it. name is what error
 * messages call the key ("admin.listen" or "EIMD_ADMIN_LISTEN"). */
static eim_err_t set_from_text(eim_config_t *cfg, const key_spec_t *spec, const char *text,
                               const char *name, char *error, size_t error_size)
{
    void *field = (char *)cfg + spec->offset;
    switch (spec->type) {
    case TYPE_INT: {
        char *end;
        errno = 0;
        long v = strtol(text, &end, 10);
        if (errno || end == text || *end) {
            fail(error, error_size, "%s: expected an integer, got \"%s\"", name, text);
            return EIM_ERR_CONFIG;
        }
        if (v < spec->min || v > spec->max) {
            fail(error, error_size, "%s: %ld is out of range [%ld, %ld]", name, v, spec->min,
                 spec->max);
            return EIM_ERR_CONFIG;
        }
        *(int *)field = (int)v;
        return EIM_OK;
    }
    case TYPE_BOOL:
        if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0) {
            *(bool *)field = true;
        } else if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0) {
            *(bool *)field = false;
        } else {
            fail(error, error_size, "%s: expected true or false, got \"%s\"", name, text);
            return EIM_ERR_CONFIG;
        }
        return EIM_OK;
    case TYPE_LEVEL:
        if (eim_log_level_parse(text, (eim_log_level_t *)field) != EIM_OK) {
            fail(error, error_size, "%s: expected debug, info, warn or error, got \"%s\"", name,
                 text);
            return EIM_ERR_CONFIG;
        }
        return EIM_OK;
    case TYPE_LISTEN: {
        struct sockaddr_storage ss;
        if (eim_address_parse(text, &ss) != EIM_OK) {
            fail(error, error_size,
                 "%s: expected \"ipv4:port\" or \"[ipv6]:port\" with a numeric address, got "
                 "\"%s\"",
                 name, text);
            return EIM_ERR_CONFIG;
        }
        break;
    }
    case TYPE_STRING: {
        size_t len = strlen(text);
        if ((long)len < spec->min || (long)len > spec->max) {
            fail(error, error_size, "%s: length %zu is out of range [%ld, %ld]", name, len,
                 spec->min, spec->max);
            return EIM_ERR_CONFIG;
        }
        break;
    }
    }
    char **slot = (char **)field;
    free(*slot);
    *slot = eim_strdup(text);
    return EIM_OK;
}

void eim_config_defaults(eim_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    char ignored[8];
    for (size_t i = 0; i < KEY_COUNT; i++)
        set_from_text(cfg, &keys[i], keys[i].fallback, keys[i].env, ignored, sizeof(ignored));
}

void eim_config_free(eim_config_t *cfg)
{
    for (size_t i = 0; i < KEY_COUNT; i++) {
        if (keys[i].type == TYPE_STRING || keys[i].type == TYPE_LISTEN) {
            char **slot = (char **)((char *)cfg + keys[i].offset);
            free(*slot);
            *slot = NULL;
        }
    }
}

static const key_spec_t *find_key(const char *section, const char *key)
{
    for (size_t i = 0; i < KEY_COUNT; i++)
        if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].key, key) == 0)
            return &keys[i];
    return NULL;
}

static bool known_section(const char *section)
{
    for (size_t i = 0; i < KEY_COUNT; i++)
        if (strcmp(keys[i].section, section) == 0)
            return true;
    return false;
}

/* A JSON value as the text set_from_text parses, checking its JSON type. */
static eim_err_t json_value_text(const key_spec_t *spec, json_t *value, const char *name, char *buf,
                                 size_t buf_size, const char **text, char *error, size_t error_size)
{
    switch (spec->type) {
    case TYPE_INT:
        if (!json_is_integer(value)) {
            fail(error, error_size, "%s: expected an integer", name);
            return EIM_ERR_CONFIG;
        }
        snprintf(buf, buf_size, "%lld", (long long)json_integer_value(value));
        *text = buf;
        return EIM_OK;
    case TYPE_BOOL:
        if (!json_is_boolean(value)) {
            fail(error, error_size, "%s: expected true or false", name);
            return EIM_ERR_CONFIG;
        }
        *text = json_is_true(value) ? "true" : "false";
        return EIM_OK;
    default:
        if (!json_is_string(value)) {
            fail(error, error_size, "%s: expected a string", name);
            return EIM_ERR_CONFIG;
        }
        *text = json_string_value(value);
        return EIM_OK;
    }
}

static eim_err_t load_file(eim_config_t *cfg, const char *path, char *error, size_t error_size)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        fail(error, error_size, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
        return EIM_ERR_CONFIG;
    }
    eim_err_t err = EIM_OK;
    if (!json_is_object(root)) {
        fail(error, error_size, "%s: the top level must be a JSON object", path);
        err = EIM_ERR_CONFIG;
        goto out;
    }
    const char *section;
    json_t *members;
    json_object_foreach(root, section, members)
    {
        if (!known_section(section)) {
            fail(error, error_size, "%s: unknown section \"%s\"", path, section);
            err = EIM_ERR_CONFIG;
            goto out;
        }
        if (!json_is_object(members)) {
            fail(error, error_size, "%s: section \"%s\" must be an object", path, section);
            err = EIM_ERR_CONFIG;
            goto out;
        }
        const char *key;
        json_t *value;
        json_object_foreach(members, key, value)
        {
            char name[160];
            snprintf(name, sizeof(name), "%s.%s", section, key);
            const key_spec_t *spec = find_key(section, key);
            if (!spec) {
                fail(error, error_size, "%s: unknown key \"%s\"", path, name);
                err = EIM_ERR_CONFIG;
                goto out;
            }
            char buf[32];
            const char *text;
            err = json_value_text(spec, value, name, buf, sizeof(buf), &text, error, error_size);
            if (!err)
                err = set_from_text(cfg, spec, text, name, error, error_size);
            if (err)
                goto out;
        }
    }
out:
    json_decref(root);
    return err;
}

/* EIMD_<SECTION>_... with a known section but no matching key is a typo we
 * refuse; other EIMD_ variables (build and test tooling) are not ours. */
static bool env_names_section(const char *name, size_t name_len)
{
    for (size_t i = 0; i < KEY_COUNT; i++) {
        size_t n = strlen(keys[i].section);
        if (name_len > 5 + n + 1 && strncmp(name, "EIMD_", 5) == 0 && name[5 + n] == '_') {
            bool same = true;
            for (size_t j = 0; j < n; j++)
                if (name[5 + j] != toupper((unsigned char)keys[i].section[j]))
                    same = false;
            if (same)
                return true;
        }
    }
    return false;
}

static eim_err_t apply_env(eim_config_t *cfg, char *const *env, char *error, size_t error_size)
{
    for (char *const *p = env; p && *p; p++) {
        const char *eq = strchr(*p, '=');
        if (!eq || strncmp(*p, "EIMD_", 5) != 0)
            continue;
        size_t name_len = (size_t)(eq - *p);
        const key_spec_t *spec = NULL;
        for (size_t i = 0; i < KEY_COUNT; i++)
            if (strlen(keys[i].env) == name_len && strncmp(keys[i].env, *p, name_len) == 0)
                spec = &keys[i];
        if (!spec) {
            if (env_names_section(*p, name_len)) {
                fail(error, error_size, "unknown configuration variable %.*s", (int)name_len, *p);
                return EIM_ERR_CONFIG;
            }
            continue;
        }
        eim_err_t err = set_from_text(cfg, spec, eq + 1, spec->env, error, error_size);
        if (err)
            return err;
    }
    return EIM_OK;
}

eim_err_t eim_config_load(eim_config_t *cfg, const char *path, char *const *env, char *error,
                          size_t error_size)
{
    eim_err_t err = EIM_OK;
    if (path)
        err = load_file(cfg, path, error, error_size);
    if (!err)
        err = apply_env(cfg, env, error, error_size);
    if (!err && cfg->database.reconnect_min_ms > cfg->database.reconnect_max_ms) {
        fail(error, error_size,
             "database.reconnect_min_ms (%d) must not exceed database.reconnect_max_ms (%d)",
             cfg->database.reconnect_min_ms, cfg->database.reconnect_max_ms);
        err = EIM_ERR_CONFIG;
    }
    return err;
}
