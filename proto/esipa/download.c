/*
 * ESipa indirect-download relay messages (BF39, BF3B, BF3A, BF41),
 * SGP.32 v1.2 §5.14.1-§5.14.3, §5.14.8, §6.3.2 and Annex A. Every SGP.22
 * object is kept as its received TLV so the ES9+ relay is TLV
 * concatenation/splitting (brief Appendix C), never re-encoding.
 */
#include "proto/esipa/download.h"

#include <string.h>

#include "proto/esipa/esipa_internal.h"

#define TAG_INITIATE_AUTHENTICATION 0xBF39
#define TAG_AUTHENTICATE_CLIENT     0xBF3B
#define TAG_GET_BPP                 0xBF3A
#define TAG_CANCEL_SESSION          0xBF41

/* Reads the next element, which must carry tag, and stores its TLV. */
static eim_err_t read_tlv(eim_der_reader_t *r, uint32_t tag, eim_span_t *tlv)
{
    eim_der_elem_t e;
    eim_err_t rc = eim_der_read_tag(r, tag, &e);
    if (rc == EIM_OK)
        *tlv = e.tlv;
    return rc;
}

static eim_err_t read_optional_txid(eim_der_reader_t *r, uint32_t tag, bool *has, eim_span_t *out)
{
    eim_der_elem_t e;
    bool present;
    eim_err_t rc = eim_der_read_optional(r, tag, &e, &present);
    if (rc == EIM_OK && present) {
        rc = eim_esipa_get_transaction_id(r, &e, out);
        *has = rc == EIM_OK;
    }
    return rc;
}

static eim_err_t read_txid(eim_der_reader_t *r, uint32_t tag, eim_span_t *out)
{
    eim_der_elem_t e;
    eim_err_t rc = eim_der_read_tag(r, tag, &e);
    if (rc == EIM_OK)
        rc = eim_esipa_get_transaction_id(r, &e, out);
    return rc;
}

/* Opens an explicitly tagged CHOICE: enters elem and reads its single
 * alternative. */
static eim_err_t open_choice(eim_der_reader_t *r, const eim_der_elem_t *elem,
                             eim_der_reader_t *choice, eim_der_elem_t *alt)
{
    eim_err_t rc = eim_esipa_enter(r, elem, choice);
    if (rc == EIM_OK)
        rc = eim_esipa_read_single(choice, alt);
    return rc;
}

/* ---- InitiateAuthentication ---- */

eim_err_t
eim_esipa_initiate_authentication_request_read(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                               eim_esipa_initiate_authentication_request_t *out)
{
    eim_der_reader_t seq;
    eim_der_elem_t e;
    bool present;
    memset(out, 0, sizeof(*out));
    eim_err_t rc = eim_esipa_enter(r, elem, &seq);
    if (rc == EIM_OK)
        rc = eim_der_read_tag(&seq, 0x81, &e);
    if (rc == EIM_OK)
        rc = eim_esipa_get_fixed(&seq, &e, EIM_ESIPA_EUICC_CHALLENGE_LEN,
                                 "euiccChallenge must be 16 bytes", &out->euicc_challenge);
    if (rc == EIM_OK)
        rc = eim_der_read_optional(&seq, 0x83, &e, &present);
    if (rc == EIM_OK && present) {
        rc = eim_esipa_get_utf8(&seq, &e, 0, 0, &out->smdp_address);
        out->has_smdp_address = rc == EIM_OK;
    }
    if (rc == EIM_OK)
        rc = eim_der_read_optional(&seq, 0xBF20, &e, &present);
    if (rc == EIM_OK && present) {
        out->has_euicc_info1 = true;
        out->euicc_info1 = e.tlv;
    }
    if (rc == EIM_OK)
        rc = read_optional_txid(&seq, 0x82, &out->has_eim_transaction_id, &out->eim_transaction_id);
    if (rc == EIM_OK)
        rc = eim_esipa_skip_extensions(&seq);
    return rc;
}

void eim_esipa_initiate_authentication_request_write(
    eim_der_writer_t *w, const eim_esipa_initiate_authentication_request_t *in)
{
    eim_der_begin(w, TAG_INITIATE_AUTHENTICATION);
    eim_esipa_put_fixed(w, 0x81, in->euicc_challenge, EIM_ESIPA_EUICC_CHALLENGE_LEN);
    if (in->has_smdp_address)
        eim_esipa_put_utf8(w, 0x83, in->smdp_address, 0, 0);
    if (in->has_euicc_info1)
        eim_esipa_put_tlv(w, 0xBF20, in->euicc_info1);
    if (in->has_eim_transaction_id)
        eim_esipa_put_transaction_id(w, 0x82, in->eim_transaction_id);
    eim_der_end(w);
}

