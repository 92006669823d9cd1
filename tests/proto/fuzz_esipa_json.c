/*
 * libFuzzer target over the ESipa JSON request decoders (SGP.32 v1.2 §6.4).
 * The first input byte selects the function, the rest is the JSON body. A
 * decoded request must encode back to JSON and that JSON must decode to a
 * message of the same function (the binding is a fixed point). Seeds:
 * tests/proto/corpus/esipa_json/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/esipa/esipa_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const functions[] = {
    "getEimPackage",          "provideEimPackageResult", "handleNotification",
    "transferEimPackage",     "initiateAuthentication",  "authenticateClient",
    "getBoundProfilePackage", "cancelSession",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static eim_esipa_ipa_to_eim_t msg, again;
    if (size < 1)
        return 0;
    const char *fn = functions[data[0] % (sizeof(functions) / sizeof(functions[0]))];
    eim_esipa_json_scratch_t scratch, scratch2;
    eim_esipa_json_scratch_init(&scratch, EIM_ESIPA_JSON_MAX_TEXT);
    eim_esipa_json_scratch_init(&scratch2, EIM_ESIPA_JSON_MAX_TEXT);
    eim_esipa_json_error_t error;
    eim_err_t err =
        eim_esipa_json_decode_request(fn, (const char *)data + 1, size - 1, &scratch, &msg, &error);
    if (err) {
        if (error.message[0] == '\0')
            abort();
        goto out;
    }
    eim_buf_t json;
    eim_buf_init(&json, EIM_ESIPA_JSON_MAX_TEXT);
    if (eim_esipa_json_encode_request(&msg, &json) != EIM_OK)
        abort();
    if (eim_esipa_json_decode_request(fn, (const char *)json.data, json.len, &scratch2, &again,
                                      &error) != EIM_OK)
        abort();
    if (again.function != msg.function)
        abort();
    eim_buf_free(&json);
out:
    eim_esipa_json_scratch_free(&scratch);
    eim_esipa_json_scratch_free(&scratch2);
    return 0;
}
