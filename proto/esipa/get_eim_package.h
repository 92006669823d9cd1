/*
 * GetEimPackage: the IPA's poll. SGP.32 v1.2 §5.14.5 (function), §6.3.2.6
 * (ASN.1 binding) and Annex A.
 *
 *   request  BF4F { 5A EID, [80 00 notifyStateChange], [81 stateChangeCause],
 *                   [82 rPLMN] }
 *   response BF4F { BF51 EuiccPackageRequest | BF52 IpaEuiccDataRequest
 *                 | BF54 ProfileDownloadTriggerRequest | 02 eimPackageError }
 *
 * The EuiccPackageRequest (ESep, signed by the eIM) is carried as its
 * complete BF51 TLV; proto/esep builds and parses it.
 */
#ifndef EIM_PROTO_ESIPA_GET_EIM_PACKAGE_H
#define EIM_PROTO_ESIPA_GET_EIM_PACKAGE_H

#include "proto/esipa/download_trigger.h"
#include "proto/esipa/esipa_common.h"
#include "proto/esipa/euicc_data.h"

/* StateChangeCause values. */
#define EIM_ESIPA_STATE_CHANGE_OTHER_EIM                0
#define EIM_ESIPA_STATE_CHANGE_FALLBACK                 1
#define EIM_ESIPA_STATE_CHANGE_EMERGENCY_PROFILE        2
#define EIM_ESIPA_STATE_CHANGE_LOCAL                    3
#define EIM_ESIPA_STATE_CHANGE_RESET                    4
#define EIM_ESIPA_STATE_CHANGE_IMMEDIATE_ENABLE_PROFILE 5
#define EIM_ESIPA_STATE_CHANGE_DEVICE_CHANGE            6
#define EIM_ESIPA_STATE_CHANGE_UNDEFINED                127

/* eimPackageError values. */
#define EIM_ESIPA_PACKAGE_ERROR_NO_PACKAGE_AVAILABLE 1
#define EIM_ESIPA_PACKAGE_ERROR_EID_NOT_FOUND        2
#define EIM_ESIPA_PACKAGE_ERROR_INVALID_EID          3
#define EIM_ESIPA_PACKAGE_ERROR_MISSING_EID          4
#define EIM_ESIPA_PACKAGE_ERROR_UNDEFINED_ERROR      127

/* rPLMN: 3 bytes, TS 24.008 MCC/MNC coding. */
#define EIM_ESIPA_RPLMN_LEN 3

typedef struct {
    eim_span_t eid; /* 16 bytes */
    bool notify_state_change;
    bool has_state_change_cause;
    int64_t state_change_cause;
    bool has_rplmn;
    eim_span_t rplmn;
} eim_esipa_get_eim_package_request_t;

typedef enum {
    EIM_ESIPA_EIM_PACKAGE_EUICC_PACKAGE_REQUEST = 1, /* BF51 */
    EIM_ESIPA_EIM_PACKAGE_IPA_EUICC_DATA_REQUEST,    /* BF52 */
    EIM_ESIPA_EIM_PACKAGE_DOWNLOAD_TRIGGER_REQUEST,  /* BF54 */
    EIM_ESIPA_EIM_PACKAGE_ERROR,                     /* 02 */
} eim_esipa_eim_package_kind_t;

typedef struct {
    eim_esipa_eim_package_kind_t kind;
    eim_span_t euicc_package_request; /* BF51 TLV, byte-preserved */
    eim_esipa_euicc_data_request_t euicc_data_request;
    eim_esipa_download_trigger_request_t download_trigger_request;
    int64_t error_code; /* EIM_ESIPA_PACKAGE_ERROR_* */
} eim_esipa_get_eim_package_response_t;

eim_err_t eim_esipa_get_eim_package_request_decode(const uint8_t *data, size_t len,
                                                   eim_esipa_get_eim_package_request_t *out,
                                                   eim_der_error_t *error);
eim_err_t eim_esipa_get_eim_package_request_encode(const eim_esipa_get_eim_package_request_t *in,
                                                   eim_buf_t *out);
eim_err_t eim_esipa_get_eim_package_response_decode(const uint8_t *data, size_t len,
                                                    eim_esipa_get_eim_package_response_t *out,
                                                    eim_der_error_t *error);
eim_err_t eim_esipa_get_eim_package_response_encode(const eim_esipa_get_eim_package_response_t *in,
                                                    eim_buf_t *out);

/* Internal codec entry points (see esipa_internal.h). */
eim_err_t eim_esipa_get_eim_package_request_read(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                                 eim_esipa_get_eim_package_request_t *out);
void eim_esipa_get_eim_package_request_write(eim_der_writer_t *w,
                                             const eim_esipa_get_eim_package_request_t *in);
eim_err_t eim_esipa_get_eim_package_response_read(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                                  eim_esipa_get_eim_package_response_t *out);
void eim_esipa_get_eim_package_response_write(eim_der_writer_t *w,
                                              const eim_esipa_get_eim_package_response_t *in);

#endif