static eim_err_t read_initiate_ok(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                  eim_esipa_initiate_authentication_response_t *out)
{
    eim_der_reader_t seq, ctx;
    eim_der_elem_t e, c;
    bool present;
    eim_err_t rc = eim_esipa_enter(r, elem, &seq);
    if (rc == EIM_OK)
        rc = read_optional_txid(&seq, 0x80, &out->has_transaction_id, &out->transaction_id);
    if (rc == EIM_OK)
        rc = read_tlv(&seq, 0x30, &out->server_signed1);
    if (rc == EIM_OK)
        rc = read_tlv(&seq, 0x5F37, &out->server_signature1);
    if (rc == EIM_OK)
        rc = read_tlv(&seq, 0x04, &out->euicc_ci_pkid_to_be_used);
    if (rc == EIM_OK)
        rc = read_tlv(&seq, 0x30, &out->server_certificate);
    if (rc == EIM_OK)
        rc = eim_der_read_optional(&seq, 0x0C, &e, &present);
    if (rc == EIM_OK && present) {
        rc = eim_esipa_get_utf8(&seq, &e, 0, 0, &out->matching_id);
        out->has_matching_id = rc == EIM_OK;
    }
    if (rc == EIM_OK)
        rc = eim_der_read_optional(&seq, 0xA2, &e, &present);
    if (rc == EIM_OK && present) {
        rc = open_choice(&seq, &e, &ctx, &c);
        if (rc == EIM_OK) {
            out->has_ctx_params1 = true;
            out->ctx_params1 = c.tlv;
        }
    }
    if (rc == EIM_OK)
        rc = eim_esipa_skip_extensions(&seq);
    return rc;
}

eim_err_t
eim_esipa_initiate_authentication_response_read(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                                eim_esipa_initiate_authentication_response_t *out)
{
    eim_der_reader_t choice;
    eim_der_elem_t e;
    memset(out, 0, sizeof(*out));
    eim_err_t rc = open_choice(r, elem, &choice, &e);
    if (rc != EIM_OK)
        return rc;
    if (e.tag == 0xA0) {
        out->kind = EIM_ESIPA_DOWNLOAD_OK;
        return read_initiate_ok(&choice, &e, out);
    }
    if (e.tag == 0x81) {
        out->kind = EIM_ESIPA_DOWNLOAD_ERROR;
        return eim_esipa_get_int(&choice, &e, &out->error_code);
    }
    return eim_der_fail(&choice, &e, EIM_ERR_UNSUPPORTED,
                        "unknown InitiateAuthenticationResponseEsipa alternative");
}

void eim_esipa_initiate_authentication_response_write(
    eim_der_writer_t *w, const eim_esipa_initiate_authentication_response_t *in)
{
    eim_der_begin(w, TAG_INITIATE_AUTHENTICATION);
    if (in->kind == EIM_ESIPA_DOWNLOAD_OK) {
        eim_der_begin(w, 0xA0);
        if (in->has_transaction_id)
            eim_esipa_put_transaction_id(w, 0x80, in->transaction_id);
        eim_esipa_put_tlv(w, 0x30, in->server_signed1);
        eim_esipa_put_tlv(w, 0x5F37, in->server_signature1);
        eim_esipa_put_tlv(w, 0x04, in->euicc_ci_pkid_to_be_used);
        eim_esipa_put_tlv(w, 0x30, in->server_certificate);
        if (in->has_matching_id)
            eim_esipa_put_utf8(w, 0x0C, in->matching_id, 0, 0);
        if (in->has_ctx_params1) {
            eim_der_begin(w, 0xA2);
            eim_esipa_put_tlv(w, 0, in->ctx_params1);
            eim_der_end(w);
        }
        eim_der_end(w);
    } else if (in->kind == EIM_ESIPA_DOWNLOAD_ERROR) {
        eim_der_put_int(w, 0x81, in->error_code);
    } else {
        eim_esipa_writer_fail(w);
    }
    eim_der_end(w);
}

/* ---- AuthenticateClient ---- */

eim_err_t eim_esipa_authenticate_client_request_read(eim_der_reader_t *r,
                                                     const eim_der_elem_t *elem,
                                                     eim_esipa_authenticate_client_request_t *out)
{
    eim_der_reader_t seq;
    memset(out, 0, sizeof(*out));
    eim_err_t rc = eim_esipa_enter(r, elem, &seq);
    if (rc == EIM_OK)
        rc = read_txid(&seq, 0x80, &out->transaction_id);
    if (rc == EIM_OK)
        rc = read_tlv(&seq, 0xBF38, &out->authenticate_server_response);
    if (rc == EIM_OK)
        rc = eim_esipa_skip_extensions(&seq);
    return rc;
}

