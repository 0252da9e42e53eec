/* Unit tests for catalog.c: the seed catalog loads; each kind of mistake is refused with a
 * message naming the file and field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "catalog.h"
#include "catalog_fixture.h"

static void seed_catalog_loads(void **state)
{
    (void)state;
    char error[512];
    struct catalog *catalog =
        catalog_load(EDUMON_SOURCE_DIR "/deploy/catalog", error, sizeof(error));
    if (!catalog)
        fail_msg("%s", error);
    assert_int_equal(catalog->district_count, 5);
    const char *ids[] = {"xining-chengzhong", "changzhou-zhonglou", "tonghua-erdaojiang",
                         "yinchuan-xingqing", "kunming-anning"};
    for (size_t i = 0; i < 5; i++)
        assert_true(catalog_find_district(catalog, ids[i]) >= 0);
    assert_true(catalog_find_indicator(catalog, "bal_primary_area_cv") >= 0);
    assert_int_equal(strlen(catalog->hash), 64);
    assert_non_null(catalog->balance);
    catalog_free(catalog);
}

static void fixture_loads_and_answers(void **state)
{
    (void)state;
    char directory[64], error[512];
    fixture_create(directory);
    struct catalog *catalog = catalog_load(directory, error, sizeof(error));
    if (!catalog)
        fail_msg("%s", error);
    assert_int_equal(catalog->element_count, 6);
    int students = catalog_find_element(catalog, "students");
    assert_true(students >= 0);
    assert_string_equal(catalog->elements[students].id, "students");
    assert_int_equal(catalog_find_element(catalog, "nope"), -1);
    int mh = catalog_find_indicator(catalog, "mh");
    assert_int_equal(catalog->indicators[mh].kind, KIND_COVERAGE);
    assert_int_equal(catalog->indicators[mh].ownership_filter, 1u << OWNERSHIP_PUBLIC);
    assert_true(catalog->elements[catalog_find_element(catalog, "population")].office);
    const struct district *district = &catalog->districts[0];
    assert_int_equal(district->target_count, 5);
    assert_int_equal(district->targets[1].milestone_count, 1);
    assert_true(district->targets[0].has_baseline);
    assert_true(district->targets[4].cumulative);
    assert_non_null(strstr(catalog->districts_body, "测试县"));
    char first_hash[65];
    strcpy(first_hash, catalog->hash);
    catalog_free(catalog);
    /* Any change of content changes the hash. */
    fixture_write(directory, "districts/test-county.json",
                  "{\"id\":\"test-county\",\"name\":\"测试县 \",\"plan\":{\"years\":[2021,2025]}}");
    catalog = catalog_load(directory, error, sizeof(error));
    assert_non_null(catalog);
    assert_string_not_equal(catalog->hash, first_hash);
    catalog_free(catalog);
    fixture_remove(directory);
}

/* Replaces one file of the fixture and expects a refusal mentioning `expected`. */
static void expect_refusal(const char *file, const char *text, const char *expected)
{
    char directory[64], error[512];
    fixture_create(directory);
    fixture_write(directory, file, text);
    struct catalog *catalog = catalog_load(directory, error, sizeof(error));
    if (catalog)
        fail_msg("accepted a bad %s", file);
    if (!strstr(error, expected))
        fail_msg("error \"%s\" does not mention \"%s\"", error, expected);
    fixture_remove(directory);
}

