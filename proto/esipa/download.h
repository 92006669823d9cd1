/*
 * The indirect-download relay messages of ESipa, SGP.32 v1.2 §3.2.3.2,
 * §5.14.1-§5.14.3, §5.14.8, §6.3.2.1-§6.3.2.3, §6.3.2.5 and Annex A:
 * InitiateAuthentication (BF39), AuthenticateClient (BF3B),
 * GetBoundProfilePackage (BF3A), CancelSession (BF41).
 *
 * The eIM relays these to ES9+ (SGP.22 §5.6) where every object is the
 * base64 of its complete TLV. So every SGP.22 object is kept here as its
 * complete received TLV (e.g. serverSignature1 = "5F37 40 ...",
 * euiccCiPKIdentifierToBeUsed = "04 14 ..."), re-emitted unchanged, and
 * never re-encoded. Transaction ids, matchingId and addresses are value
 * spans (ES9+ JSON carries them as hex / plain strings).
 */
#ifndef EIM_PROTO_ESIPA_DOWNLOAD_H
#define EIM_PROTO_ESIPA_DOWNLOAD_H

#include "proto/esipa/download_trigger.h"
#include "proto/esipa/esipa_common.h"

#define EIM_ESIPA_EUICC_CHALLENGE_LEN 16
#define EIM_ESIPA_HASH_CC_LEN         32

/* InitiateAuthenticationRequestEsipa: BF39 { 81 euiccChallenge,
 *   [83 smdpAddress], [BF20 euiccInfo1], [82 eimTransactionId] } */
typedef struct {
    eim_span_t euicc_challenge; /* 16 bytes */
    bool has_smdp_address;
    eim_span_t smdp_address;
    bool has_euicc_info1;
    eim_span_t euicc_info1; /* BF20 TLV */
    bool has_eim_transaction_id;
    eim_span_t eim_transaction_id;
} eim_esipa_initiate_authentication_request_t;

typedef enum {
    EIM_ESIPA_DOWNLOAD_OK = 1, /* A0 ...OkEsipa */
    EIM_ESIPA_DOWNLOAD_OK_DS,  /* AuthenticateClient only: A1 OkDSEsipa */
    EIM_ESIPA_DOWNLOAD_ERROR,  /* the error INTEGER */
} eim_esipa_download_response_kind_t;

/* InitiateAuthenticationResponseEsipa: BF39 { A0 { [80 transactionId],
 *   30 serverSigned1, 5F37 serverSignature1, 04 euiccCiPKIdentifierToBeUsed,
 *   30 serverCertificate, [0C matchingId], [A2 ctxParams1] } | 81 error } */
typedef struct {
    eim_esipa_download_response_kind_t kind; /* OK or ERROR */
    bool has_transaction_id;
    eim_span_t transaction_id;
    eim_span_t server_signed1;           /* 30 TLV */
    eim_span_t server_signature1;        /* 5F37 TLV */
    eim_span_t euicc_ci_pkid_to_be_used; /* 04 TLV */
    eim_span_t server_certificate;       /* 30 TLV */
    bool has_matching_id;
    eim_span_t matching_id; /* UTF-8 */
    bool has_ctx_params1;
    eim_span_t ctx_params1; /* the CtxParams1 TLV inside A2 */
    int64_t error_code;
} eim_esipa_initiate_authentication_response_t;

/* AuthenticateClientRequestEsipa: BF3B { 80 transactionId,
 *   BF38 authenticateServerResponse } */
typedef struct {
    eim_span_t transaction_id;
    eim_span_t authenticate_server_response; /* BF38 TLV */
} eim_esipa_authenticate_client_request_t;

/* AuthenticateClientResponseEsipa: BF3B {
 *   A0 { [80 txid], [BF25 profileMetadata], 30 smdpSigned2, 5F37 smdpSignature2,
 *        30 smdpCertificate, [04 hashCc] }
 * | A1 { 80 txid, [BF54 profileDownloadTrigger] } | 82 error } */
typedef struct {
    eim_esipa_download_response_kind_t kind;
    bool has_transaction_id; /* mandatory for OK_DS */
    eim_span_t transaction_id;
    bool has_profile_metadata;
    eim_span_t profile_metadata; /* BF25 TLV */
    eim_span_t smdp_signed2;     /* 30 TLV */
    eim_span_t smdp_signature2;  /* 5F37 TLV */
    eim_span_t smdp_certificate; /* 30 TLV */
    bool has_hash_cc;
    eim_span_t hash_cc;        /* 04 20 TLV */
    bool has_download_trigger; /* OK_DS */
    eim_esipa_download_trigger_request_t download_trigger;
    int64_t error_code;
} eim_esipa_authenticate_client_response_t;

/* GetBoundProfilePackageRequestEsipa: BF3A { 80 txid, BF21 prepareDownloadResponse } */
typedef struct {
    eim_span_t transaction_id;
    eim_span_t prepare_download_response; /* BF21 TLV */
} eim_esipa_get_bound_profile_package_request_t;

/* GetBoundProfilePackageResponseEsipa: BF3A { A0 { [80 txid], BF36 BPP } | 81 error } */
typedef struct {
    eim_esipa_download_response_kind_t kind; /* OK or ERROR */
    bool has_transaction_id;
    eim_span_t transaction_id;
    eim_span_t bound_profile_package; /* BF36 TLV */
    int64_t error_code;
} eim_esipa_get_bound_profile_package_response_t;

/* CancelSessionRequestEsipa: BF41 { 80 txid, A1 { CancelSessionResponse
 * alternative } }. With AUTOMATIC TAGS the [1] replaces the BF41 of the
 * ES10b CancelSessionResponse; eim_esipa_rebuild_tlv(0xBF41,
 * cancel_session_response, ...) gives the SGP.22 object for ES9+. */
typedef struct {
    eim_span_t transaction_id;
    eim_span_t cancel_session_response; /* contents of A1 */
} eim_esipa_cancel_session_request_t;

/* CancelSessionResponseEsipa: BF41 { A0 00 | 81 error } */
typedef struct {
    eim_esipa_download_response_kind_t kind; /* OK or ERROR */
    int64_t error_code;
} eim_esipa_cancel_session_response_t;

/* Public: eim_esipa_<name>_decode(data, len, out, error) and
 * eim_esipa_<name>_encode(in, buf); _read/_write are internal. */
EIM_ESIPA_DECLARE_CODEC(initiate_authentication_request,
                        eim_esipa_initiate_authentication_request_t);
EIM_ESIPA_DECLARE_CODEC(initiate_authentication_response,
                        eim_esipa_initiate_authentication_response_t);
EIM_ESIPA_DECLARE_CODEC(authenticate_client_request, eim_esipa_authenticate_client_request_t);
EIM_ESIPA_DECLARE_CODEC(authenticate_client_response, eim_esipa_authenticate_client_response_t);
EIM_ESIPA_DECLARE_CODEC(get_bound_profile_package_request,
                        eim_esipa_get_bound_profile_package_request_t);
EIM_ESIPA_DECLARE_CODEC(get_bound_profile_package_response,
                        eim_esipa_get_bound_profile_package_response_t);
EIM_ESIPA_DECLARE_CODEC(cancel_session_request, eim_esipa_cancel_session_request_t);
EIM_ESIPA_DECLARE_CODEC(cancel_session_response, eim_esipa_cancel_session_response_t);

#endif
