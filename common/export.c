/* export.c -- see export.h. */
#include "export.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>

#include "csv.h"

static const cJSON *member(const cJSON *object, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(object, name);
}

static void write_member(struct csv_writer *writer, const cJSON *object, const char *name)
{
    const cJSON *item = member(object, name);
    if (cJSON_IsNumber(item))
        csv_write_number(writer, item->valuedouble);
    else if (cJSON_IsString(item))
        csv_write_text(writer, item->valuestring);
    else if (cJSON_IsBool(item))
        csv_write_text(writer, cJSON_IsTrue(item) ? "true" : "false");
    else
        csv_write_empty(writer);
}

static void write_header(struct csv_writer *writer, const char *const *names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        csv_write_text(writer, names[i]);
    csv_end_row(writer);
}

/* ---- snapshot ------------------------------------------------------------------------------ */

static const char *const snapshot_columns[] = {"district",
                                               "period",
                                               "version",
                                               "indicator",
                                               "name",
                                               "name_en",
                                               "unit",
                                               "kind",
                                               "value",
                                               "numerator",
                                               "denominator",
                                               "schools_reporting",
                                               "schools_expected",
                                               "target_op",
                                               "target_value",
                                               "target_min",
                                               "target_max",
                                               "target_year",
                                               "status",
                                               "rule",
                                               "gap",
                                               "expected"};

char *export_snapshot_csv(const cJSON *snapshot, size_t *length)
{
    struct csv_writer writer;
    csv_writer_init(&writer, true);
    write_header(&writer, snapshot_columns, sizeof(snapshot_columns) / sizeof(char *));
    const cJSON *indicator;
    cJSON_ArrayForEach(indicator, member(snapshot, "indicators"))
    {
        write_member(&writer, snapshot, "district");
        write_member(&writer, snapshot, "period");
        write_member(&writer, snapshot, "version");
        write_member(&writer, indicator, "id");
        static const char *const fields[] = {"name",
                                             "name_en",
                                             "unit",
                                             "kind",
                                             "value",
                                             "numerator",
                                             "denominator",
                                             "schools_reporting",
                                             "schools_expected"};
        for (size_t i = 0; i < sizeof(fields) / sizeof(char *); i++)
            write_member(&writer, indicator, fields[i]);
        const cJSON *target = member(indicator, "target");
        write_member(&writer, target, "op");
        write_member(&writer, target, "value");
        write_member(&writer, target, "min");
        write_member(&writer, target, "max");
        write_member(&writer, target, "year");
        write_member(&writer, indicator, "status");
        write_member(&writer, indicator, "rule");
        write_member(&writer, indicator, "gap");
        write_member(&writer, indicator, "expected");
        csv_end_row(&writer);
    }
    return csv_writer_finish(&writer, length);
}

/* ---- balance ------------------------------------------------------------------------------- */

static const char *const balance_columns[] = {
    "district", "period",      "version", "section", "stage", "item", "name",
    "school",   "school_name", "value",   "limit",   "pass",  "gap",  "detail"};

/* The columns every balance row starts with: district, period, version, section, stage. */
static void begin_row(struct csv_writer *writer, const cJSON *document, const char *section,
                      const char *stage)
{
    write_member(writer, document, "district");
    write_member(writer, document, "period");
    write_member(writer, document, "version");
    csv_write_text(writer, section);
    csv_write_text(writer, stage);
}

static void write_verdict(struct csv_writer *writer, const cJSON *document)
{
    const cJSON *verdict = member(document, "verdict");
    begin_row(writer, document, "verdict", "");
    write_member(writer, verdict, "status");
    csv_write_empty(writer); /* name */
    csv_write_empty(writer); /* school */
    csv_write_empty(writer); /* school_name */
    write_member(writer, verdict, "checks");
    csv_write_empty(writer); /* limit */
    write_member(writer, verdict, "pass");
    csv_write_empty(writer); /* gap */
    write_member(writer, verdict, "summary");
    csv_end_row(writer);
}

