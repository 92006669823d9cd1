/*
 * Tests of proto/der (X.690 DER reader and writer used by every SGP.32
 * decoder). Rejection cases are data: hex input, expected error code,
 * offset and reason, so each rule of the reader has at least one case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "esep_test_util.h"
#include "proto/der/der.h"

/* Reads the whole input recursively (entering constructed elements) and
 * then requires the end; returns the first error. */
static eim_err_t walk(eim_der_reader_t *r)
{
    while (!eim_der_at_end(r)) {
        eim_der_elem_t e;
        eim_err_t err = eim_der_read(r, &e);
        if (err)
            return err;
        if (eim_der_tag_is_constructed(e.tag)) {
            eim_der_reader_t child;
            err = eim_der_enter(r, &e, &child);
            if (err)
                return err;
            err = walk(&child);
            if (err)
                return err;
        }
    }
    return eim_der_expect_end(r);
}

typedef struct {
    const char *name;
    const char *hex;
    eim_err_t err;
    size_t offset;
    uint32_t tag;
    const char *reason;
} reject_case_t;

static const reject_case_t reject_cases[] = {
    {"indefinite length", "30 80 02 01 00 00 00", EIM_ERR_DECODE, 0, 0x30, "indefinite length"},
    {"81 05 non-minimal", "04 81 05 01 02 03 04 05", EIM_ERR_DECODE, 0, 0x04,
     "non-minimal length encoding"},
    {"82 00 7F non-minimal", "04 82 00 7F", EIM_ERR_DECODE, 0, 0x04, "non-minimal length encoding"},
    {"82 00 80 leading zero", "04 82 00 80", EIM_ERR_DECODE, 0, 0x04,
     "non-minimal length encoding"},
    {"length field > 4 bytes", "04 85 01 00 00 00 00", EIM_ERR_LIMIT, 0, 0x04,
     "length field longer than 4 bytes"},
    {"length beyond input", "04 05 01 02", EIM_ERR_TRUNCATED, 0, 0x04,
     "length exceeds remaining input"},
    {"length field truncated", "04 82 01", EIM_ERR_TRUNCATED, 0, 0x04, "truncated length"},
    {"missing length", "04", EIM_ERR_TRUNCATED, 0, 0x04, "missing length"},
    {"tag > 4 bytes", "BF 81 81 81 01 00", EIM_ERR_LIMIT, 0, 0xBF818181, "tag longer than 4 bytes"},
    {"tag truncated", "BF 81", EIM_ERR_TRUNCATED, 0, 0xBF81, "truncated tag"},
    {"non-minimal tag 1F 80", "9F 80 01 01 00", EIM_ERR_DECODE, 0, 0x9F,
     "non-minimal tag encoding"},
    {"low tag number in high form", "9F 1E 00", EIM_ERR_DECODE, 0, 0x9F1E,
     "non-minimal tag encoding"},
    {"reserved tag 00", "00 00", EIM_ERR_DECODE, 0, 0, "reserved tag 00 (end-of-contents)"},
    {"garbage after element", "05 00 FF", EIM_ERR_TRUNCATED, 2, 0xFF, "truncated tag"},
    {"inner length beyond parent", "30 04 04 05 01 02 05 00", EIM_ERR_TRUNCATED, 2, 0x04,
     "length exceeds remaining input"},
    {"nested indefinite", "A0 04 30 80 00 00", EIM_ERR_DECODE, 2, 0x30, "indefinite length"},
    {"error offset deep in BF51", "BF 51 07 30 05 80 01 41 04 81", EIM_ERR_TRUNCATED, 8, 0x04,
     "truncated length"},
};

static void test_rejections(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(reject_cases) / sizeof(reject_cases[0]); i++) {
        const reject_case_t *c = &reject_cases[i];
        uint8_t in[64];
        size_t n = test_hex(c->hex, in, sizeof(in));
        eim_der_error_t e;
        eim_der_reader_t r;
        eim_der_reader_init(&r, in, n, &e);
        eim_err_t err = walk(&r);
        if (err != c->err || e.offset != c->offset || e.tag != c->tag || !e.reason ||
            strcmp(e.reason, c->reason) != 0)
            fail_msg("case '%s': got err %d offset %zu tag %X reason '%s'", c->name, err, e.offset,
                     e.tag, e.reason ? e.reason : "(null)");
    }
}

