/* balance.c -- see balance.h and ../shared/reference/balanced-development.md.
 *
 * The first half parses balance.json into rules (once, at catalog load); the second half
 * evaluates a district's figures against them. Evaluation walks the stages the rules name; in
 * each it forms every admitted school's 7 resource values once and derives from them the
 * school verdicts, the CVs and the contributions to each CV. */
#include "balance.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"

/* ---- parsing balance.json ------------------------------------------------------------------ */

struct rules_parser {
    const struct catalog *catalog;
    struct balance_rules *rules;
    char *error;
    size_t error_size;
};

static int parse_fail(struct rules_parser *parser, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static int parse_fail(struct rules_parser *parser, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(parser->error, parser->error_size, format, args);
    va_end(args);
    return -1;
}

/* A number member: 0 when read, 1 when absent and optional, -1 (error set) otherwise. */
static int read_number(struct rules_parser *parser, const cJSON *object, const char *path,
                       const char *name, bool required, double *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);
    if (!item)
        return required ? parse_fail(parser, "%s.%s: missing", path, name) : 1;
    if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble))
        return parse_fail(parser, "%s.%s: must be a finite number", path, name);
    *out = item->valuedouble;
    return 0;
}

static int read_string(struct rules_parser *parser, const cJSON *object, const char *path,
                       const char *name, bool required, const char **out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);
    if (!item)
        return required ? parse_fail(parser, "%s.%s: missing", path, name) : 1;
    if (!cJSON_IsString(item) || !item->valuestring || !item->valuestring[0])
        return parse_fail(parser, "%s.%s: must be a non-empty string", path, name);
    *out = item->valuestring;
    return 0;
}

static int read_element(struct rules_parser *parser, const cJSON *object, const char *path,
                        const char *name, int *out)
{
    const char *id = NULL;
    if (read_string(parser, object, path, name, true, &id) != 0)
        return -1;
    *out = catalog_find_element(parser->catalog, id);
    if (*out < 0)
        return parse_fail(parser, "%s.%s: unknown element \"%s\"", path, name, id);
    return 0;
}

static int read_stage_list(struct rules_parser *parser, const cJSON *list, const char *path,
                           unsigned *mask)
{
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) == 0)
        return parse_fail(parser, "%s: must be a non-empty array of stages", path);
    *mask = 0;
    int index = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        int stage = cJSON_IsString(item) ? stage_parse(item->valuestring) : -1;
        if (stage < 0 || stage == STAGE_OFFICE)
            return parse_fail(parser, "%s[%d]: not a school stage", path, index);
        *mask |= 1u << stage;
        index++;
    }
    return 0;
}

static int read_ownership(struct rules_parser *parser, const cJSON *object, const char *path,
                          unsigned fallback, unsigned *mask)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(object, "ownership");
    *mask = fallback;
    if (!list)
        return 0;
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) == 0)
        return parse_fail(parser, "%s.ownership: must be a non-empty array", path);
    *mask = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        int ownership = cJSON_IsString(item) ? ownership_parse(item->valuestring) : -1;
        if (ownership < 0)
            return parse_fail(parser, "%s.ownership: public or private", path);
        *mask |= 1u << ownership;
    }
    return 0;
}

static bool ids_equal(const char *left, const char *right)
{
    return left && right && strcmp(left, right) == 0;
}

/* An element used per school must be reportable by every stage it is judged on. */
static int check_reportable(struct rules_parser *parser, int element, unsigned stages,
                            const char *path)
{
    const struct element *definition = &parser->catalog->elements[element];
    if (definition->office || (definition->stages & stages) == stages)
        return 0;
    return parse_fail(parser, "%s: element \"%s\" is not reported by every stage judged", path,
                      definition->id);
}

static int parse_stages(struct rules_parser *parser, const cJSON *root)
{
    struct balance_rules *rules = parser->rules;
    const cJSON *stages = cJSON_GetObjectItemCaseSensitive(root, "stages");
    if (!cJSON_IsObject(stages) || !stages->child)
        return parse_fail(parser, "stages: must be a non-empty object keyed by stage");
    const cJSON *item;
    cJSON_ArrayForEach(item, stages)
    {
        int stage = stage_parse(item->string);
        if (stage < 0 || stage == STAGE_OFFICE)
            return parse_fail(parser, "stages.%s: not a school stage", item->string);
        char path[96];
        snprintf(path, sizeof(path), "stages.%s", item->string);
        if (!cJSON_IsObject(item))
            return parse_fail(parser, "%s: must be an object", path);
        if (read_number(parser, item, path, "cv_max", true, &rules->cv_max[stage]) != 0)
            return -1;
        if (rules->cv_max[stage] <= 0)
            return parse_fail(parser, "%s.cv_max: must be positive", path);
        rules->stages |= 1u << stage;
    }
    return 0;
}

