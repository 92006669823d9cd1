/*
 * CoAP codec over libcoap 4.3.1. See coap_codec.h.
 *
 * Parsing: coap_pdu_init + coap_pdu_parse(COAP_PROTO_UDP) check the message
 * format of RFC 7252 §3 (version, token length, option deltas and lengths,
 * payload marker followed by at least one byte); the option iterator then
 * yields numbers and values which are copied into one buffer owned by the
 * message. Building: coap_add_token/coap_add_option/coap_add_data into a
 * PDU, then the wire bytes are written here because libcoap 4.3.1 has no
 * public serializer (RFC 7252 §3 layout, options with coap_opt_encode).
 */
#include "server/coap/coap_codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <coap3/coap.h>

#include "proto/base/memory.h"

void eim_coap_codec_init(void)
{
    static bool started;
    if (started)
        return;
    started = true;
    coap_startup();
    /* Hostile datagrams must not flood stderr through libcoap's logger. */
    coap_set_log_level(LOG_EMERG);
}

static bool critical_option_known(uint16_t number)
{
    switch (number) {
    case 1:  /* If-Match */
    case 3:  /* Uri-Host */
    case 5:  /* If-None-Match */
    case 7:  /* Uri-Port */
    case 11: /* Uri-Path */
    case 15: /* Uri-Query */
    case 17: /* Accept */
    case 23: /* Block2 */
    case 27: /* Block1 */ return true;
    default: return false;
    }
}

/* Options that may occur once only (RFC 7252 Table 4, RFC 7959 §2.1/§4,
 * RFC 7641, RFC 8613, RFC 8768, RFC 9175, RFC 7967, RFC 9177). */
static bool option_repeatable(uint16_t number)
{
    switch (number) {
    case 3:
    case 5:
    case 6:
    case 7:
    case 9:
    case 12:
    case 14:
    case 16:
    case 17:
    case 19:
    case 23:
    case 27:
    case 28:
    case 31:
    case 35:
    case 39:
    case 60:
    case 252:
    case 258: return false;
    default: return true;
    }
}

static uint32_t decode_uint(const uint8_t *value, size_t len)
{
    uint32_t v = 0;
    for (size_t i = 0; i < len && i < 4; i++)
        v = (v << 8) | value[i];
    return v;
}

/* Appends one Uri-Path segment; '/' and '%' inside a segment are
 * percent-encoded so that "a/b" as one segment never equals "a" + "b". */
static eim_err_t append_path_segment(char *path, size_t *used, const uint8_t *seg, size_t len,
                                     bool first)
{
    if (!first) {
        if (*used + 1 > EIM_COAP_MAX_URI_PATH)
            return EIM_ERR_LIMIT;
        path[(*used)++] = '/';
    }
    for (size_t i = 0; i < len; i++) {
        const char *text = NULL;
        char one[2] = {(char)seg[i], 0};
        if (seg[i] == '/')
            text = "%2F";
        else if (seg[i] == '%')
            text = "%25";
        else if (seg[i] == 0)
            text = "%00";
        else
            text = one;
        size_t n = strlen(text);
        if (*used + n > EIM_COAP_MAX_URI_PATH)
            return EIM_ERR_LIMIT;
        memcpy(path + *used, text, n);
        *used += n;
    }
    path[*used] = 0;
    return EIM_OK;
}

static void read_block(const coap_pdu_t *pdu, coap_option_num_t number, eim_coap_block_t *out)
{
    coap_block_b_t b;
    memset(&b, 0, sizeof(b));
    memset(out, 0, sizeof(*out));
    if (coap_get_block_b(NULL, pdu, number, &b)) {
        out->present = true;
        out->num = b.num;
        out->more = b.m != 0;
        out->szx = (uint8_t)b.szx;
    }
}

eim_err_t eim_coap_peek_header(const uint8_t *data, size_t len, eim_coap_type_t *type,
                               uint8_t *code, uint16_t *message_id)
{
    if (data == NULL || len < 4 || (data[0] >> 6) != 1)
        return EIM_ERR_DECODE;
    *type = (eim_coap_type_t)((data[0] >> 4) & 3);
    *code = data[1];
    *message_id = (uint16_t)((data[2] << 8) | data[3]);
    return EIM_OK;
}

