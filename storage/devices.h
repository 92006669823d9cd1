/*
 * What the ESipa result path needs to know about one eUICC (SGP.32 v1.2
 * §2.11.1.2 euiccSignEPR/EPE; brief §2.7, §2.9, §3.2): its eimId
 * association, the associationToken bound into every signature and the
 * verified PK.EUICC.ECDSA, looked up by EID, or by eimTransactionId when a
 * ProvideEimPackageResult carries no eidValue (brief §2.7: Kigen's IPA sends
 * a bare BF51), and storing a key learned from a verified certificate chain
 * (IpaEuiccData A5/A6, brief §2.5(a)).
 *
 * Asynchronous on the pool like storage/queue.h: callbacks run later on the
 * loop, never from inside the call.
 */
#ifndef EIM_STORAGE_DEVICES_H
#define EIM_STORAGE_DEVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/base/error.h"
#include "storage/pg_pool.h"

#define EIM_DEVICE_SPKI_MAX  256
#define EIM_DEVICE_CHAIN_MAX 8192

typedef struct {
    char eid[33];     /* 32 upper-case hex digits */
    char eim_id[129]; /* associated eIM */
    int64_t association_token;
    bool has_public_key;
    uint8_t public_key[EIM_DEVICE_SPKI_MAX]; /* SubjectPublicKeyInfo DER */
    size_t public_key_len;
} eim_device_t;

/* device is NULL with EIM_OK when no such eUICC exists (or, by transaction
 * id, when none or more than one operation carries it). Valid during the
 * callback only. */
typedef void (*eim_device_cb)(eim_err_t err, const eim_device_t *device, void *ctx);

/* By EID (32 hex digits; EIM_ERR_INVALID_ARG otherwise). */
void eim_devices_get(eim_pg_pool_t *pool, const char *eid, eim_device_cb cb, void *ctx);

/* By the eimTransactionId (1..16 bytes) of one of its operations. */
void eim_devices_find_by_transaction(eim_pg_pool_t *pool, const uint8_t *txid, size_t txid_len,
                                     eim_device_cb cb, void *ctx);

/* Stores a verified PK.EUICC.ECDSA (SPKI DER) and the chain it came from
 * (CERT.EUICC || CERT.EUM, DER; may be empty). rows = 1 when the eUICC
 * exists. */
void eim_devices_store_key(eim_pg_pool_t *pool, const char *eid, const uint8_t *spki,
                           size_t spki_len, const uint8_t *chain, size_t chain_len,
                           void (*done)(eim_err_t err, size_t rows, void *ctx), void *ctx);

#endif
