/*
 * The CoAP message codec: the one place that knows libcoap.
 *
 * libcoap 4.3.1 (Debian 12, linked as libcoap-3-notls) is used as a codec
 * only: eim_coap_parse turns one datagram (RFC 7252 §3 message format) into
 * an eim_coap_message_t, eim_coap_build turns one back into bytes. libcoap
 * has no public serializer, so the build side lets libcoap order and check
 * the options and then writes the 4-byte header, the token, the options
 * (coap_opt_encode, delta/length nibbles of §3.1), the 0xFF payload marker
 * and the payload itself. A message parsed and rebuilt is byte-identical
 * (the wire encoding of §3 is unique for a given option list).
 *
 * Besides the raw option list the parser decodes what the endpoint needs:
 * Uri-Path (§5.10.1, segments joined with '/'), Content-Format (§5.10.3),
 * Block1/Block2 (RFC 7959 §2.2, read with coap_get_block_b), Size1/Size2
 * (RFC 7959 §4) and whether an unrecognised critical option is present
 * (§5.4.1: odd option numbers are critical).
 *
 * Memory: a parsed message owns one heap copy of the option values and
 * payload (at most the datagram's size); eim_coap_message_clear frees it.
 * A message built by the caller points at the caller's memory.
 */
#ifndef EIM_SERVER_COAP_COAP_CODEC_H
#define EIM_SERVER_COAP_COAP_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/base/error.h"

/* Message types (RFC 7252 §3). */
typedef enum {
    EIM_COAP_CON = 0,
    EIM_COAP_NON = 1,
    EIM_COAP_ACK = 2,
    EIM_COAP_RST = 3,
} eim_coap_type_t;

/* Codes as class << 5 | detail (RFC 7252 §12.1). */
#define EIM_COAP_CODE(class, detail) ((uint8_t)(((class) << 5) | (detail)))
enum {
    EIM_COAP_EMPTY = 0,
    EIM_COAP_GET = EIM_COAP_CODE(0, 1),
    EIM_COAP_POST = EIM_COAP_CODE(0, 2),
    EIM_COAP_PUT = EIM_COAP_CODE(0, 3),
    EIM_COAP_DELETE = EIM_COAP_CODE(0, 4),
    EIM_COAP_CREATED = EIM_COAP_CODE(2, 1),
    EIM_COAP_CHANGED = EIM_COAP_CODE(2, 4),
    EIM_COAP_CONTENT = EIM_COAP_CODE(2, 5),
    EIM_COAP_CONTINUE = EIM_COAP_CODE(2, 31),
    EIM_COAP_BAD_REQUEST = EIM_COAP_CODE(4, 0),
    EIM_COAP_BAD_OPTION = EIM_COAP_CODE(4, 2),
    EIM_COAP_NOT_FOUND = EIM_COAP_CODE(4, 4),
    EIM_COAP_METHOD_NOT_ALLOWED = EIM_COAP_CODE(4, 5),
    EIM_COAP_REQUEST_ENTITY_INCOMPLETE = EIM_COAP_CODE(4, 8),
    EIM_COAP_REQUEST_ENTITY_TOO_LARGE = EIM_COAP_CODE(4, 13),
    EIM_COAP_UNSUPPORTED_CONTENT_FORMAT = EIM_COAP_CODE(4, 15),
    EIM_COAP_TOO_MANY_REQUESTS = EIM_COAP_CODE(4, 29), /* RFC 8516 */
    EIM_COAP_INTERNAL_SERVER_ERROR = EIM_COAP_CODE(5, 0),
    EIM_COAP_NOT_IMPLEMENTED = EIM_COAP_CODE(5, 1),
    EIM_COAP_SERVICE_UNAVAILABLE = EIM_COAP_CODE(5, 3),
};

/* Option numbers used by eimd (RFC 7252 §5.10, RFC 7959 §2.1/§4). */
enum {
    EIM_COAP_OPTION_ETAG = 4,
    EIM_COAP_OPTION_URI_PATH = 11,
    EIM_COAP_OPTION_CONTENT_FORMAT = 12,
    EIM_COAP_OPTION_MAX_AGE = 14,
    EIM_COAP_OPTION_BLOCK2 = 23,
    EIM_COAP_OPTION_BLOCK1 = 27,
    EIM_COAP_OPTION_SIZE2 = 28,
    EIM_COAP_OPTION_SIZE1 = 60,
};

#define EIM_COAP_MAX_TOKEN       8
#define EIM_COAP_MAX_OPTIONS     32  /* more options in one message: EIM_ERR_LIMIT */
#define EIM_COAP_MAX_URI_PATH    255 /* joined Uri-Path text */
#define EIM_COAP_FORMAT_NONE     (-1)
#define EIM_COAP_FORMAT_OCTET    42 /* application/octet-stream */
#define EIM_COAP_MAX_BLOCK_SZX   6  /* 1024 bytes; 7 is BERT (TCP only) */
#define EIM_COAP_BLOCK_SIZE(szx) ((size_t)1 << ((szx) + 4))

