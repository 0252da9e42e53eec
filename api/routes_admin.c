/* routes_admin.c -- registering schools and rotating their tokens (admin token only), and the
 * registry listing. A token is generated here, returned once, and stored only as its SHA-256. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "keys.h"
#include "log.h"
#include "script_call.h"
#include "server.h"
#include "token.h"

struct admin_context {
    struct server *server;
    struct http_watch watch;
    char id[SCHOOL_ID_MAX + 1];
    char token[TOKEN_TEXT_LENGTH + 1];
};

static bool require_admin(struct server *server, struct evhttp_request *request)
{
    if (!server->config->admin_token) {
        http_send_error(request, 403, "admin_disabled", NULL,
                        "administration is disabled: EDUMON_ADMIN_TOKEN is not set");
        return false;
    }
    enum caller_role role = http_caller(server, request);
    if (role == CALLER_ADMIN)
        return true;
    if (!http_bearer(request)) {
        evhttp_add_header(evhttp_request_get_output_headers(request), "WWW-Authenticate",
                          "Bearer realm=\"edumon\"");
        http_send_error(request, 401, "unauthorized", "Authorization", "the admin token is needed");
    } else {
        http_send_error(request, 403, "forbidden", "Authorization",
                        "this endpoint needs the admin token");
    }
    return false;
}

static struct admin_context *admin_context_new(struct server *server,
                                               struct evhttp_request *request, const char *id)
{
    struct admin_context *context = calloc(1, sizeof(*context));
    if (!context)
        return NULL;
    context->server = server;
    snprintf(context->id, sizeof(context->id), "%s", id);
    if (token_generate(context->token) != 0) {
        free(context);
        return NULL;
    }
    http_watch_start(&context->watch, request);
    return context;
}

static void send_token(struct evhttp_request *request, int status, const char *id,
                       const char *token)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "id", id);
    cJSON_AddStringToObject(root, "token", token);
    char *body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    http_send_json(request, status, body);
    cJSON_free(body);
}

/* ---- POST /v1/schools ---------------------------------------------------------------------- */

static void on_registered(redisReply *reply, void *privdata)
{
    struct admin_context *context = privdata;
    struct evhttp_request *request = http_watch_end(&context->watch);
    if (request) {
        bool ok = reply && reply->type == REDIS_REPLY_STRING && strcmp(reply->str, "ok") == 0;
        if (!ok) {
            if (reply && reply->type == REDIS_REPLY_STRING && strcmp(reply->str, "exists") == 0)
                http_send_error(request, 409, "school_exists", "id",
                                "a school with this id is already registered");
            else
                http_send_unavailable(request);
        } else {
            log_message(LOG_INFO, "registered school %s", context->id);
            send_token(request, 201, context->id, context->token);
        }
    }
    explicit_bzero(context->token, sizeof(context->token));
    free(context);
}

static const char *string_field(const cJSON *root, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, name);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

/* Validates a registration body into `school`. Returns 0, or -1 with `error` filled. */
static int parse_registration(const struct server *server, const char *body, size_t length,
                              struct school *school, struct api_error *error)
{
    if (json_nesting_depth(body, length) > 4) {
        api_error_set(error, 400, "too_deep", NULL, "JSON nested too deeply");
        return -1;
    }
    cJSON *root = cJSON_ParseWithLength(body, length);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        api_error_set(error, 400, "malformed_json", NULL, "the body must be a JSON object");
        return -1;
    }
    const char *names[] = {"id", "name", "district", "stage", "ownership"};
    const char *values[5];
    int result = 0;
    for (int i = 0; i < 5 && result == 0; i++) {
        values[i] = string_field(root, names[i]);
        if (!values[i]) {
            api_error_set(error, 400, "invalid_shape", names[i], "%s must be a string", names[i]);
            result = -1;
        }
    }
    memset(school, 0, sizeof(*school));
    if (result == 0 && !id_is_valid(values[0])) {
        api_error_set(error, 422, "invalid_id", "id",
                      "id must be 1-64 letters, digits, '-' or '_'");
        result = -1;
    } else if (result == 0 && (strlen(values[1]) == 0 || strlen(values[1]) > SCHOOL_NAME_MAX ||
                               !text_is_clean_utf8(values[1]))) {
        api_error_set(error, 422, "invalid_name", "name",
                      "name must be 1-%d bytes of UTF-8 without control characters",
                      SCHOOL_NAME_MAX);
        result = -1;
    } else if (result == 0 && catalog_find_district(server->catalog, values[2]) < 0) {
        api_error_set(error, 422, "unknown_district", "district", "no such district");
        result = -1;
    } else if (result == 0 && stage_parse(values[3]) < 0) {
        api_error_set(error, 422, "unknown_stage", "stage",
                      "stage must be kindergarten, primary, junior, senior, vocational, special "
                      "or office");
        result = -1;
    } else if (result == 0 && ownership_parse(values[4]) < 0) {
        api_error_set(error, 422, "unknown_ownership", "ownership",
                      "ownership must be public or private");
        result = -1;
    }
    if (result == 0) {
        snprintf(school->id, sizeof(school->id), "%s", values[0]);
        snprintf(school->name, sizeof(school->name), "%s", values[1]);
        snprintf(school->district, sizeof(school->district), "%s", values[2]);
        school->stage = (enum stage)stage_parse(values[3]);
        school->ownership = (enum ownership)ownership_parse(values[4]);
    }
    cJSON_Delete(root);
    return result;
}

