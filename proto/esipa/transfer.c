/*
 * TransferEimPackageRequest / TransferEimPackageResponse (BF4E), inject
 * mode, SGP.32 v1.2 §6.3.3.1 and Annex A; v1.3 *WithCid alternatives as in
 * the v1.3 module (EimPackageReceivedWithCid ::= SEQUENCE { correlationId
 * CHOICE {...} OPTIONAL }, EimPackageErrorWithCid adds eimPackageError):
 * with AUTOMATIC TAGS correlationId becomes A0 { 80 | 5A } and the error 81.
 */
#include "proto/esipa/transfer.h"

#include <string.h>

#include "proto/esipa/esipa_internal.h"

#define TAG_TRANSFER          0xBF4E
#define TAG_RECEIVED_WITH_CID 0xBF60
#define TAG_ERROR_WITH_CID    0xBF61

eim_err_t eim_esipa_transfer_eim_package_request_read(eim_der_reader_t *r,
                                                      const eim_der_elem_t *elem,
                                                      eim_esipa_transfer_eim_package_request_t *out)
{
    eim_der_reader_t choice;
    eim_der_elem_t e;
    memset(out, 0, sizeof(*out));
    eim_err_t rc = eim_esipa_enter(r, elem, &choice);
    if (rc == EIM_OK)
        rc = eim_esipa_read_single(&choice, &e);
    if (rc != EIM_OK)
        return rc;
    switch (e.tag) {
    case 0xBF51:
        out->kind = EIM_ESIPA_TRANSFER_EUICC_PACKAGE_REQUEST;
        out->euicc_package_request = e.tlv;
        return EIM_OK;
    case 0xBF52:
        out->kind = EIM_ESIPA_TRANSFER_IPA_EUICC_DATA_REQUEST;
        return eim_esipa_euicc_data_request_read(&choice, &e, &out->euicc_data_request);
    case 0xBF53:
        out->kind = EIM_ESIPA_TRANSFER_ACKNOWLEDGEMENTS;
        return eim_esipa_acknowledgements_read(&choice, &e, &out->acknowledgements);
    case 0xBF54:
        out->kind = EIM_ESIPA_TRANSFER_DOWNLOAD_TRIGGER_REQUEST;
        return eim_esipa_download_trigger_request_read(&choice, &e, &out->download_trigger_request);
    default:
        return eim_der_fail(&choice, &e, EIM_ERR_UNSUPPORTED,
                            "unknown TransferEimPackageRequest alternative");
    }
}

void eim_esipa_transfer_eim_package_request_write(
    eim_der_writer_t *w, const eim_esipa_transfer_eim_package_request_t *in)
{
    eim_der_begin(w, TAG_TRANSFER);
    switch (in->kind) {
    case EIM_ESIPA_TRANSFER_EUICC_PACKAGE_REQUEST:
        eim_esipa_put_tlv(w, 0xBF51, in->euicc_package_request);
        break;
    case EIM_ESIPA_TRANSFER_IPA_EUICC_DATA_REQUEST:
        eim_esipa_euicc_data_request_write(w, &in->euicc_data_request);
        break;
    case EIM_ESIPA_TRANSFER_ACKNOWLEDGEMENTS:
        eim_esipa_acknowledgements_write(w, &in->acknowledgements);
        break;
    case EIM_ESIPA_TRANSFER_DOWNLOAD_TRIGGER_REQUEST:
        eim_esipa_download_trigger_request_write(w, &in->download_trigger_request);
        break;
    default: eim_esipa_writer_fail(w); break;
    }
    eim_der_end(w);
}

/* BF60 { [A0 { 80 txid | 5A eid }] } or BF61 { [A0 {...}], 81 error }. */
static eim_err_t read_with_cid(eim_der_reader_t *r, const eim_der_elem_t *elem, bool with_error,
                               eim_esipa_transfer_eim_package_response_t *out)
{
    eim_der_reader_t seq, choice;
    eim_der_elem_t e = {0}, c = {0};
    bool present = false;
    eim_err_t rc = eim_esipa_enter(r, elem, &seq);
    if (rc == EIM_OK)
        rc = eim_der_read_optional(&seq, 0xA0, &e, &present);
    if (rc == EIM_OK && present) {
        rc = eim_esipa_enter(&seq, &e, &choice);
        if (rc == EIM_OK)
            rc = eim_esipa_read_single(&choice, &c);
        if (rc == EIM_OK && c.tag == 0x80) {
            out->correlation = EIM_ESIPA_CORRELATION_TRANSACTION_ID;
            rc = eim_esipa_get_transaction_id(&choice, &c, &out->correlation_id);
        } else if (rc == EIM_OK && c.tag == 0x5A) {
            out->correlation = EIM_ESIPA_CORRELATION_EID;
            rc = eim_esipa_get_fixed(&choice, &c, EIM_ESIPA_EID_LEN, "EID must be 16 bytes",
                                     &out->correlation_id);
        } else if (rc == EIM_OK) {
            rc =
                eim_der_fail(&choice, &c, EIM_ERR_UNSUPPORTED, "unknown correlationId alternative");
        }
    }
    if (rc == EIM_OK && with_error) {
        rc = eim_der_read_tag(&seq, 0x81, &e);
        if (rc == EIM_OK)
            rc = eim_esipa_get_int(&seq, &e, &out->error_code);
    }
    if (rc == EIM_OK)
        rc = eim_esipa_skip_extensions(&seq);
    return rc;
}