static int parse_settings(struct rules_parser *parser, const cJSON *root)
{
    struct balance_rules *rules = parser->rules;
    const char *pupils = "students";
    if (read_string(parser, root, "balance", "pupils", false, &pupils) < 0)
        return -1;
    rules->pupils = catalog_find_element(parser->catalog, pupils);
    if (rules->pupils < 0)
        return parse_fail(parser, "pupils: unknown element \"%s\"", pupils);
    const cJSON *pass_rule = cJSON_GetObjectItemCaseSensitive(root, "pass_rule");
    if (!cJSON_IsObject(pass_rule))
        return parse_fail(parser, "pass_rule: must be an object {min_met, rest_min_fraction}");
    double min_met = 0;
    if (read_number(parser, pass_rule, "pass_rule", "min_met", true, &min_met) != 0 ||
        read_number(parser, pass_rule, "pass_rule", "rest_min_fraction", true,
                    &rules->rest_min_fraction) != 0)
        return -1;
    if (min_met != floor(min_met) || min_met < 0)
        return parse_fail(parser, "pass_rule.min_met: must be a whole number >= 0");
    rules->min_met = (int)min_met;
    if (rules->rest_min_fraction < 0 || rules->rest_min_fraction > 1)
        return parse_fail(parser, "pass_rule.rest_min_fraction: must be between 0 and 1");
    rules->exclude_under_pupils = 0;
    if (read_number(parser, root, "balance", "exclude_under_pupils", false,
                    &rules->exclude_under_pupils) < 0)
        return -1;
    if (rules->exclude_under_pupils < 0)
        return parse_fail(parser, "exclude_under_pupils: must be >= 0");
    double top = 3;
    if (read_number(parser, root, "balance", "top_contributors", false, &top) < 0)
        return -1;
    if (top != floor(top) || top < 0 || top > 50)
        return parse_fail(parser, "top_contributors: must be a whole number from 0 to 50");
    rules->top_contributors = (size_t)top;
    return read_ownership(parser, root, "balance", (1u << OWNERSHIP_COUNT) - 1, &rules->ownership);
}

static int parse_resource(struct rules_parser *parser, const cJSON *item, const char *path,
                          struct balance_resource *resource)
{
    if (!cJSON_IsObject(item))
        return parse_fail(parser, "%s: must be an object", path);
    if (read_string(parser, item, path, "id", true, &resource->id) != 0 ||
        read_string(parser, item, path, "name", true, &resource->name) != 0 ||
        read_string(parser, item, path, "name_en", false, &resource->name_en) < 0 ||
        read_string(parser, item, path, "unit", false, &resource->unit) < 0 ||
        read_element(parser, item, path, "numerator", &resource->numerator) != 0 ||
        read_element(parser, item, path, "denominator", &resource->denominator) != 0)
        return -1;
    if (!id_is_valid(resource->id))
        return parse_fail(parser, "%s.id: \"%s\" is not a valid id", path, resource->id);
    if (!resource->unit)
        resource->unit = "";
    resource->factor = 1;
    if (read_number(parser, item, path, "factor", false, &resource->factor) < 0)
        return -1;
    if (resource->factor <= 0)
        return parse_fail(parser, "%s.factor: must be positive", path);
    unsigned stages = parser->rules->stages;
    if (check_reportable(parser, resource->numerator, stages, path) != 0 ||
        check_reportable(parser, resource->denominator, stages, path) != 0)
        return -1;
    const cJSON *standard = cJSON_GetObjectItemCaseSensitive(item, "standard");
    if (!cJSON_IsObject(standard))
        return parse_fail(parser, "%s.standard: must be an object keyed by stage", path);
    char standard_path[128];
    snprintf(standard_path, sizeof(standard_path), "%s.standard", path);
    for (int stage = 0; stage < STAGE_COUNT; stage++) {
        if (!(stages & (1u << stage)))
            continue;
        if (read_number(parser, standard, standard_path, stage_name((enum stage)stage), true,
                        &resource->standard[stage]) != 0)
            return -1;
        if (resource->standard[stage] <= 0)
            return parse_fail(parser, "%s.%s: must be positive", standard_path,
                              stage_name((enum stage)stage));
    }
    return 0;
}

static int parse_resources(struct rules_parser *parser, const cJSON *root)
{
    struct balance_rules *rules = parser->rules;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "resources");
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) == 0)
        return parse_fail(parser, "resources: must be a non-empty array");
    size_t count = (size_t)cJSON_GetArraySize(list);
    rules->resources = calloc(count, sizeof(struct balance_resource));
    if (!rules->resources)
        return parse_fail(parser, "out of memory");
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        char path[48];
        snprintf(path, sizeof(path), "resources[%zu]", rules->resource_count);
        struct balance_resource *resource = &rules->resources[rules->resource_count];
        if (parse_resource(parser, item, path, resource) != 0)
            return -1;
        for (size_t i = 0; i < rules->resource_count; i++)
            if (ids_equal(rules->resources[i].id, resource->id))
                return parse_fail(parser, "%s.id: duplicate resource id \"%s\"", path,
                                  resource->id);
        rules->resource_count++;
    }
    if ((size_t)rules->min_met > rules->resource_count)
        return parse_fail(parser, "pass_rule.min_met: more than the %zu resources",
                          rules->resource_count);
    return 0;
}

