/* import.c -- see import.h. */
#include "import.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "csv.h"
#include "period.h"

enum column { COLUMN_SCHOOL, COLUMN_PERIOD, COLUMN_ELEMENT, COLUMN_VALUE, COLUMN_COUNT };

static const char *const column_names[COLUMN_COUNT] = {"school", "period", "element", "value"};

/* ---- recording conflicts ------------------------------------------------------------------ */

static void mark_rejected(struct import_batch *batch, size_t line)
{
    if (batch->rejected_count == batch->rejected_capacity) {
        size_t capacity = batch->rejected_capacity ? batch->rejected_capacity * 2 : 64;
        size_t *lines = realloc(batch->rejected_lines, capacity * sizeof(size_t));
        if (!lines) {
            batch->failed = true;
            return;
        }
        batch->rejected_lines = lines;
        batch->rejected_capacity = capacity;
    }
    batch->rejected_lines[batch->rejected_count++] = line;
}

void import_reject_line(struct import_batch *batch, size_t line, const char *field,
                        const char *value, const char *code, const char *message)
{
    mark_rejected(batch, line);
    batch->conflict_total++;
    if (batch->conflict_count == IMPORT_MAX_CONFLICTS)
        return;
    if (!batch->conflicts) {
        batch->conflicts = calloc(IMPORT_MAX_CONFLICTS, sizeof(struct import_conflict));
        if (!batch->conflicts) {
            batch->failed = true;
            return;
        }
    }
    struct import_conflict *conflict = &batch->conflicts[batch->conflict_count++];
    conflict->line = line;
    snprintf(conflict->field, sizeof(conflict->field), "%s", field ? field : "");
    /* Truncate at a character boundary: never cut a UTF-8 sequence in two. */
    size_t length = value ? strlen(value) : 0;
    if (length >= sizeof(conflict->value)) {
        length = sizeof(conflict->value) - 1;
        while (length > 0 && ((unsigned char)value[length] & 0xC0) == 0x80)
            length--;
    }
    if (length)
        memcpy(conflict->value, value, length);
    conflict->value[length] = '\0';
    snprintf(conflict->code, sizeof(conflict->code), "%s", code);
    snprintf(conflict->message, sizeof(conflict->message), "%s", message);
}

void import_reject_value(struct import_batch *batch, size_t group, size_t value, const char *field,
                         const char *text, const char *code, const char *message)
{
    struct import_value *item = &batch->groups[group].values[value];
    if (item->rejected)
        return;
    item->rejected = true;
    batch->groups[group].accepted--;
    import_reject_line(batch, item->line, field, text, code, message);
}

void import_reject_group(struct import_batch *batch, size_t group, const char *code,
                         const char *message)
{
    struct import_group *target = &batch->groups[group];
    for (size_t v = 0; v < target->value_count; v++)
        import_reject_value(batch, group, v, "school", target->school, code, message);
}

static int compare_lines(const void *left, const void *right)
{
    size_t a = *(const size_t *)left, b = *(const size_t *)right;
    return (a > b) - (a < b);
}

size_t import_rejected_lines(struct import_batch *batch)
{
    if (batch->rejected_count == 0)
        return 0;
    qsort(batch->rejected_lines, batch->rejected_count, sizeof(size_t), compare_lines);
    size_t kept = 1;
    for (size_t i = 1; i < batch->rejected_count; i++)
        if (batch->rejected_lines[i] != batch->rejected_lines[kept - 1])
            batch->rejected_lines[kept++] = batch->rejected_lines[i];
    batch->rejected_count = kept;
    return kept;
}

/* ---- one line ------------------------------------------------------------------------------ */

static char *trim(char *text)
{
    while (*text == ' ' || *text == '\t')
        text++;
    size_t length = strlen(text);
    while (length > 0 && (text[length - 1] == ' ' || text[length - 1] == '\t'))
        text[--length] = '\0';
    return text;
}

/* A plain decimal: [+-]digits[.digits][e[+-]digits]. strtod alone would also take hex, "inf"
 * and "nan", which no spreadsheet writes for a count. */
static bool number_syntax(const char *text)
{
    const char *p = text;
    if (*p == '+' || *p == '-')
        p++;
    size_t digits = 0;
    while (*p >= '0' && *p <= '9')
        p++, digits++;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9')
            p++, digits++;
    }
    if (digits == 0)
        return false;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

