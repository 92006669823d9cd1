/*
 * EuiccPackageResult (BF51) decoder and encoder: SGP.32 v1.2 §2.11.1.2
 * (EuiccPackageResult, euiccSignEPR/EPE input), §5.9.1 (result data of each
 * PSMO/eCO), SGP.22 §5.7.15 (ProfileInfo); brief §2.3 (result tags), §2.8
 * (CHOICE wrapper liberal on decode), §3.2 (verify over received bytes).
 *
 * The decoder keeps spans of the signed data (30 ...) and of the signature
 * exactly as received; nothing is re-encoded before verification.
 */
#include "proto/esep/euicc_result.h"

#include <string.h>

#include "proto/esep/esep_internal.h"

/* ---- decoder ----------------------------------------------------------- */

static eim_err_t missing(eim_der_reader_t *r, uint32_t tag, const char *reason)
{
    eim_der_elem_t at = {.tag = tag, .value = EIM_SPAN_NULL, .tlv = eim_span(r->pos, 0)};
    return eim_der_fail(r, &at, EIM_ERR_DECODE, reason);
}

/* ProfileInfo entries come in tagList order on real cards, so components are
 * not order-checked here; duplicates are still rejected. */
static eim_err_t decode_profile_info(eim_der_reader_t *r, const eim_der_elem_t *e,
                                     eim_profile_info_t *p)
{
    enum {
        SEEN_ICCID = 1 << 0,
        SEEN_AID = 1 << 1,
        SEEN_STATE = 1 << 2,
        SEEN_NICK = 1 << 3,
        SEEN_SPN = 1 << 4,
        SEEN_NAME = 1 << 5,
        SEEN_CLASS = 1 << 6,
        SEEN_ECALL = 1 << 7,
        SEEN_FALLBACK = 1 << 8,
        SEEN_ALLOWED = 1 << 9,
    };
    memset(p, 0, sizeof(*p));
    p->raw = e->tlv;
    eim_der_reader_t c;
    eim_err_t err = eim_der_enter(r, e, &c);
    unsigned seen = 0;
    while (!err && !eim_der_at_end(&c)) {
        eim_der_elem_t f = {0};
        err = eim_der_read(&c, &f);
        if (err)
            break;
        unsigned bit = 0;
        switch (f.tag) {
        case 0x5A:
            bit = SEEN_ICCID;
            err = eim_esep_check_len(&c, &f, EIM_ESEP_ICCID_LEN, EIM_ESEP_ICCID_LEN,
                                     "ICCID not 10 bytes");
            p->iccid = f.value;
            break;
        case 0x4F:
            bit = SEEN_AID;
            err = eim_esep_check_len(&c, &f, 1, EIM_ESEP_AID_MAX, "AID not 1..16 bytes");
            p->isdp_aid = f.value;
            break;
        case 0x9F70:
            bit = SEEN_STATE;
            err = eim_esep_get_int(&c, &f, &p->state);
            p->has_state = true;
            break;
        case 0x90:
            bit = SEEN_NICK;
            err = eim_esep_check_len(&c, &f, 0, SIZE_MAX, "bad profileNickname");
            p->nickname = f.value;
            break;
        case 0x91:
            bit = SEEN_SPN;
            err = eim_esep_check_len(&c, &f, 0, SIZE_MAX, "bad serviceProviderName");
            p->service_provider_name = f.value;
            break;
        case 0x92:
            bit = SEEN_NAME;
            err = eim_esep_check_len(&c, &f, 0, SIZE_MAX, "bad profileName");
            p->name = f.value;
            break;
        case 0x95:
            bit = SEEN_CLASS;
            err = eim_esep_get_int(&c, &f, &p->profile_class);
            p->has_profile_class = true;
            break;
        case 0x9F7B:
            bit = SEEN_ECALL;
            err = eim_esep_get_bool(&c, &f, &p->ecall_indication);
            p->has_ecall_indication = true;
            break;
        case 0x9F26:
            bit = SEEN_FALLBACK;
            err = eim_esep_get_bool(&c, &f, &p->fallback_attribute);
            break;
        case 0x9F67:
            bit = SEEN_ALLOWED;
            err = eim_esep_get_bool(&c, &f, &p->fallback_allowed);
            p->has_fallback_allowed = true;
            break;
        default: break; /* icon, notification config, PPRs, ...: in raw */
        }
        if (!err && (seen & bit))
            err = eim_der_fail(&c, &f, EIM_ERR_DECODE, "component duplicated");
        seen |= bit;
    }
    return err;
}