/* "value": a number for every stage judged, or an object {stage: number} (school scope). */
static int parse_condition_limit(struct rules_parser *parser, const cJSON *item, const char *path,
                                 struct balance_condition *condition)
{
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(item, "value");
    const cJSON *stages = cJSON_GetObjectItemCaseSensitive(item, "stages");
    char list_path[128];
    snprintf(list_path, sizeof(list_path), "%s.stages", path);
    if (cJSON_IsNumber(value) && isfinite(value->valuedouble)) {
        condition->stages = parser->rules->stages;
        if (stages && read_stage_list(parser, stages, list_path, &condition->stages) != 0)
            return -1;
        for (int stage = 0; stage < STAGE_COUNT; stage++)
            condition->limit[stage] = value->valuedouble;
        return 0;
    }
    if (!cJSON_IsObject(value) || !value->child)
        return parse_fail(parser, "%s.value: must be a number or an object {stage: number}", path);
    if (condition->scope != BALANCE_SCOPE_SCHOOL)
        return parse_fail(parser, "%s.value: per-stage values need \"scope\": \"school\"", path);
    if (stages)
        return parse_fail(parser, "%s.stages: per-stage values already name the stages", path);
    const cJSON *entry;
    cJSON_ArrayForEach(entry, value)
    {
        int stage = stage_parse(entry->string);
        if (stage < 0 || stage == STAGE_OFFICE || !cJSON_IsNumber(entry) ||
            !isfinite(entry->valuedouble))
            return parse_fail(parser, "%s.value.%s: must be a school stage with a number", path,
                              entry->string);
        condition->stages |= 1u << stage;
        condition->limit[stage] = entry->valuedouble;
    }
    condition->per_stage_limit = true;
    return 0;
}

static int parse_condition_value(struct rules_parser *parser, const cJSON *item, const char *path,
                                 struct balance_condition *condition)
{
    condition->element = condition->numerator = condition->denominator = -1;
    condition->factor = 1;
    if (cJSON_GetObjectItemCaseSensitive(item, "element"))
        return read_element(parser, item, path, "element", &condition->element);
    if (read_element(parser, item, path, "numerator", &condition->numerator) != 0 ||
        read_element(parser, item, path, "denominator", &condition->denominator) != 0 ||
        read_number(parser, item, path, "factor", false, &condition->factor) < 0)
        return -1;
    if (condition->factor <= 0)
        return parse_fail(parser, "%s.factor: must be positive", path);
    return 0;
}

static int parse_condition(struct rules_parser *parser, const cJSON *item, const char *path,
                           struct balance_condition *condition)
{
    if (!cJSON_IsObject(item))
        return parse_fail(parser, "%s: must be an object", path);
    const char *scope = "", *op = "";
    if (read_string(parser, item, path, "id", true, &condition->id) != 0 ||
        read_string(parser, item, path, "name", true, &condition->name) != 0 ||
        read_string(parser, item, path, "name_en", false, &condition->name_en) < 0 ||
        read_string(parser, item, path, "unit", false, &condition->unit) < 0 ||
        read_string(parser, item, path, "scope", true, &scope) != 0 ||
        read_string(parser, item, path, "op", true, &op) != 0)
        return -1;
    if (!id_is_valid(condition->id))
        return parse_fail(parser, "%s.id: \"%s\" is not a valid id", path, condition->id);
    if (!condition->unit)
        condition->unit = "";
    if (strcmp(scope, "school") != 0 && strcmp(scope, "district") != 0)
        return parse_fail(parser, "%s.scope: must be school or district", path);
    condition->scope = scope[0] == 's' ? BALANCE_SCOPE_SCHOOL : BALANCE_SCOPE_DISTRICT;
    int op_index = -1;
    for (int i = COMPARE_GE; i <= COMPARE_EQ && op_index < 0; i++)
        if (strcmp(op, compare_op_name((enum compare_op)i)) == 0)
            op_index = i;
    if (op_index < 0)
        return parse_fail(parser, "%s.op: must be one of >=, <=, >, <, =", path);
    condition->op = (enum compare_op)op_index;
    if (parse_condition_value(parser, item, path, condition) != 0 ||
        parse_condition_limit(parser, item, path, condition) != 0 ||
        read_ownership(parser, item, path, parser->rules->ownership, &condition->ownership) != 0)
        return -1;
    int elements[3] = {condition->element, condition->numerator, condition->denominator};
    for (int i = 0; i < 3; i++)
        if (elements[i] >= 0 && condition->scope == BALANCE_SCOPE_SCHOOL &&
            check_reportable(parser, elements[i], condition->stages, path) != 0)
            return -1;
    return 0;
}

static int parse_conditions(struct rules_parser *parser, const cJSON *root)
{
    struct balance_rules *rules = parser->rules;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "conditions");
    if (!list)
        return 0;
    if (!cJSON_IsArray(list))
        return parse_fail(parser, "conditions: must be an array");
    size_t count = (size_t)cJSON_GetArraySize(list);
    rules->conditions = calloc(count ? count : 1, sizeof(struct balance_condition));
    if (!rules->conditions)
        return parse_fail(parser, "out of memory");
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        char path[48];
        snprintf(path, sizeof(path), "conditions[%zu]", rules->condition_count);
        struct balance_condition *condition = &rules->conditions[rules->condition_count];
        if (parse_condition(parser, item, path, condition) != 0)
            return -1;
        for (size_t i = 0; i < rules->condition_count; i++)
            if (ids_equal(rules->conditions[i].id, condition->id))
                return parse_fail(parser, "%s.id: duplicate condition id \"%s\"", path,
                                  condition->id);
        rules->condition_count++;
    }
    return 0;
}

struct balance_rules *balance_rules_parse(const cJSON *json, const struct catalog *catalog,
                                          char *error, size_t error_size)
{
    struct balance_rules *rules = calloc(1, sizeof(*rules));
    struct rules_parser parser = {catalog, rules, error, error_size};
    if (!rules) {
        snprintf(error, error_size, "out of memory");
        return NULL;
    }
    int result = cJSON_IsObject(json) ? 0 : parse_fail(&parser, "must be a JSON object");
    if (result == 0)
        result = parse_stages(&parser, json);
    if (result == 0)
        result = parse_settings(&parser, json);
    if (result == 0)
        result = parse_resources(&parser, json);
    if (result == 0)
        result = parse_conditions(&parser, json);
    if (result != 0) {
        balance_rules_free(rules);
        return NULL;
    }
    return rules;
}

