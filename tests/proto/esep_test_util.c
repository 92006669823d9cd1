/* Helpers shared by the proto/esep tests (see esep_test_util.h). */
#include "esep_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

const uint8_t test_eid_bytes[16] = {0x89, 0x04, 0x90, 0x32, 0x12, 0x34, 0x51, 0x23,
                                    0x45, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x35};
const uint8_t test_iccid_bytes[10] = {0x98, 0x00, 0x10, 0x32, 0x54, 0x76, 0x98, 0x10, 0x32, 0x14};
const uint8_t test_txid_bytes[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static const struct {
    const char *name;
    const char *hex;
} fragments[] = {
    {"EIMID", "80 0F 65 69 6D 2E 65 78 61 6D 70 6C 65 2E 63 6F 6D"},
    {"EID", "5A 10 89 04 90 32 12 34 51 23 45 12 34 56 78 90 12 35"},
    {"TXID", "82 10 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F 10"},
    {"ICCID", "5A 0A 98 00 10 32 54 76 98 10 32 14"},
    {"SIG", "5F 37 40 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
            "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
            "00 00 00 00 00 00 00 00 00 00 00"},
};

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

size_t test_hex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (*s) {
        if (*s == ' ' || *s == '\n') {
            s++;
            continue;
        }
        bool expanded = false;
        for (size_t i = 0; i < sizeof(fragments) / sizeof(fragments[0]); i++) {
            size_t len = strlen(fragments[i].name);
            if (strncmp(s, fragments[i].name, len) == 0) {
                n += test_hex(fragments[i].hex, out + n, cap - n);
                s += len;
                expanded = true;
                break;
            }
        }
        if (expanded)
            continue;
        int hi = hex_digit(s[0]), lo = s[1] ? hex_digit(s[1]) : -1;
        if (hi < 0 || lo < 0 || n >= cap) {
            fprintf(stderr, "test_hex: bad input at '%.10s'\n", s);
            abort();
        }
        out[n++] = (uint8_t)(hi << 4 | lo);
        s += 2;
    }
    return n;
}

bool test_openssl_parses(const uint8_t *data, size_t len)
{
    char path[] = "/tmp/eimd-asn1-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return false;
    bool ok = write(fd, data, len) == (ssize_t)len;
    close(fd);
    if (ok) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "openssl asn1parse -inform DER -in %s 2>&1", path);
        FILE *p = popen(cmd, "r");
        ok = p != NULL;
        char line[512];
        while (p && fgets(line, sizeof(line), p))
            if (strstr(line, "Error") || strstr(line, "error"))
                ok = false;
        if (p && pclose(p) != 0)
            ok = false;
    }
    unlink(path);
    return ok;
}

void test_assert_span_hex(eim_span_t span, const char *want)
{
    uint8_t exp[4096];
    size_t n = test_hex(want, exp, sizeof(exp));
    assert_int_equal(span.len, n);
    assert_memory_equal(span.ptr, exp, n);
}

void test_assert_span_bytes(eim_span_t span, const void *want, size_t len)
{
    assert_non_null(span.ptr);
    assert_int_equal(span.len, len);
    assert_memory_equal(span.ptr, want, len);
}

eim_euicc_package_t *test_enable_package(void)
{
    eim_euicc_package_t *p = calloc(1, sizeof(*p));
    assert_non_null(p);
    p->eim_id = S("eim.example.com");
    p->eid = eim_span(test_eid_bytes, sizeof(test_eid_bytes));
    p->counter_value = 5;
    p->transaction_id = eim_span(test_txid_bytes, sizeof(test_txid_bytes));
    p->list = EIM_PACKAGE_PSMO_LIST;
    p->count = 1;
    p->psmos[0].kind = EIM_PSMO_ENABLE;
    p->psmos[0].iccid = eim_span(test_iccid_bytes, sizeof(test_iccid_bytes));
    p->psmos[0].rollback_flag = true;
    return p;
}

void test_run_reject_cases(const test_reject_case_t *cases, size_t count, test_decode_fn decode)
{
    for (size_t i = 0; i < count; i++) {
        const test_reject_case_t *c = &cases[i];
        uint8_t in[1024];
        size_t n = test_hex(c->hex, in, sizeof(in));
        eim_der_error_t err;
        eim_err_t rc = decode(in, n, &err);
        if (rc != c->err || !err.reason || strcmp(err.reason, c->reason) != 0)
            fail_msg("case '%s': got %d (%s) at %zu tag %X", c->name, rc,
                     err.reason ? err.reason : "-", err.offset, err.tag);
    }
}
