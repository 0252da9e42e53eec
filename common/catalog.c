/* catalog.c -- loading and validating the catalog (see catalog.h, docs/catalog-format.md).
 *
 * Strings in the loaded structures point into the cJSON trees the catalog keeps, so the
 * catalog is a handful of allocations with one owner. Every check reports the file and the
 * JSON path of the offending field, because the people who edit catalogs are not the people
 * who read C. */
#include "catalog.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sha2.h>
#include <zlib.h>

#include "balance.h"
#include "idhash.h"
#include "jsonutil.h"

struct id_slot {
    const char *id; /* in the index's `keys` */
    uint32_t tag;   /* the id's hash, high half: most probes that miss stop here */
    int entry;      /* index + 1; 0 = empty */
};

struct id_index {
    struct id_slot *slots;
    size_t mask;
    char *keys; /* every id, NUL-terminated, in one block: a lookup's compare reads memory
                 * that other lookups keep in cache, not the entry's own scattered id */
};

struct catalog_internal {
    struct catalog public;
    cJSON *elements_json, *indicators_json, *balance_json;
    struct balance_rules *balance_rules;
    cJSON **district_json;
    struct element *elements;
    struct indicator *indicators;
    struct district *districts;
    struct target **targets; /* per district, one block: its targets, then their milestones
                              * (NULL with catalog_load_packed once validated) */
    struct id_index element_index, indicator_index, district_index;
    char *elements_body, *indicators_body, *districts_body;
    char **district_strings;          /* catalog_load_compact: each district's id, name, name_en */
    struct packed_definition *packed; /* catalog_load_packed: each district's file, deflated */
    char *pack_dictionary;            /* ... against this preset dictionary (pack_dictionary) */
    size_t pack_dictionary_length;
};

/* A district file as compact JSON (cJSON_PrintUnformatted of its tree), deflated: ~8x smaller
 * than the text, ~30x smaller than the tree. */
struct packed_definition {
    unsigned char *data;
    size_t size, plain_size;
};

struct load_context {
    struct catalog_internal *catalog;
    const char *file;
    char *error;
    size_t error_size;
    SHA2_CTX digest;       /* SHA-256 over the files read, in name order */
    bool keep_definitions; /* false: catalog_load_compact / catalog_load_packed */
    bool pack_definitions; /* catalog_load_packed */
    /* The districts body ({"districts":[...]}), its entries appended as text as each district
     * is read: a tree of them all would be ~4.5 MB at 2 800 districts, only to be printed. */
    char *summaries;
    size_t summaries_length, summaries_capacity, summary_count;
    bool serve_districts; /* false: catalog_load_compact (no districts body) */
    /* catalog_load_packed: one district's text and its deflated form (pack_definition) */
    unsigned char *text_scratch, *deflate_scratch;
    size_t text_capacity, deflate_capacity;
};

static int fail(struct load_context *context, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(struct load_context *context, const char *format, ...)
{
    char detail[400];
    va_list args;
    va_start(args, format);
    vsnprintf(detail, sizeof(detail), format, args);
    va_end(args);
    snprintf(context->error, context->error_size, "catalog: %s: %s", context->file, detail);
    return -1;
}

static const char *const kind_names[] = {"sum", "ratio", "coverage", "latest", "cv"};
static const char *const target_op_names[] = {">=", "<=", "=", "between", "delta>=", "delta<="};
static const char *const compare_names[] = {">=", "<=", ">", "<", "="};

const char *indicator_kind_name(enum indicator_kind kind)
{
    return kind_names[kind];
}

const char *target_op_name(enum target_op op)
{
    return target_op_names[op];
}

const char *compare_op_name(enum compare_op op)
{
    return compare_names[op];
}

bool compare_holds(enum compare_op op, double left, double right)
{
    switch (op) {
    case COMPARE_GE:
        return left >= right;
    case COMPARE_LE:
        return left <= right;
    case COMPARE_GT:
        return left > right;
    case COMPARE_LT:
        return left < right;
    case COMPARE_EQ:
        return fabs(left - right) <= 1e-9 * fmax(1.0, fabs(right));
    }
    return false;
}

static int parse_name(const char *text, const char *const *names, int count)
{
    for (int i = 0; text && i < count; i++)
        if (strcmp(text, names[i]) == 0)
            return i;
    return -1;
}

/* ---- file reading and hashing --------------------------------------------------------- */

static cJSON *load_json_file(struct load_context *context, const char *directory, const char *name,
                             bool optional)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", directory, name);
    context->file = name;
    size_t length = 0;
    char *text = json_read_file(path, &length);
    if (!text) {
        if (optional && errno == ENOENT)
            return NULL;
        fail(context, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    /* The hash covers names and bytes, so renaming a file changes it too. */
    SHA256Update(&context->digest, (const uint8_t *)name, strlen(name) + 1);
    SHA256Update(&context->digest, (const uint8_t *)text, length);
    const char *error_at = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, length, &error_at, 0);
    if (!root || !cJSON_IsObject(root)) {
        long offset = error_at ? (long)(error_at - text) : 0;
        fail(context, "not a JSON object (syntax error near byte %ld)", offset);
        cJSON_Delete(root);
        root = NULL;
    }
    free(text);
    return root;
}

/* ---- field helpers --------------------------------------------------------------------- */

static const char *get_string(struct load_context *context, const cJSON *object, const char *path,
                              const char *name, bool required)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);
    if (!item) {
        if (required)
            fail(context, "%s.%s: missing", path, name);
        return NULL;
    }
    if (!cJSON_IsString(item)) {
        fail(context, "%s.%s: must be a string", path, name);
        return NULL;
    }
    return item->valuestring;
}

static int get_number(struct load_context *context, const cJSON *object, const char *path,
                      const char *name, bool required, double *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);
    if (!item)
        return required ? fail(context, "%s.%s: missing", path, name) : 1;
    if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble))
        return fail(context, "%s.%s: must be a finite number", path, name);
    *out = item->valuedouble;
    return 0;
}

static int get_year(struct load_context *context, const cJSON *object, const char *path,
                    const char *name, bool required, int *out)
{
    double value = 0;
    int result = get_number(context, object, path, name, required, &value);
    if (result != 0)
        return result;
    if (value != floor(value) || value < 1990 || value > 2100)
        return fail(context, "%s.%s: must be a year between 1990 and 2100", path, name);
    *out = (int)value;
    return 0;
}

