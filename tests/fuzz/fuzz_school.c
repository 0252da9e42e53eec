/* fuzz_school.c -- school_from_json (every school record read back from Redis) and
 * school_to_json. A parsed record has terminated fields within their sizes and a known stage
 * and ownership; serialising it and parsing the result gives the same record. */
#include <cjson/cJSON.h>

#include "fuzz_common.h"
#include "school.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return 0;
}

static void check_record(const struct school *school)
{
    FUZZ_CHECK(memchr(school->id, 0, sizeof(school->id)) &&
                   memchr(school->district, 0, sizeof(school->district)) &&
                   memchr(school->name, 0, sizeof(school->name)) &&
                   memchr(school->token_hash, 0, sizeof(school->token_hash)),
               "unterminated field");
    FUZZ_CHECK((unsigned)school->stage < STAGE_COUNT, "stage %d", (int)school->stage);
    FUZZ_CHECK((unsigned)school->ownership < OWNERSHIP_COUNT, "ownership %d",
               (int)school->ownership);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct school first, second;
    if (school_from_json((const char *)data, size, &first) != 0)
        return 0;
    check_record(&first);
    char *json = school_to_json(&first, true);
    FUZZ_CHECK(json != NULL, "school_to_json failed");
    FUZZ_CHECK(school_from_json(json, strlen(json), &second) == 0, "own output refused: %s", json);
    check_record(&second);
    FUZZ_CHECK(strcmp(first.id, second.id) == 0 && strcmp(first.district, second.district) == 0 &&
                   strcmp(first.name, second.name) == 0 &&
                   strcmp(first.token_hash, second.token_hash) == 0 &&
                   first.stage == second.stage && first.ownership == second.ownership,
               "round trip changed the record: %s", json);
    cJSON_free(json);
    char *public = school_to_json(&first, false);
    cJSON *parsed = cJSON_Parse(public);
    FUZZ_CHECK(parsed && !cJSON_GetObjectItemCaseSensitive(parsed, "token_sha256"),
               "token hash in the public record: %s", public);
    cJSON_Delete(parsed);
    cJSON_free(public);
    return 0;
}
