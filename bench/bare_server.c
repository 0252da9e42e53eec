/* bare_server.c -- the floors of the snapshot and intake benchmarks: a bare libevent evhttp
 * server, one loop, no routing, no JSON parsing, no checks: what evhttp itself costs here.
 *
 *   GET   the same bytes, held in memory, with the headers edumon-api sends with a snapshot
 *         (Content-Type, ETag, Cache-Control), or 304 when If-None-Match carries the ETag;
 *   POST  202 with a Location header and a body of the shape edumon-api answers a submission
 *         with, after making the request body contiguous as edumon-api does. With --xadd
 *         REDIS_PORT, the 202 waits for one XADD of the body (hiredis' libevent adapter, one
 *         command per request): the floor of "answer once Redis holds it" through evhttp.
 *
 *   bare_server [--nodelay] [--xadd REDIS_PORT] PORT BODY_FILE ETAG
 *
 * Listens on 127.0.0.1:PORT until SIGTERM/SIGINT. Used only by bench/run.sh.
 *
 * evhttp leaves Nagle's algorithm on, and a bufferevent writes at most 16 KiB at a time: a
 * response over 16 KiB leaves as a full segment plus a small one that Nagle holds until the
 * first is acknowledged, which a client waiting for the rest acknowledges only after its
 * delayed-ACK timer (40 ms on Linux). --nodelay sets TCP_NODELAY on the listening socket
 * (accepted sockets inherit it), which is the floor evhttp can reach. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>

struct reply {
    char *body;
    size_t length;
    const char *etag;
    redisAsyncContext *redis; /* --xadd: where POST bodies go; NULL otherwise */
    unsigned long long accepted;
};

/* A 202 the size and shape of edumon-api's (Location, JSON body naming the entry). */
static void send_accepted(struct evhttp_request *request, const char *id)
{
    char location[128], body[256];
    snprintf(location, sizeof(location), "/v1/submissions/%s", id);
    int length = snprintf(body, sizeof(body),
                          "{\"id\":\"%s\",\"school\":\"bench-school-0000\",\"period\":"
                          "\"2024\",\"accepted\":30}\n",
                          id);
    struct evkeyvalq *headers = evhttp_request_get_output_headers(request);
    evhttp_add_header(headers, "Location", location);
    evhttp_add_header(headers, "Content-Type", "application/json; charset=utf-8");
    evhttp_add_header(headers, "Cache-Control", "no-store");
    struct evbuffer *buffer = evbuffer_new();
    if (buffer)
        evbuffer_add(buffer, body, (size_t)length);
    evhttp_send_reply(request, 202, NULL, buffer);
    if (buffer)
        evbuffer_free(buffer);
}

/* A request waiting for its XADD; `request` is cleared when the client goes first (evhttp
 * frees the request with its connection), as edumon-api's http_watch does. */
struct pending {
    struct evhttp_request *request;
};

static void on_client_gone(struct evhttp_connection *connection, void *arg)
{
    (void)connection;
    ((struct pending *)arg)->request = NULL;
}

static void on_xadd(redisAsyncContext *redis, void *reply_object, void *privdata)
{
    (void)redis;
    const redisReply *added = reply_object;
    struct pending *pending = privdata;
    struct evhttp_request *request = pending->request;
    free(pending);
    if (!request)
        return;
    evhttp_connection_set_closecb(evhttp_request_get_connection(request), NULL, NULL);
    if (!added || added->type != REDIS_REPLY_STRING)
        evhttp_send_error(request, 503, NULL);
    else
        send_accepted(request, added->str);
}

static void on_post(struct evhttp_request *request, struct reply *reply)
{
    if (!evhttp_find_header(evhttp_request_get_input_headers(request), "Authorization")) {
        evhttp_send_error(request, 401, NULL);
        return;
    }
    struct evbuffer *input = evhttp_request_get_input_buffer(request);
    size_t length = evbuffer_get_length(input);
    const char *body = (const char *)evbuffer_pullup(input, -1);
    if (!body)
        body = "", length = 0;
    if (!reply->redis) {
        char id[48];
        snprintf(id, sizeof(id), "1700000000000-%llu", reply->accepted++);
        send_accepted(request, id);
        return;
    }
    struct pending *pending = malloc(sizeof(*pending));
    if (!pending) {
        evhttp_send_error(request, 503, NULL);
        return;
    }
    pending->request = request;
    evhttp_connection_set_closecb(evhttp_request_get_connection(request), on_client_gone, pending);
    if (redisAsyncCommand(reply->redis, on_xadd, pending, "XADD bench-floor * body %b", body,
                          length) != REDIS_OK) {
        evhttp_connection_set_closecb(evhttp_request_get_connection(request), NULL, NULL);
        free(pending);
        evhttp_send_error(request, 503, NULL);
    }
}