void routes_schools_post(struct server *server, struct evhttp_request *request)
{
    if (!require_admin(server, request))
        return;
    size_t length = 0;
    const char *body = http_body(request, &length);
    struct school school;
    struct api_error error;
    if (length > 65536) {
        http_send_error(request, 413, "body_too_large", NULL, "the body is over the size limit");
        return;
    }
    if (parse_registration(server, body, length, &school, &error) != 0) {
        http_send_api_error(request, &error);
        return;
    }
    struct admin_context *context = admin_context_new(server, request, school.id);
    if (!context) {
        http_send_unavailable(request);
        return;
    }
    token_hash(context->token, TOKEN_TEXT_LENGTH, school.token_hash);
    char *with_hash = school_to_json(&school, true);
    char *without_hash = school_to_json(&school, false);
    char district_schools[KEY_MAX], registry[KEY_MAX], state[KEY_MAX];
    keys_district(district_schools, KEY_DISTRICT_SCHOOLS, school.district, 0);
    keys_district(registry, KEY_DISTRICT_REGISTRY, school.district, 0);
    keys_district(state, KEY_DISTRICT_STATE, school.district, 0);
    if (!with_hash || !without_hash) {
        cJSON_free(with_hash);
        cJSON_free(without_hash);
        on_registered(NULL, context);
        return;
    }
    const char *argv[] = {KEY_SCHOOLS,  KEY_TOKENS,        district_schools, registry,
                          state,        KEY_STREAM,        school.id,        with_hash,
                          without_hash, school.token_hash, school.district};
    script_call(&server->redis, API_SCRIPT_REGISTER, 6, 11, argv, NULL, on_registered, context);
    cJSON_free(with_hash);
    cJSON_free(without_hash);
}

/* ---- POST /v1/schools/{id}/token
 * ----------------------------------------------------------------- */

static void on_rotated(redisReply *reply, void *privdata)
{
    struct admin_context *context = privdata;
    /* The old token stops working at once here too (other replicas: the SUBMIT script). */
    registry_cache_forget_school_tokens(context->server->registry, context->id);
    struct evhttp_request *request = http_watch_end(&context->watch);
    if (request) {
        if (reply && reply->type == REDIS_REPLY_STRING && strcmp(reply->str, "ok") == 0) {
            log_message(LOG_INFO, "rotated the token of %s", context->id);
            send_token(request, 200, context->id, context->token);
        } else if (reply && reply->type == REDIS_REPLY_STRING) {
            http_send_error(request, 404, "unknown_school", "id", "no such school");
        } else {
            http_send_unavailable(request);
        }
    }
    explicit_bzero(context->token, sizeof(context->token));
    free(context);
}

void routes_token_rotate(struct server *server, struct evhttp_request *request, const char *school)
{
    if (!require_admin(server, request))
        return;
    if (!id_is_valid(school)) {
        http_send_error(request, 404, "unknown_school", "id", "no such school");
        return;
    }
    struct admin_context *context = admin_context_new(server, request, school);
    if (!context) {
        http_send_unavailable(request);
        return;
    }
    char hash[TOKEN_HASH_LENGTH + 1];
    token_hash(context->token, TOKEN_TEXT_LENGTH, hash);
    const char *argv[] = {KEY_SCHOOLS, KEY_TOKENS, school, hash};
    script_call(&server->redis, API_SCRIPT_ROTATE, 2, 4, argv, NULL, on_rotated, context);
}

/* ---- GET /v1/districts/{id}/schools
 * --------------------------------------------------------------- */

static int compare_school_items(const void *left, const void *right)
{
    return strcmp(string_field(*(const cJSON *const *)left, "id"),
                  string_field(*(const cJSON *const *)right, "id"));
}

static void on_school_list(redisReply *reply, void *privdata)
{
    struct admin_context *context = privdata;
    struct evhttp_request *request = http_watch_end(&context->watch);
    free(context);
    if (!request)
        return;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        http_send_unavailable(request);
        return;
    }
    size_t count = reply->elements / 2;
    cJSON **items = calloc(count + 1, sizeof(cJSON *));
    size_t kept = 0;
    for (size_t i = 0; items && i < count; i++) {
        cJSON *item =
            cJSON_ParseWithLength(reply->element[2 * i + 1]->str, reply->element[2 * i + 1]->len);
        if (item && string_field(item, "id"))
            items[kept++] = item;
        else
            cJSON_Delete(item);
    }
    if (kept > 1)
        qsort(items, kept, sizeof(cJSON *), compare_school_items);
    cJSON *root = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(root, "schools");
    for (size_t i = 0; i < kept; i++)
        cJSON_AddItemToArray(list, items[i]);
    free(items);
    char *body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    http_send_json(request, 200, body);
    cJSON_free(body);
}

void routes_schools_list(struct server *server, struct evhttp_request *request, int district)
{
    if (!require_admin(server, request))
        return;
    struct admin_context *context = calloc(1, sizeof(*context));
    if (!context) {
        http_send_unavailable(request);
        return;
    }
    http_watch_start(&context->watch, request);
    char key[KEY_MAX];
    keys_district(key, KEY_DISTRICT_SCHOOLS, server->catalog->districts[district].id, 0);
    const char *argv[] = {"HGETALL", key};
    redis_async_command(&server->redis, on_school_list, context, 2, argv, NULL);
}
