/*
 * The ESipa dispatcher (see dispatcher.h): SGP.32 v1.2 §5.14.5
 * GetEimPackage, §5.14.6 ProvideEimPackageResult, §5.14.7
 * HandleNotification, §6.3 (ASN.1) and §6.4 (JSON) bindings; brief §2.2,
 * §2.7, §3.2, §8.1, §8.2.
 *
 * The poll path is short: decode into a dispatcher-owned scratch message,
 * note the sighting in memory, ask the queue; a device with nothing pending
 * is answered before eim_esipa_dispatch returns without any allocation
 * beyond the decode. Results run as a small list of asynchronous steps
 * (device lookup, each result / notification / key to store, the
 * acknowledgements) on a heap request that owns a copy of the body.
 */
#include "server/esipa/dispatcher.h"
#include "server/esipa/poll_limiter.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "proto/base/log.h"
#include "proto/base/text_codec.h"
#include "proto/crypto/key_cache.h"
#include "proto/crypto/package_codec.h"
#include "proto/crypto/x509.h"
#include "proto/esipa/esipa_json.h"
#include "storage/devices.h"

#define CT_ASN1 "application/x-gsma-rsp-asn1"
#define CT_JSON "application/json;charset=UTF-8"

#define REPLY_MAX      (EIM_QUEUE_PACKAGE_MAX * 2 + 1024)
#define MAX_STEPS      (2 + EIM_ESIPA_MAX_PACKAGE_RESULTS + EIM_ESIPA_MAX_NOTIFICATIONS + 2)
#define MAX_EXTRA_ACKS EIM_ESIPA_MAX_PACKAGE_RESULTS

enum {
    FN_GET,
    FN_PROVIDE,
    FN_NOTIFY,
    FN_INIT_AUTH,
    FN_AUTH_CLIENT,
    FN_GBPP,
    FN_CANCEL,
    FN_TRANSFER,
    FN_UNKNOWN,
    FN_COUNT
};
static const char *const fn_names[FN_COUNT] = {
    "GetEimPackage",          "ProvideEimPackageResult", "HandleNotification",
    "InitiateAuthentication", "AuthenticateClient",      "GetBoundProfilePackage",
    "CancelSession",          "TransferEimPackage",      "unknown"};
#define OUTCOME_COUNT 7
static const char *const outcome_names[OUTCOME_COUNT] = {
    "ok", "no_content", "bad_request", "unsupported", "unavailable", "internal", "rate_limited"};

struct eim_esipa_dispatcher {
    eim_esipa_dispatcher_options_t options;
    eim_key_cache_t *keys;
    eim_poll_limiter_t *poll_limiter; /* NULL: unlimited */
    eim_esipa_ipa_to_eim_t *scratch;  /* synchronous decodes */
    eim_esipa_json_scratch_t json_scratch;
    size_t in_flight;
    bool freed;
    eim_counter_t *requests[FN_COUNT][OUTCOME_COUNT];
    eim_counter_t *m_unverified, *m_bad_signature;
};

static int fn_index(eim_esipa_function_t f)
{
    switch (f) {
    case EIM_ESIPA_GET_EIM_PACKAGE: return FN_GET;
    case EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT: return FN_PROVIDE;
    case EIM_ESIPA_HANDLE_NOTIFICATION: return FN_NOTIFY;
    case EIM_ESIPA_INITIATE_AUTHENTICATION: return FN_INIT_AUTH;
    case EIM_ESIPA_AUTHENTICATE_CLIENT: return FN_AUTH_CLIENT;
    case EIM_ESIPA_GET_BOUND_PROFILE_PACKAGE: return FN_GBPP;
    case EIM_ESIPA_CANCEL_SESSION: return FN_CANCEL;
    case EIM_ESIPA_TRANSFER_EIM_PACKAGE: return FN_TRANSFER;
    }
    return FN_UNKNOWN;
}

eim_esipa_dispatcher_t *eim_esipa_dispatcher_new(const eim_esipa_dispatcher_options_t *options)
{
    eim_esipa_dispatcher_t *d = EIM_NEW(eim_esipa_dispatcher_t);
    d->options = *options;
    if (d->options.retry_after_s <= 0)
        d->options.retry_after_s = 30;
    if (d->options.key_cache_capacity == 0)
        d->options.key_cache_capacity = 4096;
    if (eim_key_cache_new(d->options.key_cache_capacity, &d->keys) != EIM_OK)
        eim_key_cache_new(4096, &d->keys);
    if (d->options.polls_per_minute)
        d->poll_limiter = eim_poll_limiter_new(
            d->options.polls_per_minute, d->options.poll_burst ? d->options.poll_burst : 10, 65536);
    d->scratch = EIM_NEW(eim_esipa_ipa_to_eim_t);
    eim_esipa_json_scratch_init(&d->json_scratch, EIM_ESIPA_JSON_MAX_TEXT);
    static eim_metrics_t *fallback;
    eim_metrics_t *m = options->metrics;
    if (!m) {
        if (!fallback)
            fallback = eim_metrics_new();
        m = fallback;
    }
    for (int f = 0; f < FN_COUNT; f++)
        for (int o = 0; o < OUTCOME_COUNT; o++) {
            char labels[96];
            snprintf(labels, sizeof(labels), "function=\"%s\",outcome=\"%s\"", fn_names[f],
                     outcome_names[o]);
            d->requests[f][o] = eim_metrics_counter(
                m, "eimd_esipa_requests_total", "ESipa requests by function and outcome.", labels);
        }
    d->m_unverified =
        eim_metrics_counter(m, "eimd_esipa_results_not_applied_total",
                            "eUICC package results not applied.", "reason=\"unverified\"");
    d->m_bad_signature =
        eim_metrics_counter(m, "eimd_esipa_results_not_applied_total",
                            "eUICC package results not applied.", "reason=\"bad_signature\"");
    return d;
}

static void dispatcher_release(eim_esipa_dispatcher_t *d)
{
    if (!d->freed || d->in_flight > 0)
        return;
    eim_key_cache_free(d->keys);
    eim_poll_limiter_free(d->poll_limiter);
    free(d->scratch);
    eim_esipa_json_scratch_free(&d->json_scratch);
    free(d);
}

void eim_esipa_dispatcher_free(eim_esipa_dispatcher_t *dispatcher)
{
    if (!dispatcher)
        return;
    dispatcher->freed = true;
    dispatcher_release(dispatcher);
}

size_t eim_esipa_dispatcher_in_flight(const eim_esipa_dispatcher_t *dispatcher)
{
    return dispatcher->in_flight;
}

/* ---- replies ------------------------------------------------------------- */

