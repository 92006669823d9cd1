/*
 * libFuzzer target for the proto/esep decoders (SGP.32 v1.2 §2.11.1): every
 * input is decoded as an EuiccPackageRequest (BF51, eIM -> eUICC) and as an
 * EuiccPackageResult (BF51, eUICC -> eIM, all forms incl. bare). Decoded
 * structures are re-encoded to exercise the encoders on hostile values.
 * Seeds: tests/proto/corpus/esep/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/esep/euicc_package.h"
#include "proto/esep/euicc_result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Spans handed out must lie inside the input. */
static void check_span(eim_span_t s, const uint8_t *data, size_t size)
{
    if (s.ptr && (s.ptr < data || s.len > size || s.ptr + s.len > data + size))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static eim_euicc_package_request_t req;
    static eim_euicc_result_t res;
    eim_der_error_t err;
    eim_buf_t buf;
    eim_buf_init(&buf, EIM_ESEP_MAX_MESSAGE);

    if (eim_esep_package_decode(data, size, &req, &err) == EIM_OK) {
        check_span(req.signed_tlv, data, size);
        check_span(req.signature, data, size);
        if (req.package.count > EIM_ESEP_MAX_PSMOS)
            abort();
        (void)eim_esep_package_encode_signed(&req.package, &buf);
        eim_buf_reset(&buf);
    } else if (!err.reason) {
        abort(); /* every failure must say why */
    }

    if (eim_esep_result_decode(data, size, &res, &err) == EIM_OK) {
        check_span(res.signed_tlv, data, size);
        check_span(res.signature, data, size);
        if (res.count > EIM_ESEP_MAX_RESULTS || res.profile_count > EIM_ESEP_MAX_PROFILES ||
            res.eim_id_count > EIM_ESEP_MAX_EIM_IDS)
            abort();
        for (size_t i = 0; i < res.count; i++)
            check_span(res.results[i].raw, data, size);
        if (res.form != EIM_RESULT_ERROR_UNSIGNED)
            (void)eim_esep_result_encode_signed(&res, &buf);
    } else if (!err.reason) {
        abort();
    }
    eim_buf_free(&buf);
    return 0;
}
