/* routes_import.c -- POST /v1/submissions with Content-Type: text/csv: a district's figures
 * in bulk, answered with an import summary in the spirit of DHIS2's.
 *
 * The file is checked completely before anything is queued: every line by import.c (the rules
 * of a JSON submission), then against the registry (the school exists; an office token only for
 * schools of its own district; the element is one the school's stage reports). A file with any
 * invalid line imports nothing (422 with the summary) unless ?atomic=false, which queues the
 * valid lines and answers 200 with status WARNING: a client that raises on non-2xx would
 * otherwise never read which lines were left out (the common complaint about DHIS2's 409).
 *
 * Each value is classified against what is counted now (the cells hash): "imported" when the
 * school had no figure for the element, "updated" when it replaces another value, "ignored" when
 * it equals the counted one. Ignored values are still queued: another submission of the same
 * figure may be in flight, and the file's figures must end up the latest writes.
 *
 * Queueing goes through the SUBMIT script of JSON submissions, one stream entry per (school,
 * period), all inside one MULTI/EXEC preceded by SCRIPT LOAD, so the whole file is queued or
 * none of it (a dropped connection before EXEC writes nothing), and the script re-checks the
 * token in the same atomic step. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>

#include "import.h"
#include "jsonutil.h"
#include "keys.h"
#include "log.h"
#include "script_call.h"
#include "server.h"
#include "token.h"

#define IMPORT_DEADLINE_MS 700 /* as SUBMIT_DEADLINE_MS for JSON submissions */

struct import_context {
    struct server *server;
    struct http_watch watch;
    bool admin, atomic;
    char token_hash[TOKEN_HASH_LENGTH + 1];
    char owner_id[SCHOOL_ID_MAX + 1];
    struct school owner;
    bool parse_failed; /* told only once the token is known, as for JSON submissions */
    struct api_error parse_error;
    struct import_batch batch;
    struct school *records; /* per group */
    size_t imported, updated, ignored;
    cJSON *submissions; /* ids of the stream entries queued */
    bool sending;       /* inside the EXEC call: a NULL reply then means it never left */
    bool send_failed;
};

static void context_free(struct import_context *context)
{
    http_watch_end(&context->watch);
    import_batch_free(&context->batch);
    free(context->records);
    cJSON_Delete(context->submissions);
    free(context);
}

static void ignore_reply(redisReply *reply, void *privdata)
{
    (void)reply, (void)privdata;
}

static void reply_error(struct import_context *context, int status, const char *code,
                        const char *field, const char *message)
{
    struct evhttp_request *request = http_watch_end(&context->watch);
    if (request)
        http_send_error(request, status, code, field, message);
    context_free(context);
}

static void reply_unavailable(struct import_context *context)
{
    struct evhttp_request *request = http_watch_end(&context->watch);
    if (request)
        http_send_unavailable(request);
    context_free(context);
}

/* ---- the summary -------------------------------------------------------------------------- */

static cJSON *render_conflicts(const struct import_batch *batch)
{
    cJSON *list = cJSON_CreateArray();
    for (size_t i = 0; i < batch->conflict_count; i++) {
        const struct import_conflict *conflict = &batch->conflicts[i];
        cJSON *item = cJSON_CreateObject();
        cJSON_AddNumberToObject(item, "line", (double)conflict->line);
        cJSON_AddStringToObject(item, "field", conflict->field);
        cJSON_AddStringToObject(item, "value", conflict->value);
        cJSON_AddStringToObject(item, "code", conflict->code);
        cJSON_AddStringToObject(item, "message", conflict->message);
        cJSON_AddItemToArray(list, item);
    }
    return list;
}

/* status: SUCCESS (everything queued), WARNING (valid lines queued, others rejected), ERROR
 * (nothing queued). ERROR answers 422 and carries the contract's error member as well. */
