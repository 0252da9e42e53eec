/* redis_link.c -- see redis_link.h. */
#include "redis_link.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "scripts.h"

static const char *const script_sources[SCRIPT_COUNT] = {SCRIPT_APPLY, SCRIPT_STORE};

void redis_link_init(struct redis_link *link, const struct redis_address *address)
{
    memset(link, 0, sizeof(*link));
    link->address = address;
    link->backoff_ms = 100;
}

void redis_link_close(struct redis_link *link)
{
    if (link->context)
        redisFree(link->context);
    link->context = NULL;
}

static bool reply_ok(redisReply *reply)
{
    bool ok = reply && reply->type != REDIS_REPLY_ERROR;
    if (reply)
        freeReplyObject(reply);
    return ok;
}

int redis_link_load_scripts(struct redis_link *link)
{
    for (int i = 0; i < SCRIPT_COUNT; i++) {
        redisReply *reply = redisCommand(link->context, "SCRIPT LOAD %s", script_sources[i]);
        if (!reply || reply->type != REDIS_REPLY_STRING || reply->len != 40) {
            log_message(LOG_ERROR, "cannot load script %d: %s", i,
                        reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "no reply");
            if (reply)
                freeReplyObject(reply);
            redis_link_close(link);
            return -1;
        }
        memcpy(link->script_sha[i], reply->str, 40);
        link->script_sha[i][40] = '\0';
        freeReplyObject(reply);
    }
    return 0;
}

static int connect_once(struct redis_link *link)
{
    struct timeval timeout = {5, 0};
    const struct redis_address *address = link->address;
    redisContext *context = address->unix_path[0]
                                ? redisConnectUnixWithTimeout(address->unix_path, timeout)
                                : redisConnectWithTimeout(address->host, address->port, timeout);
    if (!context || context->err) {
        log_message(LOG_WARN, "cannot connect to Redis: %s",
                    context ? context->errstr : "out of memory");
        if (context)
            redisFree(context);
        return -1;
    }
    redisSetTimeout(context, timeout);
    link->context = context;
    if (address->password[0] && !reply_ok(redisCommand(context, "AUTH %s", address->password))) {
        log_message(LOG_ERROR, "Redis refused the password");
        redis_link_close(link);
        return -1;
    }
    if (address->database && !reply_ok(redisCommand(context, "SELECT %d", address->database))) {
        redis_link_close(link);
        return -1;
    }
    return redis_link_load_scripts(link);
}

int redis_link_ensure(struct redis_link *link, volatile const int *running)
{
    while (!link->context) {
        if (!*running)
            return -1;
        if (connect_once(link) == 0) {
            link->backoff_ms = 100;
            link->reconnects++;
            log_message(LOG_INFO, "connected to Redis");
            return 0;
        }
        struct timespec pause = {link->backoff_ms / 1000, (link->backoff_ms % 1000) * 1000000L};
        nanosleep(&pause, NULL);
        link->backoff_ms = link->backoff_ms * 2 > 5000 ? 5000 : link->backoff_ms * 2;
    }
    return 0;
}

static redisReply *check_io(struct redis_link *link, redisReply *reply)
{
    if (!reply) {
        log_message(LOG_WARN, "Redis connection lost: %s",
                    link->context ? link->context->errstr : "closed");
        redis_link_close(link);
    }
    return reply;
}

redisReply *redis_link_command(struct redis_link *link, int argc, const char **argv,
                               const size_t *lengths)
{
    if (!link->context)
        return NULL;
    return check_io(link, redisCommandArgv(link->context, argc, argv, lengths));
}

void redis_link_append(struct redis_link *link, int argc, const char **argv, const size_t *lengths)
{
    if (link->context)
        redisAppendCommandArgv(link->context, argc, argv, lengths);
}

int redis_link_flush(struct redis_link *link)
{
    if (!link->context)
        return -1;
    int done = 0;
    while (!done) {
        if (redisBufferWrite(link->context, &done) != REDIS_OK) {
            check_io(link, NULL);
            return -1;
        }
    }
    return 0;
}

redisReply *redis_link_reply(struct redis_link *link)
{
    if (!link->context)
        return NULL;
    void *reply = NULL;
    if (redisGetReply(link->context, &reply) != REDIS_OK)
        reply = NULL;
    return check_io(link, reply);
}

void redis_link_append_script(struct redis_link *link, enum link_script script, int key_count,
                              int argc, const char **argv, const size_t *lengths)
{
    const char **full = malloc((size_t)(argc + 3) * sizeof(char *));
    size_t *full_lengths = malloc((size_t)(argc + 3) * sizeof(size_t));
    char count_text[16];
    snprintf(count_text, sizeof(count_text), "%d", key_count);
    if (full && full_lengths) {
        full[0] = "EVALSHA", full_lengths[0] = 7;
        full[1] = link->script_sha[script], full_lengths[1] = 40;
        full[2] = count_text, full_lengths[2] = strlen(count_text);
        for (int i = 0; i < argc; i++) {
            full[i + 3] = argv[i];
            full_lengths[i + 3] = lengths ? lengths[i] : strlen(argv[i]);
        }
        redis_link_append(link, argc + 3, full, full_lengths);
    } else {
        /* Out of memory: drop the connection so the batch fails and is retried. */
        redis_link_close(link);
    }
    free(full);
    free(full_lengths);
}

bool redis_link_is_noscript(const redisReply *reply)
{
    return reply && reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "NOSCRIPT", 8) == 0;
}
