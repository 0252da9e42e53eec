/* redis_async.c -- see redis_async.h. */
#include "redis_async.h"

#include <stdlib.h>
#include <string.h>

#include <hiredis/adapters/libevent.h>

#include "jsonutil.h"
#include "log.h"
#include "resp.h"

struct pending_call {
    struct redis_async *redis;
    redis_callback callback;
    void *privdata;
    struct event *timer;
    bool answered;
};

static void schedule_reconnect(struct redis_async *redis);

static void drop_connection(struct redis_async *redis)
{
    if (!redis->context)
        return;
    redisAsyncContext *context = redis->context;
    redis->context = NULL;
    redis->connected = false;
    redis->subscribed = false;
    redis->answering = false;
    /* Calls every pending callback with a NULL reply. */
    redisAsyncFree(context);
    schedule_reconnect(redis);
}

static void on_call_timeout(evutil_socket_t fd, short events, void *arg)
{
    (void)fd, (void)events;
    struct pending_call *call = arg;
    if (call->answered)
        return;
    call->answered = true;
    call->redis->timeouts++;
    call->redis->answering = false;
    call->callback(NULL, call->privdata);
    /* A command that got no answer in time means Redis is stuck or gone: start afresh rather
     * than queue more behind it. The pending call is freed by hiredis' callback on free. */
    log_message(LOG_WARN, "Redis did not answer within %d ms; reconnecting",
                call->redis->timeout_ms);
    drop_connection(call->redis);
}

static void on_reply(redisAsyncContext *context, void *reply, void *privdata)
{
    (void)context;
    struct pending_call *call = privdata;
    if (reply)
        call->redis->answering = true;
    if (!call->answered) {
        call->answered = true;
        call->callback(reply, call->privdata);
    }
    if (call->timer)
        event_free(call->timer);
    free(call);
}

/* Past this, the encoding buffer is given back after the command (a batch of large bodies):
 * what stays allocated between commands is bounded. */
#define ENCODED_KEEP_MAX ((size_t)256 * 1024)

/* Hands the command to hiredis already encoded: one buffer sized up front, instead of
 * hiredis' printf per argument. REDIS_OK or REDIS_ERR, as redisAsyncCommandArgv. */
static int send_encoded(struct redis_async *redis, struct pending_call *call, int argc,
                        const char **argv, const size_t *lengths)
{
    size_t length = resp_length(argc, argv, lengths);
    /* hiredis reads the command's name with string functions (strncasecmp against
     * "subscribe\r\n"...): a NUL after the command keeps them inside what was written. */
    if (length + 1 > redis->encoded_capacity) {
        size_t capacity = redis->encoded_capacity ? redis->encoded_capacity : 4096;
        while (capacity < length + 1)
            capacity *= 2;
        char *grown = malloc(capacity);
        if (!grown)
            return REDIS_ERR;
        free(redis->encoded);
        redis->encoded = grown;
        redis->encoded_capacity = capacity;
    }
    resp_encode(redis->encoded, argc, argv, lengths);
    redis->encoded[length] = '\0';
    int status = redisAsyncFormattedCommand(redis->context, on_reply, call, redis->encoded, length);
    if (redis->encoded_capacity > ENCODED_KEEP_MAX) {
        free(redis->encoded);
        redis->encoded = NULL;
        redis->encoded_capacity = 0;
    }
    return status;
}

int redis_async_command(struct redis_async *redis, redis_callback callback, void *privdata,
                        int argc, const char **argv, const size_t *lengths)
{
    struct pending_call *call = calloc(1, sizeof(*call));
    if (!redis->connected || !call) {
        free(call);
        callback(NULL, privdata);
        return -1;
    }
    call->redis = redis;
    call->callback = callback;
    call->privdata = privdata;
    call->timer = evtimer_new(redis->base, on_call_timeout, call);
    struct timeval deadline = {redis->timeout_ms / 1000, (redis->timeout_ms % 1000) * 1000L};
    if (!call->timer || send_encoded(redis, call, argc, argv, lengths) != REDIS_OK) {
        if (call->timer)
            event_free(call->timer);
        free(call);
        callback(NULL, privdata);
        return -1;
    }
    evtimer_add(call->timer, &deadline);
    return 0;
}

void redis_async_flush(struct redis_async *redis)
{
    if (redis->connected && redis->context)
        redisAsyncHandleWrite(redis->context);
}

long long redis_async_now_ms(const struct redis_async *redis)
{
    return json_now_ms() + redis->clock_offset_ms;
}

/* ---- connection life cycle ---------------------------------------------------------------- */

static void on_time(redisReply *reply, void *privdata)
{
    struct redis_async *redis = privdata;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2)
        return;
    long long redis_ms =
        atoll(reply->element[0]->str) * 1000 + atoll(reply->element[1]->str) / 1000;
    redis->clock_offset_ms = redis_ms - json_now_ms();
}

