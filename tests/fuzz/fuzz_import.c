/* fuzz_import.c -- import_parse: a CSV file of figures (school,period,element,value) turned
 * into submissions. A refusal of the whole file is a 400/422 with a code; otherwise every
 * group has a valid school id and period, its values are distinct catalog elements within
 * their bounds, the counts add up, every conflict names its line, and the submission built
 * from a group is accepted by the JSON validator too (a figure the API would refuse as JSON
 * must never get in as CSV). */
#include <math.h>

#include "fuzz_common.h"
#include "import.h"
#include "period.h"

static struct catalog *catalog;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    catalog = fuzz_load_catalog();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct import_batch batch;
    struct api_error error;
    memset(&error, 0, sizeof(error));
    if (import_parse(catalog, (const char *)data, size, &batch, &error) != 0) {
        FUZZ_CHECK(error.status == 400 || error.status == 422 || error.status == 503, "status %d",
                   error.status);
        FUZZ_CHECK(error.code[0] && memchr(error.message, 0, sizeof(error.message)), "bad error");
        return 0;
    }
    size_t values = 0;
    static struct submission submission, parsed;
    for (size_t g = 0; g < batch.group_count; g++) {
        const struct import_group *group = &batch.groups[g];
        FUZZ_CHECK(id_is_valid(group->school), "group school \"%s\"", group->school);
        FUZZ_CHECK(group->period >= PERIOD_MIN && group->period <= PERIOD_MAX, "period %d",
                   group->period);
        size_t accepted = 0;
        for (size_t v = 0; v < group->value_count; v++) {
            const struct import_value *value = &group->values[v];
            FUZZ_CHECK(value->element >= 0 && (size_t)value->element < catalog->element_count,
                       "element %d", value->element);
            const struct element *element = &catalog->elements[value->element];
            FUZZ_CHECK(isfinite(value->value) && value->value >= element->min &&
                           value->value <= element->max,
                       "%s = %.17g", element->id, value->value);
            FUZZ_CHECK(value->line >= 2, "value on line %zu", value->line);
            for (size_t w = 0; w < v; w++)
                FUZZ_CHECK(group->values[w].element != value->element, "%s twice", element->id);
            accepted += !value->rejected;
        }
        FUZZ_CHECK(accepted == group->accepted, "accepted %zu, counted %zu", group->accepted,
                   accepted);
        values += group->value_count;
        size_t count = import_group_submission(group, &submission);
        FUZZ_CHECK(count == accepted, "submission has %zu values, group %zu", count, accepted);
        if (count == 0)
            continue;
        char *body = submission_render(catalog, &submission);
        FUZZ_CHECK(body != NULL, "render failed");
        memset(&error, 0, sizeof(error));
        FUZZ_CHECK(submission_parse(catalog, body, strlen(body), &parsed, &error) == 0,
                   "imported figures the JSON validator refuses: %s (%s): %s", error.code,
                   error.message, body);
        cJSON_free(body);
    }
    FUZZ_CHECK(values <= batch.line_count, "%zu values from %zu lines", values, batch.line_count);
    size_t listed =
        batch.conflict_count < IMPORT_MAX_CONFLICTS ? batch.conflict_count : IMPORT_MAX_CONFLICTS;
    FUZZ_CHECK(batch.conflict_count <= batch.conflict_total, "conflicts %zu of %zu",
               batch.conflict_count, batch.conflict_total);
    for (size_t c = 0; c < listed; c++) {
        const struct import_conflict *conflict = &batch.conflicts[c];
        FUZZ_CHECK(conflict->line >= 2 && conflict->code[0] &&
                       memchr(conflict->value, 0, sizeof(conflict->value)) &&
                       memchr(conflict->message, 0, sizeof(conflict->message)),
                   "conflict %zu malformed", c);
        FUZZ_CHECK(
            fuzz_utf8_valid((const unsigned char *)conflict->value, strlen(conflict->value)) ||
                !fuzz_utf8_valid(data, size),
            "conflict value cut inside a UTF-8 sequence: \"%s\"", conflict->value);
    }
    size_t rejected = import_rejected_lines(&batch);
    for (size_t i = 1; i < rejected; i++)
        FUZZ_CHECK(batch.rejected_lines[i - 1] < batch.rejected_lines[i],
                   "rejected lines unsorted");
    import_batch_free(&batch);
    return 0;
}
