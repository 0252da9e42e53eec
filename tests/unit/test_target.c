/* Unit tests for target.c: each rule that can decide a status. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "target.h"

static struct target_evaluation evaluate(const struct target *target, int period, double value)
{
    struct target_context context = {
        .period = period, .plan_first_year = 2021, .has_value = !isnan(value), .value = value};
    struct target_evaluation evaluation;
    target_evaluate(target, &context, &evaluation);
    return evaluation;
}

static void met_behind_and_no_data(void **state)
{
    (void)state;
    struct target target = {.op = TARGET_GE, .value = 87, .year = 2025};
    struct target_evaluation result = evaluate(&target, 2024, 88.21);
    assert_int_equal(result.status, STATUS_MET);
    assert_true(fabs(result.gap - 1.21) < 1e-9);
    assert_string_equal(result.rule, "deadline_target");
    /* Not met, no baseline, no earlier period: nothing to draw a line from. */
    result = evaluate(&target, 2024, 80);
    assert_int_equal(result.status, STATUS_BEHIND);
    assert_true(fabs(result.gap + 7) < 1e-9);
    result = evaluate(&target, 2026, 80);
    assert_string_equal(result.rule, "deadline_passed");
    result = evaluate(&target, 2024, NAN);
    assert_int_equal(result.status, STATUS_NO_DATA);
    struct target at_most = {.op = TARGET_LE, .value = 0.5, .year = 2025};
    assert_int_equal(evaluate(&at_most, 2024, 0.31).status, STATUS_MET);
    assert_true(fabs(evaluate(&at_most, 2024, 0.31).gap - 0.19) < 1e-12);
}

static void straight_line_from_baseline(void **state)
{
    (void)state;
    /* 83.46 in 2020 -> 95 in 2025: in 2023 the line is at 83.46 + 3/5 * 11.54 = 90.384 */
    struct target target = {.op = TARGET_GE,
                            .value = 95,
                            .year = 2025,
                            .has_baseline = true,
                            .baseline_year = 2020,
                            .baseline_value = 83.46};
    struct target_evaluation result = evaluate(&target, 2023, 91);
    assert_int_equal(result.status, STATUS_ON_TRACK);
    assert_true(result.has_expected);
    assert_true(fabs(result.expected - 90.384) < 1e-9);
    assert_string_equal(result.rule, "straight_line_from_baseline");
    assert_int_equal(evaluate(&target, 2023, 90).status, STATUS_BEHIND);
}

static void milestones_win(void **state)
{
    (void)state;
    /* xingqing: 40 % in 2022, 85 % in 2024, 100 % by 2025 */
    struct milestone milestones[] = {{2022, 40}, {2024, 85}};
    struct target target = {.op = TARGET_GE,
                            .value = 100,
                            .year = 2025,
                            .milestones = milestones,
                            .milestone_count = 2};
    struct target_evaluation result = evaluate(&target, 2022, 45);
    assert_int_equal(result.status, STATUS_ON_TRACK);
    assert_string_equal(result.rule, "milestone");
    assert_true(result.expected == 40);
    result = evaluate(&target, 2023, 60); /* between milestones: 62.5 expected */
    assert_int_equal(result.status, STATUS_BEHIND);
    assert_true(fabs(result.expected - 62.5) < 1e-9);
    assert_string_equal(result.rule, "milestone_line");
    assert_int_equal(evaluate(&target, 2024, 84).status, STATUS_BEHIND);
}

static void implicit_baseline_from_first_period(void **state)
{
    (void)state;
    struct target target = {.op = TARGET_GE, .value = 100, .year = 2025};
    struct target_context context = {.period = 2023,
                                     .plan_first_year = 2021,
                                     .has_value = true,
                                     .value = 70,
                                     .has_first = true,
                                     .first_period = 2021,
                                     .first_value = 50};
    struct target_evaluation result;
    target_evaluate(&target, &context, &result);
    /* line 50 (2021) -> 100 (2025): 75 expected in 2023 */
    assert_true(fabs(result.expected - 75) < 1e-9);
    assert_int_equal(result.status, STATUS_BEHIND);
    assert_string_equal(result.rule, "straight_line_from_first_period");
}

static void change_per_year(void **state)
{
    (void)state;
    struct target myopia = {.op = TARGET_DELTA_LE, .value = -0.5, .year = 2025};
    struct target_context context = {
        .period = 2024, .has_value = true, .value = 52.1, .has_previous = true, .previous = 52.8};
    struct target_evaluation result;
    target_evaluate(&myopia, &context, &result);
    assert_int_equal(result.status, STATUS_MET);
    assert_true(fabs(result.compared + 0.7) < 1e-9);
    assert_true(fabs(result.gap - 0.2) < 1e-9);
    context.value = 52.5;
    target_evaluate(&myopia, &context, &result);
    assert_int_equal(result.status, STATUS_BEHIND);
    context.has_previous = false;
    target_evaluate(&myopia, &context, &result);
    assert_int_equal(result.status, STATUS_NO_DATA);
    assert_string_equal(result.rule, "change_needs_previous_period");
}

static void cumulative_and_ranges(void **state)
{
    (void)state;
    /* 23000 places over 2021-2025: 2021..2022 gave 9000, 2023 gives 5000 -> 14000.
     * Line from 0 (2020) to 23000 (2025): 13800 expected in 2023 -> on track. */
    struct target places = {.op = TARGET_GE, .value = 23000, .year = 2025, .cumulative = true};
    struct target_context context = {.period = 2023,
                                     .plan_first_year = 2021,
                                     .has_value = true,
                                     .value = 5000,
                                     .earlier_sum = 9000};
    struct target_evaluation result;
    target_evaluate(&places, &context, &result);
    assert_true(result.compared == 14000);
    assert_int_equal(result.status, STATUS_ON_TRACK);
    assert_true(fabs(result.expected - 13800) < 1e-9);
    struct target range = {.op = TARGET_BETWEEN, .value = 1, .max = 2, .year = 2022};
    assert_int_equal(evaluate(&range, 2022, 1).status, STATUS_MET);
    assert_int_equal(evaluate(&range, 2022, 3).status, STATUS_BEHIND);
    assert_true(evaluate(&range, 2022, 3).gap == -1);
    struct target none = {.op = TARGET_EQ,
                          .value = 0,
                          .year = 2025,
                          .has_baseline = true,
                          .baseline_year = 2020,
                          .baseline_value = 10};
    assert_int_equal(evaluate(&none, 2025, 0).status, STATUS_MET);
    assert_int_equal(evaluate(&none, 2023, 3).status, STATUS_ON_TRACK); /* line at 4 */
    assert_int_equal(evaluate(&none, 2023, 5).status, STATUS_BEHIND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(met_behind_and_no_data),
                                       cmocka_unit_test(straight_line_from_baseline),
                                       cmocka_unit_test(milestones_win),
                                       cmocka_unit_test(implicit_baseline_from_first_period),
                                       cmocka_unit_test(change_per_year),
                                       cmocka_unit_test(cumulative_and_ranges)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
