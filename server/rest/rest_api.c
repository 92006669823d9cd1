/*
 * The operators' REST API: routing, authentication, request validation and
 * the mapping between the queue's states and the API's statuses. See
 * rest_api.h for the routes and server/rest/openapi.json for the contract;
 * the SQL lives in storage/operator_store.c and storage/api_keys.c.
 *
 * Status mapping (CAMARA eSIM Profile Management style):
 *   QUEUED, DELIVERED                 -> ACCEPTED
 *   RESULT_OK, DONE (no error result) -> COMPLETED / SUCCESS
 *   RESULT_ERROR, DONE after an error -> COMPLETED / FAILED, reason EUICC_ERROR
 *   EXPIRED                           -> COMPLETED / FAILED, reason EXPIRED
 *   CANCELLED                         -> COMPLETED / FAILED, reason CANCELLED
 */
#include "server/rest/rest_api.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "proto/base/log.h"
#include "proto/base/memory.h"
#include "proto/base/text_codec.h"
#include "proto/crypto/ec_pubkey.h"
#include "proto/esep/package_params.h"
#include "server/rest/problem.h"
#include "storage/api_keys.h"
#include "storage/op_state.h"
#include "storage/operator_store.h"

#define PREFIX          "/api/v1"
#define MAX_QUERY_PAIRS 12
#define MAX_QUERY_VALUE 256
#define MAX_ERRORS      50   /* field errors listed in one 400 */
#define MAX_CHAIN_BYTES 8192 /* eUICC certificate chain (DER) */
#define MAX_SPKI_BYTES  256
#define MAX_DELAY_S     31536000 /* notBefore / expiry: one year */

struct eim_rest_api {
    eim_rest_options_t options;
    size_t refs; /* 1 for the owner + 1 per request waiting for the database */
};

typedef enum {
    ROUTE_EUICCS,        /* /euiccs */
    ROUTE_EUICCS_IMPORT, /* /euiccs/import */
    ROUTE_EUICC,         /* /euiccs/{eid} */
    ROUTE_EUICC_OPS,     /* /euiccs/{eid}/operations */
    ROUTE_OPS,           /* /operations */
    ROUTE_OP,            /* /operations/{id} */
    ROUTE_OP_CANCEL,     /* /operations/{id}/cancel */
    ROUTE_CAMPAIGNS,     /* /campaigns */
    ROUTE_CAMPAIGN,      /* /campaigns/{id} */
} route_t;

typedef struct {
    char key[32];
    char value[MAX_QUERY_VALUE + 1];
} query_pair_t;

typedef struct {
    eim_rest_api_t *api;
    eim_http_exchange_t *ex;
    const eim_http_request_t *request;
    route_t route;
    bool write;
    char id[40]; /* EID (upper-case) or uuid (lower-case) of the path */
    char instance[160];
    eim_api_principal_t who;
    char actor[48];
    /* work in progress */
    json_t *body;
    char *text1, *text2; /* JSON texts handed to storage */
    char idempotency_key[201];
    eim_store_op_spec_t spec;
    int status; /* answer status chosen before a follow-up query */
} req_t;

/* ---- small helpers ------------------------------------------------------ */

eim_rest_api_t *eim_rest_api_new(const eim_rest_options_t *options)
{
    eim_rest_api_t *api = EIM_NEW(eim_rest_api_t);
    api->options = *options;
    api->refs = 1;
    return api;
}

static void api_release(eim_rest_api_t *api)
{
    if (--api->refs == 0)
        free(api);
}

void eim_rest_api_free(eim_rest_api_t *api)
{
    if (api)
        api_release(api);
}

static void req_free(req_t *r)
{
    json_decref(r->body);
    free(r->text1);
    free(r->text2);
    api_release(r->api);
    free(r);
}

static void respond_json(req_t *r, int status, json_t *body, const char *extra_headers)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(body);
    eim_http_respond(r->ex, status, "application/json", extra_headers, text, strlen(text));
    free(text);
}

static void problem(req_t *r, int status, const char *detail)
{
    eim_rest_problem(r->ex, status, detail, r->instance, NULL, NULL);
}

static void field_problem(req_t *r, int status, const char *field, const char *message)
{
    eim_rest_field_problem(r->ex, status, field, message, r->instance);
}

/* Answers a storage error; the request is finished afterwards. */
static void storage_problem(req_t *r, eim_err_t err, const char *not_found)
{
    if (err == EIM_ERR_NOT_FOUND) {
        problem(r, 404, not_found);
    } else if (err == EIM_ERR_DB_UNAVAILABLE || err == EIM_ERR_BUSY) {
        char header[48];
        snprintf(header, sizeof(header), "Retry-After: %d\r\n", r->api->options.retry_after_s);
        eim_rest_problem(r->ex, 503, "the database is unavailable; retry later", r->instance, NULL,
                         header);
    } else {
        eim_rest_problem(r->ex, 500, "internal error", r->instance, NULL, NULL);
    }
}

static void add_error(json_t *errors, const char *field, const char *message)
{
    if (json_array_size(errors) < MAX_ERRORS)
        json_array_append_new(errors, json_pack("{s:s, s:s}", "field", field, "message", message));
}

static bool is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]))
            return false;
    return s[n] == '\0';
}

/* 32 hex digits -> upper case into out[33]. */
static bool normalize_eid(const char *in, char out[33])
{
    if (!in || strlen(in) != 32 || !is_hex(in, 32))
        return false;
    for (size_t i = 0; i < 32; i++)
        out[i] = (char)toupper((unsigned char)in[i]);
    out[32] = '\0';
    return true;
}

