/* aggregate.c -- see aggregate.h and the "Indicator kinds" table of api-v1.md. */
#include "aggregate.h"

#include <math.h>
#include <stdlib.h>

int figures_init(struct figures *figures, const struct school *schools, size_t school_count,
                 size_t element_count)
{
    figures->schools = schools;
    figures->school_count = school_count;
    figures->element_count = element_count;
    size_t cells = school_count * element_count;
    figures->values = malloc((cells ? cells : 1) * sizeof(double));
    if (!figures->values)
        return -1;
    for (size_t i = 0; i < cells; i++)
        figures->values[i] = NAN;
    return 0;
}

void figures_free(struct figures *figures)
{
    free(figures->values);
    figures->values = NULL;
}

size_t figures_reporting_schools(const struct figures *figures)
{
    size_t reporting = 0;
    for (size_t s = 0; s < figures->school_count; s++) {
        for (size_t e = 0; e < figures->element_count; e++) {
            if (!isnan(*figures_at(figures, s, e))) {
                reporting++;
                break;
            }
        }
    }
    return reporting;
}

static bool filter_admits(const struct indicator *indicator, const struct school *school)
{
    return (indicator->stage_filter & (1u << school->stage)) &&
           (indicator->ownership_filter & (1u << school->ownership));
}

/* Whether school `s` contributes its figure of `element` to `indicator`: office elements
 * always count (the contract), school elements when the filter admits the school. */
static bool school_counts(const struct catalog *catalog, const struct indicator *indicator,
                          const struct school *school, int element)
{
    const struct element *definition = &catalog->elements[element];
    if (!(definition->stages & (1u << school->stage)))
        return false;
    return definition->office || filter_admits(indicator, school);
}

/* Completeness of one indicator: a school is expected when it counts for at least one of the
 * indicator's elements, reporting when it has reported every one of them it counts for. */
static void count_reporting(const struct catalog *catalog, const struct indicator *indicator,
                            const struct figures *figures, struct indicator_result *out)
{
    int elements[4] = {indicator->element, indicator->numerator, indicator->denominator,
                       indicator->weight};
    for (size_t s = 0; s < figures->school_count; s++) {
        bool expected = false, complete = true;
        for (int i = 0; i < 4; i++) {
            if (elements[i] < 0 ||
                !school_counts(catalog, indicator, &figures->schools[s], elements[i]))
                continue;
            expected = true;
            if (isnan(*figures_at(figures, s, (size_t)elements[i])))
                complete = false;
        }
        if (expected) {
            out->schools_expected++;
            if (complete)
                out->schools_reporting++;
        }
    }
}

/* Σ of an element over the schools that count and reported it; false when none did. */
static bool sum_element(const struct catalog *catalog, const struct indicator *indicator,
                        const struct figures *figures, int element, double *sum)
{
    bool any = false;
    *sum = 0;
    for (size_t s = 0; s < figures->school_count; s++) {
        double value = *figures_at(figures, s, (size_t)element);
        if (isnan(value) || !school_counts(catalog, indicator, &figures->schools[s], element))
            continue;
        *sum += value;
        any = true;
    }
    return any;
}

static void aggregate_ratio(const struct catalog *catalog, const struct indicator *indicator,
                            const struct figures *figures, struct indicator_result *out)
{
    /* Sums first, then divide: a ratio of totals, never an average of school ratios. */
    double numerator, denominator;
    bool has_numerator = sum_element(catalog, indicator, figures, indicator->numerator, &numerator);
    bool has_denominator =
        sum_element(catalog, indicator, figures, indicator->denominator, &denominator);
    if (!has_numerator || !has_denominator)
        return;
    out->has_parts = true;
    out->numerator = numerator;
    out->denominator = denominator;
    if (denominator != 0) {
        out->has_value = true;
        out->value = indicator->factor * numerator / denominator;
    }
}