static void reply_summary(struct import_context *context, bool queued)
{
    struct import_batch *batch = &context->batch;
    size_t rejected = import_rejected_lines(batch);
    const char *status = !queued ? "ERROR" : batch->conflict_total ? "WARNING" : "SUCCESS";
    cJSON *root = cJSON_CreateObject();
    if (!queued) {
        char message[160];
        snprintf(message, sizeof(message), "%zu of %zu lines are invalid; nothing was imported",
                 rejected, batch->line_count);
        cJSON *error = cJSON_AddObjectToObject(root, "error");
        cJSON_AddStringToObject(error, "code", "invalid_lines");
        cJSON_AddStringToObject(error, "message", message);
        cJSON_AddStringToObject(error, "field", "body");
    }
    cJSON_AddStringToObject(root, "status", status);
    cJSON_AddBoolToObject(root, "atomic", context->atomic);
    cJSON_AddNumberToObject(root, "lines", (double)batch->line_count);
    cJSON_AddNumberToObject(root, "imported", queued ? (double)context->imported : 0);
    cJSON_AddNumberToObject(root, "updated", queued ? (double)context->updated : 0);
    cJSON_AddNumberToObject(root, "ignored", queued ? (double)context->ignored : 0);
    cJSON_AddItemToObject(root, "conflicts", render_conflicts(batch));
    cJSON_AddNumberToObject(root, "conflicts_total", (double)batch->conflict_total);
    cJSON *lines = cJSON_AddArrayToObject(root, "rejected_lines");
    for (size_t i = 0; i < rejected; i++)
        cJSON_AddItemToArray(lines, cJSON_CreateNumber((double)batch->rejected_lines[i]));
    cJSON_AddItemToObject(root, "submissions",
                          context->submissions ? context->submissions : cJSON_CreateArray());
    context->submissions = NULL;
    char *body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    struct evhttp_request *request = http_watch_end(&context->watch);
    if (request && body)
        http_send_json(request, queued ? 200 : 422, body);
    else if (request)
        http_send_unavailable(request);
    cJSON_free(body);
    context_free(context);
}

/* ---- step 4: queue one entry per (school, period) ----------------------------------------- */

static void on_queued(redisReply *reply, void *privdata)
{
    struct import_context *context = privdata;
    /* EXEC: {SCRIPT LOAD sha, SUBMIT reply per group queued} */
    if (!reply && context->sending) {
        context->send_failed = true; /* never left; queue_groups answers */
        return;
    }
    if (!reply) {
        /* The transaction left and no answer came: Redis may have run it (see
         * http_send_outcome_unknown). */
        struct evhttp_request *request = http_watch_end(&context->watch);
        if (request)
            http_send_outcome_unknown(request);
        context_free(context);
        return;
    }
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 2) {
        if (reply && reply->type == REDIS_REPLY_ERROR)
            log_message(LOG_ERROR, "CSV import: %s", reply->str);
        reply_unavailable(context);
        return;
    }
    context->submissions = cJSON_CreateArray();
    for (size_t i = 1; i < reply->elements; i++) {
        const redisReply *outcome = reply->element[i];
        bool ok = outcome->type == REDIS_REPLY_ARRAY && outcome->elements == 2 &&
                  strcmp(outcome->element[0]->str, "ok") == 0;
        if (!ok && outcome->type == REDIS_REPLY_ARRAY && outcome->elements >= 1 &&
            strcmp(outcome->element[0]->str, "token") == 0) {
            reply_error(context, 401, "unauthorized", "Authorization",
                        "the token is no longer valid (it was rotated)");
            return;
        }
        if (!ok) {
            /* "expired" (Redis too slow) or a script error. */
            log_message(LOG_WARN, "CSV import: entry %zu of %zu not queued", i,
                        reply->elements - 1);
            reply_unavailable(context);
            return;
        }
        cJSON_AddItemToArray(context->submissions, cJSON_CreateString(outcome->element[1]->str));
    }
    metric_add(&context->server->metrics.values_accepted,
               context->imported + context->updated + context->ignored);
    reply_summary(context, true);
}