void balance_rules_free(struct balance_rules *rules)
{
    if (!rules)
        return;
    free(rules->resources);
    free(rules->conditions);
    free(rules);
}

/* ---- evaluation ------------------------------------------------------------------------------
 */

/* The verdict is assembled while the checks run: what fails, and what cannot be judged yet. */
struct verdict {
    cJSON *failures, *missing;
    size_t checks;
};

struct stage_figures {
    const struct balance_input *input;
    const struct balance_rules *rules;
    enum stage stage;
    size_t *schools; /* indexes into figures->schools admitted to this stage */
    size_t count;
    double *values; /* count × resource_count, NAN where a school lacks a figure */
};

static double school_ratio(const struct figures *figures, size_t school, int numerator,
                           int denominator, double factor)
{
    double top = *figures_at(figures, school, (size_t)numerator);
    double bottom = *figures_at(figures, school, (size_t)denominator);
    if (isnan(top) || isnan(bottom) || bottom <= 0)
        return NAN;
    return factor * top / bottom;
}

/* How far `value` is ahead (+) of `limit` or short (−) of it, in the limit's direction. */
static double compare_gap(enum compare_op op, double value, double limit)
{
    switch (op) {
    case COMPARE_GE:
    case COMPARE_GT:
        return value - limit;
    case COMPARE_LE:
    case COMPARE_LT:
        return limit - value;
    case COMPARE_EQ:
        break;
    }
    return -fabs(value - limit);
}

static void add_number_or_null(cJSON *object, const char *name, double value)
{
    if (isfinite(value))
        json_add_number(object, name, value);
    else
        cJSON_AddNullToObject(object, name);
}

static void add_names(cJSON *object, const char *name, const char *name_en)
{
    cJSON_AddStringToObject(object, "name", name);
    if (name_en)
        cJSON_AddStringToObject(object, "name_en", name_en);
}

static cJSON *new_failure(struct verdict *verdict, const char *check, const char *stage)
{
    cJSON *failure = cJSON_CreateObject();
    cJSON_AddStringToObject(failure, "check", check);
    if (stage)
        cJSON_AddStringToObject(failure, "stage", stage);
    cJSON_AddItemToArray(verdict->failures, failure);
    return failure;
}

static cJSON *new_missing(struct verdict *verdict, const char *check, const char *stage)
{
    cJSON *missing = cJSON_CreateObject();
    cJSON_AddStringToObject(missing, "check", check);
    if (stage)
        cJSON_AddStringToObject(missing, "stage", stage);
    cJSON_AddItemToArray(verdict->missing, missing);
    return missing;
}

static int stage_figures_collect(struct stage_figures *view)
{
    const struct figures *figures = view->input->figures;
    const struct balance_rules *rules = view->rules;
    view->schools = malloc((figures->school_count + 1) * sizeof(size_t));
    view->values = malloc((figures->school_count * rules->resource_count + 1) * sizeof(double));
    if (!view->schools || !view->values)
        return -1;
    view->count = 0;
    for (size_t s = 0; s < figures->school_count; s++) {
        const struct school *school = &figures->schools[s];
        if (school->stage != view->stage || !(rules->ownership & (1u << school->ownership)))
            continue;
        for (size_t r = 0; r < rules->resource_count; r++) {
            const struct balance_resource *resource = &rules->resources[r];
            view->values[view->count * rules->resource_count + r] = school_ratio(
                figures, s, resource->numerator, resource->denominator, resource->factor);
        }
        view->schools[view->count++] = s;
    }
    return 0;
}

static double stage_value(const struct stage_figures *view, size_t index, size_t resource)
{
    return view->values[index * view->rules->resource_count + resource];
}

static double school_pupils(const struct stage_figures *view, size_t index)
{
    return *figures_at(view->input->figures, view->schools[index], (size_t)view->rules->pupils);
}

static const struct school *stage_school(const struct stage_figures *view, size_t index)
{
    return &view->input->figures->schools[view->schools[index]];
}

/* ---- per school: 6 of 7, the rest at 85 % -------------------------------------------------- */

static cJSON *render_school(const struct stage_figures *view, size_t index, cJSON **short_out,
                            int *met_out, bool *complete_out)
{
    const struct balance_rules *rules = view->rules;
    const struct school *school = stage_school(view, index);
    cJSON *object = cJSON_CreateObject();
    cJSON_AddStringToObject(object, "id", school->id);
    cJSON_AddStringToObject(object, "name", school->name);
    add_number_or_null(object, "pupils", school_pupils(view, index));
    cJSON *resources = cJSON_AddArrayToObject(object, "resources");
    cJSON *below = cJSON_CreateArray();
    int met = 0;
    bool complete = true;
    for (size_t r = 0; r < rules->resource_count; r++) {
        double value = stage_value(view, index, r);
        double standard = rules->resources[r].standard[view->stage];
        cJSON *item = cJSON_CreateObject();
        cJSON_AddStringToObject(item, "id", rules->resources[r].id);
        add_number_or_null(item, "value", value);
        json_add_number(item, "standard", standard);
        if (isnan(value)) {
            complete = false;
            cJSON_AddNullToObject(item, "meets");
        } else {
            cJSON_AddBoolToObject(item, "meets", value >= standard);
            json_add_number(item, "fraction", value / standard);
            if (value >= standard)
                met++;
            else
                cJSON_AddItemToArray(below, cJSON_Duplicate(item, true));
        }
        cJSON_AddItemToArray(resources, item);
    }
    json_add_number(object, "met", met);
    *short_out = below;
    *met_out = met;
    *complete_out = complete;
    return object;
}