/* 8-4-4-4-12 hex -> lower case into out[37]. */
static bool normalize_uuid(const char *in, char out[37])
{
    if (!in || strlen(in) != 36)
        return false;
    for (size_t i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? in[i] != '-' : !isxdigit((unsigned char)in[i]))
            return false;
        out[i] = (char)tolower((unsigned char)in[i]);
    }
    out[36] = '\0';
    return true;
}

static const char *text_or_null(json_t *object, const char *key)
{
    json_t *v = json_object_get(object, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* ---- query strings ------------------------------------------------------ */

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Splits and percent-decodes "a=b&c=d"; false (with a message) when a pair
 * is malformed, too long or there are too many. */
static bool parse_query(const char *query, query_pair_t *pairs, size_t *count, const char **why)
{
    *count = 0;
    const char *p = query;
    while (*p) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len) {
            if (*count == MAX_QUERY_PAIRS) {
                *why = "too many query parameters";
                return false;
            }
            query_pair_t *q = &pairs[(*count)++];
            char *dst = q->key;
            size_t cap = sizeof(q->key), used = 0;
            bool in_value = false;
            for (size_t i = 0; i < len; i++) {
                char c = p[i];
                if (c == '=' && !in_value) {
                    dst[used] = '\0';
                    in_value = true;
                    dst = q->value;
                    cap = sizeof(q->value);
                    used = 0;
                    continue;
                }
                if (c == '+') {
                    c = ' ';
                } else if (c == '%') {
                    int hi = i + 2 < len ? hex_digit(p[i + 1]) : -1;
                    int lo = i + 2 < len ? hex_digit(p[i + 2]) : -1;
                    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                        *why = "malformed percent-encoding in the query";
                        return false;
                    }
                    c = (char)(hi << 4 | lo);
                    i += 2;
                }
                if (used + 1 >= cap) {
                    *why = "query parameter too long";
                    return false;
                }
                dst[used++] = c;
            }
            dst[used] = '\0';
            if (!in_value)
                q->value[0] = '\0';
        }
        p += len;
        if (*p == '&')
            p++;
    }
    return true;
}

/* Paging and filters common to the list routes. Returns false after
 * answering 400. allowed: NULL-terminated names besides cursor and limit. */
static bool read_query(req_t *r, const char *const *allowed, query_pair_t *pairs, size_t *count,
                       int *limit)
{
    const char *why = NULL;
    if (!parse_query(r->request->query, pairs, count, &why)) {
        field_problem(r, 400, "query", why);
        return false;
    }
    *limit = r->api->options.default_page_size;
    for (size_t i = 0; i < *count; i++) {
        const char *k = pairs[i].key;
        if (strcmp(k, "limit") == 0) {
            char *end;
            long v = strtol(pairs[i].value, &end, 10);
            if (!pairs[i].value[0] || *end || v < 1 || v > r->api->options.max_page_size) {
                char msg[96];
                snprintf(msg, sizeof(msg), "limit must be an integer from 1 to %d",
                         r->api->options.max_page_size);
                field_problem(r, 400, "limit", msg);
                return false;
            }
            *limit = (int)v;
            continue;
        }
        bool known = strcmp(k, "cursor") == 0;
        for (size_t j = 0; allowed && allowed[j] && !known; j++)
            known = strcmp(k, allowed[j]) == 0;
        if (!known) {
            field_problem(r, 400, k, "unknown query parameter");
            return false;
        }
    }
    return true;
}

static const char *query_get(const query_pair_t *pairs, size_t count, const char *key)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(pairs[i].key, key) == 0)
            return pairs[i].value;
    return NULL;
}

/* ---- representations ---------------------------------------------------- */

/* The API's view of a storage operation object (adds status/outcome). */
static json_t *operation_view(json_t *raw)
{
    json_t *out = json_object();
    const char *state = text_or_null(raw, "state");
    if (!state)
        state = "QUEUED";
    bool error_result = json_is_true(json_object_get(raw, "resultError"));
    const char *status = "COMPLETED", *outcome = NULL, *reason = NULL;
    if (strcmp(state, "QUEUED") == 0 || strcmp(state, "DELIVERED") == 0) {
        status = "ACCEPTED";
    } else if (strcmp(state, "EXPIRED") == 0) {
        outcome = "FAILED";
        reason = "EXPIRED";
    } else if (strcmp(state, "CANCELLED") == 0) {
        outcome = "FAILED";
        reason = "CANCELLED";
    } else if (strcmp(state, "RESULT_ERROR") == 0 || error_result) {
        outcome = "FAILED";
        reason = "EUICC_ERROR";
    } else {
        outcome = "SUCCESS";
    }
    json_object_set(out, "operationId", json_object_get(raw, "id"));
    json_object_set_new(out, "status", json_string(status));
    if (outcome)
        json_object_set_new(out, "outcome", json_string(outcome));
    if (reason)
        json_object_set_new(out, "reason", json_string(reason));
    const char *key;
    json_t *value;
    json_object_foreach(raw, key, value)
    {
        if (strcmp(key, "id") != 0 && strcmp(key, "resultError") != 0)
            json_object_set(out, key, value);
    }
    return out;
}

static json_t *parse_storage_json(const char *text)
{
    json_t *v = json_loads(text ? text : "null", JSON_DECODE_ANY, NULL);
    return v ? v : json_null();
}

static json_t *page_view(const char *next_cursor, const char *items_json, bool operations)
{
    json_t *items = parse_storage_json(items_json);
    if (operations) {
        json_t *mapped = json_array();
        size_t i;
        json_t *item;
        json_array_foreach(items, i, item)
        {
            json_array_append_new(mapped, operation_view(item));
        }
        json_decref(items);
        items = mapped;
    }
    json_t *page = json_pack("{s:o}", "items", items);
    if (next_cursor && *next_cursor)
        json_object_set_new(page, "nextCursor", json_string(next_cursor));
    return page;
}

