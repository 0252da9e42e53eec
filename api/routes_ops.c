/* routes_ops.c -- operations endpoints (/healthz, /readyz, /metrics) and the dashboard's
 * static files. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "jsonutil.h"
#include "keys.h"
#include "server.h"

void routes_healthz(struct server *server, struct evhttp_request *request)
{
    (void)server;
    http_send_json(request, 200, "{\"status\":\"ok\"}");
}

struct ready_context {
    struct server *server;
    struct http_watch watch;
};

static void answer_ready(struct evhttp_request *request, const struct server *server, bool redis)
{
    char body[256];
    bool ready = redis && !server->draining;
    snprintf(body, sizeof(body),
             "{\"status\":\"%s\",\"redis\":%s,\"catalog\":\"%s\",\"draining\":%s}",
             ready ? "ready" : "not_ready", redis ? "true" : "false", server->catalog->hash,
             server->draining ? "true" : "false");
    if (!ready)
        evhttp_add_header(evhttp_request_get_output_headers(request), "Retry-After", "1");
    http_send_json(request, ready ? 200 : 503, body);
}

static void on_ping(redisReply *reply, void *privdata)
{
    struct ready_context *context = privdata;
    struct evhttp_request *request = http_watch_end(&context->watch);
    if (request)
        answer_ready(request, context->server,
                     reply && reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "PONG") == 0);
    free(context);
}

/* Ready means Redis answers now (a PING within the command deadline), not merely that a TCP
 * connection is open: a frozen Redis still accepts connections. */
void routes_readyz(struct server *server, struct evhttp_request *request)
{
    struct ready_context *context = calloc(1, sizeof(*context));
    if (!context || !server->redis.connected || server->draining) {
        free(context);
        answer_ready(request, server, server->redis.connected);
        return;
    }
    context->server = server;
    http_watch_start(&context->watch, request);
    const char *argv[] = {"PING"};
    redis_async_command(&server->redis, on_ping, context, 1, argv, NULL);
}

/* ---- /metrics ---------------------------------------------------------------------------- */

struct metrics_context {
    struct server *server;
    struct http_watch watch;
};