/* The pass rule: at least min_met resources meet the standard and every other one reaches
 * rest_min_fraction of it. A school lacking a figure passes only if the rule already holds
 * whatever the missing figures are, and fails only if it already cannot hold. */
static int school_passes(const struct stage_figures *view, size_t index, int met, bool complete)
{
    const struct balance_rules *rules = view->rules;
    bool floor_broken = false;
    int unknown = 0;
    for (size_t r = 0; r < rules->resource_count; r++) {
        double value = stage_value(view, index, r);
        double standard = rules->resources[r].standard[view->stage];
        if (isnan(value))
            unknown++;
        else if (value < standard * rules->rest_min_fraction)
            floor_broken = true;
    }
    if (floor_broken || met + unknown < rules->min_met)
        return 0;
    return complete ? 1 : -1;
}

static void judge_schools(const struct stage_figures *view, cJSON *stage_object,
                          struct verdict *verdict)
{
    const char *stage = stage_name(view->stage);
    cJSON *list = cJSON_AddArrayToObject(stage_object, "schools");
    cJSON *failing = cJSON_AddArrayToObject(stage_object, "failing_schools");
    cJSON *unknown = cJSON_CreateArray();
    size_t passing = 0;
    for (size_t i = 0; i < view->count; i++) {
        cJSON *below = NULL;
        int met = 0;
        bool complete = false;
        cJSON *school = render_school(view, i, &below, &met, &complete);
        int passes = school_passes(view, i, met, complete);
        if (passes < 0)
            cJSON_AddNullToObject(school, "pass");
        else
            cJSON_AddBoolToObject(school, "pass", passes == 1);
        cJSON_AddItemToArray(list, school);
        verdict->checks++;
        if (passes == 1) {
            passing++;
            cJSON_Delete(below);
        } else if (passes == 0) {
            const struct school *record = stage_school(view, i);
            cJSON *summary = cJSON_CreateObject();
            cJSON_AddStringToObject(summary, "id", record->id);
            cJSON_AddStringToObject(summary, "name", record->name);
            json_add_number(summary, "met", met);
            cJSON_AddItemToObject(summary, "below", below);
            cJSON_AddItemToArray(failing, summary);
            cJSON *failure = new_failure(verdict, "school", stage);
            cJSON_AddStringToObject(failure, "school", record->id);
            json_add_number(failure, "met", met);
            json_add_number(failure, "required", view->rules->min_met);
            cJSON_AddItemToObject(failure, "below", cJSON_Duplicate(below, true));
        } else {
            cJSON_Delete(below);
            cJSON_AddItemToArray(unknown, cJSON_CreateString(stage_school(view, i)->id));
        }
    }
    json_add_number(stage_object, "schools_passing", (double)passing);
    if (cJSON_GetArraySize(unknown) > 0)
        cJSON_AddItemToObject(new_missing(verdict, "school", stage), "schools", unknown);
    else
        cJSON_Delete(unknown);
}

/* ---- per stage: the coefficient of variation of each resource ------------------------------ */

struct contribution {
    size_t index;
    double share;
};

static int compare_contributions(const void *left, const void *right)
{
    double a = ((const struct contribution *)left)->share;
    double b = ((const struct contribution *)right)->share;
    return (a < b) - (a > b); /* descending */
}

/* Which schools pull the CV up: school i's term (Pᵢ/P)(Xᵢ−X̄)² of the weighted variance, as a
 * share of the whole. A school far from the mean in either direction counts; a large school a
 * little off can outweigh a tiny one far off, which is the point of weighting by pupils. */
static cJSON *render_contributors(const struct stage_figures *view, const size_t *members,
                                  const double *x, const double *w, size_t count, double mean)
{
    cJSON *list = cJSON_CreateArray();
    struct contribution *terms = malloc((count + 1) * sizeof(*terms));
    if (!terms)
        return list;
    double total = 0;
    for (size_t i = 0; i < count; i++) {
        terms[i].index = i;
        terms[i].share = w[i] * (x[i] - mean) * (x[i] - mean);
        total += terms[i].share;
    }
    if (total > 0) {
        for (size_t i = 0; i < count; i++)
            terms[i].share /= total;
        qsort(terms, count, sizeof(*terms), compare_contributions);
        for (size_t i = 0; i < count && i < view->rules->top_contributors; i++) {
            const struct school *school = stage_school(view, members[terms[i].index]);
            cJSON *item = cJSON_CreateObject();
            cJSON_AddStringToObject(item, "id", school->id);
            cJSON_AddStringToObject(item, "name", school->name);
            json_add_number(item, "value", x[terms[i].index]);
            json_add_number(item, "pupils", w[terms[i].index]);
            json_add_number(item, "share", terms[i].share);
            cJSON_AddStringToObject(item, "side", x[terms[i].index] < mean ? "below" : "above");
            cJSON_AddItemToArray(list, item);
        }
    }
    free(terms);
    return list;
}

