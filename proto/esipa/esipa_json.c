/*
 * ESipa JSON binding (SGP.32 v1.2 §6.4, brief §4.2 and Appendix C). Each
 * function's JSON object is described by a table (json_shape_t) naming, for
 * every CHOICE alternative of the ASN.1 message, its members with their DER
 * tag and value convention. JSON is converted to the DER of the ASN.1
 * message and handed to the ASN.1 decoders; structures are encoded with the
 * ASN.1 encoders and the DER converted to JSON. So there is one model and
 * one set of constraint checks for both bindings.
 */
#include "proto/esipa/esipa_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "proto/base/text_codec.h"

typedef enum {
    F_TLV,      /* base64 of one complete TLV (tag checked unless 0) */
    F_TLV_IN,   /* DER: tag { TLV }; JSON: base64 of the inner TLV */
    F_RETAG,    /* DER: tag { contents }; JSON: base64 of json_tag { contents } */
    F_HEX,      /* DER value as hex */
    F_EID,      /* DER value, 16 bytes, as 32 hex digits */
    F_B64RAW,   /* DER value as base64 */
    F_STRING,   /* DER value (UTF-8) as a JSON string */
    F_INT,      /* DER INTEGER as a JSON integer */
    F_NULLBOOL, /* DER NULL present <-> JSON true */
    F_INT_LIST, /* DER tag { 80 int ... } <-> JSON array of integers */
} field_kind_t;

typedef struct {
    const char *name;
    uint32_t tag;
    field_kind_t kind;
    bool required;
    uint32_t json_tag; /* F_RETAG */
} json_field_t;

typedef struct {
    uint32_t wrapper; /* 0: the fields sit directly in the message element */
    const json_field_t *fields;
    size_t count;
    bool is_default; /* chosen when no member of any alternative is present */
} json_alt_t;

typedef struct {
    eim_esipa_function_t function;
    bool from_ipa;
    bool header; /* travels as an HTTP response */
    const json_alt_t *alts;
    size_t alt_count;
} json_shape_t;

#define FIELDS(a) a, sizeof(a) / sizeof(a[0])
#define ALTS(a)   a, sizeof(a) / sizeof(a[0])

/* ---- IPA -> eIM ---- */
static const json_field_t ia_req[] = {
    {"euiccChallenge", 0x81, F_B64RAW, true, 0},
    {"smdpAddress", 0x83, F_STRING, false, 0},
    {"euiccInfo1", 0xBF20, F_TLV, false, 0},
    {"eimTransactionId", 0x82, F_HEX, false, 0},
};
static const json_alt_t ia_req_alts[] = {{0, FIELDS(ia_req), false}};
static const json_field_t ac_req[] = {
    {"transactionId", 0x80, F_HEX, true, 0},
    {"authenticateServerResponse", 0xBF38, F_TLV, true, 0},
};
static const json_alt_t ac_req_alts[] = {{0, FIELDS(ac_req), false}};
static const json_field_t bpp_req[] = {
    {"transactionId", 0x80, F_HEX, true, 0},
    {"prepareDownloadResponse", 0xBF21, F_TLV, true, 0},
};
static const json_alt_t bpp_req_alts[] = {{0, FIELDS(bpp_req), false}};
static const json_field_t cs_req[] = {
    {"transactionId", 0x80, F_HEX, true, 0},
    {"cancelSessionResponse", 0xA1, F_RETAG, true, 0xBF41},
};
static const json_alt_t cs_req_alts[] = {{0, FIELDS(cs_req), false}};
static const json_field_t hn_pending[] = {{"pendingNotification", 0xA0, F_TLV_IN, true, 0}};
static const json_field_t hn_provide[] = {{"provideEimPackageResult", 0xBF50, F_TLV, true, 0}};
static const json_alt_t hn_alts[] = {{0, FIELDS(hn_pending), false},
                                     {0, FIELDS(hn_provide), false}};
static const json_field_t tr_resp_epr[] = {{"euiccPackageResult", 0xBF51, F_TLV, true, 0}};
static const json_field_t tr_resp_eprn[] = {{"ePRAndNotifications", 0x30, F_TLV, true, 0}};
static const json_field_t tr_resp_data[] = {{"ipaEuiccDataResponse", 0xBF52, F_TLV, true, 0}};
static const json_field_t tr_resp_recv[] = {{"eimPackageReceived", 0x05, F_NULLBOOL, true, 0}};
static const json_field_t tr_resp_err[] = {{"eimPackageError", 0x02, F_INT, true, 0}};
static const json_field_t tr_resp_recv_cid[] = {
    {"eimPackageReceivedWithCid", 0xBF60, F_TLV, true, 0}};
