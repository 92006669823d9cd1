/*
 * The ESipa envelopes EsipaMessageFromIpaToEim and EsipaMessageFromEimToIpa
 * (SGP.32 v1.2 §6.1.1, §6.3 and Annex A): untagged CHOICEs whose
 * alternatives carry their own tags, so an HTTP/CoAP body is exactly one
 * alternative's TLV. The decoders identify the function from the tag and
 * decode its message; the encoders write the selected message.
 *
 * These structures are large (fixed-capacity lists, ~20 KiB): allocate them
 * on the heap or in a request arena rather than on small stacks.
 */
#ifndef EIM_PROTO_ESIPA_ESIPA_MESSAGE_H
#define EIM_PROTO_ESIPA_ESIPA_MESSAGE_H

#include "proto/esipa/download.h"
#include "proto/esipa/esipa_common.h"
#include "proto/esipa/get_eim_package.h"
#include "proto/esipa/notification.h"
#include "proto/esipa/provide_result.h"
#include "proto/esipa/transfer.h"

/* EsipaMessageFromIpaToEim: function selects the member of the union. */
typedef struct {
    eim_esipa_function_t function;
    union {
        eim_esipa_initiate_authentication_request_t initiate_authentication;
        eim_esipa_authenticate_client_request_t authenticate_client;
        eim_esipa_get_bound_profile_package_request_t get_bound_profile_package;
        eim_esipa_cancel_session_request_t cancel_session;
        eim_esipa_handle_notification_t handle_notification;
        eim_esipa_transfer_eim_package_response_t transfer_eim_package;
        eim_esipa_get_eim_package_request_t get_eim_package;
        eim_esipa_provide_eim_package_result_t provide_eim_package_result;
    };
} eim_esipa_ipa_to_eim_t;

/* EsipaMessageFromEimToIpa (no HandleNotification: it has no response). */
typedef struct {
    eim_esipa_function_t function;
    union {
        eim_esipa_initiate_authentication_response_t initiate_authentication;
        eim_esipa_authenticate_client_response_t authenticate_client;
        eim_esipa_get_bound_profile_package_response_t get_bound_profile_package;
        eim_esipa_cancel_session_response_t cancel_session;
        eim_esipa_transfer_eim_package_request_t transfer_eim_package;
        eim_esipa_get_eim_package_response_t get_eim_package;
        eim_esipa_provide_eim_package_result_response_t provide_eim_package_result;
    };
} eim_esipa_eim_to_ipa_t;

/* Decodes one complete request body. Spans in *out point into data.
 * An unknown top-level tag fails with EIM_ERR_UNSUPPORTED. */
eim_err_t eim_esipa_ipa_to_eim_decode(const uint8_t *data, size_t len, eim_esipa_ipa_to_eim_t *out,
                                      eim_der_error_t *error);
/* Appends the DER encoding of in to out. */
eim_err_t eim_esipa_ipa_to_eim_encode(const eim_esipa_ipa_to_eim_t *in, eim_buf_t *out);

eim_err_t eim_esipa_eim_to_ipa_decode(const uint8_t *data, size_t len, eim_esipa_eim_to_ipa_t *out,
                                      eim_der_error_t *error);
eim_err_t eim_esipa_eim_to_ipa_encode(const eim_esipa_eim_to_ipa_t *in, eim_buf_t *out);

#endif
