/* submit_batch.c -- see submit_batch.h. */
#include "submit_batch.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "keys.h"
#include "script_call.h"
#include "textfmt.h"
#include "token.h"

/* Per submission on the wire: its idempotency key among the KEYS, the rest among the ARGV. */
#define SUBMIT_SCRIPT_FIELDS (SUBMIT_FIELD_COUNT - 1)

struct submit_item {
    submit_callback callback;
    void *privdata;
    size_t offsets[SUBMIT_FIELD_COUNT], lengths[SUBMIT_FIELD_COUNT]; /* into batch->text */
};

/* The most arguments a batch's script call has, its SCRIPT_CALL_RESERVED slots included. */
#define BATCH_ARGV_MAX                                                                             \
    (SCRIPT_CALL_RESERVED + 3 + SUBMIT_BATCH_MAX + 2 + SUBMIT_SCRIPT_FIELDS * SUBMIT_BATCH_MAX)

struct submit_batch {
    struct submit_batcher *batcher; /* that keeps it as its spare once finished; or NULL */
    struct submit_batch *next_sent; /* in batcher->sent while out for its reply */
    struct redis_async *redis;
    size_t count;
    struct submit_item items[SUBMIT_BATCH_MAX];
    char *text; /* every field of every item, copied; grows by doubling, kept when reused */
    size_t used, capacity;
    /* Filled when sent; borrowed by the script call until its callback. */
    const char *argv[BATCH_ARGV_MAX];
    size_t lengths[BATCH_ARGV_MAX];
    char deadline[32], count_text[16], marker[KEY_MAX];
    unsigned long long timeouts_at_send;
    long long sent_ms;
    bool sending, send_failed; /* a failure to send calls back before the call returns */
};

static void batch_free(struct submit_batch *batch)
{
    if (!batch)
        return;
    free(batch->text);
    free(batch);
}

/* A finished batch becomes its batcher's spare (text buffer and all), unless there is one
 * already or the batcher is gone: a batch is ~24 KB, and allocating one per pass of the loop
 * cost a heap consolidation and its zeroing every time. */
static void batch_retire(struct submit_batch *batch)
{
    struct submit_batcher *batcher = batch->batcher;
    if (batcher) /* off the list of batches out, if it was on it (a handful at most) */
        for (struct submit_batch **link = &batcher->sent; *link; link = &(*link)->next_sent)
            if (*link == batch) {
                *link = batch->next_sent;
                break;
            }
    if (batcher && !batcher->spare) {
        batcher->spare = batch;
        return;
    }
    batch_free(batch);
}

/* An empty batch: the spare, or a new one. NULL when out of memory. */
static struct submit_batch *batch_new(struct submit_batcher *batcher)
{
    struct submit_batch *batch = batcher->spare;
    if (batch) {
        batcher->spare = NULL;
    } else {
        batch = malloc(sizeof(*batch));
        if (!batch)
            return NULL;
        batch->text = NULL;
        batch->capacity = 0;
    }
    batch->batcher = batcher;
    batch->next_sent = NULL;
    batch->redis = batcher->redis;
    batch->count = 0;
    batch->used = 0;
    batch->timeouts_at_send = 0;
    batch->sent_ms = 0;
    batch->sending = batch->send_failed = false;
    return batch;
}

/* Whether `reply` is {"done", r1, …, rn} for the batch's n items. */
static bool reply_splits(const struct submit_batch *batch, const redisReply *reply)
{
    return reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == batch->count + 1 &&
           reply->element[0]->type == REDIS_REPLY_STRING &&
           strcmp(reply->element[0]->str, "done") == 0;
}

/* Calls every item's callback once, then frees the batch. */
static void batch_finish(struct submit_batch *batch, enum submit_delivery delivery,
                         const redisReply *reply)
{
    bool split = reply_splits(batch, reply);
    for (size_t i = 0; i < batch->count; i++) {
        struct submit_result result = {.delivery = delivery,
                                       .outcome = split ? reply->element[i + 1] : reply,
                                       .sent_ms = delivery == SUBMIT_NOT_SENT ? 0 : batch->sent_ms,
                                       .marker = batch->marker,
                                       .index = i};
        batch->items[i].callback(&result, batch->items[i].privdata);
    }
    batch_retire(batch);
}

static void on_batch_reply(redisReply *reply, void *privdata)
{
    struct submit_batch *batch = privdata;
    if (!reply && batch->sending) {
        batch->send_failed = true; /* never left; batch_send finishes it */
        return;
    }
    if (reply) {
        batch_finish(batch, SUBMIT_ANSWERED, reply);
        return;
    }
    bool timed_out = batch->redis->timeouts != batch->timeouts_at_send;
    batch_finish(batch, timed_out ? SUBMIT_TIMED_OUT : SUBMIT_DROPPED, NULL);
}