static eim_err_t decode_profile_list(eim_der_reader_t *c, eim_euicc_result_t *res,
                                     eim_result_data_t *item)
{
    eim_err_t err = EIM_OK;
    while (!err && !eim_der_at_end(c)) {
        eim_der_elem_t e = {0};
        err = eim_der_read_tag(c, 0xE3, &e);
        if (err)
            break;
        if (res->profile_count == EIM_ESEP_MAX_PROFILES)
            return eim_der_fail(c, &e, EIM_ERR_LIMIT, "too many ProfileInfo entries");
        err = decode_profile_info(c, &e, &res->profiles[res->profile_count++]);
        item->profile_count++;
    }
    return err;
}

static eim_err_t decode_eim_id_list(eim_der_reader_t *c, eim_euicc_result_t *res,
                                    eim_result_data_t *item)
{
    eim_err_t err = EIM_OK;
    while (!err && !eim_der_at_end(c)) {
        eim_der_elem_t e = {0};
        eim_der_reader_t s;
        err = eim_der_read_enter(c, 0x30, &e, &s);
        if (err)
            break;
        if (res->eim_id_count == EIM_ESEP_MAX_EIM_IDS)
            return eim_der_fail(c, &e, EIM_ERR_LIMIT, "too many EimIdInfo entries");
        eim_eim_id_info_t *info = &res->eim_ids[res->eim_id_count++];
        memset(info, 0, sizeof(*info));
        item->eim_id_count++;
        int last = -1;
        while (!err && !eim_der_at_end(&s)) {
            eim_der_elem_t f = {0};
            err = eim_der_read(&s, &f);
            if (err)
                break;
            if (f.tag == 0x80) {
                err = eim_esep_check_order(&s, &f, &last, 0);
                if (!err)
                    err = eim_esep_check_len(&s, &f, 1, EIM_ESEP_EIM_ID_MAX,
                                             "eimId not 1..128 bytes");
                info->eim_id = f.value;
            } else if (f.tag == 0x82) {
                err = eim_esep_check_order(&s, &f, &last, 1);
                if (!err)
                    err = eim_esep_get_int(&s, &f, &info->eim_id_type);
                info->has_eim_id_type = true;
            }
        }
        if (!err && !info->eim_id.ptr)
            err = missing(&s, 0x80, "missing eimId");
    }
    return err;
}

/* listProfileInfoResult BF2D / listEimResult AB: CHOICE { list [0], error [1] }
 * with the automatic wrapper A0/81, or bare (E3.../30... or 02 code). */
static eim_err_t decode_list_choice(eim_der_reader_t *r, const eim_der_elem_t *e,
                                    eim_euicc_result_t *res, eim_result_data_t *item,
                                    uint32_t entry_tag)
{
    eim_der_reader_t c;
    eim_err_t err = eim_der_enter(r, e, &c);
    if (err)
        return err;
    item->profile_first = res->profile_count;
    item->eim_id_first = res->eim_id_count;
    bool profiles = entry_tag == 0xE3;
    uint32_t first = 0;
    if (!eim_der_at_end(&c)) {
        err = eim_der_peek_tag(&c, &first);
        if (err)
            return err;
    }
    if (first == 0xA0) {
        eim_der_elem_t list = {0};
        eim_der_reader_t l;
        item->wrapped = true;
        err = eim_der_read_enter(&c, 0xA0, &list, &l);
        if (!err)
            err = profiles ? decode_profile_list(&l, res, item) : decode_eim_id_list(&l, res, item);
    } else if (first == 0x81 || first == 0x02) {
        eim_der_elem_t code = {0};
        item->wrapped = first == 0x81;
        item->is_error = true;
        err = eim_der_read(&c, &code);
        if (!err)
            err = eim_esep_get_int(&c, &code, &item->code);
    } else {
        /* Bare list (or empty contents: an empty list). */
        item->wrapped = false;
        return profiles ? decode_profile_list(&c, res, item) : decode_eim_id_list(&c, res, item);
    }
    if (!err)
        err = eim_der_expect_end(&c);
    return err;
}