static void write_with_cid(eim_der_writer_t *w, uint32_t tag,
                           const eim_esipa_transfer_eim_package_response_t *in, bool with_error)
{
    eim_der_begin(w, tag);
    switch (in->correlation) {
    case EIM_ESIPA_CORRELATION_NONE: break;
    case EIM_ESIPA_CORRELATION_TRANSACTION_ID:
        eim_der_begin(w, 0xA0);
        eim_esipa_put_transaction_id(w, 0x80, in->correlation_id);
        eim_der_end(w);
        break;
    case EIM_ESIPA_CORRELATION_EID:
        eim_der_begin(w, 0xA0);
        eim_esipa_put_fixed(w, 0x5A, in->correlation_id, EIM_ESIPA_EID_LEN);
        eim_der_end(w);
        break;
    default: eim_esipa_writer_fail(w); break;
    }
    if (with_error)
        eim_der_put_int(w, 0x81, in->error_code);
    eim_der_end(w);
}

eim_err_t
eim_esipa_transfer_eim_package_response_read(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                             eim_esipa_transfer_eim_package_response_t *out)
{
    eim_der_reader_t choice;
    eim_der_elem_t e;
    bool known = false;
    memset(out, 0, sizeof(*out));
    eim_err_t rc = eim_esipa_enter(r, elem, &choice);
    if (rc == EIM_OK)
        rc = eim_esipa_read_single(&choice, &e);
    if (rc != EIM_OK)
        return rc;
    switch (e.tag) {
    case 0xBF51:
    case 0x30:
    case 0xBF52:
        out->kind = EIM_ESIPA_TRANSFER_RESULT;
        return eim_esipa_package_result_read(&choice, &e, &out->result, &known);
    case 0x05: out->kind = EIM_ESIPA_TRANSFER_RECEIVED; return eim_esipa_get_null(&choice, &e);
    case 0x02:
        out->kind = EIM_ESIPA_TRANSFER_ERROR;
        return eim_esipa_get_int(&choice, &e, &out->error_code);
    case TAG_RECEIVED_WITH_CID:
        out->kind = EIM_ESIPA_TRANSFER_RECEIVED_WITH_CID;
        return read_with_cid(&choice, &e, false, out);
    case TAG_ERROR_WITH_CID:
        out->kind = EIM_ESIPA_TRANSFER_ERROR_WITH_CID;
        return read_with_cid(&choice, &e, true, out);
    default:
        return eim_der_fail(&choice, &e, EIM_ERR_UNSUPPORTED,
                            "unknown TransferEimPackageResponse alternative");
    }
}

void eim_esipa_transfer_eim_package_response_write(
    eim_der_writer_t *w, const eim_esipa_transfer_eim_package_response_t *in)
{
    eim_der_begin(w, TAG_TRANSFER);
    switch (in->kind) {
    case EIM_ESIPA_TRANSFER_RESULT:
        if (in->result.kind != EIM_ESIPA_RESULT_EUICC_PACKAGE &&
            in->result.kind != EIM_ESIPA_RESULT_EPR_AND_NOTIFICATIONS &&
            in->result.kind != EIM_ESIPA_RESULT_IPA_EUICC_DATA)
            eim_esipa_writer_fail(w);
        else
            eim_esipa_package_result_write(w, &in->result);
        break;
    case EIM_ESIPA_TRANSFER_RECEIVED: eim_der_put_null(w, 0x05); break;
    case EIM_ESIPA_TRANSFER_ERROR: eim_der_put_int(w, 0x02, in->error_code); break;
    case EIM_ESIPA_TRANSFER_RECEIVED_WITH_CID:
        write_with_cid(w, TAG_RECEIVED_WITH_CID, in, false);
        break;
    case EIM_ESIPA_TRANSFER_ERROR_WITH_CID: write_with_cid(w, TAG_ERROR_WITH_CID, in, true); break;
    default: eim_esipa_writer_fail(w); break;
    }
    eim_der_end(w);
}

EIM_ESIPA_DEFINE_CODEC(transfer_eim_package_request, eim_esipa_transfer_eim_package_request_t,
                       TAG_TRANSFER)
EIM_ESIPA_DEFINE_CODEC(transfer_eim_package_response, eim_esipa_transfer_eim_package_response_t,
                       TAG_TRANSFER)