void eim_coap_message_clear(eim_coap_message_t *msg)
{
    if (msg == NULL)
        return;
    free(msg->owned);
    msg->owned = NULL;
    msg->option_count = 0;
    msg->payload = NULL;
    msg->payload_len = 0;
}

/* The option delta as written in the option header (RFC 7252 §3.1): 0..12,
 * 13 + one byte, 269 + two bytes. libcoap adds deltas in 16 bits, so an
 * option number past 65535 would silently wrap; we add them ourselves. */
static uint32_t option_delta(const uint8_t *opt)
{
    uint32_t nibble = opt[0] >> 4;
    if (nibble == 13)
        return 13u + opt[1];
    if (nibble == 14)
        return 269u + ((uint32_t)opt[1] << 8 | opt[2]);
    return nibble; /* 15 is the payload marker: libcoap never yields it */
}

eim_err_t eim_coap_parse(const uint8_t *data, size_t len, eim_coap_message_t *msg)
{
    eim_err_t err = EIM_OK;
    coap_pdu_t *pdu = NULL;
    size_t copied = 0;
    size_t path_used = 0;
    bool first_segment = true;

    memset(msg, 0, sizeof(*msg));
    msg->content_format = EIM_COAP_FORMAT_NONE;
    if (data == NULL || len < 4 || (data[0] >> 6) != 1) {
        err = EIM_ERR_DECODE;
        goto out;
    }
    eim_coap_codec_init();
    pdu = coap_pdu_init(0, 0, 0, len - 4);
    if (pdu == NULL)
        abort(); /* out of memory: house rule, no partial service */
    if (!coap_pdu_parse(COAP_PROTO_UDP, data, len, pdu)) {
        err = EIM_ERR_DECODE;
        goto out;
    }
    msg->type = (eim_coap_type_t)coap_pdu_get_type(pdu);
    msg->code = (uint8_t)coap_pdu_get_code(pdu);
    msg->message_id = (uint16_t)coap_pdu_get_mid(pdu);
    coap_bin_const_t token = coap_pdu_get_token(pdu);
    if (token.length > EIM_COAP_MAX_TOKEN) {
        err = EIM_ERR_DECODE;
        goto out;
    }
    msg->token_len = token.length;
    if (token.length)
        memcpy(msg->token, token.s, token.length);

    /* Option values and payload together never exceed the datagram. */
    msg->owned = eim_malloc(len);

    coap_opt_iterator_t it;
    coap_opt_t *opt;
    uint32_t number = 0;
    coap_option_iterator_init(pdu, &it, COAP_OPT_ALL);
    while ((opt = coap_option_next(&it)) != NULL) {
        number += option_delta(opt);
        if (number > UINT16_MAX || number != it.number) {
            err = EIM_ERR_DECODE; /* option number beyond 65535 */
            goto out;
        }
        if (msg->option_count == EIM_COAP_MAX_OPTIONS) {
            err = EIM_ERR_LIMIT;
            goto out;
        }
        uint32_t olen = coap_opt_length(opt);
        const uint8_t *oval = coap_opt_value(opt);
        /* Option number 0 is reserved (RFC 7252 §12.2) and libcoap cannot
         * encode it again: treat it as a format error. */
        if (olen > len - copied || olen > UINT16_MAX || it.number == 0) {
            err = EIM_ERR_DECODE;
            goto out;
        }
        bool repeated = msg->option_count > 0 &&
                        msg->options[msg->option_count - 1].number == it.number &&
                        !option_repeatable((uint16_t)it.number);
        eim_coap_option_t *o = &msg->options[msg->option_count++];
        o->number = (uint16_t)it.number;
        o->len = (uint16_t)olen;
        if (olen)
            memcpy(msg->owned + copied, oval, olen);
        o->value = msg->owned + copied;
        copied += olen;

        if (repeated) {
            /* §5.4.5: a repeat is an unrecognised option (libcoap cannot
             * encode it again either). */
            msg->repeated_option = true;
            if ((o->number & 1) && !msg->unknown_critical) {
                msg->unknown_critical = true;
                msg->unknown_critical_number = o->number;
            }
            continue;
        }
        switch (o->number) {
        case EIM_COAP_OPTION_URI_PATH:
            err = append_path_segment(msg->uri_path, &path_used, o->value, o->len, first_segment);
            if (err != EIM_OK)
                goto out;
            first_segment = false;
            break;
        case EIM_COAP_OPTION_CONTENT_FORMAT:
            msg->content_format = (int)decode_uint(o->value, o->len);
            break;
        case EIM_COAP_OPTION_SIZE1:
            msg->has_size1 = true;
            msg->size1 = decode_uint(o->value, o->len);
            break;
        case EIM_COAP_OPTION_SIZE2:
            msg->has_size2 = true;
            msg->size2 = decode_uint(o->value, o->len);
            break;
        default:
            if ((o->number & 1) && !critical_option_known(o->number) && !msg->unknown_critical) {
                msg->unknown_critical = true;
                msg->unknown_critical_number = o->number;
            }
            break;
        }
    }
    read_block(pdu, COAP_OPTION_BLOCK1, &msg->block1);
    read_block(pdu, COAP_OPTION_BLOCK2, &msg->block2);

    size_t plen = 0;
    const uint8_t *pdata = NULL;
    if (coap_get_data(pdu, &plen, &pdata) && plen > 0) {
        if (plen > len - copied) {
            err = EIM_ERR_DECODE;
            goto out;
        }
        memcpy(msg->owned + copied, pdata, plen);
        msg->payload = msg->owned + copied;
        msg->payload_len = plen;
    }
out:
    if (pdu != NULL)
        coap_delete_pdu(pdu);
    if (err != EIM_OK)
        eim_coap_message_clear(msg);
    return err;
}

