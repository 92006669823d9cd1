/* Helpers shared by proto/crypto (see crypto_util.h). */
#include "proto/crypto/crypto_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include "proto/base/memory.h"

void eim_crypto_wipe(void *p, size_t len)
{
    volatile uint8_t *v = p;
    while (len--)
        *v++ = 0;
}

bool eim_crypto_ct_equal(const void *a, const void *b, size_t len)
{
    const uint8_t *x = a, *y = b;
    uint8_t acc = 0;
    for (size_t i = 0; i < len; i++)
        acc |= (uint8_t)(x[i] ^ y[i]);
    return acc == 0;
}

eim_err_t eim_crypto_read_file(const char *path, size_t max, uint8_t **out, size_t *out_len)
{
    eim_err_t err = EIM_ERR_IO;
    uint8_t *buf = NULL;
    size_t len = 0;
    FILE *f = NULL;

    if (!path || !out || !out_len)
        return EIM_ERR_INVALID_ARG;
    f = fopen(path, "rb");
    if (!f)
        goto out;
    buf = eim_malloc(max + 1);
    len = fread(buf, 1, max + 1, f);
    if (ferror(f))
        goto out;
    if (len > max) {
        err = EIM_ERR_LIMIT;
        goto out;
    }
    *out = buf;
    *out_len = len;
    buf = NULL;
    err = EIM_OK;
out:
    if (buf) {
        eim_crypto_wipe(buf, max + 1);
        free(buf);
    }
    if (f)
        fclose(f);
    return err;
}

bool eim_crypto_is_pem(eim_span_t input)
{
    static const char marker[] = "-----BEGIN";
    size_t i = 0;
    while (i < input.len && (input.ptr[i] == ' ' || input.ptr[i] == '\t' || input.ptr[i] == '\r' ||
                             input.ptr[i] == '\n'))
        i++;
    return input.len - i >= sizeof(marker) - 1 &&
           memcmp(input.ptr + i, marker, sizeof(marker) - 1) == 0;
}

eim_err_t eim_crypto_pem_to_der(eim_span_t input, eim_pem_kind_t kind, uint8_t **out,
                                size_t *out_len)
{
    eim_err_t err = EIM_ERR_DECODE;
    uint8_t *der = NULL;
    int n = 0;

    if (!input.ptr || input.len == 0 || input.len > EIM_CRYPTO_MAX_FILE || !out || !out_len)
        return EIM_ERR_INVALID_ARG;
    der = eim_malloc(input.len);
    if (!eim_crypto_is_pem(input)) {
        memcpy(der, input.ptr, input.len);
        n = (int)input.len;
    } else if (kind == EIM_PEM_CERTIFICATE) {
        n = wc_CertPemToDer(input.ptr, (int)input.len, der, (int)input.len, CERT_TYPE);
    } else if (kind == EIM_PEM_PRIVATE_KEY) {
        n = wc_KeyPemToDer(input.ptr, (int)input.len, der, (int)input.len, NULL);
    } else {
        n = wc_PubKeyPemToDer(input.ptr, (int)input.len, der, (int)input.len);
    }
    if (n <= 0)
        goto out;
    *out = der;
    *out_len = (size_t)n;
    der = NULL;
    err = EIM_OK;
out:
    if (der) {
        eim_crypto_wipe(der, input.len);
        free(der);
    }
    return err;
}