typedef struct {
    uint16_t number;
    uint16_t len;
    const uint8_t *value;
} eim_coap_option_t;

typedef struct {
    bool present;
    uint32_t num;
    bool more;
    uint8_t szx; /* block size = 16 << szx */
} eim_coap_block_t;

typedef struct {
    eim_coap_type_t type;
    uint8_t code;
    uint16_t message_id;
    uint8_t token[EIM_COAP_MAX_TOKEN];
    size_t token_len;
    /* All options in wire order (ascending numbers, repeats kept). */
    eim_coap_option_t options[EIM_COAP_MAX_OPTIONS];
    size_t option_count;
    const uint8_t *payload;
    size_t payload_len;

    /* Decoded by eim_coap_parse (ignored by eim_coap_build). */
    char uri_path[EIM_COAP_MAX_URI_PATH + 1];
    int content_format; /* EIM_COAP_FORMAT_NONE when absent */
    eim_coap_block_t block1;
    eim_coap_block_t block2;
    bool has_size1;
    uint32_t size1;
    bool has_size2;
    uint32_t size2;
    bool unknown_critical; /* an unrecognised critical option (RFC 7252 §5.4.1) */
    uint16_t unknown_critical_number;
    bool repeated_option; /* a non-repeatable option occurs twice (§5.4.5) */

    uint8_t *owned; /* parser's copy of option values + payload */
} eim_coap_message_t;

/* Starts libcoap once (idempotent) and silences its logging. */
void eim_coap_codec_init(void);

/*
 * Parses one datagram. On success msg owns a copy of what it points at;
 * release it with eim_coap_message_clear (also safe after a failure).
 * EIM_ERR_DECODE: not a well-formed CoAP message; EIM_ERR_LIMIT: more than
 * EIM_COAP_MAX_OPTIONS options or a Uri-Path longer than
 * EIM_COAP_MAX_URI_PATH. A message with a repeated non-repeatable option
 * parses (repeated_option is set; the repeat of a critical option is
 * reported as unknown_critical) but cannot be built again.
 */
eim_err_t eim_coap_parse(const uint8_t *data, size_t len, eim_coap_message_t *msg);
void eim_coap_message_clear(eim_coap_message_t *msg);

/*
 * Reads just the fixed header (RFC 7252 §3) so that a malformed
 * Confirmable message can still be answered with a Reset (§4.2).
 * EIM_ERR_DECODE when shorter than 4 bytes or not version 1.
 */
eim_err_t eim_coap_peek_header(const uint8_t *data, size_t len, eim_coap_type_t *type,
                               uint8_t *code, uint16_t *message_id);

/* Initialises msg as an empty message to build (no options, no payload). */
void eim_coap_message_init(eim_coap_message_t *msg, eim_coap_type_t type, uint8_t code,
                           uint16_t message_id, const uint8_t *token, size_t token_len);

/* Appends an option (any order; eim_coap_build sorts them stably). value
 * is borrowed until the build. EIM_ERR_LIMIT when the list is full. */
eim_err_t eim_coap_add_option(eim_coap_message_t *msg, uint16_t number, const uint8_t *value,
                              size_t len);
/* Appends an unsigned-integer option in its minimal form (RFC 7252 §3.2);
 * the value is stored in scratch, which must hold 4 bytes and live until
 * the build. */
eim_err_t eim_coap_add_uint_option(eim_coap_message_t *msg, uint16_t number, uint32_t value,
                                   uint8_t scratch[4]);
/* Appends a Block1/Block2 option (RFC 7959 §2.2) in the same way. */
eim_err_t eim_coap_add_block_option(eim_coap_message_t *msg, uint16_t number,
                                    const eim_coap_block_t *block, uint8_t scratch[4]);

/*
 * Serialises msg into out (capacity out_cap), *out_len = bytes written.
 * EIM_ERR_BUFFER when out is too small, EIM_ERR_INVALID_ARG for a message
 * that cannot be encoded (token > 8 bytes, option value > 65535 bytes, a
 * repeated non-repeatable option, or an option list libcoap would change,
 * e.g. Proxy-Uri to which it adds Hop-Limit).
 */
eim_err_t eim_coap_build(const eim_coap_message_t *msg, uint8_t *out, size_t out_cap,
                         size_t *out_len);

/* "2.05", "4.04", ... into buf (at least 5 bytes). */
const char *eim_coap_code_text(uint8_t code, char buf[5]);

#endif
