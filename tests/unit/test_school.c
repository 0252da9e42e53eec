/* Unit tests for school.c: identifiers, UTF-8 names, stored records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "school.h"

static void ids(void **state)
{
    (void)state;
    assert_true(id_is_valid("xq-001"));
    assert_true(id_is_valid("A_b-9"));
    assert_false(id_is_valid(""));
    assert_false(id_is_valid("a b"));
    assert_false(id_is_valid("a/b"));
    assert_false(id_is_valid("学校"));
    char long_id[80];
    memset(long_id, 'a', 64);
    long_id[64] = '\0';
    assert_true(id_is_valid(long_id));
    long_id[64] = 'a', long_id[65] = '\0';
    assert_false(id_is_valid(long_id));
}

static void utf8(void **state)
{
    (void)state;
    assert_true(text_is_clean_utf8("兴庆区第一小学"));
    assert_true(text_is_clean_utf8("plain"));
    assert_false(text_is_clean_utf8("\xC0\xAF"));         /* overlong '/' */
    assert_false(text_is_clean_utf8("\xED\xA0\x80"));     /* surrogate */
    assert_false(text_is_clean_utf8("\xF4\x90\x80\x80")); /* above U+10FFFF */
    assert_false(text_is_clean_utf8("\xE5\x85"));         /* truncated */
    assert_false(text_is_clean_utf8("tab\there"));        /* control character */
}

static void stages_and_ownership(void **state)
{
    (void)state;
    assert_int_equal(stage_parse("primary"), STAGE_PRIMARY);
    assert_int_equal(stage_parse("office"), STAGE_OFFICE);
    assert_int_equal(stage_parse("college"), -1);
    assert_string_equal(stage_name(STAGE_JUNIOR), "junior");
    assert_int_equal(ownership_parse("private"), OWNERSHIP_PRIVATE);
    assert_int_equal(ownership_parse("state"), -1);
}

static void record_round_trip(void **state)
{
    (void)state;
    struct school school = {"xq-001",      "yinchuan-xingqing", "兴庆区第一小学",
                            STAGE_PRIMARY, OWNERSHIP_PUBLIC,    "abc123"};
    char *with = school_to_json(&school, true);
    char *without = school_to_json(&school, false);
    assert_non_null(strstr(with, "token_sha256"));
    assert_null(strstr(without, "token_sha256"));
    struct school parsed;
    assert_int_equal(school_from_json(with, strlen(with), &parsed), 0);
    assert_string_equal(parsed.id, "xq-001");
    assert_string_equal(parsed.name, "兴庆区第一小学");
    assert_int_equal(parsed.stage, STAGE_PRIMARY);
    assert_string_equal(parsed.token_hash, "abc123");
    assert_int_equal(school_from_json("{\"id\":1}", 8, &parsed), -1);
    assert_int_equal(school_from_json("nonsense", 8, &parsed), -1);
    free(with);
    free(without);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(ids), cmocka_unit_test(utf8),
                                       cmocka_unit_test(stages_and_ownership),
                                       cmocka_unit_test(record_round_trip)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
