/* routes_snapshots.c -- what dashboards poll: snapshots with ETag/304 and long-poll, and the
 * history of an indicator.
 *
 * A long-poll (If-None-Match + ?wait=N) that finds the snapshot unchanged is parked on a list
 * of waiters. The worker PUBLISHes "<district> <period> <version>" after every store; the
 * subscriber connection hands those messages to snapshots_notify(), which re-reads the
 * snapshot for the waiters concerned. A waiter's timer answers 304 when nothing changed in N
 * seconds, after one last read, so a lost message (subscriber reconnecting) costs at most a
 * late answer, never a wrong one. An idle dashboard therefore costs one parked request.
 *
 * The snapshot hash holds two documents stored together under one version: the snapshot
 * ("json") and the balanced-development evaluation ("balance"). A waiter names the one it
 * serves and the format (JSON, or CSV derived from the stored JSON), so both documents and
 * their CSV exports share the version, the ETag scheme and the long-poll. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "balance.h"
#include "export.h"
#include "keys.h"
#include "log.h"
#include "period.h"
#include "server.h"
#include "snapshot.h"
#include "textfmt.h"

#define WAIT_MAX_SECONDS 60

/* What a read asks for: one document of one district and period, in one format. */
struct document_read {
    enum district_document document;
    enum document_format format;
    int district, period;
};

struct waiter {
    struct server *server;
    struct http_watch watch;
    struct document_read read;
    int wait_seconds;
    char if_none_match[64];
    bool parked, expired, fetching;
    struct snapshot_cache_ticket ticket; /* taken when the read was sent */
    struct event *timer;
    struct waiter *next, *previous;
};

/* A document's ETag, "\"YYYY-version\"": the period (four digits) and the version its
 * store was given; at most 1 + 4 + 1 + 20 + 1 characters and the NUL. */
#define ETAG_MAX 32

static void format_etag(char etag[ETAG_MAX], int period, long long version)
{
    struct text text = text_start(etag, ETAG_MAX);
    text_add_char(&text, '"');
    text_add_unsigned(&text, period > 0 ? (unsigned)period : 0, 4);
    text_add_char(&text, '-');
    text_add_unsigned(&text, version > 0 ? (unsigned long long)version : 0, 0);
    text_add_char(&text, '"');
    text_end(&text);
}

static void fetch_snapshot(struct waiter *waiter);
static void serve_or_fetch(struct waiter *waiter);

static void unpark(struct waiter *waiter)
{
    if (!waiter->parked)
        return;
    struct server *server = waiter->server;
    if (waiter->previous)
        waiter->previous->next = waiter->next;
    else
        server->waiters = waiter->next;
    if (waiter->next)
        waiter->next->previous = waiter->previous;
    waiter->parked = false;
}

static void waiter_free(struct waiter *waiter)
{
    unpark(waiter);
    if (waiter->timer)
        event_free(waiter->timer);
    http_watch_end(&waiter->watch);
    free(waiter);
}

static void on_wait_over(evutil_socket_t fd, short events, void *arg)
{
    (void)fd, (void)events;
    struct waiter *waiter = arg;
    waiter->expired = true;
    if (!waiter->watch.request) {
        if (!waiter->fetching)
            waiter_free(waiter); /* the client went away while waiting */
        return;                  /* else on_snapshot frees it */
    }
    if (!waiter->fetching)
        serve_or_fetch(waiter);
}

static void park(struct waiter *waiter)
{
    struct server *server = waiter->server;
    if (!waiter->parked) {
        waiter->next = server->waiters;
        waiter->previous = NULL;
        if (server->waiters)
            server->waiters->previous = waiter;
        server->waiters = waiter;
        waiter->parked = true;
    }
    if (!waiter->timer) {
        waiter->timer = evtimer_new(server->base, on_wait_over, waiter);
        struct timeval limit = {waiter->wait_seconds, 0};
        if (!waiter->timer || evtimer_add(waiter->timer, &limit) != 0)
            waiter->expired = true;
        metric_add(&server->metrics.long_polls, 1);
    }
}

