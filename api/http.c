/* http.c -- response and request helpers shared by the routes (see server.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

#include "jsonutil.h"
#include "query.h"
#include "server.h"
#include "token.h"

void http_add_date(struct evhttp_request *request)
{
    static _Thread_local time_t formatted_second = -1;
    static _Thread_local char date[40];
    time_t now = time(NULL);
    if (now != formatted_second) {
        struct tm utc;
        if (!gmtime_r(&now, &utc) || evutil_date_rfc1123(date, sizeof(date), &utc) == 0)
            return; /* evhttp adds its own */
        formatted_second = now;
    }
    evhttp_add_header(evhttp_request_get_output_headers(request), "Date", date);
}

void http_send_buffer(struct evhttp_request *request, int status, struct evbuffer *buffer)
{
    if (evhttp_request_get_command(request) != EVHTTP_REQ_HEAD) {
        evhttp_send_reply(request, status, NULL, buffer);
        return;
    }
    /* HEAD: the headers of the GET, no body (libevent 2.1 would send it). */
    char length[32];
    snprintf(length, sizeof(length), "%zu", buffer ? evbuffer_get_length(buffer) : (size_t)0);
    struct evkeyvalq *headers = evhttp_request_get_output_headers(request);
    evhttp_remove_header(headers, "Content-Length");
    evhttp_add_header(headers, "Content-Length", length);
    evhttp_send_reply(request, status, NULL, NULL);
}

void http_send_json(struct evhttp_request *request, int status, const char *body)
{
    struct evkeyvalq *headers = evhttp_request_get_output_headers(request);
    evhttp_add_header(headers, "Content-Type", "application/json; charset=utf-8");
    if (!evhttp_find_header(headers, "Cache-Control"))
        evhttp_add_header(headers, "Cache-Control", "no-store");
    if (evhttp_request_get_command(request) != EVHTTP_REQ_HEAD) {
        /* Straight into the request's own output buffer: no buffer of our own to allocate,
         * fill, move and free (evhttp sends what is there). */
        struct evbuffer *output = evhttp_request_get_output_buffer(request);
        if (body) {
            evbuffer_add(output, body, strlen(body));
            evbuffer_add(output, "\n", 1);
        }
        evhttp_send_reply(request, status, NULL, NULL);
        return;
    }
    struct evbuffer *buffer = evbuffer_new();
    if (buffer && body) {
        evbuffer_add(buffer, body, strlen(body));
        evbuffer_add(buffer, "\n", 1);
    }
    http_send_buffer(request, status, buffer); /* HEAD: its length, not its bytes */
    if (buffer)
        evbuffer_free(buffer);
}

void http_send_error(struct evhttp_request *request, int status, const char *code,
                     const char *field, const char *message)
{
    char *body = json_error_body(code, message, field);
    http_send_json(request, status, body);
    cJSON_free(body);
}

void http_send_api_error(struct evhttp_request *request, const struct api_error *error)
{
    http_send_error(request, error->status, error->code, error->field, error->message);
}

void http_send_unavailable(struct evhttp_request *request)
{
    evhttp_add_header(evhttp_request_get_output_headers(request), "Retry-After", "1");
    http_send_error(request, 503, "unavailable", NULL,
                    "the data store is not reachable; nothing was written, try again shortly");
}

void http_send_outcome_unknown(struct evhttp_request *request)
{
    evhttp_add_header(evhttp_request_get_output_headers(request), "Retry-After", "1");
    http_send_error(request, 503, "outcome_unknown", NULL,
                    "the data store stopped answering after the submission was sent to it, so "
                    "it may or may not have been queued; sending the same submission again is "
                    "safe (the same figures replace themselves, and with the same "
                    "Idempotency-Key the first attempt's answer is returned)");
}

