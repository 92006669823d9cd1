/*
 * EuiccPackageRequest (BF51) encoder and decoder: SGP.32 v1.2 §2.11.1
 * (eUICC Package, EuiccPackageSigned), §2.11.1.1 (eIM signature input),
 * §2.11.1.1.1 (EimConfigurationData), §2.11.2 (PSMOs), §2.11.3 (eCOs);
 * brief §2.3/§2.4/§3.1. Tags follow the v1.2 ASN.1 module (AUTOMATIC TAGS,
 * EXTENSIBILITY IMPLIED): unknown trailing components are skipped, unknown
 * PSMO/eCO alternatives are rejected (an eUICC would refuse them too).
 */
#include "proto/esep/euicc_package.h"

#include <string.h>

#include "proto/esep/esep_internal.h"

/* ---- encoder ----------------------------------------------------------- */

static eim_err_t check_key_data(const eim_key_data_t *key)
{
    if (key->kind == EIM_KEY_DATA_NONE)
        return EIM_OK;
    if (key->kind != EIM_KEY_DATA_PUBLIC_KEY && key->kind != EIM_KEY_DATA_CERTIFICATE)
        return EIM_ERR_INVALID_ARG;
    return eim_esep_check_field(key->contents, 1, EIM_ESEP_MAX_MESSAGE);
}

static eim_err_t check_config(const eim_eim_config_t *cfg)
{
    eim_err_t err = eim_esep_check_field(cfg->eim_id, 1, EIM_ESEP_EIM_ID_MAX);
    if (!err)
        err = check_key_data(&cfg->eim_public_key_data);
    if (!err)
        err = check_key_data(&cfg->trusted_public_key_data_tls);
    if (!err && eim_esep_present(cfg->eim_supported_protocol))
        err = eim_esep_check_field(cfg->eim_supported_protocol, 1, 8);
    return err;
}

static eim_err_t check_psmo(const eim_psmo_t *p)
{
    switch (p->kind) {
    case EIM_PSMO_ENABLE:
    case EIM_PSMO_DISABLE:
    case EIM_PSMO_DELETE:
    case EIM_PSMO_SET_FALLBACK_ATTRIBUTE:
        return eim_esep_check_field(p->iccid, EIM_ESEP_ICCID_LEN, EIM_ESEP_ICCID_LEN);
    case EIM_PSMO_LIST_PROFILE_INFO:
        switch (p->list_profile_info.search) {
        case EIM_SEARCH_NONE:
        case EIM_SEARCH_PROFILE_CLASS: return EIM_OK;
        case EIM_SEARCH_ISDP_AID:
            return eim_esep_check_field(p->list_profile_info.search_value, 1, EIM_ESEP_AID_MAX);
        case EIM_SEARCH_ICCID:
            return eim_esep_check_field(p->list_profile_info.search_value, EIM_ESEP_ICCID_LEN,
                                        EIM_ESEP_ICCID_LEN);
        }
        return EIM_ERR_INVALID_ARG;
    case EIM_PSMO_GET_RAT:
    case EIM_PSMO_UNSET_FALLBACK_ATTRIBUTE:
    case EIM_PSMO_CONFIGURE_IMMEDIATE_ENABLE: return EIM_OK;
    case EIM_PSMO_SET_DEFAULT_DP_ADDRESS:
        return eim_esep_check_field(p->default_dp_address, 0, 255);
    }
    return EIM_ERR_INVALID_ARG;
}