static int parse_stage_list(struct load_context *context, const cJSON *list, const char *path,
                            unsigned *mask)
{
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) == 0)
        return fail(context, "%s: must be a non-empty array of stages", path);
    *mask = 0;
    int index = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        int stage = cJSON_IsString(item) ? stage_parse(item->valuestring) : -1;
        if (stage < 0)
            return fail(context, "%s[%d]: unknown stage", path, index);
        *mask |= 1u << stage;
        index++;
    }
    return 0;
}

static int parse_ownership_list(struct load_context *context, const cJSON *list, const char *path,
                                unsigned *mask)
{
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) == 0)
        return fail(context, "%s: must be a non-empty array of ownerships", path);
    *mask = 0;
    int index = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        int ownership = cJSON_IsString(item) ? ownership_parse(item->valuestring) : -1;
        if (ownership < 0)
            return fail(context, "%s[%d]: unknown ownership (public or private)", path, index);
        *mask |= 1u << ownership;
        index++;
    }
    return 0;
}

/* ---- id index ----------------------------------------------------------------------------
 *
 * Open addressing over the ids (idhash.h, linear probing), at most half full: a lookup is one
 * hash and, almost always, one strcmp. Lookups run for every value of every submission and
 * for every district route, against up to thousands of districts. */

/* The id of entry `index` of an array of structs whose first member is their id. */
static const char *id_at(const void *base, size_t stride, int index)
{
    return *(const char *const *)((const char *)base + (size_t)index * stride);
}

/* Indexes `count` entries of `base` and rejects duplicates. */
static int build_index(struct load_context *context, const void *base, size_t stride, size_t count,
                       const char *what, struct id_index *out)
{
    size_t size = 8;
    while (size < count * 2)
        size *= 2;
    size_t key_bytes = 0;
    for (size_t i = 0; i < count; i++)
        key_bytes += strlen(id_at(base, stride, (int)i)) + 1;
    struct id_slot *slots = calloc(size, sizeof(*slots));
    char *keys = malloc(key_bytes ? key_bytes : 1);
    if (!slots || !keys) {
        free(slots);
        free(keys);
        return fail(context, "out of memory");
    }
    char *next_key = keys;
    for (size_t i = 0; i < count; i++) {
        const char *id = id_at(base, stride, (int)i);
        uint64_t hash = idhash_string(id);
        size_t slot = (size_t)hash & (size - 1);
        for (; slots[slot].entry; slot = (slot + 1) & (size - 1)) {
            if (strcmp(slots[slot].id, id) == 0) {
                free(slots);
                free(keys);
                return fail(context, "duplicate %s id \"%s\"", what, id);
            }
        }
        size_t length = strlen(id);
        memcpy(next_key, id, length + 1);
        slots[slot] = (struct id_slot){next_key, (uint32_t)(hash >> 32), (int)i + 1};
        next_key += length + 1;
    }
    out->slots = slots;
    out->mask = size - 1;
    out->keys = keys;
    return 0;
}

static void free_index(struct id_index *index)
{
    free(index->slots);
    free(index->keys);
    index->slots = NULL;
    index->keys = NULL;
}

static int find_in_index(const struct id_index *index, const char *id)
{
    if (!index->slots)
        return -1;
    uint64_t hash = idhash_string(id);
    uint32_t tag = (uint32_t)(hash >> 32);
    for (size_t slot = (size_t)hash & index->mask; index->slots[slot].entry;
         slot = (slot + 1) & index->mask) {
        const struct id_slot *candidate = &index->slots[slot];
        if (candidate->tag == tag && strcmp(candidate->id, id) == 0)
            return candidate->entry - 1;
    }
    return -1;
}

int catalog_find_element(const struct catalog *catalog, const char *id)
{
    const struct catalog_internal *internal = (const struct catalog_internal *)catalog;
    return find_in_index(&internal->element_index, id);
}

int catalog_find_indicator(const struct catalog *catalog, const char *id)
{
    const struct catalog_internal *internal = (const struct catalog_internal *)catalog;
    return find_in_index(&internal->indicator_index, id);
}

int catalog_find_district(const struct catalog *catalog, const char *id)
{
    const struct catalog_internal *internal = (const struct catalog_internal *)catalog;
    return find_in_index(&internal->district_index, id);
}

/* ---- elements -------------------------------------------------------------------------- */

static int load_element(struct load_context *context, const cJSON *item, const char *path,
                        struct element *element)
{
    if (!cJSON_IsObject(item))
        return fail(context, "%s: must be an object", path);
    element->id = get_string(context, item, path, "id", true);
    if (!element->id)
        return -1;
    if (!id_is_valid(element->id))
        return fail(context, "%s.id: \"%s\" is not a valid id", path, element->id);
    element->name = get_string(context, item, path, "name", true);
    if (!element->name)
        return -1;
    element->name_en = get_string(context, item, path, "name_en", false);
    element->unit = get_string(context, item, path, "unit", false);
    if (!element->unit)
        element->unit = "";
    const char *type = get_string(context, item, path, "type", true);
    if (!type)
        return -1;
    static const char *const type_names[] = {"integer", "number", "boolean"};
    int type_index = parse_name(type, type_names, 3);
    if (type_index < 0)
        return fail(context, "%s.type: \"%s\" is not integer, number or boolean", path, type);
    element->type = (enum element_type)type_index;
    if (element->type == ELEMENT_BOOLEAN) {
        element->min = 0, element->max = 1;
    } else if (get_number(context, item, path, "min", true, &element->min) != 0 ||
               get_number(context, item, path, "max", true, &element->max) != 0) {
        return -1;
    }
    if (element->min > element->max)
        return fail(context, "%s: min is greater than max", path);
    char list_path[256];
    snprintf(list_path, sizeof(list_path), "%s.stages", path);
    if (parse_stage_list(context, cJSON_GetObjectItemCaseSensitive(item, "stages"), list_path,
                         &element->stages) != 0)
        return -1;
    const char *reporter = get_string(context, item, path, "reporter", false);
    if (reporter && strcmp(reporter, "office") != 0 && strcmp(reporter, "school") != 0)
        return fail(context, "%s.reporter: must be school or office", path);
    element->office =
        reporter ? strcmp(reporter, "office") == 0 : element->stages == (1u << STAGE_OFFICE);
    const cJSON *typical = cJSON_GetObjectItemCaseSensitive(item, "typical");
    if (typical) {
        if (!cJSON_IsArray(typical) || cJSON_GetArraySize(typical) != 2 ||
            !cJSON_IsNumber(cJSON_GetArrayItem(typical, 0)) ||
            !cJSON_IsNumber(cJSON_GetArrayItem(typical, 1)))
            return fail(context, "%s.typical: must be [low, high]", path);
        element->has_typical = true;
        element->typical_low = cJSON_GetArrayItem(typical, 0)->valuedouble;
        element->typical_high = cJSON_GetArrayItem(typical, 1)->valuedouble;
    }
    return 0;
}

