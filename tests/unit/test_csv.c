/* Unit tests for csv.c (reading and writing) and import.c (a CSV file of figures checked line
 * by line with the rules of a JSON submission). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "catalog_fixture.h"
#include "csv.h"
#include "import.h"

static struct csv_document parse_ok(const char *text)
{
    struct csv_document document;
    struct csv_error error;
    if (csv_parse(text, strlen(text), 100, &document, &error) != 0)
        fail_msg("line %zu: %s", error.line, error.message);
    return document;
}

static void reads_what_spreadsheets_write(void **state)
{
    (void)state;
    /* BOM, CRLF, a quoted field with a comma, a doubled quote and a line break, a blank line,
     * an empty last field, no final line end. */
    struct csv_document document = parse_ok("\xEF\xBB\xBF"
                                            "a,b,c\r\n"
                                            "\"x,1\",\"say \"\"hi\"\"\",\"two\r\nlines\"\r\n"
                                            "\r\n"
                                            "1,,\n"
                                            "last,row,here");
    assert_true(document.had_bom);
    assert_int_equal(document.record_count, 4);
    assert_string_equal(document.records[0].fields[0], "a");
    assert_int_equal(document.records[0].line, 1);
    assert_string_equal(document.records[1].fields[0], "x,1");
    assert_string_equal(document.records[1].fields[1], "say \"hi\"");
    assert_string_equal(document.records[1].fields[2], "two\r\nlines");
    assert_int_equal(document.records[1].line, 2);
    /* The quoted line break moved the physical line on: the blank line is 4, "1,," is 5. */
    assert_int_equal(document.records[2].line, 5);
    assert_int_equal(document.records[2].field_count, 3);
    assert_string_equal(document.records[2].fields[1], "");
    assert_string_equal(document.records[2].fields[2], "");
    assert_int_equal(document.records[3].line, 6);
    assert_string_equal(document.records[3].fields[2], "here");
    csv_document_free(&document);

    document = parse_ok("");
    assert_int_equal(document.record_count, 0);
    csv_document_free(&document);
    document = parse_ok("only\r");
    assert_int_equal(document.record_count, 1);
    assert_string_equal(document.records[0].fields[0], "only");
    csv_document_free(&document);
}

static void expect_csv_error(const char *text, size_t length, size_t line, const char *fragment)
{
    struct csv_document document;
    struct csv_error error;
    assert_int_equal(csv_parse(text, length, 100, &document, &error), -1);
    assert_int_equal(error.line, line);
    if (!strstr(error.message, fragment))
        fail_msg("\"%s\" does not mention \"%s\"", error.message, fragment);
}

static void refuses_what_spreadsheets_never_write(void **state)
{
    (void)state;
    expect_csv_error("a,b\n\"open,c\n", 12, 2, "never closed");
    expect_csv_error("a,b\nx\"y,c\n", 10, 2, "quote inside");
    expect_csv_error("a,b\n\"x\"y,c\n", 11, 2, "after a closing quote");
    expect_csv_error("a,b\nx\0y\n", 8, 2, "NUL");
    struct csv_document document;
    struct csv_error error;
    assert_int_equal(csv_parse("1\n2\n3\n", 6, 2, &document, &error), -1);
    assert_int_equal(error.line, 3);
}

static void writes_quoted_and_defused_fields(void **state)
{
    (void)state;
    struct csv_writer writer;
    csv_writer_init(&writer, true);
    csv_write_text(&writer, "plain");
    csv_write_text(&writer, "a,b");
    csv_write_text(&writer, "say \"hi\"");
    csv_write_text(&writer, "=SUM(A1)");
    csv_end_row(&writer);
    csv_write_number(&writer, 0.1);
    csv_write_number(&writer, -0.5);
    csv_write_number(&writer, NAN);
    csv_write_number(&writer, 1.0 / 3.0);
    csv_end_row(&writer);
    size_t length = 0;
    char *text = csv_writer_finish(&writer, &length);
    assert_non_null(text);
    assert_string_equal(text, "\xEF\xBB\xBF"
                              "plain,\"a,b\",\"say \"\"hi\"\"\",\"'=SUM(A1)\"\r\n"
                              "0.1,-0.5,,0.33333333333333331\r\n");
    assert_int_equal(length, strlen(text));
    /* What is written reads back. */
    struct csv_document document = parse_ok(text);
    assert_string_equal(document.records[0].fields[2], "say \"hi\"");
    assert_true(strtod(document.records[1].fields[3], NULL) == 1.0 / 3.0);
    csv_document_free(&document);
    free(text);

    csv_writer_init(&writer, false);
    text = csv_writer_finish(&writer, &length);
    assert_non_null(text);
    assert_int_equal(length, 0);
    free(text);
}

