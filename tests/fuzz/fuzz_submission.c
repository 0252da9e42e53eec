/* fuzz_submission.c -- submission_parse (the one validator of a school's figures, run by the
 * API on every request body and by the worker on every stream entry), submission_render and
 * submission_authorize.
 *
 * Invariants: a refusal is a 400/422 with a code, message and field; an accepted submission
 * satisfies every rule of the contract (valid id, period in range, 1..512 distinct known
 * elements, finite values within bounds, whole for integers, 0/1 for booleans); rendering it
 * and parsing the rendering gives the same submission, and rendering that again gives the
 * same bytes (the queued body is a fixed point); authorisation agrees with the elements'
 * stages; and whenever the fast path accepts a text, the general parser accepts it too with
 * bit-for-bit the same submission (the fast path may only decline, never differ). */
#include <math.h>

#include <cjson/cJSON.h>

#include "fuzz_common.h"
#include "period.h"
#include "school.h"
#include "submission.h"

static struct catalog *catalog;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    catalog = fuzz_load_catalog();
    return 0;
}

static void check_error(const struct api_error *error)
{
    FUZZ_CHECK(error->status == 400 || error->status == 422, "status %d", error->status);
    FUZZ_CHECK(error->code[0] != '\0', "empty error code");
    FUZZ_CHECK(memchr(error->code, 0, sizeof(error->code)), "code not terminated");
    FUZZ_CHECK(memchr(error->message, 0, sizeof(error->message)), "message not terminated");
    FUZZ_CHECK(memchr(error->field, 0, sizeof(error->field)), "field not terminated");
    FUZZ_CHECK(error->message[0] != '\0', "empty message for %s", error->code);
}

static void check_valid(const struct submission *submission)
{
    FUZZ_CHECK(id_is_valid(submission->school), "accepted school id \"%s\"", submission->school);
    FUZZ_CHECK(submission->period >= PERIOD_MIN && submission->period <= PERIOD_MAX,
               "accepted period %d", submission->period);
    FUZZ_CHECK(submission->value_count >= 1 && submission->value_count <= SUBMISSION_MAX_VALUES,
               "accepted %zu values", submission->value_count);
    for (size_t i = 0; i < submission->value_count; i++) {
        const struct submission_value *value = &submission->values[i];
        FUZZ_CHECK(value->element >= 0 && (size_t)value->element < catalog->element_count,
                   "element index %d", value->element);
        const struct element *element = &catalog->elements[value->element];
        FUZZ_CHECK(isfinite(value->value), "%s = %g", element->id, value->value);
        FUZZ_CHECK(value->value >= element->min && value->value <= element->max,
                   "%s = %.17g outside [%g, %g]", element->id, value->value, element->min,
                   element->max);
        if (element->type != ELEMENT_NUMBER)
            FUZZ_CHECK(value->value == floor(value->value), "%s = %.17g not whole", element->id,
                       value->value);
        if (element->type == ELEMENT_BOOLEAN)
            FUZZ_CHECK(value->value == 0 || value->value == 1, "%s = %g", element->id,
                       value->value);
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(submission->values[j].element != value->element, "%s twice", element->id);
    }
}

/* The fast path against the general parser on the same text. */
static void check_fast_path(const char *text, size_t size)
{
    static struct submission fast, general;
    memset(&fast, 0, sizeof(fast));
    memset(&general, 0, sizeof(general));
    if (submission_parse_fast(catalog, text, size, &fast) != 0)
        return;
    struct api_error error;
    memset(&error, 0, sizeof(error));
    FUZZ_CHECK(submission_parse_general(catalog, text, size, &general, &error) == 0,
               "the fast path accepted what the general parser refuses: %s (%s)", error.code,
               error.message);
    FUZZ_CHECK(strcmp(fast.school, general.school) == 0 && fast.period == general.period &&
                   fast.value_count == general.value_count,
               "fast and general parsers differ on school/period/count");
    for (size_t i = 0; i < fast.value_count; i++)
        FUZZ_CHECK(fast.values[i].element == general.values[i].element &&
                       memcmp(&fast.values[i].value, &general.values[i].value, sizeof(double)) == 0,
                   "fast and general parsers differ on value %zu: %.17g / %.17g", i,
                   fast.values[i].value, general.values[i].value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct submission first, second;
    struct api_error error;
    check_fast_path((const char *)data, size);
    memset(&error, 0, sizeof(error));
    if (submission_parse(catalog, (const char *)data, size, &first, &error) != 0) {
        check_error(&error);
        return 0;
    }
    check_valid(&first);

    char *rendered = submission_render(catalog, &first);
    FUZZ_CHECK(rendered != NULL, "render failed");
    memset(&error, 0, sizeof(error));
    FUZZ_CHECK(submission_parse(catalog, rendered, strlen(rendered), &second, &error) == 0,
               "the rendering of an accepted submission is refused: %s (%s) %s", error.code,
               error.message, rendered);
    FUZZ_CHECK(strcmp(first.school, second.school) == 0 && first.period == second.period &&
                   first.value_count == second.value_count,
               "round trip changed school/period/count: %s", rendered);
    for (size_t i = 0; i < first.value_count; i++)
        FUZZ_CHECK(first.values[i].element == second.values[i].element &&
                       first.values[i].value == second.values[i].value,
                   "round trip changed value %zu: %.17g -> %.17g (%s)", i, first.values[i].value,
                   second.values[i].value, rendered);
    char *again = submission_render(catalog, &second);
    FUZZ_CHECK(again && strcmp(rendered, again) == 0, "rendering is not a fixed point:\n  %s\n  %s",
               rendered, again ? again : "(null)");
    cJSON_free(rendered);
    cJSON_free(again);

    struct school school;
    memset(&school, 0, sizeof(school));
    for (int stage = 0; stage < STAGE_COUNT; stage++) {
        school.stage = (enum stage)stage;
        bool allowed = true;
        for (size_t i = 0; i < first.value_count; i++)
            allowed =
                allowed && (catalog->elements[first.values[i].element].stages & (1u << stage));
        memset(&error, 0, sizeof(error));
        int result = submission_authorize(catalog, &first, &school, &error);
        FUZZ_CHECK((result == 0) == allowed, "authorize(%s) = %d, expected %s",
                   stage_name(school.stage), result, allowed ? "allowed" : "refused");
        if (result != 0)
            FUZZ_CHECK(error.status == 403 && error.code[0], "authorize error %d %s", error.status,
                       error.code);
    }
    return 0;
}
