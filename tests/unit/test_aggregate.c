/* Unit tests for aggregate.c: each kind against figures worked out by hand. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "aggregate.h"
#include "catalog_fixture.h"

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

/* Units: 0 office, 1-2 kindergartens, 3-5 primary (5 private), 6 junior. */
static const struct school schools[] = {
    {"office", "t", "局", STAGE_OFFICE, OWNERSHIP_PUBLIC, ""},
    {"k1", "t", "k1", STAGE_KINDERGARTEN, OWNERSHIP_PUBLIC, ""},
    {"k2", "t", "k2", STAGE_KINDERGARTEN, OWNERSHIP_PRIVATE, ""},
    {"p1", "t", "p1", STAGE_PRIMARY, OWNERSHIP_PUBLIC, ""},
    {"p2", "t", "p2", STAGE_PRIMARY, OWNERSHIP_PUBLIC, ""},
    {"p3", "t", "p3", STAGE_PRIMARY, OWNERSHIP_PRIVATE, ""},
    {"j1", "t", "j1", STAGE_JUNIOR, OWNERSHIP_PUBLIC, ""},
};

static struct figures figures;

static void set(int school, const char *element, double value)
{
    *figures_at(&figures, (size_t)school, (size_t)catalog_find_element(catalog, element)) = value;
}

static struct indicator_result compute(const char *indicator)
{
    struct indicator_result result;
    aggregate_indicator(catalog, &catalog->indicators[catalog_find_indicator(catalog, indicator)],
                        &figures, &result);
    return result;
}

static void prepare(void)
{
    figures_free(&figures);
    assert_int_equal(figures_init(&figures, schools, 7, catalog->element_count), 0);
}

static void sum_and_completeness(void **state)
{
    (void)state;
    prepare();
    set(1, "students", 100);
    set(3, "students", 400);
    set(6, "students", 250);
    struct indicator_result result = compute("pupils");
    assert_true(result.has_value);
    assert_true(result.value == 750);
    /* Expected: every unit whose stage reports students (k1 k2 p1 p2 p3 j1), not the office. */
    assert_int_equal(result.schools_expected, 6);
    assert_int_equal(result.schools_reporting, 3);
    assert_int_equal(figures_reporting_schools(&figures), 3);
}

static void ratio_sums_first_and_office_counts(void **state)
{
    (void)state;
    prepare();
    set(1, "kids", 90);
    set(2, "kids", 10);
    set(0, "population", 125); /* office element: counts despite the kindergarten filter */
    struct indicator_result result = compute("enrolment");
    assert_true(result.has_value);
    /* 100 * (90 + 10) / 125 = 80 */
    assert_true(fabs(result.value - 80.0) < 1e-12);
    assert_true(result.numerator == 100 && result.denominator == 125);
    set(0, "population", 0);
    result = compute("enrolment");
    assert_false(result.has_value); /* a zero denominator is null, never NaN */
    prepare();
    set(1, "kids", 90);
    assert_false(compute("enrolment").has_value); /* no denominator reported */
}

static void coverage_counts_silent_schools_against(void **state)
{
    (void)state;
    prepare();
    set(3, "has_mh", 1);
    set(4, "has_mh", 0);
    set(5, "has_mh", 1); /* private: the filter admits public only */
    /* public primary/junior: p1 p2 j1 = 3 expected; 1 satisfies -> 33.33…% */
    struct indicator_result result = compute("mh");
    assert_true(result.has_value);
    assert_true(fabs(result.value - 100.0 / 3.0) < 1e-12);
    assert_int_equal(result.schools_expected, 3);
    assert_int_equal(result.schools_reporting, 2);
}

static void latest_takes_the_office_figure(void **state)
{
    (void)state;
    prepare();
    assert_false(compute("city_rank").has_value);
    set(0, "rank", 4);
    struct indicator_result result = compute("city_rank");
    assert_true(result.has_value && result.value == 4);
}

static void cv_is_pupil_weighted(void **state)
{
    (void)state;
    prepare();
    /* Per-pupil area x: p1 2000/1000 = 2, p2 1000/100 = 10, p3 1200/300 = 4 (private, still
     * primary: the filter has no ownership); j1 is junior and excluded.
     * Weighted: W = 1400, mean = (1000*2 + 100*10 + 300*4)/1400 = 4200/1400 = 3,
     * var = (1000*1 + 100*49 + 300*1)/1400 = 6200/1400, cv = sqrt(4.428571…)/3 = 0.70147…
     * Unweighted would be: mean 16/3, sd sqrt(104/9) = 3.39935, cv 0.63738. */
    set(3, "area", 2000), set(3, "students", 1000);
    set(4, "area", 1000), set(4, "students", 100);
    set(5, "area", 1200), set(5, "students", 300);
    set(6, "area", 9000), set(6, "students", 500);
    double mean = 3.0;
    double expected = sqrt(6200.0 / 1400.0) / mean;
    double unweighted = sqrt(104.0 / 9.0) / (16.0 / 3.0);
    struct indicator_result result = compute("area_cv");
    assert_true(result.has_value);
    assert_true(fabs(result.value - expected) < 1e-12);
    assert_true(fabs(result.value - 0.70147) < 1e-5);
    assert_true(fabs(result.value - unweighted) > 0.05); /* not the unweighted CV */
    assert_true(fabs(result.mean - mean) < 1e-12);
    assert_int_equal(result.schools_reporting, 3);
}

static void weighted_cv_edges(void **state)
{
    (void)state;
    double x[] = {1, 1}, w[] = {0, 0}, cv, mean, deviation;
    assert_false(aggregate_weighted_cv(x, w, 2, &cv, &mean, &deviation));
    double zeros[] = {0, 0}, ones[] = {1, 1};
    assert_false(aggregate_weighted_cv(zeros, ones, 2, &cv, &mean, &deviation));
    assert_true(aggregate_weighted_cv(x, ones, 2, &cv, &mean, &deviation));
    assert_true(cv == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(sum_and_completeness),
                                       cmocka_unit_test(ratio_sums_first_and_office_counts),
                                       cmocka_unit_test(coverage_counts_silent_schools_against),
                                       cmocka_unit_test(latest_takes_the_office_figure),
                                       cmocka_unit_test(cv_is_pupil_weighted),
                                       cmocka_unit_test(weighted_cv_edges)};
    int failures = cmocka_run_group_tests(tests, setup, teardown);
    figures_free(&figures);
    return failures;
}
