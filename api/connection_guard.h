/* connection_guard.h -- a cap on concurrent connections and a deadline for a connection's
 * first request, which libevent 2.1's evhttp offers neither of.
 *
 * evhttp asks us (evhttp_set_bevcb) for the bufferevent of every accepted connection; we keep
 * a reference to each one. When evhttp is done with a connection it frees the bufferevent,
 * which clears its callbacks; our reference keeps the object (and its socket) alive until a
 * sweep every 250 ms sees that, counts the connection gone and drops the last reference, which
 * closes the socket. (A connection evhttp closes therefore lingers up to 250 ms; responses
 * carry Content-Length, so clients do not wait for it.) The sweep shuts down (shutdown(2), so
 * evhttp sees the end and frees the connection itself) every connection over the cap, newest first,
 * and every connection that has not completed a first request within the deadline (slowloris:
 * headers trickled a byte at a time never finish). A keep-alive connection that has been
 * served is left to evhttp's idle timeout. */
#ifndef EDUMON_API_CONNECTION_GUARD_H
#define EDUMON_API_CONNECTION_GUARD_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

struct guarded_connection {
    struct bufferevent *bufferevent;
    long long accepted_ms;
    bool served;
};

struct connection_guard {
    struct event_base *base;
    int max_connections;
    int first_request_ms;
    struct guarded_connection *connections;
    size_t count, capacity;
    struct event *sweep;
    unsigned long long refused, too_slow;
};

/* Starts the sweep and installs the bufferevent callback on `http`. Returns 0, or -1. */
struct evhttp;
int connection_guard_start(struct connection_guard *guard, struct event_base *base,
                           struct evhttp *http, int max_connections, int first_request_ms);
void connection_guard_stop(struct connection_guard *guard);

/* Notes that the connection of `bufferevent` has had a request routed. */
void connection_guard_served(struct connection_guard *guard, struct bufferevent *bufferevent);

/* Live connections as of the last sweep. */
size_t connection_guard_count(const struct connection_guard *guard);

#endif
