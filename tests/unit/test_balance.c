/* Unit tests for balance.c: parsing balance.json and the evaluation against hand-computed
 * figures.
 *
 * The fixture has 3 resources (so the arithmetic stays small) and a pass rule of 2 of 3 with
 * the rest at 85 %. Primary schools (pupils; area, teachers, rooms → per-pupil values):
 *   p1  600  2400 m², 30, 15   → area 4.0 (< 4.5 but ≥ 85 %), teachers 5.0, rooms 2.5  pass
 *   p2  300   150 m², 15,  9   → area 0.5 (11 % of 4.5: below the floor)             fail
 *   p4  100   600 m²,  5,  3   → area 6.0, teachers 5.0, rooms 3.0                   pass
 *   p3   30   300 m²,  2,  —   → a teaching point under 50 pupils: out of the CVs, and
 *                                with rooms unreported its pass is unknown (null)
 * Area CV over p1, p2, p4: mean = (2400+150+600)/1000 = 3.15; weighted variance
 *   (600·0.85² + 300·2.65² + 100·2.85²)/1000 = (433.5 + 2106.75 + 812.25)/1000 = 3.3525,
 *   cv = √3.3525 / 3.15 = 0.5813 > 0.5: fails; p2 carries 2106.75/3352.5 = 62.8 % of the
 *   variance, p4 24.2 %, p1 12.9 %. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "balance.h"
#include "catalog_fixture.h"

#define BALANCE_ELEMENTS                                                                           \
    "{\"elements\":["                                                                              \
    "{\"id\":\"students\",\"name\":\"学生\",\"type\":\"integer\",\"min\":0,\"max\":10000,"       \
    "\"stages\":[\"primary\",\"junior\",\"kindergarten\"]},"                                       \
    "{\"id\":\"area\",\"name\":\"面积\",\"type\":\"number\",\"min\":0,\"max\":1e6,"              \
    "\"stages\":[\"primary\",\"junior\"]},"                                                        \
    "{\"id\":\"teachers\",\"name\":\"教师\",\"type\":\"integer\",\"min\":0,\"max\":1000,"        \
    "\"stages\":[\"primary\",\"junior\"]},"                                                        \
    "{\"id\":\"rooms\",\"name\":\"教室\",\"type\":\"integer\",\"min\":0,\"max\":1000,"           \
    "\"stages\":[\"primary\",\"junior\"]},"                                                        \
    "{\"id\":\"largest_class\",\"name\":\"最大班额\",\"type\":\"integer\",\"min\":0,"          \
    "\"max\":150,\"stages\":[\"primary\",\"junior\"]},"                                            \
    "{\"id\":\"retained\",\"name\":\"巩固\",\"type\":\"integer\",\"min\":0,\"max\":5000,"        \
    "\"stages\":[\"junior\"]},"                                                                    \
    "{\"id\":\"entry\",\"name\":\"入学\",\"type\":\"integer\",\"min\":0,\"max\":5000,"           \
    "\"stages\":[\"junior\"]},"                                                                    \
    "{\"id\":\"kids\",\"name\":\"在园幼儿\",\"type\":\"integer\",\"min\":0,\"max\":5000,"      \
    "\"stages\":[\"kindergarten\"]},"                                                              \
    "{\"id\":\"has_mh\",\"name\":\"心理教师\",\"type\":\"boolean\","                           \
    "\"stages\":[\"primary\",\"junior\",\"kindergarten\"]},"                                       \
    "{\"id\":\"population\",\"name\":\"人口\",\"type\":\"integer\",\"min\":0,\"max\":1e7,"       \
    "\"stages\":[\"office\"],\"reporter\":\"office\"},"                                            \
    "{\"id\":\"rank\",\"name\":\"排名\",\"type\":\"integer\",\"min\":1,\"max\":100,"             \
    "\"stages\":[\"office\"],\"reporter\":\"office\"}]}"

#define BALANCE_RESOURCES                                                                             \
    "\"resources\":["                                                                                 \
    "{\"id\":\"area\",\"name\":\"生均面积\",\"numerator\":\"area\",\"denominator\":\"students\"," \
    "\"standard\":{\"primary\":4.5,\"junior\":5.8}},"                                                 \
    "{\"id\":\"teachers\",\"name\":\"教师\",\"numerator\":\"teachers\",\"denominator\":"            \
    "\"students\",\"factor\":100,\"standard\":{\"primary\":4.2,\"junior\":5.3}},"                     \
    "{\"id\":\"rooms\",\"name\":\"教室\",\"numerator\":\"rooms\",\"denominator\":\"students\","     \
    "\"factor\":100,\"standard\":{\"primary\":2.3,\"junior\":2.4}}]"

#define BALANCE_JSON                                                                               \
    "{\"stages\":{\"primary\":{\"cv_max\":0.5},\"junior\":{\"cv_max\":0.45}},"                     \
    "\"pass_rule\":{\"min_met\":2,\"rest_min_fraction\":0.85},\"exclude_under_pupils\":50,"        \
    "\"top_contributors\":2," BALANCE_RESOURCES ",\"conditions\":["                                \
    "{\"id\":\"class_size\",\"name\":\"班额\",\"scope\":\"school\",\"element\":"                 \
    "\"largest_class\",\"op\":\"<=\",\"value\":{\"primary\":45,\"junior\":50}},"                   \
    "{\"id\":\"retention\",\"name\":\"巩固率\",\"scope\":\"district\",\"numerator\":"           \
    "\"retained\",\"denominator\":\"entry\",\"factor\":100,\"op\":\">=\",\"value\":95,"            \
    "\"stages\":[\"junior\"]}]}"

struct fixture {
    char directory[64];
    struct catalog *catalog;
};

static struct catalog *load_with_balance(struct fixture *fixture, const char *balance)
{
    fixture_create(fixture->directory);
    fixture_write(fixture->directory, "elements.json", BALANCE_ELEMENTS);
    fixture_write(fixture->directory, "balance.json", balance);
    char error[512];
    fixture->catalog = catalog_load(fixture->directory, error, sizeof(error));
    if (!fixture->catalog)
        print_error("%s\n", error);
    return fixture->catalog;
}

static void set(const struct catalog *catalog, struct figures *figures, size_t school,
                const char *element, double value)
{
    int index = catalog_find_element(catalog, element);
    assert_true(index >= 0);
    *figures_at(figures, school, (size_t)index) = value;
}

static const cJSON *find_by_id(const cJSON *list, const char *id)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        const cJSON *item_id = cJSON_GetObjectItem(item, "id");
        if (cJSON_IsString(item_id) && strcmp(item_id->valuestring, id) == 0)
            return item;
    }
    fail_msg("no item \"%s\"", id);
    return NULL;
}

static double number(const cJSON *object, const char *name)
{
    const cJSON *item = cJSON_GetObjectItem(object, name);
    assert_true(cJSON_IsNumber(item));
    return item->valuedouble;
}

static const struct school primary_schools[] = {
    {"p1", "test-county", "一小", STAGE_PRIMARY, OWNERSHIP_PUBLIC, ""},
    {"p2", "test-county", "二小", STAGE_PRIMARY, OWNERSHIP_PUBLIC, ""},
    {"p4", "test-county", "四小", STAGE_PRIMARY, OWNERSHIP_PUBLIC, ""},
    {"p3", "test-county", "教学点", STAGE_PRIMARY, OWNERSHIP_PUBLIC, ""},
    {"k1", "test-county", "幼儿园", STAGE_KINDERGARTEN, OWNERSHIP_PUBLIC, ""}};

static void fill_primary(const struct catalog *catalog, struct figures *figures)
{
    static const double rows[4][5] = {{600, 2400, 30, 15, 44},
                                      {300, 150, 15, 9, 46},
                                      {100, 600, 5, 3, NAN},
                                      {30, 300, 2, NAN, 30}};
    static const char *const names[5] = {"students", "area", "teachers", "rooms", "largest_class"};
    for (size_t s = 0; s < 4; s++)
        for (size_t e = 0; e < 5; e++)
            set(catalog, figures, s, names[e], rows[s][e]);
    set(catalog, figures, 4, "kids", 120);
}

static cJSON *build(const struct catalog *catalog, const struct figures *figures)
{
    struct balance_input input = {catalog, &catalog->districts[0], 2024, figures};
    cJSON *document = balance_build(&input);
    assert_non_null(document);
    /* Inspected as served: printed, then read back (numbers are printed raw). */
    char *text = cJSON_PrintUnformatted(document);
    cJSON_Delete(document);
    assert_non_null(text);
    document = cJSON_Parse(text);
    cJSON_free(text);
    assert_non_null(document);
    return document;
}

