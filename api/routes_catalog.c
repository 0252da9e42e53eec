/* routes_catalog.c -- the catalog read endpoints. The catalog is immutable, so its bodies are
 * rendered once at load; a district's detail adds the periods that have data (from Redis) and
 * still answers, without them, when Redis is away. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "keys.h"
#include "server.h"

static void send_cacheable(struct evhttp_request *request, const struct catalog *catalog,
                           const char *body)
{
    char etag[40];
    snprintf(etag, sizeof(etag), "\"c-%.16s\"", catalog->hash);
    struct evkeyvalq *headers = evhttp_request_get_output_headers(request);
    evhttp_add_header(headers, "ETag", etag);
    evhttp_add_header(headers, "Cache-Control", "no-cache");
    const char *match =
        evhttp_find_header(evhttp_request_get_input_headers(request), "If-None-Match");
    if (match && strcmp(match, etag) == 0) {
        evhttp_send_reply(request, 304, NULL, NULL);
        return;
    }
    http_send_json(request, 200, body);
}

void routes_districts_list(struct server *server, struct evhttp_request *request)
{
    if (http_check_read(server, request))
        send_cacheable(request, server->catalog, server->catalog->districts_body);
}

void routes_elements(struct server *server, struct evhttp_request *request)
{
    if (http_check_read(server, request))
        send_cacheable(request, server->catalog, server->catalog->elements_body);
}

void routes_indicators(struct server *server, struct evhttp_request *request)
{
    if (http_check_read(server, request))
        send_cacheable(request, server->catalog, server->catalog->indicators_body);
}

struct district_context {
    struct server *server;
    struct http_watch watch;
    int district;
};

static void on_periods(redisReply *reply, void *privdata)
{
    struct district_context *context = privdata;
    struct evhttp_request *request = http_watch_end(&context->watch);
    const struct catalog *context_catalog = context->server->catalog;
    int district_index = context->district;
    free(context);
    if (!request)
        return;
    /* The file as compact JSON with "periods" added as its last member: the bytes
     * cJSON_PrintUnformatted would give for the file's tree with the member appended. */
    char *file = catalog_district_json(context_catalog, district_index);
    bool answered = reply && reply->type == REDIS_REPLY_ARRAY;
    cJSON *periods = answered ? cJSON_CreateArray() : cJSON_CreateNull();
    for (size_t i = 0; answered && periods && i < reply->elements; i++)
        cJSON_AddItemToArray(periods, cJSON_CreateString(reply->element[i]->str));
    char *listed = periods ? cJSON_PrintUnformatted(periods) : NULL; /* null: Redis away */
    cJSON_Delete(periods);
    struct evbuffer *body = evbuffer_new();
    size_t length = file ? strlen(file) : 0;
    if (!file || !listed || !body || length < 2 || file[length - 1] != '}') {
        cJSON_free(file);
        cJSON_free(listed);
        if (body)
            evbuffer_free(body);
        http_send_unavailable(request);
        return;
    }
    evbuffer_add(body, file, length - 1);
    evbuffer_add_printf(body, "%s\"periods\":%s}\n", length > 2 ? "," : "", listed);
    cJSON_free(file);
    cJSON_free(listed);
    struct evkeyvalq *headers = evhttp_request_get_output_headers(request);
    evhttp_add_header(headers, "Content-Type", "application/json; charset=utf-8");
    evhttp_add_header(headers, "Cache-Control", "no-store");
    http_send_buffer(request, 200, body);
    evbuffer_free(body);
}

void routes_district_get(struct server *server, struct evhttp_request *request, int district)
{
    if (!http_check_read(server, request))
        return;
    struct district_context *context = calloc(1, sizeof(*context));
    if (!context) {
        http_send_unavailable(request);
        return;
    }
    context->server = server;
    context->district = district;
    http_watch_start(&context->watch, request);
    char key[KEY_MAX];
    keys_district(key, KEY_DISTRICT_PERIODS, server->catalog->districts[district].id, 0);
    const char *argv[] = {"ZRANGE", key, "0", "-1"};
    redis_async_command(&server->redis, on_periods, context, 4, argv, NULL);
}
