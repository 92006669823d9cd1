/*
 * Shared helpers of the ESipa codec: top-level framing, value checks of the
 * SGP.22/SGP.32 primitive types (TransactionId, Octet16, UTF8String sizes,
 * named BIT STRINGs) and their writers. SGP.32 v1.2 Annex A (ASN.1 module,
 * AUTOMATIC TAGS, EXTENSIBILITY IMPLIED), ITU-T X.690 (DER).
 */
#include "proto/esipa/esipa_internal.h"

const char *eim_esipa_function_name(eim_esipa_function_t function)
{
    switch (function) {
    case EIM_ESIPA_INITIATE_AUTHENTICATION: return "InitiateAuthentication";
    case EIM_ESIPA_GET_BOUND_PROFILE_PACKAGE: return "GetBoundProfilePackage";
    case EIM_ESIPA_AUTHENTICATE_CLIENT: return "AuthenticateClient";
    case EIM_ESIPA_HANDLE_NOTIFICATION: return "HandleNotification";
    case EIM_ESIPA_CANCEL_SESSION: return "CancelSession";
    case EIM_ESIPA_TRANSFER_EIM_PACKAGE: return "TransferEimPackage";
    case EIM_ESIPA_GET_EIM_PACKAGE: return "GetEimPackage";
    case EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT: return "ProvideEimPackageResult";
    }
    return "unknown";
}

eim_err_t eim_esipa_rebuild_tlv(uint32_t tag, eim_span_t contents, eim_buf_t *out)
{
    if (out == NULL || (contents.ptr == NULL && contents.len > 0))
        return EIM_ERR_INVALID_ARG;
    eim_der_writer_t w;
    eim_der_writer_init(&w, out);
    eim_der_put_span(&w, tag, contents);
    return eim_der_writer_finish(&w);
}

eim_err_t eim_esipa_decode_begin(const uint8_t *data, size_t len, eim_der_error_t *error,
                                 uint32_t tag, eim_der_reader_t *top, eim_der_elem_t *elem)
{
    if (error != NULL)
        *error = (eim_der_error_t){0, 0, NULL};
    if (data == NULL && len > 0)
        return EIM_ERR_INVALID_ARG;
    eim_der_reader_init(top, data, len, error);
    return eim_der_read_tag(top, tag, elem);
}

eim_err_t eim_esipa_decode_end(eim_der_reader_t *top, eim_err_t rc)
{
    if (rc != EIM_OK)
        return rc;
    return eim_der_expect_end(top);
}

eim_err_t eim_esipa_enter(eim_der_reader_t *r, const eim_der_elem_t *elem, eim_der_reader_t *child)
{
    if (!eim_der_tag_is_constructed(elem->tag))
        return eim_der_fail(r, elem, EIM_ERR_DECODE, "expected a constructed element");
    return eim_der_enter(r, elem, child);
}

eim_err_t eim_esipa_skip_extensions(eim_der_reader_t *r)
{
    eim_der_elem_t elem = {0};
    while (!eim_der_at_end(r)) {
        eim_err_t rc = eim_der_read(r, &elem);
        if (rc != EIM_OK)
            return rc;
    }
    return EIM_OK;
}

eim_err_t eim_esipa_read_single(eim_der_reader_t *r, eim_der_elem_t *out)
{
    eim_err_t rc = eim_der_read(r, out);
    if (rc != EIM_OK)
        return rc;
    return eim_der_expect_end(r);
}

eim_err_t eim_esipa_get_int(eim_der_reader_t *r, const eim_der_elem_t *elem, int64_t *out)
{
    eim_err_t rc = eim_der_get_int(elem, out);
    if (rc != EIM_OK)
        return eim_der_fail(r, elem, rc, "malformed or oversized INTEGER");
    return EIM_OK;
}

eim_err_t eim_esipa_get_null(eim_der_reader_t *r, const eim_der_elem_t *elem)
{
    eim_err_t rc = eim_der_get_null(elem);
    if (rc != EIM_OK)
        return eim_der_fail(r, elem, rc, "NULL must be empty");
    return EIM_OK;
}

eim_err_t eim_esipa_get_fixed(eim_der_reader_t *r, const eim_der_elem_t *elem, size_t len,
                              const char *reason, eim_span_t *out)
{
    if (eim_der_tag_is_constructed(elem->tag) || elem->value.len != len)
        return eim_der_fail(r, elem, EIM_ERR_DECODE, reason);
    *out = elem->value;
    return EIM_OK;
}

eim_err_t eim_esipa_get_transaction_id(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                       eim_span_t *out)
{
    if (eim_der_tag_is_constructed(elem->tag) || elem->value.len < 1 ||
        elem->value.len > EIM_ESIPA_TRANSACTION_ID_MAX)
        return eim_der_fail(r, elem, EIM_ERR_DECODE, "TransactionId must be 1..16 bytes");
    *out = elem->value;
    return EIM_OK;
}

