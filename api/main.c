/* main.c -- edumon-api: configuration, catalog, the event loops, and graceful shutdown.
 *
 * EDUMON_API_THREADS event loops (default 1) serve the port, one thread each (server.h); the
 * main thread runs the first loop and owns the signals. With more than one loop every loop
 * binds its own socket with SO_REUSEPORT and the kernel spreads new connections over them.
 *
 * SIGTERM/SIGINT start a drain on every loop: the listeners close (no new connections),
 * /readyz turns 503, parked long-polls are answered at once, and each loop exits after a short
 * grace period in which requests waiting on Redis (each bounded by the 1 s command deadline)
 * finish. The main thread tells the other loops through a pipe each, so no loop's base needs
 * libevent's locking. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "allocator.h"
#include "catalog.h"
#include "config.h"
#include "keys.h"
#include "log.h"
#include "server.h"

#define REDIS_TIMEOUT_MS 1000
/* Bodies of snapshot documents kept in memory (a district's snapshot is ~20 KB), shared out
 * between the loops. */
#define SNAPSHOT_CACHE_BYTES ((size_t)32 << 20)
/* Tokens and school records kept for submissions, per loop (~0.3 KB per slot and table pair:
 * 1.1 MB; the intake benchmark rotates 200 schools, a county has ~200 units). */
#define REGISTRY_CACHE_SLOTS 4096
#define DRAIN_GRACE_MS       1500
#define FIRST_REQUEST_MS     10000 /* a new connection must complete a request within this */

/* One event loop and the thread running it (the main thread runs loops[0]). */
struct loop {
    struct server *server; /* servers[i] */
    pthread_t thread;
    bool thread_started;
    int wake[2];              /* loops[1..]: the main thread writes a command, the loop reads */
    struct event *wake_event; /* loops[1..]: reads wake[0] */
};

/* What the main thread writes to another loop's pipe. */
#define COMMAND_DRAIN 'd' /* first signal: drain, then stop */
#define COMMAND_STOP  's' /* second signal or shutdown: stop now */

static struct server *servers; /* contiguous: every server sees them all (server.h) */
static struct loop *loops;
static size_t loop_count;

static void on_drain_done(evutil_socket_t fd, short events, void *arg)
{
    (void)fd, (void)events;
    struct server *server = arg;
    event_base_loopbreak(server->base);
}

/* Starts this loop's drain (see the top of the file). Runs on the loop's own thread. */
static void server_drain(struct server *server)
{
    if (server->draining)
        return;
    server->draining = true;
    if (server->listener) {
        evhttp_del_accept_socket(server->http, server->listener);
        server->listener = NULL;
    }
    snapshots_shutdown(server);
    struct timeval grace = {DRAIN_GRACE_MS / 1000, (DRAIN_GRACE_MS % 1000) * 1000L};
    if (event_base_once(server->base, -1, EV_TIMEOUT, on_drain_done, server, &grace) != 0)
        event_base_loopbreak(server->base);
}

static void on_wake(evutil_socket_t fd, short events, void *arg)
{
    (void)events;
    struct server *server = arg;
    char commands[16];
    ssize_t got = read(fd, commands, sizeof(commands));
    for (ssize_t i = 0; i < got; i++) {
        if (commands[i] == COMMAND_DRAIN)
            server_drain(server);
        else
            event_base_loopbreak(server->base);
    }
}

/* Sends a command to every running loop but the main thread's. */
static void tell_other_loops(char command)
{
    for (size_t i = 1; i < loop_count; i++) {
        if (!loops[i].thread_started)
            continue;
        ssize_t written;
        do
            written = write(loops[i].wake[1], &command, 1);
        while (written < 0 && errno == EINTR);
        if (written != 1)
            log_message(LOG_ERROR, "cannot reach event loop %zu: %s", i, strerror(errno));
    }
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
        tell_other_loops(COMMAND_STOP); /* a second signal: stop now */
        event_base_loopbreak(server->base);
        return;
    }
    log_message(LOG_INFO, "signal %d: draining", (int)signal_number);
    tell_other_loops(COMMAND_DRAIN);
    server_drain(server);
}

