/*
 * `eimd decode` end to end: the real binary on Appendix B vectors of the
 * SGP.32 brief (ESipa both directions, bare BF51) given as a hex argument,
 * a base64 file and a DER file, and on broken inputs (exit 65 with offset
 * and reason, 66 for a missing file, 64 for bad usage).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto/base/memory.h"
#include "proto/base/text_codec.h"
#include "tests/proto/esipa_vectors.h"
#include "tests/support/support.h"

static const char *vector_hex(const char *name)
{
    for (size_t i = 0; i < sizeof(esipa_vectors) / sizeof(esipa_vectors[0]); i++)
        if (strcmp(esipa_vectors[i].name, name) == 0)
            return esipa_vectors[i].hex;
    fail_msg("no vector %s", name);
    return NULL;
}

static void vector_bytes(const char *name, eim_buf_t *out)
{
    const char *hex = vector_hex(name);
    assert_int_equal(eim_hex_decode(hex, strlen(hex), out, NULL), EIM_OK);
}

static char *temp_file(const void *data, size_t len)
{
    char *path = eim_strdup("/tmp/eimd-decode-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
    return path;
}

/* Runs eimd decode with up to three arguments; returns the exit code and the
 * combined stdout+stderr (heap) in *output. */
static int run_decode(const char *a1, const char *a2, const char *a3, char **output)
{
    char log_path[] = "/tmp/eimd-decode-log-XXXXXX";
    int fd = mkstemp(log_path);
    assert_true(fd >= 0);
    close(fd);
    char *argv[] = {(char *)test_eimd_path(), "decode", (char *)a1, (char *)a2, (char *)a3, NULL};
    pid_t pid = test_spawn(argv, NULL, log_path);
    assert_true(pid > 0);
    int code = test_wait(pid, 20000);
    *output = test_read_file(log_path);
    assert_non_null(*output);
    unlink(log_path);
    return code;
}

static void assert_contains(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle))
        fail_msg("output lacks '%s':\n%s", needle, haystack);
}

static void test_hex_argument(void **state)
{
    (void)state;
    char *out;
    assert_int_equal(run_decode(vector_hex("b1_get_eim_package_request"), NULL, NULL, &out), 0);
    assert_contains(out, "\"message\": \"EsipaMessageFromIpaToEim\"");
    assert_contains(out, "\"getEimPackageRequest\": {");
    assert_contains(out, "\"eidValue\": \"89049032123451234512345678901235\"");
    free(out);
    /* Same with --in hex; the response direction is found second. */
    assert_int_equal(run_decode("--in", "hex", vector_hex("b2_no_package_available"), &out), 0);
    assert_contains(out, "\"message\": \"EsipaMessageFromEimToIpa\"");
    assert_contains(out, "\"eimPackageError\": 1");
    free(out);
}

static void test_der_file(void **state)
{
    (void)state;
    eim_buf_t der;
    eim_buf_init(&der, 1 << 16);
    vector_bytes("b3c_euicc_package_request", &der);
    char *path = temp_file(der.data, der.len);
    char *out;
    assert_int_equal(run_decode(path, NULL, NULL, &out), 0);
    assert_contains(out, "\"getEimPackageResponse\": {");
    assert_contains(out, "\"euiccPackageRequest\": {");
    assert_contains(out, "\"eimId\": \"eim.example.com\"");
    assert_contains(out, "\"counterValue\": 5");
    assert_contains(out, "\"eimTransactionId\": \"0102030405060708090A0B0C0D0E0F10\"");
    assert_contains(out, "\"psmoList\": [");
    assert_contains(out, "\"iccid\": \"98001032547698103214\"");
    assert_contains(out, "\"rollbackFlag\": true");
    free(out);
    assert_int_equal(run_decode("--in", "der", path, &out), 0);
    assert_contains(out, "\"psmoList\": [");
    free(out);
    unlink(path);
    free(path);

    /* The bare BF51 inside it (offset 4 of BF4F 81 93 ...). */
    path = temp_file(der.data + 4, der.len - 4);
    assert_int_equal(run_decode(path, NULL, NULL, &out), 0);
    assert_contains(out, "\"message\": \"EuiccPackageRequest\"");
    assert_contains(out, "\"euiccPackageSigned\": {");
    free(out);
    unlink(path);
    free(path);
    eim_buf_free(&der);
}

static void test_base64_file(void **state)
{
    (void)state;
    eim_buf_t der, b64;
    eim_buf_init(&der, 1 << 16);
    eim_buf_init(&b64, 1 << 16);
    vector_bytes("b4c_provide_eim_package_result", &der);
    assert_int_equal(eim_base64_encode(der.data, der.len, &b64), EIM_OK);
    assert_int_equal(eim_buf_append_byte(&b64, '\n'), EIM_OK);
    char *path = temp_file(b64.data, b64.len);
    char *out;
    assert_int_equal(run_decode(path, NULL, NULL, &out), 0);
    assert_contains(out, "\"provideEimPackageResult\": {");
    assert_contains(out, "\"euiccPackageResultSigned\": {");
    assert_contains(out, "\"seqNumber\": 7");
    assert_contains(out, "\"euiccResult\": [");
    assert_contains(out, "\"enableResult\": 0");
    assert_contains(out, "\"euiccSignEPR\": \"0000");
    free(out);
    assert_int_equal(run_decode("--in", "base64", path, &out), 0);
    assert_contains(out, "\"seqNumber\": 7");
    free(out);
    unlink(path);
    free(path);
    eim_buf_free(&der);
    eim_buf_free(&b64);
}

static void test_truncated_input(void **state)
{
    (void)state;
    /* b1 without its last byte: BF4F announces 0x12 bytes, 0x11 follow. */
    char hex[128];
    const char *b1 = vector_hex("b1_get_eim_package_request");
    snprintf(hex, sizeof(hex), "%.*s", (int)strlen(b1) - 2, b1);
    char *out;
    assert_int_equal(run_decode(hex, NULL, NULL, &out), 65);
    assert_contains(out, "not a decodable ESipa/ESep message (20 bytes, hex)");
    assert_contains(out, "truncated input at offset 0 (0x0), tag BF4F");
    assert_contains(out, "length exceeds remaining input");
    free(out);
    /* An inner element cut short: the EID's length says 16, 2 bytes follow. */
    assert_int_equal(run_decode("BF4F045A108904", NULL, NULL, &out), 65);
    assert_contains(out, "offset 3 (0x3), tag 5A");
    assert_contains(out, "length exceeds remaining input");
    free(out);
}

static void test_bad_inputs(void **state)
{
    (void)state;
    char *out;
    assert_int_equal(run_decode("--in", "hex", "BF4G", &out), 65);
    assert_contains(out, "not valid hex (character 3)");
    free(out);
    assert_int_equal(run_decode("--in", "der", "/nonexistent/eimd-decode", &out), 66);
    assert_contains(out, "cannot open /nonexistent/eimd-decode");
    free(out);
    assert_int_equal(run_decode("--in", "xml", "BF4F", &out), 64);
    assert_contains(out, "unknown input form 'xml'");
    free(out);
    /* Valid hex but an unknown top-level tag. */
    assert_int_equal(run_decode("300100", NULL, NULL, &out), 65);
    assert_contains(out, "offset 0");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hex_argument), cmocka_unit_test(test_der_file),
        cmocka_unit_test(test_base64_file),  cmocka_unit_test(test_truncated_input),
        cmocka_unit_test(test_bad_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