static void put_psmo(eim_der_writer_t *w, const eim_psmo_t *p)
{
    const eim_list_profile_info_t *l = &p->list_profile_info;
    switch (p->kind) {
    case EIM_PSMO_ENABLE:
        eim_der_begin(w, 0xA3);
        eim_der_put_span(w, 0x5A, p->iccid);
        if (p->rollback_flag)
            eim_der_put_null(w, 0x05);
        eim_der_end(w);
        break;
    case EIM_PSMO_DISABLE:
    case EIM_PSMO_DELETE:
    case EIM_PSMO_SET_FALLBACK_ATTRIBUTE:
        eim_der_begin(w, 0xA0 | (uint32_t)p->kind);
        eim_der_put_span(w, 0x5A, p->iccid);
        eim_der_end(w);
        break;
    case EIM_PSMO_GET_RAT:
    case EIM_PSMO_UNSET_FALLBACK_ATTRIBUTE:
        eim_der_begin(w, 0xA0 | (uint32_t)p->kind);
        eim_der_end(w);
        break;
    case EIM_PSMO_LIST_PROFILE_INFO:
        eim_der_begin(w, 0xBF2D);
        if (l->search != EIM_SEARCH_NONE) {
            /* searchCriteria [0] CHOICE: explicit tag around the alternative. */
            eim_der_begin(w, 0xA0);
            if (l->search == EIM_SEARCH_ISDP_AID)
                eim_der_put_span(w, 0x4F, l->search_value);
            else if (l->search == EIM_SEARCH_ICCID)
                eim_der_put_span(w, 0x5A, l->search_value);
            else
                eim_der_put_int(w, 0x95, l->profile_class);
            eim_der_end(w);
        }
        eim_esep_put_opt(w, 0x5C, l->tag_list);
        eim_der_end(w);
        break;
    case EIM_PSMO_CONFIGURE_IMMEDIATE_ENABLE:
        eim_der_begin(w, 0xA7);
        if (p->immediate_enable_flag)
            eim_der_put_null(w, 0x80);
        eim_esep_put_opt(w, 0x81, p->default_smdp_oid);
        eim_esep_put_opt(w, 0x82, p->default_smdp_address);
        eim_der_end(w);
        break;
    case EIM_PSMO_SET_DEFAULT_DP_ADDRESS:
        eim_der_begin(w, 0xBF65);
        eim_der_put_span(w, 0x80, p->default_dp_address);
        eim_der_end(w);
        break;
    }
}

static void put_key_data(eim_der_writer_t *w, uint32_t tag, const eim_key_data_t *key)
{
    if (key->kind == EIM_KEY_DATA_NONE)
        return;
    /* X.680 AUTOMATIC TAGS: the alternative's [0]/[1] tag is implicit and
     * replaces the 30 of SubjectPublicKeyInfo/Certificate (brief §2.4). */
    eim_der_begin(w, tag);
    eim_der_put_span(w, key->kind == EIM_KEY_DATA_PUBLIC_KEY ? 0xA0 : 0xA1, key->contents);
    eim_der_end(w);
}

static void put_config(eim_der_writer_t *w, uint32_t tag, const eim_eim_config_t *c)
{
    eim_der_begin(w, tag);
    eim_der_put_span(w, 0x80, c->eim_id);
    eim_esep_put_opt(w, 0x81, c->eim_fqdn);
    if (c->has_eim_id_type)
        eim_der_put_int(w, 0x82, c->eim_id_type);
    if (c->has_counter_value)
        eim_der_put_uint(w, 0x83, c->counter_value);
    if (c->has_association_token)
        eim_der_put_int(w, 0x84, c->association_token);
    put_key_data(w, 0xA5, &c->eim_public_key_data);
    put_key_data(w, 0xA6, &c->trusted_public_key_data_tls);
    eim_esep_put_opt(w, 0x87, c->eim_supported_protocol);
    eim_esep_put_opt(w, 0x88, c->euicc_ci_pkid);
    if (c->indirect_profile_download)
        eim_der_put_null(w, 0x89);
    eim_der_end(w);
}

static eim_err_t put_eco(eim_der_writer_t *w, const eim_eco_t *e)
{
    eim_err_t err = EIM_OK;
    switch (e->kind) {
    case EIM_ECO_ADD_EIM:
    case EIM_ECO_UPDATE_EIM:
        err = check_config(&e->config);
        if (!err)
            put_config(w, 0xA0 | (uint32_t)e->kind, &e->config);
        return err;
    case EIM_ECO_DELETE_EIM:
        err = eim_esep_check_field(e->eim_id, 1, EIM_ESEP_EIM_ID_MAX);
        if (err)
            return err;
        eim_der_begin(w, 0xA9);
        eim_der_put_span(w, 0x80, e->eim_id);
        eim_der_end(w);
        return EIM_OK;
    case EIM_ECO_LIST_EIM:
        eim_der_begin(w, 0xAB);
        eim_der_end(w);
        return EIM_OK;
    }
    return EIM_ERR_INVALID_ARG;
}

