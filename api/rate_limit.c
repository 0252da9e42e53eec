/* rate_limit.c -- see rate_limit.h. */
#include "rate_limit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bool rate_limit_take(struct rate_limit *limit, const char *token_hash, long long now_ms,
                     int *retry_after_seconds)
{
    if (limit->per_minute <= 0)
        return true;
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
