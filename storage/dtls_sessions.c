/*
 * Parked DTLS sessions in PostgreSQL. See dtls_sessions.h. Bytes travel as
 * hex text parameters (decode($n, 'hex')) and come back through
 * encode(..., 'hex'): the pool speaks text only. The ownership rules are
 * SQL functions of migrations/0006_dtls_session_ownership.sql and
 * 0007_dtls_session_authenticated_claim.sql, so that each decision is one
 * statement (under the row lock where it writes).
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
    eim_dtls_sessions_claimed_cb claimed;
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

/* The CID: the first bytes of the session key. */
static size_t cid_part(size_t key_len)
{
    return key_len < EIM_DTLS_SESSIONS_CID_LEN ? key_len : EIM_DTLS_SESSIONS_CID_LEN;
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

static void on_written(eim_err_t err, const PGresult *res, void *ctx)
{
    call_t *call = ctx;
    /* the functions answer whether the caller held the row */
    if (!err && (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "t") != 0))
        err = EIM_ERR_CONFLICT;
    if (call->done)
        call->done(err, call->ctx);
    free(call);
}

void eim_dtls_sessions_store(eim_pg_pool_t *pool, const uint8_t *key, size_t key_len,
                             const uint8_t *sealed, size_t sealed_len, int64_t expires_in_ms,
                             const char *instance, uint64_t generation,
                             eim_dtls_sessions_done_cb cb, void *ctx)
{
    call_t *call = EIM_NEW(call_t);
    call->done = cb;
    call->ctx = ctx;
    char *cid = to_hex(key, cid_part(key_len));
    char *k = to_hex(key, key_len);
    char *blob = to_hex(sealed, sealed_len);
    char expires[32], gen[32];
    snprintf(expires, sizeof(expires), "%lld", (long long)expires_in_ms);
    snprintf(gen, sizeof(gen), "%llu", (unsigned long long)generation);
    const char *params[] = {cid, k, blob, instance, gen, expires};
    eim_pg_query(pool,
                 "SELECT dtls_session_store(decode($1, 'hex'), decode($2, 'hex'), "
                 "decode($3, 'hex'), $4, $5::bigint, $6::bigint)",
                 6, params, on_written, call);
    free(cid);
    free(k);
    free(blob);
}

/* The answers of dtls_session_peek (verdict, generation, sealed
 * generation, key, blob) and dtls_session_claim (the first three). */
static eim_err_t parse_row(const PGresult *res, eim_dtls_claim_t *claim, uint8_t *key,
                           size_t key_size, uint8_t *sealed, size_t sealed_size)
{
    static const struct {
        const char *text;
        eim_dtls_row_verdict_t verdict;
    } verdicts[] = {
        {"owned", EIM_DTLS_ROW_OWNED},     {"present", EIM_DTLS_ROW_PRESENT},
        {"claimed", EIM_DTLS_ROW_CLAIMED}, {"moved", EIM_DTLS_ROW_MOVED},
        {"closed", EIM_DTLS_ROW_CLOSED},
    };
    memset(claim, 0, sizeof(*claim));
    if (PQntuples(res) == 0) {
        claim->verdict = EIM_DTLS_ROW_ABSENT;
        return EIM_OK;
    }
    const char *verdict = PQgetvalue(res, 0, 0);
    size_t i = 0;
    while (i < sizeof(verdicts) / sizeof(verdicts[0]) && strcmp(verdict, verdicts[i].text) != 0)
        i++;
    if (i == sizeof(verdicts) / sizeof(verdicts[0]))
        return EIM_ERR_DECODE;
    claim->verdict = verdicts[i].verdict;
    claim->generation = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
    claim->sealed_generation = strtoull(PQgetvalue(res, 0, 2), NULL, 10);
    if (claim->generation == 0 || claim->sealed_generation == 0 ||
        claim->sealed_generation > claim->generation)
        return EIM_ERR_DECODE;
    if (claim->verdict != EIM_DTLS_ROW_PRESENT)
        return EIM_OK;
    if (PQnfields(res) < 5 || PQgetisnull(res, 0, 3) || PQgetisnull(res, 0, 4) ||
        !from_hex(PQgetvalue(res, 0, 3), key, key_size, &claim->key_len) ||
        !from_hex(PQgetvalue(res, 0, 4), sealed, sealed_size, &claim->sealed_len))
        return EIM_ERR_DECODE;
    claim->key = key;
    claim->sealed = sealed;
    return EIM_OK;
}