/* ---- validation --------------------------------------------------------- */

static bool check_members(json_t *object, const char *const *allowed, const char *prefix,
                          json_t *errors)
{
    bool ok = true;
    const char *key;
    json_t *value;
    json_object_foreach(object, key, value)
    {
        bool known = false;
        for (size_t i = 0; allowed[i] && !known; i++)
            known = strcmp(key, allowed[i]) == 0;
        if (!known) {
            char field[128];
            snprintf(field, sizeof(field), "%s%s", prefix, key);
            add_error(errors, field, "unknown member");
            ok = false;
        }
    }
    return ok;
}

/* Checks base64 of DER of at most max bytes; for a public key also that
 * it is a usable EC SubjectPublicKeyInfo. */
static const char *check_der_base64(const char *text, size_t max, bool spki)
{
    eim_buf_t der;
    eim_buf_init(&der, max);
    const char *why = NULL;
    if (eim_base64_decode(text, strlen(text), &der, NULL) != EIM_OK || der.len == 0) {
        why = "must be canonical base64 (RFC 4648 section 4) of DER, within the size limit";
    } else if (der.data[0] != 0x30) {
        why = "must be DER starting with a SEQUENCE";
    } else if (spki) {
        eim_ec_pubkey_t *key = NULL;
        if (eim_ec_pubkey_from_spki(eim_span(der.data, der.len), &key) != EIM_OK)
            why = "must be an EC SubjectPublicKeyInfo (P-256 or brainpoolP256r1)";
        eim_ec_pubkey_free(key);
    }
    eim_buf_free(&der);
    return why;
}

/* Validates one eUICC of an import and normalises its EID in place. */
static void validate_euicc(json_t *e, const char *prefix, json_t *errors)
{
    static const char *const allowed[] = {"eid",
                                          "eimId",
                                          "counterValue",
                                          "associationToken",
                                          "defaultSmdpAddress",
                                          "publicKey",
                                          "certificateChain",
                                          NULL};
    char field[160];
    if (!json_is_object(e)) {
        add_error(errors, prefix[0] ? prefix : "body", "must be an object");
        return;
    }
    check_members(e, allowed, prefix, errors);
    char eid[33];
    snprintf(field, sizeof(field), "%seid", prefix);
    if (!normalize_eid(text_or_null(e, "eid"), eid))
        add_error(errors, field, "required: 32 hexadecimal digits");
    else
        json_object_set_new(e, "eid", json_string(eid));
    const char *eim_id = text_or_null(e, "eimId");
    snprintf(field, sizeof(field), "%seimId", prefix);
    if (!eim_id || !*eim_id || strlen(eim_id) > 128)
        add_error(errors, field, "required: 1 to 128 characters");
    json_t *v = json_object_get(e, "counterValue");
    snprintf(field, sizeof(field), "%scounterValue", prefix);
    if (v && (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 8388607))
        add_error(errors, field, "must be an integer from 0 to 8388607");
    v = json_object_get(e, "associationToken");
    snprintf(field, sizeof(field), "%sassociationToken", prefix);
    if (v &&
        (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 2147483647))
        add_error(errors, field, "must be an integer from 0 to 2147483647");
    v = json_object_get(e, "defaultSmdpAddress");
    snprintf(field, sizeof(field), "%sdefaultSmdpAddress", prefix);
    if (v && (!json_is_string(v) || json_string_length(v) < 1 || json_string_length(v) > 255))
        add_error(errors, field, "must be a string of 1 to 255 characters");
    static const char *const der_fields[] = {"publicKey", "certificateChain"};
    for (size_t i = 0; i < 2; i++) {
        v = json_object_get(e, der_fields[i]);
        if (!v)
            continue;
        snprintf(field, sizeof(field), "%s%s", prefix, der_fields[i]);
        const char *why = json_is_string(v)
                              ? check_der_base64(json_string_value(v),
                                                 i ? MAX_CHAIN_BYTES : MAX_SPKI_BYTES, i == 0)
                              : "must be a base64 string";
        if (why)
            add_error(errors, field, why);
    }
}

static bool valid_ac_part(const char *s)
{
    if (!s || !*s || strlen(s) > 255)
        return false;
    for (; *s; s++)
        if (*s == '$' || (unsigned char)*s < 0x21 || (unsigned char)*s > 0x7E)
            return false;
    return true;
}

static const char *const op_members[] = {
    "kind", "parameters", "priority", "notBeforeSeconds", "expiresInSeconds", NULL};
static const char *const campaign_members[] = {
    "eids", "kind", "parameters", "priority", "notBeforeSeconds", "expiresInSeconds", NULL};

static bool int_member(json_t *body, const char *name, long lo, long hi, long *out, json_t *errors)
{
    json_t *v = json_object_get(body, name);
    if (!v)
        return true;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        char msg[96];
        snprintf(msg, sizeof(msg), "must be an integer from %ld to %ld", lo, hi);
        add_error(errors, name, msg);
        return false;
    }
    *out = (long)json_integer_value(v);
    return true;
}

/* Reads kind/parameters/priority/delays of an operation request into
 * r->spec (parameters text in r->text1). Errors go to errors. */