void eim_coap_message_init(eim_coap_message_t *msg, eim_coap_type_t type, uint8_t code,
                           uint16_t message_id, const uint8_t *token, size_t token_len)
{
    memset(msg, 0, sizeof(*msg));
    msg->type = type;
    msg->code = code;
    msg->message_id = message_id;
    msg->content_format = EIM_COAP_FORMAT_NONE;
    if (token_len > EIM_COAP_MAX_TOKEN)
        token_len = EIM_COAP_MAX_TOKEN + 1; /* rejected by eim_coap_build */
    else if (token_len)
        memcpy(msg->token, token, token_len);
    msg->token_len = token_len;
}

eim_err_t eim_coap_add_option(eim_coap_message_t *msg, uint16_t number, const uint8_t *value,
                              size_t len)
{
    if (msg->option_count == EIM_COAP_MAX_OPTIONS)
        return EIM_ERR_LIMIT;
    if (len > UINT16_MAX || (len && value == NULL))
        return EIM_ERR_INVALID_ARG;
    eim_coap_option_t *o = &msg->options[msg->option_count++];
    o->number = number;
    o->len = (uint16_t)len;
    o->value = value;
    return EIM_OK;
}

eim_err_t eim_coap_add_uint_option(eim_coap_message_t *msg, uint16_t number, uint32_t value,
                                   uint8_t scratch[4])
{
    unsigned int n = coap_encode_var_safe(scratch, 4, value);
    return eim_coap_add_option(msg, number, scratch, n);
}

eim_err_t eim_coap_add_block_option(eim_coap_message_t *msg, uint16_t number,
                                    const eim_coap_block_t *block, uint8_t scratch[4])
{
    if (block->num > 0xFFFFF || block->szx > 7)
        return EIM_ERR_INVALID_ARG;
    uint32_t v = (block->num << 4) | (block->more ? 8u : 0u) | block->szx;
    return eim_coap_add_uint_option(msg, number, v, scratch);
}

