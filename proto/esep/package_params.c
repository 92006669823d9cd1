/*
 * Operation parameters (JSON) -> eUICC Package / BF52 / BF54 structures.
 * See package_params.h for the shapes; SGP.32 v1.2 Annex A for the fields
 * (brief §2.3-§2.6). After the member-by-member checks, the result is run
 * through the real encoder once, so nothing the encoder would refuse at
 * delivery time is accepted at enqueue time.
 */
#include "proto/esep/package_params.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "proto/base/text_codec.h"

#define PATH_MAX_LEN 96

typedef struct {
    eim_package_params_t *p;
    char *error;
    size_t error_size;
} pctx_t;

static eim_err_t fail(pctx_t *c, eim_err_t err, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static eim_err_t fail(pctx_t *c, eim_err_t err, const char *path, const char *fmt, ...)
{
    if (c->error && c->error_size > 0) {
        char reason[160];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(reason, sizeof(reason), fmt, ap);
        va_end(ap);
        if (path && *path)
            snprintf(c->error, c->error_size, "%s: %s", path, reason);
        else
            snprintf(c->error, c->error_size, "%s", reason);
    }
    return err;
}

static void join(char out[PATH_MAX_LEN], const char *base, const char *member)
{
    if (base && *base)
        snprintf(out, PATH_MAX_LEN, "%s.%s", base, member);
    else
        snprintf(out, PATH_MAX_LEN, "%s", member);
}

/* Bump allocation in the params' own storage (never reallocated, so spans
 * stay valid). */
static uint8_t *take(pctx_t *c, size_t n)
{
    eim_package_params_t *p = c->p;
    if (n > p->storage_cap - p->storage_used)
        return NULL;
    uint8_t *at = p->storage + p->storage_used;
    p->storage_used += n;
    return at;
}

static eim_err_t keep(pctx_t *c, const char *path, const void *data, size_t len, eim_span_t *out)
{
    uint8_t *at = take(c, len);
    if (!at)
        return fail(c, EIM_ERR_LIMIT, path, "parameters too large");
    if (len)
        memcpy(at, data, len);
    *out = eim_span(at, len);
    return EIM_OK;
}

/* Every member of obj must be in allowed (NULL-terminated). */
static eim_err_t only_members(pctx_t *c, json_t *obj, const char *path, const char *const *allowed)
{
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        bool ok = false;
        for (size_t i = 0; allowed[i]; i++)
            if (strcmp(key, allowed[i]) == 0)
                ok = true;
        if (!ok) {
            char sub[PATH_MAX_LEN];
            join(sub, path, key);
            return fail(c, EIM_ERR_INVALID_ARG, sub, "unknown member");
        }
    }
    return EIM_OK;
}

static eim_err_t want_object(pctx_t *c, json_t *v, const char *path)
{
    if (!json_is_object(v))
        return fail(c, EIM_ERR_INVALID_ARG, path, "must be an object");
    return EIM_OK;
}

/* UTF-8 string of min..max bytes (absent: *out stays EIM_SPAN_NULL). */
static eim_err_t get_string(pctx_t *c, json_t *obj, const char *base, const char *key,
                            bool required, size_t min, size_t max, eim_span_t *out)
{
    char path[PATH_MAX_LEN];
    join(path, base, key);
    json_t *v = json_object_get(obj, key);
    *out = EIM_SPAN_NULL;
    if (!v)
        return required ? fail(c, EIM_ERR_INVALID_ARG, path, "is required") : EIM_OK;
    if (!json_is_string(v))
        return fail(c, EIM_ERR_INVALID_ARG, path, "must be a string");
    size_t len = json_string_length(v);
    if (len < min || len > max)
        return fail(c, EIM_ERR_INVALID_ARG, path, "length must be %zu..%zu bytes", min, max);
    if (memchr(json_string_value(v), '\0', len))
        return fail(c, EIM_ERR_INVALID_ARG, path, "must not contain NUL");
    return keep(c, path, json_string_value(v), len, out);
}

typedef enum { TEXT_HEX, TEXT_BASE64 } text_kind_t;

