/*
 * IpaEuiccDataRequest / IpaEuiccDataResponse (BF52), SGP.32 v1.2 §2.11.2
 * and Annex A. SGP.22 objects inside IpaEuiccData (EUICCInfo1/2,
 * certificates, DeviceInfo, EuiccPackageResults) are kept as byte-preserved
 * spans; only IpaCapabilities is decoded because the eIM branches on it
 * (eimDownloadDataHandling, minimizeEsipaBytes, ...).
 */
#include "proto/esipa/euicc_data.h"

#include <string.h>

#include "proto/esipa/esipa_internal.h"

#define TAG_EUICC_DATA 0xBF52
#define TAG_EPR        0xBF51

/* IpaEuiccData members in declaration order (= DER order). */
static const uint32_t member_tags[] = {0xA0, 0x81, 0xA2, 0xBF20, 0xBF22, 0x83,
                                       0x84, 0xA5, 0xA6, 0x87,   0xA8,   0xA9};
#define MEMBER_COUNT (sizeof(member_tags) / sizeof(member_tags[0]))

bool eim_esipa_euicc_data_tag_list_valid(eim_span_t tag_list)
{
    size_t i = 0;
    if (tag_list.ptr == NULL || tag_list.len == 0)
        return false;
    while (i < tag_list.len) {
        uint32_t tag = tag_list.ptr[i++];
        if ((tag & 0x1F) == 0x1F) {
            size_t n = 0;
            uint8_t b;
            do {
                if (i == tag_list.len || ++n > 3)
                    return false;
                b = tag_list.ptr[i++];
                tag = (tag << 8) | b;
            } while (b & 0x80);
        }
        bool known = false;
        for (size_t k = 0; k < MEMBER_COUNT; k++)
            known = known || member_tags[k] == tag;
        if (!known)
            return false;
    }
    return true;
}

eim_err_t eim_esipa_euicc_data_request_read(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                            eim_esipa_euicc_data_request_t *out)
{
    eim_der_reader_t seq, choice;
    eim_der_elem_t e = {0}, a = {0};
    bool present = false;
    memset(out, 0, sizeof(*out));
    eim_err_t rc = eim_esipa_enter(r, elem, &seq);
    if (rc == EIM_OK)
        rc = eim_der_read_tag(&seq, 0x5C, &e);
    if (rc == EIM_OK)
        out->tag_list = e.value;
    if (rc == EIM_OK)
        rc = eim_der_read_optional(&seq, 0x04, &e, &present);
    if (rc == EIM_OK && present) {
        out->has_euicc_ci_pkid = true;
        out->euicc_ci_pkid = e.value;
    }
    if (rc == EIM_OK)
        rc = eim_der_read_optional(&seq, 0xA1, &e, &present);
    if (rc == EIM_OK && present) {
        rc = eim_esipa_enter(&seq, &e, &choice);
        if (rc == EIM_OK)
            rc = eim_esipa_read_single(&choice, &a);
        if (rc == EIM_OK && a.tag == 0x80) {
            out->notification_search = EIM_ESIPA_NOTIFICATION_SEARCH_SEQ_NUMBER;
            rc = eim_esipa_get_int(&choice, &a, &out->notification_seq_number);
        } else if (rc == EIM_OK && a.tag == 0x81) {
            out->notification_search = EIM_ESIPA_NOTIFICATION_SEARCH_EVENT;
            rc = eim_esipa_get_bits(&choice, &a, &out->notification_event);
        } else if (rc == EIM_OK) {
            rc = eim_der_fail(&choice, &a, EIM_ERR_UNSUPPORTED,
                              "unknown searchCriteriaNotification alternative");
        }
    }
    if (rc == EIM_OK)
        rc = eim_der_read_optional(&seq, 0xA2, &e, &present);
    if (rc == EIM_OK && present) {
        rc = eim_esipa_enter(&seq, &e, &choice);
        if (rc == EIM_OK)
            rc = eim_esipa_read_single(&choice, &a);
        if (rc == EIM_OK)
            rc = eim_esipa_expect_tag(&choice, &a, 0x80);
        if (rc == EIM_OK)
            rc = eim_esipa_get_int(&choice, &a, &out->package_result_seq_number);
        out->has_package_result_seq_number = rc == EIM_OK;
    }
    if (rc == EIM_OK)
        rc = eim_der_read_optional(&seq, 0x83, &e, &present);
    if (rc == EIM_OK && present) {
        rc = eim_esipa_get_transaction_id(&seq, &e, &out->transaction_id);
        out->has_transaction_id = rc == EIM_OK;
    }
    if (rc == EIM_OK)
        rc = eim_esipa_skip_extensions(&seq);
    return rc;
}

