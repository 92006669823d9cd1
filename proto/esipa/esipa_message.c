/*
 * ESipa envelope dispatch: EsipaMessageFromIpaToEim / EsipaMessageFromEimToIpa,
 * SGP.32 v1.2 §6.1.1 (HTTPS + ASN.1 binding: the body is one message),
 * §6.3.2/§6.3.3 and Annex A. The CHOICE alternatives are [57] BF39, [58]
 * BF3A, [59] BF3B, [61] BF3D, [65] BF41, [78] BF4E, [79] BF4F, [80] BF50.
 */
#include "proto/esipa/esipa_message.h"

#include <stddef.h>
#include <string.h>

#include "proto/esipa/esipa_internal.h"

eim_err_t eim_esipa_ipa_to_eim_decode(const uint8_t *data, size_t len, eim_esipa_ipa_to_eim_t *out,
                                      eim_der_error_t *error)
{
    eim_der_reader_t top;
    eim_der_elem_t e = {0};
    if (out == NULL)
        return EIM_ERR_INVALID_ARG;
    /* not the whole ~20 KiB union on every poll: the reader of the
     * selected member zeroes that member */
    memset(out, 0, offsetof(eim_esipa_ipa_to_eim_t, initiate_authentication));
    if (error != NULL)
        *error = (eim_der_error_t){0, 0, NULL};
    if (data == NULL && len > 0)
        return EIM_ERR_INVALID_ARG;
    eim_der_reader_init(&top, data, len, error);
    eim_err_t rc = eim_der_read(&top, &e);
    if (rc != EIM_OK)
        return rc;
    out->function = (eim_esipa_function_t)e.tag;
    switch (e.tag) {
    case EIM_ESIPA_INITIATE_AUTHENTICATION:
        rc =
            eim_esipa_initiate_authentication_request_read(&top, &e, &out->initiate_authentication);
        break;
    case EIM_ESIPA_AUTHENTICATE_CLIENT:
        rc = eim_esipa_authenticate_client_request_read(&top, &e, &out->authenticate_client);
        break;
    case EIM_ESIPA_GET_BOUND_PROFILE_PACKAGE:
        rc = eim_esipa_get_bound_profile_package_request_read(&top, &e,
                                                              &out->get_bound_profile_package);
        break;
    case EIM_ESIPA_CANCEL_SESSION:
        rc = eim_esipa_cancel_session_request_read(&top, &e, &out->cancel_session);
        break;
    case EIM_ESIPA_HANDLE_NOTIFICATION:
        rc = eim_esipa_handle_notification_read(&top, &e, &out->handle_notification);
        break;
    case EIM_ESIPA_TRANSFER_EIM_PACKAGE:
        rc = eim_esipa_transfer_eim_package_response_read(&top, &e, &out->transfer_eim_package);
        break;
    case EIM_ESIPA_GET_EIM_PACKAGE:
        rc = eim_esipa_get_eim_package_request_read(&top, &e, &out->get_eim_package);
        break;
    case EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT:
        rc = eim_esipa_provide_eim_package_result_read(&top, &e, &out->provide_eim_package_result);
        break;
    default: return eim_der_fail(&top, &e, EIM_ERR_UNSUPPORTED, "unknown EsipaMessageFromIpaToEim");
    }
    return eim_esipa_decode_end(&top, rc);
}

eim_err_t eim_esipa_ipa_to_eim_encode(const eim_esipa_ipa_to_eim_t *in, eim_buf_t *out)
{
    eim_der_writer_t w;
    if (in == NULL || out == NULL)
        return EIM_ERR_INVALID_ARG;
    eim_der_writer_init(&w, out);
    switch (in->function) {
    case EIM_ESIPA_INITIATE_AUTHENTICATION:
        eim_esipa_initiate_authentication_request_write(&w, &in->initiate_authentication);
        break;
    case EIM_ESIPA_AUTHENTICATE_CLIENT:
        eim_esipa_authenticate_client_request_write(&w, &in->authenticate_client);
        break;
    case EIM_ESIPA_GET_BOUND_PROFILE_PACKAGE:
        eim_esipa_get_bound_profile_package_request_write(&w, &in->get_bound_profile_package);
        break;
    case EIM_ESIPA_CANCEL_SESSION:
        eim_esipa_cancel_session_request_write(&w, &in->cancel_session);
        break;
    case EIM_ESIPA_HANDLE_NOTIFICATION:
        eim_esipa_handle_notification_write(&w, &in->handle_notification);
        break;
    case EIM_ESIPA_TRANSFER_EIM_PACKAGE:
        eim_esipa_transfer_eim_package_response_write(&w, &in->transfer_eim_package);
        break;
    case EIM_ESIPA_GET_EIM_PACKAGE:
        eim_esipa_get_eim_package_request_write(&w, &in->get_eim_package);
        break;
    case EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT:
        eim_esipa_provide_eim_package_result_write(&w, &in->provide_eim_package_result);
        break;
    default: return EIM_ERR_INVALID_ARG;
    }
    return eim_der_writer_finish(&w);
}

