/* router.c -- maps method and path to a route (evhttp's own callbacks match whole paths only,
 * and edumon's paths carry ids). Every response is timed for /metrics through the request's
 * completion callback, which carries the route and start time packed into its argument so
 * that timing costs no allocation. */
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "jsonutil.h"
#include "log.h"
#include "server.h"

/* The route travels in the low 4 bits of the completion callback's argument. */
_Static_assert(ROUTE_COUNT <= 16, "route ids must fit in 4 bits");

/* Per event loop (EDUMON_API_THREADS): a request is started and completed on its loop's thread. */
static _Thread_local struct metrics *timed_metrics;
static _Thread_local struct timeval process_start;

static uint64_t elapsed_us(void)
{
    struct timeval now;
    gettimeofday(&now, NULL);
    return (uint64_t)(now.tv_sec - process_start.tv_sec) * 1000000u +
           (uint64_t)(now.tv_usec - process_start.tv_usec);
}

static const char *method_name(enum evhttp_cmd_type method)
{
    switch (method) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    default:
        return "OTHER";
    }
}

static void on_complete(struct evhttp_request *request, void *arg)
{
    uintptr_t packed = (uintptr_t)arg;
    enum route_id route = (enum route_id)(packed & 15u);
    uint64_t start = (uint64_t)(packed >> 4);
    double seconds = (double)(elapsed_us() - start) / 1e6;
    int status = evhttp_request_get_response_code(request);
    metrics_observe(timed_metrics, route, status, seconds);
    enum log_level level = status >= 500 ? LOG_WARN : LOG_INFO;
    if (!log_enabled(level))
        return; /* formatting it costs ~4 000 instructions per request (callgrind) */
    /* The access log: route, method, path (no query string: it may carry nothing secret today,
     * but tokens never travel there and figures never appear in paths), status, latency. */
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(request);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    char escaped[256], fields[512];
    json_escape(path ? path : "", escaped, sizeof(escaped));
    snprintf(fields, sizeof(fields),
             "\"route\":\"%s\",\"method\":\"%s\",\"path\":\"%s\",\"status\":%d,\"ms\":%.3f",
             metrics_route_name(route), method_name(evhttp_request_get_command(request)), escaped,
             status, seconds * 1e3);
    log_fields(level, "request", fields);
}

static void start_timing(struct server *server, struct evhttp_request *request, enum route_id route)
{
    if (!timed_metrics) {
        timed_metrics = &server->metrics;
        gettimeofday(&process_start, NULL);
    }
    uintptr_t packed = ((uintptr_t)elapsed_us() << 4) | (uintptr_t)route;
    /* The route and start time travel in the callback argument itself: no allocation. */
    evhttp_request_set_on_complete_cb(request, on_complete,
                                      (void *)packed); // NOLINT(performance-no-int-to-ptr)
}

