/* snapshot_cache.c -- see snapshot_cache.h. */
#include "snapshot_cache.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "period.h"

#define DOCUMENT_SLOTS ((size_t)(PERIOD_MAX - PERIOD_MIN + 1) * SNAPSHOT_CACHE_DOCUMENTS)

struct snapshot_cache {
    size_t district_count, max_bytes, bytes;
    unsigned long long generation;
    unsigned long long *stamps; /* [district]: notifications seen */
    int *latest;                /* [district]: latest period with data, 0 = not known */
    /* [district] -> DOCUMENT_SLOTS documents, or NULL before the
     * district's first store */
    struct cached_document **districts;
};

struct snapshot_cache *snapshot_cache_new(size_t district_count, size_t max_bytes)
{
    struct snapshot_cache *cache = calloc(1, sizeof(*cache));
    if (!cache)
        return NULL;
    size_t count = district_count ? district_count : 1;
    cache->districts = calloc(count, sizeof(struct cached_document *));
    cache->stamps = calloc(count, sizeof(*cache->stamps));
    cache->latest = calloc(count, sizeof(*cache->latest));
    if (!cache->districts || !cache->stamps || !cache->latest) {
        free(cache->districts);
        free(cache->stamps);
        free(cache->latest);
        free(cache);
        return NULL;
    }
    cache->district_count = district_count;
    cache->max_bytes = max_bytes;
    cache->generation = 1;
    return cache;
}

static void drop(struct snapshot_cache *cache, struct cached_document *slot)
{
    cache->bytes -= slot->length;
    free(slot->body);
    *slot = (struct cached_document){0, NULL, 0};
}

static void forget_all(struct snapshot_cache *cache)
{
    for (size_t d = 0; d < cache->district_count; d++) {
        struct cached_document *slots = cache->districts[d];
        if (!slots)
            continue;
        for (size_t i = 0; i < DOCUMENT_SLOTS; i++)
            free(slots[i].body);
        free(slots);
        cache->districts[d] = NULL;
    }
    cache->bytes = 0;
}

void snapshot_cache_free(struct snapshot_cache *cache)
{
    if (!cache)
        return;
    forget_all(cache);
    free(cache->districts);
    free(cache->stamps);
    free(cache->latest);
    free(cache);
}

static bool district_valid(const struct snapshot_cache *cache, int district)
{
    return district >= 0 && (size_t)district < cache->district_count;
}

struct snapshot_cache_ticket snapshot_cache_ticket(const struct snapshot_cache *cache, int district)
{
    struct snapshot_cache_ticket ticket = {cache->generation, 0};
    if (district_valid(cache, district))
        ticket.stamp = cache->stamps[district];
    return ticket;
}

/* The slot, allocating the district's slots when `create`; NULL when out of range. */
static struct cached_document *slot_of(const struct snapshot_cache *cache, int district, int period,
                                       int document, bool create)
{
    if (!district_valid(cache, district) || period < PERIOD_MIN || period > PERIOD_MAX ||
        document < 0 || document >= SNAPSHOT_CACHE_DOCUMENTS)
        return NULL;
    struct cached_document *slots = cache->districts[district];
    if (!slots && create) {
        slots = calloc(DOCUMENT_SLOTS, sizeof(*slots));
        cache->districts[district] = slots;
    }
    if (!slots)
        return NULL;
    return &slots[(size_t)(period - PERIOD_MIN) * SNAPSHOT_CACHE_DOCUMENTS + (size_t)document];
}

void snapshot_cache_store(struct snapshot_cache *cache, int district, int period, int document,
                          long long version, const char *body, size_t length,
                          struct snapshot_cache_ticket ticket)
{
    if (ticket.generation != cache->generation || !district_valid(cache, district) ||
        ticket.stamp != cache->stamps[district] || version <= 0)
        return;
    struct cached_document *slot = slot_of(cache, district, period, document, true);
    if (!slot || version <= slot->version)
        return;
    if (length > cache->max_bytes - (cache->bytes - slot->length))
        return;
    char *copy = malloc(length + 1);
    if (!copy)
        return;
    memcpy(copy, body, length);
    copy[length] = '\0';
    drop(cache, slot);
    slot->version = version;
    slot->body = copy;
    slot->length = length;
    cache->bytes += length;
}

const struct cached_document *snapshot_cache_find(const struct snapshot_cache *cache, int district,
                                                  int period, int document)
{
    const struct cached_document *slot = slot_of(cache, district, period, document, false);
    return slot && slot->body ? slot : NULL;
}

void snapshot_cache_notify(struct snapshot_cache *cache, int district, int period,
                           long long version)
{
    if (!district_valid(cache, district))
        return;
    cache->stamps[district]++;
    if (cache->latest[district] && period > cache->latest[district])
        cache->latest[district] = period; /* unknown stays unknown: it may be later still */
    for (int document = 0; document < SNAPSHOT_CACHE_DOCUMENTS; document++) {
        struct cached_document *slot = slot_of(cache, district, period, document, false);
        if (slot && slot->body && slot->version < version)
            drop(cache, slot);
    }
}

void snapshot_cache_reset(struct snapshot_cache *cache)
{
    forget_all(cache);
    memset(cache->latest, 0, (cache->district_count ? cache->district_count : 1) * sizeof(int));
    cache->generation++;
}

size_t snapshot_cache_bytes(const struct snapshot_cache *cache)
{
    return cache->bytes;
}

int snapshot_cache_latest_period(const struct snapshot_cache *cache, int district)
{
    return district_valid(cache, district) ? cache->latest[district] : 0;
}

void snapshot_cache_offer_latest_period(struct snapshot_cache *cache, int district, int period,
                                        struct snapshot_cache_ticket ticket)
{
    if (ticket.generation != cache->generation || !district_valid(cache, district) ||
        period < PERIOD_MIN || period > PERIOD_MAX)
        return;
    if (period > cache->latest[district])
        cache->latest[district] = period;
}