eim_err_t eim_esep_package_encode_signed(const eim_euicc_package_t *pkg, eim_buf_t *out)
{
    if (!pkg || !out)
        return EIM_ERR_INVALID_ARG;
    eim_err_t err = eim_esep_check_field(pkg->eim_id, 1, EIM_ESEP_EIM_ID_MAX);
    if (!err)
        err = eim_esep_check_field(pkg->eid, EIM_ESEP_EID_LEN, EIM_ESEP_EID_LEN);
    if (!err && eim_esep_present(pkg->transaction_id))
        err = eim_esep_check_field(pkg->transaction_id, 1, EIM_ESEP_TRANSACTION_ID_MAX);
    if (err)
        return err;
    size_t max = pkg->list == EIM_PACKAGE_PSMO_LIST ? EIM_ESEP_MAX_PSMOS : EIM_ESEP_MAX_ECOS;
    if ((pkg->list != EIM_PACKAGE_PSMO_LIST && pkg->list != EIM_PACKAGE_ECO_LIST) ||
        pkg->count == 0 || pkg->count > max)
        return EIM_ERR_INVALID_ARG;

    size_t start = out->len;
    eim_der_writer_t w;
    eim_der_writer_init(&w, out);
    eim_der_begin(&w, 0x30);
    eim_der_put_span(&w, 0x80, pkg->eim_id);
    eim_der_put_span(&w, 0x5A, pkg->eid);
    eim_der_put_uint(&w, 0x81, pkg->counter_value);
    eim_esep_put_opt(&w, 0x82, pkg->transaction_id);
    eim_der_begin(&w, pkg->list == EIM_PACKAGE_PSMO_LIST ? 0xA0 : 0xA1);
    for (size_t i = 0; i < pkg->count && !err; i++) {
        if (pkg->list == EIM_PACKAGE_PSMO_LIST) {
            err = check_psmo(&pkg->psmos[i]);
            if (!err)
                put_psmo(&w, &pkg->psmos[i]);
        } else {
            err = put_eco(&w, &pkg->ecos[i]);
        }
    }
    eim_der_end(&w);
    eim_der_end(&w);
    if (!err)
        err = eim_der_writer_finish(&w);
    if (err)
        out->len = start;
    return err;
}

eim_err_t eim_esep_package_assemble(eim_span_t signed_tlv,
                                    const uint8_t signature[EIM_ESEP_SIGNATURE_LEN], eim_buf_t *out)
{
    if (!out || !signature || !signed_tlv.ptr)
        return EIM_ERR_INVALID_ARG;
    /* The signed part must be exactly one SEQUENCE TLV. */
    eim_der_reader_t r;
    eim_der_elem_t e = {0};
    eim_der_reader_init(&r, signed_tlv.ptr, signed_tlv.len, NULL);
    if (eim_der_read_tag(&r, 0x30, &e) || !eim_der_at_end(&r))
        return EIM_ERR_INVALID_ARG;
    size_t start = out->len;
    eim_der_writer_t w;
    eim_der_writer_init(&w, out);
    eim_der_begin(&w, 0xBF51);
    eim_der_put_raw(&w, signed_tlv);
    eim_der_put(&w, 0x5F37, signature, EIM_ESEP_SIGNATURE_LEN);
    eim_der_end(&w);
    eim_err_t err = eim_der_writer_finish(&w);
    if (err)
        out->len = start;
    return err;
}

