/* fuzz_json_depth.c -- json_nesting_depth, the guard run on every request body before the
 * recursive JSON parser. It never reads outside the text, and on every text that is one
 * complete JSON document (cJSON parses all of it) it equals the document's real nesting depth,
 * so the guard can be neither fooled (too low) nor over-strict (too high). */
#include <cjson/cJSON.h>

#include "fuzz_common.h"
#include "submission.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return 0;
}

static int tree_depth(const cJSON *item)
{
    if (!cJSON_IsArray(item) && !cJSON_IsObject(item))
        return 0;
    int deepest = 0;
    for (const cJSON *child = item->child; child; child = child->next) {
        int depth = tree_depth(child);
        if (depth > deepest)
            deepest = depth;
    }
    return deepest + 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int depth = json_nesting_depth((const char *)data, size);
    FUZZ_CHECK(depth >= 0 && (size_t)depth <= size, "depth %d of %zu bytes", depth, size);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts((const char *)data, size, &end, 0);
    if (!root)
        return 0;
    const char *stop = (const char *)data + size;
    const char *p = end;
    while (p && p < stop && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    if (p == stop && !(size >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)) {
        int real = tree_depth(root);
        FUZZ_CHECK(depth == real, "json_nesting_depth %d, the document nests %d deep", depth, real);
    }
    cJSON_Delete(root);
    return 0;
}
