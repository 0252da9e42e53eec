/* Unit tests for common/textfmt.c: the same text snprintf would write, and never a byte past
 * the buffer. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "textfmt.h"

/* Numbers of every length, both signs, the extremes: as printf formats them. */
static void numbers_as_printf(void **state)
{
    (void)state;
    unsigned long long samples[] = {0,
                                    1,
                                    9,
                                    10,
                                    99,
                                    100,
                                    2024,
                                    65535,
                                    4294967295ull,
                                    1733580000000ull,
                                    9999999999999999999ull,
                                    ULLONG_MAX};
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        for (int width = 0; width <= 22; width++) {
            char mine[64], theirs[64];
            struct text text = text_start(mine, sizeof(mine));
            text_add_unsigned(&text, samples[i], width);
            assert_true(text_end(&text));
            snprintf(theirs, sizeof(theirs), "%0*llu", width, samples[i]);
            assert_string_equal(mine, theirs);
            assert_int_equal(text_length(&text, mine), strlen(theirs));
        }
    }
    long long signed_samples[] = {0, -1, 1, -2024, 1733580000000ll, LLONG_MAX, LLONG_MIN};
    for (size_t i = 0; i < sizeof(signed_samples) / sizeof(signed_samples[0]); i++) {
        char mine[64], theirs[64];
        struct text text = text_start(mine, sizeof(mine));
        text_add_signed(&text, signed_samples[i]);
        assert_true(text_end(&text));
        snprintf(theirs, sizeof(theirs), "%lld", signed_samples[i]);
        assert_string_equal(mine, theirs);
    }
    /* A pseudo-random sweep of widths 0-4 (years, counts). */
    uint64_t x = 88172645463325252ull;
    for (int n = 0; n < 20000; n++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        unsigned long long value = x >> (x % 64);
        int width = (int)(x % 5);
        char mine[64], theirs[64];
        struct text text = text_start(mine, sizeof(mine));
        text_add_unsigned(&text, value, width);
        text_end(&text);
        snprintf(theirs, sizeof(theirs), "%0*llu", width, value);
        assert_string_equal(mine, theirs);
    }
}

static void strings_and_characters(void **state)
{
    (void)state;
    char buffer[64];
    struct text text = text_start(buffer, sizeof(buffer));
    text_add(&text, "{\"id\":\"");
    text_add(&text, "1733580000000-7");
    text_add_bytes(&text, "\",\"period\":\"xx", 12);
    text_add_unsigned(&text, 2024, 4);
    text_add_char(&text, '"');
    text_add(&text, "");
    text_add_char(&text, '}');
    assert_true(text_end(&text));
    assert_string_equal(buffer, "{\"id\":\"1733580000000-7\",\"period\":\"2024\"}");
}

/* What does not fit is dropped, the NUL still written inside the buffer, and told. */
static void overflow_truncates_inside_the_buffer(void **state)
{
    (void)state;
    for (size_t size = 1; size <= 12; size++) {
        char buffer[16];
        memset(buffer, 'X', sizeof(buffer));
        struct text text = text_start(buffer, size);
        text_add(&text, "hello");
        text_add_unsigned(&text, 123456, 0);
        bool fits = text_end(&text);
        assert_int_equal(fits, size > 11);
        char expected[16];
        snprintf(expected, size, "%s%d", "hello", 123456);
        assert_string_equal(buffer, expected);
        for (size_t i = size; i < sizeof(buffer); i++)
            assert_int_equal(buffer[i], 'X'); /* nothing past the buffer */
    }
    /* A later piece that fits does not hide an earlier overflow. */
    char small[4];
    struct text text = text_start(small, sizeof(small));
    text_add(&text, "abcdef");
    assert_false(text_end(&text));
    assert_string_equal(small, "abc");
    /* Size 0: nothing written at all, and not "fitted". */
    char untouched = 'X';
    text = text_start(&untouched, 0);
    text_add(&text, "a");
    assert_false(text_end(&text));
    assert_int_equal(untouched, 'X');
    assert_int_equal(text_length(&text, &untouched), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(numbers_as_printf),
        cmocka_unit_test(strings_and_characters),
        cmocka_unit_test(overflow_truncates_inside_the_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