/* A snapshot that does not exist yet: the plan's indicators with no data, version 0. */
static char *render_empty_snapshot(const struct server *server, int district, int period)
{
    /* The API's catalog keeps no targets (catalog_load_packed): read this district's. */
    struct district with_targets = server->catalog->districts[district];
    struct target *targets;
    if (catalog_district_targets(server->catalog, district, &targets, &with_targets.target_count) !=
        0)
        return NULL;
    with_targets.targets = targets;
    struct figures figures = {NULL, 0, server->catalog->element_count, NULL};
    struct snapshot_input input = {server->catalog, &with_targets, period, &figures, NULL, 0};
    double *values = malloc(server->catalog->indicator_count * sizeof(double));
    cJSON *document = values ? snapshot_build(&input, values) : NULL;
    free(values);
    free(targets);
    if (!document)
        return NULL;
    cJSON_AddNumberToObject(document, "version", 0);
    cJSON_AddNullToObject(document, "updated_at");
    char *body = cJSON_PrintUnformatted(document);
    cJSON_Delete(document);
    return body;
}

/* A balance document that does not exist yet: the evaluation of no figures, version 0. */
static char *render_empty_balance(const struct server *server, int district, int period)
{
    struct figures figures = {NULL, 0, server->catalog->element_count, NULL};
    struct balance_input input = {server->catalog, &server->catalog->districts[district], period,
                                  &figures};
    cJSON *document = balance_build(&input);
    if (!document)
        return NULL;
    cJSON_AddNumberToObject(document, "version", 0);
    cJSON_AddNullToObject(document, "updated_at");
    char *body = cJSON_PrintUnformatted(document);
    cJSON_Delete(document);
    return body;
}

static char *render_empty(const struct waiter *waiter)
{
    if (waiter->read.document == DOCUMENT_BALANCE)
        return render_empty_balance(waiter->server, waiter->read.district, waiter->read.period);
    return render_empty_snapshot(waiter->server, waiter->read.district, waiter->read.period);
}

/* The CSV export of a stored document, sent as an attachment named after it. */
static void send_csv(const struct server *server, const struct document_read *read,
                     struct evhttp_request *request, const char *body)
{
    cJSON *document = body ? cJSON_Parse(body) : NULL;
    size_t length = 0;
    char *text = NULL;
    if (document)
        text = read->document == DOCUMENT_BALANCE ? export_balance_csv(document, &length)
                                                  : export_snapshot_csv(document, &length);
    cJSON_Delete(document);
    struct evbuffer *buffer = evbuffer_new();
    if (!text || !buffer || evbuffer_add(buffer, text, length) != 0) {
        free(text);
        if (buffer)
            evbuffer_free(buffer);
        http_send_unavailable(request);
        return;
    }
    free(text);
    char disposition[160];
    snprintf(disposition, sizeof(disposition), "attachment; filename=\"%s-%04d-%s.csv\"",
             server->catalog->districts[read->district].id, read->period,
             read->document == DOCUMENT_BALANCE ? "balance" : "snapshot");
    struct evkeyvalq *headers = evhttp_request_get_output_headers(request);
    evhttp_add_header(headers, "Content-Type", "text/csv; charset=utf-8");
    evhttp_add_header(headers, "Content-Disposition", disposition);
    http_send_buffer(request, 200, buffer);
    evbuffer_free(buffer);
}

/* Sends a read's answer: 304, or the document (`body`, NULL when rendering it ran out of
 * memory) as JSON or CSV, with its ETag. */
static void send_document(const struct server *server, const struct document_read *read,
                          struct evhttp_request *request, const char *etag, const char *body,
                          bool not_modified)
{
    struct evkeyvalq *headers = evhttp_request_get_output_headers(request);
    evhttp_add_header(headers, "ETag", etag);
    evhttp_add_header(headers, "Cache-Control", "no-cache");
    if (not_modified)
        evhttp_send_reply(request, 304, NULL, NULL);
    else if (!body)
        http_send_unavailable(request);
    else if (read->format == FORMAT_CSV)
        send_csv(server, read, request, body);
    else
        http_send_json(request, 200, body);
}