/* Sends the SUBMIT call of one group (inside the transaction). Returns -1 when out of memory. */
static int submit_group(struct import_context *context, size_t group, const char *deadline,
                        const char *received)
{
    struct server *server = context->server;
    struct submission *submission = malloc(sizeof(*submission));
    if (!submission)
        return -1;
    import_group_submission(&context->batch.groups[group], submission);
    char *body = submission_render(server->catalog, submission);
    if (!body) {
        free(submission);
        return -1;
    }
    char digest[TOKEN_HASH_LENGTH + 1], period[8];
    token_hash(body, strlen(body), digest);
    snprintf(period, sizeof(period), "%04d", submission->period);
    const char *argv[] = {"EVALSHA",
                          script_call_sha(API_SCRIPT_SUBMIT),
                          "3",
                          KEY_STREAM,
                          KEY_TOKENS,
                          "edumon:idem:-",
                          deadline,
                          context->admin ? "" : context->token_hash,
                          context->owner_id,
                          "0",
                          digest,
                          "type",
                          "submission",
                          "district",
                          context->records[group].district,
                          "school",
                          submission->school,
                          "period",
                          period,
                          "by",
                          context->admin ? "admin" : context->owner_id,
                          "received",
                          received,
                          "via",
                          "csv",
                          "body",
                          body};
    redis_async_command(&server->redis, ignore_reply, NULL, (int)(sizeof(argv) / sizeof(*argv)),
                        argv, NULL);
    cJSON_free(body);
    free(submission);
    return 0;
}

static void queue_groups(struct import_context *context)
{
    struct server *server = context->server;
    if (!server->redis.answering) {
        reply_unavailable(context); /* as queue_submission(): no write into the unknown */
        return;
    }
    char deadline[32], received[32];
    snprintf(deadline, sizeof(deadline), "%lld",
             redis_async_now_ms(&server->redis) + IMPORT_DEADLINE_MS);
    snprintf(received, sizeof(received), "%lld", json_now_ms());
    const char *multi[] = {"MULTI"}, *exec[] = {"EXEC"}, *discard[] = {"DISCARD"};
    const char *load[] = {"SCRIPT", "LOAD", script_call_body(API_SCRIPT_SUBMIT)};
    redis_async_command(&server->redis, ignore_reply, NULL, 1, multi, NULL);
    redis_async_command(&server->redis, ignore_reply, NULL, 3, load, NULL);
    for (size_t g = 0; g < context->batch.group_count; g++) {
        if (context->batch.groups[g].accepted == 0)
            continue;
        if (submit_group(context, g, deadline, received) != 0) {
            redis_async_command(&server->redis, ignore_reply, NULL, 1, discard, NULL);
            reply_unavailable(context);
            return;
        }
    }
    context->sending = true;
    redis_async_command(&server->redis, on_queued, context, 1, exec, NULL);
    context->sending = false;
    if (context->send_failed)
        reply_unavailable(context);
}

/* ---- step 3: new, changed or unchanged ---------------------------------------------------- */

static void classify_group(struct import_context *context, struct import_group *group,
                           const redisReply *cells)
{
    size_t next = 0;
    for (size_t v = 0; v < group->value_count; v++) {
        struct import_value *value = &group->values[v];
        if (value->rejected)
            continue;
        const redisReply *cell = next < cells->elements ? cells->element[next] : NULL;
        next++;
        const char *space =
            cell && cell->type == REDIS_REPLY_STRING ? strchr(cell->str, ' ') : NULL;
        if (!space) {
            value->outcome = IMPORT_NEW;
            context->imported++;
        } else if (strtod(space + 1, NULL) == value->value) {
            value->outcome = IMPORT_UNCHANGED;
            context->ignored++;
        } else {
            value->outcome = IMPORT_UPDATED;
            context->updated++;
        }
    }
}

static void on_cells(redisReply *reply, void *privdata)
{
    struct import_context *context = privdata;
    if (!context->watch.request || !reply || reply->type != REDIS_REPLY_ARRAY) {
        reply_unavailable(context);
        return;
    }
    size_t index = 0;
    for (size_t g = 0; g < context->batch.group_count; g++) {
        struct import_group *group = &context->batch.groups[g];
        if (group->accepted == 0)
            continue;
        if (index >= reply->elements || reply->element[index]->type != REDIS_REPLY_ARRAY) {
            reply_unavailable(context);
            return;
        }
        classify_group(context, group, reply->element[index++]);
    }
    queue_groups(context);
}