eim_err_t eim_esipa_eim_to_ipa_decode(const uint8_t *data, size_t len, eim_esipa_eim_to_ipa_t *out,
                                      eim_der_error_t *error)
{
    eim_der_reader_t top;
    eim_der_elem_t e = {0};
    if (out == NULL)
        return EIM_ERR_INVALID_ARG;
    /* not the whole ~20 KiB union on every poll: the reader of the
     * selected member zeroes that member */
    memset(out, 0, offsetof(eim_esipa_ipa_to_eim_t, initiate_authentication));
    if (error != NULL)
        *error = (eim_der_error_t){0, 0, NULL};
    if (data == NULL && len > 0)
        return EIM_ERR_INVALID_ARG;
    eim_der_reader_init(&top, data, len, error);
    eim_err_t rc = eim_der_read(&top, &e);
    if (rc != EIM_OK)
        return rc;
    out->function = (eim_esipa_function_t)e.tag;
    switch (e.tag) {
    case EIM_ESIPA_INITIATE_AUTHENTICATION:
        rc = eim_esipa_initiate_authentication_response_read(&top, &e,
                                                             &out->initiate_authentication);
        break;
    case EIM_ESIPA_AUTHENTICATE_CLIENT:
        rc = eim_esipa_authenticate_client_response_read(&top, &e, &out->authenticate_client);
        break;
    case EIM_ESIPA_GET_BOUND_PROFILE_PACKAGE:
        rc = eim_esipa_get_bound_profile_package_response_read(&top, &e,
                                                               &out->get_bound_profile_package);
        break;
    case EIM_ESIPA_CANCEL_SESSION:
        rc = eim_esipa_cancel_session_response_read(&top, &e, &out->cancel_session);
        break;
    case EIM_ESIPA_TRANSFER_EIM_PACKAGE:
        rc = eim_esipa_transfer_eim_package_request_read(&top, &e, &out->transfer_eim_package);
        break;
    case EIM_ESIPA_GET_EIM_PACKAGE:
        rc = eim_esipa_get_eim_package_response_read(&top, &e, &out->get_eim_package);
        break;
    case EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT:
        rc = eim_esipa_provide_eim_package_result_response_read(&top, &e,
                                                                &out->provide_eim_package_result);
        break;
    default: return eim_der_fail(&top, &e, EIM_ERR_UNSUPPORTED, "unknown EsipaMessageFromEimToIpa");
    }
    return eim_esipa_decode_end(&top, rc);
}

eim_err_t eim_esipa_eim_to_ipa_encode(const eim_esipa_eim_to_ipa_t *in, eim_buf_t *out)
{
    eim_der_writer_t w;
    if (in == NULL || out == NULL)
        return EIM_ERR_INVALID_ARG;
    eim_der_writer_init(&w, out);
    switch (in->function) {
    case EIM_ESIPA_INITIATE_AUTHENTICATION:
        eim_esipa_initiate_authentication_response_write(&w, &in->initiate_authentication);
        break;
    case EIM_ESIPA_AUTHENTICATE_CLIENT:
        eim_esipa_authenticate_client_response_write(&w, &in->authenticate_client);
        break;
    case EIM_ESIPA_GET_BOUND_PROFILE_PACKAGE:
        eim_esipa_get_bound_profile_package_response_write(&w, &in->get_bound_profile_package);
        break;
    case EIM_ESIPA_CANCEL_SESSION:
        eim_esipa_cancel_session_response_write(&w, &in->cancel_session);
        break;
    case EIM_ESIPA_TRANSFER_EIM_PACKAGE:
        eim_esipa_transfer_eim_package_request_write(&w, &in->transfer_eim_package);
        break;
    case EIM_ESIPA_GET_EIM_PACKAGE:
        eim_esipa_get_eim_package_response_write(&w, &in->get_eim_package);
        break;
    case EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT:
        eim_esipa_provide_eim_package_result_response_write(&w, &in->provide_eim_package_result);
        break;
    case EIM_ESIPA_HANDLE_NOTIFICATION:
    default: return EIM_ERR_INVALID_ARG;
    }
    return eim_der_writer_finish(&w);
}
