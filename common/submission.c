/* submission.c -- see submission.h. */
#include "submission.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "jsonutil.h"
#include "period.h"

void api_error_set(struct api_error *error, int status, const char *code, const char *field,
                   const char *format, ...)
{
    error->status = status;
    snprintf(error->code, sizeof(error->code), "%s", code);
    snprintf(error->field, sizeof(error->field), "%s", field ? field : "");
    va_list args;
    va_start(args, format);
    vsnprintf(error->message, sizeof(error->message), format, args);
    va_end(args);
}

int json_nesting_depth(const char *text, size_t length)
{
    int depth = 0, deepest = 0;
    int in_string = 0;
    for (size_t i = 0; i < length; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = 0;
            continue;
        }
        if (c == '"')
            in_string = 1;
        else if (c == '{' || c == '[') {
            if (++depth > deepest)
                deepest = depth;
        } else if (c == '}' || c == ']')
            depth--;
    }
    return deepest;
}

/* What cJSON lets through but JSON (RFC 8259) or edumon does not: nesting deeper than
 * SUBMISSION_MAX_DEPTH (refused before the recursive parser sees it, and reported first),
 * numbers with leading zeros ("012") and escaped NUL characters ("\u0000", which would
 * silently cut a C string, so that "xq-001\u0000…" would pass for "xq-001"). One pass over
 * the text. Returns 0, or -1 with `error` filled. */
static int json_check_strict(const char *text, size_t length, struct api_error *error)
{
    bool in_string = false, failed = false;
    int depth = 0, deepest = 0;
    for (size_t i = 0; i < length; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\' && i + 1 < length) {
                if (!failed && text[i + 1] == 'u' && i + 5 < length &&
                    strncmp(text + i + 2, "0000", 4) == 0) {
                    api_error_set(error, 422, "invalid_string", "",
                                  "strings may not contain NUL characters");
                    failed = true;
                }
                i++;
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        if (c == '"') {
            in_string = true;
            continue;
        }
        if (c == '{' || c == '[') {
            if (++depth > deepest)
                deepest = depth;
            continue;
        }
        if (c == '}' || c == ']') {
            depth--;
            continue;
        }
        /* A number starts after a delimiter, or after a '-' that itself follows one (so the
         * exponent of 1e-05 is not mistaken for a number). */
        const char *delimiters = " \t\r\n:[,";
        bool starts_number =
            c == '0' && (i == 0 || strchr(delimiters, text[i - 1]) ||
                         (text[i - 1] == '-' && (i == 1 || strchr(delimiters, text[i - 2]))));
        if (!failed && starts_number && i + 1 < length && text[i + 1] >= '0' &&
            text[i + 1] <= '9') {
            api_error_set(error, 400, "malformed_json", "",
                          "numbers may not have leading zeros (near byte %zu)", i);
            failed = true;
        }
    }
    if (deepest > SUBMISSION_MAX_DEPTH) {
        api_error_set(error, 400, "too_deep", "", "JSON nested deeper than %d levels",
                      SUBMISSION_MAX_DEPTH);
        return -1;
    }
    return failed ? -1 : 0;
}

/* A name taken from the request, safe to echo in an error: element and field names are plain
 * identifiers, anything else (bad UTF-8, control characters, overlong) is not repeated. */
static const char *printable_name(const char *name)
{
    return id_is_valid(name) ? name : "(not a valid name)";
}

/* Checks one value against its element: the contract's 422 cases. The error's field path
 * is built only on error (this runs for every value of every submission). */
static int parse_value(const struct element *element, const cJSON *item, double *out,
                       struct api_error *error)
{
    const char *problem = NULL, *code = "invalid_value";
    double value = 0;
    if (element->type == ELEMENT_BOOLEAN) {
        if (!cJSON_IsBool(item))
            problem = "must be true or false";
        else
            value = cJSON_IsTrue(item) ? 1 : 0;
    } else if (!cJSON_IsNumber(item)) {
        problem = "must be a number";
    } else {
        value = item->valuedouble;
        if (!isfinite(value))
            problem = "must be a finite number";
        else if (element->type == ELEMENT_INTEGER && value != floor(value))
            problem = "must be a whole number";
        else if (value < element->min || value > element->max)
            code = "out_of_range", problem = "must be between";
    }
    if (!problem) {
        *out = value;
        return 0;
    }
    char field[128];
    snprintf(field, sizeof(field), "values.%s", element->id);
    if (strcmp(code, "out_of_range") == 0)
        api_error_set(error, 422, code, field, "%s must be between %.15g and %.15g", element->id,
                      element->min, element->max);
    else
        api_error_set(error, 422, code, field, "%s %s", element->id, problem);
    return -1;
}