void eim_esipa_authenticate_client_request_write(eim_der_writer_t *w,
                                                 const eim_esipa_authenticate_client_request_t *in)
{
    eim_der_begin(w, TAG_AUTHENTICATE_CLIENT);
    eim_esipa_put_transaction_id(w, 0x80, in->transaction_id);
    eim_esipa_put_tlv(w, 0xBF38, in->authenticate_server_response);
    eim_der_end(w);
}

static eim_err_t read_authenticate_ok_dp(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                         eim_esipa_authenticate_client_response_t *out)
{
    eim_der_reader_t seq;
    eim_der_elem_t e = {0};
    bool present = false;
    eim_err_t rc = eim_esipa_enter(r, elem, &seq);
    if (rc == EIM_OK)
        rc = read_optional_txid(&seq, 0x80, &out->has_transaction_id, &out->transaction_id);
    if (rc == EIM_OK)
        rc = eim_der_read_optional(&seq, 0xBF25, &e, &present);
    if (rc == EIM_OK && present) {
        out->has_profile_metadata = true;
        out->profile_metadata = e.tlv;
    }
    if (rc == EIM_OK)
        rc = read_tlv(&seq, 0x30, &out->smdp_signed2);
    if (rc == EIM_OK)
        rc = read_tlv(&seq, 0x5F37, &out->smdp_signature2);
    if (rc == EIM_OK)
        rc = read_tlv(&seq, 0x30, &out->smdp_certificate);
    if (rc == EIM_OK)
        rc = eim_der_read_optional(&seq, 0x04, &e, &present);
    if (rc == EIM_OK && present) {
        eim_span_t value;
        rc =
            eim_esipa_get_fixed(&seq, &e, EIM_ESIPA_HASH_CC_LEN, "hashCc must be 32 bytes", &value);
        out->has_hash_cc = rc == EIM_OK;
        out->hash_cc = e.tlv;
    }
    if (rc == EIM_OK)
        rc = eim_esipa_skip_extensions(&seq);
    return rc;
}

static eim_err_t read_authenticate_ok_ds(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                         eim_esipa_authenticate_client_response_t *out)
{
    eim_der_reader_t seq;
    eim_der_elem_t e;
    bool present;
    eim_err_t rc = eim_esipa_enter(r, elem, &seq);
    if (rc == EIM_OK)
        rc = read_txid(&seq, 0x80, &out->transaction_id);
    out->has_transaction_id = rc == EIM_OK;
    if (rc == EIM_OK)
        rc = eim_der_read_optional(&seq, 0xBF54, &e, &present);
    if (rc == EIM_OK && present) {
        rc = eim_esipa_download_trigger_request_read(&seq, &e, &out->download_trigger);
        out->has_download_trigger = rc == EIM_OK;
    }
    if (rc == EIM_OK)
        rc = eim_esipa_skip_extensions(&seq);
    return rc;
}

eim_err_t eim_esipa_authenticate_client_response_read(eim_der_reader_t *r,
                                                      const eim_der_elem_t *elem,
                                                      eim_esipa_authenticate_client_response_t *out)
{
    eim_der_reader_t choice;
    eim_der_elem_t e;
    memset(out, 0, sizeof(*out));
    eim_err_t rc = open_choice(r, elem, &choice, &e);
    if (rc != EIM_OK)
        return rc;
    switch (e.tag) {
    case 0xA0: out->kind = EIM_ESIPA_DOWNLOAD_OK; return read_authenticate_ok_dp(&choice, &e, out);
    case 0xA1:
        out->kind = EIM_ESIPA_DOWNLOAD_OK_DS;
        return read_authenticate_ok_ds(&choice, &e, out);
    case 0x82:
        out->kind = EIM_ESIPA_DOWNLOAD_ERROR;
        return eim_esipa_get_int(&choice, &e, &out->error_code);
    default:
        return eim_der_fail(&choice, &e, EIM_ERR_UNSUPPORTED,
                            "unknown AuthenticateClientResponseEsipa alternative");
    }
}

