/* Unit tests for submission.c: every refusal of the contract, with its status and field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "catalog_fixture.h"
#include "submission.h"

static struct catalog *catalog;
static char directory[64];

static int setup(void **state)
{
    (void)state;
    char error[512];
    fixture_create(directory);
    catalog = catalog_load(directory, error, sizeof(error));
    return catalog ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    catalog_free(catalog);
    fixture_remove(directory);
    return 0;
}

static struct submission submission;

static void expect_error(const char *body, int status, const char *code, const char *field)
{
    struct api_error error;
    if (submission_parse(catalog, body, strlen(body), &submission, &error) == 0)
        fail_msg("accepted %s", body);
    if (error.status != status || strcmp(error.code, code) != 0 || strcmp(error.field, field) != 0)
        fail_msg("%s: got %d %s field \"%s\" (%s)", body, error.status, error.code, error.field,
                 error.message);
}

static void accepts_a_valid_submission(void **state)
{
    (void)state;
    const char *body = "{\"school\":\"xq-001\",\"period\":\"2024\","
                       "\"values\":{\"students\":812,\"area\":4100.5,\"has_mh\":true}}";
    struct api_error error;
    assert_int_equal(submission_parse(catalog, body, strlen(body), &submission, &error), 0);
    assert_string_equal(submission.school, "xq-001");
    assert_int_equal(submission.period, 2024);
    assert_int_equal(submission.value_count, 3);
    assert_true(submission.values[1].value == 4100.5);
    assert_true(submission.values[2].value == 1);
    char *rendered = submission_render(catalog, &submission);
    assert_string_equal(rendered, "{\"school\":\"xq-001\",\"period\":\"2024\",\"values\":{"
                                  "\"students\":812,\"area\":4100.5,\"has_mh\":true}}");
    free(rendered);
}

static void refuses_malformed_and_misshapen(void **state)
{
    (void)state;
    expect_error("{", 400, "malformed_json", "");
    expect_error("[1]", 400, "invalid_shape", "");
    expect_error("{\"school\":\"a\",\"period\":\"2024\",\"values\":{}} x", 400, "malformed_json",
                 "");
    expect_error("{\"school\":1,\"period\":\"2024\",\"values\":{}}", 400, "invalid_shape",
                 "school");
    expect_error("{\"school\":\"a\",\"period\":2024,\"values\":{}}", 400, "invalid_shape",
                 "period");
    expect_error("{\"school\":\"a\",\"period\":\"2024\",\"values\":[1]}", 400, "invalid_shape",
                 "values");
    expect_error("{\"school\":\"a\",\"period\":\"2024\",\"value\":{}}", 400, "unknown_field",
                 "value");
    expect_error(
        "{\"school\":\"a\",\"period\":\"2024\",\"values\":{\"students\":[[[[[[[[[1]]]]]]]]]}}", 400,
        "too_deep", "");
}

static void refuses_bad_values(void **state)
{
    (void)state;
    expect_error("{\"school\":\"a b\",\"period\":\"2024\",\"values\":{\"students\":1}}", 422,
                 "invalid_id", "school");
    expect_error("{\"school\":\"a\",\"period\":\"24\",\"values\":{\"students\":1}}", 422,
                 "invalid_period", "period");
    expect_error("{\"school\":\"a\",\"period\":\"2024\",\"values\":{}}", 422, "no_values",
                 "values");
    expect_error("{\"school\":\"a\",\"period\":\"2024\",\"values\":{\"ghost\":1}}", 422,
                 "unknown_element", "values.ghost");
    expect_error("{\"school\":\"a\",\"period\":\"2024\",\"values\":{\"students\":1.5}}", 422,
                 "invalid_value", "values.students");
    expect_error("{\"school\":\"a\",\"period\":\"2024\",\"values\":{\"students\":\"1\"}}", 422,
                 "invalid_value", "values.students");
    expect_error("{\"school\":\"a\",\"period\":\"2024\",\"values\":{\"students\":-1}}", 422,
                 "out_of_range", "values.students");
    expect_error("{\"school\":\"a\",\"period\":\"2024\",\"values\":{\"area\":1e309}}", 422,
                 "invalid_value", "values.area");
    expect_error("{\"school\":\"a\",\"period\":\"2024\",\"values\":{\"has_mh\":1}}", 422,
                 "invalid_value", "values.has_mh");
    expect_error("{\"school\":\"a\",\"period\":\"2024\",\"values\":{\"students\":1,"
                 "\"students\":2}}",
                 422, "duplicate_element", "values.students");
}

static void authorizes_by_stage(void **state)
{
    (void)state;
    const char *body = "{\"school\":\"k1\",\"period\":\"2024\",\"values\":{\"kids\":10}}";
    struct api_error error;
    assert_int_equal(submission_parse(catalog, body, strlen(body), &submission, &error), 0);
    struct school kindergarten = {.stage = STAGE_KINDERGARTEN};
    struct school primary = {.stage = STAGE_PRIMARY};
    assert_int_equal(submission_authorize(catalog, &submission, &kindergarten, &error), 0);
    assert_int_equal(submission_authorize(catalog, &submission, &primary, &error), -1);
    assert_int_equal(error.status, 403);
    assert_string_equal(error.field, "values.kids");
}

/* The fast path accepts `body` and agrees with the general parser, bit for bit. */
static void expect_fast(const char *body)
{
    struct submission fast, general;
    struct api_error error;
    memset(&fast, 0, sizeof(fast));
    memset(&general, 0, sizeof(general));
    if (submission_parse_fast(catalog, body, strlen(body), &fast) != 0)
        fail_msg("the fast path declined %s", body);
    if (submission_parse_general(catalog, body, strlen(body), &general, &error) != 0)
        fail_msg("the general parser refused %s: %s", body, error.message);
    assert_string_equal(fast.school, general.school);
    assert_int_equal(fast.period, general.period);
    assert_int_equal(fast.value_count, general.value_count);
    for (size_t i = 0; i < fast.value_count; i++) {
        assert_int_equal(fast.values[i].element, general.values[i].element);
        assert_memory_equal(&fast.values[i].value, &general.values[i].value, sizeof(double));
    }
}