static void append_line(char *out, size_t size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void append_line(char *out, size_t size, const char *format, ...)
{
    size_t used = strlen(out);
    va_list args;
    va_start(args, format);
    vsnprintf(out + used, size - used, format, args);
    va_end(args);
}

static const redisReply *field_of(const redisReply *pairs, const char *name)
{
    for (size_t i = 0; pairs->type == REDIS_REPLY_ARRAY && i + 1 < pairs->elements; i += 2)
        if (pairs->element[i]->type == REDIS_REPLY_STRING &&
            strcmp(pairs->element[i]->str, name) == 0)
            return pairs->element[i + 1];
    return NULL;
}

static long long id_milliseconds(const redisReply *id)
{
    return id && id->type == REDIS_REPLY_STRING ? atoll(id->str) : 0;
}

/* Reads the figures only Redis knows from the EXEC reply {XINFO STREAM, XINFO GROUPS,
 * HGETALL}. The group's lag is measured in time (newest entry minus the last one delivered),
 * not with XINFO's "lag" counter, which Redis 7.0 leaves stale in some histories. */
static void render_redis_figures(const struct server *server, const redisReply *reply, char *out,
                                 size_t size)
{
    out[0] = '\0';
    append_line(
        out, size,
        "# HELP edumon_redis_reconnects_total Connections (re)established to Redis.\n"
        "# TYPE edumon_redis_reconnects_total counter\nedumon_redis_reconnects_total %lld\n",
        (long long)server->redis.reconnects);
    append_line(out, size,
                "# HELP edumon_redis_timeouts_total Redis commands that got no answer in time.\n"
                "# TYPE edumon_redis_timeouts_total counter\nedumon_redis_timeouts_total %lld\n",
                (long long)server->redis.timeouts);
    append_line(out, size,
                "# HELP edumon_redis_up Whether the API is connected to Redis.\n"
                "# TYPE edumon_redis_up gauge\nedumon_redis_up %lld\n",
                server->redis.connected ? 1LL : 0LL);
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3)
        return;
    /* Before the first submission the stream does not exist (XINFO answers an error). */
    const redisReply *length = field_of(reply->element[0], "length");
    append_line(out, size,
                "# HELP edumon_stream_length Entries in the submission stream.\n"
                "# TYPE edumon_stream_length gauge\nedumon_stream_length %lld\n",
                length && length->type == REDIS_REPLY_INTEGER ? length->integer : 0LL);
    long long newest_ms = id_milliseconds(field_of(reply->element[0], "last-generated-id"));
    const redisReply *groups = reply->element[1];
    for (size_t g = 0; groups->type == REDIS_REPLY_ARRAY && g < groups->elements; g++) {
        const redisReply *group = groups->element[g];
        for (size_t i = 0; group->type == REDIS_REPLY_ARRAY && i + 1 < group->elements; i += 2) {
            const char *name = group->element[i]->str;
            const redisReply *value = group->element[i + 1];
            if (strcmp(name, "pending") == 0 && value->type == REDIS_REPLY_INTEGER)
                append_line(out, size,
                            "# HELP edumon_stream_pending Entries delivered to workers and not "
                            "yet acknowledged.\n# TYPE edumon_stream_pending gauge\n"
                            "edumon_stream_pending %lld\n",
                            value->integer);
            else if (strcmp(name, "last-delivered-id") == 0 && newest_ms > 0) {
                long long delivered_ms = id_milliseconds(value);
                double lag =
                    newest_ms > delivered_ms ? (double)(newest_ms - delivered_ms) / 1e3 : 0;
                append_line(out, size,
                            "# HELP edumon_stream_lag_seconds Age difference between the newest "
                            "submission and the last one delivered to a worker.\n"
                            "# TYPE edumon_stream_lag_seconds gauge\nedumon_stream_lag_seconds "
                            "%.3f\n",
                            lag);
            }
        }
    }
}

/* Worker counters, published by each worker into edumon:workers (worker/consumer.c). Workers
 * silent for more than 5 minutes are left out. */