static eim_err_t get_bytes(pctx_t *c, json_t *obj, const char *base, const char *key,
                           text_kind_t kind, bool required, size_t min, size_t max, eim_span_t *out)
{
    char path[PATH_MAX_LEN];
    join(path, base, key);
    json_t *v = json_object_get(obj, key);
    *out = EIM_SPAN_NULL;
    if (!v)
        return required ? fail(c, EIM_ERR_INVALID_ARG, path, "is required") : EIM_OK;
    if (!json_is_string(v))
        return fail(c, EIM_ERR_INVALID_ARG, path, "must be a %s string",
                    kind == TEXT_HEX ? "hex" : "base64");
    eim_buf_t buf;
    eim_buf_init(&buf, EIM_PACKAGE_PARAMS_MAX);
    size_t bad = 0;
    eim_err_t err =
        kind == TEXT_HEX
            ? eim_hex_decode(json_string_value(v), json_string_length(v), &buf, &bad)
            : eim_base64_decode(json_string_value(v), json_string_length(v), &buf, &bad);
    if (err) {
        err = fail(c, EIM_ERR_INVALID_ARG, path, "not valid %s (at character %zu)",
                   kind == TEXT_HEX ? "hex" : "base64", bad);
        goto out;
    }
    if (buf.len < min || buf.len > max) {
        err = fail(c, EIM_ERR_INVALID_ARG, path, "must decode to %zu..%zu bytes, got %zu", min, max,
                   buf.len);
        goto out;
    }
    err = keep(c, path, buf.data, buf.len, out);
out:
    eim_buf_free(&buf);
    return err;
}

static eim_err_t get_int(pctx_t *c, json_t *obj, const char *base, const char *key, bool required,
                         int64_t min, int64_t max, bool *has, int64_t *out)
{
    char path[PATH_MAX_LEN];
    join(path, base, key);
    json_t *v = json_object_get(obj, key);
    if (has)
        *has = false;
    if (!v)
        return required ? fail(c, EIM_ERR_INVALID_ARG, path, "is required") : EIM_OK;
    if (!json_is_integer(v))
        return fail(c, EIM_ERR_INVALID_ARG, path, "must be an integer");
    json_int_t n = json_integer_value(v);
    if (n < min || n > max)
        return fail(c, EIM_ERR_INVALID_ARG, path, "must be %" PRId64 "..%" PRId64, min, max);
    *out = (int64_t)n;
    if (has)
        *has = true;
    return EIM_OK;
}

/* A NULL flag: true = present; false or absent = absent. */
static eim_err_t get_flag(pctx_t *c, json_t *obj, const char *base, const char *key, bool *out)
{
    char path[PATH_MAX_LEN];
    join(path, base, key);
    json_t *v = json_object_get(obj, key);
    *out = false;
    if (!v)
        return EIM_OK;
    if (!json_is_boolean(v))
        return fail(c, EIM_ERR_INVALID_ARG, path, "must be true or false");
    *out = json_is_true(v);
    return EIM_OK;
}

/* Dotted OID text -> DER contents octets (X.690 §8.19). */
static eim_err_t get_oid(pctx_t *c, json_t *obj, const char *base, const char *key, eim_span_t *out)
{
    char path[PATH_MAX_LEN];
    join(path, base, key);
    json_t *v = json_object_get(obj, key);
    *out = EIM_SPAN_NULL;
    if (!v)
        return EIM_OK;
    if (!json_is_string(v))
        return fail(c, EIM_ERR_INVALID_ARG, path, "must be a dotted OID string");
    const char *s = json_string_value(v);
    uint64_t arcs[32];
    size_t n = 0;
    while (*s) {
        if (n == 32)
            return fail(c, EIM_ERR_INVALID_ARG, path, "too many arcs");
        if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] >= '0' && s[1] <= '9'))
            return fail(c, EIM_ERR_INVALID_ARG, path, "not a dotted OID");
        uint64_t a = 0;
        while (*s >= '0' && *s <= '9') {
            if (a > (UINT64_MAX - 9) / 10 / 2)
                return fail(c, EIM_ERR_INVALID_ARG, path, "arc too large");
            a = a * 10 + (uint64_t)(*s++ - '0');
        }
        arcs[n++] = a;
        if (*s == '.' && s[1] != '\0')
            s++;
        else if (*s)
            return fail(c, EIM_ERR_INVALID_ARG, path, "not a dotted OID");
    }
    if (n < 2 || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] > 39))
        return fail(c, EIM_ERR_INVALID_ARG, path, "not a valid OID");
    uint8_t der[32 * 10];
    size_t len = 0;
    for (size_t i = 1; i < n; i++) {
        uint64_t a = i == 1 ? arcs[0] * 40 + arcs[1] : arcs[i];
        uint8_t tmp[10];
        size_t t = 0;
        do {
            tmp[t++] = (uint8_t)(a & 0x7F);
            a >>= 7;
        } while (a);
        while (t > 0) {
            t--;
            der[len++] = (uint8_t)(tmp[t] | (t > 0 ? 0x80 : 0));
        }
    }
    return keep(c, path, der, len, out);
}