static void answer(struct waiter *waiter, const char *etag, const char *body, bool not_modified)
{
    struct evhttp_request *request = http_watch_end(&waiter->watch);
    if (request)
        send_document(waiter->server, &waiter->read, request, etag, body, not_modified);
    waiter_free(waiter);
}

static void deliver(struct waiter *waiter, long long version, const char *json);

static void on_snapshot(redisReply *reply, void *privdata)
{
    struct waiter *waiter = privdata;
    waiter->fetching = false;
    if (!waiter->watch.request) {
        if (!waiter->timer || waiter->expired)
            waiter_free(waiter);
        return; /* parked and gone: the timer frees it */
    }
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
        struct evhttp_request *request = http_watch_end(&waiter->watch);
        waiter_free(waiter);
        http_send_unavailable(request);
        return;
    }
    const redisReply *json = reply->element[0], *version = reply->element[1];
    long long stored_version = version->type == REDIS_REPLY_STRING ? atoll(version->str) : 0;
    if (json->type == REDIS_REPLY_STRING)
        snapshot_cache_store(waiter->server->cache, waiter->read.district, waiter->read.period,
                             (int)waiter->read.document, stored_version, json->str, json->len,
                             waiter->ticket);
    deliver(waiter, stored_version, json->type == REDIS_REPLY_STRING ? json->str : NULL);
}

/* Answers (or parks) a waiter with the stored document of `version` (`json` NULL when
 * nothing is stored yet). */
static void deliver(struct waiter *waiter, long long version, const char *json)
{
    char etag[ETAG_MAX];
    format_etag(etag, waiter->read.period, version);
    bool unchanged = waiter->if_none_match[0] && strcmp(waiter->if_none_match, etag) == 0;
    if (unchanged && waiter->wait_seconds > 0 && !waiter->expired && !waiter->server->draining) {
        park(waiter);
        return;
    }
    if (unchanged) {
        answer(waiter, etag, NULL, true);
    } else if (json) {
        answer(waiter, etag, json, false);
    } else {
        char *body = render_empty(waiter);
        answer(waiter, etag, body, false);
        cJSON_free(body);
    }
}

static void fetch_snapshot(struct waiter *waiter)
{
    struct server *server = waiter->server;
    char key[KEY_MAX];
    keys_district(key, KEY_DISTRICT_SNAPSHOT, server->catalog->districts[waiter->read.district].id,
                  waiter->read.period);
    const char *argv[] = {
        "HMGET", key, waiter->read.document == DOCUMENT_BALANCE ? "balance" : "json", "version"};
    waiter->fetching = true;
    waiter->ticket = snapshot_cache_ticket(server->cache, waiter->read.district);
    redis_async_command(&server->redis, on_snapshot, waiter, 4, argv, NULL);
}

/* From the in-process copy when there is one (and notifications are flowing), else from
 * Redis. */
static void serve_or_fetch(struct waiter *waiter)
{
    struct server *server = waiter->server;
    const struct cached_document *kept =
        server->subscriber.subscribed
            ? snapshot_cache_find(server->cache, waiter->read.district, waiter->read.period,
                                  (int)waiter->read.document)
            : NULL;
    if (!kept) {
        metric_add(&server->metrics.snapshot_cache_misses, 1);
        fetch_snapshot(waiter);
        return;
    }
    metric_add(&server->metrics.snapshot_cache_hits, 1);
    deliver(waiter, kept->version, kept->body);
}

/* The usual read -- its document in memory and nothing to wait for -- answered at once, with
 * no waiter allocated. False, with nothing sent, when the read needs a waiter: the document is
 * not in memory, or a long-poll finds it unchanged. */
static bool answer_from_memory(struct server *server, struct evhttp_request *request,
                               const struct document_read *read, const char *match,
                               int wait_seconds)
{
    const struct cached_document *kept =
        server->subscriber.subscribed
            ? snapshot_cache_find(server->cache, read->district, read->period, (int)read->document)
            : NULL;
    if (!kept)
        return false;
    char etag[ETAG_MAX];
    format_etag(etag, read->period, kept->version);
    bool unchanged = match && strcmp(match, etag) == 0;
    if (unchanged && wait_seconds > 0 && !server->draining)
        return false;
    metric_add(&server->metrics.snapshot_cache_hits, 1);
    send_document(server, read, request, etag, kept->body, unchanged);
    return true;
}