static void render_worker_figures(const redisReply *workers, char *out, size_t size)
{
    static const char *const counters[][2] = {
        {"batches", "Batches the worker processed."},
        {"entries", "Stream entries the worker processed."},
        {"values_applied", "Element values the worker applied."},
        {"snapshots_stored", "Snapshot stores the worker made."},
        {"dead_lettered", "Entries moved to the dead-letter stream."},
        {"reconnects", "Connections the worker (re)established to Redis."}};
    static const char *const bucket_bounds[] = {"1", "10", "50", "100", "500", "+Inf"};
    long long now = json_now_ms();
    cJSON *parsed[64] = {0};
    const char *names[64] = {0};
    size_t count = 0;
    for (size_t i = 0;
         workers->type == REDIS_REPLY_ARRAY && i + 1 < workers->elements && count < 64; i += 2) {
        cJSON *item = cJSON_Parse(workers->element[i + 1]->str);
        const cJSON *updated = cJSON_GetObjectItemCaseSensitive(item, "updated_ms");
        if (!cJSON_IsNumber(updated) || now - (long long)updated->valuedouble > 300000 ||
            !id_is_valid(workers->element[i]->str)) {
            cJSON_Delete(item);
            continue;
        }
        names[count] = workers->element[i]->str;
        parsed[count++] = item;
    }
    for (size_t c = 0; c < sizeof(counters) / sizeof(*counters); c++) {
        append_line(out, size,
                    "# HELP edumon_worker_%s_total %s\n# TYPE edumon_worker_%s_total counter\n",
                    counters[c][0], counters[c][1], counters[c][0]);
        for (size_t w = 0; w < count; w++) {
            const cJSON *value = cJSON_GetObjectItemCaseSensitive(parsed[w], counters[c][0]);
            append_line(out, size, "edumon_worker_%s_total{consumer=\"%s\"} %.0f\n", counters[c][0],
                        names[w], cJSON_IsNumber(value) ? value->valuedouble : 0);
        }
    }
    append_line(out, size,
                "# HELP edumon_worker_batch_size Entries per processed batch.\n"
                "# TYPE edumon_worker_batch_size histogram\n");
    for (size_t w = 0; w < count; w++) {
        const cJSON *buckets = cJSON_GetObjectItemCaseSensitive(parsed[w], "batch_size_buckets");
        const cJSON *entries = cJSON_GetObjectItemCaseSensitive(parsed[w], "entries");
        const cJSON *batches = cJSON_GetObjectItemCaseSensitive(parsed[w], "batches");
        double cumulative = 0;
        for (int b = 0; b < 6; b++) {
            const cJSON *bucket = cJSON_GetArrayItem(buckets, b);
            cumulative += cJSON_IsNumber(bucket) ? bucket->valuedouble : 0;
            append_line(out, size,
                        "edumon_worker_batch_size_bucket{consumer=\"%s\",le=\"%s\"} %.0f\n",
                        names[w], bucket_bounds[b], cumulative);
        }
        append_line(out, size,
                    "edumon_worker_batch_size_sum{consumer=\"%s\"} %.0f\n"
                    "edumon_worker_batch_size_count{consumer=\"%s\"} %.0f\n",
                    names[w], cJSON_IsNumber(entries) ? entries->valuedouble : 0, names[w],
                    cJSON_IsNumber(batches) ? batches->valuedouble : 0);
    }
    append_line(out, size,
                "# HELP edumon_worker_batch_seconds_total Time spent applying batches "
                "(read to XACK).\n# TYPE edumon_worker_batch_seconds_total counter\n");
    for (size_t w = 0; w < count; w++) {
        const cJSON *seconds = cJSON_GetObjectItemCaseSensitive(parsed[w], "batch_seconds_sum");
        append_line(out, size, "edumon_worker_batch_seconds_total{consumer=\"%s\"} %.6f\n",
                    names[w], cJSON_IsNumber(seconds) ? seconds->valuedouble : 0);
    }
    for (size_t w = 0; w < count; w++)
        cJSON_Delete(parsed[w]);
}

static void on_metrics(redisReply *reply, void *privdata)
{
    struct metrics_context *context = privdata;
    struct evhttp_request *request = http_watch_end(&context->watch);
    struct server *server = context->server;
    free(context);
    if (!request)
        return;
    char extra[32768];
    render_redis_figures(server, reply, extra, sizeof(extra));
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 3)
        render_worker_figures(reply->element[2], extra, sizeof(extra));
    const struct metrics *loops[CONFIG_MAX_API_THREADS];
    size_t loop_count = 0;
    for (; loop_count < server->loop_count && loop_count < CONFIG_MAX_API_THREADS; loop_count++)
        loops[loop_count] = &server->all_loops[loop_count].metrics;
    char *text = metrics_render(loops, loop_count, extra);
    struct evbuffer *buffer = evbuffer_new();
    if (!text || !buffer) {
        free(text);
        if (buffer)
            evbuffer_free(buffer);
        http_send_unavailable(request);
        return;
    }
    evbuffer_add(buffer, text, strlen(text));
    free(text);
    evhttp_add_header(evhttp_request_get_output_headers(request), "Content-Type",
                      "text/plain; version=0.0.4; charset=utf-8");
    http_send_buffer(request, 200, buffer);
    evbuffer_free(buffer);
}

static void ignore(redisReply *reply, void *privdata)
{
    (void)reply, (void)privdata;
}