static int load_elements(struct load_context *context, const char *directory)
{
    struct catalog_internal *catalog = context->catalog;
    catalog->elements_json = load_json_file(context, directory, "elements.json", false);
    if (!catalog->elements_json)
        return -1;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(catalog->elements_json, "elements");
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) == 0)
        return fail(context, "elements: must be a non-empty array");
    size_t count = (size_t)cJSON_GetArraySize(list);
    catalog->elements = calloc(count, sizeof(struct element));
    if (!catalog->elements)
        return fail(context, "out of memory");
    size_t index = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        char path[64];
        snprintf(path, sizeof(path), "elements[%zu]", index);
        if (load_element(context, item, path, &catalog->elements[index]) != 0)
            return -1;
        index++;
    }
    catalog->public.elements = catalog->elements;
    catalog->public.element_count = count;
    int result = build_index(context, catalog->elements, sizeof(struct element), count, "element",
                             &catalog->element_index);
    return result;
}

/* ---- indicators ------------------------------------------------------------------------ */

static int resolve_element(struct load_context *context, const cJSON *item, const char *path,
                           const char *name, int *out)
{
    const char *id = get_string(context, item, path, name, true);
    if (!id)
        return -1;
    *out = catalog_find_element(&context->catalog->public, id);
    if (*out < 0)
        return fail(context, "%s.%s: unknown element \"%s\"", path, name, id);
    return 0;
}

static int load_indicator_filter(struct load_context *context, const cJSON *item, const char *path,
                                 struct indicator *indicator)
{
    indicator->stage_filter = (1u << STAGE_COUNT) - 1;
    indicator->ownership_filter = (1u << OWNERSHIP_COUNT) - 1;
    const cJSON *filter = cJSON_GetObjectItemCaseSensitive(item, "filter");
    if (!filter)
        return 0;
    if (!cJSON_IsObject(filter))
        return fail(context, "%s.filter: must be an object", path);
    char list_path[256];
    const cJSON *stages = cJSON_GetObjectItemCaseSensitive(filter, "stages");
    snprintf(list_path, sizeof(list_path), "%s.filter.stages", path);
    if (stages && parse_stage_list(context, stages, list_path, &indicator->stage_filter) != 0)
        return -1;
    const cJSON *ownership = cJSON_GetObjectItemCaseSensitive(filter, "ownership");
    snprintf(list_path, sizeof(list_path), "%s.filter.ownership", path);
    if (ownership &&
        parse_ownership_list(context, ownership, list_path, &indicator->ownership_filter) != 0)
        return -1;
    return 0;
}

static int load_indicator_condition(struct load_context *context, const cJSON *item,
                                    const char *path, struct indicator *indicator)
{
    const cJSON *condition = cJSON_GetObjectItemCaseSensitive(item, "condition");
    if (!cJSON_IsObject(condition))
        return fail(context, "%s.condition: coverage needs {\"op\", \"value\"}", path);
    char condition_path[256];
    snprintf(condition_path, sizeof(condition_path), "%s.condition", path);
    const char *op = get_string(context, condition, condition_path, "op", true);
    if (!op)
        return -1;
    int op_index = parse_name(op, compare_names, 5);
    if (op_index < 0)
        return fail(context, "%s.op: \"%s\" is not one of >=, <=, >, <, =", condition_path, op);
    indicator->condition_op = (enum compare_op)op_index;
    return get_number(context, condition, condition_path, "value", true,
                      &indicator->condition_value);
}

static int load_indicator(struct load_context *context, const cJSON *item, const char *path,
                          struct indicator *indicator)
{
    if (!cJSON_IsObject(item))
        return fail(context, "%s: must be an object", path);
    indicator->element = indicator->numerator = indicator->denominator = indicator->weight = -1;
    indicator->factor = 1;
    indicator->id = get_string(context, item, path, "id", true);
    if (!indicator->id)
        return -1;
    if (!id_is_valid(indicator->id))
        return fail(context, "%s.id: \"%s\" is not a valid id", path, indicator->id);
    indicator->name = get_string(context, item, path, "name", true);
    if (!indicator->name)
        return -1;
    indicator->name_en = get_string(context, item, path, "name_en", false);
    indicator->unit = get_string(context, item, path, "unit", false);
    if (!indicator->unit)
        indicator->unit = "";
    const char *kind = get_string(context, item, path, "kind", true);
    if (!kind)
        return -1;
    int kind_index = parse_name(kind, kind_names, 5);
    if (kind_index < 0)
        return fail(context, "%s.kind: \"%s\" is not sum, ratio, coverage, latest or cv", path,
                    kind);
    indicator->kind = (enum indicator_kind)kind_index;
    if (get_number(context, item, path, "factor", false, &indicator->factor) < 0)
        return -1;
    switch (indicator->kind) {
    case KIND_SUM:
    case KIND_LATEST:
        if (resolve_element(context, item, path, "element", &indicator->element) != 0)
            return -1;
        break;
    case KIND_COVERAGE:
        if (resolve_element(context, item, path, "element", &indicator->element) != 0 ||
            load_indicator_condition(context, item, path, indicator) != 0)
            return -1;
        break;
    case KIND_CV:
        if (resolve_element(context, item, path, "weight", &indicator->weight) != 0)
            return -1;
        __attribute__((fallthrough)); /* a cv also has a numerator and denominator */
    case KIND_RATIO:
        if (resolve_element(context, item, path, "numerator", &indicator->numerator) != 0 ||
            resolve_element(context, item, path, "denominator", &indicator->denominator) != 0)
            return -1;
        break;
    }
    return load_indicator_filter(context, item, path, indicator);
}

