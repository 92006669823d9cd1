/*
 * CoAP codec (RFC 7252 §3 message format, RFC 7959 block options): parse
 * and build over libcoap, byte-exact round trips, decoded convenience
 * fields, and rejection of malformed datagrams. Cases are hex in -> fields
 * out -> the same hex back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/coap/coap_codec.h"

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (*hex) {
        if (*hex == ' ') {
            hex++;
            continue;
        }
        unsigned v;
        assert_int_equal(sscanf(hex, "%2x", &v), 1);
        assert_true(n < cap);
        out[n++] = (uint8_t)v;
        hex += 2;
    }
    return n;
}

static void assert_round_trip(const uint8_t *wire, size_t len)
{
    eim_coap_message_t m;
    uint8_t out[2048];
    size_t out_len = 0;
    assert_int_equal(eim_coap_parse(wire, len, &m), EIM_OK);
    assert_int_equal(eim_coap_build(&m, out, sizeof(out), &out_len), EIM_OK);
    assert_int_equal(out_len, len);
    assert_memory_equal(out, wire, len);
    eim_coap_message_clear(&m);
}

/* CON POST /gsma/rsp2/asn1, token 4 bytes, Content-Format 42, payload. */
static const char *POST_HEX = "44 02 12 34 a1 b2 c3 d4"
                              " b4 67 73 6d 61" /* Uri-Path "gsma" (delta 11) */
                              " 04 72 73 70 32" /* Uri-Path "rsp2" */
                              " 04 61 73 6e 31" /* Uri-Path "asn1" */
                              " 11 2a"          /* Content-Format 42 */
                              " ff bf 2d 00";

static void test_parse_post(void **state)
{
    (void)state;
    uint8_t wire[128];
    size_t len = unhex(POST_HEX, wire, sizeof(wire));
    eim_coap_message_t m;
    assert_int_equal(eim_coap_parse(wire, len, &m), EIM_OK);
    assert_int_equal(m.type, EIM_COAP_CON);
    assert_int_equal(m.code, EIM_COAP_POST);
    assert_int_equal(m.message_id, 0x1234);
    assert_int_equal(m.token_len, 4);
    assert_memory_equal(m.token, "\xa1\xb2\xc3\xd4", 4);
    assert_string_equal(m.uri_path, "gsma/rsp2/asn1");
    assert_int_equal(m.content_format, 42);
    assert_int_equal(m.option_count, 4);
    assert_false(m.block1.present);
    assert_false(m.unknown_critical);
    assert_int_equal(m.payload_len, 3);
    assert_memory_equal(m.payload, "\xbf\x2d\x00", 3);
    eim_coap_message_clear(&m);
    assert_round_trip(wire, len);
}

static void test_build_sorts_and_round_trips(void **state)
{
    (void)state;
    eim_coap_message_t m, back;
    uint8_t s1[4], s2[4], s3[4], out[2048];
    uint8_t big[300];
    size_t len = 0;
    memset(big, 'x', sizeof(big));
    eim_coap_message_init(&m, EIM_COAP_ACK, EIM_COAP_CONTENT, 0xBEEF, (const uint8_t *)"tk", 2);
    eim_coap_block_t b2 = {.present = true, .num = 70000, .more = true, .szx = 6};
    /* Deliberately out of order: Size1 (60), Block2 (23), Content-Format (12). */
    assert_int_equal(eim_coap_add_uint_option(&m, EIM_COAP_OPTION_SIZE1, 123456, s1), EIM_OK);
    assert_int_equal(eim_coap_add_block_option(&m, EIM_COAP_OPTION_BLOCK2, &b2, s2), EIM_OK);
    assert_int_equal(eim_coap_add_uint_option(&m, EIM_COAP_OPTION_CONTENT_FORMAT, 0, s3), EIM_OK);
    /* An elective option far away: extended delta (2 bytes) and length. */
    assert_int_equal(eim_coap_add_option(&m, 2048, big, sizeof(big)), EIM_OK);
    m.payload = (const uint8_t *)"hello";
    m.payload_len = 5;
    assert_int_equal(eim_coap_build(&m, out, sizeof(out), &len), EIM_OK);

    assert_int_equal(eim_coap_parse(out, len, &back), EIM_OK);
    assert_int_equal(back.type, EIM_COAP_ACK);
    assert_int_equal(back.code, EIM_COAP_CONTENT);
    assert_int_equal(back.message_id, 0xBEEF);
    assert_int_equal(back.option_count, 4);
    assert_int_equal(back.options[0].number, 12);
    assert_int_equal(back.options[0].len, 0); /* 0 in its minimal form: empty */
    assert_int_equal(back.options[1].number, 23);
    assert_int_equal(back.options[2].number, 60);
    assert_int_equal(back.options[3].number, 2048);
    assert_int_equal(back.options[3].len, 300);
    assert_int_equal(back.content_format, 0);
    assert_true(back.block2.present);
    assert_int_equal(back.block2.num, 70000);
    assert_true(back.block2.more);
    assert_int_equal(back.block2.szx, 6);
    assert_true(back.has_size1);
    assert_int_equal(back.size1, 123456);
    assert_int_equal(back.payload_len, 5);
    assert_round_trip(out, len);
    eim_coap_message_clear(&back);

    /* Too small an output buffer is reported, not overrun. */
    assert_int_equal(eim_coap_build(&m, out, 20, &len), EIM_ERR_BUFFER);
    assert_int_equal(eim_coap_build(&m, out, 3, &len), EIM_ERR_BUFFER);
}

