/*
 * eim_queue_build_fn implementation: see package_builder.h (SGP.32 v1.2
 * §2.11.1.1 eUICC Package and eIM signature, §2.11.2 IpaEuiccDataRequest,
 * §2.11.1.3 ProfileDownloadTriggerRequest).
 */
#include "server/esipa/package_builder.h"

#include <string.h>

#include "proto/base/log.h"
#include "proto/base/text_codec.h"
#include "proto/crypto/package_codec.h"
#include "proto/esep/package_params.h"
#include "proto/esipa/download_trigger.h"
#include "proto/esipa/euicc_data.h"

eim_err_t eim_package_builder_build(void *ctx, const eim_queue_build_input_t *in, eim_buf_t *out)
{
    eim_package_builder_t *builder = ctx;
    eim_package_params_t *params = NULL;
    eim_buf_t eid;
    eim_buf_init(&eid, EIM_ESEP_EID_LEN);
    char reason[256];
    eim_err_t err = EIM_ERR_INVALID_ARG;
    if (!builder || !in || !in->eid || !in->kind || !in->transaction_id) {
        snprintf(reason, sizeof(reason), "missing input");
        goto out;
    }
    if (strlen(in->eid) != 2 * EIM_ESEP_EID_LEN ||
        eim_hex_decode(in->eid, strlen(in->eid), &eid, NULL) != EIM_OK) {
        snprintf(reason, sizeof(reason), "EID is not 32 hex digits");
        goto out;
    }
    const char *json = in->parameters ? in->parameters : "{}";
    err = eim_package_params_parse(in->kind, json, strlen(json), &params, reason, sizeof(reason));
    if (err)
        goto out;
    eim_span_t txid = eim_span(in->transaction_id, EIM_QUEUE_TXID_LEN);
    switch (params->kind) {
    case EIM_PARAMS_PSMO:
    case EIM_PARAMS_ECO:
        if (!in->uses_counter || !in->eim_id || !*in->eim_id || !builder->signer) {
            err = EIM_ERR_INVALID_ARG;
            snprintf(reason, sizeof(reason), "a signed package needs a counter, eimId and signer");
            goto out;
        }
        params->package.eim_id = eim_span(in->eim_id, strlen(in->eim_id));
        params->package.eid = eim_span(eid.data, eid.len);
        params->package.counter_value = in->counter_value;
        params->package.transaction_id = txid;
        err = eim_package_build(&params->package, EIM_TOKEN(in->association_token), builder->signer,
                                out);
        snprintf(reason, sizeof(reason), "eim_package_build failed");
        break;
    case EIM_PARAMS_EUICC_DATA_REQUEST:
        params->data_request.has_transaction_id = true;
        params->data_request.transaction_id = txid;
        err = eim_esipa_euicc_data_request_encode(&params->data_request, out);
        snprintf(reason, sizeof(reason), "IpaEuiccDataRequest encoder failed");
        break;
    default:
        params->trigger.has_transaction_id = true;
        params->trigger.transaction_id = txid;
        err = eim_esipa_download_trigger_request_encode(&params->trigger, out);
        snprintf(reason, sizeof(reason), "ProfileDownloadTriggerRequest encoder failed");
        break;
    }
out:
    if (err)
        eim_log_warn("package build failed", "operation", in && in->op_id ? in->op_id : "", "kind",
                     in && in->kind ? in->kind : "", "reason", reason, "error", eim_strerror(err));
    eim_package_params_free(params);
    eim_buf_free(&eid);
    return err;
}