static void validate_op_spec(req_t *r, json_t *body, json_t *errors)
{
    static const char *const kinds[] = {"psmo", "eco", "euicc_data_request", "download_trigger"};
    const char *kind = text_or_null(body, "kind");
    bool kind_ok = false;
    for (size_t i = 0; kind && i < 4; i++)
        kind_ok = kind_ok || strcmp(kind, kinds[i]) == 0;
    if (!kind_ok) {
        add_error(errors, "kind", "required: psmo, eco, euicc_data_request or download_trigger");
        return;
    }
    r->spec.kind = kind;
    long priority = 0, not_before = 0, expires = 0;
    int_member(body, "priority", -1000, 1000, &priority, errors);
    int_member(body, "notBeforeSeconds", 0, MAX_DELAY_S, &not_before, errors);
    int_member(body, "expiresInSeconds", 0, MAX_DELAY_S, &expires, errors);
    r->spec.priority = (int)priority;
    r->spec.not_before_s = not_before;
    r->spec.expires_in_s = expires;

    json_t *params = json_object_get(body, "parameters");
    if (!json_is_object(params)) {
        add_error(errors, "parameters", "required: an object");
        return;
    }
    json_t *own = NULL;
    if (strcmp(kind, "download_trigger") == 0 && json_object_get(params, "smdpAddress")) {
        /* SM-DP+ address + matching id: an activation code (SGP.22 §4.1) */
        const char *address = text_or_null(params, "smdpAddress");
        const char *matching = text_or_null(params, "matchingId");
        static const char *const ac_members[] = {"smdpAddress", "matchingId", NULL};
        if (!check_members(params, ac_members, "parameters.", errors))
            return;
        if (!valid_ac_part(address)) {
            add_error(errors, "parameters.smdpAddress",
                      "required: 1 to 255 printable characters "
                      "without '$'");
            return;
        }
        if (matching && !valid_ac_part(matching)) {
            add_error(errors, "parameters.matchingId",
                      "must be 1 to 255 printable characters "
                      "without '$'");
            return;
        }
        char *code = eim_sprintf("1$%s$%s", address, matching ? matching : "");
        own = json_pack("{s:s}", "activationCode", code);
        free(code);
        params = own;
    }
    char *text = json_dumps(params, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(own);
    size_t len = strlen(text);
    char error[256] = "";
    eim_err_t err = len > EIM_PACKAGE_PARAMS_MAX
                        ? EIM_ERR_LIMIT
                        : eim_package_params_validate(kind, text, len, error, sizeof(error));
    if (err) {
        char field[160] = "parameters";
        const char *message = error[0] ? error : "too large";
        const char *sep = strstr(error, ": ");
        if (sep && (size_t)(sep - error) < sizeof(field) - 12) {
            snprintf(field, sizeof(field), "parameters.%.*s", (int)(sep - error), error);
            message = sep + 2;
        }
        add_error(errors, field, message);
        free(text);
        return;
    }
    r->text1 = text;
    r->spec.parameters = text;
}

/* Parses the JSON body; answers 400 and returns NULL when it is not JSON. */
static json_t *read_body(req_t *r)
{
    json_error_t jerr;
    json_t *body = json_loadb((const char *)r->request->body, r->request->body_len,
                              JSON_REJECT_DUPLICATES, &jerr);
    if (!body || !json_is_object(body)) {
        char msg[220];
        snprintf(msg, sizeof(msg), "the body must be a JSON object%s%s", body ? "" : ": ",
                 body ? "" : jerr.text);
        json_decref(body);
        field_problem(r, 400, "body", msg);
        return NULL;
    }
    return body;
}

static void bad_request(req_t *r, json_t *errors)
{
    eim_rest_problem(r->ex, 400, "the request has invalid fields", r->instance, errors, NULL);
}

/* ---- eUICCs ------------------------------------------------------------- */

static void on_euicc_read(eim_err_t err, const char *tag, const char *json, void *ctx)
{
    (void)tag;
    req_t *r = ctx;
    if (err) {
        storage_problem(r, err, "no such eUICC");
    } else if (r->status == 201) {
        char header[96];
        snprintf(header, sizeof(header), "Location: " PREFIX "/euiccs/%s\r\n", r->id);
        respond_json(r, 201, parse_storage_json(json), header);
    } else {
        respond_json(r, r->status ? r->status : 200, parse_storage_json(json), NULL);
    }
    req_free(r);
}

static void on_import_one(eim_err_t err, const char *tag, const char *json, void *ctx)
{
    (void)tag;
    req_t *r = ctx;
    if (err) {
        storage_problem(r, err, "not found");
        req_free(r);
        return;
    }
    json_t *results = parse_storage_json(json);
    char outcome[32];
    const char *text = text_or_null(json_array_get(results, 0), "outcome");
    snprintf(outcome, sizeof(outcome), "%s", text ? text : "CONFLICT");
    if (strcmp(outcome, "CREATED") == 0 || strcmp(outcome, "UPDATED") == 0) {
        r->status = outcome[0] == 'C' ? 201 : 200;
        json_decref(results);
        eim_store_euicc_get(r->api->options.pool, r->who.tenant, r->id, on_euicc_read, r);
        return;
    }
    json_decref(results);
    if (strcmp(outcome, "UNKNOWN_EIM_ID") == 0)
        field_problem(r, 422, "eimId", "not an eIM identity of this eIM (eim_identities)");
    else
        problem(r, 409, "this EID is registered to another tenant");
    req_free(r);
}

static void euicc_import_one(req_t *r)
{
    json_t *errors = json_array();
    validate_euicc(r->body, "", errors);
    if (json_array_size(errors)) {
        bad_request(r, errors);
        req_free(r);
        return;
    }
    json_decref(errors);
    snprintf(r->id, sizeof(r->id), "%s", text_or_null(r->body, "eid"));
    json_t *list = json_pack("[O]", r->body);
    r->text2 = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    eim_store_euiccs_import(r->api->options.pool, r->who.tenant, r->text2, on_import_one, r);
}

static void on_import_many(eim_err_t err, const char *tag, const char *json, void *ctx)
{
    (void)tag;
    req_t *r = ctx;
    if (err) {
        storage_problem(r, err, "not found");
        req_free(r);
        return;
    }
    json_t *results = parse_storage_json(json);
    json_t *summary = json_pack("{s:i, s:i, s:i, s:i, s:i}", "CREATED", 0, "UPDATED", 0, "CONFLICT",
                                0, "UNKNOWN_EIM_ID", 0, "DUPLICATE", 0);
    size_t i;
    json_t *item;
    json_array_foreach(results, i, item)
    {
        const char *outcome = text_or_null(item, "outcome");
        json_t *n = outcome ? json_object_get(summary, outcome) : NULL;
        if (n)
            json_integer_set(n, json_integer_value(n) + 1);
    }
    respond_json(r, 200, json_pack("{s:o, s:o}", "summary", summary, "results", results), NULL);
    req_free(r);
}

/*
 * The batch member of a bulk request: a non-empty array of at most
 * api.max_batch items. Returns it, or NULL after adding a field error (absent
 * or empty), or NULL with *answered set after answering 413 and freeing r
 * (too long; errors is released then).
 */
static json_t *batch_array(req_t *r, const char *member, const char *empty_reason,
                           const char *items, json_t *errors, bool *answered)
{
    *answered = false;
    json_t *list = json_object_get(r->body, member);
    if (!json_is_array(list) || json_array_size(list) == 0) {
        add_error(errors, member, empty_reason);
        return NULL;
    }
    if (json_array_size(list) > (size_t)r->api->options.max_batch) {
        json_decref(errors);
        char msg[96];
        snprintf(msg, sizeof(msg), "at most %d %s", r->api->options.max_batch, items);
        field_problem(r, 413, member, msg);
        req_free(r);
        *answered = true;
        return NULL;
    }
    return list;
}

static void euicc_import_many(req_t *r)
{
    static const char *const allowed[] = {"euiccs", NULL};
    json_t *errors = json_array();
    check_members(r->body, allowed, "", errors);
    bool answered;
    json_t *list = batch_array(r, "euiccs", "required: a non-empty array", "eUICCs per import",
                               errors, &answered);
    if (answered)
        return;
    if (list) {
        size_t i;
        json_t *e;
        json_array_foreach(list, i, e)
        {
            char prefix[32];
            snprintf(prefix, sizeof(prefix), "euiccs[%zu].", i);
            validate_euicc(e, prefix, errors);
        }
    }
    if (json_array_size(errors)) {
        bad_request(r, errors);
        req_free(r);
        return;
    }
    json_decref(errors);
    r->text2 = json_dumps(list, JSON_COMPACT);
    eim_store_euiccs_import(r->api->options.pool, r->who.tenant, r->text2, on_import_many, r);
}

static void on_page(eim_err_t err, const char *tag, const char *json, void *ctx)
{
    req_t *r = ctx;
    if (err)
        storage_problem(r, err, "no such eUICC");
    else
        respond_json(r, 200, page_view(tag, json, r->route != ROUTE_EUICCS), NULL);
    req_free(r);
}

static void euiccs_list(req_t *r)
{
    static const char *const allowed[] = {"eimId", "hasPendingOperations", NULL};
    query_pair_t pairs[MAX_QUERY_PAIRS];
    size_t n;
    eim_store_euicc_filter_t filter = {.has_pending = -1};
    if (!read_query(r, allowed, pairs, &n, &filter.limit)) {
        req_free(r);
        return;
    }
    const char *pending = query_get(pairs, n, "hasPendingOperations");
    if (pending) {
        if (strcmp(pending, "true") == 0 || strcmp(pending, "false") == 0) {
            filter.has_pending = pending[0] == 't';
        } else {
            field_problem(r, 400, "hasPendingOperations", "must be true or false");
            req_free(r);
            return;
        }
    }
    filter.eim_id = query_get(pairs, n, "eimId");
    char cursor[33];
    const char *c = query_get(pairs, n, "cursor");
    if (c && !normalize_eid(c, cursor)) {
        field_problem(r, 400, "cursor", "not a cursor of this list");
        req_free(r);
        return;
    }
    filter.cursor = c ? cursor : NULL;
    eim_store_euiccs_list(r->api->options.pool, r->who.tenant, &filter, on_page, r);
}

static void on_removed(eim_err_t err, const char *tag, const char *json, void *ctx)
{
    (void)json;
    req_t *r = ctx;
    if (err)
        storage_problem(r, err, "no such eUICC");
    else if (strcmp(tag, "removed") != 0)
        problem(r, 409, "a package is in flight on this eUICC; retry after its result");
    else
        eim_http_respond(r->ex, 204, NULL, NULL, NULL, 0);
    req_free(r);
}

/* ---- operations --------------------------------------------------------- */

static void on_enqueued(eim_err_t err, const char *tag, const char *json, void *ctx)
{
    req_t *r = ctx;
    if (err) {
        storage_problem(r, err, "no such eUICC");
    } else if (!tag || strcmp(tag, "mismatch") == 0) {
        field_problem(r, 422, "Idempotency-Key",
                      "this key was used for a different request; use a new key");
    } else {
        json_t *raw = parse_storage_json(json);
        json_t *view = operation_view(raw);
        json_decref(raw);
        char header[128];
        snprintf(header, sizeof(header), "Location: " PREFIX "/operations/%s\r\n",
                 text_or_null(view, "operationId") ? text_or_null(view, "operationId") : "");
        respond_json(r, strcmp(tag, "created") == 0 ? 202 : 200, view, header);
    }
    req_free(r);
}

static void op_enqueue(req_t *r)
{
    const char *key = eim_http_request_header(r->request, "Idempotency-Key");
    if (key) {
        size_t len = strlen(key);
        bool printable = len >= 1 && len <= 200;
        for (size_t i = 0; printable && i < len; i++)
            printable = key[i] >= 0x21 && key[i] <= 0x7E;
        if (!printable) {
            field_problem(r, 400, "Idempotency-Key", "must be 1 to 200 printable ASCII characters");
            req_free(r);
            return;
        }
        snprintf(r->idempotency_key, sizeof(r->idempotency_key), "%s", key);
        r->spec.idempotency_key = r->idempotency_key;
    }
    json_t *errors = json_array();
    check_members(r->body, op_members, "", errors);
    validate_op_spec(r, r->body, errors);
    if (json_array_size(errors)) {
        bad_request(r, errors);
        req_free(r);
        return;
    }
    json_decref(errors);
    r->spec.eid = r->id;
    r->spec.actor = r->actor;
    eim_store_op_enqueue(r->api->options.pool, r->who.tenant, &r->spec, on_enqueued, r);
}

static void on_operation(eim_err_t err, const char *tag, const char *json, void *ctx)
{
    req_t *r = ctx;
    if (err) {
        storage_problem(r, err, "no such operation");
    } else if (strcmp(tag, "not_cancellable") == 0) {
        json_t *raw = parse_storage_json(json);
        char msg[128];
        snprintf(msg, sizeof(msg),
                 "the operation is %s: only operations not yet delivered "
                 "(QUEUED) can be cancelled",
                 text_or_null(raw, "state") ? text_or_null(raw, "state") : "finished");
        json_decref(raw);
        problem(r, 409, msg);
    } else {
        json_t *raw = parse_storage_json(json);
        respond_json(r, 200, operation_view(raw), NULL);
        json_decref(raw);
    }
    req_free(r);
}

static void ops_list(req_t *r)
{
    static const char *const global[] = {"eid", "state", "status", "kind", "campaignId", NULL};
    static const char *const device[] = {"state", "status", "kind", "campaignId", NULL};
    query_pair_t pairs[MAX_QUERY_PAIRS];
    size_t n;
    eim_store_op_filter_t filter = {0};
    if (!read_query(r, r->route == ROUTE_OPS ? global : device, pairs, &n, &filter.limit)) {
        req_free(r);
        return;
    }
    char eid[33], cursor[37], campaign[37], states[64];
    const char *v = query_get(pairs, n, "eid");
    if (r->route == ROUTE_EUICC_OPS) {
        filter.eid = r->id;
    } else if (v) {
        if (!normalize_eid(v, eid)) {
            field_problem(r, 400, "eid", "must be 32 hexadecimal digits");
            req_free(r);
            return;
        }
        filter.eid = eid;
    }
    const char *state = query_get(pairs, n, "state");
    const char *status = query_get(pairs, n, "status");
    if (state && status) {
        field_problem(r, 400, "status", "give state or status, not both");
        req_free(r);
        return;
    }
    if (state) {
        eim_op_state_t parsed;
        if (eim_op_state_parse(state, &parsed) != EIM_OK) {
            field_problem(r, 400, "state",
                          "must be QUEUED, DELIVERED, RESULT_OK, RESULT_ERROR, DONE, EXPIRED or "
                          "CANCELLED");
            req_free(r);
            return;
        }
        snprintf(states, sizeof(states), "{%s}", eim_op_state_name(parsed));
        filter.states = states;
    } else if (status) {
        if (strcmp(status, "ACCEPTED") == 0) {
            filter.states = "{QUEUED,DELIVERED}";
        } else if (strcmp(status, "COMPLETED") == 0) {
            filter.states = "{RESULT_OK,RESULT_ERROR,DONE,EXPIRED,CANCELLED}";
        } else {
            field_problem(r, 400, "status", "must be ACCEPTED or COMPLETED");
            req_free(r);
            return;
        }
    }
    filter.kind = query_get(pairs, n, "kind");
    v = query_get(pairs, n, "campaignId");
    if (v && !normalize_uuid(v, campaign)) {
        field_problem(r, 400, "campaignId", "must be a UUID");
        req_free(r);
        return;
    }
    filter.campaign_id = v ? campaign : NULL;
    v = query_get(pairs, n, "cursor");
    if (v && !normalize_uuid(v, cursor)) {
        field_problem(r, 400, "cursor", "not a cursor of this list");
        req_free(r);
        return;
    }
    filter.cursor = v ? cursor : NULL;
    eim_store_ops_list(r->api->options.pool, r->who.tenant, &filter, on_page, r);
}

/* ---- campaigns ---------------------------------------------------------- */

static void on_campaign_created(eim_err_t err, const char *tag, const char *json, void *ctx)
{
    (void)tag;
    req_t *r = ctx;
    if (err) {
        storage_problem(r, err, "not found");
        req_free(r);
        return;
    }
    json_t *raw = parse_storage_json(json);
    json_t *view = json_object();
    json_object_set(view, "campaignId", json_object_get(raw, "id"));
    json_object_set(view, "requested", json_object_get(raw, "requested"));
    json_object_set(view, "accepted", json_object_get(raw, "accepted"));
    json_t *results = json_array();
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(raw, "results"), i, item)
    {
        json_t *out = json_pack("{s:O, s:O}", "eid", json_object_get(item, "eid"), "outcome",
                                json_object_get(item, "outcome"));
        json_t *op = json_object_get(item, "operationId");
        if (json_is_string(op))
            json_object_set(out, "operationId", op);
        json_array_append_new(results, out);
    }
    json_object_set_new(view, "results", results);
    char header[128];
    snprintf(header, sizeof(header), "Location: " PREFIX "/campaigns/%s\r\n",
             text_or_null(raw, "id") ? text_or_null(raw, "id") : "");
    json_decref(raw);
    respond_json(r, 202, view, header);
    req_free(r);
}

