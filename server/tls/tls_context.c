/*
 * TLS server contexts and session ticket keys. See tls_context.h.
 */
#include "server/tls/tls_context.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/random.h>

#include "proto/base/log.h"
#include "proto/base/memory.h"

/* IANA names are wolfSSL's names for TLS 1.3; OpenSSL-style for 1.2. */
#define CIPHER_LIST                                                                                \
    "TLS13-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-SHA256"

/* DTLS adds CCM-8 (RFC 7251, RFC 8446 TLS_AES_128_CCM_8_SHA256) first:
 * 8 bytes less per record on constrained links. */
#define DTLS_CIPHER_LIST                                                                           \
    "TLS13-AES128-GCM-SHA256:TLS13-AES128-CCM-8-SHA256:ECDHE-ECDSA-AES128-CCM-8:"                  \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-SHA256"

#define TICKET_KEY_SIZE 16 /* AES-128-GCM */
#define TICKET_IV_SIZE  12
#define TICKET_TAG_SIZE 16

typedef struct {
    uint8_t name[WOLFSSL_TICKET_NAME_SZ];
    Aes aes;
    bool valid;
} ticket_key_t;

struct eim_tls_context {
    int refs;
    WOLFSSL_CTX *x509;
    WOLFSSL_CTX *rpk; /* NULL when no raw public key is configured */
    WC_RNG rng;
    bool rng_ready;
    ticket_key_t current, previous;
    uv_timer_t rotation;
    bool timer_started;
};

static void fail(char *error, size_t size, const char *what, const char *path, int code)
{
    snprintf(error, size, "%s%s%s (wolfSSL %d: %s)", what, path ? " " : "", path ? path : "", code,
             wolfSSL_ERR_reason_error_string((unsigned long)code));
}

static eim_err_t new_ticket_key(eim_tls_context_t *ctx, ticket_key_t *key)
{
    uint8_t secret[TICKET_KEY_SIZE];
    if (wc_RNG_GenerateBlock(&ctx->rng, key->name, sizeof(key->name)) != 0 ||
        wc_RNG_GenerateBlock(&ctx->rng, secret, sizeof(secret)) != 0)
        return EIM_ERR_CRYPTO;
    if (wc_AesInit(&key->aes, NULL, INVALID_DEVID) != 0)
        return EIM_ERR_CRYPTO;
    int rc = wc_AesGcmSetKey(&key->aes, secret, sizeof(secret));
    memset(secret, 0, sizeof(secret));
    if (rc != 0) {
        wc_AesFree(&key->aes);
        return EIM_ERR_CRYPTO;
    }
    key->valid = true;
    return EIM_OK;
}

static void drop_ticket_key(ticket_key_t *key)
{
    if (key->valid)
        wc_AesFree(&key->aes);
    memset(key, 0, sizeof(*key));
}

void eim_tls_context_rotate_ticket_key(eim_tls_context_t *ctx)
{
    ticket_key_t fresh;
    memset(&fresh, 0, sizeof(fresh));
    if (new_ticket_key(ctx, &fresh) != EIM_OK) {
        /* keep the current key rather than stop resuming sessions */
        eim_log_error("session ticket key rotation failed");
        return;
    }
    drop_ticket_key(&ctx->previous);
    ctx->previous = ctx->current;
    ctx->current = fresh;
    eim_log_debug("session ticket key rotated");
}

static void on_rotation(uv_timer_t *timer)
{
    eim_tls_context_rotate_ticket_key(timer->data);
}

/*
 * wolfSSL's ticket callback (RFC 5077 §4 recommended layout): key_name picks
 * the key, iv is the GCM nonce (12 of its 16 bytes, rest zero), mac holds
 * the tag (16 of 32 bytes, rest zero); key_name and iv are authenticated.
 * The ticket is sealed in place.
 */