static eim_err_t get_iccid(pctx_t *c, json_t *obj, const char *base, eim_span_t *out)
{
    return get_bytes(c, obj, base, "iccid", TEXT_HEX, true, EIM_ESEP_ICCID_LEN, EIM_ESEP_ICCID_LEN,
                     out);
}

/* ---- PSMOs ---------------------------------------------------------------- */

static eim_err_t parse_list_profile_info(pctx_t *c, json_t *o, const char *path,
                                         eim_list_profile_info_t *l)
{
    static const char *const members[] = {"searchCriteria", "tagList", NULL};
    eim_err_t err = only_members(c, o, path, members);
    if (err)
        return err;
    json_t *sc = json_object_get(o, "searchCriteria");
    if (sc) {
        char sp[PATH_MAX_LEN];
        join(sp, path, "searchCriteria");
        if ((err = want_object(c, sc, sp)))
            return err;
        static const char *const crit[] = {"iccid", "isdpAid", "profileClass", NULL};
        if ((err = only_members(c, sc, sp, crit)))
            return err;
        if (json_object_size(sc) != 1)
            return fail(c, EIM_ERR_INVALID_ARG, sp,
                        "must hold exactly one of iccid, isdpAid, profileClass");
        if (json_object_get(sc, "iccid")) {
            l->search = EIM_SEARCH_ICCID;
            err = get_iccid(c, sc, sp, &l->search_value);
        } else if (json_object_get(sc, "isdpAid")) {
            l->search = EIM_SEARCH_ISDP_AID;
            err = get_bytes(c, sc, sp, "isdpAid", TEXT_HEX, true, 1, EIM_ESEP_AID_MAX,
                            &l->search_value);
        } else {
            l->search = EIM_SEARCH_PROFILE_CLASS;
            err = get_int(c, sc, sp, "profileClass", true, 0, 2, NULL, &l->profile_class);
        }
        if (err)
            return err;
    }
    return get_bytes(c, o, path, "tagList", TEXT_HEX, false, 0, 64, &l->tag_list);
}

