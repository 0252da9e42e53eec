/* registry_cache.c -- see registry_cache.h. */
#include "registry_cache.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idhash.h"

#define TOKEN_HEX 64

/* Copies a NUL-terminated id known to fit (checked by the callers) into a field of `size`. */
static void copy_id(char *out, size_t size, const char *id)
{
    size_t length = strnlen(id, size - 1);
    memcpy(out, id, length);
    out[length] = '\0';
}

struct token_slot {
    char hash[TOKEN_HEX + 1]; /* "" when empty */
    char school_id[SCHOOL_ID_MAX + 1];
};

struct school_slot {
    bool used;
    char id[SCHOOL_ID_MAX + 1];
    char district[SCHOOL_ID_MAX + 1];
    enum stage stage;
    enum ownership ownership;
};

/* Each table is `sets` sets of REGISTRY_WAYS slots; an id may sit in any slot of the set its
 * hash picks, so a few ids sharing a set do not push each other out (with one slot per set,
 * two schools of the same benchmark sharing a slot missed on every other submission). */
#define REGISTRY_WAYS 4

struct registry_cache {
    size_t set_mask;
    unsigned victim; /* which way a full set gives up next: round robin over all sets */
    struct token_slot *tokens;
    struct school_slot *schools;
};

struct registry_cache *registry_cache_new(size_t slots)
{
    size_t size = REGISTRY_WAYS;
    while (size < slots && size < ((size_t)1 << 30))
        size <<= 1;
    struct registry_cache *cache = calloc(1, sizeof(*cache));
    if (!cache)
        return NULL;
    cache->set_mask = size / REGISTRY_WAYS - 1;
    cache->tokens = calloc(size, sizeof(*cache->tokens));
    cache->schools = calloc(size, sizeof(*cache->schools));
    if (!cache->tokens || !cache->schools) {
        registry_cache_free(cache);
        return NULL;
    }
    return cache;
}

void registry_cache_free(struct registry_cache *cache)
{
    if (!cache)
        return;
    free(cache->tokens);
    free(cache->schools);
    free(cache);
}

/* The index of the first slot of the set `text` belongs to. */
static size_t set_of(const struct registry_cache *cache, const char *text)
{
    return ((size_t)idhash_string(text) & cache->set_mask) * REGISTRY_WAYS;
}

/* The way of a full set to overwrite. */
static size_t next_victim(struct registry_cache *cache)
{
    return cache->victim++ % REGISTRY_WAYS;
}

static bool token_valid(const char *token_hash)
{
    return token_hash && strlen(token_hash) == TOKEN_HEX;
}

/* The slot of `token_hash` in its set, or NULL. */
static struct token_slot *find_token_slot(const struct registry_cache *cache,
                                          const char *token_hash)
{
    struct token_slot *set = &cache->tokens[set_of(cache, token_hash)];
    for (size_t way = 0; way < REGISTRY_WAYS; way++)
        if (strcmp(set[way].hash, token_hash) == 0)
            return &set[way];
    return NULL;
}

void registry_cache_put_token(struct registry_cache *cache, const char *token_hash,
                              const char *school_id)
{
    if (!token_valid(token_hash) || !school_id || strlen(school_id) > SCHOOL_ID_MAX)
        return;
    struct token_slot *slot = find_token_slot(cache, token_hash);
    if (!slot) {
        struct token_slot *set = &cache->tokens[set_of(cache, token_hash)];
        for (size_t way = 0; way < REGISTRY_WAYS && !slot; way++)
            if (!set[way].hash[0])
                slot = &set[way];
        if (!slot)
            slot = &set[next_victim(cache)];
    }
    memcpy(slot->hash, token_hash, TOKEN_HEX + 1);
    copy_id(slot->school_id, sizeof(slot->school_id), school_id);
}

bool registry_cache_find_token(const struct registry_cache *cache, const char *token_hash,
                               char *school_id)
{
    if (!token_valid(token_hash))
        return false;
    const struct token_slot *slot = find_token_slot(cache, token_hash);
    if (!slot)
        return false;
    copy_id(school_id, SCHOOL_ID_MAX + 1, slot->school_id);
    return true;
}

void registry_cache_forget_token(struct registry_cache *cache, const char *token_hash)
{
    if (!token_valid(token_hash))
        return;
    struct token_slot *slot = find_token_slot(cache, token_hash);
    if (slot)
        memset(slot, 0, sizeof(*slot));
}

void registry_cache_forget_school_tokens(struct registry_cache *cache, const char *school_id)
{
    for (size_t i = 0; i < (cache->set_mask + 1) * REGISTRY_WAYS; i++)
        if (cache->tokens[i].hash[0] && strcmp(cache->tokens[i].school_id, school_id) == 0)
            memset(&cache->tokens[i], 0, sizeof(cache->tokens[i]));
}

/* The slot of `school_id` in its set, or NULL. */
static struct school_slot *find_school_slot(const struct registry_cache *cache,
                                            const char *school_id)
{
    struct school_slot *set = &cache->schools[set_of(cache, school_id)];
    for (size_t way = 0; way < REGISTRY_WAYS; way++)
        if (set[way].used && strcmp(set[way].id, school_id) == 0)
            return &set[way];
    return NULL;
}

void registry_cache_put_school(struct registry_cache *cache, const struct school *school)
{
    if (!school->id[0] || strlen(school->id) > SCHOOL_ID_MAX)
        return;
    struct school_slot *slot = find_school_slot(cache, school->id);
    if (!slot) {
        struct school_slot *set = &cache->schools[set_of(cache, school->id)];
        for (size_t way = 0; way < REGISTRY_WAYS && !slot; way++)
            if (!set[way].used)
                slot = &set[way];
        if (!slot)
            slot = &set[next_victim(cache)];
    }
    slot->used = true;
    copy_id(slot->id, sizeof(slot->id), school->id);
    copy_id(slot->district, sizeof(slot->district), school->district);
    slot->stage = school->stage;
    slot->ownership = school->ownership;
}

bool registry_cache_find_school(const struct registry_cache *cache, const char *school_id,
                                struct school *out)
{
    const struct school_slot *slot = find_school_slot(cache, school_id);
    if (!slot)
        return false;
    memset(out, 0, sizeof(*out));
    copy_id(out->id, sizeof(out->id), slot->id);
    copy_id(out->district, sizeof(out->district), slot->district);
    out->stage = slot->stage;
    out->ownership = slot->ownership;
    return true;
}