static int load_indicators(struct load_context *context, const char *directory)
{
    struct catalog_internal *catalog = context->catalog;
    catalog->indicators_json = load_json_file(context, directory, "indicators.json", false);
    if (!catalog->indicators_json)
        return -1;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(catalog->indicators_json, "indicators");
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) == 0)
        return fail(context, "indicators: must be a non-empty array");
    size_t count = (size_t)cJSON_GetArraySize(list);
    catalog->indicators = calloc(count, sizeof(struct indicator));
    if (!catalog->indicators)
        return fail(context, "out of memory");
    size_t index = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        char path[64];
        snprintf(path, sizeof(path), "indicators[%zu]", index);
        if (load_indicator(context, item, path, &catalog->indicators[index]) != 0)
            return -1;
        index++;
    }
    catalog->public.indicators = catalog->indicators;
    catalog->public.indicator_count = count;
    int result = build_index(context, catalog->indicators, sizeof(struct indicator), count,
                             "indicator", &catalog->indicator_index);
    return result;
}

/* ---- districts and targets ---------------------------------------------------------------- */

_Static_assert(sizeof(struct target) <= 48, "struct target is laid out small (catalog.h)");

static int load_milestones(struct load_context *context, const cJSON *item, const char *path,
                           struct target *target, struct milestone **next)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(item, "milestones");
    if (!list)
        return 0;
    if (!cJSON_IsArray(list))
        return fail(context, "%s.milestones: must be an array", path);
    struct milestone *milestones = *next;
    size_t index = 0;
    const cJSON *milestone;
    cJSON_ArrayForEach(milestone, list)
    {
        char milestone_path[256];
        snprintf(milestone_path, sizeof(milestone_path), "%s.milestones[%zu]", path, index);
        if (!cJSON_IsObject(milestone))
            return fail(context, "%s: must be {\"year\", \"value\"}", milestone_path);
        if (get_year(context, milestone, milestone_path, "year", true, &milestones[index].year) !=
                0 ||
            get_number(context, milestone, milestone_path, "value", true,
                       &milestones[index].value) != 0)
            return -1;
        if (index > 0 && milestones[index].year <= milestones[index - 1].year)
            return fail(context, "%s.year: milestones must be in ascending years", milestone_path);
        index++;
    }
    target->milestones = index ? milestones : NULL;
    target->milestone_count = (unsigned short)index; /* ascending years in 1990..2100: <= 111 */
    *next = milestones + index;
    return 0;
}

static int load_target_values(struct load_context *context, const cJSON *item, const char *path,
                              struct target *target)
{
    if (target->op == TARGET_BETWEEN) {
        if (get_number(context, item, path, "min", true, &target->value) != 0 ||
            get_number(context, item, path, "max", true, &target->max) != 0)
            return -1;
        if (target->value > target->max)
            return fail(context, "%s: min is greater than max", path);
        return 0;
    }
    return get_number(context, item, path, "value", true, &target->value);
}

static int load_target(struct load_context *context, const struct catalog *catalog,
                       const cJSON *item, const char *path, struct target *target,
                       struct milestone **next_milestone)
{
    if (!cJSON_IsObject(item))
        return fail(context, "%s: must be an object", path);
    const char *indicator = get_string(context, item, path, "indicator", true);
    if (!indicator)
        return -1;
    target->indicator = catalog_find_indicator(catalog, indicator);
    if (target->indicator < 0)
        return fail(context, "%s.indicator: unknown indicator \"%s\"", path, indicator);
    const char *op = get_string(context, item, path, "op", true);
    if (!op)
        return -1;
    int op_index = parse_name(op, target_op_names, 6);
    if (op_index < 0)
        return fail(context,
                    "%s.op: \"%s\" is not one of >=, <=, =, between, delta>=, delta<=", path, op);
    target->op = (enum target_op)op_index;
    int year = 0, baseline_year = 0;
    if (load_target_values(context, item, path, target) != 0 ||
        get_year(context, item, path, "year", true, &year) != 0)
        return -1;
    target->year = (short)year; /* get_year admits 1990..2100 only */
    const cJSON *baseline = cJSON_GetObjectItemCaseSensitive(item, "baseline");
    if (baseline) {
        char baseline_path[256];
        snprintf(baseline_path, sizeof(baseline_path), "%s.baseline", path);
        if (!cJSON_IsObject(baseline))
            return fail(context, "%s: must be {\"year\", \"value\"}", baseline_path);
        if (get_year(context, baseline, baseline_path, "year", true, &baseline_year) != 0 ||
            get_number(context, baseline, baseline_path, "value", true, &target->baseline_value) !=
                0)
            return -1;
        target->baseline_year = (short)baseline_year;
        if (target->baseline_year >= target->year)
            return fail(context, "%s.year: the baseline must come before the deadline",
                        baseline_path);
        target->has_baseline = true;
    }
    const cJSON *cumulative = cJSON_GetObjectItemCaseSensitive(item, "cumulative");
    if (cumulative && !cJSON_IsBool(cumulative))
        return fail(context, "%s.cumulative: must be true or false", path);
    target->cumulative = cJSON_IsTrue(cumulative);
    return load_milestones(context, item, path, target, next_milestone);
}

/* The milestones of the targets in `list` (before they are validated: arrays only). */
static size_t count_milestones(const cJSON *list)
{
    size_t count = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        const cJSON *milestones = cJSON_GetObjectItemCaseSensitive(item, "milestones");
        if (cJSON_IsArray(milestones))
            count += (size_t)cJSON_GetArraySize(milestones);
    }
    return count;
}

/* Reads and checks the "targets" of district file `root` into one block (the targets, then
 * their milestones) that the caller frees; *block is NULL when there are none. Reads `catalog`
 * only (its indicators), so it serves catalog_district_targets as well as the load. */
