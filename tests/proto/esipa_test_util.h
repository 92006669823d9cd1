/*
 * Helpers shared by the ESipa tests: hex vectors and the independent DER
 * check through `openssl asn1parse` (a second decoder, as the brief's §13
 * recommends for every message we produce).
 */
#ifndef EIM_TESTS_PROTO_ESIPA_TEST_UTIL_H
#define EIM_TESTS_PROTO_ESIPA_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "proto/base/memory.h"
#include "proto/base/span.h"

/* Decodes hex (whitespace ignored) into a fresh buffer; *len gets its size. */
static inline uint8_t *test_hex(const char *hex, size_t *len)
{
    size_t n = strlen(hex);
    uint8_t *out = eim_malloc(n / 2 + 1);
    size_t k = 0;
    int hi = -1;
    for (size_t i = 0; i < n; i++) {
        char c = hex[i];
        int v;
        if (c >= '0' && c <= '9')
            v = c - '0';
        else if (c >= 'a' && c <= 'f')
            v = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v = c - 'A' + 10;
        else
            continue;
        if (hi < 0) {
            hi = v;
        } else {
            out[k++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    assert_int_equal(hi, -1);
    *len = k;
    return out;
}

static inline void test_assert_bytes(const uint8_t *got, size_t got_len, const uint8_t *want,
                                     size_t want_len)
{
    if (got_len != want_len || memcmp(got, want, want_len) != 0) {
        fprintf(stderr, "got  (%zu):", got_len);
        for (size_t i = 0; i < got_len; i++)
            fprintf(stderr, " %02X", got[i]);
        fprintf(stderr, "\nwant (%zu):", want_len);
        for (size_t i = 0; i < want_len; i++)
            fprintf(stderr, " %02X", want[i]);
        fprintf(stderr, "\n");
        fail_msg("encoding differs");
    }
}

static inline void test_assert_span_hex(eim_span_t span, const char *hex)
{
    size_t len;
    uint8_t *want = test_hex(hex, &len);
    test_assert_bytes(span.ptr, span.len, want, len);
    free(want);
}

static inline void test_assert_span_str(eim_span_t span, const char *s)
{
    test_assert_bytes(span.ptr, span.len, (const uint8_t *)s, strlen(s));
}

/* Asserts that `openssl asn1parse -inform DER` accepts the bytes. */
static inline void test_assert_openssl_parses(const uint8_t *data, size_t len)
{
    char path[] = "/tmp/eimd-esipa-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
    char *cmd = eim_sprintf("openssl asn1parse -inform DER -in %s >/dev/null 2>&1", path);
    int status = system(cmd);
    free(cmd);
    unlink(path);
    assert_int_equal(status, 0);
}

#endif