static void record_cv_outcome(const struct stage_figures *view, size_t resource, cJSON *object,
                              bool has_cv, double cv, struct verdict *verdict)
{
    const struct balance_resource *definition = &view->rules->resources[resource];
    double cv_max = view->rules->cv_max[view->stage];
    const char *stage = stage_name(view->stage);
    if (view->count == 0) {
        cJSON_AddNullToObject(object, "pass"); /* no school of the stage: nothing to judge */
        return;
    }
    verdict->checks++;
    if (!has_cv) {
        cJSON_AddNullToObject(object, "pass");
        cJSON_AddStringToObject(new_missing(verdict, "cv", stage), "resource", definition->id);
        return;
    }
    cJSON_AddBoolToObject(object, "pass", cv <= cv_max);
    if (cv <= cv_max)
        return;
    cJSON *failure = new_failure(verdict, "cv", stage);
    cJSON_AddStringToObject(failure, "resource", definition->id);
    json_add_number(failure, "value", cv);
    json_add_number(failure, "limit", cv_max);
    json_add_number(failure, "gap", cv_max - cv);
    cJSON *schools = cJSON_AddArrayToObject(failure, "schools");
    const cJSON *contributor;
    cJSON_ArrayForEach(contributor, cJSON_GetObjectItemCaseSensitive(object, "top_contributors"))
    {
        cJSON_AddItemToArray(schools, cJSON_Duplicate(cJSON_GetObjectItem(contributor, "id"), 0));
    }
}

/* Gathers the schools that enter the CV of `resource`: a value, pupils, and not a teaching
 * point below exclude_under_pupils. Returns the count. */
static size_t cv_members(const struct stage_figures *view, size_t resource, size_t *members,
                         double *x, double *w)
{
    size_t count = 0;
    for (size_t i = 0; i < view->count; i++) {
        double value = stage_value(view, i, resource), pupils = school_pupils(view, i);
        if (isnan(value) || isnan(pupils) || pupils <= 0 ||
            pupils < view->rules->exclude_under_pupils)
            continue;
        members[count] = i;
        x[count] = value;
        w[count] = pupils;
        count++;
    }
    return count;
}

static cJSON *render_resource_cv(const struct stage_figures *view, size_t resource,
                                 struct verdict *verdict, size_t *members, double *x, double *w)
{
    const struct balance_resource *definition = &view->rules->resources[resource];
    cJSON *object = cJSON_CreateObject();
    cJSON_AddStringToObject(object, "id", definition->id);
    add_names(object, definition->name, definition->name_en);
    cJSON_AddStringToObject(object, "unit", definition->unit);
    json_add_number(object, "standard", definition->standard[view->stage]);
    size_t meeting = 0;
    for (size_t i = 0; i < view->count; i++)
        meeting += stage_value(view, i, resource) >= definition->standard[view->stage];
    json_add_number(object, "schools_meeting", (double)meeting);
    size_t count = cv_members(view, resource, members, x, w);
    json_add_number(object, "schools_in_cv", (double)count);
    double cv = NAN, mean = NAN, deviation = NAN;
    bool has_cv = count > 0 && aggregate_weighted_cv(x, w, count, &cv, &mean, &deviation);
    add_number_or_null(object, "mean", has_cv ? mean : NAN);
    add_number_or_null(object, "sd", has_cv ? deviation : NAN);
    add_number_or_null(object, "cv", has_cv ? cv : NAN);
    json_add_number(object, "cv_max", view->rules->cv_max[view->stage]);
    cJSON_AddItemToObject(object, "top_contributors",
                          has_cv ? render_contributors(view, members, x, w, count, mean)
                                 : cJSON_CreateArray());
    record_cv_outcome(view, resource, object, has_cv, cv, verdict);
    return object;
}

static int judge_cvs(const struct stage_figures *view, cJSON *stage_object, struct verdict *verdict)
{
    size_t *members = malloc((view->count + 1) * sizeof(size_t));
    double *x = malloc((view->count + 1) * sizeof(double));
    double *w = malloc((view->count + 1) * sizeof(double));
    int result = members && x && w ? 0 : -1;
    cJSON *resources = cJSON_AddArrayToObject(stage_object, "resources");
    for (size_t r = 0; result == 0 && r < view->rules->resource_count; r++)
        cJSON_AddItemToArray(resources, render_resource_cv(view, r, verdict, members, x, w));
    free(members);
    free(x);
    free(w);
    return result;
}

static cJSON *render_excluded(const struct stage_figures *view)
{
    cJSON *list = cJSON_CreateArray();
    for (size_t i = 0; i < view->count; i++) {
        double pupils = school_pupils(view, i);
        if (!isnan(pupils) && pupils < view->rules->exclude_under_pupils)
            cJSON_AddItemToArray(list, cJSON_CreateString(stage_school(view, i)->id));
    }
    return list;
}

static int evaluate_stage(const struct balance_input *input, enum stage stage, cJSON *stages,
                          struct verdict *verdict)
{
    const struct balance_rules *rules = input->catalog->balance_rules;
    struct stage_figures view = {input, rules, stage, NULL, 0, NULL};
    int result = stage_figures_collect(&view);
    if (result == 0) {
        cJSON *object = cJSON_AddObjectToObject(stages, stage_name(stage));
        json_add_number(object, "cv_max", rules->cv_max[stage]);
        json_add_number(object, "schools_registered", (double)view.count);
        double pupils = 0;
        for (size_t i = 0; i < view.count; i++)
            pupils += isnan(school_pupils(&view, i)) ? 0 : school_pupils(&view, i);
        json_add_number(object, "pupils", pupils);
        cJSON_AddItemToObject(object, "excluded_from_cv", render_excluded(&view));
        result = judge_cvs(&view, object, verdict);
        judge_schools(&view, object, verdict);
    }
    free(view.schools);
    free(view.values);
    return result;
}