static int parse_targets(struct load_context *context, const struct catalog *catalog,
                         const cJSON *root, struct target **block, size_t *count)
{
    *block = NULL;
    *count = 0;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "targets");
    if (!list)
        return 0;
    if (!cJSON_IsArray(list))
        return fail(context, "targets: must be an array");
    size_t target_count = (size_t)cJSON_GetArraySize(list);
    if (target_count == 0)
        return 0;
    size_t milestone_count = count_milestones(list);
    _Static_assert(sizeof(struct target) % _Alignof(struct milestone) == 0,
                   "milestones may follow the targets in one block");
    struct target *targets = calloc(1, target_count * sizeof(struct target) +
                                           milestone_count * sizeof(struct milestone));
    if (!targets)
        return fail(context, "out of memory");
    struct milestone *next_milestone = (struct milestone *)(targets + target_count);
    size_t index = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        char path[64];
        snprintf(path, sizeof(path), "targets[%zu]", index);
        int result = load_target(context, catalog, item, path, &targets[index], &next_milestone);
        for (size_t previous = 0; result == 0 && previous < index; previous++)
            if (targets[previous].indicator == targets[index].indicator)
                result = fail(context, "%s.indicator: \"%s\" is targeted twice", path,
                              catalog->indicators[targets[index].indicator].id);
        if (result != 0) {
            free(targets);
            return -1;
        }
        index++;
    }
    *block = targets;
    *count = target_count;
    return 0;
}

static int load_district_targets(struct load_context *context, const cJSON *root,
                                 struct district *district, size_t district_index)
{
    struct catalog_internal *catalog = context->catalog;
    struct target *targets;
    size_t count;
    if (parse_targets(context, &catalog->public, root, &targets, &count) != 0)
        return -1;
    catalog->targets[district_index] = targets;
    district->targets = targets;
    district->target_count = count;
    for (size_t t = 0; t < count; t++) {
        struct indicator *indicator = &catalog->indicators[targets[t].indicator];
        if (indicator->target_direction == 0)
            indicator->target_direction =
                targets[t].op == TARGET_LE || targets[t].op == TARGET_DELTA_LE ? -1 : 1;
    }
    return 0;
}

static int load_district(struct load_context *context, const cJSON *root, struct district *district,
                         size_t district_index)
{
    const char *file = context->file;
    district->definition = root;
    district->id = get_string(context, root, "district", "id", true);
    if (!district->id)
        return -1;
    if (!id_is_valid(district->id))
        return fail(context, "id: \"%s\" is not a valid id", district->id);
    char expected_file[128];
    snprintf(expected_file, sizeof(expected_file), "districts/%s.json", district->id);
    if (strcmp(file, expected_file) != 0)
        return fail(context, "id: \"%s\" does not match the file name", district->id);
    district->name = get_string(context, root, "district", "name", true);
    if (!district->name)
        return -1;
    district->name_en = get_string(context, root, "district", "name_en", false);
    const cJSON *plan = cJSON_GetObjectItemCaseSensitive(root, "plan");
    const cJSON *years = plan ? cJSON_GetObjectItemCaseSensitive(plan, "years") : NULL;
    if (!cJSON_IsArray(years) || cJSON_GetArraySize(years) != 2 ||
        !cJSON_IsNumber(cJSON_GetArrayItem(years, 0)) ||
        !cJSON_IsNumber(cJSON_GetArrayItem(years, 1)))
        return fail(context, "plan.years: must be [first year, last year]");
    district->plan_first_year = cJSON_GetArrayItem(years, 0)->valueint;
    district->plan_last_year = cJSON_GetArrayItem(years, 1)->valueint;
    if (district->plan_first_year > district->plan_last_year)
        return fail(context, "plan.years: first year after last year");
    return load_district_targets(context, root, district, district_index);
}

static int compare_strings(const void *left, const void *right)
{
    return strcmp(*(char *const *)left, *(char *const *)right);
}

/* Lists districts/ *.json in name order (the order is part of the catalog hash). */
static int list_district_files(struct load_context *context, const char *directory,
                               char ***names_out, size_t *count_out)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/districts", directory);
    context->file = "districts/";
    DIR *dir = opendir(path);
    if (!dir)
        return fail(context, "cannot open %s: %s", path, strerror(errno));
    char **names = NULL;
    size_t count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        size_t length = strlen(entry->d_name);
        if (length < 6 || strcmp(entry->d_name + length - 5, ".json") != 0)
            continue;
        char **grown = realloc(names, (count + 1) * sizeof(char *));
        char *name = malloc(length + 11);
        if (!grown || !name) {
            free(name);
            names = grown ? grown : names;
            for (size_t i = 0; i < count; i++)
                free(names[i]);
            free(names);
            closedir(dir);
            return fail(context, "out of memory");
        }
        names = grown;
        snprintf(name, length + 11, "districts/%s", entry->d_name);
        names[count++] = name;
    }
    closedir(dir);
    if (count > 0)
        qsort(names, count, sizeof(char *), compare_strings);
    *names_out = names;
    *count_out = count;
    return 0;
}

/* One block "id\0name\0name_en\0" for a district, its strings repointed into it. */
static char *copy_district_strings(struct district *district)
{
    const char *name_en = district->name_en ? district->name_en : "";
    size_t id_length = strlen(district->id) + 1, name_length = strlen(district->name) + 1;
    size_t name_en_length = strlen(name_en) + 1;
    char *block = malloc(id_length + name_length + name_en_length);
    if (!block)
        return NULL;
    memcpy(block, district->id, id_length);
    memcpy(block + id_length, district->name, name_length);
    memcpy(block + id_length + name_length, name_en, name_en_length);
    district->id = block;
    district->name = block + id_length;
    if (district->name_en)
        district->name_en = block + id_length + name_length;
    return block;
}

static const char *const district_summary_fields[] = {"id",       "name",        "name_en",
                                                      "province", "province_en", "plan"};