static void refuses_bad_catalogs(void **state)
{
    (void)state;
    expect_refusal("elements.json", "{\"elements\":[", "syntax error");
    expect_refusal("elements.json",
                   "{\"elements\":[{\"id\":\"a\",\"name\":\"A\",\"type\":\"integer\",\"min\":0,"
                   "\"max\":1,\"stages\":[\"primary\"]},{\"id\":\"a\",\"name\":\"A\",\"type\":"
                   "\"integer\",\"min\":0,\"max\":1,\"stages\":[\"primary\"]}]}",
                   "duplicate element id \"a\"");
    expect_refusal("indicators.json",
                   "{\"indicators\":[{\"id\":\"x\",\"kind\":\"sum\",\"name\":\"X\","
                   "\"element\":\"students\"},{\"id\":\"x\",\"kind\":\"sum\",\"name\":\"X\","
                   "\"element\":\"students\"}]}",
                   "duplicate indicator id \"x\"");
    expect_refusal("elements.json",
                   "{\"elements\":[{\"id\":\"a\",\"name\":\"A\",\"type\":\"text\","
                   "\"stages\":[\"primary\"]}]}",
                   "elements[0].type");
    expect_refusal("elements.json",
                   "{\"elements\":[{\"id\":\"a\",\"name\":\"A\",\"type\":\"integer\",\"min\":5,"
                   "\"max\":1,\"stages\":[\"primary\"]}]}",
                   "min is greater than max");
    expect_refusal("elements.json",
                   "{\"elements\":[{\"id\":\"a\",\"name\":\"A\",\"type\":\"integer\",\"min\":0,"
                   "\"max\":1,\"stages\":[\"college\"]}]}",
                   "elements[0].stages[0]: unknown stage");
    expect_refusal("indicators.json",
                   "{\"indicators\":[{\"id\":\"x\",\"kind\":\"sum\",\"name\":\"X\","
                   "\"element\":\"ghost\"}]}",
                   "indicators[0].element: unknown element \"ghost\"");
    expect_refusal("indicators.json",
                   "{\"indicators\":[{\"id\":\"x\",\"kind\":\"median\",\"name\":\"X\"}]}",
                   "indicators[0].kind");
    expect_refusal("indicators.json",
                   "{\"indicators\":[{\"id\":\"x\",\"kind\":\"coverage\",\"name\":\"X\","
                   "\"element\":\"has_mh\",\"condition\":{\"op\":\"~\",\"value\":1}}]}",
                   "condition.op");
    expect_refusal("districts/test-county.json",
                   "{\"id\":\"test-county\",\"name\":\"T\",\"plan\":{\"years\":[2021,2025]},"
                   "\"targets\":[{\"indicator\":\"pupils\",\"op\":\"=>\",\"value\":1,"
                   "\"year\":2025}]}",
                   "targets[0].op");
    expect_refusal("districts/test-county.json",
                   "{\"id\":\"test-county\",\"name\":\"T\",\"plan\":{\"years\":[2021,2025]},"
                   "\"targets\":[{\"indicator\":\"ghost\",\"op\":\">=\",\"value\":1,"
                   "\"year\":2025}]}",
                   "unknown indicator \"ghost\"");
    expect_refusal("districts/test-county.json",
                   "{\"id\":\"other\",\"name\":\"T\",\"plan\":{\"years\":[2021,2025]}}",
                   "does not match the file name");
    expect_refusal("districts/test-county.json",
                   "{\"id\":\"test-county\",\"name\":\"T\",\"plan\":{\"years\":[2021,2025]},"
                   "\"targets\":[{\"indicator\":\"pupils\",\"op\":\"between\",\"min\":5,"
                   "\"max\":1,\"year\":2025}]}",
                   "min is greater than max");
    expect_refusal("districts/test-county.json",
                   "{\"id\":\"test-county\",\"name\":\"T\",\"plan\":{\"years\":[2021,2025]},"
                   "\"targets\":[{\"indicator\":\"pupils\",\"op\":\">=\",\"value\":1,"
                   "\"year\":2025,\"milestones\":[{\"year\":2024,\"value\":1},"
                   "{\"year\":2023,\"value\":1}]}]}",
                   "ascending");
}

/* The worker's compact catalog: no district files nor districts body, everything else as
 * catalog_load has it. */