void eim_esipa_authenticate_client_response_write(
    eim_der_writer_t *w, const eim_esipa_authenticate_client_response_t *in)
{
    eim_der_begin(w, TAG_AUTHENTICATE_CLIENT);
    switch (in->kind) {
    case EIM_ESIPA_DOWNLOAD_OK:
        eim_der_begin(w, 0xA0);
        if (in->has_transaction_id)
            eim_esipa_put_transaction_id(w, 0x80, in->transaction_id);
        if (in->has_profile_metadata)
            eim_esipa_put_tlv(w, 0xBF25, in->profile_metadata);
        eim_esipa_put_tlv(w, 0x30, in->smdp_signed2);
        eim_esipa_put_tlv(w, 0x5F37, in->smdp_signature2);
        eim_esipa_put_tlv(w, 0x30, in->smdp_certificate);
        if (in->has_hash_cc) {
            if (in->hash_cc.len != 2 + EIM_ESIPA_HASH_CC_LEN)
                eim_esipa_writer_fail(w);
            else
                eim_esipa_put_tlv(w, 0x04, in->hash_cc);
        }
        eim_der_end(w);
        break;
    case EIM_ESIPA_DOWNLOAD_OK_DS:
        eim_der_begin(w, 0xA1);
        eim_esipa_put_transaction_id(w, 0x80, in->transaction_id);
        if (in->has_download_trigger)
            eim_esipa_download_trigger_request_write(w, &in->download_trigger);
        eim_der_end(w);
        break;
    case EIM_ESIPA_DOWNLOAD_ERROR: eim_der_put_int(w, 0x82, in->error_code); break;
    default: eim_esipa_writer_fail(w); break;
    }
    eim_der_end(w);
}

/* ---- GetBoundProfilePackage ---- */

eim_err_t
eim_esipa_get_bound_profile_package_request_read(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                                 eim_esipa_get_bound_profile_package_request_t *out)
{
    eim_der_reader_t seq;
    memset(out, 0, sizeof(*out));
    eim_err_t rc = eim_esipa_enter(r, elem, &seq);
    if (rc == EIM_OK)
        rc = read_txid(&seq, 0x80, &out->transaction_id);
    if (rc == EIM_OK)
        rc = read_tlv(&seq, 0xBF21, &out->prepare_download_response);
    if (rc == EIM_OK)
        rc = eim_esipa_skip_extensions(&seq);
    return rc;
}

void eim_esipa_get_bound_profile_package_request_write(
    eim_der_writer_t *w, const eim_esipa_get_bound_profile_package_request_t *in)
{
    eim_der_begin(w, TAG_GET_BPP);
    eim_esipa_put_transaction_id(w, 0x80, in->transaction_id);
    eim_esipa_put_tlv(w, 0xBF21, in->prepare_download_response);
    eim_der_end(w);
}

eim_err_t eim_esipa_get_bound_profile_package_response_read(
    eim_der_reader_t *r, const eim_der_elem_t *elem,
    eim_esipa_get_bound_profile_package_response_t *out)
{
    eim_der_reader_t choice, seq;
    eim_der_elem_t e;
    memset(out, 0, sizeof(*out));
    eim_err_t rc = open_choice(r, elem, &choice, &e);
    if (rc != EIM_OK)
        return rc;
    if (e.tag == 0xA0) {
        out->kind = EIM_ESIPA_DOWNLOAD_OK;
        rc = eim_esipa_enter(&choice, &e, &seq);
        if (rc == EIM_OK)
            rc = read_optional_txid(&seq, 0x80, &out->has_transaction_id, &out->transaction_id);
        if (rc == EIM_OK)
            rc = read_tlv(&seq, 0xBF36, &out->bound_profile_package);
        if (rc == EIM_OK)
            rc = eim_esipa_skip_extensions(&seq);
        return rc;
    }
    if (e.tag == 0x81) {
        out->kind = EIM_ESIPA_DOWNLOAD_ERROR;
        return eim_esipa_get_int(&choice, &e, &out->error_code);
    }
    return eim_der_fail(&choice, &e, EIM_ERR_UNSUPPORTED,
                        "unknown GetBoundProfilePackageResponseEsipa alternative");
}

void eim_esipa_get_bound_profile_package_response_write(
    eim_der_writer_t *w, const eim_esipa_get_bound_profile_package_response_t *in)
{
    eim_der_begin(w, TAG_GET_BPP);
    if (in->kind == EIM_ESIPA_DOWNLOAD_OK) {
        eim_der_begin(w, 0xA0);
        if (in->has_transaction_id)
            eim_esipa_put_transaction_id(w, 0x80, in->transaction_id);
        eim_esipa_put_tlv(w, 0xBF36, in->bound_profile_package);
        eim_der_end(w);
    } else if (in->kind == EIM_ESIPA_DOWNLOAD_ERROR) {
        eim_der_put_int(w, 0x81, in->error_code);
    } else {
        eim_esipa_writer_fail(w);
    }
    eim_der_end(w);
}

