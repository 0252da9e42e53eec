/* routes_submissions.c -- POST /v1/submissions and GET /v1/submissions/{id}.
 *
 * A submission is answered 202 only after Redis has the stream entry. Before that it is
 * authenticated (token -> unit), parsed and validated completely (submission.c), checked
 * against the unit's district and stage, and finally queued by the SUBMIT script, which
 * re-checks the token in the same atomic step (a token rotated meanwhile on another API
 * replica is refused) and writes nothing once the client's deadline has passed. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>

#include "jsonutil.h"
#include "keys.h"
#include "log.h"
#include "server.h"
#include "submit_batch.h"
#include "textfmt.h"
#include "token.h"

struct submit_context {
    struct server *server;
    struct submit_context *next_spare; /* in server->spare_contexts */
    struct http_watch watch;
    bool admin;
    char token_hash[TOKEN_HASH_LENGTH + 1];
    char owner_id[SCHOOL_ID_MAX + 1];
    struct school owner, target;
    bool parse_failed;
    struct api_error parse_error;
    bool has_idempotency;
    char idempotency_hash[TOKEN_HASH_LENGTH + 1]; /* of the Idempotency-Key header */
    char idempotency_key[KEY_MAX];
    const char *body; /* the request's, valid while the client is there (watch.request) */
    size_t body_length;
    /* Finding out what happened when the connection dropped before SUBMIT's reply: the
     * Idempotency-Key's record, or else word `marker_index` of the batch's marker. */
    long long sent_ms;
    char marker[KEY_MAX];
    size_t marker_index;
    struct event *verify_timer;
    char digest[TOKEN_HASH_LENGTH + 1];
    struct submission submission; /* last: 8 KB that submission_parse fills, not zeroed */
};

/* How many finished contexts a loop keeps for reuse: the requests in flight at once under
 * load (50-200 connections) need no more than this many fresh ones. */
#define SUBMIT_SPARE_MAX 256

/* A context with everything before `submission` zeroed (submission_parse fills the rest),
 * reused from the server's spares when there is one. */
static struct submit_context *context_new(struct server *server)
{
    struct submit_context *context = server->spare_contexts;
    if (context) {
        server->spare_contexts = context->next_spare;
        server->spare_count--;
    } else {
        context = malloc(sizeof(*context));
        if (!context)
            return NULL;
    }
    memset(context, 0, offsetof(struct submit_context, submission));
    context->submission.value_count = 0;
    context->server = server;
    return context;
}

/* Gives the context back to its server's spares, or to the heap when there are enough. */
static void context_free(struct submit_context *context)
{
    if (context->verify_timer)
        event_free(context->verify_timer);
    context->verify_timer = NULL;
    struct server *server = context->server;
    if (server->spare_count >= SUBMIT_SPARE_MAX) {
        free(context);
        return;
    }
    context->next_spare = server->spare_contexts;
    server->spare_contexts = context;
    server->spare_count++;
}

void routes_submissions_free(struct server *server)
{
    while (server->spare_contexts) {
        struct submit_context *context = server->spare_contexts;
        server->spare_contexts = context->next_spare;
        free(context);
    }
    server->spare_count = 0;
}

static void finish(struct submit_context *context)
{
    http_watch_end(&context->watch);
    context_free(context);
}

static void reply_error(struct submit_context *context, int status, const char *code,
                        const char *field, const char *message)
{
    struct evhttp_request *request = http_watch_end(&context->watch);
    if (request) {
        if (status == 401)
            evhttp_add_header(evhttp_request_get_output_headers(request), "WWW-Authenticate",
                              "Bearer realm=\"edumon\"");
        http_send_error(request, status, code, field, message);
    }
    context_free(context);
}

static void reply_unavailable(struct submit_context *context)
{
    struct evhttp_request *request = http_watch_end(&context->watch);
    if (request)
        http_send_unavailable(request);
    context_free(context);
}

static void reply_outcome_unknown(struct submit_context *context)
{
    struct evhttp_request *request = http_watch_end(&context->watch);
    if (request)
        http_send_outcome_unknown(request);
    metric_add(&context->server->metrics.submissions_unknown, 1);
    context_free(context);
}