eim_err_t eim_esep_package_encode(const eim_euicc_package_t *pkg, int64_t token,
                                  eim_esep_sign_fn sign, void *sign_ctx, eim_buf_t *out)
{
    if (!pkg || !sign || !out)
        return EIM_ERR_INVALID_ARG;
    eim_buf_t signed_part;
    uint8_t signature[EIM_ESEP_SIGNATURE_LEN];
    eim_buf_init(&signed_part, EIM_ESEP_MAX_MESSAGE);
    eim_err_t err = eim_esep_package_encode_signed(pkg, &signed_part);
    if (err)
        goto out;
    eim_span_t signed_tlv = eim_span(signed_part.data, signed_part.len);
    err = eim_esep_sign(signed_tlv, token, sign, sign_ctx, signature);
    if (err)
        goto out;
    err = eim_esep_package_assemble(signed_tlv, signature, out);
out:
    eim_buf_free(&signed_part);
    return err;
}

eim_err_t eim_esep_key_data_to_der(const eim_key_data_t *key, eim_buf_t *out)
{
    if (!key || !out || key->kind == EIM_KEY_DATA_NONE || !key->contents.ptr)
        return EIM_ERR_INVALID_ARG;
    eim_der_writer_t w;
    eim_der_writer_init(&w, out);
    eim_der_put_span(&w, 0x30, key->contents);
    return eim_der_writer_finish(&w);
}

/* ---- decoder ----------------------------------------------------------- */

static eim_err_t missing(eim_der_reader_t *r, uint32_t tag, const char *reason)
{
    eim_der_elem_t at = {.tag = tag, .value = EIM_SPAN_NULL, .tlv = eim_span(r->pos, 0)};
    return eim_der_fail(r, &at, EIM_ERR_DECODE, reason);
}

static eim_err_t get_null(eim_der_reader_t *r, const eim_der_elem_t *e)
{
    return eim_der_check_null(r, e);
}

static eim_err_t decode_iccid_seq(eim_der_reader_t *r, const eim_der_elem_t *e, eim_psmo_t *p,
                                  bool allow_rollback)
{
    eim_der_reader_t c;
    eim_err_t err = eim_der_enter(r, e, &c);
    int last = -1;
    while (!err && !eim_der_at_end(&c)) {
        eim_der_elem_t f = {0};
        err = eim_der_read(&c, &f);
        if (err)
            break;
        if (f.tag == 0x5A) {
            err = eim_esep_check_order(&c, &f, &last, 0);
            if (!err)
                err = eim_esep_check_len(&c, &f, EIM_ESEP_ICCID_LEN, EIM_ESEP_ICCID_LEN,
                                         "ICCID not 10 bytes");
            p->iccid = f.value;
        } else if (f.tag == 0x05 && allow_rollback) {
            err = eim_esep_check_order(&c, &f, &last, 1);
            if (!err)
                err = get_null(&c, &f);
            p->rollback_flag = true;
        }
    }
    if (!err && !p->iccid.ptr)
        err = missing(&c, 0x5A, "missing iccid");
    return err;
}

static eim_err_t skip_all(eim_der_reader_t *r, const eim_der_elem_t *e)
{
    eim_der_reader_t c;
    eim_err_t err = eim_der_enter(r, e, &c);
    if (err)
        return err;
    /* SEQUENCE {} is extensible: read (and so validate) whatever it holds. */
    while (!err && !eim_der_at_end(&c)) {
        eim_der_elem_t f = {0};
        err = eim_der_read(&c, &f);
    }
    return err;
}

