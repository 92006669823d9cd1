/*
 * PendingNotification decoding: SGP.32 v1.2 Annex A SGP32-PendingNotification
 * (PIR BF37, OtherSignedNotification 30, compact forms A0/A1 of §2.10
 * minimizeEsipaBytes) and SGP.22 NotificationMetadata (BF2F),
 * ProfileInstallationResultData (BF27). Notifications stay byte-preserved;
 * only routing fields are extracted.
 */
#include "proto/esipa/pending_notification.h"

#include <string.h>

#include "proto/esipa/esipa_internal.h"

#define TAG_PIR                   0xBF37
#define TAG_PIR_DATA              0xBF27
#define TAG_NOTIFICATION_METADATA 0xBF2F
#define TAG_SIGNATURE             0x5F37

/* NotificationMetadata ::= [47] SEQUENCE { seqNumber [0] INTEGER,
 *   profileManagementOperation [1] NotificationEvent,
 *   notificationAddress UTF8String, iccid Iccid OPTIONAL } */
static eim_err_t read_metadata(eim_der_reader_t *r, const eim_der_elem_t *elem,
                               eim_esipa_notification_t *out)
{
    eim_der_reader_t m;
    eim_der_elem_t e = {0};
    bool present = false;
    eim_err_t rc = eim_esipa_enter(r, elem, &m);
    if (rc == EIM_OK)
        rc = eim_der_read_tag(&m, 0x80, &e);
    if (rc == EIM_OK)
        rc = eim_esipa_get_int(&m, &e, &out->seq_number);
    if (rc == EIM_OK)
        rc = eim_der_read_tag(&m, 0x81, &e);
    if (rc == EIM_OK)
        rc = eim_esipa_get_bits(&m, &e, &out->event);
    if (rc == EIM_OK)
        rc = eim_der_read_tag(&m, 0x0C, &e);
    if (rc == EIM_OK)
        rc = eim_esipa_get_utf8(&m, &e, 0, 0, &out->notification_address);
    if (rc == EIM_OK)
        rc = eim_der_read_optional(&m, 0x5A, &e, &present);
    if (rc == EIM_OK && present) {
        rc =
            eim_esipa_get_fixed(&m, &e, EIM_ESIPA_ICCID_LEN, "ICCID must be 10 bytes", &out->iccid);
        out->has_iccid = rc == EIM_OK;
    }
    if (rc == EIM_OK)
        rc = eim_esipa_skip_extensions(&m);
    if (rc == EIM_OK) {
        out->has_seq_number = true;
        out->has_event = true;
        out->has_notification_address = true;
    }
    return rc;
}

/* finalResult [2] CHOICE { successResult SuccessResult,
 *   errorResult ErrorResult { bppCommandId, errorReason, simaResponse? } };
 * the compact variant has the same shape. */
static eim_err_t read_final_result(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                   eim_esipa_notification_t *out)
{
    eim_der_reader_t choice, alt;
    eim_der_elem_t e = {0}, f = {0};
    eim_err_t rc = eim_esipa_enter(r, elem, &choice);
    if (rc == EIM_OK)
        rc = eim_esipa_read_single(&choice, &e);
    if (rc != EIM_OK)
        return rc;
    if (e.tag == 0xA0) {
        out->success = true;
    } else if (e.tag == 0xA1) {
        out->success = false;
        rc = eim_esipa_enter(&choice, &e, &alt);
        if (rc == EIM_OK)
            rc = eim_der_read_tag(&alt, 0x80, &f); /* bppCommandId */
        if (rc == EIM_OK)
            rc = eim_der_read_tag(&alt, 0x81, &f);
        if (rc == EIM_OK)
            rc = eim_esipa_get_int(&alt, &f, &out->error_reason);
        if (rc == EIM_OK)
            rc = eim_esipa_skip_extensions(&alt);
    } else {
        return eim_der_fail(&choice, &e, EIM_ERR_UNSUPPORTED, "unknown finalResult alternative");
    }
    out->has_final_result = rc == EIM_OK;
    return rc;
}

/* ProfileInstallationResult ::= [55] SEQUENCE {
 *   profileInstallationResultData [39] { transactionId [0], notificationMetadata,
 *     smdpOid OID OPTIONAL, finalResult [2] }, euiccSignPIR 5F37 } */