static void expect_declined(const char *body)
{
    struct submission out;
    if (submission_parse_fast(catalog, body, strlen(body), &out) == 0)
        fail_msg("the fast path accepted %s", body);
}

static void fast_path_agrees_or_declines(void **state)
{
    (void)state;
    expect_fast("{\"school\":\"xq-001\",\"period\":\"2024\","
                "\"values\":{\"students\":812,\"area\":4100.5,\"has_mh\":true}}");
    expect_fast(" {\r\n  \"values\" : { \"area\" : -0 , \"students\" : 1e3 },\n"
                "  \"period\" : \"2023\", \"school\" : \"a_b\"\t}\n ");
    expect_fast("{\"school\":\"a\",\"period\":\"2024\",\"values\":{\"area\":1.25E-2,"
                "\"has_mh\":false,\"students\":2000.0}}");
    expect_fast("{\"school\":\"a\",\"period\":\"2024\",\"values\":{\"area\":1e-400}}");
    /* Everything unusual, and every error, is the general parser's. */
    const char *declined[] = {
        "\xef\xbb\xbf{\"school\":\"a\",\"period\":\"2024\",\"values\":{\"students\":1}}",
        "{\"school\":\"\\u0061\",\"period\":\"2024\",\"values\":{\"students\":1}}",
        "{\"school\":\"a\",\"period\":\"2024\",\"values\":{\"students\":012}}",
        "{\"school\":\"a\",\"period\":\"2024\",\"values\":{\"students\":1.}}",
        "{\"school\":\"a\",\"period\":\"2024\",\"values\":{\"students\":+1}}",
        "{\"school\":\"a\",\"period\":\"2024\",\"values\":{\"students\":1}}\f",
        "{\"school\":\"a\",\"period\":\"2024\",\"values\":{\"students\":1}} x",
        "{\"school\":\"a\",\"period\":\"2024\",\"values\":{\"students\":1,\"students\":1}}",
        "{\"school\":\"a\",\"school\":\"a\",\"period\":\"2024\",\"values\":{\"students\":1}}",
        "{\"school\":\"a\",\"period\":\"2024\",\"values\":{\"ghost\":1}}",
        "{\"school\":\"a\",\"period\":\"2024\",\"values\":{\"students\":-1}}",
        "{\"school\":\"a\",\"period\":\"2024\",\"values\":{\"students\":1.5}}",
        "{\"school\":\"a\",\"period\":\"2024\",\"values\":{\"area\":1e309}}",
        "{\"school\":\"a\",\"period\":\"2024\",\"values\":{\"has_mh\":1}}",
        "{\"school\":\"a\",\"period\":\"2024\",\"values\":{\"students\":true}}",
        "{\"school\":\"a\",\"period\":\"2024\",\"values\":{}}",
        "{\"school\":\"a\",\"period\":\"2024\",\"values\":{\"students\":null}}",
        "{\"school\":\"a\",\"period\":\"2024\"}",
        "{\"school\":\"a b\",\"period\":\"2024\",\"values\":{\"students\":1}}",
        "{\"school\":\"a\",\"period\":\"24\",\"values\":{\"students\":1}}",
        "{\"school\":\"a\",\"period\":\"2024\",\"values\":{\"students\":1},\"x\":1}",
        "{\"school\":\"a\",\"period\":\"2024\",\"values\":{\"students\":1}",
        "{\"school\":\"a\",\"period\":\"2024\",\"values\":{\"students\":1,}}",
    };
    for (size_t i = 0; i < sizeof(declined) / sizeof(*declined); i++)
        expect_declined(declined[i]);
    /* A NUL inside the text (not seen by strlen-based callers). */
    const char nul[] = "{\"school\":\"a\0\",\"period\":\"2024\",\"values\":{\"students\":1}}";
    struct submission out;
    assert_int_equal(submission_parse_fast(catalog, nul, sizeof(nul) - 1, &out), 1);
}