static void loads_compact(void **state)
{
    (void)state;
    char error[512];
    struct catalog *full = catalog_load(EDUMON_SOURCE_DIR "/deploy/catalog", error, sizeof(error));
    struct catalog *compact =
        catalog_load_compact(EDUMON_SOURCE_DIR "/deploy/catalog", error, sizeof(error));
    if (!full || !compact)
        fail_msg("%s", error);
    assert_int_equal(compact->district_count, full->district_count);
    assert_string_equal(compact->hash, full->hash);
    assert_null(compact->districts_body);
    assert_string_equal(compact->elements_body, full->elements_body);
    assert_string_equal(compact->indicators_body, full->indicators_body);
    for (size_t i = 0; i < full->district_count; i++) {
        const struct district *left = &full->districts[i], *right = &compact->districts[i];
        assert_non_null(left->definition);
        assert_null(right->definition);
        assert_string_equal(left->id, right->id);
        assert_string_equal(left->name, right->name);
        assert_true((left->name_en == NULL) == (right->name_en == NULL));
        if (left->name_en)
            assert_string_equal(left->name_en, right->name_en);
        assert_int_equal(left->target_count, right->target_count);
        assert_int_equal(left->plan_first_year, right->plan_first_year);
        assert_int_equal(catalog_find_district(compact, left->id), (int)i);
    }
    catalog_free(full);
    catalog_free(compact);
}

/* The API's packed catalog: each district file served byte for byte as catalog_load's tree
 * prints it; the compact (worker's) catalog has none to serve. */
static void loads_packed(void **state)
{
    (void)state;
    char error[512];
    struct catalog *full = catalog_load(EDUMON_SOURCE_DIR "/deploy/catalog", error, sizeof(error));
    struct catalog *packed =
        catalog_load_packed(EDUMON_SOURCE_DIR "/deploy/catalog", error, sizeof(error));
    struct catalog *compact =
        catalog_load_compact(EDUMON_SOURCE_DIR "/deploy/catalog", error, sizeof(error));
    if (!full || !packed || !compact)
        fail_msg("%s", error);
    assert_string_equal(packed->hash, full->hash);
    assert_int_equal(packed->district_count, full->district_count);
    for (size_t i = 0; i < full->district_count; i++) {
        assert_null(packed->districts[i].definition);
        char *expected = cJSON_PrintUnformatted(full->districts[i].definition);
        char *from_tree = catalog_district_json(full, (int)i);
        char *from_packed = catalog_district_json(packed, (int)i);
        assert_non_null(expected);
        assert_non_null(from_packed);
        assert_string_equal(from_tree, expected);
        assert_string_equal(from_packed, expected);
        assert_null(catalog_district_json(compact, (int)i));
        cJSON_free(expected);
        cJSON_free(from_tree);
        cJSON_free(from_packed);
    }
    /* The districts body is the summary fields of each file, in order, as one document. */
    cJSON *expected_body = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(expected_body, "districts");
    static const char *const fields[] = {"id",       "name",        "name_en",
                                         "province", "province_en", "plan"};
    for (size_t i = 0; i < full->district_count; i++) {
        cJSON *summary = cJSON_CreateObject();
        for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
            const cJSON *field =
                cJSON_GetObjectItemCaseSensitive(full->districts[i].definition, fields[f]);
            if (field)
                cJSON_AddItemToObject(summary, fields[f], cJSON_Duplicate(field, true));
        }
        cJSON_AddItemToArray(list, summary);
    }
    char *expected_text = cJSON_PrintUnformatted(expected_body);
    assert_string_equal(full->districts_body, expected_text);
    assert_string_equal(packed->districts_body, expected_text);
    cJSON_free(expected_text);
    cJSON_Delete(expected_body);
    assert_null(catalog_district_json(packed, -1));
    assert_null(catalog_district_json(packed, (int)packed->district_count));
    catalog_free(full);
    catalog_free(packed);
    catalog_free(compact);
}

static void assert_same_targets(const struct target *expected, const struct target *actual,
                                size_t count)
{
    for (size_t t = 0; t < count; t++) {
        const struct target *left = &expected[t], *right = &actual[t];
        assert_int_equal(left->indicator, right->indicator);
        assert_int_equal(left->op, right->op);
        assert_true(left->value == right->value && left->max == right->max);
        assert_int_equal(left->year, right->year);
        assert_int_equal(left->has_baseline, right->has_baseline);
        assert_true(left->baseline_value == right->baseline_value);
        assert_int_equal(left->baseline_year, right->baseline_year);
        assert_int_equal(left->cumulative, right->cumulative);
        assert_int_equal(left->milestone_count, right->milestone_count);
        assert_true((left->milestones == NULL) == (left->milestone_count == 0));
        for (size_t m = 0; m < left->milestone_count; m++) {
            assert_int_equal(left->milestones[m].year, right->milestones[m].year);
            assert_true(left->milestones[m].value == right->milestones[m].value);
        }
    }
}

