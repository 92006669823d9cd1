/*
 * ProfileDownloadTriggerRequest and ProfileDownloadTriggerResult (BF54),
 * SGP.32 v1.2 §2.11.1.3, §3.2.3 (direct and indirect profile download),
 * §5.14.5/§5.14.6 (carried by GetEimPackage, ProvideEimPackageResult and
 * HandleNotification).
 *
 * Wire shapes:
 *   request  BF54 { [A0 { 80 activationCode | 81 00 | A2 { [80 smdsAddress] } }]
 *                   [82 eimTransactionId] }
 *   result   BF54 { [82 eimTransactionId],
 *                   BF37 PIR | 30 { 80 reason, [04 errorResponse] } }
 */
#ifndef EIM_PROTO_ESIPA_DOWNLOAD_TRIGGER_H
#define EIM_PROTO_ESIPA_DOWNLOAD_TRIGGER_H

#include "proto/esipa/esipa_common.h"
#include "proto/esipa/pending_notification.h"

typedef enum {
    EIM_ESIPA_DOWNLOAD_DATA_NONE = 0, /* empty trigger (eimDownloadDataHandling) */
    EIM_ESIPA_DOWNLOAD_DATA_ACTIVATION_CODE,
    EIM_ESIPA_DOWNLOAD_DATA_CONTACT_DEFAULT_SMDP,
    EIM_ESIPA_DOWNLOAD_DATA_CONTACT_SMDS,
} eim_esipa_download_data_kind_t;

typedef struct {
    eim_esipa_download_data_kind_t data_kind;
    eim_span_t activation_code; /* ACTIVATION_CODE: UTF-8, 0..255 characters */
    bool has_smds_address;      /* CONTACT_SMDS */
    eim_span_t smds_address;
    bool has_transaction_id;
    eim_span_t transaction_id; /* eimTransactionId, 1..16 bytes */
} eim_esipa_download_trigger_request_t;

/* profileDownloadErrorReason values. */
#define EIM_ESIPA_DOWNLOAD_ERROR_ECALL_ACTIVE    104
#define EIM_ESIPA_DOWNLOAD_ERROR_UNDEFINED_ERROR 127

typedef enum {
    EIM_ESIPA_DOWNLOAD_RESULT_PIR = 1, /* profileInstallationResult BF37 */
    EIM_ESIPA_DOWNLOAD_RESULT_ERROR,   /* profileDownloadError */
} eim_esipa_download_result_kind_t;

typedef struct {
    bool has_transaction_id;
    eim_span_t transaction_id;
    eim_esipa_download_result_kind_t kind;
    eim_esipa_notification_t pir; /* PIR: kind EIM_ESIPA_NOTIFICATION_PIR */
    int64_t error_reason;         /* ERROR */
    bool has_error_response;
    eim_span_t error_response; /* ERROR: OCTET STRING contents */
} eim_esipa_download_trigger_result_t;

eim_err_t eim_esipa_download_trigger_request_decode(const uint8_t *data, size_t len,
                                                    eim_esipa_download_trigger_request_t *out,
                                                    eim_der_error_t *error);
eim_err_t eim_esipa_download_trigger_request_encode(const eim_esipa_download_trigger_request_t *in,
                                                    eim_buf_t *out);
eim_err_t eim_esipa_download_trigger_result_decode(const uint8_t *data, size_t len,
                                                   eim_esipa_download_trigger_result_t *out,
                                                   eim_der_error_t *error);
eim_err_t eim_esipa_download_trigger_result_encode(const eim_esipa_download_trigger_result_t *in,
                                                   eim_buf_t *out);

/* Internal codec entry points (see esipa_internal.h). */
eim_err_t eim_esipa_download_trigger_request_read(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                                  eim_esipa_download_trigger_request_t *out);
void eim_esipa_download_trigger_request_write(eim_der_writer_t *w,
                                              const eim_esipa_download_trigger_request_t *in);
eim_err_t eim_esipa_download_trigger_result_read(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                                 eim_esipa_download_trigger_result_t *out);
void eim_esipa_download_trigger_result_write(eim_der_writer_t *w,
                                             const eim_esipa_download_trigger_result_t *in);

#endif