static eim_err_t parse_psmo(pctx_t *c, json_t *item, size_t index, eim_psmo_t *psmo)
{
    char path[PATH_MAX_LEN];
    snprintf(path, sizeof(path), "psmos[%zu]", index);
    if (!json_is_object(item) || json_object_size(item) != 1)
        return fail(c, EIM_ERR_INVALID_ARG, path, "must be an object with exactly one member");
    const char *name = json_object_iter_key(json_object_iter(item));
    json_t *o = json_object_iter_value(json_object_iter(item));
    char sub[PATH_MAX_LEN];
    join(sub, path, name);
    eim_err_t err = want_object(c, o, sub);
    if (err)
        return err;
    memset(psmo, 0, sizeof(*psmo));
    static const char *const m_iccid[] = {"iccid", NULL};
    static const char *const m_enable[] = {"iccid", "rollbackFlag", NULL};
    static const char *const m_none[] = {NULL};
    static const char *const m_cie[] = {"immediateEnableFlag", "defaultSmdpOid",
                                        "defaultSmdpAddress", NULL};
    static const char *const m_dp[] = {"defaultDpAddress", NULL};
    if (strcmp(name, "enable") == 0) {
        psmo->kind = EIM_PSMO_ENABLE;
        if (!(err = only_members(c, o, sub, m_enable)) &&
            !(err = get_iccid(c, o, sub, &psmo->iccid)))
            err = get_flag(c, o, sub, "rollbackFlag", &psmo->rollback_flag);
    } else if (strcmp(name, "disable") == 0 || strcmp(name, "delete") == 0 ||
               strcmp(name, "setFallbackAttribute") == 0) {
        psmo->kind = name[0] == 'd' ? (name[1] == 'i' ? EIM_PSMO_DISABLE : EIM_PSMO_DELETE)
                                    : EIM_PSMO_SET_FALLBACK_ATTRIBUTE;
        if (!(err = only_members(c, o, sub, m_iccid)))
            err = get_iccid(c, o, sub, &psmo->iccid);
    } else if (strcmp(name, "listProfileInfo") == 0) {
        psmo->kind = EIM_PSMO_LIST_PROFILE_INFO;
        err = parse_list_profile_info(c, o, sub, &psmo->list_profile_info);
    } else if (strcmp(name, "getRAT") == 0) {
        psmo->kind = EIM_PSMO_GET_RAT;
        err = only_members(c, o, sub, m_none);
    } else if (strcmp(name, "unsetFallbackAttribute") == 0) {
        psmo->kind = EIM_PSMO_UNSET_FALLBACK_ATTRIBUTE;
        err = only_members(c, o, sub, m_none);
    } else if (strcmp(name, "configureImmediateEnable") == 0) {
        psmo->kind = EIM_PSMO_CONFIGURE_IMMEDIATE_ENABLE;
        if (!(err = only_members(c, o, sub, m_cie)) &&
            !(err = get_flag(c, o, sub, "immediateEnableFlag", &psmo->immediate_enable_flag)) &&
            !(err = get_oid(c, o, sub, "defaultSmdpOid", &psmo->default_smdp_oid)))
            err = get_string(c, o, sub, "defaultSmdpAddress", false, 1, 255,
                             &psmo->default_smdp_address);
    } else if (strcmp(name, "setDefaultDpAddress") == 0) {
        psmo->kind = EIM_PSMO_SET_DEFAULT_DP_ADDRESS;
        if (!(err = only_members(c, o, sub, m_dp)))
            err =
                get_string(c, o, sub, "defaultDpAddress", true, 1, 255, &psmo->default_dp_address);
    } else {
        err = fail(c, EIM_ERR_INVALID_ARG, sub, "unknown PSMO");
    }
    return err;
}

/* ---- eCOs ----------------------------------------------------------------- */

static eim_err_t parse_key_data(pctx_t *c, json_t *obj, const char *base, const char *key,
                                const char *alt_key, const char *alt_cert, eim_key_data_t *out)
{
    char path[PATH_MAX_LEN];
    join(path, base, key);
    json_t *v = json_object_get(obj, key);
    memset(out, 0, sizeof(*out));
    if (!v)
        return EIM_OK;
    eim_err_t err = want_object(c, v, path);
    if (err)
        return err;
    const char *const members[] = {alt_key, alt_cert, NULL};
    if ((err = only_members(c, v, path, members)))
        return err;
    if (json_object_size(v) != 1)
        return fail(c, EIM_ERR_INVALID_ARG, path, "must hold exactly one of %s, %s", alt_key,
                    alt_cert);
    bool is_key = json_object_get(v, alt_key) != NULL;
    eim_span_t der;
    if ((err =
             get_bytes(c, v, path, is_key ? alt_key : alt_cert, TEXT_BASE64, true, 2, 4096, &der)))
        return err;
    /* The encoder wants the SEQUENCE contents (the implicit [0]/[1] replaces
     * the 30 tag): strip one well-formed 30 header. */
    eim_der_reader_t r;
    eim_der_error_t derr;
    eim_der_elem_t e;
    eim_der_reader_init(&r, der.ptr, der.len, &derr);
    char sub[PATH_MAX_LEN];
    join(sub, path, is_key ? alt_key : alt_cert);
    if (eim_der_read_tag(&r, 0x30, &e) != EIM_OK || !eim_der_at_end(&r))
        return fail(c, EIM_ERR_INVALID_ARG, sub, "must be one DER SEQUENCE (%s)",
                    derr.reason ? derr.reason : "trailing bytes");
    out->kind = is_key ? EIM_KEY_DATA_PUBLIC_KEY : EIM_KEY_DATA_CERTIFICATE;
    out->contents = e.value;
    return EIM_OK;
}

