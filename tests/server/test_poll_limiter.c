/*
 * Per-EID poll rate limit: the burst is served, the next poll is refused
 * with a retry hint that matches the refill rate, tokens come back with
 * time, devices do not share buckets, and 0 disables the limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "server/esipa/poll_limiter.h"

static void eid_of(uint8_t eid[16], uint8_t last)
{
    memset(eid, 0x89, 16);
    eid[15] = last;
}

static void test_burst_then_refill(void **state)
{
    (void)state;
    eim_poll_limiter_t *l = eim_poll_limiter_new(6, 3, 1024); /* one poll per 10 s */
    uint8_t eid[16];
    eid_of(eid, 1);
    int retry = 0;
    for (int i = 0; i < 3; i++)
        assert_true(eim_poll_limiter_allow(l, eid, 1000, &retry));
    assert_false(eim_poll_limiter_allow(l, eid, 1000, &retry));
    assert_int_equal(retry, 10); /* 10 s to the next token */
    assert_false(eim_poll_limiter_allow(l, eid, 5000, &retry));
    assert_int_equal(retry, 6); /* 4 s later: 6 s left */
    assert_false(eim_poll_limiter_allow(l, eid, 5500, &retry));
    assert_int_equal(retry, 6); /* 5.5 s left, rounded up */
    assert_true(eim_poll_limiter_allow(l, eid, 11000, &retry));
    assert_false(eim_poll_limiter_allow(l, eid, 11000, &retry));
    /* a long sleep refills to the burst, not beyond */
    for (int i = 0; i < 3; i++)
        assert_true(eim_poll_limiter_allow(l, eid, 10000000, &retry));
    assert_false(eim_poll_limiter_allow(l, eid, 10000000, &retry));
    eim_poll_limiter_free(l);
}

static void test_devices_are_independent(void **state)
{
    (void)state;
    eim_poll_limiter_t *l = eim_poll_limiter_new(1, 1, 4096);
    uint8_t a[16], b[16];
    eid_of(a, 1);
    eid_of(b, 2);
    int retry;
    assert_true(eim_poll_limiter_allow(l, a, 0, &retry));
    assert_false(eim_poll_limiter_allow(l, a, 0, &retry));
    assert_true(eim_poll_limiter_allow(l, b, 0, &retry));
    eim_poll_limiter_free(l);
}

static void test_disabled(void **state)
{
    (void)state;
    eim_poll_limiter_t *l = eim_poll_limiter_new(0, 1, 16);
    uint8_t eid[16];
    eid_of(eid, 3);
    int retry = -1;
    for (int i = 0; i < 1000; i++)
        assert_true(eim_poll_limiter_allow(l, eid, 0, &retry));
    assert_int_equal(retry, -1);
    eim_poll_limiter_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_refill),
        cmocka_unit_test(test_devices_are_independent),
        cmocka_unit_test(test_disabled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