static eim_err_t decode_list_profile_info(eim_der_reader_t *r, const eim_der_elem_t *e,
                                          eim_list_profile_info_t *l)
{
    eim_der_reader_t c;
    eim_err_t err = eim_der_enter(r, e, &c);
    int last = -1;
    while (!err && !eim_der_at_end(&c)) {
        eim_der_elem_t f = {0};
        err = eim_der_read(&c, &f);
        if (err)
            break;
        if (f.tag == 0xA0) {
            err = eim_esep_check_order(&c, &f, &last, 0);
            eim_der_reader_t s;
            eim_der_elem_t v = {0};
            if (!err)
                err = eim_der_enter(&c, &f, &s);
            if (!err)
                err = eim_der_read(&s, &v);
            if (err)
                break;
            if (v.tag == 0x4F) {
                l->search = EIM_SEARCH_ISDP_AID;
                l->search_value = v.value;
                err = eim_esep_check_len(&s, &v, 1, EIM_ESEP_AID_MAX, "AID not 1..16 bytes");
            } else if (v.tag == 0x5A) {
                l->search = EIM_SEARCH_ICCID;
                l->search_value = v.value;
                err = eim_esep_check_len(&s, &v, EIM_ESEP_ICCID_LEN, EIM_ESEP_ICCID_LEN,
                                         "ICCID not 10 bytes");
            } else if (v.tag == 0x95) {
                l->search = EIM_SEARCH_PROFILE_CLASS;
                err = eim_esep_get_int(&s, &v, &l->profile_class);
            } else {
                err = eim_der_fail(&s, &v, EIM_ERR_UNSUPPORTED, "unknown searchCriteria");
            }
            if (!err)
                err = eim_der_expect_end(&s);
        } else if (f.tag == 0x5C) {
            err = eim_esep_check_order(&c, &f, &last, 1);
            if (!err)
                err = eim_esep_check_len(&c, &f, 0, SIZE_MAX, "bad tagList");
            l->tag_list = f.value;
        }
    }
    return err;
}

static eim_err_t decode_configure_immediate_enable(eim_der_reader_t *r, const eim_der_elem_t *e,
                                                   eim_psmo_t *p)
{
    eim_der_reader_t c;
    eim_err_t err = eim_der_enter(r, e, &c);
    int last = -1;
    while (!err && !eim_der_at_end(&c)) {
        eim_der_elem_t f = {0};
        err = eim_der_read(&c, &f);
        if (err)
            break;
        if (f.tag == 0x80) {
            err = eim_esep_check_order(&c, &f, &last, 0);
            if (!err)
                err = get_null(&c, &f);
            p->immediate_enable_flag = true;
        } else if (f.tag == 0x81) {
            err = eim_esep_check_order(&c, &f, &last, 1);
            if (!err)
                err = eim_esep_check_len(&c, &f, 1, SIZE_MAX, "empty OBJECT IDENTIFIER");
            p->default_smdp_oid = f.value;
        } else if (f.tag == 0x82) {
            err = eim_esep_check_order(&c, &f, &last, 2);
            if (!err)
                err = eim_esep_check_len(&c, &f, 0, SIZE_MAX, "bad defaultSmdpAddress");
            p->default_smdp_address = f.value;
        }
    }
    return err;
}

static eim_err_t decode_set_default_dp(eim_der_reader_t *r, const eim_der_elem_t *e, eim_psmo_t *p)
{
    eim_der_reader_t c;
    eim_err_t err = eim_der_enter(r, e, &c);
    int last = -1;
    while (!err && !eim_der_at_end(&c)) {
        eim_der_elem_t f = {0};
        err = eim_der_read(&c, &f);
        if (err)
            break;
        if (f.tag == 0x80) {
            err = eim_esep_check_order(&c, &f, &last, 0);
            if (!err)
                err = eim_esep_check_len(&c, &f, 0, 255, "bad defaultDpAddress");
            p->default_dp_address = f.value;
        }
    }
    if (!err && !p->default_dp_address.ptr)
        err = missing(&c, 0x80, "missing defaultDpAddress");
    return err;
}

