/*
 * IpaEuiccDataRequest and IpaEuiccDataResponse (BF52), SGP.32 v1.2 §2.11.2,
 * §5.14.5 (sent in GetEimPackageResponse), §5.14.6 (answered in
 * ProvideEimPackageResult) and Annex A.
 *
 *   request  BF52 { 5C tagList, [04 euiccCiPKIdentifierToBeUsed],
 *                   [A1 { 80 seqNumber | 81 NotificationEvent }],
 *                   [A2 { 80 seqNumber }], [83 eimTransactionId] }
 *   response BF52 { A0 { IpaEuiccData members } }
 *          | BF52 { A1 { [80 eimTransactionId] 02 errorCode } }
 *
 * Decoding also accepts the unwrapped forms some IPAs send (members directly
 * in BF52, or wrapped in 30); wire_form says which was seen. Encoding always
 * emits the X.680 AUTOMATIC TAGS form (A0/A1).
 */
#ifndef EIM_PROTO_ESIPA_EUICC_DATA_H
#define EIM_PROTO_ESIPA_EUICC_DATA_H

#include "proto/esipa/esipa_common.h"
#include "proto/esipa/pending_notification.h"

typedef enum {
    EIM_ESIPA_NOTIFICATION_SEARCH_NONE = 0,
    EIM_ESIPA_NOTIFICATION_SEARCH_SEQ_NUMBER,
    EIM_ESIPA_NOTIFICATION_SEARCH_EVENT,
} eim_esipa_notification_search_t;

typedef struct {
    eim_span_t tag_list; /* 5C contents: tags of IpaEuiccData members */
    bool has_euicc_ci_pkid;
    eim_span_t euicc_ci_pkid; /* euiccCiPKIdentifierToBeUsed contents */
    eim_esipa_notification_search_t notification_search;
    int64_t notification_seq_number; /* SEARCH_SEQ_NUMBER */
    uint32_t notification_event;     /* SEARCH_EVENT: EIM_ESIPA_EVENT_* mask */
    bool has_package_result_seq_number;
    int64_t package_result_seq_number;
    bool has_transaction_id;
    eim_span_t transaction_id;
} eim_esipa_euicc_data_request_t;

/* IpaEuiccDataErrorCode values. */
#define EIM_ESIPA_EUICC_DATA_ERROR_INCORRECT_TAG_LIST      1
#define EIM_ESIPA_EUICC_DATA_ERROR_EUICC_CI_PKID_NOT_FOUND 5
#define EIM_ESIPA_EUICC_DATA_ERROR_ECALL_ACTIVE            104
#define EIM_ESIPA_EUICC_DATA_ERROR_UNDEFINED_ERROR         127

/* ipaFeatures / ipaSupportedProtocols named bits (IpaCapabilities). */
#define EIM_ESIPA_IPA_DIRECT_RSP_SERVER_COMMUNICATION   (1u << 0)
#define EIM_ESIPA_IPA_INDIRECT_RSP_SERVER_COMMUNICATION (1u << 1)
#define EIM_ESIPA_IPA_EIM_DOWNLOAD_DATA_HANDLING        (1u << 2)
#define EIM_ESIPA_IPA_EIM_CTX_PARAMS1_GENERATION        (1u << 3)
#define EIM_ESIPA_IPA_EIM_PROFILE_METADATA_VERIFICATION (1u << 4)
#define EIM_ESIPA_IPA_MINIMIZE_ESIPA_BYTES              (1u << 5)
#define EIM_ESIPA_IPA_RETRIEVE_HTTPS                    (1u << 0)
#define EIM_ESIPA_IPA_RETRIEVE_COAPS                    (1u << 1)
#define EIM_ESIPA_IPA_INJECT_HTTPS                      (1u << 2)
#define EIM_ESIPA_IPA_INJECT_COAPS                      (1u << 3)
#define EIM_ESIPA_IPA_PROPRIETARY                       (1u << 4)

typedef enum {
    EIM_ESIPA_EUICC_DATA = 1,   /* ipaEuiccData */
    EIM_ESIPA_EUICC_DATA_ERROR, /* ipaEuiccDataResponseError */
} eim_esipa_euicc_data_kind_t;