static void on_subscription_message(redisAsyncContext *context, void *reply_pointer, void *privdata)
{
    (void)context;
    struct redis_async *redis = privdata;
    redisReply *reply = reply_pointer;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3)
        return;
    const char *kind = reply->element[0]->str;
    if (kind && strcmp(kind, "message") == 0) {
        redis->on_message(reply->element[1]->str, reply->element[2]->str, redis->message_privdata);
    } else if (kind && strcmp(kind, "subscribe") == 0) {
        /* Subscribed from now on; what was published before is gone: re-check. */
        redis->subscribed = true;
        redis->on_message(redis->channel, "", redis->message_privdata);
    }
}

static void on_connect(const redisAsyncContext *context, int status)
{
    struct redis_async *redis = context->data;
    if (redis->connect_timer)
        evtimer_del(redis->connect_timer);
    if (status != REDIS_OK) {
        /* hiredis frees the context after this callback. */
        log_message(LOG_WARN, "cannot connect to Redis: %s", context->errstr);
        redis->context = NULL;
        schedule_reconnect(redis);
        return;
    }
    redis->connected = true;
    redis->answering = false; /* until the first reply (the TIME below) */
    redis->backoff_ms = 100;
    redis->reconnects++;
    log_message(LOG_INFO, "connected to Redis%s", redis->channel ? " (subscriber)" : "");
    redisAsyncContext *mutable_context = redis->context;
    if (redis->address->password[0])
        redisAsyncCommand(mutable_context, NULL, NULL, "AUTH %s", redis->address->password);
    if (redis->address->database)
        redisAsyncCommand(mutable_context, NULL, NULL, "SELECT %d", redis->address->database);
    if (redis->channel) {
        redisAsyncCommand(mutable_context, on_subscription_message, redis, "SUBSCRIBE %s",
                          redis->channel);
    } else {
        const char *argv[] = {"TIME"};
        redis_async_command(redis, on_time, redis, 1, argv, NULL);
    }
}

static void on_disconnect(const redisAsyncContext *context, int status)
{
    struct redis_async *redis = context->data;
    (void)status;
    if (redis->context != context)
        return; /* we dropped it ourselves */
    log_message(LOG_WARN, "Redis connection lost");
    redis->context = NULL;
    redis->connected = false;
    redis->subscribed = false;
    redis->answering = false;
    schedule_reconnect(redis);
}

static void on_connect_timeout(evutil_socket_t fd, short events, void *arg)
{
    (void)fd, (void)events;
    struct redis_async *redis = arg;
    if (redis->context && !redis->connected) {
        log_message(LOG_WARN, "connecting to Redis timed out");
        drop_connection(redis);
    }
}

static void connect_now(evutil_socket_t fd, short events, void *arg)
{
    (void)fd, (void)events;
    struct redis_async *redis = arg;
    const struct redis_address *address = redis->address;
    redisAsyncContext *context = address->unix_path[0]
                                     ? redisAsyncConnectUnix(address->unix_path)
                                     : redisAsyncConnect(address->host, address->port);
    if (!context || context->err) {
        if (context)
            redisAsyncFree(context);
        schedule_reconnect(redis);
        return;
    }
    context->data = redis;
    redis->context = context;
    redisLibeventAttach(context, redis->base);
    redisAsyncSetConnectCallback(context, on_connect);
    redisAsyncSetDisconnectCallback(context, on_disconnect);
    struct timeval limit = {1, 0};
    evtimer_add(redis->connect_timer, &limit);
}

static void schedule_reconnect(struct redis_async *redis)
{
    if (!redis->reconnect_timer)
        return;
    struct timeval pause = {redis->backoff_ms / 1000, (redis->backoff_ms % 1000) * 1000L};
    evtimer_add(redis->reconnect_timer, &pause);
    redis->backoff_ms = redis->backoff_ms * 2 > 5000 ? 5000 : redis->backoff_ms * 2;
}

int redis_async_start(struct redis_async *redis, struct event_base *base,
                      const struct redis_address *address, int timeout_ms)
{
    memset(redis, 0, sizeof(*redis));
    redis->base = base;
    redis->address = address;
    redis->backoff_ms = 100;
    redis->timeout_ms = timeout_ms;
    redis->reconnect_timer = evtimer_new(base, connect_now, redis);
    redis->connect_timer = evtimer_new(base, on_connect_timeout, redis);
    if (!redis->reconnect_timer || !redis->connect_timer)
        return -1;
    connect_now(-1, 0, redis);
    return 0;
}

int redis_async_subscribe(struct redis_async *redis, struct event_base *base,
                          const struct redis_address *address, const char *channel,
                          redis_message_callback on_message, void *privdata)
{
    int result = redis_async_start(redis, base, address, 1000);
    redis->channel = channel;
    redis->on_message = on_message;
    redis->message_privdata = privdata;
    return result;
}

void redis_async_stop(struct redis_async *redis)
{
    struct event *reconnect = redis->reconnect_timer;
    redis->reconnect_timer = NULL; /* no reconnection from the callbacks below */
    if (redis->context) {
        redisAsyncContext *context = redis->context;
        redis->context = NULL;
        redis->connected = false;
        redis->subscribed = false;
        redisAsyncFree(context);
    }
    if (reconnect)
        event_free(reconnect);
    if (redis->connect_timer)
        event_free(redis->connect_timer);
    redis->connect_timer = NULL;
    free(redis->encoded);
    redis->encoded = NULL;
    redis->encoded_capacity = 0;
}
