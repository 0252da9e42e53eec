/* Unit tests for api/rate_limit.c: bursts, refill, Retry-After, independent tokens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "rate_limit.h"

static void limits_and_refills(void **state)
{
    (void)state;
    struct rate_limit *limit = calloc(1, sizeof(*limit));
    limit->per_minute = 60; /* one a second, bursts of 60 */
    const char *token = "0123456789abcdef0123";
    const char *other = "fedcba98765432100123";
    int retry = 0;
    for (int i = 0; i < 60; i++)
        assert_true(rate_limit_take(limit, token, 1000, &retry));
    assert_false(rate_limit_take(limit, token, 1000, &retry));
    assert_int_equal(retry, 1);
    assert_true(rate_limit_take(limit, other, 1000, &retry));  /* another token is unaffected */
    assert_false(rate_limit_take(limit, token, 1500, &retry)); /* half a token refilled */
    assert_true(rate_limit_take(limit, token, 2000, &retry));  /* one second: one more */
    limit->per_minute = 0;
    assert_true(rate_limit_take(limit, token, 2000, &retry)); /* 0 = unlimited */
    free(limit);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(limits_and_refills)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
