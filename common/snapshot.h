/* snapshot.h -- the document dashboards poll: one district, one period, every indicator its
 * plan targets with value, target, status, gap and completeness (api-v1.md "Snapshots").
 *
 * Building is pure: figures and the values of other periods in, a cJSON document out. The
 * worker stores the result; the version and time are stamped by whoever stores it. */
#ifndef EDUMON_SNAPSHOT_H
#define EDUMON_SNAPSHOT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "aggregate.h"
#include "catalog.h"

/* Indicator values of the district's other periods (NAN = no value), for change-per-year,
 * cumulative and implicit-baseline targets. */
struct period_values {
    int period;
    const double *values; /* catalog->indicator_count entries */
};

struct snapshot_input {
    const struct catalog *catalog;
    const struct district *district;
    int period;
    const struct figures *figures;
    const struct period_values *history; /* other periods, any order */
    size_t history_count;
};

/* Computes every indicator of the catalog for the period into `values_out`
 * (indicator_count doubles, NAN = null) and returns the snapshot document without "version"
 * and "updated_at": those are stamped atomically by the store (worker/store.c), which owns the
 * version counter. Caller owns the document (cJSON_Delete). NULL when out of memory. */
cJSON *snapshot_build(const struct snapshot_input *input, double *values_out);

#endif
