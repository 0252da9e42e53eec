/* aggregate.h -- the indicator kinds of the contract, computed from the figures of one
 * district and period.
 *
 * Figures are a dense matrix school × element with NAN for "not reported": a district has
 * at most a few hundred units and the catalog about a hundred elements, so the matrix is
 * small, and a dense layout makes every kind a simple loop that a reader can check against
 * the contract's definition line by line. */
#ifndef EDUMON_AGGREGATE_H
#define EDUMON_AGGREGATE_H

#include <stdbool.h>
#include <stddef.h>

#include "catalog.h"
#include "school.h"

struct figures {
    const struct school *schools; /* borrowed: the district's registered units */
    size_t school_count;
    size_t element_count;
    double *values; /* owned: school_count × element_count, NAN where not reported */
};

/* Allocates an all-NAN matrix. Returns 0, or -1 when out of memory. */
int figures_init(struct figures *figures, const struct school *schools, size_t school_count,
                 size_t element_count);
void figures_free(struct figures *figures);

static inline double *figures_at(const struct figures *figures, size_t school, size_t element)
{
    return &figures->values[school * figures->element_count + element];
}

/* Number of schools that reported at least one figure. */
size_t figures_reporting_schools(const struct figures *figures);

struct indicator_result {
    bool has_value;
    double value;
    bool has_parts; /* ratio: the sums behind the value */
    double numerator, denominator;
    bool has_spread; /* cv: the weighted mean and standard deviation */
    double mean, deviation;
    size_t schools_reporting, schools_expected;
};

/* Computes one indicator exactly as api-v1.md defines its kind. */
void aggregate_indicator(const struct catalog *catalog, const struct indicator *indicator,
                         const struct figures *figures, struct indicator_result *out);

/* Pupil-weighted coefficient of variation, population form (balanced-development method):
 *   mean = Σwx/Σw, sd = √(Σw(x−mean)²/Σw), cv = sd/mean.
 * Returns false when Σw or the mean is 0 (no answer rather than a NaN). */
bool aggregate_weighted_cv(const double *x, const double *w, size_t count, double *cv, double *mean,
                           double *deviation);

#endif
