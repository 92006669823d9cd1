/*
 * A byte-driven wolfSSL server session. See tls_session.h.
 *
 * wolfSSL reads through recv_callback from `in` (ciphertext fed by the
 * caller, consumed from in_pos) and writes through send_callback into `out`.
 * Neither callback ever blocks: an empty input is WANT_READ, and output is
 * always accepted (its size follows from what we chose to send).
 */
#include "server/tls/tls_session.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "server/tls/client_hello.h"

struct eim_tls_session {
    eim_tls_context_t *ctx;
    WOLFSSL *ssl; /* NULL until the first record is complete */
    eim_buf_t in;
    size_t in_pos;
    eim_buf_t out;
    eim_tls_client_hello_t hello;
    bool raw_public_key;
    bool established;
    bool shutdown_sent;
    char failure[96];
};

static int recv_callback(WOLFSSL *ssl, char *buf, int size, void *user)
{
    (void)ssl;
    eim_tls_session_t *s = user;
    size_t available = s->in.len - s->in_pos;
    if (available == 0)
        return WOLFSSL_CBIO_ERR_WANT_READ;
    size_t n = available < (size_t)size ? available : (size_t)size;
    memcpy(buf, s->in.data + s->in_pos, n);
    s->in_pos += n;
    if (s->in_pos == s->in.len) {
        eim_buf_reset(&s->in);
        s->in_pos = 0;
    }
    return (int)n;
}

static int send_callback(WOLFSSL *ssl, char *buf, int size, void *user)
{
    (void)ssl;
    eim_tls_session_t *s = user;
    if (size < 0 || eim_buf_append(&s->out, buf, (size_t)size) != EIM_OK)
        return WOLFSSL_CBIO_ERR_GENERAL;
    return size;
}

eim_tls_session_t *eim_tls_session_new(eim_tls_context_t *ctx, size_t max_input)
{
    eim_tls_session_t *s = EIM_NEW(eim_tls_session_t);
    s->ctx = eim_tls_context_acquire(ctx);
    /* the first record must fit whatever bound the caller chose */
    if (max_input < EIM_TLS_MAX_FIRST_RECORD)
        max_input = EIM_TLS_MAX_FIRST_RECORD;
    eim_buf_init(&s->in, max_input);
    eim_buf_init(&s->out, SIZE_MAX / 2);
    return s;
}

void eim_tls_session_free(eim_tls_session_t *s)
{
    if (!s)
        return;
    if (s->ssl)
        wolfSSL_free(s->ssl);
    eim_buf_free(&s->in);
    eim_buf_free(&s->out);
    eim_tls_context_release(s->ctx);
    free(s);
}

eim_err_t eim_tls_session_feed(eim_tls_session_t *s, const uint8_t *data, size_t len)
{
    if (s->in_pos > 0) {
        memmove(s->in.data, s->in.data + s->in_pos, s->in.len - s->in_pos);
        s->in.len -= s->in_pos;
        s->in_pos = 0;
    }
    return eim_buf_append(&s->in, data, len);
}

static void set_failure(eim_tls_session_t *s, int code)
{
    char reason[80];
    wolfSSL_ERR_error_string_n((unsigned long)code, reason, sizeof(reason));
    snprintf(s->failure, sizeof(s->failure), "%d %s", code, reason);
}

static eim_tls_handshake_t start(eim_tls_session_t *s)
{
    if (s->in.len == s->in_pos)
        return EIM_TLS_HANDSHAKE_WANT_MORE;
    eim_err_t err =
        eim_tls_client_hello_peek(s->in.data + s->in_pos, s->in.len - s->in_pos, &s->hello);
    if (err == EIM_ERR_TRUNCATED)
        return EIM_TLS_HANDSHAKE_WANT_MORE;
    if (err) {
        snprintf(s->failure, sizeof(s->failure), "not a TLS ClientHello");
        return EIM_TLS_HANDSHAKE_NOT_TLS;
    }
    s->raw_public_key = s->hello.wants_raw_public_key && eim_tls_context_has_raw_public_key(s->ctx);
    s->ssl = wolfSSL_new((WOLFSSL_CTX *)eim_tls_context_select(s->ctx, s->raw_public_key));
    if (!s->ssl) {
        fprintf(stderr, "eimd: out of memory creating a TLS session\n");
        abort();
    }
    wolfSSL_SSLSetIORecv(s->ssl, recv_callback);
    wolfSSL_SSLSetIOSend(s->ssl, send_callback);
    wolfSSL_SetIOReadCtx(s->ssl, s);
    wolfSSL_SetIOWriteCtx(s->ssl, s);
    return EIM_TLS_HANDSHAKE_DONE;
}