static eim_err_t parse_protocols(pctx_t *c, json_t *obj, const char *base, eim_span_t *out)
{
    static const char *const names[] = {"eimRetrieveHttps", "eimRetrieveCoaps", "eimInjectHttps",
                                        "eimInjectCoaps", "eimProprietary"};
    char path[PATH_MAX_LEN];
    join(path, base, "eimSupportedProtocol");
    json_t *v = json_object_get(obj, "eimSupportedProtocol");
    *out = EIM_SPAN_NULL;
    if (!v)
        return EIM_OK;
    if (!json_is_array(v))
        return fail(c, EIM_ERR_INVALID_ARG, path, "must be an array of bit names");
    unsigned bits = 0;
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item)
    {
        int found = -1;
        for (int b = 0; b < 5 && json_is_string(item); b++)
            if (strcmp(json_string_value(item), names[b]) == 0)
                found = b;
        if (found < 0)
            return fail(c, EIM_ERR_INVALID_ARG, path,
                        "element %zu is not one of eimRetrieveHttps, eimRetrieveCoaps, "
                        "eimInjectHttps, eimInjectCoaps, eimProprietary",
                        i);
        bits |= 1u << found;
    }
    /* DER named-bit BIT STRING: trailing zero bits removed. */
    uint8_t bs[2] = {0, 0};
    if (bits == 0)
        return keep(c, path, bs, 1, out);
    int highest = 0;
    for (int b = 0; b < 5; b++)
        if (bits & (1u << b))
            highest = b;
    for (int b = 0; b < 5; b++)
        if (bits & (1u << b))
            bs[1] |= (uint8_t)(0x80 >> b);
    bs[0] = (uint8_t)(7 - highest);
    return keep(c, path, bs, 2, out);
}

static eim_err_t parse_config(pctx_t *c, json_t *o, const char *path, eim_eim_config_t *cfg)
{
    static const char *const members[] = {"eimId",
                                          "eimFqdn",
                                          "eimIdType",
                                          "counterValue",
                                          "associationToken",
                                          "eimPublicKeyData",
                                          "trustedPublicKeyDataTls",
                                          "eimSupportedProtocol",
                                          "euiccCiPKId",
                                          "indirectProfileDownload",
                                          NULL};
    eim_err_t err = only_members(c, o, path, members);
    if (err)
        return err;
    int64_t counter = 0;
    if ((err = get_string(c, o, path, "eimId", true, 1, EIM_ESEP_EIM_ID_MAX, &cfg->eim_id)) ||
        (err = get_string(c, o, path, "eimFqdn", false, 1, 255, &cfg->eim_fqdn)) ||
        (err = get_int(c, o, path, "eimIdType", false, 1, 3, &cfg->has_eim_id_type,
                       &cfg->eim_id_type)) ||
        (err = get_int(c, o, path, "counterValue", false, 0, 8388607, &cfg->has_counter_value,
                       &counter)) ||
        (err = get_int(c, o, path, "associationToken", false, INT64_MIN, INT64_MAX,
                       &cfg->has_association_token, &cfg->association_token)) ||
        (err = parse_key_data(c, o, path, "eimPublicKeyData", "eimPublicKey", "eimCertificate",
                              &cfg->eim_public_key_data)) ||
        (err = parse_key_data(c, o, path, "trustedPublicKeyDataTls", "trustedEimPkTls",
                              "trustedCertificateTls", &cfg->trusted_public_key_data_tls)) ||
        (err = parse_protocols(c, o, path, &cfg->eim_supported_protocol)) ||
        (err = get_bytes(c, o, path, "euiccCiPKId", TEXT_HEX, false, 1, 32, &cfg->euicc_ci_pkid)) ||
        (err = get_flag(c, o, path, "indirectProfileDownload", &cfg->indirect_profile_download)))
        return err;
    cfg->counter_value = (uint64_t)counter;
    return EIM_OK;
}

static eim_err_t parse_eco(pctx_t *c, json_t *item, size_t index, eim_eco_t *eco)
{
    char path[PATH_MAX_LEN];
    snprintf(path, sizeof(path), "ecos[%zu]", index);
    if (!json_is_object(item) || json_object_size(item) != 1)
        return fail(c, EIM_ERR_INVALID_ARG, path, "must be an object with exactly one member");
    const char *name = json_object_iter_key(json_object_iter(item));
    json_t *o = json_object_iter_value(json_object_iter(item));
    char sub[PATH_MAX_LEN];
    join(sub, path, name);
    eim_err_t err = want_object(c, o, sub);
    if (err)
        return err;
    memset(eco, 0, sizeof(*eco));
    static const char *const m_id[] = {"eimId", NULL};
    static const char *const m_none[] = {NULL};
    if (strcmp(name, "addEim") == 0 || strcmp(name, "updateEim") == 0) {
        eco->kind = name[0] == 'a' ? EIM_ECO_ADD_EIM : EIM_ECO_UPDATE_EIM;
        err = parse_config(c, o, sub, &eco->config);
    } else if (strcmp(name, "deleteEim") == 0) {
        eco->kind = EIM_ECO_DELETE_EIM;
        if (!(err = only_members(c, o, sub, m_id)))
            err = get_string(c, o, sub, "eimId", true, 1, EIM_ESEP_EIM_ID_MAX, &eco->eim_id);
    } else if (strcmp(name, "listEim") == 0) {
        eco->kind = EIM_ECO_LIST_EIM;
        err = only_members(c, o, sub, m_none);
    } else {
        err = fail(c, EIM_ERR_INVALID_ARG, sub, "unknown eCO");
    }
    return err;
}

