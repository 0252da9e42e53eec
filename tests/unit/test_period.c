/* Unit tests for period.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "period.h"

static void accepts_years_in_range(void **state)
{
    (void)state;
    assert_int_equal(period_parse("2024"), 2024);
    assert_int_equal(period_parse("2000"), 2000);
    assert_int_equal(period_parse("2100"), 2100);
}

static void refuses_everything_else(void **state)
{
    (void)state;
    const char *bad[] = {"",      "202",   "20245", "1999",  "2101",    "20a4",
                         " 2024", "2024 ", "-202",  "+2024", "２０２４"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        assert_int_equal(period_parse(bad[i]), -1);
    assert_int_equal(period_parse(NULL), -1);
    assert_int_equal(period_parse_n("2024xyz", 4), 2024);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(accepts_years_in_range),
                                       cmocka_unit_test(refuses_everything_else)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