static void test_trailing_bytes_expect_end(void **state)
{
    (void)state;
    uint8_t in[] = {0x05, 0x00, 0x05, 0x00};
    eim_der_error_t e;
    eim_der_reader_t r;
    eim_der_reader_init(&r, in, sizeof(in), &e);
    eim_der_elem_t el;
    assert_int_equal(eim_der_read_tag(&r, 0x05, &el), EIM_OK);
    assert_int_equal(eim_der_expect_end(&r), EIM_ERR_DECODE);
    assert_int_equal(e.offset, 2);
    assert_string_equal(e.reason, "trailing bytes");
}

static void test_depth_limit(void **state)
{
    (void)state;
    /* EIM_DER_MAX_DEPTH nested A0s are fine; one more is rejected. */
    uint8_t in[2 * (EIM_DER_MAX_DEPTH + 2)];
    for (unsigned levels = EIM_DER_MAX_DEPTH; levels <= EIM_DER_MAX_DEPTH + 1; levels++) {
        for (unsigned i = 0; i < levels; i++) {
            in[2 * i] = 0xA0;
            in[2 * i + 1] = (uint8_t)(2 * (levels - 1 - i));
        }
        eim_der_error_t e;
        eim_der_reader_t r;
        eim_der_reader_init(&r, in, 2 * levels, &e);
        eim_err_t err = walk(&r);
        if (levels == EIM_DER_MAX_DEPTH) {
            assert_int_equal(err, EIM_OK);
        } else {
            assert_int_equal(err, EIM_ERR_LIMIT);
            assert_string_equal(e.reason, "nesting too deep");
            assert_int_equal(e.offset, 2 * EIM_DER_MAX_DEPTH);
        }
    }
}

static void test_multibyte_tags(void **state)
{
    (void)state;
    uint8_t in[64];
    size_t n = test_hex("BF 51 05 5F 37 02 AA BB 9F 70 01 01 DF 81 82 03 00", in, sizeof(in));
    eim_der_reader_t r;
    eim_der_reader_init(&r, in, n, NULL);
    eim_der_elem_t outer, sig, st, big;
    assert_int_equal(eim_der_read_tag(&r, 0xBF51, &outer), EIM_OK);
    assert_true(eim_der_tag_is_constructed(outer.tag));
    eim_der_reader_t c;
    assert_int_equal(eim_der_enter(&r, &outer, &c), EIM_OK);
    assert_int_equal(eim_der_read_tag(&c, 0x5F37, &sig), EIM_OK);
    assert_false(eim_der_tag_is_constructed(sig.tag));
    assert_int_equal(sig.value.len, 2);
    assert_int_equal(sig.value.ptr[0], 0xAA);
    assert_ptr_equal(sig.tlv.ptr, in + 3);
    assert_int_equal(sig.tlv.len, 5);
    assert_int_equal(eim_der_expect_end(&c), EIM_OK);
    assert_int_equal(eim_der_read_tag(&r, 0x9F70, &st), EIM_OK);
    uint32_t t;
    assert_int_equal(eim_der_peek_tag(&r, &t), EIM_OK);
    assert_int_equal(t, 0xDF818203);
    assert_int_equal(eim_der_read(&r, &big), EIM_OK);
    assert_int_equal(big.tag, 0xDF818203);
    assert_int_equal(eim_der_expect_end(&r), EIM_OK);
}

static void test_long_lengths(void **state)
{
    (void)state;
    static uint8_t in[4 + 300];
    in[0] = 0x04;
    in[1] = 0x82;
    in[2] = 0x01;
    in[3] = 0x2C;
    eim_der_reader_t r;
    eim_der_reader_init(&r, in, sizeof(in), NULL);
    eim_der_elem_t e;
    assert_int_equal(eim_der_read(&r, &e), EIM_OK);
    assert_int_equal(e.value.len, 300);
    assert_int_equal(e.tlv.len, 304);
    /* 81 80: smallest valid one-byte long form. */
    static uint8_t in2[3 + 128] = {0x04, 0x81, 0x80};
    eim_der_reader_init(&r, in2, sizeof(in2), NULL);
    assert_int_equal(eim_der_read(&r, &e), EIM_OK);
    assert_int_equal(e.value.len, 128);
}