/* ---- the four kinds ------------------------------------------------------- */

static eim_err_t parse_list(pctx_t *c, json_t *root, bool psmo)
{
    const char *key = psmo ? "psmos" : "ecos";
    static const char *const m_psmo[] = {"psmos", "purpose", NULL};
    static const char *const m_eco[] = {"ecos", "purpose", NULL};
    eim_err_t err = only_members(c, root, "", psmo ? m_psmo : m_eco);
    if (err)
        return err;
    json_t *list = json_object_get(root, key);
    if (!json_is_array(list) || json_array_size(list) == 0)
        return fail(c, EIM_ERR_INVALID_ARG, key, "must be a non-empty array");
    size_t max = psmo ? EIM_ESEP_MAX_PSMOS : EIM_ESEP_MAX_ECOS;
    if (json_array_size(list) > max)
        return fail(c, EIM_ERR_LIMIT, key, "at most %zu entries", max);
    eim_euicc_package_t *pkg = &c->p->package;
    pkg->list = psmo ? EIM_PACKAGE_PSMO_LIST : EIM_PACKAGE_ECO_LIST;
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        err = psmo ? parse_psmo(c, item, i, &pkg->psmos[i]) : parse_eco(c, item, i, &pkg->ecos[i]);
        if (err)
            return err;
        pkg->count = i + 1;
    }
    /* Dry-run encode: anything the encoder would refuse at delivery time. */
    static const uint8_t eid[EIM_ESEP_EID_LEN] = {0x89};
    eim_euicc_package_t probe = *pkg;
    probe.eim_id = eim_span("x", 1);
    probe.eid = eim_span(eid, sizeof(eid));
    probe.counter_value = 1;
    eim_buf_t buf;
    eim_buf_init(&buf, EIM_ESEP_MAX_MESSAGE);
    err = eim_esep_package_encode_signed(&probe, &buf);
    eim_buf_free(&buf);
    if (err)
        return fail(c, err == EIM_ERR_LIMIT ? EIM_ERR_LIMIT : EIM_ERR_INVALID_ARG, key,
                    "refused by the eUICC Package encoder (%s)", eim_strerror(err));
    return EIM_OK;
}