eim_tls_handshake_t eim_tls_session_handshake(eim_tls_session_t *s)
{
    if (s->established)
        return EIM_TLS_HANDSHAKE_DONE;
    if (!s->ssl) {
        eim_tls_handshake_t started = start(s);
        if (started != EIM_TLS_HANDSHAKE_DONE)
            return started;
    }
    int rc = wolfSSL_accept(s->ssl);
    if (rc == WOLFSSL_SUCCESS) {
        s->established = true;
        return EIM_TLS_HANDSHAKE_DONE;
    }
    int err = wolfSSL_get_error(s->ssl, rc);
    if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE)
        return EIM_TLS_HANDSHAKE_WANT_MORE;
    set_failure(s, err);
    return EIM_TLS_HANDSHAKE_FAILED;
}

ssize_t eim_tls_session_read(eim_tls_session_t *s, uint8_t *out, size_t size)
{
    if (!s->established)
        return EIM_TLS_READ_FAILED;
    int rc = wolfSSL_read(s->ssl, out, size > INT_MAX ? INT_MAX : (int)size);
    if (rc > 0)
        return rc;
    int err = wolfSSL_get_error(s->ssl, rc);
    if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE)
        return EIM_TLS_READ_WANT_MORE;
    if (err == WOLFSSL_ERROR_ZERO_RETURN)
        return EIM_TLS_READ_CLOSED;
    set_failure(s, err);
    return EIM_TLS_READ_FAILED;
}

eim_err_t eim_tls_session_write(eim_tls_session_t *s, const void *data, size_t len)
{
    if (!s->established || s->shutdown_sent)
        return EIM_ERR_IO;
    const uint8_t *p = data;
    while (len > 0) {
        int chunk = len > (size_t)INT_MAX ? INT_MAX : (int)len;
        int rc = wolfSSL_write(s->ssl, p, chunk);
        if (rc <= 0) {
            set_failure(s, wolfSSL_get_error(s->ssl, rc));
            return EIM_ERR_IO;
        }
        p += rc;
        len -= (size_t)rc;
    }
    return EIM_OK;
}

void eim_tls_session_shutdown(eim_tls_session_t *s)
{
    if (!s->established || s->shutdown_sent)
        return;
    s->shutdown_sent = true;
    /* returns "not done" until the peer's close_notify arrives; ours is
     * queued either way, and we do not wait for theirs (RFC 8446 §6.1) */
    (void)wolfSSL_shutdown(s->ssl);
}

bool eim_tls_session_take_output(eim_tls_session_t *s, uint8_t **data, size_t *len)
{
    if (s->out.len == 0) {
        *data = NULL;
        *len = 0;
        return false;
    }
    *data = s->out.data;
    *len = s->out.len;
    eim_buf_init(&s->out, s->out.max);
    return true;
}

bool eim_tls_session_established(const eim_tls_session_t *s)
{
    return s->established;
}

bool eim_tls_session_resumed(eim_tls_session_t *s)
{
    return s->ssl && wolfSSL_session_reused(s->ssl) == 1;
}

bool eim_tls_session_raw_public_key(const eim_tls_session_t *s)
{
    return s->raw_public_key;
}

const char *eim_tls_session_sni(const eim_tls_session_t *s)
{
    return s->hello.sni;
}

bool eim_tls_session_sni_present(const eim_tls_session_t *s)
{
    return s->hello.sni_present;
}

const char *eim_tls_session_version(eim_tls_session_t *s)
{
    return s->ssl ? wolfSSL_get_version(s->ssl) : "";
}

const char *eim_tls_session_cipher(eim_tls_session_t *s)
{
    const char *name = s->ssl ? wolfSSL_get_cipher_name(s->ssl) : NULL;
    return name ? name : "";
}

const char *eim_tls_session_failure(const eim_tls_session_t *s)
{
    return s->failure;
}