static eim_err_t read_pir(eim_der_reader_t *r, const eim_der_elem_t *elem,
                          eim_esipa_notification_t *out)
{
    eim_der_reader_t pir, data;
    eim_der_elem_t e = {0}, d = {0};
    bool present = false;
    eim_err_t rc = eim_esipa_enter(r, elem, &pir);
    if (rc == EIM_OK)
        rc = eim_der_read_tag(&pir, TAG_PIR_DATA, &d);
    if (rc == EIM_OK)
        rc = eim_esipa_enter(&pir, &d, &data);
    if (rc == EIM_OK)
        rc = eim_der_read_tag(&data, 0x80, &e);
    if (rc == EIM_OK)
        rc = eim_esipa_get_transaction_id(&data, &e, &out->transaction_id);
    out->has_transaction_id = rc == EIM_OK;
    if (rc == EIM_OK)
        rc = eim_der_read_tag(&data, TAG_NOTIFICATION_METADATA, &e);
    if (rc == EIM_OK)
        rc = read_metadata(&data, &e, out);
    if (rc == EIM_OK)
        rc = eim_der_read_optional(&data, 0x06, &e, &present); /* smdpOid */
    if (rc == EIM_OK)
        rc = eim_der_read_tag(&data, 0xA2, &e);
    if (rc == EIM_OK)
        rc = read_final_result(&data, &e, out);
    if (rc == EIM_OK)
        rc = eim_esipa_skip_extensions(&data);
    if (rc == EIM_OK)
        rc = eim_der_read_tag(&pir, TAG_SIGNATURE, &e);
    if (rc == EIM_OK)
        rc = eim_esipa_skip_extensions(&pir);
    return rc;
}

/* OtherSignedNotification ::= SEQUENCE { tbsOtherNotification
 *   NotificationMetadata, euiccNotificationSignature 5F37,
 *   euiccCertificate Certificate, eumCertificate Certificate } */
static eim_err_t read_other_signed(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                   eim_esipa_notification_t *out)
{
    eim_der_reader_t n;
    eim_der_elem_t e = {0};
    eim_err_t rc = eim_esipa_enter(r, elem, &n);
    if (rc == EIM_OK)
        rc = eim_der_read_tag(&n, TAG_NOTIFICATION_METADATA, &e);
    if (rc == EIM_OK)
        rc = read_metadata(&n, &e, out);
    if (rc == EIM_OK)
        rc = eim_der_read_tag(&n, TAG_SIGNATURE, &e);
    if (rc == EIM_OK)
        rc = eim_der_read_tag(&n, 0x30, &e);
    if (rc == EIM_OK) {
        out->euicc_certificate = e.tlv;
        rc = eim_der_read_tag(&n, 0x30, &e);
    }
    if (rc == EIM_OK) {
        out->eum_certificate = e.tlv;
        rc = eim_esipa_skip_extensions(&n);
    }
    return rc;
}

/* CompactProfileInstallationResult ::= SEQUENCE {
 *   compactProfileInstallationResultData [0] SEQUENCE { transactionId [0],
 *     seqNumber INTEGER, iccidPresent BOOLEAN DEFAULT TRUE,
 *     compactFinalResult [2] CHOICE {...} }, euiccSignPIR 5F37 } */
static eim_err_t read_compact_pir(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                  eim_esipa_notification_t *out)
{
    eim_der_reader_t n, data;
    eim_der_elem_t e = {0}, d = {0};
    bool present = false;
    eim_err_t rc = eim_esipa_enter(r, elem, &n);
    if (rc == EIM_OK)
        rc = eim_der_read_tag(&n, 0xA0, &d);
    if (rc == EIM_OK)
        rc = eim_esipa_enter(&n, &d, &data);
    if (rc == EIM_OK)
        rc = eim_der_read_tag(&data, 0x80, &e);
    if (rc == EIM_OK)
        rc = eim_esipa_get_transaction_id(&data, &e, &out->transaction_id);
    out->has_transaction_id = rc == EIM_OK;
    if (rc == EIM_OK)
        rc = eim_der_read_tag(&data, 0x02, &e);
    if (rc == EIM_OK)
        rc = eim_esipa_get_int(&data, &e, &out->seq_number);
    out->has_seq_number = rc == EIM_OK;
    if (rc == EIM_OK)
        rc = eim_der_read_optional(&data, 0x01, &e, &present); /* iccidPresent */
    if (rc == EIM_OK)
        rc = eim_der_read_tag(&data, 0xA2, &e);
    if (rc == EIM_OK)
        rc = read_final_result(&data, &e, out);
    if (rc == EIM_OK)
        rc = eim_esipa_skip_extensions(&data);
    if (rc == EIM_OK)
        rc = eim_der_read_tag(&n, TAG_SIGNATURE, &e);
    if (rc == EIM_OK)
        rc = eim_esipa_skip_extensions(&n);
    return rc;
}

/* CompactOtherSignedNotification ::= SEQUENCE { eidValue 5A OPTIONAL,
 *   tbsOtherNotification NotificationMetadata, euiccNotificationSignature } */