static int parse_values(const struct catalog *catalog, const cJSON *values, struct submission *out,
                        struct api_error *error)
{
    if (!cJSON_IsObject(values)) {
        api_error_set(error, 400, "invalid_shape", "values",
                      "values must be an object of element: value");
        return -1;
    }
    int count = cJSON_GetArraySize(values);
    if (count == 0) {
        api_error_set(error, 422, "no_values", "values", "values must name at least one element");
        return -1;
    }
    if (count > SUBMISSION_MAX_VALUES) {
        api_error_set(error, 422, "too_many_values", "values", "at most %d values per submission",
                      SUBMISSION_MAX_VALUES);
        return -1;
    }
    out->value_count = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, values)
    {
        int element = catalog_find_element(catalog, item->string);
        bool duplicate = false;
        for (size_t i = 0; element >= 0 && i < out->value_count && !duplicate; i++)
            duplicate = out->values[i].element == element;
        if (element < 0 || duplicate) {
            char field[128];
            snprintf(field, sizeof(field), "values.%s", printable_name(item->string));
            if (element < 0)
                api_error_set(error, 422, "unknown_element", field, "unknown element \"%s\"",
                              printable_name(item->string));
            else
                api_error_set(error, 422, "duplicate_element", field,
                              "element \"%s\" appears twice", printable_name(item->string));
            return -1;
        }
        struct submission_value *value = &out->values[out->value_count];
        value->element = element;
        if (parse_value(&catalog->elements[element], item, &value->value, error) != 0)
            return -1;
        out->value_count++;
    }
    return 0;
}

static int parse_object(const struct catalog *catalog, const cJSON *root, struct submission *out,
                        struct api_error *error)
{
    if (!cJSON_IsObject(root)) {
        api_error_set(error, 400, "invalid_shape", "", "the body must be a JSON object");
        return -1;
    }
    const cJSON *item;
    int seen[3] = {0, 0, 0};
    static const char *const fields[3] = {"school", "period", "values"};
    cJSON_ArrayForEach(item, root)
    {
        int known = -1;
        for (int f = 0; f < 3; f++)
            if (strcmp(item->string, fields[f]) == 0)
                known = f;
        if (known < 0) {
            api_error_set(error, 400, "unknown_field", printable_name(item->string),
                          "unknown field \"%s\" (expected school, period, values)",
                          printable_name(item->string));
            return -1;
        }
        if (seen[known]++) {
            api_error_set(error, 400, "duplicate_field", fields[known],
                          "field \"%s\" appears twice", fields[known]);
            return -1;
        }
    }
    const cJSON *school = cJSON_GetObjectItemCaseSensitive(root, "school");
    if (!cJSON_IsString(school)) {
        api_error_set(error, 400, "invalid_shape", "school", "school must be a string");
        return -1;
    }
    if (!id_is_valid(school->valuestring)) {
        api_error_set(error, 422, "invalid_id", "school",
                      "school must be 1-64 letters, digits, '-' or '_'");
        return -1;
    }
    snprintf(out->school, sizeof(out->school), "%s", school->valuestring);
    const cJSON *period = cJSON_GetObjectItemCaseSensitive(root, "period");
    if (!cJSON_IsString(period)) {
        api_error_set(error, 400, "invalid_shape", "period", "period must be a string \"YYYY\"");
        return -1;
    }
    out->period = period_parse(period->valuestring);
    if (out->period < 0) {
        api_error_set(error, 422, "invalid_period", "period",
                      "period must be a year \"YYYY\" between %d and %d", PERIOD_MIN, PERIOD_MAX);
        return -1;
    }
    return parse_values(catalog, cJSON_GetObjectItemCaseSensitive(root, "values"), out, error);
}

/* ---- the fast path: a submission as clients send it ------------------------------------
 *
 * A direct scan of the one shape a valid submission has, without building a tree: plain
 * strings (no escapes, no control characters), JSON numbers as RFC 8259 writes them, JSON
 * whitespace. It either accepts, with exactly the result the general parser below would give,
 * or declines (returns 1) and leaves the text, errors included, to the general parser. */

struct scan {
    const char *at, *end;
};

static void scan_space(struct scan *scan)
{
    while (scan->at < scan->end &&
           (*scan->at == ' ' || *scan->at == '\t' || *scan->at == '\n' || *scan->at == '\r'))
        scan->at++;
}

static bool scan_char(struct scan *scan, char c)
{
    scan_space(scan);
    if (scan->at >= scan->end || *scan->at != c)
        return false;
    scan->at++;
    return true;
}