/* The packed (API) catalog keeps no targets; catalog_district_targets gives them back exactly
 * as the full catalog holds them, from every kind of catalog, as a block freed on its own.
 * Every catalog ranks an indicator by its first district's target. */
static void reads_targets_back(void **state)
{
    (void)state;
    char error[512];
    const char *directory = EDUMON_SOURCE_DIR "/deploy/catalog";
    struct catalog *full = catalog_load(directory, error, sizeof(error));
    struct catalog *packed = catalog_load_packed(directory, error, sizeof(error));
    struct catalog *compact = catalog_load_compact(directory, error, sizeof(error));
    if (!full || !packed || !compact)
        fail_msg("%s", error);
    size_t milestones = 0;
    for (size_t i = 0; i < full->district_count; i++) {
        const struct district *expected = &full->districts[i];
        assert_true(expected->target_count > 0);
        assert_int_equal(packed->districts[i].target_count, 0);
        assert_null(packed->districts[i].targets);
        assert_int_equal(compact->districts[i].target_count, expected->target_count);
        const struct catalog *sources[] = {full, packed, compact};
        for (size_t s = 0; s < 3; s++) {
            struct target *targets;
            size_t count;
            assert_int_equal(catalog_district_targets(sources[s], (int)i, &targets, &count), 0);
            assert_int_equal(count, expected->target_count);
            assert_ptr_not_equal(targets, expected->targets);
            assert_same_targets(expected->targets, targets, count);
            free(targets);
        }
        for (size_t t = 0; t < expected->target_count; t++)
            milestones += expected->targets[t].milestone_count;
    }
    assert_true(milestones > 0); /* the seeds have some: the copies' milestones were checked */
    struct target *none;
    size_t count;
    assert_int_equal(catalog_district_targets(packed, -1, &none, &count), -1);
    assert_int_equal(catalog_district_targets(packed, (int)packed->district_count, &none, &count),
                     -1);
    assert_null(none);
    /* Ranking direction: "<=" and "delta<=" rank ascending, others descending, none: 0. */
    int myopia = catalog_find_indicator(full, "myopia_rate");
    int class_share = catalog_find_indicator(full, "class_over_standard_share");
    assert_true(myopia >= 0 && class_share >= 0);
    assert_int_equal(full->indicators[myopia].target_direction, -1);
    assert_int_equal(full->indicators[class_share].target_direction, -1);
    for (size_t k = 0; k < full->indicator_count; k++) {
        int direction = 0;
        for (size_t d = 0; d < full->district_count && direction == 0; d++)
            for (size_t t = 0; t < full->districts[d].target_count && direction == 0; t++) {
                const struct target *target = &full->districts[d].targets[t];
                if (target->indicator == (int)k)
                    direction = target->op == TARGET_LE || target->op == TARGET_DELTA_LE ? -1 : 1;
            }
        assert_int_equal(full->indicators[k].target_direction, direction);
        assert_int_equal(packed->indicators[k].target_direction, direction);
        assert_int_equal(compact->indicators[k].target_direction, direction);
    }
    catalog_free(full);
    catalog_free(packed);
    catalog_free(compact);
}

static void refuses_missing_directory(void **state)
{
    (void)state;
    char error[512];
    assert_null(catalog_load("/nonexistent/catalog", error, sizeof(error)));
    assert_non_null(strstr(error, "elements.json"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(seed_catalog_loads),
                                       cmocka_unit_test(fixture_loads_and_answers),
                                       cmocka_unit_test(refuses_bad_catalogs),
                                       cmocka_unit_test(loads_compact),
                                       cmocka_unit_test(loads_packed),
                                       cmocka_unit_test(reads_targets_back),
                                       cmocka_unit_test(refuses_missing_directory)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