static eim_err_t decode_add_eim(eim_der_reader_t *r, const eim_der_elem_t *e,
                                eim_result_data_t *item)
{
    eim_der_reader_t c;
    eim_der_elem_t alt = {0};
    eim_err_t err = eim_der_enter(r, e, &c);
    if (!err)
        err = eim_der_read(&c, &alt);
    if (err)
        return err;
    if (alt.tag == 0x84) {
        item->has_association_token = true;
        err = eim_esep_get_int(&c, &alt, &item->association_token);
    } else if (alt.tag == 0x02) {
        item->is_error = true;
        err = eim_esep_get_int(&c, &alt, &item->code);
    } else {
        err = eim_der_fail(&c, &alt, EIM_ERR_DECODE, "unknown AddEimResult alternative");
    }
    if (!err)
        err = eim_der_expect_end(&c);
    return err;
}

static eim_err_t decode_result_item(eim_der_reader_t *r, const eim_der_elem_t *e,
                                    eim_euicc_result_t *res, eim_result_data_t *item)
{
    memset(item, 0, sizeof(*item));
    item->raw = e->tlv;
    eim_der_reader_t c;
    eim_err_t err;
    switch (e->tag) {
    case 0x83:
    case 0x84:
    case 0x85:
    case 0x87:
    case 0x89:
    case 0x8A:
    case 0x8C:
    case 0x8D:
    case 0x8E:
        item->kind = (eim_result_data_kind_t)(e->tag & 0x1F);
        return eim_esep_get_int(r, e, &item->code);
    case 0x02:
        item->kind = EIM_RD_PROCESSING_TERMINATED;
        return eim_esep_get_int(r, e, &item->code);
    case 0xA6:
        item->kind = EIM_RD_GET_RAT;
        item->rat = e->value;
        err = eim_der_enter(r, e, &c);
        return err ? err : eim_esep_check_tlvs(&c);
    case 0xA8: item->kind = EIM_RD_ADD_EIM; return decode_add_eim(r, e, item);
    case 0xAB: item->kind = EIM_RD_LIST_EIM; return decode_list_choice(r, e, res, item, 0x30);
    case 0xBF2D:
        item->kind = EIM_RD_LIST_PROFILE_INFO;
        return decode_list_choice(r, e, res, item, 0xE3);
    case 0xBF65: {
        item->kind = EIM_RD_SET_DEFAULT_DP_ADDRESS;
        err = eim_der_enter(r, e, &c);
        bool has_code = false;
        int last = -1;
        while (!err && !eim_der_at_end(&c)) {
            eim_der_elem_t f = {0};
            err = eim_der_read(&c, &f);
            if (!err && f.tag == 0x80) {
                err = eim_esep_check_order(&c, &f, &last, 0);
                if (!err)
                    err = eim_esep_get_int(&c, &f, &item->code);
                has_code = true;
            }
        }
        if (!err && !has_code)
            err = missing(&c, 0x80, "missing setDefaultDpAddressResult");
        return err;
    }
    default:
        /* A newer CHOICE alternative: keep it raw, but well-formed. */
        item->kind = EIM_RD_UNKNOWN;
        if (eim_der_tag_is_constructed(e->tag)) {
            err = eim_der_enter(r, e, &c);
            return err ? err : eim_esep_check_tlvs(&c);
        }
        return EIM_OK;
    }
}