static void evaluates_schools_cvs_and_conditions(void **state)
{
    (void)state;
    struct fixture fixture;
    const struct catalog *catalog = load_with_balance(&fixture, BALANCE_JSON);
    assert_non_null(catalog);
    assert_non_null(catalog->balance_rules);
    struct figures figures;
    assert_int_equal(figures_init(&figures, primary_schools, 5, catalog->element_count), 0);
    fill_primary(catalog, &figures);
    cJSON *document = build(catalog, &figures);

    const cJSON *primary = cJSON_GetObjectItem(cJSON_GetObjectItem(document, "stages"), "primary");
    assert_non_null(primary);
    assert_int_equal((int)number(primary, "schools_registered"), 4);
    assert_int_equal((int)number(primary, "pupils"), 1030);
    const cJSON *excluded = cJSON_GetObjectItem(primary, "excluded_from_cv");
    assert_int_equal(cJSON_GetArraySize(excluded), 1);
    assert_string_equal(cJSON_GetArrayItem(excluded, 0)->valuestring, "p3");

    const cJSON *area = find_by_id(cJSON_GetObjectItem(primary, "resources"), "area");
    assert_int_equal((int)number(area, "schools_in_cv"), 3);
    assert_float_equal(number(area, "mean"), 3.15, 1e-12);
    assert_float_equal(number(area, "sd"), sqrt(3.3525), 1e-12);
    assert_float_equal(number(area, "cv"), sqrt(3.3525) / 3.15, 1e-12);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(area, "pass")));
    assert_int_equal((int)number(area, "schools_meeting"), 2); /* p4, p3 */
    const cJSON *top = cJSON_GetObjectItem(area, "top_contributors");
    assert_int_equal(cJSON_GetArraySize(top), 2); /* top_contributors: 2 */
    const cJSON *first = cJSON_GetArrayItem(top, 0), *second = cJSON_GetArrayItem(top, 1);
    assert_string_equal(cJSON_GetObjectItem(first, "id")->valuestring, "p2");
    assert_string_equal(cJSON_GetObjectItem(first, "side")->valuestring, "below");
    assert_float_equal(number(first, "share"), 2106.75 / 3352.5, 1e-12);
    assert_string_equal(cJSON_GetObjectItem(second, "id")->valuestring, "p4");
    assert_float_equal(number(second, "share"), 812.25 / 3352.5, 1e-12);

    const cJSON *teachers = find_by_id(cJSON_GetObjectItem(primary, "resources"), "teachers");
    assert_float_equal(number(teachers, "cv"), 0, 1e-15);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(teachers, "pass")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(teachers, "top_contributors")), 0);
    const cJSON *rooms = find_by_id(cJSON_GetObjectItem(primary, "resources"), "rooms");
    assert_float_equal(number(rooms, "cv"), sqrt(0.06) / 2.7, 1e-12);

    const cJSON *schools = cJSON_GetObjectItem(primary, "schools");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(find_by_id(schools, "p1"), "pass")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(find_by_id(schools, "p2"), "pass")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(find_by_id(schools, "p4"), "pass")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(find_by_id(schools, "p3"), "pass")));
    assert_int_equal((int)number(find_by_id(schools, "p1"), "met"), 2);
    assert_int_equal((int)number(primary, "schools_passing"), 2);
    const cJSON *failing = cJSON_GetObjectItem(primary, "failing_schools");
    assert_int_equal(cJSON_GetArraySize(failing), 1);
    const cJSON *p2 = cJSON_GetArrayItem(failing, 0);
    assert_string_equal(cJSON_GetObjectItem(p2, "id")->valuestring, "p2");
    const cJSON *below = cJSON_GetArrayItem(cJSON_GetObjectItem(p2, "below"), 0);
    assert_string_equal(cJSON_GetObjectItem(below, "id")->valuestring, "area");
    assert_float_equal(number(below, "fraction"), 0.5 / 4.5, 1e-12);

    /* Junior: no schools registered, so no CV, and nothing the verdict waits for. */
    const cJSON *junior = cJSON_GetObjectItem(cJSON_GetObjectItem(document, "stages"), "junior");
    const cJSON *junior_area = find_by_id(cJSON_GetObjectItem(junior, "resources"), "area");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(junior_area, "cv")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(junior_area, "pass")));

    const cJSON *conditions = cJSON_GetObjectItem(document, "conditions");
    const cJSON *class_size = find_by_id(conditions, "class_size");
    assert_string_equal(cJSON_GetObjectItem(class_size, "status")->valuestring, "fail");
    assert_int_equal((int)number(class_size, "schools_judged"), 3);
    assert_int_equal((int)number(class_size, "schools_unreported"), 1);
    const cJSON *too_big = cJSON_GetArrayItem(cJSON_GetObjectItem(class_size, "failing"), 0);
    assert_string_equal(cJSON_GetObjectItem(too_big, "id")->valuestring, "p2");
    assert_float_equal(number(too_big, "gap"), -1, 1e-12);
    assert_float_equal(number(cJSON_GetObjectItem(class_size, "limits"), "junior"), 50, 0);
    const cJSON *retention = find_by_id(conditions, "retention");
    assert_string_equal(cJSON_GetObjectItem(retention, "status")->valuestring, "no_data");

    const cJSON *verdict = cJSON_GetObjectItem(document, "verdict");
    assert_string_equal(cJSON_GetObjectItem(verdict, "status")->valuestring, "fail");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(verdict, "pass")));
    const cJSON *failures = cJSON_GetObjectItem(verdict, "failures");
    assert_int_equal(cJSON_GetArraySize(failures), 3); /* area CV, school p2, class size */
    const cJSON *cv_failure = cJSON_GetArrayItem(failures, 0);
    assert_string_equal(cJSON_GetObjectItem(cv_failure, "check")->valuestring, "cv");
    assert_string_equal(cJSON_GetObjectItem(cv_failure, "resource")->valuestring, "area");
    assert_float_equal(number(cv_failure, "gap"), 0.5 - sqrt(3.3525) / 3.15, 1e-12);
    assert_string_equal(
        cJSON_GetArrayItem(cJSON_GetObjectItem(cv_failure, "schools"), 0)->valuestring, "p2");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(failures, 1), "check")->valuestring,
                        "school");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetArrayItem(failures, 2), "condition")->valuestring,
        "class_size");
    /* The unknown school p3 and the retention without data. */
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(verdict, "missing")), 2);
    assert_int_equal((int)number(verdict, "checks"), 3 + 4 + 2);

    cJSON_Delete(document);
    figures_free(&figures);
    catalog_free(fixture.catalog);
    fixture_remove(fixture.directory);
}

