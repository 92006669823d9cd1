/*
 * Text encodings of binary data used by the JSON bindings (SGP.32 v1.2 §6.4,
 * SGP.22 §6.5: base64 of ASN.1 objects, hex of identifiers) and by the
 * `eimd decode` tool: hexadecimal and base64 (RFC 4648 §4, standard
 * alphabet, with padding).
 *
 * Decoders are strict: base64 must be canonical (padding present, no
 * whitespace, unused bits zero); hex must have an even number of digits and
 * no separators (either case is accepted). Output goes to a bounded eim_buf_t.
 */
#ifndef EIM_PROTO_BASE_TEXT_CODEC_H
#define EIM_PROTO_BASE_TEXT_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/base/error.h"
#include "proto/base/memory.h"

/* Appends the upper-case hex of data to out (no terminating NUL). */
eim_err_t eim_hex_encode(const uint8_t *data, size_t len, eim_buf_t *out);
/* Appends the bytes of hex[0..len) to out. EIM_ERR_DECODE on an odd length
 * or a non-hex character; *bad_offset (optional) gets its position. */
eim_err_t eim_hex_decode(const char *hex, size_t len, eim_buf_t *out, size_t *bad_offset);
/* True when hex[0..len) holds no lower-case hex digit. */
bool eim_hex_is_upper(const char *hex, size_t len);

/* Appends the padded base64 of data to out (no terminating NUL). */
eim_err_t eim_base64_encode(const uint8_t *data, size_t len, eim_buf_t *out);
/* Appends the bytes of text[0..len) to out. EIM_ERR_DECODE unless text is
 * canonical padded base64; *bad_offset (optional) gets the failing position. */
eim_err_t eim_base64_decode(const char *text, size_t len, eim_buf_t *out, size_t *bad_offset);

#endif