static eim_err_t decode_result_list(eim_der_reader_t *r, const eim_der_elem_t *e,
                                    eim_euicc_result_t *res)
{
    eim_der_reader_t c;
    eim_err_t err = eim_der_enter(r, e, &c);
    while (!err && !eim_der_at_end(&c)) {
        eim_der_elem_t item = {0};
        err = eim_der_read(&c, &item);
        if (err)
            break;
        if (res->count == EIM_ESEP_MAX_RESULTS)
            return eim_der_fail(&c, &item, EIM_ERR_LIMIT, "too many EuiccResultData");
        err = decode_result_item(&c, &item, res, &res->results[res->count++]);
    }
    return err;
}

/* EuiccPackageResultDataSigned (form SIGNED) or EuiccPackageErrorDataSigned. */
static eim_err_t decode_signed_data(eim_der_reader_t *r, const eim_der_elem_t *e,
                                    eim_euicc_result_t *res)
{
    bool is_error = res->form == EIM_RESULT_ERROR_SIGNED;
    eim_der_reader_t c;
    eim_err_t err = eim_der_enter(r, e, &c);
    int last = -1;
    bool has_counter = false, has_seq = false, has_list = false, has_code = false;
    while (!err && !eim_der_at_end(&c)) {
        eim_der_elem_t f = {0};
        err = eim_der_read(&c, &f);
        if (err)
            break;
        if (f.tag == 0x80) {
            err = eim_esep_check_order(&c, &f, &last, 0);
            if (!err)
                err = eim_esep_check_len(&c, &f, 1, EIM_ESEP_EIM_ID_MAX, "eimId not 1..128 bytes");
            res->eim_id = f.value;
        } else if (f.tag == 0x81) {
            err = eim_esep_check_order(&c, &f, &last, 1);
            if (!err)
                err = eim_esep_get_uint(&c, &f, &res->counter_value);
            has_counter = true;
        } else if (f.tag == 0x82) {
            err = eim_esep_check_order(&c, &f, &last, 2);
            if (!err)
                err = eim_esep_check_len(&c, &f, 1, EIM_ESEP_TRANSACTION_ID_MAX,
                                         "eimTransactionId not 1..16 bytes");
            res->transaction_id = f.value;
        } else if (f.tag == 0x83 && !is_error) {
            err = eim_esep_check_order(&c, &f, &last, 3);
            if (!err)
                err = eim_esep_get_uint(&c, &f, &res->seq_number);
            has_seq = true;
        } else if (f.tag == 0x30 && !is_error) {
            err = eim_esep_check_order(&c, &f, &last, 4);
            if (!err)
                err = decode_result_list(&c, &f, res);
            has_list = true;
        } else if (f.tag == 0x02 && is_error) {
            err = eim_esep_check_order(&c, &f, &last, 3);
            if (!err)
                err = eim_esep_get_int(&c, &f, &res->error_code);
            has_code = true;
        }
    }
    if (err)
        return err;
    if (!res->eim_id.ptr)
        return missing(&c, 0x80, "missing eimId");
    if (!has_counter)
        return missing(&c, 0x81, "missing counterValue");
    if (is_error && !has_code)
        return missing(&c, 0x02, "missing euiccPackageErrorCode");
    if (!is_error && !has_seq)
        return missing(&c, 0x83, "missing seqNumber");
    if (!is_error && !has_list)
        return missing(&c, 0x30, "missing euiccResult");
    return EIM_OK;
}