static void reply_accepted(struct submit_context *context, const char *id, bool replayed)
{
    struct evhttp_request *request = http_watch_end(&context->watch);
    if (request) {
        /* Every part is a validated id, a stream entry id (at most 41 characters: two 64-bit
         * numbers and a dash), a year or a count: nothing to escape, and room for all. */
        char location[128], body[128 + SCHOOL_ID_MAX];
        struct text text = text_start(location, sizeof(location));
        text_add(&text, "/v1/submissions/");
        text_add(&text, id);
        text_end(&text);
        text = text_start(body, sizeof(body));
        text_add(&text, "{\"id\":\"");
        text_add(&text, id);
        text_add(&text, "\",\"school\":\"");
        text_add(&text, context->submission.school);
        text_add(&text, "\",\"period\":\"");
        text_add_unsigned(&text, (unsigned)context->submission.period, 4);
        text_add(&text, "\",\"accepted\":");
        text_add_unsigned(&text, context->submission.value_count, 0);
        text_add_char(&text, '}');
        text_end(&text);
        struct evkeyvalq *headers = evhttp_request_get_output_headers(request);
        evhttp_add_header(headers, "Location", location);
        if (replayed)
            evhttp_add_header(headers, "Idempotent-Replayed", "true");
        http_send_json(request, 202, body);
        if (!replayed) {
            metric_add(&context->server->metrics.values_accepted, context->submission.value_count);
        }
    }
    context_free(context);
}

/* ---- step 4: queue ------------------------------------------------------------------------- */

/* The connection dropped after SUBMIT was sent: the script may have run. Once its deadline has
 * passed it can no longer run, so the marker it writes with the entry tells for certain. */
#define VERIFY_WINDOW_MS 1500

static void verify_later(struct submit_context *context, long long delay_ms);

static void on_verified(redisReply *reply, void *privdata)
{
    struct submit_context *context = privdata;
    if (reply && reply->type == REDIS_REPLY_STRING && context->has_idempotency) {
        const char *space = strchr(reply->str, ' '); /* "digest id" */
        if (space) {
            reply_accepted(context, space + 1, false);
            return;
        }
    }
    char id[48];
    if (reply && reply->type == REDIS_REPLY_STRING && !context->has_idempotency &&
        submit_marker_word(reply->str, context->marker_index, id, sizeof(id))) {
        if (strcmp(id, "-") != 0) {
            reply_accepted(context, id, false);
        } else {
            registry_cache_forget_token(context->server->registry, context->token_hash);
            reply_error(context, 401, "unauthorized", "Authorization",
                        "the token is no longer valid (it was rotated)");
        }
        return;
    }
    if (reply && reply->type == REDIS_REPLY_NIL) {
        reply_unavailable(context); /* definitely not written */
        return;
    }
    if (json_now_ms() - context->sent_ms < SUBMIT_DEADLINE_MS + VERIFY_WINDOW_MS) {
        verify_later(context, 200);
        return;
    }
    log_message(LOG_WARN, "could not confirm whether a submission was queued (Redis away)");
    reply_outcome_unknown(context);
}

static void on_verify_timer(evutil_socket_t fd, short events, void *arg)
{
    (void)fd, (void)events;
    struct submit_context *context = arg;
    const char *argv[] = {"GET",
                          context->has_idempotency ? context->idempotency_key : context->marker};
    redis_async_command(&context->server->redis, on_verified, context, 2, argv, NULL);
}

static void verify_later(struct submit_context *context, long long delay_ms)
{
    if (!context->verify_timer)
        context->verify_timer = evtimer_new(context->server->base, on_verify_timer, context);
    struct timeval delay = {(time_t)(delay_ms / 1000), (suseconds_t)((delay_ms % 1000) * 1000)};
    if (!context->verify_timer || evtimer_add(context->verify_timer, &delay) != 0)
        reply_unavailable(context);
}

