/*
 * ProvideEimPackageResult / ProvideEimPackageResultResponse (BF50) and
 * EimAcknowledgements (BF53), SGP.32 v1.2 §5.14.6, §6.3.2.7, Annex A.
 *
 * The acknowledged numbers are the eUICC's seqNumbers of results and
 * notifications (never eIM queue ids); the IPA deletes exactly those.
 * emptyResponse (30 00) means "nothing to delete".
 */
#include "proto/esipa/provide_result.h"

#include <string.h>

#include "proto/esipa/esipa_internal.h"

#define TAG_PROVIDE_RESULT 0xBF50
#define TAG_ACKS           0xBF53
#define TAG_EPR            0xBF51

/* ePRAndNotifications ::= SEQUENCE { euiccPackageResult BF51,
 *   notificationList [0] PendingNotificationList } */
static eim_err_t read_epr_and_notifications(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                            eim_esipa_package_result_t *out)
{
    eim_der_reader_t seq;
    eim_der_elem_t e = {0};
    eim_err_t rc = eim_esipa_enter(r, elem, &seq);
    if (rc == EIM_OK)
        rc = eim_der_read_tag(&seq, TAG_EPR, &e);
    if (rc == EIM_OK) {
        out->euicc_package_result = e.tlv;
        rc = eim_der_read_tag(&seq, 0xA0, &e);
    }
    if (rc == EIM_OK)
        rc = eim_esipa_notification_list_read(&seq, &e, &out->notifications);
    if (rc == EIM_OK)
        rc = eim_esipa_skip_extensions(&seq);
    return rc;
}

/* EimPackageResultResponseError ::= SEQUENCE { eimTransactionId [0]
 *   OPTIONAL, eimPackageResultErrorCode INTEGER } (implicitly A0). */
static eim_err_t read_result_error(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                   eim_esipa_package_result_t *out)
{
    eim_der_reader_t seq;
    eim_der_elem_t e = {0};
    bool present = false;
    eim_err_t rc = eim_esipa_enter(r, elem, &seq);
    if (rc == EIM_OK)
        rc = eim_der_read_optional(&seq, 0x80, &e, &present);
    if (rc == EIM_OK && present) {
        rc = eim_esipa_get_transaction_id(&seq, &e, &out->error_transaction_id);
        out->has_error_transaction_id = rc == EIM_OK;
    }
    if (rc == EIM_OK)
        rc = eim_der_read_tag(&seq, 0x02, &e);
    if (rc == EIM_OK)
        rc = eim_esipa_get_int(&seq, &e, &out->error_code);
    if (rc == EIM_OK)
        rc = eim_esipa_skip_extensions(&seq);
    return rc;
}

eim_err_t eim_esipa_package_result_read(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                        eim_esipa_package_result_t *out, bool *known)
{
    memset(out, 0, sizeof(*out));
    *known = true;
    switch (elem->tag) {
    case TAG_EPR:
        out->kind = EIM_ESIPA_RESULT_EUICC_PACKAGE;
        out->euicc_package_result = elem->tlv;
        return EIM_OK;
    case 0x30:
        out->kind = EIM_ESIPA_RESULT_EPR_AND_NOTIFICATIONS;
        return read_epr_and_notifications(r, elem, out);
    case 0xBF52:
        out->kind = EIM_ESIPA_RESULT_IPA_EUICC_DATA;
        return eim_esipa_euicc_data_response_read(r, elem, &out->euicc_data);
    case 0xBF54:
        out->kind = EIM_ESIPA_RESULT_DOWNLOAD_TRIGGER;
        return eim_esipa_download_trigger_result_read(r, elem, &out->download_result);
    case 0xA0: out->kind = EIM_ESIPA_RESULT_ERROR; return read_result_error(r, elem, out);
    default: *known = false; return EIM_OK;
    }
}

void eim_esipa_package_result_write(eim_der_writer_t *w, const eim_esipa_package_result_t *in)
{
    switch (in->kind) {
    case EIM_ESIPA_RESULT_EUICC_PACKAGE:
        eim_esipa_put_tlv(w, TAG_EPR, in->euicc_package_result);
        break;
    case EIM_ESIPA_RESULT_EPR_AND_NOTIFICATIONS:
        eim_der_begin(w, 0x30);
        eim_esipa_put_tlv(w, TAG_EPR, in->euicc_package_result);
        eim_esipa_notification_list_write(w, 0xA0, &in->notifications);
        eim_der_end(w);
        break;
    case EIM_ESIPA_RESULT_IPA_EUICC_DATA:
        eim_esipa_euicc_data_response_write(w, &in->euicc_data);
        break;
    case EIM_ESIPA_RESULT_DOWNLOAD_TRIGGER:
        eim_esipa_download_trigger_result_write(w, &in->download_result);
        break;
    case EIM_ESIPA_RESULT_ERROR:
        eim_der_begin(w, 0xA0);
        if (in->has_error_transaction_id)
            eim_esipa_put_transaction_id(w, 0x80, in->error_transaction_id);
        eim_der_put_int(w, 0x02, in->error_code);
        eim_der_end(w);
        break;
    default: eim_esipa_writer_fail(w); break;
    }
}