/* ---- other numeric conditions ------------------------------------------------------------- */

static double condition_school_value(const struct figures *figures, size_t school,
                                     const struct balance_condition *condition)
{
    if (condition->element >= 0)
        return *figures_at(figures, school, (size_t)condition->element);
    return school_ratio(figures, school, condition->numerator, condition->denominator,
                        condition->factor);
}

static bool condition_admits(const struct balance_condition *condition, const struct school *school)
{
    return (condition->stages & (1u << school->stage)) &&
           (condition->ownership & (1u << school->ownership));
}

static void add_condition_header(cJSON *object, const struct balance_condition *condition)
{
    cJSON_AddStringToObject(object, "id", condition->id);
    add_names(object, condition->name, condition->name_en);
    cJSON_AddStringToObject(object, "unit", condition->unit);
    cJSON_AddStringToObject(object, "scope",
                            condition->scope == BALANCE_SCOPE_SCHOOL ? "school" : "district");
    cJSON_AddStringToObject(object, "op", compare_op_name(condition->op));
    if (!condition->per_stage_limit) {
        json_add_number(object, "limit", condition->limit[0]);
        return;
    }
    cJSON *limits = cJSON_AddObjectToObject(object, "limits");
    for (int stage = 0; stage < STAGE_COUNT; stage++)
        if (condition->stages & (1u << stage))
            json_add_number(limits, stage_name((enum stage)stage), condition->limit[stage]);
}

static const char *judge_school_condition(const struct balance_input *input,
                                          const struct balance_condition *condition, cJSON *object)
{
    const struct figures *figures = input->figures;
    cJSON *failing = cJSON_CreateArray();
    size_t judged = 0, unreported = 0;
    for (size_t s = 0; s < figures->school_count; s++) {
        const struct school *school = &figures->schools[s];
        if (!condition_admits(condition, school))
            continue;
        double value = condition_school_value(figures, s, condition);
        double limit = condition->limit[school->stage];
        if (isnan(value)) {
            unreported++;
            continue;
        }
        judged++;
        if (compare_holds(condition->op, value, limit))
            continue;
        cJSON *item = cJSON_CreateObject();
        cJSON_AddStringToObject(item, "id", school->id);
        cJSON_AddStringToObject(item, "name", school->name);
        cJSON_AddStringToObject(item, "stage", stage_name(school->stage));
        json_add_number(item, "value", value);
        json_add_number(item, "limit", limit);
        json_add_number(item, "gap", compare_gap(condition->op, value, limit));
        cJSON_AddItemToArray(failing, item);
    }
    json_add_number(object, "schools_judged", (double)judged);
    json_add_number(object, "schools_unreported", (double)unreported);
    size_t failures = (size_t)cJSON_GetArraySize(failing);
    cJSON_AddItemToObject(object, "failing", failing);
    return failures > 0 ? "fail" : judged == 0 ? "no_data" : unreported > 0 ? "incomplete" : "pass";
}

/* Whether school `s` contributes `element` to a district-scope condition: office figures always
 * count (as in the indicator kinds of api-v1.md), school figures when the condition admits it. */
static bool condition_counts(const struct catalog *catalog,
                             const struct balance_condition *condition, const struct school *school,
                             int element)
{
    const struct element *definition = &catalog->elements[element];
    if (!(definition->stages & (1u << school->stage)))
        return false;
    return definition->office || condition_admits(condition, school);
}

static bool condition_sum(const struct balance_input *input,
                          const struct balance_condition *condition, int element, double *sum)
{
    const struct figures *figures = input->figures;
    bool any = false;
    *sum = 0;
    for (size_t s = 0; s < figures->school_count; s++) {
        double value = *figures_at(figures, s, (size_t)element);
        if (isnan(value) ||
            !condition_counts(input->catalog, condition, &figures->schools[s], element))
            continue;
        *sum += value;
        any = true;
    }
    return any;
}

static const char *judge_district_condition(const struct balance_input *input,
                                            const struct balance_condition *condition,
                                            cJSON *object, double *value_out)
{
    double value = NAN;
    if (condition->element >= 0) {
        double sum = 0;
        if (condition_sum(input, condition, condition->element, &sum))
            value = sum;
    } else {
        double top = 0, bottom = 0;
        bool has_top = condition_sum(input, condition, condition->numerator, &top);
        bool has_bottom = condition_sum(input, condition, condition->denominator, &bottom);
        if (has_top && has_bottom) {
            json_add_number(object, "numerator", top);
            json_add_number(object, "denominator", bottom);
            if (bottom != 0)
                value = condition->factor * top / bottom;
        }
    }
    *value_out = value;
    add_number_or_null(object, "value", value);
    if (isnan(value))
        return "no_data";
    json_add_number(object, "gap", compare_gap(condition->op, value, condition->limit[0]));
    return compare_holds(condition->op, value, condition->limit[0]) ? "pass" : "fail";
}

