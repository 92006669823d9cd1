/*
 * `eimd decode` (see decode_cmd.h): input handling (argument, file, stdin;
 * hex / base64 / DER detection) around eim_esipa_describe().
 */
#include "server/decode_cmd.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include "proto/base/text_codec.h"
#include "proto/esipa/esipa_describe.h"

typedef enum { IN_AUTO, IN_HEX, IN_BASE64, IN_DER } input_form_t;

static void usage(FILE *err)
{
    fprintf(err, "usage: eimd decode [--in hex|base64|der] [FILE|-|HEXSTRING]\n"
                 "  Decodes one ESipa message (either direction) or a bare BF51 eUICC\n"
                 "  package request/result and prints it as JSON. Without FILE, or with\n"
                 "  '-', reads stdin. Without --in the form is detected.\n");
}

static eim_err_t read_stream(FILE *f, eim_buf_t *buf)
{
    uint8_t chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        eim_err_t err = eim_buf_append(buf, chunk, n);
        if (err)
            return err;
    }
    return ferror(f) ? EIM_ERR_IO : EIM_OK;
}

/* Text forms tolerate whitespace (line-wrapped hex dumps, base64 files). */
static void strip_space(eim_buf_t *text)
{
    size_t k = 0;
    for (size_t i = 0; i < text->len; i++)
        if (!isspace(text->data[i]))
            text->data[k++] = text->data[i];
    text->len = k;
}

static bool is_text(const eim_buf_t *buf)
{
    for (size_t i = 0; i < buf->len; i++)
        if (!(isprint(buf->data[i]) || isspace(buf->data[i])))
            return false;
    return buf->len > 0;
}

static bool all_hex(const eim_buf_t *buf)
{
    for (size_t i = 0; i < buf->len; i++)
        if (!isxdigit(buf->data[i]))
            return false;
    return buf->len % 2 == 0;
}

static const char *form_name(input_form_t form)
{
    return form == IN_HEX ? "hex" : form == IN_BASE64 ? "base64" : "DER";
}

int eim_decode_cmd(int argc, char **argv, FILE *in, FILE *out, FILE *err)
{
    input_form_t form = IN_AUTO;
    const char *source = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--in") == 0 && i + 1 < argc) {
            const char *f = argv[++i];
            if (strcmp(f, "hex") == 0) {
                form = IN_HEX;
            } else if (strcmp(f, "base64") == 0) {
                form = IN_BASE64;
            } else if (strcmp(f, "der") == 0) {
                form = IN_DER;
            } else {
                fprintf(err, "eimd decode: unknown input form '%s'\n", f);
                usage(err);
                return 64;
            }
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(out);
            return 0;
        } else if (!source && (argv[i][0] != '-' || strcmp(argv[i], "-") == 0)) {
            source = argv[i];
        } else {
            fprintf(err, "eimd decode: unexpected argument '%s'\n", argv[i]);
            usage(err);
            return 64;
        }
    }

    int code = EIM_EXIT_DATAERR;
    eim_buf_t raw, bytes, json;
    eim_buf_init(&raw, EIM_DECODE_MAX_INPUT);
    eim_buf_init(&bytes, EIM_DECODE_MAX_INPUT);
    eim_buf_init(&json, 16 * EIM_DECODE_MAX_INPUT);
    struct stat st;
    eim_err_t rc;
    if (!source || strcmp(source, "-") == 0) {
        rc = read_stream(in, &raw);
        source = "stdin";
    } else if (stat(source, &st) == 0) {
        FILE *f = fopen(source, "rb");
        if (!f) {
            fprintf(err, "eimd decode: cannot open %s: %s\n", source, strerror(errno));
            code = EIM_EXIT_NOINPUT;
            goto out;
        }
        rc = read_stream(f, &raw);
        fclose(f);
    } else if (form == IN_DER) {
        fprintf(err, "eimd decode: cannot open %s: %s\n", source, strerror(errno));
        code = EIM_EXIT_NOINPUT;
        goto out;
    } else {
        rc = eim_buf_append_str(&raw, source);
        source = "argument";
    }
    if (rc) {
        fprintf(err, "eimd decode: cannot read %s: %s\n", source, eim_strerror(rc));
        code = rc == EIM_ERR_LIMIT ? EIM_EXIT_DATAERR : EIM_EXIT_NOINPUT;
        goto out;
    }

    if (form == IN_AUTO) {
        if (!is_text(&raw)) {
            form = IN_DER;
        } else {
            strip_space(&raw);
            form = all_hex(&raw) ? IN_HEX : IN_BASE64;
        }
    } else if (form != IN_DER) {
        strip_space(&raw);
    }
    size_t bad = 0;
    if (form == IN_HEX)
        rc = eim_hex_decode((const char *)raw.data, raw.len, &bytes, &bad);
    else if (form == IN_BASE64)
        rc = eim_base64_decode((const char *)raw.data, raw.len, &bytes, &bad);
    else
        rc = eim_buf_append(&bytes, raw.data, raw.len);
    if (rc) {
        fprintf(err, "eimd decode: %s is not valid %s (character %zu)\n", source, form_name(form),
                bad);
        goto out;
    }
    if (bytes.len == 0) {
        fprintf(err, "eimd decode: %s is empty\n", source);
        goto out;
    }

    eim_esipa_describe_kind_t kind;
    eim_der_error_t derr = {0};
    rc = eim_esipa_describe(bytes.data, bytes.len, &json, &kind, &derr);
    if (rc) {
        fprintf(err,
                "eimd decode: not a decodable ESipa/ESep message (%zu bytes, %s).\n"
                "  best attempt: %s\n"
                "  error: %s at offset %zu (0x%zX), tag %X: %s\n",
                bytes.len, form_name(form), eim_esipa_describe_kind_name(kind), eim_strerror(rc),
                derr.offset, derr.offset, (unsigned)derr.tag,
                derr.reason ? derr.reason : "unknown");
        goto out;
    }
    fwrite(json.data, 1, json.len, out);
    code = fflush(out) == 0 ? 0 : 74;
out:
    eim_buf_free(&raw);
    eim_buf_free(&bytes);
    eim_buf_free(&json);
    return code;
}
