/*
 * GetEimPackage request/response (BF4F), SGP.32 v1.2 §5.14.5, §6.3.2.6 and
 * Annex A. GetEimPackageResponse is an explicitly tagged CHOICE: BF4F holds
 * exactly one alternative. "Nothing queued" is BF4F 03 02 01 01.
 */
#include "proto/esipa/get_eim_package.h"

#include <string.h>

#include "proto/esipa/esipa_internal.h"

#define TAG_GET_EIM_PACKAGE 0xBF4F

eim_err_t eim_esipa_get_eim_package_request_read(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                                 eim_esipa_get_eim_package_request_t *out)
{
    eim_der_reader_t seq;
    eim_der_elem_t e = {0};
    bool present = false;
    memset(out, 0, sizeof(*out));
    eim_err_t rc = eim_esipa_enter(r, elem, &seq);
    if (rc == EIM_OK)
        rc = eim_der_read_tag(&seq, 0x5A, &e);
    if (rc == EIM_OK)
        rc = eim_esipa_get_fixed(&seq, &e, EIM_ESIPA_EID_LEN, "EID must be 16 bytes", &out->eid);
    if (rc == EIM_OK)
        rc = eim_der_read_optional(&seq, 0x80, &e, &present);
    if (rc == EIM_OK && present) {
        rc = eim_esipa_get_null(&seq, &e);
        out->notify_state_change = rc == EIM_OK;
    }
    if (rc == EIM_OK)
        rc = eim_der_read_optional(&seq, 0x81, &e, &present);
    if (rc == EIM_OK && present) {
        rc = eim_esipa_get_int(&seq, &e, &out->state_change_cause);
        out->has_state_change_cause = rc == EIM_OK;
    }
    if (rc == EIM_OK)
        rc = eim_der_read_optional(&seq, 0x82, &e, &present);
    if (rc == EIM_OK && present) {
        rc = eim_esipa_get_fixed(&seq, &e, EIM_ESIPA_RPLMN_LEN, "rPLMN must be 3 bytes",
                                 &out->rplmn);
        out->has_rplmn = rc == EIM_OK;
    }
    if (rc == EIM_OK)
        rc = eim_esipa_skip_extensions(&seq);
    return rc;
}

void eim_esipa_get_eim_package_request_write(eim_der_writer_t *w,
                                             const eim_esipa_get_eim_package_request_t *in)
{
    eim_der_begin(w, TAG_GET_EIM_PACKAGE);
    eim_esipa_put_fixed(w, 0x5A, in->eid, EIM_ESIPA_EID_LEN);
    if (in->notify_state_change)
        eim_der_put_null(w, 0x80);
    if (in->has_state_change_cause)
        eim_der_put_int(w, 0x81, in->state_change_cause);
    if (in->has_rplmn)
        eim_esipa_put_fixed(w, 0x82, in->rplmn, EIM_ESIPA_RPLMN_LEN);
    eim_der_end(w);
}

eim_err_t eim_esipa_get_eim_package_response_read(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                                  eim_esipa_get_eim_package_response_t *out)
{
    eim_der_reader_t choice;
    eim_der_elem_t e = {0};
    memset(out, 0, sizeof(*out));
    eim_err_t rc = eim_esipa_enter(r, elem, &choice);
    if (rc == EIM_OK)
        rc = eim_esipa_read_single(&choice, &e);
    if (rc != EIM_OK)
        return rc;
    switch (e.tag) {
    case 0xBF51:
        out->kind = EIM_ESIPA_EIM_PACKAGE_EUICC_PACKAGE_REQUEST;
        out->euicc_package_request = e.tlv;
        return EIM_OK;
    case 0xBF52:
        out->kind = EIM_ESIPA_EIM_PACKAGE_IPA_EUICC_DATA_REQUEST;
        return eim_esipa_euicc_data_request_read(&choice, &e, &out->euicc_data_request);
    case 0xBF54:
        out->kind = EIM_ESIPA_EIM_PACKAGE_DOWNLOAD_TRIGGER_REQUEST;
        return eim_esipa_download_trigger_request_read(&choice, &e, &out->download_trigger_request);
    case 0x02:
        out->kind = EIM_ESIPA_EIM_PACKAGE_ERROR;
        return eim_esipa_get_int(&choice, &e, &out->error_code);
    default:
        return eim_der_fail(&choice, &e, EIM_ERR_UNSUPPORTED,
                            "unknown GetEimPackageResponse alternative");
    }
}

void eim_esipa_get_eim_package_response_write(eim_der_writer_t *w,
                                              const eim_esipa_get_eim_package_response_t *in)
{
    eim_der_begin(w, TAG_GET_EIM_PACKAGE);
    switch (in->kind) {
    case EIM_ESIPA_EIM_PACKAGE_EUICC_PACKAGE_REQUEST:
        eim_esipa_put_tlv(w, 0xBF51, in->euicc_package_request);
        break;
    case EIM_ESIPA_EIM_PACKAGE_IPA_EUICC_DATA_REQUEST:
        eim_esipa_euicc_data_request_write(w, &in->euicc_data_request);
        break;
    case EIM_ESIPA_EIM_PACKAGE_DOWNLOAD_TRIGGER_REQUEST:
        eim_esipa_download_trigger_request_write(w, &in->download_trigger_request);
        break;
    case EIM_ESIPA_EIM_PACKAGE_ERROR: eim_der_put_int(w, 0x02, in->error_code); break;
    default: eim_esipa_writer_fail(w); break;
    }
    eim_der_end(w);
}

EIM_ESIPA_DEFINE_CODEC(get_eim_package_request, eim_esipa_get_eim_package_request_t,
                       TAG_GET_EIM_PACKAGE)
EIM_ESIPA_DEFINE_CODEC(get_eim_package_response, eim_esipa_get_eim_package_response_t,
                       TAG_GET_EIM_PACKAGE)