static const json_field_t tr_resp_err_cid[] = {{"eimPackageErrorWithCid", 0xBF61, F_TLV, true, 0}};
static const json_alt_t tr_resp_alts[] = {
    {0, FIELDS(tr_resp_epr), false},     {0, FIELDS(tr_resp_eprn), false},
    {0, FIELDS(tr_resp_data), false},    {0, FIELDS(tr_resp_recv), false},
    {0, FIELDS(tr_resp_err), false},     {0, FIELDS(tr_resp_recv_cid), false},
    {0, FIELDS(tr_resp_err_cid), false},
};
static const json_field_t gep_req[] = {
    {"eidValue", 0x5A, F_EID, true, 0},
    {"notifyStateChange", 0x80, F_NULLBOOL, false, 0},
    {"stateChangeCause", 0x81, F_INT, false, 0},
    {"rPLMN", 0x82, F_HEX, false, 0},
};
static const json_alt_t gep_req_alts[] = {{0, FIELDS(gep_req), false}};
static const json_field_t per_req[] = {
    {"eidValue", 0x5A, F_EID, false, 0},
    {"eimPackageResult", 0, F_TLV, true, 0},
};
static const json_alt_t per_req_alts[] = {{0, FIELDS(per_req), false}};

/* ---- eIM -> IPA ---- */
static const json_field_t ia_ok[] = {
    {"transactionId", 0x80, F_HEX, false, 0},
    {"serverSigned1", 0x30, F_TLV, true, 0},
    {"serverSignature1", 0x5F37, F_TLV, true, 0},
    {"euiccCiPKIdentifierToBeUsed", 0x04, F_TLV, true, 0},
    {"serverCertificate", 0x30, F_TLV, true, 0},
    {"matchingId", 0x0C, F_STRING, false, 0},
    {"ctxParams1", 0xA2, F_TLV_IN, false, 0},
};
static const json_field_t ia_err[] = {{"initiateAuthenticationErrorEsipa", 0x81, F_INT, true, 0}};
static const json_alt_t ia_resp_alts[] = {{0xA0, FIELDS(ia_ok), false}, {0, FIELDS(ia_err), false}};
static const json_field_t ac_ok_dp[] = {
    {"transactionId", 0x80, F_HEX, false, 0},  {"profileMetadata", 0xBF25, F_TLV, false, 0},
    {"smdpSigned2", 0x30, F_TLV, true, 0},     {"smdpSignature2", 0x5F37, F_TLV, true, 0},
    {"smdpCertificate", 0x30, F_TLV, true, 0}, {"hashCc", 0x04, F_TLV, false, 0},
};
static const json_field_t ac_ok_ds[] = {
    {"transactionId", 0x80, F_HEX, true, 0},
    {"profileDownloadTrigger", 0xBF54, F_TLV, false, 0},
};
static const json_field_t ac_err[] = {{"authenticateClientErrorEsipa", 0x82, F_INT, true, 0}};
static const json_alt_t ac_resp_alts[] = {
    {0xA0, FIELDS(ac_ok_dp), false}, {0xA1, FIELDS(ac_ok_ds), false}, {0, FIELDS(ac_err), false}};
static const json_field_t bpp_ok[] = {
    {"transactionId", 0x80, F_HEX, false, 0},
    {"boundProfilePackage", 0xBF36, F_TLV, true, 0},
};
static const json_field_t bpp_err[] = {{"getBoundProfilePackageErrorEsipa", 0x81, F_INT, true, 0}};
static const json_alt_t bpp_resp_alts[] = {{0xA0, FIELDS(bpp_ok), false},
                                           {0, FIELDS(bpp_err), false}};
static const json_field_t cs_err[] = {{"cancelSessionError", 0x81, F_INT, true, 0}};
static const json_alt_t cs_resp_alts[] = {{0xA0, NULL, 0, true}, {0, FIELDS(cs_err), false}};
static const json_field_t tr_req_pkg[] = {{"euiccPackageRequest", 0xBF51, F_TLV, true, 0}};
static const json_field_t tr_req_data[] = {{"ipaEuiccDataRequest", 0xBF52, F_TLV, true, 0}};
static const json_field_t tr_req_acks[] = {{"eimAcknowledgements", 0xBF53, F_INT_LIST, true, 0}};
static const json_field_t tr_req_trig[] = {
    {"profileDownloadTriggerRequest", 0xBF54, F_TLV, true, 0}};
static const json_alt_t tr_req_alts[] = {
    {0, FIELDS(tr_req_pkg), false},
    {0, FIELDS(tr_req_data), false},
    {0, FIELDS(tr_req_acks), false},
    {0, FIELDS(tr_req_trig), false},
};
static const json_field_t gep_err[] = {{"eimPackageError", 0x02, F_INT, true, 0}};
static const json_alt_t gep_resp_alts[] = {
    {0, FIELDS(tr_req_pkg), false},
    {0, FIELDS(tr_req_data), false},
    {0, FIELDS(tr_req_trig), false},
    {0, FIELDS(gep_err), false},
};
static const json_field_t per_err[] = {{"provideEimPackageResultError", 0x02, F_INT, true, 0}};
static const json_alt_t per_resp_alts[] = {
    {0, FIELDS(tr_req_acks), false}, {0x30, NULL, 0, true}, {0, FIELDS(per_err), false}};