void eim_esipa_euicc_data_request_write(eim_der_writer_t *w,
                                        const eim_esipa_euicc_data_request_t *in)
{
    if (!eim_esipa_euicc_data_tag_list_valid(in->tag_list)) {
        eim_esipa_writer_fail(w);
        return;
    }
    eim_der_begin(w, TAG_EUICC_DATA);
    eim_der_put_span(w, 0x5C, in->tag_list);
    if (in->has_euicc_ci_pkid)
        eim_der_put_span(w, 0x04, in->euicc_ci_pkid);
    switch (in->notification_search) {
    case EIM_ESIPA_NOTIFICATION_SEARCH_NONE: break;
    case EIM_ESIPA_NOTIFICATION_SEARCH_SEQ_NUMBER:
        eim_der_begin(w, 0xA1);
        eim_der_put_int(w, 0x80, in->notification_seq_number);
        eim_der_end(w);
        break;
    case EIM_ESIPA_NOTIFICATION_SEARCH_EVENT:
        eim_der_begin(w, 0xA1);
        eim_esipa_put_bits(w, 0x81, in->notification_event);
        eim_der_end(w);
        break;
    default: eim_esipa_writer_fail(w); break;
    }
    if (in->has_package_result_seq_number) {
        eim_der_begin(w, 0xA2);
        eim_der_put_int(w, 0x80, in->package_result_seq_number);
        eim_der_end(w);
    }
    if (in->has_transaction_id)
        eim_esipa_put_transaction_id(w, 0x83, in->transaction_id);
    eim_der_end(w);
}

/* IpaCapabilities ::= SEQUENCE { ipaFeatures [0] BIT STRING,
 *   ipaSupportedProtocols [1] BIT STRING OPTIONAL } */
static eim_err_t read_ipa_capabilities(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                       eim_esipa_euicc_data_response_t *out)
{
    eim_der_reader_t seq;
    eim_der_elem_t e;
    bool present;
    out->ipa_capabilities = elem->value;
    eim_err_t rc = eim_esipa_enter(r, elem, &seq);
    if (rc == EIM_OK)
        rc = eim_der_read_tag(&seq, 0x80, &e);
    if (rc == EIM_OK)
        rc = eim_esipa_get_bits(&seq, &e, &out->ipa_features);
    if (rc == EIM_OK)
        rc = eim_der_read_optional(&seq, 0x81, &e, &present);
    if (rc == EIM_OK && present) {
        rc = eim_esipa_get_bits(&seq, &e, &out->ipa_supported_protocols);
        out->has_ipa_supported_protocols = rc == EIM_OK;
    }
    if (rc == EIM_OK)
        rc = eim_esipa_skip_extensions(&seq);
    out->has_ipa_capabilities = rc == EIM_OK;
    return rc;
}

static eim_err_t read_package_results(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                      eim_esipa_euicc_data_response_t *out)
{
    eim_der_reader_t list;
    eim_der_elem_t e;
    eim_err_t rc = eim_esipa_enter(r, elem, &list);
    while (rc == EIM_OK && !eim_der_at_end(&list)) {
        rc = eim_der_read(&list, &e);
        if (rc != EIM_OK)
            break;
        if (e.tag != TAG_EPR)
            return eim_der_fail(&list, &e, EIM_ERR_DECODE, "EuiccPackageResult (BF51) expected");
        if (out->package_result_count == EIM_ESIPA_MAX_PACKAGE_RESULTS)
            return eim_der_fail(&list, &e, EIM_ERR_LIMIT, "too many eUICC package results");
        out->package_results[out->package_result_count++] = e.tlv;
    }
    out->has_package_results = rc == EIM_OK;
    return rc;
}

