/* import.h -- bulk figures: a CSV file `school,period,element,value` (what a district bureau
 * keeps in a spreadsheet) turned into one submission per (school, period), with every line
 * that cannot be taken named by its line number and reason.
 *
 * The file is judged line by line with exactly the rules of a JSON submission (ids, period,
 * catalog element, the element's type and bounds: submission_check_value), so a figure the
 * API would refuse as JSON is refused here too. What needs the registry or the stored figures
 * (unknown school, a school outside the caller's district, an element the school's stage may
 * not report, whether a value is new, changed or unchanged) is decided by the API afterwards,
 * which marks lines through import_reject_line / import_reject_group. Nothing here touches
 * Redis, so the importer can be unit-tested and fuzzed on its own. */
#ifndef EDUMON_IMPORT_H
#define EDUMON_IMPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "catalog.h"
#include "submission.h"

#define IMPORT_MAX_LINES     100000
#define IMPORT_MAX_CONFLICTS 1000 /* listed in full; the total is always counted */

struct import_conflict {
    size_t line;
    char field[16]; /* the column at fault (school, period, element, value) or "" */
    char value[96]; /* the text at fault, truncated */
    char code[48];
    char message[256];
};

enum import_outcome { IMPORT_NEW, IMPORT_UPDATED, IMPORT_UNCHANGED };

struct import_value {
    size_t line;
    int element; /* index into the catalog's elements */
    double value;
    bool rejected;
    enum import_outcome outcome; /* set by the caller from the stored figures */
};

struct import_group {
    char school[SCHOOL_ID_MAX + 1];
    int period;
    struct import_value *values;
    size_t value_count, value_capacity;
    size_t accepted; /* values not rejected */
};

struct import_batch {
    struct import_group *groups;
    size_t group_count, group_capacity;
    struct import_conflict *conflicts; /* the first IMPORT_MAX_CONFLICTS */
    size_t conflict_count, conflict_total;
    size_t *rejected_lines; /* unsorted, may repeat; see import_rejected_lines */
    size_t rejected_count, rejected_capacity;
    size_t line_count; /* data lines (header and blank lines excluded) */
    bool failed;       /* out of memory while recording */
};

/* Parses and checks the file. Returns 0 with `out` filled (free with import_batch_free), or -1
 * with `error` for a problem with the file as a whole: not CSV (400 malformed_csv), a header
 * other than the four columns (422 invalid_header), no data line (422 no_values). */
int import_parse(const struct catalog *catalog, const char *data, size_t length,
                 struct import_batch *out, struct api_error *error);
void import_batch_free(struct import_batch *batch);

/* Records a conflict on `line` and marks the line rejected. */
void import_reject_line(struct import_batch *batch, size_t line, const char *field,
                        const char *value, const char *code, const char *message);

/* Rejects every line of a group with the same reason (field "school"). */
void import_reject_group(struct import_batch *batch, size_t group, const char *code,
                         const char *message);

/* Rejects one value of a group (and its line). */
void import_reject_value(struct import_batch *batch, size_t group, size_t value, const char *field,
                         const char *text, const char *code, const char *message);

/* Fills `out` with the group's values that were not rejected. Returns their number. */
size_t import_group_submission(const struct import_group *group, struct submission *out);

/* Sorts and de-duplicates the rejected lines in place; returns how many remain. */
size_t import_rejected_lines(struct import_batch *batch);

#endif
