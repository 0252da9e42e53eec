/* metrics.c -- see metrics.h. */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const route_names[ROUTE_COUNT] = {
    "submit", "submission_status", "catalog", "snapshot", "history", "admin",
    "health", "metrics",           "static",  "other"};

static const int status_codes[METRICS_STATUS_SLOTS] = {200, 201, 202, 304, 400, 401, 403, 404, 405,
                                                       409, 413, 415, 422, 429, 500, 503, 0,   -1};

static const double bucket_bounds[METRICS_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   1,     5,    30};

const char *metrics_route_name(enum route_id route)
{
    return route < ROUTE_COUNT ? route_names[route] : "other";
}

void metrics_observe(struct metrics *metrics, enum route_id route, int status, double seconds)
{
    if (route >= ROUTE_COUNT)
        route = ROUTE_OTHER;
    int slot = METRICS_STATUS_SLOTS - 2; /* "other" */
    for (int i = 0; i < METRICS_STATUS_SLOTS - 2; i++)
        if (status_codes[i] == status)
            slot = i;
    metric_add(&metrics->requests[route][slot], 1);
    if (route == ROUTE_SUBMIT && status == 202)
        metric_add(&metrics->submissions_accepted, 1);
    else if (route == ROUTE_SUBMIT && status >= 400)
        metric_add(&metrics->submissions_rejected, 1);
    for (int b = 0; b < METRICS_BUCKETS; b++)
        if (seconds <= bucket_bounds[b])
            metric_add(&metrics->latency_buckets[route][b], 1);
    metric_add(&metrics->latency_count[route], 1);
    metric_add(&metrics->latency_sum_ns[route],
               seconds > 0 ? (unsigned long long)(seconds * 1e9 + 0.5) : 0);
}

/* The sum of every loop's counters, as plain numbers. */
struct totals {
    unsigned long long requests[ROUTE_COUNT][METRICS_STATUS_SLOTS];
    unsigned long long latency_buckets[ROUTE_COUNT][METRICS_BUCKETS];
    unsigned long long latency_count[ROUTE_COUNT], latency_sum_ns[ROUTE_COUNT];
    unsigned long long submissions_accepted, submissions_rejected, values_accepted;
    unsigned long long submissions_unknown, long_polls;
    unsigned long long snapshot_cache_hits, snapshot_cache_misses;
    unsigned long long submit_batches, submit_batched;
};

static void add_loop(struct totals *totals, const struct metrics *loop)
{
    for (int r = 0; r < ROUTE_COUNT; r++) {
        for (int s = 0; s < METRICS_STATUS_SLOTS; s++)
            totals->requests[r][s] += metric_read(&loop->requests[r][s]);
        for (int b = 0; b < METRICS_BUCKETS; b++)
            totals->latency_buckets[r][b] += metric_read(&loop->latency_buckets[r][b]);
        totals->latency_count[r] += metric_read(&loop->latency_count[r]);
        totals->latency_sum_ns[r] += metric_read(&loop->latency_sum_ns[r]);
    }
    totals->submissions_accepted += metric_read(&loop->submissions_accepted);
    totals->submissions_rejected += metric_read(&loop->submissions_rejected);
    totals->values_accepted += metric_read(&loop->values_accepted);
    totals->submissions_unknown += metric_read(&loop->submissions_unknown);
    totals->long_polls += metric_read(&loop->long_polls);
    totals->snapshot_cache_hits += metric_read(&loop->snapshot_cache_hits);
    totals->snapshot_cache_misses += metric_read(&loop->snapshot_cache_misses);
    totals->submit_batches += metric_read(&loop->submit_batches);
    totals->submit_batched += metric_read(&loop->submit_batched);
}

struct text {
    char *data;
    size_t length, capacity;
    int failed;
};