/* With no ?period=, the latest period with data (or, before any data, the current year
 * within the plan's years). */
static void on_latest_period(redisReply *reply, void *privdata)
{
    struct waiter *waiter = privdata;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        struct evhttp_request *request = http_watch_end(&waiter->watch);
        waiter_free(waiter);
        if (request)
            http_send_unavailable(request);
        return;
    }
    if (reply->elements > 0 && period_parse(reply->element[0]->str) > 0) {
        waiter->read.period = period_parse(reply->element[0]->str);
        snapshot_cache_offer_latest_period(waiter->server->cache, waiter->read.district,
                                           waiter->read.period, waiter->ticket);
    } else {
        const struct district *district =
            &waiter->server->catalog->districts[waiter->read.district];
        time_t now = time(NULL);
        struct tm utc;
        gmtime_r(&now, &utc);
        int year = utc.tm_year + 1900;
        waiter->read.period = year < district->plan_first_year  ? district->plan_first_year
                              : year > district->plan_last_year ? district->plan_last_year
                                                                : year;
    }
    serve_or_fetch(waiter);
}

void routes_snapshot_get(struct server *server, struct evhttp_request *request, int district)
{
    routes_document_get(server, request, district, DOCUMENT_SNAPSHOT, FORMAT_JSON);
}

void routes_document_get(struct server *server, struct evhttp_request *request, int district,
                         enum district_document document, enum document_format format)
{
    if (!http_check_read(server, request))
        return;
    if (document == DOCUMENT_BALANCE && !server->catalog->balance_rules) {
        http_send_error(request, 404, "no_balance_settings", NULL,
                        "the catalog has no balanced-development settings (balance.json)");
        return;
    }
    char period_text[16] = "", wait_text[16] = "";
    bool has_period = http_query(request, "period", period_text, sizeof(period_text));
    int period = has_period ? period_parse(period_text) : 0;
    if (has_period && period < 0) {
        http_send_error(request, 422, "invalid_period", "period",
                        "period must be a year YYYY between 2000 and 2100");
        return;
    }
    int wait = 0;
    if (http_query(request, "wait", wait_text, sizeof(wait_text))) {
        char *end = NULL;
        long value = strtol(wait_text, &end, 10);
        if (!*wait_text || *end || value < 0 || value > WAIT_MAX_SECONDS) {
            http_send_error(request, 422, "invalid_wait", "wait",
                            "wait must be a whole number of seconds from 0 to 60");
            return;
        }
        wait = (int)value;
    }
    struct document_read read = {document, format, district, period};
    int latest = has_period || !server->subscriber.subscribed
                     ? 0
                     : snapshot_cache_latest_period(server->cache, district);
    if (latest > 0)
        read.period = latest;
    const char *match =
        evhttp_find_header(evhttp_request_get_input_headers(request), "If-None-Match");
    if ((has_period || latest > 0) && answer_from_memory(server, request, &read, match, wait))
        return;
    struct waiter *waiter = calloc(1, sizeof(*waiter));
    if (!waiter) {
        http_send_unavailable(request);
        return;
    }
    waiter->server = server;
    waiter->read = read;
    waiter->wait_seconds = wait;
    if (match)
        snprintf(waiter->if_none_match, sizeof(waiter->if_none_match), "%s", match);
    http_watch_start(&waiter->watch, request);
    if (has_period || latest > 0) {
        serve_or_fetch(waiter);
        return;
    }
    waiter->ticket = snapshot_cache_ticket(server->cache, district);
    char key[KEY_MAX];
    keys_district(key, KEY_DISTRICT_PERIODS, server->catalog->districts[district].id, 0);
    const char *argv[] = {"ZREVRANGE", key, "0", "0"};
    redis_async_command(&server->redis, on_latest_period, waiter, 4, argv, NULL);
}