static int ticket_callback(WOLFSSL *ssl, unsigned char key_name[WOLFSSL_TICKET_NAME_SZ],
                           unsigned char iv[WOLFSSL_TICKET_IV_SZ],
                           unsigned char mac[WOLFSSL_TICKET_MAC_SZ], int enc, unsigned char *ticket,
                           int in_len, int *out_len, void *user)
{
    (void)ssl;
    eim_tls_context_t *ctx = user;
    uint8_t aad[WOLFSSL_TICKET_NAME_SZ + WOLFSSL_TICKET_IV_SZ];
    if (in_len < 0)
        return WOLFSSL_TICKET_RET_FATAL;
    if (enc) {
        if (!ctx->current.valid)
            return WOLFSSL_TICKET_RET_FATAL;
        memcpy(key_name, ctx->current.name, WOLFSSL_TICKET_NAME_SZ);
        memset(iv, 0, WOLFSSL_TICKET_IV_SZ);
        memset(mac, 0, WOLFSSL_TICKET_MAC_SZ);
        if (wc_RNG_GenerateBlock(&ctx->rng, iv, TICKET_IV_SIZE) != 0)
            return WOLFSSL_TICKET_RET_FATAL;
        memcpy(aad, key_name, WOLFSSL_TICKET_NAME_SZ);
        memcpy(aad + WOLFSSL_TICKET_NAME_SZ, iv, WOLFSSL_TICKET_IV_SZ);
        if (wc_AesGcmEncrypt(&ctx->current.aes, ticket, ticket, (word32)in_len, iv, TICKET_IV_SIZE,
                             mac, TICKET_TAG_SIZE, aad, sizeof(aad)) != 0)
            return WOLFSSL_TICKET_RET_FATAL;
        *out_len = in_len;
        return WOLFSSL_TICKET_RET_OK;
    }
    ticket_key_t *key = NULL;
    if (ctx->current.valid && memcmp(key_name, ctx->current.name, WOLFSSL_TICKET_NAME_SZ) == 0)
        key = &ctx->current;
    else if (ctx->previous.valid &&
             memcmp(key_name, ctx->previous.name, WOLFSSL_TICKET_NAME_SZ) == 0)
        key = &ctx->previous;
    if (!key)
        return WOLFSSL_TICKET_RET_REJECT; /* expired key: full handshake */
    for (size_t i = TICKET_IV_SIZE; i < WOLFSSL_TICKET_IV_SZ; i++)
        if (iv[i] != 0)
            return WOLFSSL_TICKET_RET_REJECT;
    for (size_t i = TICKET_TAG_SIZE; i < WOLFSSL_TICKET_MAC_SZ; i++)
        if (mac[i] != 0)
            return WOLFSSL_TICKET_RET_REJECT;
    memcpy(aad, key_name, WOLFSSL_TICKET_NAME_SZ);
    memcpy(aad + WOLFSSL_TICKET_NAME_SZ, iv, WOLFSSL_TICKET_IV_SZ);
    if (wc_AesGcmDecrypt(&key->aes, ticket, ticket, (word32)in_len, iv, TICKET_IV_SIZE, mac,
                         TICKET_TAG_SIZE, aad, sizeof(aad)) != 0)
        return WOLFSSL_TICKET_RET_REJECT;
    *out_len = in_len;
    /* a ticket under the previous key is renewed under the current one */
    return key == &ctx->current ? WOLFSSL_TICKET_RET_OK : WOLFSSL_TICKET_RET_CREATE;
}

