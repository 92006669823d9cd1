/*
 * ProvideEimPackageResult and ProvideEimPackageResultResponse (BF50),
 * SGP.32 v1.2 §5.14.6, §6.3.2.7 and Annex A (v1.2 shape: a SEQUENCE with an
 * optional eidValue and the EimPackageResult CHOICE), plus
 * EimAcknowledgements (BF53).
 *
 *   request  BF50 { [5A EID], BF51 EPR | 30 { BF51 EPR, A0 notifications }
 *                   | BF52 IpaEuiccDataResponse | BF54 ProfileDownloadTriggerResult
 *                   | A0 { [80 eimTransactionId] 02 errorCode } }
 *   response BF50 { BF53 { 80 seqNumber ... } | 30 00 | 02 errorCode }
 *
 * The EuiccPackageResult (ESep, signed by the eUICC) stays a BF51 TLV span;
 * proto/esep verifies and parses it over exactly these bytes.
 */
#ifndef EIM_PROTO_ESIPA_PROVIDE_RESULT_H
#define EIM_PROTO_ESIPA_PROVIDE_RESULT_H

#include "proto/esipa/download_trigger.h"
#include "proto/esipa/esipa_common.h"
#include "proto/esipa/euicc_data.h"
#include "proto/esipa/pending_notification.h"

/* EimPackageResultErrorCode values. */
#define EIM_ESIPA_RESULT_ERROR_INVALID_PACKAGE_FORMAT 1
#define EIM_ESIPA_RESULT_ERROR_UNKNOWN_PACKAGE        2
#define EIM_ESIPA_RESULT_ERROR_UNDEFINED_ERROR        127

/* provideEimPackageResultError values. */
#define EIM_ESIPA_PROVIDE_ERROR_EID_NOT_FOUND   2
#define EIM_ESIPA_PROVIDE_ERROR_INVALID_EID     3
#define EIM_ESIPA_PROVIDE_ERROR_MISSING_EID     4
#define EIM_ESIPA_PROVIDE_ERROR_UNDEFINED_ERROR 127

typedef enum {
    EIM_ESIPA_RESULT_EUICC_PACKAGE = 1,     /* BF51 euiccPackageResult */
    EIM_ESIPA_RESULT_EPR_AND_NOTIFICATIONS, /* 30 ePRAndNotifications */
    EIM_ESIPA_RESULT_IPA_EUICC_DATA,        /* BF52 ipaEuiccDataResponse */
    EIM_ESIPA_RESULT_DOWNLOAD_TRIGGER,      /* BF54 profileDownloadTriggerResult */
    EIM_ESIPA_RESULT_ERROR,                 /* A0 eimPackageResultResponseError */
} eim_esipa_package_result_kind_t;

/* EimPackageResult (also the first three alternatives of
 * TransferEimPackageResponse). */
typedef struct {
    eim_esipa_package_result_kind_t kind;
    union {
        struct {                                         /* EUICC_PACKAGE, EPR_AND_NOTIFICATIONS */
            eim_span_t euicc_package_result;             /* BF51 TLV */
            eim_esipa_notification_list_t notifications; /* EPR_AND_NOTIFICATIONS */
        };
        eim_esipa_euicc_data_response_t euicc_data;          /* IPA_EUICC_DATA */
        eim_esipa_download_trigger_result_t download_result; /* DOWNLOAD_TRIGGER */
        struct {                                             /* ERROR */
            bool has_error_transaction_id;
            eim_span_t error_transaction_id;
            int64_t error_code; /* EIM_ESIPA_RESULT_ERROR_* */
        };
    };
} eim_esipa_package_result_t;

typedef struct {
    bool has_eid;
    eim_span_t eid;
    eim_esipa_package_result_t result;
} eim_esipa_provide_eim_package_result_t;

typedef struct {
    size_t count;
    int64_t seq_numbers[EIM_ESIPA_MAX_ACKNOWLEDGEMENTS];
} eim_esipa_acknowledgements_t;

typedef enum {
    EIM_ESIPA_PROVIDE_RESPONSE_ACKNOWLEDGEMENTS = 1, /* BF53 */
    EIM_ESIPA_PROVIDE_RESPONSE_EMPTY,                /* 30 00 */
    EIM_ESIPA_PROVIDE_RESPONSE_ERROR,                /* 02 */
} eim_esipa_provide_response_kind_t;

typedef struct {
    eim_esipa_provide_response_kind_t kind;
    eim_esipa_acknowledgements_t acknowledgements;
    int64_t error_code; /* EIM_ESIPA_PROVIDE_ERROR_* */
} eim_esipa_provide_eim_package_result_response_t;

eim_err_t eim_esipa_provide_eim_package_result_decode(const uint8_t *data, size_t len,
                                                      eim_esipa_provide_eim_package_result_t *out,
                                                      eim_der_error_t *error);
eim_err_t
eim_esipa_provide_eim_package_result_encode(const eim_esipa_provide_eim_package_result_t *in,
                                            eim_buf_t *out);
eim_err_t eim_esipa_provide_eim_package_result_response_decode(
    const uint8_t *data, size_t len, eim_esipa_provide_eim_package_result_response_t *out,
    eim_der_error_t *error);
eim_err_t eim_esipa_provide_eim_package_result_response_encode(
    const eim_esipa_provide_eim_package_result_response_t *in, eim_buf_t *out);

/* Internal codec entry points (see esipa_internal.h). */
eim_err_t eim_esipa_provide_eim_package_result_read(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                                    eim_esipa_provide_eim_package_result_t *out);
void eim_esipa_provide_eim_package_result_write(eim_der_writer_t *w,
                                                const eim_esipa_provide_eim_package_result_t *in);
eim_err_t eim_esipa_provide_eim_package_result_response_read(
    eim_der_reader_t *r, const eim_der_elem_t *elem,
    eim_esipa_provide_eim_package_result_response_t *out);
void eim_esipa_provide_eim_package_result_response_write(
    eim_der_writer_t *w, const eim_esipa_provide_eim_package_result_response_t *in);
/* One EimPackageResult alternative; *known is false (and nothing consumed
 * beyond elem) when elem's tag is none of the five. */
eim_err_t eim_esipa_package_result_read(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                        eim_esipa_package_result_t *out, bool *known);
void eim_esipa_package_result_write(eim_der_writer_t *w, const eim_esipa_package_result_t *in);
/* EimAcknowledgements BF53 { 80 seq ... }. */
eim_err_t eim_esipa_acknowledgements_read(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                          eim_esipa_acknowledgements_t *out);
void eim_esipa_acknowledgements_write(eim_der_writer_t *w, const eim_esipa_acknowledgements_t *in);

#endif
