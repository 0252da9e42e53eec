/* snapshot.c -- see snapshot.h. */
#include "snapshot.h"
#include "jsonutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "target.h"

static void add_number_or_null(cJSON *object, const char *name, bool present, double value)
{
    if (present && isfinite(value))
        json_add_number(object, name, value);
    else
        cJSON_AddNullToObject(object, name);
}

static void fill_context(const struct snapshot_input *input, int indicator, double value,
                         struct target_context *context)
{
    *context = (struct target_context){.period = input->period,
                                       .plan_first_year = input->district->plan_first_year,
                                       .has_value = !isnan(value),
                                       .value = value};
    for (size_t i = 0; i < input->history_count; i++) {
        const struct period_values *other = &input->history[i];
        double other_value = other->values[indicator];
        if (other->period >= input->period || isnan(other_value))
            continue;
        if (other->period == input->period - 1) {
            context->has_previous = true;
            context->previous = other_value;
        }
        if (!context->has_first || other->period < context->first_period) {
            context->has_first = true;
            context->first_period = other->period;
            context->first_value = other_value;
        }
        if (other->period >= input->district->plan_first_year)
            context->earlier_sum += other_value;
    }
}

static cJSON *render_target(const struct target *target)
{
    cJSON *object = cJSON_CreateObject();
    cJSON_AddStringToObject(object, "op", target_op_name(target->op));
    if (target->op == TARGET_BETWEEN) {
        json_add_number(object, "min", target->value);
        json_add_number(object, "max", target->max);
    } else {
        json_add_number(object, "value", target->value);
    }
    json_add_number(object, "year", target->year);
    if (target->cumulative)
        cJSON_AddTrueToObject(object, "cumulative");
    return object;
}

static cJSON *render_indicator(const struct snapshot_input *input, const struct target *target,
                               const struct indicator_result *result)
{
    const struct indicator *indicator = &input->catalog->indicators[target->indicator];
    cJSON *object = cJSON_CreateObject();
    cJSON_AddStringToObject(object, "id", indicator->id);
    cJSON_AddStringToObject(object, "name", indicator->name);
    if (indicator->name_en)
        cJSON_AddStringToObject(object, "name_en", indicator->name_en);
    cJSON_AddStringToObject(object, "unit", indicator->unit);
    cJSON_AddStringToObject(object, "kind", indicator_kind_name(indicator->kind));
    add_number_or_null(object, "value", result->has_value, result->value);
    if (result->has_parts) {
        json_add_number(object, "numerator", result->numerator);
        json_add_number(object, "denominator", result->denominator);
    }
    if (result->has_spread) {
        json_add_number(object, "mean", result->mean);
        json_add_number(object, "sd", result->deviation);
    }
    json_add_number(object, "schools_reporting", (double)result->schools_reporting);
    json_add_number(object, "schools_expected", (double)result->schools_expected);
    cJSON_AddItemToObject(object, "target", render_target(target));

    struct target_context context;
    fill_context(input, target->indicator, result->has_value ? result->value : NAN, &context);
    struct target_evaluation evaluation;
    target_evaluate(target, &context, &evaluation);
    cJSON_AddStringToObject(object, "status", target_status_name(evaluation.status));
    cJSON_AddStringToObject(object, "rule", evaluation.rule);
    add_number_or_null(object, "gap", evaluation.has_gap, evaluation.gap);
    if (evaluation.has_expected)
        json_add_number(object, "expected", evaluation.expected);
    if (evaluation.has_compared && evaluation.compared != result->value)
        json_add_number(object, "compared", evaluation.compared);
    return object;
}

cJSON *snapshot_build(const struct snapshot_input *input, double *values_out)
{
    const struct catalog *catalog = input->catalog;
    struct indicator_result *results =
        calloc(catalog->indicator_count, sizeof(struct indicator_result));
    if (!results)
        return NULL;
    for (size_t i = 0; i < catalog->indicator_count; i++) {
        aggregate_indicator(catalog, &catalog->indicators[i], input->figures, &results[i]);
        values_out[i] = results[i].has_value ? results[i].value : NAN;
    }
    cJSON *root = cJSON_CreateObject();
    char period[8];
    snprintf(period, sizeof(period), "%04d", input->period);
    cJSON_AddStringToObject(root, "district", input->district->id);
    cJSON_AddStringToObject(root, "period", period);
    cJSON_AddStringToObject(root, "catalog", catalog->hash);
    cJSON *completeness = cJSON_AddObjectToObject(root, "completeness");
    json_add_number(completeness, "expected", (double)input->figures->school_count);
    json_add_number(completeness, "reported", (double)figures_reporting_schools(input->figures));
    cJSON *indicators = cJSON_AddArrayToObject(root, "indicators");
    for (size_t t = 0; t < input->district->target_count; t++) {
        const struct target *target = &input->district->targets[t];
        cJSON_AddItemToArray(indicators,
                             render_indicator(input, target, &results[target->indicator]));
    }
    free(results);
    return root;
}
