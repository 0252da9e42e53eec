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
    metrics->requests[route][slot]++;
    if (route == ROUTE_SUBMIT && status == 202)
        metrics->submissions_accepted++;
    else if (route == ROUTE_SUBMIT && status >= 400)
        metrics->submissions_rejected++;
    for (int b = 0; b < METRICS_BUCKETS; b++)
        if (seconds <= bucket_bounds[b])
            metrics->latency_buckets[route][b]++;
    metrics->latency_count[route]++;
    metrics->latency_sum[route] += seconds;
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

char *metrics_render(const struct metrics *metrics, const char *extra)
{
    struct text text = {malloc(16384), 0, 16384, 0};
    if (!text.data)
        return NULL;
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
                    metrics->latency_sum[r], route_names[r], metrics->latency_count[r]);
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
                "edumon_snapshot_cache_misses_total %llu\n",
                metrics->submissions_accepted, metrics->submissions_rejected,
                metrics->submissions_unknown, metrics->values_accepted, metrics->long_polls,
                metrics->snapshot_cache_hits, metrics->snapshot_cache_misses);
    if (extra)
        text_append(&text, "%s", extra);
    if (text.failed) {
        free(text.data);
        return NULL;
    }
    return text.data;
}