static void text_append(struct text *text, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static void text_append(struct text *text, const char *format, ...)
{
    if (text->failed)
        return;
    for (;;) {
        va_list args;
        va_start(args, format);
        int written =
            vsnprintf(text->data + text->length, text->capacity - text->length, format, args);
        va_end(args);
        if (written < 0) {
            text->failed = 1;
            return;
        }
        if ((size_t)written < text->capacity - text->length) {
            text->length += (size_t)written;
            return;
        }
        size_t capacity = text->capacity * 2 + (size_t)written;
        char *grown = realloc(text->data, capacity);
        if (!grown) {
            text->failed = 1;
            return;
        }
        text->data = grown;
        text->capacity = capacity;
    }
}

char *metrics_render(const struct metrics *const *loops, size_t count, const char *extra)
{
    struct totals *metrics = calloc(1, sizeof(*metrics));
    struct text text = {malloc(16384), 0, 16384, 0};
    if (!metrics || !text.data) {
        free(metrics);
        free(text.data);
        return NULL;
    }
    for (size_t i = 0; i < count; i++)
        add_loop(metrics, loops[i]);
    text.data[0] = '\0';
    text_append(&text, "# HELP edumon_http_requests_total HTTP requests answered, by route and "
                       "status.\n# TYPE edumon_http_requests_total counter\n");
    for (int r = 0; r < ROUTE_COUNT; r++)
        for (int s = 0; s < METRICS_STATUS_SLOTS - 1; s++) {
            if (!metrics->requests[r][s])
                continue;
            char status[16] = "other";
            if (status_codes[s] > 0)
                snprintf(status, sizeof(status), "%d", status_codes[s]);
            text_append(&text, "edumon_http_requests_total{route=\"%s\",status=\"%s\"} %llu\n",
                        route_names[r], status, metrics->requests[r][s]);
        }
    /* How evenly the kernel spreads connections over the event loops (EDUMON_API_THREADS). */
    text_append(&text,
                "# HELP edumon_api_event_loops Event loops serving HTTP "
                "(EDUMON_API_THREADS).\n# TYPE edumon_api_event_loops gauge\n"
                "edumon_api_event_loops %zu\n"
                "# HELP edumon_http_requests_by_loop_total HTTP requests answered, by "
                "event loop.\n# TYPE edumon_http_requests_by_loop_total counter\n",
                count);
    for (size_t i = 0; i < count; i++) {
        unsigned long long answered = 0;
        for (int r = 0; r < ROUTE_COUNT; r++)
            answered += metric_read(&loops[i]->latency_count[r]);
        text_append(&text, "edumon_http_requests_by_loop_total{loop=\"%zu\"} %llu\n", i, answered);
    }
    text_append(&text, "# HELP edumon_http_request_duration_seconds Time from routing a request "
                       "to its response.\n# TYPE edumon_http_request_duration_seconds histogram\n");
    for (int r = 0; r < ROUTE_COUNT; r++) {
        if (!metrics->latency_count[r])
            continue;
        for (int b = 0; b < METRICS_BUCKETS; b++)
            text_append(
                &text, "edumon_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                route_names[r], bucket_bounds[b], metrics->latency_buckets[r][b]);
        text_append(&text,
                    "edumon_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n"
                    "edumon_http_request_duration_seconds_sum{route=\"%s\"} %.9f\n"
                    "edumon_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                    route_names[r], metrics->latency_count[r], route_names[r],
                    (double)metrics->latency_sum_ns[r] / 1e9, route_names[r],
                    metrics->latency_count[r]);
    }
    text_append(&text,
                "# HELP edumon_submissions_accepted_total Submissions queued (answered 202).\n"
                "# TYPE edumon_submissions_accepted_total counter\n"
                "edumon_submissions_accepted_total %llu\n"
                "# HELP edumon_submissions_rejected_total Submissions refused with a 4xx or 5xx.\n"
                "# TYPE edumon_submissions_rejected_total counter\n"
                "edumon_submissions_rejected_total %llu\n"
                "# HELP edumon_submissions_outcome_unknown_total Submissions sent to Redis that "
                "got no answer (503 outcome_unknown).\n"
                "# TYPE edumon_submissions_outcome_unknown_total counter\n"
                "edumon_submissions_outcome_unknown_total %llu\n"
                "# HELP edumon_values_accepted_total Element values in accepted submissions.\n"
                "# TYPE edumon_values_accepted_total counter\n"
                "edumon_values_accepted_total %llu\n"
                "# HELP edumon_long_polls_total Snapshot requests that waited for a change.\n"
                "# TYPE edumon_long_polls_total counter\n"
                "edumon_long_polls_total %llu\n"
                "# HELP edumon_snapshot_cache_hits_total Snapshot reads answered from memory.\n"
                "# TYPE edumon_snapshot_cache_hits_total counter\n"
                "edumon_snapshot_cache_hits_total %llu\n"
                "# HELP edumon_snapshot_cache_misses_total Snapshot reads that went to Redis.\n"
                "# TYPE edumon_snapshot_cache_misses_total counter\n"
                "edumon_snapshot_cache_misses_total %llu\n"
                "# HELP edumon_submit_batches_total SUBMIT_BATCH calls sent to Redis (group "
                "commit: the submissions of one pass of the event loop).\n"
                "# TYPE edumon_submit_batches_total counter\nedumon_submit_batches_total %llu\n"
                "# HELP edumon_submit_batched_total Submissions sent in those calls.\n"
                "# TYPE edumon_submit_batched_total counter\nedumon_submit_batched_total %llu\n",
                metrics->submissions_accepted, metrics->submissions_rejected,
                metrics->submissions_unknown, metrics->values_accepted, metrics->long_polls,
                metrics->snapshot_cache_hits, metrics->snapshot_cache_misses,
                metrics->submit_batches, metrics->submit_batched);
    free(metrics);
    if (extra)
        text_append(&text, "%s", extra);
    if (text.failed) {
        free(text.data);
        return NULL;
    }
    return text.data;
}