static eim_err_t decode_unsigned(eim_der_reader_t *c, eim_euicc_result_t *res)
{
    eim_err_t err = EIM_OK;
    int last = -1;
    while (!err && !eim_der_at_end(c)) {
        eim_der_elem_t f = {0};
        err = eim_der_read(c, &f);
        if (err)
            break;
        if (f.tag == 0x80) {
            err = eim_esep_check_order(c, &f, &last, 0);
            if (!err)
                err = eim_esep_check_len(c, &f, 1, EIM_ESEP_EIM_ID_MAX, "eimId not 1..128 bytes");
            res->eim_id = f.value;
        } else if (f.tag == 0x82) {
            err = eim_esep_check_order(c, &f, &last, 1);
            if (!err)
                err = eim_esep_check_len(c, &f, 1, EIM_ESEP_TRANSACTION_ID_MAX,
                                         "eimTransactionId not 1..16 bytes");
            res->transaction_id = f.value;
        } else if (f.tag == 0x84) {
            err = eim_esep_check_order(c, &f, &last, 2);
            if (!err)
                err = eim_esep_get_int(c, &f, &res->association_token);
            res->has_association_token = true;
        } else if (f.tag == 0x8F) {
            err = eim_esep_check_order(c, &f, &last, 3);
            if (!err)
                err = eim_esep_get_int(c, &f, &res->unsigned_error_code);
            res->has_unsigned_error_code = true;
        }
    }
    if (!err && !res->eim_id.ptr)
        err = missing(c, 0x80, "missing eimId");
    return err;
}

/* Bare form: is this signed data an EuiccPackageErrorDataSigned? Only the
 * error data has a universal INTEGER among its direct components. */
static bool bare_is_error(const eim_der_reader_t *r, const eim_der_elem_t *data)
{
    eim_der_reader_t c;
    if (eim_der_enter(r, data, &c))
        return false;
    c.error = NULL;
    while (!eim_der_at_end(&c)) {
        eim_der_elem_t f = {0};
        if (eim_der_read(&c, &f))
            return false;
        if (f.tag == 0x02)
            return true;
    }
    return false;
}

/* Reads "30 data, 5F37 sig [, extensions]" from c (contents of A0/A1, of the
 * bare 30 wrapper, or of BF51 itself in the bare form). */
static eim_err_t decode_signed_alternative(eim_der_reader_t *c, eim_euicc_result_t *res,
                                           bool infer_form)
{
    eim_der_elem_t data = {0}, sig = {0};
    eim_err_t err = eim_der_read_tag(c, 0x30, &data);
    if (err)
        return err;
    if (infer_form)
        res->form = bare_is_error(c, &data) ? EIM_RESULT_ERROR_SIGNED : EIM_RESULT_SIGNED;
    err = decode_signed_data(c, &data, res);
    if (err)
        return err;
    res->signed_tlv = data.tlv;
    err = eim_der_read_tag(c, 0x5F37, &sig);
    if (!err)
        err = eim_esep_check_len(c, &sig, 1, EIM_ESEP_SIGNATURE_MAX, "bad signature size");
    if (err)
        return err;
    res->signature = sig.value;
    return eim_esep_check_tlvs(c);
}

eim_err_t eim_esep_result_read(eim_der_reader_t *r, eim_euicc_result_t *out)
{
    if (!r || !out)
        return EIM_ERR_INVALID_ARG;
    memset(out, 0, sizeof(*out));
    eim_der_elem_t outer = {0}, first = {0};
    eim_der_reader_t c, a;
    eim_err_t err = eim_der_read_enter(r, 0xBF51, &outer, &c);
    if (err)
        return err;
    out->tlv = outer.tlv;
    eim_der_reader_t after_first = c;
    err = eim_der_read(&after_first, &first);
    if (err)
        return err;
    switch (first.tag) {
    case 0xA0:
    case 0xA1:
        out->wrapped = true;
        out->form = first.tag == 0xA0 ? EIM_RESULT_SIGNED : EIM_RESULT_ERROR_SIGNED;
        err = eim_der_read_enter(&c, first.tag, &first, &a);
        if (!err)
            err = decode_signed_alternative(&a, out, false);
        break;
    case 0xA2:
        out->wrapped = true;
        out->form = EIM_RESULT_ERROR_UNSIGNED;
        err = eim_der_read_enter(&c, first.tag, &first, &a);
        if (!err)
            err = decode_unsigned(&a, out);
        break;
    case 0x30: {
        out->wrapped = false;
        eim_der_reader_t s;
        uint32_t inner = 0;
        err = eim_der_enter(&c, &first, &s);
        if (!err && !eim_der_at_end(&s))
            err = eim_der_peek_tag(&s, &inner);
        if (err)
            break;
        uint32_t next = 0;
        if (!eim_der_at_end(&after_first))
            err = eim_der_peek_tag(&after_first, &next);
        if (err)
            break;
        if (inner == 0x30) {
            /* BF51 { 30 { 30 data, 5F37 sig } } */
            err = eim_der_read_enter(&c, 0x30, &first, &a);
            if (!err)
                err = decode_signed_alternative(&a, out, true);
        } else if (next == 0x5F37) {
            /* BF51 { 30 data, 5F37 sig } */
            /* The signature and any extensions are BF51's own contents,
             * already validated by decode_signed_alternative. */
            return decode_signed_alternative(&c, out, true);
        } else {
            /* BF51 { 30 { 80 eimId ... } }: the unsigned error. */
            out->form = EIM_RESULT_ERROR_UNSIGNED;
            err = eim_der_read_enter(&c, 0x30, &first, &a);
            if (!err)
                err = decode_unsigned(&a, out);
        }
        break;
    }
    default:
        return eim_der_fail(&c, &first, EIM_ERR_UNSUPPORTED,
                            "unknown EuiccPackageResult alternative");
    }
    if (!err)
        err = eim_der_expect_end(&c);
    return err;
}