const char *http_body(struct evhttp_request *request, size_t *length)
{
    struct evbuffer *input = evhttp_request_get_input_buffer(request);
    *length = evbuffer_get_length(input);
    /* evbuffer_pullup makes the body contiguous inside the request's own buffer. */
    const char *body = (const char *)evbuffer_pullup(input, -1);
    return body ? body : "";
}

bool http_query(struct evhttp_request *request, const char *name, char *out, size_t size)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(request);
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    if (!query)
        return false;
    /* Nothing to decode (the common case): found in place, nothing allocated. */
    const char *value = NULL;
    size_t length = 0;
    enum query_answer answer = query_find_plain(query, name, &value, &length);
    struct evkeyvalq parameters; /* evhttp's parse, when it had to decode; cleared below */
    bool parsed = answer == QUERY_DECLINED;
    if (parsed) {
        if (evhttp_parse_query_str(query, &parameters) != 0)
            return false;
        value = evhttp_find_header(&parameters, name);
        length = value ? strlen(value) : 0;
        answer = value ? QUERY_FOUND : QUERY_ABSENT;
    }
    /* A value too long for any valid answer is passed on as "", which every caller refuses
     * (rather than ignoring the parameter). */
    if (answer == QUERY_FOUND && length < size) {
        memcpy(out, value, length);
        out[length] = '\0';
    } else if (answer == QUERY_FOUND && size > 0) {
        out[0] = '\0';
    }
    if (parsed)
        evhttp_clear_headers(&parameters);
    return answer == QUERY_FOUND;
}

int http_query_indicator(const struct server *server, struct evhttp_request *request)
{
    char id[80] = "";
    if (!http_query(request, "indicator", id, sizeof(id))) {
        http_send_error(request, 422, "missing_indicator", "indicator",
                        "name the indicator: ?indicator=<id>");
        return -1;
    }
    int indicator = catalog_find_indicator(server->catalog, id);
    if (indicator < 0)
        http_send_error(request, 422, "unknown_indicator", "indicator", "no such indicator");
    return indicator;
}

const char *http_bearer(struct evhttp_request *request)
{
    return token_from_header(
        evhttp_find_header(evhttp_request_get_input_headers(request), "Authorization"));
}

bool http_is_admin_hash(const struct server *server, const char *hash)
{
    return server->admin_enabled && token_hash_equal(hash, server->admin_token_hash);
}

enum caller_role http_caller(const struct server *server, struct evhttp_request *request)
{
    const char *token = http_bearer(request);
    if (!token)
        return CALLER_NONE;
    if (server->config->admin_token && token_equal(token, server->config->admin_token))
        return CALLER_ADMIN;
    if (server->config->read_token && token_equal(token, server->config->read_token))
        return CALLER_READER;
    return CALLER_NONE;
}

bool http_check_read(const struct server *server, struct evhttp_request *request)
{
    if (!server->config->read_token || http_caller(server, request) != CALLER_NONE)
        return true;
    evhttp_add_header(evhttp_request_get_output_headers(request), "WWW-Authenticate",
                      "Bearer realm=\"edumon\"");
    http_send_error(request, 401, "unauthorized", "Authorization",
                    "reads need the read token: Authorization: Bearer <token>");
    return false;
}

static void on_connection_close(struct evhttp_connection *connection, void *arg)
{
    (void)connection;
    struct http_watch *watch = arg;
    watch->request = NULL;
}

void http_watch_start(struct http_watch *watch, struct evhttp_request *request)
{
    watch->request = request;
    struct evhttp_connection *connection = evhttp_request_get_connection(request);
    if (connection)
        evhttp_connection_set_closecb(connection, on_connection_close, watch);
}

struct evhttp_request *http_watch_end(struct http_watch *watch)
{
    struct evhttp_request *request = watch->request;
    if (request) {
        struct evhttp_connection *connection = evhttp_request_get_connection(request);
        if (connection)
            evhttp_connection_set_closecb(connection, NULL, NULL);
    }
    watch->request = NULL;
    return request;
}