/* Appends `text` to the districts body under construction. */
static int append_summary_text(struct load_context *context, const char *text, size_t length)
{
    if (!context->summaries ||
        context->summaries_length + length + 1 > context->summaries_capacity) {
        size_t capacity = context->summaries_capacity ? context->summaries_capacity : 4096;
        while (capacity < context->summaries_length + length + 1)
            capacity *= 2;
        char *grown = realloc(context->summaries, capacity);
        if (!grown)
            return fail(context, "out of memory");
        context->summaries = grown;
        context->summaries_capacity = capacity;
    }
    memcpy(context->summaries + context->summaries_length, text, length);
    context->summaries_length += length;
    context->summaries[context->summaries_length] = '\0';
    return 0;
}

/* Appends the district's entry of the districts body (GET /v1/districts): the summary fields
 * of its file, by reference (nothing copied), printed at once. */
static int add_summary(struct load_context *context, const cJSON *definition)
{
    if (!context->summaries && append_summary_text(context, "{\"districts\":[", 14) != 0)
        return -1;
    cJSON *summary = cJSON_CreateObject();
    bool added = summary != NULL;
    for (size_t f = 0; added && f < sizeof(district_summary_fields) / sizeof(char *); f++) {
        cJSON *field = cJSON_GetObjectItemCaseSensitive(definition, district_summary_fields[f]);
        if (field)
            added = cJSON_AddItemReferenceToObject(summary, district_summary_fields[f], field);
    }
    char *text = added ? cJSON_PrintUnformatted(summary) : NULL;
    cJSON_Delete(summary);
    if (!text)
        return fail(context, "out of memory");
    int result = context->summary_count > 0 ? append_summary_text(context, ",", 1) : 0;
    if (result == 0)
        result = append_summary_text(context, text, strlen(text));
    cJSON_free(text);
    context->summary_count++;
    return result;
}

/* Grows a scratch buffer to at least `size` bytes (kept for the next district). */
static int reserve(unsigned char **buffer, size_t *capacity, size_t size)
{
    if (*capacity >= size)
        return 0;
    size_t grown_capacity = *capacity ? *capacity : 16384;
    while (grown_capacity < size)
        grown_capacity *= 2;
    unsigned char *grown = realloc(*buffer, grown_capacity);
    if (!grown)
        return -1;
    *buffer = grown;
    *capacity = grown_capacity;
    return 0;
}

/* The preset dictionary the district files are deflated against: the file format's keys and
 * every indicator id as a target names it (zlib matches strings from it as if they had come
 * before the file: the most common go last). 4.9 -> 4.2 MB of packed files at 2 800
 * districts. Built from the indicators, so the same catalog always gets the same one. */
static int build_pack_dictionary(struct load_context *context)
{
    static const char keys[] =
        "{\"id\":\"\",\"name\":\"\",\"name_en\":\"\",\"province\":\"\",\"province_en\":\"\","
        "\"plan\":{\"title\":\"\",\"title_en\":\"\",\"years\":[2021,2025],\"issued\":\"\","
        "\"seed\":\"\"},\"targets\":[{\"indicator\":\"\",\"op\":\">=\",\"value\":,\"year\":2025,"
        "\"quote\":\"\",\"note\":\"\",\"baseline\":{\"year\":,\"value\":},\"milestones\":[{"
        "\"year\":,\"value\":}],\"cumulative\":true,\"min\":,\"max\":}],\"untracked\":[\"";
    static const char before_id[] = "{\"indicator\":\"", after_id[] = "\",\"op\":\"";
    struct catalog_internal *catalog = context->catalog;
    size_t length = sizeof(keys) - 1;
    for (size_t i = 0; i < catalog->public.indicator_count; i++)
        length += sizeof(before_id) - 1 + strlen(catalog->indicators[i].id) + sizeof(after_id) - 1;
    /* zlib itself uses only the end of one longer than its window: no need to cut it. */
    char *dictionary = malloc(length + 1);
    if (!dictionary)
        return fail(context, "out of memory");
    char *end = dictionary;
    memcpy(end, keys, sizeof(keys) - 1);
    end += sizeof(keys) - 1;
    for (size_t i = 0; i < catalog->public.indicator_count; i++) {
        size_t id_length = strlen(catalog->indicators[i].id);
        memcpy(end, before_id, sizeof(before_id) - 1);
        end += sizeof(before_id) - 1;
        memcpy(end, catalog->indicators[i].id, id_length);
        end += id_length;
        memcpy(end, after_id, sizeof(after_id) - 1);
        end += sizeof(after_id) - 1;
    }
    *end = '\0';
    catalog->pack_dictionary = dictionary;
    catalog->pack_dictionary_length = length;
    return 0;
}

/* Deflates `length` bytes of `text` against the catalog's dictionary into `out` (`*size`
 * bytes, at least compressBound(length)); *size becomes the deflated size. */
static int deflate_with_dictionary(const struct catalog_internal *catalog, const Bytef *text,
                                   size_t length, Bytef *out, uLongf *size)
{
    z_stream stream = {.next_in = (Bytef *)text,
                       .avail_in = (uInt)length,
                       .next_out = out,
                       .avail_out = (uInt)*size};
    if (deflateInit(&stream, Z_DEFAULT_COMPRESSION) != Z_OK)
        return -1;
    int status = deflateSetDictionary(&stream, (const Bytef *)catalog->pack_dictionary,
                                      (uInt)catalog->pack_dictionary_length);
    if (status == Z_OK)
        status = deflate(&stream, Z_FINISH);
    *size = stream.total_out;
    deflateEnd(&stream);
    return status == Z_STREAM_END ? 0 : -1;
}

/* Inflates a packed file into `out` (`*size` bytes); *size becomes the inflated size. */
static int inflate_with_dictionary(const struct catalog_internal *catalog,
                                   const struct packed_definition *packed, Bytef *out, uLongf *size)
{
    z_stream stream = {.next_in = packed->data,
                       .avail_in = (uInt)packed->size,
                       .next_out = out,
                       .avail_out = (uInt)*size};
    if (inflateInit(&stream) != Z_OK)
        return -1;
    int status = inflate(&stream, Z_FINISH);
    if (status == Z_NEED_DICT) {
        status = inflateSetDictionary(&stream, (const Bytef *)catalog->pack_dictionary,
                                      (uInt)catalog->pack_dictionary_length);
        if (status == Z_OK)
            status = inflate(&stream, Z_FINISH);
    }
    *size = stream.total_out;
    inflateEnd(&stream);
    return status == Z_STREAM_END ? 0 : -1;
}

