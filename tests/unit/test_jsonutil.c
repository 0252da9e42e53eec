/* Unit tests for common/jsonutil.c's number printing: exact round trip, and the whole-number
 * fast path printing exactly what "%.15g" prints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "jsonutil.h"

static char *printed(double value)
{
    cJSON *object = cJSON_CreateObject();
    json_add_number(object, "v", value);
    char *text = cJSON_PrintUnformatted(object);
    cJSON_Delete(object);
    return text;
}

static void whole_numbers_as_printf(void **state)
{
    (void)state;
    const double values[] = {0,
                             1,
                             -1,
                             7,
                             812,
                             -812,
                             10,
                             100,
                             4100,
                             2147483648.,
                             -2147483649.,
                             999999999999999.,
                             -999999999999999.,
                             1e15,
                             1e16,
                             -1e15,
                             123456789012.};
    for (size_t i = 0; i < sizeof(values) / sizeof(*values); i++) {
        char expected[64], *text = printed(values[i]);
        snprintf(expected, sizeof(expected), "{\"v\":%.15g}", values[i]);
        assert_string_equal(text, expected);
        cJSON_free(text);
    }
}

/* json_format_whole writes what "%.17g" would for what it accepts, and declines the rest. */
static void format_whole_matches_printf_or_declines(void **state)
{
    (void)state;
    const double accepted[] = {0, 1, -1, 42, -812, 999999999999999.0, -999999999999999.0};
    for (size_t i = 0; i < sizeof(accepted) / sizeof(*accepted); i++) {
        char text[32], expected[32];
        assert_true(json_format_whole(accepted[i], text, sizeof(text)));
        snprintf(expected, sizeof(expected), "%.17g", accepted[i]);
        assert_string_equal(text, expected);
    }
    const double declined[] = {1e15, -1e15, 0.5, -0.0, 1e300};
    for (size_t i = 0; i < sizeof(declined) / sizeof(*declined); i++) {
        char text[32] = "untouched";
        assert_false(json_format_whole(declined[i], text, sizeof(text)));
        assert_string_equal(text, "untouched");
    }
    char small[8];
    assert_false(json_format_whole(7, small, sizeof(small))); /* too small a buffer */
}

static void fractions_and_specials_round_trip(void **state)
{
    (void)state;
    const double values[] = {0.1, 4100.5, -0.0, 1.0 / 3, 88.21, 1e-7, 2.5e300, 0.30000000000000004};
    for (size_t i = 0; i < sizeof(values) / sizeof(*values); i++) {
        char *text = printed(values[i]);
        cJSON *back = cJSON_Parse(text);
        assert_non_null(back);
        double read = cJSON_GetObjectItem(back, "v")->valuedouble;
        assert_memory_equal(&read, &values[i], sizeof(read)); /* -0 keeps its sign */
        cJSON_Delete(back);
        cJSON_free(text);
    }
    char *nan_text = printed(strtod("nan", NULL));
    assert_string_equal(nan_text, "{\"v\":null}");
    cJSON_free(nan_text);
}

static size_t plain_run_bytewise(const char *text, size_t length)
{
    size_t at = 0;
    while (at < length && text[at] != '"' && text[at] != '\\' && (unsigned char)text[at] >= 0x20)
        at++;
    return at;
}

/* Every byte value at every position of runs up to 40 bytes, from every alignment, and two
 * specials at once: the word-at-a-time scan gives the bytewise answer. */
static void plain_run_matches_bytewise(void **state)
{
    (void)state;
    char buffer[64];
    for (size_t offset = 0; offset < 8; offset++)
        for (size_t length = 0; length <= 40; length++)
            for (size_t position = 0; position < length; position++)
                for (int byte = 0; byte < 256; byte++) {
                    char *text = buffer + offset;
                    memset(text, 'a', length);
                    text[position] = (char)byte;
                    if (position + 3 < length)
                        text[position + 3] = (byte & 1) ? '"' : (char)0x1f;
                    size_t expected = plain_run_bytewise(text, length);
                    size_t got = json_plain_run(text, length);
                    if (got != expected)
                        fail_msg("byte 0x%02x at %zu of %zu (offset %zu): %zu, expected %zu",
                                 (unsigned)byte, position, length, offset, got, expected);
                }
    assert_int_equal(json_plain_run("", 0), 0);
    assert_int_equal(json_plain_run("students\"", 9), 8);
    assert_int_equal(json_plain_run("\xe5\x85\xb4\xe5\xba\x86\xe5\x8c\xba\x7f\x80\xff\"", 13), 12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(whole_numbers_as_printf),
        cmocka_unit_test(format_whole_matches_printf_or_declines),
        cmocka_unit_test(fractions_and_specials_round_trip),
        cmocka_unit_test(plain_run_matches_bytewise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
