/* submission.h -- validating a school's figures.
 *
 * The one validator of a submission, used by the API before anything is written and by the
 * worker again when it applies an entry (the catalog may have changed in between; an entry
 * that no longer validates is a poison entry, not a crash). Validation is complete before a
 * single byte is queued: shape, period, every element and value. Errors carry the HTTP status
 * of the contract and the JSON path of the field at fault. */
#ifndef EDUMON_SUBMISSION_H
#define EDUMON_SUBMISSION_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "catalog.h"
#include "school.h"

#define SUBMISSION_MAX_VALUES 512
#define SUBMISSION_MAX_DEPTH  8

/* An error that reaches a client: status, code, message and the field at fault. */
struct api_error {
    int status;
    char code[48];
    char message[256];
    char field[128];
};

void api_error_set(struct api_error *error, int status, const char *code, const char *field,
                   const char *format, ...) __attribute__((format(printf, 5, 6)));

struct submission_value {
    int element; /* index into the catalog's elements */
    double value;
};

struct submission {
    char school[SCHOOL_ID_MAX + 1];
    int period;
    size_t value_count;
    struct submission_value values[SUBMISSION_MAX_VALUES];
};

/* Parses and validates a submission body against the catalog: 400 for malformed JSON or a
 * wrong shape, 422 for an unknown element, a value of the wrong type or out of bounds, or a
 * bad period. Returns 0, or -1 with `error` filled. */
int submission_parse(const struct catalog *catalog, const char *body, size_t length,
                     struct submission *out, struct api_error *error);

/* submission_parse is these two: a fast path for a submission as clients send it (plain
 * strings, RFC 8259 numbers, every element known and valid), which returns 0 with `out`
 * filled or 1 to decline, and the general parser (cJSON), which gives every other text its
 * answer or error. Whenever the fast path accepts, the general parser accepts the same text
 * with the same result (tests/fuzz/fuzz_submission.c checks it). */
int submission_parse_fast(const struct catalog *catalog, const char *body, size_t length,
                          struct submission *out);
int submission_parse_general(const struct catalog *catalog, const char *body, size_t length,
                             struct submission *out, struct api_error *error);

/* Checks one value against its element: a boolean for boolean elements, else a finite number,
 * whole for integer elements, within the bounds (the contract's 422 cases, `field`
 * "values.<element>"). Shared by JSON submissions and CSV imports (import.c). */
int submission_check_value(const struct element *element, const cJSON *item, double *out,
                           struct api_error *error);

/* Checks that `school` may report every element of the submission (403 otherwise). */
int submission_authorize(const struct catalog *catalog, const struct submission *submission,
                         const struct school *school, struct api_error *error);

/* submission_authorize for `count` values held elsewhere, by a unit of `stage`. */
int submission_values_authorize(const struct catalog *catalog,
                                const struct submission_value *values, size_t count,
                                enum stage stage, struct api_error *error);

/* Renders the normalised submission as compact JSON {"school","period","values"}.
 * Caller frees with cJSON_free(). */
char *submission_render(const struct catalog *catalog, const struct submission *submission);

/* The deepest nesting of arrays/objects in a JSON text (strings are skipped). Used to refuse
 * hostile documents before handing them to a recursive parser. */
int json_nesting_depth(const char *text, size_t length);

#endif