/* Deflates the compact print of `tree` into packed->data, allocated to its exact size. The
 * text and the deflate output go through the context's scratch buffers, reused from one
 * district to the next: allocated afresh each time (and shrunk), they left ~2 MB of holes
 * between the packed files at 2 800 districts. */
static int pack_definition(struct load_context *context, struct packed_definition *packed,
                           const cJSON *tree)
{
    if (reserve(&context->text_scratch, &context->text_capacity, 16384) != 0)
        return -1;
    while (!cJSON_PrintPreallocated((cJSON *)tree, (char *)context->text_scratch,
                                    (int)context->text_capacity, false))
        if (context->text_capacity > INT_MAX / 2 ||
            reserve(&context->text_scratch, &context->text_capacity, context->text_capacity * 2) !=
                0)
            return -1; /* too big a file for an int length, or out of memory */
    size_t length = strlen((const char *)context->text_scratch);
    uLongf size = compressBound((uLong)length);
    if (reserve(&context->deflate_scratch, &context->deflate_capacity, size) != 0 ||
        deflate_with_dictionary(context->catalog, context->text_scratch, length,
                                context->deflate_scratch, &size) != 0)
        return -1;
    packed->data = malloc(size ? size : 1);
    if (!packed->data)
        return -1;
    memcpy(packed->data, context->deflate_scratch, size);
    packed->size = size;
    packed->plain_size = length;
    return 0;
}

/* catalog_load_compact: keeps copies of the strings the district points at, frees its tree. */
static int drop_definition(struct load_context *context, size_t index)
{
    struct catalog_internal *catalog = context->catalog;
    catalog->district_strings[index] = copy_district_strings(&catalog->districts[index]);
    if (!catalog->district_strings[index])
        return fail(context, "out of memory");
    if (context->pack_definitions &&
        pack_definition(context, &catalog->packed[index], catalog->district_json[index]) != 0)
        return fail(context, "out of memory");
    if (context->pack_definitions) {
        /* Validated; catalog_district_targets reads them again from the packed file. */
        free(catalog->targets[index]);
        catalog->targets[index] = NULL;
        catalog->districts[index].targets = NULL;
        catalog->districts[index].target_count = 0;
    }
    catalog->districts[index].definition = NULL;
    cJSON_Delete(catalog->district_json[index]);
    catalog->district_json[index] = NULL;
    return 0;
}

static int load_districts(struct load_context *context, const char *directory)
{
    struct catalog_internal *catalog = context->catalog;
    char **names = NULL;
    size_t count = 0;
    if (list_district_files(context, directory, &names, &count) != 0)
        return -1;
    int result = 0;
    catalog->districts = calloc(count ? count : 1, sizeof(struct district));
    catalog->district_json = calloc(count ? count : 1, sizeof(cJSON *));
    catalog->targets = calloc(count ? count : 1, sizeof(struct target *));
    if (!context->keep_definitions)
        catalog->district_strings = calloc(count ? count : 1, sizeof(char *));
    if (context->pack_definitions) {
        catalog->packed = calloc(count ? count : 1, sizeof(*catalog->packed));
        if (build_pack_dictionary(context) != 0)
            result = -1;
    }
    if (!catalog->districts || !catalog->district_json || !catalog->targets ||
        (!context->keep_definitions && !catalog->district_strings) ||
        (context->pack_definitions && !catalog->packed))
        result = fail(context, "out of memory");
    if (result == 0 && count == 0)
        result = fail(context, "no district files");
    catalog->public.districts = catalog->districts;
    for (size_t i = 0; result == 0 && i < count; i++) {
        catalog->district_json[i] = load_json_file(context, directory, names[i], false);
        catalog->public.district_count = i + 1;
        if (!catalog->district_json[i] ||
            load_district(context, catalog->district_json[i], &catalog->districts[i], i) != 0)
            result = -1;
        if (result == 0 && context->serve_districts)
            result = add_summary(context, catalog->district_json[i]);
        if (result == 0 && !context->keep_definitions)
            result = drop_definition(context, i);
    }
    if (result == 0)
        result = build_index(context, catalog->districts, sizeof(struct district), count,
                             "district", &catalog->district_index);
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    return result;
}

/* ---- pre-rendered read bodies ------------------------------------------------------------- */

/* Closes the districts body and hands it over (NULL when out of memory). */
static char *render_districts_body(struct load_context *context)
{
    if (!context->summaries && append_summary_text(context, "{\"districts\":[", 14) != 0)
        return NULL;
    if (append_summary_text(context, "]}", 2) != 0)
        return NULL;
    char *body = context->summaries;
    context->summaries = NULL;
    char *shrunk = realloc(body, context->summaries_length + 1);
    if (shrunk)
        body = shrunk;
    return body;
}

/* ---- balance.json ---------------------------------------------------------------------------- */

/* The balanced-development settings are parsed by their own module (balance.c) against the
 * elements loaded above; the catalog only reports where they went wrong. */
static int load_balance(struct load_context *context)
{
    struct catalog_internal *catalog = context->catalog;
    char detail[300];
    context->file = "balance.json";
    catalog->balance_rules =
        balance_rules_parse(catalog->balance_json, &catalog->public, detail, sizeof(detail));
    if (!catalog->balance_rules)
        return fail(context, "%s", detail);
    catalog->public.balance_rules = catalog->balance_rules;
    return 0;
}

/* ---- load / free ---------------------------------------------------------------------------- */

void catalog_free(struct catalog *public_catalog)
{
    struct catalog_internal *catalog = (struct catalog_internal *)public_catalog;
    if (!catalog)
        return;
    cJSON_Delete(catalog->elements_json);
    cJSON_Delete(catalog->indicators_json);
    cJSON_Delete(catalog->balance_json);
    balance_rules_free(catalog->balance_rules);
    for (size_t i = 0; i < catalog->public.district_count; i++) {
        cJSON_Delete(catalog->district_json[i]);
        free(catalog->targets[i]);
        if (catalog->district_strings)
            free(catalog->district_strings[i]);
        if (catalog->packed)
            free(catalog->packed[i].data);
    }
    free(catalog->district_strings);
    free(catalog->packed);
    free(catalog->pack_dictionary);
    free(catalog->district_json);
    free(catalog->targets);
    free(catalog->districts);
    free(catalog->elements);
    free(catalog->indicators);
    free_index(&catalog->element_index);
    free_index(&catalog->indicator_index);
    free_index(&catalog->district_index);
    cJSON_free(catalog->elements_body);
    cJSON_free(catalog->indicators_body);
    free(catalog->districts_body);
    free(catalog);
}

