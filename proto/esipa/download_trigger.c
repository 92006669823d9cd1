/*
 * ProfileDownloadTriggerRequest / ProfileDownloadTriggerResult (BF54),
 * SGP.32 v1.2 §2.11.1.3 and Annex A. ProfileDownloadData is an explicitly
 * tagged CHOICE ([0] -> A0 { alternative }); its contactSmds SEQUENCE gets
 * automatic tags, so smdsAddress is [0] (80). A UNIVERSAL 0C smdsAddress is
 * accepted on decode as well (see docs/interpretation-log.md).
 */
#include "proto/esipa/download_trigger.h"

#include <string.h>

#include "proto/esipa/esipa_internal.h"

#define TAG_TRIGGER 0xBF54

static eim_err_t read_download_data(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                    eim_esipa_download_trigger_request_t *out)
{
    eim_der_reader_t choice, smds;
    eim_der_elem_t e = {0}, a = {0};
    eim_err_t rc = eim_esipa_enter(r, elem, &choice);
    if (rc == EIM_OK)
        rc = eim_esipa_read_single(&choice, &e);
    if (rc != EIM_OK)
        return rc;
    switch (e.tag) {
    case 0x80:
        out->data_kind = EIM_ESIPA_DOWNLOAD_DATA_ACTIVATION_CODE;
        return eim_esipa_get_utf8(&choice, &e, 0, EIM_ESIPA_ACTIVATION_CODE_MAX,
                                  &out->activation_code);
    case 0x81:
        out->data_kind = EIM_ESIPA_DOWNLOAD_DATA_CONTACT_DEFAULT_SMDP;
        return eim_esipa_get_null(&choice, &e);
    case 0xA2:
        out->data_kind = EIM_ESIPA_DOWNLOAD_DATA_CONTACT_SMDS;
        rc = eim_esipa_enter(&choice, &e, &smds);
        if (rc == EIM_OK && !eim_der_at_end(&smds)) {
            uint32_t tag = 0;
            rc = eim_der_peek_tag(&smds, &tag);
            if (rc == EIM_OK && (tag == 0x80 || tag == 0x0C)) {
                rc = eim_der_read(&smds, &a);
                if (rc == EIM_OK)
                    rc = eim_esipa_get_utf8(&smds, &a, 0, 0, &out->smds_address);
                out->has_smds_address = rc == EIM_OK;
            }
        }
        if (rc == EIM_OK)
            rc = eim_esipa_skip_extensions(&smds);
        return rc;
    default:
        return eim_der_fail(&choice, &e, EIM_ERR_UNSUPPORTED,
                            "unknown ProfileDownloadData alternative");
    }
}

eim_err_t eim_esipa_download_trigger_request_read(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                                  eim_esipa_download_trigger_request_t *out)
{
    eim_der_reader_t seq;
    eim_der_elem_t e = {0};
    bool present = false;
    memset(out, 0, sizeof(*out));
    eim_err_t rc = eim_esipa_enter(r, elem, &seq);
    if (rc == EIM_OK)
        rc = eim_der_read_optional(&seq, 0xA0, &e, &present);
    if (rc == EIM_OK && present)
        rc = read_download_data(&seq, &e, out);
    if (rc == EIM_OK)
        rc = eim_der_read_optional(&seq, 0x82, &e, &present);
    if (rc == EIM_OK && present) {
        rc = eim_esipa_get_transaction_id(&seq, &e, &out->transaction_id);
        out->has_transaction_id = rc == EIM_OK;
    }
    if (rc == EIM_OK)
        rc = eim_esipa_skip_extensions(&seq);
    return rc;
}