static void json_failure_codes(eim_esipa_reply_kind_t kind, const char **subject,
                               const char **reason)
{
    /* SGP.22 §5.2.6 style status codes; see interpretation log D4. */
    switch (kind) {
    case EIM_ESIPA_REPLY_BAD_REQUEST: *subject = "1.2", *reason = "2.1"; break;
    case EIM_ESIPA_REPLY_UNSUPPORTED: *subject = "1.2", *reason = "4.2"; break;
    case EIM_ESIPA_REPLY_UNAVAILABLE: *subject = "1.2", *reason = "4.10"; break;
    case EIM_ESIPA_REPLY_TOO_MANY_REQUESTS: *subject = "1.2", *reason = "6.4"; break;
    default: *subject = "1.2", *reason = "1.1"; break;
    }
}

static void send_reply_retry(eim_esipa_dispatcher_t *d, int fn, eim_esipa_binding_t binding,
                             eim_esipa_reply_kind_t kind, const uint8_t *body, size_t body_len,
                             const char *content_type, const char *diagnostic, int retry_after_s,
                             eim_esipa_reply_cb cb, void *ctx);

static void send_reply(eim_esipa_dispatcher_t *d, int fn, eim_esipa_binding_t binding,
                       eim_esipa_reply_kind_t kind, const uint8_t *body, size_t body_len,
                       const char *content_type, const char *diagnostic, eim_esipa_reply_cb cb,
                       void *ctx)
{
    send_reply_retry(d, fn, binding, kind, body, body_len, content_type, diagnostic,
                     kind == EIM_ESIPA_REPLY_UNAVAILABLE ? d->options.retry_after_s : 0, cb, ctx);
}

static void send_reply_retry(eim_esipa_dispatcher_t *d, int fn, eim_esipa_binding_t binding,
                             eim_esipa_reply_kind_t kind, const uint8_t *body, size_t body_len,
                             const char *content_type, const char *diagnostic, int retry_after_s,
                             eim_esipa_reply_cb cb, void *ctx)
{
    eim_buf_t failure;
    eim_buf_init(&failure, 4096);
    eim_esipa_reply_t reply = {
        .kind = kind,
        .function = fn_names[fn],
        .body = body,
        .body_len = body_len,
        .content_type = body ? content_type : NULL,
        .retry_after_s = retry_after_s,
        .diagnostic = diagnostic ? diagnostic : "",
    };
    if (binding == EIM_ESIPA_BINDING_JSON && kind != EIM_ESIPA_REPLY_OK_BODY &&
        kind != EIM_ESIPA_REPLY_NO_CONTENT) {
        const char *subject, *reason;
        json_failure_codes(kind, &subject, &reason);
        if (eim_esipa_json_encode_failure(subject, reason, reply.diagnostic, &failure) == EIM_OK) {
            reply.body = failure.data;
            reply.body_len = failure.len;
            reply.content_type = CT_JSON;
        }
    }
    eim_counter_inc(d->requests[fn][kind]);
    if (kind != EIM_ESIPA_REPLY_OK_BODY && kind != EIM_ESIPA_REPLY_NO_CONTENT)
        eim_log_info("esipa request not served", "function", fn_names[fn], "outcome",
                     outcome_names[kind], "diagnostic", reply.diagnostic);
    cb(&reply, ctx);
    eim_buf_free(&failure);
}

/* Encodes an eIM->IPA message in the request's binding and replies OK. */
static void reply_message(eim_esipa_dispatcher_t *d, int fn, eim_esipa_binding_t binding,
                          const eim_esipa_eim_to_ipa_t *msg, eim_esipa_reply_cb cb, void *ctx)
{
    eim_buf_t out;
    eim_buf_init(&out, REPLY_MAX);
    eim_err_t err = binding == EIM_ESIPA_BINDING_JSON ? eim_esipa_json_encode_response(msg, &out)
                                                      : eim_esipa_eim_to_ipa_encode(msg, &out);
    if (err) {
        char diag[96];
        snprintf(diag, sizeof(diag), "response encoding failed: %s", eim_strerror(err));
        send_reply(d, fn, binding, EIM_ESIPA_REPLY_INTERNAL, NULL, 0, NULL, diag, cb, ctx);
    } else {
        send_reply(d, fn, binding, EIM_ESIPA_REPLY_OK_BODY, out.data, out.len,
                   binding == EIM_ESIPA_BINDING_JSON ? CT_JSON : CT_ASN1, NULL, cb, ctx);
    }
    eim_buf_free(&out);
}

static void reply_package_error(eim_esipa_dispatcher_t *d, eim_esipa_binding_t binding,
                                int64_t code, eim_esipa_reply_cb cb, void *ctx)
{
    if (binding == EIM_ESIPA_BINDING_ASN1 && code == EIM_ESIPA_PACKAGE_ERROR_NO_PACKAGE_AVAILABLE) {
        static const uint8_t nothing[] = {0xBF, 0x4F, 0x03, 0x02, 0x01, 0x01};
        send_reply(d, FN_GET, binding, EIM_ESIPA_REPLY_OK_BODY, nothing, sizeof(nothing), CT_ASN1,
                   NULL, cb, ctx);
        return;
    }
    eim_esipa_eim_to_ipa_t msg;
    memset(&msg, 0, sizeof(msg));
    msg.function = EIM_ESIPA_GET_EIM_PACKAGE;
    msg.get_eim_package.kind = EIM_ESIPA_EIM_PACKAGE_ERROR;
    msg.get_eim_package.error_code = code;
    reply_message(d, FN_GET, binding, &msg, cb, ctx);
}

static eim_esipa_reply_kind_t storage_failure(eim_err_t err)
{
    return err == EIM_ERR_DB_UNAVAILABLE || err == EIM_ERR_BUSY ? EIM_ESIPA_REPLY_UNAVAILABLE
                                                                : EIM_ESIPA_REPLY_INTERNAL;
}

/* ---- decoding ------------------------------------------------------------ */

/* Decodes body into msg (spans into body or json). On failure writes the
 * diagnostic and returns the error. */
static eim_err_t decode_request(const eim_esipa_request_t *request, const uint8_t *body,
                                size_t body_len, eim_esipa_json_scratch_t *json,
                                eim_esipa_ipa_to_eim_t *msg, char *diag, size_t diag_size)
{
    eim_err_t err;
    if (request->binding == EIM_ESIPA_BINDING_JSON) {
        eim_esipa_json_error_t jerr;
        memset(&jerr, 0, sizeof(jerr));
        err = eim_esipa_json_decode_request(request->json_function ? request->json_function : "",
                                            (const char *)body, body_len, json, msg, &jerr);
        /* a diagnostic longer than diag is cut: it is for logs and problem details */
        if (err &&
            snprintf(diag, diag_size, "JSON body rejected: %s%s%s (%s)", jerr.field,
                     jerr.field[0] ? ": " : "", jerr.message, eim_strerror(err)) >= (int)diag_size)
            diag[diag_size - 1] = '\0';
        return err;
    }
    eim_der_error_t derr;
    memset(&derr, 0, sizeof(derr));
    err = eim_esipa_ipa_to_eim_decode(body, body_len, msg, &derr);
    if (err)
        snprintf(diag, diag_size, "ASN.1 body rejected at offset %zu, tag %" PRIX32 ": %s (%s)",
                 derr.offset, derr.tag, derr.reason ? derr.reason : "?", eim_strerror(err));
    return err;
}