static void write_resource(struct csv_writer *writer, const cJSON *document, const char *stage,
                           const cJSON *resource)
{
    begin_row(writer, document, "cv", stage);
    write_member(writer, resource, "id");
    write_member(writer, resource, "name");
    csv_write_empty(writer);
    csv_write_empty(writer);
    write_member(writer, resource, "cv");
    write_member(writer, resource, "cv_max");
    write_member(writer, resource, "pass");
    const cJSON *cv = member(resource, "cv"), *cv_max = member(resource, "cv_max");
    if (cJSON_IsNumber(cv) && cJSON_IsNumber(cv_max))
        csv_write_number(writer, cv_max->valuedouble - cv->valuedouble);
    else
        csv_write_empty(writer);
    char detail[160];
    const cJSON *mean = member(resource, "mean"), *sd = member(resource, "sd");
    snprintf(detail, sizeof(detail), "mean %.6g, sd %.6g",
             cJSON_IsNumber(mean) ? mean->valuedouble : NAN,
             cJSON_IsNumber(sd) ? sd->valuedouble : NAN);
    csv_write_text(writer, detail);
    csv_end_row(writer);
    const cJSON *contributor;
    cJSON_ArrayForEach(contributor, member(resource, "top_contributors"))
    {
        begin_row(writer, document, "cv_contributor", stage);
        write_member(writer, resource, "id");
        write_member(writer, resource, "name");
        write_member(writer, contributor, "id");
        write_member(writer, contributor, "name");
        write_member(writer, contributor, "share");
        csv_write_empty(writer);
        csv_write_empty(writer);
        csv_write_empty(writer);
        write_member(writer, contributor, "side");
        csv_end_row(writer);
    }
}

static void write_school(struct csv_writer *writer, const cJSON *document, const char *stage,
                         const cJSON *school, double min_met)
{
    const cJSON *resource;
    cJSON_ArrayForEach(resource, member(school, "resources"))
    {
        begin_row(writer, document, "school_resource", stage);
        write_member(writer, resource, "id");
        csv_write_empty(writer);
        write_member(writer, school, "id");
        write_member(writer, school, "name");
        write_member(writer, resource, "value");
        write_member(writer, resource, "standard");
        write_member(writer, resource, "meets");
        csv_write_empty(writer);
        write_member(writer, resource, "fraction");
        csv_end_row(writer);
    }
    begin_row(writer, document, "school", stage);
    csv_write_text(writer, "met");
    csv_write_empty(writer);
    write_member(writer, school, "id");
    write_member(writer, school, "name");
    write_member(writer, school, "met");
    csv_write_number(writer, min_met);
    write_member(writer, school, "pass");
    csv_write_empty(writer);
    write_member(writer, school, "pupils");
    csv_end_row(writer);
}

static void write_condition(struct csv_writer *writer, const cJSON *document,
                            const cJSON *condition)
{
    begin_row(writer, document, "condition", "");
    write_member(writer, condition, "id");
    write_member(writer, condition, "name");
    csv_write_empty(writer);
    csv_write_empty(writer);
    write_member(writer, condition, "value");
    write_member(writer, condition, "limit");
    const cJSON *status = member(condition, "status");
    const char *text = cJSON_IsString(status) ? status->valuestring : "";
    bool judged = cJSON_IsString(status) && (text[0] == 'p' || text[0] == 'f');
    if (judged)
        csv_write_text(writer, text[0] == 'p' ? "true" : "false");
    else
        csv_write_empty(writer);
    write_member(writer, condition, "gap");
    csv_write_text(writer, text);
    csv_end_row(writer);
    const cJSON *school;
    cJSON_ArrayForEach(school, member(condition, "failing"))
    {
        const cJSON *stage = member(school, "stage");
        begin_row(writer, document, "condition_school",
                  cJSON_IsString(stage) ? stage->valuestring : "");
        write_member(writer, condition, "id");
        write_member(writer, condition, "name");
        write_member(writer, school, "id");
        write_member(writer, school, "name");
        write_member(writer, school, "value");
        write_member(writer, school, "limit");
        csv_write_text(writer, "false");
        write_member(writer, school, "gap");
        csv_write_empty(writer);
        csv_end_row(writer);
    }
}

char *export_balance_csv(const cJSON *balance, size_t *length)
{
    struct csv_writer writer;
    csv_writer_init(&writer, true);
    write_header(&writer, balance_columns, sizeof(balance_columns) / sizeof(char *));
    write_verdict(&writer, balance);
    const cJSON *min_met = member(member(balance, "rules"), "min_met");
    const cJSON *stage;
    cJSON_ArrayForEach(stage, member(balance, "stages"))
    {
        const cJSON *item;
        cJSON_ArrayForEach(item, member(stage, "resources"))
        {
            write_resource(&writer, balance, stage->string, item);
        }
        cJSON_ArrayForEach(item, member(stage, "schools"))
        {
            write_school(&writer, balance, stage->string, item,
                         cJSON_IsNumber(min_met) ? min_met->valuedouble : NAN);
        }
    }
    const cJSON *condition;
    cJSON_ArrayForEach(condition, member(balance, "conditions"))
    {
        write_condition(&writer, balance, condition);
    }
    return csv_writer_finish(&writer, length);
}