bool eim_esipa_utf8_valid(eim_span_t s, size_t *chars)
{
    size_t n = 0;
    size_t i = 0;
    while (i < s.len) {
        uint8_t c = s.ptr[i];
        size_t extra;
        uint32_t cp;
        if (c < 0x80) {
            extra = 0;
            cp = c;
        } else if ((c & 0xE0) == 0xC0) {
            extra = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            extra = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            extra = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (s.len - i - 1 < extra)
            return false;
        for (size_t k = 1; k <= extra; k++) {
            uint8_t cc = s.ptr[i + k];
            if ((cc & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (cc & 0x3F);
        }
        /* Overlong forms, surrogates and values beyond U+10FFFF. */
        if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) ||
            (extra == 3 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += extra + 1;
        n++;
    }
    if (chars != NULL)
        *chars = n;
    return true;
}

eim_err_t eim_esipa_get_utf8(eim_der_reader_t *r, const eim_der_elem_t *elem, size_t min_chars,
                             size_t max_chars, eim_span_t *out)
{
    size_t chars = 0;
    if (eim_der_tag_is_constructed(elem->tag))
        return eim_der_fail(r, elem, EIM_ERR_DECODE, "UTF8String must be primitive");
    if (!eim_esipa_utf8_valid(elem->value, &chars))
        return eim_der_fail(r, elem, EIM_ERR_DECODE, "invalid UTF-8");
    if (chars < min_chars || (max_chars != 0 && chars > max_chars))
        return eim_der_fail(r, elem, EIM_ERR_DECODE, "UTF8String size out of range");
    *out = elem->value;
    return EIM_OK;
}

eim_err_t eim_esipa_get_bits(eim_der_reader_t *r, const eim_der_elem_t *elem, uint32_t *mask)
{
    const eim_span_t v = elem->value;
    if (eim_der_tag_is_constructed(elem->tag) || v.len < 1 || v.ptr[0] > 7 ||
        (v.len == 1 && v.ptr[0] != 0))
        return eim_der_fail(r, elem, EIM_ERR_DECODE, "malformed BIT STRING");
    size_t nbits = (v.len - 1) * 8 - v.ptr[0];
    uint32_t m = 0;
    for (size_t bit = 0; bit < nbits && bit < 32; bit++) {
        if (v.ptr[1 + bit / 8] & (0x80u >> (bit % 8)))
            m |= 1u << bit;
    }
    *mask = m;
    return EIM_OK;
}

eim_err_t eim_esipa_expect_tag(eim_der_reader_t *r, const eim_der_elem_t *elem, uint32_t tag)
{
    if (elem->tag != tag)
        return eim_der_fail(r, elem, EIM_ERR_DECODE, "unexpected tag");
    return EIM_OK;
}

void eim_esipa_writer_fail(eim_der_writer_t *w)
{
    if (w->err == EIM_OK)
        w->err = EIM_ERR_INVALID_ARG;
}

static bool span_ok(eim_span_t s)
{
    return s.ptr != NULL || s.len == 0;
}

void eim_esipa_put_fixed(eim_der_writer_t *w, uint32_t tag, eim_span_t value, size_t len)
{
    if (!span_ok(value) || value.len != len) {
        eim_esipa_writer_fail(w);
        return;
    }
    eim_der_put_span(w, tag, value);
}

void eim_esipa_put_transaction_id(eim_der_writer_t *w, uint32_t tag, eim_span_t value)
{
    if (!span_ok(value) || value.len < 1 || value.len > EIM_ESIPA_TRANSACTION_ID_MAX) {
        eim_esipa_writer_fail(w);
        return;
    }
    eim_der_put_span(w, tag, value);
}

void eim_esipa_put_utf8(eim_der_writer_t *w, uint32_t tag, eim_span_t value, size_t min_chars,
                        size_t max_chars)
{
    size_t chars = 0;
    if (!span_ok(value) || !eim_esipa_utf8_valid(value, &chars) || chars < min_chars ||
        (max_chars != 0 && chars > max_chars)) {
        eim_esipa_writer_fail(w);
        return;
    }
    eim_der_put_span(w, tag, value);
}

void eim_esipa_put_bits(eim_der_writer_t *w, uint32_t tag, uint32_t mask)
{
    /* DER: named-bit lists drop trailing zero bits (X.690 §11.2.2). */
    uint8_t bytes[1 + 4] = {0};
    size_t len = 1;
    if (mask != 0) {
        unsigned highest = 31;
        while (!(mask & (1u << highest)))
            highest--;
        size_t nbytes = highest / 8 + 1;
        bytes[0] = (uint8_t)(7 - highest % 8);
        for (unsigned bit = 0; bit <= highest; bit++) {
            if (mask & (1u << bit))
                bytes[1 + bit / 8] |= (uint8_t)(0x80u >> (bit % 8));
        }
        len = 1 + nbytes;
    }
    eim_der_put(w, tag, bytes, len);
}

void eim_esipa_put_tlv(eim_der_writer_t *w, uint32_t tag, eim_span_t tlv)
{
    if (tlv.ptr == NULL || tlv.len == 0) {
        eim_esipa_writer_fail(w);
        return;
    }
    eim_der_reader_t r;
    eim_der_elem_t elem = {0};
    eim_der_reader_init(&r, tlv.ptr, tlv.len, NULL);
    if (eim_der_read(&r, &elem) != EIM_OK || eim_der_expect_end(&r) != EIM_OK ||
        (tag != 0 && elem.tag != tag)) {
        eim_esipa_writer_fail(w);
        return;
    }
    eim_der_put_raw(w, tlv);
}