/* ---- GetEimPackage ------------------------------------------------------- */

typedef struct {
    eim_esipa_dispatcher_t *d;
    eim_esipa_binding_t binding;
    eim_esipa_reply_cb cb;
    void *ctx;
    uint8_t eid[EIM_EID_LEN];
} poll_req_t;

static void poll_finish(poll_req_t *p)
{
    eim_esipa_dispatcher_t *d = p->d;
    d->in_flight--;
    free(p);
    dispatcher_release(d);
}

static void on_package(eim_err_t err, const eim_queue_package_t *pkg, void *ctx)
{
    poll_req_t *p = ctx;
    eim_esipa_dispatcher_t *d = p->d;
    if (err) {
        char diag[96];
        snprintf(diag, sizeof(diag), "next package: %s", eim_strerror(err));
        send_reply(d, FN_GET, p->binding, storage_failure(err), NULL, 0, NULL, diag, p->cb, p->ctx);
    } else if (!pkg) {
        reply_package_error(d, p->binding, EIM_ESIPA_PACKAGE_ERROR_NO_PACKAGE_AVAILABLE, p->cb,
                            p->ctx);
    } else if (p->binding == EIM_ESIPA_BINDING_ASN1 && pkg->package_len > 0 &&
               (pkg->package[0] == 0xBF)) {
        /* The stored bytes exactly, wrapped in BF4F: never re-encoded. */
        eim_buf_t out;
        eim_buf_init(&out, REPLY_MAX);
        eim_der_writer_t w;
        eim_der_writer_init(&w, &out);
        eim_der_begin(&w, 0xBF4F);
        eim_der_put_raw(&w, eim_span(pkg->package, pkg->package_len));
        eim_der_end(&w);
        if (eim_der_writer_finish(&w) == EIM_OK)
            send_reply(d, FN_GET, p->binding, EIM_ESIPA_REPLY_OK_BODY, out.data, out.len, CT_ASN1,
                       NULL, p->cb, p->ctx);
        else
            send_reply(d, FN_GET, p->binding, EIM_ESIPA_REPLY_INTERNAL, NULL, 0, NULL,
                       "stored package too large", p->cb, p->ctx);
        eim_buf_free(&out);
    } else {
        eim_esipa_eim_to_ipa_t *msg = EIM_NEW(eim_esipa_eim_to_ipa_t);
        msg->function = EIM_ESIPA_GET_EIM_PACKAGE;
        eim_esipa_get_eim_package_response_t *r = &msg->get_eim_package;
        eim_err_t e = EIM_ERR_DECODE;
        if (strcmp(pkg->kind, "psmo") == 0 || strcmp(pkg->kind, "eco") == 0) {
            r->kind = EIM_ESIPA_EIM_PACKAGE_EUICC_PACKAGE_REQUEST;
            r->euicc_package_request = eim_span(pkg->package, pkg->package_len);
            e = EIM_OK;
        } else if (strcmp(pkg->kind, "euicc_data_request") == 0) {
            r->kind = EIM_ESIPA_EIM_PACKAGE_IPA_EUICC_DATA_REQUEST;
            e = eim_esipa_euicc_data_request_decode(pkg->package, pkg->package_len,
                                                    &r->euicc_data_request, NULL);
        } else if (strcmp(pkg->kind, "download_trigger") == 0) {
            r->kind = EIM_ESIPA_EIM_PACKAGE_DOWNLOAD_TRIGGER_REQUEST;
            e = eim_esipa_download_trigger_request_decode(pkg->package, pkg->package_len,
                                                          &r->download_trigger_request, NULL);
        }
        if (e == EIM_OK)
            reply_message(d, FN_GET, p->binding, msg, p->cb, p->ctx);
        else
            send_reply(d, FN_GET, p->binding, EIM_ESIPA_REPLY_INTERNAL, NULL, 0, NULL,
                       "stored package unreadable", p->cb, p->ctx);
        free(msg);
    }
    poll_finish(p);
}

static void ask_queue(poll_req_t *p)
{
    if (eim_queue_next_package(p->d->options.queue, p->eid, on_package, p) == EIM_QUEUE_POLL_ASYNC)
        return;
    reply_package_error(p->d, p->binding, EIM_ESIPA_PACKAGE_ERROR_NO_PACKAGE_AVAILABLE, p->cb,
                        p->ctx);
    poll_finish(p);
}

static void on_state_change(eim_err_t err, size_t count, void *ctx)
{
    poll_req_t *p = ctx;
    char eid[2 * EIM_EID_LEN + 1];
    eim_eid_format(p->eid, eid);
    if (err)
        eim_log_warn("notifyStateChange not recorded", "eid", eid, "error", eim_strerror(err));
    else if (count == 0)
        eim_log_info("notifyStateChange from an unknown eUICC", "eid", eid);
    ask_queue(p);
}

static void get_eim_package(eim_esipa_dispatcher_t *d, const eim_esipa_request_t *request,
                            const eim_esipa_get_eim_package_request_t *in, eim_esipa_reply_cb cb,
                            void *ctx)
{
    if (!in->eid.ptr) {
        reply_package_error(d, request->binding, EIM_ESIPA_PACKAGE_ERROR_MISSING_EID, cb, ctx);
        return;
    }
    if (in->eid.len != EIM_ESIPA_EID_LEN) {
        reply_package_error(d, request->binding, EIM_ESIPA_PACKAGE_ERROR_INVALID_EID, cb, ctx);
        return;
    }
    int retry_after_s = 0;
    if (d->poll_limiter && !eim_poll_limiter_allow(d->poll_limiter, in->eid.ptr,
                                                   uv_now(d->options.loop), &retry_after_s)) {
        send_reply_retry(d, FN_GET, request->binding, EIM_ESIPA_REPLY_TOO_MANY_REQUESTS, NULL, 0,
                         NULL, "poll rate of this EID exceeded", retry_after_s, cb, ctx);
        return;
    }
    if (d->options.seen) {
        bool rplmn = in->has_rplmn && in->rplmn.len == EIM_DEVICE_SEEN_RPLMN_LEN;
        eim_device_seen_note(d->options.seen, in->eid.ptr,
                             request->transport ? request->transport : "", request->peer,
                             rplmn ? in->rplmn.ptr : NULL);
    }
    poll_req_t *p = EIM_NEW(poll_req_t);
    p->d = d;
    p->binding = request->binding;
    p->cb = cb;
    p->ctx = ctx;
    memcpy(p->eid, in->eid.ptr, EIM_EID_LEN);
    d->in_flight++;
    if (in->notify_state_change) {
        char cause[48];
        if (in->has_state_change_cause)
            snprintf(cause, sizeof(cause), "{\"stateChangeCause\":%" PRId64 "}",
                     in->state_change_cause);
        else
            snprintf(cause, sizeof(cause), "{}");
        char eid[2 * EIM_EID_LEN + 1];
        eim_eid_format(p->eid, eid);
        eim_queue_state_change(d->options.queue, eid, cause, on_state_change, p);
        return;
    }
    ask_queue(p);
}