static void batch_send(struct submit_batch *batch)
{
    size_t keys = 3 + batch->count;
    size_t argc = keys + 2 + SUBMIT_SCRIPT_FIELDS * batch->count;
    struct text text = text_start(batch->deadline, sizeof(batch->deadline));
    text_add_signed(&text, redis_async_now_ms(batch->redis) + SUBMIT_DEADLINE_MS);
    text_end(&text);
    text = text_start(batch->count_text, sizeof(batch->count_text));
    text_add_unsigned(&text, batch->count, 0);
    text_end(&text);
    size_t next = SCRIPT_CALL_RESERVED;
#define PUT(text, length) (batch->argv[next] = (text), batch->lengths[next] = (length), next++)
    PUT(KEY_STREAM, strlen(KEY_STREAM));
    PUT(KEY_TOKENS, strlen(KEY_TOKENS));
    PUT(batch->marker, strlen(batch->marker));
    for (size_t i = 0; i < batch->count; i++) {
        const struct submit_item *item = &batch->items[i];
        PUT(batch->text + item->offsets[SUBMIT_IDEMPOTENCY_KEY],
            item->lengths[SUBMIT_IDEMPOTENCY_KEY]);
    }
    PUT(batch->deadline, strlen(batch->deadline));
    PUT(batch->count_text, strlen(batch->count_text));
    for (size_t i = 0; i < batch->count; i++) {
        const struct submit_item *item = &batch->items[i];
        for (int field = SUBMIT_IDEMPOTENCY_KEY + 1; field < SUBMIT_FIELD_COUNT; field++)
            PUT(batch->text + item->offsets[field], item->lengths[field]);
    }
#undef PUT
    batch->timeouts_at_send = batch->redis->timeouts;
    batch->sent_ms = json_now_ms();
    batch->next_sent = batch->batcher->sent;
    batch->batcher->sent = batch;
    batch->sending = true;
    script_call_borrowed(batch->redis, API_SCRIPT_SUBMIT_BATCH, (int)keys, (int)argc, batch->argv,
                         batch->lengths, on_batch_reply, batch);
    if (!batch->send_failed)
        redis_async_flush(batch->redis);
    batch->sending = false;
    if (batch->send_failed)
        batch_finish(batch, SUBMIT_NOT_SENT, NULL);
}

/* Sends the gathering batch, if any. */
static void flush(struct submit_batcher *batcher)
{
    struct submit_batch *batch = batcher->open;
    if (!batch)
        return;
    batcher->open = NULL;
    metric_add(&batcher->metrics->submit_batches, 1);
    metric_add(&batcher->metrics->submit_batched, batch->count);
    batch_send(batch);
}

static void on_flush(evutil_socket_t fd, short events, void *arg)
{
    (void)fd, (void)events;
    flush(arg);
}

int submit_batcher_init(struct submit_batcher *batcher, struct event_base *base,
                        struct redis_async *redis, struct metrics *metrics)
{
    memset(batcher, 0, sizeof(*batcher));
    batcher->redis = redis;
    batcher->metrics = metrics;
    batcher->flush_event = event_new(base, -1, 0, on_flush, batcher);
    return batcher->flush_event ? 0 : -1;
}

void submit_batcher_free(struct submit_batcher *batcher)
{
    if (batcher->open) {
        struct submit_batch *batch = batcher->open;
        batcher->open = NULL;
        batch_finish(batch, SUBMIT_NOT_SENT, NULL);
    }
    batch_free(batcher->spare);
    batcher->spare = NULL;
    /* Batches still out (sent, unanswered) are finished by redis_async_stop later: they must
     * not come back as the spare of a batcher that is gone. */
    for (struct submit_batch *batch = batcher->sent; batch; batch = batch->next_sent)
        batch->batcher = NULL;
    if (batcher->flush_event)
        event_free(batcher->flush_event);
    batcher->flush_event = NULL;
}

/* Copies `length` bytes plus a NUL into the batch's text; the offset, or -1 when out of
 * memory. */
static long long batch_copy(struct submit_batch *batch, const char *text, size_t length)
{
    if (batch->used + length + 1 > batch->capacity) {
        size_t capacity = batch->capacity ? batch->capacity : 4096;
        while (capacity < batch->used + length + 1)
            capacity *= 2;
        char *grown = realloc(batch->text, capacity);
        if (!grown)
            return -1;
        batch->text = grown;
        batch->capacity = capacity;
    }
    size_t offset = batch->used;
    memcpy(batch->text + offset, text, length);
    batch->text[offset + length] = '\0';
    batch->used += length + 1;
    return (long long)offset;
}

void submit_batch_add(struct submit_batcher *batcher, const char *const fields[SUBMIT_FIELD_COUNT],
                      size_t body_length, submit_callback callback, void *privdata)
{
    struct submit_batch *batch = batcher->open;
    if (!batch) {
        char random[TOKEN_TEXT_LENGTH + 1];
        batch = token_generate(random) == 0 ? batch_new(batcher) : NULL;
        if (!batch) {
            struct submit_result result = {.delivery = SUBMIT_NOT_SENT};
            callback(&result, privdata);
            return;
        }
        keys_batch_marker(batch->marker, random);
        batcher->open = batch;
        event_active(batcher->flush_event, 0, 0); /* at the end of this pass of the loop */
    }
    struct submit_item *item = &batch->items[batch->count];
    for (int field = 0; field < SUBMIT_FIELD_COUNT; field++) {
        size_t length = field == SUBMIT_BODY ? body_length : strlen(fields[field]);
        long long offset = batch_copy(batch, fields[field], length);
        if (offset < 0) {
            struct submit_result result = {.delivery = SUBMIT_NOT_SENT};
            callback(&result, privdata); /* the batch keeps the others */
            return;
        }
        item->offsets[field] = (size_t)offset;
        item->lengths[field] = length;
    }
    item->callback = callback;
    item->privdata = privdata;
    batch->count++;
    if (batch->count == SUBMIT_BATCH_MAX)
        flush(batcher); /* full: the next submission opens another */
}

bool submit_marker_word(const char *value, size_t index, char *out, size_t size)
{
    const char *word = value;
    for (size_t i = 0; i < index && word; i++) {
        word = strchr(word, ' ');
        if (word)
            word++;
    }
    if (!word || !*word)
        return false;
    size_t length = strcspn(word, " ");
    if (length == 0 || length >= size)
        return false;
    memcpy(out, word, length);
    out[length] = '\0';
    return true;
}
