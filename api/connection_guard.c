/* connection_guard.c -- see connection_guard.h. */
#include "connection_guard.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/http.h>

#include "jsonutil.h"
#include "log.h"

#define SWEEP_INTERVAL_MS 250

static struct bufferevent *on_new_connection(struct event_base *base, void *arg)
{
    struct connection_guard *guard = arg;
    struct bufferevent *bufferevent = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!bufferevent)
        return NULL;
    if (guard->count == guard->capacity) {
        size_t capacity = guard->capacity ? guard->capacity * 2 : 256;
        struct guarded_connection *grown = realloc(guard->connections, capacity * sizeof(*grown));
        if (!grown)
            return bufferevent; /* unguarded rather than refused: memory is short anyway */
        guard->connections = grown;
        guard->capacity = capacity;
    }
    bufferevent_incref(bufferevent);
    guard->connections[guard->count++] =
        (struct guarded_connection){bufferevent, json_now_ms(), false};
    return bufferevent;
}

/* evhttp keeps callbacks on a connection's bufferevent for as long as it uses it, and
 * bufferevent_free() clears them: with our reference still held, that is how we see it go. */
static bool owned_by_evhttp(struct bufferevent *bufferevent)
{
    bufferevent_data_cb read_callback = NULL, write_callback = NULL;
    bufferevent_event_cb event_callback = NULL;
    bufferevent_getcb(bufferevent, &read_callback, &write_callback, &event_callback, NULL);
    return read_callback || write_callback || event_callback;
}

static void close_connection(struct bufferevent *bufferevent)
{
    evutil_socket_t fd = bufferevent_getfd(bufferevent);
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
}

static void on_sweep(evutil_socket_t fd, short events, void *arg)
{
    (void)fd, (void)events;
    struct connection_guard *guard = arg;
    long long now = json_now_ms();
    size_t kept = 0;
    for (size_t i = 0; i < guard->count; i++) {
        struct guarded_connection *connection = &guard->connections[i];
        if (!owned_by_evhttp(connection->bufferevent)) {
            /* evhttp has freed it; our reference was the last, so this closes the socket. */
            bufferevent_decref(connection->bufferevent);
            continue;
        }
        if (!connection->served && now - connection->accepted_ms > guard->first_request_ms) {
            guard->too_slow++;
            close_connection(connection->bufferevent);
        }
        guard->connections[kept++] = *connection;
    }
    guard->count = kept;
    /* Over the cap: the newest connections go (the oldest are the ones being served). */
    for (size_t i = guard->count; i > (size_t)guard->max_connections; i--) {
        struct guarded_connection *connection = &guard->connections[i - 1];
        if (!connection->served) {
            guard->refused++;
            close_connection(connection->bufferevent);
        }
    }
}

int connection_guard_start(struct connection_guard *guard, struct event_base *base,
                           struct evhttp *http, int max_connections, int first_request_ms)
{
    memset(guard, 0, sizeof(*guard));
    guard->base = base;
    guard->max_connections = max_connections;
    guard->first_request_ms = first_request_ms;
    guard->sweep = event_new(base, -1, EV_PERSIST, on_sweep, guard);
    struct timeval interval = {0, SWEEP_INTERVAL_MS * 1000L};
    if (!guard->sweep || event_add(guard->sweep, &interval) != 0)
        return -1;
    evhttp_set_bevcb(http, on_new_connection, guard);
    return 0;
}

void connection_guard_stop(struct connection_guard *guard)
{
    if (guard->sweep)
        event_free(guard->sweep);
    guard->sweep = NULL;
    for (size_t i = 0; i < guard->count; i++)
        bufferevent_decref(guard->connections[i].bufferevent);
    free(guard->connections);
    guard->connections = NULL;
    guard->count = guard->capacity = 0;
}

void connection_guard_served(struct connection_guard *guard, struct bufferevent *bufferevent)
{
    /* Newest first: a first request usually arrives right after its connection. */
    for (size_t i = guard->count; i > 0; i--) {
        if (guard->connections[i - 1].bufferevent == bufferevent) {
            guard->connections[i - 1].served = true;
            return;
        }
    }
}

size_t connection_guard_count(const struct connection_guard *guard)
{
    return guard->count;
}