typedef enum {
    EIM_ESIPA_FORM_CHOICE_TAGGED = 0, /* A0/A1 automatic CHOICE tag (X.680) */
    EIM_ESIPA_FORM_SEQUENCE,          /* universal 30 instead of A0/A1 */
    EIM_ESIPA_FORM_BARE,              /* members directly inside the outer tag */
} eim_esipa_wire_form_t;

typedef struct {
    eim_esipa_euicc_data_kind_t kind;
    eim_esipa_wire_form_t wire_form; /* decode only */

    /* IpaEuiccData (kind EIM_ESIPA_EUICC_DATA), in declaration order. */
    bool has_notifications;
    eim_esipa_notification_list_t notifications; /* A0 */
    bool has_default_smdp_address;
    eim_span_t default_smdp_address; /* 81 */
    bool has_package_results;
    size_t package_result_count;
    eim_span_t package_results[EIM_ESIPA_MAX_PACKAGE_RESULTS]; /* A2: BF51 TLVs */
    bool has_euicc_info1;
    eim_span_t euicc_info1; /* BF20 TLV (SGP.22 EUICCInfo1) */
    bool has_euicc_info2;
    eim_span_t euicc_info2; /* BF22 TLV (EUICCInfo2) */
    bool has_root_smds_address;
    eim_span_t root_smds_address; /* 83 */
    bool has_association_token;
    int64_t association_token; /* 84 */
    bool has_eum_certificate;
    eim_span_t eum_certificate; /* A5 contents (Certificate without its 30) */
    bool has_euicc_certificate;
    eim_span_t euicc_certificate; /* A6 contents */
    bool has_transaction_id;      /* 87 here, 80 in the error */
    eim_span_t transaction_id;
    bool has_ipa_capabilities;
    eim_span_t ipa_capabilities; /* A8 contents; encoders emit this span */
    uint32_t ipa_features;       /* decoded from ipa_capabilities */
    bool has_ipa_supported_protocols;
    uint32_t ipa_supported_protocols;
    bool has_device_info;
    eim_span_t device_info; /* A9 contents (SGP.22 DeviceInfo) */

    /* IpaEuiccDataResponseError (kind EIM_ESIPA_EUICC_DATA_ERROR);
     * has_transaction_id/transaction_id above carry its eimTransactionId. */
    int64_t error_code;
} eim_esipa_euicc_data_response_t;

/* True when every tag of tag_list names an IpaEuiccData member of v1.2
 * (A0 81 A2 BF20 BF22 83 84 A5 A6 87 A8 A9) and the list is well formed.
 * The request encoder refuses other lists: production IPAs answer
 * incorrectTagList to e.g. 5A or BF2D. */
bool eim_esipa_euicc_data_tag_list_valid(eim_span_t tag_list);

eim_err_t eim_esipa_euicc_data_request_decode(const uint8_t *data, size_t len,
                                              eim_esipa_euicc_data_request_t *out,
                                              eim_der_error_t *error);
eim_err_t eim_esipa_euicc_data_request_encode(const eim_esipa_euicc_data_request_t *in,
                                              eim_buf_t *out);
eim_err_t eim_esipa_euicc_data_response_decode(const uint8_t *data, size_t len,
                                               eim_esipa_euicc_data_response_t *out,
                                               eim_der_error_t *error);
eim_err_t eim_esipa_euicc_data_response_encode(const eim_esipa_euicc_data_response_t *in,
                                               eim_buf_t *out);

/* Internal codec entry points (see esipa_internal.h). */
eim_err_t eim_esipa_euicc_data_request_read(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                            eim_esipa_euicc_data_request_t *out);
void eim_esipa_euicc_data_request_write(eim_der_writer_t *w,
                                        const eim_esipa_euicc_data_request_t *in);
eim_err_t eim_esipa_euicc_data_response_read(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                             eim_esipa_euicc_data_response_t *out);
void eim_esipa_euicc_data_response_write(eim_der_writer_t *w,
                                         const eim_esipa_euicc_data_response_t *in);

#endif