static const json_shape_t shapes[] = {
    {EIM_ESIPA_INITIATE_AUTHENTICATION, true, false, ALTS(ia_req_alts)},
    {EIM_ESIPA_AUTHENTICATE_CLIENT, true, false, ALTS(ac_req_alts)},
    {EIM_ESIPA_GET_BOUND_PROFILE_PACKAGE, true, false, ALTS(bpp_req_alts)},
    {EIM_ESIPA_CANCEL_SESSION, true, false, ALTS(cs_req_alts)},
    {EIM_ESIPA_HANDLE_NOTIFICATION, true, false, ALTS(hn_alts)},
    {EIM_ESIPA_TRANSFER_EIM_PACKAGE, true, true, ALTS(tr_resp_alts)},
    {EIM_ESIPA_GET_EIM_PACKAGE, true, false, ALTS(gep_req_alts)},
    {EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT, true, false, ALTS(per_req_alts)},
    {EIM_ESIPA_INITIATE_AUTHENTICATION, false, true, ALTS(ia_resp_alts)},
    {EIM_ESIPA_AUTHENTICATE_CLIENT, false, true, ALTS(ac_resp_alts)},
    {EIM_ESIPA_GET_BOUND_PROFILE_PACKAGE, false, true, ALTS(bpp_resp_alts)},
    {EIM_ESIPA_CANCEL_SESSION, false, true, ALTS(cs_resp_alts)},
    {EIM_ESIPA_TRANSFER_EIM_PACKAGE, false, false, ALTS(tr_req_alts)},
    {EIM_ESIPA_GET_EIM_PACKAGE, false, true, ALTS(gep_resp_alts)},
    {EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT, false, true, ALTS(per_resp_alts)},
};

static const struct {
    eim_esipa_function_t function;
    const char *name;
} function_names[] = {
    {EIM_ESIPA_GET_EIM_PACKAGE, "getEimPackage"},
    {EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT, "provideEimPackageResult"},
    {EIM_ESIPA_HANDLE_NOTIFICATION, "handleNotification"},
    {EIM_ESIPA_TRANSFER_EIM_PACKAGE, "transferEimPackage"},
    {EIM_ESIPA_INITIATE_AUTHENTICATION, "initiateAuthentication"},
    {EIM_ESIPA_AUTHENTICATE_CLIENT, "authenticateClient"},
    {EIM_ESIPA_GET_BOUND_PROFILE_PACKAGE, "getBoundProfilePackage"},
    {EIM_ESIPA_CANCEL_SESSION, "cancelSession"},
};

#define PATH_PREFIX "/gsma/rsp2/esipa/"

const char *eim_esipa_json_function_name(eim_esipa_function_t function)
{
    for (size_t i = 0; i < sizeof(function_names) / sizeof(function_names[0]); i++)
        if (function_names[i].function == function)
            return function_names[i].name;
    return NULL;
}

eim_err_t eim_esipa_json_function_from_name(const char *name, eim_esipa_function_t *out)
{
    if (!name)
        return EIM_ERR_NOT_FOUND;
    if (strncmp(name, PATH_PREFIX, strlen(PATH_PREFIX)) == 0)
        name += strlen(PATH_PREFIX);
    for (size_t i = 0; i < sizeof(function_names) / sizeof(function_names[0]); i++) {
        if (strcmp(function_names[i].name, name) == 0) {
            *out = function_names[i].function;
            return EIM_OK;
        }
    }
    return EIM_ERR_NOT_FOUND;
}

static const json_shape_t *find_shape(eim_esipa_function_t function, bool from_ipa)
{
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
        if (shapes[i].function == function && shapes[i].from_ipa == from_ipa)
            return &shapes[i];
    return NULL;
}

void eim_esipa_json_scratch_init(eim_esipa_json_scratch_t *scratch, size_t max)
{
    eim_buf_init(&scratch->der, max);
}

void eim_esipa_json_scratch_free(eim_esipa_json_scratch_t *scratch)
{
    eim_buf_free(&scratch->der);
}