/* The listening socket of one loop: evhttp's own when there is one loop; with several, a
 * socket per loop bound with SO_REUSEPORT (which evhttp_bind_socket does not set). */
static struct evhttp_bound_socket *bind_listener(struct server *server, bool share_port)
{
    const struct config *config = server->config;
    if (!share_port)
        return evhttp_bind_socket_with_handle(server->http, config->listen_host,
                                              (ev_uint16_t)config->listen_port);
    struct evutil_addrinfo hints = {.ai_family = AF_UNSPEC,
                                    .ai_socktype = SOCK_STREAM,
                                    .ai_protocol = IPPROTO_TCP,
                                    .ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_ADDRCONFIG};
    char port[8];
    snprintf(port, sizeof(port), "%d", config->listen_port);
    struct evutil_addrinfo *addresses = NULL;
    if (evutil_getaddrinfo(config->listen_host, port, &hints, &addresses) != 0)
        return NULL;
    struct evconnlistener *listener = evconnlistener_new_bind(
        server->base, NULL, NULL,
        LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
        128, addresses->ai_addr, (int)addresses->ai_addrlen);
    evutil_freeaddrinfo(addresses);
    if (!listener)
        return NULL;
    struct evhttp_bound_socket *bound = evhttp_bind_listener(server->http, listener);
    if (!bound)
        evconnlistener_free(listener);
    return bound;
}

static int start_http(struct server *server, int max_connections, bool share_port)
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
    if (connection_guard_start(&server->guard, server->base, server->http, max_connections,
                               FIRST_REQUEST_MS) != 0)
        return -1;
    server->listener = bind_listener(server, share_port);
    if (!server->listener) {
        fprintf(stderr, "edumon-api: cannot listen on %s:%d\n", config->listen_host,
                config->listen_port);
        return -1;
    }
    /* Linux hands TCP_NODELAY on to accepted sockets: without it a response written in two
     * segments (headers, then a 20 KB snapshot) waits for the client's delayed ACK, ~40 ms. */
    int one = 1;
    setsockopt(evhttp_bound_socket_get_fd(server->listener), IPPROTO_TCP, TCP_NODELAY, &one,
               sizeof(one));
    return 0;
}

/* What every loop shares, owned by main. */
struct shared {
    const struct config *config;
    const struct catalog *catalog;
    struct rate_limit *rate_limit;
};

/* Sets up loop `index`: base, HTTP server and listener, caches, Redis connections, and (for
 * the loops after the first) the pipe the main thread commands it through. Returns 0, or -1
 * with what is set up left for loop_free. */
static int loop_start(struct loop *loop, size_t index, const struct shared *shared)
{
    struct server *server = loop->server;
    const struct config *config = shared->config;
    server->config = config;
    server->catalog = shared->catalog;
    server->rate_limit = shared->rate_limit;
    server->all_loops = servers;
    server->loop_count = loop_count;
    server->admin_enabled = config->admin_token != NULL;
    if (config->admin_token)
        token_hash(config->admin_token, strlen(config->admin_token), server->admin_token_hash);
    server->base = new_event_base();
    server->cache =
        snapshot_cache_new(shared->catalog->district_count, SNAPSHOT_CACHE_BYTES / loop_count);
    server->registry = registry_cache_new(REGISTRY_CACHE_SLOTS);
    /* The connection cap is the process's: each loop takes its share (rounded up). */
    int max_connections = (int)(((size_t)config->max_connections + loop_count - 1) / loop_count);
    if (!server->base || !server->cache || !server->registry ||
        start_http(server, max_connections, loop_count > 1) != 0 ||
        submit_batcher_init(&server->submits, server->base, &server->redis, &server->metrics) != 0)
        return -1;
    if (redis_async_start(&server->redis, server->base, &config->redis, REDIS_TIMEOUT_MS) != 0 ||
        redis_async_subscribe(&server->subscriber, server->base, &config->redis, CHANNEL_SNAPSHOTS,
                              snapshots_notify, server) != 0)
        return -1;
    if (index == 0)
        return 0;
    if (pipe(loop->wake) != 0)
        return -1;
    for (int end = 0; end < 2; end++)
        if (evutil_make_socket_nonblocking(loop->wake[end]) != 0 ||
            evutil_make_socket_closeonexec(loop->wake[end]) != 0)
            return -1;
    loop->wake_event =
        event_new(server->base, loop->wake[0], EV_READ | EV_PERSIST, on_wake, server);
    return loop->wake_event && event_add(loop->wake_event, NULL) == 0 ? 0 : -1;
}