static void aggregate_coverage(const struct catalog *catalog, const struct indicator *indicator,
                               const struct figures *figures, struct indicator_result *out)
{
    /* The denominator is every registered school the filter admits, reported or not: a
     * school that says nothing does not meet the condition. */
    size_t satisfying = 0, reported = 0;
    for (size_t s = 0; s < figures->school_count; s++) {
        if (!school_counts(catalog, indicator, &figures->schools[s], indicator->element))
            continue;
        double value = *figures_at(figures, s, (size_t)indicator->element);
        if (isnan(value))
            continue;
        reported++;
        if (compare_holds(indicator->condition_op, value, indicator->condition_value))
            satisfying++;
    }
    if (reported == 0 || out->schools_expected == 0)
        return;
    out->has_parts = true;
    out->numerator = (double)satisfying;
    out->denominator = (double)out->schools_expected;
    out->has_value = true;
    out->value = 100.0 * (double)satisfying / (double)out->schools_expected;
}

static void aggregate_latest(const struct indicator *indicator, const struct figures *figures,
                             struct indicator_result *out)
{
    /* The office's figure; with several office units the first registered one that reported. */
    for (size_t s = 0; s < figures->school_count; s++) {
        double value = *figures_at(figures, s, (size_t)indicator->element);
        if (figures->schools[s].stage == STAGE_OFFICE && !isnan(value)) {
            out->has_value = true;
            out->value = value;
            return;
        }
    }
}

bool aggregate_weighted_cv(const double *x, const double *w, size_t count, double *cv, double *mean,
                           double *deviation)
{
    double weight_sum = 0, weighted = 0;
    for (size_t i = 0; i < count; i++) {
        weight_sum += w[i];
        weighted += w[i] * x[i];
    }
    if (weight_sum <= 0)
        return false;
    *mean = weighted / weight_sum;
    double spread = 0;
    for (size_t i = 0; i < count; i++)
        spread += w[i] * (x[i] - *mean) * (x[i] - *mean);
    *deviation = sqrt(spread / weight_sum);
    if (*mean == 0)
        return false;
    *cv = *deviation / *mean;
    return true;
}

static void aggregate_cv(const struct indicator *indicator, const struct figures *figures,
                         struct indicator_result *out)
{
    double *x = malloc((figures->school_count + 1) * sizeof(double));
    double *w = malloc((figures->school_count + 1) * sizeof(double));
    size_t count = 0;
    if (!x || !w)
        goto done;
    /* Schools that reported numerator, denominator and weight, with a positive denominator
     * (a school without pupils has no per-pupil figure). */
    for (size_t s = 0; s < figures->school_count; s++) {
        if (!filter_admits(indicator, &figures->schools[s]))
            continue;
        double numerator = *figures_at(figures, s, (size_t)indicator->numerator);
        double denominator = *figures_at(figures, s, (size_t)indicator->denominator);
        double weight = *figures_at(figures, s, (size_t)indicator->weight);
        if (isnan(numerator) || isnan(denominator) || isnan(weight) || denominator <= 0)
            continue;
        x[count] = indicator->factor * numerator / denominator;
        w[count] = weight;
        count++;
    }
    double cv, mean, deviation;
    if (count > 0 && aggregate_weighted_cv(x, w, count, &cv, &mean, &deviation)) {
        out->has_value = true;
        out->value = cv;
        out->has_spread = true;
        out->mean = mean;
        out->deviation = deviation;
    }
done:
    free(x);
    free(w);
}

void aggregate_indicator(const struct catalog *catalog, const struct indicator *indicator,
                         const struct figures *figures, struct indicator_result *out)
{
    *out = (struct indicator_result){0};
    count_reporting(catalog, indicator, figures, out);
    switch (indicator->kind) {
    case KIND_SUM: {
        double sum;
        if (sum_element(catalog, indicator, figures, indicator->element, &sum)) {
            out->has_value = true;
            out->value = sum;
        }
        break;
    }
    case KIND_RATIO:
        aggregate_ratio(catalog, indicator, figures, out);
        break;
    case KIND_COVERAGE:
        aggregate_coverage(catalog, indicator, figures, out);
        break;
    case KIND_LATEST:
        aggregate_latest(indicator, figures, out);
        break;
    case KIND_CV:
        aggregate_cv(indicator, figures, out);
        break;
    }
}