/* Settings common to both contexts. */
static eim_err_t configure(eim_tls_context_t *ctx, WOLFSSL_CTX *wctx,
                           const eim_tls_context_options_t *options, char *error, size_t error_size)
{
    bool datagram = options->transport != EIM_TLS_STREAM;
    int rc = wolfSSL_CTX_SetMinVersion(wctx, datagram ? WOLFSSL_DTLSV1_2 : WOLFSSL_TLSV1_2);
    if (rc != WOLFSSL_SUCCESS) {
        fail(error, error_size, "cannot set the minimum TLS version", NULL, rc);
        return EIM_ERR_CRYPTO;
    }
    rc = wolfSSL_CTX_set_cipher_list(wctx, datagram ? DTLS_CIPHER_LIST : CIPHER_LIST);
    if (rc != WOLFSSL_SUCCESS) {
        fail(error, error_size, "cannot set the cipher suites", NULL, rc);
        return EIM_ERR_CRYPTO;
    }
    /* secp256r1 first; brainpoolP256r1 for 1.2 (RFC 7027) and 1.3 (RFC 8734) */
    int groups[] = {WOLFSSL_ECC_SECP256R1, WOLFSSL_ECC_BRAINPOOLP256R1TLS13,
                    WOLFSSL_ECC_BRAINPOOLP256R1};
    rc = wolfSSL_CTX_set_groups(wctx, groups, (int)(sizeof(groups) / sizeof(groups[0])));
    if (rc != WOLFSSL_SUCCESS) {
        fail(error, error_size, "cannot restrict the key exchange groups", NULL, rc);
        return EIM_ERR_CRYPTO;
    }
    /* server authentication only (brief §4.1): no CertificateRequest */
    wolfSSL_CTX_set_verify(wctx, WOLFSSL_VERIFY_NONE, NULL);
    wolfSSL_CTX_set_TicketEncCb(wctx, ticket_callback);
    wolfSSL_CTX_set_TicketEncCtx(wctx, ctx);
    long hint = 2L * options->ticket_rotation_ms / 1000;
    if (hint > 604800) /* RFC 8446 §4.6.1: at most seven days */
        hint = 604800;
    if (hint < 1)
        hint = 1;
    wolfSSL_CTX_set_TicketHint(wctx, (int)hint);
    return EIM_OK;
}

/* After the certificate (or raw public key): the key that goes with it. */
static eim_err_t load_private_key(WOLFSSL_CTX *wctx, const eim_tls_context_options_t *options,
                                  bool check_certificate, char *error, size_t error_size)
{
    int rc = wolfSSL_CTX_use_PrivateKey_file(wctx, options->private_key, WOLFSSL_FILETYPE_PEM);
    if (rc != WOLFSSL_SUCCESS) {
        fail(error, error_size, "cannot load the TLS private key", options->private_key, rc);
        return EIM_ERR_CONFIG;
    }
    if (check_certificate && wolfSSL_CTX_check_private_key(wctx) != WOLFSSL_SUCCESS) {
        fail(error, error_size,
             "the TLS certificate cannot be read by wolfSSL or does not match the private key",
             options->private_key, 0);
        return EIM_ERR_CONFIG;
    }
    return EIM_OK;
}

static WOLFSSL_CTX *new_wolfssl_ctx(eim_tls_transport_t transport)
{
    WOLFSSL_METHOD *method = transport == EIM_TLS_DATAGRAM      ? wolfDTLS_server_method()
                             : transport == EIM_TLS_DATAGRAM_12 ? wolfDTLSv1_2_server_method()
                                                                : wolfSSLv23_server_method();
    WOLFSSL_CTX *wctx = wolfSSL_CTX_new(method);
    if (!wctx) {
        /* wolfSSL_CTX_new fails only when allocation fails */
        fprintf(stderr, "eimd: out of memory creating a TLS context\n");
        abort();
    }
    return wctx;
}

static void free_context(eim_tls_context_t *ctx)
{
    if (ctx->x509)
        wolfSSL_CTX_free(ctx->x509);
    if (ctx->rpk)
        wolfSSL_CTX_free(ctx->rpk);
    drop_ticket_key(&ctx->current);
    drop_ticket_key(&ctx->previous);
    if (ctx->rng_ready)
        wc_FreeRng(&ctx->rng);
    free(ctx);
    wolfSSL_Cleanup();
}