/* A plain string into `out` (NUL-terminated, at most size - 1 bytes). */
static bool scan_string(struct scan *scan, char *out, size_t size)
{
    if (!scan_char(scan, '"'))
        return false;
    const char *start = scan->at;
    scan->at += json_plain_run(scan->at, (size_t)(scan->end - scan->at));
    size_t length = (size_t)(scan->at - start);
    if (scan->at >= scan->end || *scan->at != '"' || length >= size)
        return false;
    memcpy(out, start, length);
    out[length] = '\0';
    scan->at++;
    return true;
}

static bool scan_digits(struct scan *scan)
{
    const char *start = scan->at;
    while (scan->at < scan->end && *scan->at >= '0' && *scan->at <= '9')
        scan->at++;
    return scan->at > start;
}

/* The value of a plain decimal ("-12", "0.95", "3.140"): no exponent, at most 15 digits in
 * all. Then the digits as a whole number and the power of ten are both exact doubles, and one
 * IEEE division rounds correctly: the same double strtod gives, at a fraction of the cost.
 * False for anything else (strtod decides). */
static bool exact_decimal(const char *text, size_t length, double *value)
{
    static const double powers_of_ten[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                           1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    const char *at = text, *end = text + length;
    bool negative = at < end && *at == '-';
    at += negative;
    long long whole = 0;
    int digits = 0, fraction = -1; /* fraction: digits after the point, -1 before it */
    for (; at < end; at++) {
        if (*at == '.' && fraction < 0) {
            fraction = 0;
            continue;
        }
        if (*at < '0' || *at > '9' || ++digits > 15)
            return false;
        whole = whole * 10 + (*at - '0');
        fraction += fraction >= 0;
    }
    if (digits == 0)
        return false;
    double magnitude = (double)whole / powers_of_ten[fraction > 0 ? fraction : 0];
    *value = negative ? -magnitude : magnitude;
    return true;
}

/* A value: true / false (is_bool set) or an RFC 8259 number, converted as cJSON does. */
static bool scan_value(struct scan *scan, bool *is_bool, double *value)
{
    scan_space(scan);
    size_t left = (size_t)(scan->end - scan->at);
    *is_bool = false;
    if (left >= 4 && memcmp(scan->at, "true", 4) == 0) {
        scan->at += 4, *is_bool = true, *value = 1;
        return true;
    }
    if (left >= 5 && memcmp(scan->at, "false", 5) == 0) {
        scan->at += 5, *is_bool = true, *value = 0;
        return true;
    }
    const char *start = scan->at;
    if (scan->at < scan->end && *scan->at == '-')
        scan->at++;
    if (scan->at < scan->end && *scan->at == '0')
        scan->at++;
    else if (!scan_digits(scan))
        return false;
    if (scan->at < scan->end && *scan->at == '.') {
        scan->at++;
        if (!scan_digits(scan))
            return false;
    }
    if (scan->at < scan->end && (*scan->at == 'e' || *scan->at == 'E')) {
        scan->at++;
        if (scan->at < scan->end && (*scan->at == '+' || *scan->at == '-'))
            scan->at++;
        if (!scan_digits(scan))
            return false;
    }
    /* What may follow a number here; anything else (a leading zero's digits, "1.5.5") is for
     * the general parser to judge. cJSON reads at most 63 characters of a number. */
    size_t length = (size_t)(scan->at - start);
    if (length >= 64 || (scan->at < scan->end && !strchr(" \t\r\n,}", *scan->at)))
        return false;
    if (exact_decimal(start, length, value))
        return true;
    char text[64];
    memcpy(text, start, length);
    text[length] = '\0';
    char *after = NULL;
    *value = strtod(text, &after);
    return after == text + length;
}

/* values: {"element": value, ...}, every element known, once, and its value valid. */
static bool scan_values(const struct catalog *catalog, struct scan *scan, struct submission *out)
{
    if (!scan_char(scan, '{'))
        return false;
    out->value_count = 0;
    do {
        char name[128];
        bool is_bool;
        double value;
        if (out->value_count == SUBMISSION_MAX_VALUES || !scan_string(scan, name, sizeof(name)) ||
            !scan_char(scan, ':') || !scan_value(scan, &is_bool, &value))
            return false;
        int element = catalog_find_element(catalog, name);
        if (element < 0)
            return false;
        for (size_t i = 0; i < out->value_count; i++)
            if (out->values[i].element == element)
                return false;
        const struct element *definition = &catalog->elements[element];
        bool boolean = definition->type == ELEMENT_BOOLEAN;
        if (is_bool != boolean ||
            (!boolean && (!isfinite(value) || value < definition->min || value > definition->max ||
                          (definition->type == ELEMENT_INTEGER && value != floor(value)))))
            return false;
        out->values[out->value_count].element = element;
        out->values[out->value_count].value = value;
        out->value_count++;
    } while (scan_char(scan, ','));
    return scan_char(scan, '}');
}

int submission_parse_fast(const struct catalog *catalog, const char *body, size_t length,
                          struct submission *out)
{
    struct scan scan = {body, body + length};
    bool seen[3] = {false, false, false}; /* school, period, values */
    if (!scan_char(&scan, '{'))
        return 1;
    do {
        char name[8];
        if (!scan_string(&scan, name, sizeof(name)) || !scan_char(&scan, ':'))
            return 1;
        if (strcmp(name, "school") == 0 && !seen[0]) {
            char school[SCHOOL_ID_MAX + 2];
            if (!scan_string(&scan, school, sizeof(school)) || !id_is_valid(school))
                return 1;
            memcpy(out->school, school, strlen(school) + 1);
            seen[0] = true;
        } else if (strcmp(name, "period") == 0 && !seen[1]) {
            char period[16];
            if (!scan_string(&scan, period, sizeof(period)))
                return 1;
            out->period = period_parse(period);
            if (out->period < 0)
                return 1;
            seen[1] = true;
        } else if (strcmp(name, "values") == 0 && !seen[2]) {
            if (!scan_values(catalog, &scan, out))
                return 1;
            seen[2] = true;
        } else {
            return 1;
        }
    } while (scan_char(&scan, ','));
    if (!scan_char(&scan, '}') || !seen[0] || !seen[1] || !seen[2])
        return 1;
    scan_space(&scan);
    return scan.at == scan.end ? 0 : 1;
}

int submission_parse(const struct catalog *catalog, const char *body, size_t length,
                     struct submission *out, struct api_error *error)
{
    if (submission_parse_fast(catalog, body, length, out) == 0)
        return 0;
    return submission_parse_general(catalog, body, length, out, error);
}

int submission_parse_general(const struct catalog *catalog, const char *body, size_t length,
                             struct submission *out, struct api_error *error)
{
    if (json_check_strict(body, length, error) != 0)
        return -1;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, length, &end, 0);
    if (!root) {
        api_error_set(error, 400, "malformed_json", "",
                      "the body is not valid JSON (near byte %ld)", end ? (long)(end - body) : 0L);
        return -1;
    }
    /* Only whitespace may follow the document. */
    for (const char *p = end; p && p < body + length; p++) {
        if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t') {
            cJSON_Delete(root);
            api_error_set(error, 400, "malformed_json", "", "unexpected data after the JSON body");
            return -1;
        }
    }
    int result = parse_object(catalog, root, out, error);
    cJSON_Delete(root);
    return result;
}