static eim_err_t parse_data_request(pctx_t *c, json_t *root)
{
    static const char *const members[] = {"tagList",
                                          "euiccCiPKIdentifierToBeUsed",
                                          "searchCriteriaNotification",
                                          "searchCriteriaEuiccPackageResult",
                                          "purpose",
                                          "operation",
                                          "counter_value",
                                          NULL};
    eim_esipa_euicc_data_request_t *d = &c->p->data_request;
    eim_err_t err = only_members(c, root, "", members);
    if (err)
        return err;
    if ((err = get_bytes(c, root, "", "tagList", TEXT_HEX, false, 1, 64, &d->tag_list)) ||
        (err = get_bytes(c, root, "", "euiccCiPKIdentifierToBeUsed", TEXT_HEX, false, 1, 32,
                         &d->euicc_ci_pkid)))
        return err;
    d->has_euicc_ci_pkid = eim_esep_present(d->euicc_ci_pkid);
    json_t *n = json_object_get(root, "searchCriteriaNotification");
    if (n) {
        const char *p = "searchCriteriaNotification";
        static const char *const m[] = {"seqNumber", "profileManagementOperation", NULL};
        if ((err = want_object(c, n, p)) || (err = only_members(c, n, p, m)))
            return err;
        if (json_object_size(n) != 1)
            return fail(c, EIM_ERR_INVALID_ARG, p,
                        "must hold exactly one of seqNumber, profileManagementOperation");
        if (json_object_get(n, "seqNumber")) {
            d->notification_search = EIM_ESIPA_NOTIFICATION_SEARCH_SEQ_NUMBER;
            if ((err = get_int(c, n, p, "seqNumber", true, 0, INT64_MAX, NULL,
                               &d->notification_seq_number)))
                return err;
        } else {
            static const char *const ev[] = {"install", "enable", "disable", "delete"};
            json_t *a = json_object_get(n, "profileManagementOperation");
            char sp[PATH_MAX_LEN];
            join(sp, p, "profileManagementOperation");
            if (!json_is_array(a) || json_array_size(a) == 0)
                return fail(c, EIM_ERR_INVALID_ARG, sp, "must be a non-empty array");
            size_t i;
            json_t *item;
            json_array_foreach(a, i, item)
            {
                int found = -1;
                for (int b = 0; b < 4 && json_is_string(item); b++)
                    if (strcmp(json_string_value(item), ev[b]) == 0)
                        found = b;
                if (found < 0)
                    return fail(c, EIM_ERR_INVALID_ARG, sp,
                                "element %zu is not one of install, enable, disable, delete", i);
                d->notification_event |= 1u << found;
            }
            d->notification_search = EIM_ESIPA_NOTIFICATION_SEARCH_EVENT;
        }
    }
    json_t *r = json_object_get(root, "searchCriteriaEuiccPackageResult");
    bool fetch_results = false;
    if (r) {
        const char *p = "searchCriteriaEuiccPackageResult";
        static const char *const m[] = {"seqNumber", NULL};
        fetch_results = true;
        if (json_is_true(r)) {
            /* every stored result: tag A2 without a seqNumber filter */
        } else if (json_is_object(r)) {
            if ((err = only_members(c, r, p, m)) ||
                (err = get_int(c, r, p, "seqNumber", true, 0, INT64_MAX,
                               &d->has_package_result_seq_number, &d->package_result_seq_number)))
                return err;
        } else {
            return fail(c, EIM_ERR_INVALID_ARG, p, "must be true or {\"seqNumber\": n}");
        }
    }
    if (!eim_esep_present(d->tag_list)) {
        if (!fetch_results)
            return fail(c, EIM_ERR_INVALID_ARG, "tagList", "is required");
        static const uint8_t a2[] = {0xA2};
        if ((err = keep(c, "tagList", a2, 1, &d->tag_list)))
            return err;
    }
    if (!eim_esipa_euicc_data_tag_list_valid(d->tag_list))
        return fail(c, EIM_ERR_INVALID_ARG, "tagList",
                    "only IpaEuiccData tags A0 81 A2 BF20 BF22 83 84 A5 A6 87 A8 A9 are allowed "
                    "(profiles are read with the listProfileInfo PSMO)");
    eim_buf_t buf;
    eim_buf_init(&buf, EIM_ESEP_MAX_MESSAGE);
    err = eim_esipa_euicc_data_request_encode(d, &buf);
    eim_buf_free(&buf);
    if (err)
        return fail(c, EIM_ERR_INVALID_ARG, "", "refused by the IpaEuiccDataRequest encoder (%s)",
                    eim_strerror(err));
    return EIM_OK;
}