static eim_err_t decode_psmo(eim_der_reader_t *r, const eim_der_elem_t *e, eim_psmo_t *p)
{
    memset(p, 0, sizeof(*p));
    switch (e->tag) {
    case 0xA3: p->kind = EIM_PSMO_ENABLE; return decode_iccid_seq(r, e, p, true);
    case 0xA4: p->kind = EIM_PSMO_DISABLE; return decode_iccid_seq(r, e, p, false);
    case 0xA5: p->kind = EIM_PSMO_DELETE; return decode_iccid_seq(r, e, p, false);
    case 0xA8: p->kind = EIM_PSMO_SET_FALLBACK_ATTRIBUTE; return decode_iccid_seq(r, e, p, false);
    case 0xA6: p->kind = EIM_PSMO_GET_RAT; return skip_all(r, e);
    case 0xA9: p->kind = EIM_PSMO_UNSET_FALLBACK_ATTRIBUTE; return skip_all(r, e);
    case 0xA7:
        p->kind = EIM_PSMO_CONFIGURE_IMMEDIATE_ENABLE;
        return decode_configure_immediate_enable(r, e, p);
    case 0xBF2D:
        p->kind = EIM_PSMO_LIST_PROFILE_INFO;
        return decode_list_profile_info(r, e, &p->list_profile_info);
    case 0xBF65: p->kind = EIM_PSMO_SET_DEFAULT_DP_ADDRESS; return decode_set_default_dp(r, e, p);
    default: return eim_der_fail(r, e, EIM_ERR_UNSUPPORTED, "unknown PSMO");
    }
}

static eim_err_t decode_key_data(eim_der_reader_t *r, const eim_der_elem_t *e, eim_key_data_t *key)
{
    eim_der_reader_t c, a;
    eim_der_elem_t alt = {0};
    eim_err_t err = eim_der_enter(r, e, &c);
    if (!err)
        err = eim_der_read(&c, &alt);
    if (err)
        return err;
    if (alt.tag == 0xA0)
        key->kind = EIM_KEY_DATA_PUBLIC_KEY;
    else if (alt.tag == 0xA1)
        key->kind = EIM_KEY_DATA_CERTIFICATE;
    else
        return eim_der_fail(&c, &alt, EIM_ERR_UNSUPPORTED, "unknown key data alternative");
    err = eim_der_expect_end(&c);
    if (!err)
        err = eim_der_enter(&c, &alt, &a);
    if (err)
        return err;
    /* SubjectPublicKeyInfo has 2 components, Certificate 3: contents that are
     * one single SEQUENCE mean the non-X.680 form A0 { 30 ... }. */
    key->contents = alt.value;
    key->wrapped = false;
    eim_der_reader_t probe = a;
    eim_der_elem_t first = {0};
    err = eim_der_read(&probe, &first);
    if (err)
        return err;
    if (first.tag == 0x30 && eim_der_at_end(&probe)) {
        key->contents = first.value;
        key->wrapped = true;
    }
    err = eim_esep_check_tlvs(&a);
    if (!err && key->contents.len == 0)
        err = eim_der_fail(&c, &alt, EIM_ERR_DECODE, "empty key data");
    return err;
}

static eim_err_t decode_config(eim_der_reader_t *r, const eim_der_elem_t *e, eim_eim_config_t *cfg)
{
    eim_der_reader_t c;
    eim_err_t err = eim_der_enter(r, e, &c);
    int last = -1;
    while (!err && !eim_der_at_end(&c)) {
        eim_der_elem_t f = {0};
        err = eim_der_read(&c, &f);
        if (err)
            break;
        switch (f.tag) {
        case 0x80:
            err = eim_esep_check_order(&c, &f, &last, 0);
            if (!err)
                err = eim_esep_check_len(&c, &f, 1, EIM_ESEP_EIM_ID_MAX, "eimId not 1..128 bytes");
            cfg->eim_id = f.value;
            break;
        case 0x81:
            err = eim_esep_check_order(&c, &f, &last, 1);
            if (!err)
                err = eim_esep_check_len(&c, &f, 0, SIZE_MAX, "bad eimFqdn");
            cfg->eim_fqdn = f.value;
            break;
        case 0x82:
            err = eim_esep_check_order(&c, &f, &last, 2);
            if (!err)
                err = eim_esep_get_int(&c, &f, &cfg->eim_id_type);
            cfg->has_eim_id_type = true;
            break;
        case 0x83:
            err = eim_esep_check_order(&c, &f, &last, 3);
            if (!err)
                err = eim_esep_get_uint(&c, &f, &cfg->counter_value);
            cfg->has_counter_value = true;
            break;
        case 0x84:
            err = eim_esep_check_order(&c, &f, &last, 4);
            if (!err)
                err = eim_esep_get_int(&c, &f, &cfg->association_token);
            cfg->has_association_token = true;
            break;
        case 0xA5:
            err = eim_esep_check_order(&c, &f, &last, 5);
            if (!err)
                err = decode_key_data(&c, &f, &cfg->eim_public_key_data);
            break;
        case 0xA6:
            err = eim_esep_check_order(&c, &f, &last, 6);
            if (!err)
                err = decode_key_data(&c, &f, &cfg->trusted_public_key_data_tls);
            break;
        case 0x87:
            err = eim_esep_check_order(&c, &f, &last, 7);
            if (!err)
                err = eim_der_check_bit_string(&c, &f);
            cfg->eim_supported_protocol = f.value;
            break;
        case 0x88:
            err = eim_esep_check_order(&c, &f, &last, 8);
            if (!err)
                err = eim_esep_check_len(&c, &f, 1, 64, "bad euiccCiPKId");
            cfg->euicc_ci_pkid = f.value;
            break;
        case 0x89:
            err = eim_esep_check_order(&c, &f, &last, 9);
            if (!err)
                err = get_null(&c, &f);
            cfg->indirect_profile_download = true;
            break;
        default: break; /* extension, e.g. v1.3 eSipaProprietaryProtocolInformation [10] */
        }
    }
    if (!err && !cfg->eim_id.ptr)
        err = missing(&c, 0x80, "missing eimId");
    return err;
}