static void on_submitted(const struct submit_result *result, void *privdata)
{
    struct submit_context *context = privdata;
    enum submit_delivery delivery = result->delivery;
    const redisReply *reply = result->outcome;
    context->sent_ms = result->sent_ms;
    if (delivery == SUBMIT_NOT_SENT) {
        reply_unavailable(context); /* there was no connection: nothing was written */
        return;
    }
    if (delivery == SUBMIT_DROPPED) {
        /* Sent, then the connection dropped: once the deadline has passed the script can no
         * longer run, so the marker it writes with the entry tells for certain. */
        snprintf(context->marker, sizeof(context->marker), "%s", result->marker);
        context->marker_index = result->index;
        long long wait = result->sent_ms + SUBMIT_DEADLINE_MS + 100 - json_now_ms();
        verify_later(context, wait > 0 ? wait : 0);
        return;
    }
    if (delivery == SUBMIT_TIMED_OUT) {
        /* Redis stopped answering with the SUBMIT on its way or done: a Redis frozen right
         * after running it holds the reply until it resumes. */
        reply_outcome_unknown(context);
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 ||
        reply->element[0]->type != REDIS_REPLY_STRING) {
        if (reply->type == REDIS_REPLY_ERROR)
            log_message(LOG_ERROR, "SUBMIT failed: %s", reply->str);
        reply_unavailable(context);
        return;
    }
    const char *outcome = reply->element[0]->str;
    if (strcmp(outcome, "ok") == 0 && reply->elements == 2) {
        reply_accepted(context, reply->element[1]->str, false);
    } else if (strcmp(outcome, "token") == 0) {
        registry_cache_forget_token(context->server->registry, context->token_hash);
        reply_error(context, 401, "unauthorized", "Authorization",
                    "the token is no longer valid (it was rotated)");
    } else if (strcmp(outcome, "repeat") == 0 && reply->elements == 3) {
        if (strcmp(reply->element[2]->str, context->digest) == 0)
            reply_accepted(context, reply->element[1]->str, true);
        else
            reply_error(context, 409, "idempotency_key_reused", "Idempotency-Key",
                        "this Idempotency-Key was used in the last 24 h with a different body");
    } else {
        reply_unavailable(context); /* "expired": Redis was too slow, nothing was written */
    }
}

static void queue_submission(struct submit_context *context)
{
    struct server *server = context->server;
    if (!server->redis.answering) {
        /* Not known to answer (just reconnected, possibly to a frozen Redis, or a command
         * timed out): send no write whose outcome could not be learnt. */
        reply_unavailable(context);
        return;
    }
    /* The body queued is the one received: submission_parse has validated all of it (only
     * school, period and values, each value checked), and the worker parses it with the same
     * function. The digest (kept with an Idempotency-Key, to tell a retry from a different
     * body) is of the normalised submission, so that formatting does not matter. */
    const char *body = context->body;
    size_t body_length = context->body_length;
    char *rendered = NULL; /* when the client has gone (and its request with the body) */
    if (context->has_idempotency || !context->watch.request) {
        rendered = submission_render(server->catalog, &context->submission);
        if (!rendered) {
            reply_unavailable(context);
            return;
        }
        if (!context->watch.request) {
            body = rendered;
            body_length = strlen(rendered);
        }
    }
    const char *unit = context->admin ? "admin" : context->owner_id;
    if (context->has_idempotency) {
        token_hash(rendered, strlen(rendered), context->digest);
        keys_idempotency(context->idempotency_key, unit, context->idempotency_hash);
    } else {
        snprintf(context->digest, sizeof(context->digest), "-");
        context->idempotency_key[0] = '\0'; /* the batch's marker tells */
    }
    char received[32], period[8];
    struct text text = text_start(received, sizeof(received));
    text_add_signed(&text, json_now_ms());
    text_end(&text);
    text = text_start(period, sizeof(period));
    text_add_unsigned(&text, (unsigned)context->submission.period, 4); /* a year: 4 digits */
    text_end(&text);
    const char *fields[SUBMIT_FIELD_COUNT] = {
        [SUBMIT_IDEMPOTENCY_KEY] = context->idempotency_key,
        [SUBMIT_TOKEN_HASH] = context->admin ? "" : context->token_hash,
        [SUBMIT_UNIT] = context->owner_id,
        [SUBMIT_MODE] = context->has_idempotency ? "1" : "0",
        [SUBMIT_DIGEST] = context->digest,
        [SUBMIT_DISTRICT] = context->target.district,
        [SUBMIT_SCHOOL] = context->submission.school,
        [SUBMIT_PERIOD] = period,
        [SUBMIT_BY] = unit,
        [SUBMIT_RECEIVED] = received,
        [SUBMIT_BODY] = body,
    };
    submit_batch_add(&server->submits, fields, body_length, on_submitted, context);
    cJSON_free(rendered); /* copied by the batch */
}