/* ---- results and notifications -------------------------------------------- */

typedef enum {
    STEP_EPR = 1,      /* a BF51 EuiccPackageResult span: open, verify, record */
    STEP_RECORD,       /* a prepared eim_queue_result_t (BF52 / BF54 / A0 error) */
    STEP_NOTIFICATION, /* a PendingNotification */
    STEP_STORE_KEY,    /* a verified key from BF52 certificates */
} step_kind_t;

typedef struct {
    step_kind_t kind;
    eim_span_t span;                              /* EPR */
    const eim_esipa_notification_t *notification; /* NOTIFICATION */
    size_t record;                                /* RECORD: index into records */
} step_t;

typedef struct {
    eim_esipa_dispatcher_t *d;
    eim_esipa_binding_t binding;
    int fn;
    eim_esipa_reply_cb cb;
    void *ctx;
    uint8_t *body;
    eim_esipa_json_scratch_t json;
    eim_esipa_ipa_to_eim_t *msg;
    const eim_esipa_provide_eim_package_result_t *result; /* NULL: a bare notification */
    const eim_esipa_notification_t *notification;         /* HandleNotification pending */
    char eid[33];
    bool have_eid;
    eim_device_t device;
    bool have_device;
    step_t steps[MAX_STEPS];
    size_t step_count, step_next;
    eim_queue_result_t records[2];
    size_t record_count;
    eim_buf_t raw; /* re-encoded BF52 / BF54 results kept for records */
    eim_euicc_key_t learned_key;
    eim_buf_t chain;
    uint64_t extra_acks[MAX_EXTRA_ACKS]; /* seqNumbers acknowledged besides eim_queue_acks */
    bool recording_ack;                  /* the result being recorded is acked in this reply */
    uint64_t recording_seq;
    size_t extra_count;
    uint64_t acks[EIM_QUEUE_MAX_ACKS + MAX_EXTRA_ACKS];
    size_t ack_count;
    eim_euicc_result_t *epr; /* scratch for one opened result */
} result_req_t;

static void result_finish(result_req_t *r)
{
    eim_esipa_dispatcher_t *d = r->d;
    eim_esipa_json_scratch_free(&r->json);
    eim_buf_free(&r->raw);
    eim_buf_free(&r->chain);
    free(r->epr);
    free(r->msg);
    free(r->body);
    free(r);
    d->in_flight--;
    dispatcher_release(d);
}

static void result_fail(result_req_t *r, eim_esipa_reply_kind_t kind, const char *diag)
{
    send_reply(r->d, r->fn, r->binding, kind, NULL, 0, NULL, diag, r->cb, r->ctx);
    result_finish(r);
}

static void provide_error(result_req_t *r, int64_t code)
{
    if (r->fn == FN_NOTIFY) {
        /* HandleNotification has no response message: the IPA keeps what we
         * cannot attribute when we refuse it (brief §8.1). */
        result_fail(r, EIM_ESIPA_REPLY_BAD_REQUEST,
                    code == EIM_ESIPA_PROVIDE_ERROR_EID_NOT_FOUND ? "unknown eUICC"
                                                                  : "cannot attribute to an EID");
        return;
    }
    eim_esipa_eim_to_ipa_t msg;
    memset(&msg, 0, sizeof(msg));
    msg.function = EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT;
    msg.provide_eim_package_result.kind = EIM_ESIPA_PROVIDE_RESPONSE_ERROR;
    msg.provide_eim_package_result.error_code = code;
    reply_message(r->d, r->fn, r->binding, &msg, r->cb, r->ctx);
    result_finish(r);
}

static void run_steps(result_req_t *r);

static void add_extra_ack(result_req_t *r, uint64_t seq)
{
    for (size_t i = 0; i < r->extra_count; i++)
        if (r->extra_acks[i] == seq)
            return;
    if (r->extra_count < MAX_EXTRA_ACKS)
        r->extra_acks[r->extra_count++] = seq;
}

static const char *notification_kind(const eim_esipa_notification_t *n)
{
    switch (n->kind) {
    case EIM_ESIPA_NOTIFICATION_PIR: return "pir";
    case EIM_ESIPA_NOTIFICATION_OTHER_SIGNED: return "other_signed";
    case EIM_ESIPA_NOTIFICATION_COMPACT_PIR: return "compact_pir";
    default: return "compact_other";
    }
}

static char *hex_text(eim_span_t s)
{
    eim_buf_t b;
    eim_buf_init(&b, 2 * s.len + 1);
    if (s.ptr)
        eim_hex_encode(s.ptr, s.len, &b);
    eim_buf_append_byte(&b, '\0');
    return (char *)b.data;
}