void routes_metrics(struct server *server, struct evhttp_request *request)
{
    struct metrics_context *context = calloc(1, sizeof(*context));
    if (!context) {
        http_send_unavailable(request);
        return;
    }
    context->server = server;
    http_watch_start(&context->watch, request);
    const char *multi[] = {"MULTI"}, *exec[] = {"EXEC"};
    const char *length[] = {"XINFO", "STREAM", KEY_STREAM};
    const char *groups[] = {"XINFO", "GROUPS", KEY_STREAM};
    const char *workers[] = {"HGETALL", KEY_WORKERS};
    redis_async_command(&server->redis, ignore, NULL, 1, multi, NULL);
    redis_async_command(&server->redis, ignore, NULL, 3, length, NULL);
    redis_async_command(&server->redis, ignore, NULL, 3, groups, NULL);
    redis_async_command(&server->redis, ignore, NULL, 2, workers, NULL);
    redis_async_command(&server->redis, on_metrics, context, 1, exec, NULL);
}

/* ---- static files -----------------------------------------------------------------------------
 */

static const char *content_type(const char *path)
{
    static const char *const types[][2] = {{".html", "text/html; charset=utf-8"},
                                           {".js", "text/javascript; charset=utf-8"},
                                           {".mjs", "text/javascript; charset=utf-8"},
                                           {".css", "text/css; charset=utf-8"},
                                           {".svg", "image/svg+xml"},
                                           {".png", "image/png"},
                                           {".ico", "image/x-icon"},
                                           {".json", "application/json; charset=utf-8"},
                                           {".webmanifest", "application/manifest+json"}};
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof(types) / sizeof(*types); i++)
        if (strcmp(dot, types[i][0]) == 0)
            return types[i][1];
    return "application/octet-stream";
}

/* Only "/" and "/assets/<name>" with a plain file name: no "..", no hidden files. */
static bool static_path(const char *path, char *relative, size_t size)
{
    if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0) {
        snprintf(relative, size, "index.html");
        return true;
    }
    if (strncmp(path, "/assets/", 8) != 0)
        return false;
    const char *name = path + 8;
    if (!*name || *name == '.' || strlen(name) > 100)
        return false;
    for (const char *p = name; *p; p++) {
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_';
        if (!ok)
            return false;
    }
    snprintf(relative, size, "assets/%s", name);
    return true;
}

void routes_static(struct server *server, struct evhttp_request *request, const char *path)
{
    char relative[160], full[1400];
    if (!static_path(path, relative, sizeof(relative))) {
        http_send_error(request, 404, "not_found", NULL, "no such resource");
        return;
    }
    snprintf(full, sizeof(full), "%s/%s", server->config->web_dir, relative);
    int fd = open(full, O_RDONLY | O_CLOEXEC);
    struct stat info;
    if (fd < 0 || fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
        if (fd >= 0)
            close(fd);
        http_send_error(request, 404, "not_found", NULL, "no such resource");
        return;
    }
    char etag[64];
    snprintf(etag, sizeof(etag), "\"%llx-%llx\"", (unsigned long long)info.st_mtime,
             (unsigned long long)info.st_size);
    struct evkeyvalq *headers = evhttp_request_get_output_headers(request);
    evhttp_add_header(headers, "Content-Type", content_type(relative));
    evhttp_add_header(headers, "ETag", etag);
    /* Revalidate every time: files are tiny and a stale dashboard is worse than a 304. */
    evhttp_add_header(headers, "Cache-Control", "no-cache");
    evhttp_add_header(headers, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(headers, "Content-Security-Policy",
                      "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
    const char *match =
        evhttp_find_header(evhttp_request_get_input_headers(request), "If-None-Match");
    if (match && strcmp(match, etag) == 0) {
        close(fd);
        evhttp_send_reply(request, 304, NULL, NULL);
        return;
    }
    struct evbuffer *buffer = evbuffer_new();
    if (!buffer || evbuffer_add_file(buffer, fd, 0, info.st_size) != 0) {
        if (buffer)
            evbuffer_free(buffer);
        else
            close(fd);
        http_send_unavailable(request);
        return;
    }
    http_send_buffer(request, 200, buffer);
    evbuffer_free(buffer);
}
