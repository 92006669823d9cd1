/*
 * ESipa over CoAP: CoAP endpoint -> ESipa dispatcher. See coap_esipa.h.
 */
#include "server/coap/coap_esipa.h"

#include <string.h>

static void on_reply(const eim_esipa_reply_t *reply, void *ctx)
{
    eim_coap_esipa_answer(ctx, reply);
}

void eim_coap_esipa_answer(eim_coap_exchange_t *exchange, const eim_esipa_reply_t *reply)
{
    const char *diag = reply->diagnostic ? reply->diagnostic : "";
    switch (reply->kind) {
    case EIM_ESIPA_REPLY_OK_BODY: {
        eim_coap_response_t r = {
            .code = EIM_COAP_CONTENT,
            .body = reply->body,
            .body_len = reply->body_len,
            .content_format = eim_coap_exchange_request_format(exchange),
            .max_age_s = -1,
        };
        eim_coap_respond(exchange, &r);
        return;
    }
    case EIM_ESIPA_REPLY_NO_CONTENT: {
        eim_coap_response_t r = {
            .code = EIM_COAP_CHANGED,
            .content_format = EIM_COAP_FORMAT_NONE,
            .max_age_s = -1,
        };
        eim_coap_respond(exchange, &r);
        return;
    }
    case EIM_ESIPA_REPLY_BAD_REQUEST:
        eim_coap_respond_error(exchange, EIM_COAP_BAD_REQUEST, diag, -1);
        return;
    case EIM_ESIPA_REPLY_UNSUPPORTED:
        eim_coap_respond_error(exchange, EIM_COAP_NOT_IMPLEMENTED, diag, -1);
        return;
    case EIM_ESIPA_REPLY_UNAVAILABLE:
        eim_coap_respond_error(exchange, EIM_COAP_SERVICE_UNAVAILABLE, diag,
                               reply->retry_after_s > 0 ? reply->retry_after_s : 0);
        return;
    case EIM_ESIPA_REPLY_TOO_MANY_REQUESTS: /* RFC 8516: Max-Age says when to retry */
        eim_coap_respond_error(exchange, EIM_COAP_TOO_MANY_REQUESTS, diag,
                               reply->retry_after_s > 0 ? reply->retry_after_s : 1);
        return;
    case EIM_ESIPA_REPLY_INTERNAL:
    default: eim_coap_respond_error(exchange, EIM_COAP_INTERNAL_SERVER_ERROR, diag, -1); return;
    }
}

void eim_coap_esipa_handler(eim_coap_exchange_t *exchange, const eim_coap_request_t *request,
                            void *ctx)
{
    eim_coap_esipa_t *esipa = ctx;
    eim_esipa_request_t req = {
        .binding = EIM_ESIPA_BINDING_ASN1,
        .json_function = NULL,
        .transport = esipa->transport ? esipa->transport : "coaps",
        .peer = request->peer,
    };
    if (esipa->dispatch == NULL && esipa->dispatcher == NULL) {
        eim_coap_respond_error(exchange, EIM_COAP_SERVICE_UNAVAILABLE,
                               "ESipa dispatcher not running", 60);
        return;
    }
    eim_coap_esipa_dispatch_fn dispatch = esipa->dispatch ? esipa->dispatch : eim_esipa_dispatch;
    dispatch(esipa->dispatcher, &req, request->body, request->body_len, on_reply, exchange);
}