static eim_err_t decode_eco(eim_der_reader_t *r, const eim_der_elem_t *e, eim_eco_t *eco)
{
    memset(eco, 0, sizeof(*eco));
    switch (e->tag) {
    case 0xA8: eco->kind = EIM_ECO_ADD_EIM; return decode_config(r, e, &eco->config);
    case 0xAA: eco->kind = EIM_ECO_UPDATE_EIM; return decode_config(r, e, &eco->config);
    case 0xAB: eco->kind = EIM_ECO_LIST_EIM; return skip_all(r, e);
    case 0xA9: {
        eco->kind = EIM_ECO_DELETE_EIM;
        eim_der_reader_t c;
        eim_err_t err = eim_der_enter(r, e, &c);
        int last = -1;
        while (!err && !eim_der_at_end(&c)) {
            eim_der_elem_t f = {0};
            err = eim_der_read(&c, &f);
            if (!err && f.tag == 0x80) {
                err = eim_esep_check_order(&c, &f, &last, 0);
                if (!err)
                    err = eim_esep_check_len(&c, &f, 1, EIM_ESEP_EIM_ID_MAX,
                                             "eimId not 1..128 bytes");
                eco->eim_id = f.value;
            }
        }
        if (!err && !eco->eim_id.ptr)
            err = missing(&c, 0x80, "missing eimId");
        return err;
    }
    default: return eim_der_fail(r, e, EIM_ERR_UNSUPPORTED, "unknown eCO");
    }
}

static eim_err_t decode_list(eim_der_reader_t *r, const eim_der_elem_t *e, eim_euicc_package_t *pkg)
{
    eim_der_reader_t c;
    eim_err_t err = eim_der_enter(r, e, &c);
    bool psmo = e->tag == 0xA0;
    size_t max = psmo ? EIM_ESEP_MAX_PSMOS : EIM_ESEP_MAX_ECOS;
    pkg->list = psmo ? EIM_PACKAGE_PSMO_LIST : EIM_PACKAGE_ECO_LIST;
    pkg->count = 0;
    while (!err && !eim_der_at_end(&c)) {
        eim_der_elem_t op = {0};
        err = eim_der_read(&c, &op);
        if (err)
            break;
        if (pkg->count == max)
            return eim_der_fail(&c, &op, EIM_ERR_LIMIT, psmo ? "too many PSMOs" : "too many eCOs");
        if (psmo)
            err = decode_psmo(&c, &op, &pkg->psmos[pkg->count]);
        else
            err = decode_eco(&c, &op, &pkg->ecos[pkg->count]);
        pkg->count++;
    }
    return err;
}

