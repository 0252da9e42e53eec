/* rate_limit.h -- per-token submission rate limit (token bucket), per API process.
 *
 * Each token may submit `per_minute` times a minute on average, with bursts up to the same
 * number. Buckets live in a fixed table indexed by the token's hash: no allocation per
 * request, bounded memory whatever the number of tokens; two tokens that collide in the
 * table share a bucket until one goes idle, which can only make the limit stricter. The
 * event loops of one process (EDUMON_API_THREADS) share one table under a mutex; several API
 * replicas each enforce the limit on their own (documented). */
#ifndef EDUMON_API_RATE_LIMIT_H
#define EDUMON_API_RATE_LIMIT_H

#include <pthread.h>
#include <stdbool.h>

#define RATE_LIMIT_SLOTS 8192

struct rate_bucket {
    char key[17]; /* first 16 hex characters of the token hash */
    double tokens;
    long long updated_ms;
};

struct rate_limit {
    int per_minute; /* 0 = unlimited */
    pthread_mutex_t lock;
    struct rate_bucket buckets[RATE_LIMIT_SLOTS];
};

/* A table with every bucket empty (caller frees with rate_limit_free), or NULL. */
struct rate_limit *rate_limit_new(int per_minute);
void rate_limit_free(struct rate_limit *limit);

/* Takes one unit for the token (by its hex hash). Returns true when allowed; otherwise sets
 * `retry_after_seconds`. Safe to call from several threads at once. */
bool rate_limit_take(struct rate_limit *limit, const char *token_hash, long long now_ms,
                     int *retry_after_seconds);

#endif