static void test_read_tag_and_optional(void **state)
{
    (void)state;
    uint8_t in[] = {0x80, 0x01, 0x41, 0x82, 0x00};
    eim_der_error_t err;
    eim_der_reader_t r;
    eim_der_reader_init(&r, in, sizeof(in), &err);
    eim_der_elem_t e;
    bool present;
    assert_int_equal(eim_der_read_optional(&r, 0x81, &e, &present), EIM_OK);
    assert_false(present);
    assert_int_equal(eim_der_read_optional(&r, 0x80, &e, &present), EIM_OK);
    assert_true(present);
    assert_int_equal(e.value.ptr[0], 0x41);
    assert_int_equal(eim_der_read_tag(&r, 0x81, &e), EIM_ERR_DECODE);
    assert_string_equal(err.reason, "unexpected tag");
    assert_int_equal(err.offset, 3);
    assert_int_equal(err.tag, 0x82);
    /* The failed read did not consume. */
    assert_int_equal(eim_der_read_tag(&r, 0x82, &e), EIM_OK);
    assert_int_equal(eim_der_read_optional(&r, 0x82, &e, &present), EIM_OK);
    assert_false(present);
    /* Missing mandatory element at the end names the wanted tag. */
    eim_der_reader_init(&r, in, 0, &err);
    assert_int_equal(eim_der_read_tag(&r, 0x5A, &e), EIM_ERR_DECODE);
    assert_string_equal(err.reason, "missing element");
    assert_int_equal(err.tag, 0x5A);
}

static void test_skip_until(void **state)
{
    (void)state;
    uint8_t in[] = {0x9F, 0x7F, 0x01, 0x00, 0xA5, 0x02, 0x05, 0x00, 0x83, 0x01, 0x07};
    eim_der_reader_t r;
    eim_der_reader_init(&r, in, sizeof(in), NULL);
    assert_int_equal(eim_der_skip_until(&r, 0x83), EIM_OK);
    int64_t v;
    assert_int_equal(eim_der_read_int(&r, 0x83, &v), EIM_OK);
    assert_int_equal(v, 7);
    assert_true(eim_der_at_end(&r));
    /* Skipping validates what it skips. */
    uint8_t bad[] = {0x9F, 0x7F, 0x80, 0x83, 0x01, 0x07};
    eim_der_reader_init(&r, bad, sizeof(bad), NULL);
    assert_int_equal(eim_der_skip_until(&r, 0x83), EIM_ERR_DECODE);
    /* Skip to a tag that never comes: ends at the end. */
    eim_der_reader_init(&r, in, sizeof(in), NULL);
    assert_int_equal(eim_der_skip_until(&r, 0x99), EIM_OK);
    assert_true(eim_der_at_end(&r));
}

typedef struct {
    const char *hex; /* complete TLV, tag 02 */
    eim_err_t err;
    int64_t value;
} int_case_t;