static eim_err_t parse_trigger(pctx_t *c, json_t *root)
{
    static const char *const members[] = {"activationCode", "contactDefaultSmdp", "contactSmds",
                                          "purpose", NULL};
    eim_esipa_download_trigger_request_t *t = &c->p->trigger;
    eim_err_t err = only_members(c, root, "", members);
    if (err)
        return err;
    int n = (json_object_get(root, "activationCode") != NULL) +
            (json_object_get(root, "contactDefaultSmdp") != NULL) +
            (json_object_get(root, "contactSmds") != NULL);
    if (n != 1)
        return fail(c, EIM_ERR_INVALID_ARG, "",
                    "exactly one of activationCode, contactDefaultSmdp, contactSmds is required");
    if (json_object_get(root, "activationCode")) {
        t->data_kind = EIM_ESIPA_DOWNLOAD_DATA_ACTIVATION_CODE;
        err = get_string(c, root, "", "activationCode", true, 1, EIM_ESIPA_ACTIVATION_CODE_MAX,
                         &t->activation_code);
    } else if (json_object_get(root, "contactDefaultSmdp")) {
        if (!json_is_true(json_object_get(root, "contactDefaultSmdp")))
            return fail(c, EIM_ERR_INVALID_ARG, "contactDefaultSmdp", "must be true");
        t->data_kind = EIM_ESIPA_DOWNLOAD_DATA_CONTACT_DEFAULT_SMDP;
    } else {
        json_t *s = json_object_get(root, "contactSmds");
        static const char *const m[] = {"smdsAddress", NULL};
        t->data_kind = EIM_ESIPA_DOWNLOAD_DATA_CONTACT_SMDS;
        if ((err = want_object(c, s, "contactSmds")) ||
            (err = only_members(c, s, "contactSmds", m)) ||
            (err = get_string(c, s, "contactSmds", "smdsAddress", false, 1, 255, &t->smds_address)))
            return err;
        t->has_smds_address = eim_esep_present(t->smds_address);
    }
    if (err)
        return err;
    eim_buf_t buf;
    eim_buf_init(&buf, EIM_ESEP_MAX_MESSAGE);
    err = eim_esipa_download_trigger_request_encode(t, &buf);
    eim_buf_free(&buf);
    if (err)
        return fail(c, EIM_ERR_INVALID_ARG, "",
                    "refused by the ProfileDownloadTriggerRequest encoder (%s)", eim_strerror(err));
    return EIM_OK;
}

eim_err_t eim_package_params_kind(const char *kind, eim_params_kind_t *out)
{
    static const struct {
        const char *name;
        eim_params_kind_t kind;
    } kinds[] = {{"psmo", EIM_PARAMS_PSMO},
                 {"eco", EIM_PARAMS_ECO},
                 {"euicc_data_request", EIM_PARAMS_EUICC_DATA_REQUEST},
                 {"download_trigger", EIM_PARAMS_DOWNLOAD_TRIGGER}};
    for (size_t i = 0; kind && i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(kind, kinds[i].name) == 0) {
            *out = kinds[i].kind;
            return EIM_OK;
        }
    return EIM_ERR_NOT_FOUND;
}

void eim_package_params_free(eim_package_params_t *params)
{
    if (!params)
        return;
    free(params->storage);
    free(params);
}

eim_err_t eim_package_params_parse(const char *kind, const char *json, size_t len,
                                   eim_package_params_t **out, char *error, size_t error_size)
{
    eim_package_params_t *p = EIM_NEW(eim_package_params_t);
    pctx_t c = {.p = p, .error = error, .error_size = error_size};
    json_t *root = NULL;
    eim_err_t err;
    *out = NULL;
    if (error && error_size)
        error[0] = '\0';
    if (eim_package_params_kind(kind, &p->kind) != EIM_OK) {
        err = fail(&c, EIM_ERR_NOT_FOUND, "kind",
                   "must be psmo, eco, euicc_data_request or download_trigger");
        goto out;
    }
    if (!json || len > EIM_PACKAGE_PARAMS_MAX) {
        err =
            fail(&c, EIM_ERR_LIMIT, "", "parameters longer than %d bytes", EIM_PACKAGE_PARAMS_MAX);
        goto out;
    }
    /* Every decoded value is at most as long as its JSON text. */
    p->storage_cap = len + 16;
    p->storage = eim_malloc(p->storage_cap);
    json_error_t jerr;
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        err = fail(&c, EIM_ERR_DECODE, "", "not JSON: %s (at character %d)", jerr.text,
                   jerr.position);
        goto out;
    }
    if (!json_is_object(root)) {
        err = fail(&c, EIM_ERR_INVALID_ARG, "", "parameters must be a JSON object");
        goto out;
    }
    switch (p->kind) {
    case EIM_PARAMS_PSMO: err = parse_list(&c, root, true); break;
    case EIM_PARAMS_ECO: err = parse_list(&c, root, false); break;
    case EIM_PARAMS_EUICC_DATA_REQUEST: err = parse_data_request(&c, root); break;
    default: err = parse_trigger(&c, root); break;
    }
out:
    json_decref(root);
    if (err)
        eim_package_params_free(p);
    else
        *out = p;
    return err;
}

eim_err_t eim_package_params_validate(const char *kind, const char *json, size_t len, char *error,
                                      size_t error_size)
{
    eim_package_params_t *p = NULL;
    eim_err_t err = eim_package_params_parse(kind, json, len, &p, error, error_size);
    eim_package_params_free(p);
    return err;
}
