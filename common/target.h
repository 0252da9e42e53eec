/* target.h -- judging an indicator's value against a district's target.
 *
 *   met      the deadline target already holds for the value compared;
 *   on_track not yet met, but the value is at least where the plan expects it this period:
 *            at a milestone the plan states, else on the straight line from the baseline (the
 *            catalog's, or failing that the first earlier period with data) to the deadline;
 *   behind   neither (or the deadline has passed);
 *   no_data  nothing to compare.
 * For change-per-year targets (delta) the value compared is the change against the previous
 * period; for cumulative targets it is the sum over the plan years up to the period. The
 * evaluation names the rule that decided, so a dashboard can say why. */
#ifndef EDUMON_TARGET_H
#define EDUMON_TARGET_H

#include <stdbool.h>

#include "catalog.h"

enum target_status { STATUS_MET, STATUS_ON_TRACK, STATUS_BEHIND, STATUS_NO_DATA };

struct target_context {
    int period;
    int plan_first_year;
    bool has_value;
    double value;
    bool has_previous; /* the value of period - 1 */
    double previous;
    bool has_first; /* the earliest earlier period with a value (implicit baseline) */
    int first_period;
    double first_value;
    double earlier_sum; /* Σ of values of plan years before `period` (cumulative targets) */
};

struct target_evaluation {
    enum target_status status;
    const char *rule;
    bool has_compared;
    double compared; /* the value judged: value, cumulative sum, or change */
    bool has_expected;
    double expected; /* where the plan expects `compared` this period */
    bool has_gap;
    double gap; /* how far `compared` is ahead (+) or short (−) of the deadline target */
};

void target_evaluate(const struct target *target, const struct target_context *context,
                     struct target_evaluation *out);

const char *target_status_name(enum target_status status);

#endif
