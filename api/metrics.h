/* metrics.h -- the API's Prometheus metrics: requests by route and status, a latency
 * histogram per route, submissions accepted and rejected, Redis reconnects and timeouts.
 * Rendering adds what only Redis knows (stream length, consumer-group lag, worker figures),
 * fetched asynchronously by the /metrics route. */
#ifndef EDUMON_API_METRICS_H
#define EDUMON_API_METRICS_H

#include <stdatomic.h>
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

/* A counter written by one event loop only (the one owning the struct metrics) and read by
 * any loop rendering /metrics. Written with metric_add: a relaxed load and store, which on
 * x86-64 and arm64 is a plain load and store (no locked instruction on the request path),
 * yet a well-defined read from another thread. */
typedef _Atomic unsigned long long metric_counter;

static inline void metric_add(metric_counter *counter, unsigned long long amount)
{
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + amount,
                          memory_order_relaxed);
}

static inline unsigned long long metric_read(const metric_counter *counter)
{
    return atomic_load_explicit(counter, memory_order_relaxed);
}

/* One event loop's figures (EDUMON_API_THREADS loops each keep their own). */
struct metrics {
    metric_counter requests[ROUTE_COUNT][METRICS_STATUS_SLOTS];
    metric_counter latency_buckets[ROUTE_COUNT][METRICS_BUCKETS];
    metric_counter latency_count[ROUTE_COUNT];
    metric_counter latency_sum_ns[ROUTE_COUNT];
    metric_counter submissions_accepted, submissions_rejected, values_accepted;
    /* Writes answered 503 outcome_unknown: sent to Redis, no answer (see server.h). */
    metric_counter submissions_unknown;
    metric_counter long_polls;
    metric_counter snapshot_cache_hits, snapshot_cache_misses;
    /* Group commit (submit_batch.c): SUBMIT_BATCH calls and the submissions they carried. */
    metric_counter submit_batches, submit_batched;
};

const char *metrics_route_name(enum route_id route);

/* Counts one answered request. Only the loop owning `metrics` may call this. */
void metrics_observe(struct metrics *metrics, enum route_id route, int status, double seconds);

/* The text exposition of the sum of `count` loops' counters, followed by `extra`, in a
 * buffer the caller frees. Returns NULL when out of memory. */
char *metrics_render(const struct metrics *const *loops, size_t count, const char *extra);

#endif
