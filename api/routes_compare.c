/* routes_compare.c -- comparing and tracing figures: GET /v1/rankings (districts ordered on one
 * indicator) and GET /v1/districts/{id}/schools/{school}/figures (what is counted for a school,
 * and which submission each figure came from).
 *
 * Both read what the worker already stored, in one MULTI/EXEC round trip: rankings the
 * "values" field of every district's snapshot hash (the same numbers the snapshots show),
 * figures the school's cells, whose value is "<stream entry id> <value>" (keys.h), so the
 * entry id each figure came from is the submission id the school was given.
 *
 * Ranking order follows the indicator's target: a district targets "<=" (or "delta<=") when
 * less is better, anything else means more is better, and an untargeted indicator is ranked
 * descending. Equal values share a rank and the next rank is skipped (competition ranking,
 * 1, 2, 2, 4); districts without a value come last with rank null. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "keys.h"
#include "period.h"
#include "server.h"
#include "token.h"

static void ignore_reply(redisReply *reply, void *privdata)
{
    (void)reply, (void)privdata;
}

static int read_period(struct evhttp_request *request)
{
    char text[16] = "";
    if (!http_query(request, "period", text, sizeof(text))) {
        http_send_error(request, 422, "missing_period", "period", "name the period: ?period=YYYY");
        return -1;
    }
    int period = period_parse(text);
    if (period < 0)
        http_send_error(request, 422, "invalid_period", "period",
                        "period must be a year YYYY between 2000 and 2100");
    return period;
}

/* ---- GET /v1/rankings?indicator=X&period=YYYY ---------------------------------------------- */

struct rankings_context {
    struct server *server;
    struct http_watch watch;
    int indicator, period;
};

struct ranked {
    int district;
    bool has_value;
    double value;
    double version;
};

static _Thread_local bool ranking_ascending;

static int compare_ranked(const void *left, const void *right)
{
    const struct ranked *a = left, *b = right;
    if (a->has_value != b->has_value)
        return a->has_value ? -1 : 1;
    if (a->has_value && a->value != b->value) {
        bool before = ranking_ascending ? a->value < b->value : a->value > b->value;
        return before ? -1 : 1;
    }
    return a->district - b->district; /* stable: catalog order */
}

static void read_ranked(const redisReply *fields, const char *indicator, struct ranked *out)
{
    out->has_value = false;
    out->version = 0;
    if (fields->type != REDIS_REPLY_ARRAY || fields->elements != 2)
        return;
    const redisReply *values = fields->element[0], *version = fields->element[1];
    if (version->type == REDIS_REPLY_STRING)
        out->version = atof(version->str);
    if (values->type != REDIS_REPLY_STRING)
        return;
    cJSON *parsed = cJSON_ParseWithLength(values->str, values->len);
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(parsed, indicator);
    if (cJSON_IsNumber(value) && isfinite(value->valuedouble)) {
        out->has_value = true;
        out->value = value->valuedouble;
    }
    cJSON_Delete(parsed);
}

static cJSON *render_rankings(const struct rankings_context *context, struct ranked *ranked,
                              size_t count)
{
    const struct catalog *catalog = context->server->catalog;
    const struct indicator *indicator = &catalog->indicators[context->indicator];
    /* The direction of the first district that targets the indicator; descending otherwise. */
    int direction = indicator->target_direction;
    bool targeted = direction != 0;
    ranking_ascending = direction < 0;
    qsort(ranked, count, sizeof(*ranked), compare_ranked);
    cJSON *root = cJSON_CreateObject();
    char period[8];
    snprintf(period, sizeof(period), "%04d", context->period);
    cJSON_AddStringToObject(root, "indicator", indicator->id);
    cJSON_AddStringToObject(root, "name", indicator->name);
    if (indicator->name_en)
        cJSON_AddStringToObject(root, "name_en", indicator->name_en);
    cJSON_AddStringToObject(root, "unit", indicator->unit);
    cJSON_AddStringToObject(root, "period", period);
    cJSON_AddStringToObject(root, "order", ranking_ascending ? "ascending" : "descending");
    cJSON_AddStringToObject(root, "order_from", targeted ? "target" : "default");
    cJSON *list = cJSON_AddArrayToObject(root, "rankings");
    size_t rank = 0;
    for (size_t i = 0; i < count; i++) {
        const struct district *district = &catalog->districts[ranked[i].district];
        cJSON *item = cJSON_CreateObject();
        if (!ranked[i].has_value) {
            cJSON_AddNullToObject(item, "rank");
        } else {
            if (i == 0 || ranked[i].value != ranked[i - 1].value)
                rank = i + 1; /* competition ranking: ties share, the next rank skips */
            cJSON_AddNumberToObject(item, "rank", (double)rank);
        }
        cJSON_AddStringToObject(item, "district", district->id);
        cJSON_AddStringToObject(item, "name", district->name);
        if (district->name_en)
            cJSON_AddStringToObject(item, "name_en", district->name_en);
        if (ranked[i].has_value)
            cJSON_AddNumberToObject(item, "value", ranked[i].value);
        else
            cJSON_AddNullToObject(item, "value");
        cJSON_AddNumberToObject(item, "version", ranked[i].version);
        cJSON_AddItemToArray(list, item);
    }
    return root;
}