int submission_check_value(const struct element *element, const cJSON *item, double *out,
                           struct api_error *error)
{
    return parse_value(element, item, out, error);
}

int submission_authorize(const struct catalog *catalog, const struct submission *submission,
                         const struct school *school, struct api_error *error)
{
    return submission_values_authorize(catalog, submission->values, submission->value_count,
                                       school->stage, error);
}

int submission_values_authorize(const struct catalog *catalog,
                                const struct submission_value *values, size_t count,
                                enum stage stage, struct api_error *error)
{
    for (size_t i = 0; i < count; i++) {
        const struct element *element = &catalog->elements[values[i].element];
        if (!(element->stages & (1u << stage))) {
            char field[128];
            snprintf(field, sizeof(field), "values.%s", element->id);
            api_error_set(error, 403, "element_not_allowed", field, "a %s unit may not report %s",
                          stage_name(stage), element->id);
            return -1;
        }
    }
    return 0;
}

char *submission_render(const struct catalog *catalog, const struct submission *submission)
{
    cJSON *root = cJSON_CreateObject();
    char period[8];
    snprintf(period, sizeof(period), "%04d", submission->period);
    cJSON_AddStringToObject(root, "school", submission->school);
    cJSON_AddStringToObject(root, "period", period);
    cJSON *values = cJSON_AddObjectToObject(root, "values");
    for (size_t i = 0; i < submission->value_count; i++) {
        const struct element *element = &catalog->elements[submission->values[i].element];
        if (element->type == ELEMENT_BOOLEAN)
            cJSON_AddBoolToObject(values, element->id, submission->values[i].value != 0);
        else
            json_add_number(values, element->id, submission->values[i].value);
    }
    char *printed = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return printed;
}