/* One HMGET per group of the cells it would write. Returns -1 when out of memory. */
static int fetch_group_cells(struct import_context *context, size_t group_index)
{
    const struct import_group *group = &context->batch.groups[group_index];
    const char **argv = calloc(group->value_count + 2, sizeof(char *));
    char *fields = malloc(group->value_count * (SCHOOL_ID_MAX + 70) + 1);
    if (!argv || !fields) {
        free(argv);
        free(fields);
        return -1;
    }
    char key[KEY_MAX];
    keys_district(key, KEY_DISTRICT_CELLS, context->records[group_index].district, group->period);
    argv[0] = "HMGET";
    argv[1] = key;
    int argc = 2;
    for (size_t v = 0; v < group->value_count; v++) {
        if (group->values[v].rejected)
            continue;
        char *field = fields + v * (SCHOOL_ID_MAX + 70);
        snprintf(field, SCHOOL_ID_MAX + 70, "%s/%s", group->school,
                 context->server->catalog->elements[group->values[v].element].id);
        argv[argc++] = field;
    }
    redis_async_command(&context->server->redis, ignore_reply, NULL, argc, argv, NULL);
    free(argv);
    free(fields);
    return 0;
}

static void fetch_cells(struct import_context *context)
{
    struct server *server = context->server;
    const char *multi[] = {"MULTI"}, *exec[] = {"EXEC"}, *discard[] = {"DISCARD"};
    redis_async_command(&server->redis, ignore_reply, NULL, 1, multi, NULL);
    for (size_t g = 0; g < context->batch.group_count; g++) {
        if (context->batch.groups[g].accepted > 0 && fetch_group_cells(context, g) != 0) {
            redis_async_command(&server->redis, ignore_reply, NULL, 1, discard, NULL);
            reply_unavailable(context);
            return;
        }
    }
    redis_async_command(&server->redis, on_cells, context, 1, exec, NULL);
}

/* ---- step 2: the registry ----------------------------------------------------------------- */

/* Marks what the registry refuses: unknown schools, schools outside an office's district,
 * elements the school's stage may not report. */
static void judge_against_registry(struct import_context *context, const redisReply *records)
{
    struct import_batch *batch = &context->batch;
    const struct catalog *catalog = context->server->catalog;
    for (size_t g = 0; g < batch->group_count; g++) {
        const redisReply *record = records->element[g + 1];
        struct school *school = &context->records[g];
        if (record->type != REDIS_REPLY_STRING ||
            school_from_json(record->str, record->len, school) != 0) {
            import_reject_group(batch, g, "unknown_school", "no such school is registered");
            continue;
        }
        if (!context->admin && strcmp(school->district, context->owner.district) != 0) {
            import_reject_group(batch, g, "forbidden",
                                "an office token may import only for schools of its district");
            continue;
        }
        struct import_group *group = &batch->groups[g];
        for (size_t v = 0; v < group->value_count; v++) {
            const struct element *element = &catalog->elements[group->values[v].element];
            if (element->stages & (1u << school->stage))
                continue;
            char message[160];
            snprintf(message, sizeof(message), "a %s unit may not report %s",
                     stage_name(school->stage), element->id);
            import_reject_value(batch, g, v, "element", element->id, "element_not_allowed",
                                message);
        }
    }
}

static void on_records(redisReply *reply, void *privdata)
{
    struct import_context *context = privdata;
    if (!context->watch.request || !reply || reply->type != REDIS_REPLY_ARRAY ||
        reply->elements != context->batch.group_count + 1) {
        reply_unavailable(context);
        return;
    }
    const redisReply *owner = reply->element[0];
    if (!context->admin) {
        if (owner->type != REDIS_REPLY_STRING ||
            school_from_json(owner->str, owner->len, &context->owner) != 0) {
            reply_error(context, 401, "unauthorized", "Authorization", "unknown token");
            return;
        }
        if (context->owner.stage != STAGE_OFFICE) {
            reply_error(context, 403, "forbidden", "Authorization",
                        "a CSV import needs the admin token or a district office token");
            return;
        }
    }
    judge_against_registry(context, reply);
    size_t accepted = 0;
    for (size_t g = 0; g < context->batch.group_count; g++)
        accepted += context->batch.groups[g].accepted;
    if (accepted == 0 || (context->atomic && context->batch.conflict_total > 0)) {
        reply_summary(context, false);
        return;
    }
    fetch_cells(context);
}