static void campaign_create(req_t *r)
{
    json_t *errors = json_array();
    check_members(r->body, campaign_members, "", errors);
    bool answered;
    json_t *eids = batch_array(r, "eids", "required: a non-empty array of EIDs",
                               "EIDs per campaign", errors, &answered);
    if (answered)
        return;
    if (eids) {
        /* upper-case what looks like an EID; anything else is reported
         * per item (NOT_FOUND) like an unknown EID */
        json_t *normalized = json_array();
        size_t i;
        json_t *e;
        json_array_foreach(eids, i, e)
        {
            char eid[33];
            if (!json_is_string(e) || json_string_length(e) > 64) {
                char field[32];
                snprintf(field, sizeof(field), "eids[%zu]", i);
                add_error(errors, field, "must be a string of at most 64 characters");
                continue;
            }
            json_array_append_new(normalized, normalize_eid(json_string_value(e), eid)
                                                  ? json_string(eid)
                                                  : json_copy(e));
        }
        r->text2 = json_dumps(normalized, JSON_COMPACT);
        json_decref(normalized);
    }
    validate_op_spec(r, r->body, errors);
    if (json_array_size(errors)) {
        bad_request(r, errors);
        req_free(r);
        return;
    }
    json_decref(errors);
    r->spec.actor = r->actor;
    eim_store_campaign_create(r->api->options.pool, r->who.tenant, r->text2, &r->spec,
                              on_campaign_created, r);
}

