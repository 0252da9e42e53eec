/* consumer.h -- the worker's consumer-group loop over the submission stream.
 *
 * One batch at a time: read (own pending entries first after every (re)connect, then new
 * ones), validate each entry again against the catalog and registry, apply the valid ones with
 * the APPLY script (last-writer-wins per cell; a district the bounded cache has no copy of is
 * applied blind and loaded once, before its store); then recompute the touched districts' snapshots
 * and store them with the STORE script, record each entry's status, and only then XACK. When
 * the worker is behind (full batches), a district's store waits up to a window (60 s) so that
 * the entries of several batches share one recomputation, the held entries' idle time reset
 * every half claim idle time so that XAUTOCLAIM leaves them to this live worker; caught up,
 * every batch is stored at once. A crash
 * anywhere before the XACK leaves the entries pending; applying them again changes nothing, so
 * delivery is at-least-once and the effect exactly-once. Entries left by dead consumers are
 * taken over with XAUTOCLAIM; an entry that keeps failing is moved to the dead-letter stream
 * after max_deliveries attempts instead of blocking the group. */
#ifndef EDUMON_WORKER_CONSUMER_H
#define EDUMON_WORKER_CONSUMER_H

#include "catalog.h"
#include "config.h"
#include "district_cache.h"
#include "redis_link.h"

#define CONSUMER_BATCH_BUCKETS 6

struct consumer_stats {
    unsigned long long batches, entries, values_applied, snapshots_stored, dead_lettered;
    unsigned long long
        batch_size_buckets[CONSUMER_BATCH_BUCKETS]; /* ≤1, ≤10, ≤50, ≤100, ≤500, ≤∞ */
    double batch_seconds_sum;
    unsigned long long reconnects;
    long long published_ms;
    size_t held_peak;         /* the most entries held at once */
    size_t heap_live_peak;    /* the most heap in use (mallinfo2), sampled after each batch */
    size_t heap_arena_peak;   /* the largest the main heap has been */
    double heap_trim_seconds; /* spent giving free heap pages back (malloc_trim) */
};

struct district_hold; /* consumer.c: entries applied, waiting for their district's store */

struct consumer {
    const struct config *config;
    const struct catalog *catalog;
    struct redis_link link;
    struct district_cache cache;
    volatile const int *running;
    int own_pending_done;
    char pending_cursor[48]; /* where re-reading our own pending entries has got to */
    long long last_claim_ms;
    long long last_trim_ms;
    long long last_heap_trim_ms;
    struct district_hold *holds; /* one per catalog district */
    size_t held_total;
    struct consumer_stats stats;
};

int consumer_init(struct consumer *consumer, const struct config *config,
                  const struct catalog *catalog, volatile const int *running);
void consumer_free(struct consumer *consumer);

/* Runs until *running becomes 0; finishes (and acknowledges) the batch in hand first. */
void consumer_run(struct consumer *consumer);

#endif
