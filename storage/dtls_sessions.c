/*
 * Parked DTLS sessions in PostgreSQL. See dtls_sessions.h. Bytes travel as
 * hex text parameters (decode($n, 'hex')) and come back through
 * encode(..., 'hex'): the pool speaks text only.
 */
#include "storage/dtls_sessions.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/base/memory.h"

#define MAX_KEY    32
#define MAX_SEALED 2048

typedef struct {
    eim_dtls_sessions_done_cb done;
    eim_dtls_sessions_loaded_cb loaded;
    eim_dtls_sessions_purged_cb purged;
    void *ctx;
} call_t;

static char *to_hex(const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *out = eim_malloc(2 * n + 1);
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
    return out;
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool from_hex(const char *text, uint8_t *out, size_t size, size_t *len)
{
    size_t n = strlen(text);
    if (n % 2 || n / 2 > size)
        return false;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = nibble(text[2 * i]), lo = nibble(text[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *len = n / 2;
    return true;
}

static void on_done(eim_err_t err, const PGresult *res, void *ctx)
{
    (void)res;
    call_t *call = ctx;
    if (call->done)
        call->done(err, call->ctx);
    free(call);
}

void eim_dtls_sessions_store(eim_pg_pool_t *pool, const uint8_t *key, size_t key_len,
                             const uint8_t *sealed, size_t sealed_len, int64_t expires_in_ms,
                             const char *instance, eim_dtls_sessions_done_cb cb, void *ctx)
{
    call_t *call = EIM_NEW(call_t);
    call->done = cb;
    call->ctx = ctx;
    char *cid = to_hex(key, key_len < 8 ? key_len : 8);
    char *k = to_hex(key, key_len);
    char *blob = to_hex(sealed, sealed_len);
    char expires[32];
    snprintf(expires, sizeof(expires), "%lld", (long long)expires_in_ms);
    const char *params[] = {cid, k, blob, instance, expires};
    eim_pg_query(pool,
                 "INSERT INTO dtls_sessions (cid, session_key, sealed, instance, updated_at, "
                 "expires_at) VALUES (decode($1, 'hex'), decode($2, 'hex'), decode($3, 'hex'), $4, "
                 "now(), now() + $5::bigint * interval '1 millisecond') ON CONFLICT (cid) DO "
                 "UPDATE SET session_key = excluded.session_key, sealed = excluded.sealed, "
                 "instance = excluded.instance, updated_at = excluded.updated_at, expires_at = "
                 "excluded.expires_at",
                 5, params, on_done, call);
    free(cid);
    free(k);
    free(blob);
}

static void on_loaded(eim_err_t err, const PGresult *res, void *ctx)
{
    call_t *call = ctx;
    uint8_t key[MAX_KEY], sealed[MAX_SEALED];
    size_t key_len = 0, sealed_len = 0;
    if (!err && PQntuples(res) == 0)
        err = EIM_ERR_NOT_FOUND;
    if (!err && (!from_hex(PQgetvalue(res, 0, 0), key, sizeof(key), &key_len) ||
                 !from_hex(PQgetvalue(res, 0, 1), sealed, sizeof(sealed), &sealed_len)))
        err = EIM_ERR_DECODE;
    if (err)
        call->loaded(err, NULL, NULL, 0, call->ctx);
    else
        call->loaded(EIM_OK, key, sealed, sealed_len, call->ctx);
    free(call);
}

void eim_dtls_sessions_load(eim_pg_pool_t *pool, const uint8_t *cid, size_t cid_len,
                            eim_dtls_sessions_loaded_cb cb, void *ctx)
{
    call_t *call = EIM_NEW(call_t);
    call->loaded = cb;
    call->ctx = ctx;
    char *c = to_hex(cid, cid_len);
    const char *params[] = {c};
    eim_pg_query(pool,
                 "SELECT encode(session_key, 'hex'), encode(sealed, 'hex') FROM dtls_sessions "
                 "WHERE cid = decode($1, 'hex') AND expires_at > now()",
                 1, params, on_loaded, call);
    free(c);
}

void eim_dtls_sessions_delete(eim_pg_pool_t *pool, const uint8_t *cid, size_t cid_len,
                              eim_dtls_sessions_done_cb cb, void *ctx)
{
    call_t *call = EIM_NEW(call_t);
    call->done = cb;
    call->ctx = ctx;
    char *c = to_hex(cid, cid_len);
    const char *params[] = {c};
    eim_pg_query(pool, "DELETE FROM dtls_sessions WHERE cid = decode($1, 'hex')", 1, params,
                 on_done, call);
    free(c);
}

static void on_purged(eim_err_t err, const PGresult *res, void *ctx)
{
    call_t *call = ctx;
    size_t n = 0;
    if (!err && res)
        n = (size_t)strtoull(PQcmdTuples((PGresult *)res), NULL, 10);
    if (call->purged)
        call->purged(err, n, call->ctx);
    free(call);
}

void eim_dtls_sessions_purge(eim_pg_pool_t *pool, int limit, eim_dtls_sessions_purged_cb cb,
                             void *ctx)
{
    call_t *call = EIM_NEW(call_t);
    call->purged = cb;
    call->ctx = ctx;
    char l[16];
    snprintf(l, sizeof(l), "%d", limit);
    const char *params[] = {l};
    eim_pg_query(pool,
                 "DELETE FROM dtls_sessions WHERE cid IN (SELECT cid FROM dtls_sessions WHERE "
                 "expires_at <= now() LIMIT $1::int)",
                 1, params, on_purged, call);
}