eim_err_t eim_esep_result_decode(const uint8_t *data, size_t len, eim_euicc_result_t *out,
                                 eim_der_error_t *error)
{
    if (!data || !out)
        return EIM_ERR_INVALID_ARG;
    eim_der_reader_t r;
    eim_der_reader_init(&r, data, len, error);
    eim_err_t err = eim_esep_result_read(&r, out);
    if (!err)
        err = eim_der_expect_end(&r);
    return err;
}

/* ---- encoder ----------------------------------------------------------- */

static void put_profile(eim_der_writer_t *w, const eim_profile_info_t *p)
{
    if (eim_esep_present(p->raw)) {
        eim_der_put_raw(w, p->raw);
        return;
    }
    eim_der_begin(w, 0xE3);
    eim_esep_put_opt(w, 0x5A, p->iccid);
    eim_esep_put_opt(w, 0x4F, p->isdp_aid);
    if (p->has_state)
        eim_der_put_int(w, 0x9F70, p->state);
    eim_esep_put_opt(w, 0x90, p->nickname);
    eim_esep_put_opt(w, 0x91, p->service_provider_name);
    eim_esep_put_opt(w, 0x92, p->name);
    if (p->has_profile_class)
        eim_der_put_int(w, 0x95, p->profile_class);
    if (p->has_ecall_indication)
        eim_der_put_bool(w, 0x9F7B, p->ecall_indication);
    if (p->fallback_attribute) /* DEFAULT FALSE: omitted when false (DER) */
        eim_der_put_bool(w, 0x9F26, true);
    if (p->has_fallback_allowed)
        eim_der_put_bool(w, 0x9F67, p->fallback_allowed);
    eim_der_end(w);
}