static void on_rankings(redisReply *reply, void *privdata)
{
    struct rankings_context *context = privdata;
    struct evhttp_request *request = http_watch_end(&context->watch);
    size_t count = context->server->catalog->district_count;
    struct ranked *ranked = calloc(count + 1, sizeof(*ranked));
    if (!request || !ranked || !reply || reply->type != REDIS_REPLY_ARRAY ||
        reply->elements != count) {
        free(ranked);
        free(context);
        if (request)
            http_send_unavailable(request);
        return;
    }
    const char *indicator = context->server->catalog->indicators[context->indicator].id;
    for (size_t d = 0; d < count; d++) {
        ranked[d].district = (int)d;
        read_ranked(reply->element[d], indicator, &ranked[d]);
    }
    cJSON *root = render_rankings(context, ranked, count);
    char *body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    free(ranked);
    free(context);
    if (body)
        http_send_json(request, 200, body);
    else
        http_send_unavailable(request);
    cJSON_free(body);
}

void routes_rankings_get(struct server *server, struct evhttp_request *request)
{
    if (!http_check_read(server, request))
        return;
    int indicator = http_query_indicator(server, request);
    if (indicator < 0)
        return;
    int period = read_period(request);
    if (period < 0)
        return;
    struct rankings_context *context = calloc(1, sizeof(*context));
    if (!context) {
        http_send_unavailable(request);
        return;
    }
    context->server = server;
    context->indicator = indicator;
    context->period = period;
    http_watch_start(&context->watch, request);
    const char *multi[] = {"MULTI"}, *exec[] = {"EXEC"};
    redis_async_command(&server->redis, ignore_reply, NULL, 1, multi, NULL);
    for (size_t d = 0; d < server->catalog->district_count; d++) {
        char key[KEY_MAX];
        keys_district(key, KEY_DISTRICT_SNAPSHOT, server->catalog->districts[d].id, period);
        const char *argv[] = {"HMGET", key, "values", "version"};
        redis_async_command(&server->redis, ignore_reply, NULL, 4, argv, NULL);
    }
    redis_async_command(&server->redis, on_rankings, context, 1, exec, NULL);
}

/* ---- GET /v1/districts/{id}/schools/{school}/figures?period=YYYY ------------------------------
 */

struct figures_context {
    struct server *server;
    struct http_watch watch;
    bool admin;
    int district, period;
    char school[SCHOOL_ID_MAX + 1];
};

/* Renders the cells {"<entry id> <value>"} of the school, in catalog element order. */
static cJSON *render_cells(const struct catalog *catalog, const redisReply *cells)
{
    cJSON *list = cJSON_CreateArray();
    for (size_t e = 0; e < cells->elements && e < catalog->element_count; e++) {
        const redisReply *cell = cells->element[e];
        if (cell->type != REDIS_REPLY_STRING)
            continue;
        const char *space = strchr(cell->str, ' ');
        if (!space || (size_t)(space - cell->str) > 40)
            continue;
        const struct element *element = &catalog->elements[e];
        double value = strtod(space + 1, NULL);
        cJSON *item = cJSON_CreateObject();
        cJSON_AddStringToObject(item, "element", element->id);
        cJSON_AddStringToObject(item, "name", element->name);
        if (element->name_en)
            cJSON_AddStringToObject(item, "name_en", element->name_en);
        cJSON_AddStringToObject(item, "unit", element->unit);
        if (element->type == ELEMENT_BOOLEAN)
            cJSON_AddBoolToObject(item, "value", value != 0);
        else
            cJSON_AddNumberToObject(item, "value", value);
        char id[48];
        snprintf(id, sizeof(id), "%.*s", (int)(space - cell->str), cell->str);
        cJSON_AddStringToObject(item, "submission", id);
        cJSON_AddItemToArray(list, item);
    }
    return list;
}

static void send_figures(struct figures_context *context, struct evhttp_request *request,
                         const struct school *school, const redisReply *cells)
{
    const struct catalog *catalog = context->server->catalog;
    cJSON *root = cJSON_CreateObject();
    char period[8];
    snprintf(period, sizeof(period), "%04d", context->period);
    cJSON_AddStringToObject(root, "district", catalog->districts[context->district].id);
    cJSON_AddStringToObject(root, "school", school->id);
    cJSON_AddStringToObject(root, "name", school->name);
    cJSON_AddStringToObject(root, "stage", stage_name(school->stage));
    cJSON_AddStringToObject(root, "period", period);
    cJSON *figures = render_cells(catalog, cells);
    cJSON_AddNumberToObject(root, "count", cJSON_GetArraySize(figures));
    cJSON_AddItemToObject(root, "figures", figures);
    char *body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (body)
        http_send_json(request, 200, body);
    else
        http_send_unavailable(request);
    cJSON_free(body);
}