static eim_err_t fail(eim_esipa_json_error_t *error, eim_err_t err, const char *field,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static eim_err_t fail(eim_esipa_json_error_t *error, eim_err_t err, const char *field,
                      const char *fmt, ...)
{
    if (error) {
        snprintf(error->field, sizeof(error->field), "%s", field ? field : "");
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(error->message, sizeof(error->message), fmt, ap);
        va_end(ap);
    }
    return err;
}

/* ------------------------------------------------------------------ */
/* JSON -> DER                                                         */

typedef struct {
    const char *name;
    size_t start, end; /* offsets in the contents buffer */
} field_range_t;

#define MAX_FIELDS 8

static bool alt_has(const json_alt_t *alt, const char *key)
{
    for (size_t i = 0; i < alt->count; i++)
        if (strcmp(alt->fields[i].name, key) == 0)
            return true;
    return false;
}

static bool shape_has(const json_shape_t *shape, const char *key)
{
    for (size_t a = 0; a < shape->alt_count; a++)
        if (alt_has(&shape->alts[a], key))
            return true;
    return false;
}

static const json_field_t *alt_missing(const json_alt_t *alt, json_t *root)
{
    for (size_t i = 0; i < alt->count; i++)
        if (alt->fields[i].required && !json_object_get(root, alt->fields[i].name))
            return &alt->fields[i];
    return NULL;
}

/* Picks the alternative whose members include every known key present and
 * whose mandatory members are present; reports the best reason otherwise. */
static eim_err_t select_alt(const json_shape_t *shape, json_t *root, const json_alt_t **out,
                            eim_esipa_json_error_t *error)
{
    const json_alt_t *candidates[16];
    size_t n = 0;
    const char *first_key = NULL;
    for (size_t a = 0; a < shape->alt_count; a++) {
        const json_alt_t *alt = &shape->alts[a];
        bool fits = true;
        const char *key;
        json_t *value;
        json_object_foreach(root, key, value)
        {
            (void)value;
            if (!shape_has(shape, key))
                continue; /* unknown members are ignored */
            if (!first_key)
                first_key = key;
            if (!alt_has(alt, key))
                fits = false;
        }
        if (fits && (first_key || alt->is_default))
            candidates[n++] = alt;
    }
    if (!first_key) {
        for (size_t i = 0; i < n; i++) {
            if (candidates[i]->is_default) {
                *out = candidates[i];
                return EIM_OK;
            }
        }
        /* Name the mandatory member of the first alternative. */
        const json_field_t *missing = alt_missing(&shape->alts[0], root);
        if (shape->alt_count == 1 && missing)
            return fail(error, EIM_ERR_DECODE, missing->name, "missing member '%s'", missing->name);
        return fail(error, EIM_ERR_DECODE, "", "none of the members of %s is present",
                    eim_esipa_json_function_name(shape->function));
    }
    if (n == 0)
        return fail(error, EIM_ERR_DECODE, first_key,
                    "member '%s' cannot be combined with the other members present", first_key);
    for (size_t i = 0; i < n; i++) {
        if (!alt_missing(candidates[i], root)) {
            *out = candidates[i];
            return EIM_OK;
        }
    }
    const json_field_t *missing = alt_missing(candidates[0], root);
    return fail(error, EIM_ERR_DECODE, missing->name, "missing member '%s'", missing->name);
}

/* Decodes a base64 member that must hold exactly one TLV (tag 0: any). */
static eim_err_t member_tlv(const json_field_t *f, uint32_t want_tag, json_t *v, eim_buf_t *tmp,
                            eim_der_elem_t *elem, eim_esipa_json_error_t *error)
{
    size_t bad = 0;
    eim_err_t err = eim_base64_decode(json_string_value(v), json_string_length(v), tmp, &bad);
    if (err == EIM_ERR_LIMIT)
        return fail(error, err, f->name, "member '%s' is too large", f->name);
    if (err)
        return fail(error, EIM_ERR_DECODE, f->name, "member '%s': invalid base64 at character %zu",
                    f->name, bad);
    eim_der_reader_t r;
    eim_der_error_t derr;
    eim_der_reader_init(&r, tmp->data, tmp->len, &derr);
    if (eim_der_read(&r, elem) != EIM_OK || !eim_der_at_end(&r))
        return fail(error, EIM_ERR_DECODE, f->name,
                    "member '%s' is not one DER TLV (offset %zu: %s)", f->name,
                    eim_der_at_end(&r) ? derr.offset : (size_t)(r.pos - r.base),
                    derr.reason ? derr.reason : "trailing bytes");
    if (want_tag && elem->tag != want_tag)
        return fail(error, EIM_ERR_DECODE, f->name, "member '%s' must be a %X TLV, not %X", f->name,
                    (unsigned)want_tag, (unsigned)elem->tag);
    return EIM_OK;
}

static eim_err_t member_to_der(const json_field_t *f, json_t *v, eim_der_writer_t *w,
                               eim_esipa_json_error_t *error)
{
    eim_buf_t tmp;
    eim_buf_init(&tmp, EIM_ESIPA_JSON_MAX_TEXT);
    eim_err_t err = EIM_OK;
    eim_der_elem_t elem;
    size_t bad = 0;
    switch (f->kind) {
    case F_TLV:
    case F_TLV_IN:
    case F_RETAG:
    case F_HEX:
    case F_EID:
    case F_B64RAW:
    case F_STRING:
        if (!json_is_string(v)) {
            err = fail(error, EIM_ERR_DECODE, f->name, "member '%s' must be a string", f->name);
            goto out;
        }
        break;
    case F_INT:
        if (!json_is_integer(v)) {
            err = fail(error, EIM_ERR_DECODE, f->name, "member '%s' must be an integer", f->name);
            goto out;
        }
        break;
    case F_NULLBOOL:
        if (!json_is_boolean(v)) {
            err = fail(error, EIM_ERR_DECODE, f->name, "member '%s' must be a boolean", f->name);
            goto out;
        }
        break;
    case F_INT_LIST:
        if (!json_is_array(v)) {
            err = fail(error, EIM_ERR_DECODE, f->name, "member '%s' must be an array", f->name);
            goto out;
        }
        break;
    }
    switch (f->kind) {
    case F_TLV:
        err = member_tlv(f, f->tag, v, &tmp, &elem, error);
        if (!err)
            eim_der_put_raw(w, elem.tlv);
        break;
    case F_TLV_IN:
        err = member_tlv(f, 0, v, &tmp, &elem, error);
        if (!err) {
            eim_der_begin(w, f->tag);
            eim_der_put_raw(w, elem.tlv);
            eim_der_end(w);
        }
        break;
    case F_RETAG:
        err = member_tlv(f, f->json_tag, v, &tmp, &elem, error);
        if (!err)
            eim_der_put_span(w, f->tag, elem.value);
        break;
    case F_HEX:
    case F_EID: {
        size_t n = json_string_length(v);
        if (f->kind == F_EID && n != 2 * EIM_ESIPA_EID_LEN) {
            err = fail(error, EIM_ERR_DECODE, f->name, "member '%s' must be %d hex digits", f->name,
                       2 * EIM_ESIPA_EID_LEN);
            goto out;
        }
        err = eim_hex_decode(json_string_value(v), n, &tmp, &bad);
        if (err == EIM_ERR_LIMIT) {
            err = fail(error, err, f->name, "member '%s' is too large", f->name);
            goto out;
        }
        if (err) {
            err = fail(error, EIM_ERR_DECODE, f->name, "member '%s': invalid hex at character %zu",
                       f->name, bad);
            goto out;
        }
        eim_der_put(w, f->tag, tmp.data, tmp.len);
        break;
    }
    case F_B64RAW:
        err = eim_base64_decode(json_string_value(v), json_string_length(v), &tmp, &bad);
        if (err) {
            err = fail(error, err == EIM_ERR_LIMIT ? err : EIM_ERR_DECODE, f->name,
                       "member '%s': invalid base64 at character %zu", f->name, bad);
            goto out;
        }
        eim_der_put(w, f->tag, tmp.data, tmp.len);
        break;
    case F_STRING: eim_der_put(w, f->tag, json_string_value(v), json_string_length(v)); break;
    case F_INT: eim_der_put_int(w, f->tag, (int64_t)json_integer_value(v)); break;
    case F_NULLBOOL:
        if (json_is_true(v))
            eim_der_put_null(w, f->tag);
        else if (f->required)
            err = fail(error, EIM_ERR_DECODE, f->name, "member '%s' must be true", f->name);
        break;
    case F_INT_LIST: {
        if (json_array_size(v) > EIM_ESIPA_MAX_ACKNOWLEDGEMENTS) {
            err = fail(error, EIM_ERR_LIMIT, f->name, "member '%s' has more than %d entries",
                       f->name, EIM_ESIPA_MAX_ACKNOWLEDGEMENTS);
            goto out;
        }
        eim_der_begin(w, f->tag);
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
        {
            if (!json_is_integer(item)) {
                err = fail(error, EIM_ERR_DECODE, f->name, "member '%s'[%zu] must be an integer",
                           f->name, i);
                goto out;
            }
            eim_der_put_int(w, 0x80, (int64_t)json_integer_value(item));
        }
        eim_der_end(w);
        break;
    }
    }
out:
    eim_buf_free(&tmp);
    return err;
}

static void copy_str(char *dst, size_t size, json_t *v)
{
    snprintf(dst, size, "%s", json_is_string(v) ? json_string_value(v) : "");
}

/* header.functionExecutionStatus of a message travelling as an HTTP response. */
static eim_err_t check_header(json_t *root, eim_esipa_json_error_t *error)
{
    json_t *header = json_object_get(root, "header");
    if (!header)
        return fail(error, EIM_ERR_DECODE, "header", "missing member 'header'");
    if (!json_is_object(header))
        return fail(error, EIM_ERR_DECODE, "header", "member 'header' must be an object");
    json_t *fes = json_object_get(header, "functionExecutionStatus");
    if (!json_is_object(fes))
        return fail(error, EIM_ERR_DECODE, "header.functionExecutionStatus",
                    "member 'header.functionExecutionStatus' must be an object");
    json_t *status = json_object_get(fes, "status");
    if (!json_is_string(status))
        return fail(error, EIM_ERR_DECODE, "header.functionExecutionStatus.status",
                    "member 'header.functionExecutionStatus.status' must be a string");
    const char *s = json_string_value(status);
    if (strcmp(s, "Executed-Success") == 0 || strcmp(s, "Executed-WithWarning") == 0)
        return EIM_OK;
    if (strcmp(s, "Failed") == 0) {
        if (error) {
            json_t *scd = json_object_get(fes, "statusCodeData");
            error->failed = true;
            copy_str(error->subject_code, sizeof(error->subject_code),
                     json_object_get(scd, "subjectCode"));
            copy_str(error->reason_code, sizeof(error->reason_code),
                     json_object_get(scd, "reasonCode"));
            copy_str(error->status_message, sizeof(error->status_message),
                     json_object_get(scd, "message"));
        }
        return fail(error, EIM_ERR_CONFLICT, "header.functionExecutionStatus.status",
                    "peer reported status Failed");
    }
    return fail(error, EIM_ERR_DECODE, "header.functionExecutionStatus.status",
                "unknown status '%s'", s);
}

/* Builds the DER of the message described by root into scratch. ranges
 * get the offset range (in scratch) of every member written. */
static eim_err_t json_to_der(const json_shape_t *shape, json_t *root, eim_buf_t *der,
                             field_range_t ranges[MAX_FIELDS], size_t *range_count,
                             eim_esipa_json_error_t *error)
{
    const json_alt_t *alt = NULL;
    eim_err_t err = select_alt(shape, root, &alt, error);
    if (err)
        return err;
    eim_buf_t contents, inner;
    eim_buf_init(&contents, der->max);
    eim_buf_init(&inner, der->max);
    eim_der_writer_t w;
    eim_der_writer_init(&w, &contents);
    *range_count = 0;
    for (size_t i = 0; i < alt->count; i++) {
        const json_field_t *f = &alt->fields[i];
        json_t *v = json_object_get(root, f->name);
        if (!v) {
            if (f->required) {
                err = fail(error, EIM_ERR_DECODE, f->name, "missing member '%s'", f->name);
                goto out;
            }
            continue;
        }
        size_t start = contents.len;
        err = member_to_der(f, v, &w, error);
        if (err)
            goto out;
        if (w.err) {
            err = fail(error, w.err, f->name, "member '%s': %s", f->name, eim_strerror(w.err));
            goto out;
        }
        ranges[*range_count].name = f->name;
        ranges[*range_count].start = start;
        ranges[*range_count].end = contents.len;
        (*range_count)++;
    }
    err = eim_der_writer_finish(&w);
    if (!err && alt->wrapper) {
        err = eim_esipa_rebuild_tlv(alt->wrapper, eim_span(contents.data, contents.len), &inner);
    } else if (!err) {
        err = eim_buf_append(&inner, contents.data, contents.len);
    }
    eim_buf_reset(der);
    if (!err)
        err = eim_esipa_rebuild_tlv(shape->function, eim_span(inner.data, inner.len), der);
    if (err) {
        err = fail(error, err, "", "message too large: %s", eim_strerror(err));
        goto out;
    }
    size_t header_len = der->len - contents.len;
    for (size_t i = 0; i < *range_count; i++) {
        ranges[i].start += header_len;
        ranges[i].end += header_len;
    }
out:
    eim_buf_free(&contents);
    eim_buf_free(&inner);
    return err;
}

static eim_err_t asn1_failed(eim_err_t err, const eim_der_error_t *derr,
                             const field_range_t *ranges, size_t range_count,
                             eim_esipa_json_error_t *error)
{
    const char *reason = derr->reason ? derr->reason : eim_strerror(err);
    if (err != EIM_ERR_LIMIT)
        err = EIM_ERR_DECODE;
    /* An element missing at the end of a member is reported at its end. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < range_count; i++) {
            size_t end = ranges[i].end + (size_t)pass;
            if (derr->offset >= ranges[i].start && derr->offset < end)
                return fail(error, err, ranges[i].name, "member '%s': %s (byte %zu of its DER)",
                            ranges[i].name, reason, derr->offset - ranges[i].start);
        }
    }
    return fail(error, err, "", "%s", reason);
}

typedef eim_err_t (*der_decode_fn)(const uint8_t *data, size_t len, void *out,
                                   eim_der_error_t *error);

static eim_err_t decode_ipa_to_eim(const uint8_t *data, size_t len, void *out,
                                   eim_der_error_t *error)
{
    return eim_esipa_ipa_to_eim_decode(data, len, out, error);
}

static eim_err_t decode_eim_to_ipa(const uint8_t *data, size_t len, void *out,
                                   eim_der_error_t *error)
{
    return eim_esipa_eim_to_ipa_decode(data, len, out, error);
}

static eim_err_t json_decode(bool from_ipa, const char *function_name, const char *json, size_t len,
                             eim_esipa_json_scratch_t *scratch, void *out, der_decode_fn decode,
                             eim_esipa_json_error_t *error)
{
    if (error)
        memset(error, 0, sizeof(*error));
    eim_esipa_function_t function;
    if (eim_esipa_json_function_from_name(function_name, &function) != EIM_OK)
        return fail(error, EIM_ERR_NOT_FOUND, "", "unknown ESipa function '%s'",
                    function_name ? function_name : "(null)");
    const json_shape_t *shape = find_shape(function, from_ipa);
    if (!shape)
        return fail(error, EIM_ERR_NOT_FOUND, "", "%s has no %s message", function_name,
                    from_ipa ? "IPA->eIM" : "eIM->IPA");
    if (len > EIM_ESIPA_JSON_MAX_TEXT)
        return fail(error, EIM_ERR_LIMIT, "", "body larger than %d bytes", EIM_ESIPA_JSON_MAX_TEXT);
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return fail(error, EIM_ERR_DECODE, "", "invalid JSON at line %d column %d: %s", jerr.line,
                    jerr.column, jerr.text);
    eim_err_t err = EIM_OK;
    if (!json_is_object(root)) {
        err = fail(error, EIM_ERR_DECODE, "", "body must be a JSON object");
        goto out;
    }
    if (shape->header) {
        err = check_header(root, error);
        if (err)
            goto out;
    }
    field_range_t ranges[MAX_FIELDS];
    size_t range_count = 0;
    err = json_to_der(shape, root, &scratch->der, ranges, &range_count, error);
    if (err)
        goto out;
    eim_der_error_t derr = {0};
    err = decode(scratch->der.data, scratch->der.len, out, &derr);
    if (err)
        err = asn1_failed(err, &derr, ranges, range_count, error);
out:
    json_decref(root);
    return err;
}

eim_err_t eim_esipa_json_decode_request(const char *function_name, const char *json, size_t len,
                                        eim_esipa_json_scratch_t *scratch,
                                        eim_esipa_ipa_to_eim_t *out, eim_esipa_json_error_t *error)
{
    return json_decode(true, function_name, json, len, scratch, out, decode_ipa_to_eim, error);
}

eim_err_t eim_esipa_json_decode_response(const char *function_name, const char *json, size_t len,
                                         eim_esipa_json_scratch_t *scratch,
                                         eim_esipa_eim_to_ipa_t *out, eim_esipa_json_error_t *error)
{
    return json_decode(false, function_name, json, len, scratch, out, decode_eim_to_ipa, error);
}

/* ------------------------------------------------------------------ */
/* DER -> JSON                                                         */

static json_t *text_value(eim_err_t (*enc)(const uint8_t *, size_t, eim_buf_t *), eim_span_t data)
{
    eim_buf_t b;
    eim_buf_init(&b, EIM_ESIPA_JSON_MAX_TEXT);
    json_t *v = NULL;
    if (enc(data.ptr, data.len, &b) == EIM_OK)
        v = json_stringn(b.len ? (const char *)b.data : "", b.len);
    eim_buf_free(&b);
    return v;
}

static json_t *member_from_der(const json_field_t *f, eim_der_reader_t *r,
                               const eim_der_elem_t *elem)
{
    switch (f->kind) {
    case F_TLV: return text_value(eim_base64_encode, elem->tlv);
    case F_TLV_IN: {
        eim_der_reader_t child;
        eim_der_elem_t inner;
        if (eim_der_enter(r, elem, &child) || eim_der_read(&child, &inner) ||
            !eim_der_at_end(&child))
            return NULL;
        return text_value(eim_base64_encode, inner.tlv);
    }
    case F_RETAG: {
        eim_buf_t b;
        eim_buf_init(&b, EIM_ESIPA_JSON_MAX_TEXT);
        json_t *v = NULL;
        if (eim_esipa_rebuild_tlv(f->json_tag, elem->value, &b) == EIM_OK)
            v = text_value(eim_base64_encode, eim_span(b.data, b.len));
        eim_buf_free(&b);
        return v;
    }
    case F_HEX:
    case F_EID: return text_value(eim_hex_encode, elem->value);
    case F_B64RAW: return text_value(eim_base64_encode, elem->value);
    case F_STRING:
        return json_stringn(elem->value.len ? (const char *)elem->value.ptr : "", elem->value.len);
    case F_INT: {
        int64_t x;
        if (eim_der_get_int(elem, &x))
            return NULL;
        return json_integer((json_int_t)x);
    }
    case F_NULLBOOL: return json_true();
    case F_INT_LIST: {
        eim_der_reader_t child;
        if (eim_der_enter(r, elem, &child))
            return NULL;
        json_t *arr = json_array();
        while (!eim_der_at_end(&child)) {
            int64_t x;
            if (eim_der_read_int(&child, 0x80, &x)) {
                json_decref(arr);
                return NULL;
            }
            json_array_append_new(arr, json_integer((json_int_t)x));
        }
        return arr;
    }
    }
    return NULL;
}

static json_t *success_header(void)
{
    return json_pack("{s:{s:s}}", "functionExecutionStatus", "status", "Executed-Success");
}

static eim_err_t dump(json_t *root, eim_buf_t *out)
{
    char *text = json_dumps(root, JSON_COMPACT);
    if (!text)
        return EIM_ERR_LIMIT;
    eim_err_t err = eim_buf_append_str(out, text);
    free(text);
    return err;
}

static eim_err_t der_to_json(const json_shape_t *shape, const uint8_t *der, size_t len,
                             eim_buf_t *out)
{
    eim_err_t err = EIM_ERR_INVALID_ARG;
    json_t *root = json_object();
    if (shape->header)
        json_object_set_new(root, "header", success_header());
    eim_der_reader_t r, body, inner;
    eim_der_elem_t elem, first;
    eim_der_reader_init(&r, der, len, NULL);
    if (eim_der_read_tag(&r, shape->function, &elem) || eim_der_enter(&r, &elem, &body))
        goto out;
    if (eim_der_read(&body, &first) || !eim_der_at_end(&body)) {
        /* Several elements: an alternative without wrapper (fields). */
        eim_der_reader_init(&r, der, len, NULL);
        eim_der_read_tag(&r, shape->function, &elem);
        eim_der_enter(&r, &elem, &body);
        first.tag = 0;
    }
    /* Find the alternative: a wrapper tag, else the one owning the tag of
     * the first field element. */
    const json_alt_t *alt = NULL;
    for (size_t a = 0; first.tag && a < shape->alt_count && !alt; a++)
        if (shape->alts[a].wrapper == first.tag)
            alt = &shape->alts[a];
    eim_der_reader_t *fields = &body;
    if (alt) {
        if (eim_der_enter(&body, &first, &inner))
            goto out;
        fields = &inner;
    } else {
        eim_der_reader_init(&r, der, len, NULL);
        eim_der_read_tag(&r, shape->function, &elem);
        eim_der_enter(&r, &elem, &body);
        uint32_t tag = 0;
        if (eim_der_peek_tag(&body, &tag))
            goto out;
        for (size_t a = 0; a < shape->alt_count && !alt; a++)
            for (size_t i = 0; i < shape->alts[a].count && !alt; i++)
                if (!shape->alts[a].wrapper && shape->alts[a].fields[i].tag == tag)
                    alt = &shape->alts[a];
        for (size_t a = 0; a < shape->alt_count && !alt; a++)
            for (size_t i = 0; i < shape->alts[a].count && !alt; i++)
                if (!shape->alts[a].wrapper && shape->alts[a].fields[i].tag == 0)
                    alt = &shape->alts[a];
        if (!alt)
            goto out;
    }
    size_t next = 0;
    while (!eim_der_at_end(fields)) {
        eim_der_elem_t e;
        if (eim_der_read(fields, &e))
            goto out;
        size_t i = next;
        while (i < alt->count && alt->fields[i].tag != e.tag && alt->fields[i].tag != 0)
            i++;
        if (i == alt->count)
            goto out;
        json_t *v = member_from_der(&alt->fields[i], fields, &e);
        if (!v)
            goto out;
        json_object_set_new(root, alt->fields[i].name, v);
        next = i + 1;
    }
    err = dump(root, out);
out:
    json_decref(root);
    return err;
}

eim_err_t eim_esipa_json_encode_response(const eim_esipa_eim_to_ipa_t *in, eim_buf_t *out)
{
    const json_shape_t *shape = find_shape(in->function, false);
    if (!shape)
        return EIM_ERR_INVALID_ARG;
    eim_buf_t der;
    eim_buf_init(&der, EIM_ESIPA_JSON_MAX_TEXT);
    eim_err_t err = eim_esipa_eim_to_ipa_encode(in, &der);
    if (!err)
        err = der_to_json(shape, der.data, der.len, out);
    eim_buf_free(&der);
    return err;
}

eim_err_t eim_esipa_json_encode_request(const eim_esipa_ipa_to_eim_t *in, eim_buf_t *out)
{
    const json_shape_t *shape = find_shape(in->function, true);
    if (!shape)
        return EIM_ERR_INVALID_ARG;
    eim_buf_t der;
    eim_buf_init(&der, EIM_ESIPA_JSON_MAX_TEXT);
    eim_err_t err = eim_esipa_ipa_to_eim_encode(in, &der);
    if (!err)
        err = der_to_json(shape, der.data, der.len, out);
    eim_buf_free(&der);
    return err;
}

eim_err_t eim_esipa_json_encode_failure(const char *subject_code, const char *reason_code,
                                        const char *message, eim_buf_t *out)
{
    if (!subject_code || !reason_code)
        return EIM_ERR_INVALID_ARG;
    json_t *scd = json_pack("{s:s,s:s}", "subjectCode", subject_code, "reasonCode", reason_code);
    if (!scd)
        return EIM_ERR_INVALID_ARG;
    if (message)
        json_object_set_new(scd, "message", json_string(message));
    json_t *root = json_pack("{s:{s:{s:s,s:o}}}", "header", "functionExecutionStatus", "status",
                             "Failed", "statusCodeData", scd);
    if (!root)
        return EIM_ERR_INVALID_ARG;
    eim_err_t err = dump(root, out);
    json_decref(root);
    return err;
}