static void fetch_records(struct import_context *context)
{
    size_t count = context->batch.group_count;
    context->records = calloc(count + 1, sizeof(struct school));
    const char **argv = calloc(count + 3, sizeof(char *));
    if (!context->records || !argv) {
        free(argv);
        reply_unavailable(context);
        return;
    }
    argv[0] = "HMGET";
    argv[1] = KEY_SCHOOLS;
    argv[2] = context->admin ? "-" : context->owner_id;
    for (size_t g = 0; g < count; g++)
        argv[g + 3] = context->batch.groups[g].school;
    redis_async_command(&context->server->redis, on_records, context, (int)count + 3, argv, NULL);
    free(argv);
}

/* ---- step 1: the token's unit ------------------------------------------------------------- */

static void on_token(redisReply *reply, void *privdata)
{
    struct import_context *context = privdata;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        reply_unavailable(context);
        return;
    }
    if (reply->type != REDIS_REPLY_STRING || reply->len > SCHOOL_ID_MAX) {
        reply_error(context, 401, "unauthorized", "Authorization", "unknown token");
        return;
    }
    memcpy(context->owner_id, reply->str, reply->len);
    context->owner_id[reply->len] = '\0';
    if (context->parse_failed) {
        const struct api_error *error = &context->parse_error;
        reply_error(context, error->status, error->code, error->field, error->message);
        return;
    }
    fetch_records(context);
}

static int read_atomic(struct evhttp_request *request, bool *atomic)
{
    char text[8] = "";
    *atomic = true;
    if (!http_query(request, "atomic", text, sizeof(text)))
        return 0;
    if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0)
        return 0;
    if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0) {
        *atomic = false;
        return 0;
    }
    http_send_error(request, 422, "invalid_atomic", "atomic", "atomic must be true or false");
    return -1;
}

static bool take_rate(struct server *server, struct evhttp_request *request,
                      const char *token_hash_text)
{
    int retry_after = 0;
    if (rate_limit_take(server->rate_limit, token_hash_text, json_now_ms(), &retry_after))
        return true;
    char seconds[16];
    snprintf(seconds, sizeof(seconds), "%d", retry_after);
    evhttp_add_header(evhttp_request_get_output_headers(request), "Retry-After", seconds);
    http_send_error(request, 429, "rate_limited", "Authorization",
                    "too many submissions with this token; retry after the given seconds");
    return false;
}

void routes_import_csv(struct server *server, struct evhttp_request *request)
{
    const char *token = http_bearer(request);
    if (!token) {
        evhttp_add_header(evhttp_request_get_output_headers(request), "WWW-Authenticate",
                          "Bearer realm=\"edumon\"");
        http_send_error(request, 401, "unauthorized", "Authorization",
                        "a CSV import needs the admin token or a district office token");
        return;
    }
    size_t length = 0;
    const char *body = http_body(request, &length);
    if (length > (size_t)server->config->max_body_bytes) {
        http_send_error(request, 413, "body_too_large", NULL, "the body is over the size limit");
        return;
    }
    bool atomic = true;
    if (read_atomic(request, &atomic) != 0)
        return;
    struct import_context *context = calloc(1, sizeof(*context));
    if (!context) {
        http_send_unavailable(request);
        return;
    }
    context->server = server;
    context->atomic = atomic;
    context->admin = server->config->admin_token && token_equal(token, server->config->admin_token);
    token_hash(token, strlen(token), context->token_hash);
    if (!context->admin && !take_rate(server, request, context->token_hash)) {
        free(context);
        return;
    }
    context->parse_failed =
        import_parse(server->catalog, body, length, &context->batch, &context->parse_error) != 0;
    if (context->admin && context->parse_failed) {
        struct api_error error = context->parse_error;
        free(context);
        http_send_api_error(request, &error);
        return;
    }
    http_watch_start(&context->watch, request);
    if (context->admin) {
        fetch_records(context);
        return;
    }
    const char *argv[] = {"HGET", KEY_TOKENS, context->token_hash};
    redis_async_command(&server->redis, on_token, context, 3, argv, NULL);
}
