/* snapshot_cache.h -- the API's in-process copy of the stored district documents (the snapshot
 * and the balanced-development evaluation, as JSON), so that dashboard polls -- 200 and 304
 * alike -- are answered without a Redis round trip.
 *
 * It is kept exact by the worker's notifications: every STORE publishes
 * "<district> <period> <version>" on the snapshots channel, and snapshot_cache_notify() drops
 * the copies older than that version. A read that raced with a store (Redis ran it before the
 * store, its reply arrived after the notification) must not be kept either: the caller takes
 * a ticket when it sends the read, and a notification for the district (or a reset) since then
 * voids it. Notifications are lost while the subscriber is away, so the caller serves from the
 * cache only while subscribed, and resets it on every new subscription.
 *
 * Memory is bounded: beyond `max_bytes` of bodies a new document is simply not kept. Slots are
 * allocated per district on first use (one per period and document). Pure code: no I/O. */
#ifndef EDUMON_API_SNAPSHOT_CACHE_H
#define EDUMON_API_SNAPSHOT_CACHE_H

#include <stddef.h>

#define SNAPSHOT_CACHE_DOCUMENTS 2 /* the snapshot, the balance evaluation */

struct cached_document {
    long long version; /* 0: nothing kept */
    char *body;        /* owned by the cache, NUL-terminated */
    size_t length;
};

struct snapshot_cache;

/* NULL when out of memory. `district_count` bounds the district indexes accepted. */
struct snapshot_cache *snapshot_cache_new(size_t district_count, size_t max_bytes);
void snapshot_cache_free(struct snapshot_cache *cache);

/* Taken when a read is sent; the store of its reply is kept only if nothing about the
 * district was notified (and no reset happened) in between. */
struct snapshot_cache_ticket {
    unsigned long long generation, stamp;
};
struct snapshot_cache_ticket snapshot_cache_ticket(const struct snapshot_cache *cache,
                                                   int district);

/* Offers a document read from Redis (copied). Kept only when its ticket is still valid, it is
 * newer than the copy kept, and it fits the byte bound. */
void snapshot_cache_store(struct snapshot_cache *cache, int district, int period, int document,
                          long long version, const char *body, size_t length,
                          struct snapshot_cache_ticket ticket);

/* The kept document, or NULL. Borrowed until the next store, notify or reset. */
const struct cached_document *snapshot_cache_find(const struct snapshot_cache *cache, int district,
                                                  int period, int document);

/* A store of `version` for a district and period happened (both documents share it). */
void snapshot_cache_notify(struct snapshot_cache *cache, int district, int period,
                           long long version);

/* The latest period with data of a district, for reads that name none: 0 until a read of the
 * district's periods has been offered. A district's periods are only ever added (the worker's
 * STORE adds its period before it notifies), so what is known only moves up: a notification
 * for a later period raises it, an offer never lowers it, and an offer whose ticket a reset
 * voided (notifications may have been lost) is not kept. */
int snapshot_cache_latest_period(const struct snapshot_cache *cache, int district);
void snapshot_cache_offer_latest_period(struct snapshot_cache *cache, int district, int period,
                                        struct snapshot_cache_ticket ticket);

/* Forgets everything and voids every ticket (the subscriber (re)subscribed). */
void snapshot_cache_reset(struct snapshot_cache *cache);

/* Bytes of bodies kept now. */
size_t snapshot_cache_bytes(const struct snapshot_cache *cache);

#endif