static void loop_free(struct loop *loop)
{
    struct server *server = loop->server;
    snapshots_shutdown(server);
    submit_batcher_free(&server->submits);
    redis_async_stop(&server->subscriber);
    redis_async_stop(&server->redis);
    if (loop->wake_event)
        event_free(loop->wake_event);
    if (server->http)
        evhttp_free(server->http);
    connection_guard_stop(&server->guard);
    if (server->base)
        event_base_free(server->base);
    snapshot_cache_free(server->cache);
    registry_cache_free(server->registry);
    routes_submissions_free(server); /* after the base: no submission is in flight */
    for (int end = 0; end < 2; end++)
        if (loop->wake[end] >= 0)
            close(loop->wake[end]);
}

static void *run_loop(void *arg)
{
    struct loop *loop = arg;
    event_base_dispatch(loop->server->base);
    return NULL;
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
    allocator_configure();
    int status = EXIT_FAILURE;
    struct event *stop_term = NULL, *stop_int = NULL;
    loop_count = (size_t)config.api_threads;
    servers = calloc(loop_count, sizeof(*servers));
    loops = calloc(loop_count, sizeof(*loops));
    struct shared shared = {&config, catalog, rate_limit_new(config.rate_limit)};
    size_t started = 0;
    if (!servers || !loops || !shared.rate_limit)
        goto done;
    for (size_t i = 0; i < loop_count; i++) {
        loops[i].server = &servers[i];
        loops[i].wake[0] = loops[i].wake[1] = -1;
    }
    for (; started < loop_count; started++)
        if (loop_start(&loops[started], started, &shared) != 0) {
            started++; /* partly set up: loop_free it too */
            goto done;
        }
    struct server *server = &servers[0];
    stop_term = evsignal_new(server->base, SIGTERM, on_stop_signal, server);
    stop_int = evsignal_new(server->base, SIGINT, on_stop_signal, server);
    if (!stop_term || !stop_int || evsignal_add(stop_term, NULL) || evsignal_add(stop_int, NULL))
        goto done;
    for (size_t i = 1; i < loop_count; i++) {
        if (pthread_create(&loops[i].thread, NULL, run_loop, &loops[i]) != 0) {
            log_message(LOG_ERROR, "cannot start event loop thread %zu", i);
            goto done;
        }
        loops[i].thread_started = true;
    }
    log_message(LOG_INFO,
                "listening on %s:%d; catalog %.12s (%zu districts); admin %s; %zu event loop%s; "
                "allocator %s",
                config.listen_host, config.listen_port, catalog->hash, catalog->district_count,
                config.admin_token ? "enabled" : "disabled", loop_count, loop_count > 1 ? "s" : "",
                allocator_name());
    event_base_dispatch(server->base);
    log_message(LOG_INFO, "stopped");
    status = EXIT_SUCCESS;
done:
    if (loops && servers && !servers[0].draining)
        tell_other_loops(COMMAND_STOP); /* not a drain: setup failed, or the loop broke */
    for (size_t i = 1; loops && i < loop_count; i++)
        if (loops[i].thread_started)
            pthread_join(loops[i].thread, NULL);
    if (stop_term)
        event_free(stop_term);
    if (stop_int)
        event_free(stop_int);
    /* Drained: a further SIGTERM/SIGINT (an orchestrator repeating itself) must not cut the
     * teardown short; it has nothing left to wait for. (After event_free, which restores the
     * handlers that were there before evsignal_add: the defaults.) */
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    for (size_t i = 0; loops && i < started; i++)
        loop_free(&loops[i]);
    free(loops);
    free(servers);
    rate_limit_free(shared.rate_limit);
    catalog_free(catalog);
    return status;
}
