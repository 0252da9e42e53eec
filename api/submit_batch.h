/* submit_batch.h -- group commit of submissions into the stream.
 *
 * Every submission queued during one pass of the event loop goes to Redis in one SUBMIT_BATCH
 * call (scripts.h): one Lua invocation and one command on the wire for up to
 * SUBMIT_BATCH_MAX submissions instead of one each. Nothing waits for a batch to fill: the
 * batch is sent at the end of the pass that opened it, or as soon as it is full, so a lone
 * submission goes out as soon as it would have alone, and under load the batches grow by
 * themselves with the number of requests each pass reads, up to SUBMIT_BATCH_MAX.
 *
 * Each submission's callback is called exactly once, after the batch's reply (or failure),
 * with its own part of the reply. Arguments are copied when added. */
#ifndef EDUMON_API_SUBMIT_BATCH_H
#define EDUMON_API_SUBMIT_BATCH_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "metrics.h"
#include "redis_async.h"

/* Small enough that a pass reading many submissions sends several batches, the first while
 * the API still parses the rest: Redis runs one batch while the API reads the next, instead
 * of the two waiting on each other. 12 gave 13 % more submissions/s than 64 at 50
 * connections (docs/performance.md, 2026-12-07). */
#define SUBMIT_BATCH_MAX 12

/* How long after sending a SUBMIT_BATCH call Redis may still execute it: a script that Redis
 * only gets to later (it was frozen, or busy) writes nothing and answers "expired". Shorter
 * than the command timeout, so a SUBMIT still unanswered at the timeout either ran before its
 * deadline with its reply stuck behind a frozen Redis, or never will: the client is told the
 * outcome is unknown (outcome_unknown), never that nothing was written. */
#define SUBMIT_DEADLINE_MS 700

/* One submission's script arguments (see SCRIPT_SUBMIT_BATCH), in this order. */
enum submit_field {
    SUBMIT_IDEMPOTENCY_KEY, /* the Redis key (KEYS) */
    SUBMIT_TOKEN_HASH,      /* "" for the admin token */
    SUBMIT_UNIT,
    SUBMIT_MODE, /* "1" with an Idempotency-Key (then SUBMIT_IDEMPOTENCY_KEY), else "0" */
    SUBMIT_DIGEST,
    SUBMIT_DISTRICT,
    SUBMIT_SCHOOL,
    SUBMIT_PERIOD,
    SUBMIT_BY,
    SUBMIT_RECEIVED,
    SUBMIT_BODY,
    SUBMIT_FIELD_COUNT
};

enum submit_delivery {
    SUBMIT_ANSWERED,  /* `outcome` is this submission's reply (or the batch's error/"expired") */
    SUBMIT_NOT_SENT,  /* no connection to send on: nothing was written */
    SUBMIT_DROPPED,   /* sent, then the connection dropped before the reply: see `marker` */
    SUBMIT_TIMED_OUT, /* sent, and Redis did not answer in time */
};

struct submit_result {
    enum submit_delivery delivery;
    const redisReply *outcome; /* borrowed; NULL unless SUBMIT_ANSWERED */
    long long sent_ms;         /* when the batch left (json_now_ms); 0 when it did not */
    /* The batch's marker key: once the deadline has passed, GET it and read word `index`
     * (submit_marker_word) to learn whether this submission was written. */
    const char *marker;
    size_t index;
};

typedef void (*submit_callback)(const struct submit_result *result, void *privdata);

/* Word `index` of a marker's value (space-separated) into `out`: the entry id, or "-" when
 * the submission was not written (its token was refused, or its Idempotency-Key had been
 * used). Returns false when the value has no such word or it does not fit. */
bool submit_marker_word(const char *value, size_t index, char *out, size_t size);

struct submit_batch;

struct submit_batcher {
    struct redis_async *redis;
    struct event *flush_event;
    struct submit_batch *open;  /* gathering; sent by flush_event */
    struct submit_batch *sent;  /* out for their replies (linked by next_sent) */
    struct submit_batch *spare; /* a finished batch kept for the next, or NULL; owned */
    struct metrics *metrics;    /* borrowed: counts the batches sent */
};

/* Returns 0, or -1 when out of memory. */
int submit_batcher_init(struct submit_batcher *batcher, struct event_base *base,
                        struct redis_async *redis, struct metrics *metrics);

/* Fails the gathering batch's submissions with SUBMIT_NOT_SENT and frees the batcher; batches
 * already sent are finished by redis_async_stop. */
void submit_batcher_free(struct submit_batcher *batcher);

/* Adds a submission (fields[SUBMIT_BODY] has `body_length` bytes, the others are strings).
 * `callback` may run before this returns: with SUBMIT_NOT_SENT when out of memory, or when
 * this submission filled the batch and it could not be sent. */
void submit_batch_add(struct submit_batcher *batcher, const char *const fields[SUBMIT_FIELD_COUNT],
                      size_t body_length, submit_callback callback, void *privdata);

#endif