void snapshots_notify(const char *channel, const char *payload, void *arg)
{
    (void)channel;
    struct server *server = arg;
    char district[SCHOOL_ID_MAX + 1] = "";
    int period = 0;
    long long version = 0;
    bool all = !payload || !*payload;
    if (!all && sscanf(payload, "%64s %d %lld", district, &period, &version) != 3)
        return;
    if (all)
        snapshot_cache_reset(server->cache);
    else
        snapshot_cache_notify(server->cache, catalog_find_district(server->catalog, district),
                              period, version);
    struct waiter *waiter = server->waiters;
    while (waiter) {
        struct waiter *next = waiter->next;
        bool concerned =
            all || (waiter->read.period == period &&
                    strcmp(server->catalog->districts[waiter->read.district].id, district) == 0);
        if (concerned && !waiter->fetching && waiter->watch.request)
            fetch_snapshot(waiter);
        waiter = next;
    }
}

void snapshots_shutdown(struct server *server)
{
    /* Draining: answer every parked long-poll now (it re-reads and, unchanged, gets 304). */
    struct waiter *waiter = server->waiters;
    while (waiter) {
        struct waiter *next = waiter->next;
        waiter->expired = true;
        if (!waiter->watch.request)
            waiter_free(waiter);
        else if (!waiter->fetching)
            fetch_snapshot(waiter);
        waiter = next;
    }
}

/* ---- GET /v1/districts/{id}/history?indicator=X -----------------------------------------------
 */

struct history_context {
    struct server *server;
    struct http_watch watch;
    int district, indicator;
    int timeline_period;
    cJSON *periods; /* the list of periods with data, parsed from step 1 */
};

static void history_free(struct history_context *context)
{
    http_watch_end(&context->watch);
    cJSON_Delete(context->periods);
    free(context);
}

static void add_value(cJSON *object, const char *values_json, const char *indicator)
{
    cJSON *values = values_json ? cJSON_Parse(values_json) : NULL;
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(values, indicator);
    if (cJSON_IsNumber(value))
        cJSON_AddNumberToObject(object, "value", value->valuedouble);
    else
        cJSON_AddNullToObject(object, "value");
    cJSON_Delete(values);
}

static void on_history(redisReply *reply, void *privdata)
{
    struct history_context *context = privdata;
    struct evhttp_request *request = http_watch_end(&context->watch);
    size_t period_count = (size_t)cJSON_GetArraySize(context->periods);
    if (!request || !reply || reply->type != REDIS_REPLY_ARRAY ||
        reply->elements != period_count + 1) {
        history_free(context);
        if (request)
            http_send_unavailable(request);
        return;
    }
    const struct indicator *indicator = &context->server->catalog->indicators[context->indicator];
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "district",
                            context->server->catalog->districts[context->district].id);
    cJSON_AddStringToObject(root, "indicator", indicator->id);
    cJSON_AddStringToObject(root, "unit", indicator->unit);
    cJSON *periods = cJSON_AddArrayToObject(root, "periods");
    for (size_t i = 0; i < period_count; i++) {
        const redisReply *fields = reply->element[i]; /* values, version, updated_at */
        if (fields->type != REDIS_REPLY_ARRAY || fields->elements != 3 ||
            fields->element[1]->type != REDIS_REPLY_STRING)
            continue;
        cJSON *item = cJSON_CreateObject();
        cJSON_AddStringToObject(item, "period",
                                cJSON_GetArrayItem(context->periods, (int)i)->valuestring);
        add_value(item, fields->element[0]->str, indicator->id);
        cJSON_AddNumberToObject(item, "version", atof(fields->element[1]->str));
        cJSON_AddStringToObject(item, "updated_at",
                                fields->element[2]->str ? fields->element[2]->str : "");
        cJSON_AddItemToArray(periods, item);
    }
    cJSON *timeline = cJSON_AddArrayToObject(root, "timeline");
    const redisReply *entries = reply->element[period_count];
    char period_text[8];
    snprintf(period_text, sizeof(period_text), "%04d", context->timeline_period);
    for (size_t i = 0; entries->type == REDIS_REPLY_ARRAY && i < entries->elements; i++) {
        cJSON *entry = cJSON_Parse(entries->element[i]->str);
        const cJSON *version = cJSON_GetObjectItemCaseSensitive(entry, "version");
        const cJSON *updated = cJSON_GetObjectItemCaseSensitive(entry, "updated_at");
        const cJSON *values = cJSON_GetObjectItemCaseSensitive(entry, "values");
        const cJSON *value = cJSON_GetObjectItemCaseSensitive(values, indicator->id);
        if (cJSON_IsNumber(version) && cJSON_IsString(updated)) {
            cJSON *item = cJSON_CreateObject();
            cJSON_AddStringToObject(item, "period", period_text);
            cJSON_AddNumberToObject(item, "version", version->valuedouble);
            cJSON_AddStringToObject(item, "updated_at", updated->valuestring);
            if (cJSON_IsNumber(value))
                cJSON_AddNumberToObject(item, "value", value->valuedouble);
            else
                cJSON_AddNullToObject(item, "value");
            cJSON_AddItemToArray(timeline, item);
        }
        cJSON_Delete(entry);
    }
    char *body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    history_free(context);
    http_send_json(request, 200, body);
    cJSON_free(body);
}

