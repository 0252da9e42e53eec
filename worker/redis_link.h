/* redis_link.h -- the worker's blocking connection to Redis.
 *
 * The worker is a loop with nothing else to do while it waits for Redis, so it uses hiredis'
 * blocking API with socket timeouts. A failed connection is closed and reopened with
 * exponential backoff (100 ms doubling to 5 s); scripts are loaded on every (re)connect and
 * reloaded on NOSCRIPT, since a restarted Redis has forgotten them. */
#ifndef EDUMON_WORKER_REDIS_LINK_H
#define EDUMON_WORKER_REDIS_LINK_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#include "config.h"

enum link_script { SCRIPT_ID_APPLY, SCRIPT_ID_STORE, SCRIPT_COUNT };

struct redis_link {
    const struct redis_address *address;
    redisContext *context;
    char script_sha[SCRIPT_COUNT][41];
    unsigned long reconnects;
    int backoff_ms;
};

void redis_link_init(struct redis_link *link, const struct redis_address *address);

/* Connects if not connected, waiting with backoff between failures while `*running`.
 * Returns 0 once connected, -1 if `*running` became false first. */
int redis_link_ensure(struct redis_link *link, volatile const int *running);

void redis_link_close(struct redis_link *link);

/* Runs one command. Returns the reply (caller frees with freeReplyObject), or NULL after an
 * I/O error, in which case the link is closed and will reconnect. */
redisReply *redis_link_command(struct redis_link *link, int argc, const char **argv,
                               const size_t *lengths);

/* Queues a command for a pipeline; redis_link_reply() reads the replies in order. */
void redis_link_append(struct redis_link *link, int argc, const char **argv, const size_t *lengths);
redisReply *redis_link_reply(struct redis_link *link);

/* Sends what is queued without waiting for the replies, so that Redis works on it while the
 * caller prepares the next commands (Redis never blocks on writing replies: they wait in its
 * output buffer). Returns 0, or -1 after an I/O error (the link is then closed). */
int redis_link_flush(struct redis_link *link);

/* Queues EVALSHA of a script with `key_count` keys followed by the arguments in argv. */
void redis_link_append_script(struct redis_link *link, enum link_script script, int key_count,
                              int argc, const char **argv, const size_t *lengths);

/* True when a reply is the NOSCRIPT error (scripts must be reloaded and the call retried). */
bool redis_link_is_noscript(const redisReply *reply);

/* Loads the scripts again (after NOSCRIPT). Returns 0, or -1 (link closed). */
int redis_link_load_scripts(struct redis_link *link);

#endif