/* ---- import ---- */

struct import_fixture {
    char directory[64];
    struct catalog *catalog;
};

static int import_setup(void **state)
{
    struct import_fixture *fixture = calloc(1, sizeof(*fixture));
    if (!fixture)
        return -1;
    char error[512];
    fixture_create(fixture->directory);
    fixture->catalog = catalog_load(fixture->directory, error, sizeof(error));
    if (!fixture->catalog) {
        fixture_remove(fixture->directory);
        free(fixture);
        return -1;
    }
    *state = fixture;
    return 0;
}

static int import_teardown(void **state)
{
    struct import_fixture *fixture = *state;
    catalog_free(fixture->catalog);
    fixture_remove(fixture->directory);
    free(fixture);
    return 0;
}

static void groups_lines_by_school_and_period(void **state)
{
    struct import_fixture *fixture = *state;
    static const char text[] = "\xEF\xBB\xBF"
                               "School,period,element,value\r\n"
                               "p1,2024,students,800\r\n"
                               "p1,2024,area, 4000.5 \r\n"
                               "p2,2024,has_mh,TRUE\r\n"
                               ",,,\r\n"
                               "p1,2023,students,\"790\"\r\n";
    struct import_batch batch;
    struct api_error error;
    assert_int_equal(import_parse(fixture->catalog, text, sizeof(text) - 1, &batch, &error), 0);
    assert_int_equal(batch.line_count, 4);
    assert_int_equal(batch.conflict_total, 0);
    assert_int_equal(batch.group_count, 3);
    assert_string_equal(batch.groups[0].school, "p1");
    assert_int_equal(batch.groups[0].period, 2024);
    assert_int_equal(batch.groups[0].value_count, 2);
    assert_float_equal(batch.groups[0].values[1].value, 4000.5, 0);
    assert_int_equal(batch.groups[0].values[1].line, 3);
    assert_float_equal(batch.groups[1].values[0].value, 1, 0);
    assert_int_equal(batch.groups[2].period, 2023);
    assert_int_equal(batch.groups[2].values[0].line, 6);
    struct submission submission;
    assert_int_equal(import_group_submission(&batch.groups[0], &submission), 2);
    assert_string_equal(submission.school, "p1");
    import_batch_free(&batch);
}

static const struct import_conflict *conflict_on(const struct import_batch *batch, size_t line)
{
    for (size_t i = 0; i < batch->conflict_count; i++)
        if (batch->conflicts[i].line == line)
            return &batch->conflicts[i];
    fail_msg("no conflict on line %zu", line);
    return NULL;
}