/* A JSON summary of an opened result for operators (operations.result_decoded). */
static char *result_json(const eim_euicc_result_t *res, eim_result_verdict_t verdict)
{
    json_t *o = json_object();
    json_object_set_new(o, "verdict", json_string(eim_result_verdict_name(verdict)));
    json_object_set_new(o, "form",
                        json_string(res->form == EIM_RESULT_SIGNED         ? "result"
                                    : res->form == EIM_RESULT_ERROR_SIGNED ? "error_signed"
                                                                           : "error_unsigned"));
    json_object_set_new(o, "counterValue", json_integer((json_int_t)res->counter_value));
    if (res->form == EIM_RESULT_SIGNED)
        json_object_set_new(o, "seqNumber", json_integer((json_int_t)res->seq_number));
    if (res->form == EIM_RESULT_ERROR_SIGNED)
        json_object_set_new(o, "euiccPackageErrorCode", json_integer(res->error_code));
    json_t *list = json_array();
    for (size_t i = 0; i < res->count; i++) {
        const eim_result_data_t *rd = &res->results[i];
        json_t *item = json_pack("{s:i,s:I}", "tag", (int)rd->kind, "code", (json_int_t)rd->code);
        if (rd->kind == EIM_RD_LIST_PROFILE_INFO && !rd->is_error) {
            json_t *profiles = json_array();
            for (size_t k = 0; k < rd->profile_count; k++) {
                const eim_profile_info_t *p = &res->profiles[rd->profile_first + k];
                json_t *po = json_object();
                char *iccid = hex_text(p->iccid), *aid = hex_text(p->isdp_aid);
                json_object_set_new(po, "iccid", json_string(iccid));
                json_object_set_new(po, "isdpAid", json_string(aid));
                free(iccid);
                free(aid);
                if (p->has_state)
                    json_object_set_new(po, "profileState", json_integer(p->state));
                if (p->has_profile_class)
                    json_object_set_new(po, "profileClass", json_integer(p->profile_class));
                if (p->name.ptr)
                    json_object_set_new(
                        po, "profileName",
                        json_stringn_nocheck((const char *)p->name.ptr, p->name.len));
                json_array_append_new(profiles, po);
            }
            json_object_set_new(item, "profiles", profiles);
        }
        json_array_append_new(list, item);
    }
    json_object_set_new(o, "euiccResult", list);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

static void on_step_done(eim_err_t err, size_t count, void *ctx)
{
    result_req_t *r = ctx;
    (void)count;
    if (err)
        eim_log_warn("esipa result step failed", "eid", r->eid, "error", eim_strerror(err));
    run_steps(r);
}

static void on_recorded(eim_err_t err, eim_queue_result_status_t status, const char *op_id,
                        void *ctx)
{
    result_req_t *r = ctx;
    static const char *const names[] = {"applied",      "duplicate", "requeued",
                                        "replay_fetch", "not_found", "counter_mismatch"};
    if (err) {
        char diag[96];
        snprintf(diag, sizeof(diag), "record result: %s", eim_strerror(err));
        result_fail(r, storage_failure(err), diag);
        return;
    }
    eim_log_info("esipa result", "eid", r->eid, "operation", op_id ? op_id : "", "status",
                 (size_t)status < 6 ? names[status] : "?");
    /* Recorded with ack_in_response: the operation is DONE already, and
     * this reply must carry its seqNumber (again, for a duplicate: the IPA
     * resends results whose acknowledgement it did not get). */
    if (r->recording_ack &&
        (status == EIM_QUEUE_RESULT_APPLIED || status == EIM_QUEUE_RESULT_DUPLICATE))
        add_extra_ack(r, r->recording_seq);
    r->recording_ack = false;
    run_steps(r);
}

static eim_err_t pubkey_for(result_req_t *r, eim_ec_pubkey_t **key)
{
    eim_euicc_key_t cached;
    uv_timeval64_t now;
    uv_gettimeofday(&now);
    *key = NULL;
    if (eim_key_cache_get(r->d->keys, eim_span(r->eid, 32), now.tv_sec, &cached) == EIM_OK)
        return eim_ec_pubkey_from_spki(eim_span(cached.spki, cached.spki_len), key);
    if (!r->device.has_public_key)
        return EIM_ERR_NOT_FOUND;
    eim_err_t err =
        eim_ec_pubkey_from_spki(eim_span(r->device.public_key, r->device.public_key_len), key);
    if (err == EIM_OK && r->device.public_key_len <= EIM_EC_SPKI_MAX) {
        /* The stored key was verified when it was stored. */
        memset(&cached, 0, sizeof(cached));
        memcpy(cached.eid, r->eid, 33);
        cached.curve = eim_ec_pubkey_curve(*key);
        memcpy(cached.spki, r->device.public_key, r->device.public_key_len);
        cached.spki_len = r->device.public_key_len;
        cached.valid_until = INT64_MAX;
        eim_key_cache_put(r->d->keys, &cached);
    }
    return err;
}

/* Opens one BF51 result; records it when it may be trusted. Returns true
 * when a storage call is running (its callback continues the steps). */
static bool step_epr(result_req_t *r, eim_span_t tlv)
{
    if (!r->epr)
        r->epr = EIM_NEW(eim_euicc_result_t);
    eim_euicc_result_t *res = r->epr;
    eim_ec_pubkey_t *key = NULL;
    eim_result_verdict_t verdict = EIM_VERDICT_NONE;
    eim_der_error_t derr;
    memset(&derr, 0, sizeof(derr));
    eim_assoc_token_t token = EIM_TOKEN(r->device.association_token);
    eim_err_t kerr = pubkey_for(r, &key);
    eim_err_t err;
    if (kerr == EIM_OK) {
        err = eim_package_result_open(tlv.ptr, tlv.len, key, token, res, &verdict, &derr);
    } else {
        err = eim_esep_result_decode(tlv.ptr, tlv.len, res, &derr);
        if (err == EIM_OK)
            verdict = res->form == EIM_RESULT_ERROR_UNSIGNED ? EIM_VERDICT_UNSIGNED_UNTRUSTED
                                                             : EIM_VERDICT_NONE;
    }
    eim_ec_pubkey_free(key);
    if (err && verdict != EIM_VERDICT_BAD_SIGNATURE) {
        eim_log_warn("eUICC package result undecodable", "eid", r->eid, "reason",
                     derr.reason ? derr.reason : eim_strerror(err));
        return false;
    }
    bool signed_form = res->form != EIM_RESULT_ERROR_UNSIGNED;
    if (verdict == EIM_VERDICT_BAD_SIGNATURE) {
        /* brief §2.7 / §8.2: discarded but still acknowledged */
        eim_counter_inc(r->d->m_bad_signature);
        eim_log_warn("eUICC package result with a bad signature: not applied", "eid", r->eid);
        if (res->form == EIM_RESULT_SIGNED)
            add_extra_ack(r, res->seq_number);
        return false;
    }
    if (verdict == EIM_VERDICT_UNSIGNED_UNTRUSTED) {
        eim_log_warn("unsigned eUICC package error: not applied (the eUICC could not "
                     "authenticate the package)",
                     "eid", r->eid);
        return false;
    }
    if (verdict != EIM_VERDICT_VERIFIED && signed_form) {
        /* No key known for this eUICC. */
        if (r->d->options.unknown_key_policy != EIM_ESIPA_UNKNOWN_KEY_APPLY_UNVERIFIED) {
            eim_counter_inc(r->d->m_unverified);
            eim_log_warn("eUICC package result from an eUICC without a known key: not applied, "
                         "not acknowledged",
                         "eid", r->eid);
            return false;
        }
        eim_log_warn("eUICC package result applied UNVERIFIED (policy)", "eid", r->eid);
    }
    if (res->eim_id.len != strlen(r->device.eim_id) ||
        memcmp(res->eim_id.ptr, r->device.eim_id, res->eim_id.len) != 0) {
        eim_log_warn("eUICC package result for another eimId: not applied", "eid", r->eid);
        if (res->form == EIM_RESULT_SIGNED)
            add_extra_ack(r, res->seq_number);
        return false;
    }
    if (!res->transaction_id.ptr) {
        eim_log_warn("eUICC package result without eimTransactionId: not applied", "eid", r->eid);
        if (res->form == EIM_RESULT_SIGNED)
            add_extra_ack(r, res->seq_number);
        return false;
    }
    eim_queue_result_t q = {
        .eid = r->eid,
        .transaction_id = res->transaction_id.ptr,
        .transaction_id_len = res->transaction_id.len,
        .has_counter = true,
        .counter_value = res->counter_value,
        .raw = tlv.ptr,
        .raw_len = tlv.len,
    };
    if (res->form == EIM_RESULT_ERROR_SIGNED) {
        q.is_error = true;
        q.code = res->error_code;
    } else {
        q.has_seq_number = true;
        q.seq_number = res->seq_number;
        for (size_t i = 0; i < res->count; i++) {
            const eim_result_data_t *rd = &res->results[i];
            bool failed = rd->kind == EIM_RD_PROCESSING_TERMINATED || rd->is_error ||
                          (rd->kind != EIM_RD_GET_RAT && rd->kind != EIM_RD_LIST_PROFILE_INFO &&
                           rd->kind != EIM_RD_LIST_EIM && rd->kind != EIM_RD_ADD_EIM &&
                           rd->kind != EIM_RD_UNKNOWN && rd->code != EIM_RESULT_OK);
            if (failed) {
                q.is_error = true;
                q.code = rd->code;
                break;
            }
        }
    }
    /* BF50 answers with eimAcknowledgements in the same response (brief
     * §2.7): record and acknowledge in one transaction. Results that came
     * in a HandleNotification are acknowledged by a later BF50. */
    if (r->fn == FN_PROVIDE && q.has_seq_number) {
        q.ack_in_response = true;
        r->recording_ack = true;
        r->recording_seq = q.seq_number;
    }
    char *decoded = result_json(res, verdict);
    q.decoded_json = decoded;
    eim_queue_record_result(r->d->options.queue, &q, on_recorded, r);
    free(decoded);
    return true;
}

static void on_acks_sent(eim_err_t err, size_t count, void *ctx)
{
    char *eid = ctx;
    if (err)
        eim_log_warn("acknowledgements not recorded", "eid", eid, "error", eim_strerror(err));
    (void)count;
    free(eid);
}

static void on_acks(eim_err_t err, const uint64_t *seqs, size_t n, void *ctx)
{
    result_req_t *r = ctx;
    if (err) {
        char diag[96];
        snprintf(diag, sizeof(diag), "acknowledgements: %s", eim_strerror(err));
        result_fail(r, storage_failure(err), diag);
        return;
    }
    r->ack_count = 0;
    for (size_t i = 0; i < n; i++)
        r->acks[r->ack_count++] = seqs[i];
    for (size_t i = 0; i < r->extra_count; i++) {
        bool dup = false;
        for (size_t k = 0; k < r->ack_count; k++)
            dup = dup || r->acks[k] == r->extra_acks[i];
        if (!dup && r->ack_count < EIM_ESIPA_MAX_ACKNOWLEDGEMENTS)
            r->acks[r->ack_count++] = r->extra_acks[i];
    }
    if (r->fn == FN_NOTIFY) {
        send_reply(r->d, r->fn, r->binding, EIM_ESIPA_REPLY_NO_CONTENT, NULL, 0, NULL, NULL, r->cb,
                   r->ctx);
    } else {
        eim_esipa_eim_to_ipa_t msg;
        memset(&msg, 0, sizeof(msg));
        msg.function = EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT;
        eim_esipa_provide_eim_package_result_response_t *resp = &msg.provide_eim_package_result;
        resp->kind = r->ack_count ? EIM_ESIPA_PROVIDE_RESPONSE_ACKNOWLEDGEMENTS
                                  : EIM_ESIPA_PROVIDE_RESPONSE_EMPTY;
        resp->acknowledgements.count = r->ack_count;
        for (size_t i = 0; i < r->ack_count; i++)
            resp->acknowledgements.seq_numbers[i] = (int64_t)r->acks[i];
        reply_message(r->d, r->fn, r->binding, &msg, r->cb, r->ctx);
    }
    /* The bytes are with the transport now: what was acknowledged is done. */
    if (r->fn != FN_NOTIFY && r->ack_count > 0) {
        size_t n_sent = r->ack_count > EIM_QUEUE_MAX_ACKS ? EIM_QUEUE_MAX_ACKS : r->ack_count;
        eim_queue_acks_sent(r->d->options.queue, r->eid, r->acks, n_sent, on_acks_sent,
                            eim_strdup(r->eid));
    }
    result_finish(r);
}

static void run_steps(result_req_t *r)
{
    while (r->step_next < r->step_count) {
        step_t *s = &r->steps[r->step_next++];
        switch (s->kind) {
        case STEP_EPR:
            if (step_epr(r, s->span))
                return;
            break;
        case STEP_RECORD:
            r->records[s->record].eid = r->eid;
            eim_queue_record_result(r->d->options.queue, &r->records[s->record], on_recorded, r);
            return;
        case STEP_NOTIFICATION: {
            const eim_esipa_notification_t *n = s->notification;
            if (!n->has_seq_number) {
                eim_log_warn("notification without seqNumber ignored", "eid", r->eid);
                break;
            }
            eim_queue_record_notification(r->d->options.queue, r->eid, (uint64_t)n->seq_number,
                                          notification_kind(n), n->tlv.ptr, n->tlv.len,
                                          on_step_done, r);
            return;
        }
        case STEP_STORE_KEY:
            eim_devices_store_key(r->d->options.pool, r->eid, r->learned_key.spki,
                                  r->learned_key.spki_len, r->chain.data, r->chain.len,
                                  on_step_done, r);
            return;
        }
    }
    if (r->fn == FN_NOTIFY) {
        /* No response message: 204 is the acknowledgement (brief §8.1), so a
         * stored notification is marked acknowledged once 204 is handed
         * over. Results inside BF3D are acknowledged by the next BF50. */
        send_reply(r->d, r->fn, r->binding, EIM_ESIPA_REPLY_NO_CONTENT, NULL, 0, NULL, NULL, r->cb,
                   r->ctx);
        if (r->notification && r->notification->has_seq_number) {
            uint64_t seq = (uint64_t)r->notification->seq_number;
            eim_queue_acks_sent(r->d->options.queue, r->eid, &seq, 1, on_acks_sent,
                                eim_strdup(r->eid));
        }
        result_finish(r);
        return;
    }
    eim_queue_acks(r->d->options.queue, r->eid, on_acks, r);
}

static void add_step(result_req_t *r, step_t step)
{
    if (r->step_count < MAX_STEPS)
        r->steps[r->step_count++] = step;
}

/* BF52 certificates (brief §2.5(a), §3.2): verify against the CI roots and
 * learn PK.EUICC. */
static void learn_key(result_req_t *r, const eim_esipa_euicc_data_response_t *data)
{
    if (!data->has_euicc_certificate || !data->has_eum_certificate)
        return;
    if (!r->d->options.ci) {
        /* TODO(ci-config): CI roots are not configurable yet; once
         * server/config.c carries them, pass an eim_ci_store_t in the
         * options and keys are learned here. */
        eim_log_warn("eUICC certificates received but no CI roots configured: key not learned",
                     "eid", r->eid);
        return;
    }
    eim_buf_t euicc, eum;
    eim_buf_init(&euicc, EIM_DEVICE_CHAIN_MAX);
    eim_buf_init(&eum, EIM_DEVICE_CHAIN_MAX);
    uv_timeval64_t now;
    uv_gettimeofday(&now);
    eim_chain_status_t status = EIM_CHAIN_OK;
    if (eim_esipa_rebuild_tlv(0x30, data->euicc_certificate, &euicc) == EIM_OK &&
        eim_esipa_rebuild_tlv(0x30, data->eum_certificate, &eum) == EIM_OK &&
        eim_cert_chain_verify(r->d->options.ci, eim_span(euicc.data, euicc.len),
                              eim_span(eum.data, eum.len), eim_span(r->eid, 32), now.tv_sec,
                              &r->learned_key, &status) == EIM_OK) {
        eim_key_cache_put(r->d->keys, &r->learned_key);
        eim_buf_init(&r->chain, EIM_DEVICE_CHAIN_MAX);
        if (eim_buf_append(&r->chain, euicc.data, euicc.len) == EIM_OK &&
            eim_buf_append(&r->chain, eum.data, eum.len) == EIM_OK)
            add_step(r, (step_t){.kind = STEP_STORE_KEY});
    } else {
        eim_log_warn("eUICC certificate chain rejected", "eid", r->eid, "status",
                     eim_chain_status_name(status));
    }
    eim_buf_free(&euicc);
    eim_buf_free(&eum);
}

static eim_queue_result_t *new_record(result_req_t *r, eim_span_t txid)
{
    if (!txid.ptr || r->record_count == 2)
        return NULL;
    eim_queue_result_t *q = &r->records[r->record_count];
    memset(q, 0, sizeof(*q));
    q->transaction_id = txid.ptr;
    q->transaction_id_len = txid.len;
    add_step(r, (step_t){.kind = STEP_RECORD, .record = r->record_count++});
    return q;
}

/* Plans the steps once the device is known. */
static void plan(result_req_t *r)
{
    const eim_esipa_provide_eim_package_result_t *pr = r->result;
    if (!pr) {
        add_step(r, (step_t){.kind = STEP_NOTIFICATION, .notification = r->notification});
        run_steps(r);
        return;
    }
    const eim_esipa_package_result_t *res = &pr->result;
    eim_buf_init(&r->raw, 2 * EIM_QUEUE_PACKAGE_MAX);
    switch (res->kind) {
    case EIM_ESIPA_RESULT_EUICC_PACKAGE:
    case EIM_ESIPA_RESULT_EPR_AND_NOTIFICATIONS:
        add_step(r, (step_t){.kind = STEP_EPR, .span = res->euicc_package_result});
        if (res->kind == EIM_ESIPA_RESULT_EPR_AND_NOTIFICATIONS)
            for (size_t i = 0; i < res->notifications.count; i++)
                add_step(r, (step_t){.kind = STEP_NOTIFICATION,
                                     .notification = &res->notifications.items[i]});
        break;
    case EIM_ESIPA_RESULT_IPA_EUICC_DATA: {
        const eim_esipa_euicc_data_response_t *data = &res->euicc_data;
        learn_key(r, data);
        size_t at = r->raw.len;
        eim_esipa_euicc_data_response_encode(data, &r->raw);
        eim_queue_result_t *q =
            new_record(r, data->has_transaction_id ? data->transaction_id : EIM_SPAN_NULL);
        if (q) {
            q->is_error = data->kind == EIM_ESIPA_EUICC_DATA_ERROR;
            q->code = q->is_error ? data->error_code : 0;
            q->raw = r->raw.data + at;
            q->raw_len = r->raw.len - at;
        } else {
            eim_log_warn("IpaEuiccDataResponse without eimTransactionId: not recorded", "eid",
                         r->eid);
        }
        if (data->kind == EIM_ESIPA_EUICC_DATA) {
            for (size_t i = 0; data->has_package_results && i < data->package_result_count; i++)
                add_step(r, (step_t){.kind = STEP_EPR, .span = data->package_results[i]});
            for (size_t i = 0; data->has_notifications && i < data->notifications.count; i++)
                add_step(r, (step_t){.kind = STEP_NOTIFICATION,
                                     .notification = &data->notifications.items[i]});
        }
        break;
    }
    case EIM_ESIPA_RESULT_DOWNLOAD_TRIGGER: {
        const eim_esipa_download_trigger_result_t *dr = &res->download_result;
        size_t at = r->raw.len;
        eim_esipa_download_trigger_result_encode(dr, &r->raw);
        eim_queue_result_t *q =
            new_record(r, dr->has_transaction_id ? dr->transaction_id : EIM_SPAN_NULL);
        if (q) {
            q->is_error = dr->kind == EIM_ESIPA_DOWNLOAD_RESULT_ERROR ||
                          (dr->pir.has_final_result && !dr->pir.success);
            q->code = dr->kind == EIM_ESIPA_DOWNLOAD_RESULT_ERROR ? dr->error_reason
                      : q->is_error                               ? dr->pir.error_reason
                                                                  : 0;
            q->raw = r->raw.data + at;
            q->raw_len = r->raw.len - at;
        } else {
            eim_log_warn("ProfileDownloadTriggerResult without eimTransactionId: not recorded",
                         "eid", r->eid);
        }
        break;
    }
    case EIM_ESIPA_RESULT_ERROR: {
        eim_queue_result_t *q = new_record(
            r, res->has_error_transaction_id ? res->error_transaction_id : EIM_SPAN_NULL);
        if (q) {
            q->is_error = true;
            q->code = res->error_code;
        }
        eim_log_warn("IPA reported eimPackageResultResponseError", "eid", r->eid);
        break;
    }
    }
    run_steps(r);
}

static void on_device(eim_err_t err, const eim_device_t *device, void *ctx)
{
    result_req_t *r = ctx;
    if (err) {
        char diag[96];
        snprintf(diag, sizeof(diag), "device lookup: %s", eim_strerror(err));
        result_fail(r, storage_failure(err), diag);
        return;
    }
    if (!device) {
        provide_error(r, EIM_ESIPA_PROVIDE_ERROR_EID_NOT_FOUND);
        return;
    }
    r->device = *device;
    r->have_device = true;
    memcpy(r->eid, device->eid, sizeof(r->eid));
    plan(r);
}

/* The eimTransactionId that identifies the device when eidValue is absent
 * (brief §2.7). */
static eim_span_t correlating_txid(result_req_t *r)
{
    const eim_esipa_package_result_t *res = &r->result->result;
    switch (res->kind) {
    case EIM_ESIPA_RESULT_EUICC_PACKAGE:
    case EIM_ESIPA_RESULT_EPR_AND_NOTIFICATIONS:
        if (!r->epr)
            r->epr = EIM_NEW(eim_euicc_result_t);
        if (eim_esep_result_decode(res->euicc_package_result.ptr, res->euicc_package_result.len,
                                   r->epr, NULL) == EIM_OK)
            return r->epr->transaction_id;
        return EIM_SPAN_NULL;
    case EIM_ESIPA_RESULT_IPA_EUICC_DATA:
        return res->euicc_data.has_transaction_id ? res->euicc_data.transaction_id : EIM_SPAN_NULL;
    case EIM_ESIPA_RESULT_DOWNLOAD_TRIGGER:
        return res->download_result.has_transaction_id ? res->download_result.transaction_id
                                                       : EIM_SPAN_NULL;
    case EIM_ESIPA_RESULT_ERROR:
        return res->has_error_transaction_id ? res->error_transaction_id : EIM_SPAN_NULL;
    }
    return EIM_SPAN_NULL;
}

/* EID of a bare notification: compact forms carry it (v1.2 CR12008); an
 * OtherSignedNotification carries the eUICC certificate whose subject
 * serialNumber is the EID. */
static bool notification_eid(const eim_esipa_notification_t *n, char out[33])
{
    if (n->has_eid && n->eid.len == EIM_ESIPA_EID_LEN) {
        eim_eid_format(n->eid.ptr, out);
        return true;
    }
    if (!n->euicc_certificate.ptr)
        return false;
    eim_x509_cert_t cert;
    static const uint8_t serial_oid[] = {0x55, 0x04, 0x05};
    eim_span_t value;
    if (eim_x509_parse(n->euicc_certificate, &cert) != EIM_OK ||
        eim_x509_name_attr(cert.subject, eim_span(serial_oid, 3), &value) != EIM_OK ||
        value.len != 32)
        return false;
    for (size_t i = 0; i < 32; i++) {
        char c = (char)value.ptr[i];
        if (c >= 'a' && c <= 'f')
            c = (char)(c - 32);
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
            return false;
        out[i] = c;
    }
    out[32] = '\0';
    return true;
}

static void results(eim_esipa_dispatcher_t *d, const eim_esipa_request_t *request, int fn,
                    const uint8_t *body, size_t body_len, eim_esipa_reply_cb cb, void *ctx)
{
    result_req_t *r = EIM_NEW(result_req_t);
    r->d = d;
    r->binding = request->binding;
    r->fn = fn;
    r->cb = cb;
    r->ctx = ctx;
    d->in_flight++;
    r->body = eim_malloc(body_len ? body_len : 1);
    if (body_len)
        memcpy(r->body, body, body_len);
    eim_esipa_json_scratch_init(&r->json, EIM_ESIPA_JSON_MAX_TEXT);
    r->msg = EIM_NEW(eim_esipa_ipa_to_eim_t);
    char diag[256];
    if (decode_request(request, r->body, body_len, &r->json, r->msg, diag, sizeof(diag)) !=
        EIM_OK) {
        result_fail(r, EIM_ESIPA_REPLY_BAD_REQUEST, diag);
        return;
    }
    if (r->msg->function == EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT) {
        r->result = &r->msg->provide_eim_package_result;
    } else if (r->msg->handle_notification.kind == EIM_ESIPA_HANDLE_NOTIFICATION_PROVIDE_RESULT) {
        r->result = &r->msg->handle_notification.result;
    } else {
        r->notification = &r->msg->handle_notification.notification;
        if (!notification_eid(r->notification, r->eid)) {
            result_fail(r, EIM_ESIPA_REPLY_BAD_REQUEST,
                        "notification cannot be attributed to an EID (no eidValue, no eUICC "
                        "certificate)");
            return;
        }
        eim_devices_get(d->options.pool, r->eid, on_device, r);
        return;
    }
    if (r->result->has_eid) {
        if (r->result->eid.len != EIM_ESIPA_EID_LEN) {
            provide_error(r, EIM_ESIPA_PROVIDE_ERROR_INVALID_EID);
            return;
        }
        eim_eid_format(r->result->eid.ptr, r->eid);
        eim_devices_get(d->options.pool, r->eid, on_device, r);
        return;
    }
    eim_span_t txid = correlating_txid(r);
    if (!txid.ptr) {
        provide_error(r, EIM_ESIPA_PROVIDE_ERROR_MISSING_EID);
        return;
    }
    eim_devices_find_by_transaction(d->options.pool, txid.ptr, txid.len, on_device, r);
}

/* ---- entry point ----------------------------------------------------------- */

static eim_esipa_function_t peek_function(const eim_esipa_request_t *request, const uint8_t *body,
                                          size_t len, bool *known)
{
    eim_esipa_function_t f = EIM_ESIPA_GET_EIM_PACKAGE;
    *known = false;
    if (request->binding == EIM_ESIPA_BINDING_JSON) {
        *known = request->json_function &&
                 eim_esipa_json_function_from_name(request->json_function, &f) == EIM_OK;
        return f;
    }
    if (len >= 2 && body[0] == 0xBF) {
        f = (eim_esipa_function_t)(0xBF00u | body[1]);
        *known = fn_index(f) != FN_UNKNOWN;
    }
    return f;
}

void eim_esipa_dispatch(eim_esipa_dispatcher_t *d, const eim_esipa_request_t *request,
                        const uint8_t *body, size_t body_len, eim_esipa_reply_cb cb, void *ctx)
{
    bool known;
    eim_esipa_function_t f = peek_function(request, body, body_len, &known);
    int fn = known ? fn_index(f) : FN_UNKNOWN;
    char diag[256];
    if (!known) {
        snprintf(diag, sizeof(diag), "%s",
                 request->binding == EIM_ESIPA_BINDING_JSON
                     ? "unknown ESipa JSON function"
                     : "body is not an EsipaMessageFromIpaToEim (unknown or missing tag)");
        send_reply(d, fn, request->binding, EIM_ESIPA_REPLY_BAD_REQUEST, NULL, 0, NULL, diag, cb,
                   ctx);
        return;
    }
    switch (fn) {
    case FN_GET: {
        eim_err_t err = decode_request(request, body, body_len, &d->json_scratch, d->scratch, diag,
                                       sizeof(diag));
        if (err == EIM_OK && d->scratch->function != EIM_ESIPA_GET_EIM_PACKAGE) {
            err = EIM_ERR_DECODE;
            snprintf(diag, sizeof(diag), "not a GetEimPackageRequest");
        }
        if (err)
            send_reply(d, fn, request->binding, EIM_ESIPA_REPLY_BAD_REQUEST, NULL, 0, NULL, diag,
                       cb, ctx);
        else
            get_eim_package(d, request, &d->scratch->get_eim_package, cb, ctx);
        return;
    }
    case FN_PROVIDE:
    case FN_NOTIFY: results(d, request, fn, body, body_len, cb, ctx); return;
    default:
        snprintf(diag, sizeof(diag),
                 "%s is not implemented by this eIM yet (indirect profile download and inject "
                 "mode are not supported)",
                 fn_names[fn]);
        send_reply(d, fn, request->binding, EIM_ESIPA_REPLY_UNSUPPORTED, NULL, 0, NULL, diag, cb,
                   ctx);
        return;
    }
}