static void on_row(eim_err_t err, const PGresult *res, void *ctx)
{
    call_t *call = ctx;
    uint8_t key[MAX_KEY], sealed[MAX_SEALED];
    eim_dtls_claim_t claim;
    if (!err)
        err = parse_row(res, &claim, key, sizeof(key), sealed, sizeof(sealed));
    call->claimed(err, err ? NULL : &claim, call->ctx);
    memset(sealed, 0, sizeof(sealed));
    free(call);
}

void eim_dtls_sessions_peek(eim_pg_pool_t *pool, const uint8_t *cid, size_t cid_len,
                            const uint8_t *key, size_t key_len, uint64_t held,
                            eim_dtls_sessions_claimed_cb cb, void *ctx)
{
    call_t *call = EIM_NEW(call_t);
    call->claimed = cb;
    call->ctx = ctx;
    char *c = to_hex(cid, cid_len);
    char *k = key ? to_hex(key, key_len) : NULL;
    char gen[32];
    snprintf(gen, sizeof(gen), "%llu", (unsigned long long)held);
    const char *params[] = {c, k, gen};
    eim_pg_query(pool,
                 "SELECT verdict, generation_now, blob_generation, encode(blob_key, 'hex'), "
                 "encode(blob, 'hex') FROM dtls_session_peek(decode($1, 'hex'), "
                 "decode($2, 'hex'), $3::bigint)",
                 3, params, on_row, call);
    free(c);
    free(k);
}

void eim_dtls_sessions_claim(eim_pg_pool_t *pool, const uint8_t *cid, size_t cid_len,
                             const uint8_t *key, size_t key_len, uint64_t held, uint64_t expected,
                             const char *instance, eim_dtls_sessions_claimed_cb cb, void *ctx)
{
    call_t *call = EIM_NEW(call_t);
    call->claimed = cb;
    call->ctx = ctx;
    char *c = to_hex(cid, cid_len);
    char *k = key ? to_hex(key, key_len) : NULL;
    char gen[32], want[32];
    snprintf(gen, sizeof(gen), "%llu", (unsigned long long)held);
    snprintf(want, sizeof(want), "%llu", (unsigned long long)expected);
    const char *params[] = {c, k, gen, want, instance};
    eim_pg_query(pool,
                 "SELECT verdict, generation_now, blob_generation FROM "
                 "dtls_session_claim(decode($1, 'hex'), decode($2, 'hex'), $3::bigint, "
                 "$4::bigint, $5)",
                 5, params, on_row, call);
    free(c);
    free(k);
}

void eim_dtls_sessions_close(eim_pg_pool_t *pool, const uint8_t *key, size_t key_len,
                             uint64_t generation, eim_dtls_sessions_done_cb cb, void *ctx)
{
    call_t *call = EIM_NEW(call_t);
    call->done = cb;
    call->ctx = ctx;
    char *c = to_hex(key, cid_part(key_len));
    char *k = to_hex(key, key_len);
    char gen[32];
    snprintf(gen, sizeof(gen), "%llu", (unsigned long long)generation);
    const char *params[] = {c, k, gen};
    eim_pg_query(pool,
                 "SELECT dtls_session_close(decode($1, 'hex'), decode($2, 'hex'), $3::bigint)", 3,
                 params, on_written, call);
    free(c);
    free(k);
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
                 "expires_at <= now() - interval '1 hour' LIMIT $1::int)",
                 1, params, on_purged, call);
}

bool eim_dtls_sessions_parse_notify(const char *payload, uint8_t cid[EIM_DTLS_SESSIONS_CID_LEN],
                                    uint64_t *generation)
{
    const char *colon = strchr(payload, ':');
    if (!colon || colon - payload != 2 * EIM_DTLS_SESSIONS_CID_LEN || colon[1] < '0' ||
        colon[1] > '9')
        return false;
    char text[2 * EIM_DTLS_SESSIONS_CID_LEN + 1];
    memcpy(text, payload, sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    size_t len = 0;
    if (!from_hex(text, cid, EIM_DTLS_SESSIONS_CID_LEN, &len) || len != EIM_DTLS_SESSIONS_CID_LEN)
        return false;
    char *end = NULL;
    *generation = strtoull(colon + 1, &end, 10);
    return *end == '\0' && *generation > 0;
}