static void passes_when_everything_holds(void **state)
{
    (void)state;
    /* Primary only, no exclusion, the two sound schools: p1 and p4 (area CV: mean
     * (2400+600)/700 = 4.2857, both within a factor 1.5 → cv ≈ 0.18). */
    static const char balance[] =
        "{\"stages\":{\"primary\":{\"cv_max\":0.5}},"
        "\"pass_rule\":{\"min_met\":2,\"rest_min_fraction\":0.85}," BALANCE_RESOURCES "}";
    struct fixture fixture;
    const struct catalog *catalog = load_with_balance(&fixture, balance);
    assert_non_null(catalog);
    struct school schools[] = {primary_schools[0], primary_schools[2]};
    struct figures figures;
    assert_int_equal(figures_init(&figures, schools, 2, catalog->element_count), 0);
    static const double rows[2][4] = {{600, 2400, 30, 15}, {100, 600, 5, 3}};
    static const char *const names[4] = {"students", "area", "teachers", "rooms"};
    for (size_t s = 0; s < 2; s++)
        for (size_t e = 0; e < 4; e++)
            set(catalog, &figures, s, names[e], rows[s][e]);
    cJSON *document = build(catalog, &figures);
    const cJSON *verdict = cJSON_GetObjectItem(document, "verdict");
    assert_string_equal(cJSON_GetObjectItem(verdict, "status")->valuestring, "pass");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(verdict, "pass")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(verdict, "failures")), 0);
    assert_int_equal((int)number(verdict, "checks"), 3 + 2);
    cJSON_Delete(document);

    /* Without any primary or junior school there is nothing to judge. */
    struct figures empty;
    assert_int_equal(figures_init(&empty, &primary_schools[4], 1, catalog->element_count), 0);
    document = build(catalog, &empty);
    verdict = cJSON_GetObjectItem(document, "verdict");
    assert_string_equal(cJSON_GetObjectItem(verdict, "status")->valuestring, "no_data");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(verdict, "pass")));
    cJSON_Delete(document);
    figures_free(&empty);
    figures_free(&figures);
    catalog_free(fixture.catalog);
    fixture_remove(fixture.directory);
}

