/* main.c -- edumon-api: configuration, catalog, the event loop, and graceful shutdown.
 *
 * SIGTERM/SIGINT start a drain: the listener closes (no new connections), /readyz turns 503,
 * parked long-polls are answered at once, and the loop exits after a short grace period in
 * which requests waiting on Redis (each bounded by the 1 s command deadline) finish. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/http.h>

#include "catalog.h"
#include "config.h"
#include "keys.h"
#include "log.h"
#include "server.h"

#define REDIS_TIMEOUT_MS 1000
/* Bodies of snapshot documents kept in memory (a district's snapshot is ~20 KB). */
#define SNAPSHOT_CACHE_BYTES ((size_t)32 << 20)
/* Tokens and school records kept for submissions (~0.3 KB per slot and table pair: 1.1 MB;
 * the intake benchmark rotates 200 schools, a county has ~200 units). */
#define REGISTRY_CACHE_SLOTS 4096
#define DRAIN_GRACE_MS       1500
#define FIRST_REQUEST_MS     10000 /* a new connection must complete a request within this */

static struct evhttp_bound_socket *listener;

static void on_drain_done(evutil_socket_t fd, short events, void *arg)
{
    (void)fd, (void)events;
    struct server *server = arg;
    event_base_loopbreak(server->base);
}

/* The loop, with libevent's changelist on epoll: evhttp and hiredis add and remove read/write
 * interest several times per request (read off, write on, write off, read on); the changelist
 * folds the changes made during one pass into at most one epoll_ctl per socket. Safe here: no
 * socket is dup()ed or shared with another process. */
static struct event_base *new_event_base(void)
{
    struct event_config *config = event_config_new();
    if (!config)
        return NULL;
    event_config_set_flag(config, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    struct event_base *base = event_base_new_with_config(config);
    event_config_free(config);
    return base;
}

static void on_stop_signal(evutil_socket_t signal_number, short events, void *arg)
{
    (void)events;
    struct server *server = arg;
    if (server->draining) {
        event_base_loopbreak(server->base); /* a second signal: stop now */
        return;
    }
    log_message(LOG_INFO, "signal %d: draining", (int)signal_number);
    server->draining = true;
    if (listener) {
        evhttp_del_accept_socket(server->http, listener);
        listener = NULL;
    }
    snapshots_shutdown(server);
    struct timeval grace = {DRAIN_GRACE_MS / 1000, (DRAIN_GRACE_MS % 1000) * 1000L};
    event_base_once(server->base, -1, EV_TIMEOUT, on_drain_done, server, &grace);
}

static int start_http(struct server *server)
{
    const struct config *config = server->config;
    server->http = evhttp_new(server->base);
    if (!server->http)
        return -1;
    evhttp_set_gencb(server->http, route_request, server);
    evhttp_set_timeout(server->http, 30); /* idle keep-alive and slow bodies */
    evhttp_set_max_headers_size(server->http, 16384);
    /* libevent refuses far larger bodies itself; up to 4x the limit we read the body and
     * answer with our own JSON 413. */
    evhttp_set_max_body_size(server->http, (ev_ssize_t)config->max_body_bytes * 4);
    evhttp_set_allowed_methods(server->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                                 EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                                 EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
    if (connection_guard_start(&server->guard, server->base, server->http, config->max_connections,
                               FIRST_REQUEST_MS) != 0)
        return -1;
    listener = evhttp_bind_socket_with_handle(server->http, config->listen_host,
                                              (ev_uint16_t)config->listen_port);
    if (!listener) {
        fprintf(stderr, "edumon-api: cannot listen on %s:%d\n", config->listen_host,
                config->listen_port);
        return -1;
    }
    /* Linux hands TCP_NODELAY on to accepted sockets: without it a response written in two
     * segments (headers, then a 20 KB snapshot) waits for the client's delayed ACK, ~40 ms. */
    int one = 1;
    setsockopt(evhttp_bound_socket_get_fd(listener), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return 0;
}

int main(int argc, char **argv)
{
    struct config config;
    enum config_result loaded = config_load(&config, CONFIG_API, argc, argv);
    if (loaded != CONFIG_OK)
        return loaded == CONFIG_EXIT_SUCCESS ? EXIT_SUCCESS : EXIT_FAILURE;
    log_init("api", (enum log_level)config.log_level);
    char error[512];
    struct catalog *catalog = catalog_load_packed(config.catalog_dir, error, sizeof(error));
    if (!catalog) {
        fprintf(stderr, "%s: %s (EDUMON_CATALOG=%s)\n", argv[0], error, config.catalog_dir);
        return EXIT_FAILURE;
    }
    signal(SIGPIPE, SIG_IGN);
    static struct server server;
    server.config = &config;
    server.catalog = catalog;
    server.base = new_event_base();
    server.rate_limit = calloc(1, sizeof(*server.rate_limit));
    if (server.rate_limit)
        server.rate_limit->per_minute = config.rate_limit;
    int status = EXIT_FAILURE;
    struct event *stop_term = NULL, *stop_int = NULL;
    server.cache = snapshot_cache_new(catalog->district_count, SNAPSHOT_CACHE_BYTES);
    server.registry = registry_cache_new(REGISTRY_CACHE_SLOTS);
    server.admin_enabled = config.admin_token != NULL;
    if (config.admin_token)
        token_hash(config.admin_token, strlen(config.admin_token), server.admin_token_hash);
    if (!server.base || !server.rate_limit || !server.cache || !server.registry ||
        start_http(&server) != 0 ||
        submit_batcher_init(&server.submits, server.base, &server.redis) != 0)
        goto done;
    if (redis_async_start(&server.redis, server.base, &config.redis, REDIS_TIMEOUT_MS) != 0 ||
        redis_async_subscribe(&server.subscriber, server.base, &config.redis, CHANNEL_SNAPSHOTS,
                              snapshots_notify, &server) != 0)
        goto done;
    stop_term = evsignal_new(server.base, SIGTERM, on_stop_signal, &server);
    stop_int = evsignal_new(server.base, SIGINT, on_stop_signal, &server);
    if (!stop_term || !stop_int || evsignal_add(stop_term, NULL) || evsignal_add(stop_int, NULL))
        goto done;
    log_message(LOG_INFO, "listening on %s:%d; catalog %.12s (%zu districts); admin %s",
                config.listen_host, config.listen_port, catalog->hash, catalog->district_count,
                config.admin_token ? "enabled" : "disabled");
    event_base_dispatch(server.base);
    log_message(LOG_INFO, "stopped");
    status = EXIT_SUCCESS;
done:
    if (stop_term)
        event_free(stop_term);
    if (stop_int)
        event_free(stop_int);
    /* Drained: a further SIGTERM/SIGINT (an orchestrator repeating itself) must not cut the
     * teardown short; it has nothing left to wait for. (After event_free, which restores the
     * handlers that were there before evsignal_add: the defaults.) */
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    snapshots_shutdown(&server);
    submit_batcher_free(&server.submits);
    redis_async_stop(&server.subscriber);
    redis_async_stop(&server.redis);
    if (server.http)
        evhttp_free(server.http);
    connection_guard_stop(&server.guard);
    if (server.base)
        event_base_free(server.base);
    free(server.rate_limit);
    snapshot_cache_free(server.cache);
    registry_cache_free(server.registry);
    catalog_free(catalog);
    return status;
}
