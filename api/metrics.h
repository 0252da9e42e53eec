/* metrics.h -- the API's Prometheus metrics: requests by route and status, a latency
 * histogram per route, submissions accepted and rejected, Redis reconnects and timeouts.
 * Rendering adds what only Redis knows (stream length, consumer-group lag, worker figures),
 * fetched asynchronously by the /metrics route. */
#ifndef EDUMON_API_METRICS_H
#define EDUMON_API_METRICS_H

#include <stddef.h>

enum route_id {
    ROUTE_SUBMIT,
    ROUTE_SUBMISSION_STATUS,
    ROUTE_CATALOG,
    ROUTE_SNAPSHOT,
    ROUTE_HISTORY,
    ROUTE_ADMIN,
    ROUTE_HEALTH,
    ROUTE_METRICS,
    ROUTE_STATIC,
    ROUTE_OTHER,
    ROUTE_COUNT
};

#define METRICS_STATUS_SLOTS 18
#define METRICS_BUCKETS      12

struct metrics {
    unsigned long long requests[ROUTE_COUNT][METRICS_STATUS_SLOTS];
    unsigned long long latency_buckets[ROUTE_COUNT][METRICS_BUCKETS];
    unsigned long long latency_count[ROUTE_COUNT];
    double latency_sum[ROUTE_COUNT];
    unsigned long long submissions_accepted, submissions_rejected, values_accepted;
    /* Writes answered 503 outcome_unknown: sent to Redis, no answer (see server.h). */
    unsigned long long submissions_unknown;
    unsigned long long long_polls;
    unsigned long long snapshot_cache_hits, snapshot_cache_misses;
};

const char *metrics_route_name(enum route_id route);

void metrics_observe(struct metrics *metrics, enum route_id route, int status, double seconds);

/* Appends the text exposition of the counters to a growing buffer (caller frees). Returns
 * the buffer, or NULL when out of memory. */
char *metrics_render(const struct metrics *metrics, const char *extra);

#endif
