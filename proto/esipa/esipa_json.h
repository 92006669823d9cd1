/*
 * The ESipa JSON binding (SGP.32 v1.2 §6.4; brief §4.2): one HTTP path per
 * function, /gsma/rsp2/esipa/<function>, whose body is a JSON object. It is
 * converted to and from the same structures as the ASN.1 binding
 * (esipa_message.h), so the rest of eimd does not care which binding a
 * device used.
 *
 * Value conventions: ASN.1 data objects (SGP.22 objects, BF51/BF52/BF54/BF50
 * TLVs, CHOICE alternatives) are base64 of their complete DER TLV;
 * transactionId / eimTransactionId / rPLMN are hex (emitted upper-case,
 * accepted in either case); eidValue is exactly 32 hex digits; euiccChallenge
 * is base64 of the raw 16 bytes; addresses, matchingId and activation codes
 * are JSON strings; INTEGERs are JSON integers; NULL flags
 * (notifyStateChange, eimPackageReceived) are JSON booleans; the eIM
 * acknowledgements are an array of integers. CHOICE alternatives of a
 * response are told apart by their field names (the ASN.1 names, e.g.
 * "initiateAuthenticationErrorEsipa"). Messages that travel as HTTP
 * responses carry header.functionExecutionStatus; docs/interpretation-log.md
 * lists every reading.
 *
 * Direction follows the ASN.1 envelopes, not the HTTP roles: "request" is
 * EsipaMessageFromIpaToEim, "response" is EsipaMessageFromEimToIpa. For
 * TransferEimPackage (inject mode) the eIM POSTs the eIM->IPA message and
 * the IPA answers with the IPA->eIM one, which therefore carries the header.
 * HandleNotification has no response message (HTTP 204).
 *
 * Conversion goes through DER: JSON -> DER of the ASN.1 message -> the
 * ASN.1 decoder, and struct -> ASN.1 encoder -> DER -> JSON. All ASN.1
 * constraints are therefore checked identically in both bindings.
 *
 * Ownership: decoded structures hold spans (esipa_common.h). The decoders
 * write the DER they build into a caller-owned eim_esipa_json_scratch_t and
 * every span of the decoded structure points into it. The structure is
 * valid until the scratch is reused for another decode or freed; the
 * caller owns the scratch (one per request, freed at request end). The JSON
 * text may be freed as soon as the decoder returns.
 */
#ifndef EIM_PROTO_ESIPA_ESIPA_JSON_H
#define EIM_PROTO_ESIPA_ESIPA_JSON_H

#include "proto/esipa/esipa_message.h"

/* Largest JSON body accepted or produced (a bound-profile package of a few
 * hundred KiB base64 fits). */
#define EIM_ESIPA_JSON_MAX_TEXT (1024 * 1024)

/* Holds the DER built from a JSON body: the bytes decoded spans point to. */
typedef struct {
    eim_buf_t der;
} eim_esipa_json_scratch_t;

/* max bounds the DER kept (EIM_ESIPA_JSON_MAX_TEXT is always enough). */
void eim_esipa_json_scratch_init(eim_esipa_json_scratch_t *scratch, size_t max);
void eim_esipa_json_scratch_free(eim_esipa_json_scratch_t *scratch);

/* Why a decode failed. field names the JSON member ("" when the problem is
 * the body as a whole); message is a human-readable reason. When a peer
 * answered with status "Failed", failed is set and the statusCodeData
 * members are copied (truncated to fit). */
typedef struct {
    char field[64];
    char message[192];
    bool failed;
    char subject_code[32];
    char reason_code[32];
    char status_message[128];
} eim_esipa_json_error_t;

/* "getEimPackage", ... (the last path segment), NULL for anything else. */
const char *eim_esipa_json_function_name(eim_esipa_function_t function);
/* Accepts "getEimPackage" or "/gsma/rsp2/esipa/getEimPackage";
 * EIM_ERR_NOT_FOUND for anything else. */
eim_err_t eim_esipa_json_function_from_name(const char *name, eim_esipa_function_t *out);

/* eIM side. Decodes the IPA->eIM JSON of function_name into *out (spans
 * into scratch). Failures: EIM_ERR_NOT_FOUND unknown function,
 * EIM_ERR_LIMIT body or scratch too large, EIM_ERR_DECODE malformed JSON, a
 * missing/mistyped member, bad hex/base64 or an ASN.1 constraint violated;
 * EIM_ERR_CONFLICT when a header reports "Failed" (TransferEimPackage). */
eim_err_t eim_esipa_json_decode_request(const char *function_name, const char *json, size_t len,
                                        eim_esipa_json_scratch_t *scratch,
                                        eim_esipa_ipa_to_eim_t *out, eim_esipa_json_error_t *error);
/* Appends the JSON (compact, no NUL) of an eIM->IPA message to out, with
 * an "Executed-Success" header except for TransferEimPackage requests. */
eim_err_t eim_esipa_json_encode_response(const eim_esipa_eim_to_ipa_t *in, eim_buf_t *out);
/* Appends {"header":{"functionExecutionStatus":{"status":"Failed",
 * "statusCodeData":{subjectCode, reasonCode[, message]}}}} to out. */
eim_err_t eim_esipa_json_encode_failure(const char *subject_code, const char *reason_code,
                                        const char *message, eim_buf_t *out);

/* IPA side (tests, device simulator): the reverse directions. */
eim_err_t eim_esipa_json_encode_request(const eim_esipa_ipa_to_eim_t *in, eim_buf_t *out);
eim_err_t eim_esipa_json_decode_response(const char *function_name, const char *json, size_t len,
                                         eim_esipa_json_scratch_t *scratch,
                                         eim_esipa_eim_to_ipa_t *out,
                                         eim_esipa_json_error_t *error);

#endif