/* Splits "/v1/a/b/c" into at most `max` segments (pointers into `copy`). */
static int split_path(char *copy, char **segments, int max)
{
    int count = 0;
    char *save = NULL;
    for (char *part = strtok_r(copy, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
        if (count == max)
            return -1;
        segments[count++] = part;
    }
    return count;
}

static bool method_is(struct evhttp_request *request, enum evhttp_cmd_type method)
{
    return evhttp_request_get_command(request) == method;
}

static void not_allowed(struct evhttp_request *request, const char *allow)
{
    evhttp_add_header(evhttp_request_get_output_headers(request), "Allow", allow);
    http_send_error(request, 405, "method_not_allowed", NULL, "method not allowed here");
}

static void not_found(struct evhttp_request *request)
{
    http_send_error(request, 404, "not_found", NULL, "no such resource");
}

static void route_district(struct server *server, struct evhttp_request *request, char **segments,
                           int count)
{
    /* segments: v1 districts {id} [snapshot|history|schools|balance|snapshot.csv|balance.csv]
     * or v1 districts {id} schools {school} figures */
    int district = catalog_find_district(server->catalog, segments[2]);
    if (district < 0) {
        http_send_error(request, 404, "unknown_district", "district", "no such district");
        return;
    }
    if (!method_is(request, EVHTTP_REQ_GET) && !method_is(request, EVHTTP_REQ_HEAD)) {
        not_allowed(request, "GET, HEAD");
        return;
    }
    if (count == 3) {
        start_timing(server, request, ROUTE_CATALOG);
        routes_district_get(server, request, district);
    } else if (count == 4 && strcmp(segments[3], "snapshot") == 0) {
        start_timing(server, request, ROUTE_SNAPSHOT);
        routes_snapshot_get(server, request, district);
    } else if (count == 4 && strcmp(segments[3], "history") == 0) {
        start_timing(server, request, ROUTE_HISTORY);
        routes_history_get(server, request, district);
    } else if (count == 4 && strcmp(segments[3], "schools") == 0) {
        start_timing(server, request, ROUTE_ADMIN);
        routes_schools_list(server, request, district);
    } else if (count == 4 && strcmp(segments[3], "balance") == 0) {
        start_timing(server, request, ROUTE_SNAPSHOT);
        routes_document_get(server, request, district, DOCUMENT_BALANCE, FORMAT_JSON);
    } else if (count == 4 && strcmp(segments[3], "snapshot.csv") == 0) {
        start_timing(server, request, ROUTE_SNAPSHOT);
        routes_document_get(server, request, district, DOCUMENT_SNAPSHOT, FORMAT_CSV);
    } else if (count == 4 && strcmp(segments[3], "balance.csv") == 0) {
        start_timing(server, request, ROUTE_SNAPSHOT);
        routes_document_get(server, request, district, DOCUMENT_BALANCE, FORMAT_CSV);
    } else if (count == 6 && strcmp(segments[3], "schools") == 0 &&
               strcmp(segments[5], "figures") == 0) {
        start_timing(server, request, ROUTE_HISTORY);
        routes_school_figures_get(server, request, district, segments[4]);
    } else {
        not_found(request);
    }
}

static void route_v1(struct server *server, struct evhttp_request *request, char **segments,
                     int count)
{
    const char *resource = count >= 2 ? segments[1] : "";
    if (strcmp(resource, "submissions") == 0 && count == 2) {
        start_timing(server, request, ROUTE_SUBMIT);
        if (method_is(request, EVHTTP_REQ_POST))
            routes_submissions_post(server, request);
        else
            not_allowed(request, "POST");
    } else if (strcmp(resource, "submissions") == 0 && count == 3) {
        start_timing(server, request, ROUTE_SUBMISSION_STATUS);
        if (method_is(request, EVHTTP_REQ_GET))
            routes_submission_get(server, request, segments[2]);
        else
            not_allowed(request, "GET");
    } else if (strcmp(resource, "schools") == 0 && count == 2) {
        start_timing(server, request, ROUTE_ADMIN);
        if (method_is(request, EVHTTP_REQ_POST))
            routes_schools_post(server, request);
        else
            not_allowed(request, "POST");
    } else if (strcmp(resource, "schools") == 0 && count == 4 &&
               strcmp(segments[3], "token") == 0) {
        start_timing(server, request, ROUTE_ADMIN);
        if (method_is(request, EVHTTP_REQ_POST))
            routes_token_rotate(server, request, segments[2]);
        else
            not_allowed(request, "POST");
    } else if (count == 2 && !method_is(request, EVHTTP_REQ_GET) &&
               !method_is(request, EVHTTP_REQ_HEAD)) {
        not_allowed(request, "GET, HEAD");
    } else if (strcmp(resource, "districts") == 0 && count == 2) {
        start_timing(server, request, ROUTE_CATALOG);
        routes_districts_list(server, request);
    } else if (strcmp(resource, "districts") == 0 && count >= 3 && count <= 6) {
        route_district(server, request, segments, count);
    } else if (strcmp(resource, "rankings") == 0 && count == 2) {
        start_timing(server, request, ROUTE_HISTORY);
        routes_rankings_get(server, request);
    } else if (strcmp(resource, "elements") == 0 && count == 2) {
        start_timing(server, request, ROUTE_CATALOG);
        routes_elements(server, request);
    } else if (strcmp(resource, "indicators") == 0 && count == 2) {
        start_timing(server, request, ROUTE_CATALOG);
        routes_indicators(server, request);
    } else {
        start_timing(server, request, ROUTE_OTHER);
        not_found(request);
    }
}

/* libevent 2.1 takes the first of several Content-Length headers; a proxy in front may take
 * another, which is how requests are smuggled. Refuse them (RFC 9112 §6.3). */
static bool has_conflicting_lengths(struct evhttp_request *request)
{
    int count = 0;
    const struct evkeyval *header;
    for (header = evhttp_request_get_input_headers(request)->tqh_first; header;
         header = header->next.tqe_next) {
        if (strcasecmp(header->key, "Content-Length") == 0)
            count++;
    }
    return count > 1;
}

void route_request(struct evhttp_request *request, void *arg)
{
    struct server *server = arg;
    http_add_date(request);
    struct evhttp_connection *connection = evhttp_request_get_connection(request);
    if (connection)
        connection_guard_served(&server->guard, evhttp_connection_get_bufferevent(connection));
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(request);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (!path || strlen(path) > 512) {
        http_send_error(request, path ? 414 : 400, "bad_path", NULL, "bad request path");
        return;
    }
    if (server->draining)
        evhttp_add_header(evhttp_request_get_output_headers(request), "Connection", "close");
    if (has_conflicting_lengths(request)) {
        start_timing(server, request, ROUTE_OTHER);
        http_send_error(request, 400, "bad_request", "Content-Length",
                        "more than one Content-Length header (request smuggling)");
        return;
    }
    char copy[520];
    memcpy(copy, path, strlen(path) + 1);
    char *segments[6];
    int count = split_path(copy, segments, 6);
    if (count < 0) {
        start_timing(server, request, ROUTE_OTHER);
        not_found(request);
        return;
    }
    if (count >= 1 && strcmp(segments[0], "v1") == 0) {
        route_v1(server, request, segments, count);
        return;
    }
    bool get = method_is(request, EVHTTP_REQ_GET) || method_is(request, EVHTTP_REQ_HEAD);
    if (count == 1 && strcmp(segments[0], "healthz") == 0 && get) {
        start_timing(server, request, ROUTE_HEALTH);
        routes_healthz(server, request);
    } else if (count == 1 && strcmp(segments[0], "readyz") == 0 && get) {
        start_timing(server, request, ROUTE_HEALTH);
        routes_readyz(server, request);
    } else if (count == 1 && strcmp(segments[0], "metrics") == 0 && get) {
        start_timing(server, request, ROUTE_METRICS);
        routes_metrics(server, request);
    } else if (get) {
        start_timing(server, request, ROUTE_STATIC);
        routes_static(server, request, path);
    } else {
        start_timing(server, request, ROUTE_OTHER);
        not_allowed(request, "GET, HEAD");
    }
}
