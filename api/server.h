/* server.h -- the API process: one libevent loop carrying the HTTP server, the Redis command
 * connection and the Redis subscriber, plus the state the routes share.
 *
 * Routes live in their own files (routes_*.c) and talk to Redis only through redis_async, so
 * nothing on the loop ever blocks. A request that needs Redis keeps a small context object
 * alive until its reply (or its deadline) arrives. */
#ifndef EDUMON_API_SERVER_H
#define EDUMON_API_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>
#include <event2/http.h>

#include "catalog.h"
#include "config.h"
#include "connection_guard.h"
#include "metrics.h"
#include "rate_limit.h"
#include "redis_async.h"
#include "registry_cache.h"
#include "school.h"
#include "snapshot_cache.h"
#include "submission.h"
#include "submit_batch.h"
#include "token.h"

struct waiter; /* a long-poll in progress (routes_snapshots.c) */

/* One event loop's server. With EDUMON_API_THREADS=N the process runs N of these, one thread
 * each, every one with its own listening socket on the same port (SO_REUSEPORT: the kernel
 * spreads connections over them), its own Redis connections, caches and metrics. Only the
 * configuration, the catalog and the rate limiter are shared (the last under its own mutex);
 * nothing else is touched by two threads. */
struct server {
    const struct config *config;
    const struct catalog *catalog;
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *listener; /* NULL once draining */
    struct redis_async redis, subscriber;
    struct waiter *waiters;          /* intrusive list */
    struct snapshot_cache *cache;    /* owned; served from only while `subscriber` is subscribed */
    struct registry_cache *registry; /* owned; tokens and records for submissions */
    struct submit_batcher submits;   /* group commit of submissions (submit_batch.c) */
    /* Finished submission contexts kept for the next POST (routes_submissions.c; ~9 KB each,
     * up to SUBMIT_SPARE_MAX): a malloc that size would consolidate the heap's fast bins on
     * every request. Owned; freed by routes_submissions_free. */
    struct submit_context *spare_contexts;
    size_t spare_count;
    struct metrics metrics;
    /* Every loop's server, this one's included (borrowed). Another loop's server may be read
     * for its `metrics` only (atomic counters), which /metrics sums. */
    const struct server *all_loops;
    size_t loop_count;
    struct rate_limit *rate_limit; /* shared by the loops; owned by main */
    bool admin_enabled;
    char admin_token_hash[TOKEN_HASH_LENGTH + 1]; /* token_hash of EDUMON_ADMIN_TOKEN */
    struct connection_guard guard;
    bool draining;
};

/* ---- helpers shared by the routes (http.c) ---- */

/* Adds the Date header every response carries, from a copy formatted at most once a second
 * per thread; evhttp, finding it there, does not format its own (time, gmtime_r, snprintf:
 * 2 % of a 304's CPU). */
void http_add_date(struct evhttp_request *request);

/* Sends a body (NULL for none), honouring HEAD. `buffer` is borrowed. */
struct evbuffer;
void http_send_buffer(struct evhttp_request *request, int status, struct evbuffer *buffer);

/* Sends a JSON body with a status. `body` is borrowed. */
void http_send_json(struct evhttp_request *request, int status, const char *body);

/* Sends the contract's error document. */
void http_send_error(struct evhttp_request *request, int status, const char *code,
                     const char *field, const char *message);
void http_send_api_error(struct evhttp_request *request, const struct api_error *error);

/* 503 + Retry-After: Redis could not answer; nothing was written. */
void http_send_unavailable(struct evhttp_request *request);

/* 503 + Retry-After, code outcome_unknown: a write was sent to Redis and no answer came back
 * (Redis froze or the connection broke after the command left). Whether it was executed
 * cannot be known in bounded time (the reply may be stuck behind a frozen Redis), so the
 * client is told so rather than told "nothing was written". */
void http_send_outcome_unknown(struct evhttp_request *request);

/* The request's body as a contiguous buffer owned by the request. */
const char *http_body(struct evhttp_request *request, size_t *length);

/* Value of a query parameter copied into `out`; false when absent. */
bool http_query(struct evhttp_request *request, const char *name, char *out, size_t size);

