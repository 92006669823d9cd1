/*
 * libFuzzer target over both ESipa envelope decoders (SGP.32 v1.2 §6.1.1:
 * any request body from an IPA, any response body from an eIM). A decoded
 * message must re-encode, and the re-encoding must decode again (a
 * canonical form is a fixed point). Seeds: tests/proto/corpus/esipa/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/esipa/esipa_message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_ipa_to_eim(const uint8_t *data, size_t size)
{
    static eim_esipa_ipa_to_eim_t msg, again;
    eim_der_error_t err;
    if (eim_esipa_ipa_to_eim_decode(data, size, &msg, &err) != EIM_OK) {
        if (err.reason == NULL || err.offset > size)
            abort();
        return;
    }
    eim_buf_t out;
    eim_buf_init(&out, 4 * size + 64);
    if (eim_esipa_ipa_to_eim_encode(&msg, &out) == EIM_OK) {
        if (eim_esipa_ipa_to_eim_decode(out.data, out.len, &again, &err) != EIM_OK)
            abort();
        if (again.function != msg.function)
            abort();
    }
    eim_buf_free(&out);
}

static void check_eim_to_ipa(const uint8_t *data, size_t size)
{
    static eim_esipa_eim_to_ipa_t msg, again;
    eim_der_error_t err;
    if (eim_esipa_eim_to_ipa_decode(data, size, &msg, &err) != EIM_OK) {
        if (err.reason == NULL || err.offset > size)
            abort();
        return;
    }
    eim_buf_t out;
    eim_buf_init(&out, 4 * size + 64);
    if (eim_esipa_eim_to_ipa_encode(&msg, &out) == EIM_OK) {
        if (eim_esipa_eim_to_ipa_decode(out.data, out.len, &again, &err) != EIM_OK)
            abort();
        if (again.function != msg.function)
            abort();
    }
    eim_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_ipa_to_eim(data, size);
    check_eim_to_ipa(data, size);
    return 0;
}