static void test_empty_and_reset(void **state)
{
    (void)state;
    uint8_t wire[16];
    size_t len = unhex("60 00 00 07", wire, sizeof(wire)); /* empty ACK */
    eim_coap_message_t m;
    assert_int_equal(eim_coap_parse(wire, len, &m), EIM_OK);
    assert_int_equal(m.type, EIM_COAP_ACK);
    assert_int_equal(m.code, 0);
    assert_int_equal(m.message_id, 7);
    assert_int_equal(m.token_len, 0);
    eim_coap_message_clear(&m);
    assert_round_trip(wire, len);
    len = unhex("70 00 ff ff", wire, sizeof(wire)); /* RST */
    assert_round_trip(wire, len);
}

static void test_block_options(void **state)
{
    (void)state;
    uint8_t wire[64];
    /* CON POST, Block1 num=2 m=1 szx=6 (0x2e), Size1 3000, Block2 num=0 szx=4. */
    size_t len = unhex("40 02 00 01 d1 0a 04 41 2e d2 14 0b b8 ff 01", wire, sizeof(wire));
    eim_coap_message_t m;
    assert_int_equal(eim_coap_parse(wire, len, &m), EIM_OK);
    assert_true(m.block2.present);
    assert_int_equal(m.block2.num, 0);
    assert_int_equal(m.block2.szx, 4);
    assert_true(m.block1.present);
    assert_int_equal(m.block1.num, 2);
    assert_true(m.block1.more);
    assert_int_equal(m.block1.szx, 6);
    assert_true(m.has_size1);
    assert_int_equal(m.size1, 3000);
    eim_coap_message_clear(&m);
    assert_round_trip(wire, len);
}

static void test_unknown_critical(void **state)
{
    (void)state;
    uint8_t wire[32];
    /* Option 9 (OSCORE, critical, not ours) and 258 (No-Response, elective). */
    size_t len = unhex("40 02 00 01 91 00 e1 00 e8 1a", wire, sizeof(wire));
    eim_coap_message_t m;
    assert_int_equal(eim_coap_parse(wire, len, &m), EIM_OK);
    assert_true(m.unknown_critical);
    assert_int_equal(m.unknown_critical_number, 9);
    eim_coap_message_clear(&m);
    /* Elective unknown options alone are fine. */
    len = unhex("40 02 00 01 d1 f5 1a", wire, sizeof(wire));
    assert_int_equal(eim_coap_parse(wire, len, &m), EIM_OK);
    assert_false(m.unknown_critical);
    eim_coap_message_clear(&m);
}

static void test_path_segment_with_slash(void **state)
{
    (void)state;
    uint8_t wire[32];
    /* One segment "a/b" is not the two segments "a" and "b". */
    size_t len = unhex("40 01 00 01 b3 61 2f 62", wire, sizeof(wire));
    eim_coap_message_t m;
    assert_int_equal(eim_coap_parse(wire, len, &m), EIM_OK);
    assert_string_equal(m.uri_path, "a%2Fb");
    eim_coap_message_clear(&m);
}

static void test_malformed(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "40 02 00",                               /* shorter than the header */
        "80 02 00 01",                            /* version 2 */
        "49 02 00 01 00 00 00 00 00 00 00 00 00", /* token length 9 */
        "41 02 00 01",                            /* token announced, missing */
        "40 02 00 01 ff",                         /* payload marker without payload */
        "40 02 00 01 b4 67",                      /* option value truncated */
        "40 02 00 01 f0",                         /* delta nibble 15 without marker */
        "40 02 00 01 dd",                         /* extended delta missing */
        /* option 13, then delta 269 + 0xFEFF: number 65561 > 65535 (found by
         * fuzz_coap_codec: libcoap adds deltas in 16 bits and wrapped to 25) */
        "40 02 00 01 d0 00 e0 fe ff",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t wire[32];
        size_t len = unhex(bad[i], wire, sizeof(wire));
        eim_coap_message_t m;
        assert_int_equal(eim_coap_parse(len ? wire : NULL, len, &m), EIM_ERR_DECODE);
        assert_null(m.owned);
        eim_coap_message_clear(&m);
    }
}

static void test_option_count_limit(void **state)
{
    (void)state;
    uint8_t wire[4 + 2 * (EIM_COAP_MAX_OPTIONS + 1)];
    size_t len = 0;
    wire[len++] = 0x40;
    wire[len++] = 0x02;
    wire[len++] = 0;
    wire[len++] = 1;
    /* EIM_COAP_MAX_OPTIONS + 1 repeated ETag options (delta 4 then 0). */
    for (size_t i = 0; i <= EIM_COAP_MAX_OPTIONS; i++) {
        wire[len++] = i == 0 ? 0x41 : 0x01;
        wire[len++] = 0xAA;
    }
    eim_coap_message_t m;
    assert_int_equal(eim_coap_parse(wire, len, &m), EIM_ERR_LIMIT);
    eim_coap_message_clear(&m);
}

static void test_code_text(void **state)
{
    (void)state;
    char buf[5];
    assert_string_equal(eim_coap_code_text(EIM_COAP_CONTENT, buf), "2.05");
    assert_string_equal(eim_coap_code_text(EIM_COAP_REQUEST_ENTITY_TOO_LARGE, buf), "4.13");
    assert_string_equal(eim_coap_code_text(EIM_COAP_CONTINUE, buf), "2.31");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_post),       cmocka_unit_test(test_build_sorts_and_round_trips),
        cmocka_unit_test(test_empty_and_reset),  cmocka_unit_test(test_block_options),
        cmocka_unit_test(test_unknown_critical), cmocka_unit_test(test_path_segment_with_slash),
        cmocka_unit_test(test_malformed),        cmocka_unit_test(test_option_count_limit),
        cmocka_unit_test(test_code_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