eim_err_t eim_coap_build(const eim_coap_message_t *msg, uint8_t *out, size_t out_cap,
                         size_t *out_len)
{
    eim_err_t err = EIM_OK;
    coap_pdu_t *pdu = NULL;
    size_t order[EIM_COAP_MAX_OPTIONS];
    size_t need = msg->token_len + msg->payload_len + 1;
    size_t pos = 0;

    *out_len = 0;
    if (msg->token_len > EIM_COAP_MAX_TOKEN || msg->option_count > EIM_COAP_MAX_OPTIONS ||
        (unsigned)msg->type > 3) {
        err = EIM_ERR_INVALID_ARG;
        goto out;
    }
    /* Stable sort by option number: repeated options keep their order. */
    for (size_t i = 0; i < msg->option_count; i++) {
        size_t j = i;
        while (j > 0 && msg->options[order[j - 1]].number > msg->options[i].number) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
        need += (size_t)msg->options[i].len + 5;
    }
    eim_coap_codec_init();
    pdu = coap_pdu_init((coap_pdu_type_t)msg->type, (coap_pdu_code_t)msg->code,
                        (coap_mid_t)msg->message_id, need);
    if (pdu == NULL)
        abort();
    if (msg->token_len && !coap_add_token(pdu, msg->token_len, msg->token)) {
        err = EIM_ERR_INVALID_ARG;
        goto out;
    }
    for (size_t i = 0; i < msg->option_count; i++) {
        const eim_coap_option_t *o = &msg->options[order[i]];
        if (coap_add_option(pdu, o->number, o->len, o->value) == 0) {
            err = EIM_ERR_INVALID_ARG;
            goto out;
        }
    }
    if (msg->payload_len && !coap_add_data(pdu, msg->payload_len, msg->payload)) {
        err = EIM_ERR_INVALID_ARG;
        goto out;
    }

    /* RFC 7252 §3: Ver=1 | T | TKL, Code, Message ID. */
    if (out_cap < 4 + msg->token_len) {
        err = EIM_ERR_BUFFER;
        goto out;
    }
    out[0] = (uint8_t)(0x40 | ((unsigned)msg->type << 4) | msg->token_len);
    out[1] = msg->code;
    out[2] = (uint8_t)(msg->message_id >> 8);
    out[3] = (uint8_t)(msg->message_id & 0xFF);
    pos = 4;
    if (msg->token_len)
        memcpy(out + pos, msg->token, msg->token_len);
    pos += msg->token_len;

    coap_opt_iterator_t it;
    coap_opt_t *opt;
    uint32_t previous = 0;
    coap_option_iterator_init(pdu, &it, COAP_OPT_ALL);
    size_t index = 0;
    while ((opt = coap_option_next(&it)) != NULL) {
        /* libcoap adds options of its own (Hop-Limit next to Proxy-Uri,
         * RFC 8768): refuse rather than send what the caller did not ask. */
        if (index == msg->option_count || msg->options[order[index]].number != it.number ||
            msg->options[order[index]].len != coap_opt_length(opt)) {
            err = EIM_ERR_INVALID_ARG;
            goto out;
        }
        index++;
        uint32_t delta = it.number - previous;
        size_t n = coap_opt_encode(out + pos, out_cap - pos, (uint16_t)delta, coap_opt_value(opt),
                                   coap_opt_length(opt));
        if (n == 0) {
            err = EIM_ERR_BUFFER;
            goto out;
        }
        pos += n;
        previous = it.number;
    }
    if (index != msg->option_count) {
        err = EIM_ERR_INVALID_ARG;
        goto out;
    }
    if (msg->payload_len) {
        if (out_cap - pos < 1 + msg->payload_len) {
            err = EIM_ERR_BUFFER;
            goto out;
        }
        out[pos++] = 0xFF;
        memcpy(out + pos, msg->payload, msg->payload_len);
        pos += msg->payload_len;
    }
    *out_len = pos;
out:
    if (pdu != NULL)
        coap_delete_pdu(pdu);
    return err;
}

const char *eim_coap_code_text(uint8_t code, char buf[5])
{
    snprintf(buf, 5, "%u.%02u", (unsigned)(code >> 5) & 7, (unsigned)code & 31);
    return buf;
}
