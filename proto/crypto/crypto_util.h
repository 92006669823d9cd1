/*
 * Small helpers shared by proto/crypto: wiping secrets, constant-time
 * comparison, bounded file reading and PEM/DER input handling.
 *
 * Every key or certificate input of proto/crypto may be PEM or DER; callers
 * hand over the bytes and eim_crypto_pem_to_der() normalises them. Files are
 * read with a hard size cap (EIM_CRYPTO_MAX_FILE) so a misconfigured path
 * cannot make the server read gigabytes.
 */
#ifndef EIM_PROTO_CRYPTO_CRYPTO_UTIL_H
#define EIM_PROTO_CRYPTO_CRYPTO_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/base/error.h"
#include "proto/base/span.h"

/* Largest key or certificate file we accept (PEM bundles of a few certs). */
#define EIM_CRYPTO_MAX_FILE (64 * 1024)

/* Overwrites len bytes at p with zeros in a way the compiler keeps. */
void eim_crypto_wipe(void *p, size_t len);

/* Constant-time equality of two equally long byte strings. */
bool eim_crypto_ct_equal(const void *a, const void *b, size_t len);

/* Reads a whole file of at most max bytes into a fresh heap buffer (caller
 * frees; wipe first if it holds a secret). EIM_ERR_IO / EIM_ERR_LIMIT. */
eim_err_t eim_crypto_read_file(const char *path, size_t max, uint8_t **out, size_t *out_len);

typedef enum {
    EIM_PEM_CERTIFICATE,
    EIM_PEM_PRIVATE_KEY, /* "EC PRIVATE KEY" (SEC1) or "PRIVATE KEY" (PKCS#8) */
    EIM_PEM_PUBLIC_KEY,  /* "PUBLIC KEY" (SubjectPublicKeyInfo) */
} eim_pem_kind_t;

/* True when input looks like PEM ("-----BEGIN" after optional whitespace). */
bool eim_crypto_is_pem(eim_span_t input);

/* If input is PEM, decodes the first block of the given kind into a fresh
 * heap buffer; if it is DER, copies it. Caller frees *out (and wipes it for
 * private keys). */
eim_err_t eim_crypto_pem_to_der(eim_span_t input, eim_pem_kind_t kind, uint8_t **out,
                                size_t *out_len);

#endif