/* ---- CancelSession ---- */

eim_err_t eim_esipa_cancel_session_request_read(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                                eim_esipa_cancel_session_request_t *out)
{
    eim_der_reader_t seq, inner;
    eim_der_elem_t e, alt;
    memset(out, 0, sizeof(*out));
    eim_err_t rc = eim_esipa_enter(r, elem, &seq);
    if (rc == EIM_OK)
        rc = read_txid(&seq, 0x80, &out->transaction_id);
    if (rc == EIM_OK)
        rc = eim_der_read_tag(&seq, 0xA1, &e);
    /* The contents must be exactly one CancelSessionResponse alternative. */
    if (rc == EIM_OK)
        rc = open_choice(&seq, &e, &inner, &alt);
    if (rc == EIM_OK) {
        out->cancel_session_response = e.value;
        rc = eim_esipa_skip_extensions(&seq);
    }
    return rc;
}

void eim_esipa_cancel_session_request_write(eim_der_writer_t *w,
                                            const eim_esipa_cancel_session_request_t *in)
{
    eim_der_begin(w, TAG_CANCEL_SESSION);
    eim_esipa_put_transaction_id(w, 0x80, in->transaction_id);
    eim_der_begin(w, 0xA1);
    eim_esipa_put_tlv(w, 0, in->cancel_session_response);
    eim_der_end(w);
    eim_der_end(w);
}

eim_err_t eim_esipa_cancel_session_response_read(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                                 eim_esipa_cancel_session_response_t *out)
{
    eim_der_reader_t choice, ok;
    eim_der_elem_t e;
    memset(out, 0, sizeof(*out));
    eim_err_t rc = open_choice(r, elem, &choice, &e);
    if (rc != EIM_OK)
        return rc;
    if (e.tag == 0xA0) {
        out->kind = EIM_ESIPA_DOWNLOAD_OK;
        rc = eim_esipa_enter(&choice, &e, &ok);
        if (rc == EIM_OK)
            rc = eim_esipa_skip_extensions(&ok);
        return rc;
    }
    if (e.tag == 0x81) {
        out->kind = EIM_ESIPA_DOWNLOAD_ERROR;
        return eim_esipa_get_int(&choice, &e, &out->error_code);
    }
    return eim_der_fail(&choice, &e, EIM_ERR_UNSUPPORTED,
                        "unknown CancelSessionResponseEsipa alternative");
}

void eim_esipa_cancel_session_response_write(eim_der_writer_t *w,
                                             const eim_esipa_cancel_session_response_t *in)
{
    eim_der_begin(w, TAG_CANCEL_SESSION);
    if (in->kind == EIM_ESIPA_DOWNLOAD_OK) {
        eim_der_begin(w, 0xA0);
        eim_der_end(w);
    } else if (in->kind == EIM_ESIPA_DOWNLOAD_ERROR) {
        eim_der_put_int(w, 0x81, in->error_code);
    } else {
        eim_esipa_writer_fail(w);
    }
    eim_der_end(w);
}

EIM_ESIPA_DEFINE_CODEC(initiate_authentication_request, eim_esipa_initiate_authentication_request_t,
                       TAG_INITIATE_AUTHENTICATION)
EIM_ESIPA_DEFINE_CODEC(initiate_authentication_response,
                       eim_esipa_initiate_authentication_response_t, TAG_INITIATE_AUTHENTICATION)
EIM_ESIPA_DEFINE_CODEC(authenticate_client_request, eim_esipa_authenticate_client_request_t,
                       TAG_AUTHENTICATE_CLIENT)
EIM_ESIPA_DEFINE_CODEC(authenticate_client_response, eim_esipa_authenticate_client_response_t,
                       TAG_AUTHENTICATE_CLIENT)
EIM_ESIPA_DEFINE_CODEC(get_bound_profile_package_request,
                       eim_esipa_get_bound_profile_package_request_t, TAG_GET_BPP)
EIM_ESIPA_DEFINE_CODEC(get_bound_profile_package_response,
                       eim_esipa_get_bound_profile_package_response_t, TAG_GET_BPP)
EIM_ESIPA_DEFINE_CODEC(cancel_session_request, eim_esipa_cancel_session_request_t,
                       TAG_CANCEL_SESSION)
EIM_ESIPA_DEFINE_CODEC(cancel_session_response, eim_esipa_cancel_session_response_t,
                       TAG_CANCEL_SESSION)