static void test_integer_values(void **state)
{
    (void)state;
    static const int_case_t cases[] = {
        {"02 01 00", EIM_OK, 0},
        {"02 01 7F", EIM_OK, 127},
        {"02 02 00 80", EIM_OK, 128},
        {"02 01 80", EIM_OK, -128},
        {"02 01 FF", EIM_OK, -1},
        {"02 02 FF 7F", EIM_OK, -129},
        {"02 08 7F FF FF FF FF FF FF FF", EIM_OK, INT64_MAX},
        {"02 08 80 00 00 00 00 00 00 00", EIM_OK, INT64_MIN},
        {"02 00", EIM_ERR_DECODE, 0},
        {"02 02 00 7F", EIM_ERR_DECODE, 0},
        {"02 02 FF 80", EIM_ERR_DECODE, 0},
        {"02 09 00 80 00 00 00 00 00 00 00", EIM_ERR_LIMIT, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t in[16];
        size_t n = test_hex(cases[i].hex, in, sizeof(in));
        eim_der_error_t e;
        eim_der_reader_t r;
        eim_der_reader_init(&r, in, n, &e);
        int64_t v = 0;
        eim_err_t err = eim_der_read_int(&r, 0x02, &v);
        if (err != cases[i].err || (err == EIM_OK && v != cases[i].value))
            fail_msg("case %s: err %d value %lld", cases[i].hex, err, (long long)v);
        if (err)
            assert_non_null(e.reason);
    }
    uint8_t nonmin[] = {0x02, 0x02, 0x00, 0x05};
    eim_der_error_t e;
    eim_der_reader_t r;
    eim_der_reader_init(&r, nonmin, sizeof(nonmin), &e);
    int64_t v;
    assert_int_equal(eim_der_read_int(&r, 0x02, &v), EIM_ERR_DECODE);
    assert_string_equal(e.reason, "non-minimal INTEGER");
    assert_int_equal(e.tag, 0x02);
    assert_int_equal(e.offset, 0);
}

static void test_uint_values(void **state)
{
    (void)state;
    uint8_t in[16];
    uint64_t v;
    eim_der_elem_t e;
    eim_der_reader_t r;
    size_t n = test_hex("02 09 00 FF FF FF FF FF FF FF FF", in, sizeof(in));
    eim_der_reader_init(&r, in, n, NULL);
    assert_int_equal(eim_der_read(&r, &e), EIM_OK);
    assert_int_equal(eim_der_get_uint(&e, &v), EIM_OK);
    assert_true(v == UINT64_MAX);
    n = test_hex("02 01 80", in, sizeof(in));
    eim_der_reader_init(&r, in, n, NULL);
    assert_int_equal(eim_der_read(&r, &e), EIM_OK);
    assert_int_equal(eim_der_get_uint(&e, &v), EIM_ERR_DECODE);
    n = test_hex("02 0A 00 FF FF FF FF FF FF FF FF FF", in, sizeof(in));
    eim_der_reader_init(&r, in, n, NULL);
    assert_int_equal(eim_der_read(&r, &e), EIM_OK);
    assert_int_equal(eim_der_get_uint(&e, &v), EIM_ERR_LIMIT);
    /* A constructed tag is never an INTEGER. */
    n = test_hex("A2 01 05", in, sizeof(in));
    eim_der_reader_init(&r, in, n, NULL);
    assert_int_equal(eim_der_read(&r, &e), EIM_OK);
    assert_int_equal(eim_der_get_uint(&e, &v), EIM_ERR_DECODE);
}

static void test_bool_and_null(void **state)
{
    (void)state;
    uint8_t in[] = {0x01, 0x01, 0xFF, 0x01, 0x01, 0x00, 0x01, 0x01,
                    0x01, 0x01, 0x00, 0x05, 0x00, 0x05, 0x01, 0x00};
    eim_der_error_t err;
    eim_der_reader_t r;
    eim_der_reader_init(&r, in, sizeof(in), &err);
    bool b;
    assert_int_equal(eim_der_read_bool(&r, 0x01, &b), EIM_OK);
    assert_true(b);
    assert_int_equal(eim_der_read_bool(&r, 0x01, &b), EIM_OK);
    assert_false(b);
    assert_int_equal(eim_der_read_bool(&r, 0x01, &b), EIM_ERR_DECODE);
    assert_string_equal(err.reason, "BOOLEAN not 00 or FF");
    assert_int_equal(err.offset, 6);
    eim_der_reader_init(&r, in + 9, sizeof(in) - 9, &err);
    assert_int_equal(eim_der_read_bool(&r, 0x01, &b), EIM_ERR_DECODE); /* empty bool */
    assert_int_equal(eim_der_read_null(&r, 0x05), EIM_OK);
    assert_int_equal(eim_der_read_null(&r, 0x05), EIM_ERR_DECODE);
    assert_string_equal(err.reason, "BOOLEAN not 00 or FF"); /* first failure kept */
    eim_der_reader_init(&r, in + 13, 3, &err);
    assert_int_equal(eim_der_read_null(&r, 0x05), EIM_ERR_DECODE);
    assert_string_equal(err.reason, "NULL not empty");
}

static void test_enter_primitive_rejected(void **state)
{
    (void)state;
    uint8_t in[] = {0x04, 0x02, 0x05, 0x00};
    eim_der_error_t err;
    eim_der_reader_t r, c;
    eim_der_reader_init(&r, in, sizeof(in), &err);
    eim_der_elem_t e;
    assert_int_equal(eim_der_read(&r, &e), EIM_OK);
    assert_int_equal(eim_der_enter(&r, &e, &c), EIM_ERR_DECODE);
    assert_string_equal(err.reason, "primitive element where constructed expected");
}

static void test_fail_records(void **state)
{
    (void)state;
    uint8_t in[] = {0x30, 0x03, 0x80, 0x01, 0x09};
    eim_der_error_t err;
    eim_der_reader_t r, c;
    eim_der_reader_init(&r, in, sizeof(in), &err);
    eim_der_elem_t seq, e;
    assert_int_equal(eim_der_read(&r, &seq), EIM_OK);
    assert_int_equal(eim_der_enter(&r, &seq, &c), EIM_OK);
    assert_int_equal(eim_der_read(&c, &e), EIM_OK);
    assert_int_equal(eim_der_fail(&c, &e, EIM_ERR_DECODE, "bad value"), EIM_ERR_DECODE);
    assert_int_equal(err.offset, 2);
    assert_int_equal(err.tag, 0x80);
    assert_string_equal(err.reason, "bad value");
    /* Outer re-reporting does not overwrite the innermost cause. */
    assert_int_equal(eim_der_fail(&r, &seq, EIM_ERR_DECODE, "outer"), EIM_ERR_DECODE);
    assert_string_equal(err.reason, "bad value");
    eim_der_reader_init(&r, in, sizeof(in), &err);
    assert_null(err.reason);
    r.pos = in + 5;
    assert_int_equal(eim_der_fail(&r, NULL, EIM_ERR_LIMIT, "at pos"), EIM_ERR_LIMIT);
    assert_int_equal(err.offset, 5);
    assert_int_equal(err.tag, 0);
}

static void test_bit_string(void **state)
{
    (void)state;
    uint8_t in[64];
    eim_der_error_t err;
    eim_der_reader_t r;
    eim_span_t bits;
    unsigned unused = 99;
    /* keyUsage digitalSignature (bit 0): 03 02 07 80 */
    size_t n = test_hex("03 02 07 80 03 01 00 03 03 00 AB CD", in, sizeof(in));
    eim_der_reader_init(&r, in, n, &err);
    assert_int_equal(eim_der_read_bit_string(&r, 0x03, &bits, &unused), EIM_OK);
    assert_int_equal(unused, 7);
    assert_int_equal(bits.len, 1);
    assert_int_equal(bits.ptr[0], 0x80);
    assert_int_equal(eim_der_read_bit_string(&r, 0x03, &bits, &unused), EIM_OK); /* empty */
    assert_int_equal(unused, 0);
    assert_int_equal(bits.len, 0);
    assert_int_equal(eim_der_read_bit_string(&r, 0x03, &bits, &unused), EIM_OK);
    assert_int_equal(bits.len, 2);
    assert_ptr_equal(bits.ptr, in + 10);
    assert_true(eim_der_at_end(&r));

    static const struct {
        const char *hex;
        const char *reason;
    } bad[] = {
        {"03 00", "bad BIT STRING unused-bits octet"},
        {"03 01 01", "bad BIT STRING unused-bits octet"},    /* no bits, but unused 1 */
        {"03 02 08 00", "bad BIT STRING unused-bits octet"}, /* more than 7 */
        {"03 02 01 01", "BIT STRING unused bits not zero"},
        {"03 02 07 C0", "BIT STRING unused bits not zero"},
        {"23 03 03 01 00", "constructed BIT STRING"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        n = test_hex(bad[i].hex, in, sizeof(in));
        eim_der_reader_init(&r, in, n, &err);
        uint32_t tag = in[0];
        assert_int_equal(eim_der_read_bit_string(&r, tag, &bits, &unused), EIM_ERR_DECODE);
        assert_string_equal(err.reason, bad[i].reason);
        assert_int_equal(err.offset, 0);
    }
    /* Implicitly tagged BIT STRING (e.g. eimSupportedProtocol 87). */
    n = test_hex("87 02 00 C0", in, sizeof(in));
    eim_der_elem_t e;
    eim_der_reader_init(&r, in, n, &err);
    assert_int_equal(eim_der_read(&r, &e), EIM_OK);
    assert_int_equal(eim_der_get_bit_string(&e, &bits, &unused), EIM_OK);
    assert_int_equal(bits.ptr[0], 0xC0);
    assert_int_equal(eim_der_check_bit_string(&r, &e), EIM_OK);
    /* check_ records the failure at the element */
    n = test_hex("30 03 87 01 01", in, sizeof(in));
    eim_der_reader_t c;
    eim_der_reader_init(&r, in, n, &err);
    assert_int_equal(eim_der_read_enter(&r, 0x30, &e, &c), EIM_OK);
    assert_int_equal(eim_der_read(&c, &e), EIM_OK);
    assert_int_equal(eim_der_check_bit_string(&c, &e), EIM_ERR_DECODE);
    assert_int_equal(err.offset, 2);
    assert_int_equal(err.tag, 0x87);
    assert_string_equal(err.reason, "bad BIT STRING unused-bits octet");
}

static void test_encode_int(void **state)
{
    (void)state;
    static const struct {
        int64_t value;
        const char *hex;
    } cases[] = {
        {0, "00"},
        {127, "7F"},
        {128, "00 80"},
        {-1, "FF"},
        {-128, "80"},
        {-129, "FF 7F"},
        {0x8000, "00 80 00"},
        {INT64_MAX, "7F FF FF FF FF FF FF FF"},
        {INT64_MIN, "80 00 00 00 00 00 00 00"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t got[EIM_DER_INT64_MAX_LEN], want[8];
        size_t n = test_hex(cases[i].hex, want, sizeof(want));
        assert_int_equal(eim_der_encode_int(cases[i].value, got), n);
        assert_memory_equal(got, want, n);
        /* and it reads back */
        eim_der_elem_t e = {.tag = 0x02, .value = eim_span(got, n), .tlv = eim_span(got, n)};
        int64_t back = 0;
        assert_int_equal(eim_der_get_int(&e, &back), EIM_OK);
        assert_true(back == cases[i].value);
    }
}

static void test_oid(void **state)
{
    (void)state;
    uint8_t in[64];
    eim_der_error_t err;
    eim_der_reader_t r;
    eim_span_t oid;
    /* id-ecPublicKey 1.2.840.10045.2.1, then 2.23.146.1.2.1.0 */
    size_t n = test_hex("06 07 2A 86 48 CE 3D 02 01 06 07 67 81 12 01 02 01 00", in, sizeof(in));
    eim_der_reader_init(&r, in, n, &err);
    assert_int_equal(eim_der_read_oid(&r, 0x06, &oid), EIM_OK);
    assert_int_equal(oid.len, 7);
    assert_ptr_equal(oid.ptr, in + 2);
    assert_int_equal(eim_der_read_oid(&r, 0x06, &oid), EIM_OK);
    assert_memory_equal(oid.ptr, "\x67\x81\x12\x01\x02\x01\x00", 7);
    assert_true(eim_der_at_end(&r));

    static const struct {
        const char *hex;
        const char *reason;
    } bad[] = {
        {"06 00", "empty OBJECT IDENTIFIER"},
        {"06 02 2A 86", "truncated OBJECT IDENTIFIER"},
        {"06 03 2A 80 01", "non-minimal OBJECT IDENTIFIER subidentifier"},
        {"06 02 80 01", "non-minimal OBJECT IDENTIFIER subidentifier"},
        {"26 03 06 01 2A", "constructed OBJECT IDENTIFIER"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        n = test_hex(bad[i].hex, in, sizeof(in));
        eim_der_reader_init(&r, in, n, &err);
        assert_int_equal(eim_der_read_oid(&r, in[0], &oid), EIM_ERR_DECODE);
        assert_string_equal(err.reason, bad[i].reason);
    }
    /* A wrong tag is reported by the reader, not as a bad OID. */
    n = test_hex("04 01 2A", in, sizeof(in));
    eim_der_reader_init(&r, in, n, &err);
    assert_int_equal(eim_der_read_oid(&r, 0x06, &oid), EIM_ERR_DECODE);
    assert_string_equal(err.reason, "unexpected tag");
    /* Implicit tag, value check only. */
    eim_der_elem_t e = {.tag = 0x81, .value = eim_span(in + 2, 1), .tlv = eim_span(in, 3)};
    assert_int_equal(eim_der_get_oid(&e, &oid), EIM_OK);
}

static void test_read_enter_and_enter_span(void **state)
{
    (void)state;
    uint8_t in[64];
    eim_der_error_t err;
    eim_der_reader_t r, c, x;
    eim_der_elem_t seq, os, e;
    /* SEQUENCE { OCTET STRING { SEQUENCE { BOOLEAN TRUE } } }: an X.509
     * extension value encapsulates DER inside a primitive OCTET STRING. */
    size_t n = test_hex("30 07 04 05 30 03 01 01 FF", in, sizeof(in));
    eim_der_reader_init(&r, in, n, &err);
    assert_int_equal(eim_der_read_enter(&r, 0x30, &seq, &c), EIM_OK);
    assert_int_equal(c.depth, 1);
    assert_int_equal(eim_der_read_tag(&c, 0x04, &os), EIM_OK);
    assert_int_equal(eim_der_enter(&c, &os, &x), EIM_ERR_DECODE); /* primitive */
    err.reason = NULL;
    assert_int_equal(eim_der_enter_span(&c, os.value, &x), EIM_OK);
    assert_int_equal(x.depth, 2);
    eim_der_reader_t inner;
    assert_int_equal(eim_der_read_enter(&x, 0x30, &e, &inner), EIM_OK);
    assert_int_equal(eim_der_expect_end(&x), EIM_OK);
    /* Offsets inside the encapsulated DER count from the top-level input. */
    assert_int_equal(eim_der_read_tag(&inner, 0x02, &e), EIM_ERR_DECODE);
    assert_int_equal(err.offset, 6);
    assert_string_equal(err.reason, "unexpected tag");

    /* read_enter on a primitive element fails like eim_der_enter. */
    eim_der_reader_init(&r, in + 2, 7, &err);
    assert_int_equal(eim_der_read_enter(&r, 0x04, &os, &c), EIM_ERR_DECODE);
    assert_string_equal(err.reason, "primitive element where constructed expected");

    /* Spans outside the parent are misuse; an empty span is an empty reader. */
    eim_der_reader_init(&r, in + 2, 5, &err);
    assert_int_equal(eim_der_enter_span(&r, eim_span(in, 4), &x), EIM_ERR_INVALID_ARG);
    assert_int_equal(eim_der_enter_span(&r, eim_span(in + 4, 5), &x), EIM_ERR_INVALID_ARG);
    assert_int_equal(eim_der_enter_span(&r, EIM_SPAN_NULL, &x), EIM_OK);
    assert_true(eim_der_at_end(&x));

    /* Depth limit applies to encapsulated DER too. */
    eim_der_reader_init(&r, in, n, &err);
    r.depth = EIM_DER_MAX_DEPTH;
    assert_int_equal(eim_der_enter_span(&r, eim_span(in + 4, 5), &x), EIM_ERR_LIMIT);
    assert_string_equal(err.reason, "nesting too deep");
}

static void assert_buf_hex(const eim_buf_t *buf, const char *want)
{
    uint8_t exp[1024];
    size_t n = test_hex(want, exp, sizeof(exp));
    assert_int_equal(buf->len, n);
    assert_memory_equal(buf->data, exp, n);
}

static void test_writer_basic(void **state)
{
    (void)state;
    eim_buf_t buf;
    eim_buf_init(&buf, 4096);
    eim_der_writer_t w;
    eim_der_writer_init(&w, &buf);
    eim_der_begin(&w, 0xBF51);
    eim_der_begin(&w, 0x30);
    eim_der_put(&w, 0x80, "eim", 3);
    eim_der_put_int(&w, 0x81, 5);
    eim_der_put_null(&w, 0x05);
    eim_der_put_bool(&w, 0x01, true);
    eim_der_end(&w);
    eim_der_put(&w, 0x5F37, "\x01\x02", 2);
    eim_der_end(&w);
    assert_int_equal(eim_der_writer_finish(&w), EIM_OK);
    assert_buf_hex(&buf, "BF 51 14 30 0D 80 03 65 69 6D 81 01 05 05 00 01 01 FF 5F 37 02 01 02");
    eim_buf_free(&buf);
}

static void test_writer_integers(void **state)
{
    (void)state;
    static const struct {
        int64_t v;
        const char *hex;
    } ints[] = {
        {0, "02 01 00"},
        {127, "02 01 7F"},
        {128, "02 02 00 80"},
        {255, "02 02 00 FF"},
        {256, "02 02 01 00"},
        {-1, "02 01 FF"},
        {-128, "02 01 80"},
        {-129, "02 02 FF 7F"},
        {INT64_MAX, "02 08 7F FF FF FF FF FF FF FF"},
        {INT64_MIN, "02 08 80 00 00 00 00 00 00 00"},
    };
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        eim_buf_t buf;
        eim_buf_init(&buf, 64);
        eim_der_writer_t w;
        eim_der_writer_init(&w, &buf);
        eim_der_put_int(&w, 0x02, ints[i].v);
        assert_int_equal(eim_der_writer_finish(&w), EIM_OK);
        assert_buf_hex(&buf, ints[i].hex);
        /* and back */
        eim_der_reader_t r;
        eim_der_reader_init(&r, buf.data, buf.len, NULL);
        int64_t v;
        assert_int_equal(eim_der_read_int(&r, 0x02, &v), EIM_OK);
        assert_true(v == ints[i].v);
        eim_buf_free(&buf);
    }
    eim_buf_t buf;
    eim_buf_init(&buf, 64);
    eim_der_writer_t w;
    eim_der_writer_init(&w, &buf);
    eim_der_put_uint(&w, 0x84, 0);
    eim_der_put_uint(&w, 0x84, 0x80);
    eim_der_put_uint(&w, 0x84, UINT64_MAX);
    assert_int_equal(eim_der_writer_finish(&w), EIM_OK);
    assert_buf_hex(&buf, "84 01 00 84 02 00 80 84 09 00 FF FF FF FF FF FF FF FF");
    eim_buf_free(&buf);
}

static void test_writer_long_lengths(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 127, 128, 255, 256, 65535, 65536};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        eim_buf_t buf;
        eim_buf_init(&buf, 1 << 20);
        eim_der_writer_t w;
        eim_der_writer_init(&w, &buf);
        uint8_t *payload = calloc(1, sizes[i] + 1);
        eim_der_begin(&w, 0x30);
        eim_der_put(&w, 0x04, payload, sizes[i]);
        eim_der_end(&w);
        assert_int_equal(eim_der_writer_finish(&w), EIM_OK);
        eim_der_reader_t r, c;
        eim_der_error_t e;
        eim_der_reader_init(&r, buf.data, buf.len, &e);
        eim_der_elem_t seq, oct;
        assert_int_equal(eim_der_read_tag(&r, 0x30, &seq), EIM_OK);
        assert_int_equal(eim_der_expect_end(&r), EIM_OK);
        assert_int_equal(eim_der_enter(&r, &seq, &c), EIM_OK);
        assert_int_equal(eim_der_read_tag(&c, 0x04, &oct), EIM_OK);
        assert_int_equal(oct.value.len, sizes[i]);
        free(payload);
        eim_buf_free(&buf);
    }
}

static void test_writer_sticky_errors(void **state)
{
    (void)state;
    eim_buf_t buf;
    eim_der_writer_t w;
    /* Buffer limit: later calls are no-ops, finish reports the first error. */
    eim_buf_init(&buf, 4);
    eim_der_writer_init(&w, &buf);
    eim_der_put(&w, 0x04, "abcdef", 6);
    eim_der_put_null(&w, 0x05);
    assert_int_equal(eim_der_writer_finish(&w), EIM_ERR_LIMIT);
    eim_buf_free(&buf);
    /* Limit hit while inserting a long length in eim_der_end. */
    eim_buf_init(&buf, 130);
    eim_der_writer_init(&w, &buf);
    uint8_t payload[126] = {0};
    eim_der_begin(&w, 0x30);
    eim_der_put(&w, 0x04, payload, sizeof(payload));
    eim_der_end(&w);
    assert_int_equal(eim_der_writer_finish(&w), EIM_ERR_LIMIT);
    eim_buf_free(&buf);
    /* Unbalanced begin/end. */
    eim_buf_init(&buf, 64);
    eim_der_writer_init(&w, &buf);
    eim_der_begin(&w, 0x30);
    assert_int_equal(eim_der_writer_finish(&w), EIM_ERR_INVALID_ARG);
    eim_der_writer_init(&w, &buf);
    eim_der_end(&w);
    assert_int_equal(eim_der_writer_finish(&w), EIM_ERR_INVALID_ARG);
    /* Invalid tag. */
    eim_buf_reset(&buf);
    eim_der_writer_init(&w, &buf);
    eim_der_put_null(&w, 0);
    assert_int_equal(eim_der_writer_finish(&w), EIM_ERR_INVALID_ARG);
    /* Depth limit. */
    eim_der_writer_init(&w, &buf);
    for (int i = 0; i <= EIM_DER_MAX_DEPTH; i++)
        eim_der_begin(&w, 0x30);
    assert_int_equal(eim_der_writer_finish(&w), EIM_ERR_LIMIT);
    eim_buf_free(&buf);
}

static void test_round_trip_raw(void **state)
{
    (void)state;
    uint8_t in[64];
    size_t n = test_hex("BF 51 0C 30 06 80 01 41 81 01 05 5F 37 01 00", in, sizeof(in));
    eim_der_reader_t r, c;
    eim_der_reader_init(&r, in, n, NULL);
    eim_der_elem_t outer, signed_part, sig;
    assert_int_equal(eim_der_read_tag(&r, 0xBF51, &outer), EIM_OK);
    assert_int_equal(eim_der_enter(&r, &outer, &c), EIM_OK);
    assert_int_equal(eim_der_read_tag(&c, 0x30, &signed_part), EIM_OK);
    assert_int_equal(eim_der_read_tag(&c, 0x5F37, &sig), EIM_OK);
    eim_buf_t buf;
    eim_buf_init(&buf, 64);
    eim_der_writer_t w;
    eim_der_writer_init(&w, &buf);
    eim_der_begin(&w, 0xBF51);
    eim_der_put_raw(&w, signed_part.tlv);
    eim_der_put_span(&w, 0x5F37, sig.value);
    eim_der_end(&w);
    assert_int_equal(eim_der_writer_finish(&w), EIM_OK);
    assert_int_equal(buf.len, n);
    assert_memory_equal(buf.data, in, n);
    eim_buf_free(&buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_trailing_bytes_expect_end),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_multibyte_tags),
        cmocka_unit_test(test_long_lengths),
        cmocka_unit_test(test_read_tag_and_optional),
        cmocka_unit_test(test_skip_until),
        cmocka_unit_test(test_integer_values),
        cmocka_unit_test(test_uint_values),
        cmocka_unit_test(test_bool_and_null),
        cmocka_unit_test(test_enter_primitive_rejected),
        cmocka_unit_test(test_fail_records),
        cmocka_unit_test(test_bit_string),
        cmocka_unit_test(test_oid),
        cmocka_unit_test(test_encode_int),
        cmocka_unit_test(test_read_enter_and_enter_span),
        cmocka_unit_test(test_writer_basic),
        cmocka_unit_test(test_writer_integers),
        cmocka_unit_test(test_writer_long_lengths),
        cmocka_unit_test(test_writer_sticky_errors),
        cmocka_unit_test(test_round_trip_raw),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