/* ---- step 3: authorise against the registry ---------------------------------------------- */

/* `owner` is NULL for the admin token or when the token's unit is not registered; `target`
 * NULL when the school submitted for is not. */
static void check_records(struct submit_context *context, const struct school *owner,
                          const struct school *target)
{
    if (!context->admin && !owner) {
        reply_error(context, 401, "unauthorized", "Authorization", "unknown token");
        return;
    }
    if (owner)
        context->owner = *owner;
    bool own = !context->admin && strcmp(context->owner_id, context->submission.school) == 0;
    bool office = !context->admin && context->owner.stage == STAGE_OFFICE;
    if (!target) {
        if (context->admin || office)
            reply_error(context, 422, "unknown_school", "school", "no such school is registered");
        else
            reply_error(context, 403, "forbidden", "school",
                        "this token may submit only for its own school");
        return;
    }
    context->target = *target;
    if (!context->admin && !own &&
        !(office && strcmp(context->owner.district, context->target.district) == 0)) {
        reply_error(context, 403, "forbidden", "school",
                    office ? "an office token may submit only for its own district"
                           : "this token may submit only for its own school");
        return;
    }
    struct api_error error;
    if (submission_authorize(context->server->catalog, &context->submission, &context->target,
                             &error) != 0) {
        reply_error(context, error.status, error.code, error.field, error.message);
        return;
    }
    queue_submission(context);
}

/* A registry record from Redis, parsed into `out` and kept in the registry cache. */
static bool read_record(struct server *server, const redisReply *record, struct school *out)
{
    if (record->type != REDIS_REPLY_STRING || school_from_json(record->str, record->len, out) != 0)
        return false;
    registry_cache_put_school(server->registry, out);
    return true;
}

static void on_records(redisReply *reply, void *privdata)
{
    struct submit_context *context = privdata;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
        reply_unavailable(context);
        return;
    }
    struct school owner, target;
    bool owner_known = !context->admin && read_record(context->server, reply->element[0], &owner);
    bool target_known = read_record(context->server, reply->element[1], &target);
    check_records(context, owner_known ? &owner : NULL, target_known ? &target : NULL);
}

static void fetch_records(struct submit_context *context)
{
    struct server *server = context->server;
    struct school owner, target;
    bool owner_kept =
        context->admin || registry_cache_find_school(server->registry, context->owner_id, &owner);
    if (owner_kept &&
        registry_cache_find_school(server->registry, context->submission.school, &target)) {
        check_records(context, context->admin ? NULL : &owner, &target);
        return;
    }
    const char *argv[] = {"HMGET", KEY_SCHOOLS, context->admin ? "-" : context->owner_id,
                          context->submission.school};
    redis_async_command(&server->redis, on_records, context, 4, argv, NULL);
}

/* ---- step 2: the token's unit ---------------------------------------------------------------- */

/* The token's unit is in `owner_id`: the parse error (told only to a known token), or on. */
static void token_known(struct submit_context *context)
{
    if (context->parse_failed) {
        struct api_error *error = &context->parse_error;
        reply_error(context, error->status, error->code, error->field, error->message);
        return;
    }
    fetch_records(context);
}

static void on_token(redisReply *reply, void *privdata)
{
    struct submit_context *context = privdata;
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
    registry_cache_put_token(context->server->registry, context->token_hash, context->owner_id);
    token_known(context);
}

/* ---- step 1: the request itself -------------------------------------------------------------- */

/* Narrows a JSON text to the document itself: without the byte order mark the parser skips
 * (RFC 8259 8.1) and the surrounding whitespace, so that the stream holds plain JSON. */
static void trim_document(const char **text, size_t *length)
{
    if (*length >= 3 && memcmp(*text, "\xef\xbb\xbf", 3) == 0)
        *text += 3, *length -= 3;
    while (*length > 0 && strchr(" \t\r\n", (*text)[0]) && (*text)[0] != '\0')
        (*text)++, (*length)--;
    while (*length > 0 && strchr(" \t\r\n", (*text)[*length - 1]) && (*text)[*length - 1] != '\0')
        (*length)--;
}

