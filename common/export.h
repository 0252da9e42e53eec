/* export.h -- a district's snapshot and balanced-development documents as CSV, for people who
 * live in Excel (GET /v1/districts/{id}/snapshot.csv and balance.csv).
 *
 * The CSV is derived from the stored JSON document, not recomputed, so the two never disagree
 * and both carry the same version. It begins with a UTF-8 byte-order mark (without it Excel
 * reads the Chinese names in the local code page), uses CRLF, and puts one fact per row with
 * the same columns on every row, so that a pivot table or a filter works on it directly.
 * Numbers keep full precision; rounding is for displays. */
#ifndef EDUMON_EXPORT_H
#define EDUMON_EXPORT_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* One row per indicator of the snapshot. Caller frees with free(); NULL when out of memory. */
char *export_snapshot_csv(const cJSON *snapshot, size_t *length);

/* Rows for the verdict, every CV, its top contributors, every school × resource, every school's
 * pass, every condition and each school failing it. Caller frees with free(). */
char *export_balance_csv(const cJSON *balance, size_t *length);

#endif