static void on_campaign(eim_err_t err, const char *tag, const char *json, void *ctx)
{
    (void)tag;
    req_t *r = ctx;
    if (err) {
        storage_problem(r, err, "no such campaign");
        req_free(r);
        return;
    }
    json_t *raw = parse_storage_json(json);
    static const char *const states[] = {"QUEUED", "DELIVERED", "RESULT_OK", "RESULT_ERROR",
                                         "DONE",   "EXPIRED",   "CANCELLED"};
    json_t *by_state = json_object();
    json_t *counts = json_object_get(raw, "states");
    json_int_t accepted = 0, completed = 0;
    for (size_t i = 0; i < 7; i++) {
        json_int_t n = json_integer_value(json_object_get(counts, states[i]));
        json_object_set_new(by_state, states[i], json_integer(n));
        if (i < 2)
            accepted += n;
        else
            completed += n;
    }
    json_int_t failed = json_integer_value(json_object_get(raw, "failed"));
    json_t *view =
        json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:{s:o, s:{s:I, s:I}, s:{s:I, s:I}}}",
                  "campaignId", json_object_get(raw, "id"), "kind", json_object_get(raw, "kind"),
                  "parameters", json_object_get(raw, "parameters"), "requested",
                  json_object_get(raw, "requested"), "accepted", json_object_get(raw, "accepted"),
                  "createdAt", json_object_get(raw, "createdAt"), "counts", "byState", by_state,
                  "byStatus", "ACCEPTED", accepted, "COMPLETED", completed, "byOutcome", "SUCCESS",
                  completed - failed, "FAILED", failed);
    json_decref(raw);
    respond_json(r, 200, view ? view : json_object(), NULL);
    req_free(r);
}