/* Whether the request's media type (parameters such as charset ignored) is `expected`. */
static bool content_type_is(struct evhttp_request *request, const char *expected)
{
    const char *type =
        evhttp_find_header(evhttp_request_get_input_headers(request), "Content-Type");
    if (!type)
        return false;
    size_t length = strcspn(type, ";");
    while (length > 0 && type[length - 1] == ' ')
        length--;
    return length == strlen(expected) && strncasecmp(type, expected, length) == 0;
}

static bool read_idempotency_key(struct submit_context *context, struct evhttp_request *request)
{
    const char *key =
        evhttp_find_header(evhttp_request_get_input_headers(request), "Idempotency-Key");
    if (!key)
        return true;
    size_t length = strlen(key);
    if (length == 0 || length > 255)
        return false;
    for (size_t i = 0; i < length; i++)
        if ((unsigned char)key[i] < 0x20 || (unsigned char)key[i] >= 0x7F)
            return false;
    /* The Redis key is built once the token's unit is known (queue_submission): keys belong
     * to the unit, so a retry after a token rotation is still recognised. */
    token_hash(key, length, context->idempotency_hash);
    context->has_idempotency = true;
    return true;
}

void routes_submissions_post(struct server *server, struct evhttp_request *request)
{
    if (content_type_is(request, "text/csv")) {
        routes_import_csv(server, request); /* routes_import.c */
        return;
    }
    const char *token = http_bearer(request);
    if (!token) {
        evhttp_add_header(evhttp_request_get_output_headers(request), "WWW-Authenticate",
                          "Bearer realm=\"edumon\"");
        http_send_error(request, 401, "unauthorized", "Authorization",
                        "submissions need a school token: Authorization: Bearer <token>");
        return;
    }
    if (!content_type_is(request, "application/json")) {
        http_send_error(request, 415, "unsupported_media_type", "Content-Type",
                        "send the submission as Content-Type: application/json "
                        "(or a CSV import as text/csv)");
        return;
    }
    size_t length = 0;
    const char *body = http_body(request, &length);
    if (length > (size_t)server->config->max_body_bytes) {
        http_send_error(request, 413, "body_too_large", NULL, "the body is over the size limit");
        return;
    }
    struct submit_context *context = context_new(server);
    if (!context) {
        http_send_unavailable(request);
        return;
    }
    token_hash(token, strlen(token), context->token_hash);
    context->admin = http_is_admin_hash(server, context->token_hash);
    int retry_after = 0;
    if (!context->admin &&
        !rate_limit_take(server->rate_limit, context->token_hash, json_now_ms(), &retry_after)) {
        context_free(context);
        char seconds[16];
        snprintf(seconds, sizeof(seconds), "%d", retry_after);
        evhttp_add_header(evhttp_request_get_output_headers(request), "Retry-After", seconds);
        http_send_error(request, 429, "rate_limited", "Authorization",
                        "too many submissions with this token; retry after the given seconds");
        return;
    }
    if (!read_idempotency_key(context, request)) {
        context_free(context);
        http_send_error(request, 400, "invalid_header", "Idempotency-Key",
                        "Idempotency-Key must be 1-255 printable ASCII characters");
        return;
    }
    context->parse_failed = submission_parse(server->catalog, body, length, &context->submission,
                                             &context->parse_error) != 0;
    trim_document(&body, &length);
    context->body = body;
    context->body_length = length;
    http_watch_start(&context->watch, request);
    if (context->admin) {
        if (context->parse_failed) {
            struct api_error error = context->parse_error;
            finish(context);
            http_send_api_error(request, &error);
            return;
        }
        fetch_records(context);
        return;
    }
    if (registry_cache_find_token(server->registry, context->token_hash, context->owner_id)) {
        token_known(context); /* SUBMIT re-checks the token against Redis */
        return;
    }
    const char *argv[] = {"HGET", KEY_TOKENS, context->token_hash};
    redis_async_command(&server->redis, on_token, context, 3, argv, NULL);
}

/* ---- GET /v1/submissions/{id} ------------------------------------------------------------------
 */

struct status_context {
    struct server *server;
    struct http_watch watch;
    bool admin;
    char id[48];
    char token_hash[TOKEN_HASH_LENGTH + 1];
};

