/* balance.h -- the national balanced-development evaluation (义务教育优质均衡, Ministry of
 * Education 2017) of one district and period, computed from the figures schools submit.
 *
 * The method judges a county on three things, all of which edumon can compute:
 *   - per school, 7 resource indicators (factor × numerator / pupils) against a per-stage
 *     standard; a school passes when at least `min_met` meet it and the rest reach
 *     `rest_min_fraction` of it;
 *   - per stage, the pupil-weighted coefficient of variation of each resource across schools
 *     (aggregate_weighted_cv), which must not exceed the stage's `cv_max`;
 *   - further numeric conditions (class and school size, music and art rooms per 12 classes,
 *     training funds, retention, ...), judged either on every school or on the district's
 *     ratio of sums.
 * Every threshold, and the provincial variations (teaching points left out of the CV, public
 * schools only), come from the catalog's balance.json (docs/catalog-format.md), parsed and
 * validated once at catalog load into `struct balance_rules`. The document built here says
 * what fails and by how much, and for each CV which schools pull it up most: a school's share
 * of the weighted variance Σ(Pᵢ/P)(Xᵢ−X̄)², the term the CV is the square root of.
 *
 * Building is pure (figures in, cJSON out), like snapshot_build; the worker stores the result
 * next to the snapshot and the API serves it. */
#ifndef EDUMON_BALANCE_H
#define EDUMON_BALANCE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "aggregate.h"
#include "catalog.h"

struct balance_resource {
    const char *id, *name, *name_en, *unit; /* borrowed from the catalog's JSON */
    int numerator, denominator;             /* element indexes */
    double factor;
    double standard[STAGE_COUNT]; /* per evaluated stage */
};

enum balance_scope {
    BALANCE_SCOPE_SCHOOL,  /* every school of the condition's stages must satisfy it */
    BALANCE_SCOPE_DISTRICT /* the ratio of sums over those schools must satisfy it */
};

struct balance_condition {
    const char *id, *name, *name_en, *unit;
    enum balance_scope scope;
    int element;                /* the value is this element, or -1: */
    int numerator, denominator; /* factor × numerator / denominator */
    double factor;
    enum compare_op op;
    unsigned stages;           /* bit per stage judged */
    unsigned ownership;        /* bit per ownership judged */
    double limit[STAGE_COUNT]; /* per stage (school scope), or the same in every slot */
    bool per_stage_limit;
};

struct balance_rules {
    unsigned stages; /* bit per evaluated stage (keys of "stages") */
    double cv_max[STAGE_COUNT];
    int pupils;         /* element counted as a school's pupils: CV weight, exclusion */
    unsigned ownership; /* schools evaluated at all */
    int min_met;
    double rest_min_fraction;
    double exclude_under_pupils; /* left out of the CV below this many pupils (0: none) */
    size_t top_contributors;
    struct balance_resource *resources;
    size_t resource_count;
    struct balance_condition *conditions;
    size_t condition_count;
};

/* Parses and validates balance.json against the catalog's elements (which must already be
 * loaded). Returns rules the caller frees with balance_rules_free(), or NULL with the JSON path
 * of the offending field and the reason in `error`. Strings point into `json`, which must
 * outlive the rules. */
struct balance_rules *balance_rules_parse(const cJSON *json, const struct catalog *catalog,
                                          char *error, size_t error_size);
void balance_rules_free(struct balance_rules *rules);

struct balance_input {
    const struct catalog *catalog; /* with balance_rules set */
    const struct district *district;
    int period;
    const struct figures *figures;
};

/* Builds the evaluation document (docs/plan-questions.md shows it). Caller owns it
 * (cJSON_Delete). NULL when the catalog has no balance settings or memory runs out. */
cJSON *balance_build(const struct balance_input *input);

#endif
