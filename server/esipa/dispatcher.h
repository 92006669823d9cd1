/*
 * The ESipa dispatcher: one transport-blind entry point shared by HTTPS
 * (SGP.32 v1.2 §6.1.1/§6.3 ASN.1 binding, §6.4 JSON binding) and CoAP/DTLS
 * (§6.2/§6.5). A transport hands over one complete request body with its
 * binding and gets back one transport-neutral reply; mapping replies to
 * HTTP statuses or CoAP codes is the transport's job (brief §4.1, §4.2).
 *
 * Functions (brief §2, §8):
 *  - GetEimPackage (§5.14.5): notifyStateChange -> storage schedules an
 *    inventory; the sighting (transport, peer, rPLMN) goes to the last-seen
 *    write-behind buffer (no database on the poll path); then the queue's
 *    next package: nothing -> BF4F 03 02 01 01 answered synchronously from
 *    memory, a stored package -> BF4F { BF51 | BF52 | BF54 } with the
 *    stored bytes unchanged, an unusable EID -> eimPackageError
 *    invalidEid(3) / missingEid(4).
 *  - ProvideEimPackageResult (§5.14.6) and HandleNotification (§5.14.7,
 *    both alternatives): results are matched by EID (or eimTransactionId
 *    when eidValue is absent, brief §2.7), BF51 results verified with the
 *    eUICC's key before they change anything (brief §3.2, §8.2), then
 *    acknowledged: BF50 { BF53 seq... } or BF50 { 30 00 }. HandleNotification
 *    answers NO_CONTENT.
 *  - Indirect download (InitiateAuthentication, AuthenticateClient,
 *    GetBoundProfilePackage, CancelSession) and TransferEimPackage: UNSUPPORTED.
 *
 * docs/interpretation-log.md ("ESipa dispatcher") records the readings.
 */
#ifndef EIM_SERVER_ESIPA_DISPATCHER_H
#define EIM_SERVER_ESIPA_DISPATCHER_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "proto/base/metrics.h"
#include "proto/crypto/cert_chain.h"
#include "storage/device_seen.h"
#include "storage/pg_pool.h"
#include "storage/queue.h"

typedef struct eim_esipa_dispatcher eim_esipa_dispatcher_t;

typedef enum {
    EIM_ESIPA_BINDING_ASN1 = 0, /* body = one EsipaMessageFromIpaToEim TLV */
    EIM_ESIPA_BINDING_JSON,     /* body = JSON of json_function */
} eim_esipa_binding_t;

typedef struct {
    eim_esipa_binding_t binding;
    const char *json_function; /* JSON: "getEimPackage", ... or the whole path */
    const char *transport;     /* "https" or "coaps" */
    const char *peer;          /* peer address text, e.g. "192.0.2.1:40000" */
} eim_esipa_request_t;

typedef enum {
    EIM_ESIPA_REPLY_OK_BODY = 0, /* 200 / 2.04 with body */
    EIM_ESIPA_REPLY_NO_CONTENT,  /* 204 / 2.04 without body (HandleNotification) */
    EIM_ESIPA_REPLY_BAD_REQUEST, /* undecodable or unattributable */
    EIM_ESIPA_REPLY_UNSUPPORTED, /* function not implemented */
    EIM_ESIPA_REPLY_UNAVAILABLE, /* database unavailable/busy: retry after retry_after_s */
    EIM_ESIPA_REPLY_INTERNAL,
    EIM_ESIPA_REPLY_TOO_MANY_REQUESTS, /* per-EID poll rate exceeded: retry after retry_after_s */
} eim_esipa_reply_kind_t;

typedef struct {
    eim_esipa_reply_kind_t kind;
    const char *function; /* spec name ("GetEimPackage"), "unknown" when undecodable */
    const uint8_t *body;  /* OK_BODY; for the JSON binding also the error kinds */
    size_t body_len;
    const char *content_type; /* of body; NULL without body */
    int retry_after_s;        /* UNAVAILABLE, TOO_MANY_REQUESTS */
    const char *diagnostic;   /* human-readable reason for logs / problem details */
} eim_esipa_reply_t;

/* The reply and everything it points to are valid during the call only. */
typedef void (*eim_esipa_reply_cb)(const eim_esipa_reply_t *reply, void *ctx);

typedef enum {
    /* A result of an eUICC whose public key we do not know is not applied
     * (and not acknowledged, so it stays on the eUICC until the key is
     * learned, e.g. by an IpaEuiccDataRequest for A5/A6). Default. */
    EIM_ESIPA_UNKNOWN_KEY_REFUSE = 0,
    /* Lab setting: apply it unverified (logged as such). */
    EIM_ESIPA_UNKNOWN_KEY_APPLY_UNVERIFIED,
} eim_esipa_unknown_key_policy_t;

typedef struct {
    uv_loop_t *loop;
    eim_queue_t *queue;
    eim_pg_pool_t *pool;      /* for storage/devices lookups */
    eim_device_seen_t *seen;  /* optional last-seen buffer */
    eim_metrics_t *metrics;   /* optional */
    const eim_ci_store_t *ci; /* optional CI roots; NULL: certificates are not verified */
    eim_esipa_unknown_key_policy_t unknown_key_policy;
    int retry_after_s;         /* UNAVAILABLE hint; default 30 */
    size_t key_cache_capacity; /* verified eUICC keys kept; default 4096 */
    unsigned polls_per_minute; /* per-EID GetEimPackage rate; 0: unlimited */
    unsigned poll_burst;       /* polls allowed at once; default 10 */
} eim_esipa_dispatcher_options_t;

eim_esipa_dispatcher_t *eim_esipa_dispatcher_new(const eim_esipa_dispatcher_options_t *options);
/* Requests still running keep the dispatcher alive: it is freed when the
 * last one has replied. */
void eim_esipa_dispatcher_free(eim_esipa_dispatcher_t *dispatcher);
size_t eim_esipa_dispatcher_in_flight(const eim_esipa_dispatcher_t *dispatcher);

/* Handles one request. body is read during the call only (copied when
 * the work continues asynchronously). cb is called exactly once, possibly
 * before this function returns (nothing-pending polls, decode failures,
 * unsupported functions). */
void eim_esipa_dispatch(eim_esipa_dispatcher_t *dispatcher, const eim_esipa_request_t *request,
                        const uint8_t *body, size_t body_len, eim_esipa_reply_cb cb, void *ctx);

#endif