static void names_every_bad_line(void **state)
{
    struct import_fixture *fixture = *state;
    static const char text[] = "school,period,element,value\n"
                               "p1,2024,students,800\n"  /* 2 ok */
                               "p 1,2024,students,800\n" /* 3 bad id */
                               "p1,24,students,800\n"    /* 4 bad period */
                               "p1,2024,nope,1\n"        /* 5 unknown element */
                               "p1,2024,area,0x10\n"     /* 6 not a plain number */
                               "p1,2024,kids,1.5\n"      /* 7 not whole */
                               "p1,2024,area,-1\n"       /* 8 out of range */
                               "p1,2024,has_mh,yes\n"    /* 9 not a boolean */
                               "p1,2024,students,801\n"  /* 10 duplicate of 2 */
                               "p1,2024,students\n"      /* 11 three fields */
                               "p1,2024,area,\n";        /* 12 empty */
    struct import_batch batch;
    struct api_error error;
    assert_int_equal(import_parse(fixture->catalog, text, sizeof(text) - 1, &batch, &error), 0);
    assert_int_equal(batch.line_count, 11);
    assert_int_equal(batch.conflict_total, 10);
    assert_string_equal(conflict_on(&batch, 3)->code, "invalid_id");
    assert_string_equal(conflict_on(&batch, 3)->field, "school");
    assert_string_equal(conflict_on(&batch, 3)->value, "p 1");
    assert_string_equal(conflict_on(&batch, 4)->code, "invalid_period");
    assert_string_equal(conflict_on(&batch, 5)->code, "unknown_element");
    assert_string_equal(conflict_on(&batch, 6)->code, "invalid_value");
    assert_string_equal(conflict_on(&batch, 7)->code, "invalid_value");
    assert_string_equal(conflict_on(&batch, 8)->code, "out_of_range");
    assert_string_equal(conflict_on(&batch, 8)->field, "value");
    assert_string_equal(conflict_on(&batch, 9)->code, "invalid_value");
    assert_string_equal(conflict_on(&batch, 10)->code, "duplicate_element");
    assert_non_null(strstr(conflict_on(&batch, 10)->message, "line 2"));
    assert_string_equal(conflict_on(&batch, 11)->code, "wrong_field_count");
    assert_string_equal(conflict_on(&batch, 12)->code, "missing_value");
    assert_int_equal(batch.group_count, 1);
    assert_int_equal(batch.groups[0].accepted, 1);

    /* The API rejects whole groups (unknown school) and single values (stage). */
    import_reject_group(&batch, 0, "unknown_school", "no such school is registered");
    assert_int_equal(batch.groups[0].accepted, 0);
    assert_string_equal(conflict_on(&batch, 2)->code, "unknown_school");
    size_t count = import_rejected_lines(&batch);
    assert_int_equal(count, 11);
    assert_int_equal(batch.rejected_lines[0], 2);
    assert_int_equal(batch.rejected_lines[10], 12);
    import_batch_free(&batch);
}

static void expect_file_error(const struct catalog *catalog, const char *text, int status,
                              const char *code)
{
    struct import_batch batch;
    struct api_error error;
    assert_int_equal(import_parse(catalog, text, strlen(text), &batch, &error), -1);
    assert_int_equal(error.status, status);
    assert_string_equal(error.code, code);
}

static void refuses_files_that_are_not_figures(void **state)
{
    struct import_fixture *fixture = *state;
    expect_file_error(fixture->catalog, "", 422, "no_values");
    expect_file_error(fixture->catalog, "school,period,element,value\r\n", 422, "no_values");
    expect_file_error(fixture->catalog, "school,period,value\np1,2024,1\n", 422, "invalid_header");
    expect_file_error(fixture->catalog, "school,school,element,value\n", 422, "invalid_header");
    expect_file_error(fixture->catalog, "school,period,element,value\n\"p1,2024\n", 400,
                      "malformed_csv");
    /* Columns in another order are fine. */
    static const char text[] = "value,element,school,period\n7,students,p1,2024\n";
    struct import_batch batch;
    struct api_error error;
    assert_int_equal(import_parse(fixture->catalog, text, strlen(text), &batch, &error), 0);
    assert_float_equal(batch.groups[0].values[0].value, 7, 0);
    import_batch_free(&batch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_what_spreadsheets_write),
        cmocka_unit_test(refuses_what_spreadsheets_never_write),
        cmocka_unit_test(writes_quoted_and_defused_fields),
        cmocka_unit_test_setup_teardown(groups_lines_by_school_and_period, import_setup,
                                        import_teardown),
        cmocka_unit_test_setup_teardown(names_every_bad_line, import_setup, import_teardown),
        cmocka_unit_test_setup_teardown(refuses_files_that_are_not_figures, import_setup,
                                        import_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