static bool entry_id_is_valid(const char *id)
{
    size_t length = strlen(id), dashes = 0;
    if (length < 3 || length > 41)
        return false;
    for (size_t i = 0; i < length; i++) {
        if (id[i] == '-')
            dashes++;
        else if (id[i] < '0' || id[i] > '9')
            return false;
    }
    return dashes == 1 && id[0] != '-' && id[length - 1] != '-';
}

static const char *entry_field(const redisReply *fields, const char *name)
{
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
        if (strcmp(fields->element[i]->str, name) == 0)
            return fields->element[i + 1]->str;
    return NULL;
}

static void on_status(redisReply *reply, void *privdata)
{
    struct status_context *context = privdata;
    struct evhttp_request *request = http_watch_end(&context->watch);
    if (!request) {
        free(context);
        return;
    }
    /* MULTI/EXEC: {owner, entries, status} */
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3) {
        free(context);
        http_send_unavailable(request);
        return;
    }
    const redisReply *owner = reply->element[0], *entries = reply->element[1],
                     *status = reply->element[2];
    if (!context->admin && owner->type != REDIS_REPLY_STRING) {
        free(context);
        http_send_error(request, 401, "unauthorized", "Authorization", "unknown token");
        return;
    }
    const redisReply *fields = entries->type == REDIS_REPLY_ARRAY && entries->elements == 1
                                   ? entries->element[0]->element[1]
                                   : NULL;
    const char *school = fields ? entry_field(fields, "school") : NULL;
    const char *by = fields ? entry_field(fields, "by") : NULL;
    bool visible = fields && (context->admin || (school && strcmp(school, owner->str) == 0) ||
                              (by && strcmp(by, owner->str) == 0));
    if (!visible) {
        free(context);
        http_send_error(request, 404, "unknown_submission", "id",
                        "no such submission for this token");
        return;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "id", context->id);
    cJSON_AddStringToObject(root, "school", school);
    const char *period = entry_field(fields, "period");
    if (period)
        cJSON_AddStringToObject(root, "period", period);
    if (status->type != REDIS_REPLY_STRING) {
        cJSON_AddStringToObject(root, "status", "queued");
    } else if (strncmp(status->str, "rejected", 8) == 0) {
        cJSON_AddStringToObject(root, "status", "rejected");
        cJSON_AddStringToObject(root, "reason", status->len > 9 ? status->str + 9 : "");
    } else {
        cJSON_AddStringToObject(root, "status", "applied");
    }
    char *body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    http_send_json(request, 200, body);
    cJSON_free(body);
    free(context);
}

static void ignore_reply(redisReply *reply, void *privdata)
{
    (void)reply, (void)privdata;
}

void routes_submission_get(struct server *server, struct evhttp_request *request, const char *id)
{
    const char *token = http_bearer(request);
    if (!token) {
        http_send_error(request, 401, "unauthorized", "Authorization",
                        "the submitting school's token or the admin token is needed");
        return;
    }
    if (!entry_id_is_valid(id)) {
        http_send_error(request, 404, "unknown_submission", "id", "no such submission");
        return;
    }
    struct status_context *context = calloc(1, sizeof(*context));
    if (!context) {
        http_send_unavailable(request);
        return;
    }
    context->server = server;
    context->admin = server->config->admin_token && token_equal(token, server->config->admin_token);
    snprintf(context->id, sizeof(context->id), "%s", id);
    token_hash(token, strlen(token), context->token_hash);
    char status_key[KEY_MAX];
    keys_status(status_key, id);
    http_watch_start(&context->watch, request);
    const char *multi[] = {"MULTI"}, *exec[] = {"EXEC"};
    const char *owner[] = {"HGET", KEY_TOKENS, context->token_hash};
    const char *range[] = {"XRANGE", KEY_STREAM, id, id};
    const char *status[] = {"GET", status_key};
    redis_async_command(&server->redis, ignore_reply, NULL, 1, multi, NULL);
    redis_async_command(&server->redis, ignore_reply, NULL, 3, owner, NULL);
    redis_async_command(&server->redis, ignore_reply, NULL, 4, range, NULL);
    redis_async_command(&server->redis, ignore_reply, NULL, 2, status, NULL);
    redis_async_command(&server->redis, on_status, context, 1, exec, NULL);
}
