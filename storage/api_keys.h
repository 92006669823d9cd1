/*
 * API keys of the operators' REST API (server/rest/; migrations/0005).
 *
 * A key is the bearer token "eimd_<id>_<secret>": id is 16 hex digits (the
 * row's primary key, safe to log), secret 64 hex digits (32 random bytes).
 * Only SHA-256(salt || secret) with a per-key 16-byte random salt is stored;
 * the secret is shown once, when the key is created, and compared in
 * constant time. Each key belongs to one tenant and has the scope "ro"
 * (read) or "rw" (read and write).
 *
 * eim_api_key_create is blocking libpq for the `eimd apikey create`
 * command only; eim_api_key_verify runs on the pool (never blocks the loop).
 */
#ifndef EIM_STORAGE_API_KEYS_H
#define EIM_STORAGE_API_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/base/error.h"
#include "storage/pg_pool.h"

#define EIM_API_KEY_ID_HEX     16
#define EIM_API_KEY_SECRET_HEX 64
/* "eimd_" id "_" secret and the NUL */
#define EIM_API_KEY_TOKEN_SIZE (5 + EIM_API_KEY_ID_HEX + 1 + EIM_API_KEY_SECRET_HEX + 1)
#define EIM_API_TENANT_MAX     64

typedef struct {
    char key_id[EIM_API_KEY_ID_HEX + 1];
    char tenant[EIM_API_TENANT_MAX + 1];
    bool read_write; /* scope "rw"; false: "ro" */
} eim_api_principal_t;

/* True when tenant is 1..64 characters of [A-Za-z0-9._-] (the column's rule). */
bool eim_api_tenant_valid(const char *tenant);

/*
 * Creates a key for tenant (created when absent) with scope "ro" or "rw";
 * description may be NULL. Writes the token (EIM_API_KEY_TOKEN_SIZE bytes)
 * into token. Blocking: only for the command line. Errors:
 * EIM_ERR_INVALID_ARG (tenant or scope), EIM_ERR_DB_UNAVAILABLE, EIM_ERR_DB,
 * EIM_ERR_CRYPTO (no randomness); error names the reason.
 */
eim_err_t eim_api_key_create(const char *dsn, const char *tenant, const char *scope,
                             const char *description, char token[EIM_API_KEY_TOKEN_SIZE],
                             char *error, size_t error_size);

/* principal is NULL with EIM_OK when the token is malformed, unknown,
 * revoked or its secret does not match (one answer for all: 401). Errors
 * are the pool's (EIM_ERR_DB_UNAVAILABLE, EIM_ERR_BUSY, EIM_ERR_DB). */
typedef void (*eim_api_key_cb)(eim_err_t err, const eim_api_principal_t *principal, void *ctx);

/* Looks the token up and checks its secret. cb is called exactly once,
 * never from inside this call. */
void eim_api_key_verify(eim_pg_pool_t *pool, const char *token, eim_api_key_cb cb, void *ctx);

#endif
