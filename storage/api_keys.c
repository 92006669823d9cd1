/*
 * API keys: creation (blocking, command line) and verification (on the
 * pool). See api_keys.h for the token format and what is stored.
 */
#include "storage/api_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "proto/base/memory.h"
#include "proto/crypto/crypto_util.h"

#define SALT_LEN   16
#define SECRET_LEN 32
#define HASH_LEN   32

bool eim_api_tenant_valid(const char *tenant)
{
    size_t n = tenant ? strlen(tenant) : 0;
    if (n < 1 || n > EIM_API_TENANT_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = tenant[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static void to_hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes exactly n bytes of lowercase/uppercase hex; false otherwise. */
static bool from_hex(const char *text, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static eim_err_t hash_secret(const uint8_t salt[SALT_LEN], const uint8_t secret[SECRET_LEN],
                             uint8_t out[HASH_LEN])
{
    wc_Sha256 sha;
    eim_err_t err = EIM_ERR_CRYPTO;
    if (wc_InitSha256(&sha) != 0)
        return err;
    if (wc_Sha256Update(&sha, salt, SALT_LEN) != 0 ||
        wc_Sha256Update(&sha, secret, SECRET_LEN) != 0 || wc_Sha256Final(&sha, out) != 0)
        goto out;
    err = EIM_OK;
out:
    wc_Sha256Free(&sha);
    return err;
}

eim_err_t eim_api_key_create(const char *dsn, const char *tenant, const char *scope,
                             const char *description, char token[EIM_API_KEY_TOKEN_SIZE],
                             char *error, size_t error_size)
{
    eim_err_t err = EIM_OK;
    PGconn *conn = NULL;
    PGresult *res = NULL;
    WC_RNG rng;
    bool rng_ready = false;
    uint8_t id[EIM_API_KEY_ID_HEX / 2], salt[SALT_LEN], secret[SECRET_LEN], hash[HASH_LEN];
    char id_hex[EIM_API_KEY_ID_HEX + 1], secret_hex[EIM_API_KEY_SECRET_HEX + 1];
    char salt_text[2 + 2 * SALT_LEN + 1] = "\\x", hash_text[2 + 2 * HASH_LEN + 1] = "\\x";

    if (!eim_api_tenant_valid(tenant)) {
        snprintf(error, error_size, "tenant must be 1..64 characters of [A-Za-z0-9._-]");
        err = EIM_ERR_INVALID_ARG;
        goto out;
    }
    if (!scope || (strcmp(scope, "ro") != 0 && strcmp(scope, "rw") != 0)) {
        snprintf(error, error_size, "scope must be ro or rw");
        err = EIM_ERR_INVALID_ARG;
        goto out;
    }
    if (description && strlen(description) > 200) {
        snprintf(error, error_size, "description is longer than 200 characters");
        err = EIM_ERR_INVALID_ARG;
        goto out;
    }
    if (wc_InitRng(&rng) != 0) {
        snprintf(error, error_size, "no random number generator");
        err = EIM_ERR_CRYPTO;
        goto out;
    }
    rng_ready = true;
    if (wc_RNG_GenerateBlock(&rng, id, sizeof(id)) != 0 ||
        wc_RNG_GenerateBlock(&rng, salt, sizeof(salt)) != 0 ||
        wc_RNG_GenerateBlock(&rng, secret, sizeof(secret)) != 0 ||
        hash_secret(salt, secret, hash) != EIM_OK) {
        snprintf(error, error_size, "random number generation or hashing failed");
        err = EIM_ERR_CRYPTO;
        goto out;
    }
    to_hex(id, sizeof(id), id_hex);
    to_hex(secret, sizeof(secret), secret_hex);
    to_hex(salt, sizeof(salt), salt_text + 2);
    to_hex(hash, sizeof(hash), hash_text + 2);

    conn = PQconnectdb(dsn);
    if (PQstatus(conn) != CONNECTION_OK) {
        snprintf(error, error_size, "%s", PQerrorMessage(conn));
        err = EIM_ERR_DB_UNAVAILABLE;
        goto out;
    }
    const char *params[] = {id_hex, tenant, scope, salt_text, hash_text, description};
    res = PQexecParams(conn,
                       "WITH t AS (INSERT INTO tenants (id) VALUES ($2) ON CONFLICT DO NOTHING) "
                       "INSERT INTO api_keys (id, tenant, scope, salt, secret_hash, description) "
                       "VALUES ($1, $2, $3, $4::bytea, $5::bytea, $6)",
                       6, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        snprintf(error, error_size, "%s", PQresultErrorMessage(res));
        err = EIM_ERR_DB;
        goto out;
    }
    snprintf(token, EIM_API_KEY_TOKEN_SIZE, "eimd_%s_%s", id_hex, secret_hex);
out:
    eim_crypto_wipe(secret, sizeof(secret));
    eim_crypto_wipe(secret_hex, sizeof(secret_hex));
    if (rng_ready)
        wc_FreeRng(&rng);
    PQclear(res);
    if (conn)
        PQfinish(conn);
    return err;
}

typedef struct {
    eim_api_key_cb cb;
    void *ctx;
    uint8_t secret[SECRET_LEN];
} verify_t;

static void on_key_row(eim_err_t err, const PGresult *res, void *ctx)
{
    verify_t *v = ctx;
    eim_api_principal_t principal;
    bool ok = false;
    if (!err && PQntuples(res) == 1) {
        const char *tenant = PQgetvalue(res, 0, 0);
        const char *scope = PQgetvalue(res, 0, 1);
        const char *salt_text = PQgetvalue(res, 0, 2);
        const char *hash_text = PQgetvalue(res, 0, 3);
        uint8_t salt[SALT_LEN], stored[HASH_LEN], computed[HASH_LEN];
        if (strlen(salt_text) == 2 + 2 * SALT_LEN && strlen(hash_text) == 2 + 2 * HASH_LEN &&
            from_hex(salt_text + 2, SALT_LEN, salt) && from_hex(hash_text + 2, HASH_LEN, stored) &&
            hash_secret(salt, v->secret, computed) == EIM_OK &&
            eim_crypto_ct_equal(stored, computed, HASH_LEN) &&
            strlen(tenant) <= EIM_API_TENANT_MAX) {
            memset(&principal, 0, sizeof(principal));
            snprintf(principal.key_id, sizeof(principal.key_id), "%s", PQgetvalue(res, 0, 4));
            snprintf(principal.tenant, sizeof(principal.tenant), "%s", tenant);
            principal.read_write = strcmp(scope, "rw") == 0;
            ok = true;
        }
    }
    eim_crypto_wipe(v->secret, sizeof(v->secret));
    v->cb(err, ok ? &principal : NULL, v->ctx);
    free(v);
}

static void on_malformed(eim_err_t err, const PGresult *res, void *ctx)
{
    (void)res;
    verify_t *v = ctx;
    v->cb(err, NULL, v->ctx);
    free(v);
}

void eim_api_key_verify(eim_pg_pool_t *pool, const char *token, eim_api_key_cb cb, void *ctx)
{
    verify_t *v = EIM_NEW(verify_t);
    v->cb = cb;
    v->ctx = ctx;
    char id_hex[EIM_API_KEY_ID_HEX + 1];
    uint8_t id[EIM_API_KEY_ID_HEX / 2];
    size_t len = token ? strlen(token) : 0;
    bool well_formed = len == EIM_API_KEY_TOKEN_SIZE - 1 && strncmp(token, "eimd_", 5) == 0 &&
                       token[5 + EIM_API_KEY_ID_HEX] == '_' &&
                       from_hex(token + 5, sizeof(id), id) &&
                       from_hex(token + 6 + EIM_API_KEY_ID_HEX, SECRET_LEN, v->secret);
    if (!well_formed) {
        /* still answered from the loop, later, like every other outcome */
        eim_pg_query(pool, "SELECT 1", 0, NULL, on_malformed, v);
        return;
    }
    to_hex(id, sizeof(id), id_hex);
    const char *params[] = {id_hex};
    eim_pg_query(pool,
                 "SELECT tenant, scope, salt, secret_hash, id FROM api_keys "
                 "WHERE id = $1 AND revoked_at IS NULL",
                 1, params, on_key_row, v);
}