static eim_err_t put_item(eim_der_writer_t *w, const eim_euicc_result_t *res,
                          const eim_result_data_t *item)
{
    switch (item->kind) {
    case EIM_RD_ENABLE:
    case EIM_RD_DISABLE:
    case EIM_RD_DELETE:
    case EIM_RD_CONFIGURE_IMMEDIATE_ENABLE:
    case EIM_RD_DELETE_EIM:
    case EIM_RD_UPDATE_EIM:
    case EIM_RD_ROLLBACK:
    case EIM_RD_SET_FALLBACK_ATTRIBUTE:
    case EIM_RD_UNSET_FALLBACK_ATTRIBUTE:
        eim_der_put_int(w, 0x80 | (uint32_t)item->kind, item->code);
        return EIM_OK;
    case EIM_RD_PROCESSING_TERMINATED: eim_der_put_int(w, 0x02, item->code); return EIM_OK;
    case EIM_RD_GET_RAT: eim_der_put_span(w, 0xA6, item->rat); return EIM_OK;
    case EIM_RD_ADD_EIM:
        eim_der_begin(w, 0xA8);
        if (item->has_association_token)
            eim_der_put_int(w, 0x84, item->association_token);
        else
            eim_der_put_int(w, 0x02, item->code);
        eim_der_end(w);
        return EIM_OK;
    case EIM_RD_LIST_EIM:
        if (item->eim_id_first > res->eim_id_count ||
            item->eim_id_count > res->eim_id_count - item->eim_id_first)
            return EIM_ERR_INVALID_ARG;
        eim_der_begin(w, 0xAB);
        if (item->is_error) {
            eim_der_put_int(w, 0x81, item->code);
        } else {
            eim_der_begin(w, 0xA0);
            for (size_t i = 0; i < item->eim_id_count; i++) {
                const eim_eim_id_info_t *info = &res->eim_ids[item->eim_id_first + i];
                if (eim_esep_check_field(info->eim_id, 1, EIM_ESEP_EIM_ID_MAX))
                    return EIM_ERR_INVALID_ARG;
                eim_der_begin(w, 0x30);
                eim_der_put_span(w, 0x80, info->eim_id);
                if (info->has_eim_id_type)
                    eim_der_put_int(w, 0x82, info->eim_id_type);
                eim_der_end(w);
            }
            eim_der_end(w);
        }
        eim_der_end(w);
        return EIM_OK;
    case EIM_RD_LIST_PROFILE_INFO:
        if (item->profile_first > res->profile_count ||
            item->profile_count > res->profile_count - item->profile_first)
            return EIM_ERR_INVALID_ARG;
        eim_der_begin(w, 0xBF2D);
        if (item->is_error) {
            eim_der_put_int(w, 0x81, item->code);
        } else {
            eim_der_begin(w, 0xA0);
            for (size_t i = 0; i < item->profile_count; i++)
                put_profile(w, &res->profiles[item->profile_first + i]);
            eim_der_end(w);
        }
        eim_der_end(w);
        return EIM_OK;
    case EIM_RD_SET_DEFAULT_DP_ADDRESS:
        eim_der_begin(w, 0xBF65);
        eim_der_put_int(w, 0x80, item->code);
        eim_der_end(w);
        return EIM_OK;
    case EIM_RD_UNKNOWN:
        if (!eim_esep_present(item->raw) || item->raw.len == 0)
            return EIM_ERR_INVALID_ARG;
        eim_der_put_raw(w, item->raw);
        return EIM_OK;
    }
    return EIM_ERR_INVALID_ARG;
}

eim_err_t eim_esep_result_encode_signed(const eim_euicc_result_t *res, eim_buf_t *out)
{
    if (!res || !out)
        return EIM_ERR_INVALID_ARG;
    if (res->form != EIM_RESULT_SIGNED && res->form != EIM_RESULT_ERROR_SIGNED)
        return EIM_ERR_INVALID_ARG;
    eim_err_t err = eim_esep_check_field(res->eim_id, 1, EIM_ESEP_EIM_ID_MAX);
    if (!err && eim_esep_present(res->transaction_id))
        err = eim_esep_check_field(res->transaction_id, 1, EIM_ESEP_TRANSACTION_ID_MAX);
    if (!err && (res->count > EIM_ESEP_MAX_RESULTS || res->profile_count > EIM_ESEP_MAX_PROFILES ||
                 res->eim_id_count > EIM_ESEP_MAX_EIM_IDS))
        err = EIM_ERR_INVALID_ARG;
    if (err)
        return err;
    size_t start = out->len;
    eim_der_writer_t w;
    eim_der_writer_init(&w, out);
    eim_der_begin(&w, 0x30);
    eim_der_put_span(&w, 0x80, res->eim_id);
    eim_der_put_uint(&w, 0x81, res->counter_value);
    eim_esep_put_opt(&w, 0x82, res->transaction_id);
    if (res->form == EIM_RESULT_SIGNED) {
        eim_der_put_uint(&w, 0x83, res->seq_number);
        eim_der_begin(&w, 0x30);
        for (size_t i = 0; i < res->count && !err; i++)
            err = put_item(&w, res, &res->results[i]);
        eim_der_end(&w);
    } else {
        eim_der_put_int(&w, 0x02, res->error_code);
    }
    eim_der_end(&w);
    if (!err)
        err = eim_der_writer_finish(&w);
    if (err)
        out->len = start;
    return err;
}