/* ---- routing and authentication ------------------------------------------ */

static void dispatch(req_t *r)
{
    eim_pg_pool_t *pool = r->api->options.pool;
    const char *tenant = r->who.tenant;
    const char *m = r->request->method;
    bool post = strcmp(m, "POST") == 0;
    switch (r->route) {
    case ROUTE_EUICCS:
        if (post)
            euicc_import_one(r);
        else
            euiccs_list(r);
        return;
    case ROUTE_EUICCS_IMPORT: euicc_import_many(r); return;
    case ROUTE_EUICC:
        if (strcmp(m, "DELETE") == 0)
            eim_store_euicc_remove(pool, tenant, r->id, r->actor, on_removed, r);
        else
            eim_store_euicc_get(pool, tenant, r->id, on_euicc_read, r);
        return;
    case ROUTE_EUICC_OPS:
        if (post)
            op_enqueue(r);
        else
            ops_list(r);
        return;
    case ROUTE_OPS: ops_list(r); return;
    case ROUTE_OP: eim_store_op_get(pool, tenant, r->id, on_operation, r); return;
    case ROUTE_OP_CANCEL:
        eim_store_op_cancel(pool, tenant, r->id, r->actor, on_operation, r);
        return;
    case ROUTE_CAMPAIGNS: campaign_create(r); return;
    case ROUTE_CAMPAIGN: eim_store_campaign_get(pool, tenant, r->id, on_campaign, r); return;
    }
}

/* Routes that carry a JSON body (415 for another media type). */
static bool needs_body(route_t route, const char *method)
{
    if (strcmp(method, "POST") != 0)
        return false;
    return route == ROUTE_EUICCS || route == ROUTE_EUICCS_IMPORT || route == ROUTE_EUICC_OPS ||
           route == ROUTE_CAMPAIGNS;
}