void eim_esipa_download_trigger_request_write(eim_der_writer_t *w,
                                              const eim_esipa_download_trigger_request_t *in)
{
    eim_der_begin(w, TAG_TRIGGER);
    switch (in->data_kind) {
    case EIM_ESIPA_DOWNLOAD_DATA_NONE: break;
    case EIM_ESIPA_DOWNLOAD_DATA_ACTIVATION_CODE:
        eim_der_begin(w, 0xA0);
        eim_esipa_put_utf8(w, 0x80, in->activation_code, 0, EIM_ESIPA_ACTIVATION_CODE_MAX);
        eim_der_end(w);
        break;
    case EIM_ESIPA_DOWNLOAD_DATA_CONTACT_DEFAULT_SMDP:
        eim_der_begin(w, 0xA0);
        eim_der_put_null(w, 0x81);
        eim_der_end(w);
        break;
    case EIM_ESIPA_DOWNLOAD_DATA_CONTACT_SMDS:
        eim_der_begin(w, 0xA0);
        eim_der_begin(w, 0xA2);
        if (in->has_smds_address)
            eim_esipa_put_utf8(w, 0x80, in->smds_address, 0, 0);
        eim_der_end(w);
        eim_der_end(w);
        break;
    default: eim_esipa_writer_fail(w); break;
    }
    if (in->has_transaction_id)
        eim_esipa_put_transaction_id(w, 0x82, in->transaction_id);
    eim_der_end(w);
}

eim_err_t eim_esipa_download_trigger_result_read(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                                 eim_esipa_download_trigger_result_t *out)
{
    eim_der_reader_t seq, err;
    eim_der_elem_t e = {0}, f = {0};
    bool present = false;
    memset(out, 0, sizeof(*out));
    eim_err_t rc = eim_esipa_enter(r, elem, &seq);
    if (rc == EIM_OK)
        rc = eim_der_read_optional(&seq, 0x82, &e, &present);
    if (rc == EIM_OK && present) {
        rc = eim_esipa_get_transaction_id(&seq, &e, &out->transaction_id);
        out->has_transaction_id = rc == EIM_OK;
    }
    if (rc == EIM_OK)
        rc = eim_der_read(&seq, &e);
    if (rc != EIM_OK)
        return rc;
    if (e.tag == 0xBF37) {
        out->kind = EIM_ESIPA_DOWNLOAD_RESULT_PIR;
        rc = eim_esipa_notification_read(&seq, &e, &out->pir);
    } else if (e.tag == 0x30) {
        out->kind = EIM_ESIPA_DOWNLOAD_RESULT_ERROR;
        rc = eim_esipa_enter(&seq, &e, &err);
        if (rc == EIM_OK)
            rc = eim_der_read_tag(&err, 0x80, &f);
        if (rc == EIM_OK)
            rc = eim_esipa_get_int(&err, &f, &out->error_reason);
        if (rc == EIM_OK)
            rc = eim_der_read_optional(&err, 0x04, &f, &present);
        if (rc == EIM_OK && present) {
            out->has_error_response = true;
            out->error_response = f.value;
        }
        if (rc == EIM_OK)
            rc = eim_esipa_skip_extensions(&err);
    } else {
        return eim_der_fail(&seq, &e, EIM_ERR_UNSUPPORTED,
                            "unknown profileDownloadTriggerResultData alternative");
    }
    if (rc == EIM_OK)
        rc = eim_esipa_skip_extensions(&seq);
    return rc;
}

void eim_esipa_download_trigger_result_write(eim_der_writer_t *w,
                                             const eim_esipa_download_trigger_result_t *in)
{
    eim_der_begin(w, TAG_TRIGGER);
    if (in->has_transaction_id)
        eim_esipa_put_transaction_id(w, 0x82, in->transaction_id);
    switch (in->kind) {
    case EIM_ESIPA_DOWNLOAD_RESULT_PIR: eim_esipa_put_tlv(w, 0xBF37, in->pir.tlv); break;
    case EIM_ESIPA_DOWNLOAD_RESULT_ERROR:
        eim_der_begin(w, 0x30);
        eim_der_put_int(w, 0x80, in->error_reason);
        if (in->has_error_response)
            eim_der_put_span(w, 0x04, in->error_response);
        eim_der_end(w);
        break;
    default: eim_esipa_writer_fail(w); break;
    }
    eim_der_end(w);
}

EIM_ESIPA_DEFINE_CODEC(download_trigger_request, eim_esipa_download_trigger_request_t, TAG_TRIGGER)
EIM_ESIPA_DEFINE_CODEC(download_trigger_result, eim_esipa_download_trigger_result_t, TAG_TRIGGER)
