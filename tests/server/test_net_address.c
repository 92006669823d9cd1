/*
 * Address text, shared by the configuration and every listener: what is
 * accepted, what is refused, and that formatting gives back the same text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "server/net_address.h"

static void test_round_trip(void **state)
{
    (void)state;
    static const char *good[] = {"127.0.0.1:8081", "0.0.0.0:0", "[::1]:5684", "[::]:65535",
                                 "[2001:db8::7]:443"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct sockaddr_storage ss;
        assert_int_equal(eim_address_parse(good[i], &ss), EIM_OK);
        char text[EIM_ADDRESS_TEXT_MAX];
        eim_address_format((const struct sockaddr *)&ss, text, sizeof(text));
        assert_string_equal(text, good[i]);
    }
}

static void test_refused(void **state)
{
    (void)state;
    static const char *bad[] = {"",           "127.0.0.1",     ":80",        "localhost:80",
                                "1.2.3.4:",   "1.2.3.4:65536", "1.2.3.4:-1", "1.2.3.4:8x",
                                "::1:5684",   "[::1:5684",     "[]:1",       "[::1]x:1",
                                "1.2.3.4.5:1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sockaddr_storage ss;
        if (eim_address_parse(bad[i], &ss) != EIM_ERR_INVALID_ARG)
            fail_msg("\"%s\" was accepted", bad[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
