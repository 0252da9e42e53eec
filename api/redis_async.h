/* redis_async.h -- the API's connections to Redis, on the server's event loop.
 *
 * hiredis' async context attached to libevent, plus what hiredis 0.14 lacks: a deadline on
 * every command (a stopped Redis must cost a client 503 within a second, never a hang),
 * a connect timeout, and reconnection with exponential backoff. Every command's callback is
 * called exactly once: with the reply, or with NULL when the deadline passed, the connection
 * dropped, or Redis is not connected at all. */
#ifndef EDUMON_API_REDIS_ASYNC_H
#define EDUMON_API_REDIS_ASYNC_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "config.h"

/* `reply` is borrowed (hiredis frees it after the callback); NULL means no answer. */
typedef void (*redis_callback)(redisReply *reply, void *privdata);

/* Called for every message on a subscribed channel: `payload` is borrowed. */
typedef void (*redis_message_callback)(const char *channel, const char *payload, void *privdata);

struct redis_async {
    struct event_base *base;
    const struct redis_address *address;
    redisAsyncContext *context;
    bool connected;
    bool subscribed; /* subscriber mode: Redis confirmed the SUBSCRIBE on this connection */
    /* Redis has answered on this connection and nothing has timed out since: a write sent now
     * will most likely be answered. False from connect until the first reply (a Redis that
     * is frozen still accepts TCP connections) and after every timeout. */
    bool answering;
    int backoff_ms;
    struct event *reconnect_timer, *connect_timer;
    long long clock_offset_ms; /* Redis TIME minus local time, measured on connect */
    unsigned long reconnects;
    unsigned long long timeouts;
    int timeout_ms;
    /* Subscriber mode: when set, the connection SUBSCRIBEs to `channel` on every connect. */
    const char *channel;
    redis_message_callback on_message;
    void *message_privdata;
    /* Where commands are encoded (resp.h) before hiredis copies them: kept between commands,
     * owned. */
    char *encoded;
    size_t encoded_capacity;
};

/* Starts connecting (and keeps reconnecting). Returns 0, or -1 when out of memory. */
int redis_async_start(struct redis_async *redis, struct event_base *base,
                      const struct redis_address *address, int timeout_ms);

/* Like redis_async_start, for a connection that only listens on `channel`. Each time Redis
 * confirms the subscription (after every connect), `on_message` is called with an empty
 * payload: messages published while the connection was away are gone, re-check. */
int redis_async_subscribe(struct redis_async *redis, struct event_base *base,
                          const struct redis_address *address, const char *channel,
                          redis_message_callback on_message, void *privdata);

void redis_async_stop(struct redis_async *redis);

/* Sends a command; `callback` runs exactly once (see above). Returns 0 when sent, -1 when it
 * could not be sent (the callback has then already been called with NULL). */
int redis_async_command(struct redis_async *redis, redis_callback callback, void *privdata,
                        int argc, const char **argv, const size_t *lengths);

/* Writes the commands queued so far now, instead of once the event loop next finds the socket
 * writable: for a command that leads many requests' answers (a batch of submissions), one
 * loop pass sooner and two epoll_ctl fewer. What does not fit in the socket is left for the
 * loop. A failure to write drops the connection: every pending callback is called with NULL
 * before this returns. */
void redis_async_flush(struct redis_async *redis);

/* Redis's clock now, in milliseconds, as estimated from the offset measured on connect. */
long long redis_async_now_ms(const struct redis_async *redis);

#endif