/* The text as the JSON value a client would have sent, so that one validator judges both. */
static cJSON *value_item(const struct element *element, const char *text)
{
    if (element->type == ELEMENT_BOOLEAN) {
        if (strcasecmp(text, "true") == 0 || strcmp(text, "1") == 0)
            return cJSON_CreateTrue();
        if (strcasecmp(text, "false") == 0 || strcmp(text, "0") == 0)
            return cJSON_CreateFalse();
        return cJSON_CreateString(text);
    }
    if (!number_syntax(text))
        return cJSON_CreateString(text);
    return cJSON_CreateNumber(strtod(text, NULL));
}

static struct import_group *find_group(struct import_batch *batch, const char *school, int period,
                                       size_t *index)
{
    /* Newest first: files are usually sorted by school, so the match is nearly always the last
     * group created. */
    for (size_t i = batch->group_count; i-- > 0;) {
        if (batch->groups[i].period == period && strcmp(batch->groups[i].school, school) == 0) {
            *index = i;
            return &batch->groups[i];
        }
    }
    if (batch->group_count == batch->group_capacity) {
        size_t capacity = batch->group_capacity ? batch->group_capacity * 2 : 16;
        struct import_group *groups = realloc(batch->groups, capacity * sizeof(*groups));
        if (!groups)
            return NULL;
        batch->groups = groups;
        batch->group_capacity = capacity;
    }
    struct import_group *group = &batch->groups[batch->group_count];
    memset(group, 0, sizeof(*group));
    snprintf(group->school, sizeof(group->school), "%s", school);
    group->period = period;
    *index = batch->group_count++;
    return group;
}

static int add_value(struct import_batch *batch, const char *school, int period, size_t line,
                     int element, double value, const struct catalog *catalog)
{
    size_t index = 0;
    struct import_group *group = find_group(batch, school, period, &index);
    if (!group)
        return -1;
    for (size_t v = 0; v < group->value_count; v++) {
        if (group->values[v].element == element) {
            char message[160];
            snprintf(message, sizeof(message), "%s for this school and period is also on line %zu",
                     catalog->elements[element].id, group->values[v].line);
            import_reject_line(batch, line, "element", catalog->elements[element].id,
                               "duplicate_element", message);
            return 0;
        }
    }
    if (group->value_count == SUBMISSION_MAX_VALUES) {
        import_reject_line(batch, line, "element", catalog->elements[element].id, "too_many_values",
                           "too many figures for one school and period");
        return 0;
    }
    if (group->value_count == group->value_capacity) {
        size_t capacity = group->value_capacity ? group->value_capacity * 2 : 16;
        struct import_value *values = realloc(group->values, capacity * sizeof(*values));
        if (!values)
            return -1;
        group->values = values;
        group->value_capacity = capacity;
    }
    group->values[group->value_count++] =
        (struct import_value){line, element, value, false, IMPORT_NEW};
    group->accepted++;
    return 0;
}

/* Checks one data line. Returns -1 only when memory runs out. */
static int import_line(const struct catalog *catalog, struct import_batch *batch,
                       const struct csv_record *record, const int *columns)
{
    size_t line = record->line;
    if (record->field_count != COLUMN_COUNT) {
        char message[128];
        snprintf(message, sizeof(message),
                 "expected 4 fields (school, period, element, value), found %zu",
                 record->field_count);
        import_reject_line(batch, line, "", "", "wrong_field_count", message);
        return 0;
    }
    char *school = trim(record->fields[columns[COLUMN_SCHOOL]]);
    char *period_text = trim(record->fields[columns[COLUMN_PERIOD]]);
    char *element_id = trim(record->fields[columns[COLUMN_ELEMENT]]);
    char *value_text = trim(record->fields[columns[COLUMN_VALUE]]);
    if (!id_is_valid(school)) {
        import_reject_line(batch, line, "school", school, "invalid_id",
                           "school must be 1-64 letters, digits, '-' or '_'");
        return 0;
    }
    int period = period_parse(period_text);
    if (period < 0) {
        char message[96];
        snprintf(message, sizeof(message), "period must be a year YYYY between %d and %d",
                 PERIOD_MIN, PERIOD_MAX);
        import_reject_line(batch, line, "period", period_text, "invalid_period", message);
        return 0;
    }
    int element = catalog_find_element(catalog, element_id);
    if (element < 0) {
        import_reject_line(batch, line, "element", element_id, "unknown_element",
                           "no such element in the catalog");
        return 0;
    }
    if (!*value_text) {
        import_reject_line(batch, line, "value", "", "missing_value", "the value is empty");
        return 0;
    }
    cJSON *item = value_item(&catalog->elements[element], value_text);
    if (!item)
        return -1;
    double value = 0;
    struct api_error error;
    int checked = submission_check_value(&catalog->elements[element], item, &value, &error);
    cJSON_Delete(item);
    if (checked != 0) {
        import_reject_line(batch, line, "value", value_text, error.code, error.message);
        return 0;
    }
    return add_value(batch, school, period, line, element, value, catalog);
}

