/* Helpers for the proto/crypto tests (see crypto_test_util.h). */
#include "crypto_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

const char *const test_curve_tag[TEST_CURVES] = {"nist", "brp"};

static char pki_dir[64];
static char path_buf[256];

int test_run(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof(cmd));
    int rc = system(cmd);
    if (rc == -1 || !WIFEXITED(rc))
        return -1;
    return WEXITSTATUS(rc);
}

const char *test_pki_dir(void)
{
    if (pki_dir[0])
        return pki_dir;
    snprintf(pki_dir, sizeof(pki_dir), "/tmp/eimd-pki-XXXXXX");
    assert_non_null(mkdtemp(pki_dir));
    assert_int_equal(test_run("sh '%s/tests/proto/pki/make-test-pki.sh' '%s' >/dev/null",
                              EIMD_SOURCE_DIR, pki_dir),
                     0);
    return pki_dir;
}

void test_pki_cleanup(void)
{
    if (pki_dir[0] && strncmp(pki_dir, "/tmp/eimd-pki-", 14) == 0)
        test_run("rm -rf '%s'", pki_dir);
    pki_dir[0] = '\0';
}

int test_pki_group_setup(void **state)
{
    (void)state;
    test_pki_dir();
    return 0;
}

int test_pki_group_teardown(void **state)
{
    (void)state;
    test_pki_cleanup();
    return 0;
}

const char *test_pki_path(const char *name)
{
    snprintf(path_buf, sizeof(path_buf), "%s/%s", test_pki_dir(), name);
    return path_buf;
}

uint8_t *test_pki_read(const char *name, size_t *len)
{
    FILE *f = fopen(test_pki_path(name), "rb");
    assert_non_null(f);
    uint8_t *buf = malloc(65536);
    assert_non_null(buf);
    *len = fread(buf, 1, 65536, f);
    fclose(f);
    assert_true(*len > 0 && *len < 65536);
    return buf;
}

void test_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

bool test_openssl_verify(const char *pub_pem_path, const void *input, size_t input_len,
                         const uint8_t *sig_der, size_t sig_der_len)
{
    char in_path[256], sig_path[256];
    snprintf(in_path, sizeof(in_path), "%s/verify-input.bin", test_pki_dir());
    snprintf(sig_path, sizeof(sig_path), "%s/verify-sig.der", test_pki_dir());
    test_write_file(in_path, input, input_len);
    test_write_file(sig_path, sig_der, sig_der_len);
    return test_run("openssl dgst -sha256 -verify '%s' -signature '%s' '%s' >/dev/null 2>&1",
                    pub_pem_path, sig_path, in_path) == 0;
}

size_t test_openssl_sign(const char *key_path, const void *input, size_t input_len, uint8_t *sig)
{
    char in_path[256], sig_path[256];
    snprintf(in_path, sizeof(in_path), "%s/sign-input.bin", test_pki_dir());
    snprintf(sig_path, sizeof(sig_path), "%s/sign-sig.der", test_pki_dir());
    test_write_file(in_path, input, input_len);
    assert_int_equal(test_run("openssl dgst -sha256 -sign '%s' -out '%s' '%s' 2>/dev/null",
                              key_path, sig_path, in_path),
                     0);
    FILE *f = fopen(sig_path, "rb");
    assert_non_null(f);
    size_t n = fread(sig, 1, 80, f);
    fclose(f);
    assert_true(n >= 8 && n <= 72);
    return n;
}

size_t test_sample_signed_tlv(uint8_t *out, size_t cap)
{
    /* EuiccPackageSigned { eimId "eim.example", eidValue, counterValue 5,
     * eimTransactionId, euiccPackage psmoList { enable { iccid, rollbackFlag } } }
     * (shape of brief Appendix B example 3). */
    static const uint8_t tlv[] = {
        0x30, 0x3A, 0x80, 0x0B, 0x65, 0x69, 0x6D, 0x2E, 0x65, 0x78, 0x61, 0x6D, 0x70, 0x6C, 0x65,
        0x5A, 0x10, 0x89, 0x04, 0x90, 0x32, 0x12, 0x34, 0x51, 0x23, 0x45, 0x12, 0x34, 0x56, 0x78,
        0x90, 0x12, 0x35, 0x81, 0x01, 0x05, 0x82, 0x04, 0x01, 0x02, 0x03, 0x04, 0xA0, 0x10, 0xA3,
        0x0E, 0x5A, 0x0A, 0x98, 0x10, 0x32, 0x54, 0x76, 0x98, 0x10, 0x32, 0x54, 0x76, 0x05, 0x00};
    assert_true(cap >= sizeof(tlv));
    memcpy(out, tlv, sizeof(tlv));
    return sizeof(tlv);
}
