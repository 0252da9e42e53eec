/* target.c -- see target.h. */
#include "target.h"

#include <math.h>

static const char *const status_names[] = {"met", "on_track", "behind", "no_data"};

const char *target_status_name(enum target_status status)
{
    return status_names[status];
}

/* Signed distance from the target: positive when the target holds with room to spare. */
static double gap_to(const struct target *target, double value, double goal)
{
    switch (target->op) {
    case TARGET_GE:
    case TARGET_DELTA_GE:
        return value - goal;
    case TARGET_LE:
    case TARGET_DELTA_LE:
        return goal - value;
    case TARGET_EQ:
        return -fabs(value - goal);
    case TARGET_BETWEEN:
        if (value < target->value) /* the lower bound */
            return value - target->value;
        if (value > target->max)
            return target->max - value;
        return 0;
    }
    return 0;
}

static bool holds(const struct target *target, double value, double goal)
{
    if (target->op == TARGET_EQ)
        return fabs(value - goal) <= 1e-9 * fmax(1.0, fabs(goal));
    return gap_to(target, value, goal) >= -1e-12;
}

/* The plan's expectation for `period`: piecewise linear through baseline, milestones and the
 * deadline target. Returns false when the period lies before every known point. */
static bool expected_value(const struct target *target, const struct target_context *context,
                           const char **rule, double *expected)
{
    int years[66];
    double values[66];
    int count = 0;
    if (target->has_baseline) {
        years[count] = target->baseline_year, values[count++] = target->baseline_value;
    } else if (target->cumulative) {
        /* A count accumulated over the plan starts from nothing the year before the plan. */
        years[count] = context->plan_first_year - 1, values[count++] = 0;
    } else if (context->has_first && context->first_period < context->period) {
        years[count] = context->first_period, values[count++] = context->first_value;
    }
    for (size_t i = 0; i < target->milestone_count && count < 64; i++) {
        if (count > 0 && target->milestones[i].year <= years[count - 1])
            continue;
        years[count] = target->milestones[i].year, values[count++] = target->milestones[i].value;
    }
    if (count == 0 || years[count - 1] < target->year)
        years[count] = target->year, values[count++] = target->value;
    for (size_t i = 0; i < target->milestone_count; i++) {
        if (target->milestones[i].year == context->period) {
            *rule = "milestone";
            *expected = target->milestones[i].value;
            return true;
        }
    }
    for (int i = 1; i < count; i++) {
        if (context->period >= years[i - 1] && context->period <= years[i]) {
            double share = (double)(context->period - years[i - 1]) / (years[i] - years[i - 1]);
            *expected = values[i - 1] + share * (values[i] - values[i - 1]);
            bool from_milestone = target->milestone_count > 0;
            *rule = from_milestone         ? "milestone_line"
                    : target->has_baseline ? "straight_line_from_baseline"
                    : target->cumulative   ? "straight_line_from_plan_start"
                                           : "straight_line_from_first_period";
            return true;
        }
    }
    return false;
}

static void evaluate_delta(const struct target *target, const struct target_context *context,
                           struct target_evaluation *out)
{
    if (!context->has_value || !context->has_previous) {
        out->status = STATUS_NO_DATA;
        out->rule = context->has_value ? "change_needs_previous_period" : "no_value";
        return;
    }
    out->has_compared = true;
    out->compared = context->value - context->previous;
    out->has_expected = true;
    out->expected = target->value;
    out->has_gap = true;
    out->gap = gap_to(target, out->compared, target->value);
    out->status = holds(target, out->compared, target->value) ? STATUS_MET : STATUS_BEHIND;
    out->rule = "change_per_year";
}

void target_evaluate(const struct target *target, const struct target_context *context,
                     struct target_evaluation *out)
{
    *out = (struct target_evaluation){.status = STATUS_NO_DATA, .rule = "no_value"};
    if (target->op == TARGET_DELTA_GE || target->op == TARGET_DELTA_LE) {
        evaluate_delta(target, context, out);
        return;
    }
    if (!context->has_value)
        return;
    out->has_compared = true;
    out->compared = target->cumulative ? context->earlier_sum + context->value : context->value;
    out->has_gap = true;
    out->gap = gap_to(target, out->compared, target->value);
    if (holds(target, out->compared, target->value)) {
        out->status = STATUS_MET;
        out->rule = target->cumulative ? "cumulative_target" : "deadline_target";
        return;
    }
    if (context->period >= target->year) {
        out->status = STATUS_BEHIND;
        out->rule = context->period > target->year ? "deadline_passed" : "deadline_target";
        return;
    }
    const char *rule = "deadline_target";
    double expected;
    if (target->op != TARGET_BETWEEN && expected_value(target, context, &rule, &expected)) {
        out->has_expected = true;
        out->expected = expected;
        /* For "=" the direction of travel decides which side of the line is ahead. */
        bool ahead;
        if (target->op == TARGET_EQ)
            ahead = fabs(out->compared - target->value) <= fabs(expected - target->value) + 1e-12;
        else
            ahead = holds(target, out->compared, expected);
        out->status = ahead ? STATUS_ON_TRACK : STATUS_BEHIND;
        out->rule = rule;
        return;
    }
    out->status = STATUS_BEHIND;
    out->rule = rule;
}
