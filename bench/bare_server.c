/* bare_server.c -- the floor for the snapshot benchmark: a bare libevent evhttp server that
 * answers every GET with the same bytes, held in memory, and the same headers edumon-api sends
 * with a snapshot (Content-Type, ETag, Cache-Control), or 304 when If-None-Match carries the
 * ETag. No routing, no Redis, no JSON: what evhttp itself costs on this machine, one loop.
 *
 *   bare_server [--nodelay] PORT BODY_FILE ETAG
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

struct reply {
    char *body;
    size_t length;
    const char *etag;
};

static void on_request(struct evhttp_request *request, void *arg)
{
    const struct reply *reply = arg;
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
    int nodelay = argc > 1 && strcmp(argv[1], "--nodelay") == 0;
    if (nodelay) {
        argv[1] = argv[0];
        argv++;
        argc--;
    }
    if (argc != 4) {
        fprintf(stderr, "usage: %s [--nodelay] PORT BODY_FILE ETAG\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    struct reply reply = {NULL, 0, argv[3]};
    reply.body = read_file(argv[2], &reply.length);
    if (port <= 0 || port > 65535 || !reply.body) {
        fprintf(stderr, "%s: bad port or unreadable body file %s\n", argv[0], argv[2]);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    struct event_base *base = event_base_new();
    struct evhttp *http = base ? evhttp_new(base) : NULL;
    struct evhttp_bound_socket *listener =
        http ? evhttp_bind_socket_with_handle(http, "127.0.0.1", (ev_uint16_t)port) : NULL;
    if (!listener) {
        fprintf(stderr, "%s: cannot listen on 127.0.0.1:%d\n", argv[0], port);
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
    event_free(stop_term);
    event_free(stop_int);
    evhttp_free(http);
    event_base_free(base);
    free(reply.body);
    return 0;
}