/* ---- the file ------------------------------------------------------------------------------ */

static bool record_is_blank(const struct csv_record *record)
{
    for (size_t i = 0; i < record->field_count; i++)
        if (*trim(record->fields[i]))
            return false;
    return true;
}

/* The header names the four columns, in any order, once each. */
static int read_header(const struct csv_record *header, int *columns, struct api_error *error)
{
    for (int c = 0; c < COLUMN_COUNT; c++)
        columns[c] = -1;
    bool valid = header->field_count == COLUMN_COUNT;
    for (size_t i = 0; valid && i < header->field_count; i++) {
        const char *name = trim(header->fields[i]);
        int column = -1;
        for (int c = 0; c < COLUMN_COUNT; c++)
            if (strcasecmp(name, column_names[c]) == 0)
                column = c;
        valid = column >= 0 && columns[column] < 0;
        if (valid)
            columns[column] = (int)i;
    }
    if (!valid)
        api_error_set(error, 422, "invalid_header", "header",
                      "the first line must name the columns school,period,element,value");
    return valid ? 0 : -1;
}

int import_parse(const struct catalog *catalog, const char *data, size_t length,
                 struct import_batch *out, struct api_error *error)
{
    memset(out, 0, sizeof(*out));
    struct csv_document document;
    struct csv_error csv_error = {0, ""};
    if (csv_parse(data, length, IMPORT_MAX_LINES + 1, &document, &csv_error) != 0) {
        api_error_set(error, 400, "malformed_csv", "body", "line %zu: %s", csv_error.line,
                      csv_error.message);
        return -1;
    }
    size_t first = 0;
    while (first < document.record_count && record_is_blank(&document.records[first]))
        first++;
    int columns[COLUMN_COUNT];
    int result = 0;
    if (first == document.record_count) {
        api_error_set(error, 422, "no_values", "body", "the file is empty");
        result = -1;
    } else {
        result = read_header(&document.records[first], columns, error);
    }
    for (size_t r = first + 1; result == 0 && r < document.record_count; r++) {
        if (record_is_blank(&document.records[r]))
            continue;
        out->line_count++;
        if (import_line(catalog, out, &document.records[r], columns) != 0 || out->failed) {
            api_error_set(error, 503, "unavailable", NULL, "out of memory");
            result = -1;
        }
    }
    if (result == 0 && out->line_count == 0) {
        api_error_set(error, 422, "no_values", "body", "the file has a header but no figures");
        result = -1;
    }
    csv_document_free(&document);
    if (result != 0)
        import_batch_free(out);
    return result;
}

void import_batch_free(struct import_batch *batch)
{
    for (size_t g = 0; g < batch->group_count; g++)
        free(batch->groups[g].values);
    free(batch->groups);
    free(batch->conflicts);
    free(batch->rejected_lines);
    memset(batch, 0, sizeof(*batch));
}

size_t import_group_submission(const struct import_group *group, struct submission *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->school, sizeof(out->school), "%s", group->school);
    out->period = group->period;
    for (size_t v = 0; v < group->value_count && out->value_count < SUBMISSION_MAX_VALUES; v++) {
        if (group->values[v].rejected)
            continue;
        out->values[out->value_count].element = group->values[v].element;
        out->values[out->value_count].value = group->values[v].value;
        out->value_count++;
    }
    return out->value_count;
}
