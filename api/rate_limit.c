/* rate_limit.c -- see rate_limit.h. */
#include "rate_limit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct rate_limit *rate_limit_new(int per_minute)
{
    struct rate_limit *limit = calloc(1, sizeof(*limit));
    if (!limit)
        return NULL;
    limit->per_minute = per_minute;
    if (pthread_mutex_init(&limit->lock, NULL) != 0) {
        free(limit);
        return NULL;
    }
    return limit;
}

void rate_limit_free(struct rate_limit *limit)
{
    if (!limit)
        return;
    pthread_mutex_destroy(&limit->lock);
    free(limit);
}

static bool take_locked(struct rate_limit *limit, const char *token_hash, long long now_ms,
                        int *retry_after_seconds)
{
    char key[17];
    memcpy(key, token_hash, 16);
    key[16] = '\0';
    struct rate_bucket *bucket = &limit->buckets[strtoull(key + 10, NULL, 16) % RATE_LIMIT_SLOTS];
    double capacity = limit->per_minute;
    double per_ms = capacity / 60000.0;
    if (strcmp(bucket->key, key) != 0) {
        memcpy(bucket->key, key, sizeof(key));
        bucket->tokens = capacity;
        bucket->updated_ms = now_ms;
    }
    bucket->tokens =
        fmin(capacity, bucket->tokens + (double)(now_ms - bucket->updated_ms) * per_ms);
    bucket->updated_ms = now_ms;
    if (bucket->tokens >= 1.0) {
        bucket->tokens -= 1.0;
        return true;
    }
    *retry_after_seconds = (int)ceil((1.0 - bucket->tokens) / per_ms / 1000.0);
    if (*retry_after_seconds < 1)
        *retry_after_seconds = 1;
    return false;
}

bool rate_limit_take(struct rate_limit *limit, const char *token_hash, long long now_ms,
                     int *retry_after_seconds)
{
    if (limit->per_minute <= 0)
        return true;
    pthread_mutex_lock(&limit->lock);
    bool allowed = take_locked(limit, token_hash, now_ms, retry_after_seconds);
    pthread_mutex_unlock(&limit->lock);
    return allowed;
}
