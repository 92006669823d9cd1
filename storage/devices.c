/*
 * eUICC lookups for the ESipa result path (see devices.h; SGP.32 v1.2
 * §2.11.1.2, brief §2.7, §3.2). Bytes travel as hex text (encode/decode in
 * SQL) so no bytea escaping is needed on either side.
 */
#include "storage/devices.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/base/log.h"
#include "proto/base/memory.h"
#include "proto/base/text_codec.h"

typedef struct {
    eim_device_cb cb;
    void *ctx;
} lookup_t;

static bool eid_text(const char *in, char out[33])
{
    if (!in || strlen(in) != 32)
        return false;
    for (int i = 0; i < 32; i++) {
        char c = in[i];
        if (c >= 'a' && c <= 'f')
            c = (char)(c - 32);
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
            return false;
        out[i] = c;
    }
    out[32] = '\0';
    return true;
}

static void on_lookup(eim_err_t err, const PGresult *res, void *ctx)
{
    lookup_t *l = ctx;
    eim_device_t dev;
    const eim_device_t *found = NULL;
    if (!err && res && PQntuples(res) == 1) {
        memset(&dev, 0, sizeof(dev));
        snprintf(dev.eid, sizeof(dev.eid), "%s", PQgetvalue(res, 0, 0));
        snprintf(dev.eim_id, sizeof(dev.eim_id), "%s", PQgetvalue(res, 0, 1));
        dev.association_token = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
        if (!PQgetisnull(res, 0, 3)) {
            eim_buf_t key;
            eim_buf_init(&key, EIM_DEVICE_SPKI_MAX);
            const char *hex = PQgetvalue(res, 0, 3);
            if (eim_hex_decode(hex, strlen(hex), &key, NULL) == EIM_OK && key.len > 0) {
                memcpy(dev.public_key, key.data, key.len);
                dev.public_key_len = key.len;
                dev.has_public_key = true;
            } else {
                eim_log_warn("stored eUICC public key unusable", "eid", dev.eid);
            }
            eim_buf_free(&key);
        }
        found = &dev;
    }
    l->cb(err, found, l->ctx);
    free(l);
}

#define DEVICE_COLUMNS "e.eid, e.eim_id, e.association_token, encode(e.euicc_public_key, 'hex')"

void eim_devices_get(eim_pg_pool_t *pool, const char *eid, eim_device_cb cb, void *ctx)
{
    lookup_t *l = EIM_NEW(lookup_t);
    l->cb = cb;
    l->ctx = ctx;
    char e[33];
    /* An invalid EID still answers through the pool so the callback is
     * never called from inside this function. */
    const char *params[] = {eid_text(eid, e) ? e : ""};
    eim_pg_query(pool, "SELECT " DEVICE_COLUMNS " FROM euiccs e WHERE e.eid = $1", 1, params,
                 on_lookup, l);
}

void eim_devices_find_by_transaction(eim_pg_pool_t *pool, const uint8_t *txid, size_t txid_len,
                                     eim_device_cb cb, void *ctx)
{
    lookup_t *l = EIM_NEW(lookup_t);
    l->cb = cb;
    l->ctx = ctx;
    eim_buf_t hex;
    eim_buf_init(&hex, 64);
    if (txid && txid_len >= 1 && txid_len <= 16)
        eim_hex_encode(txid, txid_len, &hex);
    eim_buf_append_byte(&hex, '\0');
    const char *params[] = {(const char *)hex.data};
    /* LIMIT 2: an ambiguous id (two devices) is treated as unknown. */
    eim_pg_query(pool,
                 "SELECT " DEVICE_COLUMNS " FROM operations o JOIN euiccs e ON e.eid = o.eid "
                 "WHERE o.eim_transaction_id = decode($1, 'hex') LIMIT 2",
                 1, params, on_lookup, l);
    eim_buf_free(&hex);
}

typedef struct {
    void (*done)(eim_err_t err, size_t rows, void *ctx);
    void *ctx;
} store_t;

static void on_stored(eim_err_t err, const PGresult *res, void *ctx)
{
    store_t *s = ctx;
    size_t rows = !err && res ? (size_t)strtoull(PQcmdTuples((PGresult *)res), NULL, 10) : 0;
    if (s->done)
        s->done(err, rows, s->ctx);
    free(s);
}

void eim_devices_store_key(eim_pg_pool_t *pool, const char *eid, const uint8_t *spki,
                           size_t spki_len, const uint8_t *chain, size_t chain_len,
                           void (*done)(eim_err_t err, size_t rows, void *ctx), void *ctx)
{
    store_t *s = EIM_NEW(store_t);
    s->done = done;
    s->ctx = ctx;
    char e[33];
    eim_buf_t k, c;
    eim_buf_init(&k, 2 * EIM_DEVICE_SPKI_MAX + 1);
    eim_buf_init(&c, 2 * EIM_DEVICE_CHAIN_MAX + 1);
    bool ok = eid_text(eid, e) && spki && spki_len > 0 && spki_len <= EIM_DEVICE_SPKI_MAX &&
              chain_len <= EIM_DEVICE_CHAIN_MAX;
    if (ok) {
        eim_hex_encode(spki, spki_len, &k);
        if (chain && chain_len)
            eim_hex_encode(chain, chain_len, &c);
    }
    eim_buf_append_byte(&k, '\0');
    eim_buf_append_byte(&c, '\0');
    const char *params[] = {ok ? e : "", (const char *)k.data, (const char *)c.data};
    eim_pg_query(pool,
                 "UPDATE euiccs SET euicc_public_key = decode($2, 'hex'), "
                 "certificate_chain = nullif(decode($3, 'hex'), ''::bytea), updated_at = now() "
                 "WHERE eid = $1",
                 3, params, on_stored, s);
    eim_buf_free(&k);
    eim_buf_free(&c);
}