static eim_err_t read_compact_other(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                    eim_esipa_notification_t *out)
{
    eim_der_reader_t n;
    eim_der_elem_t e = {0};
    bool present = false;
    eim_err_t rc = eim_esipa_enter(r, elem, &n);
    if (rc == EIM_OK)
        rc = eim_der_read_optional(&n, 0x5A, &e, &present);
    if (rc == EIM_OK && present) {
        rc = eim_esipa_get_fixed(&n, &e, EIM_ESIPA_EID_LEN, "EID must be 16 bytes", &out->eid);
        out->has_eid = rc == EIM_OK;
    }
    if (rc == EIM_OK)
        rc = eim_der_read_tag(&n, TAG_NOTIFICATION_METADATA, &e);
    if (rc == EIM_OK)
        rc = read_metadata(&n, &e, out);
    if (rc == EIM_OK)
        rc = eim_der_read_tag(&n, TAG_SIGNATURE, &e);
    if (rc == EIM_OK)
        rc = eim_esipa_skip_extensions(&n);
    return rc;
}

eim_err_t eim_esipa_notification_read(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                      eim_esipa_notification_t *out)
{
    memset(out, 0, sizeof(*out));
    out->tlv = elem->tlv;
    switch (elem->tag) {
    case TAG_PIR: out->kind = EIM_ESIPA_NOTIFICATION_PIR; return read_pir(r, elem, out);
    case 0x30:
        out->kind = EIM_ESIPA_NOTIFICATION_OTHER_SIGNED;
        return read_other_signed(r, elem, out);
    case 0xA0:
        out->kind = EIM_ESIPA_NOTIFICATION_COMPACT_PIR;
        return read_compact_pir(r, elem, out);
    case 0xA1:
        out->kind = EIM_ESIPA_NOTIFICATION_COMPACT_OTHER;
        return read_compact_other(r, elem, out);
    default:
        return eim_der_fail(r, elem, EIM_ERR_UNSUPPORTED,
                            "unknown PendingNotification alternative");
    }
}

void eim_esipa_notification_write(eim_der_writer_t *w, const eim_esipa_notification_t *in)
{
    static const uint32_t tags[] = {0, TAG_PIR, 0x30, 0xA0, 0xA1};
    if (in->kind < EIM_ESIPA_NOTIFICATION_PIR || in->kind > EIM_ESIPA_NOTIFICATION_COMPACT_OTHER) {
        eim_esipa_writer_fail(w);
        return;
    }
    eim_esipa_put_tlv(w, tags[in->kind], in->tlv);
}

eim_err_t eim_esipa_notification_list_read(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                           eim_esipa_notification_list_t *out)
{
    eim_der_reader_t list;
    eim_der_elem_t e = {0};
    out->count = 0;
    eim_err_t rc = eim_esipa_enter(r, elem, &list);
    while (rc == EIM_OK && !eim_der_at_end(&list)) {
        rc = eim_der_read(&list, &e);
        if (rc != EIM_OK)
            break;
        if (out->count == EIM_ESIPA_MAX_NOTIFICATIONS)
            return eim_der_fail(&list, &e, EIM_ERR_LIMIT, "too many notifications");
        rc = eim_esipa_notification_read(&list, &e, &out->items[out->count]);
        if (rc == EIM_OK)
            out->count++;
    }
    return rc;
}

void eim_esipa_notification_list_write(eim_der_writer_t *w, uint32_t tag,
                                       const eim_esipa_notification_list_t *in)
{
    if (in->count > EIM_ESIPA_MAX_NOTIFICATIONS) {
        eim_esipa_writer_fail(w);
        return;
    }
    eim_der_begin(w, tag);
    for (size_t i = 0; i < in->count; i++)
        eim_esipa_notification_write(w, &in->items[i]);
    eim_der_end(w);
}

eim_err_t eim_esipa_notification_decode(const uint8_t *data, size_t len,
                                        eim_esipa_notification_t *out, eim_der_error_t *error)
{
    eim_der_reader_t top;
    eim_der_elem_t elem = {0};
    if (out == NULL)
        return EIM_ERR_INVALID_ARG;
    if (error != NULL)
        *error = (eim_der_error_t){0, 0, NULL};
    if (data == NULL && len > 0)
        return EIM_ERR_INVALID_ARG;
    eim_der_reader_init(&top, data, len, error);
    eim_err_t rc = eim_der_read(&top, &elem);
    if (rc == EIM_OK)
        rc = eim_esipa_notification_read(&top, &elem, out);
    return eim_esipa_decode_end(&top, rc);
}