static int catalog_render(struct load_context *context)
{
    struct catalog_internal *catalog = context->catalog;
    catalog->elements_body = cJSON_PrintUnformatted(catalog->elements_json);
    catalog->indicators_body = cJSON_PrintUnformatted(catalog->indicators_json);
    if (context->serve_districts)
        catalog->districts_body = render_districts_body(context);
    if (!catalog->elements_body || !catalog->indicators_body ||
        (context->serve_districts && !catalog->districts_body))
        return fail(context, "out of memory");
    catalog->public.elements_body = catalog->elements_body;
    catalog->public.indicators_body = catalog->indicators_body;
    catalog->public.districts_body = catalog->districts_body;
    return 0;
}

enum definitions { DEFINITIONS_TREES, DEFINITIONS_DROPPED, DEFINITIONS_PACKED };

static struct catalog *load_catalog(const char *directory, enum definitions definitions,
                                    char *error, size_t error_size)
{
    struct catalog_internal *catalog = calloc(1, sizeof(*catalog));
    if (!catalog) {
        snprintf(error, error_size, "catalog: out of memory");
        return NULL;
    }
    if (error_size > 0)
        error[0] = '\0';
    struct load_context context = {.catalog = catalog,
                                   .file = "",
                                   .error = error,
                                   .error_size = error_size,
                                   .keep_definitions = definitions == DEFINITIONS_TREES,
                                   .pack_definitions = definitions == DEFINITIONS_PACKED,
                                   .serve_districts = definitions != DEFINITIONS_DROPPED};
    SHA256Init(&context.digest);
    int result = load_elements(&context, directory);
    if (result == 0)
        result = load_indicators(&context, directory);
    if (result == 0) {
        catalog->balance_json = load_json_file(&context, directory, "balance.json", true);
        if (!catalog->balance_json && strstr(error, "balance.json"))
            result = -1;
        catalog->public.balance = catalog->balance_json;
    }
    if (result == 0 && catalog->balance_json)
        result = load_balance(&context);
    if (result == 0)
        result = load_districts(&context, directory);
    if (result == 0)
        result = catalog_render(&context);
    free(context.summaries); /* left over only when loading failed */
    free(context.text_scratch);
    free(context.deflate_scratch);
    _Static_assert(sizeof(catalog->public.hash) == SHA256_DIGEST_STRING_LENGTH,
                   "the catalog hash is the hex SHA-256");
    SHA256End(&context.digest, catalog->public.hash);
    if (result != 0) {
        /* One line, whatever the offending names contain. */
        for (char *p = error; *p; p++)
            if ((unsigned char)*p < 0x20)
                *p = ' ';
        catalog_free(&catalog->public);
        return NULL;
    }
    return &catalog->public;
}

struct catalog *catalog_load(const char *directory, char *error, size_t error_size)
{
    return load_catalog(directory, DEFINITIONS_TREES, error, error_size);
}

struct catalog *catalog_load_compact(const char *directory, char *error, size_t error_size)
{
    return load_catalog(directory, DEFINITIONS_DROPPED, error, error_size);
}

struct catalog *catalog_load_packed(const char *directory, char *error, size_t error_size)
{
    return load_catalog(directory, DEFINITIONS_PACKED, error, error_size);
}

char *catalog_district_json(const struct catalog *catalog, int district)
{
    const struct catalog_internal *internal = (const struct catalog_internal *)catalog;
    if (district < 0 || (size_t)district >= catalog->district_count)
        return NULL;
    if (catalog->districts[district].definition)
        return cJSON_PrintUnformatted(catalog->districts[district].definition);
    if (!internal->packed)
        return NULL;
    const struct packed_definition *packed = &internal->packed[district];
    char *text = cJSON_malloc(packed->plain_size + 1);
    uLongf size = (uLongf)packed->plain_size;
    if (!text || inflate_with_dictionary(internal, packed, (Bytef *)text, &size) != 0 ||
        size != packed->plain_size) {
        cJSON_free(text);
        return NULL;
    }
    text[size] = '\0';
    return text;
}

/* A copy of `count` targets in one block, their milestones following them. */
static struct target *copy_targets(const struct target *targets, size_t count)
{
    size_t milestones = 0;
    for (size_t t = 0; t < count; t++)
        milestones += targets[t].milestone_count;
    struct target *copy =
        malloc(count * sizeof(struct target) + milestones * sizeof(struct milestone));
    if (!copy)
        return NULL;
    memcpy(copy, targets, count * sizeof(struct target));
    struct milestone *next = (struct milestone *)(copy + count);
    for (size_t t = 0; t < count; t++) {
        if (copy[t].milestone_count == 0)
            continue;
        memcpy(next, targets[t].milestones, copy[t].milestone_count * sizeof(struct milestone));
        copy[t].milestones = next;
        next += copy[t].milestone_count;
    }
    return copy;
}

int catalog_district_targets(const struct catalog *catalog, int district, struct target **targets,
                             size_t *count)
{
    *targets = NULL;
    *count = 0;
    if (district < 0 || (size_t)district >= catalog->district_count)
        return -1;
    const struct catalog_internal *internal = (const struct catalog_internal *)catalog;
    const struct district *entry = &catalog->districts[district];
    if (!internal->packed) {
        if (entry->target_count == 0)
            return 0;
        *targets = copy_targets(entry->targets, entry->target_count);
        *count = *targets ? entry->target_count : 0;
        return *targets ? 0 : -1;
    }
    char *text = catalog_district_json(catalog, district);
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    cJSON_free(text);
    char error[128];
    struct load_context context = {
        .catalog = NULL, .file = "", .error = error, .error_size = sizeof(error)};
    /* Validated when loaded: only memory can fail here. */
    int result = root ? parse_targets(&context, catalog, root, targets, count) : -1;
    cJSON_Delete(root);
    return result;
}
