/* school.h -- reporting units. A school is one reporting unit of one district with a
 * stage (a nine-year school registers one unit per stage) and an ownership; the district
 * bureau itself registers as a unit of stage "office". Records are immutable once
 * registered except for the token hash, which rotation replaces. */
#ifndef EDUMON_SCHOOL_H
#define EDUMON_SCHOOL_H

#include <stdbool.h>
#include <stddef.h>

enum stage {
    STAGE_KINDERGARTEN,
    STAGE_PRIMARY,
    STAGE_JUNIOR,
    STAGE_SENIOR,
    STAGE_VOCATIONAL,
    STAGE_SPECIAL,
    STAGE_OFFICE,
    STAGE_COUNT
};

enum ownership { OWNERSHIP_PUBLIC, OWNERSHIP_PRIVATE, OWNERSHIP_COUNT };

#define SCHOOL_ID_MAX   64
#define SCHOOL_NAME_MAX 200 /* bytes of UTF-8 */

struct school {
    char id[SCHOOL_ID_MAX + 1];
    char district[SCHOOL_ID_MAX + 1];
    char name[SCHOOL_NAME_MAX + 1];
    enum stage stage;
    enum ownership ownership;
    char token_hash[65]; /* hex SHA-256 of the current token; empty when unknown */
};

/* Returns the stage for its contract name, or -1. */
int stage_parse(const char *name);
const char *stage_name(enum stage stage);
int ownership_parse(const char *name);
const char *ownership_name(enum ownership ownership);

/* Identifiers of schools, districts, elements and indicators: 1..64 of [A-Za-z0-9_-]. */
bool id_is_valid(const char *text);

/* True when `text` (NUL-terminated) is well-formed UTF-8 without control characters. */
bool text_is_clean_utf8(const char *text);

/* Parses a stored school record. Returns 0, or -1 if the JSON is not a valid record. */
int school_from_json(const char *json, size_t length, struct school *out);

/* Serialises a school; the token hash is included only when `with_token_hash`.
 * Caller frees with cJSON_free(). */
char *school_to_json(const struct school *school, bool with_token_hash);

#endif