eim_err_t eim_esipa_provide_eim_package_result_read(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                                    eim_esipa_provide_eim_package_result_t *out)
{
    eim_der_reader_t seq;
    eim_der_elem_t e = {0};
    bool present = false, known = false;
    memset(out, 0, sizeof(*out));
    eim_err_t rc = eim_esipa_enter(r, elem, &seq);
    if (rc == EIM_OK)
        rc = eim_der_read_optional(&seq, 0x5A, &e, &present);
    if (rc == EIM_OK && present) {
        rc = eim_esipa_get_fixed(&seq, &e, EIM_ESIPA_EID_LEN, "EID must be 16 bytes", &out->eid);
        out->has_eid = rc == EIM_OK;
    }
    if (rc == EIM_OK)
        rc = eim_der_read(&seq, &e);
    if (rc == EIM_OK)
        rc = eim_esipa_package_result_read(&seq, &e, &out->result, &known);
    if (rc == EIM_OK && !known)
        rc = eim_der_fail(&seq, &e, EIM_ERR_UNSUPPORTED, "unknown EimPackageResult alternative");
    if (rc == EIM_OK)
        rc = eim_esipa_skip_extensions(&seq);
    return rc;
}

void eim_esipa_provide_eim_package_result_write(eim_der_writer_t *w,
                                                const eim_esipa_provide_eim_package_result_t *in)
{
    eim_der_begin(w, TAG_PROVIDE_RESULT);
    if (in->has_eid)
        eim_esipa_put_fixed(w, 0x5A, in->eid, EIM_ESIPA_EID_LEN);
    eim_esipa_package_result_write(w, &in->result);
    eim_der_end(w);
}

eim_err_t eim_esipa_acknowledgements_read(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                          eim_esipa_acknowledgements_t *out)
{
    eim_der_reader_t list;
    eim_der_elem_t e = {0};
    out->count = 0;
    eim_err_t rc = eim_esipa_enter(r, elem, &list);
    while (rc == EIM_OK && !eim_der_at_end(&list)) {
        rc = eim_der_read_tag(&list, 0x80, &e);
        if (rc != EIM_OK)
            break;
        if (out->count == EIM_ESIPA_MAX_ACKNOWLEDGEMENTS)
            return eim_der_fail(&list, &e, EIM_ERR_LIMIT, "too many acknowledgements");
        rc = eim_esipa_get_int(&list, &e, &out->seq_numbers[out->count]);
        if (rc == EIM_OK)
            out->count++;
    }
    return rc;
}

void eim_esipa_acknowledgements_write(eim_der_writer_t *w, const eim_esipa_acknowledgements_t *in)
{
    if (in->count > EIM_ESIPA_MAX_ACKNOWLEDGEMENTS) {
        eim_esipa_writer_fail(w);
        return;
    }
    eim_der_begin(w, TAG_ACKS);
    for (size_t i = 0; i < in->count; i++)
        eim_der_put_int(w, 0x80, in->seq_numbers[i]);
    eim_der_end(w);
}

eim_err_t eim_esipa_provide_eim_package_result_response_read(
    eim_der_reader_t *r, const eim_der_elem_t *elem,
    eim_esipa_provide_eim_package_result_response_t *out)
{
    eim_der_reader_t choice, empty;
    eim_der_elem_t e = {0};
    memset(out, 0, sizeof(*out));
    eim_err_t rc = eim_esipa_enter(r, elem, &choice);
    if (rc == EIM_OK)
        rc = eim_esipa_read_single(&choice, &e);
    if (rc != EIM_OK)
        return rc;
    switch (e.tag) {
    case TAG_ACKS:
        out->kind = EIM_ESIPA_PROVIDE_RESPONSE_ACKNOWLEDGEMENTS;
        return eim_esipa_acknowledgements_read(&choice, &e, &out->acknowledgements);
    case 0x30:
        out->kind = EIM_ESIPA_PROVIDE_RESPONSE_EMPTY;
        /* SEQUENCE {} is extensible: tolerate (skip) future components. */
        rc = eim_esipa_enter(&choice, &e, &empty);
        if (rc == EIM_OK)
            rc = eim_esipa_skip_extensions(&empty);
        return rc;
    case 0x02:
        out->kind = EIM_ESIPA_PROVIDE_RESPONSE_ERROR;
        return eim_esipa_get_int(&choice, &e, &out->error_code);
    default:
        return eim_der_fail(&choice, &e, EIM_ERR_UNSUPPORTED,
                            "unknown ProvideEimPackageResultResponse alternative");
    }
}

void eim_esipa_provide_eim_package_result_response_write(
    eim_der_writer_t *w, const eim_esipa_provide_eim_package_result_response_t *in)
{
    eim_der_begin(w, TAG_PROVIDE_RESULT);
    switch (in->kind) {
    case EIM_ESIPA_PROVIDE_RESPONSE_ACKNOWLEDGEMENTS:
        eim_esipa_acknowledgements_write(w, &in->acknowledgements);
        break;
    case EIM_ESIPA_PROVIDE_RESPONSE_EMPTY:
        eim_der_begin(w, 0x30);
        eim_der_end(w);
        break;
    case EIM_ESIPA_PROVIDE_RESPONSE_ERROR: eim_der_put_int(w, 0x02, in->error_code); break;
    default: eim_esipa_writer_fail(w); break;
    }
    eim_der_end(w);
}

EIM_ESIPA_DEFINE_CODEC(provide_eim_package_result, eim_esipa_provide_eim_package_result_t,
                       TAG_PROVIDE_RESULT)
EIM_ESIPA_DEFINE_CODEC(provide_eim_package_result_response,
                       eim_esipa_provide_eim_package_result_response_t, TAG_PROVIDE_RESULT)