static bool is_json_media_type(const char *value)
{
    if (!value)
        return false;
    static const char want[] = "application/json";
    if (strncasecmp(value, want, sizeof(want) - 1) != 0)
        return false;
    char next = value[sizeof(want) - 1];
    return next == '\0' || next == ';' || next == ' ';
}

static void on_authenticated(eim_err_t err, const eim_api_principal_t *who, void *ctx)
{
    req_t *r = ctx;
    if (err) {
        storage_problem(r, err, "not found");
        req_free(r);
        return;
    }
    if (!who) {
        eim_rest_problem(r->ex, 401, "a valid API key is required (Authorization: Bearer)",
                         r->instance, NULL, "WWW-Authenticate: Bearer realm=\"eimd\"\r\n");
        req_free(r);
        return;
    }
    r->who = *who;
    snprintf(r->actor, sizeof(r->actor), "api:%s", who->key_id);
    if (r->write && !who->read_write) {
        problem(r, 403, "this API key is read-only");
        req_free(r);
        return;
    }
    if (needs_body(r->route, r->request->method)) {
        if (!is_json_media_type(eim_http_request_header(r->request, "Content-Type"))) {
            problem(r, 415, "the body must be application/json");
            req_free(r);
            return;
        }
        r->body = read_body(r);
        if (!r->body) {
            req_free(r);
            return;
        }
    }
    dispatch(r);
}

/* Matches path (after the prefix) to a route and its id; 0 when found,
 * else the status to answer (404). allow gets the methods of the route. */
static int match(const char *path, route_t *route, char id[40], const char **allow)
{
    char segs[4][48];
    size_t n = 0;
    const char *p = path;
    while (*p == '/') {
        p++;
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0 || len >= sizeof(segs[0]) || n == 4)
            return 404;
        memcpy(segs[n], p, len);
        segs[n][len] = '\0';
        n++;
        p += len;
    }
    if (*p || n == 0)
        return 404;
    id[0] = '\0';
    if (strcmp(segs[0], "euiccs") == 0) {
        if (n == 1) {
            *route = ROUTE_EUICCS;
            *allow = "GET, POST";
            return 0;
        }
        if (n == 2 && strcmp(segs[1], "import") == 0) {
            *route = ROUTE_EUICCS_IMPORT;
            *allow = "POST";
            return 0;
        }
        if (!normalize_eid(segs[1], id))
            return 404;
        if (n == 2) {
            *route = ROUTE_EUICC;
            *allow = "GET, DELETE";
            return 0;
        }
        if (n == 3 && strcmp(segs[2], "operations") == 0) {
            *route = ROUTE_EUICC_OPS;
            *allow = "GET, POST";
            return 0;
        }
        return 404;
    }
    bool ops = strcmp(segs[0], "operations") == 0;
    bool campaigns = strcmp(segs[0], "campaigns") == 0;
    if (!ops && !campaigns)
        return 404;
    if (n == 1) {
        *route = ops ? ROUTE_OPS : ROUTE_CAMPAIGNS;
        *allow = ops ? "GET" : "POST";
        return 0;
    }
    if (!normalize_uuid(segs[1], id))
        return 404;
    if (n == 2) {
        *route = ops ? ROUTE_OP : ROUTE_CAMPAIGN;
        *allow = "GET";
        return 0;
    }
    if (n == 3 && ops && strcmp(segs[2], "cancel") == 0) {
        *route = ROUTE_OP_CANCEL;
        *allow = "POST";
        return 0;
    }
    return 404;
}

static bool method_allowed(const char *allow, const char *method)
{
    size_t n = strlen(method);
    for (const char *p = allow; (p = strstr(p, method)) != NULL; p += n)
        if ((p == allow || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

void eim_rest_handle(eim_http_exchange_t *exchange, const eim_http_request_t *request, void *ctx)
{
    eim_rest_api_t *api = ctx;
    const char *path = request->path;
    char instance[160];
    snprintf(instance, sizeof(instance), "%s", path);
    if (strcmp(path, "/openapi.json") == 0) {
        if (strcmp(request->method, "GET") != 0) {
            eim_rest_problem(exchange, 405, "only GET", instance, NULL, "Allow: GET\r\n");
            return;
        }
        eim_http_respond(exchange, 200, "application/json", NULL, eim_rest_openapi_json,
                         eim_rest_openapi_json_len);
        return;
    }
    route_t route = ROUTE_EUICCS;
    char id[40];
    const char *allow = "";
    size_t prefix_len = strlen(PREFIX);
    if (strncmp(path, PREFIX, prefix_len) != 0 ||
        match(path + prefix_len, &route, id, &allow) != 0) {
        eim_rest_problem(exchange, 404, "no such resource", instance, NULL, NULL);
        return;
    }
    if (!method_allowed(allow, request->method)) {
        char header[64];
        snprintf(header, sizeof(header), "Allow: %s\r\n", allow);
        eim_rest_problem(exchange, 405, "method not allowed on this resource", instance, NULL,
                         header);
        return;
    }
    const char *auth = eim_http_request_header(request, "Authorization");
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) {
        eim_rest_problem(exchange, 401, "a valid API key is required (Authorization: Bearer)",
                         instance, NULL, "WWW-Authenticate: Bearer realm=\"eimd\"\r\n");
        return;
    }
    req_t *r = EIM_NEW(req_t);
    r->api = api;
    api->refs++;
    r->ex = exchange;
    r->request = request;
    r->route = route;
    r->write = strcmp(request->method, "GET") != 0;
    memcpy(r->id, id, sizeof(r->id));
    memcpy(r->instance, instance, sizeof(r->instance));
    const char *token = auth + 7;
    while (*token == ' ')
        token++;
    eim_api_key_verify(api->options.pool, token, on_authenticated, r);
}