static cJSON *evaluate_condition(const struct balance_input *input,
                                 const struct balance_condition *condition, struct verdict *verdict)
{
    cJSON *object = cJSON_CreateObject();
    add_condition_header(object, condition);
    double value = NAN;
    const char *status = condition->scope == BALANCE_SCOPE_SCHOOL
                             ? judge_school_condition(input, condition, object)
                             : judge_district_condition(input, condition, object, &value);
    cJSON_AddStringToObject(object, "status", status);
    verdict->checks++;
    if (strcmp(status, "fail") == 0) {
        cJSON *failure = new_failure(verdict, "condition", NULL);
        cJSON_AddStringToObject(failure, "condition", condition->id);
        if (condition->scope == BALANCE_SCOPE_SCHOOL) {
            cJSON_AddItemToObject(
                failure, "schools",
                cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(object, "failing"), true));
        } else {
            json_add_number(failure, "value", value);
            json_add_number(failure, "limit", condition->limit[0]);
            json_add_number(failure, "gap", compare_gap(condition->op, value, condition->limit[0]));
        }
    } else if (strcmp(status, "pass") != 0) {
        cJSON_AddStringToObject(new_missing(verdict, "condition", NULL), "condition",
                                condition->id);
    }
    return object;
}

/* ---- the document ------------------------------------------------------------------------ */

static void render_verdict(cJSON *object, struct verdict *verdict, bool any_school)
{
    size_t failed = (size_t)cJSON_GetArraySize(verdict->failures);
    size_t missing = (size_t)cJSON_GetArraySize(verdict->missing);
    const char *status = !any_school ? "no_data"
                         : failed    ? "fail"
                         : missing   ? "incomplete"
                                     : "pass";
    char summary[160], summary_en[160];
    if (failed) {
        snprintf(summary, sizeof(summary), "%zu 项未达到优质均衡要求", failed);
        snprintf(summary_en, sizeof(summary_en), "%zu of %zu checks fail", failed, verdict->checks);
    } else if (!any_school) {
        snprintf(summary, sizeof(summary), "尚无小学、初中数据");
        snprintf(summary_en, sizeof(summary_en), "No school figures yet");
    } else if (missing) {
        snprintf(summary, sizeof(summary), "数据不全：%zu 项尚无法判断", missing);
        snprintf(summary_en, sizeof(summary_en), "Incomplete: %zu of %zu checks cannot be judged",
                 missing, verdict->checks);
    } else {
        snprintf(summary, sizeof(summary), "达到优质均衡发展要求");
        snprintf(summary_en, sizeof(summary_en), "Meets every balanced-development check");
    }
    cJSON_AddStringToObject(object, "status", status);
    if (strcmp(status, "pass") == 0 || strcmp(status, "fail") == 0)
        cJSON_AddBoolToObject(object, "pass", failed == 0);
    else
        cJSON_AddNullToObject(object, "pass");
    cJSON_AddStringToObject(object, "summary", summary);
    cJSON_AddStringToObject(object, "summary_en", summary_en);
    json_add_number(object, "checks", (double)verdict->checks);
    cJSON_AddItemToObject(object, "failures", verdict->failures);
    cJSON_AddItemToObject(object, "missing", verdict->missing);
    verdict->failures = verdict->missing = NULL;
}

static void render_settings(cJSON *root, const struct balance_rules *rules)
{
    cJSON *settings = cJSON_AddObjectToObject(root, "rules");
    json_add_number(settings, "min_met", rules->min_met);
    json_add_number(settings, "of", (double)rules->resource_count);
    json_add_number(settings, "rest_min_fraction", rules->rest_min_fraction);
    json_add_number(settings, "exclude_under_pupils", rules->exclude_under_pupils);
}

static bool any_school_evaluated(const struct balance_input *input)
{
    const struct balance_rules *rules = input->catalog->balance_rules;
    for (size_t s = 0; s < input->figures->school_count; s++)
        if (rules->stages & (1u << input->figures->schools[s].stage))
            return true;
    return false;
}

cJSON *balance_build(const struct balance_input *input)
{
    const struct balance_rules *rules = input->catalog->balance_rules;
    if (!rules)
        return NULL;
    struct verdict verdict = {cJSON_CreateArray(), cJSON_CreateArray(), 0};
    cJSON *root = cJSON_CreateObject();
    char period[8];
    snprintf(period, sizeof(period), "%04d", input->period);
    cJSON_AddStringToObject(root, "district", input->district->id);
    cJSON_AddStringToObject(root, "period", period);
    cJSON_AddStringToObject(root, "catalog", input->catalog->hash);
    cJSON *verdict_object = cJSON_AddObjectToObject(root, "verdict");
    render_settings(root, rules);
    cJSON *stages = cJSON_AddObjectToObject(root, "stages");
    int result = verdict_object && stages && verdict.failures && verdict.missing ? 0 : -1;
    for (int stage = 0; result == 0 && stage < STAGE_COUNT; stage++)
        if (rules->stages & (1u << stage))
            result = evaluate_stage(input, (enum stage)stage, stages, &verdict);
    cJSON *conditions = cJSON_AddArrayToObject(root, "conditions");
    for (size_t c = 0; result == 0 && c < rules->condition_count; c++)
        cJSON_AddItemToArray(conditions,
                             evaluate_condition(input, &rules->conditions[c], &verdict));
    if (result == 0)
        render_verdict(verdict_object, &verdict, any_school_evaluated(input));
    cJSON_Delete(verdict.failures);
    cJSON_Delete(verdict.missing);
    if (result != 0) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}