/* EXEC reply: {owner (HGET tokens) | absent for admin, school record, cells}. */
static void on_figures(redisReply *reply, void *privdata)
{
    struct figures_context *context = privdata;
    struct evhttp_request *request = http_watch_end(&context->watch);
    size_t expected = context->admin ? 2 : 3;
    if (!request || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != expected) {
        free(context);
        if (request)
            http_send_unavailable(request);
        return;
    }
    const redisReply *owner = context->admin ? NULL : reply->element[0];
    const redisReply *record = reply->element[expected - 2], *cells = reply->element[expected - 1];
    struct school school;
    if (!context->admin && owner->type != REDIS_REPLY_STRING) {
        http_send_error(request, 401, "unauthorized", "Authorization", "unknown token");
    } else if (!context->admin && strcmp(owner->str, context->school) != 0) {
        http_send_error(request, 403, "forbidden", "school",
                        "only the school itself or the admin may read its figures");
    } else if (record->type != REDIS_REPLY_STRING ||
               school_from_json(record->str, record->len, &school) != 0) {
        http_send_error(request, 404, "unknown_school", "school",
                        "no such school is registered in this district");
    } else if (cells->type != REDIS_REPLY_ARRAY) {
        http_send_unavailable(request);
    } else {
        send_figures(context, request, &school, cells);
    }
    free(context);
}

static void send_cells_query(struct server *server, const struct figures_context *context)
{
    const struct catalog *catalog = server->catalog;
    const char *district = catalog->districts[context->district].id;
    size_t count = catalog->element_count;
    const char **argv = calloc(count + 2, sizeof(char *));
    char *fields = malloc(count * (SCHOOL_ID_MAX + 70));
    char key[KEY_MAX];
    keys_district(key, KEY_DISTRICT_CELLS, district, context->period);
    if (!argv || !fields) {
        /* Still one reply for the EXEC to count: an error the callback treats as unavailable. */
        const char *broken[] = {"HMGET"};
        redis_async_command(&server->redis, ignore_reply, NULL, 1, broken, NULL);
    } else {
        argv[0] = "HMGET";
        argv[1] = key;
        for (size_t e = 0; e < count; e++) {
            char *field = fields + e * (SCHOOL_ID_MAX + 70);
            snprintf(field, SCHOOL_ID_MAX + 70, "%s/%s", context->school, catalog->elements[e].id);
            argv[e + 2] = field;
        }
        redis_async_command(&server->redis, ignore_reply, NULL, (int)count + 2, argv, NULL);
    }
    free(argv);
    free(fields);
}

void routes_school_figures_get(struct server *server, struct evhttp_request *request, int district,
                               const char *school)
{
    const char *token = http_bearer(request);
    if (!token) {
        evhttp_add_header(evhttp_request_get_output_headers(request), "WWW-Authenticate",
                          "Bearer realm=\"edumon\"");
        http_send_error(request, 401, "unauthorized", "Authorization",
                        "the school's token or the admin token is needed");
        return;
    }
    if (!id_is_valid(school)) {
        http_send_error(request, 404, "unknown_school", "school", "no such school");
        return;
    }
    int period = read_period(request);
    if (period < 0)
        return;
    struct figures_context *context = calloc(1, sizeof(*context));
    if (!context) {
        http_send_unavailable(request);
        return;
    }
    context->server = server;
    context->admin = server->config->admin_token && token_equal(token, server->config->admin_token);
    context->district = district;
    context->period = period;
    snprintf(context->school, sizeof(context->school), "%s", school);
    http_watch_start(&context->watch, request);
    char token_hash_text[TOKEN_HASH_LENGTH + 1], schools_key[KEY_MAX];
    token_hash(token, strlen(token), token_hash_text);
    keys_district(schools_key, KEY_DISTRICT_SCHOOLS, server->catalog->districts[district].id, 0);
    const char *multi[] = {"MULTI"}, *exec[] = {"EXEC"};
    const char *owner[] = {"HGET", KEY_TOKENS, token_hash_text};
    const char *record[] = {"HGET", schools_key, school};
    redis_async_command(&server->redis, ignore_reply, NULL, 1, multi, NULL);
    if (!context->admin)
        redis_async_command(&server->redis, ignore_reply, NULL, 3, owner, NULL);
    redis_async_command(&server->redis, ignore_reply, NULL, 3, record, NULL);
    send_cells_query(server, context);
    redis_async_command(&server->redis, on_figures, context, 1, exec, NULL);
}