/* The catalog index of ?indicator=, or -1 after answering 422 (missing or unknown). */
int http_query_indicator(const struct server *server, struct evhttp_request *request);

/* The bearer token of the request, or NULL. */
const char *http_bearer(struct evhttp_request *request);

enum caller_role { CALLER_NONE, CALLER_ADMIN, CALLER_READER };

/* Whether `hash` (token_hash of a bearer token) is the admin token's (constant time). */
bool http_is_admin_hash(const struct server *server, const char *hash);
/* Classifies the bearer token as admin / read token (constant-time comparisons). */
enum caller_role http_caller(const struct server *server, struct evhttp_request *request);

/* Whether a read endpoint may be served (public unless EDUMON_READ_TOKEN is set); answers
 * 401 itself when not. */
bool http_check_read(const struct server *server, struct evhttp_request *request);

/* ---- routes ---- */

void route_request(struct evhttp_request *request, void *server);

void routes_submissions_post(struct server *server, struct evhttp_request *request);
/* Frees what routes_submissions_post kept between requests (the spare contexts). */
void routes_submissions_free(struct server *server);
void routes_submission_get(struct server *server, struct evhttp_request *request, const char *id);
void routes_districts_list(struct server *server, struct evhttp_request *request);
void routes_district_get(struct server *server, struct evhttp_request *request, int district);
void routes_elements(struct server *server, struct evhttp_request *request);
void routes_indicators(struct server *server, struct evhttp_request *request);
void routes_snapshot_get(struct server *server, struct evhttp_request *request, int district);

/* The documents of a district's snapshot hash, stored together under one version and served
 * with the same ETag and long-poll (routes_snapshots.c); CSV is derived from the stored JSON. */
enum district_document { DOCUMENT_SNAPSHOT, DOCUMENT_BALANCE };
enum document_format { FORMAT_JSON, FORMAT_CSV };
void routes_document_get(struct server *server, struct evhttp_request *request, int district,
                         enum district_document document, enum document_format format);
void routes_rankings_get(struct server *server, struct evhttp_request *request);
void routes_school_figures_get(struct server *server, struct evhttp_request *request, int district,
                               const char *school);
void routes_import_csv(struct server *server, struct evhttp_request *request);
void routes_history_get(struct server *server, struct evhttp_request *request, int district);
void routes_schools_post(struct server *server, struct evhttp_request *request);
void routes_schools_list(struct server *server, struct evhttp_request *request, int district);
void routes_token_rotate(struct server *server, struct evhttp_request *request, const char *school);
void routes_healthz(struct server *server, struct evhttp_request *request);
void routes_readyz(struct server *server, struct evhttp_request *request);
void routes_metrics(struct server *server, struct evhttp_request *request);
void routes_static(struct server *server, struct evhttp_request *request, const char *path);

/* Wakes long-polls on a district/period after a snapshot changed ("" payload: all of them). */
void snapshots_notify(const char *channel, const char *payload, void *server);
void snapshots_shutdown(struct server *server);

/* Loads a school record by id (HGET edumon:schools). Calls back with NULL when unknown, or
 * `unavailable` set when Redis did not answer. */
typedef void (*school_callback)(struct server *server, const struct school *school,
                                bool unavailable, void *privdata);
void schools_lookup(struct server *server, const char *id, school_callback callback,
                    void *privdata);

/* Resolves a bearer token to its school id (HGET edumon:tokens). */
typedef void (*token_callback)(struct server *server, const char *school_id, bool unavailable,
                               void *privdata);
void tokens_lookup(struct server *server, const char *token, token_callback callback,
                   void *privdata);

/* ---- requests waiting on Redis (http.c) ----
 * A client may hang up while its request waits for Redis; libevent then frees the request.
 * A watch clears its pointer when that happens, so the reply path can tell. */
struct http_watch {
    struct evhttp_request *request; /* NULL once the client has gone */
};
void http_watch_start(struct http_watch *watch, struct evhttp_request *request);
/* Stops watching and returns the request, or NULL when the client has gone. */
struct evhttp_request *http_watch_end(struct http_watch *watch);
#endif