static eim_err_t read_member(eim_der_reader_t *r, const eim_der_elem_t *e,
                             eim_esipa_euicc_data_response_t *out)
{
    eim_err_t rc = EIM_OK;
    switch (e->tag) {
    case 0xA0:
        rc = eim_esipa_notification_list_read(r, e, &out->notifications);
        out->has_notifications = rc == EIM_OK;
        break;
    case 0x81:
        rc = eim_esipa_get_utf8(r, e, 0, 0, &out->default_smdp_address);
        out->has_default_smdp_address = rc == EIM_OK;
        break;
    case 0xA2: rc = read_package_results(r, e, out); break;
    case 0xBF20:
        out->has_euicc_info1 = true;
        out->euicc_info1 = e->tlv;
        break;
    case 0xBF22:
        out->has_euicc_info2 = true;
        out->euicc_info2 = e->tlv;
        break;
    case 0x83:
        rc = eim_esipa_get_utf8(r, e, 0, 0, &out->root_smds_address);
        out->has_root_smds_address = rc == EIM_OK;
        break;
    case 0x84:
        rc = eim_esipa_get_int(r, e, &out->association_token);
        out->has_association_token = rc == EIM_OK;
        break;
    case 0xA5:
        out->has_eum_certificate = true;
        out->eum_certificate = e->value;
        break;
    case 0xA6:
        out->has_euicc_certificate = true;
        out->euicc_certificate = e->value;
        break;
    case 0x87:
        rc = eim_esipa_get_transaction_id(r, e, &out->transaction_id);
        out->has_transaction_id = rc == EIM_OK;
        break;
    case 0xA8: rc = read_ipa_capabilities(r, e, out); break;
    case 0xA9:
        out->has_device_info = true;
        out->device_info = e->value;
        break;
    default: break; /* unreachable: only member tags are dispatched here */
    }
    return rc;
}

/* Members in declaration order; unknown elements are extensions and are
 * skipped; a known member out of order or repeated is an error. */
static eim_err_t read_data_members(eim_der_reader_t *m, eim_esipa_euicc_data_response_t *out)
{
    eim_der_elem_t e;
    size_t next = 0;
    out->kind = EIM_ESIPA_EUICC_DATA;
    while (!eim_der_at_end(m)) {
        eim_err_t rc = eim_der_read(m, &e);
        if (rc != EIM_OK)
            return rc;
        size_t k = 0;
        while (k < MEMBER_COUNT && member_tags[k] != e.tag)
            k++;
        if (k == MEMBER_COUNT)
            continue; /* extension */
        if (k < next)
            return eim_der_fail(m, &e, EIM_ERR_DECODE, "IpaEuiccData member out of order");
        next = k + 1;
        rc = read_member(m, &e, out);
        if (rc != EIM_OK)
            return rc;
    }
    return EIM_OK;
}

/* IpaEuiccDataResponseError ::= SEQUENCE { eimTransactionId [0] OPTIONAL,
 *   ipaEuiccDataErrorCode INTEGER } */
static eim_err_t read_error_members(eim_der_reader_t *m, eim_esipa_euicc_data_response_t *out)
{
    eim_der_elem_t e;
    bool present;
    out->kind = EIM_ESIPA_EUICC_DATA_ERROR;
    eim_err_t rc = eim_der_read_optional(m, 0x80, &e, &present);
    if (rc == EIM_OK && present) {
        rc = eim_esipa_get_transaction_id(m, &e, &out->transaction_id);
        out->has_transaction_id = rc == EIM_OK;
    }
    if (rc == EIM_OK)
        rc = eim_der_read_tag(m, 0x02, &e);
    if (rc == EIM_OK)
        rc = eim_esipa_get_int(m, &e, &out->error_code);
    if (rc == EIM_OK)
        rc = eim_esipa_skip_extensions(m);
    return rc;
}

static bool starts_error(const eim_der_reader_t *m)
{
    uint32_t tag = 0;
    return eim_der_peek_tag(m, &tag) == EIM_OK && (tag == 0x80 || tag == 0x02);
}

/* A lone A0 in BF52 is normally the ipaEuiccData wrapper; in the bare form
 * it is notificationsList. Its first inner tag tells them apart unless it
 * is A0 (member notificationsList vs compact PIR): then the canonical
 * wrapped reading wins. */
static bool looks_like_notification_list(const eim_der_reader_t *r, const eim_der_elem_t *elem)
{
    eim_der_reader_t inner;
    uint32_t tag = 0;
    if (eim_der_enter(r, elem, &inner) != EIM_OK || eim_der_at_end(&inner) ||
        eim_der_peek_tag(&inner, &tag) != EIM_OK)
        return false;
    return tag == 0xBF37 || tag == 0x30 || tag == 0xA1;
}