static eim_err_t decode_signed(eim_der_reader_t *r, const eim_der_elem_t *e,
                               eim_euicc_package_t *pkg)
{
    eim_der_reader_t c;
    eim_err_t err = eim_der_enter(r, e, &c);
    int last = -1;
    bool has_counter = false, has_list = false;
    while (!err && !eim_der_at_end(&c)) {
        eim_der_elem_t f = {0};
        err = eim_der_read(&c, &f);
        if (err)
            break;
        switch (f.tag) {
        case 0x80:
            err = eim_esep_check_order(&c, &f, &last, 0);
            if (!err)
                err = eim_esep_check_len(&c, &f, 1, EIM_ESEP_EIM_ID_MAX, "eimId not 1..128 bytes");
            pkg->eim_id = f.value;
            break;
        case 0x5A:
            err = eim_esep_check_order(&c, &f, &last, 1);
            if (!err)
                err = eim_esep_check_len(&c, &f, EIM_ESEP_EID_LEN, EIM_ESEP_EID_LEN,
                                         "EID not 16 bytes");
            pkg->eid = f.value;
            break;
        case 0x81:
            err = eim_esep_check_order(&c, &f, &last, 2);
            if (!err)
                err = eim_esep_get_uint(&c, &f, &pkg->counter_value);
            has_counter = true;
            break;
        case 0x82:
            err = eim_esep_check_order(&c, &f, &last, 3);
            if (!err)
                err = eim_esep_check_len(&c, &f, 1, EIM_ESEP_TRANSACTION_ID_MAX,
                                         "eimTransactionId not 1..16 bytes");
            pkg->transaction_id = f.value;
            break;
        case 0xA0:
        case 0xA1:
            if (has_list) {
                err = eim_der_fail(&c, &f, EIM_ERR_DECODE, "both psmoList and ecoList");
                break;
            }
            err = eim_esep_check_order(&c, &f, &last, 4);
            if (!err)
                err = decode_list(&c, &f, pkg);
            has_list = true;
            break;
        default: break; /* extension */
        }
    }
    if (err)
        return err;
    if (!pkg->eim_id.ptr)
        return missing(&c, 0x80, "missing eimId");
    if (!pkg->eid.ptr)
        return missing(&c, 0x5A, "missing eidValue");
    if (!has_counter)
        return missing(&c, 0x81, "missing counterValue");
    if (!has_list)
        return missing(&c, 0xA0, "missing euiccPackage");
    return EIM_OK;
}

eim_err_t eim_esep_package_read(eim_der_reader_t *r, eim_euicc_package_request_t *out)
{
    if (!r || !out)
        return EIM_ERR_INVALID_ARG;
    memset(out, 0, sizeof(*out));
    eim_der_elem_t outer = {0}, signed_part = {0}, sig = {0};
    eim_der_reader_t c;
    eim_err_t err = eim_der_read_enter(r, 0xBF51, &outer, &c);
    if (err)
        return err;
    out->tlv = outer.tlv;
    err = eim_der_read_tag(&c, 0x30, &signed_part);
    if (!err)
        err = decode_signed(&c, &signed_part, &out->package);
    if (err)
        return err;
    out->signed_tlv = signed_part.tlv;
    err = eim_der_read_tag(&c, 0x5F37, &sig);
    if (!err)
        err = eim_esep_check_len(&c, &sig, 1, EIM_ESEP_SIGNATURE_MAX, "bad eimSignature size");
    if (err)
        return err;
    out->signature = sig.value;
    /* Extensions after the signature are tolerated (and validated). */
    return eim_esep_check_tlvs(&c);
}

eim_err_t eim_esep_package_decode(const uint8_t *data, size_t len, eim_euicc_package_request_t *out,
                                  eim_der_error_t *error)
{
    if (!data || !out)
        return EIM_ERR_INVALID_ARG;
    eim_der_reader_t r;
    eim_der_reader_init(&r, data, len, error);
    eim_err_t err = eim_esep_package_read(&r, out);
    if (!err)
        err = eim_der_expect_end(&r);
    return err;
}