static void ignore(redisReply *reply, void *privdata)
{
    (void)reply, (void)privdata;
}

static void on_history_periods(redisReply *reply, void *privdata)
{
    struct history_context *context = privdata;
    if (!context->watch.request || !reply || reply->type != REDIS_REPLY_ARRAY) {
        struct evhttp_request *request = http_watch_end(&context->watch);
        history_free(context);
        if (request)
            http_send_unavailable(request);
        return;
    }
    struct server *server = context->server;
    const char *district = server->catalog->districts[context->district].id;
    context->periods = cJSON_CreateArray();
    const char *multi[] = {"MULTI"}, *exec[] = {"EXEC"};
    redis_async_command(&server->redis, ignore, NULL, 1, multi, NULL);
    for (size_t i = 0; i < reply->elements; i++) {
        int period = period_parse(reply->element[i]->str);
        if (period < 0)
            continue;
        cJSON_AddItemToArray(context->periods, cJSON_CreateString(reply->element[i]->str));
        char key[KEY_MAX];
        keys_district(key, KEY_DISTRICT_SNAPSHOT, district, period);
        const char *argv[] = {"HMGET", key, "values", "version", "updated_at"};
        redis_async_command(&server->redis, ignore, NULL, 5, argv, NULL);
    }
    if (context->timeline_period == 0 && reply->elements > 0)
        context->timeline_period = period_parse(reply->element[reply->elements - 1]->str);
    char key[KEY_MAX];
    keys_district(key, KEY_DISTRICT_TIMELINE, district, context->timeline_period);
    const char *range[] = {"LRANGE", key, "0", "-1"};
    redis_async_command(&server->redis, ignore, NULL, 4, range, NULL);
    redis_async_command(&server->redis, on_history, context, 1, exec, NULL);
}

void routes_history_get(struct server *server, struct evhttp_request *request, int district)
{
    if (!http_check_read(server, request))
        return;
    char period_text[16] = "";
    int indicator = http_query_indicator(server, request);
    if (indicator < 0)
        return;
    int timeline_period = 0;
    if (http_query(request, "period", period_text, sizeof(period_text))) {
        timeline_period = period_parse(period_text);
        if (timeline_period < 0) {
            http_send_error(request, 422, "invalid_period", "period",
                            "period must be a year YYYY between 2000 and 2100");
            return;
        }
    }
    struct history_context *context = calloc(1, sizeof(*context));
    if (!context) {
        http_send_unavailable(request);
        return;
    }
    context->server = server;
    context->district = district;
    context->indicator = indicator;
    context->timeline_period = timeline_period;
    http_watch_start(&context->watch, request);
    char key[KEY_MAX];
    keys_district(key, KEY_DISTRICT_PERIODS, server->catalog->districts[district].id, 0);
    const char *argv[] = {"ZRANGE", key, "0", "-1"};
    redis_async_command(&server->redis, on_history_periods, context, 4, argv, NULL);
}
