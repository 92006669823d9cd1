/*
 * libFuzzer target for the CoAP codec (RFC 7252 §3) and the endpoint's
 * input path. A datagram that parses must rebuild to the same bytes (the
 * wire format is unique for a given option list); then the same bytes go
 * twice through a fresh endpoint (the second time as a duplicate) whose
 * handler answers with a body that needs Block2. Seeds:
 * tests/server/corpus/coap_codec/.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "server/coap/coap_codec.h"
#include "server/coap/coap_endpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_send(const eim_coap_key_t *key, const uint8_t *out, size_t len, void *ctx)
{
    (void)key;
    (void)ctx;
    eim_coap_message_t m;
    /* Whatever the endpoint sends must be well-formed CoAP. */
    if (eim_coap_parse(out, len, &m) != EIM_OK)
        abort();
    eim_coap_message_clear(&m);
}

static void handler(eim_coap_exchange_t *x, const eim_coap_request_t *req, void *ctx)
{
    static uint8_t body[3000];
    (void)ctx;
    eim_coap_response_t r = {
        .code = EIM_COAP_CONTENT,
        .body = body,
        .body_len = req->body_len % 2 ? sizeof(body) : 10,
        .content_format = req->content_format,
        .max_age_s = -1,
    };
    eim_coap_respond(x, &r);
}

static void check_codec(const uint8_t *data, size_t size)
{
    eim_coap_message_t m;
    static uint8_t out[70000];
    size_t len = 0;
    if (eim_coap_parse(data, size, &m) != EIM_OK)
        return;
    eim_err_t err = eim_coap_build(&m, out, sizeof(out), &len);
    bool proxy = false;
    for (size_t i = 0; i < m.option_count; i++)
        proxy = proxy || m.options[i].number == 35 || m.options[i].number == 39;
    /* Only those two kinds of messages may refuse to be rebuilt. */
    if (err != EIM_OK && !(err == EIM_ERR_INVALID_ARG && (m.repeated_option || proxy)))
        abort();
    if (err == EIM_OK && (len != size || memcmp(out, data, size) != 0))
        abort();
    eim_coap_message_clear(&m);
}

static void check_endpoint(const uint8_t *data, size_t size)
{
    static uv_loop_t loop;
    static int started;
    if (!started) {
        uv_loop_init(&loop);
        started = 1;
    }
    eim_coap_endpoint_options_t o = {
        .loop = &loop,
        .send = on_send,
        .handler = handler,
        .extra_content_format = -1,
        .max_body_bytes = 4096,
    };
    eim_coap_endpoint_t *ep = eim_coap_endpoint_new(&o);
    eim_coap_key_t key;
    eim_coap_key_set(&key, "fuzz", 4);
    eim_coap_endpoint_input(ep, &key, "192.0.2.1:1", data, size);
    eim_coap_endpoint_input(ep, &key, "192.0.2.1:1", data, size);
    eim_coap_endpoint_free(ep);
    uv_run(&loop, UV_RUN_DEFAULT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_codec(data, size);
    check_endpoint(data, size);
    return 0;
}