static void on_request(struct evhttp_request *request, void *arg)
{
    struct reply *reply = arg;
    if (evhttp_request_get_command(request) == EVHTTP_REQ_POST) {
        on_post(request, reply);
        return;
    }
    struct evkeyvalq *headers = evhttp_request_get_output_headers(request);
    const char *match =
        evhttp_find_header(evhttp_request_get_input_headers(request), "If-None-Match");
    evhttp_add_header(headers, "ETag", reply->etag);
    evhttp_add_header(headers, "Cache-Control", "no-cache");
    if (match && strcmp(match, reply->etag) == 0) {
        evhttp_send_reply(request, 304, NULL, NULL);
        return;
    }
    evhttp_add_header(headers, "Content-Type", "application/json; charset=utf-8");
    /* Copied into a fresh buffer per request, as edumon-api does with the body it gets from
     * Redis: the floor includes that memcpy, not a zero-copy trick the API could not use. */
    struct evbuffer *buffer = evbuffer_new();
    if (buffer)
        evbuffer_add(buffer, reply->body, reply->length);
    evhttp_send_reply(request, 200, NULL, buffer);
    if (buffer)
        evbuffer_free(buffer);
}

static void on_stop(evutil_socket_t signal_number, short events, void *arg)
{
    (void)signal_number, (void)events;
    event_base_loopbreak(arg);
}

static char *read_file(const char *path, size_t *length)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        return NULL;
    char *data = NULL;
    if (fseek(file, 0, SEEK_END) == 0) {
        long size = ftell(file);
        if (size >= 0 && fseek(file, 0, SEEK_SET) == 0) {
            data = malloc((size_t)size + 1);
            if (data && fread(data, 1, (size_t)size, file) != (size_t)size) {
                free(data);
                data = NULL;
            }
            *length = (size_t)size;
        }
    }
    fclose(file);
    return data;
}

int main(int argc, char **argv)
{
    const char *program = argv[0];
    int nodelay = 0, redis_port = 0;
    for (; argc > 1 && strncmp(argv[1], "--", 2) == 0; argc--, argv++) {
        if (strcmp(argv[1], "--nodelay") == 0) {
            nodelay = 1;
        } else if (strcmp(argv[1], "--xadd") == 0 && argc > 2) {
            redis_port = atoi(argv[2]);
            argc--, argv++;
        } else {
            break;
        }
    }
    if (argc != 4) {
        fprintf(stderr, "usage: %s [--nodelay] [--xadd REDIS_PORT] PORT BODY_FILE ETAG\n", program);
        return 2;
    }
    int port = atoi(argv[1]);
    struct reply reply = {NULL, 0, argv[3], NULL, 0};
    reply.body = read_file(argv[2], &reply.length);
    if (port <= 0 || port > 65535 || !reply.body || redis_port < 0 || redis_port > 65535) {
        fprintf(stderr, "%s: bad port or unreadable body file %s\n", program, argv[2]);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    /* The same loop as edumon-api's: epoll with libevent's changelist (api/main.c). */
    struct event_config *config = event_config_new();
    if (config)
        event_config_set_flag(config, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    struct event_base *base = config ? event_base_new_with_config(config) : NULL;
    if (config)
        event_config_free(config);
    if (base && redis_port > 0) {
        reply.redis = redisAsyncConnect("127.0.0.1", redis_port);
        if (!reply.redis || reply.redis->err ||
            redisLibeventAttach(reply.redis, base) != REDIS_OK) {
            fprintf(stderr, "%s: cannot connect to Redis on port %d\n", program, redis_port);
            return 1;
        }
    }
    struct evhttp *http = base ? evhttp_new(base) : NULL;
    struct evhttp_bound_socket *listener =
        http ? evhttp_bind_socket_with_handle(http, "127.0.0.1", (ev_uint16_t)port) : NULL;
    if (!listener) {
        fprintf(stderr, "%s: cannot listen on 127.0.0.1:%d\n", program, port);
        return 1;
    }
    int one = 1;
    if (nodelay && setsockopt(evhttp_bound_socket_get_fd(listener), IPPROTO_TCP, TCP_NODELAY, &one,
                              sizeof(one)) != 0) {
        perror("setsockopt TCP_NODELAY");
        return 1;
    }
    evhttp_set_gencb(http, on_request, &reply);
    evhttp_set_timeout(http, 30);
    struct event *stop_term = evsignal_new(base, SIGTERM, on_stop, base);
    struct event *stop_int = evsignal_new(base, SIGINT, on_stop, base);
    if (!stop_term || !stop_int || evsignal_add(stop_term, NULL) || evsignal_add(stop_int, NULL))
        return 1;
    event_base_dispatch(base);
    if (reply.redis)
        redisAsyncFree(reply.redis);
    event_free(stop_term);
    event_free(stop_int);
    evhttp_free(http);
    event_base_free(base);
    free(reply.body);
    return 0;
}