eim_err_t eim_esep_result_assemble(eim_result_form_t form, eim_span_t signed_tlv,
                                   eim_span_t signature, eim_buf_t *out)
{
    if (!out || (form != EIM_RESULT_SIGNED && form != EIM_RESULT_ERROR_SIGNED) || !signed_tlv.ptr ||
        eim_esep_check_field(signature, 1, EIM_ESEP_SIGNATURE_MAX))
        return EIM_ERR_INVALID_ARG;
    eim_der_reader_t r;
    eim_der_elem_t e = {0};
    eim_der_reader_init(&r, signed_tlv.ptr, signed_tlv.len, NULL);
    if (eim_der_read_tag(&r, 0x30, &e) || !eim_der_at_end(&r))
        return EIM_ERR_INVALID_ARG;
    size_t start = out->len;
    eim_der_writer_t w;
    eim_der_writer_init(&w, out);
    eim_der_begin(&w, 0xBF51);
    eim_der_begin(&w, form == EIM_RESULT_SIGNED ? 0xA0 : 0xA1);
    eim_der_put_raw(&w, signed_tlv);
    eim_der_put_span(&w, 0x5F37, signature);
    eim_der_end(&w);
    eim_der_end(&w);
    eim_err_t err = eim_der_writer_finish(&w);
    if (err)
        out->len = start;
    return err;
}

static eim_err_t encode_unsigned(const eim_euicc_result_t *res, eim_buf_t *out)
{
    eim_err_t err = eim_esep_check_field(res->eim_id, 1, EIM_ESEP_EIM_ID_MAX);
    if (!err && eim_esep_present(res->transaction_id))
        err = eim_esep_check_field(res->transaction_id, 1, EIM_ESEP_TRANSACTION_ID_MAX);
    if (err)
        return err;
    size_t start = out->len;
    eim_der_writer_t w;
    eim_der_writer_init(&w, out);
    eim_der_begin(&w, 0xBF51);
    eim_der_begin(&w, 0xA2);
    eim_der_put_span(&w, 0x80, res->eim_id);
    eim_esep_put_opt(&w, 0x82, res->transaction_id);
    if (res->has_association_token)
        eim_der_put_int(&w, 0x84, res->association_token);
    if (res->has_unsigned_error_code)
        eim_der_put_int(&w, 0x8F, res->unsigned_error_code);
    eim_der_end(&w);
    eim_der_end(&w);
    err = eim_der_writer_finish(&w);
    if (err)
        out->len = start;
    return err;
}

eim_err_t eim_esep_result_encode(const eim_euicc_result_t *res, int64_t token,
                                 eim_esep_sign_fn sign, void *sign_ctx, eim_buf_t *out)
{
    if (!res || !out)
        return EIM_ERR_INVALID_ARG;
    if (res->form == EIM_RESULT_ERROR_UNSIGNED)
        return encode_unsigned(res, out);
    if (!sign)
        return EIM_ERR_INVALID_ARG;
    eim_buf_t signed_part;
    uint8_t signature[EIM_ESEP_SIGNATURE_LEN];
    eim_buf_init(&signed_part, EIM_ESEP_MAX_MESSAGE);
    eim_err_t err = eim_esep_result_encode_signed(res, &signed_part);
    if (err)
        goto out;
    eim_span_t signed_tlv = eim_span(signed_part.data, signed_part.len);
    err = eim_esep_sign(signed_tlv, token, sign, sign_ctx, signature);
    if (err)
        goto out;
    err = eim_esep_result_assemble(res->form, signed_tlv, eim_span(signature, sizeof(signature)),
                                   out);
out:
    eim_buf_free(&signed_part);
    return err;
}