eim_err_t eim_esipa_euicc_data_response_read(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                             eim_esipa_euicc_data_response_t *out)
{
    eim_der_reader_t c, m;
    eim_der_elem_t first;
    memset(out, 0, sizeof(*out));
    eim_err_t rc = eim_esipa_enter(r, elem, &c);
    if (rc != EIM_OK)
        return rc;
    bool single = false;
    if (!eim_der_at_end(&c)) {
        rc = eim_der_read(&c, &first);
        if (rc != EIM_OK)
            return rc;
        single = eim_der_at_end(&c);
    }
    if (single && first.tag == 0xA0 && looks_like_notification_list(&c, &first))
        single = false;
    if (single && (first.tag == 0xA0 || first.tag == 0xA1 || first.tag == 0x30)) {
        rc = eim_esipa_enter(&c, &first, &m);
        if (rc != EIM_OK)
            return rc;
        if (first.tag == 0x30) {
            out->wire_form = EIM_ESIPA_FORM_SEQUENCE;
            return starts_error(&m) ? read_error_members(&m, out) : read_data_members(&m, out);
        }
        out->wire_form = EIM_ESIPA_FORM_CHOICE_TAGGED;
        return first.tag == 0xA1 ? read_error_members(&m, out) : read_data_members(&m, out);
    }
    /* Bare: the members directly in BF52 (restart from the first one). */
    out->wire_form = EIM_ESIPA_FORM_BARE;
    rc = eim_esipa_enter(r, elem, &m);
    if (rc != EIM_OK)
        return rc;
    return starts_error(&m) ? read_error_members(&m, out) : read_data_members(&m, out);
}

static void put_opt_contents(eim_der_writer_t *w, bool has, uint32_t tag, eim_span_t value)
{
    if (!has)
        return;
    if (value.ptr == NULL && value.len > 0) {
        eim_esipa_writer_fail(w);
        return;
    }
    eim_der_put_span(w, tag, value);
}

void eim_esipa_euicc_data_response_write(eim_der_writer_t *w,
                                         const eim_esipa_euicc_data_response_t *in)
{
    eim_der_begin(w, TAG_EUICC_DATA);
    if (in->kind == EIM_ESIPA_EUICC_DATA) {
        eim_der_begin(w, 0xA0);
        if (in->has_notifications)
            eim_esipa_notification_list_write(w, 0xA0, &in->notifications);
        if (in->has_default_smdp_address)
            eim_esipa_put_utf8(w, 0x81, in->default_smdp_address, 0, 0);
        if (in->has_package_results) {
            if (in->package_result_count > EIM_ESIPA_MAX_PACKAGE_RESULTS) {
                eim_esipa_writer_fail(w);
            } else {
                eim_der_begin(w, 0xA2);
                for (size_t i = 0; i < in->package_result_count; i++)
                    eim_esipa_put_tlv(w, TAG_EPR, in->package_results[i]);
                eim_der_end(w);
            }
        }
        if (in->has_euicc_info1)
            eim_esipa_put_tlv(w, 0xBF20, in->euicc_info1);
        if (in->has_euicc_info2)
            eim_esipa_put_tlv(w, 0xBF22, in->euicc_info2);
        if (in->has_root_smds_address)
            eim_esipa_put_utf8(w, 0x83, in->root_smds_address, 0, 0);
        if (in->has_association_token)
            eim_der_put_int(w, 0x84, in->association_token);
        put_opt_contents(w, in->has_eum_certificate, 0xA5, in->eum_certificate);
        put_opt_contents(w, in->has_euicc_certificate, 0xA6, in->euicc_certificate);
        if (in->has_transaction_id)
            eim_esipa_put_transaction_id(w, 0x87, in->transaction_id);
        put_opt_contents(w, in->has_ipa_capabilities, 0xA8, in->ipa_capabilities);
        put_opt_contents(w, in->has_device_info, 0xA9, in->device_info);
        eim_der_end(w);
    } else if (in->kind == EIM_ESIPA_EUICC_DATA_ERROR) {
        eim_der_begin(w, 0xA1);
        if (in->has_transaction_id)
            eim_esipa_put_transaction_id(w, 0x80, in->transaction_id);
        eim_der_put_int(w, 0x02, in->error_code);
        eim_der_end(w);
    } else {
        eim_esipa_writer_fail(w);
    }
    eim_der_end(w);
}

EIM_ESIPA_DEFINE_CODEC(euicc_data_request, eim_esipa_euicc_data_request_t, TAG_EUICC_DATA)
EIM_ESIPA_DEFINE_CODEC(euicc_data_response, eim_esipa_euicc_data_response_t, TAG_EUICC_DATA)