static void public_only_and_district_conditions(void **state)
{
    (void)state;
    /* ownership public: the private school is not evaluated. Retention over junior units:
     * 100 × (190 + 95) / (200 + 100) = 95 → holds (>= 95). */
    static const char balance[] =
        "{\"stages\":{\"junior\":{\"cv_max\":0.45}},\"ownership\":[\"public\"],"
        "\"pass_rule\":{\"min_met\":2,\"rest_min_fraction\":0.85}," BALANCE_RESOURCES
        ",\"conditions\":[{\"id\":\"retention\",\"name\":\"巩固率\",\"scope\":\"district\","
        "\"numerator\":\"retained\",\"denominator\":\"entry\",\"factor\":100,\"op\":\">=\","
        "\"value\":95}]}";
    struct fixture fixture;
    const struct catalog *catalog = load_with_balance(&fixture, balance);
    assert_non_null(catalog);
    struct school schools[] = {{"j1", "test-county", "一中", STAGE_JUNIOR, OWNERSHIP_PUBLIC, ""},
                               {"j2", "test-county", "民办", STAGE_JUNIOR, OWNERSHIP_PRIVATE, ""}};
    struct figures figures;
    assert_int_equal(figures_init(&figures, schools, 2, catalog->element_count), 0);
    set(catalog, &figures, 0, "retained", 190);
    set(catalog, &figures, 0, "entry", 200);
    set(catalog, &figures, 1, "retained", 95);
    set(catalog, &figures, 1, "entry", 100);
    set(catalog, &figures, 1, "students", 500);
    cJSON *document = build(catalog, &figures);
    const cJSON *junior = cJSON_GetObjectItem(cJSON_GetObjectItem(document, "stages"), "junior");
    assert_int_equal((int)number(junior, "schools_registered"), 1);
    const cJSON *retention = find_by_id(cJSON_GetObjectItem(document, "conditions"), "retention");
    /* The condition inherits the evaluation's ownership: j1 only, 95 %. */
    assert_float_equal(number(retention, "value"), 95, 1e-12);
    assert_string_equal(cJSON_GetObjectItem(retention, "status")->valuestring, "pass");
    assert_float_equal(number(retention, "gap"), 0, 1e-12);
    cJSON_Delete(document);
    figures_free(&figures);
    catalog_free(fixture.catalog);
    fixture_remove(fixture.directory);
}

