/* rate_limit.h -- per-token submission rate limit (token bucket), per API process.
 *
 * Each token may submit `per_minute` times a minute on average, with bursts up to the same
 * number. Buckets live in a fixed table indexed by the token's hash: no allocation per
 * request, bounded memory whatever the number of tokens; two tokens that collide in the
 * table share a bucket until one goes idle, which can only make the limit stricter. With
 * several API replicas each enforces the limit on its own (documented). */
#ifndef EDUMON_API_RATE_LIMIT_H
#define EDUMON_API_RATE_LIMIT_H

#include <stdbool.h>

#define RATE_LIMIT_SLOTS 8192

struct rate_bucket {
    char key[17]; /* first 16 hex characters of the token hash */
    double tokens;
    long long updated_ms;
};

struct rate_limit {
    int per_minute; /* 0 = unlimited */
    struct rate_bucket buckets[RATE_LIMIT_SLOTS];
};

/* Takes one unit for the token (by its hex hash). Returns true when allowed; otherwise sets
 * `retry_after_seconds`. */
bool rate_limit_take(struct rate_limit *limit, const char *token_hash, long long now_ms,
                     int *retry_after_seconds);

#endif