/* Plain decimals take the fast path's own conversion (whole / 10^k); it must give strtod's
 * double, bit for bit, for every digit count and every position of the point, including the
 * 15-digit and 16-digit edges and halfway cases such as 0.3 (not exact in binary). */
static void fast_decimals_equal_strtod(void **state)
{
    (void)state;
    unsigned long long seed = 88172645463325252ull;
    for (int n = 0; n < 20000; n++) {
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17; /* xorshift64 */
        int whole_digits = (int)(seed % 7);                        /* 0..6: "area" is at most 1e6 */
        int fraction_digits = (int)(seed >> 4) % 17; /* 0..16: past the 15-digit edge too */
        unsigned long long bits = seed >> 12;
        char number[40];
        size_t at = 0;
        if (whole_digits == 0)
            number[at++] = '0';
        for (int d = 0; d < whole_digits; d++, bits /= 10)
            number[at++] = (char)('0' + (d == 0 ? 1 + bits % 9 : bits % 10));
        if (fraction_digits > 0)
            number[at++] = '.';
        bits = seed * 2654435761ull;
        for (int d = 0; d < fraction_digits; d++, bits /= 10)
            number[at++] = (char)('0' + bits % 10);
        number[at] = '\0';
        char body[128];
        snprintf(body, sizeof(body),
                 "{\"school\":\"a\",\"period\":\"2024\",\"values\":{\"area\":%s}}", number);
        expect_fast(body);
    }
    const char *edges[] = {"0.3",
                           "0.1",
                           "999999.999999999",
                           "999999.9999999999",
                           "0.9007199254740993",
                           "0.000000000000001",
                           "-0.0",
                           "1000000"};
    for (size_t i = 0; i < sizeof(edges) / sizeof(*edges); i++) {
        char body[128];
        snprintf(body, sizeof(body),
                 "{\"school\":\"a\",\"period\":\"2024\",\"values\":{\"area\":%s}}", edges[i]);
        expect_fast(body);
    }
}

static void measures_nesting(void **state)
{
    (void)state;
    assert_int_equal(json_nesting_depth("{\"a\":[1,{\"b\":2}]}", 17), 3);
    assert_int_equal(json_nesting_depth("{\"[[[[\":1}", 11), 1);
    assert_int_equal(json_nesting_depth("\"\\\"[\"", 5), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(accepts_a_valid_submission),
                                       cmocka_unit_test(refuses_malformed_and_misshapen),
                                       cmocka_unit_test(refuses_bad_values),
                                       cmocka_unit_test(authorizes_by_stage),
                                       cmocka_unit_test(fast_path_agrees_or_declines),
                                       cmocka_unit_test(fast_decimals_equal_strtod),
                                       cmocka_unit_test(measures_nesting)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