static void expect_refused(const char *balance, const char *fragment)
{
    char directory[64], error[512];
    fixture_create(directory);
    fixture_write(directory, "elements.json", BALANCE_ELEMENTS);
    fixture_write(directory, "balance.json", balance);
    struct catalog *catalog = catalog_load(directory, error, sizeof(error));
    fixture_remove(directory);
    if (catalog) {
        catalog_free(catalog);
        fail_msg("balance.json accepted, expected an error with \"%s\"", fragment);
    }
    if (!strstr(error, fragment))
        fail_msg("error \"%s\" does not mention \"%s\"", error, fragment);
    assert_non_null(strstr(error, "balance.json"));
}

static void refuses_invalid_settings(void **state)
{
    (void)state;
    static const char pass_rule[] = "\"pass_rule\":{\"min_met\":2,\"rest_min_fraction\":0.85},";
    expect_refused("{\"stages\":{\"office\":{\"cv_max\":0.5}}}", "stages.office");
    expect_refused("{\"stages\":{\"primary\":{\"cv_max\":-1}}}", "cv_max");
    expect_refused("{\"stages\":{\"primary\":{\"cv_max\":0.5}}," BALANCE_RESOURCES "}",
                   "pass_rule");
    expect_refused("{\"stages\":{\"primary\":{\"cv_max\":0.5}},"
                   "\"pass_rule\":{\"min_met\":4,\"rest_min_fraction\":0.85}," BALANCE_RESOURCES
                   "}",
                   "min_met");
    char text[2048];
    snprintf(text, sizeof(text),
             "{\"stages\":{\"primary\":{\"cv_max\":0.5}},%s\"resources\":[{\"id\":\"x\","
             "\"name\":\"x\",\"numerator\":\"nope\",\"denominator\":\"students\","
             "\"standard\":{\"primary\":1}}]}",
             pass_rule);
    expect_refused(text, "resources[0].numerator: unknown element \"nope\"");
    snprintf(text, sizeof(text),
             "{\"stages\":{\"primary\":{\"cv_max\":0.5},\"junior\":{\"cv_max\":0.45}},%s"
             "\"resources\":[{\"id\":\"x\",\"name\":\"x\",\"numerator\":\"area\","
             "\"denominator\":\"students\",\"standard\":{\"primary\":1}}]}",
             pass_rule);
    expect_refused(text, "resources[0].standard.junior: missing");
    snprintf(text, sizeof(text),
             "{\"stages\":{\"primary\":{\"cv_max\":0.5}},%s\"resources\":[{\"id\":\"x\","
             "\"name\":\"x\",\"numerator\":\"kids\",\"denominator\":\"students\","
             "\"standard\":{\"primary\":1}}]}",
             pass_rule);
    expect_refused(text, "not reported by every stage");
    snprintf(text, sizeof(text),
             "{\"stages\":{\"primary\":{\"cv_max\":0.5}},%s" BALANCE_RESOURCES
             ",\"conditions\":[{\"id\":\"c\",\"name\":\"c\",\"scope\":\"district\","
             "\"element\":\"area\",\"op\":\"<=\",\"value\":{\"primary\":1}}]}",
             pass_rule);
    expect_refused(text, "conditions[0].value: per-stage values need");
    snprintf(text, sizeof(text),
             "{\"stages\":{\"primary\":{\"cv_max\":0.5}},%s" BALANCE_RESOURCES
             ",\"conditions\":[{\"id\":\"c\",\"name\":\"c\",\"scope\":\"school\","
             "\"element\":\"area\",\"op\":\"~\",\"value\":1}]}",
             pass_rule);
    expect_refused(text, "conditions[0].op");
}

