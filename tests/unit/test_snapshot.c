/* Unit tests for snapshot.c: the document shape and the use of earlier periods. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "catalog_fixture.h"
#include "snapshot.h"

static void builds_the_contract_shape(void **state)
{
    (void)state;
    char directory[64], error[512];
    fixture_create(directory);
    struct catalog *catalog = catalog_load(directory, error, sizeof(error));
    assert_non_null(catalog);
    struct school schools[] = {{"office", "test-county", "局", STAGE_OFFICE, OWNERSHIP_PUBLIC, ""},
                               {"p1", "test-county", "p1", STAGE_PRIMARY, OWNERSHIP_PUBLIC, ""}};
    struct figures figures;
    assert_int_equal(figures_init(&figures, schools, 2, catalog->element_count), 0);
    *figures_at(&figures, 1, (size_t)catalog_find_element(catalog, "students")) = 600;
    *figures_at(&figures, 0, (size_t)catalog_find_element(catalog, "rank")) = 5;
    /* 2023 gave 500 pupils: the cumulative target compares 500 + 600. */
    double earlier[16];
    for (size_t i = 0; i < catalog->indicator_count; i++)
        earlier[i] = NAN;
    earlier[catalog_find_indicator(catalog, "pupils")] = 500;
    struct period_values history[] = {{2023, earlier}};
    struct snapshot_input input = {catalog, &catalog->districts[0], 2024, &figures, history, 1};
    double values[16];
    cJSON *built = snapshot_build(&input, values);
    assert_non_null(built);
    /* Read it back as a client does: numbers are printed exactly (raw items in memory). */
    char *text = cJSON_PrintUnformatted(built);
    cJSON_Delete(built);
    cJSON *document = cJSON_Parse(text);
    cJSON_free(text);
    assert_non_null(document);
    assert_string_equal(cJSON_GetObjectItem(document, "period")->valuestring, "2024");
    assert_string_equal(cJSON_GetObjectItem(document, "catalog")->valuestring, catalog->hash);
    const cJSON *completeness = cJSON_GetObjectItem(document, "completeness");
    assert_int_equal(cJSON_GetObjectItem(completeness, "expected")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItem(completeness, "reported")->valueint, 2);
    const cJSON *indicators = cJSON_GetObjectItem(document, "indicators");
    assert_int_equal(cJSON_GetArraySize(indicators), 5);
    const cJSON *item;
    int seen = 0;
    cJSON_ArrayForEach(item, indicators)
    {
        const char *id = cJSON_GetObjectItem(item, "id")->valuestring;
        const char *status = cJSON_GetObjectItem(item, "status")->valuestring;
        if (strcmp(id, "enrolment") == 0) {
            assert_true(cJSON_IsNull(cJSON_GetObjectItem(item, "value")));
            assert_string_equal(status, "no_data");
            seen++;
        } else if (strcmp(id, "city_rank") == 0) {
            assert_int_equal(cJSON_GetObjectItem(item, "value")->valueint, 5);
            assert_string_equal(status, "behind");
            seen++;
        } else if (strcmp(id, "pupils") == 0) {
            assert_int_equal(cJSON_GetObjectItem(item, "compared")->valueint, 1100);
            assert_string_equal(status, "met");
            seen++;
        }
    }
    assert_int_equal(seen, 3);
    assert_true(values[catalog_find_indicator(catalog, "pupils")] == 600);
    cJSON_Delete(document);
    figures_free(&figures);
    catalog_free(catalog);
    fixture_remove(directory);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(builds_the_contract_shape)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