eim_err_t eim_tls_context_new(uv_loop_t *loop, const eim_tls_context_options_t *options,
                              eim_tls_context_t **out, char *error, size_t error_size)
{
    *out = NULL;
    wolfSSL_Init();
    eim_tls_context_t *ctx = EIM_NEW(eim_tls_context_t);
    ctx->refs = 1;
    eim_err_t err = EIM_OK;
    if (wc_InitRng(&ctx->rng) != 0) {
        snprintf(error, error_size, "cannot initialise the random generator");
        err = EIM_ERR_CRYPTO;
        goto out;
    }
    ctx->rng_ready = true;
    if (new_ticket_key(ctx, &ctx->current) != EIM_OK) {
        snprintf(error, error_size, "cannot create a session ticket key");
        err = EIM_ERR_CRYPTO;
        goto out;
    }

    ctx->x509 = new_wolfssl_ctx(options->transport);
    err = configure(ctx, ctx->x509, options, error, error_size);
    if (err)
        goto out;
    int rc = wolfSSL_CTX_use_certificate_chain_file(ctx->x509, options->certificate_chain);
    if (rc != WOLFSSL_SUCCESS) {
        fail(error, error_size, "cannot load the TLS certificate chain", options->certificate_chain,
             rc);
        err = EIM_ERR_CONFIG;
        goto out;
    }
    err = load_private_key(ctx->x509, options, true, error, error_size);
    if (err)
        goto out;

    if (options->raw_public_key) {
        ctx->rpk = new_wolfssl_ctx(options->transport);
        err = configure(ctx, ctx->rpk, options, error, error_size);
        if (err)
            goto out;
        /* wolfSSL takes a DER SubjectPublicKeyInfo as the "certificate" of an
         * RPK context and sends it as the RFC 7250 Certificate entry */
        rc = wolfSSL_CTX_use_certificate_file(ctx->rpk, options->raw_public_key,
                                              WOLFSSL_FILETYPE_ASN1);
        if (rc != WOLFSSL_SUCCESS) {
            fail(error, error_size, "cannot load the raw public key", options->raw_public_key, rc);
            err = EIM_ERR_CONFIG;
            goto out;
        }
        err = load_private_key(ctx->rpk, options, false, error, error_size);
        if (err)
            goto out;
        const char types[] = {WOLFSSL_CERT_TYPE_RPK};
        rc = wolfSSL_CTX_set_server_cert_type(ctx->rpk, types, (int)sizeof(types));
        if (rc != WOLFSSL_SUCCESS) {
            fail(error, error_size, "cannot enable raw public keys", NULL, rc);
            err = EIM_ERR_CRYPTO;
            goto out;
        }
    }

    uv_timer_init(loop, &ctx->rotation);
    ctx->rotation.data = ctx;
    ctx->timer_started = true;
    uint64_t period = (uint64_t)options->ticket_rotation_ms;
    uv_timer_start(&ctx->rotation, on_rotation, period, period);
    /* the rotation alone must not keep a loop alive */
    uv_unref((uv_handle_t *)&ctx->rotation);
out:
    if (err) {
        free_context(ctx);
        return err;
    }
    *out = ctx;
    return EIM_OK;
}

eim_tls_context_t *eim_tls_context_acquire(eim_tls_context_t *ctx)
{
    ctx->refs++;
    return ctx;
}

static void on_timer_closed(uv_handle_t *handle)
{
    free_context(handle->data);
}

void eim_tls_context_release(eim_tls_context_t *ctx)
{
    if (--ctx->refs > 0)
        return;
    if (ctx->timer_started)
        uv_close((uv_handle_t *)&ctx->rotation, on_timer_closed);
    else
        free_context(ctx);
}

eim_wolfssl_ctx_t *eim_tls_context_select(eim_tls_context_t *ctx, bool raw_public_key)
{
    return raw_public_key && ctx->rpk ? ctx->rpk : ctx->x509;
}

bool eim_tls_context_has_raw_public_key(const eim_tls_context_t *ctx)
{
    return ctx->rpk != NULL;
}