static void seed_catalog_evaluates_seven_resources(void **state)
{
    (void)state;
    char error[512];
    struct catalog *catalog =
        catalog_load(EDUMON_SOURCE_DIR "/deploy/catalog", error, sizeof(error));
    if (!catalog)
        fail_msg("%s", error);
    assert_non_null(catalog->balance_rules);
    assert_int_equal((int)catalog->balance_rules->resource_count, 7);
    struct school school = {"p1", "x", "一小", STAGE_PRIMARY, OWNERSHIP_PUBLIC, ""};
    struct figures figures;
    assert_int_equal(figures_init(&figures, &school, 1, catalog->element_count), 0);
    /* 1000 pupils, every resource at 110 % of the primary standard but multimedia at 90 %:
     * 6 of 7 met, the seventh above 85 % → pass. */
    static const struct {
        const char *element;
        double value;
    } values[] = {{"students", 1000},
                  {"teachers_above_degree", 46.2},
                  {"key_teachers_county_up", 11},
                  {"pe_arts_teachers", 9.9},
                  {"teaching_area_m2", 4950},
                  {"sports_area_m2", 8250},
                  {"equipment_value_yuan", 2200000},
                  {"multimedia_classrooms", 20.7}};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
        set(catalog, &figures, 0, values[i].element, values[i].value);
    cJSON *document = build(catalog, &figures);
    const cJSON *primary = cJSON_GetObjectItem(cJSON_GetObjectItem(document, "stages"), "primary");
    const cJSON *p1 = find_by_id(cJSON_GetObjectItem(primary, "schools"), "p1");
    assert_int_equal((int)number(p1, "met"), 6);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(p1, "pass")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(primary, "resources")), 7);
    cJSON_Delete(document);
    figures_free(&figures);
    catalog_free(catalog);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(evaluates_schools_cvs_and_conditions),
        cmocka_unit_test(passes_when_everything_holds),
        cmocka_unit_test(public_only_and_district_conditions),
        cmocka_unit_test(refuses_invalid_settings),
        cmocka_unit_test(seed_catalog_evaluates_seven_resources),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
