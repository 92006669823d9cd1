/*
 * TransferEimPackage (BF4E), the inject mode of SGP.32 v1.2 §6.3.3.1 and
 * Annex A: the eIM sends TransferEimPackageRequest, the IPA answers with
 * TransferEimPackageResponse. v1.3 adds eimPackageReceivedWithCid [96]
 * (BF60) and eimPackageErrorWithCid [97] (BF61), both carrying an optional
 * correlationId (A0 { 80 eimTransactionId | 5A EID }).
 */
#ifndef EIM_PROTO_ESIPA_TRANSFER_H
#define EIM_PROTO_ESIPA_TRANSFER_H

#include "proto/esipa/download_trigger.h"
#include "proto/esipa/esipa_common.h"
#include "proto/esipa/euicc_data.h"
#include "proto/esipa/provide_result.h"

typedef enum {
    EIM_ESIPA_TRANSFER_EUICC_PACKAGE_REQUEST = 1, /* BF51, raw */
    EIM_ESIPA_TRANSFER_IPA_EUICC_DATA_REQUEST,    /* BF52 */
    EIM_ESIPA_TRANSFER_ACKNOWLEDGEMENTS,          /* BF53 */
    EIM_ESIPA_TRANSFER_DOWNLOAD_TRIGGER_REQUEST,  /* BF54 */
} eim_esipa_transfer_request_kind_t;

typedef struct {
    eim_esipa_transfer_request_kind_t kind;
    eim_span_t euicc_package_request; /* BF51 TLV */
    eim_esipa_euicc_data_request_t euicc_data_request;
    eim_esipa_acknowledgements_t acknowledgements;
    eim_esipa_download_trigger_request_t download_trigger_request;
} eim_esipa_transfer_eim_package_request_t;

typedef enum {
    EIM_ESIPA_TRANSFER_RESULT = 1,        /* BF51 / 30 ePRAndNotifications / BF52, in result */
    EIM_ESIPA_TRANSFER_RECEIVED,          /* 05 00 eimPackageReceived */
    EIM_ESIPA_TRANSFER_ERROR,             /* 02 eimPackageError */
    EIM_ESIPA_TRANSFER_RECEIVED_WITH_CID, /* BF60 (v1.3) */
    EIM_ESIPA_TRANSFER_ERROR_WITH_CID,    /* BF61 (v1.3) */
} eim_esipa_transfer_response_kind_t;

typedef enum {
    EIM_ESIPA_CORRELATION_NONE = 0,
    EIM_ESIPA_CORRELATION_TRANSACTION_ID, /* 80 */
    EIM_ESIPA_CORRELATION_EID,            /* 5A */
} eim_esipa_correlation_kind_t;

typedef struct {
    eim_esipa_transfer_response_kind_t kind;
    /* RESULT: result.kind is EUICC_PACKAGE, EPR_AND_NOTIFICATIONS or
     * IPA_EUICC_DATA. */
    eim_esipa_package_result_t result;
    int64_t error_code;                       /* ERROR, ERROR_WITH_CID: EIM_ESIPA_RESULT_ERROR_* */
    eim_esipa_correlation_kind_t correlation; /* *_WITH_CID */
    eim_span_t correlation_id;
} eim_esipa_transfer_eim_package_response_t;

eim_err_t
eim_esipa_transfer_eim_package_request_decode(const uint8_t *data, size_t len,
                                              eim_esipa_transfer_eim_package_request_t *out,
                                              eim_der_error_t *error);
eim_err_t
eim_esipa_transfer_eim_package_request_encode(const eim_esipa_transfer_eim_package_request_t *in,
                                              eim_buf_t *out);
eim_err_t
eim_esipa_transfer_eim_package_response_decode(const uint8_t *data, size_t len,
                                               eim_esipa_transfer_eim_package_response_t *out,
                                               eim_der_error_t *error);
eim_err_t
eim_esipa_transfer_eim_package_response_encode(const eim_esipa_transfer_eim_package_response_t *in,
                                               eim_buf_t *out);

/* Internal codec entry points (see esipa_internal.h). */
eim_err_t
eim_esipa_transfer_eim_package_request_read(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                            eim_esipa_transfer_eim_package_request_t *out);
void eim_esipa_transfer_eim_package_request_write(
    eim_der_writer_t *w, const eim_esipa_transfer_eim_package_request_t *in);
eim_err_t
eim_esipa_transfer_eim_package_response_read(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                             eim_esipa_transfer_eim_package_response_t *out);
void eim_esipa_transfer_eim_package_response_write(
    eim_der_writer_t *w, const eim_esipa_transfer_eim_package_response_t *in);

#endif
