/*
 * Common parts of proto/esep: the associationToken data object bound into
 * the eIM and eUICC signatures (SGP.32 v1.2 §2.11.1.1, §2.11.1.2; brief
 * §3.1-§3.2) and the small decoding helpers shared by euicc_package.c and
 * euicc_result.c.
 */
#include "proto/esep/esep.h"

#include "proto/der/der.h"
#include "proto/esep/esep_internal.h"

eim_err_t eim_esep_token_append(eim_buf_t *out, int64_t token)
{
    if (!out)
        return EIM_ERR_INVALID_ARG;
    eim_der_writer_t w;
    eim_der_writer_init(&w, out);
    /* associationToken [4] INTEGER: context tag 4, primitive (84). */
    eim_der_put_int(&w, 0x84, token);
    return eim_der_writer_finish(&w);
}

eim_err_t eim_esep_signature_input(eim_span_t signed_tlv, int64_t token, eim_buf_t *out)
{
    if (!out || !signed_tlv.ptr || signed_tlv.len == 0)
        return EIM_ERR_INVALID_ARG;
    eim_err_t err = eim_buf_append(out, signed_tlv.ptr, signed_tlv.len);
    if (err)
        return err;
    return eim_esep_token_append(out, token);
}

eim_err_t eim_esep_sign(eim_span_t signed_tlv, int64_t token, eim_esep_sign_fn sign, void *sign_ctx,
                        uint8_t signature[EIM_ESEP_SIGNATURE_LEN])
{
    eim_buf_t input;
    eim_buf_init(&input, EIM_ESEP_MAX_MESSAGE + EIM_ESEP_TOKEN_TLV_MAX);
    eim_err_t err = eim_esep_signature_input(signed_tlv, token, &input);
    if (!err)
        err = sign(sign_ctx, eim_span(input.data, input.len), signature);
    eim_buf_free(&input);
    return err;
}

eim_err_t eim_esep_check_order(eim_der_reader_t *r, const eim_der_elem_t *elem, int *last,
                               int position)
{
    if (position <= *last)
        return eim_der_fail(r, elem, EIM_ERR_DECODE, "component duplicated or out of order");
    *last = position;
    return EIM_OK;
}

eim_err_t eim_esep_check_len(eim_der_reader_t *r, const eim_der_elem_t *elem, size_t min,
                             size_t max, const char *reason)
{
    if (eim_der_tag_is_constructed(elem->tag))
        return eim_der_fail(r, elem, EIM_ERR_DECODE, "constructed encoding of a primitive type");
    if (elem->value.len < min || elem->value.len > max)
        return eim_der_fail(r, elem, EIM_ERR_DECODE, reason);
    return EIM_OK;
}

eim_err_t eim_esep_get_uint(eim_der_reader_t *r, const eim_der_elem_t *elem, uint64_t *out)
{
    eim_err_t err = eim_der_check_int(r, elem);
    if (err)
        return err;
    err = eim_der_get_uint(elem, out);
    if (err)
        return eim_der_fail(r, elem, err, "INTEGER negative or too large");
    return EIM_OK;
}

eim_err_t eim_esep_get_int(eim_der_reader_t *r, const eim_der_elem_t *elem, int64_t *out)
{
    eim_err_t err = eim_der_check_int(r, elem);
    if (err)
        return err;
    err = eim_der_get_int(elem, out);
    if (err)
        return eim_der_fail(r, elem, err, "INTEGER too large");
    return EIM_OK;
}

eim_err_t eim_esep_get_bool(eim_der_reader_t *r, const eim_der_elem_t *elem, bool *out)
{
    eim_err_t err = eim_der_get_bool(elem, out);
    if (err)
        return eim_der_fail(r, elem, err, "BOOLEAN not 00 or FF");
    return EIM_OK;
}

static eim_err_t check_tlvs_at(eim_der_reader_t *r)
{
    while (!eim_der_at_end(r)) {
        eim_der_elem_t e = {0};
        eim_err_t err = eim_der_read(r, &e);
        if (err)
            return err;
        if (eim_der_tag_is_constructed(e.tag)) {
            eim_der_reader_t c;
            err = eim_der_enter(r, &e, &c);
            if (err)
                return err;
            err = check_tlvs_at(&c);
            if (err)
                return err;
        }
    }
    return EIM_OK;
}

eim_err_t eim_esep_check_tlvs(eim_der_reader_t *r)
{
    eim_der_reader_t copy = *r;
    return check_tlvs_at(&copy);
}

void eim_esep_put_opt(eim_der_writer_t *w, uint32_t tag, eim_span_t value)
{
    if (eim_esep_present(value))
        eim_der_put_span(w, tag, value);
}

eim_err_t eim_esep_check_field(eim_span_t value, size_t min, size_t max)
{
    if (!value.ptr || value.len < min || value.len > max)
        return EIM_ERR_INVALID_ARG;
    return EIM_OK;
}
